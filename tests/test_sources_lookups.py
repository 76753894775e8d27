"""Tests for nhc_planner.sources.lookups."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nhc_planner._errors import (
    DuplicateKeyError,
    EmptyInputError,
    MissingColumnError,
    ValueRangeError,
)
from nhc_planner.sources.imd import read_imd
from nhc_planner.sources.lookups import (
    lsoa11_to_lsoa21,
    read_lsoa11_lsoa21,
    read_lsoa_icb,
    read_lsoa_la,
    read_ltla_utla,
)
from nhc_planner.testing import require_fixture

DATA_SMALL = Path(__file__).parent / "data_small"


@pytest.fixture
def lookup() -> pd.DataFrame:
    links = [
        ("a", "A", "U"),
        ("b", "B1", "S"),
        ("b", "B2", "S"),
        ("c", "C", "M"),
        ("d", "C", "M"),
        ("e", "E1", "X"),
        ("e", "E2", "X"),
        ("f", "E1", "X"),
    ]
    return pd.DataFrame(links, columns=["lsoa11_code", "lsoa21_code", "change_code"])


@pytest.fixture
def data() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "area_code": ["a", "b", "c", "d", "e", "f", "z"],
            "pop": [100.0, 200.0, 300.0, 100.0, 400.0, 50.0, 7.0],
            "score": [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0],
            "rank": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0],
            "decile": [1, 3, 5, 6, 8, 10, 10],
        }
    )


def test_unchanged_split_merge_complex(data: pd.DataFrame, lookup: pd.DataFrame) -> None:
    out = lsoa11_to_lsoa21(
        data,
        lookup,
        counts=["pop"],
        scores=["score"],
        rank_decile=("rank", "decile"),
        weights_2011="pop",
    ).set_index("area_code")
    assert list(out.index) == ["A", "B1", "B2", "C", "E1", "E2"]
    # Counts: U copied, S split equally, M summed, X split then summed.
    assert out["pop"].to_dict() == {"A": 100, "B1": 100, "B2": 100, "C": 400, "E1": 250, "E2": 200}
    # Scores: U/S copied, M population-weighted, X weighted by the share carried.
    assert out.loc["A", "score"] == 10
    assert out.loc["B1", "score"] == out.loc["B2", "score"] == 20
    assert out.loc["C", "score"] == pytest.approx((30 * 300 + 40 * 100) / 400)
    assert out.loc["E1", "score"] == pytest.approx((50 * 200 + 60 * 50) / 250)
    assert out.loc["E2", "score"] == 50
    assert out.loc["C", "rank"] == pytest.approx(3.25)
    # Single-source areas keep their decile; merged ones are recomputed from the mean
    # rank: 3.25 lies in decile 6's range (3, 4], 5.2 in decile 10's (5, 6].
    assert out["decile"].to_dict() == {"A": 1, "B1": 3, "B2": 3, "C": 6, "E1": 10, "E2": 8}
    assert out["n_sources"].to_dict() == {"A": 1, "B1": 1, "B2": 1, "C": 2, "E1": 2, "E2": 1}
    assert out.loc["C", "change_code"] == "M"
    # Nothing silently dropped: 'z' has no link and is reported.
    assert out.attrs["unmatched_2011"] == ["z"]
    assert any("not in the lookup" in n for n in out.attrs["notes"])


def test_split_by_2021_weights(data: pd.DataFrame, lookup: pd.DataFrame) -> None:
    weights = pd.Series({"B1": 3.0, "B2": 1.0})
    out = lsoa11_to_lsoa21(data, lookup, counts=["pop"], weights_2021=weights)
    got = out.set_index("area_code")["pop"]
    assert (got["B1"], got["B2"]) == (150.0, 50.0)
    # Areas without weights among several targets (e -> E1, E2) fall back to equal shares.
    assert (got["E1"], got["E2"]) == (250.0, 200.0)


def test_equal_weights_without_population(data: pd.DataFrame, lookup: pd.DataFrame) -> None:
    out = lsoa11_to_lsoa21(data, lookup, scores=["score"]).set_index("area_code")
    assert out.loc["C", "score"] == 35.0


def test_missing_column(data: pd.DataFrame, lookup: pd.DataFrame) -> None:
    with pytest.raises(MissingColumnError, match="nope"):
        lsoa11_to_lsoa21(data, lookup, counts=["nope"])


@given(
    st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6)), min_size=1, max_size=25),
    st.lists(st.floats(0, 1e4, allow_nan=False), min_size=7, max_size=7),
)
@settings(max_examples=50, deadline=None)
def test_counts_are_preserved(links: list[tuple[int, int]], pops: list[float]) -> None:
    lookup = pd.DataFrame(
        sorted({(f"o{a}", f"n{b}", "X") for a, b in links}),
        columns=["lsoa11_code", "lsoa21_code", "change_code"],
    )
    data = pd.DataFrame({"area_code": [f"o{i}" for i in range(7)], "pop": pops})
    out = lsoa11_to_lsoa21(data, lookup, counts=["pop"])
    linked = data["area_code"].isin(lookup["lsoa11_code"])
    assert out["pop"].sum() == pytest.approx(data.loc[linked, "pop"].sum(), rel=1e-9, abs=1e-6)
    assert sorted(out.attrs["unmatched_2011"]) == sorted(data.loc[~linked, "area_code"])


def test_small_lookup_files() -> None:
    lk = read_lsoa11_lsoa21(DATA_SMALL / "lsoa11_lsoa21.csv")
    assert lk["change_code"].tolist() == ["U", "S", "S", "U"]
    la = read_lsoa_la(DATA_SMALL / "lsoa_la.csv")
    assert list(la.columns) == ["area_code", "area_name", "la_code", "la_name"]
    assert set(la["la_name"]) == {"Synthetic Town"}
    icb = read_lsoa_icb(DATA_SMALL / "lsoa_icb.csv")
    assert set(icb["icb_code"]) == {"X54000001"}
    assert set(icb["sub_icb_code"]) == {"X38000001"}


@pytest.mark.parametrize(
    ("text", "error", "match"),
    [
        ("lsoa11_code,lsoa21_code,change_code\na,A,Q\n", ValueRangeError, "Q"),
        # Repeats that agree are collapsed (issue 15); repeats that conflict are refused.
        ("lsoa11_code,lsoa21_code,change_code\na,A,U\na,A,S\n", DuplicateKeyError, "a->A"),
        ("lsoa11_code,lsoa21_code\na,A\n", MissingColumnError, "change code"),
        ("lsoa11_code,lsoa21_code,change_code\n", EmptyInputError, "no data rows"),
    ],
)
def test_bad_lsoa11_lookup(tmp_path, text: str, error: type[Exception], match: str) -> None:
    p = tmp_path / "lk.csv"
    p.write_text(text)
    with pytest.raises(error, match=match):
        read_lsoa11_lsoa21(p)


def test_bad_la_lookup(tmp_path) -> None:
    p = tmp_path / "la.csv"
    p.write_text("LSOA21CD,LAD22CD,LAD22NM\nX1,L1,Town\nX1,L2,City\n")
    with pytest.raises(DuplicateKeyError, match="X1"):
        read_lsoa_la(p)
    p.write_text("LSOA21CD,ward\nX1,W\n")
    with pytest.raises(MissingColumnError, match="local authority code"):
        read_lsoa_la(p)


def test_ltla_utla(tmp_path) -> None:
    p = tmp_path / "lu.csv"
    p.write_text("LTLA22CD,LTLA22NM,UTLA22CD,UTLA22NM\nD1,a,U1,x\nD2,b,U1,x\nU2,c,U2,y\n")
    assert read_ltla_utla(p) == {"D1": "U1", "D2": "U1", "U2": "U2"}


@pytest.mark.slow
def test_real_lookups_and_imd2019_onto_2021() -> None:
    lk = read_lsoa11_lsoa21(require_fixture("national", "lookup_lsoa11_lsoa21_ltla22.csv"))
    assert lk["change_code"].value_counts().to_dict() == {"U": 33647, "S": 1900, "M": 239, "X": 9}
    la = read_lsoa_la(require_fixture("national", "lookup_lsoa21_ward24_ltla24.csv"))
    leeds = set(la.loc[la["la_code"] == "E08000035", "area_code"])
    assert len(leeds) == 488
    icb = read_lsoa_icb(require_fixture("national", "lookup_lsoa21_icb24.csv"))
    assert set(icb.loc[icb["area_code"].isin(leeds), "icb_code"]) == {"E54000054"}
    imd = read_imd(
        require_fixture("national", "File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv")
    )
    out = lsoa11_to_lsoa21(imd, lk, scores=["imd_score"], rank_decile=("imd_rank", "imd_decile"))
    assert leeds <= set(out["area_code"])
    assert out["imd_decile"].between(1, 10).all()
    # English 2011 LSOAs all reach a 2021 area; Welsh rows in the lookup are not in IMD.
    assert out.attrs["unmatched_2011"] == []
    assert out["area_code"].str.startswith("E").all()


# Issue 15: lookups as ONS publishes them; link types consistent with their rows.

_OA_LA = (
    "OA21CD,LSOA21CD,LSOA21NM,LAD22CD,LAD22NM\n"
    "O1,X1,a,L1,Town\nO2,X1,a,L1,Town\nO3,X2,b,L1,Town\nO4,X2,b,L1,Town\n"
)


def test_oa_level_la_lookup_is_collapsed_with_a_note(tmp_path) -> None:
    p = tmp_path / "oa.csv"
    p.write_text(_OA_LA)
    la = read_lsoa_la(p)
    assert la["area_code"].tolist() == ["X1", "X2"]
    assert la["la_code"].tolist() == ["L1", "L1"]
    assert any("4 rows for 2 code(s)" in n for n in la.attrs["notes"])


def test_oa_level_lookup_with_conflicting_rows_names_them(tmp_path) -> None:
    p = tmp_path / "oa.csv"
    p.write_text(_OA_LA + "O5,X2,b,L9,City\n")
    with pytest.raises(DuplicateKeyError, match=r"X2: L1 vs L9"):
        read_lsoa_la(p)


def test_oa_level_icb_lookup_is_collapsed(tmp_path) -> None:
    p = tmp_path / "icb.csv"
    p.write_text("oa21_code,lsoa21_code,sicbl24_code,icb24_code\nO1,X1,S1,I1\nO2,X1,S1,I1\n")
    assert read_lsoa_icb(p)["icb_code"].tolist() == ["I1"]


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson", ".parquet"])
def test_lookup_from_vector_or_parquet(tmp_path, suffix: str) -> None:
    import geopandas as gpd
    from shapely.geometry import Point

    table = pd.read_csv(pd.io.common.StringIO(_OA_LA))
    frame = gpd.GeoDataFrame(table, geometry=[Point(i, i) for i in range(4)], crs="EPSG:27700")
    p = tmp_path / f"la{suffix}"
    frame.to_parquet(p) if suffix == ".parquet" else frame.to_file(p)
    assert read_lsoa_la(p)["area_code"].tolist() == ["X1", "X2"]


def test_lookup_as_attribute_only_geopackage(tmp_path) -> None:
    import pyogrio

    p = tmp_path / "la.gpkg"
    pyogrio.write_dataframe(pd.read_csv(pd.io.common.StringIO(_OA_LA)), p, layer="lookup")
    assert read_lsoa_la(p)["la_code"].tolist() == ["L1", "L1"]


_LK = "lsoa11_code,lsoa21_code,change_code\n"


@pytest.mark.parametrize(
    ("rows", "match"),
    [
        # a -> A and a -> B, b -> A: many-to-many links labelled U.
        ("a,A,U\na,B,U\nb,A,U\n", r"labels 3 link\(s\) 'U'.*a->A \(2 link"),
        ("a,A,S\nb,B,U\n", r"'S'.*a->A"),  # a split with one part
        ("a,A,M\nb,B,U\n", r"'M'.*a->A"),  # a merge with one source
        ("a,A,U\na,B,S\n", r"'U'.*a->A"),  # one link of a split labelled U
    ],
    ids=["many-to-many-U", "single-S", "single-M", "U-inside-split"],
)
def test_change_code_contradicting_rows(tmp_path, rows: str, match: str) -> None:
    p = tmp_path / "lk.csv"
    p.write_text(_LK + rows)
    with pytest.raises(ValueRangeError, match=match):
        read_lsoa11_lsoa21(p)


def test_complex_links_and_agreeing_repeats_are_accepted(tmp_path) -> None:
    p = tmp_path / "lk.csv"
    p.write_text(_LK + "a,A,X\na,B,X\nb,A,X\nc,C,U\nc,C,U\nd,D1,S\nd,D2,S\ne,E,M\nf,E,M\n")
    lk = read_lsoa11_lsoa21(p)
    assert len(lk) == 8
    assert any("collapsed" in n for n in lk.attrs["notes"])
