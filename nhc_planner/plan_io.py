"""Saving and loading a :class:`~nhc_planner.plan.Plan` as a folder of files.

:meth:`Plan.save <nhc_planner.plan.Plan.save>` and :meth:`Plan.load
<nhc_planner.plan.Plan.load>` are the public methods; they call
:func:`save_plan` and :func:`load_plan`. A plan folder holds ``centres`` and
``assignments`` as GeoParquet (EPSG:27700), GeoJSON (WGS84) and CSV (no
geometry; centres with ``x, y`` in BNG metres), ``kpis*.csv``,
``coverage_curve.csv``, ``stability.csv`` (when run), ``unmet_by_area.csv``,
``unmet_by_imd_decile.csv``, ``unmet_by_hle_quintile.csv`` and
``unmet_by_authority.csv`` (unmet weekly demand, when the plan has them),
``scenario.toml``, ``plan.json`` (solver, region metadata, provenance) and
``manifest.json`` (SHA-256 of each file, checked on loading). Saves are atomic
``coverage_curve.csv``, ``stability.csv`` (when run), ``scenario.toml``,
``plan.json`` (solver, region metadata, provenance) and ``manifest.json``
(SHA-256 of each file, checked on loading); plans with neighbourhoods add
``neighbourhoods.csv`` (one row per area), ``neighbourhoods.geojson`` (one
dissolved polygon per neighbourhood, WGS84) and ``neighbourhoods.parquet`` (one
row per area, EPSG:27700, read back by :func:`load_plan`). Saves are atomic
(:mod:`nhc_planner._atomic`). CSVs are written by :mod:`nhc_planner._csv`
(spreadsheet-safe text, plain decimals, ``\\n`` line ends), so the same plan
gives byte-identical files.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import geopandas as gpd
import numpy as np
import pandas as pd

from nhc_planner._atomic import MANIFEST, atomic_folder, verify_folder
from nhc_planner._csv import csv_text, read_csv, write_csv
from nhc_planner._errors import CorruptFileError, DataFileError, NhcError
from nhc_planner.region import RegionMeta
from nhc_planner.scenario import Scenario

if TYPE_CHECKING:
    from nhc_planner.capacity import UnmetDemandTables
    from nhc_planner.plan import Plan

__all__ = [
    "FORMAT_VERSION",
    "PLAN_FILES",
    "TABLES",
    "UNMET_TABLES",
    "centres_csv_text",
    "centres_table",
    "dissolved_neighbourhoods",
    "load_plan",
    "save_plan",
]

FORMAT_VERSION = 1

#: The plan's plain tables, each saved as ``<name>.csv``.
TABLES = ("kpis", "kpis_by_decile", "kpis_by_hle_quintile", "kpis_by_la", "coverage_curve")

#: The plan's unmet-demand tables: file name -> attribute of UnmetDemandTables.
UNMET_TABLES = {
    "unmet_by_area": "by_area",
    "unmet_by_imd_decile": "by_imd_decile",
    "unmet_by_hle_quintile": "by_hle_quintile",
    "unmet_by_authority": "by_authority",
}

#: Files a saved plan owns (checksummed; anything else in the folder is kept as is).
PLAN_FILES = (
    "plan.json",
    "scenario.toml",
    "stability.csv",
    "need_correlation.csv",
    *(f"{n}.{ext}" for n in ("centres", "assignments") for ext in ("parquet", "csv", "geojson")),
    *(f"{t}.csv" for t in TABLES),
    *(f"{t}.csv" for t in UNMET_TABLES),
    *(f"neighbourhoods.{ext}" for ext in ("parquet", "csv", "geojson")),
)

_P = TypeVar("_P", bound="Plan")


def save_plan(plan: Plan, folder: str | Path) -> Path:
    """Write ``plan`` to ``folder`` (created if needed) and return its path.

    See :meth:`nhc_planner.plan.Plan.save` for the files written. Atomic
    (:func:`nhc_planner._atomic.atomic_folder`): the files go into a temporary
    folder, get a ``manifest.json`` of checksums and are swapped in by renames.
    """
    with atomic_folder(folder, owned=PLAN_FILES) as path:  # old or new folder, whole
        for name in ("centres", "assignments"):
            frame: gpd.GeoDataFrame = getattr(plan, name)
            frame.to_parquet(path / f"{name}.parquet", index=False)
            table = centres_table(frame) if name == "centres" else _plain(frame, points=False)
            write_csv(table, path / f"{name}.csv")
            _write_geojson(frame, path / f"{name}.geojson")
        for name in TABLES:
            write_csv(getattr(plan, name), path / f"{name}.csv")
        if plan.unmet is not None:
            for name, attr in UNMET_TABLES.items():
                write_csv(getattr(plan.unmet, attr), path / f"{name}.csv")
        if plan.stability is not None:
            write_csv(plan.stability, path / "stability.csv")
        if plan.need_correlation is not None:
            write_csv(plan.need_correlation, path / "need_correlation.csv")
        _save_neighbourhoods(plan.neighbourhoods, path)
        plan.scenario.to_toml(path / "scenario.toml")
        manifest = {
            "format_version": FORMAT_VERSION,
            "region_meta": plan.region_meta.to_dict(),
            "solver": _jsonable(plan.solver),
            "provenance": _jsonable(plan.provenance),
            "population_basis": plan.population_basis,
            "checksums": MANIFEST,
        }
        (path / "plan.json").write_text(
            json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
    return Path(folder)


def load_plan(cls: type[_P], folder: str | Path) -> _P:
    """Read a plan written by :func:`save_plan` as an instance of ``cls``.

    Raises
    ------
    DataFileError
        If ``folder`` is not a saved plan.
    CorruptFileError
        If a file does not match the checksums saved with the plan, is missing
        or comes from another save (or, for a plan saved before checksums,
        cannot be read).
    """
    path = Path(folder)
    checked = verify_folder(path, owned=PLAN_FILES, what="plan")
    manifest_path = path / "plan.json"
    if not manifest_path.is_file():
        msg = f"{path}: not a plan folder (no plan.json); write one with Plan.save()"
        raise DataFileError(msg)
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        msg = f"{manifest_path}: not valid JSON ({exc})"
        raise DataFileError(msg) from exc
    needed = [
        "centres.parquet",
        "assignments.parquet",
        "scenario.toml",
        *(f"{t}.csv" for t in TABLES),
    ]
    missing = [f for f in needed if not (path / f).is_file()]
    if missing:
        msg = f"{path}: plan folder is missing {missing}"
        raise DataFileError(msg)
    if not checked and manifest.get("checksums"):
        msg = f"{path}: plan was saved with checksums but {MANIFEST} is missing; save it again"
        raise CorruptFileError(msg)
    try:
        tables = {t: read_csv(path / f"{t}.csv") for t in TABLES}
        stability = path / "stability.csv"
        correlation = path / "need_correlation.csv"
        hoods = path / "neighbourhoods.parquet"
        return cls(
            scenario=Scenario.from_toml(path / "scenario.toml"),
            region_meta=RegionMeta.from_dict(manifest["region_meta"]),
            centres=gpd.read_parquet(path / "centres.parquet"),
            assignments=gpd.read_parquet(path / "assignments.parquet"),
            solver=dict(manifest.get("solver", {})),
            stability=read_csv(stability) if stability.is_file() else None,
            provenance=dict(manifest.get("provenance", {})),
            unmet=_load_unmet(path),
            neighbourhoods=gpd.read_parquet(hoods) if hoods.is_file() else None,
            population_basis=str(manifest.get("population_basis", "")),
            need_correlation=read_csv(correlation) if correlation.is_file() else None,
            **tables,
        )
    except NhcError:
        raise
    except Exception as exc:  # a damaged file of a plan saved without checksums
        msg = f"{path}: a plan file cannot be read ({type(exc).__name__}: {exc})"
        raise CorruptFileError(msg) from exc


def _load_unmet(path: Path) -> UnmetDemandTables | None:
    """The unmet-demand tables saved in ``path``, or None (plans saved before them)."""
    from nhc_planner.capacity import UnmetDemandTables

    files = {name: path / f"{name}.csv" for name in UNMET_TABLES}
    if not all(f.is_file() for f in files.values()):
        return None
    frames = {attr: read_csv(files[name]) for name, attr in UNMET_TABLES.items()}
    for key in ("area_code", "la_code", "la_name"):
        for frame in frames.values():
            if key in frame:
                frame[key] = frame[key].astype(str)
    total = float(frames["by_area"]["unmet"].sum())
    return UnmetDemandTables(total=total, **frames)


def dissolved_neighbourhoods(hoods: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One polygon per neighbourhood (the areas dissolved), with its per-neighbourhood columns.

    Parameters
    ----------
    hoods
        A plan's ``neighbourhoods`` table (one row per area).
    """
    per_area = {"area_code"}
    keep = [c for c in hoods.columns if c not in per_area and c != hoods.geometry.name]
    first = hoods.drop_duplicates("neighbourhood_id")[keep].set_index("neighbourhood_id")
    shapes = hoods[["neighbourhood_id", hoods.geometry.name]].dissolve(
        by="neighbourhood_id", sort=True
    )
    out = shapes.join(first).reset_index()
    return gpd.GeoDataFrame(out, geometry=shapes.geometry.name, crs=hoods.crs)


