"""Range RAPTOR against the brute-force reference, and its properties."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nhc_planner._raptor import (
    INF,
    WalkParams,
    build_network,
    range_raptor,
    summarise_profiles,
    transit_summary,
)
from nhc_planner._raptor_reference import reference_profiles
from nhc_planner.gtfs import read_gtfs

DAY = "2026-12-07"  # a Monday


def write_feed(folder: Path, stops: list[tuple[float, float]], trips: list[list[tuple[int, int, int]]]) -> Path:
    """A GTFS folder: ``stops`` as (lat, lon); each trip a list of (stop, arr_s, dep_s)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "stops.txt").write_text(
        "stop_id,stop_name,stop_lat,stop_lon\n"
        + "".join(f"S{i},Stop {i},{la:.6f},{lo:.6f}\n" for i, (la, lo) in enumerate(stops))
    )
    (folder / "routes.txt").write_text("route_id,route_short_name,route_type\nR,1,3\n")
    (folder / "calendar.txt").write_text(
        "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\n"
        "WK,1,1,1,1,1,0,0,20260101,20271231\n"
    )
    (folder / "trips.txt").write_text(
        "route_id,service_id,trip_id\n" + "".join(f"R,WK,T{k}\n" for k in range(len(trips)))
    )

    def hms(s: int) -> str:
        return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"

    rows = [
        f"T{k},{hms(a)},{hms(d)},S{s},{q + 1}\n"
        for k, trip in enumerate(trips)
        for q, (s, a, d) in enumerate(trip)
    ]
    (folder / "stop_times.txt").write_text(
        "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n" + "".join(rows)
    )
    return folder


LAT0, LON0 = 53.80, -1.55  # Leeds


@st.composite
def feeds(draw: st.DrawFn) -> dict:
    n_stops = draw(st.integers(2, 7))
    stops = [
        (LAT0 + draw(st.integers(0, 20)) * 0.001, LON0 + draw(st.integers(0, 20)) * 0.0015)
        for _ in range(n_stops)
    ]
    shapes = draw(
        st.lists(
            st.lists(st.integers(0, n_stops - 1), min_size=2, max_size=5).filter(
                lambda s: all(a != b for a, b in zip(s, s[1:], strict=False))
            ),
            min_size=1,
            max_size=3,
        )
    )
    trips = []
    for _ in range(draw(st.integers(1, 8))):
        shape = draw(st.sampled_from(shapes))
        t = 7 * 3600 + draw(st.integers(0, 90)) * 60
        trip = []
        for s in shape:
            a = t
            d = a + draw(st.sampled_from([0, 0, 60, 120]))
            trip.append((s, a, d))
            t = d + draw(st.integers(1, 12)) * 60
        trips.append(trip)
    pts = st.tuples(st.integers(0, 20), st.integers(0, 20))
    origins = draw(st.lists(pts, min_size=1, max_size=3))
    dests = draw(st.lists(pts, min_size=1, max_size=3))
    rides = draw(st.integers(1, 3))
    return {"stops": stops, "trips": trips, "origins": origins, "dests": dests, "rides": rides}


def _network(case: dict, folder: Path):
    from pyproj import Transformer

    feed = read_gtfs(write_feed(folder, case["stops"], case["trips"]), DAY)
    tr = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)

    def xy(pts: list[tuple[int, int]]) -> np.ndarray:
        x, y = tr.transform([LON0 + b * 0.0015 for _, b in pts], [LAT0 + a * 0.001 for a, _ in pts])
        return np.column_stack([x, y])

    walk = WalkParams(max_access_m=600.0, max_transfer_m=300.0, max_rides=case["rides"])
    return build_network(feed, xy(case["origins"]), xy(case["dests"]), walk)


DEPS = np.arange(7 * 3600, 9 * 3600 + 1, 300)
CUTOFF = 75 * 60


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(feeds())
def test_raptor_equals_reference(case: dict) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        net = _network(case, Path(tmp) / "feed")
    got = range_raptor(net, DEPS, cutoff_s=CUTOFF)
    want = reference_profiles(net, DEPS, cutoff_s=CUTOFF)
    np.testing.assert_array_equal(got, want)
    # a later departure never arrives earlier
    assert (np.diff(got, axis=1) >= 0).all()


@settings(max_examples=25, deadline=None)
@given(feeds(), st.integers(1, 20), st.integers(1, 20))
def test_window_properties(case: dict, cut_a: int, cut_b: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        net = _network(case, Path(tmp) / "feed")
    full = range_raptor(net, DEPS, cutoff_s=CUTOFF)
    lo, hi = sorted((cut_a, cut_b))
    part = range_raptor(net, DEPS[lo:hi + 1], cutoff_s=CUTOFF)
    # the answer for a departure does not depend on the window around it
    np.testing.assert_array_equal(part, full[:, lo:hi + 1])
    # widening the window never lowers the number of departures within the standard
    std = 30 * 60
    _, share_part = summarise_profiles(part, DEPS[lo:hi + 1], percentile=50, standard_s=std)
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
    net = _network(case, tmp_path / "feed")
    deps = np.array([28800, 29400, 29700])
    got = range_raptor(net, deps, cutoff_s=3600)
    assert got[0, :, 0].tolist() == [30000, 30000, INF]
    pct, share = summarise_profiles(got, deps, percentile=50, standard_s=20 * 60)
    assert pct[0, 0] == pytest.approx(10.0)  # 20, 10, inf -> median 10... sorted [10, 20, inf]
    assert share[0, 0] == pytest.approx(1 / 3)  # only the 08:10 departure takes <= 20 min
    pct2, share2 = transit_summary(net, deps, cutoff_s=3600, standard_s=20 * 60, threads=2)
    np.testing.assert_array_equal(pct2, pct)
    np.testing.assert_array_equal(share2, share)


def test_overtaking_trips_split_into_patterns(tmp_path: Path) -> None:
    stops = [(LAT0, LON0), (LAT0 + 0.01, LON0), (LAT0 + 0.02, LON0)]
    slow = [(0, 28800, 28800), (1, 30000, 30000), (2, 31200, 31200)]
    fast = [(0, 29100, 29100), (1, 29400, 29400), (2, 29700, 29700)]
    feed = read_gtfs(write_feed(tmp_path / "f", stops, [slow, fast]), DAY)
    assert feed.n_patterns == 2
    assert feed.n_trips == 2
