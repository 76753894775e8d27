"""Population of each small area in a future year, from the ONS projections.

Method (apportionment by each area's current age structure)
    ONS projects residents per local authority, not per small area. For area
    ``i`` in authority ``a`` with Census 2021 residents ``c_ib`` in age band
    ``b`` (0-15, 16-64, 65+), the population in year ``Y`` is::

        P_i(Y) = sum_b c_ib x R_ab(Y),   R_ab(Y) = SNPP_ab(Y) / SNPP_ab(Y0)

    where ``SNPP_ab(Y)`` is the authority's projected residents of band ``b``
    in ``Y`` and ``Y0`` the projection's first year (mid-2022 for the
    2022-based projections, taken as the census year: the one-year offset is
    not corrected). Each area keeps its own age mix and each band grows as it
    does in the authority as a whole, so an area with many older residents
    grows with the authority's older population. Areas without age bands
    (a census total only) grow with the authority's all-ages ratio. The
    authority's projected total is reproduced exactly when every one of its
    areas is in the region (the sum of ``c_ib`` over them is the authority's
    census band); a region with part of an authority gets that part's growth.

Need in a future year keeps each area's need factor (deprivation, HLE gap,
age share, all as today) and scales with its population:
``need_i(Y) = need_i x P_i(Y) / P_i``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from nhc_planner._errors import JoinError, ValueRangeError
from nhc_planner.schema import AGE_BANDS
from nhc_planner.sources.projections import SNPP_COLUMN_RE, snpp_column

__all__ = [
    "APPORTION_METHOD",
    "PopulationByYear",
    "population_by_year",
    "projected_population",
    "projection_years",
]

#: The apportionment, in plain words (plan notes, report, app).
APPORTION_METHOD = (
    "ONS 2022-based subnational population projections per local authority, apportioned "
    "to small areas by each area's Census 2021 age structure: each of its age bands (0-15, "
    "16-64, 65+) grows as the authority's band does from mid-2022"
)


@dataclass(frozen=True, eq=False)
class PopulationByYear:
    """The population the plan weighs in each year (one row per period).

    Attributes
    ----------
    basis
        ``"census"`` (Census 2021 residents in every year) or ``"projection"``.
    years
        Calendar year of each period (``phasing.first_year`` onwards).
    population
        ``(T, n_areas)`` residents per period and area.
    description
        One sentence saying which year's population was used and how it was made.
    """

    basis: str
    years: tuple[int, ...]
    population: np.ndarray
    description: str

    def need(self, need: np.ndarray, census_population: np.ndarray) -> np.ndarray:
        """``(T, n)`` need per period: each area's need scaled with its population.

        Examples
        --------
        >>> pby = PopulationByYear("projection", (2026, 2027), np.array([[10.0, 0], [20, 0]]), "")
        >>> pby.need(np.array([30.0, 0.0]), np.array([10.0, 0.0])).tolist()
        [[30.0, 0.0], [60.0, 0.0]]
        """
        base = np.asarray(census_population, dtype=float)
        scale = np.divide(
            self.population, base[np.newaxis, :], out=np.ones_like(self.population), where=base > 0
        )
        return np.asarray(need, dtype=float)[np.newaxis, :] * scale


def projection_years(areas: pd.DataFrame) -> tuple[int, ...]:
    """Years for which ``areas`` carries SNPP growth ratios (sorted; empty if none)."""
    years = {int(m.group(1)) for c in areas.columns if (m := SNPP_COLUMN_RE.match(str(c)))}
    return tuple(sorted(years))


def projected_population(areas: pd.DataFrame, year: int) -> np.ndarray:
    """Residents per area in ``year`` (see the module docstring for the method).

    Raises
    ------
    ValueRangeError
        No projections joined, or ``year`` outside the projection's years.
    JoinError
        Areas whose authority has no projection (listed).

    Examples
    --------
    >>> areas = pd.DataFrame({"la_code": ["A", "A"], "population": [100.0, 50.0],
    ...     "pop_0_15": [20.0, 10.0], "pop_16_64": [60.0, 30.0], "pop_65_plus": [20.0, 10.0],
    ...     "snpp_2030_all": [1.1, 1.1], "snpp_2030_pop_0_15": [1.0, 1.0],
    ...     "snpp_2030_pop_16_64": [1.0, 1.0], "snpp_2030_pop_65_plus": [1.5, 1.5]})
    >>> projected_population(areas, 2030).round(6).tolist()
    [110.0, 55.0]
    """
    years = projection_years(areas)
    if not years:
        msg = (
            "no population projections are joined to the areas: give the ONS SNPP file "
            "(data source 'population_projection') or set phasing.population = 'census'"
        )
        raise ValueRangeError(msg)
    if year not in years:
        msg = (
            f"population projections cover {years[0]}-{years[-1]}; year {year} is outside "
            "them (check phasing.first_year and phasing.years)"
        )
        raise ValueRangeError(msg)
    ratio = {b: areas[snpp_column(year, b)].to_numpy(dtype=float) for b in ("all", *AGE_BANDS)}
    missing = ~np.isfinite(ratio["all"])
    if missing.any():
        codes = sorted(set(areas.loc[missing, "la_code"].astype(str))) if "la_code" in areas else []
        msg = (
            f"{int(missing.sum())} area(s) in authorit(y/ies) {codes[:10]} have no population "
            "projection; the SNPP file must cover every authority of the region"
        )
        raise JoinError(msg)
    bands = np.column_stack([areas[b].to_numpy(dtype=float) for b in AGE_BANDS])
    band_sum = bands.sum(axis=1)
    has_bands = np.isfinite(bands).all(axis=1) & (band_sum > 0)
    grown = sum(np.nan_to_num(bands[:, k]) * ratio[b] for k, b in enumerate(AGE_BANDS))
    # the age mix weighs the bands' growth; the level stays the area's census total
    growth = np.divide(grown, band_sum, out=ratio["all"].copy(), where=has_bands)
    return np.asarray(areas["population"].to_numpy(dtype=float) * growth, dtype=float)


def population_by_year(
    areas: pd.DataFrame,
    years: Sequence[int],
    *,
    basis: str = "census",
    vintage: str = "",
    today: str = "Census 2021 usual residents",
) -> PopulationByYear:
    """The population of each period: the census in every year, or the projection of its year.

    Parameters
    ----------
    areas
        Region areas (``population``, age bands, ``la_code`` and, for
        ``basis="projection"``, the joined ``snpp_<year>_<band>`` columns).
    years
        Calendar year of each period.
    basis
        ``"census"`` or ``"projection"``.
    vintage
        Projection vintage for the description (e.g. from the region's vintages).
    today
        What ``areas["population"]`` counts, for the description (e.g. GP-registered
        patients when the demand basis is registrations: they then grow with the
        projection in the same way).

    Raises
    ------
    ValueRangeError
        Unknown basis, or (projection) years outside the projection.
    JoinError
        (projection) Authorities without a projection.
    """
    years = tuple(int(y) for y in years)
    census = areas["population"].to_numpy(dtype=float)
    if basis == "census":
        return PopulationByYear(
            "census",
            years,
            np.tile(census, (len(years), 1)),
            f"Population: {today} in every year of the plan.",
        )
    if basis != "projection":
        msg = f"phasing.population: expected 'census' or 'projection'; found {basis!r}"
        raise ValueRangeError(msg)
    pop = np.vstack([projected_population(areas, y) for y in years])
    span = f"{years[0]}" if len(years) == 1 else f"{years[0]}-{years[-1]}"
    change = pop[-1].sum() / census.sum() - 1.0 if census.sum() > 0 else 0.0
    source = f" ({vintage})" if vintage else ""
    return PopulationByYear(
        "projection",
        years,
        pop,
        f"Population: each year's own projected population, {span}{source}, "
        f"{change:+.1%} on {today} by {years[-1]}; {APPORTION_METHOD}.",
    )
