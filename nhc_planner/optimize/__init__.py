"""Array-level OR-Tools facility-location models."""
