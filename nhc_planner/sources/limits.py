"""Plausible ranges of every value the readers accept, in one place.

The readers in :mod:`nhc_planner.sources` check their files against these
ranges (through :mod:`nhc_planner.sources.validate`) and raise a named
:class:`~nhc_planner.NhcInputError` naming the file, the column, the rows or
codes and the range when a value falls outside. They are deliberately
generous: they catch units, projections and corrupted files, not unusual
areas. ``docs/data.md`` lists them ("Plausibility checks").

Every constant is a plain number or tuple; nothing here does work at import.
"""

from __future__ import annotations

__all__ = [
    "BNG_BOUNDS",
    "DECILE_RANGE",
    "HLE_YEARS",
    "IMD_LSOA_COUNT",
    "IMD_LSOA_COUNT_BY_YEAR",
    "IMD_SCORE",
    "LONLAT_BOUNDS",
    "LSOA_AREA_M2",
    "LSOA_POPULATION",
    "MAX_AREA_VERTICES",
    "MAX_GEOJSON_POSITIONS",
    "MAX_UPLOAD_FEATURES",
    "MAX_UPLOAD_UNZIPPED_BYTES",
    "MAX_UPLOAD_VERTICES",
    "MAX_ZIP_MEMBERS",
]

#: Great Britain in EPSG:27700 metres, (x_min, y_min, x_max, y_max), with a
#: margin for offshore islands: the OS National Grid covers 0..700 km east and
#: 0..1,300 km north; Scilly, St Kilda and Shetland fall inside these bounds.
BNG_BOUNDS: tuple[float, float, float, float] = (-120_000.0, -20_000.0, 760_000.0, 1_300_000.0)

#: Longitude/latitude box around Great Britain and Ireland (degrees). A file
#: declared EPSG:27700 whose coordinates all fall inside this box holds
#: longitudes/latitudes, not metres.
LONLAT_BOUNDS: tuple[float, float, float, float] = (-11.0, 49.0, 3.0, 61.5)

#: Area of one LSOA polygon, square metres (low, high). LSOAs range from a few
#: hectares (dense inner-city blocks) to several hundred km^2 (rural uplands);
#: 100 m^2 and 2,500 km^2 leave room for any simplification. Degrees read as
#: metres give areas of about 1e-4 m^2.
LSOA_AREA_M2: tuple[float, float] = (100.0, 2_500_000_000.0)

#: Usual residents of one LSOA (low, high). LSOAs are drawn for 1,000-3,000
#: residents (400-1,200 households); the largest in Census 2021 has 9,899 and
#: in the IoD2019 mid-2015 denominators 9,551. Zero is allowed (a test or a
#: boundary change may leave an empty area); negative counts are not.
LSOA_POPULATION: tuple[float, float] = (0.0, 20_000.0)

#: Healthy life expectancy at birth, years (low, high). The OHID Fingertips
#: figures for English upper-tier authorities (2015-17 to 2022-24, mean of
#: male and female) run from 51.4 to 69.8 years; 40-85 leaves a wide margin.
HLE_YEARS: tuple[float, float] = (40.0, 85.0)

#: Number of LSOAs ranked by each IoD vintage (England): ranks run 1..N.
IMD_LSOA_COUNT: dict[str, int] = {"IoD2019": 32_844, "IoD2025": 33_755}

#: The same by LSOA code year (IoD2019 ranks LSOA 2011, IoD2025 LSOA 2021).
IMD_LSOA_COUNT_BY_YEAR: dict[int, int] = {2011: 32_844, 2021: 33_755}

#: IMD score (low, high): a weighted sum of domain scores, higher = more deprived;
#: IoD2025 LSOA scores run from 0.2 to 94.2.
IMD_SCORE: tuple[float, float] = (0.0, 100.0)

#: IMD deciles (low, high); decile d holds ranks (d-1)*N/10 < rank <= d*N/10,
#: i.e. decile = ceil(10 * rank / N), as in IoD2019 and IoD2025.
DECILE_RANGE: tuple[int, int] = (1, 10)

#: Vertices of one area polygon beyond which it is simplified (with a note) for
#: display: ONS full-resolution LSOA boundaries have at most a few thousand.
MAX_AREA_VERTICES: int = 20_000

#: Uploads: largest total size of a zip archive's members once extracted.
MAX_UPLOAD_UNZIPPED_BYTES: int = 300 * 1024 * 1024

#: Uploads: most members in a zip archive (a shapefile has 4-8).
MAX_ZIP_MEMBERS: int = 100

#: Uploads: most features in a vector file (England and Wales have 35,672 LSOAs).
MAX_UPLOAD_FEATURES: int = 200_000

#: Uploads: most vertices in all the geometries of a vector file (counted while
#: reading, a batch of features at a time). Generalised (BGC) LSOA boundaries of
#: a whole ICB are far below this; use generalised boundaries for large areas.
MAX_UPLOAD_VERTICES: int = 5_000_000

#: Uploads: most coordinate positions in a GeoJSON file (counted on the raw text,
#: before parsing). Parsing GeoJSON takes about 0.5 kB of memory per position
#: (a 1,000,001-vertex polygon needed 566 MB), so larger outlines must come as a
#: GeoPackage, shapefile or GeoParquet, whose binary geometries are read
#: compactly, or be simplified first.
MAX_GEOJSON_POSITIONS: int = 500_000
