"""Tests for nhc_planner.optimize._mclp (exact set-cover shortcut of the MCLP)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nhc_planner.optimize import max_coverage
from nhc_planner.optimize._common import parse_options
from nhc_planner.optimize._mclp import cover_within, drop_superset_rows, mclp_lp_bound


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
    sol = max_coverage(cost, [1, 2, 3, 4, 5, 6], 3, 5.0)
    assert sol.status == "optimal"
    assert sol.shortcut == "set_cover"
    assert sol.open.tolist() == [0, 1, 2]
    assert sol.objective == pytest.approx(15.0)
    assert sol.bound == pytest.approx(15.0)
    # p = 2 cannot cover everyone: the MIP decides (no shortcut)
    sol = max_coverage(cost, [1, 2, 3, 4, 5, 6], 2, 5.0)
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
    if p == 3:  # the set-cover shortcut runs on HiGHS unless SCIP was asked for
        assert sol.shortcut == "set_cover"
        assert sol.backend == ("scip" if backend == "scip" else "highs")
    else:
        assert sol.backend == backend
