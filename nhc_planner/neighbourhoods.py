"""Neighbourhoods of a region: the adapter between a region's areas and :func:`delineate`.

- :func:`area_adjacency`: rook/queen adjacency of the area polygons (islands and detached
  pieces of a group joined to their nearest area, reported);
- :func:`area_costs`: minutes between areas' demand points (straight line, or a road
  network when given);
- :func:`area_groups`: the groups districts never cross (local authority by default, or
  any column such as a sub-ICB or Primary Care Network code);
- :func:`delineate_region`: all of the above plus names people recognise;
- :func:`read_neighbourhoods`: neighbourhoods the ICB already drew (a CSV of
  ``area_code -> neighbourhood`` or polygons laid over the areas), checked against bounds.

See ``docs/neighbourhoods.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import connected_components

from nhc_planner._errors import (
    DataFileError,
    DuplicateKeyError,
    EmptyInputError,
    JoinError,
    MissingColumnError,
    ValueRangeError,
)
from nhc_planner.optimize.districting import DistrictingResult, delineate
from nhc_planner.travel import CIRCUITY, STRAIGHT_LINE_SPEED_KMH

__all__ = [
    "NAME_COLUMNS",
    "AreaAdjacency",
    "AreaGroups",
    "DrawnNeighbourhoods",
    "Neighbourhoods",
    "area_adjacency",
    "area_costs",
    "area_groups",
    "delineate_region",
    "neighbourhood_names",
    "read_neighbourhoods",
]

#: Area columns used to name neighbourhoods, in order of preference (ward names are
#: what residents recognise; MSOA names next). Without them: "<LA name> <number>".
NAME_COLUMNS: tuple[str, ...] = ("ward_name", "ward24_name", "msoa_name", "msoa21_name")

Contiguity = Literal["rook", "queen"]


# --------------------------------------------------------------------------- adjacency


@dataclass(frozen=True)
class AreaAdjacency:
    """Adjacency of a region's areas.

    Attributes
    ----------
    matrix
        ``(n, n)`` symmetric 0/1 CSR matrix in the order of the areas table.
    joins
        Links added so that every island (and every detached piece of a group) reaches
        the rest: ``(area_code, area_code, metres apart)``.
    """

    matrix: sp.csr_matrix
    joins: tuple[tuple[str, str, float], ...]


def _touching(geoms: np.ndarray, rule: Contiguity, tolerance_m: float) -> sp.csr_matrix:
    n = geoms.size
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="dwithin", distance=tolerance_m)
    keep = left < right
    left, right = left[keep], right[keep]
    if rule == "rook" and left.size:
        # a shared edge, not a corner: the boundary of one within tolerance of the other
        # runs for more than 4 tolerances
        near = shapely.intersection(
            shapely.boundary(geoms[left]), shapely.buffer(geoms[right], tolerance_m)
        )
        shared = shapely.length(near) > 4.0 * max(tolerance_m, 1.0)
        left, right = left[shared], right[shared]
    data = np.ones(left.size * 2, dtype=np.int8)
    m = sp.coo_matrix(
        (data, (np.concatenate([left, right]), np.concatenate([right, left]))), shape=(n, n)
    )
    return (m.tocsr() > 0).astype(np.int8).tocsr()


def _join_pieces(
    matrix: sp.csr_matrix, geoms: np.ndarray, subset: np.ndarray, codes: np.ndarray
) -> tuple[sp.csr_matrix, list[tuple[str, str, float]]]:
    """Join the pieces of ``subset``'s induced graph, smallest to nearest, until one."""
    joins: list[tuple[str, str, float]] = []
    while True:
        sub = matrix[subset][:, subset]
        n_parts, part = connected_components(sub, directed=False)
        if n_parts <= 1:
            return matrix, joins
        sizes = np.bincount(part)
        small = int(np.argmin(sizes))  # lowest label among the smallest
        inside, outside = subset[part == small], subset[part != small]
        tree = shapely.STRtree(geoms[outside])
        idx, dist = tree.query_nearest(geoms[inside], return_distance=True, all_matches=False)
        best = int(np.argmin(dist))
        a, b = int(inside[idx[0, best]]), int(outside[idx[1, best]])
        matrix = matrix.tolil()
        matrix[a, b] = matrix[b, a] = 1
        matrix = matrix.tocsr()
        joins.append((str(codes[a]), str(codes[b]), float(dist[best])))


