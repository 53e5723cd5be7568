"""`tito`, the course command: one `main_<verb>` per verb over the code the Make targets
run, so `tito grade 05` and `make grade MODULE=05` are the same grading.

    tito status [--json]            every module: state, dates, last local score; milestones
    tito grade [05 [06 ...]|all] [--json]   no module: the one whose folder you are in,
                                    else the one not yet passing that is due first
    tito sync 05 [--from py|notebook]
    tito milestone [03] [-- script arguments]
    tito notebook [05]              JupyterLab on your modules (installed on first use)
    tito doctor [--json]            is this machine ready, and what to do next
    tito update                     bring in released modules and the course's new given
                                    code (saves and merges your work)
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

from grader.assign.status import (
    CURRENT,
    LOCKED,
    NOT_PUBLISHED,
    UNLOCKED,
    CourseStatus,
    ModuleStatus,
    course_status,
    module_state,
    score_text,
)
from grader.assign.update import UpdateError, update
from grader.course import Course, CourseConfigError, ModuleSpec, load_course, not_published
from grader.layout import Layout
from grader.tito import render
from grader.tito.doctor import diagnose


class TitoError(Exception):
    """A request tito cannot carry out; the message says what to do instead."""


def _now(course: Course, text: str | None) -> dt.datetime | None:
    """`--now` (tests pin the clock): an ISO time, in the course's zone unless it names one."""
    if not text:
        return None
    moment = dt.datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=course.policies.timezone)


def _module(layout: Layout, course: Course, key: str, today: dt.date) -> ModuleSpec:
    """The module `key` if it is in the student's repository, else a TitoError saying why."""
    try:
        module = course.module(key)
    except CourseConfigError:
        known = f"{course.modules[0].key}-{course.modules[-1].key}"
        raise TitoError(
            f"there is no module {key!r} in this course (modules {known}); `tito status` lists them"
        ) from None
    state = module_state(layout, module, today)
    if state == LOCKED:
        raise TitoError(
            f"module {module.key} ({module.title}) is locked until {module.release}; on that "
            "day, `tito update` (or `make update`) brings it into your repository"
        )
    if state == NOT_PUBLISHED:
        raise TitoError(not_published(module))
    if state != UNLOCKED:
        raise TitoError(
            f"module {module.key} ({module.title}) was released on {module.release} but is not "
            "in your repository yet: run `tito update` (or `make update`) to bring it in"
        )
    return module


def _module_here(layout: Layout, course: Course, folder: Path) -> str:
    """The module whose folder (assignments/NN_slug/ or below) `folder` is in; else
    `current`, the module the student is working on."""
    try:
        parts = folder.resolve().relative_to(layout.assignments.resolve()).parts
    except ValueError:
        return CURRENT
    dirnames = {m.dirname: m.key for m in course.modules}
    return dirnames.get(parts[0], CURRENT) if parts else CURRENT


def print_status(status: CourseStatus) -> None:
    """The status tables and the next step, for people."""
    render.table(
        f"{status.course} (today: {status.today})",
        ["Module", "Title", "State", "Release", "Due", "Hand-in now", "Points", "Last score here"],
        [
            [m.key, m.title, m.state, m.release, m.due, _hand_in(m), f"{m.points:g}",
             score_text(m.last_score)]
            for m in status.modules
        ],
    )  # fmt: skip
    for line in status.rules:
        print(line)
    print()
    render.table(
        "Milestones (tito milestone NN)",
        ["Milestone", "Title", "Needs modules", "Ready"],
        [
            [
                m.key,
                m.title,
                ", ".join(m.modules),
                "ready" if m.ready else "not yet: finish " + ", ".join(m.missing),
            ]
            for m in status.milestones
        ],
    )
    render.next_step(status.next_step)


def _hand_in(module: ModuleStatus) -> str:
    """The window of a module the student has; nothing for one still to come."""
    return module.hand_in if module.state == UNLOCKED or module.window != "open" else ""


def main_status(
    *, layout: Layout, course: Course, today: dt.date, now: dt.datetime | None, as_json: bool
) -> int:
    status = course_status(layout, course, today, now)
    if as_json:
        print(status.to_json())
    else:
        print_status(status)
    return 0


def main_doctor(*, layout: Layout, course: Course, today: dt.date, as_json: bool) -> int:
    diagnosis = diagnose(layout, course, today)
    if as_json:
        print(diagnosis.to_json())
    else:
        render.table(
            "tito doctor",
            ["Check", "Result", "Detail", "What to do"],
            [[c.name, c.outcome, c.detail, c.fix] for c in diagnosis.checks],
        )
        render.next_step(diagnosis.next_step)
    return 0 if diagnosis.healthy else 1


