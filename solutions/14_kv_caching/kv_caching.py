# %% [markdown]
# # Module 14: KV caching
#
# Generating token `n + 1` with module 13's `generate` runs the whole model over all `n`
# tokens again, although the first `n - 1` positions give exactly what they gave the
# step before: a causal model never lets an old position see a new one. In attention,
# what the new token needs from the old positions is their keys and values, and those
# never change. So keep them: a KV cache holds, for every layer, the keys and values of
# every position seen so far, and each step feeds the model only the one new token. Its
# query attends over the cached keys plus its own; the work per step no longer grows
# with the square of the length, and generating is several times faster.
#
# Caching must not change the answer. The first call (the *prefill*) runs the whole
# prompt and writes positions `0 .. L-1` of every layer, position 0 included; each later
# step writes one position. The logits must equal the uncached model's, position by
# position, and the same seed must give the same tokens.
#
# Tasks: 14.1 the cache's arrays and their size in bytes, 14.2 append, advance and
# reset, 14.3 attention that reads the cache, 14.4 cached generation.


# %%
from __future__ import annotations

from typing import Any

import numpy as np

from tinytorch.core.attention import MultiheadAttention, scaled_dot_product_attention
from tinytorch.core.tensor import Tensor
from tinytorch.core.transformers import GPT, merge_heads, project_heads

__all__ = ["KVCache", "generate"]


# %% [markdown]
# ## The KVCache class (tasks 14.1-14.4)
#
# ### Task 14.1: the cache's arrays
#
# Allocate everything up front, once: for each of `num_layers` layers one keys array and
# one values array of shape `(batch_size, num_heads, max_len, head_dim)` and `dtype`
# (lists `self.keys` and `self.values`). Growing arrays step by step would copy the whole
# cache every token. `length` counts the positions written so far (0 at the start).
# `nbytes` is the memory the cache holds: the bytes of all its arrays, exactly.
#
# ### Task 14.2: append, advance and reset
#
# `append(layer, key, value)` writes `key` and `value`, each `(N, H, T, D)`, into that
# layer's arrays at positions `length .. length + T - 1`, and returns the layer's keys
# and values for positions `0 .. length + T - 1` (views: slices, no copies). Every
# layer of one forward pass appends at the same positions; only `advance(T)`, called
# once the pass is over (module 13's `GPT.forward` does), moves `length` on.
# `reset()` forgets everything (the arrays stay allocated). Writing past `max_len`,
# or arrays of the wrong shape, is a clear `ValueError`.
#
# ### Task 14.3: attention that reads the cache
#
# `attend(attention, x, layer)` is what module 13's `TransformerBlock` calls instead
# of `attention(x, x, x, is_causal=True)`. For new positions `x` `(N, T, E)`:
# 1. queries, keys and values `(N, H, T, D)` of the new positions only, with module
#    13's `project_heads`;
# 2. `append` the new keys and values (their `.data`) and get all positions so far;
# 3. `scaled_dot_product_attention` of the new queries over those keys and values.
#    New query `i` sits at position `length + i` and may see keys `0 .. length + i`:
#    the boolean mask `np.tri(T, length + T, length, dtype=bool)`; a single new
#    token sees everything, so it needs no mask;
# 4. module 13's `merge_heads`: back to `(N, T, E)` through `attention.out_proj`.
#
# ### Task 14.4: cached generation
#
# `next_logits(model, ids)` is what `GPT.generate` asks a cache for: the logits
# `(N, V)` of the token after `ids` `(N, n)`. When the cache holds exactly the first
# `n - 1` positions (the step before appended one token), feed the model only the
# last id: `model(ids[:, -1:], kv_cache=self)`. Otherwise (the first call, or ids
# that are not the cached ones plus one) `reset()` and *prefill* with the whole
# window, the last `max_len` ids at most.
#
# Past `context_length`, the model reads a sliding window of the last
# `context_length` ids whose positions start at 0 again; every cached key would have
# to move to another position, so the cache re-prefills the window at every step:
# exactly the uncached answer, at the uncached speed.


