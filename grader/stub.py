"""A task's stub message, spelled in one place.

A starter's unfinished function raises `NotImplementedError("Task 01.2: implement
Tensor.add. Hint: ...")`. The starter generator writes it (grader/assign/regions.py),
`open_tasks` finds it in a file without running it (milestones, `tito status`), and the
generated `tinytorch/__init__.py` shortens it in its forward-only warning
(grader/package.py embeds this pattern, since the package must not import the grader).
"""

from __future__ import annotations

import re

STUB_MESSAGE = re.compile(r"^Task (?P<task>\d{2}\.\d+): implement (?P<scope>.+?)\.(?: Hint: |$)")
"""What `stub_message` writes: its task and the function or class to implement."""


def stub_message(task: str, scope: str, hint: str = "") -> str:
    """The message of the stub of task `task` in `scope`, with its hint when there is one."""
    message = f"Task {task}: implement {scope}."
    return f"{message} Hint: {hint}" if hint else message
