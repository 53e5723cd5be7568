"""Helpers for the tests of module 07 (Training), run beside the student's code.

The small classifier the tests train (built from the student's layers, with generators
that live here), a `Module` that records how the Trainer ran it, and a loss function that
fails. They compute no expected value: every check is in the tests.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinytorch.core.layers import Dropout, Linear, Module, ReLU, Sequential
from tinytorch.core.tensor import Tensor


def blob_classifier(dropout: float = 0.0, seed: int = 0) -> Sequential:
    """Linear(2, 16), ReLU, Dropout(dropout), Linear(16, 3), each seeded from `seed`."""
    return Sequential(
        Linear(2, 16, rng=np.random.default_rng(seed)),
        ReLU(),
        Dropout(dropout, rng=np.random.default_rng(seed + 5)),
        Linear(16, 3, rng=np.random.default_rng(seed + 1)),
    )


class Recorder(Module):
    """Wraps a model; `seen` gets `(output.requires_grad, inner.training)` for every call."""

    def __init__(self, inner: Module) -> None:
        super().__init__()
        self.inner = inner
        self.seen: list[tuple[Any, Any]] = []

    def forward(self, x: Tensor) -> Tensor:
        out = self.inner(x)
        self.seen.append((out.requires_grad, self.inner.training))
        return out


def broken_loss(outputs: Any, targets: Any) -> Any:
    """A loss function that always raises RuntimeError("broken loss")."""
    raise RuntimeError("broken loss")


def with_pickled_entry(path: str, key: str) -> None:
    """Rewrite the checkpoint at `path` with `key` stored as an object (pickled) array,
    as a crafted file would: the value is the same, only its storage needs unpickling."""
    with np.load(path, allow_pickle=False) as archive:
        entries = {name: archive[name] for name in archive.files}
    entries[key] = np.array([entries[key].item()], dtype=object).reshape(())
    np.savez(path, **entries)
