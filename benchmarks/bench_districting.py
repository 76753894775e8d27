"""Benchmark: neighbourhood delineation vs PySAL spopt's regionalisation.

Run by hand (needs the ``bench`` extra: spopt, libpysal)::

    python benchmarks/bench_districting.py --out benchmarks/results_districting.md

Cases: Leeds (488 LSOAs, real fixtures; skipped when absent) and an ICB-sized synthetic
region (``demo_region(n_areas=1500, n_las=6)``; ``--seeds 1 2`` adds regions drawn with
other seeds, ``delineate`` only). Methods, side by side in one run on the
same adjacency (rook), the same straight-line minutes and the same groups (local
authorities, which no neighbourhood crosses):

- ``delineate`` (this project): Lagrangian bound + primal heuristic; proven gap;
- spopt ``MaxPHeuristic`` with the same population floor (30,000);
- spopt ``Skater`` with as many regions per authority as ``delineate`` made, its floor
  in areas (``ceil(30,000 / mean area population)``: SKATER's floor counts areas).

For every method: time, number of neighbourhoods, population balance (min / max, share
within 30,000-50,000) and compactness (residents' mean minutes to their neighbourhood's
seed, the population-weighted median area, i.e. ``delineate``'s objective / residents).
The machine load (``os.getloadavg``) is recorded before and after.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from _bench import write_results

from nhc_planner.neighbourhoods import area_adjacency, area_costs, area_groups
from nhc_planner.optimize.districting import delineate
from nhc_planner.testing import fixture_path

MIN_POP, MAX_POP = 30_000.0, 50_000.0


def leeds_areas() -> pd.DataFrame | None:
    from nhc_planner.build import RegionInputs, build_region

    names = {
        "imd": "imd2025_england_lsoa21.csv",
        "population": "census21_lsoa21_usual_residents_total.csv",
        "population_age": "census21_lsoa21_usual_residents_by_age6.csv",
        "hle": "healthy_life_expectancy_at_birth_fingertips_utla.csv",
        "lsoa_la": "lookup_lsoa21_ward24_ltla24.csv",
        "lsoa_icb": "lookup_lsoa21_icb24.csv",
        "lsoa11_lsoa21": "lookup_lsoa11_lsoa21_ltla22.csv",
    }
    paths = {k: fixture_path("national", v) for k, v in names.items()}
    bounds = fixture_path("boundaries", "leeds_lsoa21_bsc.gpkg")
    if bounds is None or any(p is None for p in paths.values()):
        return None
    inputs = RegionInputs(boundaries=bounds, **paths)  # type: ignore[arg-type]
    return build_region(inputs, la_codes=["E08000035"]).areas


def icb_areas(seed: int = 0) -> pd.DataFrame:
    from nhc_planner.demo import demo_region

    return demo_region(seed=seed, n_areas=1500, n_las=6).areas


def metrics(labels: np.ndarray, pop: np.ndarray, cost: np.ndarray) -> dict[str, float]:
    """Balance and compactness of a labelling (seed = weighted median of each district)."""
    total = 0.0
    sizes = []
    for d in np.unique(labels):
        members = np.flatnonzero(labels == d)
        sub = cost[np.ix_(members, members)]
        totals = sub.T @ pop[members]
        total += float(totals.min())
        sizes.append(float(pop[members].sum()))
    s = np.array(sizes)
    within = (s >= MIN_POP) & (s <= MAX_POP)
    return {
        "k": float(s.size),
        "min_pop": float(s.min()),
        "max_pop": float(s.max()),
        "within": float(within.mean()),
        "mean_min": total / float(pop.sum()),
        "objective": total,
    }


def run_spopt(
    areas: pd.DataFrame,
    matrix,
    groups: np.ndarray,
    per_group_k: dict[int, int],
    method: str,
) -> tuple[np.ndarray, float, str]:
    """spopt per group (so that no region crosses an authority); labels, seconds, note."""
    import libpysal
    from spopt.region import MaxPHeuristic, Skater

    labels = np.full(len(areas), -1)
    next_label = 0
    start = time.perf_counter()
    note = ""
    for g in np.unique(groups):
        idx = np.flatnonzero(groups == g)
        sub = areas.iloc[idx].reset_index(drop=True)
        w = libpysal.weights.WSP(matrix[idx][:, idx].tocsr()).to_W(silence_warnings=True)
        attrs = ["demand_x", "demand_y"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if method == "maxp":
                model = MaxPHeuristic(
                    sub,
                    w,
                    attrs,
                    "population",
                    MIN_POP,
                    top_n=2,
                    max_iterations_construction=20,
                    max_iterations_sa=2,
                )
                np.random.seed(0)  # noqa: NPY002 (spopt draws from the legacy global RNG)
                model.solve()
            else:
                floor = math.ceil(MIN_POP / float(sub["population"].mean()))
                note = "SKATER floor in areas (ceil(30,000 / mean area population))"
                model = Skater(sub, w, attrs, n_clusters=per_group_k[int(g)], floor=floor)
                model.solve()
        lab = np.asarray(model.labels_)
        # unassigned (max-p leaves enclaves below the floor as -1 or 0): own label
        uniq, local = np.unique(lab, return_inverse=True)
        labels[idx] = local + next_label
        next_label += uniq.size
    return labels, time.perf_counter() - start, note


def case(name: str, areas: pd.DataFrame, lines: list[str], spopt_ok: bool, most: bool) -> None:
    pop = areas["population"].to_numpy(dtype=float)
    t0 = time.perf_counter()
    groups = area_groups(areas)
    adj = area_adjacency(areas, groups=groups.codes)
    cost = area_costs(areas)
    prep = time.perf_counter() - t0
    lines += [
        f"### {name}",
        "",
        f"{len(areas)} areas, {pop.sum():,.0f} residents, {len(groups.names)} local "
        f"authorities; adjacency + minutes built in {prep:.1f} s "
        f"({len(adj.joins)} island join(s)).",
        "",
        "| method | seconds | neighbourhoods | min pop | max pop | within 30-50k "
        "| mean minutes to seed | objective (person-min) | proven bound | gap |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]

    def ours(districts: str = "fewest") -> tuple[np.ndarray, float, str, str]:
        res = delineate(
            pop,
            adj.matrix,
            cost,
            groups.codes,
            min_pop=MIN_POP,
            max_pop=MAX_POP,
            group_names=groups.names,
            districts=districts,  # type: ignore[arg-type]
        )
        ours.result = res  # type: ignore[attr-defined]
        return res.labels, res.seconds, f"{res.bound:,.0f}", f"{100 * res.gap:.2f}%"

    res_labels, secs, bound, gap = ours()
    notes = [f"delineate: {ours.result.message}"]  # type: ignore[attr-defined]
    m = metrics(res_labels, pop, cost)
    result = ours.result  # type: ignore[attr-defined]
    lines.append(_row("delineate (this project)", secs, m, bound, gap))
    if most:
        labs, secs, bound, gap = ours("most")
        m_most = metrics(labs, pop, cost)
        lines.append(_row("delineate, districts='most'", secs, m_most, bound, gap))
        most_result = ours.result  # type: ignore[attr-defined]
        notes.append(f"delineate, districts='most': {most_result.message}")
    per_group_k = {
        int(g): int((result.district_groups == g).sum()) for g in np.unique(groups.codes)
    }
    if spopt_ok:
        for label, method in (("spopt max-p (floor 30,000)", "maxp"), ("spopt SKATER", "skater")):
            try:
                labs, secs, note = run_spopt(areas, adj.matrix, groups.codes, per_group_k, method)
            except Exception as exc:  # a peer failing is a result, not a crash
                lines.append(f"| {label} | failed: {type(exc).__name__}: {exc} | | | | | | | | |")
                continue
            lines.append(_row(label, secs, metrics(labs, pop, cost), "-", "-"))
            if note:
                notes.append(f"{label}: {note}")
    lines += ["", *[f"- {n}" for n in notes], ""]
    print("\n".join(lines[-12:]), flush=True)


def _row(label: str, secs: float, m: dict[str, float], bound: str, gap: str) -> str:
    return (
        f"| {label} | {secs:.1f} | {m['k']:.0f} | {m['min_pop']:,.0f} | {m['max_pop']:,.0f} "
        f"| {100 * m['within']:.0f}% | {m['mean_min']:.3f} | {m['objective']:,.0f} "
        f"| {bound} | {gap} |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="results file (markdown)")
    parser.add_argument("--skip-spopt", action="store_true")
    parser.add_argument("--only", choices=["leeds", "icb"], default=None)
    parser.add_argument(
        "--seeds",
        type=int,
        nargs="*",
        default=[],
        help="also delineate ICB-sized regions drawn with these seeds (spopt not run)",
    )
    parser.add_argument(
        "--most",
        action="store_true",
        help="also run delineate with districts='most' (floor(P / 30,000) per authority), "
        "nearer max-p's count",
    )
    args = parser.parse_args(argv)
    try:
        import spopt  # noqa: F401

        spopt_ok = not args.skip_spopt
    except ImportError:
        spopt_ok = False
    load0 = os.getloadavg()
    lines = [
        "# Neighbourhood delineation benchmark",
        "",
        f"Python {sys.version.split()[0]}, {platform.machine()}, {os.cpu_count()} cores; "
        f"load average before: {load0[0]:.1f} / {load0[1]:.1f} / {load0[2]:.1f}.",
        "Bounds 30,000-50,000 residents; groups = local authorities; straight-line "
        "minutes (1.3 circuity, 40 km/h); rook adjacency.",
        "",
    ]
    if args.only in (None, "leeds"):
        leeds = leeds_areas()
        if leeds is None:
            lines += ["### Leeds", "", "skipped: fixtures not found", ""]
        else:
            case("Leeds (488 LSOAs, real)", leeds, lines, spopt_ok, args.most)
    if args.only in (None, "icb"):
        case(
            "ICB-sized synthetic region (1,500 areas, 6 authorities)",
            icb_areas(),
            lines,
            spopt_ok,
            args.most,
        )
    for seed in args.seeds:
        case(
            f"ICB-sized synthetic region, seed {seed} (1,500 areas, 6 authorities)",
            icb_areas(seed),
            lines,
            False,
            False,
        )
    load1 = os.getloadavg()
    lines.append(f"Load average after: {load1[0]:.1f} / {load1[1]:.1f} / {load1[2]:.1f}.")
    write_results(args.out, lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
