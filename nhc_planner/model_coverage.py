"""The phased coverage planning model (``policy.model = "coverage"``).

With ``capacity.constrain = true`` (the default) it opens, year by year, the
centres and sizes that *serve* the most need within the travel standard without
any centre above its capacity:
:func:`nhc_planner.optimize.capacitated_phased.capacitated_phased` (formulation in
its docstring and ``docs/capacitated_phased.md``), with the scenario's kept and
excluded sites, openings per year or capital budget and the equity floor and
per-authority minimum as floors on *served* need. With ``policy.objective =
"maxmin"`` the same solver first makes the worst-served local authority's *served*
share of its residents (final year) as large as it can, then the weighted stage
holds every authority at that share
(:func:`nhc_planner.optimize.capacitated_maxmin.lexicographic`). Each area is
assigned to the centre serving the largest share of its demand in the final year
(else its nearest open centre); each centre's load is what the solver routes to it
(never above its capacity) and demand no centre can serve is reported as unmet.

With ``capacity.constrain = false`` ("capacity not applied") it opens the centres
that bring the most need within the standard:
:func:`nhc_planner.optimize.phased.phased_coverage` (``docs/phasing.md``), each
area served by its nearest open centre and each centre given the smallest size
template that serves its catchment (kept within a capital budget by
:func:`nhc_planner.capacity.fit_sizes_to_budget`); a centre can then be planned
above its capacity, and the plan says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from nhc_planner._errors import InfeasibleError, SolverError
from nhc_planner.plan_tables import (
    PlanContext,
    assignments_table,
    centres_table,
    nearest_open,
    over_capacity_note,
    size_names,
)
from nhc_planner.planning import ModelResult, PlanTables, SolveReport, register_model

if TYPE_CHECKING:
    from nhc_planner.optimize import PhasedSolution
    from nhc_planner.optimize.capacitated_phased import CapacitatedPhasedResult
    from nhc_planner.planning import PlanInputs, Progress
    from nhc_planner.scenario import Scenario

#: Instances up to this many area x candidate x year cells run the capacitated
#: solver's MIP stages whatever the time limit (a few seconds at most).
MIP_MAX_CELLS = 200_000
#: From this ``solver.time_limit_s`` on, larger instances run the MIP stages too.
MIP_MIN_TIME_LIMIT_S = 120.0
#: A max-min share this close to its bound is reported as proven (the weighted stage
#: holds every group 1e-7 below the max-min stage's share).
_SHARE_TOL = 1e-6

__all__ = [
    "MIP_MAX_CELLS",
    "MIP_MIN_TIME_LIMIT_S",
    "CoverageArrays",
    "CoverageModel",
    "CoverageResult",
    "capacitated_options",
    "phased_options",
]


@dataclass(frozen=True, eq=False)
class CoverageArrays:
    """What the phased coverage model solves: the cost matrix, need and its options.

    Attributes
    ----------
    cost : numpy.ndarray
        ``(n_areas, n_sites)`` minutes, ``np.inf`` beyond the cutoff.
    ctx : PlanContext
        Per-area arrays and capacity settings.
    scenario : Scenario
        The settings (travel standard, solver limits, capacity, phasing).
    options : dict
        Keyword options of :func:`~nhc_planner.optimize.phased.phased_coverage`
        (:func:`phased_options`; coverage only, also used by the sensitivity run).
    capacity_options : dict or None
        Keyword options of
        :func:`~nhc_planner.optimize.capacitated_phased.capacitated_phased`
        (:func:`capacitated_options`) when ``capacity.constrain``; else None.
    la_names : dict
        Local authority code -> name (for the plan's words).
    """

    cost: np.ndarray
    ctx: PlanContext
    scenario: Scenario
    options: dict[str, Any]
    capacity_options: dict[str, Any] | None = None
    la_names: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class CoverageResult(ModelResult):
    """The phased coverage model's result.

    Attributes
    ----------
    load : numpy.ndarray
        Per site: weekly appointments it serves in the final year (0 where not
        open); with capacity applied, the solver's routing (never above capacity).
    capacity : numpy.ndarray
        Per site: weekly appointments of its size (NaN where not open).
    min_group_share : float or None
        With ``policy.objective = "maxmin"``: the worst local authority's share of
        its residents covered (capacity not applied) or served within capacity
        (capacity applied) in the final year; without capacity also when
        per-authority coverage was constrained. None otherwise.
    solution : PhasedSolution or CapacitatedPhasedResult
        The optimiser's own result (before kept sites are moved to year 1).
    unmet : numpy.ndarray
        Per area: weekly appointments no centre serves in the final year. With
        capacity applied, the solver's unmet demand; without, the demand of areas
        with no open centre within the standard (overloads are not counted).
    capacity_applied : bool
        True when every centre was kept within its capacity by the optimiser.
    min_group_share_bound : float or None
        With ``policy.objective = "maxmin"``: the proven upper bound on
        ``min_group_share`` over all plans (None when not asked or none was proven).
    """

    load: np.ndarray
    capacity: np.ndarray
    min_group_share: float | None
    solution: PhasedSolution | CapacitatedPhasedResult
    unmet: np.ndarray
    capacity_applied: bool = True
    min_group_share_bound: float | None = None

    def solver_summary(self) -> dict[str, Any]:
        """:meth:`ModelResult.solver_summary` with ``min_group_share`` (and its bound),
        capacity and unmet."""
        over = np.flatnonzero(self.load > self.capacity * (1 + 1e-9))
        util = np.where(
            self.capacity > 0, self.load / np.where(self.capacity > 0, self.capacity, 1), 0
        )
        return {
            **super().solver_summary(),
            "min_group_share": self.min_group_share,
            "min_group_share_bound": self.min_group_share_bound,
            "capacity_applied": bool(self.capacity_applied),
            "centres_over_capacity": int(over.size),
            "max_utilisation": float(np.nanmax(util, initial=0.0)),
            "unmet_weekly_appointments": float(self.unmet.sum()),
        }


def _equity_floor(ctx: PlanContext, s: Scenario) -> list[Any]:
    """``policy.equity_floor`` as a floor on the most deprived deciles' residents (covered
    without capacities, served with them); empty when the policy sets none."""
    from nhc_planner.optimize.phased import CoverageFloor

    if s.policy.equity_floor is None:
        return []
    k = s.need.most_deprived_deciles
    return [
        CoverageFloor(
            members=ctx.decile <= k,
            share=s.policy.equity_floor,
            name=f"IMD deciles 1-{k}" if k > 1 else "IMD decile 1",
            weights=ctx.population,
        )
    ]


def _openings(s: Scenario, n_keep: int) -> tuple[list[int] | None, float | None]:
    """New centres per year (kept sites use up year-1 places first), or a budget."""
    per_year = s.phasing.per_year()
    if per_year is None:
        return None, s.phasing.budget_per_year_gbp
    slots = list(per_year)
    left = n_keep
    for i in range(len(slots)):
        take = min(slots[i], left)
        slots[i] -= take
        left -= take
    return slots, None


def _fixed(ctx: PlanContext) -> np.ndarray:
    """Sites in the model from year 0: already open, or kept by the policy."""
    return np.flatnonzero(ctx.open_now | np.isin(np.arange(len(ctx.open_now)), ctx.keep))


def phased_options(ctx: PlanContext, s: Scenario) -> dict[str, Any]:
    """Keyword options of :func:`~nhc_planner.optimize.phased.phased_coverage` for ``s``.

    Coverage only (no capacities): the plan with ``capacity.constrain = false``
    and the sensitivity run's re-solves.
    """
    from nhc_planner.optimize.phased import SizeOption

    slots, budget = _openings(s, len(ctx.keep))
    floors = _equity_floor(ctx, s)
    kwargs: dict[str, Any] = {
        "periods": s.phasing.years,
        "new_per_period": slots,
        "budget_per_period": budget,
        "floors": floors,
        "objective": s.policy.objective,
        "fixed": _fixed(ctx),
        "excluded": np.flatnonzero(~ctx.open_now & ~ctx.allowed),
        "time_limit_s": s.solver.time_limit_s,
        "mip_gap": s.solver.gap_tolerance,
        "threads": s.solver.threads,
        "seed": s.solver.seed,
    }
    if s.policy.la_min_coverage is not None or s.policy.objective == "maxmin":
        kwargs.update(
            groups=ctx.la, group_floor=s.policy.la_min_coverage, group_weights=ctx.population
        )
    if budget is not None:
        # without capacities each new centre is costed at the middle size template
        middle = ctx.templates[len(ctx.templates) // 2]
        kwargs.update(
            sizes=[SizeOption(middle.name, capex_gbp=middle.capex_gbp)], site_capex=ctx.site_capex
        )
    return kwargs


def _fixed_capacity(ctx: PlanContext, fixed: np.ndarray) -> np.ndarray:
    """Weekly capacity of each fixed site: the largest size its room cap allows."""
    caps = np.asarray(ctx.capacities, dtype=float)
    allowed = ctx.allowed_sizes[fixed]
    return np.where(allowed, caps[np.newaxis, :], -np.inf).max(axis=1, initial=-np.inf)


def capacitated_options(ctx: PlanContext, s: Scenario) -> dict[str, Any]:
    """Keyword options of :func:`~nhc_planner.optimize.capacitated_phased.capacitated_phased`.

    The equity floor becomes a floor on the *served* share of the most deprived
    deciles' residents by the final year; ``policy.la_min_coverage`` one such
    floor per local authority. With ``policy.objective = "maxmin"`` the groups
    of the max-min objective are the local authorities, each area weighed by its
    population (as in :func:`phased_options`). Existing and kept centres are
    fixed, each with the capacity of the largest size its room cap allows. The solver's MIP stages
    run on small instances (at most :data:`MIP_MAX_CELLS` area x candidate x year
    cells) or when ``solver.time_limit_s >= MIP_MIN_TIME_LIMIT_S``, with up to 10
    rounds of link rows for the LP bound; otherwise the plan is the best
    capacity-aware greedy or LP-rounded plan with the bound of the LP with capacity
    rows only (no link rounds: they tighten the bound, not the plan; deterministic,
    about a second on the demo), and the message says how far from proven it is.
    """
    from nhc_planner.optimize.capacitated_phased import ServiceFloor
    from nhc_planner.optimize.phased import SizeOption

    slots, budget = _openings(s, len(ctx.keep))
    floors = _equity_floor(ctx, s)
    if s.policy.la_min_coverage is not None:
        for la in sorted(set(ctx.la.tolist())):
            floors.append(
                ServiceFloor(
                    members=ctx.la == la,
                    share=s.policy.la_min_coverage,
                    name=f"local authority {la}",
                    weights=ctx.population,
                )
            )
    fixed = _fixed(ctx)
    cells = len(ctx.need) * int(ctx.allowed.sum()) * s.phasing.years
    run_mip = cells <= MIP_MAX_CELLS or s.solver.time_limit_s >= MIP_MIN_TIME_LIMIT_S
    maxmin: dict[str, Any] = {}
    if s.policy.objective == "maxmin":
        maxmin = {"objective": "maxmin", "groups": ctx.la, "group_weights": ctx.population}
    return {
        "mip_nodes": 2_000 if run_mip else 0,
        "max_cut_rounds": 10 if run_mip else 0,
        "sizes": [
            SizeOption(t.name, capacity=c, capex_gbp=t.capex_gbp)
            for t, c in zip(ctx.templates, ctx.capacities, strict=True)
        ],
        "periods": s.phasing.years,
        "new_per_period": slots,
        "budget_per_period": budget,
        "site_capex": ctx.site_capex,
        "allowed_sizes": ctx.allowed_sizes,
        "fixed": fixed,
        "fixed_capacity": _fixed_capacity(ctx, fixed),
        "excluded": np.flatnonzero(~ctx.open_now & ~ctx.allowed),
        "floors": floors,
        "mip_gap": s.solver.gap_tolerance,
        "time_limit_s": s.solver.time_limit_s,
        "threads": s.solver.threads,
        "seed": s.solver.seed,
        **maxmin,
    }


def _plain_words(sol: PhasedSolution, s: Scenario, *, n_new: int) -> str:
    """What the coverage-only solve proved, for a planner."""
    std = f"{s.travel.standard_min:g} minutes' {s.travel.mode}"
    if sol.status == "optimal":
        return (
            f"Optimal: the solver proved that no other choice and timing of {n_new} new "
            f"centre(s) covers more need within {std} (solved in {sol.solve_seconds:.1f} s)."
        )
    if sol.gap <= s.solver.gap_tolerance + 1e-12:
        return (
            f"Near-optimal: the solver proved that this plan is within {sol.gap:.2%} of the best "
            f"possible choice and timing of {n_new} new centre(s) for need within {std}, inside "
            f"the accepted solver.gap_tolerance of {s.solver.gap_tolerance:.2%} "
            f"(solved in {sol.solve_seconds:.1f} s)."
        )
    if not np.isfinite(sol.gap):
        return (
            f"Not proven: the solver's safety stop (solver.time_limit_s = "
            f"{s.solver.time_limit_s:g} s) ended the search before it proved any bound on the "
            f"best possible plan ({sol.solve_seconds:.1f} s used); this is the best plan it "
            "found. Raise solver.time_limit_s to prove how good it is."
        )
    return (
        f"Good but not proven best: the solver reached its {s.solver.time_limit_s:g} s time "
        f"limit; this plan is within {sol.gap:.1%} of the best possible. Raise "
        "solver.time_limit_s to close the gap."
    )


def _capacity_words(
    sol: CapacitatedPhasedResult, s: Scenario, *, n_new: int, worst: str = ""
) -> str:
    """What the capacity-true solve proved, for a planner (never more than it proved).

    ``worst``: the worst-served local authority of a max-min plan (for its words).
    """
    std = f"{s.travel.standard_min:g} minutes' {s.travel.mode}"
    what = (
        f"choice, timing and size of {n_new} new centre(s) serves more need within {std} "
        "with no centre above its capacity"
    )
    if s.policy.objective == "maxmin":
        text = _maxmin_words(sol, s, std, what, worst)
    elif sol.status == "optimal":
        text = f"Optimal: the solver proved that no other {what} (solved in {sol.seconds:.1f} s)."
    elif sol.gap <= s.solver.gap_tolerance + 1e-12:
        text = (
            f"Near-optimal: the solver proved that no other {what} by more than {sol.gap:.2%} "
            f"(inside solver.gap_tolerance of {s.solver.gap_tolerance:.2%}; solved in "
            f"{sol.seconds:.1f} s)."
        )
    elif not np.isfinite(sol.gap):
        text = (
            "Not proven: every centre is within its capacity, but the solver proved no bound "
            f"on the best possible plan before its safety stop (solver.time_limit_s = "
            f"{s.solver.time_limit_s:g} s, {sol.seconds:.1f} s used); raise solver.time_limit_s."
        )
    else:
        hint = (
            f" Raise solver.time_limit_s to {MIP_MIN_TIME_LIMIT_S:g} s or more to search further."
            if s.solver.time_limit_s < MIP_MIN_TIME_LIMIT_S
            else ""
        )
        text = (
            f"Good but not proven best: every centre is within its capacity, but the solver "
            f"only proved this plan within {sol.gap:.1%} of the best possible (solved in "
            f"{sol.seconds:.1f} s).{hint}"
        )
    if sol.allowed_unused:
        text += (
            f" {sol.allowed_unused} allowed opening(s) left unused: no further site would "
            "serve more need or relieve a centre."
        )
    return text


def _maxmin_words(
    sol: CapacitatedPhasedResult, s: Scenario, std: str, what: str, worst: str
) -> str:
    """A capacity-true max-min plan's words: the worst authority's served share and its
    proven bound, then the weighted stage's gap (with every authority held at that share)."""
    share, bound = float(sol.min_group_share), float(sol.min_group_share_bound)
    # the weighted stage holds each share 1e-7 below the max-min stage's (a tolerance)
    proven = share >= bound - _SHARE_TOL
    a, b = f"{share:.1%}", f"{bound:.1%}"
    if a == b and not proven:
        a, b = f"{share:.2%}", f"{bound:.2%}"
    who = f", {worst}," if worst else ""
    text = (
        f"Max-min: the worst-served local authority{who} has {a} of its residents served "
        f"within {std} and within capacity by year {s.phasing.years} (each area counted at "
        "the share of its demand served)"
    )
    if proven:
        text += "; no plan can raise it (proven)."
    elif np.isfinite(bound):
        text += f"; no plan can raise it above {b} (proven)."
    else:
        text += "; no bound on it was proven."
    text += " With every local authority held at that share or more, "
    gap = float(sol.gap)
    if gap <= 1e-7:
        text += f"the solver proved that no other {what}"
    elif gap <= s.solver.gap_tolerance + 1e-12:
        text += (
            f"the solver proved that no other {what} by more than {gap:.2%} (inside "
            f"solver.gap_tolerance of {s.solver.gap_tolerance:.2%})"
        )
    elif not np.isfinite(gap):
        text += "the solver proved no bound on the need served before its safety stop"
    else:
        text += f"the solver only proved this plan within {gap:.1%} of the best possible"
    text += f" (solved in {sol.seconds:.1f} s)."
    open_gap = bool(np.isfinite(gap)) and gap > s.solver.gap_tolerance + 1e-12
    if (open_gap or not proven) and s.solver.time_limit_s < MIP_MIN_TIME_LIMIT_S:
        text += (
            f" Raise solver.time_limit_s to {MIP_MIN_TIME_LIMIT_S:g} s or more to search further."
        )
    return text


