"""Tests of the phased (multi-period) coverage model against brute-force enumeration."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from nhc_planner._errors import ValueRangeError
from nhc_planner.capacity import size_template
from nhc_planner.optimize.phased import (
    CoverageFloor,
    SizeOption,
    discount_weights,
    phased_coverage,
)
from tests.builders import site_roles

INF = np.inf
TWO_SIZES = [SizeOption("small", 8.0, 1.0), SizeOption("large", 20.0, 2.0)]
SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)


# --------------------------------------------------------------------------- brute force


def _served(cover, open_sites, cap, d, w):
    """Best weighted served share per point with the given open sites and capacities (LP)."""
    n = cover.shape[0]
    pairs = [(i, j) for i in range(n) for j in open_sites if cover[i, j]]
    if not pairs:
        return np.zeros(n)
    if all(not np.isfinite(cap[j]) for j in open_sites):
        share = np.zeros(n)
        for i, _ in pairs:
            share[i] = 1.0
        return share
    nv = len(pairs)
    a = np.zeros((n + len(open_sites), nv))
    b = np.concatenate([np.ones(n), [cap[j] if np.isfinite(cap[j]) else 1e9 for j in open_sites]])
    pos = {j: k for k, j in enumerate(open_sites)}
    for v, (i, j) in enumerate(pairs):
        a[i, v] = 1.0
        a[n + pos[j], v] = d[i]
    res = linprog(
        -np.array([w[i] for i, _ in pairs]), A_ub=a, b_ub=b, bounds=(0, 1), method="highs"
    )
    assert res.status == 0
    share = np.zeros(n)
    for v, (i, _) in enumerate(pairs):
        share[i] += res.x[v]
    return np.clip(share, 0, 1)


def brute_force(
    cost,
    w,
    max_cost,
    *,
    periods,
    new_per_period=None,
    budget_per_period=None,
    sizes=None,
    demand=None,
    fixed=(),
    excluded=(),
    fixed_capacity=INF,
    floors=(),
    period_weights=None,
    carry_over=False,
):
    """Best objective over every (opening period, size) choice per site; None if infeasible.

    ``w`` is one weight per point, or one row per period (period t weighs its coverage with
    row t; floors use the final row).
    """
    cost = np.asarray(cost, float)
    w = np.asarray(w, float)
    wt = np.tile(w, (periods, 1)) if w.ndim == 1 else w
    w = wt[-1]
    n, m = cost.shape
    cover = cost <= max_cost
    pw = discount_weights(periods) if period_weights is None else np.asarray(period_weights)
    sizes = sizes or [SizeOption("standard")]
    cand = [j for j in range(m) if j not in fixed and j not in excluded]
    choices = [(-1, -1)] + [(t, s) for t in range(1, periods + 1) for s in range(len(sizes))]
    d = np.zeros(n) if demand is None else np.asarray(demand, float)
    best = None
    for combo in itertools.product(choices, repeat=len(cand)):
        counts = np.zeros(periods)
        spend = np.zeros(periods)
        for t, s in combo:
            if t > 0:
                counts[t - 1] += 1
                spend[t - 1] += sizes[s].capex_gbp
        lim_ok = True
        for lim, used in ((new_per_period, counts), (budget_per_period, spend)):
            if lim is None:
                continue
            lim = np.broadcast_to(np.asarray(lim, float), (periods,))
            if carry_over:
                lim_ok &= bool(np.all(np.cumsum(used) <= np.cumsum(lim) + 1e-9))
            else:
                lim_ok &= bool(np.all(used <= lim + 1e-9))
        if not lim_ok:
            continue
        shares = []
        for t in range(1, periods + 1):
            open_sites = list(fixed) + [
                j for j, (tt, _) in zip(cand, combo, strict=True) if 0 < tt <= t
            ]
            cap = np.full(m, INF)
            for j in fixed:
                cap[j] = fixed_capacity
            for j, (tt, s) in zip(cand, combo, strict=True):
                if tt > 0:
                    cap[j] = sizes[s].capacity
            if demand is None:
                share = (
                    cover[:, open_sites].any(axis=1).astype(float) if open_sites else np.zeros(n)
                )
            else:
                share = _served(cover, open_sites, cap, d, wt[t - 1])
            shares.append(share)
        ok = True
        for f in floors:
            fw = np.where(f.members, w if f.weights is None else f.weights, 0.0)
            period = periods if f.period is None else f.period
            if fw.sum() > 0 and shares[period - 1] @ fw < f.share * fw.sum() - 1e-7:
                ok = False
        if not ok:
            continue
        value = float(sum(pw[t] * (shares[t] @ wt[t]) for t in range(periods)))
        if best is None or value > best + 1e-9:
            best = value
    return best


def solve_and_brute_force(cost, w, max_cost, **options):
    """The model's solution and the brute-force optimum of the same instance."""
    return (
        phased_coverage(cost, w, max_cost, **options),
        brute_force(cost, w, max_cost, **options),
    )


