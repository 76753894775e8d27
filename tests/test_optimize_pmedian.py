"""Tests for nhc_planner.optimize.p_median."""

from __future__ import annotations

import importlib
import itertools
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import shortest_path

from nhc_planner._errors import ValueRangeError
from nhc_planner.optimize import p_median
from tests.builders import cost_instances
from tests.orlib import read_orlib_pmed

ORLIB = Path(__file__).parent / "data_orlib"
# the module (the package attribute of the same name is the function)
_pm = importlib.import_module("nhc_planner.optimize.p_median")


def brute_force(cost, weights, p, fixed=(), excluded=()):
    allowed = [j for j in range(cost.shape[1]) if j not in excluded]
    best = np.inf
    active = weights > 0
    for subset in itertools.combinations(allowed, p):
        if not set(fixed) <= set(subset):
            continue
        d = cost[:, list(subset)].min(axis=1)
        if np.all(np.isfinite(d[active])):
            best = min(best, float(np.sum(weights[active] * d[active])))
    return best


@st.composite
def instances(draw):
    cost, weights, fixed, excluded = draw(cost_instances(max_demand=7))
    m = cost.shape[1]
    allowed = m - len(excluded)
    p = draw(st.integers(max(1, len(fixed)), allowed))
    return cost, weights, p, fixed, excluded


def test_pmed1_known_optimum():
    cost, p = read_orlib_pmed(ORLIB / "pmed1.txt")
    sol = p_median(cost, np.ones(cost.shape[0]), p)
    assert sol.status == "optimal"
    assert sol.objective == 5819
    assert sol.gap == 0.0
    assert sol.open.size == p


def test_pmed1_through_the_radius_mip():
    cost, p = read_orlib_pmed(ORLIB / "pmed1.txt")
    sol = p_median(cost, np.ones(cost.shape[0]), p, lagrangian_iterations=0)
    assert sol.status == "optimal"
    assert sol.objective == 5819


def test_hand_example():
    # sites at 0 and 2 serve points 0,1 and 2,3: 0 + 4 + 0 + 1 = 5
    cost = np.array([[0.0, 6, 9], [4, 0, 5], [9, 5, 0], [10, 6, 1]])
    sol = p_median(cost, [1, 1, 1, 1], 2)
    assert sol.open.tolist() == [0, 2]
    assert sol.assignment.tolist() == [0, 0, 2, 2]
    assert sol.objective == 5.0
    assert sol.bound == 5.0
    # weights move the choice: a heavy point 1 pulls a site onto it
    sol = p_median(cost, [1, 100, 1, 1], 2)
    assert 1 in sol.open.tolist()


def test_fixed_and_excluded_are_honoured():
    cost = np.array([[0.0, 6, 9], [4, 0, 5], [9, 5, 0], [10, 6, 1]])
    sol = p_median(cost, [1, 1, 1, 1], 2, fixed=[1], excluded=[2])
    assert sol.open.tolist() == [0, 1]
    assert sol.objective == 0 + 0 + 5 + 6


@pytest.mark.parametrize(("iterations", "tree_work"), [(3000, 1e9), (3000, 0), (0, 0)])
@settings(max_examples=40, deadline=None)
@given(instances())
def test_matches_brute_force(iterations, tree_work, inst):
    cost, weights, p, fixed, excluded = inst
    expected = brute_force(cost, weights, p, fixed, excluded)
    sol = p_median(
        cost,
        weights,
        p,
        fixed=fixed,
        excluded=excluded,
        lagrangian_iterations=iterations,
        tree_work=tree_work,
    )
    if not np.isfinite(expected):
        assert sol.status == "infeasible"
        assert sol.explanation
        return
    assert sol.status == "optimal"
    assert sol.objective == pytest.approx(expected)
    assert sol.open.size == p
    assert set(fixed) <= set(sol.open.tolist())
    assert not set(excluded) & set(sol.open.tolist())
    served = sol.assignment >= 0
    assert np.all(np.isin(sol.assignment[served], sol.open))
    # never assigned across an unreachable pair, always to the nearest open site
    rows = np.flatnonzero(served)
    assert np.all(np.isfinite(cost[rows, sol.assignment[rows]]))
    nearest = cost[:, sol.open].min(axis=1)
    assert np.allclose(cost[rows, sol.assignment[rows]], nearest[rows])
    assert np.all(np.isinf(nearest[~served]))


def test_unreachable_point_is_infeasible_with_explanation():
    cost = np.array([[1.0, 2.0], [np.inf, np.inf], [3.0, 1.0]])
    sol = p_median(cost, [1, 1, 1], 1)
    assert sol.status == "infeasible"
    assert "rows [1]" in sol.explanation
    assert sol.assignment.tolist() == [-1, -1, -1]


def test_zero_weight_unreachable_point_is_ignored():
    cost = np.array([[1.0, 2.0], [np.inf, np.inf]])
    sol = p_median(cost, [1, 0], 1)
    assert sol.status == "optimal"
    assert sol.assignment.tolist() == [0, -1]


def test_p_too_small_to_reach_everyone_is_infeasible():
    cost = np.array([[1.0, np.inf], [np.inf, 1.0]])
    sol = p_median(cost, [1, 1], 1)
    assert sol.status == "infeasible"
    assert "p=1" in sol.explanation


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"p": 3}, "larger than the number of allowed"),
        ({"p": 1, "fixed": [0, 1]}, "smaller than the number of fixed"),
        ({"p": 1, "fixed": [0], "excluded": [0]}, "both fixed and excluded"),
        ({"p": 2, "excluded": [0]}, "larger than the number of allowed"),
        ({"p": 1, "weights": [1.0, -1.0]}, ">= 0"),
        ({"p": 1, "cost": [[1.0, np.nan], [1.0, 1.0]]}, "NaN"),
        ({"p": 1, "cost": [[1.0, 2.0]]}, r"shape \(1,\)"),
    ],
)
def test_bad_input(kwargs, match):
    args = {"cost": [[1.0, 2.0], [2.0, 1.0]], "weights": [1.0, 1.0], **kwargs}
    with pytest.raises(ValueRangeError, match=match):
        p_median(args.pop("cost"), args.pop("weights"), args.pop("p"), **args)


