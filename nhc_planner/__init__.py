"""nhc-planner: where to open neighbourhood health centres first, and how big.

The public API is re-exported here. Most names are loaded on first use;
the errors, ``Region`` and ``plan`` are bound at import (about 0.5 s, nearly
all of it geopandas). Nothing is computed at import time. See
``docs/analyst.md`` for a guided tour.

Examples
--------
>>> import nhc_planner as nhc
>>> s = nhc.Scenario().replace(**{"travel.standard_min": 20})
>>> s.travel.standard_min
20.0
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from nhc_planner._errors import (
    CorruptFileError,
    CrsError,
    DataFileError,
    DuplicateKeyError,
    EmptyInputError,
    GtfsError,
    InfeasibleError,
    JoinError,
    MissingColumnError,
    NetworkError,
    NhcError,
    NhcInputError,
    NhcRuntimeError,
    OfflineError,
    ScenarioError,
    SolverError,
    UnknownKeyError,
    ValueRangeError,
)

# ``plan`` is both a submodule and the pipeline function. Importing the submodule
# (as ``compute_travel`` does) binds the package attribute ``plan`` to the module,
# after which the lazy ``__getattr__`` below is never asked: bind the function now.
from nhc_planner.plan import plan
from nhc_planner.region import Region, RegionMeta

if TYPE_CHECKING:
    from nhc_planner.batch import BatchResult, RegionJob, read_regions, run_batch
    from nhc_planner.build import JoinReport, RegionInputs, build_region, build_region_report
    from nhc_planner.demo import demo_region, generate_demo_files
    from nhc_planner.download import fetch_area
    from nhc_planner.maps import need_map, plan_map
    from nhc_planner.need import hle_quintiles, need_score
    from nhc_planner.network import RoadNetwork, load_network
    from nhc_planner.plan import Plan, compute_travel, coverage_curve, region_hash
    from nhc_planner.report import write_report
    from nhc_planner.scenario import (
        CapacitySettings,
        NeedWeights,
        NeighbourhoodSettings,
        PhasingSettings,
        PolicySettings,
        Scenario,
        SizeSpec,
        SolverSettings,
        TravelSettings,
    )
    from nhc_planner.scenario import describe as describe_scenario
    from nhc_planner.travel import TravelTimes, isochrone, straight_line_times, travel_times

from nhc_planner._version import __version__

#: Public name -> (module, attribute), imported on first access.
_LAZY: dict[str, tuple[str, str]] = {
    **{n: ("nhc_planner.build", n) for n in ("JoinReport", "RegionInputs", "build_region")},
    "build_region_report": ("nhc_planner.build", "build_region_report"),
    **{
        n: ("nhc_planner.scenario", n)
        for n in (
            "CapacitySettings",
            "NeedWeights",
            "NeighbourhoodSettings",
            "PhasingSettings",
            "PolicySettings",
            "Scenario",
            "SizeSpec",
            "SolverSettings",
            "TravelSettings",
        )
    },
    "describe_scenario": ("nhc_planner.scenario", "describe"),
    **{
        n: ("nhc_planner.plan", n)
        for n in ("Plan", "compute_travel", "coverage_curve", "region_hash")
    },
    "need_score": ("nhc_planner.need", "need_score"),
    "hle_quintiles": ("nhc_planner.need", "hle_quintiles"),
    **{
        n: ("nhc_planner.batch", n)
        for n in ("BatchResult", "RegionJob", "read_regions", "run_batch")
    },
    "demo_region": ("nhc_planner.demo", "demo_region"),
    "generate_demo_files": ("nhc_planner.demo", "generate_demo_files"),
    "fetch_area": ("nhc_planner.download", "fetch_area"),
    "load_network": ("nhc_planner.network", "load_network"),
    "RoadNetwork": ("nhc_planner.network", "RoadNetwork"),
    **{
        n: ("nhc_planner.travel", n)
        for n in ("TravelTimes", "isochrone", "straight_line_times", "travel_times")
    },
    "need_map": ("nhc_planner.maps", "need_map"),
    "plan_map": ("nhc_planner.maps", "plan_map"),
    "write_report": ("nhc_planner.report", "write_report"),
}


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first access (PEP 562)."""
    try:
        module, attr = _LAZY[name]
    except KeyError:
        msg = f"module 'nhc_planner' has no attribute {name!r}"
        raise AttributeError(msg) from None
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "BatchResult",
    "CapacitySettings",
    "CorruptFileError",
    "CrsError",
    "DataFileError",
    "DuplicateKeyError",
    "EmptyInputError",
    "GtfsError",
    "InfeasibleError",
    "JoinError",
    "JoinReport",
    "MissingColumnError",
    "NeedWeights",
    "NeighbourhoodSettings",
    "NetworkError",
    "NhcError",
    "NhcInputError",
    "NhcRuntimeError",
    "OfflineError",
    "PhasingSettings",
    "Plan",
    "PolicySettings",
    "Region",
    "RegionInputs",
    "RegionJob",
    "RegionMeta",
    "RoadNetwork",
    "Scenario",
    "ScenarioError",
    "SizeSpec",
    "SolverError",
    "SolverSettings",
    "TravelSettings",
    "TravelTimes",
    "UnknownKeyError",
    "ValueRangeError",
    "__version__",
    "build_region",
    "build_region_report",
    "compute_travel",
    "coverage_curve",
    "demo_region",
    "describe_scenario",
    "fetch_area",
    "generate_demo_files",
    "hle_quintiles",
    "isochrone",
    "load_network",
    "need_map",
    "need_score",
    "plan",
    "plan_map",
    "read_regions",
    "region_hash",
    "run_batch",
    "straight_line_times",
    "travel_times",
    "write_report",
]
