"""Brute-force reference for :mod:`nhc_planner._raptor`: Dijkstra over timetable events.

Slow on purpose and independent of RAPTOR's machinery (patterns, rounds,
marking, label reuse between departures): for each departure separately it
runs Dijkstra on the time-expanded states ``(stop, rides used, how reached)``,
where boarding tries *every* trip event leaving the stop at or after the
current time, and riding reaches *every* later stop of that trip. The journey
model (access, direct walk, one footpath after a ride, egress after a ride,
at most ``max_rides`` rides, the cutoff, the minimum change time at a stop)
is the one documented in :mod:`nhc_planner._raptor`. The walking legs are
inputs: it reads the same access, egress, direct-walk and footpath seconds
(``net.acc_*``, ``eg_*``, ``dr_*``, ``fp_*``, straight-line or from the walk
network) and change times (``net.change_s``) as the engine. Used by the tests
and the benchmark only.
"""

from __future__ import annotations

import heapq

import numpy as np

from nhc_planner._raptor import INF, TransitNetwork

__all__ = ["reference_profiles"]


def _trip_events(net: TransitNetwork) -> list[list[tuple[int, int]]]:
    """Per stop: every (trip, position) that calls there."""
    f = net.feed
    at: list[list[tuple[int, int]]] = [[] for _ in range(f.n_stops)]
    for p in range(f.n_patterns):
        stops = f.pattern_stops[f.pattern_stop_ptr[p] : f.pattern_stop_ptr[p + 1]]
        for t in range(f.pattern_trip_ptr[p], f.pattern_trip_ptr[p + 1]):
            for i, s in enumerate(stops):
                at[int(s)].append((t, i))
    return at


def _one(
    net: TransitNetwork, at: list[list[tuple[int, int]]], o: int, t: int, cutoff_s: int
) -> np.ndarray:
    f = net.feed
    pat_of_trip = np.repeat(np.arange(f.n_patterns), np.diff(f.pattern_trip_ptr))
    out = np.full(net.n_dests, INF, np.int64)
    for e in range(net.dr_ptr[o], net.dr_ptr[o + 1]):
        d = net.dr_dest[e]
        out[d] = min(out[d], t + net.dr_s[e])
    heap: list[tuple[int, int, int, int]] = []
    for e in range(net.acc_ptr[o], net.acc_ptr[o + 1]):
        heapq.heappush(heap, (t + int(net.acc_s[e]), int(net.acc_stop[e]), 0, 0))
    done: set[tuple[int, int, int]] = set()
    while heap:
        time, s, k, ride = heapq.heappop(heap)
        if (s, k, ride) in done or time > t + cutoff_s:
            continue
        done.add((s, k, ride))
        if ride:
            for e in range(net.eg_ptr[s], net.eg_ptr[s + 1]):
                d = net.eg_dest[e]
                out[d] = min(out[d], time + int(net.eg_s[e]))
            for e in range(net.fp_ptr[s], net.fp_ptr[s + 1]):
                heapq.heappush(heap, (time + int(net.fp_s[e]), int(net.fp_to[e]), k, 0))
        if k >= net.walk.max_rides:
            continue
        ready = time + int(net.change_s[s]) if ride else time  # a change at the stop
        for trip, i in at[s]:
            base = f.trip_time_ptr[trip]
            if f.departure[base + i] < ready:
                continue
            p = pat_of_trip[trip]
            stops = f.pattern_stops[f.pattern_stop_ptr[p] : f.pattern_stop_ptr[p + 1]]
            for jj in range(i + 1, len(stops)):
                heapq.heappush(heap, (int(f.arrival[base + jj]), int(stops[jj]), k + 1, 1))
    out[out > t + cutoff_s] = INF
    return out


def reference_profiles(
    net: TransitNetwork,
    departures: np.ndarray,
    *,
    cutoff_s: int,
    origins: np.ndarray | None = None,
) -> np.ndarray:
    """Arrival seconds ``(n_origins, n_departures, n_dests)``, as :func:`range_raptor`
    (``origins``: the origin indices to compute, default all)."""
    at = _trip_events(net)
    deps = np.asarray(departures, np.int64)
    which = np.arange(net.n_origins) if origins is None else np.asarray(origins, np.int64)
    out = np.empty((len(which), len(deps), net.n_dests), np.int64)
    for r, o in enumerate(which):
        for j, t in enumerate(deps):
            out[r, j] = _one(net, at, int(o), int(t), cutoff_s)
    return out
