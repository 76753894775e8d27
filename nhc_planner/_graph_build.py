"""Private: OSM tags -> per-mode access, direction and speed; ways -> a noded graph.

Everything here works on plain arrays and tag dicts so that every source
(OSM PBF/XML via pyosmium, GeoPackages of OSM ways, osmnx graphs) shares one
set of rules. The public entry point is :func:`nhc_planner.network.load_network`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
import shapely

from nhc_planner._errors import ValueRangeError

__all__ = [
    "Way",
    "allows",
    "direction",
    "drive_speed_kmh",
    "highway_class",
    "parse_maxspeed_kmh",
    "ways_to_graph",
]

MPH = 1.609344

# Road classes each mode may use. Motorways are never walkable or cyclable.
DRIVE_CLASSES = frozenset(
    {
        "motorway",
        "motorway_link",
        "trunk",
        "trunk_link",
        "primary",
        "primary_link",
        "secondary",
        "secondary_link",
        "tertiary",
        "tertiary_link",
        "unclassified",
        "residential",
        "living_street",
        "service",
        "road",
    }
)
_GENERAL_ROADS = DRIVE_CLASSES - {"motorway", "motorway_link"}
WALK_CLASSES = _GENERAL_ROADS | {
    "footway",
    "path",
    "pedestrian",
    "steps",
    "track",
    "bridleway",
    "cycleway",
    "corridor",
    "crossing",
}
CYCLE_CLASSES = _GENERAL_ROADS | {"cycleway", "path", "track", "bridleway"}
# Classes open to cyclists only when tagged bicycle=yes/designated/permissive.
CYCLE_IF_TAGGED = frozenset({"footway", "pedestrian", "crossing", "corridor"})

_YES = frozenset({"yes", "designated", "permissive", "destination", "official"})
_NO_ACCESS = frozenset({"no", "private"})

# UK maxspeed keywords (OSM wiki "Key:maxspeed", United Kingdom section).
_MAXSPEED_WORDS_MPH = {
    "gb:nsl_single": 60.0,
    "uk:nsl_single": 60.0,
    "gb:nsl_dual": 70.0,
    "uk:nsl_dual": 70.0,
    "gb:motorway": 70.0,
    "uk:motorway": 70.0,
    "gb:nsl_restricted": 30.0,
    "uk:nsl_restricted": 30.0,
    "gb:urban": 30.0,
    "uk:urban": 30.0,
    "gb:rural": 60.0,
    "uk:rural": 60.0,
}
_NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(mph|km/h|kmh|kph)?\s*$")


@dataclass(frozen=True)
class Way:
    """One OSM way (or one line of a GeoPackage) ready for noding.

    Attributes
    ----------
    keys
        Node identity per vertex: OSM node ids, or integer keys of rounded
        coordinates when the source has no node ids.
    xy
        ``(n, 2)`` vertex coordinates in EPSG:27700 metres.
    tags
        OSM tags (``highway``, ``oneway``, ``maxspeed``, ``foot``, ...).
    osmid
        The OSM way id (0 when unknown).
    """

    keys: np.ndarray
    xy: np.ndarray
    tags: Mapping[str, Any]
    osmid: int = 0


def _tag(tags: Mapping[str, Any], key: str) -> str:
    value = tags.get(key)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, list | tuple):
        value = value[0] if value else ""
    return str(value).strip().lower()


def highway_class(tags: Mapping[str, Any]) -> str:
    """Return the way's ``highway`` value (first of a list), lower case, or ``""``."""
    return _tag(tags, "highway")


