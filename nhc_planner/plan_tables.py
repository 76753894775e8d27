"""Shared helpers that turn any planning model's result into the plan's tables.

A planning model (:mod:`nhc_planner.planning`) decides which sites open, when,
at what size and which centre serves each area. These helpers turn that into
the :class:`~nhc_planner.plan.Plan`'s ``assignments`` (one row per area) and
``centres`` (one row per open centre: size, capacity, costs, staff and the
reasons it was chosen) so that every model's tables have the same columns:

- :class:`PlanContext`: per-area arrays (demand, deprivation, HLE) and the
  capacity settings (size templates, opening hours, costs, staffing) of a
  scenario, built once from the shared :class:`~nhc_planner.planning.PlanInputs`;
- :func:`nearest_open`: each area's nearest open site within the cutoff;
- :func:`assignments_table` and :func:`centres_table`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from nhc_planner.capacity import ROLES, SizeTemplate

if TYPE_CHECKING:
    from nhc_planner.planning import ModelResult, PlanInputs
    from nhc_planner.scenario import Scenario

__all__ = [
    "CENTRE_COLUMNS",
    "NO_CAR_MODES",
    "PlanContext",
    "assignments_table",
    "car_group_columns",
    "centres_table",
    "nearest_open",
    "over_capacity_note",
]

#: Columns of the plan's ``centres`` table (before the geometry), in order.
CENTRE_COLUMNS: tuple[str, ...] = (
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


def _templates(s: Scenario, costs: Any) -> tuple[SizeTemplate, ...]:
    """The scenario's size templates (or the defaults), sorted by rooms then name."""
    from nhc_planner.capacity import default_size_templates, size_template

    if not s.capacity.sizes:
        templates = list(default_size_templates(costs))
    else:
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
    templates.sort(key=lambda t: (t.rooms, t.name))
    return tuple(templates)


@dataclass(frozen=True)
class PlanContext:
    """Per-area arrays and capacity settings shared by the steps after travel.

    Build it with :meth:`from_inputs`. Per-area arrays follow ``inputs.areas``,
    per-site arrays ``inputs.sites``.
    """

    population: np.ndarray
    need: np.ndarray
    decile: np.ndarray  # IMD decile (1 = most deprived)
    deprived: np.ndarray  # bool: IMD deciles 1-2 (the "imd12" KPIs)
    hle: np.ndarray
    la: np.ndarray
    demand: np.ndarray  # weekly appointments per area
    templates: tuple[SizeTemplate, ...]  # by rooms
    hours: Any  # capacity.OpeningHours
    costs: Any  # capacity.CostAssumptions
    staffing: Any  # capacity.StaffingAssumptions
    open_now: np.ndarray
    allowed: np.ndarray
    keep: np.ndarray
    site_capex: np.ndarray
    site_annual: np.ndarray
    max_rooms: np.ndarray
    need_by_year: np.ndarray | None = None  # (T, n) need per year (projected populations)

    @classmethod
    def from_inputs(cls, inputs: PlanInputs) -> PlanContext:
        """The context of ``inputs`` (its areas, sites and scenario)."""
        from nhc_planner.capacity import (
            CostAssumptions,
            DemandAssumptions,
            OpeningHours,
            StaffingAssumptions,
            weekly_demand,
        )

        s = inputs.scenario
        over: dict[str, Any] = s.capacity.assumption_dict()

        def assumptions(kind: Any) -> Any:
            """``kind`` with the scenario's overrides of its own fields."""
            return kind(**{k: v for k, v in over.items() if k in kind.__dataclass_fields__})

        costs = assumptions(CostAssumptions)
        areas, frame = inputs.areas, inputs.sites
        deciles = areas["imd_decile"].to_numpy(float)
        return cls(
            population=inputs.population,
            need=inputs.need,
            decile=deciles,
            deprived=deciles <= 2,
            hle=areas["hle_years"].to_numpy(float),
            la=areas["la_code"].astype(str).to_numpy(dtype=object),
            demand=weekly_demand(areas, assumptions(DemandAssumptions)),
            templates=_templates(s, costs),
            hours=OpeningHours(
                hours_per_day=s.capacity.hours_per_day, days_per_week=s.capacity.days_per_week
            ),
            costs=costs,
            staffing=assumptions(StaffingAssumptions),
            open_now=inputs.open_now,
            allowed=inputs.allowed,
            keep=inputs.keep,
            site_capex=pd.to_numeric(frame["capex_gbp"], errors="coerce").to_numpy(float),
            site_annual=pd.to_numeric(frame["annual_cost_gbp"], errors="coerce").to_numpy(float),
            max_rooms=pd.to_numeric(frame["max_rooms"], errors="coerce").to_numpy(float),
            need_by_year=inputs.need_by_year,
        )

    @cached_property
    def capacities(self) -> tuple[float, ...]:
        """Weekly appointments of each of ``templates`` (same order)."""
        from nhc_planner.capacity import weekly_capacity

        return tuple(weekly_capacity(t, self.hours, costs=self.costs) for t in self.templates)

    def capacity_of(self, template: SizeTemplate) -> float:
        """Weekly appointments of one of ``templates``."""
        return self.capacities[self.templates.index(template)]

    def capacities_of(self, sizes: Sequence[SizeTemplate | None]) -> np.ndarray:
        """Per site: weekly appointments of its size (NaN where it has none)."""
        return np.array(
            [self.capacity_of(t) if t is not None else np.nan for t in sizes], dtype=float
        )

    def template(self, name: str) -> SizeTemplate | None:
        """The template called ``name``, or None."""
        return next((t for t in self.templates if t.name == name), None)

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

    def size_for(self, load: float, site: int) -> SizeTemplate:
        """Smallest template within ``site``'s room cap whose capacity covers ``load``."""
        from nhc_planner.capacity import size_for_load

        return size_for_load(load, self.templates, self.capacities, self.allowed_sizes[site])


