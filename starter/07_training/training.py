# %% [markdown]
# # Module 07: Training
#
# Everything is in place to train: a model (module 03), a loss (04), gradients (05) and
# an optimizer (06). This module is the loop that ties them together, and the tools that
# make long training runs work in practice:
#
# - `clip_grad_norm_`, which stops one bad batch from blowing up the weights;
# - learning-rate schedules (`StepLR`, `CosineWarmupLR`) that change the optimizer's
#   learning rate as training goes, as `torch.optim.lr_scheduler` does;
# - a `Trainer` with `train_epoch` and `evaluate`, reporting loss, accuracy and speed;
# - checkpoints: the model, optimizer, scheduler, epoch and random-number generators in
#   one `.npz` file (no pickle), from which training resumes *bit for bit*.
#
# Batches come from any iterable of `(inputs, targets)` pairs; `batches(x, y, ...)` makes
# them from two arrays (module 08 builds a full `DataLoader`).
#
# Tasks: 07.1 gradient clipping, 07.2 learning-rate schedules, 07.3 the training step,
# 07.4 evaluation, 07.5 checkpoints.


# %%
from __future__ import annotations

import json
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from tinytorch.core.autograd import no_grad
from tinytorch.core.layers import Module
from tinytorch.core.optimizers import Optimizer
from tinytorch.core.tensor import Tensor

__all__ = [
    "clip_grad_norm_",
    "LRScheduler",
    "StepLR",
    "CosineWarmupLR",
    "EpochStats",
    "Trainer",
    "batches",
    "save_checkpoint",
    "load_checkpoint",
]

Batch = tuple[Any, Any]
LossFn = Callable[[Tensor, Tensor], Tensor]
CHECKPOINT_FORMAT = "tinytorch-checkpoint-1"


# %% [markdown]
# ## Task 07.1: gradient clipping
#
# Treat all gradients as one long vector and compute its norm: for `norm_type` p,
# `(sum over every element of |g| ** p) ** (1 / p)`; for `inf`, the largest `|g|`. If
# that total norm exceeds `max_norm`, scale every gradient, in place, by
# `max_norm / (total_norm + 1e-6)` (PyTorch's formula); otherwise leave them alone.
# Return the total norm from *before* clipping, as a 0-d Tensor: logging it shows when
# training becomes unstable. Parameters whose `.grad` is None are skipped.


# %%
def clip_grad_norm_(
    parameters: Iterable[Tensor] | Tensor, max_norm: float, norm_type: float = 2.0
) -> Tensor:
    r"""Scale gradients in place so that their total norm is at most `max_norm`.

    As `torch.nn.utils.clip_grad_norm_`.

    Args:
        parameters: tensors (or one tensor) whose `.grad` is clipped.
        max_norm: the largest total norm allowed.
        norm_type: p of the p-norm, or `math.inf` for the largest absolute value.

    Returns:
        The total norm of the gradients before clipping, a 0-d float32 Tensor.

    Example:
        >>> w = Tensor([0.0, 0.0], requires_grad=True)
        >>> w.grad = Tensor([3.0, 4.0])
        >>> clip_grad_norm_([w], max_norm=1.0).item()
        5.0
    """
    if not max_norm >= 0 or not norm_type > 0:
        raise ValueError(
            f"clip_grad_norm_ needs max_norm >= 0 and norm_type > 0, "
            f"got max_norm={max_norm}, norm_type={norm_type}"
        )
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    grads = [p.grad.data for p in params if p.grad is not None]
    if not grads:
        return Tensor(0.0)
    # TODO (Task 07.1)
    raise NotImplementedError(
        'Task 07.1: implement clip_grad_norm_. Hint: sum in float64 (np.sum(..., '
        'dtype=np.float64)); then, if needed, g *= scale for every g in grads (in place, so .grad '
        'itself changes).'
    )


