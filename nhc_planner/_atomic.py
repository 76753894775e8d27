"""Atomic, verifiable writes: whole folders swapped in by renames, files by write-then-rename.

A folder is written into a temporary sibling (``.<name>.tmp-<pid>-<host>-<random>``),
given a ``manifest.json`` of per-file SHA-256 digests, flushed to disk
(``fsync``) and swapped in with renames: the old folder is first renamed to
``.<name>.old-<pid>-<host>-<random>``, then the new one to ``<name>``, then the old
one removed. An interrupted save therefore leaves either the old folder or
the new one, whole: if it stopped between the two renames, the next
:func:`recover` (called by every save and load here) renames the old folder
back. Temporaries left by processes of this machine that no longer run are
removed (those of other machines sharing the folder are left alone).

:func:`verify_folder` checks a folder against its manifest: a file that is
missing, changed, or present but not listed (among the names the caller
owns) is a :class:`~nhc_planner._errors.CorruptFileError` naming the file.

Single files are written to a temporary sibling and renamed over the target
(:func:`atomic_write_text`, :func:`atomic_write_bytes`, :func:`atomic_path`).

Files the caller does not own (say ``run.log`` or ``report/`` next to a plan)
are carried over from the old folder into the new one, hard-linked where the
file system allows, so a save replaces what it writes and keeps the rest.
"""

from __future__ import annotations

import contextlib
import fnmatch
import functools
import hashlib
import json
import os
import secrets
import shutil
import socket
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from nhc_planner._errors import CorruptFileError

__all__ = [
    "MANIFEST",
    "atomic_folder",
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_text",
    "recover",
    "sha256_of",
    "verify_folder",
    "write_manifest",
]

#: Name of the checksum manifest inside a saved folder.
MANIFEST = "manifest.json"
_FORMAT = "nhc-planner checksums"
_TMP = ".tmp-"
_OLD = ".old-"

#: Called with a stage name at each step of a folder save (tests pause or kill there).
_hook: Callable[[str], None] | None = None


def _at(stage: str) -> None:
    if _hook is not None:
        _hook(stage)


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _owns(rel: str, owned: Sequence[str] | None) -> bool:
    """Whether the writer owns ``rel``: its top-level name matches a pattern (None: all)."""
    top = rel.split("/", 1)[0]
    return owned is None or any(fnmatch.fnmatchcase(top, pat) for pat in owned)


def _files(folder: Path, owned: Sequence[str] | None = None) -> list[str]:
    """Relative POSIX paths of the owned files below ``folder`` except the manifest, sorted."""
    out = []
    for p in folder.rglob("*"):
        if p.is_file() and not p.is_symlink():
            rel = p.relative_to(folder).as_posix()
            if rel != MANIFEST and _TMP not in rel and _owns(rel, owned):
                out.append(rel)
    return sorted(out)


def write_manifest(folder: str | Path, owned: Sequence[str] | None = None) -> Path:
    """Write ``manifest.json``: SHA-256 and size of every owned file below ``folder``.

    ``owned`` are glob patterns of top-level names (files or folders); None: every file.
    """
    root = Path(folder)
    files = {
        rel: {"sha256": sha256_of(root / rel), "bytes": (root / rel).stat().st_size}
        for rel in _files(root, owned)
    }
    text = json.dumps({"format": _FORMAT, "version": 1, "files": files}, indent=1, sort_keys=True)
    return atomic_write_text(root / MANIFEST, text + "\n")


def verify_folder(
    folder: str | Path, *, owned: Sequence[str] | None = None, what: str = "folder"
) -> bool:
    """Check ``folder`` against its ``manifest.json``.

    Parameters
    ----------
    folder
        A folder written by :func:`atomic_folder`.
    owned
        Glob patterns of the top-level names the writer owns (None: all): such
        a file on disk but absent from the manifest is an error (it belongs to
        another save). Other unlisted files (logs, reports) are ignored.
    what
        What the folder holds, for messages ("plan", "region").

    Returns
    -------
    bool
        True if the manifest was there and every file matched; False if the
        folder has no manifest (written before manifests existed).

    Raises
    ------
    CorruptFileError
        A listed file is missing, has other bytes, or an owned file is not listed,
        or the manifest itself is unreadable.
    """
    root = Path(folder)
    recover(root)
    path = root / MANIFEST
    if not path.is_file():
        return False
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        files = data["files"]
        if data.get("format") != _FORMAT or not isinstance(files, dict):
            raise KeyError("format")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
        msg = f"{path}: the {what}'s checksum manifest is unreadable or damaged ({exc})"
        raise CorruptFileError(msg) from exc
    for rel, entry in sorted(files.items()):
        p = root / rel
        if not p.is_file():
            msg = f"{root}: {what} file {rel} is listed in {MANIFEST} but missing; save it again"
            raise CorruptFileError(msg)
        try:
            size, digest = int(entry["bytes"]), str(entry["sha256"])
        except (KeyError, TypeError, ValueError) as exc:
            msg = f"{path}: entry for {rel} is damaged ({entry!r})"
            raise CorruptFileError(msg) from exc
        found = p.stat().st_size
        if found != size or sha256_of(p) != digest:
            msg = (
                f"{p}: {what} file does not match its checksum in {MANIFEST} (expected {size:,} "
                f"bytes, SHA-256 {digest[:12]}...; found {found:,} bytes, SHA-256 "
                f"{sha256_of(p)[:12]}...): it was changed or damaged after saving; save it again"
            )
            raise CorruptFileError(msg)
    extra = [rel for rel in _files(root, owned) if rel not in files]
    if extra:
        msg = (
            f"{root}: {what} file(s) {extra[:5]} are not in {MANIFEST}: they come from another "
            "save (a mixed folder); save it again"
        )
        raise CorruptFileError(msg)
    return True


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists but not ours (or the platform cannot tell): assume alive
        return True
    return True


