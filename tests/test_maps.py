"""Tests for nhc_planner.maps: offline folium maps and static images."""

from __future__ import annotations

import json
import re

import folium
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nhc_planner import maps
from nhc_planner._errors import MissingColumnError, NhcInputError, ValueRangeError
from nhc_planner.testing import require_fixture
from tests.report_helpers import (
    ARTIFACTS,
    CHROMIUM_ARGS,
    assert_offline,
    chromium_or_skip,
    chromium_page,
    click_until_popup,
    in_page,
    tiny_plan,
    tiny_region,
)

# --------------------------------------------------------------------------- formatting


@pytest.mark.parametrize(
    ("func", "value", "expected"),
    [
        (maps.format_count, 1234.4, "1,234"),
        (maps.format_count, None, "–"),
        (maps.format_percent, 0.5, "50%"),
        (maps.format_minutes, 7.25, "7.2 min"),
        (maps.format_years, 60, "60.0 years"),
        (maps.format_gbp, 1_500_000, "£1.50m"),
        (maps.format_gbp, 999, "£999"),
    ],
)
def test_formatters(func, value, expected):
    assert func(value) == expected


def test_phase_colours_distinct_and_existing_dark():
    colours = [maps.phase_colour(p) for p in range(1, 8)]
    assert len(set(colours)) == 7
    assert maps.phase_colour(0) == maps.phase_colour(None) == "#333333"


# --------------------------------------------------------------------------- need map


def test_need_map_offline_inline_has_polygons_sites_legend():
    region = tiny_region()
    m = maps.need_map(region, colour_by="imd_decile")
    assert isinstance(m, folium.Map)
    page = maps.map_html(m, offline="inline")
    assert_offline(page)
    assert "L.map(" in page
    assert "<script>" in page
    assert "leaflet.js" not in page  # inlined, not linked
    # every area polygon is in the GeoJSON, with people-formatted figures
    assert page.count('"type": "Polygon"') + page.count('"type":"Polygon"') >= 12
    assert "1,000" in page
    assert re.search(r"Tinyton 000A (\\u0026|&)amp; Co", page)  # names HTML-escaped
    assert "IMD decile" in page
    assert "(most deprived)" in page
    assert "Westshire" in page  # authority outline
    for label in ("GP practice", "Hospital", "Pharmacy", "Community building"):
        assert label in page


def test_need_map_imd_decile_one_darkest():
    region = tiny_region()
    scale = maps._Scale(region.areas["imd_decile"], "imd_decile")

    def lightness(hex_colour: str) -> float:
        r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    by_decile = dict(zip(region.areas["imd_decile"], scale.colours, strict=True))
    ordered = [lightness(by_decile[d]) for d in sorted(by_decile)]
    assert ordered == sorted(ordered)
    assert ordered[0] < ordered[-1]


def test_need_map_computes_need_score_and_rejects_bad_options():
    region = tiny_region()
    page = maps.map_html(maps.need_map(region))  # need_score computed from the areas
    assert "Need score" in page
    with pytest.raises(ValueRangeError, match="colour_by='wealth'"):
        maps.need_map(region, colour_by="wealth")
    with pytest.raises(MissingColumnError, match="hle_years"):
        maps.need_map(region.areas.drop(columns="hle_years"), colour_by="hle_years")


def test_need_map_tiles_only_when_asked():
    region = tiny_region()
    url = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    page = maps.map_html(maps.need_map(region, sites=False, tiles=url))
    assert "tile.openstreetmap.org" in page
    assert "OpenStreetMap contributors" in page
    assert "tile.openstreetmap.org" not in maps.map_html(maps.need_map(region, sites=False))


# --------------------------------------------------------------------------- plan map


