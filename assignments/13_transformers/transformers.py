# %% [markdown]
# # Module 13: Transformers
#
# A GPT is a stack of identical blocks. Each block lets every position gather
# information from the earlier ones (causal self-attention, module 12), then thinks about
# it on its own (a two-layer MLP). Around each of the two sub-layers sits a residual
# connection, `x + f(norm(x))`: the block only *adds* to the running stream of vectors, so
# gradients flow straight from the loss to the first layer. The norm is a `LayerNorm`,
# which rescales every position's vector to mean 0 and variance 1 over its features,
# keeping the stream's scale steady however deep the stack is ("pre-norm", GPT-2).
#
# The model reads token ids, adds a learned vector per position (module 11), runs the
# blocks, normalizes once more and maps each position to one score (logit) per token of
# the vocabulary: the scores for the *next* token. Generation feeds the model its own
# samples, one token at a time.
#
# Tasks: 13.1 LayerNorm's forward, 13.2 its fused backward, 13.3 the `LayerNorm` layer,
# 13.4 the MLP and the transformer block, 13.5 sampling, 13.6 the GPT and generation.


# %%
from __future__ import annotations

import math
from typing import Any

import numpy as np

from tinytorch.core.activations import gelu
from tinytorch.core.attention import MultiheadAttention, scaled_dot_product_attention
from tinytorch.core.autograd import backward_rule, no_grad
from tinytorch.core.embeddings import Embedding, PositionalEmbedding
from tinytorch.core.layers import Dropout, Linear, Module, Parameter, Sequential
from tinytorch.core.tensor import Context, Function, Tensor

__all__ = [
    "layer_norm",
    "LayerNorm",
    "project_heads",
    "merge_heads",
    "MLP",
    "TransformerBlock",
    "GPT",
    "sample_next_token",
]

Gradients = tuple[np.ndarray | None, ...]


# %% [markdown]
# ## Task 13.1: LayerNorm's forward
#
# Over the last `len(normalized_shape)` axes (the `axes` parameter) of `x`:
# 1. `mean` and the biased variance `var` (divide by the count, not count - 1);
# 2. `rstd = 1 / sqrt(var + eps)` and `xhat = (x - mean) * rstd`;
# 3. `out = xhat * weight + bias` (either may be None: then skip it).
# Save `ctx.xhat` and `ctx.rstd` (both keep the reduced axes as size 1) for the backward:
# it needs nothing else.


# %%
class LayerNormFn(Function):
    """(x - mean) / sqrt(var + eps) * weight + bias over the last axes, as one op."""

    @staticmethod
    def forward(
        ctx: Context,
        x: np.ndarray,
        weight: np.ndarray | None,
        bias: np.ndarray | None,
        axes: tuple[int, ...],
        eps: float,
    ) -> np.ndarray:
        # TODO (Task 13.1)
        raise NotImplementedError(
            'Task 13.1: implement LayerNormFn.forward. Hint: mean = x.mean(axis=axes, '
            'keepdims=True); centered = x - mean; var = (centered * centered).mean(axis=axes, '
            'keepdims=True); rstd = 1.0 / np.sqrt(var + x.dtype.type(eps)).'
        )


# %% [markdown]
# ## Task 13.2: the fused backward
#
# With `G` the output gradient and `N` the number of normalized elements per row:
# - `grad_bias = G` summed over the leading (not normalized) axes;
# - `grad_weight = G * xhat`, summed the same way;
# - `grad_x`: let `g = G * weight` (or `G` without weight); then
#   `grad_x = rstd * (g - mean(g) - xhat * mean(g * xhat))`, the means over `axes`.
#   (`x` enters the output three times: directly, through the mean and through the
#   variance; this one line is the sum of the three paths.)
# Compute only what `ctx.needs_input_grad` asks for.


# %%
@backward_rule(LayerNormFn)
def layer_norm_backward(ctx: Context, grad_output: np.ndarray) -> Gradients:
    _, weight, bias = ctx.inputs
    need_x, need_weight, need_bias = ctx.needs_input_grad
    axes, xhat, rstd = ctx.params["axes"], ctx.xhat, ctx.rstd
    leading = tuple(range(grad_output.ndim - len(axes)))
    # TODO (Task 13.2)
    raise NotImplementedError(
        'Task 13.2: implement layer_norm_backward. Hint: grad_output.sum(axis=leading) sums over '
        'the batch and sequence axes.'
    )


