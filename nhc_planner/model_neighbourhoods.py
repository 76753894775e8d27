r"""The neighbourhood planning model (``policy.model = "neighbourhoods"``, the default).

The 10 Year Health Plan's unit is the neighbourhood (about 30,000-50,000
residents) and it promises a centre in every one, beginning where healthy life
expectancy (HLE) is lowest. This model plans exactly that:

1. **Neighbourhoods** (:meth:`NeighbourhoodModel.build`): the region's areas
   are delineated into contiguous neighbourhoods within ``[min_pop, max_pop]``
   residents that do not cross the nesting groups (local authorities by
   default) by :func:`nhc_planner.neighbourhoods.delineate_region` (its
   formulation, bound and gap in :func:`nhc_planner.optimize.districting.delineate`),
   or read from the planner's own file
   (:func:`nhc_planner.neighbourhoods.read_neighbourhoods`). Per neighbourhood:
   population, population-weighted mean estimated HLE and need, the share of
   residents in IMD deciles 1-2 and the weekly demand
   (:func:`nhc_planner.capacity.weekly_demand`).

2. **A centre for every neighbourhood** (:meth:`NeighbourhoodModel.solve`).
   Let :math:`t_{dj} = \sum_{i \in d} p_i c_{ij} / P_d` be the population-weighted
   mean minutes from neighbourhood :math:`d`'s residents to site :math:`j`, where a
   resident beyond ``travel.cutoff_min`` counts at twice the cutoff (so a site that
   reaches more of the neighbourhood is preferred, and a sparse bus network still
   gives every neighbourhood a centre; :math:`\infty` only when the site reaches none
   of its residents), :math:`D_d`
   its weekly demand and :math:`C_j` the weekly capacity of the largest size
   template site :math:`j`'s room cap allows.

   *One centre per neighbourhood* (no hubs): a linear assignment, solved
   exactly (:func:`scipy.optimize.linear_sum_assignment`)

   .. math:: \min \sum_{d,j} \big(P_d t_{dj} + M \max(0, D_d - C_j)\big) x_{dj}
             \quad \text{s.t.} \; \sum_j x_{dj} = 1 \;\forall d,\;
             \sum_d x_{dj} \le 1 \;\forall j,\; x \in \{0, 1\}

   (kept sites, and centres already open within ``travel.standard_min`` of a
   neighbourhood's residents on average, carry a bonus so that they are used
   before any new site is built). Each centre gets the
   smallest size template that covers its neighbourhood's demand; if none does,
   the largest allowed and the unmet demand is reported, never hidden.

   *Hubs* (``neighbourhoods.hubs = H``): a capacitated p-median over
   neighbourhoods x sites, solved by HiGHS (:func:`scipy.optimize.milp`)

   .. math:: \min \sum_{d,j} P_d t_{dj} x_{dj} + \sum_d M_d u_d
             \quad \text{s.t.} \; \sum_j x_{dj} + u_d = 1,\;
             \sum_d D_d x_{dj} \le C_j y_j,\; x_{dj} \le y_j,\;
             \sum_{j\ \mathrm{new}} y_j \le H,\; y_j = 1 \text{ (open or kept)}

   with binary :math:`x, y, u`: each neighbourhood is assigned whole to one
   hub whose capacity covers it; a neighbourhood that fits no hub
   (:math:`u_d = 1`, penalty :math:`M_d = P_d (\max t + 60)`) gets its own
   centre afterwards, by the assignment above. The proven gap is reported.

3. **Phasing**: new centres open in order of their neighbourhoods' lowest mean
   HLE (``order = "hle"``) or highest mean need (``order = "need"``), within
   each year's number of new centres (``phasing.new_per_year``) or capital
   budget (``phasing.budget_per_year_gbp``); kept sites open in year 1. With
   hubs, the ``H`` hubs open over years ``1..hubs_by_year`` first. Centres the
   horizon (``phasing.years``) has no room for open in the years after it at
   the same rate, so that every neighbourhood has an opening year; the solve
   message says how many.

The plan's ``neighbourhoods`` table has one row per area (see
:meth:`NeighbourhoodModel.tables`); ``docs/neighbourhoods.md`` has the details.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from nhc_planner._errors import ScenarioError
from nhc_planner.plan_tables import PlanContext, assignments_table, centres_table, size_names
from nhc_planner.planning import ModelResult, PlanTables, SolveReport, register_model

if TYPE_CHECKING:
    from nhc_planner.capacity import SizeTemplate
    from nhc_planner.optimize.districting import DistrictingResult
    from nhc_planner.planning import PlanInputs, SolveStatus
    from nhc_planner.scenario import Scenario

__all__ = [
    "NEIGHBOURHOOD_COLUMNS",
    "NeighbourhoodArrays",
    "NeighbourhoodModel",
    "NeighbourhoodResult",
    "neighbourhood_summary",
    "neighbourhoods_table",
]

#: Columns of the plan's ``neighbourhoods`` table (before the geometry), in order.
NEIGHBOURHOOD_COLUMNS: tuple[str, ...] = (
    "area_code",
    "neighbourhood_id",
    "neighbourhood_name",
    "population",
    "n_areas",
    "hle_mean",
    "imd_mix",
    "need_mean",
    "weekly_demand",
    "within_bounds",
    "site_id",
    "site_name",
    "site_status",
    "hub",
    "minutes_mean",
    "share_beyond_cutoff",
    "unmet_weekly_demand",
    "opening_year",
    "opening_rank",
    "why",
)

_BIG = 1e12  # linear-assignment cost of a pair that cannot be used
_KEEP_BONUS = 1e9  # linear-assignment bonus that makes kept sites serve a neighbourhood


#: Seconds after which the delineation stops with the best plan so far. A safety stop
#: only (its iteration limits decide the answer); far above what any ICB needs (about
#: 10-50 s on 2 cores), so plans do not depend on the machine's load.
DELINEATION_SAFETY_S = 900.0


@dataclass(frozen=True, eq=False)
class NeighbourhoodArrays:
    """What the neighbourhood model solves.

    Per-neighbourhood arrays have one entry per neighbourhood ``0..k-1``;
    ``minutes`` is ``(k, n_sites)``.

    Attributes
    ----------
    labels : numpy.ndarray
        Per area, its neighbourhood index.
    ids, names : tuple of str
        Neighbourhood ids (``N001``...) and names.
    population, hle, imd12, need, demand : numpy.ndarray
        Residents; population-weighted mean estimated HLE (years); share of
        residents in IMD deciles 1-2; population-weighted mean need score;
        weekly appointments.
    within_bounds : numpy.ndarray
        Bool: population within ``[min_pop, max_pop]``.
    minutes_reached : numpy.ndarray
        ``(k, n_sites)`` population-weighted mean minutes to each site of the
        neighbourhood's residents it reaches within ``travel.cutoff_min`` (``inf`` where
        it reaches none).
    beyond_share : numpy.ndarray
        ``(k, n_sites)`` share of the neighbourhood's residents beyond the cutoff.
    ctx : PlanContext
        Per-area arrays and capacity settings.
    scenario : Scenario
        The settings.
    site_ids, site_names : tuple of str
        The sites (columns of ``minutes``).
    delineation : DistrictingResult or None
        The delineation's result (None for neighbourhoods read from a file).
    note : str
        Plain words on where the neighbourhoods came from and any exception.
    need_by_year : numpy.ndarray or None
        ``(T, k)`` population-weighted mean need of each neighbourhood in each year
        of the plan, when the plan weighs each year with its projected population
        (``phasing.population = "projection"``); else None.
    """

    labels: np.ndarray
    ids: tuple[str, ...]
    names: tuple[str, ...]
    population: np.ndarray
    hle: np.ndarray
    imd12: np.ndarray
    need: np.ndarray
    demand: np.ndarray
    within_bounds: np.ndarray
    minutes_reached: np.ndarray
    beyond_share: np.ndarray
    ctx: PlanContext
    scenario: Scenario
    site_ids: tuple[str, ...]
    site_names: tuple[str, ...]
    delineation: DistrictingResult | None
    note: str
    need_by_year: np.ndarray | None = None

    @property
    def k(self) -> int:
        """Number of neighbourhoods."""
        return len(self.ids)

    @cached_property
    def minutes(self) -> np.ndarray:
        """``(k, n_sites)`` siting minutes: the mean over all residents, those beyond the
        cutoff counted at twice it (``inf`` where the site reaches none of them)."""
        beyond = 2.0 * float(self.scenario.travel.cutoff_min)
        share = self.beyond_share
        return np.where(
            np.isfinite(self.minutes_reached),
            (1.0 - share) * np.nan_to_num(self.minutes_reached, posinf=0.0) + share * beyond,
            np.inf,
        )


@dataclass(frozen=True, eq=False)
class NeighbourhoodResult(ModelResult):
    """The neighbourhood model's result.

    Attributes
    ----------
    centre_of : numpy.ndarray
        Per neighbourhood: index of the site that serves it (``-1`` if no site
        reaches all its residents within the cutoff).
    hub : numpy.ndarray
        Per neighbourhood (bool): served by one of the policy's hubs.
    opening_year : numpy.ndarray
        Per neighbourhood: year its centre opens (``0`` already open, ``-1`` none).
    opening_rank : numpy.ndarray
        Per neighbourhood: 1-based place in the opening order of new centres
        (``0`` already open or none).
    unmet : numpy.ndarray
        Per neighbourhood: weekly appointments its centre's largest size cannot take.
    why : tuple of str
        Per neighbourhood: its place in the order in plain words.
    load, capacity : numpy.ndarray
        Per site: weekly demand served and weekly capacity (NaN where not open).
    delineation_gap : float or None
        Proven gap of the delineation (None for neighbourhoods from a file).
    siting_gap : float
        Proven gap of the siting (0 for the exact assignment).
    """

    centre_of: np.ndarray
    hub: np.ndarray
    opening_year: np.ndarray
    opening_rank: np.ndarray
    unmet: np.ndarray
    why: tuple[str, ...]
    load: np.ndarray
    capacity: np.ndarray
    delineation_gap: float | None
    siting_gap: float

    def solver_summary(self) -> dict[str, Any]:
        """:meth:`ModelResult.solver_summary` with the neighbourhoods' gaps and counts."""
        return {
            **super().solver_summary(),
            "n_neighbourhoods": int(self.centre_of.size),
            "delineation_gap": self.delineation_gap,
            "siting_gap": float(self.siting_gap),
            "unmet_weekly_demand": float(self.unmet.sum()),
        }


