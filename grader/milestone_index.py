"""Which milestones exist and which modules each needs, read from their files alone.

A milestone is a folder `milestones/NN_slug/` with a `README.md` and a script `slug.py`.
The script's docstring starts with its title, and a top-level `REQUIRES = (7,)` names the
modules it imports directly (their prerequisites in classroom.yml are added). Nothing is
imported or run here: `tito status` and the milestone runner (`milestones/runner.py`, which
builds a package and runs a script) both read this index, so imports run one way,
`milestones` -> `grader`.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from grader.course import Course, ModuleSpec


@dataclass(frozen=True)
class Milestone:
    """One historical demo."""

    key: str
    """Two digits, as in `make milestone M=01`."""
    folder: Path
    script: Path
    title: str
    requires: tuple[int, ...]
    """Module numbers the script imports directly."""


class MilestoneError(Exception):
    """A milestone cannot run; the message says why and what to do."""


def discover(root: Path) -> dict[str, Milestone]:
    """Every milestone folder under `root` (the course's `milestones/`), by key."""
    found = {}
    for folder in sorted(root.glob("[0-9][0-9]_*")):
        script = folder / f"{folder.name[3:]}.py"
        if folder.is_dir() and script.is_file():
            tree = ast.parse(script.read_text(encoding="utf-8"), filename=str(script))
            title = (ast.get_docstring(tree) or folder.name).splitlines()[0].rstrip(".")
            found[folder.name[:2]] = Milestone(
                folder.name[:2], folder, script, title, _requires(tree, script)
            )
    return found


def _requires(tree: ast.Module, script: Path) -> tuple[int, ...]:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "REQUIRES" for t in node.targets
        ):
            value = ast.literal_eval(node.value)
            if isinstance(value, tuple) and all(isinstance(n, int) for n in value):
                return value
    raise MilestoneError(f"{script}: needs a top-level REQUIRES = (module numbers, ...)")


def needed_modules(course: Course, milestone: Milestone) -> list[ModuleSpec]:
    """The modules a milestone needs, prerequisites included, in course order."""
    numbers = set(milestone.requires)
    for number in milestone.requires:
        numbers |= {m.number for m in course.prerequisite_closure(course.module(number))}
    return [m for m in course.modules if m.number in numbers]
