"""Tests for nhc_planner.network (and its private graph builder)."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely
from pyproj import Transformer

from nhc_planner._errors import CrsError, DataFileError, NetworkError, ValueRangeError
from nhc_planner._graph_build import Way, allows, direction, parse_maxspeed_kmh, ways_to_graph
from nhc_planner.network import (
    DEFAULT_DRIVE_SPEEDS_KMH,
    RoadNetwork,
    Speeds,
    default_cache_dir,
    load_network,
)
from nhc_planner.testing import require_fixture

MPH = 1.609344


def bng_graph(edges, coords, **graph_attrs):
    """An osmnx-style MultiDiGraph in EPSG:27700 from (u, v, attrs) tuples."""
    g = nx.MultiDiGraph(crs="EPSG:27700", **graph_attrs)
    for n, (x, y) in coords.items():
        g.add_node(n, x=float(x), y=float(y))
    for u, v, attrs in edges:
        g.add_edge(u, v, **attrs)
    return g


# --------------------------------------------------------------------------- tags


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("30 mph", 30 * MPH),
        ("20mph", 20 * MPH),
        ("50", 50.0),
        (48, 48.0),
        ("30 mph;40 mph", 35 * MPH),
        (["20 mph", "30 mph"], 25 * MPH),
        ("['30 mph', '40 mph']", 35 * MPH),
        ("GB:nsl_single", 60 * MPH),
        ("UK:nsl_dual", 70 * MPH),
        ("national", None),
        ("signals", None),
        ("none", None),
        (None, None),
        (float("nan"), None),
        ("0", None),
    ],
)
def test_parse_maxspeed(value, expected):
    got = parse_maxspeed_kmh(value)
    if expected is None:
        assert got is None
    else:
        assert got == pytest.approx(expected)


@pytest.mark.parametrize(
    ("tags", "drive", "walk", "cycle"),
    [
        ({"highway": "residential"}, True, True, True),
        ({"highway": "motorway"}, True, False, False),
        ({"highway": "footway"}, False, True, False),
        ({"highway": "footway", "bicycle": "yes"}, False, True, True),
        ({"highway": "cycleway"}, False, True, True),
        ({"highway": "service", "access": "private"}, False, False, False),
        ({"highway": "service", "access": "private", "foot": "yes"}, False, True, False),
        ({"highway": "primary", "foot": "no"}, True, False, True),
        ({"highway": "steps"}, False, True, False),
        ({"highway": "proposed"}, False, False, False),
        ({"highway": ["residential", "tertiary"]}, True, True, True),
    ],
)
def test_allows(tags, drive, walk, cycle):
    assert (allows(tags, "drive"), allows(tags, "walk"), allows(tags, "cycle")) == (
        drive,
        walk,
        cycle,
    )


@pytest.mark.parametrize(
    ("tags", "drive", "walk", "cycle"),
    [
        ({"highway": "residential"}, 0, 0, 0),
        ({"highway": "residential", "oneway": "yes"}, 1, 0, 1),
        ({"highway": "residential", "oneway": "-1"}, -1, 0, -1),
        ({"highway": "residential", "oneway": "yes", "oneway:bicycle": "no"}, 1, 0, 0),
        ({"highway": "primary", "junction": "roundabout"}, 1, 0, 1),
        ({"highway": "motorway"}, 1, 0, 0),
    ],
)
def test_direction(tags, drive, walk, cycle):
    assert (direction(tags, "drive"), direction(tags, "walk"), direction(tags, "cycle")) == (
        drive,
        walk,
        cycle,
    )


def test_speeds_override_and_validation():
    s = Speeds(drive={"residential": 20})
    assert s.drive["residential"] == 20.0
    assert s.drive["primary"] == DEFAULT_DRIVE_SPEEDS_KMH["primary"]
    with pytest.raises(ValueRangeError, match="positive"):
        Speeds(walk=0.0)


# --------------------------------------------------------------------------- noding


def _way(keys, xy, **tags):
    return Way(np.asarray(keys), np.asarray(xy, dtype=float), {"highway": "residential", **tags})


def test_ways_are_split_at_shared_vertices():
    # Two ways crossing at a shared middle vertex (key 5) make a 4-edge star.
    ways = [
        _way([1, 5, 2], [(0, 100), (100, 100), (200, 100)]),
        _way([3, 5, 4], [(100, 0), (100, 100), (100, 200)]),
    ]
    g = ways_to_graph(ways, mode="walk", speed_of=lambda t: 3.6, crs="EPSG:27700")
    assert sorted(g.nodes) == [1, 2, 3, 4, 5]
    assert g.number_of_edges() == 8  # 4 pieces, both directions
    assert g.edges[1, 5, 0]["length"] == pytest.approx(100.0)
    assert g.edges[1, 5, 0]["travel_time"] == pytest.approx(100.0)  # 1 m/s


def test_crossing_without_shared_vertex_is_not_a_junction():
    # A bridge: the lines cross geometrically but share no vertex.
    ways = [
        _way([1, 2], [(0, 100), (200, 100)]),
        _way([3, 4], [(100, 0), (100, 200)]),
    ]
    g = ways_to_graph(ways, mode="walk", speed_of=lambda t: 3.6, crs="EPSG:27700")
    assert nx.number_weakly_connected_components(g) == 2


def test_intermediate_vertices_kept_in_geometry_and_length():
    ways = [_way([1, 7, 2], [(0, 0), (30, 40), (60, 0)])]
    g = ways_to_graph(ways, mode="drive", speed_of=lambda t: 36.0, crs="EPSG:27700")
    assert sorted(g.nodes) == [1, 2]
    data = g.edges[1, 2, 0]
    assert data["length"] == pytest.approx(100.0)
    assert data["travel_time"] == pytest.approx(10.0)
    assert len(data["geometry"].coords) == 3


def test_long_ways_split_every_so_many_metres():
    xy = [(i * 110.0, 0.0) for i in range(11)]  # 1.1 km, a vertex every 110 m
    ways = [_way(list(range(1, 12)), xy)]
    g = ways_to_graph(
        ways, mode="walk", speed_of=lambda t: 3.6, crs="EPSG:27700", split_every_m=250.0
    )
    # Vertices at 330, 550 and 770 m are the first past 250, 500 and 750 m.
    assert sorted(g.nodes) == [1, 4, 6, 8, 11]
    total = sum(d["length"] for u, v, d in g.edges(data=True) if u < v)
    assert total == pytest.approx(1100.0)


def test_oneway_way_gives_one_drive_edge():
    ways = [_way([1, 2], [(0, 0), (100, 0)], oneway="yes")]
    g = ways_to_graph(ways, mode="drive", speed_of=lambda t: 36.0, crs="EPSG:27700")
    assert list(g.edges()) == [(1, 2)]
    g = ways_to_graph(ways, mode="walk", speed_of=lambda t: 4.8, crs="EPSG:27700")
    assert sorted(g.edges()) == [(1, 2), (2, 1)]


# --------------------------------------------------------------------------- graphs


def square_graph():
    coords = {1: (0, 0), 2: (1000, 0), 3: (1000, 1000), 4: (0, 1000)}
    edges = []
    for u, v in [(1, 2), (2, 3), (3, 4), (4, 1)]:
        edges.append((u, v, {"highway": "residential", "maxspeed": "30 mph"}))
    edges.append((2, 1, {"highway": "residential"}))  # 2->1 without maxspeed: class default
    return bng_graph(edges, coords)


def test_drive_speeds_from_maxspeed_and_class_default():
    net = load_network(square_graph(), mode="drive")
    assert isinstance(net, RoadNetwork)
    g = net.graph
    assert g.edges[1, 2, 0]["travel_time"] == pytest.approx(1000 / (30 * MPH / 3.6))
    assert g.edges[2, 1, 0]["travel_time"] == pytest.approx(1000 / (25 / 3.6))
    assert net.report.nodes_dropped == 0


def test_one_way_respected_for_drive_not_walk():
    net = load_network(square_graph(), mode="drive")
    assert not net.graph.has_edge(3, 2)
    walk = load_network(square_graph(), mode="walk")
    assert walk.graph.has_edge(3, 2)
    assert walk.graph.edges[3, 2, 0]["travel_time"] == pytest.approx(1000 / (4.8 / 3.6))


def test_largest_strongly_connected_component_kept_and_reported():
    g = square_graph()
    g.add_node(10, x=5000.0, y=5000.0)
    g.add_node(11, x=5100.0, y=5000.0)
    g.add_edge(10, 11, highway="residential", oneway=True)  # a dead one-way stub
    g.add_edge(3, 10, highway="residential")  # reachable but no way back
    net = load_network(g, mode="drive")
    assert set(net.graph.nodes) == {1, 2, 3, 4}
    assert net.report.nodes_dropped == 2
    assert net.report.edges_dropped == 2
    assert net.report.components == 3
    assert "2 nodes" in net.summary()


def test_graph_in_lon_lat_is_projected_to_bng():
    to_ll = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
    g = nx.MultiDiGraph(crs="EPSG:4326")
    for n, (x, y) in {1: (430000.0, 433000.0), 2: (431000.0, 433000.0)}.items():
        lon, lat = to_ll.transform(x, y)
        g.add_node(n, x=lon, y=lat)
    g.add_edge(1, 2, highway="footway")
    g.add_edge(2, 1, highway="footway")
    net = load_network(g, mode="walk")
    assert net.graph.nodes[1]["x"] == pytest.approx(430000.0, abs=0.01)
    assert net.graph.edges[1, 2, 0]["length"] == pytest.approx(1000.0, abs=0.01)


def test_arrays_keep_fastest_parallel_edge():
    g = square_graph()
    g.add_edge(1, 2, highway="motorway")  # faster parallel edge, 90 km/h
    net = load_network(g, mode="drive")
    a = net.arrays
    i, j = list(a.node_ids).index(1), list(a.node_ids).index(2)
    assert a.seconds[i, j] == pytest.approx(1000 / (90 / 3.6))


# --------------------------------------------------------------------------- bad input


def test_empty_graph_is_a_network_error():
    with pytest.raises(NetworkError, match="no drive network"):
        load_network(nx.MultiDiGraph(crs="EPSG:27700"), mode="drive")


def test_walk_on_motorway_only_graph_is_a_network_error():
    g = bng_graph(
        [(1, 2, {"highway": "motorway"}), (2, 1, {"highway": "motorway"})],
        {1: (0, 0), 2: (1000, 0)},
    )
    assert load_network(g, mode="drive").report.nodes_kept == 2
    with pytest.raises(NetworkError, match="walking is not allowed on motorways"):
        load_network(g, mode="walk")


def test_graph_without_any_strongly_connected_edge():
    g = bng_graph([(1, 2, {"highway": "residential", "oneway": "yes"})], {1: (0, 0), 2: (100, 0)})
    with pytest.raises(NetworkError, match="no strongly connected part"):
        load_network(g, mode="drive")


def test_unknown_mode_graph_without_crs_and_bad_files(tmp_path):
    with pytest.raises(NetworkError, match="not a network mode"):
        load_network(square_graph(), mode="teleport")
    g = square_graph()
    del g.graph["crs"]
    with pytest.raises(CrsError, match="no 'crs'"):
        load_network(g, mode="drive")
    with pytest.raises(DataFileError, match="not found"):
        load_network(tmp_path / "missing.osm.pbf")
    bad = tmp_path / "roads.csv"
    bad.write_text("a,b\n")
    with pytest.raises(DataFileError, match="unknown network file type"):
        load_network(bad)
    junk = tmp_path / "junk.osm.pbf"
    junk.write_bytes(b"not a pbf")
    with pytest.raises(DataFileError, match="not a readable OSM file"):
        load_network(junk, use_cache=False)


def test_network_of_another_mode_is_refused():
    walk = load_network(square_graph(), mode="walk")
    assert load_network(walk, mode="walk") is walk
    with pytest.raises(NetworkError, match="built for mode 'walk'"):
        load_network(walk, mode="drive")


# --------------------------------------------------------------------------- files

OSM_XML = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6" generator="test">
  <node id="1" lat="53.8000" lon="-1.5500"/>
  <node id="2" lat="53.8000" lon="-1.5450"/>
  <node id="3" lat="53.8040" lon="-1.5450"/>
  <node id="4" lat="53.8040" lon="-1.5500"/>
  <way id="10"><nd ref="1"/><nd ref="2"/><nd ref="3"/>
    <tag k="highway" v="residential"/><tag k="maxspeed" v="20 mph"/></way>
  <way id="11"><nd ref="3"/><nd ref="4"/><nd ref="1"/>
    <tag k="highway" v="residential"/><tag k="oneway" v="yes"/></way>
  <way id="12"><nd ref="2"/><nd ref="4"/><tag k="highway" v="footway"/></way>
  <way id="13"><nd ref="1"/><nd ref="3"/><tag k="waterway" v="river"/></way>
</osm>
"""


