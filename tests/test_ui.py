"""Tests of nhc_planner.ui: the pure helpers behind the Streamlit app."""

from __future__ import annotations

import io
import json
import pickle
import re
import threading
import tomllib
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nhc_planner import ui
from nhc_planner._errors import (
    DataFileError,
    EmptyInputError,
    JoinError,
    MissingColumnError,
    NhcInputError,
    ScenarioError,
    ValueRangeError,
)
from nhc_planner.build import RegionInputs, build_region
from nhc_planner.plan import Plan, plan
from nhc_planner.plan_io import centres_csv_text
from nhc_planner.region import Region
from nhc_planner.scenario import Scenario, SizeSpec
from tests.builders import GOOD_FILES, SMALL


def _upload(role: str) -> tuple[str, bytes]:
    name = GOOD_FILES[role]
    return name, (SMALL / name).read_bytes()


@pytest.fixture(scope="module")
def region() -> Region:
    return build_region(RegionInputs.from_toml(SMALL / "sources.toml"))


@pytest.fixture(scope="module")
def plans(region: Region) -> tuple[Plan, Plan]:
    """Two plans of the small region: one centre within 15 min, two within 2 min."""
    coverage = Scenario().replace(**{"policy.model": "coverage"})  # the coverage model's tables
    a = plan(region, coverage.replace(**{"phasing.years": 1, "phasing.new_per_year": 1}))
    b = plan(
        region,
        coverage.replace(
            **{"phasing.years": 2, "phasing.new_per_year": 1, "travel.standard_min": 2.0}
        ),
    )
    return a, b


# --------------------------------------------------------------------------- uploads


def test_check_upload_accepts_good_files() -> None:
    for role in GOOD_FILES:
        ui.check_upload(role, *_upload(role))


@pytest.mark.parametrize(
    ("role", "name", "data", "error", "words"),
    [
        ("imd", "imd.csv", b"", EmptyInputError, "imd.csv: the file is empty"),
        ("imd", "imd.xlsx", b"PK\x03\x04rest", DataFileError, "must be one of ['.csv']"),
        ("imd", "imd", b"a,b\n1,2\n", DataFileError, "found no extension"),
        ("boundaries", "areas.gpkg", b"not sqlite", DataFileError, "not a GeoPackage"),
        ("boundaries", "areas.zip", b"hello", DataFileError, "not a zip archive"),
        ("boundaries", "areas.parquet", b"hello", DataFileError, "not a Parquet file"),
        ("hle", "hle.csv", b"a,b\x00\x01\n", DataFileError, "found binary content"),
        ("user_sites", "sites.csv", pickle.dumps({"a": 1}), DataFileError, "pickle"),
        ("nonsense", "x.csv", b"a", ValueRangeError, "upload role 'nonsense' is not known"),
    ],
)
def test_check_upload_rejects(
    role: str, name: str, data: bytes, error: type[Exception], words: str
) -> None:
    with pytest.raises(error) as info:
        ui.check_upload(role, name, data)
    assert words in str(info.value)


def test_check_upload_size_limit() -> None:
    with pytest.raises(DataFileError, match=r"big\.csv: the file is 2 kB, larger than the 1 kB"):
        ui.check_upload("imd", "big.csv", b"x" * 2048, max_bytes=1024)


def test_parse_upload_reads_with_the_project_reader(tmp_path: Path) -> None:
    frame = ui.parse_upload("imd", *_upload("imd"), folder=tmp_path)
    assert {"area_code", "imd_decile"} <= set(frame.columns)
    assert len(frame) == 4
    areas = ui.parse_upload("boundaries", *_upload("boundaries"), folder=tmp_path)
    assert areas.crs.to_epsg() == 27700


def test_parse_upload_error_names_the_uploaded_file(tmp_path: Path) -> None:
    bad = b"LSOA21CD,Something else\nX01000001,3\n"
    with pytest.raises(MissingColumnError) as info:
        ui.parse_upload("imd", "my_imd.csv", bad, folder=tmp_path)
    text = str(info.value)
    assert "my_imd.csv" in text
    assert str(tmp_path) not in text  # the temporary path is replaced by the upload's name


