"""Stability analysis: perturbations, determinism, parallel execution."""

from __future__ import annotations

import numpy as np
import pytest

from nhc_planner._errors import ValueRangeError
from nhc_planner.optimize.phased import phased_coverage
from nhc_planner.sensitivity import (
    Perturbation,
    default_runs,
    perturb_weights,
    stability,
)

# two strong sites (0, 1) and a marginal pair (2, 3) that the noise can swap
COST = np.array(
    [
        [1.0, 30, 30, 30],
        [30.0, 1, 30, 30],
        [30.0, 30, 1, 30],
        [30.0, 30, 30, 1],
        [30.0, 30, 12, 30],
    ]
)
WEIGHTS = np.array([10.0, 9.0, 1.0, 1.0, 0.1])
KW = {"periods": 2, "new_per_period": [2, 1], "time_limit_s": 10.0}


def test_default_runs_shape_and_seeds():
    runs = default_runs(n_weight_runs=3, weight_noise=0.2, time_shifts=(-5, 0, 5), seed=4)
    assert [r.time_shift for r in runs[:3]] == [-5.0, 0.0, 5.0]
    assert all(r.weight_noise == 0 for r in runs[:3])
    assert [r.seed for r in runs[3:]] == [5, 6, 7]
    assert all(r.weight_noise == 0.2 for r in runs[3:])


def test_perturb_weights_mean_one_and_seeded():
    w = np.ones(20_000)
    a = perturb_weights(w, 0.3, 1)
    assert a.mean() == pytest.approx(1.0, abs=0.01)
    assert np.array_equal(a, perturb_weights(w, 0.3, 1))
    assert not np.array_equal(a, perturb_weights(w, 0.3, 2))


def test_share_chosen_and_runs_table():
    res = stability(COST, WEIGHTS, 10, model_kwargs=KW, n_weight_runs=4, weight_noise=0.5)
    sites = res.sites.set_index("site_index")
    assert sites.loc[0, "share_chosen"] == 1.0
    assert sites.loc[1, "share_chosen"] == 1.0
    assert sites.loc[0, "mean_phase"] == 1.0
    # exactly one of the marginal sites is open in each run
    assert sites.loc[2, "share_chosen"] + sites.loc[3, "share_chosen"] == pytest.approx(1.0)
    assert len(res.runs) == 7
    assert set(res.runs["status"]) == {"optimal"}
    assert res.runs["max_cost"].tolist()[:3] == [5.0, 10.0, 15.0]
    assert res.chosen.shape == (7, 4)
    assert res.chosen.sum(axis=1).tolist() == [3] * 7


def test_progress_counts_every_run():
    calls: list[tuple[int, int]] = []
    res = stability(
        COST, WEIGHTS, 10, model_kwargs=KW, n_weight_runs=2, progress=lambda *a: calls.append(a)
    )
    assert calls == [(k, 5) for k in range(1, 6)]
    assert len(res.runs) == 5


def test_deterministic_and_independent_of_workers():
    a = stability(COST, WEIGHTS, 10, model_kwargs=KW, n_weight_runs=4, weight_noise=0.5, seed=3)
    b = stability(
        COST,
        WEIGHTS,
        10,
        model_kwargs=KW,
        n_weight_runs=4,
        weight_noise=0.5,
        seed=3,
        max_workers=1,
    )
    assert np.array_equal(a.chosen, b.chosen)
    assert a.sites.equals(b.sites)


def test_process_pool_gives_same_answer():
    runs = [Perturbation(0.0, 0.0, 0), Perturbation(0.5, 0.0, 1)]
    a = stability(COST, WEIGHTS, 10, model_kwargs=KW, runs=runs, executor="process")
    b = stability(COST, WEIGHTS, 10, model_kwargs=KW, runs=runs, executor="thread")
    assert np.array_equal(a.chosen, b.chosen)


def test_custom_model_and_site_ids():
    def top_one(cost, weights, max_cost):
        return phased_coverage(cost, weights, max_cost, periods=1, new_per_period=1)

    res = stability(
        COST,
        WEIGHTS,
        10,
        model=top_one,
        time_shifts=(0.0,),
        n_weight_runs=0,
        site_ids=["a", "b", "c", "d"],
    )
    assert res.sites["site_id"].tolist() == ["a", "b", "c", "d"]
    assert res.sites["share_chosen"].tolist() == [1.0, 0.0, 0.0, 0.0]
    assert res.sites["in_base"].tolist() == [True, False, False, False]


def test_infeasible_runs_are_reported_not_counted():
    from nhc_planner.optimize.phased import CoverageFloor

    floor = CoverageFloor(np.array([False, False, False, False, True]), 1.0, name="far")
    kw = {"periods": 1, "new_per_period": 1, "floors": [floor]}
    # at 10 minutes the far point (12 min) cannot be covered; at 15 it can
    res = stability(COST, WEIGHTS, 10, model_kwargs=kw, time_shifts=(0.0, 5.0), n_weight_runs=0)
    assert res.runs["status"].tolist() == ["infeasible", "optimal"]
    assert res.sites["share_chosen"].tolist() == [0.0, 0.0, 1.0, 0.0]
    assert not res.sites["in_base"].any()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"runs": []}, "no runs"),
        ({"executor": "cluster"}, "executor"),
        ({"site_ids": ["x"]}, "site_ids"),
        ({"runs": [Perturbation(-1.0, 0.0, 0)]}, "invalid perturbation"),
    ],
)
def test_invalid_inputs(kwargs, match):
    with pytest.raises(ValueRangeError, match=match):
        stability(COST, WEIGHTS, 10, model_kwargs=KW, **kwargs)