def nearest_open(cost: np.ndarray, is_open: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of the nearest open site per area (-1 if none) and its minutes (NaN if none)."""
    masked = np.where(is_open[np.newaxis, :], cost, np.inf)
    if masked.shape[1] == 0:
        n = masked.shape[0]
        return np.full(n, -1), np.full(n, np.nan)
    idx = np.argmin(masked, axis=1)
    minutes = masked[np.arange(masked.shape[0]), idx]
    ok = np.isfinite(minutes)
    return np.where(ok, idx, -1), np.where(ok, minutes, np.nan)


def over_capacity_note(n_over: int, load: np.ndarray, capacity: np.ndarray) -> str:
    """Plain words for a plan made with capacity not applied (``capacity.constrain = false``).

    Parameters
    ----------
    n_over
        Centres whose load is above their capacity.
    load, capacity
        Per site: weekly appointments served and offered (NaN capacity where closed).
    """
    base = "Capacity not applied (capacity.constrain = false):"
    if n_over == 0:
        return f"{base} no centre is above its capacity in this plan."
    ok = np.isfinite(capacity) & (capacity > 0)
    worst = float(np.max(load[ok] / capacity[ok])) if ok.any() else float("nan")
    excess = float(np.sum(np.clip(load[ok] - capacity[ok], 0.0, None)))
    return (
        f"{base} {n_over} centre(s) are planned above their capacity (up to {worst:.0%} of it; "
        f"{excess:,.0f} weekly appointments beyond what their rooms can offer)."
    )


def _travel_method(travel: Any, area_codes: list[str]) -> np.ndarray:
    # "straight_line" where estimated, else the engine's method ("network", "matrix", ...)
    method = travel.area_method.reindex(area_codes).fillna("straight_line")
    return method.to_numpy(dtype=object)


def assignments_table(
    inputs: PlanInputs,
    ctx: PlanContext,
    assignment: np.ndarray,
    open_period: np.ndarray,
    *,
    unmet: np.ndarray | None = None,
) -> gpd.GeoDataFrame:
    """One row per area: the centre that serves it, travel minutes and coverage before/after.

    ``weekly_unmet`` is ``unmet`` when given (the model's unmet demand in the final
    year), else the ``weekly_demand`` of areas with no open centre within the standard.

    Parameters
    ----------
    inputs, ctx
        The shared inputs and their context.
    assignment
        Per area: index of the site serving it, ``-1`` if none.
    open_period
        Per site: ``-1`` not opened, ``0`` already open, ``t >= 1`` opens in year ``t``.
    unmet
        Per area: weekly appointments no centre serves, or None.
    """
    from nhc_planner.need import hle_quintiles

    areas, cost, s = inputs.areas, inputs.cost, inputs.scenario
    idx = np.asarray(assignment, dtype=np.int64)
    rows = np.arange(len(idx))
    minutes = np.where(idx >= 0, cost[rows, np.maximum(idx, 0)], np.nan)
    is_open = open_period >= 0
    _, minutes_before = nearest_open(cost, ctx.open_now)
    within = cost <= s.travel.standard_min
    before = within[:, ctx.open_now].any(axis=1)
    reach = within & is_open[np.newaxis, :]
    after = reach.any(axis=1)
    phase_cov = np.full(len(idx), np.nan)
    never = np.iinfo(np.int64).max
    phases = np.where(reach, open_period[np.newaxis, :], never)
    first = phases.min(axis=1) if phases.shape[1] else np.full(len(idx), never)
    phase_cov[first < never] = first[first < never]
    ids = inputs.sites["site_id"].astype(str).to_numpy()
    site_ids = np.where(idx >= 0, ids[np.maximum(idx, 0)], "").astype(object)
    area_codes = areas["area_code"].astype(str).tolist()
    method = _travel_method(inputs.travel, area_codes)
    quintile = hle_quintiles(ctx.hle, ctx.population)
    return gpd.GeoDataFrame(
        {
            "area_code": np.asarray(area_codes, dtype=object),
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
            "weekly_unmet": (
                np.where(after, 0.0, ctx.demand)
                if unmet is None
                else np.minimum(np.asarray(unmet, dtype=float), ctx.demand)
            ),
        },
        geometry=areas.geometry.to_numpy(),
        crs=areas.crs,
    ).assign(**car_group_columns(inputs, ctx.open_now, is_open))


#: Modes whose times are those of people without a car (no-car coverage = the plan's coverage).
NO_CAR_MODES: tuple[str, ...] = ("walk", "cycle", "transit")


def _group_cost(travel: Any, part: str, area_codes: list[str], site_ids: list[str]) -> np.ndarray:
    times = getattr(travel, part)
    cost = np.asarray(times.matrix(area_codes, site_ids), dtype=float)
    return np.where(cost <= travel.cutoff_min, cost, np.inf)


def car_group_columns(
    inputs: PlanInputs, open_now: np.ndarray, is_open: np.ndarray
) -> dict[str, np.ndarray]:
    """Coverage and minutes of households without (and, in ``mixed`` mode, with) a car.

    Only for regions with the Census 2021 TS045 columns (``households``,
    ``households_no_car``); else ``{}``. Households without a car are counted
    by the times of the ``mixed`` mode's bus-or-walking group, or by the plan's
    own times in a mode that needs no car (:data:`NO_CAR_MODES`); in ``drive``
    mode only the household counts are added. Minutes are to the nearest open
    centre (NaN beyond the cutoff); covered means within ``travel.standard_min``.

    Returns
    -------
    dict
        ``households``, ``households_no_car``, and when known
        ``no_car_covered_before/after`` (bool), ``no_car_minutes_before/after``;
        in ``mixed`` mode also ``car_covered_before/after``, ``car_minutes_before/after``.
    """
    areas, s = inputs.areas, inputs.scenario
    if not {"households", "households_no_car"} <= set(areas.columns):
        return {}
    out: dict[str, np.ndarray] = {
        "households": pd.to_numeric(areas["households"], errors="coerce").to_numpy(float),
        "households_no_car": pd.to_numeric(areas["households_no_car"], errors="coerce").to_numpy(
            float
        ),
    }
    travel = inputs.travel
    codes = areas["area_code"].astype(str).tolist()
    ids = inputs.sites["site_id"].astype(str).tolist()
    groups: dict[str, np.ndarray] = {}
    if getattr(travel, "no_car", None) is not None and getattr(travel, "car", None) is not None:
        groups["no_car"] = _group_cost(travel, "no_car", codes, ids)
        groups["car"] = _group_cost(travel, "car", codes, ids)
    elif s.travel.mode in NO_CAR_MODES:
        groups["no_car"] = inputs.cost
    for name, cost in groups.items():
        within = np.asarray(cost <= s.travel.standard_min, dtype=bool)
        out[f"{name}_covered_before"] = np.asarray(within[:, open_now].any(axis=1), dtype=bool)
        reach = within & is_open[np.newaxis, :]
        out[f"{name}_covered_after"] = np.asarray(reach.any(axis=1), dtype=bool)
        out[f"{name}_minutes_before"] = nearest_open(cost, open_now)[1]
        out[f"{name}_minutes_after"] = nearest_open(cost, is_open)[1]
    return out


def site_loads(ctx: PlanContext, assignment: np.ndarray, n_sites: int) -> np.ndarray:
    """Weekly appointments each site serves: the demand of the areas assigned to it."""
    served = assignment >= 0
    return np.bincount(assignment[served], weights=ctx.demand[served], minlength=n_sites)


def centre_sizes(
    ctx: PlanContext, result: ModelResult, load: np.ndarray
) -> list[SizeTemplate | None]:
    """Per site: the model's size (``result.size``), else the smallest that serves ``load``."""
    chosen: list[SizeTemplate | None] = [None] * len(result.open_period)
    for site in np.flatnonzero(result.open_period >= 0).tolist():
        name = str(result.size[site]) if result.size is not None else ""
        template = ctx.template(name) if name else None
        chosen[site] = template if template is not None else ctx.size_for(float(load[site]), site)
    return chosen


def _explained(
    inputs: PlanInputs,
    ctx: PlanContext,
    result: ModelResult,
    sizes: np.ndarray,
    load: np.ndarray,
    capacity: np.ndarray,
    choice: Literal["coverage", "travel"],
) -> pd.DataFrame:
    """:func:`nhc_planner.explain.explain_centres` of the plan as delivered."""
    from nhc_planner.explain import explain_centres
    from nhc_planner.optimize import Solution

    s = inputs.scenario
    open_period = np.asarray(result.open_period, dtype=np.int64)
    delivered = Solution(
        open=np.flatnonzero(open_period >= 0),
        assignment=np.asarray(result.assignment, dtype=np.int64),
        objective=result.solve.objective,
        bound=result.solve.bound,
        gap=result.solve.gap,
        status=result.solve.status,
        solve_seconds=result.solve.seconds,
    )
    return explain_centres(
        inputs.cost,
        delivered,
        ctx.need,
        s.travel.standard_min,
        population=ctx.population,
        imd_decile=ctx.decile,
        hle_years=ctx.hle,
        site_ids=list(inputs.sites["site_id"].astype(str)),
        site_names=[str(x) for x in inputs.sites["name"]],
        excluded=np.flatnonzero(~ctx.allowed & ~ctx.open_now),
        unit=f"minutes' {s.travel.mode}",
        open_period=open_period,
        sizes=sizes,
        load=load,
        capacity=capacity,
        choice=choice,
    )


def size_names(sizes: Sequence[SizeTemplate | None]) -> np.ndarray:
    """Per site: the name of its size template (``""`` where it has none), as objects."""
    return np.array([t.name if t is not None else "" for t in sizes], dtype=object)


def centres_table(
    inputs: PlanInputs,
    ctx: PlanContext,
    result: ModelResult,
    sizes: list[SizeTemplate | None] | None = None,
    *,
    load: np.ndarray | None = None,
    capacity_applied: bool = True,
    choice: Literal["coverage", "travel"] = "coverage",
) -> gpd.GeoDataFrame:
    """One row per open centre: size, capacity, costs, staff and the reasons it was chosen.

    Loads are ``load`` when given (per site, weekly appointments served, e.g. a
    capacitated solver's routing), else the demand of the areas assigned by
    ``result.assignment``; sizes are ``sizes`` when given (one template or None
    per site), else :func:`centre_sizes`. Staff follow the capacity offered:
    :func:`nhc_planner.capacity.staffing_for_capacity` of ``min(load, capacity)``.
    With ``capacity_applied=False`` each centre's ``why`` starts "Capacity not
    applied".
    :func:`nhc_planner.explain.explain_centres` gives the opening order, people
    newly covered, catchment HLE, swap loss and the ``why`` sentence (``choice``: how
    the sites were chosen, as there). Columns
    :data:`CENTRE_COLUMNS`; existing centres first, then new ones by opening order.
    """
    from nhc_planner.capacity import staffing_for_capacity

    s, frame_sites = inputs.scenario, inputs.sites
    ids = frame_sites["site_id"].astype(str).to_numpy()
    assignment = np.asarray(result.assignment, dtype=np.int64)
    if load is None:
        load = site_loads(ctx, assignment, len(ids))
    load = np.asarray(load, dtype=float)
    templates = sizes if sizes is not None else centre_sizes(ctx, result, load)
    capacity = ctx.capacities_of(templates)
    names = size_names(templates)
    table = _explained(inputs, ctx, result, names, load, capacity, choice)
    n_existing = int((table["status"] == "existing").sum())
    rows = []
    for r in table.to_dict("records"):
        j = int(r["site_index"])
        t = templates[j]
        assert t is not None  # every open site has a size
        is_new = r["status"] == "new"
        why = str(r["why"])
        if ids[j] in s.policy.keep:
            why += " Kept by policy."
        if not capacity_applied:
            why = "Capacity not applied (capacity.constrain = false). " + why
        if r["utilisation"] > 1:
            why += (
                f" Its catchment needs {r['utilisation']:.0%} of what its size offers: "
                "consider a second site nearby or a larger size template."
            )
        capex = 0.0
        if is_new:
            capex = t.capex_gbp if np.isnan(ctx.site_capex[j]) else ctx.site_capex[j]
        annual = t.annual_cost_gbp if np.isnan(ctx.site_annual[j]) else ctx.site_annual[j]
        best = r["best_alternative"]
        best = None if best is None or pd.isna(best) else str(best)
        rows.append(
            {
                "site_id": str(ids[j]),
                "name": str(frame_sites.at[j, "name"]),
                "kind": str(frame_sites.at[j, "kind"]),
                "status": r["status"],
                "phase": int(r["phase"]),
                "order": int(r["order"]) - n_existing if is_new else 0,
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
                "best_alternative_name": "" if best is None else str(r["best_alternative_name"]),
                "why": why,
                "capex_gbp": float(capex),
                "annual_cost_gbp": float(annual),
                "_index": j,
            }
        )
    frame = pd.DataFrame(rows, columns=[*CENTRE_COLUMNS[: -len(ROLES)], "_index"])
    frame = frame.sort_values(["phase", "order"], kind="stable").reset_index(drop=True)
    staff = staffing_for_capacity(
        frame["weekly_capacity"].to_numpy(float),
        frame["weekly_demand_served"].to_numpy(float),
        ctx.staffing,
    )
    for role in ROLES:
        frame[f"wte_{role}"] = staff[role].to_numpy()
    geometry = frame_sites.geometry.to_numpy()[frame["_index"].to_numpy(dtype=np.int64)]
    frame = frame.drop(columns="_index")
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=frame_sites.crs)
