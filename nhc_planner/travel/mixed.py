"""The ``mixed`` mode: households with a car drive, households without one take the bus or walk.

``travel.mode = "mixed"`` (engine ``"mixed"``) needs the region's Census 2021
TS045 columns ``households`` and ``households_no_car``
(:mod:`nhc_planner.sources.cars`). Per area and site it computes

* **with a car**: the drive time (the road engine on ``travel.network``, else
  the straight-line estimate);
* **without a car**: the faster of public transport — the timetable
  (``travel.transit_feed`` and ``transit_day``: the transit engine's chosen
  percentile over the window; on the demo region, ``network = "demo"``, the
  demo's own timetable by default) or a published matrix (``travel.matrix``, e.g.
  the GB LSOA-to-LSOA public transport matrices) — and walking (straight line
  x 1.3 at 4.8 km/h);

and returns :class:`MixedTravelTimes`: both groups' times and each area's
share of households without a car, and — for the optimiser — **one combined
area x site matrix** (the formulation chosen over two demand points per area,
so that every planning model and table reads it unchanged):

    combined[i, j] = (1 - s_i) * car[i, j] + s_i * min(no_car[i, j], cutoff)

with ``s_i`` the share of area *i*'s households without a car: the average
door-to-door time of the area's households, each by their own means.
Households without a car that cannot reach the site within the cutoff count
at the cutoff (a lower bound on their time), so that an area stays in the
plan where its drivers can reach a centre; a pair is unreachable (absent,
``inf``) when the drive is beyond the cutoff, or when every household is
without a car and none of them can reach it. An objective that weighs an area's need by its time
(the neighbourhood model's siting, ``need x minutes``) therefore weighs
``need x c`` by the drive time plus ``need x (1 - c)`` by the bus/walk time —
the split weights exactly; a coverage objective counts an area as covered
when that average is within the standard. The coverage of each group
(households with a car by drive, without by bus or on foot) is reported
separately in the plan's assignments and KPIs (``no_car_covered_*``).
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import pandas as pd

from nhc_planner._errors import ScenarioError
from nhc_planner.travel._times import TravelTimes, labels_of
from nhc_planner.travel.engines import Progress, register_engine

if TYPE_CHECKING:
    from nhc_planner.scenario import TravelSettings

__all__ = ["MixedEngine", "MixedTravelTimes", "combine_mixed", "dense_times"]


@dataclass(frozen=True)
class MixedTravelTimes(TravelTimes):
    """:class:`TravelTimes` of the combined matrix, with each group's own times.

    Attributes
    ----------
    car : TravelTimes or None
        Drive times (households with a car).
    no_car : TravelTimes or None
        The faster of public transport and walking (households without a car);
        its ``method`` says which public-transport source was used.
    no_car_share : numpy.ndarray
        Per area (in ``area_codes`` order): share of households without a car.
    """

    car: TravelTimes | None = None
    no_car: TravelTimes | None = None
    no_car_share: np.ndarray = field(default_factory=lambda: np.zeros(0))


def dense_times(times: TravelTimes) -> np.ndarray:
    """``(n_areas, n_sites)`` minutes of ``times`` in its own label order, ``inf`` where absent."""
    out = np.full((len(times.area_codes), len(times.site_ids)), np.inf)
    out[np.asarray(times.rows, dtype=np.int64), np.asarray(times.cols, dtype=np.int64)] = (
        times.minutes
    )
    return out


def _from_dense(
    minutes: np.ndarray, *, cutoff_min: float, estimated: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rows, columns, minutes and estimate flags of the pairs within the cutoff."""
    r, c = np.nonzero(np.isfinite(minutes) & (minutes <= cutoff_min))
    flags = np.zeros(len(r), dtype=bool) if estimated is None else estimated[r, c]
    return r.astype(np.int64), c.astype(np.int64), minutes[r, c], flags


def combine_mixed(
    car: TravelTimes,
    no_car: TravelTimes,
    no_car_share: np.ndarray,
    *,
    cutoff_min: float,
) -> MixedTravelTimes:
    """The combined travel times of the two groups (see the module docstring).

    Parameters
    ----------
    car, no_car
        Times of the two groups for the same areas and sites (same label order).
    no_car_share
        Per area, share of households without a car (0..1; NaN not allowed).
    cutoff_min
        Drives slower than this are unreachable; bus/walk times beyond it count as it.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from nhc_planner.travel import matrix_times
    >>> areas = pd.DataFrame({"area_code": ["A"]}); sites = pd.DataFrame({"site_id": ["S"]})
    >>> car = matrix_times(areas, sites, pd.DataFrame({"area_code": ["A"], "site_id": ["S"],
    ...                                                "minutes": [10.0]}))
    >>> bus = matrix_times(areas, sites, pd.DataFrame({"area_code": ["A"], "site_id": ["S"],
    ...                                                "minutes": [40.0]}))
    >>> combine_mixed(car, bus, np.array([0.25]), cutoff_min=60).matrix().tolist()
    [[17.5]]
    """
    share = np.asarray(no_car_share, dtype=float)
    d, t = dense_times(car), dense_times(no_car)
    # a group with no households adds nothing, whatever its time (no 0 x inf)
    no_car_part = share[:, None] * np.where(share[:, None] > 0, np.minimum(t, cutoff_min), 0.0)
    car_part = (1.0 - share)[:, None] * np.where(share[:, None] < 1.0, d, 0.0)
    combined = car_part + no_car_part
    combined[(share[:, None] >= 1.0) & ~(t <= cutoff_min)] = np.inf
    est = np.zeros(d.shape, dtype=bool)
    est[car.rows, car.cols] = car.straight_line
    rows, cols, minutes, flags = _from_dense(combined, cutoff_min=cutoff_min, estimated=est)
    return MixedTravelTimes(
        area_codes=car.area_codes,
        site_ids=car.site_ids,
        mode="mixed",
        cutoff_min=float(cutoff_min),
        rows=rows,
        cols=cols,
        minutes=minutes,
        straight_line=flags,
        snaps=car.snaps,
        method="mixed",
        car=car,
        no_car=no_car,
        no_car_share=share,
    )


