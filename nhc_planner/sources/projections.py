"""ONS subnational population projections (SNPP), 2022-based: population in a future year.

ONS publishes projected residents per local authority, sex and single year of
age for every year of the projection ("Population projections for local
authorities by single year of age and sex, England, 2022-based", released
24 June 2025), as three CSV files ``2022 SNPP Population persons.csv`` /
``... females.csv`` / ``... males.csv`` in the official long-by-age, wide-by-year
layout::

    AREA_CODE, AREA_NAME, COMPONENT, SEX, AGE_GROUP, 2022, 2023, ..., 2047
    E08000035, Leeds, Population, persons, 0, 9123, 9050, ...
    ...
    E08000035, Leeds, Population, persons, 90 and over, ...
    E08000035, Leeds, Population, persons, All ages, ...

:func:`read_snpp` reads that layout (either sex file, or the persons file) and
returns, per authority, the **growth ratio** of each of our age bands (0-15,
16-64, 65+, and all ages) in every projection year relative to the projection's
first year (mid-2022). The ratios are joined per authority onto the areas (join
``"la"``) as columns ``snpp_<year>_<band>``; :mod:`nhc_planner.projections`
applies them to each area's own Census 2021 age bands (the apportionment is
stated there).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from nhc_planner._errors import DataFileError, DuplicateKeyError, ValueRangeError
from nhc_planner.sources._tables import (
    add_note,
    clean_codes,
    find_column,
    read_table,
    to_number,
)

__all__ = ["SNPP_BANDS", "SNPP_COLUMN_RE", "read_snpp", "snpp_column"]

#: Band suffixes of the joined columns (our age bands and all ages).
SNPP_BANDS: tuple[str, ...] = ("all", "pop_0_15", "pop_16_64", "pop_65_plus")

#: Pattern of a joined SNPP column: ``snpp_<year>_<band>``.
SNPP_COLUMN_RE = re.compile(r"^snpp_(\d{4})_(all|pop_0_15|pop_16_64|pop_65_plus)$")

_CODE_ALIASES = ("AREA_CODE", "Area code", "LAD code", "la_code", "code")
_NAME_ALIASES = ("AREA_NAME", "Area name", "LAD name", "la_name", "name")
_COMPONENT_ALIASES = ("COMPONENT", "component")
_SEX_ALIASES = ("SEX", "sex")
_AGE_ALIASES = ("AGE_GROUP", "age_group", "AGE", "age")
_SEX_WORDS = {
    "persons": "persons",
    "person": "persons",
    "all": "persons",
    "all persons": "persons",
    "both": "persons",
    "0": "persons",
    "females": "female",
    "female": "female",
    "f": "female",
    "2": "female",
    "males": "male",
    "male": "male",
    "m": "male",
    "1": "male",
}
_YEAR_COL = re.compile(r"^\s*(\d{4})\s*$")
_BAND_AGES = {"pop_0_15": (0, 15), "pop_16_64": (16, 64), "pop_65_plus": (65, 999)}


def snpp_column(year: int, band: str) -> str:
    """The area column holding the growth ratio of ``band`` in ``year``.

    Examples
    --------
    >>> snpp_column(2030, "pop_65_plus")
    'snpp_2030_pop_65_plus'
    """
    return f"snpp_{int(year)}_{band}"


def _age_of(label: str, what: str, column: str) -> int | None:
    """Single year of age of an ``AGE_GROUP`` label; None for the all-ages row."""
    text = str(label).strip().lower()
    if text in ("all ages", "all", "total"):
        return None
    m = re.fullmatch(r"(\d{1,3})(?:\s*(?:and over|\+|plus))?", text)
    if m is None:
        msg = (
            f"{what}: column '{column}' has age label '{label}'; expected single years "
            "'0'..'89', '90 and over' and 'All ages'"
        )
        raise ValueRangeError(msg)
    return int(m.group(1))


def _sex_rows(frame: pd.DataFrame, sex: str, what: str, sex_col: str | None) -> pd.DataFrame:
    """The rows of the requested sex (persons = female + male when no persons rows)."""
    if sex_col is None:
        return frame
    words = frame[sex_col].astype(str).str.strip().str.lower().map(_SEX_WORDS)
    unknown = sorted(set(frame.loc[words.isna(), sex_col].astype(str)))
    if unknown:
        msg = (
            f"{what}: column '{sex_col}' has value(s) {unknown[:5]}; expected persons, "
            "female(s) or male(s)"
        )
        raise ValueRangeError(msg)
    frame = frame.assign(_sex=words.to_numpy())
    have = set(frame["_sex"])
    if sex in have:
        return frame[frame["_sex"] == sex]
    if sex == "persons" and {"female", "male"} <= have:
        return frame[frame["_sex"].isin(["female", "male"])]
    msg = f"{what}: no rows for sex '{sex}'; the file has {sorted(have)}"
    raise ValueRangeError(msg)


def read_snpp(path: str | Path, *, sex: str = "persons") -> pd.DataFrame:
    """Read ONS subnational population projections into growth ratios per authority.

    Parameters
    ----------
    path
        An SNPP CSV in the official layout (``AREA_CODE, AREA_NAME, COMPONENT,
        SEX, AGE_GROUP, 2022, 2023, ...``). Rows whose ``COMPONENT`` is not
        ``Population`` (components-of-change files) are ignored.
    sex
        ``"persons"`` (default; the female and male rows are summed when the
        file has no persons rows), ``"female"`` or ``"male"``.

    Returns
    -------
    pandas.DataFrame
        ``la_code, la_name`` and, for each projection year ``Y`` and band ``b``
        of :data:`SNPP_BANDS`, ``snpp_<Y>_<b>``: the authority's projected
        residents of that band in ``Y`` divided by those in the first year.
        ``attrs``: ``base_year``, ``years``, ``sex``, ``vintage``, ``source``,
        ``notes``.

    Raises
    ------
    MissingColumnError
        No area code, age or year columns.
    DuplicateKeyError
        An authority x sex x age row twice.
    ValueRangeError
        Non-numeric or negative counts, unknown age or sex labels, a sex the
        file lacks, or an authority with no residents of a band in the first year.
    EmptyInputError, DataFileError
        Empty or unreadable file.
    """
    p = Path(path)
    what = f"{p} (population projections)"
    sex_key = _SEX_WORDS.get(sex.strip().lower())
    if sex_key is None:
        msg = f"SNPP sex must be 'persons', 'female' or 'male'; got '{sex}'"
        raise ValueRangeError(msg)
    raw = read_table(p, what="population projections file")
    code_col = find_column(raw, _CODE_ALIASES, what=what, role="area code (AREA_CODE)")
    name_col = find_column(raw, _NAME_ALIASES, what=what, role="area name", required=False)
    age_col = find_column(raw, _AGE_ALIASES, what=what, role="age (AGE_GROUP)")
    comp_col = find_column(raw, _COMPONENT_ALIASES, what=what, role="component", required=False)
    sex_col = find_column(raw, _SEX_ALIASES, what=what, role="sex", required=False)
    years = {int(m.group(1)): str(c) for c in raw.columns if (m := _YEAR_COL.match(str(c)))}
    if not years:
        msg = (
            f"{what}: no year columns (expected '2022', '2023', ... as in the ONS file); "
            f"found columns {list(raw.columns)[:12]}"
        )
        raise DataFileError(msg)
    if comp_col is not None:
        raw = raw[raw[comp_col].astype(str).str.strip().str.lower() == "population"]
    raw = raw[clean_codes(raw[code_col]).notna()].reset_index(drop=True)
    if raw.empty:
        msg = f"{what}: no population rows with an area code in column '{code_col}'"
        raise DataFileError(msg)
    rows = _sex_rows(raw, sex_key, what, sex_col).reset_index(drop=True)
    key = clean_codes(rows[code_col]).astype(str) + " | " + rows[age_col].astype(str).str.strip()
    if sex_col is not None:
        key = key + " | " + rows["_sex"].astype(str)
    dup = key[key.duplicated(keep=False)]
    if len(dup):
        msg = (
            f"{what}: {dup.nunique()} authority x age{' x sex' if sex_col else ''} row(s) appear "
            f"more than once, e.g. {sorted(set(dup))[:3]}; one row per authority, sex and age"
        )
        raise DuplicateKeyError(msg)
    ages = rows[age_col].map(lambda s: _age_of(s, what, age_col))
    counts = np.column_stack(
        [to_number(rows[years[y]], what=what, column=years[y]).to_numpy() for y in sorted(years)]
    )
    if np.isnan(counts).any() or (counts < 0).any():
        bad = int((np.isnan(counts) | (counts < 0)).any(axis=1).sum())
        msg = (
            f"{what}: {bad} row(s) have a blank or negative projected count; expected residents "
            ">= 0 in every year column"
        )
        raise ValueRangeError(msg)
    return _ratios(rows, ages, counts, sorted(years), code_col, name_col, sex_key, what, p)


def _ratios(
    rows: pd.DataFrame,
    ages: pd.Series,
    counts: np.ndarray,
    years: list[int],
    code_col: str,
    name_col: str | None,
    sex: str,
    what: str,
    path: Path,
) -> pd.DataFrame:
    """Band totals per authority and year, divided by the first year's."""
    codes = clean_codes(rows[code_col]).astype(str).to_numpy()
    single = ages.notna().to_numpy()
    age = ages.fillna(-1).to_numpy(dtype=int)
    la = sorted(set(codes))
    pos = {c: k for k, c in enumerate(la)}
    idx = np.array([pos[c] for c in codes], dtype=int)
    totals: dict[str, np.ndarray] = {}
    for band, (lo, hi) in _BAND_AGES.items():
        sel = single & (age >= lo) & (age <= hi)
        totals[band] = np.zeros((len(la), len(years)))
        np.add.at(totals[band], idx[sel], counts[sel])
    totals["all"] = totals["pop_0_15"] + totals["pop_16_64"] + totals["pop_65_plus"]
    names = (
        pd.Series(rows[name_col].astype(str).to_numpy(), index=codes).groupby(level=0).first()
        if name_col
        else pd.Series(la, index=la)
    )
    out = pd.DataFrame({"la_code": la, "la_name": names.reindex(la).to_numpy()})
    notes: list[str] = []
    all_rows = ~single
    if all_rows.any():
        published = np.zeros((len(la), len(years)))
        np.add.at(published, idx[all_rows], counts[all_rows])
        off = np.abs(published - totals["all"]) > 1.0
        if off.any():
            notes.append(
                f"{what}: 'All ages' differs from the sum of single ages for "
                f"{int(off.any(axis=1).sum())} authorit(y/ies); the sum of ages is used"
            )
    cols: dict[str, np.ndarray] = {}
    for band in SNPP_BANDS:
        base = totals[band][:, 0]
        if (base <= 0).any():
            bad = [la[k] for k in np.flatnonzero(base <= 0)][:5]
            msg = (
                f"{what}: authorit(y/ies) {bad} have no residents in band {band} in {years[0]}; "
                "a growth ratio cannot be formed (are all the age rows there?)"
            )
            raise ValueRangeError(msg)
        for k, y in enumerate(years):
            cols[snpp_column(y, band)] = totals[band][:, k] / base
    out = pd.concat([out, pd.DataFrame(cols)], axis=1)
    out.attrs.update(
        {
            "base_year": years[0],
            "years": tuple(years),
            "sex": sex,
            "vintage": f"ONS SNPP {years[0]}-based ({sex}), {years[0]}-{years[-1]}",
            "source": str(path),
            "notes": notes,
        }
    )
    add_note(
        out,
        f"{what}: growth of each age band per authority relative to mid-{years[0]} "
        f"({len(la)} authorit(y/ies), {years[0]}-{years[-1]})",
    )
    return out
