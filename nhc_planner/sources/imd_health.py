"""IMD 2025 Health Deprivation and Disability domain and its indicators, per LSOA 2021.

The English Indices of Deprivation 2025 (MHCLG, OGL v3.0) publish, per LSOA 2021:

* File 7 (all ranks, scores and deciles): the Health Deprivation and Disability
  domain's ``Health Deprivation and Disability Score``, ``... Rank (where 1 is
  most deprived)`` and ``... Decile (where 1 is most deprived 10% of LSOAs)``
  (tidy variants ``Health_score``, ``Health_rank``, ``Health_decile`` accepted);
* File 8 (underlying indicators): the domain's four indicators, ``Years of
  potential life lost indicator``, ``Comparative illness and disability ratio
  indicator``, ``Acute morbidity indicator`` and ``Mood and anxiety disorders
  indicator`` (tidy variants such as ``years_of_potential_life_lost_indicator``,
  ``mental_health_indicator`` accepted). For each, higher means more need.

:func:`read_imd_health` reads either file (or one with both) and returns, per
area, ``imd_health_score`` and ``imd_health_decile`` (published) and, for each
indicator found, its value and its **decile over the file's rows**
(``<term>_decile``, 1 = highest tenth): national deciles when the file is the
national one, as published (a note says so when the file has fewer rows than
the national count). These become need terms (:mod:`nhc_planner.need`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from nhc_planner._errors import MissingColumnError
from nhc_planner.sources._tables import (
    AREA_CODE_ALIASES,
    add_note,
    check_range,
    check_unique,
    clean_codes,
    drop_non_data_rows,
    find_column,
    guess_code_year,
    read_table,
    to_number,
)
from nhc_planner.sources.limits import IMD_LSOA_COUNT_BY_YEAR

__all__ = ["HEALTH_INDICATORS", "indicator_deciles", "read_imd_health"]

_SCORE = (
    "Health Deprivation and Disability Score",
    "Health_score",
    "health_score",
    "Health Score",
)
_DECILE = (
    "Health Deprivation and Disability Decile (where 1 is most deprived 10% of LSOAs)",
    "Health Deprivation and Disability Decile",
    "Health_decile",
    "health_decile",
    "Health Decile",
)

#: term -> accepted column names of the File 8 indicator (higher = more need).
HEALTH_INDICATORS: dict[str, tuple[str, ...]] = {
    "yll": (
        "Years of potential life lost indicator",
        "years_of_potential_life_lost_indicator",
    ),
    "cidr": (
        "Comparative illness and disability ratio indicator",
        "comparative_illness_and_disability_ratio_indicator",
    ),
    "acute_morbidity": ("Acute morbidity indicator", "acute_morbidity_indicator"),
    "mental_health": (
        "Mood and anxiety disorders indicator",
        "mental_health_indicator",
        "mood_and_anxiety_disorders_indicator",
    ),
}


def indicator_deciles(values: np.ndarray) -> np.ndarray:
    """Decile of each value over all of them, 1 = the highest tenth (most need).

    Ranked like the IMD: rank 1 = highest value (ties share the smaller rank),
    decile = ``ceil(10 x rank / N)``.

    Examples
    --------
    >>> indicator_deciles(np.arange(1.0, 11.0)).tolist()
    [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]
    """
    v = np.asarray(values, dtype=float)
    n = v.size
    if n == 0:
        return np.zeros(0, dtype=int)
    rank = pd.Series(-v).rank(method="min").to_numpy()
    return np.ceil(10.0 * rank / n).clip(1, 10).astype(int)


def read_imd_health(path: str | Path) -> pd.DataFrame:
    """Read the IMD 2025 health domain (File 7) and/or its indicators (File 8).

    Returns
    -------
    pandas.DataFrame
        ``area_code`` and whichever of ``imd_health_score, imd_health_decile``
        and ``<term>_indicator, <term>_decile`` (terms of
        :data:`HEALTH_INDICATORS`) the file has; ``attrs`` ``code_year``,
        ``vintage``, ``source``, ``notes``.

    Raises
    ------
    MissingColumnError
        No LSOA code column, or neither the domain nor any indicator.
    DuplicateKeyError
        A code twice.
    ValueRangeError
        Non-numeric values, deciles outside 1..10, or a blank indicator.
    """
    p = Path(path)
    what = f"{p} (IMD health domain)"
    raw = read_table(p, what="IMD health domain file")
    code_col = find_column(raw, AREA_CODE_ALIASES, what=what, role="LSOA code")
    score_col = find_column(raw, _SCORE, what=what, role="health domain score", required=False)
    decile_col = find_column(raw, _DECILE, what=what, role="health domain decile", required=False)
    ind_cols = {
        term: col
        for term, names in HEALTH_INDICATORS.items()
        if (col := find_column(raw, names, what=what, role=term, required=False))
    }
    if decile_col is None and not ind_cols:
        msg = (
            f"{what}: neither the Health Deprivation and Disability domain decile (accepted: "
            f"{list(_DECILE)}) nor any of its indicators (e.g. {HEALTH_INDICATORS['cidr']}) "
            f"is in the file; found columns {list(raw.columns)[:20]}"
        )
        raise MissingColumnError(msg)
    value_cols = [c for c in (score_col, decile_col, *ind_cols.values()) if c]
    raw = drop_non_data_rows(raw, code_col, value_cols, what=what)
    codes = clean_codes(raw[code_col]).astype(str)
    check_unique(codes, what=what, column=code_col)
    out = pd.DataFrame({"area_code": codes.to_numpy()})
    if score_col:
        out["imd_health_score"] = to_number(raw[score_col], what=what, column=score_col).to_numpy()
    if decile_col:
        dec = to_number(raw[decile_col], what=what, column=decile_col, allow_missing=False)
        check_range(dec, what=what, column=decile_col, low=1, high=10, codes=codes)
        out["imd_health_decile"] = dec.to_numpy()
    for term, col in ind_cols.items():
        values = to_number(raw[col], what=what, column=col, allow_missing=False).to_numpy()
        out[f"{term}_indicator"] = values
        out[f"{term}_decile"] = indicator_deciles(values).astype(float)
    year = guess_code_year(code_col, len(out))[0]
    out.attrs.update(raw.attrs)
    out.attrs["code_year"] = year
    out.attrs["vintage"] = "IoD2025" if year == 2021 else "IoD2019"
    out.attrs["source"] = str(p)
    national = IMD_LSOA_COUNT_BY_YEAR.get(year)
    if ind_cols and national is not None and len(out) < 0.99 * national:
        add_note(
            out,
            f"{what}: {len(out)} rows, fewer than the national count; indicator deciles are "
            "over this file's rows, not national",
        )
    return out
