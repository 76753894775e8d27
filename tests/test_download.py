"""Tests for nhc_planner.download and nhc_planner._http against a local HTTP server.

Nothing here touches the internet. A ``http.server`` on 127.0.0.1 (port 0)
answers at the *official* URL paths (ONS ArcGIS, Nomis, gov.uk, Fingertips,
NHS ODS, postcodes.io, NHS website, Geofabrik), and ``base_urls={"*": ...}``
swaps only the scheme and host. The answers are built from the real Leeds
fixtures in ``../shared/data``, put into the layout each official endpoint
returns (ArcGIS GeoJSON pages, Nomis CSV by single year of age, a headerless
epraccur.csv in a zip, '¬'-separated NHS website CSVs). Two stand-ins are
marked where used: population-weighted centroids are not in the fixtures (the
polygons' representative points are served instead), and the Geofabrik index
has simple rectangles.
"""

from __future__ import annotations

import csv
import io
import json
import re
import socket
import threading
import tomllib
import urllib.parse
import zipfile
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from nhc_planner._errors import (
    EmptyInputError,
    NhcRuntimeError,
    OfflineError,
    ValueRangeError,
)
from nhc_planner._http import download_file, mirror_url, sha256_file
from nhc_planner.download import (
    SOURCES,
    DownloadCache,
    _age_of,
    default_cache_dir,
    fetch_area,
    verify_manifest,
)
from nhc_planner.testing import require_fixture

LEEDS = "E08000035"
WEST_YORKSHIRE = "E54000054"

Reply = tuple[int, bytes, str]
Handler = Callable[[dict[str, list[str]], bytes | None], Reply]


# --------------------------------------------------------------------------------------------
# The local server
# --------------------------------------------------------------------------------------------


class Mirror:
    """A local server answering official paths; records every request."""

    def __init__(self, routes: dict[str, Handler]) -> None:
        self.routes = dict(routes)
        self.log: list[tuple[str, str, dict[str, str]]] = []
        mirror = self

        class _Handler(BaseHTTPRequestHandler):
            def _answer(self, body: bytes | None) -> None:
                parts = urllib.parse.urlsplit(self.path)
                mirror.log.append((self.command, self.path, dict(self.headers)))
                handler = mirror.routes.get(parts.path)
                if handler is None:
                    self.send_error(404, "Not Found")
                    return
                status, payload, ctype = handler(urllib.parse.parse_qs(parts.query), body)
                start = 0
                rng = self.headers.get("Range")
                if rng and status == 200 and ctype == "application/octet-stream":
                    start = int(re.match(r"bytes=(\d+)-", rng).group(1))  # type: ignore[union-attr]
                    status = 206
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(payload) - start))
                if status == 206:
                    self.send_header(
                        "Content-Range", f"bytes {start}-{len(payload) - 1}/{len(payload)}"
                    )
                self.end_headers()
                self.wfile.write(payload[start:])

            def do_GET(self) -> None:
                self._answer(None)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                self._answer(self.rfile.read(length))

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def paths(self) -> list[str]:
        return [urllib.parse.urlsplit(p).path for _, p, _ in self.log]


def _static(payload: bytes, ctype: str = "application/octet-stream") -> Handler:
    return lambda query, body: (200, payload, ctype)


# --------------------------------------------------------------------------------------------
# Fixture data in the official layouts
# --------------------------------------------------------------------------------------------


def _path_of(url: str) -> str:
    return urllib.parse.urlsplit(url).path


_WHERE_EQ = re.compile(r"^(\w+) = '([^']*)'$")
_WHERE_IN = re.compile(r"^(\w+) IN \((.*)\)$")


def _arcgis(rows: list[dict[str, Any]], *, max_records: int = 250) -> Handler:
    """An ArcGIS FeatureServer ``query`` endpoint over ``rows`` (with optional geometry)."""

    def handle(query: dict[str, list[str]], body: bytes | None) -> Reply:
        where = query["where"][0]
        if m := _WHERE_EQ.match(where):
            field, values = m.group(1), {m.group(2)}
        elif m := _WHERE_IN.match(where):
            field, values = m.group(1), set(re.findall(r"'([^']*)'", m.group(2)))
        else:
            err = {"error": {"code": 400, "message": f"bad where {where}"}}
            return 200, json.dumps(err).encode(), "application/json"
        hits = [r for r in rows if str(r["properties"].get(field)) in values]
        order = query.get("orderByFields", [""])[0]
        if order:
            hits.sort(key=lambda r: str(r["properties"].get(order)))
        offset = int(query.get("resultOffset", ["0"])[0])
        count = min(int(query.get("resultRecordCount", [str(max_records)])[0]), max_records)
        page = hits[offset : offset + count]
        with_geometry = query.get("returnGeometry", ["true"])[0] == "true"
        features = [
            {
                "type": "Feature",
                "properties": r["properties"],
                "geometry": r.get("geometry") if with_geometry else None,
            }
            for r in page
        ]
        answer: dict[str, Any] = {"type": "FeatureCollection", "features": features}
        if offset + count < len(hits):
            answer["properties"] = {"exceededTransferLimit": True}
        return 200, json.dumps(answer).encode(), "application/geo+json"

    return handle


