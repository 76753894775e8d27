"""The declaration of a data source (see :mod:`nhc_planner.sources.registry`)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from nhc_planner._errors import DataFileError, ValueRangeError
from nhc_planner.schema import AREA_COLUMNS
from nhc_planner.sources._tables import (
    AREA_CODE_ALIASES,
    check_unique,
    clean_codes,
    find_column,
    guess_code_year,
    read_table,
    to_number,
)

if TYPE_CHECKING:
    from nhc_planner._demo_layout import DemoWorld

__all__ = ["JOINS", "DataSource", "DemoContext", "Download", "read_area_values"]

#: How a source's table reaches the region, in words (the keys are ``DataSource.join``).
JOINS: Mapping[str, str] = {
    "areas": "the small areas themselves (polygons): every other table joins to them",
    "area": "per small area, on the LSOA 2021 code (2011 codes carried over with lsoa11_lsoa21)",
    "la": "per local authority, on la_code",
    "lookup": "code lookup: selects the areas and joins the tables",
    "points": "points per small area (the demand points)",
    "sites": "points added to the sites table",
    "helper": "used by another source's reader or download, not joined itself",
    "network": "road network for travel times, not part of the region",
}

#: Keys of ``RegionInputs`` / ``sources.toml`` that are options, not roles.
_RESERVED = frozenset({"hle_period", "hle_sex", "hle_gradient", "site_buffer_m", "extra"})
_ROLE_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_OGL = "Open Government Licence v3.0"


@dataclass(frozen=True)
class DemoContext:
    """What a demo writer gets: the generated world, its sites, the output folder.

    Attributes
    ----------
    world
        The synthetic region (:class:`nhc_planner._demo_layout.DemoWorld`):
        ``world.areas`` has one row per small area with ``area_code``,
        ``la_code``, ``population``, ``imd_decile`` and the polygon.
    sites
        The generated existing sites.
    folder
        The demo folder; write the role's file at ``folder / source.demo_path``.
    """

    world: DemoWorld
    sites: Any
    folder: Path


@dataclass(frozen=True)
class Download:
    """Where and how ``nhc-planner data fetch`` gets a source.

    Parameters
    ----------
    title
        The dataset's published title.
    url
        Official URL (a template or an API endpoint for some fetch kinds).
    attribution
        Attribution statement the licence requires.
    format
        What the URL returns and what is written to the data folder.
    fetch
        How to fetch it: a fetch kind of :mod:`nhc_planner.download`
        (``"lsoa_csv"``: a national CSV with an LSOA 2021 code column, cut to
        the area's rows; ``"nomis_lsoa"``: a Nomis API dataset for the area's
        LSOAs, with ``params``; ``"copy"``: the file as is; the built-in kinds
        ``"polygons"``, ``"area_lookup"``, ``"nomis_ts001"``, ...), or a
        callable ``(context, source) -> relative path | None``.
    out_file
        File name written in the data folder.
    fields
        Field names the fetch relies on, e.g. ``(("la", "LAD24CD"),)``; for
        ``"lsoa_csv"``, ``(("code", "LSOA_CODE"),)`` names the code column when
        it is not one of the usual LSOA 2021 names.
    always
        Fetched whatever sources are asked for (it defines the area).
    helper_of
        Fetched only together with this other source (e.g. postcodes for GP practices).
    params
        Query parameters of an API fetch (``"nomis_lsoa"``), e.g.
        ``(("c2021_cars_5", "0...4"), ("measures", "20100"))``.
    """

    title: str
    url: str
    attribution: str
    format: str
    fetch: str | Callable[..., str | None] = "lsoa_csv"
    out_file: str = ""
    fields: tuple[tuple[str, str], ...] = ()
    always: bool = False
    helper_of: str | None = None
    params: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class DataSource:
    """One kind of input file, declared once.

    Parameters
    ----------
    role
        Key in ``sources.toml`` and in :class:`~nhc_planner.build.RegionInputs`
        (a field for the built-in roles, ``extra[role]`` for the others).
    label
        What the file is, in words (the app's upload label, report lines).
    reader
        ``reader(path, **options)`` returning the canonical frame; None for
        files the region does not read (the OSM extract).
    required
        Whether a region can be built without it.
    join
        How its table reaches the region, a key of :data:`JOINS`. Sources
        with ``join="area"`` (reader returns ``area_code`` plus columns) or
        ``join="la"`` (``la_code`` plus columns) that are not ``core`` have
        every numeric column joined onto ``region.areas``.
    adds
        Area columns it adds; the build requires them in the reader's frame.
    core
        Joined by the build's own step (IMD, population, HLE): its ``adds``
        are core columns of :data:`nhc_planner.schema.AREA_COLUMNS`.
    additive
        Its columns are counts (split and summed when 2011 codes are carried
        to 2021) rather than rates or scores (copied and averaged).
    reader_options
        ``options(inputs) -> keyword arguments`` for the reader in a build
        (e.g. the HLE period, or the postcode file for GP practices).
    short
        Short name in notes, vintages and join reports (default ``label``).
    upload
        File endings the app accepts for it (lower case); ``()`` = not offered.
    help
        What the file should look like and where to get it (app and docs).
    download
        How ``data fetch`` gets it, or None (supplied by hand).
    demo_path
        Relative path of its file in the demo folder, or None.
    demo_writer
        ``writer(DemoContext)`` writing the demo file(s); one writer may write
        several roles' files (it is called once).
    publisher, licence, vintage
        Provenance, shown in ``docs/data.md``.
    is_input
        A ``sources.toml`` / ``RegionInputs`` key (False for download-only
        sources such as the OSM index).
    page
        The dataset's web page, for sources ``data fetch`` cannot get (no
        ``download``): shown in ``docs/data.md`` as where to get it by hand.
    """

    role: str
    label: str
    reader: Callable[..., Any] | None
    required: bool = False
    join: str = "area"
    adds: tuple[str, ...] = ()
    core: bool = False
    additive: bool = False
    reader_options: Callable[[Any], Mapping[str, Any]] | None = None
    short: str = ""
    upload: tuple[str, ...] = ()
    help: str = ""
    download: Download | None = None
    demo_path: str | None = None
    demo_writer: Callable[[DemoContext], Any] | None = field(default=None, compare=False)
    publisher: str = ""
    licence: str = _OGL
    vintage: str = ""
    is_input: bool = True
    page: str = ""

    def __post_init__(self) -> None:
        if not _ROLE_RE.match(self.role) or self.role in _RESERVED:
            msg = (
                f"data source role {self.role!r} must be a lower-case identifier (letters, "
                f"digits, '_') and not one of the option keys {sorted(_RESERVED)}"
            )
            raise ValueRangeError(msg)
        if self.join not in JOINS:
            msg = f"data source '{self.role}': join {self.join!r} is not one of {list(JOINS)}"
            raise ValueRangeError(msg)
        core = set(AREA_COLUMNS)
        if not self.core and core & set(self.adds):
            msg = (
                f"data source '{self.role}': adds core area column(s) "
                f"{sorted(core & set(self.adds))}; a new source adds new columns"
            )
            raise ValueRangeError(msg)
        if self.required and self.reader is None:
            msg = f"data source '{self.role}': a required source needs a reader"
            raise ValueRangeError(msg)
        object.__setattr__(self, "adds", tuple(self.adds))
        object.__setattr__(self, "upload", tuple(s.lower() for s in self.upload))

    @property
    def name(self) -> str:
        """Short name for notes and vintages (``short`` or ``label``)."""
        return self.short or self.label

    @property
    def url(self) -> str:
        """The download URL, else the dataset's page (``page``), else ""."""
        return self.download.url if self.download is not None else self.page

    @property
    def joins_columns(self) -> bool:
        """Whether the build joins this source's numeric columns onto the areas."""
        return self.join in ("area", "la") and not self.core and self.reader is not None

    def read(self, path: str | Path, inputs: Any = None) -> Any:
        """Read ``path`` with the reader, passing the build options for ``inputs``.

        Raises
        ------
        DataFileError
            The source has no reader.
        """
        if self.reader is None:
            msg = f"data source '{self.role}' has no reader; it is not read into a region"
            raise DataFileError(msg)
        options = self.reader_options(inputs) if (self.reader_options and inputs) else {}
        return self.reader(Path(path), **options)


