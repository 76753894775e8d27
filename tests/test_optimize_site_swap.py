"""Tests of the site-swap local search (nhc_planner.optimize._site_swap)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nhc_planner.optimize import SizeOption
from nhc_planner.optimize import capacitated_phased as cp
from nhc_planner.optimize._site_swap import swap_search

INF = np.inf


def _model(cost: np.ndarray, weights: Any, demand: Any, **kw: Any) -> cp._Model:
    args: dict[str, Any] = {
        "periods": 1,
        "new_per_period": None,
        "budget_per_period": None,
        "carry_over": False,
        "period_weights": None,
        "sizes": [SizeOption("s", 100.0, 1.0)],
        "site_capex": None,
        "allowed_sizes": None,
        "fixed_capacity": None,
        "floors": (),
        "fixed": None,
        "excluded": None,
        "time_limit_s": 60.0,
        "threads": 1,
        "seed": 0,
    }
    args.update(kw)
    return cp._prepare(cp._validate(cost, weights, demand, 10.0, **args))


def _clock() -> cp._Clock:
    return cp._Clock(time.perf_counter(), time.perf_counter() + 60.0)


def test_swap_leaves_the_greedy_trap_hand_checked() -> None:
    # six areas in a row; site A reaches 2-5, B reaches 1-3, C reaches 4-6 (1-based).
    # With two centres the greedy takes A (4 areas) and then B or C (one more): 5 areas;
    # the best plan is B + C: all 6. Moving A to C (which shares areas 4-5 with A) finds it.
    reach = np.array(
        [
            [0, 1, 0],
            [1, 1, 0],
            [1, 1, 0],
            [1, 0, 1],
            [1, 0, 1],
            [0, 0, 1],
        ],
        dtype=bool,
    )
    cost = np.where(reach, 1.0, INF)
    m = _model(cost, np.ones(6), np.ones(6), new_per_period=2)
    greedy = cp._evaluate(m, cp._greedy(m, "gain"), 1, 0, _clock())
    assert greedy is not None
    assert greedy.objective == 5.0
    assert greedy.period[0] == 1  # A is open
    out, n = swap_search(m, greedy, 1, 0, _clock())
    assert out.objective == 6.0
    assert sorted(np.flatnonzero(out.period >= 1).tolist()) == [1, 2]
    assert 1 <= n <= 6
    again, _ = swap_search(m, out, 1, 0, _clock())  # nothing left to gain
    assert again is out


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_swap_never_worsens_and_keeps_counts_sizes_and_budgets(data: st.DataObject) -> None:
    n_areas = data.draw(st.integers(4, 9))
    n_sites = data.draw(st.integers(3, 6))
    seed = data.draw(st.integers(0, 10_000))
    rng = np.random.default_rng(seed)
    shape = (n_areas, n_sites)
    cost = np.where(rng.random(shape) < 0.45, rng.uniform(1, 9, shape), INF)
    weights = rng.integers(1, 10, n_areas).astype(float)
    demand = rng.integers(1, 30, n_areas).astype(float)
    sizes = [SizeOption("small", 20.0, 2.0), SizeOption("large", 50.0, 5.0)]
    site_capex = rng.choice([np.nan, 3.0, 6.0], size=(n_sites, 2))
    m = _model(
        cost,
        weights,
        demand,
        periods=2,
        new_per_period=[1, 1],
        budget_per_period=[6.0, 6.0],
        sizes=sizes,
        site_capex=site_capex,
    )
    start = cp._evaluate(m, cp._greedy(m, "gain"), 1, 0, _clock())
    if start is None:
        return
    out, _ = swap_search(m, start, 1, 0, _clock())
    assert out.objective >= start.objective - 1e-9
    # the same number of centres of each size in each period
    for t in (1, 2):
        assert sorted(out.size[out.period == t]) == sorted(start.size[start.period == t])
    # every open (site, size) is an option, and each period's spend is within budget
    option = {(int(j), int(s)): q for q, (j, s) in enumerate(zip(m.qj, m.qs, strict=True))}
    spend = np.zeros(2)
    for j in np.flatnonzero(out.period >= 1):
        q = option[(int(j), int(out.size[j]))]
        spend[out.period[j] - 1] += m.qcost[q]
    assert (spend <= 6.0 + 1e-9).all()
    # deterministic
    again, _ = swap_search(m, start, 1, 0, _clock())
    assert np.array_equal(again.period, out.period)
    assert np.array_equal(again.size, out.size)


def test_an_unrouted_plan_is_valued_first() -> None:
    cost = np.where(np.eye(3, dtype=bool) | np.eye(3, k=1, dtype=bool), 1.0, INF)
    m = _model(cost, np.ones(3), np.ones(3), new_per_period=1)
    plan = cp._greedy(m, "gain")  # no routing yet
    out, n = swap_search(m, plan, 1, 0, _clock())
    assert out.x is not None
    assert n >= 1
    assert out.objective == cp._evaluate(m, plan, 1, 0, _clock()).objective  # type: ignore[union-attr]
