"""The 8x8 handwritten digits bundled with the course (`digits.npz`, 1,797 images).

Source: the test part of the UCI "Optical Recognition of Handwritten Digits" data set
(E. Alpaydin and C. Kaynak, 1998; CC BY 4.0), as shipped in scikit-learn's
`digits.csv.gz`: 32x32 bitmaps of digits written by 43 people, reduced to 8x8 blocks
counting the set pixels (values 0-16). `python -m milestones.datasets.digits CSV_GZ`
rebuilds the `.npz` from that CSV (64 pixel values, then the label, per line) with a fixed
stratified split: 80% train (1,437 images), 20% test (360).
"""

from __future__ import annotations

import argparse
import gzip
from pathlib import Path

import numpy as np

__all__ = ["load_digits", "DIGITS_FILE"]

DIGITS_FILE = Path(__file__).with_name("digits.npz")
TEST_FRACTION = 0.2
SPLIT_SEED = 1998


def load_digits(split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """uint8 images `(N, 8, 8)` with values 0-16 and int64 labels `(N,)` of one split."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    with np.load(DIGITS_FILE, allow_pickle=False) as archive:
        return archive[f"{split}_images"], archive[f"{split}_labels"].astype(np.int64)


def build(csv_gz: Path, target: Path = DIGITS_FILE) -> None:
    """Write `target` from scikit-learn's `digits.csv.gz`, split per class by a fixed seed."""
    with gzip.open(csv_gz, "rt") as text:
        table = np.loadtxt(text, delimiter=",", dtype=np.int64)
    if table.ndim != 2 or table.shape[1] != 65:
        raise ValueError(f"{csv_gz}: expected 65 columns (64 pixels and a label)")
    images, labels = table[:, :64].reshape(-1, 8, 8).astype(np.uint8), table[:, 64]
    rng = np.random.default_rng(SPLIT_SEED)
    test = np.zeros(len(labels), dtype=bool)
    for digit in range(10):
        members = rng.permutation(np.flatnonzero(labels == digit))
        test[members[: round(TEST_FRACTION * len(members))]] = True
    np.savez_compressed(
        target,
        train_images=images[~test],
        train_labels=labels[~test].astype(np.uint8),
        test_images=images[test],
        test_labels=labels[test].astype(np.uint8),
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Rebuild digits.npz from digits.csv.gz.")
    parser.add_argument(
        "csv_gz", type=Path, help="scikit-learn's sklearn/datasets/data/digits.csv.gz"
    )
    build(parser.parse_args().csv_gz)
    print(f"wrote {DIGITS_FILE}")
