"""Healthy life expectancy (HLE): published authority figures and small-area estimates.

ONS publishes HLE at birth for upper-tier local authorities (via OHID
Fingertips, indicator 90362), not for small areas. :func:`estimate_area_hle`
estimates each area's HLE from its authority's published figure and its
national IMD decile, using ONS's national gradient of HLE by deprivation
decile, shifted so that the population-weighted mean over the authority's
areas equals the published figure:

.. math::

    \\widehat{HLE}_i = g(d_i) + \\Big(H_a - \\frac{\\sum_{j \\in a} w_j\\, g(d_j)}
    {\\sum_{j \\in a} w_j}\\Big)

where :math:`d_i` is area :math:`i`'s national IMD decile, :math:`g` the
gradient, :math:`H_a` the authority's published HLE and :math:`w_j` the
areas' populations. The gradient's *shape* is assumed to hold in every
authority; its level comes from the authority. This is an estimate, and every
output that shows it should say so.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from nhc_planner._errors import EmptyInputError, JoinError, MissingColumnError, ValueRangeError
from nhc_planner.sources._tables import (
    add_note,
    clean_codes,
    find_column,
    read_table,
    to_number,
)
from nhc_planner.sources.limits import HLE_YEARS
from nhc_planner.sources.validate import check_within

__all__ = [
    "HLE_ESTIMATE_NOTE",
    "HLE_GRADIENTS",
    "ONS_HLE_GRADIENT_MALE_2015_17",
    "estimate_area_hle",
    "read_hle",
    "read_hle_gradient",
]

#: ONS "Health state life expectancies by national deprivation deciles,
#: England: 2015 to 2017", males, HLE at birth (years) for IMD deciles 1..10
#: (1 = most deprived).
ONS_HLE_GRADIENT_MALE_2015_17: tuple[float, ...] = (
    51.7,
    56.6,
    58.8,
    61.7,
    63.8,
    64.7,
    66.5,
    67.9,
    68.8,
    70.4,
)

#: Built-in gradients by name (``hle_gradient = "<name>"`` in ``sources.toml``). Source:
#: ONS, "Health state life expectancies by national deprivation deciles, England and
#: Wales: 2015 to 2017" (27 March 2019), Figure 3 (males, HLE at birth by IMD 2015
#: decile). The 2018 to 2020 release (ONS, 25 April 2022; the latest by IMD decile) is
#: not built in: its per-decile figures were not available to us offline (only its
#: slope index of inequality, 18.6 years for males and 19.3 for females, was). Download
#: that release's figure or table as CSV and give its path instead
#: (:func:`read_hle_gradient`).
HLE_GRADIENTS: dict[str, tuple[float, ...]] = {
    "ons_2015_17_male": ONS_HLE_GRADIENT_MALE_2015_17,
}

#: Plain-language description of the estimate, for notes and reports.
HLE_ESTIMATE_NOTE = (
    "Healthy life expectancy per area is an ESTIMATE: the ONS national gradient of HLE by "
    "IMD decile (males 2015-17: 51.7 years in decile 1 to 70.4 in decile 10) applied to each "
    "area's national IMD decile, shifted so that the population-weighted mean over each "
    "authority's areas equals its published HLE (OHID Fingertips)."
)

_CODE_ALIASES = ("area_code", "Area Code", "AreaCode", "la_code", "utla_code", "code")
_NAME_ALIASES = ("area_name", "Area Name", "AreaName", "la_name", "utla_name", "name")
_PERIOD_ALIASES = ("period", "Time period", "Time period Sortable", "timeperiod", "year")
_VALUE_ALIASES = ("value", "Value", "hle", "hle_years")
_SEX_ALIASES = ("inequality", "Sex", "sex")
_CATEGORY_ALIASES = ("Category Type", "category_type")
_SEXES = ("mean", "male", "female", "persons")


def read_hle_gradient(path: str | Path) -> tuple[float, ...]:
    """Read an ONS gradient of HLE by national IMD decile (the release's figure as CSV).

    ONS publishes each "Health state life expectancies by national deprivation
    deciles" release with its charts downloadable as CSV: title and note rows, then
    a header row starting ``Decile`` with a ``Healthy Life Expectancy`` column, then
    one row per decile 1..10. Any CSV with such a header row and ten decile rows is
    accepted.

    Returns
    -------
    tuple of float
        HLE at birth for deciles 1..10 (1 = most deprived).

    Raises
    ------
    DataFileError
        No header row with ``Decile`` and ``Healthy Life Expectancy``.
    ValueRangeError
        Deciles other than 1..10 once each, non-numeric values, or values
        outside :data:`~nhc_planner.sources.limits.HLE_YEARS`.
    """
    import csv
    import io

    from nhc_planner._errors import DataFileError
    from nhc_planner.sources._tables import decode_text

    p = Path(path)
    what = f"{p} (HLE gradient by IMD decile)"
    try:
        text, _ = decode_text(p.read_bytes(), source=str(p))
    except OSError as exc:
        msg = f"{what}: cannot be read ({exc})"
        raise DataFileError(msg) from exc
    rows = [[c.strip() for c in r] for r in csv.reader(io.StringIO(text))]
    head = next(
        (
            k
            for k, r in enumerate(rows)
            if r
            and r[0].lower() == "decile"
            and any("healthy life expectancy" in c.lower() for c in r)
        ),
        None,
    )
    if head is None:
        msg = (
            f"{what}: no header row starting 'Decile' with a 'Healthy Life Expectancy' column "
            "(as in the ONS release's figure CSV)"
        )
        raise DataFileError(msg)
    col = next(k for k, c in enumerate(rows[head]) if "healthy life expectancy" in c.lower())
    values: dict[int, float] = {}
    for r in rows[head + 1 :]:
        if not r or not r[0].strip().isdigit():
            continue
        dec = int(r[0])
        try:
            values[dec] = float(r[col])
        except (ValueError, IndexError):
            msg = f"{what}: decile {dec}: '{r[col] if col < len(r) else ''}' is not a number"
            raise ValueRangeError(msg) from None
    if sorted(values) != list(range(1, 11)):
        msg = f"{what}: expected deciles 1..10 once each; found {sorted(values)}"
        raise ValueRangeError(msg)
    out = tuple(values[d] for d in range(1, 11))
    lo, hi = HLE_YEARS
    if not all(lo <= v <= hi for v in out):
        msg = f"{what}: HLE values must be within {lo}-{hi} years; found {list(out)}"
        raise ValueRangeError(msg)
    return out


def _period_start(period: str) -> int:
    m = re.search(r"\d{4}", period)
    return int(m.group(0)) if m else -1


def read_hle(
    path: str | Path,
    *,
    period: str | None = None,
    sex: str = "mean",
) -> pd.DataFrame:
    """Read published HLE at birth per authority for one period and sex.

    Parameters
    ----------
    path
        OHID Fingertips export, long form: ``area_code, area_name, area_type,
        period, value, inequality`` (sex in ``inequality``), or the raw
        Fingertips API CSV (``Area Code, Area Name, Time period, Value, Sex``;
        rows with a ``Category Type`` are breakdowns and are ignored).
    period
        E.g. ``"2022 - 24"`` (spacing ignored). Default: the latest.
    sex
        ``"male"``, ``"female"``, ``"persons"`` or ``"mean"`` (average of the
        male and female figures; authorities lacking either are an error).

    Returns
    -------
    pandas.DataFrame
        ``la_code, la_name, hle_years`` with ``attrs`` ``period``, ``sex``,
        ``source``, ``notes``.

    Raises
    ------
    EmptyInputError, MissingColumnError, ValueRangeError
        Empty file, missing columns, non-numeric values, values outside
        :data:`~nhc_planner.sources.limits.HLE_YEARS` (40-85 years), or a
        requested period/sex that the file does not have (the message lists
        those it has).
    DataFileError
        The file is cut mid-row (see :func:`~nhc_planner.sources._tables.read_table`).
    """
    p = Path(path)
    what = f"{p} (HLE)"
    sex_key = sex.strip().lower()
    if sex_key not in _SEXES:
        msg = f"HLE sex must be one of {list(_SEXES)}; got '{sex}'"
        raise ValueRangeError(msg)
    raw = read_table(p, what="HLE file")
    code_col = find_column(raw, _CODE_ALIASES, what=what, role="area code")
    name_col = find_column(raw, _NAME_ALIASES, what=what, role="area name", required=False)
    period_col = find_column(raw, _PERIOD_ALIASES, what=what, role="time period")
    value_col = find_column(raw, _VALUE_ALIASES, what=what, role="value")
    sex_col = find_column(raw, _SEX_ALIASES, what=what, role="sex ('inequality' or 'Sex')")
    cat_col = find_column(raw, _CATEGORY_ALIASES, what=what, role="category", required=False)
    if cat_col:
        raw = raw[raw[cat_col].isna()].reset_index(drop=True)
    frame = pd.DataFrame(
        {
            "la_code": clean_codes(raw[code_col]),
            "la_name": raw[name_col].astype("string") if name_col else clean_codes(raw[code_col]),
            "period": raw[period_col].astype(str).str.strip(),
            "sex": raw[sex_col].astype(str).str.strip().str.lower(),
            "value": to_number(raw[value_col], what=what, column=value_col),
        }
    )
    frame = frame[frame["la_code"].notna()]
    if len(frame) == 0:
        msg = f"{what}: no rows with an area code in column '{code_col}'"
        raise EmptyInputError(msg)
    blank = (
        frame["period"].isin(["", "nan", "None", "<NA>"]) | raw.loc[frame.index, period_col].isna()
    )
    if blank.any():
        msg = (
            f"{what}: column '{period_col}' is blank in {int(blank.sum())} row(s), e.g. for "
            f"{frame.loc[blank, 'la_code'].astype(str).tolist()[:5]}; every row needs a period"
        )
        raise ValueRangeError(msg)
    check_within(
        frame["value"],
        what=what,
        column=value_col,
        bounds=HLE_YEARS,
        codes=frame["la_code"].astype(str) + " " + frame["period"] + " " + frame["sex"],
        meaning="healthy life expectancy at birth, years",
    )
    frame["period_key"] = frame["period"].str.replace(r"\s+", "", regex=True)
    periods = sorted(frame["period"].unique(), key=lambda s: (_period_start(s), s))
    if period is None:
        chosen = periods[-1]
    else:
        key = re.sub(r"\s+", "", period)
        hits = [q for q in periods if re.sub(r"\s+", "", q) == key]
        if not hits:
            msg = f"{what}: period '{period}' not in the file; available periods: {periods}"
            raise ValueRangeError(msg)
        chosen = hits[0]
    frame = frame[frame["period"] == chosen]
    available = sorted(frame["sex"].unique())
    wanted = ["male", "female"] if sex_key == "mean" else [sex_key]
    absent = [s for s in wanted if s not in available]
    if absent:
        msg = (
            f"{what}: sex {absent} not available for period '{chosen}' "
            f"(needed for sex='{sex}'); available: {available}"
        )
        raise ValueRangeError(msg)
    frame = frame[frame["sex"].isin(wanted)]
    dup = frame.duplicated(["la_code", "sex"], keep=False)
    if dup.any():
        frame = frame.drop_duplicates(["la_code", "sex"], keep="first")
    wide = frame.pivot_table(
        index="la_code", columns="sex", values="value", aggfunc="first", sort=True, dropna=False
    ).reindex(columns=wanted)
    names = frame.drop_duplicates("la_code").set_index("la_code")["la_name"]
    complete = wide[wanted].notna().all(axis=1)
    out = pd.DataFrame(
        {
            "la_code": wide.index[complete].astype(str),
            "la_name": names.reindex(wide.index[complete]).astype(str).to_numpy(),
            "hle_years": wide.loc[complete, wanted].mean(axis=1).to_numpy(dtype=float),
        }
    ).reset_index(drop=True)
    out.attrs.update(raw.attrs)
    out.attrs["period"] = chosen
    out.attrs["sex"] = sex_key
    incomplete = sorted(wide.index[~complete].astype(str))
    if incomplete:
        add_note(
            out,
            f"{what}: {len(incomplete)} authorit(y/ies) lack a {'/'.join(wanted)} value for "
            f"{chosen} and are left out, e.g. {incomplete[:5]}",
        )
    if dup.any():
        add_note(out, f"{what}: duplicated rows for the same authority and sex; first kept")
    return out


def estimate_area_hle(
    areas: pd.DataFrame,
    la_hle: pd.DataFrame,
    *,
    gradient: Sequence[float] = ONS_HLE_GRADIENT_MALE_2015_17,
    la_column: str = "la_code",
    ltla_to_utla: Mapping[str, str] | None = None,
) -> pd.Series:
    """Estimate each area's HLE from its authority's HLE and its IMD decile.

    Parameters
    ----------
    areas
        Columns ``imd_decile`` (1..10), ``population`` and ``la_column``.
        Include all the authority's areas: the shift is computed over the
        areas given.
    la_hle
        Output of :func:`read_hle` (``la_code, hle_years``).
    gradient
        HLE by national IMD decile 1..10 (10 values). Only its shape matters.
    la_column
        Column of ``areas`` holding the authority code.
    ltla_to_utla
        Lower-tier to upper-tier code lookup. HLE is published for upper-tier
        authorities; metropolitan districts, London boroughs and unitary
        authorities are their own upper tier and need no lookup, districts in
        two-tier counties do.

    Returns
    -------
    pandas.Series
        ``hle_years`` indexed like ``areas``.

    Raises
    ------
    MissingColumnError
        A required column is absent.
    ValueRangeError
        A gradient of the wrong length, or deciles outside 1..10.
    JoinError
        Authorities without a published HLE (listed, with a hint).

    Examples
    --------
    >>> import pandas as pd
    >>> areas = pd.DataFrame({"la_code": ["A", "A"], "imd_decile": [1, 10],
    ...                       "population": [100.0, 100.0]})
    >>> hle = pd.DataFrame({"la_code": ["A"], "hle_years": [60.0]})
    >>> estimate_area_hle(areas, hle).round(2).tolist()
    [50.65, 69.35]
    """
    g = np.asarray(gradient, dtype=float)
    if g.shape != (10,) or not np.isfinite(g).all():
        msg = f"HLE gradient must have 10 finite values (IMD deciles 1..10); got {list(g)}"
        raise ValueRangeError(msg)
    for col in (la_column, "imd_decile", "population"):
        if col not in areas.columns:
            msg = f"estimate_area_hle: areas lack column '{col}'; found {list(areas.columns)}"
            raise MissingColumnError(msg)
    decile = pd.to_numeric(areas["imd_decile"], errors="coerce")
    if not decile.between(1, 10).all():
        bad = areas.index[~decile.between(1, 10)].tolist()[:5]
        msg = f"estimate_area_hle: imd_decile must be 1..10 for every area; fails at rows {bad}"
        raise ValueRangeError(msg)
    la = areas[la_column].astype(str)
    key = la.map(lambda c: ltla_to_utla.get(c, c)) if ltla_to_utla else la
    published = la_hle.set_index("la_code")["hle_years"]
    missing = sorted(set(key) - set(published.index.astype(str)))
    if missing:
        n_areas = int(key.isin(missing).sum())
        msg = (
            f"no published HLE for {len(missing)} authorit(y/ies) {missing[:10]} "
            f"({n_areas} area(s)); HLE is published for upper-tier authorities: for districts "
            "in two-tier counties give an LTLA->UTLA lookup (RegionInputs.ltla_utla), and "
            "check the HLE file's period and sex"
        )
        raise JoinError(msg)
    base = pd.Series(g[decile.astype(int).to_numpy() - 1], index=areas.index)
    w = pd.to_numeric(areas["population"], errors="coerce").fillna(0.0).clip(lower=0.0)
    frame = pd.DataFrame({"key": key, "base": base, "w": w})
    # Weights relative to the authority's largest (robust to tiny values); equal
    # weights within an authority whose populations are all zero.
    top = frame.groupby("key")["w"].transform("max")
    frame["w"] = np.where(top > 0, frame["w"] / top.where(top > 0, 1.0), 1.0)
    frame["wb"] = frame["w"] * frame["base"]
    sums = frame.groupby("key")[["wb", "w"]].sum()
    mean_base = sums["wb"] / sums["w"]
    shift = published.reindex(mean_base.index).astype(float) - mean_base
    out = frame["base"] + frame["key"].map(shift).astype(float)
    return out.rename("hle_years")
