"""nhc-planner: where to open neighbourhood health centres first, and how big.

The public API is re-exported here; see ``docs/`` for guides.
"""

from nhc_planner._errors import (
    CrsError,
    DataFileError,
    DuplicateKeyError,
    EmptyInputError,
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
    ValueRangeError,
)
from nhc_planner.region import Region, RegionMeta

__version__ = "0.1.0"

__all__ = [
    "CrsError",
    "DataFileError",
    "DuplicateKeyError",
    "EmptyInputError",
    "InfeasibleError",
    "JoinError",
    "MissingColumnError",
    "NetworkError",
    "NhcError",
    "NhcInputError",
    "NhcRuntimeError",
    "OfflineError",
    "Region",
    "RegionMeta",
    "ScenarioError",
    "SolverError",
    "ValueRangeError",
    "__version__",
]
