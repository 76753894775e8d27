"""Download the official data for one area: ``nhc-planner data fetch``.

:func:`fetch_area` fetches, for a local authority (``la="E08000035"``) or an
Integrated Care Board (``icb="E54000054"``), every official file that
:func:`nhc_planner.build.build_region` needs, cuts each down to the area, and
writes a data folder with a ``sources.toml`` manifest (read by
``nhc_planner.build.RegionInputs.from_toml``) and a ``download.toml`` record
of URLs, licences, attributions and the SHA-256 of every file written
(checked by :func:`verify_manifest`).

Nothing here touches the network unless :func:`fetch_area`,
:func:`download_file` or :meth:`DownloadCache.fetch` is called explicitly.
Every source is defined once in :data:`SOURCES` (name, URL, licence,
attribution, format); ``docs/download.md`` documents the table.

Downloads go through a cache folder (default ``~/.cache/nhc-planner/downloads``,
or ``$NHC_CACHE_DIR``) with a ``manifest.json`` recording each file's URL and
SHA-256. A cached file is re-hashed on every reuse and downloaded again if it
no longer matches. Files are written to ``<name>.part`` and renamed when
complete. An unreachable host raises :class:`~nhc_planner._errors.OfflineError`
naming the URL and how to supply the file by hand.

Every source URL can be redirected to a mirror that keeps the official path
and query (``base_urls={"www.nomisweb.co.uk": "http://127.0.0.1:8000"}``, or
``$NHC_DOWNLOAD_MIRROR`` for all hosts); the tests use this to serve fixtures
from a local HTTP server.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import shutil
import urllib.parse
import warnings
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nhc_planner._cache import CACHE_ENV, cache_root
from nhc_planner._errors import (
    DataFileError,
    EmptyInputError,
    NhcRuntimeError,
    ValueRangeError,
)
from nhc_planner._http import MIRROR_ENV, download_file, mirror_url, sha256_file
from nhc_planner.sources import registry
from nhc_planner.sources.registry import DataSource

__all__ = [
    "CACHE_ENV",
    "MIRROR_ENV",
    "SOURCES",
    "DownloadCache",
    "FetchContext",
    "Source",
    "default_cache_dir",
    "download_file",
    "fetch_area",
    "mirror_url",
    "sha256_file",
    "verify_manifest",
]

#: Environment variable overriding the download cache folder.

MANIFEST_NAME = "sources.toml"
PROVENANCE_NAME = "download.toml"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Source:
    """One official data source.

    Parameters
    ----------
    name
        Key used in :data:`SOURCES` and in ``sources.toml``.
    title
        Human-readable name of the dataset.
    url
        Official URL (template: ``{region}`` is filled in for OSM extracts;
        ArcGIS and Nomis URLs get their query string at fetch time).
    licence
        Licence of the data.
    attribution
        Attribution statement the licence requires.
    format
        What the URL returns and what is written to the data folder.
    fields
        Field names the fetch relies on, e.g. ``(("la", "LAD24CD"),)``.
    fetch
        Fetch kind (a key of the fetchers below, e.g. ``"lsoa_csv"``) or a
        callable ``(context: FetchContext, source: Source) -> relative path | None``.
    out_file
        File name written in the data folder.
    always
        Always fetched (the source defines the area).
    helper_of
        Fetched only with this other source, by that source's fetch.
    params
        Query parameters of an API fetch (``"nomis_lsoa"``).
    """

    name: str
    title: str
    url: str
    licence: str
    attribution: str
    format: str
    fields: tuple[tuple[str, str], ...] = ()
    fetch: str | Callable[..., str | None] = "lsoa_csv"
    out_file: str = ""
    always: bool = False
    helper_of: str | None = None
    params: tuple[tuple[str, str], ...] = ()

    def field(self, role: str) -> str:
        """Return the field name recorded for ``role``.

        Raises
        ------
        DataFileError
            If the source has no field for ``role``.
        """
        for key, value in self.fields:
            if key == role:
                return value
        msg = f"source '{self.name}' has no field for '{role}'; it has {dict(self.fields)}"
        raise DataFileError(msg)


def _source_of(declared: DataSource) -> Source:
    dl = declared.download
    assert dl is not None
    return Source(
        name=declared.role,
        title=dl.title,
        url=dl.url,
        licence=declared.licence,
        attribution=dl.attribution,
        format=dl.format,
        fields=dl.fields,
        fetch=dl.fetch,
        out_file=dl.out_file or f"{declared.role}.csv",
        always=dl.always,
        helper_of=dl.helper_of,
        params=dl.params,
    )


class _SourceTable(Mapping[str, Source]):
    """Every declared data source with a download, by role, read from the registry at each use."""

    def _table(self) -> dict[str, Source]:
        return {s.role: _source_of(s) for s in registry.data_sources() if s.download is not None}

    def __getitem__(self, name: str) -> Source:
        return self._table()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._table())

    def __len__(self) -> int:
        return len(self._table())

    def __repr__(self) -> str:
        return f"SOURCES({list(self._table())})"


#: Every source ``data fetch`` knows, by name (read-only): the declared data sources
#: with a :class:`~nhc_planner.sources.registry.Download`. Override entries with
#: ``fetch_area(table=...)``; declare new ones with ``register_source()``.
SOURCES: Mapping[str, Source] = _SourceTable()

_LA_RE = re.compile(r"^E0[6789]\d{6}$")
_ICB_RE = re.compile(r"^E54\d{6}$")
_AREA_CODE_ALIASES = ("LSOA21CD", "lsoa21_code", "LSOA code (2021)", "LSOA 2021 code")

#: Buffer (degrees) around the area's extent within which facilities are kept:
#: about 5 km (0.045 deg latitude, 0.075 deg longitude at English latitudes).
_BUFFER_DEG = (0.075, 0.045)

#: Census 2021 "Age (6 categories)", the long form our population reader expects.
_AGE6: tuple[tuple[str, int, int], ...] = (
    ("Aged 15 years and under", 0, 15),
    ("Aged 16 to 24 years", 16, 24),
    ("Aged 25 to 34 years", 25, 34),
    ("Aged 35 to 49 years", 35, 49),
    ("Aged 50 to 64 years", 50, 64),
    ("Aged 65 years and over", 65, 999),
)


def default_cache_dir() -> Path:
    """Return the download cache folder: ``$NHC_CACHE_DIR`` or ``~/.cache/nhc-planner/downloads``.

    Examples
    --------
    >>> isinstance(default_cache_dir(), Path)
    True
    """
    if os.environ.get(CACHE_ENV):
        return cache_root()  # $NHC_CACHE_DIR is the download cache itself
    return cache_root() / "downloads"


# --------------------------------------------------------------------------------------------
# The cache
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DownloadCache:
    """A folder of downloaded files, each recorded with its URL and SHA-256.

    Files are keyed by the official URL (and request body), so the same file
    is downloaded once whatever mirror served it. ``manifest.json`` in the
    folder records ``url``, ``file``, ``sha256``, ``bytes`` and the UTC time
    of the download; a cached file is re-hashed on reuse and fetched again
    when it no longer matches.

    Parameters
    ----------
    folder
        Cache folder (created on first download).
    progress
        Show a progress bar per file.
    base_urls
        Mirrors, see :func:`mirror_url`.
    timeout
        Seconds to wait for a connection or a read.
    """

    folder: Path
    progress: bool = True
    base_urls: Mapping[str, str] | None = None
    timeout: float = 60.0

    @property
    def manifest_path(self) -> Path:
        """Path of the cache's ``manifest.json``."""
        return self.folder / "manifest.json"

    def _manifest(self) -> dict[str, Any]:
        try:
            data = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except json.JSONDecodeError:
            warnings.warn(
                f"{self.manifest_path} is not valid JSON; cached files will be re-downloaded",
                stacklevel=3,
            )
            return {}
        files = data.get("files", {})
        return files if isinstance(files, dict) else {}

    def _record(self, key: str, entry: dict[str, Any]) -> None:
        files = self._manifest()
        files[key] = entry
        text = json.dumps({"format_version": FORMAT_VERSION, "files": files}, indent=1)
        tmp = self.manifest_path.with_name(self.manifest_path.name + ".part")
        tmp.write_text(text + "\n", encoding="utf-8")
        os.replace(tmp, self.manifest_path)

    @staticmethod
    def key(url: str, data: bytes | None = None) -> str:
        """Return the cache key of a request (hex digest of URL and body).

        Examples
        --------
        >>> DownloadCache.key("https://a.example/x") == DownloadCache.key("https://a.example/x")
        True
        >>> url = "https://a.example/x"
        >>> DownloadCache.key(url) == DownloadCache.key(url, b"1")
        False
        """
        digest = hashlib.sha256(url.encode("utf-8"))
        if data is not None:
            digest.update(b"\0POST\0" + data)
        return digest.hexdigest()[:24]

    def fetch(
        self,
        url: str,
        *,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        desc: str | None = None,
    ) -> Path:
        """Return the path of the cached copy of ``url``, downloading it if needed.

        Parameters
        ----------
        url
            Official URL (including the query string).
        data
            POST body, part of the cache key.
        headers
            Extra request headers.
        desc
            Progress bar label.

        Raises
        ------
        OfflineError
            The file is not cached and its host cannot be reached.
        NhcRuntimeError
            The server answered with an HTTP error.
        """
        key = self.key(url, data)
        entry = self._manifest().get(key)
        if entry is not None:
            path = self.folder / str(entry.get("file", ""))
            if path.is_file():
                if sha256_file(path) == entry.get("sha256"):
                    return path
                warnings.warn(
                    f"cached copy of {url} ({path}) does not match its recorded SHA-256; "
                    "downloading it again",
                    stacklevel=2,
                )
                path.unlink()
        stem = urllib.parse.urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1] or "index"
        stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem)[-80:]
        path = self.folder / f"{key[:16]}-{stem}"
        digest = download_file(
            url,
            path,
            data=data,
            headers=headers,
            timeout=self.timeout,
            progress=self.progress,
            desc=desc or stem,
            base_urls=self.base_urls,
        )
        self._record(
            key,
            {
                "url": url,
                "method": "POST" if data is not None else "GET",
                "file": path.name,
                "sha256": digest,
                "bytes": path.stat().st_size,
                "downloaded_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
        )
        return path


# --------------------------------------------------------------------------------------------
# Reading what came back
# --------------------------------------------------------------------------------------------


def _read_json(path: Path, url: str) -> Any:
    try:
        return json.loads(path.read_bytes().decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        msg = f"{url}: expected JSON, got something else ({exc}); cached as {path}"
        raise DataFileError(msg) from exc


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def _read_csv(
    path: Path | bytes, *, delimiter: str | None = None
) -> tuple[list[str], list[list[str]]]:
    text = _decode(path if isinstance(path, bytes) else path.read_bytes())
    if delimiter is None:
        first = text.split("\n", 1)[0]
        delimiter = "¬" if "¬" in first else ","
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    if not rows:
        return [], []
    return [h.strip() for h in rows[0]], [r for r in rows[1:] if any(c.strip() for c in r)]


def _write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    tmp = path.with_name(path.name + ".part")
    with tmp.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    os.replace(tmp, path)


def _write_json(path: Path, obj: object) -> None:
    _write_text(path, json.dumps(obj, separators=(",", ":")) + "\n")


def _write_text(path: Path, text: str) -> None:
    """Write UTF-8 text to ``path`` atomically (via ``<path>.part``)."""
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(text.encode("utf-8"))
    os.replace(tmp, path)


def _feature_collection(features: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": features}


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _in_clause(field_name: str, values: Iterable[str]) -> str:
    quoted = ",".join("'" + v.replace("'", "''") + "'" for v in values)
    return f"{field_name} IN ({quoted})"


# --------------------------------------------------------------------------------------------
# ArcGIS FeatureServer (ONS Open Geography)
# --------------------------------------------------------------------------------------------


def _arcgis_features(
    cache: DownloadCache,
    source: Source,
    *,
    where: str,
    geometry: bool,
    order_by: str,
    page_size: int = 1000,
) -> list[dict[str, Any]]:
    """Return all GeoJSON features of an ArcGIS layer matching ``where``, paging as needed."""
    features: list[dict[str, Any]] = []
    offset = 0
    while True:
        params = {
            "where": where,
            "outFields": "*",
            "returnGeometry": "true" if geometry else "false",
            "outSR": "4326",
            "orderByFields": order_by,
            "resultOffset": str(offset),
            "resultRecordCount": str(page_size),
            "f": "geojson",
        }
        url = f"{source.url}?{urllib.parse.urlencode(params)}"
        path = cache.fetch(url, desc=f"{source.name} {offset + 1}-")
        body = _read_json(path, url)
        if not isinstance(body, dict) or "error" in body or "features" not in body:
            detail = body.get("error", body) if isinstance(body, dict) else body
            msg = (
                f"{source.name}: the ArcGIS service answered with an error for {url}: "
                f"{str(detail)[:300]}; the service may have been renamed (see docs/download.md)"
            )
            path.unlink(missing_ok=True)
            raise NhcRuntimeError(msg)
        page = list(body["features"])
        features.extend(page)
        more = bool(body.get("exceededTransferLimit")) or bool(
            (body.get("properties") or {}).get("exceededTransferLimit")
        )
        if not page or (not more and len(page) < page_size):
            return features
        offset += len(page)


def _arcgis_by_codes(
    cache: DownloadCache, source: Source, codes: Sequence[str], *, geometry: bool
) -> list[dict[str, Any]]:
    code_field = source.field("code")
    features: list[dict[str, Any]] = []
    for batch in _chunks(codes, 100):
        features.extend(
            _arcgis_features(
                cache,
                source,
                where=_in_clause(code_field, batch),
                geometry=geometry,
                order_by=code_field,
            )
        )
    return features


def _attributes(features: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [dict(f.get("properties") or f.get("attributes") or {}) for f in features]


def _arcgis_rows(cache: DownloadCache, source: Source, *, where: str) -> list[dict[str, Any]]:
    """Attribute rows (no geometry) of an ArcGIS layer matching ``where``, ordered by code."""
    features = _arcgis_features(
        cache, source, where=where, geometry=False, order_by=source.field("code")
    )
    return _attributes(features)


def _write_table(path: Path, rows: list[dict[str, Any]]) -> None:
    header: list[str] = []
    for row in rows:
        header.extend(k for k in row if k not in header)
    _write_csv(path, header, ([row.get(k, "") for k in header] for row in rows))


# --------------------------------------------------------------------------------------------
# The area
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Area:
    kind: str  # "la" or "icb"
    code: str
    name: str
    lsoa_codes: tuple[str, ...]
    la_codes: tuple[str, ...]
    sub_icb_ods: tuple[str, ...]
    la_rows: tuple[dict[str, Any], ...]
    icb_rows: tuple[dict[str, Any], ...]


def _check_area(la: str | None, icb: str | None) -> tuple[str, str]:
    if (la is None) == (icb is None):
        msg = f"give exactly one of la= or icb= (got la={la!r}, icb={icb!r})"
        raise ValueRangeError(msg)
    if la is not None:
        code = str(la).strip().upper()
        if not _LA_RE.match(code):
            msg = (
                f"la={la!r} is not an English local authority code; expected E06/E07/E08/E09 "
                "followed by 6 digits, e.g. 'E08000035' (Leeds)"
            )
            raise ValueRangeError(msg)
        return "la", code
    code = str(icb).strip().upper()
    if not _ICB_RE.match(code):
        msg = (
            f"icb={icb!r} is not an ICB code; expected E54 followed by 6 digits, "
            "e.g. 'E54000054' (West Yorkshire)"
        )
        raise ValueRangeError(msg)
    return "icb", code


def _resolve_area(cache: DownloadCache, table: Mapping[str, Source], kind: str, code: str) -> _Area:
    la_src, icb_src = table["lsoa_la"], table["lsoa_icb"]
    if kind == "la":
        la_rows = _arcgis_rows(cache, la_src, where=f"{la_src.field('la')} = '{code}'")
        if not la_rows:
            msg = (
                f"no LSOAs found for local authority {code} in {la_src.url} "
                f"(field {la_src.field('la')}); check the code (April 2024 LA codes)"
            )
            raise EmptyInputError(msg)
        icb_rows = _arcgis_rows(cache, icb_src, where=f"{icb_src.field('la')} = '{code}'")
        lsoas = sorted({str(r[la_src.field("code")]) for r in la_rows})
        name = str(la_rows[0].get(la_src.field("la_name"), code))
        las = [code]
    else:
        icb_rows = _arcgis_rows(cache, icb_src, where=f"{icb_src.field('icb')} = '{code}'")
        if not icb_rows:
            msg = (
                f"no LSOAs found for ICB {code} in {icb_src.url} (field {icb_src.field('icb')}); "
                "check the code (April 2024 ICB codes)"
            )
            raise EmptyInputError(msg)
        lsoas = sorted({str(r[icb_src.field("code")]) for r in icb_rows})
        las = sorted({str(r[icb_src.field("la")]) for r in icb_rows})
        name = str(icb_rows[0].get(icb_src.field("icb_name"), code))
        wanted = set(lsoas)
        la_rows = [
            r
            for r in _arcgis_rows(cache, la_src, where=_in_clause(la_src.field("la"), las))
            if str(r[la_src.field("code")]) in wanted
        ]
    sub_icbs = sorted({str(r.get(icb_src.field("sub_icb_ods"), "")) for r in icb_rows} - {""})
    return _Area(
        kind=kind,
        code=code,
        name=name,
        lsoa_codes=tuple(lsoas),
        la_codes=tuple(las),
        sub_icb_ods=tuple(sub_icbs),
        la_rows=tuple(la_rows),
        icb_rows=tuple(icb_rows),
    )


def _coords(geometry: Mapping[str, Any] | None) -> Iterator[tuple[float, float]]:
    def walk(c: Any) -> Iterator[tuple[float, float]]:
        if c and isinstance(c[0], (int, float)):
            yield float(c[0]), float(c[1])
        else:
            for item in c:
                yield from walk(item)

    if geometry and geometry.get("coordinates") is not None:
        yield from walk(geometry["coordinates"])


def _extent(features: Iterable[dict[str, Any]]) -> tuple[float, float, float, float]:
    xs: list[float] = []
    ys: list[float] = []
    for f in features:
        for x, y in _coords(f.get("geometry")):
            xs.append(x)
            ys.append(y)
    if not xs:
        msg = "the downloaded boundaries have no coordinates; cannot place facilities"
        raise EmptyInputError(msg)
    dx, dy = _BUFFER_DEG
    return min(xs) - dx, min(ys) - dy, max(xs) + dx, max(ys) + dy


class _Footprint:
    """The area's polygons, for 'is this point inside' tests (shapely, lazily)."""

    def __init__(self, features: Sequence[dict[str, Any]]) -> None:
        import shapely
        from shapely.geometry import shape

        geoms = [shape(f["geometry"]) for f in features if f.get("geometry")]
        self._union = shapely.union_all(geoms)
        shapely.prepare(self._union)
        self.bbox = _extent(features)

    def near(self, lon: float, lat: float) -> bool:
        x0, y0, x1, y1 = self.bbox
        return x0 <= lon <= x1 and y0 <= lat <= y1

    def contains(self, lon: float, lat: float) -> bool:
        import shapely

        return bool(shapely.intersects_xy(self._union, lon, lat))


# --------------------------------------------------------------------------------------------
# One function per source
# --------------------------------------------------------------------------------------------


@dataclass
class FetchContext:
    """What a fetch gets: the cache, the source table, the area and the output folder.

    A :class:`~nhc_planner.sources.registry.Download` may give a callable
    ``fetch(context, source) -> relative path | None`` that writes
    ``context.out / source.out_file`` and returns that name.

    Attributes
    ----------
    cache
        The download cache (``cache.fetch(url, desc=...)`` returns a local path).
    table
        The source table in use.
    area
        The area: ``area.lsoa_codes``, ``area.la_codes``, ``area.name``.
    out
        The data folder being written.
    wanted
        Names of the sources being fetched.
    notes
        Notes recorded in ``download.toml`` (append to it).
    footprint
        The area's polygons (after the boundaries are fetched).
    features
        GeoJSON features fetched per source (boundaries, centroids).
    osm_files
        OSM extracts written (relative paths).
    """

    cache: DownloadCache
    table: Mapping[str, Source]
    area: _Area
    out: Path
    wanted: set[str]
    notes: list[str]
    footprint: _Footprint | None = None
    features: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    osm_files: list[str] = field(default_factory=list)


def _fetch_area_lookup(ctx: FetchContext, source: Source) -> str | None:
    rows = {"lsoa_la": ctx.area.la_rows, "lsoa_icb": ctx.area.icb_rows}.get(source.name)
    if rows is None:
        msg = f"source '{source.name}': the area_lookup fetch serves lsoa_la and lsoa_icb only"
        raise DataFileError(msg)
    if not rows:
        return None
    _write_table(ctx.out / source.out_file, list(rows))
    return source.out_file


def _fetch_lookup_lsoa11(ctx: FetchContext, source: Source) -> str:
    inside = set(ctx.area.lsoa_codes)
    rows = [
        r
        for r in _arcgis_rows(
            ctx.cache, source, where=_in_clause(source.field("la"), ctx.area.la_codes)
        )
        if str(r.get(source.field("code"))) in inside
    ]
    _write_table(ctx.out / source.out_file, rows)
    return source.out_file


def _fetch_lookup_ltla(ctx: FetchContext, source: Source) -> str:
    where = _in_clause(source.field("la"), ctx.area.la_codes)
    _write_table(ctx.out / source.out_file, _arcgis_rows(ctx.cache, source, where=where))
    return source.out_file


def _fetch_polygons(ctx: FetchContext, source: Source) -> str:
    area = ctx.area
    features = _arcgis_by_codes(ctx.cache, source, area.lsoa_codes, geometry=True)
    code_field = source.field("code")
    got = {str((f.get("properties") or {}).get(code_field)) for f in features}
    missing = sorted(set(area.lsoa_codes) - got)
    if missing:
        ctx.notes.append(
            f"{source.name}: {len(missing)} of {len(area.lsoa_codes)} LSOAs not returned by "
            f"the service, e.g. {missing[:5]}"
        )
    _write_json(ctx.out / source.out_file, _feature_collection(features))
    ctx.features[source.name] = features
    return source.out_file


def _code_column(header: Sequence[str], what: str, preferred: str | None = None) -> int:
    lowered = [h.lower() for h in header]
    for alias in ((preferred,) if preferred else ()) + _AREA_CODE_ALIASES:
        if alias.lower() in lowered:
            return lowered.index(alias.lower())
    msg = (
        f"{what}: no LSOA 2021 code column; expected one of {list(_AREA_CODE_ALIASES)}, "
        f"found {list(header)[:8]}"
    )
    raise DataFileError(msg)


def _fetch_lsoa_csv(ctx: FetchContext, source: Source) -> str:
    """A national CSV with an LSOA 2021 code column, cut to the area's rows."""
    path = ctx.cache.fetch(source.url, desc=source.name)
    header, rows = _read_csv(path)
    col = _code_column(header, source.url, dict(source.fields).get("code"))
    inside = set(ctx.area.lsoa_codes)
    keep = [r for r in rows if len(r) > col and r[col].strip() in inside]
    if not keep:
        msg = f"{source.url}: no rows for the {len(inside)} LSOAs of {ctx.area.name}"
        raise EmptyInputError(msg)
    if len(keep) < len(inside):
        ctx.notes.append(
            f"{source.name}: {len(inside) - len(keep)} LSOAs of the area have no row in "
            f"{source.title}"
        )
    _write_csv(ctx.out / source.out_file, header, keep)
    return source.out_file


def _nomis_rows(
    cache: DownloadCache, source: Source, codes: Sequence[str], extra: Mapping[str, str], batch: int
) -> tuple[list[str], list[list[str]]]:
    header: list[str] = []
    rows: list[list[str]] = []
    for chunk in _chunks(codes, batch):
        params = {"date": "latest", "geography": ",".join(chunk), **extra}
        url = f"{source.url}?{urllib.parse.urlencode(params, safe=',.')}"
        path = cache.fetch(url, desc=f"{source.name} {len(rows) + 1}-")
        h, r = _read_csv(path)
        if not h or "GEOGRAPHY_CODE" not in h:
            path.unlink(missing_ok=True)
            msg = f"{url}: expected a Nomis CSV with a GEOGRAPHY_CODE column, got header {h[:6]}"
            raise DataFileError(msg)
        header = h
        rows.extend(r)
    return header, rows


def _fetch_nomis_lsoa(ctx: FetchContext, source: Source) -> str:
    """A Nomis dataset for the area's LSOAs, written as Nomis returns it.

    ``source.url`` is the dataset's ``.data.csv`` endpoint and ``source.params``
    its query (e.g. ``(("c2021_cars_5", "0...4"), ("measures", "20100"))``);
    ``date=latest`` and the LSOA codes are added, 200 codes per request.
    """
    header, rows = _nomis_rows(
        ctx.cache, source, ctx.area.lsoa_codes, dict(source.params), batch=200
    )
    got = {r[header.index("GEOGRAPHY_CODE")] for r in rows}
    missing = [c for c in ctx.area.lsoa_codes if c not in got]
    if missing:
        ctx.notes.append(
            f"{source.name}: {len(missing)} LSOAs missing from Nomis, e.g. {missing[:5]}"
        )
    _write_csv(ctx.out / source.out_file, header, rows)
    return source.out_file


def _fetch_nomis_ts001(ctx: FetchContext, source: Source) -> str:
    area = ctx.area
    header, rows = _nomis_rows(
        ctx.cache,
        source,
        area.lsoa_codes,
        {
            "c2021_restype_3": "0",
            "measures": "20100",
            "select": "GEOGRAPHY_CODE,GEOGRAPHY_NAME,OBS_VALUE",
        },
        batch=200,
    )
    ic, iname, iv = (header.index(c) for c in ("GEOGRAPHY_CODE", "GEOGRAPHY_NAME", "OBS_VALUE"))
    table = {r[ic]: (r[iname], r[iv]) for r in rows}
    missing = [c for c in area.lsoa_codes if c not in table]
    if missing:
        ctx.notes.append(
            f"{source.name}: {len(missing)} LSOAs missing from Nomis, e.g. {missing[:5]}"
        )
    _write_csv(
        ctx.out / source.out_file,
        ("2021 super output area - lower layer", "LSOA21CD", "Population"),
        ((table[c][0], c, table[c][1]) for c in area.lsoa_codes if c in table),
    )
    return source.out_file


def _age_of(label: str, code: str) -> int | None:
    """Single year of age of a Nomis C2021_AGE_102 category (None for totals/aggregates)."""
    text = label.lower()
    if "under 1" in text:
        return 0
    m = re.fullmatch(r"aged (\d+) years?(?: and over)?", text.strip())
    if m:
        return int(m.group(1))
    if not label and code.isdigit() and 1 <= int(code) <= 101:
        return int(code) - 1
    return None


def _fetch_nomis_ts007(ctx: FetchContext, source: Source) -> str:
    area = ctx.area
    header, rows = _nomis_rows(
        ctx.cache,
        source,
        area.lsoa_codes,
        {
            "c2021_age_102": "1...101",
            "measures": "20100",
            "select": "GEOGRAPHY_CODE,GEOGRAPHY_NAME,C2021_AGE_102,C2021_AGE_102_NAME,OBS_VALUE",
        },
        batch=200,
    )
    ic, iname, icode, ilabel, iv = (
        header.index(c)
        for c in (
            "GEOGRAPHY_CODE",
            "GEOGRAPHY_NAME",
            "C2021_AGE_102",
            "C2021_AGE_102_NAME",
            "OBS_VALUE",
        )
    )
    names: dict[str, str] = {}
    counts: dict[str, list[float]] = {}
    for r in rows:
        age = _age_of(r[ilabel], r[icode])
        if age is None:
            continue
        band = next(i for i, (_, lo, hi) in enumerate(_AGE6) if lo <= age <= hi)
        names[r[ic]] = r[iname]
        try:
            value = float(r[iv])
        except ValueError as exc:
            msg = f"{source.url}: non-numeric OBS_VALUE {r[iv]!r} for {r[ic]} ({r[ilabel]})"
            raise DataFileError(msg) from exc
        counts.setdefault(r[ic], [0.0] * len(_AGE6))[band] += value
    missing = [c for c in area.lsoa_codes if c not in counts]
    if missing:
        ctx.notes.append(
            f"{source.name}: {len(missing)} LSOAs missing from Nomis, e.g. {missing[:5]}"
        )

    def fmt(v: float) -> str:
        return str(int(v)) if v.is_integer() else str(v)

    _write_csv(
        ctx.out / source.out_file,
        ("lsoa21_code", "lsoa21_name", "age_group", "usual_residents"),
        (
            (c, names[c], label, fmt(counts[c][i]))
            for c in area.lsoa_codes
            if c in counts
            for i, (label, _, _) in enumerate(_AGE6)
        ),
    )
    return source.out_file


def _fetch_copy(ctx: FetchContext, source: Source) -> str:
    """The file as published (a CSV must have rows)."""
    path = ctx.cache.fetch(source.url, desc=source.name)
    if source.out_file.lower().endswith(".csv"):
        _, rows = _read_csv(path)
        if not rows:
            msg = f"{source.url}: the {source.title} download is empty"
            raise EmptyInputError(msg)
    shutil.copyfile(path, ctx.out / source.out_file)
    return source.out_file


def _geocode(
    cache: DownloadCache, source: Source, postcodes: Sequence[str]
) -> dict[str, tuple[float, float]]:
    found: dict[str, tuple[float, float]] = {}
    for chunk in _chunks(sorted(postcodes), 100):
        body = json.dumps({"postcodes": list(chunk)}).encode("utf-8")
        path = cache.fetch(
            source.url,
            data=body,
            headers={"Content-Type": "application/json"},
            desc=f"{source.name} ({len(chunk)})",
        )
        answer = _read_json(path, source.url)
        for item in answer.get("result") or []:
            res = item.get("result") if isinstance(item, dict) else None
            if res and res.get("longitude") is not None and res.get("latitude") is not None:
                found[str(item["query"])] = (float(res["longitude"]), float(res["latitude"]))
    return found


def _point_feature(props: dict[str, Any], lon: float, lat: float) -> dict[str, Any]:
    return {
        "type": "Feature",
        "properties": props,
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
    }


def _postcode_area(postcode: str) -> str:
    m = re.match(r"[A-Z]{1,2}", postcode.strip().upper())
    return m.group(0) if m else ""


def _fetch_epraccur(ctx: FetchContext, source: Source) -> str:
    from nhc_planner.sources.facilities import EPRACCUR_COLUMNS

    cache, area, footprint = ctx.cache, ctx.area, _footprint(ctx)
    path = cache.fetch(source.url, desc=source.name)
    try:
        with zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist() if n.lower().endswith(".csv")]
            if not names:
                msg = f"{source.url}: the zip holds no CSV (found {zf.namelist()})"
                raise DataFileError(msg)
            raw = zf.read(names[0])
    except zipfile.BadZipFile as exc:
        path.unlink(missing_ok=True)
        msg = f"{source.url}: not a valid zip file ({exc})"
        raise DataFileError(msg) from exc
    records = [
        dict(zip(EPRACCUR_COLUMNS, r, strict=False)) for r in csv.reader(io.StringIO(_decode(raw)))
    ]
    active = [r for r in records if r.get("Status Code", "").strip() == "A" and r.get("Postcode")]
    commissioned = {
        r["Organisation Code"]
        for r in active
        if r.get("Commissioner", "").strip() in area.sub_icb_ods
    }
    postcode_areas = {
        _postcode_area(r["Postcode"]) for r in active if r["Organisation Code"] in commissioned
    }
    pool = [r for r in active if _postcode_area(r["Postcode"]) in postcode_areas]
    helper = next(s for s in ctx.table.values() if s.helper_of == source.name)
    coords = _geocode(cache, helper, sorted({r["Postcode"].strip() for r in pool}))
    features = []
    unplaced = []
    for r in pool:
        lonlat = coords.get(r["Postcode"].strip())
        if lonlat is None:
            if r["Organisation Code"] in commissioned:
                unplaced.append(r["Organisation Code"])
            continue
        lon, lat = lonlat
        if r["Organisation Code"] not in commissioned and not footprint.near(lon, lat):
            continue
        props: dict[str, Any] = {k: (v.strip() or None) for k, v in r.items()}
        props.update(latitude=lat, longitude=lon, within_area=footprint.contains(lon, lat))
        features.append(_point_feature(props, lon, lat))
    if unplaced:
        ctx.notes.append(
            f"{source.name}: {len(unplaced)} active practice(s) of the area's sub-ICBs have a "
            f"postcode that postcodes.io could not place and were left out, e.g. {unplaced[:5]}"
        )
    _write_json(ctx.out / source.out_file, _feature_collection(features))
    return source.out_file


def _fetch_nhs_sites(ctx: FetchContext, source: Source) -> str:
    footprint = _footprint(ctx)
    path = ctx.cache.fetch(source.url, desc=source.name)
    header, rows = _read_csv(path)
    lower = [h.lower() for h in header]
    if "latitude" not in lower or "longitude" not in lower:
        msg = f"{source.url}: expected Latitude and Longitude columns, found {header[:12]}"
        raise DataFileError(msg)
    ilat, ilon = lower.index("latitude"), lower.index("longitude")
    features = []
    for r in rows:
        try:
            lat, lon = float(r[ilat]), float(r[ilon])
        except (ValueError, IndexError):
            continue
        if not footprint.near(lon, lat):
            continue
        props: dict[str, Any] = {h: (v.strip() or None) for h, v in zip(header, r, strict=False)}
        props[header[ilat]], props[header[ilon]] = lat, lon
        props["within_area"] = footprint.contains(lon, lat)
        features.append(_point_feature(props, lon, lat))
    _write_json(ctx.out / source.out_file, _feature_collection(features))
    return source.out_file


def _fetch_osm(ctx: FetchContext, osm_src: Source) -> None:
    """The Geofabrik extract(s) covering the area, into ``osm/`` (not a region input)."""
    import shapely
    from shapely.geometry import box, shape

    cache, footprint, out = ctx.cache, _footprint(ctx), ctx.out
    index_src = next(s for s in ctx.table.values() if s.helper_of == osm_src.name)
    index = _read_json(cache.fetch(index_src.url, desc=index_src.name), index_src.url)
    area = box(*footprint.bbox)
    regions = []
    for f in index.get("features", []):
        props = f.get("properties") or {}
        pbf = (props.get("urls") or {}).get("pbf")
        if not pbf or not f.get("geometry"):
            continue
        geom = shape(f["geometry"])
        if geom.intersects(area):
            regions.append((geom, props, pbf))
    containing = [r for r in regions if r[0].covers(area)]
    if containing:
        chosen = [min(containing, key=lambda r: r[0].area)]
    else:
        # No single extract covers the area: take the smallest extracts that together do.
        chosen = []
        for r in sorted(regions, key=lambda r: r[0].area):
            if not any(shapely.covers(c[0], r[0]) or shapely.covers(r[0], c[0]) for c in chosen):
                chosen.append(r)
            if shapely.union_all([c[0] for c in chosen]).covers(area):
                break
    if not chosen:
        msg = (
            f"{index_src.url}: no Geofabrik extract covers the area's extent {footprint.bbox}; "
            "download an .osm.pbf by hand (see docs/download.md)"
        )
        raise EmptyInputError(msg)
    (out / "osm").mkdir(exist_ok=True)
    for _, props, pbf in chosen:
        if "{region}" in osm_src.url and props.get("parent") == "england":
            pbf = osm_src.url.format(region=props["id"])
        path = cache.fetch(pbf, desc=f"osm {props.get('id', '')}")
        dest = out / "osm" / pbf.rsplit("/", 1)[-1]
        dest.unlink(missing_ok=True)
        try:
            os.link(path, dest)
        except OSError:
            shutil.copyfile(path, dest)
        ctx.osm_files.append(f"osm/{dest.name}")


# --------------------------------------------------------------------------------------------
# The public entry point
# --------------------------------------------------------------------------------------------


def _footprint(ctx: FetchContext) -> _Footprint:
    if ctx.footprint is None:
        msg = "the area's boundaries must be fetched before the sources placed by them"
        raise NhcRuntimeError(msg)
    return ctx.footprint


def _fetch_helper(ctx: FetchContext, source: Source) -> None:
    """Helpers are fetched by the source they help (postcodes by GP practices)."""


#: How each fetch kind is done (``Source.fetch`` / ``Download.fetch``).
_FETCHERS: Mapping[str, Callable[[FetchContext, Source], str | None]] = {
    "area_lookup": _fetch_area_lookup,
    "lookup_lsoa11": _fetch_lookup_lsoa11,
    "lookup_ltla": _fetch_lookup_ltla,
    "polygons": _fetch_polygons,
    "lsoa_csv": _fetch_lsoa_csv,
    "copy": _fetch_copy,
    "nomis_lsoa": _fetch_nomis_lsoa,
    "nomis_ts001": _fetch_nomis_ts001,
    "nomis_ts007": _fetch_nomis_ts007,
    "epraccur": _fetch_epraccur,
    "nhs_sites": _fetch_nhs_sites,
    "osm": _fetch_osm,
    "helper": _fetch_helper,
}


def _fetcher(source: Source) -> Callable[[FetchContext, Source], str | None]:
    if callable(source.fetch):
        return source.fetch
    try:
        return _FETCHERS[source.fetch]
    except KeyError:
        msg = (
            f"source '{source.name}': fetch kind {source.fetch!r} is not known; expected a "
            f"callable or one of {sorted(_FETCHERS)}"
        )
        raise ValueRangeError(msg) from None


def _select(sources: Iterable[str] | None, table: Mapping[str, Source]) -> set[str]:
    required = {n for n, s in table.items() if s.always}
    helpers = {n: s.helper_of for n, s in table.items() if s.helper_of}
    optional = [n for n in table if n not in required and n not in helpers]
    if sources is None:
        wanted = set(optional)
    else:
        wanted = {str(s) for s in sources}
        unknown = sorted(wanted - set(optional) - required)
        if unknown:
            msg = f"unknown source name(s) {unknown}; choose from {sorted(optional)}"
            raise ValueRangeError(msg)
    wanted |= required
    wanted |= {helper for helper, user in helpers.items() if user in wanted}
    missing = sorted({"lsoa_la", "lsoa_icb", "boundaries"} - set(table))
    if missing:
        msg = f"the source table has no entry for {missing}"
        raise ValueRangeError(msg)
    return wanted


def fetch_area(
    *,
    la: str | None = None,
    icb: str | None = None,
    out: str | Path,
    cache_dir: str | Path | None = None,
    sources: Iterable[str] | None = None,
    progress: bool = True,
    base_urls: Mapping[str, str] | None = None,
    timeout: float = 60.0,
    table: Mapping[str, Source] | None = None,
) -> Path:
    """Download the official data for one area and write a data folder.

    Parameters
    ----------
    la, icb
        Exactly one: a local authority code (``"E08000035"``, Leeds) or an ICB
        code (``"E54000054"``, West Yorkshire).
    out
        Data folder to write (created if needed); existing files of the same
        names are replaced.
    cache_dir
        Download cache (default ``$NHC_CACHE_DIR`` or
        ``~/.cache/nhc-planner/downloads``). Files are downloaded once.
    sources
        Names from :data:`SOURCES` to fetch (default: all). The area lookups
        and the boundaries are always fetched; ``postcodes`` comes with
        ``gp_practices`` and ``osm_index`` with ``osm``.
    progress
        Show a progress bar per file (stderr).
    base_urls
        Mirror bases replacing the scheme and host of the official URLs, keyed
        by host (``"www.nomisweb.co.uk"``) or ``"*"``; see :func:`mirror_url`.
        ``$NHC_DOWNLOAD_MIRROR`` applies when no key matches.
    timeout
        Seconds to wait for a connection or a read.
    table
        Replacement source table (default :data:`SOURCES`), e.g. with a newer
        IoD file URL.

    Returns
    -------
    pathlib.Path
        The written ``sources.toml`` (paths in it are relative to its folder).

    Raises
    ------
    ValueRangeError
        Bad area code or unknown source name.
    OfflineError
        A host cannot be reached; the message names the URL and how to supply
        the file by hand.
    NhcRuntimeError
        A server answered with an HTTP error (the message names the URL).
    EmptyInputError
        The area code matched no LSOAs.
    """
    import tomli_w

    kind, code = _check_area(la, icb)
    table = SOURCES if table is None else table
    wanted = _select(sources, table)
    cache = DownloadCache(
        Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir(),
        progress=progress,
        base_urls=base_urls,
        timeout=timeout,
    )
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []

    area = _resolve_area(cache, table, kind, code)
    ctx = FetchContext(cache=cache, table=table, area=area, out=out, wanted=wanted, notes=notes)
    # The boundaries first: facilities are placed by the area's polygons.
    inputs: dict[str, str] = {
        "boundaries": str(_fetcher(table["boundaries"])(ctx, table["boundaries"]))
    }
    ctx.footprint = _Footprint(ctx.features.get("boundaries", []))
    fetched = {"boundaries"}
    for name, source in table.items():
        if name not in wanted or name in fetched:
            continue
        rel = _fetcher(source)(ctx, source)
        if rel is not None:
            inputs[name] = rel
            fetched.add(name)
    if ctx.osm_files:
        fetched.add("osm")
    used = sorted({*fetched, *(n for n, s in table.items() if s.helper_of in fetched)})
    osm_files = ctx.osm_files
    sources_text = (
        "# Written by nhc-planner data fetch: one file per role, paths relative to this file.\n"
        "# Provenance, licences and SHA-256 checksums: download.toml beside it.\n"
        + tomli_w.dumps({key: inputs[key] for key in sorted(inputs)})
    )
    checksums = {rel: sha256_file(out / rel) for rel in [*inputs.values(), *osm_files]}
    checksums[MANIFEST_NAME] = hashlib.sha256(sources_text.encode("utf-8")).hexdigest()
    provenance: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "name": area.name,
        "area_kind": area.kind,
        "area_code": area.code,
        "la_codes": list(area.la_codes),
        "n_areas": len(area.lsoa_codes),
        "osm": osm_files,
        "cache_dir": str(cache.folder),
        "notes": notes,
        "attribution": sorted({table[name].attribution for name in used}),
        "sha256": checksums,
        "sources": {
            name: {
                "title": table[name].title,
                "url": table[name].url,
                "licence": table[name].licence,
                "attribution": table[name].attribution,
                "format": table[name].format,
            }
            for name in used
        },
    }
    _write_text(
        out / PROVENANCE_NAME,
        "# Written by nhc-planner data fetch: what was downloaded from where, under which\n"
        "# licence, and the SHA-256 of every file written (check with verify_manifest()).\n"
        + tomli_w.dumps(provenance),
    )
    target = out / MANIFEST_NAME
    _write_text(target, sources_text)
    return target


def verify_manifest(path: str | Path) -> dict[str, bool]:
    """Re-hash the files a fetch wrote and compare them with ``download.toml``.

    Parameters
    ----------
    path
        The data folder, or its ``sources.toml`` or ``download.toml``.

    Returns
    -------
    dict
        ``{relative path: True if the file exists and matches}``, including
        ``sources.toml`` itself.

    Raises
    ------
    DataFileError
        If ``download.toml`` cannot be read or records no checksums.
    """
    import tomllib

    p = Path(path)
    folder = p if p.is_dir() else p.parent
    record = folder / PROVENANCE_NAME
    try:
        data = tomllib.loads(record.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        msg = f"{record}: cannot read the download record ({exc})"
        raise DataFileError(msg) from exc
    sums = data.get("sha256")
    if not isinstance(sums, dict) or not sums:
        msg = f"{record}: no [sha256] table; expected one written by nhc-planner data fetch"
        raise DataFileError(msg)
    return {
        rel: (folder / rel).is_file() and sha256_file(folder / rel) == digest
        for rel, digest in sums.items()
    }
