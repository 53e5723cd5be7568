"""Helpers for the tests of module 15 (Profiling) that run beside the student's code.

- `ScriptedClock`: a clock the test controls. Calling it reads the time; its `work`
  stands for the timed call: each call of `work()` moves the clock on by the next
  duration of the script. Timing `work` with this clock must give back the script's
  durations, whatever the machine does.

They compute no expected value and decide nothing: every check is in the tests.
"""

from __future__ import annotations

from collections.abc import Sequence


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