# %%
class KVCache:
    """Keys and values of every layer for positions `0 .. length - 1`, preallocated.

    Args:
        num_layers: one keys and one values array per layer.
        batch_size, num_heads, head_dim: as in the attention's `(N, H, L, D)` heads.
        max_len: the most positions the cache holds (a GPT's `context_length`).
        dtype: the arrays' dtype (the model's, float32).

    Inference only: the cache stores arrays, so no gradient flows into past positions.
    """

    def __init__(
        self,
        num_layers: int,
        batch_size: int,
        num_heads: int,
        max_len: int,
        head_dim: int,
        dtype: Any = np.float32,
    ) -> None:
        sizes = {
            "num_layers": num_layers,
            "batch_size": batch_size,
            "num_heads": num_heads,
            "max_len": max_len,
            "head_dim": head_dim,
        }
        for name, value in sizes.items():
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"KVCache: {name} must be a positive int, got {value!r}")
        self.num_layers, self.max_len = num_layers, max_len
        self.shape = (batch_size, num_heads, max_len, head_dim)
        # BEGIN SOLUTION 14.1
        # HINT: [np.zeros(self.shape, dtype=dtype) for _ in range(num_layers)], twice.
        self.keys = [np.zeros(self.shape, dtype=dtype) for _ in range(num_layers)]
        self.values = [np.zeros(self.shape, dtype=dtype) for _ in range(num_layers)]
        self.length = 0
        # END SOLUTION

    @classmethod
    def for_model(cls, model: GPT, batch_size: int, max_len: int | None = None) -> KVCache:
        """A cache that fits `model`: its layers and heads, `context_length` positions."""
        heads = model.num_heads
        return cls(
            model.num_layers,
            batch_size,
            heads,
            model.context_length if max_len is None else max_len,
            model.d_model // heads,
        )

    @property
    def nbytes(self) -> int:
        """The bytes held by every keys and values array (what the cache costs)."""
        # BEGIN SOLUTION 14.1
        return sum(array.nbytes for array in [*self.keys, *self.values])
        # END SOLUTION

    def __repr__(self) -> str:
        return (
            f"KVCache(layers={self.num_layers}, shape={self.shape}, length={self.length}, "
            f"nbytes={self.nbytes})"
        )

    def append(
        self, layer: int, key: np.ndarray, value: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Store positions `length .. length + T - 1` of `layer`; all positions so far."""
        if not 0 <= layer < self.num_layers:
            raise IndexError(f"KVCache has layers 0..{self.num_layers - 1}, got layer {layer}")
        batch, heads, _, dim = self.shape
        for name, array in (("key", key), ("value", value)):
            if array.ndim != 4 or (array.shape[0], array.shape[1], array.shape[3]) != (
                batch,
                heads,
                dim,
            ):
                raise ValueError(
                    f"KVCache.append: {name} must have shape ({batch}, {heads}, T, {dim}), "
                    f"got {array.shape}"
                )
        end = self.length + key.shape[2]
        if end > self.max_len or value.shape[2] != key.shape[2]:
            raise ValueError(
                f"KVCache.append: positions {self.length}..{end - 1} do not fit a cache of "
                f"max_len={self.max_len} (or key and value differ in length)"
            )
        # BEGIN SOLUTION 14.2
        self.keys[layer][:, :, self.length : end] = key
        self.values[layer][:, :, self.length : end] = value
        return self.keys[layer][:, :, :end], self.values[layer][:, :, :end]
        # END SOLUTION

    def advance(self, count: int) -> None:
        """Count `count` more positions as written (after every layer appended them)."""
        if count < 0 or self.length + count > self.max_len:
            raise ValueError(
                f"KVCache.advance({count}): length {self.length} would leave 0..{self.max_len}"
            )
        # BEGIN SOLUTION 14.2
        self.length += count
        # END SOLUTION

    def reset(self) -> None:
        """Forget every position; the arrays stay allocated."""
        # BEGIN SOLUTION 14.2
        self.length = 0
        # END SOLUTION

    def attend(self, attention: MultiheadAttention, x: Tensor, layer: int) -> Tensor:
        """Causal self-attention of the new positions `x` over every cached position."""
        n, t, _ = x.shape
        heads, dim = attention.num_heads, attention.head_dim
        if (heads, dim) != (self.shape[1], self.shape[3]) or n != self.shape[0]:
            raise ValueError(
                f"KVCache of shape {self.shape} does not fit attention with {heads} heads of "
                f"{dim} on a batch of {n}"
            )
        # BEGIN SOLUTION 14.3
        # HINT: project_heads and merge_heads from module 13; Tensor(keys) for the cached.
        q, k, v = project_heads(attention, x)
        start = self.length
        keys, values = self.append(layer, k.data, v.data)
        mask = np.tri(t, start + t, start, dtype=bool) if t > 1 else None
        out = scaled_dot_product_attention(q, Tensor(keys), Tensor(values), attn_mask=mask)
        return merge_heads(attention, out)
        # END SOLUTION

    def next_logits(self, model: GPT, ids: np.ndarray) -> np.ndarray:
        """The logits of the token after `ids`, feeding the model what is not cached."""
        if ids.shape[0] != self.shape[0]:
            raise ValueError(f"KVCache holds a batch of {self.shape[0]}, got ids {ids.shape}")
        # BEGIN SOLUTION 14.4
        # HINT: Tensor(ids[:, -1:], dtype=np.int64); .data[:, -1] of the logits.
        if self.length == ids.shape[1] - 1 and ids.shape[1] <= self.max_len:
            fed = ids[:, -1:]
        else:
            self.reset()
            fed = ids[:, -self.max_len :]
        return model(Tensor(fed, dtype=np.int64), kv_cache=self).data[:, -1]
        # END SOLUTION


def generate(
    model: GPT,
    ids: Any,
    max_new_tokens: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    seed: int | None = None,
    use_cache: bool = True,
) -> Tensor:
    """`model.generate` with a fresh `KVCache` (or without one: `use_cache=False`).

    Both give the same tokens for the same seed; the cache only makes it faster.
    """
    shape = np.shape(ids.data if isinstance(ids, Tensor) else ids)
    cache = KVCache.for_model(model, shape[0]) if use_cache and len(shape) == 2 else None
    return model.generate(ids, max_new_tokens, temperature, top_k, seed, kv_cache=cache)