def _faster(a: TravelTimes, b: TravelTimes, *, method: str, cutoff_min: float) -> TravelTimes:
    """Pairwise minimum of two travel times for the same labels."""
    da, db = dense_times(a), dense_times(b)
    best = np.minimum(da, db)
    rows, cols, minutes, _ = _from_dense(best, cutoff_min=cutoff_min)
    return TravelTimes(
        area_codes=a.area_codes,
        site_ids=a.site_ids,
        mode="no_car",
        cutoff_min=float(cutoff_min),
        rows=rows,
        cols=cols,
        minutes=minutes,
        straight_line=np.zeros(len(rows), dtype=bool),
        snaps=pd.DataFrame(),
        method=method,
    )


def _shares(areas: pd.DataFrame) -> np.ndarray:
    """Share of households without a car per area; unknown areas take the region's share."""
    from nhc_planner.sources.cars import no_car_share

    share = no_car_share(areas)
    if np.isnan(share).any():
        hh = pd.to_numeric(areas["households"], errors="coerce").to_numpy(float)
        none = pd.to_numeric(areas["households_no_car"], errors="coerce").to_numpy(float)
        ok = np.isfinite(hh) & np.isfinite(none)
        overall = float(none[ok].sum() / hh[ok].sum()) if hh[ok].sum() > 0 else 0.0
        unknown = np.flatnonzero(np.isnan(share))
        codes = areas["area_code"].astype(str).to_numpy()[unknown[:3]].tolist()
        warnings.warn(
            f"{unknown.size} area(s) have no car-availability figures (Census 2021 TS045), "
            f"e.g. {codes}; they take the region's share of households without a car "
            f"({overall:.1%}) in the mixed mode",
            UserWarning,
            stacklevel=3,
        )
        share = np.where(np.isnan(share), overall, share)
    return share


@register_engine
class MixedEngine:
    """Households with a car by drive time, without a car by bus or on foot (``"mixed"``)."""

    name: ClassVar[str] = "mixed"
    modes: ClassVar[tuple[str, ...]] = ("mixed",)
    label: ClassVar[str] = (
        "Mixed: households with a car drive, households without one take the bus or walk "
        "(Census 2021 TS045)"
    )

    def check(self, settings: TravelSettings) -> None:
        """Require a public-transport source: a GTFS feed and day, or ``travel.matrix``."""
        feed, matrix = settings.transit_feed, getattr(settings, "matrix", None)
        demo = getattr(settings, "network", None) == "demo"  # the demo's own timetable
        if feed is None and matrix is None and not demo:
            msg = (
                "travel.transit_feed / travel.matrix: the mixed mode needs public transport "
                "times for the households without a car: a GTFS feed (travel.transit_feed and "
                "travel.transit_day) or a published matrix (travel.matrix); found neither"
            )
            raise ScenarioError(msg)
        if feed is not None or matrix is None:
            from nhc_planner.travel.transit import TransitEngine

            TransitEngine().check(_as(settings, "transit", "transit"))

    def travel_times(
        self,
        areas: pd.DataFrame,
        sites: pd.DataFrame,
        settings: TravelSettings,
        *,
        progress: Progress | None = None,
    ) -> MixedTravelTimes:
        """Both groups' times and the combined matrix within ``settings.cutoff_min``.

        Raises
        ------
        MissingColumnError
            The areas lack ``households`` / ``households_no_car`` (no TS045 table).
        ScenarioError
            No public-transport source (see :meth:`check`).
        """
        from nhc_planner.travel.matrix import matrix_times
        from nhc_planner.travel.road import RoadEngine
        from nhc_planner.travel.straight import straight_line_times
        from nhc_planner.travel.transit import TransitEngine

        self.check(settings)
        share = _shares(areas)
        labels_of(areas, "areas")
        cutoff = settings.cutoff_min
        report = progress or (lambda stage, fraction: None)
        report("drive times (households with a car)", 0.0)
        if settings.network is not None:
            car = RoadEngine().travel_times(areas, sites, _as(settings, "drive", "road"))
        else:
            car = straight_line_times(areas, sites, mode="drive", cutoff_min=cutoff)
        report("public transport times (households without a car)", 0.4)
        if settings.transit_feed is not None or settings.matrix is None:
            pt = TransitEngine().travel_times(areas, sites, _as(settings, "transit", "transit"))
            method = "transit"
        else:
            pt = matrix_times(
                areas,
                sites,
                str(settings.matrix),
                mode="transit",
                cutoff_min=cutoff,
                percentile=settings.transit_percentile,
            )
            method = "transit_matrix"
        walk = straight_line_times(areas, sites, mode="walk", cutoff_min=cutoff)
        no_car = _faster(pt, walk, method=method, cutoff_min=cutoff)
        report("combined times", 0.9)
        return combine_mixed(car, no_car, share, cutoff_min=cutoff)


def _as(settings: TravelSettings, mode: str, engine: str) -> TravelSettings:
    """``settings`` for one group's engine (same cutoff and inputs, matrix left out)."""
    return dataclasses.replace(settings, mode=mode, engine=engine, matrix=None)
