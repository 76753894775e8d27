"""Tests for nhc_planner.build (RegionInputs, build_region)."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from nhc_planner._errors import (
    CrsError,
    DataFileError,
    DuplicateKeyError,
    EmptyInputError,
    JoinError,
    MissingColumnError,
    NhcInputError,
    ValueRangeError,
)
from nhc_planner.build import JoinReport, RegionInputs, build_region, build_region_report
from nhc_planner.region import Region
from nhc_planner.schema import AGE_BANDS
from nhc_planner.sources.hle import HLE_ESTIMATE_NOTE
from nhc_planner.sources.population import read_census_total
from nhc_planner.testing import require_fixture
from tests.builders import leeds_inputs

DATA_SMALL = Path(__file__).parent / "data_small"
CODES = ["X01000001", "X01000002", "X01000003", "X01000004"]


@pytest.fixture
def small(tmp_path) -> Path:
    """A writable copy of the synthetic 4-area region; returns its sources.toml."""
    folder = tmp_path / "small"
    shutil.copytree(DATA_SMALL, folder)
    return folder / "sources.toml"


def test_inputs_coerce_paths_and_validate() -> None:
    inputs = RegionInputs("b.gpkg", "i.csv", "p.csv", "h.csv", "l.csv")
    assert inputs.boundaries == Path("b.gpkg")
    assert inputs.centroids is None
    with pytest.raises(ValueRangeError, match="hle_sex"):
        RegionInputs("b", "i", "p", "h", "l", hle_sex="both")
    with pytest.raises(ValueRangeError, match="10 values"):
        RegionInputs("b", "i", "p", "h", "l", hle_gradient=(1.0, 2.0))


def test_toml_round_trip(tmp_path) -> None:
    inputs = RegionInputs.from_toml(DATA_SMALL / "sources.toml")
    assert inputs.boundaries == DATA_SMALL / "synthetic_lsoa21.geojson"
    assert inputs.hle_period == "2021 - 23"
    written = inputs.to_toml(tmp_path / "out" / "sources.toml")
    text = written.read_text()
    assert 'hle_sex = "mean"' in text
    assert "../../" in text or str(DATA_SMALL.as_posix()) in text  # relative where possible
    again = RegionInputs.from_toml(written)
    assert again.boundaries.resolve() == inputs.boundaries.resolve()
    assert again.hle_gradient == inputs.hle_gradient
    assert (
        replace(again, **{f: getattr(inputs, f) for f in ("boundaries", "imd")}).hle_sex == "mean"
    )


_REQ = 'boundaries = "b"\nimd = "i"\npopulation = "p"\nhle = "h"\nlsoa_la = "l"\n'


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (
            'boundaries = "b"\nimd = "i"\npopulation = "p"\nhle = "h"\nlsoa_la = "l"\nfoo = "x"\n',
            "unknown key",
        ),
        ('boundaries = "b"\nimd = "i"\n', r"required key\(s\) \['population', 'hle', 'lsoa_la'\]"),
        ("boundaries = \n", "not valid TOML"),
        (_REQ + "hle_gradient = 60\n", "list of 10 numbers"),
        (_REQ + 'site_buffer_m = "far"\n', "number of metres"),
        (_REQ + "hle_sex = 1\n", "must be a string"),
        ('boundaries = 3\nimd = "i"\npopulation = "p"\nhle = "h"\nlsoa_la = "l"\n', "path string"),
    ],
)
def test_bad_manifest(tmp_path, text: str, match: str) -> None:
    p = tmp_path / "sources.toml"
    p.write_text(text)
    with pytest.raises(DataFileError, match=match):
        RegionInputs.from_toml(p)


def test_small_region_by_la_hand_checked(small: Path) -> None:
    region, report = build_region_report(RegionInputs.from_toml(small), la_codes=["X08000001"])
    a = region.areas.set_index("area_code")
    assert list(a.index) == CODES
    assert region.name == "Synthetic Town"
    assert region.meta.codes == ("X08000001",)
    assert a["population"].tolist() == [1500, 1700, 1200, 2100]
    np.testing.assert_allclose(a[list(AGE_BANDS)].sum(axis=1), a["population"])
    assert a["imd_decile"].tolist() == [1, 3, 7, 10]
    assert set(a["icb_code"]) == {"X54000001"}
    # HLE 2021-23, mean of male 58 and female 60 = 59; gradient shifted to match.
    g = np.array([51.7, 58.8, 66.5, 70.4])
    expected = g + 59.0 - np.average(g, weights=[1500, 1700, 1200, 2100])
    np.testing.assert_allclose(a["hle_years"], expected)
    assert np.average(a["hle_years"], weights=a["population"]) == pytest.approx(59.0)
    assert (a["demand_source"] == "inside").all()
    points = gpd.GeoSeries(
        gpd.points_from_xy(region.areas["demand_x"], region.areas["demand_y"]),
        index=region.areas.index,
        crs=region.areas.crs,
    )
    assert region.areas.geometry.contains(points).all()
    # Sites: far user site dropped WITH a note; GP practices located via postcodes.
    assert sorted(region.sites["site_id"]) == ["S1", "S2", "Z00001", "Z00004", "ZF000", "ZF001"]
    assert report.dropped_sites == {"GP practice": 0, "pharmacy": 0, "user": 1}
    notes = "\n".join(region.meta.notes)
    assert "1 user site(s) more than 5 km outside the region were dropped" in notes
    assert HLE_ESTIMATE_NOTE in notes
    assert report.complete
    assert region.meta.vintages["imd"] == "IoD2025"
    assert any("Open Government Licence" in a for a in region.meta.attribution)


def test_small_region_selections_agree(small: Path) -> None:
    inputs = RegionInputs.from_toml(small)
    by_icb = build_region(inputs, icb_codes=["X54000001"])
    by_all = build_region(inputs)
    by_list = build_region(inputs, area_codes=CODES[:2], name="Two areas")
    assert by_icb.name == "Synthetic Integrated Care Board"
    assert list(by_icb.areas["area_code"]) == list(by_all.areas["area_code"]) == CODES
    assert by_list.name == "Two areas"
    assert list(by_list.areas["area_code"]) == CODES[:2]


def test_centroids_used_when_given(small: Path) -> None:
    (small.parent / "pwc.csv").write_text("LSOA21CD,x,y\nX01000001,430100,430200\n")
    inputs = replace(RegionInputs.from_toml(small), centroids=small.parent / "pwc.csv")
    region, report = build_region_report(inputs)
    a = region.areas.set_index("area_code")
    assert a.loc["X01000001", ["demand_x", "demand_y"]].tolist() == [430100, 430200]
    assert a["demand_source"].tolist() == ["pwc", "inside", "inside", "inside"]
    assert len(report.missing["population-weighted centroids"]) == 3


def test_imd_on_2011_codes_joins_onto_2021(small: Path) -> None:
    inputs = replace(RegionInputs.from_toml(small), imd=small.parent / "imd_file1_style.csv")
    region = build_region(inputs)
    a = region.areas.set_index("area_code")
    # X01000012 (2011) split into X01000002 and X01000004 (2021): both copy decile 3.
    assert a["imd_decile"].to_dict() == {CODES[0]: 1, CODES[1]: 3, CODES[2]: 7, CODES[3]: 3}
    assert a["imd_score"].isna().all()
    assert "IoD2019" in region.meta.vintages["imd"]
    assert any("ranks/deciles only" in n for n in region.meta.notes)
    with pytest.raises(JoinError, match="lsoa11_lsoa21"):
        build_region(replace(inputs, lsoa11_lsoa21=None))


def test_incomplete_area_is_reported_not_silently_dropped(small: Path) -> None:
    pop = small.parent / "census_total.csv"
    pop.write_text("\n".join(pop.read_text().splitlines()[:4]) + "\n")  # drop X01000004
    inputs = RegionInputs.from_toml(small)
    region, report = build_region_report(inputs)
    assert list(region.areas["area_code"]) == CODES[:3]
    assert report.dropped_areas == ("X01000004",)
    assert report.missing["population"] == ("X01000004",)
    assert not report.complete
    assert any("left out for missing values" in n for n in region.meta.notes)
    with pytest.raises(JoinError, match="X01000004"):
        build_region_report(inputs, strict=True)


def _corrupt(small: Path, name: str, text: str | bytes) -> None:
    target = small.parent / name
    if isinstance(text, bytes):
        target.write_bytes(text)
    else:
        target.write_text(text)


def _boundaries(small: Path, *, crs: str | None, codes: list[str] = CODES) -> None:
    geoms = [box(430000 + 1000 * i, 430000, 431000 + 1000 * i, 431000) for i in range(len(codes))]
    frame = gpd.GeoDataFrame({"LSOA21CD": codes}, geometry=geoms, crs="EPSG:27700")
    if crs is None:
        frame = frame.set_crs(None, allow_override=True)
    elif crs != "EPSG:27700":
        frame = frame.set_crs(crs, allow_override=True)  # mislabelled
    path = small.parent / "b.gpkg"
    frame.to_file(path)
    text = small.read_text().replace("synthetic_lsoa21.geojson", "b.gpkg")
    small.write_text(text)


@pytest.mark.parametrize(
    ("corrupt", "error", "match"),
    [
        (
            lambda s: _corrupt(s, "imd_file7_style.csv", "LSOA code (2021),IMD Decile\nX1,1\n"),
            MissingColumnError,
            "IMD rank",
        ),
        (
            lambda s: _corrupt(
                s, "census_total.csv", "LSOA21CD,Population\nX01000001,5\nX01000001,6\n"
            ),
            DuplicateKeyError,
            "X01000001",
        ),
        (
            lambda s: _corrupt(s, "census_total.csv", "LSOA21CD,Population\nX01000001,lots\n"),
            ValueRangeError,
            r"census_total\.csv.*'Population'.*lots",
        ),
        (lambda s: _corrupt(s, "hle_fingertips.csv", b""), EmptyInputError, "empty"),
        (lambda s: _boundaries(s, crs="EPSG:4326"), CrsError, "outside Great Britain"),
        (lambda s: _boundaries(s, crs=None), CrsError, "no coordinate reference system"),
        (
            lambda s: _boundaries(s, crs="EPSG:27700", codes=["Y1", "Y2"]),
            JoinError,
            "no overlap",
        ),
    ],
    ids=[
        "missing-column",
        "duplicate-codes",
        "non-numeric",
        "empty-file",
        "wrong-crs",
        "missing-crs",
        "no-overlap",
    ],
)
@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_bad_inputs_raise_documented_errors(small: Path, corrupt, error, match: str) -> None:
    corrupt(small)
    with pytest.raises(error, match=match):
        build_region(RegionInputs.from_toml(small))


def test_boundaries_with_no_overlap_with_tables(small: Path) -> None:
    _boundaries(small, crs="EPSG:27700", codes=["Y1", "Y2"])
    la = small.parent / "lsoa_la.csv"
    la.write_text(la.read_text() + '"Other","Y1","W","W1","Elsewhere","Y08"\n')
    with pytest.raises(JoinError, match=r"no overlap.*IMD"):
        build_region(RegionInputs.from_toml(small), area_codes=["Y1"])


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"la_codes": ["X08999999"]}, JoinError, "X08999999"),
        ({"icb_codes": ["X54999999"]}, JoinError, "X54999999"),
        ({"la_codes": ["X08000001"], "icb_codes": ["X54000001"]}, NhcInputError, "at most one"),
        ({"area_codes": ["Z1"]}, JoinError, "no overlap"),
    ],
)
def test_bad_selection(small: Path, kwargs, error, match: str) -> None:
    with pytest.raises(error, match=match):
        build_region(RegionInputs.from_toml(small), **kwargs)


def test_icb_selection_needs_lookup(small: Path) -> None:
    inputs = replace(RegionInputs.from_toml(small), lsoa_icb=None)
    with pytest.raises(NhcInputError, match="lsoa_icb"):
        build_region(inputs, icb_codes=["X54000001"])
    assert set(build_region(inputs).areas["icb_code"]) == {""}


def test_authority_without_hle(small: Path) -> None:
    hle = small.parent / "hle_fingertips.csv"
    hle.write_text("\n".join(r for r in hle.read_text().splitlines() if "X08000001" not in r))
    with pytest.raises(JoinError, match=r"no published HLE.*X08000001"):
        build_region(RegionInputs.from_toml(small))


def test_age_bands_required(small: Path) -> None:
    inputs = replace(RegionInputs.from_toml(small), population_age=None)
    with pytest.raises(DataFileError, match="population_age"):
        build_region(inputs)


def test_saved_region_round_trip(small: Path, tmp_path) -> None:
    region = build_region(RegionInputs.from_toml(small))
    loaded = Region.load(region.save(tmp_path / "region"))
    assert loaded.meta == region.meta
    pd.testing.assert_frame_equal(
        pd.DataFrame(loaded.areas.drop(columns="geometry")),
        pd.DataFrame(region.areas.drop(columns="geometry")),
    )


def test_join_report_lines() -> None:
    report = JoinReport(
        n_boundaries=5,
        n_selected=4,
        n_areas=3,
        not_in_boundaries=("A",),
        missing={"IMD": ("B",)},
        dropped_areas=("B",),
        dropped_sites={"user": 2},
    )
    text = "\n".join(report.lines())
    assert "3 area(s) built of 4 selected (5 in the boundary file)" in text
    assert "1 area(s) have no row in the IMD table, e.g. ['B']" in text
    assert "2 user site(s) more than 5 km outside" in text
    assert not report.complete


# Real data: Leeds and Rutland from the shared fixtures (built once per module).


def _national(name: str) -> Path:
    return require_fixture("national", name)


def _real_inputs(boundaries: tuple[str, str], imd: str, **paths: Path) -> RegionInputs:
    return RegionInputs(
        boundaries=require_fixture(*boundaries),
        imd=_national(imd),
        population=_national("census21_lsoa21_usual_residents_total.csv"),
        population_age=_national("census21_lsoa21_usual_residents_by_age6.csv"),
        hle=_national("healthy_life_expectancy_at_birth_fingertips_utla.csv"),
        lsoa_la=_national("lookup_lsoa21_ward24_ltla24.csv"),
        lsoa_icb=_national("lookup_lsoa21_icb24.csv"),
        lsoa11_lsoa21=_national("lookup_lsoa11_lsoa21_ltla22.csv"),
        **paths,
    )


@pytest.fixture(scope="module")
def leeds() -> tuple[Region, JoinReport]:
    return build_region_report(leeds_inputs(), la_codes=["E08000035"])


@pytest.mark.slow
def test_leeds_builds_complete(leeds: tuple[Region, JoinReport]) -> None:
    region, report = leeds
    a = region.areas
    assert len(a) == 488
    assert report.complete
    assert report.n_selected == 488
    assert a[["population", *AGE_BANDS, "imd_score", "imd_decile", "hle_years"]].notna().all().all()
    assert set(a["la_code"]) == {"E08000035"}
    assert set(a["icb_code"]) == {"E54000054"}
    assert region.name == "Leeds"
    assert region.meta.vintages["imd"] == "IoD2025"
    # Totals match the source table.
    census = read_census_total(_national("census21_lsoa21_usual_residents_total.csv"))
    leeds_total = census.loc[census["area_code"].isin(a["area_code"]), "population"].sum()
    assert a["population"].sum() == leeds_total
    np.testing.assert_allclose(a[list(AGE_BANDS)].sum(axis=1), a["population"])
    # HLE: mean of male 60.4 and female 60.9 (2022-24), reproduced by the weighted mean.
    assert np.average(a["hle_years"], weights=a["population"]) == pytest.approx(60.65)
    spread = a.groupby("imd_decile")["hle_years"].first()
    assert spread[10] - spread[1] == pytest.approx(70.4 - 51.7)
    # 17% of Leeds LSOAs are in IoD2025 decile 1 (PROVENANCE.md).
    assert (a["imd_decile"] == 1).mean() == pytest.approx(0.17, abs=0.01)


@pytest.mark.slow
def test_leeds_sites(leeds: tuple[Region, JoinReport]) -> None:
    region, report = leeds
    kinds = region.sites["kind"].value_counts().to_dict()
    assert set(kinds) == {"gp_practice", "hospital", "pharmacy"}
    assert kinds["gp_practice"] >= 150
    zone = region.areas.geometry.union_all().buffer(5000)
    assert region.sites.geometry.within(zone).all()
    assert sum(report.dropped_sites.values()) >= 1  # the fixtures reach beyond 5 km


@pytest.mark.slow
def test_leeds_from_imd2019_on_2011_codes(leeds: tuple[Region, JoinReport]) -> None:
    inputs = _real_inputs(
        ("boundaries", "leeds_lsoa21_bsc.gpkg"),
        "File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv",
    )
    region, report = build_region_report(inputs, la_codes=["E08000035"])
    a = region.areas
    assert len(a) == 488
    assert report.complete
    assert a["imd_decile"].between(1, 10).all()
    assert a["imd_score"].isna().all()
    assert region.meta.vintages["imd"].startswith("IoD2019")
    assert any("carried from LSOA 2011 to 2021" in n for n in region.meta.notes)
    assert len(region.sites) == 0
    # IoD2019 carried onto 2021 areas agrees closely with IoD2025 on the same areas.
    both = a.merge(leeds[0].areas[["area_code", "imd_decile"]], on="area_code")
    assert len(both) == 488
    assert both["imd_decile_x"].corr(both["imd_decile_y"], method="spearman") > 0.9


@pytest.mark.slow
def test_rutland_builds_complete() -> None:
    inputs = _real_inputs(
        ("boundaries", "rutland_lsoa21_bsc.gpkg"),
        "imd2025_england_lsoa21.csv",
        gp_practices=require_fixture(
            "facilities", "rutland_gp_practices_epraccur_geocoded.geojson"
        ),
    )
    region, report = build_region_report(inputs, la_codes=["E06000017"])
    a = region.areas
    assert len(a) == 26
    assert report.complete
    assert region.name == "Rutland"
    assert a[["population", "imd_decile", "hle_years"]].notna().all().all()
    assert np.average(a["hle_years"], weights=a["population"]) == pytest.approx((65.0 + 64.8) / 2)
    assert set(region.sites["kind"]) == {"gp_practice"}
    assert len(region.sites) == 11


def test_hle_for_a_district_through_ltla_utla_lookup(small: Path) -> None:
    hle = small.parent / "hle_fingertips.csv"
    hle.write_text(hle.read_text().replace("X08000001", "X10000001"))
    inputs = RegionInputs.from_toml(small)
    with pytest.raises(JoinError, match=r"X08000001.*ltla_utla"):
        build_region(inputs)
    lookup = small.parent / "ltla_utla.csv"
    lookup.write_text("LTLA23CD,LTLA23NM,UTLA23CD,UTLA23NM\nX08000001,Town,X10000001,County\n")
    region = build_region(replace(inputs, ltla_utla=lookup))
    a = region.areas
    assert np.average(a["hle_years"], weights=a["population"]) == pytest.approx(59.0)
    assert region.meta.vintages["ltla_utla"] == "ltla_utla.csv"


def test_partial_authority_keeps_the_whole_authority_estimate(small: Path) -> None:
    inputs = RegionInputs.from_toml(small)
    whole = build_region(inputs).areas.set_index("area_code")["hle_years"]
    part = build_region(inputs, area_codes=CODES[:2]).areas.set_index("area_code")["hle_years"]
    pd.testing.assert_series_equal(part, whole.loc[CODES[:2]])


# Issue 15: strict builds, missing files named by role.


def _without_area(small: Path, code: str) -> None:
    """Remove one area from the synthetic boundary file."""
    path = small.parent / "synthetic_lsoa21.geojson"
    frame = gpd.read_file(path)
    frame[frame["LSOA21CD"] != code].to_file(path, driver="GeoJSON")


def test_strict_refuses_areas_missing_from_boundaries(small: Path) -> None:
    _without_area(small, CODES[3])
    inputs = RegionInputs.from_toml(small)
    # Default (API): built with a line in the join report.
    region, report = build_region_report(inputs, la_codes=["X08000001"])
    assert len(region.areas) == 3
    assert report.not_in_boundaries == (CODES[3],)
    # Strict: an error naming the count, residents (2,100 in census_total.csv) and the way out.
    with pytest.raises(JoinError) as info:
        build_region(inputs, la_codes=["X08000001"], strict=True)
    text = str(info.value)
    assert "1 of 4 selected area(s) would be dropped (2,100 residents)" in text
    assert CODES[3] in text
    assert "--allow-drops" in text


def test_strict_refuses_areas_lacking_values_with_residents(small: Path) -> None:
    imd = small.parent / "imd_file7_style.csv"
    imd.write_text("\n".join(imd.read_text().splitlines()[:4]) + "\n")  # no X01000004
    inputs = RegionInputs.from_toml(small)
    assert len(build_region(inputs).areas) == 3
    with pytest.raises(JoinError, match=r"1 of 4 .*\(2,100 residents\).*lack a required value"):
        build_region(inputs, strict=True)


def test_strict_complete_build_passes(small: Path) -> None:
    assert len(build_region(RegionInputs.from_toml(small), strict=True).areas) == 4


@pytest.mark.parametrize("role", ["hospitals", "gp_practices", "imd", "lsoa_icb"])
def test_missing_input_file_is_named_by_role(small: Path, role: str) -> None:
    inputs = replace(RegionInputs.from_toml(small), **{role: small.parent / "nope.csv"})
    with pytest.raises(DataFileError, match=rf"not found: \['{role} = .*nope\.csv'\]"):
        build_region(inputs)


def test_self_intersecting_boundary_builds_with_a_note(small: Path) -> None:
    path = small.parent / "synthetic_lsoa21.geojson"
    frame = gpd.read_file(path).to_crs(27700)
    x0, y0, x1, y1 = frame.geometry.iloc[0].bounds
    from shapely.geometry import Polygon

    frame.loc[0, "geometry"] = Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1)])
    frame.to_file(path, driver="GeoJSON")
    region = build_region(RegionInputs.from_toml(small))
    assert len(region.areas) == 4
    assert region.areas.geometry.is_valid.all()
    assert any("repaired with make_valid" in n for n in region.meta.notes)


@pytest.mark.slow
def test_leeds_2011_boundaries_with_2021_tables_strict() -> None:
    inputs = _real_inputs(("boundaries", "leeds_lsoa11_bsc.gpkg"), "imd2025_england_lsoa21.csv")
    with pytest.raises(JoinError) as info:
        build_region(inputs, la_codes=["E08000035"], strict=True)
    text = str(info.value)
    assert "15 of 488 selected area(s) would be dropped (25,546 residents)" in text
    assert "same LSOA code year" in text
    assert "--allow-drops" in text


def test_oa_level_lookup_as_geopackage_builds(small: Path) -> None:
    import pyogrio

    la = pd.read_csv(small.parent / "lsoa_la.csv", dtype=str)
    oa = pd.concat([la.assign(oa21_code=la["lsoa21_code"] + s) for s in ("a", "b", "c")])
    pyogrio.write_dataframe(oa, small.parent / "oa_lookup.gpkg", layer="lookup")
    inputs = replace(RegionInputs.from_toml(small), lsoa_la=small.parent / "oa_lookup.gpkg")
    region = build_region(inputs, la_codes=["X08000001"], strict=True)
    assert len(region.areas) == 4
    assert any("repeated rows agree and were collapsed" in n for n in region.meta.notes)
