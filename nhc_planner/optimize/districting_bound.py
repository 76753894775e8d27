r"""Branch-and-bound on seed counts: the proven bound of :func:`~.districting.delineate`.

The Lagrangian bound of the capacitated :math:`k`-median relaxation equals its LP bound,
which is weak where the population is uneven (a city with a rural fringe): the LP mixes
fractions of many district systems and so moves fractions of districts from the cheap
city to the costly countryside, which no whole plan can do. Branching on *how many seeds
a zone holds* removes that: a zone is one district of the best plan found, the count of
seeds in it is an integer in every plan, and a node restricts the counts to ranges
(``lo_z <= |S cap Z_z| <= hi_z``) and may fix single areas in or out of the seed set.

Under such a rule the Lagrangian subproblem stays easy: the continuous knapsack values
:math:`\rho_j(\lambda)` do not change, and choosing the :math:`k` seeds of least total
:math:`\rho` with per-zone lower and upper counts (a partition matroid with lower bounds)
is solved exactly greedily: fixed seeds first, then the cheapest seeds of each zone up to
its lower count, then the cheapest remaining seeds while their zone is below its upper
count. So every node's :math:`L(\lambda)` is a valid bound on the plans obeying its rule,
a child's bound is at least its parent's, and the least bound over the open nodes is a
valid bound for the group. Nodes are taken best-bound first; the search stops when that
least bound is within the target gap of the best plan, or after ``max_nodes`` nodes
(the work limit), or (checked every 24 nodes) when the bound's progress
over the last 24 nodes, carried on at the same rate, would need more than five times
the nodes left to reach the target (a hopeless search stops early), or at the safety
deadline. Seeds of the first 10 nodes, then of every fourth, are
tried as plans. Every decision uses counts, never the clock.
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["SeedRule", "branch_and_bound"]

_FRACTIONAL = 0.1  # an averaged count this far from an integer is branched on
_CHECK_EVERY = 24  # nodes between progress checks (see branch_and_bound)
_GIVE_UP = 5.0  # ... stop if the target needs this many times the nodes left
_ATTEMPT_ALL = 10  # nodes whose seeds are all tried as plans; then every fourth
_DEFLECTION = 0.5  # share of the previous direction kept in the next
_NODE_STEP = 1.0  # first subgradient step of a node (as a multiple of the Polyak step)


@dataclass(frozen=True)
class SeedRule:
    """Restrictions on the seed set at one node.

    Attributes
    ----------
    zone
        ``(n,)`` zone of each area (``0..nz-1``).
    lo, hi
        ``(nz,)`` least and most seeds in each zone.
    fixed_in, fixed_out
        ``(n,)`` areas that must / must not be seeds.
    """

    zone: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    fixed_in: np.ndarray
    fixed_out: np.ndarray

    def select(self, rho: np.ndarray, k: int) -> np.ndarray | None:
        """The ``k`` seeds of least total ``rho`` obeying the rule (sorted), or None."""
        r = np.where(self.fixed_out, np.inf, rho)
        if not np.isfinite(r[self.fixed_in]).all():
            return None
        taken = self.fixed_in.copy()
        counts = np.bincount(self.zone[taken], minlength=self.lo.size)
        if (counts > self.hi).any() or taken.sum() > k:
            return None
        order = np.argsort(r, kind="stable")
        order = order[np.isfinite(r[order]) & ~taken[order]]
        for z in np.flatnonzero(counts < self.lo).tolist():
            extra = order[self.zone[order] == z][: int(self.lo[z] - counts[z])]
            if extra.size < self.lo[z] - counts[z]:
                return None
            taken[extra] = True
            counts[z] += extra.size
        need = k - int(taken.sum())
        if need < 0:
            return None
        for j in order.tolist():
            if need == 0:
                break
            z = int(self.zone[j])
            if taken[j] or counts[z] >= self.hi[z]:
                continue
            taken[j] = True
            counts[z] += 1
            need -= 1
        return None if need > 0 else np.flatnonzero(taken)

    def child(
        self,
        *,
        zone_hi: tuple[int, int] | None = None,
        zone_lo: tuple[int, int] | None = None,
        area_in: int | None = None,
        area_out: int | None = None,
    ) -> SeedRule:
        """This rule with one more restriction."""
        lo, hi = self.lo.copy(), self.hi.copy()
        fin, fout = self.fixed_in.copy(), self.fixed_out.copy()
        if zone_hi is not None:
            hi[zone_hi[0]] = min(hi[zone_hi[0]], zone_hi[1])
        if zone_lo is not None:
            lo[zone_lo[0]] = max(lo[zone_lo[0]], zone_lo[1])
        if area_in is not None:
            fin[area_in] = True
        if area_out is not None:
            fout[area_out] = True
        return SeedRule(self.zone, lo, hi, fin, fout)


Evaluate = Callable[[np.ndarray, SeedRule], tuple[float, "np.ndarray | None", np.ndarray]]


@dataclass(frozen=True)
class BranchOutcome:
    """Result of :func:`branch_and_bound`.

    Attributes
    ----------
    bound
        Least bound over the open nodes (``inf`` if every node is infeasible).
    nodes
        Nodes solved.
    iterations
        Subgradient iterations run.
    timed_out
        True if the safety deadline stopped the search.
    """

    bound: float
    nodes: int
    iterations: int
    timed_out: bool


@dataclass
class _Node:
    bound: float
    rule: SeedRule
    lam: np.ndarray
    zone_avg: np.ndarray
    seed_avg: np.ndarray
    chosen: np.ndarray | None


def _subgradient(
    evaluate: Evaluate,
    rule: SeedRule,
    lam: np.ndarray,
    floor: float,
    upper: Callable[[], float],
    target: float,
    iterations: int,
) -> tuple[_Node, int]:
    """Raise ``L(lam)`` under ``rule``; keep the ergodic average of the chosen seeds."""
    n = lam.size
    best, best_lam, best_chosen = -math.inf, lam, None
    zone_avg = np.zeros(rule.lo.size)
    seed_avg = np.zeros(n)
    averaged = 0
    step, stall, it = _NODE_STEP, 0, 0
    direction = np.zeros(n)
    for it in range(1, iterations + 1):
        value, chosen, x = evaluate(lam, rule)
        if chosen is None:
            return _Node(math.inf, rule, lam, zone_avg, seed_avg, None), it
        if value > best + 1e-9 * max(1.0, abs(best) if math.isfinite(best) else 1.0):
            best, best_lam, best_chosen, stall = value, lam, chosen, 0
        else:
            stall += 1
            if stall >= 20:
                step, stall = step / 2.0, 0
        if it > iterations // 2:
            zone_avg += np.bincount(rule.zone[chosen], minlength=rule.lo.size)
            seed_avg[chosen] += 1.0
            averaged += 1
        up = upper()
        if max(best, floor) >= up * (1.0 - target) or step < 1e-4:
            break
        grad = 1.0 - x
        if not grad.any():
            break
        direction = grad + _DEFLECTION * direction  # deflected subgradient
        lam = lam + step * (up - value) / float(direction @ direction) * direction
    if averaged == 0:  # stopped early: the best iterate stands for the average
        if best_chosen is not None:
            zone_avg = np.bincount(rule.zone[best_chosen], minlength=rule.lo.size).astype(float)
            seed_avg[best_chosen] = 1.0
        averaged = 1
    node = _Node(
        max(best, floor), rule, best_lam, zone_avg / averaged, seed_avg / averaged, best_chosen
    )
    return node, it


def _children(node: _Node) -> list[SeedRule]:
    """Split on the most fractional zone count, else on the most fractional seed."""
    frac = np.abs(node.zone_avg - np.round(node.zone_avg))
    z = int(np.argmax(frac))
    if frac[z] >= _FRACTIONAL:
        a = math.floor(node.zone_avg[z])
        return [node.rule.child(zone_hi=(z, a)), node.rule.child(zone_lo=(z, a + 1))]
    free = ~(node.rule.fixed_in | node.rule.fixed_out)
    score = np.where(free, np.minimum(node.seed_avg, 1.0 - node.seed_avg), -1.0)
    j = int(np.argmax(score))
    if score[j] >= _FRACTIONAL:
        return [node.rule.child(area_out=j), node.rule.child(area_in=j)]
    return []


def branch_and_bound(
    evaluate: Evaluate,
    zone: np.ndarray,
    k: int,
    lam: np.ndarray,
    root_bound: float,
    upper: Callable[[], float],
    attempt: Callable[[np.ndarray], None],
    *,
    target: float,
    max_nodes: int,
    iterations: int,
    deadline: float,
) -> BranchOutcome:
    """Best-bound-first search over seed-count rules (see the module docstring).

    Parameters
    ----------
    evaluate
        ``evaluate(lam, rule) -> (L, chosen or None, x)``: the Lagrangian under a rule.
    zone
        ``(n,)`` zone of each area (the districts of the best plan).
    k
        Seeds (districts).
    lam
        Multipliers to start from (the root's best).
    root_bound
        The root's proven bound (a floor for every node).
    upper
        The objective of the best plan so far (it may fall as plans are tried).
    attempt
        Called with each node's chosen seeds: tries a plan from them.
    target
        Stop once the least open bound is within this relative gap of ``upper()``.
    max_nodes, iterations
        Nodes solved at most; subgradient iterations per node (the work limits).
    deadline
        ``time.perf_counter()`` safety stop.
    """
    n = zone.size
    nz = int(zone.max()) + 1
    root_rule = SeedRule(
        zone.astype(np.int64),
        np.zeros(nz, dtype=np.int64),
        np.full(nz, k, dtype=np.int64),
        np.zeros(n, dtype=bool),
        np.zeros(n, dtype=bool),
    )
    root, its = _subgradient(evaluate, root_rule, lam, root_bound, upper, target, iterations)
    heap: list[tuple[float, int, _Node]] = [(root.bound, 0, root)]
    serial, nodes, timed_out = 1, 1, False
    checked = (nodes, root.bound)
    while heap:
        bound, _, node = heap[0]
        if bound >= upper() * (1.0 - target) or nodes >= max_nodes:
            break
        if nodes - checked[0] >= _CHECK_EVERY:  # give up when the target is far out of reach
            rate = (bound - checked[1]) / (nodes - checked[0])
            need = upper() * (1.0 - target) - bound
            if nodes >= _CHECK_EVERY and (
                rate <= 0.0 or need / rate > _GIVE_UP * (max_nodes - nodes)
            ):
                break
            checked = (nodes, bound)
        if time.perf_counter() > deadline:
            timed_out = True
            break
        rules = _children(node)
        if not rules:  # nothing fractional left to branch on: its bound stands
            break
        heapq.heappop(heap)
        for rule in rules:
            child, used = _subgradient(
                evaluate, rule, node.lam, node.bound, upper, target, iterations
            )
            its += used
            nodes += 1
            if child.chosen is not None and (nodes <= _ATTEMPT_ALL or nodes % 4 == 0):
                attempt(child.chosen)
            if math.isfinite(child.bound):
                heapq.heappush(heap, (child.bound, serial, child))
                serial += 1
    least = heap[0][0] if heap else math.inf
    return BranchOutcome(least, nodes, its, timed_out)