def test_parse_upload_broken_geojson_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match=r"^areas\.geojson: cannot read boundary file"):
        ui.parse_upload("boundaries", "areas.geojson", b'{"type": "Nope"', folder=tmp_path)


def test_parse_upload_wraps_unexpected_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(path: Path) -> pd.DataFrame:
        raise KeyError("column")

    monkeypatch.setattr(ui, "_reader", lambda role: broken)
    with pytest.raises(DataFileError, match=r"^hle\.csv: cannot be read as healthy life"):
        ui.parse_upload("hle", "hle.csv", b"a,b\n1,2\n", folder=tmp_path)


def test_region_from_uploads_builds_the_small_region(region: Region) -> None:
    uploads = {role: _upload(role) for role in GOOD_FILES}
    built = ui.region_from_uploads(uploads, name="Uploaded", hle_period="2021 - 23")
    assert built.meta.name == "Uploaded"
    assert sorted(built.areas["area_code"]) == sorted(region.areas["area_code"])
    assert {"S1", "S2"} <= set(built.sites["site_id"])


def test_region_from_uploads_already_read_skips_the_readers(
    region: Region, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_second_read(role: str) -> None:
        raise AssertionError(f"{role} read again")

    monkeypatch.setattr(ui, "_reader", no_second_read)
    uploads = {role: _upload(role) for role in GOOD_FILES}
    built = ui.region_from_uploads(uploads, hle_period="2021 - 23", already_read=True)
    assert sorted(built.areas["area_code"]) == sorted(region.areas["area_code"])
    with pytest.raises(DataFileError, match=r"imd\.xlsx"):  # the cheap checks still run
        ui.region_from_uploads({**uploads, "imd": ("imd.xlsx", b"PK\x03\x04")}, already_read=True)


def test_region_from_uploads_missing_and_unknown() -> None:
    uploads = {role: _upload(role) for role in ("boundaries", "imd")}
    with pytest.raises(DataFileError, match=r"missing required file.*Population.*Healthy"):
        ui.region_from_uploads(uploads)
    with pytest.raises(DataFileError, match="unknown file role"):
        ui.region_from_uploads({"shapes": ("a.csv", b"a")})


def test_region_from_uploads_join_error_names_files() -> None:
    uploads = {role: _upload(role) for role in GOOD_FILES}
    uploads["lsoa_la"] = ("my_lookup.csv", b"LSOA21CD,LAD24CD\nQ99,QLA\n")
    with pytest.raises(NhcInputError) as info:
        ui.region_from_uploads(uploads, hle_period="2021 - 23")
    assert isinstance(info.value, JoinError | DataFileError)
    assert "nhc-upload-" not in str(info.value)


def test_upload_digest_changes_with_content() -> None:
    a = ui.upload_digest({"imd": ("a.csv", b"1")})
    assert a != ui.upload_digest({"imd": ("a.csv", b"2")})
    assert a != ui.upload_digest({"imd": ("b.csv", b"1")})


# --------------------------------------------------------------------------- policy


def test_policy_values_round_trip() -> None:
    s = Scenario().replace(
        **{
            "travel.mode": "walk",
            "travel.standard_min": 20.0,
            "phasing.years": 4,
            "phasing.new_per_year": 3,
            "policy.equity_floor": 0.8,
            "policy.keep": ("A",),
            "capacity.hours_per_day": 10.0,
        }
    )
    values = ui.policy_values(s)
    assert values["travel.mode"] == "walk"
    assert values["total_new"] == 12
    assert values["equity_floor_pct"] == 80
    assert values["policy.keep"] == ["A"]
    back = ui.scenario_from_values(Scenario(), values)
    assert back.travel.mode == "walk"
    assert back.travel.standard_min == 20.0
    assert back.phasing.per_year() == (3, 3, 3, 3)
    assert back.policy.equity_floor == pytest.approx(0.8)
    assert back.policy.keep == ("A",)
    assert back.capacity.hours_per_day == 10.0


def test_scenario_from_values_network() -> None:
    assert ui.policy_values(Scenario())["travel.network"] == ""
    assert ui.scenario_from_values(Scenario(), {"travel.network": " "}).travel.network is None
    s = ui.scenario_from_values(Scenario(), {"travel.network": "demo"})
    assert s.travel.network == "demo"
    assert ui.policy_values(s)["travel.network"] == "demo"


def test_scenario_from_values_budget_and_no_floor() -> None:
    s = ui.scenario_from_values(
        Scenario(), {"limit_by": "budget", "budget_per_year_gbp": 5e6, "equity_floor_pct": 0}
    )
    assert s.phasing.budget_per_year_gbp == 5e6
    assert s.phasing.new_per_year is None
    assert s.policy.equity_floor is None


def test_scenario_from_values_standard_keeps_the_cutoff() -> None:
    """Standards up to the app's cutoff reuse the same travel times (same cutoff)."""
    cut = {
        ui.scenario_from_values(Scenario(), {"travel.standard_min": m}).travel.cutoff_min
        for m in (5.0, 15.0, 45.0, 60.0)
    }
    assert cut == {ui.APP_CUTOFF_MIN}
    assert (
        ui.scenario_from_values(Scenario(), {"travel.standard_min": 90.0}).travel.cutoff_min == 90.0
    )


def test_scenario_from_values_errors() -> None:
    with pytest.raises(ScenarioError, match=r"travel\.mode"):
        ui.scenario_from_values(Scenario(), {"travel.mode": "fly"})
    with pytest.raises(ScenarioError, match=r"policy\.keep and policy\.exclude"):
        ui.scenario_from_values(Scenario(), {"policy.keep": ["A"], "policy.exclude": ["A"]})
    with pytest.raises(ScenarioError, match="row 2 has no name"):
        ui.scenario_from_values(Scenario(), {"sizes": [{"name": "a", "rooms": 3}, {"rooms": 4}]})


@given(total=st.integers(0, 60), years=st.integers(1, 10))
@settings(max_examples=40, deadline=None)
def test_centres_spread_over_years(total: int, years: int) -> None:
    s = ui.scenario_from_values(Scenario(), {"total_new": total, "phasing.years": years})
    per_year = s.phasing.per_year()
    assert per_year is not None
    assert sum(per_year) == total
    assert len(per_year) == years
    assert list(per_year) == sorted(per_year, reverse=True)  # front-loaded, never growing


def test_sizes_rows() -> None:
    assert [r["rooms"] for r in ui.sizes_to_rows(())] == [6, 12, 20]
    sizes = ui.sizes_from_rows([{"name": " hub ", "rooms": 8}, {"name": None, "rooms": None}])
    assert sizes == (SizeSpec(name="hub", rooms=8),)
    assert ui.sizes_to_rows(sizes) == [{"name": "hub", "rooms": 8}]
    with pytest.raises(ScenarioError, match="at least one"):
        ui.sizes_from_rows([])
    with pytest.raises(ScenarioError, match="whole number"):
        ui.sizes_from_rows([{"name": "x", "rooms": 2.5}])


# --------------------------------------------------------------------------- results


def test_kpi_cards(plans: tuple[Plan, Plan]) -> None:
    a, _ = plans
    cards = ui.kpi_cards(a)
    assert [c.label for c in cards] == [
        "Residents within 15 minutes' drive",
        "Most deprived (IMD deciles 1–2) within reach",
        "Mean travel time to nearest centre",
        "HLE-weighted coverage",
    ]
    # every resident is within 15 minutes of the one centre; nobody was before
    assert cards[0].value == "6,500 (100%)"
    assert cards[0].delta == "+6,500 people"
    assert cards[1].value == "100%"
    assert cards[1].delta == "+100.0 points"
    assert cards[2].delta is None  # no centre before: no change to show
    assert cards[2].delta_color == "inverse"
    assert "Before the plan" in cards[0].help


def test_phasing_and_capacity_tables(plans: tuple[Plan, Plan]) -> None:
    _, b = plans
    table = ui.phasing_table(b)
    assert table["Year"].tolist() == ["Year 1", "Year 2"]
    assert table["New centres"].tolist() == [1, 1]
    assert table["Centres opening"].iloc[0].startswith("1. ")
    last = b.kpi("share_covered")
    assert table["Share within reach by year end"].iloc[-1] == f"{100 * last:.0f}%"
    by_year = ui.coverage_by_year(b)
    assert by_year["year"].tolist() == [0, 1, 2]
    assert by_year["new_centres"].tolist() == [0, 1, 1]
    assert by_year["share"].is_monotonic_increasing
    assert by_year["share"].iloc[-1] == pytest.approx(last)
    cap = ui.capacity_table(b)
    assert len(cap) == 2
    assert {"Centre", "Clinical rooms", "Utilisation", "GPs (WTE)"} <= set(cap.columns)


def test_compare_plans(plans: tuple[Plan, Plan]) -> None:
    a, b = plans
    c = ui.compare_plans(a, b)
    ids_a = set(a.new_centres["site_id"])
    ids_b = set(b.new_centres["site_id"])
    assert set(c.only_a) == ids_a - ids_b
    assert set(c.only_b) == ids_b - ids_a
    assert len(c.centres) == len(ids_a | ids_b)
    row = c.kpis.set_index("Indicator").loc["Centres open at the end"]
    assert (row["A"], row["B"], row["Change (B − A)"]) == ("1", "2", "+1")
    same = ui.compare_plans(a, a)
    assert not same.only_a
    assert not same.only_b


def test_stability_words(region: Region, plans: tuple[Plan, Plan]) -> None:
    assert ui.stability_words(plans[0]) is None
    s = plans[1].scenario.replace(**{"solver.sensitivity_runs": 3})
    p = plan(region, s)
    assert p.stability is not None
    words = ui.stability_words(p)
    assert words is not None
    pattern = r"[0-2] of 2 new centres \(\d+%\) were chosen in at least 80% of the perturbed runs\."
    assert re.fullmatch(pattern, words), words


def test_centre_label_on_rows(plans: tuple[Plan, Plan]) -> None:
    row = plans[1].new_centres.iloc[1]
    assert ui.centre_label(row) == f"2. {row['name']} (year 2)"


# --------------------------------------------------------------------------- downloads


def test_downloads(plans: tuple[Plan, Plan], tmp_path: Path) -> None:
    _, b = plans
    centres = pd.read_csv(io.BytesIO(ui.centres_csv(b)))
    assert centres["site_id"].tolist() == b.centres["site_id"].tolist()
    # the same columns (and bytes) as centres.csv of a saved plan: BNG x, y
    assert {"x", "y", "why"} <= set(centres.columns)
    assert ui.centres_csv(b).decode("utf-8") == centres_csv_text(b.centres)
    assert ui.centres_csv(b) == (b.save(tmp_path / "plan") / "centres.csv").read_bytes()
    areas = pd.read_csv(io.BytesIO(ui.areas_csv(b)))
    assert len(areas) == len(b.assignments)
    geo = json.loads(ui.plan_geojson(b))
    layers = [f["properties"]["layer"] for f in geo["features"]]
    assert layers.count("area") == len(b.assignments)
    assert layers.count("centre") == len(b.centres)
    toml = tomllib.loads(ui.scenario_toml(b.scenario).decode())
    assert Scenario.from_dict(toml) == b.scenario


def test_report_zip(plans: tuple[Plan, Plan]) -> None:
    data = ui.report_zip(plans[0])
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = set(zf.namelist())
        assert "nhc-report/index.html" in names
        assert "nhc-report/assets/leaflet/leaflet.js" in names
        assert b"<html" in zf.read("nhc-report/index.html").lower()


# --------------------------------------------------------------------------- small helpers


def test_result_cache_lru_and_errors() -> None:
    cache = ui.ResultCache(max_items=2)
    calls: list[str] = []

    def make(key: str) -> str:
        calls.append(key)
        return key.upper()

    assert cache.get_or_compute("a", lambda: make("a")) == "A"
    assert cache.get_or_compute("a", lambda: make("a")) == "A"
    cache.get_or_compute("b", lambda: make("b"))
    cache.get("a")  # a is now the most recently used
    cache.get_or_compute("c", lambda: make("c"))
    assert "a" in cache
    assert "b" not in cache
    assert calls == ["a", "b", "c"]

    def fail() -> str:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        cache.get_or_compute("d", fail)
    assert "d" not in cache
    cache.clear()
    assert len(cache) == 0
    with pytest.raises(ValueRangeError):
        ui.ResultCache(0)


def test_result_cache_threads() -> None:
    cache = ui.ResultCache(max_items=5)

    def work(i: int) -> None:
        for k in range(50):
            cache.get_or_compute((i + k) % 7, lambda k=k: k)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(cache) == 5


def test_overall_progress_is_monotone_over_the_pipeline() -> None:
    stages = [
        ("need score", 0.0),
        ("road network", 0.1),
        ("travel times", 0.3),
        ("travel times", 1.0),
        ("optimising", 0.0),
        ("optimising", 1.0),
        ("capacity and KPIs", 1.0),
        ("explanations", 1.0),
        ("sensitivity", 0.5),
        ("done", 1.0),
    ]
    values = [ui.overall_progress(s, f)[0] for s, f in stages]
    assert values == sorted(values)
    assert values[-1] == 1.0
    assert all(0.0 <= v <= 1.0 for v in values)
    assert ui.overall_progress("optimising", float("nan"))[0] == 0.6


def test_friendly_error_and_filename() -> None:
    assert ui.friendly_error(ScenarioError("phasing.years: bad")) == "phasing.years: bad"
    assert "Traceback" not in ui.friendly_error(ZeroDivisionError("division by zero"))
    assert ui.safe_filename("  ") == "plan"
    assert ui.plan_key(Scenario(name="x")) != ui.plan_key(
        Scenario().replace(**{"phasing.years": 3})
    )


# --------------------------------------------------------------------------- neighbourhoods


def test_neighbourhood_policy_values_round_trip() -> None:
    values = ui.policy_values(Scenario())
    assert values["neighbourhoods.min_pop"] == 30_000.0
    assert values["neighbourhoods.hubs"] == 0
    assert values["neighbourhoods.file"] == ""
    changed = {
        **values,
        "neighbourhoods.min_pop": 20_000,
        "neighbourhoods.hubs": 5,
        "neighbourhoods.hubs_by_year": 3,
        "neighbourhoods.order": "need",
        "neighbourhoods.file": " ours.csv ",
    }
    s = ui.scenario_from_values(Scenario(), changed)
    nb = s.neighbourhoods
    assert (nb.min_pop, nb.hubs, nb.hubs_by_year, nb.order, nb.file) == (
        20_000.0,
        5,
        3,
        "need",
        "ours.csv",
    )
    again = ui.scenario_from_values(s, {**changed, "neighbourhoods.hubs": 0})
    assert again.neighbourhoods.hubs is None
    assert again.neighbourhoods.hubs_by_year is None
    assert ui.policy_values(s)["neighbourhoods.hubs_by_year"] == 3


def test_store_neighbourhoods_upload(tmp_path: Path) -> None:
    data = b"area_code,neighbourhood\nE01000001,North\n"
    path = ui.store_neighbourhoods_upload("ours.csv", data, folder=tmp_path)
    assert path.read_bytes() == data
    assert path.suffix == ".csv"
    assert ui.store_neighbourhoods_upload("again.csv", data, folder=tmp_path) == path
    with pytest.raises(DataFileError, match=r"ours.xlsx: a neighbourhoods file must be one of"):
        ui.store_neighbourhoods_upload("ours.xlsx", data, folder=tmp_path)
    with pytest.raises(DataFileError, match="not a GeoPackage"):
        ui.store_neighbourhoods_upload("ours.gpkg", data, folder=tmp_path)
    with pytest.raises(EmptyInputError, match="empty"):
        ui.store_neighbourhoods_upload("ours.csv", b"", folder=tmp_path)


# --------------------------------------------------------------------------- data folders


def test_paths_typed_into_the_app_stay_in_the_data_folders(tmp_path, monkeypatch) -> None:
    data = tmp_path / "data"
    (data / "regions" / "leeds").mkdir(parents=True)
    monkeypatch.setenv(ui.DATA_DIR_ENV, str(data))
    assert ui.data_roots() == (data.resolve(),)
    assert ui.confined_path("regions/leeds", "Region folder") == data / "regions" / "leeds"
    assert ui.confined_path(str(data / "x.osm.pbf"), "Road network") == data / "x.osm.pbf"
    for outside in ("/etc", "/etc/passwd", "../", "regions/../../secret", str(tmp_path)):
        with pytest.raises(DataFileError, match="outside the data folder") as info:
            ui.confined_path(outside, "Region folder")
        assert str(data) in str(info.value)  # names where files may be, not what exists
        assert ui.DATA_DIR_ENV in str(info.value)


def test_default_data_folders_are_data_and_the_cache(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv(ui.DATA_DIR_ENV, raising=False)
    monkeypatch.setenv("NHC_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    assert ui.data_roots() == ((tmp_path / "data").resolve(), (tmp_path / "cache").resolve())


def test_network_path_outside_the_data_folders_is_refused(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(ui.DATA_DIR_ENV, str(tmp_path))
    with pytest.raises(DataFileError, match="Road network '/etc/hosts' is outside"):
        ui.scenario_from_values(Scenario(), {"travel.network": "/etc/hosts"})
    inside = ui.scenario_from_values(Scenario(), {"travel.network": "roads.osm.pbf"})
    assert inside.travel.network == str(tmp_path.resolve() / "roads.osm.pbf")
    assert ui.scenario_from_values(Scenario(), {"travel.network": "demo"}).travel.network == "demo"


def test_over_capacity_words_and_flag_in_the_capacity_table() -> None:
    from tests.report_helpers import tiny_plan

    p = tiny_plan()
    assert ui.over_capacity_words(p) is None  # type: ignore[arg-type]
    p.centres.loc[p.centres["site_id"] == "S3", "utilisation"] = 3.48
    words = ui.over_capacity_words(p)  # type: ignore[arg-type]
    assert words is not None
    assert "1 centre is over capacity" in words
    assert "1. Tinyton General (year 1): 348%" in words
    table = ui.capacity_table(p)  # type: ignore[arg-type]
    assert "348% ⚠ over capacity" in table["Utilisation"].to_list()


def test_centre_labels_tell_apart_sites_sharing_a_name() -> None:
    from tests.report_helpers import tiny_plan

    p = tiny_plan()
    p.centres["name"] = "Demochester Leisure Centre"
    labels = ui.centre_labels(p.centres).to_list()
    assert len(set(labels)) == 3
    assert "1. Demochester Leisure Centre (hospital) (year 1)" in labels


def test_centre_labels_name_the_place_when_kinds_repeat_too() -> None:
    from tests.report_helpers import tiny_plan

    p = tiny_plan()
    p.centres["name"] = "Demochester Leisure Centre"
    p.centres["kind"] = "community_building"
    areas = p.assignments.assign(
        area_name=[f"Tinyton {i % 4:03d}{'ABC'[i // 4]}" for i in range(12)]
    )
    labels = ui.centre_labels(p.centres, areas).to_list()
    # S1 lies in column 0, S3 in column 3, S5 in column 3 too (MSOA "Tinyton 003")
    assert (
        labels[0] == "Demochester Leisure Centre (community building, Tinyton 000) (already open)"
    )
    assert labels[1].startswith(
        "1. Demochester Leisure Centre (community building, Tinyton 003, S3)"
    )
    assert len(set(labels)) == 3


def test_area_csv_download_holds_plain_decimals() -> None:
    """The areas CSV: plain decimals (the centres CSV is plan_io's, shared with saved plans)."""
    from tests.report_helpers import tiny_plan

    p = tiny_plan()
    p.assignments["need_score"] = [5.4e6] * 6 + [-7.27596e-12] * 6
    text = ui.areas_csv(p).decode("utf-8")  # type: ignore[arg-type]
    assert not re.search(r"\d[eE][+-]?\d", text), text[:400]
    frame = pd.read_csv(io.StringIO(text))
    assert frame["need_score"].tolist() == [5_400_000] * 6 + [0] * 6


# Issue 15: uploads cannot exhaust the server.

_FEATURE = (
    '{"type":"Feature","properties":{"LSOA21CD":"X%07d"},"geometry":{"type":"Polygon",'
    '"coordinates":[[[430000,430000],[431000,430000],[431000,431000],[430000,430000]]]}},\n'
)


def _zip_bomb(target_bytes: int) -> bytes:
    """A small zip holding a GeoJSON of ``target_bytes`` (repetitive, so it compresses well)."""
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf,
        zf.open("areas.geojson", "w", force_zip64=True) as member,
    ):
        member.write(b'{"type":"FeatureCollection","features":[\n')
        chunk = "".join(_FEATURE % i for i in range(10_000)).encode()
        written = 0
        while written < target_bytes:
            member.write(chunk)
            written += len(chunk)
        member.write(b'{"type":"Feature","properties":{},"geometry":null}]}\n')
    return buffer.getvalue()


def _parse_in_fresh_process(path: Path, name: str, work: Path) -> tuple[str, float]:
    """``parse_upload`` of a boundary file in a fresh Python: its outcome and RSS growth (MB).

    Growth is the peak RSS (VmHWM) minus the RSS once the imports are done.
    """
    import subprocess
    import sys

    script = f"""
import re, pathlib
from nhc_planner import ui
from nhc_planner._errors import DataFileError
def kb(key):
    text = pathlib.Path("/proc/self/status").read_text()
    return int(re.search(key + r":\\s+(\\d+)", text).group(1))
before = kb("VmRSS")
try:
    frame = ui.parse_upload("boundaries", {name!r}, pathlib.Path({str(path)!r}).read_bytes(),
                            folder={str(work)!r})
    print("ACCEPTED", frame.attrs["notes"])
except DataFileError as exc:
    print("REFUSED", exc)
print("GROWTH_MB", (kb("VmHWM") - before) / 1024)
"""
    import os

    root = Path(__file__).parents[1]  # this checkout's nhc_planner, whatever the cwd
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]),
    }
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
        cwd=root,
        env=env,
    ).stdout
    return out, float(out.split("GROWTH_MB")[1])


