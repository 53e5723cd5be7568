"""The GitHub client against a loopback server answering in GitHub's shapes: every page
is read, rate limits are waited out or reported, 5xx answers are retried, and every
other refusal says what was asked and what GitHub answered."""

from __future__ import annotations

import datetime as dt

import pytest

from grader.github.client import GitHub, GitHubError, NotFoundError, RateLimitedError
from grader.github.repos import push_history, student_repositories
from grader.service.config import parse_delivery
from tests.fake_github import FakeGitHub


@pytest.fixture
def fake():
    server = FakeGitHub()
    yield server
    server.close()


def client(fake: FakeGitHub, waits: list[float] | None = None, **options) -> GitHub:
    sleep = (lambda seconds: waits.append(seconds)) if waits is not None else (lambda s: None)
    return GitHub(fake.token, api_url=fake.url, sleep=sleep, clock=lambda: fake.clock, **options)


def test_every_page_of_a_list_is_read(fake):
    for number in range(250):
        fake.add_repository(f"course/ml-tinytorch-student{number:03d}")
    fake.add_repository("other/ml-tinytorch-stranger")
    github = client(fake)
    names = [r["full_name"] for r in github.pages("/orgs/course/repos")]
    assert len(names) == 250 and len(set(names)) == 250
    assert fake.count("GET", "/orgs/course/repos") == 3  # 100 + 100 + 50


def test_student_repositories_follow_the_classroom50_naming(fake):
    delivery = parse_delivery(
        {
            "delivery": {
                "platform": "classroom50",
                "organization": "course",
                "classroom": "ml",
                "assignment": "tinytorch",
            }
        }
    )
    fake.add_repository("course/ml-tinytorch-alice")
    fake.add_repository("course/ml-tinytorch-Bob-2")
    fake.add_repository("course/ml-tinytorch-template", is_template=True)
    fake.add_repository("course/ml-other-carol")
    fake.add_repository("course/ml-tinytorch-")
    found = student_repositories(client(fake), "course", delivery.student_of)
    assert [(r.full_name, r.student) for r in found] == [
        ("course/ml-tinytorch-alice", "alice"),
        ("course/ml-tinytorch-Bob-2", "Bob-2"),
    ]


def test_a_rate_limit_that_resets_soon_is_waited_out(fake):
    fake.add_repository("course/ml-tinytorch-alice")
    reset = fake.clock + 42
    fake.fail("GET", "/orgs/course/repos", 403, x_ratelimit_remaining=0, x_ratelimit_reset=reset)
    waits: list[float] = []
    github = client(fake, waits)
    assert len(list(github.pages("/orgs/course/repos"))) == 1
    assert waits == [43.0]  # until the reset, and one second more
    assert github.stats.rate_limit_waits == 1


def test_a_secondary_rate_limit_honours_retry_after(fake):
    fake.add_repository("course/ml-tinytorch-alice")
    fake.fail("GET", "/orgs/course/repos", 429, retry_after=7)
    waits: list[float] = []
    assert len(list(client(fake, waits).pages("/orgs/course/repos"))) == 1
    assert waits == [7.0]


def test_a_rate_limit_resetting_later_than_the_run_may_wait_is_reported(fake):
    reset = fake.clock + 3600
    fake.fail("GET", "/orgs/course/repos", 403, x_ratelimit_remaining=0, x_ratelimit_reset=reset)
    with pytest.raises(RateLimitedError, match="rate limit reached; it resets at") as caught:
        list(client(fake, max_wait_seconds=900).pages("/orgs/course/repos"))
    assert caught.value.reset_at == reset


def test_server_errors_are_retried_then_succeed(fake):
    fake.add_repository("course/ml-tinytorch-alice")
    fake.fail("GET", "/orgs/course/repos", 502, times=2)
    waits: list[float] = []
    github = client(fake, waits)
    assert len(list(github.pages("/orgs/course/repos"))) == 1
    assert github.stats.retries == 2 and len(waits) == 2 and waits[1] > waits[0]


def test_server_errors_that_persist_end_in_a_clear_error(fake):
    fake.fail("GET", "/orgs/course/repos", 503, times=10)
    with pytest.raises(GitHubError, match=r"GET /orgs/course/repos: 503 fault"):
        list(client(fake).pages("/orgs/course/repos"))
    assert fake.count("GET", "/orgs/course/repos") == 5  # the first try and four retries


def test_not_found_and_forbidden_say_what_was_asked(fake):
    github = client(fake)
    with pytest.raises(NotFoundError, match="GET /repos/course/missing/activity: 404"):
        github.get("/repos/course/missing/activity")
    fake.fail("POST", "/statuses/", 403)
    fake.add_repository("course/ml-tinytorch-alice")
    with pytest.raises(GitHubError, match="lacks a permission"):
        github.post("/repos/course/ml-tinytorch-alice/statuses/" + "a" * 40, {"state": "success"})


