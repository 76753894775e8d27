"""State and cached calls shared by the app's pages (widgets and calls only, no computation).

Session state keys:

``region_key``
    ``"demo:<seed>"``, ``"folder:<path>"`` or ``"upload:<sha256>"``.
``uploaded_region``
    The Region built from uploads in this session.
``scenario``
    The current :class:`~nhc_planner.scenario.Scenario`.
``saved``
    Named scenarios saved for comparison: ``name -> (Scenario, Plan)``.
``tiles``
    Basemap tile URL, or None (offline: no basemap).

Results (regions, travel times, plans, map layers; never folium maps) are kept in
:class:`nhc_planner.ui.ResultCache` stores held by ``st.cache_resource``, so
they are shared between sessions and survive reruns, and the computation
runs in the page's own script run where it can drive a progress bar.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st
from streamlit_folium import st_folium

from nhc_planner import _format, maps, ui
from nhc_planner._errors import ValueRangeError
from nhc_planner.network import load_network
from nhc_planner.plan import Plan, compute_travel, plan
from nhc_planner.region import Region
from nhc_planner.scenario import Scenario

DEMO_KEY = "demo:0"
OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"


@st.cache_resource(show_spinner=False)
def stores() -> dict[str, ui.ResultCache]:
    """The app-wide result stores (one per kind of result)."""
    return {
        "region": ui.ResultCache(4),
        "travel": ui.ResultCache(6),
        "plan": ui.ResultCache(32),
        "map": ui.ResultCache(24),
        "context": ui.ResultCache(4),
    }


def region_key() -> str:
    """The key of the region in use (the demo region by default)."""
    key: str = st.session_state.setdefault("region_key", DEMO_KEY)
    return key


def _load_region(key: str) -> Region:
    if key.startswith("demo:"):
        from nhc_planner.demo import demo_region

        return demo_region(seed=int(key.split(":", 1)[1]))
    if key.startswith("folder:"):
        return Region.load(key.split(":", 1)[1])
    msg = f"region {key!r} is no longer available; choose the area again on page 1"
    raise ValueRangeError(msg)


def current_region() -> Region:
    """The region in use, loaded (and cached) on first use."""
    key = region_key()
    if key.startswith("upload:"):
        uploaded: Region | None = st.session_state.get("uploaded_region")
        if uploaded is not None:
            return uploaded
        st.session_state["region_key"] = key = DEMO_KEY
    store = stores()["region"]
    region: Region | None = store.get(key)
    if region is None:
        label = "Generating the demo region…" if key.startswith("demo:") else "Loading the region…"
        with st.spinner(label):
            region = store.get_or_compute(key, lambda: _load_region(key))
    return region


def use_region(key: str, region: Region | None = None) -> None:
    """Switch to another region and reset the scenario to its defaults."""
    st.session_state["region_key"] = key
    if region is not None:
        if key.startswith("upload:"):
            st.session_state["uploaded_region"] = region
        else:
            stores()["region"].put(key, region)
    st.session_state.pop("scenario", None)
    st.session_state["saved"] = {}


def default_scenario(key: str) -> Scenario:
    """Default settings for a region: the demo uses its own synthetic road network.

    The app accepts plans proven within 0.5% of the best (``solver.gap_tolerance``)
    so that re-planning stays quick; the policy page offers the exact solve.
    """
    base = Scenario(name="Default scenario").replace(**{"solver.gap_tolerance": 0.005})
    if key.startswith("demo:"):
        return base.replace(**{"travel.network": "demo"})
    return base


def current_scenario() -> Scenario:
    """The scenario in use (the region's default until the policy page changes it)."""
    s: Scenario | None = st.session_state.get("scenario")
    if s is None:
        s = default_scenario(region_key())
        st.session_state["scenario"] = s
    return s


def compute_plan(scenario: Scenario | None = None) -> Plan | None:
    """The plan of the current region under ``scenario`` (default: the current one).

    Travel times are stored per region, engine, mode, cutoff and engine inputs, so changing
    weights, the number of centres or the standard does not recompute them.
    Shows a progress bar while computing and ``st.error`` (never a traceback)
    when the plan cannot be made; returns None then.
    """
    s = scenario if scenario is not None else current_scenario()
    key = region_key()
    store = stores()
    pkey = (key, ui.plan_key(s))
    cached: Plan | None = store["plan"].get(pkey)
    if cached is not None:
        return cached
    bar = st.progress(0.0, text="Planning…")

    def progress(stage: str, fraction: float) -> None:
        value, words = ui.overall_progress(stage, fraction)
        bar.progress(value, text=words)

    try:
        region = current_region()
        t = s.travel
        tkey = (key, t.engine, t.mode, t.cutoff_min, t.network, t.matrix)
        travel = store["travel"].get_or_compute(
            tkey, lambda: compute_travel(region, t, progress=progress)
        )
        result: Plan = store["plan"].get_or_compute(
            pkey, lambda: plan(region, s, travel=travel, progress=progress)
        )
    except Exception as exc:  # shown to the planner in words, never as a traceback
        bar.empty()
        show_error(exc)
        return None
    bar.empty()
    return result


def show_error(exc: BaseException) -> None:
    """Show ``exc`` to the planner in words (never a traceback)."""
    st.error(ui.friendly_error(exc), icon=":material/error:")


def loaded_region() -> Region | None:
    """The region in use, or None after showing in words why it cannot be loaded."""
    try:
        return current_region()
    except Exception as exc:  # shown in words, never a traceback
        show_error(exc)
        return None


def static_base_url() -> str:
    """URL of the app's static folder (honours ``server.baseUrlPath``)."""
    prefix = str(st.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{prefix}/app/static" if prefix else "/app/static"


def tiles() -> str | None:
    """Basemap tile URL when the planner switched tiles on, else None (offline)."""
    value: str | None = st.session_state.get("tiles")
    return value


def show_map(layers: maps.MapLayers, *, key: str, height: int = 560) -> None:
    """Draw a fresh folium map of ``layers`` with Leaflet served by the app itself.

    A new :class:`folium.Map` is made for every render (only the layers are
    cached): ``st_folium`` rewrites the ids of the map it renders, so a map
    object drawn a second time (a reload, a direct link, another session)
    comes out blank.
    """
    m = maps.draw_map(layers, tiles=tiles())
    maps.use_local_assets(m, base_url=static_base_url())
    st_folium(
        m,
        key=key,
        height=height,
        use_container_width=True,
        returned_objects=[],
    )


def cached_layers(kind: str, parts: tuple[Any, ...], build: Any) -> maps.MapLayers:
    """Map layers from the map store (plain data shared by sessions), built on first use."""
    layers: maps.MapLayers = stores()["map"].get_or_compute((kind, region_key(), *parts), build)
    return layers


def map_context(network: str | None = None) -> maps.MapContext:
    """Offline map context of the current region: outlines, place names and main roads.

    Roads come from ``network`` (a scenario's ``travel.network``; default the
    current scenario's), when it is set and can be read; without one the map
    still has outlines and place names.
    """
    region = current_region()
    s = current_scenario()
    source = s.travel.network if network is None else network
    mode = s.travel.mode

    def build() -> maps.MapContext:
        roads = None
        if source:
            try:
                roads = load_network(source, mode=mode)
            except Exception:  # no roads on the map is better than no map
                roads = None
        return maps.map_context(region.areas, roads=roads)

    context: maps.MapContext = stores()["context"].get_or_compute(
        (region_key(), source, mode), build
    )
    return context


def need_map(colour_by: str) -> maps.MapLayers:
    """Layers of the current region's need map coloured by ``colour_by`` (cached per weights)."""
    region = current_region()
    s = current_scenario()
    context = map_context()
    return cached_layers(
        "need",
        (colour_by, repr(s.need), s.travel.network, s.travel.mode),
        lambda: maps.need_layers(region, colour_by=colour_by, need_weights=s.need, context=context),
    )


def sidebar() -> None:
    """The sidebar: the region and scenario in use, and the basemap switch."""
    with st.sidebar:
        try:
            region = current_region()
        except Exception as exc:  # a broken saved region must not break every page
            show_error(exc)
            return
        s = current_scenario()
        st.markdown(f"**Area:** {region.meta.name}")
        if region.meta.synthetic:
            st.caption(":orange-background[SYNTHETIC DEMO DATA] — not a real place.")
        limit = (
            f"{s.phasing.total_centres} new centres"
            if s.phasing.total_centres is not None
            else f"{_format.format_gbp(s.phasing.budget_per_year_gbp)} a year"
        )
        st.markdown(
            f"**Scenario:** {s.name}  \n"
            f"{s.travel.standard_min:g} min {s.travel.mode} · {limit} · "
            f"{s.phasing.years} years"
        )
        online = st.toggle(
            "Show a street basemap (needs internet)",
            value=tiles() is not None,
            help="Off by default: the maps work offline without a basemap.",
        )
        st.session_state["tiles"] = OSM_TILES if online else None


def page_header(title: str, intro: str) -> None:
    """A page title with one line saying what the page is for."""
    st.title(title)
    st.caption(intro)


def app_dir() -> Path:
    """The folder of ``app.py``."""
    return Path(__file__).resolve().parents[1]