# %% [markdown]
# ## Task 07.2: learning-rate schedules
#
# A scheduler changes `group["lr"]` in each of the optimizer's parameter groups. As in
# PyTorch, it remembers each group's starting rate (`base_lrs`) and counts its own steps
# in `last_epoch`; creating it sets the rates for step 0, and every `scheduler.step()`
# moves to the next step. The base class is given; each schedule writes `get_lr()`, the
# rates for step `t = self.last_epoch`, from a closed formula:
#
# - `StepLR`: `base * gamma ** (t // step_size)`: divide by 10 every 30 epochs, say.
# - `CosineWarmupLR`: rise linearly for `warmup_steps` steps, `base * (t + 1) / warmup`,
#   then follow half a cosine from `base` down to `eta_min` at `t = total_steps`:
#   `eta_min + (base - eta_min) * (1 + cos(pi * (t - warmup) / (total - warmup))) / 2`,
#   and stay at `eta_min` after that. Without warm-up this is PyTorch's
#   `CosineAnnealingLR(optimizer, T_max=total_steps, eta_min)`.


# %%
class LRScheduler:
    """Base class of learning-rate schedules (as `torch.optim.lr_scheduler.LRScheduler`).

    Subclasses define `get_lr()`: the learning rate of each parameter group at step
    `self.last_epoch`, computed from `self.base_lrs`.
    """

    def __init__(self, optimizer: Optimizer) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"a scheduler needs an Optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        self.base_lrs = [float(group["lr"]) for group in optimizer.param_groups]
        self.last_epoch = -1
        self.step()

    def get_lr(self) -> list[float]:
        """The learning rate of each parameter group at step `self.last_epoch`."""
        raise NotImplementedError(f"{type(self).__name__} does not define get_lr()")

    def step(self) -> None:
        """Move to the next step and set each group's learning rate for it."""
        self.last_epoch += 1
        for group, lr in zip(self.optimizer.param_groups, self.get_lr(), strict=True):
            group["lr"] = float(lr)

    def get_last_lr(self) -> list[float]:
        """The learning rates the last `step()` set."""
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict[str, np.ndarray]:
        """The step count and starting rates, as NumPy arrays."""
        return {
            "last_epoch": np.array(self.last_epoch, dtype=np.int64),
            "base_lrs": np.array(self.base_lrs, dtype=np.float64),
        }

    def load_state_dict(self, state_dict: dict[str, np.ndarray]) -> None:
        """Restore what `state_dict()` saved (the optimizer restores its own lr)."""
        base_lrs = np.asarray(state_dict["base_lrs"], dtype=np.float64).reshape(-1)
        if len(base_lrs) != len(self.base_lrs):
            raise ValueError(
                f"the saved schedule has {len(base_lrs)} parameter groups, "
                f"this one has {len(self.base_lrs)}"
            )
        self.last_epoch = int(state_dict["last_epoch"])
        self.base_lrs = [float(lr) for lr in base_lrs]