def test_osm_xml_file(tmp_path):
    path = tmp_path / "tiny.osm"
    path.write_text(OSM_XML)
    drive = load_network(path, mode="drive", use_cache=False, split_every_m=None)
    # Nodes 2 and 4 are junctions only with the footway, which is not driven.
    assert set(drive.graph.nodes) == {1, 3}
    assert drive.graph.number_of_edges(1, 3) == 1  # way 10
    assert drive.graph.number_of_edges(3, 1) == 2  # way 10 back, one-way way 11
    assert drive.graph.edges[1, 3, 0]["speed_kph"] == pytest.approx(20 * MPH)
    assert drive.report.ways_read == 3  # the river is not a highway
    assert drive.report.ways_used == 2
    walk = load_network(path, mode="walk", use_cache=False, split_every_m=None)
    assert set(walk.graph.nodes) == {1, 2, 3, 4}
    assert walk.graph.has_edge(4, 3)
    assert walk.graph.has_edge(2, 4)
    assert walk.graph.graph["crs"] == "EPSG:27700"


def test_cache_round_trip(tmp_path):
    path = tmp_path / "tiny.osm"
    path.write_text(OSM_XML)
    cache = tmp_path / "cache"
    first = load_network(path, mode="drive", cache_dir=cache)
    files = list(cache.glob("*.npz"))
    assert len(files) == 1
    second = load_network(path, mode="drive", cache_dir=cache)
    assert second.report == first.report
    assert nx.utils.edges_equal(second.graph.edges, first.graph.edges)
    # Different settings, different entry.
    load_network(path, mode="drive", cache_dir=cache, speeds=Speeds(maxspeed_factor=0.8))
    assert len(list(cache.glob("*.npz"))) == 2
    # The same content elsewhere (another checkout) hits the cache but names its own file.
    moved = tmp_path / "elsewhere" / "tiny.osm"
    moved.parent.mkdir()
    moved.write_text(OSM_XML)
    third = load_network(moved, mode="drive", cache_dir=cache)
    assert len(list(cache.glob("*.npz"))) == 2
    assert third.source == str(moved)


