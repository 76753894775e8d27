"""ICB-scale public-transport benchmark: this project's range RAPTOR beside ``ferrobus`` (issue 13).

One synthetic town, written to a temporary folder and given to both engines:

* **streets**: the demo generator's synthetic road network over a square
  (``--side-km``), written as an OSM PBF (every street ``highway=residential``,
  motorway left out) — ferrobus reads only OSM PBF for walking, and this
  project's engine walks on the same file (``load_network(pbf, mode="walk")``);
* **timetable**: a GTFS folder of ``--lines`` bus lines that wander over a
  ``--grid`` x ``--grid`` lattice of stops (each stop placed *on* a street
  node, so neither engine has a snapping leg to a stop), both directions,
  every 10-30 minutes 06:00-22:00 at 20 km/h (5,041 stops and ~20,600 trips
  by default);
* **origins / destinations**: ``--origins`` areas and ``--dests`` sites, on
  street nodes.

Side by side, each engine in its own child process (so each has its own peak
memory, ``ru_maxrss``):

1. **ours, default model**: walking on the PBF streets at 4.8 km/h, access
   and egress up to the time of a 1,000 m straight walk x 1.3 (16 min),
   footpaths 400 m (6.5 min), at most 4 rides; every origin x destination x
   departure of the window (``--window-min``, one departure a minute): the
   acceptance run (< 120 s on 2 cores);
2. **ours, ferrobus's walking rules**: the walking legs rebuilt the way
   ferrobus 0.2.1 builds them (read from its source: 1.4 m/s, street edges
   rounded down to whole seconds, access only at the *single nearest* stop,
   egress from the 10 nearest stops, walks and transfers up to 1,200 s, a
   direct walk without the snap legs), same timetable and rides;
3. **ferrobus**: model build, transit points, ``find_routes_one_to_many`` for
   every origin at the first departure (2 threads), and over the whole window
   for ``--ferrobus-window-origins`` origins (its API takes one departure per
   call; the time for all origins is extrapolated and labelled so).

Agreement is reported for the first departure (every pair) and for the
median over the window (the sampled origins): ferrobus against run 2 (same
rules: differences left are ferrobus's, or rounding) and against run 1 (the
model this project uses).

Run::

    python benchmarks/bench_transit.py --out benchmarks/results_transit.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import os
import resource
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DAY = dt.date(2026, 12, 7)  # a Monday
X0, Y0 = 480_000.0, 300_000.0  # BNG south-west corner (Rutland-like place)
CUTOFF_S = 90 * 60
STANDARD_S = 30 * 60
FB_WALK_S = 1200  # ferrobus's default max_walking_time / max_transfer_time
FB_SPEED_MPS = 1.4  # ferrobus WALKING_SPEED
FB_NEAREST = 10  # ferrobus's default max_nearest_stops


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _hms(s: int) -> str:
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


# --------------------------------------------------------------------------- inputs


def write_streets(folder: Path, side_m: float, nodes: int, seed: int) -> dict[str, Any]:
    """The synthetic streets as an OSM PBF; node ids, lon/lat (7 decimals) and BNG x/y."""
    import osmium
    from pyproj import Transformer

    from nhc_planner.demo import synthetic_road_network

    g = synthetic_road_network(
        bounds=(X0, Y0, X0 + side_m, Y0 + side_m), n_nodes_target=nodes, seed=seed
    )
    ids = {n: i + 1 for i, n in enumerate(g.nodes)}
    xy = np.array([(d["x"], d["y"]) for _, d in g.nodes(data=True)])
    lon, lat = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True).transform(
        xy[:, 0], xy[:, 1]
    )
    lon, lat = np.round(lon, 7), np.round(lat, 7)
    pairs = sorted(
        {
            (min(ids[u], ids[v]), max(ids[u], ids[v]))
            for u, v, d in g.edges(data=True)
            if u != v and d.get("highway") != "motorway"
        }
    )
    path = folder / "streets.osm.pbf"
    w = osmium.SimpleWriter(str(path))
    try:
        for i in range(len(xy)):
            w.add_node(osmium.osm.mutable.Node(id=i + 1, location=(lon[i], lat[i]), version=1))
        for k, (a, b) in enumerate(pairs):
            w.add_way(
                osmium.osm.mutable.Way(
                    id=k + 1, nodes=[a, b], tags={"highway": "residential"}, version=1
                )
            )
    finally:
        w.close()
    back = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    bx, by = back.transform(lon, lat)
    return {"pbf": path, "lon": lon, "lat": lat, "xy": np.column_stack([bx, by])}


def write_feed(
    folder: Path, streets: dict[str, Any], *, n_lines: int, grid: int, seed: int, side_m: float
) -> tuple[int, int]:
    """The GTFS folder; stops on the street nodes nearest a lattice. Returns (stops, trips)."""
    from scipy.spatial import cKDTree

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    spacing = side_m / (grid + 1)
    gx = X0 + spacing * (1 + np.arange(grid))
    lattice = np.array([(x, y) for y in gx - X0 + Y0 for x in gx])
    node = cKDTree(streets["xy"]).query(lattice)[1]
    # a lattice point whose node another point took already gets its next nearest free node
    used: set[int] = set()
    tree = cKDTree(streets["xy"])
    for q in range(len(node)):
        if int(node[q]) in used:
            for cand in tree.query(lattice[q], k=12)[1]:
                if int(cand) not in used:
                    node[q] = cand
                    break
        used.add(int(node[q]))
    lon, lat = streets["lon"][node], streets["lat"][node]
    with open(folder / "stops.txt", "w") as f:
        f.write("stop_id,stop_name,stop_lat,stop_lon\n")
        for q in range(len(node)):
            f.write(f"G{q},Stop {q},{lat[q]:.7f},{lon[q]:.7f}\n")
    (folder / "agency.txt").write_text(
        "agency_id,agency_name,agency_url,agency_timezone\n"
        "B,Benchmark buses (synthetic),https://example.invalid,Europe/London\n"
    )
    (folder / "routes.txt").write_text(
        "route_id,agency_id,route_short_name,route_type\n"
        + "".join(f"L{k},B,{k},3\n" for k in range(n_lines))
    )
    (folder / "calendar.txt").write_text(
        "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\n"
        "WK,1,1,1,1,1,0,0,20260101,20271231\n"
    )
    hop = max(30, round(spacing / (20 / 3.6)))  # 20 km/h
    n_trips = 0
    with open(folder / "trips.txt", "w") as trips, open(folder / "stop_times.txt", "w") as times:
        trips.write("route_id,service_id,trip_id\n")
        times.write("trip_id,arrival_time,departure_time,stop_id,stop_sequence\n")
        for k in range(n_lines):
            i, j = (int(v) for v in rng.integers(0, grid, 2))
            path = [(i, j)]
            for _ in range(int(rng.integers(12, 30))):
                di, dj = [(0, 1), (1, 0), (0, -1), (-1, 0)][int(rng.integers(0, 4))]
                i, j = min(grid - 1, max(0, i + di)), min(grid - 1, max(0, j + dj))
                if (i, j) != path[-1] and (len(path) < 2 or (i, j) != path[-2]):
                    path.append((i, j))
            headway = int(rng.choice([600, 900, 1200, 1800]))
            for direction, stops in enumerate((path, path[::-1])):
                for t0 in range(6 * 3600 + int(rng.integers(0, headway)), 22 * 3600, headway):
                    tid = f"L{k}_{direction}_{t0}"
                    trips.write(f"L{k},WK,{tid}\n")
                    for q, (a, b) in enumerate(stops):
                        t = _hms(t0 + q * hop)
                        times.write(f"{tid},{t},{t},G{a * grid + b},{q + 1}\n")
                    n_trips += 1
    return len(node), n_trips


# --------------------------------------------------------------------------- our engine


def _ferrobus_links(net: Any, o_xy: np.ndarray, d_xy: np.ndarray, s_xy: np.ndarray) -> Any:
    """Walking legs by ferrobus 0.2.1's rules, on our copy of the same streets."""
    import scipy.sparse as sp
    from scipy.spatial import cKDTree

    from nhc_planner._transit_walk import WalkLinks
    from nhc_planner.travel.routing import network_seconds

    a = net.arrays
    # ferrobus: undirected street edges of floor(length / 1.4 m/s) seconds
    # (length by haversine on the PBF's coordinates, as its geo crate measures it)
    from pyproj import Transformer

    coo = sp.triu(a.seconds.maximum(a.seconds.T)).tocoo()
    lon, lat = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True).transform(
        a.xy[:, 0], a.xy[:, 1]
    )
    lon, lat = np.radians(np.round(lon, 7)), np.radians(np.round(lat, 7))
    i, j = coo.row, coo.col
    h = (
        np.sin((lat[j] - lat[i]) / 2) ** 2
        + np.cos(lat[i]) * np.cos(lat[j]) * np.sin((lon[j] - lon[i]) / 2) ** 2
    )
    length = 2 * 6_371_008.8 * np.arcsin(np.sqrt(h))
    w = np.maximum(np.floor(length / FB_SPEED_MPS), 1e-9)
    g = sp.csr_matrix((np.r_[w, w], (np.r_[coo.row, coo.col], np.r_[coo.col, coo.row])))
    tree = cKDTree(a.xy)
    on, dn, sn = (tree.query(p)[1] for p in (o_xy, d_xy, s_xy))

    def leg(f: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        m = network_seconds(g, f, t, limit_s=FB_WALK_S, workers=2).tocoo()
        return m.row.astype(np.int64), m.col.astype(np.int64), np.round(m.data - 1).astype(np.int64)

    def nearest(i: np.ndarray, j: np.ndarray, s: np.ndarray, k: int, by_i: bool) -> tuple[Any, ...]:
        key = i if by_i else j
        order = np.lexsort((s, key))
        i, j, s, key = i[order], j[order], s[order], key[order]
        rank = np.arange(len(key)) - np.searchsorted(key, key)
        keep = rank < k
        return i[keep], j[keep], s[keep]

    ai, aj, as_ = nearest(*leg(on, sn), 1, True)  # MAX_CANDIDATE_STOPS = 1
    eg = nearest(*leg(sn, dn), FB_NEAREST, False)
    fi, fj, fs = leg(sn, sn)
    off = fi != fj
    fi, fj, fs = fi[off], fj[off], fs[off]
    # its RAPTOR relaxes transfers from the access stop before the first ride: walking
    # on from the nearest stop counts as access (our model: one access walk, any stop)
    first = {int(o): (int(s), int(t)) for o, s, t in zip(ai, aj, as_, strict=True)}
    best: dict[tuple[int, int], int] = {(o, s): t for o, (s, t) in first.items()}
    start = np.searchsorted(fi, np.arange(len(s_xy) + 1))
    for o, (s0, t0) in first.items():
        for e in range(start[s0], start[s0 + 1]):
            key = (o, int(fj[e]))
            best[key] = min(best.get(key, 1 << 40), t0 + int(fs[e]))
    keys = sorted(best)
    acc = (
        np.array([k[0] for k in keys], np.int64),
        np.array([k[1] for k in keys], np.int64),
        np.array([best[k] for k in keys], np.int64),
    )
    # ... and after the last ride a transfer may precede the egress walk
    import pandas as pd

    e = pd.DataFrame({"q": eg[0], "d": eg[1], "t": eg[2]})
    f = pd.DataFrame({"s": fj, "q": fi, "w": fs})  # footpath s -> q (symmetric streets)
    both = f.merge(e, on="q")
    both["t"] = both["t"] + both["w"]
    allx = pd.concat([e.rename(columns={"q": "s"}), both[["s", "d", "t"]]])
    allx = allx.groupby(["s", "d"], as_index=False)["t"].min()
    egress = tuple(allx[c].to_numpy(np.int64) for c in ("s", "d", "t"))
    return WalkLinks(acc, egress, leg(on, dn), (fi, fj, fs), "network")  # type: ignore[arg-type]


def run_ours(args: dict[str, Any], q: Any) -> None:
    """Child process: our engine, default model and ferrobus's walking rules."""
    from nhc_planner._raptor import WalkParams, build_network, range_raptor, transit_summary
    from nhc_planner._raptor_reference import reference_profiles
    from nhc_planner.gtfs import read_gtfs
    from nhc_planner.network import Speeds, load_network

    out: dict[str, Any] = {}
    deps, o_xy, d_xy = args["deps"], args["o_xy"], args["d_xy"]
    t = time.perf_counter()
    feed = read_gtfs(args["feed"], DAY)
    out["read_s"] = time.perf_counter() - t
    t = time.perf_counter()
    walk_net = load_network(args["pbf"], mode="walk", use_cache=False, split_every_m=None)
    out["streets_s"] = time.perf_counter() - t
    out["street_nodes"] = len(walk_net.arrays.xy)
    t = time.perf_counter()
    net = build_network(feed, o_xy, d_xy, WalkParams(), walk_network=walk_net)
    out["links_s"] = time.perf_counter() - t
    out["n_acc"], out["n_fp"] = len(net.acc_stop), len(net.fp_to)
    t = time.perf_counter()
    range_raptor(net, deps[:2], cutoff_s=CUTOFF_S, origins=np.array([0]))
    out["compile_s"] = time.perf_counter() - t
    t = time.perf_counter()
    pct, share = transit_summary(net, deps, cutoff_s=CUTOFF_S, standard_s=STANDARD_S, threads=2)
    out["raptor_s"] = time.perf_counter() - t
    out["reach"] = float(np.isfinite(pct).mean())
    out["share"] = float(share.mean())
    out["first_default"] = range_raptor(net, deps[:1], cutoff_s=CUTOFF_S)[:, 0, :]
    few = args["fb_origins"]
    out["window_default"] = range_raptor(net, deps, cutoff_s=CUTOFF_S, origins=few)
    # the reference on one origin, every 20th departure
    small = build_network(feed, o_xy[:1], d_xy, WalkParams(), walk_network=walk_net)
    sub = deps[::40]
    t = time.perf_counter()
    want = reference_profiles(small, sub, cutoff_s=CUTOFF_S)
    out["ref_s"] = time.perf_counter() - t
    out["ref_equal"] = bool((range_raptor(small, sub, cutoff_s=CUTOFF_S) == want).all())
    out["peak_default_mb"] = _peak_mb()
    # ferrobus's walking rules, and its max_transfers=3 allows 3 rides (found by testing)
    fb_net = load_network(
        args["pbf"], mode="walk", use_cache=False, split_every_m=None,
        speeds=Speeds(walk=FB_SPEED_MPS * 3.6),
    )  # fmt: skip
    links = _ferrobus_links(fb_net, o_xy, d_xy, feed.stop_xy)
    fnet = build_network(feed, o_xy, d_xy, WalkParams(max_rides=3), links=links)
    t = time.perf_counter()
    transit_summary(fnet, deps, cutoff_s=CUTOFF_S, standard_s=STANDARD_S, threads=2)
    out["raptor_fb_rules_s"] = time.perf_counter() - t
    out["first_fb_rules"] = range_raptor(fnet, deps[:1], cutoff_s=CUTOFF_S)[:, 0, :]
    one = np.array([0])
    want = reference_profiles(fnet, sub, cutoff_s=CUTOFF_S, origins=one)
    got = range_raptor(fnet, sub, cutoff_s=CUTOFF_S, origins=one)
    out["ref_fb_equal"] = bool((got == want).all())
    out["window_fb_rules"] = range_raptor(fnet, deps, cutoff_s=CUTOFF_S, origins=few)
    out["peak_mb"] = _peak_mb()
    q.put(out)


# --------------------------------------------------------------------------- ferrobus


def run_ferrobus(args: dict[str, Any], q: Any) -> None:
    """Child process: ferrobus on the same PBF and feed."""
    out: dict[str, Any] = {}
    try:
        import ferrobus
    except ImportError:
        q.put({"error": "ferrobus not installed"})
        return
    deps = args["deps"]
    t = time.perf_counter()
    model = ferrobus.create_transit_model(str(args["pbf"]), [str(args["feed"])], DAY, FB_WALK_S)
    out["build_s"] = time.perf_counter() - t
    out["stops"], out["routes"] = model.stop_count(), model.route_count()

    def point(la: float, lo: float) -> Any:
        try:
            return ferrobus.create_transit_point(la, lo, model, FB_WALK_S, FB_NEAREST)
        except Exception:  # a point it cannot snap
            return None

    t = time.perf_counter()
    o_pts = [point(float(a), float(b)) for a, b in zip(*args["o_ll"], strict=True)]
    d_pts = [point(float(a), float(b)) for a, b in zip(*args["d_ll"], strict=True)]
    out["points_s"] = time.perf_counter() - t
    cols = [i for i, p in enumerate(d_pts) if p is not None]
    ok = [d_pts[i] for i in cols]
    n_d = len(d_pts)

    def one(o: int, dep: int) -> np.ndarray:
        row = np.full(n_d, -1, np.int64)
        if o_pts[o] is None:
            return row
        res = ferrobus.find_routes_one_to_many(model, o_pts[o], ok, int(dep), 3)
        for c, r in zip(cols, res, strict=True):
            if r is not None and r["travel_time_seconds"] <= CUTOFF_S:
                row[c] = int(r["travel_time_seconds"])
        return row

    n_o = len(o_pts)
    t = time.perf_counter()
    with ThreadPoolExecutor(2) as pool:
        first = np.vstack(list(pool.map(lambda o: one(o, int(deps[0])), range(n_o))))
    out["first_s"] = time.perf_counter() - t
    out["first"] = first
    few = args["fb_origins"]
    t = time.perf_counter()
    with ThreadPoolExecutor(2) as pool:
        rows = list(pool.map(lambda od: one(*od), [(int(o), int(d)) for o in few for d in deps]))
    out["window_s"] = time.perf_counter() - t
    out["window"] = np.stack(rows).reshape(len(few), len(deps), n_d)
    # its own itinerary for a sample of the first departure's journeys
    rng = np.random.default_rng(5)
    oo, dd = np.nonzero(first >= 0)
    pick = rng.choice(len(oo), min(args["detail_pairs"], len(oo)), replace=False)
    detail = []
    for k in pick:
        o, d = int(oo[k]), int(dd[k])
        text = ferrobus.detailed_journey(model, o_pts[o], d_pts[d], int(deps[0]), 3)
        feats = json.loads(text)["features"] if text and text != "null" else []
        ends = [f["properties"].get("arrival_time") for f in feats]
        ends = [e for e in ends if e is not None]
        detail.append((o, d, (max(ends) - int(deps[0])) if ends else -1))
    out["detail"] = np.array(detail, np.int64).reshape(-1, 3)
    out["unsnapped"] = sum(p is None for p in o_pts + d_pts)
    out["peak_mb"] = _peak_mb()
    q.put(out)


def _child(target: Any, args: dict[str, Any]) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=target, args=(args, q))
    p.start()
    res: dict[str, Any] = q.get()
    p.join()
    return res


