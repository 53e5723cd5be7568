"""Helpers for the tests of module 09 (Spatial) that run beside the student's code.

The trusted side only receives copies of arrays, so what must change an array of the
student's objects in place happens here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def fill(tensor: Any, values: Any) -> None:
    """Write `values` into `tensor.data` in place, as `tensor.data[:] = values`."""
    tensor.data[:] = values


def descend(params: Iterable[Any], lr: float) -> None:
    """One plain gradient step in place: `p.data -= lr * p.grad.data` for every parameter
    (the caller decides whether to run it under `no_grad()`)."""
    for p in params:
        p.data -= lr * p.grad.data


def clear_grads(params: Iterable[Any]) -> None:
    """`p.grad = None` for every parameter (before the next backward)."""
    for p in params:
        p.grad = None
