"""Assertions with student-friendly messages. They only inspect values: they never call
student code, so a bug in one op cannot make an unrelated check pass."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


def as_array(value: Any, what: str) -> np.ndarray:
    """The ndarray behind a Tensor-like result (anything with `.data`), checked to exist."""
    data = getattr(value, "data", None)
    if not isinstance(data, np.ndarray):
        raise AssertionError(
            f"{what} should return a Tensor whose .data is a NumPy array, "
            f"got {type(value).__name__}"
        )
    return data


def assert_tensor(
    value: Any,
    expected: np.ndarray,
    what: str,
    rtol: float = 1e-5,
    atol: float = 1e-6,
    dtype: Any = np.float32,
) -> None:
    """`value` is a Tensor with `expected`'s shape, the given dtype, and close values."""
    data = as_array(value, what)
    expected = np.asarray(expected)
    if data.shape != expected.shape:
        raise AssertionError(f"{what}: expected shape {expected.shape}, got {data.shape}")
    if dtype is not None and data.dtype != np.dtype(dtype):
        raise AssertionError(
            f"{what}: expected dtype {np.dtype(dtype)}, got {data.dtype} "
            f"(look for a float64 constant or an explicit cast)"
        )
    np.testing.assert_allclose(
        data,
        expected,
        rtol=rtol,
        atol=atol,
        equal_nan=True,
        err_msg=f"{what}: values differ from the expected result",
    )


def central_difference(
    function: Callable[[np.ndarray], float], point: np.ndarray, step: float = 1e-6
) -> np.ndarray:
    """d function / d point by central differences, in float64."""
    point = np.asarray(point, dtype=np.float64)
    gradient = np.zeros_like(point)
    flat = point.reshape(-1)
    for index in range(flat.size):
        original = flat[index]
        flat[index] = original + step
        upper = function(point)
        flat[index] = original - step
        lower = function(point)
        flat[index] = original
        gradient.reshape(-1)[index] = (upper - lower) / (2 * step)
    return gradient
