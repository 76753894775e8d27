"""Tests for nhc_planner.sources.imd_health (IoD2025 health domain and indicators)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nhc_planner._errors import DuplicateKeyError, MissingColumnError, ValueRangeError
from nhc_planner.sources.imd_health import indicator_deciles, read_imd_health
from nhc_planner.testing import require_fixture

SMALL = Path(__file__).parent / "data_small" / "imd2025_health_file7_file8.csv"


def _write(frame: pd.DataFrame, tmp_path: Path) -> Path:
    path = tmp_path / "health.csv"
    frame.to_csv(path, index=False)
    return path


def test_reads_official_columns_with_hand_checked_deciles() -> None:
    out = read_imd_health(SMALL)
    assert out["area_code"].tolist() == [f"X0100000{k}" for k in range(1, 5)]
    assert out["imd_health_decile"].tolist() == [1.0, 3.0, 7.0, 10.0]
    assert out["imd_health_score"].tolist() == [1.25, 0.3, -0.4, -1.1]
    for term in ("yll", "cidr", "acute_morbidity", "mental_health"):
        assert out[f"{term}_decile"].tolist() == [3.0, 5.0, 8.0, 10.0]
    assert out.attrs["code_year"] == 2021
    assert any("not national" in n for n in out.attrs["notes"])


def test_indicator_deciles_ties_share_the_higher_need_decile() -> None:
    assert indicator_deciles(np.array([5.0, 5.0, 1.0, 0.0])).tolist() == [3, 3, 8, 10]
    assert indicator_deciles(np.zeros(0)).tolist() == []


def test_domain_only_and_indicators_only(tmp_path: Path) -> None:
    raw = pd.read_csv(SMALL, dtype=str)
    domain = read_imd_health(_write(raw.iloc[:, :5], tmp_path))
    assert "cidr_decile" not in domain
    assert "imd_health_decile" in domain
    ind = read_imd_health(_write(raw.drop(columns=raw.columns[2:5]), tmp_path))
    assert "imd_health_decile" not in ind
    assert "cidr_decile" in ind


def test_bad_inputs(tmp_path: Path) -> None:
    raw = pd.read_csv(SMALL, dtype=str)
    with pytest.raises(MissingColumnError, match="neither the Health"):
        read_imd_health(_write(raw.iloc[:, :2], tmp_path))
    with pytest.raises(MissingColumnError, match="LSOA code"):
        read_imd_health(_write(raw.drop(columns=raw.columns[0]), tmp_path))
    with pytest.raises(DuplicateKeyError):
        read_imd_health(_write(pd.concat([raw, raw.iloc[[1]]]), tmp_path))
    bad = raw.copy()
    bad.iloc[2, 4] = "11"
    with pytest.raises(ValueRangeError):
        read_imd_health(_write(bad, tmp_path))
    bad = raw.copy()
    bad.iloc[2, 6] = "high"
    with pytest.raises(ValueRangeError, match="must hold numbers"):
        read_imd_health(_write(bad, tmp_path))


def test_real_national_indicators_and_leeds_domain() -> None:
    national = read_imd_health(require_fixture("national/imd2025_england_lsoa21_indicators.csv"))
    assert len(national) == 33_755
    assert not national.attrs["notes"]  # deciles are national
    counts = national["cidr_decile"].value_counts()
    assert counts.min() > 3000
    assert counts.max() < 3500
    leeds = read_imd_health(require_fixture("tables/leeds_imd2025_england_lsoa21.csv"))
    assert leeds["imd_health_decile"].between(1, 10).all()
