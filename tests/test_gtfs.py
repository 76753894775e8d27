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
