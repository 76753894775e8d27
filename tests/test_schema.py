"""The areas/sites contract validators."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import Point, box

from nhc_planner import (
    CrsError,
    DuplicateKeyError,
    EmptyInputError,
    MissingColumnError,
    ValueRangeError,
)
from nhc_planner.schema import AREA_COLUMNS, BNG, demand_points, validate_areas, validate_sites


def make_areas(n: int = 3) -> gpd.GeoDataFrame:
    rows = []
    for i in range(n):
        rows.append(
            {
                "area_code": f"X0100000{i}",
                "area_name": f"Area {i}",
                "la_code": "X06000001",
                "la_name": "Demo LA",
                "icb_code": "X54000001",
                "population": 1500.0,
                "pop_0_15": 300.0,
                "pop_16_64": 900.0,
                "pop_65_plus": 300.0,
                "imd_score": 20.0 + i,
                "imd_rank": 1000.0 + i,
                "imd_decile": 1 + i % 10,
                "hle_years": 60.0,
                "demand_x": 1000.0 * i + 500,
                "demand_y": 500.0,
                "demand_source": "inside",
                "geometry": box(1000 * i, 0, 1000 * (i + 1), 1000),
            }
        )
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=BNG)


def make_sites(n: int = 2) -> gpd.GeoDataFrame:
    rows = [
        {
            "site_id": f"S{i}",
            "name": f"Site {i}",
            "kind": "gp_practice",
            "status": "candidate",
            "max_rooms": float("nan"),
            "capex_gbp": float("nan"),
            "annual_cost_gbp": float("nan"),
            "geometry": Point(100.0 * i, 100.0),
        }
        for i in range(n)
    ]
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=BNG)


def test_valid_tables_pass() -> None:
    areas = make_areas()
    assert validate_areas(areas) is areas
    sites = make_sites()
    assert validate_sites(sites) is sites
    assert demand_points(areas).shape == (3, 2)


@pytest.mark.parametrize("column", AREA_COLUMNS)
def test_missing_area_column_is_named(column: str) -> None:
    with pytest.raises(MissingColumnError, match=column):
        validate_areas(make_areas().drop(columns=[column]))


def test_duplicate_area_codes() -> None:
    areas = make_areas()
    areas.loc[1, "area_code"] = areas.loc[0, "area_code"]
    with pytest.raises(DuplicateKeyError, match="X01000000"):
        validate_areas(areas)


def test_empty_areas() -> None:
    with pytest.raises(EmptyInputError):
        validate_areas(make_areas().iloc[0:0])


def test_wrong_crs() -> None:
    with pytest.raises(CrsError, match="EPSG:27700"):
        validate_areas(make_areas().set_crs("EPSG:4326", allow_override=True))
    with pytest.raises(CrsError, match="no CRS"):
        validate_areas(make_areas().set_crs(None, allow_override=True))


def test_bad_values() -> None:
    areas = make_areas()
    areas.loc[0, "population"] = -1
    with pytest.raises(ValueRangeError, match="population"):
        validate_areas(areas)
    areas = make_areas()
    areas.loc[0, "imd_decile"] = 11
    with pytest.raises(ValueRangeError, match="imd_decile"):
        validate_areas(areas)


def test_bad_sites() -> None:
    sites = make_sites()
    sites.loc[0, "kind"] = "castle"
    with pytest.raises(ValueRangeError, match="castle"):
        validate_sites(sites)
    sites = make_sites()
    sites.loc[1, "site_id"] = "S0"
    with pytest.raises(DuplicateKeyError):
        validate_sites(sites)
    sites = make_sites()
    sites.loc[0, "geometry"] = box(0, 0, 1, 1)
    with pytest.raises(ValueRangeError, match="points"):
        validate_sites(sites)
