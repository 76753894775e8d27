"""Tests of the Streamlit app (app.py, app_pages/) with streamlit.testing.v1.AppTest.

The app runs on the built-in demo region. Results are kept in
``st.cache_resource`` stores that live for the whole test process, so the
demo region, its travel times and each plan are computed once and shared by
the tests. The map component (st_folium) is checked in a real browser in
tests/test_app_browser.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.builders import GOOD_FILES, SMALL

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
# Generous: the first run generates the demo region and its travel times on a
# shared machine. Tests do not measure speed.
TIMEOUT = 300
PAGES = ("area", "need", "policy", "plan", "judge", "compare", "export")


def _page(at: AppTest, page: str) -> AppTest:
    at.switch_page(f"app_pages/{page}.py")
    return at.run()


def _fresh() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    return at.run()


def _assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def test_app_loads_on_the_demo_region() -> None:
    at = _fresh()
    _assert_clean(at)
    assert at.title[0].value == "Choose the area"
    assert any("Demoshire" in h.value for h in at.subheader)
    labels = {m.label: m.value for m in at.metric}
    assert labels["Small areas"] == "550"
    assert any("synthetic demo data" in w.value.lower() for w in at.warning)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_without_error(page: str) -> None:
    at = _page(_fresh(), page)
    _assert_clean(at)
    assert at.title, f"page {page} shows no title"


def _coverage_model(at: AppTest) -> AppTest:
    """Choose the coverage planning model on the policy page (tests of its behaviour)."""
    at = _page(at, "policy")
    at.selectbox(key="policy.model").set_value("coverage")
    return at.run()


def _kpis(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_changing_centres_and_standard_replans_and_updates_kpis() -> None:
    at = _page(_coverage_model(_fresh()), "judge")
    _assert_clean(at)
    before = _kpis(at)
    assert "Residents within 15 minutes' drive" in before

    at = _page(at, "policy")
    _assert_clean(at)
    at.number_input(key="total_new").set_value(3)
    at.slider(key="travel.standard_min").set_value(10.0)
    at.run()
    _assert_clean(at)
    s = at.session_state["scenario"]
    assert s.travel.standard_min == 10.0
    assert s.phasing.total_centres == 3

    at = _page(at, "judge")
    _assert_clean(at)
    after = _kpis(at)
    assert "Residents within 10 minutes' drive" in after
    assert "Residents within 15 minutes' drive" not in after
    assert (
        after["Residents within 10 minutes' drive"] != before["Residents within 15 minutes' drive"]
    )
    at = _page(at, "plan")
    _assert_clean(at)
    assert any(md.value.startswith("**3 new centres**") for md in at.markdown)


def test_maxmin_with_capacity_applied_plans_and_says_what_it_proved() -> None:
    """Max-min with capacity applied (the default) was refused; it now plans."""
    at = _coverage_model(_fresh())
    at.radio(key="policy.objective").set_value("maxmin")
    at.run()
    _assert_clean(at)
    s = at.session_state["scenario"]
    assert s.policy.objective == "maxmin"
    assert s.capacity.constrain
    at = _page(at, "judge")
    _assert_clean(at)
    words = [w.value for w in (*at.success, *at.warning)]
    assert any("worst-served local authority" in w for w in words), words


def test_policy_error_is_shown_not_raised() -> None:
    at = _page(_fresh(), "policy")
    label = at.multiselect(key="policy.keep").options[0]  # "Name (site id)"
    site_id = label.rsplit("(", 1)[1].rstrip(")")
    at.multiselect(key="policy.keep").set_value([site_id])
    at.multiselect(key="policy.exclude").set_value([site_id])
    at.run()
    assert not at.exception
    assert any("policy.keep and policy.exclude" in e.value for e in at.error)


def test_downloads_are_produced() -> None:
    at = _page(_fresh(), "export")
    _assert_clean(at)
    buttons = {b.label: b for b in at.get("download_button")}
    assert set(buttons) == {
        "Centres (CSV)",
        "Areas (CSV)",
        "Map layers (GeoJSON)",
        "Report (HTML, zipped)",
        "Scenario (TOML)",
    }
    for label in ("Centres (CSV)", "Areas (CSV)", "Map layers (GeoJSON)", "Scenario (TOML)"):
        assert buttons[label].proto.url, f"{label} has no data"
    # the report is generated when clicked (deferred): the button carries a callback id
    assert buttons["Report (HTML, zipped)"].proto.deferred_file_id
    # a download does not rerun the page (and serialise every file again)
    assert all(b.proto.ignore_rerun for b in buttons.values())


def test_compare_two_saved_scenarios() -> None:
    at = _page(_coverage_model(_fresh()), "compare")
    at.text_input(key="save_name").set_value("Ten centres")
    at.button(key="save").click().run()
    _assert_clean(at)
    at = _page(at, "policy")
    at.number_input(key="total_new").set_value(4)
    at.run()
    at = _page(at, "compare")
    at.text_input(key="save_name").set_value("Four centres")
    at.button(key="save").click().run()
    _assert_clean(at)
    assert at.selectbox(key="compare_a").value == "Ten centres"
    assert at.selectbox(key="compare_b").value == "Four centres"
    kpis = at.dataframe[0].value
    centres = kpis.set_index("Indicator").loc["Centres open at the end"]
    assert centres["Change (B − A)"] == "−6"


# --------------------------------------------------------------------------- uploads


@dataclass
class FakeUpload:
    """Stands in for st.file_uploader's UploadedFile (AppTest cannot upload files)."""

    name: str
    data: bytes

    def getvalue(self) -> bytes:
        return self.data