@st.composite
def instances(draw, max_demand=6, max_sites=4):
    n = draw(st.integers(1, max_demand))
    m = draw(st.integers(1, max_sites))
    values = st.one_of(st.integers(0, 30).map(float), st.just(INF))
    cost = np.array(draw(st.lists(values, min_size=n * m, max_size=n * m))).reshape(n, m)
    w = np.array(draw(st.lists(st.integers(0, 10), min_size=n, max_size=n)), float)
    periods = draw(st.integers(1, 3))
    k = draw(st.lists(st.integers(0, 2), min_size=periods, max_size=periods))
    fixed, excluded = draw(site_roles(m))
    return cost, w, periods, k, fixed, excluded


# --------------------------------------------------------------------------- hand-checked


def test_docstring_instance_orders_by_gain():
    cost = np.array([[5.0, 30.0], [30.0, 5.0], [30.0, 8.0]])
    sol = phased_coverage(cost, [1.0, 1.0, 1.0], 10, periods=2, new_per_period=1)
    assert sol.status == "optimal"
    assert sol.open_period.tolist() == [2, 1]
    assert sol.open.tolist() == [0, 1]
    assert sol.assignment.tolist() == [0, 1, 1]
    assert sol.covered_period.tolist() == [2, 1, 1]
    assert sol.objective == pytest.approx(2.0 + 3.0 / 1.035)
    assert sol.gap == 0.0


def test_fixed_sites_open_in_period_zero_and_excluded_never():
    cost = np.array([[5.0, 5.0, 30.0], [30.0, 30.0, 5.0]])
    sol = phased_coverage(cost, [1, 1], 10, periods=1, new_per_period=1, fixed=[0], excluded=[2])
    assert sol.open_period.tolist() == [0, -1, -1]
    assert sol.size.tolist() == ["existing", "", ""]
    assert sol.coverage_by_period.tolist() == [1.0, 1.0]


def test_sizes_capacity_and_budget_choose_size():
    # one site reaching 3 points of 10 appointments each; small serves 10, large 30.
    cost = np.array([[1.0], [1.0], [1.0]])
    sizes = [SizeOption("small", 10, 1.0), SizeOption("large", 30, 3.0)]
    kw = {"periods": 1, "sizes": sizes, "demand": [10, 10, 10]}
    cheap = phased_coverage(cost, [1, 1, 1], 5, budget_per_period=2.0, **kw)
    rich = phased_coverage(cost, [1, 1, 1], 5, budget_per_period=3.0, **kw)
    assert cheap.size.tolist() == ["small"]
    assert cheap.objective == pytest.approx(1.0)
    assert rich.size.tolist() == ["large"]
    assert rich.objective == pytest.approx(3.0)
    assert rich.load[0] == pytest.approx(30.0)
    assert rich.capex_by_period.tolist() == [3.0]


def test_capacity_limits_coverage_and_shares_demand():
    # two points of demand 10 each, one site of capacity 15: 1.5 points served.
    cost = np.array([[1.0, 50.0], [1.0, 1.0]])
    sol = phased_coverage(
        cost,
        [2.0, 1.0],
        5,
        periods=1,
        new_per_period=1,
        demand=[10, 10],
        capacity=15.0,
        excluded=[1],
    )
    assert sol.objective == pytest.approx(2.0 + 0.5)
    assert sol.fractions is not None
    assert sol.fractions[:, 0].tolist() == pytest.approx([1.0, 0.5])
    assert sol.load[0] == pytest.approx(15.0)


def test_templates_accepted_as_sizes():
    cost = np.array([[1.0]])
    sol = phased_coverage(
        cost,
        [1.0],
        5,
        periods=1,
        sizes=[size_template("small", 6)],
        budget_per_period=2e6,
        demand=[100.0],
    )
    assert sol.size.tolist() == ["small"]
    assert sol.capacity[0] == pytest.approx(1296.0)


def test_maxmin_protects_the_worst_group():
    # group A: 3 heavy points near site 0; group B: 1 light point near site 1.
    cost = np.array([[1.0, 50], [1.0, 50], [1.0, 50], [50, 1.0]])
    w = np.array([5.0, 5.0, 5.0, 1.0])
    groups = np.array(["A", "A", "A", "B"])
    weighted = phased_coverage(cost, w, 5, periods=1, new_per_period=1, groups=groups)
    maxmin = phased_coverage(
        cost, w, 5, periods=2, new_per_period=1, groups=groups, objective="maxmin"
    )
    assert weighted.open_period.tolist() == [1, -1]
    assert maxmin.min_group_share == pytest.approx(1.0)
    # lexicographic: both open, and the heavier group A comes first
    assert maxmin.open_period.tolist() == [1, 2]
    table = maxmin.group_coverage
    assert table["share_2"].tolist() == pytest.approx([1.0, 1.0])


