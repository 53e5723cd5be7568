"""Command line: `python -m grader <verb>`; each verb maps to one entry function."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import traceback
from pathlib import Path

from grader.assign.starter import built_modules, write_starters
from grader.assign.sync import SyncConflictError, sync_module
from grader.assign.unlock import unlock_modules
from grader.course import Course, CourseConfigError, ModuleSpec, load_course
from grader.grade.engine import grade_module
from grader.layout import Layout
from grader.package import build_package
from grader.report.formats import console_table, markdown_summary, points_line, to_gradescope


def _modules(course: Course, layout: Layout, keys: list[str]) -> list[ModuleSpec]:
    if keys == ["all"]:
        return [m for m in course.modules if (layout.assignments / m.dirname).is_dir()]
    return [course.module(key) for key in keys]


def _submission(layout: Layout, given: str | None) -> Path:
    if given is None:
        return layout.assignments
    path = Path(given)
    return path if path.is_absolute() else (Path.cwd() / path)


def cmd_grade(args: argparse.Namespace, layout: Layout, course: Course) -> int:
    """Grade modules; print the table and the `Points X/Y` line; write JSON and Markdown."""
    submission = _submission(layout, args.submission)
    modules = _modules(course, layout, args.module)
    if not modules:
        print("No module to grade: nothing is unlocked in assignments/ yet (run `make unlock`).")
        return 0
    if submission == layout.assignments:
        for module in modules:
            _sync_quietly(layout.assignments / module.dirname, module)
    results = []
    for module in modules:
        result = grade_module(layout, course, module, submission, include_hidden=not args.no_hidden)
        results.append(result)
        print(console_table(result))
        print()
        target = (
            Path(args.json)
            if args.json and len(modules) == 1
            else (layout.root / ".grades" / module.dirname / "results.json")
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(to_gradescope(result), indent=2) + "\n", encoding="utf-8")
    if args.markdown:
        Path(args.markdown).write_text(markdown_summary(results), encoding="utf-8")
    print(points_line(results))
    return 0


def _sync_quietly(directory: Path, module: ModuleSpec) -> None:
    """Bring a notebook edit into the module file before grading; never overwrite work."""
    if not directory.is_dir():
        return
    try:
        result = sync_module(directory, module.filename)
        if result.action != "none":
            print(result.message)
    except SyncConflictError as conflict:
        print(f"warning: {conflict} Grading {module.filename} as it is.")
    except (OSError, ValueError) as error:
        print(f"warning: could not sync the notebook of {module.dirname}: {error}")


def cmd_starter(args: argparse.Namespace, layout: Layout, course: Course) -> int:
    """Regenerate starter/ from solutions/."""
    for directory in write_starters(layout, course):
        print(f"wrote {directory.relative_to(layout.root)}")
    return 0


def cmd_unlock(args: argparse.Namespace, layout: Layout, course: Course) -> int:
    """Copy the starter of released modules into assignments/ (adding files only)."""
    today = (
        dt.date.fromisoformat(args.today)
        if args.today
        else dt.datetime.now(course.policies.timezone).date()
    )
    report = unlock_modules(layout, course, today)
    for name in report.unlocked:
        print(f"unlocked {name}")
    for name in report.already:
        print(f"already unlocked {name}")
    if args.verbose:
        for line in report.waiting:
            print(f"locked {line}")
    return 0


def cmd_package(args: argparse.Namespace, layout: Layout, course: Course) -> int:
    """Rebuild tinytorch/ from the unlocked modules in assignments/."""
    sources = [
        (m, layout.module_file(layout.assignments, m), f"assignments/{m.dirname}/{m.filename}")
        for m in course.modules
        if layout.module_file(layout.assignments, m).is_file()
    ]
    report = build_package(layout.root, sources)
    for path in report.written:
        print(f"wrote {path.relative_to(layout.root)}")
    for path, reason in report.kept:
        print(f"kept {path.relative_to(layout.root)}: {reason}; delete it to regenerate")
    print(
        f"tinytorch/ holds {len(sources)} module(s): " + ", ".join(m.dirname for m, _, _ in sources)
    )
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
    return 0


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
    verbs = parser.add_subparsers(dest="verb", required=True)
    grade = verbs.add_parser("grade", help="grade modules of a submission")
    grade.add_argument(
        "--module", nargs="+", required=True, help="module numbers like 01, or 'all'"
    )
    grade.add_argument(
        "--submission", help="folder holding NN_slug/ module folders (default: assignments)"
    )
    grade.add_argument("--json", help="where to write results.json (one module only)")
    grade.add_argument("--markdown", help="where to write a Markdown summary")
    grade.add_argument("--no-hidden", action="store_true", help="grade the visible tests only")
    grade.set_defaults(run=cmd_grade)
    verbs.add_parser("starter", help="regenerate starter/ from solutions/").set_defaults(
        run=cmd_starter
    )
    unlock = verbs.add_parser("unlock", help="seed assignments/ for released modules")
    unlock.add_argument("--today", help="pretend today is this date (YYYY-MM-DD)")
    unlock.add_argument("--verbose", action="store_true")
    unlock.set_defaults(run=cmd_unlock)
    verbs.add_parser("package", help="rebuild tinytorch/ from assignments/").set_defaults(
        run=cmd_package
    )
    sync = verbs.add_parser("sync", help="sync a module file and its notebook")
    sync.add_argument("--module", nargs=1, required=True)
    sync.add_argument("--from", dest="prefer", choices=["py", "notebook"], default=None)
    sync.set_defaults(run=cmd_sync)
    verbs.add_parser("check-config", help="validate classroom.yml").set_defaults(
        run=cmd_check_config
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    layout = Layout(Path(args.root).resolve()) if args.root else Layout()
    try:
        course = load_course(layout.manifest)
        return args.run(args, layout, course)
    except CourseConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except Exception:  # the grader reports its own faults instead of dying silently
        print("internal grader error (please report this to your instructor):", file=sys.stderr)
        traceback.print_exc()
        return 3
