"""Milestone data: verified atomic downloads, the IDX reader, MNIST-style and digits loaders.

Everything runs on small files written here in the real formats; downloads go through a
fake opener, so nothing touches the network.
"""

import gzip
import hashlib
import io
import struct

import numpy as np
import pytest

from milestones.datasets import fetch
from milestones.datasets.digits import load_digits
from milestones.datasets.fetch import DataUnavailableError, RemoteFile, find_or_download
from milestones.datasets.idx import IdxFormatError, read_idx, write_idx
from milestones.datasets.mnist import FASHION_MNIST_FILES, MNIST_FILES, load_fashion_mnist


@pytest.fixture
def data_root(tmp_path, monkeypatch):
    root = tmp_path / "data"
    monkeypatch.setenv(fetch.DATA_ENV, str(root))
    return root


def _remote(content, name="file.bin", urls=("https://a.example/f", "https://b.example/f")):
    return RemoteFile(name, urls, hashlib.sha256(content).hexdigest())


def _opener(responses):
    """A fake urlopen: bytes for a URL, or an OSError to raise; records the URLs asked."""
    asked = []

    def opener(url):
        asked.append(url)
        response = responses[url]
        if isinstance(response, Exception):
            raise response
        return io.BytesIO(response)

    opener.asked = asked
    return opener


