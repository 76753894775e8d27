"""The public-transport engine: range RAPTOR on a GTFS feed (``travel.engine = "transit"``).

For each area and site: the chosen percentile (median by default, as R5
does) of the door-to-door travel time over every departure minute of a
window, and the share of those departures that arrive within the access
standard. See ``docs/transit.md``.

The scenario's ``[travel]`` keys ``transit_feed``, ``transit_day``,
``transit_window`` (``"HH:MM-HH:MM"``) and ``transit_percentile`` set it up;
an explicit :class:`TransitSettings` given to the engine overrides them.
``transit_feed = "demo"`` is the demo region's synthetic bus timetable, and
the default when ``travel.network = "demo"`` (as the CLI and the app set for
the demo region), with the demo's weekday as the default day. Walking legs
follow the walk network of ``travel.network`` when one is given (see
:mod:`nhc_planner._transit_walk`), straight lines otherwise.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import pandas as pd

from nhc_planner._errors import ScenarioError, ValueRangeError
from nhc_planner.travel._times import TravelTimes, points
from nhc_planner.travel.engines import Progress, register_engine

if TYPE_CHECKING:
    from nhc_planner.network import RoadNetwork
    from nhc_planner.scenario import TravelSettings

__all__ = [
    "DEMO_FEED",
    "TransitEngine",
    "TransitResult",
    "TransitSettings",
    "feed_path",
    "transit_times",
]

#: ``travel.transit_feed`` value naming the demo region's synthetic timetable.
DEMO_FEED = "demo"


@dataclass(frozen=True)
class TransitSettings:
    """Inputs of the public-transport engine.

    Parameters
    ----------
    feed
        GTFS feed, zip or folder.
    day
        Service date (``"YYYY-MM-DD"``); pick a normal weekday, or a Saturday.
    window
        First and last departure, ``"HH:MM"`` (default the opening window
        08:00-20:00); one departure a minute.
    percentile
        Percentile of travel time over the window (default 50, the median).
    """

    feed: str
    day: str
    window: tuple[str, str] = ("08:00", "20:00")
    percentile: float = 50.0

    def departures(self) -> np.ndarray:
        """Departure seconds, one a minute from the window's start to its end."""
        start, end = (_hhmm(w) for w in self.window)
        if end < start:
            msg = f"transit window: end {self.window[1]!r} is before start {self.window[0]!r}"
            raise ValueRangeError(msg)
        return np.arange(start, end + 1, 60, dtype=np.int64)


def _hhmm(text: str) -> int:
    try:
        h, m = (int(x) for x in str(text).split(":"))
    except ValueError as exc:
        msg = f"transit window: cannot read {text!r}; expected HH:MM"
        raise ValueRangeError(msg) from exc
    if not (0 <= h <= 47 and 0 <= m < 60):
        msg = f"transit window: {text!r} out of range; expected HH:MM with hours 0-47"
        raise ValueRangeError(msg)
    return h * 3600 + m * 60


@dataclass(frozen=True)
class TransitResult:
    """Per area x site: percentile minutes (``inf`` unreachable) and share within the standard."""

    times: TravelTimes
    percentile_min: np.ndarray
    share_within: np.ndarray
    departures: np.ndarray


def feed_path(feed: str) -> str:
    """The file behind a ``travel.transit_feed`` value (``"demo"``: the demo's timetable)."""
    if feed == DEMO_FEED:
        from nhc_planner.demo import demo_gtfs_path

        return str(demo_gtfs_path())
    return feed


