"""Command line: `python -m grader <verb>`; each verb maps to one entry function.

The `grade` verb's work is grader/grade_verb.py (`main_grade`, which `tito grade` calls
too); here it is only its options.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path

from grader.assign.jupyter import JupyterSetupError, ensure_jupyter, launch, pinned_requirements
from grader.assign.starter import built_modules, write_starters
from grader.assign.status import last_score
from grader.assign.sync import SyncConflictError, sync_module
from grader.assign.unlock import unlock_modules
from grader.assign.workspace import build_student_package, kept_lines, update_workspace
from grader.course import Course, ModuleSpec, load_course
from grader.grade.session import RequestError, grade
from grader.grade_verb import (
    GradeRequest,
    main_grade,
    print_lines,
    printing_never_fails,
    reported,
    save_result,
)
from grader.layout import Layout
from grader.release import release
from grader.remote.isolation import choose, isolation_required
from grader.report.workflow import commands_stopped
from grader.service.config import load_delivery, placeholder_problem


def cmd_grade(args: argparse.Namespace, layout: Layout, course: Course) -> int:
    """Grade modules; print the table and the `Points X/Y` line; write JSON and Markdown."""
    return main_grade(layout=layout, course=course, request=GradeRequest.from_args(args)).code


def cmd_starter(args: argparse.Namespace, layout: Layout, course: Course) -> int:
    """Regenerate starter/ from solutions/."""
    for directory in write_starters(layout, course):
        print(f"wrote {directory.relative_to(layout.root)}")
    return 0


def _prerequisite_score(
    args: argparse.Namespace, layout: Layout, course: Course
) -> Callable[[ModuleSpec], float]:
    """A module's last score fraction: from .grades/ if it was graded, else graded now
    (and saved there, as `make grade` would)."""
    isolation = cache(lambda: choose(isolation_required()))  # chosen once, if ever needed

    def score(module: ModuleSpec) -> float:
        saved = last_score(layout, module)
        if saved is not None:
            return saved.fraction
        if not layout.module_file(layout.assignments, module).is_file():
            return 0.0
        with commands_stopped(args.actions):
            run = grade(
                layout=layout,
                course=course,
                modules=[module],
                submission=layout.assignments,
                isolation=isolation(),
            )
        (result,) = run.results
        save_result(layout, result)
        return result.score / result.max_score if result.max_score else 0.0

    return score


def cmd_unlock(args: argparse.Namespace, layout: Layout, course: Course) -> int:
    """Copy the starter of released modules into assignments/ (adding files only)."""
    today = course.today(args.today)
    score = (
        _prerequisite_score(args, layout, course) if course.policies.require_prerequisites else None
    )
    report = unlock_modules(layout, course, today, score)
    for name in report.unlocked:
        print(f"unlocked {name}")
    for name in report.already:
        print(f"already unlocked {name}")
    if args.verbose:
        for line in report.waiting:
            print(f"locked {line}")
    if args.message and report.unlocked:
        names = ", ".join(report.unlocked)
        released = {m.dirname: m.release for m in course.modules}
        body = "\n".join(
            f"- {name}: release date {released[name]} reached" for name in report.unlocked
        )
        text = f"Unlock {names}\n\nAdded by the unlock workflow (only new files):\n{body}\n"
        Path(args.message).write_text(text, encoding="utf-8")
    return 0


def cmd_release(args: argparse.Namespace, layout: Layout, course: Course) -> int:
    """Write dist/student-template/ and dist/grader-bundle/."""
    today = course.today(args.today)
    problem = placeholder_problem(course.grader_repository, load_delivery(layout.manifest))
    if problem:
        raise RequestError(problem)
    dist = Path(args.dist) if args.dist else layout.root / "dist"
    written = release(layout, course, dist, today)
    print(f"wrote {written.template} (push it as the assignment's template repository)")
    print(f"wrote {written.bundle} (push it to the private {course.grader_repository})")
    print(f"wrote {dist / 'classroom50'} (Classroom 50: <classroom>/autograders/<assignment>/)")
    return 0


def refresh_package(layout: Layout, course: Course) -> None:
    """Keep `import tinytorch` (notebooks, scripts) on the student's current code; one line
    when anything changed."""
    print_lines(update_workspace(layout, course, []).lines)


def cmd_package(args: argparse.Namespace, layout: Layout, course: Course) -> int:
    """Rebuild tinytorch/ from the unlocked modules in assignments/."""
    report = build_student_package(layout, course)
    for path in report.written:
        print(f"wrote {path.relative_to(layout.root)}")
    print_lines(kept_lines(layout, report))
    modules = [m.dirname for m in report.modules]
    print(f"tinytorch/ holds {len(modules)} module(s): " + ", ".join(modules))
    return 0


def cmd_sync(args: argparse.Namespace, layout: Layout, course: Course) -> int:
    """Sync a module file with its notebook."""
    module = course.module(args.module[0])
    try:
        print(
            sync_module(layout.assignments / module.dirname, module.filename, args.prefer).message
        )
    except SyncConflictError as conflict:
        print(conflict, file=sys.stderr)
        return 1
    refresh_package(layout, course)
    return 0


def cmd_notebook(args: argparse.Namespace, layout: Layout, course: Course) -> int:
    """Open JupyterLab on assignments/ (or on a module's notebook); install it on first use."""
    module = course.module(args.module) if args.module else None
    try:
        ensure_jupyter(Path(sys.executable), pinned_requirements(layout.root / "pyproject.toml"))
    except JupyterSetupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return launch(
        layout,
        module,
        open_browser=not args.no_browser,
        before_start=lambda: refresh_package(layout, course),
    )


def cmd_check_config(args: argparse.Namespace, layout: Layout, course: Course) -> int:
    """Validate classroom.yml (loading it already did) and list what is built."""
    built = {m.number for m in built_modules(layout, course)}
    print(f"{layout.manifest.name} is valid: {course.name}, {len(course.modules)} modules")
    for m in course.modules:
        state = "built" if m.number in built else "not built yet"
        print(f"  {m.key} {m.title:<24} {m.points:>6g} pts  {m.release} -> {m.due.date()}  {state}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m grader", description=__doc__)
    parser.add_argument("--root", default=None, help="course repository (default: this one)")
    parser.add_argument(
        "--bundle", default=None, help="the checked-out grader bundle (ignored if absent)"
    )
    verbs = parser.add_subparsers(dest="verb", required=True)
    grade = verbs.add_parser("grade", help="grade modules of a submission")
    grade.add_argument(
        "--module",
        nargs="+",
        required=True,
        help="modules like 01, 5, tensor or 01_tensor; 'all'; or 'current' (the unlocked "
        "module not yet passing here that is due first)",
    )
    grade.add_argument(
        "--submission", help="folder holding NN_slug/ module folders (default: assignments)"
    )
    grade.add_argument("--json", help="where to write results.json (one module only)")
    grade.add_argument("--markdown", help="where to write a Markdown summary")
    grade.add_argument("--no-hidden", action="store_true", help="grade the visible tests only")
    grade.add_argument(
        "--today",
        help="with --module all: the modules released by this date (YYYY-MM-DD; default: "
        "the push date, else today)",
    )
    grade.add_argument(
        "--official",
        action="store_true",
        help="an official grade: refuse to run without OS isolation of the student's code",
    )
    grade.add_argument("--results", help="write all modules' results and the totals here")
    grade.add_argument("--classroom50", help="write Classroom 50's result.json here")
    grade.add_argument("--integrity", help="the report of `python -m grader.check.integrity`")
    grade.add_argument(
        "--pushed-at", help="push time (ISO 8601 or Unix seconds): apply the late policy"
    )
    grade.add_argument(
        "--actions",
        action="store_true",
        help="in GitHub Actions: stop workflow commands while grading, then print the "
        "notices GitHub Classroom reads",
    )
    grade.set_defaults(run=cmd_grade)
    verbs.add_parser("starter", help="regenerate starter/ from solutions/").set_defaults(
        run=cmd_starter
    )
    unlock = verbs.add_parser("unlock", help="seed assignments/ for released modules")
    unlock.add_argument("--today", help="pretend today is this date (YYYY-MM-DD)")
    unlock.add_argument("--verbose", action="store_true")
    unlock.add_argument("--message", help="write a commit message here if anything unlocked")
    unlock.add_argument(
        "--actions", action="store_true", help="in GitHub Actions: stop workflow commands"
    )
    unlock.set_defaults(run=cmd_unlock)
    make_release = verbs.add_parser("release", help="build dist/student-template and bundle")
    make_release.add_argument("--dist", help="output folder (default: dist/)")
    make_release.add_argument("--today", help="seed assignments/ as of this date (YYYY-MM-DD)")
    make_release.set_defaults(run=cmd_release)
    verbs.add_parser("package", help="rebuild tinytorch/ from assignments/").set_defaults(
        run=cmd_package
    )
    sync = verbs.add_parser("sync", help="sync a module file and its notebook")
    sync.add_argument("--module", nargs=1, required=True)
    sync.add_argument("--from", dest="prefer", choices=["py", "notebook"], default=None)
    sync.set_defaults(run=cmd_sync)
    notebook = verbs.add_parser("notebook", help="open JupyterLab (installed on first use)")
    notebook.add_argument("--module", help="open this module's notebook, synced first")
    notebook.add_argument("--no-browser", action="store_true", help="print the address only")
    notebook.set_defaults(run=cmd_notebook)
    verbs.add_parser("check-config", help="validate classroom.yml").set_defaults(
        run=cmd_check_config
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    printing_never_fails()
    args = build_parser().parse_args(argv)
    root = Path(args.root).resolve() if args.root else Layout().root
    bundle = Path(args.bundle).resolve() if args.bundle else None
    layout = Layout(root, bundle if bundle and bundle.is_dir() else None)
    return reported(lambda: args.run(args, layout, load_course(layout.manifest)), int)