@pytest.mark.parametrize("colour_by", maps.PLAN_COLOUR_BY)
def test_plan_map_centres_numbered_with_why(colour_by):
    plan = tiny_plan()
    page = maps.map_html(maps.plan_map(plan, colour_by=colour_by))
    assert_offline(page)
    assert page.count("nhc-centre") >= 3
    assert "Year 1" in page
    assert "Year 2" in page
    assert "Already open" in page
    # the popup explains the choice with people-formatted figures
    assert in_page("Brings 4,000 people within 15 minutes", page)
    assert in_page("£9.50m", page)
    assert in_page("60.4 years", page)
    assert in_page("Next-best alternative", page)


def test_plan_map_rejects_unknown_colour_and_missing_columns():
    plan = tiny_plan()
    with pytest.raises(ValueRangeError, match="expected one of"):
        maps.plan_map(plan, colour_by="phase")
    plan.centres = plan.centres.drop(columns="order")
    with pytest.raises(MissingColumnError, match=r"plan\.centres.*order"):
        maps.plan_map(plan)


# --------------------------------------------------------------------------- assets


def test_save_map_relative_copies_assets(tmp_path):
    path = maps.save_map(maps.plan_map(tiny_plan()), tmp_path / "map.html", offline="relative")
    page = path.read_text()
    assert_offline(page)
    assert 'src="assets/leaflet/leaflet.js"' in page
    assert 'href="assets/leaflet/leaflet.css"' in page
    for rel in (
        "leaflet/leaflet.js",
        "leaflet/leaflet.css",
        "leaflet/LICENSE",
        "jquery/LICENSE.txt",
    ):
        assert (tmp_path / "assets" / rel).is_file()


def test_use_local_assets_data_uris_and_base_url():
    m = maps.need_map(tiny_region(), colour_by="hle_years")
    m.get_root().render()  # an earlier render leaves CDN links in the header
    maps.use_local_assets(m)
    assert {name for name, _ in m.default_js} == {"leaflet", "jquery"}
    assert all(url.startswith("data:text/javascript;base64,") for _, url in m.default_js)
    assert [name for name, _ in m.default_css] == ["leaflet_css"]
    assert_offline(m.get_root().render())
    maps.use_local_assets(m, base_url="/app/static/")
    assert dict(m.default_js)["leaflet"] == "/app/static/leaflet/leaflet.js"
    # the class-level lists of folium are untouched (no global state changed)
    assert folium.Map.default_js[0][1].startswith("https://")


def test_unvendored_plugin_asset_is_refused():
    from folium.plugins import MiniMap

    m = maps.need_map(tiny_region(), colour_by="imd_decile", sites=False)
    MiniMap().add_to(m)
    with pytest.raises(NhcInputError, match="MiniMap needs"):
        maps.map_html(m)


def test_vendored_leaflet_version_and_licences():
    static = maps.static_dir()
    head = (static / "leaflet" / "leaflet.js").read_text()[:200]
    assert "1.9.4" in head
    assert "BSD" in (static / "leaflet" / "LICENSE").read_text()
    assert (
        "MIT" in (static / "jquery" / "LICENSE.txt").read_text()
        or "Permission" in (static / "jquery" / "LICENSE.txt").read_text()
    )


# --------------------------------------------------------------------------- static images


def test_static_map_png_plan_and_region(tmp_path):
    plan_png = maps.static_map_png(tiny_plan(), tmp_path / "plan.png", title="Tinyton")
    region_png = maps.static_map_png(tiny_region(), tmp_path / "region.png")
    for p in (plan_png, region_png):
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert p.stat().st_size > 5_000


# --------------------------------------------------------------------------- real browser


@pytest.mark.browser
@pytest.mark.parametrize("offline", ["inline", "relative"])
def test_saved_map_renders_in_headless_chromium(tmp_path, offline):
    path = maps.save_map(maps.plan_map(tiny_plan()), tmp_path / "map.html", offline=offline)
    with chromium_page(width=1000, height=700) as (page, external, errors):
        page.goto(path.as_uri())
        page.wait_for_selector(".leaflet-container")
        page.wait_for_selector("path.leaflet-interactive")
        assert page.locator("path.leaflet-interactive").count() >= 12
        assert page.locator(".nhc-centre").count() == 3
        assert page.locator(".nhc-legend").count() == 1
        popup = page.locator(".leaflet-popup-content")
        click_until_popup(page.locator(".nhc-centre", has_text="1").first, popup)
        assert "Tinyton General" in popup.inner_text()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"plan_map_{offline}.png"))
    assert external == []
    assert errors == []


