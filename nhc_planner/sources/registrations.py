"""NHS England "Patients Registered at a GP Practice": practice x LSOA x sex.

NHS England (formerly NHS Digital) publishes, each quarter (January, April,
July, October), how many patients each GP practice has living in each lower
layer super output area (LSOA). The official files are

* ``gp-reg-pat-prac-lsoa-all.csv``: one row per practice x LSOA, ``SEX = ALL``;
* ``gp-reg-pat-prac-lsoa-male-female-<Mon>-<YY>.csv``: one row per practice x
  LSOA x sex, ``SEX`` ``MALE`` / ``FEMALE``;

both with the columns ``PUBLICATION, EXTRACT_DATE, PRACTICE_CODE,
PRACTICE_NAME, LSOA_CODE, SEX, NUMBER_OF_PATIENTS``. Accepted variants: any
case or spacing of those names, ``ORG_CODE`` for ``PRACTICE_CODE``,
``LSOA11CD``/``LSOA21CD``/``LSOA_2011_CODE``/``LSOA_2021_CODE`` for
``LSOA_CODE`` (they also say the code year), ``Male``/``Female``/``Persons``
for the sex values, and a wide file with ``ALL_PATIENTS``/``MALE_PATIENTS``/
``FEMALE_PATIENTS`` (or ``NUMBER_OF_PATIENTS`` without ``SEX``) instead of the
``SEX`` rows. LSOA codes are 2011 codes up to 2024 and 2021 codes since: the
code year comes from the column name when it says, else from the codes
themselves against the LSOA 2011 -> 2021 lookup (codes that exist only in one
year), else 2021 (noted); the build carries 2011 counts onto 2021 areas with
the same lookup as every other table.

Since the move to the Personal Demographics Service (2024) patients with an
invalid postcode are allocated to an LSOA marked ``CLOSED``; such rows (and
the markers in :data:`NO_AREA_MARKERS`) count towards the practice's list but
not towards any area, with a note. Codes outside the region are expected and
are simply not joined; only codes that are no LSOA code at all are an error.

:func:`read_gp_registrations` returns the long table;
:func:`registrations_by_area`, :func:`practice_list_sizes` and
:func:`practice_catchments` derive the per-area demand, each practice's list
size and each practice's catchment; :func:`read_gp_registrations_areas` is
the declared source's reader (per-area counts the build joins onto the areas).
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from nhc_planner._errors import DuplicateKeyError, EmptyInputError, ValueRangeError
from nhc_planner.sources._tables import (
    add_note,
    clean_codes,
    code_year_of,
    find_column,
    read_table,
    to_number,
)

__all__ = [
    "NO_AREA_MARKERS",
    "REGISTRATION_COLUMNS",
    "practice_catchments",
    "practice_list_sizes",
    "read_gp_registrations",
    "read_gp_registrations_areas",
    "registrations_by_area",
]

#: The official columns of the LSOA files, in order.
REGISTRATION_COLUMNS: tuple[str, ...] = (
    "PUBLICATION",
    "EXTRACT_DATE",
    "PRACTICE_CODE",
    "PRACTICE_NAME",
    "LSOA_CODE",
    "SEX",
    "NUMBER_OF_PATIENTS",
)

#: LSOA values that mean "no small area" (patients counted in the list, not in any area).
NO_AREA_MARKERS: frozenset[str] = frozenset({"CLOSED", "UNKNOWN", "NO2011", "NO2021", ""})

_PRACTICE = ("PRACTICE_CODE", "ORG_CODE", "Practice code", "practice")
_NAME = ("PRACTICE_NAME", "ORG_NAME", "Practice name")
_LSOA = (
    "LSOA_2021_CODE",
    "LSOA21CD",
    "LSOA_2011_CODE",
    "LSOA11CD",
    "LSOA_CODE",
    "lsoa_code",
    "area_code",
)
_SEX = ("SEX", "GENDER")
_COUNT = ("NUMBER_OF_PATIENTS", "PATIENTS", "Number of patients")
_WIDE = {"ALL": "ALL_PATIENTS", "MALE": "MALE_PATIENTS", "FEMALE": "FEMALE_PATIENTS"}
_SEXES = {
    "ALL": "ALL",
    "PERSONS": "ALL",
    "PERSON": "ALL",
    "TOTAL": "ALL",
    "MALE": "MALE",
    "MALES": "MALE",
    "M": "MALE",
    "FEMALE": "FEMALE",
    "FEMALES": "FEMALE",
    "F": "FEMALE",
}
_LSOA_RE = re.compile(r"^[EWX]01\d{6}$")  # X: the synthetic demo's codes
_N_EXAMPLES = 5


def _long_rows(raw: pd.DataFrame, *, what: str) -> tuple[pd.DataFrame, str]:
    """The file's rows as practice, name, lsoa, sex, count text (long or wide layout)."""
    code = find_column(raw, _PRACTICE, what=what, role="practice code (PRACTICE_CODE)")
    name = find_column(raw, _NAME, what=what, role="practice name", required=False)
    lsoa = find_column(raw, _LSOA, what=what, role="LSOA code (LSOA_CODE)")
    sex = find_column(raw, _SEX, what=what, role="sex", required=False)
    count = find_column(raw, _COUNT, what=what, role="patients", required=False)
    names = raw[name] if name else raw[code]
    base = {"practice_code": raw[code], "practice_name": names, "lsoa": raw[lsoa]}
    if count is not None:
        sexes = raw[sex] if sex else pd.Series("ALL", index=raw.index)
        frame = pd.DataFrame({**base, "sex": sexes, "count": raw[count], "_col": count})
        return frame, lsoa
    wide = {s: find_column(raw, (c,), what=what, role=c, required=False) for s, c in _WIDE.items()}
    if not any(wide.values()):
        find_column(raw, _COUNT, what=what, role="patients (NUMBER_OF_PATIENTS)")
    parts = [
        pd.DataFrame({**base, "sex": s, "count": raw[col], "_col": col})
        for s, col in wide.items()
        if col is not None
    ]
    return pd.concat(parts, ignore_index=True), lsoa


