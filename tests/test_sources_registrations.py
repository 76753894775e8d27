"""NHS England GP registrations (practice x LSOA x sex): reader, uses and bad inputs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from nhc_planner._errors import (
    DuplicateKeyError,
    EmptyInputError,
    MissingColumnError,
    NhcInputError,
    ValueRangeError,
)
from nhc_planner._synthetic_gp import (
    SYNTHETIC_PUBLICATION,
    synthetic_gp_registrations,
    write_synthetic_gp_registrations,
)
from nhc_planner.sources.registrations import (
    REGISTRATION_COLUMNS,
    practice_catchments,
    practice_list_sizes,
    read_gp_registrations,
    read_gp_registrations_areas,
    registrations_by_area,
)
from tests.builders import SMALL

HEADER = ",".join(REGISTRATION_COLUMNS)
ROW = "GP_PRAC_PAT_LIST,01OCT2025"


def _write(tmp_path: Path, lines: list[str], header: str = HEADER) -> Path:
    path = tmp_path / "gp-reg-pat-prac-lsoa-all.csv"
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path


def test_official_all_file_read_and_summed() -> None:
    t = read_gp_registrations(SMALL / "gp-reg-pat-prac-lsoa-all.csv")
    assert list(t.columns) == ["practice_code", "practice_name", "area_code", "sex", "patients"]
    assert len(t) == 8
    assert set(t["sex"]) == {"ALL"}
    assert t.attrs["extract_date"] == "01OCT2025"
    by_area = registrations_by_area(t).set_index("area_code")["registered_patients"]
    # by hand: X01000001 = 1200 + 450, X01000002 = 900 + 1000; CLOSED is no area
    assert by_area.to_dict() == {
        "W01000999": 15.0,
        "X01000001": 1650.0,
        "X01000002": 1900.0,
        "X01000003": 1300.0,
        "X01000004": 2300.0,
    }
    lists = practice_list_sizes(t).set_index("practice_code")
    assert lists.loc["Z00001", "list_size"] == 1200 + 900 + 15 + 6  # CLOSED counts in the list
    assert lists.loc["Z00001", "areas"] == 3
    assert lists.loc["Z00004", "list_size"] == 5050
    assert any("CLOSED" in n for n in t.attrs["notes"])


def test_male_female_file_and_catchments(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        [
            f"{ROW},A1,ONE,E01000001,MALE,60",
            f"{ROW},A1,ONE,E01000001,FEMALE,40",
            f"{ROW},A1,ONE,E01000002,Male,30",
            f"{ROW},A1,ONE,E01000002,Female,20",
            f"{ROW},B2,TWO,E01000002,MALE,5",
            f"{ROW},B2,TWO,E01000002,FEMALE,5",
        ],
    )
    t = read_gp_registrations(path)
    areas = registrations_by_area(t).set_index("area_code")
    assert areas.loc["E01000001"].tolist() == [100.0, 60.0, 40.0]
    assert areas.loc["E01000002"].tolist() == [60.0, 35.0, 25.0]
    assert practice_list_sizes(t).set_index("practice_code")["list_size"].to_dict() == {
        "A1": 150.0,
        "B2": 10.0,
    }
    c = practice_catchments(t)
    a1 = c[c["practice_code"] == "A1"]
    assert a1["area_code"].tolist() == ["E01000001", "E01000002"]  # largest first
    assert a1["share"].round(4).tolist() == [round(100 / 150, 4), round(50 / 150, 4)]
    assert practice_catchments(t, share=0.6)["area_code"].tolist() == ["E01000001", "E01000002"]
    with pytest.raises(ValueRangeError, match="share"):
        practice_catchments(t, share=0)


def test_wide_variant_and_column_aliases(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        ["A1,ONE,E01000001,10,6,4", "A1,ONE,E01000002,5,2,3"],
        header="ORG_CODE,PRACTICE_NAME,LSOA_2011_CODE,ALL_PATIENTS,MALE_PATIENTS,FEMALE_PATIENTS",
    )
    t = read_gp_registrations(path)
    assert t.attrs["code_year"] == 2011  # the column says so
    assert registrations_by_area(t)["registered_patients"].tolist() == [10.0, 5.0]


def test_code_year_guessed_2021_with_a_note() -> None:
    lookup = pd.DataFrame(
        {"lsoa11_code": ["E01000011", "E01000012"], "lsoa21_code": ["E01000021", "E01000012"]}
    )
    t = read_gp_registrations(SMALL / "gp-reg-pat-prac-lsoa-all.csv", lsoa_lookup=lookup)
    assert t.attrs["code_year"] == 2021  # no code of the file is in only one year
    assert any("read as 2021" in n for n in t.attrs["notes"])


def test_code_year_2011_detected(tmp_path: Path) -> None:
    lookup = pd.DataFrame(
        {"lsoa11_code": ["E01000011", "E01000012"], "lsoa21_code": ["E01000021", "E01000012"]}
    )
    path = _write(tmp_path, [f"{ROW},A1,ONE,E01000011,ALL,10", f"{ROW},A1,ONE,E01000012,ALL,5"])
    t = read_gp_registrations(path, lsoa_lookup=lookup)
    assert t.attrs["code_year"] == 2011
    assert any("2011" in n for n in t.attrs["notes"])


@pytest.mark.parametrize(
    ("lines", "header", "error", "match"),
    [
        (
            [f"{ROW},A1,ONE,E01000001,ALL,10"],
            HEADER.replace("LSOA_CODE", "WHERE"),
            MissingColumnError,
            "LSOA",
        ),
        (
            [f"{ROW},A1,ONE,E01000001,ALL,10"],
            HEADER.replace("PRACTICE_CODE", "X"),
            MissingColumnError,
            "practice",
        ),
        (
            ["GP,01OCT2025,A1,ONE,E01000001,ALL"],
            HEADER.replace(",NUMBER_OF_PATIENTS", ""),
            MissingColumnError,
            "patients",
        ),
        (
            [f"{ROW},A1,ONE,E01000001,ALL,10", f"{ROW},A1,ONE,E01000001,ALL,12"],
            HEADER,
            DuplicateKeyError,
            r"A1 x E01000001 x ALL",
        ),
        (
            [f"{ROW},A1,ONE,E02000001,ALL,10", f"{ROW},A1,ONE,leeds,ALL,1"],
            HEADER,
            ValueRangeError,
            r"2 row\(s\) whose value is no LSOA code.*E02000001",
        ),
        ([f"{ROW},A1,ONE,E01000001,ALL,-3"], HEADER, ValueRangeError, "negative"),
        ([f"{ROW},A1,ONE,E01000001,ALL,many"], HEADER, ValueRangeError, "not numeric"),
        ([f"{ROW},A1,ONE,E01000001,ALL,"], HEADER, ValueRangeError, "blank"),
        ([f"{ROW},A1,ONE,E01000001,BOTH,3"], HEADER, ValueRangeError, "SEX"),
        ([], HEADER, EmptyInputError, "no data rows"),
    ],
)
def test_bad_inputs_have_named_errors(
    tmp_path: Path, lines: list[str], header: str, error: type[Exception], match: str
) -> None:
    path = _write(tmp_path, lines, header=header)
    with pytest.raises(error, match=match) as info:
        read_gp_registrations(path)
    assert isinstance(info.value, NhcInputError)
    assert str(path) in str(info.value) or error is EmptyInputError


def test_rows_outside_the_region_are_no_error() -> None:
    t = read_gp_registrations(SMALL / "gp-reg-pat-prac-lsoa-all.csv")
    assert "W01000999" in set(t["area_code"])  # kept; the build simply does not join it


def test_declared_reader_and_synthetic_file(tmp_path: Path) -> None:
    practices = pd.DataFrame(
        {"site_id": ["P1", "P2"], "name": ["One", "Two"], "x": [0.0, 5000.0], "y": [0.0, 0.0]}
    )
    areas = pd.DataFrame(
        {
            "area_code": ["E01000001", "E01000002", "E01000003"],
            "population": [1000.0, 2000.0, 500.0],
            "demand_x": [0.0, 5000.0, 2500.0],
            "demand_y": [0.0, 0.0, 100.0],
        }
    )
    frame = synthetic_gp_registrations(practices, areas, seed=1, inflation=1.1, n_nearest=2)
    assert list(frame.columns) == list(REGISTRATION_COLUMNS)
    assert set(frame["PUBLICATION"]) == {SYNTHETIC_PUBLICATION}
    assert frame.equals(synthetic_gp_registrations(practices, areas, seed=1, n_nearest=2))
    path = write_synthetic_gp_registrations(tmp_path / "reg.csv", frame)
    per_area = read_gp_registrations_areas(path).set_index("area_code")["registered_patients"]
    # each area's residents x 1.1, floored per practice: at most one patient lost per practice
    for code, pop in zip(areas["area_code"], areas["population"], strict=True):
        assert pop * 1.1 - 2 <= per_area[code] <= pop * 1.1
