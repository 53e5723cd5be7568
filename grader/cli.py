"""Command line: `python -m grader <verb>`; each verb maps to one entry function.

`main_grade` is the `grade` verb for callers in Python (`tito grade`): the same printing
and exit code as `python -m grader grade`, with the run itself as a typed result.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import sys
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from functools import cache
from pathlib import Path
from typing import TypeVar

from grader.assign.jupyter import JupyterSetupError, ensure_jupyter, launch, pinned_requirements
from grader.assign.starter import built_modules, write_starters
from grader.assign.status import CURRENT, current_module, last_score
from grader.assign.sync import SyncConflictError, sync_module
from grader.assign.unlock import unlock_modules
from grader.assign.workspace import build_student_package, kept_lines, update_workspace
from grader.check.integrity import IntegrityReport
from grader.classroom50.result import classroom50_result, release_body
from grader.course import Course, CourseConfigError, ModuleSpec, load_course
from grader.grade.session import (
    GradeRun,
    RequestError,
    grade,
    isolation_note,
    modules_to_grade,
)
from grader.layout import Layout
from grader.release import release
from grader.remote.isolation import IsolationError, Level, choose, isolation_required
from grader.report.formats import (
    classroom_notices,
    combined_results,
    console_table,
    markdown_summary,
    points_line,
    to_gradescope,
)
from grader.report.live import live_report
from grader.report.results import ModuleResult
from grader.report.workflow import commands_stopped
from grader.service.config import load_delivery, placeholder_problem

NO_HIDDEN_TESTS = (
    "Only the visible tests were graded here, out of their own points: this is not your "
    "grade. Your instructors grade the hidden tests too, in their own repository."
)
"""In the student repository's workflow (`--actions`) and its job summary."""
HIDDEN_ON_PUSH = (
    "Only the visible tests ran here. Push your work: the hidden tests are graded after "
    "each push, and their score appears as a check on your commit."
)
"""On the student's computer: one friendly line, never a warning."""
Outcome = TypeVar("Outcome")


@dataclass(frozen=True)
class GradeRequest:
    """What to grade and where to write it: the options of `python -m grader grade`."""

    modules: list[str]
    """01, 5, tensor or 01_tensor; ["all"]; or ["current"]."""
    submission: str | None = None
    json: str | None = None
    markdown: str | None = None
    no_hidden: bool = False
    today: str | None = None
    official: bool = False
    results: str | None = None
    classroom50: str | None = None
    integrity: str | None = None
    pushed_at: str | None = None
    actions: bool = False

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> GradeRequest:
        options = {f.name: getattr(args, f.name) for f in fields(cls) if f.name != "modules"}
        return cls(modules=args.module, **options)


@dataclass(frozen=True)
class GradeOutcome:
    """What grading did: its exit code, and the run when modules were graded."""

    code: int
    run: GradeRun | None = None

    def combined(self) -> dict | None:
        """Every module's results and the totals (what `--results` writes), if it graded."""
        if self.run is None:
            return None
        return combined_results(self.run.results, self.run.preamble, self.run.flagged)


def _submission(layout: Layout, given: str | None) -> Path:
    if given is None:
        return layout.assignments
    path = Path(given)
    return path if path.is_absolute() else (Path.cwd() / path)


def _pushed_at(text: str | None) -> dt.datetime | None:
    """A push time given as ISO 8601 or as Unix seconds (naive times are UTC)."""
    if not text:
        return None
    when = (
        dt.datetime.fromtimestamp(int(text), dt.UTC)
        if text.isdigit()
        else dt.datetime.fromisoformat(text)
    )
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _integrity(path: str | None) -> IntegrityReport | None:
    if not path:
        return None
    return IntegrityReport(**json.loads(Path(path).read_text(encoding="utf-8")))


def _write_json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def _today(text: str | None, course: Course) -> dt.date:
    """`--today`, or today in the course's time zone."""
    return dt.date.fromisoformat(text) if text else dt.datetime.now(course.policies.timezone).date()


def _hidden_note(request: GradeRequest, layout: Layout) -> tuple[str, ...]:
    """What a run without the hidden tests says about them (nothing when they ran)."""
    if request.no_hidden or layout.hidden_tests.is_dir():
        return ()
    return (NO_HIDDEN_TESTS if request.actions else HIDDEN_ON_PUSH,)


def cmd_grade(args: argparse.Namespace, layout: Layout, course: Course) -> int:
    """Grade modules; print the table and the `Points X/Y` line; write JSON and Markdown."""
    return _grade(layout, course, GradeRequest.from_args(args)).code


def main_grade(*, layout: Layout, course: Course, request: GradeRequest) -> GradeOutcome:
    """Grade as `python -m grader grade` does (the same printing and exit code, a refused
    request or a fault of the grader's reported as there), and return the run."""
    _printing_never_fails()
    return _reported(lambda: _grade(layout, course, request), GradeOutcome)


