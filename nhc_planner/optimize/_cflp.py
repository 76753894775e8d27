"""The capacitated facility location solver on HiGHS (``highspy``), from arrays.

Formulation: the strong CFLP of :func:`~nhc_planner.optimize.capacitated_location`.
Which method runs is decided by the instance alone (never by the clock):

* **Up to ``_DIRECT_ARCS`` arcs**: one HiGHS MIP on the full strong model (every link
  ``x_ij <= y_j``); fastest on OR-Library cap41-cap74.
* **Split demand, larger** (:func:`_solve_lagrangian`): a Lagrangian bound relaxing the
  assignment rows (:mod:`._cflp_lagrangian`, fixed iteration count); an incumbent from
  the sites it opens, improved by drop and add-drop moves each evaluated exactly by its
  transportation LP (at most ``_MAX_EVALS`` per pass); a second Lagrangian phase aimed
  at the incumbent; a kernel MIP (:func:`_kernel_search`, node limit) for a better
  incumbent; a bound meeting the incumbent proves it; else Lagrangian site fixing (a
  site whose forced opening or closing pushes the bound above the incumbent is fixed)
  and HiGHS
  MIP over the sites left, started from the incumbent, with links for each point's
  ``_NEAREST`` cheapest arcs and the incumbent's arcs (the others are implied by the
  capacity rows once ``y`` is integral, so the MIP is exact).
* **Single source, larger**: the strong LP over all arcs by column generation (each
  point's cheapest arcs with their links, arcs of negative reduced cost added per round;
  interior point with crossover), then the MIP with reduced-cost tightening of the
  columns and links where the LP's were binding.

Gap tolerance 0; the time limit is a safety stop: the best solution found (heuristic or
MIP) is returned as ``"feasible"`` with its proven bound. Measured in
``benchmarks/results_capacitated_location.md``. Benders decomposition (Fischetti, Ljubić
& Sinnl 2016) was not built this round.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import highspy
import numpy as np
import numpy.typing as npt
from scipy import sparse

from nhc_planner.optimize._cflp_lagrangian import LagrangianResult, fix_sites, lagrangian_bound
from nhc_planner.optimize._common import SolveOptions, infeasible_solution, relative_gap
from nhc_planner.optimize._highs import (
    new_highs,
    pass_model,
    reduced_cost_bounds,
    run,
)
from nhc_planner.optimize._solution import CapacitatedSolution, Status

__all__ = ["solve_cflp_highs"]

_F = npt.NDArray[np.float64]
_I = npt.NDArray[np.int64]
_B = npt.NDArray[np.bool_]

_VIOLATION = 1e-6
_MAX_ROUNDS = 200
_MAX_EVALS = 60
_DIRECT_ARCS = 5000  # up to this many arcs, one MIP on the full strong model
_KERNEL_SITES = 30  # sites of smallest Lagrangian value in the kernel MIP
_KERNEL_NODES = 500  # node limit of the kernel MIP
_LAG_ITERS = 300  # subgradient iterations per Lagrangian phase
_NEAREST = 10  # arcs per demand point in the first restricted LP
_ENTER = 3  # arcs per demand point entering per pricing round
_BIG = 1e9  # cost of serving a point from nowhere (artificial columns)


@dataclass(frozen=True)
class _Cflp:
    """The instance as arrays: ``ny`` site columns then one column per arc."""

    c: _F
    d: _F
    cap: _F
    f: _F
    sites: _I  # allowed sites, column order of y
    fixed: _B  # per allowed site (y column)
    ai: _I  # arc -> demand point
    ay: _I  # arc -> y column
    ac: _F  # arc cost
    single_source: bool

    @property
    def ny(self) -> int:
        return int(self.sites.size)

    @property
    def n_cols(self) -> int:
        return self.ny + int(self.ai.size)

    @property
    def finite(self) -> _B:
        """Per y column: the site has a finite capacity."""
        return np.isfinite(self.cap[self.sites])


def _instance(
    c: _F, d: _F, cap: _F, f: _F, opts: SolveOptions, arcs: _B, single_source: bool
) -> _Cflp:
    sites = np.flatnonzero(opts.allowed).astype(np.int64)
    ycol = np.full(c.shape[1], -1, dtype=np.int64)
    ycol[sites] = np.arange(sites.size)
    ai, aj = np.nonzero(arcs)
    return _Cflp(
        c=c,
        d=d,
        cap=cap,
        f=f,
        sites=sites,
        fixed=opts.fixed_mask[sites],
        ai=ai.astype(np.int64),
        ay=ycol[aj],
        ac=c[ai, aj],
        single_source=single_source,
    )


def _always_linked(p: _Cflp) -> _B:
    """Arcs whose link no capacity row implies: zero demand or a site without capacity."""
    return ~p.finite[p.ay] | (p.d[p.ai] <= 0)


@dataclass(frozen=True)
class _Lp:
    """An LP (or MIP) over the y columns, optional artificials and the arcs ``arcs``."""

    cost: _F
    a_mat: sparse.csr_array
    row_lo: _F
    row_up: _F
    col_lo: _F
    col_up: _F
    arcs: _I  # arc of each x column, in column order
    n_art: int  # artificial columns (one per demand point) after the y columns

    @property
    def x0(self) -> int:
        """Index of the first x column."""
        return int(self.col_lo.size - self.arcs.size)


def _build(p: _Cflp, sel: _B, linked: _B, *, artificial: bool, x_up: _F | None = None) -> _Lp:
    """Assignment, capacity, aggregate-capacity and link rows over the selected arcs.

    Columns: ``y`` per allowed site, then (``artificial``) one column per demand point
    of cost ``_BIG`` that serves it from nowhere, then ``x`` per selected arc. Links
    ``x_k <= y_j`` are rows for the selected arcs in ``linked``.
    """
    n = p.d.size
    arcs = np.flatnonzero(sel)
    n_art = n if artificial else 0
    x0 = p.ny + n_art
    k = np.arange(arcs.size)
    ai, ay = p.ai[arcs], p.ay[arcs]
    fin = p.finite
    n_fin = int(fin.sum())
    cap_row = np.full(p.ny, -1, dtype=np.int64)
    cap_row[fin] = n + np.arange(n_fin)
    on_fin = fin[ay]
    rows = [ai, cap_row[ay[on_fin]], cap_row[fin]]
    cols = [x0 + k, x0 + k[on_fin], np.flatnonzero(fin)]
    vals = [np.ones(k.size), p.d[ai[on_fin]], -p.cap[p.sites[fin]]]
    lo = [np.ones(n), np.full(n_fin, -np.inf)]
    up = [np.ones(n), np.zeros(n_fin)]
    n_rows = n + n_fin
    if artificial:
        rows.append(np.arange(n))
        cols.append(p.ny + np.arange(n))
        vals.append(np.ones(n))
    if fin.all() and p.ny:
        rows.append(np.full(p.ny, n_rows))
        cols.append(np.arange(p.ny))
        vals.append(p.cap[p.sites])
        lo.append(np.array([float(p.d.sum())]))
        up.append(np.array([np.inf]))
        n_rows += 1
    lk = np.flatnonzero(linked[arcs])
    rows += [n_rows + np.arange(lk.size), n_rows + np.arange(lk.size)]
    cols += [x0 + lk, ay[lk]]
    vals += [np.ones(lk.size), -np.ones(lk.size)]
    lo.append(np.full(lk.size, -np.inf))
    up.append(np.zeros(lk.size))
    n_rows += lk.size
    n_cols = x0 + arcs.size
    a_mat = sparse.csr_array(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n_rows, n_cols),
    )
    col_lo = np.zeros(n_cols)
    col_lo[: p.ny] = p.fixed
    col_up = np.ones(n_cols)
    if x_up is not None:
        col_up[x0:] = x_up[arcs]
    cost = np.concatenate([p.f[p.sites], np.full(n_art, _BIG), p.ac[arcs]])
    return _Lp(cost, a_mat, np.concatenate(lo), np.concatenate(up), col_lo, col_up, arcs, n_art)


def _nearest(p: _Cflp, count: int) -> _B:
    """Per demand point, its ``count`` cheapest arcs (ties by site)."""
    order = np.lexsort((p.ay, p.ac, p.ai))
    starts = np.searchsorted(p.ai[order], np.arange(p.d.size))
    rank = np.arange(order.size) - np.repeat(starts, np.diff(np.append(starts, order.size)))
    sel = np.zeros(p.ai.size, dtype=bool)
    sel[order[rank < count]] = True
    return sel


# --------------------------------------------------------------------------- root LP


@dataclass
class _Root:
    status: str  # "optimal", "infeasible" or a limit
    bound: float  # strong LP bound (NaN if not reached)
    value: _F  # LP solution over y then all arcs (empty if none)
    reduced: _F  # reduced costs over y then all arcs
    sel: _B  # arcs the LP holds (each with its link)
    binding: _B  # arcs whose link has a nonzero dual in the final LP
    rounds: int


def _root(p: _Cflp, opts: SolveOptions, deadline: float) -> _Root:
    """Strong LP bound over all arcs by column generation (pricing) of the arcs.

    The restricted LP holds each point's cheapest arcs with their links and an
    artificial column per point; arcs of negative reduced cost join until none is
    left, so the restricted optimum is the optimum over all arcs. If an artificial
    column stays in use, the LP is solved again over all arcs (it decides feasibility).
    """
    sel = _nearest(p, _NEAREST) | _always_linked(p)
    rounds = 0
    status, lp, h = "other", None, None
    while time.perf_counter() < deadline:
        lp = _build(p, sel, sel, artificial=True)
        h = new_highs(opts.threads, opts.seed, deadline - time.perf_counter())
        pass_model(h, lp.cost, lp.a_mat, lp.row_lo, lp.row_up, lp.col_lo, lp.col_up)
        # interior point with crossover: measured 8x faster than the dual simplex on
        # this degenerate LP (capa-sized, see benchmarks/results_capacitated_location.md)
        h.setOptionValue("solver", "ipm")
        status, _ = run(h)
        if status != "optimal":
            break
        reduced = _arc_reduced(p, lp, h)
        new = _entering(p, sel, reduced)
        if not new.any():
            break
        sel |= new
        rounds += 1
    if status == "optimal" and lp is not None and h is not None:
        art = np.asarray(h.getSolution().col_value)[p.ny : p.ny + lp.n_art]
        if (art > 1e-9).any():
            sel = np.ones(p.ai.size, dtype=bool)
            lp = _build(p, sel, sel, artificial=False)
            h = new_highs(opts.threads, opts.seed, deadline - time.perf_counter())
            pass_model(h, lp.cost, lp.a_mat, lp.row_lo, lp.row_up, lp.col_lo, lp.col_up)
            h.setOptionValue("solver", "ipm")
            status, _ = run(h)
    if status != "optimal" or lp is None or h is None:
        empty = np.zeros(0)
        return _Root(status, float("nan"), empty, empty, sel, sel, rounds)
    col_value = np.asarray(h.getSolution().col_value)
    value = np.zeros(p.n_cols)
    value[: p.ny] = col_value[: p.ny]
    value[p.ny + lp.arcs] = col_value[lp.x0 :]
    reduced = np.concatenate([np.asarray(h.getSolution().col_dual)[: p.ny], _arc_reduced(p, lp, h)])
    bound = float(h.getInfo().objective_function_value)
    # links with a zero dual can leave without changing the LP optimum
    link_dual = np.asarray(h.getSolution().row_dual)[lp.row_lo.size - lp.arcs.size :]
    binding = np.zeros(p.ai.size, dtype=bool)
    binding[lp.arcs[np.abs(link_dual) > 1e-9]] = True
    return _Root(status, bound, value, reduced, sel, binding, rounds)


def _entering(p: _Cflp, sel: _B, reduced: _F) -> _B:
    """Arcs to add: per demand point, its ``_ENTER`` most negative reduced costs."""
    cand = np.flatnonzero(~sel & (reduced < -1e-9 * max(1.0, float(np.abs(p.ac).max()))))
    order = cand[np.lexsort((cand, reduced[cand], p.ai[cand]))]
    starts = np.searchsorted(p.ai[order], np.arange(p.d.size))
    counts = np.diff(np.append(starts, order.size))
    rank = np.arange(order.size) - np.repeat(starts, counts)
    new = np.zeros(p.ai.size, dtype=bool)
    new[order[rank < _ENTER]] = True
    return new


def _arc_reduced(p: _Cflp, lp: _Lp, h: highspy.Highs) -> _F:
    """Reduced cost of every arc: HiGHS's for the LP's columns, priced for the others."""
    sol = h.getSolution()
    row_dual = np.asarray(sol.row_dual)
    n = p.d.size
    cap_dual = np.zeros(p.ny)
    fin = p.finite
    cap_dual[fin] = row_dual[n : n + int(fin.sum())]
    reduced = p.ac - row_dual[p.ai] - p.d[p.ai] * cap_dual[p.ay]
    reduced[lp.arcs] = np.asarray(sol.col_dual)[lp.x0 :]
    return reduced


# --------------------------------------------------------------------------- incumbent


def _transport(
    p: _Cflp, open_y: _B, opts: SolveOptions, deadline: float
) -> tuple[float, _F] | None:
    """Cheapest split allocation to the open sites; ``(total cost, x per arc)`` or None."""
    fin = p.finite
    if fin.all() and p.cap[p.sites[open_y]].sum() < p.d.sum() - 1e-9:
        return None
    use = np.flatnonzero(open_y[p.ay])
    n = p.d.size
    if np.unique(p.ai[use]).size < n:
        return None
    k = np.arange(use.size)
    cap_row = np.full(p.ny, -1, dtype=np.int64)
    cap_sites = np.flatnonzero(open_y & fin)
    cap_row[cap_sites] = n + np.arange(cap_sites.size)
    on_fin = fin[p.ay[use]]
    rows = np.concatenate([p.ai[use], cap_row[p.ay[use[on_fin]]]])
    cols = np.concatenate([k, k[on_fin]])
    vals = np.concatenate([np.ones(use.size), p.d[p.ai[use[on_fin]]]])
    a_mat = sparse.csr_array((vals, (rows, cols)), shape=(n + cap_sites.size, use.size))
    lo = np.concatenate([np.ones(n), np.full(cap_sites.size, -np.inf)])
    up = np.concatenate([np.ones(n), p.cap[p.sites[cap_sites]]])
    h = new_highs(opts.threads, opts.seed, deadline - time.perf_counter())
    pass_model(h, p.ac[use], a_mat, lo, up, np.zeros(use.size), np.ones(use.size))
    status, _ = run(h)
    if status != "optimal":
        return None
    x = np.zeros(p.ai.size)
    x[use] = np.clip(np.asarray(h.getSolution().col_value), 0.0, 1.0)
    total = float(p.f[p.sites[open_y]].sum()) + float(h.getInfo().objective_function_value)
    return total, x


@dataclass
class _Incumbent:
    cost: float
    open_y: _B
    x: _F
    evals: int

    def columns(self, p: _Cflp) -> _F:
        return np.concatenate([self.open_y.astype(float), self.x])


def _local_search(
    p: _Cflp, y: _F, site_red: _F, opts: SolveOptions, deadline: float
) -> _Incumbent | None:
    """Sites a relaxation opens (``y > 0``), then drop and add-drop moves, evaluated exactly.

    Drops try the sites of smallest ``y`` first; adds the closed sites of smallest
    ``site_red`` (a reduced cost or Lagrangian value).
    """
    start = (y > 1e-6) | p.fixed
    evals = 1
    best = _transport(p, start, opts, deadline)
    if best is None:
        start = np.ones(p.ny, dtype=bool)
        best = _transport(p, start, opts, deadline)
        evals += 1
        if best is None:
            return None
    inc = _Incumbent(best[0], start, best[1], evals)

    def attempt(cand: _B) -> bool:
        if inc.evals >= _MAX_EVALS or time.perf_counter() > deadline:
            return False
        inc.evals += 1
        out = _transport(p, cand, opts, deadline)
        if out is not None and out[0] < inc.cost - 1e-9 * max(1.0, abs(inc.cost)):
            inc.cost, inc.open_y, inc.x = out[0], cand, out[1]
            return True
        return False

    # drop: least-used first (LP value, then index)
    for j in np.lexsort((np.arange(p.ny), y)):
        if inc.open_y[j] and not p.fixed[j]:
            cand = inc.open_y.copy()
            cand[j] = False
            attempt(cand)
    # add one closed site with a small reduced cost, then drop the least loaded other
    closed = np.flatnonzero(~inc.open_y)
    red = site_red[closed]
    for j in closed[np.lexsort((closed, red))][:10]:
        cand = inc.open_y.copy()
        cand[j] = True
        if attempt(cand):
            continue
        load = np.bincount(p.ay, weights=inc.x * p.d[p.ai], minlength=p.ny)
        others = np.flatnonzero(inc.open_y & ~p.fixed)
        if others.size:
            drop = others[np.lexsort((others, load[others]))][0]
            cand[drop] = False
            attempt(cand)
    return inc


# --------------------------------------------------------------------------- MIP


@dataclass
class _Mip:
    status: str
    cost: float
    cols: _F | None
    dual: float
    nodes: int
    arcs: int


def _full_bounds(p: _Cflp) -> tuple[_F, _F]:
    """Bounds over y then all arcs."""
    lo = np.zeros(p.n_cols)
    lo[: p.ny] = p.fixed
    return lo, np.ones(p.n_cols)


def _tighten(p: _Cflp, root: _Root, upper: float) -> tuple[_F, _F, int, int]:
    """Bounds over y then all arcs, tightened by reduced costs against ``upper``.

    Arcs of sites the reduced costs keep closed get the upper bound 0.
    """
    lo, up = _full_bounds(p)
    slack = upper - root.bound + 1e-7 * max(1.0, abs(upper))
    new_lo, new_up = reduced_cost_bounds(root.value, root.reduced, lo, up, max(slack, 0.0))
    # binary columns round inwards; shares keep a margin for the solver's tolerances
    ints = np.zeros(p.n_cols, dtype=bool)
    ints[: p.ny] = True
    if p.single_source:
        ints[:] = True
    new_up[ints] = np.floor(new_up[ints] + 1e-9)
    new_lo[ints] = np.ceil(new_lo[ints] - 1e-9)
    cont = ~ints
    new_up[cont] = np.minimum(1.0, new_up[cont] * (1 + 1e-6) + 1e-9)
    new_up[p.ny :][new_up[: p.ny][p.ay] < 0.5] = 0.0
    closed = int(np.sum((new_up[: p.ny] < 0.5) & (up[: p.ny] > 0.5)))
    opened = int(np.sum((new_lo[: p.ny] > 0.5) & (lo[: p.ny] < 0.5)))
    return new_lo, new_up, closed, opened


def _mip(
    p: _Cflp,
    links: _B,
    lo: _F,
    up: _F,
    start: _F | None,
    opts: SolveOptions,
    deadline: float,
    max_nodes: int | None = None,
) -> _Mip:
    """Branch and bound over the arcs left open by ``up``, links where the LP had them.

    ``lo``, ``up`` and ``start`` run over y then all arcs; the returned columns too.
    """
    keep = up[p.ny :] > 0
    lp = _build(p, keep, links | _always_linked(p), artificial=False, x_up=up[p.ny :])
    lp.col_lo[: p.ny] = lo[: p.ny]
    lp.col_up[: p.ny] = up[: p.ny]
    h = new_highs(opts.threads, opts.seed, deadline - time.perf_counter())
    pass_model(h, lp.cost, lp.a_mat, lp.row_lo, lp.row_up, lp.col_lo, lp.col_up)
    n_int = lp.col_lo.size if p.single_source else p.ny
    ints = np.arange(n_int, dtype=np.int32)
    h.changeColsIntegrality(ints.size, ints, np.ones(ints.size, dtype=np.uint8))
    h.setOptionValue("mip_rel_gap", 0.0)
    if max_nodes is not None:
        h.setOptionValue("mip_max_nodes", int(max_nodes))
    if start is not None:
        local = np.concatenate([start[: p.ny], start[p.ny + lp.arcs]])
        cols = np.arange(local.size, dtype=np.int32)
        h.setSolution(int(local.size), cols, local)
    status, _ = run(h)
    info = h.getInfo()
    sol = None
    cost = float("inf")
    if info.primal_solution_status == 2:  # feasible
        val = np.asarray(h.getSolution().col_value)
        sol = np.zeros(p.n_cols)
        sol[: p.ny] = val[: p.ny]
        sol[p.ny + lp.arcs] = val[lp.x0 :]
        cost = float(info.objective_function_value)
    dual = float(info.mip_dual_bound)
    dual = dual if np.isfinite(dual) else float("nan")
    return _Mip(status, cost, sol, dual, int(info.mip_node_count), int(lp.arcs.size))


# --------------------------------------------------------------------------- driver


def solve_cflp_highs(
    c: _F,
    d: _F,
    cap: _F,
    f: _F,
    opts: SolveOptions,
    arcs: _B,
    *,
    single_source: bool,
) -> CapacitatedSolution:
    """Solve the validated CFLP (see the module docstring for the method)."""
    t0 = time.perf_counter()
    deadline = t0 + opts.time_limit_s
    n = c.shape[0]
    p = _instance(c, d, cap, f, opts, arcs, single_source)
    if p.ai.size <= _DIRECT_ARCS:
        # small: HiGHS on the full strong model proves it faster than the stages below
        lo, up = _full_bounds(p)
        every = np.ones(p.ai.size, dtype=bool)
        direct = _mip(p, every, lo, up, None, opts, deadline)
        root = _Root("optimal", float("nan"), np.zeros(0), np.zeros(0), every, every, 0)
        words = [f"full strong model ({p.ai.size} arcs, every link)"]
        words.append(f"MIP {direct.status} after {direct.nodes} node(s)")
        return _finish(p, root, None, direct, words, t0)
    if not single_source:
        return _solve_lagrangian(p, opts, deadline, t0)
    root = _root(p, opts, deadline)
    words = [
        f"LP bound {root.bound:.10g} over {int(root.sel.sum())} of {p.ai.size} arcs "
        f"after {root.rounds} pricing round(s) ({time.perf_counter() - t0:.1f} s)"
    ]
    if root.status == "infeasible":
        explanation = "no choice of open sites can serve every demand point within the capacities"
        if single_source:
            explanation += " with single-source assignment"
        return infeasible_solution(
            n,
            explanation + " (the LP relaxation is infeasible)",
            seconds=time.perf_counter() - t0,
            kind=CapacitatedSolution,
            backend="highs",
            message="HiGHS (highspy): LP relaxation infeasible",
        )
    inc = None
    if root.status == "optimal" and not single_source:
        inc = _local_search(p, root.value[: p.ny], root.reduced[: p.ny], opts, deadline)
        if inc is not None:
            words.append(
                f"heuristic {inc.cost:.10g} from {inc.evals} allocation LPs "
                f"({time.perf_counter() - t0:.1f} s)"
            )
    mip: _Mip | None = None
    if root.status == "optimal" and time.perf_counter() < deadline:
        upper = inc.cost if inc is not None else float("inf")
        lo, up = _full_bounds(p)
        if np.isfinite(upper):
            lo, up, closed, opened = _tighten(p, root, upper)
            words.append(f"reduced costs close {closed} and open {opened} site(s)")
        start = inc.columns(p) if inc is not None else None
        mip = _mip(p, root.binding, lo, up, start, opts, deadline)
        words.append(f"MIP over {mip.arcs} arcs {mip.status} after {mip.nodes} node(s)")
    return _finish(p, root, inc, mip, words, t0)


def _kernel_search(
    p: _Cflp, lag: LagrangianResult, inc: _Incumbent, opts: SolveOptions, deadline: float
) -> _Incumbent | None:
    """A better incumbent: the MIP restricted to a kernel of promising sites and arcs.

    Kernel: the incumbent's sites and the ``_KERNEL_SITES`` sites of smallest Lagrangian
    value; per point its ``_NEAREST`` cheapest arcs to them plus the incumbent's arcs
    (so the incumbent stays feasible). A node limit, not the clock, ends it.
    """
    keep_site = inc.open_y.copy()
    keep_site[np.lexsort((np.arange(p.ny), lag.v))[:_KERNEL_SITES]] = True
    on = keep_site[p.ay]
    sub = replace(p, ai=p.ai[on], ay=p.ay[on], ac=p.ac[on])
    arcs = np.zeros(p.ai.size, dtype=bool)
    arcs[np.flatnonzero(on)[_nearest(sub, _NEAREST)]] = True
    arcs |= inc.x > 0
    lo, up = _full_bounds(p)
    up[: p.ny][~keep_site] = 0.0
    up[p.ny :][~arcs] = 0.0
    lo[: p.ny][~keep_site] = 0.0
    mip = _mip(p, arcs, lo, up, inc.columns(p), opts, deadline, max_nodes=_KERNEL_NODES)
    if mip.cols is None or mip.cost >= inc.cost - 1e-9 * max(1.0, abs(inc.cost)):
        return None
    y = mip.cols[: p.ny] > 0.5
    return _Incumbent(mip.cost, y, mip.cols[p.ny :], inc.evals)


def _solve_lagrangian(
    p: _Cflp, opts: SolveOptions, deadline: float, t0: float
) -> CapacitatedSolution:
    """Split demand, large: Lagrangian bound, local search, site fixing, MIP on what is left."""
    n = p.d.size
    dense = np.full((n, p.ny), np.inf)
    dense[p.ai, p.ay] = p.ac
    cap, f = p.cap[p.sites], p.f[p.sites]
    demand = float(p.d.sum())
    lag = lagrangian_bound(
        dense, p.d, cap, f, p.fixed, np.inf, iterations=_LAG_ITERS, deadline=deadline
    )
    words = [f"Lagrangian bound {lag.bound:.10g}"]
    inc = _local_search(p, lag.y, lag.v, opts, deadline)
    if inc is None:
        if time.perf_counter() < deadline:
            # no allocation fits even with every allowed site open
            return infeasible_solution(
                n,
                "no choice of open sites can serve every demand point within the capacities "
                "(not even all allowed sites together)",
                seconds=time.perf_counter() - t0,
                kind=CapacitatedSolution,
                backend="highs",
                message="HiGHS (highspy): the allocation LP with every site open is infeasible",
            )
        none = np.zeros(p.ai.size, dtype=bool)
        stopped = _Root("time_limit", lag.bound, np.zeros(0), np.zeros(0), none, none, 0)
        return _finish(p, stopped, None, None, words, t0)
    words.append(
        f"heuristic {inc.cost:.10g} from {inc.evals} allocation LPs "
        f"({time.perf_counter() - t0:.1f} s)"
    )
    lag2 = lagrangian_bound(
        dense, p.d, cap, f, p.fixed, inc.cost, iterations=_LAG_ITERS, u0=lag.u, deadline=deadline
    )
    if lag2.bound > lag.bound:
        lag = lag2
    kernel = _kernel_search(p, lag, inc, opts, deadline)
    if kernel is not None:
        inc = kernel
        words.append(f"kernel MIP {inc.cost:.10g} ({time.perf_counter() - t0:.1f} s)")
        lag3 = lagrangian_bound(
            dense,
            p.d,
            cap,
            f,
            p.fixed,
            inc.cost,
            iterations=_LAG_ITERS,
            u0=lag.u,
            deadline=deadline,
        )
        lag = lag3 if lag3.bound > lag.bound else lag
    if lag.bound >= inc.cost - 1e-9 * max(1.0, abs(inc.cost)):
        words.append(f"Lagrangian bound {lag.bound:.10g} meets the incumbent: proven")
        proven = _Mip("optimal", inc.cost, inc.columns(p), lag.bound, 0, 0)
        none = np.zeros(p.ai.size, dtype=bool)
        done = _Root("optimal", lag.bound, np.zeros(0), np.zeros(0), none, none, 0)
        return _finish(p, done, inc, proven, words, t0)
    closed, opened = fix_sites(lag, cap, p.fixed, demand, inc.cost)
    words.append(
        f"Lagrangian bound {lag.bound:.10g} closes {int(closed.sum())} and opens "
        f"{int(opened.sum())} site(s) ({time.perf_counter() - t0:.1f} s)"
    )
    lo, up = _full_bounds(p)
    lo[: p.ny][opened] = 1.0
    up[: p.ny][closed] = 0.0
    up[p.ny :][closed[p.ay]] = 0.0
    live = up[p.ny :] > 0
    sub = replace(p, ai=p.ai[live], ay=p.ay[live], ac=p.ac[live])
    links = _nearest(sub, _NEAREST)
    links_all = np.zeros(p.ai.size, dtype=bool)
    links_all[np.flatnonzero(live)[links]] = True
    links_all |= inc.x > 0
    mip = None
    if time.perf_counter() < deadline:
        mip = _mip(p, links_all, lo, up, inc.columns(p), opts, deadline)
        words.append(f"MIP over {mip.arcs} arcs {mip.status} after {mip.nodes} node(s)")
    root = _Root("optimal", lag.bound, np.zeros(0), np.zeros(0), links_all, links_all, 0)
    return _finish(p, root, inc, mip, words, t0)


def _finish(
    p: _Cflp,
    root: _Root,
    inc: _Incumbent | None,
    mip: _Mip | None,
    words: list[str],
    t0: float,
) -> CapacitatedSolution:
    """Best of incumbent and MIP, its proven bound and a plain-words message."""
    n = p.d.size
    cols = None
    cost = float("inf")
    if inc is not None:
        cols, cost = inc.columns(p), inc.cost
    if (
        mip is not None
        and mip.cols is not None
        and (cols is None or mip.cost < cost - 1e-9 * max(1.0, cost))
    ):
        cols, cost = mip.cols, mip.cost
    seconds = time.perf_counter() - t0
    if mip is not None and mip.status == "infeasible" and cols is None:
        explanation = "no choice of open sites can serve every demand point within the capacities"
        if p.single_source:
            explanation += " with single-source assignment"
        return infeasible_solution(
            n,
            explanation,
            seconds=seconds,
            kind=CapacitatedSolution,
            backend="highs",
            message="HiGHS (highspy): " + "; ".join(words),
        )
    bound = root.bound if np.isfinite(root.bound) else float("nan")
    proven = mip is not None and mip.status == "optimal"
    if mip is not None and np.isfinite(mip.dual) and cols is not None:
        # the MIP's bound holds for solutions no worse than the incumbent it was given
        bound = max(bound, min(mip.dual, cost)) if np.isfinite(bound) else min(mip.dual, cost)
    if cols is None:
        return CapacitatedSolution(
            open=np.zeros(0, dtype=np.int64),
            assignment=np.full(n, -1, dtype=np.int64),
            objective=float("nan"),
            bound=bound,
            gap=float("nan"),
            status="time_limit_no_solution",
            solve_seconds=seconds,
            backend="highs",
            message=f"HiGHS (highspy): no solution within the limit; {'; '.join(words)}",
        )
    status: Status = "optimal" if proven else "feasible"
    return _solution(p, cols, status, bound, seconds, "; ".join(words))


def _solution(
    p: _Cflp, cols: _F, status: Status, bound: float, seconds: float, words: str
) -> CapacitatedSolution:
    """Read columns back into a :class:`CapacitatedSolution`."""
    n, m = p.c.shape
    open_mask = np.zeros(m, dtype=bool)
    open_mask[p.sites[cols[: p.ny] > 0.5]] = True
    fractions = np.zeros((n, m))
    x = np.clip(cols[p.ny :], 0.0, 1.0)
    x[x < 1e-9] = 0.0
    fractions[p.ai, p.sites[p.ay]] = x
    fractions[:, ~open_mask] = 0.0
    if p.single_source:
        fractions = np.round(fractions)
    fractions /= fractions.sum(axis=1, keepdims=True)
    assignment = np.argmax(fractions, axis=1).astype(np.int64)
    load = (fractions * p.d[:, np.newaxis]).sum(axis=0)
    opening = float(p.f[open_mask].sum())
    allocation = float(np.sum(np.where(fractions > 0, p.c, 0.0) * fractions))
    objective = opening + allocation
    with np.errstate(divide="ignore", invalid="ignore"):
        utilisation = np.where(open_mask & (p.cap > 0), load / p.cap, np.nan)
    if status == "optimal":
        bound = objective
    else:
        bound = min(bound, objective) if np.isfinite(bound) else bound
    gap = 0.0 if status == "optimal" else relative_gap(objective, bound)
    head = "proven optimal" if status == "optimal" else f"stopped by the time limit, gap {gap:.3%}"
    return CapacitatedSolution(
        open=np.flatnonzero(open_mask).astype(np.int64),
        assignment=assignment,
        objective=objective,
        bound=bound,
        gap=gap,
        status=status,
        solve_seconds=seconds,
        fractions=fractions,
        backend="highs",
        message=f"HiGHS (highspy): {head} in {seconds:.2f} s; {words}",
        load=load,
        utilisation=utilisation,
        opening_cost=opening,
        allocation_cost=allocation,
    )
