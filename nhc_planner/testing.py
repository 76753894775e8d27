"""Locating the shared real-data fixtures for tests and benchmarks.

The real, openly licensed fixtures (Leeds, Rutland, national England tables)
live outside the project in ``../shared/data`` next to the checkout, or
wherever ``$NHC_FIXTURES`` points. They are never copied into the project.

When they are absent, tests are skipped with a clear reason, except under
CI (``CI=true``), where a missing fixture is a failure.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["fixture_path", "fixtures_dir", "require_fixture"]

_ENV = "NHC_FIXTURES"


def fixtures_dir() -> Path | None:
    """Return the shared data folder, or None when it cannot be found.

    Looks at ``$NHC_FIXTURES`` first, then ``../shared/data`` beside the
    project checkout, then ``../shared/data`` from the working directory.
    """
    env = os.environ.get(_ENV)
    if env:
        p = Path(env).expanduser()
        return p if p.is_dir() else None
    project_root = Path(__file__).resolve().parents[1]
    candidates = (project_root.parent / "shared" / "data", Path.cwd().parent / "shared" / "data")
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    return None


def fixture_path(*parts: str) -> Path | None:
    """Return the path of a fixture file, or None if it (or the folder) is absent."""
    root = fixtures_dir()
    if root is None:
        return None
    p = root.joinpath(*parts)
    return p if p.exists() else None


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def require_fixture(*parts: str) -> Path:
    """Return a fixture's path; skip the calling test if absent (fail under CI).

    Parameters
    ----------
    *parts
        Path components below the shared data folder, e.g.
        ``("boundaries", "leeds_lsoa21_bsc.gpkg")``.
    """
    p = fixture_path(*parts)
    if p is not None:
        return p
    import pytest

    root = fixtures_dir()
    where = f"in {root}" if root else f"(no ../shared/data and ${_ENV} not set)"
    reason = f"real-data fixture {'/'.join(parts)} not found {where}"
    if _in_ci():
        pytest.fail(f"{reason}; under CI=true a missing fixture is a failure")
    pytest.skip(reason)
    raise AssertionError("unreachable")  # pragma: no cover
