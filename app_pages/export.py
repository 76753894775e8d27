"""Page 7: take it away (plan as CSV and GeoJSON, the HTML report, the scenario as TOML)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from app_pages import common
from nhc_planner import ui


def _download(label: str, **kwargs: Any) -> None:
    """A download button that does not rerun the page when clicked.

    A rerun would serialise every file on the page again.
    """
    st.download_button(label, on_click="ignore", **kwargs)


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
    # The report is only built when its button is clicked (data is a callable).
    c1, c2 = st.columns(2, gap="large")
    with c1:
        st.subheader("The plan")
        _download(
            "Centres (CSV)",
            data=ui.centres_csv(p),
            file_name=f"{stem}-centres.csv",
            mime="text/csv",
            icon=":material/table:",
            key="dl_centres",
            help="One row per centre: opening year and order, size, capacity, staff, why.",
        )
        _download(
            "Areas (CSV)",
            data=ui.areas_csv(p),
            file_name=f"{stem}-areas.csv",
            mime="text/csv",
            icon=":material/table:",
            key="dl_areas",
            help="One row per area: nearest centre, travel time, within reach before and after.",
        )
        _download(
            "Map layers (GeoJSON)",
            data=ui.plan_geojson(p),
            file_name=f"{stem}.geojson",
            mime="application/geo+json",
            icon=":material/map:",
            key="dl_geojson",
            help="Centres and areas in WGS84, for QGIS or ArcGIS (property 'layer').",
        )
    with c2:
        st.subheader("The report and the settings")
        _download(
            "Report (HTML, zipped)",
            data=lambda: ui.report_zip(p),
            file_name=f"{stem}-report.zip",
            mime="application/zip",
            icon=":material/description:",
            key="dl_report",
            help="Unzip and open index.html in any browser; works offline.",
        )
        _download(
            "Scenario (TOML)",
            data=ui.scenario_toml(s),
            file_name=f"{stem}.toml",
            mime="application/toml",
            icon=":material/settings:",
            key="dl_scenario",
            help="Re-run with: nhc-planner plan --region FOLDER --scenario FILE --out OUT",
        )
        where = "--demo" if common.region_key().startswith("demo:") else "--region REGION_FOLDER"
        st.caption("To re-run this plan from the command line:")
        st.code(f"nhc-planner plan {where} --scenario {stem}.toml --out plan-out", wrap_lines=True)


if __name__ == "__main__":
    main()
