"""Why each centre was chosen: what it adds, for whom, how busy, and what swapping it costs.

For every open site of a :class:`~nhc_planner.optimize.Solution`,
:func:`explain_centres` reports, in opening order:

* the need (and population) it brings within the standard for the first time
  -- the coverage it adds over the sites opened before it -- and how much of
  that lies in IMD deciles 1-2 (the most deprived 20% of areas nationally);
* the mean estimated healthy life expectancy (HLE) of its catchment (the
  demand points it serves), weighted by population;
* its expected utilisation (weekly appointments served / weekly capacity);
* the swap loss: how much covered need the final plan would lose if the site
  were replaced by the best site that is not open (and not excluded), and
  which site that is. Computed for every open site and every alternative at
  once from the coverage counts (no re-solve): with ``n_i`` the number of open
  sites covering point ``i``, removing site ``j`` loses the weight of points
  only ``j`` covers, and an alternative ``k`` regains the weight of the points
  then uncovered that ``k`` covers. Capacities are not re-optimised in the swap.

and a plain-English ``why`` sentence per centre.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from nhc_planner._errors import ValueRangeError
from nhc_planner._format import NEED_WORDS, is_tie
from nhc_planner.optimize._common import (
    as_cost_matrix,
    as_weights,
    check_max_cost,
    parse_options,
    site_labels,
)
from nhc_planner.optimize._solution import PhasedSolution, Solution

__all__ = ["EXPLAIN_COLUMNS", "explain_centres", "opening_order"]

#: Columns of the table :func:`explain_centres` returns, in order.
EXPLAIN_COLUMNS: tuple[str, ...] = (
    "site_index",
    "site_id",
    "status",
    "phase",
    "order",
    "size",
    "need_newly_covered",
    "need_newly_covered_imd12",
    "pop_newly_covered",
    "pop_newly_covered_imd12",
    "catchment_population",
    "catchment_hle_mean",
    "weekly_demand_served",
    "weekly_capacity",
    "utilisation",
    "swap_loss",
    "swap_loss_share",
    "best_alternative",
    "best_alternative_name",
    "why",
)


def _fmt_int(x: float) -> str:
    return f"{x:,.0f}"


def _fmt_pct(x: float) -> str:
    return f"{x:.0%}" if np.isfinite(x) else "n/a"


def _fmt_standard(x: float, unit: str) -> str:
    return f"{x:g} {unit}"


def opening_order(
    cover: npt.NDArray[np.bool_],
    weights: npt.NDArray[np.float64],
    open_period: npt.NDArray[np.int64],
) -> npt.NDArray[np.int64]:
    """Order open sites: by period (0 = existing first), then greedily within a period.

    Within a period, the site adding the most not-yet-covered weight comes
    first (ties: lower index), so "newly covered" is read in a natural order.

    Parameters
    ----------
    cover
        ``(n_demand, n_sites)`` boolean coverage matrix.
    weights
        Weight per demand point.
    open_period
        Per site: 0 existing, 1..T opening period, -1 never.

    Returns
    -------
    numpy.ndarray
        Site indices in opening order.

    Examples
    --------
    >>> cover = np.array([[1, 0, 1], [0, 1, 1], [0, 1, 0]], dtype=bool)
    >>> opening_order(cover, np.array([1.0, 1.0, 1.0]), np.array([1, 1, 0])).tolist()
    [2, 1, 0]
    """
    order: list[int] = []
    covered = np.zeros(cover.shape[0], dtype=bool)
    for period in np.unique(open_period[open_period >= 0]):
        todo = [int(j) for j in np.flatnonzero(open_period == period)]
        while todo:
            gains = [float(weights[cover[:, j] & ~covered].sum()) for j in todo]
            k = int(np.argmax(gains))
            j = todo.pop(k)
            order.append(j)
            covered |= cover[:, j]
    return np.asarray(order, dtype=np.int64)


def _optional(values: npt.ArrayLike | None, n: int, name: str) -> npt.NDArray[np.float64] | None:
    if values is None:
        return None
    arr = np.asarray(values, dtype=float)
    if arr.shape != (n,):
        msg = f"{name}: expected one value per demand point ({n}); found shape {arr.shape}"
        raise ValueRangeError(msg)
    return arr


def _swap_losses(
    cover: npt.NDArray[np.bool_],
    weights: npt.NDArray[np.float64],
    open_sites: npt.NDArray[np.int64],
    alternatives: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Loss of covered weight when each open site is swapped for its best alternative."""
    if open_sites.size == 0:
        return np.zeros(0), np.zeros(0, dtype=np.int64)
    counts = cover[:, open_sites].sum(axis=1)
    only = cover[:, open_sites] & (counts == 1)[:, np.newaxis]  # (n, |open|)
    lost = weights @ only  # weight that only site j covers
    if alternatives.size == 0:
        return lost, np.full(open_sites.size, -1, dtype=np.int64)
    alt = cover[:, alternatives].astype(float)
    base = (weights * (counts == 0)) @ alt  # gain of k on points nobody covers
    regain = base[np.newaxis, :] + (weights[:, np.newaxis] * only).T @ alt  # (|open|, |alt|)
    best = np.argmax(regain, axis=1)
    loss = lost - regain[np.arange(open_sites.size), best]
    return loss, alternatives[best]


