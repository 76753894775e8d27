"""Maps of need and of plans: interactive folium maps that work offline, static images.

Interactive maps are :class:`folium.Map` objects built with Leaflet features that
need no icon fonts, no jQuery plugins and no CDN: areas are GeoJSON polygons,
sites and centres are circle markers or ``DivIcon`` markers styled inline,
popups are bound with plain Leaflet, and the legend is a Leaflet control
holding inline HTML. Basemap tiles are off by default (an offline map shows the
areas on a plain background); pass ``tiles=`` a URL template when online.

folium's own templates link Leaflet, jQuery, Bootstrap and Font Awesome from
CDNs. The vendored copies in ``nhc_planner/static`` replace them:

- :func:`map_html` returns a complete HTML page, either with the JavaScript and
  CSS inlined (``offline="inline"``, one self-contained file) or linking to a
  folder of copies next to it (``offline="relative"``, see :func:`copy_assets`);
- :func:`save_map` writes such a page (and the asset folder when relative);
- :func:`use_local_assets` points the map's asset links at local copies in
  place, for a renderer that collects the links itself (``streamlit-folium``):
  either ``data:`` URIs (no server needed) or URLs under a base URL (e.g. a
  Streamlit static folder).

Colour scales are colour-blind safe: viridis for ordered values, darker always
meaning worse (higher need, more deprived, shorter healthy life), and the
Okabe-Ito palette for categories (site kinds, phases).

Maps are built in two steps: ``need_layers`` / ``plan_layers`` compute
everything a map draws as plain immutable data (:class:`MapLayers`: GeoJSON
strings, markers, the legend), which may be cached and shared between
sessions; :func:`draw_map` makes a new :class:`folium.Map` from it for every
render. A folium map must never be rendered twice (``streamlit-folium``
rewrites the element ids of the map it renders, so a second render is blank).
:func:`map_context` adds offline context from the region's own data: main
roads from its road network, place names, authority outlines (see
:mod:`nhc_planner.map_context`).

Figures are formatted for people by :mod:`nhc_planner._format`.
"""

from __future__ import annotations

import base64
import html
import json
import math
import re
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from branca.element import Element, MacroElement
from folium.elements import JSCSSMixin
from folium.template import Template

from nhc_planner._atomic import atomic_write_text
from nhc_planner._errors import MissingColumnError, NhcInputError, ValueRangeError
from nhc_planner._format import (
    _absent,
    _missing,
    describe_alternative,
    format_count,
    format_gbp,
    format_minutes,
    format_percent,
    format_years,
    site_labels,
)
from nhc_planner.region import Region, RegionMeta
from nhc_planner.scenario import NeedWeights

__all__ = [
    "AREA_COLOUR_BY",
    "KIND_STYLES",
    "NHS_BLUE",
    "PHASE_COLOURS",
    "PLAN_COLOUR_BY",
    "UTILISATION_CLASSES",
    "MapContext",
    "MapLayers",
    "MapMarker",
    "PlanLike",
    "copy_assets",
    "draw_map",
    "map_context",
    "map_html",
    "need_layers",
    "need_map",
    "over_capacity",
    "phase_colour",
    "plan_layers",
    "plan_map",
    "save_map",
    "static_dir",
    "static_map_png",
    "use_local_assets",
    "utilisation_colour",
]

#: NHS identity blue, used for outlines and accents.
NHS_BLUE = "#005EB8"

#: Ways to colour areas on :func:`need_map`.
AREA_COLOUR_BY: tuple[str, ...] = ("need_score", "imd_decile", "hle_years")

#: Ways to colour areas on :func:`plan_map`.
PLAN_COLOUR_BY: tuple[str, ...] = ("catchment", "coverage", "utilisation", *AREA_COLOUR_BY)

#: Okabe-Ito colours for phases (year 1, 2, ...), repeated beyond seven years.
PHASE_COLOURS: tuple[str, ...] = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#D55E00",
    "#56B4E9",
    "#F0E442",
)
_EXISTING_COLOUR = "#333333"

#: Marker colour and shape per site kind (Okabe-Ito colours, distinct shapes).
KIND_STYLES: dict[str, tuple[str, str, str]] = {
    # kind: (colour, shape, label)
    "gp_practice": ("#0072B2", "circle", "GP practice"),
    "hospital": ("#D55E00", "square", "Hospital"),
    "pharmacy": ("#009E73", "diamond", "Pharmacy"),
    "community_building": ("#E69F00", "triangle", "Community building"),
    "user_candidate": ("#CC79A7", "circle", "Proposed site (user)"),
    "existing_nhc": ("#000000", "square", "Existing health centre"),
    "other": ("#777777", "circle", "Other site"),
}

_NOT_COVERED = "#DDDDDD"
_COVERED_BEFORE = "#BFD7EA"
_N_CLASSES = 5

_STATIC = Path(__file__).resolve().parent / "static"

# name in folium's asset lists -> (kind, path below static/)
_VENDORED: dict[str, tuple[str, str]] = {
    "leaflet": ("js", "leaflet/leaflet.js"),
    "jquery": ("js", "jquery/jquery.min.js"),
    "leaflet_css": ("css", "leaflet/leaflet.css"),
}
# folium.Map's default assets that nothing built here uses (icon fonts, Bootstrap).
_UNUSED = frozenset(
    {
        "bootstrap",
        "awesome_markers",
        "bootstrap_css",
        "glyphicons_css",
        "awesome_markers_font_css",
        "awesome_markers_css",
        "awesome_rotate_css",
    }
)
_ASSET_FILES: tuple[str, ...] = (
    "leaflet/leaflet.js",
    "leaflet/leaflet.css",
    "leaflet/LICENSE",
    "leaflet/images/layers.png",
    "leaflet/images/layers-2x.png",
    "leaflet/images/marker-icon.png",
    "leaflet/images/marker-icon-2x.png",
    "leaflet/images/marker-shadow.png",
    "jquery/jquery.min.js",
    "jquery/LICENSE.txt",
)

_DEFAULT_TILE_ATTRIBUTION = "&copy; OpenStreetMap contributors"


class PlanLike(Protocol):
    """What the maps and the report read from a plan (see ``docs/architecture.md``).

    Read-only, so a frozen :class:`nhc_planner.plan.Plan` satisfies it.
    """

    @property
    def region_meta(self) -> RegionMeta:
        """The region's metadata (name, attribution, synthetic flag)."""

    @property
    def centres(self) -> gpd.GeoDataFrame:
        """Open centres (points, EPSG:27700)."""

    @property
    def assignments(self) -> gpd.GeoDataFrame:
        """Areas with their nearest centre (polygons, EPSG:27700)."""

    @property
    def kpis(self) -> pd.DataFrame:
        """``metric, before, after, unit``."""

    @property
    def solver(self) -> dict[str, Any]:
        """The solver's status, bound and gap."""


# --------------------------------------------------------------------------- colours


def _hex(rgba: Sequence[float]) -> str:
    r, g, b = (round(255 * float(c)) for c in rgba[:3])
    return f"#{r:02X}{g:02X}{b:02X}"


def _viridis(position: float) -> str:
    """Hex colour at ``position`` in 0..1 of viridis (0 = dark purple, 1 = yellow)."""
    from matplotlib import colormaps

    return _hex(colormaps["viridis"](float(np.clip(position, 0.0, 1.0))))


def _tint(colour: str, amount: float = 0.5) -> str:
    """Blend ``colour`` towards white by ``amount`` (0 = unchanged, 1 = white)."""
    rgb = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    return _hex([c + (1 - c) * amount for c in rgb])


def phase_colour(phase: Any) -> str:
    """Marker colour of a centre opening in ``phase`` (0 = already open).

    Examples
    --------
    >>> phase_colour(1), phase_colour(0)
    ('#0072B2', '#333333')
    """
    if _missing(phase) or int(phase) <= 0:
        return _EXISTING_COLOUR
    return PHASE_COLOURS[(int(phase) - 1) % len(PHASE_COLOURS)]


