"""Geography of the synthetic demo region: outline, places, small areas, attributes.

Private helper of :mod:`nhc_planner.demo`. Everything here is fictional and
generated from a seeded :class:`numpy.random.Generator`; nothing is derived
from real data. Coordinates are British National Grid metres (EPSG:27700).

The region is a rectangle-like county with a wavy outline whose east edge is a
coastline. People live in a mixture of places (a city, market towns, coastal
towns, villages) plus a dispersed rural population. Small areas are the
Voronoi cells of points drawn from that population density, so they are small
in towns and large in the countryside, and every area holds about the same
number of people, as LSOAs do.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree
from scipy.special import ndtr, ndtri

__all__ = ["DemoWorld", "Place", "make_world"]

#: Number of LSOAs in England (IoD2025), used to express synthetic ranks nationally.
N_NATIONAL = 33_755

#: ONS national gradient of male HLE by IMD decile (2015-17), deciles 1..10.
HLE_GRADIENT_MALE = np.array([51.7, 56.6, 58.8, 61.7, 63.8, 64.7, 66.5, 67.9, 68.8, 70.4])

#: Census 2021 six age bands, in the official label wording.
AGE6_LABELS: tuple[str, ...] = (
    "Aged 15 years and under",
    "Aged 16 to 24 years",
    "Aged 25 to 34 years",
    "Aged 35 to 49 years",
    "Aged 50 to 64 years",
    "Aged 65 years and over",
)
_AGE6_BASE = np.array([0.185, 0.105, 0.135, 0.195, 0.19, 0.19])

#: The default demo (550 areas) is about 60 km by 45 km; larger sizes scale it.
_BASE_AREAS = 550
_BASE_W = 60_000.0
_BASE_H = 45_000.0
_COAST_X = 555_000.0
_CENTRE_Y = 375_000.0
_MEAN_POP = 1_650.0

_SUFFIXES = (
    "ford", "by", "ton", "wick", "bury", "ham", "ley", "thorpe", "field", "worth",
    "stow", "well", "combe", "stead", "hurst", "borough", "dale", "wood", "cott", "mere",
)  # fmt: skip
_COMPASS = (
    "East",
    "North East",
    "North",
    "North West",
    "West",
    "South West",
    "South",
    "South East",
)
_MIDDLES = ("", "brook", "stone", "ash", "oak", "mill", "marsh", "kings", "church", "wold")
_PREFIXES = ("", "Great ", "Little ", "Upper ", "Lower ", "North ", "South ", "East ", "West ")


@dataclass(frozen=True)
class Place:
    """A settlement of the synthetic region (a Gaussian blob of population)."""

    name: str
    kind: str  # "city", "coastal_town", "market_town" or "village"
    x: float
    y: float
    share: float  # share of the region's population
    sigma: float  # spread in metres


@dataclass(frozen=True)
class DemoWorld:
    """Everything generated about the region, before it is written to files.

    Attributes
    ----------
    outline
        The region's outline polygon (EPSG:27700).
    places
        The settlements, city first.
    areas
        One row per small area: ``area_code, area_name, la_code, la_name,
        ward_code, ward_name, place, place_kind, near_place, population,
        age6_0..age6_5, imd_score, imd_rank, imd_decile, pwc_x, pwc_y,
        geometry``; ``place`` is "" in the countryside.
    las
        One row per authority: ``la_code, la_name, anchor, coastal,
        sicbl_code, sicbl_code_nhs, sicbl_name, hle_male`` (latest period).
    hle
        Published-style HLE: ``la_code, period, sex, value`` for three periods.
    """

    outline: shapely.Polygon
    places: tuple[Place, ...]
    areas: gpd.GeoDataFrame
    las: pd.DataFrame
    hle: pd.DataFrame


# --------------------------------------------------------------------------- outline


def _wavy_edge(
    p0: np.ndarray, p1: np.ndarray, amp: float, rng: np.random.Generator, n: int = 48
) -> np.ndarray:
    """Points from p0 to p1 (excluding p1), displaced sideways by smooth noise."""
    t = np.linspace(0.0, 1.0, n, endpoint=False)
    d = p1 - p0
    normal = np.array([d[1], -d[0]]) / np.hypot(*d)
    wave = np.zeros_like(t)
    for k in (1, 2, 3, 5):
        wave += rng.normal(0.0, 1.0 / k) * np.sin(np.pi * k * t + rng.uniform(0, 2 * np.pi))
    wave *= np.sin(np.pi * t)  # pinned at the corners
    return p0 + np.outer(t, d) + np.outer(amp * wave, normal)


def _outline(scale: float, rng: np.random.Generator) -> shapely.Polygon:
    w, h = _BASE_W * scale, _BASE_H * scale
    x0, x1 = _COAST_X - w, _COAST_X
    y0, y1 = _CENTRE_Y - h / 2, _CENTRE_Y + h / 2
    corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
    amps = (0.02 * h, 0.035 * w, 0.02 * h, 0.02 * w)  # the east edge (coast) is the wiggliest
    parts = [
        _wavy_edge(corners[i], corners[(i + 1) % 4], amps[i], rng, n=48 if i != 1 else 96)
        for i in range(4)
    ]
    poly = shapely.Polygon(np.vstack(parts))
    if poly.is_valid:
        return poly
    pieces = [
        q for q in shapely.get_parts(shapely.make_valid(poly)) if isinstance(q, shapely.Polygon)
    ]
    return max(pieces, key=lambda q: q.area)


# --------------------------------------------------------------------------- places


def _names(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` distinct fictional place names, all containing "Demo"."""
    plain = [f"Demo{suffix}" for suffix in _SUFFIXES]
    rest = [
        f"{prefix}Demo{middle}{suffix}"
        for prefix in _PREFIXES
        for middle in _MIDDLES
        for suffix in _SUFFIXES
        if prefix or middle
    ]
    pool = [plain[i] for i in rng.permutation(len(plain))]
    pool += [rest[i] for i in rng.permutation(len(rest))]
    repeat = 2
    while len(pool) < n:  # England-scale regions: number the names
        pool += [f"{name} {repeat}" for name in pool[: n - len(pool)]]
        repeat += 1
    return pool[:n]


