"""Scenario: every policy and modelling choice of one plan, frozen and validated.

A :class:`Scenario` is what a planner sets (travel standard, weights, number
of centres, phasing, sites to keep or exclude, equity floors, solver limits).
It is a frozen dataclass made of nested frozen parts, one per TOML table::

    name = "Default"

    [travel]            # how people reach a centre
    mode = "drive"
    standard_min = 15.0
    ...
    [need]              # how need is scored
    [demand]            # residents or GP registrations; anchor practices; today's access
    [capacity]          # how big a centre is and how long it opens
    [phasing]           # how many centres, over how many years
    [policy]            # sites kept or excluded, equity floors, objective, model
    [neighbourhoods]    # neighbourhood bounds, nesting, own file, hubs, order
    [solver]            # time limit, threads, seed, sensitivity runs

Every field has a default, a unit and an allowed range, listed by
:func:`describe` (and in ``docs/planner.md``). Values are checked when a part
is created: a wrong type, an out-of-range value or an unknown key raises
:class:`~nhc_planner.ScenarioError` naming the dotted key (``phasing.years``),
what is allowed and what was found.

Examples
--------
>>> s = Scenario()
>>> s.travel.standard_min, s.phasing.years, s.capacity.hours_per_day
(15.0, 5, 12.0)
>>> s2 = s.replace(**{"phasing.years": 3, "travel.mode": "walk"})
>>> s2.phasing.years, s2.travel.mode
(3, 'walk')
>>> Scenario.from_toml_string(s2.to_toml_string()) == s2
True
>>> Scenario.from_dict({"phasing": {"yeras": 3}})  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
nhc_planner._errors.ScenarioError: scenario: unknown key 'phasing.yeras'; did you mean ...
"""

from __future__ import annotations

import difflib
import hashlib
import math
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, ClassVar

import tomli_w

from nhc_planner._errors import ScenarioError

__all__ = [
    "CapacitySettings",
    "DemandSettings",
    "NeedWeights",
    "NeighbourhoodSettings",
    "PhasingSettings",
    "PolicySettings",
    "Scenario",
    "SizeSpec",
    "SolverSettings",
    "TravelSettings",
    "describe",
]


def _travel_modes() -> tuple[str, ...]:
    """Modes a scenario can ask for: those of the registered travel engines."""
    from nhc_planner.travel.engines import travel_modes

    return travel_modes()


def _travel_engines() -> tuple[str, ...]:
    """``"auto"`` and the names of the registered travel engines."""
    from nhc_planner.travel.engines import AUTO, engine_names

    return (AUTO, *engine_names())


#: Site kinds that may be chosen as new centres unless the scenario says otherwise.
DEFAULT_CANDIDATE_KINDS: tuple[str, ...] = (
    "gp_practice",
    "hospital",
    "pharmacy",
    "community_building",
    "user_candidate",
    "other",
)


def _spec(
    default: Any,
    doc: str,
    *,
    kind: str,
    unit: str = "",
    lo: float | None = None,
    hi: float | None = None,
    choices: tuple[str, ...] | Callable[[], tuple[str, ...]] | None = None,
) -> Any:
    """A dataclass field carrying its documentation and validation rule.

    ``choices`` may be a function, called at validation time (for values that
    come from a registry, such as the travel engines and modes).
    """
    meta = {"doc": doc, "kind": kind, "unit": unit, "lo": lo, "hi": hi, "choices": choices}
    if isinstance(default, list | dict):  # pragma: no cover - defensive
        msg = f"scenario field '{doc}': default {default!r} is a list or dict; use a tuple"
        raise ScenarioError(msg)
    return field(default=default, metadata=meta)


#: Scalar capacity-model assumptions a scenario may override (see nhc_planner.capacity).
CAPACITY_ASSUMPTIONS: tuple[str, ...] = (
    "centre_share",
    "appointment_minutes",
    "room_utilisation",
    "gross_m2_per_room",
    "capex_gbp_per_m2",
    "annual_gbp_per_m2",
    "admin_per_clinical_wte",
)

_KIND_WORDS = {
    "int": "an integer",
    "float": "a number",
    "str": "a string",
    "bool": "true or false",
    "str_tuple": "a list of strings",
    "sizes": "a list of tables with name, rooms, capex_gbp, annual_cost_gbp",
    "assumptions": "a table of name = number",
}


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "list"
    if isinstance(value, dict):
        return "table"
    return type(value).__name__


def _num(v: float) -> str:
    return f"{int(v):,}" if float(v).is_integer() and abs(v) < 1e15 else f"{v:g}"


def _choices(meta: Mapping[str, Any]) -> tuple[str, ...] | None:
    """The allowed values of a field (None: any)."""
    choices = meta["choices"]
    return tuple(choices()) if callable(choices) else choices


def _allowed(meta: Mapping[str, Any]) -> str:
    kind = meta["kind"]
    optional = kind.startswith("opt_")
    words = _KIND_WORDS[kind[4:] if optional else kind]
    choices = _choices(meta)
    if choices and kind in ("str", "opt_str"):
        words = f"one of {list(choices)}"
    lo, hi = meta["lo"], meta["hi"]
    if lo is not None and hi is not None:
        words = f"{words} in {_num(lo)}..{_num(hi)}"
    elif lo is not None:
        words = f"{words} >= {_num(lo)}"
    return f"{words} (or omit the key)" if optional else words


