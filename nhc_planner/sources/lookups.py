"""Geography lookups and carrying 2011-coded data onto 2021 areas.

* :func:`read_lsoa11_lsoa21`: ONS LSOA 2011 -> 2021 best-fit lookup with the
  change indicator (``U`` unchanged, ``S`` split, ``M`` merged, ``X``
  complex, i.e. redrawn with links to several areas both ways).
* :func:`read_lsoa_la`: LSOA 2021 -> lower-tier local authority.
* :func:`read_lsoa_icb`: LSOA 2021 -> sub-ICB location -> ICB.
* :func:`read_ltla_utla`: lower-tier -> upper-tier local authority.
* :func:`lsoa11_to_lsoa21`: re-express a 2011-coded table on 2021 areas.

How :func:`lsoa11_to_lsoa21` combines values
--------------------------------------------
Every (2011, 2021) link in the lookup carries a share of its 2011 area: the
2021 area's weight among the 2011 area's 2021 targets (``weights_2021``, e.g.
2021 population; equal shares without them). Then, per 2021 area:

* counts (population): sum over links of ``count_2011 x share``. For ``U`` and
  ``M`` this is the 2011 count (summed for merges); for ``S`` the 2011 count
  is split in proportion to the weights. Totals are preserved.
* scores (IMD score): mean over links weighted by ``weight_2011 x share``
  (``weight_2011`` e.g. 2011 population; equal without). ``U``/``S`` copy the
  2011 score; ``M`` gives the population-weighted mean.
* ranks: the same weighted mean of ranks; deciles are then recomputed from
  that mean rank using the national rank ranges of each decile in the data,
  so a merged area lands in the decile its (mean) rank falls in. Areas with a
  single source keep their published decile.

Nothing is silently dropped: 2011 codes without a link and 2021 areas without
data are counted in ``attrs["notes"]`` and listed in ``attrs["unmatched_2011"]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from nhc_planner._errors import MissingColumnError, ValueRangeError
from nhc_planner.sources._tables import (
    add_note,
    check_unique,
    clean_codes,
    drop_non_data_rows,
    find_column,
    read_table,
)
from nhc_planner.sources.validate import check_change_codes, collapse_repeated_rows

__all__ = [
    "lsoa11_to_lsoa21",
    "read_lsoa11_lsoa21",
    "read_lsoa_icb",
    "read_lsoa_la",
    "read_ltla_utla",
]

_L11 = ("lsoa11_code", "LSOA11CD", "LSOA code (2011)", "LSOA 2011 Code")
_L21 = ("lsoa21_code", "LSOA21CD", "LSOA code (2021)", "LSOA 2021 Code", "area_code")
_L21_NAME = ("lsoa21_name", "LSOA21NM", "LSOA name (2021)", "area_name")
_CHANGE = ("change_code", "CHGIND", "change", "change_indicator")
_YEARS = ("24", "23", "22", "21", "")
_LA_CODE = (
    *(f"{p}{y}{x}" for p in ("ltla", "lad") for y in _YEARS for x in ("_code", "CD")),
    "la_code",
    "Local Authority District code (2024)",
    "Local Authority District code (2019)",
)
_LA_NAME = (
    *(f"{p}{y}{x}" for p in ("ltla", "lad") for y in _YEARS for x in ("_name", "NM")),
    "la_name",
)
_SICB_CODE = (
    "sicbl24_code",
    "sicbl23_code",
    "sicbl22_code",
    "SICBL24CD",
    "SICBL23CD",
    "SICBL22CD",
    "sub_icb_code",
)
_SICB_NAME = (
    "sicbl24_name",
    "sicbl23_name",
    "sicbl22_name",
    "SICBL24NM",
    "SICBL23NM",
    "sub_icb_name",
)
_ICB_CODE = ("icb24_code", "icb23_code", "icb22_code", "ICB24CD", "ICB23CD", "ICB22CD", "icb_code")
_ICB_NAME = ("icb24_name", "icb23_name", "icb22_name", "ICB24NM", "ICB23NM", "ICB22NM", "icb_name")
_UTLA_CODE = (*(f"utla{y}{x}" for y in _YEARS for x in ("_code", "CD")), "utla_code")
_CHANGE_CODES = ("U", "S", "M", "X")


def _codes(raw: pd.DataFrame, col: str) -> pd.Series:
    return clean_codes(raw[col]).astype(str)


def read_lsoa11_lsoa21(path: str | Path) -> pd.DataFrame:
    """Read the LSOA 2011 -> 2021 lookup as ``lsoa11_code, lsoa21_code, change_code``.

    Raises
    ------
    EmptyInputError, MissingColumnError
        Empty file or missing columns.
    ValueRangeError
        A change code other than U, S, M, X, or one that contradicts the
        links around it (a ``U`` link whose areas are in other links, an
        ``S`` without several parts, an ``M`` without several sources).
    DuplicateKeyError
        The same (2011, 2021) pair twice with different change codes (pairs
        repeated with the same code are collapsed, noted).
    """
    p = Path(path)
    what = f"{p} (LSOA 2011->2021 lookup)"
    raw = read_table(p, what="LSOA 2011->2021 lookup")
    c11 = find_column(raw, _L11, what=what, role="LSOA 2011 code")
    c21 = find_column(raw, _L21, what=what, role="LSOA 2021 code")
    chg = find_column(raw, _CHANGE, what=what, role="change code (U/S/M/X)")
    raw = drop_non_data_rows(raw, c11, [c21], what=what)
    out = pd.DataFrame(
        {
            "lsoa11_code": _codes(raw, c11).to_numpy(),
            "lsoa21_code": _codes(raw, c21).to_numpy(),
            "change_code": raw[chg].fillna("").astype(str).str.strip().str.upper().to_numpy(),
        }
    )
    bad = sorted(set(out["change_code"]) - set(_CHANGE_CODES))
    if bad:
        msg = (
            f"{what}: column '{chg}' has value(s) {bad[:5]}; expected one of {list(_CHANGE_CODES)}"
        )
        raise ValueRangeError(msg)
    out.attrs.update(raw.attrs)
    out["_pair"] = out["lsoa11_code"] + "->" + out["lsoa21_code"]
    out, note = collapse_repeated_rows(
        out, "_pair", ["change_code"], what=what, key_column=f"{c11}+{c21}"
    )
    out = out.drop(columns="_pair")
    if note:
        add_note(out, note)
    check_change_codes(out, what=what, column=chg)
    return out


def read_lsoa_la(path: str | Path) -> pd.DataFrame:
    """Read LSOA 2021 -> local authority as ``area_code, area_name, la_code, la_name``.

    Any table format :func:`~nhc_planner.sources._tables.read_table` reads
    (CSV, or the attribute table of a GeoPackage/GeoJSON/shapefile/Parquet
    file). Lookups published one row per output area are accepted: repeated
    rows of an area that agree are collapsed (noted).

    Raises
    ------
    EmptyInputError, MissingColumnError, DuplicateKeyError
        Empty file, missing columns, an area listed twice with different
        values (the message names the codes and values).
    """
    p = Path(path)
    what = f"{p} (LSOA->LA lookup)"
    raw = read_table(p, what="LSOA->LA lookup")
    code = find_column(raw, _L21, what=what, role="LSOA 2021 code")
    la = find_column(raw, _LA_CODE, what=what, role="local authority code")
    name = find_column(raw, _L21_NAME, what=what, role="LSOA name", required=False)
    la_name = find_column(raw, _LA_NAME, what=what, role="local authority name", required=False)
    raw = drop_non_data_rows(raw, code, [la], what=what)
    out = pd.DataFrame(
        {
            "area_code": _codes(raw, code).to_numpy(),
            "area_name": (raw[name] if name else raw[code]).astype(str).to_numpy(),
            "la_code": _codes(raw, la).to_numpy(),
            "la_name": (raw[la_name] if la_name else raw[la]).astype(str).to_numpy(),
        }
    )
    out.attrs.update(raw.attrs)
    return _one_row_per_area(out, ["la_code"], what=what, column=code)


def _one_row_per_area(
    out: pd.DataFrame, values: list[str], *, what: str, column: str
) -> pd.DataFrame:
    """Collapse agreeing repeats of an area (OA-level lookups); refuse conflicting ones."""
    out, note = collapse_repeated_rows(out, "area_code", values, what=what, key_column=column)
    if note:
        add_note(out, note)
    return out


def read_lsoa_icb(path: str | Path) -> pd.DataFrame:
    """Read LSOA 2021 -> sub-ICB location -> ICB.

    Returns ``area_code, sub_icb_code, sub_icb_name, icb_code, icb_name``
    (blank names and sub-ICB codes when the file lacks them).

    Any table format :func:`~nhc_planner.sources._tables.read_table` reads
    (CSV, or the attribute table of a GeoPackage/GeoJSON/shapefile/Parquet
    file). Lookups published one row per output area are accepted: repeated
    rows of an area that agree are collapsed (noted).

    Raises
    ------
    EmptyInputError, MissingColumnError, DuplicateKeyError
        Empty file, missing columns, an area listed twice with different
        values (the message names the codes and values).
    """
    p = Path(path)
    what = f"{p} (LSOA->ICB lookup)"
    raw = read_table(p, what="LSOA->ICB lookup")
    code = find_column(raw, _L21, what=what, role="LSOA 2021 code")
    icb = find_column(raw, _ICB_CODE, what=what, role="ICB code")
    sicb = find_column(raw, _SICB_CODE, what=what, role="sub-ICB code", required=False)
    sicb_name = find_column(raw, _SICB_NAME, what=what, role="sub-ICB name", required=False)
    icb_name = find_column(raw, _ICB_NAME, what=what, role="ICB name", required=False)
    raw = drop_non_data_rows(raw, code, [icb], what=what)

    def col(c: str | None) -> np.ndarray:
        return raw[c].astype(str).to_numpy() if c else np.full(len(raw), "", dtype=object)

    out = pd.DataFrame(
        {
            "area_code": _codes(raw, code).to_numpy(),
            "sub_icb_code": col(sicb),
            "sub_icb_name": col(sicb_name),
            "icb_code": _codes(raw, icb).to_numpy(),
            "icb_name": col(icb_name),
        }
    )
    out.attrs.update(raw.attrs)
    return _one_row_per_area(out, ["sub_icb_code", "icb_code"], what=what, column=code)


def read_ltla_utla(path: str | Path) -> dict[str, str]:
    """Read a lower-tier -> upper-tier authority lookup as a dict of codes.

    Accepts ONS ``LTLA22CD, UTLA22CD`` (any year) or ``ltla_code, utla_code``.
    """
    p = Path(path)
    what = f"{p} (LTLA->UTLA lookup)"
    raw = read_table(p, what="LTLA->UTLA lookup")
    lt = find_column(raw, (*_LA_CODE, "ltla_code"), what=what, role="lower-tier code")
    ut = find_column(raw, _UTLA_CODE, what=what, role="upper-tier code")
    raw = drop_non_data_rows(raw, lt, [ut], what=what)
    pairs = pd.DataFrame({"lt": _codes(raw, lt), "ut": _codes(raw, ut)}).drop_duplicates()
    check_unique(pairs["lt"], what=what, column=lt)
    return dict(zip(pairs["lt"], pairs["ut"], strict=True))


def _decile_from_rank(ranks: pd.Series, ref_rank: pd.Series, ref_decile: pd.Series) -> pd.Series:
    """Decile of each rank, using the largest rank of each decile in the reference data."""
    tops = ref_rank.groupby(ref_decile).max().sort_index()
    idx = np.searchsorted(tops.to_numpy(), ranks.to_numpy(), side="left")
    idx = np.clip(idx, 0, len(tops) - 1)
    return pd.Series(tops.index.to_numpy()[idx], index=ranks.index)


def lsoa11_to_lsoa21(
    data: pd.DataFrame,
    lookup: pd.DataFrame,
    *,
    code_column: str = "area_code",
    counts: Sequence[str] = (),
    scores: Sequence[str] = (),
    rank_decile: tuple[str, str] | None = None,
    weights_2011: str | None = None,
    weights_2021: pd.Series | None = None,
) -> pd.DataFrame:
    """Carry a table keyed on LSOA 2011 onto LSOA 2021 areas.

    See the module docstring for how splits, merges and complex changes are
    combined.

    Parameters
    ----------
    data
        One row per 2011 area.
    lookup
        Output of :func:`read_lsoa11_lsoa21`.
    code_column
        Column of ``data`` with the 2011 code; the result uses it for 2021 codes.
    counts
        Columns summed (split by share).
    scores
        Columns averaged (weighted).
    rank_decile
        ``(rank_column, decile_column)``: rank averaged, decile recomputed.
    weights_2011
        Count column of ``data`` used as the weight of each 2011 area in means
        (e.g. ``"population"``); equal weights if None.
    weights_2021
        Weight per 2021 code (index) used to split 2011 areas; equal if None.

    Returns
    -------
    pandas.DataFrame
        One row per 2021 area reached from ``data``, with ``n_sources`` (2011
        areas contributing) and ``change_code``; notes in ``attrs``.

    Examples
    --------
    >>> import pandas as pd
    >>> lk = pd.DataFrame({"lsoa11_code": ["a", "b", "c", "c"],
    ...                    "lsoa21_code": ["m", "m", "s1", "s2"],
    ...                    "change_code": ["M", "M", "S", "S"]})
    >>> d = pd.DataFrame({"area_code": ["a", "b", "c"], "pop": [100.0, 300.0, 50.0],
    ...                   "score": [10.0, 20.0, 5.0]})
    >>> out = lsoa11_to_lsoa21(d, lk, counts=["pop"], scores=["score"], weights_2011="pop")
    >>> out[["area_code", "pop", "score"]].values.tolist()
    [['m', 400.0, 17.5], ['s1', 25.0, 5.0], ['s2', 25.0, 5.0]]
    """
    cols = [*counts, *scores, *(rank_decile or ())]
    for col in (code_column, *cols, *([weights_2011] if weights_2011 else [])):
        if col not in data.columns:
            msg = f"lsoa11_to_lsoa21: data lack column '{col}'; found {list(data.columns)}"
            raise MissingColumnError(msg)
    d = data.copy()
    d["_c11"] = d[code_column].astype(str)
    links = lookup[["lsoa11_code", "lsoa21_code", "change_code"]].rename(
        columns={"lsoa11_code": "_c11", "lsoa21_code": "_c21"}
    )
    unmatched = sorted(set(d["_c11"]) - set(links["_c11"]))
    m = d.merge(links, on="_c11", how="inner")
    if weights_2021 is not None:
        w21 = m["_c21"].map(weights_2021).astype(float).fillna(0.0).clip(lower=0.0)
    else:
        w21 = pd.Series(1.0, index=m.index)
    tot = w21.groupby(m["_c11"]).transform("sum")
    n_links = m.groupby("_c11")["_c21"].transform("size")
    m["_share"] = np.where(tot > 0, w21 / tot.where(tot > 0, 1.0), 1.0 / n_links)
    base_w = (
        pd.to_numeric(m[weights_2011], errors="coerce").fillna(0.0)
        if weights_2011
        else pd.Series(1.0, index=m.index)
    )
    m["_w"] = base_w * m["_share"]
    # All-zero weights for a 2021 area: fall back to equal weights.
    wsum = m.groupby("_c21")["_w"].transform("sum")
    m["_w"] = np.where(wsum > 0, m["_w"], m["_share"])
    grouped = m.groupby("_c21", sort=True)
    out = pd.DataFrame(index=pd.Index(sorted(m["_c21"].unique()), name="_c21"))
    for col in counts:
        out[col] = (m[col].astype(float) * m["_share"]).groupby(m["_c21"]).sum()
    mean_cols = [*scores, *([rank_decile[0]] if rank_decile else [])]
    for col in mean_cols:
        vals = m[col].astype(float)
        ok = vals.notna()
        num = (vals.where(ok, 0.0) * m["_w"]).groupby(m["_c21"]).sum()
        den = m["_w"].where(ok, 0.0).groupby(m["_c21"]).sum()
        out[col] = (num / den.where(den > 0)).astype(float)
    out["n_sources"] = grouped["_c11"].nunique()
    codes = m[["_c21", "change_code"]].drop_duplicates().sort_values(["_c21", "change_code"])
    change = codes.groupby("_c21")["change_code"].first().astype(object)
    mixed = codes["_c21"].duplicated(keep=False)
    if mixed.any():  # rare: one 2021 area reached through links of different kinds
        change.update(codes[mixed].groupby("_c21")["change_code"].agg("".join))
    out["change_code"] = change
    if rank_decile:
        rank_col, dec_col = rank_decile
        dec = m[dec_col].astype(float).groupby(m["_c21"])
        lo, hi = dec.min(), dec.max()
        single = lo.where(lo == hi)
        recomputed = _decile_from_rank(
            out[rank_col], d[rank_col].astype(float), d[dec_col].astype(int)
        )
        one_source = out["n_sources"] == 1
        out[dec_col] = np.where(one_source & single.notna(), single, recomputed).astype(int)
    out = out.reset_index().rename(columns={"_c21": code_column})
    out.attrs.update(data.attrs)
    out.attrs["code_year"] = 2021
    out.attrs["unmatched_2011"] = unmatched
    changes = m.drop_duplicates("_c21")["change_code"].value_counts().to_dict()
    add_note(
        out,
        "carried from LSOA 2011 to 2021 via the best-fit lookup: "
        f"{len(d)} 2011 areas -> {len(out)} 2021 areas (links by change code {changes}); "
        "splits copy scores/ranks and divide counts, merges average scores/ranks "
        f"({'weighted by ' + weights_2011 if weights_2011 else 'equal weights'}) and sum counts; "
        "merged areas' IMD deciles are recomputed from the mean rank",
    )
    if unmatched:
        add_note(
            out,
            f"{len(unmatched)} 2011 code(s) are not in the lookup and were not carried over, "
            f"e.g. {unmatched[:5]}",
        )
    return out
