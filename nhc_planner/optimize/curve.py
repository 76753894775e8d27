"""The greedy coverage curve: coverage against the number of new centres."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["coverage_curve"]


def coverage_curve(
    cost: np.ndarray,
    need: np.ndarray,
    population: np.ndarray,
    *,
    standard_min: float,
    open_now: np.ndarray | None = None,
    allowed: np.ndarray | None = None,
    site_ids: np.ndarray | None = None,
    max_new: int = 20,
) -> pd.DataFrame:
    """Coverage against the number of new centres (diminishing returns).

    Starting from the already-open sites, adds at each step the allowed site
    that brings the most need within ``standard_min`` (greedy; ties go to the
    lowest index). The greedy curve is within ``1 - 1/e`` of the best
    possible coverage for every number of centres (Nemhauser, Wolsey & Fisher
    1978) and in practice very close to it; it is nested, so it reads as
    "what the next centre adds".

    Parameters
    ----------
    cost
        ``(n_areas, n_sites)`` minutes (``np.inf`` = unreachable).
    need, population
        Per area: the weight maximised, and the population reported.
    standard_min
        Access standard in minutes.
    open_now, allowed
        Boolean masks over sites: already open / may be added (default none /
        all).
    site_ids
        Labels of the sites (default their column indices).
    max_new
        Largest number of new centres on the curve.

    Returns
    -------
    pandas.DataFrame
        ``n_centres`` (new centres, 0 = already-open only),
        ``population_covered``, ``share`` (of population), ``need_share``,
        ``site_id`` (the site added at that step, ``""`` for row 0).

    Examples
    --------
    >>> cost = np.array([[5.0, 50.0], [50.0, 5.0], [50.0, 8.0]])
    >>> curve = coverage_curve(cost, np.ones(3), np.ones(3), standard_min=10, max_new=2)
    >>> curve["n_centres"].tolist(), curve["population_covered"].tolist()
    ([0, 1, 2], [0.0, 2.0, 3.0])
    """
    within = np.asarray(cost) <= standard_min
    need = np.asarray(need, dtype=float)
    population = np.asarray(population, dtype=float)
    n_sites = within.shape[1]
    is_open = np.zeros(n_sites, bool) if open_now is None else np.asarray(open_now, bool)
    can_add = (~is_open) if allowed is None else (np.asarray(allowed, bool) & ~is_open)
    covered: np.ndarray = np.asarray(within[:, is_open].any(axis=1), dtype=bool)
    total_pop = float(population.sum())
    total_need = float(need.sum())
    rows = [(0, float(population[covered].sum()), float(need[covered].sum()), -1)]
    within_f = within.astype(float)  # converted once, not once per step
    for k in range(1, max_new + 1):
        if not can_add.any():
            break
        # need each site would bring within the standard for the first time
        gain = np.array(np.where(covered, 0.0, need) @ within_f, dtype=np.float64).reshape(-1)
        gain[~can_add] = -1.0
        best = int(np.argmax(gain))
        if gain[best] <= 0:
            break
        covered = covered | within[:, best]
        can_add[best] = False
        rows.append((k, float(population[covered].sum()), float(need[covered].sum()), best))
    labels = np.arange(n_sites).astype(str) if site_ids is None else np.asarray(site_ids)
    out = pd.DataFrame(rows, columns=["n_centres", "population_covered", "_need", "_site"])
    out["share"] = out["population_covered"] / total_pop if total_pop > 0 else np.nan
    out["need_share"] = out["_need"] / total_need if total_need > 0 else np.nan
    out["site_id"] = [str(labels[j]) if j >= 0 else "" for j in out["_site"]]
    return out[["n_centres", "population_covered", "share", "need_share", "site_id"]]
