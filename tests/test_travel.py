"""Tests for nhc_planner.travel."""

from __future__ import annotations

import warnings

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from nhc_planner._errors import (
    CrsError,
    EmptyInputError,
    MissingColumnError,
    NetworkError,
    ValueRangeError,
)
from nhc_planner.network import load_network
from nhc_planner.testing import require_fixture
from nhc_planner.travel import (
    CIRCUITY,
    STRAIGHT_LINE_SPEED_KMH,
    SnapWarning,
    TravelEngine,
    TravelTimes,
    isochrone,
    network_seconds,
    straight_line_times,
    travel_times,
)

WALK_M_PER_MIN = 4.8 * 1000 / 60  # 80 m per minute


def areas_frame(points: dict[str, tuple[float, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "area_code": list(points),
            "demand_x": [p[0] for p in points.values()],
            "demand_y": [p[1] for p in points.values()],
        }
    )


def sites_frame(points: dict[str, tuple[float, float]], crs: str = "EPSG:27700"):
    return gpd.GeoDataFrame(
        {"site_id": list(points)},
        geometry=[shapely.Point(p) for p in points.values()],
        crs=crs,
    )


def line_graph(n: int = 5, step: float = 800.0, **attrs) -> nx.MultiDiGraph:
    """Nodes 0..n-1 along the x axis, ``step`` metres apart, two-way residential."""
    g = nx.MultiDiGraph(crs="EPSG:27700")
    for i in range(n):
        g.add_node(i, x=i * step, y=0.0)
    for i in range(n - 1):
        g.add_edge(i, i + 1, highway="residential", **attrs)
        g.add_edge(i + 1, i, highway="residential", **attrs)
    return g


# --------------------------------------------------------------------------- hand-checked


def test_walk_times_on_a_line_are_exact():
    net = load_network(line_graph(), mode="walk")
    areas = areas_frame({"A0": (0, 0), "A1": (800, 60)})  # A1 is 60 m off the road
    sites = sites_frame({"S4": (3200, 0), "S2": (1600, 0)})
    tt = travel_times(areas, sites, net, mode="walk")
    m = tt.matrix()
    assert m[0, 0] == pytest.approx(3200 / WALK_M_PER_MIN)
    assert m[0, 1] == pytest.approx(1600 / WALK_M_PER_MIN)
    assert m[1, 1] == pytest.approx((800 + 60) / WALK_M_PER_MIN)  # access leg added
    assert list(tt.long.columns) == ["area_code", "site_id", "mode", "minutes", "method"]
    assert set(tt.long["method"]) == {"network"}
    assert not tt.estimated.any()
    assert tt.snaps.loc[tt.snaps["id"] == "A1", "snap_m"].item() == pytest.approx(60.0)


def test_drive_adds_allowance_and_respects_one_way():
    g = line_graph(3, step=1000.0)
    g.remove_edge(1, 0)  # 1 -> 0 is one-way: only 0 -> 1 is allowed
    g.add_node(3, x=1000.0, y=1000.0)  # a detour back: 1 -> 3 -> 0
    g.add_edge(1, 3, highway="residential")
    g.add_edge(3, 0, highway="residential")
    net = load_network(g, mode="drive")  # residential 25 km/h when untagged
    kmh = 25.0
    areas = areas_frame({"A": (0, 0), "B": (1000, 0)})
    sites = sites_frame({"S0": (0, 0), "S1": (1000, 0)})
    tt = travel_times(areas, sites, net, mode="drive", drive_access_allowance_min=2.0)
    m = tt.matrix()
    minutes_per_km = 60 / kmh
    assert m[0, 1] == pytest.approx(2.0 + 1 * minutes_per_km)  # A -> S1 direct
    detour = 1000 + np.hypot(1000, 0) + np.hypot(1000, 1000)
    assert m[1, 0] == pytest.approx(2.0 + detour / 1000 * minutes_per_km - minutes_per_km)
    assert m[0, 0] == 0.0  # the same point: no trip, no allowance


def test_beyond_cutoff_is_absent_and_infinite_never_zero():
    net = load_network(line_graph(), mode="walk")
    areas = areas_frame({"A": (0, 0)})
    sites = sites_frame({"near": (800, 0), "far": (3200, 0)})
    tt = travel_times(areas, sites, net, mode="walk", cutoff_min=20.0)
    assert tt.long["site_id"].tolist() == ["near"]
    m = tt.matrix()
    assert np.isinf(m[0, 1])
    assert m[0, 0] == pytest.approx(10.0)
    s = tt.sparse()
    assert s.shape == (1, 2)
    assert s.nnz == 1


def test_matrix_and_sparse_follow_requested_order():
    net = load_network(line_graph(), mode="walk")
    areas = areas_frame({"A": (0, 0), "B": (3200, 0)})
    sites = sites_frame({"S0": (0, 0), "S4": (3200, 0)})
    tt = travel_times(areas, sites, net, mode="walk")
    full = tt.matrix()
    swapped = tt.matrix(["B", "A"], ["S4", "S0"])
    assert np.array_equal(swapped, full[::-1, ::-1])
    # A zero-minute trip is a stored entry of the sparse view.
    s = tt.sparse()
    assert s.nnz == 4
    assert s[0, 0] == 0.0
    assert isinstance(s, sp.csr_matrix)
    np.testing.assert_allclose(tt.sparse(["B"], ["S0"]).toarray(), full[1:, :1])
    with pytest.raises(ValueRangeError, match="not in these travel times"):
        tt.matrix(["Z"])


def test_network_seconds_unreachable_is_absent():
    # Two disconnected pairs of nodes: 0<->1 and 2<->3.
    w = sp.csr_matrix(([10.0, 10.0, 5.0, 5.0], ([0, 1, 2, 3], [1, 0, 3, 2])), shape=(4, 4))
    out = network_seconds(w, np.array([0, 2, 0]), np.array([1, 3]), workers=1).toarray()
    # stored values are seconds + 1; unreachable pairs are 0 (absent)
    np.testing.assert_array_equal(out, [[11.0, 0.0], [0.0, 6.0], [11.0, 0.0]])


def test_network_seconds_matches_networkx_both_directions():
    rng = np.random.default_rng(3)
    g = nx.gnm_random_graph(60, 200, seed=3, directed=True)
    for u, v in g.edges:
        g.edges[u, v]["w"] = float(rng.uniform(1, 100))
    n = g.number_of_nodes()
    u, v = np.array(list(g.edges)).T
    w = sp.csr_matrix(([g.edges[e]["w"] for e in g.edges], (u, v)), shape=(n, n))
    src, dst = np.arange(0, 40), np.arange(30, 35)  # fewer targets: runs reversed
    for a, b in ((src, dst), (dst, src)):
        got = network_seconds(w, a, b, workers=2).toarray()
        for i, s in enumerate(a):
            ref = nx.single_source_dijkstra_path_length(g, int(s), weight="w")
            for j, t in enumerate(b):
                expected = ref.get(int(t))
                if expected is None:
                    assert got[i, j] == 0.0
                else:
                    assert got[i, j] - 1.0 == pytest.approx(expected, abs=1e-9)


# --------------------------------------------------------------------------- snapping and fallback


def test_far_points_warn_and_fall_back_to_straight_line():
    net = load_network(line_graph(), mode="walk")
    areas = areas_frame({"in": (800, 0), "out": (1600, 5000)})
    sites = sites_frame({"S": (1600, 0)})
    with pytest.warns(SnapWarning, match="1 area"):
        tt = travel_times(areas, sites, net, mode="walk", cutoff_min=120.0)
    assert tt.estimated.to_dict() == {"in": False, "out": True}
    long = tt.long.set_index("area_code")
    assert long.loc["in", "method"] == "network"
    assert long.loc["out", "method"] == "straight_line"
    expected = 5000 * CIRCUITY["walk"] / (STRAIGHT_LINE_SPEED_KMH["walk"] * 1000 / 60)
    assert long.loc["out", "minutes"] == pytest.approx(expected)
    far = tt.snaps.set_index("id")
    assert bool(far.loc["out", "far"])
    assert far.loc["out", "method"] == "straight_line"


def test_far_points_without_fallback_keep_long_access_leg():
    net = load_network(line_graph(), mode="walk")
    areas = areas_frame({"out": (1600, 5000)})
    sites = sites_frame({"S": (1600, 0)})
    with pytest.warns(SnapWarning, match="check the network covers them"):
        tt = travel_times(areas, sites, net, mode="walk", cutoff_min=120.0, fallback=None)
    assert tt.long["method"].tolist() == ["network"]
    assert tt.matrix()[0, 0] == pytest.approx(5000 / WALK_M_PER_MIN)


def test_no_network_gives_straight_line_flagged():
    areas = areas_frame({"A": (0, 0)})
    sites = sites_frame({"S": (3000, 4000)})
    tt = travel_times(areas, sites, None, mode="drive")
    assert tt.long["method"].tolist() == ["straight_line"]
    assert tt.estimated.all()
    assert tt.matrix()[0, 0] == pytest.approx(5000 * 1.3 / (40_000 / 60))


# --------------------------------------------------------------------------- straight line


def test_straight_line_hand_checked_and_sparse_by_cutoff():
    areas = areas_frame({"A": (0, 0), "B": (100_000, 0)})
    sites = sites_frame({"S": (0, 0), "T": (3000, 4000)})
    tt = straight_line_times(areas, sites, mode="walk", circuity=1.0, speed_kmh=6.0)
    m = tt.matrix()
    assert m[0, 0] == 0.0  # coincident points are kept as 0-minute pairs
    assert m[0, 1] == pytest.approx(50.0)
    assert np.isinf(m[1]).all()  # 100 km away: beyond the 60-minute cutoff
    assert len(tt.long) == 2
    everything = straight_line_times(areas, sites, mode="walk", cutoff_min=np.inf)
    assert len(everything.long) == 4


def test_straight_line_bad_settings():
    areas = areas_frame({"A": (0, 0)})
    sites = sites_frame({"S": (10, 0)})
    with pytest.raises(ValueRangeError, match="circuity"):
        straight_line_times(areas, sites, circuity=0.5)
    with pytest.raises(ValueRangeError, match="not supported"):
        straight_line_times(areas, sites, mode="hovercraft")


# --------------------------------------------------------------------------- bad input


def test_crs_mismatch_and_lon_lat_inputs():
    net = load_network(line_graph(), mode="walk")
    areas = areas_frame({"A": (0, 0)})
    with pytest.raises(CrsError, match="EPSG:4326"):
        travel_times(areas, sites_frame({"S": (-1.5, 53.8)}, crs="EPSG:4326"), net, mode="walk")
    lonlat = areas_frame({"A": (-1.55, 53.80)})
    with pytest.raises(CrsError, match="longitude/latitude"):
        travel_times(lonlat, sites_frame({"S": (0, 0)}), net, mode="walk")
    no_crs = gpd.GeoDataFrame({"site_id": ["S"]}, geometry=[shapely.Point(0, 0)])
    with pytest.raises(CrsError, match="no CRS"):
        travel_times(areas, no_crs, net, mode="walk")


def test_malformed_tables():
    net = load_network(line_graph(), mode="walk")
    sites = sites_frame({"S": (0, 0)})
    with pytest.raises(MissingColumnError, match="area_code"):
        travel_times(pd.DataFrame({"demand_x": [0.0]}), sites, net, mode="walk")
    with pytest.raises(MissingColumnError, match="demand_x"):
        travel_times(pd.DataFrame({"area_code": ["A"]}), sites, net, mode="walk")
    with pytest.raises(EmptyInputError):
        travel_times(areas_frame({}), sites, net, mode="walk")
    dup = pd.concat([areas_frame({"A": (0, 0)})] * 2)
    with pytest.raises(ValueRangeError, match="duplicated"):
        travel_times(dup, sites, net, mode="walk")
    with pytest.raises(ValueRangeError, match="cutoff_min"):
        travel_times(areas_frame({"A": (0, 0)}), sites, net, mode="walk", cutoff_min=0)


def test_network_mode_mismatch():
    walk = load_network(line_graph(), mode="walk")
    with pytest.raises(NetworkError, match="built for mode 'walk'"):
        travel_times(areas_frame({"A": (0, 0)}), sites_frame({"S": (0, 0)}), walk, mode="drive")


def test_walk_on_motorway_only_graph():
    g = line_graph(2)
    for _, _, d in g.edges(data=True):
        d["highway"] = "motorway"
    with pytest.raises(NetworkError, match="motorways"):
        travel_times(areas_frame({"A": (0, 0)}), sites_frame({"S": (0, 0)}), g, mode="walk")


# --------------------------------------------------------------------------- engine seam


def test_travel_engine_protocol_delegation():
    class FixedEngine:
        mode = "transit"

        def travel_times(self, areas, sites, *, cutoff_min):
            return straight_line_times(areas, sites, mode="walk", cutoff_min=cutoff_min)

    # The old seam (an object passed as network=) still delegates. TravelEngine is
    # now the registry's protocol (name, modes, label); see tests/test_travel_engines.py.
    engine = FixedEngine()
    assert not isinstance(engine, TravelEngine)
    tt = travel_times(areas_frame({"A": (0, 0)}), sites_frame({"S": (80, 0)}), engine)
    assert isinstance(tt, TravelTimes)
    assert len(tt.long) == 1


# --------------------------------------------------------------------------- isochrones


def test_isochrone_bands_and_polygons():
    net = load_network(line_graph(6), mode="walk")  # 0 .. 4000 m
    areas = areas_frame({f"A{i}": (i * 800.0, 0.0) for i in range(6)})
    sites = sites_frame({"S": (0, 0)})
    iso = isochrone("S", sites, net, areas=areas, mode="walk")
    # 800 m per 10 minutes on foot
    assert iso.areas["area_code"].tolist() == ["A0", "A1", "A2", "A3"]
    assert iso.areas["band"].tolist() == [10.0, 10.0, 20.0, 30.0]
    assert set(iso.areas["method"]) == {"network"}
    polys = iso.polygons.set_index("band")
    assert polys.crs.to_epsg() == 27700
    assert polys.loc[10.0, "geometry"].contains(shapely.Point(700, 0))
    assert not polys.loc[10.0, "geometry"].contains(shapely.Point(1500, 0))
    assert polys.loc[30.0, "geometry"].contains(polys.loc[10.0, "geometry"])
    with pytest.raises(ValueRangeError, match="not in sites"):
        isochrone("nope", sites, net, mode="walk")


# --------------------------------------------------------------------------- properties


@st.composite
def small_networks(draw):
    """A connected random street graph (jittered grid, Delaunay-free) and points."""
    nx_, ny_ = draw(st.integers(2, 5)), draw(st.integers(2, 5))
    seed = draw(st.integers(0, 10_000))
    rng = np.random.default_rng(seed)
    g = nx.MultiDiGraph(crs="EPSG:27700")
    for i in range(nx_):
        for j in range(ny_):
            dx, dy = rng.uniform(-150, 150, 2)
            g.add_node((i, j), x=i * 500.0 + dx, y=j * 500.0 + dy)
    kinds = ["residential", "primary", "footway", "tertiary"]
    for i in range(nx_):
        for j in range(ny_):
            for di, dj in ((1, 0), (0, 1)):
                if i + di < nx_ and j + dj < ny_:
                    hw = kinds[int(rng.integers(len(kinds)))]
                    g.add_edge((i, j), (i + di, j + dj), highway=hw)
                    g.add_edge((i + di, j + dj), (i, j), highway=hw)
    pts = rng.uniform(-200, [nx_ * 500.0, ny_ * 500.0], size=(6, 2))
    return g, pts


@settings(max_examples=25, deadline=None)
@given(small_networks())
def test_property_point_to_itself_is_zero(case):
    g, pts = case
    net = load_network(g, mode="walk")
    areas = areas_frame({f"P{i}": tuple(p) for i, p in enumerate(pts)})
    sites = sites_frame({f"P{i}": tuple(p) for i, p in enumerate(pts)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SnapWarning)
        tt = travel_times(areas, sites, net, mode="walk", fallback=None, cutoff_min=1e6)
    diag = np.diag(tt.matrix())
    np.testing.assert_allclose(diag, 0.0, atol=1e-9)


@settings(max_examples=25, deadline=None)
@given(small_networks(), st.floats(1.0, 30.0), st.floats(1.0, 30.0))
def test_property_raising_cutoff_keeps_pairs(case, c1, extra):
    g, pts = case
    net = load_network(g, mode="walk")
    areas = areas_frame({f"A{i}": tuple(p) for i, p in enumerate(pts[:3])})
    sites = sites_frame({f"S{i}": tuple(p) for i, p in enumerate(pts[3:])})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SnapWarning)
        low = travel_times(areas, sites, net, mode="walk", cutoff_min=c1, fallback=None)
        high = travel_times(areas, sites, net, mode="walk", cutoff_min=c1 + extra, fallback=None)
    ml, mh = low.matrix(), high.matrix()
    reach = np.isfinite(ml)
    assert np.isfinite(mh[reach]).all()
    np.testing.assert_allclose(ml[reach], mh[reach])


@settings(max_examples=25, deadline=None)
@given(small_networks())
def test_property_walk_never_faster_than_straight_line(case):
    g, pts = case
    net = load_network(g, mode="walk")
    areas = areas_frame({f"A{i}": tuple(p) for i, p in enumerate(pts[:3])})
    sites = sites_frame({f"S{i}": tuple(p) for i, p in enumerate(pts[3:])})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SnapWarning)
        tt = travel_times(areas, sites, net, mode="walk", cutoff_min=1e6, fallback=None)
    crow = np.hypot(pts[:3, None, 0] - pts[None, 3:, 0], pts[:3, None, 1] - pts[None, 3:, 1])
    assert (tt.matrix() >= crow / WALK_M_PER_MIN - 1e-9).all()


