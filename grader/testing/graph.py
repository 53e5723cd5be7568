"""A stand-in autograd engine for the tests of modules 03-04 (before autograd exists).

It records which tensors each op was computed from, so a test can check that a layer or
a loss is built from tensor operations (which module 05 can differentiate) rather than
from raw `.data` arrays.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tinytorch.core.tensor import install_autograd


class GraphRecorder:
    """Records `output -> inputs` for every op; `backward` is not available."""

    def __init__(self) -> None:
        self.ops: list[tuple[Any, tuple]] = []

    def record(self, fn: type, ctx: Any, inputs: tuple, output: Any) -> None:
        self.ops.append((output, inputs))

    def backward(self, tensor: Any, gradient: Any) -> None:
        raise AssertionError("backward() is not part of this module's tests")

    def reaches(self, output: Any, source: Any) -> bool:
        """Whether `source` is an input of `output` through recorded ops."""
        parents = {id(out): inputs for out, inputs in self.ops}
        stack, seen = [output], set()
        while stack:
            tensor = stack.pop()
            if tensor is source:
                return True
            if id(tensor) not in seen:
                seen.add(id(tensor))
                stack.extend(parents.get(id(tensor), ()))
        return False


@contextmanager
def recording() -> Iterator[GraphRecorder]:
    """Install a `GraphRecorder` for the block, then run without autograd again."""
    engine = GraphRecorder()
    install_autograd(engine)
    try:
        yield engine
    finally:
        install_autograd(None)