def _nomis(rows_for: Callable[[str], list[list[str]]], header: list[str]) -> Handler:
    def handle(query: dict[str, list[str]], body: bytes | None) -> Reply:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(header)
        for code in query["geography"][0].split(","):
            writer.writerows(rows_for(code))
        return 200, out.getvalue().encode(), "text/csv"

    return handle


def _age_name(age: int) -> str:
    if age == 0:
        return "Aged under 1 year"
    if age == 100:
        return "Aged 100 years and over"
    return f"Aged {age} year" + ("" if age == 1 else "s")


_BANDS = {
    "Aged 15 years and under": (0, 15),
    "Aged 16 to 24 years": (16, 24),
    "Aged 25 to 34 years": (25, 34),
    "Aged 35 to 49 years": (35, 49),
    "Aged 50 to 64 years": (50, 64),
    "Aged 65 years and over": (65, 100),
}


def _single_years(band: str, count: int) -> list[tuple[int, int]]:
    """Spread a band's count over its single years (integer shares, remainder first)."""
    lo, hi = _BANDS[band]
    years = list(range(lo, hi + 1))
    base, extra = divmod(count, len(years))
    return [(age, base + (1 if i < extra else 0)) for i, age in enumerate(years)]


def _csv_rows(path: Path, encoding: str = "utf-8") -> list[dict[str, str]]:
    with path.open(encoding=encoding, newline="") as fh:
        return list(csv.DictReader(fh))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _features(path: Path) -> list[dict[str, Any]]:
    return json.loads(path.read_text(encoding="utf-8"))["features"]


def _nhs_csv(path: Path) -> bytes:
    feats = _features(path)
    header = [k for k in feats[0]["properties"] if k != "within_la"]
    lines = ["¬".join(header)]
    lines += ["¬".join(_cell(f["properties"].get(k)) for k in header) for f in feats]
    return ("\r\n".join(lines) + "\r\n").encode("cp1252")