def explain_centres(
    cost: npt.ArrayLike,
    solution: Solution,
    weights: npt.ArrayLike,
    max_cost: float,
    *,
    population: npt.ArrayLike | None = None,
    imd_decile: npt.ArrayLike | None = None,
    hle_years: npt.ArrayLike | None = None,
    demand: npt.ArrayLike | None = None,
    capacity: float | npt.ArrayLike | None = None,
    site_ids: Sequence[Any] | None = None,
    site_names: Sequence[str] | None = None,
    excluded: Sequence[int] | npt.NDArray[Any] | None = None,
    unit: str = "minutes",
    open_period: npt.ArrayLike | None = None,
    sizes: Sequence[str] | npt.NDArray[Any] | None = None,
    load: npt.ArrayLike | None = None,
    choice: Literal["coverage", "travel"] = "coverage",
) -> pd.DataFrame:
    """Explain every open centre of a solution.

    Parameters
    ----------
    cost
        ``(n_demand, n_sites)`` travel times used by the model (``np.inf`` = unreachable).
    solution
        The solved plan. A :class:`~nhc_planner.optimize.PhasedSolution`
        gives the opening period, size, load and capacity per site; otherwise
        open sites are period 1.
    weights
        Need weight per demand point (as given to the model).
    max_cost
        The standard (e.g. 20 minutes).
    population
        Residents per demand point (for the ``pop_*`` columns and HLE weights).
    imd_decile
        National IMD decile per demand point (1 = most deprived).
    hle_years
        Estimated healthy life expectancy per demand point.
    demand
        Weekly appointments per demand point (utilisation when the solution
        has no ``load``).
    capacity
        Weekly capacity per site (a number or one per site) when the solution
        has no ``capacity``.
    site_ids
        Labels of the sites (default their indices).
    site_names
        Names of the sites for people (one per site); sentences then name the
        best alternative as ``"Name (id)"`` and ``best_alternative_name`` is set.
    excluded
        Sites that may not be opened, so are not offered as alternatives.
    unit
        Unit of ``cost`` used in sentences.
    open_period, sizes, load
        Per site: opening period (``0`` already open, ``t >= 1`` year, ``-1``
        never), size name and weekly load of the plan as delivered; they
        override the solution's own.
    choice
        How the sites were chosen. ``"coverage"`` (a coverage model): ``why`` opens
        with the year and the centre's number in opening order, and ends with the swap
        against the best alternative site. ``"travel"`` (one site per neighbourhood,
        least travel; the caller says the year, order and choice): ``why`` holds only
        the reach, catchment HLE and expected use; the swap columns are still filled.

    Returns
    -------
    pandas.DataFrame
        One row per open site in opening order, columns :data:`EXPLAIN_COLUMNS`.
        ``order`` counts every open site (existing ones first); the ``why``
        sentences number new centres among themselves (centre 1 = first new one).
        ``swap_loss`` is in the units of ``weights`` (positive: the chosen site is
        better); ``swap_loss_share`` is it as a share of the plan's covered weight.

    Examples
    --------
    >>> from nhc_planner.optimize.phased import phased_coverage
    >>> cost = np.array([[5.0, 30, 9], [30, 5, 30], [30, 8, 30]])
    >>> sol = phased_coverage(cost, [1.0, 1.0, 1.0], 10, periods=2, new_per_period=1)
    >>> table = explain_centres(cost, sol, [1.0, 1.0, 1.0], 10, site_ids=["A", "B", "C"])
    >>> table[["site_id", "phase", "need_newly_covered", "swap_loss", "best_alternative"]]
      site_id  phase  need_newly_covered  swap_loss best_alternative
    0       B      1                 2.0        2.0                C
    1       A      2                 1.0        0.0                C
    """
    c = as_cost_matrix(cost)
    n, m = c.shape
    w = as_weights(weights, n)
    standard = check_max_cost(max_cost)
    pop = _optional(population, n, "population")
    decile = _optional(imd_decile, n, "imd_decile")
    hle = _optional(hle_years, n, "hle_years")
    dem = _optional(demand, n, "demand")
    ids = site_labels(site_ids, m)
    allowed = parse_options(m, excluded=excluded).allowed  # checks the indices (or mask)
    cover = c <= standard
    phased = solution if isinstance(solution, PhasedSolution) else None
    open_period = _open_period(solution, open_period, m)
    order = opening_order(cover, w, open_period)
    is_open = open_period >= 0

    # catchments: the solution's assignment (or nearest open site within the standard)
    assignment = np.asarray(solution.assignment, dtype=np.int64)
    if assignment.shape != (n,):
        assignment = _nearest_within(c, cover, is_open)

    site_cap, load = _capacity_and_load(solution, assignment, capacity, load, dem, m)

    loss_of, alt_of, covered_total = _swaps(cover, w, allowed, is_open)

    if sizes is None and phased is not None and phased.size.size:
        sizes = phased.size
    deprived = (decile <= 2) if decile is not None else np.zeros(n, dtype=bool)
    covered = np.zeros(n, dtype=bool)
    if site_names is not None and len(site_names) != m:
        msg = f"site_names: expected one name per site ({m}); found {len(site_names)}"
        raise ValueRangeError(msg)
    n_new = 0
    rows = []
    for rank, j in enumerate(order, start=1):
        new = cover[:, j] & ~covered
        covered |= cover[:, j]
        catch = assignment == j
        existing = open_period[j] == 0
        pop_new = float(pop[new].sum()) if pop is not None else np.nan
        pop_new12 = float(pop[new & deprived].sum()) if pop is not None else np.nan
        hle_mean = _hle_mean(hle, pop if pop is not None else w, catch)
        util = float(load[j] / site_cap[j]) if site_cap[j] > 0 else np.nan
        swap = np.nan if existing else float(loss_of[int(j)])
        k = -1 if existing else alt_of[int(j)]
        best_alt = None if k < 0 else ids[k]
        n_new += 0 if existing else 1
        row = {
            "site_index": int(j),
            "site_id": ids[j],
            "status": "existing" if existing else "new",
            "phase": int(open_period[j]),
            "order": rank,
            "size": str(sizes[j]) if sizes is not None else "",
            "need_newly_covered": float(w[new].sum()),
            "need_newly_covered_imd12": float(w[new & deprived].sum()),
            "pop_newly_covered": pop_new,
            "pop_newly_covered_imd12": pop_new12,
            "catchment_population": float(pop[catch].sum()) if pop is not None else np.nan,
            "catchment_hle_mean": hle_mean,
            "weekly_demand_served": float(load[j]),
            "weekly_capacity": float(site_cap[j]),
            "utilisation": util,
            "swap_loss": swap,
            "swap_loss_share": swap / covered_total if covered_total > 0 else np.nan,
            "best_alternative": best_alt,
            "best_alternative_name": None if k < 0 or site_names is None else site_names[k],
        }
        row["why"] = _why(
            row, n_new, standard, unit, decile is not None, covered_total, choice == "coverage"
        )
        rows.append(row)
    return pd.DataFrame(rows, columns=list(EXPLAIN_COLUMNS))


