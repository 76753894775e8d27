"""``plan(region, scenario) -> Plan``: the one pipeline the app, the API and the CLI share.

Steps (each reported to ``progress(stage, fraction)``):

1. **need**: :func:`nhc_planner.need.need_score` per area, HLE quintiles;
2. **travel times** from every area to every site of the region
   (:func:`compute_travel`; pass ``travel=`` to reuse them: they depend only
   on the region and ``scenario.travel``);
3. **optimiser**: :func:`nhc_planner.optimize.phased.phased_coverage` chooses
   new centres and the year they open (and their size and capacity when
   ``capacity.constrain`` is set), with the policy's kept/excluded sites,
   equity floor, per-authority minimum and objective;
4. **capacity and staffing**: each centre's catchment (areas whose nearest
   open centre it is), weekly demand, size, capacity, utilisation, costs
   and whole-time-equivalent staff (:mod:`nhc_planner.capacity`);
5. **KPIs** before (already-open centres only) and after, overall and by IMD
   decile, HLE quintile and local authority; the coverage curve;
6. **explanations**: why each centre was chosen and what the best
   alternative would have given (:mod:`nhc_planner.explain`);
7. **sensitivity** (when ``solver.sensitivity_runs > 0``): how often each
   centre is chosen when need is perturbed (:mod:`nhc_planner.sensitivity`).

The result is a :class:`Plan` of tidy frames (see ``docs/architecture.md``,
"The Plan"), saved and loaded as a folder of GeoParquet, CSV, GeoJSON, the
scenario TOML and a JSON manifest. The same region and scenario give
byte-identical CSV files (single-threaded solver, fixed seed, stable sorts;
a solve stopped by its time limit can differ between machines, and says so).
"""

from __future__ import annotations

import hashlib
import json
import math
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from nhc_planner._errors import (
    DataFileError,
    InfeasibleError,
    NhcInputError,
    ScenarioError,
    SolverError,
    UnknownKeyError,
)
from nhc_planner.capacity import ROLES
from nhc_planner.need import hle_gap_factor, hle_quintiles, need_score
from nhc_planner.region import RegionMeta
from nhc_planner.scenario import Scenario, TravelSettings

if TYPE_CHECKING:
    from nhc_planner.optimize import Solution
    from nhc_planner.region import Region
    from nhc_planner.travel import TravelTimes

__all__ = ["Plan", "Progress", "compute_travel", "coverage_curve", "plan", "region_hash"]

#: ``progress(stage, fraction)``: a stage name and its completion in 0..1.
Progress = Callable[[str, float], None]

FORMAT_VERSION = 1

_TABLES = ("kpis", "kpis_by_decile", "kpis_by_hle_quintile", "kpis_by_la", "coverage_curve")


def _no_progress(stage: str, fraction: float) -> None:
    """Default progress callback: ignore."""


# --------------------------------------------------------------------------- travel


def compute_travel(
    region: Region,
    settings: TravelSettings | Scenario | None = None,
    *,
    progress: Progress | None = None,
) -> TravelTimes:
    """Travel times from every area of ``region`` to every one of its sites.

    They depend only on the region and the travel settings (engine, mode,
    cutoff and the engine's inputs), so callers that re-plan with other
    weights or numbers of centres (the app) compute them once and pass them
    to :func:`plan`. The travel engine the settings name (``"auto"``
    resolved, see :func:`nhc_planner.travel.engine_for`) computes them.

    Parameters
    ----------
    region
        The planning region.
    settings
        ``scenario.travel`` (or a whole scenario); defaults to
        :class:`~nhc_planner.scenario.TravelSettings`.
    progress
        Optional ``progress(stage, fraction)`` callback.

    Returns
    -------
    nhc_planner.travel.TravelTimes
        Long table of area-to-site minutes within ``cutoff_min``.
    """
    from nhc_planner.travel import engine_for

    if isinstance(settings, Scenario):
        settings = settings.travel
    s = settings if settings is not None else TravelSettings()
    report = progress or _no_progress
    report("travel times", 0.0)
    result = engine_for(s).travel_times(region.areas, region.sites, s, progress=report)
    report("travel times", 1.0)
    return result


# --------------------------------------------------------------------------- the Plan