def _save_neighbourhoods(hoods: gpd.GeoDataFrame | None, path: Path) -> None:
    """Write the neighbourhood files into ``path`` (the save's temporary folder)."""
    if hoods is None:
        return  # the atomic save drops the previous plan's neighbourhood files
    hoods.to_parquet(path / "neighbourhoods.parquet", index=False)
    write_csv(_plain(hoods, points=False), path / "neighbourhoods.csv")
    _write_geojson(dissolved_neighbourhoods(hoods), path / "neighbourhoods.geojson")


def centres_table(centres: gpd.GeoDataFrame) -> pd.DataFrame:
    """The centres as a plain table: every column but the geometry, then ``x, y`` (BNG metres).

    The columns of ``centres.csv`` in a saved plan and of the app's centres download.
    """
    return _plain(centres, points=True)


def centres_csv_text(centres: gpd.GeoDataFrame) -> str:
    """The text of ``centres.csv`` (:func:`centres_table`, written by :mod:`nhc_planner._csv`)."""
    return csv_text(centres_table(centres))


def _plain(frame: gpd.GeoDataFrame, *, points: bool) -> pd.DataFrame:
    out = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    if points:
        out["x"] = frame.geometry.x.round(2).to_numpy()
        out["y"] = frame.geometry.y.round(2).to_numpy()
    return out


def _write_geojson(frame: gpd.GeoDataFrame, path: Path) -> None:
    web = frame.to_crs("EPSG:4326")
    if path.exists():
        path.unlink()
    web.to_file(path, driver="GeoJSON", engine="pyogrio", COORDINATE_PRECISION=6)


def _jsonable(value: Any) -> Any:
    """``value`` with numpy scalars as Python ones, non-finite floats as None, the rest as str."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)
