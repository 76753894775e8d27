"""Readers for the official data formats, one module per dataset.

Each reader validates its file and returns a canonical frame (see
``docs/data.md``); problems raise the :class:`~nhc_planner.NhcInputError`
family with messages naming the file, column and values at fault.

Every kind of input file is declared once in :mod:`nhc_planner.sources.registry`
(:class:`DataSource`, :func:`register_source`).
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
from nhc_planner.sources.registry import (
    DataSource,
    Download,
    data_sources,
    get_source,
    read_area_values,
    register_source,
    unregister_source,
)

__all__ = [
    "ONS_HLE_GRADIENT_MALE_2015_17",
    "DataSource",
    "Download",
    "data_sources",
    "estimate_area_hle",
    "get_source",
    "lsoa11_to_lsoa21",
    "read_area_values",
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
    "register_source",
    "unregister_source",
]