def _shape(normalized_shape: int | tuple[int, ...] | list[int]) -> tuple[int, ...]:
    """`normalized_shape` as a tuple of positive sizes (an int means one axis)."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if not shape or any(not isinstance(n, int) or n < 1 for n in shape):
        raise ValueError(f"normalized_shape must be positive sizes, got {normalized_shape!r}")
    return shape


def layer_norm(
    input: Tensor,  # noqa: A002 (PyTorch's name)
    normalized_shape: int | tuple[int, ...] | list[int],
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalize over the last dims to mean 0 and variance 1, then scale and shift.

    Like `F.layer_norm`: `input`'s trailing dims must equal `normalized_shape`;
    `weight` and `bias`, when given, have shape `normalized_shape`.
    """
    shape = _shape(normalized_shape)
    if tuple(input.shape[input.ndim - len(shape) :]) != shape or input.ndim < len(shape):
        raise ValueError(
            f"layer_norm: normalized_shape {shape} must be the last dims of the input, "
            f"got an input of shape {tuple(input.shape)}"
        )
    for name, tensor in (("weight", weight), ("bias", bias)):
        if tensor is not None and tuple(tensor.shape) != shape:
            raise ValueError(f"layer_norm: {name} must have shape {shape}, got {tensor.shape}")
    axes = tuple(range(input.ndim - len(shape), input.ndim))
    return LayerNormFn.apply(input, weight, bias, axes=axes, eps=float(eps))


# %% [markdown]
# ## Task 13.3: the LayerNorm layer
#
# `weight` starts at ones and `bias` at zeros (shape `normalized_shape`), so a fresh
# layer only normalizes. Without `elementwise_affine` there are no parameters at all;
# with `bias=False` only the weight.


# %%
class LayerNorm(Module):
    """Layer normalization over the last dims, as `torch.nn.LayerNorm`.

    Shape:
        `(*, *normalized_shape)` in and out.
    """

    def __init__(
        self,
        normalized_shape: int | tuple[int, ...] | list[int],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.normalized_shape, self.eps = _shape(normalized_shape), eps
        self.elementwise_affine = elementwise_affine
        # TODO (Task 13.3)
        raise NotImplementedError(
            'Task 13.3: implement LayerNorm.__init__. Hint: Parameter(np.ones(shape)) and '
            'Parameter(np.zeros(shape)), or None.'
        )

    def forward(self, x: Tensor) -> Tensor:
        # TODO (Task 13.3)
        raise NotImplementedError('Task 13.3: implement LayerNorm.forward.')

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
        )


# %% [markdown]
# ## Task 13.4: the MLP and the pre-norm block
#
# `MLP`: `linear1` (d -> hidden, 4d by default), GELU (GPT-2's tanh approximation),
# `linear2` (hidden -> d), then `dropout`. `TransformerBlock` (the names are those of
# `nn.TransformerEncoderLayer`, so PyTorch's weights load by name):
#
#     x = x + dropout1(self_attn(norm1(x)))     # causal, no weights returned
#     x = x + mlp(norm2(x))
#
# The attention is module 12's `MultiheadAttention` (its parameters, `in_proj_weight`
# and `out_proj`), run on rows like the MLP: `project_heads` (given below) gives the
# queries, keys and values `(N, H, L, D)` from one matmul, `scaled_dot_product_attention`
# with `is_causal=True` (and the layer's `dropout` on the weights while training) attends,
# and `merge_heads` applies `out_proj`. Module 14 plugs in a KV cache: when `kv_cache` is
# given, the block asks it for the attention instead,
# `kv_cache.attend(self.self_attn, h, layer)` (given below).


