"""Tests for nhc_planner.sources.boundaries."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from shapely.geometry import Point, Polygon, box

from nhc_planner._errors import (
    CrsError,
    DataFileError,
    DuplicateKeyError,
    EmptyInputError,
    MissingColumnError,
    ValueRangeError,
)
from nhc_planner.sources.boundaries import read_boundaries, read_centroids
from nhc_planner.testing import require_fixture

DATA_SMALL = Path(__file__).parent / "data_small"


def _squares(codes: list[str], *, code_col: str = "LSOA21CD", crs: str | None = "EPSG:27700"):
    geoms = [box(430000 + 1000 * i, 430000, 431000 + 1000 * i, 431000) for i in range(len(codes))]
    frame = gpd.GeoDataFrame({code_col: codes, "name": codes}, geometry=geoms, crs="EPSG:27700")
    if crs is None:
        return frame.set_crs(None, allow_override=True)
    return frame.to_crs(crs)


def test_synthetic_geojson_reads_as_bng() -> None:
    frame = read_boundaries(DATA_SMALL / "synthetic_lsoa21.geojson")
    assert list(frame.columns) == ["area_code", "area_name", "geometry"]
    assert frame.crs.to_epsg() == 27700
    assert frame.attrs["code_year"] == 2021
    assert frame["area_name"].iloc[0] == "Synthetic 001A"
    assert frame.geometry.area.round().eq(1_000_000).all()


@pytest.mark.parametrize(
    ("code_col", "year"),
    [("LSOA21CD", 2021), ("lsoa21_code", 2021), ("LSOA11CD", 2011), ("area_code", None)],
)
@pytest.mark.parametrize("suffix", [".gpkg", ".geojson", ".shp"])
@pytest.mark.filterwarnings("ignore:Column names longer", "ignore:Normalized/laundered")
def test_formats_and_code_columns(tmp_path, code_col: str, year: int | None, suffix: str) -> None:
    path = tmp_path / f"b{suffix}"
    _squares(["X1", "X2"], code_col=code_col, crs="EPSG:4326").to_file(path)
    frame = read_boundaries(path)
    assert frame["area_code"].tolist() == ["X1", "X2"]
    assert frame.attrs["code_year"] == year
    assert frame.crs.to_epsg() == 27700
    # Reprojected back to BNG within a metre.
    assert abs(frame.total_bounds[0] - 430000) < 1


def test_explicit_code_column(tmp_path) -> None:
    path = tmp_path / "b.gpkg"
    _squares(["X1"], code_col="weird").to_file(path)
    assert read_boundaries(path, code_column="weird")["area_code"].tolist() == ["X1"]
    with pytest.raises(MissingColumnError, match="'nope' not found"):
        read_boundaries(path, code_column="weird", name_column="nope")


def _write(frame: gpd.GeoDataFrame, path: Path) -> Path:
    frame.to_file(path)
    return path


def _raw(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (
            lambda p: _write(_squares(["X1"], code_col="foo"), p / "b.gpkg"),
            MissingColumnError,
            "area code",
        ),
        (lambda p: _write(_squares(["X1", "X1"]), p / "b.gpkg"), DuplicateKeyError, "X1"),
        (
            lambda p: _write(_squares(["X1"], crs=None), p / "b.gpkg"),
            CrsError,
            "no coordinate reference system",
        ),
        # BNG metres labelled as longitude/latitude: a wrong CRS.
        (
            lambda p: _write(
                _squares(["X1"]).set_crs("EPSG:4326", allow_override=True), p / "b.gpkg"
            ),
            CrsError,
            "outside Great Britain",
        ),
        (
            lambda p: _write(
                gpd.GeoDataFrame(
                    {"LSOA21CD": ["X1"]}, geometry=[Point(430000, 430000)], crs="EPSG:27700"
                ),
                p / "b.gpkg",
            ),
            ValueRangeError,
            "polygon",
        ),
        (lambda p: _raw(p / "b.gpkg", b""), EmptyInputError, "empty"),
        (lambda p: _raw(p / "b.geojson", b"not json"), DataFileError, "cannot read"),
        (lambda p: p / "missing.gpkg", DataFileError, "not found"),
    ],
    ids=[
        "missing-column",
        "duplicate",
        "no-crs",
        "wrong-crs",
        "points",
        "empty",
        "garbage",
        "absent",
    ],
)
@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_bad_boundaries(tmp_path, make, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        read_boundaries(make(tmp_path))


def test_empty_feature_collection(tmp_path) -> None:
    path = tmp_path / "b.geojson"
    path.write_text('{"type": "FeatureCollection", "features": []}')
    with pytest.raises(EmptyInputError, match="no features"):
        read_boundaries(path)


def test_centroids_from_csv_lat_lon_and_xy(tmp_path) -> None:
    xy = tmp_path / "c.csv"
    xy.write_text("LSOA21CD,x,y\nX1,430500,430500\nX2,431500,430500\n")
    frame = read_centroids(xy)
    assert frame.geometry.x.tolist() == [430500, 431500]
    assert frame.attrs["code_year"] == 2021
    ll = tmp_path / "ll.csv"
    ll.write_text("lsoa21_code,latitude,longitude\nX1,53.7709,-1.5402\n")
    pt = read_centroids(ll).geometry.iloc[0]
    assert abs(pt.x - 430400) < 20
    assert abs(pt.y - 430600) < 20


def test_centroids_vector_and_errors(tmp_path) -> None:
    path = tmp_path / "c.gpkg"
    gpd.GeoDataFrame({"LSOA21CD": ["X1"]}, geometry=[Point(-1.54, 53.77)], crs="EPSG:4326").to_file(
        path
    )
    assert read_centroids(path).crs.to_epsg() == 27700
    poly = tmp_path / "p.gpkg"
    _squares(["X1"]).to_file(poly)
    with pytest.raises(ValueRangeError, match="points"):
        read_centroids(poly)
    dup = tmp_path / "d.csv"
    dup.write_text("LSOA21CD,x,y\nX1,430500,430500\nX1,431500,430500\n")
    with pytest.raises(DuplicateKeyError):
        read_centroids(dup)
    far = tmp_path / "f.csv"
    far.write_text("LSOA21CD,x,y\nX1,9000000,430500\n")
    with pytest.raises(CrsError):
        read_centroids(far)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("parts", "n", "year"),
    [
        (("boundaries", "leeds_lsoa21_bsc.gpkg"), 488, 2021),
        (("boundaries", "leeds_lsoa11_bsc.gpkg"), 482, 2011),
        (("boundaries", "rutland_lsoa21_bsc.gpkg"), 26, 2021),
    ],
)
def test_real_boundaries(parts: tuple[str, str], n: int, year: int) -> None:
    frame = read_boundaries(require_fixture(*parts))
    assert len(frame) == n
    assert frame.attrs["code_year"] == year
    assert frame["area_code"].str.match(r"^E01\d{6}$").all()
    assert frame.crs.to_epsg() == 27700
    assert frame.geometry.is_valid.mean() > 0.95


@pytest.mark.slow
def test_real_label_points_as_centroids() -> None:
    frame = read_centroids(require_fixture("boundaries", "leeds_lsoa11_label_points.gpkg"))
    assert len(frame) == 482
    assert frame.attrs["code_year"] == 2011


# Issue 15: silent wrong geometry is refused or repaired by name.


def test_lonlat_labelled_bng_is_a_crs_error(tmp_path) -> None:
    wgs = _squares(["X1", "X2"], crs="EPSG:4326")
    path = tmp_path / "b.gpkg"
    wgs.set_crs("EPSG:27700", allow_override=True).to_file(path)
    with pytest.raises(CrsError, match=r"look like longitude/latitude.*says EPSG:27700"):
        read_boundaries(path)


def test_lonlat_labelled_bng_centroids_table(tmp_path) -> None:
    path = tmp_path / "c.gpkg"
    pts = gpd.GeoDataFrame({"LSOA21CD": ["X1"]}, geometry=[Point(-1.55, 53.8)], crs="EPSG:27700")
    pts.to_file(path)
    with pytest.raises(CrsError, match="longitude/latitude"):
        read_centroids(path)


@pytest.mark.parametrize(
    ("size_m", "match"),
    [(0.2, r"implausible areas for an LSOA.*X1: 0\.04 m2.*degrees"), (60_000, "larger areas")],
    ids=["tiny", "huge"],
)
def test_implausible_areas(tmp_path, size_m: float, match: str) -> None:
    frame = gpd.GeoDataFrame(
        {"LSOA21CD": ["X1"]},
        geometry=[box(430000, 430000, 430000 + size_m, 430000 + size_m)],
        crs="EPSG:27700",
    )
    path = tmp_path / "b.gpkg"
    frame.to_file(path)
    with pytest.raises(ValueRangeError, match=match):
        read_boundaries(path)


def test_self_intersecting_polygon_is_repaired_with_a_note(tmp_path) -> None:
    bowtie = Polygon([(430000, 430000), (431000, 431000), (431000, 430000), (430000, 431000)])
    frame = gpd.GeoDataFrame(
        {"LSOA21CD": ["X1", "X2"]},
        geometry=[bowtie, box(432000, 430000, 433000, 431000)],
        crs="EPSG:27700",
    )
    path = tmp_path / "b.geojson"
    frame.to_file(path)
    out = read_boundaries(path)
    assert out.geometry.is_valid.all()
    assert out.geometry.iloc[0].area == pytest.approx(500_000)
    assert any("repaired" in n and "X1" in n for n in out.attrs["notes"])
    # Downstream geometry operations no longer raise GEOSException.
    assert out.geometry.union_all().area == pytest.approx(1_500_000)


def test_polygon_with_no_area_left_is_refused(tmp_path) -> None:
    flat = Polygon([(430000, 430000), (431000, 430000), (430500, 430000)])
    frame = gpd.GeoDataFrame(
        {"LSOA21CD": ["X1", "X2"]},
        geometry=[flat, box(432000, 430000, 433000, 431000)],
        crs="EPSG:27700",
    )
    path = tmp_path / "b.geojson"
    frame.to_file(path)
    with pytest.raises(ValueRangeError, match=r"no area once repaired.*X1"):
        read_boundaries(path)


def test_dense_polygon_is_simplified_with_a_note(tmp_path) -> None:
    circle = Point(430000, 430000).buffer(500, quad_segs=10_000)  # 40,001 vertices
    frame = gpd.GeoDataFrame({"LSOA21CD": ["X1"]}, geometry=[circle], crs="EPSG:27700")
    path = tmp_path / "b.gpkg"
    frame.to_file(path)
    out = read_boundaries(path)
    assert shapely.get_num_coordinates(out.geometry.iloc[0]) <= 20_000
    assert out.geometry.iloc[0].area == pytest.approx(circle.area, rel=1e-2)
    assert any("simplified" in n and "X1" in n for n in out.attrs["notes"])


def test_ward_and_msoa_names_are_kept(tmp_path) -> None:
    frame = _squares(["E01000001", "E01000002"])
    frame["WD24NM"] = ["Hunslet & Riverside", "Beeston & Holbeck"]
    frame["msoa21_name"] = ["Leeds 101", "Leeds 102"]
    path = tmp_path / "b.gpkg"
    frame.to_file(path)
    areas = read_boundaries(path)
    assert areas["ward_name"].tolist() == ["Hunslet & Riverside", "Beeston & Holbeck"]
    assert areas["msoa_name"].tolist() == ["Leeds 101", "Leeds 102"]
    plain = _write(_squares(["E01000003"]), tmp_path / "plain.gpkg")
    assert "ward_name" not in read_boundaries(plain)
