"""Tests of nhc_planner.projections: small-area population in a future year."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nhc_planner._errors import JoinError, ValueRangeError
from nhc_planner.projections import population_by_year, projected_population, projection_years
from nhc_planner.sources.projections import read_snpp

SMALL = Path(__file__).parent / "data_small" / "snpp2022_persons.csv"


def _areas() -> pd.DataFrame:
    """Two areas of X08000001 (one old, one young) and one without age bands."""
    areas = pd.DataFrame(
        {
            "area_code": ["A", "B", "C"],
            "la_code": ["X08000001"] * 3,
            "population": [100.0, 100.0, 50.0],
            "pop_0_15": [10.0, 40.0, np.nan],
            "pop_16_64": [40.0, 60.0, np.nan],
            "pop_65_plus": [50.0, 0.0, np.nan],
        }
    )
    ratios = pd.DataFrame(read_snpp(SMALL))
    return areas.merge(ratios.drop(columns="la_name"), on="la_code", how="left")


def test_apportionment_by_age_structure_by_hand() -> None:
    areas = _areas()
    assert projection_years(areas) == tuple(range(2022, 2031))
    got = projected_population(areas, 2030)  # k = 8: 0-15 x1, 16-64 x1.08, 65+ x1.8
    assert got[0] == pytest.approx(10 + 40 * 1.08 + 50 * 1.8)
    assert got[1] == pytest.approx(40 + 60 * 1.08)
    base = 16 * 100 + 49 * 200 + 26 * 50
    now = 16 * 100 + 49 * 216 + 26 * 90
    assert got[2] == pytest.approx(50 * now / base)  # all-ages growth
    np.testing.assert_allclose(projected_population(areas, 2022), areas["population"])


def test_population_by_year_census_and_projection() -> None:
    areas = _areas()
    census = population_by_year(areas, [2026, 2027])
    assert census.basis == "census"
    np.testing.assert_array_equal(census.population, np.tile(areas["population"], (2, 1)))
    proj = population_by_year(areas, [2026, 2027], basis="projection", vintage="test SNPP")
    assert proj.population.shape == (2, 3)
    assert proj.description.startswith(
        "Population: each year's own projected population, 2026-2027 (test SNPP)"
    )
    need = proj.need(np.array([300.0, 100.0, 0.0]), areas["population"].to_numpy())
    np.testing.assert_allclose(need[1, 0], 3.0 * proj.population[1, 0])


def test_errors_name_the_problem() -> None:
    areas = _areas()
    with pytest.raises(ValueRangeError, match="outside"):
        projected_population(areas, 2035)
    with pytest.raises(ValueRangeError, match="no population projections"):
        projected_population(areas[["area_code", "la_code", "population"]], 2026)
    other = areas.copy()
    other.loc[1, [c for c in other.columns if c.startswith("snpp_")]] = np.nan
    with pytest.raises(JoinError, match="X08000001"):
        projected_population(other, 2026)
    with pytest.raises(ValueRangeError, match="'census' or 'projection'"):
        population_by_year(areas, [2026], basis="mid-year")


def test_demo_region_carries_its_synthetic_projection() -> None:
    from nhc_planner.demo import demo_region

    region = demo_region()
    assert region.meta.synthetic
    years = projection_years(region.areas)
    assert years[0] == 2022
    assert years[-1] == 2047
    pby = population_by_year(region.areas, range(2026, 2031), basis="projection")
    totals = pby.population.sum(axis=1)
    assert (np.diff(totals) > 0).all()  # the synthetic authorities all grow


def _synthetic_snpp_for(areas: pd.DataFrame, path: Path) -> Path:
    """A SYNTHETIC SNPP persons file (official layout) for the authorities of ``areas``:
    mid-2022 = their census bands spread over single years; 65+ grows 2% a year."""
    rows = []
    years = list(range(2022, 2032))
    for la, group in areas.groupby("la_code"):
        bands = group[["pop_0_15", "pop_16_64", "pop_65_plus"]].sum().to_numpy()
        for age in range(91):
            b = 0 if age <= 15 else (1 if age <= 64 else 2)
            width = (16, 49, 26)[b]
            grow = 1.02 if b == 2 else 1.0
            values = [round(bands[b] / width * grow**k, 3) for k in range(len(years))]
            label = "90 and over" if age == 90 else str(age)
            rows.append([la, "x", "Population", "persons", label, *values])
    pd.DataFrame(
        rows, columns=["AREA_CODE", "AREA_NAME", "COMPONENT", "SEX", "AGE_GROUP", *map(str, years)]
    ).to_csv(path, index=False)
    return path


def test_leeds_build_joins_a_projection_and_reproduces_the_authority(tmp_path: Path) -> None:
    from nhc_planner.build import build_region
    from tests.builders import leeds_inputs

    inputs = leeds_inputs(sites=False)
    plain = build_region(inputs, la_codes=["E08000035"])
    path = _synthetic_snpp_for(plain.areas, tmp_path / "snpp.csv")
    region = build_region(
        dataclasses.replace(inputs, population_projection=path), la_codes=["E08000035"]
    )
    assert projection_years(region.areas) == tuple(range(2022, 2032))
    got = projected_population(region.areas, 2031)
    bands = region.areas[["pop_0_15", "pop_16_64", "pop_65_plus"]].sum().to_numpy()
    expected = bands[0] + bands[1] + bands[2] * 1.02**9
    # every Leeds area is in the region: the authority's projection is reproduced (up to
    # the gap between the census total and the sum of its age bands)
    assert got.sum() == pytest.approx(expected, rel=2e-3)
