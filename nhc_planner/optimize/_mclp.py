"""Exact shortcut for the maximal covering model of :func:`~nhc_planner.optimize.max_coverage`.

When ``p`` sites are enough to cover every coverable point, the MCLP optimum is the
whole coverable weight, and any set cover with at most ``p`` sites proves it. The MCLP
MIP is slow to *find* such a cover (its LP bound is already the optimum, so branching
only hunts for an incumbent), while a set-cover MIP finds one quickly. This module
decides when the detour is worth trying (the MCLP linear relaxation must reach the
whole coverable weight, a necessary condition) and solves the set cover.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any

import highspy
import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from nhc_planner.optimize._common import MipBackend, MipModel, SolveOptions, dominated_columns
from nhc_planner.optimize._highs import new_highs, pass_model

__all__ = [
    "MclpCore",
    "cover_within",
    "covered_weight",
    "drop_superset_rows",
    "greedy_swap",
    "mclp_lp_bound",
    "solve_reduced",
]


def mclp_lp_bound(a: np.ndarray, w: np.ndarray, p: int) -> float:
    r"""Value of the linear relaxation of the MCLP on a reduced coverage matrix.

    :math:`\max \sum_r w_r u_r` s.t. :math:`u_r \le \sum_j a_{rj} x_j`,
    :math:`\sum_j x_j \le p`, :math:`0 \le u, x \le 1`, solved with SciPy's HiGHS.
    It bounds the MIP optimum from above; NaN when the LP solver fails.

    Parameters
    ----------
    a
        ``(rows, candidates)`` boolean coverage matrix.
    w
        ``(rows,)`` non-negative row weights.
    p
        Number of sites that may be opened.

    Examples
    --------
    >>> a = np.array([[1, 0], [0, 1]], dtype=bool)
    >>> mclp_lp_bound(a, np.array([3.0, 1.0]), 1)
    3.0
    """
    n, m = a.shape
    coupling = sp.hstack([sp.identity(n, format="csr"), -sp.csr_matrix(a, dtype=np.float64)])
    budget = sp.hstack([sp.csr_matrix((1, n)), sp.csr_matrix(np.ones((1, m)))])
    res = linprog(
        np.concatenate([-np.asarray(w, dtype=np.float64), np.zeros(m)]),
        A_ub=sp.vstack([coupling, budget]).tocsr(),
        b_ub=np.concatenate([np.zeros(n), [float(p)]]),
        bounds=(0.0, 1.0),
        method="highs",
    )
    return float(-res.fun) if res.status == 0 else float("nan")


def drop_superset_rows(a: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Remove rows whose coverage set strictly contains another row's.

    For a full cover such a row is implied: covering the smaller set covers it.
    Rows must be distinct (aggregated) for the strict test to catch every implied row.

    Examples
    --------
    >>> a = np.array([[1, 0, 0], [1, 1, 0], [0, 0, 1]], dtype=bool)
    >>> kept, wk = drop_superset_rows(a, np.array([1.0, 2.0, 3.0]))
    >>> kept.astype(int).tolist(), wk.tolist()
    ([[1, 0, 0], [0, 0, 1]], [1.0, 3.0])
    """
    f = a.astype(np.float32)
    size = f.sum(axis=1)
    overlap = f @ f.T  # overlap[r, s] = |N_r ∩ N_s|
    # row s is implied by row r when N_r ⊂ N_s (rows are distinct after aggregation)
    contains = (overlap >= size[:, np.newaxis] - 0.5) & (size[np.newaxis, :] > size[:, np.newaxis])
    implied = contains.any(axis=0)
    return a[~implied], w[~implied]


def cover_within(
    a: np.ndarray,
    p: int,
    opts: SolveOptions,
    *,
    backend: MipBackend = "highs",
    time_limit_s: float,
) -> tuple[np.ndarray | None, float]:
    """Find at most ``p`` columns of ``a`` that together cover every row, if any exist.

    Solves ``min sum x`` s.t. every row covered and ``sum x <= p`` (after removing
    implied rows and dominated columns, which keeps the set of achievable cover sizes'
    minimum). Any answer is a cover of size at most ``p``; it need not be the smallest.

    Parameters
    ----------
    a
        ``(rows, candidates)`` boolean coverage matrix; every row has a True entry.
    p
        Largest number of columns allowed.
    opts
        Threads and seed for the solver.
    backend
        MIP solver.
    time_limit_s
        Time limit of this solve.

    Returns
    -------
    columns, seconds
        Indices into the columns of ``a`` (None when no cover of size ``p`` was found
        within the limit, or none exists) and the solver wall time.

    Examples
    --------
    >>> from nhc_planner.optimize._common import parse_options
    >>> a = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 1]], dtype=bool)
    >>> cols, _ = cover_within(a, 2, parse_options(3), time_limit_s=10)
    >>> cols.tolist()
    [0, 1]
    >>> cover_within(a, 1, parse_options(3), time_limit_s=10)[0] is None
    True
    """
    rows, _ = drop_superset_rows(a, np.ones(a.shape[0]))
    keep = np.flatnonzero(~dominated_columns(rows))
    sub = rows[:, keep]
    if backend == "highs":
        return _cover_highs(a, sub, keep, p, opts, time_limit_s)
    model = MipModel(
        dataclasses.replace(opts, time_limit_s=time_limit_s), backend=backend, maximize=False
    )
    x = model.bool_vars(keep.size, "x")
    for r in range(sub.shape[0]):
        model.constraint(1.0, np.inf, [(x[j], 1.0) for j in np.flatnonzero(sub[r])])
    model.constraint(-np.inf, float(p), [(v, 1.0) for v in x])
    model.set_objective([(v, 1.0) for v in x])
    status, seconds = model.run()
    if status not in ("optimal", "feasible"):
        return None, seconds
    chosen = keep[MipModel.values(x) > 0.5]
    if chosen.size > p or not a[:, chosen].any(axis=1).all():  # pragma: no cover - solver guard
        return None, seconds
    return chosen, seconds