@dataclass(frozen=True, eq=False)
class Plan:
    """The result of :func:`plan`: tidy frames, the solver's verdict and provenance.

    Attributes
    ----------
    scenario
        The :class:`~nhc_planner.scenario.Scenario` planned.
    region_meta
        The region's :class:`~nhc_planner.region.RegionMeta` (name, codes,
        vintages, attribution, synthetic flag).
    centres
        GeoDataFrame (points, EPSG:27700), one row per open centre, sorted by
        opening order: ``site_id, name, kind, status`` (``existing``/``new``),
        ``phase`` (0 = already open, 1..T = year), ``order`` (0 for existing,
        1 = first new), ``size, rooms, weekly_capacity, weekly_demand_served,
        utilisation, pop_newly_covered, pop_newly_covered_imd12,
        catchment_hle_mean, swap_loss, best_alternative, why, capex_gbp,
        annual_cost_gbp`` and ``wte_<role>``.
    assignments
        GeoDataFrame (area polygons), one row per area: ``area_code, area_name,
        la_code, la_name, population, imd_decile, hle_years, hle_quintile,
        need_score, site_id`` (nearest open centre, ``""`` when none within
        the cutoff), ``minutes`` (NaN when none), ``covered_before,
        covered_after, phase_covered`` (first year covered, 0 = already,
        NaN = never), ``travel_method``.
    kpis
        ``metric, before, after, unit``.
    kpis_by_decile, kpis_by_hle_quintile, kpis_by_la
        Population, covered population and shares before/after per group.
    coverage_curve
        ``n_centres, population_covered, share, need_share`` (greedy, from
        the already-open centres).
    solver
        ``status, objective, bound, gap, solve_seconds, message`` (plain words).
    stability
        ``site_id, share_chosen`` from the sensitivity run, or None.
    provenance
        Versions, hashes, data vintages and timings.
    """

    scenario: Scenario
    region_meta: RegionMeta
    centres: gpd.GeoDataFrame
    assignments: gpd.GeoDataFrame
    kpis: pd.DataFrame
    kpis_by_decile: pd.DataFrame
    kpis_by_hle_quintile: pd.DataFrame
    kpis_by_la: pd.DataFrame
    coverage_curve: pd.DataFrame
    solver: dict[str, Any]
    stability: pd.DataFrame | None = None
    provenance: dict[str, Any] = field(default_factory=dict)

    # -- reading -----------------------------------------------------------------------

    def kpi(self, metric: str, when: str = "after") -> float:
        """One KPI value (``when`` is ``"before"`` or ``"after"``)."""
        rows = self.kpis.loc[self.kpis["metric"] == metric, when]
        if rows.empty:
            msg = f"unknown KPI {metric!r}; expected one of {self.kpis['metric'].tolist()}"
            raise UnknownKeyError(msg)
        return float(rows.iloc[0])

    @property
    def new_centres(self) -> gpd.GeoDataFrame:
        """The centres this plan opens (phase >= 1), in opening order."""
        return self.centres[self.centres["status"] == "new"]

    def summary(self) -> str:
        """A concise plain-text summary for the terminal."""
        s = self.scenario
        label = "  [SYNTHETIC DEMO DATA]" if self.region_meta.synthetic else ""
        std = f"{s.travel.standard_min:g} minutes' {s.travel.mode}"
        new = self.new_centres
        lines = [
            f"Plan for {self.region_meta.name}{label}: scenario {s.name!r}",
            f"  {len(new)} new centre(s) over {s.phasing.years} year(s); "
            f"{int((self.centres['status'] == 'existing').sum())} already open",
        ]
        total = self.assignments["population"].sum()
        before, after = self.kpi("population_covered", "before"), self.kpi("population_covered")
        lines.append(
            f"  Population within {std}: {before:,.0f} -> {after:,.0f} "
            f"({before / max(total, 1):.0%} -> {after / max(total, 1):.0%})"
        )
        lines.append(
            "  Residents of the most deprived 20% of areas (IMD deciles 1-2) within it: "
            f"{self.kpi('imd12_share_covered', 'before'):.0%} -> "
            f"{self.kpi('imd12_share_covered'):.0%}"
        )
        mm = self.kpi("mean_minutes")
        if math.isfinite(mm):
            lines.append(f"  Mean travel time to the nearest centre: {mm:.1f} minutes")
        lines.append(f"  Capital cost: GBP {self.kpi('capex_gbp'):,.0f}")
        for phase, group in new.groupby("phase", sort=True):
            names = ", ".join(f"{int(r.order)}. {r.name}" for r in group.itertuples())
            lines.append(f"  Year {int(phase)}: {names}")
        lines.append(f"  Solver: {self.solver.get('message', '')}")
        if self.stability is not None and len(new):
            st = self.stability.set_index("site_id")["share_chosen"]
            stable = float(np.mean([st.get(sid, 0.0) >= 0.8 for sid in new["site_id"]]))
            lines.append(f"  Stability: {stable:.0%} of new centres chosen in >= 80% of runs")
        return "\n".join(lines)

    # -- files -------------------------------------------------------------------------

    def save(self, folder: str | Path) -> Path:
        """Write the plan to ``folder`` (created if needed) and return its path.

        Files: ``centres`` and ``assignments`` as GeoParquet (EPSG:27700),
        GeoJSON (WGS84) and CSV (no geometry; centres with ``x, y`` in BNG
        metres); ``kpis*.csv``, ``coverage_curve.csv``, ``stability.csv``
        (when run); ``scenario.toml``; ``plan.json`` (solver, region
        metadata, provenance).
        """
        path = Path(folder)
        path.mkdir(parents=True, exist_ok=True)
        for name in ("centres", "assignments"):
            frame: gpd.GeoDataFrame = getattr(self, name)
            frame.to_parquet(path / f"{name}.parquet", index=False)
            _write_csv(_plain(frame, points=name == "centres"), path / f"{name}.csv")
            _write_geojson(frame, path / f"{name}.geojson")
        for name in _TABLES:
            _write_csv(getattr(self, name), path / f"{name}.csv")
        stability = path / "stability.csv"
        if self.stability is not None:
            _write_csv(self.stability, stability)
        elif stability.exists():
            stability.unlink()
        self.scenario.to_toml(path / "scenario.toml")
        manifest = {
            "format_version": FORMAT_VERSION,
            "region_meta": self.region_meta.to_dict(),
            "solver": _jsonable(self.solver),
            "provenance": _jsonable(self.provenance),
        }
        (path / "plan.json").write_text(
            json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
        return path

    @classmethod
    def load(cls, folder: str | Path) -> Plan:
        """Read a plan written by :meth:`save`.

        Raises
        ------
        DataFileError
            If ``folder`` is not a saved plan.
        """
        path = Path(folder)
        manifest_path = path / "plan.json"
        if not manifest_path.is_file():
            msg = f"{path}: not a plan folder (no plan.json); write one with Plan.save()"
            raise DataFileError(msg)
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            msg = f"{manifest_path}: not valid JSON ({exc})"
            raise DataFileError(msg) from exc
        needed = [
            "centres.parquet",
            "assignments.parquet",
            "scenario.toml",
            *(f"{t}.csv" for t in _TABLES),
        ]
        missing = [f for f in needed if not (path / f).is_file()]
        if missing:
            msg = f"{path}: plan folder is missing {missing}"
            raise DataFileError(msg)
        tables = {t: _read_csv(path / f"{t}.csv") for t in _TABLES}
        stability = path / "stability.csv"
        return cls(
            scenario=Scenario.from_toml(path / "scenario.toml"),
            region_meta=RegionMeta.from_dict(manifest["region_meta"]),
            centres=gpd.read_parquet(path / "centres.parquet"),
            assignments=gpd.read_parquet(path / "assignments.parquet"),
            solver=dict(manifest.get("solver", {})),
            stability=_read_csv(stability) if stability.is_file() else None,
            provenance=dict(manifest.get("provenance", {})),
            **tables,
        )

    def to_html(self, path: str | Path, *, pdf: bool = False) -> Path:
        """Write the self-contained HTML report into folder ``path``; return ``index.html``.

        Delegates to :func:`nhc_planner.report.write_report`; ``pdf=True`` also
        writes ``report.pdf`` (needs the optional WeasyPrint).
        """
        from nhc_planner.report import write_report

        plan_like: Any = self
        return Path(write_report(plan_like, path, pdf=pdf))


def _plain(frame: gpd.GeoDataFrame, *, points: bool) -> pd.DataFrame:
    out = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    if points:
        out["x"] = frame.geometry.x.round(2).to_numpy()
        out["y"] = frame.geometry.y.round(2).to_numpy()
    return out


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False, lineterminator="\n", float_format="%.6g")


def _read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, keep_default_na=True, na_values=[""])


def _write_geojson(frame: gpd.GeoDataFrame, path: Path) -> None:
    web = frame.to_crs("EPSG:4326")
    if path.exists():
        path.unlink()
    web.to_file(path, driver="GeoJSON", engine="pyogrio", COORDINATE_PRECISION=6)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


# --------------------------------------------------------------------------- sites


