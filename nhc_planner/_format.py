"""Text for people: numbers, need, ties, site names and data-source names.

Shared by the maps (:mod:`nhc_planner.maps`), the app helpers
(:mod:`nhc_planner.ui`), the report (:mod:`nhc_planner.report`) and the
explanations (:mod:`nhc_planner.explain`), so that a figure reads the same
everywhere.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import pandas as pd

__all__ = [
    "NEED_WORDS",
    "TIE_TOLERANCE",
    "describe_alternative",
    "format_count",
    "format_gbp",
    "format_minutes",
    "format_need",
    "format_percent",
    "format_years",
    "is_tie",
    "site_labels",
    "source_label",
]

#: How an amount of need is named: residents counted by their need weight.
NEED_WORDS = "need-weighted residents"

#: Relative size below which two amounts count as equal (a tie), e.g. ``-7e-12``.
TIE_TOLERANCE = 1e-9


def _missing(value: Any) -> bool:
    try:
        return value is None or bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _absent(value: Any) -> bool:
    """Missing, or not a finite number."""
    if _missing(value):
        return True
    try:
        return not math.isfinite(float(value))
    except (TypeError, ValueError):
        return True


def format_count(value: Any) -> str:
    """Format a count of people or things with thousands separators.

    Examples
    --------
    >>> format_count(1234567.4)
    '1,234,567'
    >>> format_count(float("nan"))
    '–'
    """
    if _absent(value):
        return "–"
    return f"{float(value):,.0f}"


def format_percent(share: Any, *, digits: int = 0) -> str:
    """Format a share in 0..1 as a percentage.

    Examples
    --------
    >>> format_percent(0.4567)
    '46%'
    >>> format_percent(0.4567, digits=1)
    '45.7%'
    """
    if _absent(share):
        return "–"
    return f"{100 * float(share):.{digits}f}%"


def format_minutes(value: Any) -> str:
    """Format a travel time in minutes.

    Examples
    --------
    >>> format_minutes(12.34)
    '12.3 min'
    >>> format_minutes(float("inf"))
    'beyond the standard'
    """
    if _missing(value):
        return "–"
    if math.isinf(float(value)):
        return "beyond the standard"
    return f"{float(value):.1f} min"


def format_years(value: Any) -> str:
    """Format a number of years (healthy life expectancy).

    Examples
    --------
    >>> format_years(61.26)
    '61.3 years'
    """
    if _absent(value):
        return "–"
    return f"{float(value):.1f} years"


def format_gbp(value: Any) -> str:
    """Format pounds sterling, in millions from £1m.

    Examples
    --------
    >>> format_gbp(2_345_000)
    '£2.35m'
    >>> format_gbp(85_000)
    '£85,000'
    """
    if _absent(value):
        return "–"
    v = float(value)
    if abs(v) >= 1_000_000:
        return f"£{v / 1_000_000:,.2f}m"
    return f"£{v:,.0f}"


def format_need(value: Any) -> str:
    """An amount of need in plain words.

    Examples
    --------
    >>> format_need(1234.4)
    '1,234 need-weighted residents'
    """
    return f"{format_count(value)} {NEED_WORDS}"


def is_tie(value: Any, scale: Any = 1.0) -> bool:
    """True when ``value`` is zero up to rounding, relative to ``scale``.

    ``|value| <= TIE_TOLERANCE * max(|scale|, 1)``: a difference of ``-7e-12``
    between two sites is a tie, not a trade-off.

    Examples
    --------
    >>> is_tie(-7.27596e-12, 5.4e6), is_tie(0.5, 5.4e6), is_tie(0.0)
    (True, False, True)
    """
    if _absent(value):
        return False
    s = 1.0 if _absent(scale) else max(abs(float(scale)), 1.0)
    return abs(float(value)) <= TIE_TOLERANCE * s


def describe_alternative(name: str, swap_loss: Any, *, scale: Any = 1.0) -> str:
    """Say what swapping a centre for its best alternative site would change.

    ``swap_loss`` is need-weighted (residents counted by their need weight),
    positive when the chosen site is better by the final year of the plan;
    ``scale`` (e.g. the plan's covered need) sets what counts as a tie
    (:func:`is_tie`).

    Examples
    --------
    >>> describe_alternative("Demo Library", 1234.0)
    'Demo Library (would leave 1,234 need-weighted residents outside the standard)'
    >>> describe_alternative("Demo Library", -7e-12, scale=5e6)
    'Demo Library (a tie: it would reach exactly as much need)'
    >>> describe_alternative("Demo Library", -50.0)[:59]
    'Demo Library (would reach 50 more need-weighted residents b'
    """
    if _missing(swap_loss):
        return name
    loss = float(swap_loss)
    if is_tie(loss, scale):
        return f"{name} (a tie: it would reach exactly as much need)"
    if loss > 0:
        return f"{name} (would leave {format_need(loss)} outside the standard)"
    return (
        f"{name} (would reach {format_count(-loss)} more {NEED_WORDS} by the final year; "
        "this site was chosen for earlier years, capacity or equity floors)"
    )


_KIND_WORDS: Mapping[str, str] = {
    "gp_practice": "GP practice",
    "hospital": "hospital",
    "pharmacy": "pharmacy",
    "community_building": "community building",
    "user_candidate": "proposed site",
    "existing_nhc": "health centre",
    "other": "site",
}
_PLACE_COLUMNS = ("postcode", "address")


def site_labels(sites: pd.DataFrame) -> pd.Series:
    """A label per site that tells apart sites sharing a name.

    A unique name is kept as is. A repeated name gets its kind and its
    postcode or address (columns ``postcode`` / ``address`` when present), or
    else its place (``place``, e.g. the area it lies in); when that still
    repeats, its ``site_id`` too.

    Examples
    --------
    >>> f = pd.DataFrame({"site_id": ["A", "B", "C"], "name": ["Boots", "Boots", "Elm"],
    ...                   "kind": ["pharmacy"] * 3, "postcode": ["LS1 1AA", "LS2 2BB", "LS3"]})
    >>> site_labels(f).tolist()
    ['Boots (pharmacy, LS1 1AA)', 'Boots (pharmacy, LS2 2BB)', 'Elm']
    """
    names = [str(n) for n in sites["name"]]
    counts: dict[str, int] = {}
    for n in names:
        counts[n] = counts.get(n, 0) + 1
    columns = [c for c in (*_PLACE_COLUMNS, "place") if c in sites.columns]
    where = sites[columns[0]].tolist() if columns else [None] * len(names)
    kinds = sites["kind"].tolist() if "kind" in sites.columns else [None] * len(names)
    out = []
    for name, kind, place in zip(names, kinds, where, strict=True):
        if counts[name] < 2:
            out.append(name)
            continue
        parts = [] if kind is None else [_KIND_WORDS.get(str(kind), str(kind))]
        if not _missing(place) and str(place):
            parts.append(str(place))
        out.append(f"{name} ({', '.join(parts)})" if parts else name)
    seen: dict[str, int] = {}
    for label in out:
        seen[label] = seen.get(label, 0) + 1
    if "site_id" in sites.columns:
        ids = [str(i) for i in sites["site_id"]]
        for i, label in enumerate(out):
            if seen[label] > 1:
                out[i] = (
                    f"{label[:-1]}, {ids[i]})" if label.endswith(")") else f"{label} ({ids[i]})"
                )
    return pd.Series(out, index=sites.index, dtype=object)


_SOURCE_NAMES: Mapping[str, str] = {
    "boundaries": "Small-area (LSOA) boundaries",
    "imd": "Index of Multiple Deprivation",
    "population": "Population",
    "population_age": "Population by age",
    "hle": "Healthy life expectancy",
    "centroids": "Population-weighted area centres",
    "lsoa_la": "LSOA to local authority lookup",
    "lsoa_icb": "LSOA to ICB lookup",
    "lsoa_ward": "LSOA to ward lookup",
    "postcodes": "Postcode lookup",
    "network": "Road network",
    "generator": "Synthetic data generator",
    "sites_gp_practice": "Sites: GP practices",
    "sites_hospital": "Sites: hospitals",
    "sites_pharmacy": "Sites: pharmacies",
    "sites_user": "Sites: proposed by the user",
    "sites_community_building": "Sites: community buildings",
    "sites_existing_nhc": "Sites: existing health centres",
}
_ACRONYMS = ("lsoa", "msoa", "icb", "imd", "hle", "la", "gp", "nhs", "osm", "ons")


def source_label(key: str) -> str:
    """A readable name for a data-source key (``"lsoa_icb"`` -> ``"LSOA to ICB lookup"``).

    Examples
    --------
    >>> source_label("lsoa_icb"), source_label("imd"), source_label("msoa_names")
    ('LSOA to ICB lookup', 'Index of Multiple Deprivation', 'MSOA names')
    """
    if key in _SOURCE_NAMES:
        return _SOURCE_NAMES[key]
    words = [w for w in re.split(r"[_\s]+", key.strip()) if w]
    shown = [w.upper() if w.lower() in _ACRONYMS else w.lower() for w in words]
    if not shown:
        return key
    first = shown[0]
    shown[0] = first if first.isupper() else first.capitalize()
    return " ".join(shown)
