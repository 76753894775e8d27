"""The exception family: catchable as NhcError and as the matching built-in."""

from __future__ import annotations

import importlib

import pytest

import nhc_planner as nhc
from nhc_planner import _errors


@pytest.mark.parametrize("name", _errors.__all__)
def test_every_error_is_an_nhc_error(name: str) -> None:
    cls = getattr(_errors, name)
    assert issubclass(cls, nhc.NhcError)
    assert getattr(nhc, name) is cls


@pytest.mark.parametrize(
    "cls",
    [
        nhc.MissingColumnError,
        nhc.DuplicateKeyError,
        nhc.EmptyInputError,
        nhc.ValueRangeError,
        nhc.CrsError,
        nhc.JoinError,
        nhc.ScenarioError,
        nhc.NetworkError,
    ],
)
def test_input_errors_are_value_errors(cls: type[Exception]) -> None:
    assert issubclass(cls, ValueError)
    assert not issubclass(cls, RuntimeError)


@pytest.mark.parametrize("cls", [nhc.InfeasibleError, nhc.SolverError, nhc.OfflineError])
def test_runtime_errors_are_runtime_errors(cls: type[Exception]) -> None:
    assert issubclass(cls, RuntimeError)
    assert not issubclass(cls, ValueError)


def test_public_names_resolve_to_callables_after_submodule_imports() -> None:
    """``nhc.plan`` stays the function even after ``nhc_planner.plan`` is imported."""
    plan_module = importlib.import_module("nhc_planner.plan")

    assert nhc.plan is plan_module.plan
    assert callable(nhc.plan)
    for name in nhc.__all__:
        assert getattr(nhc, name) is not None
