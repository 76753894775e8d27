"""Tests for nhc_planner._format: words and numbers for people."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nhc_planner._format import (
    describe_alternative,
    format_need,
    is_tie,
    site_labels,
    source_label,
)


def test_need_is_in_plain_words():
    assert format_need(1234.4) == "1,234 need-weighted residents"
    assert "units of need" not in describe_alternative("X", 10.0)
    assert "units of need" not in describe_alternative("X", -10.0)


@pytest.mark.parametrize("loss", [0.0, -0.0, -7.27596e-12, 3e-13])
def test_ties_are_said_as_ties_one_way(loss):
    text = describe_alternative("Elm Library", loss, scale=5.4e6)
    assert text == "Elm Library (a tie: it would reach exactly as much need)"


def test_small_real_differences_are_not_ties():
    assert "would leave 2 need-weighted residents" in describe_alternative("X", 2.0, scale=5e6)
    assert "would reach 2 more need-weighted residents" in describe_alternative(
        "X", -2.0, scale=5e6
    )


@given(st.floats(min_value=-1e12, max_value=1e12), st.floats(min_value=0, max_value=1e12))
def test_is_tie_is_symmetric_and_relative(value, scale):
    assert is_tie(value, scale) == is_tie(-value, scale)
    assert is_tie(0.0, scale)
    if abs(value) > 1e-9 * max(scale, 1.0):
        assert not is_tie(value, scale)


def test_sites_sharing_a_name_are_told_apart():
    sites = pd.DataFrame(
        {
            "site_id": ["P1", "P2", "P3", "L1", "L2", "G1"],
            "name": ["Boots", "Boots", "Boots", "Leisure Centre", "Leisure Centre", "Elm Surgery"],
            "kind": ["pharmacy"] * 3 + ["community_building"] * 2 + ["gp_practice"],
            "postcode": ["LS1 1AA", "LS2 2BB", "LS2 2BB", "LS9 9ZZ", None, "LS3 3CC"],
        },
        index=[10, 11, 12, 13, 14, 15],
    )
    labels = site_labels(sites)
    assert labels.index.tolist() == sites.index.tolist()
    assert labels.is_unique
    assert labels[10] == "Boots (pharmacy, LS1 1AA)"
    assert labels[11] == "Boots (pharmacy, LS2 2BB, P2)"  # same postcode: the id too
    assert labels[13] == "Leisure Centre (community building, LS9 9ZZ)"
    assert labels[14] == "Leisure Centre (community building)"
    assert labels[15] == "Elm Surgery"  # unique names are kept as they are


def test_sites_without_postcodes_fall_back_to_kind_and_id():
    sites = pd.DataFrame(
        {"site_id": ["A", "B"], "name": ["Demo Leisure Centre"] * 2, "kind": ["other"] * 2}
    )
    assert site_labels(sites).tolist() == [
        "Demo Leisure Centre (site, A)",
        "Demo Leisure Centre (site, B)",
    ]


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("lsoa_icb", "LSOA to ICB lookup"),
        ("lsoa_la", "LSOA to local authority lookup"),
        ("sites_gp_practice", "Sites: GP practices"),
        ("hle", "Healthy life expectancy"),
        ("msoa_names", "MSOA names"),
        ("something_new", "Something new"),
    ],
)
def test_source_labels_are_readable(key, expected):
    assert source_label(key) == expected
