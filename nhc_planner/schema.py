"""The data contract: canonical columns of the areas and sites tables.

Every reader produces, and every later step consumes, these two tables.

Areas (one row per small area, normally LSOA 2021), a GeoDataFrame in
EPSG:27700 (British National Grid) with polygon ``geometry`` and:

==================  ========  ===================================================
column              dtype     meaning
==================  ========  ===================================================
area_code           str       ONS code (E01...), unique
area_name           str       ONS name
la_code, la_name    str       local authority (lower tier)
icb_code            str       ICB (E54...) where known, else ""
population          float     usual residents (count)
pop_0_15            float     residents aged 0-15
pop_16_64           float     residents aged 16-64
pop_65_plus         float     residents aged 65 and over
imd_score           float     IMD score (higher = more deprived); NaN if only ranks
imd_rank            float     national IMD rank (1 = most deprived)
imd_decile          int       national IMD decile (1 = most deprived 10%)
hle_years           float     estimated healthy life expectancy at birth (years)
demand_x, demand_y  float     demand point (EPSG:27700 metres)
demand_source       str       "pwc" (population-weighted centroid) or "inside"
==================  ========  ===================================================

Further area columns are allowed and kept: a declared data source
(:mod:`nhc_planner.sources.registry`) adds its columns after these, and they
survive :meth:`Region.save <nhc_planner.region.Region.save>` and ``load``.
:func:`validate_areas` checks the columns above and leaves the others as they
are; :func:`extra_area_columns` lists them.

Sites (candidate and existing locations), a GeoDataFrame in EPSG:27700 with
point ``geometry`` and:

=================  ========  ====================================================
column             dtype     meaning
=================  ========  ====================================================
site_id            str       unique identifier (e.g. ODS code)
name               str       display name
kind               str       one of :data:`SITE_KINDS`
status             str       one of :data:`SITE_STATUSES`
max_rooms          float     optional cap on clinical rooms (NaN = no cap)
capex_gbp          float     optional capital cost override (NaN = template)
annual_cost_gbp    float     optional running cost override (NaN = template)
=================  ========  ====================================================
"""

from __future__ import annotations

from collections.abc import Iterable

import geopandas as gpd
import numpy as np
import pandas as pd

from nhc_planner._errors import (
    CrsError,
    DuplicateKeyError,
    EmptyInputError,
    MissingColumnError,
    ValueRangeError,
)

__all__ = [
    "AGE_BANDS",
    "AREA_COLUMNS",
    "BNG",
    "PLACE_NAME_COLUMNS",
    "SITE_COLUMNS",
    "SITE_KINDS",
    "SITE_OVERRIDES",
    "SITE_STATUSES",
    "demand_points",
    "extra_area_columns",
    "validate_areas",
    "validate_sites",
]

#: British National Grid, the CRS every analysis table is stored in.
BNG = "EPSG:27700"

#: Age-band population columns (0-15, 16-64, 65+).
AGE_BANDS: tuple[str, ...] = ("pop_0_15", "pop_16_64", "pop_65_plus")

#: Optional text columns of areas: the ward and MSOA an area lies in, when the
#: boundary file gives them (used to name neighbourhoods and label maps).
PLACE_NAME_COLUMNS: tuple[str, ...] = ("ward_name", "msoa_name")

AREA_COLUMNS: tuple[str, ...] = (
    "area_code",
    "area_name",
    "la_code",
    "la_name",
    "icb_code",
    "population",
    *AGE_BANDS,
    "imd_score",
    "imd_rank",
    "imd_decile",
    "hle_years",
    "demand_x",
    "demand_y",
    "demand_source",
)

#: Optional numeric per-site overrides (float, NaN = none).
SITE_OVERRIDES: tuple[str, ...] = ("max_rooms", "capex_gbp", "annual_cost_gbp")

SITE_COLUMNS: tuple[str, ...] = ("site_id", "name", "kind", "status", *SITE_OVERRIDES)

SITE_KINDS: tuple[str, ...] = (
    "gp_practice",
    "hospital",
    "pharmacy",
    "community_building",
    "user_candidate",
    "existing_nhc",
    "other",
)

SITE_STATUSES: tuple[str, ...] = ("candidate", "existing", "excluded")


