"""The CIFAR-10 loader on small files written in the real binary format: good files,
archives downloaded and extracted, and truncated or corrupt files (a clear error, and
nothing left in the cache)."""

import hashlib
import io
import tarfile

import numpy as np
import pytest

from milestones.datasets import cifar10, fetch
from milestones.datasets.cifar10 import CorruptDataError, load_cifar10
from milestones.datasets.fetch import DataUnavailableError, RemoteFile

RECORDS = 3
NAMES = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]


def _batch(seed: int, labels=None) -> bytes:
    """RECORDS records: a label byte then 3072 pixel bytes (R plane, G plane, B plane)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, RECORDS) if labels is None else np.asarray(labels)
    pixels = rng.integers(0, 256, (RECORDS, 3072))
    return np.column_stack([labels, pixels]).astype(np.uint8).tobytes()


def _archive(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _official_members() -> dict[str, bytes]:
    return {f"cifar-10-batches-bin/{name}": _batch(i) for i, name in enumerate(NAMES)}


@pytest.fixture
def root(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYTORCH_DATA", str(tmp_path))
    monkeypatch.delenv("TINYTORCH_OFFLINE", raising=False)
    monkeypatch.setattr(cifar10, "RECORDS_PER_FILE", RECORDS)
    return tmp_path


def _use_archive(monkeypatch, data: bytes) -> None:
    """Make `data` the archive the loader expects (its SHA-256) and serves (its URL)."""
    remote = RemoteFile(
        "cifar-10-binary.tar.gz",
        ("https://example.invalid/c.tgz",),
        hashlib.sha256(data).hexdigest(),
    )
    monkeypatch.setattr(cifar10, "ARCHIVE", remote)
    monkeypatch.setattr(fetch, "_urlopen", lambda url: io.BytesIO(data))


def test_extracted_files_put_by_hand_are_read_in_chw_order(root):
    folder = root / "cifar-10" / "cifar-10-batches-bin"
    folder.mkdir(parents=True)
    for i, name in enumerate(NAMES):
        (folder / name).write_bytes(_batch(i))
    images, labels = load_cifar10("test", download=False)
    raw = np.frombuffer(_batch(5), np.uint8).reshape(RECORDS, 3073)
    assert images.shape == (3, 3, 32, 32) and images.dtype == np.uint8
    np.testing.assert_array_equal(labels, raw[:, 0])
    np.testing.assert_array_equal(images[1, 0, 0, :5], raw[1, 1:6])  # red plane first
    np.testing.assert_array_equal(images[2, 2, 31, 31], raw[2, 3072])  # last blue pixel
    train_images, _ = load_cifar10("train", download=False)
    assert train_images.shape == (15, 3, 32, 32)


def test_archive_is_downloaded_verified_and_extracted(root, monkeypatch):
    _use_archive(monkeypatch, _archive(_official_members()))
    images, labels = load_cifar10("train")
    assert images.shape == (15, 3, 32, 32) and labels.dtype == np.int64
    assert sorted(p.name for p in (root / "cifar-10" / "cifar-10-batches-bin").iterdir()) == sorted(
        NAMES
    )
    assert [p.name for p in (root / "cifar-10").iterdir() if p.name.startswith(".")] == []


def test_offline_without_data_says_which_files_go_where(root):
    with pytest.raises(DataUnavailableError) as error:
        load_cifar10("train", download=False)
    message = str(error.value)
    assert "cifar-10-binary.tar.gz" in message and str(root / "cifar-10") in message
    assert "data_batch_1.bin" in message and "cifar-10-batches-bin" in message


def test_a_failed_download_explains_and_caches_nothing(root, monkeypatch):
    def offline(url):
        raise OSError("network is unreachable")

    monkeypatch.setattr(fetch, "_urlopen", offline)
    with pytest.raises(DataUnavailableError, match="network is unreachable"):
        load_cifar10("test")
    assert not list((root / "cifar-10").glob("*")), "a failed download must leave nothing"


def test_truncated_batch_file_is_a_clear_error(root):
    folder = root / "cifar-10" / "cifar-10-batches-bin"
    folder.mkdir(parents=True)
    for i, name in enumerate(NAMES):
        (folder / name).write_bytes(_batch(i)[:-100] if name == "test_batch.bin" else _batch(i))
    with pytest.raises(CorruptDataError, match=r"9119 bytes.*9219 bytes.*truncated"):
        load_cifar10("test", download=False)


def test_label_out_of_range_is_a_clear_error(root):
    folder = root / "cifar-10" / "cifar-10-batches-bin"
    folder.mkdir(parents=True)
    for i, name in enumerate(NAMES):
        (folder / name).write_bytes(_batch(i, labels=[1, 12, 3]))
    with pytest.raises(CorruptDataError, match="record 1 has label 12"):
        load_cifar10("test", download=False)


@pytest.mark.parametrize(
    "make_archive, message",
    [
        (lambda: b"this is not a gzip file at all", "could not be unpacked"),
        (lambda: _archive(_official_members())[:5000], "could not be unpacked"),
        (
            lambda: _archive(
                {**_official_members(), "cifar-10-batches-bin/test_batch.bin": _batch(0)[:-1]}
            ),
            "truncated",
        ),
        (
            lambda: _archive(
                {
                    k.replace("cifar-10-batches-bin/", "../") if "test" in k else k: v
                    for k, v in _official_members().items()
                }
            ),
            "lacks cifar-10-batches-bin/test_batch.bin",
        ),
    ],
    ids=["not-gzip", "truncated-archive", "truncated-member", "unsafe-path"],
)
def test_corrupt_archives_are_clear_errors_and_nothing_is_extracted(
    root, monkeypatch, make_archive, message
):
    _use_archive(monkeypatch, make_archive())
    with pytest.raises(CorruptDataError, match=message):
        load_cifar10("train")
    leftovers = [p.name for p in (root / "cifar-10").iterdir()]
    assert leftovers == ["cifar-10-binary.tar.gz"], f"left behind: {leftovers}"
    assert not (root / "cifar-10" / "test_batch.bin").exists(), "an unsafe member escaped"


def test_an_archive_that_is_not_the_official_one_is_refused(root, monkeypatch):
    folder = root / "cifar-10"
    folder.mkdir()
    (folder / "cifar-10-binary.tar.gz").write_bytes(_archive(_official_members()))
    with pytest.raises(CorruptDataError, match="SHA-256"):
        load_cifar10("train")
    assert [p.name for p in folder.iterdir()] == ["cifar-10-binary.tar.gz"]
