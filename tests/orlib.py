"""Readers of the OR-Library benchmark files (Beasley), shared by tests and benchmarks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.sparse.csgraph import shortest_path

__all__ = ["read_orlib_cap", "read_orlib_pmed"]


def read_orlib_pmed(path: Path) -> tuple[np.ndarray, int]:
    """OR-Library pmed file -> (all-pairs shortest path matrix, p); last duplicate edge wins."""
    tokens = Path(path).read_text().split()
    n, n_edges, p = (int(t) for t in tokens[:3])
    edges = np.array(tokens[3 : 3 + 3 * n_edges], dtype=np.int64).reshape(n_edges, 3)
    graph = np.zeros((n, n))
    for i, j, c in edges:
        graph[i - 1, j - 1] = graph[j - 1, i - 1] = c
    return shortest_path(graph, directed=False), p


def read_orlib_cap(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """OR-Library cap file -> (cost of all demand i from j, demand, capacity, fixed cost)."""
    tokens = Path(path).read_text().split()
    m, n = int(tokens[0]), int(tokens[1])
    head = tokens[2 : 2 + 2 * m]
    capacity = np.array([float(t) for t in head[0::2]])
    fixed_cost = np.array([float(t) for t in head[1::2]])
    body = np.array([float(t) for t in tokens[2 + 2 * m : 2 + 2 * m + n * (m + 1)]])
    body = body.reshape(n, m + 1)
    return body[:, 1:].copy(), body[:, 0].copy(), capacity, fixed_cost
