"""Helpers for the tests of module 19 (Benchmarking) that run beside the student's code.

- `EnvProbe(work, names)`: a variant to benchmark. Each call records the environment
  variables `names` as they are during the call (`seen`), then calls `work` (a
  ScriptedClock's work from aids.profiling, so time passes as the test scripted).
- `set_env(values)` / `get_env(names)`: set (None: remove) and read environment
  variables of the worker, where the student's `pin_threads` changes them.
- `raise_inside(context)`: enters `context`, raises inside the block, and returns the
  exception's type name once the context let it through: a `with` block cannot cross to
  the worker.

They compute no expected value and decide nothing: every check is in the tests.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any


class EnvProbe:
    """Records `names` from the environment on every call, then runs `work()`."""

    def __init__(self, work: Callable[[], object], names: Sequence[str]) -> None:
        self.work = work
        self.names = [str(name) for name in names]
        self.seen: list[dict[str, str | None]] = []

    def __call__(self) -> None:
        self.seen.append({name: os.environ.get(name) for name in self.names})
        self.work()


def set_env(values: Mapping[str, str | None]) -> None:
    """Set each variable to its value; a None value removes the variable."""
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = str(value)


def get_env(names: Sequence[str]) -> dict[str, str | None]:
    """The variables `names` as they are now (None: not set)."""
    return {name: os.environ.get(name) for name in names}


class _RaisedError(Exception):
    """The error `raise_inside` raises within the block."""


def raise_inside(context: Any) -> str:
    """`with context: raise _RaisedError`; the name of what came out ("" if nothing did)."""
    try:
        with context:
            raise _RaisedError("raised inside the block")
    except Exception as error:  # the context may swallow or replace it: report either
        return type(error).__name__
    return ""
