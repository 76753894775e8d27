"""Tests for nhc_planner.optimize.districting_bound (seed-count branch-and-bound)."""

from __future__ import annotations

import itertools
import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from nhc_planner.optimize.districting import _Lagrangian
from nhc_planner.optimize.districting_bound import SeedRule, branch_and_bound


def brute_select(rule: SeedRule, rho: np.ndarray, k: int) -> float:
    """Least total rho over k-subsets obeying the rule (inf if none)."""
    best = math.inf
    for combo in itertools.combinations(range(rho.size), k):
        s = np.array(combo)
        if not np.isfinite(rho[s]).all() or rule.fixed_out[s].any():
            continue
        if rule.fixed_in[s].sum() != rule.fixed_in.sum():
            continue
        counts = np.bincount(rule.zone[s], minlength=rule.lo.size)
        if (counts < rule.lo).any() or (counts > rule.hi).any():
            continue
        best = min(best, float(rho[s].sum()))
    return best


@settings(max_examples=200, deadline=None)
@given(
    n=st.integers(2, 8),
    seed=st.integers(0, 100_000),
    nz=st.integers(1, 3),
    k=st.integers(1, 4),
)
def test_select_is_exact(n: int, seed: int, nz: int, k: int) -> None:
    rng = np.random.default_rng(seed)
    k = min(k, n)
    rho = rng.normal(size=n).round(2)
    rho[rng.random(n) < 0.1] = np.inf
    zone = rng.integers(0, nz, n)
    lo = rng.integers(0, 2, nz)
    hi = lo + rng.integers(0, 3, nz)
    fixed_in = rng.random(n) < 0.15
    fixed_out = ~fixed_in & (rng.random(n) < 0.15)
    rule = SeedRule(zone, lo, hi, fixed_in, fixed_out)
    picked = rule.select(rho, k)
    best = brute_select(rule, rho, k)
    if picked is None:
        assert best == math.inf
    else:
        assert picked.size == k
        assert float(rho[picked].sum()) == best or np.isclose(rho[picked].sum(), best)


def brute_kmedian(pop: np.ndarray, c: np.ndarray, k: int, lo: float, hi: float) -> float:
    """Optimum of the capacitated k-median (no contiguity) by enumeration of assignments."""
    n = pop.size
    best = math.inf
    for seeds in itertools.combinations(range(n), k):
        for assign in itertools.product(range(k), repeat=n):
            a = np.array(assign)
            if any(a[s] != d for d, s in enumerate(seeds)):
                continue
            sizes = np.bincount(a, weights=pop, minlength=k)
            if (sizes < lo).any() or (sizes > hi).any():
                continue
            best = min(best, float(np.sum(pop * c[np.arange(n), np.array(seeds)[a]])))
    return best


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 100_000))
def test_branch_and_bound_bound_is_valid(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, k = 7, 2
    xy = rng.random((n, 2)) * 10
    c = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    pop = rng.integers(5, 15, n).astype(float)
    lo, hi = 0.3 * pop.sum(), 0.6 * pop.sum()
    optimum = brute_kmedian(pop, c, k, lo, hi)
    lag = _Lagrangian(pop, c, k, lo, hi)
    zone = (xy[:, 0] > 5).astype(np.int64)
    out = branch_and_bound(
        lag.evaluate,
        zone,
        k,
        pop * c.min(axis=1),
        -math.inf,
        lambda: optimum * 1.5 if math.isfinite(optimum) else 1e9,
        lambda seeds: None,
        target=0.0,
        max_nodes=40,
        iterations=40,
        deadline=math.inf,
    )
    assert out.nodes >= 1
    if math.isfinite(optimum):
        assert out.bound <= optimum + 1e-6 * optimum
