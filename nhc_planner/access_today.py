"""Demand by GP registration, anchor practices and today's access as the baseline.

Three uses of the GP registrations file (:mod:`nhc_planner.sources.registrations`)
and of the region's open GP practices, shared by every planning model:

* :func:`demand_areas`: the areas with ``population`` standing for the demand
  the scenario chooses (``demand.basis``): residents (default, unchanged) or
  registered patients, optionally scaled to the residents' total (list
  inflation, ``demand.correct_list_inflation``). Age bands are scaled alike;
  the residents are kept in ``residents``.
* :func:`access_today`: per area, the minutes to the nearest place that gives
  primary care **today**: an open GP practice (``demand.baseline_kinds``) or
  an already-open centre (``policy.open_kinds``), with the scenario's travel
  times; ``covered_today`` when within ``travel.standard_min``.
* :func:`anchor_table`: which centre each anchor practice joins, and its list.

Words used in the plan's tables and KPIs:

* ``covered_before`` / KPI column ``before``: within the standard of an
  already-open neighbourhood health centre (unchanged meaning);
* ``covered_today`` / KPIs ``*_today``: within the standard of today's
  primary care (an open GP practice or an already-open centre); their
  ``after`` is today's access together with the plan's centres: what the plan
  adds to what exists.

Anchor rule (``demand.anchor_practices``): an anchor practice joins the centre
opened on its own site (its premises become the centre) or, when no centre is
on its site, the centre that serves the small area the practice stands in. Its
whole registered list (every patient, wherever they live) counts as served by
that centre from the year the centre opens: the centre's ``anchor_patients``
and the KPI ``anchor_patients_served``. A practice whose area no centre serves
joins none. The anchor lists are reported beside the area coverage, not added
to it (some of the patients already live within the standard).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from nhc_planner._errors import ScenarioError
from nhc_planner.schema import AGE_BANDS

if TYPE_CHECKING:
    from nhc_planner.scenario import Scenario

__all__ = [
    "TodayAccess",
    "access_kpi_rows",
    "access_today",
    "anchor_table",
    "check_anchors",
    "demand_areas",
    "today_by_group",
    "with_access_today",
]


def demand_areas(areas: pd.DataFrame, scenario: Scenario) -> tuple[pd.DataFrame, str]:
    """The areas with ``population`` standing for the scenario's demand.

    Parameters
    ----------
    areas
        The region's areas (with ``registered_patients`` for registrations).
    scenario
        ``scenario.demand.basis`` and ``correct_list_inflation`` decide.

    Returns
    -------
    tuple
        The areas (a copy with ``residents`` added and ``population`` and the
        age bands replaced when the basis is registrations; ``areas`` itself
        for residents) and a sentence saying what demand is.

    Raises
    ------
    ScenarioError
        ``demand.basis = "registrations"`` but the region has no
        ``registered_patients`` column (no GP registrations file was given).

    Examples
    --------
    >>> from nhc_planner.scenario import Scenario
    >>> a = pd.DataFrame({"population": [100.0, 100.0], "registered_patients": [150.0, 70.0],
    ...                   "pop_0_15": 0.0, "pop_16_64": [100.0, 100.0], "pop_65_plus": 0.0})
    >>> s = Scenario().replace(**{"demand.basis": "registrations"})
    >>> demand_areas(a, s)[0]["population"].round(2).tolist()
    [136.36, 63.64]
    """
    d = scenario.demand
    if d.basis == "residents":
        return areas, "demand: residents (population of each small area)"
    if "registered_patients" not in areas:
        msg = (
            "demand.basis = 'registrations' needs GP registrations: the region has no "
            "'registered_patients' column; build it with a gp_registrations file (NHS England "
            "'Patients Registered at a GP Practice', LSOA level)"
        )
        raise ScenarioError(msg)
    residents = areas["population"].to_numpy(float)
    reg = areas["registered_patients"].to_numpy(float)
    missing = ~np.isfinite(reg)
    value = np.where(missing, residents, reg)
    factor = 1.0
    if d.correct_list_inflation and value.sum() > 0:
        factor = float(residents.sum() / value.sum())
    value = value * factor
    out = areas.copy()
    out["residents"] = residents
    ratio = np.divide(value, residents, out=np.ones_like(value), where=residents > 0)
    for band in AGE_BANDS:
        if band in out:
            out[band] = out[band].to_numpy(float) * ratio
    out["population"] = value
    words = f"demand: GP-registered patients ({reg[~missing].sum():,.0f} registered"
    if d.correct_list_inflation:
        words += f", scaled by {factor:.3f} to the {residents.sum():,.0f} residents"
    words += ")"
    if missing.any():
        words += f"; {int(missing.sum())} area(s) without registrations keep their residents"
    return out, words


@dataclass(frozen=True)
class TodayAccess:
    """Today's access to primary care, per area (see :func:`access_today`).

    Attributes
    ----------
    minutes
        Minutes to the nearest open GP practice or already-open centre
        (``inf`` beyond the travel cutoff).
    covered
        Within ``travel.standard_min``.
    n_sites
        How many sites give access today.
    words
        What "today" counts, in words.
    """

    minutes: np.ndarray
    covered: np.ndarray
    n_sites: int
    words: str


def access_today(
    area_codes: list[str], sites: pd.DataFrame, travel: Any, scenario: Scenario
) -> TodayAccess:
    """Per area, the minutes to today's nearest primary care and whether it is within the standard.

    Parameters
    ----------
    area_codes
        The areas, in the plan's order.
    sites
        The region's sites (``site_id``, ``kind``, ``status``).
    travel
        The scenario's travel times (:class:`~nhc_planner.travel.TravelTimes`
        from its travel engine) to every site of the region.
    scenario
        ``demand.baseline_kinds``, ``policy.open_kinds`` and ``travel.standard_min``.
    """
    kind = sites["kind"].astype(str)
    usable = sites["status"].astype(str) != "excluded"
    today = usable & (
        kind.isin(scenario.demand.baseline_kinds) | kind.isin(scenario.policy.open_kinds)
    )
    ids = sites.loc[today, "site_id"].astype(str).tolist()
    words = (
        f"today's access: within {scenario.travel.standard_min:g} min "
        f"({scenario.travel.mode}) of one of {len(ids)} open "
        f"{' / '.join(sorted({*scenario.demand.baseline_kinds, *scenario.policy.open_kinds}))} "
        "site(s)"
    )
    if not ids:
        inf = np.full(len(area_codes), np.inf)
        return TodayAccess(inf, np.zeros(len(area_codes), bool), 0, words)
    cost = np.asarray(travel.matrix(area_codes, ids), dtype=float)
    cost = np.where(cost <= travel.cutoff_min, cost, np.inf)
    minutes = cost.min(axis=1)
    return TodayAccess(minutes, minutes <= scenario.travel.standard_min, len(ids), words)


def _practice_areas(sites: gpd.GeoDataFrame, areas: gpd.GeoDataFrame) -> pd.Series:
    """The area code each site stands in (by site id; sites outside every area left out)."""
    pts = gpd.GeoDataFrame({"site_id": sites["site_id"].astype(str)}, geometry=sites.geometry)
    polys = gpd.GeoDataFrame({"area_code": areas["area_code"].astype(str)}, geometry=areas.geometry)
    joined = gpd.sjoin(pts, polys, how="inner", predicate="within")
    return joined.drop_duplicates("site_id").set_index("site_id")["area_code"]


def check_anchors(sites: pd.DataFrame, scenario: Scenario) -> None:
    """Refuse anchor practices that are no GP practice of the region, or lack list sizes.

    Raises
    ------
    ScenarioError
        A code that is no ``gp_practice`` site, or sites without ``registered_list``
        (the region was built without a GP registrations file).
    """
    _check_codes(sites, scenario.demand.anchor_practices)


def _check_codes(sites: pd.DataFrame, codes: tuple[str, ...]) -> None:
    if not codes:
        return
    gp = sites[sites["kind"].astype(str).eq("gp_practice")]
    unknown = sorted(set(codes) - set(gp["site_id"].astype(str)))
    if unknown:
        examples = sorted(gp["site_id"].astype(str))[:5]
        msg = (
            f"demand.anchor_practices: {unknown[:5]} are not GP practices of this region "
            f"(ODS codes of its gp_practice sites, e.g. {examples})"
        )
        raise ScenarioError(msg)
    if "registered_list" not in sites:
        msg = (
            "demand.anchor_practices: the region has no practice list sizes; build it with a "
            "gp_registrations file (NHS England 'Patients Registered at a GP Practice')"
        )
        raise ScenarioError(msg)


def anchor_table(
    codes: tuple[str, ...],
    sites: gpd.GeoDataFrame,
    areas: gpd.GeoDataFrame,
    centres: pd.DataFrame,
    assignments: pd.DataFrame,
) -> pd.DataFrame:
    """Which centre each anchor practice joins (the module's anchor rule).

    Returns
    -------
    pandas.DataFrame
        ``practice_code``, ``practice_name``, ``list_size``, ``centre_site_id``
        (``""`` when it joins none), ``joined`` (``"own site"``, ``"area's
        centre"`` or ``"none"``), ``status`` and ``phase`` of that centre.

    Raises
    ------
    ScenarioError
        A code that is no GP practice site of the region, or a region without
        list sizes (built without a GP registrations file).
    """
    _check_codes(sites, tuple(codes))
    ids = sites["site_id"].astype(str)
    chosen = sites[ids.isin(codes)]
    where = _practice_areas(chosen, areas)
    centre = centres.set_index(centres["site_id"].astype(str))
    phase_of = dict(
        zip(centres["site_id"].astype(str), centres["phase"].astype(int).tolist(), strict=True)
    )
    serving = assignments.set_index(assignments["area_code"].astype(str))["site_id"].astype(str)
    rows = []
    for r in chosen.itertuples(index=False):
        code = str(r.site_id)
        joined, target = "none", ""
        if code in centre.index:
            joined, target = "own site", code
        else:
            area = where.get(code)
            serve = serving.get(area, "") if area is not None else ""
            if serve and serve in centre.index:
                joined, target = "area's centre", serve
        rows.append(
            {
                "practice_code": code,
                "practice_name": str(r.name),
                "list_size": float(getattr(r, "registered_list", np.nan)),
                "centre_site_id": target,
                "joined": joined,
                "status": str(centre.loc[target, "status"]) if target else "",
                "phase": phase_of.get(target, -1),
            }
        )
    return pd.DataFrame(rows).sort_values("practice_code", kind="stable").reset_index(drop=True)


def with_access_today(
    assignments: gpd.GeoDataFrame,
    centres: gpd.GeoDataFrame,
    region_sites: gpd.GeoDataFrame,
    areas: gpd.GeoDataFrame,
    travel: Any,
    scenario: Scenario,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, str]:
    """The plan's tables with today's access and the anchor practices added.

    ``assignments`` gains ``minutes_today`` (NaN beyond the cutoff),
    ``covered_today`` and, when the areas have them, ``registered_patients``
    and ``residents``; ``centres`` gains ``anchor_practices`` (codes, comma
    separated) and ``anchor_patients`` (their registered lists) when
    ``demand.anchor_practices`` is set. Returns both and a sentence saying
    what "today" counts.
    """
    codes = assignments["area_code"].astype(str).tolist()
    today = access_today(codes, region_sites, travel, scenario)
    a = assignments.copy()
    a["minutes_today"] = np.where(np.isfinite(today.minutes), today.minutes, np.nan)
    a["covered_today"] = today.covered
    by_code = areas.set_index(areas["area_code"].astype(str))
    for col in ("registered_patients", "residents"):
        if col in by_code:
            a[col] = by_code[col].reindex(codes).to_numpy(float)
    c = centres
    anchors = scenario.demand.anchor_practices
    if anchors:
        table = anchor_table(anchors, region_sites, areas, centres, a)
        joined = table[table["centre_site_id"] != ""]
        c = centres.copy()
        ids = c["site_id"].astype(str)
        groups = joined.groupby("centre_site_id")
        names = groups["practice_code"].agg(", ".join).to_dict()
        c["anchor_practices"] = [names.get(i, "") for i in ids]
        c["anchor_patients"] = ids.map(groups["list_size"].sum()).fillna(0.0).to_numpy(float)
    return a, c, today.words


def access_kpi_rows(a: pd.DataFrame, centres: pd.DataFrame) -> list[tuple[str, float, float, str]]:
    """KPI rows of today's access, registrations and anchors (none without the columns).

    ``*_today``: ``before`` = today's access (open GP practices and
    already-open centres), ``after`` = today's access together with the plan's
    centres. ``registered_patients_covered``: registered patients within the
    standard of a centre, before (already-open centres) and after (the plan).
    ``anchor_patients_served``: the anchor practices' lists, before (those
    joining an already-open centre) and after (every centre of the plan).
    """
    if "covered_today" not in a:
        return []
    pop = a["population"].to_numpy(float)
    total = float(pop.sum())
    today = a["covered_today"].to_numpy(bool)
    after = today | a["covered_after"].to_numpy(bool)
    dep = a["imd_decile"].to_numpy(float) <= 2
    need = a["need_score"].to_numpy(float)

    def share(num: float, den: float) -> float:
        return num / den if den > 0 else float("nan")

    m_today = a["minutes_today"].to_numpy(float)
    m_after = np.fmin(m_today, a["minutes"].to_numpy(float))

    def mean(m: np.ndarray) -> float:
        ok = np.isfinite(m)
        return share(float((pop[ok] * m[ok]).sum()), float(pop[ok].sum()))

    rows = [
        ("population_covered_today", float(pop[today].sum()), float(pop[after].sum()), "people"),
        (
            "share_covered_today",
            share(pop[today].sum(), total),
            share(pop[after].sum(), total),
            "share",
        ),
        (
            "imd12_share_covered_today",
            share(pop[today & dep].sum(), pop[dep].sum()),
            share(pop[after & dep].sum(), pop[dep].sum()),
            "share",
        ),
        (
            "need_weighted_coverage_today",
            share(need[today].sum(), need.sum()),
            share(need[after].sum(), need.sum()),
            "share",
        ),
        ("mean_minutes_today", mean(m_today), mean(m_after), "minutes"),
    ]
    if "registered_patients" in a:
        reg = np.nan_to_num(a["registered_patients"].to_numpy(float))
        before = a["covered_before"].to_numpy(bool)
        rows += [
            (
                "registered_patients_covered",
                float(reg[before].sum()),
                float(reg[a["covered_after"].to_numpy(bool)].sum()),
                "registered patients",
            ),
            (
                "registered_patients_covered_today",
                float(reg[today].sum()),
                float(reg[after].sum()),
                "registered patients",
            ),
        ]
    if "anchor_patients" in centres:
        lists = centres["anchor_patients"].to_numpy(float)
        existing = centres["status"].astype(str).eq("existing").to_numpy()
        rows.append(
            (
                "anchor_patients_served",
                float(lists[existing].sum()),
                float(lists.sum()),
                "registered patients",
            )
        )
    return rows


def today_by_group(plain: pd.DataFrame, keys: list[str]) -> pd.DataFrame | None:
    """Per group, the share within reach of primary care today and with the plan's centres.

    Returns
    -------
    pandas.DataFrame or None
        ``keys`` plus ``share_today`` (open GP practices and already-open
        centres) and ``share_today_after`` (today's access together with the
        plan's centres), population-weighted; None without ``covered_today``.
    """
    if "covered_today" not in plain:
        return None
    pop = plain["population"].to_numpy(float)
    today = plain["covered_today"].to_numpy(bool)
    after = today | plain["covered_after"].to_numpy(bool)
    frame = plain[keys].assign(_p=pop, _t=pop * today, _a=pop * after)
    g = frame.groupby(keys, sort=True)[["_p", "_t", "_a"]].sum()
    den = g["_p"].where(g["_p"] > 0)
    out = pd.DataFrame({"share_today": g["_t"] / den, "share_today_after": g["_a"] / den})
    return out.reset_index()
