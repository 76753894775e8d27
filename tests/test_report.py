"""Tests for nhc_planner.report: the offline regional report folder."""

from __future__ import annotations

import importlib.util
import re

import pandas as pd
import pytest

from nhc_planner._errors import MissingColumnError, NhcRuntimeError
from nhc_planner.report import solver_summary, write_report
from tests.report_helpers import (
    ARTIFACTS,
    assert_offline,
    broken_images,
    chromium_or_skip,
    chromium_page,
    click_until_popup,
    tiny_plan,
    tiny_region,
)


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    write_report(tiny_plan(gap=0.012), folder)
    return folder


@pytest.fixture(scope="module")
def page(report_dir) -> str:
    return (report_dir / "index.html").read_text(encoding="utf-8")


def text_of(html: str) -> str:
    """Visible text, roughly: tags removed, whitespace collapsed."""
    no_style = re.sub(r"<style.*?</style>", " ", html, flags=re.DOTALL)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", no_style)).replace("&#39;", "'")


def test_folder_is_self_contained(report_dir, page):
    for rel in (
        "index.html",
        "map.html",
        "assets/leaflet/leaflet.js",
        "assets/leaflet/LICENSE",
        "figures/map.png",
        "figures/phasing.png",
        "figures/equity_decile.png",
        "figures/coverage_curve.png",
    ):
        assert (report_dir / rel).is_file(), rel
    assert_offline(page)
    assert_offline((report_dir / "map.html").read_text(encoding="utf-8"))
    # every image the report shows is in the folder
    for src in re.findall(r'<img[^>]+src="([^"]+)"', page):
        assert (report_dir / src).is_file(), src
    assert "<link" not in page  # CSS is inline


def test_summary_in_words_and_numbers(page):
    text = text_of(page)
    # one horizon everywhere: the scenario's 5 years (as the CLI summary says), and when
    # the last centre opens
    assert (
        "The plan opens 2 new neighbourhood health centres over 5 years "
        "(the last opens in year 2)" in text
    )
    assert "1 already open" in text
    # 5 of 12 areas (1,000 residents each) within reach before, 11 after
    assert "rise from 5,000 (42%) to 11,000 (92%) of 12,000" in text
    assert "15 minutes' drive" in text
    assert "£12.70m" in text  # 9.5m + 3.2m capital
    assert "+6,000" in text  # KPI card change


def test_centre_cards_give_reasons_capacity_and_staffing(page):
    text = text_of(page)
    assert "Brings 4,000 people within 15 minutes" in text
    assert "Opens in year 1" in text
    assert "Already open" in text
    assert "4,300 appointments" in text
    assert "large · 20 rooms" in text
    alternative = "(would leave 1,500 need-weighted residents outside the standard)"
    assert "units of need" not in text
    assert "Corner Pharmacy" in text or f"S4 {alternative}" in text
    assert "Chosen in sensitivity runs" in text
    assert "Total WTE" in text
    assert "39.0" in text  # 6 roles x 6.5 WTE


def test_equity_tables_by_decile_quintile_and_authority(page):
    text = text_of(page)
    assert "Coverage by IMD decile" in text
    assert "Coverage by healthy life expectancy quintile" in text
    assert "Coverage by local authority" in text
    assert "Westshire" in text
    assert "Eastborough" in text


def test_every_hle_figure_says_estimate(page):
    labels = re.findall(r'<(?:th|dt|caption|div class="label")[^>]*>(.*?)</', page, re.DOTALL)
    hle_labels = [lab for lab in labels if "HLE" in lab or "life expectancy" in lab.lower()]
    assert len(hle_labels) >= 4  # table headers, card figures, KPI card, caption
    for label in hle_labels:
        assert "estimate" in label.lower(), label
    assert "Every HLE figure in this report is such an estimate" in page


def test_method_sources_and_solver_status(page):
    text = text_of(page)
    assert "Open Government Licence" in text
    assert "OpenStreetMap contributors" in text
    assert "ODbL" in text
    assert "Leaflet (BSD 2-Clause licence)" in text
    assert "IoD2025" in text
    assert "12 hours a day, 6 days a week" in text
    assert "straight-line estimates" in text
    assert "within 1.2% of the best possible" in text
    assert "All scenario settings" in text
    assert "travel.standard_min" in text