def _worst_group(labels: np.ndarray, weights: np.ndarray, served: np.ndarray) -> tuple[str, float]:
    """The group with the smallest weighted share ``served`` (per area) and that share.

    Ties go to the first label in sorted order; groups without weight are skipped.

    Examples
    --------
    >>> _worst_group(np.array(["a", "a", "b"]), np.ones(3), np.array([1.0, 0.0, 0.4]))
    ('b', 0.4)
    """
    names, codes = np.unique(labels, return_inverse=True)
    total = np.bincount(codes, weights=weights, minlength=names.size)
    got = np.bincount(codes, weights=weights * served, minlength=names.size)
    share = np.where(total > 0, got / np.where(total > 0, total, 1.0), np.inf)
    if not np.isfinite(share).any():
        return "", float("nan")
    k = int(np.argmin(share))  # the first in sorted order on ties
    return str(names[k]), float(share[k])


def _la_names(areas: pd.DataFrame) -> dict[str, str]:
    """Local authority code -> name, from the areas' ``la_code`` / ``la_name`` columns."""
    pairs = areas[["la_code", "la_name"]].astype(str).drop_duplicates("la_code")
    return dict(zip(pairs["la_code"], pairs["la_name"], strict=True))


def _unmet_words(unmet: float, demand: float) -> str:
    share = unmet / demand if demand > 0 else 0.0
    if unmet <= 0.5:
        return " All weekly demand within reach is served within capacity in the final year."
    return (
        f" {unmet:,.0f} weekly appointments ({share:.1%} of demand) cannot be served within "
        "the standard and the centres' capacity in the final year (reported as unmet)."
    )


