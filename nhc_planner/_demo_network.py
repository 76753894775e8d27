"""A synthetic, osmnx-compatible road network for the demo region and benchmarks.

Private helper of :mod:`nhc_planner.demo`. The network is built in four steps:

1. **Junctions.** Points are laid out per small area on a jittered grid whose
   spacing follows population (dense street grids in towns) plus land area
   (sparse lanes in the countryside). Without areas, points fill a rectangle.
2. **Local roads.** The Delaunay triangulation of the junctions, minus the
   longest side of most triangles (which turns a jittered grid into a street
   grid) but always keeping a minimum spanning tree, so the graph is connected.
3. **Main roads.** Town centres ("hubs", found as local population peaks) are
   joined by the relative-neighbourhood graph; each hub-to-hub link runs
   nearly straight through the junctions nearest to the straight line (local
   roads on it are upgraded, missing pieces added) and becomes an A road
   (``trunk``/``primary``) between the main towns, a B road (``secondary``)
   otherwise.
4. **Motorway.** A straight dual carriageway (``motorway``, one-way edges in
   both directions) crosses the region past the largest town, meeting the
   local roads only at junctions (``motorway_link``).

Edges carry ``osmid``, ``highway``, ``maxspeed`` (UK strings, ``"30 mph"``),
``oneway``, ``reversed`` and ``length`` (metres); nodes carry ``x``/``y`` in
EPSG:27700. Some one-way streets are added in dense centres and the graph is
kept strongly connected for driving.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components, minimum_spanning_tree
from scipy.spatial import Delaunay, cKDTree

from nhc_planner._errors import ValueRangeError

__all__ = ["RoadParams", "build_road_network", "fill_multidigraph"]

_HUB_RADIUS = 4_500.0  # metres between town centres
_URBAN_DENSITY = 1_500.0  # people per km2 above which a road is "in town"
_CORE_DENSITY = 3_500.0  # people per km2 above which residential streets are 20 mph

# (highway, urban?) -> maxspeed
_SPEEDS = {
    ("motorway", False): "70 mph",
    ("motorway", True): "70 mph",
    ("motorway_link", False): "40 mph",
    ("motorway_link", True): "40 mph",
    ("trunk", False): "60 mph",
    ("trunk", True): "40 mph",
    ("primary", False): "60 mph",
    ("primary", True): "30 mph",
    ("secondary", False): "50 mph",
    ("secondary", True): "30 mph",
    ("residential", True): "30 mph",
    ("unclassified", False): "40 mph",
    ("unclassified", True): "40 mph",
}
_RANK = {"unclassified": 0, "residential": 0, "secondary": 1, "primary": 2, "trunk": 3}


@dataclass(frozen=True)
class RoadParams:
    """Knobs of the generator (defaults give a plausible English county)."""

    n_nodes_target: int = 12_000
    keep_diagonal: float = 0.10  # share of "longest triangle sides" kept
    drop_side: float = 0.22  # share of other sides dropped (unless needed to connect)
    oneway_share: float = 0.15  # share of dense-core streets made one-way
    motorway_spacing: float = 800.0  # metres between motorway nodes
    junction_spacing: float = 9_000.0  # metres between motorway junctions


# --------------------------------------------------------------------------- junctions


def _junctions_from_areas(
    areas: gpd.GeoDataFrame, n_target: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Jittered-grid junctions per area; returns ``(xy, density per node)``."""
    geoms = areas.geometry.to_numpy()
    area_km2 = shapely.area(geoms) / 1e6
    pop = areas["population"].to_numpy(dtype=float)
    # towns: nodes follow people; countryside: nodes follow land (~1 per 0.6 km2)
    weight = 0.65 * pop / pop.sum() + 0.35 * area_km2 / area_km2.sum()
    counts = np.maximum(1.0, weight * n_target)
    density = pop / np.maximum(area_km2, 1e-6)
    xs: list[np.ndarray] = []
    dens: list[np.ndarray] = []
    spacings: list[np.ndarray] = []
    for g, c, d in zip(geoms, counts, density, strict=True):
        minx, miny, maxx, maxy = g.bounds
        spacing = float(np.sqrt(g.area / c))
        ox, oy = rng.uniform(0, spacing, 2)
        gx = np.arange(minx - ox, maxx + spacing, spacing)
        gy = np.arange(miny - oy, maxy + spacing, spacing)
        mx, my = np.meshgrid(gx, gy)
        pts = np.column_stack([mx.ravel(), my.ravel()])
        pts += rng.uniform(-0.22 * spacing, 0.22 * spacing, pts.shape)
        pts = pts[shapely.contains_xy(g, pts[:, 0], pts[:, 1])]
        if not len(pts):
            pts = np.array([shapely.get_coordinates(shapely.point_on_surface(g))[0]])
        xs.append(pts)
        dens.append(np.full(len(pts), d))
        spacings.append(np.full(len(pts), spacing))
    xy = np.vstack(xs)
    dn = np.concatenate(dens)
    # drop near-duplicates where two areas' grids meet (keep the first of a pair)
    dist, nb = cKDTree(xy).query(xy, k=2)
    close = (dist[:, 1] < 0.3 * np.concatenate(spacings)) & (nb[:, 1] < np.arange(len(xy)))
    return xy[~close], dn[~close]