# --------------------------------------------------------------------------- build


def _nest_by(nest: str) -> str | None:
    """The ``by`` of :func:`~nhc_planner.neighbourhoods.area_groups` for ``nest``."""
    if nest == "none":
        return None
    if nest == "sub_icb":
        return "sub_icb_code"
    return nest  # "la" or a column name


def _labels(
    inputs: PlanInputs,
) -> tuple[np.ndarray, tuple[str, ...], tuple[str, ...], DistrictingResult | None, str]:
    """Neighbourhood index per area, ids, names, the delineation and a note."""
    from nhc_planner.neighbourhoods import area_costs, delineate_region, read_neighbourhoods

    s = inputs.scenario
    nb = s.neighbourhoods
    areas = inputs.areas
    if nb.file is not None:
        drawn = read_neighbourhoods(nb.file, areas, min_pop=nb.min_pop, max_pop=nb.max_pop)
        summary = drawn.summary
        ids = tuple(summary["neighbourhood_id"].astype(str))
        index = {n: d for d, n in enumerate(ids)}
        labels = np.array([index[x] for x in drawn.areas["neighbourhood_id"]], dtype=np.int64)
        note = f"{len(ids)} neighbourhood(s) read from {nb.file}."
        if drawn.outside_bounds:
            note += (
                f" {len(drawn.outside_bounds)} are outside {nb.min_pop:,.0f}-{nb.max_pop:,.0f} "
                f"residents (flagged, planned as drawn): {', '.join(drawn.outside_bounds[:8])}."
            )
        split = summary.loc[~summary["contiguous"], "neighbourhood_name"].astype(str).tolist()
        if split:
            note += f" {len(split)} are in more than one piece: {', '.join(split[:8])}."
        return labels, ids, tuple(summary["neighbourhood_name"].astype(str)), None, note
    cost = area_costs(areas, mode=s.travel.mode)  # straight-line minutes between areas
    hoods = delineate_region(
        areas,
        min_pop=nb.min_pop,
        max_pop=nb.max_pop,
        by=_nest_by(nb.nest),
        cost=cost,
        gap=nb.gap,
        # a safety stop only: iteration limits decide the neighbourhoods, so the same
        # inputs give the same plan on a busy machine (solver.time_limit_s fired under load)
        time_limit_s=max(DELINEATION_SAFETY_S, s.solver.time_limit_s),
        progress=lambda done: inputs.progress("drawing neighbourhoods", done),
    )
    summary = hoods.summary
    return (
        np.asarray(hoods.result.labels, dtype=np.int64),
        tuple(summary["neighbourhood_id"].astype(str)),
        tuple(summary["neighbourhood_name"].astype(str)),
        hoods.result,
        hoods.result.message,
    )


