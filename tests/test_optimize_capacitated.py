"""Tests for nhc_planner.optimize.capacitated_location."""

from __future__ import annotations

import itertools
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from nhc_planner._errors import ValueRangeError
from nhc_planner.optimize import _cflp, capacitated_location
from nhc_planner.optimize._highs import reduced_cost_bounds
from tests.builders import site_roles
from tests.orlib import read_orlib_cap

ORLIB = Path(__file__).parent / "data_orlib"


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


# capacity and fixed cost of three more instances of cap41's family (same customers; site 11
# opens for free in all of them) with their OR-Library optima (capopt)
CAP41_FAMILY = [
    ("cap44", 5000.0, 25000.0, 1235500.450),
    ("cap63", 15000.0, 17500.0, 1014062.050),
    ("cap74", 58268.0, 25000.0, 1034976.975),
]


def staged():
    """Force the staged method (column generation, heuristic, tightening) on small instances."""
    return mock.patch.object(_cflp, "_DIRECT_ARCS", 0)


def test_cap41_proven_by_the_staged_method():
    cost, demand, capacity, fixed_cost = read_orlib_cap(ORLIB / "cap41.txt")
    with staged():
        sol = capacitated_location(cost, demand, capacity, fixed_cost)
    assert sol.status == "optimal"
    assert sol.gap == 0.0
    assert sol.objective == pytest.approx(1040444.375, abs=1e-3)
    assert "heuristic" in sol.message
    assert "Lagrangian bound" in sol.message
    assert np.all(sol.load <= capacity + 1e-6)


@pytest.mark.parametrize(("name", "cap", "fc", "optimum"), CAP41_FAMILY)
@pytest.mark.parametrize("force_staged", [False, True])
def test_cap41_family_published_optima(name, cap, fc, optimum, force_staged):
    cost, demand, capacity, fixed_cost = read_orlib_cap(ORLIB / "cap41.txt")
    fixed_cost = np.where(fixed_cost == 0, 0.0, fc)
    capacity = np.full(capacity.size, cap)
    if force_staged:
        with staged():
            sol = capacitated_location(cost, demand, capacity, fixed_cost)
    else:
        sol = capacitated_location(cost, demand, capacity, fixed_cost)
    assert sol.status == "optimal", name
    assert sol.objective == pytest.approx(optimum, abs=1e-3), name


def test_time_limit_keeps_the_best_solution():
    """A limit that stops the MIP returns the heuristic's plan with an honest bound."""
    rng = np.random.default_rng(3)
    n, m = 120, 30
    pts, sites = rng.uniform(0, 100, (n, 2)), rng.uniform(0, 100, (m, 2))
    demand = rng.integers(1, 30, n).astype(float)
    cost = demand[:, None] * np.linalg.norm(pts[:, None] - sites[None], axis=2)
    capacity = np.full(m, demand.sum() / 6)
    fixed_cost = rng.uniform(2000, 4000, m)
    with staged(), mock.patch.object(_cflp, "_mip", side_effect=_stopped_mip):
        sol = capacitated_location(cost, demand, capacity, fixed_cost)
    assert sol.status == "feasible"
    assert np.isfinite(sol.objective)
    assert sol.bound <= sol.objective
    assert sol.gap == pytest.approx((sol.objective - sol.bound) / sol.objective)
    assert np.all(sol.load <= capacity + 1e-6)
    assert "time limit" in sol.message
    full = capacitated_location(cost, demand, capacity, fixed_cost)
    assert full.status == "optimal"
    assert sol.bound <= full.objective + 1e-6 <= sol.objective + 2e-6


def _stopped_mip(p, links, lo, up, start, opts, deadline, max_nodes=None):
    """A MIP that the clock stopped before it found anything."""
    return _cflp._Mip("time_limit", float("inf"), None, float("nan"), 0, 0)


def test_deterministic():
    cost, demand, capacity, fixed_cost = read_orlib_cap(ORLIB / "cap41.txt")
    with staged():
        a = capacitated_location(cost, demand, capacity, fixed_cost)
        b = capacitated_location(cost, demand, capacity, fixed_cost)
    assert np.array_equal(a.fractions, b.fractions)
    assert a.open.tolist() == b.open.tolist()


def test_reduced_cost_bounds():
    lo, up = reduced_cost_bounds(
        np.array([0.0, 1.0, 0.3]), np.array([4.0, -1.0, 0.0]), np.zeros(3), np.ones(3), 2.0
    )
    assert lo.tolist() == [0.0, 0.0, 0.0]
    assert up.tolist() == [0.5, 1.0, 1.0]
    lo, up = reduced_cost_bounds(np.array([1.0]), np.array([-4.0]), np.zeros(1), np.ones(1), 1.0)
    assert lo.tolist() == [0.75]


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


@pytest.mark.parametrize("force_staged", [False, True])
@pytest.mark.parametrize("single_source", [False, True])
@settings(max_examples=40, deadline=None)
@given(instances())
def test_matches_brute_force(single_source, force_staged, inst):
    cost, demand, capacity, fixed_cost, fixed, excluded = inst
    expected = brute_force(cost, demand, capacity, fixed_cost, single_source, fixed, excluded)
    with mock.patch.object(_cflp, "_DIRECT_ARCS", 0 if force_staged else _cflp._DIRECT_ARCS):
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


def test_new_highs_prints_no_banner() -> None:
    """highspy's copyright banner must not land in the CLI's output."""
    import subprocess
    import sys

    code = "from nhc_planner.optimize._highs import new_highs; new_highs(1, 0, 1.0); print('done')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == "done\n"
