"""English Indices of Deprivation: IMD score, rank and decile per LSOA.

Reads the official MHCLG files as users download them:

* IoD2019 File 1 (IMD rank and decile, ranks quoted with thousands
  separators such as ``"29,199"``) and File 2 (IMD and domain ranks/deciles).
  Neither holds scores: ``imd_score`` is NaN and ``attrs["has_scores"]`` is
  False ("ranks/deciles only"). Codes are LSOA **2011**.
* IoD2019 File 5/7 and IoD2025 File 7 (``"Index of Multiple Deprivation (IMD)
  Score"``, ``"... Rank (where 1 is most deprived)"``, ``"... Decile (where 1
  is most deprived 10% of LSOAs)"``), and tidy variants with ``IMD_score``,
  ``IMD_rank``, ``IMD_decile``. IoD2025 codes are LSOA **2021**.

Rank 1 and decile 1 are the most deprived; a higher score is more deprived.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from nhc_planner._errors import ValueRangeError
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
from nhc_planner.sources.limits import IMD_LSOA_COUNT, IMD_LSOA_COUNT_BY_YEAR, IMD_SCORE
from nhc_planner.sources.validate import check_decile_matches_rank, check_within

__all__ = ["IMD_COLUMNS", "read_imd"]

IMD_COLUMNS: tuple[str, ...] = ("area_code", "imd_score", "imd_rank", "imd_decile")

_SCORE_ALIASES = (
    "Index of Multiple Deprivation (IMD) Score",
    "IMD Score",
    "IMD_score",
    "imd_score",
    "IMD2019 Score",
    "IMD2025 Score",
)
_RANK_ALIASES = (
    "Index of Multiple Deprivation (IMD) Rank (where 1 is most deprived)",
    "Index of Multiple Deprivation (IMD) Rank",
    "IMD Rank",
    "IMD_rank",
    "imd_rank",
    "IMD2019 Rank",
    "IMD2025 Rank",
)
_DECILE_ALIASES = (
    "Index of Multiple Deprivation (IMD) Decile (where 1 is most deprived 10% of LSOAs)",
    "Index of Multiple Deprivation (IMD) Decile",
    "IMD Decile",
    "IMD_decile",
    "imd_decile",
    "IMD2019 Decile",
    "IMD2025 Decile",
)

_VINTAGE_BY_YEAR = {2011: "IoD2019", 2021: "IoD2025"}


def _national_counts(vintage: str | None, year: int, *, known: bool) -> tuple[int, ...]:
    """The national LSOA counts N a file's ranks may run to (1..N).

    From the vintage when given, else from the code year when the file (or
    the caller) says it, else any known vintage.
    """
    if vintage in IMD_LSOA_COUNT:
        return (IMD_LSOA_COUNT[vintage],)
    if known and year in IMD_LSOA_COUNT_BY_YEAR:
        return (IMD_LSOA_COUNT_BY_YEAR[year],)
    return tuple(sorted(IMD_LSOA_COUNT.values()))


def read_imd(
    path: str | Path,
    *,
    code_year: int | None = None,
    vintage: str | None = None,
) -> pd.DataFrame:
    """Read IMD ranks, deciles and (where published) scores.

    Parameters
    ----------
    path
        An IoD CSV (File 1, 2, 5 or 7, official or tidy column names).
    code_year
        LSOA code year (2011 or 2021). By default taken from the code column
        name (``LSOA code (2011)``, ``lsoa21_code``, ...); when the name does
        not say, from the number of rows (England: 32,844 LSOA 2011,
        33,755 LSOA 2021), else 2021.
    vintage
        ``"IoD2019"`` or ``"IoD2025"``; by default 2011 codes mean IoD2019 and
        2021 codes IoD2025.

    Returns
    -------
    pandas.DataFrame
        ``area_code, imd_score, imd_rank, imd_decile`` (one row per area;
        decile as int), with ``attrs``: ``vintage``, ``code_year``,
        ``has_scores``, ``source``, ``notes``.

    Raises
    ------
    EmptyInputError, MissingColumnError, DuplicateKeyError
        Empty file, no code/rank/decile column, a code used twice.
    ValueRangeError
        Non-numeric values, ranks outside 1..N for the vintage (32,844 for
        IoD2019 on LSOA 2011, 33,755 for IoD2025 on LSOA 2021; either when the
        code year is guessed), deciles outside 1..10 or contradicting the ranks
        (decile = ceil(10 x rank / N)).
    """
    p = Path(path)
    what = f"{p} (IMD)"
    raw = read_table(p, what="IMD file")
    code_col = find_column(raw, AREA_CODE_ALIASES, what=what, role="LSOA code")
    rank_col = find_column(raw, _RANK_ALIASES, what=what, role="IMD rank")
    decile_col = find_column(raw, _DECILE_ALIASES, what=what, role="IMD decile")
    score_col = find_column(raw, _SCORE_ALIASES, what=what, role="IMD score", required=False)
    value_cols = [c for c in (rank_col, decile_col, score_col) if c]
    raw = drop_non_data_rows(raw, code_col, value_cols, what=what)
    codes = clean_codes(raw[code_col])
    check_unique(codes, what=what, column=code_col)
    rank = to_number(raw[rank_col], what=what, column=rank_col, allow_missing=False)
    decile = to_number(raw[decile_col], what=what, column=decile_col, allow_missing=False)
    check_range(rank, what=what, column=rank_col, low=1, codes=codes)
    check_range(decile, what=what, column=decile_col, low=1, high=10, codes=codes)
    if not np.allclose(decile, np.round(decile)):
        msg = f"{what}: column '{decile_col}' must hold whole numbers 1..10"
        raise ValueRangeError(msg)
    if score_col:
        score = to_number(raw[score_col], what=what, column=score_col)
        check_within(
            score, what=what, column=score_col, bounds=IMD_SCORE, codes=codes, meaning="IMD score"
        )
    else:
        score = pd.Series(np.nan, index=raw.index)
    out = pd.DataFrame(
        {
            "area_code": codes.astype(str).to_numpy(),
            "imd_score": score.to_numpy(dtype=float),
            "imd_rank": rank.to_numpy(dtype=float),
            "imd_decile": decile.round().astype(int).to_numpy(),
        }
    )
    guessed_year, guessed = guess_code_year(code_col, len(out))
    year = code_year or guessed_year
    label = vintage or _VINTAGE_BY_YEAR.get(year, f"IMD (LSOA {year})")
    counts = _national_counts(vintage, year, known=not guessed or code_year is not None)
    check_decile_matches_rank(
        rank,
        decile,
        what=what,
        rank_column=rank_col,
        decile_column=decile_col,
        codes=codes.astype(str),
        n_areas=counts,
        vintage=label if len(counts) == 1 else "IoD2019 (LSOA 2011) or IoD2025 (LSOA 2021)",
    )
    out.attrs.update(raw.attrs)
    out.attrs["code_year"] = year
    out.attrs["vintage"] = label
    out.attrs["has_scores"] = bool(score_col) and bool(out["imd_score"].notna().any())
    if guessed and code_year is None:
        add_note(
            out,
            f"{what}: the code column '{code_col}' does not say 2011 or 2021; taken as "
            f"LSOA {year} (from the number of rows); pass code_year= to override",
        )
    if not out.attrs["has_scores"]:
        add_note(
            out,
            f"{out.attrs['vintage']} from {p.name}: ranks/deciles only (no IMD scores in this "
            "file); imd_score is NaN and deprivation is measured by rank and decile",
        )
    return out
