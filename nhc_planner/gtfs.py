"""Read a GTFS timetable (zip or folder) into arrays for one service date.

Reads the files the Bus Open Data Service and operators publish:
``stops.txt``, ``routes.txt``, ``trips.txt``, ``stop_times.txt`` (times past
24:00 allowed), ``calendar.txt`` and/or ``calendar_dates.txt``,
``frequencies.txt`` (expanded into one trip per headway) and
``transfers.txt`` when present. Only the trips whose service runs on the
chosen date are kept. Stops are projected to British National Grid
(EPSG:27700) metres.

The result, :class:`GtfsFeed`, is what the range-RAPTOR engine
(:mod:`nhc_planner._raptor`) reads: stops with x/y, and *patterns* — trips
grouped by identical stop sequence and split further so that no trip of a
pattern overtakes another (RAPTOR's route scan needs that) — with each trip's
arrival and departure seconds after midnight of the service date.

Every problem raises :class:`~nhc_planner.GtfsError` naming the feed, the
file, the column and the 1-based data row (header excluded).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from nhc_planner._errors import GtfsError

__all__ = ["GtfsFeed", "parse_gtfs_time", "read_gtfs", "service_ids_on"]

_REQUIRED: dict[str, tuple[str, ...]] = {
    "stops.txt": ("stop_id", "stop_lat", "stop_lon"),
    "routes.txt": ("route_id",),
    "trips.txt": ("route_id", "service_id", "trip_id"),
    "stop_times.txt": ("trip_id", "arrival_time", "departure_time", "stop_id", "stop_sequence"),
    "calendar.txt": (
        "service_id",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "start_date",
        "end_date",
    ),
    "calendar_dates.txt": ("service_id", "date", "exception_type"),
    "frequencies.txt": ("trip_id", "start_time", "end_time", "headway_secs"),
    "transfers.txt": ("from_stop_id", "to_stop_id", "transfer_type"),
}
_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True, eq=False)
class GtfsFeed:
    """A GTFS feed's timetable for one service date, as arrays.

    Attributes
    ----------
    source
        The feed path, for messages.
    service_date
        The date whose services were kept.
    stop_ids
        GTFS ``stop_id`` of each stop (index = stop number).
    stop_xy
        ``(n_stops, 2)`` BNG x/y metres.
    pattern_stop_ptr
        CSR pointer (``n_patterns + 1``) into :attr:`pattern_stops`.
    pattern_stops
        Stop numbers of each pattern, in travel order.
    pattern_trip_ptr
        CSR pointer (``n_patterns + 1``) into the trips (:attr:`trip_ids`).
        The trips of a pattern are in departure order and never overtake.
    trip_time_ptr
        Start of each trip's times in :attr:`arrival` / :attr:`departure`
        (``n_trips + 1``); a trip has one time per stop of its pattern.
    arrival, departure
        Seconds after midnight of the service date (``int64``; past 86,400
        for times past 24:00).
    trip_ids
        GTFS ``trip_id`` of each trip (``"<trip_id>@<start>"`` for a trip
        expanded from ``frequencies.txt``).
    pattern_route_ids
        GTFS ``route_id`` of each pattern.
    transfers
        ``(from_stop, to_stop, seconds)`` rows from ``transfers.txt``
        (``transfer_type`` 0-2; type 3, "not possible", is dropped), as
        ``int64`` arrays; ``seconds`` is ``min_transfer_time`` rounded up,
        ``-1`` where it is empty; a row may join a stop to itself (a minimum
        change time at that stop). Empty when the feed has none.
    """

    source: str
    service_date: dt.date
    stop_ids: tuple[str, ...]
    stop_xy: np.ndarray
    pattern_stop_ptr: np.ndarray
    pattern_stops: np.ndarray
    pattern_trip_ptr: np.ndarray
    trip_time_ptr: np.ndarray
    arrival: np.ndarray
    departure: np.ndarray
    trip_ids: tuple[str, ...]
    pattern_route_ids: tuple[str, ...]
    transfers: tuple[np.ndarray, np.ndarray, np.ndarray]

    @property
    def n_stops(self) -> int:
        """Number of stops."""
        return len(self.stop_ids)

    @property
    def n_patterns(self) -> int:
        """Number of patterns (RAPTOR routes)."""
        return len(self.pattern_stop_ptr) - 1

    @property
    def n_trips(self) -> int:
        """Number of trips running on the service date."""
        return len(self.trip_ids)


def parse_gtfs_time(values: pd.Series, *, where: str) -> np.ndarray:
    """``H:MM:SS`` / ``HH:MM:SS`` strings (hours may pass 24) to seconds (``int64``).

    Empty values become ``-1`` (the caller decides what they mean).

    Raises
    ------
    GtfsError
        A value is not ``H:MM:SS`` with minutes and seconds below 60; the
        message names ``where`` and the first bad row.
    """
    text = values.fillna("").astype(str).str.strip()
    parts = text.str.extract(r"^(\d{1,3}):(\d{2}):(\d{2})$")
    empty = (text == "").to_numpy()
    bad = parts[0].isna().to_numpy() & ~empty
    nums = parts.fillna("0").astype(np.int64).to_numpy()
    bad |= (nums[:, 1] >= 60) | (nums[:, 2] >= 60)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        msg = f"{where}, row {i + 1}: cannot read time {text.iloc[i]!r}; expected H:MM:SS"
        raise GtfsError(msg)
    out = nums[:, 0] * 3600 + nums[:, 1] * 60 + nums[:, 2]
    out[empty] = -1
    return np.asarray(out, dtype=np.int64)


class _Reader:
    """Opens the feed's files from a zip or a folder, as text tables."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if self.path.is_dir():
            self.names = {p.name for p in self.path.iterdir() if p.is_file()}
            self.zip: zipfile.ZipFile | None = None
        elif self.path.is_file():
            try:
                self.zip = zipfile.ZipFile(self.path)
            except zipfile.BadZipFile as exc:
                msg = f"GTFS feed {self.path}: not a zip file or a folder ({exc})"
                raise GtfsError(msg) from exc
            # Some publishers put the files in a folder inside the zip.
            self.members = {Path(n).name: n for n in self.zip.namelist() if not n.endswith("/")}
            self.names = set(self.members)
        else:
            msg = f"GTFS feed {self.path}: no such file or folder"
            raise GtfsError(msg)

    def has(self, name: str) -> bool:
        return name in self.names

    def read(self, name: str) -> pd.DataFrame:
        """The table ``name`` as strings, required columns checked."""
        where = f"GTFS feed {self.path}: {name}"
        if not self.has(name):
            msg = f"{where} is missing; a GTFS feed needs {name}"
            raise GtfsError(msg)
        if self.zip is not None:
            raw = self.zip.read(self.members[name])
        else:
            raw = (self.path / name).read_bytes()
        try:
            text = raw.decode("utf-8-sig")
            frame = pd.read_csv(
                io.StringIO(text),
                dtype=str,
                keep_default_na=False,
                skipinitialspace=True,
                quoting=csv.QUOTE_MINIMAL,
            )
        except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            msg = f"{where}: cannot be read as UTF-8 CSV ({exc})"
            raise GtfsError(msg) from exc
        frame.columns = [str(c).strip() for c in frame.columns]
        missing = [c for c in _REQUIRED.get(name, ()) if c not in frame.columns]
        if missing:
            msg = f"{where}: missing column(s) {missing}; found {list(frame.columns)}"
            raise GtfsError(msg)
        return frame


