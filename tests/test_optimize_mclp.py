"""Tests for nhc_planner.optimize._mclp (exact set-cover shortcut of the MCLP)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nhc_planner.optimize import max_coverage
from nhc_planner.optimize._common import parse_options
from nhc_planner.optimize._mclp import (
    _cutoff_rows,
    _dive,
    _Fixed,
    _highs,
    _implied_by_heavy,
    _improve_step,
    _lp_duals,
    _mip_on_free,
    cover_within,
    covered_weight,
    drop_superset_rows,
    greedy_swap,
    mclp_lp_bound,
    solve_reduced,
)


@st.composite
def matrices(draw, max_rows=7, max_cols=6):
    n = draw(st.integers(1, max_rows))
    m = draw(st.integers(1, max_cols))
    cells = draw(st.lists(st.booleans(), min_size=n * m, max_size=n * m))
    a = np.array(cells, dtype=bool).reshape(n, m)
    weights = np.array(draw(st.lists(st.integers(0, 9), min_size=n, max_size=n)), dtype=float)
    return a, weights


def best_coverage(a, w, p):
    m = a.shape[1]
    return max(
        float(w[a[:, list(s)].any(axis=1)].sum()) for s in itertools.combinations(range(m), p)
    )


@settings(max_examples=60, deadline=None)
@given(matrices(), st.data())
def test_cover_within_matches_brute_force(inst, data):
    a, _ = inst
    a = a[a.any(axis=1)]  # every row coverable, as the caller guarantees
    if a.shape[0] == 0:
        return
    m = a.shape[1]
    p = data.draw(st.integers(1, m))
    exists = any(
        a[:, list(s)].any(axis=1).all()
        for k in range(1, p + 1)
        for s in itertools.combinations(range(m), k)
    )
    cols, _ = cover_within(a, p, parse_options(m), time_limit_s=10)
    if not exists:
        assert cols is None
    else:
        assert cols is not None
        assert 1 <= cols.size <= p
        assert a[:, cols].any(axis=1).all()


@settings(max_examples=60, deadline=None)
@given(matrices(), st.data())
def test_lp_bound_is_an_upper_bound(inst, data):
    a, w = inst
    p = data.draw(st.integers(1, a.shape[1]))
    best = best_coverage(a, w, p)
    bound = mclp_lp_bound(a, w, p)
    assert bound >= best - 1e-6
    assert bound <= float(w[a.any(axis=1)].sum()) + 1e-6


def test_drop_superset_rows_keeps_cover_requirement():
    a = np.array([[1, 0, 0], [1, 1, 0], [0, 0, 1], [0, 1, 1]], dtype=bool)
    kept, w = drop_superset_rows(a, np.arange(4.0))
    assert kept.astype(int).tolist() == [[1, 0, 0], [0, 0, 1]]
    assert w.tolist() == [0.0, 2.0]


def test_max_coverage_uses_the_cover_shortcut_when_p_covers_everyone():
    # sites 0, 1, 2 cover all coverable points (not the last); site 3 bridges rows 1-2
    cost = np.array(
        [[1.0, 9, 9, 9], [2, 9, 9, 4], [9, 1, 9, 4], [9, 2, 9, 9], [9, 9, 1, 9], [9, 9, 9, 9]]
    )
    # the OR-Tools path (backend="cbc") keeps the set-cover shortcut; the default
    # exact core (HiGHS) proves this instance already with its local-search plan
    sol = max_coverage(cost, [1, 2, 3, 4, 5, 6], 3, 5.0, backend="cbc")
    assert sol.status == "optimal"
    assert sol.shortcut == "set_cover"
    assert sol.open.tolist() == [0, 1, 2]
    assert sol.objective == pytest.approx(15.0)
    assert sol.bound == pytest.approx(15.0)
    # p = 2 cannot cover everyone: the MIP decides (no shortcut)
    sol = max_coverage(cost, [1, 2, 3, 4, 5, 6], 2, 5.0, backend="cbc")
    assert not sol.shortcut
    assert sol.objective == pytest.approx(12.0)


@pytest.mark.parametrize("backend", ["cbc", "highs", "scip"])
@pytest.mark.parametrize("p", [2, 3])
def test_max_coverage_backends_agree(backend, p):
    cost = np.array(
        [[1.0, 9, 9, 9], [2, 9, 9, 4], [9, 1, 9, 4], [9, 2, 9, 9], [9, 9, 1, 9], [9, 9, 9, 9]]
    )
    sol = max_coverage(cost, [1, 2, 3, 4, 5, 6], p, 5.0, backend=backend)
    assert sol.status == "optimal"
    assert sol.objective == pytest.approx({2: 12.0, 3: 15.0}[p])
    if backend == "highs":  # the exact core names the stage that proved the plan
        assert sol.shortcut in ("heuristic", "set_cover", "mip")
        assert sol.backend == "highs"
    elif p == 3:  # the set-cover shortcut runs on HiGHS unless SCIP was asked for
        assert sol.shortcut == "set_cover"
        assert sol.backend == ("scip" if backend == "scip" else "highs")
    else:
        assert sol.backend == backend


# ----------------------------------------------------------------- the exact core


@settings(max_examples=80, deadline=None)
@given(matrices(max_rows=9, max_cols=7), st.data())
def test_solve_reduced_matches_brute_force(inst, data):
    a, w = inst
    keep = a.any(axis=1)
    a, w = a[keep], w[keep]
    if a.shape[0] == 0 or a.shape[1] < 2:
        return
    p = data.draw(st.integers(1, a.shape[1] - 1))
    core = solve_reduced(a, w, p, time_limit_s=30)
    assert core.status == "optimal"
    assert core.chosen.size <= p
    assert core.objective == pytest.approx(covered_weight(a, w, core.chosen))
    assert core.objective == pytest.approx(best_coverage(a, w, p))
    assert core.bound == pytest.approx(core.objective)


def test_greedy_swap_escapes_the_greedy_trap():
    # greedy takes the big middle column first; two side columns cover more
    a = np.array([[1, 1, 0], [1, 1, 0], [0, 1, 1], [0, 1, 1], [1, 0, 0], [0, 0, 1]], dtype=bool)
    w = np.array([1.0, 1, 1, 1, 1.5, 1.5])
    assert greedy_swap(a, w, 2).tolist() == [0, 2]
    assert greedy_swap(a, w, 1).tolist() == [1]


def _hard_instance(seed: int, n: int = 120, m: int = 60) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    pts, sites = rng.random((n, 2)), rng.random((m, 2))
    d = np.linalg.norm(pts[:, None, :] - sites[None, :, :], axis=2)
    return d, rng.integers(1, 100, n).astype(float)


@pytest.mark.parametrize("p", [3, 6, 9])
def test_core_equals_the_or_tools_model(p):
    cost, w = _hard_instance(p)
    ours = max_coverage(cost, w, p, 0.18)
    ref = max_coverage(cost, w, p, 0.18, backend="cbc")
    assert ours.status == ref.status == "optimal"
    assert ours.objective == pytest.approx(ref.objective)
    assert ours.open.size == p


def test_node_limit_keeps_the_best_plan_and_an_honest_bound():
    cost, w = _hard_instance(9, n=400, m=200)  # reaches the MIP stage
    sol = max_coverage(cost, w, 12, 0.11, max_nodes=0)
    best = max_coverage(cost, w, 12, 0.11)
    assert best.status == "optimal"
    assert sol.has_solution
    assert sol.open.size == 12
    assert sol.objective <= best.objective + 1e-9
    assert sol.bound >= best.objective - 1e-6  # never claims more than it proved
    if sol.status == "optimal":
        assert sol.objective == pytest.approx(best.objective)
    else:
        assert "node limit" in sol.message


def test_core_is_deterministic():
    cost, w = _hard_instance(11, n=200, m=90)
    runs = [max_coverage(cost, w, 7, 0.15, seed=3) for _ in range(2)]
    assert runs[0].open.tolist() == runs[1].open.tolist()
    assert runs[0].objective == runs[1].objective


def test_safety_time_limit_keeps_the_incumbent():
    # the demo ICB at p = 20 needs branching; a 2 s safety stop ends it early
    from nhc_planner.demo import demo_region
    from nhc_planner.travel import straight_line_times

    region = demo_region(seed=1, n_areas=1500, n_las=6, n_sites=1000)
    cost = straight_line_times(region.areas, region.sites, mode="drive", cutoff_min=60).matrix()
    w = region.areas["population"].to_numpy(dtype=float)
    sol = max_coverage(cost, w, 20, 20.0, time_limit_s=2.0)
    assert sol.has_solution
    assert sol.open.size == 20
    assert sol.objective == pytest.approx(float(w[sol.covered].sum()))
    assert sol.bound >= sol.objective
    if sol.status == "feasible":
        assert "safety time limit" in sol.message
        assert 0 < sol.gap < 0.05


def _all_free(a, w, p):
    """The final MIP's input with no column fixed."""
    n, m = a.shape
    none = np.zeros(0, dtype=np.int64)
    return _Fixed(np.arange(m), none, np.arange(n), a, w, p, 0.0, 0)


