"""Page 7: take it away (plan as CSV and GeoJSON, the HTML report, the scenario as TOML)."""

from __future__ import annotations

import streamlit as st

from app_pages import common
from nhc_planner import ui


def main() -> None:
    """The page."""
    common.page_header(
        "Take it away",
        "Download the plan, its report and its settings. The scenario file re-runs the same "
        "plan from the command line.",
    )
    s = common.current_scenario()
    p = common.compute_plan(s)
    if p is None:
        return
    stem = ui.safe_filename(f"{p.region_meta.name} {s.name}")
    # The buttons use on_click="ignore": a download does not rerun the page (which would
    # serialise every file again); the report is only built when its button is clicked.
    c1, c2 = st.columns(2, gap="large")
    with c1:
        st.subheader("The plan")
        st.download_button(
            "Centres (CSV)",
            data=ui.centres_csv(p),
            file_name=f"{stem}-centres.csv",
            mime="text/csv",
            icon=":material/table:",
            key="dl_centres",
            on_click="ignore",
            help="One row per centre: opening year and order, size, capacity, staff, why.",
        )
        st.download_button(
            "Areas (CSV)",
            data=ui.areas_csv(p),
            file_name=f"{stem}-areas.csv",
            mime="text/csv",
            icon=":material/table:",
            key="dl_areas",
            on_click="ignore",
            help="One row per area: nearest centre, travel time, within reach before and after.",
        )
        st.download_button(
            "Map layers (GeoJSON)",
            data=ui.plan_geojson(p),
            file_name=f"{stem}.geojson",
            mime="application/geo+json",
            icon=":material/map:",
            key="dl_geojson",
            on_click="ignore",
            help="Centres and areas in WGS84, for QGIS or ArcGIS (property 'layer').",
        )
    with c2:
        st.subheader("The report and the settings")
        st.download_button(
            "Report (HTML, zipped)",
            data=lambda: ui.report_zip(p),
            file_name=f"{stem}-report.zip",
            mime="application/zip",
            icon=":material/description:",
            key="dl_report",
            on_click="ignore",
            help="Unzip and open index.html in any browser; works offline.",
        )
        st.download_button(
            "Scenario (TOML)",
            data=ui.scenario_toml(s),
            file_name=f"{stem}.toml",
            mime="application/toml",
            icon=":material/settings:",
            key="dl_scenario",
            on_click="ignore",
            help="Re-run with: nhc-planner plan --region FOLDER --scenario FILE --out OUT",
        )
        where = "--demo" if common.region_key().startswith("demo:") else "--region REGION_FOLDER"
        st.caption("To re-run this plan from the command line:")
        st.code(f"nhc-planner plan {where} --scenario {stem}.toml --out plan-out", wrap_lines=True)


if __name__ == "__main__":
    main()
