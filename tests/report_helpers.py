"""A tiny synthetic region and a hand-built plan for the map and report tests.

The plan has the attributes documented in ``docs/architecture.md`` ("The
Plan") with hand-checkable numbers, so the maps and report can be tested
without running travel times or the optimiser.

Twelve 1 km square areas in a 4 x 3 grid (EPSG:27700) in two local
authorities (west: columns 0-1, east: columns 2-3); 1,000 residents each.
Three centres: an existing one (phase 0) and two new ones opening in years
1 and 2.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from nhc_planner.region import Region, RegionMeta
from nhc_planner.scenario import Scenario

X0, Y0, SIDE = 430_000.0, 433_000.0, 1_000.0
ROLES = ("gp", "nurse", "pharmacist", "mental_health", "allied_health", "admin")


def tiny_region(*, synthetic: bool = True) -> Region:
    """Twelve areas in two authorities and five sites of different kinds."""
    rows = []
    for i in range(12):
        col, row = i % 4, i // 4
        west = col < 2
        geom = box(X0 + col * SIDE, Y0 + row * SIDE, X0 + (col + 1) * SIDE, Y0 + (row + 1) * SIDE)
        decile = 1 + (i * 7) % 10
        rows.append(
            {
                "area_code": f"E0100{i:04d}",
                "area_name": f"Tinyton {i:03d}{'A' if west else 'B'} & Co",
                "la_code": "E08000001" if west else "E08000002",
                "la_name": "Westshire" if west else "Eastborough",
                "icb_code": "E54000001",
                "population": 1000.0,
                "pop_0_15": 200.0,
                "pop_16_64": 600.0,
                "pop_65_plus": 200.0,
                "imd_score": 60.0 - 5 * decile,
                "imd_rank": float(decile * 3000),
                "imd_decile": decile,
                "hle_years": 55.0 + 1.5 * decile,
                "demand_x": geom.centroid.x,
                "demand_y": geom.centroid.y,
                "demand_source": "inside",
                "geometry": geom,
            }
        )
    areas = gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:27700")
    site_rows = [
        ("S1", "Existing Health Centre", "existing_nhc", "existing", 0.5, 0.5),
        ("S2", "Market Street Surgery", "gp_practice", "candidate", 1.5, 1.5),
        ("S3", "Tinyton General", "hospital", "candidate", 3.5, 2.5),
        ("S4", "Corner Pharmacy", "pharmacy", "candidate", 2.5, 0.5),
        ("S5", "Library & Hub", "community_building", "candidate", 3.2, 1.4),
    ]
    sites = gpd.GeoDataFrame(
        {
            "site_id": [r[0] for r in site_rows],
            "name": [r[1] for r in site_rows],
            "kind": [r[2] for r in site_rows],
            "status": [r[3] for r in site_rows],
            "max_rooms": np.nan,
            "capex_gbp": np.nan,
            "annual_cost_gbp": np.nan,
        },
        geometry=[Point(X0 + r[4] * SIDE, Y0 + r[5] * SIDE) for r in site_rows],
        crs="EPSG:27700",
    )
    meta = RegionMeta(
        name="Tinyton",
        codes=("E08000001", "E08000002"),
        vintages={"imd": "IoD2025", "population": "Census 2021"},
        attribution=(
            "Contains public sector information licensed under the Open Government Licence v3.0.",
            "Road network © OpenStreetMap contributors, available under the Open Database "
            "Licence (ODbL).",
        ),
        notes=("HLE per area is estimated from the IMD gradient of the local authority.",),
        synthetic=synthetic,
    )
    return Region(areas=areas, sites=sites, meta=meta)


@dataclass
class FakePlan:
    """The documented Plan attributes, filled by :func:`tiny_plan`."""

    scenario: Any
    region_meta: RegionMeta
    provenance: dict[str, Any]
    centres: gpd.GeoDataFrame
    assignments: gpd.GeoDataFrame
    kpis: pd.DataFrame
    kpis_by_decile: pd.DataFrame
    kpis_by_hle_quintile: pd.DataFrame
    kpis_by_la: pd.DataFrame
    coverage_curve: pd.DataFrame
    solver: dict[str, Any]
    stability: pd.DataFrame | None = None
    extras: dict[str, Any] = field(default_factory=dict)


# centre per area: S1 (existing) serves the west, S3 (year 1) the east, S5 (year 2) the rest
_ASSIGN = ["S1", "S1", "S5", "S3", "S1", "S1", "S5", "S3", "S1", None, "S3", "S3"]
_PHASE = {"S1": 0, "S3": 1, "S5": 2}


def tiny_plan(*, synthetic: bool = True, gap: float = 0.0) -> FakePlan:
    """A hand-built plan on :func:`tiny_region` with known numbers.

    Coverage: before the plan 5 of 12 areas are within the standard (S1's:
    areas 0, 1, 4, 5, 8); year 1 adds 4 (S3: 3, 7, 10, 11), year 2 adds 2
    (S5: 2, 6); area 9 stays beyond it. Population within the standard goes
    from 5,000 to 11,000 of 12,000.
    """
    region = tiny_region(synthetic=synthetic)
    areas = region.areas
    site_id = pd.Series(_ASSIGN, dtype=object)
    phase_covered = site_id.map(_PHASE)
    covered_before = phase_covered.eq(0)
    covered_after = site_id.notna()
    assignments = gpd.GeoDataFrame(
        {
            "area_code": areas["area_code"],
            "area_name": areas["area_name"],
            "la_code": areas["la_code"],
            "la_name": areas["la_name"],
            "population": areas["population"],
            "imd_decile": areas["imd_decile"],
            "hle_years": areas["hle_years"],
            "need_score": areas["population"] * (1 + (10 - areas["imd_decile"]) / 9),
            "site_id": site_id,
            "minutes": np.where(covered_after, 4.0 + np.arange(12) % 9, np.inf),
            "covered_before": covered_before,
            "covered_after": covered_after,
            "phase_covered": phase_covered,
            "travel_method": "straight_line",
        },
        geometry=areas.geometry,
        crs="EPSG:27700",
    )
    sites = region.sites.set_index("site_id")
    chosen = ["S1", "S3", "S5"]
    centres = gpd.GeoDataFrame(
        {
            "site_id": chosen,
            "name": [sites.loc[s, "name"] for s in chosen],
            "kind": [sites.loc[s, "kind"] for s in chosen],
            "status": ["existing", "new", "new"],
            "phase": [0, 1, 2],
            "order": [0, 1, 2],
            "size": ["medium", "large", "small"],
            "rooms": [12, 20, 6],
            "weekly_capacity": [2600.0, 4300.0, 1300.0],
            "weekly_demand_served": [1900.0, 3100.0, 1200.0],
            "utilisation": [1900 / 2600, 3100 / 4300, 1200 / 1300],
            "pop_newly_covered": [0.0, 4000.0, 2000.0],
            "pop_newly_covered_imd12": [0.0, 2000.0, 1000.0],
            "catchment_hle_mean": [63.1, 60.4, 58.9],
            "swap_loss": [0.0, 1500.0, 400.0],
            "best_alternative": ["", "S4", "S2"],
            "why": [
                "Already open; kept in every plan.",
                "Brings 4,000 people within 15 minutes, half of them in the most deprived "
                "fifth; the best alternative (Corner Pharmacy) would reach 1,500 fewer.",
                "Reaches 2,000 more people, 1,000 in deciles 1–2, with the lowest healthy "
                "life expectancy of any catchment.",
            ],
            "capex_gbp": [0.0, 9_500_000.0, 3_200_000.0],
            "annual_cost_gbp": [1_100_000.0, 1_800_000.0, 650_000.0],
            **{f"wte_{r}": [4.0, 6.5, 2.0] for r in ROLES},
        },
        geometry=[sites.loc[s, "geometry"] for s in chosen],
        crs="EPSG:27700",
    )
    kpis = pd.DataFrame(
        {
            "metric": [
                "population_covered",
                "share_covered",
                "imd12_share_covered",
                "mean_minutes",
                "hle_weighted_coverage",
            ],
            "before": [5000.0, 5000 / 12000, 0.25, 18.2, 0.31],
            "after": [11000.0, 11000 / 12000, 0.75, 9.4, 0.82],
            "unit": ["people", "share", "share", "minutes", "share"],
        }
    )
    dec = assignments.groupby("imd_decile").agg(
        population=("population", "sum"),
        covered_before=("covered_before", "mean"),
        covered_after=("covered_after", "mean"),
    )
    kpis_by_decile = dec.reset_index().rename(
        columns={"covered_before": "share_before", "covered_after": "share_after"}
    )
    quint = assignments.assign(hle_quintile=(np.arange(12) // 3 + 1).clip(1, 5))
    kpis_by_hle_quintile = (
        quint.groupby("hle_quintile")
        .agg(
            population=("population", "sum"),
            share_before=("covered_before", "mean"),
            share_after=("covered_after", "mean"),
            hle_mean=("hle_years", "mean"),
        )
        .reset_index()
    )
    kpis_by_la = (
        assignments.groupby(["la_code", "la_name"])
        .agg(
            population=("population", "sum"),
            share_before=("covered_before", "mean"),
            share_after=("covered_after", "mean"),
        )
        .reset_index()
    )
    coverage_curve = pd.DataFrame(
        {
            "n_centres": [0, 1, 2, 3, 4],
            "population_covered": [5000.0, 9000.0, 11000.0, 11500.0, 11800.0],
            "share": [5000 / 12000, 9000 / 12000, 11000 / 12000, 11500 / 12000, 11800 / 12000],
        }
    )
    status = "optimal" if gap == 0 else "feasible"
    solver = {
        "status": status,
        "objective": 11000.0,
        "bound": 11000.0 * (1 + gap),
        "gap": gap,
        "solve_seconds": 0.42,
        "message": "",
    }
    return FakePlan(
        scenario=Scenario(),
        region_meta=region.meta,
        provenance={"nhc_planner": "0.1.0", "created": "2026-11-24T00:00:00Z"},
        centres=centres,
        assignments=assignments,
        kpis=kpis,
        kpis_by_decile=kpis_by_decile,
        kpis_by_hle_quintile=kpis_by_hle_quintile,
        kpis_by_la=kpis_by_la,
        coverage_curve=coverage_curve,
        solver=solver,
        stability=pd.DataFrame({"site_id": ["S3", "S5"], "share_chosen": [1.0, 0.6]}),
    )


# --------------------------------------------------------------------------- checks

# Hosts folium and friends load from by default; none may appear in offline output.
CDN_HOSTS = (
    "cdn.jsdelivr.net",
    "cdnjs.cloudflare.com",
    "code.jquery.com",
    "netdna.bootstrapcdn.com",
    "unpkg.com",
    "d3js.org",
    "tile.openstreetmap.org",
)
# URLs that appear in Leaflet's source as text, never fetched (SVG namespace,
# attribution link, comments in leaflet.css).
HARMLESS = ("http://www.w3.org/2000/svg", "https://leafletjs.com")

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


def fetched_urls(page: str) -> list[str]:
    """http(s) URLs in src/href attributes or CSS url(...) of a page."""
    attrs = re.findall(r"""(?:src|href)\s*=\s*["'](https?://[^"']+)""", page)
    css = re.findall(r"""url\(\s*["']?(https?://[^)"']+)""", page)
    return [u for u in attrs + css if not u.startswith(HARMLESS)]


def in_page(text: str, page: str) -> bool:
    """True if ``text`` is in the page as is or JSON-escaped (inside a script)."""
    return text in page or json.dumps(text)[1:-1] in page


def assert_offline(page: str) -> None:
    for host in CDN_HOSTS:
        assert host not in page, f"{host} referenced"
    assert fetched_urls(page) == []


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_or_skip() -> str:
    """Path of Debian's chromium; skip when absent, fail under CI."""
    if Path(CHROMIUM).is_file() or shutil.which("chromium"):
        return CHROMIUM if Path(CHROMIUM).is_file() else str(shutil.which("chromium"))
    reason = f"headless browser test needs chromium at {CHROMIUM} (apt-get install chromium)"
    if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
        pytest.fail(reason + "; under CI=true this is a failure")
    pytest.skip(reason)
    raise AssertionError("unreachable")


@contextmanager
def chromium_page(
    executable: str | None = None, *, width: int = 1200, height: int = 900
) -> Iterator[tuple[Any, list[str], list[str]]]:
    """A headless Chromium page that records its web requests and script errors.

    Parameters
    ----------
    executable
        Chromium to launch; :func:`chromium_or_skip` when None.
    width, height
        Viewport size in pixels.

    Yields
    ------
    page, external, errors
        The Playwright page; the ``http(s)`` URLs it requested and the page errors
        it raised, filled while it runs, for the caller to assert on.
    """
    from playwright.sync_api import sync_playwright

    path = executable if executable is not None else chromium_or_skip()
    external: list[str] = []
    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.on(
                "request",
                lambda r: external.append(r.url) if r.url.startswith("http") else None,
            )
            page.on("pageerror", lambda e: errors.append(str(e)))
            yield page, external, errors
        finally:
            browser.close()


def broken_images(page: Any) -> list[str]:
    """Sources of the images on ``page`` that did not load."""
    broken: list[str] = page.evaluate(
        "Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0)"
        ".map(i => i.src)"
    )
    return broken


def click_until_popup(marker, popup, *, attempts: int = 3, timeout_ms: int = 5_000) -> None:
    """Click a Leaflet marker until its popup shows.

    A click that lands while the map is still fitting its bounds (or before
    a lazily loaded frame settles) is lost; retry a few times.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for _ in range(attempts):
        marker.click()
        try:
            popup.wait_for(state="visible", timeout=timeout_ms)
        except PlaywrightTimeout:
            continue
        return
    msg = f"no popup after {attempts} clicks on {marker}"
    raise AssertionError(msg)
