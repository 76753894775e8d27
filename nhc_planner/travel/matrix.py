"""The matrix engine: travel times read from a precomputed area-to-site matrix.

The file (CSV, or Parquet with ``.parquet``/``.pq``) has one row per
reachable pair: ``area_code, site_id, minutes`` (header names are matched
ignoring case and surrounding spaces). Pairs absent from the file are
unreachable; pairs slower than the cutoff are dropped. Every pair read is
flagged ``method="matrix"`` in :attr:`TravelTimes.long`.

Problems are named errors: a missing column (:class:`MissingColumnError`),
blank codes, non-numeric, blank, negative or infinite minutes
(:class:`ValueRangeError`), a pair given twice (:class:`DuplicateKeyError`),
area codes or site ids that are not in the region (:class:`ValueRangeError`,
with examples).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import pandas as pd

from nhc_planner._errors import (
    DataFileError,
    DuplicateKeyError,
    EmptyInputError,
    MissingColumnError,
    ScenarioError,
    ValueRangeError,
)
from nhc_planner.sources._tables import read_table, to_number
from nhc_planner.travel._times import TravelTimes, labels_of
from nhc_planner.travel.engines import Progress, register_engine
from nhc_planner.travel.lsoa_matrix import is_lsoa_matrix, lsoa_matrix_times, read_lsoa_matrix

if TYPE_CHECKING:
    from nhc_planner.scenario import TravelSettings

__all__ = ["MATRIX_COLUMNS", "MatrixEngine", "matrix_times", "read_travel_matrix"]

#: Columns of a travel-time matrix file.
MATRIX_COLUMNS: tuple[str, ...] = ("area_code", "site_id", "minutes")

_PARQUET_SUFFIXES = (".parquet", ".pq")


def _read_raw(path: Path) -> pd.DataFrame:
    what = "travel-time matrix"
    if path.suffix.lower() not in _PARQUET_SUFFIXES:
        return read_table(path, what=f"{what} {path}")
    if not path.is_file():
        msg = f"{what}: file {path} not found"
        raise DataFileError(msg)
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several types for a bad file
        msg = f"{path}: cannot read the {what} as Parquet ({type(exc).__name__}: {exc})"
        raise DataFileError(msg) from exc
    if len(frame) == 0:
        msg = f"{path}: the {what} has no rows"
        raise EmptyInputError(msg)
    return frame


def _examples(values: pd.Series | pd.Index) -> list[str]:
    return sorted({str(v) for v in values})[:5]


def read_travel_matrix(
    source: str | Path | pd.DataFrame, *, what: str | None = None
) -> pd.DataFrame:
    """Read and check a travel-time matrix: ``area_code, site_id, minutes``.

    Parameters
    ----------
    source
        A CSV or Parquet file, or a DataFrame with those columns (e.g. the
        ``long`` table of another :class:`TravelTimes`).
    what
        How to name a table in messages (default "travel-time matrix (table)").

    Returns
    -------
    pandas.DataFrame
        ``area_code`` and ``site_id`` (str, stripped), ``minutes`` (float >= 0).

    Raises
    ------
    DataFileError, EmptyInputError
        The file is missing, unreadable or empty.
    MissingColumnError
        A column is missing (the message lists the columns found).
    ValueRangeError
        Blank codes; minutes blank, not numeric, negative or infinite.
    DuplicateKeyError
        An ``(area_code, site_id)`` pair appears more than once.
    """
    if isinstance(source, pd.DataFrame):
        what, raw = what or "travel-time matrix (table)", source
    else:
        path = Path(source)
        what, raw = f"travel-time matrix {path}", _read_raw(path)
    by_name = {str(c).strip().lower(): c for c in raw.columns}
    missing = [c for c in MATRIX_COLUMNS if c not in by_name]
    if missing:
        msg = (
            f"{what}: missing column(s) {missing}; expected {list(MATRIX_COLUMNS)}, "
            f"found {[str(c) for c in raw.columns]}"
        )
        raise MissingColumnError(msg)
    out = pd.DataFrame(index=pd.RangeIndex(len(raw)))
    for col in ("area_code", "site_id"):
        values = raw[by_name[col]]
        stripped = values.astype("string").str.strip()
        blank = stripped.fillna("").eq("").to_numpy(dtype=bool)
        text = stripped.fillna("").to_numpy(dtype=object)
        if blank.any():
            rows = (np.flatnonzero(blank)[:5] + 1).tolist()
            msg = f"{what}: column '{col}' has {int(blank.sum())} blank value(s), e.g. rows {rows}"
            raise ValueRangeError(msg)
        out[col] = text.astype(str)
    minutes = raw[by_name["minutes"]]
    if pd.api.types.is_numeric_dtype(minutes) and not pd.api.types.is_bool_dtype(minutes):
        numbers = minutes.astype(float).to_numpy()
        if np.isnan(numbers).any():
            n = int(np.isnan(numbers).sum())
            msg = f"{what}: column 'minutes' has {n} blank value(s); a number is required"
            raise ValueRangeError(msg)
    else:
        numbers = to_number(minutes, what=what, column="minutes", allow_missing=False).to_numpy()
    bad = ~np.isfinite(numbers) | (numbers < 0)
    if bad.any():
        examples = [
            f"{a}->{s}: {m:g}"
            for a, s, m in zip(
                out["area_code"][bad][:5], out["site_id"][bad][:5], numbers[bad][:5], strict=True
            )
        ]
        msg = (
            f"{what}: column 'minutes' must be finite numbers >= 0 (leave unreachable pairs "
            f"out); {int(bad.sum())} are not, e.g. {examples}"
        )
        raise ValueRangeError(msg)
    out["minutes"] = numbers
    dup = out.duplicated(["area_code", "site_id"], keep=False)
    if dup.any():
        pairs = out.loc[dup, ["area_code", "site_id"]].drop_duplicates()
        examples = [f"{a}->{s}" for a, s in pairs.head(5).itertuples(index=False)]
        msg = (
            f"{what}: {len(pairs)} (area_code, site_id) pair(s) appear more than once, "
            f"e.g. {examples}"
        )
        raise DuplicateKeyError(msg)
    return out


def matrix_times(
    areas: pd.DataFrame,
    sites: pd.DataFrame,
    matrix: str | Path | pd.DataFrame,
    *,
    mode: str = "drive",
    cutoff_min: float = 60.0,
    percentile: float | None = None,
) -> TravelTimes:
    """Travel times from a precomputed matrix (see :func:`read_travel_matrix`).

    A published LSOA-to-LSOA matrix (origin and destination LSOA codes, e.g.
    the Great Britain public transport travel time matrices) is recognised by
    its headers and read by :func:`~nhc_planner.travel.lsoa_matrix.lsoa_matrix_times`
    (each site placed in the LSOA it stands in).

    Parameters
    ----------
    areas, sites
        The region's areas (``area_code``) and sites (``site_id``); only the
        labels are read.
    matrix
        A CSV or Parquet file, or a DataFrame ``area_code, site_id, minutes``.
    mode
        The mode the matrix is for (a label; it is not checked against the file).
    cutoff_min
        Pairs slower than this are dropped.
    percentile
        For an LSOA-to-LSOA matrix with ``travel_time_p<n>`` columns: which one.

    Returns
    -------
    TravelTimes
        Pairs absent from the matrix are unreachable; ``method="matrix"``.

    Raises
    ------
    ValueRangeError
        The matrix names area codes or site ids that are not in ``areas`` /
        ``sites`` (a matrix for another region), or ``cutoff_min <= 0``; and
        the errors of :func:`read_travel_matrix`.

    Examples
    --------
    >>> import pandas as pd
    >>> areas = pd.DataFrame({"area_code": ["A", "B"]})
    >>> sites = pd.DataFrame({"site_id": ["S"]})
    >>> table = pd.DataFrame({"area_code": ["A", "B"], "site_id": ["S", "S"], "minutes": [5, 90]})
    >>> matrix_times(areas, sites, table, cutoff_min=60).matrix().ravel().tolist()
    [5.0, inf]
    """
    if not cutoff_min > 0:
        msg = f"cutoff_min must be > 0; got {cutoff_min}"
        raise ValueRangeError(msg)
    raw = matrix if isinstance(matrix, pd.DataFrame) else _read_raw(Path(matrix))
    if is_lsoa_matrix(raw.columns):
        name = None if isinstance(matrix, pd.DataFrame) else f"LSOA travel-time matrix {matrix}"
        lsoa = read_lsoa_matrix(raw, percentile=percentile, what=name)
        return lsoa_matrix_times(areas, sites, lsoa, mode=mode, cutoff_min=cutoff_min)
    area_codes = labels_of(areas, "areas")
    site_ids = labels_of(sites, "sites")
    table = read_travel_matrix(
        raw, what=None if isinstance(matrix, pd.DataFrame) else f"travel-time matrix {matrix}"
    )
    where = "the table" if isinstance(matrix, pd.DataFrame) else str(matrix)
    rows = pd.Index(area_codes).get_indexer(pd.Index(table["area_code"]))
    cols = pd.Index(site_ids).get_indexer(pd.Index(table["site_id"]))
    for pos, col, kind, n in (
        (rows, "area_code", "area", len(area_codes)),
        (cols, "site_id", "site", len(site_ids)),
    ):
        unknown = pos < 0
        if unknown.any():
            values = table.loc[unknown, col]
            msg = (
                f"travel-time matrix {where}: {values.nunique()} {col} value(s) are not "
                f"{kind}s of this region ({n} {kind}s), e.g. {_examples(values)}; is the "
                "matrix for another region or code vintage?"
            )
            raise ValueRangeError(msg)
    minutes = table["minutes"].to_numpy(dtype=float)
    keep = minutes <= cutoff_min
    return TravelTimes(
        area_codes=area_codes,
        site_ids=site_ids,
        mode=mode,
        cutoff_min=float(cutoff_min),
        rows=rows[keep].astype(np.int64),
        cols=cols[keep].astype(np.int64),
        minutes=minutes[keep],
        straight_line=np.zeros(int(keep.sum()), dtype=bool),
        snaps=pd.DataFrame(),
        method="matrix",
    )


@register_engine
class MatrixEngine:
    """Travel times read from a precomputed matrix file (``travel.matrix``).

    Either ``area_code, site_id, minutes`` or a published LSOA-to-LSOA matrix
    (see :mod:`nhc_planner.travel.lsoa_matrix`).

    Used by ``travel.engine = "auto"`` when ``travel.matrix`` is given. The
    file's times are taken as they are, for whatever mode they were made for
    (including public transport from an external journey planner).
    """

    name: ClassVar[str] = "matrix"
    modes: ClassVar[tuple[str, ...]] = ("drive", "walk", "cycle", "transit")
    label: ClassVar[str] = "Precomputed travel-time matrix (CSV or Parquet file)"

    def check(self, settings: TravelSettings) -> None:
        """Require ``travel.matrix``."""
        if getattr(settings, "matrix", None) is None:
            msg = (
                "travel.matrix: the matrix engine needs a CSV or Parquet file of "
                "area_code, site_id, minutes; found none"
            )
            raise ScenarioError(msg)

    def travel_times(
        self,
        areas: pd.DataFrame,
        sites: pd.DataFrame,
        settings: TravelSettings,
        *,
        progress: Progress | None = None,
    ) -> TravelTimes:
        """Read ``settings.matrix`` and keep the pairs within ``settings.cutoff_min``.

        Raises
        ------
        ScenarioError
            ``travel.matrix`` is missing or names a file that does not exist.
        """
        self.check(settings)
        path = Path(str(settings.matrix))
        if not path.is_file():
            msg = f"travel.matrix: file {str(path)!r} not found (a CSV or Parquet file)"
            raise ScenarioError(msg)
        if progress is not None:
            progress("travel times", 0.3)
        return matrix_times(
            areas,
            sites,
            path,
            mode=settings.mode,
            cutoff_min=settings.cutoff_min,
            percentile=getattr(settings, "transit_percentile", None),
        )
