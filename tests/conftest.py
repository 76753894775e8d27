"""Shared pytest configuration."""

from __future__ import annotations

import os

# Tests never touch the network or a display.
os.environ.setdefault("MPLBACKEND", "Agg")
