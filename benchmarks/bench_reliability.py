"""What the reliability measures cost: checksummed npz caches against pickle, atomic saves.

Run by hand::

    PYTHONPATH=. python benchmarks/bench_reliability.py   # writes results_reliability.md
    PYTHONPATH=. python benchmarks/bench_reliability.py --out /tmp/results.md --repeat 5

Side by side in one run, on the synthetic demo (550 areas, its ~12,000-node drive network):

- road-network cache entry: ``pickle`` (the old format, shown only as the reference; it is
  never read by nhc-planner any more) against the checksummed npz of
  :mod:`nhc_planner._network_cache`, write and read; the same for the contraction hierarchy;
- ``Plan.save`` (temporary folder, safe CSV writer, checksums, fsync, rename swap) against
  writing the same files the old way (straight into the folder, pandas ``to_csv``), the
  checksum check alone and ``Plan.load`` (which includes it).

Run from the repository root with ``PYTHONPATH=.`` to measure a working tree rather than
the installed package.

Times are the median of ``--repeat`` runs; the machine's load (``os.getloadavg``) is
recorded with them.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pickle
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _bench import write_results

HERE = Path(__file__).resolve().parent


def _median(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _plain_save(result: Any, folder: Path) -> None:
    """The files of Plan.save written the old way: straight into ``folder``, pandas CSV."""
    plan_module = importlib.import_module("nhc_planner.plan_io")

    def csv(frame: Any, path: Path) -> None:
        frame.to_csv(path, index=False, lineterminator="\n", float_format="%.6g")

    folder.mkdir(parents=True, exist_ok=True)
    for name in ("centres", "assignments"):
        frame = getattr(result, name)
        frame.to_parquet(folder / f"{name}.parquet", index=False)
        csv(plan_module._plain(frame, points=name == "centres"), folder / f"{name}.csv")
        plan_module._write_geojson(frame, folder / f"{name}.geojson")
    for name in plan_module.TABLES:
        csv(getattr(result, name), folder / f"{name}.csv")
    (folder / "scenario.toml").write_text(result.scenario.to_toml_string(), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "results_reliability.md")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)

    from nhc_planner._atomic import verify_folder
    from nhc_planner._network_cache import (
        load_hierarchy_entry,
        load_network_entry,
        save_hierarchy,
        save_network,
    )
    from nhc_planner.demo import demo_region
    from nhc_planner.network import load_network
    from nhc_planner.plan import Plan, plan
    from nhc_planner.scenario import Scenario

    load_before = os.getloadavg()
    rows: list[tuple[str, str, float]] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        net = load_network("demo", mode="drive", use_cache=False)
        h = net.hierarchy
        pk, npz = tmp / "net.pickle", tmp / "net.npz"
        hpk, hnpz = tmp / "h.pickle", tmp / "h.npz"

        def pickle_write(obj: Any, path: Path) -> None:
            with path.open("wb") as fh:
                pickle.dump(obj, fh, protocol=pickle.HIGHEST_PROTOCOL)

        def pickle_read(path: Path) -> Any:
            with path.open("rb") as fh:
                return pickle.load(fh)

        what = f"road network ({net.graph.number_of_nodes():,} nodes)"
        rows.append((what, "pickle write", _median(lambda: pickle_write(net, pk), args.repeat)))
        rows.append((what, "npz write", _median(lambda: save_network(npz, net), args.repeat)))
        rows.append((what, "pickle read", _median(lambda: pickle_read(pk), args.repeat)))
        rows.append(
            (what, "npz read + check", _median(lambda: load_network_entry(npz), args.repeat))
        )
        what = "contraction hierarchy"
        rows.append((what, "pickle write", _median(lambda: pickle_write(h, hpk), args.repeat)))
        rows.append((what, "npz write", _median(lambda: save_hierarchy(hnpz, h), args.repeat)))
        rows.append((what, "pickle read", _median(lambda: pickle_read(hpk), args.repeat)))
        rows.append(
            (
                what,
                "npz read + check",
                _median(lambda: load_hierarchy_entry(hnpz, h.n_nodes), args.repeat),
            )
        )
        sizes = {p.name: p.stat().st_size for p in (pk, npz, hpk, hnpz)}

        region = demo_region()
        result = plan(region, Scenario().replace(**{"solver.time_limit_s": 60.0}))
        what = f"plan ({len(result.assignments):,} areas)"
        rows.append(
            (what, "plain write", _median(lambda: _plain_save(result, tmp / "plain"), args.repeat))
        )
        rows.append(
            (what, "Plan.save (atomic)", _median(lambda: result.save(tmp / "plan"), args.repeat))
        )
        rows.append(
            (
                what,
                "checksum check only",
                _median(lambda: verify_folder(tmp / "plan", what="plan"), args.repeat),
            )
        )
        rows.append(
            (what, "Plan.load (checked)", _median(lambda: Plan.load(tmp / "plan"), args.repeat))
        )
    load_after = os.getloadavg()

    lines = [
        "# Reliability: cost of checksummed caches and atomic saves",
        "",
        f"Python {sys.version.split()[0]}, {platform.platform()}, {os.cpu_count()} CPUs; "
        f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after; "
        f"median of {args.repeat} runs.",
        "",
        "| what | how | seconds |",
        "|---|---|---:|",
        *(f"| {w} | {h_} | {s:.3f} |" for w, h_, s in rows),
        "",
        "Entry sizes (bytes): " + ", ".join(f"{k} {v:,}" for k, v in sizes.items()),
        "",
    ]
    write_results(args.out, lines)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
