"""Tests of the synthetic demo region (nhc_planner.demo and its _demo_* helpers)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from nhc_planner import _demo_files, demo
from nhc_planner._demo_layout import AGE6_LABELS, N_NATIONAL, make_world
from nhc_planner._demo_network import fill_multidigraph
from nhc_planner._errors import CrsError, ValueRangeError
from nhc_planner.build import RegionInputs, build_region_report
from nhc_planner.testing import require_fixture

SMALL = {"n_areas": 90, "n_las": 3, "network_nodes": 1_500}


def _hashes(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small generated demo (90 areas, 3 authorities, with a road network)."""
    folder = tmp_path_factory.mktemp("demo_small")
    return demo.generate_demo_files(folder, seed=3, **SMALL)


@pytest.fixture(scope="module")
def committed():
    """The region built from the committed seed-0 files."""
    manifest = Path(demo.__file__).resolve().parents[1] / "data" / "sources.toml"
    if not manifest.is_file():
        pytest.skip("the repository's data/ folder is not present (installed package)")
    return demo.demo_region()


# --------------------------------------------------------------------------- files


def test_generation_is_byte_identical(small: Path, tmp_path: Path):
    again = demo.generate_demo_files(tmp_path, seed=3, **SMALL)
    assert _hashes(again.parent) == _hashes(small.parent)
    assert {Path(p).parts[0] for p in _hashes(small.parent)} >= {
        "boundaries", "population", "network", "sources.toml", "demo.json", "SYNTHETIC.md",
    }  # fmt: skip


def test_other_seeds_differ(small: Path, tmp_path: Path):
    other = demo.generate_demo_files(tmp_path, seed=4, network=False, **{
        k: v for k, v in SMALL.items() if k != "network_nodes"
    })  # fmt: skip
    a = pd.read_csv(small.parent / _demo_files.FILES["imd"])
    b = pd.read_csv(other.parent / _demo_files.FILES["imd"])
    assert not a.equals(b)
    assert not (other.parent / _demo_files.NETWORK_FILE).exists()


def test_files_use_official_layouts(small: Path):
    folder = small.parent
    imd = pd.read_csv(folder / _demo_files.FILES["imd"])
    assert list(imd.columns) == [
        "LSOA code (2021)",
        "LSOA name (2021)",
        "Local Authority District code (2024)",
        "Local Authority District name (2024)",
        "Index of Multiple Deprivation (IMD) Score",
        "Index of Multiple Deprivation (IMD) Rank (where 1 is most deprived)",
        "Index of Multiple Deprivation (IMD) Decile (where 1 is most deprived 10% of LSOAs)",
    ]
    bnd = gpd.read_file(folder / _demo_files.FILES["boundaries"])
    assert {"LSOA21CD", "LSOA21NM"} <= set(bnd.columns)
    assert bnd.crs.to_epsg() == 27700
    assert bnd["LSOA21CD"].str.fullmatch(r"X01\d{6}").all()  # never a real E01 code
    hle = pd.read_csv(folder / _demo_files.FILES["hle"])
    assert list(hle.columns) == [
        "area_code", "area_name", "area_type", "period", "indicator", "measure", "unit",
        "value", "compared_to_England", "inequality",
    ]  # fmt: skip
    assert set(hle["inequality"]) == {"Male", "Female"}
    assert hle["area_code"].str.fullmatch(r"X06\d{6}").all()
    age = pd.read_csv(folder / _demo_files.FILES["population_age"])
    assert tuple(age["age_group"].unique()) == AGE6_LABELS
    total = pd.read_csv(folder / _demo_files.FILES["population"])
    assert age.groupby("lsoa21_code")["usual_residents"].sum().sort_index().tolist() == (
        total.set_index("LSOA21CD")["Population"].sort_index().tolist()
    )
    text = (folder / "sources.toml").read_text()
    assert "SYNTHETIC" in text
    assert "SYNTHETIC" in (folder / "SYNTHETIC.md").read_text()


