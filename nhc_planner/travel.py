"""Travel times from every area's demand point to every site, per mode.

:func:`travel_times` snaps demand points and sites to the nearest node of a
:class:`~nhc_planner.network.RoadNetwork`, adds an access leg for the snap
distance, and computes the network part exactly with one of two engines:
scipy's compiled Dijkstra (:func:`scipy.sparse.csgraph.dijkstra` with a
``limit`` at the cutoff), sourced from whichever side has fewer distinct
snapped nodes (from sites on the reversed graph, so one-way streets are
honoured in the direction of travel, area -> site); or, on large networks,
a many-to-many search on the network's contraction hierarchy
(:mod:`nhc_planner._hierarchy`, see ``engine``). Points that snap further
than ``snap_warn_m`` are reported (:attr:`TravelTimes.snaps`, plus a
:class:`SnapWarning`) and, with the default ``fallback="straight_line"``,
get straight-line estimates flagged as such.

The result, :class:`TravelTimes`, holds a long table
``area_code, site_id, mode, minutes, method``. Pairs that are unreachable or
beyond the cutoff are **absent** from the long table; :meth:`TravelTimes.matrix`
gives them ``np.inf``. A travel time is never 0 unless the two points snap
to the same node with no access distance.

:func:`straight_line_times` is the documented fallback: crow-fly distance x
a circuity factor / a mode speed (:data:`CIRCUITY`, :data:`STRAIGHT_LINE_SPEED_KMH`).
:func:`isochrone` gives the areas within 10/15/20/30 minutes of a site and
polygons for the map.

A public-transport engine plugs in through the :class:`TravelEngine`
protocol: pass any object with a ``travel_times(areas, sites, *, cutoff_min)``
method as ``network`` and :func:`travel_times` delegates to it.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from nhc_planner._errors import (
    CrsError,
    EmptyInputError,
    MissingColumnError,
    ValueRangeError,
)
from nhc_planner.network import MODES, RoadNetwork, load_network
from nhc_planner.schema import BNG

if TYPE_CHECKING:
    from nhc_planner._hierarchy import Hierarchy

__all__ = [
    "CIRCUITY",
    "ENGINES",
    "HIERARCHY_MIN_NODES",
    "HIERARCHY_MIN_SOURCES",
    "STRAIGHT_LINE_SPEED_KMH",
    "Isochrones",
    "SnapWarning",
    "TravelEngine",
    "TravelTimes",
    "isochrone",
    "network_seconds",
    "straight_line_times",
    "travel_times",
]

#: Ratio of road distance to crow-fly distance used by the straight-line
#: fallback. Studies put it at about 1.2-1.4 (Newell 1980: ~1.2 in cities;
#: Ballou, Rahardja & Sakai 2002, Transportation Research A 36(9) 843-848:
#: national factors mostly 1.2-1.4; Boscoe, Henry & Zdeb 2012, Professional
#: Geographer 64(2): 1.4 to US hospitals). 1.3 is the middle of that range;
#: calibrate it against a network where you have one (see docs/travel.md).
CIRCUITY: Mapping[str, float] = {"drive": 1.3, "walk": 1.3, "cycle": 1.3}

#: Mode speeds (km/h) for the straight-line fallback. Drive: 40 km/h, about
#: the DfT average speed on local 'A' roads in England (~25 mph, statistics
#: table CGN0502); walk 4.8 km/h; cycle 15 km/h (as the network defaults).
STRAIGHT_LINE_SPEED_KMH: Mapping[str, float] = {"drive": 40.0, "walk": 4.8, "cycle": 15.0}

Method = Literal["network", "straight_line"]
_METHODS: tuple[str, ...] = ("network", "straight_line")
_CHUNK_BYTES = 64 * 1024 * 1024

#: Routing engines of :func:`travel_times`.
ENGINES = ("auto", "dijkstra", "hierarchy")

#: ``engine="auto"`` uses the contraction hierarchy on networks with at least
#: this many nodes ...
HIERARCHY_MIN_NODES = 100_000

#: ... when both sides have at least this many distinct snapped nodes (below
#: that, one Dijkstra per node is quicker than building the hierarchy).
HIERARCHY_MIN_SOURCES = 200
# Defaults of travel_times' access legs, also read by isochrone when not overridden.
_ACCESS_SPEED_KMH = 4.8
_DRIVE_ACCESS_ALLOWANCE_MIN = 2.0


class SnapWarning(UserWarning):
    """Some points snap further than the threshold to the network."""


@runtime_checkable
class TravelEngine(Protocol):
    """Anything that computes travel times for one mode (e.g. a GTFS engine).

    :func:`travel_times` delegates to an engine passed as ``network``.
    """

    mode: str

    def travel_times(
        self, areas: pd.DataFrame, sites: pd.DataFrame, *, cutoff_min: float
    ) -> TravelTimes:
        """Return the travel times from every area to every site."""
        ...


@dataclass(frozen=True)
class TravelTimes:
    """Area-to-site travel times for one mode.

    Stored sparsely: one entry per reachable pair within the cutoff.

    Attributes
    ----------
    area_codes, site_ids
        Row and column labels, in input order.
    mode
        Travel mode.
    cutoff_min
        Pairs slower than this are absent.
    rows, cols
        Area and site index of each stored pair.
    minutes
        Travel time of each stored pair (access legs included).
    straight_line
        True where the pair's time is a straight-line estimate.
    snaps
        One row per area and site: ``kind`` (``"area"``/``"site"``), ``id``,
        ``x``, ``y``, ``node``, ``snap_m``, ``access_min``, ``far``
        (snap above the threshold), ``method``. Empty without a network.
    """

    area_codes: tuple[str, ...]
    site_ids: tuple[str, ...]
    mode: str
    cutoff_min: float
    rows: np.ndarray
    cols: np.ndarray
    minutes: np.ndarray
    straight_line: np.ndarray
    snaps: pd.DataFrame

    @cached_property
    def long(self) -> pd.DataFrame:
        """``area_code, site_id, mode, minutes, method``; unreachable pairs absent.

        Sorted by area then site (input order). The label columns are
        categoricals (compact for England-scale tables; they compare, group
        and merge like strings).
        """
        order = np.lexsort((self.cols, self.rows))
        n = len(order)

        def labels(codes: np.ndarray, categories: Sequence[str]) -> pd.Categorical[str]:
            return pd.Categorical.from_codes(codes, categories=pd.Index(list(categories)))

        return pd.DataFrame(
            {
                "area_code": labels(self.rows[order], self.area_codes),
                "site_id": labels(self.cols[order], self.site_ids),
                "mode": labels(np.zeros(n, dtype=np.int64), [self.mode]),
                "minutes": self.minutes[order],
                "method": labels(self.straight_line[order].astype(np.int64), _METHODS),
            }
        )

    @cached_property
    def estimated(self) -> pd.Series:
        """Per area code: True when its times are straight-line estimates."""
        flags = np.zeros(len(self.area_codes), dtype=bool)
        if len(self.snaps):
            areas = self.snaps[self.snaps["kind"] == "area"]
            flags = (areas["method"] == "straight_line").to_numpy()
        elif len(self.straight_line):
            flags[:] = bool(self.straight_line.all())
        else:
            flags[:] = True
        return pd.Series(flags, index=pd.Index(self.area_codes, name="area_code"))

    def _positions(
        self, wanted: Iterable[str] | None, labels: tuple[str, ...], what: str
    ) -> np.ndarray:
        if wanted is None:
            return np.arange(len(labels))
        index = pd.Index(labels)
        wanted = list(wanted)
        pos = index.get_indexer(pd.Index(wanted))
        if (pos < 0).any():
            missing = [w for w, p in zip(wanted, pos, strict=True) if p < 0][:5]
            msg = f"{what} {missing} not in these travel times ({len(labels)} {what}s)"
            raise ValueRangeError(msg)
        return pos

    def sparse(
        self, area_codes: Iterable[str] | None = None, site_ids: Iterable[str] | None = None
    ) -> sp.csr_matrix:
        """Minutes as a CSR matrix; stored entries are the reachable pairs.

        A stored 0.0 is a real zero-minute trip (kept as an explicit entry);
        a missing entry is unreachable / beyond the cutoff.
        """
        ra = self._positions(area_codes, self.area_codes, "area code")
        cs = self._positions(site_ids, self.site_ids, "site id")
        row_map = np.full(len(self.area_codes), -1)
        row_map[ra] = np.arange(len(ra))
        col_map = np.full(len(self.site_ids), -1)
        col_map[cs] = np.arange(len(cs))
        r, c = row_map[self.rows], col_map[self.cols]
        keep = (r >= 0) & (c >= 0)
        return sp.csr_matrix((self.minutes[keep], (r[keep], c[keep])), shape=(len(ra), len(cs)))

    def matrix(
        self, area_codes: Iterable[str] | None = None, site_ids: Iterable[str] | None = None
    ) -> np.ndarray:
        """Dense ``(n_areas, n_sites)`` minutes, ``np.inf`` where unreachable.

        Rows and columns follow ``area_codes`` and ``site_ids`` (default: the
        input order).
        """
        ra = self._positions(area_codes, self.area_codes, "area code")
        cs = self._positions(site_ids, self.site_ids, "site id")
        out = np.full((len(self.area_codes), len(self.site_ids)), np.inf)
        out[self.rows, self.cols] = self.minutes
        return out[np.ix_(ra, cs)]


# --------------------------------------------------------------------------- inputs


def _points(frame: pd.DataFrame, kind: str) -> tuple[tuple[str, ...], np.ndarray]:
    """Labels and ``(n, 2)`` BNG coordinates of areas or sites, with checks."""
    key = "area_code" if kind == "areas" else "site_id"
    if key not in frame.columns:
        msg = f"{kind}: missing column '{key}'; found {list(frame.columns)}"
        raise MissingColumnError(msg)
    if len(frame) == 0:
        msg = f"{kind}: no rows"
        raise EmptyInputError(msg)
    crs = frame.crs if isinstance(frame, gpd.GeoDataFrame) else None
    if crs is not None and crs.to_epsg() != 27700:
        msg = f"{kind}: CRS is {crs.to_string()}; expected {BNG}. Reproject with .to_crs()"
        raise CrsError(msg)
    if kind == "areas":
        for col in ("demand_x", "demand_y"):
            if col not in frame.columns:
                msg = f"areas: missing column '{col}' (demand point, EPSG:27700 metres)"
                raise MissingColumnError(msg)
        xy = np.column_stack(
            [frame["demand_x"].to_numpy(dtype=float), frame["demand_y"].to_numpy(dtype=float)]
        )
    elif isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame.columns:
        if frame.crs is None:
            msg = f"sites: no CRS set; expected {BNG}"
            raise CrsError(msg)
        geoms = frame.geometry
        if not geoms.geom_type.eq("Point").all():
            msg = f"sites: geometries must be points; found {sorted(set(geoms.geom_type.dropna()))}"
            raise ValueRangeError(msg)
        xy = np.column_stack([geoms.x.to_numpy(), geoms.y.to_numpy()])
    elif {"x", "y"} <= set(frame.columns):
        xy = frame[["x", "y"]].to_numpy(dtype=float)
    else:
        msg = "sites: expected a GeoDataFrame of points or columns 'x', 'y' (EPSG:27700)"
        raise MissingColumnError(msg)
    labels = tuple(frame[key].astype(str))
    if len(set(labels)) != len(labels):
        dup = pd.Series(labels)[pd.Series(labels).duplicated()].unique()[:5].tolist()
        msg = f"{kind}: duplicated '{key}' values, e.g. {dup}"
        raise ValueRangeError(msg)
    bad = ~np.isfinite(xy).all(axis=1)
    if bad.any():
        examples = np.asarray(labels)[bad][:5].tolist()
        msg = f"{kind}: {int(bad.sum())} point(s) without coordinates, e.g. {examples}"
        raise ValueRangeError(msg)
    # Longitude/latitude over Great Britain (x -9..2.5, y 49..61) is ~1 km from the
    # BNG origin in the sea; real BNG points are never there.
    lon_lat = (xy[:, 0] >= -9.0) & (xy[:, 0] <= 2.5) & (xy[:, 1] >= 49.0) & (xy[:, 1] <= 61.0)
    if lon_lat.all():
        msg = (
            f"{kind}: coordinates look like longitude/latitude degrees "
            f"(e.g. {xy[0].tolist()}); expected {BNG} metres"
        )
        raise CrsError(msg)
    return labels, xy


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        msg = f"mode {mode!r} is not supported; expected one of {list(MODES)}"
        raise ValueRangeError(msg)


# --------------------------------------------------------------------------- straight line


def _straight_pairs(
    a_xy: np.ndarray, s_xy: np.ndarray, *, circuity: float, speed_kmh: float, cutoff_min: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows, cols and minutes of pairs within the cutoff, by KD-tree."""
    m_per_min = speed_kmh * 1000.0 / 60.0
    radius = cutoff_min * m_per_min / circuity
    if not np.isfinite(radius):
        d = np.hypot(a_xy[:, None, 0] - s_xy[None, :, 0], a_xy[:, None, 1] - s_xy[None, :, 1])
        r, c = np.nonzero(np.ones_like(d, dtype=bool))
        return r, c, d[r, c] * circuity / m_per_min
    tree_a, tree_s = cKDTree(a_xy), cKDTree(s_xy)
    pairs = tree_a.sparse_distance_matrix(tree_s, radius, output_type="ndarray")
    r = pairs["i"].astype(np.int64)
    c = pairs["j"].astype(np.int64)
    return r, c, pairs["v"] * circuity / m_per_min


