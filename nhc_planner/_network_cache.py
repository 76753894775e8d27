"""Road networks and contraction hierarchies as plain arrays, for the on-disk cache.

:func:`save_network` / :func:`load_network_entry` store a
:class:`~nhc_planner.network.RoadNetwork` as a checksummed ``.npz``
(:mod:`nhc_planner._npz`): node ids and coordinates, edge ends, keys and
numeric attributes as arrays, edge geometries as WKB, other edge attributes
(``osmid``, ``highway``, ``name``...) as JSON text. Rebuilding gives the same
graph: nodes and edges in the same order with the same attributes.
:func:`save_hierarchy` / :func:`load_hierarchy_entry` do the same for a
:class:`~nhc_planner._hierarchy.Hierarchy` and check its structure (pointers
monotone, indices in range, weights finite), so that even a crafted entry
with a valid checksum cannot make the compiled searches read out of bounds.

Bad entries are discarded with a logged warning and rebuilt by the caller
(``None`` is returned).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np
import shapely

from nhc_planner._errors import CorruptFileError
from nhc_planner._npz import discard, load_or_none, save_npz

if TYPE_CHECKING:
    from nhc_planner._hierarchy import Hierarchy
    from nhc_planner.network import RoadNetwork

__all__ = ["load_hierarchy_entry", "load_network_entry", "save_hierarchy", "save_network"]

_FLOATS = ("length", "speed_kph", "travel_time")


def _plain(value: Any) -> Any:
    """JSON fallback for NumPy scalars and other values (written as text)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    return str(value)


def _ids(values: list[Any], name: str) -> tuple[dict[str, np.ndarray], Any]:
    """Integers as an int64 array, anything else as a JSON list in meta."""
    if all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in values):
        return {name: np.asarray(values, dtype=np.int64)}, None
    return {}, json.loads(json.dumps(values, default=_plain))


def save_network(path: Path, net: RoadNetwork) -> None:
    """Write ``net`` to ``path`` (npz, no pickle, checksummed, atomic)."""
    g = net.graph
    nodes = list(g.nodes)
    index = {n: i for i, n in enumerate(nodes)}
    arrays, node_json = _ids(nodes, "node_ids")
    node_data = [d for _, d in g.nodes(data=True)]
    arrays["x"] = np.asarray([d["x"] for d in node_data], dtype=float)
    arrays["y"] = np.asarray([d["y"] for d in node_data], dtype=float)
    node_extra = [{k: v for k, v in d.items() if k not in ("x", "y")} for d in node_data]
    edges = list(g.edges(keys=True, data=True))
    arrays["u"] = np.asarray([index[e[0]] for e in edges], dtype=np.int64)
    arrays["v"] = np.asarray([index[e[1]] for e in edges], dtype=np.int64)
    key_arrays, key_json = _ids([e[2] for e in edges], "keys")
    arrays.update(key_arrays)
    floats = [
        k
        for k in _FLOATS
        if all(
            isinstance(e[3].get(k), float | int) and not isinstance(e[3].get(k), bool)
            for e in edges
        )
    ]
    for k in floats:
        arrays[f"edge_{k}"] = np.asarray([e[3][k] for e in edges], dtype=float)
    geoms = [e[3].get("geometry") for e in edges]
    has_geom = np.asarray([geom is not None for geom in geoms], dtype=bool)
    wkb = shapely.to_wkb(np.asarray([gm for gm in geoms if gm is not None], dtype=object))
    sizes = np.asarray([len(b) for b in wkb], dtype=np.int64)
    arrays["geom_present"] = has_geom
    arrays["geom_offsets"] = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    arrays["geom_bytes"] = np.frombuffer(b"".join(wkb), dtype=np.uint8)
    skip = {"geometry", *floats}
    extra = [{k: v for k, v in e[3].items() if k not in skip} for e in edges]
    text = json.dumps(
        {"edges": extra, "nodes": node_extra if any(node_extra) else None},
        default=_plain,
        separators=(",", ":"),
    ).encode("utf-8")
    arrays["attrs_json"] = np.frombuffer(text, dtype=np.uint8)
    meta = {
        "kind": "road network",
        "mode": net.mode,
        "source": net.source,
        "speeds": net.speeds.as_dict(),
        "report": asdict(net.report),
        "graph": json.loads(json.dumps(dict(g.graph), default=_plain)),
        "node_ids": node_json,
        "keys": key_json,
        "floats": floats,
    }
    save_npz(path, arrays, meta)


