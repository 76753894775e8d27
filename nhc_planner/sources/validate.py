"""Plausibility checks the readers apply at the boundary, before any data is used.

Each check compares values with a documented range from
:mod:`nhc_planner.sources.limits` and raises a named
:class:`~nhc_planner.NhcInputError` that names the file, the column, the
codes or rows at fault, the expected range and what was found. Geometry
checks repair what can be repaired safely (self-intersecting polygons,
overly dense outlines) and say so in a note; everything else is refused.

Upload checks (:func:`check_zip_archive`, :func:`scan_vector`) read archives
and vector files in bounded memory: zip members are measured before anything
is extracted, and vector files are counted a batch of features at a time.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from nhc_planner._errors import (
    CrsError,
    DataFileError,
    DuplicateKeyError,
    ValueRangeError,
)
from nhc_planner.sources.limits import (
    DECILE_RANGE,
    LONLAT_BOUNDS,
    LSOA_AREA_M2,
    MAX_AREA_VERTICES,
    MAX_GEOJSON_POSITIONS,
    MAX_UPLOAD_FEATURES,
    MAX_UPLOAD_UNZIPPED_BYTES,
    MAX_UPLOAD_VERTICES,
    MAX_ZIP_MEMBERS,
)

__all__ = [
    "check_change_codes",
    "check_decile_matches_rank",
    "check_geojson_positions",
    "check_input_files",
    "check_lsoa_areas",
    "check_not_lonlat",
    "check_within",
    "check_zip_archive",
    "collapse_repeated_rows",
    "repair_polygons",
    "scan_vector",
    "simplify_dense",
]

_N_SHOWN = 5


def _fmt(value: float) -> str:
    return f"{value:,.6g}" if abs(value) < 1e6 else f"{value:.3g}"


def check_within(
    values: pd.Series,
    *,
    what: str,
    column: str,
    bounds: tuple[float, float],
    codes: pd.Series | None = None,
    meaning: str = "",
    exclusive_low: bool = False,
) -> None:
    """Raise :class:`ValueRangeError` if a non-missing value falls outside ``bounds``.

    The message names the file (``what``), the column, up to five codes (or row
    numbers, 1 = first data row) with their values, and the expected range.

    Examples
    --------
    >>> import pandas as pd
    >>> check_within(pd.Series([60.0]), what="f", column="hle", bounds=(40, 85))
    >>> check_within(pd.Series([640.0]), what="f.csv", column="value", bounds=(40, 85),
    ...              meaning="HLE years")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nhc_planner._errors.ValueRangeError: f.csv: column 'value' (HLE years) must be within ...
    """
    low, high = bounds
    v = pd.to_numeric(values, errors="coerce")
    above = v > low if exclusive_low else v >= low
    bad = v.notna() & ~(above & (v <= high))
    if not bad.any():
        return
    labels = (
        codes[bad].astype(str).tolist()
        if codes is not None
        else [f"row {i + 1}" for i in np.flatnonzero(bad.to_numpy())]
    )
    found = [f"{lab}: {_fmt(float(x))}" for lab, x in zip(labels, v[bad], strict=True)]
    lo_word = f"> {_fmt(low)}" if exclusive_low else f">= {_fmt(low)}"
    msg = (
        f"{what}: column '{column}'{f' ({meaning})' if meaning else ''} must be within "
        f"[{_fmt(low)}, {_fmt(high)}] ({lo_word} and <= {_fmt(high)}); {int(bad.sum())} "
        f"value(s) are not, e.g. {found[:_N_SHOWN]}"
    )
    raise ValueRangeError(msg)


def check_decile_matches_rank(
    rank: pd.Series,
    decile: pd.Series,
    *,
    what: str,
    rank_column: str,
    decile_column: str,
    codes: pd.Series,
    n_areas: tuple[int, ...],
    vintage: str,
) -> None:
    """Check IMD ranks are 1..N and each decile is ``ceil(10 * rank / N)``.

    ``n_areas`` lists the accepted national counts N (one when the vintage is
    known, several when the code year was guessed); a row passes if it fits
    any of them. Ranks within one of a decile boundary may sit either side.

    Raises
    ------
    ValueRangeError
        A rank above the largest N, or deciles that contradict ranks (named
        with codes, rank, decile and the decile the rank implies).
    """
    top = max(n_areas)
    counts = " or ".join(f"{n:,}" for n in n_areas)
    check_within(
        rank,
        what=what,
        column=rank_column,
        bounds=(1, top),
        codes=codes,
        meaning=f"IMD rank, 1..{counts} for {vintage}",
    )
    r = rank.to_numpy(dtype=float)
    d = decile.to_numpy(dtype=float)
    ok = np.zeros(len(r), dtype=bool)
    lo_d, hi_d = DECILE_RANGE
    for n in n_areas:
        lo = np.clip(np.ceil((r - 1) * 10 / n), lo_d, hi_d)
        hi = np.clip(np.ceil((r + 1) * 10 / n), lo_d, hi_d)
        ok |= (d >= lo) & (d <= hi) & (r <= n)
    ok |= np.isnan(r) | np.isnan(d)
    if ok.all():
        return
    bad = np.flatnonzero(~ok)
    n0 = n_areas[0]
    shown = [
        f"{codes.iloc[i]}: rank {r[i]:,.0f}, decile {d[i]:.0f} (rank implies decile "
        f"{int(np.clip(np.ceil(r[i] * 10 / n0), lo_d, hi_d))})"
        for i in bad[:_N_SHOWN]
    ]
    msg = (
        f"{what}: columns '{decile_column}' and '{rank_column}' disagree in {len(bad)} row(s): "
        f"for {vintage} ({counts} areas) decile d holds ranks (d-1)*N/10 < rank <= d*N/10; "
        f"e.g. {shown}. Are the columns swapped, or from different files?"
    )
    raise ValueRangeError(msg)


def check_not_lonlat(frame: gpd.GeoDataFrame, *, what: str) -> None:
    """Refuse EPSG:27700 geometries whose coordinates are longitudes/latitudes.

    Raises
    ------
    CrsError
        Every coordinate falls inside the longitude/latitude box of Great
        Britain (:data:`~nhc_planner.sources.limits.LONLAT_BOUNDS`).
    """
    if frame.crs is None or frame.crs.to_epsg() != 27700 or len(frame) == 0:
        return
    x0, y0, x1, y1 = (float(v) for v in frame.total_bounds)
    bx0, by0, bx1, by1 = LONLAT_BOUNDS
    if bx0 <= x0 and x1 <= bx1 and by0 <= y0 and y1 <= by1:
        msg = (
            f"{what}: these look like longitude/latitude (x {x0:.4f}..{x1:.4f}, "
            f"y {y0:.4f}..{y1:.4f}), but the file says EPSG:27700 (British National Grid, "
            "metres: x 0..700,000, y 0..1,300,000); declare EPSG:4326 for longitude/latitude "
            "(or use x/y columns for metres)"
        )
        raise CrsError(msg)


def repair_polygons(
    geoms: gpd.GeoSeries, codes: pd.Series, *, what: str
) -> tuple[gpd.GeoSeries, str | None]:
    """Repair invalid (e.g. self-intersecting) polygons with ``shapely.make_valid``.

    Only the polygonal parts of a repaired geometry are kept. Returns the
    geometries and a note naming the areas repaired (None if none were).

    Raises
    ------
    ValueRangeError
        A polygon that has no area left once repaired (named).
    """
    arr = geoms.to_numpy()
    invalid = ~shapely.is_valid(arr)
    if not invalid.any():
        return geoms, None
    fixed = shapely.make_valid(arr[invalid])
    polys = np.array([_polygonal(g) for g in fixed], dtype=object)
    empty = np.array([g is None or g.is_empty or g.area <= 0 for g in polys])
    idx = np.flatnonzero(invalid)
    if empty.any():
        names = codes.iloc[idx[empty]].astype(str).tolist()[:_N_SHOWN]
        msg = (
            f"{what}: {int(empty.sum())} polygon(s) are invalid and have no area once repaired "
            f"(e.g. {names}); redraw or re-export them"
        )
        raise ValueRangeError(msg)
    out = arr.copy()
    out[invalid] = polys
    reasons = [shapely.is_valid_reason(g) for g in arr[invalid][:3]]
    note = (
        f"{what}: {int(invalid.sum())} invalid polygon(s) repaired with make_valid, e.g. "
        f"{codes.iloc[idx].astype(str).tolist()[:_N_SHOWN]} ({'; '.join(reasons)})"
    )
    return gpd.GeoSeries(out, index=geoms.index, crs=geoms.crs), note


def _polygonal(geom: Any) -> Any:
    """The polygonal part of a geometry (None if it has none)."""
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [
        p
        for p in getattr(geom, "geoms", [])
        if p.geom_type in ("Polygon", "MultiPolygon") and not p.is_empty
    ]
    if not parts:
        return None
    return shapely.union_all(parts)


def check_lsoa_areas(geoms: gpd.GeoSeries, codes: pd.Series, *, what: str) -> None:
    """Check polygon areas (EPSG:27700) lie in :data:`~nhc_planner.sources.limits.LSOA_AREA_M2`.

    Raises
    ------
    ValueRangeError
        Naming the areas, their size in m^2 and the plausible range.
    """
    area = pd.Series(geoms.area.to_numpy(), index=codes.index)
    low, high = LSOA_AREA_M2
    bad = ~area.between(low, high)
    if not bad.any():
        return
    shown = [f"{c}: {a:.3g} m2" for c, a in zip(codes[bad], area[bad], strict=True)]
    hint = (
        " (tiny areas usually mean degrees read as metres: check the declared CRS)"
        if (area[bad] < low).any()
        else " (are these LSOAs, or larger areas such as authorities?)"
    )
    msg = (
        f"{what}: {int(bad.sum())} polygon(s) have implausible areas for an LSOA, expected "
        f"{low:g} m2 to {high / 1e6:g} km2; e.g. {shown[:_N_SHOWN]}{hint}"
    )
    raise ValueRangeError(msg)


def simplify_dense(
    geoms: gpd.GeoSeries,
    codes: pd.Series,
    *,
    what: str,
    max_vertices: int = MAX_AREA_VERTICES,
) -> tuple[gpd.GeoSeries, str | None]:
    """Simplify polygons with more than ``max_vertices`` vertices (valid results only).

    The tolerance grows (1, 2, 5, 10, ... metres) until each such polygon has
    at most ``max_vertices`` vertices. Returns the geometries and a note naming
    the areas simplified (None when none were).
    """
    arr = geoms.to_numpy()
    n = shapely.get_num_coordinates(arr)
    dense = np.flatnonzero(n > max_vertices)
    if len(dense) == 0:
        return geoms, None
    out = arr.copy()
    used: list[float] = []
    for i in dense:
        for tol in (1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0):
            # Douglas-Peucker is fast; keep the topology-preserving (slower) one for
            # the rare outline it would make invalid.
            simple = shapely.simplify(arr[i], tol, preserve_topology=False)
            if simple.is_empty or not simple.is_valid:
                simple = shapely.simplify(arr[i], tol, preserve_topology=True)
            if shapely.get_num_coordinates(simple) <= max_vertices:
                break
        out[i] = simple
        used.append(tol)
    shown = [f"{codes.iloc[i]} ({n[i]:,} vertices)" for i in dense[:_N_SHOWN]]
    note = (
        f"{what}: {len(dense)} polygon(s) had more than {max_vertices:,} vertices and were "
        f"simplified (tolerance up to {max(used):g} m) for display and speed, e.g. {shown}"
    )
    return gpd.GeoSeries(out, index=geoms.index, crs=geoms.crs), note


def check_change_codes(
    lookup: pd.DataFrame, *, what: str, column: str, c11: str = "lsoa11_code"
) -> None:
    """Check each LSOA 2011 -> 2021 link's change code matches the links around it.

    ``U`` (unchanged) links one 2011 area to one 2021 area, each in no other
    link; ``S`` (split) a 2011 area with several 2021 parts, each part from that
    area only; ``M`` (merge) several 2011 areas into one 2021 area, each 2011
    area going nowhere else; ``X`` (complex) anything.

    Raises
    ------
    ValueRangeError
        Naming the links whose code contradicts the rows (e.g. a many-to-many
        link labelled ``U``).
    """
    n21 = lookup.groupby("lsoa11_code")["lsoa21_code"].transform("size").to_numpy()
    n11 = lookup.groupby("lsoa21_code")["lsoa11_code"].transform("size").to_numpy()
    code = lookup["change_code"].to_numpy()
    expected = {
        "U": (n21 == 1) & (n11 == 1),
        "S": (n21 > 1) & (n11 == 1),
        "M": (n21 == 1) & (n11 > 1),
    }
    words = {
        "U": "one 2011 area to one 2021 area, neither in another link",
        "S": "one 2011 area to several 2021 areas, each from it alone",
        "M": "several 2011 areas to one 2021 area, each going nowhere else",
    }
    for kind, fits in expected.items():
        bad = (code == kind) & ~fits
        if bad.any():
            i = np.flatnonzero(bad)
            shown = [
                f"{lookup['lsoa11_code'].iloc[k]}->{lookup['lsoa21_code'].iloc[k]} "
                f"({n21[k]} link(s) from the 2011 area, {n11[k]} into the 2021 area)"
                for k in i[:_N_SHOWN]
            ]
            msg = (
                f"{what}: column '{column}' labels {len(i)} link(s) '{kind}', which means "
                f"{words[kind]}, but the rows say otherwise, e.g. {shown}; expected 'X' "
                "(complex) for many-to-many links. Is the lookup from one consistent release?"
            )
            raise ValueRangeError(msg)


def collapse_repeated_rows(
    frame: pd.DataFrame, key: str, values: list[str], *, what: str, key_column: str
) -> tuple[pd.DataFrame, str | None]:
    """Collapse rows repeating a key with the same values; refuse those that conflict.

    ONS publishes several lookups one row per output area, so each LSOA appears
    once per output area. Repeats that agree on every column in ``values`` are
    collapsed into one row (noted); a key whose repeats disagree is an error.

    Raises
    ------
    DuplicateKeyError
        Naming the codes whose rows disagree and the differing values.
    """
    rep = frame[key].duplicated(keep=False)
    if not rep.any():
        return frame, None
    distinct = frame.loc[rep, [key, *values]].drop_duplicates()
    conflict = distinct[key].duplicated(keep=False)
    if conflict.any():
        rows = distinct[conflict].sort_values(key)
        codes = list(dict.fromkeys(rows[key]))[:_N_SHOWN]
        shown = [
            f"{c}: "
            + " vs ".join("/".join(map(str, r)) for r in rows.loc[rows[key] == c, values].values)
            for c in codes
        ]
        msg = (
            f"{what}: column '{key_column}' repeats {rows[key].nunique()} code(s) with "
            f"conflicting values in {'/'.join(values)}, e.g. {shown}; expected one value per code"
        )
        raise DuplicateKeyError(msg)
    attrs = dict(frame.attrs)
    out = frame.drop_duplicates(key, keep="first").reset_index(drop=True)
    out.attrs.update(attrs)
    note = (
        f"{what}: {len(frame)} rows for {len(out)} code(s) in '{key_column}' (e.g. one row per "
        "output area); repeated rows agree and were collapsed to one per code"
    )
    return out, note


def check_input_files(paths: Mapping[str, Path | None], *, owner: str = "RegionInputs") -> None:
    """Raise :class:`DataFileError` listing every role whose file does not exist.

    Examples
    --------
    >>> from pathlib import Path
    >>> check_input_files({"hospitals": None, "imd": Path(__file__)})
    """
    missing = [
        f"{role} = {path}" for role, path in paths.items() if path is not None and not path.exists()
    ]
    if missing:
        msg = (
            f"{owner}: {len(missing)} input file(s) not found: {missing}; fix the path(s) "
            "(relative paths in sources.toml are relative to the manifest) or remove the role"
        )
        raise DataFileError(msg)


def check_geojson_positions(
    chunks: Iterable[bytes], *, name: str, max_positions: int = MAX_GEOJSON_POSITIONS
) -> int:
    """Count the coordinate positions of GeoJSON text (its ``]`` bytes, an upper bound).

    Works on a stream of byte chunks, so the text is never parsed nor held
    whole. Returns the count.

    Raises
    ------
    DataFileError
        More than ``max_positions`` positions (the message says what to upload instead).
    """
    count = 0
    for chunk in chunks:
        count += chunk.count(b"]")
        if count > max_positions:
            msg = (
                f"{name}: GeoJSON with more than {max_positions:,} coordinates; too detailed "
                "to read safely as GeoJSON. Upload the boundaries as a GeoPackage, zipped "
                "shapefile or GeoParquet, or use generalised (BGC/BSC) boundaries"
            )
            raise DataFileError(msg)
    return count


def check_zip_archive(
    data: bytes,
    *,
    name: str,
    max_bytes: int = MAX_UPLOAD_UNZIPPED_BYTES,
    max_members: int = MAX_ZIP_MEMBERS,
) -> None:
    """Check a zip archive's members before anything is extracted (zip bombs).

    Reads the central directory (member names and declared sizes), then
    decompresses each member as a stream, 1 MB at a time, counting bytes and
    stopping as soon as a member exceeds its declared size or the total
    exceeds ``max_bytes``: memory stays bounded whatever the archive holds.

    Raises
    ------
    DataFileError
        Not a zip archive, too many members, nested archives, or more than
        ``max_bytes`` once extracted (the message gives both sizes).
    """
    limit_words = f"{max_bytes / 2**20:.0f} MB"
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError) as exc:
        msg = f"{name}: not a readable zip archive ({exc})"
        raise DataFileError(msg) from exc
    with zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        if len(infos) > max_members:
            msg = f"{name}: the zip holds {len(infos)} files; at most {max_members} are accepted"
            raise DataFileError(msg)
        nested = [i.filename for i in infos if i.filename.lower().endswith((".zip", ".gz", ".7z"))]
        if nested:
            msg = f"{name}: archives inside the zip are not accepted (found {nested[:3]})"
            raise DataFileError(msg)
        declared = sum(i.file_size for i in infos)
        if declared > max_bytes:
            msg = (
                f"{name}: too large once unzipped: {declared / 2**20:,.0f} MB "
                f"({len(data) / 2**20:.1f} MB zipped); the limit is {limit_words}. Upload "
                "generalised boundaries or a smaller area"
            )
            raise DataFileError(msg)
        total = 0
        for info in infos:
            try:
                with zf.open(info) as member:
                    chunks = _bounded_chunks(member, info, total, max_bytes, name=name)
                    if info.filename.lower().endswith((".geojson", ".json")):
                        check_geojson_positions(chunks, name=f"{name}: {info.filename}")
                    else:
                        for _ in chunks:
                            pass
            except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
                msg = f"{name}: member {info.filename} cannot be unzipped ({exc})"
                raise DataFileError(msg) from exc
            total += info.file_size


def _bounded_chunks(
    member: IO[bytes], info: zipfile.ZipInfo, before: int, max_bytes: int, *, name: str
) -> Iterator[bytes]:
    """A zip member's bytes, 1 MB at a time, refused past its declared size or the limit."""
    seen = 0
    while chunk := member.read(2**20):
        seen += len(chunk)
        if seen > info.file_size or before + seen > max_bytes:
            msg = (
                f"{name}: member {info.filename} unzips to more than its declared size or the "
                f"{max_bytes / 2**20:.0f} MB limit; refused"
            )
            raise DataFileError(msg)
        yield chunk


