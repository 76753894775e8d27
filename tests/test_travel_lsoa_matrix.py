"""Published LSOA-to-LSOA travel-time matrices (travel/lsoa_matrix.py) through the matrix engine."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from nhc_planner._errors import DuplicateKeyError, MissingColumnError, ValueRangeError
from nhc_planner.scenario import TravelSettings
from nhc_planner.travel import engine_for, matrix_times
from nhc_planner.travel.lsoa_matrix import is_lsoa_matrix, read_lsoa_matrix, site_lsoas

CODES = ["E01000001", "E01000002", "E01000003"]


def _areas() -> gpd.GeoDataFrame:
    # three 1 km squares side by side
    polys = [box(i * 1000.0, 0.0, (i + 1) * 1000.0, 1000.0) for i in range(3)]
    return gpd.GeoDataFrame(
        {
            "area_code": CODES,
            "demand_x": [500.0, 1500.0, 2500.0],
            "demand_y": [500.0, 500.0, 500.0],
        },
        geometry=polys,
        crs="EPSG:27700",
    )


def _sites(extra: list[tuple[str, float, float]] | None = None) -> gpd.GeoDataFrame:
    rows = [("S1", 200.0, 300.0), ("S2", 2800.0, 900.0), ("S3", 2100.0, 100.0)] + (extra or [])
    return gpd.GeoDataFrame(
        {"site_id": [r[0] for r in rows]},
        geometry=[Point(r[1], r[2]) for r in rows],
        crs="EPSG:27700",
    )


def _ubdc(tmp_path: Path, rows: list[tuple[str, str, float, float]], tod: bool = True) -> Path:
    """The UBDC layout: from_id, to_id, travel_time_p25/p50/p75 (+ time_of_day)."""
    frame = pd.DataFrame(
        {
            "from_id": [r[0] for r in rows],
            "to_id": [r[1] for r in rows],
            "travel_time_p25": [r[2] for r in rows],
            "travel_time_p50": [r[3] for r in rows],
            "travel_time_p75": [r[3] + 5 for r in rows],
        }
    )
    if tod:
        frame["time_of_day"] = "am"
        frame = pd.concat([frame, frame.assign(time_of_day="pm", travel_time_p50=999.0)])
    path = tmp_path / "ttm_pt_lsoa.parquet"
    frame.to_parquet(path)
    return path


def test_sites_are_placed_in_their_lsoa() -> None:
    assert site_lsoas(_areas(), _sites()).tolist() == ["E01000001", "E01000003", "E01000003"]
    # just outside the region: the nearest area within 2 km
    near = _sites([("S4", 3300.0, 500.0)])
    assert site_lsoas(_areas(), near)[-1] == "E01000003"
    far = _sites([("S5", 9000.0, 500.0)])
    with pytest.raises(ValueRangeError, match="S5"):
        site_lsoas(_areas(), far)
    given = _sites().assign(site_lsoa=["E01000002", "E01000002", "E01000001"])
    assert site_lsoas(_areas(), given).tolist() == ["E01000002", "E01000002", "E01000001"]


def test_published_layout_through_the_matrix_engine(tmp_path: Path) -> None:
    rows = [
        ("E01000001", "E01000001", 2.0, 3.0),
        ("E01000001", "E01000003", 20.0, 25.0),
        ("E01000002", "E01000003", 10.0, 12.0),
        ("E01000003", "E01000003", 1.0, 1.0),
        ("E09999999", "E01000001", 5.0, 5.0),  # another region's origin: ignored
    ]
    path = _ubdc(tmp_path, rows)
    times = matrix_times(_areas(), _sites(), path, mode="transit", cutoff_min=60)
    m = times.matrix()
    # S1 in LSOA 1; S2 and S3 both in LSOA 3; the "am" rows, median column
    expected = np.array([[3.0, 25.0, 25.0], [np.inf, 12.0, 12.0], [np.inf, 1.0, 1.0]])
    np.testing.assert_array_equal(m, expected)
    assert set(times.long["method"]) == {"matrix"}
    # the scenario's percentile picks the column
    p75 = matrix_times(_areas(), _sites(), path, mode="transit", percentile=75).matrix()
    assert p75[0, 0] == 8.0
    settings = TravelSettings(mode="transit", engine="matrix", matrix=str(path), cutoff_min=20)
    via_engine = engine_for(settings).travel_times(_areas(), _sites(), settings).matrix()
    assert via_engine[1, 1] == 12.0
    assert np.isinf(via_engine[0, 1])


def test_header_aliases() -> None:
    assert is_lsoa_matrix(["origin", "destination", "minutes"])
    assert is_lsoa_matrix(["LSOA11CD", "to_id", "travel_time"])
    assert not is_lsoa_matrix(["area_code", "site_id", "minutes"])
    table = pd.DataFrame({"Origin": ["E01000001"], "Destination": ["E01000002"], "Time": ["7"]})
    assert read_lsoa_matrix(table).table["minutes"].tolist() == [7.0]


def test_bad_matrices_get_named_errors(tmp_path: Path) -> None:
    with pytest.raises(MissingColumnError, match="minutes"):
        read_lsoa_matrix(pd.DataFrame({"from_id": ["A"], "to_id": ["B"], "cost": [1]}))
    dup = pd.DataFrame({"from_id": ["A", "A"], "to_id": ["B", "B"], "minutes": [1, 2]})
    with pytest.raises(DuplicateKeyError, match="A->B"):
        read_lsoa_matrix(dup)
    neg = pd.DataFrame({"from_id": ["A"], "to_id": ["B"], "travel_time_p50": [-1]})
    with pytest.raises(ValueRangeError, match="travel_time_p50"):
        read_lsoa_matrix(neg)
    tod = pd.DataFrame({"from_id": ["A"], "to_id": ["B"], "minutes": [1], "time_of_day": ["pm"]})
    with pytest.raises(ValueRangeError, match="time_of_day"):
        read_lsoa_matrix(tod)
    # 2011 codes against 2021 areas: nothing matches, and the message says why
    other = pd.DataFrame({"from_id": ["E01999999"], "to_id": ["E01000001"], "minutes": [5]})
    with pytest.raises(ValueRangeError, match="2011 LSOA codes"):
        matrix_times(_areas(), _sites(), other, mode="transit")
