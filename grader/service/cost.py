"""`python -m grader.service cost --students N`: billed Actions minutes a month.

GitHub bills each job of a private repository's workflow rounded up to a whole minute,
and an organization's Team plan includes 3,000 minutes a month. Every workflow of the
course runs in the organization (students' repositories included), so they share them.
The estimate follows the workflows' real job structure:

- the grader repository (grade-students.yml): a `plan` job at every scheduled run
  (hourly, plus 15-minute runs around due times: grader/service/schedule.py); in a run
  with new pushes, `grade` jobs (`delivery.batch_size` students each) and one `publish`;
- at each due time and when its late window closes, every student's module is graded;
- every push on Classroom 50: its autograde workflow's three jobs (set-up, grade with
  our autograder on the visible tests, set-latest); on a plain organization the
  template's own Grade workflow instead;
- `Unlock modules` in each student repository on each release day.

Step times were measured on this project's development machine (2 shared cores,
2026-12-06; GitHub's runners have 4) and are the defaults below:
- installing the environment from a warm pip cache (`python -m venv` + `pip install -r`
  of pyproject's pins): 55 s; restoring it from the Actions cache is a 48 MB archive,
  extracted in 5.5 s (`tar xzf`);
- grading all 9 modules that have tests, solutions as the submission
  (`python -m grader grade --module all --submission solutions`): 68 s with the hidden
  tests (7.5 s a module), 18 s visible only (`--no-hidden`, 2.0 s a module);
- `plan` for 60 repositories on the loopback GitHub (python -S, no environment): 0.3 s;
  on GitHub about 0.2 s a request more (one per repository pushed to).
Times not measurable here are GitHub's documented or observed ones and marked so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from grader.course import Course
from grader.service.config import derived_batch_size
from grader.service.schedule import dense_runs_per_month, unlock_crons

DEFAULT_PUSHES = 4.0
"""Pushes per student a month the table assumes: about one a week, as a module a week is
released (each further push a month costs about 5 minutes a student: Classroom 50's three
jobs and the grader's share)."""
INCLUDED_MINUTES = 3000
"""GitHub Team plan: Actions minutes included a month (private repositories)."""
DAYS_PER_MONTH = 30.4

# Measured here (see the module's note).
VENV_INSTALL_SECONDS = 55.0
VENV_RESTORE_SECONDS = 8.0
HIDDEN_SECONDS_PER_MODULE = 7.5
VISIBLE_SECONDS_PER_MODULE = 2.0
PLAN_SECONDS = 0.3
REQUEST_SECONDS = 0.2
WRITE_SECONDS = 0.75
"""Pacing of content-creating requests (grader/github/client.py: 80 a minute)."""

# Not measurable here: GitHub's runner start and checkout, Classroom 50's set-up.
JOB_START_SECONDS = 10.0
BWRAP_SECONDS = 3.0
CLASSROOM50_SETUP_SECONDS = 30.0
"""The autograde job's own set-up before our autograder: Python, apt, the bundle."""
RELEASE_SECONDS = 5.0


@dataclass(frozen=True)
class Usage:
    """Billed minutes a month, by workflow."""

    students: int
    plan: float
    grading: float
    official: float
    push_grading: float
    unlock: float

    @property
    def total(self) -> float:
        return self.plan + self.grading + self.official + self.push_grading + self.unlock


def billed(seconds: float) -> int:
    """One job's billed minutes: rounded up, at least one."""
    return max(1, math.ceil(seconds / 60.0))


def estimate(
    course: Course,
    students: int,
    pushes_per_student: float,
    platform: str = "classroom50",
    batch_size: int | None = None,
) -> Usage:
    """The month's billed minutes for `students`, each pushing `pushes_per_student` times."""
    batch = batch_size or derived_batch_size()
    modules = _graded_modules(course)
    released = (modules + 1) / 2  # modules open on average over the term
    term_months = _term_months(course)
    runs = 24 * DAYS_PER_MONTH + dense_runs_per_month(course, DAYS_PER_MONTH)
    pushes = students * pushes_per_student
    plan = runs * billed(JOB_START_SECONDS + PLAN_SECONDS + REQUEST_SECONDS * students)

    # Runs that find new pushes (pushes spread over the runs at random), commits in each.
    busy = runs * (1.0 - math.exp(-pushes / runs)) if pushes else 0.0
    per_run = pushes / busy if busy else 0.0
    setup = JOB_START_SECONDS + VENV_RESTORE_SECONDS + BWRAP_SECONDS
    grade_jobs = math.ceil(per_run / batch) if per_run else 0
    commits_per_job = per_run / grade_jobs if grade_jobs else 0.0
    grade = grade_jobs * billed(setup + commits_per_job * released * HIDDEN_SECONDS_PER_MODULE)
    publish = billed(JOB_START_SECONDS + VENV_RESTORE_SECONDS + per_run * 2 * WRITE_SECONDS)
    grading = busy * (grade + publish)

    # At each due time and each late-window end: one module for every student.
    stages = 2 * modules / term_months
    jobs = math.ceil(students / batch)
    stage_grade = jobs * billed(setup + batch * HIDDEN_SECONDS_PER_MODULE)
    stage_publish = billed(JOB_START_SECONDS + VENV_RESTORE_SECONDS + students * WRITE_SECONDS)
    official = stages * (stage_grade + stage_publish)

    visible = released * VISIBLE_SECONDS_PER_MODULE
    if platform == "classroom50":
        autograde = CLASSROOM50_SETUP_SECONDS + VENV_INSTALL_SECONDS + visible + RELEASE_SECONDS
        per_push = 1 + billed(autograde) + 1  # set-up, grade, set-latest
    else:
        per_push = billed(JOB_START_SECONDS + VENV_INSTALL_SECONDS + BWRAP_SECONDS + visible)
    release_days = unlock_crons(course)
    unlock_runs = len(release_days) / term_months if release_days else DAYS_PER_MONTH
    return Usage(
        students=students,
        plan=plan,
        grading=grading,
        official=official,
        push_grading=pushes * per_push,
        unlock=students * unlock_runs,
    )


def table(course: Course, sizes: list[int], pushes_per_student: float, platform: str) -> str:
    """The Markdown table of `estimate` for each class size."""
    lines = [
        "| Students | plan (hourly) | hidden-test grading | official grades | push grading "
        "| unlock | total | of 3,000 |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size in sizes:
        usage = estimate(course, size, pushes_per_student, platform)
        parts = (usage.plan, usage.grading, usage.official, usage.push_grading, usage.unlock)
        cells = " | ".join(f"{part:,.0f}" for part in parts)
        share = f"{usage.total / INCLUDED_MINUTES:.0%}"
        lines.append(f"| {size} | {cells} | **{usage.total:,.0f}** | {share} |")
    return "\n".join(lines) + "\n"


def _graded_modules(course: Course) -> int:
    """Modules this course grades (those with a due date; at least one)."""
    return max(1, len(course.modules))


def _term_months(course: Course) -> float:
    first = min(m.release for m in course.modules)
    last = max(m.due for m in course.modules).date()
    return max(1.0, (last - first).days / DAYS_PER_MONTH)
