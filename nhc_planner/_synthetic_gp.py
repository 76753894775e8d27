"""A synthetic GP registrations file in NHS England's official LSOA layout.

No real registrations file is kept offline, so the demo region and the Leeds
tests write one: each small area's residents, inflated by ``inflation``
(registered lists run about 10% above the resident population), are shared
between the practices nearest to it, nearer practices taking more (weights
``1 / (1 + d / 1 km)^2`` over the ``n_nearest`` practices, jittered by a seeded
generator), and split into male and female. The file is labelled synthetic in
its ``PUBLICATION`` column (``GP_PRAC_PAT_LIST_SYNTHETIC``) and must never be
taken for NHS England data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from nhc_planner._csv import write_csv
from nhc_planner.sources.registrations import REGISTRATION_COLUMNS

__all__ = ["synthetic_gp_registrations", "write_synthetic_gp_registrations"]

#: The ``PUBLICATION`` value of every synthetic row.
SYNTHETIC_PUBLICATION = "GP_PRAC_PAT_LIST_SYNTHETIC"


def synthetic_gp_registrations(
    practices: pd.DataFrame,
    areas: pd.DataFrame,
    *,
    seed: int = 0,
    inflation: float = 1.1,
    n_nearest: int = 3,
    extract_date: str = "01OCT2025",
    by_sex: bool = True,
) -> pd.DataFrame:
    """Synthetic registrations, practice x LSOA x sex, in the official columns.

    Parameters
    ----------
    practices
        ``site_id``, ``name`` and BNG ``x``, ``y`` of each GP practice.
    areas
        ``area_code``, ``population``, ``demand_x``, ``demand_y``.
    seed
        Seed of the jitter.
    inflation
        Registered patients per resident (list inflation).
    n_nearest
        Practices sharing each area's patients.
    extract_date
        The ``EXTRACT_DATE`` value.
    by_sex
        ``MALE``/``FEMALE`` rows (the male-female file) rather than ``ALL`` rows.

    Returns
    -------
    pandas.DataFrame
        :data:`~nhc_planner.sources.registrations.REGISTRATION_COLUMNS`,
        whole-number counts, sorted by practice, LSOA and sex.
    """
    rng = np.random.default_rng(seed)
    px, py = practices["x"].to_numpy(float), practices["y"].to_numpy(float)
    ax, ay = areas["demand_x"].to_numpy(float), areas["demand_y"].to_numpy(float)
    k = max(1, min(n_nearest, len(px)))
    rows: list[tuple[str, str, str, str, int]] = []
    codes = practices["site_id"].astype(str).to_numpy()
    names = practices["name"].astype(str).str.upper().to_numpy()
    for i, code in enumerate(areas["area_code"].astype(str)):
        d = np.hypot(px - ax[i], py - ay[i])
        near = np.argsort(d, kind="stable")[:k]
        w = rng.uniform(0.7, 1.3, size=k) / (1.0 + d[near] / 1000.0) ** 2
        total = float(areas["population"].iloc[i]) * inflation
        counts = np.floor(total * w / w.sum()).astype(int)
        for j, n in zip(near, counts, strict=True):
            if n <= 0:
                continue
            if by_sex:
                male = int(rng.binomial(n, 0.49))
                rows.append((codes[j], names[j], code, "MALE", male))
                rows.append((codes[j], names[j], code, "FEMALE", int(n) - male))
            else:
                rows.append((codes[j], names[j], code, "ALL", int(n)))
    frame = pd.DataFrame(
        rows, columns=["PRACTICE_CODE", "PRACTICE_NAME", "LSOA_CODE", "SEX", "NUMBER_OF_PATIENTS"]
    )
    keys = ["PRACTICE_CODE", "PRACTICE_NAME", "LSOA_CODE", "SEX"]
    frame = frame.groupby(keys, sort=True)["NUMBER_OF_PATIENTS"].sum().reset_index()
    frame.insert(0, "EXTRACT_DATE", extract_date)
    frame.insert(0, "PUBLICATION", SYNTHETIC_PUBLICATION)
    return frame[list(REGISTRATION_COLUMNS)].reset_index(drop=True)


def write_synthetic_gp_registrations(path: str | Path, frame: pd.DataFrame) -> Path:
    """Write :func:`synthetic_gp_registrations` output as CSV, atomically."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    return write_csv(frame, p)
