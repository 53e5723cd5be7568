"""Float64 NumPy references for modules 13 and 14: LayerNorm, the pre-norm block, a whole
GPT from a state dict the test chose (with the keys and values a KV cache must hold), and
the sampling rule `sample_next_token` fixes.

Nothing here calls student code; the tests load the same state into the student's model.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from grader.testing.reference import gelu_tanh

F64 = np.float64


def layer_norm(x: np.ndarray, weight=None, bias=None, axes: int = 1, eps: float = 1e-5):
    """Normalize over the last `axes` axes (biased variance), then scale and shift."""
    x = np.asarray(x, dtype=F64)
    dims = tuple(range(x.ndim - axes, x.ndim))
    mean = x.mean(axis=dims, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=dims, keepdims=True)
    out = (x - mean) / np.sqrt(var + eps)
    out = out if weight is None else out * weight
    return out if bias is None else out + bias


def causal_attention(q: np.ndarray, k: np.ndarray, v: np.ndarray) -> np.ndarray:
    """softmax(q k^T / sqrt(D)) v where query i sees keys 0..i."""
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    allowed = np.tri(q.shape[-2], k.shape[-2], dtype=bool)
    scores = np.where(allowed, scores, -np.inf)
    weights = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return (weights / weights.sum(axis=-1, keepdims=True)) @ v


def self_attention_kv(state: Mapping[str, np.ndarray], prefix: str, x: np.ndarray, heads: int):
    """(output, keys, values): the keys and values (N, H, L, D) are what a cache holds."""
    n, length, e = x.shape
    qkv = x @ state[f"{prefix}in_proj_weight"].T + state[f"{prefix}in_proj_bias"]
    q, k, v = (
        qkv[..., i * e : (i + 1) * e].reshape(n, length, heads, e // heads).transpose(0, 2, 1, 3)
        for i in range(3)
    )
    merged = causal_attention(q, k, v).transpose(0, 2, 1, 3).reshape(n, length, e)
    out = merged @ state[f"{prefix}out_proj.weight"].T + state[f"{prefix}out_proj.bias"]
    return out, k, v


def mlp(state: Mapping[str, np.ndarray], prefix: str, x: np.ndarray) -> np.ndarray:
    """linear2(gelu(linear1(x))), GELU's tanh approximation (GPT-2's)."""
    hidden = gelu_tanh(x @ state[f"{prefix}linear1.weight"].T + state[f"{prefix}linear1.bias"])
    return hidden @ state[f"{prefix}linear2.weight"].T + state[f"{prefix}linear2.bias"]


def block(state: Mapping[str, np.ndarray], prefix: str, x: np.ndarray, heads: int):
    """x + attn(norm1(x)), then + mlp(norm2(x)): the pre-norm transformer block."""
    return block_kv(state, prefix, x, heads)[0]


def block_kv(state: Mapping[str, np.ndarray], prefix: str, x: np.ndarray, heads: int):
    """(the block's output, its attention's keys, its values)."""
    h = layer_norm(x, state[f"{prefix}norm1.weight"], state[f"{prefix}norm1.bias"])
    attended, k, v = self_attention_kv(state, f"{prefix}self_attn.", h, heads)
    x = x + attended
    h = layer_norm(x, state[f"{prefix}norm2.weight"], state[f"{prefix}norm2.bias"])
    return x + mlp(state, f"{prefix}mlp.", h), k, v


def gpt_logits(state: Mapping[str, np.ndarray], ids: np.ndarray, heads: int) -> np.ndarray:
    """The logits (N, L, V) of a GPT whose parameters are `state` (by PyTorch-style name)."""
    return gpt_trace(state, ids, heads)[0]


def gpt_trace(state: Mapping[str, np.ndarray], ids: np.ndarray, heads: int):
    """(logits, [(keys, values) of each layer]) for ids (N, L) from position 0."""
    layers = len({name.split(".")[1] for name in state if name.startswith("blocks.")})
    x = state["token_embedding.weight"][ids] + state["position_embedding.weight"][: ids.shape[1]]
    cached = []
    for layer in range(layers):
        x, k, v = block_kv(state, f"blocks.{layer}.", x, heads)
        cached.append((k, v))
    x = layer_norm(x, state["norm.weight"], state["norm.bias"])
    return x @ state["head.weight"].T, cached


def gpt_state(
    vocab: int, context: int, d_model: int, layers: int, seed: int, scale: float = 0.3
) -> dict[str, np.ndarray]:
    """Parameters for a GPT chosen by the test (float32), every one of them non-trivial."""
    rng = np.random.default_rng(seed)
    shapes = {
        "token_embedding.weight": (vocab, d_model),
        "position_embedding.weight": (context, d_model),
    }
    for layer in range(layers):
        p = f"blocks.{layer}."
        shapes.update({
            f"{p}norm1.weight": (d_model,), f"{p}norm1.bias": (d_model,),
            f"{p}self_attn.in_proj_weight": (3 * d_model, d_model),
            f"{p}self_attn.in_proj_bias": (3 * d_model,),
            f"{p}self_attn.out_proj.weight": (d_model, d_model),
            f"{p}self_attn.out_proj.bias": (d_model,),
            f"{p}norm2.weight": (d_model,), f"{p}norm2.bias": (d_model,),
            f"{p}mlp.linear1.weight": (4 * d_model, d_model),
            f"{p}mlp.linear1.bias": (4 * d_model,),
            f"{p}mlp.linear2.weight": (d_model, 4 * d_model),
            f"{p}mlp.linear2.bias": (d_model,),
        })  # fmt: skip
    shapes.update(
        {"norm.weight": (d_model,), "norm.bias": (d_model,), "head.weight": (vocab, d_model)}
    )
    state = {name: rng.standard_normal(shape) * scale for name, shape in shapes.items()}
    for name in state:
        if "norm" in name and name.endswith("weight"):
            state[name] = 1.0 + state[name]
    return {name: value.astype(np.float32) for name, value in state.items()}


def sample_next_token(
    logits: np.ndarray, temperature: float, top_k: int | None, rng: np.random.Generator
) -> np.ndarray:
    """The sampling rule module 13 fixes: argmax at temperature 0, else inverse CDF of the
    (top-k filtered) softmax of logits / temperature with one rng.random(N) per call."""
    if temperature == 0:
        return np.argmax(logits, axis=-1)
    scaled = np.asarray(logits, dtype=F64) / temperature
    if top_k is not None and top_k < scaled.shape[-1]:
        kth = np.sort(scaled, axis=-1)[:, -top_k][:, None]
        scaled = np.where(scaled < kth, -np.inf, scaled)
    p = np.exp(scaled - scaled.max(axis=-1, keepdims=True))
    p /= p.sum(axis=-1, keepdims=True)
    u = rng.random(p.shape[0])
    return np.minimum((np.cumsum(p, axis=-1) <= u[:, None]).sum(axis=-1), p.shape[-1] - 1)


def generate(
    state: Mapping[str, np.ndarray],
    ids: np.ndarray,
    heads: int,
    context: int,
    new_tokens: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    seed: int | None = None,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """The ids after `new_tokens` steps of uncached generation, and each step's logits."""
    rng = np.random.default_rng(seed)
    steps = []
    for _ in range(new_tokens):
        logits = gpt_logits(state, ids[:, -context:], heads)[:, -1]
        steps.append(logits)
        token = sample_next_token(logits, temperature, top_k, rng)
        ids = np.concatenate([ids, token[:, None]], axis=1)
    return ids, steps
