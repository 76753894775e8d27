"""Lagrangian bound and site fixing for the split-demand CFLP (Beasley 1988 style).

Relax the assignment rows ``sum_j x_ij = 1`` with multipliers ``u_i``. For fixed ``u``
the problem splits by site: ``v_j = f_j + min sum_i (c_ij - u_i) x_ij`` over
``sum_i d_i x_ij <= s_j``, ``0 <= x_ij <= 1`` (a continuous knapsack: take the points of
most negative ``(c_ij - u_i) / d_i`` first), and the sites are chosen by ``min sum_j v_j y_j`` s.t.
``sum_j s_j y_j >= sum_i d_i`` (fixed sites forced open): exactly in binary ``y`` when
the capacities are equal (the cheapest sites up to the count needed, which makes the
bound stronger than the LP's), else its LP relaxation.
``L(u) = sum_i u_i + that minimum`` is a lower bound on the CFLP optimum for every ``u``.
The multipliers follow the subgradient ``1 - sum_j x_ij y_j`` with Polyak steps towards
the incumbent's cost, a fixed number of iterations (no clock), so the bound is
deterministic.

Site fixing: with ``y_j`` forced to 1 (or 0) the same bound, recomputed, is a lower bound
on every solution with that site open (closed); when it exceeds the incumbent's cost,
no better solution has it open (closed).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["LagrangianResult", "fix_sites", "lagrangian_bound"]

_F = npt.NDArray[np.float64]
_B = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class LagrangianResult:
    """Best bound found, its multipliers and the site values and choice there."""

    bound: float
    u: _F
    v: _F  # per site: f_j + its knapsack value at u
    y: _F  # per site: the relaxed choice at u (fractional at most at one site)
    iterations: int


def _site_values(cost: _F, d: _F, cap: _F, f: _F, u: _F) -> tuple[_F, _F]:
    """Per site ``v_j`` and the knapsack shares ``x`` (n, m) at multipliers ``u``."""
    red = cost - u[:, np.newaxis]
    neg = red < 0
    dd = np.broadcast_to(d[:, np.newaxis], red.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(neg, np.where(dd > 0, red / dd, -np.inf), np.inf)
    order = np.argsort(ratio, axis=0)
    r_s = np.take_along_axis(red, order, axis=0)
    d_s = np.take_along_axis(dd, order, axis=0)
    n_s = np.take_along_axis(neg, order, axis=0)
    use = np.where(n_s, d_s, 0.0)
    before = np.cumsum(use, axis=0) - use
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(d_s > 0, (cap[np.newaxis, :] - before) / d_s, 1.0)
    share = np.where(n_s, np.clip(share, 0.0, 1.0), 0.0)
    value = f + np.sum(np.where(share > 0, r_s, 0.0) * share, axis=0)
    x = np.zeros_like(red)
    np.put_along_axis(x, order, share, axis=0)
    return value, x


def _choose(v: _F, cap: _F, must: _B, demand: float, banned: _B | None = None) -> tuple[float, _F]:
    """Min ``v @ y`` s.t. ``cap @ y >= demand``, ``must`` open, ``banned`` closed.

    Exact (binary ``y``) when every allowed capacity is the same finite number: the
    cheapest sites up to the count the demand needs. Otherwise the LP relaxation (a
    weaker but valid bound). No capacity row when a capacity is infinite.
    """
    ban = np.zeros(v.size, dtype=bool) if banned is None else banned
    y = np.where(must | ((v < 0) & ~ban), 1.0, 0.0)
    if not np.isfinite(cap).all():
        return float(v @ y), y
    short = demand - float(cap[y > 0].sum())
    if short <= 1e-9:
        return float(v @ y), y
    rest = np.flatnonzero((y == 0) & ~ban & (cap > 0))
    if rest.size and np.all(cap[rest] == cap[rest[0]]):
        need = int(np.ceil(short / cap[rest[0]] - 1e-9))
        if need > rest.size:
            return np.inf, y
        y[rest[np.lexsort((rest, v[rest]))[:need]]] = 1.0
        return float(v @ y), y
    key = v[rest] / cap[rest]
    for j in rest[np.lexsort((rest, key))]:
        if short <= 1e-9:
            break
        y[j] = min(1.0, short / cap[j])
        short -= y[j] * cap[j]
    if short > 1e-9:
        return np.inf, y
    return float(v @ y), y


def lagrangian_bound(
    cost: _F,
    d: _F,
    cap: _F,
    f: _F,
    fixed: _B,
    upper: float,
    *,
    iterations: int = 300,
    u0: _F | None = None,
    deadline: float = float("inf"),
) -> LagrangianResult:
    """Subgradient ascent on ``L(u)``; ``cost`` is ``(n, m)`` with ``np.inf`` for no arc."""
    demand = float(d.sum())
    if u0 is None:
        finite = np.where(np.isfinite(cost), cost, np.inf)
        u = finite.min(axis=1)
        u = np.where(np.isfinite(u), u, 0.0)
    else:
        u = u0.copy()
    best = LagrangianResult(-np.inf, u.copy(), np.zeros(f.size), np.zeros(f.size), 0)
    step, stall = 2.0, 0
    for it in range(iterations):
        v, x = _site_values(cost, d, cap, f, u)
        value, y = _choose(v, cap, fixed, demand)
        bound = float(u.sum()) + value
        if bound > best.bound + 1e-9 * max(1.0, abs(bound)):
            best = LagrangianResult(bound, u.copy(), v, y, it + 1)
            stall = 0
        else:
            stall += 1
            if stall >= 20:
                step, stall = step / 2, 0
        g = 1.0 - x @ y
        norm = float(g @ g)
        if norm < 1e-12 or step < 1e-6 or not np.isfinite(bound):
            break
        if time.perf_counter() > deadline:  # safety stop only
            break
        if best.bound >= upper - 1e-9 * max(1.0, abs(upper)):
            break  # the incumbent is proven optimal
        target = upper if np.isfinite(upper) else bound + 0.01 * abs(bound) + 1.0
        u = u + step * max(target - bound, 1e-9 * max(1.0, abs(bound))) / norm * g
    return best


def fix_sites(
    res: LagrangianResult, cap: _F, fixed: _B, demand: float, upper: float
) -> tuple[_B, _B]:
    """Sites that no solution cheaper than ``upper`` opens (closed) / leaves closed (open)."""
    m = res.v.size
    closed = np.zeros(m, dtype=bool)
    opened = np.zeros(m, dtype=bool)
    base = float(res.u.sum())
    tol = 1e-7 * max(1.0, abs(upper))
    for j in range(m):
        if fixed[j]:
            continue
        force = fixed.copy()
        force[j] = True
        val, _ = _choose(res.v, cap, force, demand)
        if base + val > upper + tol:
            closed[j] = True
            continue
        ban = np.zeros(m, dtype=bool)
        ban[j] = True
        val0, _ = _choose(res.v, cap, fixed, demand, ban)
        if base + val0 > upper + tol:
            opened[j] = True
    return closed, opened
