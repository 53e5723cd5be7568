"""The capstone reference submission (closed track): the baseline MLP made faster by
low-rank factorization (module 18), with no retraining and no labels.

The first Linear (784 -> 256 on Fashion-MNIST) does 85% of the baseline's multiply-adds;
its best rank-48 approximation, Linear(784, 48) then Linear(48, 256), does a quarter of
them. The second Linear gets rank 32. On the held-out Fashion-MNIST images this keeps the
accuracy within a point of the baseline's.
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
