"""The student's workspace before their code is used: one step, called once per command.

`make grade`, `tito grade`, `make sync`, `make package` and JupyterLab's start all want
the same two things: each notebook's edits brought into its module file (never
overwriting work: grader/assign/sync.py), then `tinytorch/` rebuilt from the unlocked
module files, so `import tinytorch` in a notebook or script runs the student's latest
code. `update_workspace` does both and returns what happened as lines for the command to
print; the grading below it (grader/grade/) reads the module files and never does this
again. The workflows grade a fresh checkout and skip the package (they build their own).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from grader.assign.sync import SyncConflictError, sync_module
from grader.course import Course, ModuleSpec
from grader.layout import Layout
from grader.package import ModuleSource, PackageReport, build_package, present_sources

REBUILT = "Rebuilt tinytorch/ from your modules, so `import tinytorch` uses your latest code."


@dataclass(frozen=True)
class WorkspaceUpdate:
    """What one workspace step did, for the command to print."""

    lines: tuple[str, ...]
    """One line per notebook synced (or not, and why) and per package change."""
    package: PackageReport | None
    """The rebuild of `tinytorch/`, when the step made one."""


def student_sources(layout: Layout, course: Course) -> list[ModuleSource]:
    """The unlocked module files of `layout`'s assignments/, in course order."""
    return present_sources(course.modules, layout.assignments, "assignments")


def build_student_package(layout: Layout, course: Course) -> PackageReport:
    """Rebuild `layout.root/tinytorch` from the unlocked modules (forward only while
    module 05 is unfinished, so the notebooks of modules 01-04 keep working)."""
    return build_package(
        layout.root, student_sources(layout, course), forward_only_until_autograd=True
    )


def kept_lines(layout: Layout, report: PackageReport) -> list[str]:
    """A line for each package file left alone because the student wrote or edited it."""
    return [
        f"kept {path.relative_to(layout.root)}: {reason}; delete it to regenerate"
        for path, reason in report.kept
    ]


def sync_notebook(directory: Path, module: ModuleSpec) -> str:
    """Bring a notebook edit into the module file; one line saying what happened, or ""
    (nothing to do). A conflict or a broken notebook is a warning: the module file is
    graded as it is, and nothing is overwritten."""
    if not directory.is_dir():
        return ""
    try:
        result = sync_module(directory, module.filename)
    except SyncConflictError as conflict:
        return f"warning: {conflict} Grading {module.filename} as it is."
    except (OSError, ValueError, RecursionError, MemoryError) as error:
        return f"warning: could not sync the notebook of {module.dirname}: {error}"
    return result.message if result.action != "none" else ""


def update_workspace(
    layout: Layout, course: Course, modules: list[ModuleSpec], *, rebuild_package: bool = True
) -> WorkspaceUpdate:
    """Sync the notebooks of `modules`, then (unless told not to) rebuild `tinytorch/`."""
    lines = [sync_notebook(layout.assignments / m.dirname, m) for m in modules]
    report = build_student_package(layout, course) if rebuild_package else None
    if report is not None:
        lines += kept_lines(layout, report)
        lines += [REBUILT] if report.written else []
    return WorkspaceUpdate(tuple(line for line in lines if line), report)
