"""Helpers for the tests of module 08 (DataLoader) that run beside the student's code."""

from __future__ import annotations

import numpy as np

from tinytorch.core.dataloader import Dataset


class Squares(Dataset):
    """A dataset with only __len__ and __getitem__: the loader's slow path.

    Sample `i` is `(a 2x2 image full of i, the label i * i)`; there are 7 samples.
    """

    def __len__(self):
        return 7

    def __getitem__(self, index):
        return np.full((2, 2), float(index)), index * index


def epochs(loader, count=1):
    """`count` passes over `loader`; each pass is, for every batch, the `.data` of each of
    its fields.

    The same as iterating on the trusted side and fetching every field's `.data`, in one
    request instead of two per batch (tests run many epochs).
    """
    return [[tuple(field.data for field in batch) for batch in loader] for _ in range(count)]
