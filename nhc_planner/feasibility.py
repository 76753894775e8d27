"""Does a scenario fit a region? Limits checked before solving, and shortfalls after.

:func:`check_scenario_fits` compares the numbers a scenario asks for with
what the region's sites allow, before any travel time is computed:

* **refused** (a :class:`~nhc_planner._errors.ScenarioError` naming the
  setting, the number asked and the number possible) when the plan could
  not honour an explicit request: ``phasing.total_new`` larger than the
  number of sites that may open as new centres; ``policy.keep`` of more
  sites than year 1 may open (``phasing.new_per_year``, or fewer when
  ``total_new`` runs out);
* **a notice** (returned, shown with the plan's solver message) when
  continuing is right: ``years x new_per_year`` (no explicit ``total_new``)
  larger than the candidates, so the plan opens at most all of them.

:func:`shortfall_notice` says so when the solved plan opens fewer new
centres than asked (the other candidates would add no covered need).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from nhc_planner._errors import ScenarioError, ValueRangeError
from nhc_planner.scenario import Scenario

__all__ = ["check_scenario_fits", "shortfall_notice", "usable_candidates", "with_notices"]


def _sites_of(region_or_sites: Any) -> pd.DataFrame:
    sites = getattr(region_or_sites, "sites", region_or_sites)
    if not isinstance(sites, pd.DataFrame):
        msg = f"check_scenario_fits: expected a Region or a sites table; got {type(sites).__name__}"
        raise ValueRangeError(msg)
    return sites


def usable_candidates(region_or_sites: Any, scenario: Scenario) -> tuple[int, int]:
    """Sites that may open as new centres, and of those the kept ones (``policy.keep``).

    A site may open when its status is not ``excluded``, its kind is in
    ``policy.candidate_kinds`` but not in ``policy.open_kinds`` (those are
    already open) and it is not in ``policy.exclude``.
    """
    sites = _sites_of(region_or_sites)
    policy = scenario.policy
    ids = sites["site_id"].astype(str).to_numpy()
    kind = sites["kind"].astype(str).to_numpy()
    usable = sites["status"].astype(str).to_numpy() != "excluded"
    open_now = usable & np.isin(kind, policy.open_kinds)
    allowed = (
        usable & ~open_now & np.isin(kind, policy.candidate_kinds) & ~np.isin(ids, policy.exclude)
    )
    kept = allowed & np.isin(ids, policy.keep)
    return int(allowed.sum()), int(kept.sum())


def check_scenario_fits(region_or_sites: Any, scenario: Scenario) -> tuple[str, ...]:
    """Refuse settings the region cannot honour; return notices for ones it can only in part.

    Parameters
    ----------
    region_or_sites
        A :class:`~nhc_planner.region.Region` or its sites table.
    scenario
        The scenario to check.

    Returns
    -------
    tuple of str
        Plain-language notices to show with the plan (empty when all fits).

    Raises
    ------
    ScenarioError
        ``phasing.total_new`` above the number of sites that may open, or
        ``policy.keep`` above the places of year 1.

    Examples
    --------
    >>> import pandas as pd
    >>> sites = pd.DataFrame({"site_id": ["a", "b", "c"], "kind": ["gp_practice"] * 3,
    ...                       "status": ["candidate"] * 3})
    >>> s = Scenario().replace(**{"phasing.years": 2, "phasing.new_per_year": 2,
    ...                           "policy.open_kinds": ()})
    >>> check_scenario_fits(sites, s)[0][:60]
    'phasing: 2 years x 2 new centres a year asks for 4 new centr'
    """
    phasing, policy = scenario.phasing, scenario.policy
    n_allowed, n_kept = usable_candidates(region_or_sites, scenario)
    per_year = phasing.per_year()
    notices: list[str] = []
    if per_year is not None:
        total = sum(per_year)
        year1 = per_year[0] if per_year else 0
        if n_kept > year1:
            msg = (
                f"policy.keep: {n_kept} kept site(s) must open in year 1, but year 1 has "
                f"{year1} place(s) (phasing.new_per_year = {phasing.new_per_year}"
                + (f", phasing.total_new = {phasing.total_new}" if phasing.total_new else "")
                + f"); keep at most {year1} site(s) or raise phasing.new_per_year to {n_kept}"
            )
            raise ScenarioError(msg)
        if phasing.total_new is not None and phasing.total_new > n_allowed:
            msg = (
                f"phasing.total_new: {phasing.total_new} new centres asked for, but only "
                f"{n_allowed} site(s) of this region may open as new centres (kind in "
                f"policy.candidate_kinds {list(policy.candidate_kinds)}, not excluded, not "
                f"already open); set phasing.total_new to at most {n_allowed}"
            )
            raise ScenarioError(msg)
        if total > n_allowed:
            notices.append(
                f"phasing: {phasing.years} years x {phasing.new_per_year} new centres a year "
                f"asks for {total} new centres, but only {n_allowed} site(s) of this region may "
                f"open as new centres; the plan opens at most {n_allowed}."
            )
    return tuple(notices)


def shortfall_notice(scenario: Scenario, n_opened: int, *, proven: bool) -> str | None:
    """A notice when the plan opens fewer new centres than the scenario asks for, else None.

    Only for count-led phasing (``new_per_year``); a budget-led plan opens what
    its budget buys. ``proven``: the solve was optimal, so no further site adds
    covered need.
    """
    per_year = scenario.phasing.per_year()
    if per_year is None or n_opened >= sum(per_year):
        return None
    why = (
        "no other site that may open would bring more need within the travel standard"
        if proven
        else "the solver found no other site that brings more need within the travel standard "
        "(not proven)"
    )
    return f"The plan opens {n_opened} new centre(s) of the {sum(per_year)} asked for: {why}."


def with_notices(
    solver: dict[str, Any], notices: tuple[str, ...], scenario: Scenario, *, n_new: int
) -> dict[str, Any]:
    """``solver`` (the plan's solver summary) with ``notices`` and any shortfall added.

    The notices are stored under ``"notices"`` and appended to ``"message"``,
    so every place that shows the solver message (summary, report, app) shows them.
    """
    found = list(notices)
    short = shortfall_notice(scenario, n_new, proven=solver.get("status") == "optimal")
    if short is not None:
        found.append(short)
    out = {**solver, "notices": found}
    if found:
        out["message"] = " ".join([str(solver.get("message", "")), *found]).strip()
    return out
