"""Classroom 50's `result.json` schema (`classroom50/result/v1`), as its runner and score
collector check it. Standard library only: the grader repository's `plan` job uses it
without an environment.

A result is accepted only if: `classroom` and `assignment` equal the run's, `submission`
starts with `submit/`, `commit`, `release`, `review` and `datetime` are non-empty strings,
`score` and `max-score` are non-negative integers (not bools) with score <= max-score,
and every test has a non-empty `test-name`, a boolean `passed` and integer `score` <=
`max-score`. `validate` checks exactly that, so a result we write is never refused.
"""

from __future__ import annotations

from collections.abc import Mapping

SCHEMA = "classroom50/result/v1"


class ResultError(ValueError):
    """A result.json that Classroom 50 would refuse."""


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
