"""Offline context for the maps: main roads, place names, authority outlines, colours.

Everything here is drawn from data the region already has, so a map needs no
tile server to be readable:

- :func:`road_lines`: the main roads (motorways, trunk, A and B roads) of the
  region's road network, when it has one, clipped to the areas;
- :func:`place_labels`: local authority names, then ward names (``ward_name``
  column) or neighbourhood (MSOA) names taken from the LSOA names
  (``"Leeds 054C"`` is in MSOA ``"Leeds 054"``), at a point inside each;
- :func:`authority_outlines`: the local authority boundaries;
- :func:`neighbour_colours`: a colour per catchment such that catchments that
  touch never share one (greedy graph colouring, saturation-largest-first).

The results are plain data (GeoDataFrames in EPSG:27700 and dicts), built
once per region and network and cheap to turn into map layers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely

__all__ = [
    "CATCHMENT_COLOURS",
    "ROAD_CLASSES",
    "authority_outlines",
    "neighbour_colours",
    "place_labels",
    "place_names",
    "road_lines",
    "with_places",
]

#: Road classes drawn, from most to least important: (OSM highway values, label, width).
ROAD_CLASSES: tuple[tuple[tuple[str, ...], str, float], ...] = (
    (("motorway", "motorway_link"), "Motorway", 3.0),
    (("trunk", "trunk_link", "primary", "primary_link"), "A road", 2.2),
    (("secondary", "secondary_link"), "B road", 1.4),
)

#: Paul Tol's "muted" and "light" qualitative palettes (colour-blind safe), for catchments.
CATCHMENT_COLOURS: tuple[str, ...] = (
    "#88CCEE",
    "#CC6677",
    "#DDCC77",
    "#117733",
    "#332288",
    "#AA4499",
    "#44AA99",
    "#999933",
    "#882255",
    "#77AADD",
    "#EE8866",
    "#EEDD88",
    "#FFAABB",
    "#99DDFF",
    "#44BB99",
    "#BBCC33",
)

_MSOA = re.compile(r"^(.*\S)\s*(\d{3})[A-Z]$")


def _highway(value: Any) -> str:
    if isinstance(value, list | tuple):
        value = value[0] if value else ""
    return str(value or "")


def road_lines(
    graph: Any, areas: gpd.GeoDataFrame, *, simplify_m: float = 15.0
) -> gpd.GeoDataFrame:
    """The main roads of a road network within the areas, merged per class and name.

    Parameters
    ----------
    graph
        A ``networkx`` graph (e.g. :attr:`nhc_planner.network.RoadNetwork.graph`)
        with node ``x``, ``y`` in EPSG:27700 and an edge ``highway`` tag; edge
        ``geometry`` is used when present, else the straight line between nodes.
    areas
        The areas (EPSG:27700); roads are kept within their bounding box (plus 1 km).
    simplify_m
        Tolerance in metres to simplify the lines for the browser.

    Returns
    -------
    geopandas.GeoDataFrame
        ``road_class`` (a label of :data:`ROAD_CLASSES`), ``name``, ``width``
        and line geometry in EPSG:27700; empty when the network has no main roads.
    """
    wanted = {h: (label, width) for hs, label, width in ROAD_CLASSES for h in hs}
    minx, miny, maxx, maxy = areas.total_bounds
    box = shapely.box(minx - 1000, miny - 1000, maxx + 1000, maxy + 1000)
    rows: list[tuple[str, str, float, Any]] = []
    nodes = graph.nodes
    seen: set[tuple[Any, Any]] = set()
    for u, v, data in graph.edges(data=True):
        cls = wanted.get(_highway(data.get("highway")))
        if cls is None or (v, u) in seen or (u, v) in seen:
            continue
        seen.add((u, v))
        geom = data.get("geometry")
        if geom is None:
            a, b = nodes[u], nodes[v]
            geom = shapely.LineString([(a["x"], a["y"]), (b["x"], b["y"])])
        name = data.get("ref") or data.get("name") or ""
        rows.append((cls[0], _highway(name), cls[1], geom))
    empty = gpd.GeoDataFrame(
        {"road_class": [], "name": [], "width": []}, geometry=[], crs="EPSG:27700"
    )
    if not rows:
        return empty
    frame = gpd.GeoDataFrame(
        {
            "road_class": [r[0] for r in rows],
            "name": [r[1] for r in rows],
            "width": [r[2] for r in rows],
        },
        geometry=[r[3] for r in rows],
        crs="EPSG:27700",
    )
    frame = frame[frame.intersects(box)]
    if frame.empty:
        return empty
    merged = frame.dissolve(by=["road_class", "name", "width"], as_index=False)
    merged["geometry"] = shapely.line_merge(merged.geometry.to_numpy()).tolist()
    if simplify_m > 0:
        merged["geometry"] = merged.geometry.simplify(simplify_m)
    order = {label: i for i, (_, label, _) in enumerate(ROAD_CLASSES)}
    merged = merged.assign(_o=merged["road_class"].map(order)).sort_values(
        "_o", ascending=False, kind="stable"
    )
    return merged.drop(columns="_o").reset_index(drop=True)


def place_names(areas: pd.DataFrame) -> pd.Series | None:
    """The ward or MSOA name of each area, when the data tells it.

    The ``ward_name`` or ``msoa_name`` column when the boundary file gave one; else the
    MSOA name read from official LSOA names (``"Leeds 001A"`` lies in MSOA ``"Leeds 001"``);
    else ``None``.
    """
    for col in ("ward_name", "msoa_name"):
        if col in areas.columns and areas[col].notna().any():
            return areas[col].astype(str)
    if "area_name" not in areas.columns:
        return None
    names = areas["area_name"].astype(str).str.extract(_MSOA)
    if names[0].isna().mean() > 0.5:
        return None
    return (names[0] + " " + names[1]).where(names[0].notna())


def with_places(sites: gpd.GeoDataFrame, areas: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``sites`` with a ``place`` column: the ward or MSOA (else the area) each lies in.

    Used to tell apart sites that share a name when the data has no postcode
    or address (see :func:`nhc_planner._format.site_labels`). Sites outside
    every area get no place. ``sites`` is not changed.
    """
    if "place" in sites.columns or len(sites) == 0 or "geometry" not in areas.columns:
        return sites
    hood = place_names(areas)
    if hood is None:
        if "area_name" not in areas.columns:
            return sites
        hood = areas["area_name"].astype(str)
    polygons = gpd.GeoDataFrame(
        {"place": hood.to_numpy()}, geometry=areas.geometry.to_numpy(), crs=areas.crs
    )
    points = sites.geometry.to_crs(areas.crs) if sites.crs != areas.crs else sites.geometry
    left, right = polygons.sindex.query(points.to_numpy(), predicate="intersects")
    names = polygons["place"].tolist()
    place: list[str | None] = [None] * len(sites)
    for i, j in zip(left.tolist(), right.tolist(), strict=True):
        if place[i] is None:
            place[i] = names[j]
    return sites.assign(place=place)


