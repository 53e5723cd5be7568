"""A synthetic class, written with the grader repository's own writers (state/grading.json
through `save_state`, state/pushes/ through `record_pushes`), to try the gradebook and
the dashboard on, and to time them (`python -m grader.instructor synthetic`).

Each student has a skill and a habit (early, on time, late); each released module gets
pushes around its due time whose tests pass more as work goes on. Some never accept,
some time out, some hand in late. The same seed writes the same class.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

from grader.course import Course, ModuleSpec
from grader.report.results import ModuleResult, TestResult
from grader.service.batch import JobResult
from grader.service.history import record_pushes
from grader.service.plan import Job
from grader.service.state import GradingState, OfficialGrade, Stage, save_state
from grader.timestamps import format_time

TESTS_PER_MODULE = 8
TASKS_PER_MODULE = 4
MESSAGES = (
    "expected shape (2, 3), got (3, 2)",
    "values differ from the reference: max abs error 0.5 > 1e-06",
    "NotImplementedError: 'forward' is still a stub",
    "the gradient of the input is None: backward did not reach it",
)
TIMEOUT = "Your code did not finish within this test's 20 s time limit, so it was stopped."
TIMEOUT_RATE = 0.01
"""A failing test's chance of having hit its time limit."""


def _module_result(module: ModuleSpec, passing: int, rng: random.Random, now: str) -> ModuleResult:
    points = module.points / TESTS_PER_MODULE
    tests = []
    for index in range(TESTS_PER_MODULE):
        passed = index < passing
        task = f"{module.key}.{index % TASKS_PER_MODULE + 1}"
        message = "" if passed else MESSAGES[(index + module.number) % len(MESSAGES)]
        if not passed and rng.random() < TIMEOUT_RATE:
            message = TIMEOUT
        hidden = index % 2 == 1
        place = "hidden" if hidden else "visible"
        nodeid = f"tests/{place}/test_{module.slug}.py::test_case_{index}"
        tests.append(
            TestResult(
                nodeid, task, points if passed else 0.0, points, passed, message, hidden, 0.01
            )
        )
    return ModuleResult(
        module.dirname, module.title, tuple(tests), module.points, 1.0, now, isolation="bubblewrap"
    )


def write_class(
    course: Course, folder: Path, students: int, now: dt.datetime, seed: int = 0
) -> None:
    """Write `folder`/state/ and `folder`/roster.csv for `students` students."""
    rng = random.Random(seed)
    state = GradingState()
    roster = ["username,first_name,last_name,email,section,github_id,role"]
    pushes_folder = folder / "state" / "pushes"
    stamp = format_time(now)
    for number in range(students):
        username = f"student{number:04d}"
        roster.append(
            f"{username},First{number},Last{number},{username}@example.edu,"
            f"S{number % 4 + 1},{1000 + number},student"
        )
        if rng.random() < 0.04:
            continue  # never accepted
        repository = f"course/ml-tinytorch-{username}"
        remembered = state.repository(repository, username)
        skill, habit = rng.uniform(0.3, 1.0), rng.choice((-3.0, 0.0, 0.0, 1.5))
        items = []
        progress: dict[str, int] = {}
        last_push: dict[str, tuple[str, dt.datetime]] = {}
        released = [m for m in course.modules if m.due - dt.timedelta(days=13) < now]
        for module in released:
            for step in range(rng.randint(1, 3)):
                offset = dt.timedelta(days=habit - 2 + step + rng.uniform(-1, 1))
                pushed = module.due + offset
                if pushed >= now:
                    continue
                goal = round(TESTS_PER_MODULE * min(1.0, skill + 0.2 * step))
                progress[module.key] = max(progress.get(module.key, 0), goal)
                modules = [m for m in released if m.key in progress]
                results = tuple(_module_result(m, progress[m.key], rng, stamp) for m in modules)
                sha = f"{rng.getrandbits(160):040x}"
                job = Job(
                    repository, username, sha, pushed, tuple(m.key for m in modules), feedback=True
                )
                items.append(JobResult(job, results, seconds=rng.uniform(40, 200)))
                last_push[module.key] = (sha, pushed)
                if module.due < now and pushed <= module.due:
                    score = progress[module.key] * module.points / TESTS_PER_MODULE
                    grade = OfficialGrade(
                        Stage.ON_TIME, sha, pushed, score, module.points, 0.0, "", now, module.due
                    )
                    remembered.official[module.key] = {Stage.ON_TIME: grade}
        for module in released:
            if module.due < now and module.key not in remembered.official:
                late = progress.get(module.key, 0) * module.points / TESTS_PER_MODULE
                sha, pushed = last_push.get(module.key, ("", None))
                grade = OfficialGrade(
                    Stage.FINAL,
                    sha,
                    pushed,
                    round(late * 0.8, 2),
                    module.points,
                    0.2,
                    "late",
                    now,
                    module.due,
                )
                remembered.official[module.key] = {Stage.FINAL: grade}
        items.sort(key=lambda item: item.job.pushed_at)
        if items:
            record_pushes(pushes_folder, items)
    save_state(state, folder / "state" / "grading.json")
    (folder / "roster.csv").write_text("\n".join(roster) + "\n", encoding="utf-8")
