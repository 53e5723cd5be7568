# %% [markdown]
# # Module 08: DataLoader
#
# Training reads data in mini-batches: shuffled every epoch (reproducibly, from a
# seed), stacked into tensors, and augmented on the fly. This module builds the
# pieces, named as in PyTorch: `Dataset`, `TensorDataset`, `DataLoader`, and the image
# transforms `Normalize`, `RandomCrop`, `RandomHorizontalFlip` and `Compose`.
#
# NOTE: transforms here work on a whole batch `(N, C, H, W)` at once, never image by
# image or pixel by pixel: one NumPy call handles all 64 images of a batch. Apply them
# inside the training loop: `for x, y in loader: x = augment(x)`.
#
# Tasks: 08.1 TensorDataset, 08.2 batching, 08.3 shuffling, 08.4 Normalize,
# 08.5 RandomHorizontalFlip, 08.6 RandomCrop.


# %%
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from tinytorch.core.tensor import Tensor

__all__ = [
    "Dataset",
    "TensorDataset",
    "DataLoader",
    "Compose",
    "Normalize",
    "RandomCrop",
    "RandomHorizontalFlip",
]

Generator = np.random.Generator | int | None


def _generator(generator: Generator) -> np.random.Generator:
    """A NumPy generator: the one given, a fresh one seeded with an int, or an unseeded one."""
    if isinstance(generator, np.random.Generator):
        return generator
    return np.random.default_rng(generator)


def _array(value: Any) -> np.ndarray:
    """The array behind a Tensor, or `value` as an array."""
    return value.data if isinstance(value, Tensor) else np.asarray(value)


def _to_tensor(batch: np.ndarray) -> Tensor:
    """A batch as a Tensor: integer labels stay int64, everything else becomes float32."""
    if np.issubdtype(batch.dtype, np.integer) or batch.dtype == bool:
        return Tensor(batch, dtype=np.int64)
    return Tensor(batch)


# %% [markdown]
# ## Datasets (given: `Dataset`)
#
# A dataset is anything with a length and an item per index. `Dataset.get_batch` is
# how the loader asks for many items at once; the default asks item by item and
# stacks. `TensorDataset` overrides it with one fancy-indexing call per array: that is
# the fast path, and why a loader over arrays costs almost nothing.


# %%
class Dataset:
    """Base class of map-style datasets (as `torch.utils.data.Dataset`).

    Subclasses define `__len__` and `__getitem__(index)`, which returns one sample: a
    tuple of arrays (or numbers), such as `(image, label)`.
    """

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} does not define __len__")

    def __getitem__(self, index: int) -> tuple[Any, ...]:
        raise NotImplementedError(f"{type(self).__name__} does not define __getitem__")

    def get_batch(self, indices: np.ndarray) -> tuple[np.ndarray, ...]:
        """The samples at `indices`, stacked field by field (the batch dimension first).

        The default fetches one sample at a time; override it when your data supports
        indexing with an array of indices.
        """
        samples = [self[int(i)] for i in indices]
        fields = zip(*samples, strict=True)
        return tuple(np.stack([_array(value) for value in field]) for field in fields)


# %% [markdown]
# ## Task 08.1: TensorDataset
#
# Wrap arrays (or tensors) that share their first dimension: sample `i` is
# `(a[i], b[i], ...)`. Check the lengths up front and name them in the error.


# %%
class TensorDataset(Dataset):
    """Samples are the rows of arrays (or tensors) with the same first dimension.

    Example:
        >>> data = TensorDataset(np.zeros((5, 3)), np.arange(5))
        >>> len(data), data[2][1]
        (5, 2)

    Shape:
        Each of `arrays` is `(N, *)`; sample `i` is `(arrays[0][i], arrays[1][i], ...)`.
    """

    def __init__(self, *arrays: Any) -> None:
        if not arrays:
            raise ValueError("TensorDataset needs at least one array")
        # TODO (Task 08.1)
        raise NotImplementedError(
            'Task 08.1: implement TensorDataset.__init__. Hint: keep plain ndarrays (unwrap '
            'tensors with _array); compare len() of each.'
        )

    def __len__(self) -> int:
        # TODO (Task 08.1)
        raise NotImplementedError('Task 08.1: implement TensorDataset.__len__.')

    def __getitem__(self, index: int) -> tuple[np.ndarray, ...]:
        # TODO (Task 08.1)
        raise NotImplementedError('Task 08.1: implement TensorDataset.__getitem__.')

    def get_batch(self, indices: np.ndarray) -> tuple[np.ndarray, ...]:
        # TODO (Task 08.1)
        raise NotImplementedError(
            'Task 08.1: implement TensorDataset.get_batch. Hint: one fancy-indexing call per '
            'array: a[indices].'
        )


