"""Explanations checked on a hand-built instance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nhc_planner._errors import ValueRangeError
from nhc_planner.explain import EXPLAIN_COLUMNS, explain_centres, opening_order
from nhc_planner.optimize._solution import PhasedSolution, Solution
from nhc_planner.optimize.phased import phased_coverage

INF = np.inf
# p0 near s0; p1 near s0 and s1; p2 near s1; p3 near s2 and s3
COST = np.array(
    [
        [5.0, 30, 30, 30],
        [5.0, 5, 30, 30],
        [30.0, 5, 30, 30],
        [30.0, 30, 5, 5],
    ]
)
WEIGHTS = np.array([4.0, 2.0, 3.0, 1.0])
POP = np.array([100.0, 200.0, 300.0, 400.0])
DECILE = np.array([1, 2, 5, 9])
HLE = np.array([55.0, 60.0, 65.0, 70.0])


def _solution() -> Solution:
    return PhasedSolution(
        open=np.array([0, 1, 2]),
        assignment=np.array([0, 0, 1, 2]),
        objective=10.0,
        bound=10.0,
        gap=0.0,
        status="optimal",
        solve_seconds=0.0,
        open_period=np.array([1, 2, 0, -1]),
        size=np.array(["medium", "small", "existing", ""], dtype=object),
        load=np.array([60.0, 30.0, 20.0, 0.0]),
        capacity=np.array([100.0, 100.0, 50.0, np.nan]),
    )


def _explained(**options):
    return explain_centres(
        COST,
        _solution(),
        WEIGHTS,
        10,
        population=POP,
        imd_decile=DECILE,
        hle_years=HLE,
        site_ids=["S0", "S1", "S2", "S3"],
        **options,
    )


@pytest.fixture
def table():
    return _explained()


def test_columns_and_opening_order(table):
    assert list(table.columns) == list(EXPLAIN_COLUMNS)
    assert table["site_id"].tolist() == ["S2", "S0", "S1"]
    assert table["order"].tolist() == [1, 2, 3]
    assert table["phase"].tolist() == [0, 1, 2]
    assert table["status"].tolist() == ["existing", "new", "new"]


def test_newly_covered_in_opening_order(table):
    assert table["need_newly_covered"].tolist() == [1.0, 6.0, 3.0]
    assert table["need_newly_covered_imd12"].tolist() == [0.0, 6.0, 0.0]
    assert table["pop_newly_covered"].tolist() == [400.0, 300.0, 300.0]
    assert table["pop_newly_covered_imd12"].tolist() == [0.0, 300.0, 0.0]


def test_catchment_hle_and_utilisation(table):
    assert table["catchment_hle_mean"].tolist() == pytest.approx([70.0, 175 / 3, 65.0])
    assert table["catchment_population"].tolist() == [400.0, 300.0, 300.0]
    assert table["utilisation"].tolist() == pytest.approx([0.4, 0.6, 0.3])


def test_swap_loss_against_best_alternative(table):
    assert np.isnan(table["swap_loss"].iloc[0])  # existing: not swapped
    assert table["swap_loss"].iloc[1:].tolist() == [4.0, 3.0]
    assert pd.isna(table["best_alternative"].iloc[0])
    assert table["best_alternative"].iloc[1:].tolist() == ["S3", "S3"]
    assert table["swap_loss_share"].iloc[1] == pytest.approx(0.4)


def test_why_sentences_are_readable(table):
    why = table.set_index("site_id")["why"]
    assert why["S2"].startswith("Already open")
    s0 = why["S0"]
    assert "Opens in year 1 as a medium centre" in s0
    assert "300 people within 10 minutes for the first time" in s0
    assert "300 (100%) of them in the most deprived 20% of areas" in s0
    assert "58.3 years" in s0
    assert "60% of 100 appointments a week" in s0
    assert "best alternative site (S3)" in s0
    assert "4 need-weighted residents (40% of the plan's coverage)" in s0
    assert "units of need" not in s0


def test_travel_choice_leaves_year_order_and_swap_to_the_caller(table):
    """With ``choice="travel"`` (the neighbourhood model) the sentences keep only reach,
    catchment HLE and expected use; the numbers in the columns are the same."""
    travel = _explained(choice="travel")
    s0 = travel.set_index("site_id")["why"]["S0"]
    assert s0.startswith("It brings 300 people within 10 minutes for the first time")
    assert "58.3 years" in s0
    assert "60% of 100 appointments a week" in s0
    assert "Opens in year" not in s0
    assert "in opening order" not in s0
    assert "alternative" not in s0
    same = [c for c in table.columns if c != "why"]
    pd.testing.assert_frame_equal(travel[same], table[same])


def test_thousands_separators():
    cost = np.array([[1.0, 50.0]])
    sol = phased_coverage(cost, [12345.0], 5, periods=1, new_per_period=1)
    table = explain_centres(cost, sol, [12345.0], 5, population=[23456.0])
    assert "23,456 people within 5 minutes" in table["why"].iloc[0]


def test_negative_swap_loss_is_explained():
    # the plan keeps site 0, although site 1 covers more at the end
    cost = np.array([[1.0, 1.0], [50.0, 1.0]])
    sol = Solution(
        open=np.array([0]),
        assignment=np.array([0, -1]),
        objective=1.0,
        bound=1.0,
        gap=0.0,
        status="optimal",
        solve_seconds=0.0,
    )
    table = explain_centres(cost, sol, [1.0, 1.0], 5)
    assert table["swap_loss"].iloc[0] == -1.0
    assert "would reach 1 more need-weighted residents" in table["why"].iloc[0]


def test_opening_order_greedy_within_period():
    cover = np.array([[1, 1, 0], [0, 1, 0], [0, 0, 1]], dtype=bool)
    w = np.array([1.0, 5.0, 2.0])
    assert opening_order(cover, w, np.array([1, 1, 1])).tolist() == [1, 2, 0]
    assert opening_order(cover, w, np.array([2, 1, -1])).tolist() == [1, 0]


def test_excluded_sites_are_not_alternatives():
    table = explain_centres(COST, _solution(), WEIGHTS, 10, excluded=[3])
    assert table["best_alternative"].isna().all()
    assert table["swap_loss"].iloc[1:].tolist() == [4.0, 3.0]


def test_excluded_as_a_mask_or_out_of_range():
    mask = np.zeros(COST.shape[1], dtype=bool)
    mask[3] = True
    by_mask = explain_centres(COST, _solution(), WEIGHTS, 10, excluded=mask)
    by_index = explain_centres(COST, _solution(), WEIGHTS, 10, excluded=[3])
    pd.testing.assert_frame_equal(by_mask, by_index)
    with pytest.raises(ValueRangeError, match="excluded"):
        explain_centres(COST, _solution(), WEIGHTS, 10, excluded=[COST.shape[1]])


def test_bad_population_shape_raises():
    with pytest.raises(ValueRangeError, match="population"):
        explain_centres(COST, _solution(), WEIGHTS, 10, population=[1.0, 2.0])


@pytest.mark.slow
def test_demo_region_end_to_end():
    from nhc_planner.capacity import default_size_templates, weekly_demand
    from nhc_planner.demo import demo_region
    from nhc_planner.optimize.phased import SizeOption
    from nhc_planner.travel import straight_line_times

    region = demo_region()
    areas, sites = region.areas, region.sites
    minutes = straight_line_times(areas, sites).matrix(
        list(areas["area_code"]), list(sites["site_id"])
    )
    pop = areas["population"].to_numpy(float)
    decile = areas["imd_decile"].to_numpy(float)
    need = pop * (1.5 - 0.5 * (decile - 1) / 9)
    demand = weekly_demand(areas)
    sizes = [SizeOption.from_template(t) for t in default_size_templates()]
    sol = phased_coverage(
        minutes,
        need,
        15,
        periods=3,
        new_per_period=2,
        sizes=sizes,
        demand=demand,
        time_limit_s=120,  # a safety stop only: the stages' work limits decide the plan
    )
    assert sol.has_solution
    table = explain_centres(
        minutes,
        sol,
        need,
        15,
        population=pop,
        imd_decile=decile,
        hle_years=areas["hle_years"].to_numpy(float),
        site_ids=list(sites["site_id"]),
    )
    assert len(table) == sol.open.size == 6
    covered = (minutes[:, sol.open] <= 15).any(axis=1)
    assert table["need_newly_covered"].sum() == pytest.approx(need[covered].sum())
    assert table["pop_newly_covered"].sum() == pytest.approx(pop[covered].sum())
    assert (table["need_newly_covered_imd12"] <= table["need_newly_covered"] + 1e-9).all()
    assert ((table["utilisation"] >= 0) & (table["utilisation"] <= 1 + 1e-6)).all()
    assert table["phase"].tolist() == sorted(table["phase"].tolist())
    assert all("15 minutes" in why for why in table["why"])
    hle = table["catchment_hle_mean"].dropna()
    assert ((hle > 40) & (hle < 80)).all()


def test_site_names_name_the_alternative_and_number_new_centres():
    names = ["North Surgery", "Park Pharmacy", "Old Clinic", "Town Library"]
    table = explain_centres(
        COST,
        _solution(),
        WEIGHTS,
        10,
        population=POP,
        site_ids=["S0", "S1", "S2", "S3"],
        site_names=names,
    )
    rows = table.set_index("site_id")
    assert rows.loc["S0", "best_alternative_name"] == "Town Library"
    assert "best alternative site, Town Library (S3), would leave" in rows.loc["S0", "why"]
    # S0 is the first new centre (S2 was already open), whatever the order column says
    assert rows.loc["S0", "order"] == 2
    assert "(centre 1 in opening order)" in rows.loc["S0", "why"]
    assert "(centre 2 in opening order)" in rows.loc["S1", "why"]
    with pytest.raises(ValueRangeError, match="site_names"):
        explain_centres(COST, _solution(), WEIGHTS, 10, site_names=names[:2])


def test_zero_swap_loss_is_said_as_a_tie():
    # sites 0 and 1 reach exactly the same areas: swapping one for the other changes nothing
    cost = np.array([[1.0, 1.0], [2.0, 2.0]])
    sol = Solution(
        open=np.array([0]),
        assignment=np.array([0, 0]),
        objective=2.0,
        bound=2.0,
        gap=0.0,
        status="optimal",
        solve_seconds=0.0,
    )
    table = explain_centres(cost, sol, [5.4e6, 1.0], 5)
    why = table["why"].iloc[0]
    assert "would reach exactly as much need (a tie)" in why
    assert "would serve as well" not in why
    assert "more need-weighted residents" not in why
