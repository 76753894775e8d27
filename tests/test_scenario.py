"""Tests of nhc_planner.scenario: defaults, validation messages, TOML round trip."""

from __future__ import annotations

import tomllib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nhc_planner._errors import NhcInputError, ScenarioError
from nhc_planner.scenario import (
    CapacitySettings,
    PhasingSettings,
    PolicySettings,
    Scenario,
    SizeSpec,
    TravelSettings,
    describe,
)


def test_defaults_are_documented_values():
    s = Scenario()
    assert s.travel.mode == "drive"
    assert s.travel.standard_min == 15.0
    assert s.travel.cutoff_min == 60.0
    assert s.travel.network is None
    assert s.capacity.hours_per_day == 12.0
    assert s.capacity.days_per_week == 6
    assert s.phasing.total_centres == 10
    assert s.policy.objective == "weighted"
    assert s.solver.threads == 1


def test_frozen_and_hashable():
    s = Scenario()
    # hashable, so apps can key caches on a scenario or one of its parts
    assert hash(s) == hash(Scenario())
    assert hash(s.travel) != hash(s.travel.replace(standard_min=20.0))
    with pytest.raises(AttributeError):
        s.name = "x"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        s.travel.mode = "walk"  # type: ignore[misc]


def test_toml_round_trip_full(tmp_path):
    s = Scenario(
        name="Walk 20",
        description="a test",
        travel=TravelSettings(mode="walk", standard_min=20, cutoff_min=45, network="demo"),
        capacity=CapacitySettings(
            sizes=(SizeSpec(name="s", rooms=6, capex_gbp=1e6, annual_cost_gbp=2e5),),
            assumptions=(("centre_share", 0.4),),
            constrain=True,
        ),
        phasing=PhasingSettings(years=3, new_per_year=None, budget_per_year_gbp=5e6),
        policy=PolicySettings(keep=("A",), exclude=("B", "C"), equity_floor=0.8),
    )
    path = s.to_toml(tmp_path / "s.toml")
    back = Scenario.from_toml(path)
    assert back == s
    assert back.content_hash() == s.content_hash()
    assert back.to_toml_string() == s.to_toml_string()
    # None values are omitted from the TOML
    data = tomllib.loads(path.read_text())
    assert "network" not in Scenario().to_dict()["travel"]
    assert data["travel"]["network"] == "demo"


def test_partial_toml_takes_defaults():
    s = Scenario.from_toml_string("[phasing]\nyears = 2\n[travel]\nstandard_min = 20\n")
    assert s.phasing.years == 2
    assert s.travel.standard_min == 20.0
    assert isinstance(s.travel.standard_min, float)
    assert s.need == Scenario().need


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("[phasing]\nyears = 0\n", ["phasing.years", "1..30", "0"]),
        ("[phasing]\nyears = 2.5\n", ["phasing.years", "integer", "2.5"]),
        ('[phasing]\nyears = "five"\n', ["phasing.years", "'five'", "string"]),
        ('[travel]\nmode = "bus"\n', ["travel.mode", "drive", "'bus'"]),
        ("[travel]\nstandard_min = -5\n", ["travel.standard_min", "1..180", "-5"]),
        ("[travel]\nstandard_min = 30\ncutoff_min = 20\n", ["travel.cutoff_min", "30"]),
        ("[need]\nhle_weight = true\n", ["need.hle_weight", "number", "True"]),
        ("[policy]\nequity_floor = 1.5\n", ["policy.equity_floor", "0..1", "1.5"]),
        ('[policy]\nobjective = "minmax"\n', ["policy.objective", "maxmin", "'minmax'"]),
        ('[policy]\nkeep = "A"\n', ["policy.keep", "list of strings"]),
        ('[policy]\nkeep = ["A"]\nexclude = ["A"]\n', ["policy.keep", "'A'"]),
        ("[phasing]\nbudget_per_year_gbp = 1e6\nnew_per_year = 2\n", ["phasing", "not both"]),
        ("[solver]\nthreads = 0\n", ["solver.threads", "1..256"]),
        ("[capacity]\nsizes = [{name = 'x', rooms = 0}]\n", ["rooms", "1..500", "0"]),
        (
            "[capacity]\nassumptions = {centre_share = -1}\n",
            ["capacity.assumptions.centre_share", "-1"],
        ),
        (
            "[capacity]\nassumptions = {centre_shar = 1}\n",
            ["centre_shar", "did you mean 'centre_share'"],
        ),
        ("travel = 3\n", ["travel", "table", "3"]),
    ],
)
def test_bad_values_name_key_range_and_found(text, fragments):
    with pytest.raises(ScenarioError) as info:
        Scenario.from_toml_string(text)
    for frag in fragments:
        assert frag in str(info.value), (frag, str(info.value))


@pytest.mark.parametrize(
    ("text", "key", "suggestion"),
    [
        ("[phasing]\nyeras = 3\n", "phasing.yeras", "phasing.years"),
        ("[travel]\nstandard_mins = 3\n", "travel.standard_mins", "travel.standard_min"),
        ("[solvr]\nseed = 1\n", "solvr", "solver"),
        ("[policy]\nzzz = 1\n", "policy.zzz", "allowed keys"),
    ],
)
def test_unknown_keys_suggest(text, key, suggestion):
    with pytest.raises(ScenarioError) as info:
        Scenario.from_toml_string(text)
    assert f"'{key}'" in str(info.value)
    assert suggestion in str(info.value)


