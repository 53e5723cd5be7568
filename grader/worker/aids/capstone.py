"""Helper for TinyMLPerf (module 20's official measurement), run in the workers.

`logits(model, pixels, scale)`: one batch of uint8 pixels, as float32 `pixels / scale` in
a `Tensor`, through a model with gradients off (inference), returned as an array. Pixels
travel as uint8: a quarter of the bytes of float32. The student's model runs in the
grading worker; the baseline runs the same way in a worker of its own, built from the
course's reference solutions, which holds none of the student's code.

The text task's helpers are in capstone_text.py (they use modules 13 and 14, which module
20's own grading does not stage).

It decides nothing: the grader times the calls with its own clock and judges the logits.
"""

from __future__ import annotations

import contextlib

import numpy as np


def logits(model: object, pixels: np.ndarray, scale: float) -> np.ndarray:
    """`model(Tensor(pixels / scale))` under `no_grad` (when module 05 is there), as an array."""
    from tinytorch.core.tensor import Tensor

    try:
        from tinytorch.core.autograd import no_grad
    except ImportError:  # a framework without autograd runs forward only anyway
        no_grad = contextlib.nullcontext
    images = pixels.astype(np.float32) / np.float32(scale)
    with no_grad():
        out = model(Tensor(images))
    return np.asarray(getattr(out, "data", out))
