"""Shared pieces of the grader repository's tests: a loopback GitHub, hand-made results
and official grades, Classroom 50 records."""

from __future__ import annotations

import datetime as dt

import pytest

from grader.classroom50.record import OfficialScore
from grader.github.client import GitHub
from grader.report.results import ModuleResult, TestResult
from grader.service.config import (
    parse_delivery,
)
from grader.service.plan import Job
from grader.service.publish import publish
from grader.service.state import OfficialGrade
from tests.conftest import COURSE
from tests.fake_github import FakeGitHub

TENSOR = COURSE.module(1)  # due 2026-09-20 23:59:59 New York = 2026-09-21T03:59:59Z


DELIVERY = parse_delivery(
    {
        "delivery": {
            "platform": "classroom50",
            "organization": "course",
            "classroom": "ml",
            "assignment": "tinytorch",
            "batch_size": 2,
        }
    }
)


NOW = "2026-10-01T00:00:00Z"


def result(score: float) -> ModuleResult:
    test = TestResult("tests/hidden/t.py::test_a", "01.1", score, 100.0, score == 100, "", True, 0)
    return ModuleResult("01_tensor", "Tensor", (test,), 100.0, 1.0, NOW)


def on_time(score: float, commit: str = "a" * 40) -> OfficialGrade:
    return OfficialGrade(
        "on_time", commit, at("2026-09-19T00:00:00Z"), score, 100, 0.0, "", at(NOW)
    )


@pytest.fixture(name="fake")
def fake_github():
    """A loopback GitHub (import this into a test module to get the `fake` fixture)."""
    server = FakeGitHub()
    yield server
    server.close()


def github(fake: FakeGitHub) -> GitHub:
    return GitHub(fake.token, api_url=fake.url, sleep=lambda s: None)


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def publish_once(fake, plan, results, state, path, **options):
    """Publish on the fake; `options` replace publish's arguments (course, exceptions)."""
    arguments = {"delivery": DELIVERY, "course": COURSE, "now": at(NOW), **options}
    return publish(
        github=github(fake), plan=plan, results=results, state=state, state_path=path,
        **arguments,
    )  # fmt: skip


def official(owner: str, score: int) -> OfficialScore:
    row = {
        "test-name": "01_tensor Tensor (official, final)",
        "passed": score == 100,
        "score": score,
        "max-score": 100,
    }
    url = f"https://github.com/course/ml-tinytorch-{owner}"
    return OfficialScore(owner, score, 100, (row,), f"{url}/commit/{'a' * 40}", f"{url}/issues/1")


def collected(owner: str) -> dict:
    return {
        "schema": "classroom50/result/v1",
        "classroom": "ml",
        "assignment_type": "individual",
        "owner": owner,
        "submission": "submit/2026-09-14T10-00-00Z-abc1234",
        "commit": "c",
        "release": "r",
        "review": "v",
        "datetime": "2027-01-01T00:00:00Z",
        "score": 3,
        "max-score": 5,
        "tests": [],
    }


def manual_record(owner: str) -> dict:
    """A score the teacher set by hand in Classroom 50's web app."""
    return {**collected(owner), "submission": "submit/manual-2026-10-01T00-00-00Z"}


def scores_document(entries: list[dict]) -> dict:
    return {
        "schema": "classroom50/scores/v1",
        "assignments": {"tinytorch": {"type": "individual", "entries": entries}},
    }


def official_job(name: str, sha: str = "1" * 40) -> Job:
    return Job(
        name,
        name.rsplit("-", 1)[1],
        sha,
        at("2026-09-20T00:00:00Z"),
        ("01",),
        True,
        (("01", "on_time"),),
    )
