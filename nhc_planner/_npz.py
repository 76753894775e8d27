"""Cache entries as checksummed ``.npz`` files that cannot run code.

A cache entry is a set of named NumPy arrays (numbers, booleans, fixed-width
text; never ``object`` arrays) plus a JSON-able ``meta`` dict, written with
:func:`numpy.savez` and read with ``allow_pickle=False``, so a crafted file
can at worst be refused. A SHA-256 over every array's name, dtype, shape and
bytes and over ``meta`` is stored with them and checked on reading: flipped
bytes, truncation or a mixed entry give
:class:`~nhc_planner._errors.CorruptFileError`. Callers discard such an
entry, log a warning and rebuild it (:func:`load_or_none`).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from nhc_planner._atomic import atomic_write_bytes
from nhc_planner._errors import CorruptFileError, ValueRangeError

__all__ = ["load_npz", "load_or_none", "save_npz"]

log = logging.getLogger("nhc_planner.cache")

_META = "__meta__"
_SUM = "__sha256__"


def _digest(arrays: dict[str, np.ndarray], meta_bytes: bytes) -> bytes:
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}\n".encode())
        h.update(a.tobytes())
    h.update(meta_bytes)
    return h.hexdigest().encode("ascii")


def arrays_of(payload: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``payload`` without the metadata and checksum entries."""
    return {k: v for k, v in payload.items() if k not in (_META, _SUM)}


def save_npz(path: str | Path, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> Path:
    """Write ``arrays`` and ``meta`` to ``path`` with a checksum, atomically.

    Raises
    ------
    ValueRangeError
        An array has ``object`` dtype (it would need pickle).
    """
    for name, a in arrays.items():
        if np.asarray(a).dtype.hasobject:
            msg = f"cache array {name!r} has object dtype; convert it (no pickles in caches)"
            raise ValueRangeError(msg)
    meta_bytes = json.dumps(meta, sort_keys=True, separators=(",", ":")).encode("utf-8")
    payload = {k: np.asarray(v) for k, v in arrays.items()}
    buffer = io.BytesIO()

    payload[_META] = np.frombuffer(meta_bytes, dtype=np.uint8)
    payload[_SUM] = np.frombuffer(_digest(arrays_of(payload), meta_bytes), dtype=np.uint8)
    savez: Any = np.savez  # keyword arrays (the stubs type the keywords as options)
    savez(buffer, **payload)
    return atomic_write_bytes(path, buffer.getvalue())


def load_npz(path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read an entry written by :func:`save_npz`; check its checksum.

    Raises
    ------
    CorruptFileError
        Not an npz, truncated, holds pickled objects, or the checksum differs.
    """
    p = Path(path)
    try:
        with np.load(p, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except Exception as exc:  # zipfile and numpy raise many kinds on damaged bytes
        msg = f"{p}: cache entry is not a readable npz file ({type(exc).__name__}: {exc})"
        raise CorruptFileError(msg) from exc
    if _META not in arrays or _SUM not in arrays:
        msg = f"{p}: cache entry has no checksum (not written by nhc-planner)"
        raise CorruptFileError(msg)
    meta_bytes = arrays.pop(_META).tobytes()
    stored = arrays.pop(_SUM).tobytes()
    if _digest(arrays, meta_bytes) != stored:
        msg = f"{p}: cache entry does not match its checksum (damaged or changed)"
        raise CorruptFileError(msg)
    try:
        meta = json.loads(meta_bytes.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:  # pragma: no cover - checksummed
        msg = f"{p}: cache entry metadata is not JSON"
        raise CorruptFileError(msg) from exc
    return arrays, meta


def load_or_none(path: Path, what: str) -> tuple[dict[str, np.ndarray], dict[str, Any]] | None:
    """:func:`load_npz`, or None (after deleting the file and logging a warning) if it is bad.

    A missing file gives None silently.
    """
    if not path.is_file():
        return None
    try:
        return load_npz(path)
    except CorruptFileError as exc:
        discard(path, what, str(exc))
        return None


def discard(path: Path, what: str, why: str) -> None:
    """Delete a bad cache entry and log a warning saying it will be rebuilt."""
    log.warning("discarding the cached %s and rebuilding it: %s", what, why)
    with contextlib.suppress(OSError):
        path.unlink()