def _date(text: str, *, where: str) -> dt.date:
    try:
        return dt.datetime.strptime(text.strip(), "%Y%m%d").date()
    except ValueError as exc:
        msg = f"{where}: cannot read date {text!r}; expected YYYYMMDD"
        raise GtfsError(msg) from exc


def service_ids_on(feed_path: str | Path, day: dt.date) -> frozenset[str]:
    """The ``service_id`` values running on ``day`` (``calendar`` + ``calendar_dates``)."""
    return _services(_Reader(feed_path), day)


def _services(reader: _Reader, day: dt.date) -> frozenset[str]:
    if not reader.has("calendar.txt") and not reader.has("calendar_dates.txt"):
        msg = f"GTFS feed {reader.path}: calendar.txt and calendar_dates.txt are both missing"
        raise GtfsError(msg)
    active: set[str] = set()
    if reader.has("calendar.txt"):
        cal = reader.read("calendar.txt")
        where = f"GTFS feed {reader.path}: calendar.txt"
        weekday = _DAYS[day.weekday()]
        for i, row in enumerate(cal.itertuples(index=False), start=1):
            start = _date(str(row.start_date), where=f"{where}, column start_date, row {i}")
            end = _date(str(row.end_date), where=f"{where}, column end_date, row {i}")
            flag = str(getattr(row, weekday)).strip()
            if flag not in ("0", "1"):
                msg = f"{where}, column {weekday}, row {i}: expected 0 or 1; found {flag!r}"
                raise GtfsError(msg)
            if start <= day <= end and flag == "1":
                active.add(str(row.service_id))
    if reader.has("calendar_dates.txt"):
        cd = reader.read("calendar_dates.txt")
        where = f"GTFS feed {reader.path}: calendar_dates.txt"
        for i, row in enumerate(cd.itertuples(index=False), start=1):
            if _date(str(row.date), where=f"{where}, column date, row {i}") != day:
                continue
            kind = str(row.exception_type).strip()
            if kind == "1":
                active.add(str(row.service_id))
            elif kind == "2":
                active.discard(str(row.service_id))
            else:
                msg = f"{where}, column exception_type, row {i}: expected 1 or 2; found {kind!r}"
                raise GtfsError(msg)
    return frozenset(active)