def allows(tags: Mapping[str, Any], mode: str) -> bool:
    """Whether a way with these tags can be used by ``mode``.

    Rules: the ``highway`` class must be in the mode's class set;
    ``access=no/private`` closes a way unless the mode's own key
    (``motor_vehicle``/``motorcar``, ``foot``, ``bicycle``) re-opens it;
    the mode's own key set to ``no`` closes it; areas (``area=yes``) are
    not drivable. Footways and pedestrian streets are cyclable only when
    tagged ``bicycle=yes/designated/permissive``.

    Examples
    --------
    >>> allows({"highway": "footway"}, "walk"), allows({"highway": "footway"}, "drive")
    (True, False)
    >>> allows({"highway": "motorway"}, "walk")
    False
    """
    hw = highway_class(tags)
    access = _tag(tags, "access")
    if mode == "drive":
        if hw not in DRIVE_CLASSES or _tag(tags, "area") == "yes":
            return False
        own = _tag(tags, "motor_vehicle") or _tag(tags, "motorcar")
        if own == "no":
            return False
        return not (access in _NO_ACCESS and own not in _YES)
    if mode == "walk":
        own = _tag(tags, "foot")
        if hw not in WALK_CLASSES or own == "no":
            return False
        return not (access in _NO_ACCESS and own not in _YES)
    if mode == "cycle":
        own = _tag(tags, "bicycle")
        if own in ("no", "dismount"):
            return False
        if hw in CYCLE_IF_TAGGED:
            return own in _YES
        if hw not in CYCLE_CLASSES:
            return False
        return not (access in _NO_ACCESS and own not in _YES)
    msg = f"unknown mode {mode!r}; expected one of ['drive', 'walk', 'cycle']"
    raise ValueRangeError(msg)


def direction(tags: Mapping[str, Any], mode: str) -> int:
    """Allowed direction along the way: 1 forward only, -1 backward only, 0 both.

    Walking is always both ways. Driving respects ``oneway`` (``yes``,
    ``true``, ``1``, ``-1``, ``reverse``), roundabouts and motorways (implied
    one-way in OSM). Cycling respects ``oneway`` unless ``oneway:bicycle=no``.

    Examples
    --------
    >>> direction({"highway": "residential", "oneway": "yes"}, "drive")
    1
    >>> direction({"highway": "residential", "oneway": "yes"}, "walk")
    0
    """
    if mode == "walk":
        return 0
    oneway = _tag(tags, "oneway")
    if mode == "cycle" and _tag(tags, "oneway:bicycle") == "no":
        return 0
    if oneway in ("-1", "reverse"):
        return -1
    if oneway in ("yes", "true", "1"):
        return 1
    if oneway in ("no", "false", "0"):
        return 0
    if _tag(tags, "junction") in ("roundabout", "circular"):
        return 1
    if mode == "drive" and highway_class(tags) == "motorway":
        return 1
    return 0


