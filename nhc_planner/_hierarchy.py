"""Contraction hierarchy with a core: exact many-to-many shortest paths (numba).

Private engine behind :func:`nhc_planner.travel.network_seconds` for large
networks (see :attr:`nhc_planner.network.RoadNetwork.hierarchy`).

**Preprocessing** (:func:`build_hierarchy`) contracts nodes one by one, the
cheapest first. Contracting ``v`` removes it and, for every path
``u -> v -> w`` between two remaining nodes with no *witness* (a path
``u -> w`` avoiding ``v`` that is no longer, found by a local Dijkstra that
settles at most ``settle_limit`` nodes), adds a shortcut ``u -> w`` of the
same length. Distances among the remaining nodes are therefore unchanged at
every step; a witness search that gives up early only adds a shortcut that
was not needed. Nodes are ordered by an upper bound of their edge difference
(``in x out`` pairs minus ``in + out`` edges), and a node is contracted only if
its actual edge difference (after witness searches) is at most
``max_priority``; the rest form the **core**, which is never contracted (on
grid-like networks contracting the dense last part costs far more than it
saves).

Every edge (original or shortcut) then goes to the forward graph ``F`` if it
leads upward (to a later-contracted node, or into the core) or joins two core
nodes, and to the backward graph ``B`` (reversed) if it leads downward or
joins two core nodes.

**Queries** (:func:`hierarchy_distances`) use the bucket algorithm of Knopp
et al. (2007) on the core hierarchy: a search from every target on ``B``,
expanding non-core nodes only, leaves ``(target, distance)`` in a bucket at
every node it reaches; a full search from every source on ``F`` (upward,
then through the whole core; a Delta-stepping bucket queue, Meyer and
Sanders 2003, which is exact and here about twice as fast as a binary heap)
scans the buckets of the nodes it reaches. Every
shortest path has an equally short path in the contracted graph that climbs
through contracted nodes, crosses the core (possibly not at all) and
descends: the forward search covers the climb and the core, the backward one
the descent, and they meet at the last core node or at the peak. So the
minimum over meeting nodes is the exact distance. Both searches stop at
``limit`` (a partial path is never longer than the whole), so nothing within
the limit is lost.

References: Geisberger, Sanders, Schultes and Delling (2008), "Contraction
Hierarchies: Faster and Simpler Hierarchical Routing in Road Networks";
Knopp, Sanders, Schultes, Schulz and Wagner (2007), "Computing Many-to-Many
Shortest Paths Using Highway Hierarchies"; Meyer and Sanders (2003),
"Delta-stepping: a parallelizable shortest path algorithm".

Importing this module imports numba; functions compile on first use and are
cached on disk.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import scipy.sparse as sp
from numba import njit
from scipy.sparse.csgraph import reverse_cuthill_mckee

__all__ = ["Hierarchy", "build_hierarchy", "hierarchy_distances", "hierarchy_pairs"]

#: Nodes one witness search may settle before giving up (and adding the
#: shortcut). Larger: fewer needless shortcuts, slower preprocessing.
SETTLE_LIMIT = 10

#: Contract a node only if it adds at most this many edges more than it
#: removes (0: the graph never grows).
MAX_PRIORITY = 0.0

#: Stop contracting once every remaining node's edge-difference bound (no
#: witness searches) is above this: such nodes rarely qualify and testing
#: them costs much of the preprocessing. On the 294k-node ICB benchmark
#: graph, 40 against no stop: preprocessing 7.2 s instead of 9.7 s, a core of
#: 62k nodes instead of 57k, queries 5.6 s instead of 6.3 s.
MAX_BOUND = 40.0

_jit = njit(cache=True, nogil=True)


@dataclass(frozen=True)
class Hierarchy:
    """A contracted graph: the forward and backward search graphs (CSR).

    Attributes
    ----------
    fwd_ptr, fwd_to, fwd_w
        ``F``: upward edges and core-to-core edges, by tail node.
    bwd_ptr, bwd_to, bwd_w
        ``B``: downward edges and core-to-core edges, reversed (by head node).
    expand
        ``uint8`` per node, 1 for contracted nodes; bucket searches do not
        expand core nodes (0).
    label
        The hierarchy's number of each input node. Core nodes come first, in
        input order, so that the searches through the core (most of the
        work) read memory that is close together.
    n_shortcuts
        Shortcut edges added.
    build_seconds
        Wall time of the preprocessing.
    """

    fwd_ptr: np.ndarray
    fwd_to: np.ndarray
    fwd_w: np.ndarray
    bwd_ptr: np.ndarray
    bwd_to: np.ndarray
    bwd_w: np.ndarray
    expand: np.ndarray
    label: np.ndarray
    n_shortcuts: int
    build_seconds: float

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.expand)

    @property
    def n_core(self) -> int:
        """Nodes left uncontracted."""
        return int(len(self.expand) - self.expand.sum())

    def summary(self) -> str:
        """One line of plain text."""
        return (
            f"contraction hierarchy: {self.n_nodes:,} nodes, {self.n_core:,} in the core, "
            f"{self.n_shortcuts:,} shortcuts, built in {self.build_seconds:.1f} s"
        )


# --------------------------------------------------------------------------- heaps


@_jit
def _sift_up(hn, hk, pos, i):  # type: ignore[no-untyped-def]
    node = hn[i]
    key = hk[i]
    while i > 0:
        p = (i - 1) >> 1
        if hk[p] <= key:
            break
        hn[i] = hn[p]
        hk[i] = hk[p]
        pos[hn[i]] = i
        i = p
    hn[i] = node
    hk[i] = key
    pos[node] = i


@_jit
def _sift_down(hn, hk, pos, i, size):  # type: ignore[no-untyped-def]
    node = hn[i]
    key = hk[i]
    while True:
        c = 2 * i + 1
        if c >= size:
            break
        if c + 1 < size and hk[c + 1] < hk[c]:
            c += 1
        if hk[c] >= key:
            break
        hn[i] = hn[c]
        hk[i] = hk[c]
        pos[hn[i]] = i
        i = c
    hn[i] = node
    hk[i] = key
    pos[node] = i


@_jit
def _push(hn, hk, pos, size, node, key):  # type: ignore[no-untyped-def]
    """Insert ``node`` or lower its key (indexed heap); return the new size."""
    i = pos[node]
    if i >= 0:
        if key < hk[i]:
            hk[i] = key
            _sift_up(hn, hk, pos, i)
        return size
    hn[size] = node
    hk[size] = key
    pos[node] = size
    _sift_up(hn, hk, pos, size)
    return size + 1


@_jit
def _set_key(hn, hk, pos, size, node, key):  # type: ignore[no-untyped-def]
    i = pos[node]
    hk[i] = key
    _sift_up(hn, hk, pos, i)
    _sift_down(hn, hk, pos, pos[node], size)


@_jit
def _pop(hn, hk, pos, size):  # type: ignore[no-untyped-def]
    node = hn[0]
    key = hk[0]
    pos[node] = -1
    size -= 1
    if size > 0:
        hn[0] = hn[size]
        hk[0] = hk[size]
        pos[hn[0]] = 0
        _sift_down(hn, hk, pos, 0, size)
    return node, key, size


# --------------------------------------------------------------------------- contraction


@_jit
def _grow(a, size):  # type: ignore[no-untyped-def]
    out = np.empty(size, a.dtype)
    out[: len(a)] = a
    return out


@_jit
def _witness(u, v, maxd, limit, head, nxt, dst, wt, done, dist, hn, hk, pos, touched):  # type: ignore[no-untyped-def]
    """Dijkstra from ``u`` avoiding ``v`` and contracted nodes, up to ``maxd``.

    Leaves distances in ``dist`` for the ``touched`` nodes (returns how many);
    the caller resets them to inf.
    """
    nt = 0
    dist[u] = 0.0
    touched[nt] = u
    nt += 1
    size = _push(hn, hk, pos, 0, u, 0.0)
    settled = 0
    while size > 0:
        x, d, size = _pop(hn, hk, pos, size)
        if d > maxd or settled >= limit:
            break
        settled += 1
        e = head[x]
        while e >= 0:
            y = dst[e]
            if y != v and not done[y]:
                nd = d + wt[e]
                if nd < dist[y]:
                    if dist[y] == np.inf:
                        touched[nt] = y
                        nt += 1
                    dist[y] = nd
                    size = _push(hn, hk, pos, size, y, nd)
            e = nxt[e]
    for i in range(size):
        pos[hn[i]] = -1
    return nt


@_jit
def _neighbours(v, out_head, in_head, nxt_out, nxt_in, src, dst, done, outs, ins):  # type: ignore[no-untyped-def]
    """Remaining out- and in-neighbours of ``v`` into ``outs`` and ``ins``; their counts."""
    no = 0
    e = out_head[v]
    while e >= 0:
        if not done[dst[e]]:
            outs[no] = dst[e]
            no += 1
        e = nxt_out[e]
    ni = 0
    e = in_head[v]
    while e >= 0:
        if not done[src[e]]:
            ins[ni] = src[e]
            ni += 1
        e = nxt_in[e]
    return no, ni


@_jit
def _bound(v, out_head, in_head, nxt_out, nxt_in, src, dst, done, outs, ins):  # type: ignore[no-untyped-def]
    """Upper bound of the edge difference of contracting ``v`` (no witness search)."""
    no, ni = _neighbours(v, out_head, in_head, nxt_out, nxt_in, src, dst, done, outs, ins)
    pairs = 0
    for i in range(ni):
        for k in range(no):
            if ins[i] != outs[k]:
                pairs += 1
    return float(pairs - ni - no)


@_jit
def _link(f, out_head, in_head, nxt_out, nxt_in, src, dst):  # type: ignore[no-untyped-def]
    """Put edge ``f`` at the head of its tail's out-list and its head's in-list."""
    nxt_out[f] = out_head[src[f]]
    out_head[src[f]] = f
    nxt_in[f] = in_head[dst[f]]
    in_head[dst[f]] = f


@_jit
def _contract(n, src0, dst0, wt0, settle_limit, max_priority, max_bound):  # type: ignore[no-untyped-def]
    """Contract the cheap nodes; return ``(rank, src, dst, wt)`` (rank -1: core)."""
    m = len(src0)
    cap = 2 * m + 16
    src = np.empty(cap, np.int64)
    dst = np.empty(cap, np.int64)
    wt = np.empty(cap, np.float64)
    nxt_out = np.empty(cap, np.int64)
    nxt_in = np.empty(cap, np.int64)
    out_head = np.full(n, -1, np.int64)
    in_head = np.full(n, -1, np.int64)
    for e in range(m):
        src[e] = src0[e]
        dst[e] = dst0[e]
        wt[e] = wt0[e]
        _link(e, out_head, in_head, nxt_out, nxt_in, src, dst)
    n_edges = m
    done = np.zeros(n, np.bool_)
    dist = np.full(n, np.inf)
    hn = np.empty(n, np.int64)
    hk = np.empty(n, np.float64)
    pos = np.full(n, -1, np.int64)
    touched = np.empty(n, np.int64)
    outs = np.empty(n, np.int64)
    ins = np.empty(n, np.int64)
    outw = np.empty(n, np.float64)
    v_out = np.empty(n, np.int64)
    v_in = np.empty(n, np.int64)
    # shortcuts of the node being contracted
    sc_cap = 1024
    sc_u = np.empty(sc_cap, np.int64)
    sc_w = np.empty(sc_cap, np.int64)
    sc_c = np.empty(sc_cap, np.float64)
    qn = np.empty(n, np.int64)
    qk = np.empty(n, np.float64)
    qpos = np.full(n, -1, np.int64)
    qsize = 0
    for v in range(n):
        key = _bound(v, out_head, in_head, nxt_out, nxt_in, src, dst, done, outs, ins)
        qsize = _push(qn, qk, qpos, qsize, v, key)
    rank = np.full(n, -1, np.int64)
    order = 0
    alive = n
    next_compact = n - max(n // 8, 1024)
    while qsize > 0:
        v, key, qsize = _pop(qn, qk, qpos, qsize)
        if key > max_bound:
            break  # every node left is too well connected to be worth contracting
        # out-neighbours of v
        no = 0
        maxw = 0.0
        e = out_head[v]
        while e >= 0:
            y = dst[e]
            if not done[y]:
                outs[no] = y
                outw[no] = wt[e]
                if wt[e] > maxw:
                    maxw = wt[e]
                no += 1
            e = nxt_out[e]
        degree = no
        e = in_head[v]
        while e >= 0:
            if not done[src[e]]:
                degree += 1
            e = nxt_in[e]
        count = 0
        e = in_head[v]
        while e >= 0 and float(count - degree) <= max_priority:
            u = src[e]
            if not done[u] and no > 0:
                wu = wt[e]
                nt = _witness(
                    u, v, wu + maxw, settle_limit, out_head, nxt_out, dst, wt, done,
                    dist, hn, hk, pos, touched,
                )  # fmt: skip
                for k in range(no):
                    w = outs[k]
                    c = wu + outw[k]
                    if w != u and dist[w] > c:
                        if count >= sc_cap:
                            sc_cap *= 2
                            sc_u = _grow(sc_u, sc_cap)
                            sc_w = _grow(sc_w, sc_cap)
                            sc_c = _grow(sc_c, sc_cap)
                        sc_u[count] = u
                        sc_w[count] = w
                        sc_c[count] = c
                        count += 1
                for i in range(nt):
                    dist[touched[i]] = np.inf
            e = nxt_in[e]
        if float(count - degree) > max_priority:
            continue  # stays in the core
        for k in range(count):
            u = sc_u[k]
            w = sc_w[k]
            c = sc_c[k]
            f = out_head[u]
            found = False
            while f >= 0:
                if dst[f] == w:
                    found = True
                    if c < wt[f]:
                        wt[f] = c
                    break
                f = nxt_out[f]
            if not found:
                if n_edges >= len(src):
                    cap = 2 * len(src)
                    src = _grow(src, cap)
                    dst = _grow(dst, cap)
                    wt = _grow(wt, cap)
                    nxt_out = _grow(nxt_out, cap)
                    nxt_in = _grow(nxt_in, cap)
                src[n_edges] = u
                dst[n_edges] = w
                wt[n_edges] = c
                _link(n_edges, out_head, in_head, nxt_out, nxt_in, src, dst)
                n_edges += 1
        done[v] = True
        rank[v] = order
        order += 1
        alive -= 1
        # the neighbours' bounds changed
        no, ni = _neighbours(v, out_head, in_head, nxt_out, nxt_in, src, dst, done, v_out, v_in)
        for i in range(no + ni):
            y = v_out[i] if i < no else v_in[i - no]
            if qpos[y] >= 0:
                key = _bound(y, out_head, in_head, nxt_out, nxt_in, src, dst, done, outs, ins)
                _set_key(qn, qk, qpos, qsize, y, key)
        if alive <= next_compact:
            # drop edges to contracted nodes from the adjacency lists
            next_compact = alive - max(alive // 8, 1024)
            out_head[:] = -1
            in_head[:] = -1
            for f in range(n_edges):
                if not done[src[f]] and not done[dst[f]]:
                    _link(f, out_head, in_head, nxt_out, nxt_in, src, dst)
    return rank, src[:n_edges].copy(), dst[:n_edges].copy(), wt[:n_edges].copy()


def _lightest(u: np.ndarray, v: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, ...]:
    """One edge per ``(u, v)``, the lightest; self-loops dropped."""
    keep = u != v
    u, v, w = u[keep], v[keep], w[keep]
    order = np.lexsort((w, v, u))
    u, v, w = u[order], v[order], w[order]
    first = np.ones(len(u), dtype=bool)
    first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
    return u[first], v[first], w[first]


def _csr(n: int, tail: np.ndarray, head: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, ...]:
    order = np.argsort(tail, kind="stable")
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(tail, minlength=n), out=ptr[1:])
    return ptr, head[order].astype(np.int32), w[order].astype(np.float64)


def build_hierarchy(
    seconds: sp.spmatrix | sp.sparray,
    *,
    settle_limit: int = SETTLE_LIMIT,
    max_priority: float = MAX_PRIORITY,
    max_bound: float = MAX_BOUND,
) -> Hierarchy:
    """Contract a directed weighted graph into a core hierarchy.

    Parameters
    ----------
    seconds
        ``(n, n)`` sparse matrix of non-negative edge weights ``u -> v``
        (parallel entries: the lightest counts; the diagonal is ignored).
    settle_limit
        Nodes one witness search may settle.
    max_priority
        Largest edge difference (shortcuts added minus edges removed) of a
        node that is contracted.
    max_bound
        Contraction stops once every remaining node's edge-difference bound
        (before witness searches) exceeds this.

    Returns
    -------
    Hierarchy
    """
    start = time.perf_counter()
    coo = sp.coo_matrix(seconds)
    n = int(coo.shape[0])
    u, v, w = _lightest(
        coo.row.astype(np.int64), coo.col.astype(np.int64), coo.data.astype(np.float64)
    )
    rank, src, dst, wt = _contract(
        n, u, v, w, int(settle_limit), float(max_priority), float(max_bound)
    )
    # No (u, w) pair appears twice: a shortcut that exists already is lowered in place.
    core = rank < 0
    level = np.where(core, n, rank)
    both_core = core[src] & core[dst]
    up = (level[dst] > level[src]) | both_core
    down = (level[src] > level[dst]) | both_core
    # core first (input order), then the contracted nodes from the last contracted
    core_ids = np.flatnonzero(core)
    if len(core_ids) > 1:
        inner = np.full(n, -1, dtype=np.int64)
        inner[core_ids] = np.arange(len(core_ids))
        g = sp.csr_matrix(
            (np.ones(int(both_core.sum())), (inner[src[both_core]], inner[dst[both_core]])),
            shape=(len(core_ids), len(core_ids)),
        )
        core_ids = core_ids[reverse_cuthill_mckee((g + g.T).tocsr(), symmetric_mode=True)]
    order = np.concatenate([core_ids, np.argsort(-level, kind="stable")[len(core_ids) :]])
    label = np.empty(n, dtype=np.int64)
    label[order] = np.arange(n)
    src, dst = label[src], label[dst]
    fwd = _csr(n, src[up], dst[up], wt[up])
    bwd = _csr(n, dst[down], src[down], wt[down])
    return Hierarchy(
        fwd_ptr=fwd[0],
        fwd_to=fwd[1],
        fwd_w=fwd[2],
        bwd_ptr=bwd[0],
        bwd_to=bwd[1],
        bwd_w=bwd[2],
        expand=(~core[order]).astype(np.uint8),
        label=label,
        n_shortcuts=int(len(src) - len(u)),
        build_seconds=time.perf_counter() - start,
    )


# --------------------------------------------------------------------------- queries


@_jit
def _search_once(s, ptr, to, w, limit, expand, dist, touched, e_node, e_key, e_next, head, delta):  # type: ignore[no-untyped-def]
    """Search from ``s`` with a bucket queue (Delta-stepping), up to ``limit``.

    Bucket ``k`` holds the nodes labelled in ``[k delta, (k + 1) delta)`` (a
    circular array of ``len(head)`` buckets, more than the heaviest edge
    spans). The lowest non-empty bucket is emptied node by node; a node whose
    label drops while its bucket is being emptied is queued again and
    re-expanded, so the labels are exact whatever ``delta`` is (it only trades
    empty buckets against re-expansions). Nodes with ``expand == 0`` are
    reached but not expanded. Distances are left in ``dist`` for the
    ``touched`` nodes; returns how many, or ``-(that + 1)`` if the entry pool
    ran out.
    """
    nb = len(head)
    inv = 1.0 / delta
    cap = len(e_node)
    nt = 0
    dist[s] = 0.0
    touched[nt] = s
    nt += 1
    e_node[0] = s
    e_key[0] = 0.0
    e_next[0] = -1
    head[0] = 0
    used = 1
    pending = 1
    cur = 0
    while pending > 0:
        b = cur % nb
        while head[b] < 0:
            cur += 1
            b = cur % nb
        while head[b] >= 0:
            ent = head[b]
            head[b] = e_next[ent]
            pending -= 1
            u = e_node[ent]
            d = e_key[ent]
            if d > dist[u] or not expand[u]:
                continue
            for e in range(ptr[u], ptr[u + 1]):
                v = to[e]
                nd = d + w[e]
                if nd < dist[v] and nd <= limit:
                    if dist[v] == np.inf:
                        touched[nt] = v
                        nt += 1
                    dist[v] = nd
                    if used >= cap:
                        return -nt - 1
                    bb = int(nd * inv) % nb
                    e_node[used] = v
                    e_key[used] = nd
                    e_next[used] = head[bb]
                    head[bb] = used
                    used += 1
                    pending += 1
        cur += 1
    return nt


@_jit
def _search(s, ptr, to, w, limit, expand, dist, touched, pool, head, delta):  # type: ignore[no-untyped-def]
    """:func:`_search_once`, again with a pool twice as large until it fits.

    ``pool`` is ``(e_node, e_key, e_next)``; returns ``(touched count, pool)``.
    """
    e_node, e_key, e_next = pool
    nt = _search_once(
        s, ptr, to, w, limit, expand, dist, touched, e_node, e_key, e_next, head, delta
    )
    while nt < 0:
        for k in range(-nt - 1):
            dist[touched[k]] = np.inf
        head[:] = -1
        cap = 2 * len(e_node)
        e_node = np.empty(cap, np.int32)
        e_key = np.empty(cap, np.float64)
        e_next = np.empty(cap, np.int64)
        nt = _search_once(
            s, ptr, to, w, limit, expand, dist, touched, e_node, e_key, e_next, head, delta
        )
    return nt, (e_node, e_key, e_next)


@_jit
def _workspace(n, pool, n_buckets):  # type: ignore[no-untyped-def]
    """Labels, touched list, entry pool and buckets for one thread's searches."""
    cap = max(pool, 1)
    entries = (np.empty(cap, np.int32), np.empty(cap, np.float64), np.empty(cap, np.int64))
    return np.full(n, np.inf), np.empty(n, np.int32), entries, np.full(n_buckets, -1, np.int64)


