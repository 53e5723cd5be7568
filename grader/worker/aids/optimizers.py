"""Helpers for the tests of module 06 (Optimizers), run beside the student's code.

Toy optimizers built on the student's `Optimizer` base class (so that the base-class tests
do not depend on their SGD or Adam), and a way to tell whether an attribute is still the
very same object: an array that reaches the test is always a copy. They compute no
expected value: every check is in the tests. (To keep a returned `state_dict()` here, the
tests use `Kept` from aids/layers.py.)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinytorch.core.optimizers import Optimizer


class Accumulate(Optimizer):
    """A toy optimizer: a step count (an int) and a running sum of the gradients of each
    parameter; each step subtracts `lr * sum`."""

    def __init__(self, params: Any, lr: float = 1.0) -> None:
        super().__init__(params, lr=lr)

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict, group: dict) -> None:
        state["step"] = state.get("step", 0) + 1
        if "grad_sum" not in state:
            state["grad_sum"] = np.zeros_like(param)
        state["grad_sum"] += grad  # in place: a saved state_dict must not follow it
        param -= self._rate(group) * state["grad_sum"]

    def _rate(self, group: dict) -> Any:
        return group["lr"]


class ScaledAccumulate(Accumulate):
    """`Accumulate` with a second hyper-parameter, `scale`: each step subtracts
    `lr * scale * sum`."""

    def __init__(self, params: Any, lr: float = 1.0, scale: float = 1.0) -> None:
        Optimizer.__init__(self, params, lr=lr, scale=scale)

    def _rate(self, group: dict) -> Any:
        return group["lr"] * group["scale"]


class Pinned:
    """The object that `owner.<name>` is now, kept alive (so no other object can take its
    id while the test runs); `ident` is its `id()`."""

    def __init__(self, owner: Any, name: str) -> None:
        self.value = getattr(owner, name)
        self.ident = id(self.value)


def identity(owner: Any, name: str) -> int:
    """`id(owner.<name>)`: the same number as a `Pinned` of it while it is the same object."""
    return id(getattr(owner, name))