# --------------------------------------------------------------------------- report


def _agree(theirs: np.ndarray, ours: np.ndarray, label: str) -> str:
    """``theirs`` travel seconds (-1 unreachable) against ours (travel seconds, -1)."""
    both = (theirs >= 0) & (ours >= 0)
    d = (theirs[both] - ours[both]) / 60.0
    only_ours = int(((ours >= 0) & (theirs < 0)).sum())
    only_theirs = int(((theirs >= 0) & (ours < 0)).sum())
    txt = (
        f"{label}: reachable by both {int(both.sum())}, only ours {only_ours}, "
        f"only ferrobus {only_theirs}"
    )
    if len(d):
        txt += (
            f"; ferrobus minus ours (min): median {np.median(d):+.1f}, min {d.min():+.1f}, "
            f"max {d.max():+.1f}; equal {np.mean(d == 0):.1%}, within 1 min "
            f"{np.mean(np.abs(d) <= 1):.1%}"
        )
    return txt


def _travel(arrivals: np.ndarray, deps: np.ndarray) -> np.ndarray:
    from nhc_planner._raptor import INF

    dep = deps[0] if arrivals.ndim == 2 else deps.reshape(1, -1, 1)
    return np.where(arrivals >= INF, -1, arrivals - dep)


def _median(window: np.ndarray) -> np.ndarray:
    """Nearest-rank median over departures (axis 1), unreachable (-1) as infinite; -1 if so."""
    big = np.where(window < 0, np.iinfo(np.int64).max, window)
    k = max(0, int(np.ceil(0.5 * window.shape[1])) - 1)
    med = np.sort(big, axis=1)[:, k, :]
    return np.where(med == np.iinfo(np.int64).max, -1, med)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--side-km", type=float, default=18.0)
    parser.add_argument("--street-nodes", type=int, default=40_000)
    parser.add_argument("--lines", type=int, default=170)
    parser.add_argument("--grid", type=int, default=71)
    parser.add_argument("--origins", type=int, default=1500)
    parser.add_argument("--dests", type=int, default=1000)
    parser.add_argument("--window-min", type=int, default=120)
    parser.add_argument("--ferrobus-window-origins", type=int, default=10)
    parser.add_argument("--detail-pairs", type=int, default=300)
    parser.add_argument("--append", action="store_true", help="append to --out")
    args = parser.parse_args()

    lines: list[str] = []
    log = lines.append
    load = os.getloadavg()
    log(f"# Transit engine benchmark ({dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC)\n")
    log(f"Load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (2 cores shared).\n")
    side = args.side_km * 1000
    deps = np.arange(8 * 3600, 8 * 3600 + args.window_min * 60 + 1, 60, dtype=np.int64)
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        streets = write_streets(Path(tmp), side, args.street_nodes, seed=1)
        feed = Path(tmp) / "feed"
        n_stops, n_trips = write_feed(
            feed, streets, n_lines=args.lines, grid=args.grid, seed=1, side_m=side
        )
        rng = np.random.default_rng(2)
        n_nodes = len(streets["xy"])
        o = rng.choice(n_nodes, args.origins, replace=False)
        d = rng.choice(n_nodes, args.dests, replace=False)
        few = np.arange(min(args.ferrobus_window_origins, args.origins))
        log(
            f"Inputs (written in {time.perf_counter() - t:.0f} s): {args.side_km:g} km square, "
            f"{n_nodes} street nodes (OSM PBF), {n_stops} stops, {n_trips} trips, {args.lines} "
            f"lines; {args.origins} origins x {args.dests} destinations on street nodes; "
            f"{len(deps)} departures 08:00-{_hms(int(deps[-1]))[:5]} a minute apart; cutoff "
            f"{CUTOFF_S // 60} min; at most 4 rides (3 with ferrobus's rules: its "
            "max_transfers=3).\n"
        )
        common = {
            "pbf": streets["pbf"],
            "feed": feed,
            "deps": deps,
            "fb_origins": few,
            "detail_pairs": args.detail_pairs,
            "o_xy": streets["xy"][o],
            "d_xy": streets["xy"][d],
            "o_ll": (streets["lat"][o], streets["lon"][o]),
            "d_ll": (streets["lat"][d], streets["lon"][d]),
        }
        ours = _child(run_ours, common)
        fb = _child(run_ferrobus, common)
    _report(log, args, ours, fb, deps, few)
    log(f"\nLoad average at end: {os.getloadavg()[0]:.2f}.")
    text = "\n".join(lines) + "\n"
    if args.append and args.out.is_file():
        text = args.out.read_text() + "\n" + text
    tmp_out = args.out.with_suffix(".part")
    tmp_out.write_text(text)
    tmp_out.replace(args.out)
    print(text)


