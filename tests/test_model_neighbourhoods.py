"""Tests of the neighbourhood planning model (nhc_planner.model_neighbourhoods)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from scipy.sparse.csgraph import connected_components

from nhc_planner.demo import demo_region
from nhc_planner.model_neighbourhoods import NEIGHBOURHOOD_COLUMNS, _budget_years, _spread
from nhc_planner.neighbourhoods import area_adjacency
from nhc_planner.plan import Plan, plan
from nhc_planner.planning import model_names
from nhc_planner.region import Region
from nhc_planner.scenario import Scenario, SizeSpec

FAST = {"solver.time_limit_s": 20.0}


@pytest.fixture(scope="module")
def region() -> Region:
    return demo_region()


@pytest.fixture(scope="module")
def default_plan(region: Region) -> Plan:
    return plan(region, Scenario().replace(**FAST))


def _summary(p: Plan) -> pd.DataFrame:
    assert p.neighbourhoods is not None
    return p.neighbourhoods.drop_duplicates("neighbourhood_id").set_index("neighbourhood_id")


def check_neighbourhood_plan(p: Plan, areas: gpd.GeoDataFrame, *, lo: float, hi: float) -> None:
    """The acceptance rules of issue 11 on one plan."""
    hoods = p.neighbourhoods
    assert hoods is not None
    assert list(hoods.columns[: len(NEIGHBOURHOOD_COLUMNS)]) == list(NEIGHBOURHOOD_COLUMNS)
    # every area in exactly one neighbourhood
    assert hoods["area_code"].tolist() == areas["area_code"].astype(str).tolist()
    assert hoods["neighbourhood_id"].notna().all()
    # contiguous, within one authority, within the bounds
    adj = area_adjacency(areas).matrix
    la = areas["la_code"].astype(str).to_numpy()
    for _, idx in hoods.groupby("neighbourhood_id").indices.items():
        sub = adj[idx][:, idx]
        assert connected_components(sub, directed=False)[0] == 1
        assert len(set(la[idx])) == 1
        pop = areas["population"].to_numpy(float)[idx].sum()
        assert lo <= pop <= hi
        assert hoods["population"].iloc[idx].eq(pop).all()
    # a centre and an opening year for each; centres list each neighbourhood once
    summary = _summary(p)
    assert (summary["site_id"] != "").all()
    assert (summary["opening_year"] >= 1).all()
    listed = ";".join(p.centres["neighbourhood_ids"]).split(";")
    assert sorted(listed) == sorted(summary.index)
    # order by lowest HLE: every neighbourhood of a year has lower HLE than any later one
    by_year = summary.groupby("opening_year")["hle_mean"].agg(["min", "max"]).sort_index()
    assert (by_year["max"].to_numpy()[:-1] <= by_year["min"].to_numpy()[1:] + 1e-9).all()
    # never over capacity; the gaps are stated
    assert (p.centres["utilisation"] <= 1 + 1e-9).all()
    assert np.isfinite(p.solver["gap"])
    assert "proven" in p.solver["message"]
    assert p.solver["siting_gap"] == pytest.approx(0.0)


def test_registered_and_default() -> None:
    assert {"coverage", "neighbourhoods"} <= set(model_names())
    assert Scenario().policy.model == "neighbourhoods"


def test_demo_acceptance(default_plan: Plan, region: Region) -> None:
    check_neighbourhood_plan(default_plan, region.areas, lo=30_000, hi=50_000)
    first = _summary(default_plan).sort_values("opening_rank").iloc[0]
    assert first["why"].startswith("opens in year 1: estimated HLE")
    assert f"{first['hle_mean']:.1f} years" in first["why"]


def test_demo_centres_and_assignments(default_plan: Plan) -> None:
    hoods = default_plan.neighbourhoods
    assert hoods is not None
    site_by_area = dict(zip(hoods["area_code"], hoods["site_id"], strict=True))
    a = default_plan.assignments
    assert a["site_id"].tolist() == [site_by_area[c] for c in a["area_code"]]
    new = default_plan.centres[default_plan.centres["status"] == "new"]
    assert new["order"].tolist() == list(range(1, len(new) + 1))  # listed in opening order
    assert new["phase"].is_monotonic_increasing
    assert new["why"].str.startswith("Serves ").all()
    # the neighbourhood's own reasons, not the coverage model's order and swap sentences
    assert new["why"].str.contains("chosen to keep").all()
    assert not new["why"].str.contains("in opening order|best alternative|would reach").any()
    assert (default_plan.centres["best_alternative"] == "").all()  # a coverage figure


def test_save_and_load(default_plan: Plan, tmp_path: Path) -> None:
    folder = default_plan.save(tmp_path / "p")
    csv = pd.read_csv(folder / "neighbourhoods.csv")
    assert list(csv.columns) == list(NEIGHBOURHOOD_COLUMNS)
    shapes = gpd.read_file(folder / "neighbourhoods.geojson")
    assert shapes.crs.to_epsg() == 4326
    assert len(shapes) == csv["neighbourhood_id"].nunique()
    back = Plan.load(folder)
    assert back.neighbourhoods is not None
    pd.testing.assert_frame_equal(
        pd.DataFrame(back.neighbourhoods.drop(columns="geometry")),
        pd.DataFrame(default_plan.neighbourhoods.drop(columns="geometry")),  # type: ignore[union-attr]
    )


def test_coverage_plan_has_no_neighbourhoods(region: Region, tmp_path: Path) -> None:
    s = Scenario().replace(**{"policy.model": "coverage", "phasing.years": 1, **FAST})
    p = plan(region, s)
    assert p.neighbourhoods is None
    folder = p.save(tmp_path / "c")
    assert not (folder / "neighbourhoods.csv").exists()
    assert Plan.load(folder).neighbourhoods is None


def test_order_by_need(region: Region) -> None:
    p = plan(region, Scenario().replace(**{"neighbourhoods.order": "need", **FAST}))
    summary = _summary(p)
    by_year = summary.groupby("opening_year")["need_mean"].agg(["min", "max"]).sort_index()
    assert (by_year["min"].to_numpy()[:-1] >= by_year["max"].to_numpy()[1:] - 1e-9).all()
    assert summary.sort_values("opening_rank")["why"].iloc[0].startswith("opens in year 1: need")


def test_budget_phasing(region: Region) -> None:
    s = Scenario().replace(**{"phasing.budget_per_year_gbp": 10e6, **FAST})
    p = plan(region, s)
    spend = p.centres.groupby("phase")["capex_gbp"].sum()
    assert (spend <= 10e6 + 1).all()


def test_hubs(region: Region) -> None:
    s = Scenario().replace(
        **{
            "neighbourhoods.hubs": 6,
            "neighbourhoods.hubs_by_year": 3,
            "capacity.sizes": [
                SizeSpec(name="medium", rooms=12),
                SizeSpec(name="hub", rooms=60),
            ],
            **FAST,
        }
    )
    p = plan(region, s)
    summary = _summary(p)
    hubs = summary[summary["hub"]]
    assert hubs["site_id"].nunique() <= 6
    assert (hubs.groupby("site_id").size() > 1).any()  # a hub serves several neighbourhoods
    assert hubs["opening_year"].between(1, 3).all()
    assert (summary.loc[~summary["hub"], "opening_year"] >= 4).all()
    assert (p.centres["utilisation"] <= 1 + 1e-9).all()
    assert "Hub siting (capacitated p-median, HiGHS)" in p.solver["message"]
    assert 0 <= p.solver["siting_gap"] <= 1
    assert (summary["site_id"] != "").all()


def test_user_drawn_file(region: Region, tmp_path: Path) -> None:
    areas = region.areas
    # two neighbourhoods per authority: split its areas by order of code
    rank = areas.groupby("la_code").cumcount()
    size = areas.groupby("la_code")["area_code"].transform("size")
    hood = areas["la_name"] + np.where(rank < size / 2, " North", " South")
    path = tmp_path / "ours.csv"
    pd.DataFrame({"area_code": areas["area_code"], "neighbourhood": hood}).to_csv(path, index=False)
    p = plan(region, Scenario().replace(**{"neighbourhoods.file": str(path), **FAST}))
    summary = _summary(p)
    assert set(summary["neighbourhood_name"]) == set(hood)
    assert p.solver["delineation_gap"] is None
    assert "read from" in p.solver["message"]
    assert "outside 30,000-50,000 residents" in p.solver["message"]
    assert (~summary["within_bounds"]).any()
    assert (summary["opening_year"] >= 1).all()


def test_bounds_that_cannot_be_met_are_named(region: Region) -> None:
    # the smallest demo authority has about 70,000 residents
    s = Scenario().replace(
        **{"neighbourhoods.min_pop": 80_000, "neighbourhoods.max_pop": 120_000, **FAST}
    )
    p = plan(region, s)
    small = region.areas.groupby("la_name")["population"].sum().idxmin()
    assert small in p.solver["message"]
    summary = _summary(p)
    assert (~summary["within_bounds"]).any()


def test_spread_and_budget_years_hand_checked() -> None:
    assert _spread(5, 3) == [1, 1, 2, 2, 3]
    assert _spread(2, 3) == [1, 2]


def test_budget_years_hand_checked(region: Region) -> None:
    class _Built:
        scenario = Scenario().replace(**{"phasing.budget_per_year_gbp": 10.0})

    years = _budget_years(_Built(), [6.0, 4.0, 5.0, 20.0, 1.0], 1, 0.0)  # type: ignore[arg-type]
    assert years == [1, 1, 2, 3, 4]


@pytest.mark.slow
def test_leeds_acceptance() -> None:
    from nhc_planner.build import build_region
    from tests.builders import leeds_inputs

    inputs = leeds_inputs()
    region = build_region(inputs, la_codes=["E08000035"])
    p = plan(region, Scenario().replace(**FAST))
    check_neighbourhood_plan(p, region.areas, lo=30_000, hi=50_000)
    assert p.solver["n_neighbourhoods"] >= 16


# --------------------------------------------------------------------------- outputs


def test_report_shows_the_neighbourhoods(default_plan: Plan, tmp_path: Path) -> None:
    index = default_plan.to_html(tmp_path / "report")
    text = index.read_text(encoding="utf-8")
    assert "Neighbourhoods and the order their centres open" in text
    first = _summary(default_plan).sort_values("opening_rank").iloc[0]
    assert str(first["neighbourhood_name"]) in text


def test_plan_map_draws_the_neighbourhood_boundaries(default_plan: Plan) -> None:
    import json

    from nhc_planner.maps import draw_map, plan_layers

    layers = plan_layers(default_plan)
    hoods = json.loads(layers.neighbourhoods)
    n = default_plan.neighbourhoods["neighbourhood_id"].nunique()
    assert len(hoods["features"]) == n
    names = {f["properties"]["Neighbourhood"] for f in hoods["features"]}
    assert names == set(default_plan.neighbourhoods["neighbourhood_name"])
    assert all(f["properties"]["Centre opens"].startswith("year ") for f in hoods["features"])
    assert "Neighbourhood" in layers.legend
    html = draw_map(layers).get_root().render()
    assert "Neighbourhoods" in html or "Centre opens" in html


def test_ui_neighbourhood_rows(default_plan: Plan) -> None:
    from nhc_planner.ui import neighbourhood_rows

    rows = neighbourhood_rows(default_plan)
    assert rows is not None
    assert len(rows) == default_plan.solver["n_neighbourhoods"]
    assert rows["Order"].tolist() == sorted(rows["Order"])
    assert (rows["Opening year"].diff().dropna() >= 0).all()


def test_neighbourhood_tables_show_travel_to_the_centre(default_plan: Plan) -> None:
    from nhc_planner.model_neighbourhoods import neighbourhood_summary
    from nhc_planner.ui import neighbourhood_rows

    rows = neighbourhood_rows(default_plan)
    assert rows is not None
    assert (rows["Mean minutes to the centre"] >= 0).all()
    assert rows["Beyond the travel cutoff"].str.endswith("%").all()
    # a plan saved before the travel columns existed still gives a table without them
    old = default_plan.neighbourhoods.drop(columns=["minutes_mean", "share_beyond_cutoff"])
    assert "minutes_mean" not in neighbourhood_summary(old).columns


# --------------------------------------------------------------------------- hand-checked


def _quadrants(tmp_path: Path, region: Region) -> Path:
    """The 6 x 6 grid's four 3 x 3 quadrants as a neighbourhoods file."""
    i = np.arange(len(region.areas))
    col, row = i % 6, i // 6
    names = np.where(col < 3, "W", "E").astype(object) + np.where(row < 3, "S", "N")
    path = tmp_path / "quadrants.csv"
    pd.DataFrame({"area_code": region.areas["area_code"], "neighbourhood": names}).to_csv(
        path, index=False
    )
    return path


