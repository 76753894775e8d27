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


def _safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose float and text cells are already formatted as written."""
    out = pd.DataFrame(index=frame.index)
    for name in frame.columns:
        col = frame[name]
        if pd.api.types.is_bool_dtype(col) or pd.api.types.is_integer_dtype(col):
            out[name] = col
        elif pd.api.types.is_float_dtype(col):
            out[name] = [
                format_number(float(v)) for v in col.to_numpy(dtype=float, na_value=np.nan)
            ]
        else:
            out[name] = [
                "" if (not isinstance(v, str) and _is_na(v)) else _cell(v) for v in col.tolist()
            ]
    return out


def _is_na(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def csv_text(frame: pd.DataFrame) -> str:
    """``frame`` (index dropped) as spreadsheet-safe CSV text."""
    return _safe(frame).to_csv(index=False, lineterminator="\n")


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """:func:`csv_text` encoded as UTF-8 (for downloads)."""
    return csv_text(frame).encode("utf-8")


def write_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` to ``path`` as spreadsheet-safe CSV, atomically; return the path."""
    return atomic_write_text(path, csv_text(frame))


def read_csv(path: str | Path) -> pd.DataFrame:
    """Read a CSV written by :func:`write_csv`, undoing the apostrophe of neutralised text."""
    frame = pd.read_csv(path, keep_default_na=True, na_values=[""])
    for name in frame.columns:
        col = frame[name]
        if col.dtype == object:
            frame[name] = [
                v[1:] if isinstance(v, str) and v.startswith("'") else v for v in col.tolist()
            ]
    return frame
