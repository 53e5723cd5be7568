"""Classroom 50's `result.json` (schema `classroom50/result/v1`) from our results.

Every result is checked with `validate` (grader/classroom50/schema.py), so Classroom 50
never refuses one. Points are integers there: each test keeps its marker
points rounded to a whole number (at least 1), so the push-time total is the visible
tests' own points, never a module's full points.

Classroom 50 keeps every collected `result.json` in `scores.json` for the whole term, so
the result carries names and points only: what failed and why goes to `release-body.md`
(`release_body`), the text of the Release students open from their submission.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from grader.classroom50.record import result_row, row_totals
from grader.classroom50.schema import SCHEMA, validate
from grader.report.feedback import results_markdown
from grader.report.results import ModuleResult
from grader.timestamps import format_time

RELEASE_BODY_LIMIT = 100_000
"""GitHub keeps 125,000 characters of a Release's text; longer details are cut."""


def classroom50_result(results: Sequence[ModuleResult], env: Mapping[str, str]) -> dict:
    """The result document for one run (the runner's environment names the run)."""
    tests = []
    for result in results:
        for test in result.tests:
            points = max(1, round(test.max_score))
            name = f"{result.module} {test.task} {test.name}" + (" (hidden)" * test.hidden)
            tests.append(result_row(name, test.passed, points if test.passed else 0, points))
    now = format_time(dt.datetime.now(dt.UTC))
    score, max_score = row_totals(tests)
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
        "score": score,
        "max-score": max_score,
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
        *results_markdown(results),
    ]
    text = "\n".join(lines) + "\n"
    if len(text) > RELEASE_BODY_LIMIT:
        text = text[:RELEASE_BODY_LIMIT] + "\n\n(Cut: longer than a Release can hold.)\n"
    return text
