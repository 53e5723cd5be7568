"""TinyMLPerf's tasks: the data, the held-out set, the quality floor and the baseline model.

Each task has three disjoint parts of real data, as MLPerf Tiny separates them:
- training images with labels (the open track's `build` gets them; the baseline learns here),
- calibration images without labels, the first CALIBRATION images of the training split
  (the closed track's `build` gets only these: no labels, so no retraining),
- the held-out test split, which only this trusted process reads: the student's code meets
  its images for the first time when the finished model is measured, and never its labels.

The baseline is a float32 MLP (inputs -> 256 -> 128 -> 10, ReLU), trained here in NumPy
with a fixed seed, so every submission of a task starts from the same weights. The floor
is a fixed accuracy on the held-out set, a little under the baseline's (measured figures
in the module 20 README).

The text task, `austen_gpt`, is listed here with its floor (a ceiling in nats per
character); its text, baseline GPT and quality live in text.py.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from grader.testing.capstone import draw_mlp

DIGITS_FILE = Path(__file__).with_name("digits.npz")  # the grader's own copy of the digits
DIGITS_SHA256 = "58847471d0f8df554b28ea961de1318e44130caa50529622458d1bdda9d75342"
CALIBRATION = 256
HIDDEN = (256, 128)
CLASSES = 10


class DataUnavailableError(RuntimeError):
    """A task whose data is not on this machine (Fashion-MNIST needs TINYTORCH_DATA)."""


@dataclass(frozen=True, eq=False)
class Split:
    """Images as uint8 rows `(N, features)` of pixels, and int64 labels `(N,)`; the model
    sees `pixels / scale` in float32 (values in [0, 1])."""

    pixels: np.ndarray
    labels: np.ndarray
    scale: float

    @functools.cached_property
    def images(self) -> np.ndarray:
        return scaled(self.pixels, self.scale)


@dataclass(frozen=True)
class TaskData:
    train: Split
    held_out: Split

    @property
    def calibration(self) -> np.ndarray:
        return self.train.images[:CALIBRATION]


def scaled(pixels: np.ndarray, scale: float) -> np.ndarray:
    """uint8 pixels as the float32 values a model sees (the workers do the same)."""
    return pixels.astype(np.float32) / np.float32(scale)


def _split(images: np.ndarray, labels: np.ndarray, scale: float) -> Split:
    return Split(images.reshape(len(images), -1).astype(np.uint8), labels.astype(np.int64), scale)


def _digits() -> TaskData:
    data = DIGITS_FILE.read_bytes()
    if hashlib.sha256(data).hexdigest() != DIGITS_SHA256:
        raise DataUnavailableError(f"{DIGITS_FILE} is not the pinned copy of the digits (SHA-256)")
    with np.load(DIGITS_FILE, allow_pickle=False) as archive:
        parts = {key: archive[key] for key in archive.files}
    return TaskData(
        _split(parts["train_images"], parts["train_labels"], 16.0),
        _split(parts["test_images"], parts["test_labels"], 16.0),
    )


def _fashion_mnist() -> TaskData:
    from milestones.datasets.mnist import load_fashion_mnist

    try:
        splits = [load_fashion_mnist(split, download=False) for split in ("train", "test")]
    except (FileNotFoundError, OSError, ValueError) as error:
        raise DataUnavailableError(
            f"Fashion-MNIST is not on this machine (set TINYTORCH_DATA): {error}"
        ) from None
    (train_x, train_y), (test_x, test_y) = splits
    return TaskData(_split(train_x, train_y, 255.0), _split(test_x, test_y, 255.0))


@dataclass(frozen=True)
class Task:
    name: str
    title: str
    floor: float
    """The least accuracy on the held-out set that gets a rank (image tasks), or the most
    nats per character on held-out text (the text task)."""
    epochs: int
    """Epochs the baseline trains for (the text task's steps are in text.py)."""
    load: Callable[[], TaskData] | None
    """The images; None for the text task (text.py)."""

    @property
    def quality(self) -> str:
        """What the floor bounds: "accuracy" (higher is better) or "nats" (lower is)."""
        return "accuracy" if self.load else "nats"

    def floor_text(self) -> str:
        if self.quality == "nats":
            return f"at most {self.floor:.2f} nats/char on held-out text"
        return f"{self.floor:.0%} accuracy on the held-out set"


TASKS = {
    "digits": Task("digits", "8x8 digits", 0.95, 40, _digits),
    "fashion_mnist": Task("fashion_mnist", "Fashion-MNIST", 0.85, 4, _fashion_mnist),
    "austen_gpt": Task("austen_gpt", "Jane Austen's novels, GPT", 2.5, 0, None),
}


@functools.cache
def task_data(name: str) -> TaskData:
    """An image task's data, loaded once per process (DataUnavailableError when missing)."""
    load = TASKS[name].load
    if load is None:
        raise ValueError(f"{name} is the text task: its data is in text.py")
    return load()


def _gradients(params: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
    """Gradients of the mean cross-entropy, by hand (the forward keeps each layer's input)."""
    inputs = []
    for i in range(0, len(params), 2):
        inputs.append(x)
        x = x @ params[i].T + params[i + 1]
        if i + 2 < len(params):
            x = np.maximum(x, 0.0)
    grad = np.exp(x - x.max(axis=1, keepdims=True))
    grad /= grad.sum(axis=1, keepdims=True)
    grad[np.arange(len(y)), y] -= 1.0
    grad /= len(y)
    grads: list[np.ndarray] = []
    for layer in reversed(range(len(inputs))):
        weight = params[2 * layer]
        grads[:0] = [grad.T @ inputs[layer], grad.sum(axis=0)]
        if layer:
            grad = (grad @ weight) * (inputs[layer] > 0)
    return grads


@functools.cache
def baseline_weights(name: str, seed: int = 0) -> tuple[np.ndarray, ...]:
    """The task's baseline, trained here with Adam (lr 1e-3, batches of 128, fixed seed)."""
    task, data = TASKS[name], task_data(name)
    params = draw_mlp(seed, [data.train.images.shape[1], *HIDDEN, CLASSES])
    rng = np.random.default_rng(seed + 1)
    moments = [np.zeros_like(p) for p in params]
    squares = [np.zeros_like(p) for p in params]
    step = 0
    for _ in range(task.epochs):
        order = rng.permutation(len(data.train.labels))
        for start in range(0, len(order), 128):
            rows = order[start : start + 128]
            grads = _gradients(params, data.train.images[rows], data.train.labels[rows])
            step += 1
            for p, g, m, v in zip(params, grads, moments, squares, strict=True):
                m[...] = 0.9 * m + 0.1 * g
                v[...] = 0.999 * v + 0.001 * g * g
                p -= (
                    1e-3 * (m / (1 - 0.9**step)) / (np.sqrt(v / (1 - 0.999**step)) + 1e-8)
                ).astype(np.float32)
    return tuple(params)


def accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(logits.argmax(axis=1) == labels))