# --------------------------------------------------------------------------- exact core


@dataclass(frozen=True)
class MclpCore:
    """Result of :func:`solve_reduced` on a reduced MCLP.

    Attributes
    ----------
    chosen
        Column indices (into ``a``) of the sites to open, at most ``p``.
    objective
        Weight the chosen columns cover.
    bound
        Proven upper bound on the optimum (equal to ``objective`` when optimal).
    status
        ``"optimal"`` (proven) or ``"feasible"`` (a limit stopped the search; the
        best plan found is kept).
    seconds
        Wall-clock time of the whole core.
    message
        Plain-words summary: how the optimum was proven, or which limit stopped it.
    n_fixed_open, n_fixed_closed
        Columns fixed open / closed by reduced-cost fixing before the MIP.
    nodes
        Branch-and-bound nodes of the HiGHS MIP (0 when no MIP ran).
    stage
        What proved or produced the answer: ``"heuristic"`` (the primal reached the
        Lagrangian bound), ``"set_cover"``, ``"mip"``.
    """

    chosen: np.ndarray
    objective: float
    bound: float
    status: str
    seconds: float
    message: str
    n_fixed_open: int = 0
    n_fixed_closed: int = 0
    nodes: int = 0
    stage: str = ""


def covered_weight(a: np.ndarray, w: np.ndarray, cols: np.ndarray) -> float:
    """Weight of the rows of ``a`` that some column in ``cols`` covers."""
    if cols.size == 0:
        return 0.0
    return float(w[a[:, cols].any(axis=1)].sum())


def greedy_swap(
    a: np.ndarray, w: np.ndarray, p: int, start: np.ndarray | None = None
) -> np.ndarray:
    """A good MCLP plan: greedy (or ``start``) then first-improvement 1-swaps.

    Deterministic: ties go to the lowest column index. Each accepted swap strictly
    increases the covered weight, so the search ends in a 1-swap local optimum.

    Parameters
    ----------
    a
        ``(rows, candidates)`` boolean coverage matrix.
    w
        ``(rows,)`` non-negative weights.
    p
        Number of columns to choose (at most the number of columns).
    start
        Columns to start from instead of the greedy plan (completed greedily to ``p``).

    Returns
    -------
    numpy.ndarray
        Sorted column indices, ``min(p, candidates)`` of them.

    Examples
    --------
    >>> a = np.array([[1, 0, 1], [0, 1, 1], [1, 1, 0]], dtype=bool)
    >>> greedy_swap(a, np.array([1.0, 1.0, 5.0]), 1).tolist()
    [0]
    """
    n_rows, m = a.shape
    p = min(p, m)
    at = sp.csr_array(a.T.astype(np.float64))  # gains as sparse products
    count = np.zeros(n_rows)
    chosen: list[int] = [] if start is None else [int(j) for j in start][:p]
    for j in chosen:
        count += a[:, j]
    while len(chosen) < p:
        gain = at @ (w * (count == 0))
        gain[chosen] = -1.0
        j = int(np.argmax(gain))
        chosen.append(j)
        count += a[:, j]
    tol = 1e-9 * max(1.0, float(w.sum()))
    base = at @ (w * (count == 0))  # gain of each column with the plan as it is
    for _ in range(50 * max(p, 1)):  # each pass improves; a generous work cap
        improved = False
        for k in range(len(chosen)):
            j = chosen[k]
            only = np.flatnonzero((count == 1) & a[:, j])  # rows only j covers
            loss = float(w[only].sum())
            # without j, the rows only j covers are uncovered too
            gain = base + w[only] @ a[only].astype(np.float64)
            gain[chosen] = -1.0
            best = int(np.argmax(gain))
            if gain[best] - loss > tol:
                chosen[k] = best
                count += a[:, best].astype(np.float64) - a[:, j]
                base = at @ (w * (count == 0))
                improved = True
        if not improved:
            break
    return np.sort(np.asarray(chosen, dtype=np.int64))


