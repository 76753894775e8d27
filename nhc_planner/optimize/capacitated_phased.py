"""Capacity-true phased coverage: where to open centres, when, how big -- never over capacity.

The array-level model behind capacity-true plans (issue 16). It chooses, over ``T``
periods (years), which candidate sites open, in which period and at which size, and
how each area's weekly demand is shared between the centres within the standard, so
that the weighted need *served* (not merely covered) is as large as possible and no
centre serves more than its capacity. Demand no centre can serve is reported as unmet.

Formulation
-----------
Sets
    ``I`` areas; ``J`` candidate sites; ``F`` existing (fixed) sites, open from
    period 0; ``S_j`` sizes allowed at ``j``; ``t = 1..T``; ``N(i)`` the sites with
    ``cost[i, j] <= max_cost`` (the standard).

Data
    ``a_it`` weight (need) of area ``i`` in period ``t`` (``a_i`` in every period
    unless per-period weights are given); ``d_i`` weekly appointments of ``i``;
    ``w_t`` period weight (default the Green Book discount ``1.035^-(t-1)``);
    ``k_t`` new centres allowed in ``t``; ``B_t`` capital budget of ``t``;
    ``c_js`` capital cost and ``K_js`` weekly capacity of site ``j`` at size ``s``
    (``K_f`` of an existing site); ``D_j = sum_{i: j in N(i)} d_i``.

Variables
    ``y_jst`` in {0, 1}: ``j`` open at size ``s`` by the end of ``t``;
    ``x_ijt`` in [0, 1]: share of ``d_i`` served by ``j`` in ``t`` (``j in N(i)``).

Objective
    ``max sum_t w_t sum_i a_it sum_j x_ijt`` -- weighted need served, period by period.

Constraints
    * ``sum_j x_ijt <= 1`` (an area is served at most once over);
    * capacity ``sum_i d_i x_ijt <= sum_s min(K_js, D_j) y_jst`` and
      ``sum_i d_i x_ift <= K_f``;
    * one size, and once open stays open: ``sum_s y_jsT <= 1``, ``y_js(t-1) <= y_jst``;
    * new centres ``sum_js (y_jst - y_js(t-1)) <= k_t`` (cumulative with
      ``carry_over``), budget ``sum_js c_js (y_jst - y_js(t-1)) <= B_t`` (likewise);
    * service floors ``sum_{i in G} v_i sum_j x_ij,tau >= rho sum_{i in G} v_i``;
    * links ``x_ijt <= sum_s y_jst``.

With ``y`` integral and ``d_i > 0`` the links are implied by the capacity rows (a
closed site has capacity 0), so the MIP is exact without them; they only tighten the
LP relaxation. Links of areas with ``d_i = 0`` are always kept.

Method (each step keeps a proven bound; measured in ``benchmarks/results_capacitated.md``)
    1. Preprocessing that keeps the optimum: areas out of reach of every site and
       without weight leave the model; areas with the same set of reachable sites,
       the same weight/demand ratio and the same floor memberships are merged (their
       served shares can be equalised without changing any row); sites that reach
       no demand are dropped.
    2. **Bound**: the LP relaxation with capacity rows only, then the link rows added
       only where the LP violates them (row generation, each round re-solved from
       scratch), up to ``max_cut_rounds`` rounds and at most :data:`LP_ROUND_WORK`
       times the first LP's simplex iterations in all (a work limit). Every round's
       optimum bounds the capacitated optimum (a relaxation of the full model).
    3. **Plans**: a capacity-aware greedy (each pick fills its capacity with the
       highest weight-per-appointment demand still unserved; by gain and, with a
       budget, by gain per pound and by size mixes), each evaluated exactly by its
       service LP; when no plan meets the floors, the greedy again with the floor
       groups' weights raised; when the gap is still open after the bound, a plan
       rounded from the LP.
    4. **MIP**: HiGHS on the model with the generated links, started from the best
       plan, first restricted to the sites the LP or the plans use, then (if the gap
       is still above ``mip_gap``) in full. A stage runs only when its model has at
       most :data:`MIP_MAX_PAIR_PERIODS` service columns (HiGHS's node limit does not
       bound its root node, which took minutes on the demo region) and stops after
       ``mip_nodes`` nodes; a skipped stage is named in the message.
    4b. **Site swaps** (:mod:`~nhc_planner.optimize._site_swap`), when the gap is still
       above ``mip_gap``: a new centre moves to a nearby closed site (same period and
       size, within budget), kept when the plan's service LP serves more; first
       improvement, at most 5 rounds and 250 valuations (fewer on large models).

    Every stage stops on work (rounds, iterations, nodes, model size), never on the
    clock, and HiGHS runs with a fixed thread count and seed, so the same inputs give
    the same plan on a quiet or a busy machine. ``time_limit_s`` is a safety stop
    only: once it passes no further stage starts, the best plan so far is kept
    (evaluated), and the message says that the result may depend on the machine's
    speed. Overrun measured on the demo region: under half a second.
    5. **Saturation**: opening slots the plan leaves unused (every reachable area
       already served) are filled, earliest period first, by a secondary objective:
       the unmet demand a site would reach plus the demand-weighted minutes it would
       save; a centre never lowers what is served, so the primary objective and its
       bound are kept. When no site helps, the slots stay unused and the message
       says why.

Max-min (``objective="maxmin"``)
    With ``groups`` ``g`` (member weights ``u_i``, totals ``U_g``): first ``max m``
    subject to the constraints above and ``sum_{i in g} u_i sum_j x_ijT >= m U_g`` for
    every group with weight (the worst group's served share at the final period;
    :mod:`~nhc_planner.optimize.capacitated_maxmin`), then the weighted objective with
    every group's served share held at the value reached as a service floor
    (:func:`~nhc_planner.optimize.capacitated_maxmin.lexicographic`).

Solved with HiGHS through ``highspy`` (OR-Tools' ``pywraplp`` wrapper drops the HiGHS
incumbent at a time limit and takes seconds to build models of this size).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

import highspy
import numpy as np
import numpy.typing as npt
from scipy import sparse

from nhc_planner._errors import ValueRangeError
from nhc_planner.optimize._common import (
    as_cost_matrix,
    as_weights,
    check_max_cost,
    floor_members,
    parse_options,
    per_period,
    relative_gap,
    size_gate_note,
    weights_by_period,
)
from nhc_planner.optimize._highs import add_rows, new_highs, pass_model, run
from nhc_planner.optimize.phased import CoverageFloor
from nhc_planner.planning import SolveReport, SolveStatus

__all__ = [
    "MIP_MAX_PAIR_PERIODS",
    "CapacitatedPhasedResult",
    "ServiceFloor",
    "SizeLike",
    "capacitated_phased",
]

_TOL = 1e-7

#: The MIP stages run only on models of at most this many (area pair x period) service
#: columns (``T x`` pairs within the standard, of the sites the stage may open): a
#: deterministic size gate. HiGHS's node limit does not bound its root node, whose cut
#: rounds took minutes on the demo region (18,000 pair-periods) and more than 60 s on a
#: 200 x 80 x 3-year subset of it (9,000), against about a second up to 3,000; above the
#: gate the plan is the best greedy / LP-rounded plan with the LP bound, and the message
#: says so (see ``benchmarks/results_capacitated.md``).
MIP_MAX_PAIR_PERIODS = 4_000
#: Simplex iterations allowed to the first LP of the bound (a work limit; a ceiling that
#: only an instance far beyond ICB scale reaches).
LP_ITERATION_LIMIT = 1_000_000
#: The link-row rounds after the first LP may use, together, at most this many times
#: the first LP's simplex iterations (a work limit). Each round re-solves from scratch
#: and grows dearer: on the demo region over 5 years the 10 rounds took 230 times the
#: first LP's time for a bound 1% tighter; a round stopped by this budget proves
#: nothing and the previous round's bound stands.
LP_ROUND_WORK = 8.0
_ROUNDS_STOPPED = (
    "the bound's tightening rounds stopped at their work limit "
    f"({LP_ROUND_WORK:g} times the simplex iterations of the first LP)"
)
_F = npt.NDArray[np.float64]
_I = npt.NDArray[np.int64]
_B = npt.NDArray[np.bool_]


class SizeLike(Protocol):
    """Anything with a size's ``name``, weekly ``capacity`` and ``capex_gbp``.

    :class:`nhc_planner.optimize.SizeOption` is one.
    """

    @property
    def name(self) -> str: ...

    @property
    def capacity(self) -> float: ...

    @property
    def capex_gbp(self) -> float: ...


#: A floor on *served* need: ``share`` of the members' weight must be served (within
#: the standard and within capacity) by ``period``. The same fields as the coverage
#: model's floor (members, share, name, weights, period), so one class serves both.
ServiceFloor = CoverageFloor


@dataclass(frozen=True, eq=False)
class CapacitatedPhasedResult:
    """What :func:`capacitated_phased` returns.

    Attributes
    ----------
    status
        ``"optimal"`` (proven, gap 0 up to 1e-7), ``"feasible"`` (a plan; see ``gap``),
        ``"infeasible"`` (a floor no plan can meet; ``message`` says by how much) or
        ``"time_limit_no_solution"``.
    objective
        ``sum_t w_t x`` weighted need served in ``t`` of the returned plan.
    bound
        Proven upper bound on the optimum (same units).
    gap
        ``(bound - objective) / objective``; 0 when optimal.
    seconds
        Wall-clock time of the whole call.
    message
        Plain words: what was proved, by which stage, any safety stop, saturation.
    open_period
        Per site: ``0`` existing, ``1..T`` the period it opens, ``-1`` never.
    size_index
        Per site: index into ``size_names`` of its size (``-1`` existing or closed).
    size_names
        The size labels, in the order of the ``sizes`` argument.
    capacity
        Per site: weekly capacity of the chosen size (existing: ``fixed_capacity``);
        NaN when closed.
    fractions
        ``T`` sparse ``(n_areas, n_sites)`` matrices: share of each area's demand
        served by each site in period ``t`` (entry ``t - 1``).
    served_share
        ``(n_areas, T)`` share of each area's demand served in each period.
    unmet
        ``(n_areas, T)`` weekly appointments not served (demand x (1 - served share));
        areas no site can reach are wholly unmet.
    load
        ``(T, n_sites)`` weekly appointments each site serves (never above ``capacity``).
    served_by_period
        ``T`` values: weight served in each period (undiscounted).
    weight_total
        Total weight of all areas (for shares).
    opened_by_period, capex_by_period
        ``T`` values: centres opened and capital spent in each period.
    allowed_unused
        Opening slots (of ``new_per_period``) left unused because no site would add
        anything; 0 without a count limit.
    secondary_sites
        Sites placed by the secondary (saturation) objective.
    stages
        ``(name, value, seconds)`` per stage: LP bounds by round, greedy plans, MIPs;
        with ``objective="maxmin"`` the max-min stage's rows first, each name starting
        with :data:`~nhc_planner.optimize.capacitated_maxmin.STAGE_PREFIX`.
    min_group_share
        With ``objective="maxmin"``: the worst group's served share at the final period
        of the returned plan (without a plan, the share the max-min stage's plan
        reached; NaN when that stage found no plan). NaN when max-min was not asked.
    min_group_share_bound
        With ``objective="maxmin"``: a proven upper bound on the worst group's served
        share of any plan (NaN when not asked, or when the max-min stage proved none).
    """

    status: SolveStatus
    objective: float
    bound: float
    gap: float
    seconds: float
    message: str
    open_period: _I
    size_index: _I
    size_names: tuple[str, ...]
    capacity: _F
    fractions: tuple[sparse.csr_array, ...]
    served_share: _F
    unmet: _F
    load: _F
    served_by_period: _F
    weight_total: float
    opened_by_period: _I
    capex_by_period: _F
    allowed_unused: int
    secondary_sites: _I
    stages: tuple[tuple[str, float, float], ...]
    min_group_share: float = float("nan")
    min_group_share_bound: float = float("nan")

    @property
    def has_plan(self) -> bool:
        """True when the result holds a plan (optimal or feasible)."""
        return self.status in ("optimal", "feasible")

    @property
    def assignment(self) -> _I:
        """Per area: the site serving the largest share at the final period, -1 if none."""
        final = self.fractions[-1].toarray() if self.fractions else np.zeros((0, 0))
        if final.size == 0:
            return np.full(self.served_share.shape[0], -1, dtype=np.int64)
        best = np.argmax(final, axis=1).astype(np.int64)
        return np.where(final.max(axis=1) > _TOL, best, -1)

    def solve_report(self) -> SolveReport:
        """The :class:`~nhc_planner.planning.SolveReport` of this result."""
        return SolveReport(
            self.status, self.objective, self.bound, self.gap, self.seconds, self.message
        )


# --------------------------------------------------------------------------- the model


@dataclass(frozen=True, eq=False)
class _Model:
    """The preprocessed model: merged rows, model sites (candidates then fixed), pairs."""

    T: int
    pw: _F  # (T,)
    k_t: _F | None
    b_t: _F | None
    carry: bool
    a: _F  # (R,) weight per merged row (the greedy's; the periods' mean with per-period weights)
    at: _F  # (T, R) weight per period and merged row (the objective's)
    d: _F  # (R,) demand per merged row
    fw: _F  # (R, n_floors) floor weights
    floor_need: _F  # (n_floors,)
    floor_period: _I  # (n_floors,) 0-based
    floor_total: _F
    floor_names: tuple[str, ...]
    cand: _I  # original index of candidate j
    fixed: _I  # original index of fixed site f
    fixed_cap: _F
    pr: _I  # (P,) row of pair
    ps: _I  # (P,) model site of pair (cand j, or nc + f)
    qj: _I  # (Q,) candidate of (site, size) option
    qs: _I  # (Q,) size of option
    qcap: _F  # (Q,) capacity used in the capacity row, min(K, D_j)
    qcap_true: _F  # (Q,) capacity of the size
    qcost: _F  # (Q,) capex
    rows_of_area: _I  # per original area: merged row or -1

    @property
    def R(self) -> int:
        return int(self.a.size)

    @property
    def P(self) -> int:
        return int(self.pr.size)

    @property
    def Q(self) -> int:
        return int(self.qj.size)

    @property
    def nc(self) -> int:
        return int(self.cand.size)

    def xcol(self, t: int) -> int:
        return t * self.P

    def ycol(self, t: int) -> int:
        return self.T * self.P + t * self.Q

    @property
    def n_cols(self) -> int:
        return self.T * (self.P + self.Q)


def _coo_rows(
    rows: list[_I], cols: list[_I], vals: list[_F], n_rows: int, n_cols: int
) -> sparse.csr_array:
    if not rows:
        return sparse.csr_array((n_rows, n_cols))
    return sparse.csr_array(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n_rows, n_cols),
    )


def _static_rows(m: _Model) -> tuple[sparse.csr_array, _F, _F]:
    """All rows but the lazily generated links: ``(A, lower, upper)``."""
    T, P, Q, R, nc = m.T, m.P, m.Q, m.R, m.nc
    nf = m.fixed.size
    n_cols = m.n_cols
    blocks: list[sparse.csr_array] = []
    lo: list[_F] = []
    up: list[_F] = []
    pidx = np.arange(P)
    qidx = np.arange(Q)
    is_c = m.ps < nc
    dp = m.d[m.pr]
    # demand rows and capacity rows, per period
    for t in range(T):
        blocks.append(_coo_rows([m.pr], [m.xcol(t) + pidx], [np.ones(P)], R, n_cols))
        lo.append(np.full(R, -np.inf))
        up.append(np.ones(R))
        sel = is_c & (dp > 0)
        blocks.append(
            _coo_rows(
                [m.ps[sel], m.qj],
                [m.xcol(t) + pidx[sel], m.ycol(t) + qidx],
                [dp[sel], -m.qcap],
                nc,
                n_cols,
            )
        )
        lo.append(np.full(nc, -np.inf))
        up.append(np.zeros(nc))
        if nf:
            self_f = ~is_c & (dp > 0)
            blocks.append(
                _coo_rows([m.ps[self_f] - nc], [m.xcol(t) + pidx[self_f]], [dp[self_f]], nf, n_cols)
            )
            lo.append(np.full(nf, -np.inf))
            up.append(np.where(np.isfinite(m.fixed_cap), m.fixed_cap, np.inf))
    # links of demand-free rows (not implied by the capacity rows)
    free = np.flatnonzero(is_c & (dp <= 0))
    if free.size:
        blocks.append(_link_rows(m, np.repeat(free, T), np.tile(np.arange(T), free.size)))
        lo.append(np.full(free.size * T, -np.inf))
        up.append(np.zeros(free.size * T))
    # once open stays open
    for t in range(1, T):
        blocks.append(
            _coo_rows(
                [qidx, qidx],
                [m.ycol(t - 1) + qidx, m.ycol(t) + qidx],
                [np.ones(Q), -np.ones(Q)],
                Q,
                n_cols,
            )
        )
        lo.append(np.full(Q, -np.inf))
        up.append(np.zeros(Q))
    # one size per site
    if nc < Q:
        blocks.append(_coo_rows([m.qj], [m.ycol(T - 1) + qidx], [np.ones(Q)], nc, n_cols))
        lo.append(np.full(nc, -np.inf))
        up.append(np.ones(nc))
    # opening limits and budgets
    for coef, limit in ((np.ones(Q), m.k_t), (m.qcost, m.b_t)):
        if limit is None:
            continue
        cum = np.cumsum(limit)
        for t in range(T):
            if m.carry or t == 0:
                blocks.append(
                    _coo_rows([np.zeros(Q, np.int64)], [m.ycol(t) + qidx], [coef], 1, n_cols)
                )
            else:
                blocks.append(
                    _coo_rows(
                        [np.zeros(2 * Q, np.int64)],
                        [np.concatenate([m.ycol(t) + qidx, m.ycol(t - 1) + qidx])],
                        [np.concatenate([coef, -coef])],
                        1,
                        n_cols,
                    )
                )
            lo.append(np.array([-np.inf]))
            up.append(np.array([cum[t] if m.carry else limit[t]]))
    # service floors
    for k in range(m.fw.shape[1]):
        t = int(m.floor_period[k])
        coef = m.fw[m.pr, k]
        nz = coef > 0
        blocks.append(
            _coo_rows(
                [np.zeros(int(nz.sum()), np.int64)], [m.xcol(t) + pidx[nz]], [coef[nz]], 1, n_cols
            )
        )
        lo.append(np.array([m.floor_need[k] * (1 - 1e-9)]))
        up.append(np.array([np.inf]))
    a_mat = sparse.vstack(blocks, format="csr") if blocks else sparse.csr_array((0, n_cols))
    return sparse.csr_array(a_mat), np.concatenate(lo), np.concatenate(up)


def _site_options(m: _Model) -> tuple[_I, _I]:
    """CSR-style index of the size options of each candidate: ``(start, order)``."""
    order = np.argsort(m.qj, kind="stable")
    start = np.searchsorted(m.qj[order], np.arange(m.nc + 1))
    return start.astype(np.int64), order.astype(np.int64)


def _link_rows(m: _Model, pairs: _I, periods: _I) -> sparse.csr_array:
    """Rows ``x_pt - sum_s y_jst <= 0`` for the given (pair, period) entries."""
    start, order = _site_options(m)
    j = m.ps[pairs]
    n_opt = start[j + 1] - start[j]
    n = pairs.size
    row_x = np.arange(n)
    row_y = np.repeat(np.arange(n), n_opt)
    pos = np.repeat(start[j], n_opt) + (
        np.arange(int(n_opt.sum())) - np.repeat(np.cumsum(n_opt) - n_opt, n_opt)
    )
    q = order[pos]
    cols = np.concatenate([periods * m.P + pairs, m.T * m.P + np.repeat(periods, n_opt) * m.Q + q])
    vals = np.concatenate([np.ones(n), -np.ones(q.size)])
    return sparse.csr_array((vals, (np.concatenate([row_x, row_y]), cols)), shape=(n, m.n_cols))


def _objective(m: _Model) -> _F:
    c = np.zeros(m.n_cols)
    for t in range(m.T):
        c[m.xcol(t) : m.xcol(t) + m.P] = m.pw[t] * m.at[t][m.pr]
    return c


# --------------------------------------------------------------------------- HiGHS


@dataclass
class _Clock:
    """The call's safety stop: time left, and whether it ended any stage (``fired``).

    No stage reads the clock to decide what to do next; stages stop on work limits.
    The clock only stops HiGHS (its ``time_limit``) and stops further stages once the
    deadline has passed; either way ``fired`` is set and the message says so.
    """

    start: float
    deadline: float
    fired: bool = False

    def left(self, floor: float = 0.1) -> float:
        """Seconds to the deadline, at least ``floor`` (so a last evaluation can finish)."""
        return max(self.deadline - time.perf_counter(), floor)

    def expired(self) -> bool:
        """True (and ``fired``) once the deadline has passed."""
        if time.perf_counter() >= self.deadline:
            self.fired = True
        return self.fired


def _highs(threads: int, seed: int, time_limit: float) -> highspy.Highs:
    return new_highs(threads, seed, max(time_limit, 0.1))


def _pass_lp(
    h: highspy.Highs, cost: _F, a_mat: sparse.csr_array, lo: _F, up: _F, col_up: _F
) -> None:
    """Pass the maximisation LP ``cost @ x`` s.t. ``lo <= A x <= up``, ``0 <= x <= col_up``."""
    pass_model(h, cost, a_mat, lo, up, np.zeros(cost.size), col_up, maximize=True)


# --------------------------------------------------------------------------- preprocessing


@dataclass(frozen=True)
class _Inputs:
    """Validated inputs in original indices."""

    c: _F
    w: _F  # weight per area (the final period's)
    d: _F
    standard: float
    T: int
    pw: _F
    k_t: _F | None
    b_t: _F | None
    carry: bool
    cap_js: _F  # (m, S)
    capex_js: _F
    ok_js: _B
    size_names: tuple[str, ...]
    fixed: _I
    fixed_cap: _F
    cand_mask: _B
    cover: _B
    floors: tuple[tuple[str, int, float, _F], ...]  # name, period (0-based), share, weights
    wt: _F | None = None  # (T, n) weight per period and area; None = ``w`` in every period


def _prepare(inp: _Inputs) -> _Model:
    """Reduce to merged rows and useful pairs (keeps the optimum; see the module docstring)."""
    n = inp.c.shape[0]
    cand = np.flatnonzero(inp.cand_mask)
    fixed = inp.fixed
    sites = np.concatenate([cand, fixed])
    cov = inp.cover[:, sites]
    fw_all = np.column_stack([f[3] for f in inp.floors]) if inp.floors else np.zeros((n, 0))
    wt = np.tile(inp.w, (inp.T, 1)) if inp.wt is None else inp.wt
    relevant = (wt > 0).any(axis=0) | (fw_all > 0).any(axis=1)
    keep = cov.any(axis=1) & relevant
    idx = np.flatnonzero(keep)
    # exact merging: same reachable sites, same weight/demand ratio, same floor ratios
    dd = inp.d[idx][:, np.newaxis]
    num = np.column_stack([wt.T, fw_all])[idx]
    ratio = np.where(dd > 0, num / np.where(dd > 0, dd, 1.0), np.where(num > 0, np.inf, -1.0))
    zero_d = (inp.d[idx] <= 0)[:, np.newaxis]
    key = (
        np.column_stack([np.packbits(cov[idx], axis=1).astype(float), ratio, zero_d.astype(float)])
        if idx.size
        else np.zeros((0, 1))
    )
    if idx.size:
        _, inv = np.unique(key, axis=0, return_inverse=True)
        inv = inv.reshape(-1)
        # number rows in order of first appearance (deterministic and readable)
        _, first = np.unique(inv, return_index=True)
        rank = np.empty(first.size, dtype=np.int64)
        rank[np.argsort(first, kind="stable")] = np.arange(first.size)
        inv = rank[inv]
        n_rows = first.size
    else:
        inv = np.zeros(0, dtype=np.int64)
        n_rows = 0
    first_of = np.zeros(n_rows, dtype=np.int64)
    first_of[inv[::-1]] = idx[::-1]

    def agg(v: _F) -> _F:
        return np.bincount(inv, weights=v[idx], minlength=n_rows).astype(float)

    rows_of_area = np.full(n, -1, dtype=np.int64)
    rows_of_area[idx] = inv
    a = agg(inp.w if inp.wt is None else inp.pw @ inp.wt / inp.pw.sum())
    at = np.vstack([agg(wt[t]) for t in range(inp.T)])
    d = agg(inp.d)
    fw = (
        np.column_stack([agg(fw_all[:, k]) for k in range(fw_all.shape[1])])
        if inp.floors
        else np.zeros((n_rows, 0))
    )
    pr, ps = np.nonzero(cov[first_of]) if n_rows else (np.zeros(0, np.int64), np.zeros(0, np.int64))
    pr = pr.astype(np.int64)
    ps = ps.astype(np.int64)
    nc = cand.size
    reach_d = np.bincount(ps, weights=d[pr], minlength=sites.size)[:nc]
    qj, qs = np.nonzero(inp.ok_js[cand])
    qj = qj.astype(np.int64)
    qs = qs.astype(np.int64)
    cap_true = inp.cap_js[cand[qj], qs]
    qcap = np.minimum(cap_true, reach_d[qj])
    floor_total = np.array([float(f[3].sum()) for f in inp.floors])
    # weight of each floor served outside the model: none (unreachable areas are unserved)
    return _Model(
        T=inp.T,
        pw=inp.pw,
        k_t=inp.k_t,
        b_t=inp.b_t,
        carry=inp.carry,
        a=a,
        at=at,
        d=d,
        fw=fw,
        floor_need=np.array([f[2] for f in inp.floors]) * floor_total
        if inp.floors
        else np.zeros(0),
        floor_period=np.array([f[1] for f in inp.floors], dtype=np.int64),
        floor_total=floor_total,
        floor_names=tuple(f[0] for f in inp.floors),
        cand=cand,
        fixed=fixed,
        fixed_cap=inp.fixed_cap,
        pr=pr,
        ps=ps,
        qj=qj,
        qs=qs,
        qcap=qcap,
        qcap_true=cap_true,
        qcost=inp.capex_js[cand[qj], qs],
        rows_of_area=rows_of_area,
    )


# --------------------------------------------------------------------------- plans


@dataclass
class _Plan:
    """A plan in model indices: per candidate its opening period (1..T, -1) and size."""

    period: _I  # (nc,)
    size: _I  # (nc,)
    objective: float = float("nan")
    x: _F | None = None  # (T, P) served shares

    def y(self, m: _Model) -> _F:
        """``(T, Q)`` values of the option variables."""
        out = np.zeros((m.T, m.Q))
        chosen = (self.period[m.qj] >= 1) & (self.size[m.qj] == m.qs)
        for t in range(m.T):
            out[t] = chosen & (self.period[m.qj] <= t + 1)
        return out

    def columns(self, m: _Model) -> _F:
        assert self.x is not None
        return np.concatenate([self.x.reshape(-1), self.y(m).reshape(-1)])


def _site_capacity(m: _Model, plan: _Plan) -> _F:
    """Capacity per model site in the plan (0 if closed; fixed sites their own)."""
    cap = np.zeros(m.nc + m.fixed.size)
    sel = (plan.period[m.qj] >= 1) & (plan.size[m.qj] == m.qs)
    cap[m.qj[sel]] = m.qcap_true[sel]
    cap[m.nc :] = m.fixed_cap
    return cap


def _evaluate(m: _Model, plan: _Plan, threads: int, seed: int, clock: _Clock) -> _Plan | None:
    """Best service of a plan (an LP over the open sites' pairs); None if a floor fails.

    The LP gets at least a second whatever the clock says, so the last plan of a call
    is evaluated; a safety stop that ends it is recorded on ``clock``.
    """
    cap = _site_capacity(m, plan)
    open_at = np.concatenate([plan.period, np.zeros(m.fixed.size, np.int64)])
    cols_t: list[_I] = []
    for t in range(m.T):
        is_open = (open_at >= 0) & (open_at <= t + 1)
        cols_t.append(np.flatnonzero(is_open[m.ps]))
    offs = np.cumsum([0] + [c.size for c in cols_t])
    n_cols = int(offs[-1])
    n_sites = m.nc + m.fixed.size
    rows: list[_I] = []
    cols: list[_I] = []
    vals: list[_F] = []
    lo: list[_F] = []
    up: list[_F] = []
    base = 0
    cost = np.zeros(n_cols)
    for t, sel in enumerate(cols_t):
        k = offs[t] + np.arange(sel.size)
        cost[k] = m.pw[t] * m.at[t][m.pr[sel]]
        rows += [base + m.pr[sel], base + m.R + m.ps[sel]]
        cols += [k, k]
        vals += [np.ones(sel.size), m.d[m.pr[sel]]]
        lo += [np.full(m.R + n_sites, -np.inf)]
        up += [np.ones(m.R), np.where(np.isfinite(cap), cap, np.inf)]
        base += m.R + n_sites
    for f in range(m.fw.shape[1]):
        t = int(m.floor_period[f])
        sel = cols_t[t]
        rows.append(np.full(sel.size, base))
        cols.append(offs[t] + np.arange(sel.size))
        vals.append(m.fw[m.pr[sel], f])
        lo.append(np.array([m.floor_need[f] * (1 - 1e-9)]))
        up.append(np.array([np.inf]))
        base += 1
    a_mat = _coo_rows(rows, cols, vals, base, n_cols)
    h = _highs(threads, seed, clock.left(1.0))
    _pass_lp(h, cost, a_mat, np.concatenate(lo), np.concatenate(up), np.ones(n_cols))
    status, _ = run(h)
    if status == "time_limit":
        clock.fired = True
    if status != "optimal":
        return None
    val = np.asarray(h.getSolution().col_value)
    x = np.zeros((m.T, m.P))
    for t, sel in enumerate(cols_t):
        x[t, sel] = np.clip(val[offs[t] : offs[t + 1]], 0.0, 1.0)
    return _Plan(
        plan.period.copy(), plan.size.copy(), float(h.getInfo().objective_function_value), x
    )


def _greedy(m: _Model, rule: str, mix_rank: int = 0) -> _Plan:
    """Capacity-aware greedy: each pick fills its capacity with the best unserved demand.

    ``rule`` is ``"gain"`` (largest weight served), ``"ratio"`` (per pound of capex) or
    ``"mix"``: each period first fixes how many centres of each size to open (the
    ``mix_rank``-th largest total capacity within the period's budget and count, see
    :func:`_size_mixes`), then picks sites by gain for those sizes. Ties go to the
    lowest option index, so the plan is deterministic.
    """
    T, nc = m.T, m.nc
    ratio = np.where(m.d[m.pr] > 0, m.a[m.pr] / np.where(m.d[m.pr] > 0, m.d[m.pr], 1.0), np.inf)
    order = np.lexsort((np.arange(m.P), -np.where(np.isfinite(ratio), ratio, 1e300), m.ps))
    o_site, o_row, o_ratio = m.ps[order], m.pr[order], ratio[order]
    o_free = ~np.isfinite(o_ratio)
    n_sites = nc + m.fixed.size
    group_start = np.searchsorted(o_site, np.arange(n_sites))
    u = np.ones(m.R)

    def fill(caps: _F) -> tuple[_F, _F]:
        """Per ordered pair: demand taken if each site's capacity is ``caps[site]``."""
        avail = np.where(o_free, 0.0, m.d[o_row] * u[o_row])
        cum = np.cumsum(avail)
        before = cum - avail - np.where(group_start[o_site] > 0, cum[group_start[o_site] - 1], 0.0)
        take = np.clip(caps[o_site] - before, 0.0, avail)
        gain = np.where(o_free, m.a[o_row] * u[o_row], take * np.where(o_free, 0.0, o_ratio))
        return take, gain

    def commit(site: int, cap: float) -> None:
        caps = np.zeros(n_sites)
        caps[site] = cap
        take, _ = fill(caps)
        sel = o_site == site
        rows = o_row[sel]
        with np.errstate(divide="ignore", invalid="ignore"):
            dec = np.where(
                o_free[sel], u[rows], take[sel] / np.where(m.d[rows] > 0, m.d[rows], 1.0)
            )
        np.subtract.at(u, rows, dec)
        np.clip(u, 0.0, 1.0, out=u)

    for f in range(m.fixed.size):
        commit(nc + f, float(m.fixed_cap[f]) if np.isfinite(m.fixed_cap[f]) else 1e300)
    period = np.full(nc, -1, dtype=np.int64)
    size = np.full(nc, -1, dtype=np.int64)
    spent_b = 0.0
    opened = 0
    for t in range(T):
        count_left = np.inf
        if m.k_t is not None:
            count_left = (np.sum(m.k_t[: t + 1]) - opened) if m.carry else m.k_t[t]
        budget_left = np.inf
        if m.b_t is not None:
            budget_left = (np.sum(m.b_t[: t + 1]) - spent_b) if m.carry else m.b_t[t]
        mix = _size_mixes(m, budget_left, count_left)
        want = mix[min(mix_rank, len(mix) - 1)] if rule == "mix" and mix else None
        while count_left >= 1:
            gains = np.zeros(m.Q)
            for s in np.unique(m.qs):
                opt = np.flatnonzero(m.qs == s)
                caps = np.zeros(n_sites)
                caps[m.qj[opt]] = m.qcap[opt]
                _, g = fill(caps)
                per_site = np.bincount(o_site, weights=g, minlength=n_sites)
                gains[opt] = per_site[m.qj[opt]]
            ok = (period[m.qj] < 0) & (m.qcost <= budget_left + 1e-9) & (gains > 1e-12)
            if want is not None and (ok & (want[m.qs] > 0)).any():
                ok &= want[m.qs] > 0
            if not ok.any():
                break
            score = gains / np.maximum(m.qcost, 1.0) if rule == "ratio" else gains
            score = np.where(ok, score, -np.inf)
            q = int(np.argmax(score))
            j = int(m.qj[q])
            period[j], size[j] = t + 1, int(m.qs[q])
            commit(j, float(m.qcap[q]))
            if want is not None and want[m.qs[q]] > 0:
                want[m.qs[q]] -= 1
            count_left -= 1
            budget_left -= m.qcost[q]
            spent_b += m.qcost[q]
            opened += 1
    return _Plan(period, size)


def _size_mixes(m: _Model, budget: float, count: float, keep: int = 4) -> list[_I]:
    """Numbers of centres per size that fit a period's budget and count, largest capacity first.

    Each size is costed at its cheapest option and counted at its largest capacity (a
    guide for the greedy, not a constraint). Returns up to ``keep`` count vectors with
    distinct total capacities; empty without a budget.
    """
    if not np.isfinite(budget) or m.Q == 0:
        return []
    n_sizes = int(m.qs.max()) + 1
    cost = np.full(n_sizes, np.inf)
    cap = np.zeros(n_sizes)
    np.minimum.at(cost, m.qs, m.qcost)
    np.maximum.at(cap, m.qs, m.qcap_true)
    live = [s for s in range(n_sizes) if np.isfinite(cost[s]) and cap[s] > 0]
    max_n = min(count, 200.0)
    found: dict[float, _I] = {}

    def walk(k: int, counts: _I, spent: float, n: int) -> None:
        if len(found) > 5_000:
            return
        if k == len(live):
            total = float(cap @ counts)
            if total > 0 and (total not in found or counts.sum() < found[total].sum()):
                found[total] = counts.copy()
            return
        s = live[k]
        most = int(min((budget - spent) // max(cost[s], 1e-9), max_n - n)) if cost[s] > 0 else 0
        for c in range(max(most, 0), -1, -1):
            counts[s] = c
            walk(k + 1, counts, spent + c * cost[s], n + c)
        counts[s] = 0

    walk(0, np.zeros(n_sizes, dtype=np.int64), 0.0, 0)
    return [found[t] for t in sorted(found, reverse=True)[:keep]]


# --------------------------------------------------------------------------- bound and MIP


@dataclass
class _Bound:
    h: highspy.Highs | None
    status: str
    bound: float
    y: _F  # (T, Q) LP value of each option by period
    rounds: int
    cuts: int
    seconds: float
    note: str = ""  # a work limit that ended the rounds


def _lp_bound(
    m: _Model,
    threads: int,
    seed: int,
    clock: _Clock,
    max_rounds: int,
    stages: list[Any],
    incumbent: float,
    target_gap: float,
) -> _Bound:
    """LP relaxation with capacity rows, links added where violated (row generation).

    Work limits: the first LP :data:`LP_ITERATION_LIMIT` simplex iterations, the
    rounds together :data:`LP_ROUND_WORK` times the first LP's iterations; an LP that
    stops short ends the rounds with the last proven bound.
    """
    t0 = time.perf_counter()
    a_mat, lo, up = _static_rows(m)
    h = _highs(threads, seed, clock.left())
    _pass_lp(h, _objective(m), a_mat, lo, up, np.ones(m.n_cols))
    h.setOptionValue("solver", "simplex")
    h.setOptionValue("simplex_iteration_limit", LP_ITERATION_LIMIT)
    status, sec = run(h)
    round_budget = LP_ROUND_WORK * max(int(h.getInfo().simplex_iteration_count), 1)
    round_iterations = 0
    rounds = cuts = 0
    bound = float("inf")
    nc_pairs = np.flatnonzero(m.ps < m.nc)
    y = np.zeros((m.T, m.Q))
    note = ""
    proven_rounds = proven_cuts = 0
    while status == "optimal":
        bound = float(h.getInfo().objective_function_value)
        proven_rounds, proven_cuts = rounds, cuts
        stages.append((f"LP bound, round {rounds}", bound, sec))
        val = np.asarray(h.getSolution().col_value)
        x = val[: m.T * m.P].reshape(m.T, m.P)
        y = val[m.T * m.P :].reshape(m.T, m.Q).copy()
        ysite = np.zeros((m.T, m.nc))
        for t in range(m.T):
            ysite[t] = np.bincount(m.qj, weights=y[t], minlength=m.nc)
        viol = x[:, nc_pairs] - ysite[:, m.ps[nc_pairs]]
        tt, pp = np.nonzero(viol > 1e-6)
        proven = incumbent > 0 and relative_gap(incumbent, bound) <= target_gap
        last = int(h.getInfo().simplex_iteration_count)
        if rounds > 0:
            round_iterations += last
        # rounds grow dearer: one that would need more than the budget left is not started
        left_work = int(round_budget - round_iterations)
        if last > left_work:
            left_work = 0
        if tt.size and not proven and rounds < max_rounds and left_work <= 0:
            note = _ROUNDS_STOPPED
        if tt.size == 0 or proven or rounds >= max_rounds or left_work <= 0 or clock.expired():
            break
        rows = _link_rows(m, nc_pairs[pp], tt)
        add_rows(h, rows, np.full(tt.size, -np.inf), np.zeros(tt.size))
        cuts += int(tt.size)
        rounds += 1
        # HiGHS's time limit runs on the instance's cumulative clock
        h.setOptionValue("time_limit", float(h.getRunTime() + clock.left()))
        h.setOptionValue("simplex_iteration_limit", left_work)
        # from scratch with presolve: measured faster than the warm-started dual simplex,
        # which stalls on this degenerate LP (see benchmarks/results_capacitated.md)
        h.clearSolver()
        status, sec = run(h)
    if status == "time_limit":
        clock.fired = True
    if status in ("time_limit", "work_limit", "other") and np.isfinite(bound):
        # a round stopped by a limit proves nothing: the last proven bound stands
        stages.append((f"LP bound, round {rounds} ({status.replace('_', ' ')})", bound, sec))
        if status == "work_limit":
            note = _ROUNDS_STOPPED
        status = "optimal"
        rounds, cuts = proven_rounds, proven_cuts
    if status == "infeasible":
        return _Bound(
            None,
            "infeasible",
            float("nan"),
            np.zeros((m.T, m.Q)),
            rounds,
            cuts,
            time.perf_counter() - t0,
        )
    return _Bound(h, status, bound, y, rounds, cuts, time.perf_counter() - t0, note)


def _lp_rounding(m: _Model, y: _F) -> _Plan:
    """A plan from the LP: options by ``sum_t y_qt`` (open early and fully first), per period.

    Each period takes, in that order, options of sites not yet open that fit its count
    and budget (cumulative with carry-over). Ties go to the lowest option index.
    """
    score = y.sum(axis=0)
    order = np.lexsort((np.arange(m.Q), -score))
    order = order[score[order] > 1e-9]
    period = np.full(m.nc, -1, dtype=np.int64)
    size = np.full(m.nc, -1, dtype=np.int64)
    opened = 0
    spent = 0.0
    for t in range(m.T):
        count_left = np.inf
        if m.k_t is not None:
            count_left = (np.sum(m.k_t[: t + 1]) - opened) if m.carry else m.k_t[t]
        budget_left = np.inf
        if m.b_t is not None:
            budget_left = (np.sum(m.b_t[: t + 1]) - spent) if m.carry else m.b_t[t]
        # the LP's own opening by period t bounds how many this period should take
        for q in order:
            if count_left < 1:
                break
            j = int(m.qj[q])
            if period[j] >= 0 or m.qcost[q] > budget_left + 1e-9:
                continue
            if y[: t + 1, q].sum() <= 1e-9 and t < m.T - 1:
                continue  # the LP does not open it yet
            period[j], size[j] = t + 1, int(m.qs[q])
            count_left -= 1
            budget_left -= m.qcost[q]
            spent += m.qcost[q]
            opened += 1
    return _Plan(period, size)


def _mip(
    m: _Model,
    h: highspy.Highs,
    start: _Plan | None,
    pool: _B | None,
    gap: float,
    nodes: int,
    seconds: float,
) -> tuple[str, _Plan | None, float]:
    """Solve the MIP (optionally restricted to ``pool`` candidates) from ``start``.

    Returns the HiGHS status, the plan found (or None) and HiGHS's dual bound (valid
    for the full model only when ``pool`` is None).
    """
    ycols = np.arange(m.ycol(0), m.n_cols, dtype=np.int32)
    h.changeColsIntegrality(ycols.size, ycols, np.ones(ycols.size, dtype=np.uint8))
    upper = np.ones(ycols.size)
    xcols = np.arange(m.ycol(0), dtype=np.int32)
    x_upper = np.ones(xcols.size)
    if pool is not None:
        upper = np.tile(pool[m.qj].astype(float), m.T)
        site_ok = np.concatenate([pool, np.ones(m.fixed.size, dtype=bool)])
        x_upper = np.tile(site_ok[m.ps].astype(float), m.T)
    h.changeColsBounds(ycols.size, ycols, np.zeros(ycols.size), upper)
    h.changeColsBounds(xcols.size, xcols, np.zeros(xcols.size), x_upper)
    h.setOptionValue("solver", "choose")
    h.setOptionValue("mip_rel_gap", float(gap))
    h.setOptionValue("mip_max_nodes", int(nodes))
    # HiGHS's time limit runs on the instance's cumulative clock (the LP rounds used some)
    h.setOptionValue("time_limit", float(h.getRunTime() + max(seconds, 0.1)))
    if start is not None and start.x is not None:
        vals = start.columns(m)
        idx = np.arange(vals.size, dtype=np.int32)
        h.setSolution(int(vals.size), idx, vals)
    status, _ = run(h)
    info = h.getInfo()
    plan = None
    if info.primal_solution_status == 2:  # kSolutionStatusFeasible
        val = np.asarray(h.getSolution().col_value)
        y = val[m.ycol(0) :].reshape(m.T, m.Q) > 0.5
        period = np.full(m.nc, -1, dtype=np.int64)
        size = np.full(m.nc, -1, dtype=np.int64)
        for t in range(m.T - 1, -1, -1):
            period[m.qj[y[t]]] = t + 1
            size[m.qj[y[t]]] = m.qs[y[t]]
        plan = _Plan(period, size, float(info.objective_function_value))
    dual = float(info.mip_dual_bound) if np.isfinite(info.mip_dual_bound) else float("inf")
    return status, plan, dual


def _floor_shortfall(m: _Model, threads: int, seed: int, seconds: float) -> str:
    """Why the floors cannot be met: the most each floor's group can be served (an LP bound)."""
    free = replace(m, fw=np.zeros((m.R, 0)), floor_need=np.zeros(0))
    a_mat, lo, up = _static_rows(free)
    parts: list[str] = []
    for k in range(m.fw.shape[1]):
        cost = np.zeros(m.n_cols)
        t = int(m.floor_period[k])
        cost[m.xcol(t) : m.xcol(t) + m.P] = m.fw[m.pr, k]
        h = _highs(threads, seed, seconds)
        _pass_lp(h, cost, a_mat, lo, up, np.ones(m.n_cols))
        status, _ = run(h)
        if status != "optimal" or m.floor_total[k] <= 0:
            continue
        best = float(h.getInfo().objective_function_value)
        need = float(m.floor_need[k])
        if best < need * (1 - 1e-9):
            total = float(m.floor_total[k])
            parts.append(
                f"Service floor '{m.floor_names[k]}' needs {need / total:.1%} of its weight "
                f"served by period {t + 1}, but at most {best / total:.1%} can be served within "
                "the standard with the allowed centres, sizes and budget (a proven upper bound: "
                f"the LP relaxation): a shortfall of {100 * (need - best) / total:.1f} "
                f"percentage points ({need - best:,.0f} weight)."
            )
    if parts:
        return " ".join(parts)
    return (
        "Each service floor can be met on its own but not all together with the allowed "
        "centres, sizes and budget. Lower a floor, or allow more centres or budget."
    )


def _secondary(m: _Model, inp: _Inputs, plan: _Plan) -> tuple[_Plan, list[int], int]:
    """Fill unused opening slots by unmet demand reached, then minutes of travel saved.

    Returns the new plan (x not yet evaluated), the model candidates added, and the
    number of slots still unused. Only with a count limit (``new_per_period``).
    """
    if m.k_t is None or plan.x is None:
        return plan, [], 0
    period, size = plan.period.copy(), plan.size.copy()
    # sites that serve nothing in any period free their slot
    load = np.zeros(m.nc)
    cpairs = m.ps < m.nc
    for t in range(m.T):
        load += np.bincount(m.ps[cpairs], weights=plan.x[t, cpairs], minlength=m.nc)
    idle = (period >= 1) & (load <= 1e-9)
    period[idle], size[idle] = -1, -1
    n_orig, _ = inp.c.shape
    served = np.zeros(n_orig)
    x_final = np.bincount(m.pr, weights=plan.x[-1], minlength=m.R)
    has_row = m.rows_of_area >= 0
    served[has_row] = np.clip(x_final[m.rows_of_area[has_row]], 0.0, 1.0)
    unmet = inp.d * (1.0 - served) * inp.cover[:, m.cand].any(axis=1)
    open_orig = np.concatenate([m.cand[period >= 1], m.fixed])
    cov_c = inp.cover[:, m.cand]
    c_c = np.where(cov_c, inp.c[:, m.cand], np.inf)
    tcur = np.full(n_orig, inp.standard)
    if open_orig.size:
        within = np.where(inp.cover[:, open_orig], inp.c[:, open_orig], np.inf)
        tcur = np.minimum(tcur, within.min(axis=1))
    added: list[int] = []
    unused = 0
    opened = np.array([int(np.sum(period == t + 1)) for t in range(m.T)])
    spent = np.zeros(m.T)
    sel = (period[m.qj] >= 1) & (size[m.qj] == m.qs)
    np.add.at(spent, period[m.qj[sel]] - 1, m.qcost[sel])
    for t in range(m.T):
        while True:
            if m.carry:
                slots = float(np.sum(m.k_t[: t + 1]) - opened[: t + 1].sum())
                budget = (
                    np.inf
                    if m.b_t is None
                    else float(np.sum(m.b_t[: t + 1]) - spent[: t + 1].sum())
                )
            else:
                slots = float(m.k_t[t] - opened[t])
                budget = np.inf if m.b_t is None else float(m.b_t[t] - spent[t])
            if slots < 1:
                break
            saved = np.where(cov_c, np.maximum(tcur[:, None] - c_c, 0.0), 0.0)
            score = inp.standard * (unmet @ cov_c) + inp.d @ saved
            cheapest = np.full(m.nc, np.inf)
            np.minimum.at(cheapest, m.qj, m.qcost)
            ok = (period < 0) & (cheapest <= budget + 1e-9) & (score > 1e-9)
            if not ok.any():
                unused += int(slots) if not m.carry or t == m.T - 1 else 0
                break
            j = int(np.argmax(np.where(ok, score, -np.inf)))
            opts = np.flatnonzero((m.qj == j) & (m.qcost <= budget + 1e-9))
            q = int(opts[np.argmin(m.qcost[opts])])
            period[j], size[j] = t + 1, int(m.qs[q])
            opened[t] += 1
            spent[t] += m.qcost[q]
            added.append(j)
            unmet[cov_c[:, j]] = 0.0
            tcur = np.minimum(tcur, c_c[:, j])
    return _Plan(period, size), added, unused


# --------------------------------------------------------------------------- public API


def _validate(
    cost: npt.ArrayLike,
    weights: npt.ArrayLike,
    demand: npt.ArrayLike,
    max_cost: float,
    *,
    periods: int,
    new_per_period: float | Sequence[float] | None,
    budget_per_period: float | Sequence[float] | None,
    carry_over: bool,
    period_weights: npt.ArrayLike | None,
    sizes: Sequence[SizeLike],
    site_capex: npt.ArrayLike | None,
    allowed_sizes: npt.ArrayLike | None,
    fixed_capacity: float | npt.ArrayLike | None,
    floors: Sequence[ServiceFloor],
    fixed: Sequence[int] | npt.NDArray[Any] | None,
    excluded: Sequence[int] | npt.NDArray[Any] | None,
    time_limit_s: float,
    threads: int,
    seed: int,
) -> _Inputs:
    c = as_cost_matrix(cost)
    n, m = c.shape
    d = as_weights(demand, n, "demand")
    standard = check_max_cost(max_cost)
    opts = parse_options(
        m, fixed=fixed, excluded=excluded, time_limit_s=time_limit_s, threads=threads, seed=seed
    )
    if isinstance(periods, bool) or int(periods) != periods or periods < 1:
        msg = f"periods must be an integer >= 1; found {periods!r}"
        raise ValueRangeError(msg)
    T = int(periods)
    w, wt = weights_by_period(weights, n, T)
    k_t = per_period(new_per_period, T, "new_per_period", integer=True)
    b_t = per_period(budget_per_period, T, "budget_per_period", integer=False)
    if k_t is None and b_t is None:
        msg = "capacitated_phased needs new_per_period or budget_per_period (or both)"
        raise ValueRangeError(msg)
    pw = (
        (1.035 ** -np.arange(T, dtype=float))
        if period_weights is None
        else as_weights(period_weights, T, "period_weights")
    )
    if not sizes:
        msg = "sizes: expected at least one size (name, capacity, capex_gbp)"
        raise ValueRangeError(msg)
    S = len(sizes)
    caps = np.array([float(s.capacity) for s in sizes])
    if np.any(np.isnan(caps)) or np.any(caps < 0):
        msg = f"sizes: capacities must be >= 0; found {caps.tolist()}"
        raise ValueRangeError(msg)
    cap_js = np.tile(caps, (m, 1))
    capex_js = np.tile([float(s.capex_gbp) for s in sizes], (m, 1))
    if site_capex is not None:
        sc = np.asarray(site_capex, float)
        sc = sc.reshape(m, 1) if sc.shape == (m,) else sc
        if sc.shape not in ((m, 1), (m, S)) or np.any(sc[~np.isnan(sc)] < 0):
            msg = (
                f"site_capex: expected {m} or ({m}, {S}) values >= 0 (NaN = the size's "
                f"capex); found shape {np.shape(site_capex)}"
            )
            raise ValueRangeError(msg)
        capex_js = np.where(np.isnan(np.broadcast_to(sc, (m, S))), capex_js, sc)
    ok_js = np.ones((m, S), dtype=bool)
    if allowed_sizes is not None:
        ok_js = np.asarray(allowed_sizes, dtype=bool)
        if ok_js.shape != (m, S):
            msg = f"allowed_sizes: expected a ({m}, {S}) boolean mask; found {ok_js.shape}"
            raise ValueRangeError(msg)
    nf = opts.fixed.size
    if fixed_capacity is None:
        fcap = np.full(nf, float(caps.max()))
    else:
        fcap = np.asarray(fixed_capacity, float)
        fcap = np.full(nf, float(fcap)) if fcap.ndim == 0 else fcap
        if fcap.shape != (nf,) or np.any(np.isnan(fcap)) or np.any(fcap < 0):
            msg = (
                f"fixed_capacity: expected a number or {nf} values >= 0 (one per fixed "
                f"site, in sorted order); found {np.shape(fixed_capacity)}"
            )
            raise ValueRangeError(msg)
    floor_list: list[tuple[str, int, float, _F]] = []
    for f in floors:
        per, fw = floor_members(f, w, T)
        floor_list.append((f.name, per - 1, float(f.share), fw))
    cand_mask = opts.allowed & ~opts.fixed_mask & ok_js.any(axis=1)
    return _Inputs(
        c=c,
        w=w,
        d=d,
        standard=standard,
        T=T,
        pw=np.asarray(pw, float),
        k_t=k_t,
        b_t=b_t,
        carry=bool(carry_over),
        cap_js=cap_js,
        capex_js=capex_js,
        ok_js=ok_js,
        size_names=tuple(str(s.name) for s in sizes),
        fixed=opts.fixed,
        fixed_cap=fcap,
        cand_mask=cand_mask,
        cover=c <= standard,
        floors=tuple(floor_list),
        wt=wt,
    )


def capacitated_phased(
    cost: npt.ArrayLike,
    weights: npt.ArrayLike,
    demand: npt.ArrayLike,
    max_cost: float,
    *,
    sizes: Sequence[SizeLike],
    periods: int = 5,
    new_per_period: float | Sequence[float] | None = None,
    budget_per_period: float | Sequence[float] | None = None,
    carry_over: bool = False,
    period_weights: npt.ArrayLike | None = None,
    site_capex: npt.ArrayLike | None = None,
    allowed_sizes: npt.ArrayLike | None = None,
    fixed_capacity: float | npt.ArrayLike | None = None,
    floors: Sequence[ServiceFloor] = (),
    fixed: Sequence[int] | npt.NDArray[Any] | None = None,
    excluded: Sequence[int] | npt.NDArray[Any] | None = None,
    mip_gap: float = 0.005,
    max_cut_rounds: int = 10,
    mip_nodes: int = 2_000,
    time_limit_s: float = 120.0,
    threads: int = 1,
    seed: int = 0,
    objective: str = "weighted",
    groups: npt.ArrayLike | None = None,
    group_weights: npt.ArrayLike | None = None,
) -> CapacitatedPhasedResult:
    """Capacity-true phased plan: sites, opening period and size, service within capacity.

    The formulation and method are in the module docstring
    (:mod:`nhc_planner.optimize.capacitated_phased`).

    Parameters
    ----------
    cost
        ``(n_areas, n_sites)`` travel times (``np.inf`` = unreachable).
    weights
        Need weight per area (e.g. population x need score), ``(n,)``; or one row
        per period, ``(T, n)`` (e.g. each period's projected population x need
        factor): period ``t``'s service is weighed with row ``t`` (floors without
        their own weights use the final row; the greedy uses the periods' mean).
    demand
        Weekly appointments per area (:func:`nhc_planner.capacity.weekly_demand`).
    max_cost
        The standard: area ``i`` can be served by site ``j`` if ``cost[i, j] <= max_cost``.
    sizes
        Sizes to choose from: objects with ``name``, weekly ``capacity`` and
        ``capex_gbp`` (e.g. :class:`nhc_planner.optimize.SizeOption`).
    periods
        Number of periods ``T`` (years).
    new_per_period, budget_per_period
        New centres allowed and capital budget (GBP) per period (a number or ``T``
        numbers); at least one is required.
    carry_over
        When True, unused openings/budget carry over (cumulative limits).
    period_weights
        Weight of each period's served need; default ``1.035^-(t-1)``.
    site_capex
        Capital cost per site (``n_sites``) or per site and size; NaN = the size's.
    allowed_sizes
        ``(n_sites, n_sizes)`` mask of sizes each site can take.
    fixed_capacity
        Weekly capacity of each existing (``fixed``) site; default the largest size's.
    floors
        :class:`ServiceFloor` s: a group's served share by a period.
    fixed, excluded
        Sites already open (period 0) / never open.
    mip_gap
        Stop once the plan is proven within this relative gap (default 0.5%).
    max_cut_rounds
        Rounds of link-row generation for the LP bound (a work limit).
    mip_nodes
        Branch-and-bound nodes per MIP stage (a work limit); 0 skips the MIP stages
        (the plan is then the best greedy or LP-rounded plan, the bound the LP's).
    time_limit_s
        Safety stop for the whole call; a result stopped by it says so.
    threads, seed
        HiGHS threads and random seed.
    objective
        ``"weighted"`` (default: the weighted need served) or ``"maxmin"``: first the
        plan whose worst-served group has the largest served share at the final period
        (:func:`~nhc_planner.optimize.capacitated_maxmin.max_min_share`), then the
        weighted objective with every group's served share held at that value
        (:func:`~nhc_planner.optimize.capacitated_maxmin.lexicographic`). The result's
        ``min_group_share`` and ``min_group_share_bound`` report the first stage;
        ``status`` is ``"optimal"`` only when both stages are proven.
    groups
        With ``"maxmin"``: one label per area (e.g. its local authority); required.
    group_weights
        With ``"maxmin"``: the weight of each area in its group's share (e.g. its
        population); default the final period's ``weights``.

    Returns
    -------
    CapacitatedPhasedResult

    Raises
    ------
    ValueRangeError
        For inconsistent inputs (including ``groups`` of the wrong length, or given
        without ``objective="maxmin"``).

    Examples
    --------
    >>> from nhc_planner.optimize import SizeOption
    >>> cost = np.array([[5.0, 30.0], [30.0, 5.0], [30.0, 8.0]])
    >>> res = capacitated_phased(cost, [1.0, 1.0, 1.0], [10.0, 10.0, 10.0], 10,
    ...                          sizes=[SizeOption("s", 15.0, 1.0)], periods=2,
    ...                          new_per_period=1)
    >>> res.status, res.open_period.tolist(), res.served_by_period.round(2).tolist()
    ('optimal', [2, 1], [1.5, 2.5])
    >>> float(res.load.max()) <= 15.0
    True
    """
    clock = _Clock(time.perf_counter(), time.perf_counter() + time_limit_s)
    if not 0 <= mip_gap < 1:
        msg = f"mip_gap must be a relative gap in [0, 1); found {mip_gap!r}"
        raise ValueRangeError(msg)
    inp = _validate(
        cost,
        weights,
        demand,
        max_cost,
        periods=periods,
        new_per_period=new_per_period,
        budget_per_period=budget_per_period,
        carry_over=carry_over,
        period_weights=period_weights,
        sizes=sizes,
        site_capex=site_capex,
        allowed_sizes=allowed_sizes,
        fixed_capacity=fixed_capacity,
        floors=floors,
        fixed=fixed,
        excluded=excluded,
        time_limit_s=time_limit_s,
        threads=threads,
        seed=seed,
    )
    work = _Work(mip_gap, max_cut_rounds, mip_nodes, threads, seed)
    max_min = _max_min_groups(objective, groups, group_weights, inp)
    if max_min:
        from nhc_planner.optimize.capacitated_maxmin import lexicographic

        return lexicographic(inp, max_min, work, clock)
    return _solve(inp, _prepare(inp), work, clock)


def _max_min_groups(
    objective: str,
    groups: npt.ArrayLike | None,
    group_weights: npt.ArrayLike | None,
    inp: _Inputs,
) -> tuple[tuple[str, int, float, _F], ...]:
    """The max-min groups of :func:`capacitated_phased` (empty for ``"weighted"``), checked."""
    if objective not in ("weighted", "maxmin"):
        msg = f"objective must be 'weighted' or 'maxmin'; found {objective!r}"
        raise ValueRangeError(msg)
    if objective == "weighted":
        if groups is not None or group_weights is not None:
            msg = (
                "groups and group_weights are used only with objective='maxmin'; for a "
                "minimum served share per group give floors (ServiceFloor)"
            )
            raise ValueRangeError(msg)
        return ()
    n = inp.w.size
    if groups is None:
        msg = "objective='maxmin' needs groups (one label per area, e.g. its local authority)"
        raise ValueRangeError(msg)
    labels = np.asarray(groups)
    if labels.shape != (n,):
        msg = (
            f"groups: expected one label per area ({n}, the cost rows); found shape {labels.shape}"
        )
        raise ValueRangeError(msg)
    try:
        uniq, codes = np.unique(labels, return_inverse=True)
    except TypeError as exc:
        msg = f"groups: labels must be of one sortable kind (all text or all numbers); {exc}"
        raise ValueRangeError(msg) from exc
    gw = inp.w if group_weights is None else as_weights(group_weights, n, "group_weights")
    entries = _group_entries(codes.reshape(-1), list(uniq), gw, inp.T)
    if not entries:
        msg = (
            f"group_weights: all {uniq.size} group(s) have zero weight; max-min needs at "
            "least one group with weight"
        )
        raise ValueRangeError(msg)
    return entries


def _group_entries(
    codes: _I, labels: Sequence[Any], weights: _F, periods: int
) -> tuple[tuple[str, int, float, _F], ...]:
    """One served-share entry per group with weight: the max-min groups of :class:`_Inputs`.

    ``codes`` gives each area's group (an index into ``labels``); each entry is
    ``(name, final period (0-based), share 0, the members' weights)``.
    """
    out = []
    for g, label in enumerate(labels):
        gw = np.where(codes == g, weights, 0.0)
        if gw.sum() > 0:
            out.append((f"group {label} (max-min)", periods - 1, 0.0, gw))
    return tuple(out)


def solve_inputs(
    inp: _Inputs,
    *,
    mip_gap: float,
    time_limit_s: float,
    threads: int,
    seed: int,
    max_cut_rounds: int = 10,
    mip_nodes: int = 2_000,
    start_plans: Sequence[tuple[_I, _I]] = (),
    max_min_groups: Sequence[tuple[str, int, float, _F]] = (),
) -> CapacitatedPhasedResult:
    """:func:`capacitated_phased` on inputs already checked (``phased_coverage`` with demand).

    ``inp`` is an :class:`_Inputs` in original indices; the work limits are those of
    :func:`capacitated_phased`. ``start_plans`` are plans to consider beside the greedy
    ones, each ``(open_period, size_index)`` per site as in
    :class:`CapacitatedPhasedResult`; a plan that misses a floor is ignored.
    ``max_min_groups`` (:func:`_group_entries`), when given, make it the max-min solve
    (``objective="maxmin"``: :func:`~nhc_planner.optimize.capacitated_maxmin.lexicographic`).
    """
    clock = _Clock(time.perf_counter(), time.perf_counter() + time_limit_s)
    work = _Work(mip_gap, max_cut_rounds, mip_nodes, threads, seed)
    if max_min_groups:
        from nhc_planner.optimize.capacitated_maxmin import lexicographic

        return lexicographic(inp, tuple(max_min_groups), work, clock, start_plans)
    m = _prepare(inp)
    return _solve(inp, m, work, clock, _start_plans(m, start_plans))


def _start_plans(m: _Model, plans: Sequence[tuple[_I, _I]]) -> list[_Plan]:
    """Plans given per original site (``(open_period, size_index)``) in model indices."""
    return [_Plan(np.asarray(op)[m.cand].copy(), np.asarray(si)[m.cand].copy()) for op, si in plans]


def _greedy_rules(m: _Model) -> list[tuple[str, str, int]]:
    """``(name, rule, mix rank)`` of the greedy plans tried: by gain; with a budget also
    per pound and three size mixes."""
    rules = [("greedy (gain)", "gain", 0)]
    if m.b_t is not None:
        rules += [("greedy (ratio)", "ratio", 0)]
        rules += [(f"greedy (mix {k})", "mix", k) for k in range(3)]
    return rules


def _site_arrays(inp: _Inputs, m: _Model, plan: _Plan) -> tuple[_I, _I]:
    """``(open_period, size_index)`` per original site of a plan in model indices."""
    n_sites = inp.c.shape[1]
    open_period = np.full(n_sites, -1, dtype=np.int64)
    open_period[inp.fixed] = 0
    open_period[m.cand] = plan.period
    size_index = np.full(n_sites, -1, dtype=np.int64)
    size_index[m.cand] = plan.size
    return open_period, size_index


@dataclass(frozen=True)
class _Work:
    """The work limits and solver settings of one call (none of them a clock)."""

    mip_gap: float
    max_cut_rounds: int
    mip_nodes: int
    threads: int
    seed: int


def _best_greedy(
    m: _Model,
    work: _Work,
    clock: _Clock,
    stages: list[tuple[str, float, float]],
    starts: Sequence[_Plan] = (),
) -> tuple[_Plan | None, str]:
    """The best of the greedy plans (by gain; with a budget also per pound and size mixes).

    ``starts`` (plans given by the caller) are evaluated first and compete with them.
    """
    best: _Plan | None = None
    best_from = ""
    for k, start in enumerate(starts):
        t0 = time.perf_counter()
        plan = _evaluate(m, start, work.threads, work.seed, clock)
        name = f"start plan {k + 1}"
        stages.append((name, plan.objective if plan else float("nan"), time.perf_counter() - t0))
        if plan is not None and (best is None or plan.objective > best.objective):
            best, best_from = plan, name
    rules = _greedy_rules(m)
    for name, rule, rank in rules:
        t0 = time.perf_counter()
        plan = _evaluate(m, _greedy(m, rule, rank), work.threads, work.seed, clock)
        stages.append((name, plan.objective if plan else float("nan"), time.perf_counter() - t0))
        if plan is not None and (best is None or plan.objective > best.objective):
            best, best_from = plan, name
    if best is None and m.fw.shape[1]:
        best, best_from = _floor_repair(m, rules, work, clock, stages)
    return best, best_from


def _solve(
    inp: _Inputs, m: _Model, work: _Work, clock: _Clock, starts: Sequence[_Plan] = ()
) -> CapacitatedPhasedResult:
    """The stages of the module docstring: greedy plans, LP bound, MIPs, saturation."""
    stages: list[tuple[str, float, float]] = []
    notes: list[str] = []
    threads, seed, mip_gap = work.threads, work.seed, work.mip_gap
    t_start = clock.start
    # ---- plans from the greedy (and the caller's)
    best, best_from = _best_greedy(m, work, clock, stages, starts)
    # ---- the bound
    incumbent = best.objective if best is not None else 0.0
    lp = _lp_bound(m, threads, seed, clock, work.max_cut_rounds, stages, incumbent, mip_gap)
    if lp.status == "infeasible":
        text = _floor_shortfall(m, threads, seed, clock.left(1.0))
        return _infeasible(inp, m, text, t_start, stages)
    if lp.note:
        notes.append(lp.note)
    elif lp.rounds >= work.max_cut_rounds and lp.status == "optimal":
        notes.append(f"link rows generated for {work.max_cut_rounds} rounds (work limit)")
    if lp.h is not None and (best is None or relative_gap(best.objective, lp.bound) > mip_gap):
        t0 = time.perf_counter()
        plan = _evaluate(m, _lp_rounding(m, lp.y), threads, seed, clock)
        stages.append(
            ("LP rounding", plan.objective if plan else float("nan"), time.perf_counter() - t0)
        )
        if plan is not None and (best is None or plan.objective > best.objective):
            best, best_from = plan, "LP rounding"
    # ---- MIP: restricted to the sites the LP or the plans use, then in full
    best, bound, mip_from, skipped = _improve_by_mip(m, lp, best, work, clock, stages)
    best_from = mip_from or best_from
    if skipped:
        notes.append(skipped)
    if best is None:
        return _no_plan(inp, m, t_start, stages, bound)
    # ---- site swaps while the plan is not proven within the gap
    if relative_gap(best.objective, bound) > mip_gap:
        from nhc_planner.optimize._site_swap import timed_swap

        best, moved = timed_swap(m, best, threads, seed, clock, stages)
        best_from = "swap search" if moved else best_from
    # ---- saturation: unused slots by the secondary objective
    sec_plan, added, unused = _secondary(m, inp, best)
    if added or not np.array_equal(sec_plan.period, best.period):
        ev = _evaluate(m, sec_plan, threads, seed, clock)
        if ev is not None and ev.objective >= best.objective - 1e-9 * max(1.0, best.objective):
            best = ev
        else:
            added, unused = [], 0
    if added:
        notes.append(
            f"{len(added)} centre(s) placed by the secondary objective (unmet demand reached, "
            "then travel time saved): the primary objective was already saturated"
        )
    if unused:
        notes.append(
            f"{unused} of the allowed new centres left unused: every area within the standard "
            "of a candidate site is already served and no further site would shorten travel"
        )
    bound = max(bound, best.objective)
    gap = relative_gap(best.objective, bound)
    status: SolveStatus = "optimal" if gap <= 1e-7 else "feasible"
    how = "proven optimal" if status == "optimal" else f"within {gap:.3%} of the proven bound"
    if not np.isfinite(gap):
        how = "a plan, but no bound proven (the first LP did not finish)"
    text = (
        f"HiGHS (highspy): {how} after {time.perf_counter() - t_start:.1f} s "
        f"(bound: LP relaxation with {lp.cuts:,} link rows added in {lp.rounds} round(s)"
        f"{' and the MIP' if bound < lp.bound - 1e-9 else ''}; plan from the {best_from})"
    )
    if clock.fired:
        text += (
            f"; stopped by the {clock.deadline - t_start:g} s safety time limit (best plan "
            "kept), so this result may depend on the machine's speed"
        )
    if notes:
        text += "; " + "; ".join(notes)
    return _result(inp, m, best, status, bound, gap, text, t_start, stages, added, unused)


def _floor_repair(
    m: _Model,
    rules: list[tuple[str, str, int]],
    work: _Work,
    clock: _Clock,
    stages: list[tuple[str, float, float]],
) -> tuple[_Plan | None, str]:
    """Greedy plans with the floor groups' weights raised until the floors are met.

    The greedy ignores the floors; when none of its plans meets them, the weights of
    the areas in a floor group are multiplied by ``1 + boost`` (boost 1, 4, 16, 64)
    for the greedy only, and each plan is evaluated with the true objective and floors.
    """
    member = m.fw.sum(axis=1) > 0
    for boost in (1.0, 4.0, 16.0, 64.0):
        boosted = replace(m, a=m.a * np.where(member, 1.0 + boost, 1.0))
        best: _Plan | None = None
        best_from = ""
        for label, rule, rank in rules:
            t0 = time.perf_counter()
            plan = _evaluate(m, _greedy(boosted, rule, rank), work.threads, work.seed, clock)
            name = f"{label[:-1]}, floor groups x{1 + boost:g})"
            stages.append(
                (name, plan.objective if plan else float("nan"), time.perf_counter() - t0)
            )
            if plan is not None and (best is None or plan.objective > best.objective):
                best, best_from = plan, name
        if best is not None:
            return best, best_from
    return None, ""


def _mip_size(m: _Model, pool: _B | None) -> int:
    """Service columns (pair x period) of the MIP over ``pool`` (None: every candidate)."""
    if pool is None:
        return m.T * m.P
    site_ok = np.concatenate([pool, np.ones(m.fixed.size, dtype=bool)])
    return m.T * int(site_ok[m.ps].sum())


def _improve_by_mip(
    m: _Model,
    lp: _Bound,
    best: _Plan | None,
    work: _Work,
    clock: _Clock,
    stages: list[tuple[str, float, float]],
) -> tuple[_Plan | None, float, str, str]:
    """MIP stages while the gap exceeds ``mip_gap``: best plan, bound, source, skip note.

    Each stage runs only when its model has at most :data:`MIP_MAX_PAIR_PERIODS`
    service columns and is limited by ``mip_nodes`` nodes; the note says when a stage
    was skipped for its size.
    """
    bound = lp.bound
    source = ""
    skipped: list[str] = []

    def gap_of(p: _Plan | None) -> float:
        return relative_gap(p.objective, bound) if p is not None else float("inf")

    if lp.h is None or work.mip_nodes <= 0 or gap_of(best) <= work.mip_gap:
        return best, bound, source, ""
    pool = np.zeros(m.nc, dtype=bool)
    pool[m.qj[lp.y[-1] > 1e-6]] = True
    if best is not None:
        pool |= best.period >= 1
    for name, restrict in (("restricted MIP", pool), ("full MIP", None)):
        if gap_of(best) <= work.mip_gap or clock.expired():
            break
        size = _mip_size(m, restrict)
        if size > MIP_MAX_PAIR_PERIODS:
            skipped.append(size_gate_note(name, size, MIP_MAX_PAIR_PERIODS, per="years"))
            continue
        t0 = time.perf_counter()
        sub_gap = work.mip_gap * 0.5 if restrict is not None else work.mip_gap
        mip_status, plan, dual = _mip(
            m, lp.h, best, restrict, sub_gap, work.mip_nodes, clock.left()
        )
        if mip_status == "time_limit":
            clock.fired = True
        if restrict is None and np.isfinite(dual):
            bound = min(bound, dual)
        if plan is not None:
            plan = _evaluate(m, plan, work.threads, work.seed, clock)
        stages.append((name, plan.objective if plan else float("nan"), time.perf_counter() - t0))
        if plan is not None and (best is None or plan.objective > best.objective + 1e-9):
            best, source = plan, name
    note = ""
    if skipped:
        note = "; ".join(skipped) + ": the plan is not improved by a MIP"
    return best, bound, source, note


def _result(
    inp: _Inputs,
    m: _Model,
    plan: _Plan,
    status: SolveStatus,
    bound: float,
    gap: float,
    message: str,
    t_start: float,
    stages: list[tuple[str, float, float]],
    added: Sequence[int] = (),
    unused: int = 0,
) -> CapacitatedPhasedResult:
    n, n_sites = inp.c.shape
    T = inp.T
    open_period, size_index = _site_arrays(inp, m, plan)
    capacity = np.full(n_sites, np.nan)
    chosen = size_index >= 0
    capacity[chosen] = inp.cap_js[chosen, size_index[chosen]]
    capacity[inp.fixed] = inp.fixed_cap
    has_row = np.flatnonzero(m.rows_of_area >= 0)
    to_row = sparse.csr_array(
        (np.ones(has_row.size), (has_row, m.rows_of_area[has_row])), shape=(n, m.R)
    )
    site_orig = np.concatenate([m.cand, m.fixed])
    fractions = []
    x = _exactly_within(m, plan) if plan.x is not None else np.zeros((T, m.P))
    for t in range(T):
        nz = x[t] > _TOL
        xt = sparse.csr_array((x[t, nz], (m.pr[nz], site_orig[m.ps[nz]])), shape=(m.R, n_sites))
        fractions.append(sparse.csr_array(to_row @ xt))
    served = np.column_stack([np.asarray(f.sum(axis=1)).reshape(-1) for f in fractions])
    served = np.clip(served, 0.0, 1.0)
    load = np.vstack([np.asarray(f.T @ inp.d).reshape(-1) for f in fractions])
    wt = np.tile(inp.w, (T, 1)) if inp.wt is None else inp.wt
    served_w = np.einsum("it,ti->t", served, wt)
    capex_site = np.zeros(n_sites)
    capex_site[chosen] = inp.capex_js[chosen, size_index[chosen]]
    return CapacitatedPhasedResult(
        status=status,
        objective=float(inp.pw @ served_w),
        bound=bound,
        gap=0.0 if status == "optimal" else gap,
        seconds=time.perf_counter() - t_start,
        message=message,
        open_period=open_period,
        size_index=size_index,
        size_names=inp.size_names,
        capacity=capacity,
        fractions=tuple(fractions),
        served_share=served,
        unmet=inp.d[:, np.newaxis] * (1.0 - served),
        load=load,
        served_by_period=served_w,
        weight_total=float(inp.w.sum()),
        opened_by_period=np.array([int(np.sum(open_period == t)) for t in range(1, T + 1)]),
        capex_by_period=np.array([capex_site[open_period == t].sum() for t in range(1, T + 1)]),
        allowed_unused=int(unused),
        secondary_sites=np.asarray(m.cand[list(added)], dtype=np.int64),
        stages=tuple(stages),
    )


def _exactly_within(m: _Model, plan: _Plan) -> _F:
    """The plan's shares scaled down where LP tolerances left a load or a row above 1.

    HiGHS meets rows to within 1e-7 or so; the result promises loads never above
    capacity and shares never above 1, so a site's shares are scaled by
    ``capacity / load`` where the load exceeds it (a change of that order).
    """
    assert plan.x is not None
    x = np.clip(plan.x, 0.0, 1.0)
    cap = _site_capacity(m, plan)
    n_sites = m.nc + m.fixed.size
    for t in range(m.T):
        load = np.bincount(m.ps, weights=x[t] * m.d[m.pr], minlength=n_sites)
        target = cap * (1.0 - 1e-12)  # a margin for summing the areas of merged rows
        factor = np.where(load > target, target / np.where(load > 0, load, 1.0), 1.0)
        x[t] *= factor[m.ps]
        rows = np.bincount(m.pr, weights=x[t], minlength=m.R)
        x[t] /= np.maximum(rows, 1.0)[m.pr]
    return x


def _empty(inp: _Inputs, m: _Model) -> _Plan:
    return _Plan(
        np.full(m.nc, -1, np.int64), np.full(m.nc, -1, np.int64), 0.0, np.zeros((inp.T, m.P))
    )


def _infeasible(
    inp: _Inputs, m: _Model, text: str, t_start: float, stages: list[tuple[str, float, float]]
) -> CapacitatedPhasedResult:
    return _result(
        inp, m, _empty(inp, m), "infeasible", float("nan"), float("nan"), text, t_start, stages
    )


def _no_plan(
    inp: _Inputs, m: _Model, t_start: float, stages: list[tuple[str, float, float]], bound: float
) -> CapacitatedPhasedResult:
    text = (
        "No plan meeting the service floors was found within the work and time limits "
        f"(proven bound {bound:,.1f}); raise the limits or lower a floor."
    )
    return _result(
        inp, m, _empty(inp, m), "time_limit_no_solution", bound, float("nan"), text, t_start, stages
    )
