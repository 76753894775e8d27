r"""Compiled (numba) kernels of the p-median Lagrangian relaxation.

The relaxation of the assignment rows (Beasley 1985) with multipliers :math:`\lambda`
is :math:`L(\lambda) = \sum_i \lambda_i + \min_{|S| = p} \sum_{j \in S} \rho_j` with
:math:`\rho_j = \sum_i \min(0, w_i c_{ij} - \lambda_i)`. Only the pairs with
:math:`w_i c_{ij} < \lambda_i` contribute, a short prefix of each row once its sites
are sorted by cost, so the kernels walk each row's sorted prefix: an iteration costs
the number of contributing pairs, not :math:`n \times m`.

Importing this module imports numba; the kernels compile on first use and are cached
on disk (``cache=True``). Every kernel is deterministic (fixed tie-breaks, no
randomness); the work counts they return (pairs visited) drive the callers' budgets,
never the clock.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
from numba import njit

__all__ = [
    "SortedRows",
    "covered_gradient",
    "interchange",
    "lagrangian_rho",
    "node_subgradient",
    "sort_rows",
]

_jit = cast(Any, njit(cache=True, nogil=True))


class SortedRows:
    """Each row's weighted costs in increasing order, with the sites they belong to.

    Attributes
    ----------
    wcs
        ``(r, m)`` float64: row ``i``'s ``w_i c_ij`` sorted increasingly (``inf`` last).
    order
        ``(r, m)`` int64: the site of each entry of ``wcs``.
    """

    __slots__ = ("order", "wcs")

    def __init__(self, wcs: np.ndarray, order: np.ndarray) -> None:
        self.wcs = wcs
        self.order = order


def sort_rows(rows: np.ndarray, weights: np.ndarray) -> SortedRows:
    """Sort each row of ``weights[:, None] * rows`` (ties by site index)."""
    wc = weights[:, np.newaxis] * rows
    order = np.argsort(wc, axis=1, kind="stable").astype(np.int64)
    wcs = np.ascontiguousarray(np.take_along_axis(wc, order, axis=1))
    return SortedRows(wcs, np.ascontiguousarray(order))


@_jit
def lagrangian_rho(wcs: np.ndarray, order: np.ndarray, lam: np.ndarray) -> tuple[np.ndarray, int]:
    """``rho_j = sum_i min(0, w_i c_ij - lam_i)`` and the number of pairs that contributed."""
    r, m = wcs.shape
    rho = np.zeros(m)
    work = 0
    for i in range(r):
        li = lam[i]
        for k in range(m):
            v = wcs[i, k] - li
            if v >= 0.0:
                break
            rho[order[i, k]] += v
            work += 1
    return rho, work


@_jit
def covered_gradient(
    wcs: np.ndarray, order: np.ndarray, lam: np.ndarray, opened: np.ndarray, grad: np.ndarray
) -> float:
    """``grad_i = 1 - #{j open : w_i c_ij < lam_i}`` (a subgradient); return its norm²."""
    r, m = wcs.shape
    norm = 0.0
    for i in range(r):
        li = lam[i]
        g = 1.0
        for k in range(m):
            if wcs[i, k] >= li:
                break
            if opened[order[i, k]]:
                g -= 1.0
        grad[i] = g
        norm += g * g
    return norm


@_jit
def _open_cheapest(
    rho: np.ndarray, opened_fixed: np.ndarray, free: np.ndarray, q: int
) -> np.ndarray:
    """``opened_fixed`` plus the ``q`` free sites of smallest ``rho`` (ties by index)."""
    m = rho.size
    key = np.empty(m)
    for j in range(m):
        key[j] = rho[j] if free[j] else np.inf
    idx = np.argsort(key, kind="mergesort")
    opened = opened_fixed.copy()
    for t in range(q):
        opened[idx[t]] = True
    return opened


