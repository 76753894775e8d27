"""Assemble a :class:`~nhc_planner.region.Region` from official files.

:class:`RegionInputs` names one file per role (boundaries, IMD, population,
HLE, lookups, facilities); it is read from and written to a simple
``sources.toml`` manifest (see ``docs/data.md``). :func:`build_region` joins
every table on area codes for a local authority, an ICB or a list of areas,
estimates each area's HLE, picks demand points and collects candidate sites.
What does not join is counted and exemplified in a :class:`JoinReport`, kept
in the region's notes and logged; nothing is dropped silently.
"""

from __future__ import annotations

import logging
import os
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from functools import partial
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import tomli_w

from nhc_planner._errors import (
    DataFileError,
    DuplicateKeyError,
    JoinError,
    MissingColumnError,
    NhcInputError,
    ValueRangeError,
)
from nhc_planner.region import Region, RegionMeta
from nhc_planner.schema import (
    AGE_BANDS,
    AREA_COLUMNS,
    BNG,
    PLACE_NAME_COLUMNS,
    SITE_COLUMNS,
    SITE_OVERRIDES,
)
from nhc_planner.sources import registry
from nhc_planner.sources.boundaries import read_boundaries, read_centroids
from nhc_planner.sources.hle import (
    HLE_ESTIMATE_NOTE,
    HLE_GRADIENTS,
    ONS_HLE_GRADIENT_MALE_2015_17,
    estimate_area_hle,
    read_hle,
    read_hle_gradient,
)
from nhc_planner.sources.imd import read_imd
from nhc_planner.sources.lookups import (
    lsoa11_to_lsoa21,
    read_lsoa11_lsoa21,
    read_lsoa_icb,
    read_lsoa_la,
    read_ltla_utla,
)
from nhc_planner.sources.population import read_population
from nhc_planner.sources.validate import check_input_files

__all__ = ["JoinReport", "RegionInputs", "build_region", "build_region_report"]

log = logging.getLogger(__name__)

#: Attribution statements required by the Open Government Licence v3.0.
OGL_ATTRIBUTION: tuple[str, ...] = (
    "Contains public sector information licensed under the Open Government Licence v3.0.",
    "Source: Office for National Statistics licensed under the Open Government Licence v3.0. "
    "Contains OS data © Crown copyright and database right.",
    "English Indices of Deprivation: Ministry of Housing, Communities and Local Government, "
    "Open Government Licence v3.0.",
    "Healthy life expectancy: ONS via OHID Fingertips, Open Government Licence v3.0.",
)
NHS_ATTRIBUTION = (
    "NHS organisation data (NHS England ODS, NHS website syndication) licensed under the "
    "Open Government Licence v3.0."
)

#: The ``RegionInputs`` fields that are file roles (the built-in input roles of the registry).
_PATH_FIELDS: tuple[str, ...] = tuple(
    s.role for s in registry.data_sources() if s.is_input and s.role in registry.BUILTIN_ROLES
)


def _gradient_of(value: Any, manifest: Path) -> tuple[float, ...]:
    """``hle_gradient`` of a manifest: 10 numbers, a built-in name, or an ONS figure CSV."""
    if isinstance(value, list) and all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in value
    ):
        return tuple(float(v) for v in value)
    if isinstance(value, str):
        if value in HLE_GRADIENTS:
            return HLE_GRADIENTS[value]
        q = Path(value).expanduser()
        q = q if q.is_absolute() else (manifest.parent / q)
        if q.is_file():
            return read_hle_gradient(q)
    msg = (
        f"{manifest}: key 'hle_gradient' must be a list of 10 numbers, one of "
        f"{sorted(HLE_GRADIENTS)} or the path of an ONS HLE-by-IMD-decile CSV; got {value!r}"
    )
    raise DataFileError(msg)


def _extra_paths(extra: Mapping[str, str | Path] | None) -> dict[str, Path]:
    """``RegionInputs.extra`` checked: declared, non-built-in input roles, as paths.

    Raises
    ------
    DataFileError
        A role is not declared, is a built-in field, or a required declared
        role is missing.
    """
    extra = dict(extra or {})
    roles = set(registry.input_roles()) - set(_PATH_FIELDS)
    unknown = sorted(set(extra) - roles)
    if unknown:
        msg = (
            f"RegionInputs.extra: role(s) {unknown} are not declared data sources outside the "
            f"built-in fields; declared: {sorted(roles)} (register_source() declares one)"
        )
        raise DataFileError(msg)
    missing = [r for r in registry.required_roles() if r in roles and r not in extra]
    if missing:
        msg = f"RegionInputs.extra: required data source(s) {missing} not given"
        raise DataFileError(msg)
    return {k: Path(v) for k, v in extra.items() if v is not None}


_HLE_SEXES = ("mean", "male", "female", "persons")
_N_EXAMPLES = 5


