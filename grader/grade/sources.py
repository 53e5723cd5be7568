"""Where the code of a graded module and of its prerequisites comes from.

With `grading.prerequisites_from: reference`, an earlier module comes from the reference
solutions only once its due date has passed: the worker stages prerequisites beside the
student's module, where the student's code could read them, and after the deadline the
reference is no longer a secret. Before that it comes from the student's own code.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from grader.course import Course, ModuleSpec
from grader.layout import Layout


def display_path(path: Path, layout: Layout, submission: Path | None = None) -> str:
    """A path as the student knows it: relative to the course repository, or to the
    student's repository (the parent of the submission's `assignments/`), when possible."""
    bases = [layout.root] + ([submission.parent] if submission is not None else [])
    for base in bases:
        try:
            return path.resolve().relative_to(base.resolve()).as_posix()
        except ValueError:
            continue
    return str(path)


def prerequisite_sources(
    layout: Layout,
    course: Course,
    module: ModuleSpec,
    submission: Path,
    now: dt.datetime | None = None,
) -> tuple[list[tuple[ModuleSpec, Path, str]], list[str]]:
    """Where each earlier module's code comes from, and notes saying so."""
    sources, notes = [], []
    now = now or dt.datetime.now(dt.UTC)
    for earlier in course.prerequisite_closure(module):
        reference_allowed = earlier.due < now
        policy = course.policies.prerequisites_from if reference_allowed else "submission"
        candidates = [layout.reference, submission] if policy == "reference" else [submission]
        if reference_allowed and layout.reference not in candidates:
            candidates.append(layout.reference)
        candidates.append(layout.starter)
        for tree in candidates:
            path = layout.module_file(tree, earlier)
            if path.is_file():
                sources.append((earlier, path, display_path(path, layout, submission)))
                if tree != candidates[0]:
                    notes.append(
                        f"Module {earlier.dirname} came from {display_path(tree, layout)}/ "
                        f"({policy} code is not available here)."
                    )
                break
        else:
            notes.append(
                f"Module {earlier.dirname} is missing everywhere; tests that need it fail."
            )
    return sources, notes
