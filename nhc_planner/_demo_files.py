"""Writers of the synthetic demo region in the official file layouts.

Private helper of :mod:`nhc_planner.demo`. Each writer produces one file in
the layout users download from the official source, so the same readers in
:mod:`nhc_planner.sources` load it. Output is byte-for-byte deterministic:
rows in a fixed order, floats rounded, GeoPackage timestamps pinned, gzip
headers without a time stamp.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import Transformer

from nhc_planner._demo_layout import AGE6_LABELS, DemoWorld
from nhc_planner.sources._builtin_sources import BUILTIN
from nhc_planner.sources.facilities import EPRACCUR_COLUMNS

__all__ = [
    "FILES",
    "to_lonlat",
    "write_boundaries",
    "write_car_availability",
    "write_centroids",
    "write_facilities",
    "write_graphml_gz",
    "write_hle",
    "write_imd",
    "write_lookups",
    "write_population",
    "write_projections",
]

#: Relative paths of the generated files (the ``sources.toml`` keys they feed), as
#: declared by the built-in data sources (``DataSource.demo_path``).
FILES: dict[str, str] = {s.role: s.demo_path for s in BUILTIN if s.demo_path is not None}
NETWORK_FILE = "network/synthetic_demoshire_drive.graphml.gz"
#: The synthetic bus timetable (GTFS zip), written with the road network.
GTFS_FILE = "transit/synthetic_demoshire_gtfs.zip"

ICB_CODE = "X54000001"
ICB_CODE_NHS = "XQ1"
ICB_NAME = "NHS Demoshire Integrated Care Board"

# BNG -> WGS84 with the published OSGB36 Helmert parameters: no grid files, so
# the same numbers on every machine (the OSTN15 grid differs by a few metres).
_BNG_TO_WGS84 = (
    "+proj=pipeline +step +inv +proj=tmerc +lat_0=49 +lon_0=-2 +k=0.9996012717 "
    "+x_0=400000 +y_0=-100000 +ellps=airy +step +proj=push +v_3 +step +proj=cart "
    "+ellps=airy +step +proj=helmert +x=446.448 +y=-125.157 +z=542.06 +rx=0.15 "
    "+ry=0.247 +rz=0.842 +s=-20.489 +convention=position_vector +step +inv +proj=cart "
    "+ellps=WGS84 +step +proj=pop +v_3 +step +proj=unitconvert +xy_in=rad +xy_out=deg"
)


def to_lonlat(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """BNG metres to WGS84 degrees (rounded to 6 decimals, about 0.1 m)."""
    lon, lat = Transformer.from_pipeline(_BNG_TO_WGS84).transform(
        np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    )
    return np.round(lon, 6), np.round(lat, 6)


def _recs(frame: pd.DataFrame) -> list[Any]:
    """Rows as named tuples (attribute access by column name)."""
    table = pd.DataFrame(frame.drop(columns="geometry", errors="ignore"))
    return list(table.itertuples(index=False))


def _target(folder: Path, key: str) -> Path:
    path = folder / FILES[key]
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _write_csv(
    path: Path,
    header: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    quote_all: bool = False,
    delimiter: str = ",",
    encoding: str = "utf-8",
) -> None:
    buf = io.StringIO()
    writer = csv.writer(
        buf,
        delimiter=delimiter,
        lineterminator="\n",
        quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL,
    )
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))


@contextlib.contextmanager
def _fixed_gdal_date() -> Iterator[None]:
    """Pin the GeoPackage ``last_change`` timestamps (GDAL's OGR_CURRENT_DATE)."""
    key = "OGR_CURRENT_DATE"
    before = pyogrio.get_gdal_config_option(key)
    pyogrio.set_gdal_config_options({key: "2021-03-21T00:00:00.000Z"})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({key: before})


def _write_gpkg(frame: gpd.GeoDataFrame, path: Path, layer: str) -> None:
    if path.exists():
        path.unlink()
    with _fixed_gdal_date():
        pyogrio.write_dataframe(frame, path, layer=layer, driver="GPKG", SPATIAL_INDEX="NO")


# --------------------------------------------------------------------------- geography


def write_boundaries(world: DemoWorld, folder: Path) -> Path:
    """ONS-like LSOA 2021 boundaries (``LSOA21CD``, ``LSOA21NM``, ``BNG_E``, ``BNG_N``)."""
    a = world.areas
    label = shapely.point_on_surface(a.geometry.to_numpy())
    frame = gpd.GeoDataFrame(
        {
            "LSOA21CD": a["area_code"].to_numpy(),
            "LSOA21NM": a["area_name"].to_numpy(),
            "BNG_E": np.round(shapely.get_x(label)).astype(np.int64),
            "BNG_N": np.round(shapely.get_y(label)).astype(np.int64),
        },
        geometry=a.geometry.to_numpy(),
        crs="EPSG:27700",
    )
    path = _target(folder, "boundaries")
    _write_gpkg(frame, path, "synthetic_lsoa21")
    return path


def write_centroids(world: DemoWorld, folder: Path) -> Path:
    """ONS-like population-weighted centroids (``LSOA21CD`` points)."""
    a = world.areas
    frame = gpd.GeoDataFrame(
        {"LSOA21CD": a["area_code"].to_numpy()},
        geometry=gpd.points_from_xy(a["pwc_x"], a["pwc_y"]),
        crs="EPSG:27700",
    )
    path = _target(folder, "centroids")
    _write_gpkg(frame, path, "synthetic_lsoa21_pwc")
    return path


# --------------------------------------------------------------------------- tables


def write_imd(world: DemoWorld, folder: Path) -> Path:
    """IoD2025 File 7 layout (official column names) for the IMD columns."""
    a = world.areas
    header = (
        "LSOA code (2021)",
        "LSOA name (2021)",
        "Local Authority District code (2024)",
        "Local Authority District name (2024)",
        "Index of Multiple Deprivation (IMD) Score",
        "Index of Multiple Deprivation (IMD) Rank (where 1 is most deprived)",
        "Index of Multiple Deprivation (IMD) Decile (where 1 is most deprived 10% of LSOAs)",
    )
    rows: list[tuple[Any, ...]] = [
        (r.area_code, r.area_name, r.la_code, r.la_name, f"{r.imd_score:.3f}", r.imd_rank,
         r.imd_decile)
        for r in _recs(a)
    ]  # fmt: skip
    path = _target(folder, "imd")
    _write_csv(path, header, rows)
    return path


def write_car_availability(world: DemoWorld, folder: Path) -> Path:
    """Census 2021 TS045 in the Nomis bulk layout (wide), synthetic.

    Households are residents / 2.4; the share without a car falls from about
    28% in IMD decile 1 to 6% in decile 10 (the national gradient by income),
    with seeded noise; car households split 55/35/10 into 1, 2 and 3+ cars.
    """
    a = world.areas
    rng = np.random.default_rng(2021045)
    households = np.maximum(1, np.round(a["population"].to_numpy(float) / 2.4)).astype(int)
    decile = a["imd_decile"].to_numpy(float)
    share = 0.28 - (decile - 1) * (0.22 / 9) + rng.normal(0.0, 0.03, len(a))
    none = np.round(households * np.clip(share, 0.01, 0.6)).astype(int)
    cars = households - none
    one = np.round(cars * 0.55).astype(int)
    two = np.round(cars * 0.35).astype(int)
    three = cars - one - two
    prefix = "Number of cars or vans: "
    header = (
        "date",
        "geography",
        "geography code",
        f"{prefix}Total: All households",
        f"{prefix}No cars or vans in household",
        f"{prefix}1 car or van in household",
        f"{prefix}2 cars or vans in household",
        f"{prefix}3 or more cars or vans in household",
    )
    rows: list[tuple[Any, ...]] = [
        (2021, name, code, f"{h:,}", n, o, t, th)
        for name, code, h, n, o, t, th in zip(
            a["area_name"], a["area_code"], households, none, one, two, three, strict=True
        )
    ]
    path = _target(folder, "car_availability")
    _write_csv(path, header, rows)
    return path


def write_population(world: DemoWorld, folder: Path) -> tuple[Path, Path]:
    """Census 2021 usual residents: totals table and long-form six age bands."""
    a = world.areas
    total = _target(folder, "population")
    _write_csv(
        total,
        ("2021 super output area - lower layer", "LSOA21CD", "Population"),
        [(r.area_name, r.area_code, r.population) for r in _recs(a)],
    )
    counts = a[[f"age6_{b}" for b in range(6)]].to_numpy()
    rows: list[tuple[Any, ...]] = [
        (code, name, AGE6_LABELS[b], int(counts[i, b]))
        for i, (code, name) in enumerate(zip(a["area_code"], a["area_name"], strict=True))
        for b in range(6)
    ]
    age = _target(folder, "population_age")
    _write_csv(age, ("lsoa21_code", "lsoa21_name", "age_group", "usual_residents"), rows,
               quote_all=True)  # fmt: skip
    return total, age


#: Synthetic yearly growth of each age band (0-15, 16-64, 65+) in the demo projections;
#: authority k adds ``0.001 * k`` to every band so the authorities differ.
_SNPP_GROWTH = (-0.003, 0.002, 0.02)
#: First single year of age of each ``AGE6_LABELS`` band, and 91 (ages run 0..90+).
_AGE6_FROM = (0, 16, 25, 35, 50, 65, 91)
SNPP_YEARS = tuple(range(2022, 2048))


def write_projections(world: DemoWorld, folder: Path) -> Path:
    """ONS 2022-based SNPP persons file (official layout), SYNTHETIC figures.

    Mid-2022 residents by single year of age are the authority's Census age
    bands spread evenly over the band's ages; later years grow each of 0-15,
    16-64 and 65+ at a fixed synthetic rate (:data:`_SNPP_GROWTH`).
    """
    a = world.areas
    rows: list[tuple[Any, ...]] = []
    for k, (code, name) in enumerate(zip(world.las["la_code"], world.las["la_name"], strict=True)):
        counts = a.loc[a["la_code"] == code, [f"age6_{b}" for b in range(6)]].to_numpy().sum(axis=0)
        single = np.zeros(91)
        for b in range(6):
            lo, hi = _AGE6_FROM[b], _AGE6_FROM[b + 1]
            single[lo:hi] = counts[b] / (hi - lo)
        band = np.where(np.arange(91) <= 15, 0, np.where(np.arange(91) <= 64, 1, 2))
        rate = np.array(_SNPP_GROWTH)[band] + 0.001 * k
        steps = np.arange(len(SNPP_YEARS))
        table = np.round(single[:, np.newaxis] * (1.0 + rate[:, np.newaxis]) ** steps, 0)
        for age in range(91):
            label = "90 and over" if age == 90 else str(age)
            rows.append((code, name, "Population", "persons", label, *table[age].astype(int)))
        rows.append(
            (code, name, "Population", "persons", "All ages", *table.sum(axis=0).astype(int))
        )
    path = _target(folder, "population_projection")
    _write_csv(
        path,
        ("AREA_CODE", "AREA_NAME", "COMPONENT", "SEX", "AGE_GROUP", *map(str, SNPP_YEARS)),
        rows,
    )
    return path


def write_hle(world: DemoWorld, folder: Path) -> Path:
    """OHID Fingertips long form: HLE at birth per authority, period and sex."""
    names = dict(zip(world.las["la_code"], world.las["la_name"], strict=True))
    reference = {"Male": 61.0, "Female": 61.8}  # a fixed synthetic comparator
    rows: list[tuple[Any, ...]] = []
    for r in _recs(world.hle):
        gap = r.value - reference[r.sex]
        compared = "Worse" if gap < -1.5 else ("Better" if gap > 1.5 else "Similar")
        rows.append(
            (r.la_code, names[r.la_code], "UA", r.period, "Healthy life expectancy at birth",
             "Life expectancy", "Years", f"{r.value:.1f}", compared, r.sex)
        )  # fmt: skip
    path = _target(folder, "hle")
    _write_csv(
        path,
        ("area_code", "area_name", "area_type", "period", "indicator", "measure", "unit",
         "value", "compared_to_England", "inequality"),
        rows,
    )  # fmt: skip
    return path


def write_lookups(world: DemoWorld, folder: Path) -> tuple[Path, Path]:
    """LSOA21 -> ward -> LTLA and LSOA21 -> sub-ICB -> ICB lookups (geographr layout)."""
    a = world.areas
    la = _target(folder, "lsoa_la")
    _write_csv(
        la,
        ("lsoa21_name", "lsoa21_code", "ward24_name", "ward24_code", "ltla24_name", "ltla24_code"),
        [(r.area_name, r.area_code, r.ward_name, r.ward_code, r.la_name, r.la_code)
         for r in _recs(a)],
        quote_all=True,
    )  # fmt: skip
    sub = world.las.set_index("la_code")[["sicbl_name", "sicbl_code", "sicbl_code_nhs"]]
    per_la = {code: tuple(row) for code, row in zip(sub.index, sub.to_numpy(), strict=True)}
    icb = _target(folder, "lsoa_icb")
    _write_csv(
        icb,
        ("lsoa21_name", "lsoa21_code", "sicbl24_name", "sicbl24_code", "sicbl24_code_nhs",
         "icb24_name", "icb24_code", "icb24_code_nhs"),
        [(r.area_name, r.area_code, *per_la[r.la_code], ICB_NAME, ICB_CODE, ICB_CODE_NHS)
         for r in _recs(a)],
        quote_all=True,
    )  # fmt: skip
    return la, icb


# --------------------------------------------------------------------------- facilities


def _postcode(i: int) -> str:
    """Fictional postcodes: the "DM" area does not exist in the UK."""
    letters = "ABDEFGHJLNPQRSTUWXYZ"
    return f"DM{1 + i // 400} {1 + (i // 20) % 9}{letters[i % 20]}{letters[(i // 9) % 20]}"


def _phone(i: int) -> str:
    """Ofcom's drama range 01632 960000-960999, reserved for fiction."""
    return f"01632 960{i % 1000:03d}"


def write_facilities(
    sites: dict[str, pd.DataFrame], world: DemoWorld, folder: Path
) -> dict[str, Path]:
    """GP practices (epraccur + latitude/longitude), NHS website hospital and
    pharmacy syndication files (``¬``-delimited latin-1) and a user-sites CSV."""
    la_of = world.areas["la_code"].to_numpy()
    sicbl = dict(zip(world.las["la_code"], world.las["sicbl_code_nhs"], strict=True))
    paths: dict[str, Path] = {}

    gp = sites["gp"]
    lon, lat = to_lonlat(gp["x"].to_numpy(), gp["y"].to_numpy())
    rows: list[tuple[Any, ...]] = []
    for i, r in enumerate(_recs(gp)):
        commissioner = sicbl[la_of[r.area_index]]
        closed = not r.open and r.closed_not_other
        other_setting = not r.open and not r.closed_not_other
        rows.append(
            (r.code, r.name, "Y99", ICB_CODE_NHS, r.name, f"{1 + i % 97} HIGH STREET",
             r.place.upper(), "DEMOSHIRE", "", _postcode(i), "19740401",
             "20190331" if closed else "", "C" if closed else "A", "B", commissioner,
             "20130401", "", _phone(i), "", "", "", "0", "", commissioner, "",
             "8" if other_setting else "4", "", f"{lat[i]:.6f}", f"{lon[i]:.6f}")
        )  # fmt: skip
    paths["gp_practices"] = _target(folder, "gp_practices")
    _write_csv(paths["gp_practices"], (*EPRACCUR_COLUMNS, "latitude", "longitude"), rows)

    common = ("Address1", "Address2", "Address3", "City", "County", "Postcode",
              "Latitude", "Longitude", "ParentODSCode", "ParentName", "Phone", "Email",
              "Website", "Fax")  # fmt: skip
    h = sites["hospital"]
    lon, lat = to_lonlat(h["x"].to_numpy(), h["y"].to_numpy())
    rows = [
        (90_000 + i, r.code, "Hospital", "Hospital", "NHS Sector", "Visible", "True", r.name,
         "Hospital Road", "", "", r.place, "Demoshire", _postcode(5_000 + i), f"{lat[i]:.6f}",
         f"{lon[i]:.6f}", "XH0", "Demoshire Hospitals NHS Trust (synthetic)", _phone(900 + i),
         "", "", "")
        for i, r in enumerate(_recs(h))
    ]  # fmt: skip
    paths["hospitals"] = _target(folder, "hospitals")
    _write_csv(
        paths["hospitals"],
        ("OrganisationID", "OrganisationCode", "OrganisationType", "SubType", "Sector",
         "OrganisationStatus", "IsPimsManaged", "OrganisationName", *common),
        rows, delimiter="¬", encoding="latin-1",
    )  # fmt: skip

    ph = sites["pharmacy"]
    lon, lat = to_lonlat(ph["x"].to_numpy(), ph["y"].to_numpy())
    rows = [
        (91_000 + i, r.code, "Pharmacy", "Community Pharmacy",
         "Visible" if r.visible else "Hidden", "True", "True", r.name,
         f"{1 + i % 89} Market Street",
         "", "", r.place, "Demoshire", _postcode(6_000 + i), f"{lat[i]:.6f}", f"{lon[i]:.6f}",
         "XQ1", "Demoshire Area Team (synthetic)", _phone(500 + i), "", "", "")
        for i, r in enumerate(_recs(ph))
    ]  # fmt: skip
    paths["pharmacies"] = _target(folder, "pharmacies")
    _write_csv(
        paths["pharmacies"],
        ("OrganisationID", "OrganisationCode", "OrganisationType", "SubType",
         "OrganisationStatus", "IsPimsManaged", "IsEPSEnabled", "OrganisationName", *common),
        rows, delimiter="¬", encoding="latin-1",
    )  # fmt: skip

    cb = sites["community"]
    rows = [
        (r.code, r.name, "community_building", "candidate", f"{r.x:.1f}", f"{r.y:.1f}",
         int(r.max_rooms), "", "")
        for r in _recs(cb)
    ]  # fmt: skip
    paths["user_sites"] = _target(folder, "user_sites")
    _write_csv(
        paths["user_sites"],
        ("site_id", "name", "kind", "status", "x", "y", "max_rooms", "capex_gbp",
         "annual_cost_gbp"),
        rows,
    )  # fmt: skip
    return paths


# --------------------------------------------------------------------------- network


def write_graphml_gz(graph: nx.MultiDiGraph, path: Path) -> Path:
    """Save with :func:`osmnx.save_graphml`, then gzip without a time stamp.

    ``osmnx.load_graphml`` (through networkx) reads ``.graphml.gz`` directly.
    """
    import osmnx as ox

    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        plain = Path(tmp) / "graph.graphml"
        ox.save_graphml(graph, plain)
        data = plain.read_bytes()
    path.write_bytes(gzip.compress(data, compresslevel=9, mtime=0))
    return path


def write_gp_registrations(
    sites: dict[str, pd.DataFrame], world: DemoWorld, folder: Path
) -> dict[str, Path]:
    """Synthetic "Patients Registered at a GP Practice" LSOA file (male/female layout).

    Each area's residents, inflated by 10% (list inflation), are registered
    with its nearest open practices (:mod:`nhc_planner._synthetic_gp`).
    """
    from nhc_planner._synthetic_gp import (
        synthetic_gp_registrations,
        write_synthetic_gp_registrations,
    )

    gp = sites["gp"]
    gp = gp[gp["open"].astype(bool)]
    practices = pd.DataFrame(
        {"site_id": gp["code"], "name": gp["name"], "x": gp["x"], "y": gp["y"]}
    )
    areas = pd.DataFrame(
        {
            "area_code": world.areas["area_code"],
            "population": world.areas["population"],
            "demand_x": world.areas["pwc_x"],
            "demand_y": world.areas["pwc_y"],
        }
    )
    frame = synthetic_gp_registrations(practices, areas, seed=7)
    path = _target(folder, "gp_registrations")
    write_synthetic_gp_registrations(path, frame)
    return {"gp_registrations": path}
