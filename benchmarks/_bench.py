"""What every benchmark script shares: the machine's load, a matrix's digest, the results file.

The scripts run as ``python benchmarks/bench_x.py``, so this folder is first on
``sys.path`` and ``import _bench`` finds this module.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from nhc_planner._atomic import atomic_write_text

__all__ = ["load_text", "matrix_digest", "read_sources", "table", "write_results"]


def load_text() -> str:
    """The 1, 5 and 15-minute load averages, e.g. ``"1.0 / 2.1 / 2.4"``."""
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def matrix_digest(a: np.ndarray, n: int = 12) -> str:
    """First ``n`` hex digits of the SHA-256 of ``a`` (C order, as stored)."""
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()[:n]


def table(
    rows: Sequence[dict[str, object]], cell: Callable[[str, object], str] = lambda k, v: str(v)
) -> list[str]:
    """Markdown lines of ``rows`` (dicts with the same keys; ``cell(key, value)`` formats)."""
    head = list(rows[0]) if rows else []
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return lines + ["| " + " | ".join(cell(k, v) for k, v in row.items()) + " |" for row in rows]


def write_results(out: str | Path, lines: Sequence[str]) -> Path:
    """Write the Markdown results file atomically (a reader never sees half of it)."""
    path = atomic_write_text(out, "\n".join(lines).rstrip("\n") + "\n")
    print(f"wrote {path}")
    return path


@functools.cache
def read_sources(folder: Path) -> dict[str, str]:
    """``folder/sources.txt``: ``name.txt  where it came from`` per line -> {name: origin}.

    Read once per folder (the scripts ask per instance).
    """
    path = folder / "sources.txt"
    if not path.exists():
        return {}
    out = {}
    for line in path.read_text().splitlines():
        name, _, origin = line.strip().partition(" ")
        if name and not name.startswith("#"):
            out[Path(name).stem] = origin.strip()
    return out