def _stops(reader: _Reader) -> tuple[tuple[str, ...], np.ndarray]:
    from pyproj import Transformer

    stops = reader.read("stops.txt")
    where = f"GTFS feed {reader.path}: stops.txt"
    if stops["stop_id"].duplicated().any():
        i = int(np.flatnonzero(stops["stop_id"].duplicated().to_numpy())[0])
        msg = (
            f"{where}, column stop_id, row {i + 1}: duplicate stop_id {stops['stop_id'].iloc[i]!r}"
        )
        raise GtfsError(msg)
    lat = pd.to_numeric(stops["stop_lat"], errors="coerce").to_numpy(dtype=float)
    lon = pd.to_numeric(stops["stop_lon"], errors="coerce").to_numpy(dtype=float)
    for col, vals, lim in (("stop_lat", lat, 90.0), ("stop_lon", lon, 180.0)):
        bad = ~np.isfinite(vals) | (np.abs(vals) > lim)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            found = stops[col].iloc[i]
            msg = f"{where}, column {col}, row {i + 1}: expected degrees; found {found!r}"
            raise GtfsError(msg)
    tr = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    x, y = tr.transform(lon, lat)
    return tuple(stops["stop_id"].astype(str)), np.column_stack([x, y]).astype(float)


def _stop_times(reader: _Reader, trips: pd.DataFrame, stop_index: pd.Index) -> pd.DataFrame:
    """Stop times of the kept trips, checked, sorted by trip and sequence."""
    st = reader.read("stop_times.txt")
    where = f"GTFS feed {reader.path}: stop_times.txt"
    st["_row"] = np.arange(1, len(st) + 1)
    st = st[st["trip_id"].isin(trips["trip_id"])].copy()
    seq = pd.to_numeric(st["stop_sequence"], errors="coerce")
    if seq.isna().any():
        i = int(st["_row"].to_numpy()[seq.isna().to_numpy()][0])
        msg = f"{where}, column stop_sequence, row {i}: expected a whole number"
        raise GtfsError(msg)
    st["_seq"] = seq.astype(np.int64)
    st["_stop"] = stop_index.get_indexer(pd.Index(st["stop_id"]))
    if (st["_stop"] < 0).any():
        r = st[st["_stop"] < 0].iloc[0]
        msg = f"{where}, column stop_id, row {r['_row']}: unknown stop_id {r['stop_id']!r} "
        msg += "(not in stops.txt)"
        raise GtfsError(msg)
    arr = parse_gtfs_time(st["arrival_time"], where=f"{where}, column arrival_time")
    dep = parse_gtfs_time(st["departure_time"], where=f"{where}, column departure_time")
    arr = np.where(arr < 0, dep, arr)
    dep = np.where(dep < 0, arr, dep)
    if (arr < 0).any():
        i = int(st["_row"].to_numpy()[np.flatnonzero(arr < 0)[0]])
        msg = f"{where}, columns arrival_time/departure_time, row {i}: both empty; this reader "
        msg += "needs a time at every stop (untimed stops are not interpolated)"
        raise GtfsError(msg)
    st["_arr"], st["_dep"] = arr, dep
    st = st.sort_values(["trip_id", "_seq"], kind="stable")
    if st.duplicated(["trip_id", "_seq"]).any():
        r = st[st.duplicated(["trip_id", "_seq"])].iloc[0]
        msg = f"{where}, column stop_sequence, row {r['_row']}: trip {r['trip_id']!r} repeats "
        msg += f"stop_sequence {r['_seq']}"
        raise GtfsError(msg)
    a, d = st["_arr"].to_numpy(), st["_dep"].to_numpy()
    same = st["trip_id"].to_numpy()[1:] == st["trip_id"].to_numpy()[:-1]
    back = np.flatnonzero((d < a) | np.r_[False, same & (a[1:] < d[:-1])])
    if len(back):
        r = st.iloc[int(back[0])]
        msg = f"{where}, column arrival_time, row {r['_row']}: time goes backwards along trip "
        msg += (
            f"{r['trip_id']!r} (arrival {r['arrival_time']!r}, departure {r['departure_time']!r} "
        )
        msg += f"at stop_sequence {r['_seq']}, after the previous stop's departure)"
        raise GtfsError(msg)
    return st


