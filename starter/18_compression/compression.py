# %% [markdown]
# # Module 18: Compression
#
# A trained network holds far more numbers than it needs. Most weights are tiny and can be
# set to zero (*pruning*); whole neurons or channels can go (*structured pruning*), which
# makes the layers themselves smaller; a weight matrix is often close to a product of two
# thin ones (*low rank*); and a small model can learn from a big one's soft answers
# (*knowledge distillation*). Each trades a little accuracy for a smaller model.
#
# Pruning is only useful if it lasts. A mask set once is undone by the next optimizer step
# (momentum keeps pushing a zeroed weight), so here, as in `torch.nn.utils.prune`, a
# pruned layer keeps its trained values as `weight_orig`, the mask as the buffer
# `weight_mask`, and computes `weight = weight_orig * weight_mask` before every forward.
# The optimizer trains `weight_orig`; the pruned entries of `weight` stay exactly zero
# whatever SGD or Adam do, and their gradient is zero because the mask multiplies it.
#
# Compression is measured, never assumed: count parameters, non-zeros and bytes exactly,
# and measure accuracy before and after (the README's table: 90% pruning without
# retraining, then one epoch of fine-tuning).
#
# Tasks: 18.1 masks from magnitudes and channel norms, 18.2 pruning that survives
# training, 18.3 exact size accounting, 18.4 low-rank Linear layers, 18.5 distillation.


# %%
from __future__ import annotations

import math
import numbers
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tinytorch.core.layers import Linear, Module, Sequential
from tinytorch.core.losses import cross_entropy, log_softmax
from tinytorch.core.tensor import Tensor

__all__ = [
    "magnitude_mask",
    "channel_mask",
    "apply_mask",
    "magnitude_prune",
    "channel_prune",
    "global_magnitude_prune",
    "remove_pruning",
    "is_pruned",
    "SizeReport",
    "model_size",
    "low_rank_linear",
    "rank_for_energy",
    "distillation_loss",
]


def _values(weight: Any) -> np.ndarray:
    """The array of a Tensor, or an array-like as an array."""
    return np.asarray(weight.data if isinstance(weight, Tensor) else weight)


def _count(amount: float | int, total: int) -> int:
    """How many of `total` entries `amount` prunes: an int is a count, a float a fraction
    (rounded as PyTorch does, with Python's round)."""
    if isinstance(amount, bool) or not isinstance(amount, numbers.Real):
        raise TypeError(f"amount must be an int or a float, got {amount!r}")
    if isinstance(amount, numbers.Integral):
        if not 0 <= amount <= total:
            raise ValueError(f"amount={amount} entries, but there are only {total} to prune")
        return int(amount)
    if not 0.0 <= amount <= 1.0:
        raise ValueError(f"amount as a fraction must lie in [0, 1], got {amount}")
    return round(amount * total)


# %% [markdown]
# ## Task 18.1: masks
#
# A mask has the weight's shape, float32, 1 where a weight stays and 0 where it goes.
#
# `magnitude_mask(weight, amount)` zeroes the `amount` entries of smallest absolute value
# (an int: that many; a float: that fraction of all entries, `round(amount * size)`).
# Ties go in flat order: sort `|weight|` with a *stable* sort and prune the first ones.
#
# `channel_mask(weight, amount, n=2, dim=0)` prunes whole slices along `dim` (dim 0 of a
# Linear weight: output neurons; of a Conv2d weight: output channels). Each slice's
# importance is its L`n` norm over all its entries (`np.linalg.norm(..., ord=n)` on the
# flattened slice, `n=np.inf` for the largest magnitude); the `amount` slices (count or
# fraction of `weight.shape[dim]`) with the smallest norms are zeroed, ties in order.


# %%
def magnitude_mask(weight: Any, amount: float | int) -> np.ndarray:
    """A float32 mask that zeroes the `amount` smallest-magnitude entries of `weight`."""
    values = _values(weight)
    count = _count(amount, values.size)
    # TODO (Task 18.1)
    raise NotImplementedError(
        'Task 18.1: implement magnitude_mask. Hint: np.argsort(np.abs(values), axis=None, '
        'kind="stable")[:count] are the flat indices to zero in a flat float32 array of ones; '
        'reshape it to values.shape.'
    )


def channel_mask(weight: Any, amount: float | int, n: float = 2, dim: int = 0) -> np.ndarray:
    """A float32 mask that zeroes the `amount` slices along `dim` of smallest L`n` norm."""
    values = _values(weight)
    if values.ndim < 2 or not -values.ndim <= dim < values.ndim:
        raise ValueError(
            f"channel pruning needs a weight with 2 or more dims and a dim among them, "
            f"got shape {values.shape} and dim={dim}"
        )
    if not isinstance(n, numbers.Real) or isinstance(n, bool) or not n > 0:
        raise ValueError(f"the norm's order n must be a positive number or np.inf, got {n!r}")
    channels = values.shape[dim]
    count = _count(amount, channels)
    # TODO (Task 18.1)
    raise NotImplementedError(
        'Task 18.1: implement channel_mask. Hint: np.moveaxis(values, dim, 0).reshape(channels, '
        '-1) has one slice per row; take np.linalg.norm(rows, ord=n, axis=1), argsort it (stable), '
        'and zero the first `count` slices of a mask of ones with np.moveaxis(mask, dim, '
        '0)[pruned] = 0.'
    )


