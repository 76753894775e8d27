"""Page 2: see the need (areas by need score, IMD decile or estimated HLE; sites by kind)."""

from __future__ import annotations

import streamlit as st

from app_pages import common
from nhc_planner import _format

COLOUR_BY = {
    "need_score": "Need score",
    "imd_decile": "IMD decile",
    "hle_years": "Healthy life expectancy (estimate)",
}
HELP = {
    "need_score": "Residents weighted by deprivation and by the gap in healthy life "
    "expectancy (weights on page 3). Darker = more need.",
    "imd_decile": "National Index of Multiple Deprivation decile; 1 (darkest) = the most "
    "deprived 10% of areas in England.",
    "hle_years": "Healthy life expectancy at birth, estimated per area from the local "
    "authority's published figure and the national deprivation gradient. Darker = shorter.",
}


def main() -> None:
    """The page."""
    common.page_header(
        "See the need",
        "Where need is greatest, and where the existing sites are. Hover over an area for "
        "its figures; click it for more.",
    )
    region = common.loaded_region()
    if region is None:
        return
    s = common.current_scenario()
    colour_by = st.radio(
        "Colour the areas by",
        list(COLOUR_BY),
        format_func=COLOUR_BY.__getitem__,
        horizontal=True,
        key="need_colour_by",
    )
    st.caption(HELP[colour_by])
    try:
        common.show_map(common.need_map(colour_by), key="need_map")
    except Exception as exc:  # shown in words, never a traceback
        common.show_error(exc)
    a = region.areas
    dep = a["imd_decile"] <= s.need.most_deprived_deciles
    c1, c2, c3 = st.columns(3)
    c1.metric("Residents", _format.format_count(a["population"].sum()))
    c2.metric(
        f"In IMD deciles 1–{s.need.most_deprived_deciles}",
        _format.format_percent(a.loc[dep, "population"].sum() / max(a["population"].sum(), 1)),
    )
    hle = (a["hle_years"] * a["population"]).sum() / max(a["population"].sum(), 1)
    c3.metric("Healthy life expectancy (estimate, mean)", _format.format_years(hle))
    st.page_link(
        "app_pages/policy.py", label="Next: set the policy", icon=":material/arrow_forward:"
    )


if __name__ == "__main__":
    main()