@pytest.mark.slow
def test_zip_bomb_is_refused_within_a_memory_budget(tmp_path: Path) -> None:
    from nhc_planner.sources.limits import MAX_UPLOAD_UNZIPPED_BYTES

    data = _zip_bomb(MAX_UPLOAD_UNZIPPED_BYTES + 20 * 2**20)
    assert len(data) < ui.MAX_UPLOAD_BYTES  # a small zip: passes the upload size limit
    bomb = tmp_path / "bomb.zip"
    bomb.write_bytes(data)
    out, growth = _parse_in_fresh_process(bomb, "areas.zip", tmp_path / "work")
    assert "REFUSED areas.zip: too large once unzipped" in out
    assert growth < 500, out


def test_zip_member_lying_about_its_size_is_refused() -> None:
    from nhc_planner.sources.validate import check_zip_archive

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.geojson", b"x" * 100_000)
        zf.writestr("b.geojson", b"y" * 100_000)
    with pytest.raises(DataFileError, match="too large once unzipped"):
        check_zip_archive(buffer.getvalue(), name="a.zip", max_bytes=150_000)
    ui.check_upload("boundaries", "a.zip", buffer.getvalue())  # within the default limit


@pytest.mark.parametrize(
    ("members", "words"),
    [
        ({f"f{i}.txt": b"x" for i in range(200)}, "holds 200 files"),
        ({"inner.zip": b"PK"}, "archives inside the zip"),
    ],
)
def test_zip_with_many_or_nested_members_is_refused(members: dict[str, bytes], words: str) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    with pytest.raises(DataFileError, match=words):
        ui.check_upload("boundaries", "areas.zip", buffer.getvalue())