def test_equity_floor_changes_choice_and_is_met():
    cost = np.array([[1.0, 50], [1.0, 50], [50, 1.0]])
    w = np.array([5.0, 5.0, 1.0])
    deprived = np.array([False, False, True])
    floor = CoverageFloor(deprived, 0.8, name="IMD decile 1")
    sol = phased_coverage(cost, w, 5, periods=1, new_per_period=1, floors=[floor])
    assert sol.open_period.tolist() == [-1, 1]
    row = sol.floors.iloc[0]
    assert row["achieved"] >= row["required"]


def test_infeasible_floor_explained_with_shortfall():
    # the deprived group splits between two sites; one centre can reach at most half.
    cost = np.array([[1.0, 50], [50, 1.0], [1.0, 50]])
    w = np.array([1.0, 1.0, 3.0])
    floor = CoverageFloor(np.array([True, True, False]), 0.8, name="most deprived")
    sol = phased_coverage(cost, w, 5, periods=1, new_per_period=1, floors=[floor])
    assert sol.status == "infeasible"
    text = sol.explanation
    assert "most deprived" in text
    assert "at most 50.0%" in text
    assert "shortfall of 30.0 percentage points (0.6 weight)" in text


def test_unreachable_floor_explained_without_solving():
    cost = np.array([[1.0], [INF], [INF]])
    floor = CoverageFloor(np.array([True, True, True]), 0.5, name="rural")
    sol = phased_coverage(cost, [1, 1, 1], 5, periods=2, new_per_period=3, floors=[floor])
    assert sol.status == "infeasible"
    assert "only 33.3%" in sol.explanation
    assert "shortfall of 16.7 percentage points (0.5 weight)" in sol.explanation


def test_jointly_infeasible_floors_say_so():
    cost = np.array([[1.0, 50], [50, 1.0]])
    floors = [
        CoverageFloor(np.array([True, False]), 1.0, name="north"),
        CoverageFloor(np.array([False, True]), 1.0, name="south"),
    ]
    sol = phased_coverage(cost, [1, 1], 5, periods=1, new_per_period=1, floors=floors)
    assert sol.status == "infeasible"
    assert "on its own but not all together" in sol.explanation


def test_group_floor_per_local_authority():
    cost = np.array([[1.0, 50, 50], [50, 1.0, 50], [50, 50, 1.0], [1.0, 50, 50]])
    groups = np.array(["LA1", "LA2", "LA2", "LA1"])
    sol = phased_coverage(
        cost, [1, 1, 1, 1], 5, periods=1, new_per_period=2, groups=groups, group_floor=0.5
    )
    table = sol.group_coverage
    assert (table["share_1"] >= 0.5 - 1e-9).all()
    bad = phased_coverage(
        cost, [1, 1, 1, 1], 5, periods=1, new_per_period=1, groups=groups, group_floor=0.5
    )
    assert bad.status == "infeasible"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"periods": 0, "new_per_period": 1}, "periods"),
        ({"periods": 2}, "new_per_period or budget_per_period"),
        ({"periods": 2, "new_per_period": [1, 2, 3]}, "one per period"),
        ({"periods": 2, "new_per_period": 1.5}, "whole numbers"),
        ({"periods": 2, "budget_per_period": 10.0}, "capital costs"),
        ({"periods": 2, "new_per_period": 1, "objective": "maxmin"}, "needs groups"),
        ({"periods": 2, "new_per_period": 1, "group_floor": 0.5}, "without groups"),
        ({"periods": 2, "new_per_period": 1, "fixed": [0], "excluded": [0]}, "both fixed"),
    ],
)
def test_invalid_inputs_raise(kwargs, match):
    with pytest.raises(ValueRangeError, match=match):
        phased_coverage(np.array([[1.0, 2.0]]), [1.0], 5, **kwargs)


# --------------------------------------------------------------------------- properties


@SETTINGS
@given(instances(), st.sampled_from([5.0, 10.0, 20.0]), st.booleans())
def test_objective_equals_brute_force(inst, max_cost, carry_over):
    cost, w, periods, k, fixed, excluded = inst
    sol, best = solve_and_brute_force(
        cost,
        w,
        max_cost,
        periods=periods,
        new_per_period=k,
        fixed=fixed,
        excluded=excluded,
        carry_over=carry_over,
    )
    assert sol.status == "optimal"
    assert sol.objective == pytest.approx(best, rel=1e-6, abs=1e-6)
    op = sol.open_period
    assert (op[fixed] == 0).all()
    assert (op[excluded] == -1).all()
    opened = sol.opened_by_period
    if carry_over:
        assert np.all(np.cumsum(opened) <= np.cumsum(k))
    else:
        assert np.all(opened <= np.asarray(k))
    cov = sol.coverage_by_period
    assert np.all(np.diff(cov) >= -1e-9)  # centres stay open: coverage never falls


