"""Benchmark: capacity-true max-min plans through ``plan()`` (issue 17).

Run by hand::

    python benchmarks/bench_maxmin_plan.py --out /tmp/results_maxmin_plan.md

Cases: the demo region (straight-line travel) with the default scenario and
``policy.model = "coverage"``, and Leeds (real fixtures, GP practices, hospitals and
pharmacies as sites; skipped when absent) with ``policy.model = "coverage"``; each with
``policy.objective = "maxmin"`` and capacity applied (the default), and with
``"weighted"`` beside it for the worst authority's share without max-min. For each:
seconds of the model's solve (travel times computed beforehand), status, the worst
local authority's served share and its proven bound (max-min only), the need served
(the weighted objective: discounted need-weighted service over the years), the weighted
stage's gap, new centres, the largest utilisation and whether the safety time limit
(``solver.time_limit_s``) ended a stage (then the plan may depend on the machine's
speed). The machine load (``os.getloadavg``) is recorded before and after: times on a
shared machine follow it.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from typing import Any

from _bench import load_text, table, write_results
from bench_neighbourhood_model import leeds_region

from nhc_planner.demo import demo_region
from nhc_planner.model_coverage import CoverageModel, _worst_group
from nhc_planner.plan import compute_travel, plan_inputs
from nhc_planner.region import Region
from nhc_planner.scenario import Scenario


def run_case(name: str, region: Region, travel: Any, objective: str) -> dict[str, Any]:
    s = Scenario().replace(**{"policy.model": "coverage", "policy.objective": objective})
    inputs = plan_inputs(region, s, travel=travel)
    model = CoverageModel()
    built = model.build(inputs)
    t0 = time.perf_counter()
    result = model.solve(built)
    seconds = time.perf_counter() - t0
    sol = result.solution
    ctx = built.ctx
    _, worst = _worst_group(ctx.la, ctx.population, sol.served_share[:, -1])
    util = result.load / result.capacity
    bound = result.min_group_share_bound
    return {
        "region": name,
        "objective": objective,
        "areas": len(region.areas),
        "authorities": len(set(ctx.la.tolist())),
        "solve_s": round(seconds, 2),
        "status": result.solve.status,
        "worst_la_share": f"{worst:.2%}",
        "worst_share_bound": "" if bound is None else f"{bound:.2%}",
        "need_served": f"{result.solve.objective:,.0f}",
        "weighted_gap": f"{result.solve.gap:.3%}",
        "new_centres": int((result.open_period >= 1).sum()),
        "max_utilisation": f"{float(util[result.open_period >= 0].max()):.3f}",
        "safety_stop": "yes" if "safety time limit" in sol.message else "no",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", required=True, help="markdown file to write the results to")
    parser.add_argument("--only", choices=["demo", "leeds"], default=None)
    args = parser.parse_args()
    load_before = load_text()
    rows = []
    regions = []
    if args.only in (None, "demo"):
        regions.append(("demo", demo_region()))
    if args.only in (None, "leeds"):
        regions.append(("Leeds", leeds_region()))
    for name, region in regions:
        if region is None:
            print(f"{name}: fixtures absent, skipped")
            continue
        travel = compute_travel(region, Scenario().travel)
        for objective in ("maxmin", "weighted"):
            row = run_case(name, region, travel, objective)
            print(row, flush=True)
            rows.append(row)
    load_after = load_text()
    lines = [
        "# Capacity-true max-min plans through plan() (coverage model)",
        "",
        f"Machine: {platform.platform()}, {os.cpu_count()} cores; load average (1/5/15 min) "
        f"{load_before} before, {load_after} after.",
        "",
        "Default scenario otherwise (5 years x 2 new centres, 15 minutes' drive, "
        "solver.time_limit_s = 30, gap tolerance 0).",
        "",
        *table(rows),
    ]
    write_results(args.out, lines)


if __name__ == "__main__":
    main()
