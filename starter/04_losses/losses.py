# %% [markdown]
# # Module 04: Losses
#
# A loss turns a model's output and the right answer into one number that training
# makes smaller. You write the three families every course of deep learning meets:
# mean squared error for regression, cross-entropy over integer class labels for
# classification, and binary cross-entropy for yes/no questions, with the functional
# names and arguments of `torch.nn.functional`, and layer classes (`MSELoss`, ...) that
# hold a `reduction`.
#
# As in module 02, the hard part is numerical: probabilities underflow to 0 and
# `log(0)` is `-inf`. Every loss here stays finite for logits as large as 1e4 and for
# probabilities of exactly 0 and 1. `log_softmax`, `cross_entropy` and
# `binary_cross_entropy` are `Function`s working on arrays (module 05 gives them
# hand-written backward rules that match PyTorch's); `mse_loss` and
# `binary_cross_entropy_with_logits` are composites of tensor operations, so their
# gradients come for free.
#
# Tasks: 04.1 mean squared error, 04.2 log-softmax, 04.3 cross-entropy,
# 04.4 binary cross-entropy, 04.5 binary cross-entropy with logits.


# %%
from __future__ import annotations

from typing import Any

import numpy as np

from tinytorch.core.layers import Module
from tinytorch.core.tensor import Context, Function, Tensor

__all__ = [
    "log_softmax",
    "cross_entropy",
    "mse_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "MSELoss",
    "CrossEntropyLoss",
    "BCELoss",
    "BCEWithLogitsLoss",
]

REDUCTIONS = ("mean", "sum", "none")
LOG_FLOOR = -100.0  # PyTorch clamps the logs of binary cross-entropy here


# %% [markdown]
# ## Reductions and argument checks (given)
#
# A loss is computed per element (or per sample) first; `reduction` then says what to
# return: "mean" (the default) averages them, "sum" adds them, "none" returns them all.