@SETTINGS
@given(instances(max_sites=3), st.data())
def test_budget_and_sizes_match_brute_force(inst, data):
    cost, w, periods, _, fixed, excluded = inst
    sizes = [SizeOption("small", INF, 2.0), SizeOption("large", INF, 5.0)]
    budget = data.draw(st.lists(st.integers(0, 8).map(float), min_size=periods, max_size=periods))
    sol, best = solve_and_brute_force(
        cost,
        w,
        10,
        periods=periods,
        budget_per_period=budget,
        sizes=sizes,
        fixed=fixed,
        excluded=excluded,
    )
    assert sol.objective == pytest.approx(best, rel=1e-6, abs=1e-6)
    assert np.all(sol.capex_by_period <= np.asarray(budget) + 1e-9)


@settings(max_examples=15, deadline=None, derandomize=True)
@given(instances(max_demand=4, max_sites=3), st.data())
def test_capacitated_matches_brute_force_and_respects_capacity(inst, data):
    cost, w, periods, k, fixed, excluded = inst
    n = cost.shape[0]
    demand = np.array(data.draw(st.lists(st.integers(0, 10), min_size=n, max_size=n)), float)
    sizes = TWO_SIZES
    sol, best = solve_and_brute_force(
        cost,
        w,
        10,
        periods=periods,
        new_per_period=k,
        sizes=sizes,
        demand=demand,
        fixed=fixed,
        excluded=excluded,
        fixed_capacity=12.0,
    )
    assert sol.objective == pytest.approx(best, rel=1e-5, abs=1e-5)
    load = sol.load
    cap = sol.capacity
    is_open = sol.open_period >= 0
    assert np.all(load[is_open] <= cap[is_open] + 1e-6)
    assert np.all(load[~is_open] <= 1e-9)
    assert np.all(sol.point_coverage <= 1 + 1e-9)


@SETTINGS
@given(instances(), st.data())
def test_floors_met_when_feasible_else_infeasible(inst, data):
    cost, w, periods, k, fixed, excluded = inst
    n = cost.shape[0]
    members = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    share = data.draw(st.sampled_from([0.3, 0.6, 1.0]))
    floor = CoverageFloor(members, share, name="deprived")
    sol, best = solve_and_brute_force(
        cost,
        w,
        10,
        periods=periods,
        new_per_period=k,
        fixed=fixed,
        excluded=excluded,
        floors=[floor],
    )
    if best is None:
        assert sol.status == "infeasible"
        assert "deprived" in sol.explanation or "together" in sol.explanation
    else:
        assert sol.objective == pytest.approx(best, rel=1e-6, abs=1e-6)
        row = sol.floors.iloc[0]
        assert np.isnan(row["achieved"]) or row["achieved"] >= row["required"] - 1e-6


@SETTINGS
@given(instances())
def test_coverage_never_decreases_with_more_centres(inst):
    cost, w, periods, k, fixed, excluded = inst
    final = []
    for extra in range(3):
        sol = phased_coverage(
            cost,
            w,
            10,
            periods=periods,
            new_per_period=np.asarray(k) + extra,
            fixed=fixed,
            excluded=excluded,
        )
        final.append(sol.coverage_by_period[-1])
    assert np.all(np.diff(final) >= -1e-9)


def test_duplicate_rows_and_columns_do_not_change_optimum():
    rng = np.random.default_rng(3)
    base = rng.uniform(0, 30, size=(8, 5))
    cost = np.vstack([base, base[:3]])
    cost = np.hstack([cost, cost[:, :2]])
    w = rng.integers(1, 10, size=11).astype(float)
    sol, best = solve_and_brute_force(cost, w, 12, periods=2, new_per_period=1)
    assert sol.objective == pytest.approx(best)
    pre = sol.preprocessing
    assert pre["rows_in_model"] < 11
    assert pre["candidates_in_model"] < 7