# --------------------------------------------------------------------------- real data


def _areas_from_boundaries(path) -> pd.DataFrame:
    frame = gpd.read_file(path).to_crs("EPSG:27700")
    pts = frame.geometry.representative_point()
    return pd.DataFrame({"area_code": frame["lsoa21_code"], "demand_x": pts.x, "demand_y": pts.y})


def _gp_sites(path) -> gpd.GeoDataFrame:
    frame = gpd.read_file(path).to_crs("EPSG:27700")
    frame = frame[frame["Status Code"] == "A"]
    return gpd.GeoDataFrame(
        {"site_id": frame["Organisation Code"].astype(str)},
        geometry=frame.geometry.to_numpy(),
        crs="EPSG:27700",
    )


@pytest.fixture(scope="module")
def rutland():
    areas = _areas_from_boundaries(require_fixture("boundaries", "rutland_lsoa21_bsc.gpkg"))
    sites = _gp_sites(
        require_fixture("facilities", "rutland_gp_practices_epraccur_geocoded.geojson")
    )
    pbf = require_fixture("osm", "rutland-latest.osm.pbf")
    nets = {m: load_network(pbf, mode=m, use_cache=False) for m in ("drive", "walk")}
    return areas, sites, nets


@pytest.mark.slow
def test_rutland_drive_and_walk_tables(rutland):
    areas, sites, nets = rutland
    assert len(areas) == 26
    # Some practices lie in the 5 km buffer outside the county's network: warned about.
    with pytest.warns(SnapWarning):
        drive = travel_times(areas, sites, nets["drive"], mode="drive")
    with pytest.warns(SnapWarning):
        walk = travel_times(areas, sites, nets["walk"], mode="walk", cutoff_min=240.0)
    # Every Rutland area reaches a GP practice by car within an hour, on the network.
    md = drive.matrix()
    assert np.isfinite(md).any(axis=1).all()
    assert md.min(axis=1).max() < 30.0
    # Only areas whose demand point lies > 500 m from any road node are estimated.
    snaps = drive.snaps[drive.snaps["kind"] == "area"].set_index("id")
    assert drive.estimated.to_dict() == snaps["far"].to_dict()
    assert drive.estimated.sum() <= 2
    # Practices in the 5 km buffer beyond the county lie off the county's network.
    far_sites = set(drive.snaps.loc[(drive.snaps["kind"] == "site") & drive.snaps["far"], "id"])
    routed = drive.long[
        drive.long["area_code"].map(~drive.estimated) & ~drive.long["site_id"].isin(far_sites)
    ]
    assert len(routed) > 0
    assert set(routed["method"]) == {"network"}
    # Walking is slower than driving wherever both are on the network.
    mw = walk.matrix()
    both = np.isfinite(md) & np.isfinite(mw) & (mw > 15)
    assert both.any()
    assert (mw[both] > md[both]).all()
    assert set(walk.long["mode"]) == {"walk"}


