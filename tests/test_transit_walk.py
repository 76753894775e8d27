"""Walking legs of public-transport journeys (nhc_planner._transit_walk)."""

from __future__ import annotations

import numpy as np
import pytest
from pyproj import Transformer

from nhc_planner._errors import ValueRangeError
from nhc_planner._raptor import WalkParams
from nhc_planner._transit_walk import walk_links
from tests.gtfs_helpers import LAT0, LON0, grid_walk_network

STEP = 150.0
X0, Y0 = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True).transform(LON0, LAT0)


def _at(row: int, col: int) -> np.ndarray:
    return np.array([[X0 + col * STEP, Y0 + row * STEP]])


def test_straight_line_legs() -> None:
    walk = WalkParams(max_access_m=400.0, max_transfer_m=200.0)
    stops = np.vstack([_at(0, 2), _at(0, 3)])
    links = walk_links(_at(0, 0), _at(0, 4), stops, walk)
    assert links.method == "straight_line"
    # 300 m x 1.3 at 4.8 km/h = 292.5 s -> 293; the stop at 450 m is beyond 400 m
    assert [a.tolist() for a in links.access] == [[0], [0], [293]]
    assert [a.tolist() for a in links.egress] == [[0, 1], [0, 0], [293, 147]]
    assert [a.tolist() for a in links.footpaths] == [[0, 1], [1, 0], [147, 147]]
    assert links.direct[0].tolist() == []  # 600 m apart


def test_network_legs_walk_round_a_block() -> None:
    # node (0, 1) is missing: from (0, 0) to (0, 2) the walk goes round by row 1: 600 m
    net = grid_walk_network(step_m=STEP, n=6, holes=frozenset({1}))
    walk = WalkParams(max_access_m=500.0, max_transfer_m=200.0)
    links = walk_links(_at(0, 0), _at(5, 5), np.vstack([_at(0, 2), _at(2, 0)]), walk, net)
    assert links.method == "network"
    assert links.n_straight == 0
    acc = dict(zip(links.access[1].tolist(), links.access[2].tolist(), strict=True))
    # budget: 500 m x 1.3 at 4.8 km/h = 487.5 s; 600 m takes 450 s on foot, 300 m 225 s
    assert acc == {0: 450, 1: 225}
    assert links.footpaths[0].tolist() == []  # 1,200 m apart on the streets: beyond 195 s
    # a walk network of another mode is refused
    drive = type(net)(net.graph, "drive", net.source, net.speeds, net.report)
    with pytest.raises(ValueRangeError, match="walk"):
        walk_links(_at(0, 0), _at(5, 5), _at(0, 2), walk, drive)


def test_points_far_from_the_network_walk_straight() -> None:
    net = grid_walk_network(step_m=STEP, n=4)
    walk = WalkParams(max_access_m=1000.0)
    far = np.array([[X0 - 900.0, Y0]])  # 900 m west of the grid's corner
    links = walk_links(far, _at(3, 3), _at(0, 0), walk, net)
    assert links.n_straight == 1
    # straight: 900 m x 1.3 at 4.8 km/h = 877.5 s
    assert links.access[2].tolist() == [878]
