"""Page 4: get the plan (map of centres by opening order and phase; why each was chosen)."""

from __future__ import annotations

import streamlit as st

from app_pages import common
from nhc_planner import _format, maps, ui

COLOUR_BY = {
    "catchment": "Catchment of each centre",
    "coverage": "When each area comes within reach",
    "utilisation": "How full each centre is",
    "need_score": "Need score",
    "imd_decile": "IMD decile",
}


def main() -> None:
    """The page."""
    common.page_header(
        "Get the plan",
        "Proposed centres numbered in opening order and coloured by year. Click a centre to see "
        "why it was chosen.",
    )
    s = common.current_scenario()
    p = common.compute_plan(s)
    if p is None:
        st.page_link("app_pages/policy.py", label="Change the policy", icon=":material/tune:")
        return
    new = p.new_centres
    per_year = new["phase"].astype(int).value_counts().sort_index()
    by_year = ", ".join(f"year {y}: {n}" for y, n in per_year.items())
    st.markdown(
        f"**{len(new)} new centres**: {p.openings()} ({by_year}); "
        f"{int((p.centres['status'] == 'existing').sum())} already open. "
        f"{_format.format_percent(p.kpi('share_covered'))} of residents within "
        f"{s.travel.standard_min:g} minutes' {s.travel.mode} of a neighbourhood health centre "
        f"({_format.format_percent(p.kpi('share_covered', 'before'))} within reach of the centres "
        "open today)."
    )
    today = ui.today_access_words(p)
    if today:
        st.markdown(f"**What the plan adds to what exists.** {today}")
    estimated = int(p.provenance.get("areas_straight_line", 0) or 0)
    if estimated:
        st.caption(
            f"Travel times of {estimated:,} of {len(p.assignments):,} areas are straight-line "
            "estimates (no road network close enough)."
        )
    colour_by = st.radio(
        "Colour the areas by",
        list(COLOUR_BY),
        format_func=COLOUR_BY.__getitem__,
        horizontal=True,
        key="plan_colour_by",
    )
    try:
        context = common.map_context(s.travel.network)
        layers = common.cached_layers(
            "plan",
            (ui.plan_key(s), colour_by, s.travel.network, s.travel.mode),
            lambda: maps.plan_layers(p, colour_by=colour_by, context=context),
        )
        common.show_map(layers, key="plan_map", height=600)
    except Exception as exc:  # shown in words, never a traceback
        common.show_error(exc)
    over = ui.over_capacity_words(p)
    if over:
        st.warning(over, icon=":material/warning:")

    hoods = ui.neighbourhood_rows(p)
    if hoods is not None:
        st.subheader("Neighbourhoods and the order their centres open")
        st.caption(str(p.solver.get("message", "")))
        st.dataframe(hoods, hide_index=True, width="stretch")

    st.subheader("Why each centre was chosen")
    if new.empty:
        st.info("This plan opens no new centres.")
    else:
        labels = dict(
            zip(new["site_id"].astype(str), ui.centre_labels(new, p.assignments), strict=True)
        )
        sid = st.selectbox("Centre", list(labels), format_func=labels.__getitem__, key="why_centre")
        row = new[new["site_id"].astype(str) == sid].iloc[0]
        st.info(str(row["why"]), icon=":material/lightbulb:")
        c1, c2, c3, c4 = st.columns(4)
        c1.metric("Residents newly within reach", _format.format_count(row["pop_newly_covered"]))
        c2.metric("of whom most deprived", _format.format_count(row["pop_newly_covered_imd12"]))
        c3.metric("Catchment HLE (estimate)", _format.format_years(row["catchment_hle_mean"]))
        c4.metric(
            "Clinical rooms",
            _format.format_count(row["rooms"]),
            help=f"Size template: {row['size']}.",
        )
    st.page_link("app_pages/judge.py", label="Next: judge it", icon=":material/arrow_forward:")


if __name__ == "__main__":
    main()
