"""Tests for nhc_planner.neighbourhoods (the region adapter and the reader)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from scipy.sparse.csgraph import connected_components

from nhc_planner._errors import (
    DataFileError,
    DuplicateKeyError,
    JoinError,
    MissingColumnError,
    ValueRangeError,
)
from nhc_planner.neighbourhoods import (
    area_adjacency,
    area_costs,
    area_groups,
    delineate_region,
    neighbourhood_names,
    read_neighbourhoods,
)
from nhc_planner.testing import require_fixture

KM = 1000.0


def squares(rows: int, cols: int, *, pop: float = 10_000.0, gap_at: int | None = None):
    """A rows x cols grid of 1 km squares (optionally a column shifted east, an island)."""
    recs = []
    for r in range(rows):
        for c in range(cols):
            x0 = c * KM + (5 * KM if gap_at is not None and c >= gap_at else 0.0)
            y0 = r * KM
            recs.append(
                {
                    "area_code": f"A{r}{c}",
                    "population": pop,
                    "la_code": "L1" if c < cols / 2 else "L2",
                    "la_name": "Westshire" if c < cols / 2 else "Eastshire",
                    "demand_x": x0 + KM / 2,
                    "demand_y": y0 + KM / 2,
                    "geometry": shapely.box(x0, y0, x0 + KM, y0 + KM),
                }
            )
    return gpd.GeoDataFrame(recs, crs="EPSG:27700")


def test_rook_and_queen() -> None:
    areas = squares(2, 2)
    rook = area_adjacency(areas, rule="rook")
    queen = area_adjacency(areas, rule="queen")
    assert rook.matrix.nnz == 8  # 4 edges
    assert queen.matrix.nnz == 12  # plus 2 diagonals
    assert rook.joins == ()
    assert (rook.matrix != rook.matrix.T).nnz == 0


def test_islands_joined_and_reported() -> None:
    areas = squares(1, 3, gap_at=2)  # the third square is 5 km away
    adj = area_adjacency(areas)
    assert connected_components(adj.matrix, directed=False)[0] == 1
    assert adj.joins == (("A02", "A01", pytest.approx(5 * KM)),)


def test_detached_group_pieces_joined() -> None:
    areas = squares(1, 3)
    groups = np.array([0, 1, 0])  # group 0 is split by group 1
    adj = area_adjacency(areas, groups=groups)
    assert [(a, b) for a, b, _ in adj.joins] == [("A00", "A02")]


def test_area_costs_straight_line() -> None:
    areas = squares(1, 2)
    minutes = area_costs(areas, circuity=1.0, speed_kmh=60.0)
    assert minutes[0, 1] == pytest.approx(1.0)  # 1 km at 60 km/h
    assert minutes[0, 0] == 0.0
    with pytest.raises(ValueRangeError, match="circuity"):
        area_costs(areas, circuity=0.5)
    # a mode with no straight-line defaults (transit, a plug-in) is timed as drive
    np.testing.assert_array_equal(area_costs(areas, mode="transit"), area_costs(areas))


def test_area_groups() -> None:
    areas = squares(1, 4)
    by_la = area_groups(areas)
    assert by_la.codes.tolist() == [0, 0, 1, 1]
    assert by_la.keys == ("L1", "L2")
    assert by_la.names == ("Westshire", "Eastshire")
    assert area_groups(areas, None).codes.tolist() == [0, 0, 0, 0]
    areas["pcn_code"] = ["P1", "P1", "P2", "P2"]
    assert area_groups(areas, "pcn_code").names == ("P1", "P2")
    with pytest.raises(MissingColumnError, match="sub_icb_code"):
        area_groups(areas, "sub_icb_code")


def test_names_from_ward_column_and_fallback() -> None:
    areas = squares(1, 4)
    groups = area_groups(areas, None)
    labels = np.array([0, 0, 1, 1])
    assert neighbourhood_names(areas, labels, groups) == ["all areas 1", "all areas 2"]
    areas["ward_name"] = ["Hill", "Dale", "Dale", "Dale"]
    areas.loc[1, "population"] = 20_000
    assert neighbourhood_names(areas, labels, groups) == ["Dale", "Dale (2)"]


def test_names_from_official_lsoa_names_when_no_ward_or_msoa_column() -> None:
    # official LSOA names are the MSOA's name plus a letter: "Leeds 001A" lies in "Leeds 001"
    areas = squares(1, 4)
    areas["area_name"] = ["Leeds 001A", "Leeds 001B", "Leeds 002A", "Leeds 002B"]
    areas.loc[2, "population"] = 1
    groups = area_groups(areas, None)
    names = neighbourhood_names(areas, np.array([0, 0, 1, 1]), groups)
    assert names == ["Leeds 001", "Leeds 002"]
    # a ward column with gaps still names from the wards it has
    areas["ward_name"] = pd.array([None, "Hunslet", None, "Beeston"], dtype="string")
    assert neighbourhood_names(areas, np.array([0, 0, 1, 1]), groups) == ["Hunslet", "Beeston"]


def test_delineate_region_small() -> None:
    areas = squares(3, 4)  # 12 x 10,000; two LAs of 60,000
    nb = delineate_region(areas, min_pop=20_000, max_pop=40_000)
    table, summary = nb.areas, nb.summary
    assert list(table["area_code"]) == list(areas["area_code"])
    assert summary["population"].sum() == 120_000
    assert summary["within_bounds"].all()
    assert set(summary["group"]) == {"Westshire", "Eastshire"}
    for hood, rows in table.groupby("neighbourhood_id"):
        assert len(set(rows["group"])) == 1, hood
    assert summary["neighbourhood_name"].is_unique
    assert nb.result.bound <= nb.result.objective


# --------------------------------------------------------------------------- reader


def test_read_csv_flags_bounds(tmp_path: Path) -> None:
    areas = squares(1, 4)
    path = tmp_path / "hoods.csv"
    pd.DataFrame(
        {"area_code": ["A00", "A01", "A02", "A03"], "neighbourhood": ["N", "N", "N", "S"]}
    ).to_csv(path, index=False)
    drawn = read_neighbourhoods(path, areas, min_pop=15_000, max_pop=25_000)
    assert drawn.outside_bounds == ("N", "S")  # 30,000 and 10,000
    assert drawn.summary["contiguous"].all()
    assert drawn.areas["neighbourhood_name"].tolist() == ["N", "N", "N", "S"]


def test_read_csv_reports_non_contiguous(tmp_path: Path) -> None:
    areas = squares(1, 3)
    path = tmp_path / "hoods.csv"
    pd.DataFrame({"area_code": ["A00", "A01", "A02"], "neighbourhood": ["X", "Y", "X"]}).to_csv(
        path, index=False
    )
    drawn = read_neighbourhoods(path, areas)
    assert drawn.summary.set_index("neighbourhood_name")["contiguous"].to_dict() == {
        "X": False,
        "Y": True,
    }


@pytest.mark.parametrize(
    ("frame", "error", "match"),
    [
        (pd.DataFrame({"code": ["A00"], "hood": ["N"]}), MissingColumnError, "area_code"),
        (
            pd.DataFrame({"area_code": ["A00", "A00"], "neighbourhood": ["N", "S"]}),
            DuplicateKeyError,
            "more than once",
        ),
        (
            pd.DataFrame({"area_code": ["A00", "Z9"], "neighbourhood": ["N", "S"]}),
            JoinError,
            "not areas of this region",
        ),
        (pd.DataFrame({"area_code": ["A00"], "neighbourhood": ["N"]}), JoinError, "A01"),
    ],
)
def test_read_csv_errors(tmp_path: Path, frame: pd.DataFrame, error: type, match: str) -> None:
    path = tmp_path / "bad.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(error, match=match):
        read_neighbourhoods(path, squares(1, 2))


def test_read_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="no such file"):
        read_neighbourhoods(tmp_path / "nope.csv", squares(1, 2))


def test_read_polygons_largest_overlap(tmp_path: Path) -> None:
    areas = squares(1, 4)
    polys = gpd.GeoDataFrame(
        {"neighbourhood": ["West", "East"]},
        geometry=[shapely.box(0, 0, 2.6 * KM, KM), shapely.box(2.6 * KM, 0, 4 * KM, KM)],
        crs="EPSG:27700",
    ).to_crs("EPSG:4326")
    path = tmp_path / "hoods.geojson"
    polys.to_file(path)
    drawn = read_neighbourhoods(path, areas, min_pop=1, max_pop=1e9)
    assert drawn.areas["neighbourhood_name"].tolist() == ["West", "West", "West", "East"]
    assert drawn.outside_bounds == ()


# --------------------------------------------------------------------------- real data


@pytest.mark.slow
def test_leeds_neighbourhoods() -> None:
    from nhc_planner.build import build_region
    from tests.builders import leeds_inputs

    inputs = leeds_inputs(sites=False)
    areas = build_region(inputs, la_codes=["E08000035"]).areas
    # ward names from the boundary file, as a planner would add them
    bounds = gpd.read_file(require_fixture("boundaries", "leeds_lsoa21_bsc.gpkg"))
    wards = dict(zip(bounds["lsoa21_code"], bounds["ward24_name"], strict=True))
    areas = areas.assign(ward_name=areas["area_code"].map(wards))
    assert len(areas) == 488
    nb = delineate_region(areas, max_iterations=60)
    res = nb.result
    assert sorted(set(res.labels.tolist())) == list(range(res.n_districts))  # each area once
    assert res.exceptions == ()
    for d in range(res.n_districts):
        members = np.flatnonzero(res.labels == d)
        sub = nb.adjacency.matrix[members][:, members]
        assert connected_components(sub, directed=False)[0] == 1
    assert nb.summary["population"].between(30_000, 50_000).all()
    assert len(set(nb.summary["group"])) == 1
    assert nb.summary["neighbourhood_name"].is_unique
    assert np.isfinite(res.gap)
    assert "proven within" in res.message or "proven optimal" in res.message
