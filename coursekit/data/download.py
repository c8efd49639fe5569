"""Downloads with a cache, a SHA-256 check and an offline fallback.

The registry of downloadable datasets is ``data/registry.json`` in the course folder: for each
name its URL, SHA-256, size in bytes, licence and the offline source that replaces it. Files
land in the cache folder (``COURSEKIT_DATA``, else ``data/cache`` in the course folder, else
``~/.cache/coursekit``) and are checked before use, so a half-finished or corrupt download is
caught, named and replaced, never used.

No notebook needs the internet: :func:`fetch_or_fallback` tries the download and, when it is
not possible, prints one line naming the offline source it uses instead.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from ..runtime import cache_dir

__all__ = [
    "DownloadError",
    "can_download",
    "fetch",
    "fetch_or_fallback",
    "registry",
    "sha256sum",
]

T = TypeVar("T")
_COURSE_ROOT = Path(__file__).resolve().parents[2]


class DownloadError(RuntimeError):
    """A dataset that could not be had: no network, a bad checksum, an unknown name."""


def registry(path: str | os.PathLike | None = None) -> dict[str, dict[str, Any]]:
    """The registered datasets (``data/registry.json``)."""
    path = Path(path) if path else _COURSE_ROOT / "data" / "registry.json"
    if not path.exists():
        raise DownloadError(f"dataset registry {path} not found; is the course folder complete?")
    with open(path, encoding="utf-8") as f:
        entries = json.load(f)["datasets"]
    for name, e in entries.items():
        missing = {"url", "sha256", "size", "license", "filename"} - set(e)
        if missing:
            raise DownloadError(f"registry entry {name!r} lacks {sorted(missing)}")
    return entries


def sha256sum(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def can_download(url: str = "https://pypi.org", timeout: float = 2.0) -> bool:
    """Whether ``url``'s host answers within ``timeout`` seconds (never hangs longer)."""
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme == "file":
        return Path(urllib.request.url2pathname(parsed.path)).exists()
    host = parsed.hostname
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    if not host:
        return False
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def fetch(
    name: str,
    *,
    entries: dict[str, dict[str, Any]] | None = None,
    root: str | os.PathLike | None = None,
    timeout: float = 10.0,
    progress: bool = True,
) -> Path:
    """The local path of registered dataset ``name``, downloading and checking it if needed."""
    entries = entries if entries is not None else registry()
    if name not in entries:
        raise DownloadError(f"unknown dataset {name!r}; registered: {', '.join(sorted(entries))}")
    e = entries[name]
    root = Path(root) if root else cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    target = root / e["filename"]
    if target.exists():
        digest = sha256sum(target)
        if digest == e["sha256"]:
            return target
        bad = target.with_name(target.name + ".corrupt")
        os.replace(target, bad)
        print(f"{target} had the wrong checksum (got {digest[:12]}…, want {e['sha256'][:12]}…); "
              f"moved it to {bad.name} and downloading again")
    fd, tmp = tempfile.mkstemp(prefix=target.name + ".", suffix=".part", dir=root)
    os.close(fd)
    try:
        try:
            with urllib.request.urlopen(e["url"], timeout=timeout) as response, open(tmp, "wb") as out:
                _copy_with_progress(response, out, int(e["size"]), f"download {name}", progress)
        except (urllib.error.URLError, OSError, TimeoutError) as err:
            raise DownloadError(
                f"could not download {name!r} from {e['url']} ({err}). You seem to be offline: "
                f"the course works offline with {e.get('offline', 'its procedural data')}; or copy "
                f"the file by hand to {target} (SHA-256 {e['sha256']})."
            ) from err
        digest = sha256sum(tmp)
        if digest != e["sha256"]:
            raise DownloadError(
                f"the download of {name!r} is corrupt or changed upstream: SHA-256 {digest} instead of "
                f"{e['sha256']}. Nothing was kept; try again later or report it."
            )
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def _copy_with_progress(src: Any, dst: Any, total: int, desc: str, enabled: bool) -> None:
    from tqdm.auto import tqdm

    with tqdm(total=total or None, unit="B", unit_scale=True, desc=desc, disable=not enabled, leave=False) as bar:
        while block := src.read(1 << 16):
            dst.write(block)
            bar.update(len(block))


def fetch_or_fallback(name: str, load: Callable[[Path], T], fallback: Callable[[], T], **kwargs: Any) -> T:
    """``load(fetch(name))`` when the dataset can be had, else ``fallback()`` with one clear line."""
    try:
        path = fetch(name, **kwargs)
    except DownloadError as err:
        entry = (kwargs.get("entries") or _safe_registry()).get(name, {})
        print(f"ℹ️ {name} is not available ({str(err).split('(')[0].strip()}); using the offline "
              f"source instead: {entry.get('offline', fallback.__name__)}.")
        return fallback()
    return load(path)


def _safe_registry() -> dict[str, dict[str, Any]]:
    try:
        return registry()
    except DownloadError:
        return {}