@_jit
def _buckets(targets, ptr, to, w, limit, expand, delta, n_buckets, pool):  # type: ignore[no-untyped-def]
    """Searches from every target; their reach, as buckets sorted by node."""
    n = len(ptr) - 1
    dist, touched, entries, head = _workspace(n, pool, n_buckets)
    cap = 64 * len(targets) + 16
    b_node = np.empty(cap, np.int64)
    b_tgt = np.empty(cap, np.int64)
    b_d = np.empty(cap, np.float64)
    nb = 0
    for j in range(len(targets)):
        nt, entries = _search(
            targets[j], ptr, to, w, limit, expand, dist, touched, entries, head, delta
        )
        if nb + nt > cap:
            cap = 2 * (nb + nt)
            b_node = _grow(b_node, cap)
            b_tgt = _grow(b_tgt, cap)
            b_d = _grow(b_d, cap)
        for i in range(nt):
            x = touched[i]
            b_node[nb] = x
            b_tgt[nb] = j
            b_d[nb] = dist[x]
            nb += 1
            dist[x] = np.inf
    order = np.argsort(b_node[:nb], kind="mergesort")
    bptr = np.zeros(n + 1, np.int64)
    for i in range(nb):
        bptr[b_node[i] + 1] += 1
    for x in range(n):
        bptr[x + 1] += bptr[x]
    return bptr, b_tgt[:nb][order], b_d[:nb][order]


