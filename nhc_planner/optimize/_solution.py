"""The result objects the optimisation models return.

Every model returns a :class:`Solution` (the fields all models share) or a
subclass that carries the model's own results as typed fields:
:class:`PMedianSolution`, :class:`CoverageSolution`,
:class:`CapacitatedSolution` and :class:`PhasedSolution`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

__all__ = [
    "CapacitatedSolution",
    "CoverageSolution",
    "PMedianSolution",
    "PhasedSolution",
    "Solution",
    "Status",
]

Status = Literal["optimal", "feasible", "infeasible", "time_limit_no_solution"]


def _empty_int() -> np.ndarray:
    return np.zeros(0, dtype=np.int64)


def _empty_float() -> np.ndarray:
    return np.zeros(0)


@dataclass(frozen=True)
class Solution:
    """Outcome of one solve.

    Attributes
    ----------
    open
        Sorted indices of open sites.
    assignment
        Per demand point, the index of its assigned site or -1 (not served /
        not covered). Models that split demand also give ``fractions``.
    objective
        Objective value of the returned solution (NaN if none).
    bound
        Best proven bound on the optimum (same sense as the objective).
    gap
        Relative gap ``|objective - bound| / max(|objective|, 1e-9)``; 0 when optimal.
    status
        ``"optimal"``, ``"feasible"`` (time limit hit with a solution; see ``gap``),
        ``"infeasible"`` or ``"time_limit_no_solution"``.
    solve_seconds
        Wall-clock time spent in the solver.
    fractions
        Optional ``(n_demand, n_sites)`` matrix of demand shares (split assignment).
    message
        The solver's own note on how the solve ended (``""`` if none).
    backend
        The MIP backend that ran (``""`` if none ran).
    explanation
        Why the model is infeasible, in plain words (``""`` unless ``status`` is
        ``"infeasible"``).
    """

    open: np.ndarray
    assignment: np.ndarray
    objective: float
    bound: float
    gap: float
    status: Status
    solve_seconds: float
    fractions: np.ndarray | None = None
    message: str = ""
    backend: str = ""
    explanation: str = ""

    @property
    def is_optimal(self) -> bool:
        """True when the solver proved optimality."""
        return self.status == "optimal"

    @property
    def has_solution(self) -> bool:
        """True when a feasible solution was found."""
        return self.status in ("optimal", "feasible")


@dataclass(frozen=True)
class PMedianSolution(Solution):
    """:func:`~nhc_planner.optimize.p_median` result.

    Attributes
    ----------
    n_rows, n_candidates
        Distinct demand rows and candidate sites left after preprocessing.
    n_forced_open
        Sites the Lagrangian reduction proved open.
    heuristic_cost, lagrangian_bound
        Cost of the best heuristic solution and the Lagrangian lower bound.
    n_levels
        Distinct cost levels in the MIP (None when the heuristic was proven optimal).
    tree_nodes
        Nodes of the Lagrangian branch and bound run before the MIP (0 when none ran).
    unreachable_rows
        Demand points no allowed site reaches (infeasible).
    """

    n_rows: int = 0
    n_candidates: int = 0
    n_forced_open: int = 0
    heuristic_cost: float = float("nan")
    lagrangian_bound: float = float("nan")
    n_levels: int | None = None
    tree_nodes: int = 0
    unreachable_rows: np.ndarray = field(default_factory=_empty_int)


@dataclass(frozen=True)
class CoverageSolution(Solution):
    """:func:`~nhc_planner.optimize.max_coverage` / :func:`~nhc_planner.optimize.set_cover` result.

    Attributes
    ----------
    n_rows, n_candidates
        Distinct demand rows and candidate sites left after preprocessing.
    covered
        Boolean per demand point: within the standard of an open site.
    covered_share
        Share of the weight covered.
    padded
        Sites added to reach exactly ``p`` open sites (:func:`max_coverage`).
    shortcut
        ``"set_cover"`` when a small set cover proved the optimum, else ``""``.
    uncoverable_rows
        Demand points no allowed site covers (infeasible :func:`set_cover`).
    """

    n_rows: int = 0
    n_candidates: int = 0
    covered: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    covered_share: float = float("nan")
    padded: np.ndarray = field(default_factory=_empty_int)
    shortcut: str = ""
    uncoverable_rows: np.ndarray = field(default_factory=_empty_int)


@dataclass(frozen=True)
class CapacitatedSolution(Solution):
    """:func:`~nhc_planner.optimize.capacitated_location` result.

    Attributes
    ----------
    load
        Demand served per site.
    utilisation
        ``load / capacity`` per open site (NaN where closed).
    opening_cost, allocation_cost
        The two parts of the objective.
    unserved_rows
        Demand points no allowed site can serve (infeasible).
    """

    load: np.ndarray = field(default_factory=_empty_float)
    utilisation: np.ndarray = field(default_factory=_empty_float)
    opening_cost: float = float("nan")
    allocation_cost: float = float("nan")
    unserved_rows: np.ndarray = field(default_factory=_empty_int)


@dataclass(frozen=True)
class PhasedSolution(Solution):
    """:func:`~nhc_planner.optimize.phased_coverage` result.

    Attributes
    ----------
    open_period
        Per site: ``0`` fixed (already open), ``1..T`` the period it opens, ``-1`` never.
    size
        Per site: size name, ``"existing"`` (fixed sites) or ``""``.
    size_index
        Per site: index into ``sizes`` (``-1`` when not a chosen size).
    sizes
        The size options.
    point_coverage
        ``(n_demand, T+1)`` covered (or, with capacities, served) share by
        period; period 0 = fixed sites only.
    covered_period
        Per demand point: first period with share >= 0.5, ``-1`` never.
    coverage_by_period, coverage_share_by_period
        Weight covered (and its share of the total), ``T+1`` values.
    capacity, load
        Per site: weekly capacity of its size, and weekly appointments served
        (``load`` only with ``demand``; else None).
    capex_site, capex_by_period, opened_by_period
        Capital per site, per period, and new sites per period.
    group_coverage
        ``group, total_weight, share_0..share_T`` per group, or None.
    floors
        ``name, period, required, achieved`` per equity floor.
    period_weights
        Weight of each period in the objective.
    preprocessing
        Model size after preprocessing (``demand_points, sites,
        candidates_in_model, rows_in_model``).
    stages
        Per-period bounds, pooled and LP solves (or the capacity fallback's note).
    min_group_share, min_group_share_bound
        With ``objective="maxmin"``: the smallest group's covered share and
        its proven bound; else None.
    """

    open_period: np.ndarray = field(default_factory=_empty_int)
    size: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=object))
    size_index: np.ndarray = field(default_factory=_empty_int)
    sizes: tuple[Any, ...] = ()
    point_coverage: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    covered_period: np.ndarray = field(default_factory=_empty_int)
    coverage_by_period: np.ndarray = field(default_factory=_empty_float)
    coverage_share_by_period: np.ndarray = field(default_factory=_empty_float)
    capacity: np.ndarray = field(default_factory=_empty_float)
    load: np.ndarray | None = None
    capex_site: np.ndarray = field(default_factory=_empty_float)
    capex_by_period: np.ndarray = field(default_factory=_empty_float)
    opened_by_period: np.ndarray = field(default_factory=_empty_int)
    group_coverage: pd.DataFrame | None = None
    floors: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["name", "period", "required", "achieved"])
    )
    period_weights: np.ndarray = field(default_factory=_empty_float)
    preprocessing: dict[str, int] = field(default_factory=dict)
    stages: dict[str, Any] = field(default_factory=dict)
    min_group_share: float | None = None
    min_group_share_bound: float | None = None
