"""Range RAPTOR: public-transport arrival times for every departure in a window (numba).

The journey model (the brute-force reference in :mod:`nhc_planner._raptor_reference`
uses the same one, reading the same walking legs):

* leave the origin at departure time ``t``; walk to any stop within the
  access budget (*access*), or to the destination if it is within it
  (*direct walk*, no bus);
* board any trip that departs a stop at or after the time one is there
  (waiting is free; changing vehicles at the same stop takes the stop's
  minimum change time from ``transfers.txt``, 0 where none is given), ride
  it, alight at any later stop of the trip; at most ``max_rides`` rides;
* after alighting, optionally walk one *footpath* to another stop (within
  the transfer budget, or a ``transfers.txt`` time) and board there;
* after alighting, walk to the destination from a stop within the access
  budget (*egress*).

Walking legs (:mod:`nhc_planner._transit_walk`) follow the OSM walk network
where one is given, else walk straight: ``ceil(distance x circuity / speed)``
seconds (default 4.8 km/h and circuity 1.3, as the straight-line engine).
Either way an access/egress/direct leg may take at most the time of a
straight ``max_access_m`` walk and a footpath that of ``max_transfer_m``.
Arrivals more than ``cutoff_s`` after ``t`` count as unreachable.

Method: RAPTOR (Delling, Pajor and Werneck 2015, "Round-Based Public Transit
Routing", Transportation Science 49(3)), run as *range* RAPTOR: departures
are processed latest first and the per-round labels ``tau[k, stop]`` (the
earliest arrival with at most ``k`` rides) are kept from one departure to
the next; ``rtau[k, stop]`` keeps the arrivals by a ride apart, since only
they may continue on foot. A label from a later departure is a valid bound for an earlier one
(one can wait), so each departure only explores what it improves. Round
``k`` scans each pattern once from the earliest stop improved in round
``k - 1``, catching the earliest trip (binary search; the trips of a pattern
never overtake, see :mod:`nhc_planner.gtfs`). The answer for each departure
is exact for this model.

Importing this module imports numba; the kernel compiles on first use and
is cached on disk.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from numba import njit

from nhc_planner._errors import ValueRangeError
from nhc_planner.gtfs import GtfsFeed

if TYPE_CHECKING:
    from nhc_planner._transit_walk import WalkLinks
    from nhc_planner.network import RoadNetwork

__all__ = [
    "INF",
    "TransitNetwork",
    "WalkParams",
    "build_network",
    "range_raptor",
    "summarise_profiles",
    "transit_summary",
]

#: Arrival of an unreachable destination (seconds; far beyond any timetable).
INF = np.int64(2**62)

_jit = cast(Any, njit(cache=True, nogil=True))


@dataclass(frozen=True)
class WalkParams:
    """Walking legs of a public-transport journey.

    Parameters
    ----------
    speed_kmh
        Walking speed (default 4.8 km/h).
    circuity
        Walked distance / straight-line distance (default 1.3).
    max_access_m
        Longest straight-line walk from the origin to a stop, from a stop to
        the destination, or straight from origin to destination (default
        1,000 m, about 16 minutes); on a walk network, the walking time of
        this distance is the budget.
    max_transfer_m
        Longest straight-line walk between two stops when changing (default
        400 m, about 6.5 minutes); on a walk network, as above.
    max_rides
        Most vehicles boarded in one journey (default 4: three changes).
    """

    speed_kmh: float = 4.8
    circuity: float = 1.3
    max_access_m: float = 1000.0
    max_transfer_m: float = 400.0
    max_rides: int = 4

    def __post_init__(self) -> None:
        for name in ("speed_kmh", "circuity"):
            if not getattr(self, name) > 0:
                msg = f"{name} must be > 0; found {getattr(self, name)!r}"
                raise ValueRangeError(msg)
        for name in ("max_access_m", "max_transfer_m"):
            if not getattr(self, name) >= 0:
                msg = f"{name} must be >= 0 metres; found {getattr(self, name)!r}"
                raise ValueRangeError(msg)
        if not (isinstance(self.max_rides, int) and 1 <= self.max_rides <= 10):
            msg = f"max_rides must be a whole number from 1 to 10; found {self.max_rides!r}"
            raise ValueRangeError(msg)

    def seconds(self, metres: np.ndarray) -> np.ndarray:
        """Walking seconds for straight-line ``metres`` (rounded up)."""
        mps = self.speed_kmh / 3.6
        return np.ceil(np.asarray(metres, float) * self.circuity / mps - 1e-9).astype(np.int64)


@dataclass(frozen=True, eq=False)
class TransitNetwork:
    """A feed plus its walking links to given origins and destinations, as CSR arrays.

    ``*_ptr`` arrays are CSR pointers: origins for ``acc``/``dr``, stops for
    ``eg``/``fp``/``sr``. ``sr`` lists each stop's (pattern, position).
    ``change_s`` is each stop's minimum change time (seconds between alighting
    and boarding another vehicle there; from ``transfers.txt``, else 0);
    ``walk_method`` says how the walking legs were made (``"network"`` or
    ``"straight_line"``).
    """

    feed: GtfsFeed
    walk: WalkParams
    n_origins: int
    n_dests: int
    acc_ptr: np.ndarray
    acc_stop: np.ndarray
    acc_s: np.ndarray
    eg_ptr: np.ndarray
    eg_dest: np.ndarray
    eg_s: np.ndarray
    dr_ptr: np.ndarray
    dr_dest: np.ndarray
    dr_s: np.ndarray
    fp_ptr: np.ndarray
    fp_to: np.ndarray
    fp_s: np.ndarray
    sr_ptr: np.ndarray
    sr_pat: np.ndarray
    sr_pos: np.ndarray
    change_s: np.ndarray
    walk_method: str = "straight_line"


def _csr(
    src: np.ndarray, dst: np.ndarray, secs: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    order = np.lexsort((dst, src))
    ptr = np.zeros(n + 1, np.int64)
    np.add.at(ptr, np.asarray(src, np.int64) + 1, 1)
    return np.cumsum(ptr), dst[order].astype(np.int64), secs[order].astype(np.int64)


def build_network(
    feed: GtfsFeed,
    origins_xy: np.ndarray,
    dests_xy: np.ndarray,
    walk: WalkParams | None = None,
    *,
    walk_network: RoadNetwork | None = None,
    links: WalkLinks | None = None,
) -> TransitNetwork:
    """Link a feed to origins and destinations (BNG metres) by walking.

    Walking legs come from :func:`nhc_planner._transit_walk.walk_links`: on
    ``walk_network`` (a network loaded with ``mode="walk"``) where given,
    straight x circuity otherwise; or pass ``links`` computed already.
    ``transfers.txt`` rows then apply: a row between two stops with a
    ``min_transfer_time`` replaces their footpath time (or adds the pair); a
    row without one adds the pair at its walking time if it has none; a row
    from a stop to itself sets that stop's minimum change time (the time
    between alighting and boarding another vehicle there; 0 elsewhere).
    """
    from nhc_planner._transit_walk import walk_links

    walk = walk or WalkParams()
    o_xy = np.asarray(origins_xy, float).reshape(-1, 2)
    d_xy = np.asarray(dests_xy, float).reshape(-1, 2)
    n_s = feed.n_stops
    if links is None:
        links = walk_links(o_xy, d_xy, feed.stop_xy, walk, walk_network)
    i, j, secs = links.footpaths
    change = np.zeros(n_s, np.int64)
    tf_from, tf_to, tf_s = feed.transfers
    if len(tf_from):
        _, last = np.unique((tf_from * n_s + tf_to)[::-1], return_index=True)
        last = np.sort(len(tf_from) - 1 - last)  # the last row of a repeated pair wins
        f, t, ts = tf_from[last], tf_to[last], tf_s[last]
        same = f == t
        change[f[same & (ts > 0)]] = ts[same & (ts > 0)]
        f, t, ts = f[~same], t[~same], ts[~same]
        key, tkey = i * n_s + j, f * n_s + t
        # a pair without a time keeps its walk, or walks straight if it has none
        no_time = ts < 0
        straight = walk.seconds(np.hypot(*(feed.stop_xy[f] - feed.stop_xy[t]).T))
        ts = np.where(no_time, straight, ts)
        given = ~no_time | ~np.isin(tkey, key)
        keep = ~np.isin(key, tkey[given])
        i = np.r_[i[keep], f[given]]
        j = np.r_[j[keep], t[given]]
        secs = np.r_[secs[keep], ts[given]]
    fp = _csr(i, j, secs, n_s)
    acc = _csr(*links.access, len(o_xy))
    eg = _csr(*links.egress, n_s)
    dr = _csr(*links.direct, len(o_xy))
    # each stop's (pattern, position)
    counts = np.diff(feed.pattern_stop_ptr)
    pat = np.repeat(np.arange(feed.n_patterns, dtype=np.int64), counts)
    pos = np.arange(len(feed.pattern_stops), dtype=np.int64) - np.repeat(
        feed.pattern_stop_ptr[:-1], counts
    )
    sr = _csr(feed.pattern_stops, pat, pos, n_s)
    return TransitNetwork(
        feed, walk, len(o_xy), len(d_xy), *acc, *eg, *dr, *fp, sr[0], sr[1], sr[2], change,
        links.method,
    )  # fmt: skip


@_jit
def _set_label(tau: np.ndarray, k: int, s: int, v: np.int64) -> None:
    for kk in range(k, tau.shape[0]):
        if v < tau[kk, s]:
            tau[kk, s] = v


@_jit
def _first_trip(dep: np.ndarray, ttp: np.ndarray, lo: int, hi: int, i: int, t: np.int64) -> int:
    """First trip in [lo, hi) departing position ``i`` at or after ``t`` (``hi`` if none)."""
    while lo < hi:
        mid = (lo + hi) // 2
        if dep[ttp[mid] + i] >= t:
            hi = mid
        else:
            lo = mid + 1
    return lo


@_jit
def _scan_pattern(
    p: int, start: int, k: int, limit: np.int64, psp: np.ndarray, pstops: np.ndarray,
    ptp: np.ndarray, ttp: np.ndarray, arr: np.ndarray, dep: np.ndarray, tau: np.ndarray,
    rtau: np.ndarray, ride_val: np.ndarray, in_rm: np.ndarray, rm: np.ndarray, n_rm: int,
    chg: np.ndarray,
) -> int:  # fmt: skip
    base = psp[p]
    n = psp[p + 1] - base
    t_lo, t_hi = ptp[p], ptp[p + 1]
    cur = -1
    for i in range(start, n):
        s = pstops[base + i]
        if cur >= 0:
            a = arr[ttp[cur] + i]
            if a <= limit and a < rtau[k, s]:
                _set_label(rtau, k, s, a)
                _set_label(tau, k, s, a + chg[s])
                ride_val[s] = a
                if not in_rm[s]:
                    in_rm[s] = True
                    rm[n_rm] = s
                    n_rm += 1
        tp = tau[k - 1, s]
        if tp < INF and (cur < 0 or tp <= dep[ttp[cur] + i]):
            hi = cur + 1 if cur >= 0 else t_hi
            f = _first_trip(dep, ttp, t_lo, hi, i, tp)
            if f < hi:
                cur = f
    return n_rm


@_jit
def _origin_profile(
    o: int, deps: np.ndarray, max_rides: int, cutoff_s: np.int64, psp: np.ndarray,
    pstops: np.ndarray, ptp: np.ndarray, ttp: np.ndarray, arr: np.ndarray, dep: np.ndarray,
    sr_ptr: np.ndarray, sr_pat: np.ndarray, sr_pos: np.ndarray, fp_ptr: np.ndarray,
    fp_to: np.ndarray, fp_s: np.ndarray, acc_ptr: np.ndarray, acc_stop: np.ndarray,
    acc_s: np.ndarray, eg_ptr: np.ndarray, eg_dest: np.ndarray, eg_s: np.ndarray,
    dr_ptr: np.ndarray, dr_dest: np.ndarray, dr_s: np.ndarray, chg: np.ndarray, out: np.ndarray,
) -> None:  # fmt: skip
    """Fill ``out[j, d]``: arrival at ``d`` leaving origin ``o`` at ``deps[j]`` (or INF)."""
    n_stops = sr_ptr.shape[0] - 1
    n_pat = psp.shape[0] - 1
    n_dest = out.shape[1]
    tau = np.full((max_rides + 1, n_stops), INF, np.int64)
    rtau = np.full((max_rides + 1, n_stops), INF, np.int64)
    tau_ride = np.full(n_stops, INF, np.int64)
    best = np.full(n_dest, INF, np.int64)
    ride_val = np.full(n_stops, INF, np.int64)
    mk = np.empty(n_stops, np.int64)
    in_mk = np.zeros(n_stops, np.bool_)
    rm = np.empty(n_stops, np.int64)
    in_rm = np.zeros(n_stops, np.bool_)
    ir = np.empty(n_stops, np.int64)
    in_ir = np.zeros(n_stops, np.bool_)
    qpos = np.full(n_pat, -1, np.int64)
    qlist = np.empty(n_pat, np.int64)
    for j in range(deps.shape[0] - 1, -1, -1):
        t = deps[j]
        limit = t + cutoff_s
        n_mk = 0
        n_ir = 0
        for e in range(acc_ptr[o], acc_ptr[o + 1]):
            s = acc_stop[e]
            v = t + acc_s[e]
            if v <= limit and v < tau[0, s]:
                _set_label(tau, 0, s, v)
                if not in_mk[s]:
                    in_mk[s] = True
                    mk[n_mk] = s
                    n_mk += 1
        for k in range(1, max_rides + 1):
            if n_mk == 0:
                break
            n_q = 0
            for m in range(n_mk):
                s = mk[m]
                in_mk[s] = False
                for e in range(sr_ptr[s], sr_ptr[s + 1]):
                    p = sr_pat[e]
                    if qpos[p] < 0:
                        qlist[n_q] = p
                        n_q += 1
                        qpos[p] = sr_pos[e]
                    elif sr_pos[e] < qpos[p]:
                        qpos[p] = sr_pos[e]
            n_mk = 0
            n_rm = 0
            for m in range(n_q):
                p = qlist[m]
                n_rm = _scan_pattern(
                    p, qpos[p], k, limit, psp, pstops, ptp, ttp, arr, dep, tau, rtau, ride_val,
                    in_rm, rm, n_rm, chg,
                )  # fmt: skip
                qpos[p] = -1
            for m in range(n_rm):
                s = rm[m]
                in_rm[s] = False
                v = ride_val[s]
                if v < tau_ride[s]:
                    tau_ride[s] = v
                    if not in_ir[s]:
                        in_ir[s] = True
                        ir[n_ir] = s
                        n_ir += 1
                if not in_mk[s]:
                    in_mk[s] = True
                    mk[n_mk] = s
                    n_mk += 1
                for e in range(fp_ptr[s], fp_ptr[s + 1]):
                    q = fp_to[e]
                    w = v + fp_s[e]
                    if w <= limit and w < tau[k, q]:
                        _set_label(tau, k, q, w)
                        if not in_mk[q]:
                            in_mk[q] = True
                            mk[n_mk] = q
                            n_mk += 1
        for m in range(n_mk):
            in_mk[mk[m]] = False
        for m in range(n_ir):
            s = ir[m]
            in_ir[s] = False
            for e in range(eg_ptr[s], eg_ptr[s + 1]):
                w = tau_ride[s] + eg_s[e]
                if w < best[eg_dest[e]]:
                    best[eg_dest[e]] = w
        for d in range(n_dest):
            out[j, d] = best[d] if best[d] <= limit else INF
        for e in range(dr_ptr[o], dr_ptr[o + 1]):
            w = t + dr_s[e]
            if w <= limit and w < out[j, dr_dest[e]]:
                out[j, dr_dest[e]] = w


def _kernel_args(net: TransitNetwork) -> tuple[Any, ...]:
    f = net.feed
    return (
        f.pattern_stop_ptr, f.pattern_stops, f.pattern_trip_ptr, f.trip_time_ptr, f.arrival,
        f.departure, net.sr_ptr, net.sr_pat, net.sr_pos, net.fp_ptr, net.fp_to, net.fp_s,
        net.acc_ptr, net.acc_stop, net.acc_s, net.eg_ptr, net.eg_dest, net.eg_s, net.dr_ptr,
        net.dr_dest, net.dr_s, net.change_s,
    )  # fmt: skip


def _check_deps(departures: np.ndarray, cutoff_s: int) -> np.ndarray:
    deps = np.asarray(departures, np.int64)
    if deps.ndim != 1 or len(deps) == 0 or (np.diff(deps) <= 0).any():
        msg = f"departures: expected a non-empty increasing array of seconds; found {deps!r}"
        raise ValueRangeError(msg)
    if not cutoff_s > 0:
        msg = f"cutoff_s must be > 0; found {cutoff_s!r}"
        raise ValueRangeError(msg)
    return deps


def range_raptor(
    net: TransitNetwork, departures: np.ndarray, *, cutoff_s: int, origins: np.ndarray | None = None
) -> np.ndarray:
    """Arrival seconds for every origin, departure and destination.

    Parameters
    ----------
    net
        From :func:`build_network`.
    departures
        Increasing departure times (seconds after midnight of the service date).
    cutoff_s
        Arrivals later than ``departure + cutoff_s`` are :data:`INF`.
    origins
        Origin indices to compute (default all).

    Returns
    -------
    numpy.ndarray
        ``(n_origins, n_departures, n_dests)`` ``int64`` arrival times, :data:`INF`
        where unreachable. Memory grows with the product: use
        :func:`transit_summary` for many origins.
    """
    deps = _check_deps(departures, cutoff_s)
    which = np.arange(net.n_origins) if origins is None else np.asarray(origins, np.int64)
    out = np.empty((len(which), len(deps), net.n_dests), np.int64)
    args = _kernel_args(net)
    for r, o in enumerate(which):
        _origin_profile(
            int(o), deps, net.walk.max_rides, np.int64(cutoff_s), *args, out[r]
        )  # fmt: skip
    return out


@_jit
def _summary_row(
    prof: np.ndarray, deps: np.ndarray, rank: int, standard_s: np.int64
) -> tuple[np.ndarray, np.ndarray]:
    n_dep, n_dest = prof.shape
    pct = np.empty(n_dest, np.float64)
    share = np.empty(n_dest, np.float64)
    tt = np.empty(n_dep, np.int64)
    for d in range(n_dest):
        hits = 0
        for j in range(n_dep):
            a = prof[j, d]
            tt[j] = a - deps[j] if a < INF else INF
            if tt[j] <= standard_s:
                hits += 1
        tt.sort()
        v = tt[rank]
        pct[d] = v / 60.0 if v < INF else np.inf
        share[d] = hits / n_dep
    return pct, share


def _rank(n_dep: int, percentile: float) -> int:
    """Nearest-rank index of ``percentile`` among ``n_dep`` sorted values."""
    if not 0 < percentile <= 100:
        msg = f"percentile must be in (0, 100]; found {percentile!r}"
        raise ValueRangeError(msg)
    return max(0, math.ceil(percentile / 100.0 * n_dep) - 1)


def summarise_profiles(
    profiles: np.ndarray, departures: np.ndarray, *, percentile: float, standard_s: int
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile travel time (minutes, ``inf`` if unreachable) and share within the standard.

    ``profiles`` is :func:`range_raptor`'s output. The percentile is the
    nearest-rank one over the departures (the median of 120 departures is the
    60th smallest); the share counts departures arriving within
    ``standard_s``. Both ``(n_origins, n_dests)``.
    """
    deps = np.asarray(departures, np.int64)
    rank = _rank(len(deps), percentile)
    pct = np.empty(profiles.shape[::2])
    share = np.empty(profiles.shape[::2])
    for r in range(profiles.shape[0]):
        pct[r], share[r] = _summary_row(profiles[r], deps, rank, np.int64(standard_s))
    return pct, share


