"""Tests for nhc_planner.optimize.capacitated_location."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from nhc_planner._errors import ValueRangeError
from nhc_planner.optimize import capacitated_location
from tests.builders import site_roles

ORLIB = Path(__file__).parent / "data_orlib"


def read_orlib_cap(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """OR-Library cap file -> (cost of all demand i from j, demand, capacity, fixed cost)."""
    tokens = path.read_text().split()
    m, n = int(tokens[0]), int(tokens[1])
    k = 2
    capacity = np.array([float(tokens[k + 2 * j]) for j in range(m)])
    fixed_cost = np.array([float(tokens[k + 2 * j + 1]) for j in range(m)])
    k += 2 * m
    demand, cost = np.zeros(n), np.zeros((n, m))
    for i in range(n):
        demand[i] = float(tokens[k])
        cost[i] = [float(t) for t in tokens[k + 1 : k + 1 + m]]
        k += 1 + m
    return cost, demand, capacity, fixed_cost


def allocation_cost(cost, demand, capacity, sites, single_source):
    """Cheapest allocation of every point to the open ``sites`` (inf if impossible)."""
    n = cost.shape[0]
    sites = list(sites)
    if not sites:
        return np.inf
    if single_source:
        best = np.inf
        for choice in itertools.product(sites, repeat=n):
            load = dict.fromkeys(sites, 0.0)
            total = 0.0
            for i, j in enumerate(choice):
                load[j] += demand[i]
                total += cost[i, j]
            if all(load[j] <= capacity[j] + 1e-9 for j in sites) and np.isfinite(total):
                best = min(best, total)
        return best
    k = len(sites)
    c = cost[:, sites]
    finite = np.isfinite(c)
    bounds = [(0, 1 if finite[i, t] else 0) for i in range(n) for t in range(k)]
    a_eq = np.zeros((n, n * k))
    for i in range(n):
        a_eq[i, i * k : (i + 1) * k] = 1
    a_ub = np.zeros((k, n * k))
    for t in range(k):
        a_ub[t, t::k] = demand
    res = linprog(
        np.where(finite, c, 0).ravel(),
        A_ub=a_ub,
        b_ub=capacity[sites],
        A_eq=a_eq,
        b_eq=np.ones(n),
        bounds=bounds,
        method="highs",
    )
    return res.fun if res.status == 0 else np.inf


def brute_force(cost, demand, capacity, fixed_cost, single_source, fixed=(), excluded=()):
    m = cost.shape[1]
    allowed = [j for j in range(m) if j not in excluded]
    best = np.inf
    for size in range(1, len(allowed) + 1):
        for s in itertools.combinations(allowed, size):
            if not set(fixed) <= set(s):
                continue
            alloc = allocation_cost(cost, demand, capacity, s, single_source)
            best = min(best, fixed_cost[list(s)].sum() + alloc)
    return best


@st.composite
def instances(draw):
    n = draw(st.integers(1, 4))
    m = draw(st.integers(1, 3))
    ints = st.lists(st.integers(0, 20), min_size=n * m, max_size=n * m)
    cost = np.array(draw(ints), dtype=float).reshape(n, m)
    if draw(st.booleans()):
        holes = np.array(draw(st.lists(st.booleans(), min_size=n * m, max_size=n * m)))
        cost[holes.reshape(n, m)] = np.inf
    demand = np.array(draw(st.lists(st.integers(0, 6), min_size=n, max_size=n)), dtype=float)
    capacity = np.array(draw(st.lists(st.integers(0, 12), min_size=m, max_size=m)), dtype=float)
    fixed_cost = np.array(draw(st.lists(st.integers(0, 15), min_size=m, max_size=m)), dtype=float)
    fixed, excluded = draw(site_roles(m))
    return cost, demand, capacity, fixed_cost, fixed, excluded


def test_cap41_known_optimum():
    cost, demand, capacity, fixed_cost = read_orlib_cap(ORLIB / "cap41.txt")
    sol = capacitated_location(cost, demand, capacity, fixed_cost)
    assert sol.status == "optimal"
    assert sol.objective == pytest.approx(1040444.375, abs=1e-3)
    assert np.all(sol.load <= capacity + 1e-6)
    assert np.allclose(sol.fractions.sum(axis=1), 1.0)


def test_cap41_single_source_is_infeasible_with_explanation():
    cost, demand, capacity, fixed_cost = read_orlib_cap(ORLIB / "cap41.txt")
    sol = capacitated_location(cost, demand, capacity, fixed_cost, single_source=True)
    assert sol.status == "infeasible"
    assert "enough capacity for its whole demand" in sol.explanation


def test_hand_example():
    cost = np.array([[1.0, 4], [2, 3], [5, 1]])
    sol = capacitated_location(cost, [1, 1, 1], [2, 2], [3, 3])
    assert sol.open.tolist() == [0, 1]
    assert sol.objective == 10.0
    assert sol.assignment.tolist() == [0, 0, 1]
    assert sol.load.tolist() == [2.0, 1.0]
    # uncapacitated, one site costs 3 + 1 + 2 + 5 = 11 or 3 + 4 + 3 + 1 = 11: still both
    sol = capacitated_location(cost, [1, 1, 1], [np.inf, np.inf], [3, 3])
    assert sol.objective == 10.0


def test_split_demand_is_split():
    cost = np.array([[0.0, 10.0]])
    sol = capacitated_location(cost, [4.0], [3.0, 10.0], [0.0, 0.0])
    assert sol.fractions[0].tolist() == pytest.approx([0.75, 0.25])
    assert sol.objective == pytest.approx(2.5)
    assert sol.assignment.tolist() == [0]
    single = capacitated_location(cost, [4.0], [3.0, 10.0], [0.0, 0.0], single_source=True)
    assert single.objective == pytest.approx(10.0)
    assert single.fractions[0].tolist() == [0.0, 1.0]


@pytest.mark.parametrize("single_source", [False, True])
@settings(max_examples=40, deadline=None)
@given(instances())
def test_matches_brute_force(single_source, inst):
    cost, demand, capacity, fixed_cost, fixed, excluded = inst
    expected = brute_force(cost, demand, capacity, fixed_cost, single_source, fixed, excluded)
    sol = capacitated_location(
        cost,
        demand,
        capacity,
        fixed_cost,
        single_source=single_source,
        fixed=fixed,
        excluded=excluded,
    )
    if not np.isfinite(expected):
        assert sol.status == "infeasible"
        assert sol.explanation
        return
    assert sol.status == "optimal"
    assert sol.objective == pytest.approx(expected, abs=1e-6)
    assert set(fixed) <= set(sol.open.tolist())
    assert not set(excluded) & set(sol.open.tolist())
    assert sol.fractions is not None
    assert np.all(sol.load <= capacity + 1e-6)  # capacities never exceeded
    assert np.allclose(sol.fractions.sum(axis=1), 1.0)
    assert np.all(sol.fractions[:, ~np.isin(np.arange(cost.shape[1]), sol.open)] == 0)
    assert np.all(np.isfinite(cost[sol.fractions > 0]))  # np.inf never used
    if single_source:
        assert set(np.unique(sol.fractions)) <= {0.0, 1.0}


def test_infeasible_explanations():
    cost = np.array([[1.0, np.inf], [np.inf, np.inf]])
    sol = capacitated_location(cost, [1, 1], [5, 5], [1, 1])
    assert sol.status == "infeasible"
    assert "rows [1]" in sol.explanation
    cost = np.array([[1.0, 2.0], [1.0, 2.0]])
    sol = capacitated_location(cost, [3, 3], [2, 2], [1, 1])
    assert "below total demand" in sol.explanation
    sol = capacitated_location(cost, [3, 3], [4, 4], [1, 1], single_source=True, excluded=[1])
    assert sol.status == "infeasible"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"capacity": [1.0]}, "capacity"),
        ({"capacity": [1.0, -1.0]}, "capacity"),
        ({"fixed_cost": [1.0, np.inf]}, "finite"),
        ({"demand": [1.0, -2.0]}, ">= 0"),
        ({"fixed": [0], "excluded": [0]}, "both fixed and excluded"),
    ],
)
def test_bad_input(kwargs, match):
    args = {"demand": [1.0, 1.0], "capacity": [2.0, 2.0], "fixed_cost": [1.0, 1.0], **kwargs}
    with pytest.raises(ValueRangeError, match=match):
        capacitated_location(
            np.array([[1.0, 2.0], [2.0, 1.0]]),
            args.pop("demand"),
            args.pop("capacity"),
            args.pop("fixed_cost"),
            **args,
        )