def area_adjacency(
    areas: gpd.GeoDataFrame,
    *,
    rule: Contiguity = "rook",
    groups: np.ndarray | None = None,
    tolerance_m: float = 5.0,
) -> AreaAdjacency:
    """Adjacency of the areas' polygons, with islands joined to their nearest area.

    Parameters
    ----------
    areas
        ``area_code`` and polygon ``geometry`` in EPSG:27700.
    rule
        ``"rook"`` (a shared edge) or ``"queen"`` (a shared edge or corner).
    groups
        Optional group per area: each group's detached pieces are also joined to the
        nearest area of the same group (so that a district may span them).
    tolerance_m
        Polygons closer than this count as touching (simplified boundaries leave slivers).

    Returns
    -------
    AreaAdjacency
        The matrix and every join added, by area code.
    """
    if rule not in ("rook", "queen"):
        msg = f"adjacency rule {rule!r} is not supported; expected 'rook' or 'queen'"
        raise ValueRangeError(msg)
    geoms = np.asarray(areas.geometry.values, dtype=object)
    codes = areas["area_code"].astype(str).to_numpy()
    matrix = _touching(geoms, rule, tolerance_m)
    matrix, joins = _join_pieces(matrix, geoms, np.arange(len(areas)), codes)
    if groups is not None:
        for value in np.unique(groups):
            matrix, more = _join_pieces(matrix, geoms, np.flatnonzero(groups == value), codes)
            joins += more
    return AreaAdjacency(matrix=matrix, joins=tuple(joins))


# --------------------------------------------------------------------------- costs


def area_costs(
    areas: pd.DataFrame,
    *,
    mode: str = "drive",
    circuity: float | None = None,
    speed_kmh: float | None = None,
    network: Any = None,
) -> np.ndarray:
    """Minutes between every pair of areas' demand points (``cost[i, j]``: from i to j).

    Parameters
    ----------
    areas
        ``area_code``, ``demand_x``, ``demand_y`` (EPSG:27700 metres).
    mode, circuity, speed_kmh
        Straight-line estimate: crow-fly distance x circuity / speed (defaults of
        :mod:`nhc_planner.travel`). A mode with no straight-line defaults (e.g. a
        public-transport or plug-in mode) is timed at the drive defaults: compactness
        only compares distances, so any one speed gives the same neighbourhoods.
    network
        Optional road network (anything :func:`nhc_planner.travel.travel_times`
        accepts); pairs it cannot time fall back to the straight line.

    Returns
    -------
    numpy.ndarray
        ``(n, n)`` minutes, 0 on the diagonal.
    """
    xy = areas[["demand_x", "demand_y"]].to_numpy(dtype=float)
    if not np.isfinite(xy).all():
        msg = "area_costs: demand_x/demand_y must be finite for every area"
        raise ValueRangeError(msg)
    base = mode if mode in CIRCUITY and mode in STRAIGHT_LINE_SPEED_KMH else "drive"
    circ = CIRCUITY[base] if circuity is None else float(circuity)
    speed = STRAIGHT_LINE_SPEED_KMH[base] if speed_kmh is None else float(speed_kmh)
    if circ < 1.0 or speed <= 0:
        msg = f"area_costs: circuity={circ} (>= 1) and speed_kmh={speed} (> 0) out of range"
        raise ValueRangeError(msg)
    metres = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    minutes = metres * circ / (speed * 1000.0 / 60.0)
    if network is not None:
        from nhc_planner.travel import travel_times

        points = gpd.GeoDataFrame(
            {"site_id": areas["area_code"].astype(str).to_numpy()},
            geometry=shapely.points(xy),
            crs="EPSG:27700",
        )
        tt = travel_times(areas, points, network, mode=mode, cutoff_min=np.inf, fallback=None)
        net = tt.matrix()
        minutes = np.where(np.isfinite(net), net, minutes)
    np.fill_diagonal(minutes, 0.0)
    return minutes


# --------------------------------------------------------------------------- groups


@dataclass(frozen=True)
class AreaGroups:
    """Groups districts never cross: ``codes[i]`` is area ``i``'s group index into ``names``."""

    codes: np.ndarray
    names: tuple[str, ...]
    keys: tuple[str, ...]


