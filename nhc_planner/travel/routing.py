"""Exact shortest travel seconds between node sets of a road network.

:func:`network_seconds` runs scipy's compiled Dijkstra from whichever side
has fewer distinct nodes (on the reversed graph from the destinations), or
the exact many-to-many search on the network's contraction hierarchy
(:mod:`nhc_planner._hierarchy`). The road engine (:mod:`.road`) calls it.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

if TYPE_CHECKING:
    from nhc_planner._hierarchy import Hierarchy
    from nhc_planner.network import RoadNetwork

__all__ = ["ENGINES", "HIERARCHY_MIN_NODES", "HIERARCHY_MIN_SOURCES", "network_seconds"]

_CHUNK_BYTES = 64 * 1024 * 1024

#: Routing engines of :func:`~nhc_planner.travel.travel_times` on a road
#: network (not to be confused with the travel engines of the registry).
ENGINES = ("auto", "dijkstra", "hierarchy")

#: ``engine="auto"`` uses the contraction hierarchy on networks with at least
#: this many nodes ...
HIERARCHY_MIN_NODES = 100_000

#: ... when both sides have at least this many distinct snapped nodes (below
#: that, one Dijkstra per node is quicker than building the hierarchy).
HIERARCHY_MIN_SOURCES = 200


def _dijkstra_chunk(
    graph: sp.csr_matrix, sources: np.ndarray, targets: np.ndarray, limit: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    dist = dijkstra(graph, directed=True, indices=sources, limit=limit)
    sub = dist[:, targets]
    r, c = np.nonzero(np.isfinite(sub))
    return r, c, sub[r, c]


def network_seconds(
    seconds: sp.csr_matrix,
    from_nodes: np.ndarray,
    to_nodes: np.ndarray,
    *,
    limit_s: float = np.inf,
    workers: int | None = None,
    hierarchy: Hierarchy | None = None,
) -> sp.csr_matrix:
    """Shortest travel seconds between node sets, as a sparse matrix.

    Parameters
    ----------
    seconds
        ``(n, n)`` CSR matrix of edge travel seconds (directed, ``u -> v``).
    from_nodes, to_nodes
        Node indices of the origins and destinations (duplicates allowed).
    limit_s
        Paths longer than this are not explored (and absent from the result).
    workers
        Threads (default: ``min(2, cpu count)``).
    hierarchy
        The contraction hierarchy of ``seconds``
        (:attr:`~nhc_planner.network.RoadNetwork.hierarchy`); if given, the
        exact bucket many-to-many search on it is used instead of one full
        Dijkstra per node.

    Returns
    -------
    scipy.sparse.csr_matrix
        ``(len(from_nodes), len(to_nodes))``, value = seconds + 1 (so a
        zero-second trip is a stored entry); subtract 1 from stored values.

    Notes
    -----
    Without a hierarchy, scipy's Dijkstra runs once per distinct node of the
    smaller side: from the origins on the graph, or from the destinations on
    the reversed graph (distance to a destination). Sources are processed in
    chunks so that the ``(chunk, n)`` distance block stays near 64 MB. Both
    engines give the same distances (to floating-point rounding).
    """
    uf, inv_f = np.unique(from_nodes, return_inverse=True)
    ut, inv_t = np.unique(to_nodes, return_inverse=True)
    n_workers = workers or min(2, os.cpu_count() or 1)
    if hierarchy is not None:
        from nhc_planner._hierarchy import hierarchy_pairs

        pairs = hierarchy_pairs(hierarchy, uf, ut, limit=limit_s, workers=n_workers)
        unique = sp.csr_matrix((pairs.data + 1.0, (pairs.row, pairs.col)), shape=pairs.shape)
        return unique[inv_f][:, inv_t].tocsr()
    n = seconds.shape[0]
    if len(ut) < len(uf):
        graph, sources, targets, flip = seconds.T.tocsr(), ut, uf, True
    else:
        graph, sources, targets, flip = seconds, uf, ut, False
    chunk = max(1, min(len(sources), _CHUNK_BYTES // (8 * max(n, 1))))
    pieces = [sources[i : i + chunk] for i in range(0, len(sources), chunk)]
    offsets = list(range(0, len(sources), chunk))
    rows, cols, vals = [], [], []
    if n_workers > 1 and len(pieces) > 1:
        with ThreadPoolExecutor(n_workers) as pool:
            results = list(pool.map(lambda p: _dijkstra_chunk(graph, p, targets, limit_s), pieces))
    else:
        results = [_dijkstra_chunk(graph, p, targets, limit_s) for p in pieces]
    for off, (r, c, v) in zip(offsets, results, strict=True):
        rows.append(r + off)
        cols.append(c)
        vals.append(v)
    r = np.concatenate(rows) if rows else np.empty(0, dtype=np.int64)
    c = np.concatenate(cols) if cols else np.empty(0, dtype=np.int64)
    v = np.concatenate(vals) + 1.0 if vals else np.empty(0)
    if flip:
        r, c = c, r
    unique = sp.csr_matrix((v, (r, c)), shape=(len(uf), len(ut)))
    return unique[inv_f][:, inv_t].tocsr()


def _use_hierarchy(engine: str, net: RoadNetwork, n_from: int, n_to: int) -> bool:
    if engine != "auto":
        return engine == "hierarchy"
    return "hierarchy" in net.__dict__ or (
        len(net.arrays.xy) >= HIERARCHY_MIN_NODES and min(n_from, n_to) >= HIERARCHY_MIN_SOURCES
    )
