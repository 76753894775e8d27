"""Tests for nhc_planner.sources.hle."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nhc_planner._errors import DataFileError, JoinError, MissingColumnError, ValueRangeError
from nhc_planner.sources.hle import ONS_HLE_GRADIENT_MALE_2015_17, estimate_area_hle, read_hle
from nhc_planner.testing import require_fixture

DATA_SMALL = Path(__file__).parent / "data_small"
HLE = DATA_SMALL / "hle_fingertips.csv"


def test_latest_period_male() -> None:
    hle = read_hle(HLE, sex="male")
    assert hle.attrs["period"] == "2022 - 24"
    assert hle.set_index("la_code").loc["X08000001", "hle_years"] == 59.0
    assert list(hle.columns) == ["la_code", "la_name", "hle_years"]


def test_mean_of_sexes_for_a_period() -> None:
    hle = read_hle(HLE, period="2021-23", sex="mean").set_index("la_code")
    assert hle.loc["X08000001", "hle_years"] == 59.0
    assert hle.loc["X92000001", "hle_years"] == 62.5
    assert hle.loc["X08000001", "la_name"] == "Synthetic Town"


def test_mean_leaves_out_authorities_missing_a_sex() -> None:
    # 2022-24 has no female value (NA) for X08000001.
    hle = read_hle(HLE, sex="mean")
    assert "X08000001" not in set(hle["la_code"])
    assert any("lack" in n for n in hle.attrs["notes"])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"period": "1999 - 01"}, r"available periods: \['2021 - 23', '2022 - 24'\]"),
        ({"sex": "persons"}, r"available: \['female', 'male'\]"),
        ({"sex": "other"}, "must be one of"),
    ],
)
def test_absent_period_or_sex(kwargs: dict[str, str], match: str) -> None:
    with pytest.raises(ValueRangeError, match=match):
        read_hle(HLE, **kwargs)


def test_raw_fingertips_api_headers(tmp_path) -> None:
    p = tmp_path / "api.csv"
    p.write_text(
        "Indicator ID,Indicator Name,Parent Code,Parent Name,Area Code,Area Name,Area Type,Sex,"
        "Age,Category Type,Category,Time period,Value\n"
        "90362,HLE,X,X,X08000001,Synthetic Town,UA,Persons,All ages,,,2020 - 22,61.5\n"
        "90362,HLE,X,X,X08000001,Synthetic Town,UA,Persons,All ages,IMD decile,1,2020 - 22,50\n"
        "90362,HLE,X,X,X08000001,Synthetic Town,UA,Male,All ages,,,2020 - 22,60.0\n"
    )
    hle = read_hle(p, sex="persons")
    assert hle["hle_years"].tolist() == [61.5]  # breakdown row ignored
    assert hle.attrs["sex"] == "persons"


def test_missing_sex_column(tmp_path) -> None:
    p = tmp_path / "h.csv"
    p.write_text("area_code,period,value\nX1,2020 - 22,60\n")
    with pytest.raises(MissingColumnError, match="inequality"):
        read_hle(p)


def _areas(deciles: list[int], pops: list[float], la: list[str] | None = None) -> pd.DataFrame:
    return pd.DataFrame(
        {"la_code": la or ["A"] * len(deciles), "imd_decile": deciles, "population": pops}
    )


def test_estimate_hand_checked() -> None:
    areas = _areas([1, 3, 7, 10], [1500, 1700, 1200, 2100])
    got = estimate_area_hle(areas, pd.DataFrame({"la_code": ["A"], "hle_years": [59.0]}))
    # Weighted mean of the gradient: (51.7*1500 + 58.8*1700 + 66.5*1200 + 70.4*2100) / 6500.
    shift = 59.0 - 405_150 / 6500
    np.testing.assert_allclose(got, np.array([51.7, 58.8, 66.5, 70.4]) + shift)


def test_estimate_uses_utla_lookup_for_districts() -> None:
    areas = _areas([1, 10, 5], [100, 100, 100], la=["D1", "D2", "U2"])
    la_hle = pd.DataFrame({"la_code": ["U1", "U2"], "hle_years": [60.0, 65.0]})
    with pytest.raises(JoinError, match=r"\['D1', 'D2'\].*LTLA->UTLA"):
        estimate_area_hle(areas, la_hle)
    got = estimate_area_hle(areas, la_hle, ltla_to_utla={"D1": "U1", "D2": "U1"})
    assert got.iloc[:2].mean() == pytest.approx(60.0)
    assert got.iloc[2] == pytest.approx(65.0)


def test_estimate_validates_inputs() -> None:
    la_hle = pd.DataFrame({"la_code": ["A"], "hle_years": [60.0]})
    with pytest.raises(ValueRangeError, match="10 finite values"):
        estimate_area_hle(_areas([1], [1.0]), la_hle, gradient=[1.0, 2.0])
    with pytest.raises(ValueRangeError, match=r"1\.\.10"):
        estimate_area_hle(_areas([0], [1.0]), la_hle)
    with pytest.raises(MissingColumnError, match="population"):
        estimate_area_hle(_areas([1], [1.0]).drop(columns="population"), la_hle)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["A", "B"]),
            st.integers(1, 10),
            st.floats(0, 5000, allow_nan=False),
        ),
        min_size=1,
        max_size=30,
    ),
    st.floats(45, 75),
    st.floats(45, 75),
)
@settings(max_examples=60, deadline=None)
def test_estimate_properties(rows: list[tuple[str, int, float]], ha: float, hb: float) -> None:
    areas = pd.DataFrame(rows, columns=["la_code", "imd_decile", "population"])
    la_hle = pd.DataFrame({"la_code": ["A", "B"], "hle_years": [ha, hb]})
    est = estimate_area_hle(areas, la_hle)
    g = np.asarray(ONS_HLE_GRADIENT_MALE_2015_17)
    for la, target in (("A", ha), ("B", hb)):
        sub = areas["la_code"] == la
        if not sub.any():
            continue
        w = areas.loc[sub, "population"].to_numpy()
        w = w / w.max() if w.max() > 0 else np.ones_like(w)
        # The population-weighted mean equals the published figure ...
        assert np.average(est[sub], weights=w) == pytest.approx(target, abs=1e-9)
        # ... and within an authority, differences follow the gradient exactly.
        d = areas.loc[sub, "imd_decile"].to_numpy()
        np.testing.assert_allclose(est[sub] - g[d - 1], est[sub].iloc[0] - g[d[0] - 1])


@pytest.mark.slow
def test_real_fingertips_export() -> None:
    path = require_fixture("national", "healthy_life_expectancy_at_birth_fingertips_utla.csv")
    male = read_hle(path, sex="male").set_index("la_code")
    assert male.attrs["period"] == "2022 - 24"
    assert male.loc["E08000035", "hle_years"] == 60.4  # Leeds, PROVENANCE.md
    assert male.loc["E92000001", "hle_years"] == pytest.approx(60.9)
    mean = read_hle(path, sex="mean", period="2015 - 17").set_index("la_code")
    assert mean.loc["E06000017", "la_name"] == "Rutland"
    assert 55 < mean["hle_years"].min() < mean["hle_years"].max() < 75


# Issue 15: implausible or damaged HLE files are refused with a named error.

_HLE_HEAD = "area_code,area_name,period,value,inequality\n"


@pytest.mark.parametrize(
    ("text", "error", "match"),
    [
        (
            _HLE_HEAD + "E1,A,2022 - 24,640,Male\nE1,A,2022 - 24,61,Female\n",
            ValueRangeError,
            r"'value' \(healthy life expectancy.*\[40, 85\].*E1 2022 - 24 male: 640",
        ),
        (_HLE_HEAD + "E1,A,2022 - 24,6.1,Male\n", ValueRangeError, r"\[40, 85\]"),
        (_HLE_HEAD + "E1,A,2022 - 24,61,Male\nE1,A,2022 - 2", DataFileError, "cut off mid-row"),
    ],
    ids=["hle-640", "hle-6.1", "cut-mid-row"],
)
def test_implausible_or_cut_hle(tmp_path, text: str, error: type[Exception], match: str) -> None:
    p = tmp_path / "hle.csv"
    p.write_text(text)
    with pytest.raises(error, match=match):
        read_hle(p, sex="male")


# --------------------------------------------------------------------------- HLE gradient files


def test_read_hle_gradient_from_the_ons_figure_csv(tmp_path):
    from nhc_planner.sources.hle import HLE_GRADIENTS, read_hle_gradient

    small = Path(__file__).parent / "data_small" / "ons_hle_by_imd_decile_figure.csv"
    got = read_hle_gradient(small)
    assert got[0] == 51.7182
    assert got[-1] == 70.4463
    assert tuple(round(v, 1) for v in got) == HLE_GRADIENTS["ons_2015_17_male"]
    lines = small.read_text(encoding="utf-8").splitlines()
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")
    with pytest.raises(ValueRangeError, match=r"deciles 1\.\.10"):
        read_hle_gradient(bad)
    bad.write_text("\n".join([*lines[:-1], '"10","1","x"']) + "\n", encoding="utf-8")
    with pytest.raises(ValueRangeError, match="not a number"):
        read_hle_gradient(bad)
    bad.write_text("\n".join([*lines[:-1], '"10","1","99.0"']) + "\n", encoding="utf-8")
    with pytest.raises(ValueRangeError, match="within"):
        read_hle_gradient(bad)
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(DataFileError, match="Decile"):
        read_hle_gradient(bad)


def test_manifest_hle_gradient_by_name_or_file(tmp_path):
    import shutil

    from nhc_planner.build import RegionInputs

    small = Path(__file__).parent / "data_small"
    manifest = tmp_path / "sources.toml"
    base = 'boundaries = "b"\nimd = "i"\npopulation = "p"\nhle = "h"\nlsoa_la = "l"\n'
    shutil.copy(small / "ons_hle_by_imd_decile_figure.csv", tmp_path / "g.csv")
    manifest.write_text(base + 'hle_gradient = "ons_2015_17_male"\n', encoding="utf-8")
    assert RegionInputs.from_toml(manifest).hle_gradient == ONS_HLE_GRADIENT_MALE_2015_17
    manifest.write_text(base + 'hle_gradient = "g.csv"\n', encoding="utf-8")
    assert RegionInputs.from_toml(manifest).hle_gradient[0] == 51.7182
    manifest.write_text(base + 'hle_gradient = "ons_2018_20_male"\n', encoding="utf-8")
    with pytest.raises(DataFileError, match="ons_2015_17_male"):
        RegionInputs.from_toml(manifest)
