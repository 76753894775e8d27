"""Array-level OR-Tools facility-location models.

Every model takes NumPy arrays (demand points x candidate sites, ``np.inf`` =
unreachable) and returns a :class:`Solution`. See ``docs/optimiser.md``.

- :func:`p_median`: minimise weighted cost with ``p`` open sites.
- :func:`max_coverage`: maximal covering location problem (MCLP).
- :func:`set_cover`: fewest sites covering every demand point (or a share of the weight).
- :func:`capacitated_location`: capacitated facility location (split or single source).
"""

from nhc_planner.optimize._solution import Solution, Status

__all__ = [
    "Solution",
    "Status",
]

# Phased planning model, capacity-aware models and explanations: exports added here
# by their owner (optimize/phased.py).