def place_labels(areas: gpd.GeoDataFrame) -> pd.DataFrame:
    """Names to print on the map, at a point inside each place.

    Returns
    -------
    pandas.DataFrame
        ``text``, ``level`` (1: local authority, 2: ward or MSOA), ``x``, ``y``
        (EPSG:27700). Local authorities are labelled only when there is more
        than one (one is the whole map).
    """
    rows: list[tuple[str, int, float, float]] = []
    if "la_name" in areas.columns and len(set(areas["la_name"])) > 1:
        las = areas[["la_name", "geometry"]].dissolve(by="la_name")
        for name, geom in zip(las.index, las.geometry, strict=True):
            p = geom.representative_point()
            rows.append((str(name), 1, p.x, p.y))
    hood = place_names(areas)
    if hood is not None:
        parts = gpd.GeoDataFrame({"hood": hood}, geometry=areas.geometry, crs=areas.crs)
        parts = parts[parts["hood"].notna()].dissolve(by="hood")
        for name, geom in zip(parts.index, parts.geometry, strict=True):
            p = geom.representative_point()
            rows.append((str(name), 2, p.x, p.y))
    return pd.DataFrame(rows, columns=["text", "level", "x", "y"])


def authority_outlines(areas: gpd.GeoDataFrame) -> gpd.GeoDataFrame | None:
    """Local authority boundaries (areas dissolved by ``la_code``), or None without it."""
    if "la_code" not in areas.columns:
        return None
    cols = ["la_code", "la_name"] if "la_name" in areas.columns else ["la_code"]
    las = areas[[*cols, "geometry"]].dissolve(by=cols, as_index=False)
    las["geometry"] = las.geometry.boundary
    return las