# %% [markdown]
# ## Task 18.2: pruning that survives training
#
# `apply_mask(module, name, mask)` re-parametrizes `module.<name>`:
# - the first time, the Parameter moves to `<name>_orig` (the same object, so an optimizer
#   that holds it keeps training it, momentum and all); the mask becomes the buffer
#   `<name>_mask` (a float32 Tensor, saved by `state_dict`);
# - pruning again combines the masks: the new mask is multiplied into the old one;
# - `module.<name>` becomes a plain Tensor, `<name>_orig * <name>_mask`, recomputed
#   before every forward (given: `_refresh` and `_prune_before_forward`). It is a
#   product of tensors, so backward sends `grad * mask` to `<name>_orig`.
#
# `magnitude_prune` and `channel_prune` compute their mask from the current (already
# masked) weight, so pruned entries count as the smallest; `global_magnitude_prune`
# ranks the magnitudes of several tensors together: layers that matter less lose more.
# `remove_pruning` makes it permanent: `<name>` is the `<name>_orig` Parameter again,
# holding the masked values; the mask and the hook are gone.


# %%
def _pruned_names(module: Module) -> list[str]:
    """The names of `module`'s pruned tensors (those with a `<name>_mask` buffer)."""
    return [key[: -len("_mask")] for key in module._buffers if key.endswith("_mask")]


def _refresh(module: Module, name: str) -> None:
    """`module.<name> = <name>_orig * <name>_mask`, a tensor product autograd follows."""
    masked = getattr(module, f"{name}_orig") * getattr(module, f"{name}_mask")
    object.__setattr__(module, name, masked)


def _prune_before_forward(module: Module) -> None:
    """Make `module(x)` refresh every pruned tensor first: PyTorch's forward pre-hook.
    tinytorch's Module has no hooks, so this one module gets its own `forward`."""
    if "forward" in module.__dict__:
        return
    forward = module.forward

    def pruned_forward(*args: Any, **kwargs: Any) -> Any:
        for name in _pruned_names(module):
            _refresh(module, name)
        return forward(*args, **kwargs)

    object.__setattr__(module, "forward", pruned_forward)


def _current(module: Module, name: str) -> np.ndarray:
    """The values `module.<name>` has now: the masked values of a pruned tensor."""
    if f"{name}_mask" in module._buffers:
        return getattr(module, f"{name}_orig").data * getattr(module, f"{name}_mask").data
    tensor = module._parameters.get(name)
    if tensor is None:
        raise ValueError(f"{type(module).__name__} has no parameter named {name!r} to prune")
    return tensor.data


def apply_mask(module: Module, name: str, mask: Any) -> Module:
    """Prune `module.<name>` with `mask` (1 keeps, 0 prunes) so that it stays pruned."""
    mask = np.asarray(_values(mask), dtype=np.float32)
    current = _current(module, name)
    if mask.shape != current.shape:
        raise ValueError(
            f"the mask has shape {mask.shape} but {type(module).__name__}.{name} has "
            f"shape {current.shape}"
        )
    if not np.all((mask == 0) | (mask == 1)):
        raise ValueError("a mask holds only 0 (prune) and 1 (keep)")
    # TODO (Task 18.2)
    raise NotImplementedError(
        'Task 18.2: implement apply_mask. Hint: if f"{name}_mask" is already a buffer, multiply '
        'the old mask into `mask`; otherwise take the Parameter out (delattr) and set it as '
        'f"{name}_orig". Then register_buffer(f"{name}_mask", Tensor(mask)), '
        '_prune_before_forward, and _refresh(module, name) so module.<name> is right at once.'
    )
    return module


def magnitude_prune(module: Module, name: str, amount: float | int) -> Module:
    """Zero the `amount` smallest-magnitude entries of `module.<name>`, for good
    (as `torch.nn.utils.prune.l1_unstructured`)."""
    return apply_mask(module, name, magnitude_mask(_current(module, name), amount))


def channel_prune(
    module: Module, name: str, amount: float | int, n: float = 2, dim: int = 0
) -> Module:
    """Zero the `amount` slices along `dim` of `module.<name>` with the smallest L`n` norms
    (as `torch.nn.utils.prune.ln_structured`)."""
    return apply_mask(module, name, channel_mask(_current(module, name), amount, n, dim))


