r"""The p-median problem, solved with the radius (Elloumi) formulation.

*Preprocessing (exact).* Demand points with identical cost rows over the allowed
sites are merged (weights summed). Greedy addition then fast vertex interchange
(Whitaker 1983; Resende & Werneck 2007: all swaps priced at once) gives an upper bound
:math:`UB`. A Lagrangian relaxation of the assignment constraints (Beasley 1985;
subgradient optimisation) gives lower bounds :math:`L(\lambda)`; every new site set
the relaxation opens is descended by interchange (a better :math:`UB`). With
:math:`\rho_j(\lambda) = \sum_i \min(0, w_i c_{ij} - \lambda_i)`, forcing site
:math:`j` open (closed) raises the bound by a swap against the :math:`p`-th
(:math:`p+1`-th) smallest :math:`\rho`; when that bound exceeds :math:`UB`, no
solution better than the heuristic opens (closes) :math:`j`, so it is excluded
(fixed) in the MIP, and the answer is the better of the MIP and the heuristic.
Each point's radius list stops at its nearest fixed site (always open), at the
first radius enclosing :math:`m_{allowed} - p + 1` sites (at most
:math:`m_{allowed} - p` are closed, so one of them is open), and at its *reach
limit*: the smallest radius :math:`r` such that closing every free site within
:math:`r` of the point lifts :math:`L(\lambda)` (the :math:`p` smallest
:math:`\rho` over the sites left) above :math:`UB`.

*Search (exact).* Before the MIP, a Lagrangian branch and bound over the
:math:`y_j` (Beasley 1993 style): best bound first, a short subgradient run per
node from its parent's multipliers, the swap tests above applied at each node,
interchange from the node's relaxed solution, branching on the relaxation's open
site whose closure raises the bound most; with integer data a node is pruned once
its bound exceeds :math:`UB - 1`. The subgradient and interchange kernels are
compiled (numba, ``optimize/_pmedian_lagrange``) and walk each row's sites in
increasing cost only as far as they matter. The tree runs on a work budget
(``tree_work``, pairs visited) and gives up early when its bound's progress over 50
nodes projects past that budget; then the radius MIP (HiGHS through ``highspy``,
built from arrays, the incumbent as MIP start) finishes the proof. Every stage stops
on counts, never on the clock, so the same inputs give the same plan on any machine;
the time limit only stops the solve, which then returns its best plan as
``"feasible"`` with the best bound proven.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

import highspy
import numpy as np
from scipy import sparse

from nhc_planner.optimize._common import (
    DEFAULT_TIME_LIMIT_S,
    MipBackend,
    MipModel,
    as_cost_matrix,
    as_weights,
    check_p,
    infeasible_solution,
    parse_options,
    relative_gap,
)
from nhc_planner.optimize._highs import new_highs, pass_model
from nhc_planner.optimize._pmedian_lagrange import (
    SortedRows,
    covered_gradient,
    interchange,
    lagrangian_rho,
    node_subgradient,
    sort_rows,
)
from nhc_planner.optimize._solution import PMedianSolution

__all__ = ["p_median"]


def p_median(
    cost: Any,
    weights: Any,
    p: int,
    *,
    fixed: Iterable[int] | np.ndarray | None = None,
    excluded: Iterable[int] | np.ndarray | None = None,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    threads: int = 1,
    seed: int = 0,
    backend: MipBackend = "highs",
    lagrangian_iterations: int = 3000,
    tree_work: float = 1e10,
) -> PMedianSolution:
    r"""Open ``p`` sites minimising the weighted cost of serving every demand point.

    Parameters
    ----------
    cost
        ``(n, m)`` non-negative costs (e.g. minutes) from demand point ``i`` to site
        ``j``; ``np.inf`` where ``i`` cannot use ``j``. NaN is an error.
    weights
        ``(n,)`` non-negative demand weights. Points of weight 0 do not constrain the
        choice; they are assigned to their nearest open site afterwards (or -1).
    p
        Number of open sites, fixed sites included.
    fixed, excluded
        Sites that must be open / closed (indices or boolean masks).
    time_limit_s, threads, seed
        Solver time limit (always set), threads and random seed.
    backend
        MIP solver: ``"highs"`` (default: HiGHS through ``highspy``, the model built
        from arrays, the best plan kept at the time limit) or ``"scip"`` / ``"cbc"``
        through OR-Tools.
    lagrangian_iterations
        Subgradient iterations of the Lagrangian bound and reduction (0 skips it, and
        the branch and bound, and solves the radius MIP over all allowed sites; for
        tests and benchmarks).
    tree_work
        Work budget of the Lagrangian branch and bound run before the MIP, in
        (point, site) pairs visited by its compiled kernels plus 20,000 per node
        (1e10 is about 25 s on one core; 0 skips it). A count, not a time, so the
        same inputs give the same plan on any machine.

    Returns
    -------
    PMedianSolution
        ``open`` (``p`` sites), ``assignment`` (nearest open site, -1 for zero-weight
        points no open site reaches), ``objective`` = :math:`\sum_i w_i \min_{j \in
        open} c_{ij}`. ``status`` is ``"infeasible"`` (with ``explanation``)
        when some weighted demand point cannot reach any allowed site, or no choice of
        ``p`` sites reaches them all. It also holds ``n_rows`` (distinct
        demand rows), ``n_candidates`` / ``n_forced_open`` (sites left free / fixed open
        by the Lagrangian reduction), ``heuristic_cost``, ``lagrangian_bound``,
        ``n_levels`` (radius variables, when a MIP ran), ``backend`` and ``message``.
        ``solve_seconds`` includes the heuristic and the Lagrangian phase.

    Raises
    ------
    ValueRangeError
        Bad shapes, NaN or negative costs/weights, ``p`` out of range, a site both
        fixed and excluded.

    Notes
    -----
    Formulation (Elloumi 2010; García, Labbé & Marín 2011), after preprocessing.

    *Sets.* Demand points :math:`i \in I` (weight :math:`w_i > 0`), allowed sites
    :math:`j \in J`. For each :math:`i`, the distinct finite costs to allowed sites in
    increasing order :math:`D_i^1 < \dots < D_i^{K_i}` (truncated as below), and
    :math:`J_i^k = \{j : c_{ij} = D_i^k\}`.

    *Variables.* :math:`y_j \in \{0, 1\}` (site open; :math:`y_j = 1` for fixed sites);
    :math:`z_i^k \in [0, 1]`, :math:`k = 1..K_i - 1`, equal to 1 when no open site is
    within :math:`D_i^k` of :math:`i`.

    *Objective.* :math:`\min \sum_i w_i \big(D_i^1 + \sum_{k<K_i} (D_i^{k+1} - D_i^k)
    z_i^k\big)`: the cost of :math:`i` climbs from :math:`D_i^1` one radius at a time
    while nothing is open within the radius.

    *Constraints.* :math:`\sum_j y_j = p`; chained radius constraints
    :math:`z_i^1 + \sum_{j \in J_i^1} y_j \ge 1`,
    :math:`z_i^k - z_i^{k-1} + \sum_{j \in J_i^k} y_j \ge 0` (:math:`1 < k < K_i`),
    :math:`\sum_{j \in J_i^{K_i}} y_j - z_i^{K_i - 1} \ge 0` (some open site within
    :math:`D_i^{K_i}`). Summing the chain gives Elloumi's
    :math:`z_i^k \ge 1 - \sum_{j: c_{ij} \le D_i^k} y_j`; the chained form has one
    non-zero per (point, site) instead of :math:`O(m^2)` per point and the same LP
    bound, which is much tighter than the classical :math:`x_{ij}` formulation.

    *Preprocessing and search (exact)*: see the module docstring.

    References
    ----------
    J. E. Beasley, "A note on solving large p-median problems", Eur. J. Oper. Res. 21
    (1985) 270-273. J. E. Beasley, "Lagrangean heuristics for location problems",
    Eur. J. Oper. Res. 65 (1993) 383-399.
    S. Elloumi, "A tighter formulation of the p-median problem", J. Comb. Optim. 19
    (2010) 69-83. S. García, M. Labbé, A. Marín, "Solving large p-median problems with
    a radius formulation", INFORMS J. Comput. 23 (2011) 546-556.

    Examples
    --------
    >>> cost = np.array([[0.0, 6, 9], [4, 0, 5], [9, 5, 0], [10, 6, 1]])
    >>> sol = p_median(cost, [1, 1, 1, 1], 2)
    >>> sol.open.tolist(), sol.assignment.tolist(), sol.objective, sol.status
    ([0, 2], [0, 0, 2, 2], 5.0, 'optimal')
    """
    c = as_cost_matrix(cost)
    n, m = c.shape
    w = as_weights(weights, n)
    opts = parse_options(
        m, fixed=fixed, excluded=excluded, time_limit_s=time_limit_s, threads=threads, seed=seed
    )
    p = check_p(p, opts)
    allowed = opts.allowed
    allowed_idx = np.flatnonzero(allowed)

    # ---------------------------------------------------------------- preprocessing
    active = w > 0
    reach = np.isfinite(c[:, allowed]).any(axis=1)
    stranded = np.flatnonzero(active & ~reach)
    if stranded.size:
        explanation = (
            f"{stranded.size} demand point(s) with positive weight cannot reach any allowed "
            f"site (finite cost): rows {stranded.tolist()[:20]}"
            f"{' ...' if stranded.size > 20 else ''}"
        )
        return infeasible_solution(n, explanation, kind=PMedianSolution, unreachable_rows=stranded)

    rows = np.flatnonzero(active)
    uniq, first, inverse = np.unique(
        c[np.ix_(rows, allowed_idx)], axis=0, return_index=True, return_inverse=True
    )
    agg_w = np.bincount(inverse.reshape(-1), weights=w[rows], minlength=first.size)

    return _solve_reduced(
        c,
        w,
        p,
        opts,
        uniq,
        agg_w,
        allowed_idx,
        backend=backend,
        lagrangian_iterations=lagrangian_iterations,
        tree_work=tree_work,
    )


def _solve_reduced(
    c: np.ndarray,
    w: np.ndarray,
    p: int,
    opts: Any,
    uniq: np.ndarray,
    agg_w: np.ndarray,
    allowed_idx: np.ndarray,
    *,
    backend: MipBackend,
    lagrangian_iterations: int,
    tree_work: float,
) -> PMedianSolution:
    """Heuristic, Lagrangian bound and reduction, then the radius MIP if still needed."""
    n = c.shape[0]
    fixed_local = opts.fixed_mask[allowed_idx]
    # ---------------------------------------------------------------- bounds and reduction
    start = time.perf_counter()
    deadline = start + opts.time_limit_s
    best_open = _descend(uniq, agg_w, p, fixed_local)
    best_cost = _true_cost(uniq, agg_w, best_open)
    lagrange = _lagrangian(
        uniq,
        agg_w,
        p,
        fixed_local,
        best_cost,
        best_open,
        max_iter=lagrangian_iterations,
        deadline=deadline,
    )
    stopped = lagrange.timed_out
    if lagrange.cost < best_cost:
        best_open, best_cost = lagrange.best_open, lagrange.cost
    keep = ~lagrange.closed
    force = lagrange.forced & keep
    reach = np.full(uniq.shape[0], np.inf)
    if lagrange.lam is not None and np.isfinite(best_cost):
        reach = _reach_limits(uniq, agg_w, p, fixed_local, keep, lagrange.lam, best_cost)
    info: dict[str, Any] = {
        "n_rows": int(uniq.shape[0]),
        "n_candidates": int(keep.sum()),
        "n_forced_open": int((force & ~fixed_local).sum()),
        "heuristic_cost": float(best_cost),
        "lagrangian_bound": float(lagrange.bound),
        "backend": backend,
    }

    # ---------------------------------------------------------------- model and solve
    status = "optimal"
    lower = lagrange.bound
    proven = lagrange.bound >= best_cost - 1e-9 * max(1.0, abs(best_cost))
    if proven:
        info["message"] = "heuristic proven optimal by the Lagrangian bound"
    elif lagrange.lam is not None and tree_work > 0 and not stopped:
        local = np.flatnonzero(keep)
        tree = _tree_search(
            uniq[:, local],
            agg_w,
            p,
            force[local],
            np.searchsorted(local, best_open),
            best_cost,
            lagrange.lam,
            max_work=tree_work,
            integral=_is_integral(uniq, agg_w),
            deadline=deadline,
        )
        stopped = tree.timed_out
        info["tree_nodes"] = tree.nodes
        if tree.cost < best_cost:
            best_open, best_cost = local[tree.best_open], tree.cost
            reach = _reach_limits(uniq, agg_w, p, fixed_local, keep, lagrange.lam, best_cost)
        lower = max(lower, tree.bound)
        proven = tree.proven
        if proven:
            info["message"] = f"proven optimal by Lagrangian branch and bound ({tree.nodes} nodes)"
    if not proven and stopped:
        status = "feasible"
        info["message"] = (
            f"stopped by the time limit ({opts.time_limit_s:g} s) before the MIP could run"
        )
    elif not proven:
        local = np.flatnonzero(keep)
        sub = uniq[:, local]
        left = max(0.05, opts.time_limit_s - (time.perf_counter() - start))
        if backend == "highs":
            start_local = np.searchsorted(local, best_open) if np.isfinite(best_cost) else None
            outcome = _solve_radius_highs(
                sub, agg_w, force[local], p, reach, replace(opts, time_limit_s=left), start_local
            )
        else:
            model = MipModel(replace(opts, time_limit_s=left), backend=backend)
            y, z_count = _build(model, sub, agg_w, force[local], p, reach)
            mip = model.solve()
            chosen = MipModel.values(y) > 0.5 if mip.status in ("optimal", "feasible") else None
            outcome = _RadiusOutcome(mip.status, chosen, mip.bound, mip.message, z_count)
        info["n_levels"] = outcome.n_levels
        info["message"] = outcome.message
        if outcome.chosen is not None:
            cand = local[outcome.chosen]
            cand_cost = _true_cost(uniq, agg_w, cand)
            if cand_cost < best_cost:
                best_open, best_cost = cand, cand_cost
        if outcome.status == "optimal":
            lower = best_cost
        elif outcome.status == "infeasible":
            if not np.isfinite(best_cost):
                explanation = (
                    f"no choice of p={p} sites reaches every demand point with positive "
                    "weight (each needs an open site with finite cost)"
                )
                seconds = time.perf_counter() - start
                kind = PMedianSolution
                return infeasible_solution(n, explanation, seconds=seconds, kind=kind, **info)
            # no solution better than the heuristic exists: it is optimal
            lower = best_cost
        else:
            status = "feasible"
            if np.isfinite(outcome.bound):
                lower = max(lower, outcome.bound)
    seconds = time.perf_counter() - start

    if not np.isfinite(best_cost):
        return PMedianSolution(
            open=np.zeros(0, dtype=np.int64),
            assignment=np.full(n, -1, dtype=np.int64),
            objective=float("nan"),
            bound=float(lower),
            gap=float("nan"),
            status="time_limit_no_solution",
            solve_seconds=seconds,
            **info,
        )
    open_sites = allowed_idx[best_open]
    assignment, objective = _assign_nearest(c, w, open_sites)
    bound = objective if status == "optimal" else min(lower, objective)
    return PMedianSolution(
        open=open_sites,
        assignment=assignment,
        objective=objective,
        bound=bound,
        gap=0.0 if status == "optimal" else relative_gap(objective, bound),
        status="optimal" if status == "optimal" else "feasible",
        solve_seconds=seconds,
        **info,
    )


@dataclass(frozen=True)
class _RadiusOutcome:
    status: str  # "optimal", "feasible", "infeasible", "time_limit" or "error"
    chosen: np.ndarray | None  # boolean per candidate site of the best solution found
    bound: float  # dual bound (valid for solutions better than the incumbent)
    message: str
    n_levels: int  # radius (z) variables


def _chains(
    rows: np.ndarray, fixed: np.ndarray, p: int, reach: np.ndarray
) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray], list[np.ndarray], np.ndarray]:
    """Per row: sites by cost, distinct levels, level starts/ends, and the last level kept.

    The chain of row ``i`` stops at the first level that must hold an open site: its
    nearest fixed site, the level enclosing ``m - p + 1`` sites, or the largest level
    within ``reach[i]`` (a Lagrangian proof that every solution better than the
    incumbent opens a site within ``reach[i]``). ``last[i] = -1`` when no level fits,
    i.e. no solution better than the incumbent exists.
    """
    m = rows.shape[1]
    need = m - p + 1  # any `need` sites include an open one
    orders, levels_l, starts_l, ends_l = [], [], [], []
    last_all = np.zeros(rows.shape[0], dtype=np.int64)
    for i, row in enumerate(rows):
        finite = np.flatnonzero(np.isfinite(row))
        order = finite[np.argsort(row[finite], kind="stable")]
        dist = row[order]
        levels, starts = np.unique(dist, return_index=True)
        ends = np.append(starts[1:], dist.size)
        last = levels.size - 1
        fixed_pos = np.flatnonzero(fixed[order])
        if fixed_pos.size:  # the nearest fixed site is always open
            last = min(last, int(np.searchsorted(levels, dist[fixed_pos[0]])))
        last = min(last, int(np.searchsorted(ends, need)))
        if np.isfinite(reach[i]):
            last = min(last, int(np.searchsorted(levels, reach[i], side="right")) - 1)
        orders.append(order)
        levels_l.append(levels)
        starts_l.append(starts)
        ends_l.append(ends)
        last_all[i] = last
    return orders, levels_l, starts_l, ends_l, last_all


def _radius_arrays(
    rows: np.ndarray, weights: np.ndarray, fixed: np.ndarray, p: int, reach: np.ndarray
) -> tuple[np.ndarray, sparse.csc_array, np.ndarray, float, list[np.ndarray]] | None:
    """The chained radius model as arrays (columns: ``m`` sites, then the z's).

    Returns ``(col_cost, A, row_lower, offset, z_levels)`` with ``z_levels[i]`` the
    levels of row ``i`` (its z's cover ``levels[:-1]`` up to the last level kept), or
    None when some row has no level left (no solution better than the incumbent).
    """
    m = rows.shape[1]
    orders, levels_l, starts_l, ends_l, last_all = _chains(rows, fixed, p, reach)
    if (last_all < 0).any():
        return None
    r_idx: list[np.ndarray] = [np.zeros(m, dtype=np.int64)]
    c_idx: list[np.ndarray] = [np.arange(m, dtype=np.int64)]
    vals: list[np.ndarray] = [np.ones(m)]
    lower: list[np.ndarray] = [np.array([float(p)])]
    costs: list[np.ndarray] = [np.zeros(m)]
    z_levels: list[np.ndarray] = []
    n_rows, n_cols, offset = 1, m, 0.0
    for i in range(rows.shape[0]):
        order, levels, starts, ends = orders[i], levels_l[i], starts_l[i], ends_l[i]
        last = int(last_all[i])
        offset += float(weights[i]) * float(levels[0])
        z_levels.append(levels[: last + 1])
        # constraint k (k = 0..last): z_k - z_{k-1} + sum_{j in J_k} y_j >= [k == 0]
        count = ends[: last + 1] - starts[: last + 1]
        ys = np.concatenate([order[starts[k] : ends[k]] for k in range(last + 1)])
        r_idx.append(n_rows + np.repeat(np.arange(last + 1), count))
        c_idx.append(ys)
        vals.append(np.ones(ys.size))
        zc = n_cols + np.arange(last)
        r_idx += [n_rows + np.arange(last), n_rows + 1 + np.arange(last)]
        c_idx += [zc, zc]
        vals += [np.ones(last), -np.ones(last)]
        costs.append(float(weights[i]) * np.diff(levels[: last + 1]))
        lo = np.zeros(last + 1)
        lo[0] = 1.0
        lower.append(lo)
        n_rows += last + 1
        n_cols += last
    a_mat = sparse.csc_array(
        (np.concatenate(vals), (np.concatenate(r_idx), np.concatenate(c_idx))),
        shape=(n_rows, n_cols),
    )
    a_mat.sort_indices()
    return np.concatenate(costs), a_mat, np.concatenate(lower), offset, z_levels


def _solve_radius_highs(
    rows: np.ndarray,
    weights: np.ndarray,
    fixed: np.ndarray,
    p: int,
    reach: np.ndarray,
    opts: Any,
    start_open: np.ndarray | None,
) -> _RadiusOutcome:
    """Build the chained radius model from arrays and solve it with HiGHS (highspy).

    ``start_open`` (candidate positions of the incumbent) is passed as a MIP start.
    Work is bounded by the time limit only; HiGHS runs single- or multi-threaded as
    ``opts.threads`` says, with ``opts.seed``, so the same inputs give the same answer
    whenever the limit is not reached.
    """
    m = rows.shape[1]
    built = _radius_arrays(rows, weights, fixed, p, reach)
    if built is None:
        return _RadiusOutcome("infeasible", None, np.inf, "no solution beats the heuristic", 0)
    cost, a_mat, lower, offset, z_levels = built
    n_cols = cost.size
    col_lo = np.zeros(n_cols)
    col_lo[:m] = fixed.astype(float)
    upper = np.full(lower.size, np.inf)
    upper[0] = float(p)
    h = new_highs(opts.threads, opts.seed, max(opts.time_limit_s, 0.05), mip_rel_gap=0.0)
    y_cols = np.arange(n_cols) < m  # site columns integer, levels continuous
    pass_model(h, cost, a_mat, lower, upper, col_lo, np.ones(n_cols), offset=offset, integer=y_cols)
    if start_open is not None:
        h.setSolution(_start_vector(rows, start_open, z_levels, n_cols))
    t0 = time.perf_counter()
    h.run()
    seconds = time.perf_counter() - t0
    info = h.getInfo()
    status = h.getModelStatus()
    chosen = None
    if info.primal_solution_status == 2:  # kSolutionStatusFeasible
        chosen = np.asarray(h.getSolution().col_value)[:m] > 0.5
    bound = float(info.mip_dual_bound)
    ms = highspy.HighsModelStatus
    if status == ms.kOptimal:
        return _RadiusOutcome(
            "optimal", chosen, bound, f"highs: optimal in {seconds:.2f} s", n_cols - m
        )
    if status in (ms.kInfeasible, ms.kUnboundedOrInfeasible):
        return _RadiusOutcome("infeasible", None, np.inf, "highs: infeasible", n_cols - m)
    word = "time limit" if status == ms.kTimeLimit else h.modelStatusToString(status)
    return _RadiusOutcome(
        "feasible" if chosen is not None else "time_limit",
        chosen,
        bound if np.isfinite(bound) else -np.inf,
        f"highs: stopped by {word} after {seconds:.2f} s",
        n_cols - m,
    )


def _start_vector(
    rows: np.ndarray, open_local: np.ndarray, z_levels: list[np.ndarray], n_cols: int
) -> highspy.HighsSolution:
    """MIP start: ``y`` of the incumbent and each row's z's (1 below its nearest open site)."""
    m = rows.shape[1]
    x = np.zeros(n_cols)
    x[open_local] = 1.0
    d = rows[:, open_local].min(axis=1)
    col = m
    for i, levels in enumerate(z_levels):
        k = levels.size - 1
        x[col : col + k] = (levels[:k] < d[i]).astype(float)
        col += k
    sol = highspy.HighsSolution()
    sol.col_value = x.tolist()
    sol.value_valid = True
    return sol


def _build(
    model: MipModel,
    rows: np.ndarray,
    weights: np.ndarray,
    fixed: np.ndarray,
    p: int,
    reach: np.ndarray,
) -> tuple[list[Any], int]:
    """Build the chained radius model through ``model``; return the y's and the z count."""
    solver = model.solver
    m = rows.shape[1]
    y = [solver.IntVar(1.0 if fixed[k] else 0.0, 1.0, f"y{k}") for k in range(m)]
    model.constraint(p, p, [(v, 1.0) for v in y])
    orders, levels_l, starts_l, ends_l, last_all = _chains(rows, fixed, p, reach)
    if (last_all < 0).any():  # no solution better than the incumbent
        model.constraint(1.0, 1.0, [])
        return y, 0
    obj_terms: list[tuple[Any, float]] = []
    offset = 0.0
    for i, weight in enumerate(weights):
        order, levels, starts, ends = orders[i], levels_l[i], starts_l[i], ends_l[i]
        last = int(last_all[i])
        offset += float(weight) * float(levels[0])
        prev = None
        for k in range(last):
            # z_k = 1 when no open site costs at most levels[k]
            zk = solver.NumVar(0.0, 1.0, "")
            obj_terms.append((zk, float(weight) * float(levels[k + 1] - levels[k])))
            terms = [(zk, 1.0), *((y[j], 1.0) for j in order[starts[k] : ends[k]])]
            if prev is not None:
                terms.append((prev, -1.0))
            model.constraint(1.0 if prev is None else 0.0, np.inf, terms)
            prev = zk
        # some open site within levels[last]
        terms = [(y[j], 1.0) for j in order[starts[last] : ends[last]]]
        if prev is not None:
            terms.append((prev, -1.0))
        model.constraint(1.0 if prev is None else 0.0, np.inf, terms)
    model.set_objective(obj_terms, offset=offset)
    return y, len(obj_terms)


@dataclass(frozen=True)
class _Lagrange:
    bound: float  # best Lagrangian lower bound
    closed: np.ndarray  # sites no solution better than the upper bound opens
    forced: np.ndarray  # sites every solution better than the upper bound opens
    best_open: np.ndarray  # best solution met on the way
    cost: float  # its cost
    lam: np.ndarray | None  # multipliers of the best bound (None: no iteration ran)
    timed_out: bool = False  # stopped by the solve's time limit


def _lagrangian(
    rows: np.ndarray,
    weights: np.ndarray,
    p: int,
    fixed: np.ndarray,
    upper: float,
    incumbent: np.ndarray,
    *,
    max_iter: int = 3000,
    deadline: float = np.inf,
) -> _Lagrange:
    """Subgradient optimisation of the Lagrangian relaxation of the assignment rows.

    ``L(lam) = sum_i lam_i + min_{|S| = p, S ⊇ fixed} sum_{j in S} rho_j`` with
    ``rho_j = sum_i min(0, w_i c_ij - lam_i)`` is a lower bound for every ``lam``.
    Reduction tests with every bound met are accumulated (each is valid on its own).
    Each new relaxed solution that serves every row at a cost no worse than the best
    relaxed solution met so far is descended by interchange (a better incumbent).
    Polyak steps towards the incumbent's cost, the step factor halved after 30
    iterations without a better bound; the run stops on an iteration count, never on
    the clock, so the result does not depend on the machine's speed or load
    (``deadline``, the solve's time limit, only stops it: then ``timed_out``).
    """
    m = rows.shape[1]
    closed = np.zeros(m, dtype=bool)
    forced = fixed.copy()
    best_open, best_cost = incumbent, upper
    if not np.isfinite(upper) or max_iter <= 0:
        return _Lagrange(-np.inf, closed, forced, best_open, best_cost, None)
    sr = sort_rows(rows, weights)
    n_free = p - int(fixed.sum())
    free = ~fixed
    lam = weights * _nearest(rows, incumbent)
    best_lam = lam
    bound = -np.inf
    step = 2.0
    stall = 0
    tol = 1e-9 * max(1.0, abs(upper))
    timed_out = False
    tried: set[bytes] = set()
    best_raw = np.inf  # best cost of a relaxed solution as it stands
    grad = np.empty(rows.shape[0])
    for it in range(max_iter):
        if it % 10 == 0 and time.perf_counter() > deadline:
            timed_out = True
            break
        rho, _work = lagrangian_rho(sr.wcs, sr.order, lam)
        rho_free = np.where(free, rho, np.inf)
        order = np.argsort(rho_free, kind="stable")
        opened = fixed.copy()
        opened[order[:n_free]] = True
        value = float(lam.sum() + rho[opened].sum())
        if value > bound + tol:
            bound, stall, best_lam = value, 0, lam
        else:
            stall += 1
            if stall >= 30:
                step, stall = step / 2, 0
        # reduction tests: swap against the p-th / (p+1)-th smallest free rho
        if n_free > 0 and order.size > n_free:
            pth, next_ = rho_free[order[n_free - 1]], rho_free[order[n_free]]
            closed |= free & ~opened & (value + rho - pth > upper + tol)
            forced |= free & opened & (value - rho + next_ > upper + tol)
        key = opened.tobytes()
        raw = _true_cost(rows, weights, np.flatnonzero(opened))
        if key not in tried and np.isfinite(raw) and raw <= best_raw * _DESCEND_SLACK:
            # a new relaxed solution among the best met: descend from it by interchange
            tried.add(key)
            best_raw = min(best_raw, raw)
            cand = _descend(rows, weights, p, fixed, start=np.flatnonzero(opened), sr=sr)
            cost = _true_cost(rows, weights, cand)
            if cost < best_cost - tol:
                best_open, best_cost = cand, cost
                upper = best_cost
                tol = 1e-9 * max(1.0, abs(upper))
        if bound >= upper - tol or step < 1e-5:
            break
        norm = covered_gradient(sr.wcs, sr.order, lam, opened, grad)
        if norm == 0.0:
            break
        lam = np.maximum(lam + step * (upper - value) / norm * grad, 0.0)
    return _Lagrange(bound, closed, forced, best_open, best_cost, best_lam, timed_out)


def _reach_limits(
    rows: np.ndarray,
    weights: np.ndarray,
    p: int,
    fixed: np.ndarray,
    keep: np.ndarray,
    lam: np.ndarray,
    upper: float,
) -> np.ndarray:
    """Per row, a radius within which every solution better than ``upper`` opens a site.

    Closing every free site within ``r`` of row ``i`` turns the Lagrangian bound into
    ``sum(lam) + sum_fixed rho + (sum of the q smallest rho_j over the free kept sites
    farther than r)``, ``q = p - |fixed|``. The smallest ``r`` (one of the row's costs)
    where that exceeds ``upper`` is returned (``inf`` when none does, or ``q = 0``):
    the row's radius chain can stop there. A vectorised binary search over the rows.
    """
    n = rows.shape[0]
    q = p - int(fixed.sum())
    free_idx = np.flatnonzero(keep & ~fixed)
    if q <= 0 or free_idx.size == 0:
        return np.full(n, np.inf)
    rho = np.minimum(weights[:, np.newaxis] * rows - lam[:, np.newaxis], 0.0).sum(axis=0)
    target = upper + 1e-9 * max(1.0, abs(upper)) - float(lam.sum()) - float(rho[fixed].sum())
    order = free_idx[np.argsort(rho[free_idx], kind="stable")]
    r_sorted = rho[order]
    by_rho = rows[:, order]  # costs with columns in increasing rho
    thresholds = np.sort(by_rho, axis=1)
    lo = np.zeros(n, dtype=np.int64)
    hi = np.full(n, order.size - 1, dtype=np.int64)
    idx = np.arange(n)
    while (lo < hi).any():
        mid = (lo + hi) // 2
        left = by_rho > thresholds[idx, mid][:, np.newaxis]  # sites still allowed
        take = left & (np.cumsum(left, axis=1) <= q)
        value = np.where(take.sum(axis=1) < q, np.inf, take.astype(float) @ r_sorted)
        ok = value > target
        hi = np.where(ok, mid, hi)
        lo = np.where(ok, lo, mid + 1)
    return thresholds[idx, lo]


_MOVES = 100_000
"""Safety cap on the interchange moves of one local search (each move lowers the cost,
so the search ends long before on any real instance)."""

_DESCEND_SLACK = 1.0
"""The root descends by interchange from a relaxed solution when its cost is at most
this factor times the best relaxed solution's cost met so far."""

_NODE_ITERS = 30
"""Subgradient iterations per node of the tree (200 at the root)."""

_GIVE_UP_AFTER = 0.02
"""Share of the tree's work budget spent before it may give up early on a projection
(0.1, 0.02 and 0.005 measured: a smaller share hands small many-node instances to the
MIP sooner, e.g. a 200-point p = 67 stand-in 3.2 s -> 0.8 s at 0.02; at 100 nodes, the
old rule, 800-point p = 80 stand-ins went to a 7-17 s MIP instead of a 1-5 s tree)."""

_CALL_WORK = 20_000.0
"""Work units charged per node on top of the pairs its kernels visit (the node's fixed
overhead), so that tiny instances do not run millions of cheap nodes."""


@dataclass(frozen=True)
class _TreeResult:
    proven: bool  # the incumbent is optimal
    best_open: np.ndarray  # best solution found (candidate positions)
    cost: float
    bound: float  # lower bound over the whole tree (valid when not proven)
    nodes: int
    timed_out: bool = False  # stopped by the solve's time limit
    work: float = 0.0  # work spent (pairs visited, plus a charge per node)


def _tree_search(
    rows: np.ndarray,
    weights: np.ndarray,
    p: int,
    forced: np.ndarray,
    incumbent: np.ndarray,
    upper: float,
    lam: np.ndarray,
    *,
    max_work: float,
    integral: bool = False,
    deadline: float = np.inf,
) -> _TreeResult:
    """Lagrangian branch and bound over the site variables (Beasley 1993 style).

    Each node fixes some sites open and some closed; its bound is the Lagrangian
    relaxation of the assignment rows over the sites still free, improved by a short
    subgradient run started from the parent's multipliers. Sites whose swap test
    exceeds the incumbent are fixed at the node; a node is pruned when its bound
    reaches the incumbent. The node's relaxed solution (and any other relaxed solution
    of its run that beats the incumbent) is descended by interchange, with the
    root's forced sites kept open. Branching opens / closes the relaxation's open
    free site whose closure raises the bound most. Nodes are taken best bound first
    (ties by creation order); the search stops after ``max_work`` work units (pairs
    visited, plus ``_CALL_WORK`` per node), a count, never the clock, so the outcome
    is the same on any machine. With
    ``integral`` (every finite ``weights * rows`` an integer) a node is pruned once its
    bound exceeds the incumbent minus one.
    """
    import heapq

    m = rows.shape[1]
    sr = sort_rows(rows, weights)
    finite = np.isfinite(rows)
    tried: set[bytes] = set()
    everywhere = np.ones(m, dtype=bool)
    best_open, best_cost = incumbent, upper
    tol = 1e-9 * max(1.0, abs(upper))

    def slack() -> float:  # prune at bound >= best_cost - slack()
        scale = max(1.0, abs(best_cost))
        return 1.0 - 1e-7 * scale if integral and scale < 1e6 else 1e-9 * scale

    heap: list[tuple[float, int, np.ndarray, np.ndarray, np.ndarray]] = []
    heapq.heappush(heap, (-np.inf, 0, forced.copy(), np.zeros(m, dtype=bool), lam))
    counter, nodes, work, mark = 1, 0, 0.0, -np.inf
    while heap:
        if work > max_work or time.perf_counter() > deadline:
            bound = min(heap[0][0], best_cost)
            late = work <= max_work
            return _TreeResult(False, best_open, best_cost, bound, nodes, late, work)
        parent_bound, _, o_mask, c_mask, lam0 = heapq.heappop(heap)
        if nodes and nodes % 50 == 0 and np.isfinite(parent_bound):
            # best bound first: parent_bound is the tree's bound; give up when its
            # progress over the last 50 nodes projects past the work budget
            if np.isfinite(mark) and nodes >= 100 and work > _GIVE_UP_AFTER * max_work:
                rate = (parent_bound - mark) / 50.0
                need = best_cost - slack() - parent_bound
                if rate <= 0 or work + need / rate * (work / nodes) > max_work:
                    heapq.heappush(heap, (parent_bound, counter, o_mask, c_mask, lam0))
                    return _TreeResult(
                        False, best_open, best_cost, parent_bound, nodes, False, work
                    )
            mark = parent_bound
        if parent_bound >= best_cost - slack():
            continue
        nodes += 1
        q = p - int(o_mask.sum())
        free = ~o_mask & ~c_mask
        if q < 0 or free.sum() < q or not (finite[:, ~c_mask]).any(axis=1).all():
            continue
        iters = 200 if nodes == 1 else _NODE_ITERS
        bound, lam_n, rho, opened, seen, n_seen, node_work = node_subgradient(
            sr.wcs, sr.order, lam0, o_mask, free, q, best_cost, iters, 1.0, 10, 1e-3
        )
        bound = max(bound, parent_bound)  # both are valid bounds of the node
        work += float(node_work) + _CALL_WORK
        # primal: descend by interchange from the node's relaxed solution, and from any
        # other relaxed solution of the run that already beats the incumbent
        for t, cand_mask in enumerate([opened, *seen[:n_seen]]):
            key = cand_mask.tobytes()
            if key in tried:
                continue
            tried.add(key)
            if t > 0 and _true_cost(rows, weights, np.flatnonzero(cand_mask)) >= best_cost:
                continue
            opened_ls, cost, ls_work = interchange(
                sr.wcs, sr.order, cand_mask, everywhere, ~forced, _MOVES
            )
            work += float(ls_work)
            if cost < best_cost - tol:
                best_open, best_cost = np.flatnonzero(opened_ls), cost
                tol = 1e-9 * max(1.0, abs(best_cost))
        cut = best_cost - slack()
        if bound >= cut or q == 0 or free.sum() == q:
            continue
        # node reductions: swap tests against the q-th / (q+1)-th smallest free rho
        rho_free = np.where(free, rho, np.inf)
        order = np.argsort(rho_free, kind="stable")
        pth = rho_free[order[q - 1]]
        nxt = rho_free[order[q]] if free.sum() > q else np.inf
        c_mask = c_mask | (free & ~opened & (bound + rho - pth >= cut))
        close_gain = np.where(free & opened, bound - rho + nxt, -np.inf)
        o_mask = o_mask | (free & opened & (close_gain >= cut))
        cand_j = np.flatnonzero(free & opened & ~o_mask)
        if cand_j.size == 0:  # reductions changed the node: re-evaluate it
            heapq.heappush(heap, (bound, counter, o_mask, c_mask, lam_n))
            counter += 1
            continue
        j = int(cand_j[np.argmax(close_gain[cand_j])])
        child_open = o_mask.copy()
        child_open[j] = True
        child_closed = c_mask.copy()
        child_closed[j] = True
        heapq.heappush(heap, (bound, counter, child_open, c_mask, lam_n))
        heapq.heappush(heap, (float(close_gain[j]), counter + 1, o_mask, child_closed, lam_n))
        counter += 2
    return _TreeResult(True, best_open, best_cost, best_cost, nodes, False, work)


def _is_integral(rows: np.ndarray, weights: np.ndarray) -> bool:
    """True when every weight and every finite weighted cost is an integer."""
    wc = weights[:, np.newaxis] * rows
    finite = wc[np.isfinite(wc)]
    return bool(np.all(weights == np.round(weights)) and np.all(finite == np.round(finite)))


def _nearest(rows: np.ndarray, open_local: np.ndarray) -> np.ndarray:
    """Cost of each row to its cheapest open site (positions among allowed sites)."""
    return rows[:, open_local].min(axis=1)


def _true_cost(rows: np.ndarray, weights: np.ndarray, open_local: np.ndarray) -> float:
    d = _nearest(rows, open_local)
    return float(np.sum(weights * d)) if np.isfinite(d).all() else float("inf")


def _greedy_add(big: np.ndarray, weights: np.ndarray, p: int, fixed_local: np.ndarray) -> list[int]:
    """The fixed sites, then greedy addition (each time the site that lowers the weighted
    cost most) up to ``p`` sites; ``big`` is the cost with unreachable pairs at 1e18."""
    chosen: list[int] = [int(k) for k in np.flatnonzero(fixed_local)]
    current = big[:, chosen].min(axis=1) if chosen else np.full(big.shape[0], 1e18)
    while len(chosen) < p:
        totals = (weights[:, None] * np.minimum(current[:, None], big)).sum(axis=0)
        totals[chosen] = np.inf
        j = int(np.argmin(totals))
        chosen.append(j)
        current = np.minimum(current, big[:, j])
    return chosen


def _heuristic(
    rows: np.ndarray,
    weights: np.ndarray,
    p: int,
    fixed_local: np.ndarray,
    start: np.ndarray | None = None,
) -> np.ndarray:
    """Greedy addition (or ``start``) then vertex interchange (Teitz & Bart 1968)."""
    big = np.where(np.isfinite(rows), rows, 1e18)
    chosen = _greedy_add(big, weights, p, fixed_local) if start is None else list(map(int, start))
    current = big[:, chosen].min(axis=1) if chosen else np.full(rows.shape[0], 1e18)
    free = [k for k in range(len(chosen)) if not fixed_local[chosen[k]]]
    improved = True
    cost = float(np.sum(weights * current))
    while improved and free:
        improved = False
        for k in free:
            others = [chosen[t] for t in range(len(chosen)) if t != k]
            base = big[:, others].min(axis=1) if others else np.full(rows.shape[0], 1e18)
            totals = (weights[:, None] * np.minimum(base[:, None], big)).sum(axis=0)
            totals[others] = np.inf
            j = int(np.argmin(totals))
            if totals[j] < cost - 1e-9 * max(1.0, cost):
                chosen[k] = j
                cost = float(totals[j])
                improved = True
    return np.array(sorted(chosen), dtype=np.int64)


def _descend(
    rows: np.ndarray,
    weights: np.ndarray,
    p: int,
    fixed_local: np.ndarray,
    start: np.ndarray | None = None,
    sr: SortedRows | None = None,
) -> np.ndarray:
    """Greedy addition (or ``start``) then fast vertex interchange to a local optimum.

    ``weights`` must be positive. ``sr`` (:func:`sort_rows` of ``rows``, ``weights``)
    saves sorting again. (:func:`_heuristic`, the first-improvement interchange of
    Teitz & Bart, is kept for the districting seeds, which have zero weights.)
    """
    m = rows.shape[1]
    if start is None:
        big = np.where(np.isfinite(rows), rows, 1e18)
        start = np.array(_greedy_add(big, weights, p, fixed_local), dtype=np.int64)
    if sr is None:
        sr = sort_rows(rows, weights)
    opened = np.zeros(m, dtype=bool)
    opened[start] = True
    everywhere = np.ones(m, dtype=bool)
    opened, _cost, _work = interchange(sr.wcs, sr.order, opened, everywhere, ~fixed_local, _MOVES)
    return np.flatnonzero(opened).astype(np.int64)


def _assign_nearest(
    c: np.ndarray, w: np.ndarray, open_sites: np.ndarray
) -> tuple[np.ndarray, float]:
    """Assign every demand point to its cheapest open site; return (assignment, objective)."""
    sub = c[:, open_sites]
    best = np.argmin(sub, axis=1)
    best_cost = sub[np.arange(c.shape[0]), best]
    assignment = np.where(np.isfinite(best_cost), open_sites[best], -1).astype(np.int64)
    served = w > 0
    objective = float(np.sum(w[served] * best_cost[served]))
    return assignment, objective
