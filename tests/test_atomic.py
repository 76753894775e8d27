"""Tests of nhc_planner._atomic: folders swapped in whole, checksums, real SIGKILL mid-save."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nhc_planner._atomic import (
    MANIFEST,
    atomic_folder,
    atomic_write_text,
    recover,
    verify_folder,
)
from nhc_planner._errors import CorruptFileError, DataFileError
from nhc_planner.plan import Plan, plan
from nhc_planner.region import Region
from tests.test_plan import FAST, grid_region

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("written", "synced", "set aside", "renamed", "done")


@pytest.fixture(scope="module")
def plans(tmp_path_factory) -> tuple[Path, Path]:
    """Two plans that differ in every part (scenario, centres, KPIs), saved once."""
    folder = tmp_path_factory.mktemp("plans")
    region = grid_region()
    a = plan(region, FAST.replace(name="plan A"))
    b = plan(
        region,
        FAST.replace(**{"phasing.new_per_year": 3, "solver.sensitivity_runs": 2}).replace(
            name="plan B"
        ),
    )
    assert a.kpi("share_covered") != b.kpi("share_covered")
    return a.save(folder / "a"), b.save(folder / "b")


def _whole(loaded: Plan, sources: tuple[Path, Path]) -> None:
    """``loaded`` is exactly one of the two source plans, every part of it."""
    name = loaded.scenario.name
    assert name in ("plan A", "plan B")
    want = Plan.load(sources[0] if name == "plan A" else sources[1])
    assert loaded.centres["site_id"].tolist() == want.centres["site_id"].tolist()
    assert loaded.kpis.equals(want.kpis)
    assert loaded.coverage_curve.equals(want.coverage_curve)
    assert loaded.solver == want.solver
    assert (loaded.stability is None) == (want.stability is None)
    assert len(loaded.assignments) == len(want.assignments)


def _child(code: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


_KILL_AT_STAGE = """
import os, signal, sys
from nhc_planner import _atomic
from nhc_planner.plan import Plan
a, b = Plan.load(sys.argv[1]), Plan.load(sys.argv[2])
target, stage = sys.argv[3], sys.argv[4]
a.save(target)
def hook(s):
    if s == stage:
        os.kill(os.getpid(), signal.SIGKILL)
_atomic._hook = hook
b.save(target)
print("not killed")
"""


@pytest.mark.parametrize("stage", STAGES)
def test_sigkill_at_each_stage_of_a_plan_save(plans, tmp_path, stage):
    """Killed (SIGKILL) at each step of saving B over A: load gives A or B, whole."""
    target = tmp_path / "plan"
    proc = _child(_KILL_AT_STAGE, str(plans[0]), str(plans[1]), str(target), stage)
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL, err
    loaded = Plan.load(target)
    _whole(loaded, plans)
    # before the swap the old plan stays; once renamed in, the new one
    expected = "plan A" if stage in ("written", "synced", "set aside") else "plan B"
    assert loaded.scenario.name == expected
    # the next save cleans the dead process's temporaries
    Plan.load(plans[0]).save(target)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".plan.")]
    assert Plan.load(target).scenario.name == "plan A"


_SAVE_FOREVER = """
import sys
from nhc_planner.plan import Plan
a, b = Plan.load(sys.argv[1]), Plan.load(sys.argv[2])
target = sys.argv[3]
a.save(target)
print("ready", flush=True)
while True:
    b.save(target)
    a.save(target)
"""


def test_sigkill_at_random_points_of_repeated_saves(plans, tmp_path):
    """A process saving A and B in turn, killed at 8 random moments: always A or B, whole."""
    rng = random.Random(15)
    target = tmp_path / "plan"
    seen = set()
    for _ in range(8):
        proc = _child(_SAVE_FOREVER, str(plans[0]), str(plans[1]), str(target))
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.6))
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=60)
        loaded = Plan.load(target)
        _whole(loaded, plans)
        seen.add(loaded.scenario.name)
    assert seen  # at least one plan loaded each time (usually both over 8 kills)


_REGION_KILL = """
import os, signal, sys
from nhc_planner import _atomic
from nhc_planner.region import Region
from tests.test_plan import grid_region
target, stage = sys.argv[1], sys.argv[2]
grid_region(4).save(target)
def hook(s):
    if s == stage:
        os.kill(os.getpid(), signal.SIGKILL)