def _fail(key: str, meta: Mapping[str, Any], value: Any) -> ScenarioError:
    unit = f" {meta['unit']}" if meta["unit"] else ""
    msg = f"{key}: expected {_allowed(meta)}{unit}; found {value!r} ({_type_name(value)})"
    return ScenarioError(msg)


def _check_number(key: str, meta: Mapping[str, Any], value: Any, *, integer: bool) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(key, meta, value)
    if integer:
        if isinstance(value, float):
            if not value.is_integer():
                raise _fail(key, meta, value)
            value = int(value)
    else:
        value = float(value)
        if not math.isfinite(value):
            raise _fail(key, meta, value)
    lo, hi = meta["lo"], meta["hi"]
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise _fail(key, meta, value)
    return value


def _check_value(key: str, meta: Mapping[str, Any], value: Any) -> Any:
    """Validate and normalise one value; return the normalised value."""
    kind = meta["kind"]
    if kind.startswith("opt_"):
        if value is None:
            return None
        kind = kind[4:]
    if kind in ("int", "float"):
        return _check_number(key, meta, value, integer=kind == "int")
    if kind == "bool":
        if not isinstance(value, bool):
            raise _fail(key, meta, value)
        return value
    if kind == "str":
        if not isinstance(value, str):
            raise _fail(key, meta, value)
        choices = _choices(meta)
        if choices and value not in choices:
            raise _fail(key, meta, value)
        return value
    if kind == "str_tuple":
        if isinstance(value, str) or not isinstance(value, list | tuple):
            raise _fail(key, meta, value)
        bad = [v for v in value if not isinstance(v, str)]
        if bad:
            raise _fail(key, meta, value)
        if meta["choices"]:
            unknown = [v for v in value if v not in meta["choices"]]
            if unknown:
                msg = (
                    f"{key}: unknown value(s) {unknown}; expected a list drawn from "
                    f"{list(meta['choices'])}"
                )
                raise ScenarioError(msg)
        return tuple(value)
    if kind == "sizes":
        if isinstance(value, str) or not isinstance(value, list | tuple):
            raise _fail(key, meta, value)
        out = []
        for i, item in enumerate(value):
            if isinstance(item, SizeSpec):
                out.append(item)
            elif isinstance(item, Mapping):
                out.append(SizeSpec._from_mapping(item, prefix=f"{key}[{i}]"))
            else:
                raise _fail(f"{key}[{i}]", meta, item)
        names = [s.name for s in out]
        if len(set(names)) != len(names):
            msg = f"{key}: size names must be unique; found {names}"
            raise ScenarioError(msg)
        return tuple(out)
    if kind == "assumptions":
        items = value.items() if isinstance(value, Mapping) else value
        if isinstance(value, str) or not isinstance(value, Mapping | list | tuple):
            raise _fail(key, meta, value)
        out_pairs = []
        for item in items:
            if not (isinstance(item, tuple | list) and len(item) == 2):
                raise _fail(key, meta, value)
            name, number = item
            if meta["choices"] and name not in meta["choices"]:
                close = difflib.get_close_matches(str(name), meta["choices"], n=1, cutoff=0.6)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                msg = (
                    f"scenario: unknown key '{key}.{name}'{hint} allowed keys: "
                    f"{list(meta['choices'])}"
                )
                raise ScenarioError(msg)
            sub = {**meta, "kind": "float", "lo": 0.0, "hi": None}
            out_pairs.append(
                (str(name), _check_number(f"{key}.{name}", sub, number, integer=False))
            )
        return tuple(sorted(out_pairs))
    raise AssertionError(kind)  # pragma: no cover


class _Part:
    """Shared validation, dict and replace helpers of the scenario parts."""

    _section: ClassVar[str] = ""

    def __post_init__(self) -> None:
        for f in fields(self):  # type: ignore[arg-type]
            key = f"{self._section}.{f.name}" if self._section else f.name
            value = _check_value(key, f.metadata, getattr(self, f.name))
            object.__setattr__(self, f.name, value)
        self._check()

    def _check(self) -> None:
        """Cross-field checks (overridden where needed)."""

    def to_dict(self) -> dict[str, Any]:
        """Return a TOML-ready dict (``None`` values are left out)."""
        out: dict[str, Any] = {}
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if value is None:
                continue
            if f.metadata["kind"] == "sizes":
                value = [s.to_dict() for s in value]
            elif f.metadata["kind"] == "assumptions":
                value = dict(value)
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out

    @classmethod
    def _from_mapping(cls, data: Mapping[str, Any], *, prefix: str) -> Any:
        if not isinstance(data, Mapping):
            msg = f"{prefix}: expected a table of settings; found {data!r} ({_type_name(data)})"
            raise ScenarioError(msg)
        names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
        _reject_unknown(data, names, prefix)
        return cls(**dict(data))

    def replace(self, **changes: Any) -> Any:
        """Return a copy with some fields changed (validated again)."""
        names = [f.name for f in fields(self)]  # type: ignore[arg-type]
        _reject_unknown(changes, names, self._section)
        return replace(self, **changes)  # type: ignore[type-var]


def _reject_unknown(data: Mapping[str, Any], allowed: list[str], prefix: str) -> None:
    for key in data:
        if key in allowed:
            continue
        dotted = f"{prefix}.{key}" if prefix else str(key)
        close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
        if close:
            hint = f"did you mean '{prefix + '.' if prefix else ''}{close[0]}'?"
        else:
            hint = f"allowed keys: {sorted(allowed)}"
        msg = f"scenario: unknown key '{dotted}'; {hint}"
        raise ScenarioError(msg)