class _Scale:
    """Classes of an area measure: a colour per area and legend rows."""

    def __init__(self, values: pd.Series, colour_by: str) -> None:
        v = pd.to_numeric(values, errors="coerce").astype(float)
        self.title, self.rows, colours = _classify(v, colour_by)
        self.colours = colours.fillna(_NOT_COVERED)


def _classify(v: pd.Series, colour_by: str) -> tuple[str, list[tuple[str, str]], pd.Series]:
    if colour_by == "imd_decile":
        colours = v.map(lambda d: _viridis((d - 1) / 9) if 1 <= d <= 10 else np.nan)
        rows = [
            (_viridis((d - 1) / 9), f"{d}{' (most deprived)' if d == 1 else ''}")
            for d in range(1, 11)
        ]
        rows[-1] = (rows[-1][0], "10 (least deprived)")
        return "IMD decile", rows, colours
    finite = v[np.isfinite(v)]
    if finite.empty:
        return colour_by, [], pd.Series(np.nan, index=v.index)
    qs = np.unique(np.quantile(finite, np.linspace(0, 1, _N_CLASSES + 1)))
    if len(qs) < 2:
        qs = np.array([finite.min(), finite.min()])
    n = max(len(qs) - 1, 1)
    cls = np.clip(np.searchsorted(qs, v.to_numpy(), side="right") - 1, 0, n - 1)
    # darker = worse: high need is dark; low healthy life expectancy is dark
    positions = np.linspace(0, 1, n) if colour_by == "hle_years" else np.linspace(1, 0, n)
    palette = [_viridis(p) for p in positions]
    colours = pd.Series([palette[c] for c in cls], index=v.index).where(np.isfinite(v))
    if colour_by == "hle_years":
        title, fmt = "Healthy life expectancy (estimate, years)", "{:.1f}"
    else:
        title = "Need score"
        fmt = "{:,.0f}" if float(finite.max()) >= 100 else "{:.2f}"
    rows = [
        (palette[i], f"{fmt.format(qs[i])} – {fmt.format(qs[min(i + 1, len(qs) - 1)])}")
        for i in range(n)
    ]
    return title, rows, colours


# --------------------------------------------------------------------------- folium pieces


class _HtmlControl(MacroElement):
    """A Leaflet control holding fixed HTML (the legend)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var control = L.control({position: {{ this.position|tojson }}});
            control.onAdd = function () {
                var div = L.DomUtil.create("div", "nhc-legend");
                div.innerHTML = {{ this.html|tojson }};
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.disableScrollPropagation(div);  // the wheel scrolls a tall legend
                return div;
            };
            control.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """
    )

    def __init__(self, html_text: str, *, position: str = "bottomright") -> None:
        super().__init__()
        self._name = "HtmlControl"
        self.html = html_text
        self.position = position


_LEGEND_ROOM_PX = 270  # the legend's width (max 240 px) plus its padding and margin
_CONTROL_ROOM_PX = 56  # the zoom buttons (top left, 34 px wide at a 10 px margin) and a gap
_NARROW_PX = 640  # maps narrower than this open with the legend folded (see _FitView)


class _BoundPopup(MacroElement):
    """A plain Leaflet popup bound to its parent layer (no jQuery, no iframe).

    On opening, the map pans so that the popup stays clear of the legend and the zoom
    buttons (Leaflet draws controls above popups, so a popup under one would be cut
    off); a popup taller than 380 px scrolls, so its title stays inside the map.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.bindPopup({{ this.html|tojson }},
            {maxWidth: {{ this.max_width|tojson }}, maxHeight: 380, className: "nhc-popup",
             autoPanPaddingTopLeft: [{{ this.control_room|tojson }}, 12],
             autoPanPaddingBottomRight: [{{ this.legend_room|tojson }}, 12]});
        {% endmacro %}
        """
    )

    def __init__(self, html_text: str, *, max_width: int = 360) -> None:
        super().__init__()
        self._name = "BoundPopup"
        self.html = html_text
        self.max_width = max_width
        self.legend_room = _LEGEND_ROOM_PX
        self.control_room = _CONTROL_ROOM_PX


_BOX = (
    "background:rgba(255,255,255,0.94);padding:8px 10px;border-radius:4px;"
    "box-shadow:0 1px 4px rgba(0,0,0,0.3);font:12px/1.35 system-ui,-apple-system,"
    "'Segoe UI',Roboto,Arial,sans-serif;color:#212B32;max-width:240px;"
    # a legend taller than the map (many centres) scrolls inside it: anchored bottom
    # right, its top would otherwise be cut off above the frame, out of reach
    "max-height:calc(100vh - 60px);overflow-y:auto"
)


def _swatch(colour: str, shape: str = "square") -> str:
    radius = "50%" if shape == "circle" else "2px"
    return (
        f'<span style="display:inline-block;width:12px;height:12px;margin-right:6px;'
        f"vertical-align:-2px;background:{colour};border:1px solid #555;"
        f'border-radius:{radius}"></span>'
    )


def _legend_html(sections: Sequence[tuple[str, Sequence[tuple[str, str, str]]]]) -> str:
    parts = [
        f'<details open style="{_BOX}"><summary style="cursor:pointer;font-weight:600;'
        f'color:{NHS_BLUE};margin-bottom:4px">Legend</summary>'
    ]
    for title, rows in sections:
        if not rows:
            continue
        parts.append(f'<div style="font-weight:600;margin:2px 0 4px">{html.escape(title)}</div>')
        for colour, shape, label in rows:
            if shape in ("square", "circle"):
                swatch = _swatch(colour, shape)
            elif shape == "line":
                swatch = (
                    f'<span style="display:inline-block;width:14px;height:0;margin-right:6px;'
                    f'border-top:3px solid {colour};vertical-align:3px"></span>'
                )
            else:
                swatch = (
                    f'<span style="display:inline-block;width:12px;margin-right:6px">'
                    f"{_marker_html(colour, shape, size=11)}</span>"
                )
            parts.append(
                f'<div style="display:flex;align-items:center">{swatch}'
                f"<span>{html.escape(label)}</span></div>"
            )
    parts.append("</details>")
    return "".join(parts)


def _marker_html(colour: str, shape: str, *, size: int = 12, text: str = "") -> str:
    base = (
        f"width:{size}px;height:{size}px;background:{colour};border:1.5px solid #fff;"
        "box-shadow:0 0 0 1px #333;box-sizing:border-box;"
    )
    if shape == "circle":
        style = base + "border-radius:50%;"
    elif shape == "diamond":
        style = base + "transform:rotate(45deg) scale(0.85);"
    elif shape == "triangle":
        half = size // 2
        style = (
            f"width:0;height:0;border-left:{half}px solid transparent;"
            f"border-right:{half}px solid transparent;border-bottom:{size}px solid {colour};"
            "filter:drop-shadow(0 0 1px #333);"
        )
    else:
        style = base + "border-radius:2px;"
    if text:
        style += (
            f"color:#fff;font:700 {max(size // 2, 10)}px/1 system-ui,Arial,sans-serif;"
            "display:flex;align-items:center;justify-content:center;"
        )
    return f'<div style="{style}">{html.escape(text)}</div>'


@dataclass(frozen=True)
class MapMarker:
    """A marker drawn with inline HTML (no icon font): a site or a centre."""

    lat: float
    lon: float
    html: str
    size: int
    class_name: str
    tooltip: str
    popup: str = ""
    z_index_offset: int = 0


