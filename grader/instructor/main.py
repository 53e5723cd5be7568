"""`python -m grader.instructor <verb>`: the gradebook and the dashboard of a class.

    gradebook  write official.csv, latest.csv, tests.csv, canvas.csv and moodle.csv
    dashboard  write one static HTML page (no external assets, no hidden test source)
    integrity  export each graded module file, a similarity report and suspicious pushes
    synthetic  write a synthetic class (state/ and roster.csv) to try both on

`--state` is the grader repository's `state/` folder, `--roster` Classroom 50's
`roster.csv` (or any CSV with a `username` column; without one, the students `state/`
knows), `--exceptions` its exceptions.yml (default: beside `state/`). A damaged file is
named on the standard error and skipped; the rest is built. Exit status: 0 built, 2 a
configuration error (classroom.yml, exceptions.yml, the roster).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

from grader.course import CourseConfigError, load_course
from grader.instructor.classbook import ClassBook, read_class
from grader.instructor.gradebook import latest_csv, official_csv, per_test_csv
from grader.instructor.lms import canvas_csv, moodle_csv
from grader.instructor.roster import read_roster
from grader.instructor.secrets import Secrets
from grader.layout import Layout
from grader.service.exceptions import load_exceptions
from grader.timestamps import parse_time

GRADEBOOK_FILES = {
    "official.csv": official_csv,
    "latest.csv": latest_csv,
    "canvas.csv": canvas_csv,
    "moodle.csv": moodle_csv,
}


def layout_of(args: argparse.Namespace) -> Layout:
    bundle = Path(args.bundle).resolve() if args.bundle else None
    return Layout(Path(args.root).resolve(), bundle)


def load_book(args: argparse.Namespace) -> ClassBook:
    """The class, with every problem met printed on the standard error."""
    course = load_course(layout_of(args).manifest)
    state = Path(args.state)
    exceptions_file = Path(args.exceptions) if args.exceptions else state.parent / "exceptions.yml"
    exceptions = load_exceptions(exceptions_file, course)
    roster, problems = (None, []) if not args.roster else read_roster(Path(args.roster))
    now = dt.datetime.now(dt.UTC)
    if args.now:
        now = parse_time(args.now) or _refuse(f"--now {args.now!r} is not an ISO 8601 time")
    book = read_class(course, state, roster, now, exceptions)
    book.problems[:0] = problems
    for problem in book.problems:
        print(f"skipped: {problem}", file=sys.stderr)
    return book


def _refuse(message: str) -> dt.datetime:
    raise CourseConfigError(message)


def write_gradebook(book: ClassBook, folder: Path, secrets: Secrets) -> list[Path]:
    """The gradebook's CSV files; tests.csv withholds a message that echoes a secret."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, build in GRADEBOOK_FILES.items():
        (folder / name).write_text(build(book), encoding="utf-8")
        written.append(folder / name)
    (folder / "tests.csv").write_text(per_test_csv(book, secrets.shown), encoding="utf-8")
    return [*written, folder / "tests.csv"]


def main_gradebook(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    book = load_book(args)
    written = write_gradebook(book, Path(args.out), Secrets.of(layout_of(args)))
    seconds = time.perf_counter() - started
    print(
        f"{len(book.students)} students: "
        + ", ".join(str(p) for p in written)
        + f" ({seconds:.2f} s)"
    )
    return 0


def main_dashboard(args: argparse.Namespace) -> int:
    from grader.instructor.dashboard import write_dashboard  # matplotlib: only here

    started = time.perf_counter()
    book = load_book(args)
    written = [write_dashboard(book, layout_of(args), Path(args.out))]
    if args.gradebook:
        written += write_gradebook(book, Path(args.gradebook), Secrets.of(layout_of(args)))
    seconds = time.perf_counter() - started
    print(
        f"{len(book.students)} students: {written[0]}"
        + (f" and {len(written) - 1} gradebook files" if args.gradebook else "")
        + f" ({seconds:.2f} s)"
    )
    return 0


def main_integrity(args: argparse.Namespace) -> int:
    from grader.instructor.integrity import write_review  # fetching brings the engine

    book = load_book(args)
    web = os.environ.get("GITHUB_SERVER_URL", "https://github.com")
    clone_url = args.clone_url or f"{web}/{{repository}}.git"
    token = os.environ.get("GRADER_TOKEN", "")
    problems = write_review(book, layout_of(args), clone_url, token, Path(args.out))
    for problem in problems:
        print(f"not exported: {problem}", file=sys.stderr)
    print(
        f"integrity review of {len(book.students)} students in {args.out}/: files/, "
        "similarity.csv, suspicious.csv"
    )
    return 0


def main_synthetic(args: argparse.Namespace) -> int:
    from grader.instructor.synthetic import write_class  # brings the grading engine

    course = load_course(Layout(Path(args.root).resolve()).manifest)
    now = parse_time(args.now or "") or _refuse("synthetic needs --now (ISO 8601)")
    write_class(course, Path(args.out), args.students, now, args.seed)
    print(f"{args.students} synthetic students in {args.out}/state and {args.out}/roster.csv")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m grader.instructor",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--root", default=".", help="the course (classroom.yml)")
    parser.add_argument(
        "--bundle", help="the grader bundle: its hidden tests and solutions are kept out"
    )
    parser.add_argument("--state", default="state", help="the grader repository's state/")
    parser.add_argument("--roster", help="roster CSV with a username column")
    parser.add_argument("--exceptions", help="exceptions.yml (default: beside --state)")
    parser.add_argument("--now", help="pretend it is this time (ISO 8601)")
    verbs = parser.add_subparsers(dest="verb", required=True)
    gradebook = verbs.add_parser("gradebook", help="write the gradebook CSV files")
    gradebook.add_argument("--out", default="gradebook", help="folder for the CSV files")
    gradebook.set_defaults(run=main_gradebook)
    dashboard = verbs.add_parser("dashboard", help="write the class dashboard (HTML)")
    dashboard.add_argument("--out", default="dashboard/index.html", help="the HTML file")
    dashboard.add_argument("--gradebook", help="also write the gradebook CSV files here")
    dashboard.set_defaults(run=main_dashboard)
    integrity = verbs.add_parser("integrity", help="write an integrity review folder")
    integrity.add_argument("--out", default="integrity", help="the review's folder")
    integrity.add_argument("--clone-url", help="with {repository} for org/name")
    integrity.set_defaults(run=main_integrity)
    synthetic = verbs.add_parser("synthetic", help="write a synthetic class to try these on")
    synthetic.add_argument("--students", type=int, default=500)
    synthetic.add_argument("--seed", type=int, default=0)
    synthetic.add_argument("--out", required=True, help="folder for state/ and roster.csv")
    synthetic.set_defaults(run=main_synthetic)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (CourseConfigError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
