"""Road networks per travel mode, projected to British National Grid and cached.

:func:`load_network` turns a source into a :class:`RoadNetwork`: a directed
networkx graph in EPSG:27700 whose edges carry ``length`` (metres) and
``travel_time`` (seconds) for one mode, plus a :class:`NetworkReport` of
what was read and what was dropped. Sources:

* OSM PBF (``.osm.pbf``) and OSM XML (``.osm``), read with pyosmium;
* osmnx GraphML (``.graphml``);
* a GeoPackage of OSM ways (``.gpkg``), noded at shared vertices;
* ``"demo"``, the built-in synthetic region's network;
* a networkx graph already in memory (osmnx style: node ``x``/``y``, edge tags);
* :func:`download_network` for a polygon, through osmnx, only when asked.

Modes (see ``docs/travel.md``): ``drive`` uses ``maxspeed`` where tagged,
else :data:`DEFAULT_DRIVE_SPEEDS_KMH` by road class, and respects one-way
streets; ``walk`` (4.8 km/h) and ``cycle`` (15 km/h) use every way open to
them in both directions (cycling respects one-way roads unless
``oneway:bicycle=no``). Only the largest strongly connected component is
kept, so every kept node can reach every other.

Built networks (and their contraction hierarchies) are cached on disk under
``cache_dir`` (default ``$NHC_CACHE_DIR`` or ``~/.cache/nhc-planner``), keyed
by a hash of the source file's bytes and the settings, as checksummed
``.npz`` files that cannot run code (:mod:`nhc_planner._network_cache`); a
damaged entry is discarded with a logged warning and rebuilt.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import importlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, cast, get_args

import networkx as nx
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from pyproj import CRS, Transformer
from scipy.sparse.csgraph import connected_components

from nhc_planner._cache import cache_root
from nhc_planner._errors import (
    CrsError,
    DataFileError,
    NetworkError,
    OfflineError,
    ValueRangeError,
)
from nhc_planner._graph_build import Way, allows, drive_speed_kmh, ways_to_graph
from nhc_planner._http import sha256_file
from nhc_planner._network_cache import load_network_entry, save_network
from nhc_planner.schema import BNG

if TYPE_CHECKING:
    from nhc_planner._hierarchy import Hierarchy

__all__ = [
    "DEFAULT_DRIVE_SPEEDS_KMH",
    "MODES",
    "Mode",
    "NetworkReport",
    "RoadNetwork",
    "Speeds",
    "default_cache_dir",
    "download_network",
    "load_network",
    "network_modes",
    "network_source_names",
    "register_network_source",
]

Mode = Literal["drive", "walk", "cycle"]
MODES: tuple[str, ...] = get_args(Mode)

#: Named network sources ``load_network`` accepts instead of a file: name ->
#: ``"module:function"`` returning the file's path, imported only when used (so
#: this module never imports the demo generator). See :func:`register_network_source`.
_NAMED_SOURCES: dict[str, str | Callable[[], str | os.PathLike[str]]] = {
    "demo": "nhc_planner.demo:demo_network_path",
}


def network_modes() -> tuple[str, ...]:
    """The modes a road network can be built for (``"drive"``, ``"walk"``, ``"cycle"``)."""
    return MODES


def register_network_source(name: str, target: str | Callable[[], str | os.PathLike[str]]) -> None:
    """Let ``load_network(name)`` read the file that ``target`` gives.

    ``target`` is a function returning a path, or ``"module:function"``
    (imported on first use).
    """
    _NAMED_SOURCES[name] = target


def network_source_names() -> tuple[str, ...]:
    """Names ``load_network`` accepts besides files (e.g. ``"demo"``)."""
    return tuple(_NAMED_SOURCES)


#: Default driving speeds (km/h) by OSM ``highway`` class where no ``maxspeed``
#: is tagged: the free-flow speeds of the OSRM car profile (Project-OSRM
#: ``profiles/car.lua``, ``speeds.highway``), which sit below UK speed limits
#: to allow for junctions and bends.
DEFAULT_DRIVE_SPEEDS_KMH: Mapping[str, float] = MappingProxyType(
    {
        "motorway": 90.0,
        "motorway_link": 45.0,
        "trunk": 85.0,
        "trunk_link": 40.0,
        "primary": 65.0,
        "primary_link": 30.0,
        "secondary": 55.0,
        "secondary_link": 25.0,
        "tertiary": 40.0,
        "tertiary_link": 20.0,
        "unclassified": 25.0,
        "residential": 25.0,
        "living_street": 10.0,
        "service": 15.0,
        "road": 25.0,
    }
)

_CACHE_VERSION = "network-v2"
#: Bump when the hierarchy's construction or settings change (stale cache files are ignored).
_HIERARCHY_VERSION = "hierarchy-v3"


@dataclass(frozen=True)
class Speeds:
    """Speed settings for building networks (all km/h).

    Parameters
    ----------
    drive
        Driving speed by ``highway`` class where ``maxspeed`` is not tagged;
        given classes override :data:`DEFAULT_DRIVE_SPEEDS_KMH`, the rest keep it.
    drive_fallback
        Driving speed of a drivable class missing from ``drive``.
    maxspeed_factor
        Multiplier on tagged ``maxspeed`` (1.0 uses the limit as is; the OSRM
        car profile uses 0.8 to allow for traffic).
    walk
        Walking speed: 4.8 km/h (3 mph), the common planning value.
    cycle
        Cycling speed: 15 km/h (an assumption: between the 12 km/h default of
        Conveyal R5 / r5py and typical urban commuter speeds).

    Examples
    --------
    >>> Speeds(drive={"residential": 20}).drive["residential"], Speeds().drive["motorway"]
    (20.0, 90.0)
    """

    drive: Mapping[str, float] = field(default_factory=dict)
    drive_fallback: float = 25.0
    maxspeed_factor: float = 1.0
    walk: float = 4.8
    cycle: float = 15.0

    def __post_init__(self) -> None:
        merged = {**DEFAULT_DRIVE_SPEEDS_KMH, **{k: float(v) for k, v in self.drive.items()}}
        object.__setattr__(self, "drive", merged)
        values = [*merged.values(), self.drive_fallback, self.walk, self.cycle]
        if not all(np.isfinite(values)) or min(values) <= 0 or self.maxspeed_factor <= 0:
            msg = f"speeds must be positive finite km/h; got {self.as_dict()}"
            raise ValueRangeError(msg)

    def as_dict(self) -> dict[str, Any]:
        """Return a plain dict (used in the cache key and reports)."""
        return {
            "drive": dict(sorted(self.drive.items())),
            "drive_fallback": self.drive_fallback,
            "maxspeed_factor": self.maxspeed_factor,
            "walk": self.walk,
            "cycle": self.cycle,
        }

    def speed_of(self, mode: str) -> Any:
        """Return a callable ``tags -> km/h`` for ``mode``."""
        if mode == "walk":
            return lambda tags: self.walk
        if mode == "cycle":
            return lambda tags: self.cycle
        return lambda tags: drive_speed_kmh(
            tags,
            self.drive,
            fallback_kmh=self.drive_fallback,
            maxspeed_factor=self.maxspeed_factor,
        )


@dataclass(frozen=True)
class NetworkReport:
    """What :func:`load_network` read, kept and dropped.

    Attributes
    ----------
    source
        Where the network came from (file path or a label).
    mode
        Travel mode.
    ways_read
        Ways (or lines) with a ``highway`` tag read from the source (0 for graphs).
    ways_used
        Of those, ways the mode may use.
    nodes_before, edges_before
        Graph size before keeping the largest strongly connected component.
    nodes_kept, edges_kept
        Graph size after.
    components
        Number of strongly connected components before clean-up.
    """

    source: str
    mode: str
    ways_read: int
    ways_used: int
    nodes_before: int
    edges_before: int
    nodes_kept: int
    edges_kept: int
    components: int

    @property
    def nodes_dropped(self) -> int:
        """Nodes outside the largest strongly connected component."""
        return self.nodes_before - self.nodes_kept

    @property
    def edges_dropped(self) -> int:
        """Edges outside the largest strongly connected component."""
        return self.edges_before - self.edges_kept

    def summary(self) -> str:
        """One line of plain text."""
        return (
            f"{self.mode} network from {self.source}: {self.nodes_kept:,} nodes, "
            f"{self.edges_kept:,} edges kept; {self.nodes_dropped:,} nodes and "
            f"{self.edges_dropped:,} edges dropped outside the largest strongly connected "
            f"component ({self.components:,} components)"
        )


@dataclass(frozen=True)
class _Arrays:
    node_ids: np.ndarray
    xy: np.ndarray
    seconds: sp.csr_matrix


@dataclass(frozen=True)
class RoadNetwork:
    """A road network for one travel mode, in EPSG:27700.

    Attributes
    ----------
    graph
        ``networkx.MultiDiGraph``; nodes have ``x``, ``y`` (metres), edges
        ``length`` (metres), ``speed_kph`` and ``travel_time`` (seconds).
        Treat as read-only.
    mode
        ``"drive"``, ``"walk"`` or ``"cycle"``.
    source
        Where it came from.
    speeds
        The speed settings used.
    report
        What was read and dropped.
    _cache_file
        The disk-cache file it was read from or written to (None when not
        cached); the hierarchy is cached next to it.
    """

    graph: nx.MultiDiGraph
    mode: str
    source: str
    speeds: Speeds
    report: NetworkReport
    _cache_file: str | None = field(default=None, compare=False, repr=False)

    @cached_property
    def arrays(self) -> _Arrays:
        """Node ids, ``(n, 2)`` coordinates and a CSR matrix of edge seconds.

        Parallel edges keep the fastest. Zero-time edges are stored as 1e-9 s
        so that sparse graph routines keep them as edges.
        """
        g = self.graph
        node_ids = np.fromiter(g.nodes, dtype=object, count=g.number_of_nodes())
        with contextlib.suppress(TypeError, ValueError):
            node_ids = node_ids.astype(np.int64)
        index = {n: i for i, n in enumerate(g.nodes)}
        xy = np.array([(d["x"], d["y"]) for _, d in g.nodes(data=True)], dtype=float)
        m = g.number_of_edges()
        u = np.empty(m, dtype=np.int64)
        v = np.empty(m, dtype=np.int64)
        w = np.empty(m, dtype=float)
        for i, (a, b, t) in enumerate(g.edges(data="travel_time")):
            u[i], v[i], w[i] = index[a], index[b], t
        w = np.maximum(w, 1e-9)
        n = len(node_ids)
        if m:
            # Keep the fastest of parallel edges: sort by weight descending so the
            # last (smallest) wins when duplicates are written into a dict-like COO.
            order = np.lexsort((-w, v, u))
            u, v, w = u[order], v[order], w[order]
            keep = np.ones(m, dtype=bool)
            keep[:-1] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
            u, v, w = u[keep], v[keep], w[keep]
        seconds = sp.csr_matrix((w, (u, v)), shape=(n, n))
        return _Arrays(node_ids=node_ids, xy=xy, seconds=seconds)

    @cached_property
    def hierarchy(self) -> Hierarchy:
        """The contraction hierarchy used for large travel-time matrices.

        Built on first use (seconds to tens of seconds for a county; see
        :mod:`nhc_planner._hierarchy`) and, for networks read from a file, kept
        in the on-disk cache next to the network, so that it is built once
        per network and settings.
        """
        from nhc_planner._hierarchy import build_hierarchy
        from nhc_planner._network_cache import load_hierarchy_entry, save_hierarchy

        sidecar = self._cache_file
        path = (
            Path(sidecar).with_name(f"{Path(sidecar).stem}-{_HIERARCHY_VERSION}.npz")
            if sidecar is not None
            else None
        )
        if path is not None:
            cached = load_hierarchy_entry(path, len(self.arrays.xy))
            if cached is not None:
                return cached
        built = build_hierarchy(self.arrays.seconds)
        if path is not None:
            save_hierarchy(path, built)
        return built

    @cached_property
    def extent(self) -> shapely.Geometry:
        """Convex hull of the nodes (EPSG:27700)."""
        return cast(shapely.Geometry, shapely.convex_hull(shapely.multipoints(self.arrays.xy)))

    def summary(self) -> str:
        """One line of plain text (see :meth:`NetworkReport.summary`)."""
        return self.report.summary()


def default_cache_dir() -> Path:
    """``$NHC_CACHE_DIR`` if set, else ``~/.cache/nhc-planner``."""
    return cache_root()


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        msg = f"mode {mode!r} is not a network mode; expected one of {list(MODES)}"
        raise NetworkError(msg)


def _kind_of(path: Path) -> str:
    name = path.name.lower()
    if name.endswith((".osm.pbf", ".pbf")):
        return "pbf"
    for suffix, kind in (
        (".osm", "osm"),
        (".xml", "osm"),
        (".graphml", "graphml"),
        (".graphml.gz", "graphml"),
    ):
        if name.endswith(suffix):
            return kind
    if name.endswith(".gpkg"):
        return "gpkg"
    msg = (
        f"{path}: unknown network file type; expected .osm.pbf, .osm, .graphml(.gz) or .gpkg "
        "(a GeoPackage of OSM ways with a 'highway' column)"
    )
    raise DataFileError(msg)


def load_network(
    source: str | os.PathLike[str] | nx.MultiDiGraph | RoadNetwork,
    *,
    mode: str = "drive",
    speeds: Speeds | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    use_cache: bool = True,
    split_every_m: float | None = 200.0,
) -> RoadNetwork:
    """Build (or read from cache) the road network of one mode.

    Parameters
    ----------
    source
        A file (``.osm.pbf``, ``.osm``, ``.graphml``, ``.gpkg`` of OSM ways),
        ``"demo"`` for the built-in demo network, an osmnx-style networkx
        graph, or a :class:`RoadNetwork` (returned as is when the mode matches).
    mode
        ``"drive"``, ``"walk"`` or ``"cycle"``.
    speeds
        Speed settings; defaults to :class:`Speeds()`.
    cache_dir
        Where built networks are cached (default :func:`default_cache_dir`).
    use_cache
        Read and write the cache (file sources only).
    split_every_m
        OSM and GeoPackage sources: besides junctions and way ends, make a
        node of the first way vertex past every ``split_every_m`` metres, so
        that points beside long rural roads snap close by (None: junctions
        and ends only, like osmnx's simplified graphs).

    Returns
    -------
    RoadNetwork

    Raises
    ------
    DataFileError
        The file is missing or not a readable network file.
    NetworkError
        The source has no way usable by ``mode`` (e.g. walking on a
        motorway-only network) or the graph is empty.
    CrsError
        A graph without a usable CRS.

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.MultiDiGraph(crs="EPSG:27700")
    >>> g.add_node(1, x=0.0, y=0.0); g.add_node(2, x=480.0, y=0.0)
    >>> g.add_edge(1, 2, highway="residential"); g.add_edge(2, 1, highway="residential")
    0
    0
    >>> net = load_network(g, mode="walk")
    >>> round(net.graph.edges[1, 2, 0]["travel_time"], 6)  # 480 m at 4.8 km/h
    360.0
    """
    _check_mode(mode)
    speeds = speeds or Speeds()
    if isinstance(source, RoadNetwork):
        if source.mode != mode:
            msg = (
                f"network from {source.source} was built for mode {source.mode!r}; "
                f"{mode!r} was asked for. Load it again with mode={mode!r}"
            )
            raise NetworkError(msg)
        return source
    if isinstance(source, nx.Graph):
        return _finish(
            _graph_from_osmnx(source, mode, speeds), mode, "networkx graph", speeds, 0, 0
        )
    if isinstance(source, str) and source in _NAMED_SOURCES:
        source = _named_path(source)
    path = Path(source)
    if not path.is_file():
        msg = f"{path}: network file not found"
        raise DataFileError(msg)
    kind = _kind_of(path)
    cache_file: Path | None = None
    if use_cache:
        key_text = repr(
            (_CACHE_VERSION, sha256_file(path), kind, mode, speeds.as_dict(), split_every_m)
        )
        key = hashlib.sha256(key_text.encode()).hexdigest()[:24]
        folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        cache_file = folder / f"{path.stem.split('.')[0]}-{mode}-{key}.npz"
        cached = load_network_entry(cache_file)  # None if missing, or bad (then discarded)
        if cached is not None:
            # the key is the file's content: name the file asked for now, not the
            # path it had when cached (the object was just rebuilt, so is ours)
            object.__setattr__(cached, "source", str(path))
            object.__setattr__(cached, "_cache_file", str(cache_file))
            return cached
    if kind in ("pbf", "osm"):
        ways, n_read = _read_osm_ways(path)
    elif kind == "gpkg":
        ways, n_read = _read_gpkg_ways(path)
    else:
        ways, n_read = [], 0
    if kind == "graphml":
        import osmnx as ox

        try:
            if path.name.lower().endswith(".gz"):
                with gzip.open(path, "rt", encoding="utf-8") as fh:
                    raw = ox.load_graphml(graphml_str=fh.read())
            else:
                raw = ox.load_graphml(path)
        except Exception as exc:
            msg = f"{path}: not a readable osmnx GraphML file ({exc})"
            raise DataFileError(msg) from exc
        graph = _graph_from_osmnx(raw, mode, speeds, what=str(path))
        net = _finish(graph, mode, str(path), speeds, 0, 0)
    else:
        usable = [w for w in ways if allows(w.tags, mode)]
        graph = ways_to_graph(
            usable,
            mode=mode,
            speed_of=speeds.speed_of(mode),
            crs=BNG,
            split_every_m=split_every_m,
        )
        net = _finish(graph, mode, str(path), speeds, n_read, len(usable))
    if cache_file is not None:
        save_network(cache_file, net)
        object.__setattr__(net, "_cache_file", str(cache_file))
    return net


def download_network(
    polygon: shapely.Polygon | shapely.MultiPolygon,
    *,
    mode: str = "drive",
    crs: str = BNG,
    speeds: Speeds | None = None,
) -> RoadNetwork:
    """Download the OSM network inside ``polygon`` through osmnx (online only).

    Parameters
    ----------
    polygon
        Area to download, in ``crs``.
    mode
        Travel mode.
    crs
        CRS of ``polygon`` (default British National Grid).
    speeds
        Speed settings.

    Raises
    ------
    OfflineError
        The Overpass API cannot be reached.
    """
    _check_mode(mode)
    import osmnx as ox

    shape = _reproject(polygon, Transformer.from_crs(crs, "EPSG:4326", always_xy=True))
    try:
        raw = ox.graph_from_polygon(shape, network_type="all", retain_all=True)
    except Exception as exc:
        msg = f"could not download the OSM network from Overpass ({type(exc).__name__}: {exc})"
        raise OfflineError(msg) from exc
    graph = _graph_from_osmnx(raw, mode, speeds or Speeds(), what="osmnx download")
    return _finish(graph, mode, "osmnx download", speeds or Speeds(), 0, 0)


def _named_path(name: str) -> Path:
    """The file of a named source (see :func:`register_network_source`)."""
    target = _NAMED_SOURCES[name]
    if isinstance(target, str):
        module, _, attr = target.partition(":")
        try:
            target = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            msg = f"network source {name!r}: {target} is not available in this installation"
            raise DataFileError(msg) from exc
    return Path(target())


def _read_osm_ways(path: Path) -> tuple[list[Way], int]:
    import osmium

    to_bng = Transformer.from_crs("EPSG:4326", BNG, always_xy=True)
    ways: list[Way] = []
    try:
        fp = (
            osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
            .with_locations()
            .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
            .with_filter(osmium.filter.KeyFilter("highway"))
        )
        raw: list[tuple[int, list[int], list[float], list[float], dict[str, str]]] = []
        for way in fp:
            if not isinstance(way, osmium.osm.Way):
                continue
            refs, lons, lats = [], [], []
            for nd in way.nodes:
                if not nd.location.valid():
                    continue
                refs.append(nd.ref)
                lons.append(nd.lon)
                lats.append(nd.lat)
            raw.append((way.id, refs, lons, lats, dict(way.tags)))
    except RuntimeError as exc:
        msg = f"{path}: not a readable OSM file ({exc})"
        raise DataFileError(msg) from exc
    if raw:
        lon = np.concatenate([np.asarray(r[2], dtype=float) for r in raw])
        lat = np.concatenate([np.asarray(r[3], dtype=float) for r in raw])
        x, y = to_bng.transform(lon, lat)
        pos = 0
        for osmid, refs, _, _, tags in raw:
            n = len(refs)
            xy = np.column_stack([x[pos : pos + n], y[pos : pos + n]])
            ways.append(Way(np.asarray(refs, dtype=np.int64), xy, tags, osmid))
            pos += n
    return ways, len(raw)


def _read_gpkg_ways(path: Path) -> tuple[list[Way], int]:
    import geopandas as gpd

    try:
        frame = gpd.read_file(path)
    except Exception as exc:
        msg = f"{path}: not a readable GeoPackage ({exc})"
        raise DataFileError(msg) from exc
    if "highway" not in frame.columns:
        msg = f"{path}: no 'highway' column; expected OSM ways with their tags as columns"
        raise DataFileError(msg)
    if frame.crs is None:
        msg = f"{path}: no CRS set on the ways"
        raise CrsError(msg)
    frame = frame[frame["highway"].notna() & frame.geometry.notna()].to_crs(BNG)
    parts = frame.explode(index_parts=False)
    parts = parts[parts.geometry.geom_type == "LineString"]
    coords, line_index = shapely.get_coordinates(parts.geometry.to_numpy(), return_index=True)
    coords = coords[:, :2]
    # Node identity: coordinates rounded to the centimetre (shared OSM vertices
    # project to identical coordinates).
    grid = np.round(coords * 100).astype(np.int64)
    _, key = np.unique(grid, axis=0, return_inverse=True)
    key = key.ravel().astype(np.int64)
    splits = np.flatnonzero(np.diff(line_index)) + 1
    tag_cols = [c for c in parts.columns if c != parts.geometry.name]
    records = parts[tag_cols].to_dict("records")
    ids = parts["osm_id"] if "osm_id" in parts.columns else pd.Series(0, index=parts.index)
    ways = []
    for rec, k, xy, osmid in zip(
        records, np.split(key, splits), np.split(coords, splits), ids, strict=True
    ):
        tags = {c: v for c, v in rec.items() if v is not None and not _isnan(v)}
        ways.append(Way(k, xy, tags, _int_or_zero(osmid)))
    return ways, len(frame)


_DECIDING_TAGS = (
    "highway",
    "access",
    "foot",
    "bicycle",
    "motor_vehicle",
    "motorcar",
    "area",
    "maxspeed",
    "speed_kph",
)


def _reproject(geom: Any, transformer: Transformer) -> Any:
    """Return ``geom`` with its coordinates transformed (pyproj, x/y order)."""

    def move(coords: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geom, move)


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _positive(value: Any) -> bool:
    try:
        return float(value) > 0
    except (TypeError, ValueError):
        return False


def _isnan(value: Any) -> bool:
    return isinstance(value, float) and np.isnan(value)


def _float_or_zero(value: Any) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return 0.0
    return out if np.isfinite(out) else 0.0


def _int_or_zero(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _graph_from_osmnx(
    raw: nx.Graph, mode: str, speeds: Speeds, *, what: str = "networkx graph"
) -> nx.MultiDiGraph:
    """Convert an osmnx-style graph to a mode graph in EPSG:27700."""
    crs_text = raw.graph.get("crs")
    if crs_text is None:
        msg = f"{what}: graph has no 'crs' attribute; expected an osmnx graph (EPSG:4326 or 27700)"
        raise CrsError(msg)
    try:
        crs = CRS.from_user_input(crs_text)
    except Exception as exc:
        msg = f"{what}: graph CRS {crs_text!r} is not understood"
        raise CrsError(msg) from exc
    if crs.is_geographic or crs.to_epsg() != 27700:
        transformer: Transformer | None = Transformer.from_crs(crs, BNG, always_xy=True)
    else:
        transformer = None
    if raw.number_of_nodes() and any("x" not in d or "y" not in d for _, d in raw.nodes(data=True)):
        msg = f"{what}: every node needs 'x' and 'y' coordinates"
        raise NetworkError(msg)
    ids = list(raw.nodes)
    x = np.array([raw.nodes[n]["x"] for n in ids], dtype=float)
    y = np.array([raw.nodes[n]["y"] for n in ids], dtype=float)
    if transformer is not None and len(ids):
        x, y = transformer.transform(x, y)
    pos = {n: (float(a), float(b)) for n, a, b in zip(ids, x, y, strict=True)}
    speed_of = speeds.speed_of(mode)
    graph = nx.MultiDiGraph(crs=BNG)
    graph.add_nodes_from((n, {"x": pos[n][0], "y": pos[n][1]}) for n in ids)
    # An undirected graph has no one-way streets: every edge is added both ways.
    directed = raw.is_directed()
    edges = []
    # Access and speed depend only on a few tags: decide once per distinct combination.
    memo: dict[tuple[Any, ...], tuple[bool, float]] = {}
    for u, v, data in raw.edges(data=True):
        signature = tuple(_hashable(data.get(t)) for t in _DECIDING_TAGS)
        decided = memo.get(signature)
        if decided is None:
            tags = {t: data[t] for t in _DECIDING_TAGS if t in data}
            tags.setdefault("highway", "road")
            if mode == "drive" and _positive(data.get("speed_kph")):
                kmh = float(data["speed_kph"])
            else:
                kmh = float(speed_of(tags))
            decided = memo[signature] = (allows(tags, mode), kmh)
        ok, kmh = decided
        if not ok:
            continue
        geom = data.get("geometry")
        if geom is not None:
            if transformer is not None:
                geom = _reproject(geom, transformer)
            length = float(geom.length)
        else:
            # No geometry: the straight line between the ends, never shorter than it.
            (x0, y0), (x1, y1) = pos[u], pos[v]
            length = max(float(np.hypot(x1 - x0, y1 - y0)), _float_or_zero(data.get("length")))
        attrs = {
            "osmid": data.get("osmid", 0),
            "highway": str(data.get("highway", "road")),
            "length": length,
            "speed_kph": kmh,
            "travel_time": length / (kmh / 3.6),
        }
        if geom is not None:
            attrs["geometry"] = geom
        edges.append((u, v, attrs))
        if mode == "walk" or not directed:
            back = {**attrs, "geometry": geom.reverse()} if geom is not None else attrs
            edges.append((v, u, back))
    graph.add_edges_from(edges)
    return graph


def _finish(
    graph: nx.MultiDiGraph, mode: str, source: str, speeds: Speeds, n_read: int, n_used: int
) -> RoadNetwork:
    """Keep the largest strongly connected component and wrap the result."""
    n0, m0 = graph.number_of_nodes(), graph.number_of_edges()
    if n0 == 0 or m0 == 0:
        msg = (
            f"{source}: no {mode} network ({n_read} highway ways read, {n_used} usable by "
            f"{mode}, {n0} nodes, {m0} edges); check the file covers the area and that the "
            f"mode can use its roads (e.g. walking is not allowed on motorways)"
        )
        raise NetworkError(msg)
    nodes = list(graph.nodes)
    index = {n: i for i, n in enumerate(nodes)}
    u = np.fromiter((index[a] for a, _ in graph.edges()), dtype=np.int64, count=m0)
    v = np.fromiter((index[b] for _, b in graph.edges()), dtype=np.int64, count=m0)
    adj = sp.csr_matrix((np.ones(m0), (u, v)), shape=(n0, n0))
    n_comp, labels = connected_components(adj, directed=True, connection="strong")
    if n_comp > 1:
        largest = np.bincount(labels).argmax()
        keep = [nodes[i] for i in np.flatnonzero(labels == largest)]
        graph = nx.MultiDiGraph(graph.subgraph(keep))
    if graph.number_of_edges() == 0:
        msg = (
            f"{source}: the {mode} network has no strongly connected part with an edge "
            f"({n0} nodes, {m0} edges, {n_comp} components); it cannot route any trip"
        )
        raise NetworkError(msg)
    report = NetworkReport(
        source=source,
        mode=mode,
        ways_read=n_read,
        ways_used=n_used,
        nodes_before=n0,
        edges_before=m0,
        nodes_kept=graph.number_of_nodes(),
        edges_kept=graph.number_of_edges(),
        components=int(n_comp),
    )
    return RoadNetwork(graph=graph, mode=mode, source=source, speeds=speeds, report=report)
