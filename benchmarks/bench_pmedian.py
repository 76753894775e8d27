"""Benchmark :func:`nhc_planner.optimize.p_median` on the OR-Library p-median set, side by side.

Run by hand (needs the ``bench`` extra: spopt, pulp, psutil)::

    python benchmarks/bench_pmedian.py --out /tmp/results_pmedian.md
    python benchmarks/bench_pmedian.py --only 1-10,26 --peers none --out /tmp/quick.md
    python benchmarks/bench_pmedian.py --orlib-dir ~/orlib --out benchmarks/results_pmedian.md
    python benchmarks/bench_pmedian.py --seed-offset 100 --peers none --out /tmp/other.md

Instances: the 40 OR-Library p-median instances pmed1-40 (J. E. Beasley, EJOR 21 (1985)
270-273; known optima from OR-Library's ``pmedopt``). Each one is read from
``--orlib-dir/pmedK.txt`` when that file exists, else from ``tests/data_orlib`` (which
ships pmed1 only); a file whose size (vertices, edges, p) is not pmedK's is refused.
``--orlib-dir/sources.txt`` (``pmedK.txt  where it came from`` per line) names each
file's origin in the table. Otherwise a **pmed-like stand-in** of the same size is
generated: a random connected graph with the instance's number of vertices and edges and
integer edge costs uniform in 1..100 (Beasley's recipe), seed ``K``, cost matrix =
all-pairs shortest paths. The stand-ins have no published optimum; the table records
each instance's source, seed and a SHA-256 prefix of its cost matrix so that a rerun can
check it solved the same matrices. ``--seed-offset N`` makes every instance a stand-in of
seed ``K + N`` instead: other instances of the same sizes, to check the method rather
than 40 fixed matrices.

Solvers, one after the other on each instance, in one process:

- ``nhc``: :func:`p_median` (HiGHS, one thread) with ``--limit`` seconds;
- ``spopt + CBC``: PySAL spopt's ``PMedian`` through PuLP's CBC with ``timeLimit=--limit``;
- ``HiGHS full``: HiGHS through ``highspy`` on the plain full model (``x_ij <= y_j``,
  one thread) with ``time_limit=--limit``.

``--peers none`` runs ours only; ``--peers-max-n`` skips the peers above a size (the full
models of n = 900 have 810,000 variables and rows). The load average before and after
each run is recorded: timings on a shared machine are noisy.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.sparse import coo_array
from scipy.sparse.csgraph import shortest_path

# the repository root first, so that this checkout's nhc_planner is the one measured
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _bench import load_text, matrix_digest, read_sources, write_results

from nhc_planner.optimize import p_median
from tests.orlib import read_orlib_pmed

HERE = Path(__file__).resolve().parent
ORLIB = HERE.parent / "tests" / "data_orlib"

# (vertices, edges, p, optimum) of pmed1..pmed40, from OR-Library (pmedinfo, pmedopt)
PMED: dict[int, tuple[int, int, int, int]] = {
    1: (100, 200, 5, 5819), 2: (100, 200, 10, 4093), 3: (100, 200, 10, 4250),
    4: (100, 200, 20, 3034), 5: (100, 200, 33, 1355), 6: (200, 800, 5, 7824),
    7: (200, 800, 10, 5631), 8: (200, 800, 20, 4445), 9: (200, 800, 40, 2734),
    10: (200, 800, 67, 1255), 11: (300, 1800, 5, 7696), 12: (300, 1800, 10, 6634),
    13: (300, 1800, 30, 4374), 14: (300, 1800, 60, 2968), 15: (300, 1800, 100, 1729),
    16: (400, 3200, 5, 8162), 17: (400, 3200, 10, 6999), 18: (400, 3200, 40, 4809),
    19: (400, 3200, 80, 2845), 20: (400, 3200, 133, 1789), 21: (500, 5000, 5, 9138),
    22: (500, 5000, 10, 8579), 23: (500, 5000, 50, 4619), 24: (500, 5000, 100, 2961),
    25: (500, 5000, 167, 1828), 26: (600, 7200, 5, 9917), 27: (600, 7200, 10, 8307),
    28: (600, 7200, 60, 4498), 29: (600, 7200, 120, 3033), 30: (600, 7200, 200, 1989),
    31: (700, 9800, 5, 10086), 32: (700, 9800, 10, 9297), 33: (700, 9800, 70, 4700),
    34: (700, 9800, 140, 3013), 35: (800, 12800, 5, 10400), 36: (800, 12800, 10, 9934),
    37: (800, 12800, 80, 5057), 38: (900, 16200, 5, 11060), 39: (900, 16200, 10, 9423),
    40: (900, 16200, 90, 5128),
}  # fmt: skip


@dataclass(frozen=True)
class Instance:
    """One p-median instance: cost matrix, p and where it came from."""

    name: str
    cost: np.ndarray
    p: int
    source: str  # "OR-Library file ..." or "stand-in, seed K"
    optimum: float | None  # None for stand-ins (no published optimum)

    @property
    def real(self) -> bool:
        """Read from an OR-Library file (not a stand-in)."""
        return self.optimum is not None

    @property
    def digest(self) -> str:
        """First 12 hex digits of the SHA-256 of the cost matrix (float64, C order)."""
        return matrix_digest(self.cost)


@dataclass(frozen=True)
class Row:
    """One solver run on one instance."""

    instance: str
    solver: str
    objective: float
    status: str
    seconds: float
    cpu: float  # CPU seconds of this process (less sensitive to the machine's load)
    load: str
    note: str = ""


def pmed_like(n: int, n_edges: int, seed: int) -> np.ndarray:
    """A random connected graph (n vertices, n_edges edges, costs 1..100) -> distances."""
    rng = np.random.default_rng(seed)
    perm = rng.permutation(n)
    edges: set[tuple[int, int]] = set()
    for k in range(1, n):  # a random spanning tree keeps the graph connected
        u, v = int(perm[k]), int(perm[rng.integers(0, k)])
        edges.add((min(u, v), max(u, v)))
    while len(edges) < n_edges:
        u, v = (int(x) for x in rng.integers(0, n, 2))
        if u != v:
            edges.add((min(u, v), max(u, v)))
    ed = np.array(sorted(edges))
    cost = rng.integers(1, 101, len(ed)).astype(float)
    graph = coo_array((cost, (ed[:, 0], ed[:, 1])), shape=(n, n)).toarray()
    return shortest_path(graph, directed=False)


def load_instance(k: int, orlib_dir: Path, seed_offset: int = 0) -> Instance:
    """pmedK from ``orlib_dir`` or ``tests/data_orlib`` if present, else its stand-in.

    With ``seed_offset`` > 0 the stand-in (seed k + offset) is made even when the file
    exists (other instances of the same size, to check that the method, not the
    instance, is tuned).
    """
    n, n_edges, p, opt = PMED[k]
    if seed_offset == 0:
        for folder in dict.fromkeys([orlib_dir, ORLIB]):  # the given folder first
            path = folder / f"pmed{k}.txt"
            if not path.exists():
                continue
            head = [int(t) for t in path.read_text().split()[:3]]
            if head != [n, n_edges, p]:
                raise SystemExit(f"{path}: header {head}, expected pmed{k}'s {[n, n_edges, p]}")
            cost, p_file = read_orlib_pmed(path)
            where = read_sources(folder).get(f"pmed{k}", "")
            where = where or ("see tests/data_orlib/README.md" if folder == ORLIB else "")
            src = f"OR-Library file {path.name}" + (f" ({where})" if where else "")
            return Instance(f"pmed{k} (n={n}, p={p_file})", cost, p_file, src, opt)
    seed = k + seed_offset
    cost = pmed_like(n, n_edges, seed=seed)
    name = f"pmed{k}-like{'' if seed_offset == 0 else f' #{seed}'} (n={n}, p={p})"
    return Instance(name, cost, p, f"stand-in, seed {seed}", None)


def verdict(row: Row, inst: Instance) -> str:
    """``= published`` when an OR-Library file's objective equals its published optimum."""
    if inst.optimum is None:
        return ""
    if not np.isfinite(row.objective):
        return "no solution"
    return "= published" if row.objective == inst.optimum else f"{row.objective - inst.optimum:+g}"