@dataclass(frozen=True)
class TravelSettings(_Part):
    """How people reach a centre (``[travel]``).

    Parameters
    ----------
    mode
        ``"drive"``, ``"walk"``, ``"cycle"``, or any mode a registered travel
        engine serves (:func:`nhc_planner.travel.travel_modes`).
    standard_min
        Access standard in minutes: an area is *covered* when its demand
        point is within this travel time of an open centre. Default 15.
    cutoff_min
        Travel times longer than this (minutes) are not computed and count
        as unreachable. Must be at least ``standard_min``. Default 60.
    network
        Road network: a file path (GraphML, OSM XML/PBF, GeoPackage), or
        ``"demo"`` for the built-in synthetic network, or omitted (``None``)
        for straight-line estimates (distance / speed x detour factor).
        Read by the road engine.
    engine
        The travel engine (:func:`nhc_planner.travel.engine_names`).
        ``"auto"`` (default): ``"road"`` when ``network`` is given,
        ``"matrix"`` when ``matrix`` is given, ``"straight_line"`` otherwise.
        Written to TOML only when not ``"auto"``, so scenarios from before
        engines existed keep their hash.
    matrix
        A precomputed travel-time matrix (CSV or Parquet of ``area_code,
        site_id, minutes``), read by the matrix engine.
    """

    _section: ClassVar[str] = "travel"

    mode: str = _spec("drive", "travel mode", kind="str", choices=_travel_modes)
    standard_min: float = _spec(
        15.0,
        "access standard: covered if within this time",
        kind="float",
        unit="minutes",
        lo=1.0,
        hi=180.0,
    )
    cutoff_min: float = _spec(
        60.0,
        "longest travel time computed; longer counts as unreachable",
        kind="float",
        unit="minutes",
        lo=1.0,
        hi=360.0,
    )
    network: str | None = _spec(
        None,
        'road network file, "demo", or omitted for straight-line estimates',
        kind="opt_str",
    )
    engine: str = _spec(
        "auto",
        'travel engine; "auto": road if network given, matrix if matrix given, else straight line',
        kind="str",
        choices=_travel_engines,
    )
    matrix: str | None = _spec(
        None,
        "travel-time matrix file (CSV/Parquet: area_code, site_id, minutes) for the matrix engine",
        kind="opt_str",
    )
    transit_feed: str | None = _spec(
        None,
        "GTFS feed (zip or folder, e.g. from the Bus Open Data Service) for the transit engine",
        kind="opt_str",
    )
    transit_day: str | None = _spec(
        None,
        "service date of the timetable for the transit engine (YYYY-MM-DD)",
        kind="opt_str",
    )
    transit_window: str | None = _spec(
        None,
        'departure window for the transit engine, "HH:MM-HH:MM" (default "08:00-20:00", '
        "the centres' opening hours)",
        kind="opt_str",
    )
    transit_percentile: float | None = _spec(
        None,
        "percentile of travel time over the window's departures (default 50, the median)",
        kind="opt_float",
        unit="percent",
        lo=1,
        hi=99,
    )

    def _check(self) -> None:
        if self.cutoff_min < self.standard_min:
            msg = (
                f"travel.cutoff_min: must be at least travel.standard_min "
                f"({self.standard_min:g} minutes); found {self.cutoff_min:g}"
            )
            raise ScenarioError(msg)
        from nhc_planner.travel.engines import check_travel_settings

        check_travel_settings(self)

    def to_dict(self) -> dict[str, Any]:
        """Return a TOML-ready dict (``engine`` left out when ``"auto"``)."""
        out = super().to_dict()
        if out.get("engine") == "auto":
            del out["engine"]
        return out


