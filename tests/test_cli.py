"""Tests of the nhc-planner command line (nhc_planner.cli): commands, files, exit codes."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from nhc_planner.cli import EXIT_FAILED, EXIT_INPUT, EXIT_OK, main
from nhc_planner.plan import Plan
from nhc_planner.region import Region
from nhc_planner.scenario import Scenario
from tests.test_batch import SMALL
from tests.test_plan import grid_region

DATA_SMALL = Path(__file__).parent / "data_small"


@pytest.fixture(scope="module")
def region_folder(tmp_path_factory) -> Path:
    return grid_region().save(tmp_path_factory.mktemp("region") / "grid")


@pytest.fixture(scope="module")
def small_toml(tmp_path_factory) -> Path:
    return SMALL.to_toml(tmp_path_factory.mktemp("scenario") / "small.toml")


def test_scenario_write_check_describe(tmp_path, capsys):
    path = tmp_path / "s.toml"
    assert main(["scenario", "--write-default", str(path)]) == EXIT_OK
    assert Scenario.from_toml(path) == Scenario()
    assert main(["scenario", "--check", str(path)]) == EXIT_OK
    assert "valid scenario" in capsys.readouterr().out
    assert main(["scenario", "--describe"]) == EXIT_OK
    assert "phasing.years" in capsys.readouterr().out


def test_bad_scenario_is_exit_2_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("[phasing]\nyeras = 3\n")
    assert main(["scenario", "--check", str(bad)]) == EXIT_INPUT
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "Traceback" not in err
    assert "unknown key 'phasing.yeras'; did you mean 'phasing.years'?" in err


def test_plan_writes_files_log_and_summary(region_folder, small_toml, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(
        [
            "plan",
            "--region",
            str(region_folder),
            "--scenario",
            str(small_toml),
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert code == EXIT_OK
    for name in ("centres", "assignments"):
        for ext in ("csv", "geojson", "parquet"):
            assert (out / f"{name}.{ext}").is_file()
    assert (out / "report" / "index.html").is_file()
    log = (out / "run.log").read_text()
    assert "stage optimising" in log
    assert re.search(r"stage optimising +took +\d+\.\d s", log)  # duration, not start time
    assert "done in" in log
    text = capsys.readouterr().out
    assert "Population within 10 minutes' drive" in text
    assert "Optimal" in text
    plan = Plan.load(out)
    assert len(plan.new_centres) == 3
    assert pd.read_csv(out / "kpis.csv")["metric"].tolist()[0] == "centres"


def test_plan_over_an_earlier_plan(region_folder, small_toml, tmp_path, capsys):
    """A second `plan --out` into the same folder replaces the plan whole, keeps logging."""
    out = tmp_path / "out"
    args = ["plan", "--region", str(region_folder), "--scenario", str(small_toml)]
    assert main([*args, "--out", str(out), "--quiet"]) == EXIT_OK
    assert main([*args, "--out", str(out), "--quiet"]) == EXIT_OK
    assert "done in" in (out / "run.log").read_text()  # the log of the second run, whole
    assert (out / "report" / "index.html").is_file()
    assert Plan.load(out).solver["status"] == "optimal"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]


def test_plan_progress_without_terminal_is_one_line_per_stage(
    region_folder, small_toml, tmp_path, capsys
):
    # capsys's stderr is not a terminal: no redrawn bar, one line per stage
    args = ["plan", "--region", str(region_folder), "--scenario", str(small_toml), "--no-report"]
    assert main([*args, "--out", str(tmp_path / "out")]) == EXIT_OK
    err = capsys.readouterr().err
    assert "\r" not in err
    # each line names a stage once it has ended and says how long it took
    assert err.count("nhc-planner: optimising took ") == 1
    assert re.search(r"nhc-planner: writing plan files took \d+\.\d s", err)
    assert "nhc-planner: done" not in err  # the end marker is not a stage of work
    assert main([*args, "--out", str(tmp_path / "quiet"), "--quiet"]) == EXIT_OK
    assert "nhc-planner: optimising" not in capsys.readouterr().err


def test_plan_exit_codes(region_folder, tmp_path, capsys):
    # bad input: region folder missing -> 2
    assert main(["plan", "--region", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]) == (
        EXIT_INPUT
    )
    assert "not a region folder" in capsys.readouterr().err
    # infeasible policy -> 3
    tight = Scenario().replace(
        **{
            "policy.model": "coverage",
            "policy.equity_floor": 1.0,
            "need.most_deprived_deciles": 5,
            "travel.standard_min": 5.0,
            "phasing.years": 1,
            "phasing.new_per_year": 1,
        }
    )
    path = tight.to_toml(tmp_path / "tight.toml")
    code = main(
        [
            "plan",
            "--region",
            str(region_folder),
            "--scenario",
            str(path),
            "--out",
            str(tmp_path / "o2"),
            "-q",
            "--no-report",
        ]
    )
    assert code == EXIT_FAILED
    err = capsys.readouterr().err
    assert "policy cannot be met" in err
    assert "Traceback" not in err
    assert "InfeasibleError" in (tmp_path / "o2" / "run.log").read_text()


def test_region_build(tmp_path, capsys):
    out = tmp_path / "region"
    code = main(
        [
            "region",
            "build",
            "--sources",
            str(DATA_SMALL / "sources.toml"),
            "--la",
            "X08000001",
            "--out",
            str(out),
        ]
    )
    assert code == EXIT_OK
    assert len(Region.load(out).areas) == 4
    assert "Join report" in capsys.readouterr().out
    areas = tmp_path / "areas.txt"
    areas.write_text("area_code\nX01000001\nX01000002\n")
    code = main(
        [
            "region",
            "build",
            "--sources",
            str(DATA_SMALL / "sources.toml"),
            "--areas",
            str(areas),
            "--out",
            str(tmp_path / "two"),
        ]
    )
    assert code == EXIT_OK
    assert len(Region.load(tmp_path / "two").areas) == 2
    missing = main(
        ["region", "build", "--sources", str(tmp_path / "x.toml"), "--la", "X", "--out", "o"]
    )
    assert missing == EXIT_INPUT


def test_argument_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["data", "fetch", "--out", "x"])
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        main(["plan", "--out", "x"])
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        main(["scenario"])
    assert info.value.code == 2


def test_batch_command(region_folder, small_toml, tmp_path):
    regions = tmp_path / "regions.toml"
    regions.write_text(
        f'[defaults]\nscenario = "{small_toml}"\nreport = false\n'
        f'[[region]]\nname = "grid"\nfolder = "{region_folder}"\n'
    )
    # in its own process: Dask's worker processes re-import the parent's __main__,
    # which inside a pytest-xdist worker is execnet's bootstrap, not a script
    out = str(tmp_path / "b")
    done = subprocess.run(
        [sys.executable, "-m", "nhc_planner", "batch", str(regions), "--out", out, "-q"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == EXIT_OK, done.stderr
    assert "1 planned" in done.stdout
    assert (tmp_path / "b" / "index.html").is_file()


def test_python_dash_m():
    done = subprocess.run(
        [sys.executable, "-m", "nhc_planner", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0
    assert done.stdout.startswith("nhc-planner ")


def test_demo_command_full_plan_and_report(tmp_path, capsys):
    out = tmp_path / "demo"
    coverage = Scenario().replace(**{"policy.model": "coverage"}).to_toml(tmp_path / "c.toml")
    assert main(["demo", "--out", str(out), "--quiet", "--scenario", str(coverage)]) == EXIT_OK
    text = capsys.readouterr().out
    assert "Region: Demoshire" in text  # the region summary ...
    assert "SYNTHETIC" in text
    assert "Year 1:" in text  # ... and the plan
    assert (out / "report" / "index.html").is_file()
    plan = Plan.load(out)
    assert plan.region_meta.synthetic
    assert len(plan.new_centres) == 10
    assert (plan.assignments["travel_method"] == "network").mean() > 0.9
    assert plan.scenario.travel.network == "demo"


def test_region_build_is_strict_unless_allow_drops(tmp_path, capsys):
    small = tmp_path / "small"
    shutil.copytree(DATA_SMALL, small)
    pop = small / "census_total.csv"
    pop.write_text("\n".join(pop.read_text().splitlines()[:4]) + "\n")  # drop X01000004
    args = ["region", "build", "--sources", str(small / "sources.toml"), "--la", "X08000001"]
    code = main([*args, "--out", str(tmp_path / "strict")])
    assert code == EXIT_INPUT
    err = capsys.readouterr().err
    assert "would be dropped" in err
    assert "X01000004" in err
    assert "--allow-drops" in err
    assert "Traceback" not in err
    assert not (tmp_path / "strict").exists()
    code = main([*args, "--out", str(tmp_path / "lenient"), "--allow-drops"])
    assert code == EXIT_OK
    assert len(Region.load(tmp_path / "lenient").areas) == 3


def test_a_demo_scenario_by_transit_takes_the_demo_timetable(tmp_path):
    from nhc_planner.cli import _load_scenario

    toml = tmp_path / "transit.toml"
    toml.write_text('[travel]\nmode = "transit"\nstandard_min = 30\ncutoff_min = 90\n')
    s = _load_scenario(str(toml), demo=True)
    assert (s.travel.mode, s.travel.network, s.travel.transit_feed) == ("transit", "demo", None)
    from nhc_planner.travel import resolve_engine_name

    assert resolve_engine_name(s.travel) == "transit"
    with pytest.raises(Exception, match=r"travel\.transit_feed"):
        _load_scenario(str(toml))  # outside the demo a feed is needed