@dataclass(frozen=True)
class MapLayers:
    """Everything one map draws, as plain immutable data (strings, numbers, markers).

    Safe to cache and to share between sessions and threads: :func:`draw_map`
    builds a fresh :class:`folium.Map` from it for every render. (A folium map
    must never be rendered twice: ``streamlit-folium`` rewrites the element
    ids of the map it renders, so a second render draws nothing.)

    Attributes
    ----------
    bounds
        ``minx, miny, maxx, maxy`` in WGS84 (longitude, latitude).
    areas
        GeoJSON FeatureCollection of the areas; each feature's properties hold
        the tooltip fields (already formatted and escaped) and ``_fill``.
    area_fields
        The tooltip fields, in order.
    outline
        GeoJSON of the local authority boundaries (property ``Local authority``), or "".
    roads
        GeoJSON of the main roads (properties ``road_class``, ``name``, ``width``), or "".
    labels
        Place names: ``(lat, lon, text, level)``; level 1 authorities, 2 wards/MSOAs.
    markers
        ``(group name, markers)`` per marker layer, drawn in order.
    legend
        The legend's HTML.
    neighbourhoods
        GeoJSON of the plan's neighbourhood boundaries (properties ``Neighbourhood``,
        ``Residents``, ``Centre opens``), or "" for plans without neighbourhoods.
    """

    bounds: tuple[float, float, float, float]
    areas: str
    area_fields: tuple[str, ...]
    outline: str = ""
    roads: str = ""
    labels: tuple[tuple[float, float, str, int], ...] = ()
    markers: tuple[tuple[str, tuple[MapMarker, ...]], ...] = ()
    legend: str = ""
    neighbourhoods: str = ""


@dataclass(frozen=True)
class MapContext:
    """Offline context of a region, as map-ready data (see :func:`map_context`)."""

    outline: str = ""
    roads: str = ""
    labels: tuple[tuple[float, float, str, int], ...] = ()
    road_rows: tuple[tuple[str, str, str], ...] = ()


_ROAD_COLOURS = {"Motorway": "#1F4E96", "A road": "#5A6872", "B road": "#8A959D"}


def map_context(areas: gpd.GeoDataFrame, *, roads: Any | None = None) -> MapContext:
    """Authority outlines, place names and (given a road network) main roads of ``areas``.

    Parameters
    ----------
    areas
        The areas (EPSG:27700).
    roads
        A :class:`~nhc_planner.network.RoadNetwork`, a networkx road graph, or None.
    """
    from nhc_planner import map_context as ctx

    outline = ""
    las = ctx.authority_outlines(areas)
    if las is not None:
        web = _web_frame(las, 10.0)
        web["Local authority"] = [
            html.escape(str(r.get("la_name", r["la_code"])))
            + f" ({html.escape(str(r['la_code']))})"
            for _, r in web.iterrows()
        ]
        outline = _geojson(web[["Local authority", "geometry"]])
    labels = ctx.place_labels(areas)
    label_rows: tuple[tuple[float, float, str, int], ...] = ()
    if len(labels):
        pts = gpd.GeoSeries(gpd.points_from_xy(labels["x"], labels["y"]), crs=areas.crs)
        pts = pts.to_crs(4326)
        label_rows = tuple(
            (round(p.y, 6), round(p.x, 6), str(t), int(lv))
            for p, t, lv in zip(pts, labels["text"], labels["level"], strict=True)
        )
    road_json = ""
    road_rows: tuple[tuple[str, str, str], ...] = ()
    graph = roads if hasattr(roads, "edges") else getattr(roads, "graph", None)
    if graph is not None:
        lines = ctx.road_lines(graph, areas)
        if len(lines):
            web = lines.to_crs(4326)
            web["colour"] = web["road_class"].map(_ROAD_COLOURS)
            road_json = _geojson(web)
            road_rows = tuple(
                (_ROAD_COLOURS[label], "line", label)
                for _, label, _ in ctx.ROAD_CLASSES
                if label in set(web["road_class"])
            )
    return MapContext(outline=outline, roads=road_json, labels=label_rows, road_rows=road_rows)


def _geojson(frame: gpd.GeoDataFrame) -> str:
    """GeoJSON text of a WGS84 frame, coordinates to 6 decimals (about 0.1 m)."""
    return str(frame.reset_index(drop=True).to_json(drop_id=False, to_wgs84=False, na="null"))


def _new_map(
    bounds_4326: Sequence[float], tiles: str | None, tile_attribution: str | None
) -> folium.Map:
    minx, miny, maxx, maxy = bounds_4326
    m = folium.Map(
        location=[(miny + maxy) / 2, (minx + maxx) / 2],
        tiles=None,
        zoom_start=11,
        # quarter steps, so the fitted view fills the frame rather than stopping at the
        # whole zoom level below (which left the area a third of the map's width)
        zoom_snap=0.25,
        zoom_delta=0.5,
        control_scale=True,
        prefer_canvas=False,
    )
    if tiles is not None:
        folium.TileLayer(
            tiles=tiles,
            attr=tile_attribution or _DEFAULT_TILE_ATTRIBUTION,
            name="Basemap",
        ).add_to(m)
    # keep the area clear of the legend (bottom right, at most 240 px wide plus its
    # margins), so no centre is drawn under it where it could not be clicked
    m.add_child(_FitView([[miny, minx], [maxy, maxx]]))
    return m


class _FitView(MacroElement):
    """Open the map on its area, fitted to the frame's width when it is drawn.

    A wide map keeps the area clear of the legend (bottom right), so no centre is drawn
    under it where it could not be clicked. A narrow one (under ``_NARROW_PX``, e.g. a
    map beside the page's text) starts with the legend folded, and the area fills the
    frame. The view is set without animation and fitted again when the frame is resized,
    until the user moves or zooms the map.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (map) {
            var bounds = {{ this.bounds|tojson }};
            var touched = false;
            function fit() {
                var narrow = map.getSize().x < {{ this.narrow|tojson }};
                var legend = map.getContainer().querySelector(".nhc-legend details");
                if (narrow && legend) { legend.open = false; }
                map.fitBounds(bounds, {
                    paddingTopLeft: [12, 12],
                    paddingBottomRight: narrow ? [12, 40] : [{{ this.legend_room|tojson }}, 12],
                    animate: false
                });
            }
            fit();
            setTimeout(fit, 0);  // again once the legend (added after this) is on the map
            ["pointerdown", "wheel", "keydown", "touchstart"].forEach(function (name) {
                map.getContainer().addEventListener(name, function () { touched = true; });
            });
            window.addEventListener("resize", function () {
                if (!touched) { map.invalidateSize(false); fit(); }
            });
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, bounds: list[list[float]]) -> None:
        super().__init__()
        self._name = "FitView"
        self.bounds = bounds
        self.narrow = _NARROW_PX
        self.legend_room = _LEGEND_ROOM_PX


class _OverCapacityStyle(MacroElement):
    """CSS that rings centres over capacity and marks them "!" (kept out of their text)."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>
        .nhc-over{border-radius:50%;box-shadow:0 0 0 2px #fff,0 0 0 5px #212B32}
        .nhc-over::after{content:"!";position:absolute;top:-10px;right:-10px;width:15px;
          height:15px;border-radius:50%;background:#212B32;color:#fff;text-align:center;
          font:700 11px/14px system-ui,Arial,sans-serif}
        </style>
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "OverCapacityStyle"


class _Labels(MacroElement):
    """Place names as non-interactive text; ward/MSOA names only when zoomed in."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>
        .nhc-label{background:none;border:none;white-space:nowrap;pointer-events:none;
          font:600 11px/1.2 system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;
          color:#212B32;text-align:center;
          text-shadow:0 0 3px #fff,0 0 3px #fff,0 0 2px #fff}
        .nhc-label-1{font-size:14px;font-weight:700;letter-spacing:.03em;color:#003087}
        .nhc-label-2{display:none}
        .nhc-near .nhc-label-2{display:block}
        </style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var rows = {{ this.rows|tojson }};
            var group = L.layerGroup();
            rows.forEach(function (r) {
                L.marker([r[0], r[1]], {
                    interactive: false, keyboard: false,
                    icon: L.divIcon({className: "nhc-label nhc-label-" + r[3],
                                     html: r[2].replace(/&/g, "&amp;").replace(/</g, "&lt;"),
                                     iconSize: null})
                }).addTo(group);
            });
            group.addTo(map);
            function near() {
                var c = map.getContainer();
                if (map.getZoom() >= {{ this.near_zoom }}) { c.classList.add("nhc-near"); }
                else { c.classList.remove("nhc-near"); }
            }
            map.on("zoomend", near);
            near();
        })();
        {% endmacro %}
        """
    )

    def __init__(self, rows: Sequence[tuple[float, float, str, int]], near_zoom: int) -> None:
        super().__init__()
        self._name = "PlaceLabels"
        self.rows = [list(r) for r in rows]
        self.near_zoom = int(near_zoom)


