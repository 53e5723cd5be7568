"""Helpers for the tests of module 02 (Activations), run beside the student's code.

NumPy's floating-point error settings (`np.errstate`) belong to the process that computes,
so a test that wants overflow to raise has to set them here, around the student's call.
The test decides what the result means.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def call_raising_float_errors(function: Any, /, *args: Any, **kwargs: Any) -> Any:
    """`function(*args, **kwargs)` with NumPy overflow, division by zero and invalid
    operations raising `FloatingPointError` instead of warning."""
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        return function(*args, **kwargs)
