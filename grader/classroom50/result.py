"""Classroom 50's `result.json` (schema `classroom50/result/v1`) from our results.

Classroom 50's runner and its score collector accept a result only if: `classroom` and
`assignment` equal the run's, `submission` starts with `submit/`, `commit`, `release`,
`review` and `datetime` are non-empty strings, `score` and `max-score` are non-negative
integers (not bools) with score <= max-score, and every test has a non-empty `test-name`,
a boolean `passed` and integer `score` <= `max-score`. `validate` checks exactly that, so
a result we write is never refused. Points are integers there: each test keeps its marker
points rounded to a whole number (at least 1), so the push-time total is the visible
tests' own points, never a module's full points.

Classroom 50 keeps every collected `result.json` in `scores.json` for the whole term, so
the result carries names and points only: what failed and why goes to `release-body.md`
(`release_body`), the text of the Release students open from their submission.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from grader.report.formats import points_text
from grader.report.results import ModuleResult
from grader.service.feedback import failure_details

SCHEMA = "classroom50/result/v1"
RELEASE_BODY_LIMIT = 100_000
"""GitHub keeps 125,000 characters of a Release's text; longer details are cut."""


class ResultError(ValueError):
    """A result.json that Classroom 50 would refuse."""


def classroom50_result(results: Sequence[ModuleResult], env: Mapping[str, str]) -> dict:
    """The result document for one run (the runner's environment names the run)."""
    tests = []
    for result in results:
        for test in result.tests:
            points = max(1, round(test.max_score))
            tests.append(
                {
                    "test-name": f"{result.module} {test.task} {test.name}"
                    + (" (hidden)" if test.hidden else ""),
                    "passed": test.passed,
                    "score": points if test.passed else 0,
                    "max-score": points,
                }
            )
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    document = {
        "schema": SCHEMA,
        "classroom": env.get("CLASSROOM", ""),
        "assignment": env.get("ASSIGNMENT", ""),
        "submission": env.get("SUBMISSION_TAG") or f"submit/{now}",
        "commit": env.get("COMMIT_URL") or "local",
        "release": env.get("RELEASE_URL") or "local",
        "review": env.get("REVIEW_URL") or "local",
        "datetime": now,
        "graded_at": now,
        "score": sum(t["score"] for t in tests),
        "max-score": sum(t["max-score"] for t in tests),
        "tests": tests,
    }
    validate(document, document["classroom"], document["assignment"])
    return document


def release_body(results: Sequence[ModuleResult]) -> str:
    """The Markdown of the submission's Release: each module's visible-test points, then
    every failing task with its message."""
    lines = [
        "### TinyTorch: visible tests of this push",
        "",
        "These are the visible tests' own points, not your grade: your instructors' grader "
        "adds the hidden tests and takes each module's official grade at its due time.",
        "",
        "| Module | Points | Tests passed |",
        "|---|---:|---:|",
    ]
    for result in results:
        lines.append(
            f"| {result.module} {result.title} | {points_text(result.score)}/"
            f"{points_text(result.max_score)} | {result.passed_count}/{len(result.tests)} |"
        )
    lines += failure_details(results)
    notes = [note for result in results for note in result.notes]
    lines += ["", *[f"- {note}" for note in notes]] if notes else []
    text = "\n".join(lines) + "\n"
    if len(text) > RELEASE_BODY_LIMIT:
        text = text[:RELEASE_BODY_LIMIT] + "\n\n(Cut: longer than a Release can hold.)\n"
    return text


def _whole(value: object) -> bool:
    return type(value) is int and value >= 0


def validate(document: Mapping, classroom: str, assignment: str) -> None:
    """Raise ResultError where Classroom 50's runner or collector would refuse `document`."""
    if document.get("schema") != SCHEMA:
        raise ResultError(f"schema must be {SCHEMA!r}")
    if document.get("classroom") != classroom or document.get("assignment") != assignment:
        raise ResultError("classroom and assignment must be the run's")
    if not str(document.get("submission", "")).startswith("submit/"):
        raise ResultError("submission must start with 'submit/'")
    for key in ("commit", "release", "review", "datetime"):
        if not isinstance(document.get(key), str) or not document[key]:
            raise ResultError(f"{key} must be a non-empty string")
    score, maximum = document.get("score"), document.get("max-score")
    if not (_whole(score) and _whole(maximum)) or score > maximum:
        raise ResultError("score and max-score must be whole numbers with score <= max-score")
    tests = document.get("tests")
    if not isinstance(tests, list):
        raise ResultError("tests must be a list")
    for test in tests:
        name, points, top = test.get("test-name"), test.get("score"), test.get("max-score")
        if not isinstance(name, str) or not name:
            raise ResultError("every test needs a non-empty test-name")
        if type(test.get("passed")) is not bool:
            raise ResultError(f"{name}: passed must be a boolean")
        if not (_whole(points) and _whole(top)) or points > top:
            raise ResultError(f"{name}: score and max-score must be whole, score <= max-score")
