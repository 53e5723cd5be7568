# %% [markdown]
# # Module 12: Attention
#
# Attention lets every position of a sequence look at every other one and take what it
# needs. Each query vector is compared with every key vector (a dot product, scaled by
# `1 / sqrt(E)` so the scores do not grow with the width), the scores become weights
# with a softmax, and the output is the weighted average of the value vectors:
#
#     attention(Q, K, V) = softmax(Q K^T * scale + mask) V
#
# A mask decides who may look at whom: a causal mask lets position `i` see only
# positions `<= i`, which is what makes a GPT a next-token predictor.
#
# Speed is the point again. Built from tensor ops, autograd would record five ops and
# keep five intermediate arrays; here attention is ONE `Function` that saves only the
# weights, and its backward is four matrix products. `MultiheadAttention` runs
# `num_heads` attentions side by side on slices of the width, with PyTorch's parameter
# names and shapes.
#
# Tasks: 12.1 the forward (scores, masks, a softmax safe for fully masked rows),
# 12.2 the fused backward, 12.3 `MultiheadAttention`'s parameters, 12.4 its forward.


# %%
from __future__ import annotations

import math
from typing import Any

import numpy as np

from tinytorch.core.autograd import backward_rule
from tinytorch.core.layers import Linear, Module, Parameter
from tinytorch.core.tensor import Context, Function, Tensor

__all__ = ["scaled_dot_product_attention", "MultiheadAttention"]

Gradients = tuple[np.ndarray | None, ...]


# %% [markdown]
# ## Task 12.1: the forward
#
# With `q` of shape `(..., L, E)`, `k` `(..., S, E)` and `v` `(..., S, Ev)`:
# 1. `scores = q @ k^T * scale`, shape `(..., L, S)`;
# 2. the masks: with `causal`, query `i` may see key `j` only when `j <= i`
#    (`np.tri(L, S, dtype=bool)`); a boolean `mask` keeps the scores where it is True and
#    sets the others to `-inf`; a float `mask` is added;
# 3. a softmax over the last axis (subtract each row's maximum first). A row whose every
#    score is `-inf` has no key to look at: its weights are all zeros, not NaN (the
#    plain formula gives 0 / 0). PyTorch 2.13 does the same;
# 4. with `dropout_p > 0`, each weight is zeroed with probability `dropout_p` and the
#    rest scaled by `1 / (1 - dropout_p)`, as in `Dropout`;
# 5. `out = weights @ v`, shape `(..., L, Ev)`.
#
# Keep `ctx.weights` (after the softmax) and `ctx.dropped` (after dropout; the same array
# without it) for the backward; append the weights to `weights_out` when it is a list.


# %%
class AttentionFn(Function):
    """softmax(q k^T * scale + mask) v as one op, saving only the attention weights."""

    @staticmethod
    def forward(
        ctx: Context,
        q: np.ndarray,
        k: np.ndarray,
        v: np.ndarray,
        mask: np.ndarray | None,
        scale: float,
        causal: bool,
        dropout_p: float,
        rng: np.random.Generator | None,
        weights_out: list[np.ndarray] | None,
    ) -> np.ndarray:
        # TODO (Task 12.1)
        raise NotImplementedError(
            'Task 12.1: implement AttentionFn.forward. Hint: scores = np.matmul(q, np.swapaxes(k, '
            '-1, -2)), then scores *= scale (in place: fresh arrays cost page faults; in place, '
            'the forward ran 3x faster here); causal: np.copyto(scores, -np.inf, where=~np.tri(L, '
            'S, dtype=bool)); a boolean mask may broadcast to a bigger shape: np.where(mask, '
            'scores, -np.inf); the row maximum with scores.max(axis=-1, keepdims=True, '
            'initial=-np.inf) (S may be 0), replaced by 0 where it is -inf, so exp gives zeros '
            'there (np.exp(x, out=x)); divide by the row sums where they are > 0.'
        )


