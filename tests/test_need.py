"""Tests of nhc_planner.need: the need formula and HLE quintiles."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nhc_planner._errors import MissingColumnError, ValueRangeError
from nhc_planner.need import (
    deprivation_factor,
    hle_gap_factor,
    hle_quintiles,
    need_correlation,
    need_score,
    need_terms,
)
from nhc_planner.scenario import NeedWeights


def _areas(**cols):
    base = {
        "population": [1000.0, 2000.0, 1500.0],
        "imd_decile": [1, 5, 10],
        "hle_years": [55.0, 62.0, 71.0],
        "pop_65_plus": [100.0, 400.0, 600.0],
    }
    base.update(cols)
    return pd.DataFrame(base)


def test_formula_by_hand():
    w = NeedWeights(deprivation_weight=2.0, hle_weight=1.0, older_weight=0.5)
    got = need_score(_areas(), w)
    # area 0: D=1, H=(70-55)/20=0.75, A=0.1 -> 1000*(1+2+0.75+0.05)
    # area 1: D=5/9, H=8/20=0.4, A=0.2 -> 2000*(1+10/9+0.4+0.1)
    # area 2: D=0, H=0 (clipped), A=0.4 -> 1500*(1+0.2)
    expected = [1000 * 3.8, 2000 * (1 + 10 / 9 + 0.5), 1500 * 1.2]
    np.testing.assert_allclose(got, expected)


def test_zero_weights_give_population():
    w = NeedWeights(deprivation_weight=0, hle_weight=0, older_weight=0)
    np.testing.assert_allclose(need_score(_areas(), w), [1000, 2000, 1500])


def test_zero_population_area():
    got = need_score(_areas(population=[0.0, 10.0, 10.0], pop_65_plus=[0.0, 1.0, 1.0]))
    assert got[0] == 0.0


def test_errors():
    with pytest.raises(MissingColumnError, match="hle_years"):
        need_score(_areas().drop(columns="hle_years"))
    with pytest.raises(ValueRangeError, match="imd_decile"):
        need_score(_areas(imd_decile=[0, 5, 10]))
    with pytest.raises(ValueRangeError, match="hle_years"):
        need_score(_areas(hle_years=[np.nan, 60.0, 60.0]))


def test_factors():
    assert deprivation_factor(np.arange(1, 11)).tolist()[0] == 1.0
    assert hle_gap_factor(np.array([90.0]), reference=70, span=20).tolist() == [0.0]


def test_quintiles_equal_population():
    hle = np.arange(10, dtype=float)[::-1]
    q = hle_quintiles(hle, np.ones(10))
    assert q.tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]


def test_quintiles_population_weighted():
    # one huge area holds most people: it spans the middle quintiles
    q = hle_quintiles(np.array([50.0, 60.0, 70.0]), np.array([10.0, 1000.0, 10.0]))
    assert q.tolist() == [1, 3, 5]


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(0, 5000),
            st.integers(1, 10),
            st.floats(40, 80),
            st.floats(0, 1),
        ),
        min_size=1,
        max_size=30,
    ),
    st.floats(0, 10),
    st.floats(0, 10),
)
def test_properties(rows, w_dep, w_hle):
    pop = np.array([r[0] for r in rows])
    areas = pd.DataFrame(
        {
            "population": pop,
            "imd_decile": [r[1] for r in rows],
            "hle_years": [r[2] for r in rows],
            "pop_65_plus": pop * np.array([r[3] for r in rows]),
        }
    )
    w = NeedWeights(deprivation_weight=w_dep, hle_weight=w_hle, older_weight=1.0)
    need = need_score(areas, w)
    # need lies between population and population x (1 + sum of weights)
    assert np.all(need >= pop - 1e-9)
    assert np.all(need <= pop * (2 + w_dep + w_hle) + 1e-6)
    q = hle_quintiles(areas["hle_years"].to_numpy(), pop)
    assert set(q.tolist()) <= {1, 2, 3, 4, 5}
    # lower HLE never gets a higher quintile
    order = np.argsort(areas["hle_years"].to_numpy(), kind="stable")
    assert np.all(np.diff(q[order]) >= 0)


def test_hle_quintiles_keep_tied_areas_together() -> None:
    # 10 areas share one HLE (a decile's estimate): before, they were split across fifths
    hle = np.array([58.0] * 10 + [60.0, 62.0, 64.0, 66.0, 68.0])
    q = hle_quintiles(hle, np.ones(hle.size))
    assert len(set(q[:10].tolist())) == 1
    # a higher HLE never falls in a lower fifth
    order = np.argsort(hle, kind="stable")
    assert (np.diff(q[order]) >= 0).all()


@given(
    st.lists(st.sampled_from([55.0, 58.5, 61.0, 63.2, 66.0]), min_size=1, max_size=40),
    st.lists(st.floats(1, 3000), min_size=40, max_size=40),
)
def test_hle_quintiles_ties_and_order_property(hle: list[float], pop: list[float]) -> None:
    h = np.array(hle)
    q = hle_quintiles(h, np.array(pop[: h.size]))
    for value in np.unique(h):
        assert len(set(q[h == value].tolist())) == 1
    assert q.min() >= 1
    assert q.max() <= 5
    order = np.argsort(h, kind="stable")
    assert (np.diff(q[order]) >= 0).all()


# --------------------------------------------------------------------------- sharper need terms


def _health_areas() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "population": [1000.0, 1000.0, 2000.0],
            "imd_decile": [1, 10, 5],
            "hle_years": [50.0, 70.0, 60.0],
            "pop_65_plus": [100.0, 300.0, 200.0],
            "imd_health_decile": [1.0, 10.0, 4.0],
            "cidr_decile": [10.0, 1.0, 10.0],
        }
    )


def test_health_terms_add_to_need_by_hand() -> None:
    areas = _health_areas()
    base = need_score(areas)
    w = NeedWeights(health_weight=0.5, cidr_weight=2.0)
    # health factor (10 - d)/9: 1, 0, 6/9; cidr factor: 0, 1, 0
    expected = base + areas["population"].to_numpy() * np.array([0.5, 2.0, 0.5 * 6 / 9])
    np.testing.assert_allclose(need_score(areas, w), expected)


def test_health_term_in_use_without_its_column_names_the_source() -> None:
    areas = _health_areas().drop(columns="cidr_decile")
    assert need_score(areas).shape == (3,)  # weight 0: not needed
    with pytest.raises(MissingColumnError, match=r"need.cidr_weight.*IoD2025 File 8"):
        need_score(areas, NeedWeights(cidr_weight=1.0))


def test_health_term_with_missing_decile_is_refused() -> None:
    areas = _health_areas()
    areas.loc[1, "imd_health_decile"] = np.nan
    with pytest.raises(ValueRangeError, match="health_domain"):
        need_score(areas, NeedWeights(health_weight=1.0))


def test_need_terms_lists_terms_in_use_or_available() -> None:
    areas = _health_areas()
    assert list(need_terms(areas).columns) == ["deprivation", "hle_gap"]
    every = need_terms(areas, available=True)
    assert list(every.columns) == ["deprivation", "hle_gap", "older", "health_domain", "cidr"]


def test_need_correlation_is_weighted_pearson() -> None:
    areas = _health_areas()
    table = need_correlation(areas, NeedWeights(health_weight=1.0))
    assert table["term"].tolist() == ["deprivation", "hle_gap", "older", "health_domain", "cidr"]
    assert table.loc[table["term"] == "health_domain", "weight"].item() == 1.0
    m = table[table["term"].tolist()].to_numpy(float)
    np.testing.assert_allclose(np.diag(m), 1.0)
    np.testing.assert_allclose(m, m.T)
    # by hand: weighted Pearson of deprivation and health_domain
    w = areas["population"].to_numpy()
    x = (10 - areas["imd_decile"].to_numpy(float)) / 9
    y = (10 - areas["imd_health_decile"].to_numpy(float)) / 9
    xm, ym = w @ x / w.sum(), w @ y / w.sum()
    r = (w @ ((x - xm) * (y - ym))) / np.sqrt((w @ (x - xm) ** 2) * (w @ (y - ym) ** 2))
    assert m[0, 3] == pytest.approx(r)


def test_need_correlation_constant_term_is_nan() -> None:
    areas = _health_areas()
    areas["imd_health_decile"] = 3.0
    table = need_correlation(areas)
    assert np.isnan(table.loc[3, "deprivation"])
    assert np.isnan(table.loc[0, "health_domain"])
