"""The GTFS reader: patterns, zips, times past midnight and a named error for each bad feed."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from nhc_planner import GtfsError
from nhc_planner.gtfs import read_gtfs
from tests.gtfs_helpers import DAY, LAT0, LON0, write_feed


def _good(tmp_path: Path) -> Path:
    stops = [(LAT0, LON0), (LAT0 + 0.01, LON0)]
    return write_feed(tmp_path / "g", stops, [[(0, 29400, 29400), (1, 30000, 30000)]])


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (lambda f: (f / "stop_times.txt").unlink(), "stop_times.txt is missing"),
        (lambda f: (f / "stops.txt").write_text("stop_id,stop_lat\nS0,53.8\n"), "stop_lon"),
        (
            lambda f: (f / "stop_times.txt").write_text(
                "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
                "T0,08:10:00,08:10:00,S0,1\nT0,08:05:00,08:05:00,S1,2\n"
            ),
            "backwards",
        ),
        (
            lambda f: (f / "stop_times.txt").write_text(
                "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
                "T0,08:10:00,08:10:00,S0,1\nT0,08:20:00,08:20:00,SX,2\n"
            ),
            "unknown stop_id 'SX'",
        ),
        (
            lambda f: (f / "stop_times.txt").write_text(
                "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
                "T0,8h10,08:10:00,S0,1\nT0,08:20:00,08:20:00,S1,2\n"
            ),
            "cannot read time '8h10'",
        ),
        (lambda f: (f / "calendar.txt").unlink(), "calendar.txt and calendar_dates.txt"),
    ],
)
def test_bad_feeds_named_errors(tmp_path: Path, edit: Callable[[Path], object], words: str) -> None:
    folder = _good(tmp_path)
    edit(folder)
    with pytest.raises(GtfsError, match=words):
        read_gtfs(folder, DAY)


def test_no_service_on_day(tmp_path: Path) -> None:
    with pytest.raises(GtfsError, match="no trip runs on 2026-12-05"):
        read_gtfs(_good(tmp_path), "2026-12-05")  # a Saturday


def test_zip_and_times_past_midnight(tmp_path: Path) -> None:
    folder = write_feed(tmp_path / "z", [(LAT0, LON0), (LAT0 + 0.01, LON0)],
                        [[(0, 90000, 90000), (1, 90600, 90600)]])  # fmt: skip
    zipped = shutil.make_archive(str(tmp_path / "feed"), "zip", folder)
    feed = read_gtfs(zipped, DAY)
    assert feed.departure.tolist() == [90000, 90600]


def test_overtaking_trips_split_into_patterns(tmp_path: Path) -> None:
    stops = [(LAT0, LON0), (LAT0 + 0.01, LON0), (LAT0 + 0.02, LON0)]
    slow = [(0, 28800, 28800), (1, 30000, 30000), (2, 31200, 31200)]
    fast = [(0, 29100, 29100), (1, 29400, 29400), (2, 29700, 29700)]
    feed = read_gtfs(write_feed(tmp_path / "f", stops, [slow, fast]), DAY)
    assert feed.n_patterns == 2
    assert feed.n_trips == 2


def test_frequencies_expand_to_trips(tmp_path: Path) -> None:
    folder = _good(tmp_path)
    (folder / "frequencies.txt").write_text(
        "trip_id,start_time,end_time,headway_secs\nT0,08:00:00,09:00:00,1200\n"
    )
    feed = read_gtfs(folder, DAY)
    assert feed.n_trips == 3
    starts = feed.departure[feed.trip_time_ptr[:-1]]
    assert sorted(starts.tolist()) == [28800, 30000, 31200]
    # running time kept: 10 minutes from stop 0 to stop 1
    assert (feed.arrival[feed.trip_time_ptr[:-1] + 1] - starts == 600).all()


def test_calendar_dates_add_and_remove(tmp_path: Path) -> None:
    folder = _good(tmp_path)
    (folder / "calendar_dates.txt").write_text(
        "service_id,date,exception_type\nWK,20261205,1\nWK,20261207,2\n"
    )
    assert read_gtfs(folder, "2026-12-05").n_trips == 1  # added on a Saturday
    with pytest.raises(GtfsError, match="no trip runs on 2026-12-07"):
        read_gtfs(folder, DAY)  # removed on the Monday


def test_transfers_replace_straight_line_walks(tmp_path: Path) -> None:
    from nhc_planner._raptor import build_network

    folder = _good(tmp_path)
    (folder / "transfers.txt").write_text(
        "from_stop_id,to_stop_id,transfer_type,min_transfer_time\nS0,S1,2,90\nS1,S0,3,\n"
    )
    feed = read_gtfs(folder, DAY)
    assert [a.tolist() for a in feed.transfers] == [[0], [1], [90]]
    net = build_network(feed, feed.stop_xy[:1], feed.stop_xy[:1])
    # S0 -> S1 by transfers.txt (the stops are 1.1 km apart, beyond a straight-line footpath)
    assert net.fp_to[net.fp_ptr[0] : net.fp_ptr[1]].tolist() == [1]
    assert net.fp_s[net.fp_ptr[0] : net.fp_ptr[1]].tolist() == [90]
    assert net.fp_ptr[2] - net.fp_ptr[1] == 0


def test_unknown_route_and_bad_transfer_stop(tmp_path: Path) -> None:
    folder = _good(tmp_path)
    (folder / "transfers.txt").write_text(
        "from_stop_id,to_stop_id,transfer_type,min_transfer_time\nS0,NOPE,2,90\n"
    )
    with pytest.raises(GtfsError, match=r"transfers.txt, column to_stop_id, row 1: unknown"):
        read_gtfs(folder, DAY)
    (folder / "transfers.txt").unlink()
    (folder / "trips.txt").write_text("route_id,service_id,trip_id\nRX,WK,T0\n")
    with pytest.raises(GtfsError, match="unknown route_id 'RX'"):
        read_gtfs(folder, DAY)
