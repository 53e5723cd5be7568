"""Small data sets the tests of several modules train on."""

from __future__ import annotations

import numpy as np

CENTERS = np.array([[2.0, 0.0], [-2.0, 0.0], [0.0, 2.5]])


def blobs(n_per_class: int = 40, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """Three Gaussian blobs in 2-D: float32 points and int64 labels, easy to separate."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(len(CENTERS)), n_per_class)
    points = CENTERS[labels] + 0.6 * rng.standard_normal((len(labels), 2))
    return points.astype(np.float32), labels.astype(np.int64)
