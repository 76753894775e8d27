"""Tests for nhc_planner.sources.facilities."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Point

from nhc_planner._errors import (
    CrsError,
    DataFileError,
    DuplicateKeyError,
    MissingColumnError,
    ValueRangeError,
)
from nhc_planner.schema import SITE_COLUMNS, validate_sites
from nhc_planner.sources.facilities import (
    EPRACCUR_COLUMNS,
    read_epraccur,
    read_nhs_syndication,
    read_postcodes,
    read_user_sites,
)
from nhc_planner.testing import require_fixture

DATA_SMALL = Path(__file__).parent / "data_small"
EPRACCUR = DATA_SMALL / "epraccur_headerless.csv"
POSTCODES = DATA_SMALL / "postcodes_onspd_like.csv"


def _check_contract(sites: gpd.GeoDataFrame) -> None:
    assert list(sites.columns) == [*SITE_COLUMNS, "geometry"]
    assert sites.crs.to_epsg() == 27700
    validate_sites(sites)


def test_epraccur_headerless_with_postcodes() -> None:
    sites = read_epraccur(EPRACCUR, postcodes=POSTCODES)
    _check_contract(sites)
    # Closed (C) and non-GP (Prescribing Setting 8) rows are left out.
    assert sites["site_id"].tolist() == ["Z00001", "Z00004"]
    assert sites["name"].tolist() == ["Synthetic Surgery One", "Synthetic Surgery Four"]
    assert set(sites["kind"]) == {"gp_practice"}
    assert set(sites["status"]) == {"candidate"}
    x, y = sites.geometry.iloc[0].x, sites.geometry.iloc[0].y
    assert abs(x - 430400) < 2
    assert abs(y - 430600) < 2
    assert any("2 open GP practices kept of 4" in n for n in sites.attrs["notes"])


def test_postcodes_onspd_and_bng_layouts(tmp_path) -> None:
    onspd = read_postcodes(POSTCODES)
    assert onspd["postcode_key"].tolist() == ["ZZ11AA", "ZZ11AB", "ZZ11AC"]
    assert abs(onspd["x"].iloc[0] - 430400) < 2
    p = tmp_path / "pc.csv"
    p.write_text("pcds,lat,long\nZZ1 1AA,53.770860,-1.540250\nZZ9 9ZZ,99.999999,0.000000\n")
    got = read_postcodes(p)
    assert got["postcode_key"].tolist() == ["ZZ11AA"]
    assert "1 postcode(s) without coordinates" in got.attrs["notes"][0]
    p.write_text("postcode,oseast1m,osnrth1m\nZZ1 1AA,430400,430600\nZZ1 1AB,,\n")
    got = read_postcodes(p)
    assert got[["x", "y"]].values.tolist() == [[430400.0, 430600.0]]
    p.write_text("postcode,town\nZZ1 1AA,Synthtown\n")
    with pytest.raises(MissingColumnError, match="x or long"):
        read_postcodes(p)


def test_epraccur_all_records() -> None:
    sites = read_epraccur(EPRACCUR, postcodes=read_postcodes(POSTCODES), open_only=False)
    assert len(sites) == 4


def test_epraccur_without_coordinates_needs_postcodes() -> None:
    with pytest.raises(DataFileError, match="postcode lookup is needed"):
        read_epraccur(EPRACCUR)


def test_epraccur_unknown_postcode_is_reported(tmp_path) -> None:
    pc = tmp_path / "pc.csv"
    pc.write_text("pcds,lat,long\nZZ1 1AA,53.770860,-1.540250\n")
    sites = read_epraccur(EPRACCUR, postcodes=pc)
    assert sites["site_id"].tolist() == ["Z00001"]
    assert any("postcode not in the lookup" in n and "Z00004" in n for n in sites.attrs["notes"])


def test_epraccur_headed_csv_with_lat_lon(tmp_path) -> None:
    p = tmp_path / "gp.csv"
    header = [*EPRACCUR_COLUMNS, "latitude", "longitude"]
    row = ["Z1", "A SURGERY"] + [""] * 10 + ["A"] + [""] * 12 + ["4", "", "53.77086", "-1.54025"]
    blank = ["Z2", "NO COORDS"] + [""] * 10 + ["A"] + [""] * 12 + ["4", "", "", ""]
    p.write_text("\n".join(",".join(r) for r in (header, row, blank)) + "\n")
    sites = read_epraccur(p)
    assert sites["site_id"].tolist() == ["Z1"]
    assert any("without coordinates" in n for n in sites.attrs["notes"])


def test_epraccur_wrong_width(tmp_path) -> None:
    p = tmp_path / "gp.csv"
    p.write_text('"Z1","A SURGERY","Y99"\n')
    with pytest.raises(DataFileError, match="27 columns"):
        read_epraccur(p)


def test_epraccur_duplicate_codes(tmp_path) -> None:
    p = tmp_path / "gp.csv"
    lines = EPRACCUR.read_text().splitlines()
    p.write_text("\n".join([lines[0], lines[0]]) + "\n")
    with pytest.raises(DuplicateKeyError, match="Z00001"):
        read_epraccur(p, postcodes=POSTCODES)


def test_syndication_raw_latin1_not_sign_delimited() -> None:
    sites = read_nhs_syndication(DATA_SMALL / "pharmacy_syndication.csv", kind="pharmacy")
    _check_contract(sites)
    assert sites["site_id"].tolist() == ["ZF000", "ZF001"]  # the Hidden one is left out
    assert sites["name"].iloc[0] == "Synthetic Chemist Café 0"
    assert any("1 row(s) not 'Visible'" in n for n in sites.attrs["notes"])
    assert set(sites["kind"]) == {"pharmacy"}


def test_syndication_unknown_kind() -> None:
    with pytest.raises(ValueRangeError, match="kind"):
        read_nhs_syndication(DATA_SMALL / "pharmacy_syndication.csv", kind="chemist")


def test_user_sites_csv_xy_with_options() -> None:
    sites = read_user_sites(DATA_SMALL / "user_sites.csv")
    _check_contract(sites)
    assert sites["site_id"].tolist() == ["S1", "S2", "S3"]
    assert sites["max_rooms"].iloc[0] == 6
    assert sites["capex_gbp"].iloc[1] == 2_500_000
    assert set(sites["kind"]) == {"user_candidate"}
    assert sites.geometry.iloc[0].x == 430500


def test_user_sites_lat_lon_and_kind_status_columns(tmp_path) -> None:
    p = tmp_path / "u.csv"
    p.write_text(
        "id,name,lat,lon,kind,status\n"
        "U1,Hall,53.77086,-1.54025,community_building,candidate\n"
        "U2,Centre,53.78,-1.53,existing_nhc,existing\n"
    )
    sites = read_user_sites(p)
    assert sites["kind"].tolist() == ["community_building", "existing_nhc"]
    assert sites["status"].tolist() == ["candidate", "existing"]


def test_user_sites_geojson(tmp_path) -> None:
    p = tmp_path / "u.geojson"
    gpd.GeoDataFrame(
        {"site_id": ["G1"], "name": ["Synthetic"]}, geometry=[Point(-1.54, 53.77)], crs="EPSG:4326"
    ).to_file(p)
    sites = read_user_sites(p)
    _check_contract(sites)


def _no_crs_gpkg(p: Path) -> Path:
    gpd.GeoDataFrame(
        {"site_id": ["G1"], "name": ["Synthetic"]}, geometry=[Point(430000, 430000)]
    ).to_file(p)
    return p


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda p: _text(p / "u.csv", "site_id,name\nA,a\n"), MissingColumnError, "coordinate"),
        (
            lambda p: _text(p / "u.csv", "name,x,y\na,430000,430000\n"),
            MissingColumnError,
            "site id",
        ),
        (
            lambda p: _text(p / "u.csv", "site_id,name,x,y\nA,a,430000,430000\nA,b,1,1\n"),
            DuplicateKeyError,
            "'A'",
        ),
        (
            lambda p: _text(p / "u.csv", "site_id,name,x,y\nA,a,east,430000\n"),
            ValueRangeError,
            "east",
        ),
        (
            lambda p: _text(p / "u.csv", "site_id,name,x,y,kind\nA,a,430000,430000,castle\n"),
            ValueRangeError,
            "castle",
        ),
        (
            lambda p: _text(p / "u.csv", "site_id,name,lat,lon\nA,a,430000,430000\n"),
            CrsError,
            "outside Great Britain",
        ),
        (
            lambda p: _text(p / "u.csv", "site_id,name,x,y,max_rooms\nA,a,430000,430000,-2\n"),
            ValueRangeError,
            "non-negative",
        ),
        (lambda p: _no_crs_gpkg(p / "u.gpkg"), CrsError, "no coordinate"),
    ],
    ids=[
        "no-coords",
        "no-id",
        "duplicate",
        "non-numeric",
        "bad-kind",
        "wrong-crs",
        "negative",
        "no-crs",
    ],
)
@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_bad_user_sites(tmp_path, make, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        read_user_sites(make(tmp_path))


def _text(p: Path, text: str) -> Path:
    p.write_text(text)
    return p


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "n_open"),
    [
        ("leeds_gp_practices_epraccur_geocoded.geojson", 182),
        ("rutland_gp_practices_epraccur_geocoded.geojson", 11),
    ],
)
def test_real_epraccur_geojson(name: str, n_open: int) -> None:
    sites = read_epraccur(require_fixture("facilities", name))
    _check_contract(sites)
    assert len(sites) == n_open


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "kind", "n"),
    [
        ("leeds_nhs_hospitals_nhswebsite.geojson", "hospital", 27),
        ("leeds_nhs_pharmacies_nhswebsite_2020.geojson", "pharmacy", 332),
    ],
)
def test_real_syndication_geojson(name: str, kind: str, n: int) -> None:
    sites = read_nhs_syndication(require_fixture("facilities", name), kind=kind)
    _check_contract(sites)
    assert len(sites) <= n
    assert len(sites) >= n - 5


def test_epraccur_geojson_without_lat_lon_uses_geometry(tmp_path) -> None:
    p = tmp_path / "gp.geojson"
    gpd.GeoDataFrame(
        {
            "Organisation Code": ["Z1", "Z2"],
            "Name": ["ONE", "TWO"],
            "Status Code": ["A", "A"],
            "Prescribing Setting": [4, 4],
        },
        geometry=[Point(430400, 430600), Point(431600, 431400)],
        crs="EPSG:27700",
    ).to_file(p)
    sites = read_epraccur(p)
    _check_contract(sites)
    assert abs(sites.geometry.iloc[0].x - 430400) < 1


# Issue 15: longitude/latitude labelled EPSG:27700 is refused, never dropped in a note.


@pytest.mark.parametrize("reader", ["epraccur", "syndication", "user"])
def test_lonlat_sites_labelled_bng_are_refused(tmp_path, reader: str) -> None:
    p = tmp_path / "sites.geojson"
    gpd.GeoDataFrame(
        {
            "Organisation Code": ["Z1"],
            "OrganisationCode": ["Z1"],
            "OrganisationName": ["ONE"],
            "site_id": ["Z1"],
            "name": ["ONE"],
            "Name": ["ONE"],
            "Status Code": ["A"],
            "Prescribing Setting": [4],
        },
        geometry=[Point(-1.55, 53.80)],
        crs="EPSG:27700",
    ).to_file(p)
    read = {
        "epraccur": read_epraccur,
        "syndication": lambda q: read_nhs_syndication(q, kind="hospital"),
        "user": read_user_sites,
    }[reader]
    with pytest.raises(CrsError, match="look like longitude/latitude"):
        read(p)


def test_missing_syndication_file_is_named(tmp_path) -> None:
    with pytest.raises(DataFileError, match=r"hospital file: file .*nope\.csv not found"):
        read_nhs_syndication(tmp_path / "nope.csv", kind="hospital")


def test_user_sites_in_cp1252_keep_their_names_and_say_so(tmp_path) -> None:
    p = tmp_path / "sites.csv"
    p.write_bytes("site_id,name,x,y\nS1,St Mary’s Surgery,430500,430500\n".encode("cp1252"))
    sites = read_user_sites(p)
    assert sites["name"].tolist() == ["St Mary’s Surgery"]
    assert any("cp1252" in n for n in sites.attrs["notes"])
