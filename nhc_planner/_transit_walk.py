"""Walking legs of public-transport journeys: on the OSM walk network, or straight.

A journey walks three kinds of leg (see :mod:`nhc_planner._raptor`): *access*
from the origin to a stop, *egress* from a stop to the destination (and the
*direct* walk from origin to destination), and *footpaths* between stops when
changing. :func:`walk_links` gives each as ``(from, to, seconds)`` arrays.

* **On a walk network** (a :class:`~nhc_planner.network.RoadNetwork` built
  for ``mode="walk"``, e.g. ``load_network("demo", mode="walk")`` or an OSM
  file): every point (origin, destination, stop) is snapped to its nearest
  node; a leg is the straight walk to the snapped node, the shortest path on
  the network (scipy's Dijkstra, limited to the leg's time budget, through
  :func:`~nhc_planner.travel.routing.network_seconds`) and the straight walk
  from the snapped node, all at the network's walking speed. A pair that
  snaps to the same node walks straight between the points (x circuity): the
  network says nothing about it. A point further than ``max_snap_m`` from the
  network walks straight (x circuity) for all its legs.
* **Straight line** (no network): distance x circuity at the walking speed.

The time budgets are those of the straight-line model, so switching a
network on changes the routes walked, not how far people are willing to walk:
an access, egress or direct leg may take at most
``WalkParams.seconds(max_access_m)`` (about 16 minutes by default) and a
footpath ``WalkParams.seconds(max_transfer_m)``. Seconds are rounded up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy.spatial import cKDTree

from nhc_planner._errors import ValueRangeError

if TYPE_CHECKING:
    from nhc_planner._raptor import WalkParams
    from nhc_planner.network import RoadNetwork

__all__ = ["MAX_SNAP_M", "WalkLinks", "walk_links"]

#: Points further than this (metres) from the walk network walk straight.
MAX_SNAP_M = 500.0

Leg = tuple[np.ndarray, np.ndarray, np.ndarray]


@dataclass(frozen=True, eq=False)
class WalkLinks:
    """The walking legs, each ``(from index, to index, seconds)`` ``int64`` arrays.

    Attributes
    ----------
    access
        origin -> stop.
    egress
        stop -> destination.
    direct
        origin -> destination (no vehicle).
    footpaths
        stop -> stop (``i != j``).
    method
        ``"network"`` or ``"straight_line"``.
    n_straight
        Points that walked straight although a network was given (too far from it).
    """

    access: Leg
    egress: Leg
    direct: Leg
    footpaths: Leg
    method: str
    n_straight: int = 0


def _pairs(
    a: np.ndarray, b: np.ndarray, radius: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs within ``radius`` metres, coincident points included, sorted by (i, j)."""
    if len(a) == 0 or len(b) == 0:
        z = np.zeros(0, np.int64)
        return z, z, np.zeros(0)
    hits = cKDTree(b).query_ball_point(a, r=radius + 1e-9)
    i = np.repeat(np.arange(len(a), dtype=np.int64), [len(h) for h in hits])
    j = np.fromiter((x for h in hits for x in sorted(h)), np.int64, count=len(i))
    d = np.hypot(*(a[i] - b[j]).T) if len(i) else np.zeros(0)
    return i, j, d


def _straight(a: np.ndarray, b: np.ndarray, radius: float, walk: WalkParams) -> Leg:
    i, j, d = _pairs(a, b, radius)
    return i, j, walk.seconds(d)