@dataclass(frozen=True)
class RegionInputs:
    """The files a region is built from, one per role, plus build options.

    Paths may be given as strings; they are stored as :class:`~pathlib.Path`.

    Parameters
    ----------
    boundaries
        LSOA polygons (:func:`~nhc_planner.sources.boundaries.read_boundaries`).
    imd
        IMD file (:func:`~nhc_planner.sources.imd.read_imd`), 2011 or 2021 codes.
    population
        Population file, any layout of
        :func:`~nhc_planner.sources.population.read_population`.
    hle
        HLE per authority (:func:`~nhc_planner.sources.hle.read_hle`).
    lsoa_la
        LSOA 2021 -> local authority lookup.
    centroids
        Population-weighted centroids (optional; else a point inside each polygon).
    population_age
        Population by age band when ``population`` has totals only.
    population_projection
        ONS subnational population projections
        (:func:`~nhc_planner.sources.projections.read_snpp`), joined per authority
        as growth ratios for ``phasing.population = "projection"``.
    imd_health
        IoD2025 Health Deprivation and Disability domain (File 7) and/or its
        indicators (File 8) (:func:`~nhc_planner.sources.imd_health.read_imd_health`),
        joined per area for the need terms ``need.health_weight``, ``need.yll_weight``, ...
    lsoa11_lsoa21
        LSOA 2011 -> 2021 lookup, needed when a table uses 2011 codes.
    lsoa_icb
        LSOA 2021 -> sub-ICB -> ICB lookup (needed to build by ICB code).
    ltla_utla
        Lower- to upper-tier authority lookup (HLE for two-tier districts).
    gp_practices, hospitals, pharmacies, user_sites
        Site files (optional).
    postcodes
        Postcode -> coordinates table for a GP file without coordinates.
    car_availability
        Census 2021 TS045 car or van availability by LSOA (optional): adds
        ``households`` and ``households_no_car`` (the ``mixed`` travel mode, the
        no-car coverage KPI).
    hle_period
        HLE period such as ``"2022 - 24"``; None = latest.
    hle_sex
        ``"mean"`` (of male and female), ``"male"``, ``"female"`` or ``"persons"``.
    hle_gradient
        HLE by national IMD decile 1..10 used for the area estimate.
    site_buffer_m
        Sites farther than this from the region are dropped (with a note).
    extra
        Files of the other declared sources (:mod:`nhc_planner.sources.registry`),
        by role; in ``sources.toml`` they are top-level keys like the others.
    """

    boundaries: Path
    imd: Path
    population: Path
    hle: Path
    lsoa_la: Path
    centroids: Path | None = None
    population_age: Path | None = None
    population_projection: Path | None = None
    imd_health: Path | None = None
    lsoa11_lsoa21: Path | None = None
    lsoa_icb: Path | None = None
    ltla_utla: Path | None = None
    gp_practices: Path | None = None
    hospitals: Path | None = None
    pharmacies: Path | None = None
    user_sites: Path | None = None
    postcodes: Path | None = None
    car_availability: Path | None = None
    gp_registrations: Path | None = None
    hle_period: str | None = None
    hle_sex: str = "mean"
    hle_gradient: tuple[float, ...] = ONS_HLE_GRADIENT_MALE_2015_17
    site_buffer_m: float = 5000.0
    extra: Mapping[str, Path] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        for name in _PATH_FIELDS:
            value = getattr(self, name)
            if value is not None and not isinstance(value, Path):
                object.__setattr__(self, name, Path(value))
        object.__setattr__(self, "extra", _extra_paths(self.extra))
        if self.hle_sex not in _HLE_SEXES:
            msg = f"RegionInputs.hle_sex must be one of {list(_HLE_SEXES)}; got '{self.hle_sex}'"
            raise ValueRangeError(msg)
        gradient = tuple(float(v) for v in self.hle_gradient)
        if len(gradient) != 10:
            msg = f"RegionInputs.hle_gradient needs 10 values (deciles 1..10); got {len(gradient)}"
            raise ValueRangeError(msg)
        object.__setattr__(self, "hle_gradient", gradient)
        if not self.site_buffer_m >= 0:
            msg = f"RegionInputs.site_buffer_m must be >= 0; got {self.site_buffer_m}"
            raise ValueRangeError(msg)

    def path(self, role: str) -> Path | None:
        """The file given for a declared role (a field or ``extra``), or None.

        Raises
        ------
        ValueRangeError
            ``role`` is not a declared input role.
        """
        if role in _PATH_FIELDS:
            value: Path | None = getattr(self, role)
            return value
        source = registry.get_source(role)
        if not source.is_input:
            msg = f"'{role}' is not a region input; inputs: {list(registry.input_roles())}"
            raise ValueRangeError(msg)
        return self.extra.get(role)

    def paths(self) -> dict[str, Path]:
        """Every file given, by role (built-in roles first, in declaration order)."""
        out = {name: getattr(self, name) for name in _PATH_FIELDS}
        out.update(self.extra)
        return {k: v for k, v in out.items() if v is not None}

    @classmethod
    def from_paths(cls, paths: Mapping[str, str | Path], **options: Any) -> RegionInputs:
        """Build from ``role -> file`` for any declared roles, plus options.

        Built-in roles fill their fields, the others ``extra``.

        Raises
        ------
        DataFileError
            A role is not declared or a required one is missing.
        """
        unknown = sorted(set(paths) - set(registry.input_roles()))
        if unknown:
            msg = f"unknown file role(s) {unknown}; declared roles: {list(registry.input_roles())}"
            raise DataFileError(msg)
        missing = [r for r in registry.required_roles() if r not in paths]
        if missing:
            msg = f"required file role(s) {missing} missing; given: {sorted(paths)}"
            raise DataFileError(msg)
        own: dict[str, Any] = {k: Path(v) for k, v in paths.items() if k in _PATH_FIELDS}
        extra = {k: Path(v) for k, v in paths.items() if k not in _PATH_FIELDS}
        return cls(**own, extra=extra, **options)

    @classmethod
    def from_toml(cls, path: str | Path) -> RegionInputs:
        """Read a ``sources.toml`` manifest; relative paths are relative to its folder.

        Raises
        ------
        DataFileError
            If the file is not valid TOML, has unknown keys or lacks a required one.
        """
        p = Path(path)
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            msg = f"sources manifest {p} not found"
            raise DataFileError(msg) from exc
        except tomllib.TOMLDecodeError as exc:
            msg = f"{p}: not valid TOML ({exc})"
            raise DataFileError(msg) from exc
        roles = set(registry.input_roles())
        known = ({f.name for f in fields(cls)} - {"extra"}) | roles
        unknown = sorted(set(data) - known)
        if unknown:
            msg = f"{p}: unknown key(s) {unknown}; expected keys among {sorted(known)}"
            raise DataFileError(msg)
        required = registry.required_roles()
        missing = [k for k in required if k not in data]
        if missing:
            msg = f"{p}: required key(s) {missing} missing; required: {list(required)}"
            raise DataFileError(msg)
        kwargs: dict[str, Any] = {}
        extra: dict[str, Path] = {}
        for key, value in data.items():
            if key in roles:
                if not isinstance(value, str):
                    msg = f"{p}: key '{key}' must be a path string; got {value!r}"
                    raise DataFileError(msg)
                q = Path(value).expanduser()
                q = q if q.is_absolute() else (p.parent / q)
                if key in _PATH_FIELDS:
                    kwargs[key] = q
                else:
                    extra[key] = q
            elif key == "hle_gradient":
                kwargs[key] = _gradient_of(value, p)
            elif key == "site_buffer_m":
                if not isinstance(value, int | float) or isinstance(value, bool):
                    msg = f"{p}: key 'site_buffer_m' must be a number of metres; got {value!r}"
                    raise DataFileError(msg)
                kwargs[key] = float(value)
            else:
                if not isinstance(value, str):
                    msg = f"{p}: key '{key}' must be a string; got {value!r}"
                    raise DataFileError(msg)
                kwargs[key] = value
        return cls(**kwargs, extra=extra)

    def to_toml(self, path: str | Path) -> Path:
        """Write a ``sources.toml`` manifest; paths are stored relative to its folder
        where possible (POSIX separators). Returns the path written."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        out: dict[str, Any] = {}
        base = p.parent.resolve()
        items = [(f.name, getattr(self, f.name)) for f in fields(self) if f.name != "extra"]
        for name, value in [*items, *sorted(self.extra.items())]:
            if value is None:
                continue
            if name in _PATH_FIELDS or name in self.extra:
                target = Path(value).resolve()
                try:
                    rel = Path(os.path.relpath(target, base))
                    out[name] = rel.as_posix()
                except ValueError:  # different drive on Windows
                    out[name] = target.as_posix()
            elif name == "hle_gradient":
                out[name] = list(value)
            else:
                out[name] = value
        from nhc_planner._atomic import atomic_write_text

        return atomic_write_text(
            p,
            "# nhc-planner sources manifest: one file per role, paths relative to this file\n"
            + tomli_w.dumps(out),
        )


def _count_with_examples(codes: tuple[str, ...], words: str) -> str:
    """``"<count> <words>, e.g. [first codes]"`` for a line of the join report."""
    return f"{len(codes)} {words}, e.g. {list(codes[:_N_EXAMPLES])}"


@dataclass(frozen=True)
class JoinReport:
    """What joined and what did not while building a region.

    Attributes
    ----------
    n_boundaries
        Areas in the boundary file.
    n_selected
        Areas selected (by LA, ICB or list) and present in the boundaries.
    n_areas
        Areas in the built region (complete rows).
    not_in_boundaries
        Selected codes (from the lookup or the list) absent from the boundary file.
    missing
        Per table, region areas the table has no row for.
    dropped_areas
        Areas left out because a required value is missing.
    dropped_sites
        Sites beyond the region plus buffer, per source.
    notes
        Notes from the readers (ignored rows, approximations, conversions).
    site_buffer_m
        Distance beyond the region within which sites are kept.
    """

    n_boundaries: int
    n_selected: int
    n_areas: int
    not_in_boundaries: tuple[str, ...] = ()
    missing: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    dropped_areas: tuple[str, ...] = ()
    dropped_sites: Mapping[str, int] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    site_buffer_m: float = 5000.0

    @property
    def complete(self) -> bool:
        """True when every selected area joined every table."""
        return not (self.not_in_boundaries or self.dropped_areas)

    def lines(self) -> list[str]:
        """Plain-language lines (counts and examples) for notes and logs."""
        out = [
            f"Join report: {self.n_areas} area(s) built of {self.n_selected} selected "
            f"({self.n_boundaries} in the boundary file)."
        ]
        if self.not_in_boundaries:
            out.append(
                _count_with_examples(
                    self.not_in_boundaries, "selected area(s) are not in the boundary file"
                )
            )
        for table, codes in self.missing.items():
            if codes:
                out.append(_count_with_examples(codes, f"area(s) have no row in the {table} table"))
        if self.dropped_areas:
            out.append(
                _count_with_examples(self.dropped_areas, "area(s) left out for missing values")
            )
        for source, n in self.dropped_sites.items():
            if n:
                out.append(
                    f"{n} {source} site(s) more than {self.site_buffer_m / 1000:g} km outside "
                    "the region were dropped (sites within that distance are kept for edge effects)"
                )
        out.extend(self.notes)
        return out


def _examples(codes: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(set(codes)))


def _by_code(
    lookup: pd.DataFrame, codes: Sequence[str], prefix: str, kind: str, source: str
) -> tuple[set[str], str, tuple[str, ...]]:
    """Areas of the ``{prefix}_code`` values ``codes`` in a lookup, their joined names, the codes.

    Raises
    ------
    JoinError
        A code is not in the lookup (the message shows some that are).
    """
    code, name = f"{prefix}_code", f"{prefix}_name"
    wanted = [str(c).strip() for c in codes]
    hit = lookup[lookup[code].isin(wanted)]
    absent = sorted(set(wanted) - set(hit[code]))
    if absent:
        msg = (
            f"{kind} code(s) {absent} not in the {source}; it has {lookup[code].nunique()} "
            f"{kind} codes, e.g. {sorted(lookup[code].unique())[:5]}"
        )
        raise JoinError(msg)
    names = [n or c for c, n in hit.drop_duplicates(code)[[code, name]].values]
    return set(hit["area_code"]), " + ".join(names), tuple(wanted)


def _select(
    boundaries: gpd.GeoDataFrame,
    la: pd.DataFrame,
    icb: pd.DataFrame | None,
    *,
    la_codes: Sequence[str] | None,
    icb_codes: Sequence[str] | None,
    area_codes: Sequence[str] | None,
    inputs: RegionInputs,
) -> tuple[set[str], str, tuple[str, ...]]:
    """Return the selected area codes, a default region name and the defining codes."""
    given = [x is not None for x in (la_codes, icb_codes, area_codes)]
    if sum(given) > 1:
        msg = "give at most one of la_codes, icb_codes, area_codes"
        raise NhcInputError(msg)
    if la_codes is not None:
        return _by_code(la, la_codes, "la", "local authority", f"LSOA->LA lookup {inputs.lsoa_la}")
    if icb_codes is not None:
        if icb is None:
            msg = "building by ICB code needs an LSOA->ICB lookup (RegionInputs.lsoa_icb)"
            raise NhcInputError(msg)
        return _by_code(icb, icb_codes, "icb", "ICB", f"LSOA->ICB lookup {inputs.lsoa_icb}")
    if area_codes is not None:
        wanted = [str(c).strip() for c in area_codes]
        return set(wanted), f"Custom region ({len(set(wanted))} areas)", ()
    return set(boundaries["area_code"]), Path(inputs.boundaries).stem, ()


def _to_2021(
    table: pd.DataFrame,
    *,
    role: str,
    boundary_year: int | None,
    inputs: RegionInputs,
    lookup_cache: dict[str, pd.DataFrame],
    **kwargs: Any,
) -> pd.DataFrame:
    """Carry a 2011-coded table onto 2021 codes when the boundaries are 2021."""
    year = table.attrs.get("code_year")
    if year != 2011 or boundary_year == 2011:
        return table
    if inputs.lsoa11_lsoa21 is None:
        msg = (
            f"the {role} table ({table.attrs.get('source')}) uses LSOA 2011 codes but the "
            "boundaries use 2021 codes; give an LSOA 2011->2021 lookup (RegionInputs.lsoa11_lsoa21)"
        )
        raise JoinError(msg)
    if "lookup" not in lookup_cache:
        lookup_cache["lookup"] = read_lsoa11_lsoa21(inputs.lsoa11_lsoa21)
    return lsoa11_to_lsoa21(table, lookup_cache["lookup"], **kwargs)


def _require_overlap(codes: set[str], table: pd.DataFrame, role: str, source: Any) -> None:
    if not codes & set(table["area_code"]):
        msg = (
            f"no overlap between the region's {len(codes)} area codes (e.g. "
            f"{sorted(codes)[:3]}) and the {role} table {source} ({len(table)} rows, e.g. "
            f"{sorted(table['area_code'])[:3]}); are they the same geography and code year?"
        )
        raise JoinError(msg)


def _read_counts(
    path: Path,
    role: str,
    *,
    boundary_year: int | None,
    inputs: RegionInputs,
    lookup_cache: dict[str, pd.DataFrame],
    notes: list[str],
) -> tuple[pd.DataFrame, str]:
    """A population table on the boundaries' codes, and its vintage."""
    table = read_population(path)
    vintage = str(table.attrs.get("vintage", ""))
    table = _to_2021(
        table,
        role=role,
        boundary_year=boundary_year,
        inputs=inputs,
        lookup_cache=lookup_cache,
        counts=["population", *AGE_BANDS],
    )
    notes.extend(table.attrs.get("notes", []))
    return table[["area_code", "population", *AGE_BANDS]], vintage


