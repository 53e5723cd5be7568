"""Helpers for the tests of module 03 (Layers), run beside the student's code.

- Small `Module` subclasses built on the student's `Module` and `Parameter` (`Affine`,
  `TwoAffines`, `Node`, `WithBuffer`, `Forgetful`), and `identity`, a plain function for
  `Sequential` to refuse.
- Ways to keep data here: arrays that cross to the test are copies, so writing into a
  parameter's `.data` in place (`overwrite`, `overwrite_parameters`) or keeping the very dict
  that `state_dict()` returned (`Kept`) has to happen in this process.
- Shortcuts that save round trips (`give_gradients`, `gather`), and `recording`, the graph
  recorder of aids/graph.py reporting only the Tensor inputs of each op.

They compute no expected value and decide nothing: every check is in the tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from tinytorch.core.layers import Module, Parameter
from tinytorch.core.tensor import Tensor

from . import graph


class Affine(Module):
    """x * scale + shift, elementwise: a module with two parameters."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.scale = Parameter(np.ones(size))
        self.shift = Parameter(np.zeros(size))

    def forward(self, x: Tensor) -> Tensor:
        return x * self.scale + self.shift


class TwoAffines(Module):
    """A module with sub-modules and a parameter of its own."""

    def __init__(self) -> None:
        super().__init__()
        self.first = Affine(3)
        self.second = Affine(3)
        self.temperature = Parameter(1.0)

    def forward(self, x: Tensor) -> Tensor:
        return self.second(self.first(x)) / self.temperature


class Node(Module):
    """A module built from a tree spec `(number of own parameters, [child specs])`:
    children c0, c1, ... (child i offset by 10 * (i + 1)), then parameters p0, p1, ...,
    where p<i> has shape (2, i + 1) and every element equal to offset + i."""

    def __init__(self, spec: Any, offset: float = 0.0) -> None:
        super().__init__()
        count, children = spec
        for index, child in enumerate(children):
            setattr(self, f"c{index}", Node(child, offset + 10.0 * (index + 1)))
        for index in range(count):
            setattr(self, f"p{index}", Parameter(np.full((2, index + 1), offset + index)))


class WithBuffer(Module):
    """A sub-module `inner` (an Affine of size 2) and a buffer `running_mean` of zeros(2)."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = Affine(2)
        self.register_buffer("running_mean", Tensor(np.zeros(2)))


class Forgetful(Module):
    """Assigns a Parameter without calling `super().__init__()` first."""

    def __init__(self) -> None:
        self.weight = Parameter([1.0])


def identity(x: Any) -> Any:
    """A plain function, not a Module."""
    return x


def overwrite(tensor: Tensor, values: Any) -> None:
    """Write `values` into `tensor.data` in place (`tensor.data[...] = values`)."""
    tensor.data[...] = values


def overwrite_parameters(module: Module, **values: Any) -> None:
    """`overwrite(getattr(module, name), array)` for each `name=array` given (one request)."""
    for name, array in values.items():
        overwrite(getattr(module, name), array)


def give_gradients(parameters: Any) -> None:
    """Set `p.grad = Tensor(np.ones(p.shape))` for each parameter given (one request)."""
    for parameter in parameters:
        parameter.grad = Tensor(np.ones(parameter.shape))


def gather(objects: Any, name: str) -> list:
    """`[getattr(o, name) for o in objects]`, in one request (objects may be a generator)."""
    return [getattr(item, name) for item in objects]


class Kept:
    """A value that stays in this process, the same object every time it is used.

    (A dict or an array that the test sends arrives as a fresh copy, and one that the
    student's code returns reaches the test as a copy: reading `.value` copies it as it
    is at that moment.)
    """

    def __init__(self, value: Any = None) -> None:
        self.value = value

    @classmethod
    def result_of(cls, owner: Any, method: str, *args: Any, **kwargs: Any) -> Kept:
        """Keep what `owner.<method>(*args, **kwargs)` returns."""
        return cls(getattr(owner, method)(*args, **kwargs))

    def pass_to(self, owner: Any, method: str) -> Any:
        """`owner.<method>(value)`, with this very value (not a copy)."""
        return getattr(owner, method)(self.value)

    def overwrite_item(self, key: Any, values: Any) -> None:
        """Write `values` into the array `value[key]` in place."""
        self.value[key][...] = values


class TensorEdges:
    """A graph recorder's edges with each op's inputs cut to its Tensors.

    (An op may also be given raw arrays and numbers, such as Dropout's mask; they are never
    a source the test looks for, and an array cannot be looked up on the trusted side.)
    """

    def __init__(self, engine: graph.GraphRecorder) -> None:
        self.engine = engine

    def edges(self) -> list[list]:
        return [
            [output, [x for x in inputs if isinstance(x, Tensor)]]
            for output, inputs in self.engine.edges()
        ]


@contextmanager
def recording() -> Iterator[TensorEdges]:
    """`aids.graph.recording()`, reporting only Tensor inputs (see `TensorEdges`)."""
    with graph.recording() as engine:
        yield TensorEdges(engine)