@_jit
def _scan(sources, ptr, to, w, limit, bptr, btgt, bd, best, delta, n_buckets, pool):  # type: ignore[no-untyped-def]
    """Full searches from ``sources``; the minimum over buckets into ``best``.

    ``pool``: initial number of queue entries (grown when a search needs more).
    """
    n = len(ptr) - 1
    dist, touched, entries, head = _workspace(n, pool, n_buckets)
    expand = np.ones(n, np.uint8)
    for i in range(len(sources)):
        nt, entries = _search(
            sources[i], ptr, to, w, limit, expand, dist, touched, entries, head, delta
        )
        row = best[i]
        for k in range(nt):
            x = touched[k]
            d = dist[x]
            dist[x] = np.inf
            for b in range(bptr[x], bptr[x + 1]):
                c = d + bd[b]
                j = btgt[b]
                if c < row[j]:
                    row[j] = c


def _bucket_width(w: np.ndarray) -> tuple[float, int]:
    """Bucket width and count for :func:`_search_once` on edge weights ``w``.

    The width is the 1st percentile of the weights (most edges are heavier, so
    few nodes are expanded twice), but at least 1/4096 of the heaviest edge so
    that the circular array stays small.
    """
    if len(w) == 0:
        return 1.0, 2
    top = float(w.max())
    delta = max(float(np.quantile(w, 0.01)), top / 4096.0, 1e-9)
    return delta, int(top / delta) + 2


