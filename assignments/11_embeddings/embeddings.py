# %% [markdown]
# # Module 11: Embeddings
#
# A language model reads token ids (module 10), but a network computes with vectors. An
# `Embedding` is a table of `num_embeddings` learned vectors: token id `i` becomes row
# `i` of `weight`. Looking rows up is just fancy indexing, `weight[ids]`; the interesting
# part is the backward. The same id appears many times in a batch, and every occurrence
# adds its gradient into the same row: a scatter-add (`np.add.at`), never a plain
# assignment, which would keep only the last one.
#
# Attention (module 12) has no idea of order: it treats its input as a set. Position
# enters through a second vector added to each token's: either a learned table, one row
# per position (GPT-2), or the fixed sines and cosines of Vaswani et al. (2017).
#
# Tasks: 11.1 the lookup, 11.2 its backward (scatter-add, padding_idx), 11.3 the
# `Embedding` layer, 11.4 the sinusoidal table, 11.5 the positional layers.


# %%
from __future__ import annotations

from typing import Any

import numpy as np

from tinytorch.core.autograd import backward_rule
from tinytorch.core.layers import Module, Parameter
from tinytorch.core.tensor import Context, Function, Tensor

__all__ = [
    "embedding",
    "Embedding",
    "sinusoidal_positional_encoding",
    "PositionalEmbedding",
    "SinusoidalPositionalEncoding",
]

Gradients = tuple[np.ndarray | None, ...]


# %% [markdown]
# ## Helpers (given)
#
# `Tensor([1, 2])` is float32 in tinytorch, so the most common mistake with an embedding
# is feeding it float ids. `_indices` refuses those (and ids outside the table) with an
# error that says what to do, instead of silently truncating 2.7 to 2.


# %%
def _indices(input: Any, num_embeddings: int, what: str) -> np.ndarray:  # noqa: A002
    """The integer array inside `input`, checked against a table of `num_embeddings` rows."""
    ids = np.asarray(input.data if isinstance(input, Tensor) else input)
    if ids.dtype == bool or not np.issubdtype(ids.dtype, np.integer):
        raise TypeError(
            f"{what} needs integer token ids, got dtype {ids.dtype}: make them with "
            "Tensor(ids, dtype=np.int64)"
        )
    if ids.size and (ids.min() < 0 or ids.max() >= num_embeddings):
        bad = ids.min() if ids.min() < 0 else ids.max()
        raise IndexError(
            f"{what}: index {bad} is out of range for a table of {num_embeddings} rows "
            f"(valid ids are 0 to {num_embeddings - 1})"
        )
    return ids


def _padding_index(padding_idx: int | None, num_embeddings: int) -> int | None:
    """`padding_idx` as a row number (negative counts from the end, as in PyTorch)."""
    if padding_idx is None:
        return None
    if not -num_embeddings <= padding_idx < num_embeddings:
        raise ValueError(
            f"padding_idx must be within num_embeddings ({num_embeddings}), got {padding_idx}"
        )
    return padding_idx % num_embeddings


# %% [markdown]
# ## Task 11.1: the lookup
#
# `out[..., :] = weight[ids[...], :]`: the output has the ids' shape plus one axis of
# size `embedding_dim`. NumPy's integer-array indexing does exactly that in one call.


# %%
class EmbeddingFn(Function):
    """Rows of `weight` picked by an integer array of ids."""

    @staticmethod
    def forward(
        ctx: Context, ids: np.ndarray, weight: np.ndarray, padding_idx: int | None
    ) -> np.ndarray:
        # TODO (Task 11.1)
        raise NotImplementedError(
            'Task 11.1: implement EmbeddingFn.forward. Hint: one fancy index: weight[ids] has '
            'shape ids.shape + (embedding_dim,).'
        )


# %% [markdown]
# ## Task 11.2: the backward, a scatter-add
#
# Row `i` of the weight gradient is the sum of the output gradients of every position
# that looked up id `i`. `grad_weight[ids] += grad` is wrong: NumPy's `+=` through a
# fancy index writes each repeated row once, so repeats are lost. `np.add.at` adds every
# occurrence (correct, and enough to pass). Faster, measured on 2,048 ids (7x for a
# table of 65 rows, 2x for 5,000): sort the ids, sum each run of equal ids with
# `np.add.reduceat`, write every sum once. The row at `padding_idx` gets no gradient
# (PyTorch: padding tokens never train their vector). The ids get None.


