"""Tests of nhc_planner.feasibility: scenario limits refused before solving, or noticed."""

from __future__ import annotations

import pytest

from nhc_planner._errors import ScenarioError
from nhc_planner.feasibility import check_scenario_fits, shortfall_notice, usable_candidates
from nhc_planner.plan import plan
from nhc_planner.scenario import Scenario
from tests.test_plan import FAST, grid_region


@pytest.fixture(scope="module")
def small():
    """12 candidate sites (one of the 13 is already open)."""
    return grid_region(4, n_sites=13)


def test_usable_candidates(small):
    assert usable_candidates(small, FAST) == (12, 0)
    s = FAST.replace(**{"policy.exclude": ("S01", "S02"), "policy.keep": ("S03",)})
    assert usable_candidates(small.sites, s) == (10, 1)


def test_total_new_above_the_candidates_is_refused(small):
    s = FAST.replace(**{"phasing.years": 5, "phasing.new_per_year": 10, "phasing.total_new": 50})
    with pytest.raises(ScenarioError, match=r"phasing\.total_new: 50 new centres.*only 12 site"):
        check_scenario_fits(small, s)
    with pytest.raises(ScenarioError, match=r"phasing\.total_new"):
        plan(small, s)  # before any travel time is computed or model solved


def test_exclusions_count(small):
    s = FAST.replace(
        **{"phasing.new_per_year": 6, "phasing.total_new": 11, "policy.exclude": ("S01", "S02")}
    )
    with pytest.raises(ScenarioError, match=r"11 new centres asked for, but only 10"):
        check_scenario_fits(small, s)


def test_keep_above_year_one_is_refused(small):
    s = FAST.replace(
        **{"phasing.years": 3, "phasing.new_per_year": 1, "policy.keep": ("S03", "S04", "S05")}
    )
    with pytest.raises(
        ScenarioError, match=r"policy\.keep: 3 kept site\(s\) must open in year 1.*1 place"
    ):
        plan(small, s)
    ok = s.replace(**{"phasing.new_per_year": 3})
    assert check_scenario_fits(small, ok) == ()


def test_derived_total_above_the_candidates_is_a_notice(small):
    s = FAST.replace(**{"phasing.years": 5, "phasing.new_per_year": 4})
    (notice,) = check_scenario_fits(small, s)
    assert "asks for 20 new centres" in notice
    assert "at most 12" in notice
    p = plan(small, s)
    assert notice in p.solver["notices"]
    assert notice in p.solver["message"]
    assert notice in p.summary()
    assert int((p.centres["status"] == "new").sum()) <= 12


def test_shortfall_is_a_notice(small):
    """A plan that opens fewer centres than asked says so."""
    s = FAST.replace(**{"phasing.years": 1, "phasing.new_per_year": 12})
    p = plan(small, s)
    n_new = int((p.centres["status"] == "new").sum())
    if n_new < 12:
        assert any(f"opens {n_new} new centre(s) of the 12" in n for n in p.solver["notices"])
    else:  # pragma: no cover - every candidate helps on this grid
        assert p.solver["notices"] == []


def test_fits_without_notice(small):
    assert check_scenario_fits(small, FAST) == ()
    p = plan(small, FAST)
    assert p.solver["notices"] == []


def test_shortfall_notice_wording():
    s = Scenario().replace(**{"phasing.years": 2, "phasing.new_per_year": 3})
    assert shortfall_notice(s, 6, proven=True) is None
    assert "not proven" in (shortfall_notice(s, 4, proven=False) or "")
    budget = Scenario().replace(**{"phasing.budget_per_year_gbp": 1e7})
    assert shortfall_notice(budget, 0, proven=True) is None


def test_budget_scenarios_are_not_checked_for_counts(small):
    s = FAST.replace(**{"phasing.budget_per_year_gbp": 1e9})
    assert check_scenario_fits(small, s) == ()
