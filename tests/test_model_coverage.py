"""Tests of nhc_planner.model_coverage: capacity-true plans by default, coverage-only labelled."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nhc_planner._errors import InfeasibleError
from nhc_planner.model_coverage import CoverageModel, CoverageResult, capacitated_options
from nhc_planner.plan import Plan, compute_travel, plan, plan_inputs
from nhc_planner.plan_io import UNMET_TABLES
from nhc_planner.plan_tables import over_capacity_note
from nhc_planner.scenario import Scenario
from tests.test_plan import grid_region

#: Small and capacity-tight: 2 years, 2 new centres a year, 1 hour a day so demand exceeds
#: what the centres can serve.
TIGHT = Scenario(name="tight").replace(
    **{
        "policy.model": "coverage",
        "travel.standard_min": 5.0,
        "phasing.years": 2,
        "phasing.new_per_year": 2,
        "solver.time_limit_s": 20.0,
        "capacity.hours_per_day": 1.0,
        "capacity.days_per_week": 1,
    }
)


@pytest.fixture(scope="module")
def region():
    return grid_region()


@pytest.fixture(scope="module")
def travel(region):
    return compute_travel(region, TIGHT.travel)


@pytest.fixture(scope="module")
def capped(region, travel) -> Plan:
    return plan(region, TIGHT, travel=travel)


@pytest.fixture(scope="module")
def uncapped(region, travel) -> Plan:
    return plan(region, TIGHT.replace(**{"capacity.constrain": False}), travel=travel)


def test_capacity_is_on_by_default() -> None:
    assert Scenario().capacity.constrain is True
    assert TIGHT.policy.model == "coverage"


def test_every_centre_within_capacity(capped: Plan) -> None:
    c = capped.centres
    assert len(capped.new_centres) >= 1
    assert (c["utilisation"] <= 1.0 + 1e-9).all()
    assert (c["weekly_demand_served"] <= c["weekly_capacity"] * (1 + 1e-9)).all()
    assert capped.solver["capacity_applied"] is True
    assert capped.solver["centres_over_capacity"] == 0
    assert "Capacity applied" in capped.summary()


def test_unmet_demand_reported(capped: Plan) -> None:
    a = capped.assignments
    unmet = capped.kpi("unmet_weekly_appointments")
    demand = float(a["weekly_demand"].sum())
    # 1 hour a day, 1 day a week: the centres serve far less than the demand
    assert unmet > 0.5 * demand
    assert unmet == pytest.approx(float(a["weekly_unmet"].sum()))
    assert capped.kpi("unmet_share") == pytest.approx(unmet / demand)
    assert (a["weekly_unmet"] <= a["weekly_demand"] + 1e-9).all()
    # served + unmet = demand: what the centres serve is what is not unmet
    served = float(capped.centres["weekly_demand_served"].sum())
    assert served + unmet == pytest.approx(demand, rel=1e-6)
    t = capped.unmet
    assert t is not None
    assert t.total == pytest.approx(unmet)
    assert t.by_imd_decile["unmet"].sum() == pytest.approx(unmet)
    assert t.by_hle_quintile["unmet"].sum() == pytest.approx(unmet)
    assert set(t.by_authority["la_code"]) == {"LA1", "LA2"}
    assert "cannot be served" in capped.solver["message"]
    assert "weekly appointments unmet" in capped.summary()


def test_staff_follow_capacity(capped: Plan) -> None:
    from nhc_planner.capacity import staffing_for_capacity

    c = capped.centres
    expected = staffing_for_capacity(c["weekly_capacity"], c["weekly_demand_served"])
    np.testing.assert_allclose(c["wte_gp"].to_numpy(), expected["gp"].to_numpy())


def test_coverage_only_is_labelled(uncapped: Plan) -> None:
    c = uncapped.centres
    assert uncapped.solver["capacity_applied"] is False
    assert (c["utilisation"] > 1).any()  # capacity not applied: centres above capacity
    assert c["why"].str.startswith("Capacity not applied").all()
    assert "Capacity not applied" in uncapped.solver["message"]
    assert "Capacity NOT applied" in uncapped.summary()
    # staff for what the rooms can offer, not for the overload
    from nhc_planner.capacity import staffing_for_capacity

    expected = staffing_for_capacity(c["weekly_capacity"], c["weekly_demand_served"])
    np.testing.assert_allclose(c["wte_gp"].to_numpy(), expected["gp"].to_numpy())


def test_report_headline_flags_capacity(capped: Plan, uncapped: Plan, tmp_path) -> None:
    from nhc_planner.report import _headline, utilisation_class

    facts = {"mode": "drive", "standard": 5.0}
    on = " ".join(_headline(capped, facts))
    assert "within its capacity" in on
    assert "unmet demand" in on
    off = " ".join(_headline(uncapped, facts))
    assert "Capacity not applied" in off
    assert utilisation_class(1.2) == "util-over"
    html = capped.to_html(tmp_path / "report").read_text(encoding="utf-8")
    assert "util-full" in html or "util-ok" in html


def test_unmet_tables_round_trip(capped: Plan, tmp_path) -> None:
    folder = capped.save(tmp_path / "plan")
    for name in UNMET_TABLES:
        assert (folder / f"{name}.csv").is_file()
    back = Plan.load(folder)
    assert back.unmet is not None
    assert capped.unmet is not None
    assert back.unmet.total == pytest.approx(capped.unmet.total, rel=1e-5)
    for attr in UNMET_TABLES.values():
        left = getattr(capped.unmet, attr)
        right = getattr(back.unmet, attr)
        assert list(left.columns) == list(right.columns)
        np.testing.assert_allclose(
            left["unmet"].to_numpy(float), right["unmet"].to_numpy(float), rtol=1e-5, atol=1e-6
        )
    assert back.kpi("unmet_weekly_appointments") == pytest.approx(
        capped.kpi("unmet_weekly_appointments"), rel=1e-5
    )
    assert back.capacity_line() == capped.capacity_line()


def test_unmet_tables_absent_in_old_plans_load_as_none(tmp_path) -> None:
    from nhc_planner.plan_io import _load_unmet

    assert _load_unmet(tmp_path) is None  # a plan folder saved before the unmet tables


def test_floor_no_assignment_can_meet_is_infeasible(region, travel) -> None:
    s = TIGHT.replace(**{"policy.equity_floor": 1.0})
    with pytest.raises(InfeasibleError, match="capacity") as info:
        plan(region, s, travel=travel)
    assert "IMD decile" in str(info.value)


def _worst_served_share(p: Plan) -> float:
    """The worst local authority's population-weighted served share, from the plan's tables."""
    a = p.assignments
    served = 1.0 - a["weekly_unmet"] / a["weekly_demand"].where(a["weekly_demand"] > 0)
    frame = pd.DataFrame(
        {"la": a["la_code"], "pop": a["population"], "served": served.fillna(0.0) * a["population"]}
    )
    by_la = frame.groupby("la")[["pop", "served"]].sum()
    return float((by_la["served"] / by_la["pop"]).min())


def test_maxmin_with_capacity_applied(region, travel) -> None:
    """Max-min was refused with capacity applied; it now plans within capacity and says
    what it proved about the worst-served authority."""
    s = TIGHT.replace(**{"policy.objective": "maxmin"})
    p = plan(region, s, travel=travel)
    assert len(p.new_centres) >= 1
    assert p.solver["capacity_applied"] is True
    assert p.solver["centres_over_capacity"] == 0
    assert (p.centres["utilisation"] <= 1.0 + 1e-9).all()
    share, bound = p.solver["min_group_share"], p.solver["min_group_share_bound"]
    assert 0 < share <= bound + 1e-9
    assert share == pytest.approx(_worst_served_share(p), abs=1e-6)
    words = p.solver["message"]
    assert words.startswith("Max-min: the worst-served local authority")
    assert f"{share:.1%}" in words or f"{share:.2%}" in words
    assert "(proven)" in words
    assert "With every local authority held at that share or more" in words
    # the weighted plan leaves the worst authority no better served
    weighted = plan(region, TIGHT, travel=travel)
    assert weighted.solver["min_group_share"] is None
    assert _worst_served_share(weighted) <= share + 1e-6


def test_maxmin_options_and_la_floor(region, travel) -> None:
    s = TIGHT.replace(**{"policy.objective": "maxmin", "policy.la_min_coverage": 0.1})
    inputs = plan_inputs(region, s, travel=travel)
    built = CoverageModel().build(inputs)
    opts = capacitated_options(built.ctx, s)
    assert opts["objective"] == "maxmin"
    assert opts["groups"].tolist() == built.ctx.la.tolist()
    assert opts["group_weights"] is built.ctx.population
    assert [f.name for f in opts["floors"]] == ["local authority LA1", "local authority LA2"]
    assert "objective" not in capacitated_options(built.ctx, TIGHT)
    # the per-authority minimum still applies: one no plan can meet is refused
    with pytest.raises(InfeasibleError, match="local authority"):
        plan(region, s.replace(**{"policy.la_min_coverage": 0.9}), travel=travel)


def test_demo_maxmin_with_capacity_is_deterministic() -> None:
    from nhc_planner.demo import demo_region

    region = demo_region()
    s = Scenario().replace(**{"policy.model": "coverage", "policy.objective": "maxmin"})
    travel = compute_travel(region, s.travel)
    one = plan(region, s, travel=travel)
    two = plan(region, s, travel=travel)
    assert len(one.new_centres) == 10
    assert one.solver["centres_over_capacity"] == 0
    assert (one.centres["utilisation"] <= 1.0 + 1e-9).all()
    share, bound = one.solver["min_group_share"], one.solver["min_group_share_bound"]
    assert share == pytest.approx(_worst_served_share(one), abs=1e-6)
    assert f"{share:.1%}" in one.solver["message"]
    # the worst authority is named as people know it, with its code
    a = one.assignments
    served = (a["weekly_demand"] - a["weekly_unmet"]).clip(lower=0) / a["weekly_demand"]
    by_la = (served.fillna(0) * a["population"]).groupby(a["la_code"]).sum() / a.groupby("la_code")[
        "population"
    ].sum()
    worst = str(by_la.idxmin())
    name = str(a.loc[a["la_code"] == worst, "la_name"].iloc[0])
    assert f"local authority, {name} ({worst}), has" in one.solver["message"]
    if bound > share + 1e-6:
        assert f"no plan can raise it above {bound:.1%} (proven)" in one.solver["message"]
    cols = ["site_id", "phase", "size", "weekly_demand_served"]
    pd.testing.assert_frame_equal(one.centres[cols], two.centres[cols])
    assert one.solver["min_group_share"] == two.solver["min_group_share"]


def test_options_fix_existing_sites_with_their_largest_size(region, travel) -> None:
    inputs = plan_inputs(region, TIGHT, travel=travel)
    model = CoverageModel()
    built = model.build(inputs)
    assert built.capacity_options is not None
    opts = capacitated_options(built.ctx, TIGHT)
    assert opts["fixed"].tolist() == [0]
    assert opts["fixed_capacity"][0] == pytest.approx(max(built.ctx.capacities))
    assert opts["mip_nodes"] > 0  # a small instance: the MIP stages run
    result = model.solve(built)
    assert isinstance(result, CoverageResult)
    assert result.capacity_applied
    assert (result.load <= np.nan_to_num(result.capacity, nan=0.0) + 1e-6).all()


def test_over_capacity_note_words() -> None:
    load = np.array([300.0, 50.0, 0.0])
    cap = np.array([100.0, 100.0, np.nan])
    text = over_capacity_note(1, load, cap)
    assert "1 centre(s) are planned above their capacity (up to 300%" in text
    assert "200 weekly appointments" in text
    assert "no centre is above" in over_capacity_note(0, load, cap)


def test_demo_default_scenario_within_capacity() -> None:
    from nhc_planner.demo import demo_region

    p = plan(demo_region(), Scenario().replace(**{"policy.model": "coverage"}))
    assert (p.centres["utilisation"] <= 1.0 + 1e-9).all()
    assert p.unmet is not None
    assert np.isfinite(p.kpi("unmet_weekly_appointments"))
    assert p.solver["status"] in ("optimal", "feasible")
    assert "%" in p.solver["message"] or p.solver["status"] == "optimal"


@pytest.mark.slow
def test_leeds_default_scenario_within_capacity() -> None:
    from nhc_planner.build import build_region_report
    from tests.builders import leeds_inputs

    inputs = leeds_inputs()
    region, _ = build_region_report(inputs, la_codes=["E08000035"])
    p = plan(region, Scenario().replace(**{"policy.model": "coverage"}))
    centres = pd.DataFrame(p.centres.drop(columns="geometry"))
    assert len(centres) >= 1
    assert (centres["utilisation"] <= 1.0 + 1e-9).all()
    assert p.unmet is not None
    assert p.unmet.total >= 0
    assert "Capacity applied" in p.summary()


# ------------------------------------------------------------- plans independent of load


def _spin(stop) -> None:  # a CPU-bound neighbour (module level: picklable for spawn)
    x = 0
    while not stop.is_set():
        x = (x * 31 + 7) % 1_000_003


def _plan_csvs(region, travel, scenario: Scenario, folder) -> dict[str, bytes]:
    plan(region, scenario, travel=travel).save(folder)
    return {f.name: f.read_bytes() for f in sorted(folder.glob("*.csv"))}


def _under_load(fn):
    """Run ``fn()`` while two processes spin on the machine's cores."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    stop = ctx.Event()
    procs = [ctx.Process(target=_spin, args=(stop,), daemon=True) for _ in range(2)]
    for proc in procs:
        proc.start()
    try:
        return fn()
    finally:
        stop.set()
        for proc in procs:
            proc.join(10)