#: Distances held at once per thread while searching (then kept as sparse pairs):
#: 8 million, 64 MB.
_BLOCK_ENTRIES = 8_000_000


def hierarchy_pairs(
    h: Hierarchy,
    sources: np.ndarray,
    targets: np.ndarray,
    *,
    limit: float = np.inf,
    workers: int = 1,
) -> sp.coo_matrix:
    """Exact shortest distances within ``limit``, as sparse ``(source, target)`` pairs.

    Full searches run from the smaller side (from the targets over the
    reversed hierarchy when there are fewer of them), split over ``workers``
    threads (the searches release the GIL), a block of rows at a time, so
    memory stays bounded on England-sized matrices: only the pairs within
    ``limit`` are kept.

    Parameters
    ----------
    h
        The hierarchy.
    sources, targets
        Node indices.
    limit
        Pairs further apart than this are left out.
    workers
        Threads.

    Returns
    -------
    scipy.sparse.coo_matrix
        ``(len(sources), len(targets))``; stored entries are the reachable
        pairs and may be 0.0 (a source that is also a target).
    """
    src = h.label[np.asarray(sources, dtype=np.int64)]
    tgt = h.label[np.asarray(targets, dtype=np.int64)]
    lim = float(limit)
    fwd: tuple[Any, ...] = (h.fwd_ptr, h.fwd_to, h.fwd_w)
    bwd: tuple[Any, ...] = (h.bwd_ptr, h.bwd_to, h.bwd_w)
    flip = len(tgt) < len(src)
    if flip:
        src, tgt, fwd, bwd = tgt, src, bwd, fwd
    found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    if len(src) and len(tgt):
        b_delta, b_count = _bucket_width(bwd[2])
        buckets = cast(Any, _buckets)(tgt, *bwd, lim, h.expand, b_delta, b_count, 4096)
        delta, n_buckets = _bucket_width(fwd[2])
        rows_per_block = max(1, _BLOCK_ENTRIES // len(tgt))
        parts = [p for p in np.array_split(np.arange(len(src)), max(1, workers)) if len(p)]

        def run(rows: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
            out = []
            for start in range(0, len(rows), rows_per_block):
                chunk = rows[start : start + rows_per_block]
                block = np.full((len(chunk), len(tgt)), np.inf)
                cast(Any, _scan)(
                    src[chunk], *fwd, lim, *buckets, block, delta, n_buckets, 2 * len(fwd[2]) + 16
                )
                r, c = np.nonzero(block <= lim)
                out.append((chunk[r], c, block[r, c]))
            return out

        if len(parts) > 1:
            with ThreadPoolExecutor(len(parts)) as pool:
                for piece in pool.map(run, parts):
                    found.extend(piece)
        else:
            found = run(parts[0])
    r = np.concatenate([f[0] for f in found]) if found else np.empty(0, dtype=np.int64)
    c = np.concatenate([f[1] for f in found]) if found else np.empty(0, dtype=np.int64)
    v = np.concatenate([f[2] for f in found]) if found else np.empty(0)
    if flip:
        r, c = c, r
    shape = (len(sources), len(targets))
    return sp.coo_matrix((v, (r, c)), shape=shape)


def hierarchy_distances(
    h: Hierarchy,
    sources: np.ndarray,
    targets: np.ndarray,
    *,
    limit: float = np.inf,
    workers: int = 1,
) -> np.ndarray:
    """Exact shortest distances from every source to every target, dense.

    :func:`hierarchy_pairs` as a ``(len(sources), len(targets))`` float
    array, ``np.inf`` where unreachable or beyond ``limit``.
    """
    pairs = hierarchy_pairs(h, sources, targets, limit=limit, workers=workers)
    dense = np.full(pairs.shape, np.inf)
    dense[pairs.row, pairs.col] = pairs.data
    return dense
