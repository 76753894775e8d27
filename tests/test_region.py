"""Region save/load round trip and summary."""

from __future__ import annotations

from pathlib import Path

import pytest

from nhc_planner import DataFileError, Region, RegionMeta
from tests.test_schema import make_areas, make_sites


def make_region() -> Region:
    meta = RegionMeta(
        name="Tiny",
        codes=("X06000001",),
        vintages={"imd": "synthetic"},
        attribution=("Synthetic data",),
        notes=("a note",),
        synthetic=True,
    )
    return Region(areas=make_areas(), sites=make_sites(), meta=meta)


def test_round_trip(tmp_path: Path) -> None:
    region = make_region()
    region.save(tmp_path / "r")
    loaded = Region.load(tmp_path / "r")
    assert loaded.meta == region.meta
    assert loaded.areas.crs.to_epsg() == 27700
    assert list(loaded.areas["area_code"]) == list(region.areas["area_code"])
    assert loaded.areas.geometry.geom_equals(region.areas.geometry).all()
    assert list(loaded.sites["site_id"]) == ["S0", "S1"]


def test_load_errors(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="not a region folder"):
        Region.load(tmp_path)
    (tmp_path / "region.json").write_text("{not json")
    with pytest.raises(DataFileError, match="not valid JSON"):
        Region.load(tmp_path)


def test_summary_mentions_synthetic_and_counts() -> None:
    text = make_region().summary()
    assert "SYNTHETIC" in text
    assert "Areas: 3" in text
    assert "gp_practice: 2" in text