class StepLR(LRScheduler):
    """Multiply the learning rate by `gamma` every `step_size` steps (as `torch`'s StepLR).

    Args:
        optimizer: whose parameter groups' `lr` this scheduler sets.
        step_size: steps between two decays (an int >= 1).
        gamma: the factor of each decay.

    Example::

        scheduler = StepLR(optimizer, step_size=30, gamma=0.1)  # lr 0.1, then 0.01 at 30 ...
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        if not isinstance(step_size, int) or step_size < 1:
            raise ValueError(f"step_size must be an int >= 1, got {step_size!r}")
        if not gamma > 0:
            raise ValueError(f"gamma must be > 0, got {gamma!r}")
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer)

    def get_lr(self) -> list[float]:
        # TODO (Task 07.2)
        raise NotImplementedError('Task 07.2: implement StepLR.get_lr.')


class CosineWarmupLR(LRScheduler):
    """Linear warm-up for `warmup_steps`, then cosine decay to `eta_min` at `total_steps`.

    Args:
        optimizer: whose parameter groups' `lr` this scheduler sets.
        warmup_steps: steps of linear warm-up (0 for none).
        total_steps: the step at which the rate reaches `eta_min`.
        eta_min: the final learning rate.
    """

    def __init__(
        self, optimizer: Optimizer, warmup_steps: int, total_steps: int, eta_min: float = 0.0
    ) -> None:
        if not isinstance(warmup_steps, int) or not isinstance(total_steps, int):
            raise ValueError("warmup_steps and total_steps must be ints")
        if not 0 <= warmup_steps < total_steps:
            raise ValueError(
                f"need 0 <= warmup_steps < total_steps, got warmup_steps={warmup_steps}, "
                f"total_steps={total_steps}"
            )
        if not eta_min >= 0:
            raise ValueError(f"eta_min must be >= 0, got {eta_min!r}")
        self.warmup_steps = warmup_steps
        self.total_steps = total_steps
        self.eta_min = eta_min
        super().__init__(optimizer)

    def get_lr(self) -> list[float]:
        # TODO (Task 07.2)
        raise NotImplementedError(
            'Task 07.2: implement CosineWarmupLR.get_lr. Hint: three cases: t < warmup, warmup <= '
            't < total, t >= total.'
        )


# %% [markdown]
# ## Batches, metrics and progress (given)
#
# `batches(x, y, batch_size, rng)` cuts two arrays into mini-batches of Tensors, in a
# shuffled order drawn from `rng` (in order without one). `_Meter` adds up the loss (each
# batch weighted by its size), the correct predictions and the time; its `stats()` is an
# `EpochStats`. Accuracy counts an output row as correct when its largest entry is at the
# target class; it is None when the targets are not class labels (regression).


# %%
def batches(
    inputs: np.ndarray,
    targets: np.ndarray,
    batch_size: int,
    rng: np.random.Generator | None = None,
) -> Iterator[tuple[Tensor, Tensor]]:
    """Mini-batches `(inputs[i], targets[i])` as Tensors; shuffled when `rng` is given.

    Integer targets (class labels) become int64 Tensors, others float32.
    """
    inputs, targets = np.asarray(inputs), np.asarray(targets)
    if len(inputs) != len(targets):
        raise ValueError(f"{len(inputs)} inputs but {len(targets)} targets")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
    label_dtype = np.int64 if np.issubdtype(targets.dtype, np.integer) else None
    order = rng.permutation(len(inputs)) if rng is not None else None
    for start in range(0, len(inputs), batch_size):
        if order is None:
            chosen = slice(start, start + batch_size)
        else:
            chosen = order[start : start + batch_size]
        yield Tensor(inputs[chosen]), Tensor(targets[chosen], dtype=label_dtype)


@dataclass(frozen=True)
class EpochStats:
    """What one pass over the data measured."""

    loss: float
    """Mean loss per sample."""
    accuracy: float | None
    """Fraction of correct predictions, or None when the targets are not class labels."""
    samples: int
    seconds: float

    @property
    def samples_per_second(self) -> float:
        return self.samples / self.seconds if self.seconds > 0 else math.inf

    def __str__(self) -> str:
        accuracy = "-" if self.accuracy is None else f"{100 * self.accuracy:.2f}%"
        return (
            f"loss {self.loss:.4f}  accuracy {accuracy}  "
            f"{self.samples_per_second:,.0f} samples/s  ({self.seconds:.1f} s)"
        )


def _count_correct(outputs: Tensor, targets: Any) -> int | None:
    """How many rows of `outputs` have their largest entry at the target class."""
    labels = np.asarray(targets.data if isinstance(targets, Tensor) else targets)
    scores = outputs.data
    if scores.ndim != 2 or labels.shape != scores.shape[:1]:
        return None
    if not np.issubdtype(labels.dtype, np.integer):
        return None
    return int(np.sum(np.argmax(scores, axis=1) == labels))


class _Meter:
    """Running totals of one epoch: loss, correct predictions, samples and time."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.loss_sum = 0.0
        self.correct: int | None = 0
        self.samples = 0
        self.batches = 0

    def add(self, loss: Tensor, outputs: Tensor, targets: Any) -> None:
        """Record one batch, given its mean loss, the model's outputs and the targets."""
        count = len(outputs.data) if outputs.ndim else 1
        self.loss_sum += float(loss.item()) * count
        correct = _count_correct(outputs, targets)
        self.correct = None if correct is None or self.correct is None else self.correct + correct
        self.samples += count
        self.batches += 1

    def stats(self) -> EpochStats:
        if self.samples == 0:
            raise ValueError("there were no batches: the data iterable was empty")
        accuracy = None if self.correct is None else self.correct / self.samples
        seconds = time.perf_counter() - self.started
        return EpochStats(self.loss_sum / self.samples, accuracy, self.samples, seconds)