@dataclass(frozen=True)
class NeedWeights(_Part):
    """How need is scored (``[need]``); see :func:`nhc_planner.need.need_score`.

    The need of an area is ``population x (1 + deprivation_weight x D +
    hle_weight x H + older_weight x A)`` where ``D`` is the deprivation factor
    (1 in IMD decile 1, falling linearly to 0 in decile 10), ``H`` the HLE-gap
    factor (``(hle_reference_years - HLE) / hle_span_years`` clipped to 0..1)
    and ``A`` the share of residents aged 65 and over.

    Parameters
    ----------
    deprivation_weight
        Weight of deprivation (0 = ignore). Default 1.
    hle_weight
        Weight of the healthy-life-expectancy gap (0 = ignore). Default 1.
    older_weight
        Weight of the share of residents aged 65+. Default 0.
    hle_reference_years
        HLE (years) at and above which the HLE gap is zero. Default 70.
    hle_span_years
        HLE gap (years) that counts as the full factor 1. Default 20.
    most_deprived_deciles
        IMD deciles the equity floor ``policy.equity_floor`` applies to
        (1 = decile 1 only, 2 = deciles 1-2). Default 2. (The ``imd12`` KPIs
        and explanations always count deciles 1-2, the most deprived 20%.)
    health_weight
        Weight of the IMD 2025 Health Deprivation and Disability domain
        (``(10 - decile) / 9``; needs the ``imd_health`` data source). Default 0.
    yll_weight, cidr_weight, morbidity_weight, mental_health_weight
        Weights of the domain's indicators (IoD2025 File 8): years of potential
        life lost, comparative illness and disability ratio, acute morbidity,
        mood and anxiety disorders; each ``(10 - national decile) / 9``. Default 0.
    """

    _section: ClassVar[str] = "need"

    deprivation_weight: float = _spec(1.0, "weight of deprivation", kind="float", lo=0, hi=10)
    hle_weight: float = _spec(1.0, "weight of the HLE gap", kind="float", lo=0, hi=10)
    older_weight: float = _spec(0.0, "weight of the 65+ share", kind="float", lo=0, hi=10)
    hle_reference_years: float = _spec(
        70.0, "HLE with no gap", kind="float", unit="years", lo=40, hi=90
    )
    hle_span_years: float = _spec(
        20.0, "HLE gap that counts as factor 1", kind="float", unit="years", lo=1, hi=50
    )
    most_deprived_deciles: int = _spec(
        2, "IMD deciles 1..k the equity floor applies to", kind="int", unit="deciles", lo=1, hi=5
    )
    health_weight: float = _spec(
        0.0, "weight of the IMD health deprivation domain", kind="float", lo=0, hi=10
    )
    yll_weight: float = _spec(
        0.0, "weight of years of potential life lost", kind="float", lo=0, hi=10
    )
    cidr_weight: float = _spec(
        0.0, "weight of the illness and disability ratio", kind="float", lo=0, hi=10
    )
    morbidity_weight: float = _spec(0.0, "weight of acute morbidity", kind="float", lo=0, hi=10)
    mental_health_weight: float = _spec(
        0.0, "weight of mood and anxiety disorders", kind="float", lo=0, hi=10
    )


@dataclass(frozen=True)
class DemandSettings(_Part):
    """Whose demand the plan counts and what access people have today (``[demand]``).

    Parameters
    ----------
    basis
        ``"residents"`` (Census or mid-year residents, default) or
        ``"registrations"``: each area's patients registered at GP practices
        (the region's ``registered_patients`` column, from the NHS England
        LSOA file), which then stand in for its population in need, coverage,
        capacity and KPIs (age bands scaled alike). Areas without a
        registration count keep their residents (noted).
    correct_list_inflation
        With ``basis = "registrations"``, scale the registrations so that the
        region's total equals its residents (registered lists run about 10%
        above the resident population: people who moved away are still
        registered). The spatial pattern of registrations is kept; only the
        level is corrected. Default true.
    anchor_practices
        ODS codes of GP practices that move their whole list into the centre
        they join (see :func:`nhc_planner.access_today.anchor_table`): the
        centre opened on the practice's own site or, when none opens there,
        the centre serving the small area the practice stands in. All its
        registered patients count as served by that centre, wherever they
        live. Default none.
    baseline_kinds
        Site kinds that give today's access to primary care (besides the
        already-open centres of ``policy.open_kinds``): an area within
        ``travel.standard_min`` of one of them is covered today. Default
        ``["gp_practice"]`` (open GP practices).
    """

    _section: ClassVar[str] = "demand"

    basis: str = _spec(
        "residents", "whose demand", kind="str", choices=("residents", "registrations")
    )
    correct_list_inflation: bool = _spec(
        True, "scale registrations to the residents' total", kind="bool"
    )
    anchor_practices: tuple[str, ...] = _spec(
        (), "GP practices whose whole list moves into their centre", kind="str_tuple"
    )
    baseline_kinds: tuple[str, ...] = _spec(
        ("gp_practice",),
        "site kinds giving today's access",
        kind="str_tuple",
        choices=(*DEFAULT_CANDIDATE_KINDS, "existing_nhc"),
    )


@dataclass(frozen=True)
class SizeSpec(_Part):
    """One centre size template (an entry of ``capacity.sizes``).

    Parameters
    ----------
    name
        Label, e.g. ``"small"``.
    rooms
        Clinical rooms.
    capex_gbp
        Capital cost of opening a centre of this size (GBP); omitted = derived
        from ``rooms`` by :func:`nhc_planner.capacity.size_template`.
    annual_cost_gbp
        Running cost per year (GBP); omitted = derived from ``rooms``.
    """

    _section: ClassVar[str] = "capacity.sizes[]"

    name: str = _spec("medium", "size label", kind="str")
    rooms: int = _spec(12, "clinical rooms", kind="int", unit="rooms", lo=1, hi=500)
    capex_gbp: float | None = _spec(
        None, "capital cost (omitted: from rooms)", kind="opt_float", unit="GBP", lo=0, hi=1e10
    )
    annual_cost_gbp: float | None = _spec(
        None,
        "running cost per year (omitted: from rooms)",
        kind="opt_float",
        unit="GBP",
        lo=0,
        hi=1e10,
    )


