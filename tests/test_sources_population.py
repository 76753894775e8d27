"""Tests for nhc_planner.sources.population."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nhc_planner._errors import (
    DataFileError,
    DuplicateKeyError,
    EmptyInputError,
    MissingColumnError,
    ValueRangeError,
)
from nhc_planner.schema import AGE_BANDS
from nhc_planner.sources.population import (
    POPULATION_COLUMNS,
    age_band_of,
    read_census_age,
    read_census_total,
    read_iod_denominators,
    read_mid_year,
    read_population,
)
from nhc_planner.testing import require_fixture

DATA_SMALL = Path(__file__).parent / "data_small"


def test_census_total_ignores_footnotes() -> None:
    pop = read_census_total(DATA_SMALL / "census_total.csv")
    assert list(pop.columns) == list(POPULATION_COLUMNS)
    assert pop["population"].tolist() == [1500.0, 1700.0, 1200.0, 2100.0]
    assert pop[list(AGE_BANDS)].isna().all().all()
    assert pop.attrs["code_year"] == 2021
    assert pop.attrs["vintage"] == "Census 2021"
    assert any("non-data" in n for n in pop.attrs["notes"])


def test_census_age_long_form_maps_six_bands() -> None:
    pop = read_census_age(DATA_SMALL / "census_age6.csv")
    row = pop.set_index("area_code").loc["X01000001"]
    assert (row["pop_0_15"], row["pop_16_64"], row["pop_65_plus"]) == (400, 950, 150)
    assert row["population"] == 1500
    np.testing.assert_allclose(pop[list(AGE_BANDS)].sum(axis=1), pop["population"])


@pytest.mark.parametrize(
    ("label", "band"),
    [
        ("Aged 15 years and under", "pop_0_15"),
        ("Aged 4 years and under", "pop_0_15"),
        ("Aged under 16", "pop_0_15"),
        ("Aged 16 to 24 years", "pop_16_64"),
        ("Aged 50 to 64 years", "pop_16_64"),
        ("Aged 65 years and over", "pop_65_plus"),
        ("Aged 85+", "pop_65_plus"),
        ("Total: All usual residents", None),
    ],
)
def test_age_band_of(label: str, band: str | None) -> None:
    assert age_band_of(label) == band


@pytest.mark.parametrize("label", ["Aged 60 to 69 years", "Aged 10 to 19 years", "Adults"])
def test_age_band_of_rejects_straddling_or_unlabelled(label: str) -> None:
    with pytest.raises(ValueRangeError):
        age_band_of(label)


def test_mid_year_wide_by_sex(tmp_path) -> None:
    ages = range(91)
    header = ["LAD 2021 Code", "LSOA 2021 Code", "LSOA 2021 Name", "Total"]
    header += [f"F{a}" for a in ages] + [f"M{a}" for a in ages]
    female = [1.0 if a < 16 else (2.0 if a < 65 else 3.0) for a in ages]
    values = ["X08", "X01", "Synthetic", str(2 * sum(female))] + [str(v) for v in female] * 2
    p = tmp_path / "myes.csv"
    p.write_text(",".join(header) + "\n" + ",".join(values) + "\n")
    pop = read_mid_year(p)
    row = pop.iloc[0]
    assert (row["pop_0_15"], row["pop_16_64"], row["pop_65_plus"]) == (32.0, 196.0, 156.0)
    assert row["population"] == 384.0
    assert pop.attrs["code_year"] == 2021


def test_mid_year_unsexed_with_90_plus(tmp_path) -> None:
    header = ["LSOA Code", "LSOA Name", "All Ages"] + [str(a) for a in range(90)] + ["90+"]
    values = ["X01", "Synthetic", "1,000"] + ["10"] * 90 + ["100"]
    p = tmp_path / "sape.csv"
    p.write_text(",".join(header) + "\n" + ",".join(f'"{v}"' for v in values) + "\n")
    row = read_population(p).iloc[0]
    assert (row["pop_0_15"], row["pop_16_64"], row["pop_65_plus"]) == (160.0, 490.0, 350.0)
    assert row["population"] == 1000.0


def test_iod_denominators_flag_the_60_plus_approximation(tmp_path) -> None:
    p = tmp_path / "f6.csv"
    p.write_text(
        "LSOA code (2011),LSOA name (2011),Total population: mid 2015 (excluding prisoners),"
        "Dependent Children aged 0-15: mid 2015 (excluding prisoners),"
        "Population aged 16-59: mid 2015 (excluding prisoners),"
        "Older population aged 60 and over: mid 2015 (excluding prisoners)\n"
        'X01,Synthetic,"1,300",200,800,300\n'
    )
    pop = read_iod_denominators(p, share_65_of_60_plus=0.5)
    row = pop.iloc[0]
    assert (row["population"], row["pop_0_15"], row["pop_16_64"], row["pop_65_plus"]) == (
        1300.0,
        200.0,
        950.0,
        150.0,
    )
    assert pop.attrs["approximate_age_bands"] is True
    assert pop.attrs["code_year"] == 2011
    assert pop.attrs["vintage"] == "IoD denominators (mid-2015)"
    assert any("APPROXIMATE" in n for n in pop.attrs["notes"])
    # read_population recognises the layout.
    assert read_population(p).attrs["approximate_age_bands"] is True


def test_read_population_dispatch() -> None:
    assert read_population(DATA_SMALL / "census_total.csv")["pop_0_15"].isna().all()
    assert read_population(DATA_SMALL / "census_age6.csv")["pop_0_15"].notna().all()


@pytest.mark.parametrize(
    ("text", "error", "match"),
    [
        ("", EmptyInputError, "empty"),
        ("LSOA21CD,Population\n", EmptyInputError, "no data rows"),
        ("foo,Population\nX01,5\n", MissingColumnError, "LSOA code"),
        ("LSOA21CD,foo\nX01,5\n", MissingColumnError, "population count"),
        ("LSOA21CD,Population\nX01,5\nX01,6\n", DuplicateKeyError, "X01"),
        ("LSOA21CD,Population\nX01,five\n", ValueRangeError, "five"),
        ("LSOA21CD,Population\nX01,-5\n", ValueRangeError, "within"),
        (
            "lsoa21_code,age_group,usual_residents\nX01,Aged 10 to 20 years,5\n",
            ValueRangeError,
            "straddles",
        ),
        (
            "lsoa21_code,age_group,usual_residents\nX01,Aged 65 years and over,5\n"
            "X01,Aged 65 years and over,6\n",
            DuplicateKeyError,
            "X01",
        ),
        (
            "lsoa21_code,age_group,usual_residents\nX01,Aged 65 years and over,5\n",
            ValueRangeError,
            "no residents",
        ),
    ],
    ids=[
        "empty",
        "header-only",
        "no-code",
        "no-count",
        "duplicate",
        "non-numeric",
        "negative",
        "straddling-band",
        "duplicate-band",
        "missing-bands",
    ],
)
def test_bad_population(tmp_path, text: str, error: type[Exception], match: str) -> None:
    p = tmp_path / "pop.csv"
    p.write_text(text)
    with pytest.raises(error, match=match):
        read_population(p)


def test_mid_year_without_age_columns(tmp_path) -> None:
    p = tmp_path / "m.csv"
    p.write_text("LSOA 2021 Code,Total\nX01,5\n")
    with pytest.raises(DataFileError, match="single-year-of-age"):
        read_mid_year(p)


# Real files, read once per module.


@pytest.fixture(scope="module")
def census_total() -> pd.DataFrame:
    return read_census_total(
        require_fixture("national", "census21_lsoa21_usual_residents_total.csv")
    )


@pytest.fixture(scope="module")
def census_age() -> pd.DataFrame:
    return read_census_age(
        require_fixture("national", "census21_lsoa21_usual_residents_by_age6.csv")
    )


@pytest.mark.slow
def test_real_census_total(census_total: pd.DataFrame) -> None:
    assert len(census_total) == 35_672  # E&W LSOA 2021; trailing note rows ignored
    assert census_total["area_code"].str.match(r"^[EW]01\d{6}$").all()
    assert census_total["population"].sum() == pytest.approx(59.6e6, rel=0.01)


@pytest.mark.slow
def test_real_census_age_agrees_with_total(
    census_age: pd.DataFrame, census_total: pd.DataFrame
) -> None:
    assert len(census_age) == 35_672
    merged = census_age.merge(census_total, on="area_code", suffixes=("", "_total"))
    # Two Census outputs with independent small-count perturbation: within 1%.
    rel = (merged["population"] - merged["population_total"]).abs() / merged["population_total"]
    assert rel.max() < 0.01
    assert (census_age["pop_65_plus"] / census_age["population"]).mean() == pytest.approx(
        0.18, abs=0.03
    )


@pytest.mark.slow
def test_real_file6() -> None:
    pop = read_population(
        require_fixture("national", "File_6_-_IoD2019_Population_Denominators.csv")
    )
    assert len(pop) == 32_844
    assert pop.attrs["code_year"] == 2011
    np.testing.assert_allclose(pop[list(AGE_BANDS)].sum(axis=1), pop["population"], atol=1e-6)
    assert pop.set_index("area_code").loc["E01000001", "population"] == 1296.0


def test_census_bulk_wide_single_years(tmp_path) -> None:
    # Census bulk layout (e.g. TS007): "Age: Total", then one column per category.
    labels = ["Age: Aged under 1 year"] + [
        f"Age: Aged {a} year{'s' if a > 1 else ''}" for a in range(1, 100)
    ]
    labels.append("Age: Aged 100 years and over")
    header = ["date", "geography", "geography code", "Age: Total", *labels]
    row = ["2021", "Synthetic 001A", "X01000001", "1010", *(["10"] * 101)]
    p = tmp_path / "ts007.csv"
    p.write_text(",".join(header) + "\n" + ",".join(row) + "\n")
    for reader in (read_population, read_census_age):
        pop = reader(p).iloc[0]
        assert (pop["pop_0_15"], pop["pop_16_64"], pop["pop_65_plus"]) == (160.0, 490.0, 360.0)
        assert pop["population"] == 1010.0


def test_census_bulk_wide_straddling_categories(tmp_path) -> None:
    header = "geography code,Age: Total,Age: Aged 4 years and under,Age: Aged 5 to 9 years,"
    header += "Age: Aged 10 to 14 years,Age: Aged 15 to 19 years\n"
    p = tmp_path / "ts007a.csv"
    p.write_text(header + "X01000001,40,10,10,10,10\n")
    with pytest.raises(ValueRangeError, match=r"Aged 15 to 19 years.*straddles"):
        read_population(p)


def test_census_bulk_total(tmp_path) -> None:
    p = tmp_path / "ts001.csv"
    p.write_text(
        "date,geography,geography code,Residence type: Total; measures: Value,"
        "Residence type: Lives in a household; measures: Value\n"
        "2021,Synthetic 001A,X01000001,1500,1480\n"
    )
    pop = read_population(p)
    assert pop["population"].tolist() == [1500.0]


# Issue 15: populations outside the documented LSOA range are refused.


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("LSOA21CD,Population\nX01,1000000000000\n", r"residents of one LSOA.*X01: 1e\+12"),
        ("LSOA21CD,Population\nX01,1500\nX02,25000\n", r"\[0, 20,000\].*X02: 25,000"),
        (
            "lsoa21_code,age_group,usual_residents\nX01,Aged 15 years and under,99999\n"
            "X01,Aged 16 to 64 years,5\nX01,Aged 65 years and over,5\n",
            r"population.*X01: 100,009",
        ),
    ],
    ids=["1e12", "25000", "age-band"],
)
def test_implausible_population(tmp_path, text: str, match: str) -> None:
    p = tmp_path / "pop.csv"
    p.write_text(text)
    with pytest.raises(ValueRangeError, match=match):
        read_population(p)
