"""``plan(region, scenario) -> Plan``: the one pipeline the app, the API and the CLI share.

Steps (each reported to ``progress(stage, fraction)``):

1. **need**: :func:`nhc_planner.need.need_score` per area; the sites in the
   model (already open, or allowed as new by the policy);
2. **travel times** from every area to every site of the region
   (:func:`compute_travel`; pass ``travel=`` to reuse them: they depend only
   on the region and ``scenario.travel``). Steps 1-2 give the shared
   :class:`~nhc_planner.planning.PlanInputs` (:func:`plan_inputs`);
3. **planning model**: the model named by ``scenario.policy.model``
   (:mod:`nhc_planner.planning`; the default ``"neighbourhoods"`` model,
   :mod:`nhc_planner.model_neighbourhoods`, delineates neighbourhoods and
   gives each a centre, lowest HLE first; the ``"coverage"`` model,
   :mod:`nhc_planner.model_coverage`, runs
   :func:`nhc_planner.optimize.phased.phased_coverage`) chooses new centres,
   the year they open, their size and the centre serving each area;
4. **capacity, staffing and explanations**: the model's tables, through the
   shared helpers of :mod:`nhc_planner.plan_tables` (catchments, weekly
   demand, size, capacity, utilisation, costs, whole-time-equivalent staff,
   why each centre was chosen: :mod:`nhc_planner.explain`);
5. **KPIs** before (already-open centres only) and after, overall and by IMD
   decile, HLE quintile and local authority (:mod:`nhc_planner.kpis`); the
   coverage curve (:mod:`nhc_planner.optimize.curve`);
6. **sensitivity** (when ``solver.sensitivity_runs > 0`` and the model has a
   ``stability`` method): how often each centre is chosen when need is
   perturbed (:mod:`nhc_planner.sensitivity`).

The result is a :class:`Plan` of tidy frames (see ``docs/architecture.md``,
"The Plan"), saved and loaded as a folder of GeoParquet, CSV, GeoJSON, the
scenario TOML and a JSON manifest (:mod:`nhc_planner.plan_io`). The same region
and scenario give byte-identical CSV files (single-threaded solver, fixed seed,
stable sorts; a solve stopped by its time limit can differ between machines,
and says so).
"""

from __future__ import annotations

import math
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from nhc_planner._errors import (
    NhcInputError,
    ScenarioError,
    UnknownKeyError,
)
from nhc_planner.access_today import check_anchors, demand_areas, with_access_today
from nhc_planner.feasibility import check_scenario_fits, with_notices
from nhc_planner.kpis import kpi_tables
from nhc_planner.need import need_correlation, need_score
from nhc_planner.projections import population_by_year
from nhc_planner.region import RegionMeta, region_hash
from nhc_planner.scenario import Scenario, TravelSettings

if TYPE_CHECKING:
    from nhc_planner.capacity import UnmetDemandTables
    from nhc_planner.optimize.curve import coverage_curve
    from nhc_planner.planning import PlanInputs
    from nhc_planner.region import Region
    from nhc_planner.travel import TravelTimes

__all__ = [
    "Plan",
    "Progress",
    "compute_travel",
    "coverage_curve",
    "plan",
    "plan_inputs",
    "region_hash",
]

#: ``progress(stage, fraction)``: a stage name and its completion in 0..1.
Progress = Callable[[str, float], None]


def __getattr__(name: str) -> Any:
    """``coverage_curve`` is re-exported lazily (it lives with the models in ``optimize``)."""
    if name == "coverage_curve":
        from nhc_planner.optimize.curve import coverage_curve

        return coverage_curve
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)


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


