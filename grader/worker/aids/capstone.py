"""Helper for TinyMLPerf (module 20's official measurement), run in the workers.

`logits(model, pixels, scale)`: one batch of uint8 pixels, as float32 `pixels / scale` in
a `Tensor`, through a model with gradients off (inference), returned as an array. Pixels
travel as uint8: a quarter of the bytes of float32. The student's model runs in the
grading worker; the baseline runs the same way in a worker of its own, built from the
course's reference solutions, which holds none of the student's code.

For the text task: `gpt(state, sizes...)` builds the worker's module 13 GPT with the
baseline's weights, `CachedGPT` is the baseline's generation step behind module 14's KV
cache, `sequence_logits` and `next_logits` run a model on windows or one step.

It decides nothing: the grader times the calls with its own clock and judges the logits.
"""

from __future__ import annotations

import contextlib

import numpy as np


def logits(model: object, pixels: np.ndarray, scale: float) -> np.ndarray:
    """`model(Tensor(pixels / scale))` under `no_grad` (when module 05 is there), as an array."""
    from tinytorch.core.tensor import Tensor

    try:
        from tinytorch.core.autograd import no_grad
    except ImportError:  # a framework without autograd runs forward only anyway
        no_grad = contextlib.nullcontext
    images = pixels.astype(np.float32) / np.float32(scale)
    with no_grad():
        out = model(Tensor(images))
    return np.asarray(getattr(out, "data", out))


# The text task (austen_gpt): the GPT's weights arrive as arrays, character ids as int64.


def gpt(state: dict, vocab_size: int, context: int, d_model: int, heads: int, layers: int):  # noqa: ANN201
    """The worker's own module 13 GPT of those sizes holding the weights `state`."""
    from tinytorch.core.transformers import GPT

    model = GPT(vocab_size, context, d_model, heads, layers, rng=np.random.default_rng(0))
    model.load_state_dict(state)
    model.eval()
    return model


class CachedGPT:
    """The baseline's generation step: a GPT behind module 14's KV cache, so the baseline
    is timed the way a submission is allowed to run."""

    def __init__(self, model: object) -> None:
        from tinytorch.core.kv_caching import KVCache

        self.model, self.cache = model, KVCache.for_model(model, 1)

    def __call__(self, ids: object) -> object:
        return self.model(ids)

    def next_logits(self, ids: np.ndarray) -> np.ndarray:
        return self.cache.next_logits(self.model, ids)


def _no_grad():  # noqa: ANN202
    try:
        from tinytorch.core.autograd import no_grad
    except ImportError:
        return contextlib.nullcontext()
    return no_grad()


def sequence_logits(model: object, ids: np.ndarray) -> np.ndarray:
    """`model(Tensor(ids))` for windows of ids `(windows, length)`, under `no_grad`."""
    from tinytorch.core.tensor import Tensor

    with _no_grad():
        out = model(Tensor(ids, dtype=np.int64))
    return np.asarray(getattr(out, "data", out))


def next_logits(model: object, ids: np.ndarray) -> np.ndarray:
    """One generation step: `model.next_logits(ids)` for the ids so far `(1, length)`."""
    with _no_grad():
        out = model.next_logits(ids)
    return np.asarray(getattr(out, "data", out))
