"""Tests of nhc_planner.plan: the pipeline, the Plan contract, determinism, save/load."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from nhc_planner._errors import InfeasibleError, NhcInputError, ScenarioError
from nhc_planner.plan import Plan, compute_travel, coverage_curve, plan
from nhc_planner.region import Region, RegionMeta
from nhc_planner.scenario import Scenario

SIDE = 2000.0


def grid_region(n: int = 6, *, n_sites: int = 16, existing: bool = True) -> Region:
    """``n x n`` square areas of 2 km, two authorities, a 4x4 grid of sites."""
    rows = []
    for i in range(n * n):
        c, r = i % n, i // n
        g = box(c * SIDE, r * SIDE, (c + 1) * SIDE, (r + 1) * SIDE)
        dec = 1 + (c + r) % 10
        rows.append(
            {
                "area_code": f"X{i:04d}",
                "area_name": f"Area {i}",
                "la_code": "LA1" if c < n // 2 else "LA2",
                "la_name": "West" if c < n // 2 else "East",
                "icb_code": "",
                "population": 1000.0 + 10 * i,
                "pop_0_15": 200.0,
                "pop_16_64": 600.0 + 10 * i,
                "pop_65_plus": 200.0,
                "imd_score": 50.0 - 4 * dec,
                "imd_rank": float(dec * 3000),
                "imd_decile": dec,
                "hle_years": 52.0 + 1.6 * dec,
                "demand_x": g.centroid.x,
                "demand_y": g.centroid.y,
                "demand_source": "inside",
                "geometry": g,
            }
        )
    areas = gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:27700")
    pts = [(f"S{k:02d}", (k % 4) * 3000 + 1100, (k // 4) * 3000 + 1100) for k in range(n_sites)]
    kinds = ["existing_nhc" if existing and k == 0 else "gp_practice" for k in range(n_sites)]
    sites = gpd.GeoDataFrame(
        {
            "site_id": [p[0] for p in pts],
            "name": [f"Site {p[0]}" for p in pts],
            "kind": kinds,
            "status": ["existing" if k == "existing_nhc" else "candidate" for k in kinds],
            "max_rooms": np.nan,
            "capex_gbp": np.nan,
            "annual_cost_gbp": np.nan,
        },
        geometry=[Point(p[1], p[2]) for p in pts],
        crs="EPSG:27700",
    )
    return Region(areas=areas, sites=sites, meta=RegionMeta(name="Grid", synthetic=True))


FAST = Scenario(name="test").replace(
    **{
        "policy.model": "coverage",  # these tests check the coverage model
        "travel.standard_min": 5.0,
        "phasing.years": 2,
        "phasing.new_per_year": 2,
        "solver.time_limit_s": 20.0,
    }
)


@pytest.fixture(scope="module")
def region() -> Region:
    return grid_region()


@pytest.fixture(scope="module")
def travel(region):
    return compute_travel(region, FAST.travel)


@pytest.fixture(scope="module")
def result(region, travel) -> Plan:
    return plan(region, FAST, travel=travel)


def test_plan_contract(result):
    c, a = result.centres, result.assignments
    assert c.crs.to_epsg() == 27700
    assert a.crs.to_epsg() == 27700
    for col in [
        "site_id",
        "name",
        "kind",
        "status",
        "phase",
        "order",
        "size",
        "rooms",
        "weekly_capacity",
        "weekly_demand_served",
        "utilisation",
        "pop_newly_covered",
        "pop_newly_covered_imd12",
        "catchment_hle_mean",
        "swap_loss",
        "best_alternative",
        "why",
        "capex_gbp",
        "annual_cost_gbp",
        "wte_gp",
        "wte_nurse",
        "wte_pharmacist",
        "wte_mental_health",
        "wte_allied_health",
        "wte_admin",
    ]:
        assert col in c.columns, col
    for col in [
        "area_code",
        "area_name",
        "la_code",
        "la_name",
        "population",
        "imd_decile",
        "hle_years",
        "need_score",
        "site_id",
        "minutes",
        "covered_before",
        "covered_after",
        "phase_covered",
        "travel_method",
    ]:
        assert col in a.columns, col
    assert set(result.kpis.columns) == {"metric", "before", "after", "unit"}
    assert list(result.coverage_curve.columns[:3]) == ["n_centres", "population_covered", "share"]
    assert result.solver["status"] == "optimal"
    assert result.solver["message"].startswith("Optimal")
    assert result.stability is None
    assert result.provenance["scenario_sha256"] == FAST.content_hash()


def test_plan_phasing_and_order(result):
    c = result.centres
    existing = c[c["status"] == "existing"]
    new = c[c["status"] == "new"]
    assert existing["site_id"].tolist() == ["S00"]
    assert existing["phase"].tolist() == [0]
    assert existing["order"].tolist() == [0]
    assert len(new) == 4
    assert new["phase"].value_counts().sort_index().tolist() == [2, 2]
    assert new["order"].tolist() == [1, 2, 3, 4]
    assert new["phase"].is_monotonic_increasing
    # new centres each bring someone within the standard, and carry a reason
    assert (new["pop_newly_covered"] > 0).all()
    assert all(w.startswith("Opens in year") for w in new["why"])
    # the reasons number new centres as the order column does (existing centres apart)
    for order, why in zip(new["order"], new["why"], strict=True):
        assert f"(centre {order} in opening order)" in why
    assert existing["why"].iloc[0].startswith("Already open")
    assert (new["swap_loss"] >= 0).all()


def test_kpis_consistent_with_assignments(result):
    a = result.assignments
    pop = a["population"]
    assert result.kpi("population_covered") == pytest.approx(pop[a["covered_after"]].sum())
    assert result.kpi("population_covered", "before") == pytest.approx(
        pop[a["covered_before"]].sum()
    )
    assert result.kpi("population_covered") >= result.kpi("population_covered", "before")
    assert result.kpi("centres") == 5
    # coverage never lost: covered before implies covered after
    assert not (a["covered_before"] & ~a["covered_after"]).any()
    # phase_covered agrees with the flags
    assert (a.loc[a["covered_before"], "phase_covered"] == 0).all()
    assert a.loc[~a["covered_after"], "phase_covered"].isna().all()
    # groups add up
    for table in (result.kpis_by_decile, result.kpis_by_hle_quintile, result.kpis_by_la):
        assert table["population"].sum() == pytest.approx(pop.sum())
        assert table["covered_after"].sum() == pytest.approx(result.kpi("population_covered"))
    # capacity applied (the default): served demand is the demand that is not unmet
    served = result.centres["weekly_demand_served"].sum()
    assert served == pytest.approx((a["weekly_demand"] - a["weekly_unmet"]).sum())


def test_coverage_curve_matches_plan_objective(result):
    curve = result.coverage_curve
    assert curve["n_centres"].tolist()[0] == 0
    assert curve["population_covered"].is_monotonic_increasing
    assert curve["population_covered"].iloc[0] == result.kpi("population_covered", "before")
    # the optimal plan covers at least as much need as greedy with the same count
    four = curve.loc[curve["n_centres"] == 4, "need_share"].iloc[0]
    assert result.kpi("need_weighted_coverage") >= four - 1e-9


def test_coverage_curve_by_hand():
    cost = np.array([[1.0, 99, 99], [99, 1.0, 99], [99, 1.0, 99], [99, 99, 1.0]])
    curve = coverage_curve(
        cost,
        np.array([1.0, 1.0, 1.0, 5.0]),
        np.array([10.0, 20.0, 30.0, 40.0]),
        standard_min=2,
        site_ids=np.array(["a", "b", "c"]),
    )
    assert curve["site_id"].tolist() == ["", "c", "b", "a"]
    assert curve["population_covered"].tolist() == [0.0, 40.0, 90.0, 100.0]
    assert curve["share"].iloc[-1] == pytest.approx(1.0)


def test_hand_checkable_instance():
    # three areas in a row; candidates at each end; one centre: the end with more need wins
    region = grid_region(3, n_sites=2, existing=False)
    s = Scenario().replace(
        **{
            "policy.model": "coverage",
            "travel.standard_min": 4.0,
            "phasing.years": 1,
            "phasing.new_per_year": 1,
        }
    )
    p = plan(region, s)
    assert len(p.centres) == 1
    assert p.centres["order"].tolist() == [1]
    assert p.kpi("population_covered", "before") == 0
    assert np.isnan(p.kpi("mean_minutes", "before"))


def test_deterministic_csv_bytes(region, travel, tmp_path):
    a = plan(region, FAST, travel=travel).save(tmp_path / "a")
    b = plan(region, FAST, travel=travel).save(tmp_path / "b")
    csvs = sorted(p.name for p in a.glob("*.csv"))
    assert "centres.csv" in csvs
    assert "assignments.csv" in csvs
    assert "kpis.csv" in csvs
    for name in csvs:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_travel_reuse_gives_same_plan(region, travel, result):
    fresh = plan(region, FAST)  # computes its own travel times
    pd.testing.assert_frame_equal(
        pd.DataFrame(fresh.centres.drop(columns="geometry")),
        pd.DataFrame(result.centres.drop(columns="geometry")),
    )
    walk = FAST.replace(**{"travel.mode": "walk"})
    with pytest.raises(NhcInputError, match=r"mode 'drive' but travel\.mode is 'walk'"):
        plan(region, walk, travel=travel)


def test_save_load_round_trip(result, tmp_path):
    folder = result.save(tmp_path / "plan")
    for name in ("centres", "assignments"):
        for ext in ("parquet", "csv", "geojson"):
            assert (folder / f"{name}.{ext}").is_file()
    assert (folder / "scenario.toml").is_file()
    assert (folder / "plan.json").is_file()
    back = Plan.load(folder)
    assert back.scenario == result.scenario
    assert back.region_meta == result.region_meta
    assert back.solver["status"] == result.solver["status"]
    pd.testing.assert_frame_equal(back.centres, result.centres)
    pd.testing.assert_frame_equal(back.assignments, result.assignments)
    pd.testing.assert_frame_equal(back.kpis, result.kpis)
    pd.testing.assert_frame_equal(back.kpis_by_la, result.kpis_by_la, check_dtype=False)
    gj = gpd.read_file(folder / "centres.geojson")
    assert gj.crs.to_epsg() == 4326
    assert len(gj) == len(result.centres)


def test_load_errors(tmp_path):
    from nhc_planner._errors import DataFileError

    with pytest.raises(DataFileError, match="not a plan folder"):
        Plan.load(tmp_path)


def test_keep_and_exclude(region, travel, result):
    chosen = result.centres.loc[result.centres["status"] == "new", "site_id"].tolist()
    s = FAST.replace(**{"policy.keep": ("S15",), "policy.exclude": (chosen[0],)})
    p = plan(region, s, travel=travel)
    ids = p.centres["site_id"].tolist()
    assert "S15" in ids
    assert chosen[0] not in ids
    kept = p.centres.set_index("site_id").loc["S15"]
    assert kept["phase"] == 1
    assert "Kept by policy" in kept["why"]
    assert len(p.new_centres) == 4  # the kept site uses one of the places
    with pytest.raises(ScenarioError, match=r"policy\.keep: site id\(s\) \['NOPE'\]"):
        plan(region, FAST.replace(**{"policy.keep": ("NOPE",)}), travel=travel)


def test_equity_floor(region, travel):
    ok = plan(region, FAST.replace(**{"policy.equity_floor": 0.9}), travel=travel)
    assert ok.kpi("imd12_share_covered") >= 0.9 - 1e-9
    tight = FAST.replace(
        **{
            "policy.equity_floor": 1.0,
            "need.most_deprived_deciles": 5,
            "phasing.years": 1,
            "phasing.new_per_year": 1,
        }
    )
    with pytest.raises(InfeasibleError, match="policy cannot be met"):
        plan(region, tight, travel=travel)


def test_maxmin_and_la_floor(region, travel):
    coverage_only = FAST.replace(**{"policy.objective": "maxmin", "capacity.constrain": False})
    p = plan(region, coverage_only, travel=travel)
    shares = p.kpis_by_la["share_after"]
    assert shares.min() > 0
    q = plan(region, FAST.replace(**{"policy.la_min_coverage": 0.5}), travel=travel)
    assert (q.kpis_by_la["share_after"] >= 0.5 - 1e-9).all()


def test_capacity_and_budget_modes(region, travel):
    cap = plan(region, FAST.replace(**{"capacity.constrain": True}), travel=travel)
    assert (cap.new_centres["utilisation"] <= 1 + 1e-6).all()
    budget = FAST.replace(**{"phasing.budget_per_year_gbp": 4_000_000.0})
    p = plan(region, budget, travel=travel)
    by_year = p.new_centres.groupby("phase")["capex_gbp"].sum()
    assert len(p.new_centres) >= 1
    assert (by_year <= 4_000_000.0 + 1e-6).all()


def test_budget_holds_when_catchments_want_larger_centres(region, travel):
    """Sizes chosen from catchment demand never push a year's capital over the budget."""
    tight = FAST.replace(
        **{
            "phasing.budget_per_year_gbp": 7_000_000.0,
            "capacity.hours_per_day": 1.0,  # tiny capacity: every catchment wants a large centre
            "capacity.days_per_week": 1,
            "capacity.constrain": False,
        }
    )
    p = plan(region, tight, travel=travel)
    new = p.new_centres
    assert len(new) >= 2
    assert (new.groupby("phase")["capex_gbp"].sum() <= 7_000_000.0 + 1e-6).all()
    assert (new["utilisation"] > 1).any()  # overloaded, and the reasons say so
    assert new.loc[new["utilisation"] > 1, "why"].str.contains("larger size").all()


