"""Toy ops and helpers for the tests of module 05 (autograd), run beside the student's code.

The engine is tested with the toy ops below rather than with the student's own backward
rules, so a wrong rule elsewhere cannot sink those tests. The helpers only run things in
this process (an exception inside a `with` block, an array the test wants to watch); every
check stays in the tests, on the trusted side.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tinytorch.core.autograd import backward_rule
from tinytorch.core.tensor import Context, Function, Tensor


class TripleFn(Function):
    """3 * a."""

    @staticmethod
    def forward(ctx: Context, a: np.ndarray) -> np.ndarray:
        return a * 3


class PlusFn(Function):
    """a + b (broadcasting)."""

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a + b


class NoRuleFn(Function):
    """A copy of a, with no backward rule on purpose."""

    @staticmethod
    def forward(ctx: Context, a: np.ndarray) -> np.ndarray:
        return a.copy()


@backward_rule(TripleFn)
def _triple_backward(ctx: Context, grad_output: np.ndarray) -> tuple:
    return (grad_output * 3,)


@backward_rule(PlusFn)
def _plus_backward(ctx: Context, grad_output: np.ndarray) -> tuple:
    return grad_output, grad_output


def triple(tensor: Tensor) -> Tensor:
    """`TripleFn.apply(tensor)` as a plain function (to decorate it with `no_grad()`)."""
    return TripleFn.apply(tensor)


def run_inside(manager: Any, function: Callable[..., Any], *args: Any) -> Any:
    """`with manager: return function(*args)`, so that an exception `function` raises
    passes through the manager's `__exit__` here (the trusted side's `with` cannot)."""
    with manager:
        return function(*args)


class KeptArray:
    """A NumPy array that stays here: an array sent to the tests arrives as a copy, so this
    is how a test sees whether the student's code kept or wrote into an array it was given."""

    def __init__(self, values: Any) -> None:
        self.array = np.array(values)

    def values(self) -> np.ndarray:
        """A copy of the array's current values."""
        return self.array.copy()


def backward_with(tensor: Tensor, seed: KeptArray, key: Any = None) -> None:
    """`tensor.backward(seed.array)`, or `tensor.backward(seed.array[key])` (a view)."""
    tensor.backward(seed.array if key is None else seed.array[key])


def fill_grad(tensor: Tensor, value: float) -> None:
    """`tensor.grad.data[...] = value`: write into the gradient's array in place."""
    tensor.grad.data[...] = value


def plus_chain(tensor: Tensor, length: int) -> Tensor:
    """`PlusFn.apply(tensor, Tensor([0.0]))`, repeated `length` times (a deep graph, built
    here in one request rather than in `2 * length` round trips from the tests)."""
    for _ in range(length):
        tensor = PlusFn.apply(tensor, Tensor([0.0]))
    return tensor
