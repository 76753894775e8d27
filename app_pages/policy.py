"""Page 3: set the policy (travel standard, how many centres, phasing, sites, weights, hours)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from app_pages import common
from nhc_planner import _format, ui
from nhc_planner.planning import model_labels
from nhc_planner.projections import projection_years
from nhc_planner.travel.words import standard_sentence

OBJECTIVES = {
    "weighted": "Reach the most need (weighted coverage)",
    "maxmin": "Lift the worst-served local authority (max-min)",
}
LIMITS = {"centres": "A number of new centres", "budget": "A capital budget per year"}
NEST = {
    "la": "Local authority boundaries",
    "sub_icb": "Sub-ICB boundaries (column sub_icb_code)",
    "none": "Nothing: neighbourhoods may cross boundaries",
}
ORDER = {"hle": "Lowest healthy life expectancy first", "need": "Highest need first"}
PT_SOURCES = {
    "timetable": "A bus timetable (GTFS)",
    "matrix": "A published public transport matrix",
}


def _init(values: dict[str, Any]) -> None:
    """Give each widget the current scenario's value the first time it is drawn."""
    for key, value in values.items():
        if key != "sizes" and key not in st.session_state:
            st.session_state[key] = value


def _suggestion(region: Any) -> str:
    """The region's share of the Plan's centres (120 by 2030, 250 by 2035), in words."""
    from nhc_planner.capacity import suggested_centres

    population = float(region.areas["population"].sum())
    by_2030 = suggested_centres(population, 2030)
    by_2035 = suggested_centres(population, 2035)
    return f"{by_2030.note} By 2035: about {by_2035.centres}."


def _neighbourhoods(areas: pd.DataFrame) -> None:
    """Bounds, nesting, order, hubs and an upload of the planner's own neighbourhoods."""
    st.subheader("Neighbourhoods")
    st.caption("Used by the neighbourhoods planning model: a centre for every neighbourhood.")
    lo, hi = st.columns(2)
    lo.number_input(
        "Fewest residents",
        0.0,
        1_000_000.0,
        step=5_000.0,
        format="%.0f",
        key="neighbourhoods.min_pop",
    )
    hi.number_input(
        "Most residents",
        1.0,
        1_000_000.0,
        step=5_000.0,
        format="%.0f",
        key="neighbourhoods.max_pop",
    )
    nest = dict(NEST)
    for column in areas.columns:
        if str(column).endswith("_code") and column not in ("area_code", "la_code", "icb_code"):
            nest.setdefault(str(column), f"Column {column}")
    current = str(st.session_state.get("neighbourhoods.nest", "la"))
    nest.setdefault(current, f"Column {current}")
    st.selectbox(
        "Neighbourhoods never cross",
        list(nest),
        format_func=nest.__getitem__,
        key="neighbourhoods.nest",
    )
    st.radio(
        "Which get their centre first",
        list(ORDER),
        format_func=ORDER.__getitem__,
        key="neighbourhoods.order",
    )
    h1, h2 = st.columns(2)
    h1.number_input(
        "Hubs (0 = a centre per neighbourhood)", 0, 500, step=1, key="neighbourhoods.hubs"
    )
    h2.number_input(
        "Hubs open by year (0 = by the phasing)", 0, 30, step=1, key="neighbourhoods.hubs_by_year"
    )
    upload = st.file_uploader(
        "Your own neighbourhoods (optional)",
        type=[s.lstrip(".") for s in ui.NEIGHBOURHOOD_SUFFIXES],
        key="neighbourhoods_upload",
        help="A CSV with columns area_code and neighbourhood, or polygons (GeoPackage or "
        "GeoJSON) with a neighbourhood column. Neighbourhoods outside the bounds are flagged.",
    )
    if upload is not None:
        try:
            path = ui.store_neighbourhoods_upload(upload.name, upload.getvalue())
        except Exception as exc:  # shown in words, never a traceback
            common.show_error(exc)
        else:
            st.session_state["neighbourhoods.file"] = str(path)
    elif st.session_state.get("neighbourhoods.file"):
        st.caption(f"Neighbourhoods from {st.session_state['neighbourhoods.file']}.")
        if st.button("Delineate neighbourhoods instead", key="neighbourhoods_clear"):
            st.session_state["neighbourhoods.file"] = ""


