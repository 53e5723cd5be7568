"""Where the student's code was stuck when it ran out of time.

Each request tells the worker how long it may run (`watch`, slightly less than what is
left of the test's time limit). A request still running then makes the worker write its
stack to the output file with `faulthandler` (on a timer signal), just before this side
stops it. Here that dump becomes one short paragraph naming the student's own lines, and
it is taken out of the printed output, which it is not.

The dump comes from the student's process, so it is only a hint: it names lines of their
own files or nothing, and never changes a verdict (the time limit is measured here).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from grader.remote.session import StudentFile

WATCH_MARGIN = 0.5
"""Seconds before the deadline at which the worker dumps its stack."""
SHOWN_FRAMES = 3
_DUMP_START = re.compile(r"^Stack \(most recent call first\):$", re.MULTILINE)
_FRAME = re.compile(r'^  File "(?P<path>[^"]+)", line (?P<line>\d+) in (?P<function>\S+)$')


def split_dump(output: str) -> tuple[str, str]:
    """(what the student's code printed, the stack dump after it, if any)."""
    starts = list(_DUMP_START.finditer(output))
    if not starts:
        return output, ""
    start = starts[-1].start()
    return output[:start].rstrip("\n"), output[start:]


def where_stuck(dump: str, stage: str, files: dict[str, StudentFile]) -> str:
    """A sentence naming the innermost lines of the student's own files in `dump`, or ""."""
    lines = []
    for raw in dump.splitlines():
        match = _FRAME.match(raw)
        if not match or not match["path"].startswith(stage + "/"):
            continue
        known = files.get(match["path"][len(stage) + 1 :])
        if known is None:
            continue
        line = int(match["line"]) - known.header_lines
        lines.append(f"  {known.display_path}, line {line}, in {match['function'][:80]}")
        if len(lines) == SHOWN_FRAMES:
            break
    if not lines:
        return ""
    return "When it was stopped, your code was running (innermost first):\n" + "\n".join(lines)
