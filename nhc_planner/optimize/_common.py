"""Machinery shared by the array-level models: options, validation, preprocessing, solving.

Every model in :mod:`nhc_planner.optimize` goes through the same steps:

1. validate its arrays (:func:`as_cost_matrix`, :func:`as_weights`, :func:`check_p`) and
   its keyword-only options (:func:`parse_options` -> :class:`SolveOptions`);
2. preprocess in ways that provably keep the optimum
   (:func:`coverage_matrix`, :func:`aggregate_rows`, :func:`dominated_columns`);
3. build and solve a MIP through :class:`MipModel` (OR-Tools ``pywraplp`` with HiGHS or
   SCIP; time limit always set, relative gap tolerance 0) and read the outcome as a
   :class:`MipOutcome` (status, objective, bound, gap);
4. return a :class:`~nhc_planner.optimize.Solution`, or :func:`infeasible_solution`
   with ``explanation`` when no choice of sites can satisfy the model.

Conventions: costs are non-negative floats with ``np.inf`` for "unreachable"; NaN is
an error. Site and demand indices are 0-based positions in the cost matrix columns and
rows. ``fixed`` sites are open in every solution and count towards ``p``; ``excluded``
sites are never open.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import numpy as np
from ortools.linear_solver import pywraplp

from nhc_planner._errors import SolverError, ValueRangeError
from nhc_planner.optimize._solution import Solution, Status

__all__ = [
    "DEFAULT_TIME_LIMIT_S",
    "MipBackend",
    "MipModel",
    "MipOutcome",
    "SolveOptions",
    "aggregate_rows",
    "allowed_mask",
    "as_cost_matrix",
    "as_weights",
    "check_max_cost",
    "check_p",
    "coverage_matrix",
    "dominated_columns",
    "infeasible_solution",
    "no_solution",
    "parse_options",
    "relative_gap",
    "site_labels",
    "size_gate_note",
]

DEFAULT_TIME_LIMIT_S = 60.0
"""Time limit of every solve unless the caller sets ``time_limit_s``."""

MipBackend = Literal["highs", "scip", "cbc"]

_BACKEND_NAMES: dict[str, str] = {
    "highs": "HIGHS",
    "scip": "SCIP",
    "cbc": "CBC",
    "glop": "GLOP",
    "clp": "CLP",
    "pdlp": "PDLP",
}


# --------------------------------------------------------------------------- options


@dataclass(frozen=True)
class SolveOptions:
    """Validated keyword-only options shared by every model.

    Attributes
    ----------
    n_sites
        Number of candidate sites (columns of the cost matrix).
    fixed
        Sorted unique indices of sites that must be open.
    excluded
        Sorted unique indices of sites that must stay closed.
    time_limit_s
        Wall-clock limit of the solver, in seconds (always finite and positive).
    threads
        Solver threads (>= 1).
    seed
        Solver random seed (>= 0).
    max_nodes
        Deterministic work limit: branch-and-bound nodes of a MIP solved through
        ``highspy`` (:class:`MipModel` with ``engine="highspy"``); None = no limit.
    """

    n_sites: int
    fixed: np.ndarray = field(repr=False)
    excluded: np.ndarray = field(repr=False)
    time_limit_s: float = DEFAULT_TIME_LIMIT_S
    threads: int = 1
    seed: int = 0
    max_nodes: int | None = None

    @property
    def allowed(self) -> np.ndarray:
        """Boolean mask over sites: True where a site may be opened (not excluded)."""
        return allowed_mask(self.n_sites, self.excluded)

    @property
    def fixed_mask(self) -> np.ndarray:
        """Boolean mask over sites: True where a site must be open."""
        mask = np.zeros(self.n_sites, dtype=bool)
        mask[self.fixed] = True
        return mask


def _as_site_indices(
    values: Iterable[int] | np.ndarray | None, n_sites: int, name: str
) -> np.ndarray:
    if values is None:
        return np.zeros(0, dtype=np.int64)
    arr = np.asarray(list(values) if not isinstance(values, np.ndarray) else values)
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64)
    if arr.dtype == bool:
        if arr.shape != (n_sites,):
            msg = (
                f"{name}: a boolean mask must have one entry per site ({n_sites}); "
                f"found shape {arr.shape}"
            )
            raise ValueRangeError(msg)
        return np.flatnonzero(arr).astype(np.int64)
    if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
        msg = (
            f"{name}: expected a 1-D sequence of integer site indices; "
            f"found {arr.dtype} of shape {arr.shape}"
        )
        raise ValueRangeError(msg)
    bad = arr[(arr < 0) | (arr >= n_sites)]
    if bad.size:
        found = sorted(set(bad.tolist()))[:10]
        msg = f"{name}: site indices must be in 0..{n_sites - 1}; found {found}"
        raise ValueRangeError(msg)
    return np.unique(arr.astype(np.int64))


def parse_options(
    n_sites: int,
    *,
    fixed: Iterable[int] | np.ndarray | None = None,
    excluded: Iterable[int] | np.ndarray | None = None,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    threads: int = 1,
    seed: int = 0,
) -> SolveOptions:
    """Validate the shared keyword-only options of a model.

    Parameters
    ----------
    n_sites
        Number of candidate sites.
    fixed, excluded
        Site indices (or boolean masks over sites) that must be open / closed.
    time_limit_s
        Solver time limit in seconds; must be finite and > 0.
    threads
        Number of solver threads, >= 1.
    seed
        Random seed, >= 0.

    Returns
    -------
    SolveOptions

    Raises
    ------
    ValueRangeError
        On out-of-range indices, a site both fixed and excluded, or a bad limit.

    Examples
    --------
    >>> opts = parse_options(4, fixed=[2], excluded=[0, 0])
    >>> opts.fixed.tolist(), opts.excluded.tolist(), opts.allowed.tolist()
    ([2], [0], [False, True, True, True])
    """
    fixed_arr = _as_site_indices(fixed, n_sites, "fixed")
    excluded_arr = _as_site_indices(excluded, n_sites, "excluded")
    both = np.intersect1d(fixed_arr, excluded_arr)
    if both.size:
        msg = (
            f"sites {both.tolist()[:10]} are both fixed and excluded; "
            "a site can be only one of them"
        )
        raise ValueRangeError(msg)
    if not np.isfinite(time_limit_s) or time_limit_s <= 0:
        msg = f"time_limit_s must be a finite number of seconds > 0; found {time_limit_s!r}"
        raise ValueRangeError(msg)
    if int(threads) != threads or threads < 1:
        msg = f"threads must be an integer >= 1; found {threads!r}"
        raise ValueRangeError(msg)
    if int(seed) != seed or seed < 0:
        msg = f"seed must be an integer >= 0; found {seed!r}"
        raise ValueRangeError(msg)
    return SolveOptions(
        n_sites=int(n_sites),
        fixed=fixed_arr,
        excluded=excluded_arr,
        time_limit_s=float(time_limit_s),
        threads=int(threads),
        seed=int(seed),
    )


def allowed_mask(n_sites: int, excluded: np.ndarray) -> np.ndarray:
    """Boolean mask of sites that may be opened (every site not in ``excluded``)."""
    mask = np.ones(n_sites, dtype=bool)
    mask[excluded] = False
    return mask


# --------------------------------------------------------------------------- validation


def as_cost_matrix(cost: Any, name: str = "cost") -> np.ndarray:
    """Return ``cost`` as a 2-D float64 array of non-negative costs (``np.inf`` allowed).

    Raises
    ------
    ValueRangeError
        If the array is not 2-D, is empty, holds NaN, negative values or ``-inf``.

    Examples
    --------
    >>> as_cost_matrix([[1, np.inf], [0, 2]]).dtype
    dtype('float64')
    """
    try:
        arr = np.asarray(cost, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        msg = f"{name}: expected a numeric (demand points x sites) matrix; {exc}"
        raise ValueRangeError(msg) from exc
    if arr.ndim != 2:
        msg = (
            f"{name}: expected a 2-D (demand points x sites) matrix; "
            f"found {arr.ndim}-D shape {arr.shape}"
        )
        raise ValueRangeError(msg)
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        msg = f"{name}: needs at least one demand point and one site; found shape {arr.shape}"
        raise ValueRangeError(msg)
    nan = np.isnan(arr)
    if nan.any():
        i, j = np.argwhere(nan)[0]
        msg = (
            f"{name}: {int(nan.sum())} NaN entries (first at demand point {i}, site {j}); "
            "use np.inf for unreachable pairs"
        )
        raise ValueRangeError(msg)
    neg = arr < 0
    if neg.any():
        i, j = np.argwhere(neg)[0]
        msg = (
            f"{name}: costs must be >= 0 (np.inf = unreachable); "
            f"found {arr[i, j]} at demand point {i}, site {j}"
        )
        raise ValueRangeError(msg)
    return arr


def floor_members(floor: Any, weights: np.ndarray, periods: int) -> tuple[int, np.ndarray]:
    """Check one coverage or service floor; return its year and its members' weights.

    ``floor`` has ``name``, ``members`` (bool per demand point), ``share`` in
    [0, 1], ``period`` (1..``periods``, or None for the last) and optional
    ``weights`` (default ``weights``). Shared by the phased models.

    Returns
    -------
    tuple of (int, numpy.ndarray)
        The floor's year (1-based) and, per demand point, its weight if a member
        else 0.

    Raises
    ------
    ValueRangeError
        A mask of the wrong shape or type, a share outside [0, 1], a year outside
        the horizon, or bad weights; the message names the floor.
    """
    n = weights.size
    members = np.asarray(floor.members)
    if members.shape != (n,) or members.dtype != bool:
        msg = (
            f"floor {floor.name!r}: members must be a boolean mask with one entry per "
            f"demand point ({n}); found dtype {members.dtype}, shape {members.shape}"
        )
        raise ValueRangeError(msg)
    if not 0 <= floor.share <= 1:
        msg = f"floor {floor.name!r}: share must be in [0, 1]; found {floor.share}"
        raise ValueRangeError(msg)
    period = periods if floor.period is None else int(floor.period)
    if not 1 <= period <= periods:
        msg = f"floor {floor.name!r}: period must be in 1..{periods}; found {floor.period}"
        raise ValueRangeError(msg)
    v = (
        weights
        if floor.weights is None
        else as_weights(floor.weights, n, f"floor {floor.name!r} weights")
    )
    return period, np.where(members, v, 0.0)


def as_weights(weights: Any, n: int, name: str = "weights") -> np.ndarray:
    """Return ``weights`` as a 1-D float64 array of ``n`` finite non-negative values.

    Examples
    --------
    >>> as_weights([1, 2.5], 2).tolist()
    [1.0, 2.5]
    """
    try:
        arr = np.asarray(weights, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        msg = f"{name}: expected {n} numbers, one per demand point; {exc}"
        raise ValueRangeError(msg) from exc
    if arr.shape != (n,):
        msg = (
            f"{name}: expected shape ({n},), one value per demand point (cost rows); "
            f"found {arr.shape}"
        )
        raise ValueRangeError(msg)
    bad = ~np.isfinite(arr)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        msg = f"{name}: values must be finite; found {arr[k]} at demand point {k}"
        raise ValueRangeError(msg)
    neg = arr < 0
    if neg.any():
        k = int(np.flatnonzero(neg)[0])
        msg = f"{name}: values must be >= 0; found {arr[k]} at demand point {k}"
        raise ValueRangeError(msg)
    return arr


def weights_by_period(weights: Any, n: int, periods: int) -> tuple[np.ndarray, np.ndarray | None]:
    """``(final-period weights, (T, n) weights or None)`` from ``(n,)`` or ``(T, n)`` weights.

    The phased models weigh period ``t`` with row ``t``; ``None`` means the same ``(n,)``
    weights in every period.
    """
    try:
        arr: np.ndarray | None = np.asarray(weights, dtype=float)
    except (TypeError, ValueError):
        arr = None  # as_weights says what is wrong
    if arr is None or arr.ndim != 2:
        return as_weights(weights, n), None
    if arr.shape != (periods, n):
        msg = (
            f"weights: expected ({n},) (one per demand point) or ({periods}, {n}) (one row "
            f"per period); found shape {arr.shape}"
        )
        raise ValueRangeError(msg)
    wt = np.vstack([as_weights(arr[t], n, f"weights[period {t + 1}]") for t in range(periods)])
    return wt[-1].copy(), wt


def per_period(value: Any, periods: int, name: str, *, integer: bool) -> np.ndarray | None:
    """A number or one value per period as ``(periods,)`` finite values >= 0 (None stays).

    ``integer``: the values must be whole numbers (numbers of centres).
    """
    if value is None:
        return None
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0:
        arr = np.full(periods, float(arr))
    if arr.shape != (periods,):
        msg = (
            f"{name}: expected a number or {periods} values (one per period); "
            f"found shape {arr.shape}"
        )
        raise ValueRangeError(msg)
    if np.any(~np.isfinite(arr)) or np.any(arr < 0):
        msg = f"{name}: values must be finite and >= 0; found {arr.tolist()}"
        raise ValueRangeError(msg)
    if integer and np.any(arr != np.round(arr)):
        msg = f"{name}: expected whole numbers of centres; found {arr.tolist()}"
        raise ValueRangeError(msg)
    return arr


def check_p(p: Any, opts: SolveOptions) -> int:
    """Validate the number of open sites ``p`` against the allowed and fixed sites.

    ``p`` counts every open site, fixed ones included, so it must satisfy
    ``len(fixed) <= p <= number of allowed (non-excluded) sites`` and ``p >= 1``.
    """
    if isinstance(p, bool) or int(p) != p:
        msg = f"p must be an integer number of sites; found {p!r}"
        raise ValueRangeError(msg)
    p = int(p)
    n_allowed = int(opts.allowed.sum())
    if p < 1:
        msg = f"p must be >= 1; found {p}"
        raise ValueRangeError(msg)
    if p > n_allowed:
        msg = (
            f"p={p} is larger than the number of allowed sites ({n_allowed} of {opts.n_sites}, "
            f"{opts.excluded.size} excluded)"
        )
        raise ValueRangeError(msg)
    if p < opts.fixed.size:
        msg = (
            f"p={p} is smaller than the number of fixed sites ({opts.fixed.size}); "
            "p counts fixed sites"
        )
        raise ValueRangeError(msg)
    return p


def check_max_cost(max_cost: Any, name: str = "max_cost") -> float:
    """Validate a coverage standard: a finite number >= 0."""
    try:
        value = float(max_cost)
    except (TypeError, ValueError) as exc:
        msg = f"{name}: expected a number; found {max_cost!r}"
        raise ValueRangeError(msg) from exc
    if not np.isfinite(value) or value < 0:
        msg = f"{name}: expected a finite number >= 0; found {max_cost!r}"
        raise ValueRangeError(msg)
    return value


# --------------------------------------------------------------------------- preprocessing


def site_labels(site_ids: Sequence[Any] | None, n_sites: int) -> list[Any]:
    """Labels of the sites: ``site_ids`` checked to hold one per site, or ``0..n_sites-1``.

    Examples
    --------
    >>> site_labels(None, 3), site_labels(["A", "B"], 2)
    ([0, 1, 2], ['A', 'B'])
    """
    ids = list(range(n_sites)) if site_ids is None else list(site_ids)
    if len(ids) != n_sites:
        msg = f"site_ids: expected {n_sites} labels (one per site); found {len(ids)}"
        raise ValueRangeError(msg)
    return ids


def coverage_matrix(
    cost: np.ndarray, max_cost: float, allowed: np.ndarray | None = None
) -> np.ndarray:
    """Boolean (demand points x sites) matrix: ``cost <= max_cost`` at an allowed site.

    Examples
    --------
    >>> coverage_matrix(np.array([[5.0, 25.0], [np.inf, 10.0]]), 20.0).tolist()
    [[True, False], [False, True]]
    """
    cover = cost <= max_cost
    if allowed is not None:
        cover &= allowed[np.newaxis, :]
    return cover


def aggregate_rows(
    rows: np.ndarray, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge demand points whose rows (coverage sets) are identical.

    Two demand points with the same coverage set are covered by exactly the same
    choices of sites, so replacing them by one point carrying the sum of their
    weights leaves every coverage objective and constraint unchanged.

    Parameters
    ----------
    rows
        ``(n, m)`` boolean matrix (any dtype compared exactly).
    weights
        ``(n,)`` weights; ones when None.

    Returns
    -------
    unique_rows, summed_weights, inverse
        ``unique_rows[inverse[i]]`` is row ``i``; ``summed_weights[k]`` is the total
        weight of the rows merged into ``unique_rows[k]``.

    Examples
    --------
    >>> rows = np.array([[1, 0], [0, 1], [1, 0]], dtype=bool)
    >>> u, w, inv = aggregate_rows(rows, np.array([1.0, 2, 3]))
    >>> u.astype(int).tolist(), w.tolist(), inv.tolist()
    ([[0, 1], [1, 0]], [2.0, 4.0], [1, 0, 1])
    """
    n = rows.shape[0]
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    if n == 0:
        return rows.copy(), np.zeros(0), np.zeros(0, dtype=np.int64)
    packed = np.packbits(rows.astype(bool), axis=1) if rows.shape[1] else np.zeros((n, 1), np.uint8)
    _, first, inverse = np.unique(packed, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    summed = np.bincount(inverse, weights=w, minlength=first.size)
    return rows[first], summed, inverse.astype(np.int64)


def dominated_columns(cover: np.ndarray, candidates: np.ndarray | None = None) -> np.ndarray:
    """Mask of candidate columns whose coverage set is contained in another candidate's.

    Column ``j`` is removed when some other candidate ``k`` covers a strict superset of
    ``j``'s rows, or exactly the same rows and ``k < j`` (identical columns keep the
    lowest index). The relation is a strict partial order, so every removed column is
    dominated by a kept one (transitivity), and in any solution a removed site can be
    swapped for its dominator without losing coverage.

    This is valid for models that reward coverage with non-negative weights and limit
    the *number* of (equal-cost) open sites from above (MCLP with "at most p", set
    cover). It is not valid for distance-based objectives (p-median) or when sites
    have different costs.

    Parameters
    ----------
    cover
        ``(n, m)`` boolean coverage matrix.
    candidates
        Boolean mask over the ``m`` columns of those that may be removed and may
        dominate (e.g. allowed, not fixed); all columns when None.

    Returns
    -------
    numpy.ndarray
        Boolean mask over columns, True for dominated (removable) candidates.

    Examples
    --------
    >>> c = np.array([[1, 1, 0, 1], [0, 1, 0, 1], [0, 0, 1, 0]], dtype=bool)
    >>> dominated_columns(c).tolist()
    [True, False, False, True]
    """
    m = cover.shape[1]
    cand = np.ones(m, dtype=bool) if candidates is None else np.asarray(candidates, dtype=bool)
    idx = np.flatnonzero(cand)
    out = np.zeros(m, dtype=bool)
    if idx.size < 2:
        return out
    sub = cover[:, idx].astype(np.float32)
    size = sub.sum(axis=0)
    overlap = sub.T @ sub  # overlap[a, b] = |N_a ∩ N_b|
    contained = overlap >= size[:, np.newaxis] - 0.5  # N_a ⊆ N_b
    strict = contained & (size[np.newaxis, :] > size[:, np.newaxis] + 0.5)
    equal = contained & ~strict
    order = np.arange(idx.size)
    equal_lower = equal & (order[np.newaxis, :] < order[:, np.newaxis])
    dominated = (strict | equal_lower).any(axis=1)
    out[idx[dominated]] = True
    return out


# --------------------------------------------------------------------------- solving


def size_gate_note(what: str, size: int, limit: int, per: str = "periods") -> str:
    """The message of a step skipped by a size gate (a deterministic work limit).

    ``what`` names the step; empty when the caller names it before the message.

    Examples
    --------
    >>> size_gate_note("full MIP", 134_000, 60_000)[:60]
    'full MIP skipped: its model has 134,000 area-site pairs x pe'
    """
    return (
        f"{what} skipped: ".lstrip() + f"its model has {size:,} area-site pairs x {per} within "
        f"the standard, above the {limit:,} it runs on (a work limit)"
    )


def relative_gap(objective: float, bound: float) -> float:
    """Relative gap ``|objective - bound| / max(|objective|, 1e-9)`` (NaN if either is NaN).

    Examples
    --------
    >>> relative_gap(100.0, 99.0)
    0.01
    """
    if not (np.isfinite(objective) and np.isfinite(bound)):
        return float("nan") if np.isnan(objective) or np.isnan(bound) else float("inf")
    return float(abs(objective - bound) / max(abs(objective), 1e-9))


@dataclass(frozen=True)
class MipOutcome:
    """What a MIP solve produced.

    Attributes
    ----------
    status
        A :data:`~nhc_planner.optimize.Status`.
    objective
        Objective of the incumbent (NaN when none).
    bound
        Best proven bound (NaN when unknown).
    seconds
        Wall-clock solve time.
    backend
        Name of the solver used.
    message
        Human-readable termination summary.
    """

    status: Status
    objective: float
    bound: float
    seconds: float
    backend: str
    message: str

    @property
    def gap(self) -> float:
        """Relative gap of the incumbent, 0.0 when optimal."""
        if self.status == "optimal":
            return 0.0
        return relative_gap(self.objective, self.bound)


class MipModel:
    """A thin wrapper around an OR-Tools ``pywraplp`` solver with honest termination.

    Parameters
    ----------
    opts
        Time limit, threads and seed come from here.
    backend
        ``"highs"`` (default), ``"scip"`` or ``"cbc"``.
    maximize
        Objective sense.
    engine
        ``"ortools"`` (default): the backend solves through ``pywraplp``.
        ``"highspy"`` (``backend="highs"`` only): the model is exported (MPS, names
        obfuscated so column order is kept) and solved by HiGHS through ``highspy``,
        which honours ``opts.max_nodes`` (a deterministic work limit), takes a
        start from :meth:`hint` and returns its incumbent when a limit stops it
        (OR-Tools' wrapper drops it); the solution is loaded back so
        :meth:`values` and :meth:`incumbent` work unchanged.

    Notes
    -----
    The relative MIP gap tolerance is set to 0 so ``"optimal"`` means proven optimal
    (up to the solver's absolute tolerance of about 1e-6 of the objective scale).
    """

    def __init__(
        self,
        opts: SolveOptions,
        *,
        backend: MipBackend = "highs",
        maximize: bool = False,
        engine: Literal["ortools", "highspy"] = "ortools",
    ):
        name = _BACKEND_NAMES.get(backend)
        solver = pywraplp.Solver.CreateSolver(name) if name else None
        if solver is None:
            msg = (
                f"MIP backend {backend!r} is not available in this OR-Tools build; "
                f"expected one of {sorted(_BACKEND_NAMES)}"
            )
            raise SolverError(msg)
        self.solver: pywraplp.Solver = solver
        self.backend = backend
        self.maximize = maximize
        self.opts = opts
        self.engine = engine if backend == "highs" else "ortools"
        self.stop_reason = ""
        self._hint: tuple[list[Any], list[float]] | None = None

    def hint(self, variables: Sequence[Any], values: Sequence[float]) -> None:
        """A starting solution (``engine="highspy"``: a HiGHS start; SCIP: a pywraplp hint)."""
        if self.engine == "highspy":
            self._hint = (list(variables), [float(v) for v in values])
        elif self.backend == "scip":  # pywraplp's SetHint crashes with HiGHS in OR-Tools 9.15
            self.solver.SetHint(list(variables), [float(v) for v in values])

    def bool_vars(self, n: int, prefix: str) -> list[Any]:
        """Create ``n`` binary variables."""
        return [self.solver.BoolVar(f"{prefix}{k}") for k in range(n)]

    def num_vars(self, n: int, prefix: str, lb: float = 0.0, ub: float = 1.0) -> list[Any]:
        """Create ``n`` continuous variables in ``[lb, ub]``."""
        return [self.solver.NumVar(lb, ub, f"{prefix}{k}") for k in range(n)]

    def constraint(self, lb: float, ub: float, terms: Sequence[tuple[Any, float]]) -> Any:
        """Add ``lb <= sum(coef * var) <= ub``."""
        ct = self.solver.Constraint(lb, ub)
        for var, coef in terms:
            ct.SetCoefficient(var, coef)
        return ct

    def set_objective(self, terms: Sequence[tuple[Any, float]], offset: float = 0.0) -> None:
        """Set the linear objective ``offset + sum(coef * var)``."""
        obj = self.solver.Objective()
        for var, coef in terms:
            obj.SetCoefficient(var, coef)
        obj.SetOffset(offset)
        if self.maximize:
            obj.SetMaximization()
        else:
            obj.SetMinimization()

    def run(self, *, time_limit_share: float = 0.95) -> tuple[Status, float]:
        """Solve within the time limit and classify the termination; read no solution.

        Parameters
        ----------
        time_limit_share
            A solve that ends neither optimal, feasible nor infeasible is read as
            ``"time_limit_no_solution"`` when it was NOT_SOLVED or ran for at least
            this share of the time limit; otherwise it raises :class:`SolverError`.

        Returns
        -------
        status, seconds
            The :data:`~nhc_planner.optimize.Status` and the wall-clock solve time.
        """
        if self.engine == "highspy":
            return self._run_highspy()
        solver = self.solver
        solver.SetTimeLimit(max(1, round(self.opts.time_limit_s * 1000)))
        solver.SetNumThreads(self.opts.threads)
        if self.backend == "scip":
            solver.SetSolverSpecificParametersAsString(
                f"randomization/randomseedshift = {self.opts.seed}\n"
            )
        elif self.backend == "highs":
            solver.SetSolverSpecificParametersAsString(
                f"random_seed={self.opts.seed}\nmip_rel_gap=0\noutput_flag=false\nlog_to_console=false\n"
            )
        params = pywraplp.MPSolverParameters()
        params.SetDoubleParam(params.RELATIVE_MIP_GAP, 0.0)
        start = time.perf_counter()
        code = solver.Solve(params)
        seconds = time.perf_counter() - start
        if code == pywraplp.Solver.OPTIMAL:
            status: Status = "optimal"
        elif code == pywraplp.Solver.FEASIBLE:
            status = "feasible"
        elif code == pywraplp.Solver.INFEASIBLE:
            status = "infeasible"
        elif (
            seconds >= time_limit_share * self.opts.time_limit_s
            or code == pywraplp.Solver.NOT_SOLVED
        ):
            # HiGHS reports a time limit as UNKNOWN through pywraplp and then exposes no
            # incumbent, so a stopped solve without FEASIBLE status has no usable solution.
            status = "time_limit_no_solution"
        else:
            msg = f"{self.backend} stopped abnormally (result code {code}) after {seconds:.1f} s"
            raise SolverError(msg)
        return status, seconds

    def _run_highspy(self) -> tuple[Status, float]:
        """:meth:`run` through ``highspy``; the solution is loaded back into the solver."""
        import highspy
        from ortools.linear_solver import linear_solver_pb2

        solver = self.solver
        start = time.perf_counter()
        from nhc_planner.optimize._highs import new_highs

        opts = self.opts
        h = new_highs(opts.threads, opts.seed, opts.time_limit_s, mip_rel_gap=0.0)
        if self.opts.max_nodes is not None:
            h.setOptionValue("mip_max_nodes", int(self.opts.max_nodes))
        n = solver.NumVariables()
        mps = solver.ExportModelAsMpsFormat(False, True)  # free format, obfuscated names
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "model.mps")
            with open(path, "w", encoding="ascii") as fh:
                fh.write(mps)
            h.readModel(path)
        # obfuscated names are "V<index>"; a variable in no row and not in the objective
        # is read from the BOUNDS section, after the others, so map columns by name
        names = list(h.getLp().col_names_)
        order = np.array([int(name[1:]) for name in names], dtype=np.int64)
        if order.size != n or not np.array_equal(np.sort(order), np.arange(n)):
            msg = f"highspy read {order.size} columns from a model of {n} variables"
            raise SolverError(msg)  # pragma: no cover - the exporter writes every variable
        column = np.empty(n, dtype=np.int32)
        column[order] = np.arange(n, dtype=np.int32)  # variable index -> HiGHS column
        if self._hint is not None and n:
            idx = column[np.array([v.index() for v in self._hint[0]], dtype=np.int64)]
            h.setSolution(idx.size, idx, np.asarray(self._hint[1], dtype=np.float64))
        h.run()
        seconds = time.perf_counter() - start
        ms = h.getModelStatus()
        kind = highspy.HighsModelStatus
        info = h.getInfo()
        has_solution = info.primal_solution_status == 2
        if ms in (kind.kOptimal, kind.kModelEmpty):
            status: Status = "optimal"
        elif ms in (kind.kInfeasible, kind.kUnboundedOrInfeasible):
            status = "infeasible"
        else:
            status = "feasible" if has_solution else "time_limit_no_solution"
            self.stop_reason = (
                f"node limit ({self.opts.max_nodes})"
                if ms == kind.kSolutionLimit
                else f"time limit ({self.opts.time_limit_s:g} s)"
            )
        if status in ("optimal", "feasible"):
            resp = linear_solver_pb2.MPSolutionResponse()
            resp.status = linear_solver_pb2.MPSOLVER_FEASIBLE
            resp.objective_value = float(info.objective_function_value)
            integer = any(v.integer() for v in solver.variables())
            raw_bound = float(info.mip_dual_bound) if integer else resp.objective_value
            resp.best_objective_bound = (
                raw_bound
                if np.isfinite(raw_bound)
                else (resp.objective_value if status == "optimal" else np.nan)
            )
            values = np.asarray(h.getSolution().col_value, dtype=np.float64)[column]
            resp.variable_value.extend(values.tolist())
            solver.LoadSolutionFromProto(resp)
        return status, seconds

    def incumbent(self) -> tuple[float, float]:
        """Objective and raw best bound of the incumbent of an optimal or feasible :meth:`run`.

        The bound is the objective when the model has no variables.
        """
        solver = self.solver
        objective = float(solver.Objective().Value())
        bound = float(solver.Objective().BestBound()) if solver.NumVariables() > 0 else objective
        return objective, bound

    def outcome(self, status: Status, seconds: float, objective: float, bound: float) -> MipOutcome:
        """The :class:`MipOutcome` of a :meth:`run`, with its termination summary."""
        message = f"{self.backend}: {status} in {seconds:.2f} s"
        if status == "feasible":
            gap = relative_gap(objective, bound)
            limit = self.stop_reason or f"time limit {self.opts.time_limit_s:g} s"
            message += f" (stopped by the {limit}; gap {gap:.3%}; best plan kept)"
        return MipOutcome(status, objective, bound, seconds, self.backend, message)

    def solve(self) -> MipOutcome:
        """Solve within the time limit and classify the termination.

        An unknown best bound, or one on the wrong side of the incumbent, is NaN.
        """
        status, seconds = self.run()
        if status in ("optimal", "feasible"):
            objective, bound = self.incumbent()
            if status == "optimal" or not np.isfinite(bound):
                # optimal: proven with gap tolerance 0; otherwise the bound is unknown
                bound = objective if status == "optimal" else float("nan")
            elif (bound < objective) if self.maximize else (bound > objective):
                bound = float("nan")  # not a valid bound on the incumbent
        else:
            objective, bound = float("nan"), float("nan")
        return self.outcome(status, seconds, objective, bound)

    @staticmethod
    def values(variables: Sequence[Any]) -> np.ndarray:
        """Solution values of ``variables`` as a float array."""
        return np.array([v.solution_value() for v in variables], dtype=np.float64)


