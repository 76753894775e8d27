"""Tests of the road-network and hierarchy caches (nhc_planner._network_cache, _npz).

Every cache entry is an npz read with ``allow_pickle=False`` and a SHA-256
checksum: flipped bytes, truncation and crafted files are discarded with a
logged warning and rebuilt, never fatal and never silently used.
"""

from __future__ import annotations

import io
import logging
import pickle
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from nhc_planner._errors import CorruptFileError, ValueRangeError
from nhc_planner._network_cache import load_hierarchy_entry, save_hierarchy
from nhc_planner._npz import load_npz, save_npz
from nhc_planner.network import load_network
from tests.test_network import OSM_XML


@pytest.fixture
def osm(tmp_path) -> Path:
    path = tmp_path / "tiny.osm"
    path.write_text(OSM_XML)
    return path


def _entry(cache: Path, pattern: str = "tiny-drive-*[0-9a-f].npz") -> Path:
    (path,) = cache.glob(pattern)
    return path


def _same(a, b) -> None:
    assert list(a.graph.nodes(data=True)) == list(b.graph.nodes(data=True))
    ea = list(a.graph.edges(keys=True, data=True))
    eb = list(b.graph.edges(keys=True, data=True))
    assert [e[:3] for e in ea] == [e[:3] for e in eb]
    for x, y in zip(ea, eb, strict=True):
        dx, dy = dict(x[3]), dict(y[3])
        gx, gy = dx.pop("geometry", None), dy.pop("geometry", None)
        assert dx == dy
        assert (gx is None and gy is None) or gx.equals_exact(gy, 0)
    assert a.report == b.report
    assert a.speeds == b.speeds
    assert (a.arrays.seconds != b.arrays.seconds).nnz == 0


def test_network_round_trip_is_exact(osm, tmp_path):
    cache = tmp_path / "cache"
    built = load_network(osm, mode="drive", cache_dir=cache)
    assert not list(cache.glob("*.pickle"))
    cached = load_network(osm, mode="drive", cache_dir=cache)
    _same(built, cached)
    with np.load(_entry(cache), allow_pickle=False) as data:  # plain arrays only
        assert all(not data[k].dtype.hasobject for k in data.files)


def test_demo_network_round_trip_is_exact(tmp_path):
    built = load_network("demo", mode="drive", cache_dir=tmp_path)
    _same(built, load_network("demo", mode="drive", cache_dir=tmp_path))


def _damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "flip":
        mid = len(data) // 2
        path.write_bytes(
            data[:mid] + bytes(b ^ 0xFF for b in data[mid : mid + 64]) + data[mid + 64 :]
        )
    elif how == "flip_one":
        at = len(data) // 3
        path.write_bytes(data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :])
    elif how == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "pickle":  # a crafted file that would run code if unpickled
        path.write_bytes(pickle.dumps(_Boom()))
    elif how == "object_npz":  # an npz whose array needs pickle
        buf = io.BytesIO()
        np.savez(buf, x=np.array([_Boom()], dtype=object))
        path.write_bytes(buf.getvalue())


class _Boom:
    def __reduce__(self):  # pragma: no cover - must never run
        return (pytest.fail, ("a cache entry was unpickled",))


DAMAGE = ["flip", "truncate", "empty", "pickle", "object_npz"]


@pytest.mark.parametrize("how", DAMAGE)
def test_a_damaged_network_entry_is_discarded_logged_and_rebuilt(osm, tmp_path, caplog, how):
    cache = tmp_path / "cache"
    built = load_network(osm, mode="drive", cache_dir=cache)
    entry = _entry(cache)
    _damage(entry, how)
    with caplog.at_level(logging.WARNING, logger="nhc_planner.cache"):
        again = load_network(osm, mode="drive", cache_dir=cache)
    assert "discarding the cached road network" in caplog.text
    _same(built, again)
    load_npz(entry)  # rewritten whole
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="nhc_planner.cache"):
        load_network(osm, mode="drive", cache_dir=cache)
    assert caplog.text == ""


def test_one_flipped_byte_anywhere_is_never_silently_wrong(osm, tmp_path, caplog):
    """Flip one byte at 40 places: each load gives the built network (a flip in zip
    bookkeeping that leaves the arrays intact may pass; one in the data never does)."""
    cache = tmp_path / "cache"
    built = load_network(osm, mode="drive", cache_dir=cache)
    entry = _entry(cache)
    size = entry.stat().st_size
    noticed = 0
    for at in np.linspace(0, size - 1, 40).astype(int):
        data = entry.read_bytes()
        entry.write_bytes(data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :])
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="nhc_planner.cache"):
            again = load_network(osm, mode="drive", cache_dir=cache)
        noticed += "discarding" in caplog.text
        _same(built, again)
        entry.write_bytes(data)  # undo, or keep the rebuilt entry
        if not entry.exists():
            load_network(osm, mode="drive", cache_dir=cache)
    assert noticed >= 30