# %% [markdown]
# ## Tasks 07.3 and 07.4: the Trainer
#
# **Task 07.3: one training epoch.** For every batch: clear the gradients, run the model,
# compute the loss, backpropagate, clip the gradients when `max_grad_norm` is set, and
# step the optimizer; then `meter.add(loss, outputs, targets)`. The model must be in
# training mode (`model.train()`) so that Dropout drops. After the last batch the given
# code steps the scheduler (once per epoch) and counts the epoch.
#
# **Task 07.4: evaluation.** The same pass without learning: evaluation mode (Dropout
# lets everything through) and `no_grad()` (no graph, less memory, faster). Put the model
# back in the mode it was in before, even when the loss raises.


# %%
class Trainer:
    """Trains `model` with `optimizer` on `loss_fn`, one epoch at a time.

    Args:
        model: the Module to train.
        optimizer: an Optimizer over the model's parameters.
        loss_fn: `loss_fn(outputs, targets)` -> a 0-d Tensor, the mean loss of a batch
            (`cross_entropy`, `CrossEntropyLoss()`, `mse_loss`, ...).
        scheduler: an LRScheduler, stepped once at the end of every training epoch.
        max_grad_norm: clip gradients to this total norm before each step (None: never).
        verbose: print one line per epoch with loss, accuracy and samples/s.
        out: where to print (standard output by default).

    Example::

        trainer = Trainer(model, SGD(model.parameters(), lr=0.1), cross_entropy)
        for epoch in range(5):
            trainer.train_epoch(batches(x, y, 64, rng))
            trainer.evaluate(batches(x_test, y_test, 256))
    """

    def __init__(
        self,
        model: Module,
        optimizer: Optimizer,
        loss_fn: LossFn,
        scheduler: LRScheduler | None = None,
        max_grad_norm: float | None = None,
        verbose: bool = True,
        out: TextIO | None = None,
    ) -> None:
        self.model = model
        self.optimizer = optimizer
        self.loss_fn = loss_fn
        self.scheduler = scheduler
        self.max_grad_norm = max_grad_norm
        self.verbose = verbose
        self.out = out
        self.epoch = 0

    def train_epoch(self, data: Iterable[Batch]) -> EpochStats:
        """One pass of training over `data`, an iterable of (inputs, targets) batches."""
        meter, lr = _Meter(), self.optimizer.param_groups[0]["lr"]
        # TODO (Task 07.3)
        raise NotImplementedError(
            'Task 07.3: implement Trainer.train_epoch. Hint: self.model.train(); then for inputs, '
            'targets in data: zero_grad, forward, loss, backward, clip_grad_norm_ (if '
            'self.max_grad_norm is not None), step, meter.add(loss, outputs, targets), '
            'self._progress(meter).'
        )
        stats = meter.stats()
        if self.scheduler is not None:
            self.scheduler.step()
        self.epoch += 1
        self._report(f"epoch {self.epoch} train", stats, f"  lr {lr:.3g}")
        return stats

    def evaluate(self, data: Iterable[Batch]) -> EpochStats:
        """Loss and accuracy over `data` without learning; the model's mode is kept."""
        meter = _Meter()
        # TODO (Task 07.4)
        raise NotImplementedError(
            'Task 07.4: implement Trainer.evaluate. Hint: remember self.model.training, call '
            'self.model.eval(), loop under `with no_grad():`, and restore the mode in a `finally:` '
            'block.'
        )
        stats = meter.stats()
        self._report(f"epoch {self.epoch} eval ", stats)
        return stats

    def save_checkpoint(self, path: str | Path, rng: np.random.Generator | None = None) -> Path:
        """Save model, optimizer, scheduler, epoch and generators (see `save_checkpoint`)."""
        return save_checkpoint(path, self.model, self.optimizer, self.scheduler, self.epoch, rng)

    def load_checkpoint(self, path: str | Path, rng: np.random.Generator | None = None) -> int:
        """Restore a checkpoint into this trainer's objects; returns the epoch reached."""
        self.epoch = load_checkpoint(path, self.model, self.optimizer, self.scheduler, rng)
        return self.epoch

    def _progress(self, meter: _Meter) -> None:
        """Rewrite a live status line every 50 batches when printing to a terminal."""
        out = self.out or sys.stdout
        if self.verbose and meter.batches % 50 == 0 and out.isatty():
            stats = meter.stats()
            out.write(f"\r  epoch {self.epoch + 1}  batch {meter.batches}  {stats}  ")
            out.flush()

    def _report(self, phase: str, stats: EpochStats, extra: str = "") -> None:
        if self.verbose:
            out = self.out or sys.stdout
            prefix = "\r" if out.isatty() else ""
            print(f"{prefix}{phase}  {stats}{extra}", file=out, flush=True)