@pytest.mark.slow
def test_rutland_network_matches_networkx(rutland):
    areas, sites, nets = rutland
    net = nets["drive"]
    with pytest.warns(SnapWarning):
        tt = travel_times(areas, sites, net, mode="drive", drive_access_allowance_min=0.0)
    snaps = tt.snaps.set_index("id")
    g = net.graph
    routed = [c for c in tt.area_codes if not tt.estimated[c]]
    for code in routed[:6]:
        origin = snaps.loc[code, "node"]
        ref = nx.single_source_dijkstra_path_length(g, origin, weight="travel_time")
        for sid in tt.site_ids:
            if snaps.loc[sid, "far"]:
                continue
            expected = (
                ref[snaps.loc[sid, "node"]] / 60
                + snaps.loc[code, "access_min"]
                + snaps.loc[sid, "access_min"]
            )
            got = tt.matrix([code], [sid])[0, 0]
            if expected <= 60.0:
                assert got == pytest.approx(expected, abs=1e-6)
            else:
                assert np.isinf(got)


@pytest.mark.slow
def test_rutland_isochrone(rutland):
    areas, sites, nets = rutland
    net = nets["drive"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SnapWarning)
        tt = travel_times(areas, sites, net, mode="drive")
    covered = tt.snaps[(tt.snaps["kind"] == "site") & ~tt.snaps["far"]]
    site = covered["id"].iloc[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SnapWarning)
        iso = isochrone(site, sites, net, areas=areas, mode="drive")
    bands = iso.polygons.set_index("band")["geometry"]
    assert list(bands.index) == [30.0, 20.0, 15.0, 10.0]
    assert bands[30.0].area > bands[10.0].area > 0
    within = iso.areas.set_index("area_code")["minutes"]
    expected = tt.matrix(list(within.index), [site])[:, 0]
    np.testing.assert_allclose(within.to_numpy(), expected)