def _final_mip_from_random_incumbent(a, w, data):
    """The final MIP from a drawn p and a drawn incumbent of p sites: ``(p, outcome)``."""
    m = a.shape[1]
    p = data.draw(st.integers(1, m - 1))
    inc = np.sort(np.asarray(data.draw(st.permutations(range(m)))[:p], dtype=np.int64))
    inc_val = covered_weight(a, w, inc)
    tol = 1e-7 * max(1.0, float(w.sum()))
    return p, _mip_on_free(_highs(1, 0, 30), a, w, p, _all_free(a, w, p), inc, inc_val, tol)


@settings(max_examples=80, deadline=None)
@given(matrices(max_rows=9, max_cols=7), st.data())
def test_final_mip_from_any_incumbent_matches_brute_force(inst, data):
    # the final MIP only seeks plans better than the incumbent and fixes rows heavier
    # than the incumbent's uncovered weight covered; from any incumbent (optimal or
    # not) it must return the optimum and call it proven
    a, w = inst
    keep = a.any(axis=1)
    a, w = a[keep], w[keep]
    if a.shape[0] == 0 or a.shape[1] < 2:
        return
    p, out = _final_mip_from_random_incumbent(a, w, data)
    best = best_coverage(a, w, p)
    assert out.optimal
    assert out.cols.size <= p
    assert out.value == pytest.approx(covered_weight(a, w, out.cols))
    assert out.value == pytest.approx(best)