def _lagrangian(
    a_f: np.ndarray, w: np.ndarray, lam: np.ndarray, p: int
) -> tuple[float, np.ndarray, np.ndarray]:
    r"""The Lagrangian bound of the MCLP for multipliers ``lam`` (any, clipped to [0, w]).

    Relaxing :math:`u_r \le \sum_j a_{rj} x_j` with :math:`\lambda_r \ge 0` gives
    :math:`L(\lambda) = \sum_r \max(0, w_r - \lambda_r) + \text{sum of the } p
    \text{ largest } s_j`, :math:`s_j = \sum_r \lambda_r a_{rj}`: an upper bound on
    the MCLP optimum for every :math:`\lambda \ge 0`. Returns the bound, the scores
    ``s`` and the columns sorted by decreasing score (ties by index).
    """
    lam = np.clip(lam, 0.0, w)
    s = lam @ a_f
    order = np.lexsort((np.arange(s.size), -s))
    return float(np.maximum(w - lam, 0.0).sum() + s[order[:p]].sum()), s, order


#: HiGHS options of the final MIP (step 5 of :func:`solve_reduced`). The model is
#: already reduced and started from a local optimum: HiGHS's presolve (probing), its
#: primal heuristics and reliability branching's strong-branching LPs cost more than
#: they save here. ``mip_heuristic_effort = 0`` alone still runs the root's RINS / RENS
#: sub-MIPs (13 of 27 s on the demo ICB at p = 20); switching them off by name cut
#: p = 20-30 by 1.4-3.4x, on the same instances in one run. The root's cut loop was then
#: most of the time (p = 25: 4 of 8 s) for little bound (12% of the LP gap); a cut pool
#: of one keeps its rounds short: p = 25-30 1.3-4x faster, a few more nodes.
MIP_OPTIONS: tuple[tuple[str, Any], ...] = (
    ("presolve", "off"),
    ("mip_heuristic_effort", 0.0),
    ("mip_heuristic_run_rins", False),
    ("mip_heuristic_run_rens", False),
    ("mip_heuristic_run_root_reduced_cost", False),
    ("mip_heuristic_run_feasibility_jump", False),
    ("mip_pscost_minreliable", 0),
    ("mip_pool_soft_limit", 1),
)

#: Fix ``u = 1`` on rows heavier than the incumbent's uncovered weight in the final MIP
#: (optimality-based; step 5 of :func:`solve_reduced`). Demo ICB p = 30: 425 against
#: 617 nodes, p = 25: 146 against 168 (seed 1).
MUST_COVER_HEAVY = True

#: Try a set cover of all coverable weight before the final MIP when the bound is the
#: whole weight (step 3 of :func:`solve_reduced`). Off: with the objective cutoff and
#: heavy rows, the final MIP is itself a set-covering search near that point. Process
#: CPU seconds, cover tried / not (load 7): seed 3 p = 30 (no cover exists) 6.41 / 4.27,
#: seed 3 p = 31 2.99 / 2.06, seed 1 p = 32 1.40 / 0.98.
TRY_SET_COVER = False

#: Rounds of the iterated local search after the LP starts (step 1 of
#: :func:`solve_reduced`; 0: off). The final MIP prunes by the incumbent, so a better
#: start shortens it: with the optimum as the start, 139-263 nodes against 433-628
#: (seed 3 p = 30, seed 1 p = 26, seed 5 p = 26); 120 rounds (0.7-1.1 CPU s) reached
#: the optimum on 2 of 7 hard instances and improved all.
KICK_ROUNDS = 60

#: Largest ``k`` of the cardinality rows of :func:`_cutoff_rows` (1: none).
CUTOFF_ROWS_MAX_K = 16


def _highs(threads: int, seed: int, time_limit_s: float) -> highspy.Highs:
    return new_highs(threads, seed, time_limit_s, mip_rel_gap=0.0)


def _pass_mclp(
    h: highspy.Highs,
    a: np.ndarray,
    w: np.ndarray,
    p: int,
    *,
    integer: bool,
    must_cover: np.ndarray | None = None,
    minimize: bool = False,
) -> None:
    r"""Pass the MCLP (columns ``x`` then ``u``) to HiGHS from arrays, in one call.

    ``must_cover`` (boolean over the rows) sets those rows' ``u`` lower bound to 1.
    With ``minimize`` the objective is :math:`\min -\sum_r w_r u_r` (same optimum,
    negated value), so that HiGHS's ``objective_bound`` is an upper limit on it.
    """
    n_rows, m = a.shape
    coupling = sp.hstack([-sp.csr_array(a.astype(np.float64)), sp.identity(n_rows, format="csr")])
    budget = sp.hstack([sp.csr_array(np.ones((1, m))), sp.csr_array((1, n_rows))])
    mat = sp.vstack([coupling, budget])
    n = m + n_rows
    row_lo = np.full(n_rows + 1, -highspy.kHighsInf)
    row_up = np.concatenate([np.zeros(n_rows), [float(p)]])
    cost = np.concatenate([np.zeros(m), w.astype(np.float64)])
    if minimize:
        cost = -cost
    mask = np.arange(n) < m if integer else None
    col_lo = np.zeros(n)
    if must_cover is not None:
        col_lo[m:] = must_cover
    pass_model(
        h, cost, mat, row_lo, row_up, col_lo, np.ones(n), maximize=not minimize, integer=mask
    )


