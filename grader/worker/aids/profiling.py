"""Helpers for the tests of module 15 (Profiling) that run beside the student's code.

- `ScriptedClock`: a clock the test controls. Calling it reads the time; its `work`
  stands for the timed call: each call of `work()` moves the clock on by the next
  duration of the script. Timing `work` with this clock must give back the script's
  durations, whatever the machine does.
- `Timed`: a module whose forward "works" on a ScriptedClock, then runs its children,
  so a profile's self and total times are known to the test exactly.
- `Probe`: a module that, while it runs, takes a `fingerprint` of the model it sits in;
  `fingerprint(model)` is every module's class, attributes and methods, and the ops'
  methods, as plain data, so a test can compare them before, during and after profiling.
- `hook_counts()`: how many module and op hooks are registered (0 once profiling ended).
- `run_in(context, model, inputs, backward)`: `with context: model(*inputs)` (and a
  backward of the output's sum), run here: a `with` block cannot cross to the worker.
- `allocated_cases(fn, shape)`: calls `fn(inputs, outputs)` on views, copies and fresh
  arrays of one input of `shape`, which only this process can make.

They compute no expected value and decide nothing: every check is in the tests.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tinytorch.core import tensor as tensor_module
from tinytorch.core.layers import Module


class ScriptedClock:
    """A clock that advances only when `work()` is called, by the scripted durations."""

    def __init__(self, durations: Sequence[float], start: float = 1000.0) -> None:
        self.durations = [float(d) for d in durations]
        self.time = float(start)
        self.calls = 0
        self.work = _Work(self)

    def __call__(self) -> float:
        """The current time in seconds."""
        return self.time


class _Work:
    """The 'work' of a ScriptedClock: a callable object (a handle the test can pass on)."""

    def __init__(self, clock: ScriptedClock) -> None:
        self.clock = clock

    def __call__(self) -> None:
        clock = self.clock
        if clock.calls >= len(clock.durations):
            raise RuntimeError(
                f"ScriptedClock: called more than the {len(clock.durations)} scripted times"
            )
        clock.time += clock.durations[clock.calls]
        clock.calls += 1


class Timed(Module):
    """`clock.work()` (the scripted time passes), then `x + 1` and the children in order."""

    def __init__(self, clock: ScriptedClock, *children: Module) -> None:
        super().__init__()
        self.clock = clock
        for index, child in enumerate(children):
            setattr(self, str(index), child)

    def forward(self, x: Any) -> Any:
        self.clock.work()
        x = x + 1.0
        for child in self.children():
            x = child(x)
        return x


class Probe(Module):
    """Takes `fingerprint(model)` whenever it runs, once `watch(model)` named the model."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list = []
        self.model: Module | None = None

    def watch(self, model: Module) -> None:
        """Fingerprint `model` (kept as a plain attribute: not registered as a child)."""
        object.__setattr__(self, "model", model)

    def forward(self, x: Any) -> Any:
        self.seen.append(fingerprint(self.model))
        return x


def _methods(cls: type) -> list:
    return sorted((name, id(value)) for name, value in vars(cls).items())


def _function_classes() -> list[type]:
    found, stack = [], [tensor_module.Function]
    while stack:
        cls = stack.pop()
        found.append(cls)
        stack.extend(cls.__subclasses__())
    return found


def fingerprint(model: Module) -> list:
    """Each module's path, class and attributes (names and identities), the methods of
    its classes and of Module, and the methods of every op class: plain data."""
    modules = [
        [path, type(m).__qualname__, id(type(m)), sorted((k, id(v)) for k, v in vars(m).items())]
        for path, m in model.named_modules()
    ]
    classes = {cls for _, m in model.named_modules() for cls in type(m).__mro__}
    methods = sorted([cls.__qualname__, _methods(cls)] for cls in classes)
    ops = sorted([cls.__qualname__, _methods(cls)] for cls in _function_classes())
    return [modules, methods, ops]


def hook_counts() -> list[int]:
    """[op hooks, module forward pre-hooks, module forward hooks] registered now."""
    from tinytorch.core import layers

    return [len(tensor_module.op_hooks), len(layers._forward_pre_hooks), len(layers._forward_hooks)]


def run_in(context: Any, model: Module, inputs: Sequence[Any], backward: bool = False) -> None:
    """`with context: model(*inputs)`, and `.sum().backward()` of the output if asked."""
    with context:
        output = model(*inputs)
        if backward:
            output.sum().backward()


def allocated_cases(fn: Callable[[tuple, tuple], int], shape: Sequence[int]) -> dict[str, Any]:
    """`fn(inputs, outputs)` for outputs made in different ways from one input array."""
    a = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    fresh = a + 1
    cases = {
        "the input itself": ((a,), (a,)),
        "a transpose of the input": ((a,), (a.T,)),
        "a slice of the input": ((a,), (a[1:],)),
        "a new array": ((a,), (fresh,)),
        "a new array and its transpose": ((a,), (fresh, fresh.T)),
        "a slice of a new array": ((a,), (fresh[:1],)),
        "two new arrays and a None": ((a,), (fresh, None, a * 2)),
        "a copy made by reshaping a transpose": ((a,), (a.T.reshape(-1),)),
        "no outputs": ((a,), ()),
    }
    return {name: fn(inputs, outputs) for name, (inputs, outputs) in cases.items()}
