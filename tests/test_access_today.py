"""Demand by GP registration, today's access as the baseline, anchor practices."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from nhc_planner import ui
from nhc_planner._errors import ScenarioError
from nhc_planner.access_today import (
    access_kpi_rows,
    access_today,
    anchor_table,
    demand_areas,
    with_access_today,
)
from nhc_planner.scenario import Scenario

REG = Scenario().replace(**{"demand.basis": "registrations"})


def _areas() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "area_code": ["A", "B", "C"],
            "population": [100.0, 200.0, 100.0],
            "registered_patients": [150.0, 250.0, np.nan],
            "pop_0_15": [10.0, 20.0, 10.0],
            "pop_16_64": [80.0, 160.0, 80.0],
            "pop_65_plus": [10.0, 20.0, 10.0],
        }
    )


def test_residents_basis_leaves_the_areas_alone() -> None:
    a = _areas()
    out, words = demand_areas(a, Scenario())
    assert out is a
    assert "residents" in words


def test_registrations_basis_with_and_without_inflation_correction() -> None:
    a = _areas()
    raw, words = demand_areas(a, REG.replace(**{"demand.correct_list_inflation": False}))
    assert raw["population"].tolist() == [150.0, 250.0, 100.0]  # C has none: its residents
    assert raw["residents"].tolist() == [100.0, 200.0, 100.0]
    assert raw["pop_65_plus"].tolist() == [15.0, 25.0, 10.0]  # bands scaled alike
    assert "1 area(s) without registrations" in words
    fixed, words = demand_areas(a, REG)
    # scaled to the residents' total: 400 / 500
    assert fixed["population"].tolist() == pytest.approx([120.0, 200.0, 80.0])
    assert fixed["population"].sum() == pytest.approx(a["population"].sum())
    assert "scaled by 0.800" in words
    assert a["population"].tolist() == [100.0, 200.0, 100.0]  # input untouched


def test_registrations_basis_needs_the_column() -> None:
    with pytest.raises(ScenarioError, match="registered_patients"):
        demand_areas(_areas().drop(columns="registered_patients"), REG)


class _Travel:
    """A TravelTimes stand-in: a dense matrix of minutes by code."""

    cutoff_min = 60.0

    def __init__(self, minutes: dict[tuple[str, str], float]) -> None:
        self.minutes = minutes

    def matrix(self, areas: list[str], sites: list[str]) -> np.ndarray:
        return np.array([[self.minutes.get((a, s), np.inf) for s in sites] for a in areas])


def _sites() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "site_id": ["G1", "G2", "N1", "H1", "G3"],
            "kind": ["gp_practice", "gp_practice", "existing_nhc", "hospital", "gp_practice"],
            "status": ["candidate", "candidate", "existing", "candidate", "excluded"],
        }
    )


def test_access_today_counts_open_practices_and_existing_centres() -> None:
    travel = _Travel(
        {
            ("A", "G1"): 10.0,  # within 15
            ("B", "G2"): 20.0,
            ("B", "N1"): 14.0,  # an existing centre counts too
            ("C", "H1"): 1.0,  # a hospital is not today's primary care
            ("C", "G3"): 1.0,  # an excluded practice neither
            ("C", "G2"): 70.0,  # beyond the cutoff
        }
    )
    t = access_today(["A", "B", "C"], _sites(), travel, Scenario())
    assert t.minutes.tolist() == [10.0, 14.0, np.inf]
    assert t.covered.tolist() == [True, True, False]
    assert t.n_sites == 3
    wider = Scenario().replace(**{"demand.baseline_kinds": ("gp_practice", "hospital")})
    assert access_today(["C"], _sites(), travel, wider).covered.tolist() == [True]
    none = Scenario().replace(**{"demand.baseline_kinds": (), "policy.open_kinds": ()})
    assert access_today(["A"], _sites(), travel, none).n_sites == 0


def _geo() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    areas = gpd.GeoDataFrame(
        {"area_code": ["A", "B"]}, geometry=[box(0, 0, 10, 10), box(10, 0, 20, 10)], crs=27700
    )
    sites = gpd.GeoDataFrame(
        {
            "site_id": ["G1", "G2", "G3", "X1"],
            "name": ["One", "Two", "Three", "Hall"],
            "kind": ["gp_practice", "gp_practice", "gp_practice", "community_building"],
            "status": ["candidate"] * 4,
            "registered_list": [1000.0, 2000.0, 500.0, np.nan],
        },
        geometry=[Point(1, 1), Point(15, 5), Point(5, 5), Point(12, 2)],
        crs=27700,
    )
    return areas, sites


def test_anchor_rule_own_site_area_centre_or_none() -> None:
    areas, sites = _geo()
    centres = pd.DataFrame({"site_id": ["G1", "X1"], "status": ["new", "new"], "phase": [1, 2]})
    assignments = pd.DataFrame({"area_code": ["A", "B"], "site_id": ["G1", "X1"]})
    t = anchor_table(("G1", "G2", "G3"), sites, areas, centres, assignments)
    assert t["joined"].tolist() == ["own site", "area's centre", "area's centre"]
    assert t["centre_site_id"].tolist() == ["G1", "X1", "G1"]
    assert t["phase"].tolist() == [1, 2, 1]
    unserved = assignments.assign(site_id=["G1", ""])
    t2 = anchor_table(("G2",), sites, areas, centres, unserved)
    assert t2["joined"].tolist() == ["none"]
    with pytest.raises(ScenarioError, match="not GP practices"):
        anchor_table(("X1",), sites, areas, centres, assignments)
    with pytest.raises(ScenarioError, match="list sizes"):
        anchor_table(("G1",), sites.drop(columns="registered_list"), areas, centres, assignments)


def test_with_access_today_and_kpi_rows_by_hand() -> None:
    areas, sites = _geo()
    areas = areas.assign(population=[100.0, 300.0], registered_patients=[120.0, 310.0])
    assignments = gpd.GeoDataFrame(
        {
            "area_code": ["A", "B"],
            "population": [100.0, 300.0],
            "imd_decile": [1, 9],
            "need_score": [200.0, 300.0],
            "site_id": ["X1", "X1"],
            "minutes": [12.0, 3.0],
            "covered_before": [False, False],
            "covered_after": [True, True],
        },
        geometry=areas.geometry,
        crs=27700,
    )
    centres = gpd.GeoDataFrame(
        {"site_id": ["X1"], "status": ["new"], "phase": [1]}, geometry=[Point(12, 2)], crs=27700
    )
    travel = _Travel({("A", "G1"): 5.0, ("B", "G2"): 40.0})
    s = Scenario().replace(**{"demand.anchor_practices": ("G1", "G2")})
    a, c, words = with_access_today(assignments, centres, sites, areas, travel, s)
    assert a["covered_today"].tolist() == [True, False]
    assert a["minutes_today"].tolist() == [5.0, 40.0]
    assert a["registered_patients"].tolist() == [120.0, 310.0]
    assert c["anchor_practices"].tolist() == ["G1, G2"]  # both stand in areas X1 serves
    assert c["anchor_patients"].tolist() == [3000.0]
    assert "within 15 min" in words
    rows = {r[0]: r[1:] for r in access_kpi_rows(a, c)}
    assert rows["population_covered_today"][:2] == (100.0, 400.0)
    assert rows["share_covered_today"][:2] == (0.25, 1.0)
    assert rows["imd12_share_covered_today"][:2] == (1.0, 1.0)
    assert rows["need_weighted_coverage_today"][:2] == (0.4, 1.0)
    # before: (100 x 5 + 300 x 40) / 400; after: the nearer of today and the plan
    assert rows["mean_minutes_today"][:2] == (31.25, (100 * 5 + 300 * 3) / 400)
    assert rows["registered_patients_covered"][:2] == (0.0, 430.0)
    assert rows["registered_patients_covered_today"][:2] == (120.0, 430.0)
    assert rows["anchor_patients_served"][:2] == (0.0, 3000.0)
    assert access_kpi_rows(assignments, centres) == []  # without the columns: no rows


def test_demo_plan_shows_the_baseline_and_registrations(tmp_path: Path) -> None:
    from nhc_planner.demo import demo_region
    from nhc_planner.plan import plan

    region = demo_region(n_areas=60, n_las=2)
    assert "registered_patients" in region.areas
    assert region.sites.loc[region.sites["kind"] == "gp_practice", "registered_list"].notna().all()
    gp = sorted(region.sites.loc[region.sites["kind"] == "gp_practice", "site_id"])[:2]
    s = Scenario().replace(
        **{
            "demand.basis": "registrations",
            "demand.anchor_practices": tuple(gp),
            "travel.standard_min": 5.0,
        }
    )
    p = plan(region, s)
    k = p.kpis.set_index("metric")
    assert k.loc["share_covered_today", "before"] > 0  # today's access is no longer zero
    assert k.loc["share_covered_today", "after"] >= k.loc["share_covered_today", "before"]
    assert k.loc["share_covered", "before"] == 0  # covered_before keeps its meaning
    assert p.assignments["population"].sum() == pytest.approx(region.areas["population"].sum())
    assert "GP-registered patients" in p.provenance["demand"]
    assert "anchor_patients_served" in k.index
    words = ui.today_access_words(p)
    assert words is not None
    assert "registered patients" in words
    assert "Anchor practices bring" in words
    assert "open GP practice or centre today" in p.summary()
    html = p.to_html(tmp_path / "report").read_text(encoding="utf-8")
    assert "Registered patients within" in html
    assert "GP-registered patients" in html  # the demand line of the method
    assert "live within 5 minutes" in html  # what the plan adds to today's access


@pytest.mark.slow
def test_leeds_plan_with_synthetic_registrations(tmp_path: Path) -> None:
    """Leeds (real fixtures) plus synthetic registrations from its own GP practices."""
    from nhc_planner._synthetic_gp import (
        synthetic_gp_registrations,
        write_synthetic_gp_registrations,
    )
    from nhc_planner.build import build_region
    from nhc_planner.plan import plan
    from tests.builders import leeds_inputs

    inputs = leeds_inputs()
    region = build_region(inputs, la_codes=["E08000035"])
    gp = region.sites[region.sites["kind"] == "gp_practice"]
    practices = pd.DataFrame(
        {"site_id": gp["site_id"], "name": gp["name"], "x": gp.geometry.x, "y": gp.geometry.y}
    )
    frame = synthetic_gp_registrations(practices, region.areas, seed=3, by_sex=False)
    path = write_synthetic_gp_registrations(tmp_path / "gp-reg-pat-prac-lsoa-all.csv", frame)
    leeds = build_region(replace(inputs, gp_registrations=path), la_codes=["E08000035"])
    reg = leeds.areas["registered_patients"]
    assert reg.notna().all()
    assert reg.sum() == pytest.approx(1.1 * leeds.areas["population"].sum(), rel=0.01)
    anchors = tuple(sorted(gp["site_id"])[:3])
    s = Scenario().replace(
        **{
            "policy.model": "coverage",
            "phasing.years": 2,
            "phasing.new_per_year": 2,
            "demand.basis": "registrations",
            "demand.anchor_practices": anchors,
            "travel.mode": "walk",
        }
    )
    p = plan(leeds, s)
    k = p.kpis.set_index("metric")
    assert 0 < k.loc["share_covered_today", "before"] <= k.loc["share_covered_today", "after"]
    assert k.loc["registered_patients_covered", "after"] > 0
    assert "scaled by" in p.provenance["demand"]


def test_unknown_anchor_is_refused_before_solving() -> None:
    from nhc_planner.demo import demo_region
    from nhc_planner.plan import plan

    region = demo_region(n_areas=60, n_las=2)
    s = Scenario().replace(**{"demand.anchor_practices": ("NOPE1",)})
    with pytest.raises(ScenarioError, match=r"NOPE1.*not GP practices"):
        plan(region, s)