def _near_zoom(n_labels: int) -> int:
    """Zoom from which ward/MSOA names show: sooner when there are few of them."""
    return 11 if n_labels <= 40 else 12


def draw_map(
    layers: MapLayers, *, tiles: str | None = None, tile_attribution: str | None = None
) -> folium.Map:
    """A fresh folium map of ``layers`` (never render one folium map twice).

    Parameters
    ----------
    layers
        From :func:`need_layers` or :func:`plan_layers` (may be cached and shared).
    tiles, tile_attribution
        Optional basemap, as in :func:`need_map`.
    """
    m = _new_map(layers.bounds, tiles, tile_attribution)
    fields = list(layers.area_fields)
    folium.GeoJson(
        json.loads(layers.areas),
        name="Areas",
        style_function=_area_style,
        highlight_function=_area_highlight,
        tooltip=folium.GeoJsonTooltip(fields=fields, aliases=fields, sticky=True),
        popup=folium.GeoJsonPopup(
            fields=fields,
            aliases=fields,
            auto_pan_padding_top_left=[_CONTROL_ROOM_PX, 12],
            auto_pan_padding_bottom_right=[_LEGEND_ROOM_PX, 12],
        ),
        smooth_factor=0.5,
    ).add_to(m)
    if layers.roads:
        folium.GeoJson(
            json.loads(layers.roads),
            name="Main roads",
            style_function=_road_style,
            interactive=False,
            smooth_factor=1.0,
        ).add_to(m)
    if layers.neighbourhoods:
        fields = ["Neighbourhood", "Residents", "Centre opens"]
        folium.GeoJson(
            json.loads(layers.neighbourhoods),
            name="Neighbourhoods",
            style_function=_neighbourhood_style,
            tooltip=folium.GeoJsonTooltip(fields=fields, aliases=fields, sticky=True),
        ).add_to(m)
    if layers.outline:
        folium.GeoJson(
            json.loads(layers.outline),
            name="Local authority boundary",
            style_function=_outline_style,
            tooltip=folium.GeoJsonTooltip(fields=["Local authority"], labels=False),
        ).add_to(m)
    for name, markers in layers.markers:
        group = folium.FeatureGroup(name=name)
        for mk in markers:
            marker = folium.Marker(
                [mk.lat, mk.lon],
                icon=folium.DivIcon(
                    html=mk.html,
                    icon_size=(mk.size, mk.size),
                    icon_anchor=(mk.size // 2, mk.size // 2),
                    class_name=mk.class_name,
                ),
                tooltip=folium.Tooltip(mk.tooltip),
                z_index_offset=mk.z_index_offset,
            )
            if mk.popup:
                _BoundPopup(mk.popup).add_to(marker)
            marker.add_to(group)
        group.add_to(m)
    if any("nhc-over" in mk.class_name for _, group in layers.markers for mk in group):
        _OverCapacityStyle().add_to(m)
    if layers.labels:
        n_minor = sum(1 for r in layers.labels if r[3] > 1)
        _Labels(layers.labels, _near_zoom(n_minor)).add_to(m)
    if layers.legend:
        _HtmlControl(layers.legend).add_to(m)
    return m


def _area_style(feature: dict[str, Any]) -> dict[str, Any]:
    return {
        "fillColor": feature["properties"]["_fill"],
        "color": "#FFFFFF",
        "weight": 0.6,
        "fillOpacity": 0.78,
    }


def _area_highlight(feature: dict[str, Any]) -> dict[str, Any]:
    return {"weight": 2.5, "color": "#212B32"}


def _road_style(feature: dict[str, Any]) -> dict[str, Any]:
    props = feature["properties"]
    return {"color": props["colour"], "weight": props["width"], "opacity": 0.85}


def _outline_style(feature: dict[str, Any]) -> dict[str, Any]:
    return {"color": "#212B32", "weight": 2.2, "fill": False}


#: Colour of neighbourhood boundaries on the plan map (NHS dark blue, dashed).
NEIGHBOURHOOD_COLOUR = "#003087"


def _neighbourhood_style(feature: dict[str, Any]) -> dict[str, Any]:
    return {"color": NEIGHBOURHOOD_COLOUR, "weight": 2.0, "dashArray": "6 4", "fill": False}


def neighbourhood_layer(plan: PlanLike, simplify_m: float = 5.0) -> str:
    """GeoJSON of a plan's neighbourhood boundaries, or "" when it has none.

    One feature per neighbourhood (its areas dissolved), with its name, residents and
    the year its centre opens, for the plan map's boundary layer.
    """
    hoods = getattr(plan, "neighbourhoods", None)
    if hoods is None or len(hoods) == 0:
        return ""
    from nhc_planner.plan_io import dissolved_neighbourhoods

    shapes = dissolved_neighbourhoods(hoods)
    year = pd.to_numeric(shapes.get("opening_year"), errors="coerce")
    pop = pd.to_numeric(shapes.get("population"), errors="coerce")
    out = gpd.GeoDataFrame(
        {
            "Neighbourhood": shapes["neighbourhood_name"].astype(str).map(html.escape),
            "Residents": pop.map(format_count),
            "Centre opens": year.map(lambda y: f"year {int(y)}" if pd.notna(y) else "–"),
        },
        geometry=shapes.geometry.to_numpy(),
        crs=shapes.crs,
    )
    return _geojson(_web_frame(out, simplify_m))


def _web_frame(frame: gpd.GeoDataFrame, simplify_m: float) -> gpd.GeoDataFrame:
    out = frame.copy()
    if simplify_m > 0 and out.geom_type.isin(["Polygon", "MultiPolygon"]).any():
        out["geometry"] = out.geometry.simplify(simplify_m, preserve_topology=True)
    return out.to_crs(4326)


def _check_columns(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        msg = f"{what}: missing column(s) {missing}; found {list(frame.columns)}"
        raise MissingColumnError(msg)


def _area_fields(frame: pd.DataFrame) -> dict[str, str]:
    """Formatted, escaped figures per area for tooltips (label -> column)."""
    labels = {
        "area_name": "Area",
        "la_name": "Local authority",
        "population": "Population",
        "imd_decile": "IMD decile (1 = most deprived)",
        "hle_years": "Healthy life expectancy (estimate)",
        "need_score": "Need score",
    }
    return {col: lab for col, lab in labels.items() if col in frame.columns}


def _format_area_value(col: str, value: Any) -> str:
    if col == "population":
        return format_count(value)
    if col == "hle_years":
        return format_years(value)
    if col == "imd_decile":
        return "–" if _missing(value) else str(int(value))
    if col == "need_score":
        return "–" if _missing(value) else f"{float(value):,.{0 if abs(value) >= 100 else 2}f}"
    if col == "minutes":
        return format_minutes(value)
    return html.escape(str(value)) if not _missing(value) else "–"


def _area_layer(
    areas: gpd.GeoDataFrame,
    colours: pd.Series,
    extra: dict[str, pd.Series] | None,
    simplify_m: float,
) -> tuple[str, tuple[str, ...], tuple[float, float, float, float]]:
    """The areas' GeoJSON (tooltip fields and ``_fill``), its fields and WGS84 bounds."""
    fields = _area_fields(areas)
    web = _web_frame(areas[[*fields, "geometry"]], simplify_m)
    props = pd.DataFrame(index=web.index)
    for col, label in fields.items():
        props[label] = [_format_area_value(col, v) for v in web[col]]
    if "area_code" in areas.columns:
        codes = areas["area_code"].reindex(web.index).astype(str).map(html.escape)
        label = fields.get("area_name", "Area")
        named = props[label] if label in props else pd.Series("", index=web.index)
        props[label] = [f"{n} ({c})" if n else c for n, c in zip(named, codes, strict=True)]
    for label, series in (extra or {}).items():
        props[label] = series.reindex(web.index).astype(str).to_numpy()
    props["_fill"] = colours.reindex(web.index).fillna(_NOT_COVERED).to_numpy()
    data = gpd.GeoDataFrame(props, geometry=web.geometry, crs=web.crs)
    labels = tuple(c for c in props.columns if c != "_fill")
    minx, miny, maxx, maxy = (float(b) for b in web.total_bounds)
    return _geojson(data), labels, (minx, miny, maxx, maxy)


def _site_markers(
    sites: gpd.GeoDataFrame,
) -> tuple[tuple[MapMarker, ...], list[tuple[str, str, str]]]:
    if len(sites) == 0:
        return (), []
    web = sites.to_crs(4326)
    names = site_labels(web) if "name" in web.columns else web["site_id"].astype(str)
    used: dict[str, tuple[str, str, str]] = {}
    out = []
    for (_, row), name in zip(web.iterrows(), names, strict=True):
        kind = str(row.get("kind", "other"))
        colour, shape, label = KIND_STYLES.get(kind, KIND_STYLES["other"])
        used[kind] = (colour, shape, label)
        status = str(row.get("status", ""))
        out.append(
            MapMarker(
                lat=float(row.geometry.y),
                lon=float(row.geometry.x),
                html=_marker_html(colour, shape, size=11),
                size=11,
                class_name="nhc-site",
                tooltip=f"{html.escape(str(name))} &middot; {html.escape(label)}"
                + (f" &middot; {html.escape(status)}" if status else ""),
            )
        )
    return tuple(out), [used[k] for k in KIND_STYLES if k in used]


def _legend_with_context(
    sections: list[tuple[str, list[tuple[str, str, str]]]], context: MapContext | None
) -> str:
    if context is not None and context.road_rows:
        sections = [*sections, ("Main roads", list(context.road_rows))]
    return _legend_html(sections)


# --------------------------------------------------------------------------- public maps


def need_layers(
    region: Region | gpd.GeoDataFrame,
    *,
    sites: bool | gpd.GeoDataFrame = True,
    colour_by: str = "need_score",
    outline: bool = True,
    simplify_m: float = 5.0,
    need_weights: NeedWeights | None = None,
    context: MapContext | None = None,
) -> MapLayers:
    """The layers of :func:`need_map`, as cacheable data (see :class:`MapLayers`).

    ``context`` (from :func:`map_context`) adds roads and place names and
    replaces the outline computed here.
    """
    if colour_by not in AREA_COLOUR_BY:
        msg = f"need_map: colour_by={colour_by!r}; expected one of {list(AREA_COLOUR_BY)}"
        raise ValueRangeError(msg)
    if isinstance(region, Region):
        areas = region.areas
        site_frame = region.sites if sites is True else None
    else:
        areas = region
        site_frame = None
    if isinstance(sites, gpd.GeoDataFrame):
        site_frame = sites
    if colour_by == "need_score" and "need_score" not in areas.columns:
        from nhc_planner.need import need_score

        areas = areas.assign(need_score=need_score(areas, need_weights))
    if colour_by not in areas.columns:
        msg = f"need_map: areas have no column '{colour_by}' to colour by"
        raise MissingColumnError(msg)
    scale = _Scale(areas[colour_by], colour_by)
    geo, fields, bounds = _area_layer(areas, scale.colours, None, simplify_m)
    if context is None and outline:
        context = map_context(areas)
    markers: tuple[MapMarker, ...] = ()
    site_rows: list[tuple[str, str, str]] = []
    if site_frame is not None and sites is not False:
        from nhc_planner.map_context import with_places

        markers, site_rows = _site_markers(with_places(site_frame, areas))
    legend: list[tuple[str, list[tuple[str, str, str]]]] = [
        (scale.title, [(c, "square", lab) for c, lab in scale.rows])
    ]
    if site_rows:
        legend.append(("Sites", list(site_rows)))
    return MapLayers(
        bounds=bounds,
        areas=geo,
        area_fields=fields,
        outline=context.outline if context is not None and outline else "",
        roads=context.roads if context is not None else "",
        labels=context.labels if context is not None else (),
        markers=(("Existing and candidate sites", markers),) if markers else (),
        legend=_legend_with_context(legend, context),
    )


def need_map(
    region: Region | gpd.GeoDataFrame,
    *,
    sites: bool | gpd.GeoDataFrame = True,
    colour_by: str = "need_score",
    outline: bool = True,
    tiles: str | None = None,
    tile_attribution: str | None = None,
    simplify_m: float = 5.0,
    need_weights: NeedWeights | None = None,
    context: MapContext | None = None,
) -> folium.Map:
    """Map the areas of a region coloured by need, deprivation or healthy life expectancy.

    Parameters
    ----------
    region
        A :class:`~nhc_planner.region.Region`, or an areas GeoDataFrame (EPSG:27700)
        with the columns of :mod:`nhc_planner.schema`. A ``need_score`` column is
        used if present, else computed with :func:`nhc_planner.need.need_score`.
    sites
        True to draw the region's sites, False for none, or a sites GeoDataFrame.
    colour_by
        ``"need_score"``, ``"imd_decile"`` or ``"hle_years"``. Darker is worse:
        higher need, more deprived (decile 1 darkest), shorter healthy life.
    outline
        Draw local authority boundaries (areas dissolved by ``la_code``).
    tiles
        Basemap tile URL template (e.g. ``"https://tile.openstreetmap.org/{z}/{x}/{y}.png"``);
        None (default) draws no basemap, so the map needs no network.
    tile_attribution
        Attribution shown with ``tiles`` (default: © OpenStreetMap contributors).
    simplify_m
        Tolerance in metres used to simplify polygons for the browser.
    need_weights
        Weights for a need score computed here (default weights if None).
    context
        Offline context from :func:`map_context` (main roads, place names,
        authority outlines); default: outlines and place names (no roads).

    Returns
    -------
    folium.Map
        A new map each call. Render it once, with :func:`map_html` /
        :func:`save_map`, or hand it to ``streamlit_folium.st_folium`` after
        :func:`use_local_assets`. To draw the same map again, cache
        :func:`need_layers` and call :func:`draw_map`.

    Raises
    ------
    ValueRangeError
        If ``colour_by`` is not one of :data:`AREA_COLOUR_BY`.
    MissingColumnError
        If the colour column (or an input of the need score) is absent.
    """
    layers = need_layers(
        region,
        sites=sites,
        colour_by=colour_by,
        outline=outline,
        simplify_m=simplify_m,
        need_weights=need_weights,
        context=context,
    )
    return draw_map(layers, tiles=tiles, tile_attribution=tile_attribution)


#: Utilisation classes of a centre: (upper limit, colour, label); over 100% is flagged.
UTILISATION_CLASSES: tuple[tuple[float, str, str], ...] = (
    (0.70, "#C6DBEF", "Under 70% of capacity"),
    (0.85, "#6BAED6", "70–85%"),
    (1.00 + 1e-9, "#2171B5", "85–100%"),
    (math.inf, "#A50F15", "Over capacity (more than 100%)"),
)
_OVER = "#A50F15"
_FLAG = "#212B32"


def utilisation_colour(share: Any) -> str:
    """Colour of a centre's utilisation class (dark red over 100%).

    Examples
    --------
    >>> utilisation_colour(0.5), utilisation_colour(1.6)
    ('#C6DBEF', '#A50F15')
    """
    if _absent(share):
        return _NOT_COVERED
    return next(c for limit, c, _ in UTILISATION_CLASSES if float(share) < limit)


def over_capacity(share: Any) -> bool:
    """True when a utilisation share is above 100% (beyond rounding)."""
    return not _absent(share) and float(share) > 1.0 + 1e-9


def _centre_popup(row: pd.Series, names: dict[str, str], label: str, scale: float) -> str:
    def get(col: str) -> Any:
        return row[col] if col in row.index else None

    phase = get("phase")
    opening = (
        "Already open"
        if _missing(phase) or int(phase) <= 0
        else f"Year {int(phase)}, opening no. {int(get('order') or 0)}"
    )
    use = get("utilisation")
    use_text = format_percent(use)
    if over_capacity(use):
        use_text = (
            f'<b style="color:{_OVER}">{use_text} — over capacity: demand exceeds what '
            "its rooms can serve</b>"
        )
    rows = [
        ("Opens", opening),
        ("Population newly within reach", format_count(get("pop_newly_covered"))),
        ("of whom in IMD deciles 1–2", format_count(get("pop_newly_covered_imd12"))),
        ("Catchment healthy life expectancy (estimate)", format_years(get("catchment_hle_mean"))),
        ("Size", html.escape(str(get("size"))) if not _missing(get("size")) else "–"),
        ("Clinical rooms", format_count(get("rooms"))),
        ("Weekly capacity (appointments)", format_count(get("weekly_capacity"))),
        ("Weekly demand served", format_count(get("weekly_demand_served"))),
        ("Utilisation", use_text),
        ("Capital cost", format_gbp(get("capex_gbp"))),
    ]
    alt = get("best_alternative")
    if not _missing(alt) and str(alt):
        given = get("best_alternative_name")
        alt_name = names.get(str(alt), str(alt))
        if not _missing(given) and str(given):
            alt_name = str(given)
        rows.append(
            (
                "Next-best alternative",
                html.escape(describe_alternative(alt_name, get("swap_loss"), scale=scale)),
            )
        )
    table = "".join(
        f'<tr><th style="text-align:left;font-weight:500;padding:2px 8px 2px 0;color:#425563">'
        f'{html.escape(k)}</th><td style="padding:2px 0">{v}</td></tr>'
        for k, v in rows
    )
    why = get("why")
    why_html = (
        f'<p style="margin:6px 0 8px">{html.escape(str(why))}</p>' if not _missing(why) else ""
    )
    return (
        f"<div style=\"font:13px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;"
        f'color:#212B32"><div style="font-weight:700;font-size:14px;color:{NHS_BLUE}">'
        f"{html.escape(label)}</div>"
        f'<div style="color:#425563">{html.escape(str(get("site_id")))}</div>'
        f'{why_html}<table style="border-collapse:collapse">{table}</table></div>'
    )


def _plan_colours(
    areas: gpd.GeoDataFrame,
    centres: pd.DataFrame,
    colour_by: str,
    labels: dict[str, str],
) -> tuple[pd.Series, tuple[str, list[tuple[str, str, str]]]]:
    """Area colours of a plan map and the legend section that explains them."""
    from nhc_planner.map_context import neighbour_colours

    covered_after = areas["covered_after"].fillna(False).astype(bool)
    if colour_by == "catchment":
        order = _centre_order(centres)
        palette = neighbour_colours(areas[covered_after], "site_id", order)
        colours = areas["site_id"].astype(str).map(palette).where(covered_after)
        numbered = {
            str(r["site_id"]): _centre_title(r, labels[str(r["site_id"])])
            for _, r in centres.iterrows()
        }
        rows = [(palette[s], "square", numbered.get(s, s)) for s in order if s in palette]
        rows.append((_NOT_COVERED, "square", "Beyond the travel standard"))
        return colours, ("Catchment of each centre", rows)
    if colour_by == "coverage":
        colours, rows = _coverage_colours(areas)
        return colours, ("Within the travel standard", rows)
    if colour_by == "utilisation":
        use = dict(
            zip(centres["site_id"].astype(str), pd.to_numeric(centres["utilisation"]), strict=True)
        )
        colours = areas["site_id"].astype(str).map(lambda s: utilisation_colour(use.get(s)))
        colours = colours.where(covered_after)
        rows = [(c, "square", lab) for _, c, lab in UTILISATION_CLASSES]
        rows.append((_NOT_COVERED, "square", "Beyond the travel standard"))
        return colours, ("Use of the nearest centre's capacity", rows)
    _check_columns(areas, [colour_by], "plan.assignments")
    scale = _Scale(areas[colour_by], colour_by)
    return scale.colours, (scale.title, [(c, "square", lab) for c, lab in scale.rows])


def _centre_title(row: Any, label: str) -> str:
    phase = row["phase"]
    if _missing(phase) or int(phase) <= 0 or _missing(row["order"]):
        return f"{label} (already open)"
    return f"{int(row['order'])}. {label}"


def _centre_markers(
    centres: gpd.GeoDataFrame, labels: dict[str, str], names: dict[str, str], scale: float
) -> tuple[tuple[MapMarker, ...], dict[int, str], bool]:
    web = centres.to_crs(4326)
    phases: dict[int, str] = {}
    out: list[MapMarker] = []
    any_over = False
    for _, row in web.sort_values(["phase", "order"], kind="stable").iterrows():
        phase = 0 if _missing(row["phase"]) else int(row["phase"])
        colour = phase_colour(phase)
        phases[phase] = colour
        existing = phase <= 0
        text = "" if existing or _missing(row["order"]) else str(int(row["order"]))
        size = 18 if existing else 26
        use = row["utilisation"] if "utilisation" in row.index else None
        over = over_capacity(use)
        any_over = any_over or over
        inner = _marker_html(colour, "square" if existing else "circle", size=size, text=text)
        label = labels[str(row["site_id"])]
        tip = (
            (f"{text}. " if text else "")
            + html.escape(label)
            + (" (already open)" if existing else f" · year {phase}")
        )
        if over:
            tip += f" · over capacity ({format_percent(use)})"
        out.append(
            MapMarker(
                lat=float(row.geometry.y),
                lon=float(row.geometry.x),
                html=inner,
                size=size,
                class_name="nhc-centre nhc-over" if over else "nhc-centre",
                tooltip=tip,
                popup=_centre_popup(row, names, label, scale),
                z_index_offset=1000,
            )
        )
    return tuple(out), phases, any_over


def plan_layers(
    plan: PlanLike,
    *,
    colour_by: str = "catchment",
    simplify_m: float = 5.0,
    context: MapContext | None = None,
) -> MapLayers:
    """The layers of :func:`plan_map`, as cacheable data (see :class:`MapLayers`)."""
    if colour_by not in PLAN_COLOUR_BY:
        msg = f"plan_map: colour_by={colour_by!r}; expected one of {list(PLAN_COLOUR_BY)}"
        raise ValueRangeError(msg)
    areas, centres = plan.assignments, plan.centres
    _check_columns(areas, ["area_code", "site_id", "covered_after", "geometry"], "plan.assignments")
    _check_columns(centres, ["site_id", "name", "phase", "order", "geometry"], "plan.centres")
    if colour_by == "utilisation":
        _check_columns(centres, ["utilisation"], "plan.centres")
    ids = centres["site_id"].astype(str)
    from nhc_planner.map_context import with_places

    labels = dict(zip(ids, site_labels(with_places(centres, areas)), strict=True))
    names = dict(zip(ids, centres["name"].astype(str), strict=True))
    colours, section = _plan_colours(areas, centres, colour_by, labels)
    covered_after = areas["covered_after"].fillna(False).astype(bool)
    extra = {
        "Nearest centre in plan": areas["site_id"]
        .astype(str)
        .map(lambda s: html.escape(labels.get(s, "–"))),
    }
    if "minutes" in areas.columns:
        extra["Travel time"] = areas["minutes"].map(format_minutes)
    extra["Within standard after plan"] = covered_after.map({True: "yes", False: "no"})
    geo, fields, bounds = _area_layer(areas, colours, extra, simplify_m)
    if context is None:
        context = map_context(areas)
    covered = float(pd.to_numeric(centres.get("pop_newly_covered"), errors="coerce").sum())
    markers, phases, any_over = _centre_markers(centres, labels, names, max(covered, 1.0))
    centre_rows = [
        (c, "square" if p <= 0 else "circle", "Already open" if p <= 0 else f"Year {p}")
        for p, c in sorted(phases.items())
    ]
    if any_over:
        centre_rows.append((_FLAG, "circle", "Over capacity (more than 100%): dark ring and !"))
    legend = [section, ("Centres (number = opening order)", centre_rows)]
    hoods = neighbourhood_layer(plan, simplify_m)
    if hoods:
        legend.append(("Boundaries", [(NEIGHBOURHOOD_COLOUR, "line", "Neighbourhood")]))
    return MapLayers(
        bounds=bounds,
        areas=geo,
        area_fields=fields,
        outline=context.outline,
        roads=context.roads,
        labels=context.labels,
        markers=(("Centres", markers),),
        legend=_legend_with_context(legend, context),
        neighbourhoods=hoods,
    )


def plan_map(
    plan: PlanLike,
    *,
    colour_by: str = "catchment",
    tiles: str | None = None,
    tile_attribution: str | None = None,
    simplify_m: float = 5.0,
    context: MapContext | None = None,
) -> folium.Map:
    """Map a plan: numbered centres coloured by phase, with their catchments.

    Parameters
    ----------
    plan
        A :class:`nhc_planner.plan.Plan` (or any object with its ``centres`` and
        ``assignments`` frames).
    colour_by
        ``"catchment"`` (areas coloured by assigned centre, neighbouring
        catchments always in different colours, each centre in the legend;
        grey = beyond the travel standard), ``"coverage"`` (within reach before
        the plan, newly within reach by phase, or not), ``"utilisation"`` (areas
        by how full their centre is; over 100% in dark red), or an area
        measure as in :func:`need_map`. Centres over capacity are ringed and
        marked "!" whatever the colouring.
    tiles, tile_attribution, simplify_m, context
        As in :func:`need_map`.

    Returns
    -------
    folium.Map
        A new map each call. Clicking a centre shows why it was chosen and its figures.

    Raises
    ------
    ValueRangeError
        If ``colour_by`` is not one of :data:`PLAN_COLOUR_BY`.
    MissingColumnError
        If the plan's frames lack a column the map needs.
    """
    layers = plan_layers(plan, colour_by=colour_by, simplify_m=simplify_m, context=context)
    return draw_map(layers, tiles=tiles, tile_attribution=tile_attribution)


def _centre_order(centres: pd.DataFrame) -> list[str]:
    ranked = centres.assign(
        _p=pd.to_numeric(centres["phase"], errors="coerce").fillna(0),
        _o=pd.to_numeric(centres["order"], errors="coerce").fillna(0),
    ).sort_values(["_p", "_o", "site_id"], kind="stable")
    return [str(s) for s in ranked["site_id"]]


def _catchment_palette(covered: gpd.GeoDataFrame, order: Sequence[str]) -> dict[str, str]:
    """A colour per centre such that neighbouring catchments never share one."""
    from nhc_planner.map_context import neighbour_colours

    return neighbour_colours(covered, "site_id", order)


def _coverage_colours(areas: pd.DataFrame) -> tuple[pd.Series, list[tuple[str, str, str]]]:
    before = (
        areas["covered_before"].fillna(False).astype(bool)
        if "covered_before" in areas.columns
        else pd.Series(False, index=areas.index)
    )
    after = areas["covered_after"].fillna(False).astype(bool)
    phase = (
        pd.to_numeric(areas["phase_covered"], errors="coerce")
        if "phase_covered" in areas.columns
        else pd.Series(1.0, index=areas.index)
    )
    colours = pd.Series(_NOT_COVERED, index=areas.index, dtype=object)
    colours[before] = _COVERED_BEFORE
    new = after & ~before
    colours[new] = phase[new].map(
        lambda p: _tint(phase_colour(1 if _missing(p) else max(int(p), 1)))
    )
    rows = [(_COVERED_BEFORE, "square", "Already within reach")] if before.any() else []
    for p in sorted({1 if _missing(p) else max(int(p), 1) for p in phase[new]}):
        rows.append((_tint(phase_colour(p)), "square", f"Newly within reach, year {p}"))
    rows.append((_NOT_COVERED, "square", "Beyond the travel standard"))
    return colours, rows


# --------------------------------------------------------------------------- offline assets


def static_dir() -> Path:
    """Folder of the vendored browser assets (Leaflet, jQuery) shipped with the package.

    Examples
    --------
    >>> (static_dir() / "leaflet" / "leaflet.js").is_file()
    True
    """
    return _STATIC


def copy_assets(folder: str | Path) -> Path:
    """Copy the vendored assets (with their licences) into ``folder``; return it.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     (copy_assets(Path(tmp) / "assets") / "leaflet" / "LICENSE").is_file()
    True
    """
    dest = Path(folder)
    for rel in _ASSET_FILES:
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_STATIC / rel, target)
    return dest


def _walk(element: Element) -> Iterator[Element]:
    yield element
    for child in list(getattr(element, "_children", {}).values()):
        yield from _walk(child)


def _asset_text(rel: str) -> str:
    text = (_STATIC / rel).read_text(encoding="utf-8")
    text = re.sub(r"\n?//# sourceMappingURL=\S+\s*$", "\n", text)
    if rel.endswith(".css"):
        folder = (_STATIC / rel).parent

        def inline_image(match: re.Match[str]) -> str:
            data = base64.b64encode((folder / match.group(1)).read_bytes()).decode("ascii")
            return f"url(data:image/png;base64,{data})"

        text = re.sub(r"url\((images/[\w.-]+\.png)\)", inline_image, text)
    return text


def _data_uri(rel: str) -> str:
    mime = "text/css" if rel.endswith(".css") else "text/javascript"
    payload = base64.b64encode(_asset_text(rel).encode("utf-8")).decode("ascii")
    return f"data:{mime};base64,{payload}"


def _local_lists(
    element: JSCSSMixin, url: Any
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    lists: list[list[tuple[str, str]]] = [[], []]
    for index, pairs in enumerate((element.default_js, element.default_css)):
        for name, original in pairs:
            if name in _UNUSED:
                continue
            if name not in _VENDORED:
                msg = (
                    f"{type(element).__name__} needs '{name}' from {original}, which is not "
                    f"vendored in {_STATIC}; it cannot work offline. Vendored: "
                    f"{sorted(_VENDORED)}"
                )
                raise NhcInputError(msg)
            lists[index].append((name, url(_VENDORED[name][1])))
    return lists[0], lists[1]


def _clear_header_links(m: folium.Map) -> None:
    """Drop asset links an earlier render left in the page header."""
    header = getattr(m.get_root(), "header", None)
    if header is not None:
        for name in [*_VENDORED, *_UNUSED]:
            header._children.pop(name, None)


def use_local_assets(m: folium.Map, *, base_url: str | None = None) -> folium.Map:
    """Point every asset link of ``m`` at the vendored copies, in place; return ``m``.

    Bootstrap, icon fonts and the awesome-markers plugin that folium links by
    default are dropped: nothing built by this module uses them.

    Parameters
    ----------
    m
        A map from :func:`need_map` / :func:`plan_map` (or any folium map using
        only Leaflet and folium's core elements).
    base_url
        None (default): links become ``data:`` URIs holding the files, so the
        map needs no server at all (works inside ``streamlit_folium.st_folium``).
        Otherwise the URL of a folder holding :func:`copy_assets` output, e.g.
        ``"assets"`` (relative to a saved page) or ``"/app/static"`` (Streamlit
        static serving).

    Raises
    ------
    NhcInputError
        If an element of the map needs an asset that is not vendored (e.g. a
        folium plugin), naming it.
    """

    def url(rel: str) -> str:
        return _data_uri(rel) if base_url is None else f"{base_url.rstrip('/')}/{rel}"

    for element in _walk(m):
        if isinstance(element, JSCSSMixin):
            js, css = _local_lists(element, url)
            element.default_js = js
            element.default_css = css
    _clear_header_links(m)
    return m


def map_html(
    m: folium.Map, *, offline: Literal["inline", "relative"] = "inline", assets_url: str = "assets"
) -> str:
    """Return a complete HTML page of ``m`` that loads nothing from the internet.

    Parameters
    ----------
    m
        The map. Its asset links are rewritten in place (see :func:`use_local_assets`).
    offline
        ``"inline"``: Leaflet's JavaScript and CSS are written into the page (one
        self-contained file, about 250 kB plus the data). ``"relative"``: the page
        links to ``{assets_url}/leaflet/...``; copy the files there with
        :func:`copy_assets` (:func:`save_map` does).
    assets_url
        Folder URL of the assets for ``offline="relative"``.

    Returns
    -------
    str
        The HTML page. Only a basemap given with ``tiles=`` is fetched online.
    """
    if offline not in ("inline", "relative"):
        msg = f"map_html: offline={offline!r}; expected 'inline' or 'relative'"
        raise ValueRangeError(msg)
    if offline == "relative":
        use_local_assets(m, base_url=assets_url)
        return m.get_root().render()
    # Collect the needed assets, render without links, then inline them in <head>.
    needed: dict[str, str] = {}
    for element in _walk(m):
        if isinstance(element, JSCSSMixin):
            js, css = _local_lists(element, lambda rel: rel)
            needed.update(dict(js))
            needed.update(dict(css))
            element.default_js = []
            element.default_css = []
    _clear_header_links(m)
    page = m.get_root().render()
    styles = "".join(
        f"<style>\n{_asset_text(rel)}</style>\n"
        for name, rel in needed.items()
        if _VENDORED[name][0] == "css"
    )
    scripts = "".join(
        f"<script>\n{_asset_text(rel)}</script>\n"
        for name, rel in needed.items()
        if _VENDORED[name][0] == "js"
    )
    head = page.find("<head>")
    cut = head + len("<head>") if head >= 0 else 0
    return page[:cut] + "\n" + styles + scripts + page[cut:]


def save_map(
    m: folium.Map, path: str | Path, *, offline: Literal["inline", "relative"] = "inline"
) -> Path:
    """Write ``m`` as an offline HTML page; return its path.

    With ``offline="relative"`` the assets are copied to an ``assets`` folder
    beside the page (shared by every page in that folder).
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    if offline == "relative":
        copy_assets(target.parent / "assets")
    atomic_write_text(target, map_html(m, offline=offline, assets_url="assets"))
    return target


# --------------------------------------------------------------------------- static images


def static_map_png(
    subject: PlanLike | Region | gpd.GeoDataFrame,
    path: str | Path,
    *,
    title: str | None = None,
    dpi: int = 150,
    width_in: float = 8.0,
) -> Path:
    """Draw a static map image with matplotlib; return its path.

    A plan is drawn as areas by coverage (already within reach, newly within
    reach by year, beyond the standard) with numbered centres coloured by
    phase; a region (or an areas frame) as areas by IMD decile with its sites.

    Parameters
    ----------
    subject
        A plan, a :class:`~nhc_planner.region.Region` or an areas GeoDataFrame.
    path
        Output file (PNG, or any format matplotlib writes by its suffix).
    title
        Optional title drawn above the map.
    dpi, width_in
        Resolution and width (inches) of the image.
    """
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(subject, Region):
        areas, sites, centres = subject.areas, subject.sites, None
    elif isinstance(subject, gpd.GeoDataFrame):
        areas, sites, centres = subject, None, None
    else:
        areas, sites, centres = subject.assignments, None, subject.centres
    minx, miny, maxx, maxy = areas.total_bounds
    aspect = (maxy - miny) / max(maxx - minx, 1.0)
    fig = Figure(figsize=(width_in, max(3.5, min(width_in * aspect, 11.0)) + 0.6))
    ax = fig.add_subplot()
    handles: list[Any] = []
    if centres is not None:
        colours, rows = _coverage_colours(areas)
        areas.plot(ax=ax, color=colours.to_list(), edgecolor="white", linewidth=0.25)
        handles += [Patch(facecolor=c, edgecolor="#999", label=lab) for c, _, lab in rows]
    else:
        scale = _Scale(areas["imd_decile"], "imd_decile")
        areas.plot(ax=ax, color=scale.colours.to_list(), edgecolor="white", linewidth=0.25)
        handles += [Patch(facecolor=c, label=f"IMD {lab}") for c, lab in scale.rows]
    if "la_code" in areas.columns:
        areas[["la_code", "geometry"]].dissolve(by="la_code").boundary.plot(
            ax=ax, color="#212B32", linewidth=1.1
        )
    if sites is not None and len(sites):
        for kind, group in sites.groupby("kind", sort=True):
            colour, shape, label = KIND_STYLES.get(str(kind), KIND_STYLES["other"])
            marker = {"circle": "o", "square": "s", "diamond": "D", "triangle": "^"}[shape]
            ax.scatter(
                group.geometry.x,
                group.geometry.y,
                s=14,
                c=colour,
                marker=marker,
                edgecolors="white",
                linewidths=0.5,
                zorder=3,
            )
            handles.append(Line2D([], [], ls="", marker=marker, color=colour, label=label))
    if centres is not None and len(centres):
        for _, row in centres.sort_values(["phase", "order"], kind="stable").iterrows():
            phase = 0 if _missing(row["phase"]) else int(row["phase"])
            existing = phase <= 0
            ax.scatter(
                [row.geometry.x],
                [row.geometry.y],
                s=90 if existing else 200,
                c=phase_colour(phase),
                marker="s" if existing else "o",
                edgecolors="white",
                linewidths=1.2,
                zorder=4,
            )
            if not existing and not _missing(row["order"]):
                ax.annotate(
                    str(int(row["order"])),
                    (row.geometry.x, row.geometry.y),
                    ha="center",
                    va="center",
                    color="white",
                    fontsize=7,
                    fontweight="bold",
                    zorder=5,
                )
        seen = sorted({0 if _missing(p) else int(p) for p in centres["phase"]})
        handles += [
            Line2D(
                [],
                [],
                ls="",
                marker="s" if p <= 0 else "o",
                markersize=8,
                color=phase_colour(p),
                label="Centre already open" if p <= 0 else f"Centre opening year {p}",
            )
            for p in seen
        ]
    ax.set_axis_off()
    ax.set_aspect("equal")
    if title:
        ax.set_title(title, loc="left", fontsize=12, color="#212B32")
    ax.legend(
        handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=8
    )
    fig.tight_layout()
    fig.savefig(target, dpi=dpi, bbox_inches="tight", facecolor="white")
    return target
