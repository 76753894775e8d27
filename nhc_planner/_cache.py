"""Where nhc-planner keeps what it builds or downloads once and reuses."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["CACHE_ENV", "cache_root"]

#: Environment variable that moves every cache of nhc-planner.
CACHE_ENV = "NHC_CACHE_DIR"


def cache_root() -> Path:
    """``$NHC_CACHE_DIR`` if set, else ``~/.cache/nhc-planner``.

    Road networks and demo regions are cached directly below it; downloads go
    to its ``downloads`` folder (see :func:`nhc_planner.download.default_cache_dir`).
    """
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "nhc-planner"
