"""The phased coverage planning model (``policy.model = "coverage"``).

It opens, year by year, the centres that bring the most need within the travel
standard: :func:`nhc_planner.optimize.phased.phased_coverage` (formulation in
its docstring and ``docs/phasing.md``) with the scenario's kept and excluded
sites, openings per year or capital budget, equity floor, per-authority
minimum, objective and, with ``capacity.constrain``, sizes and capacities.
Each area is served by its nearest open centre within the cutoff (the
solver's assignment when capacities are constrained); each centre gets the
solver's size, or else the smallest size template that serves its catchment
(kept within a capital budget by :func:`nhc_planner.capacity.fit_sizes_to_budget`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from nhc_planner._errors import InfeasibleError, SolverError
from nhc_planner.plan_tables import PlanContext, assignments_table, centres_table, nearest_open
from nhc_planner.planning import ModelResult, PlanTables, SolveReport, register_model

if TYPE_CHECKING:
    from nhc_planner.optimize import PhasedSolution
    from nhc_planner.planning import PlanInputs, Progress
    from nhc_planner.scenario import Scenario

__all__ = ["CoverageArrays", "CoverageModel", "CoverageResult", "phased_options"]


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
        (:func:`phased_options`).
    """

    cost: np.ndarray
    ctx: PlanContext
    scenario: Scenario
    options: dict[str, Any]


@dataclass(frozen=True, eq=False)
class CoverageResult(ModelResult):
    """The phased coverage model's result.

    Attributes
    ----------
    load : numpy.ndarray
        Per site: weekly appointments of its catchment (0 where not open).
    capacity : numpy.ndarray
        Per site: weekly appointments of its size (NaN where not open).
    min_group_share : float or None
        Worst local authority's covered share, when per-authority coverage
        was constrained or maximised.
    solution : PhasedSolution
        The optimiser's own result (before kept sites are moved to year 1).
    """

    load: np.ndarray
    capacity: np.ndarray
    min_group_share: float | None
    solution: PhasedSolution

    def solver_summary(self) -> dict[str, Any]:
        """:meth:`ModelResult.solver_summary` with ``min_group_share``."""
        return {**super().solver_summary(), "min_group_share": self.min_group_share}


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


