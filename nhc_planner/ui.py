"""Pure helpers behind the Streamlit app (``app.py``, ``app_pages/``): no ``st.*`` here.

The app's pages hold widgets and cached calls; everything they need that is
more than a widget lives here, is plain Python and is unit-tested:

- **uploads**: :data:`UPLOAD_ROLES`, :func:`check_upload` (size, extension,
  file signature; nothing is unpickled or executed), :func:`parse_upload`
  (the project's readers, errors naming the uploaded file) and
  :func:`region_from_uploads` (:func:`nhc_planner.build.build_region`);
- **policy**: :func:`policy_values` (widget values from a scenario) and
  :func:`scenario_from_values` (a validated scenario from widget values);
- **results for people**: :func:`kpi_cards`, :func:`phasing_table`,
  :func:`capacity_table`, :func:`compare_plans`, :func:`centre_label`,
  :func:`stability_words`;
- **downloads**: :func:`centres_csv`, :func:`areas_csv`, :func:`plan_geojson`,
  :func:`report_zip`, :func:`scenario_toml`;
- :class:`ResultCache`, a small thread-safe LRU store that the app keeps in
  ``st.cache_resource`` so it can show live progress while a plan is computed
  (Streamlit replays, and cannot replay, elements updated inside cached
  functions).

Examples
--------
>>> from nhc_planner.scenario import Scenario
>>> values = policy_values(Scenario())
>>> values["travel.standard_min"], values["total_new"]
(15.0, 10)
>>> s = scenario_from_values(Scenario(), {**values, "total_new": 4, "phasing.years": 2})
>>> s.phasing.per_year()
(2, 2)
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import re
import tempfile
import threading
import zipfile
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pandas as pd

from nhc_planner._atomic import atomic_write_bytes
from nhc_planner._csv import csv_bytes
from nhc_planner._errors import (
    DataFileError,
    EmptyInputError,
    NhcError,
    ScenarioError,
    ValueRangeError,
)
from nhc_planner._format import (
    format_count,
    format_gbp,
    format_minutes,
    format_percent,
    site_labels,
)
from nhc_planner.capacity import ROLE_LABELS
from nhc_planner.scenario import Scenario, SizeSpec
from nhc_planner.sources.validate import check_geojson_positions, check_zip_archive, scan_vector

if TYPE_CHECKING:
    import geopandas as gpd

    from nhc_planner.plan import Plan
    from nhc_planner.region import Region

__all__ = [
    "APP_CUTOFF_MIN",
    "DATA_DIR_ENV",
    "MAX_UPLOAD_BYTES",
    "UPLOAD_ROLES",
    "KpiCard",
    "PlanComparison",
    "ResultCache",
    "UploadRole",
    "areas_csv",
    "capacity_table",
    "centre_label",
    "centre_labels",
    "centres_csv",
    "check_upload",
    "compare_plans",
    "confined_path",
    "coverage_by_year",
    "data_roots",
    "friendly_error",
    "kpi_cards",
    "neighbourhood_rows",
    "no_car_card",
    "over_capacity_words",
    "overall_progress",
    "parse_upload",
    "phasing_table",
    "plan_geojson",
    "plan_key",
    "policy_values",
    "region_from_uploads",
    "report_zip",
    "safe_filename",
    "scenario_from_values",
    "scenario_toml",
    "sizes_from_rows",
    "sizes_to_rows",
    "stability_words",
    "store_neighbourhoods_upload",
    "travel_engine_choices",
    "travel_mode_choices",
    "upload_digest",
]

T = TypeVar("T")

#: Largest file accepted per upload (bytes); ``.streamlit/config.toml`` sets the same limit.
MAX_UPLOAD_BYTES = 50 * 1024 * 1024

#: Travel-time cutoff the app computes once per mode (minutes); standards up to it reuse it.
APP_CUTOFF_MIN = 60.0


# --------------------------------------------------------------------------- uploads


@dataclass(frozen=True)
class UploadRole:
    """One kind of file a planner can upload.

    Attributes
    ----------
    role
        Key of :class:`~nhc_planner.build.RegionInputs` the file fills.
    label
        What the file is, in words.
    suffixes
        Accepted file name endings (lower case).
    required
        Whether a region can be built without it.
    help
        What the file should look like and where to get it.
    """

    role: str
    label: str
    suffixes: tuple[str, ...]
    required: bool
    help: str


class _UploadRoles(Mapping[str, UploadRole]):
    """The upload roles, read from the data-source registry at each use."""

    def _roles(self) -> dict[str, UploadRole]:
        from nhc_planner.sources import registry

        return {
            s.role: UploadRole(s.role, s.label, s.upload, s.required, s.help)
            for s in registry.upload_sources()
        }

    def __getitem__(self, role: str) -> UploadRole:
        return self._roles()[role]

    def __iter__(self) -> Iterator[str]:
        return iter(self._roles())

    def __len__(self) -> int:
        return len(self._roles())

    def __repr__(self) -> str:
        return f"UPLOAD_ROLES({list(self._roles())})"


#: The files the app accepts, in the order it asks for them: every declared
#: data source with upload suffixes (:mod:`nhc_planner.sources.registry`).
UPLOAD_ROLES: Mapping[str, UploadRole] = _UploadRoles()

# Leading bytes that identify binary formats; anything else must look like text.
_SIGNATURES: dict[str, tuple[bytes, str]] = {
    ".gpkg": (b"SQLite format 3\x00", "a GeoPackage (SQLite) file"),
    ".zip": (b"PK\x03\x04", "a zip archive"),
    ".parquet": (b"PAR1", "a Parquet file"),
    ".fgb": (b"fgb", "a FlatGeobuf file"),
}
_TEXT_SUFFIXES = (".csv", ".geojson", ".json")
# Vector files: their features and vertices are counted before a reader opens them.
_VECTOR_UPLOAD_SUFFIXES = (".geojson", ".json", ".gpkg", ".zip", ".parquet", ".fgb")
_PICKLE_MAGIC = b"\x80"


def _size_words(n_bytes: float) -> str:
    if n_bytes >= 1024 * 1024:
        return f"{n_bytes / (1024 * 1024):.1f} MB"
    if n_bytes >= 1024:
        return f"{n_bytes / 1024:.0f} kB"
    return f"{int(n_bytes)} bytes"


def _suffix(name: str) -> str:
    lower = name.lower()
    return "." + lower.rsplit(".", 1)[-1] if "." in lower else ""


def check_upload(role: str, name: str, data: bytes, *, max_bytes: int = MAX_UPLOAD_BYTES) -> None:
    """Check an uploaded file before anything reads it.

    Checks, in order: the role is known, the file is not empty nor larger
    than ``max_bytes``, its extension is one the role accepts, its first
    bytes match the format (binary signature, or text without NUL bytes for
    CSV and GeoJSON), a GeoJSON's coordinates (counted on the raw text) are at
    most :data:`~nhc_planner.sources.limits.MAX_GEOJSON_POSITIONS`, and a zip
    archive's members unzip to at most
    :data:`~nhc_planner.sources.limits.MAX_UPLOAD_UNZIPPED_BYTES` in all
    (:func:`~nhc_planner.sources.validate.check_zip_archive`, measured as a
    stream before anything is extracted). Nothing is parsed here, and nothing
    uploaded is ever unpickled or executed.

    Parameters
    ----------
    role
        A key of :data:`UPLOAD_ROLES`.
    name
        The uploaded file's name (used in messages).
    data
        Its content.
    max_bytes
        Size limit.

    Raises
    ------
    ValueRangeError
        Unknown role.
    EmptyInputError
        The file is empty.
    DataFileError
        Too large, wrong extension, or content not of the declared type.

    Examples
    --------
    >>> check_upload("imd", "imd.csv", b"LSOA21CD,IMD decile\\nE01000001,3\\n")
    >>> check_upload("imd", "imd.xlsx", b"PK\\x03\\x04...")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nhc_planner._errors.DataFileError: imd.xlsx: the Index of Multiple Deprivation file must ...
    """
    if role not in UPLOAD_ROLES:
        msg = f"upload role {role!r} is not known; expected one of {list(UPLOAD_ROLES)}"
        raise ValueRangeError(msg)
    spec = UPLOAD_ROLES[role]
    if len(data) == 0:
        msg = f"{name}: the file is empty (0 bytes); expected {spec.label.lower()} data"
        raise EmptyInputError(msg)
    if len(data) > max_bytes:
        msg = (
            f"{name}: the file is {_size_words(len(data))}, larger than the "
            f"{_size_words(max_bytes)} limit for uploads"
        )
        raise DataFileError(msg)
    suffix = _suffix(name)
    if suffix not in spec.suffixes:
        found = f"'{suffix}'" if suffix else "no extension"
        msg = f"{name}: the {spec.label} file must be one of {list(spec.suffixes)}; found {found}"
        raise DataFileError(msg)
    if data.startswith(_PICKLE_MAGIC):
        msg = f"{name}: looks like a Python pickle; pickles are never read (they can run code)"
        raise DataFileError(msg)
    if suffix in _SIGNATURES:
        magic, words = _SIGNATURES[suffix]
        if not data.startswith(magic):
            msg = f"{name}: the content is not {words} although the name ends in '{suffix}'"
            raise DataFileError(msg)
    elif suffix in _TEXT_SUFFIXES and b"\x00" in data[:65536]:
        msg = f"{name}: expected a text file ({suffix}); found binary content"
        raise DataFileError(msg)
    if suffix == ".zip":
        check_zip_archive(data, name=name)
    elif suffix in (".geojson", ".json"):
        check_geojson_positions([data], name=name)


def _reader(role: str) -> Callable[[Path], Any]:
    from nhc_planner.sources import registry

    return registry.get_source(role).read


def _renamed(exc: NhcError, replacements: Mapping[str, str]) -> NhcError:
    """The same kind of error with temporary paths replaced by uploaded names."""
    text = str(exc)
    for path, name in sorted(replacements.items(), key=lambda kv: -len(kv[0])):
        text = text.replace(path, name)
    try:
        return type(exc)(text)
    except TypeError:  # pragma: no cover - every NhcError takes one message
        return DataFileError(text)


def _write_upload(role: str, name: str, data: bytes, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{role}{_suffix(name)}"
    path.write_bytes(data)
    return path


def parse_upload(role: str, name: str, data: bytes, *, folder: str | Path) -> pd.DataFrame:
    """Check an uploaded file and read it with the project's reader for its role.

    Parameters
    ----------
    role
        A key of :data:`UPLOAD_ROLES`.
    name
        The uploaded file's name; error messages use it instead of the
        temporary path.
    data
        The file's content.
    folder
        Working folder the file is written to (e.g. a temporary directory).

    Returns
    -------
    pandas.DataFrame
        The reader's canonical frame (a GeoDataFrame for boundaries and sites).

    Raises
    ------
    NhcInputError
        From :func:`check_upload` or the reader, naming ``name`` and the problem.
    DataFileError
        A vector file with more than
        :data:`~nhc_planner.sources.limits.MAX_UPLOAD_FEATURES` features or
        :data:`~nhc_planner.sources.limits.MAX_UPLOAD_VERTICES` vertices,
        counted a batch at a time before it is read
        (:func:`~nhc_planner.sources.validate.scan_vector`).

    Notes
    -----
    Boundary polygons with more than
    :data:`~nhc_planner.sources.limits.MAX_AREA_VERTICES` vertices are
    simplified by the reader (noted), so maps stay small.
    """
    check_upload(role, name, data)
    path = _write_upload(role, name, data, Path(folder))
    if _suffix(name) in _VECTOR_UPLOAD_SUFFIXES:
        scan_vector(path, name=name, unreadable_ok=True)
    try:
        frame: pd.DataFrame = _reader(role)(path)
    except NhcError as exc:
        raise _renamed(exc, {str(path): name}) from exc
    except Exception as exc:  # a third-party parser failing on a malformed file
        msg = f"{name}: cannot be read as {UPLOAD_ROLES[role].label.lower()} ({exc})"
        raise DataFileError(msg) from exc
    notes = frame.attrs.get("notes", [])
    frame.attrs["notes"] = [str(n).replace(str(path), name) for n in notes]
    return frame


def upload_digest(uploads: Mapping[str, tuple[str, bytes]]) -> str:
    """SHA-256 of a set of uploads (role, name and content); the cache key of a region.

    Examples
    --------
    >>> upload_digest({"imd": ("a.csv", b"x")}) == upload_digest({"imd": ("a.csv", b"x")})
    True
    """
    h = hashlib.sha256()
    for role in sorted(uploads):
        name, data = uploads[role]
        h.update(f"{role}\x00{name}\x00{len(data)}\x00".encode())
        h.update(data)
    return h.hexdigest()


def region_from_uploads(
    uploads: Mapping[str, tuple[str, bytes]],
    *,
    folder: str | Path | None = None,
    name: str | None = None,
    la_codes: Sequence[str] | None = None,
    hle_period: str | None = None,
    already_read: bool = False,
) -> Region:
    """Build a region from uploaded files, checking each file first.

    Parameters
    ----------
    uploads
        ``role -> (file name, content)`` for roles of :data:`UPLOAD_ROLES`.
    folder
        Working folder (a temporary one, removed afterwards, if None).
    name
        Region name (default: the local authority names).
    la_codes
        Restrict to these local authorities (default: every area in the files).
    hle_period
        Period of the HLE file to use, e.g. ``"2021 - 23"`` (default: the latest).
    already_read
        Every file has already passed :func:`parse_upload` (the app reads each
        on upload): only :func:`check_upload` is repeated, so that the slow
        readers run once more (in the build), not twice.

    Returns
    -------
    Region

    Raises
    ------
    DataFileError
        A required file is missing or a role is unknown.
    NhcInputError
        A file is invalid, or the files do not join; the message names the
        uploaded file.
    """
    from nhc_planner.build import RegionInputs, build_region

    unknown = sorted(set(uploads) - set(UPLOAD_ROLES))
    if unknown:
        msg = f"uploads: unknown file role(s) {unknown}; expected {list(UPLOAD_ROLES)}"
        raise DataFileError(msg)
    missing = [r.label for r in UPLOAD_ROLES.values() if r.required and r.role not in uploads]
    if missing:
        msg = f"uploads: missing required file(s): {', '.join(missing)}"
        raise DataFileError(msg)
    with tempfile.TemporaryDirectory(prefix="nhc-upload-") as tmp:
        work = Path(folder) if folder is not None else Path(tmp)
        paths: dict[str, Path] = {}
        names: dict[str, str] = {}
        for role, (file_name, data) in uploads.items():
            if already_read:
                check_upload(role, file_name, data)
            else:
                parse_upload(role, file_name, data, folder=work / "checked")
            paths[role] = _write_upload(role, file_name, data, work)
            names[str(paths[role])] = file_name
        try:
            inputs = RegionInputs.from_paths(paths, hle_period=hle_period)
            return build_region(inputs, la_codes=list(la_codes) if la_codes else None, name=name)
        except NhcError as exc:
            raise _renamed(exc, names) from exc


# --------------------------------------------------------------------------- policy

#: Widget keys that map one-to-one onto dotted scenario keys.
_DIRECT_KEYS: tuple[str, ...] = (
    "travel.engine",
    "travel.mode",
    "travel.standard_min",
    "travel.network",
    "travel.matrix",
    "travel.transit_feed",
    "travel.transit_day",
    "travel.transit_window",
    "travel.transit_percentile",
    "phasing.years",
    "phasing.population",
    "phasing.first_year",
    "need.deprivation_weight",
    "need.hle_weight",
    "need.older_weight",
    "demand.basis",
    "demand.correct_list_inflation",
    "demand.anchor_practices",
    "policy.keep",
    "policy.exclude",
    "policy.objective",
    "policy.model",
    "neighbourhoods.min_pop",
    "neighbourhoods.max_pop",
    "neighbourhoods.nest",
    "neighbourhoods.order",
    "capacity.hours_per_day",
    "capacity.days_per_week",
    "solver.sensitivity_runs",
    "solver.time_limit_s",
    "solver.gap_tolerance",
)


def sizes_to_rows(sizes: Sequence[SizeSpec]) -> list[dict[str, Any]]:
    """Size templates as table rows (name, rooms) for an editable table.

    An empty sequence gives the default templates of :mod:`nhc_planner.capacity`.

    Examples
    --------
    >>> sizes_to_rows(())[0]
    {'name': 'small', 'rooms': 6}
    """
    if not sizes:
        from nhc_planner.capacity import default_size_templates

        return [{"name": t.name, "rooms": t.rooms} for t in default_size_templates()]
    return [{"name": s.name, "rooms": s.rooms} for s in sizes]


def sizes_from_rows(rows: Sequence[Mapping[str, Any]]) -> tuple[SizeSpec, ...]:
    """Size templates from edited table rows; blank rows are skipped.

    Raises
    ------
    ScenarioError
        A row without a name, with rooms that are not a whole number >= 1, or
        no rows at all.

    Examples
    --------
    >>> [s.rooms for s in sizes_from_rows([{"name": "hub", "rooms": 8.0}, {"name": None}])]
    [8]
    """
    out = []
    for i, row in enumerate(rows, start=1):
        name, rooms = row.get("name"), row.get("rooms")
        blank_name = name is None or (isinstance(name, float) and math.isnan(name))
        blank_rooms = rooms is None or (isinstance(rooms, float) and math.isnan(rooms))
        if blank_name and blank_rooms:
            continue
        if blank_name or not str(name).strip():
            msg = f"capacity.sizes: row {i} has no name"
            raise ScenarioError(msg)
        if blank_rooms:
            msg = f"capacity.sizes: size '{name}' has no number of rooms"
            raise ScenarioError(msg)
        out.append(SizeSpec(name=str(name).strip(), rooms=_whole(rooms, f"size '{name}' rooms")))
    if not out:
        msg = "capacity.sizes: give at least one size template"
        raise ScenarioError(msg)
    return tuple(out)


def _whole(value: Any, what: str) -> int:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number) or not number.is_integer():
        msg = f"capacity.sizes: {what} must be a whole number; found {value!r}"
        raise ScenarioError(msg)
    return int(number)


def travel_engine_choices() -> dict[str, str]:
    """The policy page's travel-engine choices: ``"auto"`` then the registered engines.

    Returns
    -------
    dict
        Engine name -> plain words, from the travel-engine registry.
    """
    from nhc_planner.travel import AUTO, engine_label, engine_names

    return {name: engine_label(name) for name in (AUTO, *engine_names())}


def travel_mode_choices(engine: str) -> dict[str, str]:
    """The modes ``engine`` serves (every registered mode for ``"auto"``), in plain words.

    Examples
    --------
    >>> travel_mode_choices("road")
    {'drive': 'Driving', 'walk': 'Walking', 'cycle': 'Cycling'}
    """
    from nhc_planner.travel import AUTO, get_engine, mode_label, travel_modes

    modes = travel_modes() if engine == AUTO else get_engine(engine).modes
    return {mode: mode_label(mode) for mode in modes}


def policy_values(scenario: Scenario) -> dict[str, Any]:
    """Widget values (keyed by widget key) that show ``scenario`` in the policy page.

    Keys are the dotted scenario keys of the simple settings, plus
    ``limit_by`` (``"centres"`` or ``"budget"``), ``total_new``,
    ``budget_per_year_gbp``, ``equity_floor_pct`` (0 = none) and ``sizes``
    (rows for an editable table).
    """
    out: dict[str, Any] = {}
    for key in _DIRECT_KEYS:
        section, _, name = key.partition(".")
        value = getattr(getattr(scenario, section), name)
        out[key] = list(value) if isinstance(value, tuple) else value
    out["travel.network"] = scenario.travel.network or ""
    out["travel.matrix"] = scenario.travel.matrix or ""
    out["travel.transit_feed"] = scenario.travel.transit_feed or ""
    out["travel.transit_day"] = scenario.travel.transit_day or ""
    out["travel.transit_window"] = scenario.travel.transit_window or ""
    pct = scenario.travel.transit_percentile
    out["travel.transit_percentile"] = 50 if pct is None else round(pct)
    ph = scenario.phasing
    out["limit_by"] = "budget" if ph.budget_per_year_gbp is not None else "centres"
    out["total_new"] = int(ph.total_centres) if ph.total_centres is not None else 10
    out["budget_per_year_gbp"] = (
        float(ph.budget_per_year_gbp) if ph.budget_per_year_gbp is not None else 10_000_000.0
    )
    floor = scenario.policy.equity_floor
    out["equity_floor_pct"] = 0 if floor is None else round(100 * floor)
    out["sizes"] = sizes_to_rows(scenario.capacity.sizes)
    nb = scenario.neighbourhoods
    out["neighbourhoods.file"] = nb.file or ""
    out["neighbourhoods.hubs"] = 0 if nb.hubs is None else int(nb.hubs)
    out["neighbourhoods.hubs_by_year"] = 0 if nb.hubs_by_year is None else int(nb.hubs_by_year)
    return out


#: Environment variable naming the folder(s) whose files the app may read (os.pathsep-separated).
DATA_DIR_ENV = "NHC_DATA_DIR"


def data_roots() -> tuple[Path, ...]:
    """The folders the app may read files from, when a planner types a path.

    ``$NHC_DATA_DIR`` (one folder, or several separated by ``os.pathsep``) if
    set; else ``data/`` in the current folder and the network cache
    (:func:`nhc_planner.network.default_cache_dir`).
    """
    from nhc_planner.network import default_cache_dir

    raw = os.environ.get(DATA_DIR_ENV, "").strip()
    if raw:
        return tuple(Path(p).expanduser().resolve() for p in raw.split(os.pathsep) if p.strip())
    return (Path.cwd().joinpath("data").resolve(), default_cache_dir().expanduser().resolve())


def confined_path(text: str, what: str, roots: Sequence[Path] | None = None) -> Path:
    """``text`` as a path inside one of the app's data folders (:func:`data_roots`).

    A relative path is taken relative to the first data folder. The check is
    made on the resolved path (``..`` and links followed) before anything is
    read, so a planner cannot learn which files exist elsewhere on the server.

    Raises
    ------
    DataFileError
        The path is outside every data folder (the message names the folders
        and how to change them, not what is on the disk).

    Examples
    --------
    >>> import tempfile
    >>> root = Path(tempfile.gettempdir()).resolve()
    >>> confined_path("regions/leeds", "Region folder", [root]) == root / "regions" / "leeds"
    True
    >>> confined_path("/etc/passwd", "Region folder", [root])
    Traceback (most recent call last):
    ...
    nhc_planner._errors.DataFileError: Region folder '/etc/passwd' is outside the data ...
    """
    folders = tuple(roots) if roots is not None else data_roots()
    raw = Path(str(text).strip()).expanduser()
    path = (raw if raw.is_absolute() else folders[0] / raw).resolve()
    if any(path == root or path.is_relative_to(root) for root in folders):
        return path
    shown = ", ".join(str(r) for r in folders)
    msg = (
        f"{what} {str(text).strip()!r} is outside the data folder(s) this app may read "
        f"({shown}). Put it in one of them, or have whoever runs the app set "
        f"{DATA_DIR_ENV} to the folder holding your data."
    )
    raise DataFileError(msg)


def scenario_from_values(base: Scenario, values: Mapping[str, Any]) -> Scenario:
    """A validated scenario: ``base`` with the policy page's widget values applied.

    Keys as in :func:`policy_values`; absent keys keep ``base``'s setting.
    The number of new centres is spread over the years (``ceil(total /
    years)`` per year, ``total_new`` in all); a budget switches the count
    off. The travel-time cutoff is raised to the standard when needed, so a
    standard up to :data:`APP_CUTOFF_MIN` reuses the same travel times.

    Raises
    ------
    ScenarioError
        A value out of range or a combination that does not fit (the message
        names the dotted key).
    """
    changes: dict[str, Any] = {}
    for key in _DIRECT_KEYS:
        if key in values:
            value = values[key]
            changes[key] = tuple(value) if isinstance(value, list) else value
    for key, what in (
        ("travel.network", "Road network"),
        ("travel.matrix", "Travel-time matrix"),
        ("travel.transit_feed", "Bus timetable"),
    ):
        if key in changes:
            text = str(changes[key] or "").strip()
            if text and text != "demo" and text != getattr(base.travel, key.split(".")[1]):
                text = str(confined_path(text, what))
            changes[key] = text or None
    for key in ("travel.transit_day", "travel.transit_window"):
        if key in changes:
            changes[key] = str(changes[key] or "").strip() or None
    if "travel.transit_percentile" in changes:
        pct = changes["travel.transit_percentile"]
        changes["travel.transit_percentile"] = None if pct in (None, 50) else float(pct)
    if "travel.standard_min" in changes:
        standard = float(changes["travel.standard_min"])
        changes["travel.standard_min"] = standard
        changes["travel.cutoff_min"] = max(base.travel.cutoff_min, APP_CUTOFF_MIN, standard)
    for key in ("need.deprivation_weight", "need.hle_weight", "need.older_weight"):
        if key in changes:
            changes[key] = float(changes[key])
    for key in ("solver.time_limit_s", "solver.gap_tolerance"):
        if key in changes:
            changes[key] = float(changes[key])
    if "capacity.hours_per_day" in changes:
        changes["capacity.hours_per_day"] = float(changes["capacity.hours_per_day"])
    if "phasing.first_year" in changes:
        changes["phasing.first_year"] = int(changes["phasing.first_year"])
    years = int(values.get("phasing.years", base.phasing.years))
    limit_by = values.get("limit_by")
    if limit_by == "budget":
        budget = float(values.get("budget_per_year_gbp", base.phasing.budget_per_year_gbp or 0))
        changes["phasing.budget_per_year_gbp"] = budget
        changes["phasing.new_per_year"] = None
        changes["phasing.total_new"] = None
    elif limit_by == "centres" or "total_new" in values:
        total = int(values.get("total_new", base.phasing.total_centres or 0))
        changes["phasing.new_per_year"] = max(math.ceil(total / max(years, 1)), 0)
        changes["phasing.budget_per_year_gbp"] = None
        changes["phasing.total_new"] = total
    if "equity_floor_pct" in values:
        pct = float(values["equity_floor_pct"])
        changes["policy.equity_floor"] = None if pct <= 0 else pct / 100
    if "sizes" in values:
        changes["capacity.sizes"] = sizes_from_rows(values["sizes"])
    _neighbourhood_changes(values, changes)
    return base.replace(**changes)


def _neighbourhood_changes(values: Mapping[str, Any], changes: dict[str, Any]) -> None:
    """The ``[neighbourhoods]`` widget values as scenario changes (0 hubs = none)."""
    for key in ("neighbourhoods.min_pop", "neighbourhoods.max_pop"):
        if key in changes:
            changes[key] = float(changes[key])
    if "neighbourhoods.file" in values:
        changes["neighbourhoods.file"] = str(values["neighbourhoods.file"] or "").strip() or None
    for key in ("neighbourhoods.hubs", "neighbourhoods.hubs_by_year"):
        if key in values:
            n = int(values[key] or 0)
            changes[key] = n if n > 0 else None
    if changes.get("neighbourhoods.hubs") is None:
        changes["neighbourhoods.hubs_by_year"] = None


#: File endings accepted for a planner's own neighbourhoods.
NEIGHBOURHOOD_SUFFIXES: tuple[str, ...] = (".csv", ".gpkg", ".geojson", ".json")


def store_neighbourhoods_upload(name: str, data: bytes, folder: str | Path | None = None) -> Path:
    """Check an uploaded neighbourhoods file and store it under a name made from its content.

    Parameters
    ----------
    name
        The uploaded file's name (its ending says the format).
    data
        Its content: a CSV (``area_code, neighbourhood``) or polygons
        (GeoPackage or GeoJSON with a ``neighbourhood`` column).
    folder
        Where to keep it (default: ``nhc-planner-neighbourhoods`` in the
        system's temporary folder). The same content gets the same path, so a
        plan made from it is cached like any other.

    Returns
    -------
    pathlib.Path
        The stored file, for ``neighbourhoods.file``.

    Raises
    ------
    EmptyInputError, DataFileError
        An empty file, a wrong ending, or content not of the declared type.
    """
    if len(data) == 0:
        msg = f"{name}: the file is empty (0 bytes); expected neighbourhoods"
        raise EmptyInputError(msg)
    if len(data) > MAX_UPLOAD_BYTES:
        msg = f"{name}: the file is {_size_words(len(data))}, larger than the upload limit"
        raise DataFileError(msg)
    suffix = _suffix(name)
    if suffix not in NEIGHBOURHOOD_SUFFIXES:
        found = f"'{suffix}'" if suffix else "no extension"
        msg = (
            f"{name}: a neighbourhoods file must be one of {list(NEIGHBOURHOOD_SUFFIXES)}; "
            f"found {found}"
        )
        raise DataFileError(msg)
    if suffix == ".gpkg" and not data.startswith(_SIGNATURES[".gpkg"][0]):
        msg = f"{name}: the content is not a GeoPackage although the name ends in '.gpkg'"
        raise DataFileError(msg)
    if suffix != ".gpkg" and b"\x00" in data[:65536]:
        msg = f"{name}: expected a text file ({suffix}); found binary content"
        raise DataFileError(msg)
    base = Path(folder) if folder is not None else Path(tempfile.gettempdir())
    target_dir = base / "nhc-planner-neighbourhoods"
    target_dir.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(data).hexdigest()[:16]
    path = target_dir / f"neighbourhoods-{digest}{suffix}"
    if not path.is_file():  # two sessions may save the same upload at once
        atomic_write_bytes(path, data)
    return path


def neighbourhood_rows(plan: Plan) -> pd.DataFrame | None:
    """The plan's neighbourhoods in opening order, with column names for people (or None)."""
    hoods = getattr(plan, "neighbourhoods", None)
    if hoods is None or len(hoods) == 0:
        return None
    from nhc_planner.model_neighbourhoods import neighbourhood_summary

    table = neighbourhood_summary(hoods)
    rows = pd.DataFrame(
        {
            "Order": table["opening_rank"].astype(int),
            "Neighbourhood": table["neighbourhood_name"].astype(str),
            "Residents": table["population"].round().astype(int),
            "Mean estimated HLE (years)": table["hle_mean"].round(1),
            "Share in IMD deciles 1-2": (100 * table["imd_mix"]).round(1).astype(str) + "%",
            "Centre": table["site_name"].astype(str),
        }
    )
    if "minutes_mean" in table:  # plans saved before these columns lack them
        rows["Mean minutes to the centre"] = table["minutes_mean"].round(1)
        rows["Beyond the travel cutoff"] = (100 * table["share_beyond_cutoff"]).round(1).astype(
            str
        ) + "%"
    rows["Opening year"] = table["opening_year"].astype(int)
    rows["Why this place in the order"] = table["why"].astype(str)
    return rows


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class KpiCard:
    """One headline figure for ``st.metric``: value after the plan, change, and help."""

    label: str
    value: str
    delta: str | None
    delta_color: str  # "normal" (up is good), "inverse" (down is good) or "off"
    help: str


def _kpi(plan: Plan, metric: str, when: str) -> float:
    rows = plan.kpis.loc[plan.kpis["metric"] == metric, when]
    return float(rows.iloc[0]) if len(rows) else math.nan


def _signed(value: float, fmt: Callable[[float], str]) -> str:
    """``value`` with its sign; ``±`` when it shows as zero at ``fmt``'s precision.

    Examples
    --------
    >>> _signed(-0.01, lambda v: f"{v:.1f}"), _signed(2.0, lambda v: f"{v:.1f}")
    ('±0.0', '+2.0')
    """
    shown = fmt(abs(value))
    if shown == fmt(0.0):
        return f"±{shown}"
    return f"{'+' if value > 0 else '−'}{shown}"


def _points(share: float) -> str:
    return f"{100 * share:.1f} points"


def today_access_words(plan: Plan) -> str | None:
    """What the plan adds to today's access to primary care, in one sentence (None if not computed).

    Today = within the standard of an open GP practice or an already-open
    centre (:mod:`nhc_planner.access_today`); the plan's new centres add the
    areas they bring within reach that today's access does not.
    """
    if "share_covered_today" not in set(plan.kpis["metric"]):
        return None
    s = plan.scenario
    before = _kpi(plan, "share_covered_today", "before")
    after = _kpi(plan, "share_covered_today", "after")
    added = _kpi(plan, "population_covered_today", "after") - _kpi(
        plan, "population_covered_today", "before"
    )
    who = "registered patients" if s.demand.basis == "registrations" else "residents"
    text = (
        f"Today {format_percent(before)} of {who} live within {s.travel.standard_min:g} minutes' "
        f"{s.travel.mode} of an open GP practice or centre; the plan adds "
        f"{format_count(added)} more ({format_percent(after)} in all)."
    )
    if "anchor_patients_served" in set(plan.kpis["metric"]):
        served = _kpi(plan, "anchor_patients_served", "after")
        text += (
            f" Anchor practices bring {format_count(served)} registered patients into the "
            "centres they join."
        )
    return text


def kpi_cards(plan: Plan) -> list[KpiCard]:
    """The four headline KPIs, before and after the plan, formatted for people.

    Population within the standard, most-deprived population within it,
    mean travel time to the nearest centre and HLE-weighted coverage.
    """
    from nhc_planner.travel.words import mode_phrase

    s = plan.scenario
    std = f"{s.travel.standard_min:g} minutes' {s.travel.mode}"
    if s.travel.mode not in ("drive", "walk", "cycle"):
        std = f"{s.travel.standard_min:g} minutes {mode_phrase(s.travel.mode)}"
    who = "Registered patients" if s.demand.basis == "registrations" else "Residents"
    deciles = s.need.most_deprived_deciles
    dep = "IMD decile 1" if deciles == 1 else f"IMD deciles 1–{deciles}"
    cards = []
    pb, pa = _kpi(plan, "population_covered", "before"), _kpi(plan, "population_covered", "after")
    sa = _kpi(plan, "share_covered", "after")
    sb = _kpi(plan, "share_covered", "before")
    cards.append(
        KpiCard(
            label=f"{who} within {std}",
            value=f"{format_count(pa)} ({format_percent(sa)})",
            delta=None if math.isnan(pa - pb) else _signed(pa - pb, format_count) + " people",
            delta_color="normal",
            help=f"Before the plan: {format_count(pb)} ({format_percent(sb)}).",
        )
    )
    db, da = _kpi(plan, "imd12_share_covered", "before"), _kpi(plan, "imd12_share_covered", "after")
    cards.append(
        KpiCard(
            label=f"Most deprived ({dep}) within reach",
            value=format_percent(da),
            delta=None if math.isnan(da - db) else _signed(da - db, _points),
            delta_color="normal",
            help=f"Share of residents of {dep} within {std}. Before the plan: "
            f"{format_percent(db)}.",
        )
    )
    mb, ma = _kpi(plan, "mean_minutes", "before"), _kpi(plan, "mean_minutes", "after")
    cards.append(
        KpiCard(
            label="Mean travel time to nearest centre",
            value=format_minutes(ma),
            delta=None if not math.isfinite(ma - mb) else _signed(ma - mb, format_minutes),
            delta_color="inverse",
            help="Population-weighted, over residents with a centre within the travel-time "
            f"cutoff. Before the plan: {format_minutes(mb)}.",
        )
    )
    hb, ha = (
        _kpi(plan, "hle_weighted_coverage", "before"),
        _kpi(plan, "hle_weighted_coverage", "after"),
    )
    cards.append(
        KpiCard(
            label="HLE-weighted coverage",
            value=format_percent(ha),
            delta=None if math.isnan(ha - hb) else _signed(ha - hb, _points),
            delta_color="normal",
            help="Coverage where each resident counts by how far their area's estimated healthy "
            f"life expectancy falls short of the reference. Before the plan: {format_percent(hb)}.",
        )
    )
    return cards


def no_car_card(plan: Plan) -> KpiCard | None:
    """Households without a car within reach, before and after (None without TS045 data).

    Shown for the modes that say something about them: ``mixed`` (by bus or on
    foot), ``transit``, ``walk`` and ``cycle`` (see :func:`nhc_planner.kpis.car_group_kpis`).
    """
    from nhc_planner.travel.words import standard_sentence

    after = _kpi(plan, "no_car_share_covered", "after")
    if math.isnan(after):
        return None
    before = _kpi(plan, "no_car_share_covered", "before")
    ha = _kpi(plan, "no_car_households_covered", "after")
    hb = _kpi(plan, "no_car_households_covered", "before")
    return KpiCard(
        label="Households without a car within reach",
        value=f"{format_count(ha)} ({format_percent(after)})",
        delta=None if math.isnan(after - before) else _signed(after - before, _points),
        delta_color="normal",
        help="Households with no car or van (Census 2021 TS045) that can reach a centre "
        f"within the standard: {standard_sentence(plan.scenario.travel)}. Before the plan: "
        f"{format_count(hb)} ({format_percent(before)}).",
    )


def centre_label(row: Any, name: str | None = None) -> str:
    """How a centre is named in lists: ``"3. Name (year 2)"`` or ``"Name (already open)"``.

    ``name`` replaces the row's name, e.g. a label from
    :func:`nhc_planner._format.site_labels` that tells apart sites sharing a name.

    Examples
    --------
    >>> centre_label({"order": 3, "name": "Elm St", "phase": 2})
    '3. Elm St (year 2)'
    >>> centre_label({"order": 0, "name": "Town NHC", "phase": 0})
    'Town NHC (already open)'
    """
    get = row.get if isinstance(row, Mapping) else row.__getitem__
    shown = get("name") if name is None else name
    phase = get("phase")
    if phase is None or pd.isna(phase) or int(phase) <= 0:
        return f"{shown} (already open)"
    return f"{int(get('order'))}. {shown} (year {int(phase)})"


def centre_labels(centres: pd.DataFrame, areas: pd.DataFrame | None = None) -> pd.Series:
    """:func:`centre_label` of every centre, sites sharing a name told apart.

    With ``areas`` (e.g. ``plan.assignments``), a repeated name is told apart
    by the ward or neighbourhood the site lies in (see
    :func:`nhc_planner.map_context.with_places`).
    """
    if areas is not None and hasattr(centres, "geometry"):
        from nhc_planner.map_context import with_places

        centres = with_places(centres, areas)
    names = site_labels(centres)
    return pd.Series(
        [centre_label(r, n) for (_, r), n in zip(centres.iterrows(), names, strict=True)],
        index=centres.index,
        dtype=object,
    )


def _use_text(value: Any) -> str:
    """Utilisation as a percentage, flagged when over 100%."""
    text = format_percent(value)
    if over_capacity(value):
        return f"{text} ⚠ over capacity"
    return text


def over_capacity(value: Any) -> bool:
    """True when a utilisation share is above 100% (beyond rounding)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return False
    return math.isfinite(v) and v > 1.0 + 1e-9


def over_capacity_words(plan: Plan) -> str | None:
    """Plain words naming the centres whose demand exceeds their capacity (None if none)."""
    centres = plan.centres
    if "utilisation" not in centres.columns:
        return None
    labels = centre_labels(centres, plan.assignments)
    over = [
        f"{labels[i]}: {format_percent(u)}"
        for i, u in centres["utilisation"].items()
        if over_capacity(u)
    ]
    if not over:
        return None
    many = len(over) > 1
    return (
        f"**{len(over)} centre{'s are' if many else ' is'} over capacity** "
        f"(expected demand above what {'their' if many else 'its'} rooms can serve): "
        + "; ".join(over)
        + ". Consider a larger size, longer hours or another centre nearby."
    )


def phasing_table(plan: Plan) -> pd.DataFrame:
    """Year by year: centres opened, residents newly within reach, cumulative share, capital.

    Returns
    -------
    pandas.DataFrame
        ``Year, Centres opening, New centres, Residents newly within reach,
        Share within reach by year end, Capital`` (formatted text), with a
        row ``Already open`` first when there are open centres.
    """
    centres, areas = plan.centres, plan.assignments
    phase_covered = pd.to_numeric(areas["phase_covered"], errors="coerce")
    pop = areas["population"].astype(float)
    phases = _phases(centres)
    rows = []
    for year, share in coverage_by_year(plan)[["year", "share"]].itertuples(index=False):
        at_year = centres[phases == year].sort_values("order", kind="stable")
        if year == 0 and at_year.empty:
            continue
        newly = float(pop[phase_covered == year].sum())
        rows.append(
            {
                "Year": "Already open" if year == 0 else f"Year {year}",
                "Centres opening": ", ".join(
                    str(n) if year == 0 else f"{int(o)}. {n}"
                    for o, n in zip(at_year["order"], at_year["name"], strict=True)
                )
                or "–",
                "New centres": len(at_year) if year > 0 else 0,
                "Residents newly within reach": format_count(newly),
                "Share within reach by year end": format_percent(share),
                "Capital": format_gbp(at_year["capex_gbp"].sum()) if year > 0 else "–",
            }
        )
    return pd.DataFrame(rows)


def coverage_by_year(plan: Plan) -> pd.DataFrame:
    """Share of residents within the standard at the end of each year (0 = before the plan).

    Returns
    -------
    pandas.DataFrame
        ``year`` (0..T), ``share`` (0..1), ``new_centres`` (opened that year).
    """
    areas, centres = plan.assignments, plan.centres
    total = float(areas["population"].sum())
    phase_covered = pd.to_numeric(areas["phase_covered"], errors="coerce")
    pop = areas["population"].astype(float)
    phases = _phases(centres)
    years = int(plan.scenario.phasing.years)
    last = max(years, int(phases.max()) if len(phases) else 0)
    rows = [
        {
            "year": year,
            "share": _share(float(pop[phase_covered <= year].sum()), total),
            "new_centres": int((phases == year).sum()) if year > 0 else 0,
        }
        for year in range(last + 1)
    ]
    return pd.DataFrame(rows)


def _phases(centres: pd.DataFrame) -> pd.Series:
    """Opening year of each centre as int (0 = already open)."""
    return pd.to_numeric(centres["phase"], errors="coerce").fillna(0).astype(int)


def _share(part: float, whole: float) -> float:
    return part / whole if whole > 0 else math.nan


_CAPACITY_COLUMNS: tuple[tuple[str, str, Callable[[Any], str]], ...] = (
    ("size", "Size", str),
    ("rooms", "Clinical rooms", format_count),
    ("weekly_capacity", "Weekly capacity (appointments)", format_count),
    ("weekly_demand_served", "Weekly demand served (appointments)", format_count),
    ("utilisation", "Utilisation", _use_text),
    ("capex_gbp", "Capital cost", format_gbp),
    ("annual_cost_gbp", "Running cost per year", format_gbp),
)


def capacity_table(plan: Plan) -> pd.DataFrame:
    """Capacity, cost and staffing (whole-time equivalents) per centre, formatted for people."""
    centres = plan.centres.sort_values(["phase", "order"], kind="stable")
    out = pd.DataFrame({"Centre": centre_labels(centres, plan.assignments).to_list()})
    for col, label, fmt in _CAPACITY_COLUMNS:
        if col in centres.columns:
            out[label] = [fmt(v) for v in centres[col]]
    for role, label in ROLE_LABELS.items():
        col = f"wte_{role}"
        if col in centres.columns:
            out[f"{label} (WTE)"] = [f"{float(v):.1f}" for v in centres[col]]
    return out


def stability_words(plan: Plan) -> str | None:
    """Plain words on how stable the new centres are under perturbed need (None if not run).

    Examples
    --------
    >>> import pandas as pd
    >>> class P:
    ...     centres = pd.DataFrame({"site_id": ["a", "b"], "status": ["new", "new"]})
    ...     stability = pd.DataFrame({"site_id": ["a", "b"], "share_chosen": [1.0, 0.5]})
    >>> stability_words(P())
    '1 of 2 new centres (50%) were chosen in at least 80% of the perturbed runs.'
    """
    stability = getattr(plan, "stability", None)
    if stability is None:
        return None
    new = plan.centres[plan.centres["status"] == "new"]
    if new.empty:
        return "No new centres to assess."
    share = stability.set_index("site_id")["share_chosen"]
    stable = sum(float(share.get(sid, 0.0)) >= 0.8 for sid in new["site_id"])
    return (
        f"{stable} of {len(new)} new centres ({format_percent(stable / len(new))}) were chosen "
        "in at least 80% of the perturbed runs."
    )


# --------------------------------------------------------------------------- comparison


@dataclass(frozen=True)
class PlanComparison:
    """Two plans side by side.

    Attributes
    ----------
    centres
        ``Centre, Site id, In A, In B`` for every centre in either plan
        (already-open centres excluded), those in only one plan first.
    kpis
        ``Indicator, A, B, Change (B − A)``, formatted.
    only_a, only_b
        Site ids of new centres in only one plan.
    """

    centres: pd.DataFrame
    kpis: pd.DataFrame
    only_a: tuple[str, ...]
    only_b: tuple[str, ...]


_COMPARE_KPIS: tuple[tuple[str, str, str], ...] = (
    ("centres", "Centres open at the end", "count"),
    ("population_covered", "Residents within the standard", "count"),
    ("share_covered", "Share within the standard", "share"),
    ("imd12_share_covered", "Most deprived within the standard", "share"),
    ("hle_weighted_coverage", "HLE-weighted coverage", "share"),
    ("mean_minutes", "Mean travel time", "minutes"),
    ("capex_gbp", "Capital cost", "gbp"),
    ("staff_wte", "Staff (WTE)", "wte"),
)


def _fmt(kind: str, value: float) -> str:
    if kind == "count":
        return format_count(value)
    if kind == "share":
        return format_percent(value)
    if kind == "minutes":
        return format_minutes(value)
    if kind == "gbp":
        return format_gbp(value)
    return "–" if math.isnan(value) else f"{value:,.1f}"


def _fmt_change(kind: str, delta: float) -> str:
    if not math.isfinite(delta):
        return "–"
    if kind == "share":
        return _signed(delta, _points)
    return _signed(delta, lambda v: _fmt(kind, v))


def compare_plans(a: Plan, b: Plan) -> PlanComparison:
    """Which new centres differ between two plans and how their KPIs differ.

    Examples
    --------
    >>> import pandas as pd
    >>> class P:
    ...     def __init__(self, ids):
    ...         self.centres = pd.DataFrame({"site_id": ids, "name": ids, "status": "new",
    ...                                      "phase": 1, "order": range(1, len(ids) + 1)})
    ...         self.kpis = pd.DataFrame({"metric": ["centres"], "before": [0.0],
    ...                                   "after": [float(len(ids))], "unit": ["centres"]})
    >>> c = compare_plans(P(["x", "y"]), P(["y", "z"]))
    >>> c.only_a, c.only_b
    (('x',), ('z',))
    >>> c.kpis.iloc[0].tolist()
    ['Centres open at the end', '2', '2', '±0']
    """
    new_a = a.centres[a.centres["status"] == "new"]
    new_b = b.centres[b.centres["status"] == "new"]
    ids_a = [str(s) for s in new_a["site_id"]]
    ids_b = [str(s) for s in new_b["site_id"]]
    label_a = dict(
        zip(
            new_a["site_id"].astype(str),
            centre_labels(new_a, getattr(a, "assignments", None)),
            strict=True,
        )
    )
    label_b = dict(
        zip(
            new_b["site_id"].astype(str),
            centre_labels(new_b, getattr(b, "assignments", None)),
            strict=True,
        )
    )
    names = {
        **dict(zip(new_b["site_id"].astype(str), new_b["name"].astype(str), strict=True)),
        **dict(zip(new_a["site_id"].astype(str), new_a["name"].astype(str), strict=True)),
    }
    in_a, in_b = set(ids_a), set(ids_b)
    only_a = tuple(s for s in ids_a if s not in in_b)
    only_b = tuple(s for s in ids_b if s not in in_a)
    rows = []
    for sid in [*only_a, *only_b, *(s for s in ids_a if s in in_b)]:
        rows.append(
            {
                "Centre": names[sid],
                "Site id": sid,
                "In A": label_a.get(sid, "–"),
                "In B": label_b.get(sid, "–"),
            }
        )
    kpi_rows = []
    for metric, label, kind in _COMPARE_KPIS:
        va, vb = _kpi(a, metric, "after"), _kpi(b, metric, "after")
        if math.isnan(va) and math.isnan(vb):
            continue
        kpi_rows.append(
            {
                "Indicator": label,
                "A": _fmt(kind, va),
                "B": _fmt(kind, vb),
                "Change (B − A)": _fmt_change(kind, vb - va),
            }
        )
    return PlanComparison(
        centres=pd.DataFrame(rows, columns=["Centre", "Site id", "In A", "In B"]),
        kpis=pd.DataFrame(kpi_rows, columns=["Indicator", "A", "B", "Change (B − A)"]),
        only_a=only_a,
        only_b=only_b,
    )


# --------------------------------------------------------------------------- downloads


def _plain(frame: gpd.GeoDataFrame, *, points: bool) -> pd.DataFrame:
    out = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    if points:
        web = frame.to_crs(4326)
        out["easting"] = frame.geometry.x.round(1).to_numpy()
        out["northing"] = frame.geometry.y.round(1).to_numpy()
        out["longitude"] = web.geometry.x.round(6).to_numpy()
        out["latitude"] = web.geometry.y.round(6).to_numpy()
    return out


def centres_csv(plan: Plan) -> bytes:
    """The plan's centres (opening order, size, capacity, staff, why) as CSV bytes.

    The same columns and bytes as ``centres.csv`` of a saved plan
    (:func:`nhc_planner.plan_io.centres_csv_text`): coordinates are BNG ``x, y``.
    """
    from nhc_planner.plan_io import centres_csv_text

    return centres_csv_text(plan.centres).encode("utf-8")


def areas_csv(plan: Plan) -> bytes:
    """Every area with its nearest centre, travel time and coverage, as CSV bytes.

    Spreadsheet-safe (:mod:`nhc_planner._csv`): text that a spreadsheet would run
    as a formula starts with an apostrophe; numbers are plain decimals.
    """
    return csv_bytes(_plain(plan.assignments, points=False))


def plan_geojson(plan: Plan, *, simplify_m: float = 5.0) -> bytes:
    """Centres (points) and areas (polygons) as one GeoJSON FeatureCollection in WGS84.

    Each feature has a ``layer`` property: ``"centre"`` or ``"area"``.
    """
    features: list[dict[str, Any]] = []
    for layer, frame in (("area", plan.assignments), ("centre", plan.centres)):
        web = frame.copy()
        if layer == "area" and simplify_m > 0:
            web = web.set_geometry(web.geometry.simplify(simplify_m, preserve_topology=True))
        web = web.to_crs(4326)
        collection = json.loads(web.to_json(na="null", drop_id=True))
        for feature in collection["features"]:
            feature["properties"] = {"layer": layer, **feature["properties"]}
            features.append(feature)
    return json.dumps({"type": "FeatureCollection", "features": features}).encode("utf-8")


def report_zip(plan: Plan, *, title: str | None = None) -> bytes:
    """The HTML report folder (:func:`nhc_planner.report.write_report`) as zip bytes.

    The archive holds one folder, ``nhc-report/``; unzip it and open
    ``index.html`` (works offline).
    """
    from nhc_planner.report import write_report

    buffer = io.BytesIO()
    with tempfile.TemporaryDirectory(prefix="nhc-report-") as tmp:
        root = Path(tmp) / "nhc-report"
        write_report(plan, root, title=title)
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(root.rglob("*")):
                if path.is_file():
                    zf.write(path, path.relative_to(root.parent).as_posix())
    return buffer.getvalue()


def scenario_toml(scenario: Scenario) -> bytes:
    """The scenario as TOML bytes, to re-run with ``nhc-planner plan --scenario``."""
    return scenario.to_toml_string().encode("utf-8")


def safe_filename(text: str) -> str:
    """A file-name-safe slug of ``text``.

    Examples
    --------
    >>> safe_filename("North Shire: 15 min drive")
    'north-shire-15-min-drive'
    """
    slug = re.sub(r"[^0-9a-z]+", "-", text.lower()).strip("-")
    return slug or "plan"


# --------------------------------------------------------------------------- cache


class ResultCache:
    """A small, thread-safe, least-recently-used store of computed results.

    The app holds one per kind of result in ``st.cache_resource``. Unlike a
    cached function, the computation runs in the page's own script run, so
    it can update a progress bar. Results are shared between sessions:
    never mutate them.

    Parameters
    ----------
    max_items
        Entries kept; the least recently used is dropped beyond it.

    Examples
    --------
    >>> cache = ResultCache(max_items=2)
    >>> cache.get_or_compute("a", lambda: 1), cache.get_or_compute("a", lambda: 2)
    (1, 1)
    >>> _ = cache.get_or_compute("b", lambda: 3); _ = cache.get_or_compute("c", lambda: 4)
    >>> "a" in cache, len(cache)
    (False, 2)
    """

    def __init__(self, max_items: int = 8) -> None:
        if max_items < 1:
            msg = f"ResultCache: max_items must be >= 1; found {max_items}"
            raise ValueRangeError(msg)
        self._max = max_items
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._items

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def get(self, key: Hashable) -> Any | None:
        """The stored result for ``key`` (marked as recently used), or None."""
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key]

    def put(self, key: Hashable, value: Any) -> None:
        """Store ``value`` under ``key``, dropping the least recently used beyond the limit."""
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._max:
                self._items.popitem(last=False)

    def get_or_compute(self, key: Hashable, compute: Callable[[], T]) -> T:
        """Return the stored result for ``key``, computing and storing it if absent.

        An exception from ``compute`` is not stored: the next call tries again.
        """
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]  # type: ignore[no-any-return]
        value = compute()
        self.put(key, value)
        return value

    def clear(self) -> None:
        """Forget every stored result."""
        with self._lock:
            self._items.clear()


def friendly_error(exc: BaseException) -> str:
    """The message to show a planner for an exception (never a traceback).

    nhc-planner's own errors carry a specific message; anything else gets a
    short, honest sentence with the exception's type.

    Examples
    --------
    >>> friendly_error(ScenarioError("phasing.years: expected ..."))
    'phasing.years: expected ...'
    >>> friendly_error(KeyError("x"))  # doctest: +ELLIPSIS
    "Something went wrong that nhc-planner did not expect (KeyError: 'x'). ..."
    """
    if isinstance(exc, NhcError):
        return str(exc)
    return (
        f"Something went wrong that nhc-planner did not expect ({type(exc).__name__}: {exc}). "
        "Please check the inputs; if it persists, report it with the steps that led here."
    )


# Share of the progress bar each stage of compute_travel() / plan() fills.
_STAGES: dict[str, tuple[float, float, str]] = {
    "need score": (0.0, 0.05, "Scoring need"),
    "road network": (0.05, 0.15, "Loading the road network"),
    "travel times": (0.15, 0.6, "Computing travel times"),
    "optimising": (0.6, 0.8, "Choosing sites and years"),
    # the neighbourhood model draws its neighbourhoods in the first half of "optimising"
    "drawing neighbourhoods": (0.6, 0.7, "Drawing neighbourhoods"),
    "capacity and KPIs": (0.8, 0.85, "Sizing centres and measuring coverage"),
    "explanations": (0.85, 0.9, "Explaining each choice"),
    "sensitivity": (0.9, 1.0, "Testing stability"),
    "done": (1.0, 1.0, "Done"),
}


def overall_progress(stage: str, fraction: float) -> tuple[float, str]:
    """Map a ``progress(stage, fraction)`` report to one bar position (0..1) and words.

    Examples
    --------
    >>> overall_progress("optimising", 0.5)
    (0.7, 'Choosing sites and years…')
    >>> overall_progress("something new", 2.0)
    (1.0, 'Something new…')
    """
    lo, hi, words = _STAGES.get(stage, (0.0, 1.0, stage[:1].upper() + stage[1:]))
    f = min(max(float(fraction), 0.0), 1.0) if math.isfinite(fraction) else 0.0
    return round(lo + (hi - lo) * f, 4), f"{words}…"


def plan_key(scenario: Scenario) -> str:
    """Cache key of a plan's settings: the scenario's hash, ignoring its name and description.

    Examples
    --------
    >>> plan_key(Scenario(name="A")) == plan_key(Scenario(name="B"))
    True
    """
    return scenario.replace(name="", description="").content_hash()
