"""Census 2021 TS045 "Car or van availability" by LSOA -> households with and without a car.

Two published layouts are read:

* **Nomis bulk CSV** (``census2021-ts045-lsoa.csv``): one row per area,
  ``date, geography, geography code`` and wide count columns such as
  ``Number of cars or vans: Total: All households`` and
  ``Number of cars or vans: No cars or vans in household``.
* **ONS custom dataset** (long form): ``Lower layer Super Output Areas Code``,
  ``Car or van availability (5 categories) Code``, ``Car or van availability
  (5 categories)`` and ``Observation``, one row per area and category
  (category ``-8`` "Does not apply" is ignored; ``0`` is "No cars or vans"); and
  the Nomis API CSV of dataset NM_2063_1 (``GEOGRAPHY_CODE, C2021_CARS_5,
  C2021_CARS_5_NAME, OBS_VALUE``; there code 0 is the total, 1 no car).

Counts may carry thousands separators (``"1,234"``). The result has one row
per area: ``area_code``, ``households`` and ``households_no_car``; the build
joins both onto ``region.areas`` (counts: carried from 2011 codes by the
lookup like other count tables). The share without a car is
:func:`no_car_share`.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from nhc_planner._errors import DuplicateKeyError, MissingColumnError, ValueRangeError
from nhc_planner.sources._tables import (
    AREA_CODE_ALIASES,
    clean_codes,
    code_year_of,
    drop_non_data_rows,
    find_column,
    normalise_name,
    read_table,
    to_number,
)

__all__ = ["CAR_COLUMNS", "no_car_share", "read_car_availability"]

#: Columns the reader returns (besides ``area_code``).
CAR_COLUMNS: tuple[str, ...] = ("households", "households_no_car")

_TOTAL_ALIASES = (
    "Number of cars or vans: Total: All households",
    "Car or van availability: Total: All households",
    "Total: All households",
    "All households",
    "households",
)
_NO_CAR_ALIASES = (
    "Number of cars or vans: No cars or vans in household",
    "Car or van availability: No cars or vans in household",
    "No cars or vans in household",
    "households_no_car",
)
_CATEGORY_CODE_ALIASES = (
    "Car or van availability (5 categories) Code",
    "Car or van availability (4 categories) Code",
    "Car or van availability (3 categories) Code",
    "c2021_cars_5",
)
_CATEGORY_NAME_ALIASES = (
    "Car or van availability (5 categories)",
    "Car or van availability (4 categories)",
    "Car or van availability (3 categories)",
    "C2021_CARS_5_NAME",
)
_OBSERVATION_ALIASES = ("Observation", "OBS_VALUE", "Count")
# E/W: England and Wales; X: the synthetic demo region
_LSOA_RE = re.compile(r"^[EWX]01\d{6}$")


def _check_codes(codes: pd.Series, *, what: str, column: str) -> None:
    bad = ~codes.astype(str).str.match(_LSOA_RE)
    if bad.any():
        examples = sorted(set(codes[bad].astype(str)))[:5]
        msg = (
            f"{what}: column '{column}' must hold LSOA codes (E01/W01 and 6 digits); "
            f"{int(bad.sum())} value(s) are not, e.g. {examples} (is it another geography, "
            "e.g. MSOAs or local authorities?)"
        )
        raise ValueRangeError(msg)


def _check_unique(codes: pd.Series, *, what: str, column: str) -> None:
    dup = codes[codes.duplicated(keep=False)]
    if len(dup):
        msg = (
            f"{what}: column '{column}': each area must appear once; {dup.nunique()} area(s) "
            f"appear more than once, e.g. {sorted(set(dup.astype(str)))[:5]}"
        )
        raise DuplicateKeyError(msg)


def _wide(raw: pd.DataFrame, code_col: str, what: str) -> pd.DataFrame:
    total_col = find_column(raw, _TOTAL_ALIASES, what=what, role="all households")
    none_col = find_column(raw, _NO_CAR_ALIASES, what=what, role="households with no car or van")
    raw = drop_non_data_rows(raw, code_col, [total_col, none_col], what=what)
    codes = clean_codes(raw[code_col]).astype(str)
    _check_unique(codes, what=what, column=code_col)
    total = to_number(raw[total_col], what=what, column=total_col, allow_missing=False)
    none = to_number(raw[none_col], what=what, column=none_col, allow_missing=False)
    out = pd.DataFrame(
        {"area_code": codes.to_numpy(), "households": total.to_numpy(), "households_no_car": none}
    )
    out.attrs.update(raw.attrs)
    return out.reset_index(drop=True)


def _categories(raw: pd.DataFrame, cat_col: str, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Per row: (is the all-households total, is "no cars or vans"); "does not apply" neither.

    By the category names when the file has them (ONS custom datasets, Nomis
    ``C2021_CARS_5_NAME``), else by the ONS codes (-8 does not apply, 0 no car).
    """
    name_col = find_column(raw, _CATEGORY_NAME_ALIASES, what=what, role="category", required=False)
    if name_col is not None:
        names = raw[name_col].astype("string").str.strip().str.lower().fillna("")
        total = names.str.startswith("total").to_numpy(dtype=bool)
        none = names.str.contains("no car", regex=False).to_numpy(dtype=bool)
        skip = names.str.contains("does not apply", regex=False).to_numpy(dtype=bool)
        return total & ~skip, none & ~skip
    cat = to_number(raw[cat_col], what=what, column=cat_col, allow_missing=False).to_numpy()
    if normalise_name(cat_col) == normalise_name("c2021_cars_5"):  # Nomis: 0 total, 1 no car
        return cat == 0, cat == 1
    return np.zeros(len(cat), dtype=bool), cat == 0