def _grid_scenario(path: Path) -> Scenario:
    return Scenario().replace(
        **{
            "neighbourhoods.file": str(path),
            "neighbourhoods.min_pop": 5_000,
            "neighbourhoods.max_pop": 15_000,
            "phasing.years": 4,
            "phasing.new_per_year": 1,
        }
    )


def test_grid_quadrants_hand_checked(tmp_path: Path) -> None:
    from tests.test_plan import grid_region

    # 2 km squares, sites on a 3 km lattice from (1.1, 1.1) km: the site nearest the
    # middle of each quadrant (3, 3), (9, 3), (3, 9), (9, 9) km is S05, S07, S13, S15;
    # population grows with the area index, which only pulls further the same way.
    # Mean HLE: WS 56.9 < WN 61.66 < ES 61.67 < EN 64.6 years -> years 1, 2, 3, 4.
    region = grid_region(existing=False)
    p = plan(region, _grid_scenario(_quadrants(tmp_path, region)))
    summary = _summary(p).set_index("neighbourhood_name")
    assert summary["site_id"].to_dict() == {"WS": "S05", "ES": "S07", "WN": "S13", "EN": "S15"}
    assert summary["opening_year"].to_dict() == {"WS": 1, "WN": 2, "ES": 3, "EN": 4}
    assert summary["within_bounds"].all()
    assert p.solver["status"] == "optimal"
    assert p.solver["gap"] == 0.0


