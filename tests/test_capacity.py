"""Capacity arithmetic, hand-checked."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from nhc_planner._errors import MissingColumnError, ValueRangeError
from nhc_planner.capacity import (
    ENGLAND_POPULATION_2021,
    ROLES,
    CostAssumptions,
    DemandAssumptions,
    OpeningHours,
    ServiceMix,
    SizeTemplate,
    StaffingAssumptions,
    default_size_templates,
    room_minutes_per_appointment,
    size_template,
    staffing,
    staffing_for_capacity,
    suggested_centres,
    unmet_demand_tables,
    weekly_capacity,
    weekly_demand,
)


def test_default_opening_is_12_hours_6_days():
    assert OpeningHours().hours_per_week == 72.0


def test_weekly_capacity_by_hand():
    # 10 rooms x 72 h x (60 / 15) appointments an hour x 0.75 utilisation
    assert weekly_capacity(10) == pytest.approx(10 * 72 * 4 * 0.75)
    # 8 h x 5 days, 20-minute appointments, full use: 3 rooms x 40 h x 3 = 360
    hours = OpeningHours(8, 5)
    costs = CostAssumptions(appointment_minutes=20, room_utilisation=1.0)
    assert weekly_capacity(3, hours, costs=costs) == pytest.approx(360.0)
    template = SizeTemplate("x", 3, 0.0, 0.0)
    assert weekly_capacity(template, hours, costs=costs) == pytest.approx(360.0)


def test_size_templates_costs_follow_rooms():
    costs = CostAssumptions(gross_m2_per_room=50, capex_gbp_per_m2=4000, annual_gbp_per_m2=300)
    t = size_template("tiny", 2, costs)
    assert (t.capex_gbp, t.annual_cost_gbp) == (400_000.0, 30_000.0)
    small, medium, large = default_size_templates()
    assert (small.rooms, medium.rooms, large.rooms) == (6, 12, 20)
    assert small.capex_gbp < medium.capex_gbp < large.capex_gbp
    assert weekly_capacity(medium) == pytest.approx(2592.0)


def test_weekly_demand_by_hand():
    areas = pd.DataFrame(
        {
            "pop_0_15": [100.0, 0.0, 0.0],
            "pop_16_64": [0.0, 200.0, 0.0],
            "pop_65_plus": [0.0, 0.0, 50.0],
            "imd_decile": [1, 10, np.nan],
        }
    )
    a = DemandAssumptions()
    got = weekly_demand(areas, a)
    expected = [
        100 * (3.5 + 1.0) * 1.20 * 0.30 / 52,  # children, decile 1
        200 * (5.0 + 0.8) * 0.90 * 0.30 / 52,  # working age, decile 10
        50 * (10.0 + 6.0) * 1.00 * 0.30 / 52,  # older people, decile unknown
    ]
    assert got == pytest.approx(expected)


def test_weekly_demand_accepts_mapping_and_custom_assumptions():
    a = DemandAssumptions(
        primary_contacts=(1.0, 1.0, 1.0),
        community_contacts=(0.0, 0.0, 0.0),
        deprivation_multiplier=(1.0,) * 10,
        centre_share=1.0,
    )
    got = weekly_demand(
        {"pop_0_15": [52.0], "pop_16_64": [52.0], "pop_65_plus": [0.0], "imd_decile": [5]}, a
    )
    assert got.tolist() == [2.0]


def test_deprivation_multiplier_runs_from_1_2_to_0_9():
    mult = DemandAssumptions().deprivation_multiplier
    assert mult[0] == pytest.approx(1.2)
    assert mult[-1] == pytest.approx(0.9)
    assert bool(np.all(np.diff(mult) < 0))


def test_staffing_by_hand():
    table = staffing([1250.0, 0.0])
    assert list(table.columns) == list(ROLES)
    row = table.iloc[0]
    assert row["gp"] == pytest.approx(1250 * 0.40 / 125)
    assert row["nurse"] == pytest.approx(1250 * 0.30 / 140)
    assert row["pharmacist"] == pytest.approx(1250 * 0.10 / 100)
    assert row["mental_health"] == pytest.approx(1250 * 0.05 / 25)
    assert row["allied_health"] == pytest.approx(1250 * 0.15 / 60)
    clinical = row[list(ROLES[:-1])].sum()
    assert row["admin"] == pytest.approx(0.6 * clinical)
    assert table.iloc[1].sum() == 0.0


def test_staffing_of_a_template_uses_its_capacity():
    medium = default_size_templates()[1]
    assert staffing(medium).equals(staffing(weekly_capacity(medium)))


def test_custom_skill_mix():
    mix = {"gp": 1.0, "nurse": 0.0, "pharmacist": 0.0, "mental_health": 0.0, "allied_health": 0.0}
    a = dataclasses.replace(StaffingAssumptions(), skill_mix=mix, admin_per_clinical_wte=0.0)
    assert staffing(250.0, a).iloc[0].tolist() == [2.0, 0, 0, 0, 0, 0]


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: OpeningHours(25, 6), "hours_per_day"),
        (lambda: OpeningHours(12, 0), "days_per_week"),
        (lambda: DemandAssumptions(primary_contacts=(1.0, 2.0)), "primary_contacts"),
        (lambda: DemandAssumptions(deprivation_multiplier=(1.0,) * 9), "deprivation_multiplier"),
        (lambda: DemandAssumptions(centre_share=1.5), "centre_share"),
        (lambda: CostAssumptions(appointment_minutes=0), "appointment_minutes"),
        (lambda: CostAssumptions(room_utilisation=0), "room_utilisation"),
        (lambda: SizeTemplate("x", 0, 1.0, 1.0), "rooms"),
        (lambda: StaffingAssumptions(skill_mix={"gp": 1.0}), "skill_mix"),
        (lambda: staffing([-1.0]), "non-negative"),
        (lambda: weekly_capacity(-1), "rooms"),
    ],
)
def test_invalid_assumptions_raise(build, match):
    with pytest.raises(ValueRangeError, match=match):
        build()


def test_weekly_demand_errors_name_the_column_and_values():
    with pytest.raises(MissingColumnError, match="pop_65_plus"):
        weekly_demand({"pop_0_15": [1.0], "pop_16_64": [1.0], "imd_decile": [1]})
    bad = {"pop_0_15": [1.0], "pop_16_64": [1.0], "pop_65_plus": [1.0], "imd_decile": [11]}
    with pytest.raises(ValueRangeError, match="imd_decile"):
        weekly_demand(bad)
    neg = {"pop_0_15": [-1.0], "pop_16_64": [1.0], "pop_65_plus": [1.0], "imd_decile": [1]}
    with pytest.raises(ValueRangeError, match="population"):
        weekly_demand(neg)


def test_weekly_demand_names_a_fractional_decile() -> None:
    bad = {"pop_0_15": [1.0], "pop_16_64": [1.0], "pop_65_plus": [1.0], "imd_decile": [2.5]}
    with pytest.raises(ValueRangeError, match=r"found \[2\.5\]"):
        weekly_demand(bad)


def test_weekly_demand_names_the_bad_population_column() -> None:
    bad = {"pop_0_15": [1.0], "pop_16_64": [np.nan], "pop_65_plus": [1.0], "imd_decile": [1]}
    with pytest.raises(ValueRangeError, match=r"\['pop_16_64'\]"):
        weekly_demand(bad)


# --------------------------------------------------------------------------- sizing a centre


def test_size_for_load_takes_the_smallest_allowed_size_that_serves_it() -> None:
    from nhc_planner.capacity import size_for_load

    small, mid, large = size_template("s", 6), size_template("m", 12), size_template("l", 20)
    sizes, caps = [small, mid, large], [100.0, 200.0, 300.0]
    assert size_for_load(150.0, sizes, caps, [True, True, True]) is mid
    assert size_for_load(150.0, sizes, caps, [True, False, True]) is large
    # nothing big enough: the largest allowed
    assert size_for_load(999.0, sizes, caps, [True, True, False]) is mid


def test_fit_sizes_to_budget_caps_at_the_middle_then_upgrades_the_most_overloaded() -> None:
    from nhc_planner.capacity import fit_sizes_to_budget

    sizes = [
        dataclasses.replace(size_template("s", 6), capex_gbp=1.0),
        dataclasses.replace(size_template("m", 12), capex_gbp=2.0),
        dataclasses.replace(size_template("l", 20), capex_gbp=4.0),
    ]
    caps = [100.0, 200.0, 300.0]
    # year 1: sites 0 and 1 (chosen large, large); year 2: site 2 (small); site 3 closed
    chosen = [sizes[2], sizes[2], sizes[0], None]
    open_period = np.array([1, 1, 2, -1])
    load = np.array([250.0, 290.0, 150.0, 0.0])
    fit_sizes_to_budget(
        chosen,
        open_period,
        load,
        templates=sizes,
        capacities=caps,
        allowed_sizes=np.ones((4, 3), dtype=bool),
        site_capex=np.full(4, np.nan),
        budget=6.0,
    )
    # capped at medium (2 + 2 = 4 spent); 2 left upgrades the most overloaded (site 1)
    assert [t.name if t else None for t in chosen] == ["m", "l", "m", None]


# --------------------------------------------------------------------------- minutes by role


def test_room_minutes_by_hand():
    # 0.4*0.65*15 + 0.3*0.9*15 + 0.1*0.5*20 + 0.05*0.7*50 + 0.15*0.85*35
    assert room_minutes_per_appointment() == pytest.approx(15.1625)
    only_mh = ServiceMix(
        share={"gp": 0, "nurse": 0, "pharmacist": 0, "mental_health": 1.0, "allied_health": 0},
    )
    assert room_minutes_per_appointment(only_mh) == pytest.approx(0.7 * 50)
    # 1 room x 72 h x 60 min x 0.75 / 35 room-minutes
    assert weekly_capacity(1, mix=only_mh) == pytest.approx(72 * 60 * 0.75 / 35)


def test_remote_appointments_use_no_room():
    remote = ServiceMix(
        face_to_face={
            "gp": 0.5,
            "nurse": 0.5,
            "pharmacist": 0.5,
            "mental_health": 0.5,
            "allied_health": 0.5,
        }
    )
    full = dataclasses.replace(remote, face_to_face=dict.fromkeys(remote.face_to_face, 1.0))
    assert weekly_capacity(6, mix=remote) == pytest.approx(2 * weekly_capacity(6, mix=full))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"share": {"gp": 1.0}}, "share"),
        (
            {
                "minutes": {
                    "gp": -1,
                    "nurse": 1,
                    "pharmacist": 1,
                    "mental_health": 1,
                    "allied_health": 1,
                }
            },
            "minutes",
        ),
        ({"face_to_face": dict.fromkeys(ROLES[:-1], 0.0)}, "no appointment uses a room"),
        ({"face_to_face": dict.fromkeys(ROLES[:-1], 1.5)}, "<= 1"),
    ],
)
def test_service_mix_rejects_bad_values(kwargs, match):
    with pytest.raises(ValueRangeError, match=match):
        ServiceMix(**kwargs)


def test_staffing_follows_capacity_not_demand():
    over = staffing_for_capacity([1000.0, 1000.0], load=[2800.0, 400.0])
    assert over["gp"].tolist() == pytest.approx([1000 * 0.4 / 125, 400 * 0.4 / 125])
    full = staffing_for_capacity(2592.0)
    assert full.iloc[0]["gp"] == pytest.approx(2592 * 0.4 / 125)
    with pytest.raises(ValueRangeError, match="one value per centre"):
        staffing_for_capacity([1.0, 2.0], load=[1.0, 2.0, 3.0])


# --------------------------------------------------------------------------- the Plan's figures


def test_suggested_centres_shares_the_national_targets_by_population():
    england = suggested_centres(ENGLAND_POPULATION_2021, 2030)
    assert england.centres == 120
    assert england.population_share == pytest.approx(1.0)
    assert suggested_centres(ENGLAND_POPULATION_2021, 2035).centres == 250
    # halfway between the targets: 185 nationally
    assert suggested_centres(ENGLAND_POPULATION_2021, 2033, start_year=2026).national == (
        pytest.approx(120 + 3 * 130 / 5)
    )
    leeds = suggested_centres(812_000, 2030)  # Leeds, Census 2021 (rounded)
    assert leeds.exact == pytest.approx(120 * 812_000 / 56_490_048)
    assert leeds.centres == 2
    assert leeds.horizon_years == 5
    assert "Census 2021" in leeds.note
    tiny = suggested_centres(40_000, 2030)  # Rutland: at least one
    assert tiny.centres == 1


def test_suggested_centres_before_2030_grows_from_zero():
    s = suggested_centres(ENGLAND_POPULATION_2021, 2027, start_year=2026)
    assert s.national == pytest.approx(120 * 2 / 5)  # 0 in 2025, 120 in 2030
    with pytest.raises(ValueRangeError, match="year"):
        suggested_centres(1000, 2020)
    with pytest.raises(ValueRangeError, match="population"):
        suggested_centres(-1, 2030)


# --------------------------------------------------------------------------- unmet demand


def _areas():
    return pd.DataFrame(
        {
            "area_code": ["A", "B", "C", "D"],
            "la_code": ["L1", "L1", "L2", "L2"],
            "la_name": ["One", "One", "Two", "Two"],
            "population": [100.0, 100.0, 100.0, 100.0],
            "imd_decile": [1, 1, 5, 10],
            "hle_years": [50.0, 60.0, 65.0, 70.0],
        }
    )


def test_unmet_tables_by_hand():
    t = unmet_demand_tables(_areas(), [4.0, 0.0, 1.0, 0.0], demand=[10.0, 10.0, 10.0, 20.0])
    assert t.total == pytest.approx(5.0)
    assert t.by_area["unmet_share"].tolist() == pytest.approx([0.4, 0.0, 0.1, 0.0])
    dec = t.by_imd_decile.set_index("imd_decile")
    assert dec.loc[1, "unmet"] == pytest.approx(4.0)
    assert dec.loc[1, "unmet_share"] == pytest.approx(0.2)
    assert dec.loc[1, "areas_with_unmet"] == 1
    la = t.by_authority.set_index("la_code")
    assert la.loc["L2", "unmet"] == pytest.approx(1.0)
    assert la.loc["L2", "la_name"] == "Two"
    assert la.loc["L2", "demand"] == pytest.approx(30.0)
    hle = t.by_hle_quintile.set_index("hle_quintile")
    assert hle["unmet"].sum() == pytest.approx(5.0)
    assert hle.loc[1, "unmet"] == pytest.approx(4.0)  # lowest HLE fifth holds area A


def test_unmet_tables_check_their_inputs():
    with pytest.raises(ValueRangeError, match="one unmet and one demand value per area"):
        unmet_demand_tables(_areas(), [1.0], demand=[1.0, 1.0, 1.0, 1.0])
    with pytest.raises(ValueRangeError, match="at most the area's demand"):
        unmet_demand_tables(_areas(), [5.0, 0, 0, 0], demand=[1.0, 1.0, 1.0, 1.0])
    with pytest.raises(MissingColumnError, match="la_code"):
        unmet_demand_tables(_areas().drop(columns="la_code"), [0.0] * 4, demand=[1.0] * 4)