def test_sensitivity_and_progress(region, travel):
    seen: list[tuple[str, float]] = []
    p = plan(
        region,
        FAST.replace(**{"solver.sensitivity_runs": 3}),
        travel=travel,
        progress=lambda stage, f: seen.append((stage, f)),
    )
    assert p.stability is not None
    assert set(p.stability.columns) == {"site_id", "share_chosen", "mean_phase"}
    assert p.stability["share_chosen"].between(0, 1).all()
    stages = [s for s, _ in seen]
    assert "optimising" in stages
    assert "sensitivity" in stages
    # one report per finished run: fractions rise from 0 to 1
    fractions = [f for s, f in seen if s == "sensitivity"]
    assert fractions == sorted(fractions)
    assert len(set(fractions)) > 2
    assert seen[-1] == ("done", 1.0)
    assert "Stability" in p.summary()


def test_summary_mentions_key_numbers(result):
    text = result.summary()
    assert "SYNTHETIC" in text
    assert "Year 1:" in text
    assert "Year 2:" in text
    assert "Optimal" in text


def test_gap_tolerance_is_passed_and_stated(region, travel):
    """A plan stopped at the accepted gap says so, with its proven gap."""
    p = plan(region, FAST.replace(**{"solver.gap_tolerance": 0.05}), travel=travel)
    assert p.solver["gap"] <= 0.05 + 1e-9
    if p.solver["status"] == "optimal":
        assert p.solver["message"].startswith("Optimal")
    else:
        assert p.solver["message"].startswith("Near-optimal")
        assert "gap_tolerance" in p.solver["message"]