@pytest.mark.browser
def test_data_uri_assets_load_like_streamlit_folium(tmp_path):
    """streamlit-folium loads ``default_js`` URLs with script tags; data URIs must work."""
    executable = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    m = maps.use_local_assets(maps.need_map(tiny_region(), colour_by="imd_decile"))
    urls = json.dumps([u for _, u in m.default_js])
    css = json.dumps([u for _, u in m.default_css])
    page_html = (
        '<html><head></head><body><div id="m" style="height:400px"></div><script>'
        f"const js = {urls}; const css = {css};"
        "css.forEach(h => {const l = document.createElement('link'); l.rel = 'stylesheet';"
        " l.href = h; document.head.appendChild(l);});"
        "(async () => { for (const s of js) { await new Promise((ok, bad) => {"
        " const e = document.createElement('script'); e.src = s; e.async = false;"
        " e.onload = ok; e.onerror = bad; document.body.appendChild(e); }); }"
        " const map = L.map('m').setView([53.8, -1.5], 12);"
        " L.circleMarker([53.8, -1.5]).addTo(map); window.done = !!window.jQuery; })();"
        "</script></body></html>"
    )
    path = tmp_path / "loader.html"
    path.write_text(page_html)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(path.as_uri())
            page.wait_for_function("window.done === true")
            assert page.locator("path.leaflet-interactive").count() == 1
        finally:
            browser.close()


# --------------------------------------------------------------------------- real data


@pytest.mark.slow
def test_need_map_on_leeds_lsoa21_by_imd_decile(tmp_path):
    """Leeds' 488 LSOAs (real boundaries, IMD 2025 deciles) map offline."""
    import geopandas as gpd
    import pandas as pd

    bounds = gpd.read_file(require_fixture("boundaries", "leeds_lsoa21_bsc.gpkg"))
    imd = pd.read_csv(require_fixture("tables", "leeds_imd2025_england_lsoa21.csv"))
    areas = (
        bounds.merge(imd[["lsoa21_code", "IMD_decile"]], on="lsoa21_code", how="inner")
        .rename(
            columns={
                "lsoa21_code": "area_code",
                "lsoa21_name": "area_name",
                "ltla24_code": "la_code",
                "ltla24_name": "la_name",
                "IMD_decile": "imd_decile",
            }
        )
        .to_crs("EPSG:27700")
    )
    assert len(areas) == 488
    m = maps.need_map(areas, colour_by="imd_decile", sites=False)
    page = maps.map_html(m)
    assert_offline(page)
    assert page.count("E01") >= 488
    assert "Leeds" in page
    assert len(page) < 4_000_000  # simplified polygons keep the page light
    png = maps.static_map_png(areas, tmp_path / "leeds.png", title="Leeds by IMD decile")
    assert png.stat().st_size > 20_000


# --------------------------------------------------------------------------- properties


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), min_size=1, max_size=60),
    st.sampled_from(["need_score", "hle_years"]),
)
def test_scale_is_monotone_and_darker_is_worse(values, colour_by):
    import pandas as pd

    def lightness(hex_colour: str) -> float:
        r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    series = pd.Series(values)
    scale = maps._Scale(series, colour_by)
    assert all(re.fullmatch(r"#[0-9A-F]{6}", c) for c in scale.colours)
    assert 1 <= len(scale.rows) <= 5
    ranked = sorted(zip(values, map(lightness, scale.colours), strict=True))
    light = [lum for _, lum in ranked]
    # need: higher value -> darker; HLE: higher value -> lighter
    expected = sorted(light, reverse=True) if colour_by == "need_score" else sorted(light)
    assert light == expected


