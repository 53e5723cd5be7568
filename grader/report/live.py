"""Grading that talks while it runs: which test is running, for how long, what finished.

Everything here comes from the trusted side: the test process says which test it starts
and how long each one took (grader/grade/protocol.py), and the grading process times the
running ones on its own clock. Nothing the student's code prints reaches these lines. A
test that runs long is announced while it runs ("still running after 5 s ... stops it at
20 s"), so a stuck loop never looks like a frozen grader.

Two faces, one state:
- `PlainReport`, for pipes and CI: a line as each module starts, as each test finishes,
  and when a test runs long;
- `RichReport`, for a terminal: a live display (each module's bar, each running test
  with its elapsed time) that disappears at the end, and the same long-test lines.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

ANNOUNCE_AFTER = 5.0
"""A test still running after this long (or half its time limit, if that is shorter) is
announced, with when the grader will stop it."""


@dataclass
class _Running:
    started: float
    announced: bool = False


@dataclass
class _Module:
    name: str
    time_limit: float
    total: int = 0
    done: int = 0
    failed: int = 0
    running: dict[str, _Running] = field(default_factory=dict)


def shown_test_name(nodeid: str) -> str:
    """`test_y[param]`, marked `(hidden)` for a hidden test."""
    name = nodeid.split("::", 1)[-1]
    return f"{name} (hidden)" if nodeid.startswith("tests/hidden/") else name


def announce_after(time_limit: float) -> float:
    """How long a test runs before it is announced."""
    return min(ANNOUNCE_AFTER, time_limit / 2)


class ModuleProgress:
    """What the grading of one module reports; called from that module's thread. The
    state changes under the report's lock; the lines are said after it is released (a
    live display takes its own lock to draw, and asks for the state)."""

    def __init__(self, report: LiveReport, module: _Module) -> None:
        self._report = report
        self._module = module

    def collected(self, count: int) -> None:
        """The module's tests are known (the first count only: every shard sends it)."""
        with self._report.lock:
            if self._module.total:
                return
            self._module.total = count
        self._report.say(f"{self._module.name}: running {count} tests", progress=True)

    def started(self, nodeid: str) -> None:
        with self._report.lock:
            self._module.running[nodeid] = _Running(self._report.clock())

    def finished(self, nodeid: str, passed: bool, seconds: float) -> None:
        """Test `nodeid` ended after `seconds` (the test process's measure)."""
        module = self._module
        with self._report.lock:
            module.running.pop(nodeid, None)
            module.done += 1
            module.failed += not passed
            count = f"{module.done}/{module.total}" if module.total else str(module.done)
        verdict = "PASS" if passed else "FAIL"
        line = f"{module.name} [{count}] {verdict} {shown_test_name(nodeid)} ({seconds:.1f} s)"
        self._report.say(line, progress=True)

    def tick(self) -> None:
        """Announce each test that has just run past `announce_after` its time limit."""
        module = self._module
        lines = []
        with self._report.lock:
            now = self._report.clock()
            threshold = announce_after(module.time_limit)
            for nodeid, running in module.running.items():
                if not running.announced and now - running.started >= threshold:
                    running.announced = True
                    lines.append(
                        f"{module.name}: {shown_test_name(nodeid)} is still running after "
                        f"{now - running.started:.0f} s; the grader stops it at the latest at "
                        f"{module.time_limit:g} s (its time limit)."
                    )
        for line in lines:
            self._report.say(line, progress=False)


class LiveReport:
    """The state of a run's modules, and how its lines are said (`PlainReport`,
    `RichReport`)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.lock = threading.Lock()
        self.modules: list[_Module] = []

    def module(self, name: str, time_limit: float) -> ModuleProgress:
        """The progress of module `name`, whose tests each have `time_limit` seconds."""
        with self.lock:
            module = _Module(name, time_limit)
            self.modules.append(module)
        return ModuleProgress(self, module)

    def say(self, line: str, *, progress: bool) -> None:
        """Say `line`: a `progress` line (a module started, a test finished) or one that
        must stay (a long test)."""
        raise NotImplementedError

    def close(self) -> None:
        """Stop saying anything (a live display clears itself)."""


class PlainReport(LiveReport):
    """Plain lines, one per event, flushed at once (a pipe, a file, a CI log)."""

    def __init__(self, stream: TextIO, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(clock)
        self.stream = stream
        self.writing = threading.Lock()

    def say(self, line: str, *, progress: bool) -> None:
        with self.writing:
            self.stream.write(line + "\n")
            self.stream.flush()


class RichReport(LiveReport):
    """A live display on a terminal: a bar per module and a line per running test with
    its elapsed time, gone at the end; a long test's line is printed above it and stays."""

    def __init__(self, console: Console, clock: Callable[[], float] = time.monotonic) -> None:
        from rich.live import Live

        super().__init__(clock)
        self.console = console
        self.live = Live(
            console=console, get_renderable=self._renderable, refresh_per_second=4, transient=True
        )
        self.live.start()

    def _renderable(self) -> RenderableType:
        from rich.progress_bar import ProgressBar
        from rich.table import Table
        from rich.text import Text

        grid = Table.grid(padding=(0, 1))
        with self.lock:
            now = self.clock()
            for module in self.modules:
                if module.total and module.done >= module.total:
                    continue
                bar = ProgressBar(total=module.total or None, completed=module.done, width=30)
                failed = Text(f"{module.failed} failed" if module.failed else "", style="red")
                grid.add_row(
                    Text(module.name, style="bold"), bar, f"{module.done}/{module.total}", failed
                )
                for nodeid, running in module.running.items():
                    style = "yellow" if running.announced else "dim"
                    name = Text(f"  {shown_test_name(nodeid)}", style=style)
                    grid.add_row(name, "", Text(f"{now - running.started:.1f} s", style=style), "")
        return grid

    def say(self, line: str, *, progress: bool) -> None:
        from rich.text import Text

        if not progress:  # the display shows progress; only a long test gets a lasting line
            self.console.print(Text(line, style="yellow"))

    def close(self) -> None:
        self.live.stop()


@contextmanager
def live_report(stream: TextIO) -> Iterator[LiveReport]:
    """A `RichReport` on a terminal, else a `PlainReport`; stopped on the way out."""
    if hasattr(stream, "isatty") and stream.isatty():
        from rich.console import Console

        report: LiveReport = RichReport(Console(file=stream))
    else:
        report = PlainReport(stream)
    try:
        yield report
    finally:
        report.close()