def _code_year(
    codes: pd.Series, column: str, lookup: pd.DataFrame | None, notes: list[str], what: str
) -> int:
    """The LSOA code year: the column name, else the codes against the 2011->2021 lookup."""
    year = code_year_of(column)
    if year is not None:
        return year
    if lookup is not None:
        c11, c21 = set(lookup["lsoa11_code"]), set(lookup["lsoa21_code"])
        seen = set(codes)
        only11, only21 = len(seen & (c11 - c21)), len(seen & (c21 - c11))
        if only11 or only21:
            year = 2011 if only11 > only21 else 2021
            notes.append(
                f"{what}: LSOA codes read as {year} codes ({max(only11, only21)} code(s) exist "
                f"only in {year}, {min(only11, only21)} only in the other year)"
            )
            return year
    notes.append(f"{what}: LSOA code year not stated; read as 2021 codes (files since 2025)")
    return 2021


def read_gp_registrations(
    path: str | Path,
    *,
    lsoa_lookup: str | Path | pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Read an NHS England GP registrations LSOA file (see the module docstring).

    Parameters
    ----------
    path
        ``gp-reg-pat-prac-lsoa-all.csv``, the male/female file, or a variant.
    lsoa_lookup
        LSOA 2011 -> 2021 lookup (path or
        :func:`~nhc_planner.sources.lookups.read_lsoa11_lsoa21` output), used to
        tell 2011 from 2021 codes when the column name does not say.

    Returns
    -------
    pandas.DataFrame
        One row per practice x LSOA x sex: ``practice_code``, ``practice_name``,
        ``area_code`` (the LSOA code; ``""`` for rows without an area, e.g.
        ``CLOSED``), ``sex`` (``ALL``, ``MALE`` or ``FEMALE``) and ``patients``
        (float). ``attrs``: ``code_year``, ``extract_date``, ``source``, ``notes``.

    Raises
    ------
    MissingColumnError
        No practice code, LSOA code or patient count column.
    DuplicateKeyError
        The same practice x LSOA x sex twice.
    ValueRangeError
        A count that is not a number, negative or blank; an LSOA value that
        is no LSOA code at all (how many, examples); a sex other than
        all/male/female.
    EmptyInputError
        No rows.
    """
    from nhc_planner.sources.lookups import read_lsoa11_lsoa21

    p = Path(path)
    what = f"{p} (GP registrations by LSOA)"
    raw = read_table(p, what="GP registrations file")
    notes: list[str] = list(raw.attrs.get("notes", []))
    if raw.empty:
        msg = f"{what}: the file has no rows"
        raise EmptyInputError(msg)
    rows, lsoa_col = _long_rows(raw, what=what)
    counts = pd.concat(
        [
            to_number(g["count"], what=what, column=str(col), allow_missing=False)
            for col, g in rows.groupby("_col", sort=False)
        ]
    ).reindex(rows.index)
    if (counts < 0).any():
        bad = rows.loc[counts < 0, ["practice_code", "lsoa"]].astype(str).agg(" x ".join, axis=1)
        msg = (
            f"{what}: patient counts must be zero or more; {int((counts < 0).sum())} negative, "
            f"e.g. {bad.tolist()[:_N_EXAMPLES]}"
        )
        raise ValueRangeError(msg)
    sex_text = rows["sex"].astype("string").str.strip().str.upper().fillna("")
    sex = sex_text.map(_SEXES)
    if sex.isna().any():
        bad_sex = sorted(set(sex_text[sex.isna()]))[:_N_EXAMPLES]
        msg = f"{what}: column SEX has value(s) {bad_sex}; expected ALL, MALE or FEMALE"
        raise ValueRangeError(msg)
    lsoa = rows["lsoa"].astype("string").str.strip().str.upper().fillna("")
    no_area = lsoa.isin(NO_AREA_MARKERS)
    unknown = ~no_area & ~lsoa.str.match(_LSOA_RE.pattern)
    if unknown.any():
        examples = sorted(set(rows.loc[unknown, "lsoa"].astype(str)))[:_N_EXAMPLES]
        msg = (
            f"{what}: column '{lsoa_col}' has {int(unknown.sum())} row(s) whose value is no LSOA "
            f"code (expected E01 or W01 and 6 digits, or CLOSED), e.g. {examples}"
        )
        raise ValueRangeError(msg)
    out = pd.DataFrame(
        {
            "practice_code": clean_codes(rows["practice_code"]).astype(str).str.upper(),
            "practice_name": rows["practice_name"].astype("string").str.strip().fillna(""),
            "area_code": lsoa.where(~no_area, "").astype(str),
            "sex": sex.astype(str),
            "patients": counts.to_numpy(float),
        }
    )
    key = out["practice_code"] + " x " + out["area_code"] + " x " + out["sex"]
    dup = key[key.duplicated(keep=False) & ~no_area.to_numpy()]
    if len(dup):
        msg = (
            f"{what}: one row per practice x LSOA x sex is expected; {dup.nunique()} appear "
            f"more than once, e.g. {sorted(set(dup))[:_N_EXAMPLES]}"
        )
        raise DuplicateKeyError(msg)
    if no_area.any():
        notes.append(
            f"{what}: {int(no_area.sum())} row(s) without an LSOA (e.g. CLOSED): their "
            f"{out.loc[no_area.to_numpy(), 'patients'].sum():,.0f} patient(s) count "
            "towards their practice's list but no area"
        )
    table = read_lsoa11_lsoa21(lsoa_lookup) if isinstance(lsoa_lookup, str | Path) else lsoa_lookup
    year = _code_year(out.loc[~no_area.to_numpy(), "area_code"], lsoa_col, table, notes, what)
    out.attrs.update(
        code_year=year,
        source=str(p),
        notes=notes,
        extract_date=_first(raw, "EXTRACT_DATE"),
        vintage=f"GP registrations {_first(raw, 'EXTRACT_DATE') or p.name}",
    )
    return out


def _first(raw: pd.DataFrame, column: str) -> str:
    col = find_column(raw, (column,), what="", role=column, required=False)
    if col is None or raw.empty:
        return ""
    return str(raw[col].astype("string").dropna().iloc[0]) if raw[col].notna().any() else ""


def _persons(table: pd.DataFrame) -> pd.DataFrame:
    """Rows of all persons: the ``ALL`` rows, else male + female summed."""
    if (table["sex"] == "ALL").any():
        return table[table["sex"] == "ALL"]
    both = table.groupby(["practice_code", "area_code"], sort=True, as_index=False).agg(
        practice_name=("practice_name", "first"), patients=("patients", "sum")
    )
    return both.assign(sex="ALL")


def registrations_by_area(table: pd.DataFrame) -> pd.DataFrame:
    """Registered patients per LSOA, summed over practices.

    Returns
    -------
    pandas.DataFrame
        ``area_code``, ``registered_patients`` and, when the file splits by
        sex, ``registered_male`` and ``registered_female``; one row per LSOA
        (rows without an area left out), sorted by code; ``attrs`` kept.

    Examples
    --------
    >>> t = pd.DataFrame({"practice_code": ["A", "B", "A"], "practice_name": "",
    ...     "area_code": ["E01000001", "E01000001", "E01000002"], "sex": "ALL",
    ...     "patients": [10.0, 5.0, 3.0]})
    >>> registrations_by_area(t).values.tolist()
    [['E01000001', 15.0], ['E01000002', 3.0]]
    """
    areas = table[table["area_code"] != ""]
    out = (
        _persons(areas)
        .groupby("area_code", sort=True)["patients"]
        .sum()
        .rename("registered_patients")
        .reset_index()
    )
    for sex in ("MALE", "FEMALE"):
        part = areas[areas["sex"] == sex]
        if len(part):
            col = f"registered_{sex.lower()}"
            out[col] = out["area_code"].map(part.groupby("area_code")["patients"].sum()).fillna(0.0)
    out.attrs.update(table.attrs)
    return out


def practice_list_sizes(table: pd.DataFrame) -> pd.DataFrame:
    """Each practice's list size (all its patients, with or without an area).

    Returns
    -------
    pandas.DataFrame
        ``practice_code``, ``practice_name``, ``list_size``, ``areas`` (number
        of LSOAs its patients live in), sorted by code.
    """
    persons = _persons(table)
    out = persons.groupby("practice_code", sort=True).agg(
        practice_name=("practice_name", "first"),
        list_size=("patients", "sum"),
        areas=("area_code", lambda s: int((s != "").sum())),
    )
    return out.reset_index()


def practice_catchments(table: pd.DataFrame, *, share: float = 1.0) -> pd.DataFrame:
    """Each practice's catchment: the LSOAs its patients live in, largest first.

    Parameters
    ----------
    table
        :func:`read_gp_registrations` output.
    share
        Keep, per practice, the fewest LSOAs holding at least this share of
        its area-coded patients (1.0 = every LSOA with a patient).

    Returns
    -------
    pandas.DataFrame
        ``practice_code``, ``area_code``, ``patients``, ``share`` (of the
        practice's area-coded patients), ``cumulative_share``.

    Raises
    ------
    ValueRangeError
        ``share`` outside (0, 1].
    """
    if not 0 < share <= 1:
        msg = f"practice_catchments: share must be in (0, 1]; found {share}"
        raise ValueRangeError(msg)
    rows = _persons(table[table["area_code"] != ""])
    rows = rows[rows["patients"] > 0].sort_values(
        ["practice_code", "patients", "area_code"], ascending=[True, False, True]
    )
    total = rows.groupby("practice_code")["patients"].transform("sum")
    out = rows[["practice_code", "area_code", "patients"]].assign(share=rows["patients"] / total)
    out["cumulative_share"] = out.groupby("practice_code")["share"].cumsum()
    before = out["cumulative_share"] - out["share"]
    out = out[before < share - 1e-12]
    return out.reset_index(drop=True)


def read_gp_registrations_areas(
    path: str | Path, *, lsoa_lookup: str | Path | pd.DataFrame | None = None
) -> pd.DataFrame:
    """The declared source's reader: registered patients per LSOA.

    See :func:`registrations_by_area`; a note says how many practices and
    patients the file holds.
    """
    table = read_gp_registrations(path, lsoa_lookup=lsoa_lookup)
    out = registrations_by_area(table)
    lists = practice_list_sizes(table)
    add_note(
        out,
        f"{Path(path).name}: {len(lists)} practice(s), {lists['list_size'].sum():,.0f} "
        f"registered patient(s) in {len(out)} LSOA(s)",
    )
    return out