def _junctions_in_box(
    bounds: tuple[float, float, float, float], n_target: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    minx, miny, maxx, maxy = bounds
    spacing = float(np.sqrt((maxx - minx) * (maxy - miny) / n_target))
    gx = np.arange(minx + spacing / 2, maxx, spacing)
    gy = np.arange(miny + spacing / 2, maxy, spacing)
    mx, my = np.meshgrid(gx, gy)
    xy = np.column_stack([mx.ravel(), my.ravel()])
    xy += rng.uniform(-0.22 * spacing, 0.22 * spacing, xy.shape)
    return xy, np.full(len(xy), 500.0)


# --------------------------------------------------------------------------- local roads


def _local_edges(xy: np.ndarray, params: RoadParams, rng: np.random.Generator) -> np.ndarray:
    """Undirected local road edges ``(m, 2)`` (i < j), connected."""
    tri = Delaunay(xy).simplices
    e = np.vstack([tri[:, [0, 1]], tri[:, [1, 2]], tri[:, [2, 0]]])
    e.sort(axis=1)
    length = np.hypot(*(xy[e[:, 0]] - xy[e[:, 1]]).T)
    n_tri = len(tri)
    per_tri = length.reshape(3, n_tri)
    longest = np.zeros_like(per_tri, dtype=bool)
    longest[np.argmax(per_tri, axis=0), np.arange(n_tri)] = True
    longest = longest.ravel()
    n = len(xy)
    key = e[:, 0].astype(np.int64) * n + e[:, 1]
    uniq, first, inv = np.unique(key, return_index=True, return_inverse=True)
    drop = np.bincount(inv, weights=longest, minlength=len(uniq)) > 0
    ue = e[first]
    ulen = length[first]
    # keep a few diagonals; drop some grid sides (dead ends, T-junctions)
    luck = rng.uniform(size=len(uniq))
    keep = np.where(drop, luck < params.keep_diagonal, luck >= params.drop_side)
    # very long sides (across the hull, over the sea) go unless needed
    med = np.median(ulen)
    keep &= ulen < 12.0 * med
    mst = minimum_spanning_tree(coo_matrix((ulen + 1e-3, (ue[:, 0], ue[:, 1])), shape=(n, n)))
    mst = mst.tocoo()
    mst_key = np.minimum(mst.row, mst.col).astype(np.int64) * n + np.maximum(mst.row, mst.col)
    keep |= np.isin(uniq, mst_key)
    return ue[keep]


# --------------------------------------------------------------------------- main roads


def _hubs(xy: np.ndarray, weight: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """Local peaks of ``weight`` at least ``radius`` apart: ``(indices, sizes)``.

    ``xy`` are few points (area centres), so neighbour lists stay small.
    """
    tree = cKDTree(xy)
    near = tree.query_ball_point(xy, r=radius * 0.6)
    size = np.array([weight[list(ix)].sum() for ix in near])
    chosen: list[int] = []
    taken = np.zeros(len(xy), dtype=bool)
    for i in np.argsort(-size, kind="stable"):
        if taken[i]:
            continue
        chosen.append(int(i))
        taken[tree.query_ball_point(xy[i], r=radius)] = True
    idx = np.array(chosen, dtype=np.int64)
    return idx, size[idx]


def _rng_graph(pts: np.ndarray) -> list[tuple[int, int]]:
    """Relative-neighbourhood graph of a few points (connected, sparse)."""
    n = len(pts)
    if n < 2:
        return []
    d = np.hypot(*(pts[:, None, :] - pts[None, :, :]).transpose(2, 0, 1))
    out = []
    for i in range(n):
        for j in range(i + 1, n):
            blocked = np.maximum(d[i], d[j]) < d[i, j] - 1e-6
            blocked[[i, j]] = False
            if not blocked.any():
                out.append((i, j))
    return out


def _snap_line(tree: cKDTree, a: np.ndarray, b: np.ndarray, step: float) -> np.ndarray:
    """Junctions along the straight line a-b: nearest node every ``step`` metres."""
    n = max(2, int(np.hypot(*(b - a)) // step) + 1)
    t = np.linspace(0.0, 1.0, n)
    nodes = tree.query(a + np.outer(t, b - a))[1]
    keep = np.concatenate([[True], nodes[1:] != nodes[:-1]])
    return np.asarray(nodes[keep], dtype=np.int64)


def _main_roads(
    xy: np.ndarray,
    edges: np.ndarray,
    hub_nodes: np.ndarray,
    hub_size: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Add the main roads; return ``(edges, rank)`` with rank 0 local, 1 B, 2 A, 3 trunk.

    Each hub-to-hub link runs nearly straight: it visits the junction nearest
    to each point of the straight line, upgrading local roads where they
    exist and adding a road where they do not.
    """
    n = len(xy)
    rank = np.zeros(len(edges), dtype=np.int64)
    if len(hub_nodes) < 2:
        return edges, rank
    links = _rng_graph(xy[hub_nodes])
    big = hub_size >= np.quantile(hub_size, 0.75)
    biggest = hub_size >= np.quantile(hub_size, 0.95)
    tree = cKDTree(xy)
    step = 0.5 * float(np.median(np.hypot(*(xy[edges[:, 0]] - xy[edges[:, 1]]).T)))
    pairs: list[np.ndarray] = []
    levels: list[np.ndarray] = []
    for a, b in links:
        level = 3 if biggest[a] and biggest[b] else (2 if big[a] or big[b] else 1)
        path = _snap_line(tree, xy[hub_nodes[a]], xy[hub_nodes[b]], step)
        seg = np.sort(np.column_stack([path[:-1], path[1:]]), axis=1)
        pairs.append(seg)
        levels.append(np.full(len(seg), level))
    main = np.vstack(pairs)
    main_level = np.concatenate(levels)
    key = edges[:, 0].astype(np.int64) * n + edges[:, 1]
    main_key = main[:, 0].astype(np.int64) * n + main[:, 1]
    # one rank per road: the highest of the links using it
    ukey, inverse = np.unique(main_key, return_inverse=True)
    ulevel = np.zeros(len(ukey), dtype=np.int64)
    np.maximum.at(ulevel, inverse, main_level)
    order = np.argsort(key)
    hit = order[np.minimum(np.searchsorted(key, ukey, sorter=order), len(key) - 1)]
    existing = key[hit] == ukey
    rank[hit[existing]] = ulevel[existing]
    new = np.column_stack([ukey[~existing] // n, ukey[~existing] % n])
    return np.vstack([edges, new]), np.concatenate([rank, ulevel[~existing]])


# --------------------------------------------------------------------------- motorway


def _motorway(
    xy: np.ndarray,
    outline: shapely.Geometry,
    hub_xy: np.ndarray,
    params: RoadParams,
    rng: np.random.Generator,
) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Motorway node coordinates and ``(motorway node, local node)`` junction pairs."""
    minx, miny, maxx, maxy = shapely.bounds(outline)
    span = max(maxx - minx, maxy - miny)
    mid = np.array([(minx + maxx) / 2, (miny + maxy) / 2])
    # past the biggest town near the middle (hubs come largest first)
    central = [h for h in hub_xy[:8] if np.hypot(*(h - mid)) < 0.3 * span]
    anchor = central[0] if central else mid
    angle = np.radians(90.0 + rng.uniform(-20.0, 20.0))
    direction = np.array([np.cos(angle), np.sin(angle)])
    normal = np.array([direction[1], -direction[0]])
    through = anchor + normal * min(2_500.0, 0.05 * span)
    line = shapely.LineString([through - 2 * span * direction, through + 2 * span * direction])
    inside = shapely.intersection(line, shapely.buffer(outline, -200.0))
    parts = [p for p in shapely.get_parts(inside) if p.length > 0]
    if not parts:
        return np.empty((0, 2)), []
    seg = max(parts, key=lambda p: p.length)
    if seg.length < 3 * params.motorway_spacing:
        return np.empty((0, 2)), []
    dist = np.linspace(0.0, seg.length, int(seg.length // params.motorway_spacing) + 1)
    mxy = shapely.get_coordinates(shapely.line_interpolate_point(seg, dist))
    tree = cKDTree(xy)
    every = max(1, round(params.junction_spacing / params.motorway_spacing))
    junction_idx = set(range(0, len(mxy), every)) | {len(mxy) - 1}
    for h in hub_xy[:8]:  # a junction near each big town
        d = np.hypot(*(mxy - h).T)
        if d.min() < 10_000.0:
            junction_idx.add(int(np.argmin(d)))
    pairs = []
    for j in sorted(junction_idx):
        _, nearest = tree.query(mxy[j])
        pairs.append((j, int(nearest)))
    return mxy, pairs


# --------------------------------------------------------------------------- assembly


def _strongly_connect(n: int, u: np.ndarray, v: np.ndarray, oneway: np.ndarray) -> np.ndarray:
    """Turn one-way edges back into two-way ones until the graph is strongly connected.

    Edges ``u[i] -> v[i]`` over nodes ``0..n-1`` are two-way unless ``oneway[i]``.
    A one-way edge between two strongly connected components is what keeps
    them apart, so those become two-way; repeat until one component remains
    (the two-way graph is connected, so this ends).
    """
    oneway = oneway.copy()
    while True:
        src = np.concatenate([u, v[~oneway]])
        dst = np.concatenate([v, u[~oneway]])
        g = coo_matrix((np.ones(len(src)), (src, dst)), shape=(n, n))
        n_comp, label = connected_components(g, directed=True, connection="strong")
        crossing = oneway & (label[u] != label[v])
        if n_comp == 1 or not crossing.any():
            return oneway
        oneway &= ~crossing


def build_road_network(
    areas: gpd.GeoDataFrame | None,
    *,
    bounds: tuple[float, float, float, float] | None,
    params: RoadParams,
    seed: int,
) -> nx.MultiDiGraph:
    """Build the synthetic drive network (see the module docstring).

    Parameters
    ----------
    areas
        Small areas (polygons in EPSG:27700 with ``population``), or None.
    bounds
        ``(minx, miny, maxx, maxy)`` in EPSG:27700 when ``areas`` is None.
    params
        Generator settings.
    seed
        Seed of the random generator.

    Returns
    -------
    networkx.MultiDiGraph
    """
    rng = np.random.default_rng([seed, 20_260_002])
    motorway_share = 0.02
    n_local = max(16, int(params.n_nodes_target * (1.0 - motorway_share)))
    if areas is not None:
        xy, dens = _junctions_from_areas(areas, n_local, rng)
        if abs(len(xy) / n_local - 1.0) > 0.02:  # grid clipping and de-duplication: rescale
            xy, dens = _junctions_from_areas(areas, round(n_local**2 / len(xy)), rng)
        outline: shapely.Geometry = shapely.union_all(
            shapely.buffer(areas.geometry.to_numpy(), 1.0)
        )
        centres = shapely.get_coordinates(shapely.point_on_surface(areas.geometry.to_numpy()))
        area_hubs, hub_size = _hubs(centres, areas["population"].to_numpy(dtype=float), _HUB_RADIUS)
        hub_idx = cKDTree(xy).query(centres[area_hubs])[1].astype(np.int64)
        town = hub_size >= 0.2 * hub_size.max()
        hub_idx = np.concatenate([hub_idx[town], hub_idx[~town]])
        hub_size = np.concatenate([hub_size[town], hub_size[~town]])
    else:
        if bounds is None:
            msg = "synthetic road network: give either areas or bounds, got neither"
            raise ValueRangeError(msg)
        xy, dens = _junctions_in_box(bounds, n_local, rng)
        outline = shapely.box(*bounds)
        n_hubs = max(2, int(shapely.area(outline) / (9_000.0**2)))
        hub_idx = rng.choice(len(xy), size=min(n_hubs, len(xy)), replace=False)
        hub_size = rng.pareto(1.5, len(hub_idx)) + 1.0
        order = np.argsort(-hub_size, kind="stable")
        hub_idx, hub_size = hub_idx[order], hub_size[order]
        near = cKDTree(xy[hub_idx]).query(xy)[0]
        dens = np.where(near < 1_500.0, 3_000.0, dens)
    n = len(xy)
    edges, rank = _main_roads(xy, _local_edges(xy, params, rng), hub_idx, hub_size)

    urban_node = dens >= _URBAN_DENSITY
    core_node = dens >= _CORE_DENSITY
    urban = urban_node[edges[:, 0]] | urban_node[edges[:, 1]]
    core = core_node[edges[:, 0]] & core_node[edges[:, 1]]
    names = np.array(["unclassified", "secondary", "primary", "trunk"])
    highway = names[rank].astype(object)
    highway[(rank == 0) & urban] = "residential"

    # dense-core residential streets: some one-way
    oneway = (
        (highway == "residential") & core & (rng.uniform(size=len(edges)) < params.oneway_share)
    )
    flip = rng.uniform(size=len(edges)) < 0.5
    u = np.where(flip, edges[:, 1], edges[:, 0])
    v = np.where(flip, edges[:, 0], edges[:, 1])

    mxy, junctions = _motorway(xy, outline, xy[hub_idx], params, rng)
    m = len(mxy)
    mot_u = np.arange(n, n + m - 1)
    mot_v = mot_u + 1
    link_u = np.array([n + j for j, _ in junctions], dtype=np.int64)
    link_v = np.array([k for _, k in junctions], dtype=np.int64)
    all_xy = np.vstack([xy, mxy]) if m else xy
    oneway = _strongly_connect(n, u, v, oneway) if oneway.any() else oneway

    rx = np.round(all_xy, 2)

    def length_of(a: np.ndarray, b: np.ndarray) -> list[float]:
        return np.round(np.hypot(*(rx[a] - rx[b]).T), 3).tolist()

    speeds = [
        "20 mph" if h == "residential" and c else _SPEEDS[(h, bool(ur) or h == "residential")]
        for h, ur, c in zip(highway, urban, core, strict=True)
    ]
    ids = range(1, len(u) + 1)
    cols = (ids, highway.tolist(), speeds, oneway.tolist(), length_of(u, v))
    ends = list(zip((u + 1).tolist(), (v + 1).tolist(), strict=True))
    out_edges: list[tuple[int, int, dict[str, object]]] = [
        (a, b, {"osmid": i, "highway": h, "maxspeed": sp, "oneway": ow, "reversed": False,
                "length": ln})
        for (a, b), i, h, sp, ow, ln in zip(ends, *cols, strict=True)
    ]  # fmt: skip
    out_edges += [
        (b, a, {"osmid": i, "highway": h, "maxspeed": sp, "oneway": False, "reversed": True,
                "length": ln})
        for (a, b), i, h, sp, ow, ln in zip(ends, *cols, strict=True)
        if not ow
    ]  # fmt: skip
    osmid = len(u) + 1
    for kind, su, sv, speed in (
        ("motorway", mot_u, mot_v, "70 mph"),
        ("motorway_link", link_u, link_v, "40 mph"),
    ):
        # dual carriageway: one one-way edge per direction, each its own way
        for a, b, ln in zip((su + 1).tolist(), (sv + 1).tolist(), length_of(su, sv), strict=True):
            for x, y in ((a, b), (b, a)):
                out_edges.append(
                    (x, y, {"osmid": osmid, "highway": kind, "maxspeed": speed, "oneway": True,
                            "reversed": False, "length": ln})
                )  # fmt: skip
                osmid += 1
    nodes = [(i, {"x": x, "y": y}) for i, (x, y) in enumerate(rx.tolist(), start=1)]
    graph = nx.MultiDiGraph(crs="EPSG:27700", created_with="nhc-planner synthetic road network")
    fill_multidigraph(graph, nodes, out_edges)
    return graph


def fill_multidigraph(
    graph: nx.MultiDiGraph,
    nodes: list[tuple[int, dict[str, object]]],
    edges: list[tuple[int, int, dict[str, object]]],
) -> None:
    """Add ``nodes`` and ``edges`` (keys 0, 1, ... per node pair) to an empty graph.

    Equivalent to ``add_nodes_from`` + ``add_edges_from`` (tested), but fills
    networkx's adjacency dicts directly: about three times faster for the
    million-edge benchmark networks. Every edge end must be in ``nodes``.
    """
    if graph.number_of_nodes():
        msg = f"fill_multidigraph needs an empty graph; got {graph.number_of_nodes()} nodes"
        raise ValueRangeError(msg)
    node, succ, pred = graph._node, graph._succ, graph._pred
    for n, attrs in nodes:
        node[n] = attrs
        succ[n] = {}
        pred[n] = {}
    for a, b, data in edges:
        keydict = succ[a].get(b)
        if keydict is None:
            keydict = {}
            succ[a][b] = keydict
            pred[b][a] = keydict
        keydict[len(keydict)] = data
    nx._clear_cache(graph)