def _nearest_within(c: np.ndarray, cover: np.ndarray, is_open: np.ndarray) -> np.ndarray:
    """Per demand point: the nearest open site within the standard, ``-1`` if none."""
    dist = np.where(cover & is_open[np.newaxis, :], c, np.inf)
    return np.where(np.isfinite(dist).any(axis=1), np.argmin(dist, axis=1), -1)


def _swaps(
    cover: np.ndarray, w: np.ndarray, allowed: np.ndarray, is_open: np.ndarray
) -> tuple[dict[int, float], dict[int, int], float]:
    """Swap loss and best alternative per open site (against every allowed closed site),
    and the weight the plan covers."""
    alternatives = np.flatnonzero(allowed & ~is_open)
    open_sites = np.flatnonzero(is_open)
    loss, alt = _swap_losses(cover, w, open_sites, alternatives)
    loss_of = dict(zip(open_sites.tolist(), loss.tolist(), strict=True))
    alt_of = dict(zip(open_sites.tolist(), alt.tolist(), strict=True))
    covered_total = float(w[cover[:, open_sites].any(axis=1)].sum()) if open_sites.size else 0.0
    return loss_of, alt_of, covered_total


def _open_period(solution: Solution, given: npt.ArrayLike | None, m: int) -> np.ndarray:
    """Per site: the given opening periods, the phased solution's, or 1 for open sites."""
    if given is not None:
        open_period = np.asarray(given, dtype=np.int64)
    elif isinstance(solution, PhasedSolution):
        open_period = np.asarray(solution.open_period, dtype=np.int64)
    else:
        open_period = np.full(m, -1, dtype=np.int64)
        open_period[solution.open] = 1
    if open_period.shape != (m,):
        msg = f"solution: open_period has shape {open_period.shape}; expected ({m},) for {m} sites"
        raise ValueRangeError(msg)
    return open_period