def _solve_phased(built: CoverageArrays) -> PhasedSolution:
    """Run the coverage optimiser; raise when the policy cannot be met or no plan was found."""
    from nhc_planner.optimize.phased import phased_coverage

    s = built.scenario
    ctx = built.ctx
    weights = ctx.need if ctx.need_by_year is None else ctx.need_by_year
    sol = phased_coverage(built.cost, weights, s.travel.standard_min, **built.options)
    if sol.status == "infeasible":
        why = sol.explanation or "no choice of sites meets the policy"
        msg = f"the policy cannot be met: {why}"
        raise InfeasibleError(msg)
    if not sol.has_solution:
        msg = (
            f"the solver found no plan within solver.time_limit_s = {s.solver.time_limit_s:g} s "
            f"({sol.message or sol.status}); raise the time limit or simplify "
            "the policy"
        )
        raise SolverError(msg)
    return sol


def _solve_capacitated(built: CoverageArrays) -> CapacitatedPhasedResult:
    """Run the capacity-true optimiser; raise when no plan meets the policy or none was found."""
    from nhc_planner.optimize.capacitated_phased import capacitated_phased

    s, ctx = built.scenario, built.ctx
    assert built.capacity_options is not None
    weights = ctx.need if ctx.need_by_year is None else ctx.need_by_year
    sol = capacitated_phased(
        built.cost, weights, ctx.demand, s.travel.standard_min, **built.capacity_options
    )
    if sol.status == "infeasible":
        msg = (
            "the policy cannot be met within the centres' capacity: "
            f"{sol.message or 'no plan meets the floors'}"
        )
        raise InfeasibleError(msg)
    if not sol.has_plan:
        msg = (
            f"the capacity-true solver found no plan within solver.time_limit_s = "
            f"{s.solver.time_limit_s:g} s ({sol.message or sol.status}); raise the time limit, "
            "lower a floor or set capacity.constrain = false (capacity then not applied)"
        )
        raise SolverError(msg)
    return sol


