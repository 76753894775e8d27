"""Capacitated facility location (CFLP), split or single-source demand."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from nhc_planner._errors import ValueRangeError
from nhc_planner.optimize._cflp import solve_cflp_highs
from nhc_planner.optimize._common import (
    DEFAULT_TIME_LIMIT_S,
    MipBackend,
    MipModel,
    as_cost_matrix,
    as_weights,
    infeasible_solution,
    no_solution,
    parse_options,
    relative_gap,
)
from nhc_planner.optimize._solution import CapacitatedSolution

__all__ = ["capacitated_location"]


def capacitated_location(
    cost: Any,
    demand: Any,
    capacity: Any,
    fixed_cost: Any,
    *,
    single_source: bool = False,
    fixed: Iterable[int] | np.ndarray | None = None,
    excluded: Iterable[int] | np.ndarray | None = None,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    threads: int = 1,
    seed: int = 0,
    backend: MipBackend = "highs",
) -> CapacitatedSolution:
    r"""Choose sites minimising opening plus allocation cost under capacities.

    Parameters
    ----------
    cost
        ``(n, m)`` cost of serving **all** of demand point ``i`` from site ``j``
        (``np.inf`` = not allowed); a share ``x`` of the point costs ``x * cost``.
    demand
        ``(n,)`` non-negative demand of each point (uses capacity). Every point is
        served in full, including points of zero demand.
    capacity
        ``(m,)`` non-negative capacity of each site (``np.inf`` = uncapacitated).
    fixed_cost
        ``(m,)`` non-negative, finite cost of opening each site (fixed sites pay it
        too, so objectives compare across scenarios).
    single_source
        When True each point is served by exactly one site; otherwise its demand may
        be split.
    fixed, excluded
        Sites that must be open / closed.
    time_limit_s, threads, seed
        Solver time limit (always set), threads and random seed.
    backend
        MIP solver, ``"highs"`` (default) or ``"scip"``.

    Returns
    -------
    CapacitatedSolution
        ``fractions`` is the ``(n, m)`` share of each point served by each site;
        ``assignment`` the site serving the largest share. Also ``load`` and
        ``utilisation`` per site, ``opening_cost``, ``allocation_cost``, ``backend``,
        ``message``. ``status`` is ``"infeasible"`` with ``explanation``
        when a point reaches no allowed site, total allowed capacity is below total
        demand, (single source) a point's demand exceeds the capacity of every site
        it may use, or the solver proves that no assignment fits.

    Notes
    -----
    Formulation (strong CFLP, e.g. Cornuéjols, Sridharan & Thizy 1991).

    *Sets.* Demand points :math:`i \in I` (demand :math:`d_i`), allowed sites
    :math:`j \in J` (capacity :math:`s_j`, opening cost :math:`f_j`),
    arcs :math:`A = \{(i, j): c_{ij} < \infty\}`.

    *Variables.* :math:`y_j \in \{0, 1\}` (open; 1 for fixed sites);
    :math:`x_{ij} \in [0, 1]` share of :math:`i` served by :math:`j` (binary when
    single-source).

    *Objective.* :math:`\min \sum_j f_j y_j + \sum_{(i,j) \in A} c_{ij} x_{ij}`.

    *Constraints.* :math:`\sum_j x_{ij} = 1` (every point served);
    :math:`\sum_i d_i x_{ij} \le s_j y_j` (capacity); :math:`x_{ij} \le y_j` (strong
    linking, which tightens the LP bound); :math:`\sum_j s_j y_j \ge \sum_i d_i`
    (aggregate capacity, a valid inequality that helps the solver's cuts).

    Examples
    --------
    >>> cost = np.array([[1.0, 4], [2, 3], [5, 1]])
    >>> sol = capacitated_location(cost, [1, 1, 1], [2, 2], [3, 3])
    >>> sol.open.tolist(), sol.objective, sol.assignment.tolist()
    ([0, 1], 10.0, [0, 0, 1])
    >>> capacitated_location(cost, [1, 1, 1], [2, 2], [3, 3], excluded=[1]).status
    'infeasible'
    """
    c = as_cost_matrix(cost)
    n, m = c.shape
    d = as_weights(demand, n, "demand")
    cap = np.asarray(capacity, dtype=np.float64)
    if cap.shape != (m,) or np.isnan(cap).any() or (cap < 0).any():
        msg = f"capacity: expected {m} non-negative numbers (np.inf allowed); found {cap!r}"
        raise ValueRangeError(msg)
    f = as_weights(fixed_cost, m, "fixed_cost")
    opts = parse_options(
        m, fixed=fixed, excluded=excluded, time_limit_s=time_limit_s, threads=threads, seed=seed
    )
    allowed = opts.allowed
    arcs = np.isfinite(c) & allowed[np.newaxis, :]
    if single_source:
        arcs &= d[:, np.newaxis] <= cap[np.newaxis, :]

    # ---------------------------------------------------------------- infeasibility
    stranded = np.flatnonzero(~arcs.any(axis=1))
    if stranded.size:
        why = "no allowed site with finite cost"
        if single_source:
            why += " and enough capacity for its whole demand"
        explanation = (
            f"{stranded.size} demand point(s) have {why}: rows {stranded.tolist()[:20]}"
            f"{' ...' if stranded.size > 20 else ''}"
        )
        return infeasible_solution(n, explanation, kind=CapacitatedSolution, unserved_rows=stranded)
    total_demand = float(d.sum())
    total_cap = float(cap[allowed].sum())
    if total_cap < total_demand:
        explanation = (
            f"total capacity of the allowed sites ({total_cap:g}) is below total demand "
            f"({total_demand:g}) by {total_demand - total_cap:g}"
        )
        return infeasible_solution(n, explanation, kind=CapacitatedSolution)

    if backend != "highs":
        return _solve_ortools(
            c, d, cap, f, opts, arcs, single_source=single_source, backend=backend
        )
    return solve_cflp_highs(c, d, cap, f, opts, arcs, single_source=single_source)


def _solve_ortools(
    c: np.ndarray,
    d: np.ndarray,
    cap: np.ndarray,
    f: np.ndarray,
    opts: Any,
    arcs: np.ndarray,
    *,
    single_source: bool,
    backend: MipBackend,
) -> CapacitatedSolution:
    """The strong model through OR-Tools' ``pywraplp`` (backends other than HiGHS)."""
    n = c.shape[0]
    model, y, x = _model(c, d, cap, f, opts, arcs, single_source=single_source, backend=backend)
    outcome = model.solve()
    info: dict[str, Any] = {"backend": outcome.backend, "message": outcome.message}
    if outcome.status == "infeasible":
        explanation = (
            "no choice of open sites can serve every demand point within the capacities"
            + (" with single-source assignment" if single_source else "")
        )
        return infeasible_solution(
            n, explanation, seconds=outcome.seconds, kind=CapacitatedSolution, **info
        )
    if outcome.status == "time_limit_no_solution":
        return no_solution(n, outcome, kind=CapacitatedSolution, **info)

    return _result(c, d, cap, f, y, x, outcome, single_source=single_source, info=info)


def _model(
    c: np.ndarray,
    d: np.ndarray,
    cap: np.ndarray,
    f: np.ndarray,
    opts: Any,
    arcs: np.ndarray,
    *,
    single_source: bool,
    backend: MipBackend,
) -> tuple[MipModel, dict[int, Any], dict[tuple[int, int], Any]]:
    """The strong CFLP model (formulation in :func:`capacitated_location`)."""
    n = c.shape[0]
    total_demand = float(d.sum())
    model = MipModel(opts, backend=backend, maximize=False)
    fixed_mask = opts.fixed_mask
    site_idx = np.flatnonzero(opts.allowed)
    y = {int(j): model.solver.IntVar(1.0 if fixed_mask[j] else 0.0, 1.0, f"y{j}") for j in site_idx}
    x: dict[tuple[int, int], Any] = {}
    for i, j in zip(*np.nonzero(arcs), strict=True):
        key = (int(i), int(j))
        x[key] = (
            model.solver.BoolVar(f"x{i}_{j}")
            if single_source
            else model.solver.NumVar(0.0, 1.0, f"x{i}_{j}")
        )
        model.constraint(-np.inf, 0.0, [(x[key], 1.0), (y[key[1]], -1.0)])
    by_point: dict[int, list[Any]] = {}
    by_site: dict[int, list[tuple[Any, float]]] = {}
    for (i, j), var in x.items():
        by_point.setdefault(i, []).append(var)
        by_site.setdefault(j, []).append((var, float(d[i])))
    for i in range(n):
        model.constraint(1.0, 1.0, [(v, 1.0) for v in by_point[i]])
    for j in site_idx:
        if np.isfinite(cap[j]):
            terms = [*by_site.get(int(j), []), (y[int(j)], -float(cap[j]))]
            model.constraint(-np.inf, 0.0, terms)
    finite_cap = [int(j) for j in site_idx if np.isfinite(cap[j])]
    if len(finite_cap) == site_idx.size:
        model.constraint(total_demand, np.inf, [(y[j], float(cap[j])) for j in finite_cap])
    obj = [(y[int(j)], float(f[j])) for j in site_idx]
    obj += [(var, float(c[i, j])) for (i, j), var in x.items()]
    model.set_objective(obj)
    return model, y, x


def _result(
    c: np.ndarray,
    d: np.ndarray,
    cap: np.ndarray,
    f: np.ndarray,
    y: dict[int, Any],
    x: dict[tuple[int, int], Any],
    outcome: Any,
    *,
    single_source: bool,
    info: dict[str, Any],
) -> CapacitatedSolution:
    """Read the solved model back into a :class:`CapacitatedSolution`."""
    n, m = c.shape
    y_val = np.zeros(m)
    for j, var in y.items():
        y_val[j] = var.solution_value()
    open_mask = y_val > 0.5
    fractions = np.zeros((n, m))
    for (i, j), var in x.items():
        fractions[i, j] = var.solution_value()
    fractions[fractions < 1e-9] = 0.0
    fractions[:, ~open_mask] = 0.0
    if single_source:
        fractions = np.round(fractions)
    fractions /= fractions.sum(axis=1, keepdims=True)
    assignment = np.argmax(fractions, axis=1).astype(np.int64)
    load = (fractions * d[:, np.newaxis]).sum(axis=0)
    opening = float(f[open_mask].sum())
    allocation = float(np.sum(np.where(fractions > 0, c, 0.0) * fractions))
    objective = opening + allocation
    with np.errstate(divide="ignore", invalid="ignore"):
        utilisation = np.where(open_mask & (cap > 0), load / cap, np.nan)
    info.update(
        load=load, utilisation=utilisation, opening_cost=opening, allocation_cost=allocation
    )
    optimal = outcome.status == "optimal"
    bound = objective if optimal else min(outcome.bound, objective)
    return CapacitatedSolution(
        open=np.flatnonzero(open_mask).astype(np.int64),
        assignment=assignment,
        objective=objective,
        bound=bound,
        gap=0.0 if optimal else relative_gap(objective, bound),
        status=outcome.status,
        solve_seconds=outcome.seconds,
        fractions=fractions,
        **info,
    )