def _capacity_and_load(
    solution: Solution,
    assignment: np.ndarray,
    capacity: float | npt.ArrayLike | None,
    load: npt.ArrayLike | None,
    dem: np.ndarray | None,
    m: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Per site: weekly capacity and load (given, the phased solution's, or from demand)."""
    phased = solution if isinstance(solution, PhasedSolution) else None
    site_cap = np.full(m, np.nan)
    if phased is not None and phased.capacity.size:
        site_cap = np.asarray(phased.capacity, dtype=float)
    elif capacity is not None:
        site_cap = np.broadcast_to(np.asarray(capacity, dtype=float), (m,)).copy()
    if load is not None:
        return site_cap, np.asarray(load, dtype=float)
    if phased is not None and phased.load is not None:
        return site_cap, np.asarray(phased.load, dtype=float)
    if dem is None:
        return site_cap, np.full(m, np.nan)
    if solution.fractions is not None:
        return site_cap, np.asarray(solution.fractions).T @ dem
    served = assignment >= 0
    return site_cap, np.bincount(assignment[served], weights=dem[served], minlength=m)


def _hle_mean(hle: np.ndarray | None, weights: np.ndarray, catch: np.ndarray) -> float:
    """Weighted mean HLE of a catchment (NaN when unknown or empty)."""
    if hle is None or not catch.any() or weights[catch].sum() <= 0:
        return float("nan")
    ok = catch & np.isfinite(hle)
    return float(np.average(hle[ok], weights=weights[ok])) if ok.any() else float("nan")


def _why(
    row: dict[str, Any],
    new_rank: int,
    standard: float,
    unit: str,
    has_decile: bool,
    covered_total: float,
    coverage: bool = True,
) -> str:
    """A few plain-English sentences about a centre (``new_rank``: its number among new ones).

    With ``coverage=False`` the opening sentence (year and order) and the swap sentence
    are left out: the caller explains the year, the order and the choice itself.

    Need is named in plain words (:data:`nhc_planner._format.NEED_WORDS`); a swap
    loss within rounding of zero relative to ``covered_total`` is a tie
    (:func:`nhc_planner._format.is_tie`), said as such.
    """
    within = f"within {_fmt_standard(standard, unit)}"
    if row["status"] == "existing":
        head = f"Already open (centre {row['order']})."
    else:
        size = f" as a {row['size']} centre" if row["size"] else ""
        head = f"Opens in year {row['phase']}{size} (centre {new_rank} in opening order)."
    if np.isfinite(row["pop_newly_covered"]):
        reach = f"It brings {_fmt_int(row['pop_newly_covered'])} people {within} for the first time"
        base, dep = row["pop_newly_covered"], row["pop_newly_covered_imd12"]
    else:
        need = _fmt_int(row["need_newly_covered"])
        reach = f"It brings {need} {NEED_WORDS} {within} for the first time"
        base, dep = row["need_newly_covered"], row["need_newly_covered_imd12"]
    if base <= 0:
        reach = f"It adds no one new {within} (its area is already served); it adds capacity"
    elif has_decile:
        reach += (
            f", {_fmt_int(dep)} ({_fmt_pct(dep / base)}) of them in the most deprived 20% of areas"
        )
    parts = [head, reach + "."] if coverage else [reach + "."]
    if np.isfinite(row["catchment_hle_mean"]):
        parts.append(
            "Its catchment's estimated healthy life expectancy is "
            f"{row['catchment_hle_mean']:.1f} years."
        )
    if np.isfinite(row["utilisation"]):
        parts.append(
            f"Expected use: {_fmt_pct(row['utilisation'])} of "
            f"{_fmt_int(row['weekly_capacity'])} appointments a week."
        )
    if coverage and np.isfinite(row["swap_loss"]) and row["best_alternative"] is not None:
        alt = row["best_alternative"]
        name = row["best_alternative_name"]
        named = f"{name} ({alt})" if name else f"Site {alt}"
        if is_tie(row["swap_loss"], covered_total):
            parts.append(
                f"{named} would reach exactly as much need (a tie); either site serves the plan "
                "equally well."
            )
        elif row["swap_loss"] > 0:
            which = f", {name} ({alt})," if name else f" ({alt})"
            parts.append(
                f"Swapping it for the best alternative site{which} would leave "
                f"{_fmt_int(row['swap_loss'])} {NEED_WORDS} "
                f"({_fmt_pct(row['swap_loss_share'])} of the plan's coverage) outside the standard."
            )
        else:
            parts.append(
                f"{named} would reach {_fmt_int(-row['swap_loss'])} more {NEED_WORDS} at the "
                "end of the plan; this one was chosen for earlier years, capacity or equity floors."
            )
    return " ".join(parts)