# --------------------------------------------------------------------------- population by year


def _with_projection(region: Region, ratio: dict[str, dict[int, float]]) -> Region:
    """``region`` with SNPP growth ratios per authority and year (every band alike)."""
    areas = region.areas.copy()
    for year in (2026, 2027):
        for band in ("all", "pop_0_15", "pop_16_64", "pop_65_plus"):
            areas[f"snpp_{year}_{band}"] = areas["la_code"].map(
                {la: r[year] for la, r in ratio.items()}
            )
    return Region(areas=areas, sites=region.sites, meta=region.meta)


def test_census_basis_is_stated_and_need_terms_correlated(result):
    assert result.population_basis == (
        "Population: Census 2021 usual residents in every year of the plan."
    )
    corr = result.need_correlation
    assert corr["term"].tolist() == ["deprivation", "hle_gap", "older"]
    assert corr.loc[0, "hle_gap"] > 0.9  # the HLE estimate repeats the deprivation term


def test_projected_population_weighs_each_year(region, travel, result):
    doubled = _with_projection(
        region, {"LA1": {2026: 2.0, 2027: 2.0}, "LA2": {2026: 2.0, 2027: 2.0}}
    )
    s = FAST.replace(**{"phasing.population": "projection", "phasing.first_year": 2026})
    got = plan(doubled, s, travel=travel)
    assert got.population_basis.startswith(
        "Population: each year's own projected population, 2026-2027"
    )
    assert "+100.0% on Census 2021 usual residents by 2027" in got.population_basis
    # every weight doubled: the same plan, twice the objective
    assert got.solver["objective"] == pytest.approx(2 * result.solver["objective"], rel=1e-6)
    assert got.centres["site_id"].tolist() == result.centres["site_id"].tolist()


def test_projected_population_needs_the_projection(region, travel, tmp_path):
    s = FAST.replace(**{"phasing.population": "projection"})
    with pytest.raises(NhcInputError, match="no population projections"):
        plan(region, s, travel=travel)
    late = _with_projection(region, {"LA1": {2026: 1.0, 2027: 1.0}, "LA2": {2026: 1, 2027: 1}})
    with pytest.raises(NhcInputError, match="outside"):
        plan(late, s.replace(**{"phasing.first_year": 2030}), travel=travel)
    got = plan(late, s.replace(**{"phasing.first_year": 2026}), travel=travel)
    back = Plan.load(got.save(tmp_path / "p"))
    assert back.population_basis == got.population_basis
    pd.testing.assert_frame_equal(back.need_correlation, got.need_correlation, check_dtype=False)
