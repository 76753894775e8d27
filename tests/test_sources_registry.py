"""Tests of nhc_planner.sources.registry: one declaration per data source.

A toy per-LSOA source (a CSV adding ``toy_score``) is declared in ONE place, the
``toy`` fixture, and must then flow through ``RegionInputs`` and its TOML,
``build_region`` (into ``region.areas``, surviving save/load), ``plan()``,
``data fetch``'s source list, the app's uploads and the demo generator.
"""

from __future__ import annotations

import csv
import shutil
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import nhc_planner
from nhc_planner import demo, ui
from nhc_planner._errors import (
    DataFileError,
    DuplicateKeyError,
    MissingColumnError,
    UnknownKeyError,
    ValueRangeError,
)
from nhc_planner.build import _PATH_FIELDS, RegionInputs, build_region, build_region_report
from nhc_planner.region import Region
from nhc_planner.schema import AREA_COLUMNS, extra_area_columns
from nhc_planner.sources import registry
from nhc_planner.sources.registry import DataSource, DemoContext, Download, read_area_values
from tests.builders import GOOD_FILES, SMALL

ROOT = Path(__file__).resolve().parents[1]
CODES = ["X01000001", "X01000002", "X01000003", "X01000004"]
TOY_URL = "https://example.invalid/toy/toy_scores_lsoa21.csv"
TOY_DEMO = "toy/synthetic_toy_scores_lsoa21.csv"


def _write_toy_demo(ctx: DemoContext) -> None:
    """Demo writer of the toy source: a score per demo area from its IMD decile."""
    path = ctx.folder / TOY_DEMO
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["LSOA21CD", "toy_score"])
        areas = ctx.world.areas
        for code, dec in zip(areas["area_code"], areas["imd_decile"], strict=True):
            w.writerow([code, f"{10.0 * int(dec):.1f}"])


@pytest.fixture
def toy() -> Iterator[DataSource]:
    """The toy data source, declared here and only here; removed after the test."""
    source = registry.register_source(
        DataSource(
            role="toy",
            label="Toy score",
            reader=read_area_values,
            join="area",
            adds=("toy_score",),
            upload=(".csv",),
            help="A CSV with LSOA21CD and toy_score.",
            download=Download(
                title="Toy scores by LSOA 2021",
                url=TOY_URL,
                attribution="Toy Office, OGL v3.0",
                format="CSV (LSOA 2021) -> CSV rows of the area",
                fetch="lsoa_csv",
                out_file="toy_scores.csv",
            ),
            demo_path=TOY_DEMO,
            demo_writer=_write_toy_demo,
            publisher="Toy Office",
            vintage="2026",
        )
    )
    try:
        yield source
    finally:
        registry.unregister_source("toy")