def straight_line_times(
    areas: pd.DataFrame,
    sites: pd.DataFrame,
    *,
    mode: str = "drive",
    circuity: float | None = None,
    speed_kmh: float | None = None,
    cutoff_min: float = 60.0,
) -> TravelTimes:
    """Estimate travel times as crow-fly distance x circuity / speed.

    Parameters
    ----------
    areas
        Areas with ``area_code``, ``demand_x``, ``demand_y`` (EPSG:27700).
    sites
        Sites with ``site_id`` and point geometry (EPSG:27700).
    mode
        ``"drive"``, ``"walk"`` or ``"cycle"``; picks the defaults.
    circuity
        Road / crow-fly distance ratio (default :data:`CIRCUITY`).
    speed_kmh
        Average speed (default :data:`STRAIGHT_LINE_SPEED_KMH`).
    cutoff_min
        Pairs slower than this are left out (``np.inf`` keeps all pairs).

    Returns
    -------
    TravelTimes
        Every pair flagged ``method="straight_line"``.

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd, shapely
    >>> areas = pd.DataFrame({"area_code": ["A"], "demand_x": [0.0], "demand_y": [0.0]})
    >>> sites = gpd.GeoDataFrame({"site_id": ["S"]},
    ...     geometry=[shapely.Point(3000.0, 4000.0)], crs="EPSG:27700")
    >>> tt = straight_line_times(areas, sites, mode="walk", circuity=1.0, speed_kmh=6.0)
    >>> float(tt.matrix()[0, 0])  # 5 km at 6 km/h
    50.0
    """
    _check_mode(mode)
    circuity = CIRCUITY[mode] if circuity is None else float(circuity)
    speed = STRAIGHT_LINE_SPEED_KMH[mode] if speed_kmh is None else float(speed_kmh)
    if circuity < 1.0 or speed <= 0 or not cutoff_min > 0:
        msg = (
            f"straight-line settings out of range: circuity={circuity} (>= 1), "
            f"speed_kmh={speed} (> 0), cutoff_min={cutoff_min} (> 0)"
        )
        raise ValueRangeError(msg)
    area_codes, a_xy = _points(areas, "areas")
    site_ids, s_xy = _points(sites, "sites")
    r, c, minutes = _straight_pairs(
        a_xy, s_xy, circuity=circuity, speed_kmh=speed, cutoff_min=cutoff_min
    )
    keep = minutes <= cutoff_min
    return TravelTimes(
        area_codes=area_codes,
        site_ids=site_ids,
        mode=mode,
        cutoff_min=float(cutoff_min),
        rows=r[keep],
        cols=c[keep],
        minutes=minutes[keep],
        straight_line=np.ones(int(keep.sum()), dtype=bool),
        snaps=pd.DataFrame(),
    )