def test_default_cache_dir_env(monkeypatch, tmp_path):
    monkeypatch.setenv("NHC_CACHE_DIR", str(tmp_path))
    assert default_cache_dir() == tmp_path
    monkeypatch.delenv("NHC_CACHE_DIR")
    assert default_cache_dir().name == "nhc-planner"


def test_gpkg_ways_are_noded(tmp_path):
    # Two lines sharing a vertex mid-way (a T and a crossing), as OSM exports them.
    to_ll = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)

    def ll(points):
        return shapely.LineString([to_ll.transform(x, y) for x, y in points])

    lines = [
        ll([(430000, 433000), (430500, 433000), (431000, 433000)]),
        ll([(430500, 432500), (430500, 433000), (430500, 433500)]),
    ]
    frame = gpd.GeoDataFrame(
        {"osm_id": [1, 2], "highway": ["residential", "footway"]},
        geometry=[shapely.MultiLineString([g]) for g in lines],
        crs="EPSG:4326",
    )
    path = tmp_path / "ways.gpkg"
    frame.to_file(path)
    walk = load_network(path, mode="walk", use_cache=False, split_every_m=None)
    assert walk.report.nodes_kept == 5
    assert walk.report.edges_kept == 8
    assert walk.report.ways_read == 2
    drive = load_network(path, mode="drive", use_cache=False, split_every_m=None)
    assert drive.report.nodes_kept == 2  # the footway is not driven
    # Splitting every 400 m makes the middle vertex (500 m along) a node too.
    split = load_network(path, mode="drive", use_cache=False, split_every_m=400.0)
    assert split.report.nodes_kept == 3


