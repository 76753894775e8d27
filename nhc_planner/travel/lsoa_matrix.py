"""Published LSOA-to-LSOA travel-time matrices (e.g. public transport), read onto areas and sites.

The Great Britain travel time matrices (Urban Big Data Centre, University of
Glasgow: ``from_id, to_id, travel_time_p25, travel_time_p50,
travel_time_p75`` and, in the LSOA public transport table, ``time_of_day``)
and similar files give minutes from one small area to another. A plan needs
minutes from each area to each *site*: every site is placed in the LSOA it
stands in (point in polygon on the region's area boundaries, the nearest area
within :data:`SITE_SNAP_M` for a site just outside, or the sites' own
``site_lsoa`` column), and the area-to-site time is the area-to-LSOA time.

Header names are matched ignoring case, spaces and punctuation:

* origin: ``from_id``, ``origin``, ``origin_code``, ``o_code``, ``from``,
  ``lsoa11cd``, ``lsoa21cd``, ``lsoa_code``, ``area_code``;
* destination: ``to_id``, ``destination``, ``destination_code``, ``d_code``,
  ``to``, ``dest``;
* minutes: ``travel_time_p<percentile>`` (the scenario's percentile when the
  file has it, else ``travel_time_p50``), ``travel_time``, ``minutes``,
  ``time``, ``travel_time_minutes``.

When the file has a ``time_of_day`` column the rows for ``time_of_day``
(``"am"`` by default) are kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from nhc_planner._errors import (
    DuplicateKeyError,
    MissingColumnError,
    ValueRangeError,
)
from nhc_planner.sources._tables import find_column, normalise_name
from nhc_planner.travel._times import TravelTimes, labels_of, points

__all__ = [
    "DESTINATION_ALIASES",
    "MINUTES_ALIASES",
    "ORIGIN_ALIASES",
    "SITE_SNAP_M",
    "LsoaMatrix",
    "is_lsoa_matrix",
    "lsoa_matrix_times",
    "read_lsoa_matrix",
    "site_lsoas",
]

#: Accepted origin-code headers.
ORIGIN_ALIASES: tuple[str, ...] = (
    "from_id",
    "origin",
    "origin_code",
    "origin_id",
    "o_code",
    "from",
    "fromId",
    "lsoa11cd",
    "lsoa21cd",
    "lsoa_code",
    "area_code",
)
#: Accepted destination-code headers.
DESTINATION_ALIASES: tuple[str, ...] = (
    "to_id",
    "destination",
    "destination_code",
    "destination_id",
    "d_code",
    "to",
    "toId",
    "dest",
)
#: Accepted minutes headers (after ``travel_time_p<percentile>``).
MINUTES_ALIASES: tuple[str, ...] = (
    "travel_time_p50",
    "travel_time",
    "minutes",
    "time",
    "travel_time_minutes",
)
#: A site outside every area polygon is placed in the nearest area within this many metres.
SITE_SNAP_M = 2_000.0


@dataclass(frozen=True)
class LsoaMatrix:
    """A checked LSOA-to-LSOA matrix: ``origin``, ``destination`` (str), ``minutes`` (float)."""

    table: pd.DataFrame
    minutes_column: str
    source: str


def is_lsoa_matrix(columns: pd.Index | list[str]) -> bool:
    """Whether headers look like an LSOA-to-LSOA matrix (origin and destination, no ``site_id``)."""
    names = {normalise_name(c) for c in columns}
    has = lambda aliases: any(normalise_name(a) in names for a in aliases)  # noqa: E731
    return "siteid" not in names and has(ORIGIN_ALIASES) and has(DESTINATION_ALIASES)


def _read_any(path: Path) -> pd.DataFrame:
    from nhc_planner.travel.matrix import _read_raw

    return _read_raw(path)


def read_lsoa_matrix(
    source: str | Path | pd.DataFrame,
    *,
    percentile: float | None = None,
    time_of_day: str = "am",
    what: str | None = None,
) -> LsoaMatrix:
    """Read and check an LSOA-to-LSOA travel-time matrix (CSV or Parquet).

    Parameters
    ----------
    source
        The file, or a table with the columns.
    percentile
        Use ``travel_time_p<percentile>`` when the file has it (else the median).
    time_of_day
        Rows kept when the file has a ``time_of_day`` column.
    what
        How to name the matrix in messages (default: the file, or "table").

    Raises
    ------
    DataFileError, EmptyInputError
        Unreadable or empty file.
    MissingColumnError
        No origin, destination or minutes column (the accepted names are listed).
    ValueRangeError
        Blank codes; minutes not numeric, negative or infinite; ``time_of_day``
        not in the file.
    DuplicateKeyError
        An origin-destination pair appears twice.
    """
    if isinstance(source, pd.DataFrame):
        what, raw = what or "LSOA travel-time matrix (table)", source
    else:
        what, raw = what or f"LSOA travel-time matrix {Path(source)}", _read_any(Path(source))
    o_col = find_column(raw, ORIGIN_ALIASES, what=what, role="origin LSOA code")
    d_col = find_column(raw, DESTINATION_ALIASES, what=what, role="destination LSOA code")
    wanted = () if percentile is None else (f"travel_time_p{round(percentile)}",)
    m_col = find_column(raw, (*wanted, *MINUTES_ALIASES), what=what, role="minutes")
    tod = find_column(raw, ("time_of_day",), what=what, role="time of day", required=False)
    if tod is not None:
        values = raw[tod].astype("string").str.strip().str.lower()
        if not (values == time_of_day.lower()).any():
            msg = (
                f"{what}: column '{tod}' has no rows for {time_of_day!r}; found "
                f"{sorted(set(values.dropna()))[:8]}"
            )
            raise ValueRangeError(msg)
        raw = raw[(values == time_of_day.lower()).to_numpy(dtype=bool)].reset_index(drop=True)
    from nhc_planner.travel.matrix import read_travel_matrix

    renamed = pd.DataFrame({"area_code": raw[o_col], "site_id": raw[d_col], "minutes": raw[m_col]})
    try:
        table = read_travel_matrix(renamed)
    except (ValueRangeError, DuplicateKeyError, MissingColumnError) as exc:
        text = str(exc).replace("travel-time matrix (table)", what)
        text = text.replace("'area_code'", f"'{o_col}'").replace("'site_id'", f"'{d_col}'")
        text = text.replace("'minutes'", f"'{m_col}'")
        raise type(exc)(text) from exc
    table = table.rename(columns={"area_code": "origin", "site_id": "destination"})
    return LsoaMatrix(table, m_col, what)


def site_lsoas(
    areas: pd.DataFrame, sites: pd.DataFrame, *, snap_m: float = SITE_SNAP_M
) -> np.ndarray:
    """The area code each site stands in (``site_lsoa`` column, else point in polygon).

    A site outside every area polygon takes the nearest area within ``snap_m``.

    Raises
    ------
    ValueRangeError
        A site is farther than ``snap_m`` from every area (name them), or a
        ``site_lsoa`` value is blank.
    MissingColumnError
        Neither a ``site_lsoa`` column nor area polygons to place the sites.
    """
    site_ids, xy = points(sites, "sites")
    if "site_lsoa" in sites.columns:
        given = sites["site_lsoa"].astype("string").str.strip().fillna("")
        if (given == "").any():
            blank = (given == "").to_numpy()
            bad = np.asarray(site_ids)[blank][:5].tolist()
            msg = f"sites: column 'site_lsoa' is blank for {int(blank.sum())} site(s), e.g. {bad}"
            raise ValueRangeError(msg)
        return given.to_numpy(dtype=object).astype(str)
    if not isinstance(areas, gpd.GeoDataFrame) or areas.geometry.name not in areas.columns:
        msg = (
            "areas: polygons are needed to place each site in its LSOA for an LSOA-to-LSOA "
            "matrix; or give the sites a 'site_lsoa' column"
        )
        raise MissingColumnError(msg)
    polys = gpd.GeoDataFrame(
        {"area_code": areas["area_code"].astype(str).to_numpy()},
        geometry=areas.geometry.to_numpy(),
        crs=areas.crs,
    )
    pts = gpd.GeoDataFrame(
        {"i": np.arange(len(site_ids))},
        geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]),
        crs=areas.crs,
    )
    hit = gpd.sjoin(pts, polys, how="left", predicate="within")
    hit = hit[~hit.index.duplicated(keep="first")].sort_values("i")
    codes = hit["area_code"].to_numpy(dtype=object)
    outside = pd.isna(codes)
    if outside.any():
        near = gpd.sjoin_nearest(
            pts[outside], polys, how="left", max_distance=snap_m, distance_col="_d"
        )
        near = near[~near.index.duplicated(keep="first")].sort_values("i")
        codes[outside] = near["area_code"].to_numpy(dtype=object)
    missing = pd.isna(codes)
    if missing.any():
        bad = np.asarray(site_ids)[missing][:5].tolist()
        msg = (
            f"sites: {int(missing.sum())} site(s) stand more than {snap_m:g} m from every area "
            f"of the region, so no LSOA can be read for them from the matrix, e.g. {bad}; give "
            "them a 'site_lsoa' column or leave them out"
        )
        raise ValueRangeError(msg)
    return codes.astype(str)


def lsoa_matrix_times(
    areas: pd.DataFrame,
    sites: pd.DataFrame,
    matrix: str | Path | pd.DataFrame | LsoaMatrix,
    *,
    mode: str = "transit",
    cutoff_min: float = 60.0,
    percentile: float | None = None,
) -> TravelTimes:
    """Area-to-site times from an LSOA-to-LSOA matrix (``method="matrix"``).

    Pairs absent from the matrix are unreachable. Rows whose origin is not an
    area of the region, or whose destination holds no site, are ignored.

    Raises
    ------
    ValueRangeError
        No origin code of the matrix is an area of the region (a matrix for
        another region, or 2011 codes against 2021 areas: the message says so);
        and the errors of :func:`read_lsoa_matrix` and :func:`site_lsoas`.
    """
    if not cutoff_min > 0:
        msg = f"cutoff_min must be > 0; got {cutoff_min}"
        raise ValueRangeError(msg)
    lm = (
        matrix
        if isinstance(matrix, LsoaMatrix)
        else read_lsoa_matrix(matrix, percentile=percentile)
    )
    area_codes = labels_of(areas, "areas")
    site_ids = labels_of(sites, "sites")
    site_area = site_lsoas(areas, sites)
    t = lm.table
    rows = pd.Index(area_codes).get_indexer(pd.Index(t["origin"]))
    if not (rows >= 0).any():
        examples = sorted(set(t["origin"]))[:3]
        msg = (
            f"{lm.source}: none of its origin codes (e.g. {examples}) is an area of this region "
            f"(e.g. {list(area_codes[:3])}); is it for another region, or in 2011 LSOA codes "
            "while the region uses 2021 codes?"
        )
        raise ValueRangeError(msg)
    t = t[rows >= 0]
    rows = rows[rows >= 0]
    # each destination LSOA may hold several sites (or none)
    dest = pd.DataFrame({"destination": site_area, "col": np.arange(len(site_ids))})
    pairs = pd.DataFrame(
        {"row": rows, "destination": t["destination"].to_numpy(), "minutes": t["minutes"]}
    )
    merged = pairs.merge(dest, on="destination")
    keep = merged["minutes"].to_numpy(float) <= cutoff_min
    merged = merged[keep]
    return TravelTimes(
        area_codes=area_codes,
        site_ids=site_ids,
        mode=mode,
        cutoff_min=float(cutoff_min),
        rows=merged["row"].to_numpy(np.int64),
        cols=merged["col"].to_numpy(np.int64),
        minutes=merged["minutes"].to_numpy(float),
        straight_line=np.zeros(len(merged), dtype=bool),
        snaps=pd.DataFrame(),
        method="matrix",
    )
