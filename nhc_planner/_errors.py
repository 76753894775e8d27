"""The nhc-planner exception family.

Every error raised on purpose by nhc-planner is an :class:`NhcError`. Errors
caused by what the user gave (a file, a column, a value, a setting) are
:class:`NhcInputError` and also inherit :class:`ValueError`; failures of a
computation (a solver, a network) are :class:`NhcRuntimeError` and also
inherit :class:`RuntimeError`. Callers can catch the family or the built-in.

Messages say what was expected and what was found, and name the file,
column, key or value concerned. Build the message, then raise it::

    msg = f"{path}: column 'LSOA21CD' not found; expected one of ..."
    raise MissingColumnError(msg)
"""

from __future__ import annotations

__all__ = [
    "CorruptFileError",
    "CrsError",
    "DataFileError",
    "DuplicateKeyError",
    "EmptyInputError",
    "GtfsError",
    "InfeasibleError",
    "JoinError",
    "MissingColumnError",
    "NetworkError",
    "NhcError",
    "NhcInputError",
    "NhcRuntimeError",
    "OfflineError",
    "ScenarioError",
    "SolverError",
    "UnknownKeyError",
    "ValueRangeError",
]


class NhcError(Exception):
    """Base class of every error nhc-planner raises on purpose."""


class NhcInputError(NhcError, ValueError):
    """Something the user supplied is missing, malformed or out of range."""


class NhcRuntimeError(NhcError, RuntimeError):
    """A computation could not complete (solver, network, download)."""


class DataFileError(NhcInputError):
    """A data file cannot be read or is not in the expected format."""


class CorruptFileError(DataFileError):
    """A saved file or cache entry does not match its checksum, or is truncated or mixed."""


class MissingColumnError(DataFileError):
    """A required column is absent from a table."""


class DuplicateKeyError(DataFileError):
    """A key column holds duplicated codes where one row per code is required."""


class EmptyInputError(DataFileError):
    """A file or table has no usable rows."""


class GtfsError(DataFileError):
    """A GTFS feed is missing a file or column, or holds values that cannot be used.

    The message names the feed, the file (e.g. ``stop_times.txt``), the column
    and the row (1-based, header excluded) concerned.
    """


class ValueRangeError(NhcInputError):
    """A value is non-numeric, missing or outside its allowed range."""


class UnknownKeyError(NhcInputError, KeyError):
    """A name asked for (a KPI, a table key) is not among those available.

    Also a :class:`KeyError`, so that callers of a lookup catching that still work.
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class CrsError(NhcInputError):
    """A coordinate reference system is missing or incompatible."""


class JoinError(NhcInputError):
    """Tables do not join (no overlap, or too little of it) on their area codes."""


class ScenarioError(NhcInputError):
    """A scenario setting is unknown, of the wrong type or out of range."""


class NetworkError(NhcInputError):
    """A road network is empty, disconnected or cannot serve a travel mode."""


class InfeasibleError(NhcRuntimeError):
    """A policy cannot be met by any choice of sites; the message says why."""


class SolverError(NhcRuntimeError):
    """The optimiser failed or stopped without a usable answer."""


class OfflineError(NhcRuntimeError):
    """A download was requested but the machine cannot reach the source."""
