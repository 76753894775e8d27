"""Small-area boundaries and population-weighted centroids.

Reads ONS LSOA boundaries (2011 or 2021 codes) from any vector format GDAL
reads (GeoPackage, GeoJSON, shapefile), whatever the code and name columns
are called, in any declared CRS, and returns them in British National Grid.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, overload

import geopandas as gpd
import numpy as np
import pandas as pd

from nhc_planner._errors import (
    CrsError,
    DataFileError,
    EmptyInputError,
    MissingColumnError,
    ValueRangeError,
)
from nhc_planner.schema import BNG
from nhc_planner.sources._tables import (
    AREA_CODE_ALIASES,
    AREA_NAME_ALIASES,
    add_note,
    check_unique,
    clean_codes,
    code_year_of,
    find_column,
    read_table,
    to_number,
)
from nhc_planner.sources.limits import BNG_BOUNDS
from nhc_planner.sources.validate import (
    check_lsoa_areas,
    check_not_lonlat,
    repair_polygons,
    simplify_dense,
)

__all__ = [
    "check_in_great_britain",
    "points_from_table",
    "read_boundaries",
    "read_centroids",
    "read_vector",
    "to_bng",
]

#: Generous bounds of Great Britain in EPSG:27700 metres (x_min, y_min, x_max, y_max);
#: defined in :mod:`nhc_planner.sources.limits`.
GB_BOUNDS_BNG: tuple[float, float, float, float] = BNG_BOUNDS


#: Place names some boundary files carry (e.g. ward and MSOA names joined to LSOAs);
#: kept as ``ward_name`` / ``msoa_name`` so neighbourhoods and maps can use names
#: people recognise.
PLACE_NAME_ALIASES: dict[str, tuple[str, ...]] = {
    "ward_name": (
        "ward_name",
        "ward24_name",
        "ward23_name",
        "ward22_name",
        "wd24nm",
        "wd23nm",
        "wd22nm",
        "wd21nm",
    ),
    "msoa_name": (
        "msoa_name",
        "msoa21hclnm",
        "msoa21_name",
        "msoa21nm",
        "msoa11hclnm",
        "msoa11_name",
        "msoa11nm",
    ),
}


def read_vector(path: Path, *, layer: str | None, what: str) -> gpd.GeoDataFrame:
    """Read a vector file (any GDAL format, or GeoParquet) with clear errors.

    Raises
    ------
    DataFileError
        Missing or unreadable file.
    EmptyInputError
        Empty file or no features.
    """
    if not path.exists():
        msg = f"{what}: file {path} not found"
        raise DataFileError(msg)
    if path.is_file() and path.stat().st_size == 0:
        msg = f"{path}: {what} is empty (0 bytes)"
        raise EmptyInputError(msg)
    try:
        if path.suffix.lower() == ".parquet":
            frame = gpd.read_parquet(path)
        else:
            frame = gpd.read_file(path, layer=layer)
    except Exception as exc:  # pyogrio raises several unrelated types
        msg = f"{path}: cannot read {what} as a vector file ({type(exc).__name__}: {exc})"
        raise DataFileError(msg) from exc
    if len(frame) == 0:
        msg = f"{path}: {what} has no features"
        raise EmptyInputError(msg)
    return frame


def check_in_great_britain(frame: gpd.GeoDataFrame, *, what: str, source_crs: str) -> None:
    """Raise :class:`CrsError` if BNG geometries fall outside Great Britain.

    Catches files whose declared CRS is wrong (e.g. BNG metres labelled as
    longitude/latitude), which otherwise reproject to nonsense silently.
    """
    x0, y0, x1, y1 = frame.total_bounds
    bx0, by0, bx1, by1 = GB_BOUNDS_BNG
    inside = bool(np.isfinite([x0, y0, x1, y1]).all())
    inside = inside and bx0 <= x0 and by0 <= y0 and x1 <= bx1 and y1 <= by1
    if not inside:
        bounds = [f"{v:.0f}" for v in (x0, y0, x1, y1)]
        msg = (
            f"{what}: coordinates fall outside Great Britain after reprojecting from the "
            f"declared CRS {source_crs} to {BNG} (bounds {bounds}); "
            "is the file's CRS declared correctly?"
        )
        raise CrsError(msg)


def to_bng(frame: gpd.GeoDataFrame, *, what: str) -> gpd.GeoDataFrame:
    """Reproject ``frame`` to EPSG:27700, checking it has a CRS and lands in Great Britain.

    Raises
    ------
    CrsError
        No CRS declared, longitude/latitude labelled EPSG:27700, or coordinates
        outside Great Britain after reprojection.
    """
    if frame.crs is None:
        msg = (
            f"{what}: no coordinate reference system declared; expected a CRS such as "
            f"{BNG} or EPSG:4326 (set one with GeoDataFrame.set_crs and save again)"
        )
        raise CrsError(msg)
    source = frame.crs.to_string()
    check_not_lonlat(frame, what=what)
    out = frame.to_crs(BNG) if frame.crs.to_epsg() != 27700 else frame
    check_in_great_britain(out, what=what, source_crs=source)
    return out


def read_boundaries(
    path: str | Path,
    *,
    code_column: str | None = None,
    name_column: str | None = None,
    layer: str | None = None,
) -> gpd.GeoDataFrame:
    """Read small-area polygons as ``[area_code, area_name, geometry]`` in EPSG:27700.

    Parameters
    ----------
    path
        GeoPackage, GeoJSON, shapefile (or zipped shapefile) or GeoParquet.
    code_column, name_column
        Column names to use; by default the first match of
        ``LSOA21CD, lsoa21_code, LSOA code (2021), ..., LSOA11CD, lsoa11_code,
        ..., area_code, code`` (and the matching name columns). Without a name
        column the code is used as the name.
    layer
        Layer of a multi-layer file (default: the first).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per area; ``attrs["code_year"]`` is 2011, 2021 or None (the
        column name did not say) and ``attrs["source"]`` the file.

    Raises
    ------
    DataFileError, EmptyInputError, MissingColumnError, DuplicateKeyError
        Unreadable or empty file, no code column, a code used twice.
    CrsError
        No CRS declared, longitude/latitude declared as EPSG:27700, or
        coordinates outside Great Britain once reprojected.
    ValueRangeError
        Missing codes, non-polygon geometries, polygons with no area once
        repaired, or areas implausible for an LSOA
        (:data:`~nhc_planner.sources.limits.LSOA_AREA_M2`).

    Notes
    -----
    Invalid (e.g. self-intersecting) polygons are repaired with
    ``shapely.make_valid`` and polygons with more than
    :data:`~nhc_planner.sources.limits.MAX_AREA_VERTICES` vertices are
    simplified; ``attrs["notes"]`` names the areas concerned.
    """
    p = Path(path)
    what = f"{p} (boundaries)"
    frame = read_vector(p, layer=layer, what="boundary file")
    code_col = code_column or find_column(
        frame, AREA_CODE_ALIASES, what=what, role="area code", required=True
    )
    for given in (code_column, name_column):
        if given is not None and given not in frame.columns:
            msg = f"{what}: column '{given}' not found; found {list(frame.columns)}"
            raise MissingColumnError(msg)
    name_col = name_column or find_column(
        frame, AREA_NAME_ALIASES, what=what, role="area name", required=False
    )
    codes = clean_codes(frame[code_col])
    if codes.isna().any():
        msg = f"{what}: column '{code_col}' is blank for {int(codes.isna().sum())} feature(s)"
        raise ValueRangeError(msg)
    check_unique(codes, what=what, column=code_col)
    geom_types = set(frame.geometry.geom_type.dropna())
    if frame.geometry.isna().any() or not geom_types <= {"Polygon", "MultiPolygon"}:
        msg = (
            f"{what}: every feature must be a polygon; found geometry types "
            f"{sorted(geom_types)} and {int(frame.geometry.isna().sum())} empty geometries"
        )
        raise ValueRangeError(msg)
    names = frame[name_col].astype("string").fillna(codes) if name_col else codes
    geoms, repaired = repair_polygons(frame.geometry, codes, what=what)
    out = gpd.GeoDataFrame(
        {
            "area_code": codes.astype(str).to_numpy(),
            "area_name": names.astype(str).to_numpy(),
        },
        geometry=geoms.to_numpy(),
        crs=frame.crs,
    )
    for column, aliases in PLACE_NAME_ALIASES.items():
        found = find_column(frame, aliases, what=what, role=column, required=False)
        if found is not None:
            out[column] = frame[found].astype("string").to_numpy()
    out = to_bng(out, what=what)
    check_lsoa_areas(out.geometry, out["area_code"], what=what)
    simplified, dense = simplify_dense(out.geometry, out["area_code"], what=what)
    out = out.set_geometry(simplified.to_numpy(), crs=out.crs)
    out.attrs["notes"] = []
    for note in (repaired, dense):
        if note:
            add_note(out, note)
    out.attrs["code_year"] = code_year_of(code_col)
    out.attrs["source"] = str(p)
    out.attrs["code_column"] = code_col
    return out


_X_ALIASES = ("x", "easting", "BNG_E", "oseast1m", "X_coord")
_Y_ALIASES = ("y", "northing", "BNG_N", "osnrth1m", "Y_coord")
_LON_ALIASES = ("longitude", "long", "lon", "lng", "LONG_")
_LAT_ALIASES = ("latitude", "lat", "LAT_")


@overload
def points_from_table(
    frame: pd.DataFrame, *, what: str, required: Literal[True] = ...
) -> gpd.GeoSeries: ...


@overload
def points_from_table(
    frame: pd.DataFrame, *, what: str, required: bool
) -> gpd.GeoSeries | None: ...


def points_from_table(
    frame: pd.DataFrame, *, what: str, required: bool = True
) -> gpd.GeoSeries | None:
    """Build BNG points from ``x/y`` (BNG metres) or ``latitude/longitude`` columns.

    Returns None when neither pair is present and ``required`` is False.

    Raises
    ------
    MissingColumnError
        If no coordinate pair is present and ``required`` is True.
    ValueRangeError
        Non-numeric or missing coordinates.
    CrsError
        Coordinates outside Great Britain.
    """
    lon = find_column(frame, _LON_ALIASES, what=what, role="longitude", required=False)
    lat = find_column(frame, _LAT_ALIASES, what=what, role="latitude", required=False)
    x = find_column(frame, _X_ALIASES, what=what, role="x (BNG easting)", required=False)
    y = find_column(frame, _Y_ALIASES, what=what, role="y (BNG northing)", required=False)
    if lon and lat:
        cols, crs = (lon, lat), "EPSG:4326"
    elif x and y:
        cols, crs = (x, y), BNG
    elif not required:
        return None
    else:
        find_column(
            frame,
            [*_X_ALIASES, *_LON_ALIASES],
            what=what,
            role="coordinate (x/y in BNG metres or longitude/latitude)",
        )
        msg = f"{what}: needs both x and y (or longitude and latitude) columns"
        raise DataFileError(msg)
    xs = to_number(frame[cols[0]], what=what, column=cols[0], allow_missing=False)
    ys = to_number(frame[cols[1]], what=what, column=cols[1], allow_missing=False)
    pts = gpd.GeoSeries(gpd.points_from_xy(xs, ys), index=frame.index, crs=crs)
    gdf = gpd.GeoDataFrame(geometry=pts)
    gdf = to_bng(gdf, what=what)
    return gdf.geometry


def read_centroids(
    path: str | Path,
    *,
    code_column: str | None = None,
    layer: str | None = None,
) -> gpd.GeoDataFrame:
    """Read population-weighted centroids as ``[area_code, geometry]`` points in EPSG:27700.

    Accepts a vector file of points (e.g. ONS "LSOA (Dec 2021) PWC" GeoPackage)
    or a CSV with a code column and ``x/y`` (BNG metres) or
    ``latitude/longitude`` columns.

    Raises
    ------
    DataFileError, EmptyInputError, MissingColumnError, DuplicateKeyError, CrsError
        As :func:`read_boundaries`.
    ValueRangeError
        Non-point geometries or bad coordinates.
    """
    p = Path(path)
    what = f"{p} (centroids)"
    if p.suffix.lower() in (".csv", ".txt"):
        table = read_table(p, what="centroid table")
        code_col = code_column or find_column(table, AREA_CODE_ALIASES, what=what, role="area code")
        pts = points_from_table(table, what=what)
        frame = gpd.GeoDataFrame(
            {"area_code": clean_codes(table[code_col]).astype(str).to_numpy()},
            geometry=pts.to_numpy(),
            crs=BNG,
        )
    else:
        raw = read_vector(p, layer=layer, what="centroid file")
        code_col = code_column or find_column(raw, AREA_CODE_ALIASES, what=what, role="area code")
        if not raw.geometry.geom_type.eq("Point").all():
            kinds = sorted(set(raw.geometry.geom_type.dropna()))
            msg = f"{what}: centroids must be points; found {kinds}"
            raise ValueRangeError(msg)
        frame = gpd.GeoDataFrame(
            {"area_code": clean_codes(raw[code_col]).astype(str).to_numpy()},
            geometry=raw.geometry.to_numpy(),
            crs=raw.crs,
        )
        frame = to_bng(frame, what=what)
    check_unique(frame["area_code"], what=what, column=code_col)
    frame.attrs["code_year"] = code_year_of(code_col)
    frame.attrs["source"] = str(p)
    return frame
