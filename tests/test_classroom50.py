"""Classroom 50: the autograder bundle and the result.json it writes (schema rules from
Classroom 50's documentation, written out in grader/classroom50/result.py)."""

import copy
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader.classroom50.result import classroom50_result, release_body
from grader.classroom50.schema import ResultError, validate

from .classroom_helpers import commit_solution, released, student_repository  # noqa: F401
from .conftest import graded

ENV = {
    "CLASSROOM": "ml-systems",
    "ASSIGNMENT": "tinytorch",
    "SUBMISSION_TAG": "submit/2026-09-18T12-00-00Z-abc1234",
    "COMMIT_URL": "https://github.com/org/r/commit/abc1234",
    "RELEASE_URL": "https://github.com/org/r/releases/tag/submit/x",
    "REVIEW_URL": "https://github.com/org/r/pull/1",
}


@pytest.fixture(scope="module")
def document(course):
    return classroom50_result([graded(course.module(1), "solutions")], ENV)


def test_the_result_follows_the_schema_with_integer_points(document):
    validate(document, "ml-systems", "tinytorch")
    assert document["schema"] == "classroom50/result/v1"
    assert (
        document["score"] == document["max-score"] == sum(t["max-score"] for t in document["tests"])
    )
    assert all(type(t["score"]) is int and t["passed"] for t in document["tests"])


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d.update(score=True), "whole numbers"),
        (lambda d: d.update(score=d["max-score"] + 1), "score <= max-score"),
        (lambda d: d.update(submission="v1"), "submit/"),
        (lambda d: d.update(commit=""), "commit must be a non-empty string"),
        (lambda d: d.update(assignment="other"), "the run's"),
        (lambda d: d["tests"][0].update(passed=1), "passed must be a boolean"),
        (lambda d: d["tests"][0].update({"test-name": ""}), "non-empty test-name"),
        (lambda d: d["tests"][0].update(score=2.5), "must be whole"),
    ],
)
def test_the_validator_refuses_what_classroom50_refuses(document, change, message):
    broken = copy.deepcopy(document)
    change(broken)
    with pytest.raises(ResultError, match=message):
        validate(broken, "ml-systems", "tinytorch")


@pytest.mark.slow
def test_the_autograder_grades_visible_tests_in_a_student_checkout(released, tmp_path):  # noqa: F811
    autograder = released.template.parent / "classroom50" / "autograder.py"
    text = autograder.read_text()
    assert autograder.stat().st_size < 10 * 2**20
    assert "secrets." not in text and "BEGIN SOLUTION" not in text and "hidden/" not in text
    repo = student_repository(released.template, tmp_path / "repo")
    commit_solution(repo, "01_tensor", "tensor.py")
    (repo / ".venv").symlink_to(Path(sys.prefix))  # this project's venv, no reinstall
    for name in ("pyproject.toml", "Makefile"):
        os.utime(repo / name, (946684800, 946684800))  # older than the venv's stamp
    out = subprocess.run(
        [sys.executable, str(autograder)],
        cwd=repo,
        env={"PATH": "/usr/bin:/bin", **ENV, "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    document = json.loads((repo / "result.json").read_text())
    validate(document, "ml-systems", "tinytorch")
    assert 0 < document["score"] < document["max-score"], (
        "01 solved, 02 not: part of the visible points"
    )
    assert not any("(hidden)" in t["test-name"] for t in document["tests"])
    assert "visible tests only" in out.stdout


def test_result_json_stays_small_and_the_details_go_to_the_release_body(course):
    """Classroom 50 keeps every collected result.json in scores.json for the whole term:
    it carries names and points only; the messages go to the Release's text."""
    starter = graded(course.module(1), "starter")
    assert starter.tests and not any(t.passed for t in starter.tests)
    document = classroom50_result([starter], ENV)
    assert all(set(t) == {"test-name", "passed", "score", "max-score"} for t in document["tests"])
    text = json.dumps(document)
    messages = {
        line for t in starter.tests for line in t.feedback.splitlines() if "Error: Task" in line
    }
    assert messages and not any(message in text for message in messages)
    body = release_body([starter])
    assert "| 01_tensor Tensor | 0/" in body and "What failed" in body
    assert any(message in body for message in messages)


@pytest.mark.slow
def test_the_autograder_stays_inside_classroom50s_job_limit(released, tmp_path, monkeypatch):  # noqa: F811
    """Grading that would outlast its budget is stopped with a result that says so, not
    left to Classroom 50's 15-minute limit (which publishes nothing)."""
    path = released.template.parent / "classroom50" / "autograder.py"
    spec = importlib.util.spec_from_file_location("classroom50_autograder", path)
    autograder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(autograder)
    assert autograder.GRADING_BUDGET_SECONDS <= autograder.CLASSROOM50_JOB_SECONDS - 5 * 60
    repo = student_repository(released.template, tmp_path / "repo")
    (repo / ".venv").symlink_to(Path(sys.prefix))
    for name in ("pyproject.toml", "Makefile"):
        os.utime(repo / name, (946684800, 946684800))
    monkeypatch.chdir(repo)
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    started = time.monotonic()
    assert autograder.main(budget_seconds=1.0) == 0
    assert time.monotonic() - started < 60
    document = json.loads((repo / "result.json").read_text())
    validate(document, "ml-systems", "tinytorch")
    assert document["score"] == 0 and "out of time" in document["tests"][0]["test-name"]
    assert "did not finish" in (repo / "release-body.md").read_text()