@dataclass(frozen=True)
class _Sites:
    """The sites the model sees, in the region's order."""

    ids: np.ndarray  # site ids of every site in the model (columns of the cost matrix)
    frame: gpd.GeoDataFrame  # the same sites, region columns
    open_now: np.ndarray  # bool: already-open centres (phase 0)
    allowed: np.ndarray  # bool: may be chosen as a new centre
    keep: np.ndarray  # indices that must open in year 1


def _select_sites(sites: gpd.GeoDataFrame, scenario: Scenario) -> _Sites:
    policy = scenario.policy
    known = set(sites["site_id"].astype(str))
    for key, ids in (("policy.keep", policy.keep), ("policy.exclude", policy.exclude)):
        unknown = sorted(set(ids) - known)
        if unknown:
            examples = sorted(known)[:5]
            msg = f"{key}: site id(s) {unknown[:5]} are not sites of this region (e.g. {examples})"
            raise ScenarioError(msg)
    ids = sites["site_id"].astype(str).to_numpy()
    kind = sites["kind"].astype(str).to_numpy()
    status = sites["status"].astype(str).to_numpy()
    usable = status != "excluded"
    open_now = usable & np.isin(kind, policy.open_kinds)
    allowed = (
        usable & ~open_now & np.isin(kind, policy.candidate_kinds) & ~np.isin(ids, policy.exclude)
    )
    kept = np.isin(ids, policy.keep)
    bad = ids[kept & ~allowed & ~open_now]
    if len(bad):
        msg = (
            f"policy.keep: site(s) {sorted(bad.tolist())[:5]} cannot be opened (status "
            f"'excluded' or a kind not in policy.candidate_kinds)"
        )
        raise ScenarioError(msg)
    in_model = open_now | allowed
    if not in_model.any():
        msg = (
            "policy: no site can be opened: no site has a kind in policy.candidate_kinds "
            f"{list(policy.candidate_kinds)} and status candidate/existing"
        )
        raise ScenarioError(msg)
    frame = sites.loc[in_model].reset_index(drop=True)
    ids_m = ids[in_model]
    keep_m = np.flatnonzero(np.isin(ids_m, policy.keep) & ~open_now[in_model])
    return _Sites(
        ids=ids_m,
        frame=frame,
        open_now=open_now[in_model],
        allowed=allowed[in_model],
        keep=keep_m,
    )


# --------------------------------------------------------------------------- plan


def plan(
    region: Region,
    scenario: Scenario | None = None,
    *,
    travel: TravelTimes | None = None,
    progress: Progress | None = None,
) -> Plan:
    """Plan where and when to open centres in ``region`` under ``scenario``.

    Parameters
    ----------
    region
        Areas and sites (:class:`~nhc_planner.region.Region`).
    scenario
        Settings; defaults to :class:`~nhc_planner.scenario.Scenario()`.
    travel
        Precomputed :func:`compute_travel` result for this region and
        ``scenario.travel`` (reused by the app so that changing weights or the
        number of centres does not recompute travel times).
    progress
        ``progress(stage, fraction)`` callback (CLI progress bar, app spinner).

    Returns
    -------
    Plan

    Raises
    ------
    ScenarioError
        If a setting does not fit the region (unknown kept site, no candidates).
    InfeasibleError
        If the policy (equity floor, per-authority minimum) cannot be met; the
        message says which floor and by how much.
    SolverError
        If the solver stopped without any plan.

    Examples
    --------
    >>> from nhc_planner.demo import demo_region
    >>> region = demo_region()  # synthetic
    >>> s = Scenario().replace(**{"phasing.years": 2, "phasing.new_per_year": 1})
    >>> p = plan(region, s)  # straight-line travel times (no network set)
    >>> p.new_centres[["phase", "order"]].values.tolist()
    [[1, 1], [2, 2]]
    >>> p.solver["status"], p.kpi("share_covered") > p.kpi("share_covered", "before")
    ('optimal', True)
    """
    s = scenario if scenario is not None else Scenario()
    report = progress or _no_progress
    t_start = time.perf_counter()
    timings: dict[str, float] = {}

    # 1. need
    report("need score", 0.0)
    areas = region.areas.reset_index(drop=True)
    need = need_score(areas, s.need)
    quintile = hle_quintiles(areas["hle_years"].to_numpy(float), areas["population"].to_numpy())
    sel = _select_sites(region.sites, s)
    timings["need"] = time.perf_counter() - t_start

    # 2. travel
    t = time.perf_counter()
    if travel is None:
        travel = compute_travel(region, s.travel, progress=report)
    _check_travel(travel, s.travel)
    area_codes = areas["area_code"].astype(str).tolist()
    cost = np.asarray(travel.matrix(area_codes, sel.ids.tolist()), dtype=float)
    cost = np.where(cost <= s.travel.cutoff_min, cost, np.inf)
    method = _travel_method(travel, area_codes)
    timings["travel"] = time.perf_counter() - t

    # 3. optimiser
    report("optimising", 0.0)
    t = time.perf_counter()
    ctx = _Context.build(areas, sel, s, need)
    sol = _solve(cost, ctx, s)
    timings["solve"] = time.perf_counter() - t
    report("optimising", 1.0)

    # 4-6. catchments, centres (capacity, staff, explanations), KPIs
    report("capacity and KPIs", 0.0)
    open_period = np.asarray(sol.extras["open_period"], dtype=np.int64).copy()
    open_period[sel.keep] = 1  # kept sites are fixed in the model and open in year 1
    assignments, area_site = _assignments(
        areas, sel.ids, cost, open_period, ctx, s, quintile, method, sol
    )
    report("explanations", 0.0)
    t = time.perf_counter()
    centres = _centres(cost, sel, open_period, area_site, ctx, s, sol)
    timings["explain"] = time.perf_counter() - t
    kpis, by_decile, by_quintile, by_la = _kpi_tables(assignments, centres, ctx, s)
    curve = coverage_curve(
        cost,
        need,
        areas["population"].to_numpy(float),
        standard_min=s.travel.standard_min,
        open_now=sel.open_now,
        allowed=sel.allowed,
        site_ids=sel.ids,
        max_new=max(2 * int((centres["status"] == "new").sum()), 10),
    )
    report("explanations", 1.0)  # stages only move forward: explanations, KPIs and curve done

    # 7. sensitivity
    stability = None
    if s.solver.sensitivity_runs > 0:
        t = time.perf_counter()
        stability = _sensitivity(cost, ctx, s, sel, report)
        report("sensitivity", 1.0)
        timings["sensitivity"] = time.perf_counter() - t

    timings["total"] = time.perf_counter() - t_start
    solver = _solver_summary(sol, s, n_new=int((centres["status"] == "new").sum()))
    provenance = _provenance(region, s, travel, timings, sol)
    report("done", 1.0)
    return Plan(
        scenario=s,
        region_meta=region.meta,
        centres=centres,
        assignments=assignments,
        kpis=kpis,
        kpis_by_decile=by_decile,
        kpis_by_hle_quintile=by_quintile,
        kpis_by_la=by_la,
        coverage_curve=curve,
        solver=solver,
        stability=stability,
        provenance=provenance,
    )


