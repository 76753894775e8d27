"""Low-level HTTP for :mod:`nhc_planner.download`: one file, safely.

Standard library only (``urllib``). Nothing here runs unless called: no
module-level connections, no global settings. Every failure becomes an error
from :mod:`nhc_planner._errors` that names the URL:

* the host cannot be reached (no network, DNS failure, refused connection,
  timeout) -> :class:`~nhc_planner._errors.OfflineError`, with a hint on how
  to supply the file by hand;
* the server answers with an HTTP error (404, 500, ...) or the bytes do not
  match an expected SHA-256 -> :class:`~nhc_planner._errors.NhcRuntimeError`.

Downloads stream into ``<dest>.part`` and are renamed into place only when
complete (and verified), so an interrupted run never leaves a truncated file
that looks finished. A leftover ``.part`` is resumed with an HTTP ``Range``
request when the server supports it, and restarted otherwise.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from nhc_planner._errors import NhcRuntimeError, OfflineError

__all__ = [
    "MIRROR_ENV",
    "USER_AGENT",
    "download_file",
    "mirror_url",
    "sha256_file",
]

#: Environment variable naming a base URL that replaces the scheme and host of
#: every source (the official path and query are kept), e.g. a local mirror.
MIRROR_ENV = "NHC_DOWNLOAD_MIRROR"

USER_AGENT = "nhc-planner (+https://github.com/nhc-planner/nhc-planner)"

_CHUNK = 1 << 16


def sha256_file(path: str | Path) -> str:
    """Return the hex SHA-256 digest of a file, read in chunks.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     p = Path(folder) / "x.txt"
    ...     _ = p.write_bytes(b"abc")
    ...     print(sha256_file(p)[:16])
    ba7816bf8f01cfea
    """
    return _hash_into(hashlib.sha256(), Path(path)).hexdigest()


def _hash_into(digest: hashlib._Hash, path: Path) -> hashlib._Hash:
    """Feed the bytes of ``path`` to ``digest`` in chunks and return it."""
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(block)
    return digest


def mirror_url(url: str, base_urls: Mapping[str, str] | None = None) -> str:
    """Return ``url`` with its scheme and host replaced by a mirror, if any.

    Parameters
    ----------
    url
        The official URL.
    base_urls
        Replacement bases keyed by the official host (``"www.nomisweb.co.uk"``)
        or scheme and host (``"https://www.nomisweb.co.uk"``); the key ``"*"``
        applies to every host. A base may carry a path prefix
        (``"http://127.0.0.1:8000/mirror"``). When no key matches, the
        environment variable ``NHC_DOWNLOAD_MIRROR`` (if set) is used.

    Returns
    -------
    str
        The URL to request; the official path and query string are kept.

    Examples
    --------
    >>> mirror_url("https://www.nomisweb.co.uk/api/v01/x.csv?a=1",
    ...            {"www.nomisweb.co.uk": "http://127.0.0.1:8000"})
    'http://127.0.0.1:8000/api/v01/x.csv?a=1'
    >>> mirror_url("https://a.example/p", {"*": "http://m.local/base/"})
    'http://m.local/base/p'
    """
    parts = urllib.parse.urlsplit(url)
    base: str | None = None
    if base_urls:
        for key in (f"{parts.scheme}://{parts.netloc}", parts.netloc, "*"):
            if key in base_urls:
                base = base_urls[key]
                break
    if base is None:
        base = os.environ.get(MIRROR_ENV) or None
    if base is None:
        return url
    new = urllib.parse.urlsplit(base)
    path = new.path.rstrip("/") + parts.path
    return urllib.parse.urlunsplit((new.scheme, new.netloc, path, parts.query, parts.fragment))


def _offline_message(url: str, requested: str, reason: object, dest: Path | None) -> str:
    via = f" (requested as {requested})" if requested != url else ""
    where = f" and save it as {dest}" if dest is not None else ""
    return (
        f"cannot reach {url}{via}: {reason}. The machine looks offline or the host is "
        f"unreachable. Connect and retry, or download the file by hand in a browser{where}; "
        "see docs/download.md ('Working offline') for writing sources.toml yourself."
    )


def download_file(
    url: str,
    dest: str | Path,
    *,
    sha256: str | None = None,
    data: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 60.0,
    progress: bool = True,
    desc: str | None = None,
    base_urls: Mapping[str, str] | None = None,
) -> str:
    """Download ``url`` to ``dest`` atomically and return the file's SHA-256.

    Parameters
    ----------
    url
        The official URL (a mirror from ``base_urls`` / ``NHC_DOWNLOAD_MIRROR``
        replaces its scheme and host, see :func:`mirror_url`).
    dest
        Destination file; parent folders are created. Written only when the
        download is complete (and matches ``sha256``, when given).
    sha256
        Expected hex digest; a mismatch raises and leaves ``dest`` untouched.
    data
        Request body; when given the request is a POST (never resumed).
    headers
        Extra request headers.
    timeout
        Seconds to wait for the connection and for each read.
    progress
        Show a tqdm progress bar on stderr.
    desc
        Label for the progress bar (default: the file name).
    base_urls
        Mirror bases, see :func:`mirror_url`.

    Returns
    -------
    str
        Hex SHA-256 of the downloaded file.

    Raises
    ------
    OfflineError
        The host cannot be reached (network down, DNS failure, timeout).
    NhcRuntimeError
        The server answered with an HTTP error, or the checksum did not match.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    requested = mirror_url(url, base_urls)
    req_headers = {"User-Agent": USER_AGENT, **(headers or {})}
    offset = part.stat().st_size if (data is None and part.exists()) else 0
    if offset:
        req_headers["Range"] = f"bytes={offset}-"
    request = urllib.request.Request(requested, data=data, headers=req_headers)
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:  # stale .part longer than the file: restart
            part.unlink()
            return download_file(
                url,
                dest,
                sha256=sha256,
                data=data,
                headers=headers,
                timeout=timeout,
                progress=progress,
                desc=desc,
                base_urls=base_urls,
            )
        via = f" (requested as {requested})" if requested != url else ""
        msg = (
            f"download failed: HTTP {exc.code} {exc.reason} for {url}{via}. If the file has "
            "moved, pass its new URL (see docs/download.md, 'What is fetched from where')"
        )
        raise NhcRuntimeError(msg) from exc
    except urllib.error.URLError as exc:
        msg = _offline_message(url, requested, exc.reason, dest)
        raise OfflineError(msg) from exc
    except (TimeoutError, ConnectionError) as exc:
        msg = _offline_message(url, requested, exc, dest)
        raise OfflineError(msg) from exc
    except http.client.HTTPException as exc:
        msg = f"download failed: broken HTTP answer from {requested} for {url} ({exc!r})"
        raise NhcRuntimeError(msg) from exc

    with response:
        resumed = offset > 0 and response.status == 206
        digest = _hash_into(hashlib.sha256(), part) if resumed else hashlib.sha256()
        if not resumed:
            offset = 0
        length = response.headers.get("Content-Length")
        total = int(length) + offset if length and length.isdigit() else None
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(
                total=total,
                initial=offset,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=desc or dest.name,
                file=sys.stderr,
                leave=False,
            )
        try:
            with part.open("ab" if resumed else "wb") as fh:
                while True:
                    try:
                        block = response.read(_CHUNK)
                    except (TimeoutError, OSError) as exc:
                        msg = _offline_message(url, requested, exc, dest)
                        raise OfflineError(msg) from exc
                    except http.client.HTTPException as exc:
                        msg = (
                            f"download of {url} broke off ({exc!r}); the partial file "
                            f"{part} is kept and the next run resumes it"
                        )
                        raise NhcRuntimeError(msg) from exc
                    if not block:
                        break
                    fh.write(block)
                    digest.update(block)
                    if bar is not None:
                        bar.update(len(block))
        finally:
            if bar is not None:
                bar.close()

    got = digest.hexdigest()
    if sha256 is not None and got != sha256.lower():
        part.unlink(missing_ok=True)
        msg = (
            f"checksum mismatch for {url}: expected SHA-256 {sha256}, got {got}; "
            "the file was not saved. The source may have been updated: check the URL."
        )
        raise NhcRuntimeError(msg)
    os.replace(part, dest)
    return got