@settings(max_examples=8, deadline=None, derandomize=True)
@given(st.integers(0, 10_000))
def test_pooled_stages_match_brute_force_on_more_sites(seed):
    # enough candidates that the per-period pool is smaller than the candidate set,
    # so the staged solve (bounds, pooled MIP, LP bound, full MIP) is exercised.
    rng = np.random.default_rng(seed)
    pts = rng.uniform(0, 10, size=(9, 2))
    sites = rng.uniform(0, 10, size=(8, 2))
    cost = np.sqrt(((pts[:, None] - sites[None]) ** 2).sum(axis=2)) * 3.0
    w = rng.integers(1, 20, size=9).astype(float)
    sol, best = solve_and_brute_force(cost, w, 10.0, periods=2, new_per_period=[1, 1])
    assert sol.has_solution
    assert sol.objective == pytest.approx(best, rel=1e-6)
    if sol.status == "optimal":
        assert sol.gap == 0.0
    assert sol.bound >= best - 1e-6


@settings(max_examples=8, deadline=None, derandomize=True)
@given(st.integers(0, 10_000))
def test_size_gate_skips_the_full_model_and_says_so(seed):
    """Above the size gate the full MIP is skipped: named in the message, never "optimal"
    unless the pooled plan reaches a proven bound, and the bound stays valid."""
    import nhc_planner.optimize.phased as phased

    rng = np.random.default_rng(seed)
    pts = rng.uniform(0, 10, size=(9, 2))
    sites = rng.uniform(0, 10, size=(8, 2))
    cost = np.sqrt(((pts[:, None] - sites[None]) ** 2).sum(axis=2)) * 3.0
    w = rng.integers(1, 20, size=9).astype(float)
    best = brute_force(cost, w, 10.0, periods=2, new_per_period=[1, 1])
    saved = phased.MIP_MAX_COVER_TERMS
    phased.MIP_MAX_COVER_TERMS = 0  # every MIP stage is above the gate
    try:
        sol = phased_coverage(cost, w, 10.0, periods=2, new_per_period=[1, 1])
    finally:
        phased.MIP_MAX_COVER_TERMS = saved
    assert sol.bound >= best - 1e-6
    assert sol.objective <= best + 1e-6
    if sol.has_solution and sol.status != "optimal":
        assert "skipped" in sol.message
        assert "safety time limit" not in sol.message


def test_maxmin_stage_above_its_gate_reports_the_plans_worst_share(monkeypatch):
    import nhc_planner.optimize.phased as phased

    monkeypatch.setattr(phased, "MAXMIN_MAX_COVER_TERMS", 0)
    cost = np.array([[1.0, 50], [1.0, 50], [1.0, 50], [50, 1.0]])
    w = np.array([5.0, 5.0, 5.0, 1.0])
    groups = np.array(["A", "A", "A", "B"])
    sol = phased_coverage(
        cost, w, 5, periods=1, new_per_period=1, groups=groups, objective="maxmin"
    )
    assert sol.status == "feasible"  # the max-min stage proved nothing
    assert "max-min stage skipped" in sol.message
    assert sol.open_period.tolist() == [1, -1]  # the weighted plan
    assert sol.min_group_share == pytest.approx(0.0)
    assert sol.min_group_share_bound == pytest.approx(0.5)  # the LP bound (half of each site)


def test_maxmin_safety_stop_keeps_the_maxmin_plan(monkeypatch):
    """When the safety time limit ends the weighted stage at once, the max-min stage's
    plan is kept (opening nothing is always feasible) and the message says the plan may
    depend on the machine's speed."""
    import nhc_planner.optimize.phased as phased

    monkeypatch.setattr(phased._Weighted, "left", lambda self: -1.0)
    cost = np.array([[1.0, 50], [1.0, 50], [1.0, 50], [50, 1.0]])
    w = np.array([5.0, 5.0, 5.0, 1.0])
    groups = np.array(["A", "A", "A", "B"])
    sol = phased_coverage(
        cost, w, 5, periods=2, new_per_period=1, groups=groups, objective="maxmin"
    )
    assert sol.has_solution
    assert sol.status == "feasible"
    assert "may depend on the machine's speed" in sol.message
    assert sol.min_group_share == pytest.approx(1.0)
    assert sorted(sol.open_period.tolist()) == [1, 2]


def test_capacity_fallback_upgrades_sizes_within_budget():
    from nhc_planner.optimize.phased import PhasedSettings, _capacity_fallback, _problem

    cost = np.array([[1.0, 50], [50, 1.0], [1.0, 50]])
    w = np.array([1.0, 1.0, 1.0])
    sizes = [SizeOption("small", 10.0, 1.0), SizeOption("large", 30.0, 3.0)]
    # capacities (10, 30), capital costs (1, 3), both sizes allowed at both sites
    settings = PhasedSettings(periods=1, budget_per_period=4.0, sizes=sizes)
    out = _capacity_fallback(_problem(cost, w, 5.0, settings), 10.0)
    assert out is not None
    assert out.open_period.tolist() == [1, 1]
    assert out.size_index.tolist() == [1, 0]  # only the first fits the budget as large
    assert out.bound == pytest.approx(3.0)  # the uncapacitated optimum bounds service


