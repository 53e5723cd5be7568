"""CIFAR-10 from its official binary version (no pickle): 60,000 32x32 colour images.

The archive `cifar-10-binary.tar.gz` (https://www.cs.toronto.edu/~kriz/cifar.html,
"CIFAR-10 binary version") holds `cifar-10-batches-bin/` with five training files
`data_batch_1.bin` ... `data_batch_5.bin` and `test_batch.bin`. Each file is 10,000
records of 3,073 bytes: one label byte (0-9), then 3,072 pixel bytes, the 1,024 red
values of the 32x32 image in row-major order, then the green, then the blue. So a
record's pixels are already in CHW order.

The files live in `<data root>/cifar-10/` (see `fetch.py`: `$TINYTORCH_DATA`, else a
per-user cache). The archive is downloaded there when missing, checked against its
SHA-256, and extracted safely (regular files only, nothing outside the folder). A
failed or corrupt extraction leaves nothing behind.

    images, labels = load_cifar10("train")   # uint8 (50000, 3, 32, 32), int64 (50000,)
"""

from __future__ import annotations

import hashlib
import shutil
import tarfile
import tempfile
from pathlib import Path, PurePosixPath

import numpy as np

from milestones.datasets.fetch import DataUnavailableError, RemoteFile, data_root, find_or_download

__all__ = ["CLASSES", "CorruptDataError", "load_cifar10", "read_batch"]

FOLDER = "cifar-10"
BATCHES = "cifar-10-batches-bin"
ARCHIVE = RemoteFile(
    "cifar-10-binary.tar.gz",
    ("https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",),
    "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd",
)
SPLITS = {
    "train": tuple(f"data_batch_{i}.bin" for i in range(1, 6)),
    "test": ("test_batch.bin",),
}
CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
IMAGE_SHAPE = (3, 32, 32)
RECORD_BYTES = 1 + 3 * 32 * 32
RECORDS_PER_FILE = 10_000


class CorruptDataError(ValueError):
    """A dataset file exists but does not hold what its format promises."""


def read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One binary batch file: images uint8 `(N, 3, 32, 32)` and labels int64 `(N,)`."""
    size = path.stat().st_size
    expected = RECORDS_PER_FILE * RECORD_BYTES
    if size != expected:
        raise CorruptDataError(
            f"{path} has {size} bytes, but a CIFAR-10 batch is {expected} bytes "
            f"({RECORDS_PER_FILE} records of {RECORD_BYTES}: 1 label byte and 3072 pixel "
            "bytes); the file is truncated or is not a CIFAR-10 binary batch. Delete it "
            "and run again to extract a fresh copy."
        )
    records = np.fromfile(path, dtype=np.uint8).reshape(RECORDS_PER_FILE, RECORD_BYTES)
    labels = records[:, 0].astype(np.int64)
    bad = np.flatnonzero(labels >= len(CLASSES))
    if bad.size:
        raise CorruptDataError(
            f"{path}: record {bad[0]} has label {labels[bad[0]]}, but CIFAR-10 labels are "
            "0-9; the file is corrupt or is not a CIFAR-10 binary batch."
        )
    return records[:, 1:].reshape(-1, *IMAGE_SHAPE), labels


def load_cifar10(split: str = "train", *, download: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The `split` ("train": 50,000 images, "test": 10,000) as uint8 images and int64 labels.

    Shape:
        images `(N, 3, 32, 32)` with values 0-255, labels `(N,)` with values 0-9.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    batches = data_root() / FOLDER / BATCHES
    if not all((batches / name).is_file() for name in SPLITS[split]):
        _extract(_archive(download), batches)
    parts = [read_batch(batches / name) for name in SPLITS[split]]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _archive(download: bool) -> Path:
    """The verified archive in the data root, downloaded when missing (and allowed)."""
    try:
        archive = find_or_download(FOLDER, [ARCHIVE], download=download) / ARCHIVE.filename
    except DataUnavailableError as error:
        files = ", ".join(name for names in SPLITS.values() for name in names)
        folder = data_root() / FOLDER / BATCHES
        raise DataUnavailableError(
            f"{error}\nOr put the extracted files ({files}) in {folder}."
        ) from None
    digest = hashlib.sha256()
    with archive.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    if digest.hexdigest() != ARCHIVE.sha256:
        raise CorruptDataError(
            f"{archive} is not the official CIFAR-10 binary archive (SHA-256 "
            f"{digest.hexdigest()}, expected {ARCHIVE.sha256}); delete it and run again to "
            f"download it, or replace it with the file from {ARCHIVE.urls[0]}."
        )
    return archive


def _extract(archive: Path, batches: Path) -> None:
    """Unpack the batch files into `batches`, atomically: all of them or nothing."""
    wanted = {f"{BATCHES}/{name}" for names in SPLITS.values() for name in names}
    with tempfile.TemporaryDirectory(prefix=".extract-", dir=batches.parent) as temp:
        try:
            with tarfile.open(archive, "r:gz") as tar:
                members = [m for m in tar.getmembers() if _is_safe(m) and m.name in wanted]
                missing = wanted - {m.name for m in members}
                if missing:
                    raise CorruptDataError(
                        f"{archive} lacks {', '.join(sorted(missing))}: it is not the "
                        "CIFAR-10 binary archive; delete it and run again."
                    )
                tar.extractall(temp, members=members, filter="data")
        except (tarfile.TarError, EOFError, OSError) as error:
            raise CorruptDataError(
                f"{archive} could not be unpacked ({error}); delete it and run again."
            ) from None
        for name in wanted:
            read_batch(Path(temp) / name)  # every file checked before any is kept
        if batches.exists():
            shutil.rmtree(batches)
        Path(temp, BATCHES).replace(batches)


def _is_safe(member: tarfile.TarInfo) -> bool:
    """A regular file with a relative path that stays inside the extraction folder."""
    path = PurePosixPath(member.name)
    return member.isfile() and not path.is_absolute() and ".." not in path.parts
