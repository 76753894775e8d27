"""Page 5: judge the plan (KPIs, coverage curve, phasing, capacity, solver, stability)."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from app_pages import common
from nhc_planner import _format, maps, ui
from nhc_planner.report import solver_summary

BLUE = maps.NHS_BLUE
ORANGE = "#E69F00"


def coverage_chart(curve: pd.DataFrame, chosen: int, plan_share: float) -> alt.Chart:
    """Share within reach against the number of new centres; this plan at its own share."""
    data = curve.assign(
        share_pct=100 * curve["share"],
        people=curve["population_covered"].map(_format.format_count),
    )
    base = alt.Chart(data).encode(
        x=alt.X("n_centres:Q", title="New centres", axis=alt.Axis(tickMinStep=1)),
        y=alt.Y(
            "share_pct:Q", title="Residents within the standard (%)", scale=alt.Scale(zero=False)
        ),
        tooltip=[
            alt.Tooltip("n_centres:Q", title="New centres"),
            alt.Tooltip("people:N", title="Residents within reach"),
            alt.Tooltip("share_pct:Q", title="Share (%)", format=".1f"),
        ],
    )
    line = base.mark_line(color=BLUE, point=alt.OverlayMarkDef(color=BLUE, size=40))
    here = pd.DataFrame(
        {"n_centres": [chosen], "share_pct": [100 * plan_share], "what": ["This plan"]}
    )
    mark = (
        alt.Chart(here)
        .mark_point(color=ORANGE, size=220, filled=True, shape="diamond")
        .encode(
            x="n_centres:Q",
            y="share_pct:Q",
            tooltip=[
                alt.Tooltip("what:N", title=""),
                alt.Tooltip("share_pct:Q", title="Share (%)", format=".1f"),
            ],
        )
    )
    return (line + mark).properties(height=300)


def main() -> None:
    """The page."""
    common.page_header(
        "Judge the plan",
        "What the plan achieves, how sure the solver is, what it needs in rooms and staff.",
    )
    s = common.current_scenario()
    p = common.compute_plan(s)
    if p is None:
        return
    cards = ui.kpi_cards(p)
    cols = [*st.columns(2), *st.columns(2)]
    for col, card in zip(cols, cards, strict=True):
        col.metric(
            card.label,
            card.value,
            delta=card.delta,
            delta_color=card.delta_color,  # type: ignore[arg-type]
            help=card.help,
            border=True,
        )
    no_car = ui.no_car_card(p)
    if no_car is not None:
        st.metric(
            no_car.label,
            no_car.value,
            delta=no_car.delta,
            delta_color=no_car.delta_color,  # type: ignore[arg-type]
            help=no_car.help,
            border=True,
        )
    words = solver_summary(p.solver)
    if p.solver.get("status") == "optimal":
        st.success(words, icon=":material/verified:")
    else:
        st.warning(words, icon=":material/schedule:")
    capacity_words = p.capacity_line()
    if capacity_words.startswith("Capacity NOT applied"):
        st.error(capacity_words, icon=":material/warning:")
    else:
        st.info(capacity_words, icon=":material/meeting_room:")
    if p.unmet is not None and p.unmet.total > 0.5:
        with st.expander(f"Unmet demand: {p.unmet.total:,.0f} weekly appointments"):
            st.caption(
                "Weekly appointments no centre can serve within the standard and its capacity "
                "in the final year, by IMD decile (1 = most deprived), HLE fifth and authority."
            )
            st.dataframe(p.unmet.by_imd_decile, hide_index=True, width="stretch")
            st.dataframe(p.unmet.by_hle_quintile, hide_index=True, width="stretch")
            st.dataframe(p.unmet.by_authority, hide_index=True, width="stretch")
    if p.population_basis:
        st.caption(p.population_basis)
    if p.need_correlation is not None and len(p.need_correlation) > 1:
        with st.expander("Need terms: how much they overlap"):
            st.caption(
                "Population-weighted correlation between the need terms (1 = the same ranking "
                "of areas). Two terms in use that correlate highly count the same need twice."
            )
            st.dataframe(p.need_correlation.round(2), hide_index=True, width="stretch")
    stability = ui.stability_words(p)
    if stability is not None:
        st.info(f"**Stability:** {stability}", icon=":material/balance:")
    else:
        st.caption("Stability not checked: set stability runs on page 3 to test it.")

    left, right = st.columns(2, gap="large")
    with left:
        st.subheader("Diminishing returns")
        st.caption(
            "Share of residents within the standard against the number of new centres "
            "(each step adds the site that reaches the most need). The diamond is this plan, "
            "optimised over all its years together, at the share in the headline."
        )
        chosen = len(p.new_centres)
        plan_share = p.kpi("share_covered")
        st.altair_chart(coverage_chart(p.coverage_curve, chosen, plan_share), width="stretch")
    with right:
        st.subheader("By deprivation")
        d = p.kpis_by_decile
        data = pd.concat(
            [
                pd.DataFrame(
                    {"decile": d["imd_decile"], "when": "Before", "share": d["share_before"]}
                ),
                pd.DataFrame(
                    {"decile": d["imd_decile"], "when": "After", "share": d["share_after"]}
                ),
            ]
        ).assign(pct=lambda f: 100 * f["share"])
        st.caption("Share within the standard by IMD decile (1 = most deprived).")
        chart = (
            alt.Chart(data)
            .mark_bar()
            .encode(
                x=alt.X("decile:O", title="IMD decile"),
                xOffset="when:N",
                y=alt.Y("pct:Q", title="Within the standard (%)"),
                color=alt.Color(
                    "when:N",
                    scale=alt.Scale(domain=["Before", "After"], range=["#AEB7BD", BLUE]),
                    title=None,
                ),
                tooltip=["decile", "when", alt.Tooltip("pct:Q", format=".1f", title="%")],
            )
            .properties(height=300)
        )
        st.altair_chart(chart, width="stretch")

    st.subheader("Phasing")
    by_year = ui.coverage_by_year(p).assign(
        pct=lambda f: 100 * f["share"],
        label=lambda f: ["Now" if y == 0 else f"Year {y}" for y in f["year"]],
    )
    timeline = (
        alt.Chart(by_year)
        .mark_bar(color=BLUE)
        .encode(
            x=alt.X("label:N", title=None, sort=None, axis=alt.Axis(labelAngle=0)),
            y=alt.Y("pct:Q", title="Within the standard (%)", scale=alt.Scale(domain=[0, 100])),
            tooltip=[
                alt.Tooltip("label:N", title="When"),
                alt.Tooltip("pct:Q", title="Within the standard (%)", format=".1f"),
                alt.Tooltip("new_centres:Q", title="Centres opening"),
            ],
        )
        .properties(height=220)
    )
    chart_col, table_col = st.columns([1, 2], gap="large")
    chart_col.caption("Residents within the standard at the end of each year.")
    chart_col.altair_chart(timeline, width="stretch")
    table_col.dataframe(ui.phasing_table(p), hide_index=True, width="stretch")
    st.subheader("Capacity and staffing per centre")
    st.caption(
        f"Centres open {s.capacity.hours_per_day:g} hours a day, {s.capacity.days_per_week} days "
        "a week. Staff in whole-time equivalents (WTE)."
    )
    st.dataframe(ui.capacity_table(p), hide_index=True, width="stretch")
    st.page_link(
        "app_pages/compare.py", label="Next: compare scenarios", icon=":material/arrow_forward:"
    )


if __name__ == "__main__":
    main()
