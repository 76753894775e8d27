"""Travel times from every area's demand point to every site, per mode.

Every way of getting them is a *travel engine* registered by name
(:mod:`.engines`); ``scenario.travel.engine`` picks one (``"auto"`` by
default) and :func:`engine_for` resolves it. The built-in engines:

``"straight_line"`` (:mod:`.straight`)
    Crow-fly distance x a circuity factor / a mode speed
    (:data:`CIRCUITY`, :data:`STRAIGHT_LINE_SPEED_KMH`); no network needed.
``"road"`` (:mod:`.road`)
    :func:`travel_times` on a :class:`~nhc_planner.network.RoadNetwork`:
    snapping, access legs, exact routing (:func:`network_seconds`, scipy's
    Dijkstra or the contraction hierarchy) and a flagged straight-line
    fallback for points far from the network.
``"matrix"`` (:mod:`.matrix`)
    A precomputed ``area_code, site_id, minutes`` file (CSV or Parquet), or a
    published LSOA-to-LSOA matrix (:mod:`.lsoa_matrix`).
``"transit"`` (:mod:`.transit`)
    Range RAPTOR on a GTFS timetable.
``"mixed"`` (:mod:`.mixed`)
    Households with a car by drive time, without one by bus or on foot
    (Census 2021 TS045 shares); :class:`MixedTravelTimes`.

Each returns :class:`TravelTimes`, a long table ``area_code, site_id, mode,
minutes, method``. Pairs that are unreachable or beyond the cutoff are
**absent** from the long table; :meth:`TravelTimes.matrix` gives them
``np.inf``. :func:`isochrone` gives the areas within 10/15/20/30 minutes of a
site and polygons for the map.

A new engine (e.g. public transport) is a class with ``name``, ``modes``,
``label`` and ``travel_times(areas, sites, settings, *, progress=None)``,
decorated with :func:`register_engine`; the scenario, the plan and the app
then offer it with no other change (see ``docs/architecture.md``).
"""

from __future__ import annotations

from nhc_planner.travel._times import _METHODS, METHODS, TravelTimes
from nhc_planner.travel.engines import (
    AUTO,
    Progress,
    TravelEngine,
    check_travel_settings,
    engine_for,
    engine_label,
    engine_names,
    engines_for_mode,
    get_engine,
    mode_label,
    register_engine,
    resolve_engine_name,
    travel_modes,
    unregister_engine,
)
from nhc_planner.travel.isochrones import Isochrones, isochrone
from nhc_planner.travel.matrix import MATRIX_COLUMNS, MatrixEngine, matrix_times, read_travel_matrix
from nhc_planner.travel.mixed import MixedEngine, MixedTravelTimes
from nhc_planner.travel.road import RoadEngine, SnapWarning, travel_times
from nhc_planner.travel.routing import (
    ENGINES,
    HIERARCHY_MIN_NODES,
    HIERARCHY_MIN_SOURCES,
    _use_hierarchy,
    network_seconds,
)
from nhc_planner.travel.straight import (
    CIRCUITY,
    STRAIGHT_LINE_SPEED_KMH,
    StraightLineEngine,
    straight_line_times,
)
from nhc_planner.travel.transit import TransitEngine

__all__ = [
    "AUTO",
    "CIRCUITY",
    "ENGINES",
    "HIERARCHY_MIN_NODES",
    "HIERARCHY_MIN_SOURCES",
    "MATRIX_COLUMNS",
    "METHODS",
    "STRAIGHT_LINE_SPEED_KMH",
    "Isochrones",
    "MatrixEngine",
    "MixedEngine",
    "MixedTravelTimes",
    "Progress",
    "RoadEngine",
    "SnapWarning",
    "StraightLineEngine",
    "TransitEngine",
    "TravelEngine",
    "TravelTimes",
    "check_travel_settings",
    "engine_for",
    "engine_label",
    "engine_names",
    "engines_for_mode",
    "get_engine",
    "isochrone",
    "matrix_times",
    "mode_label",
    "network_seconds",
    "read_travel_matrix",
    "register_engine",
    "resolve_engine_name",
    "straight_line_times",
    "travel_modes",
    "travel_times",
    "unregister_engine",
]

# Names the old single module had (tests and benchmarks import them).
_PRIVATE = (_METHODS, _use_hierarchy)