@dataclass(frozen=True)
class CapacitySettings(_Part):
    """How big a centre is and how long it opens (``[capacity]``).

    Parameters
    ----------
    hours_per_day
        Opening hours per day. Default 12.
    days_per_week
        Opening days per week. Default 6.
    sizes
        Size templates to choose from; empty (default) uses the templates of
        :mod:`nhc_planner.capacity`.
    assumptions
        Overrides of the capacity model's scalar assumptions (name = number):
        ``centre_share`` (share of activity a centre hosts),
        ``appointment_minutes``, ``room_utilisation``, ``gross_m2_per_room``,
        ``capex_gbp_per_m2``, ``annual_gbp_per_m2``, ``admin_per_clinical_wte``;
        see :mod:`nhc_planner.capacity` for their defaults and sources.
    constrain
        If true (default), the optimiser sizes centres and never plans a centre
        above its capacity; demand no centre can serve is reported as unmet
        (:func:`nhc_planner.optimize.capacitated_phased.capacitated_phased`).
        If false, the coverage-only model places centres and capacity and
        staffing are computed afterwards ("capacity not applied": centres can
        be planned above their capacity).
    """

    _section: ClassVar[str] = "capacity"

    hours_per_day: float = _spec(
        12.0, "opening hours per day", kind="float", unit="hours", lo=1, hi=24
    )
    days_per_week: int = _spec(6, "opening days per week", kind="int", unit="days", lo=1, hi=7)
    sizes: tuple[SizeSpec, ...] = _spec((), "size templates", kind="sizes")
    assumptions: tuple[tuple[str, float], ...] = _spec(
        (), "capacity model overrides", kind="assumptions", choices=CAPACITY_ASSUMPTIONS
    )
    constrain: bool = _spec(True, "respect each centre's capacity in the optimiser", kind="bool")

    def assumption_dict(self) -> dict[str, float]:
        """The assumption overrides as a plain dict."""
        return dict(self.assumptions)


@dataclass(frozen=True)
class PhasingSettings(_Part):
    """How many new centres, over how many years (``[phasing]``).

    Give either ``new_per_year`` (centres opened each year) or
    ``budget_per_year_gbp`` (capital per year); not both.

    Parameters
    ----------
    years
        Planning horizon in years (periods). Default 5.
    new_per_year
        New centres opened each year. Default 2.
    budget_per_year_gbp
        Capital budget per year (GBP); centres cost their size's ``capex_gbp``
        (or the site's own ``capex_gbp``). Omitted by default.
    total_new
        Total new centres over the horizon; default ``years x new_per_year``.
    population
        Population each year's coverage is weighed with: ``"census"`` (Census
        2021 residents in every year; the default) or ``"projection"`` (each
        year's own population from the ONS subnational projections, apportioned
        to small areas by their age structure; needs the ``population_projection``
        data source; see :mod:`nhc_planner.projections`).
    first_year
        Calendar year of year 1 of the plan (the year whose projected population
        year 1 uses). Default 2026.
    """

    _section: ClassVar[str] = "phasing"

    years: int = _spec(5, "planning horizon", kind="int", unit="years", lo=1, hi=30)
    new_per_year: int | None = _spec(
        2, "new centres per year", kind="opt_int", unit="centres", lo=0, hi=500
    )
    budget_per_year_gbp: float | None = _spec(
        None, "capital budget per year", kind="opt_float", unit="GBP", lo=0, hi=1e12
    )
    total_new: int | None = _spec(
        None, "total new centres", kind="opt_int", unit="centres", lo=0, hi=5000
    )
    population: str = _spec(
        "census",
        "population each year is weighed with",
        kind="str",
        choices=("census", "projection"),
    )
    first_year: int = _spec(
        2026, "calendar year of year 1", kind="int", unit="year", lo=2000, hi=2100
    )

    @staticmethod
    def _one_limit(data: Mapping[str, Any]) -> dict[str, Any]:
        # Giving one of the two limits switches the other off unless both are given.
        out = dict(data)
        if out.get("budget_per_year_gbp") is not None and "new_per_year" not in out:
            out["new_per_year"] = None
        if out.get("new_per_year") is not None and "budget_per_year_gbp" not in out:
            out["budget_per_year_gbp"] = None
        return out

    @classmethod
    def _from_mapping(cls, data: Mapping[str, Any], *, prefix: str) -> Any:
        if isinstance(data, Mapping):
            data = cls._one_limit(data)
        return super()._from_mapping(data, prefix=prefix)

    def replace(self, **changes: Any) -> Any:
        """Return a copy with some fields changed (validated again).

        Setting ``budget_per_year_gbp`` alone switches ``new_per_year`` off,
        and the other way round.
        """
        return super().replace(**self._one_limit(changes))

    def _check(self) -> None:
        if self.new_per_year is None and self.budget_per_year_gbp is None:
            msg = "phasing: give phasing.new_per_year or phasing.budget_per_year_gbp; found neither"
            raise ScenarioError(msg)
        if self.new_per_year is not None and self.budget_per_year_gbp is not None:
            msg = (
                "phasing: give phasing.new_per_year or phasing.budget_per_year_gbp, not both; "
                f"found new_per_year={self.new_per_year} and "
                f"budget_per_year_gbp={self.budget_per_year_gbp:g}"
            )
            raise ScenarioError(msg)
        if (
            self.total_new is not None
            and self.new_per_year is not None
            and self.total_new > self.years * self.new_per_year
        ):
            msg = (
                f"phasing.total_new: at most years x new_per_year = "
                f"{self.years * self.new_per_year}; found {self.total_new}"
            )
            raise ScenarioError(msg)

    @property
    def total_centres(self) -> int | None:
        """New centres over the horizon (None when budget-limited and unset)."""
        if self.total_new is not None:
            return self.total_new
        if self.new_per_year is not None:
            return self.years * self.new_per_year
        return None

    def per_year(self) -> tuple[int, ...] | None:
        """New centres per year, summing to :attr:`total_centres` (None if budget-led).

        Examples
        --------
        >>> PhasingSettings(years=3, new_per_year=2, total_new=5).per_year()
        (2, 2, 1)
        """
        if self.new_per_year is None:
            return None
        left = self.total_centres or 0
        out = []
        for _ in range(self.years):
            n = min(self.new_per_year, left)
            out.append(n)
            left -= n
        return tuple(out)