def _population(
    inputs: RegionInputs,
    *,
    boundary_year: int | None,
    lookup_cache: dict[str, pd.DataFrame],
    notes: list[str],
) -> tuple[pd.DataFrame, dict[str, str]]:
    read = partial(
        _read_counts,
        boundary_year=boundary_year,
        inputs=inputs,
        lookup_cache=lookup_cache,
        notes=notes,
    )
    pop, vintage = read(inputs.population, "population")
    vintages = {"population": vintage}
    if pop[list(AGE_BANDS)].isna().all().all():
        if inputs.population_age is None:
            msg = (
                f"the population file {inputs.population} has totals only; give a population "
                "by age file (RegionInputs.population_age) for the 0-15, 16-64, 65+ bands"
            )
            raise DataFileError(msg)
        age, vintages["population_age"] = read(inputs.population_age, "population by age")
        if age[list(AGE_BANDS)].isna().all().all():
            msg = f"the population_age file {inputs.population_age} has no age bands"
            raise DataFileError(msg)
        merged = pop[["area_code", "population"]].merge(
            age[["area_code", "population", *AGE_BANDS]],
            on="area_code",
            how="left",
            suffixes=("", "_age"),
        )
        # Scale the bands to the total table so that they add up to population.
        total_age = merged[list(AGE_BANDS)].sum(axis=1)
        factor = np.where(total_age > 0, merged["population"] / total_age.where(total_age > 0), 0)
        diff = (merged["population"] - merged["population_age"]).abs()
        if (diff > 0.5).any():
            notes.append(
                f"population by age totals differ from {Path(inputs.population).name} in "
                f"{int((diff > 0.5).sum())} area(s) (max {diff.max():.0f}); age bands were "
                "scaled to the total table"
            )
        for band in AGE_BANDS:
            merged[band] = merged[band] * factor
        pop = merged[["area_code", "population", *AGE_BANDS]]
    return pop, vintages