def test_layouts_match_the_real_census_files(small: Path):
    real_age = require_fixture("national", "census21_lsoa21_usual_residents_by_age6.csv")
    real_total = require_fixture("national", "census21_lsoa21_usual_residents_total.csv")
    folder = small.parent
    ours = pd.read_csv(folder / _demo_files.FILES["population_age"])
    theirs = pd.read_csv(real_age, nrows=60)
    assert list(ours.columns) == list(theirs.columns)
    assert set(ours["age_group"]) == set(theirs["age_group"])
    assert (folder / _demo_files.FILES["population_age"]).read_text().splitlines()[0] == (
        real_age.read_text().splitlines()[0]
    )
    assert list(pd.read_csv(folder / _demo_files.FILES["population"]).columns) == list(
        pd.read_csv(real_total, nrows=5).columns
    )


def test_readers_build_the_small_demo_completely(small: Path):
    inputs = RegionInputs.from_toml(small)
    region, report = build_region_report(inputs, icb_codes=[demo.DEMO_ICB_CODE])
    assert report.complete
    assert len(region.areas) == SMALL["n_areas"]
    assert (region.areas["demand_source"] == "pwc").all()
    total = pd.read_csv(small.parent / _demo_files.FILES["population"])["Population"].sum()
    assert region.areas["population"].sum() == pytest.approx(total)
    assert set(region.areas["la_code"].str[:3]) == {"X06"}
    assert region.areas["la_code"].nunique() == SMALL["n_las"]


def test_to_lonlat_is_plausible():
    lon, lat = _demo_files.to_lonlat(np.array([400_000.0]), np.array([300_000.0]))
    # (400000, 300000) is near -2.0 E, 52.5 N in the Midlands
    assert lon[0] == pytest.approx(-2.0, abs=0.01)
    assert lat[0] == pytest.approx(52.5, abs=0.1)


# --------------------------------------------------------------------------- the committed demo


def test_committed_demo_is_realistic(committed):
    a, s, meta = committed.areas, committed.sites, committed.meta
    assert meta.synthetic
    assert meta.notes[0] == demo.SYNTHETIC_NOTE
    assert "synthetic" in meta.name.lower()
    assert 400 <= len(a) <= 700
    assert a["population"].between(1_000, 3_000).all()
    assert 3 <= a["la_code"].nunique() <= 5
    assert a["area_code"].str.fullmatch(r"X01\d{6}").all()
    assert sorted(a["imd_decile"].unique()) == list(range(1, 11))
    assert 100 <= len(s) <= 250
    assert {"gp_practice", "hospital", "pharmacy", "community_building"} <= set(s["kind"])
    assert 1 <= (s["kind"] == "hospital").sum() <= 2
    zone = a.geometry.union_all().buffer(3_000)
    assert s.geometry.within(zone).all()
    # areas are small in towns and large in the countryside
    km2 = a.geometry.area / 1e6
    assert km2.max() > 20 * km2.median()


def test_committed_demo_deprivation_is_spatially_coherent(committed):
    a = committed.areas.reset_index(drop=True)
    tree = shapely.STRtree(a.geometry.to_numpy())
    left, right = tree.query(a.geometry.to_numpy(), predicate="touches")
    keep = left < right
    d = a["imd_decile"].to_numpy(dtype=float)
    r = np.corrcoef(d[left[keep]], d[right[keep]])[0, 1]
    assert r > 0.4, f"neighbouring areas' deciles correlate only {r:.2f}"


def test_committed_demo_coast_has_lowest_hle_and_oldest_people(committed):
    a = committed.areas
    hle = pd.read_csv(Path(demo.__file__).resolve().parents[1] / "data" / _demo_files.FILES["hle"])
    latest = hle[hle["period"] == "2022 - 24"]
    assert latest["value"].between(55.5, 67.0).all()
    by_la = latest.groupby("area_name")["value"].mean()
    coast = [n for n in by_la.index if n.endswith("Coast")]
    assert len(coast) == 1
    assert by_la.idxmin() == coast[0]
    la = a.groupby("la_name")[["population", "pop_65_plus", "hle_years"]].sum()
    old = la["pop_65_plus"] / la["population"]
    city = a.loc[a["la_code"] == "X06000001", "la_name"].iloc[0]
    assert old[coast[0]] > old[city]
    coastal_mean = np.average(
        a.loc[a["la_name"] == coast[0], "hle_years"],
        weights=a.loc[a["la_name"] == coast[0], "population"],
    )
    assert coastal_mean < np.average(a["hle_years"], weights=a["population"])