def _demand_widgets(region: Any) -> None:
    """Residents or GP registrations; anchor practices (when the region has registrations)."""
    has_reg = "registered_patients" in region.areas.columns
    st.radio(
        "Count demand as",
        ["residents", "registrations"],
        format_func=lambda b: "GP-registered patients" if b == "registrations" else "Residents",
        key="demand.basis",
        horizontal=True,
        disabled=not has_reg,
        help="GP registrations need the NHS England registrations file in the region."
        if not has_reg
        else "Registrations are scaled to the residents' total when corrected for list "
        "inflation (lists run about 10% above residents).",
    )
    if not has_reg:
        return
    st.checkbox("Correct for list inflation", key="demand.correct_list_inflation")
    sites = region.sites
    gp = sites[sites["kind"].astype(str).eq("gp_practice")]
    if "registered_list" in gp.columns:
        names = dict(zip(gp["site_id"].astype(str), gp["name"].astype(str), strict=True))
        st.multiselect(
            "Anchor practices (their whole list moves into the centre they join)",
            sorted(names, key=lambda sid: (names[sid], sid)),
            format_func=lambda sid: f"{names.get(sid, sid)} ({sid})",
            key="demand.anchor_practices",
        )


def _travel_widgets() -> None:
    """The travel standard: engine (from the registry), its modes, the minutes, its inputs."""
    st.subheader("Travel standard")
    engines = ui.travel_engine_choices()
    engine = st.selectbox(
        "How travel times are worked out",
        list(engines),
        format_func=engines.__getitem__,
        key="travel.engine",
    )
    modes = ui.travel_mode_choices(engine)
    if st.session_state.get("travel.mode") not in modes:
        st.session_state["travel.mode"] = next(iter(modes))
    st.selectbox("How people travel", list(modes), format_func=modes.__getitem__, key="travel.mode")
    st.slider(
        "Within reach means at most (minutes)",
        min_value=5.0,
        max_value=60.0,
        step=1.0,
        key="travel.standard_min",
        help="An area counts as covered when its residents can reach a centre within this "
        "time. For example 15 minutes' drive, or 20 minutes' walk.",
    )
    if engine in ("auto", "road", "mixed"):
        st.text_input(
            "Road network (file in the app's data folder, or demo)"
            + (" for households with a car" if engine == "mixed" else ""),
            key="travel.network",
            placeholder="empty: straight-line estimates",
            help="A GraphML, OSM XML/PBF or GeoPackage road network covering the region, "
            "or 'demo' for the demo region's synthetic roads. Empty: travel times are "
            "straight-line estimates (distance ÷ speed × detour factor).",
        )
    if engine == "matrix":
        st.text_input(
            "Travel-time matrix (CSV or Parquet file in the app's data folder)",
            key="travel.matrix",
            help="One row per area and site that can be reached: area_code, site_id, "
            "minutes; or a published LSOA-to-LSOA matrix (origin, destination, minutes, "
            "e.g. the Great Britain public transport travel time matrices), each site "
            "taking the times of the LSOA it stands in. Pairs not in the file count as "
            "out of reach.",
        )
    if engine == "mixed":
        _mixed_widgets()
    if engine in ("transit", "mixed"):
        _transit_widgets(engine)


def _mixed_widgets() -> None:
    """Where the no-car households' public transport times come from, and TS045."""
    st.caption(
        "Households with a car count by their drive time; households without one by bus or "
        "on foot, whichever is faster for them. The share without a car comes from the Census "
        "2021 table TS045 (car or van availability), uploaded with the region's data."
    )
    region = common.loaded_region()
    if region is not None and "households_no_car" not in region.areas.columns:
        st.warning(
            "This region has no car or van availability table (Census 2021 TS045): add it "
            "on page 1 to plan by the mixed mode.",
            icon=":material/directions_car:",
        )
    st.radio(
        "Public transport times from",
        list(PT_SOURCES),
        format_func=PT_SOURCES.__getitem__,
        key="pt_source",
    )
    if st.session_state.get("pt_source") == "matrix":
        st.session_state["travel.transit_feed"] = ""
        st.text_input(
            "Published public transport matrix (CSV or Parquet in the app's data folder)",
            key="travel.matrix",
            help="An LSOA-to-LSOA matrix (origin, destination, minutes; e.g. the Great "
            "Britain public transport travel time matrices) or area_code, site_id, minutes.",
        )
    else:
        st.session_state["travel.matrix"] = ""