def test_graphml_file(tmp_path):
    import osmnx as ox

    to_ll = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
    g = nx.MultiDiGraph(crs="EPSG:4326")
    for n, (x, y) in {1: (430000.0, 433000.0), 2: (430800.0, 433000.0)}.items():
        lon, lat = to_ll.transform(x, y)
        g.add_node(n, x=lon, y=lat, street_count=1)
    a, b = (g.nodes[n]["x"] for n in (1, 2))
    lat = g.nodes[1]["y"]
    # 1 -> 2 carries a lon/lat geometry with a 300 m detour north at its middle.
    mid_lon, mid_lat = to_ll.transform(430400.0, 433300.0)
    bent = shapely.LineString([(a, lat), (mid_lon, mid_lat), (b, g.nodes[2]["y"])])
    g.add_edge(1, 2, osmid=5, highway="primary", maxspeed="40 mph", length=1000.0, geometry=bent)
    g.add_edge(2, 1, osmid=5, highway="primary", maxspeed="40 mph", length=800.0, oneway=False)
    path = tmp_path / "g.graphml"
    ox.save_graphml(g, path)
    net = load_network(path, mode="drive", use_cache=False)
    assert net.report.nodes_kept == 2
    assert net.graph.edges[2, 1, 0]["travel_time"] == pytest.approx(
        800.0 / (40 * MPH / 3.6), rel=1e-3
    )
    # The geometry is reprojected and measured in metres: 2 x 500 m.
    assert net.graph.edges[1, 2, 0]["length"] == pytest.approx(1000.0, abs=0.5)