def _report(
    log: Any,
    args: Any,
    ours: dict[str, Any],
    fb: dict[str, Any],
    deps: np.ndarray,
    few: np.ndarray,
) -> None:
    log("## This project's range RAPTOR (numba), 2 threads\n")
    log(
        f"- read GTFS {ours['read_s']:.1f} s; walk network from the PBF {ours['streets_s']:.1f} s "
        f"({ours['street_nodes']} nodes); walking legs on it {ours['links_s']:.1f} s "
        f"({ours['n_acc']} access legs, {ours['n_fp']} footpaths); first call (compile or cache) "
        f"{ours['compile_s']:.1f} s"
    )
    total = ours["read_s"] + ours["streets_s"] + ours["links_s"] + ours["raptor_s"]
    log(
        f"- **range RAPTOR, {args.origins} x {args.dests} x {len(deps)} departures: "
        f"{ours['raptor_s']:.1f} s** (with reading and walking legs {total:.1f} s); median "
        f"reachable for {ours['reach']:.1%} of pairs; mean share within 30 min {ours['share']:.3f}"
    )
    log(
        f"- brute-force reference, 1 origin x {len(deps[::40])} departures "
        f"({ours['ref_s']:.0f} s): "
        f"engine equal on every destination and departure: {ours['ref_equal']}"
    )
    log(
        f"- same run with ferrobus's walking rules: {ours['raptor_fb_rules_s']:.1f} s; equal to "
        f"the reference (1 origin, the same departures): {ours['ref_fb_equal']}"
    )
    log(
        f"- peak memory (ru_maxrss of the child process): {ours['peak_default_mb']:.0f} MB after "
        f"the default run, {ours['peak_mb']:.0f} MB at the end\n"
    )
    log("## ferrobus 0.2.1 (Rust), 2 threads\n")
    if "error" in fb:
        log(f"- {fb['error']}")
        return
    n_o = args.origins
    per = fb["window_s"] / (len(few) * len(deps))
    log(
        f"- model build (PBF + GTFS, transfers) {fb['build_s']:.1f} s ({fb['stops']} stops, "
        f"{fb['routes']} routes); transit points {fb['points_s']:.1f} s ({fb['unsnapped']} "
        "could not be snapped)"
    )
    log(f"- one departure, {n_o} origins x {args.dests} destinations: {fb['first_s']:.1f} s")
    log(
        f"- {len(few)} origins x {len(deps)} departures: {fb['window_s']:.1f} s, i.e. "
        f"{per * 1000:.0f} ms per origin and departure; **the whole window for {n_o} origins "
        f"would take about {per * n_o * len(deps):.0f} s** (extrapolated, not run)"
    )
    log(f"- peak memory (ru_maxrss of the child process): {fb['peak_mb']:.0f} MB\n")
    log("## Agreement\n")
    first_fb = fb["first"]
    rules, default = "ours with ferrobus's walking rules", "ours (default model)"
    for key, label in (("first_fb_rules", rules), ("first_default", default)):
        got = _travel(ours[key], deps[:1])
        log("- " + _agree(first_fb, got, f"first departure, {label}"))
    med_fb = _median(fb["window"])
    for key, label in (("window_fb_rules", rules), ("window_default", default)):
        got = _median(_travel(ours[key], deps))
        log("- " + _agree(med_fb, got, f"median over the window ({len(few)} origins), {label}"))
    det = fb["detail"]
    o, d, t_det = det[:, 0], det[:, 1], det[:, 2]
    t_o2m = first_fb[o, d]
    t_ours = _travel(ours["first_fb_rules"], deps[:1])[o, d]
    found = t_det >= 0
    log(
        f"- ferrobus's own itinerary (`detailed_journey`) for {len(det)} random journeys of the "
        f"first departure: found for {int(found.sum())}; its one-to-many time is shorter than "
        f"its own itinerary for {int((t_o2m[found] < t_det[found]).sum())} "
        f"(by up to {int(np.max(t_det[found] - t_o2m[found], initial=0)) // 60} min); the "
        f"itinerary is more than 1 min faster than ours with its rules for "
        f"{int(((t_ours[found] >= 0) & (t_det[found] < t_ours[found] - 60)).sum())}, slower "
        f"for {int(((t_ours[found] >= 0) & (t_det[found] > t_ours[found] + 60)).sum())}"
    )


if __name__ == "__main__":
    main()