def _check_travel(travel: Any, settings: TravelSettings) -> None:
    if not (hasattr(travel, "matrix") and hasattr(travel, "mode")):
        msg = "travel: expected a TravelTimes (from compute_travel); found " + type(travel).__name__
        raise NhcInputError(msg)
    if travel.mode != settings.mode:
        msg = (
            f"travel: the travel times given are for mode {travel.mode!r} but travel.mode is "
            f"{settings.mode!r}; recompute them with compute_travel(region, scenario.travel)"
        )
        raise NhcInputError(msg)
    if travel.cutoff_min < settings.standard_min:
        msg = (
            f"travel: the travel times given stop at {travel.cutoff_min:g} minutes, below "
            f"travel.standard_min = {settings.standard_min:g}; recompute them with compute_travel()"
        )
        raise NhcInputError(msg)


def _travel_method(travel: Any, area_codes: list[str]) -> np.ndarray:
    # "straight_line" where estimated, else the engine's method ("network", "matrix", ...)
    method = travel.area_method.reindex(area_codes).fillna("straight_line")
    return method.to_numpy(dtype=object)


@dataclass(frozen=True)
class _Context:
    """Per-area arrays and capacity settings shared by the steps after travel."""

    population: np.ndarray
    need: np.ndarray
    decile: np.ndarray  # IMD decile (1 = most deprived)
    deprived: np.ndarray  # bool: IMD deciles 1-2 (the "imd12" KPIs)
    hle: np.ndarray
    hle_gap: np.ndarray
    la: np.ndarray
    demand: np.ndarray  # weekly appointments per area
    templates: tuple[Any, ...]  # capacity.SizeTemplate, by rooms
    hours: Any
    costs: Any
    staffing: Any
    open_now: np.ndarray
    allowed: np.ndarray
    keep: np.ndarray
    site_capex: np.ndarray
    site_annual: np.ndarray
    max_rooms: np.ndarray

    @classmethod
    def build(cls, areas: pd.DataFrame, sel: _Sites, s: Scenario, need: np.ndarray) -> _Context:
        from nhc_planner.capacity import (
            CostAssumptions,
            DemandAssumptions,
            OpeningHours,
            SizeTemplate,
            StaffingAssumptions,
            default_size_templates,
            size_template,
            weekly_demand,
        )

        over: dict[str, Any] = s.capacity.assumption_dict()

        def assumptions(cls: Any) -> Any:
            """``cls`` with the scenario's overrides of its own fields."""
            return cls(**{k: v for k, v in over.items() if k in cls.__dataclass_fields__})

        costs = assumptions(CostAssumptions)
        demand_a = assumptions(DemandAssumptions)
        staff_a = assumptions(StaffingAssumptions)
        hours = OpeningHours(
            hours_per_day=s.capacity.hours_per_day, days_per_week=s.capacity.days_per_week
        )
        if s.capacity.sizes:
            templates = []
            for spec in s.capacity.sizes:
                base = size_template(spec.name, spec.rooms, costs)
                templates.append(
                    SizeTemplate(
                        name=spec.name,
                        rooms=spec.rooms,
                        capex_gbp=base.capex_gbp if spec.capex_gbp is None else spec.capex_gbp,
                        annual_cost_gbp=base.annual_cost_gbp
                        if spec.annual_cost_gbp is None
                        else spec.annual_cost_gbp,
                    )
                )
        else:
            templates = list(default_size_templates(costs))
        templates.sort(key=lambda t: (t.rooms, t.name))
        frame = sel.frame
        deciles = areas["imd_decile"].to_numpy(float)
        return cls(
            population=areas["population"].to_numpy(float),
            need=need,
            decile=deciles,
            deprived=deciles <= 2,
            hle=areas["hle_years"].to_numpy(float),
            hle_gap=hle_gap_factor(
                areas["hle_years"].to_numpy(float),
                reference=s.need.hle_reference_years,
                span=s.need.hle_span_years,
            ),
            la=areas["la_code"].astype(str).to_numpy(dtype=object),
            demand=weekly_demand(areas, demand_a),
            templates=tuple(templates),
            hours=hours,
            costs=costs,
            staffing=staff_a,
            open_now=sel.open_now,
            allowed=sel.allowed,
            keep=sel.keep,
            site_capex=pd.to_numeric(frame["capex_gbp"], errors="coerce").to_numpy(float),
            site_annual=pd.to_numeric(frame["annual_cost_gbp"], errors="coerce").to_numpy(float),
            max_rooms=pd.to_numeric(frame["max_rooms"], errors="coerce").to_numpy(float),
        )

    @cached_property
    def _capacities(self) -> dict[Any, float]:
        from nhc_planner.capacity import weekly_capacity

        return {t: weekly_capacity(t, self.hours, costs=self.costs) for t in self.templates}

    def capacity_of(self, template: Any) -> float:
        """Weekly appointments of one of ``templates`` (computed once per template)."""
        return self._capacities[template]

    @cached_property
    def allowed_sizes(self) -> np.ndarray:
        """``(n_sites, n_templates)`` read-only mask of the sizes each site's room cap allows."""
        rooms = np.array([t.rooms for t in self.templates], dtype=float)
        cap = np.where(np.isnan(self.max_rooms), np.inf, self.max_rooms)
        ok = rooms[np.newaxis, :] <= cap[:, np.newaxis]
        # a site too small for every template may still take the smallest
        ok[~ok.any(axis=1), 0] = True
        ok.flags.writeable = False
        return ok


def _openings(s: Scenario, n_keep: int) -> tuple[list[int] | None, float | None]:
    """New centres per year (kept sites use up year-1 places first), or a budget."""
    per_year = s.phasing.per_year()
    if per_year is None:
        return None, s.phasing.budget_per_year_gbp
    slots = list(per_year)
    left = n_keep
    for i in range(len(slots)):
        take = min(slots[i], left)
        slots[i] -= take
        left -= take
    return slots, None


