"""Tests of nhc_planner.batch: regions.toml, Dask runs, retries, skipping, the league table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from nhc_planner._errors import DataFileError, ScenarioError
from nhc_planner.batch import RegionJob, read_regions, run_batch
from nhc_planner.scenario import Scenario
from tests.test_plan import grid_region

#: A small, fast scenario: straight-line travel, 3 centres in one year.
SMALL = Scenario(name="batch test").replace(
    **{
        "policy.model": "coverage",  # the CLI and batch tests check the coverage model's plan
        "travel.standard_min": 10.0,
        "travel.cutoff_min": 30.0,
        "phasing.years": 1,
        "phasing.new_per_year": 3,
        "solver.time_limit_s": 20.0,
    }
)


def _write(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    SMALL.to_toml(folder / "small.toml")
    path = folder / "regions.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_read_regions_kinds_and_paths(tmp_path):
    path = _write(
        tmp_path,
        '[defaults]\nscenario = "small.toml"\nreport = false\n'
        '[[region]]\nname = "d"\ndemo = 3\n'
        '[[region]]\nname = "f"\nfolder = "regions/f"\n'
        '[[region]]\nname = "s"\nsources = "src/sources.toml"\nla = "E06000017"\n'
        'scenario = "small.toml"\n',
    )
    jobs = read_regions(path)
    assert [j.name for j in jobs] == ["d", "f", "s"]
    assert jobs[0].demo == 3
    assert jobs[1].folder == str(tmp_path / "regions" / "f")
    assert jobs[2].la == ("E06000017",)
    assert all(not j.report for j in jobs)
    assert jobs[0].load_scenario() == SMALL


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "no \\[\\[region\\]\\] entries"),
        ('[[region]]\nname = "a"\n', "exactly one of demo, folder, sources"),
        ('[[region]]\nname = "a"\ndemo = 1\nfolder = "x"\n', "exactly one"),
        ('[[region]]\nname = "a b"\ndemo = 1\n', "'name' must be"),
        ('[[region]]\nname = "a"\ndemo = -1\n', "'demo' must be a seed"),
        ('[[region]]\nname = "a"\ndemo = 1\n[[region]]\nname = "a"\ndemo = 2\n', "duplicate"),
        ('[[region]]\nname = "a"\ndemo = 1\nzoom = 2\n', "unknown key\\(s\\) \\['zoom'\\]"),
        ('[[region]]\nname = "a"\nsources = "s.toml"\n', "needs la, icb or areas"),
        ('[defaults]\nreport = "yes"\n[[region]]\nname = "a"\ndemo = 1\n', "true or false"),
        ("[[region]\n", "not valid TOML"),
    ],
)
def test_read_regions_errors(tmp_path, text, match):
    with pytest.raises(DataFileError, match=match):
        read_regions(_write(tmp_path, text))


def test_read_regions_bad_scenario(tmp_path):
    (tmp_path / "bad.toml").write_text("[phasing]\nyears = 0\n")
    path = _write(tmp_path, '[[region]]\nname = "a"\ndemo = 1\nscenario = "bad.toml"\n')
    with pytest.raises(ScenarioError, match=r"bad\.toml: phasing\.years"):
        read_regions(path)


def test_input_hash_tracks_scenario_and_files(tmp_path):
    grid_region(3).save(tmp_path / "r")
    job = RegionJob(name="r", folder=str(tmp_path / "r"))
    h1 = job.input_hash()
    assert h1 == RegionJob(name="r", folder=str(tmp_path / "r")).input_hash()
    other = RegionJob(name="r", folder=str(tmp_path / "r"), scenario=SMALL.to_toml_string())
    assert other.input_hash() != h1
    grid_region(4).save(tmp_path / "r")
    assert job.input_hash() != h1


def _check_index(result, n_ok: int, failed: list[str]) -> pd.DataFrame:
    table = pd.read_csv(result.index_csv)
    assert (table["status"] == "ok").sum() == n_ok
    assert table.loc[table["status"] == "failed", "region"].tolist() == failed
    ok = table[table["status"] == "ok"]
    assert ok["rank"].tolist() == list(range(1, n_ok + 1))
    assert ok["share_after"].is_monotonic_decreasing
    assert (ok["share_after"] >= ok["share_before"]).all()
    text = result.index_html.read_text()
    assert "league table" in text
    for name in failed:
        assert f"<td>{name}</td>" in text
    return table


def test_batch_six_demo_regions_local_cluster(tmp_path):
    """Six demo regions and a broken one on a 2-process local Dask cluster, via the CLI.

    The batch runs in a fresh ``python -m nhc_planner`` process, as a user runs it: Dask
    starts its worker processes with ``spawn``, which re-imports the parent's ``__main__``,
    and inside a pytest-xdist worker that is execnet's bootstrap, not a real script.
    """
    lines = ['[defaults]\nscenario = "small.toml"\nreport = false\n']
    for seed in range(6):
        lines.append(f'[[region]]\nname = "demo-{seed}"\ndemo = {seed}\n')
    lines.append('[[region]]\nname = "broken"\nfolder = "no-such-region"\n')
    path = _write(tmp_path, "".join(lines))
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "nhc_planner", "batch", str(path), "--out", str(out)]
    run = subprocess.run([*cmd, "--workers", "2"], capture_output=True, text=True, check=False)
    assert run.returncode == 3, run.stderr  # one region failed: exit code 3
    assert "retrying broken" in run.stderr  # retried once, then recorded as failed
    index = pd.read_csv(out / "index.csv")
    assert len(index) == 7
    broken = index.loc[index["region"] == "broken"]
    assert "not a region folder" in broken["error"].iloc[0]
    table = index.loc[index["region"] != "broken"]
    assert table["error"].isna().all()
    for seed in range(6):
        assert (out / f"demo-{seed}" / "centres.csv").is_file()
    # re-run: the six unchanged regions are skipped, the broken one is tried again
    again = subprocess.run([*cmd, "--workers", "2"], capture_output=True, text=True, check=False)
    assert again.returncode == 3, again.stderr
    assert "unchanged" in (out / "index.html").read_text()
    assert pd.read_csv(out / "index.csv")["skipped"].sum() == 6


def test_batch_on_a_running_scheduler(tmp_path):
    from dask.distributed import LocalCluster

    for i in range(3):
        grid_region(4 + i).save(tmp_path / f"r{i}")
    entries = "".join(f'[[region]]\nname = "r{i}"\nfolder = "r{i}"\n' for i in range(3))
    path = _write(tmp_path, '[defaults]\nscenario = "small.toml"\nreport = true\n' + entries)
    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=False,
        protocol="tcp",
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        result = run_batch(path, out=tmp_path / "out", scheduler=cluster.scheduler_address)
        assert result.n_failed == 0
        _check_index(result, 3, [])
        assert (tmp_path / "out" / "r0" / "report" / "index.html").is_file()
        # change one region's scenario: only that one is planned again
        (tmp_path / "other.toml").write_text(
            SMALL.replace(**{"phasing.new_per_year": 2}).to_toml_string()
        )
        path.write_text(
            path.read_text().replace('folder = "r2"', 'folder = "r2"\nscenario = "other.toml"')
        )
        again = run_batch(path, out=tmp_path / "out", scheduler=cluster.scheduler_address)
        assert again.n_skipped == 2
        assert not again.table.loc[again.table["region"] == "r2", "skipped"].iloc[0]


def test_unreachable_scheduler(tmp_path):
    from nhc_planner._errors import NhcRuntimeError

    grid_region(3).save(tmp_path / "r")
    path = _write(tmp_path, '[[region]]\nname = "r"\nfolder = "r"\n')
    with pytest.raises(NhcRuntimeError, match="cannot reach the Dask scheduler"):
        run_batch(path, out=tmp_path / "out", scheduler="tcp://127.0.0.1:9", connect_timeout_s=1.0)


def test_example_regions_file_is_valid():
    examples = Path(__file__).resolve().parents[1] / "examples"
    jobs = read_regions(examples / "regions.toml")
    assert [j.demo for j in jobs[:3]] == [0, 1, 2]
    assert Path(jobs[3].sources or "").is_file()
    assert jobs[3].load_scenario().travel.mode == "walk"


def test_a_failed_rerun_removes_the_stale_plan(tmp_path):
    """A region that planned before and fails now keeps no old plan, report or 'ok' status."""
    import json

    from dask.distributed import LocalCluster

    from nhc_planner._errors import DataFileError
    from nhc_planner.plan import Plan

    grid_region(4).save(tmp_path / "r0")
    grid_region(5).save(tmp_path / "r1")
    entries = "".join(f'[[region]]\nname = "r{i}"\nfolder = "r{i}"\n' for i in range(2))
    path = _write(tmp_path, '[defaults]\nscenario = "small.toml"\nreport = true\n' + entries)
    out = tmp_path / "out"
    with LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=False,
        protocol="tcp",
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        first = run_batch(path, out=out, scheduler=cluster.scheduler_address)
        assert first.n_failed == 0
        assert Plan.load(out / "r1").region_meta.name == "Grid"
        assert (out / "r1" / "report" / "index.html").is_file()
        # r1's region is damaged: its re-run fails (twice: tried, retried)
        areas = tmp_path / "r1" / "areas.parquet"
        areas.write_bytes(areas.read_bytes()[:200])
        again = run_batch(path, out=out, scheduler=cluster.scheduler_address)
    assert again.n_failed == 1
    folder = out / "r1"
    assert sorted(p.name for p in folder.iterdir()) == [
        "FAILED.txt",
        "manifest.json",
        "summary.json",
    ]
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["status"] == "failed"
    assert "CorruptFileError" in summary["error"]
    assert [t["status"] for t in summary["attempts"]] == ["failed", "failed"]
    with pytest.raises(DataFileError, match="not a plan folder"):
        Plan.load(folder)
    batch = json.loads((out / "batch.json").read_text())
    assert batch["failed"] == ["r1"]
    assert batch["skipped"] == ["r0"]
    tries = batch["attempts"]["r1"]
    assert [t["attempt"] for t in tries] == [1, 2]
    assert all(t["worker"] and "CorruptFileError" in t["error"] for t in tries)
    assert batch["worker_deaths"] == {}
    assert not (out / ".attempts").exists()


def test_a_killed_worker_is_recorded_in_batch_json(tmp_path):
    """SIGKILL the worker planning a region: Dask re-runs it elsewhere; batch.json says so."""
    import json
    import os
    import signal
    import threading
    import time

    for i in range(2):
        grid_region(4 + i).save(tmp_path / f"r{i}")
    entries = "".join(f'[[region]]\nname = "r{i}"\nfolder = "r{i}"\n' for i in range(2))
    path = _write(tmp_path, '[defaults]\nscenario = "small.toml"\nreport = false\n' + entries)
    out = tmp_path / "out"
    killed: list[int] = []

    def kill_first_start() -> None:
        log = out / ".attempts" / "r0.jsonl"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not killed:
            try:
                for line in log.read_text().splitlines():
                    event = json.loads(line)
                    if event["event"] == "start":
                        os.kill(event["pid"], signal.SIGKILL)
                        killed.append(event["pid"])
                        return
            except (OSError, ValueError):
                pass
            time.sleep(0.005)

    killer = threading.Thread(target=kill_first_start, daemon=True)
    killer.start()
    cmd = [sys.executable, "-m", "nhc_planner", "batch", str(path), "--out", str(out)]
    run = subprocess.run([*cmd, "--workers", "2"], capture_output=True, text=True, check=False)
    killer.join(timeout=5)
    assert killed, "the worker was not killed"
    assert run.returncode == 0, run.stderr
    batch = json.loads((out / "batch.json").read_text())
    assert batch["failed"] == []
    tries = batch["attempts"]["r0"]
    assert tries[0]["status"] == "worker died"
    assert "died" in tries[0]["error"]
    assert tries[-1]["status"] == "ok"
    assert batch["worker_deaths"] == {"r0": 1}
    assert [t["status"] for t in batch["attempts"]["r1"]] == ["ok"]
