"""Resident population per small area, in total and by age band.

Every reader returns ``area_code, population, pop_0_15, pop_16_64,
pop_65_plus`` (age bands NaN when the source has none), with ``attrs``
``code_year``, ``vintage``, ``source`` and ``notes``. Supported layouts:

* Census 2021 usual residents, total per LSOA 2021 (``LSOA21CD``,
  ``Population``; E&W; trailing disclosure-note rows are ignored);
* Census 2021 usual residents by age, long form (one row per area and age
  category, e.g. ``lsoa21_code, age_group, usual_residents`` or Nomis
  ``... Code, Age (6 categories), Observation``). Categories are mapped to our
  bands from the ages in their labels ("Aged 15 years and under", "Aged 16 to
  24 years", ... "Aged 65 years and over"); a category straddling 15/16 or
  64/65 cannot be mapped and is an error;
* ONS mid-year LSOA estimates, wide single year of age (``LSOA 2021 Code,
  Total, F0..F90, M0..M90`` or ``LSOA Code, All Ages, 0..90+``);
* IoD2019 File 6 (and IoD2025 File 7) population denominators on LSOA 2011
  (total, 0-15, 16-59, 60+). Our bands split at 65, so 60+ is divided with a
  fixed share (see :func:`read_iod_denominators`): an approximation, recorded
  in the notes.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from nhc_planner._errors import DataFileError, ValueRangeError
from nhc_planner.schema import AGE_BANDS
from nhc_planner.sources._tables import (
    AREA_CODE_ALIASES,
    add_note,
    check_unique,
    clean_codes,
    drop_non_data_rows,
    find_column,
    guess_code_year,
    normalise_name,
    read_table,
    to_number,
)
from nhc_planner.sources.limits import LSOA_POPULATION
from nhc_planner.sources.validate import check_within

__all__ = [
    "POPULATION_COLUMNS",
    "SHARE_65_OF_60_PLUS_ENGLAND_2015",
    "age_band_of",
    "read_census_age",
    "read_census_total",
    "read_iod_denominators",
    "read_mid_year",
    "read_population",
]

POPULATION_COLUMNS: tuple[str, ...] = ("area_code", "population", *AGE_BANDS)

#: Share of people aged 60+ who are 65+ in England, mid-2015 (ONS mid-year
#: estimates: about 9.7 million aged 65+ of 12.6 million aged 60+). Used to
#: split the IoD2019 File 6 "60 and over" denominator into our 16-64 / 65+ bands.
SHARE_65_OF_60_PLUS_ENGLAND_2015 = 0.77

_TOTAL_ALIASES = (
    "Population",
    "population",
    "usual_residents",
    "Usual residents",
    "All usual residents",
    "Total: All usual residents",
    "Observation",
    "OBS_VALUE",
    "Residence type: Total; measures: Value",
    "Total",
    "All Ages",
    "value",
    "count",
)
_AGE_LABEL_ALIASES = (
    "age_group",
    "Age (6 categories)",
    "Age (6 categories) label",
    "Age (18 categories)",
    "Age (18 categories) label",
    "Age (B) (18 categories)",
    "age_band",
    "age",
)
_AGE_VALUE_ALIASES = (
    "usual_residents",
    "Observation",
    "OBS_VALUE",
    "population",
    "count",
    "value",
    "n",
)

_TOTAL_WIDE_ALIASES = ("Total", "All Ages", "All ages", "population")
_SYOA = re.compile(r"^(?:(?:aged?|age)\s+)?([fm])?\s*(\d{1,3})(?:\s*(?:plus|and over))?$")


def age_band_of(label: str) -> str | None:
    """Return the band (``pop_0_15``, ``pop_16_64``, ``pop_65_plus``) of an age label.

    Returns None for a total row ("Total", "All ages"). Raises when the label
    has no ages or straddles a band boundary.

    Examples
    --------
    >>> age_band_of("Aged 15 years and under"), age_band_of("Aged 50 to 64 years")
    ('pop_0_15', 'pop_16_64')
    >>> age_band_of("Aged 65 years and over"), age_band_of("Aged 4 years and under")
    ('pop_65_plus', 'pop_0_15')
    """
    text = str(label).lower()
    if "total" in text or text.strip() in ("all ages", "all"):
        return None
    nums = [int(n) for n in re.findall(r"\d+", text)]
    if not nums:
        msg = f"age category '{label}' has no ages in its label"
        raise ValueRangeError(msg)
    if "under" in text and len(nums) == 1:
        lo, hi = 0, nums[0] if "and under" in text else nums[0] - 1
    elif ("over" in text or "+" in text or "plus" in text) and len(nums) == 1:
        lo, hi = nums[0], 200
    elif len(nums) >= 2:
        lo, hi = nums[0], nums[1]
    else:
        lo = hi = nums[0]
    if hi <= 15:
        return "pop_0_15"
    if lo >= 16 and hi <= 64:
        return "pop_16_64"
    if lo >= 65:
        return "pop_65_plus"
    msg = (
        f"age category '{label}' (ages {lo}-{hi}) straddles our bands 0-15, 16-64, 65+; "
        "use a source with finer age categories"
    )
    raise ValueRangeError(msg)


def _finish(
    out: pd.DataFrame, raw: pd.DataFrame, *, code_col: str, vintage: str, what: str
) -> pd.DataFrame:
    check_unique(out["area_code"], what=what, column=code_col)
    for col in ("population", *AGE_BANDS):
        check_within(
            out[col],
            what=what,
            column=col,
            bounds=LSOA_POPULATION,
            codes=out["area_code"],
            meaning="residents of one LSOA",
        )
    out.attrs.update(raw.attrs)
    year, guessed = guess_code_year(code_col, len(out))
    out.attrs["code_year"] = year
    out.attrs["vintage"] = vintage
    if guessed:
        add_note(
            out,
            f"{what}: the code column '{code_col}' does not say 2011 or 2021; "
            f"taken as LSOA {year} (from the number of rows)",
        )
    return out.reset_index(drop=True)


def _census_total(raw: pd.DataFrame, what: str) -> pd.DataFrame:
    code_col = find_column(raw, AREA_CODE_ALIASES, what=what, role="LSOA code")
    value_col = find_column(raw, _TOTAL_ALIASES, what=what, role="population count")
    raw = drop_non_data_rows(raw, code_col, [value_col], what=what)
    codes = clean_codes(raw[code_col]).astype(str)
    pop = to_number(raw[value_col], what=what, column=value_col, allow_missing=False)
    out = pd.DataFrame({"area_code": codes.to_numpy(), "population": pop.to_numpy()})
    for band in AGE_BANDS:
        out[band] = np.nan
    return _finish(out, raw, code_col=code_col, vintage="Census 2021", what=what)


def _census_age(raw: pd.DataFrame, what: str) -> pd.DataFrame:
    code_col = find_column(raw, AREA_CODE_ALIASES, what=what, role="LSOA code")
    label_col = find_column(raw, _AGE_LABEL_ALIASES, what=what, role="age category")
    value_col = find_column(raw, _AGE_VALUE_ALIASES, what=what, role="count")
    raw = drop_non_data_rows(raw, code_col, [value_col], what=what)
    codes = clean_codes(raw[code_col]).astype(str)
    labels = raw[label_col].astype(str).str.strip()
    pairs = codes + "|" + labels
    dup = pairs[pairs.duplicated(keep=False)]
    if len(dup):
        check_unique(pairs, what=what, column=f"{code_col} + {label_col}")
    mapping: dict[str, str | None] = {}
    for label in labels.unique():
        try:
            mapping[label] = age_band_of(label)
        except ValueRangeError as exc:
            msg = f"{what}: column '{label_col}': {exc}"
            raise ValueRangeError(msg) from exc
    counts = to_number(raw[value_col], what=what, column=value_col, allow_missing=False)
    band = labels.map(mapping)
    long = pd.DataFrame({"area_code": codes, "band": band, "n": counts})
    long = long[long["band"].notna()]
    wide = long.pivot_table(
        index="area_code", columns="band", values="n", aggfunc="sum", sort=True
    ).reindex(columns=list(AGE_BANDS))
    missing_bands = [b for b in AGE_BANDS if wide[b].isna().all()]
    if missing_bands:
        msg = (
            f"{what}: age categories {sorted(mapping)} give no residents for {missing_bands}; "
            "expected categories covering 0-15, 16-64 and 65+"
        )
        raise ValueRangeError(msg)
    wide = wide.fillna(0.0)
    out = wide.reset_index()
    out.columns.name = None
    out.insert(1, "population", out[list(AGE_BANDS)].sum(axis=1))
    out = _finish(out, raw, code_col=code_col, vintage="Census 2021", what=what)
    add_note(
        out,
        f"{what}: Census age categories mapped to bands: "
        + "; ".join(f"'{k}' -> {v or 'total (ignored)'}" for k, v in sorted(mapping.items())),
    )
    return out


def _age_category_columns(raw: pd.DataFrame) -> list[str]:
    """Columns named after Census age categories (``Age: Aged 4 years and under``, ...)."""
    return [str(c) for c in raw.columns if re.search(r"\baged?\b.*\d", normalise_name(c))]


def _census_age_wide(raw: pd.DataFrame, what: str) -> pd.DataFrame:
    code_col = find_column(raw, AREA_CODE_ALIASES, what=what, role="LSOA code")
    age_cols = _age_category_columns(raw)
    mapping: dict[str, str | None] = {}
    for col in age_cols:
        label = col.split(":", 1)[-1] if col.lower().startswith("age:") else col
        label = label.split(";")[0]  # "...; measures: Value"
        try:
            mapping[col] = age_band_of(label)
        except ValueRangeError as exc:
            msg = f"{what}: column '{col}': {exc}"
            raise ValueRangeError(msg) from exc
    total_cols = [c for c in raw.columns if "total" in normalise_name(c)]
    raw = drop_non_data_rows(raw, code_col, age_cols, what=what)
    out = pd.DataFrame({"area_code": clean_codes(raw[code_col]).astype(str).to_numpy()})
    for band in AGE_BANDS:
        cols = [c for c, b in mapping.items() if b == band]
        if not cols:
            msg = (
                f"{what}: no age category column maps to {band}; age columns found: {age_cols[:10]}"
            )
            raise ValueRangeError(msg)
        out[band] = np.sum(
            [to_number(raw[c], what=what, column=c).fillna(0.0).to_numpy() for c in cols], axis=0
        )
    summed = out[list(AGE_BANDS)].sum(axis=1)
    if total_cols:
        col = total_cols[0]
        out.insert(1, "population", to_number(raw[col], what=what, column=col).to_numpy())
    else:
        out.insert(1, "population", summed)
    out = _finish(out, raw, code_col=code_col, vintage="Census 2021", what=what)
    add_note(
        out,
        f"{what}: {len(age_cols)} Census age category columns mapped to 0-15, 16-64 and 65+",
    )
    return out


def _syoa_columns(raw: pd.DataFrame) -> dict[str, tuple[str | None, int]]:
    cols: dict[str, tuple[str | None, int]] = {}
    for col in raw.columns:
        m = _SYOA.match(normalise_name(col))
        if m:
            cols[str(col)] = (m.group(1), int(m.group(2)))
    return cols


def _mid_year(raw: pd.DataFrame, what: str) -> pd.DataFrame:
    code_col = find_column(raw, AREA_CODE_ALIASES, what=what, role="LSOA code")
    syoa = _syoa_columns(raw)
    unsexed = {c: a for c, (s, a) in syoa.items() if s is None}
    use = unsexed if unsexed else {c: a for c, (_, a) in syoa.items()}
    if not use:
        msg = (
            f"{what}: no single-year-of-age columns (expected 0..90 or F0..F90/M0..M90); "
            f"found {list(raw.columns)[:25]}"
        )
        raise DataFileError(msg)
    total_col = find_column(raw, _TOTAL_WIDE_ALIASES, what=what, role="total", required=False)
    raw = drop_non_data_rows(raw, code_col, list(use), what=what)
    codes = clean_codes(raw[code_col]).astype(str)
    out = pd.DataFrame({"area_code": codes.to_numpy()})
    bands = {"pop_0_15": (0, 15), "pop_16_64": (16, 64), "pop_65_plus": (65, 999)}
    for band, (lo, hi) in bands.items():
        cols = [c for c, a in use.items() if lo <= a <= hi]
        values = [to_number(raw[c], what=what, column=c).fillna(0.0) for c in cols]
        out[band] = np.sum([v.to_numpy() for v in values], axis=0) if values else 0.0
    summed = out[list(AGE_BANDS)].sum(axis=1)
    if total_col:
        out.insert(1, "population", to_number(raw[total_col], what=what, column=total_col))
        gap = (out["population"] - summed).abs()
        if (gap > 1.0).any():
            add_note(
                raw,
                f"{what}: '{total_col}' differs from the sum of ages in {int((gap > 1).sum())} "
                "area(s); the published total is used for population",
            )
    else:
        out.insert(1, "population", summed)
    return _finish(out, raw, code_col=code_col, vintage="ONS mid-year estimates", what=what)


def _find_prefix(raw: pd.DataFrame, prefixes: tuple[str, ...], *, what: str, role: str) -> str:
    for col in raw.columns:
        norm = normalise_name(col)
        if any(norm.startswith(normalise_name(p)) for p in prefixes):
            return str(col)
    msg = (
        f"{what}: no {role} column; expected a column starting with {list(prefixes)}; "
        f"found {list(raw.columns)[:25]}"
    )
    raise DataFileError(msg)


def _iod_denominators(raw: pd.DataFrame, what: str, share: float) -> pd.DataFrame:
    if not 0.0 <= share <= 1.0:
        msg = f"share_65_of_60_plus must be within [0, 1]; got {share}"
        raise ValueRangeError(msg)
    code_col = find_column(raw, AREA_CODE_ALIASES, what=what, role="LSOA code")
    total = _find_prefix(raw, ("Total population: mid",), what=what, role="total population")
    kids = _find_prefix(raw, ("Dependent Children aged 0-15",), what=what, role="aged 0-15")
    adults = _find_prefix(raw, ("Population aged 16-59",), what=what, role="aged 16-59")
    older = _find_prefix(raw, ("Older population aged 60 and over",), what=what, role="aged 60+")
    raw = drop_non_data_rows(raw, code_col, [total, kids, adults, older], what=what)
    num = {
        c: to_number(raw[c], what=what, column=c).to_numpy() for c in (total, kids, adults, older)
    }
    out = pd.DataFrame(
        {
            "area_code": clean_codes(raw[code_col]).astype(str).to_numpy(),
            "population": num[total],
            "pop_0_15": num[kids],
            "pop_16_64": num[adults] + (1.0 - share) * num[older],
            "pop_65_plus": share * num[older],
        }
    )
    year = re.search(r"mid\s*(\d{4})", total)
    vintage = f"IoD denominators (mid-{year.group(1)})" if year else "IoD denominators"
    out = _finish(out, raw, code_col=code_col, vintage=vintage, what=what)
    out.attrs["approximate_age_bands"] = True
    add_note(
        out,
        f"{what}: age bands APPROXIMATE: the file gives 0-15, 16-59 and 60+; 65+ is taken as "
        f"{share:.0%} of 60+ (England mid-2015 share) and the rest of 60+ is added to 16-64",
    )
    return out


def read_census_total(path: str | Path) -> pd.DataFrame:
    """Read Census 2021 usual residents per area (total only; age bands NaN).

    Raises
    ------
    EmptyInputError, MissingColumnError, DuplicateKeyError, ValueRangeError
        Empty file, no code or count column, a code used twice, bad counts.
    """
    p = Path(path)
    return _census_total(read_table(p, what="population file"), f"{p} (population)")


def read_census_age(path: str | Path) -> pd.DataFrame:
    """Read Census 2021 usual residents by age category into our bands.

    Long form (one row per area and category: ``lsoa21_code, age_group,
    usual_residents``) or wide, as in the Census bulk files (``geography code,
    Age: Total, Age: Aged 4 years and under, ...``; a category straddling
    15/16 or 64/65, e.g. TS007A's "Aged 15 to 19 years", is an error: use TS007
    single years or 6 categories).

    Raises
    ------
    EmptyInputError, MissingColumnError, DuplicateKeyError, ValueRangeError
        As :func:`read_census_total`; also an age category that straddles a band.
    """
    p = Path(path)
    raw = read_table(p, what="population-by-age file")
    what = f"{p} (population by age)"
    long_form = find_column(raw, _AGE_LABEL_ALIASES, what=what, role="age", required=False)
    if not long_form and len(_age_category_columns(raw)) >= 3:
        return _census_age_wide(raw, what)
    return _census_age(raw, what)


def read_mid_year(path: str | Path) -> pd.DataFrame:
    """Read ONS mid-year LSOA population estimates by single year of age (CSV).

    Raises
    ------
    EmptyInputError, MissingColumnError, DuplicateKeyError, ValueRangeError, DataFileError
        As :func:`read_census_total`; also no single-year-of-age columns.
    """
    p = Path(path)
    return _mid_year(read_table(p, what="mid-year estimates file"), f"{p} (mid-year estimates)")


def read_iod_denominators(
    path: str | Path, *, share_65_of_60_plus: float = SHARE_65_OF_60_PLUS_ENGLAND_2015
) -> pd.DataFrame:
    """Read IoD population denominators (IoD2019 File 6; IoD File 7 columns too).

    The file gives 0-15, 16-59 and 60+. ``pop_65_plus`` is
    ``share_65_of_60_plus`` x (60+) and ``pop_16_64`` is 16-59 plus the rest of
    60+; ``attrs["approximate_age_bands"]`` is True and a note says so.
    Counts are mid-2015 residents excluding prisoners, on LSOA 2011.
    """
    p = Path(path)
    what = f"{p} (IoD denominators)"
    return _iod_denominators(read_table(p, what="IoD denominators file"), what, share_65_of_60_plus)


def read_population(path: str | Path) -> pd.DataFrame:
    """Read any supported population layout, recognised from its columns.

    Examples of recognised layouts: Census total (``LSOA21CD, Population``),
    Census long form by age (an age-category column), mid-year estimates
    (single-year-of-age columns), IoD denominators (``Total population: mid
    2015 ...``).

    Raises
    ------
    EmptyInputError, MissingColumnError, DuplicateKeyError, ValueRangeError
        As the specific readers.
    """
    p = Path(path)
    raw = read_table(p, what="population file")
    norms = [normalise_name(c) for c in raw.columns]
    if any(n.startswith("total population mid") for n in norms):
        return _iod_denominators(raw, f"{p} (IoD denominators)", SHARE_65_OF_60_PLUS_ENGLAND_2015)
    if find_column(raw, _AGE_LABEL_ALIASES, what=str(p), role="age", required=False):
        return _census_age(raw, f"{p} (population by age)")
    if len(_syoa_columns(raw)) >= 10:
        return _mid_year(raw, f"{p} (mid-year estimates)")
    if len(_age_category_columns(raw)) >= 3:
        return _census_age_wide(raw, f"{p} (population by age)")
    return _census_total(raw, f"{p} (population)")