def test_settings_group_the_options_and_keywords_override_them() -> None:
    from nhc_planner.optimize import PhasedSettings, PhasedSolution

    cost = np.array([[5.0, 30.0], [30.0, 5.0], [30.0, 8.0]])
    base = PhasedSettings(periods=2, new_per_period=1)
    sol = phased_coverage(cost, [1.0, 1.0, 1.0], 10, base)
    assert isinstance(sol, PhasedSolution)
    assert sol.open_period.tolist() == [2, 1]
    one = phased_coverage(cost, [1.0, 1.0, 1.0], 10, base, periods=1)
    assert one.open_period.tolist() == [-1, 1]
    with pytest.raises(ValueRangeError, match=r"unknown option\(s\) \['period'\]"):
        phased_coverage(cost, [1.0, 1.0, 1.0], 10, period=2)


@pytest.mark.parametrize(("seed", "per_period"), [(1, False), (2, False), (3, True)])
def test_mclp_core_period_bounds_equal_the_generic_model(seed, per_period, monkeypatch):
    # without floors, budgets or capacities each one-period relaxation is a plain MCLP:
    # the exact MCLP core must give the same plan value and bounds as the generic MIP
    import nhc_planner.optimize.phased as phased

    rng = np.random.default_rng(seed)
    pts, sites = rng.uniform(0, 10, size=(60, 2)), rng.uniform(0, 10, size=(25, 2))
    cost = np.sqrt(((pts[:, None] - sites[None]) ** 2).sum(axis=2)) * 3.0
    w = rng.integers(1, 20, size=60).astype(float)
    if per_period:  # one weight row per period (e.g. projected population)
        w = np.vstack([w, w * 1.1, rng.integers(1, 20, size=60).astype(float)])
    kwargs = {"periods": 3, "new_per_period": [2, 1, 1]}
    fast = phased_coverage(cost, w, 8.0, **kwargs)
    bounds = fast.stages["period_bounds"]
    assert all(b[-1] == "mclp core" for b in bounds)
    monkeypatch.setattr(phased, "_mclp_bound", lambda *a, **k: None)
    slow = phased_coverage(cost, w, 8.0, **kwargs)
    assert fast.status == slow.status == "optimal"
    assert fast.objective == pytest.approx(slow.objective)
    generic = slow.stages["period_bounds"]
    assert [round(b[3], 6) for b in bounds] == [round(b[3], 6) for b in generic]


# --------------------------------------------------------------------------- weights per period


@st.composite
def period_weights_for(draw, inst):
    """``(T, n)`` weights for an instance: each period its own integer weights."""
    cost, _, periods, *_ = inst
    n = cost.shape[0]
    rows = [draw(st.lists(st.integers(0, 9), min_size=n, max_size=n)) for _ in range(periods)]
    return np.array(rows, dtype=float)


@SETTINGS
@given(instances(), st.data())
def test_per_period_weights_equal_brute_force(inst, data):
    cost, _, periods, k, fixed, excluded = inst
    wt = data.draw(period_weights_for(inst))
    sol, best = solve_and_brute_force(
        cost, wt, 10, periods=periods, new_per_period=k, fixed=fixed, excluded=excluded
    )
    assert sol.status == "optimal"
    assert sol.objective == pytest.approx(best, rel=1e-6, abs=1e-6)
    # each period's coverage is weighed with that period's own weights
    expected = [sol.point_coverage[:, t] @ wt[max(t - 1, 0)] for t in range(periods + 1)]
    assert sol.coverage_by_period == pytest.approx(expected)


@settings(max_examples=10, deadline=None, derandomize=True)
@given(instances(max_demand=4, max_sites=3), st.data())
def test_per_period_weights_capacitated_equal_brute_force(inst, data):
    cost, _, periods, k, fixed, excluded = inst
    n = cost.shape[0]
    wt = data.draw(period_weights_for(inst))
    demand = np.array(data.draw(st.lists(st.integers(0, 10), min_size=n, max_size=n)), float)
    sizes = TWO_SIZES
    sol, best = solve_and_brute_force(
        cost,
        wt,
        10,
        periods=periods,
        new_per_period=k,
        sizes=sizes,
        demand=demand,
        fixed=fixed,
        excluded=excluded,
        fixed_capacity=12.0,
    )
    assert sol.objective == pytest.approx(best, rel=1e-5, abs=1e-5)


