"""Planning models: the seam between the shared pipeline and the model that decides.

:func:`nhc_planner.plan.plan` does the model-independent work once (need
scores, site selection, travel times) and hands it to a **planning model**
chosen by name in the scenario (``policy.model``). A model turns those inputs
into a typed result — which sites open, in which year, at what size, and which
centre serves each area — and then into the :class:`~nhc_planner.plan.Plan`'s
tables. The shared steps after that (KPIs, coverage curve, sensitivity,
provenance, saving, the report) do not depend on the model.

A model is a class with three methods (the :class:`PlanningModel` protocol)::

    @register_model
    class MyModel:
        name = "my_model"               # the value of policy.model
        label = "My model, in plain words"

        def build(self, inputs: PlanInputs) -> MyArrays: ...
        def solve(self, built: MyArrays) -> ModelResult: ...
        def tables(self, inputs, built, result) -> PlanTables: ...

        # optional: the sensitivity run (solver.sensitivity_runs > 0)
        def stability(self, inputs, built, progress) -> pandas.DataFrame: ...

``build`` makes the model's own arrays (a frozen dataclass) from the shared
:class:`PlanInputs`; ``solve`` sees only those arrays and returns a
:class:`ModelResult` (or a subclass carrying the model's own typed fields);
``tables`` makes the plan's ``centres`` and ``assignments`` tables (and, for
models that delineate neighbourhoods, the ``neighbourhoods`` table). Models
usually build their tables with the shared helpers of
:mod:`nhc_planner.plan_tables` (:func:`~nhc_planner.plan_tables.assignments_table`,
:func:`~nhc_planner.plan_tables.centres_table`) and add their own columns. A
model that can re-solve under perturbed need also has a ``stability`` method
(:class:`SupportsStability`); the plan's sensitivity run uses it.

The registry is a plain dictionary filled when the modules that define the
built-in models are imported by :func:`get_model`; nothing runs at import time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, TypeVar, runtime_checkable

import numpy as np

from nhc_planner._errors import ValueRangeError

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd

    from nhc_planner.projections import PopulationByYear
    from nhc_planner.region import Region
    from nhc_planner.scenario import Scenario
    from nhc_planner.travel import TravelTimes

__all__ = [
    "ModelResult",
    "PlanInputs",
    "PlanTables",
    "PlanningModel",
    "Progress",
    "SolveReport",
    "SupportsStability",
    "get_model",
    "model_labels",
    "model_names",
    "register_model",
    "unregister_model",
]

#: ``progress(stage, fraction)`` callback: the CLI's progress lines, the app's spinner.
Progress = Callable[[str, float], None]

SolveStatus = Literal["optimal", "feasible", "infeasible", "time_limit_no_solution"]


@dataclass(frozen=True, eq=False)
class PlanInputs:
    """The model-independent inputs every planning model receives.

    Built once by :func:`nhc_planner.plan.plan`. Row ``i`` of every per-area
    array is row ``i`` of ``areas``; column ``j`` of every per-site array is
    row ``j`` of ``sites``.

    Attributes
    ----------
    region : Region
        The planning region, as given.
    scenario : Scenario
        The settings, as given.
    areas : geopandas.GeoDataFrame
        ``region.areas`` with a fresh ``0..n-1`` index.
    sites : geopandas.GeoDataFrame
        The sites in the model (already open or allowed as new), ``0..m-1`` index.
    cost : numpy.ndarray
        ``(n_areas, n_sites)`` travel minutes, ``np.inf`` beyond ``travel.cutoff_min``.
    need : numpy.ndarray
        Need score per area (:func:`nhc_planner.need.need_score`).
    population : numpy.ndarray
        Residents per area.
    open_now : numpy.ndarray
        Bool per site: already open (phase 0).
    allowed : numpy.ndarray
        Bool per site: may be opened as a new centre.
    keep : numpy.ndarray
        Indices of sites the policy keeps (they open in year 1).
    travel : TravelTimes
        The travel times the cost matrix came from.
    progress : Progress
        Progress callback (never ``None``).
    by_year : PopulationByYear or None
        The population of each year of the plan (``phasing.population``); None
        means Census 2021 residents in every year.
    """

    region: Region
    scenario: Scenario
    areas: gpd.GeoDataFrame
    sites: gpd.GeoDataFrame
    cost: np.ndarray
    need: np.ndarray
    population: np.ndarray
    open_now: np.ndarray
    allowed: np.ndarray
    keep: np.ndarray
    travel: TravelTimes
    progress: Progress
    by_year: PopulationByYear | None = None

    @property
    def need_by_year(self) -> np.ndarray | None:
        """``(T, n)`` need per year when the plan uses projected populations, else None.

        Each area's need scales with its population (its need factor is kept).
        """
        if self.by_year is None or self.by_year.basis == "census":
            return None
        return self.by_year.need(self.need, self.population)


@dataclass(frozen=True)
class SolveReport:
    """How a solve ended, in numbers and in plain words.

    Attributes
    ----------
    status : str
        ``"optimal"`` (proved within the gap tolerance), ``"feasible"`` (a plan,
        not proved; see ``gap``), ``"infeasible"`` or ``"time_limit_no_solution"``.
    objective : float
        Objective of the returned plan (NaN if none).
    bound : float
        Best proven bound on the optimum, same sense as the objective.
    gap : float
        ``|objective - bound| / max(|objective|, 1e-9)``; 0 when proved optimal.
    seconds : float
        Time spent solving.
    message : str
        One or two sentences a planner can read: what was proved and, if anything
        was relaxed or not respected (e.g. capacity), by how much.
    detail : str
        The solver's own technical note (e.g. which stages ran), or ``""``.
    backend : str
        The solver that ran (e.g. ``"cp-sat"``), or ``""``.
    """

    status: SolveStatus
    objective: float
    bound: float
    gap: float
    seconds: float
    message: str = ""
    detail: str = ""
    backend: str = ""


@dataclass(frozen=True, eq=False)
class ModelResult:
    """What the shared pipeline needs from any planning model.

    Models subclass it to carry their own typed results (never a dict of extras).

    Attributes
    ----------
    open_period : numpy.ndarray
        Per site (int): ``-1`` not opened, ``0`` already open, ``t >= 1`` opens in year ``t``.
    assignment : numpy.ndarray
        Per area (int): index of the site that serves it, ``-1`` if none does.
    size : numpy.ndarray or None
        Per site: the size template name the model chose (``""`` where none), or
        ``None`` to let the pipeline size each centre by its catchment's demand.
    solve : SolveReport
        Status, objective, bound, gap and the plain-words message.
    """

    open_period: np.ndarray
    assignment: np.ndarray
    size: np.ndarray | None
    solve: SolveReport

    def solver_summary(self) -> dict[str, Any]:
        """The plan's ``solver`` record: ``status, objective, bound, gap, solve_seconds,
        message, detail, backend`` (subclasses may add their own keys)."""
        r = self.solve
        return {
            "status": r.status,
            "objective": float(r.objective),
            "bound": float(r.bound),
            "gap": float(r.gap),
            "solve_seconds": float(r.seconds),
            "message": r.message,
            "detail": r.detail,
            "backend": r.backend,
        }


@dataclass(frozen=True, eq=False)
class PlanTables:
    """The model-dependent tables of a :class:`~nhc_planner.plan.Plan`.

    Attributes
    ----------
    centres : geopandas.GeoDataFrame
        One row per open centre (columns in ``docs/architecture.md``).
    assignments : geopandas.GeoDataFrame
        One row per area.
    neighbourhoods : geopandas.GeoDataFrame or None
        One row per area with its neighbourhood (models that delineate them).
    """

    centres: gpd.GeoDataFrame
    assignments: gpd.GeoDataFrame
    neighbourhoods: gpd.GeoDataFrame | None = None


@runtime_checkable
class PlanningModel(Protocol):
    """A planning model: shared inputs -> its own arrays -> a typed result -> the plan's tables."""

    name: ClassVar[str]
    label: ClassVar[str]

    def build(self, inputs: PlanInputs) -> Any:
        """Make the model's own arrays from the shared inputs."""
        ...

    def solve(self, built: Any) -> ModelResult:
        """Solve the arrays into a typed result."""
        ...

    def tables(self, inputs: PlanInputs, built: Any, result: ModelResult) -> PlanTables:
        """Turn the result into the plan's tables."""
        ...


