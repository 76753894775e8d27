"""The demo region's synthetic bus timetable (nhc_planner._demo_gtfs)."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nhc_planner import _demo_files, demo
from nhc_planner._demo_gtfs import DEMO_TRANSIT_DAY
from nhc_planner.gtfs import read_gtfs

SATURDAY, SUNDAY = "2026-03-14", "2026-03-15"


@pytest.fixture(scope="module")
def feed_path() -> Path:
    path = Path(demo.__file__).resolve().parents[1] / "data" / _demo_files.GTFS_FILE
    if not path.is_file():
        pytest.skip("the repository's data/ folder is not present (installed package)")
    return path


@pytest.fixture(scope="module")
def committed_region(feed_path: Path):  # type: ignore[no-untyped-def]
    return demo.demo_region()


def _first_departures(feed, route_ids: set[str]) -> dict[str, np.ndarray]:  # type: ignore[no-untyped-def]
    """Per route and direction (pattern), the sorted first-stop departures."""
    out: dict[str, np.ndarray] = {}
    for p in range(feed.n_patterns):
        if feed.pattern_route_ids[p] not in route_ids:
            continue
        trips = range(feed.pattern_trip_ptr[p], feed.pattern_trip_ptr[p + 1])
        out[f"{feed.pattern_route_ids[p]}#{p}"] = np.sort(
            [feed.departure[feed.trip_time_ptr[t]] for t in trips]
        )
    return out


def test_the_committed_feed_is_valid_gtfs_and_labelled_synthetic(feed_path: Path) -> None:
    assert dt.date.fromisoformat(DEMO_TRANSIT_DAY).weekday() < 5
    with zipfile.ZipFile(feed_path) as z:
        names = set(z.namelist())
        agency = z.read("agency.txt").decode()
        info = z.read("feed_info.txt").decode()
    assert names == {
        "agency.txt", "calendar.txt", "feed_info.txt", "routes.txt", "stop_times.txt",
        "stops.txt", "trips.txt",
    }  # fmt: skip
    assert "SYNTHETIC" in agency
    assert "SYNTHETIC" in info
    week, sat, sun = (read_gtfs(feed_path, d) for d in (DEMO_TRANSIT_DAY, SATURDAY, SUNDAY))
    assert week.n_stops > 400
    assert week.n_trips > sat.n_trips > sun.n_trips > 0
    assert week.departure.max() > 24 * 3600  # late trips run past midnight (24:xx:xx)
    assert sun.departure.max() < 20 * 3600


def test_headways_are_realistic(feed_path: Path) -> None:
    with zipfile.ZipFile(feed_path) as z:
        routes = pd.read_csv(z.open("routes.txt"), dtype=str)
    city_names = routes.route_long_name.str.contains("cross-city| city local ")
    city = set(routes.loc[city_names, "route_id"])
    assert len(city) > 6  # local city lines beside the cross-city trunk lines
    rural_names = ~routes.route_long_name.str.contains("cross-city| city local | town ")
    week = read_gtfs(feed_path, DEMO_TRANSIT_DAY)
    for deps in _first_departures(week, city).values():
        day = np.diff(deps[(deps >= 9 * 3600) & (deps < 17 * 3600)])
        late = np.diff(deps[deps >= 19 * 3600])
        assert 10 * 60 <= day.max() <= 15 * 60  # urban: every 10-15 minutes by day
        assert late.min() >= 2 * day.max()  # half as often in the evening
    rural = set(routes.loc[rural_names, "route_id"]) - city
    gaps = [np.diff(d).min() for d in _first_departures(week, rural).values() if len(d) > 1]
    assert min(gaps) >= 30 * 60
    assert max(gaps) >= 90 * 60


def test_the_buses_stop_near_the_residents(feed_path: Path, committed_region) -> None:  # type: ignore[no-untyped-def]
    # issue 13: >= 85% of residents within 800 m of a stop, >= 95% within 1.6 km
    # (population-weighted area points), most urban residents within 400 m
    from pyproj import Transformer
    from scipy.spatial import cKDTree

    with zipfile.ZipFile(feed_path) as z:
        stops = pd.read_csv(z.open("stops.txt"))
    x, y = Transformer.from_crs(4326, 27700, always_xy=True).transform(
        stops.stop_lon.to_numpy(), stops.stop_lat.to_numpy()
    )
    areas = committed_region.areas
    metres = cKDTree(np.column_stack([x, y])).query(areas[["demand_x", "demand_y"]].to_numpy())[0]
    pop = areas["population"].to_numpy(float)

    def share(limit: float) -> float:
        return float(pop[metres <= limit].sum() / pop.sum())

    assert share(400.0) >= 0.75
    assert share(800.0) >= 0.85
    assert share(1_600.0) >= 0.95


def test_transit_times_on_the_demo_are_plausible(committed_region) -> None:  # type: ignore[no-untyped-def]
    from nhc_planner.travel.transit import TransitSettings, transit_times

    areas = committed_region.areas.iloc[:60]
    sites = committed_region.sites
    res = transit_times(
        areas, sites, TransitSettings("demo", DEMO_TRANSIT_DAY, ("08:00", "09:00")),
        standard_min=30, cutoff_min=90, walk_network="demo",
    )  # fmt: skip
    pct = res.percentile_min
    assert np.isfinite(pct.min(axis=1)).mean() >= 0.7  # most city areas reach a site by bus
    # never faster than a bus at 60 km/h along the crow-fly line
    ax = areas[["demand_x", "demand_y"]].to_numpy()
    sxy = np.column_stack([sites.geometry.x, sites.geometry.y])
    km = np.hypot(*(ax[:, None, :] - sxy[None, :, :]).transpose(2, 0, 1)) / 1000
    ok = np.isfinite(pct)
    assert (pct[ok] >= km[ok] - 1e-9).all()
    assert ((res.share_within >= 0) & (res.share_within <= 1)).all()


def test_the_demo_plans_by_public_transport(committed_region) -> None:  # type: ignore[no-untyped-def]
    from nhc_planner.plan import plan
    from nhc_planner.scenario import Scenario

    scenario = Scenario().replace(
        **{
            "travel.mode": "transit",
            "travel.network": "demo",
            "travel.standard_min": 30.0,
            "travel.cutoff_min": 90.0,
            "travel.transit_window": "08:00-09:00",
        }
    )
    assert scenario.travel.transit_feed is None  # the demo's timetable by default
    result = plan(committed_region, scenario)
    assert result.coverage_curve["population_covered"].max() > 0
    # every neighbourhood gets a centre even where the buses leave some residents
    # beyond the cutoff; the plan says how many
    hoods = result.neighbourhoods
    assert hoods is not None
    served = hoods["site_id"] != ""
    assert served.mean() > 0.9
    assert (hoods.loc[served, "opening_year"] >= 0).all()
    assert (hoods.loc[~served, "opening_year"] == -1).all()
    assert hoods["share_beyond_cutoff"].between(0.0, 1.0).all()
    if (hoods["share_beyond_cutoff"] > 0).any():
        assert "beyond the 90-minute cutoff" in result.solver["message"]