@_jit
def node_subgradient(
    wcs: np.ndarray,
    order: np.ndarray,
    lam0: np.ndarray,
    opened_fixed: np.ndarray,
    free: np.ndarray,
    q: int,
    upper: float,
    iters: int,
    step0: float,
    stall_max: int,
    min_step: float,
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray, int, int]:
    """A subgradient run on one node of the branch and bound.

    Polyak steps towards ``upper`` from ``lam0``; the step factor (``step0``) halves
    after ``stall_max`` iterations without a better bound; the run stops after
    ``iters`` iterations, when the bound reaches ``upper`` or the step falls below
    ``min_step``.

    Returns
    -------
    bound, lam, rho, opened
        The best bound met and its multipliers, ``rho`` and open sites.
    seen
        ``(8, m)`` bool: the last distinct site sets the relaxation opened (rows
        ``0..n_seen-1``, oldest first), for the caller to price as solutions.
    n_seen, work
        Rows of ``seen`` filled; pairs visited (the run's work).
    """
    r, m = wcs.shape
    lam = lam0.copy()
    best = -np.inf
    best_lam = lam0.copy()
    best_rho = np.zeros(m)
    best_open = opened_fixed.copy()
    ring = np.zeros((8, m), dtype=np.bool_)
    n_ring = 0
    head = 0  # next slot of the ring
    step = step0
    stall = 0
    work = 0
    grad = np.empty(r)
    for _ in range(iters):
        rho, w_rho = lagrangian_rho(wcs, order, lam)
        work += w_rho + m
        opened = _open_cheapest(rho, opened_fixed, free, q)
        value = lam.sum()
        for j in range(m):
            if opened[j]:
                value += rho[j]
        last = (head + 7) % 8
        same = n_ring > 0
        if same:
            for j in range(m):
                if ring[last, j] != opened[j]:
                    same = False
                    break
        if not same:
            ring[head, :] = opened
            head = (head + 1) % 8
            n_ring = min(n_ring + 1, 8)
        if value > best + 1e-9 * max(1.0, abs(value)):
            best = value
            best_lam[:] = lam
            best_rho = rho
            best_open = opened
            stall = 0
        else:
            stall += 1
            if stall >= stall_max:
                step /= 2.0
                stall = 0
        if best >= upper or step < min_step:
            break
        norm = covered_gradient(wcs, order, lam, opened, grad)
        work += w_rho + r
        if norm == 0.0:
            break
        t = step * (upper - value) / norm
        for i in range(r):
            lam[i] = max(lam[i] + t * grad[i], 0.0)
    seen = np.zeros((8, m), dtype=np.bool_)
    for s in range(n_ring):
        seen[s, :] = ring[(head - n_ring + s) % 8, :]
    return best, best_lam, best_rho, best_open, seen, n_ring, work


@_jit
def _nearest_two(
    wcs: np.ndarray, order: np.ndarray, opened: np.ndarray, big: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Per row: cost to the nearest open site, that site (-1: none), cost to the second.

    Missing costs (no open site, or no second one, within a finite cost) are ``big``.
    """
    r, m = wcs.shape
    d1 = np.full(r, big)
    d2 = np.full(r, big)
    c1 = np.full(r, -1, dtype=np.int64)
    work = 0
    for i in range(r):
        for k in range(m):
            v = wcs[i, k]
            if v == np.inf:
                break
            work += 1
            if opened[order[i, k]]:
                if c1[i] < 0:
                    d1[i] = v
                    c1[i] = order[i, k]
                else:
                    d2[i] = v
                    break
    return d1, c1, d2, work


@_jit
def interchange(
    wcs: np.ndarray,
    order: np.ndarray,
    opened0: np.ndarray,
    can_open: np.ndarray,
    can_close: np.ndarray,
    max_moves: int,
) -> tuple[np.ndarray, float, int]:
    """Best-improvement vertex interchange (fast interchange, Whitaker 1983).

    Each move swaps the open site ``s`` (``can_close``) and the closed site ``j``
    (``can_open``) that lower the total cost most, evaluated for all pairs at once
    through the gain / loss / extra terms of Resende & Werneck (2007): ``gain_j`` what
    opening ``j`` saves, ``loss_s`` what closing ``s`` costs, ``extra_js`` the part of
    both counted twice (points served by ``s`` that ``j`` serves better than their
    second site). A row no open site reaches costs a large finite penalty, so a swap
    that strands a row is never an improvement and one that serves it always is.

    Returns
    -------
    opened, cost, work
        The local optimum (or the state after ``max_moves`` moves), its cost (``inf``
        when some row is not served) and the pairs visited.
    """
    r, m = wcs.shape
    big = 1.0
    for i in range(r):
        k = m - 1
        while k > 0 and wcs[i, k] == np.inf:
            k -= 1
        if wcs[i, k] < np.inf:
            big += wcs[i, k]
    big *= 2.0
    opened = opened0.copy()
    pos = np.full(m, -1, dtype=np.int64)
    work = 0
    for _ in range(max_moves + 1):
        d1, c1, d2, w_near = _nearest_two(wcs, order, opened, big)
        work += w_near
        sites = np.flatnonzero(opened)
        q = sites.size
        for t in range(q):
            pos[sites[t]] = t
        gain = np.zeros(m)
        loss = np.zeros(q)
        extra = np.zeros((m, q))
        for i in range(r):
            if c1[i] >= 0:
                loss[pos[c1[i]]] += d2[i] - d1[i]
            for k in range(m):
                v = wcs[i, k]
                if v >= d2[i]:
                    break
                work += 1
                j = order[i, k]
                if opened[j]:
                    continue
                if v < d1[i]:
                    gain[j] += d1[i] - v
                if c1[i] >= 0:
                    extra[j, pos[c1[i]]] += d2[i] - max(v, d1[i])
        cost = d1.sum()
        best, best_j, best_s = 1e-9 * max(1.0, abs(cost)), -1, -1
        for j in range(m):
            if opened[j] or not can_open[j]:
                continue
            for t in range(q):
                if not can_close[sites[t]]:
                    continue
                profit = gain[j] - loss[t] + extra[j, t]
                if profit > best:
                    best, best_j, best_s = profit, j, sites[t]
        work += m * q
        if best_j < 0:
            break
        opened[best_j] = True
        opened[best_s] = False
    d1, c1, d2, w_near = _nearest_two(wcs, order, opened, np.inf)
    work += w_near
    return opened, d1.sum(), work
