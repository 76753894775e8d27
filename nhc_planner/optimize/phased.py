"""Multi-period (phased) maximal coverage: where to open centres, in what order, how big.

The optimiser of the "coverage" planning model behind :func:`nhc_planner.plan.plan`.
It extends the maximal covering location problem (MCLP, Church & ReVelle 1974) over ``T`` periods
(years) in which centres are opened and then stay open, with optional size
choice and capacities, budgets, equity floors and a max-min objective.

Formulation
-----------
Sets
    ``I`` demand points; ``J`` candidate sites (allowed, not fixed); ``F`` fixed
    (existing) sites, open from period 0; ``S`` sizes; ``t = 1..T`` periods;
    ``N(i)`` the sites within the standard ``cost[i, j] <= max_cost``.

Data
    ``a_it`` weight (need) of demand point ``i`` in period ``t`` (``a_i`` in every
    period when one weight per point is given; per period, e.g. the population
    projected for each period's year, when ``(T, n)`` weights are given); ``w_t`` period weight
    (default the HM Treasury Green Book discount ``1.035^-(t-1)``); ``k_t`` new
    centres allowed in period ``t``; ``B_t`` budget of period ``t`` (GBP);
    ``c_js`` capital cost of opening site ``j`` at size ``s``; ``d_i`` weekly
    appointments of demand point ``i``; ``K_js`` weekly capacity of site ``j``
    at size ``s`` (``K_f`` for a fixed site).

Variables
    ``y_jst`` in {0, 1}: site ``j`` is open at size ``s`` by the end of period
    ``t``. Without capacities, ``z_it`` in [0, 1]: point ``i`` covered in
    ``t``. With capacities, ``x_ijt`` in [0, 1]: the share of ``d_i`` served by
    site ``j`` in ``t``, and ``z_it = sum_j x_ijt``.

Objective (``objective="weighted"``)
    ``max sum_t w_t sum_i a_it z_it`` -- weighted need covered, period by period,
    so earlier coverage of high-need areas counts more.

Constraints
    * one size, once open stays open: ``sum_s y_jsT <= 1``;
      ``y_js(t-1) <= y_jst``;
    * new centres: ``sum_js (y_jst - y_js(t-1)) <= k_t`` (or cumulative
      ``sum_js y_jst <= sum_{u<=t} k_u`` with ``carry_over=True``);
    * budget: ``sum_js c_js (y_jst - y_js(t-1)) <= B_t`` (or cumulative);
    * coverage (no capacities): ``z_it <= [N(i) ∩ F != {}] + sum_{j in N(i)∩J, s} y_jst``;
    * service (capacities): ``sum_{j in N(i)} x_ijt <= 1``;
      ``x_ijt <= sum_s y_jst``; ``sum_i d_i x_ijt <= sum_s K_js y_jst``
      (``<= K_f`` for fixed sites): coverage counts only up to what a centre
      can serve;
    * equity floors: for a floor ``(G, v, rho, tau)`` (members, weights,
      share, period): ``sum_{i in G} v_i z_i,tau >= rho sum_{i in G} v_i``;
      for group floors, the same for every group ``g`` at ``T``.

Max-min (``objective="maxmin"``)
    First ``max m`` subject to ``sum_{i in g} u_i z_iT >= m sum_{i in g} u_i`` for
    every group ``g`` (the worst-served group's share at the final period);
    then, with ``m`` held at the value the first stage's plan reaches, the weighted
    objective above (a lexicographic solve; the first stage is limited by
    :data:`STAGE_NODES` nodes and a size gate, :data:`MAXMIN_MAX_COVER_TERMS`, and
    starts from opening nothing, which is always feasible, so a limit keeps a plan;
    its plan's sites join the weighted stage's pools). With capacities both stages
    are capacity-true: :func:`~nhc_planner.optimize.capacitated_maxmin.max_min_share`
    (the worst *served* share), then the capacity-true weighted solver with every
    group's served share held at that value as a floor.

Preprocessing (each step provably keeps the optimum)
    * demand points covered by a fixed site (no capacities) are always
      covered: they leave the model as a constant;
    * demand points no allowed or fixed site can reach, or with no weight in
      the objective or any floor, leave the model (floors keep them in their
      denominators);
    * demand points with identical coverage sets (and the same floor
      memberships and group, and with capacities the same weight/demand
      ratio) are merged (:func:`~nhc_planner.optimize._common.aggregate_rows`);
    * without capacities, sizes only change costs, so each site keeps its
      cheapest size; candidates whose coverage set is contained in another
      candidate's with no larger cost are dropped
      (:func:`~nhc_planner.optimize._common.dominated_columns`, applied within
      groups of equal cost). Not applied with capacities, where a second
      site adds capacity.

Solved as MIPs with HiGHS (built through OR-Tools, solved through ``highspy``:
:class:`~nhc_planner.optimize._common.MipModel` with ``engine="highspy"``), in
stages that each keep a proven bound (per-period relaxations, a phased MIP over
the pooled sites of their solutions, the LP relaxation, then the full model; see
:func:`_solve_weighted` and ``docs/phasing.md``). Every stage, the full model
included, is limited by work (:data:`STAGE_NODES` branch-and-bound nodes, and a
deterministic size gate on the model, :data:`MIP_MAX_COVER_TERMS`, because HiGHS's
node limit does not bound its root node), never by a share of the wall clock, so
the plan does not depend on the machine's load; a stage skipped by the gate is named
in the message. The time limit is the safety stop of the whole solve: once it has
passed no further stage starts, the best plan found is kept and the message says
that the plan may depend on the machine's speed. The full model starts from the
pooled plan. Measured on the ICB-scale benchmark
(``benchmarks/results_phased.md``): the plain 5-period MIP reached no solution
(HiGHS) or a 148% gap (SCIP) in 120 s, and SCIP crashed the process on the demo
instance, so HiGHS is the default; CP-SAT was not measured. The relative gap
tolerance is 0, so ``"optimal"`` means proven optimal; a time limit is always
set and a result stopped by it says so with its gap. With capacities (either
objective) the model is solved by the capacity-true array solver
(:func:`_run_capacity_true`, the stages of
:mod:`~nhc_planner.optimize.capacitated_phased` and, for max-min,
:mod:`~nhc_planner.optimize.capacitated_maxmin`, limited by work alone): the
OR-Tools-built capacitated MIP ran to its time limit on the demo region. When a
capacitated solve ends without a plan (its safety stop), a documented fallback
plan is returned with an honest bound (see ``_capacity_fallback``).

References
----------
.. [1] Church R, ReVelle C. "The maximal covering location problem". Papers of
   the Regional Science Association 1974;32:101-18.
.. [2] HM Treasury. "The Green Book: appraisal and evaluation in central
   government" (2022): social time preference rate 3.5% a year.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.optimize import linprog
from scipy.sparse import coo_matrix, vstack

from nhc_planner._errors import SolverError, ValueRangeError
from nhc_planner.capacity import CostAssumptions, OpeningHours, SizeTemplate, weekly_capacity
from nhc_planner.optimize._common import (
    MipBackend,
    MipModel,
    MipOutcome,
    SolveOptions,
    aggregate_rows,
    as_cost_matrix,
    as_weights,
    check_max_cost,
    coverage_matrix,
    dominated_columns,
    floor_members,
    infeasible_solution,
    no_solution,
    parse_options,
    per_period,
    relative_gap,
    size_gate_note,
    weights_by_period,
)
from nhc_planner.optimize._solution import PhasedSolution, Status

__all__ = [
    "DEFAULT_PHASED_TIME_LIMIT_S",
    "MAXMIN_MAX_COVER_TERMS",
    "MIP_MAX_COVER_TERMS",
    "CoverageFloor",
    "SizeOption",
    "discount_weights",
    "phased_coverage",
]

DEFAULT_PHASED_TIME_LIMIT_S = 120.0
"""Default time limit of :func:`phased_coverage` (seconds)."""

_EPS = 1e-6


@dataclass(frozen=True)
class SizeOption:
    """A size the optimiser may choose for an opened site.

    Attributes
    ----------
    name
        Label (e.g. ``"medium"``).
    capacity
        Weekly appointments a centre of this size can serve (``np.inf`` = no limit).
    capex_gbp
        Capital cost of opening a centre of this size (GBP).
    """

    name: str
    capacity: float = float("inf")
    capex_gbp: float = 0.0

    def __post_init__(self) -> None:
        if not (self.capacity >= 0) or not (np.isfinite(self.capex_gbp) and self.capex_gbp >= 0):
            msg = (
                f"SizeOption {self.name!r}: capacity must be >= 0 and capex_gbp finite and "
                f">= 0; found capacity={self.capacity}, capex_gbp={self.capex_gbp}"
            )
            raise ValueRangeError(msg)

    @classmethod
    def from_template(
        cls,
        template: SizeTemplate,
        hours: OpeningHours | None = None,
        *,
        costs: CostAssumptions | None = None,
    ) -> SizeOption:
        """Size option of a :class:`~nhc_planner.capacity.SizeTemplate`.

        Examples
        --------
        >>> from nhc_planner.capacity import size_template
        >>> SizeOption.from_template(size_template("small", 6))
        SizeOption(name='small', capacity=1296.0, capex_gbp=1620000.0)
        """
        return cls(
            name=template.name,
            capacity=weekly_capacity(template, hours, costs=costs),
            capex_gbp=float(template.capex_gbp),
        )


@dataclass(frozen=True)
class CoverageFloor:
    """An equity floor: a group's covered share must reach ``share`` by ``period``.

    Attributes
    ----------
    members
        Boolean mask over demand points (e.g. ``imd_decile == 1``).
    share
        Required covered share of the group's weight, in [0, 1].
    name
        Label used in tables and explanations.
    weights
        Weights measuring the group (e.g. population); the model's
        ``weights`` when None.
    period
        Period (1..T) by which the floor must hold; the final period when None.
    """

    members: npt.ArrayLike
    share: float
    name: str = "floor"
    weights: npt.ArrayLike | None = None
    period: int | None = None


def discount_weights(periods: int, rate: float = 0.035) -> npt.NDArray[np.float64]:
    """Period weights ``(1 + rate)^-(t-1)`` for ``t = 1..periods``.

    The default rate is the HM Treasury Green Book social time preference rate.

    Examples
    --------
    >>> discount_weights(3, 0.1).round(4).tolist()
    [1.0, 0.9091, 0.8264]
    """
    return np.asarray((1.0 + rate) ** -np.arange(periods, dtype=float), dtype=float)


# --------------------------------------------------------------------------- validation


@dataclass(frozen=True)
class _Floor:
    name: str
    period: int
    share: float
    weights: npt.NDArray[np.float64]  # member weights (0 outside the group), per demand point
    total: float


def _floors(
    floors: Sequence[CoverageFloor],
    groups: npt.ArrayLike | None,
    group_floor: float | None,
    group_weights: npt.NDArray[np.float64],
    weights: npt.NDArray[np.float64],
    periods: int,
) -> tuple[list[_Floor], npt.NDArray[np.int64] | None, list[Any]]:
    n = weights.size
    out: list[_Floor] = []
    for f in floors:
        period, fw = floor_members(f, weights, periods)
        out.append(_Floor(f.name, period, float(f.share), fw, float(fw.sum())))
    if groups is None:
        if group_floor is not None:
            msg = "group_floor was given without groups (one label per demand point)"
            raise ValueRangeError(msg)
        return out, None, []
    labels = np.asarray(groups)
    if labels.shape != (n,):
        msg = f"groups: expected one label per demand point ({n}); found shape {labels.shape}"
        raise ValueRangeError(msg)
    uniq, codes = np.unique(labels, return_inverse=True)
    codes = codes.reshape(-1).astype(np.int64)
    if group_floor is not None:
        if not 0 <= group_floor <= 1:
            msg = f"group_floor must be a share in [0, 1]; found {group_floor}"
            raise ValueRangeError(msg)
        for g, label in enumerate(uniq):
            gw = np.where(codes == g, group_weights, 0.0)
            if gw.sum() > 0:
                out.append(_Floor(f"group {label}", periods, float(group_floor), gw, gw.sum()))
    return out, codes, list(uniq)


# --------------------------------------------------------------------------- the reduced instance


@dataclass
class _Instance:
    """The model after preprocessing (rows = merged demand points)."""

    periods: int
    period_weights: npt.NDArray[np.float64]
    new_per_period: npt.NDArray[np.float64] | None
    budget: npt.NDArray[np.float64] | None
    carry_over: bool
    cand: npt.NDArray[np.int64]  # original indices of candidate sites in the model
    size_ok: npt.NDArray[np.bool_]  # (n_cand, n_sizes)
    capex: npt.NDArray[np.float64]  # (n_cand, n_sizes)
    cap: npt.NDArray[np.float64] | None  # (n_cand, n_sizes) capacity, None if uncapacitated
    fixed: npt.NDArray[np.int64]  # original indices of fixed sites in the model (capacitated)
    fixed_cap: npt.NDArray[np.float64]
    rows_cand: list[npt.NDArray[np.int64]]  # per row, positions in cand
    rows_fixed: list[npt.NDArray[np.int64]]  # per row, positions in fixed
    a: npt.NDArray[np.float64]  # objective weight per row
    d: npt.NDArray[np.float64]  # weekly demand per row
    floor_w: npt.NDArray[np.float64]  # (n_rows, n_floors)
    floor_const: npt.NDArray[np.float64]  # covered weight of each floor outside the model
    group_w: npt.NDArray[np.float64]  # (n_rows, n_groups)
    group_const: npt.NDArray[np.float64]
    group_total: npt.NDArray[np.float64]
    a_const: float  # objective weight covered outside the model (final period)
    a_t: npt.NDArray[np.float64]  # (T, n_rows) objective weight per period and row
    a_const_t: npt.NDArray[np.float64]  # (T,) weight covered outside the model per period


@dataclass
class _Built:
    model: MipModel
    y: list[list[list[Any]]]  # [cand][size][t]
    cov: list[list[list[tuple[Any, float]]]]  # [row][t] -> terms of z_it
    m: Any = None


def _build(
    inst: _Instance,
    opts: SolveOptions,
    backend: MipBackend,
    *,
    floors: Sequence[_Floor],
    objective: Literal["weighted", "maxmin", "floor"],
    floor_index: int = -1,
    min_group_share: float | None = None,
    relax: bool = False,
) -> _Built:
    T = inst.periods
    # highspy: node limits are honoured, starts are taken and incumbents kept at limits
    model = MipModel(opts, backend=backend, maximize=True, engine="highspy")
    solver = model.solver
    y = _site_vars(model, inst, relax=relax)
    cov = _cover_vars(model, inst, y)

    def covered_terms(vec: npt.NDArray[np.float64], t: int) -> list[tuple[Any, float]]:
        terms: list[tuple[Any, float]] = []
        for r in np.flatnonzero(vec > 0):
            terms.extend((v, c * float(vec[r])) for v, c in cov[r][t])
        return terms

    # ---- floors
    for k, fl in enumerate(floors):
        if objective == "floor":
            continue
        need = fl.share * fl.total - inst.floor_const[k]
        if need <= _EPS * max(fl.total, 1.0):
            continue
        model.constraint(
            need - _EPS * max(fl.total, 1.0),
            np.inf,
            covered_terms(inst.floor_w[:, k], fl.period - 1),
        )
    # ---- max-min lower bound held from a first stage
    groups_live = np.flatnonzero(inst.group_total > 0)
    if min_group_share is not None:
        for g in groups_live:
            need = min_group_share * inst.group_total[g] - inst.group_const[g]
            if need > 0:
                model.constraint(need, np.inf, covered_terms(inst.group_w[:, g], T - 1))
    # ---- objective
    built = _Built(model, y, cov)
    if objective == "weighted":
        terms: list[tuple[Any, float]] = []
        for t in range(T):
            terms.extend((v, c * inst.period_weights[t]) for v, c in covered_terms(inst.a_t[t], t))
        model.set_objective(terms, offset=float(inst.period_weights @ inst.a_const_t))
    elif objective == "floor":
        fl = floors[floor_index]
        model.set_objective(
            covered_terms(inst.floor_w[:, floor_index], fl.period - 1),
            offset=float(inst.floor_const[floor_index]),
        )
    else:
        m = solver.NumVar(0.0, 1.0, "m")
        built.m = m
        for g in groups_live:
            terms = covered_terms(inst.group_w[:, g], T - 1)
            terms.append((m, -float(inst.group_total[g])))
            model.constraint(-float(inst.group_const[g]), np.inf, terms)
        model.set_objective([(m, 1.0)])
    return built


def _site_vars(model: MipModel, inst: _Instance, *, relax: bool) -> list[list[list[Any]]]:
    """Variables ``y[j][s][t]`` (open by the end of period ``t`` at size ``s``) and limits."""
    T = inst.periods
    solver = model.solver
    n_cand, n_sizes = inst.size_ok.shape
    # ---- variables: y[j][s][t], open by end of period t at size s
    y: list[list[list[Any]]] = []
    for j in range(n_cand):
        y.append(
            [
                [
                    solver.NumVar(0.0, 1.0, f"y{j}_{s}_{t}")
                    if relax
                    else solver.BoolVar(f"y{j}_{s}_{t}")
                    for t in range(T)
                ]
                if inst.size_ok[j, s]
                else []
                for s in range(n_sizes)
            ]
        )
        open_terms = [(y[j][s][T - 1], 1.0) for s in range(n_sizes) if inst.size_ok[j, s]]
        if len(open_terms) > 1:
            model.constraint(-np.inf, 1.0, open_terms)
        for s in range(n_sizes):
            for t in range(1, len(y[j][s])):
                model.constraint(-np.inf, 0.0, [(y[j][s][t - 1], 1.0), (y[j][s][t], -1.0)])
    # ---- opening limits per period (count and budget)
    for limit, coef in ((inst.new_per_period, None), (inst.budget, inst.capex)):
        if limit is None:
            continue
        cum = np.cumsum(limit)
        for t in range(T):
            terms: list[tuple[Any, float]] = []
            for j in range(n_cand):
                for s in range(n_sizes):
                    if not inst.size_ok[j, s]:
                        continue
                    c = 1.0 if coef is None else float(coef[j, s])
                    if c == 0.0:
                        continue
                    terms.append((y[j][s][t], c))
                    if t > 0 and not inst.carry_over:
                        terms.append((y[j][s][t - 1], -c))
            ub = float(cum[t]) if inst.carry_over else float(limit[t])
            if terms:
                model.constraint(-np.inf, ub, terms)
    return y


def _cover_vars(
    model: MipModel, inst: _Instance, y: list[list[list[Any]]]
) -> list[list[list[tuple[Any, float]]]]:
    """Coverage (or, with capacities, service) terms per row and period, with their links."""
    T = inst.periods
    solver = model.solver
    n_cand, n_sizes = inst.size_ok.shape
    # ---- coverage / service
    n_rows = inst.a.size
    cov: list[list[list[tuple[Any, float]]]] = []
    if inst.cap is None:
        for r in range(n_rows):
            per_t = []
            for t in range(T):
                z = solver.NumVar(0.0, 1.0, f"z{r}_{t}")
                terms = [(z, 1.0)]
                for j in inst.rows_cand[r]:
                    terms.extend((y[j][s][t], -1.0) for s in range(n_sizes) if inst.size_ok[j, s])
                model.constraint(-np.inf, 0.0, terms)
                per_t.append([(z, 1.0)])
            cov.append(per_t)
    else:
        load_c: list[list[list[tuple[Any, float]]]] = [
            [[] for _ in range(T)] for _ in range(n_cand)
        ]
        load_f: list[list[list[tuple[Any, float]]]] = [
            [[] for _ in range(T)] for _ in range(inst.fixed.size)
        ]
        for r in range(n_rows):
            per_t = []
            for t in range(T):
                terms = []
                for j in inst.rows_cand[r]:
                    x = solver.NumVar(0.0, 1.0, f"x{r}_c{j}_{t}")
                    terms.append((x, 1.0))
                    link = [(x, 1.0)]
                    link.extend((y[j][s][t], -1.0) for s in range(n_sizes) if inst.size_ok[j, s])
                    model.constraint(-np.inf, 0.0, link)
                    if inst.d[r] > 0:
                        load_c[j][t].append((x, float(inst.d[r])))
                for f in inst.rows_fixed[r]:
                    x = solver.NumVar(0.0, 1.0, f"x{r}_f{f}_{t}")
                    terms.append((x, 1.0))
                    if inst.d[r] > 0:
                        load_f[f][t].append((x, float(inst.d[r])))
                model.constraint(-np.inf, 1.0, terms)
                per_t.append(terms)
            cov.append(per_t)
        for j in range(n_cand):
            for t in range(T):
                if not load_c[j][t]:
                    continue
                # an unlimited size can serve at most all the demand it reaches
                reach_d = sum(c for _, c in load_c[j][t])
                terms = list(load_c[j][t])
                terms.extend(
                    (y[j][s][t], -min(float(inst.cap[j, s]), reach_d))
                    for s in range(n_sizes)
                    if inst.size_ok[j, s]
                )
                model.constraint(-np.inf, 0.0, terms)
        for f in range(inst.fixed.size):
            if not np.isfinite(inst.fixed_cap[f]):
                continue
            for t in range(T):
                if load_f[f][t]:
                    model.constraint(-np.inf, float(inst.fixed_cap[f]), load_f[f][t])

    return cov


@dataclass
class _Stage:
    """Outcome of the staged weighted solve (``outcome`` set when there is no solution)."""

    status: Status
    objective: float
    bound: float
    inst: _Instance
    built: _Built
    message: str
    outcome: MipOutcome | None = None
    log: dict[str, Any] = field(default_factory=dict)


def _solve(model: MipModel) -> MipOutcome:
    """Solve within the time limit and classify the termination honestly.

    :meth:`MipModel.run` and :meth:`MipModel.outcome`, like :meth:`MipModel.solve`,
    with phased's own reading: a non-standard stop after 90% of the time limit is
    "no solution" and its solution is never touched (asking pywraplp to verify a
    missing HiGHS solution crashes the process in OR-Tools 9.15); an unknown bound
    of a feasible incumbent is ``inf`` and a reported bound is kept as it is.
    """
    status, seconds = model.run(time_limit_share=0.9)
    objective = bound = float("nan")
    if status in ("optimal", "feasible"):
        objective, bound = model.incumbent()
        if status == "optimal" or not np.isfinite(bound):
            bound = objective if status == "optimal" else float("inf")
    return model.outcome(status, seconds, objective, bound)


def _solve_or_none(model: MipModel) -> MipOutcome | None:
    """:func:`_solve`, or None when the backend stops abnormally (:class:`SolverError`)."""
    try:
        return _solve(model)
    except SolverError:
        return None


#: Branch-and-bound nodes of each MIP stage (per-period bounds, pool solves, the full
#: model, the max-min stage, the floor checks): a deterministic work limit, so the
#: stages and hence the plan do not depend on the machine's load (with the size gates
#: :data:`MIP_MAX_COVER_TERMS` and :data:`MAXMIN_MAX_COVER_TERMS`, which bound the root
#: node the node limit leaves open); every stage's time limit is only the safety stop
#: of the whole solve.
STAGE_NODES = 2_000


def _with_time(opts: SolveOptions, seconds: float, nodes: int | None = STAGE_NODES) -> SolveOptions:
    """``opts`` with a safety time limit of ``seconds`` and a work limit of ``nodes``."""
    return replace(opts, time_limit_s=max(seconds, 0.5), max_nodes=nodes)


def _single_period(inst: _Instance, t: int) -> _Instance:
    """Relaxation of period ``t`` (1-based): one period with the cumulative limits.

    Every phased solution restricted to period ``t`` is feasible here with the
    same coverage, so this model's optimum (or proven bound) bounds period ``t``.
    """

    def cum(limit: npt.NDArray[np.float64] | None) -> npt.NDArray[np.float64] | None:
        return None if limit is None else np.array([float(np.sum(limit[:t]))])

    return replace(
        inst,
        periods=1,
        period_weights=np.ones(1),
        a_t=inst.a_t[t - 1 : t],
        a_const_t=inst.a_const_t[t - 1 : t],
        new_per_period=cum(inst.new_per_period),
        budget=cum(inst.budget),
        carry_over=False,
    )


def _restrict(inst: _Instance, keep: npt.NDArray[np.bool_]) -> _Instance:
    """The same instance with only the candidates in ``keep`` (positions in ``inst.cand``)."""
    new_pos = np.full(keep.size, -1, dtype=np.int64)
    new_pos[keep] = np.arange(int(keep.sum()))
    rows = [new_pos[r][new_pos[r] >= 0] for r in inst.rows_cand]
    return replace(
        inst,
        cand=inst.cand[keep],
        size_ok=inst.size_ok[keep],
        capex=inst.capex[keep],
        cap=None if inst.cap is None else inst.cap[keep],
        rows_cand=rows,
    )


#: The weighted stage's MIPs (per-period bounds of the generic model, pool solves, the
#: full model, the floor diagnostics) run only on models with at most this many
#: coverage terms (demand row x candidate site within the standard x period): a
#: deterministic size gate. HiGHS's node limit does not bound its root node: on the
#: ICB-scale benchmark's max-min case the full 5-year model (134,000 terms) spent 92 s
#: in its root node alone (under load, 2026-12-06), against seconds for the
#: pooled models (50-100 sites) and the one-period models (27,000-38,000 terms). A
#: stage above the gate is skipped and named in the message (the plan is then the best
#: pooled plan, the bound the smaller of the per-period and LP bounds; the floor
#: diagnostics use the LP relaxation). See ``benchmarks/results_phased.md``.
MIP_MAX_COVER_TERMS = 60_000


def _cover_terms(inst: _Instance) -> int:
    """Coverage terms of the phased model of ``inst``: row-site pairs within reach x periods."""
    return inst.periods * int(sum(r.size for r in inst.rows_cand))


def _gate_note(name: str, inst: _Instance) -> str:
    """The message of a MIP stage skipped by the size gate."""
    return size_gate_note(name, _cover_terms(inst), MIP_MAX_COVER_TERMS)


_CLOCK_NOTE = "so this plan may depend on the machine's speed"


@dataclass
class _Weighted:
    """The staged weighted solve of :func:`_solve_weighted` (its state between stages)."""

    inst: _Instance
    floors: Sequence[_Floor]
    opts: SolveOptions
    backend: MipBackend
    min_share: float | None
    mip_gap: float
    t_start: float = field(default_factory=time.perf_counter)
    ub: float = float("inf")
    best: _Stage | None = None
    log: dict[str, Any] = field(default_factory=lambda: {"period_bounds": []})
    notes: list[str] = field(default_factory=list)
    clock: bool = False  # the safety time limit ended a stage
    limit_s: float | None = None  # the whole solve's time limit, for messages

    def left(self) -> float:
        """Seconds to the safety stop (may be negative)."""
        return self.opts.time_limit_s - (time.perf_counter() - self.t_start)

    def build(self, target: _Instance, *, relax: bool = False) -> _Built:
        """The weighted phased model of ``target``, node-limited; the time left is a safety stop."""
        return _build(
            target,
            _with_time(self.opts, self.left()),
            self.backend,
            floors=self.floors,
            objective="weighted",
            min_group_share=self.min_share,
            relax=relax,
        )

    def solve(self, built: _Built) -> MipOutcome | None:
        """Solve ``built`` (None if the backend stops abnormally); note a clock stop."""
        out = _solve_or_none(built.model)
        if out is None or _clock_stop(built.model, out):
            self.clock = True
        return out

    def pool_solve(self, mask: npt.NDArray[np.bool_], tag: str) -> None:
        """The phased model over the sites in ``mask``; keeps its plan if it is the best."""
        small = _restrict(self.inst, mask)
        if _cover_terms(small) > MIP_MAX_COVER_TERMS:
            self.notes.append(_gate_note(f"the pooled model ({tag})", small))
            return
        built = self.build(small)
        out = self.solve(built)
        if out is None:
            return
        self.log[tag] = (int(mask.sum()), out.status, out.objective, round(out.seconds, 2))
        if out.status in ("optimal", "feasible") and (
            self.best is None or out.objective > self.best.objective
        ):
            self.best = _Stage("feasible", out.objective, self.ub, small, built, "", log=self.log)

    def done(self, bound_name: str) -> bool:
        """True (and the message set) when the best plan is within ``mip_gap`` of ``ub``."""
        best = self.best
        if best is None or not np.isfinite(self.ub):
            return False
        gap = relative_gap(best.objective, self.ub)
        elapsed = time.perf_counter() - self.t_start
        if gap <= 1e-7:
            best.status = "optimal"
            best.bound = best.objective
            best.message = (
                f"{self.backend}: optimal in {elapsed:.2f} s (a plan over {best.inst.cand.size} "
                f"pooled sites reaches the {bound_name})"
            )
            return True
        if gap <= self.mip_gap:
            best.bound = self.ub
            best.message = (
                f"{self.backend}: within {gap:.3%} of the {bound_name} after {elapsed:.2f} s "
                f"(mip_gap {self.mip_gap:.3%})"
            )
            return True
        return False

    def lp_bound(self) -> npt.NDArray[np.float64] | None:
        """Stage B2: the LP relaxation of the full model; its sites' final-period values."""
        inst = self.inst
        lp_model = self.build(inst, relax=True)
        out_lp = self.solve(lp_model)
        if out_lp is None or out_lp.status != "optimal":
            return None
        self.log["lp_bound"] = (out_lp.objective, round(out_lp.seconds, 2))
        self.ub = min(self.ub, out_lp.objective)
        if self.best is not None:
            self.best.bound = self.ub
        n_sizes = inst.size_ok.shape[1]
        return np.array(
            [
                sum(
                    lp_model.y[j][s][-1].solution_value()
                    for s in range(n_sizes)
                    if inst.size_ok[j, s]
                )
                for j in range(inst.cand.size)
            ]
        )

    def full(self) -> _Stage:
        """Stage C: the full phased model, node-limited, hinted with the best pooled plan."""
        inst = self.inst
        if self.best is not None and _cover_terms(inst) > MIP_MAX_COVER_TERMS:
            self.notes.append(_gate_note("the full model", inst))
            return self.finish()
        full = self.build(inst)
        if self.best is not None:
            _hint(full, inst, self.best)
        out_c = self.solve(full)
        if out_c is not None and out_c.status == "infeasible":
            return _Stage("infeasible", np.nan, np.nan, inst, full, out_c.message, out_c)
        c_ok = out_c is not None and out_c.status in ("optimal", "feasible")
        if out_c is not None:
            self.log["full"] = (out_c.status, out_c.objective, out_c.bound, round(out_c.seconds, 2))
        if out_c is not None and out_c.status == "optimal":
            return _Stage(
                "optimal", out_c.objective, out_c.objective, inst, full, out_c.message, log=self.log
            )
        if (
            c_ok
            and out_c is not None
            and (self.best is None or out_c.objective > self.best.objective)
        ):
            self.best = _Stage("feasible", out_c.objective, self.ub, inst, full, "", log=self.log)
        if self.best is None:
            outcome = out_c or MipOutcome(
                "time_limit_no_solution",
                np.nan,
                self.ub,
                time.perf_counter() - self.t_start,
                self.backend,
                "",
            )
            return _Stage(outcome.status, np.nan, self.ub, inst, full, outcome.message, outcome)
        if c_ok and out_c is not None:
            self.ub = min(self.ub, out_c.bound)
        return self.finish()

    def finish(self) -> _Stage:
        """The best plan with its bound and a message that says what ended the search."""
        best = self.best
        assert best is not None
        best.bound = self.ub
        best.log = self.log
        gap = relative_gap(best.objective, self.ub)
        ended = "the work limits" if not self.clock else "the safety time limit"
        gap_text = f"gap {gap:.3%}" if np.isfinite(gap) else "no bound proven"
        best.message = (
            f"{self.backend}: feasible after {time.perf_counter() - self.t_start:.2f} s "
            f"({gap_text}; ended by {ended})"
        )
        return self.annotate(best)

    def annotate(self, stage: _Stage) -> _Stage:
        """Add the skipped stages and any safety stop to ``stage``'s message."""
        extra = list(dict.fromkeys(self.notes))
        if self.clock:
            limit = self.opts.time_limit_s if self.limit_s is None else self.limit_s
            extra.append(
                f"stopped by the {limit:g} s safety time limit (best plan kept), {_CLOCK_NOTE}"
            )
        if extra:
            stage.message += "; " + "; ".join(extra)
        return stage