# --------------------------------------------------------------------------- results


_S = TypeVar("_S", bound=Solution)


def infeasible_solution(
    n_demand: int,
    explanation: str,
    *,
    seconds: float = 0.0,
    kind: type[_S] = Solution,  # type: ignore[assignment]
    **fields: Any,
) -> _S:
    """A ``kind`` (a :class:`Solution` class) with status ``"infeasible"`` and ``explanation``.

    ``fields`` are more fields of ``kind`` (e.g. ``backend``, ``message``).
    """
    return kind(
        open=np.zeros(0, dtype=np.int64),
        assignment=np.full(n_demand, -1, dtype=np.int64),
        objective=float("nan"),
        bound=float("nan"),
        gap=float("nan"),
        status="infeasible",
        solve_seconds=seconds,
        explanation=explanation,
        **fields,
    )


def no_solution(
    n_demand: int,
    outcome: MipOutcome,
    *,
    kind: type[_S] = Solution,  # type: ignore[assignment]
    **fields: Any,
) -> _S:
    """A ``kind`` (a :class:`Solution` class) for a solve that ended without an incumbent."""
    return kind(
        open=np.zeros(0, dtype=np.int64),
        assignment=np.full(n_demand, -1, dtype=np.int64),
        objective=float("nan"),
        bound=outcome.bound,
        gap=float("nan"),
        status=outcome.status,
        solve_seconds=outcome.seconds,
        **{"message": outcome.message, "backend": outcome.backend, **fields},
    )
