"""Benchmark: the neighbourhood planning model end to end (delineation plus siting).

Run by hand::

    python benchmarks/bench_neighbourhood_model.py --out benchmarks/results_neighbourhood_model.md

Cases: the demo region (550 areas, straight-line travel) and Leeds (488 LSOAs, real
fixtures with GP practices, hospitals and pharmacies as sites; skipped when absent), each
with one centre per neighbourhood and with 6 hubs by year 3. For each: seconds of the
model's build (the delineation) and solve (siting and phasing), neighbourhoods, the
delineation's and the siting's proven gaps, and the whole ``plan()`` time. The machine
load (``os.getloadavg``) is recorded before and after: times on a shared machine follow it.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path
from typing import Any

from _bench import table, write_results

from nhc_planner.demo import demo_region
from nhc_planner.model_neighbourhoods import NeighbourhoodModel
from nhc_planner.plan import plan, plan_inputs
from nhc_planner.region import Region
from nhc_planner.scenario import Scenario, SizeSpec
from nhc_planner.testing import fixture_path


def leeds_region() -> Region | None:
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
    paths: dict[str, Any] = {k: fixture_path("national", v) for k, v in names.items()}
    paths["boundaries"] = fixture_path("boundaries", "leeds_lsoa21_bsc.gpkg")
    paths["gp_practices"] = fixture_path(
        "facilities", "leeds_gp_practices_epraccur_geocoded.geojson"
    )
    paths["hospitals"] = fixture_path("facilities", "leeds_nhs_hospitals_nhswebsite.geojson")
    paths["pharmacies"] = fixture_path("facilities", "leeds_nhs_pharmacies_nhswebsite_2020.geojson")
    if any(p is None for p in paths.values()):
        return None
    return build_region(RegionInputs(**paths), la_codes=["E08000035"])


SCENARIOS = {
    "a centre per neighbourhood": Scenario(),
    "6 hubs by year 3": Scenario().replace(
        **{
            "neighbourhoods.hubs": 6,
            "neighbourhoods.hubs_by_year": 3,
            "capacity.sizes": [SizeSpec(name="medium", rooms=12), SizeSpec(name="hub", rooms=60)],
        }
    ),
}


def run_case(region_name: str, region: Region, label: str, s: Scenario) -> dict[str, Any]:
    inputs = plan_inputs(region, s)
    model = NeighbourhoodModel()
    t0 = time.perf_counter()
    built = model.build(inputs)
    t1 = time.perf_counter()
    result = model.solve(built)
    t2 = time.perf_counter()
    p = plan(region, s, travel=inputs.travel)
    t3 = time.perf_counter()
    return {
        "region": region_name,
        "case": label,
        "areas": len(region.areas),
        "neighbourhoods": built.k,
        "delineation_s": round(t1 - t0, 2),
        "siting_s": round(t2 - t1, 2),
        "plan_s": round(t3 - t2, 2),
        "delineation_gap": built.delineation.gap if built.delineation is not None else None,
        "siting_gap": result.siting_gap,
        "centres": int((p.centres["status"] == "new").sum()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", required=True, help="markdown file to write the results to")
    args = parser.parse_args()
    load_before = os.getloadavg()
    rows = []
    regions: list[tuple[str, Region | None]] = [("demo", demo_region()), ("Leeds", leeds_region())]
    for name, region in regions:
        if region is None:
            print(f"{name}: fixtures absent, skipped")
            continue
        for label, s in SCENARIOS.items():
            row = run_case(name, region, label, s)
            print(row)
            rows.append(row)
    load_after = os.getloadavg()
    lines = [
        "# Neighbourhood planning model: delineation plus siting",
        "",
        f"Machine: {platform.platform()}, {os.cpu_count()} cores; load average "
        f"{load_before[0]:.1f} before, {load_after[0]:.1f} after.",
        "",
        *table(rows, lambda k, v: f"{v:.4f}" if isinstance(v, float) and "gap" in k else str(v)),
    ]
    out = Path(args.out)
    write_results(out, lines)


if __name__ == "__main__":
    main()