@dataclass(frozen=True)
class PolicySettings(_Part):
    """Sites kept or excluded, equity floors and the objective (``[policy]``).

    Parameters
    ----------
    keep
        Site ids that must open (they open in year 1).
    exclude
        Site ids that must not be chosen.
    open_kinds
        Site kinds that are already-open centres (phase 0): they cover their
        catchment before and after. Default ``["existing_nhc"]``.
    candidate_kinds
        Site kinds that may be chosen as new centres.
    equity_floor
        Minimum share (0..1) of the most-deprived population (see
        ``need.most_deprived_deciles``) covered by the end. Omitted = none.
    la_min_coverage
        Minimum share (0..1) of each local authority's population covered by
        the end. Omitted = none.
    objective
        ``"weighted"`` (maximise need-weighted coverage, default) or
        ``"maxmin"`` (maximise the worst local authority's share of its residents
        covered -- served within capacity when ``capacity.constrain`` -- then the
        weighted objective with every authority held at that share; coverage
        model only).
    model
        Name of the planning model that decides (:mod:`nhc_planner.planning`):
        ``"neighbourhoods"`` (default) delineates neighbourhoods and gives each a
        centre, lowest healthy life expectancy first (settings in
        ``[neighbourhoods]``); ``"coverage"`` is the phased coverage model (the
        centres that bring the most need within the standard). Any registered
        model's name is accepted.
    """

    _section: ClassVar[str] = "policy"

    keep: tuple[str, ...] = _spec((), "site ids that must open", kind="str_tuple")
    exclude: tuple[str, ...] = _spec((), "site ids never chosen", kind="str_tuple")
    open_kinds: tuple[str, ...] = _spec(
        ("existing_nhc",),
        "kinds already open",
        kind="str_tuple",
        choices=(*DEFAULT_CANDIDATE_KINDS, "existing_nhc"),
    )
    candidate_kinds: tuple[str, ...] = _spec(
        DEFAULT_CANDIDATE_KINDS,
        "kinds that may be chosen",
        kind="str_tuple",
        choices=(*DEFAULT_CANDIDATE_KINDS, "existing_nhc"),
    )
    equity_floor: float | None = _spec(
        None,
        "most-deprived population covered at least",
        kind="opt_float",
        unit="share",
        lo=0,
        hi=1,
    )
    la_min_coverage: float | None = _spec(
        None,
        "each authority's population covered at least",
        kind="opt_float",
        unit="share",
        lo=0,
        hi=1,
    )
    objective: str = _spec("weighted", "objective", kind="str", choices=("weighted", "maxmin"))
    model: str = _spec("neighbourhoods", "planning model that decides", kind="str")

    def _check(self) -> None:
        both = sorted(set(self.keep) & set(self.exclude))
        if both:
            msg = f"policy.keep and policy.exclude: site(s) {both} are in both lists"
            raise ScenarioError(msg)
        from nhc_planner.planning import model_names

        names = model_names()
        if self.model not in names:
            msg = (
                f"policy.model: expected one of the planning models {list(names)}; "
                f"found {self.model!r}"
            )
            raise ScenarioError(msg)


#: Values of ``neighbourhoods.nest`` with a meaning of their own (anything else is a column).
NEST_CHOICES: tuple[str, ...] = ("la", "none", "sub_icb")


@dataclass(frozen=True)
class NeighbourhoodSettings(_Part):
    """Neighbourhoods of the ``"neighbourhoods"`` planning model (``[neighbourhoods]``).

    Parameters
    ----------
    min_pop, max_pop
        Residents of a neighbourhood (default 30,000-50,000, the Primary Care
        Network guidance and the neighbourhood contract's ~50,000).
    nest
        Boundaries neighbourhoods never cross: ``"la"`` (local authority,
        default), ``"none"``, ``"sub_icb"`` (column ``sub_icb_code``) or the name
        of an area column (e.g. a Primary Care Network code).
    file
        The ICB's own neighbourhoods: a CSV (``area_code, neighbourhood``) or
        polygons (GeoPackage/GeoJSON with a ``neighbourhood`` column). When
        given, nothing is delineated; neighbourhoods outside the bounds are
        flagged, not refused.
    gap
        Relative gap at which the delineation stops once proven (default 0.02).
    hubs
        New hubs, each serving several neighbourhoods (e.g. the ICB's share of
        the 120 centres due by 2030). Omitted = a centre per neighbourhood.
    hubs_by_year
        Year by which the hubs are open (they open over years 1..this); needs
        ``hubs``. Omitted = the hubs follow ``phasing``.
    order
        Which neighbourhoods get their centre first: ``"hle"`` (lowest
        estimated healthy life expectancy, default) or ``"need"`` (highest
        mean need score).
    """

    _section: ClassVar[str] = "neighbourhoods"

    min_pop: float = _spec(
        30_000.0, "fewest residents of a neighbourhood", kind="float", unit="people", lo=0, hi=1e7
    )
    max_pop: float = _spec(
        50_000.0, "most residents of a neighbourhood", kind="float", unit="people", lo=1, hi=1e7
    )
    nest: str = _spec("la", "boundaries neighbourhoods never cross", kind="str")
    file: str | None = _spec(None, "the ICB's own neighbourhoods file", kind="opt_str")
    gap: float = _spec(
        0.02, "delineation stops once proven within", kind="float", unit="share", lo=0, hi=0.5
    )
    hubs: int | None = _spec(None, "new hubs", kind="opt_int", unit="centres", lo=1, hi=5000)
    hubs_by_year: int | None = _spec(
        None, "year by which the hubs are open", kind="opt_int", unit="year", lo=1, hi=30
    )
    order: str = _spec("hle", "which neighbourhoods first", kind="str", choices=("hle", "need"))

    def _check(self) -> None:
        if self.min_pop > self.max_pop:
            msg = (
                f"neighbourhoods: min_pop ({self.min_pop:,.0f}) must not exceed max_pop "
                f"({self.max_pop:,.0f})"
            )
            raise ScenarioError(msg)
        if self.hubs_by_year is not None and self.hubs is None:
            msg = (
                f"neighbourhoods.hubs_by_year: needs neighbourhoods.hubs (how many hubs); "
                f"found hubs_by_year={self.hubs_by_year} and no hubs"
            )
            raise ScenarioError(msg)
        if not self.nest.strip():
            msg = (
                f"neighbourhoods.nest: expected one of {list(NEST_CHOICES)} or an area column "
                "name; found ''"
            )
            raise ScenarioError(msg)
        if self.file is not None and not self.file.strip():
            msg = "neighbourhoods.file: expected a file path (or omit the key); found ''"
            raise ScenarioError(msg)


