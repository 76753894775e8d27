"""The regional report: one folder an ICB board can open offline.

:func:`write_report` turns a plan into a folder::

    index.html          the report (CSS inline; opens from disk, no network)
    map.html            the interactive map (Leaflet served from assets/)
    assets/             vendored Leaflet and jQuery with their licences
    figures/*.png       static map and charts (matplotlib)
    report.pdf          only with ``pdf=True`` (needs the optional WeasyPrint)

The report holds: a summary with the headline figures before and after the
plan in words and numbers, the maps, the phasing timeline, a card per centre
(why it was chosen, capacity, size, staffing), coverage and equity tables by
IMD decile, healthy life expectancy (HLE) quintile and local authority, the
coverage curve, the method and assumptions, the data sources with their
licences and attribution, and the solver's status in plain words. Plans made
from generated data carry a SYNTHETIC banner on every page.

HLE per small area is an estimate (see :mod:`nhc_planner.sources.hle`): every
HLE figure in the report says so.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nhc_planner._atomic import atomic_write_text
from nhc_planner._errors import MissingColumnError, NhcRuntimeError
from nhc_planner._format import (
    describe_alternative,
    format_count,
    format_gbp,
    format_minutes,
    format_percent,
    format_years,
    site_labels,
    source_label,
)
from nhc_planner.capacity import ROLE_LABELS, ROLES
from nhc_planner.kpis import share
from nhc_planner.map_context import with_places
from nhc_planner.maps import (
    NHS_BLUE,
    PlanLike,
    over_capacity,
    phase_colour,
    plan_map,
    save_map,
    static_map_png,
)
from nhc_planner.travel.words import mode_phrase, standard_sentence

__all__ = ["solver_summary", "write_report"]

_TEMPLATES = Path(__file__).resolve().parent / "templates"
_FILE_NOTE = re.compile(r"^\S+\.(csv|gpkg|geojson|json|parquet|zip|shp|xlsx|fgb|pbf|osm)\b", re.I)
_GREY = "#AEB7BD"
_TEXT = "#212B32"
_MODE_PHRASE = {m: mode_phrase(m) for m in ("drive", "walk", "cycle", "transit", "mixed")}
_KPI_LABELS = {
    "centres": "Centres open",
    "need_weighted_coverage": "Need-weighted coverage",
    "share_beyond_cutoff": "Residents beyond the longest travel time computed",
    "capex_gbp": "Capital cost of new centres",
    "annual_cost_gbp": "Running cost a year",
    "staff_wte": "Staff (whole-time equivalents)",
    "population_covered": "People within the travel standard",
    "share_covered": "Share of residents within the travel standard",
    "imd12_population_covered": "Most deprived residents (IMD deciles 1–2) within the standard",
    "imd12_share_covered": "Share of most deprived residents (IMD deciles 1–2) within the standard",
    "mean_minutes": "Mean travel time to the nearest centre",
    "hle_weighted_coverage": "HLE-weighted coverage (HLE is estimated)",
    "no_car_households_covered": "Households without a car within the standard",
    "no_car_share_covered": "Share of households without a car within the standard",
    "no_car_mean_minutes": "Mean travel time without a car (bus or on foot)",
    "car_share_covered": "Share of households with a car within the standard (driving)",
    "car_mean_minutes": "Mean drive time for households with a car",
    "population_covered_today": "People within the standard of primary care today (GP practice "
    "or centre); after: with the plan's centres",
    "share_covered_today": "Share within the standard of primary care today; after: with the "
    "plan's centres",
    "imd12_share_covered_today": "Share of most deprived (IMD deciles 1–2) within reach of "
    "primary care today; after: with the plan",
    "need_weighted_coverage_today": "Need-weighted access to primary care today; after: with "
    "the plan",
    "mean_minutes_today": "Mean travel to the nearest GP practice or centre today; after: or "
    "the plan's centres",
    "registered_patients_covered": "GP-registered patients within the standard of a centre",
    "registered_patients_covered_today": "GP-registered patients within reach of primary care "
    "today; after: with the plan",
    "anchor_patients_served": "Patients of anchor practices served by the centre they join",
}
_COLUMN_LABELS = {
    "imd_decile": "IMD decile",
    "hle_quintile": "HLE quintile (estimated)",
    "la_code": "Code",
    "la_name": "Local authority",
    "population": "Residents",
    "areas": "Areas",
    "n_areas": "Areas",
    "share_before": "Share reached before",
    "share_after": "Share reached after",
    "share_today": "Share within reach of primary care today",
    "share_today_after": "Share within reach of primary care with the plan",
    "covered_before": "Reached before",
    "covered_after": "Reached after",
    "population_covered_before": "Residents within standard before",
    "population_covered_after": "Residents within standard after",
    "pop_covered_before": "Residents within standard before",
    "pop_covered_after": "Residents within standard after",
    "mean_minutes_before": "Mean travel before",
    "mean_minutes_after": "Mean travel after",
    "hle_mean": "Mean HLE (estimated)",
    "hle_min": "Lowest HLE (estimated)",
    "hle_max": "Highest HLE (estimated)",
    "hle_years": "HLE (estimated)",
}


# --------------------------------------------------------------------------- wording


def _num(value: Any) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return math.nan
    return v


def solver_summary(solver: Mapping[str, Any]) -> str:
    """Say in plain words how good the solver's answer is.

    Parameters
    ----------
    solver
        The plan's ``solver`` dict (``status``, ``gap``, ``solve_seconds``, ``message``).

    Examples
    --------
    >>> solver_summary({"status": "optimal", "gap": 0.0, "solve_seconds": 1.5})
    'Optimal: no other choice of sites does better on the objective as set up (solved in 1.5 s).'
    >>> solver_summary({"status": "feasible", "gap": 0.023, "solve_seconds": 60})
    ... # doctest: +NORMALIZE_WHITESPACE
    'Good but not proven best: the solver stopped at its time limit with a plan within 2.3%
    of the best possible (solved in 60.0 s).'
    """
    status = str(solver.get("status", "unknown"))
    message = str(solver.get("message") or "").strip()
    if (
        message
        and status in ("optimal", "feasible")
        and (status != "feasible" or "%" in message or "gap" in message.lower())
    ):
        return message
    seconds = _num(solver.get("solve_seconds"))
    timing = f" (solved in {seconds:.1f} s)" if math.isfinite(seconds) else ""
    if status == "optimal":
        text = f"Optimal: no other choice of sites does better on the objective as set up{timing}."
    elif status == "feasible":
        gap = _num(solver.get("gap"))
        within = f"within {100 * gap:.1f}% of" if math.isfinite(gap) else "close to"
        text = (
            "Good but not proven best: the solver stopped at its time limit with a plan "
            f"{within} the best possible{timing}."
        )
    elif status == "infeasible":
        text = "No plan meets every requirement set in the scenario."
    else:
        text = f"The solver finished with status '{status}'{timing}."
    return f"{text} {message}".strip() if message and status != "optimal" else text


def _format_value(value: Any, unit: str) -> str:
    u = unit.strip().lower()
    if u in ("people", "persons", "residents", "count", "areas", "centres"):
        return format_count(value)
    if u in ("share", "fraction", "proportion", "ratio"):
        return format_percent(value, digits=1)
    if u in ("%", "percent"):
        v = _num(value)
        return f"{v:.1f}%" if math.isfinite(v) else "–"
    if u in ("minutes", "min", "mins"):
        return format_minutes(value)
    if u in ("years", "year"):
        return format_years(value)
    if u in ("gbp", "£", "pounds", "gbp per year"):
        return format_gbp(value)
    if u == "wte":
        v = _num(value)
        return f"{v:,.1f}" if math.isfinite(v) else "–"
    v = _num(value)
    if not math.isfinite(v):
        return "–"
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.2f}"


def _humanise(name: str) -> str:
    label = _KPI_LABELS.get(name) or _COLUMN_LABELS.get(name)
    if label:
        return label
    text = name.replace("_", " ").strip()
    text = text.replace("imd12", "IMD deciles 1–2").replace("hle", "HLE").replace("imd", "IMD")
    text = text[:1].upper() + text[1:]
    if "HLE" in text and "estimate" not in text:
        text += " (estimated)"
    return text


def _format_cell(column: str, value: Any) -> str:
    c = column.lower()
    if isinstance(value, str):
        return value
    if c in ("imd_decile", "hle_quintile", "phase", "order", "n_centres", "year"):
        v = _num(value)
        return "–" if not math.isfinite(v) else f"{v:.0f}"
    if "share" in c or "coverage" in c or c.startswith("pct") or "utilisation" in c:
        return format_percent(value, digits=1)
    if "minutes" in c:
        return format_minutes(value)
    if "hle" in c:
        return format_years(value)
    if "gbp" in c or "cost" in c or "capex" in c:
        return format_gbp(value)
    if any(w in c for w in ("pop", "area", "residents", "people", "covered")):
        return format_count(value)
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    v = _num(value)
    if math.isnan(v):
        return "–"
    if math.isinf(v):
        return "unlimited" if v > 0 else "–"
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.2f}"


@dataclass(frozen=True)
class _Table:
    caption: str
    headers: list[str]
    rows: list[list[str]]
    numeric: list[bool]
    note: str = ""


def _table(frame: pd.DataFrame | None, caption: str, note: str = "") -> _Table | None:
    if frame is None or len(frame) == 0:
        return None
    # Shares carry the message; counts of covered residents would repeat them.
    repeated = {"geometry", "covered_before", "covered_after"}
    if {"share_before", "share_after"} - set(frame.columns):
        repeated -= {"covered_before", "covered_after"}
    empty = [c for c in frame.columns if frame[c].isna().all()]
    df = frame.drop(columns=[c for c in frame.columns if c in repeated or c in empty])
    numeric = [pd.api.types.is_numeric_dtype(df[c]) and c not in ("la_code",) for c in df.columns]
    rows = [
        [_format_cell(str(c), v) for c, v in zip(df.columns, row, strict=True)]
        for row in df.itertuples(index=False)
    ]
    headers = [_humanise(str(c)) for c in df.columns]
    return _Table(caption, headers, rows, numeric, note)


# --------------------------------------------------------------------------- figures


def _coverage(assignments: pd.DataFrame) -> dict[str, float]:
    pop = assignments["population"].astype(float)
    before = assignments["covered_before"].fillna(False).astype(bool)
    after = assignments["covered_after"].fillna(False).astype(bool)
    imd12 = assignments["imd_decile"].astype(float) <= 2
    total = float(pop.sum())
    total12 = float(pop[imd12].sum())
    return {
        "total": total,
        "before": float(pop[before].sum()),
        "after": float(pop[after].sum()),
        "total12": total12,
        "before12": float(pop[before & imd12].sum()),
        "after12": float(pop[after & imd12].sum()),
    }


def _new_figure(width: float = 7.0, height: float = 3.2) -> Any:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    fig.set_facecolor("white")
    return fig


def _style_axes(ax: Any) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color("#768692")
    ax.tick_params(colors=_TEXT, labelsize=9)
    ax.yaxis.label.set_color(_TEXT)
    ax.xaxis.label.set_color(_TEXT)
    ax.grid(axis="y", color="#E8EDEE", linewidth=0.8)
    ax.set_axisbelow(True)


def _percent_axis(ax: Any) -> None:
    from matplotlib.ticker import FuncFormatter, MultipleLocator

    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_locator(MultipleLocator(0.2))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{100 * v:.0f}%"))


def _phasing_rows(plan: PlanLike) -> list[dict[str, Any]]:
    centres = plan.centres
    a = plan.assignments
    cov = _coverage(a)
    phase_cov = pd.to_numeric(a.get("phase_covered"), errors="coerce")
    new = a["covered_after"].fillna(False).astype(bool) & ~a["covered_before"].fillna(False).astype(
        bool
    )
    phases = pd.to_numeric(centres["phase"], errors="coerce").fillna(0).astype(int)
    years = sorted(p for p in set(phases) | set(phase_cov[new].dropna().astype(int)) if p > 0)
    shown = site_labels(with_places(centres, a))
    rows = []
    cumulative = cov["before"]
    for year in years:
        opening = centres[phases == year].sort_values("order", kind="stable")
        gained = float(a.loc[new & (phase_cov == year), "population"].sum())
        cumulative += gained
        rows.append(
            {
                "year": year,
                "centres": [
                    (f"{int(o)}" if math.isfinite(_num(o)) else "", str(n))
                    for o, n in zip(opening["order"], shown[opening.index], strict=True)
                ],
                "gained": gained,
                "cumulative": cumulative,
                "share": share(cumulative, cov["total"]),
                "capex": float(pd.to_numeric(opening.get("capex_gbp"), errors="coerce").sum())
                if "capex_gbp" in opening
                else math.nan,
                "colour": phase_colour(year),
            }
        )
    return rows


def _phasing_chart(rows: Sequence[Mapping[str, Any]], before_share: float, path: Path) -> Path:
    fig = _new_figure(7.0, 3.0)
    ax = fig.add_subplot()
    years = [0] + [r["year"] for r in rows]
    shares = [before_share] + [r["share"] for r in rows]
    colours = [_GREY] + [r["colour"] for r in rows]
    bars = ax.bar([str(y) if y else "Now" for y in years], shares, color=colours, width=0.6)
    for bar, r_share, n in zip(bars, shares, [0] + [len(r["centres"]) for r in rows], strict=True):
        label = format_percent(r_share)
        if n:
            label += f"\n+{n} centre{'s' if n > 1 else ''}"
        ax.annotate(
            label,
            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            xytext=(0, 3),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=8,
            color=_TEXT,
        )
    _style_axes(ax)
    _percent_axis(ax)
    ax.set_ylim(0, 1.22)
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.set_ylabel("Residents within the standard")
    ax.set_xlabel("Year of the plan")
    fig.tight_layout()
    fig.savefig(path, dpi=150)
    return path


def _coverage_curve_chart(curve: pd.DataFrame, chosen: int, plan_share: float, path: Path) -> Path:
    """The greedy curve, with this plan marked at its own share (the headline's figure)."""
    fig = _new_figure(7.0, 3.0)
    ax = fig.add_subplot()
    x = curve["n_centres"].astype(float).to_numpy()
    y = curve["share"].astype(float).to_numpy()
    ax.plot(x, y, color=NHS_BLUE, linewidth=2, marker="o", markersize=4)
    if math.isfinite(plan_share):
        ax.scatter([chosen], [plan_share], s=80, color="#DA291C", zorder=3)
        ax.annotate(
            f"this plan: {format_percent(plan_share)}",
            (chosen, plan_share),
            xytext=(8, -14),
            textcoords="offset points",
            fontsize=8,
            color="#DA291C",
        )
    _style_axes(ax)
    _percent_axis(ax)
    ax.set_xlabel("Number of new centres")
    ax.set_ylabel("Residents within the standard")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    fig.savefig(path, dpi=150)
    return path


def _decile_chart(assignments: pd.DataFrame, path: Path) -> Path:
    a = assignments.assign(
        _b=assignments["covered_before"].fillna(False).astype(bool) * assignments["population"],
        _a=assignments["covered_after"].fillna(False).astype(bool) * assignments["population"],
    )
    g = a.groupby("imd_decile")[["population", "_b", "_a"]].sum()
    deciles = np.arange(1, 11)
    g = g.reindex(deciles)
    before = (g["_b"] / g["population"]).to_numpy(dtype=float)
    after = (g["_a"] / g["population"]).to_numpy(dtype=float)
    fig = _new_figure(7.0, 3.0)
    ax = fig.add_subplot()
    w = 0.38
    ax.bar(deciles - w / 2, np.nan_to_num(before), w, color=_GREY, label="Before the plan")
    ax.bar(deciles + w / 2, np.nan_to_num(after), w, color=NHS_BLUE, label="After the plan")
    if "covered_today" in assignments.columns:  # today's primary care: GP practices, centres
        t = assignments["covered_today"].fillna(False).astype(bool) * assignments["population"]
        pop = assignments.groupby("imd_decile")["population"].sum().reindex(deciles)
        today = (t.groupby(assignments["imd_decile"]).sum().reindex(deciles) / pop).to_numpy(float)
        ax.plot(
            deciles, today, "D", color=_TEXT, markersize=4, label="Today: GP practice or centre"
        )
    _style_axes(ax)
    _percent_axis(ax)
    ax.set_xticks(
        deciles, [f"{d}\nmost" if d == 1 else f"{d}\nleast" if d == 10 else str(d) for d in deciles]
    )
    ax.set_xlabel("IMD decile (1 = most deprived 10% of England)")
    ax.set_ylabel("Residents within the standard")
    ax.legend(frameon=False, fontsize=8, loc="upper right", bbox_to_anchor=(1, 1.18), ncols=3)
    fig.tight_layout()
    fig.savefig(path, dpi=150)
    return path


# --------------------------------------------------------------------------- sections


def _travel_sentence(travel: Any) -> str:
    """The standard in a planner's words ("reachable by bus within 30 minutes for ..."), or ""."""
    try:
        return standard_sentence(travel)
    except (AttributeError, TypeError, ValueError):
        return ""


def _scenario_facts(scenario: Any) -> dict[str, Any]:
    def part(name: str) -> Any:
        return getattr(scenario, name, None)

    travel, capacity, phasing, need = (part(n) for n in ("travel", "capacity", "phasing", "need"))
    return {
        "name": getattr(scenario, "name", "scenario"),
        "description": getattr(scenario, "description", ""),
        "mode": getattr(travel, "mode", "drive"),
        "standard": _num(getattr(travel, "standard_min", math.nan)),
        "cutoff": _num(getattr(travel, "cutoff_min", math.nan)),
        "network": getattr(travel, "network", None),
        "travel_sentence": _travel_sentence(travel),
        "hours": _num(getattr(capacity, "hours_per_day", math.nan)),
        "days": _num(getattr(capacity, "days_per_week", math.nan)),
        "sizes": [
            (str(getattr(s, "name", "")), getattr(s, "rooms", None))
            for s in getattr(capacity, "sizes", ()) or ()
        ],
        "years": getattr(phasing, "years", None),
        "deprivation_weight": getattr(need, "deprivation_weight", None),
        "hle_weight": getattr(need, "hle_weight", None),
        "who": "Registered patients"
        if getattr(part("demand"), "basis", "residents") == "registrations"
        else "Residents",
    }


def _settings_rows(scenario: Any) -> list[list[str]]:
    to_dict = getattr(scenario, "to_dict", None)
    if to_dict is None:
        return []
    try:
        from nhc_planner.scenario import describe

        docs = {r["key"]: r for r in describe()}
    except ImportError:  # pragma: no cover - scenario module always present in the package
        docs = {}
    rows: list[list[str]] = []
    for key, value in _flatten(to_dict()):
        meta = docs.get(key, {})
        shown = ", ".join(map(str, value)) if isinstance(value, list | tuple) else str(value)
        if isinstance(value, list) and value and isinstance(value[0], Mapping):
            shown = "; ".join(", ".join(f"{k}={v}" for k, v in item.items()) for item in value)
        rows.append([key, shown or "–", str(meta.get("unit", "")), str(meta.get("doc", ""))])
    return rows


def _flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """``(dotted key, leaf value)`` pairs of nested mappings, in order."""
    if isinstance(value, Mapping):
        for k, v in value.items():
            yield from _flatten(v, f"{prefix}.{k}" if prefix else str(k))
    else:
        yield prefix, value


def _centre_cards(plan: PlanLike) -> list[dict[str, Any]]:
    c = plan.centres
    stability: dict[str, float] = {}
    stab = getattr(plan, "stability", None)
    if stab is not None and len(stab):
        stability = dict(
            zip(stab["site_id"].astype(str), stab["share_chosen"].astype(float), strict=True)
        )
    names = dict(zip(c["site_id"].astype(str), c["name"].astype(str), strict=True))
    labels = dict(
        zip(c["site_id"].astype(str), site_labels(with_places(c, plan.assignments)), strict=True)
    )
    covered = float(pd.to_numeric(c.get("pop_newly_covered"), errors="coerce").sum())
    cards = []
    ranked = c.assign(
        _p=pd.to_numeric(c["phase"], errors="coerce").fillna(0),
        _o=pd.to_numeric(c["order"], errors="coerce").fillna(0),
    ).sort_values(["_p", "_o"], kind="stable")
    for _, r in ranked.iterrows():
        phase = int(r["_p"])
        existing = phase <= 0

        def val(col: str, r: pd.Series = r) -> Any:
            return r[col] if col in r.index else None

        figures = [
            ("Residents newly within reach", format_count(val("pop_newly_covered"))),
            ("of whom in IMD deciles 1–2", format_count(val("pop_newly_covered_imd12"))),
            ("Catchment HLE (estimated)", format_years(val("catchment_hle_mean"))),
            ("Size", f"{val('size')} · {format_count(val('rooms'))} rooms"),
            ("Weekly capacity", f"{format_count(val('weekly_capacity'))} appointments"),
            ("Weekly demand served", format_count(val("weekly_demand_served"))),
            ("Utilisation", _use_text(val("utilisation"))),
            ("Capital cost", format_gbp(val("capex_gbp"))),
            ("Running cost a year", format_gbp(val("annual_cost_gbp"))),
        ]
        alt = val("best_alternative")
        if alt is not None and str(alt) not in ("", "nan", "None"):
            given = val("best_alternative_name")
            alt_name = (
                str(given) if isinstance(given, str) and given else names.get(str(alt), str(alt))
            )
            figures.append(
                (
                    "Next-best alternative",
                    describe_alternative(alt_name, val("swap_loss"), scale=max(covered, 1.0)),
                )
            )
        sid = str(val("site_id"))
        if sid in stability:
            figures.append(("Chosen in sensitivity runs", format_percent(stability[sid])))
        staff = [
            (ROLE_LABELS[role], f"{_num(val(f'wte_{role}')):.1f}")
            for role in ROLES
            if f"wte_{role}" in r.index and math.isfinite(_num(val(f"wte_{role}")))
        ]
        order = _num(val("order"))
        cards.append(
            {
                "site_id": sid,
                "name": labels.get(sid, str(val("name"))),
                "kind": str(val("kind") or "").replace("_", " "),
                "over": over_capacity(val("utilisation")),
                "badge": "" if existing or not math.isfinite(order) else f"{order:.0f}",
                "colour": phase_colour(phase),
                "when": "Already open" if existing else f"Opens in year {phase}",
                "why": str(val("why") or ""),
                "util_class": utilisation_class(val("utilisation")),
                "figures": figures,
                "staff": staff,
                "staff_total": f"{sum(float(v) for _, v in staff):.1f}",
                "existing": existing,
            }
        )
    return cards


def utilisation_class(value: Any) -> str:
    """CSS class of a centre's utilisation: ``util-ok`` (< 85%), ``util-full`` (85-100%),
    ``util-over`` (above capacity) or ``""`` when unknown.

    Examples
    --------
    >>> utilisation_class(0.5), utilisation_class(1.0), utilisation_class(1.4)
    ('util-ok', 'util-full', 'util-over')
    """
    u = _num(value)
    if not math.isfinite(u):
        return ""
    if u > 1 + 1e-9:
        return "util-over"
    return "util-full" if u >= 0.85 else "util-ok"


def _capacity_headline(plan: PlanLike) -> list[str]:
    """Whether capacity was applied, centres above it and unmet demand, in plain words."""
    c, solver = plan.centres, dict(getattr(plan, "solver", {}) or {})
    util = pd.to_numeric(c["utilisation"], errors="coerce") if "utilisation" in c else None
    scenario = getattr(plan, "scenario", None)
    constrain = getattr(getattr(scenario, "capacity", None), "constrain", None)
    applied = solver.get("capacity_applied", constrain)
    lines = []
    if util is not None and len(util):
        over = int((util > 1 + 1e-9).sum())
        top = format_percent(float(util.max()))
        if applied is False:
            lines.append(
                "Capacity not applied (capacity.constrain = false): "
                f"{over} centre{'s' if over != 1 else ''} planned above capacity "
                f"(highest utilisation {top}); demand beyond capacity is not counted as unmet."
            )
        elif over:
            lines.append(
                f"{over} centre{'s' if over != 1 else ''} planned above capacity "
                f"(highest utilisation {top})."
            )
        elif applied:
            lines.append(
                f"Every centre is planned within its capacity (highest utilisation {top})."
            )
    a = plan.assignments
    if "weekly_unmet" in a and "weekly_demand" in a:
        unmet = float(pd.to_numeric(a["weekly_unmet"], errors="coerce").sum())
        demand = float(pd.to_numeric(a["weekly_demand"], errors="coerce").sum())
        if unmet > 0.5:
            lines.append(
                f"{format_count(unmet)} weekly appointments "
                f"({format_percent(share(unmet, demand))} of demand) cannot be served within "
                "the standard and the centres' capacity in the final year (unmet demand)."
            )
    return lines


def _use_text(value: Any) -> str:
    text = format_percent(value)
    return f"{text} — over capacity" if over_capacity(value) else text


def _staffing_table(plan: PlanLike) -> _Table | None:
    c = plan.centres
    cols = [f"wte_{r}" for r in ROLES if f"wte_{r}" in c.columns]
    if not cols:
        return None
    rows = []
    for _, r in c.sort_values(["phase", "order"], kind="stable").iterrows():
        values = [_num(r[col]) for col in cols]
        rows.append(
            [
                str(r["name"]),
                str(r.get("size", "")),
                format_count(r.get("rooms")),
                format_count(r.get("weekly_capacity")),
            ]
            + [f"{v:.1f}" for v in values]
            + [f"{np.nansum(values):.1f}"]
        )
    headers = (
        ["Centre", "Size", "Rooms", "Weekly capacity"]
        + [ROLE_LABELS[c.removeprefix("wte_")] for c in cols]
        + ["Total WTE"]
    )
    return _Table(
        "Capacity and staffing (whole-time equivalents)",
        headers,
        rows,
        [False, False] + [True] * (len(headers) - 2),
    )


_HEADLINE_KPIS = (
    "population_covered",
    "share_covered",
    "imd12_share_covered",
    "hle_weighted_coverage",
    "mean_minutes",
    "no_car_share_covered",  # only with Census TS045 data, in a mode that counts it
)


def _kpi_rows(plan: PlanLike) -> list[dict[str, str]]:
    k = getattr(plan, "kpis", None)
    if k is None or len(k) == 0:
        return []
    out = []
    for _, r in k.iterrows():
        unit = str(r.get("unit", ""))
        before, after = _num(r["before"]), _num(r["after"])
        change = after - before
        if unit in ("share", "fraction", "proportion"):
            delta = f"{100 * change:+.1f} points" if math.isfinite(change) else ""
        elif math.isfinite(change):
            delta = _format_value(abs(change), unit)
            delta = ("+" if change > 0 else "−" if change < 0 else "±") + delta
        else:
            delta = ""
        out.append(
            {
                "metric": str(r["metric"]),
                "unit": unit,
                "label": _humanise(str(r["metric"])),
                "before": _format_value(before, unit),
                "after": _format_value(after, unit),
                "delta": delta,
            }
        )
    return out


def _headline(plan: PlanLike, facts: Mapping[str, Any]) -> list[str]:
    c, a = plan.centres, plan.assignments
    cov = _coverage(a)
    phases = pd.to_numeric(c["phase"], errors="coerce").fillna(0)
    n_new = int((phases > 0).sum())
    last_year = int(phases.max()) if len(phases) else 0
    n_years = int(facts.get("years") or last_year)
    n_existing = int((phases <= 0).sum())
    mode_word = {
        "drive": "drive",
        "walk": "walk",
        "cycle": "cycle ride",
        "transit": "journey by bus or on foot",
        "mixed": "journey (by car, or by bus or on foot without a car)",
    }.get(str(facts["mode"]), str(facts["mode"]))
    standard = (
        f"{facts['standard']:.0f} minutes' {mode_word}"
        if math.isfinite(facts["standard"])
        else "the travel standard"
    )
    n_late = int((phases > n_years).sum()) if n_years > 0 else 0
    n_in = n_new - n_late
    lines = [
        f"The plan opens {n_in} new neighbourhood health centre{'s' if n_in != 1 else ''}"
        + (f" over {n_years} year{'s' if n_years != 1 else ''}" if n_years else "")
        + (f" (the last opens in year {last_year})" if n_new and 0 < last_year < n_years else "")
        + (
            f", and {n_late} more after the {n_years}-year horizon at the same pace"
            if n_late
            else ""
        )
        + (f", alongside {n_existing} already open" if n_existing else "")
        + ".",
        f"{facts.get('who', 'Residents')} within {standard} of a centre rise from "
        f"{format_count(cov['before'])} "
        f"({format_percent(share(cov['before'], cov['total']))}) to {format_count(cov['after'])} "
        f"({format_percent(share(cov['after'], cov['total']))}) of "
        f"{format_count(cov['total'])}.",
    ]
    if cov["total12"] > 0:
        lines.append(
            "In the most deprived areas (IMD deciles 1–2, "
            f"{format_count(cov['total12'])} residents) the share within reach rises from "
            f"{format_percent(share(cov['before12'], cov['total12']))} to "
            f"{format_percent(share(cov['after12'], cov['total12']))}."
        )
    capex = pd.to_numeric(c.get("capex_gbp"), errors="coerce") if "capex_gbp" in c else None
    if capex is not None and n_new:
        lines.append(
            f"Capital cost of the new centres: {format_gbp(float(capex[phases > 0].sum()))}."
        )
    return lines + _today_headline(a, standard) + _capacity_headline(plan)


def _today_headline(a: pd.DataFrame, standard: str) -> list[str]:
    """What the plan adds to today's access (open GP practices and centres), if computed."""
    if "covered_today" not in a.columns:
        return []
    pop = pd.to_numeric(a["population"], errors="coerce").fillna(0.0)
    today = a["covered_today"].fillna(False).astype(bool)
    after = today | a["covered_after"].fillna(False).astype(bool)
    total = float(pop.sum())
    added = float(pop[after & ~today].sum())
    return [
        f"Today {format_count(float(pop[today].sum()))} "
        f"({format_percent(share(float(pop[today].sum()), total))}) live within {standard} of "
        "an open GP practice or centre; the plan's new centres bring "
        f"{format_count(added)} more within reach of primary care "
        f"({format_percent(share(float(pop[after].sum()), total))} in all)."
    ]


def _demand_point(plan: PlanLike) -> str:
    """Which point of an area travel is measured from, true to the data used."""
    source = plan.assignments.get("demand_source")
    if source is None:
        given = "centroids" in dict(plan.region_meta.vintages)
        return "its population-weighted centre" if given else "a point inside it"
    kinds = set(source.astype(str))
    if kinds == {"pwc"}:
        return "its population-weighted centre"
    if "pwc" in kinds:
        return "its population-weighted centre (or, for areas without one, a point inside the area)"
    return "a point inside it (no population-weighted centres were given)"


def _is_join_note(note: str) -> bool:
    """A note on how the input files were read and joined (for the appendix)."""
    return (
        note.startswith(("Join report", "HLE published figures"))
        or bool(_FILE_NOTE.match(note))
        or " -> " in note
    )


def _split_notes(notes: Sequence[str]) -> dict[str, list[str]]:
    """The region's notes on method (``notes``) and on reading files (``join_notes``)."""
    return {
        "notes": [n for n in notes if not _is_join_note(n)],
        "join_notes": [n for n in notes if _is_join_note(n)],
    }


def _method(plan: PlanLike, facts: Mapping[str, Any]) -> list[str]:
    a = plan.assignments
    items = []
    mode = str(facts["mode"])
    if math.isfinite(facts["standard"]):
        items.append(
            f"Travel standard: an area counts as within reach when {_demand_point(plan)} "
            f"is within {facts['standard']:.0f} minutes {_MODE_PHRASE.get(mode, mode)} "
            "of an open centre"
            + (
                f"; times beyond {facts['cutoff']:.0f} minutes count as unreachable."
                if math.isfinite(facts["cutoff"])
                else "."
            )
        )
    if mode in ("transit", "mixed") and facts.get("travel_sentence"):
        items.append(f"In words: an area is within reach when it is {facts['travel_sentence']}.")
    if mode == "mixed":
        items.append(
            "Households with a car count by drive time; households without one (Census 2021 "
            "TS045, car or van availability) by the faster of public transport and walking. "
            "The optimiser weighs each area by its households' average time, each household "
            "by its own means; coverage of households without a car is reported on its own."
        )
    if "travel_method" in a.columns and mode in ("transit", "mixed"):
        items.append(
            "Public transport times: the chosen percentile of door-to-door time over every "
            "departure minute of the window (walking to and from stops, waiting, riding and "
            "changing), from a GTFS timetable or a published public transport matrix."
        )
    elif "travel_method" in a.columns:
        counts = a["travel_method"].astype(str).value_counts()
        n_straight = int(counts.get("straight_line", 0))
        if n_straight:
            items.append(
                f"Travel times: {n_straight:,} of {len(a):,} areas' nearest-centre times are "
                "straight-line estimates (distance ÷ speed × detour factor), not road routes."
            )
        else:
            network = facts["network"]
            if network == "demo":
                source = "the synthetic demo road network"
            elif network:
                source = f"the road network in {Path(str(network)).name} (OpenStreetMap)"
            else:
                source = "the road network"
            items.append(f"Travel times follow {source}, from each area to each site.")
    items += _demand_and_today(getattr(plan, "provenance", None))
    items.append(
        "Healthy life expectancy (HLE) is published for local authorities, not small areas: "
        "each area's HLE is an estimate from its authority's figure and the national "
        "deprivation gradient. Every HLE figure in this report is such an estimate."
    )
    if facts["deprivation_weight"] is not None:
        items.append(
            "Need: residents weighted up for deprivation (weight "
            f"{facts['deprivation_weight']:g}) and for the HLE gap (weight "
            f"{facts['hle_weight']:g})."
        )
    basis = str(getattr(plan, "population_basis", "") or "")
    if basis:
        items.append(basis)
    corr = _need_overlap(getattr(plan, "need_correlation", None))
    if corr:
        items.append(corr)
    if math.isfinite(facts["hours"]) and math.isfinite(facts["days"]):
        sizes = ", ".join(f"{n} ({r} rooms)" for n, r in facts["sizes"]) if facts["sizes"] else ""
        items.append(
            f"Capacity: centres open {facts['hours']:.0f} hours a day, {facts['days']:.0f} days "
            "a week; weekly capacity is clinical rooms × opening hours × appointments per "
            "room-hour, and staffing follows from the appointments offered"
            + (f". Size templates: {sizes}." if sizes else ".")
        )
    return items


def _need_overlap(corr: pd.DataFrame | None) -> str:
    """One sentence on the strongest correlation between two need terms (double counting)."""
    if corr is None or len(corr) < 2 or "term" not in corr.columns:
        return ""
    terms = corr["term"].astype(str).tolist()
    labels = dict(zip(terms, corr.get("label", corr["term"]).astype(str), strict=True))
    best: tuple[float, str, str] | None = None
    values = {
        t: pd.to_numeric(corr[t], errors="coerce").to_numpy(dtype=float)
        for t in terms
        if t in corr.columns
    }
    for i, a in enumerate(terms):
        for b in terms[i + 1 :]:
            r = float(values[b][i]) if b in values else float("nan")
            if math.isfinite(r) and (best is None or abs(r) > abs(best[0])):
                best = (r, a, b)
    if best is None:
        return ""
    r, a, b = best
    return (
        f"Need terms overlap: {labels[a]} and {labels[b]} correlate at {r:.2f} across the "
        "region's residents (the table of every pair is in the plan's need_correlation); a "
        "weight on both counts much the same need twice."
    )


def _demand_and_today(provenance: Mapping[str, Any] | None) -> list[str]:
    """The plan's demand basis and what "today" counts, in words (when recorded)."""
    p = dict(provenance or {})
    items = []
    if p.get("demand"):
        items.append(f"Demand — {str(p['demand']).removeprefix('demand: ')}.")
    if p.get("access_today"):
        today = str(p["access_today"]).removeprefix("today's access: ")
        items.append(
            "Before and today: 'before' counts the neighbourhood health centres already open; "
            f"'today' counts areas {today}: today's access to primary care, the baseline the "
            "plan adds to."
        )
    return items


def _sources(plan: PlanLike) -> tuple[list[list[str]], list[str]]:
    meta = plan.region_meta
    vintages = [[_input_label(k), str(v)] for k, v in sorted(dict(meta.vintages).items())]
    attribution = list(meta.attribution)
    if meta.synthetic:
        return vintages, attribution
    joined = " ".join(attribution)
    if "Open Government Licence" not in joined and "OGL" not in joined:
        attribution.append(
            "Contains public sector information licensed under the Open Government Licence "
            "v3.0 (ONS, MHCLG, OHID)."
        )
    if "OpenStreetMap" not in joined:
        attribution.append(
            "Road data © OpenStreetMap contributors, available under the Open Database "
            "Licence (ODbL)."
        )
    return vintages, attribution


def _input_label(key: str) -> str:
    labels = {"imd": "Deprivation (IMD)", "osm": "Roads"}
    return labels.get(key.lower(), source_label(key))


def _provenance_rows(provenance: Mapping[str, Any] | None) -> list[list[str]]:
    return [[key, str(value)] for key, value in _flatten(dict(provenance or {}))]


# --------------------------------------------------------------------------- entry point


def _require(plan: Any) -> None:
    for attr in ("centres", "assignments", "region_meta", "solver"):
        if not hasattr(plan, attr):
            msg = f"write_report: the plan has no attribute '{attr}' (see docs/architecture.md)"
            raise MissingColumnError(msg)
    for col in ("population", "imd_decile", "covered_before", "covered_after", "site_id"):
        if col not in plan.assignments.columns:
            msg = (
                f"write_report: plan.assignments has no column '{col}'; "
                f"found {list(plan.assignments.columns)}"
            )
            raise MissingColumnError(msg)
    for col in ("site_id", "name", "phase", "order"):
        if col not in plan.centres.columns:
            msg = (
                f"write_report: plan.centres has no column '{col}'; "
                f"found {list(plan.centres.columns)}"
            )
            raise MissingColumnError(msg)


def _neighbourhood_table(plan: PlanLike) -> _Table | None:
    """The neighbourhoods in opening order (plans made by the neighbourhood model)."""
    hoods = getattr(plan, "neighbourhoods", None)
    if hoods is None or len(hoods) == 0:
        return None
    from nhc_planner.model_neighbourhoods import neighbourhood_summary

    table = neighbourhood_summary(hoods).drop(columns=["neighbourhood_id"])
    table = table.rename(
        columns={
            "opening_rank": "order",
            "neighbourhood_name": "neighbourhood",
            "population": "residents",
            "hle_mean": "mean estimated HLE",
            "imd_mix": "share in IMD deciles 1-2",
            "site_name": "centre",
            "minutes_mean": "mean minutes to the centre",
            "share_beyond_cutoff": "share beyond the travel cutoff",
            "opening_year": "year",
        }
    )
    return _table(
        table,
        "Neighbourhoods and the order their centres open",
        "Year 0: served by a centre already open. Mean minutes: of the residents the "
        "centre reaches within the travel cutoff; the share beyond it is shown beside them.",
    )


def write_report(
    plan: PlanLike, folder: str | Path, *, pdf: bool = False, title: str | None = None
) -> Path:
    """Write the regional report of ``plan`` into ``folder``; return ``index.html``.

    Parameters
    ----------
    plan
        A :class:`nhc_planner.plan.Plan` (or an object with its documented attributes).
    folder
        Output folder, created if needed; existing report files are overwritten.
    pdf
        Also write ``report.pdf``. Needs the optional package WeasyPrint
        (``pip install weasyprint``).
    title
        Report title; default "Neighbourhood health centre plan: <region>".

    Returns
    -------
    pathlib.Path
        Path of ``folder/index.html``. The folder opens offline in any browser.

    Raises
    ------
    MissingColumnError
        If the plan lacks an attribute or column the report needs.
    NhcRuntimeError
        If ``pdf=True`` and WeasyPrint is not installed.
    """
    _require(plan)
    if pdf:
        try:
            import weasyprint  # type: ignore[import-not-found]
        except ImportError as exc:
            msg = (
                "write_report(pdf=True) needs the optional package 'weasyprint' "
                "(pip install weasyprint); it is not installed. The HTML report was not written."
            )
            raise NhcRuntimeError(msg) from exc
    import jinja2

    out = Path(folder)
    figures = out / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    meta = plan.region_meta
    region_name = meta.name
    facts = _scenario_facts(getattr(plan, "scenario", None))
    cov = _coverage(plan.assignments)

    static_map_png(plan, figures / "map.png")
    save_map(plan_map(plan), out / "map.html", offline="relative")
    phasing = _phasing_rows(plan)
    _phasing_chart(phasing, share(cov["before"], cov["total"]), figures / "phasing.png")
    _decile_chart(plan.assignments, figures / "equity_decile.png")
    curve: pd.DataFrame | None = getattr(plan, "coverage_curve", None)
    if curve is not None and (len(curve) < 2 or "share" not in curve.columns):
        curve = None
    has_curve = curve is not None
    n_new = int((pd.to_numeric(plan.centres["phase"], errors="coerce").fillna(0) > 0).sum())
    curve_note = ""
    if curve is not None:
        plan_share = share(cov["after"], cov["total"])  # the headline's figure
        _coverage_curve_chart(curve, n_new, plan_share, figures / "coverage_curve.png")
        shares = curve.sort_values("n_centres")["share"].astype(float).to_numpy()
        gains = np.diff(shares)
        if len(gains) >= 2:
            curve_note = (
                f"The first new centre adds {format_percent(gains[0], digits=1)} of residents; "
                f"the last one on the curve adds {format_percent(gains[-1], digits=1)}. "
                "The curve adds one site at a time, each where it reaches the most need; "
                f"the plan, optimised over all its years together, reaches "
                f"{format_percent(plan_share)} with {n_new} new centres (the red point)."
            )

    hle_note = (
        "HLE quintiles are population-weighted fifths of the estimated HLE of areas; "
        "areas with the same estimate always fall in the same fifth."
    )
    tables = [
        t
        for t in (
            _neighbourhood_table(plan),
            _table(
                getattr(plan, "kpis_by_decile", None), "Coverage by IMD decile (1 = most deprived)"
            ),
            _table(
                getattr(plan, "kpis_by_hle_quintile", None),
                "Coverage by healthy life expectancy quintile (1 = lowest HLE, estimated)",
                hle_note,
            ),
            _table(getattr(plan, "kpis_by_la", None), "Coverage by local authority"),
            _table(
                getattr(plan, "need_correlation", None),
                "Correlation between need terms (population-weighted)",
                "1 = the same ranking of areas; terms with a weight above 0 count in the need "
                "score, the others are shown for comparison.",
            ),
        )
        if t is not None
    ]
    vintages, attribution = _sources(plan)
    kpi_rows = _kpi_rows(plan)
    solver = dict(plan.solver)
    context = {
        "title": title or f"Neighbourhood health centre plan: {region_name}",
        "region": region_name,
        "synthetic": bool(meta.synthetic),
        "facts": facts,
        "standard_phrase": (
            f"{facts['standard']:.0f} minutes {_MODE_PHRASE.get(str(facts['mode']), '')}".strip()
            if math.isfinite(facts["standard"])
            else "the travel standard"
        ),
        "headline": _headline(plan, facts),
        "kpis": [k for k in kpi_rows if k["metric"] in _HEADLINE_KPIS] or kpi_rows[:6],
        "all_kpis": kpi_rows,
        "solver_text": solver_summary(solver),
        "solver_status": str(solver.get("status", "unknown")),
        "solver_rows": [
            ["Status", str(solver.get("status", "–"))],
            ["Objective", _format_cell("objective", solver.get("objective"))],
            ["Best bound", _format_cell("bound", solver.get("bound"))],
            ["Gap", format_percent(solver.get("gap"), digits=2)],
            ["Solve time", f"{_num(solver.get('solve_seconds')):.1f} s"],
        ],
        "phasing": [
            {
                **r,
                "gained_text": format_count(r["gained"]),
                "cumulative_text": format_count(r["cumulative"]),
                "share_text": format_percent(r["share"]),
                "capex_text": format_gbp(r["capex"]),
            }
            for r in phasing
        ],
        "before_text": f"{format_count(cov['before'])} "
        f"({format_percent(share(cov['before'], cov['total']))})",
        "cards": _centre_cards(plan),
        "staffing": _staffing_table(plan),
        "tables": tables,
        "has_curve": has_curve,
        "curve_note": curve_note,
        "method": _method(plan, facts),
        **_split_notes(meta.notes),
        "settings": _settings_rows(getattr(plan, "scenario", None)),
        "vintages": vintages,
        "attribution": attribution,
        "provenance": _provenance_rows(getattr(plan, "provenance", None)),
        "nhs_blue": NHS_BLUE,
    }
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_TEMPLATES),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    page = env.get_template("report.html.j2").render(**context)
    index = out / "index.html"
    atomic_write_text(index, page)  # a temporary file, then a rename
    if pdf:
        import weasyprint

        weasyprint.HTML(filename=str(index), base_url=str(out)).write_pdf(str(out / "report.pdf"))
    return index