@functools.cache
def _host() -> str:
    """A short tag of this machine: temporaries of other machines (a shared file system,
    batch workers elsewhere) are never judged by this machine's process table."""
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:6]


def _pid_of(name: str, marker: str) -> int | None:
    """The process id in a temporary's name, or None when unknown or of another machine."""
    try:
        parts = name.split(marker, 1)[1].split("-")
        if len(parts) >= 3 and parts[1] != _host():
            return None
        return int(parts[0])
    except (IndexError, ValueError):
        return None


def recover(target: str | Path) -> None:
    """Finish or undo an interrupted save of ``target`` and remove its stale temporaries.

    If ``target`` is missing but an old copy set aside by a save that no
    longer runs exists, the old copy is renamed back. Temporary folders and
    files of processes that no longer run are removed.
    """
    path = Path(target)
    parent = path.parent
    if not parent.is_dir():
        return
    prefix = f".{path.name}"
    for entry in sorted(parent.glob(f"{prefix}{_OLD}*")):
        pid = _pid_of(entry.name, _OLD)
        if pid is None or _alive(pid):
            continue
        if path.exists():
            _remove(entry)
            continue
        with contextlib.suppress(OSError):
            entry.rename(path)
    for entry in parent.glob(f"{prefix}{_TMP}*"):
        pid = _pid_of(entry.name, _TMP)
        if pid is not None and not _alive(pid):
            _remove(entry)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink()


def _sibling(path: Path, marker: str) -> Path:
    return path.with_name(f".{path.name}{marker}{os.getpid()}-{_host()}-{secrets.token_hex(4)}")


def _fsync_tree(folder: Path) -> None:
    for p in sorted(folder.rglob("*"), reverse=True):
        if p.is_file() and not p.is_symlink():
            fd = os.open(p, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform can fsync a directory
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _carry_over(old: Path, new: Path, owned: Sequence[str]) -> None:
    """Copy (hard-link) entries of ``old`` the writer does not own into ``new``."""
    for entry in old.iterdir():
        if entry.name == MANIFEST or (new / entry.name).exists():
            continue
        if any(fnmatch.fnmatchcase(entry.name, pat) for pat in owned):
            continue
        with contextlib.suppress(OSError):
            if entry.is_dir() and not entry.is_symlink():
                shutil.copytree(entry, new / entry.name, copy_function=_link_or_copy)
            elif entry.is_file():
                _link_or_copy(str(entry), str(new / entry.name))


@contextlib.contextmanager
def atomic_folder(
    target: str | Path, *, owned: Sequence[str] | None = None, manifest: bool = True
) -> Iterator[Path]:
    """Write a folder atomically: yield an empty temporary folder, then swap it in.

    Parameters
    ----------
    target
        The folder to (re)place.
    owned
        Glob patterns of top-level names the writer owns. Entries of an existing
        ``target`` that match none of them are carried over into the new folder
        (and left out of the manifest); ``None``: the writer owns everything, the
        new folder replaces the old one whole.
    manifest
        Write ``manifest.json`` (checksums of every owned file) before the swap.

    Yields
    ------
    pathlib.Path
        The temporary folder to write into. If the ``with`` body raises, it is
        removed and ``target`` is left as it was.
    """
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    recover(path)
    if path.exists() and not path.is_dir():
        msg = f"{path}: exists and is not a folder; cannot save a folder there"
        raise CorruptFileError(msg)
    tmp = _sibling(path, _TMP)
    tmp.mkdir()
    try:
        yield tmp
        if owned is not None and path.is_dir():
            _carry_over(path, tmp, owned)
        _at("written")
        if manifest:
            write_manifest(tmp, owned)
        _fsync_tree(tmp)
        _at("synced")
        _swap(tmp, path)
    except BaseException:
        _remove(tmp)
        raise


def _swap(tmp: Path, path: Path) -> None:
    """Rename ``tmp`` to ``path``, setting an existing ``path`` aside first."""
    if not path.exists():
        tmp.rename(path)
        _at("renamed")
    else:
        old = _sibling(path, _OLD)
        path.rename(old)
        _at("set aside")
        tmp.rename(path)
        _at("renamed")
        _remove(old)
    _fsync_dir(path.parent)
    _at("done")


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary sibling path to write; on success rename it over ``target``.

    For writers that take a path (``to_parquet``, ``to_file``). The suffix of
    ``target`` is kept so that writers choosing a format by it still work.
    """
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(
        f".{path.stem}{_TMP}{os.getpid()}-{_host()}-{secrets.token_hex(4)}{path.suffix}"
    )
    try:
        yield tmp
        if tmp.is_file():
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise


def atomic_write_bytes(target: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``target`` via a temporary sibling and a rename; return the path."""
    path = Path(target)
    with atomic_path(path) as tmp, tmp.open("wb") as fh:
        fh.write(data)
        fh.flush()
    return path


def atomic_write_text(target: str | Path, text: str, *, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``target`` via a temporary sibling and a rename; return the path."""
    return atomic_write_bytes(target, text.encode(encoding))