def _imd(
    inputs: RegionInputs,
    *,
    boundary_year: int | None,
    lookup_cache: dict[str, pd.DataFrame],
    notes: list[str],
    vintages: dict[str, str],
) -> pd.DataFrame:
    """IMD on the boundaries' codes: ``area_code, imd_score, imd_rank, imd_decile``."""
    imd = read_imd(inputs.imd)
    vintages["imd"] = str(imd.attrs.get("vintage"))
    imd = _to_2021(
        imd,
        role="IMD",
        boundary_year=boundary_year,
        inputs=inputs,
        lookup_cache=lookup_cache,
        scores=["imd_score"],
        rank_decile=("imd_rank", "imd_decile"),
    )
    notes.extend(imd.attrs.get("notes", []))
    if "unmatched_2011" in imd.attrs:
        vintages["imd"] += " (LSOA 2011, carried to 2021)"
    return imd[["area_code", "imd_score", "imd_rank", "imd_decile"]]


def _hle(
    inputs: RegionInputs,
    *,
    la: pd.DataFrame,
    imd: pd.DataFrame,
    pop: pd.DataFrame,
    chosen: set[str],
    notes: list[str],
    vintages: dict[str, str],
) -> pd.DataFrame:
    """Estimated HLE (``area_code, hle_years``) for every area of the region's authorities.

    The estimate is made over all areas of each authority found in the national
    tables, so that a region covering part of an authority still reproduces the
    authority's published figure over the whole authority.
    """
    hle = read_hle(inputs.hle, period=inputs.hle_period, sex=inputs.hle_sex)
    notes.extend(hle.attrs.get("notes", []))
    vintages["hle"] = f"OHID Fingertips HLE at birth {hle.attrs['period']} ({hle.attrs['sex']})"
    utla = read_ltla_utla(inputs.ltla_utla) if inputs.ltla_utla is not None else {}
    nat = la[["area_code", "la_code"]].merge(imd[["area_code", "imd_decile"]], on="area_code")
    nat = nat.merge(pop[["area_code", "population"]], on="area_code")
    key = nat["la_code"].astype(str)
    key = key.replace(utla) if utla else key
    wanted = set(key[nat["area_code"].isin(chosen)])
    nat = nat[key.isin(wanted) & nat["population"].notna()].reset_index(drop=True)
    nat["hle_years"] = estimate_area_hle(
        nat, hle, gradient=inputs.hle_gradient, ltla_to_utla=utla or None
    ).to_numpy()
    if inputs.hle_gradient == ONS_HLE_GRADIENT_MALE_2015_17:
        notes.append(HLE_ESTIMATE_NOTE)
    else:
        notes.append(
            "Healthy life expectancy per area is an ESTIMATE: a user-supplied gradient of HLE "
            f"by IMD decile {list(inputs.hle_gradient)} applied to each area's national IMD "
            "decile, shifted so that the population-weighted mean over each authority's areas "
            "equals its published HLE (OHID Fingertips)."
        )
    notes.append(f"HLE published figures: period {hle.attrs['period']}, sex {hle.attrs['sex']}")
    return nat[["area_code", "hle_years"]]