# %% [markdown]
# ## Task 12.2: the fused backward
#
# With `G` the output gradient, `P` the weights and `D` the weights after dropout:
# - `grad_v = D^T @ G` (transpose the last two axes);
# - `dD = G @ v^T`, then `dP = dD * keep / (1 - p)` (only with dropout: `D / P` is not
#   safe, so recover `keep` as `D != 0` scaled, or save it in the forward);
# - the softmax backward, row by row: `dS = P * (dP - sum(dP * P, axis=-1))`;
# - `grad_q = dS @ k * scale` and `grad_k = dS^T @ q * scale`;
# - a float mask was added to the scores, so its gradient is `dS` itself (None for a
#   boolean mask or no mask).
# The engine sums each gradient back to its input's shape when inputs were broadcast.
# Compute only what `ctx.needs_input_grad` asks for.


# %%
@backward_rule(AttentionFn)
def attention_backward(ctx: Context, grad_output: np.ndarray) -> Gradients:
    q, k, v, mask = ctx.inputs
    need_q, need_k, need_v, need_mask = ctx.needs_input_grad
    scale, dropout_p = ctx.params["scale"], ctx.params["dropout_p"]
    weights, dropped = ctx.weights, ctx.dropped
    # TODO (Task 12.2)
    raise NotImplementedError(
        'Task 12.2: implement attention_backward. Hint: np.swapaxes(a, -1, -2) transposes the last '
        'two axes of a batch of matrices; multiply by q.dtype.type(scale) to stay in float32; work '
        'in place where you can.'
    )


def _mask_array(mask: Any, what: str) -> np.ndarray | None:
    """The array of a boolean or float mask (a Tensor or an array), or None."""
    if mask is None:
        return None
    array = np.asarray(mask.data if isinstance(mask, Tensor) else mask)
    if array.dtype != bool and not np.issubdtype(array.dtype, np.floating):
        raise TypeError(
            f"{what} must be boolean (True = take part) or float (added to the scores), "
            f"got dtype {array.dtype}"
        )
    return array


def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Any = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    rng: np.random.Generator | None = None,
) -> Tensor:
    """softmax(query key^T * scale + mask) value, like `F.scaled_dot_product_attention`.

    Args:
        attn_mask: boolean (True = the query may attend to that key) or float (added to
            the scores; a learned float mask gets a gradient); broadcast to `(..., L, S)`.
        dropout_p: dropout on the attention weights (applied whenever > 0, as PyTorch;
            pass 0.0 in evaluation). `rng` draws the dropout masks.
        is_causal: query i attends to keys 0..i only (`tril` of an `(L, S)` grid, aligned
            top-left as in PyTorch); combined with `attn_mask` when both are given.
        scale: defaults to `1 / sqrt(E)`.

    A query row with no key to attend to gets zero weights and a zero output.

    Shape:
        query `(..., L, E)`, key `(..., S, E)`, value `(..., S, Ev)` -> `(..., L, Ev)`
    """
    for name, tensor in (("query", query), ("key", key), ("value", value)):
        if tensor.ndim < 2:
            raise ValueError(f"{name} needs shape (..., length, dim), got {tuple(tensor.shape)}")
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise ValueError(
            "scaled_dot_product_attention expects query (..., L, E), key (..., S, E) and "
            f"value (..., S, Ev), got {tuple(query.shape)}, {tuple(key.shape)} and "
            f"{tuple(value.shape)}"
        )
    if not 0.0 <= dropout_p <= 1.0:
        raise ValueError(f"dropout_p must be between 0 and 1, got {dropout_p}")
    mask = _mask_array(attn_mask, "attn_mask")
    if mask is not None and mask.dtype != bool and isinstance(attn_mask, Tensor):
        mask = attn_mask  # a float mask Tensor may require grad: keep it in the graph
    return AttentionFn.apply(
        query,
        key,
        value,
        mask,
        scale=1.0 / math.sqrt(query.shape[-1]) if scale is None else float(scale),
        causal=bool(is_causal),
        dropout_p=float(dropout_p),
        rng=(rng if rng is not None else np.random.default_rng()) if dropout_p > 0 else None,
        weights_out=None,
    )