@pytest.mark.parametrize(
    "settings",
    [
        {"policy.model": "coverage", "capacity.constrain": False},
        {"policy.model": "coverage", "capacity.constrain": False, "policy.objective": "maxmin"},
        {},
        # capacity-true (the coverage model's default): LP rounds and MIPs on work limits
        {"policy.model": "coverage"},
        {"policy.model": "coverage", "policy.objective": "maxmin"},
    ],
    ids=["coverage", "maxmin", "default", "capacity-true", "maxmin-capacity-true"],
)
def test_plan_csvs_do_not_depend_on_machine_load(settings, tmp_path) -> None:
    from nhc_planner.demo import demo_region

    region = demo_region()
    # the time limit is only a safety stop: a generous one never fires, so only the
    # deterministic work limits shape the plan
    s = Scenario().replace(
        **{"phasing.years": 2, "phasing.new_per_year": 2, "solver.time_limit_s": 600, **settings}
    )
    travel = compute_travel(region, s.travel)
    quiet = _plan_csvs(region, travel, s, tmp_path / "quiet")
    busy = _under_load(lambda: _plan_csvs(region, travel, s, tmp_path / "busy"))
    assert quiet.keys() == busy.keys()
    assert quiet
    for name in quiet:
        assert quiet[name] == busy[name], name


@pytest.mark.slow
def test_leeds_coverage_plan_does_not_depend_on_machine_load(tmp_path) -> None:
    from nhc_planner.build import build_region_report
    from tests.builders import leeds_inputs

    region, _ = build_region_report(leeds_inputs(), la_codes=["E08000035"])
    s = Scenario().replace(
        **{
            "policy.model": "coverage",
            "capacity.constrain": False,
            "phasing.years": 2,
            "phasing.new_per_year": 2,
            "solver.time_limit_s": 600,
        }
    )
    travel = compute_travel(region, s.travel)
    quiet = _plan_csvs(region, travel, s, tmp_path / "quiet")
    busy = _under_load(lambda: _plan_csvs(region, travel, s, tmp_path / "busy"))
    assert quiet == busy
