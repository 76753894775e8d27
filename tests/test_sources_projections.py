"""Tests for nhc_planner.sources.projections (ONS SNPP reader)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nhc_planner._errors import (
    DataFileError,
    DuplicateKeyError,
    MissingColumnError,
    ValueRangeError,
)
from nhc_planner.sources.projections import SNPP_COLUMN_RE, read_snpp, snpp_column

SMALL = Path(__file__).parent / "data_small" / "snpp2022_persons.csv"


def _raw() -> pd.DataFrame:
    return pd.read_csv(SMALL, dtype=str)


def _write(frame: pd.DataFrame, tmp_path: Path) -> Path:
    path = tmp_path / "snpp.csv"
    frame.to_csv(path, index=False)
    return path


def test_reads_official_layout_with_hand_checked_ratios() -> None:
    out = read_snpp(SMALL)
    assert out["la_code"].tolist() == ["X08000001"]
    assert out["la_name"].tolist() == ["Synthetic Town"]
    assert out.attrs["base_year"] == 2022
    assert out.attrs["years"] == tuple(range(2022, 2031))
    for k in range(9):
        y = 2022 + k
        assert out[snpp_column(y, "pop_0_15")].iloc[0] == pytest.approx(1.0)
        assert out[snpp_column(y, "pop_16_64")].iloc[0] == pytest.approx(1 + 0.01 * k)
        assert out[snpp_column(y, "pop_65_plus")].iloc[0] == pytest.approx(1 + 0.1 * k)
        base = 16 * 100 + 49 * 200 + 26 * 50
        now = 16 * 100 + 49 * (200 + 2 * k) + 26 * (50 + 5 * k)
        assert out[snpp_column(y, "all")].iloc[0] == pytest.approx(now / base)
    cols = [c for c in out.columns if SNPP_COLUMN_RE.match(c)]
    assert len(cols) == 9 * 4


def test_sex_files_sum_to_persons(tmp_path: Path) -> None:
    raw = _raw()
    female, male = raw.copy(), raw.copy()
    female["SEX"], male["SEX"] = "female", "male"
    path = _write(pd.concat([female, male]), tmp_path)
    persons = read_snpp(path)
    assert persons[snpp_column(2030, "pop_65_plus")].iloc[0] == pytest.approx(1.8)
    assert read_snpp(path, sex="male").attrs["sex"] == "male"
    with pytest.raises(ValueRangeError, match="no rows for sex 'female'"):
        read_snpp(_write(male, tmp_path), sex="female")


def test_components_other_than_population_are_ignored(tmp_path: Path) -> None:
    raw = _raw()
    births = raw.copy()
    births["COMPONENT"] = "Births"
    births[[str(y) for y in range(2022, 2031)]] = "999999"
    out = read_snpp(_write(pd.concat([raw, births]), tmp_path))
    assert out[snpp_column(2022, "all")].iloc[0] == pytest.approx(1.0)
    assert out[snpp_column(2030, "pop_0_15")].iloc[0] == pytest.approx(1.0)


def test_missing_column(tmp_path: Path) -> None:
    with pytest.raises(MissingColumnError, match="AGE_GROUP"):
        read_snpp(_write(_raw().drop(columns="AGE_GROUP"), tmp_path))
    with pytest.raises(MissingColumnError, match="AREA_CODE"):
        read_snpp(_write(_raw().drop(columns="AREA_CODE"), tmp_path))


def test_no_year_columns(tmp_path: Path) -> None:
    raw = _raw()[["AREA_CODE", "AREA_NAME", "COMPONENT", "SEX", "AGE_GROUP"]]
    with pytest.raises(DataFileError, match="no year columns"):
        read_snpp(_write(raw, tmp_path))


def test_duplicate_rows(tmp_path: Path) -> None:
    raw = _raw()
    with pytest.raises(DuplicateKeyError, match="more than once"):
        read_snpp(_write(pd.concat([raw, raw.iloc[[3]]]), tmp_path))


def test_negative_and_non_numeric_counts(tmp_path: Path) -> None:
    raw = _raw()
    raw.loc[5, "2025"] = "-4"
    with pytest.raises(ValueRangeError, match="negative"):
        read_snpp(_write(raw, tmp_path))
    raw.loc[5, "2025"] = "lots"
    with pytest.raises(ValueRangeError, match="must hold numbers"):
        read_snpp(_write(raw, tmp_path))


def test_unknown_age_and_sex_labels(tmp_path: Path) -> None:
    raw = _raw()
    raw.loc[2, "AGE_GROUP"] = "15-19"
    with pytest.raises(ValueRangeError, match="age label '15-19'"):
        read_snpp(_write(raw, tmp_path))
    raw = _raw()
    raw.loc[2, "SEX"] = "other"
    with pytest.raises(ValueRangeError, match="'other'"):
        read_snpp(_write(raw, tmp_path))
    with pytest.raises(ValueRangeError, match="SNPP sex"):
        read_snpp(SMALL, sex="x")


def test_band_without_residents(tmp_path: Path) -> None:
    raw = _raw()
    old = raw["AGE_GROUP"].isin([str(a) for a in range(65, 90)] + ["90 and over"])
    raw.loc[old, "2022"] = "0"
    with pytest.raises(ValueRangeError, match="no residents in band pop_65_plus"):
        read_snpp(_write(raw, tmp_path))


def test_all_ages_mismatch_is_noted(tmp_path: Path) -> None:
    raw = _raw()
    raw.loc[raw["AGE_GROUP"] == "All ages", "2022"] = "1"
    out = read_snpp(_write(raw, tmp_path))
    assert any("All ages" in n for n in out.attrs["notes"])
    assert np.isfinite(out[snpp_column(2022, "all")]).all()
