"""Existing NHS facilities and user-supplied sites, as sites-contract frames.

* :func:`read_epraccur`: NHS ODS ``epraccur`` GP practices, either the
  official headerless 27-column CSV (with a postcode -> coordinates table) or
  a headed CSV/GeoJSON that carries ``latitude``/``longitude``.
* :func:`read_nhs_syndication`: NHS website ``Hospital.csv`` /
  ``Pharmacy.csv`` (``¬``-delimited, latin-1) or the same as GeoJSON.
* :func:`read_user_sites`: a user's CSV (``site_id``, ``name`` and ``x``/``y``
  in BNG metres or ``latitude``/``longitude``) or GeoJSON/GeoPackage.

Every reader returns a GeoDataFrame with the columns of
:data:`nhc_planner.schema.SITE_COLUMNS` and point geometry in EPSG:27700.
Existing facilities are returned as ``status="candidate"`` by default: they
are places where a neighbourhood health centre could be co-located; pass
``status="existing"`` for sites that already operate as centres.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from nhc_planner._errors import DataFileError, ValueRangeError
from nhc_planner.schema import BNG, SITE_COLUMNS, SITE_KINDS, SITE_OVERRIDES, SITE_STATUSES
from nhc_planner.sources._tables import (
    add_note,
    check_unique,
    clean_codes,
    find_column,
    read_table,
    to_number,
)
from nhc_planner.sources.boundaries import points_from_table, read_vector, to_bng
from nhc_planner.sources.validate import check_not_lonlat

__all__ = [
    "EPRACCUR_COLUMNS",
    "read_epraccur",
    "read_nhs_syndication",
    "read_postcodes",
    "read_user_sites",
    "sites_frame",
]

#: The 27 columns of NHS ODS ``epraccur.csv`` (the file has no header row).
EPRACCUR_COLUMNS: tuple[str, ...] = (
    "Organisation Code",
    "Name",
    "National Grouping",
    "High Level Health Geography",
    "Address line 1",
    "Address line 2",
    "Address line 3",
    "Address line 4",
    "Address line 5",
    "Postcode",
    "Open Date",
    "Close Date",
    "Status Code",
    "Organisation Sub-Type Code",
    "Commissioner",
    "Join Provider/Purchaser Date",
    "Left Provider/Purchaser Date",
    "Contact Telephone Number",
    "Null 1",
    "Null 2",
    "Null 3",
    "Amended Record Indicator",
    "Null 4",
    "Provider/Purchaser",
    "Null 5",
    "Prescribing Setting",
    "Null 6",
)

_VECTOR = (".geojson", ".json", ".gpkg", ".shp", ".parquet", ".fgb")


def sites_frame(
    site_id: pd.Series,
    name: pd.Series,
    geometry: gpd.GeoSeries,
    *,
    kind: str | pd.Series,
    status: str | pd.Series,
    extra: pd.DataFrame | None = None,
    what: str,
) -> gpd.GeoDataFrame:
    """Assemble a sites-contract GeoDataFrame (EPSG:27700) and check it.

    Raises
    ------
    DuplicateKeyError, ValueRangeError
        Duplicated ids, unknown kind/status, or missing ids.
    """
    ids = clean_codes(site_id)
    if ids.isna().any():
        msg = f"{what}: {int(ids.isna().sum())} site(s) have no id"
        raise ValueRangeError(msg)
    check_unique(ids, what=what, column="site_id")
    frame = gpd.GeoDataFrame(
        {
            "site_id": ids.astype(str).to_numpy(),
            "name": name.astype("string").fillna(ids).astype(str).to_numpy(),
            "kind": np.asarray(kind, dtype=object)
            if not isinstance(kind, str)
            else np.full(len(ids), kind, dtype=object),
            "status": np.asarray(status, dtype=object)
            if not isinstance(status, str)
            else np.full(len(ids), status, dtype=object),
        },
        geometry=geometry.to_numpy(),
        crs=geometry.crs,
    )
    for col in SITE_OVERRIDES:
        values = extra[col] if extra is not None and col in extra.columns else None
        frame[col] = values.to_numpy(dtype=float) if values is not None else np.nan
    for col, allowed in (("kind", SITE_KINDS), ("status", SITE_STATUSES)):
        bad = sorted(set(frame[col].astype(str)) - set(allowed))
        if bad:
            msg = f"{what}: {col} value(s) {bad[:5]} not allowed; expected one of {list(allowed)}"
            raise ValueRangeError(msg)
    if len(frame) and frame.crs is not None and frame.crs.to_epsg() != 27700:
        frame = to_bng(frame, what=what)
    frame = frame[[*SITE_COLUMNS, "geometry"]]
    return frame


def _drop_missing_coords(
    raw: pd.DataFrame, *, what: str, code: str
) -> tuple[pd.DataFrame, list[str]]:
    """Drop rows whose latitude/longitude (or x/y) are blank; say how many."""
    cols: list[str] = []
    for pair in ((("latitude", "lat"), ("longitude", "long", "lon", "lng")), (("x",), ("y",))):
        found = [find_column(raw, a, what=what, role="coordinate", required=False) for a in pair]
        if all(found):
            cols = [str(c) for c in found]
            break
    if not cols:
        return raw, []
    blank = raw[cols].apply(lambda s: s.astype("string").str.strip().fillna("").eq("")).any(axis=1)
    if not blank.any():
        return raw, []
    note = (
        f"{what}: {int(blank.sum())} site(s) without coordinates left out, e.g. "
        f"{raw.loc[blank, code].astype(str).tolist()[:5]}"
    )
    return raw.loc[~blank].reset_index(drop=True), [note]


def read_postcodes(path: str | Path) -> pd.DataFrame:
    """Read a postcode -> coordinates table (ONS Postcode Directory-like).

    Accepts ``pcds``/``pcd``/``postcode`` with ``lat``/``long`` (or
    ``latitude``/``longitude``, or ``oseast1m``/``osnrth1m``/``x``/``y`` in BNG).

    Returns
    -------
    pandas.DataFrame
        ``postcode_key`` (upper case, no spaces), ``x``, ``y`` (BNG metres).
    """
    p = Path(path)
    what = f"{p} (postcode lookup)"
    raw = read_table(p, what="postcode lookup")
    pc = find_column(raw, ("pcds", "pcd", "pcd2", "postcode"), what=what, role="postcode")
    lon = find_column(raw, ("long", "longitude", "lon"), what=what, role="lon", required=False)
    lat = find_column(raw, ("lat", "latitude"), what=what, role="lat", required=False)
    if lon and lat:
        coords = pd.DataFrame(
            {
                "longitude": to_number(raw[lon], what=what, column=lon),
                "latitude": to_number(raw[lat], what=what, column=lat),
            }
        )
        # ONSPD marks postcodes without a grid reference with latitude 99.999999.
        keep = coords.notna().all(axis=1) & coords["latitude"].abs().le(90)
    else:
        x = find_column(raw, ("oseast1m", "x", "easting"), what=what, role="x or long")
        y = find_column(raw, ("osnrth1m", "y", "northing"), what=what, role="y or lat")
        coords = pd.DataFrame(
            {
                "x": to_number(raw[x], what=what, column=x),
                "y": to_number(raw[y], what=what, column=y),
            }
        )
        keep = coords.notna().all(axis=1)
    pts = points_from_table(coords[keep].reset_index(drop=True), what=what)
    keys = raw.loc[keep, pc].astype(str).str.upper().str.replace(r"\s+", "", regex=True)
    out = pd.DataFrame(
        {"postcode_key": keys.to_numpy(), "x": pts.x.to_numpy(), "y": pts.y.to_numpy()}
    )
    out.attrs["notes"] = []
    if not keep.all():
        add_note(out, f"{what}: {int((~keep).sum())} postcode(s) without coordinates ignored")
    return out


def _read_epraccur_table(p: Path) -> pd.DataFrame:
    if p.suffix.lower() in _VECTOR:
        frame = read_vector(p, layer=None, what="GP practice file")
        check_not_lonlat(frame, what=f"{p} (GP practices)")
        frame = frame.to_crs("EPSG:4326") if frame.crs is not None else frame
        table = pd.DataFrame(frame.drop(columns="geometry"))
        if "latitude" not in table.columns and frame.crs is not None:
            table["longitude"] = frame.geometry.x
            table["latitude"] = frame.geometry.y
        table.attrs["source"] = str(p)
        table.attrs["notes"] = []
        return table
    first = read_table(p, what="GP practice file", header=None)
    head = [str(v).strip().lower() for v in first.iloc[0].tolist()]
    if "organisation code" in head or "name" in head:
        return read_table(p, what="GP practice file")
    if first.shape[1] != len(EPRACCUR_COLUMNS):
        msg = (
            f"{p}: a headerless epraccur file must have {len(EPRACCUR_COLUMNS)} columns "
            f"({', '.join(EPRACCUR_COLUMNS[:3])}, ...); found {first.shape[1]}"
        )
        raise DataFileError(msg)
    first.columns = list(EPRACCUR_COLUMNS)
    return first


def read_epraccur(
    path: str | Path,
    *,
    open_only: bool = True,
    postcodes: str | Path | pd.DataFrame | None = None,
    status: str = "candidate",
) -> gpd.GeoDataFrame:
    """Read NHS ODS GP practices (``epraccur``) as sites of kind ``gp_practice``.

    Parameters
    ----------
    path
        Official headerless ``epraccur.csv``, a headed CSV with the same
        columns, or a GeoJSON/GeoPackage of it with ``latitude``/``longitude``.
    open_only
        Keep open GP practices only: ``Status Code == "A"`` and
        ``Prescribing Setting == 4`` (other settings are e.g. prisons, walk-in
        centres, out-of-hours services).
    postcodes
        Postcode -> coordinates table (path or :func:`read_postcodes` output),
        required when the file has no coordinates.
    status
        Status given to every practice.

    Raises
    ------
    DataFileError
        No coordinates and no postcode lookup, or an unrecognised layout.
    MissingColumnError, DuplicateKeyError, ValueRangeError, EmptyInputError
        Missing columns, duplicated practice codes, bad values, no practices.
    """
    p = Path(path)
    what = f"{p} (GP practices)"
    raw = _read_epraccur_table(p)
    read_notes = list(raw.attrs.get("notes", []))  # e.g. the file's encoding
    code = find_column(raw, ("Organisation Code", "org_code", "code"), what=what, role="ODS code")
    name = find_column(raw, ("Name", "org_name"), what=what, role="practice name")
    n_all = len(raw)
    if open_only:
        st = find_column(raw, ("Status Code", "status"), what=what, role="Status Code")
        ps = find_column(raw, ("Prescribing Setting",), what=what, role="Prescribing Setting")
        setting = to_number(raw[ps], what=what, column=ps)
        keep = raw[st].astype(str).str.strip().str.upper().eq("A") & setting.eq(4)
        raw = raw.loc[keep.to_numpy()].reset_index(drop=True)
    raw, notes = _drop_missing_coords(raw, what=what, code=code)
    pts = points_from_table(raw, what=what, required=False)
    if pts is None:
        if postcodes is None:
            msg = (
                f"{what}: the file has no latitude/longitude (official epraccur does not); "
                "a postcode lookup is needed: pass postcodes= (an ONSPD-like CSV with "
                "pcds, lat, long) or RegionInputs.postcodes"
            )
            raise DataFileError(msg)
        table = postcodes if isinstance(postcodes, pd.DataFrame) else read_postcodes(postcodes)
        pc = find_column(raw, ("Postcode",), what=what, role="Postcode")
        key = raw[pc].astype(str).str.upper().str.replace(r"\s+", "", regex=True)
        located = key.map(table.drop_duplicates("postcode_key").set_index("postcode_key")["x"])
        missing = located.isna()
        if missing.any():
            notes.append(
                f"{what}: {int(missing.sum())} practice(s) dropped: postcode not in the lookup, "
                f"e.g. {raw.loc[missing, code].astype(str).tolist()[:5]}"
            )
        raw, key = raw.loc[~missing].reset_index(drop=True), key[~missing].reset_index(drop=True)
        ys = key.map(table.drop_duplicates("postcode_key").set_index("postcode_key")["y"])
        xs = key.map(table.drop_duplicates("postcode_key").set_index("postcode_key")["x"])
        pts = gpd.GeoSeries(gpd.points_from_xy(xs, ys), crs=BNG)
    out = sites_frame(
        raw[code],
        raw[name].astype("string").str.title(),
        pts,
        kind="gp_practice",
        status=status,
        what=what,
    )
    out.attrs["source"] = str(p)
    out.attrs["notes"] = read_notes + notes
    if open_only:
        add_note(
            out,
            f"{what}: {len(out)} open GP practices kept of {n_all} records "
            "(Status Code A and Prescribing Setting 4)",
        )
    return out


def read_nhs_syndication(
    path: str | Path,
    *,
    kind: str,
    status: str = "candidate",
    visible_only: bool = True,
) -> gpd.GeoDataFrame:
    """Read an NHS website syndication file (``Hospital.csv``, ``Pharmacy.csv``).

    Parameters
    ----------
    path
        Raw ``¬``-delimited latin-1 CSV (tab, comma and pipe also accepted) or
        GeoJSON/GeoPackage with the same columns.
    kind
        ``"hospital"`` or ``"pharmacy"`` (any :data:`SITE_KINDS` value).
    status
        Status given to every site.
    visible_only
        Keep rows with ``OrganisationStatus == "Visible"`` (when present).

    Raises
    ------
    MissingColumnError, DuplicateKeyError, ValueRangeError, EmptyInputError
        Missing code/name/coordinates, duplicated codes, bad values.
    """
    p = Path(path)
    what = f"{p} ({kind} syndication)"
    if kind not in SITE_KINDS:
        msg = f"site kind '{kind}' not allowed; expected one of {list(SITE_KINDS)}"
        raise ValueRangeError(msg)
    if p.suffix.lower() in _VECTOR:
        frame = read_vector(p, layer=None, what=f"{kind} file")
        raw = pd.DataFrame(frame.drop(columns="geometry"))
        geom: gpd.GeoSeries | None = to_bng(
            gpd.GeoDataFrame(geometry=frame.geometry, crs=frame.crs), what=what
        ).geometry
    else:
        if not p.is_file():
            msg = f"{kind} file: file {p} not found"
            raise DataFileError(msg)
        sample = p.read_bytes()[:4096]
        text = sample.decode("latin-1")
        sep = "¬" if "¬" in text else ("\t" if "\t" in text else ("|" if "|" in text else ","))
        raw = read_table(p, what=f"{kind} file", sep=sep)
        geom = None
    code = find_column(raw, ("OrganisationCode", "ODS code", "site_id"), what=what, role="code")
    name = find_column(raw, ("OrganisationName", "name"), what=what, role="name")
    keep = pd.Series(True, index=raw.index)
    status_col = find_column(raw, ("OrganisationStatus",), what=what, role="status", required=False)
    if visible_only and status_col:
        keep &= raw[status_col].astype(str).str.strip().str.lower().eq("visible")
    ids = clean_codes(raw[code])
    if "OrganisationID" in raw.columns:
        ids = ids.fillna(raw["OrganisationID"].astype(str))
    read_notes = list(raw.attrs.get("notes", []))  # e.g. the file's encoding
    raw = raw.assign(_id=ids)
    raw, kept = raw.loc[keep], keep
    notes: list[str] = []
    if geom is None:
        raw, notes = _drop_missing_coords(raw.reset_index(drop=True), what=what, code="_id")
        pts = points_from_table(raw, what=what)
    else:
        pts = geom[kept.to_numpy()].reset_index(drop=True)
    raw = raw.reset_index(drop=True)
    dup = raw["_id"].duplicated(keep="first")
    if dup.any():
        notes.append(
            f"{what}: {int(dup.sum())} duplicated code(s) (e.g. "
            f"{raw.loc[dup, '_id'].tolist()[:5]}); first row kept"
        )
        raw, pts = raw.loc[~dup].reset_index(drop=True), pts[~dup.to_numpy()].reset_index(drop=True)
    out = sites_frame(raw["_id"], raw[name], pts, kind=kind, status=status, what=what)
    out.attrs["source"] = str(p)
    n_hidden = int((~kept).sum())
    if n_hidden:
        notes.append(f"{what}: {n_hidden} row(s) not 'Visible' (OrganisationStatus) left out")
    out.attrs["notes"] = read_notes + notes
    return out


def read_user_sites(
    path: str | Path,
    *,
    kind: str = "user_candidate",
    status: str = "candidate",
) -> gpd.GeoDataFrame:
    """Read a user's candidate sites from CSV or a vector file.

    CSV columns: ``site_id`` (or ``id``), ``name``, and ``x``/``y`` (BNG
    metres) or ``latitude``/``longitude`` (``lat``/``lon``). Optional: ``kind``,
    ``status``, ``max_rooms``, ``capex_gbp``, ``annual_cost_gbp``. Vector
    files need a declared CRS.

    Raises
    ------
    MissingColumnError, DuplicateKeyError, ValueRangeError, CrsError, EmptyInputError
        Missing columns, duplicated ids, bad values, no or wrong CRS.
    """
    p = Path(path)
    what = f"{p} (user sites)"
    if p.suffix.lower() in _VECTOR:
        frame = read_vector(p, layer=None, what="user sites file")
        raw = pd.DataFrame(frame.drop(columns="geometry"))
        pts = to_bng(gpd.GeoDataFrame(geometry=frame.geometry, crs=frame.crs), what=what).geometry
        if not pts.geom_type.eq("Point").all():
            msg = f"{what}: sites must be points; found {sorted(set(pts.geom_type))}"
            raise ValueRangeError(msg)
        pts = pts.reset_index(drop=True)
        raw = raw.reset_index(drop=True)
        read_notes = []
    else:
        raw = read_table(p, what="user sites file")
        read_notes = list(raw.attrs.get("notes", []))  # e.g. the file's encoding
        got = points_from_table(raw, what=what)
        pts = got
    sid = find_column(raw, ("site_id", "id", "code"), what=what, role="site id")
    name = find_column(raw, ("name", "site_name"), what=what, role="site name")
    kind_col = find_column(raw, ("kind",), what=what, role="kind", required=False)
    status_col = find_column(raw, ("status",), what=what, role="status", required=False)
    kinds = raw[kind_col].astype("string").fillna(kind).str.strip() if kind_col else kind
    statuses = raw[status_col].astype("string").fillna(status).str.strip() if status_col else status
    extra = pd.DataFrame(index=raw.index)
    for col in SITE_OVERRIDES:
        found = find_column(raw, (col,), what=what, role=col, required=False)
        if found:
            extra[col] = to_number(raw[found].astype("string"), what=what, column=found)
            if (extra[col] < 0).any():
                msg = f"{what}: column '{found}' must be non-negative"
                raise ValueRangeError(msg)
    out = sites_frame(
        raw[sid].astype("string"),
        raw[name],
        pts,
        kind=kinds,
        status=statuses,
        extra=extra,
        what=what,
    )
    out.attrs["source"] = str(p)
    out.attrs["notes"] = read_notes
    return out
