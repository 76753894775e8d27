"""The fixtures helper: found, skipped when absent, failed under CI."""

from __future__ import annotations

from pathlib import Path

import pytest

from nhc_planner import testing


def test_env_var_points_to_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "x.csv").write_text("a\n1\n")
    monkeypatch.setenv("NHC_FIXTURES", str(tmp_path))
    assert testing.fixtures_dir() == tmp_path
    assert testing.require_fixture("x.csv") == tmp_path / "x.csv"
    assert testing.fixture_path("missing.csv") is None


def test_missing_fixture_skips_outside_ci(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NHC_FIXTURES", str(tmp_path))
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception, match=r"missing\.csv"):
        testing.require_fixture("missing.csv")


def test_missing_fixture_fails_under_ci(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NHC_FIXTURES", str(tmp_path / "nowhere"))
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        testing.require_fixture("missing.csv")
