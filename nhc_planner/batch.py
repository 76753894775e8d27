"""Plan many regions in parallel on Dask, with retries, skipping and a league table.

A batch is described by a ``regions.toml`` file::

    [defaults]
    scenario = "scenario.toml"   # optional; the built-in default scenario otherwise
    report = true                # write each region's HTML report (default true)

    [[region]]
    name = "demo-0"
    demo = 0                     # the built-in synthetic region with this seed

    [[region]]
    name = "leeds"
    folder = "regions/leeds"     # a region folder written by `nhc-planner region build`
    scenario = "leeds.toml"      # a scenario for this region only

    [[region]]
    name = "rutland"
    sources = "data/sources.toml"  # official files (see docs/data.md) ...
    la = ["E06000017"]             # ... and the codes to build (or icb = [...], areas = [...])

Relative paths are relative to the ``regions.toml`` file. Each region is
planned by one Dask task (:func:`plan_region`): build or load the region, plan
it, write its files and report under ``OUT/<name>/``. A task that fails is
retried once; a region that still fails is recorded with its error and the
others carry on. When every region is done, :func:`run_batch` writes the
index: ``OUT/index.csv`` and ``OUT/index.html``, a league table of coverage
and equity before and after, and ``OUT/batch.json``.

Re-running skips regions whose inputs and scenario have not changed: each
region's *input hash* (SHA-256 of the region's files or demo seed, of its
scenario and of the nhc-planner version) is stored in ``OUT/<name>/inputs.sha256``
after a successful run.

Workers must see the same file system as the client (paths are passed, not
data).
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import json
import logging
import os
import re
import shutil
import time
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from nhc_planner._atomic import atomic_folder, atomic_write_text
from nhc_planner._csv import write_csv
from nhc_planner._errors import DataFileError, NhcRuntimeError
from nhc_planner.scenario import Scenario

__all__ = ["BatchResult", "RegionJob", "plan_region", "read_regions", "run_batch"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")
_REGION_KEYS = ("name", "demo", "folder", "sources", "la", "icb", "areas", "scenario")
_DEFAULT_KEYS = ("scenario", "report")
HASH_FILE = "inputs.sha256"
_ATTEMPTS = ".attempts"  # OUT/.attempts/<name>.jsonl: starts and ends of each try (removed after)


@dataclass(frozen=True)
class RegionJob:
    """One region of a batch: where its data comes from and its scenario.

    Exactly one of ``demo``, ``folder`` and ``sources`` is set.

    Attributes
    ----------
    name
        Label, also the output sub-folder (letters, digits, ``._-``).
    demo
        Seed of the built-in synthetic region.
    folder
        A region folder (:meth:`nhc_planner.Region.save`).
    sources
        A ``sources.toml`` manifest, built with ``la``/``icb``/``areas`` codes.
    la, icb, areas
        Codes to build from ``sources``.
    scenario
        Scenario TOML text (already validated), so workers need no access to it.
    scenario_path
        Where the scenario came from (for messages), or ``""`` for the default.
    report
        Write the HTML report.
    """

    name: str
    demo: int | None = None
    folder: str | None = None
    sources: str | None = None
    la: tuple[str, ...] = ()
    icb: tuple[str, ...] = ()
    areas: tuple[str, ...] = ()
    scenario: str = ""
    scenario_path: str = ""
    report: bool = True

    def load_scenario(self) -> Scenario:
        """The job's scenario."""
        if not self.scenario:
            return Scenario()
        return Scenario.from_toml_string(self.scenario, source=self.scenario_path or self.name)

    def load_region(self) -> Any:
        """Build or load the job's :class:`~nhc_planner.region.Region`."""
        if self.demo is not None:
            from nhc_planner.demo import demo_region

            return demo_region(seed=self.demo)
        if self.folder is not None:
            from nhc_planner.region import Region

            return Region.load(self.folder)
        from nhc_planner.build import RegionInputs, build_region

        assert self.sources is not None
        inputs = RegionInputs.from_toml(self.sources)
        return build_region(
            inputs,
            la_codes=list(self.la) or None,
            icb_codes=list(self.icb) or None,
            area_codes=list(self.areas) or None,
            name=self.name,
        )

    def input_hash(self) -> str:
        """SHA-256 of everything the job's result depends on.

        The region's files (or the demo seed and generator), the scenario
        and the nhc-planner version. Missing files hash as missing, so the
        job still runs (and fails with a clear message).
        """
        from nhc_planner._version import __version__

        h = hashlib.sha256()
        h.update(f"nhc-planner {__version__}\n".encode())
        h.update(Scenario().to_toml_string().encode() if not self.scenario else b"")
        h.update(self.scenario.encode())
        if self.demo is not None:
            h.update(f"demo seed {self.demo}\n".encode())
            here = Path(__file__).parent
            for generator in sorted([*here.glob("demo.py"), *here.glob("_demo*.py")]):
                _hash_file(h, generator)
        elif self.folder is not None:
            folder = Path(self.folder)
            for part in ("region.json", "areas.parquet", "sites.parquet"):
                _hash_file(h, folder / part)
        else:
            assert self.sources is not None
            manifest = Path(self.sources)
            _hash_file(h, manifest)
            h.update(repr((self.la, self.icb, self.areas)).encode())
            for path in _manifest_files(manifest):
                _hash_file(h, path)
        return h.hexdigest()