def _long(raw: pd.DataFrame, code_col: str, cat_col: str, what: str) -> pd.DataFrame:
    obs_col = find_column(raw, _OBSERVATION_ALIASES, what=what, role="observation (count)")
    raw = drop_non_data_rows(raw, code_col, [obs_col], what=what)
    codes = clean_codes(raw[code_col]).astype(str)
    obs = to_number(raw[obs_col], what=what, column=obs_col, allow_missing=False)
    total, none = _categories(raw, cat_col, what)
    cat = raw[cat_col].astype("string").str.strip().fillna("")
    dup = pd.DataFrame({"a": codes.to_numpy(), "c": cat.to_numpy()}).duplicated(keep=False)
    if dup.any():
        examples = sorted(set(codes[dup.to_numpy()]))[:5]
        msg = (
            f"{what}: each area and category must appear once; {len(examples)}+ area(s) have "
            f"a category of '{cat_col}' twice, e.g. {examples}"
        )
        raise DuplicateKeyError(msg)
    if not none.any():
        msg = (
            f"{what}: column '{cat_col}' has no 'No cars or vans in household' category; "
            f"found {sorted(set(cat))[:8]}"
        )
        raise ValueRangeError(msg)
    keep = _categories_kept(raw, cat_col, what, total)
    table = pd.DataFrame(
        {
            "area_code": codes.to_numpy(),
            "all": np.where(keep, obs.to_numpy(), 0.0),
            "total": np.where(total, obs.to_numpy(), 0.0),
            "has_total": total,
            "none": np.where(none, obs.to_numpy(), 0.0),
        }
    )
    g = table.groupby("area_code", sort=False).sum()
    households = np.where(g["has_total"] > 0, g["total"], g["all"])
    out = pd.DataFrame(
        {
            "area_code": g.index.astype(str),
            "households": households,
            "households_no_car": g["none"].to_numpy(),
        }
    )
    neg = obs.to_numpy() < 0
    if neg.any():
        examples = sorted(set(codes[neg]))[:5]
        msg = f"{what}: counts must be >= 0; {int(neg.sum())} are negative, e.g. areas {examples}"
        raise ValueRangeError(msg)
    out.attrs.update(raw.attrs)
    return out.reset_index(drop=True)


