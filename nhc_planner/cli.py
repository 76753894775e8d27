"""The ``nhc-planner`` command line: argument parsing only, the work is in the API.

Commands
--------
``nhc-planner demo``
    Plan the built-in synthetic demo region and write its report.
``nhc-planner plan --region FOLDER|--demo [--scenario FILE] --out OUT``
    Plan one region; write CSV, GeoJSON, GeoParquet, the report and a run log.
``nhc-planner region build --sources sources.toml --la CODE|--icb CODE|--areas FILE --out FOLDER``
    Build a region folder from official files.
``nhc-planner data fetch --la CODE|--icb CODE --out FOLDER``
    Download the official files for an area (online only).
``nhc-planner batch regions.toml --out OUT [--workers N | --scheduler ADDRESS]``
    Plan many regions on Dask.
``nhc-planner scenario --write-default FILE`` / ``--check FILE`` / ``--describe``
    Write, check or describe scenario files.

Exit codes: 0 success, 1 unexpected error, 2 bad input (files, settings:
:class:`~nhc_planner.NhcInputError`), 3 a computation failed (infeasible
policy, solver, network or download: :class:`~nhc_planner.NhcRuntimeError`),
130 interrupted. Errors print one line on stderr, never a traceback (set
``NHC_DEBUG=1`` to see it).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nhc_planner._errors import NhcError, NhcInputError, NhcRuntimeError

if TYPE_CHECKING:
    from nhc_planner.plan import Plan
    from nhc_planner.region import Region
    from nhc_planner.scenario import Scenario

__all__ = ["build_parser", "main"]

EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_INPUT = 2
EXIT_FAILED = 3
EXIT_INTERRUPTED = 130

DEMO_OUT = "nhc-demo-output"


# --------------------------------------------------------------------------- helpers


class _ProgressBar:
    """Progress on stderr driven by ``progress(stage, fraction)`` callbacks.

    A tqdm bar on a terminal; otherwise (stderr redirected to a file or a
    pipe, where a redrawn bar leaves many partial lines) one line per stage.
    """

    def __init__(
        self, *, enabled: bool, tty: bool = True, log: logging.Logger | None = None
    ) -> None:
        self.enabled = enabled
        self.tty = tty
        self.log = log
        self._bar: Any = None
        self._stage = ""
        self._t0 = time.perf_counter()
        self._stage_t0 = self._t0

    def __call__(self, stage: str, fraction: float) -> None:
        if stage != self._stage:
            self._finish_stage()
            self._stage, self._stage_t0 = stage, time.perf_counter()
        if not (self.enabled and self.tty):
            return
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(
                total=100, file=sys.stderr, leave=False, bar_format="{l_bar}{bar}| {elapsed}"
            )
        self._bar.set_description_str(f"{stage:<24}")
        self._bar.n = round(100 * min(max(fraction, 0.0), 1.0))
        self._bar.refresh()

    def _finish_stage(self) -> None:
        """Say which stage ran and how long it took (once it has ended, not when it starts)."""
        stage, self._stage = self._stage, ""
        if not stage or stage == "done":  # "done" marks the end; it is not a stage of work
            return
        took = time.perf_counter() - self._stage_t0
        if self.log is not None:
            self.log.info("stage %-28s took %6.1f s", stage, took)
        if self.enabled and not self.tty:
            print(f"nhc-planner: {stage} took {took:.1f} s", file=sys.stderr)

    def _elapsed(self) -> float:
        return time.perf_counter() - self._t0

    def close(self) -> None:
        self._finish_stage()
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _load_scenario(path: str | None, *, demo: bool = False) -> Scenario:
    from nhc_planner.scenario import Scenario

    if path is None:
        return Scenario()
    if not demo:
        return Scenario.from_toml(path)
    # The demo's defaults go in before validation: a scenario with only
    # travel.mode = "transit" needs the demo's timetable to validate.
    import tomllib

    import tomli_w

    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return Scenario.from_toml(p)  # its own message for a missing or broken file
    travel = data.get("travel")
    if isinstance(travel, dict) and _wants_demo_network(travel):
        data["travel"] = {**travel, "network": "demo"}
    return Scenario.from_toml_string(tomli_w.dumps(data), source=str(p))


def _wants_demo_network(travel: dict[str, Any]) -> bool:
    no_files = travel.get("network") is None and travel.get("matrix") is None
    return no_files and travel.get("engine", "auto") in ("auto", "road", "transit")


def _load_region(args: argparse.Namespace) -> Region:
    if args.demo:
        from nhc_planner.demo import demo_region

        return demo_region(seed=args.seed)
    from nhc_planner.region import Region

    return Region.load(args.region)


def _demo_scenario(scenario: Scenario) -> Scenario:
    # The demo region ships its own synthetic road network (used unless the scenario
    # names another travel engine or gives a matrix file) and bus timetable (the transit
    # engine takes it, and walks on the network, when travel.network is "demo").
    t = scenario.travel
    if t.network is None and t.matrix is None and t.engine in ("auto", "road", "transit"):
        return scenario.replace(**{"travel.network": "demo"})
    return scenario


def _file_logger(path: Path) -> logging.Logger:
    log = logging.getLogger(f"nhc_planner.run.{path}")
    log.setLevel(logging.INFO)
    log.propagate = False
    for h in list(log.handlers):
        log.removeHandler(h)
        h.close()
    handler = logging.FileHandler(path, mode="w", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    return log


def _close_logger(log: logging.Logger) -> None:
    for h in list(log.handlers):
        log.removeHandler(h)
        h.close()


def _run_plan(region: Region, scenario: Scenario, out: Path, *, quiet: bool, report: bool) -> Plan:
    """Plan, save, report and log; print a concise summary."""
    from nhc_planner.plan import plan

    out.mkdir(parents=True, exist_ok=True)
    log = _file_logger(out / "run.log")
    bar = _ProgressBar(enabled=not quiet, tty=sys.stderr.isatty(), log=log)
    try:
        log.info(
            "region %s (%d areas, %d sites)", region.name, len(region.areas), len(region.sites)
        )
        log.info("scenario %r sha256 %s", scenario.name, scenario.content_hash())
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                result = plan(region, scenario, progress=bar)
        finally:
            bar.close()
        for w in caught:
            log.warning("%s: %s", w.category.__name__, w.message)
            print(f"nhc-planner: note: {w.message}", file=sys.stderr)
        log.info("solver: %s", result.solver.get("message", ""))
        bar("writing plan files", 0.0)
        result.save(out)
        log.info("plan files written to %s", out)
        if report:
            bar("writing report", 0.0)
            path = result.to_html(out / "report")
            log.info("report written to %s", path)
        log.info("done in %.1f s", bar._elapsed())
    except NhcError as exc:
        log.error("%s: %s", type(exc).__name__, exc)
        raise
    finally:
        bar.close()
        _close_logger(log)
    print(result.summary())
    print(f"\nPlan files: {out}/")
    if report:
        print(f"Report:     {out / 'report' / 'index.html'}")
    return result


# --------------------------------------------------------------------------- commands


def _cmd_demo(args: argparse.Namespace) -> int:
    from nhc_planner.demo import demo_region

    region = demo_region(seed=args.seed)
    print(region.summary())
    print()
    scenario = _demo_scenario(_load_scenario(args.scenario, demo=True))
    _run_plan(region, scenario, Path(args.out), quiet=args.quiet, report=not args.no_report)
    return EXIT_OK


def _cmd_plan(args: argparse.Namespace) -> int:
    scenario = _load_scenario(args.scenario, demo=args.demo)
    region = _load_region(args)
    if args.demo:
        scenario = _demo_scenario(scenario)
    _run_plan(region, scenario, Path(args.out), quiet=args.quiet, report=not args.no_report)
    return EXIT_OK


def _read_area_codes(path: str) -> list[str]:
    p = Path(path)
    if not p.is_file():
        msg = f"{p}: area list not found"
        raise NhcInputError(msg)
    lines = [ln.strip() for ln in p.read_text(encoding="utf-8-sig").splitlines()]
    codes = [ln.split(",")[0].strip().strip('"') for ln in lines if ln and not ln.startswith("#")]
    if codes and codes[0].lower() in ("area_code", "lsoa21cd", "lsoa11cd", "code"):
        codes = codes[1:]
    if not codes:
        msg = (
            f"{p}: no area codes found; expected one code per line, "
            "or a CSV whose first column holds them"
        )
        raise NhcInputError(msg)
    return codes


def _cmd_region_build(args: argparse.Namespace) -> int:
    from nhc_planner.build import RegionInputs, build_region_report

    inputs = RegionInputs.from_toml(args.sources)
    region, joins = build_region_report(
        inputs,
        la_codes=args.la or None,
        icb_codes=args.icb or None,
        area_codes=_read_area_codes(args.areas) if args.areas else None,
        name=args.name,
        strict=not args.allow_drops,
    )
    path = region.save(args.out)
    print(region.summary())
    print("\nJoins:")
    for line in joins.lines():
        print(f"  {line}")
    print(f"\nRegion written to {path}/")
    return EXIT_OK


def _cmd_data_fetch(args: argparse.Namespace) -> int:
    from nhc_planner.download import fetch_area

    manifest = fetch_area(la=args.la, icb=args.icb, out=Path(args.out))
    print(f"Sources manifest: {manifest}")
    print(f"Next: nhc-planner region build --sources {manifest} --out REGION_FOLDER ...")
    return EXIT_OK


def _cmd_batch(args: argparse.Namespace) -> int:
    from nhc_planner.batch import run_batch

    result = run_batch(
        args.regions,
        out=Path(args.out),
        workers=args.workers,
        scheduler=args.scheduler,
        progress=None if args.quiet else _print_batch_progress,
    )
    print(result.summary())
    return EXIT_OK if result.n_failed == 0 else EXIT_FAILED


def _print_batch_progress(name: str, status: str) -> None:
    print(f"  {status:<8} {name}", file=sys.stderr, flush=True)


def _cmd_scenario(args: argparse.Namespace) -> int:
    from nhc_planner.scenario import Scenario, describe

    if args.write_default:
        path = Scenario().to_toml(args.write_default)
        print(f"Default scenario written to {path}")
    if args.check:
        s = Scenario.from_toml(args.check)
        print(f"{args.check}: valid scenario {s.name!r} (sha256 {s.content_hash()[:12]})")
    if args.describe:
        for row in describe():
            default = "(omitted)" if row["default"] is None else repr(row["default"])
            unit = f" [{row['unit']}]" if row["unit"] else ""
            print(f"{row['key']:<34} {default:<24} {row['allowed']}{unit}: {row['doc']}")
        print()
        print(_suggestion_text(args))
    return EXIT_OK


def _suggestion_text(args: argparse.Namespace) -> str:
    """The Plan's centres as the region's population share (``--region`` or ``--population``)."""
    from nhc_planner.capacity import NATIONAL_CENTRE_TARGETS, suggested_centres

    population = args.population
    where = "this population"
    if population is None and args.region:
        from nhc_planner.region import Region

        region = Region.load(args.region)
        population = float(region.areas["population"].sum())
        where = region.name
    if population is None:
        targets = ", ".join(f"{n} by {y}" for y, n in sorted(NATIONAL_CENTRE_TARGETS.items()))
        return (
            f"Suggested centres: the Plan's national figures ({targets}) shared by population; "
            "give --region FOLDER or --population N to see the suggestion for a region."
        )
    lines = [f"Suggested centres for {where} (a suggestion, not a default):"]
    for year in sorted(NATIONAL_CENTRE_TARGETS):
        s = suggested_centres(population, year)
        lines.append(
            f"  by {year}: {s.centres} centre(s) (phasing.years = {s.horizon_years}, "
            f"phasing.new_per_year = {s.per_year}). {s.note}"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``nhc-planner`` (one sub-parser per command)."""
    parser = argparse.ArgumentParser(
        prog="nhc-planner",
        description="Plan where to open neighbourhood health centres first, and how big.",
        epilog="Exit codes: 0 ok, 2 bad input, 3 infeasible or failed computation.",
    )
    from nhc_planner._version import __version__

    parser.add_argument("--version", action="version", version=f"nhc-planner {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("demo", help="plan the built-in synthetic demo region and write its report")
    p.add_argument("--out", default=DEMO_OUT, help=f"output folder (default {DEMO_OUT}/)")
    p.add_argument("--seed", type=int, default=0, help="demo generator seed (default 0)")
    p.add_argument("--scenario", help="scenario TOML (default: built-in defaults)")
    p.add_argument("--no-report", action="store_true", help="skip the HTML report")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or stage lines")
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser("plan", help="plan one region")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--region", help="region folder (from `region build`)")
    g.add_argument("--demo", action="store_true", help="use the built-in synthetic demo region")
    p.add_argument("--seed", type=int, default=0, help="demo generator seed with --demo")
    p.add_argument("--scenario", help="scenario TOML (default: built-in defaults)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--no-report", action="store_true", help="skip the HTML report")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or stage lines")
    p.set_defaults(func=_cmd_plan)

    p = sub.add_parser("region", help="build a region from official files")
    rsub = p.add_subparsers(dest="region_command", required=True, metavar="SUBCOMMAND")
    b = rsub.add_parser("build", help="build a region folder from a sources.toml manifest")
    b.add_argument("--sources", required=True, help="sources.toml (from `data fetch` or by hand)")
    g = b.add_mutually_exclusive_group(required=True)
    g.add_argument("--la", action="append", help="local authority code (repeatable)")
    g.add_argument("--icb", action="append", help="ICB code (repeatable)")
    g.add_argument("--areas", help="file with one area code per line")
    b.add_argument("--name", help="region name (default: from the codes)")
    b.add_argument("--out", required=True, help="region folder to write")
    b.add_argument(
        "--allow-drops",
        action="store_true",
        help="build even if selected areas must be left out (missing from the boundaries or "
        "lacking a value); by default that is an error naming the areas and residents",
    )
    b.set_defaults(func=_cmd_region_build)

    p = sub.add_parser("data", help="download official data (online only)")
    dsub = p.add_subparsers(dest="data_command", required=True, metavar="SUBCOMMAND")
    f = dsub.add_parser("fetch", help="download the official files for an area")
    g = f.add_mutually_exclusive_group(required=True)
    g.add_argument("--la", help="local authority code, e.g. E08000035")
    g.add_argument("--icb", help="ICB code, e.g. E54000054")
    f.add_argument("--out", required=True, help="download folder")
    f.set_defaults(func=_cmd_data_fetch)

    p = sub.add_parser("batch", help="plan many regions on Dask")
    p.add_argument("regions", help="regions.toml listing the regions (see docs/batch.md)")
    p.add_argument("--out", required=True, help="output folder")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--workers", type=int, help="local Dask cluster with N workers (default 2)")
    g.add_argument("--scheduler", help="address of a running Dask scheduler, e.g. tcp://host:8786")
    p.add_argument("-q", "--quiet", action="store_true", help="no per-region progress lines")
    p.set_defaults(func=_cmd_batch)

    p = sub.add_parser("scenario", help="write, check or describe scenario files")
    p.add_argument("--write-default", metavar="FILE", help="write the default scenario to FILE")
    p.add_argument("--check", metavar="FILE", help="validate a scenario file")
    p.add_argument("--describe", action="store_true", help="list every key with default and unit")
    p.add_argument(
        "--region", metavar="FOLDER", help="with --describe: suggest centres for this region"
    )
    p.add_argument(
        "--population",
        type=float,
        metavar="N",
        help="with --describe: suggest centres for N residents",
    )
    p.set_defaults(func=_cmd_scenario)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (see the module docstring)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "scenario" and not (args.write_default or args.check or args.describe):
        parser.error("scenario: give --write-default FILE, --check FILE or --describe")
    if args.command == "batch" and args.workers is not None and args.workers < 1:
        parser.error(f"batch: --workers must be at least 1; found {args.workers}")
    func: Callable[[argparse.Namespace], int] = args.func
    debug = os.environ.get("NHC_DEBUG", "") not in ("", "0")
    try:
        return func(args)
    except KeyboardInterrupt:
        print("nhc-planner: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except NhcInputError as exc:
        if debug:
            raise
        print(f"nhc-planner: error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except NhcRuntimeError as exc:
        if debug:
            raise
        print(f"nhc-planner: failed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except BrokenPipeError:  # output piped into `head` and closed
        return EXIT_OK
    except (OSError, ValueError) as exc:
        if debug:
            raise
        print(f"nhc-planner: error: {exc}", file=sys.stderr)
        return EXIT_INPUT