@settings(max_examples=60, deadline=None)
@given(st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)))
def test_formatters_never_fail(value):
    for func in (
        maps.format_count,
        maps.format_percent,
        maps.format_minutes,
        maps.format_years,
        maps.format_gbp,
    ):
        assert isinstance(func(value), str)


@pytest.mark.parametrize("func", [maps.format_count, maps.format_percent, maps.format_gbp])
def test_formatters_dash_for_non_numbers(func):
    assert func(float("inf")) == "–"
    assert func("n/a") == "–"


def test_catchment_colours_differ_between_neighbours():
    plan = tiny_plan()
    covered = plan.assignments[plan.assignments["covered_after"]]
    palette = maps._catchment_palette(covered, ["S1", "S3", "S5"])
    # S5's catchment (areas 2, 6) touches both S1's and S3's
    assert len({palette["S1"], palette["S3"], palette["S5"]}) == 3


# --------------------------------------------------------------------------- layers, context


def _graph_with_roads():
    """A tiny road graph over the tiny region: one motorway, one A road, one residential."""
    import networkx as nx

    from tests.report_helpers import X0, Y0

    g = nx.MultiDiGraph()
    pts = {
        1: (X0, Y0 + 1500),
        2: (X0 + 4000, Y0 + 1500),
        3: (X0 + 2000, Y0),
        4: (X0 + 2000, Y0 + 3000),
    }
    for n, (x, y) in pts.items():
        g.add_node(n, x=x, y=y)
    g.add_edge(1, 2, highway="motorway", ref="M1")
    g.add_edge(2, 1, highway="motorway", ref="M1")
    g.add_edge(3, 4, highway="primary", name="Market Street")
    g.add_edge(1, 3, highway="residential")
    return g


def test_draw_map_makes_a_fresh_map_from_shared_layers():
    layers = maps.plan_layers(tiny_plan())
    first, second = maps.draw_map(layers), maps.draw_map(layers)
    assert first is not second
    a, b = maps.map_html(first), maps.map_html(second)
    # both complete: the same polygons and markers, and the cached layers are unchanged
    assert a.count('"_fill"') == b.count('"_fill"') > 0
    assert a.count("nhc-centre") == b.count("nhc-centre") >= 3
    assert layers == maps.plan_layers(tiny_plan())


def test_context_roads_and_place_names_offline():
    region = tiny_region()
    areas = region.areas.assign(
        area_name=[f"Tinyton {i // 4:03d}{'ABCD'[i % 4]}" for i in range(12)]
    )
    context = maps.map_context(areas, roads=_graph_with_roads())
    roads = json.loads(context.roads)
    classes = {f["properties"]["road_class"] for f in roads["features"]}
    assert classes == {"Motorway", "A road"}  # residential streets are left out
    names = {f["properties"]["name"] for f in roads["features"]}
    assert {"M1", "Market Street"} <= names
    texts = {(t, level) for _, _, t, level in context.labels}
    assert ("Westshire", 1) in texts
    assert ("Eastborough", 1) in texts
    assert {("Tinyton 000", 2), ("Tinyton 001", 2), ("Tinyton 002", 2)} <= texts
    page = maps.map_html(maps.need_map(areas, context=context, sites=False))
    assert_offline(page)
    assert "Motorway" in page
    assert "nhc-label" in page
    assert "Tinyton 001" in page
    assert "tile.openstreetmap.org" not in page