@dataclass(frozen=True)
class SolverSettings(_Part):
    """Solver limits and the sensitivity run (``[solver]``).

    Parameters
    ----------
    time_limit_s
        Wall-clock limit per solve in seconds. Default 30. When reached, the
        best plan found is returned with its proven gap.
    threads
        Solver threads. Default 1 (reproducible).
    gap_tolerance
        Stop once the plan is proven within this share of the best possible
        (e.g. 0.005 = 0.5%). Default 0: prove the plan optimal. A small
        tolerance can make re-planning much faster; the plan states its gap.
    seed
        Random seed of the solver and of the sensitivity perturbations.
    sensitivity_runs
        Re-solves under perturbed need to measure each centre's stability
        (0 = no sensitivity run, default).
    sensitivity_noise
        Standard deviation of the log-normal multiplier applied to each area's
        need (mean 1) in the perturbed runs. Default 0.1 (about +-10%).
    sensitivity_shift_min
        With ``sensitivity_runs > 0``, also re-solve with the time standard
        shifted by minus and plus this many minutes (0 = no shifted runs).
        Default 5.
    """

    _section: ClassVar[str] = "solver"

    time_limit_s: float = _spec(
        30.0, "time limit per solve", kind="float", unit="seconds", lo=0.1, hi=86_400
    )
    threads: int = _spec(1, "solver threads", kind="int", unit="threads", lo=1, hi=256)
    gap_tolerance: float = _spec(
        0.0, "accepted relative gap to the best possible", kind="float", unit="share", lo=0, hi=0.2
    )
    seed: int = _spec(0, "random seed", kind="int", lo=0, hi=2**31 - 1)
    sensitivity_runs: int = _spec(0, "perturbed re-solves", kind="int", unit="runs", lo=0, hi=1000)
    sensitivity_noise: float = _spec(
        0.1, "relative perturbation of need", kind="float", unit="share", lo=0, hi=1
    )
    sensitivity_shift_min: float = _spec(
        5.0,
        "shift of the time standard in sensitivity runs",
        kind="float",
        unit="minutes",
        lo=0,
        hi=60,
    )


_PARTS: dict[str, type[_Part]] = {
    "travel": TravelSettings,
    "need": NeedWeights,
    "demand": DemandSettings,
    "capacity": CapacitySettings,
    "phasing": PhasingSettings,
    "policy": PolicySettings,
    "neighbourhoods": NeighbourhoodSettings,
    "solver": SolverSettings,
}
_TOP = ("name", "description")