@pytest.mark.slow
def test_leeds_network_for_covered_areas_straight_line_for_the_rest():
    areas = _areas_from_boundaries(require_fixture("boundaries", "leeds_lsoa21_bsc.gpkg"))
    sites = _gp_sites(require_fixture("facilities", "leeds_gp_practices_epraccur_geocoded.geojson"))
    flags = pd.read_csv(require_fixture("tables", "leeds_lsoa21_central_osm_extent_flags.csv"))
    gpkg = require_fixture("osm", "central_leeds_osm_ways_openinfra_2022.gpkg")
    inside = set(flags.loc[flags["fully_in_osm_hull"], "lsoa21_code"])
    for mode in ("drive", "walk"):
        net = load_network(gpkg, mode=mode, use_cache=False)
        with pytest.warns(SnapWarning):
            tt = travel_times(areas, sites, net, mode=mode)
        est = tt.estimated
        # Areas wholly inside the OSM extent are routed on the network ...
        assert not est[list(inside)].any()
        # ... most of Leeds is outside it and is estimated, and flagged so.
        assert est.mean() > 0.7
        # Pairs of covered areas and covered sites are network times; every pair
        # touching an estimated area is flagged straight_line.
        far_sites = set(tt.snaps.loc[(tt.snaps["kind"] == "site") & tt.snaps["far"], "id"])
        long = tt.long
        covered = long["area_code"].isin(inside) & ~long["site_id"].isin(far_sites)
        assert covered.any()
        assert (long.loc[covered, "method"] == "network").all()
        assert (long.loc[long["area_code"].map(est), "method"] == "straight_line").all()


@pytest.mark.slow
def test_demo_region_drive_table():
    demo = pytest.importorskip("nhc_planner.demo")
    if not hasattr(demo, "demo_region") or not hasattr(demo, "demo_network_path"):
        pytest.skip("nhc_planner.demo is not complete yet")
    region = demo.demo_region()
    path = demo.demo_network_path()
    for mode, cutoff in (("drive", 60.0),):  # walk is covered on Rutland and Leeds
        net = load_network(path, mode=mode, use_cache=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SnapWarning)
            tt = travel_times(region.areas, region.sites, net, mode=mode, cutoff_min=cutoff)
        m = tt.matrix()
        assert m.shape == (len(region.areas), len(region.sites))
        assert (m[np.isfinite(m)] >= 0).all()
        assert tt.long["area_code"].nunique() > 0.9 * len(region.areas)
        assert set(tt.long["mode"]) == {mode}
