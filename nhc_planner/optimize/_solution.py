"""The result object every optimisation model returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

__all__ = ["Solution", "Status"]

Status = Literal["optimal", "feasible", "infeasible", "time_limit_no_solution"]


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
    extras
        Model-specific results (e.g. ``open_period`` for phased models,
        ``size`` per open site, ``explanation`` for infeasibility).
    """

    open: np.ndarray
    assignment: np.ndarray
    objective: float
    bound: float
    gap: float
    status: Status
    solve_seconds: float
    fractions: np.ndarray | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def is_optimal(self) -> bool:
        """True when the solver proved optimality."""
        return self.status == "optimal"

    @property
    def has_solution(self) -> bool:
        """True when a feasible solution was found."""
        return self.status in ("optimal", "feasible")
