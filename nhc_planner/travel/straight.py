"""The straight-line engine: crow-fly distance x circuity / mode speed.

The documented fallback of the road engine and the engine of scenarios
without a road network. Vectorised with a KD-tree, so only pairs within the
cutoff are ever formed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from nhc_planner._errors import ValueRangeError
from nhc_planner.travel._times import TravelTimes, points
from nhc_planner.travel.engines import Progress, register_engine

if TYPE_CHECKING:
    from nhc_planner.scenario import TravelSettings

__all__ = [
    "CIRCUITY",
    "STRAIGHT_LINE_SPEED_KMH",
    "StraightLineEngine",
    "straight_line_pairs",
    "straight_line_times",
]

#: Ratio of road distance to crow-fly distance used by the straight-line
#: fallback. Studies put it at about 1.2-1.4 (Newell 1980: ~1.2 in cities;
#: Ballou, Rahardja & Sakai 2002, Transportation Research A 36(9) 843-848:
#: national factors mostly 1.2-1.4; Boscoe, Henry & Zdeb 2012, Professional
#: Geographer 64(2): 1.4 to US hospitals). 1.3 is the middle of that range;
#: calibrate it against a network where you have one (see docs/travel.md).
CIRCUITY: Mapping[str, float] = {"drive": 1.3, "walk": 1.3, "cycle": 1.3}

#: Mode speeds (km/h) for the straight-line fallback. Drive: 40 km/h, about
#: the DfT average speed on local 'A' roads in England (~25 mph, statistics
#: table CGN0502); walk 4.8 km/h; cycle 15 km/h (as the network defaults).
STRAIGHT_LINE_SPEED_KMH: Mapping[str, float] = {"drive": 40.0, "walk": 4.8, "cycle": 15.0}


def _defaults(mode: str, circuity: float | None, speed_kmh: float | None) -> tuple[float, float]:
    """Circuity and speed for ``mode``: the overrides, else the documented defaults."""
    if (circuity is None and mode not in CIRCUITY) or (
        speed_kmh is None and mode not in STRAIGHT_LINE_SPEED_KMH
    ):
        msg = (
            f"mode {mode!r} is not supported by straight-line estimates without circuity= and "
            f"speed_kmh=; defaults exist for {list(STRAIGHT_LINE_SPEED_KMH)}"
        )
        raise ValueRangeError(msg)
    c = CIRCUITY[mode] if circuity is None else float(circuity)
    s = STRAIGHT_LINE_SPEED_KMH[mode] if speed_kmh is None else float(speed_kmh)
    return c, s


def straight_line_pairs(
    a_xy: np.ndarray, s_xy: np.ndarray, *, circuity: float, speed_kmh: float, cutoff_min: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows, cols and minutes of pairs within the cutoff, by KD-tree."""
    m_per_min = speed_kmh * 1000.0 / 60.0
    radius = cutoff_min * m_per_min / circuity
    if not np.isfinite(radius):
        d = np.hypot(a_xy[:, None, 0] - s_xy[None, :, 0], a_xy[:, None, 1] - s_xy[None, :, 1])
        r, c = np.nonzero(np.ones_like(d, dtype=bool))
        return r, c, d[r, c] * circuity / m_per_min
    tree_a, tree_s = cKDTree(a_xy), cKDTree(s_xy)
    pairs = tree_a.sparse_distance_matrix(tree_s, radius, output_type="ndarray")
    r = pairs["i"].astype(np.int64)
    c = pairs["j"].astype(np.int64)
    return r, c, pairs["v"] * circuity / m_per_min


def straight_line_times(
    areas: pd.DataFrame,
    sites: pd.DataFrame,
    *,
    mode: str = "drive",
    circuity: float | None = None,
    speed_kmh: float | None = None,
    cutoff_min: float = 60.0,
) -> TravelTimes:
    """Estimate travel times as crow-fly distance x circuity / speed.

    Parameters
    ----------
    areas
        Areas with ``area_code``, ``demand_x``, ``demand_y`` (EPSG:27700).
    sites
        Sites with ``site_id`` and point geometry (EPSG:27700).
    mode
        Travel mode; ``"drive"``, ``"walk"`` and ``"cycle"`` have defaults, any
        other mode needs both ``circuity`` and ``speed_kmh``.
    circuity
        Road / crow-fly distance ratio (default :data:`CIRCUITY`).
    speed_kmh
        Average speed (default :data:`STRAIGHT_LINE_SPEED_KMH`).
    cutoff_min
        Pairs slower than this are left out (``np.inf`` keeps all pairs).

    Returns
    -------
    TravelTimes
        Every pair flagged ``method="straight_line"``.

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd, shapely
    >>> areas = pd.DataFrame({"area_code": ["A"], "demand_x": [0.0], "demand_y": [0.0]})
    >>> sites = gpd.GeoDataFrame({"site_id": ["S"]},
    ...     geometry=[shapely.Point(3000.0, 4000.0)], crs="EPSG:27700")
    >>> tt = straight_line_times(areas, sites, mode="walk", circuity=1.0, speed_kmh=6.0)
    >>> float(tt.matrix()[0, 0])  # 5 km at 6 km/h
    50.0
    """
    circuity, speed = _defaults(mode, circuity, speed_kmh)
    if circuity < 1.0 or speed <= 0 or not cutoff_min > 0:
        msg = (
            f"straight-line settings out of range: circuity={circuity} (>= 1), "
            f"speed_kmh={speed} (> 0), cutoff_min={cutoff_min} (> 0)"
        )
        raise ValueRangeError(msg)
    area_codes, a_xy = points(areas, "areas")
    site_ids, s_xy = points(sites, "sites")
    r, c, minutes = straight_line_pairs(
        a_xy, s_xy, circuity=circuity, speed_kmh=speed, cutoff_min=cutoff_min
    )
    keep = minutes <= cutoff_min
    return TravelTimes(
        area_codes=area_codes,
        site_ids=site_ids,
        mode=mode,
        cutoff_min=float(cutoff_min),
        rows=r[keep],
        cols=c[keep],
        minutes=minutes[keep],
        straight_line=np.ones(int(keep.sum()), dtype=bool),
        snaps=pd.DataFrame(),
    )


@register_engine
class StraightLineEngine:
    """Straight-line estimates for every pair (no network needed).

    Used by ``travel.engine = "auto"`` when neither ``travel.network`` nor
    ``travel.matrix`` is given. Every pair is flagged ``method="straight_line"``.
    """

    name: ClassVar[str] = "straight_line"
    modes: ClassVar[tuple[str, ...]] = ("drive", "walk", "cycle")
    label: ClassVar[str] = "Straight-line estimates (distance ÷ speed × detour factor)"

    def travel_times(
        self,
        areas: pd.DataFrame,
        sites: pd.DataFrame,
        settings: TravelSettings,
        *,
        progress: Progress | None = None,
    ) -> TravelTimes:
        """Straight-line times for ``settings.mode`` within ``settings.cutoff_min``."""
        return straight_line_times(areas, sites, mode=settings.mode, cutoff_min=settings.cutoff_min)