def _toy_csv(path: Path, rows: list[tuple[str, str, str, str]]) -> Path:
    lines = ["LSOA21CD,toy_score,toy_rank,toy_label"] + [",".join(r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def small(tmp_path: Path) -> Path:
    """A writable copy of the 4-area region with a toy file (3 of the 4 areas); its folder."""
    folder = tmp_path / "small"
    shutil.copytree(SMALL, folder)
    _toy_csv(
        folder / "toy.csv",
        [
            ("X01000001", "1.5", "3", "a"),
            ("X01000002", "2.5", "1", "b"),
            ("X01000003", "3.5", "2", "c"),
        ],
    )
    return folder


# --------------------------------------------------------------------------- the registry


def test_builtin_declarations_match_region_inputs() -> None:
    fields = set(RegionInputs.__dataclass_fields__)
    inputs = [s.role for s in registry.data_sources() if s.is_input]
    assert set(inputs) <= fields
    assert set(_PATH_FIELDS) == set(inputs)
    assert registry.required_roles() == ("boundaries", "imd", "population", "hle", "lsoa_la")
    assert [s.role for s in registry.site_sources()] == [
        "gp_practices",
        "hospitals",
        "pharmacies",
        "user_sites",
    ]
    assert list(ui.UPLOAD_ROLES) == list(GOOD_FILES)  # the app's order is kept


def test_registry_rejects_bad_declarations() -> None:
    with pytest.raises(ValueRangeError, match="declared already"):
        registry.register_source(registry.get_source("imd"))
    with pytest.raises(ValueRangeError, match="built-in"):
        registry.unregister_source("imd")
    with pytest.raises(ValueRangeError, match="no data source 'nope'"):
        registry.get_source("nope")
    with pytest.raises(ValueRangeError, match="lower-case identifier"):
        DataSource(role="Bad Role", label="x", reader=read_area_values)
    with pytest.raises(ValueRangeError, match="option keys"):
        DataSource(role="hle_period", label="x", reader=read_area_values)
    with pytest.raises(ValueRangeError, match="join 'lsoa'"):
        DataSource(role="x", label="x", reader=read_area_values, join="lsoa")
    with pytest.raises(ValueRangeError, match="core area column"):
        DataSource(role="x", label="x", reader=read_area_values, adds=("population",))


def test_read_area_values_keeps_numeric_columns(small: Path) -> None:
    frame = read_area_values(small / "toy.csv")
    assert list(frame.columns) == ["area_code", "toy_score", "toy_rank"]
    assert frame["toy_score"].tolist() == [1.5, 2.5, 3.5]
    assert frame.attrs["code_year"] == 2021
    assert "toy_label" in frame.attrs["notes"][0]
    _toy_csv(small / "dup.csv", [("X01000001", "1", "1", "a"), ("X01000001", "2", "2", "b")])
    with pytest.raises(DuplicateKeyError, match="X01000001"):
        read_area_values(small / "dup.csv")
    (small / "nocode.csv").write_text("zone,toy_score\nA,1\n", encoding="utf-8")
    with pytest.raises(MissingColumnError, match="LSOA code"):
        read_area_values(small / "nocode.csv")


# --------------------------------------------------------------------------- RegionInputs


def test_toy_role_in_region_inputs_and_toml(toy: DataSource, small: Path, tmp_path: Path) -> None:
    manifest = small / "sources.toml"
    manifest.write_text(manifest.read_text() + 'toy = "toy.csv"\n', encoding="utf-8")
    inputs = RegionInputs.from_toml(manifest)
    assert inputs.extra == {"toy": small / "toy.csv"}
    assert inputs.path("toy") == small / "toy.csv"
    assert inputs.paths()["toy"] == small / "toy.csv"
    written = inputs.to_toml(tmp_path / "again" / "sources.toml")
    assert tomllib.loads(written.read_text())["toy"].endswith("small/toy.csv")
    again = RegionInputs.from_toml(written)
    assert again.extra["toy"].resolve() == (small / "toy.csv").resolve()
    # The public constructor is unchanged; extra roles must be declared ones.
    plain = RegionInputs("b", "i", "p", "h", "l", extra={"toy": "t.csv"})
    assert plain.extra == {"toy": Path("t.csv")}
    with pytest.raises(DataFileError, match="not declared"):
        RegionInputs("b", "i", "p", "h", "l", extra={"other": "o.csv"})
    with pytest.raises(DataFileError, match="not declared"):
        RegionInputs("b", "i", "p", "h", "l", extra={"imd": "i.csv"})


def test_undeclared_key_is_still_unknown(small: Path) -> None:
    manifest = small / "sources.toml"
    manifest.write_text(manifest.read_text() + 'toy = "toy.csv"\n', encoding="utf-8")
    with pytest.raises(DataFileError, match=r"unknown key\(s\) \['toy'\]"):
        RegionInputs.from_toml(manifest)


def test_required_declared_source_must_be_given(small: Path) -> None:
    registry.register_source(
        DataSource(role="toy_required", label="Toy", reader=read_area_values, required=True)
    )
    try:
        with pytest.raises(DataFileError, match=r"required key\(s\) \['toy_required'\]"):
            RegionInputs.from_toml(small / "sources.toml")
        with pytest.raises(DataFileError, match="toy_required"):
            RegionInputs("b", "i", "p", "h", "l")
    finally:
        registry.unregister_source("toy_required")


# --------------------------------------------------------------------------- build_region


def test_toy_column_reaches_the_region_and_survives_save_load(
    toy: DataSource, small: Path, tmp_path: Path
) -> None:
    inputs = RegionInputs.from_toml(small / "sources.toml")
    inputs = RegionInputs.from_paths(
        {**inputs.paths(), "toy": small / "toy.csv"}, hle_period=inputs.hle_period
    )
    region, report = build_region_report(inputs)
    areas = region.areas.set_index("area_code")
    assert list(region.areas.columns[: len(AREA_COLUMNS)]) == list(AREA_COLUMNS)
    assert extra_area_columns(region.areas) == ("toy_score", "toy_rank")
    assert areas.loc[CODES[:3], "toy_score"].tolist() == [1.5, 2.5, 3.5]
    assert np.isnan(areas.loc[CODES[3], "toy_score"])  # no row: kept, NaN, reported
    assert report.missing["Toy score"] == (CODES[3],)
    assert any("toy_label" in n for n in report.notes)
    assert region.meta.vintages["toy"] == "2026"
    saved = region.save(tmp_path / "region")
    back = Region.load(saved)
    pd.testing.assert_series_equal(back.areas["toy_score"], region.areas["toy_score"])
    assert extra_area_columns(back.areas) == ("toy_score", "toy_rank")


def test_toy_source_declared_adds_are_required(toy: DataSource, small: Path) -> None:
    (small / "bad.csv").write_text("LSOA21CD,other\nX01000001,1\n", encoding="utf-8")
    inputs = RegionInputs.from_toml(small / "sources.toml")
    bad = RegionInputs.from_paths(
        {**inputs.paths(), "toy": small / "bad.csv"}, hle_period=inputs.hle_period
    )
    with pytest.raises(MissingColumnError, match=r"lacks column\(s\) \['toy_score'\]"):
        build_region(bad)


def test_plan_runs_on_a_region_with_the_toy_column(toy: DataSource, small: Path) -> None:
    inputs = RegionInputs.from_toml(small / "sources.toml")
    inputs = RegionInputs.from_paths(
        {**inputs.paths(), "toy": small / "toy.csv"}, hle_period=inputs.hle_period
    )
    region = build_region(inputs)
    scenario = nhc_planner.Scenario(name="toy").replace(
        **{"phasing.years": 1, "solver.time_limit_s": 10.0}
    )
    result = nhc_planner.plan(region, scenario)
    assert len(result.centres) >= 1
    with pytest.raises(UnknownKeyError, match="unknown KPI"):
        result.kpi("no such metric")
    with pytest.raises(KeyError):  # still a KeyError for callers that catch one
        result.kpi("no such metric")


# --------------------------------------------------------------------------- data fetch


def test_toy_source_is_in_the_fetch_list(toy: DataSource) -> None:
    from nhc_planner import download

    assert download.SOURCES["toy"].url == TOY_URL
    assert download.SOURCES["toy"].out_file == "toy_scores.csv"
    assert "toy" in download._select(None, download.SOURCES)
    assert download._select(["imd"], download.SOURCES) >= {"imd", "boundaries", "lsoa_la"}
    assert "toy" not in download._select(["imd"], download.SOURCES)
    assert download._fetcher(download.SOURCES["toy"]) is download._fetch_lsoa_csv


def test_generic_lsoa_csv_fetch_cuts_the_area(toy: DataSource, small: Path, tmp_path: Path) -> None:
    """The toy's fetch kind on a fake cache (no network): rows of the area only."""
    from nhc_planner import download

    national = _toy_csv(
        tmp_path / "national.csv",
        [("X01000001", "1", "1", "a"), ("E01000009", "9", "9", "z"), ("X01000002", "2", "2", "b")],
    )

    @dataclass
    class FakeCache:
        def fetch(self, url: str, desc: str = "") -> Path:
            assert url == TOY_URL
            return national

    area = download._Area("la", "X08000001", "Toyton", tuple(CODES), ("X08000001",), (), (), ())
    out = tmp_path / "out"
    out.mkdir()
    ctx = download.FetchContext(
        cache=FakeCache(),  # type: ignore[arg-type]
        table=download.SOURCES,
        area=area,
        out=out,
        wanted={"toy"},
        notes=[],
    )
    rel = download._fetcher(download.SOURCES["toy"])(ctx, download.SOURCES["toy"])
    assert rel == "toy_scores.csv"
    frame = read_area_values(out / rel)
    assert frame["area_code"].tolist() == ["X01000001", "X01000002"]
    assert "toy: 2 LSOAs of the area have no row" in ctx.notes[0]


# --------------------------------------------------------------------------- the app


@dataclass(frozen=True)
class FakeUpload:
    """Stands in for st.file_uploader's UploadedFile (AppTest cannot upload files)."""

    name: str
    data: bytes

    def getvalue(self) -> bytes:
        return self.data


def test_toy_upload_in_the_app(toy: DataSource, small: Path) -> None:
    assert ui.UPLOAD_ROLES["toy"].label == "Toy score"
    assert not ui.UPLOAD_ROLES["toy"].required
    files = {r: FakeUpload(n, (SMALL / n).read_bytes()) for r, n in GOOD_FILES.items()}
    files["toy"] = FakeUpload("toy.csv", (small / "toy.csv").read_bytes())

    def script(files: dict) -> None:
        from app_pages.area import upload_section

        upload_section(files)

    at = AppTest.from_function(script, args=(files,), default_timeout=120).run()
    assert not at.error, [e.value for e in at.error]
    assert any("toy.csv: Toy score, 3 rows" in c.value for c in at.caption)
    at.text_input(key="upload_hle_period").set_value("2021 - 23")
    at.button(key="build").click().run()
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    region = at.session_state["uploaded_region"]
    assert region.areas.set_index("area_code").loc["X01000002", "toy_score"] == 2.5


def test_uploaded_file_with_a_bad_toy_table_names_the_file(toy: DataSource, tmp_path: Path) -> None:
    with pytest.raises(MissingColumnError, match=r"my_toy\.csv"):
        ui.parse_upload("toy", "my_toy.csv", b"zone,toy_score\nA,1\n", folder=tmp_path)


# --------------------------------------------------------------------------- the demo


def test_toy_demo_writer_feeds_the_demo_region(toy: DataSource, tmp_path: Path) -> None:
    from nhc_planner.demo import generate_demo_files

    manifest = generate_demo_files(tmp_path / "demo", n_areas=20, n_las=2, network=False)
    assert f'toy = "{TOY_DEMO}"' in manifest.read_text()
    region = build_region(RegionInputs.from_toml(manifest))
    assert region.areas["toy_score"].notna().all()
    assert (region.areas["toy_score"] == 10.0 * region.areas["imd_decile"]).all()


# --------------------------------------------------------------------------- docs and version


def test_docs_table_lists_every_declared_source() -> None:
    text = (ROOT / "docs" / "data.md").read_text(encoding="utf-8")
    assert registry.source_table_markdown() in text


def test_version_has_one_source() -> None:
    from nhc_planner._version import __version__

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["version"] == __version__ == nhc_planner.__version__


def test_cached_demo_follows_the_declared_demo_sources(
    toy: DataSource, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nhc_planner.demo import demo_region

    monkeypatch.setenv("NHC_CACHE_DIR", str(tmp_path / "cache"))
    with_toy = demo_region(n_areas=20, n_las=2)
    assert "toy_score" in with_toy.areas.columns
    registry.unregister_source("toy")
    try:
        plain = demo_region(n_areas=20, n_las=2)  # not the folder with the toy file
        assert "toy_score" not in plain.areas.columns
        folders = sorted(p.name for p in (tmp_path / "cache").iterdir())
        v = demo.GENERATOR_VERSION
        assert folders == [
            f"demo-v{v}-c2-seed0-areas20-las2-sitesNone",
            f"demo-v{v}-c2-seed0-areas20-las2-sitesNone-with-toy",
        ]
    finally:
        registry.register_source(toy)


def test_nomis_fetch_kind_for_a_census_table(tmp_path: Path) -> None:
    """A Census table from the Nomis API is one declaration too (no network: a fake cache)."""
    from nhc_planner import download

    nomis = tmp_path / "nomis.csv"
    nomis.write_text(
        "GEOGRAPHY_CODE,C2021_CARS_5_NAME,OBS_VALUE\n"
        "X01000001,No cars or vans in household,120\n"
        "X01000001,1 car or van in household,300\n"
        "X01000002,No cars or vans in household,80\n",
        encoding="utf-8",
    )
    urls: list[str] = []

    @dataclass
    class FakeCache:
        def fetch(self, url: str, desc: str = "") -> Path:
            urls.append(url)
            return nomis

    registry.register_source(
        DataSource(
            role="toy_cars",
            label="Car or van availability",
            reader=read_area_values,
            download=Download(
                title="Census 2021 TS045 Car or van availability (Nomis NM_2063_1)",
                url="https://www.nomisweb.co.uk/api/v01/dataset/NM_2063_1.data.csv",
                attribution="ONS, OGL v3.0",
                format="Nomis API CSV (long) -> the same CSV for the area",
                fetch="nomis_lsoa",
                out_file="census21_ts045.csv",
                params=(("c2021_cars_5", "0...4"), ("measures", "20100")),
            ),
        )
    )
    try:
        source = download.SOURCES["toy_cars"]
        area = download._Area("la", "X08000001", "Toyton", tuple(CODES), ("X08000001",), (), (), ())
        ctx = download.FetchContext(
            cache=FakeCache(),  # type: ignore[arg-type]
            table=download.SOURCES,
            area=area,
            out=tmp_path,
            wanted={"toy_cars"},
            notes=[],
        )
        assert download._fetcher(source)(ctx, source) == "census21_ts045.csv"
    finally:
        registry.unregister_source("toy_cars")
    assert "c2021_cars_5=0...4" in urls[0]
    assert "geography=X01000001,X01000002" in urls[0]
    written = (tmp_path / "census21_ts045.csv").read_text(encoding="utf-8").splitlines()
    assert written[0] == "GEOGRAPHY_CODE,C2021_CARS_5_NAME,OBS_VALUE"
    assert len(written) == 4
    assert "toy_cars: 2 LSOAs missing from Nomis" in ctx.notes[0]


def test_lsoa_csv_fetch_takes_a_named_code_column(toy: DataSource, tmp_path: Path) -> None:
    from dataclasses import replace

    from nhc_planner import download

    national = tmp_path / "registrations.csv"
    national.write_text("LSOA_CODE,NUMBER_OF_PATIENTS\nX01000001,10\nE01000009,5\n", "utf-8")

    @dataclass
    class FakeCache:
        def fetch(self, url: str, desc: str = "") -> Path:
            return national

    source = replace(download.SOURCES["toy"], fields=(("code", "LSOA_CODE"),))
    area = download._Area("la", "X08000001", "Toyton", tuple(CODES), ("X08000001",), (), (), ())
    ctx = download.FetchContext(
        cache=FakeCache(),  # type: ignore[arg-type]
        table={"toy": source},
        area=area,
        out=tmp_path,
        wanted={"toy"},
        notes=[],
    )
    download._fetch_lsoa_csv(ctx, source)
    assert (tmp_path / "toy_scores.csv").read_text().splitlines() == [
        "LSOA_CODE,NUMBER_OF_PATIENTS",
        "X01000001,10",
    ]
