"""Quick side-by-side of the transit engine and ``ferrobus`` on a synthetic feed (issue 13).

A synthetic bus network is written as a GTFS folder in a temporary directory:
stops on a 500 m grid over Rutland, lines that wander across the grid (so they
share stops where they cross), both directions, every 10-30 minutes from
06:00 to 22:00 at 20 km/h. Origins and destinations are random points.

Side by side in one run:

* this project's range RAPTOR (:mod:`nhc_planner._raptor`): build, first run
  (numba compile), timed run over the window;
* the brute-force reference on a few origins and departures (must agree
  exactly with the engine);
* ``ferrobus`` (if installed): it needs an OSM street network for walking,
  taken from the Rutland fixture (``$NHC_FIXTURES/osm/rutland-latest.osm.pbf``);
  travel times for one departure compared with the engine's.

Each engine runs in this process; peak memory is reported as ``ru_maxrss`` at
the end of each step (monotone, so an upper bound for the later steps).

Run::

    NHC_FIXTURES=/work/shared/data python benchmarks/bench_transit.py \
        --out benchmarks/results_transit.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DAY = dt.date(2026, 12, 7)  # a Monday
LAT0, LON0 = 52.58, -0.80  # south-west corner, Rutland


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _hms(s: int) -> str:
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def write_feed(
    folder: Path, *, n_lines: int, grid: int, seed: int, spacing_m: float = 500.0
) -> tuple[int, int]:
    """Write the synthetic feed; return (stops, trips)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    dlat, dlon = 0.0045 * spacing_m / 500, 0.0074 * spacing_m / 500
    with open(folder / "stops.txt", "w") as f:
        f.write("stop_id,stop_name,stop_lat,stop_lon\n")
        for i in range(grid):
            for j in range(grid):
                f.write(f"G{i}_{j},Stop {i} {j},{LAT0 + i * dlat:.6f},{LON0 + j * dlon:.6f}\n")
    (folder / "routes.txt").write_text(
        "route_id,route_short_name,route_type\n" + "".join(f"L{k},{k},3\n" for k in range(n_lines))
    )
    (folder / "calendar.txt").write_text(
        "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\n"
        "WK,1,1,1,1,1,0,0,20260101,20271231\n"
    )
    with open(folder / "trips.txt", "w") as trips, open(folder / "stop_times.txt", "w") as times:
        trips.write("route_id,service_id,trip_id\n")
        times.write("trip_id,arrival_time,departure_time,stop_id,stop_sequence\n")
        n_trips = 0
        for k in range(n_lines):
            i, j = (int(v) for v in rng.integers(0, grid, 2))
            path = [(i, j)]
            for _ in range(int(rng.integers(12, 30))):
                di, dj = [(0, 1), (1, 0), (0, -1), (-1, 0)][int(rng.integers(0, 4))]
                i, j = min(grid - 1, max(0, i + di)), min(grid - 1, max(0, j + dj))
                if (i, j) != path[-1] and (len(path) < 2 or (i, j) != path[-2]):
                    path.append((i, j))
            headway = int(rng.choice([600, 900, 1200, 1800]))
            hop = max(30, round(spacing_m / (20 / 3.6)))  # 20 km/h
            for direction, stops in enumerate((path, path[::-1])):
                for t0 in range(6 * 3600 + int(rng.integers(0, headway)), 22 * 3600, headway):
                    tid = f"L{k}_{direction}_{t0}"
                    trips.write(f"L{k},WK,{tid}\n")
                    for q, (a, b) in enumerate(stops):
                        t = _hms(t0 + q * hop)
                        times.write(f"{tid},{t},{t},G{a}_{b},{q + 1}\n")
                    n_trips += 1
    return grid * grid, n_trips