def scan_vector(
    path: Path,
    *,
    name: str,
    max_features: int = MAX_UPLOAD_FEATURES,
    max_vertices: int = MAX_UPLOAD_VERTICES,
    batch_size: int = 2_000,
    unreadable_ok: bool = False,
) -> tuple[int, int]:
    """Count the features and vertices of a vector file without holding it all in memory.

    The feature count comes from the file's metadata (``pyogrio.read_info``);
    vertices are counted a batch of ``batch_size`` features at a time, stopping
    at the first batch that passes ``max_vertices``. Returns
    ``(features, vertices)``. With ``unreadable_ok``, a file GDAL cannot
    open returns ``(0, 0)`` so that the reader reports it in its own words.

    Raises
    ------
    DataFileError
        Unreadable, more than ``max_features`` features or more than
        ``max_vertices`` vertices.
    """
    try:
        n_features, batches = _wkb_batches(path, batch_size)
        if n_features > max_features:
            msg = (
                f"{name}: {n_features:,} features; at most {max_features:,} are accepted "
                "(England and Wales have 35,672 LSOAs); upload the areas of your region only"
            )
            raise DataFileError(msg)
        vertices = 0
        for wkb in batches:
            vertices += int(shapely.get_num_coordinates(shapely.from_wkb(wkb)).sum())
            if vertices > max_vertices:
                msg = (
                    f"{name}: more than {max_vertices:,} vertices (counting stopped at "
                    f"{vertices:,}); too detailed to map. Upload generalised boundaries "
                    "(e.g. ONS BGC/BSC) or simplify the file"
                )
                raise DataFileError(msg)
    except DataFileError:
        raise
    except Exception as exc:  # pyogrio/pyarrow raise several unrelated types
        if unreadable_ok:
            return 0, 0
        msg = f"{name}: cannot be read as a vector file ({type(exc).__name__}: {exc})"
        raise DataFileError(msg) from exc
    return n_features, vertices


def _wkb_batches(path: Path, batch_size: int) -> tuple[int, Iterator[np.ndarray]]:
    """The feature count of a vector file and an iterator over its geometries as WKB batches."""
    if path.suffix.lower() == ".parquet":
        import json

        import pyarrow.parquet as pq

        pf = pq.ParquetFile(path)
        geo = json.loads((pf.schema_arrow.metadata or {}).get(b"geo", b"{}") or b"{}")
        column = geo.get("primary_column", "geometry")
        batches = (
            b.column(0).to_numpy(zero_copy_only=False)
            for b in pf.iter_batches(batch_size=batch_size, columns=[column])
        )
        return int(pf.metadata.num_rows), batches
    import pyogrio

    info = pyogrio.read_info(path)
    n_features = max(int(info.get("features", -1)), 0)
    if info.get("geometry_type") is None:
        return n_features, iter(())

    def read() -> Iterator[np.ndarray]:
        with pyogrio.open_arrow(path, batch_size=batch_size, columns=[], use_pyarrow=True) as (
            meta,
            reader,
        ):
            geom_col = meta["geometry_name"] or "wkb_geometry"
            for batch in reader:
                yield batch.column(geom_col).to_numpy(zero_copy_only=False)

    return n_features, read()