def neighbour_colours(
    regions: gpd.GeoDataFrame,
    key: str,
    order: Sequence[str],
    palette: Sequence[str] = CATCHMENT_COLOURS,
) -> dict[str, str]:
    """A colour per group of polygons such that groups that touch never share one.

    The groups (``regions`` dissolved by ``key``) are the nodes of a graph
    whose edges join groups within 1 m of each other. It is coloured greedily
    in DSATUR order (the group with the most differently coloured neighbours
    next), each group taking the least used colour none of its neighbours
    has, so that the palette is spread over the map (and a legend can tell
    groups apart) while touching groups always differ. Colours come from
    ``palette``; only when a group's neighbours have taken all of them are
    further distinct greys made up.

    Parameters
    ----------
    regions
        Polygons (projected, metres) with a ``key`` column.
    key
        The column naming each polygon's group (e.g. the centre's ``site_id``).
    order
        Group ids in the order ties are broken (e.g. opening order).
    palette
        Colours to use first.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> f = gpd.GeoDataFrame({"c": ["a", "b", "c"]},
    ...                      geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1), box(5, 5, 6, 6)])
    >>> colours = neighbour_colours(f, "c", ["a", "b", "c"])
    >>> colours["a"] != colours["b"]
    True
    """
    groups = regions[[key, "geometry"]].assign(**{key: regions[key].astype(str)}).dissolve(by=key)
    ids = [str(s) for s in groups.index]
    graph = nx.Graph()
    rank = {sid: i for i, sid in enumerate(order)}
    graph.add_nodes_from(sorted(ids, key=lambda s: (rank.get(s, len(rank)), s)))
    geoms = groups.geometry.buffer(1.0).to_numpy()
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    graph.add_edges_from((ids[i], ids[j]) for i, j in zip(left, right, strict=True) if i != j)
    colours = list(palette)
    index = _spread_colouring(graph, len(colours))
    n_needed = max(index.values(), default=-1) + 1
    extra = n_needed - len(colours)
    if extra > 0:
        greys = np.linspace(0.35, 0.8, extra)
        colours += [f"#{int(g * 255):02X}{int(g * 255):02X}{int(g * 255):02X}" for g in greys]
    return {sid: colours[index[sid]] for sid in ids}


def _spread_colouring(graph: nx.Graph, n_palette: int) -> dict[Any, int]:
    """DSATUR order, least-used free colour: a proper colouring of ``graph``.

    Ties in the order are broken by degree, then by the graph's node order.
    """
    position = {n: i for i, n in enumerate(graph.nodes)}
    colour: dict[Any, int] = {}
    used = [0] * n_palette
    seen: dict[Any, set[int]] = {n: set() for n in graph.nodes}
    while len(colour) < graph.number_of_nodes():
        node = max(
            (n for n in graph.nodes if n not in colour),
            key=lambda n: (len(seen[n]), graph.degree(n), -position[n]),
        )
        free = [c for c in range(len(used)) if c not in seen[node]]
        if not free:
            used.append(0)
            free = [len(used) - 1]
        pick = min(free, key=lambda c: (used[c], c))
        colour[node] = pick
        used[pick] += 1
        for other in graph.neighbors(node):
            seen[other].add(pick)
    return colour