def _points(
    n: int, grid: int, seed: int, spacing_m: float = 500.0
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    f = spacing_m / 500
    lat = LAT0 + rng.uniform(0, (grid - 1) * 0.0045 * f, n)
    lon = LON0 + rng.uniform(0, (grid - 1) * 0.0074 * f, n)
    return lat, lon


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--lines", type=int, default=40)
    parser.add_argument("--grid", type=int, default=30)
    parser.add_argument("--origins", type=int, default=200)
    parser.add_argument("--dests", type=int, default=100)
    parser.add_argument("--window-min", type=int, default=120)
    parser.add_argument("--ref-origins", type=int, default=3)
    parser.add_argument("--max-access-m", type=float, default=1000.0)
    parser.add_argument("--max-transfer-m", type=float, default=400.0)
    parser.add_argument("--spacing-m", type=float, default=500.0, help="stop grid spacing")
    parser.add_argument("--append", action="store_true", help="append to --out")
    args = parser.parse_args()

    from pyproj import Transformer

    from nhc_planner._raptor import INF, WalkParams, build_network, range_raptor, transit_summary
    from nhc_planner._raptor_reference import reference_profiles
    from nhc_planner.gtfs import read_gtfs

    lines: list[str] = []
    log = lines.append
    load = os.getloadavg()
    log(f"# Transit engine benchmark ({dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC)\n")
    log(f"Load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (2 cores shared).\n")
    tr = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "feed"
        n_stops, n_trips = write_feed(
            folder, n_lines=args.lines, grid=args.grid, seed=1, spacing_m=args.spacing_m
        )
        o_lat, o_lon = _points(args.origins, args.grid, 2, args.spacing_m)
        d_lat, d_lon = _points(args.dests, args.grid, 3, args.spacing_m)
        o_xy = np.column_stack(tr.transform(o_lon, o_lat))
        d_xy = np.column_stack(tr.transform(d_lon, d_lat))
        deps = np.arange(8 * 3600, 8 * 3600 + args.window_min * 60 + 1, 60)
        cutoff = 90 * 60
        log(
            f"Feed: {n_stops} stops ({args.spacing_m:g} m grid), {n_trips} trips, {args.lines} "
            f"lines; {args.origins} origins x "
            f"{args.dests} destinations; window {len(deps)} departures (08:00 +{args.window_min} "
            f"min); cutoff 90 min; max 4 rides.\n"
        )
        walk = WalkParams(max_access_m=args.max_access_m, max_transfer_m=args.max_transfer_m)
        log(f"Walking: straight x 1.3 at 4.8 km/h; access/egress <= {walk.max_access_m:g} m, "
            f"footpaths <= {walk.max_transfer_m:g} m.\n")  # fmt: skip
        t = time.perf_counter()
        feed = read_gtfs(folder, DAY)
        net = build_network(feed, o_xy, d_xy, walk)
        log(f"- read GTFS + walking links: {time.perf_counter() - t:.2f} s ({feed.n_patterns} "
            f"patterns)")  # fmt: skip
        t = time.perf_counter()
        range_raptor(net, deps[:2], cutoff_s=cutoff, origins=np.array([0]))
        log(f"- first call (numba compile or cache load): {time.perf_counter() - t:.2f} s")
        t = time.perf_counter()
        pct, share = transit_summary(net, deps, cutoff_s=cutoff, standard_s=30 * 60, threads=2)
        el = time.perf_counter() - t
        log(f"- range RAPTOR, all origins, 2 threads: {el:.2f} s "
            f"({el / args.origins * 1000:.1f} ms per origin for {len(deps)} departures); "
            f"peak RSS {_peak_mb():.0f} MB")  # fmt: skip
        log(f"  reachable pairs (median <= 90 min): {np.isfinite(pct).mean():.1%}; mean share "
            f"within 30 min: {share.mean():.3f}")  # fmt: skip
        # reference on a few origins and every 10th departure
        few = min(args.ref_origins, args.origins)
        sub = deps[::10]
        small = build_network(feed, o_xy[:few], d_xy, walk)
        t = time.perf_counter()
        want = reference_profiles(small, sub, cutoff_s=cutoff)
        el = time.perf_counter() - t
        got = range_raptor(small, sub, cutoff_s=cutoff)
        same = bool((got == want).all())
        log(f"- brute-force reference, {few} origins x {len(sub)} departures: {el:.1f} s; "
            f"engine equal to it on every origin, departure and destination: {same}")  # fmt: skip
        _ferrobus(log, folder, o_lat[:few], o_lon[:few], d_lat, d_lon, got, sub, INF)
    log(f"\nPeak RSS at end: {_peak_mb():.0f} MB; load average at end: "
        f"{os.getloadavg()[0]:.2f}.")  # fmt: skip
    text = "\n".join(lines) + "\n"
    if args.append and args.out.is_file():
        text = args.out.read_text() + "\n" + text
    tmp_out = args.out.with_suffix(".part")
    tmp_out.write_text(text)
    tmp_out.replace(args.out)
    print(text)


def _ferrobus(log, folder, o_lat, o_lon, d_lat, d_lon, got, deps, inf) -> None:  # type: ignore[no-untyped-def]
    try:
        import ferrobus
    except ImportError:
        log("- ferrobus: not installed")
        return
    osm = Path(os.environ.get("NHC_FIXTURES", "/work/shared/data")) / "osm/rutland-latest.osm.pbf"
    if not osm.is_file():
        log(f"- ferrobus: needs an OSM street network; {osm} not found")
        return
    t = time.perf_counter()
    model = ferrobus.create_transit_model(str(osm), [str(folder)], DAY, 1200)
    log(f"- ferrobus: model build (OSM + GTFS) {time.perf_counter() - t:.1f} s "
        f"({model.stop_count()} stops, {model.route_count()} routes)")  # fmt: skip
    dests = []
    for la, lo in zip(d_lat, d_lon, strict=True):
        try:
            dests.append(ferrobus.create_transit_point(float(la), float(lo), model, 1200, 10))
        except Exception:  # a point ferrobus cannot snap
            dests.append(None)
    ok = [d for d in dests if d is not None]
    cols = [i for i, d in enumerate(dests) if d is not None]
    diffs: list[float] = []
    both = only_ours = only_theirs = 0
    t = time.perf_counter()
    for o, (la, lo) in enumerate(zip(o_lat, o_lon, strict=True)):
        try:
            start = ferrobus.create_transit_point(float(la), float(lo), model, 1200, 10)
        except Exception:
            continue
        res = ferrobus.find_routes_one_to_many(model, start, ok, int(deps[0]), 3)
        for c, r in zip(cols, res, strict=True):
            theirs = None if r is None else float(r["travel_time_seconds"]) / 60.0
            ours = got[o, 0, c]
            ours_min = None if ours >= inf else (ours - deps[0]) / 60.0
            if theirs is not None and ours_min is not None:
                both += 1
                diffs.append(theirs - ours_min)
            elif ours_min is not None:
                only_ours += 1
            elif theirs is not None:
                only_theirs += 1
    el = time.perf_counter() - t
    d = np.asarray(diffs)
    log(f"- ferrobus one departure ({_hms(int(deps[0]))}), {len(o_lat)} origins x {len(ok)} "
        f"destinations: {el:.2f} s; reachable by both {both}, only ours {only_ours}, only "
        f"ferrobus {only_theirs}")  # fmt: skip
    if len(d):
        log(f"  ferrobus minus ours (minutes): median {np.median(d):+.1f}, min {d.min():+.1f}, "
            f"max {d.max():+.1f}; exactly equal {np.mean(np.abs(d) < 1e-9):.0%} (walking "
            "differs: ferrobus walks the OSM streets, ours walks straight x 1.3)")  # fmt: skip


if __name__ == "__main__":
    main()