def test_synthetic_banner_only_for_synthetic(tmp_path, page):
    assert "SYNTHETIC DATA" in page
    real = write_report(tiny_plan(synthetic=False), tmp_path / "real").read_text()
    assert "SYNTHETIC DATA" not in real
    assert "Optimal" in real


def test_solver_summary_words():
    assert solver_summary({"status": "optimal", "gap": 0}).startswith("Optimal")
    assert "within 5.0%" in solver_summary({"status": "feasible", "gap": 0.05})
    assert "No plan meets" in solver_summary({"status": "infeasible"})
    # a plan's own plain-words message is used when it says what the status means
    msg = "Optimal: the solver proved it."
    assert solver_summary({"status": "optimal", "message": msg}) == msg


def test_missing_plan_column_is_named(tmp_path):
    plan = tiny_plan()
    plan.assignments = plan.assignments.drop(columns="covered_after")
    with pytest.raises(MissingColumnError, match="covered_after"):
        write_report(plan, tmp_path)


@pytest.mark.skipif(
    importlib.util.find_spec("weasyprint") is not None, reason="weasyprint is installed"
)
def test_pdf_without_weasyprint_says_what_to_install(tmp_path):
    with pytest.raises(NhcRuntimeError, match="pip install weasyprint"):
        write_report(tiny_plan(), tmp_path, pdf=True)
    assert not (tmp_path / "index.html").exists()


@pytest.mark.skipif(importlib.util.find_spec("weasyprint") is None, reason="needs weasyprint")
def test_pdf_with_weasyprint(tmp_path):
    write_report(tiny_plan(), tmp_path, pdf=True)
    assert (tmp_path / "report.pdf").read_bytes()[:4] == b"%PDF"


def test_real_plan_report(tmp_path):
    """A plan made by nhc_planner.plan on the tiny region writes a full report."""
    from nhc_planner.plan import plan as make_plan
    from nhc_planner.scenario import Scenario

    scenario = Scenario().replace(**{"phasing.years": 2, "travel.standard_min": 3.0})
    result = make_plan(tiny_region(), scenario)
    index = result.to_html(tmp_path)
    page = index.read_text(encoding="utf-8")
    text = text_of(page)
    assert_offline(page)
    for name in result.centres["name"]:
        assert name.replace("&", "&amp;") in page
    for why in result.centres["why"]:
        assert why.split(".")[0] in text.replace("&amp;", "&")
    assert "3 minutes' drive" in text
    assert "SYNTHETIC DATA" in page


@pytest.mark.browser
def test_report_renders_offline_in_headless_chromium(report_dir):
    with chromium_page() as (page, external, errors):
        page.goto((report_dir / "index.html").as_uri())
        page.wait_for_load_state("load")
        assert broken_images(page) == []
        page.locator("iframe.mapframe").scroll_into_view_if_needed()
        frame = page.frame_locator("iframe.mapframe")
        frame.locator(".leaflet-container").wait_for()
        assert frame.locator("path.leaflet-interactive").count() >= 12
        assert frame.locator(".nhc-centre").count() == 3
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "report_top.png"))
        page.screenshot(path=str(ARTIFACTS / "report_full.png"), full_page=True)
        page.emulate_media(media="print")
        assert not page.locator("iframe.mapframe").is_visible()
    assert external == []
    assert errors == []