def test_a_crafted_network_entry_with_a_valid_checksum_is_refused(osm, tmp_path, caplog):
    """Arrays that do not fit together (edges to nodes that do not exist) are refused."""
    cache = tmp_path / "cache"
    built = load_network(osm, mode="drive", cache_dir=cache)
    entry = _entry(cache)
    arrays, meta = load_npz(entry)
    arrays["v"] = arrays["v"] + 1000
    save_npz(entry, arrays, meta)
    with caplog.at_level(logging.WARNING, logger="nhc_planner.cache"):
        again = load_network(osm, mode="drive", cache_dir=cache)
    assert "do not fit together" in caplog.text
    _same(built, again)


@pytest.fixture(scope="module")
def demo_cache(tmp_path_factory):
    """The demo network and its hierarchy, built and cached once for the module."""
    folder = tmp_path_factory.mktemp("demo-cache")
    net = load_network("demo", mode="drive", cache_dir=folder)
    return folder, net.hierarchy


@pytest.fixture
def hierarchy_entry(demo_cache, tmp_path):
    """A private copy of the cached demo network and hierarchy in ``tmp_path``."""
    import shutil

    folder, h = demo_cache
    for f in folder.iterdir():
        shutil.copy2(f, tmp_path / f.name)
    (path,) = tmp_path.glob("*-hierarchy-v3.npz")
    return None, h, path


@pytest.mark.parametrize("how", DAMAGE)
def test_a_damaged_hierarchy_entry_is_discarded_and_rebuilt(hierarchy_entry, tmp_path, caplog, how):
    _net, h, path = hierarchy_entry
    _damage(path, how)
    fresh = load_network("demo", mode="drive", cache_dir=tmp_path)
    with caplog.at_level(logging.WARNING, logger="nhc_planner.cache"):
        again = fresh.hierarchy
    assert "discarding the cached contraction hierarchy" in caplog.text
    for name in ("fwd_ptr", "fwd_to", "fwd_w", "bwd_ptr", "bwd_to", "bwd_w", "label"):
        assert np.array_equal(getattr(again, name), getattr(h, name))
    assert load_hierarchy_entry(path, h.n_nodes) is not None  # rewritten whole


@pytest.mark.parametrize(
    ("field", "change", "match"),
    [
        ("fwd_to", lambda a: a + np.int32(10**6), "not a valid CSR"),
        ("bwd_ptr", lambda a: a[::-1].copy(), "not a valid CSR"),
        ("fwd_w", lambda a: np.where(np.arange(len(a)) == 0, np.nan, a), "not a valid CSR"),
        ("label", lambda a: np.zeros_like(a), "permutation"),
        ("fwd_to", lambda a: a.astype(np.int64), "dtype"),
    ],
)
def test_a_crafted_hierarchy_with_a_valid_checksum_is_refused(
    hierarchy_entry, caplog, field, change, match
):
    """Out-of-range indices would make the compiled searches read outside their arrays."""
    _net, h, path = hierarchy_entry
    arrays, meta = load_npz(path)
    arrays[field] = change(arrays[field])
    save_npz(path, arrays, meta)
    with caplog.at_level(logging.WARNING, logger="nhc_planner.cache"):
        assert load_hierarchy_entry(path, h.n_nodes) is None
    assert match in caplog.text
    assert not path.exists()


def test_a_hierarchy_for_another_network_is_not_used(hierarchy_entry, tmp_path):
    _net, h, path = hierarchy_entry
    assert load_hierarchy_entry(path, h.n_nodes + 1) is None


def test_npz_checksum_and_no_objects(tmp_path):
    path = save_npz(tmp_path / "x.npz", {"a": np.arange(5)}, {"k": "v"})
    arrays, meta = load_npz(path)
    assert arrays["a"].tolist() == [0, 1, 2, 3, 4]
    assert meta == {"k": "v"}
    with pytest.raises(ValueRangeError, match="object dtype"):
        save_npz(tmp_path / "y.npz", {"a": np.array([{}], dtype=object)}, {})
    _damage(path, "flip_one")
    with pytest.raises(CorruptFileError):
        load_npz(path)


def test_save_hierarchy_round_trip(tmp_path):
    import scipy.sparse as sp

    from nhc_planner._hierarchy import build_hierarchy

    g = nx.gnm_random_graph(60, 240, seed=1, directed=True)
    m = sp.csr_matrix(nx.to_scipy_sparse_array(g, weight=None, format="csr") * 3.0)
    h = build_hierarchy(m)
    save_hierarchy(tmp_path / "h.npz", h)
    back = load_hierarchy_entry(tmp_path / "h.npz", h.n_nodes)
    assert back is not None
    assert back.n_shortcuts == h.n_shortcuts
    assert np.array_equal(back.fwd_w, h.fwd_w)
