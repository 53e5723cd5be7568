"""A stand-in autograd engine for the tests of modules 03-04 (before autograd exists).

It records which tensors each op was computed from, so a test can check that a layer or a
loss is built from tensor operations (which module 05 can differentiate) rather than from
raw `.data` arrays. The check itself runs on the trusted side (grader/testing/graph.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class GraphRecorder:
    """Records `output -> inputs` for every op; `backward` is not available."""

    def __init__(self) -> None:
        self.ops: list[tuple[Any, tuple]] = []

    def record(self, fn: type, ctx: Any, inputs: tuple, output: Any) -> None:
        self.ops.append((output, tuple(inputs)))

    def backward(self, tensor: Any, gradient: Any) -> None:
        raise AssertionError("backward() is not part of this module's tests")

    def edges(self) -> list[list]:
        """Every recorded op as `[output, [inputs...]]` (handles on the trusted side)."""
        return [[output, list(inputs)] for output, inputs in self.ops]


@contextmanager
def recording() -> Iterator[GraphRecorder]:
    """Install a `GraphRecorder` for the block, then run without autograd again."""
    from tinytorch.core.tensor import install_autograd

    engine = GraphRecorder()
    install_autograd(engine)
    try:
        yield engine
    finally:
        install_autograd(None)
