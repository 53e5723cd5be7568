"""Every graded push, kept for the instructors' gradebook and dashboard.

`state/pushes/<student>.json` holds, per student, one short line per graded push (when it
was pushed, how long grading took, the isolation applied, and per module MODULE_FIELDS:
points, out of, tests passed, tests, timeouts, whether it was not graded) and the
results of the newest one (each test's id, task, points and the first line of the
message the student read, as TEST_FIELDS; never a hidden test's source). One file per
student: a damaged file costs that student's history only, and is set aside
(`.unreadable`) rather than overwritten.
Official grades stay in `state/grading.json`; this is the latest-push side.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from grader.report.results import ModuleResult, TestResult
from grader.timestamps import format_time

if TYPE_CHECKING:  # the batch module brings the grading engine: not needed to read files
    from grader.service.batch import JobResult

VERSION = 1
TIMEOUT_MARK = "time limit"
"""What the grader's message for a test stopped at its time limit says (grader/remote)."""
NOT_GRADED = "Not graded"


MODULE_FIELDS = ("score", "max", "passed", "tests", "timeouts", "not_graded")
"""The numbers kept per module of a push, in this order (a list: a term of pushes of a
large class stays small enough to read in a second)."""


TEST_FIELDS = ("nodeid", "task", "hidden", "passed", "score", "max_score", "message")
MESSAGE_LIMIT = 160


def first_line(feedback: str) -> str:
    """The first line of a test's message, cut to MESSAGE_LIMIT characters."""
    return (feedback.strip().splitlines() or [""])[0][:MESSAGE_LIMIT]


def results_entry(results: Sequence[ModuleResult]) -> list[dict]:
    """A push's results as the history keeps them (each test a list of TEST_FIELDS)."""
    return [
        {
            "module": result.module,
            "title": result.title,
            "max_score": result.max_score,
            "notes": list(result.notes),
            "isolation": result.isolation,
            "tests": [
                [t.nodeid, t.task, t.hidden, t.passed, t.score, t.max_score, first_line(t.feedback)]
                for t in result.tests
            ],
        }
        for result in results
    ]


def results_from_entry(entry: list[dict]) -> tuple[ModuleResult, ...]:
    """The results `results_entry` kept (a message is its first line; no durations)."""
    found = []
    for module in entry:
        tests = []
        for nodeid, task, hidden, passed, score, max_score, message in module["tests"]:
            tests.append(TestResult(nodeid, task, score, max_score, passed, message, hidden, 0.0))
        found.append(
            ModuleResult(
                module["module"],
                module["title"],
                tuple(tests),
                module["max_score"],
                0.0,
                "",
                tuple(module["notes"]),
                isolation=module["isolation"],
            )
        )
    return tuple(found)


def module_line(result: ModuleResult) -> list:
    """One module of one push, as the values of MODULE_FIELDS."""
    return [
        result.score,
        result.max_score,
        result.passed_count,
        len(result.tests),
        sum(TIMEOUT_MARK in t.feedback for t in result.tests if not t.passed),
        any(note.startswith(NOT_GRADED) for note in result.notes),
    ]


def push_line(item: JobResult) -> dict:
    """One graded push: its commit, push time, grading seconds, isolation and modules."""
    pushed = format_time(item.job.pushed_at) if item.job.pushed_at else ""
    modules = {result.module: module_line(result) for result in item.results}
    isolation = sorted({result.isolation for result in item.results if result.isolation})
    return {
        "sha": item.job.sha,
        "pushed_at": pushed,
        "seconds": round(item.seconds, 1),
        "isolation": " ".join(isolation),
        "modules": modules,
    }


def record_pushes(folder: Path, items: Sequence[JobResult]) -> list[str]:
    """Add the feedback pushes among `items` (one repository's) to their student's file;
    returns problems (a damaged file set aside)."""
    pushes = [item for item in items if item.job.feedback and item.job.sha and not item.error]
    if not pushes:
        return []
    student = pushes[0].job.student
    path = folder / f"{student}.json"
    problems = []
    data = None
    if path.exists():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("version") != VERSION or not isinstance(data.get("pushes"), list):
                raise ValueError("not a push history of this version")
        except (ValueError, OSError, AttributeError) as error:
            os.replace(path, path.with_suffix(".unreadable"))
            problems.append(f"{path.name}: unreadable ({error}); set aside, started afresh")
            data = None
    if data is None:
        data = {
            "version": VERSION,
            "fields": MODULE_FIELDS,
            "test_fields": TEST_FIELDS,
            "student": student,
            "repository": pushes[0].job.repository,
            "pushes": [],
            "latest": None,
        }
    known = {line.get("sha") for line in data["pushes"] if isinstance(line, dict)}
    for item in pushes:
        if item.job.sha not in known:
            data["pushes"].append(push_line(item))
    newest = pushes[-1]  # the plan grades one feedback commit a repository: its head
    data["latest"] = {
        **push_line(newest),
        "results": results_entry(newest.results),
    }
    folder.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(data, indent=None, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(partial, path)
    return problems