def main_grade(
    *, layout: Layout, course: Course, today: dt.date, keys: list[str], as_json: bool
) -> int:
    from grader.grade_verb import GradeRequest
    from grader.grade_verb import main_grade as grade_modules

    keys = keys or [_module_here(layout, course, Path.cwd())]
    if keys not in (["all"], [CURRENT]):
        keys = [_module(layout, course, key, today).key for key in keys]
    request = GradeRequest(modules=keys)
    if not as_json:  # grading says itself how it goes (grader/report/live.py)
        return grade_modules(layout=layout, course=course, request=request).code
    with contextlib.redirect_stdout(sys.stderr):  # stdout carries the JSON only
        outcome = grade_modules(layout=layout, course=course, request=request)
    if outcome.run is not None:
        print(json.dumps(outcome.combined(), indent=2))
    return outcome.code


def main_sync(
    *, layout: Layout, course: Course, today: dt.date, key: str, prefer: str | None
) -> int:
    from grader.cli import main as grader_main

    module = _module(layout, course, key, today)
    return grader_main(
        ["--root", str(layout.root), "sync", "--module", module.key]
        + (["--from", prefer] if prefer else [])
    )


def main_milestone(*, layout: Layout, key: str | None, script_args: list[str]) -> int:
    """Run `python -m milestones` in a process of its own: the milestone's BLAS settings
    must be made before NumPy loads, and `milestones` imports `grader`, never the reverse."""
    argv = ["--list"] if key is None else [key, *(["--", *script_args] if script_args else [])]
    code = subprocess.run(
        [sys.executable, "-I", "-m", "milestones", *argv], cwd=layout.root, check=False
    ).returncode
    if key is None:
        print("Run one with: tito milestone 01", flush=True)
    return code


def main_notebook(*, layout: Layout, course: Course, today: dt.date, key: str | None) -> int:
    from grader.cli import main as grader_main

    module = ["--module", _module(layout, course, key, today).key] if key else []
    return grader_main(["--root", str(layout.root), "notebook", *module])


def main_update(*, layout: Layout, course: Course, today: dt.date) -> int:
    """Fetch and merge the released modules, unlock today's here, rebuild tinytorch/."""
    from grader.cli import refresh_package

    try:
        update(layout, course, today, say=lambda line: print(line, flush=True))
    except UpdateError as error:
        print(f"tito update: {error}", file=sys.stderr)
        return 1
    refresh_package(layout, course)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tito", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--root", help="your course repository (default: this one)")
    parser.add_argument("--today", help=argparse.SUPPRESS)  # tests pin the calendar
    parser.add_argument("--now", help=argparse.SUPPRESS)  # ... or the clock (ISO time)
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="command")
    status = verbs.add_parser("status", help="every module and milestone, and what is next")
    status.add_argument("--json", action="store_true", help="print JSON instead of tables")
    grade = verbs.add_parser("grade", help="grade modules with their visible tests")
    grade.add_argument(
        "modules",
        nargs="*",
        metavar="NN",
        help="modules (05, 5, autograd or 05_autograd), or all; none: the module folder you "
        "are in, else the module you are working on",
    )
    grade.add_argument("--json", action="store_true", help="print the results as JSON")
    sync = verbs.add_parser("sync", help="sync a module file and its notebook")
    sync.add_argument("module", metavar="NN")
    sync.add_argument("--from", dest="prefer", choices=["py", "notebook"])
    milestone = verbs.add_parser("milestone", help="run a historical milestone on your code")
    milestone.add_argument("milestone", nargs="?", metavar="NN")
    notebook = verbs.add_parser("notebook", help="open JupyterLab on your modules")
    notebook.add_argument("module", nargs="?", metavar="NN")
    doctor = verbs.add_parser("doctor", help="check this machine and say what to do next")
    doctor.add_argument("--json", action="store_true", help="print JSON instead of a table")
    verbs.add_parser(
        "update",
        help="bring in released modules and new given code, whatever you changed (never "
        "loses work)",
    )
    return parser


def _dispatch(args: argparse.Namespace, script_args: list[str]) -> int:
    layout = Layout(Path(args.root).resolve()) if args.root else Layout()
    if args.verb == "milestone":
        return main_milestone(layout=layout, key=args.milestone, script_args=script_args)
    course = load_course(layout.manifest)
    now = _now(course, args.now)
    today = now.astimezone(course.policies.timezone).date() if now else course.today(args.today)
    common = {"layout": layout, "course": course, "today": today}
    if args.verb == "status":
        return main_status(**common, now=now, as_json=args.json)
    if args.verb == "doctor":
        return main_doctor(**common, as_json=args.json)
    if args.verb == "grade":
        return main_grade(**common, keys=args.modules, as_json=args.json)
    if args.verb == "sync":
        return main_sync(**common, key=args.module, prefer=args.prefer)
    if args.verb == "update":
        return main_update(**common)
    return main_notebook(**common, key=args.module)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    split = argv.index("--") if "--" in argv else len(argv)
    args = build_parser().parse_args(argv[:split])
    try:
        return _dispatch(args, argv[split + 1 :])
    except (TitoError, CourseConfigError) as error:
        print(f"tito: {error}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as error:
        print(
            f"tito: the course environment is missing {error.name!r}: run `make venv` in your "
            "repository, then use .venv/bin/tito",
            file=sys.stderr,
        )
        return 2