def _require_columns(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        msg = (
            f"{what}: missing column(s) {missing}; expected all of {list(columns)}, "
            f"found {list(frame.columns)}"
        )
        raise MissingColumnError(msg)


def _require_unique(frame: pd.DataFrame, key: str, what: str) -> None:
    dup = frame[key][frame[key].duplicated(keep=False)]
    if len(dup):
        examples = sorted(set(dup.astype(str)))[:5]
        msg = f"{what}: {dup.nunique()} duplicated value(s) in '{key}', e.g. {examples}"
        raise DuplicateKeyError(msg)


def _require_bng(frame: gpd.GeoDataFrame, what: str) -> None:
    if frame.crs is None:
        msg = f"{what}: no CRS set; expected {BNG} (British National Grid)"
        raise CrsError(msg)
    if frame.crs.to_epsg() != 27700:
        msg = f"{what}: CRS is {frame.crs.to_string()}; expected {BNG}. Reproject with .to_crs()"
        raise CrsError(msg)


def validate_areas(areas: gpd.GeoDataFrame, *, what: str = "areas") -> gpd.GeoDataFrame:
    """Check that ``areas`` meets the areas contract; return it unchanged.

    The core columns (:data:`AREA_COLUMNS`) are checked; any other column is
    kept as it is (see :func:`extra_area_columns`).

    Parameters
    ----------
    areas
        Candidate areas table.
    what
        Name used in error messages (e.g. the file it came from).

    Returns
    -------
    geopandas.GeoDataFrame
        The same object, for chaining.

    Raises
    ------
    MissingColumnError, DuplicateKeyError, EmptyInputError, CrsError, ValueRangeError
        With a message naming the column or value at fault.
    """
    if len(areas) == 0:
        msg = f"{what}: no areas (0 rows)"
        raise EmptyInputError(msg)
    _require_columns(areas, AREA_COLUMNS, what)
    _require_unique(areas, "area_code", what)
    _require_bng(areas, what)
    for col in ("population", *AGE_BANDS):
        values = pd.to_numeric(areas[col], errors="coerce")
        bad = areas.loc[values.isna() | (values < 0), "area_code"]
        if len(bad):
            msg = (
                f"{what}: column '{col}' must be a non-negative number for every area; "
                f"{len(bad)} area(s) fail, e.g. {list(bad.astype(str)[:5])}"
            )
            raise ValueRangeError(msg)
    deciles = pd.to_numeric(areas["imd_decile"], errors="coerce")
    bad = areas.loc[~deciles.between(1, 10), "area_code"]
    if len(bad):
        msg = (
            f"{what}: column 'imd_decile' must be 1..10; {len(bad)} area(s) fail, "
            f"e.g. {list(bad.astype(str)[:5])}"
        )
        raise ValueRangeError(msg)
    return areas


def extra_area_columns(areas: pd.DataFrame) -> tuple[str, ...]:
    """Area columns beyond :data:`AREA_COLUMNS` (and the geometry), in table order.

    Examples
    --------
    >>> import pandas as pd
    >>> extra_area_columns(pd.DataFrame(columns=[*AREA_COLUMNS, "toy_score"]))
    ('toy_score',)
    """
    core = {*AREA_COLUMNS, "geometry"}
    return tuple(str(c) for c in areas.columns if c not in core)


def validate_sites(sites: gpd.GeoDataFrame, *, what: str = "sites") -> gpd.GeoDataFrame:
    """Check that ``sites`` meets the sites contract; return it unchanged.

    Raises
    ------
    MissingColumnError, DuplicateKeyError, CrsError, ValueRangeError
        With a message naming the column or value at fault.
    """
    _require_columns(sites, SITE_COLUMNS, what)
    if len(sites) == 0:
        return sites
    _require_unique(sites, "site_id", what)
    _require_bng(sites, what)
    for col, allowed in (("kind", SITE_KINDS), ("status", SITE_STATUSES)):
        bad = sorted(set(sites[col].astype(str)) - set(allowed))
        if bad:
            msg = f"{what}: column '{col}' has value(s) {bad[:5]}; expected one of {list(allowed)}"
            raise ValueRangeError(msg)
    if not sites.geometry.geom_type.eq("Point").all():
        kinds = sorted(set(sites.geometry.geom_type.dropna()))
        msg = f"{what}: site geometries must be points; found {kinds}"
        raise ValueRangeError(msg)
    return sites


def demand_points(areas: pd.DataFrame) -> np.ndarray:
    """Return the areas' demand points as an ``(n, 2)`` array of BNG metres.

    Examples
    --------
    >>> import pandas as pd
    >>> demand_points(pd.DataFrame({"demand_x": [1.0], "demand_y": [2.0]})).tolist()
    [[1.0, 2.0]]
    """
    return np.column_stack(
        [areas["demand_x"].to_numpy(dtype=float), areas["demand_y"].to_numpy(dtype=float)]
    )