def _demand_points(
    base: pd.DataFrame,
    geoms: gpd.GeoSeries,
    inputs: RegionInputs,
    *,
    missing: dict[str, tuple[str, ...]],
    vintages: dict[str, str],
) -> None:
    """Fill ``demand_x, demand_y, demand_source`` of ``base`` in place."""
    inside = geoms.representative_point()
    base["demand_x"] = inside.x.to_numpy()
    base["demand_y"] = inside.y.to_numpy()
    base["demand_source"] = "inside"
    if inputs.centroids is None:
        return
    pwc = read_centroids(inputs.centroids).set_index("area_code").geometry
    hit = base["area_code"].isin(pwc.index).to_numpy()
    pts = pwc.reindex(base.loc[hit, "area_code"])
    base.loc[hit, "demand_x"] = pts.x.to_numpy()
    base.loc[hit, "demand_y"] = pts.y.to_numpy()
    base.loc[hit, "demand_source"] = "pwc"
    missing["population-weighted centroids"] = _examples(base.loc[~hit, "area_code"])
    vintages["centroids"] = Path(inputs.centroids).name


def _short_paths(notes: Iterable[str], inputs: RegionInputs) -> tuple[str, ...]:
    """Notes without repeats, naming input files by file name rather than full path."""
    paths = list(inputs.paths().values())
    out: list[str] = []
    for note in notes:
        for path in sorted(paths, key=lambda q: -len(str(q))):
            note = note.replace(str(path), Path(path).name)
        out.append(note)
    return tuple(dict.fromkeys(out))


