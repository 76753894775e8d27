"""Coverage models: maximal covering location (MCLP) and (partial) set cover (LSCP)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable
from typing import Any

import numpy as np

from nhc_planner._errors import ValueRangeError
from nhc_planner.optimize._common import (
    DEFAULT_TIME_LIMIT_S,
    MipBackend,
    MipModel,
    MipOutcome,
    SolveOptions,
    aggregate_rows,
    as_cost_matrix,
    as_weights,
    check_max_cost,
    check_p,
    coverage_matrix,
    dominated_columns,
    infeasible_solution,
    no_solution,
    parse_options,
    relative_gap,
)
from nhc_planner.optimize._mclp import (
    cover_within,
    drop_superset_rows,
    mclp_lp_bound,
    solve_reduced,
)
from nhc_planner.optimize._solution import CoverageSolution

__all__ = ["max_coverage", "set_cover"]


def max_coverage(
    cost: Any,
    weights: Any,
    p: int,
    max_cost: float,
    *,
    fixed: Iterable[int] | np.ndarray | None = None,
    excluded: Iterable[int] | np.ndarray | None = None,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    threads: int = 1,
    seed: int = 0,
    backend: MipBackend = "highs",
    max_nodes: int | None = None,
) -> CoverageSolution:
    r"""Open ``p`` sites maximising the weight within ``max_cost`` of an open site (MCLP).

    Parameters
    ----------
    cost
        ``(n, m)`` non-negative costs (e.g. minutes), ``np.inf`` = unreachable.
    weights
        ``(n,)`` non-negative weights (population, need).
    p
        Number of open sites, fixed sites included.
    max_cost
        Coverage standard: point ``i`` is covered by site ``j`` when
        ``cost[i, j] <= max_cost``.
    fixed, excluded
        Sites that must be open / closed (indices or boolean masks).
    time_limit_s
        Safety stop in seconds (always set). The plan does not depend on it unless
        it fires, and then the message says so and the best plan found is kept.
    threads, seed
        Solver threads and random seed (the plan is deterministic for given values).
    backend
        ``"highs"`` (default): the exact core of :func:`~nhc_planner.optimize._mclp.solve_reduced`
        (Lagrangian bound, local-search primal, set cover, reduced-cost fixing, then
        HiGHS through ``highspy`` on what is left). ``"cbc"`` and ``"scip"`` solve the
        reduced MCLP through OR-Tools instead (kept for comparison).
    max_nodes
        Deterministic work limit: branch-and-bound nodes of the HiGHS MIP (None: no
        limit; ``"highs"`` only). When it stops the search the best plan is kept
        and the gap is reported.

    Returns
    -------
    CoverageSolution
        ``open`` holds exactly ``p`` sites; ``assignment`` is each point's cheapest
        open site within ``max_cost`` (-1 if uncovered); ``objective`` the covered
        weight. Also ``covered`` (boolean per point), ``covered_share``,
        ``n_rows``/``n_candidates`` (model size after preprocessing),
        ``padded`` (sites added to reach ``p`` that cover nothing new), ``backend``,
        ``message``.

    Notes
    -----
    Formulation (Church & ReVelle 1974), after preprocessing.

    *Sets.* Demand rows :math:`i \in I` with weight :math:`w_i`; free candidate sites
    :math:`j \in J` (allowed, not fixed); :math:`N_i = \{j \in J: c_{ij} \le
    \text{max\_cost}\}`; :math:`p' = p - |\text{fixed}|`.

    *Variables.* :math:`x_j \in \{0, 1\}` (open); :math:`u_i \in [0, 1]` (covered).

    *Objective.* :math:`\max \sum_i w_i u_i` (plus the weight fixed sites cover).

    *Constraints.* :math:`u_i \le \sum_{j \in N_i} x_j`; :math:`\sum_j x_j \le p'`.
    With binary :math:`x` the optimal :math:`u_i` is :math:`\min(1, \sum_{N_i} x_j)`,
    integral, so :math:`u` need not be declared integer. "At most" :math:`p'` has
    the same optimum as "exactly" :math:`p'` because weights are non-negative; the
    returned solution is padded to exactly ``p`` sites.

    *Preprocessing (exact).* Points covered by a fixed site are always covered and
    leave the model (their weight is a constant); points of zero weight or that no
    free site covers leave it too. Points with identical coverage sets are merged
    with summed weights (:func:`~nhc_planner.optimize._common.aggregate_rows`). A
    candidate whose coverage set is contained in another's is removed
    (:func:`~nhc_planner.optimize._common.dominated_columns`): swapping it for the
    dominating site never loses coverage, which is valid because the count of sites
    is bounded above and all sites cost the same. Fixed sites are never removed.

    *Exact core* (``backend="highs"``,
    :func:`~nhc_planner.optimize._mclp.solve_reduced`). A greedy + 1-swap plan and
    the same search from the LP solution and from an LP dive give the incumbent; the
    LP relaxation's duals give a Lagrangian bound (valid for any multipliers). An
    incumbent at the bound is optimal. Otherwise reduced-cost fixing closes (opens)
    every site whose forced opening (closing) drops the Lagrangian bound below the
    incumbent, and HiGHS solves the rest from arrays, seeking only better plans: an
    objective cutoff at the incumbent, rows heavier than the weight a better plan may
    leave uncovered must be covered, cardinality rows on the lighter ones. ``shortcut``
    names the stage that proved the plan (``"heuristic"`` or ``"mip"``; the core's
    set-cover stage, ``"set_cover"``, is off by default).

    Examples
    --------
    >>> cost = np.array([[1.0, 9, 9], [2, 3, 9], [9, 9, 1], [9, 2, np.inf]])
    >>> sol = max_coverage(cost, [5, 1, 4, 3], 2, 5.0)
    >>> sol.open.tolist(), sol.objective, sol.assignment.tolist()
    ([0, 2], 10.0, [0, 0, 2, -1])
    """
    c = as_cost_matrix(cost)
    n, m = c.shape
    w = as_weights(weights, n)
    standard = check_max_cost(max_cost)
    opts = parse_options(
        m, fixed=fixed, excluded=excluded, time_limit_s=time_limit_s, threads=threads, seed=seed
    )
    p = check_p(p, opts)
    cover = coverage_matrix(c, standard, opts.allowed)
    p_free = p - opts.fixed.size

    # ---------------------------------------------------------------- preprocessing
    constant, cand, a, agg_w = _reduce(cover, w, opts)
    info: dict[str, Any] = {"n_rows": int(a.shape[0]), "n_candidates": int(cand.size)}

    # ---------------------------------------------------------------- model and solve
    if backend == "highs":
        chosen, status, bound, seconds, message = _core_choose(
            a, agg_w, cand, p_free, constant, opts, max_nodes, info
        )
    else:
        chosen_or_none = _mclp_choose(a, agg_w, cand, p_free, constant, opts, backend, info)
        if isinstance(chosen_or_none, MipOutcome):
            return no_solution(n, chosen_or_none, kind=CoverageSolution, **info)
        chosen, status, bound, seconds, message = chosen_or_none
    info.setdefault("message", message)

    open_sites = np.union1d(opts.fixed, chosen)
    open_sites, padded = _pad(open_sites, p, opts, cover, w)
    assignment, covered = _assign_within(c, standard, open_sites)
    objective = float(w[covered].sum())
    total = float(w.sum())
    info.update(
        covered=covered,
        covered_share=objective / total if total > 0 else float("nan"),
        padded=padded,
    )
    return _coverage_solution(
        open_sites,
        assignment,
        objective,
        status=status,
        bound=bound,
        unknown_bound=constant + float(agg_w.sum()),  # everything coverable: a valid upper bound
        seconds=seconds,
        info=info,
    )


def _core_choose(
    a: np.ndarray,
    agg_w: np.ndarray,
    cand: np.ndarray,
    p_free: int,
    constant: float,
    opts: SolveOptions,
    max_nodes: int | None,
    info: dict[str, Any],
) -> tuple[np.ndarray, str, float, float, str]:
    """The free sites to open through the exact core; status, bound, seconds, message."""
    if p_free == 0 or a.shape[0] == 0 or cand.size <= p_free:
        chosen = cand if p_free > 0 and a.shape[0] > 0 else np.zeros(0, dtype=np.int64)
        return chosen, "optimal", np.nan, 0.0, "solved by preprocessing"
    core = solve_reduced(
        a,
        agg_w,
        p_free,
        time_limit_s=opts.time_limit_s,
        threads=opts.threads,
        seed=opts.seed,
        max_nodes=max_nodes,
    )
    message = f"highs: {core.message} in {core.seconds:.2f} s"
    info.update(backend="highs", message=message, shortcut=core.stage)
    return cand[core.chosen], core.status, constant + core.bound, core.seconds, message


def _mclp_choose(
    a: np.ndarray,
    agg_w: np.ndarray,
    cand: np.ndarray,
    p_free: int,
    constant: float,
    opts: SolveOptions,
    backend: MipBackend,
    info: dict[str, Any],
) -> tuple[np.ndarray, str, float, float, str] | MipOutcome:
    """The free sites to open (and status, bound, seconds, message), or the failed outcome.

    Preprocessing first; then a set cover of ``p_free`` sites when the LP bound says
    everything coverable may be covered; else the MCLP MIP. Updates ``info``.
    """
    chosen: np.ndarray
    if p_free == 0 or a.shape[0] == 0:
        chosen = np.zeros(0, dtype=np.int64)
        status, bound, seconds, message = "optimal", np.nan, 0.0, "solved by preprocessing"
    elif cand.size <= p_free:
        chosen = cand
        status, bound, seconds, message = "optimal", np.nan, 0.0, "solved by preprocessing"
    else:
        start = time.perf_counter()
        total_free = float(agg_w.sum())
        lp_bound = mclp_lp_bound(a, agg_w, p_free)
        cols = None
        if lp_bound >= total_free - 1e-7 * max(1.0, total_free):
            # p sites may cover everything: a set cover of size <= p proves it
            # HiGHS solves set covers much faster than CBC (demo ICB: 0.7 s vs 5.5 s)
            cover_backend: MipBackend = "scip" if backend == "scip" else "highs"
            cols, _ = cover_within(
                a, p_free, opts, backend=cover_backend, time_limit_s=opts.time_limit_s / 2
            )
        if cols is not None:
            chosen = cand[cols]
            seconds = time.perf_counter() - start
            status, bound = "optimal", np.nan
            message = (
                f"{cover_backend}: optimal in {seconds:.2f} s (a set cover with {cols.size} of "
                f"{p_free} free sites covers all coverable weight, the upper bound)"
            )
            info.update(backend=cover_backend, message=message, shortcut="set_cover")
        else:
            left = max(1e-3, opts.time_limit_s - (time.perf_counter() - start))
            model = MipModel(
                dataclasses.replace(opts, time_limit_s=left), backend=backend, maximize=True
            )
            x = model.bool_vars(cand.size, "x")
            u = model.num_vars(a.shape[0], "u")
            for r in range(a.shape[0]):
                model.constraint(
                    -np.inf, 0.0, [(u[r], 1.0), *((x[j], -1.0) for j in np.flatnonzero(a[r]))]
                )
            model.constraint(-np.inf, p_free, [(v, 1.0) for v in x])
            model.set_objective(
                [(u[r], float(agg_w[r])) for r in range(a.shape[0])], offset=constant
            )
            outcome = model.solve()
            info.update(backend=outcome.backend, message=outcome.message)
            if not (outcome.status == "optimal" or outcome.status == "feasible"):
                return outcome
            chosen = cand[MipModel.values(x) > 0.5]
            status, bound, message = outcome.status, outcome.bound, outcome.message
            seconds = time.perf_counter() - start
    return chosen, status, float(bound), seconds, message


def set_cover(
    cost: Any,
    max_cost: float,
    *,
    weights: Any = None,
    min_share: float = 1.0,
    fixed: Iterable[int] | np.ndarray | None = None,
    excluded: Iterable[int] | np.ndarray | None = None,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    threads: int = 1,
    seed: int = 0,
    backend: MipBackend = "highs",
) -> CoverageSolution:
    r"""Open the fewest sites so that every point (or ``min_share`` of the weight) is covered.

    The location set covering problem (LSCP) when ``min_share`` is 1, a partial set
    cover otherwise.

    Parameters
    ----------
    cost
        ``(n, m)`` non-negative costs, ``np.inf`` = unreachable.
    max_cost
        Coverage standard: ``cost[i, j] <= max_cost`` means ``j`` covers ``i``.
    weights
        ``(n,)`` non-negative weights; every point weighs 1 when None. With
        ``min_share = 1`` points of zero weight need not be covered.
    min_share
        Share of the total weight that must be covered, in ``(0, 1]``.
    fixed, excluded
        Sites that must be open / closed; fixed sites count in the objective.
    time_limit_s, threads, seed
        Solver time limit (always set), threads and random seed.
    backend
        MIP solver, ``"highs"`` (default) or ``"scip"``.

    Returns
    -------
    CoverageSolution
        ``objective`` is the number of open sites (fixed included). When no choice
        of allowed sites can meet the requirement, ``status`` is ``"infeasible"``
        and ``explanation`` says which points cannot be covered and how
        much weight is missing (``uncoverable_rows``). Infeasibility is
        returned, not raised, so callers can show the explanation.

    Notes
    -----
    Formulation (Toregas et al. 1971; partial cover: Daskin & Owen 1999).

    *Sets.* Demand rows :math:`i \in I`, free sites :math:`j \in J`,
    :math:`N_i = \{j: c_{ij} \le \text{max\_cost}\}`.

    *Variables.* :math:`x_j \in \{0, 1\}`; for partial cover
    :math:`u_i \in [0, 1]` (covered).

    *Objective.* :math:`\min |\text{fixed}| + \sum_j x_j`.

    *Constraints.* Full cover: :math:`\sum_{j \in N_i} x_j \ge 1` for every row.
    Partial: :math:`u_i \le \sum_{j \in N_i} x_j`,
    :math:`\sum_i w_i u_i \ge \text{min\_share} \cdot W - W_{\text{fixed}}`.

    *Preprocessing (exact).* Rows covered by fixed sites leave the model; identical
    rows are merged (weights summed); dominated candidate columns are removed (a
    site covering a subset of another's rows can be swapped for it at equal cost).
    For full cover, a row whose coverage set contains another row's set is implied
    by it and is removed (row dominance; not valid for partial cover).

    Examples
    --------
    >>> cost = np.array([[1.0, 4, 9], [2, 3, 9], [9, 9, 1], [9, 2, 9]])
    >>> sol = set_cover(cost, 5.0)
    >>> sol.open.tolist(), sol.objective
    ([1, 2], 2.0)
    >>> set_cover(cost, 5.0, excluded=[2]).explanation
    '1 demand point(s) cannot be covered within 5 by any allowed site: rows [2]'
    """
    c = as_cost_matrix(cost)
    n, m = c.shape
    w = np.ones(n) if weights is None else as_weights(weights, n)
    standard = check_max_cost(max_cost)
    share = float(min_share)
    if not (0.0 < share <= 1.0):
        msg = f"min_share must be in (0, 1]; found {min_share!r}"
        raise ValueRangeError(msg)
    opts = parse_options(
        m, fixed=fixed, excluded=excluded, time_limit_s=time_limit_s, threads=threads, seed=seed
    )
    cover = coverage_matrix(c, standard, opts.allowed)
    coverable = cover.any(axis=1)
    total = float(w.sum())
    full = share >= 1.0
    if full:
        bad = np.flatnonzero(~coverable & (w > 0))
        if bad.size:
            explanation = (
                f"{bad.size} demand point(s) cannot be covered within {standard:g} by any "
                f"allowed site: rows {bad.tolist()[:20]}{' ...' if bad.size > 20 else ''}"
            )
            return infeasible_solution(n, explanation, kind=CoverageSolution, uncoverable_rows=bad)
    else:
        reachable = float(w[coverable].sum())
        if reachable < share * total - 1e-9 * max(1.0, total):
            bad = np.flatnonzero(~coverable & (w > 0))
            explanation = (
                f"at most {reachable:g} of {total:g} weight ({reachable / total:.2%}) is within "
                f"{standard:g} of an allowed site, short of min_share {share:.2%} by "
                f"{share * total - reachable:g}; {bad.size} weighted point(s) cannot be "
                f"covered: rows {bad.tolist()[:20]}{' ...' if bad.size > 20 else ''}"
            )
            return infeasible_solution(n, explanation, kind=CoverageSolution, uncoverable_rows=bad)
    return _solve_cover(c, w, cover, standard, share, opts, backend, total)


def _solve_cover(
    c: np.ndarray,
    w: np.ndarray,
    cover: np.ndarray,
    standard: float,
    share: float,
    opts: SolveOptions,
    backend: MipBackend,
    total: float,
) -> CoverageSolution:
    n = c.shape[0]
    full = share >= 1.0
    by_fixed_weight, cand, a, agg_w = _reduce(cover, w, opts, drop_implied_rows=full)
    target = share * total - by_fixed_weight
    info: dict[str, Any] = {"n_rows": int(a.shape[0]), "n_candidates": int(cand.size)}

    needed = a.shape[0] > 0 if full else target > 1e-9 * max(1.0, total)
    if not needed:
        chosen = np.zeros(0, dtype=np.int64)
        status, bound, seconds = "optimal", np.nan, 0.0
        info["message"] = "solved by preprocessing"
    else:
        model = MipModel(opts, backend=backend, maximize=False)
        x = model.bool_vars(cand.size, "x")
        if full:
            for r in range(a.shape[0]):
                model.constraint(1.0, np.inf, [(x[j], 1.0) for j in np.flatnonzero(a[r])])
        else:
            u = model.num_vars(a.shape[0], "u")
            for r in range(a.shape[0]):
                terms = [(u[r], 1.0), *((x[j], -1.0) for j in np.flatnonzero(a[r]))]
                model.constraint(-np.inf, 0.0, terms)
            slack = 1e-9 * max(1.0, total)
            model.constraint(
                target - slack, np.inf, [(u[r], float(agg_w[r])) for r in range(a.shape[0])]
            )
        model.set_objective([(v, 1.0) for v in x], offset=float(opts.fixed.size))
        outcome = model.solve()
        info.update(backend=outcome.backend, message=outcome.message)
        if outcome.status == "infeasible":  # pragma: no cover - prevented by the checks above
            return infeasible_solution(
                n, "the cover requirement cannot be met", kind=CoverageSolution, **info
            )
        if outcome.status == "time_limit_no_solution":
            return no_solution(n, outcome, kind=CoverageSolution, **info)
        chosen = cand[MipModel.values(x) > 0.5]
        status, bound, seconds = outcome.status, outcome.bound, outcome.seconds

    open_sites = np.union1d(opts.fixed, chosen).astype(np.int64)
    assignment, covered = _assign_within(c, standard, open_sites)
    objective = float(open_sites.size)
    info.update(
        covered=covered,
        covered_share=float(w[covered].sum()) / total if total > 0 else float("nan"),
    )
    return _coverage_solution(
        open_sites,
        assignment,
        objective,
        status=status,
        bound=bound,
        unknown_bound=float(opts.fixed.size),  # trivial lower bound when the solver gave none
        seconds=seconds,
        info=info,
    )


def _reduce(
    cover: np.ndarray, w: np.ndarray, opts: SolveOptions, *, drop_implied_rows: bool = False
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """Exact preprocessing shared by :func:`max_coverage` and :func:`set_cover`.

    Rows covered by a fixed site leave the model, as do rows of zero weight or that
    no free site covers; identical rows are merged with summed weights; with
    ``drop_implied_rows`` (full cover only) rows implied by another row are removed;
    dominated candidate columns are removed.

    Returns
    -------
    fixed_weight, cand, a, agg_w
        Weight covered by the fixed sites; site index of each column of ``a``; the
        reduced (rows x candidates) coverage matrix; the weight of each row of ``a``.
    """
    fixed_mask = opts.fixed_mask
    free = opts.allowed & ~fixed_mask
    by_fixed = cover[:, fixed_mask].any(axis=1)
    rows = np.flatnonzero(~by_fixed & (w > 0) & cover[:, free].any(axis=1))
    free_idx = np.flatnonzero(free)
    uniq, agg_w, _ = aggregate_rows(cover[np.ix_(rows, free_idx)], w[rows])
    if drop_implied_rows and uniq.shape[0] > 1:
        uniq, agg_w = drop_superset_rows(uniq, agg_w)
    keep = ~dominated_columns(uniq)
    return float(w[by_fixed].sum()), free_idx[keep], uniq[:, keep], agg_w


def _coverage_solution(
    open_sites: np.ndarray,
    assignment: np.ndarray,
    objective: float,
    *,
    status: str,
    bound: float,
    unknown_bound: float,
    seconds: float,
    info: dict[str, Any],
) -> CoverageSolution:
    """The :class:`CoverageSolution` of a coverage model that has an incumbent.

    An optimal ``status`` proves ``objective`` itself; otherwise a bound the solver
    did not give (non-finite) is replaced by ``unknown_bound``.
    """
    if status == "optimal":
        bound = objective
    elif not np.isfinite(bound):
        bound = unknown_bound
    return CoverageSolution(
        open=open_sites,
        assignment=assignment,
        objective=objective,
        bound=float(bound),
        gap=0.0 if status == "optimal" else relative_gap(objective, bound),
        status="optimal" if status == "optimal" else "feasible",
        solve_seconds=seconds,
        **info,
    )


def _assign_within(
    c: np.ndarray, standard: float, open_sites: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Cheapest open site within the standard per point (-1 if none) and the covered mask."""
    n = c.shape[0]
    if open_sites.size == 0:
        return np.full(n, -1, dtype=np.int64), np.zeros(n, dtype=bool)
    sub = c[:, open_sites]
    best = np.argmin(sub, axis=1)
    covered = sub[np.arange(n), best] <= standard
    return np.where(covered, open_sites[best], -1).astype(np.int64), covered


def _pad(
    open_sites: np.ndarray, p: int, opts: SolveOptions, cover: np.ndarray, w: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Add allowed sites (most weight covered first, then lowest index) until ``p`` are open."""
    missing = p - open_sites.size
    if missing <= 0:
        return open_sites.astype(np.int64), np.zeros(0, dtype=np.int64)
    score = (cover * w[:, np.newaxis]).sum(axis=0)
    pool = np.flatnonzero(opts.allowed)
    pool = pool[~np.isin(pool, open_sites)]
    order = pool[np.lexsort((pool, -score[pool]))]
    padded = np.sort(order[:missing]).astype(np.int64)
    return np.union1d(open_sites, padded).astype(np.int64), padded
