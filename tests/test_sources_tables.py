"""Tests for nhc_planner.sources._tables (CSV helpers)."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nhc_planner._errors import (
    DataFileError,
    DuplicateKeyError,
    EmptyInputError,
    MissingColumnError,
    ValueRangeError,
)
from nhc_planner.sources._tables import (
    AREA_CODE_ALIASES,
    check_range,
    check_unique,
    code_year_of,
    drop_non_data_rows,
    find_column,
    normalise_name,
    read_table,
    to_number,
)


@pytest.mark.parametrize(
    "header",
    [
        "LSOA21CD",
        "lsoa21_code",
        "LSOA code (2011)",
        "lsoa11cd",
        "2021 super output area - lower layer code",
        "area_code",
        " Area_Code ",
    ],
)
def test_area_code_aliases_match_common_spellings(header: str) -> None:
    frame = pd.DataFrame(columns=["x", header, "y"])
    assert find_column(frame, AREA_CODE_ALIASES, what="t", role="area code") == header


def test_find_column_error_lists_accepted_and_found() -> None:
    frame = pd.DataFrame(columns=["foo", "bar"])
    with pytest.raises(MissingColumnError, match=r"accepted names.*LSOA21CD.*found.*foo"):
        find_column(frame, AREA_CODE_ALIASES, what="f.csv", role="area code")
    assert find_column(frame, ["baz"], what="t", role="r", required=False) is None


def test_normalise_name_strips_bom_case_punctuation() -> None:
    assert normalise_name("\ufeffLSOA Code (2011)") == "lsoa code 2011"
    assert normalise_name("IMD_rank") == normalise_name("imd rank")


@pytest.mark.parametrize(
    ("column", "year"),
    [("LSOA code (2011)", 2011), ("lsoa21_code", 2021), ("LSOA11CD", 2011), ("code", None)],
)
def test_code_year_of(column: str, year: int | None) -> None:
    assert code_year_of(column) == year


def test_to_number_thousands_and_missing_markers() -> None:
    values = pd.Series(["29,199", " 7 ", "", "NA", "..", "[x]", "-3.5"])
    got = to_number(values, what="f", column="c")
    assert got.iloc[0] == 29199.0
    assert got.iloc[1] == 7.0
    assert got.iloc[2:6].isna().all()
    assert got.iloc[6] == -3.5


def test_to_number_names_file_column_and_examples() -> None:
    with pytest.raises(ValueRangeError, match=r"f\.csv.*'rank'.*\['abc'\]"):
        to_number(pd.Series(["1", "abc"]), what="f.csv", column="rank")
    with pytest.raises(ValueRangeError, match="blank"):
        to_number(pd.Series(["1", ""]), what="f", column="c", allow_missing=False)


@given(st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=20))
@settings(max_examples=40, deadline=None)
def test_to_number_round_trips_formatted_integers(values: list[int]) -> None:
    text = pd.Series([f"{v:,}" for v in values])
    assert to_number(text, what="f", column="c").tolist() == [float(v) for v in values]


def test_check_unique_and_range() -> None:
    check_unique(pd.Series(["a", "b"]), what="t", column="c")
    with pytest.raises(DuplicateKeyError, match=r"'code'.*\['a'\]"):
        check_unique(pd.Series(["a", "b", "a"]), what="t", column="code")
    with pytest.raises(ValueRangeError, match="decile"):
        check_range(pd.Series([1.0, 11.0]), what="t", column="decile", low=1, high=10)


def test_read_table_bom_crlf_and_all_text(tmp_path) -> None:
    p = tmp_path / "t.csv"
    p.write_bytes(b'\xef\xbb\xbfcode,n\r\nE01,"1,234"\r\n,\r\n')
    frame = read_table(p, what="test")
    assert list(frame.columns) == ["code", "n"]
    assert frame["n"].tolist() == ["1,234"]


def test_read_table_latin1_fallback(tmp_path) -> None:
    p = tmp_path / "t.csv"
    p.write_bytes("code¬name\r\nA¬Café\r\n".encode("latin-1"))
    frame = read_table(p, what="test", sep="¬")
    assert frame["name"].tolist() == ["Café"]


@pytest.mark.parametrize(
    ("content", "error"),
    [(b"", EmptyInputError), (b"code,n\n", EmptyInputError), (b"code,n\n,\n", EmptyInputError)],
)
def test_read_table_empty(tmp_path, content: bytes, error: type[Exception]) -> None:
    p = tmp_path / "t.csv"
    p.write_bytes(content)
    with pytest.raises(error, match=r"t\.csv"):
        read_table(p, what="test")


def test_read_table_missing_file(tmp_path) -> None:
    with pytest.raises(DataFileError, match="not found"):
        read_table(tmp_path / "nope.csv", what="test")


def test_drop_non_data_rows_counts_footnotes() -> None:
    frame = pd.DataFrame({"code": ["E1", "note text", None], "n": ["5", None, "3"]})
    frame.attrs["notes"] = []
    out = drop_non_data_rows(frame, "code", ["n"], what="t")
    assert out["code"].tolist() == ["E1"]
    assert "ignored 2 non-data row(s)" in out.attrs["notes"][0]


# Issue 15: encodings detected, never guessed silently; damaged files refused.


def test_cp1252_is_decoded_as_cp1252_with_a_note(tmp_path) -> None:
    p = tmp_path / "t.csv"
    # 0x92 is a right single quote and 0x80 the euro sign in cp1252, C1 controls in latin-1.
    p.write_bytes("code,name\nA,St Mary’s €\n".encode("cp1252"))
    frame = read_table(p, what="test")
    assert frame["name"].tolist() == ["St Mary’s €"]
    assert any("not UTF-8" in n and "cp1252" in n and "line 2" in n for n in frame.attrs["notes"])


def test_bytes_undefined_in_cp1252_fall_back_to_latin1_with_a_note(tmp_path) -> None:
    p = tmp_path / "t.csv"
    p.write_bytes(b"code,name\nA,x\x81y\n")
    frame = read_table(p, what="test")
    assert frame["name"].tolist() == ["x\x81y"]
    assert any("latin-1" in n for n in frame.attrs["notes"])


def test_utf8_and_bom_give_no_note(tmp_path) -> None:
    p = tmp_path / "t.csv"
    p.write_bytes("\ufeffcode,name\nA,Café\n".encode())
    frame = read_table(p, what="test")
    assert frame["name"].tolist() == ["Café"]
    assert frame.attrs["notes"] == []


def test_double_encoded_utf8_is_noted(tmp_path) -> None:
    p = tmp_path / "t.csv"
    p.write_bytes("code,name\nA,Café\n".encode().decode("latin-1").encode())
    frame = read_table(p, what="test")
    assert any("garbled" in n for n in frame.attrs["notes"])


@pytest.mark.parametrize(
    "content",
    [b"code,name,n\nA,x,1\nB,y", b'code,name,n\nA,x,1\nB,"y', b"code,name,n\r\nA,x,1\r\nB"],
    ids=["two-of-three", "open-quote", "crlf"],
)
def test_file_cut_mid_row_is_refused(tmp_path, content: bytes) -> None:
    p = tmp_path / "t.csv"
    p.write_bytes(content)
    with pytest.raises(DataFileError, match=r"t\.csv.*cut off mid-row"):
        read_table(p, what="test")


def test_complete_last_row_without_line_end_is_fine(tmp_path) -> None:
    p = tmp_path / "t.csv"
    p.write_bytes(b"code,name,n\nA,x,1\nB,y,2")
    assert read_table(p, what="test")["n"].tolist() == ["1", "2"]


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson", ".parquet"])
def test_tables_from_vector_and_parquet_files(tmp_path, suffix: str) -> None:
    import geopandas as gpd
    from shapely.geometry import Point

    frame = gpd.GeoDataFrame(
        {"code": ["A", "B"], "n": [1, 2]}, geometry=[Point(0, 0), Point(1, 1)], crs="EPSG:27700"
    )
    p = tmp_path / f"t{suffix}"
    if suffix == ".parquet":
        frame.to_parquet(p)
    else:
        frame.to_file(p)
    out = read_table(p, what="test")
    assert list(out.columns) == ["code", "n"]
    assert out["code"].tolist() == ["A", "B"]
    assert out["n"].tolist() == ["1", "2"]


def test_spreadsheet_is_refused_by_name(tmp_path) -> None:
    p = tmp_path / "t.xlsx"
    p.write_bytes(b"PK\x03\x04")
    with pytest.raises(DataFileError, match=r"spreadsheet.*save the data sheet as CSV"):
        read_table(p, what="test")


def test_utf16_with_bom_is_decoded_with_a_note(tmp_path) -> None:
    p = tmp_path / "t.csv"
    p.write_bytes("code,name\nA,Café\n".encode("utf-16"))
    frame = read_table(p, what="test")
    assert frame["name"].tolist() == ["Café"]
    assert any("UTF-16" in n for n in frame.attrs["notes"])


def test_binary_content_is_refused(tmp_path) -> None:
    p = tmp_path / "t.csv"
    p.write_bytes(b"code,name\nA,\x00\x01\x02\n")
    with pytest.raises(DataFileError, match=r"t\.csv: binary content"):
        read_table(p, what="test")