# %%
def project_heads(attention: MultiheadAttention, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Queries, keys and values `(N, H, L, D)` of `x` `(N, L, E)` through `attention`'s
    `in_proj_weight` (and bias), as one 2-D matmul on the `N * L` rows."""
    n, length, e = x.shape
    rows = x.reshape(n * length, e) @ attention.in_proj_weight.T
    if attention.in_proj_bias is not None:
        rows = rows + attention.in_proj_bias
    heads = rows.reshape(n, length, 3, attention.num_heads, attention.head_dim)
    heads = heads.permute(2, 0, 3, 1, 4)
    return heads[0], heads[1], heads[2]


def merge_heads(attention: MultiheadAttention, heads: Tensor) -> Tensor:
    """`(N, H, L, D)` back to `(N, L, E)`, through `attention.out_proj` on rows."""
    n, _, length, _ = heads.shape
    rows = heads.permute(0, 2, 1, 3).reshape(n * length, attention.embed_dim)
    return attention.out_proj(rows).reshape(n, length, attention.embed_dim)


# %%
class MLP(Module):
    """Position-wise feed-forward network: Linear, GELU, Linear, Dropout."""

    def __init__(
        self,
        d_model: int,
        hidden: int | None = None,
        dropout: float = 0.0,
        rng: np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        hidden = 4 * d_model if hidden is None else hidden
        # TODO (Task 13.4)
        raise NotImplementedError('Task 13.4: implement MLP.__init__.')

    def forward(self, x: Tensor) -> Tensor:
        # TODO (Task 13.4)
        raise NotImplementedError(
            'Task 13.4: implement MLP.forward. Hint: gelu(..., approximate="tanh"). Reshape x to '
            "rows (-1, d_model) first and the result back: a 2-D matmul's backward is one BLAS "
            'call, a batched one is many.'
        )


class TransformerBlock(Module):
    """Pre-norm GPT block: causal self-attention and an MLP, each inside a residual.

    Shape:
        `(N, L, d_model)` in and out (batch first).
    """

    def __init__(
        self,
        d_model: int,
        num_heads: int,
        dropout: float = 0.0,
        rng: np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        self.norm1 = LayerNorm(d_model)
        self.self_attn = MultiheadAttention(
            d_model, num_heads, dropout=dropout, batch_first=True, rng=rng
        )
        self.dropout1 = Dropout(dropout, rng=rng)
        self.norm2 = LayerNorm(d_model)
        self.mlp = MLP(d_model, dropout=dropout, rng=rng)

    def forward(self, x: Tensor, kv_cache: Any = None, layer: int = 0) -> Tensor:
        h = self.norm1(x)
        if kv_cache is not None:  # module 14's extension point
            attended = kv_cache.attend(self.self_attn, h, layer)
        else:
            # TODO (Task 13.4)
            raise NotImplementedError(
                'Task 13.4: implement TransformerBlock.forward. Hint: q, k, v = '
                'project_heads(self.self_attn, h); dropout_p is self.self_attn.dropout in training '
                '(0.0 in eval), rng=self.self_attn.rng.'
            )
        # TODO (Task 13.4)
        raise NotImplementedError('Task 13.4: implement TransformerBlock.forward.')


# %% [markdown]
# ## Task 13.5: sampling the next token
#
# A language model gives scores; generation turns them into a choice. Dividing the
# logits by a `temperature` below 1 sharpens the distribution (toward the single best
# token, which temperature 0 takes outright), above 1 flattens it. `top_k` forbids all
# but the k most likely tokens. The draw itself is fixed exactly (see the docstring), so
# the same seed gives the same tokens on any correct implementation.


# %%
def sample_next_token(
    logits: np.ndarray, temperature: float, top_k: int | None, rng: np.random.Generator
) -> np.ndarray:
    """One token id per row of `logits` `(N, V)`, as int64 `(N,)`.

    Temperature 0: the argmax (the first one on ties), no random numbers drawn.
    Otherwise, in float64: `logits / temperature`; with `top_k`, every logit below the
    k-th largest of its row becomes -inf; a softmax gives `p`; one `u = rng.random(N)`
    per call, and row i takes the first index where `cumsum(p[i]) > u[i]`.
    """
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    if top_k is not None and not 1 <= top_k:
        raise ValueError(f"top_k must be at least 1, got {top_k}")
    # TODO (Task 13.5)
    raise NotImplementedError(
        'Task 13.5: implement sample_next_token. Hint: np.sort(scaled, axis=-1)[:, -k] is each '
        "row's k-th largest; np.cumsum(p, axis=-1); (cumulative <= u[:, None]).sum(axis=-1) is the "
        'first index where it exceeds u.'
    )


# %% [markdown]
# ## Task 13.6: the GPT and generation
#
# `forward(ids)` with integer ids `(N, L)`, `L <= context_length`:
# 1. `x = token_embedding(ids)`, then `position_embedding(x, start)` adds the vectors of
#    positions `start .. start + L - 1` (start is 0 without a cache), then `dropout`;
# 2. every block in order: `block(x, kv_cache, layer)` with `layer` its index;
# 3. the final `norm`, then `head` (on rows `(N * L, d_model)`, reshaped back): logits
#    `(N, L, vocab_size)`.
# With a `kv_cache` (module 14), `start` is `kv_cache.length`, the positions the cache
# already holds, and after the blocks `kv_cache.advance(L)` counts the new ones.
#
# Weight tying (`tie_weights=True`) makes `head.weight` the very same Parameter as
# `token_embedding.weight` (both `(vocab_size, d_model)`): the gradients of both uses add
# up in it, and `parameters()` lists it once. The initial values follow GPT-2 (given).
#
# `generate` repeats `max_new_tokens` times: the logits of the last position (the model
# reads at most the last `context_length` ids), one token per row from
# `sample_next_token`, appended to the ids. `_next_logits` is that first step; a
# `kv_cache` (module 14) computes it by itself, feeding the model only what it has not
# seen yet.


# %%
class GPT(Module):
    """A decoder-only transformer language model (GPT-2's layout, pre-norm).

    Args:
        vocab_size: number of token ids.
        context_length: the longest sequence the model reads (positions it knows).
        d_model: width of every position's vector; num_heads must divide it.
        num_layers: number of transformer blocks.
        dropout: dropout after the embeddings, on attention weights and in each residual.
        tie_weights: share the token embedding with the output head.
        rng: NumPy generator for the initial weights and the dropout masks.

    Shape:
        ids `(N, L)` integers -> logits `(N, L, vocab_size)`.
    """

    def __init__(
        self,
        vocab_size: int,
        context_length: int,
        d_model: int,
        num_heads: int,
        num_layers: int,
        dropout: float = 0.0,
        tie_weights: bool = False,
        rng: np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        for name, value in (
            ("vocab_size", vocab_size),
            ("context_length", context_length),
            ("d_model", d_model),
            ("num_layers", num_layers),
        ):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"GPT: {name} must be a positive int, got {value!r}")
        self.vocab_size, self.context_length = vocab_size, context_length
        self.d_model, self.num_heads, self.num_layers = d_model, num_heads, num_layers
        rng = rng if rng is not None else np.random.default_rng()
        # TODO (Task 13.6)
        raise NotImplementedError(
            'Task 13.6: implement GPT.__init__. Hint: Embedding(vocab_size, d_model, rng=rng), '
            'PositionalEmbedding(context_length, d_model, rng=rng), Dropout, '
            'Sequential(*[TransformerBlock(...)]), LayerNorm, Linear(d_model, vocab_size, '
            'bias=False); tie with self.head.weight = ... .'
        )
        self._init_gpt2(rng)

    def _init_gpt2(self, rng: np.random.Generator) -> None:
        """GPT-2's initial values: N(0, 0.02) weights, zero biases, and the projections
        into the residual stream scaled by 1 / sqrt(2 * num_layers)."""
        residual = 0.02 / math.sqrt(2 * self.num_layers)
        for name, parameter in self.named_parameters():
            if name.endswith("bias"):
                parameter.data = np.zeros_like(parameter.data)
            elif not (name.startswith("norm") or ".norm" in name):  # LayerNorm weights stay 1
                std = residual if name.endswith(("out_proj.weight", "linear2.weight")) else 0.02
                parameter.data = (rng.standard_normal(parameter.shape) * std).astype(np.float32)

    def forward(self, ids: Any, kv_cache: Any = None) -> Tensor:
        shape = np.shape(ids.data if isinstance(ids, Tensor) else ids)
        if len(shape) != 2:
            raise ValueError(f"GPT expects ids of shape (batch, length), got {shape}")
        start = 0 if kv_cache is None else kv_cache.length
        if start + shape[1] > self.context_length:
            raise ValueError(
                f"GPT(context_length={self.context_length}) cannot read positions up to "
                f"{start + shape[1]}: crop the ids to the last {self.context_length}"
            )
        # TODO (Task 13.6)
        raise NotImplementedError('Task 13.6: implement GPT.forward.')
        if kv_cache is not None:
            kv_cache.advance(shape[1])
        return logits

    def _next_logits(self, ids: np.ndarray, kv_cache: Any) -> np.ndarray:
        """The logits `(N, vocab_size)` for the token after `ids` `(N, L)`."""
        if kv_cache is not None:
            return kv_cache.next_logits(self, ids)
        # TODO (Task 13.6)
        raise NotImplementedError('Task 13.6: implement GPT._next_logits.')

    def generate(
        self,
        ids: Any,
        max_new_tokens: int,
        temperature: float = 1.0,
        top_k: int | None = None,
        seed: int | None = None,
        kv_cache: Any = None,
    ) -> Tensor:
        """Continue `ids` `(N, L)` by `max_new_tokens` sampled tokens; returns all the ids.

        Runs without recording a graph and in evaluation mode (restored afterwards).
        `temperature` 0 picks the most likely token; `top_k` keeps only the k best.
        """
        array = np.asarray(ids.data if isinstance(ids, Tensor) else ids)
        if array.ndim != 2 or array.shape[1] < 1 or not np.issubdtype(array.dtype, np.integer):
            raise ValueError(
                f"generate needs integer ids of shape (batch, length >= 1), got {array.dtype} "
                f"{array.shape}"
            )
        if max_new_tokens < 0:
            raise ValueError(f"max_new_tokens must be >= 0, got {max_new_tokens}")
        rng = np.random.default_rng(seed)
        was_training = self.training
        self.eval()
        try:
            with no_grad():
                # TODO (Task 13.6)
                raise NotImplementedError('Task 13.6: implement GPT.generate.')
        finally:
            self.train(was_training)
        return Tensor(array, dtype=np.int64)