def test_errors_are_value_errors_and_name_the_file(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text("[phasing]\nyears = 99\n")
    with pytest.raises(NhcInputError, match=r"bad\.toml: phasing\.years"):
        Scenario.from_toml(p)
    with pytest.raises(ValueError, match="not found"):
        Scenario.from_toml(tmp_path / "missing.toml")
    p.write_text("[phasing\n")
    with pytest.raises(ScenarioError, match="not valid TOML"):
        Scenario.from_toml(p)


def test_replace_dotted_and_sections():
    s = Scenario()
    s2 = s.replace(**{"phasing.years": 3, "phasing.new_per_year": 1, "name": "x"})
    assert (s2.phasing.years, s2.phasing.new_per_year, s2.name) == (3, 1, "x")
    assert s.phasing.years == 5  # original untouched
    s3 = s.replace(travel=TravelSettings(mode="cycle"))
    assert s3.travel.mode == "cycle"
    with pytest.raises(ScenarioError, match=r"did you mean 'travel\.standard_min'"):
        s.replace(**{"travel.standard_mn": 3})
    with pytest.raises(ScenarioError, match=r"phasing\.years"):
        s.replace(**{"phasing.years": -1})
    # switch from centres per year to a budget in one call
    s4 = s.replace(**{"phasing.new_per_year": None, "phasing.budget_per_year_gbp": 2e6})
    assert s4.phasing.total_centres is None
    assert s4.phasing.per_year() is None


def test_per_year_and_total():
    assert PhasingSettings(years=3, new_per_year=2).per_year() == (2, 2, 2)
    assert PhasingSettings(years=4, new_per_year=3, total_new=7).per_year() == (3, 3, 1, 0)
    with pytest.raises(ScenarioError, match=r"phasing.total_new: at most .* = 6; found 7"):
        PhasingSettings(years=3, new_per_year=2, total_new=7)


def test_describe_covers_every_field():
    rows = describe()
    keys = [r["key"] for r in rows]
    assert len(keys) == len(set(keys))
    assert "travel.standard_min" in keys
    assert all(r["doc"] for r in rows)
    d = Scenario().to_dict()
    for section, values in d.items():
        if isinstance(values, dict):
            for k in values:
                assert f"{section}.{k}" in keys


@settings(max_examples=40, deadline=None)
@given(
    years=st.integers(1, 30),
    per_year=st.integers(0, 50),
    std=st.floats(1, 180),
    w=st.floats(0, 10),
    mode=st.sampled_from(["drive", "walk", "cycle"]),
    keep=st.lists(st.text(min_size=1, max_size=5), max_size=3, unique=True),
)
def test_round_trip_property(years, per_year, std, w, mode, keep):
    s = Scenario().replace(
        **{
            "phasing.years": years,
            "phasing.new_per_year": per_year,
            "travel.standard_min": std,
            "travel.cutoff_min": max(std, 60.0),
            "travel.mode": mode,
            "need.deprivation_weight": w,
            "policy.keep": tuple(keep),
        }
    )
    assert Scenario.from_toml_string(s.to_toml_string()) == s


def test_example_scenarios_are_valid():
    from pathlib import Path

    examples = Path(__file__).resolve().parents[1] / "examples"
    s = Scenario.from_toml(examples / "scenario.toml")
    assert s.travel.standard_min == 15.0
    assert s.phasing.total_centres == 10
    assert Scenario.from_toml(examples / "walk.toml").travel.mode == "walk"


# --------------------------------------------------------------------------- [neighbourhoods]


def test_neighbourhood_settings_defaults_and_round_trip() -> None:
    from nhc_planner.scenario import NeighbourhoodSettings

    s = Scenario()
    assert s.neighbourhoods == NeighbourhoodSettings()
    nb = s.neighbourhoods
    assert (nb.min_pop, nb.max_pop, nb.nest, nb.file, nb.hubs, nb.hubs_by_year, nb.order) == (
        30_000.0,
        50_000.0,
        "la",
        None,
        None,
        None,
        "hle",
    )
    assert s.policy.model == "neighbourhoods"
    s2 = s.replace(
        **{
            "neighbourhoods.nest": "pcn_code",
            "neighbourhoods.hubs": 6,
            "neighbourhoods.hubs_by_year": 4,
            "neighbourhoods.file": "ours.csv",
            "neighbourhoods.order": "need",
        }
    )
    assert Scenario.from_toml_string(s2.to_toml_string()) == s2
    assert "[neighbourhoods]" in s2.to_toml_string()
    keys = {r["key"] for r in describe()}
    assert {"neighbourhoods.min_pop", "neighbourhoods.hubs_by_year"} <= keys


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"neighbourhoods.min_pop": 60_000}, "min_pop .60,000. must not exceed max_pop"),
        ({"neighbourhoods.hubs_by_year": 3}, "needs neighbourhoods.hubs"),
        ({"neighbourhoods.order": "size"}, "neighbourhoods.order: expected one of"),
        ({"neighbourhoods.hubs": 0}, "neighbourhoods.hubs: expected"),
        ({"neighbourhoods.nest": " "}, "neighbourhoods.nest"),
    ],
)
def test_neighbourhood_settings_validation(changes: dict, match: str) -> None:
    with pytest.raises(ScenarioError, match=match):
        Scenario().replace(**changes)


def test_unknown_neighbourhood_key_is_named() -> None:
    with pytest.raises(ScenarioError, match=r"neighbourhoods\.max_pops"):
        Scenario.from_dict({"neighbourhoods": {"max_pops": 3}})