_atomic._hook = hook
grid_region(6).save(target)
"""


@pytest.mark.parametrize("stage", ["written", "set aside", "renamed"])
def test_sigkill_during_a_region_save(tmp_path, stage):
    target = tmp_path / "region"
    proc = _child(_REGION_KILL, str(target), stage)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL, err
    region = Region.load(target)
    assert len(region.areas) == (16 if stage != "renamed" else 36)
    assert len(region.sites) == 16


# --------------------------------------------------------------------------- checksums


@pytest.fixture
def saved(plans, tmp_path) -> Path:
    return Plan.load(plans[1]).save(tmp_path / "p")


def _flip(path: Path, at: int) -> None:
    data = bytearray(path.read_bytes())
    data[at % len(data)] ^= 0xFF
    path.write_bytes(bytes(data))


def test_flipped_byte_is_a_named_error(saved):
    _flip(saved / "kpis.csv", 40)
    with pytest.raises(CorruptFileError, match=r"kpis\.csv: plan file does not match"):
        Plan.load(saved)


def test_truncated_file_is_a_named_error(saved):
    path = saved / "centres.parquet"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(CorruptFileError, match=r"centres\.parquet"):
        Plan.load(saved)


def test_missing_file_is_a_named_error(saved):
    (saved / "coverage_curve.csv").unlink()
    with pytest.raises(CorruptFileError, match=r"coverage_curve\.csv is listed"):
        Plan.load(saved)


def test_file_from_another_save_is_a_named_error(plans, saved):
    """A's folder with B's stability.csv dropped in is a mixed plan."""
    import shutil

    Plan.load(plans[0]).save(saved.parent / "a")
    shutil.copy(saved / "stability.csv", saved.parent / "a" / "stability.csv")
    with pytest.raises(CorruptFileError, match=r"stability\.csv.*another save"):
        Plan.load(saved.parent / "a")


def test_missing_manifest_is_a_named_error(saved):
    (saved / MANIFEST).unlink()
    with pytest.raises(CorruptFileError, match="saved with checksums"):
        Plan.load(saved)


def test_damaged_manifest_is_a_named_error(saved):
    (saved / MANIFEST).write_text("{not json")
    with pytest.raises(CorruptFileError, match="manifest is unreadable"):
        Plan.load(saved)


def test_it_is_a_data_file_error_too(saved):
    _flip(saved / "plan.json", 10)
    with pytest.raises(DataFileError):
        Plan.load(saved)


def test_foreign_files_are_kept_and_ignored(plans, tmp_path):
    """The CLI's run.log and report/ beside a plan survive a save and do not break load."""
    target = Plan.load(plans[0]).save(tmp_path / "out")
    (target / "run.log").write_text("log line\n")
    (target / "my notes.csv").write_text("mine\n")
    (target / "report").mkdir()
    (target / "report" / "index.html").write_text("<html></html>")
    Plan.load(plans[1]).save(target)  # B over A: stability.csv appears, run.log stays
    assert (target / "run.log").read_text() == "log line\n"
    assert (target / "my notes.csv").read_text() == "mine\n"
    assert (target / "report" / "index.html").is_file()
    (target / "run.log").write_text("more\n")  # written after the save: not checked
    loaded = Plan.load(target)
    assert loaded.scenario.name == "plan B"
    assert loaded.stability is not None
    Plan.load(plans[0]).save(target)  # A over B: B's stability.csv must go
    assert not (target / "stability.csv").exists()
    assert Plan.load(target).stability is None


def test_legacy_folder_without_checksums_loads(plans, tmp_path):
    """Plans saved before manifests existed still load (and a damaged one is a named error)."""
    import json
    import shutil

    legacy = tmp_path / "legacy"
    shutil.copytree(plans[0], legacy)
    (legacy / MANIFEST).unlink()
    meta = json.loads((legacy / "plan.json").read_text())
    del meta["checksums"]
    (legacy / "plan.json").write_text(json.dumps(meta))
    assert Plan.load(legacy).scenario.name == "plan A"
    (legacy / "centres.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(CorruptFileError, match="cannot be read"):
        Plan.load(legacy)


def test_region_checksums(tmp_path):
    target = grid_region(3).save(tmp_path / "r")
    assert verify_folder(target, what="region")
    _flip(target / "areas.parquet", 500)
    with pytest.raises(CorruptFileError, match=r"areas\.parquet: region file does not match"):
        Region.load(target)


# --------------------------------------------------------------------------- the module


def test_failed_write_leaves_the_old_folder(tmp_path):
    target = tmp_path / "f"
    with atomic_folder(target) as tmp:
        (tmp / "a.txt").write_text("old")

    def fail() -> None:
        with atomic_folder(target) as tmp:
            (tmp / "a.txt").write_text("new")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        fail()
    assert (target / "a.txt").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f"]


def test_recover_puts_back_a_folder_set_aside_by_a_dead_process(tmp_path):
    target = tmp_path / "f"
    old = tmp_path / ".f.old-999999999-abcd"  # no such process
    old.mkdir()
    (old / "a.txt").write_text("old")
    stale = tmp_path / ".f.tmp-999999999-abcd"
    stale.mkdir()
    elsewhere = tmp_path / ".f.tmp-999999999-zzzzzz-abcd"  # another machine's: left alone
    elsewhere.mkdir()
    recover(target)
    assert (target / "a.txt").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == [elsewhere.name, "f"]


def test_atomic_write_text(tmp_path):
    path = atomic_write_text(tmp_path / "sub" / "x.toml", "a = 1\n")
    assert path.read_text() == "a = 1\n"
    assert sorted(p.name for p in path.parent.iterdir()) == ["x.toml"]


def test_not_a_folder(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(CorruptFileError, match="not a folder"), atomic_folder(tmp_path / "file"):
        pass