def test_catchment_legend_names_each_centre_in_its_colour():
    plan = tiny_plan()
    layers = maps.plan_layers(plan, colour_by="catchment")
    covered = plan.assignments[plan.assignments["covered_after"]]
    palette = maps._catchment_palette(covered, ["S1", "S3", "S5"])
    for sid, label in (("S1", "Existing Health Centre"), ("S3", "1. Tinyton General")):
        assert palette[sid] in layers.legend
        assert label in layers.legend
    assert "Beyond the travel standard" in layers.legend


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=11), min_size=48, max_size=48))
def test_neighbouring_catchments_never_share_a_colour(owner):
    """Any split of an 8 x 6 grid into up to 12 catchments: touching ones differ."""
    import geopandas as gpd
    from shapely.geometry import box

    from nhc_planner.map_context import neighbour_colours

    cells = [box(c, r, c + 1, r + 1) for r in range(6) for c in range(8)]
    frame = gpd.GeoDataFrame({"site_id": [f"S{o}" for o in owner]}, geometry=cells)
    colours = neighbour_colours(frame, "site_id", sorted(set(frame["site_id"])))
    for i in range(48):
        for j in range(48):
            if owner[i] != owner[j] and cells[i].distance(cells[j]) < 1e-9:
                assert colours[f"S{owner[i]}"] != colours[f"S{owner[j]}"]


def test_over_capacity_centres_are_flagged():
    plan = tiny_plan()
    plan.centres.loc[plan.centres["site_id"] == "S3", "utilisation"] = 1.6
    layers = maps.plan_layers(plan)
    ((_, markers),) = layers.markers
    flagged = [m for m in markers if "nhc-over" in m.class_name]
    assert len(flagged) == 1
    assert "over capacity (160%)" in flagged[0].tooltip
    assert "over capacity" in flagged[0].popup
    assert "Over capacity (more than 100%)" in layers.legend
    by_use = maps.plan_layers(plan, colour_by="utilisation")
    fills = {
        f["properties"]["Nearest centre in plan"]: f["properties"]["_fill"]
        for f in json.loads(by_use.areas)["features"]
    }
    assert fills["Tinyton General"] == maps.utilisation_colour(1.6) == "#A50F15"
    assert fills["Existing Health Centre"] != "#A50F15"


def test_sites_sharing_a_name_are_told_apart_on_the_map():
    region = tiny_region()
    sites = region.sites.assign(name=["Boots", "Boots", "Tinyton General", "Boots", "Hub"])
    layers = maps.need_layers(region.areas, sites=sites)
    ((_, markers),) = layers.markers
    tips = [m.tooltip for m in markers]
    # kind, then the area each lies in (the tiny areas' names carry no MSOA part)
    assert (
        "Boots (health centre, Tinyton 000A &amp; Co) &middot; Existing health centre "
        "&middot; existing" in tips
    )
    assert any(t.startswith("Boots (GP practice, Tinyton 005A &amp; Co)") for t in tips)
    assert "Hub &middot; Community building &middot; candidate" in tips  # unique: as is


@pytest.mark.slow
def test_leeds_map_has_roads_and_place_names_offline(tmp_path):
    """Real Leeds LSOAs with the OSM extract of central Leeds: main roads and names, no tiles."""
    import geopandas as gpd

    pytest.importorskip("osmium", reason="reading the .osm.pbf extract needs pyosmium")

    from nhc_planner.network import load_network

    bounds = gpd.read_file(require_fixture("boundaries", "leeds_lsoa21_bsc.gpkg"))
    areas = bounds.rename(
        columns={
            "lsoa21_code": "area_code",
            "lsoa21_name": "area_name",
            "ltla24_code": "la_code",
            "ltla24_name": "la_name",
        }
    ).to_crs("EPSG:27700")
    areas["imd_decile"] = 5
    net = load_network(require_fixture("osm", "leeds_its_example.osm.pbf"), cache_dir=tmp_path)
    context = maps.map_context(areas, roads=net)
    assert context.roads, "no main roads drawn from the Leeds OSM extract"
    assert len(json.loads(context.roads)["features"]) >= 3
    names = {t for _, _, t, level in context.labels if level == 2}
    assert len(names) >= 100
    assert "Leeds 054" in names
    page = maps.map_html(maps.need_map(areas, colour_by="imd_decile", sites=False, context=context))
    assert_offline(page)
    assert "Leeds 054" in page
    assert "A road" in page