# %% [markdown]
# ## Tasks 08.2 and 08.3: DataLoader
#
# **08.2 batching.** `len(loader)` is the number of batches: `ceil(N / batch_size)`, or
# `N // batch_size` with `drop_last=True` (the short last batch is dropped). Iterating
# yields tuples of Tensors, one per field: float data as float32, integer labels as
# int64.
#
# **08.3 shuffling.** With `shuffle=True`, each pass (each `iter(loader)`) visits the
# samples in a new random order drawn from the loader's generator. The same seed gives
# the same sequence of epochs, so a run can be repeated exactly.


# %%
class DataLoader:
    """Mini-batches of a dataset, optionally shuffled (as `torch.utils.data.DataLoader`).

    Args:
        dataset: a `Dataset` (or anything with `__len__` and `__getitem__`).
        batch_size: samples per batch.
        shuffle: visit the samples in a new random order every epoch.
        drop_last: drop the last batch when it is smaller than `batch_size`.
        generator: a `np.random.Generator`, or an int seed, for the shuffling.

    Example:
        >>> loader = DataLoader(TensorDataset(np.zeros((10, 2)), np.arange(10)), batch_size=4)
        >>> [tuple(x.shape) for x, y in loader]
        [(4, 2), (4, 2), (2, 2)]
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        generator: Generator = None,
    ) -> None:
        if not isinstance(batch_size, int | np.integer) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.generator = _generator(generator)

    def __len__(self) -> int:
        # TODO (Task 08.2)
        raise NotImplementedError(
            'Task 08.2: implement DataLoader.__len__. Hint: ceil(N / batch_size) is -(-N // '
            'batch_size).'
        )

    def _order(self) -> np.ndarray:
        """The sample indices of one epoch, in visiting order."""
        # TODO (Task 08.3)
        raise NotImplementedError(
            'Task 08.3: implement DataLoader._order. Hint: self.generator.permutation(N) when '
            'shuffling, np.arange(N) otherwise.'
        )

    def __iter__(self) -> Iterator[tuple[Tensor, ...]]:
        order = self._order()
        # TODO (Task 08.2)
        raise NotImplementedError(
            'Task 08.2: implement DataLoader.__iter__. Hint: batch b holds order[b * batch_size : '
            '(b + 1) * batch_size]; fetch it with self._fetch(indices) and yield a tuple of '
            '_to_tensor(field) per field.'
        )

    def _fetch(self, indices: np.ndarray) -> tuple[np.ndarray, ...]:
        """One batch: through `get_batch` for a Dataset, item by item otherwise."""
        if isinstance(self.dataset, Dataset):
            return self.dataset.get_batch(indices)
        return Dataset.get_batch(self.dataset, indices)


# %% [markdown]
# ## Transforms (given: `Compose`)
#
# A transform is a callable from a batch to a batch of the same kind. The random ones
# take a `generator` (or seed), so augmentation is reproducible too. They return new
# tensors that are not part of any graph: augmentation happens before the model.


# %%
class Compose:
    """Apply transforms one after another: `Compose([a, b])(x)` is `b(a(x))`."""

    def __init__(self, transforms: Sequence[Callable[[Tensor], Tensor]]) -> None:
        self.transforms = list(transforms)

    def __call__(self, batch: Tensor) -> Tensor:
        for transform in self.transforms:
            batch = transform(batch)
        return batch


def _images(batch: Any, what: str) -> np.ndarray:
    """The array of an (N, C, H, W) batch, or a ValueError naming the shape."""
    data = _array(batch)
    if data.ndim != 4:
        raise ValueError(f"{what} expects a batch of shape (N, C, H, W), got {data.shape}")
    return data


# %% [markdown]
# ## Task 08.4: Normalize
#
# Per channel: `(x - mean[c]) / std[c]`, broadcast over the batch and the pixels by
# reshaping mean and std to `(1, C, 1, 1)`. Keep float32.


# %%
class Normalize:
    """Standardize each channel: `(x - mean[c]) / std[c]` (as torchvision's `Normalize`).

    Shape:
        `(N, C, H, W) -> (N, C, H, W)`; `mean` and `std` have C values.
    """

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        self.mean = np.asarray(mean, dtype=np.float32).reshape(-1)
        self.std = np.asarray(std, dtype=np.float32).reshape(-1)
        if self.mean.shape != self.std.shape or np.any(self.std <= 0):
            raise ValueError(
                f"Normalize needs one mean and one positive std per channel, "
                f"got mean {self.mean.tolist()} and std {self.std.tolist()}"
            )

    def __call__(self, batch: Tensor) -> Tensor:
        x = _images(batch, "Normalize")
        # TODO (Task 08.4)
        raise NotImplementedError(
            "Task 08.4: implement Normalize.__call__. Hint: first a ValueError naming the batch's "
            'shape when its channel count differs.'
        )


# %% [markdown]
# ## Task 08.5: RandomHorizontalFlip
#
# Draw one number per image; flip (mirror left-right: `x[..., ::-1]`) the images whose
# number is below `p`, all at once with `np.where` and a `(N, 1, 1, 1)` mask.


# %%
class RandomHorizontalFlip:
    """Mirror each image left-right with probability `p`.

    Shape:
        `(N, C, H, W) -> (N, C, H, W)`
    """

    def __init__(self, p: float = 0.5, generator: Generator = None) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p must be a probability in [0, 1], got {p}")
        self.p = p
        self.generator = _generator(generator)

    def __call__(self, batch: Tensor) -> Tensor:
        x = _images(batch, "RandomHorizontalFlip")
        # TODO (Task 08.5)
        raise NotImplementedError(
            'Task 08.5: implement RandomHorizontalFlip.__call__. Hint: flip = '
            'self.generator.random(N) < self.p'
        )


# %% [markdown]
# ## Task 08.6: RandomCrop
#
# Pad every image with `padding` zeros on each side, then cut a `size` window at a
# random offset per image: rows `dy[n] : dy[n] + h`, columns `dx[n] : dx[n] + w`, with
# offsets uniform in `0 .. H + 2 * padding - h`. Without a loop over images:
# `np.lib.stride_tricks.sliding_window_view(padded, (h, w), axis=(2, 3))` views every
# window, and indexing it with `[np.arange(N), :, dy, dx]` picks one per image.


# %%
class RandomCrop:
    """A random `size` window of each zero-padded image (as torchvision's `RandomCrop`).

    Args:
        size: output height and width (an int for a square).
        padding: zeros added on every side before cropping.
        generator: a `np.random.Generator`, or an int seed.

    Shape:
        `(N, C, H, W) -> (N, C, size_h, size_w)`
    """

    def __init__(
        self, size: int | tuple[int, int], padding: int = 0, generator: Generator = None
    ) -> None:
        self.size = (size, size) if isinstance(size, int) else tuple(size)
        if padding < 0:
            raise ValueError(f"padding must not be negative, got {padding}")
        self.padding = padding
        self.generator = _generator(generator)

    def __call__(self, batch: Tensor) -> Tensor:
        x = _images(batch, "RandomCrop")
        (h, w), p = self.size, self.padding
        if h > x.shape[2] + 2 * p or w > x.shape[3] + 2 * p:
            raise ValueError(
                f"RandomCrop of size {self.size} does not fit images of shape {x.shape} "
                f"with padding {p}"
            )
        # TODO (Task 08.6)
        raise NotImplementedError(
            'Task 08.6: implement RandomCrop.__call__. Hint: np.pad(x, ((0, 0), (0, 0), (p, p), '
            '(p, p))); self.generator.integers(0, hi + 1, N)'
        )
