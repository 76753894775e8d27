"""Range RAPTOR against the brute-force reference, and its properties."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nhc_planner._raptor import INF, range_raptor, summarise_profiles, transit_summary
from nhc_planner._raptor_reference import reference_profiles
from tests.gtfs_helpers import LAT0, LON0, feeds, grid_walk_network, make_network

DEPS = np.arange(7 * 3600, 9 * 3600 + 1, 300)
CUTOFF = 75 * 60


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(feeds())
def test_raptor_equals_reference(case: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        net = make_network(case, Path(tmp) / "feed")
    got = range_raptor(net, DEPS, cutoff_s=CUTOFF)
    want = reference_profiles(net, DEPS, cutoff_s=CUTOFF)
    np.testing.assert_array_equal(got, want)
    # a later departure never arrives earlier (an earlier one may be cut off: INF)
    assert ((np.diff(got, axis=1) >= 0) | (got[:, :-1] == INF)).all()


_WALK_NET = grid_walk_network(holes=frozenset({13, 14, 25, 26, 40, 41, 42, 77, 78, 89}))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(feeds())
def test_raptor_equals_reference_on_a_walk_network(case: dict[str, Any]) -> None:
    # walking legs on a street grid with holes (so network walks differ from straight ones),
    # transfers.txt rows (pair times, pairs without a time, same-stop change times)
    with tempfile.TemporaryDirectory() as tmp:
        net = make_network(case, Path(tmp) / "feed", walk_network=_WALK_NET)
    assert net.walk_method == "network"
    got = range_raptor(net, DEPS, cutoff_s=CUTOFF)
    want = reference_profiles(net, DEPS, cutoff_s=CUTOFF)
    np.testing.assert_array_equal(got, want)
    assert ((np.diff(got, axis=1) >= 0) | (got[:, :-1] == INF)).all()


@settings(max_examples=25, deadline=None)
@given(feeds(), st.integers(1, 20), st.integers(1, 20))
def test_window_properties(case: dict[str, Any], cut_a: int, cut_b: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        net = make_network(case, Path(tmp) / "feed")
    full = range_raptor(net, DEPS, cutoff_s=CUTOFF)
    lo, hi = sorted((cut_a, cut_b))
    part = range_raptor(net, DEPS[lo : hi + 1], cutoff_s=CUTOFF)
    # the answer for a departure does not depend on the window around it
    np.testing.assert_array_equal(part, full[:, lo : hi + 1])
    # widening the window never lowers the number of departures within the standard
    std = 30 * 60
    _, share_part = summarise_profiles(part, DEPS[lo : hi + 1], percentile=50, standard_s=std)
    _, share_full = summarise_profiles(full, DEPS, percentile=50, standard_s=std)
    assert (share_full * len(DEPS) >= share_part * (hi + 1 - lo) - 1e-9).all()
    # a longer standard never lowers the share
    _, share_long = summarise_profiles(full, DEPS, percentile=50, standard_s=std + 600)
    assert (share_long >= share_full).all()


def test_hand_checked_line(tmp_path: Path) -> None:
    # Two stops 0.01 deg apart (~1.1 km), one trip at 08:10 -> 08:20; origin at stop 0,
    # destination at stop 1: leave 08:00 -> arrive 08:20; leave 08:15 -> unreachable.
    stops = [(LAT0, LON0), (LAT0 + 0.01, LON0)]
    case = {
        "stops": stops,
        "trips": [[(0, 29400, 29400), (1, 30000, 30000)]],
        "origins": [(0, 0)],
        "dests": [(10, 0)],
        "rides": 1,
    }
    net = make_network(case, tmp_path / "feed")
    deps = np.array([28800, 29400, 29700])
    got = range_raptor(net, deps, cutoff_s=3600)
    assert got[0, :, 0].tolist() == [30000, 30000, INF]
    pct, share = summarise_profiles(got, deps, percentile=50, standard_s=20 * 60)
    assert pct[0, 0] == pytest.approx(20.0)  # sorted [10, 20, inf]: nearest-rank median 20
    assert share[0, 0] == pytest.approx(2 / 3)  # 20 and 10 minutes are within 20
    pct2, share2 = transit_summary(net, deps, cutoff_s=3600, standard_s=20 * 60, threads=2)
    np.testing.assert_array_equal(pct2, pct)
    np.testing.assert_array_equal(share2, share)


def test_change_time_at_a_stop(tmp_path: Path) -> None:
    # Trip A: stop 0 08:00 -> stop 1 08:10. Trip B: stop 1 08:12 -> stop 2 08:20.
    # Trip C: stop 1 08:20 -> stop 2 08:28. Without a change time the 08:12 connects;
    # with a 180 s minimum change time at stop 1 (transfers.txt S1 -> S1) only the 08:20 does.
    stops = [(LAT0, LON0), (LAT0 + 0.02, LON0), (LAT0 + 0.04, LON0)]
    trips = [
        [(0, 28800, 28800), (1, 29400, 29400)],
        [(1, 29520, 29520), (2, 30000, 30000)],
        [(1, 30000, 30000), (2, 30480, 30480)],
    ]
    base = {"stops": stops, "trips": trips, "origins": [(0, 0)], "dests": [(40, 0)], "rides": 2}
    deps = np.array([28800])
    free = make_network(base, tmp_path / "a")
    egress = int(free.eg_s[free.eg_ptr[2]])  # the destination is at stop 2 (0-1 s to round)
    assert egress <= 1
    assert range_raptor(free, deps, cutoff_s=7200)[0, 0, 0] == 30000 + egress
    timed = make_network({**base, "transfers": [(1, 1, 180)]}, tmp_path / "b")
    assert timed.change_s.tolist() == [0, 180, 0]
    assert range_raptor(timed, deps, cutoff_s=7200)[0, 0, 0] == 30480 + egress
    np.testing.assert_array_equal(
        reference_profiles(timed, deps, cutoff_s=7200), range_raptor(timed, deps, cutoff_s=7200)
    )