# --------------------------------------------------------------------------- network engine


def _dijkstra_chunk(
    graph: sp.csr_matrix, sources: np.ndarray, targets: np.ndarray, limit: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    dist = dijkstra(graph, directed=True, indices=sources, limit=limit)
    sub = dist[:, targets]
    r, c = np.nonzero(np.isfinite(sub))
    return r, c, sub[r, c]


def network_seconds(
    seconds: sp.csr_matrix,
    from_nodes: np.ndarray,
    to_nodes: np.ndarray,
    *,
    limit_s: float = np.inf,
    workers: int | None = None,
    hierarchy: Hierarchy | None = None,
) -> sp.csr_matrix:
    """Shortest travel seconds between node sets, as a sparse matrix.

    Parameters
    ----------
    seconds
        ``(n, n)`` CSR matrix of edge travel seconds (directed, ``u -> v``).
    from_nodes, to_nodes
        Node indices of the origins and destinations (duplicates allowed).
    limit_s
        Paths longer than this are not explored (and absent from the result).
    workers
        Threads (default: ``min(2, cpu count)``).
    hierarchy
        The contraction hierarchy of ``seconds``
        (:attr:`~nhc_planner.network.RoadNetwork.hierarchy`); if given, the
        exact bucket many-to-many search on it is used instead of one full
        Dijkstra per node.

    Returns
    -------
    scipy.sparse.csr_matrix
        ``(len(from_nodes), len(to_nodes))``, value = seconds + 1 (so a
        zero-second trip is a stored entry); subtract 1 from stored values.

    Notes
    -----
    Without a hierarchy, scipy's Dijkstra runs once per distinct node of the
    smaller side: from the origins on the graph, or from the destinations on
    the reversed graph (distance to a destination). Sources are processed in
    chunks so that the ``(chunk, n)`` distance block stays near 64 MB. Both
    engines give the same distances (to floating-point rounding).
    """
    uf, inv_f = np.unique(from_nodes, return_inverse=True)
    ut, inv_t = np.unique(to_nodes, return_inverse=True)
    n_workers = workers or min(2, os.cpu_count() or 1)
    if hierarchy is not None:
        from nhc_planner._hierarchy import hierarchy_pairs

        pairs = hierarchy_pairs(hierarchy, uf, ut, limit=limit_s, workers=n_workers)
        unique = sp.csr_matrix((pairs.data + 1.0, (pairs.row, pairs.col)), shape=pairs.shape)
        return unique[inv_f][:, inv_t].tocsr()
    n = seconds.shape[0]
    if len(ut) < len(uf):
        graph, sources, targets, flip = seconds.T.tocsr(), ut, uf, True
    else:
        graph, sources, targets, flip = seconds, uf, ut, False
    chunk = max(1, min(len(sources), _CHUNK_BYTES // (8 * max(n, 1))))
    pieces = [sources[i : i + chunk] for i in range(0, len(sources), chunk)]
    offsets = list(range(0, len(sources), chunk))
    rows, cols, vals = [], [], []
    if n_workers > 1 and len(pieces) > 1:
        with ThreadPoolExecutor(n_workers) as pool:
            results = list(pool.map(lambda p: _dijkstra_chunk(graph, p, targets, limit_s), pieces))
    else:
        results = [_dijkstra_chunk(graph, p, targets, limit_s) for p in pieces]
    for off, (r, c, v) in zip(offsets, results, strict=True):
        rows.append(r + off)
        cols.append(c)
        vals.append(v)
    r = np.concatenate(rows) if rows else np.empty(0, dtype=np.int64)
    c = np.concatenate(cols) if cols else np.empty(0, dtype=np.int64)
    v = np.concatenate(vals) + 1.0 if vals else np.empty(0)
    if flip:
        r, c = c, r
    unique = sp.csr_matrix((v, (r, c)), shape=(len(uf), len(ut)))
    return unique[inv_f][:, inv_t].tocsr()


def _use_hierarchy(engine: str, net: RoadNetwork, n_from: int, n_to: int) -> bool:
    if engine != "auto":
        return engine == "hierarchy"
    return "hierarchy" in net.__dict__ or (
        len(net.arrays.xy) >= HIERARCHY_MIN_NODES and min(n_from, n_to) >= HIERARCHY_MIN_SOURCES
    )


def _snap(net: RoadNetwork, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    tree = cKDTree(net.arrays.xy)
    dist, idx = tree.query(xy)
    return np.asarray(idx, dtype=np.int64), np.asarray(dist, dtype=float)


def travel_times(
    areas: pd.DataFrame,
    sites: pd.DataFrame,
    network: RoadNetwork | TravelEngine | Any | None = None,
    *,
    mode: str = "drive",
    cutoff_min: float = 60.0,
    snap_warn_m: float = 500.0,
    access_speed_kmh: float = _ACCESS_SPEED_KMH,
    drive_access_allowance_min: float = _DRIVE_ACCESS_ALLOWANCE_MIN,
    fallback: Literal["straight_line"] | None = "straight_line",
    circuity: float | None = None,
    straight_line_speed_kmh: float | None = None,
    workers: int | None = None,
    engine: str = "auto",
) -> TravelTimes:
    """Travel times from every area's demand point to every site.

    Parameters
    ----------
    areas
        ``area_code``, ``demand_x``, ``demand_y`` (EPSG:27700 metres).
    sites
        ``site_id`` and point geometry in EPSG:27700 (or columns ``x``, ``y``).
    network
        A :class:`~nhc_planner.network.RoadNetwork`, anything
        :func:`~nhc_planner.network.load_network` accepts (a file path,
        ``"demo"``, a graph), a :class:`TravelEngine`, or None for
        straight-line estimates only.
    mode
        ``"drive"``, ``"walk"`` or ``"cycle"``; must match the network's mode.
    cutoff_min
        Pairs slower than this (access legs included) are absent.
    snap_warn_m
        Points snapping further than this are reported as ``far`` (and warned
        about); with ``fallback="straight_line"`` their pairs are estimated.
    access_speed_kmh
        Speed of the access legs between each point and its snapped node
        (walking, 4.8 km/h).
    drive_access_allowance_min
        Drive mode only: minutes added once per trip to park and walk to
        the door (an assumption; 0 disables it).
    fallback
        ``"straight_line"``: far points get straight-line estimates flagged
        ``method="straight_line"``; None: they keep their long access legs.
    circuity, straight_line_speed_kmh
        Overrides for the straight-line fallback.
    workers
        Threads for the routing (default ``min(2, cpu count)``).
    engine
        ``"dijkstra"``: scipy's Dijkstra once per distinct node of the
        smaller side. ``"hierarchy"``: the exact many-to-many search on the
        network's contraction hierarchy
        (:attr:`~nhc_planner.network.RoadNetwork.hierarchy`, built on first
        use and cached with the network). ``"auto"`` (default): the hierarchy
        when the network already has one, or has at least
        :data:`HIERARCHY_MIN_NODES` nodes and both sides at least
        :data:`HIERARCHY_MIN_SOURCES` points; Dijkstra otherwise. The
        results are the same either way.

    Returns
    -------
    TravelTimes

    Raises
    ------
    NetworkError
        The network was built for another mode.
    CrsError
        Inputs not in EPSG:27700.
    MissingColumnError, EmptyInputError, ValueRangeError
        Malformed areas or sites.

    Examples
    --------
    >>> import geopandas as gpd, networkx as nx, pandas as pd, shapely
    >>> g = nx.MultiDiGraph(crs="EPSG:27700")
    >>> for n, x in enumerate([0.0, 480.0, 960.0]):
    ...     g.add_node(n, x=x, y=0.0)
    >>> g.add_edges_from([(0, 1), (1, 2)], highway="footway")
    [0, 0]
    >>> areas = pd.DataFrame({"area_code": ["A"], "demand_x": [0.0], "demand_y": [0.0]})
    >>> sites = gpd.GeoDataFrame({"site_id": ["S"]},
    ...     geometry=[shapely.Point(960.0, 0.0)], crs="EPSG:27700")
    >>> tt = travel_times(areas, sites, g, mode="walk")
    >>> tt.long[["area_code", "site_id", "minutes", "method"]].to_dict("records")
    [{'area_code': 'A', 'site_id': 'S', 'minutes': 12.0, 'method': 'network'}]
    """
    _check_mode(mode)
    if not cutoff_min > 0:
        msg = f"cutoff_min must be > 0; got {cutoff_min}"
        raise ValueRangeError(msg)
    if engine not in ENGINES:
        msg = f"engine must be one of {ENGINES}; got {engine!r}"
        raise ValueRangeError(msg)
    if network is None:
        return straight_line_times(
            areas,
            sites,
            mode=mode,
            circuity=circuity,
            speed_kmh=straight_line_speed_kmh,
            cutoff_min=cutoff_min,
        )
    if isinstance(network, TravelEngine) and not isinstance(network, RoadNetwork):
        return network.travel_times(areas, sites, cutoff_min=cutoff_min)
    net = load_network(network, mode=mode)
    area_codes, a_xy = _points(areas, "areas")
    site_ids, s_xy = _points(sites, "sites")
    node, snap = _snap(net, np.vstack([a_xy, s_xy]))  # one KD-tree for areas and sites
    n_a = len(area_codes)
    a_node, s_node, a_snap, s_snap = node[:n_a], node[n_a:], snap[:n_a], snap[n_a:]
    m_per_min = access_speed_kmh * 1000.0 / 60.0
    a_acc, s_acc = a_snap / m_per_min, s_snap / m_per_min
    allowance = drive_access_allowance_min if mode == "drive" else 0.0
    a_far, s_far = a_snap > snap_warn_m, s_snap > snap_warn_m
    use_fallback = fallback == "straight_line"
    if a_far.any() or s_far.any():
        examples = [c for c, f in zip(area_codes, a_far, strict=True) if f][:3] + [
            s for s, f in zip(site_ids, s_far, strict=True) if f
        ][:3]
        action = (
            "using straight-line estimates for them"
            if use_fallback
            else "their access legs are long; check the network covers them"
        )
        msg = (
            f"{int(a_far.sum())} area(s) and {int(s_far.sum())} site(s) are more than "
            f"{snap_warn_m:g} m from the {mode} network ({net.source}), e.g. {examples}; "
            f"{action}. See TravelTimes.snaps"
        )
        warnings.warn(msg, SnapWarning, stacklevel=2)
    a_net = ~a_far if use_fallback else np.ones(len(area_codes), dtype=bool)
    s_net = ~s_far if use_fallback else np.ones(len(site_ids), dtype=bool)

    rows, cols, mins, flags = [], [], [], []
    ai, si = np.flatnonzero(a_net), np.flatnonzero(s_net)
    if len(ai) and len(si):
        limit_s = max(cutoff_min - allowance, 0.0) * 60.0
        nodes = net.arrays
        use = _use_hierarchy(engine, net, len(np.unique(a_node[ai])), len(np.unique(s_node[si])))
        od = network_seconds(
            nodes.seconds,
            a_node[ai],
            s_node[si],
            limit_s=limit_s,
            workers=workers,
            hierarchy=net.hierarchy if use else None,
        ).tocoo()
        r, c = ai[od.row], si[od.col]
        total = (od.data - 1.0) / 60.0 + a_acc[r] + s_acc[c] + allowance
        # A site at the very point of an area's demand point is 0 minutes away.
        total[(a_xy[r] == s_xy[c]).all(axis=1)] = 0.0
        keep = total <= cutoff_min
        rows.append(r[keep])
        cols.append(c[keep])
        mins.append(total[keep])
        flags.append(np.zeros(int(keep.sum()), dtype=bool))
    if use_fallback and (a_far.any() or s_far.any()):
        r, c, m = _straight_pairs(
            a_xy,
            s_xy,
            circuity=CIRCUITY[mode] if circuity is None else circuity,
            speed_kmh=STRAIGHT_LINE_SPEED_KMH[mode]
            if straight_line_speed_kmh is None
            else straight_line_speed_kmh,
            cutoff_min=cutoff_min,
        )
        est = (a_far[r] | s_far[c]) & (m <= cutoff_min)
        rows.append(r[est])
        cols.append(c[est])
        mins.append(m[est])
        flags.append(np.ones(int(est.sum()), dtype=bool))
    snaps = pd.DataFrame(
        {
            "kind": ["area"] * len(area_codes) + ["site"] * len(site_ids),
            "id": list(area_codes) + list(site_ids),
            "x": np.concatenate([a_xy[:, 0], s_xy[:, 0]]),
            "y": np.concatenate([a_xy[:, 1], s_xy[:, 1]]),
            "node": net.arrays.node_ids[node],
            "snap_m": snap,
            "access_min": np.concatenate([a_acc, s_acc]),
            "far": np.concatenate([a_far, s_far]),
        }
    )
    est_point = np.concatenate([~a_net, ~s_net])
    snaps["method"] = np.where(est_point, "straight_line", "network")

    def _cat(parts: Sequence[np.ndarray], dtype: Any) -> np.ndarray:
        return np.concatenate(parts).astype(dtype) if parts else np.empty(0, dtype=dtype)

    return TravelTimes(
        area_codes=area_codes,
        site_ids=site_ids,
        mode=mode,
        cutoff_min=float(cutoff_min),
        rows=_cat(rows, np.int64),
        cols=_cat(cols, np.int64),
        minutes=_cat(mins, float),
        straight_line=_cat(flags, bool),
        snaps=snaps,
    )


# --------------------------------------------------------------------------- isochrones


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
    _check_mode(mode)
    net = load_network(network, mode=mode)
    bands = sorted(float(b) for b in bands_min)
    if not bands or bands[0] <= 0:
        msg = f"bands_min must be positive minutes; got {list(bands_min)}"
        raise ValueRangeError(msg)
    ids, s_xy = _points(sites, "sites")
    if site_id not in ids:
        msg = f"site_id {site_id!r} not in sites ({len(ids)} sites)"
        raise ValueRangeError(msg)
    one = sites[sites["site_id"].astype(str) == site_id]
    xy = s_xy[ids.index(site_id)][None, :]
    node, snap = _snap(net, xy)
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
