"""Max-min served share with capacities: the first stage of phased max-min with capacities.

The capacity-true counterpart of the max-min stage of
:func:`~nhc_planner.optimize.phased.phased_coverage` (``objective="maxmin"`` with
demand and capacities). It finds the plan whose worst-served group has the largest
*served* share at the final period; the weighted stage then runs on the
capacity-true solver (:mod:`~nhc_planner.optimize.capacitated_phased`) with every
group's served share held at that value as a floor.

Formulation
-----------
The sets, data, variables and constraints of
:mod:`~nhc_planner.optimize.capacitated_phased` (service ``x_ijt`` within capacity,
sites ``y_jst`` opened once and kept, counts, budgets, service floors), plus groups
``g`` with member weights ``u_i`` and totals ``U_g = sum_{i in g} u_i`` (areas no
site can reach count in ``U_g``), and ``m`` in [0, 1]::

    max m   s.t.   sum_{i in g} u_i sum_j x_ijT >= m U_g   for every group with U_g > 0.

Method (each step stops on work, never on the clock)
    1. **Bound**: the LP relaxation (capacity rows, links of demand-free areas, all
       periods), at most :data:`~nhc_planner.optimize.capacitated_phased.LP_ITERATION_LIMIT`
       simplex iterations. Its optimum bounds the best worst-group share.
    2. **Plans**: the LP's sites rounded period by period
       (:func:`~nhc_planner.optimize.capacitated_phased._lp_rounding`), the
       capacity-aware greedy plans of the weighted model, and the greedy on area
       weights ``sum_g u_ig / U_g`` with the binding groups' weights doubled after each
       plan (:data:`REWEIGHT_ROUNDS` rounds); each plan's worst-group share is an LP
       with the plan's sites fixed (its best routing). Once a plan's share reaches the
       bound no further plan is tried (only a strictly better plan would replace it).
       On the demo region (3 years x 2 centres, 15 minutes) the reweighted greedy
       raised the worst served share from 25.8% (LP rounding) to 49.3% of a 56.7% bound.
    3. **MIP**: when the model has at most
       :data:`~nhc_planner.optimize.capacitated_phased.MIP_MAX_PAIR_PERIODS` service
       columns (a deterministic size gate: HiGHS's node limit does not bound its root
       node), HiGHS with ``mip_nodes`` nodes from the best plan; its dual bound
       tightens the LP's. Above the gate the stage is skipped and the message says so.
    4. The best plan's sites are also re-phased by the weighted greedy (the same sites,
       opened in the order that serves the most weighted need soonest), so that the
       weighted stage can start from a well-timed plan.

The time limit is a safety stop only: once it has passed no further step starts, and
the message says that the result may depend on the machine's speed.

:func:`lexicographic` is the whole capacity-true max-min solve (this stage, then the
weighted stage with every group's served share held as a floor), the one sequence behind
``capacitated_phased(objective="maxmin")``, ``phased_coverage(objective="maxmin")``
with capacities and the coverage planning model's max-min plans.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
from scipy import sparse

from nhc_planner.optimize import capacitated_phased as cp
from nhc_planner.optimize._common import size_gate_note
from nhc_planner.optimize._highs import new_highs, pass_model, run

__all__ = ["STAGE_PREFIX", "MaxMinStage", "lexicographic", "max_min_share"]

#: Prefix of the max-min stage's rows in
#: :attr:`~nhc_planner.optimize.capacitated_phased.CapacitatedPhasedResult.stages`.
STAGE_PREFIX = "max-min: "

_F = npt.NDArray[np.float64]
_I = npt.NDArray[np.int64]
_TOL = 1e-7


@dataclass(frozen=True, eq=False)
class MaxMinStage:
    """What :func:`max_min_share` returns.

    Attributes
    ----------
    status
        ``"optimal"`` (the plan's share reaches the bound), ``"feasible"``,
        ``"infeasible"`` (the floors cannot be met) or ``"time_limit_no_solution"``.
    share
        Worst group's served share at the final period of the best plan (NaN if none).
    bound
        Proven upper bound on the best worst-group share.
    plans
        Plans to start the weighted stage from, best first: ``(open_period,
        size_index)`` per site, as in
        :class:`~nhc_planner.optimize.capacitated_phased.CapacitatedPhasedResult`.
    stages
        ``(name, value, seconds)`` per step.
    message
        Plain words: what was proved, how, any skipped step or safety stop.
    clock_fired
        True when the safety time limit ended a step.
    """

    status: str
    share: float
    bound: float
    plans: tuple[tuple[_I, _I], ...]
    stages: tuple[tuple[str, float, float], ...]
    message: str
    clock_fired: bool


@dataclass(frozen=True)
class _Lp:
    """The max-min LP: rows ``a`` within ``[lo, up]``, objective ``cost``."""

    a: sparse.csr_array
    lo: _F
    up: _F
    cost: _F


def _maxmin_lp(m: cp._Model, groups: _I) -> _Lp:
    """Rows, bounds and cost of the max-min model (columns: the model's, then ``m``).

    Only groups with weight get a row.
    """
    a_mat, lo, up = cp._static_rows(m)
    n = m.n_cols
    t = m.T - 1
    live = m.floor_total[groups] > 0
    rows: list[_I] = []
    cols: list[_I] = []
    vals: list[_F] = []
    for k, g in enumerate(groups[live]):
        coef = m.fw[m.pr, g]
        nz = np.flatnonzero(coef > 0)
        rows.append(np.full(nz.size + 1, k, dtype=np.int64))
        cols.append(np.concatenate([m.xcol(t) + nz, [n]]).astype(np.int64))
        vals.append(np.concatenate([coef[nz], [-float(m.floor_total[g])]]))
    g_mat = cp._coo_rows(rows, cols, vals, int(live.sum()), n + 1)
    a_full = sparse.vstack(
        [sparse.hstack([a_mat, sparse.csr_array((a_mat.shape[0], 1))]), g_mat], format="csr"
    )
    cost = np.zeros(n + 1)
    cost[n] = 1.0
    return _Lp(
        sparse.csr_array(a_full),
        np.concatenate([lo, np.zeros(int(live.sum()))]),
        np.concatenate([up, np.full(int(live.sum()), np.inf)]),
        cost,
    )


def _solve_lp(
    m: cp._Model, lp: _Lp, y_fixed: _F | None, work: cp._Work, clock: cp._Clock
) -> tuple[str, float, _F]:
    """The max-min LP (``y_fixed``: the plan's ``(T, Q)`` site values, else relaxed).

    Returns the status, the optimum and the column values.
    """
    n = lp.cost.size
    col_lo = np.zeros(n)
    col_up = np.ones(n)
    if y_fixed is not None:
        col_lo[m.ycol(0) : m.n_cols] = y_fixed.reshape(-1)
        col_up[m.ycol(0) : m.n_cols] = y_fixed.reshape(-1)
    h = new_highs(work.threads, work.seed, clock.left(1.0))
    pass_model(h, lp.cost, lp.a, lp.lo, lp.up, col_lo, col_up, maximize=True)
    h.setOptionValue("solver", "simplex")
    h.setOptionValue("simplex_iteration_limit", cp.LP_ITERATION_LIMIT)
    status, _ = run(h)
    if status == "time_limit":
        clock.fired = True
    if status != "optimal":
        return status, float("nan"), np.zeros(n)
    return (
        status,
        float(h.getInfo().objective_function_value),
        np.asarray(h.getSolution().col_value),
    )


def _mip(
    m: cp._Model, lp: _Lp, start: _F | None, nodes: int, clock: cp._Clock, work: cp._Work
) -> tuple[str, _F | None, float]:
    """The max-min MIP (sites integer) from ``start``: status, solution and dual bound."""
    n = lp.cost.size
    h = new_highs(work.threads, work.seed, clock.left(), mip_rel_gap=0.0)
    integer = np.zeros(n, dtype=bool)
    integer[m.ycol(0) : m.n_cols] = True
    pass_model(
        h, lp.cost, lp.a, lp.lo, lp.up, np.zeros(n), np.ones(n), maximize=True, integer=integer
    )
    h.setOptionValue("mip_max_nodes", int(nodes))
    if start is not None:
        h.setSolution(int(n), np.arange(n, dtype=np.int32), start)
    status, _ = run(h)
    if status == "time_limit":
        clock.fired = True
    info = h.getInfo()
    sol = np.asarray(h.getSolution().col_value) if info.primal_solution_status == 2 else None
    dual = float(info.mip_dual_bound) if np.isfinite(info.mip_dual_bound) else float("inf")
    return status, sol, dual


def _plan_of(m: cp._Model, y: _F) -> cp._Plan:
    """The plan of integral site values ``y`` (``(T, Q)``)."""
    open_ = y > 0.5
    period = np.full(m.nc, -1, dtype=np.int64)
    size = np.full(m.nc, -1, dtype=np.int64)
    for t in range(m.T - 1, -1, -1):
        period[m.qj[open_[t]]] = t + 1
        size[m.qj[open_[t]]] = m.qs[open_[t]]
    return cp._Plan(period, size)


def _rephase(m: cp._Model, plan: cp._Plan) -> cp._Plan | None:
    """The plan's sites (and sizes) re-timed by the weighted greedy; None if it drops one."""
    chosen = (plan.period[m.qj] >= 1) & (plan.size[m.qj] == m.qs)
    if not chosen.any():
        return None
    keep = np.flatnonzero(chosen)
    sub = replace(
        m,
        qj=m.qj[keep],
        qs=m.qs[keep],
        qcap=m.qcap[keep],
        qcap_true=m.qcap_true[keep],
        qcost=m.qcost[keep],
    )
    timed = cp._greedy(sub, "gain")
    if not np.array_equal(timed.period >= 1, plan.period >= 1):
        return None
    return timed


def _candidate_plans(m: cp._Model, y_lp: _F) -> list[tuple[str, cp._Plan]]:
    """The LP-rounded plan and the weighted greedy plans, in a fixed order."""
    plans = [("LP rounding", cp._lp_rounding(m, y_lp))]
    return plans + [(name, cp._greedy(m, rule, rank)) for name, rule, rank in cp._greedy_rules(m)]


def max_min_share(
    inp: cp._Inputs,
    groups: npt.ArrayLike,
    *,
    mip_nodes: int = 2_000,
    time_limit_s: float = 120.0,
    threads: int = 1,
    seed: int = 0,
) -> MaxMinStage:
    """The plan with the largest worst-group served share at the final period.

    Parameters
    ----------
    inp
        Checked inputs (:class:`~nhc_planner.optimize.capacitated_phased._Inputs`) whose
        ``floors`` include one entry per group (share 0, the final period, the group's
        member weights).
    groups
        Positions in ``inp.floors`` of the groups' entries; the other floors are
        constraints.
    mip_nodes
        Branch-and-bound nodes of the MIP step (a work limit); 0 skips it.
    time_limit_s
        Safety stop of the whole call.
    threads, seed
        HiGHS threads and random seed.

    Returns
    -------
    MaxMinStage
    """
    t_start = time.perf_counter()
    clock = cp._Clock(t_start, t_start + time_limit_s)
    work = cp._Work(0.0, 0, mip_nodes, threads, seed)
    m = cp._prepare(inp)
    gidx = np.asarray(groups, dtype=np.int64)
    lp = _maxmin_lp(m, gidx)
    stages: list[tuple[str, float, float]] = []
    t0 = time.perf_counter()
    status, bound, val = _solve_lp(m, lp, None, work, clock)
    stages.append(("max-min LP bound", bound, time.perf_counter() - t0))
    if status == "infeasible":
        return MaxMinStage("infeasible", float("nan"), float("nan"), (), tuple(stages), "", False)
    y_lp = (
        val[m.ycol(0) : m.n_cols].reshape(m.T, m.Q) if status == "optimal" else np.zeros((m.T, m.Q))
    )
    if status != "optimal":
        bound = 1.0
    best: tuple[str, cp._Plan, float, _F] | None = None
    for name, plan in _candidate_plans(m, y_lp):
        if best is not None and (clock.expired() or best[2] >= bound - _TOL):
            break  # the safety stop, or a plan already reaches the bound
        t0 = time.perf_counter()
        st, share, vals = _solve_lp(m, lp, plan.y(m), work, clock)
        stages.append((f"{name} (worst-group share)", share, time.perf_counter() - t0))
        if st == "optimal" and (best is None or share > best[2] + _TOL):
            best = (name, plan, share, vals)
    best = _reweighted(m, gidx, lp, work, clock, stages, best, bound)
    notes: list[str] = []
    lp_bound = bound
    size = cp._mip_size(m, None)
    proven = best is not None and best[2] >= bound - _TOL
    if not proven and mip_nodes > 0 and not clock.expired():
        if size > cp.MIP_MAX_PAIR_PERIODS:
            notes.append(size_gate_note("its MIP", size, cp.MIP_MAX_PAIR_PERIODS, per="years"))
        else:
            t0 = time.perf_counter()
            _, sol, dual = _mip(m, lp, best[3] if best else None, mip_nodes, clock, work)
            bound = min(bound, dual)
            if sol is not None:
                plan = _plan_of(m, sol[m.ycol(0) : m.n_cols].reshape(m.T, m.Q))
                st, share, mip_sol = _solve_lp(m, lp, plan.y(m), work, clock)
                stages.append(("MIP (worst-group share)", share, time.perf_counter() - t0))
                if st == "optimal" and (best is None or share > best[2] + _TOL):
                    best = ("MIP", plan, share, mip_sol)
    bound_from = "LP relaxation" + (" and MIP" if bound < lp_bound - _TOL else "")
    return _stage_result(inp, m, best, (bound, bound_from), stages, notes, clock, t_start)


#: Rounds of the reweighted greedy of :func:`max_min_share` (a work limit).
REWEIGHT_ROUNDS = 8


def _reweighted(
    m: cp._Model,
    gidx: _I,
    lp: _Lp,
    work: cp._Work,
    clock: cp._Clock,
    stages: list[tuple[str, float, float]],
    best: tuple[str, cp._Plan, float, _F] | None,
    bound: float,
) -> tuple[str, cp._Plan, float, _F] | None:
    """Greedy plans for the worst group: weights per group, doubled for the binding groups.

    Each area weighs ``sum_g u_ig w_g`` with ``w_g = 1 / U_g`` at first (the greedy then
    maximises the sum of the groups' shares); after each plan, the groups whose share is
    the plan's worst-group share get their ``w_g`` doubled. :data:`REWEIGHT_ROUNDS` rounds,
    fewer once a plan's share reaches ``bound`` (no plan can do better; as only a strictly
    better plan replaces the best, stopping there keeps the same plan).
    """
    live = gidx[m.floor_total[gidx] > 0]
    if live.size == 0:
        return best
    wg = 1.0 / m.floor_total[live]
    t = m.T - 1
    for k in range(REWEIGHT_ROUNDS):
        if best is not None and (clock.expired() or best[2] >= bound - _TOL):
            break
        t0 = time.perf_counter()
        plan = cp._greedy(replace(m, a=m.fw[:, live] @ wg), "gain")
        st, share, vals = _solve_lp(m, lp, plan.y(m), work, clock)
        stages.append(
            (f"reweighted greedy {k + 1} (worst-group share)", share, time.perf_counter() - t0)
        )
        if st != "optimal":
            break
        if best is None or share > best[2] + _TOL:
            best = (f"reweighted greedy {k + 1}", plan, share, vals)
        x_t = vals[m.xcol(t) : m.xcol(t) + m.P]
        shares = (m.fw[m.pr][:, live].T @ x_t) / m.floor_total[live]
        wg = np.where(shares <= share + 1e-6, 2.0 * wg, wg)
    return best


def _stage_result(
    inp: cp._Inputs,
    m: cp._Model,
    best: tuple[str, cp._Plan, float, _F] | None,
    bound_of: tuple[float, str],
    stages: list[tuple[str, float, float]],
    notes: list[str],
    clock: cp._Clock,
    t_start: float,
) -> MaxMinStage:
    """The :class:`MaxMinStage` of the best plan found (``bound_of``: bound, its source)."""
    bound, bound_from = bound_of
    if best is None:
        text = "no plan meeting the service floors was found within the work limits"
        return MaxMinStage(
            "time_limit_no_solution", float("nan"), bound, (), tuple(stages), text, clock.fired
        )
    name, plan, share, _ = best
    bound = max(bound, share)
    status = "optimal" if share >= bound - _TOL else "feasible"
    how = "proven optimal" if status == "optimal" else f"proven bound {bound:.2%} ({bound_from})"
    text = (
        f"worst group's served share {share:.2%}, {how}, after "
        f"{time.perf_counter() - t_start:.1f} s; plan from the {name}"
    )
    if notes:
        text += "; " + "; ".join(notes)
    if clock.fired:
        text += (
            f"; stopped by the {clock.deadline - t_start:g} s safety time limit (best plan "
            "kept), so this result may depend on the machine's speed"
        )
    plans = [cp._site_arrays(inp, m, plan)]
    timed = _rephase(m, plan)
    if timed is not None and not np.array_equal(timed.period, plan.period):
        plans.append(cp._site_arrays(inp, m, timed))
    return MaxMinStage(status, share, bound, tuple(plans), tuple(stages), text, clock.fired)


def lexicographic(
    inp: cp._Inputs,
    groups: tuple[tuple[str, int, float, _F], ...],
    work: cp._Work,
    clock: cp._Clock,
    start_plans: Sequence[tuple[_I, _I]] = (),
) -> cp.CapacitatedPhasedResult:
    """Max-min, then weighted: the capacity-true max-min plan.

    First :func:`max_min_share` over ``groups`` (entries of
    :func:`~nhc_planner.optimize.capacitated_phased._group_entries`; ``inp.floors`` stay
    constraints); then the weighted stages of
    :mod:`~nhc_planner.optimize.capacitated_phased` with every group's served share
    held at the share reached (less 1e-7) as a floor, started from the max-min plans
    (and ``start_plans``). With at least 0.5 s left to the weighted stage after the
    max-min stage's safety stop (as before the two stages shared this code).

    Returns
    -------
    CapacitatedPhasedResult
        The weighted stage's result, with ``min_group_share`` (the returned plan's worst
        group's served share at the final period) and ``min_group_share_bound`` (the
        max-min stage's proven bound), the max-min stage's rows first in ``stages``
        (names prefixed :data:`STAGE_PREFIX`), both stages' messages, and ``status``
        ``"optimal"`` only when both stages are proven. When the floors cannot be met:
        ``"infeasible"`` with the shortfall; when the max-min stage finds no plan:
        ``"time_limit_no_solution"`` with ``min_group_share`` NaN.
    """
    t_start = clock.start
    first = len(inp.floors)
    mm = max_min_share(
        replace(inp, floors=inp.floors + groups),
        np.arange(first, first + len(groups)),
        mip_nodes=work.mip_nodes,
        time_limit_s=clock.left(),
        threads=work.threads,
        seed=work.seed,
    )
    mm_stages = tuple((STAGE_PREFIX + name, value, sec) for name, value, sec in mm.stages)
    prefix = f"max-min stage (capacity-true): {mm.message}"
    if mm.status == "infeasible":
        m = cp._prepare(inp)
        text = cp._floor_shortfall(m, work.threads, work.seed, clock.left(1.0))
        return cp._infeasible(inp, m, text, t_start, list(mm_stages))
    if mm.status not in ("optimal", "feasible"):
        m = cp._prepare(inp)
        nan = float("nan")
        empty = cp._empty(inp, m)
        stages = list(mm_stages)
        res = cp._result(inp, m, empty, "time_limit_no_solution", nan, nan, prefix, t_start, stages)
        return replace(res, min_group_share_bound=float(mm.bound))
    held = tuple((name, t, max(mm.share - 1e-7, 0.0), gw) for name, t, _, gw in groups)
    with_floors = replace(inp, floors=inp.floors + held)
    m = cp._prepare(with_floors)
    now = time.perf_counter()
    weighted_clock = cp._Clock(now, max(clock.deadline, now + 0.5))
    starts = cp._start_plans(m, [*mm.plans, *start_plans])
    res = cp._solve(with_floors, m, work, weighted_clock, starts)
    share = float(mm.share)
    if res.has_plan:
        final = res.served_share[:, -1]
        share = min(float(gw @ final / gw.sum()) for _, _, _, gw in groups)
    bound = max(float(mm.bound), share)
    proven = mm.status == "optimal" or share >= bound - _TOL
    return replace(
        res,
        status=res.status if proven or not res.has_plan else "feasible",
        message=f"{prefix}; weighted stage: {res.message}",
        seconds=time.perf_counter() - t_start,
        stages=mm_stages + res.stages,
        min_group_share=share,
        min_group_share_bound=bound,
    )