def _declared_columns(
    base: pd.DataFrame,
    inputs: RegionInputs,
    *,
    boundary_year: int | None,
    lookup_cache: dict[str, pd.DataFrame],
    missing: dict[str, tuple[str, ...]],
    notes: list[str],
    vintages: dict[str, str],
) -> tuple[pd.DataFrame, list[str]]:
    """Join the numeric columns of every declared per-area / per-LA source given.

    Sources with ``join="area"`` join on ``area_code`` (2011 codes carried to
    2021 as counts or scores, see ``DataSource.additive``), ``join="la"`` on
    ``la_code``; each numeric column of the reader's frame becomes a float
    area column (areas without a row get NaN, listed in the join report).

    Returns
    -------
    tuple
        The joined table and the names of the columns added, in order.

    Raises
    ------
    MissingColumnError
        The reader's frame lacks its key or a column the source declares in ``adds``.
    DuplicateKeyError
        The frame has a key twice.
    """
    added: list[str] = []
    for source in registry.data_sources():
        path = inputs.path(source.role) if source.is_input else None
        if path is None or not source.joins_columns:
            continue
        table = source.read(path, inputs)
        attrs = dict(table.attrs)
        table = pd.DataFrame(table)
        key = "area_code" if source.join == "area" else "la_code"
        absent = [c for c in (key, *source.adds) if c not in table.columns]
        if absent:
            msg = (
                f"{path}: the {source.label} table lacks column(s) {absent} (declared by data "
                f"source '{source.role}'); found {list(table.columns)[:12]}"
            )
            raise MissingColumnError(msg)
        numeric = [
            str(c)
            for c in table.columns
            if c != key
            and pd.api.types.is_numeric_dtype(table[c])
            and not pd.api.types.is_bool_dtype(table[c])
        ]
        if source.join == "area":
            table = _to_2021(
                table,
                role=source.label,
                boundary_year=boundary_year,
                inputs=inputs,
                lookup_cache=lookup_cache,
                counts=numeric if source.additive else (),
                scores=() if source.additive else numeric,
            )
        dup = table[key][table[key].duplicated()]
        if len(dup):
            msg = (
                f"{path}: the {source.label} table has {dup.nunique()} {key} value(s) more than "
                f"once, e.g. {sorted(dup.astype(str).unique())[:_N_EXAMPLES]}; one row per code"
            )
            raise DuplicateKeyError(msg)
        clash = [c for c in numeric if c in base.columns or c in added]
        if clash:
            notes.append(
                f"{source.label} ({Path(path).name}): column(s) {clash} are already area "
                "columns and were not joined again"
            )
        cols = [c for c in numeric if c not in clash]
        base = base.merge(table[[key, *cols]], on=key, how="left")
        for col in cols:
            base[col] = base[col].astype(float)
        missing[source.label] = _examples(base.loc[~base[key].isin(table[key]), "area_code"])
        notes.extend([*attrs.get("notes", []), *table.attrs.get("notes", [])])
        vintages[source.role] = str(attrs.get("vintage") or source.vintage or Path(path).name)
        added.extend(cols)
    return base, added