def test_per_period_weights_change_the_choice():
    """One centre: area 0 weighs most now, area 1 grows past it later; the plan follows."""
    cost = np.array([[5.0, 30.0], [30.0, 5.0]])
    opts = {"periods": 2, "new_per_period": [1, 0], "period_weights": [1, 1]}
    today = phased_coverage(cost, [[10.0, 1.0], [10.0, 1.0]], 10, **opts)
    assert today.open_period.tolist() == [1, -1]
    growing = phased_coverage(cost, [[10.0, 1.0], [1.0, 100.0]], 10, **opts)
    assert growing.open_period.tolist() == [-1, 1]
    assert growing.coverage_by_period.tolist() == [0.0, 1.0, 100.0]
    assert growing.coverage_share_by_period.tolist() == pytest.approx([0.0, 1 / 11, 100 / 101])
    with pytest.raises(ValueRangeError, match=r"\(2, 2\) \(one row per period\)"):
        phased_coverage(cost, np.ones((3, 2)), 10, periods=2, new_per_period=1)
    with pytest.raises(ValueRangeError, match=r"weights\[period 2\]"):
        phased_coverage(cost, [[1.0, 1.0], [1.0, -1.0]], 10, periods=2, new_per_period=1)


def _demo_minutes():
    """The demo region's areas and its straight-line minutes from areas to sites."""
    from nhc_planner.demo import demo_region
    from nhc_planner.travel import straight_line_times

    region = demo_region()
    areas, sites = region.areas, region.sites
    return areas, straight_line_times(areas, sites).matrix(
        list(areas["area_code"]), list(sites["site_id"])
    )


@pytest.mark.slow
@pytest.mark.parametrize("capacities", [False, True], ids=["coverage", "capacity-true"])
def test_maxmin_plan_does_not_depend_on_machine_load(capacities):
    """Max-min over local authorities on the demo region: the same plan quiet and busy.

    Every stage (the max-min stage, the weighted stages; with capacities the
    capacity-true ones) stops on work; the generous time limit never fires.
    """
    from nhc_planner.capacity import default_size_templates, weekly_demand
    from tests.test_model_coverage import _under_load

    areas, minutes = _demo_minutes()
    options: dict = {}
    if capacities:
        options = {
            "sizes": [SizeOption.from_template(t) for t in default_size_templates()],
            "demand": weekly_demand(areas),
        }

    def solve():
        return phased_coverage(
            minutes,
            areas["population"].to_numpy(float),
            15,
            periods=3,
            new_per_period=2,
            groups=areas["la_code"].to_numpy(),
            objective="maxmin",
            time_limit_s=600,
            **options,
        )

    quiet = solve()
    busy = _under_load(solve)
    assert quiet.has_solution
    assert "safety time limit" not in quiet.message
    assert ("capacity-true" in quiet.message) == capacities
    assert quiet.open_period.tobytes() == busy.open_period.tobytes()
    assert quiet.size_index.tobytes() == busy.size_index.tobytes()
    assert quiet.objective == busy.objective
    assert quiet.bound == busy.bound
    assert quiet.min_group_share == busy.min_group_share
    assert quiet.min_group_share_bound == busy.min_group_share_bound
    if capacities:
        assert quiet.fractions.tobytes() == busy.fractions.tobytes()
    if quiet.status != "optimal":  # a work limit that stops short is never "optimal"
        assert quiet.gap > 0 or quiet.min_group_share_bound > quiet.min_group_share


@pytest.mark.slow
def test_capacitated_plan_does_not_depend_on_machine_load():
    """Sizes and demand on the demo region: the same plan on a quiet and a busy machine.

    The time limit is a safety stop only (generous here), so the work limits alone
    decide the plan; the capacity-true solver ends well before it.
    """
    from nhc_planner.capacity import default_size_templates, weekly_demand
    from tests.test_model_coverage import _under_load

    areas, minutes = _demo_minutes()
    need = areas["population"].to_numpy(float)
    sizes = [SizeOption.from_template(t) for t in default_size_templates()]

    def solve():
        return phased_coverage(
            minutes,
            need,
            15,
            periods=3,
            new_per_period=2,
            sizes=sizes,
            demand=weekly_demand(areas),
            time_limit_s=600,
        )

    quiet = solve()
    busy = _under_load(solve)
    assert quiet.has_solution
    assert "safety time limit" not in quiet.message
    assert quiet.open_period.tobytes() == busy.open_period.tobytes()
    assert quiet.size_index.tobytes() == busy.size_index.tobytes()
    assert quiet.fractions.tobytes() == busy.fractions.tobytes()
    assert quiet.objective == busy.objective
    assert quiet.bound == busy.bound


# ------------------------------------------------------------------ max-min with capacities


