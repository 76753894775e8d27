"""Readers for the official data formats, one module per dataset.

Each reader validates its file and returns a canonical frame (see
``docs/data.md``); problems raise the :class:`~nhc_planner.NhcInputError`
family with messages naming the file, column and values at fault.
"""

from nhc_planner.sources.boundaries import read_boundaries, read_centroids
from nhc_planner.sources.facilities import (
    read_epraccur,
    read_nhs_syndication,
    read_postcodes,
    read_user_sites,
)
from nhc_planner.sources.hle import ONS_HLE_GRADIENT_MALE_2015_17, estimate_area_hle, read_hle
from nhc_planner.sources.imd import read_imd
from nhc_planner.sources.lookups import (
    lsoa11_to_lsoa21,
    read_lsoa11_lsoa21,
    read_lsoa_icb,
    read_lsoa_la,
    read_ltla_utla,
)
from nhc_planner.sources.population import (
    read_census_age,
    read_census_total,
    read_iod_denominators,
    read_mid_year,
    read_population,
)

__all__ = [
    "ONS_HLE_GRADIENT_MALE_2015_17",
    "estimate_area_hle",
    "lsoa11_to_lsoa21",
    "read_boundaries",
    "read_census_age",
    "read_census_total",
    "read_centroids",
    "read_epraccur",
    "read_hle",
    "read_imd",
    "read_iod_denominators",
    "read_lsoa11_lsoa21",
    "read_lsoa_icb",
    "read_lsoa_la",
    "read_ltla_utla",
    "read_mid_year",
    "read_nhs_syndication",
    "read_population",
    "read_postcodes",
    "read_user_sites",
]