def build_region_report(
    inputs: RegionInputs,
    *,
    la_codes: Sequence[str] | None = None,
    icb_codes: Sequence[str] | None = None,
    area_codes: Sequence[str] | None = None,
    name: str | None = None,
    strict: bool = False,
) -> tuple[Region, JoinReport]:
    """Build a region and return it with its :class:`JoinReport`.

    See :func:`build_region` for the parameters (``strict`` included).
    """
    notes: list[str] = []
    vintages: dict[str, str] = {}
    lookup_cache: dict[str, pd.DataFrame] = {}
    check_input_files(inputs.paths())

    # Select the areas.
    boundaries = read_boundaries(inputs.boundaries)
    notes.extend(boundaries.attrs.get("notes", []))
    year = boundaries.attrs.get("code_year")
    vintages["boundaries"] = f"LSOA {year or 'codes'} ({Path(inputs.boundaries).name})"
    la = read_lsoa_la(inputs.lsoa_la)
    icb = read_lsoa_icb(inputs.lsoa_icb) if inputs.lsoa_icb is not None else None
    for lookup in (la, icb):
        notes.extend(lookup.attrs.get("notes", []) if lookup is not None else [])
    selected, default_name, codes = _select(
        boundaries,
        la,
        icb,
        la_codes=la_codes,
        icb_codes=icb_codes,
        area_codes=area_codes,
        inputs=inputs,
    )
    in_bnd = set(boundaries["area_code"])
    chosen = selected & in_bnd
    if not chosen:
        msg = (
            f"the boundary file {inputs.boundaries} ({len(in_bnd)} areas, e.g. "
            f"{sorted(in_bnd)[:3]}) has no overlap with the {len(selected)} selected areas "
            f"(e.g. {sorted(selected)[:3]}); check the code year (2011/2021) and the selection"
        )
        raise JoinError(msg)
    areas = boundaries[boundaries["area_code"].isin(chosen)]
    areas = areas.sort_values("area_code").reset_index(drop=True)

    # Read the tables (carried onto 2021 codes if needed); each must overlap the areas.
    imd = _imd(
        inputs, boundary_year=year, lookup_cache=lookup_cache, notes=notes, vintages=vintages
    )
    pop, pop_vintages = _population(
        inputs, boundary_year=year, lookup_cache=lookup_cache, notes=notes
    )
    vintages.update(pop_vintages)
    for table, role, source in (
        (la, "LSOA->LA lookup", inputs.lsoa_la),
        (imd, "IMD", inputs.imd),
        (pop, "population", inputs.population),
    ):
        _require_overlap(chosen, table, role, source)
    hle = _hle(inputs, la=la, imd=imd, pop=pop, chosen=chosen, notes=notes, vintages=vintages)

    # Join everything on area_code (left joins from the boundaries), noting what is missing.
    missing: dict[str, tuple[str, ...]] = {}
    base = pd.DataFrame(areas.drop(columns="geometry"))
    parts: list[tuple[str, pd.DataFrame]] = [
        ("LSOA->LA lookup", la[["area_code", "la_code", "la_name"]]),
        ("IMD", imd),
        ("population", pop),
        ("HLE estimate", hle),
    ]
    if icb is not None:
        parts.append(("LSOA->ICB lookup", icb[["area_code", "icb_code"]]))
    else:
        base["icb_code"] = ""
        notes.append("no LSOA->ICB lookup given: icb_code is blank")
    for role, table in parts:
        missing[role] = _examples(chosen - set(table["area_code"]))
        base = base.merge(table, on="area_code", how="left")
    base["icb_code"] = base["icb_code"].fillna("").astype(str)

    # Areas lacking a required value are left out, and reported.
    required = ["la_code", "population", *AGE_BANDS, "imd_rank", "imd_decile", "hle_years"]
    incomplete = base[required].isna().any(axis=1).to_numpy()
    dropped = _examples(base.loc[incomplete, "area_code"])
    if strict:
        _refuse_drops(_examples(selected - in_bnd), dropped, pop, n_selected=len(selected))
    if dropped and incomplete.all():
        msg = (
            f"{len(dropped)} of {len(base)} area(s) lack required values ({required}) after "
            f"joining, e.g. {list(dropped[:_N_EXAMPLES])}"
        )
        raise JoinError(msg)
    base = base.loc[~incomplete].reset_index(drop=True)
    geoms = areas.geometry[~incomplete].reset_index(drop=True)
    base["imd_decile"] = base["imd_decile"].astype(int)
    _demand_points(base, geoms, inputs, missing=missing, vintages=vintages)
    base, added = _declared_columns(
        base,
        inputs,
        boundary_year=year,
        lookup_cache=lookup_cache,
        missing=missing,
        notes=notes,
        vintages=vintages,
    )
    places = [c for c in PLACE_NAME_COLUMNS if c in base.columns and c not in added]
    region_areas = gpd.GeoDataFrame(
        base[[*AREA_COLUMNS, *places, *added]], geometry=geoms.to_numpy(), crs=BNG
    )
    for col in ("population", *AGE_BANDS, "imd_score", "imd_rank", "hle_years"):
        region_areas[col] = region_areas[col].astype(float)

    sites, dropped_sites, site_notes, site_vintages = _sites(inputs, region_areas)
    notes.extend(site_notes)
    sites = _practice_lists(sites, inputs, notes)
    vintages.update(site_vintages)
    for declared in registry.data_sources():
        path = inputs.path(declared.role) if declared.join == "lookup" else None
        if path is not None:
            vintages[declared.role] = Path(path).name

    report = JoinReport(
        n_boundaries=len(in_bnd),
        n_selected=len(chosen),
        n_areas=len(region_areas),
        not_in_boundaries=_examples(selected - in_bnd),
        missing={k: v for k, v in missing.items() if v},
        dropped_areas=dropped,
        dropped_sites=dropped_sites,
        notes=_short_paths(notes, inputs),
        site_buffer_m=inputs.site_buffer_m,
    )
    for line in report.lines():
        log.info(line)
    if not report.complete:
        log.warning("region built with gaps: %s", "; ".join(report.lines()[1:3]))
    attribution = (*OGL_ATTRIBUTION, NHS_ATTRIBUTION) if len(sites) else OGL_ATTRIBUTION
    meta = RegionMeta(
        name=name or default_name,
        codes=codes,
        vintages=vintages,
        attribution=attribution,
        notes=tuple(report.lines()),
    )
    return Region(areas=region_areas, sites=sites, meta=meta), report


def _refuse_drops(
    not_in_boundaries: tuple[str, ...],
    dropped: tuple[str, ...],
    pop: pd.DataFrame,
    *,
    n_selected: int,
) -> None:
    """Raise :class:`JoinError` if a strict build would leave out any selected area.

    The message gives the count, the residents of those areas (from the
    population table, where it has them), examples, and the ways out.
    """
    lost = set(not_in_boundaries) | set(dropped)
    if not lost:
        return
    counts = pop.loc[pop["area_code"].isin(lost), ["area_code", "population"]].dropna()
    residents = float(counts["population"].sum())
    unknown = len(lost) - counts["area_code"].nunique()
    res_words = f"{residents:,.0f} residents" + (
        f" in the population table; {unknown} of them have no population row" if unknown else ""
    )
    parts = []
    if not_in_boundaries:
        parts.append(_count_with_examples(not_in_boundaries, "are not in the boundary file"))
    if dropped:
        parts.append(_count_with_examples(dropped, "lack a required value after joining"))
    msg = (
        f"strict build: {len(lost)} of {n_selected} selected area(s) would be dropped "
        f"({res_words}): {'; '.join(parts)}. Check that the boundaries and tables use the "
        "same LSOA code year (2011 boundaries with 2021 tables, or the reverse, drop the "
        "areas whose codes changed) and cover the selection; or accept the drops with "
        "`nhc-planner region build --allow-drops` (build_region(..., strict=False))"
    )
    raise JoinError(msg)


