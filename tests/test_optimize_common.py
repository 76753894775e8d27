"""Tests for the shared model machinery (nhc_planner.optimize._common)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from nhc_planner._errors import NhcInputError, ValueRangeError
from nhc_planner.optimize._common import (
    MipModel,
    aggregate_rows,
    as_cost_matrix,
    as_weights,
    check_max_cost,
    check_p,
    coverage_matrix,
    dominated_columns,
    parse_options,
    relative_gap,
)


def test_parse_options_normalises_indices_and_masks():
    opts = parse_options(5, fixed=[3, 1, 3], excluded=np.array([False, False, True, False, True]))
    assert opts.fixed.tolist() == [1, 3]
    assert opts.excluded.tolist() == [2, 4]
    assert opts.allowed.tolist() == [True, True, False, True, False]
    assert opts.fixed_mask.tolist() == [False, True, False, True, False]
    assert opts.time_limit_s == 60.0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"fixed": [1], "excluded": [1]}, "both fixed and excluded"),
        ({"fixed": [7]}, "0..3"),
        ({"excluded": [-1]}, "0..3"),
        ({"fixed": [0.5]}, "integer site indices"),
        ({"fixed": np.array([True, False])}, "one entry per site"),
        ({"time_limit_s": 0}, "time_limit_s"),
        ({"time_limit_s": float("inf")}, "time_limit_s"),
        ({"threads": 0}, "threads"),
        ({"seed": -1}, "seed"),
    ],
)
def test_parse_options_rejects_bad_options(kwargs, match):
    with pytest.raises(ValueRangeError, match=match):
        parse_options(4, **kwargs)


@pytest.mark.parametrize(
    ("cost", "match"),
    [
        ([1.0, 2.0], "2-D"),
        ([[1.0, np.nan]], "NaN"),
        ([[1.0, -2.0]], ">= 0"),
        ([[1.0, -np.inf]], ">= 0"),
        (np.zeros((0, 3)), "at least one"),
        ([["a", "b"]], "numeric"),
    ],
)
def test_as_cost_matrix_rejects(cost, match):
    with pytest.raises(ValueRangeError, match=match):
        as_cost_matrix(cost)


def test_as_cost_matrix_keeps_inf():
    c = as_cost_matrix([[0, np.inf]])
    assert c.dtype == np.float64
    assert np.isinf(c[0, 1])


@pytest.mark.parametrize(
    ("weights", "match"),
    [([1.0], r"shape \(2,\)"), ([1.0, -1.0], ">= 0"), ([1.0, np.inf], "finite")],
)
def test_as_weights_rejects(weights, match):
    with pytest.raises(NhcInputError, match=match):
        as_weights(weights, 2)


def test_check_p_bounds():
    opts = parse_options(4, fixed=[0, 1], excluded=[3])
    assert check_p(2, opts) == 2
    assert check_p(3, opts) == 3
    with pytest.raises(ValueRangeError, match="larger than the number of allowed sites"):
        check_p(4, opts)
    with pytest.raises(ValueRangeError, match="smaller than the number of fixed"):
        check_p(1, opts)
    with pytest.raises(ValueRangeError, match=">= 1"):
        check_p(0, parse_options(4))
    with pytest.raises(ValueRangeError, match="integer"):
        check_p(1.5, opts)


def test_check_max_cost():
    assert check_max_cost(20) == 20.0
    with pytest.raises(ValueRangeError, match="max_cost"):
        check_max_cost(-1)
    with pytest.raises(ValueRangeError, match="max_cost"):
        check_max_cost("twenty")


def test_coverage_matrix_respects_allowed():
    c = np.array([[1.0, 1.0], [np.inf, 5.0]])
    assert coverage_matrix(c, 5.0, np.array([True, False])).tolist() == [
        [True, False],
        [False, False],
    ]


@settings(max_examples=60, deadline=None)
@given(arrays(np.bool_, st.tuples(st.integers(1, 12), st.integers(1, 6))), st.data())
def test_aggregate_rows_reconstructs_rows_and_weights(rows, data):
    w = data.draw(arrays(np.float64, rows.shape[0], elements=st.floats(0, 10)))
    uniq, summed, inverse = aggregate_rows(rows, w)
    assert np.array_equal(uniq[inverse], rows)
    assert len({r.tobytes() for r in uniq}) == uniq.shape[0]
    assert summed.sum() == pytest.approx(w.sum())


@settings(max_examples=80, deadline=None)
@given(arrays(np.bool_, st.tuples(st.integers(1, 8), st.integers(1, 8))))
def test_dominated_columns_keep_a_dominator_for_every_removed_column(cover):
    removed = dominated_columns(cover)
    kept = np.flatnonzero(~removed)
    assert kept.size >= 1
    for j in np.flatnonzero(removed):
        # some kept column covers everything j covers
        assert any(np.all(cover[:, k] >= cover[:, j]) for k in kept)
    for a in kept:  # no kept column is contained in another kept one
        for b in kept:
            if a != b:
                assert not np.array_equal(cover[:, a], cover[:, b])


def test_dominated_columns_only_among_candidates():
    cover = np.array([[1, 1], [0, 1]], dtype=bool)
    assert dominated_columns(cover).tolist() == [True, False]
    assert dominated_columns(cover, np.array([True, False])).tolist() == [False, False]


def test_relative_gap():
    assert relative_gap(10.0, 10.0) == 0.0
    assert relative_gap(100.0, 90.0) == pytest.approx(0.1)
    assert np.isnan(relative_gap(float("nan"), 1.0))


@pytest.mark.parametrize("backend", ["highs", "scip"])
def test_mip_model_solves_knapsack_and_reports_infeasible(backend):
    opts = parse_options(3, time_limit_s=10)
    model = MipModel(opts, backend=backend, maximize=True)
    x = model.bool_vars(3, "x")
    model.constraint(-np.inf, 2, [(v, 1.0) for v in x])
    model.set_objective([(x[0], 3.0), (x[1], 2.0), (x[2], 1.5)], offset=1.0)
    out = model.solve()
    assert out.status == "optimal"
    assert out.objective == pytest.approx(6.0)
    assert out.gap == 0.0
    assert MipModel.values(x).round().tolist() == [1.0, 1.0, 0.0]

    model = MipModel(opts, backend=backend)
    x = model.bool_vars(2, "x")
    model.constraint(3.0, np.inf, [(v, 1.0) for v in x])
    model.set_objective([(v, 1.0) for v in x])
    assert model.solve().status == "infeasible"


def test_mip_model_unknown_backend():
    from nhc_planner._errors import SolverError

    with pytest.raises(SolverError, match="not available"):
        MipModel(parse_options(1), backend="gurobi")  # type: ignore[arg-type]


# ----------------------------------------------------------- MipModel through highspy


def _knapsack(engine: str, **opts):
    from nhc_planner.optimize._common import MipModel, parse_options

    rng = np.random.default_rng(5)
    n = 60
    value, size = rng.integers(10, 99, n), rng.integers(10, 99, n)
    model = MipModel(parse_options(1, **opts), backend="highs", maximize=True, engine=engine)
    x = model.bool_vars(n, "x")
    model.constraint(
        -np.inf, float(size.sum() // 3), [(v, float(c)) for v, c in zip(x, size, strict=True)]
    )
    model.set_objective([(v, float(c)) for v, c in zip(x, value, strict=True)], offset=1.0)
    return model, x


def test_highspy_engine_agrees_with_ortools():
    from nhc_planner.optimize._common import MipModel

    results = []
    for engine in ("ortools", "highspy"):
        model, x = _knapsack(engine)
        out = model.solve()
        assert out.status == "optimal"
        results.append((out.objective, MipModel.values(x).round().tolist()))
    assert results[0][0] == pytest.approx(results[1][0])


def test_highspy_engine_keeps_its_incumbent_at_a_node_limit():
    import dataclasses

    from nhc_planner.optimize._common import MipModel

    model, x = _knapsack("highspy")
    model.opts = dataclasses.replace(model.opts, max_nodes=1)
    model.hint(x, [0.0] * len(x))  # opening nothing is feasible: a start to keep
    out = model.solve()
    assert out.status in ("optimal", "feasible")
    assert np.isfinite(out.objective)
    assert out.bound >= out.objective - 1e-6
    if out.status == "feasible":
        assert "node limit" in out.message
        assert "best plan kept" in out.message
    chosen = MipModel.values(x)
    assert set(np.unique(chosen.round()).tolist()) <= {0.0, 1.0}


def test_highspy_engine_maps_a_variable_in_no_row_back_to_its_place():
    # the MPS exporter writes such a variable only in BOUNDS, so HiGHS reads it last
    from nhc_planner.optimize._common import MipModel, parse_options

    model = MipModel(parse_options(1), backend="highs", maximize=True, engine="highspy")
    a = model.bool_vars(1, "a")[0]
    b = model.num_vars(1, "b", 0.0, 3.0)[0]
    c = model.bool_vars(1, "c")[0]
    model.constraint(-np.inf, 1.0, [(a, 1.0), (c, 1.0)])
    model.set_objective([(a, 1.0), (c, 2.0)])
    model.hint([a, c], [1.0, 0.0])
    out = model.solve()
    assert out.status == "optimal"
    assert out.objective == pytest.approx(2.0)
    assert MipModel.values([a, b, c]).tolist() == [0.0, 0.0, 1.0]