# %%
@backward_rule(EmbeddingFn)
def embedding_backward(ctx: Context, grad_output: np.ndarray) -> Gradients:
    ids, weight = ctx.inputs[0], ctx.inputs[1]
    padding_idx = ctx.params["padding_idx"]
    # TODO (Task 11.2)
    raise NotImplementedError(
        'Task 11.2: implement embedding_backward. Hint: grad_weight = np.zeros_like(weight); '
        'np.add.at(grad_weight, ids.reshape(-1), grad_output.reshape(-1, weight.shape[1])) works; '
        'faster: order = np.argsort(ids), run starts = np.flatnonzero(np.r_[True, sorted[1:] != '
        'sorted[:-1]]), sums = np.add.reduceat(rows[order], starts, axis=0) (not for zero ids); '
        'zero padding_idx.'
    )


def embedding(input: Any, weight: Tensor, padding_idx: int | None = None) -> Tensor:  # noqa: A002
    """Look up rows of `weight` by integer ids, like `F.embedding`.

    Args:
        input: integer ids (a Tensor of dtype int64 or int32, or an integer array).
        weight: the table, shape `(num_embeddings, embedding_dim)`.
        padding_idx: a row that gets no gradient (its vector is used as it is).

    Shape:
        `(*) -> (*, embedding_dim)`
    """
    if weight.ndim != 2:
        raise ValueError(
            f"embedding needs a weight of shape (num_embeddings, embedding_dim), "
            f"got {tuple(weight.shape)}"
        )
    ids = _indices(input, weight.shape[0], "embedding")
    padding = _padding_index(padding_idx, weight.shape[0])
    return EmbeddingFn.apply(ids, weight, padding_idx=padding)


# %% [markdown]
# ## Task 11.3: the Embedding layer
#
# PyTorch draws the table from N(0, 1) and, when there is a `padding_idx`, sets that row
# to zeros, so padding contributes nothing until something else changes it.