def _clock_stop(model: MipModel, out: MipOutcome) -> bool:
    """True when the safety time limit (not a work limit) ended a solve."""
    if out.status == "time_limit_no_solution":
        return not model.stop_reason.startswith("node")
    return out.status == "feasible" and model.stop_reason.startswith("time")


def _solve_weighted(
    inst: _Instance,
    floors: Sequence[_Floor],
    opts: SolveOptions,
    backend: MipBackend,
    min_share: float | None,
    mip_gap: float,
    extra_pool: npt.NDArray[np.bool_] | None = None,
    start: _Stage | None = None,
    limit_s: float | None = None,
) -> _Stage:
    """Bound, restrict, then (if needed) solve in full.

    A. For each period ``t``, the single-period relaxation with the cumulative
       limits (floors of period ``t``) gives a proven upper bound ``U_t`` of the
       coverage any phased plan can reach at ``t``, and a good set of sites.
       ``UB = sum_t w_t U_t`` bounds the phased objective.
    B. The phased model restricted to the union of those sites gives a plan
       (optimal within the pool). If it reaches ``UB``, it is proven optimal;
       if within ``mip_gap``, it is returned with its gap. Then the LP relaxation
       of the full model (a bound, often tighter) and the pool grown by its sites.
    C. Otherwise the full phased model, node-limited (:data:`STAGE_NODES`) and hinted
       with the plan from B, when it passes the size gate
       (:data:`MIP_MAX_COVER_TERMS`); the better plan and the smaller bound are kept.

    ``extra_pool`` (a mask over ``inst.cand``) joins the pool of B: the max-min
    stage's sites, which meet the max-min floor (on the ICB-scale benchmark they raised
    the pooled plan by 1.2%). ``start``, a plan known to be feasible (the max-min
    stage's), is kept unless a stage finds a better one, so a safety stop always
    leaves a plan. ``limit_s`` is the whole solve's time limit (for messages; default
    ``opts.time_limit_s``).

    Every stage stops on work (nodes, the size gate); the time limit is a safety stop
    after which no further stage starts, and a plan it stopped says so.
    """
    run = _Weighted(inst, floors, opts, backend, min_share, mip_gap, best=start, limit_s=limit_s)
    # ---- A: per-period relaxations
    bounds = _period_bounds(run)
    if isinstance(bounds, _Stage):
        return bounds
    upper, pool, bounds_ok = bounds
    if extra_pool is not None:
        pool = pool | extra_pool
    run.ub = float(inst.period_weights @ upper) if bounds_ok else float("inf")
    # ---- B: the phased model over the pool of sites, the LP bound, the grown pool
    if pool.any() and pool.sum() < inst.cand.size and run.left() > 0:
        run.pool_solve(pool, "pool")
        if run.done("sum of per-period optima"):
            return run.annotate(run.best)  # type: ignore[arg-type]
        if run.left() <= 0 and run.best is not None:  # the safety stop: keep the pool's plan
            run.clock = True
            return run.finish()
        lp_open = run.lp_bound()
        if lp_open is not None:
            if run.done("LP relaxation bound"):
                return run.annotate(run.best)  # type: ignore[arg-type]
            grown = pool | (lp_open > 1e-6)
            if grown.sum() > pool.sum() and grown.sum() < inst.cand.size and run.left() > 0:
                run.pool_solve(grown, "pool_lp")
                if run.done("LP relaxation bound"):
                    return run.annotate(run.best)  # type: ignore[arg-type]
    # ---- C: the full phased model, hinted with B
    if run.best is not None and run.left() <= 0:  # the safety stop: keep the pool's plan
        run.clock = True
        return run.finish()
    return run.full()


