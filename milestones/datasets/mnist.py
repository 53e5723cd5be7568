"""MNIST and Fashion-MNIST: 28x28 grey images in 10 classes, read from the original IDX files.

Files are looked up in `<data root>/mnist/` and `<data root>/fashion-mnist/` (see
`fetch.py`; the data root is `$TINYTORCH_DATA` or `~/.cache/tinytorch`), gzip-compressed
(`train-images-idx3-ubyte.gz`) or not (`train-images-idx3-ubyte`). Missing files are
downloaded from the official mirrors and checked against the SHA-256 of the published
`.gz` files.

Checksums: the MNIST sums are those many independent projects publish for the original
files (their MD5s, f68b3c2d..., d53e105e..., 9fb629c4..., ec29112d..., are torchvision's).
The Fashion-MNIST sums were collected from independent third-party code, consistent with
the MD5s Zalando publishes (8d4fb7e6..., 25c81989..., bef4ecab..., bb300cfd...). Neither
set could be checked against a download while this was written (no network); the copies
of Fashion-MNIST at hand came from a Debian package that recompresses the files, so their
`.gz` bytes differ while the IDX contents are the same. Such repackaged copies are fine in
`$TINYTORCH_DATA`: files already in the data root are read, never checksummed, and the IDX
reader validates them.
"""

from __future__ import annotations

import numpy as np

from milestones.datasets.fetch import RemoteFile, data_root, find_or_download
from milestones.datasets.idx import IdxFormatError, read_idx

__all__ = ["load_mnist", "load_fashion_mnist", "MNIST_FILES", "FASHION_MNIST_FILES"]

MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
FASHION_MNIST_MIRRORS = (
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
)
NAMES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


FILE_NAMES = (*NAMES["train"], *NAMES["test"])


def _files(mirrors: tuple[str, ...], sums: tuple[str, ...]) -> dict[str, RemoteFile]:
    """RemoteFiles for FILE_NAMES (in that order) from `mirrors`."""
    return {
        name: RemoteFile(name, tuple(mirror + name for mirror in mirrors), sha256)
        for name, sha256 in zip(FILE_NAMES, sums, strict=True)
    }


# SHA-256 of the published .gz files, in the order of FILE_NAMES.
MNIST_FILES = _files(
    MNIST_MIRRORS,
    (
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    ),
)
FASHION_MNIST_FILES = _files(
    FASHION_MNIST_MIRRORS,
    (
        "08dc20ab1689590a0bcd66e874647b6ee8464e2d501b5a3f1f78831db19a3fdc",
        "b0197879cbda89f3dc7b894f9fd52b858e68ea4182b6947c9d8c2b67e5f18dcc",
        "78dcbbfb5a27efaf1b6c1d616caca68560be8766c5bffcb2791df9273a534229",
        "42bd18137a62d5998cdeae52bf3a0676ac6b706f5cf8439b47bb5b151ae3dccf",
    ),
)
FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip


def _load(
    dataset: str, files: dict[str, RemoteFile], split: str, download: bool
) -> tuple[np.ndarray, np.ndarray]:
    if split not in NAMES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    folder = data_root() / dataset
    raw = [folder / name.removesuffix(".gz") for name in NAMES[split]]
    missing = [files[n] for n, r in zip(NAMES[split], raw, strict=True) if not r.is_file()]
    if missing:
        find_or_download(dataset, missing, download=download)
    paths = [r if r.is_file() else folder / n for n, r in zip(NAMES[split], raw, strict=True)]
    images = read_idx(paths[0], dtype=np.uint8, ndim=3)
    labels = read_idx(paths[1], dtype=np.uint8, ndim=1)
    if images.shape[1:] != (28, 28):
        raise IdxFormatError(f"{paths[0]}: images of {images.shape[1:]} pixels, expected 28x28")
    if len(images) != len(labels):
        raise IdxFormatError(
            f"{paths[0].name} holds {len(images)} images but {paths[1].name} {len(labels)} labels"
        )
    if labels.size and labels.max() > 9:
        raise IdxFormatError(f"{paths[1]}: label {labels.max()} is not a class 0-9")
    return images, labels.astype(np.int64)


def load_mnist(split: str = "train", download: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """MNIST handwritten digits: uint8 images `(N, 28, 28)` and int64 labels `(N,)`.

    `split` is "train" (60,000) or "test" (10,000).
    """
    return _load("mnist", MNIST_FILES, split, download)


def load_fashion_mnist(
    split: str = "train", download: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Fashion-MNIST clothing images: uint8 `(N, 28, 28)` and int64 labels `(N,)`.

    `split` is "train" (60,000) or "test" (10,000); class names in FASHION_MNIST_CLASSES.
    """
    return _load("fashion-mnist", FASHION_MNIST_FILES, split, download)
