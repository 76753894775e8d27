"""The travel standard in a planner's words, for the app and the report.

"reachable by bus within 30 minutes for at least 8 departures in 10 between
8am and 8pm": the transit engine's percentile *p* over the window's
departures (one a minute) is within the standard exactly when at least *p*
in 100 of those departures arrive within it (nearest-rank percentile, see
``docs/transit.md``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nhc_planner.scenario import TravelSettings

__all__ = ["clock_words", "departures_words", "mode_phrase", "standard_sentence", "window_words"]

_DEFAULT_WINDOW = "08:00-20:00"

_PHRASES = {
    "drive": "by car",
    "walk": "on foot",
    "cycle": "by bicycle",
    "transit": "by bus or on foot",
    "mixed": "by car for households with one, by bus or on foot for those without",
}


def mode_phrase(mode: str) -> str:
    """``"drive"`` -> ``"by car"``; ``"transit"`` -> ``"by bus or on foot"``; others by name."""
    return _PHRASES.get(mode, f"by {mode.replace('_', ' ')}")


def clock_words(hhmm: str) -> str:
    """``"08:00"`` -> ``"8am"``, ``"20:30"`` -> ``"8:30pm"``, ``"12:00"`` -> ``"noon"``.

    Examples
    --------
    >>> [clock_words(t) for t in ("08:00", "20:30", "12:00", "00:00", "25:15")]
    ['8am', '8:30pm', 'noon', 'midnight', '1:15am (next day)']
    """
    h, m = (int(x) for x in str(hhmm).strip().split(":"))
    later = " (next day)" if h >= 24 else ""
    h %= 24
    if m == 0 and h == 12:
        return "noon"
    if m == 0 and h == 0:
        return "midnight" + later
    suffix = "am" if h < 12 else "pm"
    hour = h % 12 or 12
    return (f"{hour}{suffix}" if m == 0 else f"{hour}:{m:02d}{suffix}") + later


def window_words(window: str | None) -> str:
    """``"08:00-20:00"`` -> ``"between 8am and 8pm"`` (default window when None)."""
    start, end = (p.strip() for p in (window or _DEFAULT_WINDOW).split("-"))
    return f"between {clock_words(start)} and {clock_words(end)}"


def departures_words(percentile: float | None) -> str:
    """Percentile -> ``"at least 8 departures in 10"`` (``"at least half the departures"`` for 50).

    Examples
    --------
    >>> departures_words(80), departures_words(None), departures_words(95)
    ('at least 8 departures in 10', 'at least half the departures', 'at least 19 departures in 20')
    """
    p = 50.0 if percentile is None else float(percentile)
    if p == 50:
        return "at least half the departures"
    for d in (10, 20, 100):
        n = p * d / 100
        if abs(n - round(n)) < 1e-9:
            return f"at least {round(n)} departures in {d}"
    return f"at least {p:g}% of departures"


def standard_sentence(settings: TravelSettings) -> str:
    """The access standard in a planner's words for ``settings`` (``scenario.travel``).

    Examples
    --------
    >>> from nhc_planner.scenario import TravelSettings
    >>> standard_sentence(TravelSettings(mode="drive", standard_min=15))
    'within 15 minutes by car'
    """
    mins = f"{settings.standard_min:g} minutes"
    mode = settings.mode
    timetable = getattr(settings, "transit_feed", None) is not None
    if timetable:
        when = (
            f"for {departures_words(settings.transit_percentile)} "
            f"{window_words(settings.transit_window)}"
        )
        if settings.transit_day:
            when += f" on {_day_words(settings.transit_day)}"
    else:
        when = "(published public transport matrix)"
    if mode == "transit":
        return (
            f"reachable by bus within {mins} {when}"
            if timetable
            else f"within {mins} by bus {when}"
        )
    if mode == "mixed":
        return (
            f"households with a car within {mins}' drive; households without one reachable by "
            f"bus or on foot within {mins} {when}"
        )
    return f"within {mins} {mode_phrase(mode)}"


def _day_words(day: str) -> str:
    import datetime as dt

    try:
        d = dt.date.fromisoformat(day)
    except ValueError:
        return day
    return f"{d:%A} {d.day} {d:%B %Y}"
