"""A fixed closed-track submission for the measurement tests (tests/test_tinymlperf_measure.py):
the baseline's first two Linear layers factorized at ranks 48 and 32 with module 18's
low_rank_linear, so the tests know the model exactly and recompute its accuracy in NumPy.
(Module 20's own `build` chooses its ranks from the calibration images.) `build_gpt` is
the text task's: the baseline GPT unchanged, generating with module 14's KV cache.
"""

from tinytorch.core.compression import low_rank_linear
from tinytorch.core.layers import Linear, Sequential

RANKS = (48, 32)


def build(baseline, calibration, training=None):
    """The baseline with its first two Linear layers factorized (ranks RANKS)."""
    layers, linears = list(baseline), 0
    for index, layer in enumerate(layers):
        if isinstance(layer, Linear) and linears < len(RANKS):
            rank = min(RANKS[linears], layer.in_features, layer.out_features)
            layers[index] = low_rank_linear(layer, rank)
            linears += 1
    return Sequential(*layers)


class CachedGPT:
    """The text task's model: the baseline GPT, generating with module 14's KV cache."""

    def __init__(self, model):
        from tinytorch.core.kv_caching import KVCache  # staged for the text task only

        self.model, self.cache = model, KVCache.for_model(model, 1)

    def __call__(self, ids):
        return self.model(ids)

    def next_logits(self, ids):
        return self.cache.next_logits(self.model, ids)


def build_gpt(baseline, calibration, training=None):
    """The baseline GPT as it is, with the cache (closed track)."""
    return CachedGPT(baseline)
