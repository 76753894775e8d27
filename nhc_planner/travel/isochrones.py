"""Isochrones: the areas within 10/15/20/30 minutes of a site, and map polygons."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse.csgraph import dijkstra

from nhc_planner._errors import ValueRangeError
from nhc_planner.network import RoadNetwork, load_network
from nhc_planner.schema import BNG
from nhc_planner.travel._times import points
from nhc_planner.travel.road import (
    _ACCESS_SPEED_KMH,
    _DRIVE_ACCESS_ALLOWANCE_MIN,
    snap_to_network,
    travel_times,
)

__all__ = ["Isochrones", "isochrone"]


@dataclass(frozen=True)
class Isochrones:
    """Areas and map polygons within time bands of one site.

    Attributes
    ----------
    site_id
        The site.
    mode
        Travel mode.
    areas
        ``area_code, minutes, method, band`` for areas within the largest
        band (``band`` = the smallest band the area falls in; ``method`` as in
        :attr:`TravelTimes.long`), nearest first.
    polygons
        GeoDataFrame (EPSG:27700) ``band, geometry``: the network edges whose
        both ends reach the site within the band, buffered by ``buffer_m``
        and merged; nested, largest band first (for drawing).
    """

    site_id: str
    mode: str
    areas: pd.DataFrame
    polygons: gpd.GeoDataFrame


def isochrone(
    site_id: str,
    sites: pd.DataFrame,
    network: RoadNetwork | Any,
    *,
    areas: pd.DataFrame | None = None,
    mode: str = "drive",
    bands_min: Sequence[float] = (10.0, 15.0, 20.0, 30.0),
    buffer_m: float = 100.0,
    **travel_kwargs: Any,
) -> Isochrones:
    """Areas within 10/15/20/30 minutes of a site, and polygons for the map.

    Times are *to* the site (the direction patients travel). Polygons:
    every network edge whose two ends reach the site within the band,
    buffered by ``buffer_m`` metres and merged, so they follow the roads
    instead of a convex hull across fields or rivers.

    Parameters
    ----------
    site_id
        The site, a value of ``sites["site_id"]``.
    sites
        Sites table (EPSG:27700).
    network
        A :class:`~nhc_planner.network.RoadNetwork` (or a source for
        :func:`~nhc_planner.network.load_network`).
    areas
        Optional areas; when given, those within the bands are listed.
    mode
        Travel mode.
    bands_min
        Time bands in minutes.
    buffer_m
        Buffer around reachable edges.
    **travel_kwargs
        Passed to :func:`travel_times` (e.g. ``access_speed_kmh``).
    """
    net = load_network(network, mode=mode)
    bands = sorted(float(b) for b in bands_min)
    if not bands or bands[0] <= 0:
        msg = f"bands_min must be positive minutes; got {list(bands_min)}"
        raise ValueRangeError(msg)
    ids, s_xy = points(sites, "sites")
    if site_id not in ids:
        msg = f"site_id {site_id!r} not in sites ({len(ids)} sites)"
        raise ValueRangeError(msg)
    one = sites[sites["site_id"].astype(str) == site_id]
    xy = s_xy[ids.index(site_id)][None, :]
    node, snap = snap_to_network(net, xy)
    access_kmh = travel_kwargs.get("access_speed_kmh", _ACCESS_SPEED_KMH)
    acc_min = float(snap[0]) / (access_kmh * 1000.0 / 60.0)
    allowance = (
        travel_kwargs.get("drive_access_allowance_min", _DRIVE_ACCESS_ALLOWANCE_MIN)
        if mode == "drive"
        else 0.0
    )
    reverse = net.arrays.seconds.T.tocsr()
    to_site = dijkstra(reverse, indices=node[0], limit=bands[-1] * 60.0) / 60.0
    to_site = to_site + acc_min + allowance
    g = net.graph
    index = {n: i for i, n in enumerate(g.nodes)}
    edge_u = np.array([index[u] for u, _ in g.edges()], dtype=np.int64)
    edge_v = np.array([index[v] for _, v in g.edges()], dtype=np.int64)
    geoms = np.array([d.get("geometry") for _, _, d in g.edges(data=True)], dtype=object)
    missing = np.array([gm is None for gm in geoms])
    if missing.any():
        xy_n = net.arrays.xy
        geoms[missing] = shapely.linestrings(
            np.stack([xy_n[edge_u[missing]], xy_n[edge_v[missing]]], axis=1)
        )
    edge_time = np.maximum(to_site[edge_u], to_site[edge_v])
    polys = []
    for band in reversed(bands):
        sel = edge_time <= band
        if sel.any():
            # Buffer each (slightly simplified) edge, then merge: far faster than
            # buffering one huge MultiLineString, and the same shape at map scale.
            lines = shapely.simplify(geoms[sel], buffer_m / 10.0)
            shape = shapely.union_all(shapely.buffer(lines, buffer_m, quad_segs=4))
        else:
            shape = shapely.buffer(shapely.points(xy[0]), buffer_m)
        polys.append({"band": band, "geometry": shape})
    polygons = gpd.GeoDataFrame(polys, geometry="geometry", crs=BNG)
    if areas is not None:
        tt = travel_times(areas, one, net, mode=mode, cutoff_min=bands[-1], **travel_kwargs)
        table = tt.long[["area_code", "minutes", "method"]].copy()
        edges = np.array([0.0, *bands])
        table["band"] = np.asarray(bands)[np.searchsorted(edges[1:], table["minutes"], side="left")]
        table = table.sort_values(["minutes", "area_code"]).reset_index(drop=True)
    else:
        table = pd.DataFrame({"area_code": [], "minutes": [], "method": [], "band": []})
    return Isochrones(site_id=site_id, mode=mode, areas=table, polygons=polygons)