def _capacitated_result(built: CoverageArrays, sol: CapacitatedPhasedResult) -> CoverageResult:
    """The plan of a capacity-true solve: solver's sites, sizes, routing and unmet demand."""
    from nhc_planner.plan_tables import centre_sizes

    s, ctx, cost = built.scenario, built.ctx, built.cost
    open_period = np.asarray(sol.open_period, dtype=np.int64).copy()
    open_period[ctx.keep] = 1  # kept sites are fixed in the model and open in year 1
    nearest, _ = nearest_open(cost, open_period >= 0)
    solver_idx = np.asarray(sol.assignment, dtype=np.int64)
    assignment = np.where(solver_idx >= 0, solver_idx, nearest)
    load = np.asarray(sol.load[-1], dtype=float) if sol.load.size else np.zeros(cost.shape[1])
    size = np.full(cost.shape[1], "", dtype=object)
    chosen = sol.size_index >= 0
    size[chosen] = [sol.size_names[k] for k in sol.size_index[chosen]]
    draft = ModelResult(open_period, assignment, size, _report_cap(sol, s, 0, 0.0, 1.0))
    templates = centre_sizes(ctx, draft, load)
    capacity = ctx.capacities_of(templates)
    unmet = np.asarray(sol.unmet[:, -1], dtype=float) if sol.unmet.size else ctx.demand.copy()
    n_new = int((open_period >= 1).sum())
    worst = ""
    share = bound = None
    if s.policy.objective == "maxmin":
        worst, _ = _worst_group(ctx.la, ctx.population, sol.served_share[:, -1])
        name = built.la_names.get(worst, "")
        worst = f"{name} ({worst})" if name and name != worst else worst
        share = float(sol.min_group_share)
        bound = float(sol.min_group_share_bound)
    report = _report_cap(sol, s, n_new, float(unmet.sum()), float(ctx.demand.sum()), worst)
    return CoverageResult(
        open_period=open_period,
        assignment=assignment,
        size=size_names(templates),
        solve=report,
        load=load,
        capacity=capacity,
        min_group_share=share,
        solution=sol,
        unmet=unmet,
        capacity_applied=True,
        min_group_share_bound=bound if bound is not None and np.isfinite(bound) else None,
    )