def _expand_frequencies(reader: _Reader, st: pd.DataFrame) -> pd.DataFrame:
    """Replace each trip listed in ``frequencies.txt`` by one copy per headway."""
    if not reader.has("frequencies.txt"):
        st["_trip"] = st["trip_id"]
        return st
    fq = reader.read("frequencies.txt")
    where = f"GTFS feed {reader.path}: frequencies.txt"
    start = parse_gtfs_time(fq["start_time"], where=f"{where}, column start_time")
    end = parse_gtfs_time(fq["end_time"], where=f"{where}, column end_time")
    head = pd.to_numeric(fq["headway_secs"], errors="coerce").to_numpy(dtype=float)
    bad = ~(head > 0) | (start < 0) | (end < start)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        msg = f"{where}, row {i + 1}: expected start_time <= end_time and headway_secs > 0; "
        msg += f"found {fq.iloc[i][['start_time', 'end_time', 'headway_secs']].tolist()}"
        raise GtfsError(msg)
    plain = st[~st["trip_id"].isin(fq["trip_id"])].copy()
    plain["_trip"] = plain["trip_id"]
    parts = [plain]
    groups = dict(tuple(st.groupby("trip_id", sort=False)))
    for k, trip in enumerate(fq["trip_id"]):
        if trip not in groups:
            continue
        base = groups[trip]
        first = int(base["_dep"].iloc[0])
        for t0 in range(int(start[k]), int(end[k]), int(head[k])):
            copy = base.copy()
            copy["_arr"] = copy["_arr"] - first + t0
            copy["_dep"] = copy["_dep"] - first + t0
            copy["_trip"] = f"{trip}@{t0}"
            parts.append(copy)
    return pd.concat(parts, ignore_index=True)


def _patterns(st: pd.DataFrame) -> dict[str, np.ndarray | tuple[str, ...]]:
    """Group trips by stop sequence, split so trips never overtake, as CSR arrays."""
    trips: list[tuple[tuple[int, ...], str, str, np.ndarray, np.ndarray]] = []
    for tid, rows in st.groupby("_trip", sort=True):
        trips.append(
            (
                tuple(int(x) for x in rows["_stop"]),
                str(rows["route_id"].iloc[0]),
                str(tid),
                rows["_arr"].to_numpy(np.int64),
                rows["_dep"].to_numpy(np.int64),
            )
        )
    by_seq: dict[tuple[int, ...], list[int]] = {}
    for i, t in enumerate(trips):
        by_seq.setdefault(t[0], []).append(i)
    stop_ptr, trip_ptr, time_ptr = [0], [0], [0]
    stops: list[int] = []
    arr: list[np.ndarray] = []
    dep: list[np.ndarray] = []
    trip_ids: list[str] = []
    route_ids: list[str] = []
    for seq in sorted(by_seq):
        members = sorted(by_seq[seq], key=lambda i: (int(trips[i][4][0]), trips[i][2]))
        groups: list[list[int]] = []
        for i in members:
            a, d = trips[i][3], trips[i][4]
            for g in groups:  # first pattern this trip does not overtake
                last = trips[g[-1]]
                if (a >= last[3]).all() and (d >= last[4]).all():
                    g.append(i)
                    break
            else:
                groups.append([i])
        for g in groups:
            stops.extend(seq)
            stop_ptr.append(len(stops))
            route_ids.append(trips[g[0]][1])
            for i in g:
                arr.append(trips[i][3])
                dep.append(trips[i][4])
                trip_ids.append(trips[i][2])
                time_ptr.append(time_ptr[-1] + len(seq))
            trip_ptr.append(len(trip_ids))
    cat = np.concatenate
    return {
        "pattern_stop_ptr": np.asarray(stop_ptr, np.int64),
        "pattern_stops": np.asarray(stops, np.int64),
        "pattern_trip_ptr": np.asarray(trip_ptr, np.int64),
        "trip_time_ptr": np.asarray(time_ptr, np.int64),
        "arrival": cat(arr).astype(np.int64) if arr else np.zeros(0, np.int64),
        "departure": cat(dep).astype(np.int64) if dep else np.zeros(0, np.int64),
        "trip_ids": tuple(trip_ids),
        "pattern_route_ids": tuple(route_ids),
    }


