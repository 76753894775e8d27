"""Tests for the CFLP Lagrangian bound and site fixing (nhc_planner.optimize._cflp_lagrangian)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nhc_planner.optimize._cflp_lagrangian import _choose, fix_sites, lagrangian_bound
from tests.test_optimize_capacitated import ORLIB, allocation_cost, read_orlib_cap


@st.composite
def split_instances(draw):
    n = draw(st.integers(1, 5))
    m = draw(st.integers(1, 4))
    cost = np.array(
        draw(st.lists(st.integers(0, 30), min_size=n * m, max_size=n * m)), dtype=float
    ).reshape(n, m)
    demand = np.array(draw(st.lists(st.integers(0, 6), min_size=n, max_size=n)), dtype=float)
    equal = draw(st.booleans())
    caps = draw(st.lists(st.integers(1, 12), min_size=m, max_size=m))
    capacity = np.full(m, float(caps[0])) if equal else np.array(caps, dtype=float)
    fixed_cost = np.array(draw(st.lists(st.integers(0, 20), min_size=m, max_size=m)), dtype=float)
    return cost, demand, capacity, fixed_cost


def best_with(cost, demand, capacity, fixed_cost, site, is_open):
    """Brute-force optimum with ``site`` forced open / closed (inf if none)."""
    m = cost.shape[1]
    best = np.inf
    for size in range(1, m + 1):
        for s in itertools.combinations(range(m), size):
            if (site in s) != is_open:
                continue
            alloc = allocation_cost(cost, demand, capacity, s, False)
            best = min(best, fixed_cost[list(s)].sum() + alloc)
    return best


@settings(max_examples=60, deadline=None)
@given(split_instances())
def test_bound_and_fixing_never_cut_the_optimum(inst):
    cost, demand, capacity, fixed_cost = inst
    m = cost.shape[1]
    none = np.zeros(m, dtype=bool)
    opt = min(best_with(cost, demand, capacity, fixed_cost, 0, b) for b in (True, False))
    if not np.isfinite(opt):
        return
    res = lagrangian_bound(cost, demand, capacity, fixed_cost, none, opt, iterations=200)
    assert res.bound <= opt + 1e-6
    closed, opened = fix_sites(res, capacity, none, float(demand.sum()), opt + 1e-6)
    for j in range(m):
        if closed[j]:  # no solution as good as the optimum opens j
            assert best_with(cost, demand, capacity, fixed_cost, j, True) > opt + 1e-6
        if opened[j]:
            assert best_with(cost, demand, capacity, fixed_cost, j, False) > opt + 1e-6


def test_cap41_bound_close_to_optimum():
    cost, demand, capacity, fixed_cost = read_orlib_cap(ORLIB / "cap41.txt")
    none = np.zeros(capacity.size, dtype=bool)
    res = lagrangian_bound(cost, demand, capacity, fixed_cost, none, 1040444.375)
    assert 0.99 * 1040444.375 <= res.bound <= 1040444.375 + 1e-6


def test_choose_equal_capacities_is_exact():
    v = np.array([3.0, -1.0, 2.0, 5.0])
    cap = np.full(4, 10.0)
    value, y = _choose(v, cap, np.zeros(4, dtype=bool), 25.0)
    assert y.tolist() == [1.0, 1.0, 1.0, 0.0]  # three sites needed: -1, 2, 3
    assert value == pytest.approx(4.0)
    ban = np.array([False, False, True, False])
    value, y = _choose(v, cap, np.zeros(4, dtype=bool), 25.0, ban)
    assert y.tolist() == [1.0, 1.0, 0.0, 1.0]
    assert value == pytest.approx(7.0)
