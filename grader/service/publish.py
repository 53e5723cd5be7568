"""Publish a run's results: feedback to students, official grades to the gradebook.

For each student repository, in the plan's order: record the official grades its jobs
decided (on-time stages before final ones) and save them, pending for scores.json, before
any network call; then post the hidden-test feedback of its newest commit as a comment on
the Feedback pull request (or the grader's issue) and a commit status, and save the
state. A failure to talk to GitHub about one repository is reported and its feedback
retried next run; the others go on. Then, on Classroom 50, every student's entry in
scores.json is made to lead with their official grades (grader/service/gradebook.py);
the state keeps them pending until that write succeeds. Each graded push's results go to
`state/pushes/<student>.json` (grader/service/history.py). `state/gradebook.csv` is
rewritten every run (the gradebook of a plain organization, and a copy for Classroom 50).
Per-student exceptions (exceptions.yml) decide each grade's due time and what counts;
each student is told once about an exception granted to them (grader/service/announce.py).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from grader.course import Course
from grader.github.client import GitHub, GitHubError
from grader.github.repos import feedback_thread, post_comment, post_status
from grader.service.announce import announce_exceptions
from grader.service.batch import JobResult
from grader.service.config import Delivery
from grader.service.exceptions import NO_EXCEPTIONS, Exceptions
from grader.service.feedback import comment, official_line, status_line
from grader.service.gradebook import WEB_URL, assert_scores, gradebook_csv
from grader.service.history import record_pushes
from grader.service.official import not_graded_reason, official_grade
from grader.service.plan import Plan, Seen
from grader.service.state import (
    MAX_ATTEMPTS,
    GradingState,
    OfficialGrade,
    RepositoryState,
    Stage,
    save_state,
)
from grader.timestamps import format_time

GIVEN_UP = "The grader could not grade this commit after 3 tries; your instructors see why"


@dataclass
class PublishReport:
    feedback: list[str] = field(default_factory=list)
    official: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    scores: str = ""

    def markdown(self, plan: Plan, github: GitHub) -> str:
        lines = ["## TinyTorch grading run", ""]
        lines += [f"- {line}" for line in plan.report]
        lines += [f"- feedback published for {len(self.feedback)} commit(s)"]
        lines += [f"- official grades recorded: {len(self.official)}"]
        if self.scores:
            lines.append(f"- {self.scores}")
        lines.append(f"- {github.stats.summary()}")
        if self.problems:
            lines += ["", "### Problems (retried next run)", ""]
            lines += [f"- {problem}" for problem in self.problems]
        return "\n".join(lines) + "\n"


def publish(
    *,
    github: GitHub,
    delivery: Delivery,
    course: Course,
    plan: Plan,
    results: Sequence[JobResult],
    state: GradingState,
    state_path: Path,
    now: dt.datetime,
    web_url: str = WEB_URL,
    scores_github: GitHub | None = None,
    exceptions: Exceptions = NO_EXCEPTIONS,
) -> PublishReport:
    """Publish `results` of `plan`; `scores_github` writes scores.json (default: `github`)."""
    report = PublishReport()
    planned = {job.repository for batch in plan.batches for job in batch}
    for name, seen in plan.seen.items():
        if name not in planned:  # nothing to grade: remember the history was read
            _remember(state, name, seen)
    for repository in dict.fromkeys(r.job.repository for r in results):
        items = [r for r in results if r.job.repository == repository]
        remembered = state.repository(repository, items[0].job.student)
        # Official grades are saved, and queued for scores.json, before any network call:
        # a comment or status that fails cannot lose them.
        recorded = _record_official(course, exceptions, items, remembered, now, report)
        if plan.request:  # a regrade: the students read why
            recorded = _regraded(recorded, remembered, plan.request["reason"])
        failed = _count_failures(course, items, remembered, report)
        if recorded and repository not in state.scores_pending:
            state.scores_pending.append(repository)
        save_state(state, state_path)
        report.problems += record_pushes(state_path.parent / "pushes", items)
        try:
            _publish_repository(github, items, remembered, recorded, failed, report)
        except GitHubError as error:
            report.problems.append(f"{repository}: {error}")
            continue
        if repository in plan.seen:
            _remember(state, repository, plan.seen[repository])
        save_state(state, state_path)
    report.problems += announce_exceptions(github, course, exceptions, state, state_path)
    if delivery.platform == "classroom50":
        report.scores, problems = assert_scores(
            scores_github or github, delivery, course, state, now, web_url, exceptions=exceptions
        )
        report.problems += problems
    save_state(state, state_path)
    if plan.request:
        _log_regrade(state_path.parent / "regrades.jsonl", plan.request, now, report)
    book = gradebook_csv(course, state, exceptions)
    (state_path.parent / "gradebook.csv").write_text(book, "utf-8")
    return report


def _regraded(
    recorded: list[tuple[str, OfficialGrade]], remembered: RepositoryState, reason: str
) -> list[tuple[str, OfficialGrade]]:
    """The grades a regrade recorded, each noting why (in state/ and the comment)."""
    noted = []
    for key, grade in recorded:
        grade = replace(grade, note=f"Regraded: {reason}. {grade.note}".strip())
        remembered.official[key][grade.stage] = grade
        noted.append((key, grade))
    return noted


def _log_regrade(path: Path, request: dict, now: dt.datetime, report: PublishReport) -> None:
    """Append the regrade to `state/regrades.jsonl`: when, who asked, why, what changed."""
    entry = {"at": format_time(now), **request, "recorded": report.official}
    with open(path, "a", encoding="utf-8") as log:
        log.write(json.dumps(entry, sort_keys=True) + "\n")


def _remember(state: GradingState, name: str, seen: Seen) -> None:
    remembered = state.repository(name, seen.student)
    remembered.listed_push, remembered.head = seen.listed_push, seen.head
    remembered.head_pushed_at = seen.head_pushed_at


def _count_failures(
    course: Course, items: list[JobResult], remembered: RepositoryState, report: PublishReport
) -> list[str]:
    """Count each commit that could not be graded, or left a module it is the official
    candidate for "not graded"; returns the commits that just reached MAX_ATTEMPTS."""
    given_up = []
    for item in items:
        candidates = {course.module(key).dirname for key, _ in item.job.official}
        reason = item.error or not_graded_reason(
            [r for r in item.results if r.module in candidates]
        )
        if not reason or not item.job.sha:
            continue
        sha = item.job.sha
        report.problems.append(f"{item.job.repository} {sha[:7]}: {reason}")
        remembered.failures[sha] = remembered.failures.get(sha, 0) + 1
        if remembered.failures[sha] == MAX_ATTEMPTS:
            given_up.append(sha)
    return given_up


def _publish_repository(
    github: GitHub,
    items: list[JobResult],
    remembered: RepositoryState,
    recorded: list[tuple[str, OfficialGrade]],
    given_up: list[str],
    report: PublishReport,
) -> None:
    """Post feedback for one repository: statuses, the comment, official grades taken."""
    repository = items[0].job.repository
    for sha in given_up:
        post_status(github, repository, sha, "error", GIVEN_UP)
    graded = [item for item in items if item.job.feedback and not item.error]
    if (graded or recorded) and not remembered.thread:
        remembered.thread = feedback_thread(github, repository)
    pending = list(recorded)
    for item in graded:
        body = comment(item.job.sha, item.job.pushed_at, item.results, pending)
        url = post_comment(github, repository, remembered.thread, body)
        state, description = status_line(item.results)
        post_status(github, repository, item.job.sha, state, description, url)
        remembered.published = item.job.sha
        report.feedback.append(f"{repository} {item.job.sha[:7]}")
        pending = []
    if pending:  # official grades taken without a new push to comment on
        lines = [official_line(key, grade) for key, grade in pending]
        body = "### TinyTorch grader: official grades\n\n" + "\n".join(lines) + "\n"
        post_comment(github, repository, remembered.thread, body)


def _record_official(
    course: Course,
    exceptions: Exceptions,
    items: list[JobResult],
    remembered: RepositoryState,
    now: dt.datetime,
    report: PublishReport,
) -> list[tuple[str, OfficialGrade]]:
    """Decide the official grades these results allow (on-time stages first)."""
    repository = items[0].job.repository
    stages = sorted(
        (
            (item, key, stage)
            for item in items
            if not item.error
            for key, stage in item.job.official
        ),
        key=lambda entry: (entry[2] != Stage.ON_TIME, entry[1]),
    )
    recorded = []
    for item, key, stage in stages:
        if exceptions.excused(remembered.student, key):
            continue
        module = exceptions.module_for(remembered.student, course.module(key))
        result = next((r for r in item.results if r.module == module.dirname), None)
        on_time = remembered.official.get(key, {}).get(Stage.ON_TIME)
        pushed_at = item.job.judged_at(key)
        bank = course.policies.late_day_bank - remembered.late_days_used(besides=key)
        grade = official_grade(
            stage, module, course, item.job.sha, pushed_at, result, on_time, now, max(0, bank)
        )
        if grade is None:
            report.problems.append(f"{repository}: module {key} ({stage}) not decided yet")
            continue
        remembered.official.setdefault(key, {})[stage] = grade
        recorded.append((key, grade))
        report.official.append(f"{repository} {key} {stage}: {grade.score:g}")
    return recorded