# --------------------------------------------------------------------------- generic reader


def read_area_values(path: str | Path, *, what: str | None = None) -> pd.DataFrame:
    """Read a per-small-area CSV: an LSOA code column and numeric columns.

    The generic reader for ``join="area"`` sources. The code column is found
    among :data:`~nhc_planner.sources._tables.AREA_CODE_ALIASES`; every other
    column whose values are all numbers (thousands separators and missing-value
    markers allowed) is kept as float under its own name; text columns (names)
    are left out with a note.

    Returns
    -------
    pandas.DataFrame
        ``area_code`` plus the numeric columns; ``attrs`` ``code_year``,
        ``source``, ``notes``.

    Raises
    ------
    DataFileError, EmptyInputError, MissingColumnError, DuplicateKeyError
        Unreadable file, no rows, no code column, a code twice.
    """
    label = what or f"area table {Path(path)}"
    raw = read_table(path, what=label)
    code_col = find_column(raw, AREA_CODE_ALIASES, what=label, role="LSOA code")
    codes = clean_codes(raw[code_col])
    keep = codes.notna() & (codes != "")
    raw, codes = raw[keep].reset_index(drop=True), codes[keep].reset_index(drop=True)
    check_unique(codes, what=label, column=code_col)
    out = pd.DataFrame({"area_code": codes.astype(str)})
    skipped: list[str] = []
    for col in raw.columns:
        if col == code_col:
            continue
        try:
            out[str(col)] = to_number(raw[col], what=label, column=str(col)).to_numpy()
        except ValueRangeError:
            skipped.append(str(col))
    out.attrs["source"] = str(path)
    out.attrs["code_year"] = guess_code_year(code_col, len(out))[0]
    out.attrs["notes"] = (
        [f"{Path(path).name}: non-numeric column(s) {skipped} not joined"] if skipped else []
    )
    return out