def _period_bounds(
    run: _Weighted,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_], bool] | _Stage:
    """Stage A of :func:`_solve_weighted`: per-period upper bounds and a pool of sites.

    Returns the bound of each period, the sites any period's relaxation opens and
    whether every bound was proven; or an infeasible :class:`_Stage`. A generic
    one-period model above the size gate is skipped (that period has no bound).
    """
    inst, floors, opts, min_share, log = run.inst, run.floors, run.opts, run.min_share, run.log
    T = inst.periods
    upper = np.zeros(T)
    pool = np.zeros(inst.cand.size, dtype=bool)
    bounds_ok = True
    for t in range(1, T + 1):
        if run.left() <= 0:  # the safety stop: no proven bound for the later periods
            run.clock = True
            bounds_ok = False
            break
        sub = _single_period(inst, t)
        # this period's floors apply in the one-period model; floors of other periods
        # get share 0 (kept so floor columns line up)
        relaxed = [
            replace(fl, period=1) if fl.period == t else replace(fl, period=1, share=0.0, total=0.0)
            for fl in floors
        ]
        fast = _mclp_bound(sub, relaxed, min_share if t == T else None, opts, run.left())
        if fast is not None:  # a plain count-limited MCLP: the exact MCLP core bounds it
            bound_t, value_t, status_t, open_t, seconds_t = fast
            run.clock |= status_t == "time_limit"  # the MCLP core's safety stop
            upper[t - 1] = bound_t
            log["period_bounds"].append(
                (t, status_t, round(value_t, 3), round(bound_t, 3), seconds_t, "mclp core")
            )
            pool |= open_t
            continue
        if _cover_terms(sub) > MIP_MAX_COVER_TERMS:
            run.notes.append(_gate_note(f"the period-{t} bound", sub))
            bounds_ok = False
            continue
        built = _build(
            sub,
            _with_time(opts, run.left()),  # node-limited; the time is a safety stop
            run.backend,
            floors=relaxed,
            objective="weighted",
            min_group_share=min_share if t == T else None,
        )
        out = run.solve(built)
        if out is None:
            bounds_ok = False
            continue
        if out.status == "infeasible":
            return _Stage("infeasible", np.nan, np.nan, inst, built, out.message, out)
        if out.status not in ("optimal", "feasible") or not np.isfinite(out.bound):
            bounds_ok = False
            continue
        upper[t - 1] = out.bound
        log["period_bounds"].append(
            (t, out.status, round(out.objective, 3), round(out.bound, 3), round(out.seconds, 2))
        )
        period_c, _ = _open_periods(sub, built)
        pool |= period_c > 0
    return upper, pool, bounds_ok


