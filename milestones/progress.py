"""A training progress line: step, a caller's text, throughput and the time left.

On a terminal the line rewrites itself in place; in a pipe or a log (CI) it is printed
as a plain line a few times per run, so logs stay short. `note` prints a line that
stays (an evaluation, say) without breaking the progress line.
"""

from __future__ import annotations

import sys
import time


class Progress:
    """Progress over steps `first + 1 .. total`, counting `unit` (images, tokens ...)."""

    def __init__(self, total: int, first: int = 0, unit: str = "items") -> None:
        self.total, self.first, self.unit = total, first, unit
        self.items, self.started = 0, time.perf_counter()
        self.tty = sys.stdout.isatty()
        self.every = 1 if self.tty else max(1, (total - first) // 10)
        self.open_line = False

    def update(self, step: int, text: str, items: int) -> None:
        """Step `step` is done; it handled `items` of the unit."""
        self.items += items
        if (step - self.first) % self.every and step != self.total:
            return
        elapsed = time.perf_counter() - self.started
        done = step - self.first
        left = elapsed / done * (self.total - step) if done else 0.0
        line = (
            f"step {step}/{self.total}  {text}  {self.items / elapsed:,.0f} {self.unit}/s  "
            f"ETA {int(left // 60)}:{int(left % 60):02d}"
        )
        if self.tty:
            print(f"\r{line}\x1b[K", end="", flush=True)
            self.open_line = True
        else:
            print(line, flush=True)

    def note(self, line: str) -> None:
        """Print a line that stays above the progress line."""
        if self.open_line:
            print("\r\x1b[K", end="")
            self.open_line = False
        print(line, flush=True)
