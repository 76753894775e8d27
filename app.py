"""nhc-planner: the Streamlit planner app.

Run with ``streamlit run app.py`` (see ``docs/app.md``). The app is a thin
shell over the Python API: each page in ``app_pages/`` holds widgets and
cached calls; the computation lives in :mod:`nhc_planner`.
"""

from __future__ import annotations

import numpy as np
import streamlit as st
from PIL import Image

from app_pages import common


def _favicon() -> Image.Image:
    """A white cross on NHS blue, drawn here so that no icon is fetched from the internet."""
    icon = np.empty((32, 32, 3), dtype=np.uint8)
    icon[:] = (0, 94, 184)
    icon[6:26, 13:19] = 255
    icon[13:19, 6:26] = 255
    return Image.fromarray(icon)


st.set_page_config(
    page_title="NHC planner",
    page_icon=_favicon(),
    layout="wide",
    initial_sidebar_state="expanded",
)

pages = [
    st.Page("app_pages/area.py", title="1. Choose the area", icon=":material/map:", default=True),
    st.Page("app_pages/need.py", title="2. See the need", icon=":material/layers:"),
    st.Page("app_pages/policy.py", title="3. Set the policy", icon=":material/tune:"),
    st.Page("app_pages/plan.py", title="4. Get the plan", icon=":material/location_on:"),
    st.Page("app_pages/judge.py", title="5. Judge it", icon=":material/monitoring:"),
    st.Page("app_pages/compare.py", title="6. Compare scenarios", icon=":material/compare:"),
    st.Page("app_pages/export.py", title="7. Take it away", icon=":material/download:"),
]
page = st.navigation(pages)
common.sidebar()
page.run()
