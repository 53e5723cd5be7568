"""`python -I -m grader.service <verb>`: what the grader repository's workflow runs.

    plan         list the students' repositories, decide which commits to grade, write
                 plan.json and the matrix of batches (`batches=[0, 1, ...]`)
    grade-batch  grade one batch of the plan with the hidden tests, isolated
    publish      post feedback and statuses, record official grades, write scores.json
                 (Classroom 50) and state/gradebook.csv, save state/grading.json
    regrade      a teacher's regrade (`--module NN|all [--student X] --by WHO --why WHY`):
                 plan, grade and publish it in one go, into state/, scores.json and the
                 gradebook; state/regrades.jsonl records who asked, why and what changed
    sync-files   push the course's protected files (tests, engine, workflows, classroom.yml)
                 to every student repository, one commit (or `--pull-request`) each,
                 idempotent and resumable
    cost         estimate the billed Actions minutes a month (`--students N`)

`--root` is the course (classroom.yml, the engine, the visible tests), `--bundle` the
hidden tests and reference solutions, `--exceptions` the reviewed per-student exceptions
(default: exceptions.yml beside the state/ folder, at the grader repository's root;
grader/service/exceptions.py). The token comes from the environment: `GRADER_TOKEN`
(student repositories), `SCORES_TOKEN` (Classroom 50's config repository; defaults to
GRADER_TOKEN). Exit status: 0 done (problems with single repositories are reported in
the summary and retried next run), 2 a configuration or GitHub failure that stops the
whole run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

from grader.course import Course, CourseConfigError, load_course
from grader.github.client import GitHub, GitHubError
from grader.layout import Layout
from grader.remote.isolation import IsolationError, choose
from grader.service.config import GRADE_JOB_MINUTES, JOB_SETUP_SECONDS, load_delivery
from grader.service.cost import DEFAULT_PUSHES, table
from grader.service.exceptions import Exceptions, drop_stale_stages, load_exceptions
from grader.service.gradebook import assert_scores
from grader.service.plan import ALL_MODULES, Plan, Regrade, make_plan
from grader.service.state import GradingState, StateError, load_state
from grader.timestamps import parse_time


def _github(args: argparse.Namespace, variable: str = "GRADER_TOKEN") -> GitHub:
    token = os.environ.get(variable) or os.environ.get("GRADER_TOKEN", "")
    if not token:
        raise CourseConfigError(
            f"no token: set the grader repository's secret {variable} (see the README, "
            "'The grader repository')"
        )
    return GitHub(token, api_url=args.api_url)


def _now(args: argparse.Namespace) -> dt.datetime:
    if not args.now:
        return dt.datetime.now(dt.UTC)
    moment = parse_time(args.now)
    if moment is None:
        raise CourseConfigError(f"--now {args.now!r} is not an ISO 8601 time")
    return moment


def _regrade(args: argparse.Namespace, course: Course) -> Regrade | None:
    """The regrade asked for (`--module NN` or `all`, `--student` or everyone), with who
    asked (`--by`) and why (`--why`): both required, they go on the record."""
    student, module = getattr(args, "student", None) or "", getattr(args, "module", None) or ""
    if not module:
        if student:
            raise CourseConfigError("a regrade needs --module (a module like 03, or all)")
        return None
    if module != ALL_MODULES:
        module = course.module(module).key  # refuses a module the course does not have
    by, why = (getattr(args, "by", None) or "").strip(), (getattr(args, "why", None) or "").strip()
    if not by or not why:
        raise CourseConfigError("a regrade needs --by (who asked) and --why (the reason)")
    return Regrade(student, module, by, why)


def exceptions_path(args: argparse.Namespace) -> Path:
    """exceptions.yml: as given, else beside the state/ folder (the grader repository)."""
    return Path(args.exceptions) if args.exceptions else args.state.parent.parent / "exceptions.yml"


def load_class(args: argparse.Namespace, course: Course) -> tuple[GradingState, Exceptions]:
    """The saved state with the exceptions applied: a stage taken against a due time that
    moved since is forgotten (taken again), said on the output."""
    state = load_state(args.state)
    exceptions = load_exceptions(exceptions_path(args), course)
    for line in drop_stale_stages(state, course, exceptions):
        print(line)
    return state, exceptions


def main_plan(args: argparse.Namespace, layout: Layout) -> int:
    course = load_course(layout.manifest)
    delivery = load_delivery(layout.manifest)
    github = _github(args)
    state, exceptions = load_class(args, course)
    regrade = _regrade(args, course)
    plan = make_plan(github, delivery, course, layout, state, _now(args), regrade, exceptions)
    Path(args.out).write_text(plan.to_json(), encoding="utf-8")
    print("\n".join(plan.report))
    if delivery.platform == "classroom50" and not plan.batches:
        # Nothing for `publish` this run: re-assert the official grades in scores.json here.
        scores, problems = assert_scores(
            _github(args, "SCORES_TOKEN"),
            delivery,
            course,
            state,
            _now(args),
            args.web_url,
            exceptions=exceptions,
        )
        print("\n".join(line for line in (scores, *problems) if line))
    if args.github_output:
        with open(args.github_output, "a", encoding="utf-8") as output:
            output.write(f"batches={list(range(len(plan.batches)))}\n")
    return 0


def main_grade_batch(args: argparse.Namespace, layout: Layout) -> int:
    from grader.service.batch import grade_batch  # NumPy: not needed by `plan`

    course = load_course(layout.manifest)
    plan = Plan.from_json(Path(args.plan).read_text(encoding="utf-8"))
    if not 0 <= args.batch < len(plan.batches):
        raise CourseConfigError(f"the plan has {len(plan.batches)} batch(es), not {args.batch}")
    token = os.environ.get("GRADER_TOKEN", "")
    grade_batch(
        jobs=plan.batches[args.batch],
        layout=layout,
        course=course,
        clone_url=args.clone_url or f"{args.web_url}/{{repository}}.git",
        token=token,
        isolation=choose(required=True),
        out=Path(args.out),
        deadline=time.monotonic() + args.time_budget,
    )
    return 0


def main_publish(args: argparse.Namespace, layout: Layout) -> int:
    from grader.service.batch import read_batches  # NumPy: not needed by `plan`
    from grader.service.publish import publish

    course = load_course(layout.manifest)
    delivery = load_delivery(layout.manifest)
    plan = Plan.from_json(Path(args.plan).read_text(encoding="utf-8"))
    files = sorted(Path(args.results).glob("**/batch-*.json"))
    results, unreadable = read_batches(files)
    graded = {(r.job.repository, r.job.sha) for r in results}
    missing = [
        f"{job.repository} {job.sha[:7]}: its batch left no results (graded again next run)"
        for batch in plan.batches
        for job in batch
        if (job.repository, job.sha) not in graded
    ]
    github = _github(args)
    state, exceptions = load_class(args, course)
    report = publish(
        github=github,
        delivery=delivery,
        course=course,
        plan=plan,
        results=results,
        state=state,
        state_path=args.state,
        now=_now(args),
        web_url=args.web_url,
        scores_github=_github(args, "SCORES_TOKEN"),
        exceptions=exceptions,
    )
    report.problems += unreadable + missing
    summary = report.markdown(plan, github)
    print(summary)
    if args.summary:
        with open(args.summary, "a", encoding="utf-8") as output:
            output.write(summary)
    return 0


def main_regrade(args: argparse.Namespace, layout: Layout) -> int:
    """Plan, grade and publish a regrade: the same three steps as a run."""
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    args.out, args.github_output = str(work / "plan.json"), ""
    main_plan(args, layout)
    batches = len(Plan.from_json((work / "plan.json").read_text(encoding="utf-8")).batches)
    args.plan, args.results = str(work / "plan.json"), str(work / "results")
    for index in range(batches):
        args.batch, args.out = index, str(work / "results" / f"batch-{index}.json")
        main_grade_batch(args, layout)
    return main_publish(args, layout)


def main_sync(args: argparse.Namespace, layout: Layout) -> int:
    from grader.github.repos import student_repositories
    from grader.service.sync import course_files, sync_all

    delivery = load_delivery(layout.manifest)
    github = _github(args)
    repositories = student_repositories(github, delivery.organization, delivery.student_of)
    report = sync_all(
        repositories,
        args.clone_url or f"{args.web_url}/{{repository}}.git",
        os.environ.get("GRADER_TOKEN", ""),
        course_files(layout),
        args.message,
        args.state.parent / "sync.json",
        github if args.pull_request else None,
    )
    print(
        f"{len(report.updated)} repositories updated, {len(report.unchanged)} already had "
        f"the files, {len(report.skipped)} synced by an earlier run"
    )
    print("\n".join(report.problems))
    return 0


def main_cost(args: argparse.Namespace, layout: Layout) -> int:
    course = load_course(layout.manifest)
    platform = args.platform or load_delivery(layout.manifest).platform
    sizes = args.students or [30, 60, 200, 500]
    print(
        f"Billed Actions minutes a month ({platform}; {args.pushes:g} pushes per student a "
        f"month; {len(course.modules)} modules; measured step times: grader/service/cost.py)"
    )
    print()
    print(table(course, sizes, args.pushes, platform), end="")
    return 0


def _regrade_arguments(parser: argparse.ArgumentParser, required: bool) -> None:
    parser.add_argument("--student", help="GitHub username (default: every student)")
    parser.add_argument("--module", required=required, help="the module (03), or all")
    parser.add_argument("--by", help="who asked for the regrade (recorded)")
    parser.add_argument("--why", help="why (recorded, and told to the students regraded)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m grader.service",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--root", default=".", help="the course: classroom.yml, grader/, starter/ (default: .)"
    )
    parser.add_argument("--bundle", help="hidden tests and reference solutions (default: --root)")
    parser.add_argument("--state", type=Path, default=Path("state/grading.json"))
    parser.add_argument(
        "--exceptions", help="per-student exceptions (default: exceptions.yml beside state/)"
    )
    parser.add_argument(
        "--api-url", default=os.environ.get("GITHUB_API_URL", "https://api.github.com")
    )
    parser.add_argument(
        "--web-url", default=os.environ.get("GITHUB_SERVER_URL", "https://github.com")
    )
    parser.add_argument("--now", help="pretend it is this time (ISO 8601; for dry runs)")
    verbs = parser.add_subparsers(dest="verb", required=True)
    plan = verbs.add_parser("plan", help="decide which commits to grade")
    plan.add_argument("--out", default="plan.json")
    plan.add_argument("--github-output", default=os.environ.get("GITHUB_OUTPUT"))
    _regrade_arguments(plan, required=False)
    plan.set_defaults(run=main_plan)
    batch = verbs.add_parser("grade-batch", help="grade one batch of the plan")
    batch.add_argument("--plan", default="plan.json")
    batch.add_argument("--batch", type=int, required=True)
    batch.add_argument("--out", required=True, help="results file (results/batch-N.json)")
    batch.add_argument("--clone-url", help="with {repository} for org/name (default: web URL)")
    batch.add_argument(
        "--time-budget",
        type=float,
        default=GRADE_JOB_MINUTES * 60 - JOB_SETUP_SECONDS,
        help="seconds this job may grade; no commit starts that could end later",
    )
    batch.set_defaults(run=main_grade_batch)
    publish_verb = verbs.add_parser("publish", help="post feedback, record official grades")
    publish_verb.add_argument("--plan", default="plan.json")
    publish_verb.add_argument("--results", default="results")
    publish_verb.add_argument("--summary", default=os.environ.get("GITHUB_STEP_SUMMARY"))
    publish_verb.set_defaults(run=main_publish)
    regrade = verbs.add_parser("regrade", help="regrade modules officially, on the record")
    _regrade_arguments(regrade, required=True)
    regrade.add_argument("--work", default="regrade", help="folder for plan and results")
    regrade.add_argument("--clone-url", help="with {repository} for org/name")
    regrade.add_argument("--time-budget", type=float, default=24 * 3600.0)
    regrade.add_argument("--summary", default=os.environ.get("GITHUB_STEP_SUMMARY"))
    regrade.set_defaults(run=main_regrade)
    sync = verbs.add_parser("sync-files", help="push protected files to every student")
    sync.add_argument("--message", required=True, help="the commit message students see")
    sync.add_argument("--clone-url", help="with {repository} for org/name")
    sync.add_argument(
        "--pull-request", action="store_true", help="open a pull request each, not a commit"
    )
    sync.set_defaults(run=main_sync)
    cost = verbs.add_parser("cost", help="estimate the billed Actions minutes a month")
    cost.add_argument("--students", type=int, nargs="+", help="class sizes (30 60 200 500)")
    cost.add_argument(
        "--pushes", type=float, default=DEFAULT_PUSHES, help="pushes per student a month"
    )
    cost.add_argument("--platform", choices=("classroom50", "organization"))
    cost.set_defaults(run=main_cost)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    root = Path(args.root).resolve()
    bundle = Path(args.bundle).resolve() if args.bundle else None
    layout = Layout(root, bundle)
    try:
        return args.run(args, layout)
    except (CourseConfigError, GitHubError, IsolationError, StateError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