def test_committed_network_is_drivable_and_osmnx_compatible(committed):
    import osmnx as ox

    g = ox.load_graphml(demo.demo_network_path())
    assert g.graph["crs"] == "EPSG:27700"
    assert 5_000 <= g.number_of_nodes() <= 15_000
    assert nx.is_strongly_connected(g)
    kinds = {h for _, _, h in g.edges(data="highway")}
    assert {"motorway", "primary", "secondary", "residential", "unclassified"} <= kinds
    speeds = {sp for _, _, sp in g.edges(data="maxspeed")}
    assert all(re.fullmatch(r"\d+ mph", sp) for sp in speeds)
    assert all(isinstance(o, bool) for _, _, o in g.edges(data="oneway"))
    lengths = np.array([ln for _, _, ln in g.edges(data="length")])
    assert (lengths > 0).all()
    # walkable: every road but the motorway, still one connected network
    walk = nx.Graph(
        (u, v) for u, v, h in g.edges(data="highway") if h not in ("motorway", "motorway_link")
    )
    assert nx.is_connected(walk)
    xy = np.array([(d["x"], d["y"]) for _, d in g.nodes(data=True)])
    minx, miny, maxx, maxy = committed.areas.total_bounds
    assert (xy.min(axis=0) > np.array([minx, miny]) - 3_000).all()
    assert (xy.max(axis=0) < np.array([maxx, maxy]) + 3_000).all()


def test_committed_files_match_the_generator(tmp_path: Path):
    data = Path(demo.__file__).resolve().parents[1] / "data"
    if not (data / "demo.json").is_file():
        pytest.skip("the repository's data/ folder is not present (installed package)")
    fresh = demo.generate_demo_files(tmp_path, seed=0, network=False).parent
    for key in ("imd", "population", "population_age", "population_projection", "hle",
                "lsoa_la", "lsoa_icb", "gp_practices", "user_sites"):  # fmt: skip
        pd.testing.assert_frame_equal(
            pd.read_csv(data / _demo_files.FILES[key]),
            pd.read_csv(fresh / _demo_files.FILES[key]),
            check_exact=False,
            rtol=1e-6,
            obj=key,
        )
    ours = gpd.read_file(data / _demo_files.FILES["boundaries"])
    new = gpd.read_file(fresh / _demo_files.FILES["boundaries"])
    assert ours["LSOA21CD"].tolist() == new["LSOA21CD"].tolist()
    assert ours.geometry.geom_equals_exact(new.geometry, tolerance=0.1).all()


# --------------------------------------------------------------------------- demo_region cache


def test_demo_region_other_seed_uses_the_cache(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("NHC_CACHE_DIR", str(tmp_path))
    r1 = demo.demo_region(seed=5, n_areas=60, n_las=3)
    folders = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert len(folders) == 1
    assert "seed5" in folders[0].name
    stamp = (folders[0] / "sources.toml").stat().st_mtime_ns
    r2 = demo.demo_region(seed=5, n_areas=60, n_las=3)
    assert (folders[0] / "sources.toml").stat().st_mtime_ns == stamp
    assert r1.areas["population"].tolist() == r2.areas["population"].tolist()
    assert r1.meta.synthetic
    assert demo.demo_network_path(seed=5, n_areas=60, n_las=3).is_file()
    r3 = demo.demo_region(seed=6, n_areas=60, n_las=3)
    assert r3.areas["population"].tolist() != r1.areas["population"].tolist()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_areas": 5}, "n_areas"),
        ({"n_areas": 100, "n_las": 11}, "n_las"),
        ({"n_areas": 100, "n_sites": 2}, "n_sites"),
    ],
)
def test_bad_sizes_are_rejected(tmp_path: Path, kwargs, match):
    with pytest.raises(ValueRangeError, match=match):
        demo.generate_demo_files(tmp_path, **kwargs)