def transit_times(
    areas: pd.DataFrame,
    sites: pd.DataFrame,
    transit: TransitSettings,
    *,
    standard_min: float,
    cutoff_min: float,
    threads: int = 2,
    walk_network: RoadNetwork | str | None = None,
) -> TransitResult:
    """Range-RAPTOR travel times from every area's demand point to every site.

    Parameters
    ----------
    areas, sites
        As for any travel engine (EPSG:27700).
    transit
        Feed, day, window and percentile (``feed="demo"``: the demo's timetable).
    standard_min
        The access standard: :attr:`TransitResult.share_within` counts the
        departures arriving within it.
    cutoff_min
        Longer journeys count as unreachable.
    threads
        Threads for the range RAPTOR (results do not depend on it).
    walk_network
        Walking legs on this walk network (a :class:`RoadNetwork` loaded with
        ``mode="walk"``, or anything :func:`~nhc_planner.network.load_network`
        reads, e.g. ``"demo"``); straight x circuity when None.

    Returns
    -------
    TransitResult
        ``percentile_min`` and ``share_within``, ``(n_areas, n_sites)``, and
        the pairs within the cutoff as :class:`TravelTimes`.
    """
    from nhc_planner._raptor import build_network, transit_summary
    from nhc_planner.gtfs import read_gtfs
    from nhc_planner.network import load_network

    area_codes, a_xy = points(areas, "areas")
    site_ids, s_xy = points(sites, "sites")
    feed = read_gtfs(feed_path(transit.feed), transit.day)
    deps = transit.departures()
    walk_net = None if walk_network is None else load_network(walk_network, mode="walk")
    net = build_network(feed, a_xy, s_xy, walk_network=walk_net)
    pct, share = transit_summary(
        net,
        deps,
        cutoff_s=round(cutoff_min * 60),
        percentile=transit.percentile,
        standard_s=round(standard_min * 60),
        threads=threads,
    )
    r, c = np.nonzero(pct <= cutoff_min)
    times = TravelTimes(
        area_codes=area_codes,
        site_ids=site_ids,
        mode="transit",
        cutoff_min=float(cutoff_min),
        rows=r.astype(np.int64),
        cols=c.astype(np.int64),
        minutes=pct[r, c],
        straight_line=np.zeros(len(r), dtype=bool),
        snaps=pd.DataFrame(),
        method="transit",
    )
    return TransitResult(times, pct, share, deps)


def _window(text: str) -> tuple[str, str]:
    """``"08:00-20:00"`` -> ``("08:00", "20:00")``; a named error otherwise."""
    parts = tuple(p.strip() for p in str(text).split("-"))
    try:
        if len(parts) != 2 or _hhmm(parts[0]) >= _hhmm(parts[1]):
            raise ValueRangeError(text)
    except ValueRangeError as exc:
        msg = (
            f'travel.transit_window: expected "HH:MM-HH:MM" with the start before the end '
            f'(e.g. "08:00-20:00"); found {text!r}'
        )
        raise ScenarioError(msg) from exc
    return parts[0], parts[1]


@register_engine
class TransitEngine:
    """Public transport from a GTFS timetable, by range RAPTOR (``travel.mode = "transit"``)."""

    name: ClassVar[str] = "transit"
    modes: ClassVar[tuple[str, ...]] = ("transit",)
    label: ClassVar[str] = "Public transport timetable (GTFS feed, range RAPTOR)"

    def __init__(self, transit: TransitSettings | None = None) -> None:
        self.transit = transit

    def _settings(self, settings: TravelSettings) -> TransitSettings:
        if self.transit is not None:
            return self.transit
        feed, day = settings.transit_feed, settings.transit_day
        if feed is None and getattr(settings, "network", None) == "demo":
            feed = DEMO_FEED
        if feed == DEMO_FEED and day is None:
            from nhc_planner._demo_gtfs import DEMO_TRANSIT_DAY

            day = DEMO_TRANSIT_DAY
        if feed is None or day is None:
            msg = (
                "travel.transit_feed / travel.transit_day: the transit engine needs a GTFS feed "
                f"(zip or folder) and a service date; found feed={feed!r}, day={day!r}"
            )
            raise ScenarioError(msg)
        window = _window(settings.transit_window or "08:00-20:00")
        pct = 50.0 if settings.transit_percentile is None else settings.transit_percentile
        return TransitSettings(str(feed), str(day), window, float(pct))

    def check(self, settings: TravelSettings) -> None:
        """Require a feed that exists and a service date."""
        t = self._settings(settings)
        if t.feed != DEMO_FEED and not Path(t.feed).exists():
            msg = f"travel.transit_feed: {t.feed!r} not found (a GTFS zip or folder)"
            raise ScenarioError(msg)
        try:
            dt.date.fromisoformat(t.day)
        except ValueError as exc:
            msg = f"travel.transit_day: expected YYYY-MM-DD; found {t.day!r}"
            raise ScenarioError(msg) from exc

    def travel_times(
        self,
        areas: pd.DataFrame,
        sites: pd.DataFrame,
        settings: TravelSettings,
        *,
        progress: Progress | None = None,
    ) -> TravelTimes:
        """The percentile travel time of each area-site pair within ``settings.cutoff_min``."""
        self.check(settings)
        if progress is not None:
            progress("public transport times", 0.1)
        return self.result(areas, sites, settings).times

    def result(
        self, areas: pd.DataFrame, sites: pd.DataFrame, settings: TravelSettings
    ) -> TransitResult:
        """The full :class:`TransitResult` (percentile minutes and share within the
        standard for every area and site) under the scenario's ``[travel]`` settings."""
        self.check(settings)
        return transit_times(
            areas,
            sites,
            self._settings(settings),
            standard_min=settings.standard_min,
            cutoff_min=settings.cutoff_min,
            walk_network=getattr(settings, "network", None),
        )