def area_groups(areas: pd.DataFrame, by: str | pd.Series | None = "la") -> AreaGroups:
    """Group index per area.

    Parameters
    ----------
    areas
        The areas table.
    by
        ``"la"`` (default: ``la_code``, named by ``la_name``), ``None`` (one group: a
        district may cross authorities), the name of a column (e.g. ``sub_icb_code`` or a
        Primary Care Network code; ``<stem>_name`` names it when present), or a Series of
        keys aligned with the areas.
    """
    if by is None:
        return AreaGroups(np.zeros(len(areas), dtype=np.int64), ("all areas",), ("",))
    if isinstance(by, pd.Series):
        keys = by.astype(str).to_numpy()
        names_col = None
    else:
        column = "la_code" if by == "la" else by
        if column not in areas.columns:
            msg = (
                f"areas: no column '{column}' to group neighbourhoods by; expected 'la', None "
                f"or one of {list(areas.columns)}"
            )
            raise MissingColumnError(msg)
        keys = areas[column].astype(str).to_numpy()
        stem = column.removesuffix("_code")
        names_col = f"{stem}_name" if f"{stem}_name" in areas.columns else None
    if pd.isna(keys).any() or (keys == "").any():
        msg = f"areas: group key {by!r} is empty for some areas; every area needs a group"
        raise ValueRangeError(msg)
    uniq, codes = np.unique(keys, return_inverse=True)
    if names_col is not None:
        first = pd.Series(areas[names_col].astype(str).to_numpy()).groupby(keys).first()
        names = tuple(str(first[k]) for k in uniq)
    else:
        names = tuple(str(k) for k in uniq)
    return AreaGroups(codes.astype(np.int64), names, tuple(str(k) for k in uniq))


# --------------------------------------------------------------------------- names


def neighbourhood_names(
    areas: pd.DataFrame, labels: np.ndarray, groups: AreaGroups, *, column: str | None = None
) -> list[str]:
    """Name each neighbourhood after its most populous ward / MSOA, else ``<group> <n>``.

    Without a ward or MSOA name column, MSOA names are read from official LSOA names
    (see :func:`nhc_planner.map_context.place_names`).

    Parameters
    ----------
    areas
        Areas with ``population`` and optionally a name column (:data:`NAME_COLUMNS`).
    labels
        Neighbourhood index per area (``0..k-1``).
    groups
        The groups (used for the fallback names).
    column
        Name column to use (default: the first of :data:`NAME_COLUMNS` present).

    Returns
    -------
    list of str
        One unique name per neighbourhood (repeats get " (2)", " (3)", ...).
    """
    from nhc_planner.map_context import place_names

    if column is None:
        column = next(
            (c for c in NAME_COLUMNS if c in areas.columns and areas[c].notna().any()), None
        )
    # else MSOA names read from official LSOA names ("Leeds 001A" lies in "Leeds 001")
    place = areas[column].astype("string") if column is not None else place_names(areas)
    k = int(labels.max()) + 1 if labels.size else 0
    pop = areas["population"].to_numpy(dtype=float)
    names: list[str] = []
    counter: dict[int, int] = {}
    for d in range(k):
        members = np.flatnonzero(labels == d)
        group = int(groups.codes[members[0]])
        if place is not None and place.iloc[members].notna().any():
            frame = pd.DataFrame({"n": place.to_numpy()[members], "p": pop[members]}).dropna()
            totals = frame.groupby("n", sort=True)["p"].sum()
            names.append(str(totals.idxmax()))
        else:
            counter[group] = counter.get(group, 0) + 1
            names.append(f"{groups.names[group]} {counter[group]}")
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return unique


# --------------------------------------------------------------------------- region level


@dataclass(frozen=True)
class Neighbourhoods:
    """Neighbourhoods of a region.

    Attributes
    ----------
    areas
        One row per area: ``area_code, neighbourhood_id, neighbourhood_name, group,
        population, seed_area_code, within_bounds``.
    summary
        One row per neighbourhood: ``neighbourhood_id, neighbourhood_name, group,
        population, n_areas, seed_area_code, within_bounds``.
    result
        The array-level :class:`~nhc_planner.optimize.districting.DistrictingResult`.
    adjacency
        The adjacency used (with the joins it added).
    """

    areas: pd.DataFrame
    summary: pd.DataFrame
    result: DistrictingResult
    adjacency: AreaAdjacency


