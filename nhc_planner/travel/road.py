"""The road engine: travel times over a road network, with access legs and a fallback.

:func:`travel_times` snaps demand points and sites to the nearest node of a
:class:`~nhc_planner.network.RoadNetwork`, adds an access leg for the snap
distance, and computes the network part exactly with
:func:`~nhc_planner.travel.routing.network_seconds` (scipy's Dijkstra or the
network's contraction hierarchy, see ``engine``). Points that snap further
than ``snap_warn_m`` are reported (:attr:`TravelTimes.snaps`, plus a
:class:`SnapWarning`) and, with the default ``fallback="straight_line"``,
get straight-line estimates flagged as such.

:class:`RoadEngine` is the registered ``"road"`` travel engine built on it.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import networkx as nx
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from nhc_planner._errors import ScenarioError, ValueRangeError
from nhc_planner.network import RoadNetwork, load_network, network_modes, network_source_names
from nhc_planner.travel._times import TravelTimes, points
from nhc_planner.travel.engines import Progress, register_engine
from nhc_planner.travel.routing import ENGINES, _use_hierarchy, network_seconds
from nhc_planner.travel.straight import (
    CIRCUITY,
    STRAIGHT_LINE_SPEED_KMH,
    straight_line_pairs,
    straight_line_times,
)

if TYPE_CHECKING:
    from nhc_planner.scenario import TravelSettings

__all__ = ["RoadEngine", "SnapWarning", "snap_to_network", "travel_times"]

# Defaults of travel_times' access legs, also read by isochrone when not overridden.
_ACCESS_SPEED_KMH = 4.8
_DRIVE_ACCESS_ALLOWANCE_MIN = 2.0


class SnapWarning(UserWarning):
    """Some points snap further than the threshold to the network."""


def snap_to_network(net: RoadNetwork, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of the nearest node of ``net`` to each point, and the distance (metres)."""
    tree = cKDTree(net.arrays.xy)
    dist, idx = tree.query(xy)
    return np.asarray(idx, dtype=np.int64), np.asarray(dist, dtype=float)


def _is_delegate(network: Any) -> bool:
    """An object with its own ``travel_times(areas, sites, *, cutoff_min)`` (the old seam)."""
    if isinstance(network, RoadNetwork | nx.Graph | str | os.PathLike):
        return False
    return callable(getattr(network, "travel_times", None))


def travel_times(
    areas: pd.DataFrame,
    sites: pd.DataFrame,
    network: RoadNetwork | Any | None = None,
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
        ``"demo"``, a graph), None for straight-line estimates only, or (kept
        for compatibility) any object with a ``travel_times(areas, sites, *,
        cutoff_min)`` method, which is called instead. New travel engines
        register with :func:`~nhc_planner.travel.register_engine`.
    mode
        Travel mode. With a road network ``"drive"``, ``"walk"`` or ``"cycle"``,
        matching the network's mode (the network checks it); without one, any
        mode the straight-line estimate has defaults for.
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
    if _is_delegate(network):
        delegate: Any = network
        delegated: TravelTimes = delegate.travel_times(areas, sites, cutoff_min=cutoff_min)
        return delegated
    return _road_times(
        load_network(network, mode=mode),
        areas,
        sites,
        mode=mode,
        cutoff_min=cutoff_min,
        snap_warn_m=snap_warn_m,
        access_speed_kmh=access_speed_kmh,
        drive_access_allowance_min=drive_access_allowance_min,
        use_fallback=fallback == "straight_line",
        circuity=circuity,
        straight_line_speed_kmh=straight_line_speed_kmh,
        workers=workers,
        engine=engine,
    )


def _road_times(
    net: RoadNetwork,
    areas: pd.DataFrame,
    sites: pd.DataFrame,
    *,
    mode: str,
    cutoff_min: float,
    snap_warn_m: float,
    access_speed_kmh: float,
    drive_access_allowance_min: float,
    use_fallback: bool,
    circuity: float | None,
    straight_line_speed_kmh: float | None,
    workers: int | None,
    engine: str,
) -> TravelTimes:
    """:func:`travel_times` on a loaded network (arguments as there)."""
    area_codes, a_xy = points(areas, "areas")
    site_ids, s_xy = points(sites, "sites")
    node, snap = snap_to_network(net, np.vstack([a_xy, s_xy]))  # one KD-tree for both
    n_a = len(area_codes)
    a_node, s_node, a_snap, s_snap = node[:n_a], node[n_a:], snap[:n_a], snap[n_a:]
    m_per_min = access_speed_kmh * 1000.0 / 60.0
    a_acc, s_acc = a_snap / m_per_min, s_snap / m_per_min
    allowance = drive_access_allowance_min if mode == "drive" else 0.0
    a_far, s_far = a_snap > snap_warn_m, s_snap > snap_warn_m
    if a_far.any() or s_far.any():
        _warn_far(area_codes, site_ids, a_far, s_far, mode, net, snap_warn_m, use_fallback)
    a_net = ~a_far if use_fallback else np.ones(len(area_codes), dtype=bool)
    s_net = ~s_far if use_fallback else np.ones(len(site_ids), dtype=bool)

    parts: list[_Pairs] = []
    ai, si = np.flatnonzero(a_net), np.flatnonzero(s_net)
    if len(ai) and len(si):
        parts.append(
            _routed_pairs(
                net,
                (ai, a_node, a_acc, a_xy),
                (si, s_node, s_acc, s_xy),
                cutoff_min=cutoff_min,
                allowance=allowance,
                workers=workers,
                engine=engine,
            )
        )
    if use_fallback and (a_far.any() or s_far.any()):
        r, c, m = straight_line_pairs(
            a_xy,
            s_xy,
            circuity=CIRCUITY[mode] if circuity is None else circuity,
            speed_kmh=STRAIGHT_LINE_SPEED_KMH[mode]
            if straight_line_speed_kmh is None
            else straight_line_speed_kmh,
            cutoff_min=cutoff_min,
        )
        est = (a_far[r] | s_far[c]) & (m <= cutoff_min)
        parts.append((r[est], c[est], m[est], np.ones(int(est.sum()), dtype=bool)))
    snaps = _snaps_table(
        net,
        (area_codes, a_xy, a_acc, a_far, a_net),
        (site_ids, s_xy, s_acc, s_far, s_net),
        node=node,
        snap=snap,
    )

    def _cat(k: int, dtype: Any) -> np.ndarray:
        pieces = [p[k] for p in parts]
        return np.concatenate(pieces).astype(dtype) if pieces else np.empty(0, dtype=dtype)

    return TravelTimes(
        area_codes=area_codes,
        site_ids=site_ids,
        mode=mode,
        cutoff_min=float(cutoff_min),
        rows=_cat(0, np.int64),
        cols=_cat(1, np.int64),
        minutes=_cat(2, float),
        straight_line=_cat(3, bool),
        snaps=snaps,
    )


