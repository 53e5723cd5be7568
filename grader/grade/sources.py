"""Where the code of a graded module and of its prerequisites comes from.

With `grading.prerequisites_from: reference`, an earlier module comes from the reference
solutions only once its late window has closed (its due time plus `max_late_days`):
the worker stages prerequisites beside the student's module, where the student's code
could read them, and while hand-ins of that module are still accepted (late), the
reference is still a secret. Before that it comes from the student's own code, read as
data (grader/submission.py): a module file that is a link, not a regular file, or
too large is not used, and the starter stands in.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from grader.course import Course, ModuleSpec, hand_ins_close
from grader.layout import Layout
from grader.package import ModuleSource
from grader.submission import SubmissionCopies, UnsafeFileError


def display_path(path: Path, layout: Layout, submission: Path | None = None) -> str:
    """A path as the student knows it: relative to the course repository, or to the
    student's repository (the parent of the submission's `assignments/`), when possible.
    Never resolves a link in the submission (it could name anything)."""
    bases = [layout.root] + ([submission.parent] if submission is not None else [])
    for base in bases:
        try:
            return Path(os.path.abspath(path)).relative_to(os.path.abspath(base)).as_posix()
        except ValueError:
            continue
    return str(path)


def prerequisite_sources(
    layout: Layout,
    course: Course,
    module: ModuleSpec,
    copies: SubmissionCopies,
    now: dt.datetime | None = None,
) -> tuple[list[ModuleSource], list[str]]:
    """Where each earlier module's code comes from, and notes saying so. A module from the
    submission is the grader's private copy (`copies`), checked like the graded one."""
    sources, notes = [], []
    now = now or dt.datetime.now(dt.UTC)
    submission = copies.submission
    for earlier in course.prerequisite_closure(module):
        reference_allowed = hand_ins_close(earlier, course) < now
        policy = course.policies.prerequisites_from if reference_allowed else "submission"
        candidates = [layout.reference, submission] if policy == "reference" else [submission]
        if reference_allowed and layout.reference not in candidates:
            candidates.append(layout.reference)
        candidates.append(layout.starter)
        for tree in candidates:
            shown = display_path(layout.module_file(tree, earlier), layout, submission)
            if tree == submission:
                try:
                    path = copies.copy(earlier)
                except FileNotFoundError:
                    continue
                except UnsafeFileError as error:
                    notes.append(
                        f"{shown} is not used ({error}); tests that need it use the starter."
                    )
                    continue
            else:
                path = layout.module_file(tree, earlier)
                if not path.is_file():
                    continue
            sources.append(ModuleSource(earlier, path, shown))
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
