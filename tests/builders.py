"""Test inputs shared by several test modules.

- :data:`SMALL` and :data:`GOOD_FILES`: the 4-area synthetic region in
  ``tests/data_small``, one good file per upload role (app and ui tests).
- Hypothesis strategies for the optimisation model tests: small random
  instances (a cost matrix of integer minutes with unreachable pairs, integer
  weights, a role per candidate site: free, fixed or excluded), so the models
  can be checked against brute force.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from hypothesis import strategies as st

if TYPE_CHECKING:
    from nhc_planner.build import RegionInputs

SMALL = Path(__file__).parent / "data_small"

#: role -> file in tests/data_small (a 4-area synthetic region)
GOOD_FILES: dict[str, str] = {
    "boundaries": "synthetic_lsoa21.geojson",
    "imd": "imd_file7_style.csv",
    "imd_health": "imd2025_health_file7_file8.csv",
    "population": "census_total.csv",
    "population_age": "census_age6.csv",
    "population_projection": "snpp2022_persons.csv",
    "gp_registrations": "gp-reg-pat-prac-lsoa-all.csv",
    "hle": "hle_fingertips.csv",
    "car_availability": "census21_ts045.csv",
    "lsoa_la": "lsoa_la.csv",
    "user_sites": "user_sites.csv",
}


@st.composite
def site_roles(draw, m: int, *, one_allowed: bool = False) -> tuple[list[int], list[int]]:
    """Fixed and excluded site indices for ``m`` sites (each free with odds 1/2).

    With ``one_allowed`` the first site is made free when every site was drawn
    excluded, so at least one site may open.
    """
    roles = draw(
        st.lists(st.sampled_from(["free", "free", "fixed", "excluded"]), min_size=m, max_size=m)
    )
    if one_allowed and all(r == "excluded" for r in roles):
        roles[0] = "free"
    fixed = [j for j, r in enumerate(roles) if r == "fixed"]
    excluded = [j for j, r in enumerate(roles) if r == "excluded"]
    return fixed, excluded


@st.composite
def cost_instances(
    draw, *, max_demand: int, max_sites: int = 6
) -> tuple[np.ndarray, np.ndarray, list[int], list[int]]:
    """A random ``cost, weights, fixed, excluded`` instance.

    Costs are 0-30 minutes, with unreachable pairs (``np.inf``) half the time;
    weights are 0-9; at least one site may open.
    """
    n = draw(st.integers(1, max_demand))
    m = draw(st.integers(1, max_sites))
    cost = np.array(
        draw(st.lists(st.integers(0, 30), min_size=n * m, max_size=n * m)), dtype=float
    ).reshape(n, m)
    holes = np.array(draw(st.lists(st.booleans(), min_size=n * m, max_size=n * m))).reshape(n, m)
    if draw(st.booleans()):
        cost[holes] = np.inf
    weights = np.array(draw(st.lists(st.integers(0, 9), min_size=n, max_size=n)), dtype=float)
    fixed, excluded = draw(site_roles(m, one_allowed=True))
    return cost, weights, fixed, excluded


def leeds_inputs(*, sites: bool = True) -> RegionInputs:
    """The real Leeds inputs from the shared fixtures (LSOA 2021, IoD2025), with its
    GP practices, hospitals and pharmacies unless ``sites`` is False."""
    from nhc_planner.build import RegionInputs
    from nhc_planner.testing import require_fixture

    def nat(name: str) -> Path:
        return require_fixture("national", name)

    extra: dict[str, Path] = {}
    if sites:
        facilities = {
            "gp_practices": "leeds_gp_practices_epraccur_geocoded.geojson",
            "hospitals": "leeds_nhs_hospitals_nhswebsite.geojson",
            "pharmacies": "leeds_nhs_pharmacies_nhswebsite_2020.geojson",
        }
        extra = {role: require_fixture("facilities", f) for role, f in facilities.items()}
    return RegionInputs(
        boundaries=require_fixture("boundaries", "leeds_lsoa21_bsc.gpkg"),
        imd=nat("imd2025_england_lsoa21.csv"),
        population=nat("census21_lsoa21_usual_residents_total.csv"),
        population_age=nat("census21_lsoa21_usual_residents_by_age6.csv"),
        hle=nat("healthy_life_expectancy_at_birth_fingertips_utla.csv"),
        lsoa_la=nat("lookup_lsoa21_ward24_ltla24.csv"),
        lsoa_icb=nat("lookup_lsoa21_icb24.csv"),
        lsoa11_lsoa21=nat("lookup_lsoa11_lsoa21_ltla22.csv"),
        **extra,
    )