def _within_horizon(new: pd.DataFrame, years: int) -> str:
    """``10 new centre(s) over 5 year(s)``, and how many open after the horizon, if any."""
    late = int((pd.to_numeric(new["phase"], errors="coerce") > years).sum())
    text = f"{len(new) - late} new centre(s) over {years} year(s)"
    return text + (f", {late} more after it at the same pace" if late else "")


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
    unmet
        Weekly appointments no centre serves in the final year, by area, IMD
        decile, HLE fifth and local authority
        (:class:`~nhc_planner.capacity.UnmetDemandTables`, from the assignments'
        ``weekly_unmet``); None for plans saved before it existed.
    neighbourhoods
        GeoDataFrame (area polygons, EPSG:27700), one row per area with its
        neighbourhood (``area_code, neighbourhood_id, neighbourhood_name,
        population`` of the neighbourhood, ``hle_mean, imd_mix`` (share in IMD
        deciles 1-2), ``site_id`` of its centre, ``opening_year``, ...: see
        :data:`nhc_planner.model_neighbourhoods.NEIGHBOURHOOD_COLUMNS`), or
        None for models without neighbourhoods.
    population_basis
        Which year's population each year of the plan was weighed with and how
        it was made (``phasing.population``; see
        :class:`~nhc_planner.projections.PopulationByYear`); ``""`` for plans
        saved before it existed.
    need_correlation
        Population-weighted correlation between the need terms in use
        (:func:`nhc_planner.need.need_correlation`: ``term`` and one column per
        term), so that double counting is visible; None for plans saved before it.
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
    unmet: UnmetDemandTables | None = None
    neighbourhoods: gpd.GeoDataFrame | None = None
    population_basis: str = ""
    need_correlation: pd.DataFrame | None = None

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

    def openings(self) -> str:
        """``"10 new centre(s) over 5 year(s), 11 more after it at the same pace"``: the
        new centres within the scenario's horizon, and those the plan opens after it."""
        return _within_horizon(self.new_centres, self.scenario.phasing.years)

    def summary(self) -> str:
        """A concise plain-text summary for the terminal."""
        s = self.scenario
        label = "  [SYNTHETIC DEMO DATA]" if self.region_meta.synthetic else ""
        std = f"{s.travel.standard_min:g} minutes' {s.travel.mode}"
        new = self.new_centres
        lines = [
            f"Plan for {self.region_meta.name}{label}: scenario {s.name!r}",
            f"  {self.openings()}; "
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
        today = self.kpi_or_nan("share_covered_today", "before")
        if math.isfinite(today):
            lines.append(
                f"  Within {std} of an open GP practice or centre today: {today:.0%} -> "
                f"{self.kpi('share_covered_today'):.0%} with the plan's centres"
            )
        mm = self.kpi("mean_minutes")
        if math.isfinite(mm):
            lines.append(f"  Mean travel time to the nearest centre: {mm:.1f} minutes")
        lines.append(f"  Capital cost: GBP {self.kpi('capex_gbp'):,.0f}")
        lines.append(f"  {self.capacity_line()}")
        if self.population_basis:
            lines.append(f"  {self.population_basis.split(';')[0]}")
        for phase, group in new.groupby("phase", sort=True):
            names = ", ".join(f"{int(r.order)}. {r.name}" for r in group.itertuples())
            lines.append(f"  Year {int(phase)}: {names}")
        lines.append(f"  Solver: {self.solver.get('message', '')}")
        if self.stability is not None and len(new):
            st = self.stability.set_index("site_id")["share_chosen"]
            stable = float(np.mean([st.get(sid, 0.0) >= 0.8 for sid in new["site_id"]]))
            lines.append(f"  Stability: {stable:.0%} of new centres chosen in >= 80% of runs")
        return "\n".join(lines)

    def capacity_line(self) -> str:
        """One sentence: whether capacity was applied, utilisation and unmet demand, in numbers."""
        c = self.centres
        util = pd.to_numeric(c["utilisation"], errors="coerce").to_numpy(float)
        over = int(np.sum(util > 1 + 1e-9))
        top = float(np.nanmax(util)) if util.size and np.isfinite(util).any() else 0.0
        applied = bool(self.solver.get("capacity_applied", self.scenario.capacity.constrain))
        unmet = self.kpi_or_nan("unmet_weekly_appointments")
        unmet_share = self.kpi_or_nan("unmet_share")
        unmet_text = (
            f"; {unmet:,.0f} weekly appointments unmet ({unmet_share:.1%} of demand)"
            if math.isfinite(unmet) and math.isfinite(unmet_share)
            else ""
        )
        if not applied:
            return (
                f"Capacity NOT applied (capacity.constrain = false): {over} centre(s) above "
                f"capacity, highest utilisation {top:.0%}{unmet_text} (areas out of reach only)"
            )
        if over:
            return (
                f"Capacity NOT respected: {over} centre(s) above capacity, highest utilisation "
                f"{top:.0%}{unmet_text}"
            )
        return f"Capacity applied: every centre within its capacity (highest {top:.0%}){unmet_text}"

    def kpi_or_nan(self, metric: str, when: str = "after") -> float:
        """:meth:`kpi`, or NaN when the plan has no such KPI (plans saved by older versions)."""
        rows = self.kpis.loc[self.kpis["metric"] == metric, when]
        return float(rows.iloc[0]) if not rows.empty else float("nan")

    # -- files -------------------------------------------------------------------------

    def save(self, folder: str | Path) -> Path:
        """Write the plan to ``folder`` (created if needed) and return its path.

        Files: ``centres`` and ``assignments`` as GeoParquet (EPSG:27700),
        GeoJSON (WGS84) and CSV (no geometry; centres with ``x, y`` in BNG
        metres); ``kpis*.csv``, ``coverage_curve.csv``, ``stability.csv``
        (when run); ``scenario.toml``; ``plan.json`` (solver, region
        metadata, provenance); for plans with neighbourhoods,
        ``neighbourhoods.csv`` (one row per area), ``neighbourhoods.geojson``
        (dissolved polygons, WGS84) and ``neighbourhoods.parquet``;
        ``manifest.json`` (SHA-256 of each, checked by
        :meth:`load`). Written by :func:`nhc_planner.plan_io.save_plan` into a
        temporary folder swapped in by renames: an interrupted save leaves the
        old plan or the new one, whole. Other files in ``folder`` are kept.
        """
        from nhc_planner.plan_io import save_plan

        return save_plan(self, folder)

    @classmethod
    def load(cls, folder: str | Path) -> Plan:
        """Read a plan written by :meth:`save` (:func:`nhc_planner.plan_io.load_plan`).

        Raises
        ------
        DataFileError
            If ``folder`` is not a saved plan.
        CorruptFileError
            If a file does not match the checksums saved with the plan, is
            missing, or comes from another save.
        """
        from nhc_planner.plan_io import load_plan

        return load_plan(cls, folder)

    def to_html(self, path: str | Path, *, pdf: bool = False) -> Path:
        """Write the self-contained HTML report into folder ``path``; return ``index.html``.

        Delegates to :func:`nhc_planner.report.write_report`; ``pdf=True`` also
        writes ``report.pdf`` (needs the optional WeasyPrint).
        """
        from nhc_planner.report import write_report

        plan_like: Any = self
        return Path(write_report(plan_like, path, pdf=pdf))


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

    The planning model named by ``scenario.policy.model``
    (:func:`nhc_planner.planning.get_model`) decides; everything else is shared.

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
    >>> s = Scenario().replace(
    ...     **{"policy.model": "coverage", "phasing.years": 2, "phasing.new_per_year": 1}
    ... )
    >>> p = plan(region, s)  # straight-line travel times (no network set)
    >>> p.new_centres[["phase", "order"]].values.tolist()
    [[1, 1], [2, 2]]
    >>> p.solver["capacity_applied"], bool((p.centres["utilisation"] <= 1).all())
    (True, True)
    >>> p.kpi("share_covered") > p.kpi("share_covered", "before")
    True
    """
    from nhc_planner.optimize.curve import coverage_curve
    from nhc_planner.planning import SupportsStability, get_model

    s = scenario if scenario is not None else Scenario()
    model = get_model(s.policy.model)
    report = progress or _no_progress
    t_start = time.perf_counter()
    timings: dict[str, float] = {}

    notices = check_scenario_fits(region, s)  # refuses what cannot be honoured, notes the rest
    check_anchors(region.sites, s)  # anchor practices known before any solving
    # 1-2. need, sites, travel: the model's shared inputs
    inputs = plan_inputs(region, s, travel=travel, progress=report, timings=timings)

    # 3. the planning model decides
    report("optimising", 0.0)
    t = time.perf_counter()
    built = model.build(inputs)
    result = model.solve(built)
    timings["solve"] = time.perf_counter() - t
    report("optimising", 1.0)

    # 4-6. catchments, centres (capacity, staff, explanations), KPIs, curve
    report("capacity and KPIs", 0.0)
    report("explanations", 0.0)
    t = time.perf_counter()
    tables = model.tables(inputs, built, result)
    timings["explain"] = time.perf_counter() - t
    assignments, centres, today_words = with_access_today(
        tables.assignments, tables.centres, region.sites, inputs.areas, inputs.travel, s
    )
    kpis, by_decile, by_quintile, by_la = kpi_tables(assignments, centres, s.need)
    n_new = int((centres["status"] == "new").sum())
    curve = coverage_curve(
        inputs.cost,
        inputs.need,
        inputs.population,
        standard_min=s.travel.standard_min,
        open_now=inputs.open_now,
        allowed=inputs.allowed,
        site_ids=inputs.sites["site_id"].astype(str).to_numpy(),
        max_new=max(2 * n_new, 10),
    )
    report("explanations", 1.0)  # stages only move forward: explanations, KPIs and curve done

    # 7. sensitivity
    stability = None
    if s.solver.sensitivity_runs > 0 and isinstance(model, SupportsStability):
        t = time.perf_counter()
        stability = model.stability(inputs, built, report)
        report("sensitivity", 1.0)
        timings["sensitivity"] = time.perf_counter() - t

    timings["total"] = time.perf_counter() - t_start
    solver = with_notices(result.solver_summary(), notices, s, n_new=n_new)
    unmet = _unmet_tables(assignments)
    provenance = _provenance(region, s, inputs.travel, timings, result.solve.backend)
    provenance["demand"] = demand_areas(region.areas, s)[1]
    provenance["access_today"] = today_words
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
        unmet=unmet,
        neighbourhoods=tables.neighbourhoods,
        population_basis=inputs.by_year.description if inputs.by_year is not None else "",
        need_correlation=need_correlation(inputs.areas, s.need),
    )


def _unmet_tables(assignments: gpd.GeoDataFrame) -> UnmetDemandTables | None:
    """The unmet-demand tables of the plan's assignments (None without ``weekly_unmet``)."""
    from nhc_planner.capacity import unmet_demand_tables

    if "weekly_unmet" not in assignments or "weekly_demand" not in assignments:
        return None
    plain = pd.DataFrame(assignments.drop(columns=assignments.geometry.name))
    return unmet_demand_tables(
        plain, plain["weekly_unmet"].to_numpy(float), plain["weekly_demand"].to_numpy(float)
    )


def plan_inputs(
    region: Region,
    scenario: Scenario,
    *,
    travel: TravelTimes | None = None,
    progress: Progress | None = None,
    timings: dict[str, float] | None = None,
) -> PlanInputs:
    """The model-independent inputs of :func:`plan`: need, the sites in the model, travel.

    Parameters
    ----------
    region, scenario
        As for :func:`plan`.
    travel
        Precomputed travel times (else :func:`compute_travel`).
    progress
        ``progress(stage, fraction)`` callback.
    timings
        If given, ``"need"`` and ``"travel"`` seconds are recorded in it.

    Raises
    ------
    ScenarioError
        If a kept or excluded site is unknown, or no site can be opened.
    NhcInputError
        If ``travel`` does not match ``scenario.travel``.
    """
    from nhc_planner.planning import PlanInputs

    s = scenario
    report = progress or _no_progress
    clock = timings if timings is not None else {}
    t = time.perf_counter()
    report("need score", 0.0)
    areas, _ = demand_areas(region.areas.reset_index(drop=True), s)
    need = need_score(areas, s.need)
    first = s.phasing.first_year
    by_year = population_by_year(
        areas,
        range(first, first + s.phasing.years),
        basis=s.phasing.population,
        vintage=region.meta.vintages.get("population_projection", ""),
        today="GP-registered patients"
        if s.demand.basis == "registrations"
        else "Census 2021 usual residents",
    )
    sel = _select_sites(region.sites, s)
    clock["need"] = time.perf_counter() - t

    t = time.perf_counter()
    if travel is None:
        travel = compute_travel(region, s.travel, progress=report)
    _check_travel(travel, s.travel)
    area_codes = areas["area_code"].astype(str).tolist()
    cost = np.asarray(travel.matrix(area_codes, sel.ids.tolist()), dtype=float)
    cost = np.where(cost <= s.travel.cutoff_min, cost, np.inf)
    clock["travel"] = time.perf_counter() - t
    return PlanInputs(
        region=region,
        scenario=s,
        areas=areas,
        sites=sel.frame,
        cost=cost,
        need=need,
        population=areas["population"].to_numpy(float),
        open_now=sel.open_now,
        allowed=sel.allowed,
        keep=sel.keep,
        travel=travel,
        progress=report,
        by_year=by_year,
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


def _provenance(
    region: Region,
    s: Scenario,
    travel: Any,
    timings: dict[str, float],
    backend: str,
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
        "solver_backend": backend,
    }
