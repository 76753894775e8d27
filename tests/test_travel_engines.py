"""Tests of the travel-engine seam: the registry, a toy engine end to end, the matrix engine."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import nhc_planner
from nhc_planner._errors import (
    DataFileError,
    DuplicateKeyError,
    EmptyInputError,
    MissingColumnError,
    ScenarioError,
    ValueRangeError,
)
from nhc_planner.network import RoadNetwork, load_network
from nhc_planner.plan import compute_travel
from nhc_planner.scenario import Scenario, TravelSettings, describe
from nhc_planner.travel import (
    MatrixEngine,
    RoadEngine,
    SnapWarning,
    StraightLineEngine,
    TravelEngine,
    TravelTimes,
    engine_for,
    engine_names,
    get_engine,
    matrix_times,
    read_travel_matrix,
    register_engine,
    straight_line_times,
    travel_modes,
    travel_times,
    unregister_engine,
)

ROOT = Path(__file__).resolve().parents[1]


def areas_frame(points: dict[str, tuple[float, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "area_code": list(points),
            "demand_x": [p[0] for p in points.values()],
            "demand_y": [p[1] for p in points.values()],
        }
    )


def sites_frame(points: dict[str, tuple[float, float]]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"site_id": list(points)},
        geometry=[shapely.Point(p) for p in points.values()],
        crs="EPSG:27700",
    )


AREAS = areas_frame({"A": (0.0, 0.0), "B": (1000.0, 0.0), "C": (5000.0, 0.0)})
SITES = sites_frame({"S": (0.0, 0.0), "T": (2000.0, 0.0)})


# --------------------------------------------------------------------------- the toy engine


class TeleportEngine:
    """Ten times faster than crow-fly driving at 40 km/h; its own mode and method."""

    name = "teleport"
    modes = ("teleport",)
    label = "Teleport (a test engine)"
    calls = 0

    def travel_times(self, areas, sites, settings, *, progress=None) -> TravelTimes:
        TeleportEngine.calls += 1
        tt = straight_line_times(
            areas,
            sites,
            mode=settings.mode,
            circuity=1.0,
            speed_kmh=400.0,
            cutoff_min=settings.cutoff_min,
        )
        return dataclasses.replace(
            tt, straight_line=np.zeros_like(tt.straight_line), method="teleport"
        )


@pytest.fixture
def teleport():
    register_engine(TeleportEngine)
    yield TeleportEngine
    unregister_engine("teleport")


TELEPORT = {"travel.engine": "teleport", "travel.mode": "teleport"}


# --------------------------------------------------------------------------- the registry


def test_built_in_engines_and_modes():
    assert {"straight_line", "road", "matrix"} <= set(engine_names())
    assert travel_modes()[:3] == ("drive", "walk", "cycle")
    assert isinstance(get_engine("road"), RoadEngine)
    for name in ("straight_line", "road", "matrix"):
        engine = get_engine(name)
        assert isinstance(engine, TravelEngine)
        assert engine.name == name
        assert engine.label
        assert engine.modes


def test_unknown_engine_lists_the_registered_ones():
    with pytest.raises(ValueRangeError, match=r"unknown travel engine 'gtfs'.*'road'"):
        get_engine("gtfs")
    with pytest.raises(ScenarioError, match=r"travel\.engine.*'matrix'.*'gtfs'"):
        Scenario().replace(**{"travel.engine": "gtfs"})
    with pytest.raises(ScenarioError, match=r"travel\.mode.*'drive'.*'bus'"):
        Scenario().replace(**{"travel.mode": "bus"})


def test_registration_rejects_duplicates_and_malformed_classes(teleport):
    class Other(TeleportEngine):
        pass

    with pytest.raises(ValueRangeError, match="already registered"):
        register_engine(Other)
    assert register_engine(TeleportEngine) is TeleportEngine  # the same class again is fine

    class NoName:
        modes = ("drive",)

        def travel_times(self, areas, sites, settings, *, progress=None): ...

    with pytest.raises(ValueRangeError, match="name"):
        register_engine(NoName)

    class Auto(TeleportEngine):
        name = "auto"

    with pytest.raises(ValueRangeError, match="auto"):
        register_engine(Auto)

    class NoModes(TeleportEngine):
        name = "nomodes"
        modes = ()

    with pytest.raises(ValueRangeError, match="modes"):
        register_engine(NoModes)


@pytest.mark.parametrize(
    ("changes", "engine"),
    [
        ({}, StraightLineEngine),
        ({"travel.network": "demo"}, RoadEngine),
        ({"travel.matrix": "m.csv"}, MatrixEngine),
        ({"travel.engine": "straight_line", "travel.network": "demo"}, StraightLineEngine),
        ({"travel.engine": "road", "travel.network": "demo"}, RoadEngine),
        (
            {"travel.engine": "matrix", "travel.matrix": "m.csv", "travel.network": "demo"},
            MatrixEngine,
        ),
    ],
)
def test_auto_resolves_by_inputs(changes, engine):
    assert isinstance(engine_for(Scenario().replace(**changes).travel), engine)


@pytest.mark.parametrize(
    ("changes", "fragments"),
    [
        ({"travel.network": "demo", "travel.matrix": "m.csv"}, ["travel.engine", "'auto'"]),
        ({"travel.engine": "road"}, ["travel.network", "road engine"]),
        ({"travel.engine": "matrix"}, ["travel.matrix", "area_code, site_id, minutes"]),
        # "auto" picks the transit engine for mode "transit" (issue 13), which needs a feed
        ({"travel.mode": "transit"}, ["travel.transit_feed", "GTFS feed"]),
        (
            {"travel.engine": "road", "travel.network": "demo", "travel.mode": "transit"},
            ["travel.mode", "'transit'", "['matrix', 'transit']"],
        ),
    ],
)
def test_engine_inputs_are_checked_by_name(changes, fragments):
    with pytest.raises(ScenarioError) as info:
        Scenario().replace(**changes)
    for fragment in fragments:
        assert fragment in str(info.value)


def test_auto_engine_is_left_out_of_toml_so_old_hashes_hold():
    s = Scenario()
    assert "engine" not in s.to_dict()["travel"]
    assert "matrix" not in s.to_dict()["travel"]
    explicit = s.replace(**{"travel.engine": "straight_line"})
    assert explicit.to_dict()["travel"]["engine"] == "straight_line"
    assert Scenario.from_toml_string(explicit.to_toml_string()) == explicit
    rows = {r["key"]: r for r in describe()}
    assert "'matrix'" in rows["travel.engine"]["allowed"]
    assert "'walk'" in rows["travel.mode"]["allowed"]
    assert rows["travel.matrix"]["default"] is None


def test_travel_times_no_longer_rejects_a_mode_before_an_engine():
    tt = travel_times(
        AREAS, SITES, None, mode="teleport", circuity=1.0, straight_line_speed_kmh=60.0
    )
    assert tt.mode == "teleport"
    assert tt.matrix()[1, 0] == pytest.approx(1.0)  # 1 km at 60 km/h

    class Delegate:  # the old seam: any object with travel_times(..., cutoff_min)
        def travel_times(self, areas, sites, *, cutoff_min):
            return dataclasses.replace(
                straight_line_times(areas, sites, cutoff_min=cutoff_min), mode="transit"
            )

    assert travel_times(AREAS, SITES, Delegate(), mode="transit").mode == "transit"
    with pytest.raises(ValueRangeError, match="not supported"):
        travel_times(AREAS, SITES, None, mode="teleport")


# --------------------------------------------------------------------------- toy engine end to end


def test_toy_engine_flows_through_scenario_and_compute_travel(teleport, tmp_path):
    s = Scenario().replace(**TELEPORT)
    assert s.travel.mode == "teleport"
    back = Scenario.from_toml(s.to_toml(tmp_path / "s.toml"))
    assert back == s
    assert "teleport" in travel_modes()
    region = nhc_planner.demo_region()
    tt = compute_travel(region, s)
    assert tt.mode == "teleport"
    assert set(tt.long["method"]) == {"teleport"}
    assert not tt.estimated.any()


def test_toy_engine_unregistered_is_an_error_in_words(teleport):
    s = Scenario().replace(**TELEPORT)
    unregister_engine("teleport")
    with pytest.raises(ScenarioError, match=r"travel\.(mode|engine).*'teleport'"):
        Scenario.from_toml_string(s.to_toml_string())
    register_engine(TeleportEngine)


def test_toy_engine_plans_with_no_change_to_the_optimiser(teleport):
    s = Scenario(name="teleport").replace(
        **TELEPORT,
        **{
            "travel.standard_min": 5.0,
            "phasing.years": 2,
            "phasing.new_per_year": 2,
            "solver.time_limit_s": 20.0,
            "policy.model": "coverage",  # counts below are the coverage model's
        },
    )
    before = TeleportEngine.calls
    p = nhc_planner.plan(nhc_planner.demo_region(), s)
    assert TeleportEngine.calls == before + 1
    assert p.provenance["travel_mode"] == "teleport"
    assigned = p.assignments[p.assignments["site_id"].astype(str) != ""]
    assert len(assigned)
    assert set(assigned["travel_method"]) == {"teleport"}
    assert 1 <= len(p.centres[p.centres["status"] == "new"]) <= 4
    assert p.kpi("population_covered", "after") >= p.kpi("population_covered", "before")


def test_toy_engine_in_the_app_policy_page(teleport):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300).run()
    at.switch_page("app_pages/policy.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    engine_box = at.selectbox(key="travel.engine")
    assert "teleport" in engine_box.options or "Teleport (a test engine)" in engine_box.options
    engine_box.set_value("teleport")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert at.selectbox(key="travel.mode").value == "teleport"
    s = at.session_state["scenario"]
    assert (s.travel.engine, s.travel.mode) == ("teleport", "teleport")
    at.switch_page("app_pages/judge.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert any("teleport" in m.label for m in at.metric), [m.label for m in at.metric]


# --------------------------------------------------------------------------- the matrix engine


def write(tmp_path: Path, text: str, name: str = "m.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_matrix_hand_checked(tmp_path):
    path = write(
        tmp_path,
        "Area_Code , site_id,minutes\nA,S,0\nA,T,12.5\nB,S,7\nB,T,61\nC,T,30\n",
    )
    tt = matrix_times(AREAS, SITES, path, mode="walk", cutoff_min=60)
    m = tt.matrix()
    expected = np.array([[0.0, 12.5], [7.0, np.inf], [np.inf, 30.0]])  # B-T beyond the cutoff
    np.testing.assert_array_equal(m, expected)
    assert tt.mode == "walk"
    assert set(tt.long["method"]) == {"matrix"}
    assert tt.long["minutes"].tolist() == [0.0, 12.5, 7.0, 30.0]
    assert tt.sparse().nnz == 4  # the 0-minute pair is stored
    assert not tt.estimated.any()
    assert set(tt.area_method) == {"matrix"}


def test_matrix_parquet_and_frame_agree(tmp_path):
    frame = pd.DataFrame(
        {
            "area_code": ["A", "C"],
            "site_id": ["T", "S"],
            "minutes": np.array([3, 4], dtype=np.int64),
        }
    )
    path = tmp_path / "m.parquet"
    frame.to_parquet(path)
    a = matrix_times(AREAS, SITES, path).matrix()
    b = matrix_times(AREAS, SITES, frame).matrix()
    np.testing.assert_array_equal(a, b)
    assert a[0, 1] == 3.0
    assert a[2, 0] == 4.0
    assert np.isinf(a[1]).all()


@pytest.mark.parametrize(
    ("text", "error", "fragments"),
    [
        ("area_code,site_id\nA,S\n", MissingColumnError, ["minutes", "found"]),
        ("area_code,site_id,minutes\nA,S,soon\n", ValueRangeError, ["minutes", "soon"]),
        ("area_code,site_id,minutes\nA,S,\nB,S,1\n", ValueRangeError, ["minutes", "blank"]),
        ("area_code,site_id,minutes\nA,S,-2\n", ValueRangeError, [">= 0", "A->S"]),
        ("area_code,site_id,minutes\nA,S,inf\n", ValueRangeError, ["finite", "A->S"]),
        (
            "area_code,site_id,minutes\nA,S,1\nA,S,2\n",
            DuplicateKeyError,
            ["A->S", "more than once"],
        ),
        (
            "area_code,site_id,minutes\nA,S,1\nZ9,S,2\nZ8,T,2\n",
            ValueRangeError,
            ["Z8", "Z9", "area"],
        ),
        ("area_code,site_id,minutes\nA,Q,1\n", ValueRangeError, ["site_id", "'Q'"]),
        ("area_code,site_id,minutes\n,S,1\n", ValueRangeError, ["area_code", "blank"]),
        ("area_code,site_id,minutes\n", EmptyInputError, ["no data rows"]),
    ],
)
def test_matrix_bad_files_are_named_errors(tmp_path, text, error, fragments):
    path = write(tmp_path, text)
    with pytest.raises(error) as info:
        matrix_times(AREAS, SITES, path)
    for fragment in fragments:
        assert fragment in str(info.value)
    assert isinstance(info.value, ValueError)


def test_matrix_missing_and_unreadable_files(tmp_path):
    with pytest.raises(DataFileError, match="not found"):
        read_travel_matrix(tmp_path / "nope.csv")
    bad = write(tmp_path, "not parquet", name="m.parquet")
    with pytest.raises(DataFileError, match="Parquet"):
        read_travel_matrix(bad)
    s = Scenario().replace(**{"travel.matrix": str(tmp_path / "nope.csv")})
    with pytest.raises(ScenarioError, match=r"travel\.matrix.*not found"):
        compute_travel(nhc_planner.demo_region(), s)


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_matrix_fed_the_straight_line_table_equals_it(tmp_path, suffix):
    region = nhc_planner.demo_region()
    straight = straight_line_times(region.areas, region.sites, cutoff_min=30)
    table = straight.long[["area_code", "site_id", "minutes"]].astype(
        {"area_code": str, "site_id": str}
    )
    path = tmp_path / f"m.{suffix}"
    if suffix == "csv":
        table.to_csv(path, index=False)
    else:
        table.to_parquet(path)
    s = TravelSettings(matrix=str(path), standard_min=15, cutoff_min=30)
    got = compute_travel(region, s)
    assert got.method == "matrix"
    np.testing.assert_array_equal(got.matrix(), straight.matrix())
    pd.testing.assert_frame_equal(
        got.long.drop(columns="method"), straight.long.drop(columns="method")
    )
    # a lower cutoff keeps the same pairs as the straight-line engine at that cutoff
    low = matrix_times(region.areas, region.sites, path, cutoff_min=12)
    ref = straight_line_times(region.areas, region.sites, cutoff_min=12)
    np.testing.assert_array_equal(low.matrix(), ref.matrix())


def test_matrix_plan_reports_matrix_times(tmp_path):
    region = nhc_planner.demo_region()
    straight = straight_line_times(region.areas, region.sites, cutoff_min=60)
    path = tmp_path / "m.parquet"
    straight.long[["area_code", "site_id", "minutes"]].astype(
        {"area_code": str, "site_id": str}
    ).to_parquet(path)
    s = Scenario(name="m").replace(
        **{
            "travel.matrix": str(path),
            "travel.standard_min": 5.0,
            "phasing.years": 1,
            "phasing.new_per_year": 2,
            "solver.time_limit_s": 20.0,
        }
    )
    from_matrix = nhc_planner.plan(region, s)
    from_straight = nhc_planner.plan(region, s, travel=straight)
    assigned = from_matrix.assignments["site_id"].astype(str) != ""
    assert set(from_matrix.assignments.loc[assigned, "travel_method"]) == {"matrix"}
    assert from_matrix.provenance["travel_network"] == str(path)
    pd.testing.assert_frame_equal(
        pd.DataFrame(from_matrix.centres.drop(columns="geometry")),
        pd.DataFrame(from_straight.centres.drop(columns="geometry")),
    )


# --------------------------------------------------------------------------- road network mends


def test_network_and_travel_do_not_import_the_demo_generator():
    code = (
        "import sys, nhc_planner.network, nhc_planner.travel; "
        "bad = [m for m in ('nhc_planner.demo', 'nhc_planner._hierarchy', 'numba') "
        "if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_cache_file_is_a_declared_field_ignored_by_equality(tmp_path):
    names = {f.name: f for f in dataclasses.fields(RoadNetwork)}
    assert "_cache_file" in names
    assert names["_cache_file"].compare is False
    demo = pytest.importorskip("nhc_planner.demo")
    net = load_network(demo.demo_network_path(), mode="walk", cache_dir=tmp_path)
    assert net._cache_file is not None
    assert Path(net._cache_file).parent == tmp_path
    again = load_network(demo.demo_network_path(), mode="walk", cache_dir=tmp_path)
    assert again._cache_file == net._cache_file
    assert "_cache_file" not in repr(net)


def test_road_engine_on_the_demo_network_matches_travel_times():
    region = nhc_planner.demo_region()
    s = TravelSettings(network="demo", mode="drive", cutoff_min=30)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SnapWarning)
        got = compute_travel(region, s)
        ref = travel_times(region.areas, region.sites, "demo", mode="drive", cutoff_min=30)
    np.testing.assert_array_equal(got.matrix(), ref.matrix())
    with pytest.raises(ScenarioError, match=r"travel\.network.*not found"):
        compute_travel(region, TravelSettings(network="/no/such/file.osm.pbf"))


def test_named_network_sources_resolve_lazily(monkeypatch, tmp_path):
    from nhc_planner import network

    demo = pytest.importorskip("nhc_planner.demo")
    assert "demo" in network.network_source_names()
    monkeypatch.setattr(network, "_NAMED_SOURCES", dict(network._NAMED_SOURCES))
    network.register_network_source("my-roads", demo.demo_network_path)
    network.register_network_source("broken", "nhc_planner.no_such_module:path")
    a = load_network("my-roads", mode="walk", cache_dir=tmp_path)
    b = load_network("demo", mode="walk", cache_dir=tmp_path)
    assert a.graph.number_of_nodes() == b.graph.number_of_nodes()
    with pytest.raises(DataFileError, match=r"'broken'.*not available"):
        load_network("broken", mode="walk")
    s = TravelSettings(network="my-roads", mode="walk", cutoff_min=20)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SnapWarning)
        tt = compute_travel(nhc_planner.demo_region(), s)
    assert tt.mode == "walk"


def test_cli_describes_the_travel_engine_keys(capsys):
    from nhc_planner.cli import main

    assert main(["scenario", "--describe"]) == 0
    out = capsys.readouterr().out
    assert "travel.engine" in out
    assert "travel.matrix" in out
