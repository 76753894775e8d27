"""Tests for nhc_planner._hierarchy (contraction hierarchy with a core)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import dijkstra

from nhc_planner._hierarchy import build_hierarchy, hierarchy_distances
from nhc_planner.network import load_network
from nhc_planner.testing import require_fixture
from nhc_planner.travel import SnapWarning, _use_hierarchy, network_seconds, travel_times


def graph(n: int, edges: list[tuple[int, int, float]]) -> sp.csr_matrix:
    u, v, w = zip(*edges, strict=True)
    return sp.csr_matrix((w, (u, v)), shape=(n, n))


def reference(g: sp.csr_matrix, sources, targets, limit=np.inf) -> np.ndarray:
    d = dijkstra(g, directed=True, indices=np.asarray(sources), limit=limit)
    return d[:, np.asarray(targets)]


def assert_same(got: np.ndarray, want: np.ndarray) -> None:
    assert got.shape == want.shape
    np.testing.assert_array_equal(np.isinf(got), np.isinf(want))
    fin = np.isfinite(want)
    np.testing.assert_allclose(got[fin], want[fin], rtol=0, atol=1e-9)


# --------------------------------------------------------------------------- hand-checked


def test_one_way_square_hand_checked():
    # 0 -> 1 -> 2 -> 3 -> 0 one way (1 s each), plus a two-way 0 <-> 2 of 5 s.
    g = graph(4, [(0, 1, 1.0), (1, 2, 1.0), (2, 3, 1.0), (3, 0, 1.0), (0, 2, 5.0), (2, 0, 5.0)])
    h = build_hierarchy(g)
    d = hierarchy_distances(h, np.arange(4), np.arange(4))
    want = np.array(
        [
            [0.0, 1.0, 2.0, 3.0],
            [3.0, 0.0, 1.0, 2.0],
            [2.0, 3.0, 0.0, 1.0],
            [1.0, 2.0, 3.0, 0.0],
        ]
    )
    np.testing.assert_array_equal(d, want)
    # a limit removes the longer trips; the rest are unchanged
    d2 = hierarchy_distances(h, np.arange(4), np.arange(4), limit=2.0)
    np.testing.assert_array_equal(d2, np.where(want <= 2.0, want, np.inf))


def test_line_contracts_fully_and_unreachable_stays_inf():
    # a path 0 - 1 - ... - 9 (two way) and an isolated node 10
    edges = [(i, i + 1, 2.0) for i in range(9)] + [(i + 1, i, 2.0) for i in range(9)]
    g = graph(11, edges)
    h = build_hierarchy(g)
    assert h.n_nodes == 11
    assert h.n_core <= 2  # a path needs no shortcuts beyond one per removed node
    d = hierarchy_distances(h, [0, 4, 10], [9, 0, 10])
    np.testing.assert_array_equal(
        d, [[18.0, 0.0, np.inf], [10.0, 8.0, np.inf], [np.inf, np.inf, 0.0]]
    )


def test_no_contraction_is_plain_dijkstra():
    rng = np.random.default_rng(3)
    g = sp.random(60, 60, density=0.08, random_state=4, format="csr")
    g.data = rng.uniform(1, 10, g.nnz)
    h = build_hierarchy(g, max_priority=-1e9)  # nothing contracted: all core
    assert h.n_core == 60
    assert_same(
        hierarchy_distances(h, np.arange(60), np.arange(60)), reference(g, range(60), range(60))
    )


def test_full_contraction_is_exact():
    rng = np.random.default_rng(5)
    g = sp.random(80, 80, density=0.06, random_state=6, format="csr")
    g.data = rng.uniform(1, 10, g.nnz)
    h = build_hierarchy(g, max_priority=1e9, max_bound=np.inf, settle_limit=1)  # all of it
    assert h.n_core == 0
    assert_same(
        hierarchy_distances(h, np.arange(80), np.arange(80)), reference(g, range(80), range(80))
    )


def test_parallel_edges_keep_the_lightest_and_self_loops_are_ignored():
    g = sp.coo_matrix(
        ([5.0, 2.0, 7.0, 1.0], ([0, 0, 1, 1], [1, 1, 1, 2])), shape=(3, 3)
    )  # coo keeps duplicates
    h = build_hierarchy(g)
    np.testing.assert_array_equal(hierarchy_distances(h, [0], [0, 1, 2]), [[0.0, 2.0, 3.0]])


def test_threads_and_both_search_directions_agree():
    rng = np.random.default_rng(7)
    g = sp.random(300, 300, density=0.015, random_state=8, format="csr")
    g.data = rng.uniform(0.5, 30, g.nnz)
    h = build_hierarchy(g)
    many, few = rng.integers(0, 300, 40), rng.integers(0, 300, 7)
    for src, tgt in ((many, few), (few, many)):
        want = reference(g, src, tgt, limit=40.0)
        for workers in (1, 2):
            assert_same(hierarchy_distances(h, src, tgt, limit=40.0, workers=workers), want)


# --------------------------------------------------------------------------- properties


@st.composite
def digraphs(draw):
    n = draw(st.integers(2, 25))
    m = draw(st.integers(1, 80))
    u = draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m))
    v = draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m))
    w = draw(st.lists(st.floats(1e-9, 100.0, allow_nan=False), min_size=m, max_size=m))
    settle = draw(st.integers(1, 12))
    prio = draw(st.sampled_from([-1.0, 0.0, 2.0, 1e9]))
    bound = draw(st.sampled_from([0.0, 4.0, 40.0, np.inf]))
    limit = draw(st.sampled_from([np.inf, 30.0, 100.0]))
    return sp.coo_matrix((w, (u, v)), shape=(n, n)), settle, prio, bound, limit


@settings(max_examples=150, deadline=None)
@given(digraphs())
def test_property_equals_dijkstra(case):
    g, settle, prio, bound, limit = case
    n = g.shape[0]
    h = build_hierarchy(g, settle_limit=settle, max_priority=prio, max_bound=bound)
    got = hierarchy_distances(h, np.arange(n), np.arange(n), limit=limit)
    # scipy sums duplicate COO entries; the hierarchy keeps the lightest: do that here
    coo = sp.coo_matrix(g)
    best: dict[tuple[int, int], float] = {}
    for a, b, c in zip(coo.row, coo.col, coo.data, strict=True):
        if a != b:
            best[(a, b)] = min(c, best.get((a, b), np.inf))
    rows = [a for a, _ in best]
    cols = [b for _, b in best]
    light = sp.csr_matrix((list(best.values()), (rows, cols)), shape=(n, n))
    assert_same(got, reference(light, range(n), range(n), limit=limit))
    assert (np.diag(got) == 0).all()


# --------------------------------------------------------------------------- networks


@pytest.mark.slow
def test_demo_network_hierarchy_equals_dijkstra_in_travel_times():
    demo = pytest.importorskip("nhc_planner.demo")
    region = demo.demo_region()
    net = load_network(demo.demo_network_path(), mode="drive", use_cache=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SnapWarning)
        a = travel_times(region.areas, region.sites, net, mode="drive", engine="dijkstra")
        b = travel_times(region.areas, region.sites, net, mode="drive", engine="hierarchy")
    assert "hierarchy" in net.__dict__
    assert_same(b.matrix(), a.matrix())
    # with a hierarchy at hand, "auto" uses it even on a small network; without, it does not
    assert _use_hierarchy("auto", net, 5, 5)
    fresh = load_network(demo.demo_network_path(), mode="drive", use_cache=False)
    assert not _use_hierarchy("auto", fresh, 500, 500)  # 11.7k nodes: below the threshold
    assert _use_hierarchy("hierarchy", fresh, 1, 1)
    assert not _use_hierarchy("dijkstra", net, 9, 9)
    # network_seconds: the same sparse result (stored entries = reachable pairs) either way
    arrays = net.arrays
    nodes = np.arange(0, len(arrays.xy), 97)
    got = network_seconds(
        arrays.seconds, nodes, nodes[::3], limit_s=1800.0, hierarchy=net.hierarchy
    )
    want = network_seconds(arrays.seconds, nodes, nodes[::3], limit_s=1800.0)
    np.testing.assert_array_equal(got.toarray() > 0, want.toarray() > 0)
    np.testing.assert_allclose(got.toarray(), want.toarray(), rtol=0, atol=1e-9)


@pytest.mark.slow
def test_leeds_walk_network_hierarchy_exact():
    gpkg = require_fixture("osm", "central_leeds_osm_ways_openinfra_2022.gpkg")
    net = load_network(gpkg, mode="walk", use_cache=False)
    g = net.arrays.seconds
    h = net.hierarchy
    assert 0 < h.n_core < h.n_nodes
    rng = np.random.default_rng(0)
    src, tgt = rng.integers(0, h.n_nodes, 60), rng.integers(0, h.n_nodes, 45)
    assert_same(hierarchy_distances(h, src, tgt, limit=3600.0), reference(g, src, tgt, 3600.0))


def test_hierarchy_is_cached_on_disk_with_the_network(tmp_path):
    demo = pytest.importorskip("nhc_planner.demo")
    path = demo.demo_network_path()
    net = load_network(path, mode="drive", cache_dir=tmp_path)
    h = net.hierarchy
    files = sorted(p.name for p in tmp_path.iterdir())
    assert any("hierarchy" in f for f in files), files
    again = load_network(path, mode="drive", cache_dir=tmp_path)
    h2 = again.hierarchy
    assert h2 is not h
    np.testing.assert_array_equal(h2.fwd_to, h.fwd_to)
    assert h2.build_seconds == h.build_seconds  # read back, not rebuilt


def test_travel_times_rejects_an_unknown_engine():
    import pandas as pd

    areas = pd.DataFrame({"area_code": ["A"], "demand_x": [0.0], "demand_y": [0.0]})
    with pytest.raises(ValueError, match="engine must be one of"):
        travel_times(
            areas,
            areas.rename(columns={"area_code": "site_id", "demand_x": "x", "demand_y": "y"}),
            None,
            engine="ch",
        )


@pytest.mark.parametrize("delta", [1e-3, 0.7, 5.0, 1e3])
@pytest.mark.parametrize("pool", [1, 10_000])
def test_bucket_queue_exact_for_any_width_and_a_growing_pool(delta, pool):
    from nhc_planner import _hierarchy as hm

    rng = np.random.default_rng(11)
    g = sp.random(200, 200, density=0.03, random_state=12, format="csr")
    g.data = rng.uniform(0.0, 20.0, g.nnz)  # zero-weight edges too
    g.data[::7] = 0.0
    h = build_hierarchy(g)
    src, tgt = h.label[np.arange(0, 200, 3)], h.label[np.arange(1, 200, 5)]
    b_buckets = int(h.bwd_w.max() / delta) + 2
    buckets = hm._buckets(
        tgt, h.bwd_ptr, h.bwd_to, h.bwd_w, np.inf, h.expand, delta, b_buckets, pool
    )
    best = np.full((len(src), len(tgt)), np.inf)
    n_buckets = int(h.fwd_w.max() / delta) + 2
    hm._scan(src, h.fwd_ptr, h.fwd_to, h.fwd_w, np.inf, *buckets, best, delta, n_buckets, pool)
    assert_same(best, reference(g, np.arange(0, 200, 3), np.arange(1, 200, 5)))


def test_pairs_in_small_blocks_equal_one_block(monkeypatch):
    from nhc_planner import _hierarchy as hm

    rng = np.random.default_rng(13)
    g = sp.random(250, 250, density=0.02, random_state=14, format="csr")
    g.data = rng.uniform(0.5, 30, g.nnz)
    h = build_hierarchy(g)
    many, few = rng.integers(0, 250, 50), rng.integers(0, 250, 9)
    monkeypatch.setattr(hm, "_BLOCK_ENTRIES", 20)  # a few rows per block
    for src, tgt in ((many, few), (few, many)):
        pairs = hm.hierarchy_pairs(h, src, tgt, limit=45.0, workers=2)
        assert pairs.shape == (len(src), len(tgt))
        dense = np.full(pairs.shape, np.inf)
        dense[pairs.row, pairs.col] = pairs.data
        assert_same(dense, reference(g, src, tgt, limit=45.0))