def test_final_mip_proves_an_optimal_incumbent_through_heavy_rows():
    # three rows of weight 5, each covered by its own site, p = 2: the incumbent {0, 1}
    # leaves 5 uncovered, so a better plan must cover every row (each weighs more than
    # 5 - tol) with two sites; that restricted MIP is infeasible, which proves {0, 1}
    a = np.eye(3, dtype=bool)
    w = np.full(3, 5.0)
    inc = np.array([0, 1])
    out = _mip_on_free(_highs(1, 0, 30), a, w, 2, _all_free(a, w, 2), inc, 10.0, 1e-7)
    assert out.optimal
    assert out.cols.tolist() == [0, 1]
    assert out.value == out.bound == 10.0


def test_dive_returns_at_most_p_columns_deterministically():
    cost, w = _hard_instance(5, n=150, m=70)
    a = cost <= 0.2
    a, w = a[a.any(axis=1)], w[a.any(axis=1)]
    runs = []
    for _ in range(2):
        _, _, x, h = _lp_duals(a, w, 6, 1, 0, 30.0)
        runs.append(_dive(h, x, 6).tolist())
    assert runs[0] == runs[1]
    assert 1 <= len(runs[0]) <= 6


@settings(max_examples=60, deadline=None)
@given(matrices(max_rows=9, max_cols=7), st.data())
def test_final_mip_with_fractional_weights_matches_brute_force(inst, data):
    # weights that are not whole numbers: a better plan need only gain tol, and the
    # cutoff, heavy rows and cardinality rows follow
    a, w = inst
    keep = a.any(axis=1)
    a, w = a[keep], w[keep] + np.linspace(0.13, 0.71, keep.sum())
    if a.shape[0] == 0 or a.shape[1] < 2:
        return
    p, out = _final_mip_from_random_incumbent(a, w, data)
    assert out.optimal
    assert out.value == pytest.approx(best_coverage(a, w, p), abs=1e-6)
    core = solve_reduced(a, w, p, time_limit_s=30)
    assert core.status == "optimal"
    assert core.objective == pytest.approx(best_coverage(a, w, p), abs=1e-6)
    assert core.bound >= core.objective - 1e-9


def test_improve_step_is_one_for_whole_weights_only():
    assert _improve_step(np.array([3.0, 1.0, 0.0]), 1e-7) == 1.0
    assert _improve_step(np.array([3.0, 1.5]), 1e-7) == 1e-7


def test_cutoff_rows_by_hand():
    # a better plan may leave 10 uncovered: of the light rows over 5, at most one
    # uncovered; over 10/3, at most two; over 2.5, at most three (k = 5..10 repeat that
    # set: left out); over 10/11, at most ten of five rows: always met, left out
    w = np.array([12.0, 6.0, 6.0, 4.0, 3.0, 1.0])
    heavy = w > 10.0
    rows = _cutoff_rows(w, heavy, 10.0)
    assert [(sel.tolist(), k) for sel, k in rows] == [
        ([1, 2], 2),
        ([1, 2, 3], 3),
        ([1, 2, 3, 4], 4),
    ]
    for sel, k in rows:  # every row set holds more than k - 1 light rows
        assert sel.size > k - 1
        assert not heavy[sel].any()


def test_implied_by_heavy_by_hand():
    # rows 0 and 1 are heavy; row 2 contains row 0's set (covered whenever row 0 is);
    # row 3 (heavy? no) does not; heavy row 1 contains heavy row 0: implied
    a = np.array([[1, 0, 0], [1, 1, 0], [1, 0, 1], [0, 1, 1]], dtype=bool)
    heavy = np.array([True, True, False, False])
    assert _implied_by_heavy(a, heavy).tolist() == [False, True, True, False]
    assert not _implied_by_heavy(a, np.zeros(4, dtype=bool)).any()
    # identical heavy rows: the lowest index stays
    b = np.array([[1, 1], [1, 1]], dtype=bool)
    assert _implied_by_heavy(b, np.array([True, True])).tolist() == [False, True]