def _mclp_bound(
    sub: _Instance,
    floors: Sequence[_Floor],
    min_share: float | None,
    opts: SolveOptions,
    seconds: float,
) -> tuple[float, float, str, npt.NDArray[np.bool_], float] | None:
    """A one-period relaxation that is a plain MCLP, bounded by the exact MCLP core.

    Applies without capacities, budgets, live floors or a max-min share: then the
    one-period model is "cover the most weight with at most ``K`` new sites", and
    :func:`~nhc_planner.optimize._mclp.solve_reduced` (exact reductions, Lagrangian
    bound, local search, reduced-cost fixing, HiGHS on the rest) gives a proven
    bound and a plan much faster than the generic model. Node-limited
    (:data:`STAGE_NODES`); ``seconds`` is a safety stop. Returns the bound and
    the plan's value (the model's objective, constants included), the status
    (``"time_limit"`` when the safety stop ended the core), the sites opened (mask
    over ``sub.cand``) and the seconds; None when it does not apply.
    """
    from nhc_planner.optimize._mclp import solve_reduced

    live = any(fl.share > 0 and fl.total > 0 for fl in floors)
    if sub.cap is not None or sub.budget is not None or sub.new_per_period is None:
        return None
    if live or min_share is not None:
        return None
    start = time.perf_counter()
    k = round(float(sub.new_per_period[0]))
    n_cand = sub.cand.size
    can_open: npt.NDArray[np.bool_] = np.asarray(sub.size_ok.any(axis=1), dtype=bool)
    a_w = sub.a_t[0]  # the one period's weight per row (per-period weights: its row)
    const = float(sub.a_const_t[0])
    cover = np.zeros((a_w.size, n_cand), dtype=bool)
    for r, js in enumerate(sub.rows_cand):
        cover[r, js] = True
    cover &= can_open[np.newaxis, :]
    rows = np.flatnonzero(cover.any(axis=1) & (a_w > 0))
    uniq, w, _ = aggregate_rows(cover[rows], a_w[rows])
    cols = np.flatnonzero(can_open & ~dominated_columns(uniq, can_open))
    a = uniq[:, cols]
    opened = np.zeros(n_cand, dtype=bool)
    if k <= 0 or a.shape[0] == 0:
        value = const
        return value, value, "optimal", opened, round(time.perf_counter() - start, 2)
    if cols.size <= k:
        opened[cols] = True
        bound = const + float(w.sum())
        return bound, bound, "optimal", opened, round(time.perf_counter() - start, 2)
    core = solve_reduced(
        a,
        w,
        k,
        time_limit_s=max(seconds, 0.5),
        threads=opts.threads,
        seed=opts.seed,
        max_nodes=STAGE_NODES,
    )
    opened[cols[core.chosen]] = True
    bound, value = const + float(core.bound), const + float(core.objective)
    status = core.status if "safety time limit" not in core.message else "time_limit"
    return bound, value, status, opened, round(time.perf_counter() - start, 2)


def _hint(full: _Built, inst: _Instance, best: _Stage) -> None:
    """Give the full model the plan of a restricted solve as a starting point."""
    period_b, size_b = _open_periods(best.inst, best.built)
    pos = {int(site): k for k, site in enumerate(inst.cand)}
    variables: list[Any] = []
    values: list[float] = []
    n_sizes = inst.size_ok.shape[1]
    opened = {
        pos[int(site)]: (int(p), int(s))
        for site, p, s in zip(best.inst.cand, period_b, size_b, strict=True)
    }
    for j in range(inst.cand.size):
        p_j, s_j = opened.get(j, (-1, -1))
        for s in range(n_sizes):
            for t, var in enumerate(full.y[j][s]):
                variables.append(var)
                values.append(1.0 if (s == s_j and p_j > 0 and t + 1 >= p_j) else 0.0)
    full.model.hint(variables, values)