def _tables(
    areas: pd.DataFrame,
    labels: np.ndarray,
    seeds: np.ndarray,
    groups: AreaGroups,
    names: Sequence[str],
    min_pop: float,
    max_pop: float,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    codes = areas["area_code"].astype(str).to_numpy()
    pop = areas["population"].to_numpy(dtype=float)
    k = seeds.size
    ids = np.array([f"N{d + 1:03d}" for d in range(k)])
    sizes = np.bincount(labels, weights=pop, minlength=k)
    within = (sizes >= min_pop) & (sizes <= max_pop)
    group_of = np.array([groups.names[int(groups.codes[seeds[d]])] for d in range(k)])
    summary = pd.DataFrame(
        {
            "neighbourhood_id": ids,
            "neighbourhood_name": list(names),
            "group": group_of,
            "population": sizes,
            "n_areas": np.bincount(labels, minlength=k),
            "seed_area_code": codes[seeds],
            "within_bounds": within,
        }
    )
    table = pd.DataFrame(
        {
            "area_code": codes,
            "neighbourhood_id": ids[labels],
            "neighbourhood_name": np.asarray(names, dtype=object)[labels],
            "group": group_of[labels],
            "population": pop,
            "seed_area_code": codes[seeds][labels],
            "within_bounds": within[labels],
        }
    )
    return table, summary


def delineate_region(
    areas: gpd.GeoDataFrame,
    *,
    min_pop: float = 30_000,
    max_pop: float = 50_000,
    by: str | pd.Series | None = "la",
    rule: Contiguity = "rook",
    cost: np.ndarray | None = None,
    name_column: str | None = None,
    gap: float = 0.02,
    time_limit_s: float = 300.0,
    max_iterations: int = 400,
    progress: Callable[[float], None] | None = None,
) -> Neighbourhoods:
    """Delineate a region's neighbourhoods (see :func:`delineate` for the model).

    Parameters
    ----------
    areas
        The region's areas (``region.areas``), EPSG:27700.
    min_pop, max_pop
        Population bounds of a neighbourhood.
    by
        Groups neighbourhoods never cross (see :func:`area_groups`).
    rule
        Adjacency rule (see :func:`area_adjacency`).
    cost
        ``(n, n)`` minutes between areas (default :func:`area_costs` straight line).
    name_column
        Column naming the neighbourhoods (default: first of :data:`NAME_COLUMNS`).
    gap, time_limit_s, max_iterations, progress
        Passed to :func:`delineate`.
    """
    groups = area_groups(areas, by)
    adjacency = area_adjacency(areas, rule=rule, groups=groups.codes)
    minutes = area_costs(areas) if cost is None else np.asarray(cost, dtype=float)
    result = delineate(
        areas["population"].to_numpy(dtype=float),
        adjacency.matrix,
        minutes,
        groups.codes,
        min_pop=min_pop,
        max_pop=max_pop,
        gap=gap,
        time_limit_s=time_limit_s,
        max_iterations=max_iterations,
        group_names=groups.names,
        progress=progress,
    )
    names = neighbourhood_names(areas, result.labels, groups, column=name_column)
    table, summary = _tables(
        areas, result.labels, result.seeds, groups, names, float(min_pop), float(max_pop)
    )
    return Neighbourhoods(table, summary, result, adjacency)


# --------------------------------------------------------------------------- drawn by the ICB


@dataclass(frozen=True)
class DrawnNeighbourhoods:
    """Neighbourhoods read from a file.

    Attributes
    ----------
    areas
        One row per area: ``area_code, neighbourhood_id, neighbourhood_name, population,
        within_bounds``.
    summary
        One row per neighbourhood: ``neighbourhood_id, neighbourhood_name, population,
        n_areas, within_bounds, contiguous``.
    outside_bounds
        Names of neighbourhoods whose population is outside ``[min_pop, max_pop]``.
    """

    areas: pd.DataFrame
    summary: pd.DataFrame
    outside_bounds: tuple[str, ...]


def _read_table(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, dtype=str)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        msg = f"{path}: cannot read as CSV ({exc}); expected columns area_code, neighbourhood"
        raise DataFileError(msg) from exc


def _labels_from_csv(path: Path, areas: pd.DataFrame) -> pd.Series:
    table = _read_table(path)
    lower = {c.strip().lower(): c for c in table.columns}
    code_col = next((lower[c] for c in ("area_code", "lsoa21cd", "lsoa_code") if c in lower), None)
    hood_col = next(
        (lower[c] for c in ("neighbourhood", "neighbourhood_name", "neighborhood") if c in lower),
        None,
    )
    if code_col is None or hood_col is None:
        msg = (
            f"{path}: expected columns 'area_code' and 'neighbourhood'; found {list(table.columns)}"
        )
        raise MissingColumnError(msg)
    table = table[[code_col, hood_col]].dropna()
    if table.empty:
        msg = f"{path}: no rows with both '{code_col}' and '{hood_col}'"
        raise EmptyInputError(msg)
    codes = table[code_col].str.strip()
    dup = codes[codes.duplicated(keep=False)]
    if len(dup):
        msg = (
            f"{path}: {dup.nunique()} area code(s) listed more than once in '{code_col}', "
            f"e.g. {sorted(set(dup))[:5]}; each area belongs to one neighbourhood"
        )
        raise DuplicateKeyError(msg)
    return pd.Series(table[hood_col].str.strip().to_numpy(), index=codes.to_numpy())


def _labels_from_polygons(path: Path, areas: gpd.GeoDataFrame) -> pd.Series:
    try:
        polys = gpd.read_file(path)
    except Exception as exc:  # any reader failure is a bad file for the user
        msg = f"{path}: cannot read as polygons ({exc}); expected a GeoPackage or GeoJSON"
        raise DataFileError(msg) from exc
    lower = {c.strip().lower(): c for c in polys.columns}
    hood_col = next(
        (lower[c] for c in ("neighbourhood", "neighbourhood_name", "name") if c in lower), None
    )
    if hood_col is None:
        msg = f"{path}: expected a column 'neighbourhood' (or 'name'); found {list(polys.columns)}"
        raise MissingColumnError(msg)
    if polys.crs is None:
        msg = f"{path}: no CRS set; expected one that converts to EPSG:27700"
        raise DataFileError(msg)
    polys = polys.to_crs(areas.crs)
    inter = gpd.overlay(
        areas[["area_code", "geometry"]], polys[[hood_col, "geometry"]], how="intersection"
    )
    inter["_a"] = inter.geometry.area
    inter = inter.sort_values(["area_code", "_a", hood_col], ascending=[True, False, True])
    best = inter.drop_duplicates("area_code")
    return pd.Series(best[hood_col].astype(str).to_numpy(), index=best["area_code"].to_numpy())


def read_neighbourhoods(
    path: str | Path,
    areas: gpd.GeoDataFrame,
    *,
    min_pop: float = 30_000,
    max_pop: float = 50_000,
    adjacency: AreaAdjacency | None = None,
) -> DrawnNeighbourhoods:
    """Read neighbourhoods an ICB already drew and check them against the bounds.

    Parameters
    ----------
    path
        A CSV with ``area_code`` and ``neighbourhood`` columns, or polygons (GeoPackage,
        GeoJSON, shapefile) with a ``neighbourhood`` (or ``name``) column: each area
        joins the polygon it overlaps most.
    areas
        The region's areas.
    min_pop, max_pop
        Bounds to flag neighbourhoods against (flagged, not refused).
    adjacency
        Used to report contiguity (default: :func:`area_adjacency`, rook).

    Raises
    ------
    DataFileError, MissingColumnError, DuplicateKeyError, EmptyInputError
        A file that cannot be read or lacks the columns.
    JoinError
        Codes that are not the region's areas, or areas left without a neighbourhood.
    """
    p = Path(path)
    if not p.is_file():
        msg = f"{p}: no such file; expected a CSV (area_code, neighbourhood) or polygons"
        raise DataFileError(msg)
    is_csv = p.suffix.lower() in (".csv", ".txt")
    mapping = _labels_from_csv(p, areas) if is_csv else _labels_from_polygons(p, areas)
    codes = areas["area_code"].astype(str)
    unknown = sorted(set(mapping.index) - set(codes))
    if unknown and is_csv:
        msg = (
            f"{p}: {len(unknown)} area code(s) are not areas of this region, "
            f"e.g. {unknown[:5]}; expected the region's area codes (e.g. {list(codes[:2])})"
        )
        raise JoinError(msg)
    missing = codes[~codes.isin(mapping.index)]
    if len(missing):
        msg = (
            f"{p}: {len(missing)} of the region's {len(codes)} area(s) have no neighbourhood, "
            f"e.g. {list(missing[:5])}; every area must belong to one"
        )
        raise JoinError(msg)
    hood = mapping.reindex(codes.to_numpy()).to_numpy()
    names, labels = np.unique(hood, return_inverse=True)
    pop = areas["population"].to_numpy(dtype=float)
    sizes = np.bincount(labels, weights=pop, minlength=names.size)
    within = (sizes >= min_pop) & (sizes <= max_pop)
    adj = adjacency if adjacency is not None else area_adjacency(areas)
    contiguous = []
    for d in range(names.size):
        members = np.flatnonzero(labels == d)
        sub = adj.matrix[members][:, members]
        contiguous.append(connected_components(sub, directed=False)[0] == 1)
    ids = np.array([f"N{d + 1:03d}" for d in range(names.size)])
    summary = pd.DataFrame(
        {
            "neighbourhood_id": ids,
            "neighbourhood_name": names,
            "population": sizes,
            "n_areas": np.bincount(labels, minlength=names.size),
            "within_bounds": within,
            "contiguous": contiguous,
        }
    )
    table = pd.DataFrame(
        {
            "area_code": codes.to_numpy(),
            "neighbourhood_id": ids[labels],
            "neighbourhood_name": names[labels],
            "population": pop,
            "within_bounds": within[labels],
        }
    )
    return DrawnNeighbourhoods(table, summary, tuple(str(n) for n in names[~within]))
