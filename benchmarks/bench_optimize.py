"""Benchmark the array-level models against PySAL spopt (CBC through PuLP), side by side.

Run by hand (needs the ``bench`` extra: spopt, pulp)::

    python benchmarks/bench_optimize.py            # writes benchmarks/results_optimize.md
    python benchmarks/bench_optimize.py --spopt-cap 120 --out /tmp/results.md

Instances come from the synthetic demo generator (:func:`nhc_planner.demo.demo_region`)
with straight-line drive times (:func:`nhc_planner.travel.straight_line_times`), so both
solvers see the identical cost matrix:

- ICB scale: 1,500 areas x 1,000 candidate sites, 20-minute standard, MCLP with
  p = 30, 20 and 25 (ours with the default exact core and, at p = 20, the reduced model
  through OR-Tools' CBC), LSCP; every p from 10 to 35 on several seeds, against HiGHS
  on the full model too, is ``bench_mclp.py``;
- p-median: 400 areas x 400 candidate sites (complete matrix), p = 5;
- the OR-Library instances in ``tests/data_orlib`` (pmed1, cap41) with their known optima.

spopt gets a wall-clock cap (``--spopt-cap``, default 300 s); when CBC stops at the cap
the table says so. Our models run with ``threads=1`` like CBC's default.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from _bench import write_results

from nhc_planner.optimize import capacitated_location, max_coverage, p_median, set_cover

HERE = Path(__file__).resolve().parent
ORLIB = HERE.parent / "tests" / "data_orlib"


@dataclass(frozen=True)
class Row:
    """One solver run on one instance."""

    model: str
    instance: str
    solver: str
    objective: float
    status: str
    seconds: float
    note: str = ""


def demo_matrix(seed: int, n_areas: int, n_sites: int, cutoff: float) -> tuple[np.ndarray, Any]:
    """Drive minutes (straight line) from the demo areas to the demo sites, and population."""
    from nhc_planner.demo import demo_region
    from nhc_planner.travel import straight_line_times

    n_las = max(1, min(6, n_areas // 250))
    region = demo_region(seed=seed, n_areas=n_areas, n_las=n_las, n_sites=n_sites)
    times = straight_line_times(region.areas, region.sites, mode="drive", cutoff_min=cutoff)
    return times.matrix(), region.areas["population"].to_numpy(dtype=float)


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def run_spopt(kind: str, cost: np.ndarray, weights: np.ndarray, p: int, radius: float, cap: float):
    """Solve with spopt + CBC (PuLP); return (objective, status, seconds, note)."""
    import pulp
    from spopt.locate import LSCP, MCLP, PMedian

    solver = pulp.PULP_CBC_CMD(msg=False, timeLimit=cap)
    finite = np.where(np.isfinite(cost), cost, 1e6)  # spopt needs a finite matrix
    start = time.perf_counter()
    if kind == "mclp":
        model = MCLP.from_cost_matrix(finite, weights, service_radius=radius, p_facilities=p)
    elif kind == "lscp":
        model = LSCP.from_cost_matrix(finite, service_radius=radius)
    else:
        model = PMedian.from_cost_matrix(finite, weights, p_facilities=p)
    try:
        model.solve(solver, results=False)
    except RuntimeError as exc:  # spopt raises when CBC reports no solution
        return float("nan"), "no solution", time.perf_counter() - start, str(exc)[:60]
    seconds = time.perf_counter() - start
    objective = float(pulp.value(model.problem.objective))
    proven = model.problem.sol_status == pulp.LpSolutionOptimal and seconds < cap * 0.98
    status = "optimal" if proven else f"stopped at {cap:g} s cap"
    return objective, status, seconds, ""


def bench_icb(rows: list[Row], cap: float) -> None:
    (cost, pop), build = timed(lambda: demo_matrix(1, 1500, 1000, 60.0))
    name = f"demo seed 1, 1500 x 1000, 20 min (built in {build:.1f} s)"
    for p in (30, 20, 25):
        model = f"MCLP p={p}"
        sol, t = timed(lambda p=p: max_coverage(cost, pop, p, 20.0, time_limit_s=120))
        rows.append(Row(model, name, _mclp_solver(sol), sol.objective, sol.status, t, _mclp(sol)))
        if p == 20:  # the exact core against the reduced model through OR-Tools' CBC
            sol, t = timed(
                lambda p=p: max_coverage(cost, pop, p, 20.0, time_limit_s=120, backend="cbc")
            )
            rows.append(
                Row(model, name, _mclp_solver(sol), sol.objective, sol.status, t, _mclp(sol))
            )
        obj, status, t, note = run_spopt("mclp", cost, pop, p, 20.0, cap)
        rows.append(Row(model, name, "spopt + CBC", obj, status, t, note))

    # LSCP: areas no site reaches within 20 min make it infeasible for both; drop them
    ok = (cost <= 20.0).any(axis=1)
    sol, t = timed(lambda: set_cover(cost[ok], 20.0, time_limit_s=120))
    note = f"{int((~ok).sum())} unreachable areas dropped; " + _size(sol)
    rows.append(Row("LSCP", name, "nhc (HiGHS)", sol.objective, sol.status, t, note))
    obj, status, t, note = run_spopt("lscp", cost[ok], pop[ok], 0, 20.0, cap)
    rows.append(Row("LSCP", name, "spopt + CBC", obj, status, t, note))


def bench_pmedian(rows: list[Row], cap: float) -> None:
    (cost, pop), build = timed(lambda: demo_matrix(2, 400, 400, np.inf))
    name = f"demo seed 2, 400 x 400, complete (built in {build:.1f} s)"
    sol, t = timed(lambda: p_median(cost, pop, 5, time_limit_s=120))
    note = f"{sol.n_candidates} candidates after Lagrangian reduction"
    rows.append(Row("p-median p=5", name, "nhc (HiGHS)", sol.objective, sol.status, t, note))
    sol, t = timed(lambda: p_median(cost, pop, 5, time_limit_s=60, lagrangian_iterations=0))
    note = "radius MIP only (no Lagrangian reduction), 60 s limit"
    rows.append(Row("p-median p=5", name, "nhc (HiGHS)", sol.objective, sol.status, t, note))
    obj, status, t, note = run_spopt("pmedian", cost, pop, 5, 0.0, cap)
    rows.append(Row("p-median p=5", name, "spopt + CBC", obj, status, t, note))


def bench_orlib(rows: list[Row]) -> None:
    sys.path.insert(0, str(HERE.parent))  # the repository root: tests import tests.builders
    from tests.orlib import read_orlib_cap, read_orlib_pmed

    cost, p = read_orlib_pmed(ORLIB / "pmed1.txt")
    sol, t = timed(lambda: p_median(cost, np.ones(cost.shape[0]), p))
    rows.append(
        Row("p-median p=5", "OR-Library pmed1 (opt 5819)", "nhc", sol.objective, sol.status, t)
    )
    c, d, s, f = read_orlib_cap(ORLIB / "cap41.txt")
    sol, t = timed(lambda: capacitated_location(c, d, s, f))
    rows.append(
        Row("CFLP", "OR-Library cap41 (opt 1040444.375)", "nhc", sol.objective, sol.status, t)
    )


def _mclp_solver(sol: Any) -> str:
    return f"nhc ({sol.backend or '-'})"


def _mclp(sol: Any) -> str:
    note = _size(sol)
    if sol.shortcut:
        note += f"; proven by stage {sol.shortcut}"
    if sol.status != "optimal" and np.isfinite(sol.gap):
        note += f"; gap {sol.gap:.3%} at the 120 s limit"
    return note


def _size(sol: Any) -> str:
    return f"model {sol.n_rows} rows x {sol.n_candidates} sites"


def write(rows: list[Row], out: Path, cap: float, wall: float) -> None:
    load = os.getloadavg()
    lines = [
        "# Optimiser benchmarks: nhc-planner vs PySAL spopt",
        "",
        "Written by `benchmarks/bench_optimize.py` (run by hand). Both solvers see the same",
        "cost matrices, built by the synthetic demo generator with straight-line drive times.",
        f"spopt uses its default CBC through PuLP with a {cap:g} s cap; ours run single-threaded.",
        "",
        f"- Machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; load average at the end "
        f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (**shared machine**: other "
        "developers' sessions were running, so times are noisy).",
        f"- Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; whole run {wall:.0f} s.",
        "",
        "| model | instance | solver | objective | status | seconds | speed-up | note |",
        "|---|---|---|---:|---|---:|---:|---|",
    ]
    ours: dict[tuple[str, str], float] = {}
    for r in rows:
        if r.solver.startswith("nhc") and (r.model, r.instance) not in ours:
            ours[(r.model, r.instance)] = r.seconds
    for r in rows:
        speed = ""
        if r.solver.startswith("spopt") and (r.model, r.instance) in ours:
            factor = r.seconds / ours[(r.model, r.instance)]
            speed = f"{factor:.1f}x" + (" (at least)" if "cap" in r.status else "")
        lines.append(
            f"| {r.model} | {r.instance} | {r.solver} | {r.objective:,.3f} | {r.status} | "
            f"{r.seconds:.2f} | {speed} | {r.note} |"
        )
    lines.append("")
    lines.append("Speed-up = spopt seconds / nhc seconds (first nhc row of the same instance).")
    write_results(out, lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spopt-cap", type=float, default=300.0, help="seconds per spopt solve")
    parser.add_argument("--out", type=Path, default=HERE / "results_optimize.md")
    parser.add_argument("--only", choices=["icb", "pmedian", "orlib"], default=None)
    args = parser.parse_args(argv)
    rows: list[Row] = []
    start = time.perf_counter()
    steps: list[tuple[str, Callable[[], None]]] = [
        ("orlib", lambda: bench_orlib(rows)),
        ("icb", lambda: bench_icb(rows, args.spopt_cap)),
        ("pmedian", lambda: bench_pmedian(rows, args.spopt_cap)),
    ]
    for name, step in steps:
        if args.only in (None, name):
            step()
            # write after every step so a long or failed spopt run loses nothing
            write(rows, args.out, args.spopt_cap, time.perf_counter() - start)
    for r in rows:
        print(f"{r.model:14s} {r.solver:12s} {r.objective:16,.3f} {r.status:22s} {r.seconds:8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
