"""CSV reading helpers shared by the readers.

Official files differ in small ways that break naive readers: a UTF-8 byte
order mark before the first header, counts quoted with thousands separators
(``"29,199"``), the same column spelled many ways (``LSOA21CD``,
``lsoa21_code``, ``LSOA code (2021)``), footnote rows after the data, and
latin-1 text. These helpers absorb the differences and turn every problem into
an error from :mod:`nhc_planner._errors` that names the file, the column and
example values.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal, overload

import numpy as np
import pandas as pd

from nhc_planner._errors import (
    DataFileError,
    DuplicateKeyError,
    EmptyInputError,
    MissingColumnError,
    ValueRangeError,
)

__all__ = [
    "AREA_CODE_ALIASES",
    "AREA_NAME_ALIASES",
    "MISSING_MARKERS",
    "add_note",
    "check_range",
    "check_unique",
    "clean_codes",
    "code_year_of",
    "decode_text",
    "drop_non_data_rows",
    "find_column",
    "guess_code_year",
    "normalise_name",
    "read_table",
    "to_number",
]

#: Accepted spellings of a small-area code column, 2021 codes first.
AREA_CODE_ALIASES: tuple[str, ...] = (
    "LSOA21CD",
    "lsoa21_code",
    "LSOA code (2021)",
    "LSOA 2021 Code",
    "2021 super output area - lower layer code",
    "Lower layer Super Output Areas Code",
    "LSOA11CD",
    "lsoa11_code",
    "LSOA code (2011)",
    "LSOA 2011 Code",
    "LSOA code",
    "lsoa_code",
    "area_code",
    "lsoa21_cod",  # shapefile field names are cut at 10 characters
    "lsoa11_cod",
    "Area Codes",
    "geography code",  # Nomis / Census bulk downloads
    "GEOGRAPHY_CODE",
    "code",
)

#: Accepted spellings of a small-area name column.
AREA_NAME_ALIASES: tuple[str, ...] = (
    "LSOA21NM",
    "lsoa21_name",
    "LSOA name (2021)",
    "LSOA 2021 Name",
    "2021 super output area - lower layer",
    "Lower layer Super Output Areas",
    "LSOA11NM",
    "lsoa11_name",
    "LSOA name (2011)",
    "LSOA 2011 Name",
    "LSOA name",
    "lsoa_name",
    "area_name",
    "lsoa21_nam",
    "lsoa11_nam",
    "name",
)

#: Cell values read as "no value" by :func:`to_number` (lower case): blank and
#: the markers used by ONS, OHID Fingertips and R exports.
MISSING_MARKERS: frozenset[str] = frozenset(
    {"", "na", "n/a", "nan", "null", "none", "..", ":", "-", "x", "[x]", "[c]", "[z]", "[low]"}
)

_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def normalise_name(name: object) -> str:
    """Return a column name folded for matching: lower case, BOM and punctuation removed.

    Examples
    --------
    >>> normalise_name("\\ufeffLSOA code (2011)")
    'lsoa code 2011'
    >>> normalise_name("lsoa21_code") == normalise_name("LSOA21 Code")
    True
    """
    text = str(name).replace("\ufeff", "").strip().lower()
    return _NON_ALNUM.sub(" ", text).strip()


def code_year_of(column: str) -> int | None:
    """Guess the LSOA code year (2011 or 2021) from a column name, if it says.

    Examples
    --------
    >>> code_year_of("LSOA code (2011)"), code_year_of("LSOA21CD"), code_year_of("area_code")
    (2011, 2021, None)
    """
    norm = normalise_name(column).replace(" ", "")
    if "2021" in norm or "lsoa21" in norm or "superoutputarea" in norm:
        return 2021
    if "2011" in norm or "lsoa11" in norm:
        return 2011
    return None


#: Numbers of LSOAs by code year: England and England & Wales.
_LSOA_COUNTS = {32_844: 2011, 34_753: 2011, 33_755: 2021, 35_672: 2021}


def guess_code_year(column: str, n_rows: int) -> tuple[int, bool]:
    """Return the LSOA code year and whether it was guessed.

    From the column name when it says (:func:`code_year_of`), else from the
    number of rows when it is a national count (32,844 or 34,753 LSOA 2011;
    33,755 or 35,672 LSOA 2021), else 2021 (guessed).

    Examples
    --------
    >>> guess_code_year("LSOA Code", 34_753), guess_code_year("lsoa11_code", 5)
    ((2011, True), (2011, False))
    """
    year = code_year_of(column)
    if year is not None:
        return year, False
    return _LSOA_COUNTS.get(n_rows, 2021), True


#: File endings read as attribute tables of a vector or Parquet file.
TABULAR_VECTOR_SUFFIXES: tuple[str, ...] = (
    ".gpkg",
    ".geojson",
    ".json",
    ".parquet",
    ".shp",
    ".fgb",
    ".zip",
)
_SPREADSHEET_SUFFIXES = (".xlsx", ".xls", ".xlsm", ".ods")
_MOJIBAKE = re.compile("[\u00c2\u00c3][\u0080-\u00bf]|\u00e2\u20ac")


def decode_text(data: bytes, *, source: str) -> tuple[str, str | None]:
    """Decode a text file's bytes strictly: UTF-8 (with or without BOM), cp1252, latin-1.

    A UTF-16 byte order mark means UTF-16 (Excel's "Unicode text"); other text
    with NUL bytes is refused as binary. Returns the text and a note when it
    was not UTF-8 (naming the encoding
    used and the first byte that is not UTF-8) or when UTF-8 text looks
    already garbled by a wrong conversion (``"Ã©"`` for ``"é"``).

    Examples
    --------
    >>> decode_text("caf\u00e9".encode("cp1252"), source="f.csv")[0]
    'café'
    >>> decode_text(b"\\xef\\xbb\\xbfa,b", source="f.csv")
    ('a,b', None)
    """
    text, _, note = _decode(data, source=source)
    return text, note


def _decode(data: bytes, *, source: str) -> tuple[str, str, str | None]:
    """:func:`decode_text`, also returning the codec used (for the CSV parser)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            msg = f"{source}: starts with a UTF-16 byte order mark but is not UTF-16 ({exc})"
            raise DataFileError(msg) from exc
        return text, "utf-16", f"{source}: UTF-16 text (byte order mark); decoded as UTF-16"
    if b"\x00" in data[:65536]:
        msg = (
            f"{source}: binary content (NUL bytes), not a text table; expected a CSV saved as "
            "UTF-8 (or a GeoPackage/GeoJSON/Parquet file with its usual extension)"
        )
        raise DataFileError(msg)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        where = f"byte 0x{data[exc.start]:02x} at offset {exc.start:,}"
        try:
            text, codec, enc = data.decode("cp1252"), "cp1252", "Windows-1252 (cp1252)"
        except UnicodeDecodeError:
            text, codec, enc = data.decode("latin-1"), "latin-1", "latin-1 (ISO-8859-1)"
        line = data[: exc.start].count(b"\n") + 1
        return text, codec, f"{source}: not UTF-8 ({where}, line {line}); decoded as {enc}"
    hit = _MOJIBAKE.search(text)
    if hit:
        line = text[: hit.start()].count("\n") + 1
        note = (
            f"{source}: text looks garbled by a wrong encoding conversion ('{hit.group(0)}' "
            f"at line {line}, e.g. 'Ã©' for 'é'); names may be misspelt: re-export it as UTF-8"
        )
        return text, "utf-8-sig", note
    return text, "utf-8-sig", None


def _check_not_cut(text: str, *, source: str, what: str, sep: str | None) -> None:
    """Refuse a file whose last line has no line end and fewer fields than its first."""
    if not text or text.endswith(("\n", "\r")) or sep is None or len(sep) != 1:
        return
    lines = text.splitlines()
    if len(lines) < 2:
        return
    import csv

    first = next(csv.reader([lines[0]], delimiter=sep))
    try:
        last = next(csv.reader([lines[-1]], delimiter=sep, strict=True))
    except csv.Error:
        last = []
    if len(last) < len(first):
        msg = (
            f"{source}: {what} looks cut off mid-row: the last line ({len(lines):,}) has "
            f"{len(last)} of {len(first)} fields and no line end ({lines[-1][:60]!r}); "
            "the download or copy was probably interrupted: fetch the file again"
        )
        raise DataFileError(msg)


def _attribute_table(p: Path, *, what: str) -> pd.DataFrame:
    """The attribute table of a GeoPackage/GeoJSON/shapefile/Parquet file, as text."""
    try:
        if p.suffix.lower() == ".parquet":
            frame = pd.read_parquet(p)
        else:
            import pyogrio

            frame = pyogrio.read_dataframe(p, read_geometry=False)
    except Exception as exc:  # pyarrow/pyogrio raise several unrelated types
        msg = (
            f"{p}: cannot read {what} as a table ({type(exc).__name__}: {exc}); expected a CSV, "
            f"or a {'/'.join(TABULAR_VECTOR_SUFFIXES)} file with an attribute table"
        )
        raise DataFileError(msg) from exc
    out = pd.DataFrame(index=frame.index)
    for col in frame.columns:
        values = frame[col]
        if str(col) == "geometry" or values.map(lambda v: isinstance(v, bytes)).any():
            continue  # geometry (GeoParquet WKB) is not part of the table
        out[str(col).strip()] = values.astype(str).where(values.notna(), None)
    return out


def read_table(
    path: str | Path,
    *,
    what: str,
    sep: str | None = ",",
    header: int | None = 0,
    names: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Read a delimited text file (or a vector file's attribute table) with every column as text.

    Text is decoded strictly (:func:`decode_text`): UTF-8 with or without a
    byte order mark, else Windows-1252, else latin-1, with a note in
    ``attrs["notes"]`` whenever it was not UTF-8. A file whose last line was
    cut mid-row is refused. GeoPackage, GeoJSON, shapefile, FlatGeobuf and
    Parquet files are read as their attribute table (geometry ignored).
    Header names lose any BOM and surrounding spaces. Entirely blank rows are
    dropped.

    Parameters
    ----------
    path
        File to read.
    what
        What the file should be (used in error messages), e.g. ``"IMD file"``.
    sep
        Field separator; ``None`` lets pandas sniff it.
    header, names
        As in :func:`pandas.read_csv` (``header=None`` with ``names`` for
        headerless files such as NHS ODS ``epraccur``).

    Raises
    ------
    DataFileError
        If the file does not exist, is a spreadsheet, is cut mid-row or cannot
        be parsed.
    EmptyInputError
        If it has no header or no data rows.
    """
    p = Path(path)
    if not p.is_file():
        msg = f"{what}: file {p} not found"
        raise DataFileError(msg)
    if p.stat().st_size == 0:
        msg = f"{p}: {what} is empty (0 bytes)"
        raise EmptyInputError(msg)
    suffix = p.suffix.lower()
    if suffix in _SPREADSHEET_SUFFIXES:
        msg = f"{p}: {what} is a spreadsheet ({suffix}); save the data sheet as CSV (UTF-8)"
        raise DataFileError(msg)
    note: str | None = None
    if suffix in TABULAR_VECTOR_SUFFIXES and header == 0:
        frame = _attribute_table(p, what=what)
    else:
        data = p.read_bytes()
        text, codec, note = _decode(data, source=str(p))
        _check_not_cut(text, source=str(p), what=what, sep=sep)
        del text  # pandas parses the bytes (faster than the str) with the codec found
        frame = _parse_csv(data, codec, p, what=what, sep=sep, header=header, names=names)
    frame.columns = [str(c).replace("\ufeff", "").strip() for c in frame.columns]
    frame = frame.dropna(how="all").reset_index(drop=True)
    if len(frame) == 0:
        msg = f"{p}: {what} has a header but no data rows"
        raise EmptyInputError(msg)
    frame.attrs["source"] = str(p)
    frame.attrs["notes"] = [note] if note else []
    return frame


def _parse_csv(
    data: bytes,
    codec: str,
    p: Path,
    *,
    what: str,
    sep: str | None,
    header: int | None,
    names: Sequence[str] | None,
) -> pd.DataFrame:
    try:
        return pd.read_csv(
            io.BytesIO(data),
            encoding=codec,
            sep=sep,
            header=header,
            names=list(names) if names is not None else None,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            engine="python" if sep is None or len(sep.encode()) != 1 else "c",
            skipinitialspace=True,
        )
    except pd.errors.EmptyDataError as exc:
        msg = f"{p}: {what} is empty (no header row)"
        raise EmptyInputError(msg) from exc
    except (pd.errors.ParserError, ValueError) as exc:
        msg = f"{p}: cannot read {what} as a delimited text file ({exc})"
        raise DataFileError(msg) from exc


@overload
def find_column(
    frame: pd.DataFrame,
    aliases: Iterable[str],
    *,
    what: str,
    role: str,
    required: Literal[True] = ...,
) -> str: ...


@overload
def find_column(
    frame: pd.DataFrame,
    aliases: Iterable[str],
    *,
    what: str,
    role: str,
    required: bool,
) -> str | None: ...


def find_column(
    frame: pd.DataFrame,
    aliases: Iterable[str],
    *,
    what: str,
    role: str,
    required: bool = True,
) -> str | None:
    """Return the first column of ``frame`` matching one of ``aliases``.

    Matching ignores case, spaces, punctuation and a byte order mark, so
    ``"LSOA code (2011)"`` matches ``lsoa_code_2011``. Aliases are tried in
    order, so list the most specific first.

    Parameters
    ----------
    frame
        Table to search.
    aliases
        Accepted spellings.
    what
        The file or table (for the message).
    role
        What the column holds, e.g. ``"area code"``.
    required
        Raise when absent (else return None).

    Raises
    ------
    MissingColumnError
        Listing the accepted names and the columns found.

    Examples
    --------
    >>> import pandas as pd
    >>> find_column(pd.DataFrame(columns=["LSOA code (2011)", "x"]),
    ...             ["LSOA11CD", "lsoa code 2011"], what="t", role="area code")
    'LSOA code (2011)'
    """
    aliases = list(aliases)
    by_norm: dict[str, str] = {}
    for col in frame.columns:
        by_norm.setdefault(normalise_name(col), str(col))
    for alias in aliases:
        hit = by_norm.get(normalise_name(alias))
        if hit is not None:
            return hit
    if not required:
        return None
    found = [str(c) for c in frame.columns]
    shown = found[:25] + (["..."] if len(found) > 25 else [])
    msg = (
        f"{what}: no {role} column; accepted names (any case/spacing): {aliases}; "
        f"found columns {shown}"
    )
    raise MissingColumnError(msg)


def to_number(
    values: pd.Series,
    *,
    what: str,
    column: str,
    allow_missing: bool = True,
) -> pd.Series:
    """Convert text to float, accepting thousands separators (``"29,199"``).

    Blank cells and missing-value markers (:data:`MISSING_MARKERS`, e.g.
    ``NA``, ``..``, ``[x]``) become NaN (or an error when ``allow_missing`` is
    False).

    Raises
    ------
    ValueRangeError
        Naming the file, the column and example values that are not numbers.

    Examples
    --------
    >>> import pandas as pd
    >>> to_number(pd.Series(["29,199", " 7 ", None]), what="f", column="rank").tolist()
    [29199.0, 7.0, nan]
    """
    text = values.astype("string").str.strip().str.replace(",", "", regex=False)
    text = text.mask(text.str.lower().isin(MISSING_MARKERS))
    numbers = pd.to_numeric(text, errors="coerce").astype(float)
    bad = text.notna() & numbers.isna()
    if bad.any():
        examples = sorted(set(values[bad].astype(str)))[:5]
        msg = (
            f"{what}: column '{column}' must hold numbers; {int(bad.sum())} value(s) are not "
            f"numeric, e.g. {examples}"
        )
        raise ValueRangeError(msg)
    if not allow_missing and numbers.isna().any():
        n = int(numbers.isna().sum())
        msg = f"{what}: column '{column}' has {n} blank value(s); a number is required in every row"
        raise ValueRangeError(msg)
    return pd.Series(numbers.to_numpy(dtype=float), index=values.index, name=values.name)


def check_unique(codes: pd.Series, *, what: str, column: str) -> None:
    """Raise :class:`DuplicateKeyError` if ``codes`` holds a value more than once.

    Examples
    --------
    >>> import pandas as pd
    >>> check_unique(pd.Series(["a", "b"]), what="t", column="code")
    """
    dup = codes[codes.duplicated(keep=False)]
    if len(dup):
        examples = sorted(set(dup.astype(str)))[:5]
        msg = (
            f"{what}: column '{column}' must hold one row per code; {dup.nunique()} code(s) "
            f"appear more than once, e.g. {examples}"
        )
        raise DuplicateKeyError(msg)


def clean_codes(codes: pd.Series) -> pd.Series:
    """Strip spaces from codes and turn blanks into missing values."""
    text = codes.astype("string").str.strip()
    return text.mask(text == "")


def drop_non_data_rows(
    frame: pd.DataFrame, code_col: str, value_cols: Sequence[str], *, what: str
) -> pd.DataFrame:
    """Drop footnote/blank rows: no code, or every value column blank.

    Official downloads end with notes (e.g. the Census statistical disclosure
    note). The number dropped is recorded in ``frame.attrs["notes"]``.
    """
    codes = clean_codes(frame[code_col])
    values_blank = frame[list(value_cols)].apply(
        lambda s: s.astype("string").str.strip().fillna("").eq("")
    )
    drop = codes.isna() | values_blank.all(axis=1)
    if drop.any():
        n = int(drop.sum())
        attrs = dict(frame.attrs)
        frame = frame.loc[~drop].reset_index(drop=True)
        frame.attrs.update(attrs)
        add_note(frame, f"{what}: ignored {n} non-data row(s) (blank code or no values)")
    if len(frame) == 0:
        msg = f"{what}: no data rows (all rows are blank or notes)"
        raise EmptyInputError(msg)
    return frame


def add_note(frame: pd.DataFrame, note: str) -> None:
    """Append a plain-language note to ``frame.attrs["notes"]``."""
    notes = list(frame.attrs.get("notes", []))
    notes.append(note)
    frame.attrs["notes"] = notes


def check_range(
    values: pd.Series,
    *,
    what: str,
    column: str,
    low: float,
    high: float = np.inf,
    codes: pd.Series | None = None,
) -> None:
    """Raise :class:`ValueRangeError` if a non-missing value is outside [low, high]."""
    bad = values.notna() & ~values.between(low, high)
    if bad.any():
        shown = (codes[bad] if codes is not None else values[bad]).astype(str).tolist()[:5]
        msg = (
            f"{what}: column '{column}' must be within [{low}, {high}]; {int(bad.sum())} "
            f"value(s) are not, e.g. {shown} ({values[bad].tolist()[:5]})"
        )
        raise ValueRangeError(msg)