# %%
class Embedding(Module):
    """A lookup table of learned vectors, as `torch.nn.Embedding`.

    Args:
        num_embeddings: size of the vocabulary (ids run from 0 to num_embeddings - 1).
        embedding_dim: size of each vector.
        padding_idx: a row that starts at zero and never gets a gradient (negative
            values count from the end).
        rng: NumPy generator for the initial values (reproducible runs).

    Shape:
        `(*)` integer ids `-> (*, embedding_dim)`

    Example:
        >>> Embedding(10, 3)(Tensor([[1, 2], [2, 9]], dtype=np.int64)).shape
        (2, 2, 3)
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        rng: np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        if num_embeddings < 1 or embedding_dim < 1:
            raise ValueError(
                f"Embedding needs num_embeddings >= 1 and embedding_dim >= 1, got "
                f"num_embeddings={num_embeddings}, embedding_dim={embedding_dim}"
            )
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = _padding_index(padding_idx, num_embeddings)
        generator = rng if rng is not None else np.random.default_rng()
        # TODO (Task 11.3)
        raise NotImplementedError(
            'Task 11.3: implement Embedding.__init__. Hint: '
            'generator.standard_normal((num_embeddings, embedding_dim)) as float32 in a Parameter; '
            'the row self.padding_idx (when not None) set to zeros.'
        )

    def forward(self, input: Any) -> Tensor:  # noqa: A002
        return embedding(input, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        padding = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"{self.num_embeddings}, {self.embedding_dim}{padding}"


# %% [markdown]
# ## Task 11.4: the sinusoidal table
#
# Vaswani et al. give position `pos` the vector
# `PE[pos, 2i] = sin(pos / 10000^(2i / d))` and `PE[pos, 2i + 1] = cos(pos / 10000^(2i / d))`:
# pairs of waves whose wavelengths grow geometrically from 2 pi to 10000 * 2 pi, so
# that `PE[pos + k]` is a fixed rotation of `PE[pos]` for every `pos`. Nothing is learned,
# and the table works for any length. For an odd `d` the last column is a sine.


# %%
def sinusoidal_positional_encoding(max_len: int, d_model: int) -> np.ndarray:
    """The fixed sine/cosine position table of Vaswani et al. (2017), float32.

    Shape:
        `(max_len, d_model)`: row `pos` is the encoding of position `pos`.
    """
    if max_len < 0 or d_model < 1:
        raise ValueError(f"need max_len >= 0 and d_model >= 1, got {max_len} and {d_model}")
    # TODO (Task 11.4)
    raise NotImplementedError(
        'Task 11.4: implement sinusoidal_positional_encoding. Hint: work in float64: positions as '
        'a column (max_len, 1), frequencies 10000 ** (-np.arange(0, d_model, 2) / d_model) as a '
        'row; sines into the even columns, cosines into the odd ones (one column fewer when '
        'd_model is odd).'
    )


# %% [markdown]
# ## Task 11.5: the positional layers
#
# Both take token vectors `x` of shape `(*, L, d)` (batch first, as a GPT uses them) and
# add the vector of positions `start, ..., start + L - 1` to each. `start` lets a model
# that generates one token at a time (module 14) ask for the right position. A position
# past `max_len` has no vector: say so clearly.


# %%
def _positions(x: Tensor, start: int, max_len: int, dim: int, what: str) -> np.ndarray:
    """Positions `start .. start + L - 1` for `x` of shape (*, L, dim), checked."""
    if x.ndim < 2 or x.shape[-1] != dim:
        raise ValueError(f"{what} expects input of shape (*, L, {dim}), got {tuple(x.shape)}")
    length = x.shape[-2]
    if start < 0 or start + length > max_len:
        raise ValueError(
            f"{what}: positions {start} to {start + length - 1} do not fit max_len={max_len}"
        )
    return np.arange(start, start + length)


class PositionalEmbedding(Module):
    """Learned positions: one trained vector per position, added to the input (GPT-2).

    Args:
        max_len: the number of positions (the longest sequence).
        embedding_dim: size of each vector (the model's width).
        rng: NumPy generator for the initial N(0, 1) values.

    Shape:
        `(*, L, embedding_dim) -> (*, L, embedding_dim)`, with `start + L <= max_len`.
    """

    def __init__(
        self, max_len: int, embedding_dim: int, rng: np.random.Generator | None = None
    ) -> None:
        super().__init__()
        self.max_len, self.embedding_dim = max_len, embedding_dim
        generator = rng if rng is not None else np.random.default_rng()
        table = generator.standard_normal((max_len, embedding_dim)).astype(np.float32)
        self.weight = Parameter(table)

    def forward(self, x: Tensor, start: int = 0) -> Tensor:
        positions = _positions(x, start, self.max_len, self.embedding_dim, "PositionalEmbedding")
        # TODO (Task 11.5)
        raise NotImplementedError(
            "Task 11.5: implement PositionalEmbedding.forward. Hint: the positions' rows of "
            'self.weight through embedding() (so they get gradients), added to x: broadcasting '
            'spreads them over the batch.'
        )

    def extra_repr(self) -> str:
        return f"{self.max_len}, {self.embedding_dim}"


class SinusoidalPositionalEncoding(Module):
    """Fixed positions: adds the sinusoidal table (a buffer `pe`, never trained).

    Shape:
        `(*, L, d_model) -> (*, L, d_model)`, with `start + L <= max_len`.
    """

    def __init__(self, d_model: int, max_len: int = 5000) -> None:
        super().__init__()
        self.d_model, self.max_len = d_model, max_len
        self.register_buffer("pe", Tensor(sinusoidal_positional_encoding(max_len, d_model)))

    def forward(self, x: Tensor, start: int = 0) -> Tensor:
        positions = _positions(x, start, self.max_len, self.d_model, "SinusoidalPositionalEncoding")
        # TODO (Task 11.5)
        raise NotImplementedError(
            'Task 11.5: implement SinusoidalPositionalEncoding.forward. Hint: rows positions of '
            'self.pe.data, cast to x.dtype, added to x.'
        )

    def extra_repr(self) -> str:
        return f"{self.d_model}, max_len={self.max_len}"