def _network_leg(
    net: RoadNetwork,
    snapped: tuple[np.ndarray, np.ndarray, np.ndarray],
    a: np.ndarray,
    b: np.ndarray,
    radius: float,
    walk: WalkParams,
) -> Leg:
    """One leg's pairs from ``a`` to ``b`` within the time budget of ``radius``.

    ``snapped`` is (node, snap seconds, near network) for ``a`` then ``b`` stacked.
    """
    from nhc_planner.travel.routing import network_seconds

    node, snap_s, near = snapped
    na = len(a)
    a_node, b_node = node[:na], node[na:]
    a_snap, b_snap = snap_s[:na], snap_s[na:]
    a_near, b_near = near[:na], near[na:]
    budget = float(walk.seconds(np.array([radius]))[0])
    # straight pairs: a far point, or both ends on one node
    i, j, d = _pairs(a, b, radius)
    sec = walk.seconds(d)
    straight = ~(a_near[i] & b_near[j]) | (a_node[i] == b_node[j])
    rows, cols, secs = [i[straight]], [j[straight]], [sec[straight]]
    ai, bi = np.flatnonzero(a_near), np.flatnonzero(b_near)
    if len(ai) and len(bi):
        od = network_seconds(
            net.arrays.seconds, a_node[ai], b_node[bi], limit_s=budget, workers=2
        ).tocoo()
        r, c = ai[od.row], bi[od.col]
        total = np.ceil(a_snap[r] + (od.data - 1.0) + b_snap[c] - 1e-6).astype(np.int64)
        keep = (total <= budget) & (a_node[r] != b_node[c])
        rows.append(r[keep])
        cols.append(c[keep])
        secs.append(total[keep])
    i, j, s = (np.concatenate(x).astype(np.int64) for x in (rows, cols, secs))
    order = np.lexsort((j, i))
    return i[order], j[order], s[order]


def walk_links(
    origins_xy: np.ndarray,
    dests_xy: np.ndarray,
    stops_xy: np.ndarray,
    walk: WalkParams,
    network: RoadNetwork | None = None,
    *,
    max_snap_m: float = MAX_SNAP_M,
) -> WalkLinks:
    """Access, egress, direct and footpath walking seconds.

    Parameters
    ----------
    origins_xy, dests_xy, stops_xy
        ``(n, 2)`` BNG metres.
    walk
        Speeds, circuity, radii (:class:`~nhc_planner._raptor.WalkParams`).
    network
        A walk network (``mode="walk"``), or None for straight-line walking.
    max_snap_m
        Points further than this from the network walk straight.

    Raises
    ------
    ValueRangeError
        ``network`` was built for another mode than walking.
    """
    o, d, s = (np.asarray(p, float).reshape(-1, 2) for p in (origins_xy, dests_xy, stops_xy))
    acc_r, tr_r = walk.max_access_m, walk.max_transfer_m
    if network is None:
        fp = _straight(s, s, tr_r, walk)
        off = fp[0] != fp[1]
        return WalkLinks(
            _straight(o, s, acc_r, walk),
            _straight(s, d, acc_r, walk),
            _straight(o, d, acc_r, walk),
            (fp[0][off], fp[1][off], fp[2][off]),
            "straight_line",
        )
    if network.mode != "walk":
        msg = f"transit walking network {network.source}: built for {network.mode!r}; "
        msg += 'expected a network loaded with mode="walk"'
        raise ValueRangeError(msg)
    pts = np.vstack([o, d, s])
    dist, node = cKDTree(network.arrays.xy).query(pts)
    mps = network.speeds.walk / 3.6
    node = np.asarray(node, np.int64)
    snap_s, near = np.asarray(dist) / mps, np.asarray(dist) <= max_snap_m
    no, nd = len(o), len(d)
    part = {"o": slice(0, no), "d": slice(no, no + nd), "s": slice(no + nd, len(pts))}

    def snapped(x: str, y: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return tuple(np.r_[arr[part[x]], arr[part[y]]] for arr in (node, snap_s, near))  # type: ignore[return-value]

    fp = _network_leg(network, snapped("s", "s"), s, s, tr_r, walk)
    off = fp[0] != fp[1]
    return WalkLinks(
        _network_leg(network, snapped("o", "s"), o, s, acc_r, walk),
        _network_leg(network, snapped("s", "d"), s, d, acc_r, walk),
        _network_leg(network, snapped("o", "d"), o, d, acc_r, walk),
        (fp[0][off], fp[1][off], fp[2][off]),
        "network",
        int((~near).sum()),
    )
