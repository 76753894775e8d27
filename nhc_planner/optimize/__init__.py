"""Array-level OR-Tools facility-location models.

Every model takes NumPy arrays (demand points x candidate sites, ``np.inf`` =
unreachable) and returns a :class:`Solution`. See ``docs/optimiser.md``.

- :func:`p_median`: minimise weighted cost with ``p`` open sites.
- :func:`max_coverage`: maximal covering location problem (MCLP).
- :func:`set_cover`: fewest sites covering every demand point (or a share of the weight).
- :func:`capacitated_location`: capacitated facility location (split or single source).
"""

from nhc_planner.optimize._solution import Solution, Status
from nhc_planner.optimize.capacitated import capacitated_location
from nhc_planner.optimize.coverage import max_coverage, set_cover
from nhc_planner.optimize.p_median import p_median

__all__ = [
    "Solution",
    "Status",
    "capacitated_location",
    "max_coverage",
    "p_median",
    "set_cover",
    # Phased planning model, capacity-aware coverage and explanations: their owner
    # (optimize/phased.py) adds the imports above and the names here.
]