# %% [markdown]
# ## Task 07.5: checkpoints
#
# A checkpoint is one `.npz` file: NumPy arrays only, so loading it never runs code
# (pickle can). Store each part's `state_dict()` under a prefix, `"model." + key`,
# `"optimizer." + key`, `"scheduler." + key`, plus `"epoch"` and `"format"`
# (`CHECKPOINT_FORMAT`). Random-number generators matter too: the shuffling `rng` and
# every generator a module keeps (Dropout's `rng`; `_module_generators` finds them).
# A generator's state is a dict with 128-bit integers: store it as JSON text,
# `np.array(json.dumps(rng.bit_generator.state))`, and restore it with
# `rng.bit_generator.state = json.loads(str(array))`.
#
# Write to a temporary file in the same folder and `os.replace` it into place, so a crash
# mid-save never leaves half a checkpoint. Load with `np.load(path, allow_pickle=False)`.


# %%
def _module_generators(model: Module) -> dict[str, np.random.Generator]:
    """Every NumPy generator kept by a module of `model`, by dotted name ("1.rng")."""
    found = {}
    for prefix, module in model.named_modules():
        for name, value in vars(module).items():
            if isinstance(value, np.random.Generator):
                found[f"{prefix}.{name}" if prefix else name] = value
    return found


def save_checkpoint(
    path: str | Path,
    model: Module,
    optimizer: Optimizer | None = None,
    scheduler: LRScheduler | None = None,
    epoch: int = 0,
    rng: np.random.Generator | None = None,
) -> Path:
    """Write everything needed to resume training to the `.npz` file `path`, atomically.

    Returns the path written.
    """
    path = Path(path)
    # TODO (Task 07.5)
    raise NotImplementedError(
        'Task 07.5: implement save_checkpoint. Hint: build one dict of arrays, then: handle, temp '
        '= tempfile.mkstemp(dir=path.parent); with os.fdopen(handle, "wb") as f: np.savez(f, '
        '**arrays); os.replace(temp, path).'
    )


def load_checkpoint(
    path: str | Path,
    model: Module,
    optimizer: Optimizer | None = None,
    scheduler: LRScheduler | None = None,
    rng: np.random.Generator | None = None,
) -> int:
    """Restore a checkpoint written by `save_checkpoint`; returns its epoch.

    Only the parts given are restored; a part (or `rng`) given but not saved is an error.
    """
    # TODO (Task 07.5)
    raise NotImplementedError(
        'Task 07.5: implement load_checkpoint. Hint: with np.load(path, allow_pickle=False) as '
        'archive: arrays = dict(archive); check arrays["format"], then load each part\'s keys with '
        'the prefix removed.'
    )
