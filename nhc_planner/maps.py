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

Figures are formatted for people by :func:`format_count`,
:func:`format_percent`, :func:`format_minutes`, :func:`format_years` and
:func:`format_gbp`, which the report and the app share.
"""

from __future__ import annotations

import base64
import html
import math
import re
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, MacroElement
from folium.elements import JSCSSMixin
from folium.template import Template

from nhc_planner._atomic import atomic_write_text
from nhc_planner._errors import MissingColumnError, NhcInputError, ValueRangeError
from nhc_planner.region import Region, RegionMeta
from nhc_planner.scenario import NeedWeights

__all__ = [
    "AREA_COLOUR_BY",
    "KIND_STYLES",
    "NHS_BLUE",
    "PHASE_COLOURS",
    "PLAN_COLOUR_BY",
    "PlanLike",
    "copy_assets",
    "describe_alternative",
    "format_count",
    "format_gbp",
    "format_minutes",
    "format_percent",
    "format_years",
    "map_html",
    "need_map",
    "phase_colour",
    "plan_map",
    "save_map",
    "static_dir",
    "static_map_png",
    "use_local_assets",
]

#: NHS identity blue, used for outlines and accents.
NHS_BLUE = "#005EB8"

#: Ways to colour areas on :func:`need_map`.
AREA_COLOUR_BY: tuple[str, ...] = ("need_score", "imd_decile", "hle_years")

#: Ways to colour areas on :func:`plan_map`.
PLAN_COLOUR_BY: tuple[str, ...] = ("catchment", "coverage", *AREA_COLOUR_BY)

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

# Paul Tol's "muted" qualitative palette for catchments (colour-blind safe).
_CATCHMENT_COLOURS: tuple[str, ...] = (
    "#88CCEE",
    "#CC6677",
    "#DDCC77",
    "#117733",
    "#332288",
    "#AA4499",
    "#44AA99",
    "#999933",
    "#882255",
)
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


# --------------------------------------------------------------------------- formatting


def _missing(value: Any) -> bool:
    try:
        return value is None or bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _absent(value: Any) -> bool:
    """Missing, or not a finite number."""
    if _missing(value):
        return True
    try:
        return not math.isfinite(float(value))
    except (TypeError, ValueError):
        return True


def format_count(value: Any) -> str:
    """Format a count of people or things with thousands separators.

    Examples
    --------
    >>> format_count(1234567.4)
    '1,234,567'
    >>> format_count(float("nan"))
    '–'
    """
    if _absent(value):
        return "–"
    return f"{float(value):,.0f}"


def format_percent(share: Any, *, digits: int = 0) -> str:
    """Format a share in 0..1 as a percentage.

    Examples
    --------
    >>> format_percent(0.4567)
    '46%'
    >>> format_percent(0.4567, digits=1)
    '45.7%'
    """
    if _absent(share):
        return "–"
    return f"{100 * float(share):.{digits}f}%"


def format_minutes(value: Any) -> str:
    """Format a travel time in minutes.

    Examples
    --------
    >>> format_minutes(12.34)
    '12.3 min'
    >>> format_minutes(float("inf"))
    'beyond the standard'
    """
    if _missing(value):
        return "–"
    if math.isinf(float(value)):
        return "beyond the standard"
    return f"{float(value):.1f} min"


def format_years(value: Any) -> str:
    """Format a number of years (healthy life expectancy).

    Examples
    --------
    >>> format_years(61.26)
    '61.3 years'
    """
    if _absent(value):
        return "–"
    return f"{float(value):.1f} years"


def format_gbp(value: Any) -> str:
    """Format pounds sterling, in millions from £1m.

    Examples
    --------
    >>> format_gbp(2_345_000)
    '£2.35m'
    >>> format_gbp(85_000)
    '£85,000'
    """
    if _absent(value):
        return "–"
    v = float(value)
    if abs(v) >= 1_000_000:
        return f"£{v / 1_000_000:,.2f}m"
    return f"£{v:,.0f}"


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


def describe_alternative(name: str, swap_loss: Any) -> str:
    """Say what swapping a centre for its best alternative site would change.

    ``swap_loss`` is in units of need (the optimiser's weights), positive when
    the chosen site is better by the final year of the plan.

    Examples
    --------
    >>> describe_alternative("Demo Library", 1234.0)
    'Demo Library (would leave 1,234 units of need outside the standard)'
    >>> describe_alternative("Demo Library", -50.0)[:47]
    'Demo Library (would cover 50 more units of need'
    """
    if _missing(swap_loss):
        return name
    loss = float(swap_loss)
    if loss > 0:
        return f"{name} (would leave {format_count(loss)} units of need outside the standard)"
    if loss == 0:
        return f"{name} (would serve as well)"
    return (
        f"{name} (would cover {format_count(-loss)} more units of need by the final year; "
        "this site was chosen for earlier years, capacity or equity floors)"
    )


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


class _BoundPopup(MacroElement):
    """A plain Leaflet popup bound to its parent layer (no jQuery, no iframe)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.bindPopup({{ this.html|tojson }},
            {maxWidth: {{ this.max_width|tojson }}, className: "nhc-popup"});
        {% endmacro %}
        """
    )

    def __init__(self, html_text: str, *, max_width: int = 360) -> None:
        super().__init__()
        self._name = "BoundPopup"
        self.html = html_text
        self.max_width = max_width


_BOX = (
    "background:rgba(255,255,255,0.94);padding:8px 10px;border-radius:4px;"
    "box-shadow:0 1px 4px rgba(0,0,0,0.3);font:12px/1.35 system-ui,-apple-system,"
    "'Segoe UI',Roboto,Arial,sans-serif;color:#212B32;max-width:240px"
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
            swatch = (
                _swatch(colour, shape)
                if shape in ("square", "circle")
                else f'<span style="display:inline-block;width:12px;margin-right:6px">'
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


def _new_map(
    bounds_4326: Sequence[float], tiles: str | None, tile_attribution: str | None
) -> folium.Map:
    minx, miny, maxx, maxy = bounds_4326
    m = folium.Map(
        location=[(miny + maxy) / 2, (minx + maxx) / 2],
        tiles=None,
        zoom_start=11,
        control_scale=True,
        prefer_canvas=False,
    )
    if tiles is not None:
        folium.TileLayer(
            tiles=tiles,
            attr=tile_attribution or _DEFAULT_TILE_ATTRIBUTION,
            name="Basemap",
        ).add_to(m)
    m.fit_bounds([[miny, minx], [maxy, maxx]])
    return m


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


def _area_web_frame(areas: gpd.GeoDataFrame, simplify_m: float) -> gpd.GeoDataFrame:
    """The areas' tooltip columns and simplified polygons in WGS84 (projected once per map)."""
    return _web_frame(areas[[*_area_fields(areas), "geometry"]], simplify_m)


def _add_areas(
    m: folium.Map,
    areas: gpd.GeoDataFrame,
    web: gpd.GeoDataFrame,
    colours: pd.Series,
    extra: dict[str, pd.Series] | None = None,
    *,
    name: str = "Areas",
) -> None:
    """Add the area polygons; ``web`` is :func:`_area_web_frame` of ``areas``."""
    fields = _area_fields(areas)
    keep = list(fields)
    props = pd.DataFrame(index=web.index)
    for col in keep:
        props[fields[col]] = [_format_area_value(col, v) for v in web[col]]
    if "area_code" in areas.columns:
        codes = areas["area_code"].reindex(web.index).astype(str).map(html.escape)
        label = fields.get("area_name", "Area")
        named = props[label] if label in props else pd.Series("", index=web.index)
        props[label] = [f"{n} ({c})" if n else c for n, c in zip(named, codes, strict=True)]
    for label, series in (extra or {}).items():
        props[label] = series.reindex(web.index).astype(str).to_numpy()
    props["_fill"] = colours.reindex(web.index).fillna(_NOT_COVERED).to_numpy()
    data = gpd.GeoDataFrame(props, geometry=web.geometry, crs=web.crs)
    labels = [c for c in props.columns if c != "_fill"]
    folium.GeoJson(
        data.__geo_interface__,
        name=name,
        style_function=lambda f: {
            "fillColor": f["properties"]["_fill"],
            "color": "#FFFFFF",
            "weight": 0.6,
            "fillOpacity": 0.78,
        },
        highlight_function=lambda f: {"weight": 2.5, "color": "#212B32"},
        tooltip=folium.GeoJsonTooltip(fields=labels, aliases=labels, sticky=True),
        popup=folium.GeoJsonPopup(fields=labels, aliases=labels),
        smooth_factor=0.5,
    ).add_to(m)


def _add_outline(m: folium.Map, areas: gpd.GeoDataFrame) -> None:
    if "la_code" not in areas.columns:
        return
    cols = ["la_code", "la_name"] if "la_name" in areas.columns else ["la_code"]
    las = areas[[*cols, "geometry"]].dissolve(by=cols, as_index=False)
    las["geometry"] = las.geometry.boundary
    web = _web_frame(las, 10.0)
    web["Local authority"] = [
        html.escape(str(r.get("la_name", r["la_code"]))) + f" ({html.escape(str(r['la_code']))})"
        for _, r in web.iterrows()
    ]
    folium.GeoJson(
        web[["Local authority", "geometry"]].__geo_interface__,
        name="Local authority boundary",
        style_function=lambda f: {"color": "#212B32", "weight": 2.2, "fill": False},
        tooltip=folium.GeoJsonTooltip(fields=["Local authority"], labels=False),
    ).add_to(m)


def _add_sites(m: folium.Map, sites: gpd.GeoDataFrame) -> list[tuple[str, str, str]]:
    if len(sites) == 0:
        return []
    web = sites.to_crs(4326)
    group = folium.FeatureGroup(name="Existing and candidate sites")
    used: dict[str, tuple[str, str, str]] = {}
    for _, row in web.iterrows():
        kind = str(row.get("kind", "other"))
        colour, shape, label = KIND_STYLES.get(kind, KIND_STYLES["other"])
        used[kind] = (colour, shape, label)
        status = str(row.get("status", ""))
        marker = folium.Marker(
            [row.geometry.y, row.geometry.x],
            icon=folium.DivIcon(
                html=_marker_html(colour, shape, size=11),
                icon_size=(11, 11),
                icon_anchor=(5, 5),
                class_name="nhc-site",
            ),
            tooltip=folium.Tooltip(
                f"{html.escape(str(row.get('name', row.get('site_id', ''))))}"
                f" &middot; {html.escape(label)}"
                + (f" &middot; {html.escape(status)}" if status else "")
            ),
        )
        marker.add_to(group)
    group.add_to(m)
    return [used[k] for k in KIND_STYLES if k in used]


# --------------------------------------------------------------------------- public maps


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

    Returns
    -------
    folium.Map
        Render it with :func:`map_html` / :func:`save_map`, or hand it to
        ``streamlit_folium.st_folium`` after :func:`use_local_assets`.

    Raises
    ------
    ValueRangeError
        If ``colour_by`` is not one of :data:`AREA_COLOUR_BY`.
    MissingColumnError
        If the colour column (or an input of the need score) is absent.
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
    web_areas = _area_web_frame(areas, simplify_m)
    m = _new_map(web_areas.total_bounds, tiles, tile_attribution)
    _add_areas(m, areas, web_areas, scale.colours)
    if outline:
        _add_outline(m, areas)
    site_rows: list[tuple[str, str, str]] = []
    if site_frame is not None and sites is not False:
        site_rows = _add_sites(m, site_frame)
    legend = [(scale.title, [(c, "square", lab) for c, lab in scale.rows])]
    if site_rows:
        legend.append(("Sites", [(c, s, lab) for c, s, lab in site_rows]))
    _HtmlControl(_legend_html(legend)).add_to(m)
    return m


def _centre_popup(row: pd.Series, names: dict[str, str]) -> str:
    def get(col: str) -> Any:
        return row[col] if col in row.index else None

    phase = get("phase")
    opening = (
        "Already open"
        if _missing(phase) or int(phase) <= 0
        else f"Year {int(phase)}, opening no. {int(get('order') or 0)}"
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
        ("Utilisation", format_percent(get("utilisation"))),
        ("Capital cost", format_gbp(get("capex_gbp"))),
    ]
    alt = get("best_alternative")
    if not _missing(alt) and str(alt):
        given = get("best_alternative_name")
        alt_name = names.get(str(alt), str(alt))
        if not _missing(given) and str(given):
            alt_name = str(given)
        rows.append(
            ("Next-best alternative", html.escape(describe_alternative(alt_name, get("swap_loss"))))
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
        f"{html.escape(str(get('name')))}</div>"
        f'<div style="color:#425563">{html.escape(str(get("site_id")))}</div>'
        f'{why_html}<table style="border-collapse:collapse">{table}</table></div>'
    )


def plan_map(
    plan: PlanLike,
    *,
    colour_by: str = "catchment",
    tiles: str | None = None,
    tile_attribution: str | None = None,
    simplify_m: float = 5.0,
) -> folium.Map:
    """Map a plan: numbered centres coloured by phase, with their catchments.

    Parameters
    ----------
    plan
        A :class:`nhc_planner.plan.Plan` (or any object with its ``centres`` and
        ``assignments`` frames).
    colour_by
        ``"catchment"`` (areas coloured by assigned centre; grey = beyond the
        travel standard), ``"coverage"`` (within reach before the plan, newly
        within reach by phase, or not), or an area measure as in :func:`need_map`.
    tiles, tile_attribution, simplify_m
        As in :func:`need_map`.

    Returns
    -------
    folium.Map
        Clicking a centre shows why it was chosen and its figures.

    Raises
    ------
    ValueRangeError
        If ``colour_by`` is not one of :data:`PLAN_COLOUR_BY`.
    MissingColumnError
        If the plan's frames lack a column the map needs.
    """
    if colour_by not in PLAN_COLOUR_BY:
        msg = f"plan_map: colour_by={colour_by!r}; expected one of {list(PLAN_COLOUR_BY)}"
        raise ValueRangeError(msg)
    areas, centres = plan.assignments, plan.centres
    _check_columns(areas, ["area_code", "site_id", "covered_after", "geometry"], "plan.assignments")
    _check_columns(centres, ["site_id", "name", "phase", "order", "geometry"], "plan.centres")
    names = dict(zip(centres["site_id"].astype(str), centres["name"].astype(str), strict=True))
    order = _centre_order(centres)
    covered_after = areas["covered_after"].fillna(False).astype(bool)
    legend: list[tuple[str, list[tuple[str, str, str]]]] = []
    if colour_by == "catchment":
        palette = _catchment_palette(areas[covered_after], order)
        colours = areas["site_id"].astype(str).map(palette).where(covered_after)
        legend.append(
            (
                "Catchments",
                [
                    ("#88CCEE", "square", "Area within reach (colour per centre)"),
                    (_NOT_COVERED, "square", "Beyond the travel standard"),
                ],
            )
        )
    elif colour_by == "coverage":
        colours, rows = _coverage_colours(areas)
        legend.append(("Within the travel standard", rows))
    else:
        _check_columns(areas, [colour_by], "plan.assignments")
        scale = _Scale(areas[colour_by], colour_by)
        colours = scale.colours
        legend.append((scale.title, [(c, "square", lab) for c, lab in scale.rows]))
    extra = {
        "Nearest centre in plan": areas["site_id"]
        .astype(str)
        .map(lambda s: html.escape(names.get(s, "–"))),
    }
    if "minutes" in areas.columns:
        extra["Travel time"] = areas["minutes"].map(format_minutes)
    extra["Within standard after plan"] = covered_after.map({True: "yes", False: "no"})
    web_areas = _area_web_frame(areas, simplify_m)
    m = _new_map(web_areas.total_bounds, tiles, tile_attribution)
    _add_areas(m, areas, web_areas, colours, extra, name="Areas")
    _add_outline(m, areas)
    group = folium.FeatureGroup(name="Centres")
    web = centres.to_crs(4326)
    phases: dict[int, str] = {}
    for _, row in web.sort_values(["phase", "order"], kind="stable").iterrows():
        phase = 0 if _missing(row["phase"]) else int(row["phase"])
        colour = phase_colour(phase)
        phases[phase] = colour
        existing = phase <= 0
        text = "" if existing or _missing(row["order"]) else str(int(row["order"]))
        size = 18 if existing else 26
        marker = folium.Marker(
            [row.geometry.y, row.geometry.x],
            icon=folium.DivIcon(
                html=_marker_html(colour, "square" if existing else "circle", size=size, text=text),
                icon_size=(size, size),
                icon_anchor=(size // 2, size // 2),
                class_name="nhc-centre",
            ),
            tooltip=folium.Tooltip(
                (f"{text}. " if text else "")
                + html.escape(str(row["name"]))
                + (" (already open)" if existing else f" · year {phase}")
            ),
            z_index_offset=1000,
        )
        _BoundPopup(_centre_popup(row, names)).add_to(marker)
        marker.add_to(group)
    group.add_to(m)
    legend.append(
        (
            "Centres (number = opening order)",
            [
                (c, "square" if p <= 0 else "circle", "Already open" if p <= 0 else f"Year {p}")
                for p, c in sorted(phases.items())
            ],
        )
    )
    _HtmlControl(_legend_html(legend)).add_to(m)
    return m


def _centre_order(centres: pd.DataFrame) -> list[str]:
    ranked = centres.assign(
        _p=pd.to_numeric(centres["phase"], errors="coerce").fillna(0),
        _o=pd.to_numeric(centres["order"], errors="coerce").fillna(0),
    ).sort_values(["_p", "_o", "site_id"], kind="stable")
    return [str(s) for s in ranked["site_id"]]


def _catchment_palette(covered: gpd.GeoDataFrame, order: Sequence[str]) -> dict[str, str]:
    """A colour per centre such that neighbouring catchments differ where possible.

    Greedy colouring in opening order over the graph of catchments that touch;
    falls back to cycling the palette when every colour is taken by a neighbour.
    """
    catchments = covered[["site_id", "geometry"]].assign(site_id=covered["site_id"].astype(str))
    catchments = catchments.dissolve(by="site_id")
    ids = [str(s) for s in catchments.index]
    geoms = catchments.geometry.buffer(1.0).to_numpy()
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    neighbours: dict[str, set[str]] = {sid: set() for sid in ids}
    for i, j in zip(left, right, strict=True):
        if i != j:
            neighbours[ids[i]].add(ids[j])
    palette: dict[str, str] = {}
    for rank, sid in enumerate(order):
        taken = {palette[n] for n in neighbours.get(sid, ()) if n in palette}
        free = [c for c in _CATCHMENT_COLOURS if c not in taken]
        palette[sid] = free[0] if free else _CATCHMENT_COLOURS[rank % len(_CATCHMENT_COLOURS)]
    return palette


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