def _transfers(reader: _Reader, stop_index: pd.Index) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    empty = np.zeros(0, np.int64)
    if not reader.has("transfers.txt"):
        return empty, empty, empty
    tf = reader.read("transfers.txt")
    where = f"GTFS feed {reader.path}: transfers.txt"
    tf = tf[tf["transfer_type"].str.strip() != "3"].reset_index(drop=True)
    frm = stop_index.get_indexer(pd.Index(tf["from_stop_id"]))
    to = stop_index.get_indexer(pd.Index(tf["to_stop_id"]))
    for col, pos in (("from_stop_id", frm), ("to_stop_id", to)):
        if (pos < 0).any():
            i = int(np.flatnonzero(pos < 0)[0])
            msg = f"{where}, column {col}, row {i + 1}: unknown stop_id {tf[col].iloc[i]!r}"
            raise GtfsError(msg)
    mtt = (
        tf["min_transfer_time"] if "min_transfer_time" in tf.columns else pd.Series([""] * len(tf))
    )
    blank = (mtt.str.strip() == "").to_numpy()
    secs = pd.to_numeric(mtt.where(~blank, "0"), errors="coerce").to_numpy(dtype=float)
    if (~np.isfinite(secs) | (secs < 0)).any():
        i = int(np.flatnonzero(~np.isfinite(secs) | (secs < 0))[0])
        msg = f"{where}, column min_transfer_time, row {i + 1}: expected seconds >= 0; "
        msg += f"found {mtt.iloc[i]!r}"
        raise GtfsError(msg)
    secs[blank] = -1
    return frm.astype(np.int64), to.astype(np.int64), np.ceil(secs).astype(np.int64)


def read_gtfs(path: str | Path, service_date: dt.date | str) -> GtfsFeed:
    """Read a GTFS feed (zip or folder) for one service date.

    Parameters
    ----------
    path
        The feed: a ``.zip`` or a folder of ``.txt`` files.
    service_date
        The day to plan for (a ``date`` or ``"YYYY-MM-DD"``); only trips whose
        ``service_id`` runs that day (``calendar.txt`` weekday and date range,
        then ``calendar_dates.txt`` additions and removals) are kept.

    Returns
    -------
    GtfsFeed

    Raises
    ------
    GtfsError
        A required file or column is missing; a time, date or coordinate
        cannot be read; times go backwards along a trip; ``stop_times`` or
        ``transfers`` name a stop that ``stops.txt`` lacks; ``trips.txt``
        names a ``route_id`` not in ``routes.txt``; or no trip runs on
        ``service_date``. Each message gives file, column and row.

    Notes
    -----
    Trips of the previous day's services that run past midnight are not
    included. Stops without a time (both ``arrival_time`` and
    ``departure_time`` empty) are refused rather than interpolated.
    """
    day = service_date if isinstance(service_date, dt.date) else _parse_day(service_date)
    reader = _Reader(path)
    stop_ids, stop_xy = _stops(reader)
    stop_index = pd.Index(stop_ids)
    routes = reader.read("routes.txt")
    trips = reader.read("trips.txt")
    known = trips["route_id"].isin(routes["route_id"]).to_numpy()
    if not known.all():
        i = int(np.flatnonzero(~known)[0])
        msg = f"GTFS feed {reader.path}: trips.txt, column route_id, row {i + 1}: unknown "
        msg += f"route_id {trips['route_id'].iloc[i]!r} (not in routes.txt)"
        raise GtfsError(msg)
    active = _services(reader, day)
    trips = trips[trips["service_id"].isin(active)]
    if trips.empty:
        msg = (
            f"GTFS feed {reader.path}: no trip runs on {day.isoformat()} ({_DAYS[day.weekday()]}); "
        )
        msg += "check calendar.txt / calendar_dates.txt or choose another day"
        raise GtfsError(msg)
    st = _stop_times(reader, trips[["trip_id"]], stop_index)
    if st.empty:
        msg = f"GTFS feed {reader.path}: stop_times.txt has no rows for the "
        msg += f"{len(trips)} trip(s) running on {day.isoformat()}"
        raise GtfsError(msg)
    st = st.merge(trips[["trip_id", "route_id"]], on="trip_id", how="left")
    st = _expand_frequencies(reader, st)
    pats = _patterns(st)
    return GtfsFeed(
        source=str(reader.path),
        service_date=day,
        stop_ids=stop_ids,
        stop_xy=stop_xy,
        transfers=_transfers(reader, stop_index),
        **pats,  # type: ignore[arg-type]
    )


def _parse_day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(str(text))
    except ValueError as exc:
        msg = f"service date: cannot read {text!r}; expected YYYY-MM-DD"
        raise GtfsError(msg) from exc
