"""Small GTFS feeds for the transit tests: a writer and a hypothesis strategy."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import strategies as st

from nhc_planner._raptor import TransitNetwork, WalkParams, build_network
from nhc_planner.gtfs import read_gtfs

DAY = "2026-12-07"  # a Monday


def write_feed(
    folder: Path,
    stops: list[tuple[float, float]],
    trips: list[list[tuple[int, int, int]]],
    transfers: list[tuple[int, int, int | None]] | None = None,
) -> Path:
    """A GTFS folder: ``stops`` as (lat, lon); each trip a list of (stop, arr_s, dep_s);
    ``transfers`` rows (from stop, to stop, min_transfer_time or None)."""
    folder.mkdir(parents=True, exist_ok=True)
    if transfers:
        (folder / "transfers.txt").write_text(
            "from_stop_id,to_stop_id,transfer_type,min_transfer_time\n"
            + "".join(f"S{a},S{b},2,{'' if t is None else t}\n" for a, b, t in transfers)
        )
    (folder / "stops.txt").write_text(
        "stop_id,stop_name,stop_lat,stop_lon\n"
        + "".join(f"S{i},Stop {i},{la:.6f},{lo:.6f}\n" for i, (la, lo) in enumerate(stops))
    )
    (folder / "routes.txt").write_text("route_id,route_short_name,route_type\nR,1,3\n")
    (folder / "calendar.txt").write_text(
        "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\n"
        "WK,1,1,1,1,1,0,0,20260101,20271231\n"
    )
    (folder / "trips.txt").write_text(
        "route_id,service_id,trip_id\n" + "".join(f"R,WK,T{k}\n" for k in range(len(trips)))
    )

    def hms(s: int) -> str:
        return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"

    rows = [
        f"T{k},{hms(a)},{hms(d)},S{s},{q + 1}\n"
        for k, trip in enumerate(trips)
        for q, (s, a, d) in enumerate(trip)
    ]
    (folder / "stop_times.txt").write_text(
        "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n" + "".join(rows)
    )
    return folder


LAT0, LON0 = 53.80, -1.55  # Leeds


@st.composite
def feeds(draw: st.DrawFn) -> dict[str, Any]:
    n_stops = draw(st.integers(2, 7))
    stops = [
        (LAT0 + draw(st.integers(0, 20)) * 0.001, LON0 + draw(st.integers(0, 20)) * 0.0015)
        for _ in range(n_stops)
    ]
    shapes = draw(
        st.lists(
            st.lists(st.integers(0, n_stops - 1), min_size=2, max_size=5).filter(
                lambda s: all(a != b for a, b in itertools.pairwise(s))
            ),
            min_size=1,
            max_size=3,
        )
    )
    trips: list[list[tuple[int, int, int]]] = []
    for _ in range(draw(st.integers(1, 8))):
        shape = draw(st.sampled_from(shapes))
        t = 7 * 3600 + draw(st.integers(0, 90)) * 60
        trip: list[tuple[int, int, int]] = []
        for s in shape:
            a = t
            d = a + draw(st.sampled_from([0, 0, 60, 120]))
            trip.append((s, a, d))
            t = d + draw(st.integers(1, 12)) * 60
        trips.append(trip)
    pts = st.tuples(st.integers(0, 20), st.integers(0, 20))
    origins = draw(st.lists(pts, min_size=1, max_size=3))
    dests = draw(st.lists(pts, min_size=1, max_size=3))
    rides = draw(st.integers(1, 3))
    transfers = draw(
        st.lists(
            st.tuples(
                st.integers(0, n_stops - 1),
                st.integers(0, n_stops - 1),
                st.one_of(st.none(), st.sampled_from([0, 60, 180, 600])),
            ),
            max_size=4,
        )
    )
    return {
        "stops": stops,
        "trips": trips,
        "origins": origins,
        "dests": dests,
        "rides": rides,
        "transfers": transfers,
    }


def grid_walk_network(step_m: float = 150.0, n: int = 12, holes: frozenset[int] = frozenset()):  # type: ignore[no-untyped-def]
    """A walk network: an ``n`` x ``n`` street grid (``step_m`` apart) over the test
    feeds' area (south-west corner at ``LAT0, LON0``), without the nodes in ``holes``."""
    import networkx as nx
    from pyproj import Transformer

    from nhc_planner.network import load_network

    x0, y0 = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True).transform(LON0, LAT0)
    g = nx.MultiDiGraph(crs="EPSG:27700")
    for a in range(n):
        for b in range(n):
            if a * n + b not in holes:
                g.add_node(a * n + b, x=x0 + b * step_m, y=y0 + a * step_m)
    for a in range(n):
        for b in range(n):
            for c in ((a + 1) * n + b if a + 1 < n else -1, a * n + b + 1 if b + 1 < n else -1):
                if c >= 0 and a * n + b in g and c in g:
                    g.add_edge(a * n + b, c, highway="footway")
                    g.add_edge(c, a * n + b, highway="footway")
    return load_network(g, mode="walk", use_cache=False, split_every_m=None)


def make_network(case: dict[str, Any], folder: Path, walk_network: Any = None) -> TransitNetwork:
    from pyproj import Transformer

    feed = read_gtfs(write_feed(folder, case["stops"], case["trips"], case.get("transfers")), DAY)
    tr = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)

    def xy(pts: list[tuple[int, int]]) -> np.ndarray:
        x, y = tr.transform([LON0 + b * 0.0015 for _, b in pts], [LAT0 + a * 0.001 for a, _ in pts])
        return np.column_stack([x, y])

    walk = WalkParams(max_access_m=600.0, max_transfer_m=300.0, max_rides=case["rides"])
    return build_network(
        feed, xy(case["origins"]), xy(case["dests"]), walk, walk_network=walk_network
    )