def global_magnitude_prune(targets: Sequence[tuple[Module, str]], amount: float | int) -> None:
    """Zero the `amount` smallest-magnitude entries among all `(module, name)` tensors
    together (as `torch.nn.utils.prune.global_unstructured` with L1)."""
    if not targets:
        raise ValueError("global_magnitude_prune needs at least one (module, name) pair")
    tensors = [_current(module, name) for module, name in targets]
    # TODO (Task 18.2)
    raise NotImplementedError(
        'Task 18.2: implement global_magnitude_prune. Hint: one magnitude_mask of '
        "np.concatenate([t.ravel() for t in tensors]); cut it back into pieces of each tensor's "
        'size and shape, and apply_mask each.'
    )


def remove_pruning(module: Module, name: str) -> Module:
    """Make the pruning of `module.<name>` permanent: a Parameter with the masked values."""
    if f"{name}_mask" not in module._buffers:
        raise ValueError(f"{type(module).__name__}.{name} is not pruned: nothing to remove")
    # TODO (Task 18.2)
    raise NotImplementedError(
        'Task 18.2: implement remove_pruning. Hint: keep the <name>_orig Parameter (an optimizer '
        'may hold it): set its .data to the masked values, delattr the masked tensor, the _orig '
        'and the _mask, set it back as <name>; once no pruned name is left, delattr(module, '
        '"forward") drops the hook.'
    )
    return module


def is_pruned(module: Module) -> bool:
    """Whether any module in `module`'s tree has a pruned tensor."""
    return any(_pruned_names(m) for m in module.modules())


# %% [markdown]
# ## Task 18.3: exact size accounting
#
# `model_size(model)` counts every parameter once (a shared one once), a pruned one by its
# masked values (`weight`, never `weight_orig` and the mask):
# - `parameters`: how many values; `nonzero`: how many of them are not 0;
# - `dense_bytes`: their bytes stored as they are (`nbytes`);
# - `sparse_bytes`: their bytes stored sparsely, per tensor the non-zero values
#   (`nonzero * itemsize`) plus a bitmap of which entries they are (`ceil(size / 8)`
#   bytes); a tensor with few zeros is better kept dense, so each counts the smaller.
# `SizeReport.sparsity` is the share of zeros (given).


# %%
@dataclass(frozen=True)
class SizeReport:
    """Exact counts of a model's parameter values and the bytes they take."""

    parameters: int
    nonzero: int
    dense_bytes: int
    sparse_bytes: int

    @property
    def sparsity(self) -> float:
        """The share of parameter values that are zero (0 for an empty model)."""
        return 1.0 - self.nonzero / self.parameters if self.parameters else 0.0

    def __str__(self) -> str:
        return (
            f"{self.parameters:,} parameters, {self.nonzero:,} non-zero "
            f"({self.sparsity:.1%} sparse), {self.dense_bytes:,} bytes dense, "
            f"{self.sparse_bytes:,} bytes sparse"
        )


def _parameter_values(model: Module) -> Iterator[np.ndarray]:
    """The values of every parameter of `model`, once each, pruned ones masked."""
    seen: set[int] = set()
    for module in model.modules():
        pruned = set(_pruned_names(module))
        for key, parameter in module._parameters.items():
            if id(parameter) in seen:
                continue
            seen.add(id(parameter))
            base = key.removesuffix("_orig")
            yield _current(module, base) if base in pruned else parameter.data


def model_size(model: Module) -> SizeReport:
    """Parameters, non-zeros and bytes (dense and sparse) of `model`, exactly."""
    parameters = nonzero = dense_bytes = sparse_bytes = 0
    for values in _parameter_values(model):
        # TODO (Task 18.3)
        raise NotImplementedError(
            'Task 18.3: implement model_size. Hint: np.count_nonzero; sparse: min(values.nbytes, '
            'nonzero values * itemsize + math.ceil(values.size / 8)), added up over the tensors.'
        )
    return SizeReport(parameters, nonzero, dense_bytes, sparse_bytes)


# %% [markdown]
# ## Task 18.4: low-rank Linear layers
#
# The singular value decomposition `W = U diag(S) V^T` (`np.linalg.svd(W,
# full_matrices=False)`, singular values largest first) gives the best rank-`r`
# approximation of `W` (Eckart-Young): keep the first `r` singular values. Splitting
# `diag(S_r)` as `sqrt(S_r)` on each side makes it two Linear layers:
# `first.weight = sqrt(S_r)[:, None] * V^T[:r]` `(r, in)`, no bias, and
# `second.weight = U[:, :r] * sqrt(S_r)` `(out, r)`, with the original bias.
# `in * out` weights become `r * (in + out)`: smaller whenever `r < in*out / (in+out)`.
# Compute the SVD in float64 and store float32.
#
# `rank_for_energy(weight, energy)` is the smallest `r` whose singular values keep at
# least `energy` of the sum of all squared singular values (the squared Frobenius norm).


