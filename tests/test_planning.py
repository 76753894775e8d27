"""Tests of nhc_planner.planning: the planning-model seam, with a toy model added in one place.

The toy model ("open the k allowed sites nearest the population-weighted
centre of the region, all in year 1") is registered by the ``toy`` fixture
only, chosen by ``policy.model`` and run through ``plan()``, ``Plan.save``/
``Plan.load``, the HTML report and the app; it is unregistered afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from nhc_planner._errors import ScenarioError, ValueRangeError
from nhc_planner.model_coverage import CoverageModel
from nhc_planner.plan import Plan, plan
from nhc_planner.plan_tables import PlanContext, assignments_table, centres_table, nearest_open
from nhc_planner.planning import (
    ModelResult,
    PlanInputs,
    PlanningModel,
    PlanTables,
    SolveReport,
    SupportsStability,
    get_model,
    model_labels,
    model_names,
    register_model,
    unregister_model,
)
from nhc_planner.scenario import Scenario, describe
from tests.test_plan import FAST, grid_region

TOY = "toy_nearest"


@dataclass(frozen=True, eq=False)
class _ToyArrays:
    ctx: PlanContext
    cost: np.ndarray
    chosen: np.ndarray  # indices of the sites to open, nearest first


class _NearestToCentre:
    """Toy planning model: the ``k`` allowed sites nearest the population-weighted centre."""

    name = TOY
    label = "Toy: the sites nearest the middle of the population"

    def build(self, inputs: PlanInputs) -> _ToyArrays:
        w = inputs.population
        cx = float(np.average(inputs.areas["demand_x"], weights=w))
        cy = float(np.average(inputs.areas["demand_y"], weights=w))
        xy = inputs.sites.geometry
        dist = np.hypot(xy.x.to_numpy() - cx, xy.y.to_numpy() - cy)
        k = inputs.scenario.phasing.total_centres or 1
        candidates = np.flatnonzero(inputs.allowed)
        order = candidates[np.argsort(dist[candidates], kind="stable")]
        return _ToyArrays(PlanContext.from_inputs(inputs), inputs.cost, order[:k])

    def solve(self, built: _ToyArrays) -> ModelResult:
        open_period = np.where(built.ctx.open_now, 0, -1).astype(np.int64)
        open_period[built.chosen] = 1
        assignment, _ = nearest_open(built.cost, open_period >= 0)
        report = SolveReport("optimal", 0.0, 0.0, 0.0, 0.0, "Toy: the nearest sites, no solver.")
        return ModelResult(open_period, assignment, None, report)

    def tables(self, inputs: PlanInputs, built: _ToyArrays, result: ModelResult) -> PlanTables:
        return PlanTables(
            centres=centres_table(inputs, built.ctx, result),
            assignments=assignments_table(inputs, built.ctx, result.assignment, result.open_period),
        )


@pytest.fixture
def toy() -> Iterator[str]:
    """The toy model, registered for one test."""
    register_model(_NearestToCentre)
    yield TOY
    unregister_model(TOY)


def _toy_scenario(k: int = 2) -> Scenario:
    return FAST.replace(**{"policy.model": TOY, "phasing.years": 1, "phasing.new_per_year": k})


# --------------------------------------------------------------------------- registry


def test_built_in_coverage_model_is_registered_and_default() -> None:
    # issue 11 made "neighbourhoods" the default; the coverage model stays available by name
    assert "coverage" in model_names()
    assert Scenario().policy.model == "neighbourhoods"
    model = get_model("coverage")
    assert isinstance(model, CoverageModel)
    assert isinstance(model, PlanningModel)
    assert isinstance(model, SupportsStability)
    assert model_labels()["coverage"].startswith("Phased coverage")


def test_unknown_model_is_a_scenario_error_naming_the_choices() -> None:
    with pytest.raises(ScenarioError, match=r"policy.model: .*'coverage'.*found 'nope'"):
        Scenario().replace(**{"policy.model": "nope"})
    with pytest.raises(ValueRangeError, match="unknown planning model 'nope'"):
        get_model("nope")


def test_registering_a_second_class_under_a_taken_name_fails() -> None:
    class Other:
        name = "coverage"
        label = "x"

    with pytest.raises(ValueRangeError, match="already registered"):
        register_model(Other)
    assert isinstance(get_model("coverage"), CoverageModel)


def test_toy_model_is_chosen_by_name_and_unregistered_after(toy: str) -> None:
    assert toy in model_names()
    assert isinstance(get_model(toy), PlanningModel)
    assert not isinstance(get_model(toy), SupportsStability)
    s = _toy_scenario()
    assert Scenario.from_toml_string(s.to_toml_string()).policy.model == toy
    rows = {r["key"]: r for r in describe()}
    assert toy in rows["policy.model"]["allowed"]
    assert rows["policy.model"]["default"] == "neighbourhoods"  # issue 11


def test_toy_is_gone_after_its_fixture() -> None:
    assert TOY not in model_names()


# --------------------------------------------------------------------------- the pipeline


def test_toy_model_runs_through_plan_save_load_and_report(toy: str, tmp_path: Path) -> None:
    region = grid_region()
    s = _toy_scenario(2).replace(**{"solver.sensitivity_runs": 3})
    p = plan(region, s)
    # population grows with the area index (6 per row), so its centre lies a little
    # above and right of (6000, 6000): nearest are S10 (7100, 7100) and S09 (4100, 7100)
    assert sorted(p.new_centres["site_id"]) == ["S09", "S10"]
    assert p.new_centres["phase"].tolist() == [1, 1]
    assert p.solver["status"] == "optimal"
    assert p.solver["message"] == "Toy: the nearest sites, no solver."
    assert p.stability is None  # the toy model has no sensitivity run
    assert p.kpi("centres") == 3
    assert p.kpi("share_covered") >= p.kpi("share_covered", "before")
    # every area is served by its nearest open centre, sizes follow the catchments
    a = p.assignments
    served = a.loc[a["site_id"] != "", "site_id"]
    assert set(served) <= set(p.centres["site_id"])
    assert (p.centres["size"] != "").all()
    assert np.isclose(
        p.centres["weekly_demand_served"].sum(), a.loc[a["site_id"] != "", "weekly_demand"].sum()
    )
    folder = p.save(tmp_path / "toy-plan")
    back = Plan.load(folder)
    assert back.scenario.policy.model == toy
    assert back.centres["site_id"].tolist() == p.centres["site_id"].tolist()
    index = p.to_html(tmp_path / "report")
    assert index.is_file()
    assert "S10" in index.read_text(encoding="utf-8")


def test_toy_and_coverage_models_share_the_table_columns(toy: str) -> None:
    region = grid_region()
    toy_plan = plan(region, _toy_scenario(2))
    cov_plan = plan(region, _toy_scenario(2).replace(**{"policy.model": "coverage"}))
    assert list(toy_plan.centres.columns) == list(cov_plan.centres.columns)
    assert list(toy_plan.assignments.columns) == list(cov_plan.assignments.columns)
    assert list(toy_plan.kpis["metric"]) == list(cov_plan.kpis["metric"])
    # the coverage model covers at least as much need as the toy with as many centres
    assert cov_plan.kpi("need_weighted_coverage") >= toy_plan.kpi("need_weighted_coverage")


# --------------------------------------------------------------------------- the app


def test_app_lists_the_toy_model_and_plans_with_it(toy: str) -> None:
    from tests.test_app import _assert_clean, _fresh, _page

    at = _page(_fresh(), "policy")
    _assert_clean(at)
    box = at.selectbox(key="policy.model")
    assert any(o.startswith("Phased coverage") for o in box.options), box.options
    assert any(o.startswith("Toy: the sites nearest") for o in box.options), box.options
    box.set_value(toy)
    at.run()
    _assert_clean(at)
    assert at.session_state["scenario"].policy.model == toy
    at = _page(at, "plan")
    _assert_clean(at)
    at = _page(at, "judge")
    _assert_clean(at)
    shown = [e.value for kind in ("markdown", "caption", "info", "success") for e in at.get(kind)]
    assert any("Toy: the nearest sites" in str(v) for v in shown), shown
