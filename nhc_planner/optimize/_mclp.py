"""Exact shortcut for the maximal covering model of :func:`~nhc_planner.optimize.max_coverage`.

When ``p`` sites are enough to cover every coverable point, the MCLP optimum is the
whole coverable weight, and any set cover with at most ``p`` sites proves it. The MCLP
MIP is slow to *find* such a cover (its LP bound is already the optimum, so branching
only hunts for an incumbent), while a set-cover MIP finds one quickly. This module
decides when the detour is worth trying (the MCLP linear relaxation must reach the
whole coverable weight, a necessary condition) and solves the set cover.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from nhc_planner.optimize._common import MipBackend, MipModel, SolveOptions, dominated_columns

__all__ = ["cover_within", "drop_superset_rows", "mclp_lp_bound"]


def mclp_lp_bound(a: np.ndarray, w: np.ndarray, p: int) -> float:
    r"""Value of the linear relaxation of the MCLP on a reduced coverage matrix.

    :math:`\max \sum_r w_r u_r` s.t. :math:`u_r \le \sum_j a_{rj} x_j`,
    :math:`\sum_j x_j \le p`, :math:`0 \le u, x \le 1`, solved with SciPy's HiGHS.
    It bounds the MIP optimum from above; NaN when the LP solver fails.

    Parameters
    ----------
    a
        ``(rows, candidates)`` boolean coverage matrix.
    w
        ``(rows,)`` non-negative row weights.
    p
        Number of sites that may be opened.

    Examples
    --------
    >>> a = np.array([[1, 0], [0, 1]], dtype=bool)
    >>> mclp_lp_bound(a, np.array([3.0, 1.0]), 1)
    3.0
    """
    n, m = a.shape
    coupling = sp.hstack([sp.identity(n, format="csr"), -sp.csr_matrix(a, dtype=np.float64)])
    budget = sp.hstack([sp.csr_matrix((1, n)), sp.csr_matrix(np.ones((1, m)))])
    res = linprog(
        np.concatenate([-np.asarray(w, dtype=np.float64), np.zeros(m)]),
        A_ub=sp.vstack([coupling, budget]).tocsr(),
        b_ub=np.concatenate([np.zeros(n), [float(p)]]),
        bounds=(0.0, 1.0),
        method="highs",
    )
    return float(-res.fun) if res.status == 0 else float("nan")


def drop_superset_rows(a: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Remove rows whose coverage set strictly contains another row's.

    For a full cover such a row is implied: covering the smaller set covers it.
    Rows must be distinct (aggregated) for the strict test to catch every implied row.

    Examples
    --------
    >>> a = np.array([[1, 0, 0], [1, 1, 0], [0, 0, 1]], dtype=bool)
    >>> kept, wk = drop_superset_rows(a, np.array([1.0, 2.0, 3.0]))
    >>> kept.astype(int).tolist(), wk.tolist()
    ([[1, 0, 0], [0, 0, 1]], [1.0, 3.0])
    """
    f = a.astype(np.float32)
    size = f.sum(axis=1)
    overlap = f @ f.T  # overlap[r, s] = |N_r ∩ N_s|
    # row s is implied by row r when N_r ⊂ N_s (rows are distinct after aggregation)
    contains = (overlap >= size[:, np.newaxis] - 0.5) & (size[np.newaxis, :] > size[:, np.newaxis])
    implied = contains.any(axis=0)
    return a[~implied], w[~implied]


def cover_within(
    a: np.ndarray,
    p: int,
    opts: SolveOptions,
    *,
    backend: MipBackend = "highs",
    time_limit_s: float,
) -> tuple[np.ndarray | None, float]:
    """Find at most ``p`` columns of ``a`` that together cover every row, if any exist.

    Solves ``min sum x`` s.t. every row covered and ``sum x <= p`` (after removing
    implied rows and dominated columns, which keeps the set of achievable cover sizes'
    minimum). Any answer is a cover of size at most ``p``; it need not be the smallest.

    Parameters
    ----------
    a
        ``(rows, candidates)`` boolean coverage matrix; every row has a True entry.
    p
        Largest number of columns allowed.
    opts
        Threads and seed for the solver.
    backend
        MIP solver.
    time_limit_s
        Time limit of this solve.

    Returns
    -------
    columns, seconds
        Indices into the columns of ``a`` (None when no cover of size ``p`` was found
        within the limit, or none exists) and the solver wall time.

    Examples
    --------
    >>> from nhc_planner.optimize._common import parse_options
    >>> a = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 1]], dtype=bool)
    >>> cols, _ = cover_within(a, 2, parse_options(3), time_limit_s=10)
    >>> cols.tolist()
    [0, 1]
    >>> cover_within(a, 1, parse_options(3), time_limit_s=10)[0] is None
    True
    """
    rows, _ = drop_superset_rows(a, np.ones(a.shape[0]))
    keep = np.flatnonzero(~dominated_columns(rows))
    sub = rows[:, keep]
    model = MipModel(
        dataclasses.replace(opts, time_limit_s=time_limit_s), backend=backend, maximize=False
    )
    x = model.bool_vars(keep.size, "x")
    for r in range(sub.shape[0]):
        model.constraint(1.0, np.inf, [(x[j], 1.0) for j in np.flatnonzero(sub[r])])
    model.constraint(-np.inf, float(p), [(v, 1.0) for v in x])
    model.set_objective([(v, 1.0) for v in x])
    status, seconds = model.run()
    if status not in ("optimal", "feasible"):
        return None, seconds
    chosen = keep[MipModel.values(x) > 0.5]
    if chosen.size > p or not a[:, chosen].any(axis=1).all():  # pragma: no cover - solver guard
        return None, seconds
    return chosen, seconds