def _coverage_result(built: CoverageArrays, sol: PhasedSolution) -> CoverageResult:
    """The plan of a coverage-only solve ("capacity not applied")."""
    from nhc_planner.capacity import fit_sizes_to_budget
    from nhc_planner.plan_tables import centre_sizes, site_loads

    s, ctx, cost = built.scenario, built.ctx, built.cost
    open_period = np.asarray(sol.open_period, dtype=np.int64).copy()
    open_period[ctx.keep] = 1  # kept sites are fixed in the model and open in year 1
    assignment, _ = nearest_open(cost, open_period >= 0)
    load = site_loads(ctx, assignment, cost.shape[1])
    draft = ModelResult(open_period, assignment, None, _report(sol, s, 0))
    templates = centre_sizes(ctx, draft, load)
    budget = s.phasing.budget_per_year_gbp if s.phasing.per_year() is None else None
    if budget is not None:
        fit_sizes_to_budget(
            templates,
            open_period,
            load,
            templates=ctx.templates,
            capacities=ctx.capacities,
            allowed_sizes=ctx.allowed_sizes,
            site_capex=ctx.site_capex,
            budget=float(budget),
        )
    capacity = ctx.capacities_of(templates)
    within = (cost <= s.travel.standard_min) & (open_period >= 0)[np.newaxis, :]
    unmet = np.where(within.any(axis=1), 0.0, ctx.demand)
    report = _report(sol, s, int((open_period >= 1).sum()))
    over = load > capacity * (1 + 1e-9)
    note = over_capacity_note(int(over.sum()), load, capacity)
    report = SolveReport(**{**report.__dict__, "message": f"{report.message} {note}"})
    share = sol.min_group_share
    share_bound = sol.min_group_share_bound
    return CoverageResult(
        open_period=open_period,
        assignment=assignment,
        size=size_names(templates),
        solve=report,
        load=load,
        capacity=capacity,
        min_group_share=None if share is None else float(share),
        solution=sol,
        unmet=unmet,
        capacity_applied=False,
        min_group_share_bound=None if share_bound is None else float(share_bound),
    )


