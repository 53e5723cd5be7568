"""Trusted references for module 20 (capstone) and TinyMLPerf's measurement: MLPs whose
weights the test draws, the same MLP in the student's layers, and the best low-rank
approximation of a weight from this process's own SVD."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from grader.testing.kit import student


def draw_mlp(seed: int, sizes: Sequence[int]) -> list[np.ndarray]:
    """float32 weights and biases of Linear layers `sizes[0] -> sizes[1] -> ...` in
    PyTorch's layout (a weight is `(out, in)`), drawn as PyTorch initializes them."""
    rng = np.random.default_rng(seed)
    params = []
    for inputs, outputs in zip(sizes, sizes[1:], strict=False):
        bound = 1.0 / np.sqrt(inputs)
        params.append(rng.uniform(-bound, bound, (outputs, inputs)).astype(np.float32))
        params.append(rng.uniform(-bound, bound, outputs).astype(np.float32))
    return params


def mlp_in_worker(params: Sequence[np.ndarray]) -> Any:
    """Sequential(Linear, ReLU, Linear, ..., Linear) in the worker of the running session,
    from its `tinytorch.core.layers`, holding `params`."""
    layers = student.layers
    parts = []
    for i in range(0, len(params), 2):
        out_features, in_features = params[i].shape
        linear = layers.Linear(in_features, out_features)
        linear.weight.data = np.asarray(params[i], dtype=np.float32)
        linear.bias.data = np.asarray(params[i + 1], dtype=np.float32)
        parts += [layers.ReLU(), linear] if parts else [linear]
    return layers.Sequential(*parts)


def mlp_logits(params: Sequence[np.ndarray], x: np.ndarray) -> np.ndarray:
    """The MLP's logits in the dtype of `x` (float64 for references, float32 to mirror)."""
    for i in range(0, len(params), 2):
        x = x @ params[i].T.astype(x.dtype) + params[i + 1].astype(x.dtype)
        if i + 2 < len(params):
            x = np.maximum(x, 0.0)
    return x


def low_rank(weight: np.ndarray, rank: int) -> np.ndarray:
    """The best rank-`rank` approximation of `weight` (Eckart-Young), in float64."""
    u, s, vt = np.linalg.svd(np.asarray(weight, dtype=np.float64), full_matrices=False)
    return (u[:, :rank] * s[:rank]) @ vt[:rank]


def factorized(params: Sequence[np.ndarray], ranks: Sequence[int]) -> list[np.ndarray]:
    """`params` with the first `len(ranks)` weights replaced by their low-rank products
    (each rank capped at the weight's smaller side)."""
    out = [np.asarray(p, dtype=np.float64) for p in params]
    for layer, rank in enumerate(ranks):
        weight = out[2 * layer]
        out[2 * layer] = low_rank(weight, min(rank, *weight.shape))
    return out