# --------------------------------------------------------------------------- exact core


def pmed_like(n: int, n_edges: int, seed: int) -> np.ndarray:
    """A random connected graph (costs 1..100) -> all-pairs shortest paths (OR-Library style)."""
    rng = np.random.default_rng(seed)
    graph = np.zeros((n, n))
    order = rng.permutation(n)
    for k in range(1, n):
        u, v = order[k], order[rng.integers(0, k)]
        graph[u, v] = graph[v, u] = rng.integers(1, 101)
    while np.count_nonzero(np.triu(graph)) < n_edges:
        u, v = rng.integers(0, n, 2)
        if u != v:
            graph[u, v] = graph[v, u] = rng.integers(1, 101)
    return shortest_path(graph, directed=False)


@st.composite
def weighted_instances(draw):
    """Complete instances (all costs finite) with positive weights, no fixed/excluded."""
    n = draw(st.integers(2, 7))
    m = draw(st.integers(2, 6))
    cost = np.array(
        draw(st.lists(st.integers(0, 30), min_size=n * m, max_size=n * m)), dtype=float
    ).reshape(n, m)
    weights = np.array(draw(st.lists(st.integers(1, 9), min_size=n, max_size=n)), dtype=float)
    p = draw(st.integers(1, m))
    lam = np.array(draw(st.lists(st.integers(0, 300), min_size=n, max_size=n)), dtype=float)
    return cost, weights, p, lam


@settings(max_examples=60, deadline=None)
@given(weighted_instances())
def test_lagrangian_bound_and_reach_limits_are_valid(inst):
    """For any multipliers: L(lam) <= optimum, and every solution no worse than the
    bound's target opens a site within each row's reach limit."""
    cost, weights, p, lam = inst
    _n, m = cost.shape
    opt = brute_force(cost, weights, p)
    fixed = np.zeros(m, dtype=bool)
    rho = np.minimum(weights[:, None] * cost - lam[:, None], 0.0).sum(axis=0)
    assert lam.sum() + np.sort(rho)[:p].sum() <= opt + 1e-9
    for upper in (opt, opt + 5.0):
        reach = _pm._reach_limits(cost, weights, p, fixed, np.ones(m, dtype=bool), lam, upper)
        for subset in itertools.combinations(range(m), p):
            d = cost[:, list(subset)].min(axis=1)
            if float(np.sum(weights * d)) <= upper:
                assert np.all(d <= reach)


@settings(max_examples=40, deadline=None)
@given(instances(), st.sampled_from([0.0, 1e9]))
def test_bound_never_exceeds_the_optimum(inst, tree_work):
    cost, weights, p, fixed, excluded = inst
    expected = brute_force(cost, weights, p, fixed, excluded)
    sol = p_median(cost, weights, p, fixed=fixed, excluded=excluded, tree_work=tree_work)
    if np.isfinite(expected):
        assert sol.bound <= expected + 1e-9
        assert sol.lagrangian_bound <= expected + 1e-9


@pytest.mark.parametrize(("n", "n_edges", "p", "seed"), [(100, 200, 5, 6), (100, 200, 10, 3)])
def test_pmed_like_tree_and_mip_agree(n, n_edges, p, seed):
    """The Lagrangian branch and bound and the radius MIP prove the same optimum."""
    cost = pmed_like(n, n_edges, seed)
    w = np.ones(n)
    tree = p_median(cost, w, p)
    mip = p_median(cost, w, p, tree_work=0)
    full = p_median(cost, w, p, lagrangian_iterations=0)
    assert tree.status == mip.status == full.status == "optimal"
    assert tree.objective == mip.objective == full.objective
    assert tree.gap == 0.0
    assert tree.bound == tree.objective


def test_tree_proves_a_small_p_instance():
    cost = pmed_like(200, 800, 6)
    sol = p_median(cost, np.ones(200), 5, time_limit_s=120)
    assert sol.status == "optimal"
    assert sol.tree_nodes > 0
    assert "branch and bound" in sol.message
    assert sol.n_levels is None  # no MIP was needed


def test_same_inputs_same_plan():
    cost = pmed_like(150, 450, 11)
    w = np.arange(150) % 7 + 1.0
    a = p_median(cost, w, 8)
    b = p_median(cost, w, 8, time_limit_s=300)
    assert a.status == b.status == "optimal"
    assert a.open.tolist() == b.open.tolist()
    assert a.assignment.tolist() == b.assignment.tolist()
    assert (a.tree_nodes, a.n_candidates) == (b.tree_nodes, b.n_candidates)


def test_time_limit_keeps_the_best_solution():
    """A limit far too short to prove: the heuristic's plan comes back with a bound."""
    cost = pmed_like(200, 800, 6)
    sol = p_median(cost, np.ones(200), 5, time_limit_s=0.05, tree_work=0)
    assert sol.status in ("feasible", "optimal")
    assert sol.open.size == 5
    assert np.isfinite(sol.objective)
    assert sol.objective == pytest.approx(cost[:, sol.open].min(axis=1).sum())
    assert sol.bound <= sol.objective
    if sol.status == "feasible":
        assert sol.gap > 0