def phased_options(ctx: PlanContext, s: Scenario) -> dict[str, Any]:
    """Keyword options of :func:`~nhc_planner.optimize.phased.phased_coverage` for ``s``."""
    from nhc_planner.optimize.phased import CoverageFloor, SizeOption

    slots, budget = _openings(s, len(ctx.keep))
    fixed = np.flatnonzero(ctx.open_now | np.isin(np.arange(len(ctx.open_now)), ctx.keep))
    floors = []
    if s.policy.equity_floor is not None:
        k = s.need.most_deprived_deciles
        floors.append(
            CoverageFloor(
                members=ctx.decile <= k,
                share=s.policy.equity_floor,
                name=f"IMD deciles 1-{k}" if k > 1 else "IMD decile 1",
                weights=ctx.population,
            )
        )
    kwargs: dict[str, Any] = {
        "periods": s.phasing.years,
        "new_per_period": slots,
        "budget_per_period": budget,
        "floors": floors,
        "objective": s.policy.objective,
        "fixed": fixed,
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
    if s.capacity.constrain:
        kwargs.update(
            sizes=[
                SizeOption(t.name, capacity=c, capex_gbp=t.capex_gbp)
                for t, c in zip(ctx.templates, ctx.capacities, strict=True)
            ],
            site_capex=ctx.site_capex,
            allowed_sizes=ctx.allowed_sizes,
            demand=ctx.demand,
        )
    elif budget is not None:
        # without capacities each new centre is costed at the middle size template
        middle = ctx.templates[len(ctx.templates) // 2]
        kwargs.update(
            sizes=[SizeOption(middle.name, capex_gbp=middle.capex_gbp)], site_capex=ctx.site_capex
        )
    return kwargs


def _plain_words(sol: PhasedSolution, s: Scenario, *, n_new: int) -> str:
    """What the solve proved, for a planner."""
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
    return (
        f"Good but not proven best: the solver reached its {s.solver.time_limit_s:g} s time "
        f"limit; this plan is within {sol.gap:.1%} of the best possible. Raise "
        "solver.time_limit_s to close the gap."
    )


def _solve_phased(built: CoverageArrays) -> PhasedSolution:
    """Run the optimiser; raise when the policy cannot be met or no plan was found."""
    from nhc_planner.optimize.phased import phased_coverage

    s = built.scenario
    sol = phased_coverage(built.cost, built.ctx.need, s.travel.standard_min, **built.options)
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


@register_model
class CoverageModel:
    """The phased coverage model: the centres that bring the most need within the standard.

    Formulation: :func:`nhc_planner.optimize.phased.phased_coverage` (maximise
    the need within ``travel.standard_min`` of an open centre, summed over the
    years, subject to openings per year or a capital budget, the policy's
    floors and, optionally, sizes and capacities).
    """

    name = "coverage"
    label = "Phased coverage: open the centres that bring the most need within the standard"

    def build(self, inputs: PlanInputs) -> CoverageArrays:
        """The cost matrix, the context and the optimiser's options."""
        ctx = PlanContext.from_inputs(inputs)
        return CoverageArrays(
            cost=inputs.cost,
            ctx=ctx,
            scenario=inputs.scenario,
            options=phased_options(ctx, inputs.scenario),
        )

    def solve(self, built: CoverageArrays) -> CoverageResult:
        """Solve, then assign each area and size each centre as delivered."""
        from nhc_planner.capacity import fit_sizes_to_budget
        from nhc_planner.plan_tables import centre_sizes, site_loads

        s, ctx, cost = built.scenario, built.ctx, built.cost
        sol = _solve_phased(built)
        open_period = np.asarray(sol.open_period, dtype=np.int64).copy()
        open_period[ctx.keep] = 1  # kept sites are fixed in the model and open in year 1
        assignment, _ = nearest_open(cost, open_period >= 0)
        if s.capacity.constrain and sol.fractions is not None:
            solver_idx = np.asarray(sol.assignment)
            assignment = np.where(solver_idx >= 0, solver_idx, assignment)
        load = site_loads(ctx, assignment, cost.shape[1])
        solver_sizes = sol.size if s.capacity.constrain else None
        draft = ModelResult(open_period, assignment, solver_sizes, _report(sol, s, 0))
        templates = centre_sizes(ctx, draft, load)
        budget = s.phasing.budget_per_year_gbp if s.phasing.per_year() is None else None
        if budget is not None and not s.capacity.constrain:
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
        capacity = np.array(
            [ctx.capacity_of(t) if t is not None else np.nan for t in templates], dtype=float
        )
        share = sol.min_group_share
        return CoverageResult(
            open_period=open_period,
            assignment=assignment,
            size=np.array([t.name if t is not None else "" for t in templates], dtype=object),
            solve=_report(sol, s, int((open_period >= 1).sum())),
            load=load,
            capacity=capacity,
            min_group_share=None if share is None else float(share),
            solution=sol,
        )

    def tables(self, inputs: PlanInputs, built: CoverageArrays, result: ModelResult) -> PlanTables:
        """Assignments and centres through the shared helpers."""
        return PlanTables(
            centres=centres_table(inputs, built.ctx, result),
            assignments=assignments_table(inputs, built.ctx, result.assignment, result.open_period),
        )

    def stability(
        self, inputs: PlanInputs, built: CoverageArrays, progress: Progress
    ) -> pd.DataFrame:
        """Share of perturbed re-solves choosing each site (see ``sensitivity.stability``).

        Runs: the time standard shifted by ``-/+ solver.sensitivity_shift_min``
        with the base need, then ``solver.sensitivity_runs`` runs with need
        multiplied by mean-one log-normal noise of ``solver.sensitivity_noise``.
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