def _transit_widgets(engine: str) -> None:
    """The bus timetable, its day, the departure window and the percentile counted."""
    if engine == "mixed" and st.session_state.get("pt_source") == "matrix":
        return
    st.text_input(
        "Bus timetable (GTFS zip or folder in the app's data folder)",
        key="travel.transit_feed",
        help="A GTFS feed as published by the Bus Open Data Service or an operator.",
    )
    left, mid, right = st.columns(3)
    left.text_input("Timetable day (YYYY-MM-DD)", key="travel.transit_day")
    mid.text_input(
        "Departures between",
        key="travel.transit_window",
        placeholder="08:00-20:00",
        help="One departure a minute in this window; empty: 08:00-20:00, the hours "
        "the centres open.",
    )
    right.slider(
        "Travel time counted (percentile)",
        min_value=10,
        max_value=90,
        step=5,
        key="travel.transit_percentile",
        help="50: the median over the departures, as R5 does. 80: a time met by 8 "
        "departures in 10.",
    )


def _solver_widgets(name: str) -> None:
    """Solver time and gap, stability runs, and the scenario's name."""
    with st.expander("Solver, stability check and scenario name"):
        st.slider(
            "Solver time limit (seconds)",
            1.0,
            120.0,
            step=1.0,
            key="solver.time_limit_s",
            help="When reached, the best plan found is used and its gap to the best "
            "possible is shown on page 5.",
        )
        st.radio(
            "How hard should the solver work?",
            options=[0.005, 0.0],
            format_func=lambda g: (
                "Prove the best plan (exact; can take longer on large regions)"
                if g == 0
                else "Within 0.5% of the best plan (faster re-planning)"
            ),
            key="solver.gap_tolerance",
            help="Either way, page 5 states whether the plan was proven optimal or its "
            "proven distance from the best possible.",
        )
        st.slider(
            "Stability runs (re-plan with need perturbed; 0 = off)",
            0,
            30,
            key="solver.sensitivity_runs",
            help="Each run re-solves the plan; more runs take longer.",
        )
        st.text_input("Scenario name", value=name, key="scenario_name")


