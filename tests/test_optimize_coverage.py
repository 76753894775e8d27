"""Tests for nhc_planner.optimize.max_coverage and set_cover."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nhc_planner._errors import ValueRangeError
from nhc_planner.optimize import max_coverage, set_cover
from tests.builders import cost_instances


@st.composite
def instances(draw):
    cost, weights, fixed, excluded = draw(cost_instances(max_demand=8))
    max_cost = float(draw(st.integers(0, 30)))
    return cost, weights, max_cost, fixed, excluded


def covered_weight(cost, weights, sites, max_cost):
    if not sites:
        return 0.0
    return float(weights[(cost[:, list(sites)] <= max_cost).any(axis=1)].sum())


def subsets(m, fixed, excluded, size):
    allowed = [j for j in range(m) if j not in excluded]
    for s in itertools.combinations(allowed, size):
        if set(fixed) <= set(s):
            yield s


@settings(max_examples=60, deadline=None)
@given(instances(), st.data())
def test_max_coverage_matches_brute_force_and_invariants(inst, data):
    cost, weights, max_cost, fixed, excluded = inst
    m = cost.shape[1]
    n_allowed = m - len(excluded)
    p = data.draw(st.integers(max(1, len(fixed)), n_allowed))
    sol = max_coverage(cost, weights, p, max_cost, fixed=fixed, excluded=excluded)
    best = max(covered_weight(cost, weights, s, max_cost) for s in subsets(m, fixed, excluded, p))
    assert sol.status == "optimal"
    assert sol.objective == pytest.approx(best)
    assert sol.bound == pytest.approx(best)
    assert sol.open.size == p
    assert set(fixed) <= set(sol.open.tolist())
    assert not set(excluded) & set(sol.open.tolist())
    hit = sol.assignment >= 0
    assert np.all(cost[np.flatnonzero(hit), sol.assignment[hit]] <= max_cost)
    assert np.all(np.isin(sol.assignment[hit], sol.open))
    assert np.array_equal(hit, sol.covered)
    assert float(weights[hit].sum()) == pytest.approx(sol.objective)


@settings(max_examples=30, deadline=None)
@given(instances())
def test_coverage_never_decreases_as_p_grows(inst):
    cost, weights, max_cost, fixed, excluded = inst
    n_allowed = cost.shape[1] - len(excluded)
    values = [
        max_coverage(cost, weights, p, max_cost, fixed=fixed, excluded=excluded).objective
        for p in range(max(1, len(fixed)), n_allowed + 1)
    ]
    assert all(b >= a - 1e-9 for a, b in itertools.pairwise(values))


def test_max_coverage_hand_example():
    cost = np.array([[1.0, 9, 9], [2, 3, 9], [9, 9, 1], [9, 2, np.inf]])
    sol = max_coverage(cost, [5, 1, 4, 3], 2, 5.0)
    assert sol.open.tolist() == [0, 2]
    assert sol.objective == 10.0
    assert sol.assignment.tolist() == [0, 0, 2, -1]
    assert sol.covered_share == pytest.approx(10 / 13)
    # with site 0 excluded, site 1 covers points 1 and 3
    sol = max_coverage(cost, [5, 1, 4, 3], 2, 5.0, excluded=[0])
    assert sol.open.tolist() == [1, 2]
    assert sol.objective == 8.0


def test_max_coverage_pads_to_p_sites():
    cost = np.array([[1.0, 1.0, 1.0, 50.0]])
    sol = max_coverage(cost, [1.0], 3, 5.0)
    assert sol.open.size == 3
    assert sol.objective == 1.0
    assert sol.padded.size == 2


@settings(max_examples=60, deadline=None)
@given(instances(), st.sampled_from([1.0, 0.5, 0.8]), st.booleans())
def test_set_cover_matches_brute_force(inst, share, weighted):
    cost, weights, max_cost, fixed, excluded = inst
    m = cost.shape[1]
    w = weights if weighted else np.ones(cost.shape[0])
    sol = set_cover(
        cost,
        max_cost,
        weights=w if weighted else None,
        min_share=share,
        fixed=fixed,
        excluded=excluded,
    )
    total = w.sum()
    need = (w > 0) if share == 1.0 else None
    best = None
    for size in range(len(fixed), m - len(excluded) + 1):
        for s in subsets(m, fixed, excluded, size):
            cov = (cost[:, list(s)] <= max_cost).any(axis=1) if s else np.zeros(len(w), bool)
            ok = cov[need].all() if need is not None else w[cov].sum() >= share * total - 1e-9
            if ok:
                best = size
                break
        if best is not None:
            break
    if best is None:
        assert sol.status == "infeasible"
        assert "cannot be covered" in sol.explanation or "short of" in sol.explanation
        return
    assert sol.status == "optimal"
    assert sol.objective == best
    assert set(fixed) <= set(sol.open.tolist())
    assert not set(excluded) & set(sol.open.tolist())
    cov = sol.covered
    if share == 1.0:
        assert cov[w > 0].all()
    else:
        assert w[cov].sum() >= share * total - 1e-9


def test_set_cover_hand_example_and_explanation():
    cost = np.array([[1.0, 4, 9], [2, 3, 9], [9, 9, 1], [9, 2, 9]])
    sol = set_cover(cost, 5.0)
    assert sol.open.tolist() == [1, 2]
    assert sol.objective == 2.0
    bad = set_cover(cost, 5.0, excluded=[2])
    assert bad.status == "infeasible"
    assert bad.explanation == (
        "1 demand point(s) cannot be covered within 5 by any allowed site: rows [2]"
    )
    assert bad.uncoverable_rows.tolist() == [2]
    # partial cover: 3 of 4 points (75%) is enough without site 2
    part = set_cover(cost, 5.0, min_share=0.75, excluded=[2])
    assert part.status == "optimal"
    assert part.objective == 1.0
    short = set_cover(cost, 5.0, min_share=0.9, excluded=[2])
    assert short.status == "infeasible"
    assert "short of min_share" in short.explanation


def test_set_cover_fixed_sites_count():
    cost = np.array([[1.0, 4, 9], [2, 3, 9], [9, 9, 1], [9, 2, 9]])
    sol = set_cover(cost, 5.0, fixed=[0])
    assert sol.open.tolist() == [0, 1, 2]
    assert sol.objective == 3.0


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda c: max_coverage(c, [1, 1], 3, 5.0), "larger than the number of allowed"),
        (lambda c: max_coverage(c, [1, 1], 1, -5.0), "max_cost"),
        (lambda c: max_coverage(c, [1, -1], 1, 5.0), ">= 0"),
        (lambda c: set_cover(c, 5.0, min_share=0.0), "min_share"),
        (lambda c: set_cover(c, 5.0, min_share=1.5), "min_share"),
        (lambda c: set_cover(c, 5.0, fixed=[0], excluded=[0]), "both fixed and excluded"),
        (lambda c: set_cover(c, 5.0, weights=[1.0]), r"shape \(2,\)"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ValueRangeError, match=match):
        call(np.array([[1.0, 2.0], [2.0, 1.0]]))
