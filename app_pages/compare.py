"""Page 6: compare scenarios saved in this session (centres that differ, KPI deltas)."""

from __future__ import annotations

import streamlit as st

from app_pages import common
from nhc_planner import ui


def main() -> None:
    """The page."""
    common.page_header(
        "Compare scenarios",
        "Save the current scenario under a name, change the policy, save again, then compare.",
    )
    saved: dict = st.session_state.setdefault("saved", {})
    s = common.current_scenario()
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    name = c1.text_input("Save the current scenario as", value=s.name, key="save_name")
    if c2.button("Save", type="primary", key="save", width="stretch"):
        p = common.compute_plan(s)
        if p is not None:
            label = name.strip() or s.name
            saved[label] = (s.replace(name=label), p)
            st.success(f"Saved “{label}”.", icon=":material/bookmark_added:")
    if len(saved) < 2:
        st.info(
            f"{len(saved)} scenario(s) saved. Save at least two to compare them.",
            icon=":material/info:",
        )
        return
    names = list(saved)
    a_col, b_col = st.columns(2)
    a = a_col.selectbox("Scenario A", names, index=0, key="compare_a")
    b = b_col.selectbox("Scenario B", names, index=len(names) - 1, key="compare_b")
    result = ui.compare_plans(saved[a][1], saved[b][1])
    st.subheader("Indicators at the end of the plan")
    st.dataframe(result.kpis, hide_index=True, width="stretch")
    st.subheader("Centres")
    if not result.only_a and not result.only_b:
        st.success("Both scenarios open the same new centres.")
    else:
        st.markdown(
            f"**{len(result.only_a)}** new centre(s) only in A, **{len(result.only_b)}** only in B."
        )
    st.dataframe(result.centres, hide_index=True, width="stretch")


if __name__ == "__main__":
    main()
