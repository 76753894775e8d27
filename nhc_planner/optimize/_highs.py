"""HiGHS through ``highspy``, fed from vectorised arrays: shared by the capacitated models.

OR-Tools' ``pywraplp`` wrapper takes seconds to build models of thousands of rows one
coefficient at a time and drops the HiGHS incumbent when a time limit stops a MIP.
These helpers pass whole sparse matrices to HiGHS and read back the incumbent, the dual
bound and the reduced costs. Every instance runs with a fixed seed and thread count, so
the same model gives the same answer on any machine; the time limit is a safety stop.
"""

from __future__ import annotations

import functools
import os
import sys
import time

import highspy
import numpy as np
import numpy.typing as npt
from scipy import sparse

__all__ = [
    "add_rows",
    "new_highs",
    "pass_model",
    "reduced_cost_bounds",
    "run",
    "set_deadline",
    "status_of",
]

_F = npt.NDArray[np.float64]
_MS = highspy.HighsModelStatus


@functools.cache
def _banner_shown() -> bool:
    """Build one HiGHS instance with standard output closed, once per process.

    ``highspy`` prints its copyright banner to the C-level standard output when the
    first ``Highs`` object of a process is made, before any option can turn output off;
    it would land in the CLI's summary and in piped output. Later instances are silent.
    """
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    return True


def new_highs(
    threads: int, seed: int, time_limit: float, *, mip_rel_gap: float | None = None
) -> highspy.Highs:
    """A quiet HiGHS instance with ``threads``, ``seed`` and a safety ``time_limit`` (s).

    ``mip_rel_gap`` is set when given (HiGHS's default, 1e-4, otherwise).
    """
    _banner_shown()
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", int(threads))
    h.setOptionValue("random_seed", int(seed))
    h.setOptionValue("time_limit", float(max(time_limit, 0.01)))
    if mip_rel_gap is not None:
        h.setOptionValue("mip_rel_gap", float(mip_rel_gap))
    return h


def pass_model(
    h: highspy.Highs,
    cost: _F,
    a_mat: sparse.csr_array | sparse.csc_array,
    row_lo: _F,
    row_up: _F,
    col_lo: _F,
    col_up: _F,
    *,
    maximize: bool = False,
    offset: float = 0.0,
    integer: npt.ArrayLike | None = None,
) -> None:
    """Pass the LP ``min/max cost @ x + offset`` s.t. ``row_lo <= A x <= row_up``, bounds.

    ``integer``, a boolean mask over the columns, makes it a MIP with those columns integer.
    """
    lp = highspy.HighsLp()
    lp.num_col_ = int(cost.size)
    lp.num_row_ = int(a_mat.shape[0])
    lp.col_cost_ = np.asarray(cost, dtype=np.float64)
    lp.col_lower_ = np.asarray(col_lo, dtype=np.float64)
    lp.col_upper_ = np.asarray(col_up, dtype=np.float64)
    lp.row_lower_ = np.asarray(row_lo, dtype=np.float64)
    lp.row_upper_ = np.asarray(row_up, dtype=np.float64)
    lp.offset_ = float(offset)
    lp.sense_ = highspy.ObjSense.kMaximize if maximize else highspy.ObjSense.kMinimize
    csc = sparse.csc_array(a_mat)
    csc.sum_duplicates()
    csc.sort_indices()
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = csc.indptr.astype(np.int32)
    lp.a_matrix_.index_ = csc.indices.astype(np.int32)
    lp.a_matrix_.value_ = csc.data.astype(np.float64)
    lp.a_matrix_.num_col_ = int(cost.size)
    lp.a_matrix_.num_row_ = int(a_mat.shape[0])
    if integer is not None:
        kind = highspy.HighsVarType
        lp.integrality_ = [kind.kInteger if v else kind.kContinuous for v in np.asarray(integer)]
    h.passModel(lp)


def set_deadline(h: highspy.Highs, deadline: float) -> None:
    """Let ``h`` run until ``deadline`` (``time.perf_counter()`` seconds), at least 0.1 s more.

    HiGHS measures its ``time_limit`` on the instance's cumulative run clock, not per run.
    """
    left = max(deadline - time.perf_counter(), 0.1)
    h.setOptionValue("time_limit", float(h.getRunTime() + left))


def add_rows(h: highspy.Highs, rows: sparse.csr_array, lo: _F, up: _F) -> None:
    """Append the rows ``lo <= rows @ x <= up``."""
    rows = sparse.csr_array(rows)
    rows.sort_indices()
    h.addRows(
        int(rows.shape[0]),
        np.asarray(lo, dtype=np.float64),
        np.asarray(up, dtype=np.float64),
        int(rows.nnz),
        rows.indptr[:-1].astype(np.int32),
        rows.indices.astype(np.int32),
        rows.data.astype(np.float64),
    )


def status_of(h: highspy.Highs) -> str:
    """``"optimal"``, ``"infeasible"``, ``"time_limit"``, ``"work_limit"`` or ``"other"``."""
    s = h.getModelStatus()
    if s in (_MS.kOptimal, _MS.kModelEmpty):
        return "optimal"
    if s in (_MS.kInfeasible, _MS.kUnboundedOrInfeasible):
        return "infeasible"
    if s == _MS.kTimeLimit:
        return "time_limit"
    if s in (_MS.kIterationLimit, _MS.kSolutionLimit, _MS.kObjectiveBound, _MS.kObjectiveTarget):
        return "work_limit"
    return "other"


def run(h: highspy.Highs) -> tuple[str, float]:
    """Run HiGHS; return :func:`status_of` and the wall-clock seconds."""
    t0 = time.perf_counter()
    h.run()
    return status_of(h), time.perf_counter() - t0


def reduced_cost_bounds(value: _F, reduced: _F, lo: _F, up: _F, slack: float) -> tuple[_F, _F]:
    """Tighten column bounds by reduced costs of an optimal LP (minimisation).

    If the LP optimum is ``L`` and a solution worth at most ``L + slack`` is wanted, a
    column at its lower bound with reduced cost ``r > 0`` cannot rise above
    ``lo + slack / r`` in such a solution (every other term of the objective's
    reduced-cost expansion is >= 0), and a column at its upper bound with ``r < 0``
    cannot fall below ``up - slack / |r|``. Integer columns are rounded inwards by the
    caller.

    Parameters
    ----------
    value, reduced
        LP primal values and reduced costs of the columns.
    lo, up
        Current column bounds.
    slack
        ``incumbent - L`` (plus a tolerance); must be >= 0.

    Returns
    -------
    new_lo, new_up
        Tightened bounds (never looser than ``lo``, ``up``).

    Examples
    --------
    >>> lo, up = reduced_cost_bounds(
    ...     np.array([0.0, 1.0]), np.array([4.0, -1.0]), np.zeros(2), np.ones(2), 2.0
    ... )
    >>> lo.tolist(), up.tolist()
    ([0.0, 0.0], [0.5, 1.0])
    """
    new_lo = lo.copy()
    new_up = up.copy()
    at_lo = (value <= lo + 1e-9) & (reduced > 1e-12)
    at_up = (value >= up - 1e-9) & (reduced < -1e-12)
    with np.errstate(divide="ignore"):
        new_up[at_lo] = np.minimum(up[at_lo], lo[at_lo] + slack / reduced[at_lo])
        new_lo[at_up] = np.maximum(lo[at_up], up[at_up] - slack / -reduced[at_up])
    return new_lo, new_up