def transit_summary(
    net: TransitNetwork,
    departures: np.ndarray,
    *,
    cutoff_s: int,
    percentile: float = 50.0,
    standard_s: int,
    threads: int = 2,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`summarise_profiles` of :func:`range_raptor` without holding every profile.

    Origins are split among ``threads`` threads (the kernel releases the GIL).
    Returns ``(percentile_minutes, share_within_standard)``, each
    ``(n_origins, n_dests)``; deterministic whatever ``threads``.
    """
    deps = _check_deps(departures, cutoff_s)
    rank = _rank(len(deps), percentile)
    pct = np.empty((net.n_origins, net.n_dests))
    share = np.empty((net.n_origins, net.n_dests))
    args = _kernel_args(net)

    def work(chunk: np.ndarray) -> None:
        buf = np.empty((len(deps), net.n_dests), np.int64)
        for o in chunk:
            _origin_profile(int(o), deps, net.walk.max_rides, np.int64(cutoff_s), *args, buf)
            pct[o], share[o] = _summary_row(buf, deps, rank, np.int64(standard_s))

    chunks = np.array_split(np.arange(net.n_origins), max(1, threads) * 4)
    if threads <= 1 or net.n_origins < 2:
        for c in chunks:
            work(c)
    else:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(work, chunks))
    return cast(np.ndarray, pct), cast(np.ndarray, share)
