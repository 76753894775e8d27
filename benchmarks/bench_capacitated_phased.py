"""Benchmark of the capacity-true phased model at ICB scale (issue 16).

Target: 1,500 areas x 1,000 candidate sites x 5 years with sizes and a budget,
proven within 1% in under 120 s on 2 cores.

Side by side in one run, on the instance of ``bench_phased.py`` (demo generator,
seed 1, 20-minute standard):

* ``capacitated_phased`` (this project, HiGHS through highspy), the two
  capacitated cases of ``bench_phased.py``;
* the uncapacitated phased model (``phased_coverage`` without demand) on the
  same instance, for comparison;
* HiGHS on the same full formulation (all ``x_ijt <= y_jt`` link rows, no
  preprocessing beyond the model's own), time-limited.

Each case runs in a fresh process, so its peak memory (``ru_maxrss``) is its own.

Run::

    python benchmarks/bench_capacitated_phased.py --out benchmarks/results_capacitated.md
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import datetime as dt
import hashlib
import os
import platform
import resource
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _bench import write_results  # noqa: E402
from bench_phased import demo_instance, seeded_instance  # noqa: E402

from nhc_planner.capacity import default_size_templates  # noqa: E402
from nhc_planner.optimize import SizeOption  # noqa: E402
from nhc_planner.optimize._highs import add_rows  # noqa: E402

N_AREAS, N_SITES, STANDARD, LIMIT = 1_500, 1_000, 20.0, 120.0


def _instance(seed: int) -> Any:
    return demo_instance(N_AREAS, N_SITES, seed) or seeded_instance(N_AREAS, N_SITES, seed)


def _case_kwargs(case: str) -> dict[str, Any]:
    templates = default_size_templates()
    if case == "medium":
        return {"new_per_period": 6, "sizes": [SizeOption.from_template(templates[1])]}
    return {
        "budget_per_period": 20e6,
        "sizes": [SizeOption.from_template(t) for t in templates],
    }


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_ours(case: str, seed: int, gap: float) -> dict[str, Any]:
    from nhc_planner.optimize.capacitated_phased import capacitated_phased

    inst = _instance(seed)
    t0 = time.perf_counter()
    res = capacitated_phased(
        inst.minutes,
        inst.weights,
        inst.demand,
        STANDARD,
        periods=5,
        threads=2,
        mip_gap=gap,
        time_limit_s=LIMIT,
        **_case_kwargs(case),
    )
    wall = time.perf_counter() - t0
    over = np.nan_to_num(res.capacity, nan=0.0)[np.newaxis, :]
    return {
        "solver": f"capacitated_phased (mip_gap {gap:.1%})",
        "status": res.status,
        "objective": res.objective,
        "bound": res.bound,
        "gap": res.gap,
        "seconds": wall,
        "served": float(res.served_by_period[-1] / res.weight_total),
        "max_util": float(np.max(res.load / np.where(over > 0, over, np.inf))),
        "unmet": float(res.unmet[:, -1].sum()),
        "peak_mb": _peak_mb(),
        "note": res.message
        + " | stages: "
        + "; ".join(f"{n} {v:,.0f} ({s:.1f} s)" for n, v, s in res.stages),
    }


def run_uncapacitated(case: str, seed: int) -> dict[str, Any]:
    from nhc_planner.optimize.phased import phased_coverage

    inst = _instance(seed)
    kw = _case_kwargs(case)
    t0 = time.perf_counter()
    sol = phased_coverage(
        inst.minutes,
        inst.weights,
        STANDARD,
        periods=5,
        time_limit_s=LIMIT,
        threads=2,
        mip_gap=0.005,
        **kw,
    )
    wall = time.perf_counter() - t0
    share = sol.coverage_share_by_period if sol.coverage_share_by_period.size else None
    return {
        "solver": "phased_coverage, uncapacitated (no demand)",
        "status": sol.status,
        "objective": sol.objective,
        "bound": sol.bound,
        "gap": sol.gap,
        "seconds": wall,
        "served": float(share[-1]) if share is not None else float("nan"),
        "max_util": float("nan"),
        "unmet": float("nan"),
        "peak_mb": _peak_mb(),
        "note": "covered (not served) weight; centres may be far over capacity",
    }


def run_highs_full(case: str, seed: int) -> dict[str, Any]:
    """HiGHS (highspy) on the full formulation: every link row, y integer, time-limited."""
    import nhc_planner.optimize.capacitated_phased as cp

    inst = _instance(seed)
    kw = _case_kwargs(case)
    t0 = time.perf_counter()
    inp = cp._validate(
        inst.minutes,
        inst.weights,
        inst.demand,
        STANDARD,
        periods=5,
        new_per_period=kw.get("new_per_period"),
        budget_per_period=kw.get("budget_per_period"),
        carry_over=False,
        period_weights=None,
        sizes=kw["sizes"],
        site_capex=None,
        allowed_sizes=None,
        fixed_capacity=None,
        floors=(),
        fixed=None,
        excluded=None,
        time_limit_s=LIMIT,
        threads=2,
        seed=0,
    )
    m = cp._prepare(inp)
    a_mat, lo, up = cp._static_rows(m)
    h = cp._highs(2, 0, LIMIT - (time.perf_counter() - t0))
    cp._pass_lp(h, cp._objective(m), a_mat, lo, up, np.ones(m.n_cols))
    pairs = np.flatnonzero(m.ps < m.nc)
    links = cp._link_rows(m, np.tile(pairs, m.T), np.repeat(np.arange(m.T), pairs.size))
    add_rows(h, links, np.full(links.shape[0], -np.inf), np.zeros(links.shape[0]))
    ycols = np.arange(m.ycol(0), m.n_cols, dtype=np.int32)
    h.changeColsIntegrality(ycols.size, ycols, np.ones(ycols.size, dtype=np.uint8))
    h.setOptionValue("mip_rel_gap", 0.01)
    h.setOptionValue("time_limit", float(max(LIMIT - (time.perf_counter() - t0), 1.0)))
    h.run()
    info = h.getInfo()
    has = info.primal_solution_status == 2 and info.objective_function_value > 0
    obj = float(info.objective_function_value) if has else float("nan")
    bound = float(info.mip_dual_bound)
    return {
        "solver": "HiGHS (highspy) on the full formulation",
        "status": str(h.getModelStatus()).split(".")[-1],
        "objective": obj,
        "bound": bound,
        "gap": abs(bound - obj) / max(abs(obj), 1e-9) if has else float("inf"),
        "seconds": time.perf_counter() - t0,
        "served": float("nan"),
        "max_util": float("nan"),
        "unmet": float("nan"),
        "peak_mb": _peak_mb(),
        "note": f"{m.T * (m.P + m.Q):,} columns, {a_mat.shape[0] + links.shape[0]:,} rows",
    }


def _pct(x: float) -> str:
    return f"{x:.3%}" if np.isfinite(x) and x < 100 else "inf"


def _in_child(fn: Any, *args: Any) -> dict[str, Any]:
    with cf.ProcessPoolExecutor(max_workers=1, max_tasks_per_child=1) as pool:
        return dict(pool.submit(fn, *args).result())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, help="results file (Markdown)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip-highs", action="store_true", help="skip the full-model HiGHS runs")
    args = parser.parse_args()
    inst = _instance(args.seed)
    digest = hashlib.sha256(np.ascontiguousarray(inst.minutes).tobytes()).hexdigest()[:16]
    cover = (inst.minutes <= STANDARD).sum(axis=1)
    load_before = os.getloadavg()
    cases = {
        "medium": "capacity: 6 medium centres a year (2,592 appts/week each)",
        "budget": "budget GBP 20m/year, sizes S/M/L (1,296/2,592/4,320 appts/week)",
    }
    rows: list[tuple[str, dict[str, Any]]] = []
    for case, label in cases.items():
        runs = [
            (run_ours, (case, args.seed, 0.01)),
            (run_ours, (case, args.seed, 0.005)),
            (run_ours, (case, args.seed, 0.0)),  # the plan()'s default: site swaps run
            (run_uncapacitated, (case, args.seed)),
        ]
        if not args.skip_highs:
            runs.append((run_highs_full, (case, args.seed)))
        for fn, fargs in runs:
            res = _in_child(fn, *fargs)
            res["load"] = os.getloadavg()[0]
            print(label, res, flush=True)
            rows.append((label, res))
    lines = [
        "# Capacity-true phased model benchmark (ICB scale, issue 16)",
        "",
        f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()} "
        f"({os.cpu_count()} cores visible), threads=2, time limit {LIMIT:g} s per solve; load "
        f"average at start {load_before[0]:.2f} (1 min; each row's own load is in the last "
        "column: above 2 the 2 cores were shared and times are pessimistic). Each row ran in "
        "a fresh process (peak memory is that process's maximum resident set).",
        "",
        f"Instance: {inst.source}; {N_AREAS:,} areas x {N_SITES:,} candidate sites, seed "
        f"{args.seed}, cost-matrix sha256 {digest}, {STANDARD:g}-minute standard (sites within "
        f"it per area: median {np.median(cover):.0f}), weights = population x deprivation "
        f"need factor, weekly demand = `capacity.weekly_demand` (total "
        f"{inst.demand.sum():,.0f} appointments a week), 5 periods discounted at 3.5%.",
        "",
        "Objective: discounted weighted need *served* within capacity (capacitated rows) or "
        "*covered* (the uncapacitated row, where centres may be far over capacity; not "
        "comparable). `served` = share of weight served (covered) in year 5; `max util` = "
        "largest load / capacity of any centre in any year.",
        "",
        "| case | solver | status | objective | proven bound | gap | seconds | served y5 "
        "| max util | unmet y5 (appts/wk) | peak MB | load |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, r in rows:
        lines.append(
            f"| {label} | {r['solver']} | {r['status']} | {r['objective']:,.0f} | "
            f"{r['bound']:,.0f} | {_pct(r['gap'])} | {r['seconds']:.1f} | {r['served']:.1%} | "
            f"{r['max_util']:.3f} | {r['unmet']:,.0f} | {r['peak_mb']:,.0f} | {r['load']:.2f} |"
        )
    lines += [
        "",
        "Objective NaN with gap inf: no plan better than opening nothing within the limit.",
        "",
        "## Choices measured while building the model (by hand, 2 cores, load 15-18)",
        "",
        "- Capacity rows only, no link rows: LP relaxation in 7-15 s (simplex with presolve); "
        "its optimum bounded the greedy plans within 0.24% (6 medium a year) and 0.30% (budget, "
        "sizes S/M/L), so the targets are proven at the first LP round.",
        "- Link rows `x_ijt <= y_jt` added where violated (3,598 / 3,723 rows at round 1): the "
        "warm-started dual simplex stalled (287 s without finishing the round, degenerate); "
        "re-solving from scratch with presolve took 18 s and moved the bound by only 0.003% "
        "(6,345,596 -> 6,345,415), so rounds now re-solve from scratch and stop as soon as "
        "the plan is proven within `mip_gap`.",
        "- HiGHS MIP on the model restricted to the 452 sites with LP value > 0 (all links "
        "generated so far, started from the greedy plan): root LP not finished in 200 s "
        "(gap 2.63%); the full formulation (row above) likewise. So the MIP stage is kept "
        "for small instances and for cases the greedy does not settle.",
        "- Budget with sizes: the greedy by gain per pound reached 97.4% of the bound (72 "
        "rooms a year); choosing per year the size mix with the largest capacity the budget "
        "allows (1 small, 4 medium, 1 large = 74 rooms) reached 99.70%.",
        "- OR-Tools (pywraplp + HiGHS), the capacitated path of `phased_coverage`: no "
        "capacitated plan in 120 s, documented fallback with a 136-205% gap in 152-155 s "
        "(`results_phased.md`).",
        "- Not implemented: Lagrangian relaxation of the capacities and Benders "
        "decomposition -- the capacity-rows LP already proves the ICB targets well within "
        "the limit; they remain candidates for instances where the greedy is far from the "
        "bound (issue 17).",
        "",
        "## Work limits, not the clock (issue 17; by hand, 2 cores, load 3-6)",
        "",
        "- HiGHS's `mip_max_nodes` does not bound its root node: on the demo region "
        "(550 x 186, 2 years, 18,000 pair-years in the restricted MIP) the root's cut rounds "
        "ran 120 s (the safety stop) without a node; on random parts of the demo region the "
        "MIP stages took 0.8 s (1,600 pair-years), 1.1 s (2,800) and over 60 s (9,000 and "
        "14,000). Its MIP interrupt callback reports no LP iterations and is called "
        "irregularly (once in 12 s at times), so it cannot meter work. The MIP stages now "
        "run only on models of at most `MIP_MAX_PAIR_PERIODS` = 4,000 service columns.",
        "- Link-row rounds re-solve from scratch and grow dearer: on the demo region over 5 "
        "years the 10 rounds took 230 s under load (round 0: 1 s) for a 1% tighter bound "
        "(gap 5.1% -> 4.0%). They now stop after `LP_ROUND_WORK` = 8 times the first LP's "
        "simplex iterations (2 rounds, 4.6%, 25 s under load 4). On the ICB cases above the "
        "first LP already proves the target gap, so no round runs and nothing changes.",
        "- `phased_coverage` with demand and capacities (weighted) now uses this solver: on "
        "the demo region, 3 years x 2 centres, sizes S/M/L, 15 minutes, it took 6 s, within "
        "0.25% of its bound, where the OR-Tools-built MIP ran 128 s for a 120 s limit and "
        "fell back to the uncapacitated plan (79% gap).",
        "- Time limits are safety stops: measured overrun on the demo region (load 5) at most "
        "0.4 s for limits of 1-4 s, with the best plan kept and the message saying so.",
    ]
    lines += ["", "Messages and stages:", ""]
    for label, r in rows:
        lines.append(f"- {label} / {r['solver']}: {r['note']}")
    lines.append("")
    out = Path(args.out)
    write_results(out, lines)


if __name__ == "__main__":
    main()