_Pairs = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _routed_pairs(
    net: RoadNetwork,
    areas: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    sites: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    *,
    cutoff_min: float,
    allowance: float,
    workers: int | None,
    engine: str,
) -> _Pairs:
    """Rows, cols, minutes and (False) flags of the routed pairs within the cutoff.

    ``areas`` and ``sites`` are each (indices routed, snapped node, access
    minutes, coordinates) over all points.
    """
    ai, a_node, a_acc, a_xy = areas
    si, s_node, s_acc, s_xy = sites
    limit_s = max(cutoff_min - allowance, 0.0) * 60.0
    use = _use_hierarchy(engine, net, len(np.unique(a_node[ai])), len(np.unique(s_node[si])))
    od = network_seconds(
        net.arrays.seconds,
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
    return r[keep], c[keep], total[keep], np.zeros(int(keep.sum()), dtype=bool)


def _snaps_table(
    net: RoadNetwork,
    areas: tuple[Sequence[str], np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    sites: tuple[Sequence[str], np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    *,
    node: np.ndarray,
    snap: np.ndarray,
) -> pd.DataFrame:
    """:attr:`TravelTimes.snaps`: how each area and site met the network.

    ``areas`` and ``sites`` are each (labels, coordinates, access minutes, far
    flags, routed flags); ``node`` and ``snap`` cover areas then sites.
    """
    a_ids, a_xy, a_acc, a_far, a_net = areas
    s_ids, s_xy, s_acc, s_far, s_net = sites
    snaps = pd.DataFrame(
        {
            "kind": ["area"] * len(a_ids) + ["site"] * len(s_ids),
            "id": list(a_ids) + list(s_ids),
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
    return snaps


def _warn_far(
    area_codes: Sequence[str],
    site_ids: Sequence[str],
    a_far: np.ndarray,
    s_far: np.ndarray,
    mode: str,
    net: RoadNetwork,
    snap_warn_m: float,
    use_fallback: bool,
) -> None:
    """Warn (:class:`SnapWarning`) about the points further than ``snap_warn_m`` from ``net``."""
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
    # stacklevel 4 (_warn_far <- _road_times <- travel_times): the caller of travel_times
    warnings.warn(msg, SnapWarning, stacklevel=4)


@register_engine
class RoadEngine:
    """Travel times over a road network (``travel.network``: a file or ``"demo"``).

    Used by ``travel.engine = "auto"`` when ``travel.network`` is given. Points
    far from the network get straight-line estimates, flagged as such.
    """

    name: ClassVar[str] = "road"
    modes: ClassVar[tuple[str, ...]] = network_modes()
    label: ClassVar[str] = "Road network (OpenStreetMap file or the demo's roads)"

    def check(self, settings: TravelSettings) -> None:
        """Require ``travel.network``."""
        if settings.network is None:
            msg = (
                'travel.network: the road engine needs a road network file or "demo"; '
                "found none (omit travel.engine for straight-line estimates)"
            )
            raise ScenarioError(msg)

    def travel_times(
        self,
        areas: pd.DataFrame,
        sites: pd.DataFrame,
        settings: TravelSettings,
        *,
        progress: Progress | None = None,
    ) -> TravelTimes:
        """Load ``settings.network`` for ``settings.mode`` and route every pair.

        Raises
        ------
        ScenarioError
            ``travel.network`` is missing or names a file that does not exist.
        """
        self.check(settings)
        source = str(settings.network)
        if source not in network_source_names() and not Path(source).exists():
            msg = f'travel.network: file {source!r} not found (give a file, "demo", or omit it)'
            raise ScenarioError(msg)
        report = progress or _no_progress
        report("road network", 0.1)
        network = load_network(source, mode=settings.mode)
        report("travel times", 0.3)
        return travel_times(
            areas, sites, network, mode=settings.mode, cutoff_min=settings.cutoff_min
        )


def _no_progress(stage: str, fraction: float) -> None:
    """A progress callback that does nothing."""
