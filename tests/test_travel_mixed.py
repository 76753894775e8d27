"""The mixed mode (travel/mixed.py): car households drive, the others take the bus or walk."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from nhc_planner._errors import MissingColumnError, ScenarioError
from nhc_planner.scenario import TravelSettings
from nhc_planner.travel import MixedTravelTimes, engine_for, matrix_times
from nhc_planner.travel.mixed import combine_mixed


def _areas(with_cars: bool = True) -> gpd.GeoDataFrame:
    frame = gpd.GeoDataFrame(
        {
            "area_code": ["A", "B"],
            "demand_x": [500.0, 20_500.0],
            "demand_y": [500.0, 500.0],
        },
        geometry=[box(0, 0, 1000, 1000), box(20_000, 0, 21_000, 1000)],
        crs="EPSG:27700",
    )
    if with_cars:
        frame["households"] = [100.0, 200.0]
        frame["households_no_car"] = [25.0, 150.0]
    return frame


def _sites() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"site_id": ["S", "T"]},
        geometry=[Point(600.0, 500.0), Point(10_500.0, 500.0)],
        crs="EPSG:27700",
    )


def _table(pairs: dict[tuple[str, str], float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "area_code": [a for a, _ in pairs],
            "site_id": [s for _, s in pairs],
            "minutes": list(pairs.values()),
        }
    )


def test_combined_matrix_by_hand() -> None:
    areas, sites = _areas(), _sites()
    car = matrix_times(areas, sites, _table({("A", "S"): 4, ("A", "T"): 16, ("B", "T"): 20}))
    bus = matrix_times(areas, sites, _table({("A", "S"): 8, ("A", "T"): 40, ("B", "S"): 50}))
    out = combine_mixed(car, bus, np.array([0.25, 0.75]), cutoff_min=60)
    assert isinstance(out, MixedTravelTimes)
    assert out.mode == "mixed"
    # A-S: 0.75*4 + 0.25*8 = 5; A-T: 0.75*16 + 0.25*40 = 22;
    # B-S: no drive -> unreachable; B-T: no bus -> the no-car part counts at the cutoff:
    # 0.25*20 + 0.75*60 = 50
    np.testing.assert_allclose(out.matrix(), [[5.0, 22.0], [np.inf, 50.0]])
    # everybody without a car and no bus: unreachable
    alone = combine_mixed(car, bus, np.array([1.0, 1.0]), cutoff_min=60)
    np.testing.assert_allclose(alone.matrix(), [[8.0, 40.0], [50.0, np.inf]])
    assert out.no_car_share.tolist() == [0.25, 0.75]
    np.testing.assert_array_equal(out.no_car.matrix(), bus.matrix())
    assert set(out.long["method"]) == {"mixed"}


def test_engine_takes_the_faster_of_bus_and_walking(tmp_path: Path) -> None:
    areas, sites = _areas(), _sites()
    # A is 100 m from S: walking 0.1 km x 1.3 / 4.8 km/h = 1.625 min beats the 30-minute bus
    bus = tmp_path / "bus.csv"
    _table({("A", "S"): 30, ("A", "T"): 35, ("B", "T"): 25}).to_csv(bus, index=False)
    settings = TravelSettings(mode="mixed", engine="mixed", matrix=str(bus), cutoff_min=60)
    out = engine_for(settings).travel_times(areas, sites, settings)
    assert isinstance(out, MixedTravelTimes)
    no_car = out.no_car.matrix()
    assert no_car[0, 0] == pytest.approx(0.1 * 1.3 / 4.8 * 60)
    assert no_car[0, 1] == 35.0
    assert no_car[1, 1] == 25.0
    assert np.isinf(no_car[1, 0])
    car = out.car.matrix()  # straight line at 40 km/h x 1.3 (no network)
    assert car[1, 1] == pytest.approx(10.0 * 1.3 / 40 * 60)
    share = np.array([0.25, 0.75])
    expected = (1 - share)[:, None] * car + share[:, None] * np.minimum(no_car, 60.0)
    np.testing.assert_allclose(out.matrix(), np.where(np.isfinite(expected), expected, np.inf))


def test_mixed_needs_public_transport_and_car_data(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="transit_feed"):
        TravelSettings(mode="mixed", engine="mixed")
    with pytest.raises(ScenarioError, match="serves"):
        TravelSettings(mode="drive", engine="mixed", matrix="x.csv")
    bus = tmp_path / "bus.csv"
    _table({("A", "S"): 30}).to_csv(bus, index=False)
    settings = TravelSettings(mode="mixed", engine="mixed", matrix=str(bus))
    with pytest.raises(MissingColumnError, match="TS045"):
        engine_for(settings).travel_times(_areas(with_cars=False), _sites(), settings)


def test_unknown_car_share_takes_the_regions() -> None:
    areas = _areas()
    areas.loc[1, "households_no_car"] = np.nan
    from nhc_planner.travel.mixed import _shares

    with pytest.warns(UserWarning, match=r"1 area\(s\) have no car-availability figures"):
        assert _shares(areas).tolist() == [0.25, 0.25]


# --------------------------------------------------------------------------- through plan()


def _bus_line(folder: Path, xy: np.ndarray, *, headway_s: int = 900) -> Path:
    """A GTFS feed: one bus line through the points ``xy`` (BNG), both ways, 07:00-21:00."""
    from nhc_planner._demo_files import to_lonlat
    from tests.gtfs_helpers import write_feed

    lon, lat = to_lonlat(xy[:, 0], xy[:, 1])
    stops = list(zip(lat.tolist(), lon.tolist(), strict=True))
    hop = (np.hypot(*np.diff(xy, axis=0).T) / (20_000 / 3600)).astype(int) + 30  # 20 km/h
    trips = []
    for start in range(7 * 3600, 21 * 3600, headway_s):
        for order in (range(len(stops)), range(len(stops) - 1, -1, -1)):
            t, trip = start, []
            for k, s in enumerate(order):
                if k:
                    t += int(hop[min(s, order[k - 1])])
                trip.append((s, t, t))
            trips.append(trip)
    return write_feed(folder, stops, trips)


def _with_households(region: Any) -> Any:
    from nhc_planner.region import Region

    areas = region.areas.copy()
    decile = areas["imd_decile"].to_numpy(float)
    areas["households"] = np.round(areas["population"].to_numpy(float) / 2.4)
    areas["households_no_car"] = np.round(areas["households"] * (0.30 - 0.02 * decile))
    return Region(areas=areas, sites=region.sites, meta=region.meta)


def test_grid_plans_by_transit_and_mixed_with_no_car_kpis(tmp_path: Path) -> None:
    from nhc_planner.plan import plan
    from tests.gtfs_helpers import DAY
    from tests.test_plan import FAST, grid_region

    region = _with_households(grid_region())
    row = region.areas.sort_values("demand_x").head(6)  # bottom row of the grid
    feed = _bus_line(tmp_path / "gtfs", row[["demand_x", "demand_y"]].to_numpy(float))
    base = {"travel.transit_feed": str(feed), "travel.transit_day": DAY,
            "travel.standard_min": 20.0, "travel.transit_percentile": 80.0}  # fmt: skip
    for mode in ("transit", "mixed"):
        scenario = FAST.replace(**base, **{"travel.mode": mode, "travel.engine": mode})
        result = plan(region, scenario)
        kpis = result.kpis.set_index("metric")
        a = result.assignments
        assert {"no_car_households_covered", "no_car_share_covered"} <= set(kpis.index)
        hh = a["households_no_car"].to_numpy(float)
        after = a["no_car_covered_after"].to_numpy(bool)
        assert kpis.loc["no_car_households_covered", "after"] == pytest.approx(hh[after].sum())
        assert (
            kpis.loc["no_car_share_covered", "after"] >= kpis.loc["no_car_share_covered", "before"]
        )
        if mode == "transit":  # the plan's own times: no-car coverage is the plan's coverage
            np.testing.assert_array_equal(after, a["covered_after"].to_numpy(bool))
            assert "car_share_covered" not in kpis.index
        else:
            assert "car_share_covered" in kpis.index
            assert set(a["travel_method"]) <= {"mixed", "straight_line", ""}


def test_demo_plans_by_transit_and_mixed(tmp_path: Path) -> None:
    """Acceptance: the demo (default model) plans by ``transit`` and ``mixed`` with a bus feed
    (here a test feed through the demo's towns; the demo's own feed replaces it)."""
    from nhc_planner.demo import demo_region
    from nhc_planner.plan import plan
    from nhc_planner.scenario import Scenario
    from tests.gtfs_helpers import DAY

    region = demo_region()
    pts = region.areas[["demand_x", "demand_y"]].to_numpy(float)
    order = np.argsort(pts[:, 0])
    feed = _bus_line(tmp_path / "gtfs", pts[order[:: max(1, len(order) // 40)]], headway_s=1200)
    for mode in ("transit", "mixed"):
        scenario = Scenario(name="demo bus").replace(
            **{
                # the neighbourhood model needs a site within the cutoff of every resident
                # of a neighbourhood, which a bus line through a few towns does not give
                "policy.model": "coverage" if mode == "transit" else "neighbourhoods",
                "travel.mode": mode,
                "travel.engine": mode,
                "travel.transit_feed": str(feed),
                "travel.transit_day": DAY,
                "travel.transit_window": "08:00-10:00",
                "travel.standard_min": 30.0,
                "solver.time_limit_s": 20.0,
            }
        )
        result = plan(region, scenario)
        kpis = result.kpis.set_index("metric")
        assert np.isfinite(kpis.loc["no_car_share_covered", "after"])
        assert kpis.loc["no_car_households_covered", "after"] > 0


def test_mixed_reads_a_published_lsoa_matrix(tmp_path: Path) -> None:
    """No-car public transport from an LSOA-to-LSOA file (sites placed in their LSOA)."""
    areas, sites = _areas(), _sites()
    sites = sites.assign(site_lsoa=["A", "B"])
    path = tmp_path / "ttm_pt.csv"
    path.write_text("from_id,to_id,travel_time_p50,travel_time_p75\nA,A,3,4\nB,B,9,12\nA,B,30,45\n")
    settings = TravelSettings(
        mode="mixed", engine="mixed", matrix=str(path), cutoff_min=60, transit_percentile=75
    )
    out = engine_for(settings).travel_times(areas, sites, settings)
    assert out.no_car.method == "transit_matrix"
    bus = out.no_car.matrix()
    # p75 column: A->S 4 (walking 1.6 min is faster), A->T 45, B->T 12; B->S none
    assert bus[0, 0] == pytest.approx(0.1 * 1.3 / 4.8 * 60)
    assert (bus[0, 1], bus[1, 1]) == (45.0, 12.0)
    assert np.isinf(bus[1, 0])