def test_demo_network():
    demo = pytest.importorskip("nhc_planner.demo")
    if not hasattr(demo, "demo_network_path"):
        pytest.skip("nhc_planner.demo has no demo_network_path yet")
    net = load_network("demo", mode="drive", use_cache=False)
    assert net.report.nodes_kept > 100
    assert net.graph.graph["crs"] == "EPSG:27700"


# --------------------------------------------------------------------------- real data


@pytest.mark.slow
def test_rutland_pbf_complete_county():
    path = require_fixture("osm", "rutland-latest.osm.pbf")
    drive = load_network(path, mode="drive", use_cache=False)
    walk = load_network(path, mode="walk", use_cache=False)
    # Rutland is ~ 20 x 25 km: the drive network spans it.
    minx, miny, maxx, maxy = drive.extent.bounds
    assert maxx - minx > 15_000
    assert maxy - miny > 15_000
    assert drive.report.nodes_kept > 3_000
    assert walk.report.nodes_kept > drive.report.nodes_kept
    assert drive.report.nodes_dropped < 0.1 * drive.report.nodes_before
    times = np.array([t for _, _, t in drive.graph.edges(data="travel_time")])
    assert (times > 0).all()
    assert np.isfinite(times).all()


@pytest.mark.slow
def test_central_leeds_gpkg_is_noded():
    path = require_fixture("osm", "central_leeds_osm_ways_openinfra_2022.gpkg")
    drive = load_network(path, mode="drive", use_cache=False)
    # ~11.7k unsplit ways: noding must produce a large connected street graph.
    assert drive.report.ways_read > 11_000
    assert drive.report.nodes_kept > 5_000
    assert drive.report.nodes_kept > 0.9 * drive.report.nodes_before


def test_download_network_offline_is_an_offline_error(monkeypatch):
    import osmnx as ox

    from nhc_planner._errors import OfflineError
    from nhc_planner.network import download_network

    seen = {}

    def no_internet(polygon, **kwargs):
        seen["bounds"] = polygon.bounds
        raise ConnectionError("no route to overpass-api.de")

    monkeypatch.setattr(ox, "graph_from_polygon", no_internet)
    with pytest.raises(OfflineError, match="could not download"):
        download_network(shapely.box(430000, 433000, 431000, 434000), mode="walk")
    # The polygon was reprojected from British National Grid to lon/lat first.
    minx, miny, maxx, maxy = seen["bounds"]
    assert -1.6 < minx < maxx < -1.5
    assert 53.7 < miny < maxy < 53.9