def _lp_duals(
    a: np.ndarray, w: np.ndarray, p: int, threads: int, seed: int, limit: float
) -> tuple[float, np.ndarray, np.ndarray, highspy.Highs] | None:
    """LP relaxation: its value, the coupling rows' duals, the LP ``x`` and the solved
    HiGHS instance (for :func:`_dive`); None when the LP is not solved."""
    h = _highs(threads, seed, limit)
    _pass_mclp(h, a, w, p, integer=False)
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    sol = h.getSolution()
    lam = np.abs(np.asarray(sol.row_dual, dtype=np.float64)[: a.shape[0]])
    x = np.asarray(sol.col_value, dtype=np.float64)[: a.shape[1]]
    return float(h.getInfo().objective_function_value), lam, x, h


def _dive(h: highspy.Highs, x: np.ndarray, p: int) -> np.ndarray:
    """LP diving: fix the largest fractional ``x`` open, re-solve, until ``x`` is integral.

    ``h`` holds the solved LP relaxation of the MCLP (columns ``x`` first) and is
    changed in place. Each step fixes one more column open and re-solves from the last
    basis (a few dual simplex iterations), so at most ``p`` re-solves. Deterministic:
    ties go to the lowest column index. Returns the columns open in the last LP
    solution (at most ``p``; the caller completes and improves them by local search).
    """
    m = x.size
    fixed = np.zeros(m, dtype=bool)
    for _ in range(p):
        frac = np.flatnonzero((x > 1e-6) & (x < 1.0 - 1e-6) & ~fixed)
        if frac.size == 0:
            break
        j = int(frac[np.argmax(x[frac])])  # argmax takes the first (lowest) of ties
        fixed[j] = True
        h.changeColBounds(j, 1.0, 1.0)
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:  # pragma: no cover
            break
        x = np.asarray(h.getSolution().col_value, dtype=np.float64)[:m]
    return np.flatnonzero(x > 0.5)[:p]