@dataclass(frozen=True)
class Scenario:
    """All settings of one plan; see the module docstring and :func:`describe`.

    Parameters
    ----------
    name
        Short label shown in reports, e.g. ``"15 min drive, 10 centres"``.
    description
        Free text.
    travel, need, demand, capacity, phasing, policy, neighbourhoods, solver
        The nested parts (defaults when omitted).
    """

    name: str = "Default scenario"
    description: str = ""
    travel: TravelSettings = field(default_factory=TravelSettings)
    need: NeedWeights = field(default_factory=NeedWeights)
    demand: DemandSettings = field(default_factory=DemandSettings)
    capacity: CapacitySettings = field(default_factory=CapacitySettings)
    phasing: PhasingSettings = field(default_factory=PhasingSettings)
    policy: PolicySettings = field(default_factory=PolicySettings)
    neighbourhoods: NeighbourhoodSettings = field(default_factory=NeighbourhoodSettings)
    solver: SolverSettings = field(default_factory=SolverSettings)

    def __post_init__(self) -> None:
        for key in _TOP:
            value = getattr(self, key)
            if not isinstance(value, str):
                msg = f"{key}: expected a string; found {value!r} ({_type_name(value)})"
                raise ScenarioError(msg)
        for section, cls in _PARTS.items():
            value = getattr(self, section)
            if isinstance(value, Mapping):
                object.__setattr__(self, section, cls._from_mapping(value, prefix=section))
            elif not isinstance(value, cls):
                msg = (
                    f"{section}: expected a [{section}] table ({cls.__name__}); "
                    f"found {value!r} ({_type_name(value)})"
                )
                raise ScenarioError(msg)

    # -- dict / TOML --------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Return a nested, TOML-ready dict (``None`` values left out)."""
        out: dict[str, Any] = {key: getattr(self, key) for key in _TOP}
        for section in _PARTS:
            out[section] = getattr(self, section).to_dict()
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Scenario:
        """Build and validate a scenario from a nested dict (as read from TOML).

        Missing keys take their defaults; unknown keys raise
        :class:`~nhc_planner.ScenarioError` with the closest valid key.
        """
        if not isinstance(data, Mapping):
            msg = f"scenario: expected a table of settings; found {_type_name(data)}"
            raise ScenarioError(msg)
        _reject_unknown(data, [*_TOP, *_PARTS], "")
        kwargs: dict[str, Any] = {k: data[k] for k in _TOP if k in data}
        for section, part in _PARTS.items():
            if section in data:
                kwargs[section] = part._from_mapping(data[section], prefix=section)
        return cls(**kwargs)

    def to_toml_string(self) -> str:
        """Return the scenario as TOML text (every field, defaults included)."""
        return tomli_w.dumps(self.to_dict())

    @classmethod
    def from_toml_string(cls, text: str, *, source: str = "scenario") -> Scenario:
        """Parse TOML text; ``source`` names it in error messages."""
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            msg = f"{source}: not valid TOML ({exc})"
            raise ScenarioError(msg) from exc
        try:
            return cls.from_dict(data)
        except ScenarioError as exc:
            if source == "scenario":
                raise
            msg = f"{source}: {exc}"
            raise ScenarioError(msg) from exc

    def to_toml(self, path: str | Path) -> Path:
        """Write the scenario to a TOML file (atomically: a temporary file, then a rename)."""
        from nhc_planner._atomic import atomic_write_text

        return atomic_write_text(path, self.to_toml_string())

    @classmethod
    def from_toml(cls, path: str | Path) -> Scenario:
        """Read and validate a scenario TOML file.

        Raises
        ------
        ScenarioError
            If the file is missing, not TOML, or holds an unknown key, a value of
            the wrong type or out of range (the message names the dotted key).
        """
        p = Path(path)
        if not p.is_file():
            msg = f"{p}: scenario file not found"
            raise ScenarioError(msg)
        return cls.from_toml_string(p.read_text(encoding="utf-8"), source=str(p))

    # -- helpers -----------------------------------------------------------------------

    def replace(self, **changes: Any) -> Scenario:
        """Return a copy with some settings changed, validated again.

        Keys are top-level names (``name``, or a whole part such as
        ``travel=TravelSettings(...)``) or dotted keys such as
        ``"phasing.years"`` (pass them with ``**{...}``).

        Examples
        --------
        >>> Scenario().replace(**{"need.hle_weight": 2.0}).need.hle_weight
        2.0
        """
        top: dict[str, Any] = {}
        nested: dict[str, dict[str, Any]] = {}
        for key, value in changes.items():
            section, dot, sub = key.partition(".")
            if dot:
                if section not in _PARTS:
                    _reject_unknown({section: None}, list(_PARTS), "")
                nested.setdefault(section, {})[sub] = value
            else:
                _reject_unknown({key: None}, [*_TOP, *_PARTS], "")
                top[key] = value
        for section, sub_changes in nested.items():
            base = top.get(section, getattr(self, section))
            if isinstance(base, Mapping):
                base = _PARTS[section]._from_mapping(base, prefix=section)
            top[section] = base.replace(**sub_changes)
        return replace(self, **top)

    def content_hash(self) -> str:
        """A SHA-256 of the scenario's canonical TOML (same settings, same hash).

        Examples
        --------
        >>> Scenario().content_hash() == Scenario().replace(name="Default scenario").content_hash()
        True
        """
        return hashlib.sha256(self.to_toml_string().encode("utf-8")).hexdigest()


def describe() -> list[dict[str, Any]]:
    """Every scenario key with its default, unit, allowed values and meaning.

    Returns
    -------
    list of dict
        One dict per key: ``key`` (dotted), ``default``, ``unit``, ``allowed``, ``doc``.

    Examples
    --------
    >>> rows = {r["key"]: r for r in describe()}
    >>> rows["phasing.years"]["default"], rows["phasing.years"]["allowed"]
    (5, 'an integer in 1..30')
    """
    rows: list[dict[str, Any]] = [
        {
            "key": "name",
            "default": "Default scenario",
            "unit": "",
            "allowed": "a string",
            "doc": "scenario label",
        },
        {
            "key": "description",
            "default": "",
            "unit": "",
            "allowed": "a string",
            "doc": "free text",
        },
    ]
    for section, part in _PARTS.items():
        for f in fields(part):  # type: ignore[arg-type]
            default = f.default if f.default is not MISSING else None
            allowed = _allowed(f.metadata)
            if (section, f.name) == ("policy", "model"):
                from nhc_planner.planning import model_names

                allowed = f"one of {list(model_names())}"
            rows.append(
                {
                    "key": f"{section}.{f.name}",
                    "default": default,
                    "unit": f.metadata["unit"],
                    "allowed": allowed,
                    "doc": f.metadata["doc"],
                }
            )
    return rows
