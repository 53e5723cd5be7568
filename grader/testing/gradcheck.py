"""Gradient checks for the hidden tests of module 05 and later: an op's forward and its
backward against a float64 NumPy reference and central differences of that reference."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from grader.testing.checks import assert_tensor, central_difference
from grader.testing.kit import student

F64 = np.float64


def grad_check(
    fn: Callable[..., Any],
    reference: Callable[..., np.ndarray],
    *inputs: np.ndarray,
    what: str,
    rtol: float = 1e-5,
    atol: float = 1e-6,
) -> None:
    """Check `fn` on float64 tensors against `reference` on arrays: the forward values,
    then the backward of sum(out * weights) for every input against central differences."""
    tensor = student.tensor.Tensor
    tensors = [tensor(x.astype(F64), dtype=F64, requires_grad=True) for x in inputs]
    out = fn(*tensors)
    expected = np.asarray(reference(*[x.astype(F64) for x in inputs]))
    assert_tensor(out, expected, f"{what}: forward", rtol=rtol, atol=atol, dtype=F64)
    weights = np.linspace(0.5, 1.5, expected.size).reshape(expected.shape)
    out.backward(weights)
    points = [x.astype(F64) for x in inputs]
    for index, (leaf, value) in enumerate(zip(tensors, inputs, strict=True)):

        def loss(array: np.ndarray, index: int = index) -> float:
            args = [*points[:index], array, *points[index + 1 :]]
            return float(np.sum(reference(*args) * weights))

        grad = leaf.grad
        assert grad is not None, f"{what}: input {index} got no gradient"
        expected_grad = central_difference(loss, value.astype(F64))
        assert_tensor(
            grad,
            expected_grad,
            f"{what}: gradient of input {index}",
            rtol=rtol,
            atol=atol,
            dtype=F64,
        )