# %% [markdown]
# ## Task 12.3: MultiheadAttention's parameters
#
# PyTorch keeps the three input projections in one matrix, `in_proj_weight` of shape
# `(3 * embed_dim, embed_dim)` (rows `0:E` for the queries, `E:2E` keys, `2E:3E`
# values), drawn with Xavier's uniform rule, U(-b, b) with `b = sqrt(6 / (E + 3E))`;
# `in_proj_bias` `(3 * embed_dim,)` starts at zeros. The output projection `out_proj` is
# a `Linear(E, E)` with PyTorch's usual weights and a zero bias. Create them in this
# order, so that `named_parameters()` lists them as PyTorch does.


# %%
class MultiheadAttention(Module):
    """Multi-head attention, as `torch.nn.MultiheadAttention` (same embed dim for all).

    Args:
        embed_dim: width E of queries, keys and values; split into `num_heads` heads of
            `E // num_heads` each.
        num_heads: the number of heads (must divide `embed_dim`).
        dropout: dropout on the attention weights while training.
        bias: whether the projections have biases.
        batch_first: inputs `(N, L, E)` when True, `(L, N, E)` (PyTorch's default) when False.
        rng: NumPy generator for the initial values and the dropout masks.

    Shape:
        query `(L, N, E)`, key and value `(S, N, E)` (or batch first, or without N) ->
        output like query, weights `(N, L, S)` (per head `(N, H, L, S)`) or None.
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        batch_first: bool = False,
        rng: np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        if embed_dim < 1 or num_heads < 1 or embed_dim % num_heads != 0:
            raise ValueError(
                f"embed_dim must be divisible by num_heads (both >= 1), got embed_dim="
                f"{embed_dim} and num_heads={num_heads}"
            )
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"dropout must be between 0 and 1, got {dropout}")
        self.embed_dim, self.num_heads = embed_dim, num_heads
        self.head_dim = embed_dim // num_heads
        self.dropout, self.batch_first = dropout, batch_first
        self.rng = rng if rng is not None else np.random.default_rng()
        # TODO (Task 12.3)
        raise NotImplementedError(
            'Task 12.3: implement MultiheadAttention.__init__. Hint: '
            'Parameter(self.rng.uniform(-b, b, (3 * E, E))), Parameter(np.zeros(3 * E)) or None '
            'without bias; Linear(E, E, bias=bias, rng=self.rng), then its bias (when there is '
            'one) replaced by a zero Parameter.'
        )

    def extra_repr(self) -> str:
        return (
            f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout}, "
            f"batch_first={self.batch_first}"
        )

    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        key_padding_mask: Any = None,
        need_weights: bool = True,
        attn_mask: Any = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ) -> tuple[Tensor, Tensor | None]:
        """Attend from `query` to `key`/`value`; returns `(output, weights or None)`.

        Masks follow `nn.MultiheadAttention`, where a boolean True means *ignore* (the
        opposite of `scaled_dot_product_attention`): `attn_mask` `(L, S)` or
        `(N * num_heads, L, S)`, `key_padding_mask` `(N, S)`; float masks are added.
        `is_causal` without `attn_mask` applies the causal mask.
        """
        q, k, v, batched = self._batch_first(query, key, value)
        n, length, source = q.shape[0], q.shape[1], k.shape[1]
        mask = self._merged_mask(attn_mask, key_padding_mask, n, length, source, batched)
        causal = is_causal and attn_mask is None
        kept: list[np.ndarray] | None = [] if need_weights else None
        # TODO (Task 12.4)
        raise NotImplementedError(
            'Task 12.4: implement MultiheadAttention.forward. Hint: project (one matmul with '
            'in_proj_weight when query, key and value are the same tensor, else slices of it); '
            'split heads: (N, L, E) -> (N, L, H, D) -> (N, H, L, D); AttentionFn.apply(..., '
            'weights_out=kept) with the dropout only in training; merge the heads back and apply '
            'out_proj.'
        )
        if not batched:
            out = out.reshape(length, self.embed_dim)
        elif not self.batch_first:
            out = out.transpose(0, 1)
        if kept is None:
            return out, None
        weights = kept[0].mean(axis=1) if average_attn_weights else kept[0]
        return out, Tensor(weights[0] if not batched else weights)

    def _project(self, q: Tensor, k: Tensor, v: Tensor) -> list[Tensor]:
        """Queries, keys and values through their slices of `in_proj_weight`."""
        e, weight, bias = self.embed_dim, self.in_proj_weight, self.in_proj_bias
        # TODO (Task 12.4)
        raise NotImplementedError(
            'Task 12.4: implement MultiheadAttention._project. Hint: self-attention (q is k is v): '
            'one q @ weight.T (+ bias), cut into three E-wide slices; otherwise x @ weight[i * e : '
            '(i + 1) * e].T for each input i.'
        )

    def _heads(self, x: Tensor, n: int) -> Tensor:
        """(N, L, E) -> (N, num_heads, L, head_dim)."""
        return x.reshape(n, x.shape[1], self.num_heads, self.head_dim).permute(0, 2, 1, 3)

    def _batch_first(self, query: Tensor, key: Tensor, value: Tensor) -> tuple[Any, ...]:
        """The inputs as (N, L, E) with the shapes checked; and whether they had a batch."""
        e = self.embed_dim
        batched = query.ndim == 3
        want = (3 if batched else 2, e)
        for name, x in (("query", query), ("key", key), ("value", value)):
            if (x.ndim, x.shape[-1] if x.ndim else None) != want:
                layout = ("(N, L, E)" if self.batch_first else "(L, N, E)") if batched else "(L, E)"
                raise ValueError(
                    f"MultiheadAttention(embed_dim={e}) expects {name} of shape "
                    f"{layout.replace('E', str(e))} like query, got {tuple(x.shape)}"
                )
        if key.shape[:-1] != value.shape[:-1]:
            raise ValueError(
                f"key and value need the same shape, got {tuple(key.shape)} and "
                f"{tuple(value.shape)}"
            )
        batch_axis = 0 if self.batch_first else 1
        if batched and query.shape[batch_axis] != key.shape[batch_axis]:
            raise ValueError(
                f"query and key have different batch sizes: {tuple(query.shape)} and "
                f"{tuple(key.shape)}"
            )
        same = query is key and key is value
        inputs = [query] if same else [query, key, value]
        if not batched:
            inputs = [x.reshape(1, *x.shape) for x in inputs]
        elif not self.batch_first:
            inputs = [x.transpose(0, 1) for x in inputs]
        q, k, v = inputs * 3 if same else inputs
        return q, k, v, batched

    def _merged_mask(
        self, attn_mask: Any, key_padding_mask: Any, n: int, length: int, source: int, batched: bool
    ) -> np.ndarray | None:
        """Both masks as one additive float mask broadcasting to (N, H, L, S), or None."""
        merged = None
        for name, mask, shapes in (
            ("attn_mask", attn_mask, [(length, source), (n * self.num_heads, length, source)]),
            ("key_padding_mask", key_padding_mask, [(n, source) if batched else (source,)]),
        ):
            array = _mask_array(mask, name)
            if array is None:
                continue
            if array.shape not in shapes:
                raise ValueError(
                    f"{name} must have shape {' or '.join(map(str, shapes))}, got {array.shape}"
                )
            if array.dtype == bool:  # True = ignore, as in nn.MultiheadAttention
                array = np.where(array, -np.inf, 0.0)
            if name == "attn_mask" and array.ndim == 3:
                array = array.reshape(n, self.num_heads, length, source)
            elif name == "key_padding_mask":
                array = array.reshape(n, 1, 1, source)
            merged = array if merged is None else merged + array
        return None if merged is None else merged.astype(np.float32)
