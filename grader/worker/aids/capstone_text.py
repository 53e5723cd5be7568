"""Helpers for TinyMLPerf's text task (`austen_gpt`), run in the workers; the measurement
stages modules 08 to 14 for it (module 20's own grading does not, hence a file apart).

`gpt(state, sizes...)` builds the worker's module 13 GPT with the baseline's weights
(arrays); `CachedGPT` is the baseline's generation step behind module 14's KV cache;
`sequence_logits` and `next_logits` run a model on windows of int64 ids or one step.
They decide nothing: the grader times the calls on its own clock and scores the logits.
"""

from __future__ import annotations

import contextlib

import numpy as np


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