def run_nhc(inst: Instance, limit: float) -> Row:
    load = load_text()
    t0, c0 = time.perf_counter(), time.process_time()
    sol = p_median(inst.cost, np.ones(inst.cost.shape[0]), inst.p, time_limit_s=limit)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    note = (
        f"{sol.n_candidates} candidates, {sol.tree_nodes} tree nodes, "
        f"{sol.n_levels or 0} radius vars; "
        f"heuristic {sol.heuristic_cost:g}, Lagrangian {sol.lagrangian_bound:.1f}; "
        f"bound {sol.bound:g}; {sol.message}"
    )
    return Row(inst.name, "nhc", sol.objective, sol.status, seconds, cpu, load, note)


def run_spopt(inst: Instance, limit: float) -> Row:
    import pulp
    from spopt.locate import PMedian

    load = load_text()
    n = inst.cost.shape[0]
    t0 = time.perf_counter()
    model = PMedian.from_cost_matrix(inst.cost, np.ones(n), p_facilities=inst.p)
    try:
        model = model.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=limit))
    except RuntimeError:  # spopt raises when CBC stops without a solution it trusts
        seconds = time.perf_counter() - t0
        status = f"no solution at {limit:g} s"
        return Row(inst.name, "spopt + CBC", float("nan"), status, seconds, float("nan"), load)
    seconds = time.perf_counter() - t0
    objective = float(pulp.value(model.problem.objective))
    proven = model.problem.sol_status == pulp.LpSolutionOptimal and seconds < limit * 0.98
    status = "optimal" if proven else f"stopped at {limit:g} s"
    # CBC runs in a child process: its CPU time is not in process_time()
    return Row(inst.name, "spopt + CBC", objective, status, seconds, float("nan"), load)