def solve_reduced(
    a: np.ndarray,
    w: np.ndarray,
    p: int,
    *,
    time_limit_s: float,
    threads: int = 1,
    seed: int = 0,
    max_nodes: int | None = None,
) -> MclpCore:
    r"""Solve a reduced MCLP exactly: bound, primal, fixing, then HiGHS on what is left.

    Maximise :math:`\sum_r w_r u_r` s.t. :math:`u_r \le \sum_j a_{rj} x_j`,
    :math:`\sum_j x_j \le p`, :math:`x \in \{0,1\}`, :math:`u \in [0,1]`.

    1. *Primal.* Greedy plus 1-swaps (:func:`greedy_swap`), and the same search
       started from the ``p`` largest LP values and, unless the incumbent already
       reaches the bound, from an LP dive (:func:`_dive`: fix the largest fractional
       column open and re-solve, at most ``p`` warm-started LPs); the best plan is
       the incumbent. 1-swap local optima sit 0.1-0.4% below the optimum on the demo
       ICB at p = 15-30, more than the LP gap; the dive lands within 0.01-0.28%. Then
       an iterated local search (:func:`_kick_search`, :data:`KICK_ROUNDS` seeded
       rounds) improves it.
    2. *Bound.* The LP relaxation (HiGHS); its duals are the multipliers of the
       Lagrangian bound :math:`L(\lambda)` (:func:`_lagrangian`), which is valid for any
       multipliers, so a loose dual never gives a wrong bound. An incumbent that
       reaches it is optimal.
    3. *Set cover* (off: :data:`TRY_SET_COVER`). When the bound is the whole weight,
       a set cover of at most ``p`` columns (:func:`cover_within`) reaches it and is
       optimal. The final MIP of step 5 finds such a cover as fast or faster, and when
       none exists the set-cover MIP's proof of that is wasted work.
    4. *Reduced-cost fixing.* With scores :math:`s_j` sorted, forcing a column out
       of the top ``p`` in (or one in out) changes :math:`L` by
       :math:`s_j - s_{(p)}` (or :math:`s_{(p+1)} - s_j`); when that bound falls
       below the incumbent, no better plan has that column open (closed), so it is
       fixed closed (open).
    5. *MIP.* HiGHS (``highspy``, built from arrays, options :data:`MIP_OPTIONS`)
       on the free columns, relative gap 0, ``threads`` and ``seed`` fixed. Only plans
       better than the incumbent are sought (:func:`_mip_on_free`): an objective
       cutoff; every row heavier than the weight such a plan may leave uncovered must
       be covered (a set-covering row); cardinality rows on the lighter ones. An
       infeasible MIP proves the incumbent optimal. The time
       limit is a safety stop only; ``max_nodes`` is a deterministic work limit.
       When a limit stops it the better of its incumbent and ours is kept, with the
       smaller of the two bounds.

    Parameters
    ----------
    a
        ``(rows, candidates)`` boolean coverage matrix (reduced: no empty rows).
    w
        ``(rows,)`` non-negative weights.
    p
        Number of columns that may be chosen (``1 <= p < candidates``).
    time_limit_s
        Safety stop for the whole core, in seconds.
    threads, seed
        HiGHS threads and random seed.
    max_nodes
        Branch-and-bound node limit of the MIP (None: no limit).

    Returns
    -------
    MclpCore
    """
    start = time.perf_counter()
    m = a.shape[1]
    a_f = a.astype(np.float64)
    total = float(w.sum())
    tol = 1e-7 * max(1.0, total)

    def left() -> float:
        return time_limit_s - (time.perf_counter() - start)

    def done(cols: np.ndarray, value: float, bound: float, status: str, msg: str, **kw: Any):
        cols = np.sort(cols).astype(np.int64)
        return MclpCore(cols, value, bound, status, time.perf_counter() - start, msg, **kw)

    inc, inc_val, bound, lam = _primal_and_bound(
        a, a_f, w, p, threads, seed, max(left(), 0.01), tol
    )
    if inc_val >= bound - tol:
        return done(
            inc,
            inc_val,
            inc_val,
            "optimal",
            "optimal: the local-search plan reaches the Lagrangian (LP) bound",
            stage="heuristic",
        )
    if TRY_SET_COVER and bound >= total - tol:
        cols = _cover_all(a, p, threads, seed, max(left() / 2, 0.01))
        if cols is not None:
            return done(
                cols,
                total,
                total,
                "optimal",
                f"optimal: a set cover with {cols.size} of {p} sites covers all "
                "coverable weight, the upper bound",
                stage="set_cover",
            )
    fx = _fix_by_reduced_cost(a, a_f, w, lam, p, inc_val, tol)
    kw = {"n_fixed_open": int(fx.ones.size), "n_fixed_closed": fx.n_closed}
    if fx.p_sub <= 0 or fx.sub.shape[0] == 0 or fx.free.size <= fx.p_sub:
        cols = np.concatenate([fx.ones, fx.free[: max(fx.p_sub, 0)]])
        val = covered_weight(a, w, cols)
        if val < inc_val:  # pragma: no cover - fixing keeps every plan as good as inc
            cols, val = inc, inc_val
        return done(
            cols, val, val, "optimal", "optimal after reduced-cost fixing", stage="heuristic", **kw
        )
    h = _highs(threads, seed, max(left(), 0.01))
    if max_nodes is not None:
        h.setOptionValue("mip_max_nodes", int(max_nodes))
    out = _mip_on_free(h, a, w, p, fx, inc, inc_val, tol)
    if out.optimal:
        return done(
            out.cols,
            out.value,
            out.value,
            "optimal",
            f"optimal: HiGHS proved it ({out.nodes} nodes on {fx.free.size} of {m} sites "
            "left after reduced-cost fixing)",
            nodes=out.nodes,
            stage="mip",
            **kw,
        )
    if np.isfinite(out.bound):
        bound = min(bound, max(out.bound, out.value))
    why = (
        f"the node limit ({max_nodes})"
        if out.node_limit
        else f"the {time_limit_s:g} s safety time limit"
    )
    return done(
        out.cols,
        out.value,
        bound,
        "feasible",
        f"stopped by {why} after {out.nodes} nodes; best plan kept",
        nodes=out.nodes,
        stage="mip",
        **kw,
    )


def _primal_and_bound(
    a: np.ndarray,
    a_f: np.ndarray,
    w: np.ndarray,
    p: int,
    threads: int,
    seed: int,
    seconds: float,
    tol: float,
) -> tuple[np.ndarray, float, float, np.ndarray]:
    """Steps 1-2 of :func:`solve_reduced`: the incumbent, its value, the bound and the
    multipliers ``lam`` (the LP duals) for reduced-cost fixing."""
    m = a.shape[1]
    total = float(w.sum())
    inc = greedy_swap(a, w, p)
    inc_val = covered_weight(a, w, inc)
    lp = _lp_duals(a, w, p, threads, seed, seconds)
    if lp is None:  # pragma: no cover - the LP is feasible and bounded
        return inc, inc_val, total, np.zeros(a.shape[0])
    lp_val, lam, x_lp, h_lp = lp
    bound = min(total, _lagrangian(a_f, w, lam, p)[0], lp_val + tol)
    starts = []
    if inc_val < bound - tol:  # else the greedy plan is already proven optimal
        starts = [np.lexsort((np.arange(m), -x_lp))[:p], _dive(h_lp, x_lp, p)]
    for lp_start in starts:
        alt = greedy_swap(a, w, p, start=lp_start)
        alt_val = covered_weight(a, w, alt)
        if alt_val > inc_val + tol:
            inc, inc_val = alt, alt_val
    if inc_val < bound - tol:
        support = np.flatnonzero(x_lp > 1e-6)
        inc, inc_val = _kick_search(a, w, p, inc, inc_val, support, seed, bound - tol)
    return inc, inc_val, bound, lam