# ---- fetch ----
def test_data_root_is_the_environment_variable_or_the_user_cache(tmp_path, monkeypatch):
    monkeypatch.setenv(fetch.DATA_ENV, str(tmp_path))
    assert fetch.data_root() == tmp_path
    monkeypatch.delenv(fetch.DATA_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert fetch.data_root() == tmp_path / "cache" / "tinytorch"


def test_download_verifies_then_keeps_the_file_and_reuses_it(data_root):
    remote = _remote(b"payload")
    opener = _opener({remote.urls[0]: OSError("mirror down"), remote.urls[1]: b"payload"})
    folder = find_or_download("toy", [remote], opener=opener)
    assert folder == data_root / "toy"
    assert (folder / "file.bin").read_bytes() == b"payload"
    assert sorted(p.name for p in folder.iterdir()) == ["file.bin"], "a temporary file remained"
    assert opener.asked == list(remote.urls), "the second mirror should be tried after the first"
    find_or_download("toy", [remote], opener=_opener({}))  # present: no download at all


def test_a_checksum_mismatch_caches_nothing_and_says_what_happened(data_root):
    remote = _remote(b"the real thing")
    opener = _opener({url: b"something else" for url in remote.urls})
    with pytest.raises(DataUnavailableError) as error:
        find_or_download("toy", [remote], opener=opener)
    message = str(error.value)
    assert "SHA-256" in message and remote.sha256 in message
    assert not any((data_root / "toy").iterdir()), "a file that failed its checksum was kept"


def test_offline_error_lists_every_missing_file_its_sources_and_its_place(data_root):
    present, missing_a, missing_b = _remote(b"1", "a"), _remote(b"2", "b"), _remote(b"3", "c")
    (data_root / "toy").mkdir(parents=True)
    (data_root / "toy" / "a").write_bytes(b"1")
    with pytest.raises(DataUnavailableError) as error:
        find_or_download("toy", [present, missing_a, missing_b], download=False)
    message = str(error.value)
    assert str(data_root / "toy") in message
    for remote in (missing_a, missing_b):
        assert remote.filename in message and remote.urls[0] in message
    assert "  a  (" not in message, "a file that is present was listed as missing"
    assert fetch.DATA_ENV in message


def test_tinytorch_offline_turns_downloads_off(data_root, monkeypatch):
    monkeypatch.setenv(fetch.OFFLINE_ENV, "1")
    remote = _remote(b"data")
    with pytest.raises(DataUnavailableError, match=fetch.OFFLINE_ENV):
        find_or_download("toy", [remote], opener=_opener({}))


def test_a_dropped_connection_leaves_no_partial_file(data_root):
    class Broken(io.BytesIO):
        def read(self, size=-1):
            raise ConnectionResetError("connection reset")

    remote = _remote(b"data", urls=("https://a.example/f",))
    with pytest.raises(DataUnavailableError, match="connection reset"):
        find_or_download("toy", [remote], opener=lambda url: Broken(b""))
    assert list((data_root / "toy").iterdir()) == []


@pytest.mark.parametrize(
    "name, urls, sha256",
    [("", ("u",), "0" * 64), ("a/b", ("u",), "0" * 64), ("a", (), "0" * 64), ("a", ("u",), "abc")],
)
def test_remote_file_rejects_malformed_entries(name, urls, sha256):
    with pytest.raises(ValueError):
        RemoteFile(name, urls, sha256)


def test_official_file_tables_are_complete():
    for files in (MNIST_FILES, FASHION_MNIST_FILES):
        assert len(files) == 4 and len({f.sha256 for f in files.values()}) == 4
        assert all(
            url.startswith("http") and url.endswith(f.filename)
            for f in files.values()
            for url in f.urls
        )


# ---- idx ----
@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_idx_round_trip(tmp_path, suffix, dtype):
    array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    path = write_idx(tmp_path / f"x{suffix}", array)
    assert path.read_bytes()[:2] == (b"\x1f\x8b" if suffix else b"\x00\x00")
    back = read_idx(path, dtype=dtype, ndim=3)
    assert back.dtype == dtype and np.array_equal(back, array)


def _header(code, *dims):
    return struct.pack(f">BBBB{len(dims)}I", 0, 0, code, len(dims), *dims)


@pytest.mark.parametrize(
    "content, problem",
    [
        (b"", "not an IDX file"),
        (b"\x01\x02\x08\x01", "not an IDX file"),
        (_header(0x07, 2), "unknown IDX type code"),
        (b"\x00\x00\x08\x00", "0 dimensions"),
        (_header(0x08, 2, 3)[:9], "truncated inside the header"),
        (_header(0x08, 2, 3) + bytes(5), "truncated"),
        (_header(0x08, 2, 3) + bytes(7), "extra bytes"),
        (gzip.compress(_header(0x08, 4) + bytes(4))[:-6], "corrupt or truncated gzip"),
        (b"\x1f\x8b" + bytes(30), "corrupt or truncated gzip"),
    ],
    ids=["empty", "magic", "type", "no-dims", "header", "short", "long", "gzip-cut", "gzip-bad"],
)
def test_malformed_idx_files_are_clear_errors(tmp_path, content, problem):
    path = tmp_path / "bad-idx"
    path.write_bytes(content)
    with pytest.raises(IdxFormatError, match=problem) as error:
        read_idx(path)
    assert str(path) in str(error.value)


def test_idx_type_and_rank_are_checked(tmp_path):
    path = write_idx(tmp_path / "labels", np.zeros(5, dtype=np.uint8))
    with pytest.raises(IdxFormatError, match="expected float32"):
        read_idx(path, dtype=np.float32)
    with pytest.raises(IdxFormatError, match="expected 3"):
        read_idx(path, ndim=3)


# ---- mnist-style loaders ----
def _fake_fashion(root, count=6, gz=True, labels=None):
    folder = root / "fashion-mnist"
    folder.mkdir(parents=True, exist_ok=True)
    images = np.arange(count * 784, dtype=np.int64).reshape(count, 28, 28).astype(np.uint8)
    labels = np.arange(count, dtype=np.uint8) % 10 if labels is None else labels
    suffix = ".gz" if gz else ""
    write_idx(folder / f"t10k-images-idx3-ubyte{suffix}", images)
    write_idx(folder / f"t10k-labels-idx1-ubyte{suffix}", labels)
    return images, labels


@pytest.mark.parametrize("gz", [True, False], ids=["gzip", "raw"])
def test_fashion_mnist_loader_reads_idx_files_from_the_data_root(data_root, gz):
    images, labels = _fake_fashion(data_root, gz=gz)
    x, y = load_fashion_mnist("test", download=False)
    assert x.dtype == np.uint8 and x.shape == (6, 28, 28) and np.array_equal(x, images)
    assert y.dtype == np.int64 and np.array_equal(y, labels)


def test_loader_rejects_mismatched_files(data_root):
    _fake_fashion(data_root, labels=np.zeros(5, dtype=np.uint8))
    with pytest.raises(IdxFormatError, match="6 images but"):
        load_fashion_mnist("test", download=False)
    _fake_fashion(data_root, labels=np.full(6, 12, dtype=np.uint8))
    with pytest.raises(IdxFormatError, match="label 12"):
        load_fashion_mnist("test", download=False)


def test_loader_offline_without_files_names_them(data_root):
    with pytest.raises(DataUnavailableError, match="train-images-idx3-ubyte.gz"):
        load_fashion_mnist("train", download=False)
    with pytest.raises(ValueError, match="split"):
        load_fashion_mnist("validation", download=False)


# ---- digits ----
def test_bundled_digits_are_a_stratified_split_of_the_uci_test_set():
    x_train, y_train = load_digits("train")
    x_test, y_test = load_digits("test")
    assert x_train.shape == (1438, 8, 8) and x_test.shape == (359, 8, 8)
    assert x_train.dtype == np.uint8 and max(x_train.max(), x_test.max()) == 16
    assert y_train.dtype == np.int64 and set(np.unique(y_test)) == set(range(10))
    assert np.all(np.bincount(y_test) >= 35), "every class should be in the test split"