def _open_periods(
    inst: _Instance, built: _Built
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Per candidate in the model: opening period (1..T, -1 never) and size index."""
    n_cand, n_sizes = inst.size_ok.shape
    T = inst.periods
    period = np.full(n_cand, -1, dtype=np.int64)
    size = np.full(n_cand, -1, dtype=np.int64)
    for j in range(n_cand):
        for s in range(n_sizes):
            if not inst.size_ok[j, s]:
                continue
            vals = MipModel.values(built.y[j][s])
            if vals[T - 1] > 0.5:
                period[j] = int(np.argmax(vals > 0.5)) + 1
                size[j] = s
    return period, size


# --------------------------------------------------------------------------- public API


@dataclass(frozen=True, eq=False)
class PhasedSettings:
    """The options of :func:`phased_coverage` (its keyword parameters), grouped.

    Every field is documented under "Other Parameters" of :func:`phased_coverage`.
    """

    periods: int = 5
    new_per_period: int | Sequence[int] | None = None
    budget_per_period: float | Sequence[float] | None = None
    carry_over: bool = False
    period_weights: npt.ArrayLike | None = None
    sizes: Sequence[SizeOption | SizeTemplate] | None = None
    site_capex: npt.ArrayLike | None = None
    allowed_sizes: npt.ArrayLike | None = None
    demand: npt.ArrayLike | None = None
    capacity: float | npt.ArrayLike | None = None
    fixed_capacity: float | npt.ArrayLike | None = None
    floors: Sequence[CoverageFloor] = ()
    groups: npt.ArrayLike | None = None
    group_floor: float | None = None
    group_weights: npt.ArrayLike | None = None
    objective: Literal["weighted", "maxmin"] = "weighted"
    fixed: Sequence[int] | npt.NDArray[Any] | None = None
    excluded: Sequence[int] | npt.NDArray[Any] | None = None
    time_limit_s: float = DEFAULT_PHASED_TIME_LIMIT_S
    threads: int = 1
    seed: int = 0
    backend: MipBackend = "highs"
    mip_gap: float = 0.0
    explain_infeasible: bool = True


def _settings(settings: PhasedSettings | None, options: dict[str, Any]) -> PhasedSettings:
    """``settings`` (or the defaults) with ``options`` applied; unknown options are an error."""
    base = settings if settings is not None else PhasedSettings()
    known = set(PhasedSettings.__dataclass_fields__)
    unknown = sorted(set(options) - known)
    if unknown:
        msg = f"phased_coverage: unknown option(s) {unknown}; expected some of {sorted(known)}"
        raise ValueRangeError(msg)
    return replace(base, **options) if options else base


def phased_coverage(
    cost: npt.ArrayLike,
    weights: npt.ArrayLike,
    max_cost: float,
    settings: PhasedSettings | None = None,
    **options: Any,
) -> PhasedSolution:
    """Phased maximal coverage: choose sites, their opening period and size.

    The formulation is in the module docstring (:mod:`nhc_planner.optimize.phased`).

    Parameters
    ----------
    cost
        ``(n_demand, n_sites)`` travel times (``np.inf`` = unreachable).
    weights
        Need weight per demand point (e.g. population x need score), ``(n,)``;
        or one row per period, ``(T, n)`` (e.g. each period's projected
        population x need factor): period ``t``'s coverage is then weighed with
        row ``t``. Floors and group weights default to the final period's row.
    max_cost
        The standard: a demand point is covered by a site with ``cost <= max_cost``.
    settings
        All options at once (:class:`PhasedSettings`); keyword ``options``
        (the fields of :class:`PhasedSettings`, below) override them.
    Other Parameters
    ----------------
    periods
        Number of periods ``T`` (years) in which centres open.
    new_per_period
        New centres allowed per period (a number or ``T`` numbers).
    budget_per_period
        Capital budget per period in GBP (a number or ``T`` numbers); needs
        costs from ``sizes`` or ``site_capex``. At least one of
        ``new_per_period`` and ``budget_per_period`` is required.
    carry_over
        When True, unused openings/budget carry over to later periods
        (the limits become cumulative).
    period_weights
        ``T`` non-negative weights of each period's coverage; default
        :func:`discount_weights` (3.5% a year).
    sizes
        Sizes to choose from (:class:`SizeOption`, or capacity templates
        converted with :meth:`SizeOption.from_template`). Without ``sizes``,
        one size with capacity ``capacity`` and cost ``site_capex``.
    site_capex
        Capital cost per site, ``(n_sites,)`` or ``(n_sites, n_sizes)``;
        NaN entries fall back to the size's ``capex_gbp``.
    allowed_sizes
        ``(n_sites, n_sizes)`` boolean mask of sizes each site can take
        (e.g. a room cap); all sizes when None.
    demand
        Weekly appointments per demand point. When given, coverage is only
        counted up to the capacity of the centres serving it (demand may be
        split between sites within the standard).
    capacity
        Weekly capacity of a new centre when ``sizes`` is None (a number or
        one per site; ``np.inf`` = unlimited).
    fixed_capacity
        Weekly capacity of each fixed site (a number or one per fixed site,
        in the sorted order of ``fixed``); default the largest size's capacity.
    floors
        Equity floors (:class:`CoverageFloor`).
    groups
        A label per demand point (e.g. local authority) for ``group_floor``
        and ``objective="maxmin"``.
    group_floor
        Minimum covered share of every group at the final period.
    group_weights
        Weights measuring group coverage (default ``weights``).
    objective
        ``"weighted"`` (default) or ``"maxmin"``: maximise the smallest
        group's covered share first, then the weighted objective.
    fixed, excluded
        Site indices (or masks) that are already open (period 0) / never open.
    time_limit_s, threads, seed
        Solver controls; a time limit is always set.
    backend
        MIP backend: ``"highs"`` (default), ``"scip"`` or ``"cbc"``.
    mip_gap
        Stop as soon as the plan is proven within this relative gap of the
        optimum (default 0: prove optimality or run to the time limit). The
        status is ``"optimal"`` only when the gap is proven zero.
    explain_infeasible
        When the floors cannot be met, run diagnostic solves to say which
        floor fails and by how much (each node-limited, with the time limit / 4
        as its safety stop).

    Returns
    -------
    PhasedSolution
        ``open``: sites open at the end; ``assignment``: per demand point the
        nearest open site within the standard at the end (the site serving
        the largest share with capacities), -1 if none; ``fractions``: with
        capacities, the ``(n_demand, n_sites)`` shares served at the end;
        ``open_period``, ``size``, coverage and capital by period, floors and
        group tables (see :class:`~nhc_planner.optimize.PhasedSolution`). An
        infeasible policy returns status ``"infeasible"`` with ``explanation``.

    Raises
    ------
    ValueRangeError
        For inconsistent inputs (shapes, negative values, no opening limit,
        a budget without costs) or an unknown option.

    Examples
    --------
    >>> cost = np.array([[5.0, 30.0], [30.0, 5.0], [30.0, 8.0]])
    >>> sol = phased_coverage(cost, [1.0, 1.0, 1.0], 10, periods=2, new_per_period=1)
    >>> sol.status, sol.open_period.tolist()
    ('optimal', [2, 1])
    >>> sol.coverage_by_period.tolist()
    [0.0, 2.0, 3.0]
    """
    start = time.perf_counter()
    prob = _problem(cost, weights, max_cost, _settings(settings, options))
    red = _preprocess(prob)
    unreachable = _unreachable_floor(prob, red, start)
    if unreachable is not None:
        return unreachable
    run = _run(prob, red, start)
    if isinstance(run, PhasedSolution):
        return run
    return _assemble(prob, red, run, start)


# --------------------------------------------------------------------------- stage 1: inputs


@dataclass(frozen=True, eq=False)
class _Problem:
    """The validated, normalised inputs of one :func:`phased_coverage` call."""

    c: npt.NDArray[np.float64]  # (n, m) cost
    w: npt.NDArray[np.float64]  # weight per demand point (the final period's)
    wt: npt.NDArray[np.float64]  # (T, n) weight per period and demand point
    standard: float
    opts: SolveOptions
    s: PhasedSettings
    periods: int
    k_t: npt.NDArray[np.float64] | None  # new centres per period
    b_t: npt.NDArray[np.float64] | None  # budget per period
    pw: npt.NDArray[np.float64]  # period weights
    size_list: list[SizeOption]
    cap_js: npt.NDArray[np.float64]  # (m, n_sizes) capacity
    capex_js: npt.NDArray[np.float64]  # (m, n_sizes) capital cost
    ok_js: npt.NDArray[np.bool_]  # (m, n_sizes) sizes allowed per site
    d: npt.NDArray[np.float64] | None  # weekly demand per point
    capacitated: bool
    fixed_idx: npt.NDArray[np.int64]
    fcap: npt.NDArray[np.float64]  # capacity per fixed site
    gw: npt.NDArray[np.float64]  # group weights
    floor_list: list[_Floor]
    group_codes: npt.NDArray[np.int64] | None
    group_labels: list[Any]

    @property
    def n(self) -> int:
        return int(self.c.shape[0])

    @property
    def m(self) -> int:
        return int(self.c.shape[1])


def _problem(
    cost: npt.ArrayLike, weights: npt.ArrayLike, max_cost: float, s: PhasedSettings
) -> _Problem:
    """Check and normalise the inputs (raises :class:`ValueRangeError` on the first problem)."""
    c = as_cost_matrix(cost)
    n, m = c.shape
    standard = check_max_cost(max_cost)
    opts = parse_options(
        m,
        fixed=s.fixed,
        excluded=s.excluded,
        time_limit_s=s.time_limit_s,
        threads=s.threads,
        seed=s.seed,
    )
    periods = s.periods
    if isinstance(periods, bool) or int(periods) != periods or periods < 1:
        msg = f"periods must be an integer >= 1; found {periods!r}"
        raise ValueRangeError(msg)
    T = int(periods)
    w, by_period = weights_by_period(weights, n, T)
    wt = np.tile(w, (T, 1)) if by_period is None else by_period
    k_t = per_period(s.new_per_period, T, "new_per_period", integer=True)
    b_t = per_period(s.budget_per_period, T, "budget_per_period", integer=False)
    if k_t is None and b_t is None:
        msg = "phased_coverage needs new_per_period or budget_per_period (or both)"
        raise ValueRangeError(msg)
    pw = (
        discount_weights(T)
        if s.period_weights is None
        else as_weights(s.period_weights, T, "period_weights")
    )
    if not 0 <= s.mip_gap < 1:
        msg = f"mip_gap must be a relative gap in [0, 1); found {s.mip_gap!r}"
        raise ValueRangeError(msg)
    if s.objective not in ("weighted", "maxmin"):
        msg = f"objective must be 'weighted' or 'maxmin'; found {s.objective!r}"
        raise ValueRangeError(msg)
    size_list, cap_js, capex_js, ok_js = _size_arrays(s, m, b_t)
    d = None if s.demand is None else as_weights(s.demand, n, "demand")
    capacitated = d is not None and bool(
        np.any(np.isfinite(cap_js[ok_js])) or s.fixed_capacity is not None
    )
    fcap = _fixed_capacity(s, opts.fixed, cap_js)
    gw = w if s.group_weights is None else as_weights(s.group_weights, n, "group_weights")
    floor_list, group_codes, group_labels = _floors(s.floors, s.groups, s.group_floor, gw, w, T)
    if s.objective == "maxmin" and group_codes is None:
        msg = "objective='maxmin' needs groups (one label per demand point)"
        raise ValueRangeError(msg)
    return _Problem(
        c=c,
        w=w,
        wt=wt,
        standard=standard,
        opts=opts,
        s=s,
        periods=T,
        k_t=k_t,
        b_t=b_t,
        pw=pw,
        size_list=size_list,
        cap_js=cap_js,
        capex_js=capex_js,
        ok_js=ok_js,
        d=d,
        capacitated=capacitated,
        fixed_idx=opts.fixed,
        fcap=fcap,
        gw=gw,
        floor_list=floor_list,
        group_codes=group_codes,
        group_labels=group_labels,
    )


def _size_arrays(
    s: PhasedSettings, m: int, b_t: npt.NDArray[np.float64] | None
) -> tuple[
    list[SizeOption], npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.bool_]
]:
    """Sizes, and capacity, capital cost and allowed mask per (site, size)."""
    if s.sizes is None:
        cap_site = np.full(m, np.inf) if s.capacity is None else np.asarray(s.capacity, float)
        cap_site = np.broadcast_to(cap_site, (m,)) if cap_site.ndim == 0 else cap_site
        if cap_site.shape != (m,) or np.any(np.isnan(cap_site)) or np.any(cap_site < 0):
            msg = (
                f"capacity: expected a number or {m} non-negative values (one per site); "
                f"found shape {cap_site.shape}"
            )
            raise ValueRangeError(msg)
        size_list = [SizeOption("standard", float("inf"), 0.0)]
        cap_js = cap_site.reshape(m, 1).astype(float)
    else:
        if s.capacity is not None:
            msg = "give either sizes (with their capacities) or capacity, not both"
            raise ValueRangeError(msg)
        size_list = [
            z if isinstance(z, SizeOption) else SizeOption.from_template(z) for z in s.sizes
        ]
        if not size_list:
            msg = "sizes: expected at least one size"
            raise ValueRangeError(msg)
        cap_js = np.tile([z.capacity for z in size_list], (m, 1)).astype(float)
    n_sizes = len(size_list)
    capex_js = np.tile([z.capex_gbp for z in size_list], (m, 1)).astype(float)
    if s.site_capex is not None:
        sc = np.asarray(s.site_capex, float)
        sc = sc.reshape(m, 1) if sc.shape == (m,) else sc
        if sc.shape not in ((m, 1), (m, n_sizes)) or np.any(sc[~np.isnan(sc)] < 0):
            msg = (
                f"site_capex: expected {m} or ({m}, {n_sizes}) non-negative values "
                f"(NaN = size default); found shape {np.shape(s.site_capex)}"
            )
            raise ValueRangeError(msg)
        sc = np.broadcast_to(sc, (m, n_sizes))
        capex_js = np.where(np.isnan(sc), capex_js, sc)
    elif b_t is not None and s.sizes is None:
        msg = "budget_per_period needs capital costs: give sizes or site_capex"
        raise ValueRangeError(msg)
    ok_js = np.ones((m, n_sizes), dtype=bool)
    if s.allowed_sizes is not None:
        ok_js = np.asarray(s.allowed_sizes, dtype=bool)
        if ok_js.shape != (m, n_sizes):
            msg = (
                f"allowed_sizes: expected a ({m}, {n_sizes}) boolean mask; "
                f"found shape {ok_js.shape}"
            )
            raise ValueRangeError(msg)
    return size_list, cap_js, capex_js, ok_js


def _fixed_capacity(
    s: PhasedSettings, fixed_idx: npt.NDArray[np.int64], cap_js: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Capacity of each fixed site (default: the largest size's)."""
    if s.fixed_capacity is None:
        return np.full(fixed_idx.size, float(np.max(cap_js)) if cap_js.size else np.inf)
    fcap = np.asarray(s.fixed_capacity, float)
    fcap = np.full(fixed_idx.size, float(fcap)) if fcap.ndim == 0 else fcap
    if fcap.shape != (fixed_idx.size,) or np.any(np.isnan(fcap)) or np.any(fcap < 0):
        msg = (
            f"fixed_capacity: expected a number or {fixed_idx.size} values (one per "
            f"fixed site); found shape {fcap.shape}"
        )
        raise ValueRangeError(msg)
    return fcap


# --------------------------------------------------------------------------- stage 2: preprocess


@dataclass(frozen=True, eq=False)
class _Reduced:
    """The instance after preprocessing, and how its rows map back to demand points."""

    inst: _Instance
    cover: npt.NDArray[np.bool_]  # (n, m) within the standard
    fixed_cover: npt.NDArray[np.bool_]  # per point: covered by a fixed site
    reach: npt.NDArray[np.bool_]  # per point: within the standard of a site in the model
    d_eff: npt.NDArray[np.float64]  # demand counted against capacities (0 uncapacitated)
    idx_rows: npt.NDArray[np.int64]  # demand points kept in the model
    inv: npt.NDArray[np.int64]  # row of the model of each kept point
    n_rows: int
    stats: dict[str, int]


def _preprocess(p: _Problem) -> _Reduced:
    """Exact reductions: drop covered and unreachable rows, dominated sites; merge rows."""
    n, m, opts = p.n, p.m, p.opts
    fixed_idx = p.fixed_idx
    ok_js = p.ok_js
    cand_mask = opts.allowed & ~opts.fixed_mask & ok_js.any(axis=1)
    cover = coverage_matrix(p.c, p.standard)  # all sites
    fixed_cover: npt.NDArray[np.bool_] = np.asarray(
        cover[:, fixed_idx].any(axis=1) if fixed_idx.size else np.zeros(n, dtype=bool)
    )
    reach = (cover & (cand_mask | opts.fixed_mask)[np.newaxis, :]).any(axis=1)
    n_floor = len(p.floor_list)
    n_groups = len(p.group_labels)
    Fw = np.column_stack([f.weights for f in p.floor_list]) if n_floor else np.zeros((n, 0))
    Gw = np.zeros((n, n_groups))
    if p.group_codes is not None:
        Gw[np.arange(n), p.group_codes] = p.gw
    relevant = (p.wt > 0).any(axis=0) | (Fw > 0).any(axis=1) | (Gw > 0).any(axis=1)
    stats: dict[str, int] = {"demand_points": n, "sites": m}
    if not p.capacitated:
        const_rows = fixed_cover
        keep_rows = reach & ~fixed_cover & relevant
        d_eff = np.zeros(n)
        # sizes only change costs: keep the cheapest allowed size per site
        masked = np.where(ok_js, p.capex_js, np.inf)
        best = np.argmin(masked, axis=1)
        ok_js = np.zeros_like(ok_js)
        ok_js[np.arange(m), best] = True
        ok_js &= cand_mask[:, np.newaxis]
    else:
        const_rows = np.zeros(n, dtype=bool)
        keep_rows = reach & relevant
        d_eff = p.d if p.d is not None else np.zeros(n)
    sub_cover = cover[keep_rows][:, cand_mask]
    cand = np.flatnonzero(cand_mask)
    if not p.capacitated and cand.size:
        useful = sub_cover.any(axis=0)
        chosen_cost = p.capex_js[cand][ok_js[cand]]  # one size each
        drop = ~useful
        cost_keys = chosen_cost if p.b_t is not None else np.zeros(cand.size)
        for key in np.unique(cost_keys):
            same = (cost_keys == key) & useful
            if same.sum() > 1:
                drop |= dominated_columns(sub_cover, same)
        cand = cand[~drop]
        sub_cover = sub_cover[:, ~drop]
    stats["candidates_in_model"] = int(cand.size)
    idx_rows, inv = _merge_rows(p, cover, sub_cover, keep_rows, d_eff, Fw, Gw)
    n_rows = int(inv.max()) + 1 if inv.size else 0
    stats["rows_in_model"] = n_rows
    inst = _instance(p, cover, sub_cover, cand, ok_js, idx_rows, inv, const_rows, d_eff, Fw, Gw)
    return _Reduced(inst, cover, fixed_cover, reach, d_eff, idx_rows, inv, n_rows, stats)


def _merge_rows(
    p: _Problem,
    cover: npt.NDArray[np.bool_],
    sub_cover: npt.NDArray[np.bool_],
    keep_rows: npt.NDArray[np.bool_],
    d_eff: npt.NDArray[np.float64],
    Fw: npt.NDArray[np.float64],
    Gw: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Kept demand points and the merged row of each (same coverage, floors, groups, ratio)."""
    key_parts = [sub_cover]
    idx_rows = np.flatnonzero(keep_rows)
    if p.capacitated:
        key_parts.append(cover[idx_rows][:, p.fixed_idx])
        # exact only when every weight has the same ratio to demand within a merged row
        dd = d_eff[idx_rows][:, np.newaxis]
        num = np.column_stack([p.wt.T, Fw, Gw])[idx_rows]
        ratio = np.where(dd > 0, num / np.where(dd > 0, dd, 1.0), np.where(num > 0, np.inf, 0.0))
        _, rcode = np.unique(ratio, axis=0, return_inverse=True)
        key_parts.append(
            np.eye(int(rcode.max()) + 1 if rcode.size else 1, dtype=bool)[rcode.reshape(-1)]
        )
    key_parts.append(Fw[idx_rows] > 0)
    key_parts.append(Gw[idx_rows] > 0)
    key = np.column_stack(key_parts) if idx_rows.size else np.zeros((0, 1), dtype=bool)
    _, _, inv = aggregate_rows(key)
    return idx_rows, inv


def _instance(
    p: _Problem,
    cover: npt.NDArray[np.bool_],
    sub_cover: npt.NDArray[np.bool_],
    cand: npt.NDArray[np.int64],
    ok_js: npt.NDArray[np.bool_],
    idx_rows: npt.NDArray[np.int64],
    inv: npt.NDArray[np.int64],
    const_rows: npt.NDArray[np.bool_],
    d_eff: npt.NDArray[np.float64],
    Fw: npt.NDArray[np.float64],
    Gw: npt.NDArray[np.float64],
) -> _Instance:
    """The reduced instance the MIP models are built from (rows = merged demand points)."""
    n_rows = int(inv.max()) + 1 if inv.size else 0
    first = np.zeros(n_rows, dtype=np.int64)
    first[inv[::-1]] = np.arange(inv.size)[::-1]

    def agg(vec: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        if not n_rows:
            return np.zeros(0)
        return np.asarray(np.bincount(inv, weights=vec[idx_rows], minlength=n_rows), dtype=float)

    rows_cand = [np.flatnonzero(sub_cover[first[r]]) for r in range(n_rows)]
    fixed_cov_rows = (
        cover[idx_rows][:, p.fixed_idx] if p.capacitated else np.zeros((idx_rows.size, 0), bool)
    )
    rows_fixed = [np.flatnonzero(fixed_cov_rows[first[r]]) for r in range(n_rows)]
    n_floor, n_groups = Fw.shape[1], Gw.shape[1]
    return _Instance(
        periods=p.periods,
        period_weights=p.pw,
        new_per_period=p.k_t,
        budget=p.b_t,
        carry_over=p.s.carry_over,
        cand=cand,
        size_ok=ok_js[cand],
        capex=p.capex_js[cand],
        cap=p.cap_js[cand] if p.capacitated else None,
        fixed=p.fixed_idx if p.capacitated else np.zeros(0, np.int64),
        fixed_cap=p.fcap if p.capacitated else np.zeros(0),
        rows_cand=rows_cand,
        rows_fixed=rows_fixed,
        a=agg(p.w),
        d=agg(d_eff),
        floor_w=np.column_stack([agg(Fw[:, k]) for k in range(n_floor)])
        if n_floor
        else np.zeros((n_rows, 0)),
        floor_const=np.array([Fw[const_rows, k].sum() for k in range(n_floor)]),
        group_w=np.column_stack([agg(Gw[:, g]) for g in range(n_groups)])
        if n_groups
        else np.zeros((n_rows, 0)),
        group_const=Gw[const_rows].sum(axis=0),
        group_total=Gw.sum(axis=0),
        a_const=float(p.w[const_rows].sum()),
        a_t=np.vstack([agg(p.wt[t]) for t in range(p.periods)]),
        a_const_t=p.wt[:, const_rows].sum(axis=1),
    )


def _unreachable_floor(p: _Problem, red: _Reduced, start: float) -> PhasedSolution | None:
    """An infeasible answer when a floor cannot be met whatever sites open, else None."""
    reach_all = red.reach | red.fixed_cover
    for fl in p.floor_list:
        reachable = float(fl.weights[reach_all].sum())
        if fl.total > 0 and reachable < fl.share * fl.total - _EPS * fl.total:
            explanation = (
                f"Equity floor '{fl.name}' needs {fl.share:.1%} of its weight covered by period "
                f"{fl.period}, but only {reachable / fl.total:.1%} of it is within the standard "
                f"({p.standard:g}) "
                f"of any allowed or existing site: a shortfall of "
                f"{100 * (fl.share - reachable / fl.total):.1f} percentage points "
                f"({_fmt_weight(fl.share * fl.total - reachable)} weight) whatever sites "
                "are chosen."
            )
            return infeasible_solution(
                p.n,
                explanation,
                seconds=time.perf_counter() - start,
                kind=PhasedSolution,
                preprocessing=red.stats,
            )
    return None


# --------------------------------------------------------------------------- stage 3: solve


@dataclass(frozen=True, eq=False)
class _Fallback:
    """A capacitated plan built from the uncapacitated one (:func:`_capacity_fallback`)."""

    open_period: npt.NDArray[np.int64]
    size_index: npt.NDArray[np.int64]
    bound: float
    message: str


@dataclass(frozen=True, eq=False)
class _Run:
    """How the solve stages ended with a plan."""

    status: Status
    message: str
    open_period: npt.NDArray[np.int64]  # per site
    size_index: npt.NDArray[np.int64]  # per site
    raw_bound: float
    stages: dict[str, Any]
    inst: _Instance
    min_share: float | None = None
    min_share_bound: float | None = None
    fallback: bool = False
    outcome: MipOutcome | None = None  # the weighted stage's outcome when it ended without a plan
    built: _Built | None = None
    served: npt.NDArray[np.float64] | None = None  # (T, n, m) shares served, when known


def _fallback_run(
    fallback: _Fallback,
    stages: dict[str, Any],
    outcome: MipOutcome | None,
    inst: _Instance,
    min_share: float | None = None,
    min_share_bound: float | None = None,
) -> _Run:
    """The run when the capacity fallback gave the plan (``min_share*``: the max-min stage's)."""
    return _Run(
        status="feasible",
        message=fallback.message,
        open_period=fallback.open_period,
        size_index=fallback.size_index,
        raw_bound=fallback.bound,
        stages={**stages, "capacity_fallback": fallback.message},
        inst=inst,
        fallback=True,
        outcome=outcome,
        min_share=min_share,
        min_share_bound=min_share_bound,
    )


def _run(p: _Problem, red: _Reduced, start: float) -> _Run | PhasedSolution:
    """Solve: max-min stage (if asked), then the weighted stages; or say why not."""
    s, opts, inst = p.s, p.opts, red.inst
    common: dict[str, Any] = {"preprocessing": red.stats}
    if p.capacitated:
        return _run_capacity_true(p, red, start, common)
    min_share = None
    first: _MaxMin | None = None
    if s.objective == "maxmin":
        outcome = _maxmin_stage(p, inst)
        if isinstance(outcome, MipOutcome):
            return _unsolved(p, outcome, inst, opts, start, common)
        first = outcome
        min_share = first.share
        if first.bound is not None:
            common["min_group_share_bound"] = first.bound
        rest = max(opts.time_limit_s - (time.perf_counter() - start), 0.5)
        opts = replace(opts, time_limit_s=rest)  # the safety stop of the whole solve
    stage = _solve_weighted(
        inst,
        p.floor_list,
        opts,
        s.backend,
        min_share,
        s.mip_gap,
        extra_pool=None if first is None else first.sites,
        start=None if first is None else first.start,
        limit_s=p.opts.time_limit_s,
    )
    if stage.outcome is not None:
        return _unsolved(p, stage.outcome, inst, opts, start, common)
    status: Status = stage.status
    message = stage.message
    if first is not None:
        message = f"max-min stage {first.message}; weighted stage: {stage.message}"
        if not first.optimal:
            status = "feasible"
    # read the solution back onto the original sites
    period_c, size_c = _open_periods(stage.inst, stage.built)
    open_period = np.full(p.m, -1, dtype=np.int64)
    open_period[p.fixed_idx] = 0
    open_period[stage.inst.cand] = period_c
    size_index = np.full(p.m, -1, dtype=np.int64)
    size_index[stage.inst.cand] = size_c
    return _Run(
        status=status,
        message=message,
        open_period=open_period,
        size_index=size_index,
        raw_bound=stage.bound,
        stages=stage.log,
        min_share=min_share,
        min_share_bound=common.get("min_group_share_bound"),
        fallback=False,
        outcome=stage.outcome,
        inst=stage.inst,
        built=stage.built,
    )


#: The max-min stage runs on models with at most this many coverage terms (its own size
#: gate: its flat objective makes the root node cheap -- 2,000 nodes of the ICB-scale
#: 5-year model, 134,000 terms, took 25 s on a quiet machine). Above it the stage is
#: skipped: the plan maximises the weighted objective, its worst group's share is
#: reported and the bound is the LP relaxation's; the message says so.
MAXMIN_MAX_COVER_TERMS = 200_000


#: Branch-and-bound nodes of the max-min stage (a work limit).
MAXMIN_NODES = STAGE_NODES


@dataclass(frozen=True)
class _MaxMin:
    """The max-min stage: the share held in the weighted stage (None: skipped), its bound."""

    share: float | None
    bound: float | None
    message: str
    optimal: bool
    sites: npt.NDArray[np.bool_] | None = None  # the stage's plan's sites (over inst.cand)
    start: _Stage | None = None  # the stage's plan, valued by the weighted objective


def _maxmin_stage(p: _Problem, inst: _Instance) -> _MaxMin | MipOutcome:
    """``max m`` (the worst group's covered share at the final period); an outcome if no plan.

    Node-limited (:data:`STAGE_NODES`), size-gated (:data:`MAXMIN_MAX_COVER_TERMS`),
    started from opening nothing, which is always feasible, so a limit keeps a plan.
    """
    opts, backend = p.opts, p.s.backend
    gated = _cover_terms(inst) > MAXMIN_MAX_COVER_TERMS
    b1 = _build(
        inst,
        _with_time(opts, opts.time_limit_s, MAXMIN_NODES),
        backend,
        floors=p.floor_list,
        objective="maxmin",
        relax=gated,
    )
    if not gated:
        b1.model.hint(
            [v for per_site in b1.y for per_size in per_site for v in per_size],
            [0.0] * sum(len(per_size) for per_site in b1.y for per_size in per_site),
        )
    try:
        out = _solve(b1.model)
    except SolverError as exc:  # a backend that stops abnormally at the time limit
        out = MipOutcome("time_limit_no_solution", np.nan, np.nan, 0.0, backend, str(exc))
    if gated:
        bound = float(out.objective) if out.status == "optimal" else None
        note = (
            size_gate_note("", _cover_terms(inst), MAXMIN_MAX_COVER_TERMS)
            + "; the plan maximises the weighted objective"
            + ("" if bound is None else f" and the worst share is at most {bound:.2%} (LP bound)")
        )
        return _MaxMin(None, bound, note, False)
    if out.status not in ("optimal", "feasible"):
        return out
    message = out.message
    if _clock_stop(b1.model, out):
        message += f", {_CLOCK_NOTE}"
    period, _ = _open_periods(inst, b1)
    value = _weighted_value(inst, period)
    start = _Stage("feasible", value, float("inf"), inst, b1, "the max-min stage's plan")
    return _MaxMin(
        float(b1.m.solution_value()) - 1e-7,
        float(out.bound),
        message,
        out.status == "optimal",
        period > 0,
        start,
    )


def _weighted_value(inst: _Instance, period: npt.NDArray[np.int64]) -> float:
    """The weighted objective of a plan (opening period per candidate, -1 never)."""
    value = float(inst.period_weights @ inst.a_const_t)
    for t in range(inst.periods):
        is_open = (period >= 1) & (period <= t + 1)
        covered = np.array([bool(is_open[r].any()) for r in inst.rows_cand], dtype=bool)
        value += float(inst.period_weights[t] * inst.a_t[t][covered].sum())
    return value


def _run_capacity_true(
    p: _Problem, red: _Reduced, start: float, common: dict[str, Any]
) -> _Run | PhasedSolution:
    """The capacitated model, solved by the capacity-true array solver.

    The model is the same (service within capacity, floors on served need); the
    solver is :func:`~nhc_planner.optimize.capacitated_phased.capacitated_phased`'s
    (greedy plans, LP bound by row generation, size-gated and node-limited MIPs), which
    stops on work limits alone, so the plan does not depend on the machine's load. With
    ``objective="maxmin"`` it is the same solver's max-min solve
    (:func:`~nhc_planner.optimize.capacitated_maxmin.lexicographic`: the worst served
    share by :func:`~nhc_planner.optimize.capacitated_maxmin.max_min_share`, then the
    weighted stage with every group's served share held at its value as a floor). When
    the weighted stage's safety stop leaves no plan, the capacity fallback applies as
    before; when the max-min stage finds none, there is no plan.
    """
    from nhc_planner.optimize.capacitated_maxmin import STAGE_PREFIX
    from nhc_planner.optimize.capacitated_phased import _group_entries, solve_inputs

    opts, s = p.opts, p.s
    maxmin = s.objective == "maxmin"
    groups: tuple[tuple[str, int, float, npt.NDArray[np.float64]], ...] = ()
    if maxmin:
        assert p.group_codes is not None
        groups = _group_entries(p.group_codes, p.group_labels, p.gw, p.periods)
    res = solve_inputs(
        _capacity_inputs(p, red),
        mip_gap=s.mip_gap,
        time_limit_s=max(opts.time_limit_s - (time.perf_counter() - start), 0.5),
        threads=opts.threads,
        seed=opts.seed,
        max_min_groups=groups,
    )
    mm_rows = [r for r in res.stages if r[0].startswith(STAGE_PREFIX)]
    stages: dict[str, Any] = {
        "capacitated_phased": [r for r in res.stages if not r[0].startswith(STAGE_PREFIX)]
    }
    if mm_rows:
        stages["capacitated_maxmin"] = [(n.removeprefix(STAGE_PREFIX), v, t) for n, v, t in mm_rows]
    found = maxmin and bool(np.isfinite(res.min_group_share))
    # the uncapacitated path's convention: the share held, 1e-7 below the share reached
    min_share = float(res.min_group_share) - 1e-7 if found else None
    share_bound = None
    if maxmin and np.isfinite(res.min_group_share_bound):
        share_bound = float(res.min_group_share_bound)
        common["min_group_share_bound"] = share_bound
    if res.status == "infeasible":
        return infeasible_solution(
            p.n, res.message, seconds=time.perf_counter() - start, kind=PhasedSolution, **common
        )
    if not res.has_plan:
        outcome = MipOutcome(res.status, np.nan, res.bound, res.seconds, s.backend, res.message)
        if maxmin and not found:  # the max-min stage found no plan: no fallback
            return no_solution(p.n, outcome, kind=PhasedSolution, **common)
        left = max(opts.time_limit_s - (time.perf_counter() - start), 0.25 * opts.time_limit_s)
        fallback = _capacity_fallback(p, left)
        if fallback is None:
            return no_solution(p.n, outcome, kind=PhasedSolution, **common)
        return _fallback_run(
            fallback, stages, outcome, red.inst, min_share=min_share, min_share_bound=share_bound
        )
    served = np.stack([f.toarray() for f in res.fractions]) if res.fractions else None
    return _Run(
        status=res.status,
        message=res.message,
        open_period=np.asarray(res.open_period, dtype=np.int64),
        size_index=np.asarray(res.size_index, dtype=np.int64),
        raw_bound=float(res.bound),
        stages=stages,
        inst=red.inst,
        served=served,
        min_share=min_share,
        min_share_bound=share_bound,
    )


def _capacity_inputs(p: _Problem, red: _Reduced) -> Any:
    """The capacity-true solver's inputs (:class:`capacitated_phased._Inputs`) of ``p``."""
    from nhc_planner.optimize.capacitated_phased import _Inputs

    opts = p.opts
    return _Inputs(
        c=p.c,
        w=p.w,
        d=p.d if p.d is not None else np.zeros(p.n),
        standard=p.standard,
        T=p.periods,
        pw=np.asarray(p.pw, dtype=float),
        k_t=p.k_t,
        b_t=p.b_t,
        carry=bool(p.s.carry_over),
        cap_js=p.cap_js,
        capex_js=p.capex_js,
        ok_js=p.ok_js,
        size_names=tuple(z.name for z in p.size_list),
        fixed=p.fixed_idx,
        fixed_cap=p.fcap,
        cand_mask=opts.allowed & ~opts.fixed_mask & p.ok_js.any(axis=1),
        cover=red.cover,
        floors=tuple((f.name, f.period - 1, f.share, f.weights) for f in p.floor_list),
        wt=p.wt,
    )


# --------------------------------------------------------------------------- stage 4: result


def _served_shares(
    p: _Problem, red: _Reduced, run: _Run, site_cap: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64] | None, npt.NDArray[np.int64]]:
    """Per point and period the covered (served) share, the final fractions and assignment."""
    n, m, T, cover = p.n, p.m, p.periods, red.cover
    open_period = run.open_period
    point_cov = np.zeros((n, T + 1))
    if not p.capacitated:
        for t in range(T + 1):
            is_open = (open_period >= 0) & (open_period <= t)
            point_cov[:, t] = (cover[:, is_open]).any(axis=1)
        dist = np.where(cover & (open_period >= 0)[np.newaxis, :], p.c, np.inf)
        assignment = np.where(np.isfinite(dist).any(axis=1), np.argmin(dist, axis=1), -1)
        return point_cov, None, assignment
    frac_t = np.zeros((T, n, m))
    if run.served is not None:
        frac_t = run.served
    elif run.fallback or run.built is None:
        for t in range(T):
            sites_t = np.flatnonzero((open_period >= 0) & (open_period <= t + 1))
            frac_t[t] = _serve_lp(cover, sites_t, site_cap[sites_t], red.d_eff, p.wt[t])
    else:
        inst, built, cand = run.inst, run.built, run.inst.cand
        for r in range(red.n_rows):
            members = red.idx_rows[red.inv == r]
            for t in range(T):
                for (var, _), j in zip(
                    built.cov[r][t],
                    [*cand[inst.rows_cand[r]], *inst.fixed[inst.rows_fixed[r]]],
                    strict=True,
                ):
                    frac_t[t][np.ix_(members, [j])] = max(var.solution_value(), 0.0)
    point_cov[:, 1:] = np.clip(frac_t.sum(axis=2), 0.0, 1.0).T
    point_cov[:, 0] = _serve_lp(cover, p.fixed_idx, p.fcap, red.d_eff, p.wt[0]).sum(axis=1)
    fractions = frac_t[T - 1]
    served = fractions.max(axis=1)
    assignment = np.where(served > _EPS, np.argmax(fractions, axis=1), -1)
    return point_cov, fractions, assignment


def _assemble(p: _Problem, red: _Reduced, run: _Run, start: float) -> PhasedSolution:
    """The :class:`PhasedSolution` of a plan, with its tables by period."""
    m, T = p.m, p.periods
    open_period, size_index = run.open_period, run.size_index
    size_names = np.full(m, "", dtype=object)
    size_names[p.fixed_idx] = "existing"
    chosen = size_index >= 0
    size_names[chosen] = [p.size_list[z].name for z in size_index[chosen]]
    site_cap = np.full(m, np.nan)
    site_cap[chosen] = p.cap_js[chosen, size_index[chosen]]
    site_cap[p.fixed_idx] = p.fcap
    capex_site = np.zeros(m)
    capex_site[chosen] = p.capex_js[chosen, size_index[chosen]]
    point_cov, fractions, assignment = _served_shares(p, red, run, site_cap)
    floors = _floor_table(p.floor_list, point_cov)
    short = bool(np.any(floors["achieved"] < floors["required"] - 1e-6))
    common: dict[str, Any] = {"preprocessing": red.stats}
    if run.min_share_bound is not None:
        common["min_group_share_bound"] = run.min_share_bound
    if run.fallback and run.outcome is not None and short:
        return no_solution(p.n, run.outcome, kind=PhasedSolution, stages=run.stages, **common)
    covered_period = np.full(p.n, -1, dtype=np.int64)
    hit = point_cov >= 0.5 - 1e-9
    any_hit = hit.any(axis=1)
    covered_period[any_hit] = np.argmax(hit[any_hit], axis=1)
    # period t weighs its coverage with its own weights (period 0 with the first period's)
    wt0 = np.vstack([p.wt[:1], p.wt])
    coverage = np.einsum("it,ti->t", point_cov, wt0)
    totals = wt0.sum(axis=1)
    objective_value = float(p.pw @ coverage[1:])
    bound = max(float(run.raw_bound), objective_value)
    min_group_share = None
    groups = _group_table(p.group_codes, p.group_labels, p.gw, point_cov)
    if p.s.objective == "maxmin" and run.min_share is not None:
        min_group_share = float(run.min_share + 1e-7)
    elif p.s.objective == "maxmin" and groups is not None:  # the max-min stage was skipped
        shares = groups[f"share_{T}"].to_numpy(float)
        min_group_share = float(np.nanmin(shares)) if shares.size else np.nan
    return PhasedSolution(
        open=np.flatnonzero(open_period >= 0).astype(np.int64),
        assignment=assignment.astype(np.int64),
        objective=objective_value,
        bound=bound,
        gap=0.0 if run.status == "optimal" else relative_gap(objective_value, bound),
        status=run.status,
        solve_seconds=time.perf_counter() - start,
        fractions=fractions,
        message=run.message,
        backend=p.s.backend,
        open_period=open_period,
        size=size_names,
        size_index=size_index,
        sizes=tuple(p.size_list),
        point_coverage=point_cov,
        covered_period=covered_period,
        coverage_by_period=coverage,
        coverage_share_by_period=np.divide(
            coverage, totals, out=np.zeros_like(coverage), where=totals > 0
        ),
        capacity=site_cap,
        load=None if fractions is None else fractions.T @ red.d_eff,
        capex_site=capex_site,
        capex_by_period=np.array([capex_site[open_period == t].sum() for t in range(1, T + 1)]),
        opened_by_period=np.array([int(np.sum(open_period == t)) for t in range(1, T + 1)]),
        group_coverage=groups,
        floors=floors,
        period_weights=p.pw,
        preprocessing=red.stats,
        stages=run.stages,
        min_group_share=min_group_share,
        min_group_share_bound=run.min_share_bound,
    )


def _capacity_fallback(p: _Problem, seconds: float) -> _Fallback | None:
    """A feasible capacitated plan when the capacitated model found none in time.

    The uncapacitated phased plan (same limits, floors on coverage) is solved;
    each new site, earliest first, is upgraded to its largest-capacity allowed
    size that keeps every period within budget; service then follows from an LP
    per period. The uncapacitated optimum bounds the capacitated one (served
    need never exceeds covered need), so its proven bound is reported.
    """
    uncapacitated = replace(
        p.s,
        demand=None,
        capacity=None,
        fixed_capacity=None,
        explain_infeasible=False,
        time_limit_s=max(seconds, 1.0),
    )
    sol = phased_coverage(p.c, p.wt, p.standard, uncapacitated)
    if not sol.has_solution:
        return None
    op = np.asarray(sol.open_period, dtype=np.int64).copy()
    si = np.asarray(sol.size_index, dtype=np.int64).copy()
    cap_js, capex_js, ok_js, budget = p.cap_js, p.capex_js, p.ok_js, p.b_t
    spend = np.zeros(p.periods)
    for j in np.flatnonzero(op > 0):
        spend[op[j] - 1] += capex_js[j, si[j]]
    for j in sorted(np.flatnonzero(op > 0), key=lambda k: (op[k], k)):
        for s_new in np.argsort(-cap_js[j], kind="stable"):
            if not ok_js[j, s_new]:
                continue
            trial = spend.copy()
            trial[op[j] - 1] += capex_js[j, s_new] - capex_js[j, si[j]]
            if budget is not None:
                used = np.cumsum(trial) if p.s.carry_over else trial
                limit = np.cumsum(budget) if p.s.carry_over else budget
                if np.any(used > limit + 1e-9):
                    continue
            si[j], spend = int(s_new), trial
            break
    maxmin = p.s.objective == "maxmin"
    return _Fallback(
        open_period=op,
        size_index=si,
        bound=float("inf") if maxmin else float(sol.bound),
        message=(
            "the capacitated model found no solution within the time limit; plan = the "
            f"uncapacitated phased plan ({sol.status}) with sizes upgraded within the "
            "budget, service by LP per period; bound = the uncapacitated bound"
        ),
    )


def _serve_lp(
    cover: npt.NDArray[np.bool_],
    sites: npt.NDArray[np.int64],
    cap: npt.NDArray[np.float64],
    d: npt.NDArray[np.float64],
    w: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """Best weighted service with the given open sites and capacities (an LP).

    Returns the ``(n_demand, n_sites)`` matrix of served shares (zero outside ``sites``);
    ``cap`` holds one capacity per entry of ``sites``.
    """
    n, m = cover.shape
    out = np.zeros((n, m))
    if sites.size == 0:
        return out
    pairs = np.argwhere(cover[:, sites])
    if pairs.size == 0:
        return out
    nv = pairs.shape[0]
    rows_pt = coo_matrix((np.ones(nv), (pairs[:, 0], np.arange(nv))), shape=(n, nv))
    rows_cap = coo_matrix((d[pairs[:, 0]], (pairs[:, 1], np.arange(nv))), shape=(sites.size, nv))
    a_ub = vstack([rows_pt, rows_cap]).tocsr()
    b_ub = np.concatenate([np.ones(n), np.where(np.isfinite(cap), cap, 1e18)])
    res = linprog(-w[pairs[:, 0]], A_ub=a_ub, b_ub=b_ub, bounds=(0, 1), method="highs")
    if res.status != 0:
        msg = f"service LP failed ({res.message})"
        raise SolverError(msg)
    out[pairs[:, 0], sites[pairs[:, 1]]] = np.clip(res.x, 0.0, 1.0)
    return out


def _group_table(
    codes: npt.NDArray[np.int64] | None,
    labels: list[Any],
    gw: npt.NDArray[np.float64],
    point_cov: npt.NDArray[np.float64],
) -> pd.DataFrame | None:
    if codes is None:
        return None
    rows = []
    for g, label in enumerate(labels):
        members = codes == g
        total = float(gw[members].sum())
        shares = (
            (point_cov[members].T @ gw[members]) / total
            if total > 0
            else np.full(point_cov.shape[1], np.nan)
        )
        rows.append(
            {
                "group": label,
                "total_weight": total,
                **{f"share_{t}": float(s) for t, s in enumerate(shares)},
            }
        )
    return pd.DataFrame(rows)


def _floor_table(floors: Sequence[_Floor], point_cov: npt.NDArray[np.float64]) -> pd.DataFrame:
    rows = [
        {
            "name": f.name,
            "period": f.period,
            "required": f.share,
            "achieved": float(point_cov[:, f.period] @ f.weights / f.total)
            if f.total > 0
            else float("nan"),
        }
        for f in floors
    ]
    return pd.DataFrame(rows, columns=["name", "period", "required", "achieved"])


def _unsolved(
    p: _Problem,
    outcome: MipOutcome,
    inst: _Instance,
    opts: SolveOptions,
    start: float,
    common: dict[str, Any],
) -> PhasedSolution:
    """No plan: an infeasible answer that says why, or the solver's own outcome."""
    if outcome.status != "infeasible":
        return no_solution(p.n, outcome, kind=PhasedSolution, **common)
    text = (
        _explain_infeasible(inst, p.floor_list, opts, p.s.backend, p.standard)
        if p.s.explain_infeasible
        else ("The equity floors cannot all be met with the allowed sites and opening limits.")
    )
    return infeasible_solution(
        p.n, text, seconds=time.perf_counter() - start, kind=PhasedSolution, **common
    )


def _fmt_weight(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


def _explain_infeasible(
    inst: _Instance,
    floor_list: Sequence[_Floor],
    opts: SolveOptions,
    backend: MipBackend,
    standard: float,
) -> str:
    """Say which floor fails and by how much: the best share each floor can reach alone."""
    sub = _with_time(opts, max(opts.time_limit_s / 4, 1.0))  # node-limited; time = safety
    relax = _cover_terms(inst) > MIP_MAX_COVER_TERMS  # the size gate: the LP bound instead
    failing: list[str] = []
    reachable: list[str] = []
    for k, fl in enumerate(floor_list):
        if fl.total <= 0:
            continue
        built = _build(
            inst, sub, backend, floors=floor_list, objective="floor", floor_index=k, relax=relax
        )
        try:
            out = _solve(built.model)
        except SolverError:
            continue
        if out.status not in ("optimal", "feasible"):
            continue
        best = float(out.bound) / fl.total  # an upper bound on the achievable share
        if best < fl.share - 1e-9:
            exact = (
                " (proven bound: the LP relaxation)"
                if relax
                else ""
                if out.status == "optimal"
                else f" (proven bound; best found {out.objective / fl.total:.1%})"
            )
            failing.append(
                f"Equity floor '{fl.name}' needs {fl.share:.1%} of its weight within the standard "
                f"({standard:g}) "
                f"by period {fl.period}, but at most {best:.1%}{exact} can be reached with the "
                f"allowed number of new centres/budget: a shortfall of "
                f"{100 * (fl.share - best):.1f} percentage points "
                f"({_fmt_weight(fl.share * fl.total - float(out.bound))} weight)."
            )
        else:
            reachable.append(f"'{fl.name}' (alone up to {best:.1%})")
    if failing:
        return " ".join(failing)
    return (
        "Each equity floor can be met on its own but not all together with the allowed number "
        f"of new centres/budget: {', '.join(reachable)}. Lower a floor, or allow more "
        "centres or budget."
    )