@pytest.fixture(scope="module")
def payloads() -> dict[str, Any]:
    """Routes (official path -> handler) and expected values, from the Leeds fixtures."""
    import geopandas as gpd

    routes: dict[str, Handler] = {}
    # Lookups (national fixtures, official ONS field names).
    wards = _csv_rows(require_fixture("national", "lookup_lsoa21_ward24_ltla24.csv"))
    la_of = {r["lsoa21_code"]: (r["ltla24_code"], r["ltla24_name"]) for r in wards}
    lsoa_la = [
        {
            "properties": {
                "LSOA21CD": r["lsoa21_code"],
                "LSOA21NM": r["lsoa21_name"],
                "WD24CD": r["ward24_code"],
                "WD24NM": r["ward24_name"],
                "LAD24CD": r["ltla24_code"],
                "LAD24NM": r["ltla24_name"],
            }
        }
        for r in wards
    ]
    icbs = _csv_rows(require_fixture("national", "lookup_lsoa21_icb24.csv"))
    lsoa_icb = [
        {
            "properties": {
                "LSOA21CD": r["lsoa21_code"],
                "LSOA21NM": r["lsoa21_name"],
                "SICBL24CD": r["sicbl24_code"],
                "SICBL24CDH": r["sicbl24_code_nhs"],
                "SICBL24NM": r["sicbl24_name"],
                "ICB24CD": r["icb24_code"],
                "ICB24CDH": r["icb24_code_nhs"],
                "ICB24NM": r["icb24_name"],
                "LAD24CD": la_of.get(r["lsoa21_code"], ("", ""))[0],
                "LAD24NM": la_of.get(r["lsoa21_code"], ("", ""))[1],
            }
        }
        for r in icbs
    ]
    l11 = _csv_rows(require_fixture("national", "lookup_lsoa11_lsoa21_ltla22.csv"))
    lsoa11 = [
        {
            "properties": {
                "LSOA11CD": r["lsoa11_code"],
                "LSOA11NM": r["lsoa11_name"],
                "CHGIND": r["change_code"],
                "LSOA21CD": r["lsoa21_code"],
                "LSOA21NM": r["lsoa21_name"],
                "LAD22CD": r["ltla22_code"],
                "LAD22NM": r["ltla22_name"],
            }
        }
        for r in l11
    ]
    routes[_path_of(SOURCES["lsoa_la"].url)] = _arcgis(lsoa_la)
    routes[_path_of(SOURCES["lsoa_icb"].url)] = _arcgis(lsoa_icb)
    routes[_path_of(SOURCES["lsoa11_lsoa21"].url)] = _arcgis(lsoa11)
    # Metropolitan districts are their own upper tier; two-tier pairs are not in the fixtures.
    mets = sorted(
        {
            r["ltla24_code"]: r["ltla24_name"] for r in wards if r["ltla24_code"].startswith("E08")
        }.items()
    )
    ltla_utla = [
        {"properties": {"LTLA23CD": c, "LTLA23NM": n, "UTLA23CD": c, "UTLA23NM": n}}
        for c, n in mets
    ]
    routes[_path_of(SOURCES["ltla_utla"].url)] = _arcgis(ltla_utla)

    # Boundaries (real, simplified) and centroid stand-ins (representative points).
    bsc = gpd.read_file(require_fixture("boundaries", "leeds_lsoa21_bsc.gpkg")).to_crs(4326)
    polygons = [
        {
            "properties": {"LSOA21CD": c, "LSOA21NM": n},
            "geometry": g.__geo_interface__,
        }
        for c, n, g in zip(bsc["lsoa21_code"], bsc["lsoa21_name"], bsc.geometry, strict=True)
    ]
    points = [
        {"properties": {"LSOA21CD": c}, "geometry": g.representative_point().__geo_interface__}
        for c, g in zip(bsc["lsoa21_code"], bsc.geometry, strict=True)
    ]
    routes[_path_of(SOURCES["boundaries"].url)] = _arcgis(polygons)
    routes[_path_of(SOURCES["centroids"].url)] = _arcgis(points)

    # IoD2025 (the Leeds subset, at the national File 7 path).
    imd_path = require_fixture("tables", "leeds_imd2025_england_lsoa21.csv")
    routes[_path_of(SOURCES["imd"].url)] = _static(imd_path.read_bytes(), "text/csv")

    # Census 2021 via Nomis.
    totals = _csv_rows(require_fixture("tables", "leeds_census21_lsoa21_usual_residents_total.csv"))
    total_of = {r["LSOA21CD"]: r for r in totals}
    routes[_path_of(SOURCES["population"].url)] = _nomis(
        lambda code: (
            [
                [
                    code,
                    total_of[code]["2021 super output area - lower layer"],
                    total_of[code]["Population"],
                ]
            ]
            if code in total_of
            else []
        ),
        ["GEOGRAPHY_CODE", "GEOGRAPHY_NAME", "OBS_VALUE"],
    )
    ages = _csv_rows(require_fixture("tables", "leeds_census21_lsoa21_usual_residents_by_age6.csv"))
    years: dict[str, list[list[str]]] = {}
    for r in ages:
        for age, n in _single_years(r["age_group"], int(r["usual_residents"])):
            years.setdefault(r["lsoa21_code"], []).append(
                [r["lsoa21_code"], r["lsoa21_name"], str(age + 1), _age_name(age), str(n)]
            )
    routes[_path_of(SOURCES["population_age"].url)] = _nomis(
        lambda code: years.get(code, []),
        ["GEOGRAPHY_CODE", "GEOGRAPHY_NAME", "C2021_AGE_102", "C2021_AGE_102_NAME", "OBS_VALUE"],
    )

    # Census 2021 TS045 via Nomis: SYNTHETIC counts (no real TS045 file is kept offline),
    # households = residents / 2.4, a fifth without a car, in the Nomis API layout.
    def cars(code: str) -> list[list[str]]:
        if code not in total_of:
            return []
        hh = round(float(total_of[code]["Population"]) / 2.4)
        names = ("Total: All households", "No cars or vans in household")
        return [
            [code, str(k), name, str(n)]
            for k, (name, n) in enumerate(zip(names, (hh, hh // 5), strict=True))
        ]

    routes[_path_of(SOURCES["car_availability"].url)] = _nomis(
        cars, ["GEOGRAPHY_CODE", "C2021_CARS_5", "C2021_CARS_5_NAME", "OBS_VALUE"]
    )

    # Fingertips HLE.
    hle_path = require_fixture("tables", "leeds_healthy_life_expectancy_fingertips.csv")
    routes[_path_of(SOURCES["hle"].url)] = _static(hle_path.read_bytes(), "text/csv")

    # epraccur (headerless, zipped) and postcodes.io.
    gp_feats = _features(
        require_fixture("facilities", "leeds_gp_practices_epraccur_geocoded.geojson")
    )
    from nhc_planner.sources.facilities import EPRACCUR_COLUMNS

    lines = io.StringIO()
    writer = csv.writer(lines)
    for f in gp_feats:
        writer.writerow([_cell(f["properties"].get(c)) for c in EPRACCUR_COLUMNS])
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as zf:
        zf.writestr("epraccur.csv", lines.getvalue())
    routes[_path_of(SOURCES["gp_practices"].url)] = _static(zipped.getvalue(), "application/zip")
    where = {
        f["properties"]["Postcode"]: (f["properties"]["latitude"], f["properties"]["longitude"])
        for f in gp_feats
        if f["properties"].get("latitude") is not None
    }

    def postcodes(query: dict[str, list[str]], body: bytes | None) -> Reply:
        asked = json.loads(body or b"{}")["postcodes"]
        result = [
            {
                "query": pc,
                "result": (
                    {"postcode": pc, "latitude": where[pc][0], "longitude": where[pc][1]}
                    if pc in where
                    else None
                ),
            }
            for pc in asked
        ]
        return 200, json.dumps({"status": 200, "result": result}).encode(), "application/json"

    routes[_path_of(SOURCES["postcodes"].url)] = postcodes

    # NHS website CSVs.
    hosp = require_fixture("facilities", "leeds_nhs_hospitals_nhswebsite.geojson")
    pharm = require_fixture("facilities", "leeds_nhs_pharmacies_nhswebsite_2020.geojson")
    routes[_path_of(SOURCES["hospitals"].url)] = _static(_nhs_csv(hosp), "text/csv")
    routes[_path_of(SOURCES["pharmacies"].url)] = _static(_nhs_csv(pharm), "text/csv")

    # Geofabrik: an index with rectangles, and a real Leeds extract at the county path.
    def region(rid: str, parent: str, bounds: tuple[float, float, float, float]) -> dict[str, Any]:
        x0, y0, x1, y1 = bounds
        ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
        url = "https://download.geofabrik.de/europe/united-kingdom/" + (
            f"england/{rid}-latest.osm.pbf" if parent == "england" else f"{rid}-latest.osm.pbf"
        )
        return {
            "type": "Feature",
            "properties": {"id": rid, "parent": parent, "name": rid, "urls": {"pbf": url}},
            "geometry": {"type": "Polygon", "coordinates": [ring]},
        }

    index = {
        "type": "FeatureCollection",
        "features": [
            region("england", "united-kingdom", (-6.5, 49.8, 2.0, 55.9)),
            region("west-yorkshire", "england", (-2.2, 53.5, -1.1, 54.1)),
            region("rutland", "england", (-0.9, 52.5, -0.4, 52.8)),
        ],
    }
    routes[_path_of(SOURCES["osm_index"].url)] = _static(
        json.dumps(index).encode(), "application/json"
    )
    pbf = require_fixture("osm", "leeds_its_example.osm.pbf")
    routes["/europe/united-kingdom/england/west-yorkshire-latest.osm.pbf"] = _static(
        pbf.read_bytes()
    )

    return {
        "routes": routes,
        "leeds": sorted(r["lsoa21_code"] for r in wards if r["ltla24_code"] == LEEDS),
        "totals": {c: float(r["Population"]) for c, r in total_of.items()},
        "ages": ages,
        "imd_path": imd_path,
        "hle_path": hle_path,
        "pbf": pbf,
        "gp": gp_feats,
    }


@pytest.fixture
def mirror(payloads: dict[str, Any]) -> Iterator[Mirror]:
    m = Mirror(payloads["routes"])
    m.thread.start()
    try:
        yield m
    finally:
        m.server.shutdown()
        m.server.server_close()


@pytest.fixture(scope="module")
def leeds_fetch(
    payloads: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """One full Leeds fetch (module-scoped: it is the slow part) and its server log."""
    m = Mirror(payloads["routes"])
    m.thread.start()
    root = tmp_path_factory.mktemp("leeds")
    try:
        manifest = fetch_area(
            la=LEEDS,
            out=root / "out",
            cache_dir=root / "cache",
            progress=False,
            base_urls={"*": m.base},
        )
        first = list(m.log)
        m.log.clear()
        again = fetch_area(
            la=LEEDS,
            out=root / "out2",
            cache_dir=root / "cache",
            progress=False,
            base_urls={"*": m.base},
        )
        second = list(m.log)
    finally:
        m.server.shutdown()
        m.server.server_close()
    return {"manifest": manifest, "again": again, "first": first, "second": second, "root": root}


# --------------------------------------------------------------------------------------------
# The full fetch
# --------------------------------------------------------------------------------------------


def _record(manifest: Path) -> dict[str, Any]:
    return tomllib.loads((manifest.parent / "download.toml").read_text(encoding="utf-8"))


def test_leeds_manifest_lists_every_input_and_checksums_verify(leeds_fetch: dict[str, Any]) -> None:
    manifest = leeds_fetch["manifest"]
    assert manifest.name == "sources.toml"
    data = tomllib.loads(manifest.read_text(encoding="utf-8"))
    roles = {
        "boundaries",
        "centroids",
        "imd",
        "imd_health",
        "population",
        "population_age",
        "hle",
        "lsoa11_lsoa21",
        "lsoa_la",
        "lsoa_icb",
        "ltla_utla",
        "gp_practices",
        "hospitals",
        "pharmacies",
        "car_availability",
    }
    assert set(data) == roles
    for key in roles:
        assert (manifest.parent / data[key]).is_file(), key
    record = _record(manifest)
    assert record["name"] == "Leeds"
    assert record["area_code"] == LEEDS
    assert record["n_areas"] == 488
    assert record["osm"] == ["osm/west-yorkshire-latest.osm.pbf"]
    assert record["notes"] == []
    checks = verify_manifest(manifest)
    assert set(checks) == {*(data[k] for k in roles), *record["osm"], "sources.toml"}
    assert all(checks.values())
    for name, meta in record["sources"].items():
        assert meta["url"] == SOURCES[name].url
        assert meta["licence"]
        assert meta["attribution"]
    assert (
        "© OpenStreetMap contributors, available under the Open Database Licence"
        in record["attribution"]
    )


def test_leeds_manifest_is_read_by_region_inputs(leeds_fetch: dict[str, Any]) -> None:
    build = pytest.importorskip("nhc_planner.build")
    inputs = build.RegionInputs.from_toml(leeds_fetch["manifest"])
    assert inputs.boundaries == leeds_fetch["manifest"].parent / "lsoa21_boundaries.geojson"
    assert inputs.ltla_utla is not None
    assert inputs.ltla_utla.is_file()


def test_leeds_download_builds_a_complete_region(leeds_fetch: dict[str, Any]) -> None:
    build = pytest.importorskip("nhc_planner.build")
    inputs = build.RegionInputs.from_toml(leeds_fetch["manifest"])
    region = build.build_region(inputs, la_codes=[LEEDS])
    assert len(region.areas) == 488
    assert region.areas["population"].notna().all()
    assert region.areas["hle_years"].notna().all()
    assert set(region.sites["kind"]) == {"gp_practice", "hospital", "pharmacy"}


def test_leeds_tables_match_the_sources(
    leeds_fetch: dict[str, Any], payloads: dict[str, Any]
) -> None:
    out = leeds_fetch["manifest"].parent
    data = tomllib.loads(leeds_fetch["manifest"].read_text(encoding="utf-8"))
    leeds = payloads["leeds"]
    assert len(leeds) == 488

    boundaries = _features(out / data["boundaries"])
    assert sorted(f["properties"]["LSOA21CD"] for f in boundaries) == leeds
    assert all(f["geometry"]["type"] in ("Polygon", "MultiPolygon") for f in boundaries)
    assert len(_features(out / data["centroids"])) == 488

    lookup = _csv_rows(out / data["lsoa_la"])
    assert sorted(r["LSOA21CD"] for r in lookup) == leeds
    assert {r["LAD24CD"] for r in lookup} == {LEEDS}
    icb = _csv_rows(out / data["lsoa_icb"])
    assert {r["ICB24CD"] for r in icb} == {WEST_YORKSHIRE}
    assert {r["SICBL24CDH"] for r in icb} == {"15F"}
    assert {r["LSOA21CD"] for r in _csv_rows(out / data["lsoa11_lsoa21"])} == set(leeds)

    pop = _csv_rows(out / data["population"])
    assert [r["LSOA21CD"] for r in pop] == leeds
    assert {r["LSOA21CD"]: float(r["Population"]) for r in pop} == payloads["totals"]

    written = {
        (r["lsoa21_code"], r["age_group"]): int(r["usual_residents"])
        for r in _csv_rows(out / data["population_age"])
    }
    expected = {
        (r["lsoa21_code"], r["age_group"]): int(r["usual_residents"]) for r in payloads["ages"]
    }
    assert written == expected  # single years re-aggregate to the six categories exactly

    imd = _csv_rows(out / data["imd"])
    assert len(imd) == 488
    assert imd[0] == _csv_rows(payloads["imd_path"])[0]
    assert (out / data["hle"]).read_bytes() == payloads["hle_path"].read_bytes()
    assert (out / "osm" / "west-yorkshire-latest.osm.pbf").read_bytes() == payloads[
        "pbf"
    ].read_bytes()


def test_leeds_gp_practices_are_geocoded_and_flagged(
    leeds_fetch: dict[str, Any], payloads: dict[str, Any]
) -> None:
    out = leeds_fetch["manifest"].parent
    gp = _features(out / "epraccur_geocoded.geojson")
    codes = {f["properties"]["Organisation Code"] for f in gp}
    # Every active practice commissioned by Leeds (sub-ICB 15F) with a postcode is there.
    leeds_active = {
        f["properties"]["Organisation Code"]
        for f in payloads["gp"]
        if f["properties"]["Commissioner"] == "15F" and f["properties"]["Status Code"] == "A"
    }
    assert leeds_active
    assert leeds_active <= codes
    assert all(f["properties"]["Status Code"] == "A" for f in gp)
    # Neighbours just over the border are kept too, flagged as outside the area.
    sherburn = next(f for f in gp if f["properties"]["Organisation Code"] == "B82031")
    assert sherburn["properties"]["within_area"] is False
    inside = [f for f in gp if f["properties"]["within_area"]]
    assert len(inside) >= len(leeds_active) // 2
    for f in gp:
        lon, lat = f["geometry"]["coordinates"]
        assert (f["properties"]["longitude"], f["properties"]["latitude"]) == (lon, lat)
    hospitals = _features(out / "nhs_hospitals.geojson")
    assert {f["properties"]["OrganisationCode"] for f in hospitals} >= {"NT225"}
    assert len(_features(out / "nhs_pharmacies.geojson")) > 200


def test_second_fetch_is_served_from_the_cache(leeds_fetch: dict[str, Any]) -> None:
    assert len(leeds_fetch["first"]) > 10
    assert leeds_fetch["second"] == []  # the server saw no new request
    first, again = leeds_fetch["manifest"].parent, leeds_fetch["again"].parent
    assert verify_manifest(leeds_fetch["again"]) == verify_manifest(leeds_fetch["manifest"])
    a = _record(leeds_fetch["manifest"])["sha256"]
    b = _record(leeds_fetch["again"])["sha256"]
    assert a == b
    assert first != again


def test_paging_and_batches_were_used(leeds_fetch: dict[str, Any]) -> None:
    queries = [
        urllib.parse.parse_qs(urllib.parse.urlsplit(p).query) for _, p, _ in leeds_fetch["first"]
    ]
    offsets = {q["resultOffset"][0] for q in queries if "resultOffset" in q}
    assert {"0", "250"} <= offsets  # the lookup (488 rows) needed two pages of 250
    nomis = [q for q in queries if "geography" in q]
    assert max(len(q["geography"][0].split(",")) for q in nomis) == 200
    posts = [p for method, p, _ in leeds_fetch["first"] if method == "POST"]
    assert posts
    assert all(p == "/postcodes" for p in posts)


# --------------------------------------------------------------------------------------------
# Cache, checksums, failures
# --------------------------------------------------------------------------------------------


def test_corrupted_cached_file_is_detected_and_downloaded_again(
    mirror: Mirror, payloads: dict[str, Any], tmp_path: Path
) -> None:
    kwargs: dict[str, Any] = {
        "la": LEEDS,
        "cache_dir": tmp_path / "cache",
        "sources": ["imd"],
        "progress": False,
        "base_urls": {"*": mirror.base},
    }
    fetch_area(out=tmp_path / "a", **kwargs)
    cache = DownloadCache(tmp_path / "cache")
    entry = json.loads(cache.manifest_path.read_text())["files"][
        DownloadCache.key(SOURCES["imd"].url)
    ]
    cached = tmp_path / "cache" / entry["file"]
    cached.write_bytes(b"lsoa21_code,IMD_decile\nE01011264,1\n")  # tampered
    mirror.log.clear()
    with pytest.warns(UserWarning, match="does not match its recorded SHA-256"):
        manifest = fetch_area(out=tmp_path / "b", **kwargs)
    assert mirror.paths() == [_path_of(SOURCES["imd"].url)]
    assert sha256_file(cached) == entry["sha256"]
    assert all(verify_manifest(manifest).values())
    assert len(_csv_rows(tmp_path / "b" / "File_7_IoD2025_area.csv")) == 488


def test_verify_manifest_reports_a_changed_output(
    leeds_fetch: dict[str, Any], tmp_path: Path
) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(leeds_fetch["manifest"].parent, copy)
    (copy / "census21_ts001_usual_residents.csv").write_text("changed\n")
    checks = verify_manifest(copy / "sources.toml")
    assert checks["census21_ts001_usual_residents.csv"] is False
    assert sum(not ok for ok in checks.values()) == 1


def test_unreachable_host_raises_offline_error_naming_the_url(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    with pytest.raises(OfflineError) as info:
        fetch_area(
            la=LEEDS,
            out=tmp_path / "out",
            cache_dir=tmp_path / "cache",
            progress=False,
            base_urls={"*": dead},
            timeout=5,
        )
    text = str(info.value)
    assert SOURCES["lsoa_la"].url in text
    assert dead in text
    assert "by hand" in text
    assert "sources.toml" in text
    assert not (tmp_path / "out" / "sources.toml").exists()


def test_http_404_names_the_url(payloads: dict[str, Any], tmp_path: Path) -> None:
    routes = dict(payloads["routes"])
    del routes[_path_of(SOURCES["imd"].url)]
    m = Mirror(routes)
    m.thread.start()
    try:
        with pytest.raises(NhcRuntimeError, match="HTTP 404") as info:
            fetch_area(
                la=LEEDS,
                out=tmp_path / "out",
                cache_dir=tmp_path / "cache",
                sources=["imd"],
                progress=False,
                base_urls={"*": m.base},
            )
    finally:
        m.server.shutdown()
        m.server.server_close()
    assert SOURCES["imd"].url in str(info.value)
    assert not isinstance(info.value, OfflineError)


def test_arcgis_error_body_is_reported(payloads: dict[str, Any], tmp_path: Path) -> None:
    routes = dict(payloads["routes"])
    routes[_path_of(SOURCES["lsoa_la"].url)] = _static(
        b'{"error": {"code": 400, "message": "Invalid query"}}', "application/json"
    )
    m = Mirror(routes)
    m.thread.start()
    try:
        with pytest.raises(NhcRuntimeError, match="Invalid query"):
            fetch_area(
                la=LEEDS,
                out=tmp_path / "o",
                cache_dir=tmp_path / "c",
                sources=[],
                progress=False,
                base_urls={"*": m.base},
            )
    finally:
        m.server.shutdown()
        m.server.server_close()


def test_unknown_la_code_is_an_empty_input_error(mirror: Mirror, tmp_path: Path) -> None:
    with pytest.raises(EmptyInputError, match="E08000999"):
        fetch_area(
            la="E08000999",
            out=tmp_path / "o",
            cache_dir=tmp_path / "c",
            sources=[],
            progress=False,
            base_urls={"*": mirror.base},
        )


def test_icb_fetch_resolves_its_authorities(mirror: Mirror, tmp_path: Path) -> None:
    manifest = fetch_area(
        icb=WEST_YORKSHIRE,
        out=tmp_path / "o",
        cache_dir=tmp_path / "c",
        sources=["imd"],
        progress=False,
        base_urls={"*": mirror.base},
    )
    data = tomllib.loads(manifest.read_text(encoding="utf-8"))
    record = _record(manifest)
    assert record["area_kind"] == "icb"
    # Bradford, Calderdale, Kirklees, Leeds, Wakefield and part of North Yorkshire (Craven).
    assert record["la_codes"] == [
        "E06000065",
        "E08000032",
        "E08000033",
        "E08000034",
        LEEDS,
        "E08000036",
    ]
    assert record["name"].startswith("NHS West Yorkshire")
    # Only Leeds has boundaries and IMD rows in the fixtures: the rest are reported.
    assert any(n.startswith("boundaries:") for n in record["notes"])
    assert any(n.startswith("imd:") for n in record["notes"])
    lookup = _csv_rows(tmp_path / "o" / data["lsoa_la"])
    assert len(lookup) == record["n_areas"] > 488


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({}, "exactly one"),
        ({"la": LEEDS, "icb": WEST_YORKSHIRE}, "exactly one"),
        ({"la": "Leeds"}, "local authority code"),
        ({"icb": "QWO"}, "ICB code"),
        ({"la": LEEDS, "sources": ["imd", "weather"]}, "weather"),
    ],
)
def test_bad_arguments_raise_before_any_download(
    kwargs: dict[str, Any], match: str, tmp_path: Path
) -> None:
    with pytest.raises(ValueRangeError, match=match):
        fetch_area(
            out=tmp_path / "o",
            cache_dir=tmp_path / "c",
            base_urls={"*": "http://127.0.0.1:9"},
            **kwargs,
        )
    assert not (tmp_path / "c").exists()


# --------------------------------------------------------------------------------------------
# download_file and helpers
# --------------------------------------------------------------------------------------------


def test_download_file_progress_bar_can_be_disabled(
    mirror: Mirror, payloads: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = (
        "https://download.geofabrik.de/europe/united-kingdom/england/west-yorkshire-latest.osm.pbf"
    )
    download_file(url, tmp_path / "a.pbf", progress=False, base_urls={"*": mirror.base})
    assert capsys.readouterr().err == ""
    download_file(
        url, tmp_path / "b.pbf", progress=True, base_urls={"*": mirror.base}, desc="leeds pbf"
    )
    assert "leeds pbf" in capsys.readouterr().err
    assert (tmp_path / "a.pbf").read_bytes() == payloads["pbf"].read_bytes()


def test_download_file_checks_sha256_and_leaves_nothing_on_mismatch(
    mirror: Mirror, payloads: dict[str, Any], tmp_path: Path
) -> None:
    url = (
        "https://download.geofabrik.de/europe/united-kingdom/england/west-yorkshire-latest.osm.pbf"
    )
    good = sha256_file(payloads["pbf"])
    assert (
        download_file(
            url, tmp_path / "ok.pbf", sha256=good, progress=False, base_urls={"*": mirror.base}
        )
        == good
    )
    with pytest.raises(NhcRuntimeError, match="checksum mismatch"):
        download_file(
            url, tmp_path / "bad.pbf", sha256="0" * 64, progress=False, base_urls={"*": mirror.base}
        )
    assert not (tmp_path / "bad.pbf").exists()
    assert not (tmp_path / "bad.pbf.part").exists()


def test_download_file_resumes_a_partial_download(
    mirror: Mirror, payloads: dict[str, Any], tmp_path: Path
) -> None:
    url = (
        "https://download.geofabrik.de/europe/united-kingdom/england/west-yorkshire-latest.osm.pbf"
    )
    full = payloads["pbf"].read_bytes()
    (tmp_path / "x.pbf.part").write_bytes(full[:1000])
    digest = download_file(url, tmp_path / "x.pbf", progress=False, base_urls={"*": mirror.base})
    assert (tmp_path / "x.pbf").read_bytes() == full
    assert digest == sha256_file(payloads["pbf"])
    assert mirror.log[-1][2].get("Range") == "bytes=1000-"
    assert not (tmp_path / "x.pbf.part").exists()


def test_download_file_restarts_when_the_server_ignores_range(
    mirror: Mirror, tmp_path: Path
) -> None:
    url = "https://www.nomisweb.co.uk/api/v01/dataset/NM_2021_1.data.csv?geography=E01011264"
    (tmp_path / "t.csv.part").write_bytes(b"garbage that must not survive")
    download_file(url, tmp_path / "t.csv", progress=False, base_urls={"*": mirror.base})
    text = (tmp_path / "t.csv").read_text()
    assert text.startswith("GEOGRAPHY_CODE,")
    assert "garbage" not in text


def test_mirror_url_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    url = "https://fingertips.phe.org.uk/api/all_data/csv/by_indicator_id?indicator_ids=90362"
    monkeypatch.delenv("NHC_DOWNLOAD_MIRROR", raising=False)
    assert mirror_url(url) == url
    monkeypatch.setenv("NHC_DOWNLOAD_MIRROR", "http://127.0.0.1:8000/m")
    assert (
        mirror_url(url)
        == "http://127.0.0.1:8000/m/api/all_data/csv/by_indicator_id?indicator_ids=90362"
    )
    # An explicit mapping wins over the environment.
    assert mirror_url(url, {"fingertips.phe.org.uk": "http://h"}).startswith("http://h/api/")


def test_cache_folder_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NHC_CACHE_DIR", str(tmp_path / "here"))
    assert default_cache_dir() == tmp_path / "here"
    monkeypatch.delenv("NHC_CACHE_DIR")
    assert default_cache_dir() == Path.home() / ".cache" / "nhc-planner" / "downloads"


@pytest.mark.parametrize(
    ("label", "code", "age"),
    [
        ("Aged under 1 year", "1", 0),
        ("Aged 1 year", "2", 1),
        ("Aged 64 years", "65", 64),
        ("Aged 100 years and over", "101", 100),
        ("Total", "0", None),
        ("Aged 4 years and under", "1001", None),
        ("", "17", 16),
    ],
)
def test_nomis_age_labels(label: str, code: str, age: int | None) -> None:
    assert _age_of(label, code) == age


def test_every_source_is_documented() -> None:
    doc = Path(__file__).resolve().parents[1] / "docs" / "download.md"
    text = doc.read_text(encoding="utf-8")
    for source in SOURCES.values():
        assert f"`{source.name}`" in text, source.name
        assert source.url in text, source.url