def test_a_wrong_token_is_named(fake):
    github = GitHub("not-the-token", api_url=fake.url, sleep=lambda s: None)
    with pytest.raises(GitHubError, match="401 Bad credentials .*expired or revoked"):
        github.get("/orgs/course/repos")


def test_an_unreachable_server_is_retried_then_reported(fake):
    url = fake.url
    fake.close()
    github = GitHub("t", api_url=url, sleep=lambda s: None, timeout_seconds=2)
    with pytest.raises(GitHubError, match="GitHub unreachable"):
        github.get("/orgs/course/repos")
    assert github.stats.retries == 4


def test_push_history_reads_github_push_times_newest_first(fake):
    fake.add_repository("course/ml-tinytorch-alice")
    start = dt.datetime(2026, 9, 1, tzinfo=dt.UTC)
    for n in range(1, 131):  # more than one page of pushes
        when = (start + dt.timedelta(hours=7 * n)).strftime("%Y-%m-%dT%H:%M:%SZ")
        fake.record_push("course/ml-tinytorch-alice", f"{n - 1:040x}", f"{n:040x}", when)
    repository = student_repositories(client(fake), "course", lambda name: name.rsplit("-", 1)[-1])[
        0
    ]
    pushes = push_history(client(fake), repository)
    assert len(pushes) == 130
    assert pushes[0].sha == f"{130:040x}" and pushes[-1].kind == "branch_creation"
    assert [p.pushed_at for p in pushes] == sorted((p.pushed_at for p in pushes), reverse=True)


class Clock:
    """Time that passes only when the client sleeps."""

    def __init__(self, start: float) -> None:
        self.now = start
        self.waits: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


@pytest.mark.parametrize(
    ("status", "message"),
    [(403, "You have exceeded a secondary rate limit. Please wait."), (429, "Too many")],
)
def test_a_secondary_rate_limit_without_headers_waits_a_minute(fake, status, message):
    fake.add_repository("course/ml-tinytorch-alice")
    fake.fail("POST", "/statuses/", status, times=2, message=message)
    clock = Clock(fake.clock)
    github = GitHub(fake.token, api_url=fake.url, sleep=clock.sleep, clock=lambda: clock.now)
    github.post("/repos/course/ml-tinytorch-alice/statuses/" + "a" * 40, {"state": "success"})
    assert clock.waits == [60.0, 120.0]  # at least a minute, longer each time
    assert len(fake.repositories["course/ml-tinytorch-alice"].statuses) == 1


def test_a_secondary_rate_limit_that_persists_is_reported_as_one(fake):
    fake.add_repository("course/ml-tinytorch-alice")
    fake.fail("POST", "/statuses/", 403, times=10, message="secondary rate limit")
    waits: list[float] = []
    with pytest.raises(RateLimitedError, match="secondary rate limit reached") as caught:
        client(fake, waits).post(
            "/repos/course/ml-tinytorch-alice/statuses/" + "a" * 40, {"state": "success"}
        )
    assert "permission" not in str(caught.value)
    assert [w for w in waits if w >= 1] == [60.0, 120.0, 240.0]  # then reported


def test_content_creating_requests_are_paced_under_githubs_secondary_limits(fake):
    fake.add_repository("course/ml-tinytorch-alice")
    clock = Clock(fake.clock)
    github = GitHub(
        fake.token,
        api_url=fake.url,
        sleep=clock.sleep,
        clock=lambda: clock.now,
        max_wait_seconds=3600,
    )
    sent = []
    for _ in range(600):
        github.post("/repos/course/ml-tinytorch-alice/statuses/" + "a" * 40, {"state": "error"})
        sent.append(clock.now)
        github.get("/orgs/course/repos")  # reads are not paced
    assert fake.count("GET", "/orgs/course/repos") == 600
    for start in sent:
        assert sum(start <= moment < start + 60 for moment in sent) <= 80
        assert sum(start <= moment < start + 3600 for moment in sent) <= 500
    assert sent[-1] - sent[0] >= 3600  # the 501st waited for the hour to pass


def test_writes_past_the_hourly_limit_are_reported_when_the_run_may_not_wait(fake):
    fake.add_repository("course/ml-tinytorch-alice")
    github = client(fake, max_wait_seconds=900)
    for _ in range(500):
        github.post("/repos/course/ml-tinytorch-alice/statuses/" + "a" * 40, {"state": "error"})
    with pytest.raises(RateLimitedError, match="500 writes an hour reached"):
        github.post("/repos/course/ml-tinytorch-alice/statuses/" + "a" * 40, {"state": "error"})
    assert len(fake.repositories["course/ml-tinytorch-alice"].statuses) == 500