def _network_from(arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> RoadNetwork:
    from nhc_planner.network import NetworkReport, RoadNetwork, Speeds

    nodes = meta["node_ids"] if meta["node_ids"] is not None else arrays["node_ids"].tolist()
    x, y = arrays["x"], arrays["y"]
    u, v = arrays["u"], arrays["v"]
    n, m = len(nodes), len(u)
    if (
        len(x) != n
        or len(y) != n
        or len(v) != m
        or (m and (min(u.min(), v.min()) < 0 or max(u.max(), v.max()) >= n))
    ):
        msg = "node or edge arrays do not fit together"
        raise CorruptFileError(msg)
    keys = meta["keys"] if meta["keys"] is not None else arrays["keys"].tolist()
    attrs = json.loads(arrays["attrs_json"].tobytes().decode("utf-8"))
    extra, node_extra = attrs["edges"], attrs["nodes"]
    present = arrays["geom_present"]
    offsets = arrays["geom_offsets"]
    raw = arrays["geom_bytes"].tobytes()
    if len(keys) != m or len(extra) != m or len(present) != m or len(offsets) != present.sum() + 1:
        msg = "edge attribute arrays do not fit together"
        raise CorruptFileError(msg)
    blobs = [raw[offsets[i] : offsets[i + 1]] for i in range(len(offsets) - 1)]
    geoms: Any = iter(shapely.from_wkb(np.asarray(blobs, dtype=object)) if blobs else [])
    floats = {k: arrays[f"edge_{k}"] for k in meta["floats"]}
    graph = nx.MultiDiGraph(**meta["graph"])
    graph.add_nodes_from(
        (
            nodes[i],
            {"x": float(x[i]), "y": float(y[i]), **(node_extra[i] if node_extra else {})},
        )
        for i in range(n)
    )
    edges = []
    for i in range(m):
        data = dict(extra[i])
        for k, col in floats.items():
            data[k] = float(col[i])
        if present[i]:
            data["geometry"] = next(geoms)
        edges.append((nodes[u[i]], nodes[v[i]], keys[i], data))
    graph.add_edges_from(edges)
    report = NetworkReport(**meta["report"])
    sp = meta["speeds"]
    speeds = Speeds(
        drive=sp["drive"],
        drive_fallback=sp["drive_fallback"],
        maxspeed_factor=sp["maxspeed_factor"],
        walk=sp["walk"],
        cycle=sp["cycle"],
    )
    return RoadNetwork(
        graph=graph,
        mode=str(meta["mode"]),
        source=str(meta["source"]),
        speeds=speeds,
        report=report,
    )


def load_network_entry(path: Path) -> RoadNetwork | None:
    """The cached network at ``path``, or None (missing; or bad: discarded with a warning)."""
    entry = load_or_none(path, "road network")
    if entry is None:
        return None
    try:
        return _network_from(*entry)
    except Exception as exc:  # a well-formed npz holding something else
        discard(path, "road network", f"{path}: {type(exc).__name__}: {exc}")
        return None


# --------------------------------------------------------------------------- hierarchy

#: Arrays of a hierarchy and the dtypes :func:`~nhc_planner._hierarchy.build_hierarchy` gives
#: them (the compiled searches are built for these; an entry with others is discarded).
_H_DTYPES = {
    "fwd_ptr": np.dtype(np.int64),
    "fwd_to": np.dtype(np.int32),
    "fwd_w": np.dtype(np.float64),
    "bwd_ptr": np.dtype(np.int64),
    "bwd_to": np.dtype(np.int32),
    "bwd_w": np.dtype(np.float64),
    "expand": np.dtype(np.uint8),
    "label": np.dtype(np.int64),
}
_H_ARRAYS = tuple(_H_DTYPES)


def save_hierarchy(path: Path, h: Hierarchy) -> None:
    """Write ``h`` to ``path`` (npz, no pickle, checksummed, atomic)."""
    arrays = {name: getattr(h, name) for name in _H_ARRAYS}
    meta = {
        "kind": "contraction hierarchy",
        "n_shortcuts": int(h.n_shortcuts),
        "build_seconds": float(h.build_seconds),
    }
    save_npz(path, arrays, meta)


def _check_csr(ptr: np.ndarray, to: np.ndarray, w: np.ndarray, n: int, name: str) -> None:
    ok = (
        ptr.ndim == 1
        and len(ptr) == n + 1
        and ptr[0] == 0
        and ptr[-1] == len(to) == len(w)
        and bool(np.all(np.diff(ptr) >= 0))
        and (len(to) == 0 or (to.min() >= 0 and to.max() < n))
        and bool(np.all(np.isfinite(w)))
        and (len(w) == 0 or w.min() >= 0)
    )
    if not ok:
        msg = f"{name} graph is not a valid CSR graph of {n} nodes"
        raise CorruptFileError(msg)


def _hierarchy_from(arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> Hierarchy:
    from nhc_planner._hierarchy import Hierarchy

    # the exact dtypes the compiled searches were built for
    built = Hierarchy(
        **{name: arrays[name] for name in _H_ARRAYS},
        n_shortcuts=int(meta["n_shortcuts"]),
        build_seconds=float(meta["build_seconds"]),
    )
    n = len(built.expand)
    _check_csr(built.fwd_ptr, built.fwd_to, built.fwd_w, n, "forward")
    _check_csr(built.bwd_ptr, built.bwd_to, built.bwd_w, n, "backward")
    label = built.label
    if len(label) != n or not np.array_equal(np.sort(label), np.arange(n)):
        msg = "node labels are not a permutation of the nodes"
        raise CorruptFileError(msg)
    return built


def load_hierarchy_entry(path: Path, n_nodes: int) -> Hierarchy | None:
    """The cached hierarchy at ``path`` if it is whole and has ``n_nodes`` nodes, else None."""
    entry = load_or_none(path, "contraction hierarchy")
    if entry is None:
        return None
    arrays, meta = entry
    try:
        for name in _H_ARRAYS:
            if arrays[name].dtype != _H_DTYPES[name] or arrays[name].ndim != 1:
                msg = f"array {name} has dtype {arrays[name].dtype}, expected {_H_DTYPES[name]}"
                raise CorruptFileError(msg)
        built = _hierarchy_from(arrays, meta)
    except Exception as exc:
        discard(path, "contraction hierarchy", f"{path}: {type(exc).__name__}: {exc}")
        return None
    if built.n_nodes != n_nodes:
        discard(
            path, "contraction hierarchy", f"{path}: built for {built.n_nodes} nodes, not {n_nodes}"
        )
        return None
    return built