def _million_vertex_geojson() -> bytes:
    import numpy as np

    angle = np.linspace(0.0, 2 * np.pi, 1_000_000, endpoint=False)
    xs, ys = 430000 + 800 * np.cos(angle), 430000 + 800 * np.sin(angle)
    ring = [*zip(xs, ys, strict=True), (xs[0], ys[0])]  # 1,000,001 vertices
    coords = ",".join(f"[{x:.3f},{y:.3f}]" for x, y in ring)
    return (
        '{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":'
        '"urn:ogc:def:crs:EPSG::27700"}},"features":[{"type":"Feature","properties":'
        '{"LSOA21CD":"X01000001"},"geometry":{"type":"Polygon","coordinates":[[' + coords + "]]}}]}"
    ).encode()


@pytest.mark.slow
def test_million_vertex_geojson_is_refused_before_parsing(tmp_path: Path) -> None:
    data = _million_vertex_geojson()
    assert len(data) > 20 * 2**20  # a 20+ MB upload, under the 50 MB limit
    with pytest.raises(DataFileError, match=r"areas\.geojson: GeoJSON with more than 500,000"):
        ui.check_upload("boundaries", "areas.geojson", data)
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("areas.geojson", data)
    with pytest.raises(DataFileError, match=r"areas\.zip: areas\.geojson: GeoJSON with more"):
        ui.check_upload("boundaries", "areas.zip", zipped.getvalue())


