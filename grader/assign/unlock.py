"""Seed `assignments/NN_slug/` from the starter for modules that are unlocked.

Unlocking only ever adds files: an existing file in the student's workspace is never
overwritten or deleted, however it differs from the starter.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from grader.assign.sync import record_synced
from grader.course import Course, ModuleSpec, not_published
from grader.layout import Layout


@dataclass
class UnlockReport:
    """Per-module outcome of an unlock run."""

    unlocked: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)


def is_released(course: Course, module: ModuleSpec, today: dt.date) -> bool:
    """The release date has passed (the day itself counts)."""
    return module.release <= today


def unlock_modules(
    layout: Layout,
    course: Course,
    today: dt.date,
    prerequisite_score: Callable[[ModuleSpec], float] | None = None,
) -> UnlockReport:
    """Copy the starter of every released module into `assignments/`, adding files only.

    `prerequisite_score` gives a module's last score fraction; it is consulted only when
    classroom.yml sets `unlock.require_prerequisites`.
    """
    report = UnlockReport()
    policies = course.policies
    for module in course.modules:
        starter = layout.starter / module.dirname
        if not is_released(course, module, today):
            report.waiting.append(f"{module.dirname}: releases on {module.release}")
            continue
        if not starter.is_dir():
            report.waiting.append(f"{module.dirname}: {not_published(module)}")
            continue
        if policies.require_prerequisites and prerequisite_score is not None:
            weak = [
                p
                for p in course.prerequisite_closure(module)
                if prerequisite_score(p) < policies.prerequisite_min_score
            ]
            if weak:
                names = ", ".join(p.dirname for p in weak)
                report.waiting.append(
                    f"{module.dirname}: needs {policies.prerequisite_min_score:.0%} on {names}"
                )
                continue
        target = layout.assignments / module.dirname
        added = _copy_missing(starter, target)
        module_file = target / module.filename
        if module_file in added and module_file.with_suffix(".ipynb") in added:
            record_synced(target, module.filename)
        (report.unlocked if added else report.already).append(module.dirname)
    return report


def _copy_missing(source: Path, target: Path) -> list[Path]:
    """Copy files from `source` that do not exist under `target`; returns what was added."""
    added = []
    for path in sorted(source.rglob("*")):
        if path.is_dir() or "__pycache__" in path.parts:
            continue
        destination = target / path.relative_to(source)
        if destination.exists():
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, destination)
        added.append(destination)
    return added