def test_main_writes_files(tmp_path: Path, capsys):
    code = demo.main(["--out", str(tmp_path), "--n-areas", "40", "--n-las", "2", "--no-network"])
    assert code == 0
    assert "SYNTHETIC" in capsys.readouterr().out
    assert (tmp_path / "sources.toml").is_file()


# --------------------------------------------------------------------------- generator


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 10_000), n_areas=st.integers(30, 160), n_las=st.integers(1, 3))
def test_world_invariants(seed: int, n_areas: int, n_las: int):
    w = make_world(seed=seed, n_areas=n_areas, n_las=n_las)
    a = w.areas
    assert len(a) == n_areas
    assert a["area_code"].is_unique
    assert a["imd_rank"].is_unique
    assert a["imd_rank"].between(1, N_NATIONAL).all()
    assert ((a["imd_rank"] - 1) * 10 // N_NATIONAL + 1 == a["imd_decile"]).all()
    # lower rank = more deprived = higher score
    order = a.sort_values("imd_rank")
    assert order["imd_score"].is_monotonic_decreasing
    ages = a[[f"age6_{b}" for b in range(6)]].sum(axis=1)
    assert (ages == a["population"]).all()
    # the cells tile the outline without overlaps
    assert a.geometry.area.sum() == pytest.approx(w.outline.area, rel=1e-4)
    assert shapely.contains_xy(a.geometry.to_numpy(), a["pwc_x"], a["pwc_y"]).all()
    assert a["la_code"].nunique() == n_las


def test_road_network_from_bounds_round_trips_through_osmnx(tmp_path: Path):
    import osmnx as ox

    g = demo.synthetic_road_network(bounds=(500_000, 300_000, 508_000, 306_000),
                                    n_nodes_target=800, seed=2)  # fmt: skip
    assert 700 <= g.number_of_nodes() <= 900
    assert nx.is_strongly_connected(g)
    path = tmp_path / "g.graphml"
    ox.save_graphml(g, path)
    back = ox.load_graphml(path)
    assert back.number_of_edges() == g.number_of_edges()
    u, v, k, d = next(iter(back.edges(keys=True, data=True)))
    assert d == g.edges[u, v, k]
    again = demo.synthetic_road_network(bounds=(500_000, 300_000, 508_000, 306_000),
                                        n_nodes_target=800, seed=2)  # fmt: skip
    assert nx.utils.graphs_equal(g, again)


def test_road_network_inputs_are_checked(committed):
    with pytest.raises(ValueRangeError):
        demo.synthetic_road_network(n_nodes_target=500)
    with pytest.raises(CrsError):
        demo.synthetic_road_network(committed.areas.to_crs(4326), n_nodes_target=500)
    with pytest.raises(ValueRangeError):
        demo.synthetic_road_network(bounds=(0, 0, -1, 5), n_nodes_target=500)


def test_fill_multidigraph_equals_add_edges_from():
    nodes = [(1, {"x": 0.0}), (2, {"x": 1.0}), (3, {"x": 2.0})]
    edges = [(1, 2, {"w": 1}), (2, 1, {"w": 2}), (1, 2, {"w": 3}), (2, 3, {"w": 4})]
    fast = nx.MultiDiGraph()
    fill_multidigraph(fast, nodes, [(u, v, dict(d)) for u, v, d in edges])
    slow = nx.MultiDiGraph()
    slow.add_nodes_from(nodes)
    slow.add_edges_from(edges)
    assert nx.utils.graphs_equal(fast, slow)
    assert list(fast.edges(keys=True, data="w")) == list(slow.edges(keys=True, data="w"))
    assert fast.in_degree(2) == 2
    with pytest.raises(ValueError, match="empty"):
        fill_multidigraph(fast, nodes, edges)


def test_cached_network_equals_the_generated_one(small: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("NHC_CACHE_DIR", str(tmp_path))
    path = demo.demo_network_path(seed=3, n_areas=SMALL["n_areas"], n_las=SMALL["n_las"])
    reference = demo.generate_demo_files(
        tmp_path / "ref", seed=3, n_areas=SMALL["n_areas"], n_las=SMALL["n_las"]
    )
    assert path.read_bytes() == (reference.parent / _demo_files.NETWORK_FILE).read_bytes()


def test_a_damaged_cache_folder_is_rebuilt(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("NHC_CACHE_DIR", str(tmp_path))
    first = demo.demo_region(seed=7, n_areas=40, n_las=2)
    (folder,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    (folder / "demo.json").unlink()
    again = demo.demo_region(seed=7, n_areas=40, n_las=2)
    assert (folder / "demo.json").is_file()
    assert again.areas["area_code"].tolist() == first.areas["area_code"].tolist()


@pytest.mark.parametrize("damage", ["truncate", "flip", "delete_manifest", "extra"])
def test_a_corrupt_cached_file_is_noticed_logged_and_rebuilt(
    tmp_path: Path, monkeypatch, caplog, damage
):
    """A truncated or changed cached demo file is never read as data: it is regenerated."""
    import logging

    monkeypatch.setenv("NHC_CACHE_DIR", str(tmp_path))
    first = demo.demo_region(seed=8, n_areas=40, n_las=2)
    (folder,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    sites = next(folder.glob("facilities/*epraccur*"))
    data = sites.read_bytes()
    if damage == "truncate":
        sites.write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        sites.write_bytes(data[:100] + bytes([data[100] ^ 0x20]) + data[101:])
    elif damage == "delete_manifest":
        (folder / "manifest.json").unlink()
    else:
        (folder / "facilities" / "more.csv").write_text("x\n")
    with caplog.at_level(logging.WARNING, logger="nhc_planner.cache"):
        again = demo.demo_region(seed=8, n_areas=40, n_las=2)
    assert "regenerating" in caplog.text
    assert sites.read_bytes() == data
    assert again.sites["site_id"].tolist() == first.sites["site_id"].tolist()
    assert len(again.areas) == len(first.areas)


def test_cached_bus_timetable_equals_the_generated_one(small: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("NHC_CACHE_DIR", str(tmp_path))
    path = demo.demo_gtfs_path(seed=3, n_areas=SMALL["n_areas"], n_las=SMALL["n_las"])
    reference = demo.generate_demo_files(
        tmp_path / "ref", seed=3, n_areas=SMALL["n_areas"], n_las=SMALL["n_las"]
    )
    assert path.read_bytes() == (reference.parent / _demo_files.GTFS_FILE).read_bytes()
    assert (small.parent / _demo_files.GTFS_FILE).is_file()


def test_the_demo_plans_on_registrations_and_the_opening_years_population(committed):
    """Issue 14 on the demo: today's access as the baseline, demand by GP registrations
    and each year's projected population, all from the demo's synthetic files."""
    from nhc_planner.plan import plan
    from nhc_planner.scenario import Scenario

    s = Scenario().replace(
        **{
            "demand.basis": "registrations",
            "phasing.population": "projection",
            "phasing.first_year": 2026,
            "phasing.years": 2,
            "travel.mode": "walk",
            "travel.standard_min": 15.0,
        }
    )
    p = plan(committed, s)
    kpis = p.kpis.set_index("metric")
    # today's access: GP practices and open centres within the standard, before the plan
    assert 0 < kpis.loc["share_covered_today", "before"] < 1
    assert kpis.loc["share_covered_today", "after"] >= kpis.loc["share_covered_today", "before"]
    # demand by registration, and each year's own projected population
    assert kpis.loc["registered_patients_covered", "after"] > 0
    assert p.population_basis.startswith("Population: each year's own projected population")
    assert "registered" in p.population_basis.lower() or "registration" in str(p.provenance)
