"""Tests for nhc_planner.sources.validate (plausibility checks) and sources.limits."""

from __future__ import annotations

import contextlib
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Polygon, box

from nhc_planner._errors import DataFileError, DuplicateKeyError, ValueRangeError
from nhc_planner.sources import limits
from nhc_planner.sources.validate import (
    check_decile_matches_rank,
    check_input_files,
    check_within,
    collapse_repeated_rows,
    repair_polygons,
    simplify_dense,
)


def test_limits_are_the_documented_ranges() -> None:
    assert limits.HLE_YEARS == (40.0, 85.0)
    assert limits.IMD_LSOA_COUNT == {"IoD2019": 32_844, "IoD2025": 33_755}
    assert limits.LSOA_POPULATION == (0.0, 20_000.0)
    docs = (Path(__file__).parents[1] / "docs" / "data.md").read_text()
    for words in ("40-85 years", "32,844", "33,755", "20,000", "EPSG:27700"):
        assert words in docs


def test_check_within_names_codes_or_rows() -> None:
    with pytest.raises(ValueRangeError, match=r"f: column 'n' must be within.*\['row 2: -1'\]"):
        check_within(pd.Series([1.0, -1.0]), what="f", column="n", bounds=(0, 10))
    with pytest.raises(ValueRangeError, match=r"\['B: 11'\]"):
        check_within(
            pd.Series([1.0, 11.0]),
            what="f",
            column="n",
            bounds=(0, 10),
            codes=pd.Series(["A", "B"]),
        )
    check_within(pd.Series([np.nan, 0.0, 10.0]), what="f", column="n", bounds=(0, 10))


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 33_755))
def test_official_decile_of_every_rank_is_accepted(rank: int) -> None:
    n = 33_755
    decile = int(np.ceil(10 * rank / n))
    codes = pd.Series(["X"])
    check_decile_matches_rank(
        pd.Series([float(rank)]),
        pd.Series([float(decile)]),
        what="f",
        rank_column="r",
        decile_column="d",
        codes=codes,
        n_areas=(n,),
        vintage="IoD2025",
    )
    if 2 <= decile <= 9 and min(rank - (decile - 1) * n / 10, decile * n / 10 - rank) > 1:
        with pytest.raises(ValueRangeError, match="disagree"):
            check_decile_matches_rank(
                pd.Series([float(rank)]),
                pd.Series([float(decile + 1)]),
                what="f",
                rank_column="r",
                decile_column="d",
                codes=codes,
                n_areas=(n,),
                vintage="IoD2025",
            )


def test_collapse_repeated_rows() -> None:
    frame = pd.DataFrame({"k": ["a", "a", "b"], "v": [1, 1, 2], "name": ["x", "y", "z"]})
    out, note = collapse_repeated_rows(frame, "k", ["v"], what="f", key_column="K")
    assert out["k"].tolist() == ["a", "b"]
    assert note is not None
    assert "3 rows for 2 code(s)" in note
    same, none = collapse_repeated_rows(out, "k", ["v"], what="f", key_column="K")
    assert none is None
    assert same is out
    frame.loc[1, "v"] = 9
    with pytest.raises(DuplicateKeyError, match=r"f: column 'K' repeats 1 code.*a: 1 vs 9"):
        collapse_repeated_rows(frame, "k", ["v"], what="f", key_column="K")


def test_check_input_files_lists_every_missing_role(tmp_path) -> None:
    here = tmp_path / "here.csv"
    here.write_text("x")
    check_input_files({"imd": here, "hospitals": None})
    with pytest.raises(DataFileError) as info:
        check_input_files({"imd": here, "hospitals": tmp_path / "h.csv", "hle": tmp_path / "x"})
    text = str(info.value)
    assert "2 input file(s) not found" in text
    assert "hospitals = " in text
    assert "hle = " in text


def test_repair_and_simplify_leave_valid_geometries_alone() -> None:
    geoms = gpd.GeoSeries([box(0, 0, 100, 100)], crs=27700)
    codes = pd.Series(["A"])
    assert repair_polygons(geoms, codes, what="f") == (geoms, None)
    assert simplify_dense(geoms, codes, what="f") == (geoms, None)


def test_repair_keeps_only_the_polygonal_part() -> None:
    # A polygon whose ring doubles back along a line: make_valid gives polygon + line.
    spike = Polygon([(0, 0), (100, 0), (100, 100), (0, 100), (0, 0), (-50, 0), (0, 0)])
    fixed, note = repair_polygons(gpd.GeoSeries([spike], crs=27700), pd.Series(["A"]), what="f")
    assert fixed.iloc[0].geom_type in ("Polygon", "MultiPolygon")
    assert fixed.iloc[0].area == pytest.approx(10_000)
    assert note is not None
    assert "A" in note


# No traceback from any reader: whatever the bytes, a reader returns or raises NhcError.

_HEADERS = [
    b"LSOA21CD,Population\n",
    b"area_code,area_name,period,value,inequality\n",
    b"LSOA code (2011),IMD Rank,IMD Decile\n",
    b"lsoa11_code,lsoa21_code,change_code\n",
    b"LSOA21CD,LAD22CD\n",
    b"lsoa21_code,age_group,usual_residents\n",
]
_CELLS = st.sampled_from(
    ["X01", "E1", "", "1", "-1", "1e12", "nan", "..", '"', "2022 - 24", "Male", "U", "S", "\xe9"]
)


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(_HEADERS),
    st.lists(st.lists(_CELLS, min_size=0, max_size=6), max_size=5),
    st.sampled_from(["utf-8", "cp1252", "utf-16"]),
    st.booleans(),
)
def test_readers_raise_only_named_errors(
    tmp_path_factory: pytest.TempPathFactory,
    header: bytes,
    rows: list[list[str]],
    encoding: str,
    cut: bool,
) -> None:
    from nhc_planner._errors import NhcError
    from nhc_planner.sources import (
        read_hle,
        read_imd,
        read_lsoa11_lsoa21,
        read_lsoa_icb,
        read_lsoa_la,
        read_population,
        read_user_sites,
    )

    body = "\n".join(",".join(r) for r in rows)
    data = header + (body.encode(encoding, errors="replace") + (b"" if cut else b"\n"))
    path = tmp_path_factory.mktemp("fuzz") / "f.csv"
    path.write_bytes(data)
    for reader in (
        read_hle,
        read_imd,
        read_lsoa11_lsoa21,
        read_lsoa_la,
        read_lsoa_icb,
        read_population,
        read_user_sites,
    ):
        with contextlib.suppress(NhcError):
            reader(path)
