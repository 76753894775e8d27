"""The :class:`Region`: areas, sites and their provenance, saved as a folder.

A region is built once (from official files with
:func:`nhc_planner.build_region`, or the synthetic demo with
:func:`nhc_planner.demo.demo_region`) and reused. On disk it is a folder::

    region.json      manifest: name, codes, vintages, attribution, notes
    areas.parquet    GeoParquet, EPSG:27700 (see :mod:`nhc_planner.schema`)
    sites.parquet    GeoParquet, EPSG:27700
    manifest.json    SHA-256 of each file, checked by :meth:`Region.load`
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from nhc_planner._atomic import MANIFEST as CHECKSUMS
from nhc_planner._atomic import atomic_folder, verify_folder
from nhc_planner._errors import CorruptFileError, DataFileError
from nhc_planner.schema import validate_areas, validate_sites

__all__ = ["Region", "RegionMeta", "region_hash"]

MANIFEST = "region.json"
FORMAT_VERSION = 1
#: Top-level names a saved region owns (checksummed; other files in the folder are kept).
REGION_FILES = (MANIFEST, "areas.parquet", "sites.parquet")


@dataclass(frozen=True)
class RegionMeta:
    """Descriptive metadata carried with a region and into every plan.

    Parameters
    ----------
    name
        Human-readable name, e.g. ``"Leeds"``.
    codes
        Codes that define the region, e.g. ``("E08000035",)``.
    vintages
        Data vintage per input, e.g. ``{"imd": "IoD2025", "population": "Census 2021"}``.
    attribution
        Attribution statements required by the data licences (OGL, ODbL).
    notes
        Plain-language notes, e.g. how HLE was estimated or what did not join.
    synthetic
        True for generated (demo) data, which must be labelled as such.
    """

    name: str
    codes: tuple[str, ...] = ()
    vintages: dict[str, str] = field(default_factory=dict)
    attribution: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    synthetic: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict."""
        d = asdict(self)
        d["codes"] = list(self.codes)
        d["attribution"] = list(self.attribution)
        d["notes"] = list(self.notes)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RegionMeta:
        """Build from :meth:`to_dict` output."""
        return cls(
            name=str(d["name"]),
            codes=tuple(d.get("codes", ())),
            vintages=dict(d.get("vintages", {})),
            attribution=tuple(d.get("attribution", ())),
            notes=tuple(d.get("notes", ())),
            synthetic=bool(d.get("synthetic", False)),
        )


@dataclass(frozen=True)
class Region:
    """Areas and sites of one planning region, with metadata.

    The tables follow :mod:`nhc_planner.schema` and are validated on creation.
    Treat them as read-only: derive new frames rather than mutating them.
    """

    areas: gpd.GeoDataFrame
    sites: gpd.GeoDataFrame
    meta: RegionMeta

    def __post_init__(self) -> None:
        validate_areas(self.areas, what=f"region '{self.meta.name}' areas")
        validate_sites(self.sites, what=f"region '{self.meta.name}' sites")

    @property
    def name(self) -> str:
        """The region's name."""
        return self.meta.name

    def with_sites(self, sites: gpd.GeoDataFrame) -> Region:
        """Return a copy of the region with a different sites table."""
        return replace(self, sites=sites)

    def save(self, folder: str | Path) -> Path:
        """Write the region to ``folder`` (created if needed) and return its path.

        Written atomically (a temporary folder swapped in by renames, with a
        ``manifest.json`` of checksums): an interrupted save leaves the old
        folder or the new one, whole.
        """
        with atomic_folder(folder, owned=REGION_FILES) as path:
            self.areas.to_parquet(path / "areas.parquet", index=False)
            self.sites.to_parquet(path / "sites.parquet", index=False)
            manifest = {
                "format_version": FORMAT_VERSION,
                **self.meta.to_dict(),
                "checksums": CHECKSUMS,
            }
            (path / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        return Path(folder)

    @classmethod
    def load(cls, folder: str | Path) -> Region:
        """Read a region written by :meth:`save`.

        Raises
        ------
        DataFileError
            If the folder is not a saved region.
        CorruptFileError
            If a file does not match the checksums saved with it, is missing or
            comes from another save.
        """
        path = Path(folder)
        checked = verify_folder(path, owned=REGION_FILES, what="region")
        manifest_path = path / MANIFEST
        if not manifest_path.is_file():
            msg = f"{path}: not a region folder (no {MANIFEST}); build one with build_region()"
            raise DataFileError(msg)
        try:
            manifest = json.loads(manifest_path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            msg = f"{manifest_path}: not valid JSON ({exc})"
            raise DataFileError(msg) from exc
        for part in ("areas.parquet", "sites.parquet"):
            if not (path / part).is_file():
                msg = f"{path}: region folder is missing {part}"
                raise DataFileError(msg)
        if not checked and manifest.get("checksums"):
            msg = f"{path}: region was saved with checksums but {CHECKSUMS} is missing"
            raise CorruptFileError(msg)
        try:
            areas = gpd.read_parquet(path / "areas.parquet")
            sites = gpd.read_parquet(path / "sites.parquet")
        except Exception as exc:  # a damaged file of a region saved without checksums
            msg = f"{path}: a region file cannot be read ({type(exc).__name__}: {exc})"
            raise CorruptFileError(msg) from exc
        return cls(areas=areas, sites=sites, meta=RegionMeta.from_dict(manifest))

    def summary(self) -> str:
        """A short plain-text summary: areas, population, IMD mix, HLE, sites."""
        a, s = self.areas, self.sites
        label = "  [SYNTHETIC DEMO DATA]" if self.meta.synthetic else ""
        lines = [f"Region: {self.meta.name}{label}"]
        lines.append(f"Areas: {len(a):,}   Population: {a['population'].sum():,.0f}")
        mix = a.groupby("imd_decile")["population"].sum() / max(a["population"].sum(), 1)
        lines.append(
            "IMD decile mix (share of population, 1 = most deprived): "
            + ", ".join(f"{int(d)}: {v:.0%}" for d, v in mix.items())
        )
        lines.append("Estimated HLE (years) by local authority:")
        for (code, name), g in a.groupby(["la_code", "la_name"], sort=True):
            lines.append(
                f"  {name} ({code}): {len(g):,} areas, {g['population'].sum():,.0f} people, "
                f"HLE {g['hle_years'].min():.1f}-{g['hle_years'].max():.1f}"
            )
        kinds = s.groupby("kind").size().sort_values(ascending=False)
        lines.append(
            f"Sites: {len(s):,} (" + ", ".join(f"{k}: {n}" for k, n in kinds.items()) + ")"
        )
        return "\n".join(lines)


def region_hash(region: Region) -> str:
    """SHA-256 of a region's tables and metadata (same content, same hash)."""
    h = hashlib.sha256()
    for frame in (region.areas, region.sites):
        plain = pd.DataFrame(frame.drop(columns=frame.geometry.name))
        h.update(pd.util.hash_pandas_object(plain, index=False).to_numpy().tobytes())
        h.update(b"".join(frame.geometry.to_wkb()))
        h.update("|".join(map(str, plain.columns)).encode())
    h.update(json.dumps(region.meta.to_dict(), sort_keys=True).encode())
    return h.hexdigest()