def _kick_search(
    a: np.ndarray,
    w: np.ndarray,
    p: int,
    inc: np.ndarray,
    inc_val: float,
    support: np.ndarray,
    seed: int,
    stop_at: float,
) -> tuple[np.ndarray, float]:
    """Iterated local search from the incumbent (step 1 of :func:`solve_reduced`).

    :data:`KICK_ROUNDS` rounds; round ``i`` closes ``2 + i % 3`` open columns at random
    and opens as many others (from the LP's ``support`` on even rounds, from all columns
    on odd ones), then runs :func:`greedy_swap`; a better plan becomes the incumbent.
    Seeded by ``seed`` and bounded by rounds, so deterministic; stops early at
    ``stop_at`` (the bound).
    """
    rng = np.random.default_rng(seed)
    everything = np.arange(a.shape[1])
    for i in range(KICK_ROUNDS):
        if inc_val >= stop_at or inc.size < 2:
            break
        k = min(2 + i % 3, inc.size)
        keep = np.delete(inc, rng.choice(inc.size, size=k, replace=False))
        pool = np.setdiff1d(support if i % 2 == 0 else everything, keep)
        if pool.size == 0:
            continue
        add = rng.choice(pool, size=min(k, pool.size), replace=False)
        alt = greedy_swap(a, w, p, start=np.concatenate([keep, add]))
        alt_val = covered_weight(a, w, alt)
        if alt_val > inc_val:
            inc, inc_val = alt, alt_val
    return inc, inc_val


def _cover_all(a: np.ndarray, p: int, threads: int, seed: int, seconds: float) -> Any:
    """A set cover of every row with at most ``p`` columns, or None (step 3)."""
    m = a.shape[1]
    none = np.zeros(0, np.int64)
    opts = SolveOptions(n_sites=m, fixed=none, excluded=none, threads=threads, seed=seed)
    cols, _ = cover_within(a, p, opts, time_limit_s=seconds)
    return cols


@dataclass(frozen=True)
class _Fixed:
    """Columns left free after reduced-cost fixing, and the sub-problem over them."""

    free: np.ndarray  # free column indices
    ones: np.ndarray  # columns fixed open
    rows: np.ndarray  # rows neither covered by the fixed-open columns nor uncoverable
    sub: np.ndarray  # coverage of ``rows`` by ``free``
    sub_w: np.ndarray  # weights of ``rows``
    p_sub: int  # columns still to choose
    base: float  # weight covered by the fixed-open columns
    n_closed: int  # columns fixed closed


def _fix_by_reduced_cost(
    a: np.ndarray,
    a_f: np.ndarray,
    w: np.ndarray,
    lam: np.ndarray,
    p: int,
    inc_val: float,
    tol: float,
) -> _Fixed:
    """Fix columns open or closed where the Lagrangian bound with them flipped falls
    below the incumbent (step 4 of :func:`solve_reduced`)."""
    m = a.shape[1]
    lag, s, order = _lagrangian(a_f, w, lam, p)
    in_top = np.zeros(m, dtype=bool)
    in_top[order[:p]] = True
    s_p, s_next = s[order[p - 1]], (s[order[p]] if p < m else 0.0)
    fix0 = ~in_top & (lag - s_p + s < inc_val + tol)
    fix1 = in_top & (lag - s + s_next < inc_val + tol)
    free = np.flatnonzero(~fix0 & ~fix1)
    ones = np.flatnonzero(fix1)
    by_ones = a[:, ones].any(axis=1) if ones.size else np.zeros(a.shape[0], dtype=bool)
    rows = np.flatnonzero(~by_ones & a[:, free].any(axis=1))
    return _Fixed(
        free=free,
        ones=ones,
        rows=rows,
        sub=a[np.ix_(rows, free)],
        sub_w=w[rows],
        p_sub=p - ones.size,
        base=float(w[by_ones].sum()),
        n_closed=int(fix0.sum()),
    )


@dataclass(frozen=True)
class _MipOut:
    cols: np.ndarray
    value: float
    bound: float  # the MIP's dual bound plus the fixed-open weight (nan if none)
    nodes: int
    optimal: bool
    node_limit: bool


