"""Classroom 50's records, built in one place: a test row, and the official record that
leads a student's entry in `scores.json` (schema `classroom50/scores/v1`).

`result_row` is every row Classroom 50 shows: a push's tests (grader/classroom50/result.py)
and a student's official module grades (grader/service/gradebook.py). `official_record` is
the record our grader repository writes (grader/github/scores.py writes it to GitHub).
Every record is checked as Classroom 50 would check it before it is written.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from grader.classroom50.schema import SCHEMA, ResultError, validate
from grader.timestamps import format_time

OFFICIAL_PREFIX = "submit/official-"
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T([01]\d|2[0-3]):[0-5]\d:[0-5]\dZ$")


def result_row(name: str, passed: bool, score: int, max_score: int, **details: object) -> dict:
    """One row of a result's `tests`: whole points, as Classroom 50 requires."""
    return {"test-name": name, "passed": passed, "score": score, "max-score": max_score,
            **details}  # fmt: skip


def row_totals(rows: list[dict] | tuple[dict, ...]) -> tuple[int, int]:
    """A document's `score` and `max-score`: the sums of its rows' (summed here only)."""
    return sum(row["score"] for row in rows), sum(row["max-score"] for row in rows)


@dataclass(frozen=True)
class OfficialScore:
    """One student's official grade so far, as the gradebook should show it."""

    owner: str
    score: int
    max_score: int
    tests: tuple[dict, ...]
    """One row per graded module: test-name, passed, score, max-score (+ details)."""
    commit_url: str
    feedback_url: str


def official_record(
    score: OfficialScore, classroom: str, now: dt.datetime, after: dt.datetime | None
) -> dict:
    """The record that leads the entry (dated after every other record, so it sorts first)."""
    moment = max(now, after + dt.timedelta(seconds=1)) if after else now
    record = {
        "schema": SCHEMA,
        "classroom": classroom,
        "assignment_type": "individual",
        "owner": score.owner,
        "submission": OFFICIAL_PREFIX + format_time(now).replace(":", "-"),
        "commit": score.commit_url,
        "release": score.feedback_url or score.commit_url,
        "review": score.commit_url,
        "datetime": format_time(moment),
        "graded_at": format_time(now),
        "score": score.score,
        "max-score": score.max_score,
        "tests": [dict(test) for test in score.tests],
        "graded_by": "TinyTorch grader repository (hidden tests, official)",
    }
    validate_record(record, classroom)
    return record


def validate_record(record: dict, classroom: str) -> None:
    """Raise ResultError where scores-v1 would refuse a submission record."""
    validate({**record, "assignment": "-"}, classroom, "-")
    if record.get("assignment_type") not in ("individual", "group"):
        raise ResultError("assignment_type must be individual or group")
    if not isinstance(record.get("owner"), str) or not record["owner"]:
        raise ResultError("owner must be a non-empty string")
    for key in ("datetime", "graded_at"):
        if not DATETIME.match(str(record.get(key, ""))):
            raise ResultError(f"{key} must look like 2026-09-20T23:59:59Z")