def _hash_file(h: Any, path: Path) -> None:
    h.update(str(path.name).encode())
    if not path.is_file():
        h.update(b"<missing>")
        return
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)


def _manifest_files(manifest: Path) -> list[Path]:
    """Files a sources.toml refers to (string values naming existing files)."""
    try:
        data = tomllib.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return []
    found: list[Path] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for k in sorted(value):
                walk(value[k])
        elif isinstance(value, list):
            for v in value:
                walk(v)
        elif isinstance(value, str):
            p = manifest.parent / value
            if p.is_file():
                found.append(p)

    walk(data)
    return found


# --------------------------------------------------------------------------- regions.toml


def _codes(value: Any, key: str, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    msg = f"{where}: '{key}' must be a code or a list of codes; found {value!r}"
    raise DataFileError(msg)


def _read_scenario(path: Path) -> tuple[str, str]:
    scenario = Scenario.from_toml(path)  # validates, raises ScenarioError naming the file
    return scenario.to_toml_string(), str(path)


def read_regions(path: str | Path) -> list[RegionJob]:
    """Read and validate a ``regions.toml`` (see the module docstring).

    Raises
    ------
    DataFileError
        If the file is missing, not TOML, or a region entry is malformed
        (the message names the entry and key).
    ScenarioError
        If a scenario file is invalid.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "regions.toml").write_text('[[region]]\\nname = "a"\\ndemo = 1\\n')
    >>> [(j.name, j.demo) for j in read_regions(folder / "regions.toml")]
    [('a', 1)]
    """
    p = Path(path)
    if not p.is_file():
        msg = f"{p}: regions file not found"
        raise DataFileError(msg)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        msg = f"{p}: not valid TOML ({exc})"
        raise DataFileError(msg) from exc
    unknown = sorted(set(data) - {"defaults", "region"})
    if unknown:
        msg = f"{p}: unknown table(s) {unknown}; expected [defaults] and [[region]] entries"
        raise DataFileError(msg)
    defaults = data.get("defaults", {})
    bad = sorted(set(defaults) - set(_DEFAULT_KEYS))
    if bad:
        msg = f"{p}: [defaults] has unknown key(s) {bad}; allowed: {list(_DEFAULT_KEYS)}"
        raise DataFileError(msg)
    report = defaults.get("report", True)
    if not isinstance(report, bool):
        msg = f"{p}: [defaults] report must be true or false; found {report!r}"
        raise DataFileError(msg)
    base = p.parent
    default_scenario = ("", "")
    if "scenario" in defaults:
        default_scenario = _read_scenario(base / str(defaults["scenario"]))
    entries = data.get("region", [])
    if not isinstance(entries, list) or not entries:
        msg = f"{p}: no [[region]] entries; add at least one"
        raise DataFileError(msg)
    jobs: list[RegionJob] = []
    names: set[str] = set()
    for i, entry in enumerate(entries, start=1):
        where = f"{p}: region #{i}"
        bad = sorted(set(entry) - set(_REGION_KEYS))
        if bad:
            msg = f"{where}: unknown key(s) {bad}; allowed: {list(_REGION_KEYS)}"
            raise DataFileError(msg)
        name = entry.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            msg = (
                f"{where}: 'name' must be 1-80 letters, digits, '.', '_' or '-' (it names the "
                f"output folder); found {name!r}"
            )
            raise DataFileError(msg)
        if name in names:
            msg = f"{where}: duplicate name {name!r}"
            raise DataFileError(msg)
        names.add(name)
        given = [k for k in ("demo", "folder", "sources") if k in entry]
        if len(given) != 1:
            msg = f"{where} ({name}): give exactly one of demo, folder, sources; found {given}"
            raise DataFileError(msg)
        kwargs: dict[str, Any] = {"name": name, "report": report}
        if "demo" in entry:
            seed = entry["demo"]
            if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
                msg = f"{where} ({name}): 'demo' must be a seed (integer >= 0); found {seed!r}"
                raise DataFileError(msg)
            kwargs["demo"] = seed
        elif "folder" in entry:
            kwargs["folder"] = str(base / str(entry["folder"]))
        else:
            kwargs["sources"] = str(base / str(entry["sources"]))
            for key in ("la", "icb", "areas"):
                if key in entry:
                    kwargs[key] = _codes(entry[key], key, f"{where} ({name})")
            if not any(kwargs.get(k) for k in ("la", "icb", "areas")):
                msg = f"{where} ({name}): 'sources' needs la, icb or areas codes"
                raise DataFileError(msg)
        if "scenario" in entry:
            text, source = _read_scenario(base / str(entry["scenario"]))
        else:
            text, source = default_scenario
        kwargs["scenario"], kwargs["scenario_path"] = text, source
        jobs.append(RegionJob(**kwargs))
    return jobs


# --------------------------------------------------------------------------- one region


def plan_region(job: RegionJob, out: str | Path, *, digest: str | None = None) -> dict[str, Any]:
    """Plan one region and write its files under ``out/<name>/``; return its league-table row.

    ``digest`` is the job's :meth:`RegionJob.input_hash` (computed when None),
    stored after success so that an unchanged re-run can skip the region.
    Raises on failure.
    """
    from nhc_planner.plan import plan

    t0 = time.perf_counter()
    folder = Path(out) / job.name
    scenario = job.load_scenario()
    region = job.load_region()
    result = plan(region, scenario)
    # the region's whole folder is replaced at once: the plan, report, summary and input
    # hash of one run, never a mix with an older run's (see nhc_planner._atomic)
    with atomic_folder(folder) as tmp:
        result.save(tmp)
        if job.report:
            result.to_html(tmp / "report")
        row = _row(job, result, seconds=time.perf_counter() - t0)
        (tmp / "summary.json").write_text(json.dumps(row, indent=2, sort_keys=True) + "\n")
        (tmp / HASH_FILE).write_text((digest or job.input_hash()) + "\n")
    return row


def _mark_failed(folder: Path, row: dict[str, Any]) -> None:
    """Replace a failed region's folder by one saying so: no stale plan, report or status.

    The folder then holds only ``summary.json`` (``"status": "failed"``, the error
    and the attempts) and ``FAILED.txt``; a plan from an earlier run is removed,
    so nothing in it can be mistaken for this run's result.
    """
    with atomic_folder(folder) as tmp:
        (tmp / "summary.json").write_text(json.dumps(row, indent=2, sort_keys=True) + "\n")
        (tmp / "FAILED.txt").write_text(
            f"This region failed in the last batch run: {row.get('error', '')}\n"
            "Any plan from an earlier run was removed. Fix the error and run the batch again.\n",
            encoding="utf-8",
        )


def _row(job: RegionJob, result: Any, *, seconds: float) -> dict[str, Any]:
    a = result.assignments
    k = result.kpis.set_index("metric")

    def get(metric: str, when: str) -> float:
        return float(k.at[metric, when]) if metric in k.index else float("nan")

    return {
        "region": job.name,
        "region_name": result.region_meta.name,
        "synthetic": bool(result.region_meta.synthetic),
        "status": "ok",
        "areas": len(a),
        "population": float(a["population"].sum()),
        "new_centres": int((result.centres["status"] == "new").sum()),
        "share_before": get("share_covered", "before"),
        "share_after": get("share_covered", "after"),
        "deprived_share_before": get("imd12_share_covered", "before"),
        "deprived_share_after": get("imd12_share_covered", "after"),
        "hle_weighted_before": get("hle_weighted_coverage", "before"),
        "hle_weighted_after": get("hle_weighted_coverage", "after"),
        "mean_minutes_after": get("mean_minutes", "after"),
        "capex_gbp": get("capex_gbp", "after"),
        "solver_status": str(result.solver.get("status", "")),
        "solver_gap": float(result.solver.get("gap", float("nan"))),
        "seconds": round(seconds, 2),
        "skipped": False,
        "error": "",
        "report": f"{job.name}/report/index.html" if job.report else "",
    }


# --------------------------------------------------------------------------- the batch


@dataclass(frozen=True)
class BatchResult:
    """Outcome of :func:`run_batch`.

    Attributes
    ----------
    table
        The league table (one row per region, ranked; failures last).
    out
        Output folder.
    index_html, index_csv
        Paths of the index report.
    """

    table: pd.DataFrame
    out: Path
    index_html: Path
    index_csv: Path
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def n_failed(self) -> int:
        """Regions that failed (after their retry)."""
        return int((self.table["status"] == "failed").sum())

    @property
    def n_skipped(self) -> int:
        """Regions skipped because their inputs had not changed."""
        return int(self.table["skipped"].sum())

    def summary(self) -> str:
        """A few lines for the terminal."""
        t = self.table
        ok = t[t["status"] == "ok"]
        lines = [
            f"Batch: {len(t)} region(s): {len(ok)} planned ({self.n_skipped} unchanged, "
            f"skipped), {self.n_failed} failed, in {self.seconds:.1f} s"
        ]
        for row in t.itertuples():
            if row.status == "ok":
                lines.append(
                    f"  {row.rank:>3}. {row.region:<24} coverage {row.share_before:.0%} -> "
                    f"{row.share_after:.0%}, most deprived {row.deprived_share_before:.0%} -> "
                    f"{row.deprived_share_after:.0%}"
                )
            else:
                lines.append(f"    -  {row.region:<24} FAILED: {row.error}")
        lines.append(f"Index: {self.index_html}")
        return "\n".join(lines)


def _worker_name() -> str:
    try:
        from dask.distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return f"pid {os.getpid()}"


def _log_path(out: str | Path, name: str) -> Path:
    return Path(out) / _ATTEMPTS / f"{name}.jsonl"


def _log_event(out: str | Path, name: str, event: dict[str, Any]) -> None:
    """Append one line to the region's attempt log (shared file system, one writer at a time)."""
    path = _log_path(out, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(event, sort_keys=True) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def _attempt(job: RegionJob, out: str, digest: str, attempt: int = 1) -> dict[str, Any]:
    """The Dask task: plan one region; a failure becomes a ``failed`` row (no traceback).

    Each start and end is logged (worker, process) so that a worker that died
    mid-task, and Dask's silent re-run of the task elsewhere, show in ``batch.json``.
    """
    worker = _worker_name()
    base = {"attempt": attempt, "worker": worker, "pid": os.getpid()}
    _log_event(out, job.name, {**base, "event": "start", "time": time.time()})
    try:
        row = plan_region(job, out, digest=digest)
    except Exception as exc:  # one region's failure must not stop the batch
        row = _failed_row(job, exc)
    row["worker"] = worker
    _log_event(
        out,
        job.name,
        {**base, "event": "end", "status": row["status"], "error": row.get("error", "")},
    )
    return row


def _attempts_of(out: Path, name: str, outcomes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every try of a region: from its attempt log, plus the client's view of each submission.

    A logged start with no end is a worker that died while planning the region.
    ``outcomes`` are the client's results per submission (status, error).
    """
    events: list[dict[str, Any]] = []
    with contextlib.suppress(OSError):
        for line in _log_path(out, name).read_text(encoding="utf-8").splitlines():
            with contextlib.suppress(json.JSONDecodeError):
                events.append(json.loads(line))
    ended = {
        (e.get("attempt"), e.get("worker"), e.get("pid")): e for e in events if e["event"] == "end"
    }
    tries: list[dict[str, Any]] = []
    for e in events:
        if e.get("event") != "start":
            continue
        end = ended.get((e.get("attempt"), e.get("worker"), e.get("pid")))
        tries.append(
            {
                "attempt": e.get("attempt"),
                "worker": e.get("worker"),
                "status": end["status"] if end else "worker died",
                "error": (end or {}).get("error", "")
                or ("" if end else "the worker process died while planning this region"),
            }
        )
    for i, outcome in enumerate(outcomes, start=1):
        if not any(t["attempt"] == i for t in tries):  # never started, or died before logging
            tries.append({"attempt": i, "worker": "", **outcome})
    return sorted(tries, key=lambda t: int(t["attempt"] or 0))


def _failed_row(job: RegionJob, error: BaseException | str) -> dict[str, Any]:
    text = f"{type(error).__name__}: {error}" if isinstance(error, BaseException) else str(error)
    return {
        "region": job.name,
        "status": "failed",
        "error": text.splitlines()[0][:500],
        "skipped": False,
    }


def _previous(job: RegionJob, out: Path, digest: str) -> dict[str, Any] | None:
    folder = out / job.name
    try:
        stored = (folder / HASH_FILE).read_text().strip()
        row = json.loads((folder / "summary.json").read_text())
    except (OSError, json.JSONDecodeError):
        return None
    if stored != digest or not (folder / "plan.json").is_file():
        return None
    return {**row, "skipped": True}


def run_batch(
    regions: str | Path | Sequence[RegionJob],
    *,
    out: str | Path,
    workers: int | None = None,
    scheduler: str | None = None,
    retries: int = 1,
    force: bool = False,
    connect_timeout_s: float = 10.0,
    progress: Callable[[str, str], None] | None = None,
) -> BatchResult:
    """Plan every region of a batch on Dask and write the index report.

    Parameters
    ----------
    regions
        A ``regions.toml`` path or a list of :class:`RegionJob`.
    out
        Output folder: one sub-folder per region, plus ``index.html``,
        ``index.csv`` and ``batch.json``.
    workers
        Size of the local Dask cluster (default 2 processes, one thread each).
    scheduler
        Address of a running Dask scheduler (e.g. ``"tcp://10.0.0.5:8786"``);
        used instead of a local cluster.
    retries
        Times a failed region is tried again (default 1).
    force
        Plan every region even if its inputs have not changed.
    connect_timeout_s
        How long to try to reach ``scheduler`` before giving up.
    progress
        ``progress(region_name, status)`` called as regions finish
        (``"ok"``, ``"failed"``, ``"skipped"``) or are retried (``"retrying"``).

    Returns
    -------
    BatchResult
    """
    from dask.distributed import Client, LocalCluster, as_completed

    t0 = time.perf_counter()
    jobs = read_regions(regions) if isinstance(regions, str | Path) else list(regions)
    out_path = Path(out)
    out_path.mkdir(parents=True, exist_ok=True)
    say = progress or (lambda name, status: None)
    rows: dict[str, dict[str, Any]] = {}
    attempts: dict[str, int] = {}
    outcomes: dict[str, list[dict[str, Any]]] = {}
    todo: list[tuple[RegionJob, str]] = []
    for job in jobs:
        digest = job.input_hash()
        prev = None if force else _previous(job, out_path, digest)
        if prev is not None:
            rows[job.name] = prev
            say(job.name, "skipped")
        else:
            todo.append((job, digest))
    if todo:
        cluster = None
        if scheduler:
            try:
                client = Client(scheduler, timeout=f"{connect_timeout_s}s")
            except OSError as exc:
                msg = f"cannot reach the Dask scheduler at {scheduler!r} ({exc})"
                raise NhcRuntimeError(msg) from exc
        else:
            n = workers if workers is not None else 2
            cluster = LocalCluster(
                n_workers=n,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                host="127.0.0.1",
                silence_logs=logging.ERROR,
            )
            client = Client(cluster)
        try:
            digests = {job.name: digest for job, digest in todo}
            futures: dict[Any, RegionJob] = {}
            for job, _ in todo:
                _log_path(out_path, job.name).unlink(missing_ok=True)

            def submit(job: RegionJob) -> Any:
                n = attempts[job.name] = attempts.get(job.name, 0) + 1
                digest = digests[job.name]
                key = f"plan-{job.name}-{n}-{digest[:12]}"
                future = client.submit(_attempt, job, str(out_path), digest, n, key=key, pure=False)
                futures[future] = job
                return future

            queue = as_completed([submit(job) for job, _ in todo])
            for future in queue:
                job = futures.pop(future)
                if future.status == "finished":
                    row = future.result()
                else:  # the worker died (every time Dask tried) or the task was cancelled
                    error = future.exception() if future.status == "error" else "cancelled"
                    row = _failed_row(job, error if error is not None else "cancelled")
                outcomes.setdefault(job.name, []).append(
                    {"status": row["status"], "error": row.get("error", "")}
                )
                if row["status"] != "ok" and attempts[job.name] <= retries:
                    say(job.name, "retrying")
                    queue.add(submit(job))
                    continue
                row["attempts"] = attempts[job.name]
                rows[job.name] = row
                say(job.name, row["status"])
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    tries = {name: _attempts_of(out_path, name, outcomes.get(name, [])) for name in attempts}
    for name, row in rows.items():
        if row["status"] != "ok" and not row.get("skipped"):
            _mark_failed(out_path / name, {**row, "attempts": tries.get(name, [])})
    shutil.rmtree(out_path / _ATTEMPTS, ignore_errors=True)
    table = _league_table([rows[j.name] for j in jobs])
    index_csv = write_csv(table, out_path / "index.csv")
    index_html = atomic_write_text(out_path / "index.html", _index_html(table))
    seconds = time.perf_counter() - t0
    deaths = {
        name: sum(t["status"] == "worker died" for t in ts)
        for name, ts in tries.items()
        if any(t["status"] == "worker died" for t in ts)
    }
    atomic_write_text(
        out_path / "batch.json",
        json.dumps(
            {
                "regions": [j.name for j in jobs],
                "failed": table.loc[table["status"] == "failed", "region"].tolist(),
                "skipped": table.loc[table["skipped"], "region"].tolist(),
                "seconds": round(seconds, 2),
                "scheduler": scheduler or f"local cluster, {workers or 2} workers",
                "attempts": tries,
                "worker_deaths": deaths,
            },
            indent=2,
        )
        + "\n",
    )
    return BatchResult(
        table=table, out=out_path, index_html=index_html, index_csv=index_csv, seconds=seconds
    )


_TABLE_COLUMNS = (
    "rank",
    "region",
    "region_name",
    "status",
    "synthetic",
    "areas",
    "population",
    "new_centres",
    "share_before",
    "share_after",
    "share_gain",
    "deprived_share_before",
    "deprived_share_after",
    "deprived_gain",
    "hle_weighted_before",
    "hle_weighted_after",
    "mean_minutes_after",
    "capex_gbp",
    "solver_status",
    "solver_gap",
    "seconds",
    "skipped",
    "error",
    "report",
)


def _league_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Rank planned regions by coverage after the plan, then most-deprived coverage."""
    t = pd.DataFrame(rows)
    for col in _TABLE_COLUMNS:
        if col not in t.columns:
            t[col] = pd.NA if col not in ("error", "report") else ""
    t["error"] = t["error"].fillna("").astype(str)
    t["report"] = t["report"].fillna("").astype(str)
    t["skipped"] = t["skipped"].fillna(False).astype(bool)
    ok = t["status"] == "ok"
    num = [
        "share_before",
        "share_after",
        "deprived_share_before",
        "deprived_share_after",
    ]
    for col in num:
        t[col] = pd.to_numeric(t[col], errors="coerce")
    t["share_gain"] = t["share_after"] - t["share_before"]
    t["deprived_gain"] = t["deprived_share_after"] - t["deprived_share_before"]
    t["_ok"] = ~ok
    t = t.sort_values(
        ["_ok", "share_after", "deprived_share_after", "region"],
        ascending=[True, False, False, True],
        kind="stable",
    ).reset_index(drop=True)
    t["rank"] = pd.array(
        [i + 1 if s == "ok" else pd.NA for i, s in enumerate(t["status"])], dtype="Int64"
    )
    return t[list(_TABLE_COLUMNS)]


def _pct(v: Any) -> str:
    return "" if pd.isna(v) else f"{float(v):.0%}"


def _pp(v: Any) -> str:
    return "" if pd.isna(v) else f"{100 * float(v):+.0f}&nbsp;pp"


def _index_html(table: pd.DataFrame) -> str:
    """A self-contained HTML league table (no scripts, no network)."""
    head = (
        "<tr><th>Rank</th><th>Region</th><th>Areas</th><th>Population</th><th>New centres</th>"
        "<th>Coverage before</th><th>after</th><th>gain</th>"
        "<th>Most deprived before</th><th>after</th><th>gain</th>"
        "<th>Mean minutes after</th><th>Capital (GBP)</th><th>Solver</th><th>Report</th></tr>"
    )
    body = []
    records: list[dict[Any, Any]] = table.to_dict("records")
    for r in records:
        name = html.escape(str(r["region"]))
        if r["synthetic"] is True:
            name += ' <span class="tag">synthetic</span>'
        if r["status"] != "ok":
            body.append(
                f'<tr class="failed"><td>-</td><td>{name}</td>'
                f'<td colspan="13">Failed: {html.escape(str(r["error"]))}</td></tr>'
            )
            continue
        solver = html.escape(str(r["solver_status"]))
        if r["solver_status"] != "optimal" and not pd.isna(r["solver_gap"]):
            solver += f" (gap {float(r['solver_gap']):.1%})"
        link = f'<a href="{html.escape(str(r["report"]))}">report</a>' if r["report"] else ""
        skipped = ' <span class="tag">unchanged</span>' if r["skipped"] else ""
        minutes = r["mean_minutes_after"]
        body.append(
            "<tr>"
            f"<td>{r['rank']}</td><td>{name}{skipped}</td><td>{int(r['areas']):,}</td>"
            f"<td>{float(r['population']):,.0f}</td><td>{int(r['new_centres'])}</td>"
            f"<td>{_pct(r['share_before'])}</td><td>{_pct(r['share_after'])}</td>"
            f"<td>{_pp(r['share_gain'])}</td>"
            f"<td>{_pct(r['deprived_share_before'])}</td>"
            f"<td>{_pct(r['deprived_share_after'])}</td><td>{_pp(r['deprived_gain'])}</td>"
            f"<td>{'' if pd.isna(minutes) else f'{float(minutes):.1f}'}</td>"
            f"<td>{float(r['capex_gbp']):,.0f}</td><td>{solver}</td><td>{link}</td></tr>"
        )
    n_ok = int((table["status"] == "ok").sum())
    n_failed = len(table) - n_ok
    synthetic = bool(table["synthetic"].fillna(False).astype(bool).any())
    note = (
        '<p class="warn">Some regions use SYNTHETIC demo data: their figures describe no real '
        "place.</p>"
        if synthetic
        else ""
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>nhc-planner batch: league table</title>
<style>
body {{ font-family: system-ui, -apple-system, "Segoe UI", Arial, sans-serif; margin: 2rem;
       color: #1d2733; }}
h1 {{ font-size: 1.5rem; margin-bottom: .25rem; }}
table {{ border-collapse: collapse; font-size: .9rem; }}
th, td {{ padding: .35rem .6rem; border-bottom: 1px solid #d8dee4; text-align: right; }}
th {{ background: #f0f4f8; position: sticky; top: 0; }}
td:nth-child(2), th:nth-child(2) {{ text-align: left; }}
tr.failed td {{ color: #8a1c1c; text-align: left; }}
.tag {{ font-size: .75rem; background: #eef; padding: 0 .3rem; border-radius: .2rem; }}
.warn {{ background: #fff4d6; padding: .5rem .75rem; border-left: 4px solid #d49b00; }}
p.method {{ max-width: 60rem; color: #44515e; }}
</style></head><body>
<h1>Neighbourhood health centre plans: league table</h1>
<p>{n_ok} region(s) planned, {n_failed} failed.</p>
{note}
<p class="method">Regions are ranked by the share of residents within the travel-time
standard after the plan (<em>coverage after</em>), then by the share of residents of the
most deprived IMD deciles within it. <em>Before</em> counts only centres already open;
<em>gain</em> is in percentage points. Each region uses its own scenario (standard, number of
centres, weights), listed in its report, so compare like with like.</p>
<table><thead>{head}</thead><tbody>
{"".join(body)}
</tbody></table>
<p class="method">Made with nhc-planner. Contains public sector information licensed under
the Open Government Licence v3.0; road data © OpenStreetMap contributors (ODbL), where used.</p>
</body></html>
"""
