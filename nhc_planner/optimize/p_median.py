"""The p-median problem, solved with the radius (Elloumi) formulation."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from nhc_planner.optimize._common import (
    DEFAULT_TIME_LIMIT_S,
    MipBackend,
    MipModel,
    as_cost_matrix,
    as_weights,
    check_p,
    infeasible_solution,
    no_solution,
    parse_options,
    relative_gap,
)
from nhc_planner.optimize._solution import Solution

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
) -> Solution:
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
        MIP solver: ``"highs"`` (default, measured fastest here) or ``"scip"``.

    Returns
    -------
    Solution
        ``open`` (``p`` sites), ``assignment`` (nearest open site, -1 for zero-weight
        points no open site reaches), ``objective`` = :math:`\sum_i w_i \min_{j \in
        open} c_{ij}`. ``status`` is ``"infeasible"`` (with ``extras["explanation"]``)
        when some weighted demand point cannot reach any allowed site, or no choice of
        ``p`` sites reaches them all. ``extras`` also holds ``n_rows``, ``n_levels``
        (model size after preprocessing), ``backend`` and ``message``.

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

    *Preprocessing (exact).* Demand points with identical cost rows over the allowed
    sites are merged (weights summed). Each point's radius list stops at its nearest
    fixed site (it is always open) and at the first radius enclosing
    :math:`m_{allowed} - p + 1` sites (at most :math:`m_{allowed} - p` are closed, so
    one of them is open).

    References
    ----------
    S. Elloumi, "A tighter formulation of the p-median problem", J. Comb. Optim. 19
    (2010) 69-83. S. García, M. Labbé, A. Marín, "Solving large p-median problems with
    a radius formulation", INFORMS J. Comput. 23 (2011) 546-556.

    Examples
    --------
    >>> cost = np.array([[0.0, 4, 9], [4, 0, 5], [9, 5, 0], [10, 6, 1]])
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
    fixed_mask = opts.fixed_mask

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
        return infeasible_solution(n, explanation, unreachable_rows=stranded)

    rows = np.flatnonzero(active)
    sub = c[np.ix_(rows, allowed_idx)]
    uniq, first, inverse = np.unique(sub, axis=0, return_index=True, return_inverse=True)
    agg_w = np.bincount(inverse.reshape(-1), weights=w[rows], minlength=first.size)
    n_allowed = allowed_idx.size
    fixed_local = fixed_mask[allowed_idx]

    model = MipModel(opts, backend=backend, maximize=False)
    y = [
        model.solver.IntVar(1.0 if fixed_local[k] else 0.0, 1.0, f"y{allowed_idx[k]}")
        for k in range(n_allowed)
    ]
    model.constraint(p, p, [(v, 1.0) for v in y])

    obj_terms: list[tuple[Any, float]] = []
    offset = 0.0
    n_levels = 0
    for r in range(uniq.shape[0]):
        row = uniq[r]
        finite = np.flatnonzero(np.isfinite(row))
        order = finite[np.argsort(row[finite], kind="stable")]
        dist = row[order]
        levels, starts = np.unique(dist, return_index=True)
        ends = np.append(starts[1:], dist.size)
        # Truncate: the nearest fixed site is always open ...
        last = levels.size - 1
        fixed_pos = np.flatnonzero(fixed_local[order])
        if fixed_pos.size:
            last = min(last, int(np.searchsorted(levels, dist[fixed_pos[0]])))
        # ... and any n_allowed - p + 1 sites include an open one.
        need = n_allowed - p + 1
        last = min(last, int(np.searchsorted(ends, need)))
        weight = float(agg_w[r])
        offset += weight * float(levels[0])
        n_levels += last + 1
        prev = None
        for k in range(last + 1):
            sites = [y[j] for j in order[starts[k] : ends[k]]]
            if k == last:
                terms = [(v, 1.0) for v in sites]
                if prev is not None:
                    terms.append((prev, -1.0))
                model.constraint(1.0 if prev is None else 0.0, np.inf, terms)
                break
            zk = model.solver.NumVar(0.0, 1.0, "")
            obj_terms.append((zk, weight * float(levels[k + 1] - levels[k])))
            terms = [(zk, 1.0), *((v, 1.0) for v in sites)]
            if prev is None:
                model.constraint(1.0, np.inf, terms)
            else:
                terms.append((prev, -1.0))
                model.constraint(0.0, np.inf, terms)
            prev = zk
    model.set_objective(obj_terms, offset=offset)

    # ---------------------------------------------------------------- solve
    outcome = model.solve()
    extras: dict[str, Any] = {
        "n_rows": int(uniq.shape[0]),
        "n_levels": int(n_levels),
        "backend": outcome.backend,
        "message": outcome.message,
    }
    if outcome.status == "infeasible":
        explanation = (
            f"no choice of p={p} sites reaches every demand point with positive weight "
            "(each must have a site with finite cost open)"
        )
        return infeasible_solution(n, explanation, seconds=outcome.seconds, **extras)
    if outcome.status == "time_limit_no_solution":
        return no_solution(n, outcome, **extras)

    open_sites = allowed_idx[MipModel.values(y) > 0.5]
    assignment, objective = _assign_nearest(c, w, open_sites)
    bound = min(outcome.bound, objective) if np.isfinite(outcome.bound) else outcome.bound
    gap = 0.0 if outcome.status == "optimal" else relative_gap(objective, bound)
    return Solution(
        open=open_sites,
        assignment=assignment,
        objective=objective,
        bound=objective if outcome.status == "optimal" else bound,
        gap=gap,
        status=outcome.status,
        solve_seconds=outcome.seconds,
        extras=extras,
    )


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