# %%
def _check_reduction(reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _reduce(losses: Tensor, reduction: str) -> Tensor:
    """The mean, the sum, or all of the per-element `losses`."""
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    return losses


def _same_shape_target(prediction: Tensor, target: Any, loss: str) -> Tensor:
    """`target` as a Tensor (of `prediction`'s dtype unless it is one already), same shape."""
    if not isinstance(target, Tensor):
        target = Tensor(target, dtype=prediction.dtype)
    if target.shape != prediction.shape:
        raise ValueError(
            f"{loss}: the target has shape {target.shape} but the input has shape "
            f"{prediction.shape}; broadcasting them would compare every pair of elements, "
            f"so reshape one of them first"
        )
    return target


def _class_indices(logits: Tensor, targets: Any) -> np.ndarray:
    """`targets` as an int64 array of class indices for `(N, C)` logits, or a clear error."""
    if logits.ndim != 2:
        raise ValueError(f"cross_entropy expects logits of shape (N, C), got shape {logits.shape}")
    labels = np.asarray(targets.data if isinstance(targets, Tensor) else targets)
    if labels.dtype.kind not in "iu":  # signed or unsigned integers (not bool)
        raise TypeError(
            f"cross_entropy expects integer class indices as targets, got dtype {labels.dtype}; "
            f"make them with Tensor(labels, dtype=np.int64) or a list of ints"
        )
    n, classes = logits.shape
    if labels.shape != (n,):
        raise ValueError(
            f"cross_entropy expects targets of shape ({n},) for logits of shape "
            f"{logits.shape}, got shape {labels.shape}"
        )
    if labels.size and (labels.min() < 0 or labels.max() >= classes):  # two quick reductions
        bad = np.flatnonzero((labels < 0) | (labels >= classes))
        raise IndexError(
            f"target {labels[bad[0]]} (sample {bad[0]}) is not a class index: "
            f"with {classes} classes the labels are 0 to {classes - 1}"
        )
    return labels.astype(np.int64, copy=False)


# %% [markdown]
# ## Task 04.1: mean squared error
#
# `(prediction - target)**2` per element, then the reduction. Write it with tensor
# operations (no `.data`), and module 05 will differentiate it for you.


# %%
def mse_loss(prediction: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    r"""Mean squared error :math:`(x - y)^2`, reduced (as `F.mse_loss`).

    Args:
        prediction: the model's output.
        target: the wanted values, a Tensor or array of the same shape.
        reduction: "mean", "sum" or "none".

    Shape:
        prediction `(*)`, target `(*)` (the same shape); output `()`, or `(*)` for "none".

    Example:
        >>> mse_loss(Tensor([1.0, 2.0]), Tensor([1.0, 4.0]))
        Tensor(2.)
    """
    _check_reduction(reduction)
    target = _same_shape_target(prediction, target, "mse_loss")
    # TODO (Task 04.1)
    raise NotImplementedError(
        'Task 04.1: implement mse_loss. Hint: square the difference with tensor operations, then '
        'return _reduce(..., reduction).'
    )


# %% [markdown]
# ## Task 04.2: log-softmax
#
# `log(softmax(x))` computed in two steps fails twice: `softmax` underflows to 0 for
# very negative logits, and `log(0)` is `-inf`. Use the identity
# `log_softmax(x) = x - m - log(sum(exp(x - m)))` with `m = max(x)` along `dim`: every
# exponent is at most 0, and the largest term of the sum is exactly 1, so its log is
# finite.


# %%
class LogSoftmaxFn(Function):
    """log(softmax(x)) along `dim`, as (x - max) - log(sum(exp(x - max)))."""

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, dim: int) -> np.ndarray:
        # TODO (Task 04.2)
        raise NotImplementedError(
            'Task 04.2: implement LogSoftmaxFn.forward. Hint: shifted = x - np.max(x, axis=dim, '
            'keepdims=True); then subtract the log of the sum of exp(shifted) along dim '
            '(keepdims=True again).'
        )


def log_softmax(x: Tensor, dim: int = -1) -> Tensor:
    r"""Logarithm of softmax along `dim`: :math:`x_i - \log \sum_j e^{x_j}`, stable.

    Shape:
        Input `(*)` with at least one dimension, output `(*)`, the same shape.

    Example:
        >>> log_softmax(Tensor([0.0, 0.0])).exp()
        Tensor([0.5, 0.5])
    """
    if x.ndim == 0:
        raise ValueError("log_softmax needs a tensor with at least one dimension, got a 0-d one")
    if not -x.ndim <= dim < x.ndim:
        raise IndexError(f"dim {dim} is out of range for a tensor with {x.ndim} dimensions")
    if x.numel() == 0:  # nothing to normalise (and NumPy's max of nothing is an error)
        return x * 1.0
    return LogSoftmaxFn.apply(x, dim=dim)


# %% [markdown]
# ## Task 04.3: cross-entropy
#
# For logits `x` of shape `(N, C)` and class labels `y` of shape `(N,)`, the loss of
# sample `n` is `-log_softmax(x[n])[y[n]]`: small when the right class gets most of the
# probability. `CrossEntropyFn` fuses the two steps into one op, which module 05 gives
# the famously simple gradient `softmax(x) - one_hot(y)`. The labels arrive checked, as
# an int64 array; NumPy's `a[np.arange(N), labels]` picks one entry per row.


# %%
class CrossEntropyFn(Function):
    """Cross-entropy of `(N, C)` logits against `(N,)` int64 labels, then `reduction`."""

    @staticmethod
    def forward(
        ctx: Context, logits: np.ndarray, targets: np.ndarray, reduction: str
    ) -> np.ndarray:
        # TODO (Task 04.3)
        raise NotImplementedError(
            'Task 04.3: implement CrossEntropyFn.forward. Hint: log_probs = '
            "LogSoftmaxFn.forward(ctx, logits, dim=1); take the entry of each row's label, negate, "
            'then np.mean, np.sum or nothing for "none".'
        )


def cross_entropy(logits: Tensor, targets: Any, reduction: str = "mean") -> Tensor:
    r"""Cross-entropy between logits and class labels (as `F.cross_entropy`).

    The loss of sample n is :math:`-\log \mathrm{softmax}(x_n)_{y_n}`, computed from the
    logits in one stable step.

    Args:
        logits: unnormalised scores, one row per sample.
        targets: the class of each sample, integers in [0, C): a Tensor of dtype
            np.int64, an integer ndarray or a list of ints.
        reduction: "mean", "sum" or "none".

    Shape:
        logits `(N, C)`, targets `(N,)`; output `()`, or `(N,)` for "none".

    Example:
        >>> cross_entropy(Tensor([[0.0, 0.0]]), [1])
        Tensor(0.6931472)
    """
    _check_reduction(reduction)
    labels = _class_indices(logits, targets)
    return CrossEntropyFn.apply(logits, labels, reduction=reduction)


# %% [markdown]
# ## Task 04.4: binary cross-entropy
#
# For a probability `p` of "yes" and a target `y` in [0, 1], the loss is
# `-(y log p + (1 - y) log(1 - p))`. A confident wrong answer (`p = 0` when `y = 1`)
# would cost `-log 0 = inf`; PyTorch clamps each log at -100 instead, so it costs 100.
# Like `CrossEntropyFn`, `BinaryCrossEntropyFn` works on arrays: NumPy's `np.log(0)` is
# `-inf` (with a warning, which `np.errstate(divide="ignore")` silences), and
# `np.maximum(..., LOG_FLOOR)` lifts it to -100. For `log(1 - p)` use `np.log1p(-p)`,
# exact even when `p` is tiny. Module 05 then gives this op PyTorch's gradient, which
# stays finite at `p = 0` and `p = 1`.


# %%
class BinaryCrossEntropyFn(Function):
    """Binary cross-entropy of probabilities against same-shape targets, then `reduction`."""

    @staticmethod
    def forward(
        ctx: Context, p: np.ndarray, target: np.ndarray, reduction: str
    ) -> np.ndarray:
        # TODO (Task 04.4)
        raise NotImplementedError(
            'Task 04.4: implement BinaryCrossEntropyFn.forward. Hint: inside `with '
            'np.errstate(divide="ignore"):` take np.maximum(np.log(p), LOG_FLOOR) and '
            'np.maximum(np.log1p(-p), LOG_FLOOR); then -(target * log_yes + (1 - target) * '
            'log_no), and np.mean, np.sum or nothing for "none".'
        )


def binary_cross_entropy(prediction: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    r"""Binary cross-entropy of probabilities :math:`-[y \log p + (1 - y) \log(1 - p)]`.

    Each log is clamped at -100, as in `F.binary_cross_entropy`.

    Args:
        prediction: probabilities in [0, 1] (for raw scores use
            `binary_cross_entropy_with_logits`).
        target: the wanted probabilities, a Tensor or array of the same shape.
        reduction: "mean", "sum" or "none".

    Shape:
        prediction `(*)`, target `(*)` (the same shape); output `()`, or `(*)` for "none".

    Example:
        >>> binary_cross_entropy(Tensor([0.5]), Tensor([1.0]))
        Tensor(0.6931472)
    """
    _check_reduction(reduction)
    target = _same_shape_target(prediction, target, "binary_cross_entropy")
    if not np.all((prediction.data >= 0) & (prediction.data <= 1)):
        raise ValueError(
            "binary_cross_entropy expects probabilities in [0, 1] as input; for raw scores "
            "use binary_cross_entropy_with_logits"
        )
    return BinaryCrossEntropyFn.apply(prediction, target, reduction=reduction)


# %% [markdown]
# ## Task 04.5: binary cross-entropy with logits
#
# With a logit `x` (so `p = sigmoid(x)`), the loss is `(1 - y) * x + log(1 + exp(-x))`.
# Shift the log-sum-exp by `m = max(-x, 0)`: `log(1 + exp(-x)) = m + log(exp(-m) +
# exp(-x - m))`. No exponent is ever positive, so nothing overflows, and no probability is
# rounded to exactly 0 or 1: this form is both stable and more accurate than
# `binary_cross_entropy(sigmoid(x), y)`. Its gradient is `sigmoid(x) - y` at every `x`,
# even where `m` has a kink (the shift cancels), which a formula built from `|x|` misses
# at `x = 0`.


# %%
def binary_cross_entropy_with_logits(
    logits: Tensor, target: Any, reduction: str = "mean"
) -> Tensor:
    r"""Sigmoid and binary cross-entropy in one stable formula.

    :math:`(1 - y) x + m + \log(e^{-m} + e^{-x-m})` with :math:`m = \max(-x, 0)`, which
    equals :math:`-[y \log \sigma(x) + (1 - y) \log(1 - \sigma(x))]` (as
    `F.binary_cross_entropy_with_logits`). The shift `m` keeps every exponent at most 0,
    and the gradient is :math:`\sigma(x) - y` everywhere, also at x = 0 (a formula built
    from `relu` or `|x|` would take their slope at the kink, 0, and give -y there).

    Shape:
        logits `(*)`, target `(*)` (the same shape); output `()`, or `(*)` for "none".

    Example:
        >>> binary_cross_entropy_with_logits(Tensor([0.0]), Tensor([1.0]))
        Tensor(0.6931472)
    """
    _check_reduction(reduction)
    target = _same_shape_target(logits, target, "binary_cross_entropy_with_logits")
    # TODO (Task 04.5)
    raise NotImplementedError(
        'Task 04.5: implement binary_cross_entropy_with_logits. Hint: m = (-x).clamp(min=0); (1 - '
        'y) * x + m + ((-m).exp() + (-x - m).exp()).log()'
    )


# %% [markdown]
# ## The loss layers (given)
#
# As in `torch.nn`, each loss also exists as a `Module` that keeps its `reduction`:
# `criterion = CrossEntropyLoss()`, then `loss = criterion(model(x), y)`.


# %%
class _Loss(Module):
    """Base of the loss layers: checks and keeps `reduction`."""

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        _check_reduction(reduction)
        self.reduction = reduction

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class MSELoss(_Loss):
    """`mse_loss` as a layer: `MSELoss()(prediction, target)`."""

    def forward(self, prediction: Tensor, target: Any) -> Tensor:
        return mse_loss(prediction, target, self.reduction)


class CrossEntropyLoss(_Loss):
    """`cross_entropy` as a layer: `CrossEntropyLoss()(logits, targets)`."""

    def forward(self, logits: Tensor, targets: Any) -> Tensor:
        return cross_entropy(logits, targets, self.reduction)


class BCELoss(_Loss):
    """`binary_cross_entropy` as a layer: `BCELoss()(probabilities, target)`."""

    def forward(self, prediction: Tensor, target: Any) -> Tensor:
        return binary_cross_entropy(prediction, target, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """`binary_cross_entropy_with_logits` as a layer: `BCEWithLogitsLoss()(logits, target)`."""

    def forward(self, logits: Tensor, target: Any) -> Tensor:
        return binary_cross_entropy_with_logits(logits, target, self.reduction)