def _improve_step(w: np.ndarray, tol: float) -> float:
    """Smallest gain a better plan must make: 1 when every weight is a whole number
    (then so is every plan's value), else ``tol``."""
    if w.size and np.all(w == np.round(w)):
        return 1.0
    return tol


def _cutoff_rows(
    sub_w: np.ndarray, heavy: np.ndarray, allowed: float
) -> list[tuple[np.ndarray, int]]:
    r"""Rows of the cardinality cuts implied by the objective cutoff (step 5).

    A better plan leaves at most ``allowed`` weight uncovered, so among the rows
    heavier than ``allowed / k`` at most ``k - 1`` are uncovered:
    :math:`\sum_{r: w_r > allowed/k} (1 - u_r) \le k - 1`. One row set per ``k`` from
    2 to :data:`CUTOFF_ROWS_MAX_K` (``k = 1`` is the heavy rows' fixing); sets that
    repeat the previous one or that hold at most ``k - 1`` rows (always met) are left out.
    Returns the row sets with their ``k``.
    """
    out: list[tuple[np.ndarray, int]] = []
    last = -1
    for k in range(2, CUTOFF_ROWS_MAX_K + 1):
        sel = np.flatnonzero((sub_w > allowed / k) & ~heavy)
        if sel.size > k - 1 and sel.size != last:
            out.append((sel, k))
        last = sel.size
        if sel.size == int((~heavy).sum()):
            break
    return out


#: Largest rows x heavy rows overlap table :func:`_implied_by_heavy` builds (float32:
#: 200 MB); larger models skip that reduction.
_IMPLIED_MAX_CELLS = 50_000_000


def _implied_by_heavy(sub: np.ndarray, heavy: np.ndarray) -> np.ndarray:
    """Rows that are covered whenever every heavy row is (step 5's reduction).

    A row whose coverage set contains a heavy row's set is covered by any plan that
    covers that heavy row: a light row of that kind always counts as covered, and a
    heavy row of that kind is implied by the smaller one (equal sets: the lowest index
    stays). Returns a boolean mask over the rows.
    """
    hv = np.flatnonzero(heavy)
    if hv.size == 0 or sub.shape[0] * hv.size > _IMPLIED_MAX_CELLS:  # none, or too large
        return np.zeros(sub.shape[0], dtype=bool)
    f = sub.astype(np.float32)
    size = f.sum(axis=1)
    holds = (f @ f[hv].T) >= size[hv][np.newaxis, :] - 0.5  # [r, i]: N_hv[i] ⊆ N_r
    implied = holds.any(axis=1) & ~heavy
    rank = np.arange(sub.shape[0])
    smaller = (size[hv][np.newaxis, :] < size[hv][:, np.newaxis]) | (
        (size[hv][np.newaxis, :] == size[hv][:, np.newaxis])
        & (rank[hv][np.newaxis, :] < rank[hv][:, np.newaxis])
    )  # [i, k]: heavy row k is "before" heavy row i
    implied[hv] = (holds[hv] & smaller).any(axis=1)
    return implied


