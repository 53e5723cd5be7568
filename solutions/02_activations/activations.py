# %% [markdown]
# # Module 02: Activations
#
# Activation functions give a network its non-linearity. Each one here is a
# `Function` (the op machinery from module 01) plus a functional wrapper named as in
# `torch.nn.functional`: `relu`, `sigmoid`, `tanh`, `gelu`, `softmax`.
#
# The hard part is numerical stability: `exp(1000)` overflows float32, so the
# formulas must be arranged so that no intermediate value does. The layer classes
# (`nn.ReLU` style) arrive with the `Module` base in module 03.
#
# Tasks: 02.1 relu, 02.2 sigmoid, 02.3 tanh, 02.4 gelu, 02.5 softmax.


# %%
from __future__ import annotations

import math

import numpy as np

from tinytorch.core.tensor import Context, Function, Tensor, _empty_like

__all__ = ["relu", "sigmoid", "tanh", "gelu", "softmax"]


# %% [markdown]
# ## Task 02.1: ReLU
#
# NOTE: the subgradient at 0 is taken as 0 (PyTorch does the same); it matters in
# module 05, not here.


# %%
class ReLUFn(Function):
    """max(x, 0), elementwise."""

    @staticmethod
    def forward(ctx: Context, x: np.ndarray) -> np.ndarray:
        # BEGIN SOLUTION 02.1
        # HINT: np.maximum(x, 0) keeps the dtype; x * (x > 0) turns -inf into nan. Pass
        # HINT: out=_empty_like(x) (given in module 01) to recycle the memory of big batches.
        return np.maximum(x, np.zeros((), dtype=x.dtype), out=_empty_like(x))
        # END SOLUTION


def relu(x: Tensor) -> Tensor:
    r"""Rectified linear unit: :math:`\max(x, 0)`.

    Shape:
        Input `(*)`, output `(*)`, the same shape.
    """
    return ReLUFn.apply(x)


# %% [markdown]
# ## Task 02.2: Sigmoid
#
# `1 / (1 + exp(-x))` overflows for large negative x. For x < 0 use the equal form
# `exp(x) / (1 + exp(x))`, whose exponent is never positive.


# %%
class SigmoidFn(Function):
    """1 / (1 + exp(-x)), computed without overflow."""

    @staticmethod
    def forward(ctx: Context, x: np.ndarray) -> np.ndarray:
        # BEGIN SOLUTION 02.2
        # HINT: compute e = exp(-|x|) once; the answer is 1/(1+e) for x >= 0, e/(1+e) below.
        e = np.exp(-np.abs(x))
        return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)
        # END SOLUTION


def sigmoid(x: Tensor) -> Tensor:
    r"""Logistic sigmoid :math:`1 / (1 + e^{-x})`, stable for any float input.

    Shape:
        Input `(*)`, output `(*)`, the same shape.
    """
    return SigmoidFn.apply(x)


# %% [markdown]
# ## Task 02.3: Tanh


# %%
class TanhFn(Function):
    """Hyperbolic tangent, elementwise."""

    @staticmethod
    def forward(ctx: Context, x: np.ndarray) -> np.ndarray:
        # BEGIN SOLUTION 02.3
        return np.tanh(x)
        # END SOLUTION


def tanh(x: Tensor) -> Tensor:
    r"""Hyperbolic tangent :math:`(e^x - e^{-x}) / (e^x + e^{-x})`.

    Shape:
        Input `(*)`, output `(*)`, the same shape.
    """
    return TanhFn.apply(x)


# %% [markdown]
# ## Task 02.4: GELU
#
# The exact GELU is `x * Phi(x)` with `Phi` the standard normal CDF. `approximate="tanh"`
# selects the tanh formula GPT-2 used:
# `0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x**3)))`.


# %%
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def _erf(x: np.ndarray) -> np.ndarray:
    """Error function to float32 precision (Abramowitz and Stegun 7.1.26, |error| < 1.5e-7)."""
    sign = np.sign(x)
    z = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * z)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027
                                                                     + t * 1.061405429))))
    return sign * (1.0 - poly * np.exp(-z * z))


class GELUFn(Function):
    """x * Phi(x), exactly or with the tanh approximation."""

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, approximate: str) -> np.ndarray:
        # BEGIN SOLUTION 02.4
        # HINT: Phi(x) = 0.5 * (1 + erf(x / sqrt(2))); `_erf` is given.
        if approximate == "tanh":
            inner = _SQRT_2_OVER_PI * (x + 0.044715 * (x * x * x))
            return (0.5 * x * (1.0 + np.tanh(inner))).astype(x.dtype, copy=False)
        return (0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))).astype(x.dtype, copy=False)
        # END SOLUTION


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    r"""Gaussian error linear unit :math:`x \Phi(x)`.

    Args:
        approximate: "none" for the exact form, "tanh" for the tanh approximation.

    Shape:
        Input `(*)`, output `(*)`, the same shape.
    """
    if approximate not in ("none", "tanh"):
        raise ValueError(f"approximate must be 'none' or 'tanh', got {approximate!r}")
    return GELUFn.apply(x, approximate=approximate)


# %% [markdown]
# ## Task 02.5: Softmax
#
# Subtract the maximum along `dim` before `exp`: the result is unchanged, and the
# largest exponent becomes 0, so nothing overflows.


# %%
class SoftmaxFn(Function):
    """exp(x) / sum(exp(x)) along `dim`, shifted by the maximum for stability."""

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, dim: int) -> np.ndarray:
        # BEGIN SOLUTION 02.5
        # HINT: keepdims=True keeps the reduced axis so the division broadcasts.
        if x.ndim == 0:
            return np.ones_like(x)
        shifted = x - np.max(x, axis=dim, keepdims=True)
        exps = np.exp(shifted)
        return exps / np.sum(exps, axis=dim, keepdims=True)
        # END SOLUTION


def softmax(x: Tensor, dim: int = -1) -> Tensor:
    r"""Softmax along `dim`: :math:`e^{x_i} / \sum_j e^{x_j}`; each slice sums to 1.

    Shape:
        Input `(*)`, output `(*)`, the same shape.
    """
    if not -max(x.ndim, 1) <= dim < max(x.ndim, 1):
        raise IndexError(f"dim {dim} is out of range for a tensor with {x.ndim} dimensions")
    if x.numel() == 0:  # nothing to normalise (and NumPy's max of nothing is an error)
        return x * 1.0
    return SoftmaxFn.apply(x, dim=dim)