def main() -> None:
    """The page."""
    common.page_header(
        "Set the policy",
        "What counts as within reach, how many centres over how many years, and what matters "
        "most. Changes apply at once; the plan on page 4 follows them.",
    )
    region = common.loaded_region()
    if region is None:
        return
    base = common.current_scenario()
    values = ui.policy_values(base)
    _init(values)
    if "pt_source" not in st.session_state:
        only_matrix = base.travel.matrix is not None and base.travel.transit_feed is None
        st.session_state["pt_source"] = "matrix" if only_matrix else "timetable"
    if "sizes_editor" not in st.session_state:
        st.session_state["sizes_base"] = values["sizes"]

    left, right = st.columns(2, gap="large")
    with left:
        _travel_widgets()
        st.subheader("How many centres, and when")
        limit_by = st.radio(
            "Limit the plan by", list(LIMITS), format_func=LIMITS.__getitem__, key="limit_by"
        )
        if limit_by == "centres":
            st.number_input(
                "New centres in all", min_value=0, max_value=200, step=1, key="total_new"
            )
        else:
            st.number_input(
                "Capital budget per year (£)",
                min_value=0.0,
                step=500_000.0,
                format="%.0f",
                key="budget_per_year_gbp",
                help="Each centre costs its size's capital cost.",
            )
        st.slider("Over how many years", min_value=1, max_value=10, key="phasing.years")
        if projection_years(region.areas):
            st.radio(
                "Population of each year",
                ["census", "projection"],
                format_func={
                    "census": "Census 2021 residents",
                    "projection": "projected for that year (ONS 2022-based)",
                }.__getitem__,
                key="phasing.population",
                horizontal=True,
                help="Weigh each year's coverage with the population projected for that year, "
                "apportioned to small areas by their age structure.",
            )
            st.number_input(
                "Year 1 of the plan", min_value=2000, max_value=2100, step=1,
                key="phasing.first_year",
            )  # fmt: skip
        st.caption(f"Suggestion: {_suggestion(region)}")
        st.subheader("Sites")
        sites = region.sites
        names = dict(zip(sites["site_id"].astype(str), sites["name"].astype(str), strict=True))
        options = sorted(names, key=lambda sid: (names[sid], sid))

        def site_label(sid: str) -> str:
            return f"{names.get(sid, sid)} ({sid})"

        st.multiselect(
            "Keep (must open, in year 1)", options, format_func=site_label, key="policy.keep"
        )
        st.multiselect(
            "Exclude (never chosen)", options, format_func=site_label, key="policy.exclude"
        )
    with right:
        st.subheader("What matters most")
        st.slider(
            "Weight of deprivation",
            0.0,
            5.0,
            step=0.1,
            key="need.deprivation_weight",
            help="0 ignores deprivation; 1 counts a resident of IMD decile 1 twice.",
        )
        st.slider(
            "Weight of the healthy-life-expectancy gap",
            0.0,
            5.0,
            step=0.1,
            key="need.hle_weight",
            help="0 ignores HLE; higher gives more weight to areas where healthy life is short.",
        )
        st.slider(
            "Equity floor: most deprived residents within reach at least (%)",
            0,
            100,
            step=5,
            key="equity_floor_pct",
            help=f"0 = no floor. Most deprived = IMD deciles 1–{base.need.most_deprived_deciles}.",
        )
        st.radio(
            "Objective",
            list(OBJECTIVES),
            format_func=OBJECTIVES.__getitem__,
            key="policy.objective",
        )
        models = model_labels()
        st.selectbox(
            "Planning model",
            list(models),
            format_func=lambda name: models.get(name, name),
            key="policy.model",
            help="The model that decides which sites open, when and at what size.",
        )
        _demand_widgets(region)
        _neighbourhoods(region.areas)
        st.subheader("Centres")
        h, d = st.columns(2)
        h.slider("Opening hours per day", 4.0, 24.0, step=1.0, key="capacity.hours_per_day")
        d.slider("Days per week", 1, 7, key="capacity.days_per_week")
        st.caption("Size templates (capital and running costs follow from the rooms):")
        edited = st.data_editor(
            pd.DataFrame(st.session_state["sizes_base"]),
            num_rows="dynamic",
            key="sizes_editor",
            hide_index=True,
            column_config={
                "name": st.column_config.TextColumn("Size", required=True),
                "rooms": st.column_config.NumberColumn(
                    "Clinical rooms", min_value=1, max_value=500, step=1, required=True
                ),
            },
        )
        _solver_widgets(base.name)

    chosen = {k: st.session_state[k] for k in values if k != "sizes" and k in st.session_state}
    chosen["sizes"] = edited.to_dict("records")
    try:
        scenario = ui.scenario_from_values(base, chosen)
        name = str(st.session_state.get("scenario_name") or base.name).strip()
        scenario = scenario.replace(name=name or "Unnamed scenario")
    except Exception as exc:  # shown in words, never a traceback
        common.show_error(exc)
        return
    st.session_state["scenario"] = scenario
    total = scenario.phasing.total_centres
    amount = (
        f"{total} new centres"
        if total is not None
        else f"{_format.format_gbp(scenario.phasing.budget_per_year_gbp)} of capital a year"
    )
    st.success(
        f"**{scenario.name}:** {amount} over {scenario.phasing.years} years; an area is within "
        f"reach when it is {standard_sentence(scenario.travel)}.",
        icon=":material/check:",
    )
    st.page_link("app_pages/plan.py", label="Next: get the plan", icon=":material/arrow_forward:")


if __name__ == "__main__":
    main()
