"""A small classifier trained here, in float64 NumPy: the trusted reference for a student's
training loop (module 07).

A test draws the weights and the data, builds the same classifier in the worker from the
student's layers with those weights (`student_classifier`), trains both, and compares the
student's parameters and reported statistics with the ones computed here. Nothing the
student's process says is believed: not its model's `parameters()`, not its statistics.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from grader.testing.checks import as_array, assert_tensor, items, pairs
from grader.testing.data import blobs
from grader.testing.kit import student, worker_module
from grader.testing.reference import log_softmax

F64 = np.float64
Batch = tuple[np.ndarray, np.ndarray]


@dataclass
class Classifier:
    """Linear(inputs, hidden), ReLU, Linear(hidden, classes): `params` are w1, b1, w2, b2
    in PyTorch's layout (a weight is `(out_features, in_features)`)."""

    params: list[np.ndarray]

    @classmethod
    def draw(cls, seed: int, sizes: tuple[int, int, int] = (2, 16, 3)) -> Classifier:
        """Weights drawn as float32 values (exactly what the student's float32 layers hold)."""
        rng = np.random.default_rng(seed)
        inputs, hidden, classes = sizes
        shapes = [(hidden, inputs), (hidden,), (classes, hidden), (classes,)]
        fan_in = [inputs, inputs, hidden, hidden]
        return cls(
            [
                rng.uniform(-1, 1, shape).astype(np.float32).astype(F64) / math.sqrt(n)
                for shape, n in zip(shapes, fan_in, strict=True)
            ]
        )

    def logits(self, x: np.ndarray) -> np.ndarray:
        w1, b1, w2, b2 = self.params
        return np.maximum(x @ w1.T + b1, 0.0) @ w2.T + b2

    def loss_and_grads(self, x: np.ndarray, y: np.ndarray) -> tuple[float, int, list]:
        """Mean cross-entropy of the batch, its correct predictions, and the gradients."""
        w1, b1, w2, b2 = self.params
        x = np.asarray(x, dtype=F64)
        hidden_in = x @ w1.T + b1
        hidden = np.maximum(hidden_in, 0.0)
        logits = hidden @ w2.T + b2
        log_probs = log_softmax(logits, dim=1)
        rows = np.arange(len(y))
        loss = -log_probs[rows, y].mean()
        d_logits = np.exp(log_probs)
        d_logits[rows, y] -= 1.0
        d_logits /= len(y)
        d_hidden = (d_logits @ w2) * (hidden_in > 0)
        grads = [d_hidden.T @ x, d_hidden.sum(0), d_logits.T @ hidden, d_logits.sum(0)]
        return float(loss), int(np.sum(logits.argmax(axis=1) == y)), grads


@dataclass
class SGD:
    """PyTorch's SGD with momentum (dampening 0, no Nesterov) and L2 weight decay."""

    lr: float
    momentum: float = 0.0
    weight_decay: float = 0.0
    buffers: dict[int, np.ndarray] = field(default_factory=dict)

    def step(self, params: list[np.ndarray], grads: list[np.ndarray]) -> None:
        for index, (param, grad) in enumerate(zip(params, grads, strict=True)):
            grad = grad + self.weight_decay * param
            if self.momentum:
                buffer = self.buffers.get(index)
                grad = grad.copy() if buffer is None else self.momentum * buffer + grad
                self.buffers[index] = grad
            param -= self.lr * grad


def clip(grads: list[np.ndarray], max_norm: float) -> list[np.ndarray]:
    """`clip_grad_norm_` with PyTorch's rule: scale by max_norm / (total + 1e-6) when < 1."""
    total = math.sqrt(sum(float(np.sum(g**2)) for g in grads))
    scale = max_norm / (total + 1e-6)
    return [g * scale for g in grads] if scale < 1.0 else grads


def cosine_warmup(base: float, t: int, warmup: int, total: int, eta_min: float = 0.0) -> float:
    """CosineWarmupLR's rate at step t: linear warm-up, then a half cosine to eta_min."""
    if t < warmup:
        return base * (t + 1) / warmup
    if t >= total:
        return eta_min
    return (
        eta_min + (base - eta_min) * (1 + math.cos(math.pi * (t - warmup) / (total - warmup))) / 2
    )