@runtime_checkable
class SupportsStability(Protocol):
    """A planning model that can measure how stable its choice is (the sensitivity run)."""

    def stability(self, inputs: PlanInputs, built: Any, progress: Progress) -> pd.DataFrame:
        """``site_id, share_chosen, mean_phase`` of the new sites chosen in perturbed re-solves."""
        ...


_MODELS: dict[str, type[Any]] = {}

#: Modules that define the built-in models; imported on first look-up.
_BUILT_IN: tuple[str, ...] = ("nhc_planner.model_coverage", "nhc_planner.model_neighbourhoods")

_T = TypeVar("_T")


def register_model(cls: type[_T]) -> type[_T]:
    """Register a planning model class under its ``name`` (usable as a decorator).

    Raises
    ------
    ValueRangeError
        If another class is already registered under that name.
    """
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name:
        msg = f"planning model {cls!r}: expected a non-empty class attribute 'name'; found {name!r}"
        raise ValueRangeError(msg)
    existing = _MODELS.get(name)
    if existing is not None and existing is not cls:
        msg = f"planning model {name!r} is already registered ({existing.__qualname__})"
        raise ValueRangeError(msg)
    _MODELS[name] = cls
    return cls


def unregister_model(name: str) -> None:
    """Remove a registered model (tests and plug-ins); unknown names are ignored."""
    _MODELS.pop(name, None)


def _load_built_in() -> None:
    import importlib

    for module in _BUILT_IN:
        importlib.import_module(module)


def model_names() -> tuple[str, ...]:
    """Names of the registered planning models, sorted."""
    _load_built_in()
    return tuple(sorted(_MODELS))


def model_labels() -> dict[str, str]:
    """``{name: label}`` of the registered planning models, sorted by name (for menus)."""
    _load_built_in()
    return {name: str(getattr(_MODELS[name], "label", name)) for name in sorted(_MODELS)}


def get_model(name: str) -> PlanningModel:
    """A new instance of the planning model registered as ``name``.

    Raises
    ------
    ValueRangeError
        If no model has that name; the message lists the registered ones.
    """
    _load_built_in()
    cls = _MODELS.get(name)
    if cls is None:
        msg = f"policy.model: unknown planning model {name!r}; expected one of {sorted(_MODELS)}"
        raise ValueRangeError(msg)
    model: PlanningModel = cls()
    return model
