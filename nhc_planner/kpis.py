"""The plan's key performance indicators: before and after, overall and by group.

Before = the already-open centres only; after = every centre of the plan.
The ``*_today`` rows (when the assignments carry ``covered_today``) compare
today's access to primary care (open GP practices and already-open centres)
with today's access plus the plan's centres (:mod:`nhc_planner.access_today`).
Computed from the plan's ``assignments`` and ``centres`` tables alone, so any
planning model's tables give the same KPIs (see ``docs/architecture.md``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from nhc_planner.access_today import access_kpi_rows, today_by_group
from nhc_planner.capacity import ROLES
from nhc_planner.need import hle_gap_factor

if TYPE_CHECKING:
    import geopandas as gpd

    from nhc_planner.scenario import NeedWeights

__all__ = ["car_group_kpis", "kpi_tables", "share"]


def share(num: float, den: float) -> float:
    """``num / den``, NaN when ``den`` is not positive (the package's one share helper)."""
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


def car_group_kpis(a: pd.DataFrame) -> list[tuple[str, float, float, str]]:
    """KPI rows of households without (and with) a car, when the assignments have them.

    From the columns of :func:`nhc_planner.plan_tables.car_group_columns`:
    ``no_car_households_covered`` (households), ``no_car_share_covered`` (of
    households without a car), ``no_car_mean_minutes`` (household-weighted, to
    the nearest open centre within the cutoff); in ``mixed`` mode also
    ``car_share_covered`` and ``car_mean_minutes`` for households with a car.
    Empty without TS045 data or in a mode that says nothing about them (drive).
    """
    if "households_no_car" not in a or "no_car_covered_after" not in a:
        return []
    hh = a["households"].to_numpy(float)
    weights = {"no_car": a["households_no_car"].to_numpy(float)}
    weights["car"] = np.clip(hh - weights["no_car"], 0.0, None)
    weights = {k: np.nan_to_num(v) for k, v in weights.items()}
    rows: list[tuple[str, float, float, str]] = []
    for group in ("no_car", "car"):
        if f"{group}_covered_after" not in a:
            continue
        w = weights[group]
        cb = a[f"{group}_covered_before"].to_numpy(bool)
        ca = a[f"{group}_covered_after"].to_numpy(bool)

        def mean_minutes(m: np.ndarray, w: np.ndarray = w) -> float:
            ok = np.isfinite(m)
            return share(float((w[ok] * m[ok]).sum()), float(w[ok].sum()))

        mb = a[f"{group}_minutes_before"].to_numpy(float)
        ma = a[f"{group}_minutes_after"].to_numpy(float)
        if group == "no_car":
            rows.append(
                ("no_car_households_covered", float(w[cb].sum()), float(w[ca].sum()), "households")
            )
        rows += [
            (
                f"{group}_share_covered",
                share(w[cb].sum(), w.sum()),
                share(w[ca].sum(), w.sum()),
                "share",
            ),
            (f"{group}_mean_minutes", mean_minutes(mb), mean_minutes(ma), "minutes"),
        ]
    return rows


def _with_today(table: pd.DataFrame, plain: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """``table`` with today's-access shares per group (unchanged without ``covered_today``)."""
    today = today_by_group(plain, keys)
    return table if today is None else table.merge(today, on=keys, how="left")


def kpi_tables(
    a: gpd.GeoDataFrame, centres: gpd.GeoDataFrame, need: NeedWeights
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The plan's KPI tables: overall, by IMD decile, by HLE quintile and by local authority.

    Parameters
    ----------
    a
        The plan's ``assignments`` (one row per area).
    centres
        The plan's ``centres`` (``status``, ``capex_gbp``, ``annual_cost_gbp``, ``wte_*``).
    need
        ``scenario.need`` (the HLE reference and span weigh the HLE-gap KPI).

    Returns
    -------
    tuple of pandas.DataFrame
        ``kpis`` (``metric, before, after, unit``; with ``weekly_unmet`` in ``a``
        also ``unmet_weekly_appointments`` and ``unmet_share`` of weekly demand in
        the final year, ``before`` NaN: not computed for the existing centres alone),
        ``kpis_by_decile``,
        ``kpis_by_hle_quintile``, ``kpis_by_la``.
    """
    pop = a["population"].to_numpy(float)
    need_w = a["need_score"].to_numpy(float)
    hle = a["hle_years"].to_numpy(float)
    deprived = a["imd_decile"].to_numpy(float) <= 2
    hle_gap = hle_gap_factor(hle, reference=need.hle_reference_years, span=need.hle_span_years)
    total = float(pop.sum())
    cb = a["covered_before"].to_numpy(bool)
    ca = a["covered_after"].to_numpy(bool)
    dep = deprived
    gap_w = pop * hle_gap
    if gap_w.sum() <= 0:
        gap_w = pop
    existing = centres["status"] == "existing"
    # mean minutes before: to the nearest already-open centre
    mins_after = a["minutes"].to_numpy(float)
    mins_before = a["minutes_before"].to_numpy(float)

    def mean_minutes(m: np.ndarray) -> float:
        ok = np.isfinite(m)
        return share(float((pop[ok] * m[ok]).sum()), float(pop[ok].sum()))

    wte = [f"wte_{r}" for r in ROLES]
    rows = [
        ("centres", float(existing.sum()), float(len(centres)), "centres"),
        ("population_covered", float(pop[cb].sum()), float(pop[ca].sum()), "people"),
        ("share_covered", share(pop[cb].sum(), total), share(pop[ca].sum(), total), "share"),
        (
            "imd12_population_covered",
            float(pop[cb & dep].sum()),
            float(pop[ca & dep].sum()),
            "people",
        ),
        (
            "imd12_share_covered",
            share(pop[cb & dep].sum(), pop[dep].sum()),
            share(pop[ca & dep].sum(), pop[dep].sum()),
            "share",
        ),
        (
            "hle_weighted_coverage",
            share(gap_w[cb].sum(), gap_w.sum()),
            share(gap_w[ca].sum(), gap_w.sum()),
            "share",
        ),
        (
            "need_weighted_coverage",
            share(need_w[cb].sum(), need_w.sum()),
            share(need_w[ca].sum(), need_w.sum()),
            "share",
        ),
        ("mean_minutes", mean_minutes(mins_before), mean_minutes(mins_after), "minutes"),
        (
            "share_beyond_cutoff",
            share(pop[~np.isfinite(mins_before)].sum(), total),
            share(pop[~np.isfinite(mins_after)].sum(), total),
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
    if "weekly_unmet" in a and "weekly_demand" in a:
        unmet = float(a["weekly_unmet"].to_numpy(float).sum())
        demand = float(a["weekly_demand"].to_numpy(float).sum())
        rows += [
            ("unmet_weekly_appointments", float("nan"), unmet, "appointments per week"),
            ("unmet_share", float("nan"), share(unmet, demand), "share"),
        ]
    rows += access_kpi_rows(a, centres)  # today's access, registrations, anchors
    rows += car_group_kpis(a)
    kpis = pd.DataFrame(rows, columns=["metric", "before", "after", "unit"])
    plain = pd.DataFrame(a.drop(columns=a.geometry.name))
    by_decile = _group_kpis(plain, ["imd_decile"])
    by_quintile = _group_kpis(plain, ["hle_quintile"])
    ranges = plain.groupby("hle_quintile", sort=True)["hle_years"].agg(["min", "max"])
    by_quintile["hle_min"] = ranges["min"].to_numpy()
    by_quintile["hle_max"] = ranges["max"].to_numpy()
    by_la = _group_kpis(plain, ["la_code", "la_name"])
    by_decile, by_quintile, by_la = (
        _with_today(t, plain, keys)
        for t, keys in (
            (by_decile, ["imd_decile"]),
            (by_quintile, ["hle_quintile"]),
            (by_la, ["la_code", "la_name"]),
        )
    )
    return kpis, by_decile, by_quintile, by_la
