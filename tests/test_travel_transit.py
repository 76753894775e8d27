"""The public-transport travel engine, registered as "transit"."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd

from nhc_planner.travel import engine_names, get_engine
from nhc_planner.travel.transit import TransitEngine, TransitSettings
from tests.gtfs_helpers import DAY, LAT0, LON0, make_network


def test_transit_engine_registered(tmp_path: Path) -> None:
    assert "transit" in engine_names()
    assert isinstance(get_engine("transit"), TransitEngine)
    case = {"stops": [(LAT0, LON0), (LAT0 + 0.01, LON0)], "origins": [(0, 0)], "dests": [(10, 0)]}
    net = make_network({**case, "trips": [[(0, 29400, 29400), (1, 30000, 30000)]], "rides": 1},
                   tmp_path / "n")  # fmt: skip
    areas = pd.DataFrame({"area_code": ["A"], "demand_x": net.feed.stop_xy[:1, 0],
                          "demand_y": net.feed.stop_xy[:1, 1]})  # fmt: skip
    sites = pd.DataFrame(
        {"site_id": ["S"], "x": net.feed.stop_xy[1:, 0], "y": net.feed.stop_xy[1:, 1]}
    )
    sites = gpd.GeoDataFrame(sites, geometry=gpd.points_from_xy(sites.x, sites.y), crs=27700)

    class S:
        standard_min, cutoff_min = 30.0, 60.0

    eng = TransitEngine(TransitSettings(str(tmp_path / "n"), DAY, ("08:00", "08:10")))
    tt = eng.travel_times(areas, sites, S())  # type: ignore[arg-type]
    # departures 08:00..08:10 all catch the 08:10 bus, arriving 08:20: 20..10 min, median 15
    assert tt.long["minutes"].tolist() == [15.0]


def test_transit_engine_needs_a_feed() -> None:
    import pytest

    from nhc_planner import ScenarioError

    class S:
        standard_min, cutoff_min = 30.0, 60.0
        transit_feed = transit_day = transit_window = transit_percentile = None

    with pytest.raises(ScenarioError, match=r"travel\.transit_feed"):
        TransitEngine().check(S())  # type: ignore[arg-type]
    with pytest.raises(ScenarioError, match="not found"):
        TransitEngine(TransitSettings("/no/such/feed.zip", DAY)).check(S())  # type: ignore[arg-type]


def test_window_departures() -> None:
    deps = TransitSettings("f", DAY, ("08:00", "08:03")).departures()
    assert deps.tolist() == [28800, 28860, 28920, 28980]


def test_transit_engine_from_the_scenario_keys(tmp_path: Path) -> None:
    import pytest

    from nhc_planner import ScenarioError
    from nhc_planner.scenario import Scenario, TravelSettings

    case = {"stops": [(LAT0, LON0), (LAT0 + 0.01, LON0)], "origins": [(0, 0)], "dests": [(10, 0)]}
    net = make_network({**case, "trips": [[(0, 29400, 29400), (1, 30000, 30000)]], "rides": 1},
                   tmp_path / "n")  # fmt: skip
    areas = pd.DataFrame({"area_code": ["A"], "demand_x": net.feed.stop_xy[:1, 0],
                          "demand_y": net.feed.stop_xy[:1, 1]})  # fmt: skip
    xy = net.feed.stop_xy[1:]
    sites = gpd.GeoDataFrame(
        {"site_id": ["S"]}, geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=27700
    )
    keys = {
        "travel.engine": "transit",
        "travel.mode": "transit",
        "travel.standard_min": 30.0,
        "travel.transit_feed": str(tmp_path / "n"),
        "travel.transit_day": DAY,
        "travel.transit_window": "08:00-08:10",
    }
    s = Scenario().replace(**keys)
    assert Scenario.from_toml_string(s.to_toml_string()) == s  # the keys round-trip
    tt = get_engine("transit").travel_times(areas, sites, s.travel)
    assert tt.long["minutes"].tolist() == [15.0]  # as the explicit settings above
    pct90 = s.travel.replace(transit_percentile=90.0)
    assert get_engine("transit").travel_times(areas, sites, pct90).long["minutes"].iloc[0] > 15
    for bad in ("8-20", "20:00-08:00", "08:00"):
        with pytest.raises(ScenarioError, match=r"travel\.transit_window"):
            Scenario().replace(**{**keys, "travel.transit_window": bad})
    with pytest.raises(ScenarioError, match=r"travel\.transit_feed"):
        TravelSettings(engine="transit", mode="transit")
