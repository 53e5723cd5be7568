"""The `grade` verb: a `GradeRequest` in, the modules graded, a `GradeOutcome` out.

`python -m grader grade` (grader/cli.py) and `tito grade` (grader/tito/cli.py) both call
`main_grade`: the same printing, files and exit code, with the run itself as a typed result.
A request the grader refuses is exit code 2 and a fault of its own 3 (`reported`, which
every verb of the command line shares).
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
from pathlib import Path
from typing import TypeVar

from grader.assign.status import CURRENT, current_module
from grader.assign.workspace import update_workspace
from grader.check.integrity import IntegrityReport
from grader.classroom50.result import classroom50_result, release_body
from grader.course import Course, CourseConfigError
from grader.grade.session import (
    GradeRun,
    RequestError,
    grade,
    isolation_note,
    modules_to_grade,
)
from grader.layout import Layout
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
        """The request that the options of `python -m grader grade` make."""
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


def _hidden_note(request: GradeRequest, layout: Layout) -> tuple[str, ...]:
    """What a run without the hidden tests says about them (nothing when they ran)."""
    if request.no_hidden or layout.hidden_tests.is_dir():
        return ()
    return (NO_HIDDEN_TESTS if request.actions else HIDDEN_ON_PUSH,)


def main_grade(*, layout: Layout, course: Course, request: GradeRequest) -> GradeOutcome:
    """Grade as `python -m grader grade` does (the same printing and exit code, a refused
    request or a fault of the grader's reported as there), and return the run."""
    printing_never_fails()
    return reported(lambda: _grade(layout, course, request), GradeOutcome)


def _grade(layout: Layout, course: Course, request: GradeRequest) -> GradeOutcome:
    """The grade verb itself; `main_grade` reports what it refuses or what fails in it."""
    submission = _submission(layout, request.submission)
    pushed_at = _pushed_at(request.pushed_at)
    today = (
        pushed_at.astimezone(course.policies.timezone).date()
        if pushed_at and not request.today
        else course.today(request.today)
    )
    keys = request.modules
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
        update = update_workspace(layout, course, modules, rebuild_package=not request.actions)
        print_lines(update.lines)
    isolation = choose(isolation_required() or request.official)
    shown: set[str] = set()  # errors printed in full once per run (grader/report/formats.py)

    def show(result: ModuleResult) -> None:
        one_file = Path(request.json) if request.json and len(modules) == 1 else None
        save_result(layout, result, one_file)  # the record first, then the console
        print(console_table(result, shown=shown))
        print()

    with commands_stopped(request.actions), live_report(sys.stdout) as progress:
        run = grade(
            layout=layout,
            course=course,
            modules=modules,
            submission=submission,
            include_hidden=not request.no_hidden,
            pushed_at=pushed_at,
            integrity=_integrity(request.integrity),
            isolation=isolation,
            notes=tuple(notes) + _hidden_note(request, layout),
            on_result=show,
            progress=progress,
        )
    if request.markdown:
        summary = markdown_summary(run.results, run.preamble)
        Path(request.markdown).write_text(summary, encoding="utf-8", errors="backslashreplace")
    outcome = GradeOutcome(0, run)
    if request.results:
        _write_json(Path(request.results), outcome.combined())
    if request.classroom50:
        _write_json(Path(request.classroom50), classroom50_result(run.results, os.environ))
        body = Path(request.classroom50).with_name("release-body.md")
        body.write_text(release_body(run.results), encoding="utf-8", errors="backslashreplace")
    for line in _console_notes(run, layout, always=request.actions):
        print(f"note: {line}")
    print(points_line(run.results))
    if request.actions:
        print("\n".join(classroom_notices(run.results)))
    return outcome


def print_lines(lines: Iterable[str]) -> None:
    """Print what a step reports, one line each."""
    for line in lines:
        print(line)


def save_result(layout: Layout, result: ModuleResult, path: Path | None = None) -> None:
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


def printing_never_fails() -> None:
    """Printing never fails on what a student wrote."""
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")


def reported(call: Callable[[], Outcome], failed: Callable[[int], Outcome]) -> Outcome:
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