def _categories_kept(raw: pd.DataFrame, cat_col: str, what: str, total: np.ndarray) -> np.ndarray:
    """Rows that are a household category (not the total, not "does not apply")."""
    name_col = find_column(raw, _CATEGORY_NAME_ALIASES, what=what, role="category", required=False)
    if name_col is not None:
        names = raw[name_col].astype("string").str.strip().str.lower().fillna("")
        skip = names.str.contains("does not apply", regex=False).to_numpy(dtype=bool)
        return ~skip & ~total
    cat = to_number(raw[cat_col], what=what, column=cat_col, allow_missing=False).to_numpy()
    if normalise_name(cat_col) == normalise_name("c2021_cars_5"):
        return cat >= 1
    return cat >= 0


def read_car_availability(path: str | Path) -> pd.DataFrame:
    """Read Census 2021 TS045 car or van availability by LSOA.

    Parameters
    ----------
    path
        The Nomis bulk CSV (wide) or an ONS custom-dataset CSV (long form).

    Returns
    -------
    pandas.DataFrame
        ``area_code``, ``households``, ``households_no_car`` (float counts);
        ``attrs``: ``code_year`` (2021, or 2011 when the code column says so),
        ``source``, ``notes``.

    Raises
    ------
    DataFileError, EmptyInputError
        The file is missing, unreadable or has no data rows.
    MissingColumnError
        No LSOA code column, no all-households or no-car column (wide), no
        category or observation column (long); the message lists what was found.
    DuplicateKeyError
        An area (or an area and category) appears twice.
    ValueRangeError
        Codes that are not LSOA codes; counts not numeric or negative; more
        households without a car than households.
    """
    what = f"car or van availability (TS045) {Path(path)}"
    raw = read_table(path, what=what)
    code_col = find_column(raw, AREA_CODE_ALIASES, what=what, role="LSOA code")
    cat_col = find_column(raw, _CATEGORY_CODE_ALIASES, what=what, role="category", required=False)
    try:
        out = _long(raw, code_col, cat_col, what) if cat_col else _wide(raw, code_col, what)
    except MissingColumnError as exc:
        msg = f"{exc} (expected the Nomis bulk CSV of TS045, or the ONS custom-dataset long form)"
        raise MissingColumnError(msg) from exc
    _check_codes(out["area_code"], what=what, column=code_col)
    for col in CAR_COLUMNS:
        neg = out[col] < 0
        if neg.any():
            examples = out.loc[neg, "area_code"].tolist()[:5]
            msg = f"{what}: counts must be >= 0; {int(neg.sum())} area(s) have a negative "
            msg += f"'{col}', e.g. {examples}"
            raise ValueRangeError(msg)
    over = out["households_no_car"] > out["households"]
    if over.any():
        examples = out.loc[over, "area_code"].tolist()[:5]
        msg = (
            f"{what}: households without a car cannot exceed all households; "
            f"{int(over.sum())} area(s) do, e.g. {examples}"
        )
        raise ValueRangeError(msg)
    out.attrs["source"] = str(path)
    out.attrs["code_year"] = code_year_of(code_col) or 2021
    return out


def no_car_share(areas: pd.DataFrame) -> np.ndarray:
    """Share of households without a car or van per area (NaN where unknown).

    Reads ``households`` and ``households_no_car`` (from :func:`read_car_availability`);
    an area with no households has share 0.

    Raises
    ------
    MissingColumnError
        ``areas`` lacks the two columns (the region was built without TS045).
    """
    missing = [c for c in CAR_COLUMNS if c not in areas.columns]
    if missing:
        msg = (
            f"areas: missing column(s) {missing}; build the region with the Census 2021 TS045 "
            "car or van availability table (sources.toml key car_availability)"
        )
        raise MissingColumnError(msg)
    total = pd.to_numeric(areas["households"], errors="coerce").to_numpy(float)
    none = pd.to_numeric(areas["households_no_car"], errors="coerce").to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(total > 0, none / np.where(total > 0, total, 1.0), 0.0)
    out[~np.isfinite(total) | ~np.isfinite(none)] = np.nan
    return np.clip(out, 0.0, 1.0)
