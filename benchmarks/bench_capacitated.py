"""Benchmark capacitated facility location (split demand) on OR-Library instances, side by side.

Run by hand (no pytest or hypothesis needed)::

    python benchmarks/bench_capacitated.py --out benchmarks/results_capacitated_location.md
    python benchmarks/bench_capacitated.py --orlib-dir ~/orlib --out /tmp/cap.md   # more files

Solvers, each on the same arrays in one run:

- ``nhc``: :func:`nhc_planner.optimize.capacitated_location` (HiGHS through highspy:
  strong LP by column generation, allocation-LP local search, reduced-cost tightening,
  MIP from the incumbent);
- ``HiGHS full``: HiGHS on the plain strong model (every ``x_ij <= y_j`` link, one MIP
  with gap tolerance 0), built from the same arrays;
- PySAL spopt has no capacitated facility location model with opening costs (its
  ``PMedian`` takes capacities but needs ``p`` and has no fixed costs), so it is not run.

Instances:

- OR-Library cap41-cap134 (16, 25 and 50 sites x 50 customers). Each family of the set
  (cap41-74: 16 sites; cap81-104: 25; cap111-134: 50) shares its customer data (demands and
  costs) and one site whose fixed cost is 0; its instances differ only in the capacity
  (cap4x, cap8x, cap11x 5000; cap51 10000; cap6x, cap9x, cap12x 15000; cap7x, cap10x,
  cap13x 58268, the total demand) and the fixed cost of the other sites (x1 7500, x2 12500,
  x3 17500, x4 25000; cap51 17500). An instance is read from its own file when one is found
  (``--orlib-dir``, then ``tests/data_orlib``, which ships cap41); otherwise it is **derived**
  from a real file of its family with its capacity and fixed cost put in (the table says
  which), and skipped when its family has no file at all;
- any other ``cap*.txt`` in those folders (OR-Library format), e.g. capa/capb/capc;
- capa-sized synthetic instances (1,000 customers x 100 sites; ``--large``): points
  uniform in a 1000 x 1000 square, integer demands 1..99, cost = demand x distance,
  fixed costs uniform in [1.36e6, 2.26e6] (the range of capa's), capacity as given;
  seeded, with a hash of the cost matrix. They are *not* the published capa/b/c.

Where each file came from: ``--orlib-dir/sources.txt`` when present, one line per file,
``capNN.txt  where it came from`` (the files themselves stay outside the repository).

Published optima: cap41-cap134 from OR-Library's ``capopt`` (J. E. Beasley,
http://people.brunel.ac.uk/~mastjjb/jeb/orlib/capinfo.html). capa/capb/capc (split
demand) depend on the capacity put into the file; the values below are those cited
for the 8000/5000/5000 versions by the literature (see ``PUBLISHED`` notes) and are
checked only when such a file is given.
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

from nhc_planner.optimize import capacitated_location

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root
from _bench import load_text, matrix_digest, read_sources, write_results

from tests.orlib import read_orlib_cap

HERE = Path(__file__).resolve().parent
ORLIB = HERE.parent / "tests" / "data_orlib"

PUBLISHED: dict[str, float] = {
    "cap41": 1040444.375,
    "cap42": 1098000.450,
    "cap43": 1153000.450,
    "cap44": 1235500.450,
    "cap51": 1025208.225,
    "cap61": 932615.750,
    "cap62": 977799.400,
    "cap63": 1014062.050,
    "cap64": 1045650.250,
    "cap71": 932615.750,
    "cap72": 977799.400,
    "cap73": 1010641.450,
    "cap74": 1034976.975,
    "cap81": 838499.288,
    "cap82": 910889.563,
    "cap83": 975889.563,
    "cap84": 1069369.525,
    "cap91": 796648.438,
    "cap92": 855733.500,
    "cap93": 896617.538,
    "cap94": 946051.325,
    "cap101": 796648.437,
    "cap102": 854704.200,
    "cap103": 893782.112,
    "cap104": 928941.750,
    "cap111": 826124.713,
    "cap112": 901377.213,
    "cap113": 970567.750,
    "cap114": 1063356.488,
    "cap121": 793439.563,
    "cap122": 852524.625,
    "cap123": 895302.325,
    "cap124": 946051.325,
    "cap131": 793439.562,
    "cap132": 851495.325,
    "cap133": 893076.712,
    "cap134": 928941.750,
}
"""OR-Library ``capopt`` optima (split demand)."""

# (sites, capacity, fixed cost of every site but the free one) of each published instance
FAMILIES: dict[str, tuple[int, float, float]] = {
    "cap41": (16, 5000, 7500), "cap42": (16, 5000, 12500), "cap43": (16, 5000, 17500),
    "cap44": (16, 5000, 25000), "cap51": (16, 10000, 17500), "cap61": (16, 15000, 7500),
    "cap62": (16, 15000, 12500), "cap63": (16, 15000, 17500), "cap64": (16, 15000, 25000),
    "cap71": (16, 58268, 7500), "cap72": (16, 58268, 12500), "cap73": (16, 58268, 17500),
    "cap74": (16, 58268, 25000),
    "cap81": (25, 5000, 7500), "cap82": (25, 5000, 12500), "cap83": (25, 5000, 17500),
    "cap84": (25, 5000, 25000), "cap91": (25, 15000, 7500), "cap92": (25, 15000, 12500),
    "cap93": (25, 15000, 17500), "cap94": (25, 15000, 25000), "cap101": (25, 58268, 7500),
    "cap102": (25, 58268, 12500), "cap103": (25, 58268, 17500), "cap104": (25, 58268, 25000),
    "cap111": (50, 5000, 7500), "cap112": (50, 5000, 12500), "cap113": (50, 5000, 17500),
    "cap114": (50, 5000, 25000), "cap121": (50, 15000, 7500), "cap122": (50, 15000, 12500),
    "cap123": (50, 15000, 17500), "cap124": (50, 15000, 25000), "cap131": (50, 58268, 7500),
    "cap132": (50, 58268, 12500), "cap133": (50, 58268, 17500), "cap134": (50, 58268, 25000),
}  # fmt: skip
"""OR-Library cap41-cap134 (capinfo): the families share customer data and a free site."""


@dataclass(frozen=True)
class Instance:
    """One CFLP instance and where it came from."""

    name: str
    cost: np.ndarray
    demand: np.ndarray
    capacity: np.ndarray
    fixed_cost: np.ndarray
    optimum: float  # NaN when none is published
    source: str
    kind: str = "synthetic"  # "OR-Library file", "derived from capNN" or "synthetic"

    @property
    def digest(self) -> str:
        """First 12 hex digits of the SHA-256 of the cost matrix (C order, float64)."""
        return matrix_digest(self.cost)


@dataclass(frozen=True)
class Row:
    """One solver run."""

    instance: str
    solver: str
    objective: float
    bound: float
    status: str
    seconds: float
    note: str = ""


def find_files(folders: list[Path]) -> dict[str, tuple[Path, str]]:
    """Every ``cap*.txt`` in ``folders`` (the first folder holding a name wins) and its origin."""
    out: dict[str, tuple[Path, str]] = {}
    for folder in folders:
        origins = read_sources(folder)
        for path in sorted(folder.glob("cap*.txt")):
            if path.stem not in out:
                where = origins.get(path.stem, "")
                shown = (  # no machine paths in the results: repository-relative or by flag
                    f"tests/data_orlib/{path.name}"
                    if folder == ORLIB
                    else f"--orlib-dir/{path.name}"
                )
                out[path.stem] = (path, shown + (f" ({where})" if where else ""))
    return out


def from_file(name: str, path: Path, origin: str) -> Instance:
    """An instance read from its own OR-Library file."""
    c, d, s, f = read_orlib_cap(path)
    note = ""
    if name in FAMILIES:
        m, cap, fc = FAMILIES[name]
        published = np.where(f == 0, 0.0, fc)
        if c.shape[1] != m or not (np.all(s == cap) and np.array_equal(f, published)):
            note = "; header differs from the published capacity / fixed cost"
    return Instance(
        name, c, d, s, f, PUBLISHED.get(name, float("nan")), origin + note, "OR-Library file"
    )


def orlib_instances(folders: list[Path]) -> list[Instance]:
    """cap41-cap134 from their files or derived from a file of their family; then other files."""
    read: dict[str, Instance] = {}
    for name, (path, origin) in find_files(folders).items():
        try:
            read[name] = from_file(name, path, origin)
        except ValueError as err:  # e.g. capa.txt with the word "capacity" for its capacities
            print(f"skipped {path}: not in the OR-Library cap format read here ({err})")
    out = []
    for name, (m, cap, fc) in FAMILIES.items():
        if name in read:
            out.append(read[name])
            continue
        base = next((read[b] for b in FAMILIES if b in read and FAMILIES[b][0] == m), None)
        if base is None or base.cost.shape[1] != m:
            continue
        fixed = np.where(base.fixed_cost == 0, 0.0, fc)  # the family's free site stays free
        src = f"{base.name}'s customer data with capacity {cap:g} and fixed cost {fc:g}"
        out.append(
            Instance(
                name,
                base.cost,
                base.demand,
                np.full(m, float(cap)),
                fixed,
                PUBLISHED[name],
                src,
                f"derived from {base.name}",
            )
        )
    out += [read[name] for name in read if name not in FAMILIES]
    return out


def capa_like(seed: int, capacity: float, n: int = 1000, m: int = 100) -> Instance:
    """A capa-sized synthetic instance (see the module docstring)."""
    rng = np.random.default_rng(seed)
    cust = rng.uniform(0, 1000, (n, 2))
    site = rng.uniform(0, 1000, (m, 2))
    demand = rng.integers(1, 100, n).astype(float)
    dist = np.sqrt(((cust[:, None, :] - site[None, :, :]) ** 2).sum(-1))
    cost = np.round(demand[:, None] * dist, 5)
    fixed = np.round(rng.uniform(1.36e6, 2.26e6, m))
    name = f"synthetic {n}x{m} seed {seed} cap {capacity:g}"
    src = f"capa_like(seed={seed}, capacity={capacity:g})"
    return Instance(name, cost, demand, np.full(m, capacity), fixed, float("nan"), src)


def run_nhc(inst: Instance, limit: float) -> Row:
    t0 = time.perf_counter()
    sol = capacitated_location(
        inst.cost, inst.demand, inst.capacity, inst.fixed_cost, time_limit_s=limit
    )
    return Row(
        inst.name,
        "nhc",
        sol.objective,
        sol.bound,
        sol.status,
        time.perf_counter() - t0,
        sol.message,
    )


def run_highs_full(inst: Instance, limit: float) -> Row:
    """HiGHS on the strong model with every link row, one MIP, gap tolerance 0."""
    from nhc_planner.optimize._cflp import _build, _instance
    from nhc_planner.optimize._common import parse_options
    from nhc_planner.optimize._highs import new_highs, pass_model, run

    t0 = time.perf_counter()
    opts = parse_options(inst.cost.shape[1], time_limit_s=limit)
    p = _instance(
        inst.cost,
        inst.demand,
        inst.capacity,
        inst.fixed_cost,
        opts,
        np.isfinite(inst.cost),
        False,
    )
    every = np.ones(p.ai.size, dtype=bool)
    lp = _build(p, every, every, artificial=False)
    h = new_highs(1, 0, limit)
    pass_model(h, lp.cost, lp.a_mat, lp.row_lo, lp.row_up, lp.col_lo, lp.col_up)
    ints = np.arange(p.ny, dtype=np.int32)
    h.changeColsIntegrality(ints.size, ints, np.ones(ints.size, dtype=np.uint8))
    h.setOptionValue("mip_rel_gap", 0.0)
    status, _ = run(h)
    info = h.getInfo()
    objective = (
        float(info.objective_function_value) if info.primal_solution_status == 2 else float("nan")
    )
    return Row(
        inst.name,
        "HiGHS full",
        objective,
        float(info.mip_dual_bound),
        status,
        time.perf_counter() - t0,
        f"{info.mip_node_count} nodes",
    )


def verdict(row: Row, optimum: float) -> str:
    if not np.isfinite(optimum):
        return ""
    if not np.isfinite(row.objective):
        return "no solution"
    ok = abs(row.objective - optimum) <= 1e-3 + 1e-8 * optimum
    return "= published" if ok else f"{(row.objective - optimum) / optimum:+.4%} vs published"


def summary(insts: dict[str, Instance]) -> list[str]:
    """One line each: the instances read from files, derived from them, and synthetic."""
    kinds: dict[str, list[str]] = {}
    for inst in insts.values():
        key = "derived" if inst.kind.startswith("derived") else inst.kind
        kinds.setdefault(key, []).append(inst.name)
    label = {
        "OR-Library file": "OR-Library files (their own file; origin below)",
        "derived": "derived from a file of their family (capacity and fixed cost put in)",
        "synthetic": "synthetic, not OR-Library",
    }
    return [f"- {label[k]}: {', '.join(v)}." for k, v in kinds.items()]


def write(
    rows: list[Row], insts: dict[str, Instance], out: Path, limit: float, wall: float
) -> None:
    lines = [
        "# Capacitated facility location (split demand): OR-Library and capa-sized instances",
        "",
        "Written by `benchmarks/bench_capacitated.py` (run by hand); every solver sees the same",
        f"arrays, single-threaded, with a {limit:g} s limit per solve. PySAL spopt has no",
        "capacitated model with opening costs, so it is not in the table.",
        "",
        f"- Machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; load average (1/5/15 min) at the end "
        f"{load_text()}.",
        f"- Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; whole run {wall:.0f} s.",
        *summary(insts),
        "- A file copied from a public repository (origin under 'Sources') counts as the "
        "real instance only when the objective equals the published optimum ('vs optimum'); "
        "a derived instance reaching its published optimum also confirms its family's data.",
        "",
        "| instance | data | cost hash | solver | objective | bound | status | seconds "
        "| vs optimum |",
        "|---|---|---|---|---:|---:|---|---:|---|",
    ]
    for r in rows:
        inst = insts[r.instance]
        lines.append(
            f"| {r.instance} | {inst.kind} | {inst.digest} | {r.solver} | {r.objective:,.3f} | "
            f"{r.bound:,.3f} | {r.status} | {r.seconds:.2f} | {verdict(r, inst.optimum)} |"
        )
    lines += ["", "## Sources and solver messages", ""]
    for name, inst in insts.items():
        lines.append(f"- {name}: {inst.source}")
    lines.append("")
    for r in rows:
        if r.solver == "nhc":
            lines.append(f"- {r.instance}: {r.note}")
    write_results(out, lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="Markdown file to write")
    parser.add_argument("--limit", type=float, default=60.0, help="seconds per solve")
    parser.add_argument(
        "--orlib-dir", type=Path, default=None, help="OR-Library files (before tests/data_orlib)"
    )
    parser.add_argument(
        "--large",
        default="8000,5000",
        help="capacities of capa-sized synthetic instances (seed 1), comma-separated; '' none",
    )
    parser.add_argument("--no-full", action="store_true", help="skip HiGHS on the full model")
    args = parser.parse_args(argv)
    folders = ([args.orlib_dir] if args.orlib_dir is not None else []) + [ORLIB]
    insts = {i.name: i for i in orlib_instances(folders)}
    for cap in [float(c) for c in args.large.split(",") if c.strip()]:
        inst = capa_like(1, cap)
        insts[inst.name] = inst
    rows: list[Row] = []
    start = time.perf_counter()
    for inst in insts.values():
        runs = [run_nhc] + ([] if args.no_full else [run_highs_full])
        for fn in runs:
            row = fn(inst, args.limit)
            rows.append(row)
            print(
                f"{row.instance:32s} {row.solver:10s} {row.objective:16,.3f} "
                f"{row.status:22s} {row.seconds:8.2f} {verdict(row, inst.optimum)}",
                flush=True,
            )
            write(rows, insts, args.out, args.limit, time.perf_counter() - start)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
