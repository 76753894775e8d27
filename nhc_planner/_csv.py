"""The one CSV writer (and its reader) for every CSV nhc-planner writes.

Spreadsheet-safe and readable:

* **No formula injection.** A text cell that begins with ``=``, ``+``, ``-``,
  ``@``, a tab or a carriage return would be run as a formula by Excel,
  LibreOffice or Google Sheets; it is written with a leading apostrophe
  (``'=HYPERLINK(...)``), which spreadsheets show as text (OWASP, "CSV
  Injection"). A text cell that itself begins with an apostrophe gets one
  more, so :func:`read_csv` restores every value exactly by dropping one
  leading apostrophe.
* **Plain decimals.** Floats are written positionally (never ``5.4e+06``),
  to 10 significant digits, and values with ``|x| < 1e-9`` (round-off such
  as ``-7.27596e-12``) as ``0``. Missing values are empty cells.
* Rows end with ``\\n``; files are UTF-8 and written atomically.

The demo's official-format input files are not written with this module:
they imitate the published files byte for byte.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nhc_planner._atomic import atomic_write_text

__all__ = ["csv_bytes", "csv_text", "format_number", "neutralise", "read_csv", "write_csv"]

#: First characters that make spreadsheets treat a cell as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: Values smaller than this in magnitude are written as 0 (floating-point round-off).
TINY = 1e-9
#: Significant digits kept for floats.
DIGITS = 10


def neutralise(text: str) -> str:
    """Prefix an apostrophe to text a spreadsheet would run as a formula (or that starts with one).

    Examples
    --------
    >>> neutralise('=HYPERLINK("http://evil.example")'), neutralise("Leeds"), neutralise("'x")
    ('\\'=HYPERLINK("http://evil.example")', 'Leeds', "''x")
    """
    if text.startswith(FORMULA_START) or text.startswith("'"):
        return "'" + text
    return text


def format_number(x: float) -> str:
    """A float as a plain decimal: 10 significant digits, no exponent, tiny values as 0.

    Examples
    --------
    >>> format_number(5.4e6), format_number(-7.27596e-12), format_number(1 / 3), format_number(2.0)
    ('5400000', '0', '0.3333333333', '2')
    """
    if math.isnan(x):
        return ""
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if abs(x) < TINY:
        return "0"
    text = np.format_float_positional(x, precision=DIGITS, unique=False, fractional=False, trim="-")
    return "0" if text in ("-0", "0") else text


def _cell(value: Any) -> Any:
    if isinstance(value, str):
        return neutralise(value)
    if isinstance(value, float | np.floating) and not isinstance(value, bool):
        return format_number(float(value))
    return value


def _text(value: Any) -> str:
    """One cell as written: text neutralised, floats plain, missing values empty."""
    if isinstance(value, str):
        return neutralise(value)
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, float | np.floating):
        return format_number(float(value))
    if _is_na(value):
        return ""
    if isinstance(value, int | np.integer):
        return str(int(value))
    return neutralise(str(value))


def _column(col: pd.Series) -> list[str]:
    if pd.api.types.is_float_dtype(col):
        return [format_number(float(v)) for v in col.to_numpy(dtype=float, na_value=np.nan)]
    return [_text(v) for v in col.tolist()]


def _is_na(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _quote(cell: str) -> str:
    """RFC 4180 quoting: cells holding a comma, quote, CR or LF are quoted (pandas leaves a
    lone CR unquoted when rows end with LF, which breaks every reader)."""
    if any(c in cell for c in _SPECIAL):
        return '"' + cell.replace('"', '""') + '"'
    return cell


_SPECIAL = (",", '"', "\r", "\n")


def csv_text(frame: pd.DataFrame) -> str:
    """``frame`` (index dropped) as spreadsheet-safe CSV text."""
    columns = [_column(frame[name]) for name in frame.columns]
    lines = [",".join(_quote(str(name)) for name in frame.columns)]
    lines.extend(",".join(_quote(c) for c in row) for row in zip(*columns, strict=True))
    return "\n".join(lines) + "\n"


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """:func:`csv_text` encoded as UTF-8 (for downloads)."""
    return csv_text(frame).encode("utf-8")


def write_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` to ``path`` as spreadsheet-safe CSV, atomically; return the path."""
    return atomic_write_text(path, csv_text(frame))


def read_csv(path: str | Path) -> pd.DataFrame:
    """Read a CSV written by :func:`write_csv`, undoing the apostrophe of neutralised text."""
    # only an empty cell is missing: a site called "NA", "NULL" or "None" stays text
    frame = pd.read_csv(path, keep_default_na=False, na_values=[""])
    for name in frame.columns:
        col = frame[name]
        if not (pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col)):
            frame[name] = [
                v[1:] if isinstance(v, str) and v.startswith("'") else v for v in col.tolist()
            ]
    return frame
