"""Need score per small area: population weighted by deprivation, HLE gap and age.

Formula (documented in ``docs/analyst.md``)::

    need_i = population_i x (1 + w_dep x D_i + w_hle x H_i + w_old x A_i)

    D_i = (10 - imd_decile_i) / 9                       1 in decile 1 .. 0 in decile 10
    H_i = clip((hle_ref - hle_years_i) / hle_span, 0, 1) healthy-life-expectancy gap
    A_i = pop_65_plus_i / population_i                   share aged 65 and over

with the weights and ``hle_ref``/``hle_span`` taken from
:class:`nhc_planner.scenario.NeedWeights`. With all weights zero the need is
the population; with the defaults (``w_dep = w_hle = 1``) a person in the most
deprived decile with HLE 20 years below the reference counts three times a
person in the least deprived decile with HLE at the reference.

All functions take and return arrays (or a frame with the areas columns) and
never look at geometry.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from nhc_planner._errors import MissingColumnError, ValueRangeError
from nhc_planner.scenario import NeedWeights

__all__ = ["deprivation_factor", "hle_gap_factor", "hle_quintiles", "need_score"]


def deprivation_factor(imd_decile: np.ndarray) -> np.ndarray:
    """Return ``(10 - decile) / 9``: 1 for IMD decile 1, 0 for decile 10.

    Examples
    --------
    >>> deprivation_factor(np.array([1, 10, 4])).round(3).tolist()
    [1.0, 0.0, 0.667]
    """
    d = np.asarray(imd_decile, dtype=float)
    if np.any(~np.isfinite(d)) or np.any((d < 1) | (d > 10)):
        bad = sorted(set(d[~np.isfinite(d) | (d < 1) | (d > 10)].tolist()))[:5]
        msg = f"imd_decile: expected values in 1..10; found {bad}"
        raise ValueRangeError(msg)
    return (10.0 - d) / 9.0


def hle_gap_factor(hle_years: np.ndarray, *, reference: float, span: float) -> np.ndarray:
    """Return ``clip((reference - hle) / span, 0, 1)``.

    Examples
    --------
    >>> hle_gap_factor(np.array([50.0, 60.0, 75.0]), reference=70.0, span=20.0).tolist()
    [1.0, 0.5, 0.0]
    """
    h = np.asarray(hle_years, dtype=float)
    if np.any(~np.isfinite(h)):
        n_bad = int((~np.isfinite(h)).sum())
        msg = f"hle_years: expected a number for every area; found {n_bad} missing"
        raise ValueRangeError(msg)
    return np.clip((reference - h) / span, 0.0, 1.0)


def need_score(areas: pd.DataFrame, weights: NeedWeights | None = None) -> np.ndarray:
    """Need score per area, in the order of ``areas`` (see the module formula).

    Parameters
    ----------
    areas
        Areas table with ``population``, ``imd_decile``, ``hle_years`` and
        ``pop_65_plus`` (see :mod:`nhc_planner.schema`).
    weights
        Need weights; defaults to :class:`~nhc_planner.scenario.NeedWeights()`.

    Returns
    -------
    numpy.ndarray
        Non-negative float need per area (people-equivalents).

    Examples
    --------
    >>> import pandas as pd
    >>> areas = pd.DataFrame({"population": [1000.0, 1000.0], "imd_decile": [1, 10],
    ...                       "hle_years": [50.0, 70.0], "pop_65_plus": [100.0, 300.0]})
    >>> need_score(areas).tolist()
    [3000.0, 1000.0]
    >>> need_score(areas, NeedWeights(deprivation_weight=0, hle_weight=0)).tolist()
    [1000.0, 1000.0]
    """
    w = weights if weights is not None else NeedWeights()
    missing = [
        c for c in ("population", "imd_decile", "hle_years", "pop_65_plus") if c not in areas
    ]
    if missing:
        msg = f"need_score: areas table is missing column(s) {missing}"
        raise MissingColumnError(msg)
    pop = areas["population"].to_numpy(dtype=float)
    d = deprivation_factor(areas["imd_decile"].to_numpy(dtype=float))
    h = hle_gap_factor(
        areas["hle_years"].to_numpy(dtype=float),
        reference=w.hle_reference_years,
        span=w.hle_span_years,
    )
    old = areas["pop_65_plus"].to_numpy(dtype=float)
    a = np.divide(old, pop, out=np.zeros_like(pop), where=pop > 0)
    a = np.clip(a, 0.0, 1.0)
    return pop * (1.0 + w.deprivation_weight * d + w.hle_weight * h + w.older_weight * a)


def hle_quintiles(hle_years: np.ndarray, population: np.ndarray) -> np.ndarray:
    """Population-weighted HLE quintile per area: 1 = lowest HLE fifth of residents.

    Areas with the same HLE form one group (estimates are often shared by many
    areas, e.g. every area of a deprivation decile); a group falls in the
    quintile containing the midpoint of its share of the cumulative population,
    so each quintile holds about a fifth of the residents and tied areas are
    never split between fifths.

    Examples
    --------
    >>> hle_quintiles(np.array([60.0, 50, 70, 55, 65]), np.ones(5)).tolist()
    [3, 1, 5, 2, 4]
    >>> hle_quintiles(np.array([60.0, 60, 60, 70, 50]), np.ones(5)).tolist()
    [3, 3, 3, 5, 1]
    """
    h = np.asarray(hle_years, dtype=float)
    pop = np.asarray(population, dtype=float)
    n = len(h)
    if n == 0:
        return np.zeros(0, dtype=int)
    if pop.sum() <= 0:
        pop = np.ones(n)
    values, group = np.unique(h, return_inverse=True)  # NaN sorts last, as one group
    p = np.bincount(group, weights=pop, minlength=len(values))
    mid = (np.cumsum(p) - p / 2.0) / p.sum()
    q = np.minimum(np.floor(mid * 5.0).astype(int) + 1, 5)
    return q[group].astype(int)