def _upload_page(files: dict[str, FakeUpload]) -> AppTest:
    def script(files: dict) -> None:
        from app_pages.area import upload_section

        upload_section(files)

    at = AppTest.from_function(script, args=(files,), default_timeout=TIMEOUT)
    return at.run()


def test_invalid_upload_shows_the_specific_error() -> None:
    bad_imd = FakeUpload("my_imd.csv", b"LSOA21CD,Something else\nE01000001,3\n")
    wrong_type = FakeUpload("population.xlsx", b"PK\x03\x04...")
    at = _upload_page({"imd": bad_imd, "population": wrong_type})
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 2
    assert any(e.startswith("my_imd.csv") and "IMD" in e for e in errors), errors
    assert any(e.startswith("population.xlsx: the Population file must be one of") for e in errors)
    assert not any("Traceback" in e for e in errors)
    build = at.button(key="build")
    assert build.disabled  # required files are missing or bad


def test_good_upload_is_accepted() -> None:
    at = _upload_page({"imd": FakeUpload("imd.csv", (SMALL / "imd_file7_style.csv").read_bytes())})
    assert not at.exception
    assert not at.error
    assert any("imd.csv: Index of Multiple Deprivation, 4 rows" in c.value for c in at.caption)


def test_build_region_from_good_uploads() -> None:
    at = _upload_page({r: FakeUpload(n, (SMALL / n).read_bytes()) for r, n in GOOD_FILES.items()})
    assert not at.error
    at.text_input(key="upload_name").set_value("Synthtown")
    at.text_input(key="upload_hle_period").set_value("2021 - 23")
    at.button(key="build").click().run()
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    assert at.session_state["region_key"].startswith("upload:")
    region = at.session_state["uploaded_region"]
    assert region.meta.name == "Synthtown"
    assert len(region.areas) == 4


def test_plan_page_shows_neighbourhoods_and_policy_sets_their_bounds() -> None:
    at = _page(_fresh(), "plan")
    _assert_clean(at)
    assert any("Neighbourhoods and the order" in h.value for h in at.subheader)
    table = at.dataframe[0].value
    assert {"Neighbourhood", "Opening year", "Mean estimated HLE (years)"} <= set(table.columns)
    assert table["Order"].tolist() == sorted(table["Order"])

    at = _page(at, "policy")
    _assert_clean(at)
    at.number_input(key="neighbourhoods.max_pop").set_value(60_000.0)
    at.radio(key="neighbourhoods.order").set_value("need")
    at.run()
    _assert_clean(at)
    s = at.session_state["scenario"]
    assert s.neighbourhoods.max_pop == 60_000.0
    assert s.neighbourhoods.order == "need"


def test_region_folder_outside_the_data_folders_is_refused(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("NHC_DATA_DIR", str(tmp_path))
    at = _fresh()
    at.radio(key="area_source").set_value("folder").run()
    at.text_input(key="region_folder").set_value("/etc").run()
    at.button(key="load").click().run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any("Region folder '/etc' is outside the data folder" in e for e in errors), errors
    assert at.session_state["region_key"] == "demo:0"


def test_plan_page_names_centres_over_capacity() -> None:
    from app_pages.common import default_scenario

    at = _fresh()
    # capacity is applied by default (issue 16); coverage only can overload centres
    base = default_scenario(at.session_state["region_key"])
    at.session_state["scenario"] = base.replace(
        **{"capacity.constrain": False, "policy.model": "coverage"}
    )
    at = _page(at, "plan")
    _assert_clean(at)
    warnings = [w.value for w in at.warning]
    assert any("over capacity" in w for w in warnings), warnings


def test_policy_page_offers_public_transport_and_the_mixed_mode(tmp_path, monkeypatch) -> None:
    """The engines, the window and the percentile, said as a planner says them."""
    from tests.gtfs_helpers import DAY, write_feed

    feed = write_feed(
        tmp_path / "gtfs",
        [(53.80, -1.55), (53.81, -1.55)],
        [[(0, 8 * 3600, 8 * 3600), (1, 8 * 3600 + 600, 8 * 3600 + 600)]],
    )
    matrix = tmp_path / "pt_lsoa.csv"
    matrix.write_text("from_id,to_id,travel_time_p50\nX01000001,X01000002,25\n")
    monkeypatch.setenv("NHC_DATA_DIR", str(tmp_path))
    at = _page(_fresh(), "policy")
    at.selectbox(key="travel.engine").set_value("transit").run()
    at.text_input(key="travel.transit_feed").set_value(str(feed))
    at.text_input(key="travel.transit_day").set_value(DAY)
    at.text_input(key="travel.transit_window").set_value("08:00-20:00")
    at.slider(key="travel.transit_percentile").set_value(80)
    at.slider(key="travel.standard_min").set_value(30.0)
    at.run()
    _assert_clean(at)
    s = at.session_state["scenario"]
    assert (s.travel.mode, s.travel.transit_percentile) == ("transit", 80.0)
    words = "reachable by bus within 30 minutes for at least 8 departures in 10 between 8am and 8pm"
    assert any(words in x.value for x in at.success), [x.value for x in at.success]

    at.selectbox(key="travel.engine").set_value("mixed").run()
    _assert_clean(at)
    assert at.radio(key="pt_source").value == "timetable"
    s = at.session_state["scenario"]
    assert s.travel.mode == "mixed"
    assert s.travel.transit_feed == str(feed)
    assert any("households with a car within 30 minutes' drive" in x.value for x in at.success)

    at.radio(key="pt_source").set_value("matrix").run()
    at.text_input(key="travel.matrix").set_value(str(matrix)).run()
    _assert_clean(at)
    s = at.session_state["scenario"]
    assert (s.travel.matrix, s.travel.transit_feed) == (str(matrix), None)
    assert any("published public transport matrix" in x.value for x in at.success)