def parse_maxspeed_kmh(value: Any) -> float | None:
    """Parse an OSM ``maxspeed`` value into km/h, or None when unusable.

    Handles numbers (km/h), ``"30 mph"``, UK keywords (``"national"`` is
    ambiguous and yields None so the road-class default applies;
    ``"GB:nsl_single"`` is 60 mph, ``"GB:nsl_dual"`` 70 mph, ...), lists
    and ``";"``-separated values (their mean, as osmnx does).

    Examples
    --------
    >>> round(parse_maxspeed_kmh("30 mph"), 2)
    48.28
    >>> parse_maxspeed_kmh("50")
    50.0
    >>> round(parse_maxspeed_kmh(["20 mph", "30 mph"]), 2)
    40.23
    >>> parse_maxspeed_kmh("national") is None
    True
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, int | float):
        return float(value) if value > 0 else None
    parts: Sequence[Any]
    if isinstance(value, list | tuple):
        parts = value
    else:
        text = str(value).strip()
        if text.startswith("[") and text.endswith("]"):  # a list written to GraphML
            text = text[1:-1].replace("'", "").replace('"', "")
            parts = text.split(",")
        else:
            parts = text.split(";")
    speeds: list[float] = []
    for part in parts:
        text = str(part).strip().lower()
        if text in _MAXSPEED_WORDS_MPH:
            speeds.append(_MAXSPEED_WORDS_MPH[text] * MPH)
            continue
        m = _NUMBER.match(text)
        if m is None:
            continue
        number = float(m.group(1))
        if number <= 0:
            continue
        speeds.append(number * MPH if m.group(2) == "mph" else number)
    if not speeds:
        return None
    return float(np.mean(speeds))


def drive_speed_kmh(
    tags: Mapping[str, Any],
    defaults: Mapping[str, float],
    *,
    fallback_kmh: float,
    maxspeed_factor: float,
) -> float:
    """Driving speed for a way: tagged ``maxspeed`` x factor, else the class default."""
    tagged = parse_maxspeed_kmh(tags.get("maxspeed"))
    if tagged is not None:
        return tagged * maxspeed_factor
    return float(defaults.get(highway_class(tags), fallback_kmh))


def ways_to_graph(
    ways: Sequence[Way],
    *,
    mode: str,
    speed_of: Any,
    crs: str,
    split_every_m: float | None = None,
) -> nx.MultiDiGraph:
    """Node ways at shared vertices and return a directed graph for ``mode``.

    A vertex becomes a graph node when it is a way's end, or when its key is
    used more than once (by two ways, or twice by one looping way). Each
    way is cut at those nodes; each piece becomes one edge (or two, for a
    two-way street) with ``length`` (metres along the geometry),
    ``speed_kph``, ``travel_time`` (seconds) and a LineString ``geometry``.
    Crossing lines without a shared vertex (bridges, tunnels) stay apart.

    Parameters
    ----------
    ways
        Ways already filtered to those ``mode`` may use.
    mode
        ``"drive"``, ``"walk"`` or ``"cycle"`` (decides one-way handling).
    speed_of
        Callable ``tags -> km/h``.
    crs
        CRS of the coordinates (stored as ``graph["crs"]``).
    split_every_m
        Also make a node of the first vertex past every ``split_every_m``
        metres along a way (None: junctions and ends only).
    """
    graph = nx.MultiDiGraph(crs=crs)
    ways = [w for w in ways if len(w.keys) >= 2]
    if not ways:
        return graph
    sizes = np.array([len(w.keys) for w in ways])
    keys = np.concatenate([np.asarray(w.keys, dtype=np.int64) for w in ways])
    xy = np.concatenate([np.asarray(w.xy, dtype=float) for w in ways])
    way_of = np.repeat(np.arange(len(ways)), sizes)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    ends = starts + sizes - 1
    uniq, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    is_node = counts[inverse] > 1
    is_node[starts] = True
    is_node[ends] = True
    # Segment lengths between consecutive vertices of the same way.
    seg = np.zeros(len(keys))
    seg[1:] = np.hypot(*(xy[1:] - xy[:-1]).T)
    seg[starts] = 0.0
    cum = np.cumsum(seg)
    if split_every_m is not None and split_every_m > 0:
        # Also cut at the first vertex past every split_every_m metres along the
        # way, so that points beside long roads snap to a node near them.
        along = cum - np.repeat(cum[starts], sizes)
        step = np.floor(along / split_every_m)
        crossed = np.zeros(len(keys), dtype=bool)
        crossed[1:] = step[1:] > step[:-1]
        crossed[starts] = False
        is_node |= crossed
    # Coordinates of each node: the first vertex carrying that key.
    first = np.full(len(uniq), -1)
    order = np.arange(len(keys))[::-1]
    first[inverse[order]] = order
    node_idx = np.flatnonzero(is_node)
    used = np.unique(inverse[node_idx])
    graph.add_nodes_from(
        (int(uniq[k]), {"x": float(xy[first[k], 0]), "y": float(xy[first[k], 1])}) for k in used
    )
    # Pieces: consecutive node positions within the same way.
    a = node_idx[:-1]
    b = node_idx[1:]
    same = way_of[a] == way_of[b]
    a, b = a[same], b[same]
    lengths = cum[b] - cum[a]
    piece_sizes = b - a + 1
    vert = np.concatenate([np.arange(i, j + 1) for i, j in zip(a, b, strict=True)])
    geoms = shapely.linestrings(xy[vert], indices=np.repeat(np.arange(len(a)), piece_sizes))
    speeds = [float(speed_of(w.tags)) for w in ways]
    dirs = [direction(w.tags, mode) for w in ways]
    edges = []
    for i in range(len(a)):
        w = int(way_of[a[i]])
        way = ways[w]
        u, v = int(keys[a[i]]), int(keys[b[i]])
        kmh = speeds[w]
        seconds = float(lengths[i]) / (kmh / 3.6)
        attrs = {
            "osmid": way.osmid,
            "highway": highway_class(way.tags),
            "length": float(lengths[i]),
            "speed_kph": kmh,
            "travel_time": seconds,
            "geometry": geoms[i],
        }
        if "maxspeed" in way.tags and _tag(way.tags, "maxspeed"):
            attrs["maxspeed"] = str(way.tags["maxspeed"])
        name = _tag(way.tags, "name")
        if name:
            attrs["name"] = str(way.tags["name"])
        d = dirs[w]
        attrs["oneway"] = d != 0
        if d >= 0:
            edges.append((u, v, attrs))
        if d <= 0:
            edges.append((v, u, {**attrs, "geometry": geoms[i].reverse()}))
    graph.add_edges_from(edges)
    return graph