def _grade(layout: Layout, course: Course, args: GradeRequest) -> GradeOutcome:
    submission = _submission(layout, args.submission)
    pushed_at = _pushed_at(args.pushed_at)
    today = (
        pushed_at.astimezone(course.policies.timezone).date()
        if pushed_at and not args.today
        else _today(args.today, course)
    )
    keys = args.modules
    if keys == [CURRENT]:
        module = current_module(layout, course, today)
        if module is None:
            print(
                "Every unlocked module passes its visible tests here. Grade one again with "
                "`make grade MODULE=NN` (`make status` lists them)."
            )
            return GradeOutcome(0)
        print(
            f"Grading module {module.dirname}, the one you are working on (not yet passing "
            "here, and due first); choose another with `make grade MODULE=NN`."
        )
        keys = [module.key]
    modules, notes = modules_to_grade(course, layout, keys, today)
    if not modules:
        print("No module to grade: no module of this course has been released yet.")
        return GradeOutcome(0)
    if submission == layout.assignments:  # the workflows build their own package
        update = update_workspace(layout, course, modules, rebuild_package=not args.actions)
        _print_lines(update.lines)
    isolation = choose(isolation_required() or args.official)
    shown: set[str] = set()  # errors printed in full once per run (grader/report/formats.py)

    def show(result: ModuleResult) -> None:
        one_file = Path(args.json) if args.json and len(modules) == 1 else None
        _save_result(layout, result, one_file)  # the record first, then the console
        print(console_table(result, shown=shown))
        print()

    with commands_stopped(args.actions), live_report(sys.stdout) as progress:
        run = grade(
            layout=layout,
            course=course,
            modules=modules,
            submission=submission,
            include_hidden=not args.no_hidden,
            pushed_at=pushed_at,
            integrity=_integrity(args.integrity),
            isolation=isolation,
            notes=tuple(notes) + _hidden_note(args, layout),
            on_result=show,
            progress=progress,
        )
    if args.markdown:
        summary = markdown_summary(run.results, run.preamble)
        Path(args.markdown).write_text(summary, encoding="utf-8", errors="backslashreplace")
    outcome = GradeOutcome(0, run)
    if args.results:
        _write_json(Path(args.results), outcome.combined())
    if args.classroom50:
        _write_json(Path(args.classroom50), classroom50_result(run.results, os.environ))
        body = Path(args.classroom50).with_name("release-body.md")
        body.write_text(release_body(run.results), encoding="utf-8", errors="backslashreplace")
    for line in _console_notes(run, layout, always=args.actions):
        print(f"note: {line}")
    print(points_line(run.results))
    if args.actions:
        print("\n".join(classroom_notices(run.results)))
    return outcome


def _print_lines(lines: Iterable[str]) -> None:
    for line in lines:
        print(line)


def _save_result(layout: Layout, result: ModuleResult, path: Path | None = None) -> None:
    """A module's results.json: in `.grades/` (what `tito status` reads), or at `path`."""
    _write_json(path or layout.local_results(result.module), to_gradescope(result))


def _console_notes(run: GradeRun, layout: Layout, always: bool) -> list[str]:
    """The run's notes for the terminal. The isolation note is news only the first time on
    this machine, when the isolation changed, or when it is weaker than namespaces (a
    preview, not the recorded grade): other runs leave it out (`.grades/` remembers it)."""
    note = isolation_note(run.isolation)
    record = layout.root / ".grades" / "isolation-note.txt"
    try:
        known = record.read_text(encoding="utf-8").strip() == note
    except OSError:
        known = False
    if always or run.isolation.level != Level.NAMESPACES or not known:
        with contextlib.suppress(OSError):
            record.parent.mkdir(parents=True, exist_ok=True)
            record.write_text(note + "\n", encoding="utf-8")
        return list(run.preamble)
    return [line for line in run.preamble if line != note]


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
        _save_result(layout, result)
        return result.score / result.max_score if result.max_score else 0.0

    return score


def cmd_unlock(args: argparse.Namespace, layout: Layout, course: Course) -> int:
    """Copy the starter of released modules into assignments/ (adding files only)."""
    today = _today(args.today, course)
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
    today = _today(args.today, course)
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
    _print_lines(update_workspace(layout, course, []).lines)


def cmd_package(args: argparse.Namespace, layout: Layout, course: Course) -> int:
    """Rebuild tinytorch/ from the unlocked modules in assignments/."""
    report = build_student_package(layout, course)
    for path in report.written:
        print(f"wrote {path.relative_to(layout.root)}")
    _print_lines(kept_lines(layout, report))
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


def _printing_never_fails() -> None:
    """Printing never fails on what a student wrote."""
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")


def _reported(call: Callable[[], Outcome], failed: Callable[[int], Outcome]) -> Outcome:
    """Run a verb: a request the grader refuses is exit code 2, a fault of its own 3."""
    try:
        return call()
    except (CourseConfigError, RequestError, IsolationError) as error:
        print(f"error: {error}", file=sys.stderr)
        return failed(2)
    except Exception:  # the grader reports its own faults instead of dying silently
        print("internal grader error (please report this to your instructor):", file=sys.stderr)
        traceback.print_exc()
        return failed(3)


def main(argv: list[str] | None = None) -> int:
    _printing_never_fails()
    args = build_parser().parse_args(argv)
    root = Path(args.root).resolve() if args.root else Layout().root
    bundle = Path(args.bundle).resolve() if args.bundle else None
    layout = Layout(root, bundle if bundle and bundle.is_dir() else None)
    return _reported(lambda: args.run(args, layout, load_course(layout.manifest)), int)