def _model_kwargs(ctx: _Context, s: Scenario) -> dict[str, Any]:
    """Keyword options of :func:`~nhc_planner.optimize.phased.phased_coverage` for ``s``."""
    from nhc_planner.optimize.phased import CoverageFloor, SizeOption

    slots, budget = _openings(s, len(ctx.keep))
    fixed = np.flatnonzero(ctx.open_now | np.isin(np.arange(len(ctx.open_now)), ctx.keep))
    floors = []
    if s.policy.equity_floor is not None:
        k = s.need.most_deprived_deciles
        floors.append(
            CoverageFloor(
                members=ctx.decile <= k,
                share=s.policy.equity_floor,
                name=f"IMD deciles 1-{k}" if k > 1 else "IMD decile 1",
                weights=ctx.population,
            )
        )
    kwargs: dict[str, Any] = {
        "periods": s.phasing.years,
        "new_per_period": slots,
        "budget_per_period": budget,
        "floors": floors,
        "objective": s.policy.objective,
        "fixed": fixed,
        "excluded": np.flatnonzero(~ctx.open_now & ~ctx.allowed),
        "time_limit_s": s.solver.time_limit_s,
        "mip_gap": s.solver.gap_tolerance,
        "threads": s.solver.threads,
        "seed": s.solver.seed,
    }
    if s.policy.la_min_coverage is not None or s.policy.objective == "maxmin":
        kwargs.update(
            groups=ctx.la, group_floor=s.policy.la_min_coverage, group_weights=ctx.population
        )
    if s.capacity.constrain:
        kwargs.update(
            sizes=[
                SizeOption(t.name, capacity=ctx.capacity_of(t), capex_gbp=t.capex_gbp)
                for t in ctx.templates
            ],
            site_capex=ctx.site_capex,
            allowed_sizes=ctx.allowed_sizes,
            demand=ctx.demand,
        )
    elif budget is not None:
        # without capacities each new centre is costed at the middle size template
        middle = ctx.templates[len(ctx.templates) // 2]
        kwargs.update(
            sizes=[SizeOption(middle.name, capex_gbp=middle.capex_gbp)], site_capex=ctx.site_capex
        )
    return kwargs


def _solve(cost: np.ndarray, ctx: _Context, s: Scenario) -> Solution:
    from nhc_planner.optimize.phased import phased_coverage

    sol = phased_coverage(cost, ctx.need, s.travel.standard_min, **_model_kwargs(ctx, s))
    if sol.status == "infeasible":
        why = sol.extras.get("explanation", "no choice of sites meets the policy")
        msg = f"the policy cannot be met: {why}"
        raise InfeasibleError(msg)
    if not sol.has_solution:
        msg = (
            f"the solver found no plan within solver.time_limit_s = {s.solver.time_limit_s:g} s "
            f"({sol.extras.get('message', sol.status)}); raise the time limit or simplify "
            "the policy"
        )
        raise SolverError(msg)
    return sol


def _nearest(cost: np.ndarray, is_open: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of the nearest open site per area (-1 if none) and its minutes (NaN if none)."""
    masked = np.where(is_open[np.newaxis, :], cost, np.inf)
    if masked.shape[1] == 0:
        n = masked.shape[0]
        return np.full(n, -1), np.full(n, np.nan)
    idx = np.argmin(masked, axis=1)
    minutes = masked[np.arange(masked.shape[0]), idx]
    ok = np.isfinite(minutes)
    return np.where(ok, idx, -1), np.where(ok, minutes, np.nan)


def _assignments(
    areas: gpd.GeoDataFrame,
    ids: np.ndarray,
    cost: np.ndarray,
    open_period: np.ndarray,
    ctx: _Context,
    s: Scenario,
    quintile: np.ndarray,
    method: np.ndarray,
    sol: Solution,
) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """Per area: nearest open centre within the cutoff (the solver's with capacities)."""
    is_open = open_period >= 0
    idx, minutes = _nearest(cost, is_open)
    if s.capacity.constrain and sol.fractions is not None:
        solver_idx = np.asarray(sol.assignment)
        use = solver_idx >= 0
        idx = np.where(use, solver_idx, idx)
        rows = np.arange(len(idx))
        picked = np.where(idx >= 0, cost[rows, np.maximum(idx, 0)], np.nan)
        minutes = np.where(idx >= 0, picked, np.nan)
    _, minutes_before = _nearest(cost, ctx.open_now)
    within = cost <= s.travel.standard_min
    before = within[:, ctx.open_now].any(axis=1)
    reach = within & is_open[np.newaxis, :]
    after = reach.any(axis=1)
    phase_cov = np.full(len(idx), np.nan)
    phases = np.where(reach, open_period[np.newaxis, :], np.iinfo(np.int64).max)
    first = phases.min(axis=1) if phases.shape[1] else np.full(len(idx), np.iinfo(np.int64).max)
    has = first < np.iinfo(np.int64).max
    phase_cov[has] = first[has]
    site_ids = np.where(idx >= 0, ids[np.maximum(idx, 0)], "").astype(object)
    out = gpd.GeoDataFrame(
        {
            "area_code": areas["area_code"].astype(str).to_numpy(),
            "area_name": areas["area_name"].astype(str).to_numpy(),
            "la_code": areas["la_code"].astype(str).to_numpy(),
            "la_name": areas["la_name"].astype(str).to_numpy(),
            "population": ctx.population,
            "imd_decile": areas["imd_decile"].astype(int).to_numpy(),
            "hle_years": ctx.hle,
            "hle_quintile": quintile.astype(int),
            "need_score": ctx.need,
            "site_id": site_ids,
            "minutes": minutes,
            "minutes_before": minutes_before,
            "covered_before": before,
            "covered_after": after,
            "phase_covered": phase_cov,
            "travel_method": np.where(idx >= 0, method, ""),
            "weekly_demand": ctx.demand,
        },
        geometry=areas.geometry.to_numpy(),
        crs=areas.crs,
    )
    return out, idx


def _size_for(load: float, ctx: _Context, j: int) -> Any:
    """Smallest template (within the site's room cap) whose capacity covers ``load``."""
    ok = ctx.allowed_sizes[j]
    options = [t for t, fits in zip(ctx.templates, ok, strict=True) if fits]
    for t in options:
        if ctx.capacity_of(t) >= load:
            return t
    return options[-1]


def _fit_sizes_to_budget(
    templates: list[Any], open_period: np.ndarray, load: np.ndarray, ctx: _Context, budget: float
) -> None:
    """Keep each year's capital within ``budget`` after sizing centres by their load.

    Without capacity constraints the solver costs every new centre at the middle
    size template, so sizes chosen afterwards from the catchments' demand could
    overspend. Each new centre is first capped at the middle size, then the
    year's unspent budget upgrades the most overloaded centres, one size at a
    time, while it lasts. Centres with a site-specific capital cost keep it.
    Modifies ``templates`` in place.
    """
    middle = ctx.templates[len(ctx.templates) // 2]
    order = {t.name: i for i, t in enumerate(ctx.templates)}
    allowed = ctx.allowed_sizes

    def capex(j: int, t: Any) -> float:
        return float(t.capex_gbp if np.isnan(ctx.site_capex[j]) else ctx.site_capex[j])

    for year in sorted({int(p) for p in open_period if p > 0}):
        sites = np.flatnonzero(open_period == year).tolist()
        for j in sites:
            if order[templates[j].name] > order[middle.name]:
                templates[j] = middle
        spent = sum(capex(j, templates[j]) for j in sites)
        upgraded = True
        while upgraded:
            upgraded = False
            overload = sorted(
                (load[j] - ctx.capacity_of(templates[j]), j)
                for j in sites
                if load[j] > ctx.capacity_of(templates[j])
            )
            for _, j in reversed(overload):
                k = order[templates[j].name] + 1
                if k >= len(ctx.templates) or not allowed[j][k]:
                    continue
                bigger = ctx.templates[k]
                extra = capex(j, bigger) - capex(j, templates[j])
                if spent + extra <= budget:
                    templates[j], spent, upgraded = bigger, spent + extra, True
                    break


def _centres(
    cost: np.ndarray,
    sel: _Sites,
    open_period: np.ndarray,
    area_site: np.ndarray,
    ctx: _Context,
    s: Scenario,
    sol: Solution,
) -> gpd.GeoDataFrame:
    """One row per open centre: size, capacity, costs, staff and the reasons it was chosen.

    Sizes and loads follow the catchments (areas whose nearest open centre it
    is); :func:`nhc_planner.explain.explain_centres` gives the opening order,
    people newly covered, catchment HLE, swap loss and the ``why`` sentence.
    """
    from nhc_planner.capacity import staffing
    from nhc_planner.explain import explain_centres

    n_sites = len(sel.ids)
    served = area_site >= 0
    load = np.bincount(area_site[served], weights=ctx.demand[served], minlength=n_sites)
    is_open = open_period >= 0
    solver_sizes = sol.extras.get("size")
    templates: list[Any] = [None] * n_sites
    for site in np.flatnonzero(is_open).tolist():
        name = str(solver_sizes[site]) if solver_sizes is not None else ""
        chosen = [t for t in ctx.templates if t.name == name] if s.capacity.constrain else []
        templates[site] = chosen[0] if chosen else _size_for(float(load[site]), ctx, site)
    budget = s.phasing.budget_per_year_gbp if s.phasing.per_year() is None else None
    if budget is not None and not s.capacity.constrain:
        _fit_sizes_to_budget(templates, open_period, load, ctx, float(budget))
    capacity = np.array(
        [ctx.capacity_of(t) if t is not None else np.nan for t in templates], dtype=float
    )
    sizes = np.array([t.name if t is not None else "" for t in templates], dtype=object)
    # explain the plan as delivered: kept sites in year 1, these catchments and sizes
    delivered = replace(
        sol,
        assignment=area_site,
        extras={
            **sol.extras,
            "open_period": open_period,
            "size": sizes,
            "load": load,
            "capacity": capacity,
        },
    )
    table = explain_centres(
        cost,
        delivered,
        ctx.need,
        s.travel.standard_min,
        population=ctx.population,
        imd_decile=ctx.decile,
        hle_years=ctx.hle,
        site_ids=list(sel.ids),
        site_names=[str(x) for x in sel.frame["name"]],
        excluded=np.flatnonzero(~ctx.allowed & ~ctx.open_now),
        unit=f"minutes' {s.travel.mode}",
    )
    n_existing = int((table["status"] == "existing").sum())
    rows = []
    for r in table.to_dict("records"):
        j = int(r["site_index"])
        t = templates[j]
        is_new = r["status"] == "new"
        order = int(r["order"]) - n_existing if is_new else 0
        why = str(r["why"])
        if sel.ids[j] in s.policy.keep:
            why += " Kept by policy."
        if r["utilisation"] > 1:
            why += (
                " Its catchment needs more than the largest size offers: consider a second "
                "site nearby or a larger size template."
            )
        capex = 0.0
        if is_new:
            capex = t.capex_gbp if np.isnan(ctx.site_capex[j]) else ctx.site_capex[j]
        annual = t.annual_cost_gbp if np.isnan(ctx.site_annual[j]) else ctx.site_annual[j]
        best = r["best_alternative"]
        best = None if best is None or pd.isna(best) else str(best)
        best_name = "" if best is None else str(r["best_alternative_name"])
        rows.append(
            {
                "site_id": str(sel.ids[j]),
                "name": str(sel.frame.at[j, "name"]),
                "kind": str(sel.frame.at[j, "kind"]),
                "status": r["status"],
                "phase": int(r["phase"]),
                "order": order,
                "size": t.name,
                "rooms": int(t.rooms),
                "weekly_capacity": float(capacity[j]),
                "weekly_demand_served": float(load[j]),
                "utilisation": float(r["utilisation"]),
                "catchment_population": float(r["catchment_population"]),
                "pop_newly_covered": float(r["pop_newly_covered"]),
                "pop_newly_covered_imd12": float(r["pop_newly_covered_imd12"]),
                "need_newly_covered": float(r["need_newly_covered"]),
                "catchment_hle_mean": float(r["catchment_hle_mean"]),
                "swap_loss": float(r["swap_loss"]),
                "swap_loss_share": float(r["swap_loss_share"]),
                "best_alternative": "" if best is None else str(best),
                "best_alternative_name": best_name,
                "why": why,
                "capex_gbp": float(capex),
                "annual_cost_gbp": float(annual),
                "_index": j,
            }
        )
    frame = pd.DataFrame(rows, columns=[*_CENTRE_COLUMNS[: -len(ROLES)], "_index"])
    # existing centres first, then new ones by opening order
    frame = frame.sort_values(["phase", "order"], kind="stable").reset_index(drop=True)
    staff = staffing(frame["weekly_demand_served"].to_numpy(float), ctx.staffing)
    for role in ROLES:
        frame[f"wte_{role}"] = staff[role].to_numpy()
    geometry = sel.frame.geometry.to_numpy()[frame["_index"].to_numpy(dtype=np.int64)]
    frame = frame.drop(columns="_index")
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=sel.frame.crs)


_CENTRE_COLUMNS = (
    "site_id",
    "name",
    "kind",
    "status",
    "phase",
    "order",
    "size",
    "rooms",
    "weekly_capacity",
    "weekly_demand_served",
    "utilisation",
    "catchment_population",
    "pop_newly_covered",
    "pop_newly_covered_imd12",
    "need_newly_covered",
    "catchment_hle_mean",
    "swap_loss",
    "swap_loss_share",
    "best_alternative",
    "best_alternative_name",
    "why",
    "capex_gbp",
    "annual_cost_gbp",
    *(f"wte_{r}" for r in ROLES),
)


# --------------------------------------------------------------------------- KPIs


def _share(num: float, den: float) -> float:
    return num / den if den > 0 else float("nan")


def _group_kpis(a: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    pop = a["population"]
    frame = a.assign(
        _cb=pop * a["covered_before"],
        _ca=pop * a["covered_after"],
        _mins=pop * a["minutes"].fillna(0.0),
        _reach=pop * a["minutes"].notna(),
        _mins_b=pop * a["minutes_before"].fillna(0.0),
        _reach_b=pop * a["minutes_before"].notna(),
        _hle=pop * a["hle_years"],
    )
    g = frame.groupby(keys, sort=True).agg(
        areas=("area_code", "size"),
        population=("population", "sum"),
        covered_before=("_cb", "sum"),
        covered_after=("_ca", "sum"),
        _mins=("_mins", "sum"),
        _reach=("_reach", "sum"),
        _mins_b=("_mins_b", "sum"),
        _reach_b=("_reach_b", "sum"),
        _hle=("_hle", "sum"),
    )
    g["share_before"] = g["covered_before"] / g["population"].where(g["population"] > 0)
    g["share_after"] = g["covered_after"] / g["population"].where(g["population"] > 0)
    g["hle_mean"] = g["_hle"] / g["population"].where(g["population"] > 0)
    g["mean_minutes_before"] = g["_mins_b"] / g["_reach_b"].where(g["_reach_b"] > 0)
    g["mean_minutes_after"] = g["_mins"] / g["_reach"].where(g["_reach"] > 0)
    return g.drop(columns=["_mins", "_reach", "_mins_b", "_reach_b", "_hle"]).reset_index()


def _kpi_tables(
    a: gpd.GeoDataFrame, centres: gpd.GeoDataFrame, ctx: _Context, s: Scenario
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    pop = ctx.population
    total = float(pop.sum())
    cb = a["covered_before"].to_numpy(bool)
    ca = a["covered_after"].to_numpy(bool)
    dep = ctx.deprived
    gap_w = pop * ctx.hle_gap
    if gap_w.sum() <= 0:
        gap_w = pop
    existing = centres["status"] == "existing"
    # mean minutes before: to the nearest already-open centre
    mins_after = a["minutes"].to_numpy(float)
    mins_before = a["minutes_before"].to_numpy(float)

    def mean_minutes(m: np.ndarray) -> float:
        ok = np.isfinite(m)
        return _share(float((pop[ok] * m[ok]).sum()), float(pop[ok].sum()))

    wte = [f"wte_{r}" for r in ROLES]
    rows = [
        ("centres", float(existing.sum()), float(len(centres)), "centres"),
        ("population_covered", float(pop[cb].sum()), float(pop[ca].sum()), "people"),
        ("share_covered", _share(pop[cb].sum(), total), _share(pop[ca].sum(), total), "share"),
        (
            "imd12_population_covered",
            float(pop[cb & dep].sum()),
            float(pop[ca & dep].sum()),
            "people",
        ),
        (
            "imd12_share_covered",
            _share(pop[cb & dep].sum(), pop[dep].sum()),
            _share(pop[ca & dep].sum(), pop[dep].sum()),
            "share",
        ),
        (
            "hle_weighted_coverage",
            _share(gap_w[cb].sum(), gap_w.sum()),
            _share(gap_w[ca].sum(), gap_w.sum()),
            "share",
        ),
        (
            "need_weighted_coverage",
            _share(ctx.need[cb].sum(), ctx.need.sum()),
            _share(ctx.need[ca].sum(), ctx.need.sum()),
            "share",
        ),
        ("mean_minutes", mean_minutes(mins_before), mean_minutes(mins_after), "minutes"),
        (
            "share_beyond_cutoff",
            _share(pop[~np.isfinite(mins_before)].sum(), total),
            _share(pop[~np.isfinite(mins_after)].sum(), total),
            "share",
        ),
        ("capex_gbp", 0.0, float(centres["capex_gbp"].sum()), "GBP"),
        (
            "annual_cost_gbp",
            float(centres.loc[existing, "annual_cost_gbp"].sum()),
            float(centres["annual_cost_gbp"].sum()),
            "GBP per year",
        ),
        (
            "staff_wte",
            float(centres.loc[existing, wte].to_numpy().sum()),
            float(centres[wte].to_numpy().sum()),
            "WTE",
        ),
    ]
    kpis = pd.DataFrame(rows, columns=["metric", "before", "after", "unit"])
    plain = pd.DataFrame(a.drop(columns=a.geometry.name))
    by_decile = _group_kpis(plain, ["imd_decile"])
    by_quintile = _group_kpis(plain, ["hle_quintile"])
    ranges = plain.groupby("hle_quintile", sort=True)["hle_years"].agg(["min", "max"])
    by_quintile["hle_min"] = ranges["min"].to_numpy()
    by_quintile["hle_max"] = ranges["max"].to_numpy()
    by_la = _group_kpis(plain, ["la_code", "la_name"])
    return kpis, by_decile, by_quintile, by_la


def coverage_curve(
    cost: np.ndarray,
    need: np.ndarray,
    population: np.ndarray,
    *,
    standard_min: float,
    open_now: np.ndarray | None = None,
    allowed: np.ndarray | None = None,
    site_ids: np.ndarray | None = None,
    max_new: int = 20,
) -> pd.DataFrame:
    """Coverage against the number of new centres (diminishing returns).

    Starting from the already-open sites, adds at each step the allowed site
    that brings the most need within ``standard_min`` (greedy; ties go to the
    lowest index). The greedy curve is within ``1 - 1/e`` of the best
    possible coverage for every number of centres (Nemhauser, Wolsey & Fisher
    1978) and in practice very close to it; it is nested, so it reads as
    "what the next centre adds".

    Parameters
    ----------
    cost
        ``(n_areas, n_sites)`` minutes (``np.inf`` = unreachable).
    need, population
        Per area: the weight maximised, and the population reported.
    standard_min
        Access standard in minutes.
    open_now, allowed
        Boolean masks over sites: already open / may be added (default none /
        all).
    site_ids
        Labels of the sites (default their column indices).
    max_new
        Largest number of new centres on the curve.

    Returns
    -------
    pandas.DataFrame
        ``n_centres`` (new centres, 0 = already-open only),
        ``population_covered``, ``share`` (of population), ``need_share``,
        ``site_id`` (the site added at that step, ``""`` for row 0).

    Examples
    --------
    >>> cost = np.array([[5.0, 50.0], [50.0, 5.0], [50.0, 8.0]])
    >>> curve = coverage_curve(cost, np.ones(3), np.ones(3), standard_min=10, max_new=2)
    >>> curve["n_centres"].tolist(), curve["population_covered"].tolist()
    ([0, 1, 2], [0.0, 2.0, 3.0])
    """
    within = np.asarray(cost) <= standard_min
    need = np.asarray(need, dtype=float)
    population = np.asarray(population, dtype=float)
    n_sites = within.shape[1]
    is_open = np.zeros(n_sites, bool) if open_now is None else np.asarray(open_now, bool)
    can_add = (~is_open) if allowed is None else (np.asarray(allowed, bool) & ~is_open)
    covered: np.ndarray = np.asarray(within[:, is_open].any(axis=1), dtype=bool)
    total_pop = float(population.sum())
    total_need = float(need.sum())
    rows = [(0, float(population[covered].sum()), float(need[covered].sum()), -1)]
    within_f = within.astype(float)  # converted once, not once per step
    for k in range(1, max_new + 1):
        if not can_add.any():
            break
        # need each site would bring within the standard for the first time
        gain = np.array(np.where(covered, 0.0, need) @ within_f, dtype=np.float64).reshape(-1)
        gain[~can_add] = -1.0
        best = int(np.argmax(gain))
        if gain[best] <= 0:
            break
        covered = covered | within[:, best]
        can_add[best] = False
        rows.append((k, float(population[covered].sum()), float(need[covered].sum()), best))
    labels = np.arange(n_sites).astype(str) if site_ids is None else np.asarray(site_ids)
    out = pd.DataFrame(rows, columns=["n_centres", "population_covered", "_need", "_site"])
    out["share"] = out["population_covered"] / total_pop if total_pop > 0 else np.nan
    out["need_share"] = out["_need"] / total_need if total_need > 0 else np.nan
    out["site_id"] = [str(labels[j]) if j >= 0 else "" for j in out["_site"]]
    return out[["n_centres", "population_covered", "share", "need_share", "site_id"]]


# --------------------------------------------------------------------------- sensitivity


def _sensitivity(
    cost: np.ndarray, ctx: _Context, s: Scenario, sel: _Sites, report: Progress
) -> pd.DataFrame:
    """Share of perturbed re-solves choosing each site (:func:`nhc_planner.sensitivity.stability`).

    Runs: the time standard shifted by ``-/+ solver.sensitivity_shift_min``
    with the base need, then ``solver.sensitivity_runs`` runs with need
    multiplied by mean-one log-normal noise of ``solver.sensitivity_noise``.
    """
    from nhc_planner.sensitivity import default_runs, stability

    report("sensitivity", 0.0)
    shift = s.solver.sensitivity_shift_min
    runs = default_runs(
        n_weight_runs=s.solver.sensitivity_runs,
        weight_noise=s.solver.sensitivity_noise,
        time_shifts=(-shift, shift) if shift > 0 else (),
        seed=s.solver.seed,
    )
    kwargs = _model_kwargs(ctx, s)
    kwargs["time_limit_s"] = max(s.solver.time_limit_s / 4, 1.0)
    kwargs["explain_infeasible"] = False
    result = stability(
        cost,
        ctx.need,
        s.travel.standard_min,
        model_kwargs=kwargs,
        runs=runs,
        max_workers=s.solver.threads,
        site_ids=list(sel.ids),
        progress=lambda done, total: report("sensitivity", done / total),
    )
    sites = result.sites
    sites = sites[(sites["share_chosen"] > 0) & ~ctx.open_now[sites["site_index"].to_numpy()]]
    frame = pd.DataFrame(
        {
            "site_id": sites["site_id"].astype(str).to_numpy(),
            "share_chosen": sites["share_chosen"].to_numpy(float),
            "mean_phase": sites["mean_phase"].to_numpy(float),
        }
    )
    return frame.sort_values(["share_chosen", "site_id"], ascending=[False, True]).reset_index(
        drop=True
    )


# --------------------------------------------------------------------------- solver, provenance


def _solver_summary(sol: Solution, s: Scenario, *, n_new: int) -> dict[str, Any]:
    std = f"{s.travel.standard_min:g} minutes' {s.travel.mode}"
    if sol.status == "optimal":
        message = (
            f"Optimal: the solver proved that no other choice and timing of {n_new} new "
            f"centre(s) covers more need within {std} (solved in {sol.solve_seconds:.1f} s)."
        )
    elif sol.gap <= s.solver.gap_tolerance + 1e-12:
        message = (
            f"Near-optimal: the solver proved that this plan is within {sol.gap:.2%} of the best "
            f"possible choice and timing of {n_new} new centre(s) for need within {std}, inside "
            f"the accepted solver.gap_tolerance of {s.solver.gap_tolerance:.2%} "
            f"(solved in {sol.solve_seconds:.1f} s)."
        )
    else:
        message = (
            f"Good but not proven best: the solver reached its {s.solver.time_limit_s:g} s time "
            f"limit; this plan is within {sol.gap:.1%} of the best possible. Raise "
            "solver.time_limit_s to close the gap."
        )
    return {
        "status": sol.status,
        "objective": float(sol.objective),
        "bound": float(sol.bound),
        "gap": float(sol.gap),
        "solve_seconds": float(sol.solve_seconds),
        "message": message,
        "detail": str(sol.extras.get("message", "")),
        "backend": str(sol.extras.get("backend", "")),
        "min_group_share": sol.extras.get("min_group_share"),
    }


def region_hash(region: Region) -> str:
    """SHA-256 of a region's tables and metadata (same content, same hash)."""
    h = hashlib.sha256()
    for frame in (region.areas, region.sites):
        plain = pd.DataFrame(frame.drop(columns=frame.geometry.name))
        h.update(pd.util.hash_pandas_object(plain, index=False).to_numpy().tobytes())
        h.update(b"".join(frame.geometry.to_wkb()))
        h.update("|".join(map(str, plain.columns)).encode())
    h.update(json.dumps(region.meta.to_dict(), sort_keys=True).encode())
    return h.hexdigest()


def _provenance(
    region: Region,
    s: Scenario,
    travel: Any,
    timings: dict[str, float],
    sol: Solution,
) -> dict[str, Any]:
    import ortools

    from nhc_planner._version import __version__

    estimated = travel.estimated
    return {
        "nhc_planner": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "geopandas": gpd.__version__,
        "ortools": ortools.__version__,
        "created_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region.meta.name,
        "region_sha256": region_hash(region),
        "scenario_sha256": s.content_hash(),
        "synthetic": region.meta.synthetic,
        "vintages": dict(region.meta.vintages),
        "attribution": list(region.meta.attribution),
        "notes": list(region.meta.notes),
        "travel_mode": travel.mode,
        "travel_network": s.travel.network or s.travel.matrix or "straight-line estimate",
        "areas_straight_line": int(np.count_nonzero(np.asarray(estimated, dtype=bool))),
        "seconds": {k: round(v, 3) for k, v in timings.items()},
        "solver_backend": str(sol.extras.get("backend", "")),
    }