def run_highs_full(inst: Instance, limit: float) -> Row:
    """HiGHS on the classical model: min sum c_ij x_ij, sum_j x_ij = 1, x_ij <= y_j."""
    import highspy
    from scipy import sparse

    from nhc_planner.optimize._highs import new_highs

    load = load_text()
    t0, c0 = time.perf_counter(), time.process_time()
    n, m = inst.cost.shape
    nx = n * m
    i_idx, j_idx = np.divmod(np.arange(nx), m)
    assign = sparse.csr_array((np.ones(nx), (i_idx, np.arange(nx))), shape=(n, nx + m))
    link_rows = np.r_[np.arange(nx), np.arange(nx)]
    link_cols = np.r_[np.arange(nx), nx + j_idx]
    link_vals = np.r_[np.ones(nx), -np.ones(nx)]
    link = sparse.csr_array((link_vals, (link_rows, link_cols)), shape=(nx, nx + m))
    count = sparse.csr_array((np.ones(m), (np.zeros(m, int), nx + np.arange(m))), shape=(1, nx + m))
    a_mat = sparse.csc_array(sparse.vstack([assign, link, count]))
    a_mat.sort_indices()
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = nx + m, n + nx + 1
    lp.col_cost_ = np.r_[inst.cost.ravel(), np.zeros(m)]
    lp.col_lower_, lp.col_upper_ = np.zeros(nx + m), np.ones(nx + m)
    lp.row_lower_ = np.r_[np.ones(n), np.full(nx, -np.inf), [inst.p]]
    lp.row_upper_ = np.r_[np.ones(n), np.zeros(nx), [inst.p]]
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a_mat.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a_mat.indices.astype(np.int32)
    lp.a_matrix_.value_ = a_mat.data
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = nx + m, n + nx + 1
    lp.integrality_ = [highspy.HighsVarType.kContinuous] * nx + [highspy.HighsVarType.kInteger] * m
    h = new_highs(1, 0, limit, mip_rel_gap=0.0)  # quiet (no banner), one thread
    h.passModel(lp)
    h.run()
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    info = h.getInfo()
    ok = h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    objective = float(info.objective_function_value) if info.primal_solution_status == 2 else np.nan
    status = "optimal" if ok else f"stopped ({h.modelStatusToString(h.getModelStatus())})"
    return Row(inst.name, "HiGHS full", objective, status, seconds, cpu, load)


