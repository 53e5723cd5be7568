"""Helpers for the tests of module 16 (Acceleration) that run beside the student's code.

- `TileRecorder`: a kernel for `blocked_matmul` that writes down the shape of every
  tile it is handed and adds `a @ b + offset` into the out tile. The offset marks each
  call in the result, so the test can tell from the product alone how many K tiles
  reached every element.
- `KeptArrays`: arrays that stay in the worker, so a test can see what a call wrote
  into them (`out=`, in-place updates); the trusted side only ever receives copies.
- `blocked_with_default_kernel`: `blocked_matmul` called without a kernel while its
  default, `tile_matmul` (looked up when it is called), is replaced by a recorder.
- `ScriptedRace`: a clock (call it) and named candidates for `race`; each call of a candidate
  moves the clock on by its next scripted duration and returns its scripted result.

They compute no expected value and decide nothing: every check is in the tests.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tinytorch.core import acceleration

_KEPT = re.compile(r"@(\d+)")


class TileRecorder:
    """A `blocked_matmul` kernel that records its tiles' shapes (a test reads `calls`)."""

    def __init__(self, offset: float = 0.0) -> None:
        self.offset = float(offset)
        self.calls: list[tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]] = []

    def __call__(self, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
        self.calls.append((tuple(np.shape(a)), tuple(np.shape(b)), tuple(np.shape(out))))
        out += np.asarray(a) @ np.asarray(b) + self.offset


def blocked_with_default_kernel(kernel: Callable[..., None], *args: Any) -> Any:
    """`blocked_matmul(*args)` (no kernel given) while `tile_matmul`, its default, is
    `kernel`; the student's `tile_matmul` is put back afterwards."""
    original = acceleration.tile_matmul
    acceleration.tile_matmul = kernel
    try:
        return acceleration.blocked_matmul(*args)
    finally:
        acceleration.tile_matmul = original


class KeptArrays:
    """Copies of arrays kept in the worker; `call` hands them to a function as "@i"."""

    def __init__(self, *arrays: Any) -> None:
        self.arrays = [np.array(a) for a in arrays]
        self.result: Any = None

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, str) and (match := _KEPT.fullmatch(value)):
            return self.arrays[int(match.group(1))]
        return value

    def call(self, fn: Callable[..., Any], args: Sequence[Any] = (), kwargs: Any = None) -> Any:
        """`fn(*args, **kwargs)` with every "@i" replaced by kept array i; returns the result."""
        resolved = {k: self._resolve(v) for k, v in dict(kwargs or {}).items()}
        self.result = fn(*[self._resolve(a) for a in args], **resolved)
        return self.result

    def value(self, index: int) -> np.ndarray:
        """A copy of kept array `index` as it is now."""
        return self.arrays[index].copy()

    def returned(self, index: int) -> bool:
        """Whether the last call returned kept array `index` itself."""
        return self.result is self.arrays[index]


class ScriptedRace:
    """A clock and candidates whose calls last exactly the scripted durations."""

    def __init__(self, durations: dict[str, Sequence[float]], results: dict[str, Any]) -> None:
        self.time = 1000.0
        self.durations = {name: [float(d) for d in ds] for name, ds in durations.items()}
        self.results = {name: np.array(r) for name, r in results.items()}
        self.calls = dict.fromkeys(self.durations, 0)

    def __call__(self) -> float:
        """The clock: the current time in seconds."""
        return self.time

    def candidates(self) -> dict[str, Callable[[], np.ndarray]]:
        """One callable per name, in the order of `durations`."""
        return {name: _Candidate(self, name) for name in self.durations}


class _Candidate:
    """One scripted candidate: advances its race's clock, returns its result."""

    def __init__(self, race: ScriptedRace, name: str) -> None:
        self.race, self.name = race, name

    def __call__(self) -> np.ndarray:
        race, name = self.race, self.name
        count = race.calls[name]
        if count >= len(race.durations[name]):
            raise RuntimeError(f"ScriptedRace: {name} called more than its scripted times")
        race.time += race.durations[name][count]
        race.calls[name] = count + 1
        return race.results[name].copy()