# %%
def low_rank_linear(linear: Linear, rank: int) -> Sequential:
    """`linear` as Linear(in, rank, bias=False) then Linear(rank, out): its best rank-`rank`
    approximation."""
    if not isinstance(linear, Linear):
        raise TypeError(f"low_rank_linear takes a Linear, got {type(linear).__name__}")
    limit = min(linear.in_features, linear.out_features)
    if isinstance(rank, bool) or not isinstance(rank, int) or not 1 <= rank <= limit:
        raise ValueError(f"rank must be an int from 1 to {limit} for {linear}, got {rank!r}")
    has_bias = linear.bias is not None
    generator = np.random.default_rng(0)  # the values are replaced below
    first = Linear(linear.in_features, rank, bias=False, rng=generator)
    second = Linear(rank, linear.out_features, bias=has_bias, rng=generator)
    weight = _current(linear, "weight").astype(np.float64)
    # TODO (Task 18.4)
    raise NotImplementedError(
        'Task 18.4: implement low_rank_linear. Hint: U, S, Vt = np.linalg.svd(weight, '
        'full_matrices=False); root = np.sqrt(S[:rank]); first.weight.data and second.weight.data '
        "as above, .astype(np.float32); copy the bias's values into second.bias.data."
    )
    return Sequential(first, second)


def rank_for_energy(weight: Any, energy: float) -> int:
    """The smallest rank whose singular values keep `energy` of `weight`'s squared norm."""
    values = _values(weight)
    if values.ndim != 2:
        raise ValueError(f"rank_for_energy needs a 2-D weight, got shape {values.shape}")
    if not isinstance(energy, numbers.Real) or not 0.0 < energy <= 1.0:
        raise ValueError(f"energy must be a fraction in (0, 1], got {energy!r}")
    squares = np.linalg.svd(values.astype(np.float64), compute_uv=False) ** 2
    if squares.sum() == 0.0:
        return 1
    # TODO (Task 18.4)
    raise NotImplementedError(
        'Task 18.4: implement rank_for_energy. Hint: the kept share after r values is '
        'np.cumsum(squares) / squares.sum(); the rank is 1 + the number of shares below `energy` '
        '(at most the number of values).'
    )


# %% [markdown]
# ## Task 18.5: knowledge distillation
#
# Hinton, Vinyals and Dean (2015): a student learns from a teacher's *soft* targets, its
# probabilities at a temperature `T > 1`, which tell how alike the classes look (a "3"
# that resembles an "8"). With `p = softmax(teacher / T)` and `log q = log_softmax(
# student / T)`:
#
# ```
# soft = T**2 * sum(p * (log p - log q)) / N     # KL(p || q), averaged over the batch
# loss = alpha * soft + (1 - alpha) * cross_entropy(student, targets)
# ```
#
# Gradients of the soft term scale as `1 / T**2`; the `T**2` keeps its weight the same
# whatever the temperature. The teacher is a constant: compute `p` (and the constant
# `sum(p * log p)`) in NumPy, float64, then float32; build the rest from tensor
# operations (module 04's `log_softmax` and `cross_entropy`) so backward reaches the
# student's logits. PyTorch writes it `F.kl_div(log_q, p, reduction="batchmean") * T**2`.


# %%
def distillation_loss(
    student_logits: Tensor,
    teacher_logits: Any,
    targets: Any,
    temperature: float = 4.0,
    alpha: float = 0.5,
) -> Tensor:
    """Hinton's distillation loss: `alpha` of the T^2-scaled KL divergence to the teacher's
    soft targets plus `1 - alpha` of the cross-entropy with the labels.

    Shape:
        `student_logits` and `teacher_logits` `(N, C)`, `targets` `(N,)` class indices;
        the result is a 0-d Tensor.
    """
    teacher = _values(teacher_logits).astype(np.float64)
    if student_logits.ndim != 2 or teacher.shape != student_logits.shape:
        raise ValueError(
            f"distillation_loss needs student and teacher logits of one shape (N, C), got "
            f"{student_logits.shape} and {teacher.shape}"
        )
    if not isinstance(temperature, numbers.Real) or not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature!r}")
    if not isinstance(alpha, numbers.Real) or not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1], got {alpha!r}")
    batch = student_logits.shape[0]
    # TODO (Task 18.5)
    raise NotImplementedError(
        'Task 18.5: implement distillation_loss. Hint: log_p = teacher / T minus its log-sum-exp '
        'per row (subtract the row max first); p = np.exp(log_p); constant = (p * log_p).sum(); '
        'then soft = T * T * (constant - (Tensor(p) * log_softmax(student_logits / T, '
        'dim=1)).sum()) / batch.'
    )
