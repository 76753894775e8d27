"""Array-level OR-Tools facility-location models.

Every model takes NumPy arrays (demand points x candidate sites, ``np.inf`` =
unreachable) and returns a :class:`Solution` subclass whose typed fields hold
the model's own results (:class:`PMedianSolution`, :class:`CoverageSolution`,
:class:`CapacitatedSolution`, :class:`PhasedSolution`). See ``docs/optimiser.md``.
:func:`~nhc_planner.optimize.curve.coverage_curve` (greedy coverage against the
number of centres) is in :mod:`nhc_planner.optimize.curve`.

- :func:`p_median`: minimise weighted cost with ``p`` open sites.
- :func:`max_coverage`: maximal covering location problem (MCLP).
- :func:`set_cover`: fewest sites covering every demand point (or a share of the weight).
- :func:`capacitated_location`: capacitated facility location (split or single source).
- :func:`phased_coverage`: the multi-period (phased) planning model behind ``plan()``,
  with sizes, capacities, budgets, equity floors and a max-min variant.
"""

from nhc_planner.optimize._solution import (
    CapacitatedSolution,
    CoverageSolution,
    PhasedSolution,
    PMedianSolution,
    Solution,
    Status,
)
from nhc_planner.optimize.capacitated import capacitated_location
from nhc_planner.optimize.coverage import max_coverage, set_cover
from nhc_planner.optimize.p_median import p_median
from nhc_planner.optimize.phased import (
    DEFAULT_PHASED_TIME_LIMIT_S,
    CoverageFloor,
    PhasedSettings,
    SizeOption,
    discount_weights,
    phased_coverage,
)

__all__ = [
    "DEFAULT_PHASED_TIME_LIMIT_S",
    "CapacitatedSolution",
    "CoverageFloor",
    "CoverageSolution",
    "PMedianSolution",
    "PhasedSettings",
    "PhasedSolution",
    "SizeOption",
    "Solution",
    "Status",
    "capacitated_location",
    "discount_weights",
    "max_coverage",
    "p_median",
    "phased_coverage",
    "set_cover",
]
