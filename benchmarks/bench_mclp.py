"""Maximal coverage at ICB scale: nhc-planner's exact core against spopt and HiGHS, side by side.

Run by hand (needs the ``bench`` extra: spopt, pulp)::

    python benchmarks/bench_mclp.py --out /tmp/results_mclp.md
    python benchmarks/bench_mclp.py --seeds 1 2 3 --ps 10 20 30 --out /tmp/r.md
    python benchmarks/bench_mclp.py --pairs 2:28 3:30 --out /tmp/r.md   # chosen (seed, p)

Instances come from the synthetic demo generator (:func:`nhc_planner.demo.demo_region`,
1,500 areas x 1,000 candidate sites, straight-line drive minutes, 20-minute standard),
seed 1 (the one ``bench_optimize`` uses) and others. For every seed and ``p``, one run:

- ``nhc``: :func:`nhc_planner.optimize.max_coverage` (default ``backend="highs"``: exact
  reductions, local search, Lagrangian bound, reduced-cost fixing, HiGHS on the rest);
- ``HiGHS full``: HiGHS (``highspy``, ``threads=1``) on the plain MCLP over the whole
  matrix (every area a row, every site a column), built from arrays;
- ``spopt + CBC``: PySAL spopt's MCLP with PuLP's CBC.

Every solver gets the same cap (``--cap``); a run stopped by it is marked. The file records
the machine's load before and after, each seed's SHA-256 of its cost matrix, and the
speed-ups of ``nhc`` over each peer.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from _bench import load_text, matrix_digest, write_results

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Run:
    """One solver on one (seed, p)."""

    seed: int
    p: int
    solver: str
    objective: float
    status: str
    seconds: float
    note: str = ""


def instance(seed: int) -> tuple[np.ndarray, np.ndarray, str]:
    """Cost matrix (minutes), population and the cost matrix's SHA-256 (first 16 hex)."""
    from nhc_planner.demo import demo_region
    from nhc_planner.travel import straight_line_times

    region = demo_region(seed=seed, n_areas=1500, n_las=6, n_sites=1000)
    times = straight_line_times(region.areas, region.sites, mode="drive", cutoff_min=60.0)
    cost = np.ascontiguousarray(times.matrix(), dtype=np.float64)
    digest = matrix_digest(cost, 16)
    return cost, region.areas["population"].to_numpy(dtype=float), digest


def run_nhc(cost: np.ndarray, pop: np.ndarray, p: int, cap: float) -> tuple[float, str, str]:
    from nhc_planner.optimize import max_coverage

    sol = max_coverage(cost, pop, p, 20.0, time_limit_s=cap)
    note = f"{sol.n_rows} x {sol.n_candidates} after reductions; stage {sol.shortcut or '-'}"
    nodes = re.search(r"(\d+) nodes", sol.message)
    if nodes:
        note += f", {nodes.group(1)} nodes"
    if sol.status != "optimal":
        note += f"; gap {sol.gap:.3%}"
    return sol.objective, sol.status, note


def run_highs_full(cost: np.ndarray, pop: np.ndarray, p: int, cap: float) -> tuple[float, str]:
    import highspy

    from nhc_planner.optimize._mclp import _highs, _pass_mclp

    h = _highs(1, 0, cap)
    _pass_mclp(h, cost <= 20.0, pop, p, integer=True)
    h.run()
    optimal = h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    return float(h.getInfo().objective_function_value), "optimal" if optimal else "cap"


def run_spopt(cost: np.ndarray, pop: np.ndarray, p: int, cap: float) -> tuple[float, str]:
    import pulp
    from spopt.locate import MCLP

    finite = np.where(np.isfinite(cost), cost, 1e6)
    model = MCLP.from_cost_matrix(finite, pop, service_radius=20.0, p_facilities=p)
    start = time.perf_counter()
    try:
        model.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=cap), results=False)
    except RuntimeError:
        return float("nan"), "no solution"
    proven = model.problem.sol_status == pulp.LpSolutionOptimal
    proven = proven and time.perf_counter() - start < 0.98 * cap
    return float(pulp.value(model.problem.objective)), "optimal" if proven else "cap"


def timed(fn: Any, *args: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - start


def write(out: Path, runs: list[Run], meta: dict[str, Any]) -> None:
    """Write the results table atomically (to a temporary file, then rename)."""
    lines = [
        "# Maximal coverage at ICB scale: nhc-planner vs HiGHS (full model) vs spopt",
        "",
        "Written by `benchmarks/bench_mclp.py`; all three solvers in one run, one after the",
        "other on each instance, single-threaded, same cap.",
        "",
        f"- Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; load average at the start {meta['load_start']}, "
        f"now {load_text()}.",
        f"- Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; cap {meta['cap']:g} s.",
        "- Instances: demo generator, 1,500 areas x 1,000 sites, 20-minute standard; "
        + "; ".join(f"seed {s} cost SHA-256 {h}" for s, h in meta["hashes"].items())
        + ".",
        "",
        "| seed | p | solver | objective | status | seconds | nhc speed-up | note |",
        "|---:|---:|---|---:|---|---:|---:|---|",
    ]
    ours = {(r.seed, r.p): r.seconds for r in runs if r.solver == "nhc"}
    for r in runs:
        speed = ""
        if r.solver != "nhc" and (r.seed, r.p) in ours:
            speed = f"{r.seconds / ours[(r.seed, r.p)]:.1f}x" + (
                " (at least)" if r.status == "cap" else ""
            )
        lines.append(
            f"| {r.seed} | {r.p} | {r.solver} | {r.objective:,.0f} | {r.status} | "
            f"{r.seconds:.2f} | {speed} | {r.note} |"
        )
    lines += ["", "Speed-up = peer seconds / nhc seconds on the same instance and p."]
    write_results(out, lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--ps", type=int, nargs="+", default=list(range(10, 36)))
    parser.add_argument(
        "--pairs",
        nargs="+",
        default=None,
        help="seed:p pairs to run instead of every seed with every p",
    )
    parser.add_argument("--cap", type=float, default=120.0, help="seconds per solve")
    parser.add_argument("--peers", nargs="*", default=["highs", "spopt"])
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    meta: dict[str, Any] = {
        "load_start": load_text(),
        "cap": args.cap,
        "hashes": {},
    }
    runs: list[Run] = []
    if args.pairs:
        pairs = [tuple(int(v) for v in pair.split(":")) for pair in args.pairs]
    else:
        pairs = [(seed, p) for seed in args.seeds for p in args.ps]
    seeds = list(dict.fromkeys(seed for seed, _ in pairs))
    for seed in seeds:
        cost, pop, digest = instance(seed)
        meta["hashes"][seed] = digest
        for p in [q for s, q in pairs if s == seed]:
            first = len(runs)
            (obj, status, note), t = timed(run_nhc, cost, pop, p, args.cap)
            runs.append(Run(seed, p, "nhc", obj, status, t, note))
            if "highs" in args.peers:
                (obj, status), t = timed(run_highs_full, cost, pop, p, args.cap)
                runs.append(Run(seed, p, "HiGHS full", obj, status, t))
            if "spopt" in args.peers:
                (obj, status), t = timed(run_spopt, cost, pop, p, args.cap)
                runs.append(Run(seed, p, "spopt + CBC", obj, status, t))
            write(args.out, runs, meta)
            for r in runs[first:]:
                print(
                    f"seed {r.seed} p {r.p:2d} {r.solver:12s} {r.objective:14,.0f} "
                    f"{r.status:8s} {r.seconds:7.2f}",
                    file=sys.stderr,
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
