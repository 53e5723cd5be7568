"""A folder the student's code may write and a test may read back, as data.

The worker writes into it; the trusted side reads a file only as a regular file beneath
the folder (no link followed, size capped), and checks an `.npz` archive (unpacked size,
each array's header against its data) before a test loads it.
"""

from __future__ import annotations

import io
import math
import zipfile
from dataclasses import dataclass
from pathlib import Path

from numpy.lib import format as npy

from grader.submission import UnsafeFileError, read_submission_file


@dataclass(frozen=True)
class Scratch:
    """A folder the student's code may write and the test may read."""

    remote: str
    """The folder's path as the student's code sees it (pass this to their functions)."""
    local: Path
    """The same folder here; read files with `read_bytes`, which refuses links."""

    def path(self, name: str) -> str:
        return f"{self.remote}/{name}"

    def names(self) -> list[str]:
        return sorted(p.name for p in self.local.iterdir())

    def read_bytes(self, name: str, limit: int = 64 * 2**20) -> bytes:
        """A regular file the student's code wrote (never through a link, in any part of
        `name`). An .npz (zip) archive is checked before it is returned: what it holds,
        unpacked, fits in `limit`, and each array's header claims no more than its member
        holds, so loading it cannot cost more memory than the file is allowed to be."""
        try:
            data = read_submission_file(self.local, name, limit)
        except FileNotFoundError:
            raise AssertionError(f"{name} could not be read: there is no such file") from None
        except UnsafeFileError as error:
            raise AssertionError(f"{name} could not be read: {error}") from None
        if data.startswith(b"PK"):
            _check_archive(name, data, limit)
        return data


HEADER_READERS = {(1, 0): npy.read_array_header_1_0, (2, 0): npy.read_array_header_2_0}


def _check_archive(name: str, data: bytes, limit: int) -> None:
    """A zip archive that unpacks to at most `limit` bytes, its .npy headers honest."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        return  # not an archive after all: np.load says what it is not
    with archive:
        members = archive.infolist()
        if sum(member.file_size for member in members) > limit:
            raise AssertionError(f"{name} unpacks to more than {limit // 2**20} MB")
        for member in members:
            if not member.filename.endswith(".npy"):
                continue
            with archive.open(member) as stream:
                try:
                    version = npy.read_magic(stream)
                    header = HEADER_READERS.get(version)
                    if header is None:
                        raise ValueError(f"format version {version} is not supported")
                    shape, _, dtype = header(stream)
                except ValueError as error:
                    raise AssertionError(f"{name}: {member.filename} is broken ({error})") from None
            if dtype.hasobject or math.prod(shape) * dtype.itemsize > member.file_size:
                raise AssertionError(
                    f"{name}: {member.filename} claims an array larger than the data it holds"
                )
