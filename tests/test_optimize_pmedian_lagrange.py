"""Tests for the compiled p-median kernels (nhc_planner.optimize._pmedian_lagrange)."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from nhc_planner.optimize._pmedian_lagrange import (
    covered_gradient,
    interchange,
    lagrangian_rho,
    node_subgradient,
    sort_rows,
)


def total(cost: np.ndarray, weights: np.ndarray, opened: np.ndarray) -> float:
    d = cost[:, opened].min(axis=1) if opened.any() else np.full(cost.shape[0], np.inf)
    return float(np.sum(weights * d))


@st.composite
def instances(draw, *, holes: bool = True):
    """Costs 0-30 (sometimes with unreachable pairs), weights 1-9, p, multipliers."""
    n = draw(st.integers(1, 7))
    m = draw(st.integers(1, 6))
    cost = np.array(
        draw(st.lists(st.integers(0, 30), min_size=n * m, max_size=n * m)), dtype=float
    ).reshape(n, m)
    if holes and draw(st.booleans()):
        mask = draw(st.lists(st.booleans(), min_size=n * m, max_size=n * m))
        cost[np.array(mask).reshape(n, m)] = np.inf
    weights = np.array(draw(st.lists(st.integers(1, 9), min_size=n, max_size=n)), dtype=float)
    p = draw(st.integers(1, m))
    lam = np.array(draw(st.lists(st.integers(0, 300), min_size=n, max_size=n)), dtype=float)
    start = draw(st.permutations(range(m)))[:p]
    return cost, weights, p, lam, np.array(start, dtype=np.int64)


@settings(max_examples=80, deadline=None)
@given(instances())
def test_rho_and_gradient_match_the_dense_formulas(inst):
    cost, weights, _p, lam, start = inst
    sr = sort_rows(cost, weights)
    diff = np.minimum(weights[:, None] * cost - lam[:, None], 0.0)
    rho, work = lagrangian_rho(sr.wcs, sr.order, lam)
    assert np.allclose(rho, diff.sum(axis=0))
    assert work == int((diff < 0).sum())
    opened = np.zeros(cost.shape[1], dtype=bool)
    opened[start] = True
    grad = np.empty(cost.shape[0])
    norm = covered_gradient(sr.wcs, sr.order, lam, opened, grad)
    expected = 1.0 - (diff[:, opened] < 0).sum(axis=1)
    assert np.array_equal(grad, expected)
    assert norm == float(expected @ expected)


@settings(max_examples=80, deadline=None)
@given(instances())
def test_interchange_reaches_a_local_optimum(inst):
    """Same number of sites, cost computed right, no single swap improves it, never
    worse than the start."""
    cost, weights, p, _lam, start = inst
    m = cost.shape[1]
    sr = sort_rows(cost, weights)
    opened0 = np.zeros(m, dtype=bool)
    opened0[start] = True
    keep = np.zeros(m, dtype=bool)
    keep[start[:1]] = True  # one site may not close
    opened, value, _work = interchange(sr.wcs, sr.order, opened0, np.ones(m, bool), ~keep, 1000)
    assert opened.sum() == p
    assert opened[keep].all()
    true = total(cost, weights, opened)
    assert value == true or (np.isinf(value) and np.isinf(true))
    start_cost = total(cost, weights, opened0)
    assert true <= start_cost or np.isinf(start_cost)
    if np.isfinite(true):
        for s in np.flatnonzero(opened & ~keep):
            for j in np.flatnonzero(~opened):
                swapped = opened.copy()
                swapped[[s, j]] = [False, True]
                assert total(cost, weights, swapped) >= true - 1e-9


def test_interchange_serves_a_stranded_row():
    # row 1 only reaches site 2: the swap that serves it is taken whatever it costs others
    cost = np.array([[0.0, 1, 50], [np.inf, np.inf, 40], [1, 0, 60]])
    sr = sort_rows(cost, np.ones(3))
    opened = np.array([True, True, False])
    out, value, _ = interchange(sr.wcs, sr.order, opened, np.ones(3, bool), np.ones(3, bool), 10)
    assert out[2]
    assert value == total(cost, np.ones(3), out) == 0 + 40 + 1


@settings(max_examples=60, deadline=None)
@given(instances(holes=False), st.data())
def test_node_bound_never_exceeds_the_node_optimum(inst, data):
    """With some sites forced open and some closed, the node's bound is at most the best
    cost of any solution that respects them, and its multipliers stay >= 0."""
    cost, weights, p, lam, _start = inst
    m = cost.shape[1]
    roles = data.draw(st.lists(st.sampled_from("ofc"), min_size=m, max_size=m))
    o_mask = np.array([r == "o" for r in roles])
    c_mask = np.array([r == "c" for r in roles])
    q = p - int(o_mask.sum())
    free = ~o_mask & ~c_mask
    if q < 0 or free.sum() < q:
        return
    best = np.inf
    for subset in itertools.combinations(np.flatnonzero(free), q):
        opened = o_mask.copy()
        opened[list(subset)] = True
        best = min(best, total(cost, weights, opened))
    sr = sort_rows(cost, weights)
    upper = best + 10.0
    bound, lam_out, _rho, opened, seen, n_seen, _work = node_subgradient(
        sr.wcs, sr.order, lam, o_mask, free, q, upper, 50, 1.0, 10, 1e-3
    )
    assert bound <= best + 1e-9
    assert (lam_out >= 0).all()
    assert opened.sum() == p
    assert opened[o_mask].all()
    assert not opened[c_mask].any()
    assert 1 <= n_seen <= 8
    assert (seen[:n_seen].sum(axis=1) == p).all()
