"""Find a dataset's files in the data root, or download them there, verified by SHA-256.

The data root is `$TINYTORCH_DATA` when set, else `$XDG_CACHE_HOME/tinytorch` (by
default `~/.cache/tinytorch`). A dataset lives in its own folder under the root, for
example `<root>/fashion-mnist/train-images-idx3-ubyte.gz`.

Downloads are atomic: each file streams into a temporary file next to its final place,
its SHA-256 is checked, and only then is it renamed into place. A wrong checksum or a
broken connection leaves nothing behind. Files already in the root are used as they are
(you may have put them there yourself); the format readers validate their contents.
Setting `TINYTORCH_OFFLINE=1` turns downloads off (tests and machines without network).

    files = [RemoteFile("data.bin", ("https://example.org/data.bin",), "<sha256 hex>")]
    folder = find_or_download("example", files)   # -> <root>/example, holding data.bin
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import tempfile
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

__all__ = ["RemoteFile", "DataUnavailableError", "data_root", "find_or_download"]

DATA_ENV = "TINYTORCH_DATA"
OFFLINE_ENV = "TINYTORCH_OFFLINE"
CHUNK_BYTES = 1 << 20
TIMEOUT_SECONDS = 60
Opener = Callable[[str], BinaryIO]


class DataUnavailableError(RuntimeError):
    """A dataset's files are neither in the data root nor downloadable right now."""


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset: its name, where to download it, and its SHA-256."""

    filename: str
    urls: tuple[str, ...]
    """Official sources, tried in order."""
    sha256: str
    """Hex SHA-256 of the file exactly as served (compressed files included)."""

    def __post_init__(self) -> None:
        if not self.filename or "/" in self.filename or "\\" in self.filename:
            raise ValueError(f"RemoteFile needs a plain file name, got {self.filename!r}")
        if not self.urls:
            raise ValueError(f"RemoteFile {self.filename!r} needs at least one URL")
        if not re.fullmatch(r"[0-9a-f]{64}", self.sha256):
            raise ValueError(
                f"RemoteFile {self.filename!r}: sha256 must be 64 lowercase hex digits"
            )


def data_root() -> Path:
    """`$TINYTORCH_DATA`, else the per-user cache folder for tinytorch."""
    configured = os.environ.get(DATA_ENV)
    if configured:
        return Path(configured).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "tinytorch"


def find_or_download(
    dataset: str,
    files: Sequence[RemoteFile],
    *,
    download: bool = True,
    opener: Opener | None = None,
) -> Path:
    """The folder `<data root>/<dataset>` holding every file in `files`.

    Missing files are downloaded (unless `download` is False or `$TINYTORCH_OFFLINE` is
    set) from their URLs in order, checked against their SHA-256 and moved into place.
    When a file cannot be had, the error says which files belong where, so you can put
    them there by hand.
    `opener(url)` returns a readable binary stream (default: `urllib.request.urlopen`).
    """
    folder = data_root() / dataset
    missing = [f for f in files if not (folder / f.filename).is_file()]
    if not missing:
        return folder
    if not download or os.environ.get(OFFLINE_ENV):
        reason = f"downloads are off ({OFFLINE_ENV} is set)" if download else "downloads are off"
        raise DataUnavailableError(_placement_help(dataset, folder, missing, reason))
    for remote in missing:
        _download(remote, folder, opener or _urlopen, dataset, missing)
    return folder


def _urlopen(url: str) -> BinaryIO:
    return urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS)


def _download(
    remote: RemoteFile, folder: Path, opener: Opener, dataset: str, missing: list[RemoteFile]
) -> None:
    """Fetch one file into `folder` atomically, trying each URL until one verifies."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DataUnavailableError(
            _placement_help(dataset, folder, missing, f"cannot create {folder}: {error}")
        ) from None
    failures = []
    for url in remote.urls:
        print(f"downloading {url} -> {folder / remote.filename}", file=sys.stderr)
        try:
            digest = _fetch_verified(url, remote, folder, opener)
        except OSError as error:
            failures.append(f"{url}: {error}")
            continue
        if digest is None:
            return
        failures.append(f"{url}: SHA-256 {digest} is not the expected {remote.sha256}")
    reasons = "; ".join(failures)
    raise DataUnavailableError(
        _placement_help(dataset, folder, missing, f"{remote.filename} failed: {reasons}")
    )


def _fetch_verified(url: str, remote: RemoteFile, folder: Path, opener: Opener) -> str | None:
    """Stream `url` into a temporary file; keep it as `remote.filename` if it verifies.

    Returns None on success, else the SHA-256 actually received (the file is deleted).
    """
    handle, temp_name = tempfile.mkstemp(prefix=f".{remote.filename}.", suffix=".part", dir=folder)
    temp = Path(temp_name)
    try:
        digest = hashlib.sha256()
        with os.fdopen(handle, "wb") as out, opener(url) as response:
            while chunk := response.read(CHUNK_BYTES):
                digest.update(chunk)
                out.write(chunk)
        received = digest.hexdigest()
        if received != remote.sha256:
            return received
        os.replace(temp, folder / remote.filename)
        return None
    finally:
        temp.unlink(missing_ok=True)


def _placement_help(dataset: str, folder: Path, missing: list[RemoteFile], reason: str) -> str:
    """A message naming every missing file, its sources, and where it must go."""
    lines = [
        f"The {dataset} dataset is not available ({reason}).",
        f"Put these files in {folder}:",
    ]
    for remote in missing:
        lines.append(f"  {remote.filename}  (sha256 {remote.sha256})")
        lines.extend(f"      from {url}" for url in remote.urls)
    lines.append(f"or set {DATA_ENV} to a folder that holds {dataset}/<file> for each of them.")
    return "\n".join(lines)