@register_model
class CoverageModel:
    """The phased coverage model: the centres that serve the most need within the standard.

    Formulation: with ``capacity.constrain`` (default),
    :func:`nhc_planner.optimize.capacitated_phased.capacitated_phased` (maximise
    the need *served* within ``travel.standard_min``, summed over the years, with
    no centre above its capacity, subject to openings per year or a capital
    budget and the policy's floors on served need); without,
    :func:`nhc_planner.optimize.phased.phased_coverage` (maximise the need
    *covered*, capacity not applied).
    """

    name = "coverage"
    label = "Phased coverage: open the centres that serve the most need within the standard"

    def build(self, inputs: PlanInputs) -> CoverageArrays:
        """The cost matrix, the context and the optimiser's options."""
        ctx = PlanContext.from_inputs(inputs)
        s = inputs.scenario
        return CoverageArrays(
            cost=inputs.cost,
            ctx=ctx,
            scenario=s,
            options=phased_options(ctx, s),
            capacity_options=capacitated_options(ctx, s) if s.capacity.constrain else None,
            la_names=_la_names(inputs.areas),
        )

    def solve(self, built: CoverageArrays) -> CoverageResult:
        """Solve, then assign each area and size each centre as delivered."""
        if built.capacity_options is not None:
            return _capacitated_result(built, _solve_capacitated(built))
        return _coverage_result(built, _solve_phased(built))

    def tables(self, inputs: PlanInputs, built: CoverageArrays, result: ModelResult) -> PlanTables:
        """Assignments and centres through the shared helpers."""
        load = getattr(result, "load", None)
        unmet = getattr(result, "unmet", None)
        applied = bool(getattr(result, "capacity_applied", True))
        sizes = None
        if isinstance(result, CoverageResult) and result.size is not None:
            sizes = [built.ctx.template(str(n)) if n else None for n in result.size.tolist()]
        return PlanTables(
            centres=centres_table(
                inputs, built.ctx, result, sizes, load=load, capacity_applied=applied
            ),
            assignments=assignments_table(
                inputs, built.ctx, result.assignment, result.open_period, unmet=unmet
            ),
        )

    def stability(
        self, inputs: PlanInputs, built: CoverageArrays, progress: Progress
    ) -> pd.DataFrame:
        """Share of perturbed re-solves choosing each site (see ``sensitivity.stability``).

        Runs: the time standard shifted by ``-/+ solver.sensitivity_shift_min``
        with the base need, then ``solver.sensitivity_runs`` runs with need
        multiplied by mean-one log-normal noise of ``solver.sensitivity_noise``.
        The re-solves are coverage-only (capacity not applied), whatever
        ``capacity.constrain``: they measure how robust the choice of places is.
        """
        from nhc_planner.sensitivity import default_runs, stability

        s, ctx = built.scenario, built.ctx
        progress("sensitivity", 0.0)
        shift = s.solver.sensitivity_shift_min
        runs = default_runs(
            n_weight_runs=s.solver.sensitivity_runs,
            weight_noise=s.solver.sensitivity_noise,
            time_shifts=(-shift, shift) if shift > 0 else (),
            seed=s.solver.seed,
        )
        kwargs = dict(built.options)
        kwargs["time_limit_s"] = max(s.solver.time_limit_s / 4, 1.0)
        kwargs["explain_infeasible"] = False
        result = stability(
            built.cost,
            ctx.need,
            s.travel.standard_min,
            model_kwargs=kwargs,
            runs=runs,
            max_workers=s.solver.threads,
            site_ids=list(inputs.sites["site_id"].astype(str)),
            progress=lambda done, total: progress("sensitivity", done / total),
        )
        sites = result.sites
        sites = sites[(sites["share_chosen"] > 0) & ~ctx.open_now[sites["site_index"].to_numpy()]]
        frame = pd.DataFrame(
            {
                "site_id": sites["site_id"].astype(str).to_numpy(),
                "share_chosen": sites["share_chosen"].to_numpy(float),
                "mean_phase": sites["mean_phase"].to_numpy(float),
            }
        )
        return frame.sort_values(["share_chosen", "site_id"], ascending=[False, True]).reset_index(
            drop=True
        )


def _report(sol: PhasedSolution, s: Scenario, n_new: int) -> SolveReport:
    return SolveReport(
        status=sol.status,
        objective=float(sol.objective),
        bound=float(sol.bound),
        gap=float(sol.gap),
        seconds=float(sol.solve_seconds),
        message=_plain_words(sol, s, n_new=n_new),
        detail=sol.message,
        backend=sol.backend,
    )


def _report_cap(
    sol: CapacitatedPhasedResult,
    s: Scenario,
    n_new: int,
    unmet: float,
    demand: float,
    worst: str = "",
) -> SolveReport:
    return SolveReport(
        status=sol.status,
        objective=float(sol.objective),
        bound=float(sol.bound),
        gap=float(sol.gap),
        seconds=float(sol.seconds),
        message=_capacity_words(sol, s, n_new=n_new, worst=worst) + _unmet_words(unmet, demand),
        detail=sol.message,
        backend="highs",
    )