@pytest.mark.slow
@pytest.mark.browser
def test_demo_region_report_in_headless_chromium(tmp_path):
    """The built-in demo region's full plan and report, checked in a real browser."""
    executable = chromium_or_skip()
    from nhc_planner.demo import demo_region
    from nhc_planner.plan import plan as make_plan

    result = make_plan(demo_region())
    index = result.to_html(tmp_path / "demo")
    html = index.read_text(encoding="utf-8")
    assert_offline(html)
    assert "SYNTHETIC DATA" in html
    n_new = int((result.centres["phase"] > 0).sum())
    with chromium_page(executable) as (page, external, errors):
        page.goto(index.as_uri())
        page.wait_for_load_state("load")
        assert broken_images(page) == []
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "demo_report_top.png"))
        page.locator("iframe.mapframe").scroll_into_view_if_needed()
        frame = page.frame_locator("iframe.mapframe")
        frame.locator(".leaflet-container").wait_for()
        assert frame.locator("path.leaflet-interactive").count() >= len(result.assignments)
        assert frame.locator(".nhc-centre").count() == len(result.centres)
        popup = frame.locator(".leaflet-popup-content")
        click_until_popup(frame.locator(".nhc-centre", has_text="1").first, popup)
        first = result.centres.sort_values("order").query("order == 1").iloc[0]
        assert str(first["name"]) in popup.inner_text()
        page.wait_for_timeout(800)  # the popup's fade-in and the map's pan, for the picture
        page.screenshot(path=str(ARTIFACTS / "demo_report_map.png"))
        page.screenshot(path=str(ARTIFACTS / "demo_report_full.png"), full_page=True)
    assert n_new > 0
    assert external == []
    assert errors == []


def _plan_with_words_to_check():
    """The tiny plan with a tie, an over-full centre, join notes and lookup vintages."""
    from dataclasses import replace

    plan = tiny_plan(synthetic=False)
    c = plan.centres
    c.loc[c["site_id"] == "S3", "utilisation"] = 1.6
    c.loc[c["site_id"] == "S5", "swap_loss"] = -7.27596e-12
    c.loc[c["site_id"] == "S5", "name"] = "Tinyton General"  # shares S3's name
    meta = replace(
        plan.region_meta,
        vintages={**plan.region_meta.vintages, "lsoa_icb": "lookup_lsoa21_icb24.csv"},
        notes=(
            *plan.region_meta.notes,
            "Join report: 12 area(s) built of 12 selected (12 in the boundary file).",
            "census.csv (population by age): Census age categories mapped to bands: "
            "'Aged 15 years and under' -> pop_0_15",
        ),
    )
    return replace(plan, region_meta=meta)