def test_grid_open_centre_is_used_first(tmp_path: Path) -> None:
    from tests.test_plan import grid_region

    # S00 at (1.1, 1.1) km is already open and within 15 minutes of WS: it serves WS
    region = grid_region(existing=True)
    p = plan(region, _grid_scenario(_quadrants(tmp_path, region)))
    summary = _summary(p).set_index("neighbourhood_name")
    assert summary.loc["WS", "site_id"] == "S00"
    assert summary["opening_year"].to_dict() == {"WS": 0, "WN": 1, "ES": 2, "EN": 3}
    assert summary.loc["WS", "why"].startswith("served by the existing centre")


def test_unmet_and_loads_agree_with_the_model(default_plan: Plan) -> None:
    # the KPIs and unmet tables count what the model counts: a capacity shortfall or a
    # neighbourhood no site reaches, not areas beyond the travel standard of their centre
    unmet = default_plan.kpi("unmet_weekly_appointments")
    assert unmet == pytest.approx(default_plan.solver["unmet_weekly_demand"])
    c = default_plan.centres
    assert (c["weekly_demand_served"] <= c["weekly_capacity"] + 1e-6).all()


def test_summary_and_headline_count_centres_after_the_horizon(
    default_plan: Plan, tmp_path: Path
) -> None:
    years = default_plan.scenario.phasing.years
    new = default_plan.new_centres
    late = int((new["phase"] > years).sum())
    assert late > 0  # the demo has more neighbourhoods than 5 years x 2 a year
    line = default_plan.summary().splitlines()[1]
    assert line.startswith(f"  {len(new) - late} new centre(s) over {years} year(s), {late} more")
    text = default_plan.to_html(tmp_path / "r").read_text(encoding="utf-8")
    assert f"and {late} more after the {years}-year horizon at the same pace" in text


def test_grid_order_by_need_follows_each_years_projected_population(tmp_path: Path) -> None:
    """Per-year need (projected populations): year 1 is weighed with 2026, when nothing has
    grown, so WS (highest need) opens first as with the census; from 2027 the east
    authority's population is five times larger, so ES then EN take the next slots and
    WN (second with the census) opens last."""
    from tests.test_plan import _with_projection, grid_region

    region = grid_region(existing=False)
    s = _grid_scenario(_quadrants(tmp_path, region)).replace(
        **{"neighbourhoods.order": "need", "phasing.years": 2}
    )
    census = _summary(plan(region, s)).set_index("neighbourhood_name")["opening_year"]
    assert census.to_dict() == {"WS": 1, "ES": 3, "WN": 2, "EN": 4}
    grown = _with_projection(region, {"LA1": {2026: 1.0, 2027: 1.0}, "LA2": {2026: 1.0, 2027: 5.0}})
    p = plan(grown, s.replace(**{"phasing.population": "projection", "phasing.first_year": 2026}))
    years = _summary(p).set_index("neighbourhood_name")["opening_year"]
    assert years.to_dict() == {"WS": 1, "ES": 2, "WN": 4, "EN": 3}
