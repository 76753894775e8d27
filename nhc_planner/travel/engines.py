"""The travel-engine registry: every way of getting travel times, by name.

A travel engine turns a region's areas and sites into :class:`TravelTimes`
for one mode. Engines are classes registered by name; the plan
(:func:`nhc_planner.plan.compute_travel`), the scenario validation
(``travel.engine``, ``travel.mode``) and the app's policy page read this
registry, so a new engine needs no change anywhere else::

    from nhc_planner.travel import TravelTimes, register_engine

    @register_engine
    class TeleportEngine:
        name = "teleport"                 # the value of travel.engine
        modes = ("teleport",)             # travel.mode values it serves
        label = "Teleport (everything 1 minute away)"

        def travel_times(self, areas, sites, settings, *, progress=None) -> TravelTimes:
            ...

Built-in engines (registered when :mod:`nhc_planner.travel` is imported):
``"straight_line"``, ``"road"`` and ``"matrix"``. Registering only fills a
dict: no file is read and nothing is compiled until an engine runs.

An engine may also define ``check(settings)``, called when a scenario is
validated, that raises :class:`~nhc_planner.ScenarioError` naming the
``travel.*`` key when its inputs are missing (e.g. the matrix engine without
``travel.matrix``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar, runtime_checkable

import pandas as pd

from nhc_planner._errors import ScenarioError, ValueRangeError

if TYPE_CHECKING:
    from nhc_planner.scenario import TravelSettings
    from nhc_planner.travel._times import TravelTimes

__all__ = [
    "AUTO",
    "Progress",
    "TravelEngine",
    "check_travel_settings",
    "engine_for",
    "engine_label",
    "engine_names",
    "engines_for_mode",
    "get_engine",
    "mode_label",
    "register_engine",
    "resolve_engine_name",
    "travel_modes",
    "unregister_engine",
]

#: ``travel.engine = "auto"``: the road engine when ``travel.network`` is given,
#: the matrix engine when ``travel.matrix`` is given, straight line otherwise.
AUTO = "auto"

#: ``progress(stage, fraction)``, as passed down from :func:`nhc_planner.plan.plan`.
Progress = Callable[[str, float], None]

#: Plain words for the modes the app shows; other modes show as their name.
_MODE_WORDS: dict[str, str] = {
    "drive": "Driving",
    "walk": "Walking",
    "cycle": "Cycling",
    "transit": "Public transport",
    "mixed": "Mixed: drive if the household has a car, else bus or walking",
}


@runtime_checkable
class TravelEngine(Protocol):
    """A way of computing area-to-site travel times, registered by :attr:`name`.

    Attributes
    ----------
    name
        Registry key and value of ``travel.engine`` (e.g. ``"road"``).
    modes
        Values of ``travel.mode`` it can serve (e.g. ``("drive", "walk", "cycle")``).
    label
        Plain words for the app.
    """

    name: ClassVar[str]
    modes: ClassVar[tuple[str, ...]]
    label: ClassVar[str]

    def travel_times(
        self,
        areas: pd.DataFrame,
        sites: pd.DataFrame,
        settings: TravelSettings,
        *,
        progress: Progress | None = None,
    ) -> TravelTimes:
        """Travel times from every area to every site under ``settings``.

        Parameters
        ----------
        areas
            ``area_code``, ``demand_x``, ``demand_y`` (EPSG:27700), as in a region.
        sites
            ``site_id`` and point geometry (EPSG:27700), as in a region.
        settings
            The scenario's ``[travel]`` part (mode, cutoff and the engine's inputs).
        progress
            Optional ``progress(stage, fraction)`` callback.
        """
        ...


_ENGINES: dict[str, type[Any]] = {}

_T = TypeVar("_T")


def register_engine(engine_cls: type[_T]) -> type[_T]:
    """Register a travel engine class under its ``name`` (usable as a decorator).

    Raises
    ------
    ValueRangeError
        The class lacks a non-empty ``name``, a ``modes`` tuple of strings or a
        ``travel_times`` method, its name is ``"auto"``, or another class is
        already registered under that name.
    """
    name = getattr(engine_cls, "name", None)
    if not isinstance(name, str) or not name or name == AUTO:
        msg = f"travel engine {engine_cls!r}: expected a class attribute 'name' (not 'auto'); "
        msg += f"found {name!r}"
        raise ValueRangeError(msg)
    modes = getattr(engine_cls, "modes", None)
    if not isinstance(modes, tuple) or not modes or not all(isinstance(m, str) for m in modes):
        msg = (
            f"travel engine {name!r}: 'modes' must be a non-empty tuple of strings; found {modes!r}"
        )
        raise ValueRangeError(msg)
    if not callable(getattr(engine_cls, "travel_times", None)):
        msg = f"travel engine {name!r}: no travel_times(areas, sites, settings) method"
        raise ValueRangeError(msg)
    existing = _ENGINES.get(name)
    if existing is not None and existing is not engine_cls:
        msg = f"travel engine {name!r} is already registered ({existing.__qualname__})"
        raise ValueRangeError(msg)
    _ENGINES[name] = engine_cls
    return engine_cls


def unregister_engine(name: str) -> None:
    """Remove a registered engine (tests and plug-ins); unknown names are ignored."""
    _ENGINES.pop(name, None)


def _load_built_in() -> None:
    # The built-in engines register when the package is imported; make sure it is.
    import nhc_planner.travel  # noqa: F401


def engine_names() -> tuple[str, ...]:
    """Names of the registered engines, sorted."""
    _load_built_in()
    return tuple(sorted(_ENGINES))


def travel_modes() -> tuple[str, ...]:
    """Every mode some registered engine serves (the allowed ``travel.mode`` values)."""
    _load_built_in()
    out: list[str] = []
    for name in sorted(_ENGINES):
        out.extend(m for m in _ENGINES[name].modes if m not in out)
    return tuple(out)


def engines_for_mode(mode: str) -> tuple[str, ...]:
    """Names of the engines that serve ``mode``."""
    _load_built_in()
    return tuple(n for n in sorted(_ENGINES) if mode in _ENGINES[n].modes)


def get_engine(name: str) -> TravelEngine:
    """A new instance of the engine registered as ``name``.

    Raises
    ------
    ValueRangeError
        No engine has that name; the message lists the registered ones.
    """
    _load_built_in()
    cls = _ENGINES.get(name)
    if cls is None:
        msg = f"travel.engine: unknown travel engine {name!r}; expected one of {sorted(_ENGINES)}"
        raise ValueRangeError(msg)
    engine: TravelEngine = cls()
    return engine


def resolve_engine_name(settings: TravelSettings) -> str:
    """The engine ``settings`` asks for, with ``"auto"`` resolved.

    ``"auto"``: ``"matrix"`` when ``settings.matrix`` is given, ``"road"`` when
    ``settings.network`` is given, ``"straight_line"`` otherwise; but when that
    engine does not serve ``settings.mode`` and exactly one registered engine
    other than ``"matrix"`` does (``"transit"`` for mode ``"transit"``), that one.

    Raises
    ------
    ScenarioError
        ``"auto"`` with both a network and a matrix (say which to use).
    """
    engine = getattr(settings, "engine", AUTO)
    if engine != AUTO:
        return str(engine)
    network, matrix = settings.network, getattr(settings, "matrix", None)
    if network is not None and matrix is not None:
        msg = (
            f"travel.engine: 'auto' cannot choose between travel.network ({network!r}) and "
            f"travel.matrix ({matrix!r}); set travel.engine to 'road' or 'matrix'"
        )
        raise ScenarioError(msg)
    if matrix is not None:
        return "matrix"
    chosen = "road" if network is not None else "straight_line"
    serving = [e for e in engines_for_mode(settings.mode) if e != "matrix"]  # no matrix given
    if chosen in _ENGINES and settings.mode not in _ENGINES[chosen].modes and len(serving) == 1:
        return serving[0]  # e.g. mode "transit": the one engine that serves it without a file
    return chosen


def check_travel_settings(settings: TravelSettings) -> None:
    """Check that the chosen engine exists, serves the mode and has its inputs.

    Called by :class:`~nhc_planner.scenario.TravelSettings` on validation.

    Raises
    ------
    ScenarioError
        Naming the ``travel.*`` key, what is registered and what was found.
    """
    _load_built_in()
    name = resolve_engine_name(settings)
    cls = _ENGINES.get(name)
    if cls is None:
        msg = f"travel.engine: expected one of {[AUTO, *sorted(_ENGINES)]}; found {name!r}"
        raise ScenarioError(msg)
    if settings.mode not in cls.modes:
        serving = engines_for_mode(settings.mode)
        hint = f"engines that serve it: {list(serving)}" if serving else "no engine serves it"
        msg = (
            f"travel.mode: the {name!r} travel engine serves {list(cls.modes)}; found "
            f"{settings.mode!r} ({hint})"
        )
        raise ScenarioError(msg)
    check = getattr(cls(), "check", None)
    if callable(check):
        check(settings)


def engine_for(settings: TravelSettings) -> TravelEngine:
    """The engine instance that computes travel times for ``settings`` (``"auto"`` resolved).

    Raises
    ------
    ScenarioError
        The engine cannot serve these settings (see :func:`check_travel_settings`).
    """
    check_travel_settings(settings)
    return get_engine(resolve_engine_name(settings))


def engine_label(name: str) -> str:
    """Plain words for an engine name (``"auto"`` included), for the app."""
    if name == AUTO:
        return "Automatic (road network if given, else a matrix file, else straight line)"
    _load_built_in()
    cls = _ENGINES.get(name)
    return str(getattr(cls, "label", name)) if cls is not None else name


def mode_label(mode: str) -> str:
    """Plain words for a mode, for the app (``"drive"`` -> ``"Driving"``)."""
    return _MODE_WORDS.get(mode, mode.replace("_", " ").capitalize())