@pytest.fixture(scope="module")
def worded(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("worded")
    return text_of(write_report(_plan_with_words_to_check(), folder).read_text(encoding="utf-8"))


def test_ties_over_capacity_and_repeated_names_are_worded(worded):
    assert "a tie: it would reach exactly as much need" in worded
    assert "more need-weighted residents by the final year" not in worded  # no false trade-off
    assert "160% — over capacity" in worded
    assert "Over capacity: expected demand is above" in worded
    assert "Tinyton General (hospital, Tinyton 011B &amp; Co)" in worded
    assert "Tinyton General (community building, Tinyton 007B &amp; Co)" in worded


def test_sources_readable_and_join_notes_in_an_appendix(worded):
    assert "LSOA to ICB lookup" in worded
    assert "Lsoa icb" not in worded
    method = worded.split("Method and assumptions", 1)[1].split("Data sources", 1)[0]
    assert "Join report" not in method
    assert "pop_0_15" not in method
    assert "HLE per area is estimated" in method  # a note about the method stays there
    appendix = worded.split("Appendix: how the data files were read and joined", 1)[1]
    assert "Join report: 12 area(s)" in appendix
    assert "pop_0_15" in appendix


def test_demand_point_wording_follows_the_data(tmp_path, worded):
    from dataclasses import replace

    # the tiny plan's areas were measured from a point inside each (no centroids given)
    assert "population-weighted" not in worded.split("Travel standard:", 1)[1][:200]
    assert "a point inside it" in worded
    plan = _plan_with_words_to_check()
    pwc = plan.assignments.assign(demand_source="pwc")
    text = text_of(write_report(replace(plan, assignments=pwc), tmp_path).read_text())
    assert "when its population-weighted centre is within" in text


@pytest.mark.browser
def test_report_first_page_screenshot(report_dir):
    """The first screen of the report: title, headline and KPI cards, drawn (not blank)."""
    import io

    from PIL import Image

    with chromium_page(width=1200, height=900) as (page, external, errors):
        page.goto((report_dir / "index.html").as_uri())
        page.wait_for_load_state("load")
        ARTIFACTS.mkdir(exist_ok=True)
        shot = page.screenshot(path=str(ARTIFACTS / "report_first_page.png"))
        for text in ("Neighbourhood health centre plan: Tinyton", "SYNTHETIC DATA"):
            box = page.get_by_text(text, exact=False).first.bounding_box()
            assert box is not None, text
            assert 0 <= box["y"] < 900, f"{text!r} is below the first screen"
        assert page.locator(".kpi").count() >= 3
        assert page.locator(".kpi").first.bounding_box()["y"] < 900
    image = Image.open(io.BytesIO(shot)).convert("RGB")
    assert image.size == (1200, 900)
    pixels = list(image.getdata())
    ink = sum(1 for p in pixels if sum(p) < 600) / len(pixels)
    assert 0.02 < ink < 0.6, f"first page is {ink:.0%} ink: blank or a solid block"
    blue = sum(1 for r, g, b in pixels if b > 150 and r < 40 and 70 < g < 120)
    assert blue > 500  # NHS blue accents are drawn
    assert external == []
    assert errors == []


def test_coverage_curve_marks_the_plan_at_the_headline_share(page):
    text = text_of(page)
    # the headline says 92% (11,000 of 12,000); the curve's note and marker say the same,
    # not the greedy curve's value at 2 centres
    assert "rise from 5,000 (42%) to 11,000 (92%)" in text
    assert "reaches 92% with 2 new centres (the red point)" in text


def test_hle_fifths_note_says_ties_stay_together(page):
    assert "areas with the same estimate always fall in the same fifth" in text_of(page)


def test_need_overlap_names_the_most_correlated_pair():
    from nhc_planner.report import _need_overlap

    corr = pd.DataFrame(
        {
            "term": ["deprivation", "hle_gap", "older"],
            "label": ["deprivation (IMD decile)", "HLE gap", "share aged 65+"],
            "weight": [1.0, 1.0, 0.0],
            "deprivation": [1.0, 0.97, -0.2],
            "hle_gap": [0.97, 1.0, -0.1],
            "older": [-0.2, -0.1, 1.0],
        }
    )
    text = _need_overlap(corr)
    assert "deprivation (IMD decile) and HLE gap correlate at 0.97" in text
    assert _need_overlap(None) == ""
    assert _need_overlap(corr.iloc[:1]) == ""


def test_mixed_mode_report_says_the_standard_and_no_car_coverage(tmp_path):
    """A plan by the mixed mode: the standard in a planner's words, households without a car."""
    import numpy as np
    import pandas as pd

    from nhc_planner.plan import plan
    from nhc_planner.region import Region
    from tests.test_plan import FAST, grid_region

    region = grid_region()
    areas = region.areas.copy()
    areas["households"] = 400.0
    areas["households_no_car"] = np.where(areas["imd_decile"] <= 3, 120.0, 20.0)
    region = Region(areas=areas, sites=region.sites, meta=region.meta)
    # a published matrix: every pair by bus at twice the crow-fly drive estimate
    from nhc_planner.travel import straight_line_times

    bus = straight_line_times(areas, region.sites, mode="drive", cutoff_min=60).long
    path = tmp_path / "pt.csv"
    pd.DataFrame(
        {"area_code": bus["area_code"], "site_id": bus["site_id"], "minutes": 2 * bus["minutes"]}
    ).to_csv(path, index=False)
    scenario = FAST.replace(
        **{"travel.mode": "mixed", "travel.engine": "mixed", "travel.matrix": str(path)}
    )
    html = write_report(plan(region, scenario), tmp_path / "report").read_text(encoding="utf-8")
    text = text_of(html)
    assert "Share of households without a car within the standard" in text
    assert "households without one reachable by bus or on foot within 5 minutes" in text
    assert "Census 2021 TS045" in text
