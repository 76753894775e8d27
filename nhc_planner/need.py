"""Need score per small area: population weighted by deprivation, health and age.

Formula (documented in ``docs/analyst.md``)::

    need_i = population_i x (1 + sum_k w_k x F_ki)

with the terms ``F_k`` (each in 0..1, 1 = most need) and weights ``w_k`` of
:class:`nhc_planner.scenario.NeedWeights`:

* ``deprivation``: ``(10 - imd_decile) / 9``; IMD (IoD2025 File 7), MHCLG.
* ``hle_gap``: ``clip((hle_ref - hle_years) / hle_span, 0, 1)``; the HLE
  estimate (ONS gradient by IMD decile x OHID Fingertips HLE at birth).
* ``older``: ``pop_65_plus / population``; Census 2021 (ONS).
* ``health_domain``: ``(10 - imd_health_decile) / 9``; the Health Deprivation
  and Disability domain of IoD2025 File 7, MHCLG.
* ``yll``, ``cidr``, ``acute_morbidity``, ``mental_health``:
  ``(10 - <term>_decile) / 9`` where the decile is national (1 = highest
  tenth of LSOAs in England) for the domain's indicators in IoD2025 File 8:
  years of potential life lost, comparative illness and disability ratio,
  acute morbidity, mood and anxiety disorders.

With the defaults (``w_dep = w_hle = 1``, the others 0) a person in the most
deprived decile with HLE 20 years below the reference counts three times a
person in the least deprived decile with HLE at the reference. The HLE
estimate is itself built from the IMD decile, and the health domain and its
indicators are part of the IMD, so terms overlap: :func:`need_correlation`
reports their population-weighted correlation so double counting is visible.

All functions take and return arrays (or a frame with the areas columns) and
never look at geometry.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from nhc_planner._errors import MissingColumnError, ValueRangeError
from nhc_planner.scenario import NeedWeights

__all__ = [
    "NEED_TERMS",
    "deprivation_factor",
    "hle_gap_factor",
    "hle_quintiles",
    "need_correlation",
    "need_score",
    "need_terms",
]

#: Need terms: key -> (NeedWeights field, area column, plain label, source).
NEED_TERMS: dict[str, tuple[str, str, str, str]] = {
    "deprivation": (
        "deprivation_weight",
        "imd_decile",
        "deprivation (IMD decile)",
        "MHCLG English Indices of Deprivation (IMD)",
    ),
    "hle_gap": (
        "hle_weight",
        "hle_years",
        "healthy life expectancy gap (estimate)",
        "ONS HLE gradient by IMD decile x OHID Fingertips HLE at birth",
    ),
    "older": ("older_weight", "pop_65_plus", "share aged 65+", "ONS Census 2021"),
    "health_domain": (
        "health_weight",
        "imd_health_decile",
        "IMD health deprivation and disability domain",
        "MHCLG IoD2025 File 7",
    ),
    "yll": (
        "yll_weight",
        "yll_decile",
        "years of potential life lost",
        "MHCLG IoD2025 File 8 (national decile)",
    ),
    "cidr": (
        "cidr_weight",
        "cidr_decile",
        "comparative illness and disability ratio",
        "MHCLG IoD2025 File 8 (national decile)",
    ),
    "acute_morbidity": (
        "morbidity_weight",
        "acute_morbidity_decile",
        "acute morbidity",
        "MHCLG IoD2025 File 8 (national decile)",
    ),
    "mental_health": (
        "mental_health_weight",
        "mental_health_decile",
        "mood and anxiety disorders",
        "MHCLG IoD2025 File 8 (national decile)",
    ),
}
_DECILE_TERMS = ("health_domain", "yll", "cidr", "acute_morbidity", "mental_health")


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


def _factor(areas: pd.DataFrame, term: str, w: NeedWeights) -> np.ndarray:
    """The 0..1 factor of one need term per area."""
    column = NEED_TERMS[term][1]
    if term == "deprivation" or term in _DECILE_TERMS:
        values = areas[column].to_numpy(dtype=float)
        try:
            return deprivation_factor(values)
        except ValueRangeError as exc:
            msg = f"need term '{term}' ({column}): {exc}"
            raise ValueRangeError(msg) from exc
    if term == "hle_gap":
        return hle_gap_factor(
            areas["hle_years"].to_numpy(dtype=float),
            reference=w.hle_reference_years,
            span=w.hle_span_years,
        )
    pop = areas["population"].to_numpy(dtype=float)
    old = areas["pop_65_plus"].to_numpy(dtype=float)
    a = np.divide(old, pop, out=np.zeros_like(pop), where=pop > 0)
    return np.clip(np.nan_to_num(a), 0.0, 1.0)


def need_terms(
    areas: pd.DataFrame, weights: NeedWeights | None = None, *, available: bool = False
) -> pd.DataFrame:
    """The factor of each need term per area (columns = term keys of :data:`NEED_TERMS`).

    Parameters
    ----------
    areas
        Areas table.
    weights
        Need weights (for the HLE reference and span, and which terms are in use).
    available
        False: the terms with a weight above 0. True: every term whose column
        the areas have (for the correlation table).

    Raises
    ------
    MissingColumnError
        A term in use whose column the areas lack (it names the data source).
    """
    w = weights if weights is not None else NeedWeights()
    out: dict[str, np.ndarray] = {}
    for term, (field_name, column, _label, source) in NEED_TERMS.items():
        in_use = float(getattr(w, field_name)) > 0
        if not (in_use or available):
            continue
        if column not in areas:
            if not in_use:
                continue
            msg = (
                f"need term '{term}' has weight {getattr(w, field_name):g} "
                f"(need.{field_name}) but the areas have no '{column}' column; give its data "
                f"source ({source}) or set need.{field_name} = 0"
            )
            raise MissingColumnError(msg)
        if available and term in _DECILE_TERMS and not np.isfinite(areas[column]).all():
            if in_use:
                out[term] = _factor(areas, term, w)  # raises, naming the column
            continue
        out[term] = _factor(areas, term, w)
    return pd.DataFrame(out, index=areas.index)


def need_score(areas: pd.DataFrame, weights: NeedWeights | None = None) -> np.ndarray:
    """Need score per area, in the order of ``areas`` (see the module formula).

    Parameters
    ----------
    areas
        Areas table with ``population``, ``imd_decile``, ``hle_years`` and
        ``pop_65_plus`` (see :mod:`nhc_planner.schema`), and the columns of any
        further term with a weight above 0.
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
    # the three original terms are always validated (as before), whatever their weights
    d = deprivation_factor(areas["imd_decile"].to_numpy(dtype=float))
    h = hle_gap_factor(
        areas["hle_years"].to_numpy(dtype=float),
        reference=w.hle_reference_years,
        span=w.hle_span_years,
    )
    a = _factor(areas, "older", w)
    extra = np.zeros_like(pop)
    for term, factor in need_terms(areas, w).items():
        if term in _DECILE_TERMS:
            extra += float(getattr(w, NEED_TERMS[str(term)][0])) * factor.to_numpy(dtype=float)
    return pop * (1.0 + w.deprivation_weight * d + w.hle_weight * h + w.older_weight * a + extra)