@pytest.mark.slow
def test_million_vertex_geopackage_is_simplified_within_a_memory_budget(tmp_path: Path) -> None:
    import geopandas as gpd
    import numpy as np
    from shapely.geometry import Polygon

    angle = np.linspace(0.0, 2 * np.pi, 1_000_000, endpoint=False)
    ring = np.c_[430000 + 800 * np.cos(angle), 430000 + 800 * np.sin(angle)]
    path = tmp_path / "areas.gpkg"
    gpd.GeoDataFrame({"LSOA21CD": ["X01000001"]}, geometry=[Polygon(ring)], crs=27700).to_file(path)
    out, growth = _parse_in_fresh_process(path, "areas.gpkg", tmp_path / "work")
    assert "ACCEPTED" in out
    assert "simplified" in out
    assert "X01000001 (1,000,001 vertices)" in out
    assert growth < 500, out
    areas = ui.parse_upload("boundaries", "areas.gpkg", path.read_bytes(), folder=tmp_path)
    assert len(areas.geometry.iloc[0].exterior.coords) <= 20_000
    assert any(n.startswith("areas.gpkg (boundaries): 1 polygon") for n in areas.attrs["notes"])


def test_vertex_and_feature_limits_are_checked_a_batch_at_a_time(tmp_path: Path) -> None:
    import geopandas as gpd
    from shapely.geometry import Point

    from nhc_planner.sources.validate import scan_vector

    path = tmp_path / "areas.gpkg"
    circles = [Point(430000 + 2000 * i, 430000).buffer(500, quad_segs=250) for i in range(10)]
    gpd.GeoDataFrame({"LSOA21CD": list("ABCDEFGHIJ")}, geometry=circles, crs=27700).to_file(path)
    assert scan_vector(path, name="areas.gpkg") == (10, 10 * 1001)
    with pytest.raises(DataFileError, match=r"areas\.gpkg: more than 5,000 vertices"):
        scan_vector(path, name="areas.gpkg", max_vertices=5_000, batch_size=2)
    with pytest.raises(DataFileError, match=r"areas\.gpkg: 10 features; at most 5"):
        scan_vector(path, name="areas.gpkg", max_features=5)
    parquet = tmp_path / "areas.parquet"
    gpd.read_file(path).to_parquet(parquet)
    assert scan_vector(parquet, name="areas.parquet") == (10, 10 * 1001)


def test_matrix_path_outside_the_data_folders_is_refused(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(ui.DATA_DIR_ENV, str(tmp_path))
    with pytest.raises(DataFileError, match="Travel-time matrix '/etc/shadow' is outside"):
        ui.scenario_from_values(Scenario(), {"travel.matrix": "/etc/shadow"})


def test_population_basis_widgets_round_trip():
    from nhc_planner.scenario import Scenario

    base = Scenario()
    values = ui.policy_values(base)
    assert values["phasing.population"] == "census"
    assert values["phasing.first_year"] == 2026
    s = ui.scenario_from_values(
        base, {**values, "phasing.population": "projection", "phasing.first_year": 2028.0}
    )
    assert s.phasing.population == "projection"
    assert s.phasing.first_year == 2028
