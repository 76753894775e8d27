"""Tests for nhc_planner.sources.imd."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nhc_planner._errors import (
    DuplicateKeyError,
    EmptyInputError,
    MissingColumnError,
    ValueRangeError,
)
from nhc_planner.sources.imd import IMD_COLUMNS, read_imd
from nhc_planner.testing import require_fixture

DATA_SMALL = Path(__file__).parent / "data_small"

FILE1_HEADER = (
    "LSOA code (2011),LSOA name (2011),Local Authority District code (2019),"
    "Local Authority District name (2019),Index of Multiple Deprivation (IMD) Rank,"
    "Index of Multiple Deprivation (IMD) Decile"
)
FILE7_2025_HEADER = (
    "LSOA code (2021),LSOA name (2021),Index of Multiple Deprivation (IMD) Score,"
    "Index of Multiple Deprivation (IMD) Rank (where 1 is most deprived),"
    "Index of Multiple Deprivation (IMD) Decile (where 1 is most deprived 10% of LSOAs)"
)


def test_file1_layout_ranks_only_with_thousands_separators() -> None:
    imd = read_imd(DATA_SMALL / "imd_file1_style.csv")
    assert list(imd.columns) == list(IMD_COLUMNS)
    assert imd["imd_rank"].tolist() == [1200.0, 8000.0, 20500.0]
    assert imd["imd_decile"].tolist() == [1, 3, 7]
    assert imd["imd_score"].isna().all()
    assert imd.attrs["vintage"] == "IoD2019"
    assert imd.attrs["code_year"] == 2011
    assert imd.attrs["has_scores"] is False
    assert any("ranks/deciles only" in n for n in imd.attrs["notes"])


def test_file7_official_2025_layout() -> None:
    imd = read_imd(DATA_SMALL / "imd_file7_style.csv")
    assert imd.attrs["vintage"] == "IoD2025"
    assert imd.attrs["code_year"] == 2021
    assert imd.attrs["has_scores"] is True
    assert imd["imd_score"].tolist() == [45.5, 30.1, 12.0, 4.2]
    assert imd["imd_decile"].dtype.kind == "i"


def test_tidy_layout(tmp_path) -> None:
    p = tmp_path / "tidy.csv"
    p.write_text(
        '"lsoa21_code","IMD_decile","IMD_rank","IMD_score","Income_score"\n'
        '"X01",1,10,50.5,0.3\n"X02",10,33000,1.5,0.01\n'
    )
    imd = read_imd(p)
    assert imd["imd_rank"].tolist() == [10.0, 33000.0]
    assert imd["imd_score"].tolist() == [50.5, 1.5]
    assert imd.attrs["vintage"] == "IoD2025"


def test_overrides(tmp_path) -> None:
    p = tmp_path / "t.csv"
    p.write_text("area_code,imd_rank,imd_decile\nX01,5,1\n")
    imd = read_imd(p, code_year=2011, vintage="IoD2019")
    assert (imd.attrs["code_year"], imd.attrs["vintage"]) == (2011, "IoD2019")


@pytest.mark.parametrize(
    ("text", "error", "match"),
    [
        ("", EmptyInputError, "empty"),
        (FILE1_HEADER + "\n", EmptyInputError, "no data rows"),
        ("LSOA code (2011),IMD Decile\nX01,3\n", MissingColumnError, "IMD rank"),
        ("foo,IMD Rank,IMD Decile\nX01,3,1\n", MissingColumnError, "LSOA code"),
        (FILE1_HEADER + '\nX01,a,X,T,"1,200",1\nX01,b,X,T,"1,300",1\n', DuplicateKeyError, "X01"),
        (FILE1_HEADER + "\nX01,a,X,T,twelve,1\n", ValueRangeError, r"not numeric.*twelve"),
        (FILE1_HEADER + "\nX01,a,X,T,12,11\n", ValueRangeError, "within"),
        (FILE1_HEADER + "\nX01,a,X,T,0,1\n", ValueRangeError, "within"),
        (FILE1_HEADER + "\nX01,a,X,T,,1\n", ValueRangeError, "blank"),
        (FILE7_2025_HEADER + "\nX01,a,high,5,1\n", ValueRangeError, "Score"),
    ],
    ids=[
        "empty",
        "header-only",
        "no-rank",
        "no-code",
        "duplicate",
        "non-numeric",
        "decile-range",
        "rank-range",
        "blank-rank",
        "bad-score",
    ],
)
def test_bad_imd(tmp_path, text: str, error: type[Exception], match: str) -> None:
    p = tmp_path / "imd.csv"
    p.write_text(text)
    with pytest.raises(error, match=match):
        read_imd(p)


# Real files: read each national table once per module.


@pytest.fixture(scope="module")
def imd2019_file1() -> pd.DataFrame:
    return read_imd(
        require_fixture("national", "File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv")
    )


@pytest.fixture(scope="module")
def imd2025() -> pd.DataFrame:
    return read_imd(require_fixture("national", "imd2025_england_lsoa21.csv"))


@pytest.mark.slow
def test_real_file1(imd2019_file1: pd.DataFrame) -> None:
    imd = imd2019_file1
    assert len(imd) == 32_844
    assert imd.attrs["vintage"] == "IoD2019"
    assert not imd.attrs["has_scores"]
    first = imd.set_index("area_code").loc["E01000001"]
    assert first["imd_rank"] == 29_199.0  # quoted "29,199" in the file
    assert first["imd_decile"] == 9
    assert (imd["imd_rank"].min(), imd["imd_rank"].max()) == (1.0, 32_844.0)
    assert imd["imd_decile"].value_counts().between(3_284, 3_285).all()


@pytest.mark.slow
def test_real_file2_agrees_with_file1(imd2019_file1: pd.DataFrame) -> None:
    file2 = read_imd(require_fixture("national", "File_2_-_IoD2019_Domains_of_Deprivation.csv"))
    merged = imd2019_file1.merge(file2, on="area_code", suffixes=("_1", "_2"))
    assert len(merged) == 32_844
    assert np.array_equal(merged["imd_rank_1"], merged["imd_rank_2"])
    assert np.array_equal(merged["imd_decile_1"], merged["imd_decile_2"])


@pytest.mark.slow
def test_real_imd2025(imd2025: pd.DataFrame) -> None:
    assert len(imd2025) == 33_755
    assert imd2025.attrs == imd2025.attrs | {"vintage": "IoD2025", "code_year": 2021}
    assert imd2025.attrs["has_scores"]
    row = imd2025.set_index("area_code").loc["E01000001"]
    assert (row["imd_score"], row["imd_rank"], row["imd_decile"]) == (8.742, 26525.0, 8)
    # Higher score = more deprived = lower rank.
    assert imd2025["imd_score"].corr(imd2025["imd_rank"], method="spearman") < -0.99


# Issue 15: implausible values are refused with a named error.


@pytest.mark.parametrize(
    ("text", "match"),
    [
        # IoD2025 on LSOA 2021 ranks 1..33,755; a rank of 999,999 is not a rank.
        (FILE7_2025_HEADER + "\nX01,a,30.0,999999,1\n", r"1\.\.33,755 for IoD2025"),
        # Decile 1 holds ranks 1..3,375; rank 33,000 is decile 10.
        (FILE7_2025_HEADER + "\nX01,a,30.0,33000,1\n", r"disagree.*X01: rank 33,000, decile 1"),
        # IoD2019 (LSOA 2011) ranks stop at 32,844.
        (FILE1_HEADER + '\nX01,a,X,T,"33,000",10\n', r"1\.\.32,844 for IoD2019"),
        (FILE1_HEADER + '\nX01,a,X,T,"3,290",1\n', r"implies decile 2"),
        (FILE7_2025_HEADER + "\nX01,a,250.0,5,1\n", r"IMD score.*\[0, 100\].*X01: 250"),
    ],
    ids=[
        "rank-999999",
        "decile-1-rank-33000",
        "rank-above-iod2019",
        "decile-off-by-one",
        "score-250",
    ],
)
def test_implausible_imd_is_refused(tmp_path, text: str, match: str) -> None:
    p = tmp_path / "imd.csv"
    p.write_text(text)
    with pytest.raises(ValueRangeError, match=match):
        read_imd(p)


def test_deciles_at_a_boundary_accept_either_side(tmp_path) -> None:
    # 3,284 is the last rank of IoD2019 decile 1 (32,844 / 10 = 3,284.4).
    p = tmp_path / "imd.csv"
    p.write_text(FILE1_HEADER + '\nX01,a,X,T,"3,284",1\nX02,b,X,T,"3,285",2\n')
    assert read_imd(p)["imd_decile"].tolist() == [1, 2]


def test_unknown_code_year_accepts_either_national_count(tmp_path) -> None:
    # "LSOA code" does not say 2011 or 2021: rank 3,300 is decile 1 of IoD2025 and
    # decile 2 of IoD2019; either is accepted.
    p = tmp_path / "imd.csv"
    p.write_text("LSOA code,IMD Rank,IMD Decile\nX01,3300,1\nX02,3300,2\n")
    assert read_imd(p)["imd_decile"].tolist() == [1, 2]