def need_correlation(areas: pd.DataFrame, weights: NeedWeights | None = None) -> pd.DataFrame:
    """Population-weighted correlation between the need terms the areas have.

    Every term whose column is present is included (with its weight, so that a
    term in use beside a highly correlated one shows the double counting).

    Returns
    -------
    pandas.DataFrame
        ``term, label, weight`` and one column per term (Pearson correlation,
        weighted by residents; NaN for a term constant over the region).

    Examples
    --------
    >>> import pandas as pd
    >>> areas = pd.DataFrame({"population": [1.0, 1.0, 1.0], "imd_decile": [1, 5, 10],
    ...     "hle_years": [50.0, 60.0, 70.0], "pop_65_plus": [0.2, 0.2, 0.2]})
    >>> t = need_correlation(areas)
    >>> t["term"].tolist(), round(float(t.loc[0, "hle_gap"]), 3)
    (['deprivation', 'hle_gap', 'older'], 0.998)
    """
    w = weights if weights is not None else NeedWeights()
    terms = need_terms(areas, w, available=True)
    pop = np.clip(np.nan_to_num(areas["population"].to_numpy(dtype=float)), 0.0, None)
    pop = pop if pop.sum() > 0 else np.ones_like(pop)
    x = terms.to_numpy(dtype=float)
    mean = pop @ x / pop.sum()
    dev = x - mean
    cov = (dev * pop[:, np.newaxis]).T @ dev / pop.sum()
    sd = np.sqrt(np.diag(cov))
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = cov / np.outer(sd, sd)
    corr[:, sd <= 1e-12] = np.nan
    corr[sd <= 1e-12, :] = np.nan
    keys = list(terms.columns)
    out = pd.DataFrame(
        {
            "term": keys,
            "label": [NEED_TERMS[k][2] for k in keys],
            "weight": [float(getattr(w, NEED_TERMS[k][0])) for k in keys],
        }
    )
    for k, key in enumerate(keys):
        out[key] = corr[:, k]
    return out


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