def parse_only(text: str | None) -> list[int]:
    """``"1-10,26"`` -> [1, ..., 10, 26]; None -> 1..40."""
    if not text:
        return list(PMED)
    out: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        out += list(range(int(lo), int(hi or lo) + 1))
    return [k for k in out if k in PMED]


def write(
    rows: list[Row], insts: dict[str, Instance], out: Path, args: argparse.Namespace, wall: float
) -> None:
    """Write the table (atomically: a temporary file renamed over ``out``)."""
    lines = [
        "# p-median benchmark: OR-Library pmed1-40, nhc vs spopt + CBC vs HiGHS full model",
        "",
        "Written by `benchmarks/bench_pmedian.py` (run by hand); "
        f"limit {args.limit:g} s per solve, one thread each.",
        "",
        f"- Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; load average (1/5/15 min) before each run in the "
        "table, at the end " + load_text() + ".",
        f"- Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; whole run {wall:.0f} s.",
        (
            "- Instances: OR-Library files where present, else pmed-like stand-ins "
            "(same n, edges, p; seed and cost-matrix hash below)."
            if args.seed_offset == 0
            else f"- Instances: pmed-like stand-ins of seed K + {args.seed_offset} "
            "(same n, edges, p as pmedK; seed and cost-matrix hash below)."
        ),
        "- Real OR-Library files: "
        + (", ".join(i.name.split()[0] for i in insts.values() if i.real) or "none")
        + "; stand-ins: "
        + (", ".join(i.name.split()[0] for i in insts.values() if not i.real) or "none")
        + ". A file copied from a public repository (named with its commit in the source "
        "column) counts as the real instance only when the objective equals the published "
        "optimum ('vs optimum' column).",
        "",
        "| instance | source | sha256[:12] | known optimum | solver | objective | vs optimum "
        "| status | seconds | CPU s | load | note |",
        "|---|---|---|---:|---|---:|---|---|---:|---:|---|---|",
    ]
    for r in rows:
        inst = insts[r.instance]
        opt = f"{inst.optimum:g}" if inst.optimum is not None else ""
        lines.append(
            f"| {r.instance} | {inst.source} | {inst.digest} | {opt} | {r.solver} | "
            f"{r.objective:,.0f} | {verdict(r, inst)} | {r.status} | {r.seconds:.2f} | "
            f"{r.cpu:.2f} | {r.load} | {r.note} |"
        )
    write_results(out, lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="results file (Markdown)")
    parser.add_argument("--orlib-dir", type=Path, default=ORLIB)
    parser.add_argument("--only", default=None, help="instance numbers, e.g. 1-10,26")
    parser.add_argument("--limit", type=float, default=60.0, help="seconds per solve")
    parser.add_argument("--peers", choices=["all", "spopt", "highs", "none"], default="all")
    parser.add_argument("--peers-max-n", type=int, default=10_000)
    parser.add_argument(
        "--seed-offset",
        type=int,
        default=0,
        help="stand-ins with seed K + offset for every instance (files ignored when > 0)",
    )
    args = parser.parse_args(argv)
    rows: list[Row] = []
    insts: dict[str, Instance] = {}
    start = time.perf_counter()
    for k in parse_only(args.only):
        inst = load_instance(k, args.orlib_dir, args.seed_offset)
        insts[inst.name] = inst
        runs = [run_nhc]
        if inst.cost.shape[0] <= args.peers_max_n:
            if args.peers in ("all", "spopt"):
                runs.append(run_spopt)
            if args.peers in ("all", "highs"):
                runs.append(run_highs_full)
        for run in runs:
            row = run(inst, args.limit)
            rows.append(row)
            print(f"{row.instance:28s} {row.solver:12s} {row.objective:>12,.0f} {row.status:14s} "
                  f"{row.seconds:7.2f} s {row.cpu:7.2f} cpu  load {row.load}",
                  flush=True)  # fmt: skip
            write(rows, insts, args.out, args, time.perf_counter() - start)
    return 0


if __name__ == "__main__":
    sys.exit(main())