def _route_lp(cover, open_sites, cap, d, w, groups_w, share):
    """Best routing of one period: ``max m`` (``share`` None) or ``max w x`` with groups >= share.

    ``groups_w`` is a list of member-weight vectors. Returns the optimum, or None if the
    group rows cannot be met.
    """
    n = cover.shape[0]
    pairs = [(i, j) for i in range(n) for j in open_sites if cover[i, j]]
    nv = len(pairs) + 1  # the last column is m
    a_ub, b_ub = [], []
    for i in range(n):
        row = np.zeros(nv)
        for v, (ii, _) in enumerate(pairs):
            row[v] = 1.0 if ii == i else 0.0
        a_ub.append(row)
        b_ub.append(1.0)
    for j in open_sites:
        if np.isfinite(cap[j]):
            row = np.zeros(nv)
            for v, (i, jj) in enumerate(pairs):
                row[v] = d[i] if jj == j else 0.0
            a_ub.append(row)
            b_ub.append(cap[j])
    for gw in groups_w:
        row = np.zeros(nv)
        for v, (i, _) in enumerate(pairs):
            row[v] = -gw[i]
        if share is None:
            row[-1] = gw.sum()
            b_ub.append(0.0)
        else:
            b_ub.append(-(share - 1e-6) * gw.sum())
        a_ub.append(row)
    c = np.zeros(nv)
    if share is None:
        c[-1] = -1.0
    else:
        for v, (i, _) in enumerate(pairs):
            c[v] = -w[i]
    res = linprog(c, A_ub=np.array(a_ub), b_ub=b_ub, bounds=(0, 1), method="highs")
    return None if res.status != 0 else -float(res.fun)


def maxmin_brute_force(cost, w, max_cost, groups, *, periods, new_per_period, sizes, demand):
    """Lexicographic optimum with capacities: (best worst-group share, best weighted value)."""
    m = cost.shape[1]
    cover = cost <= max_cost
    pw = discount_weights(periods)
    labels = np.unique(groups)
    groups_w = [np.where(groups == g, w, 0.0) for g in labels]
    groups_w = [gw for gw in groups_w if gw.sum() > 0]
    choices = [(-1, -1)] + [(t, s) for t in range(1, periods + 1) for s in range(len(sizes))]
    plans = []
    for combo in itertools.product(choices, repeat=m):
        counts = np.zeros(periods)
        for t, _ in combo:
            if t > 0:
                counts[t - 1] += 1
        if np.any(counts > np.asarray(new_per_period)):
            continue
        caps, opens = [], []
        for t in range(1, periods + 1):
            opens.append([j for j, (tt, _) in enumerate(combo) if 0 < tt <= t])
            caps.append(np.array([sizes[s].capacity if tt > 0 else 0.0 for tt, s in combo]))
        share = _route_lp(cover, opens[-1], caps[-1], demand, w, groups_w, None)
        plans.append((combo, opens, caps, share))
    best_share = max(p[3] for p in plans)
    best = -np.inf
    for _, opens, caps, share in plans:
        if share < best_share - 1e-6:
            continue
        value = sum(
            pw[t] * _route_lp(cover, opens[t], caps[t], demand, w, [], 0.0)
            for t in range(periods - 1)
        )
        last = _route_lp(cover, opens[-1], caps[-1], demand, w, groups_w, best_share)
        best = max(best, value + pw[-1] * last)
    return best_share, best


@settings(max_examples=12, deadline=None, derandomize=True)
@given(instances(max_demand=4, max_sites=3), st.data())
def test_capacitated_maxmin_matches_brute_force(inst, data):
    """Max-min with capacities (capacity-true stages): share and weighted value are optimal."""
    cost, w, periods, k, _, _ = inst
    n = cost.shape[0]
    w = w + 1.0  # every point in its group's weight
    demand = np.array(data.draw(st.lists(st.integers(1, 10), min_size=n, max_size=n)), float)
    groups = np.array(data.draw(st.lists(st.sampled_from("AB"), min_size=n, max_size=n)))
    sizes = TWO_SIZES
    sol = phased_coverage(
        cost,
        w,
        10,
        periods=periods,
        new_per_period=k,
        sizes=sizes,
        demand=demand,
        groups=groups,
        objective="maxmin",
    )
    share, value = maxmin_brute_force(
        cost, w, 10, groups, periods=periods, new_per_period=k, sizes=sizes, demand=demand
    )
    assert sol.has_solution
    assert "capacity-true" in sol.message
    assert sol.min_group_share == pytest.approx(share, abs=1e-5)
    assert sol.min_group_share_bound >= share - 1e-6
    if sol.status == "optimal":
        assert sol.objective == pytest.approx(value, rel=1e-4, abs=1e-4)
    else:
        assert sol.objective <= value + 1e-4
    assert np.all(sol.load[sol.open_period >= 0] <= sol.capacity[sol.open_period >= 0] + 1e-6)