def shuffled_blobs(n_per_class: int = 40, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """`blobs`, shuffled here: batches taken in order then mix the classes."""
    x, y = blobs(n_per_class, seed)
    order = np.random.default_rng(seed).permutation(len(x))
    return x[order], y[order]


def in_order(x: np.ndarray, y: np.ndarray, batch_size: int) -> list[Batch]:
    """The batches `batches(x, y, batch_size)` gives without a generator."""
    return [(x[i : i + batch_size], y[i : i + batch_size]) for i in range(0, len(x), batch_size)]


def train_epoch(
    model: Classifier, optimizer: SGD, data: Sequence[Batch], max_grad_norm: float | None = None
) -> tuple[float, float, int]:
    """One epoch of the textbook loop: the mean loss per sample, the accuracy (both
    measured before each batch's step, as a Trainer reports them) and the sample count."""
    loss_sum, correct, count = 0.0, 0, 0
    for x, y in data:
        loss, right, grads = model.loss_and_grads(x, y)
        if max_grad_norm is not None:
            grads = clip(grads, max_norm=max_grad_norm)
        optimizer.step(model.params, grads)
        loss_sum, correct, count = loss_sum + loss * len(y), correct + right, count + len(y)
    return loss_sum / count, correct / count, count


def student_classifier(
    reference: Classifier, dropout: float | None = None, seed: int = 0
) -> tuple[Any, list]:
    """The same classifier in the worker, from the student's layers, holding the test's
    weights: the model and the test's own list of its four parameters (never taken from
    the student's `parameters()`). With `dropout`, a Dropout(p) sits after the ReLU, with
    a generator seeded from `seed`."""
    layers = student.layers
    (hidden, inputs), classes = reference.params[0].shape, len(reference.params[3])
    first, second = layers.Linear(inputs, hidden), layers.Linear(hidden, classes)
    params = [first.weight, first.bias, second.weight, second.bias]
    for param, values in zip(params, reference.params, strict=True):
        param.data = values.astype(np.float32)
    middle = [layers.ReLU()]
    if dropout is not None:
        middle.append(layers.Dropout(dropout, rng=worker_module("numpy.random").default_rng(seed)))
    return layers.Sequential(first, *middle, second), params


def fetched(params: list, what: str) -> Classifier:
    """The classifier that the student's four parameters hold now, to judge here."""
    arrays = [as_array(p, f"{what}: parameter {i}") for i, p in enumerate(items(params, 4, what))]
    return Classifier([a.astype(F64) for a in arrays])


def assert_parameters(params: list, reference: Classifier, what: str) -> None:
    """The student's four parameters hold the reference's values (float32 tolerance)."""
    names = ["first weight", "first bias", "second weight", "second bias"]
    for name, (param, expected) in zip(
        names, pairs(params, reference.params, 4, what), strict=True
    ):
        assert_tensor(param, expected, f"{what}: the {name}", rtol=1e-4, atol=1e-5)


def assert_stats(stats: Any, loss: float, accuracy: float | None, samples: int, what: str) -> None:
    """An EpochStats reports the loss, accuracy and sample count computed here."""
    got = stats.samples
    assert type(got) is int and got == samples, (
        f"{what}: {got!r} samples counted, expected {samples}"
    )
    got = stats.loss
    assert isinstance(got, float | int) and math.isclose(got, loss, rel_tol=1e-4, abs_tol=1e-6), (
        f"{what}: the reported mean loss is {got!r}, but the epoch's losses average {loss:.6f}"
    )
    got = stats.accuracy
    if accuracy is None:
        assert got is None, f"{what}: accuracy should be None without class labels, got {got!r}"
    else:
        assert isinstance(got, float | int) and math.isclose(got, accuracy, abs_tol=1e-9), (
            f"{what}: the reported accuracy is {got!r}, but {accuracy:.4f} of the predictions "
            "were right"
        )