def _mip_on_free(
    h: highspy.Highs,
    a: np.ndarray,
    w: np.ndarray,
    p: int,
    fx: _Fixed,
    inc: np.ndarray,
    inc_val: float,
    tol: float,
) -> _MipOut:
    r"""HiGHS on the free columns, seeking only plans better than the incumbent (step 5
    of :func:`solve_reduced`); the better of HiGHS's plan and the incumbent is kept.

    A better plan gains at least ``step`` (:func:`_improve_step`: 1 for whole-number
    weights, else ``tol``) and so leaves at most ``allowed = coverable weight -
    incumbent - step`` uncovered. So every row heavier than ``allowed`` must be covered:
    it becomes a set-covering row :math:`\sum_j a_{rj} x_j \ge 1`, rows implied by a
    heavy row leave the model (:func:`_implied_by_heavy`) and dominated columns are
    removed on the rows left. The light rows keep :math:`u_r \le \sum_j a_{rj} x_j`,
    with the cardinality rows of :func:`_cutoff_rows`. The model is passed as the
    minimisation of :math:`-\sum w_r u_r` over the light rows, with HiGHS's
    ``objective_bound`` half a step below what a better plan reaches (nodes that
    cannot beat the incumbent are pruned from the start). "Infeasible" proves the
    incumbent optimal; otherwise HiGHS's optimum is the better plan.
    """
    for key, value in MIP_OPTIONS:
        h.setOptionValue(key, value)
    free, ones, sub, sub_w = fx.free, fx.ones, fx.sub, fx.sub_w
    step = _improve_step(w, tol)
    target = inc_val - fx.base + step  # the sub-problem's value a better plan reaches
    allowed = float(sub_w.sum()) - target + tol  # uncovered weight it may leave
    heavy = sub_w > allowed if MUST_COVER_HEAVY else np.zeros(sub_w.size, dtype=bool)
    implied = _implied_by_heavy(sub, heavy)
    cover_rows = np.flatnonzero(heavy & ~implied)
    light = np.flatnonzero(~heavy & ~implied)
    kept = sub[np.concatenate([cover_rows, light])]
    cols = np.flatnonzero(~dominated_columns(kept)) if kept.shape[0] else np.arange(free.size)
    sure = float(sub_w[heavy | implied].sum())  # covered by every better plan
    _pass_restricted(
        h, sub[np.ix_(cover_rows, cols)], sub[np.ix_(light, cols)], sub_w[light], fx.p_sub
    )
    h.setOptionValue("objective_bound", -(target - sure - step / 2))
    no_heavy = np.zeros(light.size, dtype=bool)
    for sel, k in _cutoff_rows(sub_w[light], no_heavy, allowed):
        idx = (cols.size + sel).astype(np.int32)  # the rows' u columns
        lo = float(sel.size - (k - 1))  # sum u >= |sel| - (k - 1)
        h.addRow(lo, highspy.kHighsInf, idx.size, idx, np.ones(idx.size))
    h.run()
    status = h.getModelStatus()
    info = h.getInfo()
    nodes = int(info.mip_node_count)
    mip_bound = fx.base + sure - float(info.mip_dual_bound)
    found = info.primal_solution_status == 2
    if status == highspy.HighsModelStatus.kInfeasible or (
        status == highspy.HighsModelStatus.kOptimal and not found
    ):  # no plan beats the incumbent
        return _MipOut(inc, inc_val, inc_val, nodes, optimal=True, node_limit=False)
    best, val = inc, inc_val
    if found:
        x = np.asarray(h.getSolution().col_value)[: cols.size]
        mine = np.concatenate([ones, free[cols[x > 0.5]]])
        if mine.size <= p and covered_weight(a, w, mine) > val:
            best, val = mine, covered_weight(a, w, mine)
    if status == highspy.HighsModelStatus.kOptimal:
        return _MipOut(best, val, val, nodes, optimal=True, node_limit=False)
    node_limit = status == highspy.HighsModelStatus.kSolutionLimit
    return _MipOut(best, val, mip_bound, nodes, optimal=False, node_limit=node_limit)


def _pass_restricted(
    h: highspy.Highs, cover: np.ndarray, light: np.ndarray, light_w: np.ndarray, p: int
) -> None:
    r"""Pass step 5's restricted model: columns ``x`` (binary) then ``u`` (light rows).

    :math:`\min -\sum_r w_r u_r` s.t. :math:`\sum_j c_{hj} x_j \ge 1` (``cover`` rows),
    :math:`u_r - \sum_j l_{rj} x_j \le 0` (``light`` rows), :math:`\sum_j x_j \le p`.
    """
    n_cover, m = cover.shape
    n_light = light.shape[0]
    mat = sp.vstack(
        [
            sp.hstack([sp.csr_array(cover.astype(np.float64)), sp.csr_array((n_cover, n_light))]),
            sp.hstack(
                [-sp.csr_array(light.astype(np.float64)), sp.identity(n_light, format="csr")]
            ),
            sp.hstack([sp.csr_array(np.ones((1, m))), sp.csr_array((1, n_light))]),
        ]
    )
    inf = highspy.kHighsInf
    row_lo = np.concatenate([np.ones(n_cover), np.full(n_light + 1, -inf)])
    row_up = np.concatenate([np.full(n_cover, inf), np.zeros(n_light), [float(p)]])
    cost = np.concatenate([np.zeros(m), -light_w.astype(np.float64)])
    n = m + n_light
    pass_model(h, cost, mat, row_lo, row_up, np.zeros(n), np.ones(n), integer=np.arange(n) < m)


def _cover_highs(
    a: np.ndarray, sub: np.ndarray, keep: np.ndarray, p: int, opts: SolveOptions, limit: float
) -> tuple[np.ndarray | None, float]:
    """:func:`cover_within` through ``highspy``, the model passed from arrays in one call."""
    start = time.perf_counter()
    n_rows, m = sub.shape
    mat = sp.vstack([sp.csr_array(sub.astype(np.float64)), np.ones((1, m))])
    h = _highs(opts.threads, opts.seed, limit)
    row_lo = np.concatenate([np.ones(n_rows), [-highspy.kHighsInf]])
    row_up = np.concatenate([np.full(n_rows, highspy.kHighsInf), [float(p)]])
    ones = np.ones(m)
    pass_model(h, ones, mat, row_lo, row_up, np.zeros(m), ones, integer=np.ones(m, dtype=bool))
    h.run()
    seconds = time.perf_counter() - start
    if h.getInfo().primal_solution_status != 2:
        return None, seconds
    chosen = keep[np.asarray(h.getSolution().col_value) > 0.5]
    if chosen.size > p or not a[:, chosen].any(axis=1).all():
        return None, seconds
    return chosen, seconds