def _sites(
    inputs: RegionInputs, areas: gpd.GeoDataFrame
) -> tuple[gpd.GeoDataFrame, dict[str, int], list[str], dict[str, str]]:
    frames: list[gpd.GeoDataFrame] = []
    notes: list[str] = []
    vintages: dict[str, str] = {}
    dropped: dict[str, int] = {}
    zone = areas.geometry.union_all().buffer(inputs.site_buffer_m)
    for source in registry.site_sources():
        path = inputs.path(source.role)
        if path is None:
            continue
        frame = source.read(path, inputs)
        label = source.name
        notes.extend(frame.attrs.get("notes", []))
        vintages[f"sites_{label.replace(' ', '_').lower()}"] = Path(path).name
        near = frame.geometry.within(zone).to_numpy()
        dropped[label] = int((~near).sum())
        frames.append(frame[near])
    if not frames:
        empty = gpd.GeoDataFrame(
            {c: pd.Series(dtype=float if c in SITE_OVERRIDES else str) for c in SITE_COLUMNS},
            geometry=gpd.GeoSeries([], crs=BNG),
            crs=BNG,
        )
        return empty, dropped, ["no site files given: the region has no sites"], vintages
    sites = pd.concat(frames, ignore_index=True)
    dup = sites["site_id"].duplicated(keep="first")
    if dup.any():
        examples = sites.loc[dup, "site_id"].tolist()[:_N_EXAMPLES]
        sites.loc[dup, "site_id"] = sites.loc[dup, "site_id"] + "-" + sites.loc[dup, "kind"]
        notes.append(
            f"{int(dup.sum())} site id(s) used by two sources were made unique by appending the "
            f"kind, e.g. {examples}"
        )
    sites = gpd.GeoDataFrame(sites, geometry="geometry", crs=BNG)
    return sites, dropped, notes, vintages


def _practice_lists(
    sites: gpd.GeoDataFrame, inputs: RegionInputs, notes: list[str]
) -> gpd.GeoDataFrame:
    """Each GP practice site's registered list size (``registered_list``), when given.

    From the GP registrations file (``inputs.gp_registrations``), matched on
    the practice's ODS code (``site_id``); NaN for other sites and practices
    not in the file. Without the file the sites are returned unchanged.
    """
    path = inputs.path("gp_registrations")
    if path is None:
        return sites
    from nhc_planner.sources.registrations import practice_list_sizes, read_gp_registrations

    lists = practice_list_sizes(read_gp_registrations(path, lsoa_lookup=inputs.lsoa11_lsoa21))
    size = lists.set_index("practice_code")["list_size"]
    is_gp = sites["kind"].astype(str).eq("gp_practice")
    values = sites["site_id"].astype(str).str.upper().map(size).where(is_gp)
    out = sites.copy()
    out["registered_list"] = values.astype(float).to_numpy()
    n_gp, n_hit = int(is_gp.sum()), int(values.notna().sum())
    notes.append(
        f"GP registrations: list sizes for {n_hit} of {n_gp} GP practice site(s) "
        f"({values.sum():,.0f} registered patients)"
        + (f"; {n_gp - n_hit} practice(s) not in the file" if n_gp > n_hit else "")
    )
    return out


def build_region(
    inputs: RegionInputs,
    *,
    la_codes: Sequence[str] | None = None,
    icb_codes: Sequence[str] | None = None,
    area_codes: Sequence[str] | None = None,
    name: str | None = None,
    strict: bool = False,
) -> Region:
    """Build a :class:`Region` for local authorities, ICBs or a list of areas.

    Parameters
    ----------
    inputs
        The source files (see :class:`RegionInputs`, or
        :meth:`RegionInputs.from_toml` for a ``sources.toml`` manifest).
    la_codes
        Lower-tier local authority codes (e.g. ``["E08000035"]`` for Leeds).
    icb_codes
        ICB codes (ONS ``E54...``); needs ``inputs.lsoa_icb``.
    area_codes
        Explicit LSOA codes. With none of the three, every area in the
        boundary file is used.
    name
        Region name (default: the authority or ICB names).
    strict
        Refuse to leave any selected area out: areas missing from the
        boundary file or lacking a required value are a :class:`JoinError`
        naming their count, residents and examples, instead of a line in the
        join report. The CLI ``region build`` is strict unless given
        ``--allow-drops``.

    Returns
    -------
    Region
        Areas and sites per :mod:`nhc_planner.schema`. ``meta.notes`` holds
        the join report (what did not join, with counts and examples), reader
        notes and the HLE estimation note; the report is also logged.

    Raises
    ------
    JoinError
        The boundaries share no codes with the selection or a required table,
        a 2011-coded table lacks the 2011->2021 lookup, an authority has no
        published HLE, or (``strict``) a selected area would be left out.
    DataFileError
        An input file does not exist (every missing role is listed).
    NhcInputError
        Any reader error (missing column, duplicates, CRS, bad values, empty file).
    """
    region, _ = build_region_report(
        inputs,
        la_codes=la_codes,
        icb_codes=icb_codes,
        area_codes=area_codes,
        name=name,
        strict=strict,
    )
    return region