def _inside_sample(poly: shapely.Geometry, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` uniform points inside ``poly``."""
    minx, miny, maxx, maxy = shapely.bounds(poly)
    pts: list[np.ndarray] = []
    got = 0
    while got < n:
        cand = rng.uniform((minx, miny), (maxx, maxy), size=(max(4 * (n - got), 16), 2))
        cand = cand[shapely.contains_xy(poly, cand[:, 0], cand[:, 1])]
        pts.append(cand)
        got += len(cand)
    return np.vstack(pts)[:n]


def _places(outline: shapely.Polygon, scale: float, rng: np.random.Generator) -> list[Place]:
    s2 = scale * scale
    n_city = max(1, round(s2))
    n_coast = max(1, round(scale))
    n_market = max(3, round(3 * s2))
    n_village = max(10, round(24 * s2))
    names = _names(rng, n_city + n_coast + n_market + n_village)
    total_pop = _BASE_AREAS * s2 * _MEAN_POP
    minx, miny, maxx, maxy = outline.bounds
    w, h = maxx - minx, maxy - miny

    centres: list[tuple[float, float]] = []

    def far_enough(x: float, y: float, gap: float) -> bool:
        if not centres:
            return True
        c = np.asarray(centres)
        return bool(np.all(np.hypot(c[:, 0] - x, c[:, 1] - y) >= gap))

    def place_points(k: int, gap: float, region: shapely.Geometry) -> list[tuple[float, float]]:
        chosen: list[tuple[float, float]] = []
        for _ in range(k):
            for attempt in range(200):
                x, y = _inside_sample(region, 1, rng)[0]
                if far_enough(x, y, gap * (0.97**attempt)):
                    break
            centres.append((float(x), float(y)))
            chosen.append((float(x), float(y)))
        return chosen

    inner = shapely.box(minx + 0.2 * w, miny + 0.2 * h, maxx - 0.35 * w, maxy - 0.2 * h)
    city_xy = place_points(n_city, 25_000.0, inner.intersection(outline))
    # coastal towns sit just inside the east edge, spread along it
    coast_xy: list[tuple[float, float]] = []
    for i in range(n_coast):
        y = miny + h * (i + 0.3 + 0.4 * rng.uniform()) / n_coast
        line = shapely.LineString([(minx, y), (maxx, y)]).intersection(outline)
        x = line.bounds[2] - 1_800.0
        centres.append((x, y))
        coast_xy.append((x, y))
    body = outline.buffer(-3_000.0)
    market_xy = place_points(n_market, 14_000.0, body)
    village_xy = place_points(n_village, 4_500.0, outline.buffer(-800.0))

    city_shares = rng.dirichlet(np.full(n_city, 4.0)) * 0.40
    coast_shares = rng.dirichlet(np.full(n_coast, 4.0)) * 0.09
    market_shares = rng.dirichlet(np.full(n_market, 6.0)) * 0.19
    village_shares = rng.dirichlet(np.full(n_village, 3.0)) * 0.10

    def sigma(share: float, base: float) -> float:
        return base * float(np.sqrt(share * total_pop / 100_000.0))

    places: list[Place] = []
    it = iter(names)
    city_names = ["Demochester", *(f"Demo{s}" for s in ("caster", "minster", "pool", "port"))]
    for i, (xy, sh) in enumerate(zip(city_xy, city_shares, strict=True)):
        name = city_names[i] if i < len(city_names) else f"{next(it)} City"
        places.append(Place(name, "city", *xy, float(sh), sigma(sh, 1_900.0)))
    for xy, sh in zip(coast_xy, coast_shares, strict=True):
        places.append(
            Place(next(it) + "-on-Sea", "coastal_town", *xy, float(sh), sigma(sh, 1_500.0))
        )
    for xy, sh in zip(market_xy, market_shares, strict=True):
        places.append(Place(next(it), "market_town", *xy, float(sh), sigma(sh, 1_500.0)))
    for xy, sh in zip(village_xy, village_shares, strict=True):
        places.append(Place(next(it), "village", *xy, float(sh), max(sigma(sh, 1_400.0), 350.0)))
    return places


def _density(
    xy: np.ndarray, places: list[Place], rural_share: float, outline_area: float
) -> np.ndarray:
    """Share of the population per square metre at each point."""
    dens = np.full(len(xy), rural_share / outline_area)
    tree = cKDTree(xy)
    for p in places:  # each place's Gaussian, cut off at 5 sigma
        idx = np.asarray(tree.query_ball_point((p.x, p.y), r=5.0 * p.sigma), dtype=np.int64)
        if not len(idx):
            continue
        d2 = (xy[idx, 0] - p.x) ** 2 + (xy[idx, 1] - p.y) ** 2
        dens[idx] += p.share * np.exp(-d2 / (2 * p.sigma**2)) / (2 * np.pi * p.sigma**2)
    return dens


# --------------------------------------------------------------------------- areas


def _seed_points(
    outline: shapely.Polygon, places: list[Place], n: int, rng: np.random.Generator
) -> np.ndarray:
    """Area generator points drawn from the population density, then spread apart."""
    shares = np.array([p.share for p in places])
    rural_share = 1.0 - shares.sum()
    probs = np.append(shares, rural_share)
    comp = rng.choice(len(probs), size=n, p=probs / probs.sum())
    pts = np.empty((n, 2))
    for k in range(len(places) + 1):
        idx = np.flatnonzero(comp == k)
        if not len(idx):
            continue
        if k == len(places):
            pts[idx] = _inside_sample(outline, len(idx), rng)
            continue
        p = places[k]
        out = idx
        while len(out):
            cand = rng.normal((p.x, p.y), p.sigma, size=(len(out), 2))
            ok = shapely.contains_xy(outline, cand[:, 0], cand[:, 1])
            pts[out[ok]] = cand[ok]
            out = out[~ok]
    # spread points that are much closer than the local spacing (fewer slivers)
    area = outline.area
    for _ in range(4):
        spacing = 1.0 / np.sqrt(_density(pts, places, rural_share, area) * n)
        dist, nb = cKDTree(pts).query(pts, k=2)
        d, j = dist[:, 1], nb[:, 1]
        push = np.clip(0.55 * spacing - d, 0.0, None) * 0.5
        direction = (pts - pts[j]) / np.maximum(d, 1e-9)[:, None]
        moved = pts + direction * push[:, None]
        ok = shapely.contains_xy(outline, moved[:, 0], moved[:, 1])
        pts[ok] = moved[ok]
    return pts


def _tessellate(outline: shapely.Polygon, pts: np.ndarray) -> np.ndarray:
    """Voronoi cells of ``pts`` clipped to ``outline``, in the order of ``pts``."""
    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=outline, ordered=True)
    )
    clipped = shapely.intersection(cells, outline)
    # keep the part holding the generator point if clipping split a cell
    for i in np.flatnonzero(shapely.get_type_id(clipped) != shapely.GeometryType.POLYGON):
        parts = [q for q in shapely.get_parts(clipped[i]) if q.geom_type == "Polygon"]
        hit = [q for q in parts if q.contains(shapely.Point(pts[i]))]
        clipped[i] = hit[0] if hit else max(parts, key=lambda q: q.area)
    return shapely.set_precision(clipped, 0.01)


def _morton(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Z-order key of points (16 bits per axis): nearby points get nearby keys."""

    def spread(v: np.ndarray) -> np.ndarray:
        v = v.astype(np.uint64) & np.uint64(0xFFFF)
        for shift, mask in ((8, 0x00FF00FF), (4, 0x0F0F0F0F), (2, 0x33333333), (1, 0x55555555)):
            v = (v | (v << np.uint64(shift))) & np.uint64(mask)
        return v

    def q(v: np.ndarray) -> np.ndarray:
        return np.floor((v - v.min()) / max(np.ptp(v), 1.0) * 65535.0)

    # north first, as ONS numbers MSOAs roughly from the north
    return spread(q(x)) | (spread(q(-y)) << np.uint64(1))


# --------------------------------------------------------------------------- attributes


def _smooth_field(xy: np.ndarray, rng: np.random.Generator, n_waves: int = 32) -> np.ndarray:
    """A smooth random field (random Fourier features), standardised."""
    wavelength = rng.uniform(6_000.0, 25_000.0, n_waves)
    theta = rng.uniform(0, 2 * np.pi, n_waves)
    k = (2 * np.pi / wavelength)[:, None] * np.column_stack([np.cos(theta), np.sin(theta)])
    phase = rng.uniform(0, 2 * np.pi, n_waves)
    f = np.cos(xy @ k.T + phase).sum(axis=1)
    return (f - f.mean()) / max(f.std(), 1e-9)


def _bump(xy: np.ndarray, p: Place, width: float) -> np.ndarray:
    d2 = (xy[:, 0] - p.x) ** 2 + (xy[:, 1] - p.y) ** 2
    return np.exp(-d2 / (2 * width**2))


def _place_of(xy: np.ndarray, places: list[Place]) -> tuple[np.ndarray, np.ndarray]:
    """Index of the place each point belongs to (within 2.5 sigma), or -1 for rural."""
    best = np.full(len(xy), -1)
    best_z = np.full(len(xy), 2.5)
    for i, p in enumerate(places):
        z = np.hypot(xy[:, 0] - p.x, xy[:, 1] - p.y) / p.sigma
        closer = z < best_z
        best[closer] = i
        best_z[closer] = z[closer]
    return best, best_z


def _deprivation(
    xy: np.ndarray, places: list[Place], member: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Latent deprivation (higher = more deprived), standardised."""
    # the smooth field varies more in towns than in the countryside
    in_town = np.array([places[m].kind != "village" if m >= 0 else False for m in member])
    z = np.where(in_town, 0.8, 0.45) * _smooth_field(xy, rng)
    for p in places:
        if p.kind == "city":
            z += 2.2 * _bump(xy, p, 0.55 * p.sigma)
            ring = np.hypot(xy[:, 0] - p.x, xy[:, 1] - p.y)
            z -= 0.8 * np.exp(-((ring - 1.7 * p.sigma) ** 2) / (2 * (0.5 * p.sigma) ** 2))
        elif p.kind == "coastal_town":
            z += 1.9 * _bump(xy, p, 1.1 * p.sigma)
        elif p.kind == "market_town":
            z += 0.6 * _bump(xy, p, 0.5 * p.sigma)
    z -= 0.35 * (member < 0)
    z += rng.normal(0.0, 0.35, len(xy))
    return (z - z.mean()) / max(z.std(), 1e-9) + 0.15


def _imd_from_latent(z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """National-like IMD score, rank (1 = most deprived) and decile from latent values."""
    n_nat = max(N_NATIONAL, len(z))
    order = np.argsort(-z, kind="stable")  # most deprived first
    raw = np.ceil((1.0 - ndtr(z[order])) * n_nat).astype(np.int64)
    raw = np.clip(raw, 1, n_nat)
    # distinct ranks: strictly increasing in deprivation order, within 1..n_nat
    i = np.arange(len(z))
    ranks_sorted = np.maximum.accumulate(raw - i) + i
    ranks_sorted = np.minimum(ranks_sorted, n_nat - (len(z) - 1 - i))
    rank = np.empty(len(z), dtype=np.int64)
    rank[order] = ranks_sorted
    decile = (rank - 1) * 10 // n_nat + 1
    q = np.clip(ndtri(1.0 - (rank - 0.5) / n_nat), -2.6, 3.4)
    score = np.round(17.0 * np.exp(0.5 * q), 3)
    return score, rank, decile


def _ages(
    pop: np.ndarray,
    xy: np.ndarray,
    places: list[Place],
    member: np.ndarray,
    dep: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Counts in the six Census age bands (rows sum to ``pop``)."""
    old = np.full(len(pop), 0.0)
    young = np.zeros(len(pop))
    old += 0.07 * (member < 0)
    for i, p in enumerate(places):
        if p.kind == "coastal_town":
            old += 0.09 * _bump(xy, p, 2.0 * p.sigma)
        elif p.kind == "city":
            core = _bump(xy, p, 0.6 * p.sigma)
            old -= 0.07 * core
            young += 0.08 * core
        elif p.kind == "village":
            old += 0.04 * (member == i)
    share = np.tile(_AGE6_BASE, (len(pop), 1))
    share[:, 5] = np.clip(share[:, 5] + old + rng.normal(0, 0.02, len(pop)), 0.05, 0.45)
    share[:, 0] = np.clip(share[:, 0] + 0.025 * dep, 0.08, 0.32)
    share[:, 1] += young * 0.6
    share[:, 2] += young * 0.4
    mid = share[:, 1:5]
    mid *= ((1.0 - share[:, 0] - share[:, 5]) / mid.sum(axis=1))[:, None]
    counts = np.vstack(
        [rng.multinomial(int(n), s / s.sum()) for n, s in zip(pop, share, strict=True)]
    )
    return counts


# --------------------------------------------------------------------------- authorities


def _assign_las(
    xy: np.ndarray, places: list[Place], n_las: int, rng: np.random.Generator
) -> np.ndarray:
    """Spatially coherent authorities: k-means seeded at the main places."""
    anchors = [np.array([p.x, p.y]) for p in places if p.kind != "village"][:n_las]
    d = np.min([np.hypot(*(xy - a).T) for a in anchors], axis=0)
    while len(anchors) < n_las:  # more authorities than towns: farthest points
        anchors.append(xy[int(np.argmax(d))])
        d = np.minimum(d, np.hypot(*(xy - anchors[-1]).T))
    centres = np.array(anchors, dtype=float)
    label = np.zeros(len(xy), dtype=np.int64)
    for _ in range(6):
        label = cKDTree(centres).query(xy)[1]
        for k in range(n_las):
            if np.any(label == k):
                centres[k] = xy[label == k].mean(axis=0)
    # relabel so that every authority is non-empty (steal the nearest areas)
    for k in range(n_las):
        if not np.any(label == k):
            d2 = ((xy - centres[k]) ** 2).sum(axis=1)
            label[np.argsort(d2)[:3]] = k
    return label


def _la_names(
    label: np.ndarray, member: np.ndarray, places: list[Place], xy: np.ndarray, n_las: int
) -> list[tuple[str, str, bool]]:
    """(name, anchor place, coastal?) per authority."""
    cx, cy = xy.mean(axis=0)
    out: list[tuple[str, str, bool]] = []
    used: set[str] = set()
    for k in range(n_las):
        sel = label == k
        ids, counts = np.unique(member[sel & (member >= 0)], return_counts=True)
        big = [i for i in ids if places[i].kind != "village"]
        anchor = (
            places[max(big, key=lambda i: places[i].share)]
            if big
            else (places[ids[np.argmax(counts)]] if len(ids) else None)
        )
        coastal = anchor is not None and anchor.kind == "coastal_town"
        if anchor is not None and anchor.kind == "city":
            name = anchor.name
        elif coastal and anchor is not None:
            name = f"{anchor.name.removesuffix('-on-Sea')} Coast"
        else:
            mx, my = xy[sel].mean(axis=0)
            ang = np.degrees(np.arctan2(my - cy, mx - cx)) % 360
            name = f"{_COMPASS[int(((ang + 22.5) % 360) // 45)]} Demoshire"
        if name in used:
            towns = [i for i in ids if places[i].kind in ("market_town", "village")]
            own = max(towns, key=lambda i: places[i].share) if towns else None
            name = f"{places[own].name if own is not None else 'Rural'} and District"
        k2 = 2
        base = name
        while name in used:
            name = f"{base} {k2}"
            k2 += 1
        used.add(name)
        out.append((name, anchor.name if anchor else "", coastal))
    return out


def _hle(
    las: pd.DataFrame, areas: pd.DataFrame, rng: np.random.Generator
) -> tuple[pd.DataFrame, np.ndarray]:
    """Published-style HLE per authority, three periods, male and female."""
    base = np.empty(len(las))
    for i, code in enumerate(las["la_code"]):
        sel = areas["la_code"] == code
        pop = areas.loc[sel, "population"].to_numpy(dtype=float)
        grad = HLE_GRADIENT_MALE[areas.loc[sel, "imd_decile"].to_numpy() - 1]
        base[i] = float(np.average(grad, weights=pop)) - 1.2 + rng.normal(0.0, 0.6)
    coastal = las["coastal"].to_numpy(dtype=bool)
    if coastal.any() and (~coastal).any():  # the coastal authorities have the lowest HLE
        base[coastal] = np.minimum(base[coastal], base[~coastal].min() - 1.0)
    base = np.clip(base, 56.0, 66.0)
    rows = []
    latest_male = np.round(base, 1)
    for i, la in enumerate(las.itertuples()):
        male = float(base[i])
        female = float(np.clip(male + rng.uniform(0.3, 1.6), 56.0, 67.0))
        for j, period in enumerate(("2020 - 22", "2021 - 23", "2022 - 24")):
            drift = (2 - j) * 0.25
            for sex, v in (("Male", male), ("Female", female)):
                value = v + drift + (rng.normal(0.0, 0.3) if j < 2 else 0.0)
                rows.append((la.la_code, period, sex, round(float(value), 1)))
    hle = pd.DataFrame(rows, columns=["la_code", "period", "sex", "value"])
    return hle, latest_male


# --------------------------------------------------------------------------- world


def make_world(*, seed: int, n_areas: int, n_las: int) -> DemoWorld:
    """Generate the synthetic region's geography and attributes.

    Parameters
    ----------
    seed
        Seed of the random generator; equal seeds give identical worlds.
    n_areas
        Number of small areas.
    n_las
        Number of local authorities.

    Returns
    -------
    DemoWorld
    """
    rng = np.random.default_rng([seed, 20_260_001])
    scale = float(np.sqrt(n_areas / _BASE_AREAS))
    outline = _outline(scale, rng)
    places = _places(outline, scale, rng)
    pts = _seed_points(outline, places, n_areas, rng)
    cells = _tessellate(outline, pts)
    member, _ = _place_of(pts, places)

    pop = np.round(rng.lognormal(np.log(_MEAN_POP), 0.22, n_areas))
    redraw = (pop < 1_050) | (pop > 2_950)
    while redraw.any():  # truncated log-normal: no pile-up at the limits
        pop[redraw] = np.round(rng.lognormal(np.log(_MEAN_POP), 0.22, int(redraw.sum())))
        redraw = (pop < 1_050) | (pop > 2_950)
    pop = pop.astype(np.int64)
    dep = _deprivation(pts, places, member, rng)
    score, rank, decile = _imd_from_latent(dep)
    ages = _ages(pop, pts, places, member, dep, rng)

    label = _assign_las(pts, places, n_las, rng)
    la_info = _la_names(label, member, places, pts, n_las)
    # authorities numbered by population size, largest first (city = X06000001)
    la_pop = np.bincount(label, weights=pop, minlength=n_las)
    la_order = np.argsort(-la_pop, kind="stable")
    la_rank = np.empty(n_las, dtype=np.int64)
    la_rank[la_order] = np.arange(n_las)
    la_codes = np.array([f"X06{r + 1:06d}" for r in la_rank])
    la_names = np.array([la_info[k][0] for k in range(n_las)])

    frame = pd.DataFrame(
        {
            "la_code": la_codes[label],
            "la_name": la_names[label],
            "place": [places[m].name if m >= 0 else "" for m in member],
            "place_kind": [places[m].kind if m >= 0 else "rural" for m in member],
            "population": pop,
            "imd_score": score,
            "imd_rank": rank,
            "imd_decile": decile,
            "pwc_x": np.round(pts[:, 0], 1),
            "pwc_y": np.round(pts[:, 1], 1),
            "morton": _morton(pts[:, 0], pts[:, 1]),
        }
    )
    for b in range(6):
        frame[f"age6_{b}"] = ages[:, b]
    frame["geometry"] = cells
    # rural areas take the name of the nearest place for labels
    nearest = cKDTree([(p.x, p.y) for p in places]).query(pts)[1]
    frame["near_place"] = [places[i].name for i in nearest]

    # ONS-like naming: "<LA> 001A"; codes numbered in that order
    frame = frame.sort_values(["la_code", "morton"], kind="stable").reset_index(drop=True)
    msoa = np.zeros(len(frame), dtype=np.int64)
    letter = np.zeros(len(frame), dtype=np.int64)
    for _, idx in frame.groupby("la_code", sort=True).indices.items():
        grp = np.arange(len(idx)) // 5
        if len(idx) % 5 and len(idx) > 5 and len(idx) % 5 < 3:
            grp = np.minimum(grp, grp.max() - 1)  # no tiny last group
        msoa[idx] = grp + 1
        letter[idx] = np.concatenate([np.arange(c) for c in np.bincount(grp)])
    frame["area_name"] = [
        f"{la} {m:03d}{chr(ord('A') + lt)}"
        for la, m, lt in zip(frame["la_name"], msoa, letter, strict=True)
    ]
    frame["area_code"] = [f"X01{i + 1:06d}" for i in range(len(frame))]
    ward_keys = pd.Series(list(zip(frame["la_code"], msoa, strict=True)))
    ward_idx = pd.factorize(ward_keys)[0]
    frame["ward_code"] = [f"X05{i + 1:06d}" for i in ward_idx]
    frame["ward_name"] = [
        f"{place or near} {m:03d}"
        for place, near, m in zip(frame["place"], frame["near_place"], msoa, strict=True)
    ]
    # one ward name per ward code (the first area's)
    frame["ward_name"] = frame.groupby("ward_code")["ward_name"].transform("first")
    areas = gpd.GeoDataFrame(frame.drop(columns="morton"), geometry="geometry", crs="EPSG:27700")

    las = pd.DataFrame(
        {
            "la_code": la_codes,
            "la_name": la_names,
            "anchor": [la_info[k][1] for k in range(n_las)],
            "coastal": [la_info[k][2] for k in range(n_las)],
        }
    ).sort_values("la_code", ignore_index=True)
    las["sicbl_code"] = [f"X38{i + 1:06d}" for i in range(len(las))]
    las["sicbl_code_nhs"] = [f"X{i + 1:02d}" for i in range(len(las))]
    las["sicbl_name"] = [f"NHS Demoshire ICB - X{i + 1:02d}" for i in range(len(las))]
    hle, latest_male = _hle(las, areas, rng)
    las["hle_male"] = latest_male
    return DemoWorld(outline=outline, places=tuple(places), areas=areas, las=las, hle=hle)


# --------------------------------------------------------------------------- sites

_GP_SUFFIXES = ("MEDICAL CENTRE", "SURGERY", "HEALTH CENTRE", "FAMILY PRACTICE", "GROUP PRACTICE")
_PHARMACY_NAMES = ("Pharmacy", "Chemist", "Dispensary", "Healthcare Pharmacy")
_COMMUNITY = ("Library", "Leisure Centre", "Community Centre", "Civic Hall")


def _points_in_areas(
    areas: gpd.GeoDataFrame, idx: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """One point per entry of ``idx`` inside that area, near its populated core."""
    geoms = areas.geometry.to_numpy()[idx]
    centre = areas[["pwc_x", "pwc_y"]].to_numpy(dtype=float)[idx]
    spread = 0.35 * np.sqrt(shapely.area(geoms))
    out = centre.copy()
    todo = np.arange(len(idx))
    for _ in range(30):
        if not len(todo):
            break
        cand = centre[todo] + rng.normal(0.0, 1.0, (len(todo), 2)) * spread[todo, None]
        ok = shapely.contains_xy(geoms[todo], cand[:, 0], cand[:, 1])
        out[todo[ok]] = cand[ok]
        todo = todo[~ok]
    return np.round(out, 1)  # leftovers stay at the centroid, which is inside its cell


def make_sites(
    world: DemoWorld, *, n_sites: int | None, rng: np.random.Generator
) -> dict[str, pd.DataFrame]:
    """Existing sites by kind: ``gp``, ``hospital``, ``pharmacy``, ``community``.

    Each frame has ``code, name, place, x, y, area_index`` plus kind-specific
    flags (``open`` for GP practices, ``visible`` for pharmacies).
    """
    areas = world.areas
    total = int(areas["population"].sum())
    n_total = n_sites if n_sites is not None else max(20, round(total / 5_000))
    kind = areas["place_kind"].to_numpy()
    urban = np.isin(kind, ("city", "coastal_town", "market_town"))
    label = np.where(areas["place"] == "", areas["near_place"], areas["place"]).astype(str)
    pop = areas["population"].to_numpy(dtype=float)

    hospitals_at = [p for p in world.places if p.kind == "city"]
    towns = sorted(
        (p for p in world.places if p.kind in ("market_town", "coastal_town")),
        key=lambda p: -p.share,
    )
    hospitals_at += towns[: max(1, len(hospitals_at))]
    hospitals_at = hospitals_at[: max(1, min(len(hospitals_at), n_total // 50 + 1))]
    n_h = len(hospitals_at)
    n_rest = max(n_total - n_h, 3)
    n_gp = round(0.52 * n_rest)
    n_ph = round(0.32 * n_rest)
    n_cb = max(1, n_rest - n_gp - n_ph)

    def pick(n: int, weight: np.ndarray) -> np.ndarray:
        return np.sort(rng.choice(len(areas), size=n, replace=True, p=weight / weight.sum()))

    out: dict[str, pd.DataFrame] = {}
    # GP practices: proportional to people; plus a few closed or non-GP records (filtered)
    n_gp_records = n_gp + max(1, round(0.08 * n_gp))
    gi = pick(n_gp_records, pop)
    gxy = _points_in_areas(areas, gi, rng)
    is_open = np.ones(n_gp_records, dtype=bool)
    is_open[rng.choice(n_gp_records, size=n_gp_records - n_gp, replace=False)] = False
    out["gp"] = pd.DataFrame(
        {
            "code": [f"XG{i + 1:04d}" for i in range(n_gp_records)],
            "name": [
                f"{label[a].upper()} {_GP_SUFFIXES[rng.integers(len(_GP_SUFFIXES))]}" for a in gi
            ],
            "place": label[gi],
            "x": gxy[:, 0],
            "y": gxy[:, 1],
            "area_index": gi,
            "open": is_open,
            "closed_not_other": rng.uniform(size=n_gp_records) < 0.5,
        }
    )
    # hospitals: at the city centre(s) and the largest town(s)
    centres = np.array([[p.x, p.y] for p in hospitals_at])
    hi = cKDTree(areas[["pwc_x", "pwc_y"]].to_numpy(dtype=float)).query(centres)[1]
    hxy = _points_in_areas(areas, hi, rng)
    out["hospital"] = pd.DataFrame(
        {
            "code": [f"XH{i + 1:03d}" for i in range(n_h)],
            "name": [f"{p.name} General Hospital" for p in hospitals_at],
            "place": [p.name for p in hospitals_at],
            "x": hxy[:, 0],
            "y": hxy[:, 1],
            "area_index": hi,
        }
    )
    # pharmacies: people, leaning to towns; one hidden record (filtered)
    pi = pick(n_ph + 1, pop * (1.0 + urban))
    pxy = _points_in_areas(areas, pi, rng)
    visible = np.ones(n_ph + 1, dtype=bool)
    visible[rng.integers(n_ph + 1)] = False
    out["pharmacy"] = pd.DataFrame(
        {
            "code": [f"XF{i + 1:04d}" for i in range(n_ph + 1)],
            "name": [
                f"{label[a]} {_PHARMACY_NAMES[rng.integers(len(_PHARMACY_NAMES))]}" for a in pi
            ],
            "place": label[pi],
            "x": pxy[:, 0],
            "y": pxy[:, 1],
            "area_index": pi,
            "visible": visible,
        }
    )
    # community buildings (possible NHC sites): mostly in towns
    ci = pick(n_cb, pop * (0.3 + urban))
    cxy = _points_in_areas(areas, ci, rng)
    out["community"] = pd.DataFrame(
        {
            "code": [f"XC{i + 1:04d}" for i in range(n_cb)],
            "name": [f"{label[a]} {_COMMUNITY[rng.integers(len(_COMMUNITY))]}" for a in ci],
            "place": label[ci],
            "x": cxy[:, 0],
            "y": cxy[:, 1],
            "area_index": ci,
            "max_rooms": rng.choice([4, 6, 8, 10, 12], size=n_cb),
        }
    )
    return out
