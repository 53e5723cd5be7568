"""A student's official grades as Classroom 50 and a spreadsheet show them.

`official_score` turns the grades in `state/` into one scores.json record; `assert_scores`
makes every graded student's entry lead with it (run by `plan` every hour and by
`publish`, so an entry another writer displaced comes back within the hour);
`gradebook_csv` is `state/gradebook.csv`. Standard library only: `plan` runs without an
installed environment.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import time
from collections.abc import Callable

from grader.classroom50.record import OfficialScore, result_row, row_totals
from grader.course import Course
from grader.github.client import GitHub, GitHubError
from grader.github.scores import write_scores
from grader.service.config import Delivery
from grader.service.exceptions import NO_EXCEPTIONS, Exceptions
from grader.service.state import GradingState, RepositoryState
from grader.timestamps import format_time

WEB_URL = "https://github.com"


def official_score(
    course: Course,
    repository: str,
    remembered: RepositoryState,
    web_url: str,
    exceptions: Exceptions = NO_EXCEPTIONS,
) -> OfficialScore:
    """A student's official grades so far, as Classroom 50 rows (whole points); an
    excused module is left out of the rows and the total."""
    rows: list[dict] = []
    latest: tuple[str, dt.datetime | None] = ("", None)
    for module in course.modules:
        grade = remembered.best(module.key)
        if grade is None or exceptions.excused(remembered.student, module.key):
            continue
        rows.append(
            result_row(
                f"{module.dirname} {module.title} (official, {grade.stage})",
                grade.score >= grade.max_score,
                round(grade.score),
                round(grade.max_score),
                commit=grade.commit,
                pushed_at=format_time(grade.pushed_at) if grade.pushed_at else "",
                late_penalty=grade.late_penalty,
            )
        )
        if grade.commit and grade.pushed_at and (latest[1] is None or grade.pushed_at >= latest[1]):
            latest = (grade.commit, grade.pushed_at)
    base = f"{web_url}/{repository}"
    score, max_score = row_totals(rows)
    return OfficialScore(
        owner=remembered.student,
        score=score,
        max_score=max_score,
        tests=tuple(rows),
        commit_url=f"{base}/commit/{latest[0]}" if latest[0] else base,
        feedback_url=f"{base}/issues/{remembered.thread}" if remembered.thread else base,
    )


def assert_scores(
    github: GitHub,
    delivery: Delivery,
    course: Course,
    state: GradingState,
    now: dt.datetime,
    web_url: str = WEB_URL,
    sleep: Callable[[float], None] = time.sleep,
    exceptions: Exceptions = NO_EXCEPTIONS,
) -> tuple[str, list[str]]:
    """Make every student's entry in scores.json lead with their current official grade
    (pending ones, and any another writer displaced or a teacher's "Clear override"
    unflagged); clears `state.scores_pending` when done. Returns (summary, problems)."""
    graded = [name for name, remembered in state.repositories.items() if remembered.official]
    if not graded:
        return "", []
    scores = [
        official_score(course, name, state.repositories[name], web_url, exceptions)
        for name in graded
    ]
    try:
        update = write_scores(
            github,
            delivery.scores_repository,
            delivery.classroom,
            delivery.assignment,
            scores,
            now,
            sleep=sleep,
        )
    except GitHubError as error:
        return "", [f"scores.json not written (official grades kept pending): {error}"]
    state.scores_pending = []
    summary = f"scores.json: {len(update.written)} official grade(s) written"
    if update.displaced:
        summary += ", again for " + ", ".join(update.displaced) + " (another writer replaced them)"
    if update.waited_for_collection:
        summary += f", after waiting {update.waited_for_collection:g} s for a score collection"
    problems = [
        f"{owner}: the teacher's manual override in scores.json stands; official grades "
        "reach it again after Clear override on Classroom 50's submissions page"
        for owner in update.kept_manual
    ]
    return summary, problems


def gradebook_csv(
    course: Course, state: GradingState, exceptions: Exceptions = NO_EXCEPTIONS
) -> str:
    """One row per student: each module's official grade so far ("excused": out of the
    total), and the total."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["student", "repository", *[m.dirname for m in course.modules], "total"])
    for name, remembered in sorted(state.repositories.items()):
        excused = {m.key for m in course.modules if exceptions.excused(remembered.student, m.key)}
        grades = [None if m.key in excused else remembered.best(m.key) for m in course.modules]
        cells = [
            "excused" if m.key in excused else "" if g is None else f"{g.score:g}"
            for m, g in zip(course.modules, grades, strict=True)
        ]
        total = sum(g.score for g in grades if g is not None)
        writer.writerow([remembered.student, name, *cells, f"{total:g}"])
    return out.getvalue()
