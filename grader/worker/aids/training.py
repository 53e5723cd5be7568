"""Helpers for the tests of module 07 (Training), run beside the student's code.

A `Module` that records how the Trainer ran it, a loss function that fails, and a
checkpoint rewritten to need unpickling. They compute no expected value: every check is
in the tests.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinytorch.core.layers import Module
from tinytorch.core.tensor import Tensor


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
