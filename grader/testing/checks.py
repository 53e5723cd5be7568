"""Assertions with student-friendly messages, decided here on the trusted side.

They take what the student's code returned (a handle, or plain data that came back),
fetch the plain values they need (`.data` of a Tensor arrives as an exact `np.ndarray`),
and compare those with expected values computed here. They never ask the student's code
whether it is right.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from grader.remote.handles import Handle
from grader.testing.kit import type_name


def as_array(value: Any, what: str) -> np.ndarray:
    """The array inside a Tensor that the student's code returned."""
    if isinstance(value, np.ndarray | np.generic | int | float):
        kind = "a NumPy array" if isinstance(value, np.ndarray) else f"a plain number ({value!r})"
        raise AssertionError(
            f"{what} should return a Tensor, but it returned {kind}. Compute the result "
            "with Tensor operations or the op's Function, as the lesson does (`return "
            "SomeFn.apply(self, ...)`, whose forward returns the array): both give a Tensor "
            "that autograd records. Wrapping the array yourself, `Tensor(result)`, would "
            "cut it out of the graph, so backward() could not reach the inputs."
        )
    if not isinstance(value, Handle):
        raise AssertionError(f"{what} should return a Tensor, but it returned {_describe(value)}")
    data = value.data
    if type(data) is not np.ndarray:
        raise AssertionError(
            f"{what} returned a {type_name(value)} whose .data is {_describe(data)}; "
            "a Tensor keeps its values in .data as a NumPy array"
        )
    return data


def _describe(value: Any) -> str:
    if isinstance(value, Handle):
        return f"a {type_name(value)} object"
    text = repr(value)
    return f"{type(value).__name__} {text[:60]}{'...' if len(text) > 60 else ''}"


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
    assert_array(data, expected, what, rtol=rtol, atol=atol, dtype=dtype)


def assert_array(
    data: Any,
    expected: np.ndarray,
    what: str,
    rtol: float = 1e-5,
    atol: float = 1e-6,
    dtype: Any = np.float32,
) -> None:
    """`data` (an array that came back) has `expected`'s shape and dtype, and close values."""
    if type(data) is not np.ndarray:
        raise AssertionError(f"{what}: expected a NumPy array, got {_describe(data)}")
    expected = np.asarray(expected)
    if data.shape != expected.shape:
        raise AssertionError(f"{what}: expected shape {expected.shape}, got {data.shape}")
    if dtype is not None and data.dtype != np.dtype(dtype):
        raise AssertionError(
            f"{what}: expected dtype {np.dtype(dtype)}, got {data.dtype}"
            + _dtype_hint(data.dtype, np.dtype(dtype))
        )
    try:
        np.testing.assert_allclose(data, expected, rtol=rtol, atol=atol, equal_nan=True)
    except AssertionError as error:
        details = [line for line in str(error).splitlines() if line.strip()]
        raise AssertionError(
            "\n".join([f"{what}: values differ from the expected result", *details])
        ) from None


def _dtype_hint(got: np.dtype, expected: np.dtype) -> str:
    """Where an unexpected dtype usually comes from."""
    if got == np.float64:
        return (
            " (float64 comes from an np.float64 constant, a NumPy function's default such "
            f"as np.zeros, or an explicit cast: keep {expected})"
        )
    return f" (look for a missing or an extra cast to {expected})"


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


def items(collection: Any, count: int, what: str) -> list:
    """The elements of a collection the student's code returned, after checking that there
    are exactly `count` of them (a number the test knows): a loop over an empty or a short
    collection would otherwise check nothing."""
    try:
        elements = list(collection)
    except TypeError:
        raise AssertionError(
            f"{what}: expected {count} items, got {_describe(collection)}"
        ) from None
    if len(elements) != count:
        raise AssertionError(f"{what}: expected {count} items, got {len(elements)}")
    return elements


def pairs(first: Any, second: Any, count: int, what: str) -> list[tuple[Any, Any]]:
    """`zip(first, second)` that fails unless both hold exactly `count` items, a number the
    test knows (`zip(..., strict=True)` alone passes two empty collections: nothing is
    checked)."""
    return list(zip(items(first, count, what), items(second, count, what), strict=True))
