"""``python -m nhc_planner``: the same command line as ``nhc-planner``."""

from __future__ import annotations

import sys

from nhc_planner.cli import main

if __name__ == "__main__":
    sys.exit(main())
