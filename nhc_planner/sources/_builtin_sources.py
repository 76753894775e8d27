"""The built-in data sources, declared once (installed by :mod:`nhc_planner.sources.registry`).

The order matters and is kept: the app asks for uploads, the demo writes its
``sources.toml`` and the build concatenates the site files in this order.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from nhc_planner.sources._datasource import DataSource, DemoContext, Download
from nhc_planner.sources.boundaries import read_boundaries, read_centroids
from nhc_planner.sources.cars import read_car_availability
from nhc_planner.sources.facilities import (
    read_epraccur,
    read_nhs_syndication,
    read_postcodes,
    read_user_sites,
)
from nhc_planner.sources.hle import read_hle
from nhc_planner.sources.imd import read_imd
from nhc_planner.sources.imd_health import read_imd_health
from nhc_planner.sources.lookups import (
    read_lsoa11_lsoa21,
    read_lsoa_icb,
    read_lsoa_la,
    read_ltla_utla,
)
from nhc_planner.sources.population import read_population
from nhc_planner.sources.projections import read_snpp
from nhc_planner.sources.registrations import read_gp_registrations_areas

__all__ = ["BUILTIN"]

_OGL = "Open Government Licence v3.0"
_ONS_GEO = (
    "Source: Office for National Statistics licensed under the Open Government Licence v3.0. "
    "Contains OS data © Crown copyright and database right"
)
_ONS = "Source: Office for National Statistics licensed under the Open Government Licence v3.0"
_ARCGIS = "https://services1.arcgis.com/ESMARspQHYMw9BZ9/arcgis/rest/services"
_ARCGIS_TABLE = "ArcGIS FeatureServer query (f=geojson, table) -> CSV"
_NHS_SITE = (
    "NHS website (nhs.uk) data. Contains public sector information licensed under the OGL v3.0"
)
_VECTOR = (".geojson", ".json", ".gpkg", ".zip", ".parquet", ".fgb")


# Demo writers: imported when called, so that declaring a source loads no demo code.
def _demo_boundaries(ctx: DemoContext) -> None:
    from nhc_planner import _demo_files

    _demo_files.write_boundaries(ctx.world, ctx.folder)


def _demo_centroids(ctx: DemoContext) -> None:
    from nhc_planner import _demo_files

    _demo_files.write_centroids(ctx.world, ctx.folder)


def _demo_imd(ctx: DemoContext) -> None:
    from nhc_planner import _demo_files

    _demo_files.write_imd(ctx.world, ctx.folder)


def _demo_population(ctx: DemoContext) -> None:
    from nhc_planner import _demo_files

    _demo_files.write_population(ctx.world, ctx.folder)


def _demo_projections(ctx: DemoContext) -> None:
    from nhc_planner import _demo_files

    _demo_files.write_projections(ctx.world, ctx.folder)


def _demo_hle(ctx: DemoContext) -> None:
    from nhc_planner import _demo_files

    _demo_files.write_hle(ctx.world, ctx.folder)


def _demo_lookups(ctx: DemoContext) -> None:
    from nhc_planner import _demo_files

    _demo_files.write_lookups(ctx.world, ctx.folder)


def _demo_cars(ctx: DemoContext) -> None:
    from nhc_planner import _demo_files

    _demo_files.write_car_availability(ctx.world, ctx.folder)


def _demo_facilities(ctx: DemoContext) -> None:
    from nhc_planner import _demo_files

    _demo_files.write_facilities(ctx.sites, ctx.world, ctx.folder)


def _demo_gp_registrations(ctx: DemoContext) -> None:
    from nhc_planner import _demo_files

    _demo_files.write_gp_registrations(ctx.sites, ctx.world, ctx.folder)


def _registrations_by_hand(ctx: Any, source: Any) -> None:
    """``data fetch``: each quarter's file has its own address, so it is supplied by hand."""
    import logging

    logging.getLogger("nhc_planner.download").info(
        "GP registrations: download the quarter's gp-reg-pat-prac-lsoa-all file from %s and "
        "add gp_registrations = '<file>' to sources.toml",
        source.url,
    )


def _registrations_options(inputs: Any) -> dict[str, Any]:
    return {"lsoa_lookup": inputs.lsoa11_lsoa21}


