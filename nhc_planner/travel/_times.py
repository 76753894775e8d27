"""The travel-time result every engine returns: :class:`TravelTimes`, and input checks.

:class:`TravelTimes` stores the reachable pairs sparsely (one entry per pair
within the cutoff) and gives the long table, a CSR view and a dense matrix.
:func:`points` validates the areas/sites frames the geometric engines read.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp

from nhc_planner._errors import (
    CrsError,
    EmptyInputError,
    MissingColumnError,
    ValueRangeError,
)
from nhc_planner.schema import BNG

__all__ = ["METHODS", "TravelTimes", "labels_of", "points"]

#: Values of ``method`` in :attr:`TravelTimes.long`: ``"network"`` (road
#: network), ``"straight_line"`` (estimate) and ``"matrix"`` (read from a
#: precomputed matrix). A new engine may name its own method.
METHODS: tuple[str, ...] = ("network", "straight_line", "matrix")
# Kept for readers of the old module.
_METHODS = METHODS


@dataclass(frozen=True)
class TravelTimes:
    """Area-to-site travel times for one mode.

    Stored sparsely: one entry per reachable pair within the cutoff.

    Attributes
    ----------
    area_codes, site_ids
        Row and column labels, in input order.
    mode
        Travel mode.
    cutoff_min
        Pairs slower than this are absent.
    rows, cols
        Area and site index of each stored pair.
    minutes
        Travel time of each stored pair (access legs included).
    straight_line
        True where the pair's time is a straight-line estimate.
    snaps
        One row per area and site: ``kind`` (``"area"``/``"site"``), ``id``,
        ``x``, ``y``, ``node``, ``snap_m``, ``access_min``, ``far``
        (snap above the threshold), ``method``. Empty without a network.
    method
        What the pairs not flagged ``straight_line`` are: ``"network"`` (the
        road engine, the default), ``"matrix"`` (a precomputed matrix) or an
        engine's own word.
    """

    area_codes: tuple[str, ...]
    site_ids: tuple[str, ...]
    mode: str
    cutoff_min: float
    rows: np.ndarray
    cols: np.ndarray
    minutes: np.ndarray
    straight_line: np.ndarray
    snaps: pd.DataFrame
    method: str = "network"

    @cached_property
    def long(self) -> pd.DataFrame:
        """``area_code, site_id, mode, minutes, method``; unreachable pairs absent.

        Sorted by area then site (input order). The label columns are
        categoricals (compact for England-scale tables; they compare, group
        and merge like strings).
        """
        order = np.lexsort((self.cols, self.rows))
        n = len(order)

        def labels(codes: np.ndarray, categories: Sequence[str]) -> pd.Categorical[str]:
            return pd.Categorical.from_codes(codes, categories=pd.Index(list(categories)))

        return pd.DataFrame(
            {
                "area_code": labels(self.rows[order], self.area_codes),
                "site_id": labels(self.cols[order], self.site_ids),
                "mode": labels(np.zeros(n, dtype=np.int64), [self.mode]),
                "minutes": self.minutes[order],
                "method": labels(
                    self.straight_line[order].astype(np.int64), [self.method, "straight_line"]
                ),
            }
        )

    @cached_property
    def estimated(self) -> pd.Series:
        """Per area code: True when its times are straight-line estimates."""
        flags = np.zeros(len(self.area_codes), dtype=bool)
        if len(self.snaps):
            areas = self.snaps[self.snaps["kind"] == "area"]
            flags = (areas["method"] == "straight_line").to_numpy()
        elif self.method != "network":
            # engines without snapping (matrix, plug-ins): estimated where a pair says so
            flags[np.unique(self.rows[self.straight_line])] = True
        elif len(self.straight_line):
            flags[:] = bool(self.straight_line.all())
        else:
            flags[:] = True
        return pd.Series(flags, index=pd.Index(self.area_codes, name="area_code"))

    @cached_property
    def area_method(self) -> pd.Series:
        """Per area code: ``"straight_line"`` where :attr:`estimated`, else :attr:`method`."""
        values = np.where(self.estimated.to_numpy(), "straight_line", self.method).astype(object)
        return pd.Series(values, index=pd.Index(self.area_codes, name="area_code"))

    def _positions(
        self, wanted: Iterable[str] | None, labels: tuple[str, ...], what: str
    ) -> np.ndarray:
        if wanted is None:
            return np.arange(len(labels))
        index = pd.Index(labels)
        wanted = list(wanted)
        pos = index.get_indexer(pd.Index(wanted))
        if (pos < 0).any():
            missing = [w for w, p in zip(wanted, pos, strict=True) if p < 0][:5]
            msg = f"{what} {missing} not in these travel times ({len(labels)} {what}s)"
            raise ValueRangeError(msg)
        return pos

    def sparse(
        self, area_codes: Iterable[str] | None = None, site_ids: Iterable[str] | None = None
    ) -> sp.csr_matrix:
        """Minutes as a CSR matrix; stored entries are the reachable pairs.

        A stored 0.0 is a real zero-minute trip (kept as an explicit entry);
        a missing entry is unreachable / beyond the cutoff.
        """
        ra = self._positions(area_codes, self.area_codes, "area code")
        cs = self._positions(site_ids, self.site_ids, "site id")
        row_map = np.full(len(self.area_codes), -1)
        row_map[ra] = np.arange(len(ra))
        col_map = np.full(len(self.site_ids), -1)
        col_map[cs] = np.arange(len(cs))
        r, c = row_map[self.rows], col_map[self.cols]
        keep = (r >= 0) & (c >= 0)
        return sp.csr_matrix((self.minutes[keep], (r[keep], c[keep])), shape=(len(ra), len(cs)))

    def matrix(
        self, area_codes: Iterable[str] | None = None, site_ids: Iterable[str] | None = None
    ) -> np.ndarray:
        """Dense ``(n_areas, n_sites)`` minutes, ``np.inf`` where unreachable.

        Rows and columns follow ``area_codes`` and ``site_ids`` (default: the
        input order).
        """
        ra = self._positions(area_codes, self.area_codes, "area code")
        cs = self._positions(site_ids, self.site_ids, "site id")
        out = np.full((len(self.area_codes), len(self.site_ids)), np.inf)
        out[self.rows, self.cols] = self.minutes
        return out[np.ix_(ra, cs)]


# --------------------------------------------------------------------------- inputs


def labels_of(frame: pd.DataFrame, kind: str) -> tuple[str, ...]:
    """The ``area_code`` (``kind="areas"``) or ``site_id`` labels, checked unique.

    Raises
    ------
    MissingColumnError, EmptyInputError, ValueRangeError
        The column is missing, the frame is empty, or a label repeats.
    """
    key = "area_code" if kind == "areas" else "site_id"
    if key not in frame.columns:
        msg = f"{kind}: missing column '{key}'; found {list(frame.columns)}"
        raise MissingColumnError(msg)
    if len(frame) == 0:
        msg = f"{kind}: no rows"
        raise EmptyInputError(msg)
    labels = tuple(frame[key].astype(str))
    if len(set(labels)) != len(labels):
        dup = pd.Series(labels)[pd.Series(labels).duplicated()].unique()[:5].tolist()
        msg = f"{kind}: duplicated '{key}' values, e.g. {dup}"
        raise ValueRangeError(msg)
    return labels


def points(frame: pd.DataFrame, kind: str) -> tuple[tuple[str, ...], np.ndarray]:
    """Labels and ``(n, 2)`` BNG coordinates of areas or sites, with checks."""
    key = "area_code" if kind == "areas" else "site_id"
    if key not in frame.columns:
        msg = f"{kind}: missing column '{key}'; found {list(frame.columns)}"
        raise MissingColumnError(msg)
    if len(frame) == 0:
        msg = f"{kind}: no rows"
        raise EmptyInputError(msg)
    crs = frame.crs if isinstance(frame, gpd.GeoDataFrame) else None
    if crs is not None and crs.to_epsg() != 27700:
        msg = f"{kind}: CRS is {crs.to_string()}; expected {BNG}. Reproject with .to_crs()"
        raise CrsError(msg)
    if kind == "areas":
        for col in ("demand_x", "demand_y"):
            if col not in frame.columns:
                msg = f"areas: missing column '{col}' (demand point, EPSG:27700 metres)"
                raise MissingColumnError(msg)
        xy = np.column_stack(
            [frame["demand_x"].to_numpy(dtype=float), frame["demand_y"].to_numpy(dtype=float)]
        )
    elif isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame.columns:
        if frame.crs is None:
            msg = f"sites: no CRS set; expected {BNG}"
            raise CrsError(msg)
        geoms = frame.geometry
        if not geoms.geom_type.eq("Point").all():
            msg = f"sites: geometries must be points; found {sorted(set(geoms.geom_type.dropna()))}"
            raise ValueRangeError(msg)
        xy = np.column_stack([geoms.x.to_numpy(), geoms.y.to_numpy()])
    elif {"x", "y"} <= set(frame.columns):
        xy = frame[["x", "y"]].to_numpy(dtype=float)
    else:
        msg = "sites: expected a GeoDataFrame of points or columns 'x', 'y' (EPSG:27700)"
        raise MissingColumnError(msg)
    labels = tuple(frame[key].astype(str))
    if len(set(labels)) != len(labels):
        dup = pd.Series(labels)[pd.Series(labels).duplicated()].unique()[:5].tolist()
        msg = f"{kind}: duplicated '{key}' values, e.g. {dup}"
        raise ValueRangeError(msg)
    bad = ~np.isfinite(xy).all(axis=1)
    if bad.any():
        examples = np.asarray(labels)[bad][:5].tolist()
        msg = f"{kind}: {int(bad.sum())} point(s) without coordinates, e.g. {examples}"
        raise ValueRangeError(msg)
    # Longitude/latitude over Great Britain (x -9..2.5, y 49..61) is ~1 km from the
    # BNG origin in the sea; real BNG points are never there.
    lon_lat = (xy[:, 0] >= -9.0) & (xy[:, 0] <= 2.5) & (xy[:, 1] >= 49.0) & (xy[:, 1] <= 61.0)
    if lon_lat.all():
        msg = (
            f"{kind}: coordinates look like longitude/latitude degrees "
            f"(e.g. {xy[0].tolist()}); expected {BNG} metres"
        )
        raise CrsError(msg)
    return labels, xy
