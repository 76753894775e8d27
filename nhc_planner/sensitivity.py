"""Stability of a plan: re-solve under perturbed need weights and time standards.

A site that is chosen whatever reasonable changes are made to the inputs is a
safe first investment; one that appears only in the base run is marginal.
:func:`stability` re-solves a model (by default
:func:`~nhc_planner.optimize.phased.phased_coverage`) for a configurable set of
:class:`Perturbation` runs -- multiplicative, mean-preserving log-normal noise
on the weights and shifts of the time standard (e.g. -5, 0, +5 minutes) -- in
parallel, and reports for every site the share of runs in which it is chosen
(``share_chosen``, the stability score).

Runs are executed in a thread pool by default: the OR-Tools solvers release
the GIL while solving, so runs proceed in parallel on several cores. A process
pool is available too. Every run has its own seeded generator and the
results are collected in run order, so the outcome is deterministic given the
seed whenever the runs solve to optimality (a run stopped by its time limit
may return a different incumbent on a busier machine; its status and gap are
reported in :attr:`StabilityResult.runs`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from nhc_planner._errors import ValueRangeError
from nhc_planner.optimize._common import (
    as_cost_matrix,
    as_weights,
    check_max_cost,
    site_labels,
)
from nhc_planner.optimize._solution import PhasedSolution, Solution
from nhc_planner.optimize.phased import phased_coverage

__all__ = ["Perturbation", "StabilityResult", "default_runs", "perturb_weights", "stability"]


@dataclass(frozen=True)
class Perturbation:
    """One re-solve.

    Attributes
    ----------
    weight_noise
        Standard deviation ``sigma`` of the log-normal multiplier applied to
        each weight, ``exp(N(0, sigma^2) - sigma^2 / 2)`` (mean 1); 0 = none.
    time_shift
        Minutes added to the time standard (may be negative).
    seed
        Seed of this run's noise.
    """

    weight_noise: float = 0.0
    time_shift: float = 0.0
    seed: int = 0


def default_runs(
    *,
    n_weight_runs: int = 5,
    weight_noise: float = 0.1,
    time_shifts: Sequence[float] = (-5.0, 0.0, 5.0),
    seed: int = 0,
) -> list[Perturbation]:
    """The default set: each time shift with unperturbed weights, then noisy-weight runs.

    Examples
    --------
    >>> [(r.weight_noise, r.time_shift) for r in default_runs(n_weight_runs=1)]
    [(0.0, -5.0), (0.0, 0.0), (0.0, 5.0), (0.1, 0.0)]
    """
    if n_weight_runs < 0 or weight_noise < 0:
        msg = (
            "default_runs: n_weight_runs and weight_noise must be >= 0; found "
            f"{n_weight_runs}, {weight_noise}"
        )
        raise ValueRangeError(msg)
    runs = [Perturbation(0.0, float(s), seed) for s in time_shifts]
    runs += [Perturbation(weight_noise, 0.0, seed + 1 + k) for k in range(n_weight_runs)]
    return runs


def perturb_weights(weights: npt.ArrayLike, noise: float, seed: int) -> npt.NDArray[np.float64]:
    """Multiply weights by mean-one log-normal noise (deterministic given ``seed``).

    Examples
    --------
    >>> perturb_weights([1.0, 2.0], 0.0, 0).tolist()
    [1.0, 2.0]
    >>> bool(np.all(perturb_weights([1.0, 2.0], 0.2, 7) == perturb_weights([1.0, 2.0], 0.2, 7)))
    True
    """
    w = np.asarray(weights, dtype=float)
    if noise == 0:
        return w.copy()
    rng = np.random.default_rng([seed, 7_919])
    factor = np.exp(rng.normal(0.0, noise, size=w.shape) - noise**2 / 2.0)
    return np.asarray(w * factor, dtype=float)


@dataclass(frozen=True)
class StabilityResult:
    """What :func:`stability` found.

    Attributes
    ----------
    sites
        One row per site: ``site_index, site_id, share_chosen`` (share of solved
        runs in which the site is open), ``mean_phase`` (mean opening period
        over the runs that open it, when the model reports ``open_period``) and
        ``in_base`` (open in the first unperturbed, unshifted run, if any).
    runs
        One row per run: ``run, weight_noise, time_shift, seed, max_cost,
        status, objective, gap, n_open``.
    chosen
        ``(n_runs, n_sites)`` boolean matrix of open sites per run (all False
        for runs without a solution).
    """

    sites: pd.DataFrame
    runs: pd.DataFrame
    chosen: npt.NDArray[np.bool_]


def _one_run(
    model: Callable[..., Solution],
    cost: npt.NDArray[np.float64],
    weights: npt.NDArray[np.float64],
    max_cost: float,
    run: Perturbation,
    kwargs: Mapping[str, Any],
) -> Solution:
    w = perturb_weights(weights, run.weight_noise, run.seed)
    return model(cost, w, max(max_cost + run.time_shift, 0.0), **kwargs)


def stability(
    cost: npt.ArrayLike,
    weights: npt.ArrayLike,
    max_cost: float,
    *,
    model: Callable[..., Solution] = phased_coverage,
    model_kwargs: Mapping[str, Any] | None = None,
    runs: Sequence[Perturbation] | None = None,
    n_weight_runs: int = 5,
    weight_noise: float = 0.1,
    time_shifts: Sequence[float] = (-5.0, 0.0, 5.0),
    seed: int = 0,
    max_workers: int | None = 2,
    executor: Literal["thread", "process"] = "thread",
    site_ids: Sequence[Any] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> StabilityResult:
    """Re-solve a model under perturbations and score each site's stability.

    Parameters
    ----------
    cost
        ``(n_demand, n_sites)`` travel times (``np.inf`` = unreachable).
    weights
        Need weight per demand point (the base, unperturbed weights).
    max_cost
        Base time standard.
    model
        A model called as ``model(cost, weights, max_cost, **model_kwargs)``
        returning a :class:`~nhc_planner.optimize.Solution` (default
        :func:`~nhc_planner.optimize.phased.phased_coverage`; for
        :func:`~nhc_planner.optimize.max_coverage`, wrap it to put ``p`` in
        place). Must be picklable for ``executor="process"``.
    model_kwargs
        Keyword options of every run (e.g. ``periods``, ``new_per_period``,
        ``fixed``, ``time_limit_s``, ``threads=1``).
    runs
        The perturbations; default :func:`default_runs` with ``n_weight_runs``,
        ``weight_noise``, ``time_shifts`` and ``seed``.
    n_weight_runs, weight_noise, time_shifts, seed
        Parameters of the default run set.
    max_workers
        Parallel runs (default 2).
    executor
        ``"thread"`` (default; the solvers release the GIL) or ``"process"``.
    site_ids
        Labels of the sites (default their indices).
    progress
        Optional ``progress(runs_done, runs_total)``, called in the calling
        thread as each run finishes (runs may take up to their time limit each).

    Returns
    -------
    StabilityResult

    Examples
    --------
    >>> cost = np.array([[1.0, 30, 30], [30, 1, 30], [30, 30, 8.0]])
    >>> res = stability(cost, [5.0, 1.0, 1.0], 10, model_kwargs={"periods": 1,
    ...                 "new_per_period": 1}, time_shifts=(0.0,), n_weight_runs=2)
    >>> res.sites[["site_index", "share_chosen"]].to_dict("list")
    {'site_index': [0, 1, 2], 'share_chosen': [1.0, 0.0, 0.0]}
    """
    c = as_cost_matrix(cost)
    n, m = c.shape
    w = as_weights(weights, n)
    standard = check_max_cost(max_cost)
    ids = site_labels(site_ids, m)
    plan = (
        list(runs)
        if runs is not None
        else default_runs(
            n_weight_runs=n_weight_runs,
            weight_noise=weight_noise,
            time_shifts=time_shifts,
            seed=seed,
        )
    )
    if not plan:
        msg = "stability: no runs to make; give runs or a non-empty default set"
        raise ValueRangeError(msg)
    for r in plan:
        if r.weight_noise < 0 or not np.isfinite(r.time_shift):
            msg = (
                f"stability: invalid perturbation {r}; weight_noise must be >= 0, time_shift finite"
            )
            raise ValueRangeError(msg)
    if executor not in ("thread", "process"):
        msg = f"executor must be 'thread' or 'process'; found {executor!r}"
        raise ValueRangeError(msg)
    kwargs = dict(model_kwargs or {})
    pool: Executor = (
        ThreadPoolExecutor(max_workers=max_workers)
        if executor == "thread"
        else ProcessPoolExecutor(max_workers=max_workers)
    )
    with pool:
        futures = [pool.submit(_one_run, model, c, w, standard, r, kwargs) for r in plan]
        if progress is not None:
            for done, _ in enumerate(as_completed(futures), start=1):
                progress(done, len(futures))
        solutions = [f.result() for f in futures]  # in run order: deterministic

    chosen = np.zeros((len(plan), m), dtype=bool)
    phases = np.full((len(plan), m), np.nan)
    rows = []
    for k, (r, sol) in enumerate(zip(plan, solutions, strict=True)):
        if sol.has_solution:
            chosen[k, sol.open] = True
            if isinstance(sol, PhasedSolution):
                op = np.asarray(sol.open_period, dtype=float)
                phases[k] = np.where(op >= 0, op, np.nan)
        rows.append(
            {
                "run": k,
                "weight_noise": r.weight_noise,
                "time_shift": r.time_shift,
                "seed": r.seed,
                "max_cost": max(standard + r.time_shift, 0.0),
                "status": sol.status,
                "objective": sol.objective,
                "gap": sol.gap,
                "n_open": int(sol.open.size) if sol.has_solution else 0,
            }
        )
    solved = np.array([s.has_solution for s in solutions])
    n_solved = int(solved.sum())
    share = chosen[solved].mean(axis=0) if n_solved else np.full(m, np.nan)
    ph = phases[solved]
    n_phase = np.isfinite(ph).sum(axis=0)
    total_phase = np.where(np.isfinite(ph), ph, 0.0).sum(axis=0)
    mean_phase = np.full(m, np.nan)
    np.divide(total_phase, n_phase, out=mean_phase, where=n_phase > 0)
    base = next(
        (k for k, r in enumerate(plan) if r.weight_noise == 0 and r.time_shift == 0 and solved[k]),
        None,
    )
    sites = pd.DataFrame(
        {
            "site_index": np.arange(m),
            "site_id": ids,
            "share_chosen": share,
            "mean_phase": mean_phase,
            "in_base": chosen[base] if base is not None else np.zeros(m, dtype=bool),
        }
    )
    return StabilityResult(sites=sites, runs=pd.DataFrame(rows), chosen=chosen)