def _hle_options(inputs: Any) -> dict[str, Any]:
    return {"period": inputs.hle_period, "sex": inputs.hle_sex}


def _gp_options(inputs: Any) -> dict[str, Any]:
    return {"postcodes": inputs.postcodes}


BUILTIN: tuple[DataSource, ...] = (
    DataSource(
        role="boundaries",
        label="LSOA 2021 boundaries",
        reader=read_boundaries,
        required=True,
        join="areas",
        adds=("area_code", "area_name"),
        core=True,
        upload=_VECTOR,
        help="GeoJSON, GeoPackage, zipped shapefile or GeoParquet with an LSOA21CD column "
        "(ONS Open Geography Portal).",
        download=Download(
            title="Lower layer Super Output Areas (December 2021) Boundaries EW BGC (V5) (ONS)",
            url=f"{_ARCGIS}/Lower_layer_Super_Output_Areas_December_2021_Boundaries_EW_BGC_V5"
            "/FeatureServer/0/query",
            attribution=_ONS_GEO,
            format="ArcGIS FeatureServer query (f=geojson, outSR=4326) -> GeoJSON",
            fetch="polygons",
            out_file="lsoa21_boundaries.geojson",
            fields=(("code", "LSOA21CD"),),
            always=True,
        ),
        demo_path="boundaries/synthetic_demoshire_lsoa21.gpkg",
        demo_writer=_demo_boundaries,
        publisher="ONS Open Geography Portal",
        vintage="December 2021 (BGC V5)",
    ),
    DataSource(
        role="centroids",
        label="Population-weighted centroids",
        reader=read_centroids,
        join="points",
        adds=("demand_x", "demand_y", "demand_source"),
        core=True,
        download=Download(
            title="LSOA (December 2021) Population Weighted Centroids for EW (ONS)",
            url=f"{_ARCGIS}/LLSOA_Dec_2021_PWC_for_England_and_Wales_2022/FeatureServer/0/query",
            attribution=_ONS_GEO,
            format="ArcGIS FeatureServer query (f=geojson, outSR=4326) -> GeoJSON points",
            fetch="polygons",
            out_file="lsoa21_pwc.geojson",
            fields=(("code", "LSOA21CD"),),
        ),
        demo_path="boundaries/synthetic_demoshire_lsoa21_pwc.gpkg",
        demo_writer=_demo_centroids,
        publisher="ONS Open Geography Portal",
        vintage="December 2021",
    ),
    DataSource(
        role="imd",
        label="Index of Multiple Deprivation",
        reader=read_imd,
        required=True,
        adds=("imd_score", "imd_rank", "imd_decile"),
        core=True,
        short="IMD",
        upload=(".csv",),
        help="IoD2025 File 7 or IoD2019 File 1/2 CSV (MHCLG).",
        download=Download(
            title="English Indices of Deprivation 2025, File 7: all ranks, scores, deciles and "
            "population denominators (MHCLG)",
            url="https://assets.publishing.service.gov.uk/media/691ded56d140bbbaa59a2a7d/"
            "File_7_IoD2025_All_Ranks_Scores_Deciles_Population_Denominators.csv",
            attribution="Ministry of Housing, Communities and Local Government: English Indices "
            "of Deprivation 2025. Contains public sector information licensed under the OGL v3.0",
            format="CSV (England, LSOA 2021) -> CSV rows of the area, same columns",
            fetch="lsoa_csv",
            out_file="File_7_IoD2025_area.csv",
        ),
        demo_path="deprivation/synthetic_iod2025_file7_lsoa21.csv",
        demo_writer=_demo_imd,
        publisher="MHCLG",
        vintage="IoD2025 (IoD2019 accepted)",
    ),
    DataSource(
        role="imd_health",
        label="IMD health deprivation and disability domain",
        reader=read_imd_health,
        short="IMD health domain",
        upload=(".csv",),
        help="IoD2025 File 7 (Health Deprivation and Disability domain) and/or File 8 "
        "(its indicators: years of potential life lost, comparative illness and disability "
        "ratio, acute morbidity, mood and anxiety disorders), MHCLG; need terms "
        "need.health_weight, need.yll_weight, ... (0 by default).",
        download=Download(
            title="English Indices of Deprivation 2025, File 7: all ranks, scores, deciles and "
            "population denominators (MHCLG); the health domain's indicators are in File 8 "
            "(by hand)",
            url="https://assets.publishing.service.gov.uk/media/691ded56d140bbbaa59a2a7d/"
            "File_7_IoD2025_All_Ranks_Scores_Deciles_Population_Denominators.csv",
            attribution="Ministry of Housing, Communities and Local Government: English Indices "
            "of Deprivation 2025. Contains public sector information licensed under the OGL v3.0",
            format="CSV (England, LSOA 2021) -> CSV rows of the area, same columns",
            fetch="lsoa_csv",
            out_file="IoD2025_health_domain_area.csv",
        ),
        publisher="MHCLG",
        vintage="IoD2025",
    ),
    DataSource(
        role="population",
        label="Population",
        reader=read_population,
        required=True,
        adds=("population", "pop_0_15", "pop_16_64", "pop_65_plus"),
        core=True,
        additive=True,
        short="population",
        upload=(".csv",),
        help="Census 2021 usual residents (total or by age), or ONS mid-year estimates CSV.",
        download=Download(
            title="Census 2021 TS001 Number of usual residents (Nomis NM_2021_1)",
            url="https://www.nomisweb.co.uk/api/v01/dataset/NM_2021_1.data.csv",
            attribution=_ONS,
            format="Nomis API CSV (GEOGRAPHY_CODE, GEOGRAPHY_NAME, OBS_VALUE) -> CSV "
            "(2021 super output area - lower layer, LSOA21CD, Population)",
            fetch="nomis_ts001",
            out_file="census21_ts001_usual_residents.csv",
        ),
        demo_path="population/synthetic_census21_lsoa21_usual_residents_total.csv",
        demo_writer=_demo_population,
        publisher="ONS (Census 2021, via Nomis)",
        vintage="Census 2021 (mid-year estimates accepted)",
    ),
    DataSource(
        role="population_age",
        label="Population by age",
        reader=read_population,
        adds=("pop_0_15", "pop_16_64", "pop_65_plus"),
        core=True,
        additive=True,
        short="population by age",
        upload=(".csv",),
        help="Census 2021 residents by age category, when the population file has totals only.",
        download=Download(
            title="Census 2021 TS007 Age by single year (Nomis NM_2027_1)",
            url="https://www.nomisweb.co.uk/api/v01/dataset/NM_2027_1.data.csv",
            attribution=_ONS,
            format="Nomis API CSV by single year of age -> long CSV in 6 age categories "
            "(lsoa21_code, lsoa21_name, age_group, usual_residents)",
            fetch="nomis_ts007",
            out_file="census21_ts007_age6.csv",
        ),
        demo_path="population/synthetic_census21_lsoa21_usual_residents_by_age6.csv",
        demo_writer=_demo_population,
        publisher="ONS (Census 2021, via Nomis)",
        vintage="Census 2021",
    ),
    DataSource(
        role="population_projection",
        label="Population projections",
        reader=read_snpp,
        join="la",
        short="population projections",
        upload=(".csv",),
        help="ONS 2022-based subnational population projections, '2022 SNPP Population "
        "persons.csv' (AREA_CODE, AREA_NAME, COMPONENT, SEX, AGE_GROUP, 2022, 2023, ...); "
        "used when phasing.population = 'projection'. Download by hand from the ONS page "
        "(the zip's persons CSV): 'data fetch' does not get it.",
        page="https://www.ons.gov.uk/peoplepopulationandcommunity/populationandmigration/"
        "populationprojections/datasets/localauthoritiesinenglandtable2",
        demo_path="population/synthetic_2022_snpp_population_persons.csv",
        demo_writer=_demo_projections,
        publisher="ONS (subnational population projections)",
        vintage="2022-based (published 24 June 2025), mid-2022 to mid-2047",
    ),
    DataSource(
        role="gp_registrations",
        label="Patients registered at a GP practice (by LSOA)",
        reader=read_gp_registrations_areas,
        adds=("registered_patients",),
        additive=True,
        reader_options=_registrations_options,
        short="GP registrations",
        upload=(".csv",),
        help="NHS England 'Patients Registered at a GP Practice' LSOA file "
        "(gp-reg-pat-prac-lsoa-all.csv or the male-female file): PRACTICE_CODE, LSOA_CODE, "
        "SEX, NUMBER_OF_PATIENTS.",
        download=Download(
            title="Patients Registered at a GP Practice (quarterly LSOA files, NHS England)",
            url="https://digital.nhs.uk/data-and-information/publications/statistical/"
            "patients-registered-at-a-gp-practice",
            attribution="NHS England: Patients Registered at a GP Practice. Contains public "
            "sector information licensed under the OGL v3.0",
            format="zip of gp-reg-pat-prac-lsoa-all.csv (one quarter); each quarter's file has "
            "its own address on the publication page, so it is downloaded by hand",
            fetch=_registrations_by_hand,
            out_file="gp-reg-pat-prac-lsoa-all.csv",
        ),
        demo_path="population/synthetic_gp-reg-pat-prac-lsoa-male-female.csv",
        demo_writer=_demo_gp_registrations,
        publisher="NHS England (formerly NHS Digital)",
        vintage="quarterly (January, April, July, October); 2021 LSOAs since 2025",
    ),
    DataSource(
        role="hle",
        label="Healthy life expectancy",
        reader=read_hle,
        required=True,
        join="la",
        adds=("hle_years",),
        core=True,
        reader_options=_hle_options,
        short="HLE",
        upload=(".csv",),
        help="OHID Fingertips export of healthy life expectancy at birth by local authority.",
        download=Download(
            title="OHID Fingertips indicator 90362: Healthy life expectancy at birth "
            "(upper-tier local authorities)",
            url="https://fingertips.phe.org.uk/api/all_data/csv/by_indicator_id"
            "?indicator_ids=90362&child_area_type_id=502",
            attribution="Office for Health Improvement and Disparities: Public health profiles "
            "(Fingertips), data from ONS. Contains public sector information licensed under "
            "the OGL v3.0",
            format="Fingertips CSV export (England) -> the same CSV",
            fetch="copy",
            out_file="fingertips_90362_hle.csv",
        ),
        demo_path="health/synthetic_hle_at_birth_fingertips_utla.csv",
        demo_writer=_demo_hle,
        publisher="OHID Fingertips (ONS data)",
        vintage="latest period in the file (e.g. 2022-24)",
    ),
    DataSource(
        role="car_availability",
        label="Car or van availability (Census 2021 TS045)",
        reader=read_car_availability,
        adds=("households", "households_no_car"),
        additive=True,
        short="TS045 cars",
        upload=(".csv",),
        help="Census 2021 TS045 by LSOA: the Nomis bulk CSV (census2021-ts045-lsoa.csv) or an "
        "ONS custom dataset (long form); households, and households without a car or van.",
        download=Download(
            title="Census 2021 TS045 Car or van availability (Nomis NM_2063_1)",
            url="https://www.nomisweb.co.uk/api/v01/dataset/NM_2063_1.data.csv",
            attribution=_ONS,
            format="Nomis API CSV for the area's LSOAs (long form: GEOGRAPHY_CODE, "
            "C2021_CARS_5, OBS_VALUE) -> the same CSV",
            fetch="nomis_lsoa",
            out_file="census21_ts045_car_availability.csv",
            params=(("c2021_cars_5", "0...4"), ("measures", "20100")),
        ),
        demo_path="population/synthetic_census21_ts045_car_or_van_availability_lsoa21.csv",
        demo_writer=_demo_cars,
        publisher="ONS (Census 2021, via Nomis)",
        vintage="Census 2021",
    ),
    DataSource(
        role="lsoa_la",
        label="LSOA to local authority lookup",
        reader=read_lsoa_la,
        required=True,
        join="lookup",
        adds=("la_code", "la_name"),
        core=True,
        short="LSOA->LA lookup",
        upload=(".csv",),
        help="ONS lookup with LSOA21CD and LAD code columns.",
        download=Download(
            title="LSOA (2021) to Electoral Ward (2024) to LAD (2024) Best Fit Lookup in EW (ONS)",
            url=f"{_ARCGIS}/LSOA21_WD24_LAD24_EW_LU/FeatureServer/0/query",
            attribution=_ONS,
            format=_ARCGIS_TABLE,
            fetch="area_lookup",
            out_file="lookup_lsoa21_wd24_lad24.csv",
            fields=(("code", "LSOA21CD"), ("la", "LAD24CD"), ("la_name", "LAD24NM")),
            always=True,
        ),
        demo_path="lookups/synthetic_lookup_lsoa21_ward24_ltla24.csv",
        demo_writer=_demo_lookups,
        publisher="ONS Open Geography Portal",
        vintage="LAD April 2024",
    ),
    DataSource(
        role="lsoa_icb",
        label="LSOA to sub-ICB and ICB lookup",
        reader=read_lsoa_icb,
        join="lookup",
        adds=("icb_code",),
        core=True,
        short="LSOA->ICB lookup",
        download=Download(
            title="LSOA (2021) to Sub-ICB Location to ICB to Cancer Alliance to LAD (April 2024) "
            "Lookup in EN (ONS)",
            url=f"{_ARCGIS}/LSOA21_SICBL24_ICB24_CAL24_LAD24_EN_LU/FeatureServer/0/query",
            attribution=_ONS,
            format=_ARCGIS_TABLE,
            fetch="area_lookup",
            out_file="lookup_lsoa21_sicbl24_icb24_lad24.csv",
            fields=(
                ("code", "LSOA21CD"),
                ("icb", "ICB24CD"),
                ("icb_name", "ICB24NM"),
                ("la", "LAD24CD"),
                ("sub_icb_ods", "SICBL24CDH"),
            ),
            always=True,
        ),
        demo_path="lookups/synthetic_lookup_lsoa21_icb24.csv",
        demo_writer=_demo_lookups,
        publisher="ONS Open Geography Portal",
        vintage="April 2024",
    ),
    DataSource(
        role="lsoa11_lsoa21",
        label="LSOA 2011 to 2021 lookup",
        reader=read_lsoa11_lsoa21,
        join="lookup",
        short="LSOA 2011->2021 lookup",
        download=Download(
            title="LSOA (2011) to LSOA (2021) to LAD (2022) Exact Fit Lookup for EW (ONS)",
            url=f"{_ARCGIS}/LSOA11_LSOA21_LAD22_EW_LU_v5/FeatureServer/0/query",
            attribution=_ONS,
            format=_ARCGIS_TABLE,
            fetch="lookup_lsoa11",
            out_file="lookup_lsoa11_lsoa21_lad22.csv",
            fields=(("code", "LSOA21CD"), ("la", "LAD22CD")),
        ),
        publisher="ONS Open Geography Portal",
        vintage="2011 -> 2021 (LAD 2022)",
    ),
    DataSource(
        role="ltla_utla",
        label="Lower- to upper-tier authority lookup",
        reader=read_ltla_utla,
        join="lookup",
        short="LTLA->UTLA lookup",
        download=Download(
            title="Lower Tier Local Authority to Upper Tier Local Authority (December 2023) "
            "Lookup in EW (ONS)",
            url=f"{_ARCGIS}/LTLA23_UTLA23_EW_LU/FeatureServer/0/query",
            attribution=_ONS,
            format=_ARCGIS_TABLE,
            fetch="lookup_ltla",
            out_file="lookup_ltla23_utla23.csv",
            fields=(("code", "LTLA23CD"), ("la", "LTLA23CD")),
        ),
        publisher="ONS Open Geography Portal",
        vintage="December 2023",
    ),
    DataSource(
        role="gp_practices",
        label="GP practices",
        reader=read_epraccur,
        join="sites",
        reader_options=_gp_options,
        short="GP practice",
        download=Download(
            title="NHS ODS epraccur: GP practices and prescribing cost centres",
            url="https://files.digital.nhs.uk/assets/ods/current/epraccur.zip",
            attribution="NHS England Organisation Data Service. Contains public sector "
            "information licensed under the OGL v3.0",
            format="zip of headerless epraccur.csv -> GeoJSON points (active practices near the "
            "area, epraccur columns + latitude, longitude, within_area)",
            fetch="epraccur",
            out_file="epraccur_geocoded.geojson",
        ),
        demo_path="facilities/synthetic_epraccur_gp_practices.csv",
        demo_writer=_demo_facilities,
        publisher="NHS England ODS",
        vintage="current (monthly)",
    ),
    DataSource(
        role="postcodes",
        label="Postcode coordinates",
        reader=read_postcodes,
        join="helper",
        short="postcodes",
        download=Download(
            title="postcodes.io bulk postcode lookup (ONS Postcode Directory)",
            url="https://api.postcodes.io/postcodes",
            attribution="Contains OS data © Crown copyright and database right; Contains Royal "
            "Mail data © Royal Mail copyright and database right; Source: Office for National "
            "Statistics licensed under the OGL v3.0",
            format="JSON POST {'postcodes': [...]} (100 per request) -> latitude/longitude",
            fetch="helper",
            helper_of="gp_practices",
        ),
        publisher="ONS Postcode Directory (via postcodes.io)",
        vintage="current",
    ),
    DataSource(
        role="hospitals",
        label="Hospitals",
        reader=partial(read_nhs_syndication, kind="hospital"),
        join="sites",
        short="hospital",
        download=Download(
            title="NHS website data: Hospital.csv",
            url="https://assets.nhs.uk/data/foi/Hospital.csv",
            attribution=_NHS_SITE,
            format="'¬'-separated CSV, cp1252 -> GeoJSON points near the area",
            fetch="nhs_sites",
            out_file="nhs_hospitals.geojson",
        ),
        demo_path="facilities/synthetic_nhswebsite_Hospital.csv",
        demo_writer=_demo_facilities,
        publisher="NHS website (nhs.uk)",
        vintage="current",
    ),
    DataSource(
        role="pharmacies",
        label="Pharmacies",
        reader=partial(read_nhs_syndication, kind="pharmacy"),
        join="sites",
        short="pharmacy",
        download=Download(
            title="NHS website data: Pharmacy.csv",
            url="https://assets.nhs.uk/data/foi/Pharmacy.csv",
            attribution=_NHS_SITE,
            format="'¬'-separated CSV, cp1252 -> GeoJSON points near the area",
            fetch="nhs_sites",
            out_file="nhs_pharmacies.geojson",
        ),
        demo_path="facilities/synthetic_nhswebsite_Pharmacy.csv",
        demo_writer=_demo_facilities,
        publisher="NHS website (nhs.uk)",
        vintage="current",
    ),
    DataSource(
        role="user_sites",
        label="Sites",
        reader=read_user_sites,
        join="sites",
        short="user",
        upload=(".csv", ".geojson", ".json", ".gpkg"),
        help="Candidate and existing sites: site_id, name, x/y (BNG metres) or latitude/"
        "longitude; optional kind, status, max_rooms, capex_gbp.",
        demo_path="facilities/synthetic_user_sites_community_buildings.csv",
        demo_writer=_demo_facilities,
        publisher="the user",
        licence="the user's",
        vintage="-",
    ),
    DataSource(
        role="osm_index",
        label="Geofabrik extract index",
        reader=None,
        join="helper",
        download=Download(
            title="Geofabrik download server index (regions and their extents)",
            url="https://download.geofabrik.de/index-v1.json",
            attribution="© OpenStreetMap contributors; extracts by Geofabrik GmbH",
            format="GeoJSON index of extracts (used to choose the county extract(s))",
            fetch="helper",
            helper_of="osm",
        ),
        publisher="Geofabrik",
        licence="ODbL 1.0",
        vintage="current",
        is_input=False,
    ),
    DataSource(
        role="osm",
        label="OpenStreetMap road network extract",
        reader=None,
        join="network",
        download=Download(
            title="OpenStreetMap extract (Geofabrik county .osm.pbf)",
            url="https://download.geofabrik.de/europe/united-kingdom/england/"
            "{region}-latest.osm.pbf",
            attribution="© OpenStreetMap contributors, available under the Open Database Licence",
            format="OSM PBF (copied as is)",
            fetch="osm",
        ),
        publisher="OpenStreetMap contributors (Geofabrik extracts)",
        licence="ODbL 1.0",
        vintage="latest",
        is_input=False,
    ),
)