def _mean_minutes(
    cost: np.ndarray, labels: np.ndarray, pop: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per neighbourhood and site: mean minutes of the residents the site reaches within
    the cutoff, and the share of residents it does not reach.

    Both are ``(k, m)``; the minutes are ``inf`` (and the share 1) where the site
    reaches none of the neighbourhood's residents.
    """
    m = cost.shape[1]
    reached = np.full((k, m), np.inf)
    out_share = np.ones((k, m))
    finite = np.isfinite(cost)
    for d in range(k):
        members = labels == d
        ok = finite[members]
        w = pop[members] if pop[members].sum() > 0 else np.ones(int(members.sum()))
        any_reach = ok.any(axis=0)
        if not any_reach.any():
            continue
        w_in = w @ ok
        time_in = w @ np.where(ok, cost[members], 0.0)
        reached[d, any_reach] = time_in[any_reach] / np.maximum(w_in[any_reach], 1e-9)
        out_share[d] = 1.0 - w_in / max(float(w.sum()), 1e-9)
    return reached, out_share


def _weighted(values: np.ndarray, labels: np.ndarray, pop: np.ndarray, k: int) -> np.ndarray:
    totals = np.bincount(labels, weights=pop, minlength=k)
    sums = np.bincount(labels, weights=pop * np.nan_to_num(values), minlength=k)
    return np.where(totals > 0, sums / np.maximum(totals, 1e-9), np.nan)


# --------------------------------------------------------------------------- solve


def _site_capacity(built: NeighbourhoodArrays) -> np.ndarray:
    """Per site: weekly capacity of the largest size template its room cap allows."""
    caps = np.asarray(built.ctx.capacities, dtype=float)
    allowed = built.ctx.allowed_sizes
    return np.where(allowed, caps[np.newaxis, :], 0.0).max(axis=1)


def _available(built: NeighbourhoodArrays) -> np.ndarray:
    return built.ctx.open_now | built.ctx.allowed


def _assign_own(
    built: NeighbourhoodArrays, todo: np.ndarray, taken: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """One site per neighbourhood in ``todo`` (exact linear assignment); sites in ``taken``
    are not used. Returns the site per neighbourhood (``-1`` none) and the unmet demand."""
    from scipy.optimize import linear_sum_assignment

    k = built.k
    site = np.full(k, -1, dtype=np.int64)
    unmet = np.zeros(k)
    cols = np.flatnonzero(_available(built) & ~taken)
    if todo.size == 0 or cols.size == 0:
        return site, unmet
    cap = _site_capacity(built)[cols]
    t = built.minutes[np.ix_(todo, cols)]
    short = np.maximum(built.demand[todo, None] - cap[None, :], 0.0)
    cost = built.population[todo, None] * t + 1e6 * short
    cost = np.where(np.isfinite(t), cost, _BIG)
    keep = np.isin(cols, built.ctx.keep)
    # kept sites serve a neighbourhood; so does an open centre within the travel standard
    near_open = built.ctx.open_now[cols][None, :] & (t <= built.scenario.travel.standard_min)
    bonus = np.isfinite(t) & (keep[None, :] | near_open)
    cost = cost - np.where(bonus, _KEEP_BONUS, 0.0)
    rows, chosen = linear_sum_assignment(cost)
    for r, c in zip(rows.tolist(), chosen.tolist(), strict=True):
        if np.isfinite(t[r, c]):
            d = int(todo[r])
            site[d] = int(cols[c])
            unmet[d] = float(short[r, c])
    return site, unmet


@dataclass(frozen=True)
class _HubOutcome:
    site: np.ndarray  # per neighbourhood: hub site or -1
    report: SolveReport


def _hub_model(
    built: NeighbourhoodArrays, hubs: int
) -> tuple[Any, list[tuple[int, int]], np.ndarray, np.ndarray]:
    """The capacitated p-median's arrays: objective, pairs, site columns, fixed-open mask."""
    import scipy.sparse as sp
    from scipy.optimize import Bounds, LinearConstraint

    k, ctx = built.k, built.ctx
    cols = np.flatnonzero(_available(built))
    fixed = ctx.open_now[cols] | np.isin(cols, ctx.keep)
    cap = _site_capacity(built)[cols]
    pairs = [
        (d, c)
        for d in range(k)
        for c in range(cols.size)
        if np.isfinite(built.minutes[d, cols[c]]) and built.demand[d] <= cap[c] + 1e-9
    ]
    n_y, n_x = cols.size, len(pairs)
    finite = built.minutes[np.isfinite(built.minutes)]
    worst = float(finite.max()) if finite.size else 0.0
    c_obj = np.concatenate(
        [
            np.zeros(n_y),
            np.array([built.population[d] * built.minutes[d, cols[c]] for d, c in pairs]),
            built.population * (worst + 60.0),
        ]
    )
    a = sp.lil_matrix((k + n_y + n_x + 1, n_y + n_x + k))
    lo, hi = [], []
    for p, (d, c) in enumerate(pairs):
        a[d, n_y + p] = 1.0  # assignment rows
        a[k + c, n_y + p] = built.demand[d]  # capacity rows
        a[k + n_y + p, n_y + p] = 1.0  # x <= y
        a[k + n_y + p, c] = -1.0
    for d in range(k):
        a[d, n_y + n_x + d] = 1.0
    lo += [1.0] * k
    hi += [1.0] * k
    for c in range(n_y):
        a[k + c, c] = -cap[c]
    lo += [-np.inf] * (n_y + n_x)
    hi += [0.0] * (n_y + n_x)
    new = ~fixed
    a[k + n_y + n_x, np.flatnonzero(new)] = 1.0
    lo.append(0.0)
    hi.append(float(max(hubs - int((fixed & ~ctx.open_now[cols]).sum()), 0)))
    lower = np.zeros(n_y + n_x + k)
    lower[:n_y] = fixed.astype(float)
    constraint = LinearConstraint(a.tocsr(), np.array(lo), np.array(hi))
    return (c_obj, constraint, Bounds(lower, np.ones_like(lower))), pairs, cols, fixed


def _solve_hubs(built: NeighbourhoodArrays, hubs: int) -> _HubOutcome:
    """Assign neighbourhoods whole to at most ``hubs`` new hubs (and open centres)."""
    from scipy.optimize import milp

    s = built.scenario
    t0 = time.perf_counter()
    (c_obj, constraint, bounds), pairs, cols, _ = _hub_model(built, hubs)
    res = milp(
        c_obj,
        integrality=np.ones_like(c_obj),
        bounds=bounds,
        constraints=[constraint],
        options={
            "time_limit": s.solver.time_limit_s,
            "mip_rel_gap": s.solver.gap_tolerance,
            "disp": False,
        },
    )
    seconds = time.perf_counter() - t0
    site = np.full(built.k, -1, dtype=np.int64)
    if res.x is None:
        report = SolveReport(
            status="time_limit_no_solution",
            objective=math.nan,
            bound=math.nan,
            gap=math.inf,
            seconds=seconds,
            message=f"The hub siting found no plan within {s.solver.time_limit_s:g} s.",
            backend="highs",
        )
        return _HubOutcome(site, report)
    n_y = cols.size
    for p, (d, c) in enumerate(pairs):
        if res.x[n_y + p] > 0.5:
            site[d] = int(cols[c])
    bound = float(getattr(res, "mip_dual_bound", res.fun) or res.fun)
    gap = float(getattr(res, "mip_gap", 0.0) or 0.0)
    proved = res.status == 0 and gap <= s.solver.gap_tolerance + 1e-9
    report = SolveReport(
        status="optimal" if proved else "feasible",
        objective=float(res.fun),
        bound=bound,
        gap=max(gap, 0.0),
        seconds=seconds,
        message="",
        detail=f"HiGHS: {res.message}",
        backend="highs",
    )
    return _HubOutcome(site, report)


def _sizes(
    built: NeighbourhoodArrays, site_of: np.ndarray, n_sites: int
) -> tuple[list[SizeTemplate | None], np.ndarray, np.ndarray]:
    """Per site: size template, weekly load and capacity of the centres in use."""
    ctx = built.ctx
    served = site_of >= 0
    load = np.bincount(site_of[served], weights=built.demand[served], minlength=n_sites)
    sizes: list[SizeTemplate | None] = [None] * n_sites
    capacity = np.full(n_sites, np.nan)
    for j in np.flatnonzero(np.bincount(site_of[served], minlength=n_sites) > 0).tolist():
        template = ctx.size_for(float(load[j]), j)
        sizes[j] = template
        capacity[j] = ctx.capacity_of(template)
    return sizes, load, capacity


def _priority(built: NeighbourhoodArrays, members: np.ndarray) -> tuple[float, str]:
    """Sort key of a centre serving neighbourhoods ``members`` (lower opens first)."""
    if built.scenario.neighbourhoods.order == "need":
        return -float(np.nanmax(built.need[members])), built.ids[int(members[0])]
    return float(np.nanmin(built.hle[members])), built.ids[int(members[0])]


def _by_year_need(
    built: NeighbourhoodArrays, site_of: np.ndarray, sites: list[int], years: list[int]
) -> list[int]:
    """``sites`` reordered so that each year's slots go to the highest need *in that year*.

    With per-year need (projected populations), the centre opened in year ``y`` is
    the one whose neighbourhoods have the highest need in ``y`` among those not yet
    opened (years after the horizon use its last year); ties by neighbourhood id.
    """
    assert built.need_by_year is not None
    left = list(sites)
    order: list[int] = []
    T = built.need_by_year.shape[0]
    for y in years:
        row = built.need_by_year[min(max(y, 1), T) - 1]

        def key(j: int, row: np.ndarray = row) -> tuple[float, str]:
            members = np.flatnonzero(site_of == j)
            return -float(np.nanmax(row[members])), built.ids[int(members[0])]

        best = min(left, key=key)
        order.append(best)
        left.remove(best)
    return order


def _slots(built: NeighbourhoodArrays, first_year: int, count: int) -> list[int]:
    """Opening year of the ``count`` centres opened from ``first_year``, one per centre in
    order, by ``phasing.new_per_year`` (continued after the horizon) — or the budget."""
    p = built.scenario.phasing
    per_year = p.per_year()
    years: list[int] = []
    year = first_year
    used = 0
    rate = max(p.new_per_year or 1, 1)
    while len(years) < count:
        limit = per_year[year - 1] if per_year is not None and year <= len(per_year) else rate
        if used < limit:
            years.append(year)
            used += 1
        else:
            year, used = year + 1, 0
    return years


def _budget_years(
    built: NeighbourhoodArrays, capex: list[float], first_year: int, spent: float
) -> list[int]:
    """Opening year per centre (in order) within ``phasing.budget_per_year_gbp``."""
    budget = float(built.scenario.phasing.budget_per_year_gbp or 0.0)
    years, year = [], first_year
    for cost in capex:
        if spent > 0 and spent + cost > budget:
            year, spent = year + 1, 0.0
        years.append(year)
        spent += cost
    return years


def _phase(
    built: NeighbourhoodArrays,
    site_of: np.ndarray,
    hub: np.ndarray,
    sizes: list[SizeTemplate | None],
) -> np.ndarray:
    """Opening year per site (``-1`` not opened, ``0`` already open)."""
    ctx, s = built.ctx, built.scenario
    open_period = np.full(ctx.open_now.size, -1, dtype=np.int64)
    open_period[ctx.open_now] = 0
    kept = [j for j in ctx.keep.tolist() if not ctx.open_now[j]]
    open_period[kept] = 1
    new = [j for j in np.unique(site_of[site_of >= 0]).tolist() if open_period[j] < 0]

    def key(j: int) -> tuple[float, str]:
        return _priority(built, np.flatnonzero(site_of == j))

    by_year = s.neighbourhoods.hubs_by_year
    if by_year is not None:
        hubs = sorted((j for j in new if hub[site_of == j].any()), key=key)
        for j, y in zip(hubs, _spread(len(hubs), by_year), strict=True):
            open_period[j] = y
        rest = sorted((j for j in new if j not in hubs), key=key)
        start, n_kept = by_year + 1, 0
    else:
        rest = sorted(new, key=key)
        start, n_kept = 1, len(kept)
    if not rest:
        return open_period
    if s.phasing.per_year() is None:
        spent = sum(_capex(ctx, j, sizes[j]) for j in kept) if start == 1 else 0.0
        capex = [_capex(ctx, j, sizes[j]) for j in rest]
        years = _budget_years(built, capex, start, spent)
    else:
        years = _slots(built, start, len(rest) + n_kept)[n_kept:]
        if s.neighbourhoods.order == "need" and built.need_by_year is not None:
            rest = _by_year_need(built, site_of, rest, years)
    for j, y in zip(rest, years, strict=True):
        open_period[j] = y
    return open_period


def _spread(count: int, by_year: int) -> list[int]:
    """Years of ``count`` hubs spread as evenly as possible over years ``1..by_year``."""
    base, extra = divmod(count, by_year)
    out: list[int] = []
    for y in range(1, by_year + 1):
        out += [y] * (base + (1 if y <= extra else 0))
    return out


def _capex(ctx: PlanContext, j: int, size: SizeTemplate | None) -> float:
    if size is None or ctx.open_now[j]:
        return 0.0
    return float(size.capex_gbp if np.isnan(ctx.site_capex[j]) else ctx.site_capex[j])


def _why(
    built: NeighbourhoodArrays, site_of: np.ndarray, open_period: np.ndarray, hub: np.ndarray
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Opening year, rank and the sentence explaining each neighbourhood's place."""
    k = built.k
    years = np.where(site_of >= 0, open_period[np.maximum(site_of, 0)], -1)
    years = np.where(site_of >= 0, years, -1)
    order = built.scenario.neighbourhoods.order
    new = np.flatnonzero(years >= 1)
    if order == "need":
        ranked = sorted(new.tolist(), key=lambda d: (years[d], -built.need[d], built.ids[d]))
    else:
        ranked = sorted(new.tolist(), key=lambda d: (years[d], built.hle[d], built.ids[d]))
    rank = np.zeros(k, dtype=np.int64)
    for r, d in enumerate(ranked, start=1):
        rank[d] = r
    horizon = built.scenario.phasing.years
    keep = set(built.ctx.keep.tolist())
    words = []
    for d in range(k):
        j = int(site_of[d])
        if j < 0:
            words.append("no centre: no site reaches any of its residents within the travel cutoff")
            continue
        y = int(years[d])
        site = built.site_names[j]
        if y == 0:
            words.append(f"served by the existing centre {site}")
            continue
        basis = (
            f"need {built.need[d]:.2f} (rank {rank[d]})"
            if order == "need"
            else f"estimated HLE {built.hle[d]:.1f} years (rank {rank[d]})"
        )
        text = f"opens in year {y}: {basis}"
        if j in keep:
            text = f"opens in year {y}: kept by policy; {basis}"
        if hub[d]:
            text += f"; served by the hub at {site}"
        if built.beyond_share[d, j] > 0:
            text += (
                f"; {built.beyond_share[d, j]:.0%} of its residents are beyond the "
                f"{built.scenario.travel.cutoff_min:g}-minute cutoff from {site}"
            )
        if y > horizon:
            text += f"; after the {horizon}-year horizon at the same pace"
        words.append(text)
    return years, rank, tuple(words)


def _plain_words(
    built: NeighbourhoodArrays,
    hub_report: SolveReport | None,
    years: np.ndarray,
    unmet: np.ndarray,
    site_of: np.ndarray,
) -> str:
    """What the solve proved and did, for a planner."""
    s = built.scenario
    parts = [built.note]
    if hub_report is not None:
        n_hub = int(np.unique(site_of[site_of >= 0]).size)
        if hub_report.status == "optimal":
            proof = "proved optimal" if hub_report.gap <= 1e-9 else f"within {hub_report.gap:.2%}"
        else:
            proof = f"within {hub_report.gap:.1%} of the best (time limit reached)"
        parts.append(
            f"Hub siting (capacitated p-median, HiGHS) {proof}: {n_hub} centre(s) serve the "
            f"{built.k} neighbourhoods."
        )
    else:
        parts.append(
            f"Siting proved optimal (exact assignment): each of the {built.k} neighbourhoods "
            "has the site that minimises its residents' mean travel among those whose size fits."
        )
    late = int((years > s.phasing.years).sum())
    if late:
        parts.append(
            f"{late} neighbourhood(s) get their centre after the {s.phasing.years}-year horizon "
            "at the same pace; raise phasing.new_per_year or the budget to bring them forward."
        )
    p = s.policy
    unused = [
        name
        for name, used in (
            ("policy.equity_floor", p.equity_floor is not None),
            ("policy.la_min_coverage", p.la_min_coverage is not None),
            ('policy.objective = "maxmin"', p.objective == "maxmin"),
        )
        if used
    ]
    if unused:
        parts.append(
            f'{", ".join(unused)} apply to the coverage model (policy.model = "coverage") '
            "and were not used: this plan gives every neighbourhood a centre instead."
        )
    none = int((site_of < 0).sum())
    if none:
        parts.append(
            f"{none} neighbourhood(s) have no site reaching any of their residents within "
            f"{s.travel.cutoff_min:g} minutes: add candidate sites there."
        )
    served = np.flatnonzero(site_of >= 0)
    far = built.beyond_share[served, site_of[served]] * built.population[served]
    if far.sum() > 0:
        parts.append(
            f"{far.sum():,.0f} residents in {int((far > 0).sum())} neighbourhood(s) are beyond "
            f"the {s.travel.cutoff_min:g}-minute cutoff from their centre (counted at twice "
            "the cutoff when siting): add candidate sites there or widen travel.cutoff_min."
        )
    short = np.where(site_of >= 0, unmet, 0.0)
    if short.sum() > 0:
        parts.append(
            f"{int((short > 0).sum())} centre(s) cannot be sized for their neighbourhood: "
            f"{short.sum():,.0f} weekly appointments are unmet; allow a larger size template."
        )
    return " ".join(p for p in parts if p)


@register_model
class NeighbourhoodModel:
    """A centre for every neighbourhood, lowest healthy life expectancy first.

    Formulation: see the module docstring (:mod:`nhc_planner.model_neighbourhoods`).
    """

    name = "neighbourhoods"
    label = "Neighbourhoods: a centre for every neighbourhood, lowest HLE first"

    def build(self, inputs: PlanInputs) -> NeighbourhoodArrays:
        """Delineate (or read) the neighbourhoods and their per-neighbourhood arrays."""
        ctx = PlanContext.from_inputs(inputs)
        labels, ids, names, result, note = _labels(inputs)
        inputs.progress("optimising", 0.5)  # neighbourhoods drawn; the siting is quick
        nb = inputs.scenario.neighbourhoods
        k = len(ids)
        pop = ctx.population.astype(float)
        total = np.bincount(labels, weights=pop, minlength=k)
        reached, beyond = _mean_minutes(inputs.cost, labels, pop, k)
        return NeighbourhoodArrays(
            labels=labels,
            ids=ids,
            names=names,
            population=total,
            hle=_weighted(ctx.hle, labels, pop, k),
            imd12=_weighted(ctx.deprived.astype(float), labels, pop, k),
            need=_weighted(ctx.need, labels, pop, k),
            demand=np.bincount(labels, weights=ctx.demand, minlength=k),
            within_bounds=(total >= nb.min_pop) & (total <= nb.max_pop),
            minutes_reached=reached,
            beyond_share=beyond,
            ctx=ctx,
            scenario=inputs.scenario,
            site_ids=tuple(inputs.sites["site_id"].astype(str)),
            site_names=tuple(str(x) for x in inputs.sites["name"]),
            delineation=result,
            note=note,
            need_by_year=None
            if ctx.need_by_year is None
            else np.vstack([_weighted(row, labels, pop, k) for row in ctx.need_by_year]),
        )

    def solve(self, built: NeighbourhoodArrays) -> NeighbourhoodResult:
        """Site each neighbourhood's centre (or assign it to a hub), size and phase them."""
        t0 = time.perf_counter()
        nb = built.scenario.neighbourhoods
        n_sites = built.ctx.open_now.size
        hub_report = None
        hub = np.zeros(built.k, dtype=bool)
        site_of = np.full(built.k, -1, dtype=np.int64)
        if nb.hubs is not None:
            outcome = _solve_hubs(built, nb.hubs)
            hub_report = outcome.report
            site_of = outcome.site
            hub = site_of >= 0
        taken = np.zeros(n_sites, dtype=bool)
        taken[site_of[site_of >= 0]] = True
        own, unmet = _assign_own(built, np.flatnonzero(site_of < 0), taken)
        site_of = np.where(site_of >= 0, site_of, own)
        # a neighbourhood no site can reach is unmet whole, not only a size's shortfall
        unmet = np.where(site_of >= 0, unmet, built.demand)
        sizes, load, capacity = _sizes(built, site_of, n_sites)
        open_period = _phase(built, site_of, hub, sizes)
        for j in np.flatnonzero((open_period >= 0) & np.array([z is None for z in sizes])):
            smallest = built.ctx.size_for(0.0, int(j))  # open but serving none
            sizes[int(j)] = smallest
            capacity[j] = built.ctx.capacity_of(smallest)
        years, rank, why = _why(built, site_of, open_period, hub)
        report = self._report(built, hub_report, years, unmet, site_of, time.perf_counter() - t0)
        assignment = np.where(site_of[built.labels] >= 0, site_of[built.labels], -1)
        return NeighbourhoodResult(
            open_period=open_period,
            assignment=assignment.astype(np.int64),
            size=size_names(sizes),
            solve=report,
            centre_of=site_of,
            hub=hub,
            opening_year=years,
            opening_rank=rank,
            unmet=unmet,
            why=why,
            load=load,
            capacity=capacity,
            delineation_gap=None if built.delineation is None else float(built.delineation.gap),
            siting_gap=0.0 if hub_report is None else float(hub_report.gap),
        )

    @staticmethod
    def _report(
        built: NeighbourhoodArrays,
        hub_report: SolveReport | None,
        years: np.ndarray,
        unmet: np.ndarray,
        site_of: np.ndarray,
        seconds: float,
    ) -> SolveReport:
        """Status, bound and gap of delineation and siting together (the worse of the two)."""
        deline = built.delineation
        gaps = [0.0 if deline is None else float(deline.gap)]
        objective = float(
            np.nansum(
                [built.population[d] * built.minutes[d, j] for d, j in enumerate(site_of) if j >= 0]
            )
        )
        bound = objective
        status: SolveStatus = "optimal"
        if hub_report is not None:
            gaps.append(float(hub_report.gap))
            bound = objective * (1 - float(hub_report.gap))
            if hub_report.status != "optimal":
                status = "feasible"
        if deline is not None and deline.status != "optimal":
            status = "feasible"
        return SolveReport(
            status=status,
            objective=objective,
            bound=bound,
            gap=max(gaps),
            seconds=seconds + (0.0 if deline is None else float(deline.seconds)),
            message=_plain_words(built, hub_report, years, unmet, site_of),
            detail=(
                f"delineation gap {gaps[0]:.4f}; siting gap {gaps[-1] if hub_report else 0.0:.4f}"
                + ("" if hub_report is None else f"; {hub_report.detail}")
            ),
            backend="districting+highs" if hub_report is not None else "districting+assignment",
        )

    def tables(
        self, inputs: PlanInputs, built: NeighbourhoodArrays, result: ModelResult
    ) -> PlanTables:
        """Centres (with ``neighbourhood_ids``), assignments and the neighbourhoods table."""
        if not isinstance(result, NeighbourhoodResult):
            msg = f"neighbourhoods model: expected a NeighbourhoodResult; found {type(result)!r}"
            raise ScenarioError(msg)
        ctx = built.ctx
        names = result.size if result.size is not None else np.full(result.open_period.size, "")
        sizes = [ctx.template(str(z)) if z else None for z in names]
        # served loads (a centre never takes more than its capacity) and each area's share
        # of its neighbourhood's unmet demand, so the KPIs and unmet tables agree with the model
        served = np.where(
            np.isfinite(result.capacity), np.minimum(result.load, result.capacity), result.load
        )
        share = np.divide(
            result.unmet,
            built.demand,
            out=np.zeros(built.k, dtype=float),
            where=built.demand > 0,
        )
        centres = centres_table(inputs, ctx, result, sizes=sizes, load=served, choice="travel")
        centres = _centre_columns(centres, built, result)
        return PlanTables(
            centres=centres,
            assignments=assignments_table(
                inputs,
                ctx,
                result.assignment,
                result.open_period,
                unmet=ctx.demand * share[built.labels],
            ),
            neighbourhoods=neighbourhoods_table(inputs, built, result),
        )


def _centre_columns(
    centres: gpd.GeoDataFrame, built: NeighbourhoodArrays, result: NeighbourhoodResult
) -> gpd.GeoDataFrame:
    """Add ``neighbourhood_ids`` and the neighbourhood order to the shared centres table."""
    index = {sid: j for j, sid in enumerate(built.site_ids)}
    hood_ids, orders, whys = [], [], []
    for sid, why, status in zip(centres["site_id"], centres["why"], centres["status"], strict=True):
        j = index[str(sid)]
        members = np.flatnonzero(result.centre_of == j)
        hood_ids.append(";".join(built.ids[d] for d in members))
        ranks = [int(result.opening_rank[d]) for d in members if result.opening_rank[d] > 0]
        orders.append(min(ranks) if ranks and status == "new" else 0)
        if members.size:
            names = ", ".join(built.names[d] for d in members)
            lead = int(members[np.argmin(built.hle[members])])
            travel = _travel_words(built, members, j, status)
            when = f" It {result.why[lead]}." if status == "new" else ""
            why = f"Serves {names}.{when} {travel} {why}"
        whys.append(why)
    out = centres.copy()
    out["why"] = whys
    out["neighbourhood_ids"] = hood_ids
    # the swap against the best alternative site is a coverage-model figure (need within
    # the standard); a neighbourhood's site is chosen for its residents' travel instead
    out["best_alternative"] = ""
    out["best_alternative_name"] = ""
    out["swap_loss"] = np.nan
    out["swap_loss_share"] = np.nan
    if (out["status"] == "new").any():
        new = out["status"] == "new"
        out.loc[new, "order"] = pd.Series(orders, index=out.index)[new].rank(method="first")
        out["order"] = out["order"].astype(int)
    out = out.sort_values(["phase", "order"], kind="stable").reset_index(drop=True)
    return gpd.GeoDataFrame(out, geometry=centres.geometry.name, crs=centres.crs)


def _travel_words(built: NeighbourhoodArrays, members: np.ndarray, j: int, status: str) -> str:
    """How the site was chosen, and its residents' mean travel to it, in words."""
    pop = built.population[members] * (1.0 - built.beyond_share[members, j])
    minutes = built.minutes_reached[members, j]
    ok = np.isfinite(minutes) & (pop > 0)
    if not ok.any():
        return "None of its residents is within the travel cutoff of it."
    mean = float(np.average(minutes[ok], weights=pop[ok]))
    said = f"{mean:.1f} minutes' {built.scenario.travel.mode} on average for those within reach"
    if status != "new":
        return f"Its residents' travel to it: {said}."
    if members.size > 1:
        return (
            f"As a hub for {members.size} neighbourhoods, the site was chosen to keep their "
            f"residents' travel low ({said})."
        )
    return f"The site was chosen to keep its residents' travel low ({said})."


def neighbourhoods_table(
    inputs: PlanInputs, built: NeighbourhoodArrays, result: NeighbourhoodResult
) -> gpd.GeoDataFrame:
    """One row per area: its neighbourhood, the neighbourhood's figures and its centre.

    Columns :data:`NEIGHBOURHOOD_COLUMNS` and the area's polygon (the region's CRS).
    ``opening_year`` is 0 for a neighbourhood served by an existing centre and -1 for
    one no site reaches.
    """
    lab = built.labels
    site = result.centre_of[lab]
    ok = site >= 0
    safe = np.maximum(site, 0)
    ids = np.asarray(built.ids, dtype=object)
    status = np.where(built.ctx.open_now[safe], "existing", "new")
    minutes = built.minutes_reached[np.arange(built.k), np.maximum(result.centre_of, 0)]
    beyond = built.beyond_share[np.arange(built.k), np.maximum(result.centre_of, 0)]
    frame = pd.DataFrame(
        {
            "area_code": inputs.areas["area_code"].astype(str).to_numpy(),
            "neighbourhood_id": ids[lab],
            "neighbourhood_name": np.asarray(built.names, dtype=object)[lab],
            "population": built.population[lab],
            "n_areas": np.bincount(lab, minlength=built.k)[lab],
            "hle_mean": built.hle[lab],
            "imd_mix": built.imd12[lab],
            "need_mean": built.need[lab],
            "weekly_demand": built.demand[lab],
            "within_bounds": built.within_bounds[lab],
            "site_id": np.where(ok, np.asarray(built.site_ids, dtype=object)[safe], ""),
            "site_name": np.where(ok, np.asarray(built.site_names, dtype=object)[safe], ""),
            "site_status": np.where(ok, status, ""),
            "hub": result.hub[lab],
            "minutes_mean": np.where(result.centre_of >= 0, minutes, np.nan)[lab],
            "share_beyond_cutoff": np.where(result.centre_of >= 0, beyond, 1.0)[lab],
            "unmet_weekly_demand": result.unmet[lab],
            "opening_year": result.opening_year[lab].astype(int),
            "opening_rank": result.opening_rank[lab].astype(int),
            "why": np.asarray(result.why, dtype=object)[lab],
        },
        columns=list(NEIGHBOURHOOD_COLUMNS),
    )
    return gpd.GeoDataFrame(frame, geometry=inputs.areas.geometry.to_numpy(), crs=inputs.areas.crs)


def neighbourhood_summary(hoods: pd.DataFrame) -> pd.DataFrame:
    """One row per neighbourhood of a plan's ``neighbourhoods`` table, in opening order.

    Columns ``opening_rank, neighbourhood_id, neighbourhood_name, population, hle_mean,
    imd_mix, site_name, minutes_mean, share_beyond_cutoff, opening_year, why`` (the
    report's and the app's table; the two travel columns only where the plan has them,
    plans saved before them do not); existing centres (year 0) first, neighbourhoods
    without a centre last.
    """
    cols = [
        "opening_rank",
        "neighbourhood_id",
        "neighbourhood_name",
        "population",
        "hle_mean",
        "imd_mix",
        "site_name",
        "minutes_mean",
        "share_beyond_cutoff",
        "opening_year",
        "why",
    ]
    first = pd.DataFrame(hoods).drop_duplicates("neighbourhood_id")
    year = pd.to_numeric(first["opening_year"], errors="coerce").fillna(-1)
    key = year.where(year >= 0, np.inf)
    first = first.assign(_y=key.to_numpy(), _r=first["opening_rank"].to_numpy())
    first = first.sort_values(["_y", "_r", "neighbourhood_id"], kind="stable")
    return first[[c for c in cols if c in first.columns]].reset_index(drop=True)
