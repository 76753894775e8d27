"""Census 2021 TS045 car or van availability reader (sources/cars.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nhc_planner._errors import DuplicateKeyError, MissingColumnError, ValueRangeError
from nhc_planner.sources import registry
from nhc_planner.sources.cars import no_car_share, read_car_availability

P = "Number of cars or vans: "
WIDE_HEADER = (
    f'date,geography,geography code,"{P}Total: All households",'
    f'"{P}No cars or vans in household","{P}1 car or van in household",'
    f'"{P}2 cars or vans in household","{P}3 or more cars or vans in household"\n'
)
LONG_HEADER = (
    "Lower layer Super Output Areas Code,Lower layer Super Output Areas,"
    "Car or van availability (5 categories) Code,Car or van availability (5 categories),"
    "Observation\n"
)
CATS = [
    (-8, "Does not apply"),
    (0, "No cars or vans in household"),
    (1, "1 car or van in household"),
    (2, "2 cars or vans in household"),
    (3, "3 or more cars or vans in household"),
]


def _write(tmp_path: Path, text: str, name: str = "ts045.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _long_rows(code: str, counts: list[int]) -> str:
    return "".join(
        f"{code},Name,{c},{label},{n}\n" for (c, label), n in zip(CATS, counts, strict=True)
    )


def test_nomis_bulk_wide_with_thousands_separators(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        WIDE_HEADER
        + '2021,Leeds 001A,E01011229,"1,204",300,500,304,100\n'
        + "2021,Leeds 001B,E01011230,600,60,300,200,40\n",
    )
    out = read_car_availability(path)
    assert out["area_code"].tolist() == ["E01011229", "E01011230"]
    assert out["households"].tolist() == [1204.0, 600.0]
    assert out["households_no_car"].tolist() == [300.0, 60.0]
    assert out.attrs["code_year"] == 2021
    assert no_car_share(out).tolist() == pytest.approx([300 / 1204, 0.1])


def test_ons_custom_long_form(tmp_path: Path) -> None:
    # "Does not apply" (-8) is not a household; households = sum of categories 0..3
    text = LONG_HEADER + _long_rows("E01000001", [5, 100, 200, 150, 50])
    text += _long_rows("E01000002", [0, 10, 20, 30, 40])
    out = read_car_availability(_write(tmp_path, text))
    assert out.set_index("area_code")["households"].to_dict() == {
        "E01000001": 500.0,
        "E01000002": 100.0,
    }
    assert out.set_index("area_code")["households_no_car"].to_dict() == {
        "E01000001": 100.0,
        "E01000002": 10.0,
    }


def test_nomis_api_long_form_with_total_category(tmp_path: Path) -> None:
    text = "GEOGRAPHY_CODE,C2021_CARS_5,C2021_CARS_5_NAME,OBS_VALUE\n"
    names = ["Total: All households", "No cars or vans in household", "1 car or van in household"]
    for code in ("E01000001",):
        for k, (name, n) in enumerate(zip(names, [300, 90, 210], strict=True)):
            text += f"{code},{k},{name},{n}\n"
    out = read_car_availability(_write(tmp_path, text))
    assert out["households"].tolist() == [300.0]
    assert out["households_no_car"].tolist() == [90.0]


def test_missing_column_is_named(tmp_path: Path) -> None:
    text = f'geography code,"{P}Total: All households"\nE01000001,10\n'
    with pytest.raises(MissingColumnError, match=r"no cars? or van"):
        read_car_availability(_write(tmp_path, text))


def test_duplicate_area(tmp_path: Path) -> None:
    row = "2021,A,E01000001,10,1,5,3,1\n"
    with pytest.raises(DuplicateKeyError, match="E01000001"):
        read_car_availability(_write(tmp_path, WIDE_HEADER + row + row))


def test_duplicate_area_and_category_in_long_form(tmp_path: Path) -> None:
    text = LONG_HEADER + _long_rows("E01000001", [0, 1, 2, 3, 4]) + "E01000001,N,0,No cars,5\n"
    with pytest.raises(DuplicateKeyError, match="E01000001"):
        read_car_availability(_write(tmp_path, text))


def test_negative_counts(tmp_path: Path) -> None:
    with pytest.raises(ValueRangeError, match=">= 0"):
        read_car_availability(_write(tmp_path, WIDE_HEADER + "2021,A,E01000001,10,-1,5,5,1\n"))


def test_more_without_a_car_than_households(tmp_path: Path) -> None:
    with pytest.raises(ValueRangeError, match="cannot exceed"):
        read_car_availability(_write(tmp_path, WIDE_HEADER + "2021,A,E01000001,10,11,0,0,0\n"))


def test_codes_that_are_not_lsoas(tmp_path: Path) -> None:
    with pytest.raises(ValueRangeError, match="E02000001"):
        read_car_availability(_write(tmp_path, WIDE_HEADER + "2021,A,E02000001,10,1,5,3,1\n"))


def test_not_numbers(tmp_path: Path) -> None:
    with pytest.raises(ValueRangeError, match="numeric"):
        read_car_availability(_write(tmp_path, WIDE_HEADER + "2021,A,E01000001,ten,1,5,3,1\n"))


def test_2011_codes_are_flagged_for_the_lookup(tmp_path: Path) -> None:
    text = "LSOA11CD,All households,No cars or vans in household\nE01000001,10,2\n"
    assert read_car_availability(_write(tmp_path, text)).attrs["code_year"] == 2011


def test_no_car_share_needs_the_columns() -> None:
    with pytest.raises(MissingColumnError, match="car_availability"):
        no_car_share(pd.DataFrame({"area_code": ["A"]}))
    share = no_car_share(
        pd.DataFrame({"households": [0.0, 10.0, np.nan], "households_no_car": [0.0, 4.0, 1.0]})
    )
    assert share[:2].tolist() == [0.0, 0.4]
    assert np.isnan(share[2])


def test_declared_once_as_a_source() -> None:
    source = registry.get_source("car_availability")
    assert source.adds == ("households", "households_no_car")
    assert source.additive
    assert source.demo_writer is not None
    assert source.download is not None
    assert "TS045" in source.download.title


def test_demo_region_has_households_without_a_car() -> None:
    from nhc_planner.demo import demo_region

    areas = demo_region().areas
    share = no_car_share(areas)
    assert np.isfinite(share).all()
    assert 0.0 < share.mean() < 0.4
    # the gradient by deprivation: more households without a car in decile 1 than 10
    by_decile = pd.Series(share).groupby(areas["imd_decile"].to_numpy()).mean()
    assert by_decile.loc[1] > by_decile.loc[10]


def test_nomis_api_codes_without_names(tmp_path: Path) -> None:
    # NM_2063_1: C2021_CARS_5 0 = Total: All households, 1 = No cars or vans, 2.. = cars
    text = "GEOGRAPHY_CODE,C2021_CARS_5,OBS_VALUE\n"
    text += "".join(f"E01000001,{k},{n}\n" for k, n in enumerate([300, 90, 150, 50, 10]))
    out = read_car_availability(_write(tmp_path, text))
    assert (out["households"].tolist(), out["households_no_car"].tolist()) == ([300.0], [90.0])
