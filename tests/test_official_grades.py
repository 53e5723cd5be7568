"""Official grades from GitHub's push times, the plan's choice of commits, publishing that
resumes after an interruption, and Classroom 50's scores.json written as overrides.
(No grading here: results are made by hand; tests/test_grader_repository.py grades.)"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import subprocess
import types

import pytest
import yaml

from grader.course import CourseConfigError
from grader.github.client import GitHub, GitHubError
from grader.github.scores import OfficialScore, merge_scores, validate_record, write_scores
from grader.grade.isolation import choose
from grader.grade.session import RUN_CAP_SECONDS
from grader.report.results import ModuleResult, TestResult
from grader.service import batch
from grader.service.batch import JobResult, grade_batch
from grader.service.config import (
    COMMIT_WORST_SECONDS,
    GRADE_JOB_MINUTES,
    JOB_SETUP_SECONDS,
    derived_batch_size,
    parse_delivery,
)
from grader.service.cost import DEFAULT_PUSHES, INCLUDED_MINUTES, billed, estimate
from grader.service.feedback import comment
from grader.service.official import official_grade
from grader.service.plan import Job, Plan, make_plan
from grader.service.publish import publish
from grader.service.state import GradingState, OfficialGrade, StateError, load_state
from tests.classroom_helpers import GIT
from tests.conftest import COURSE, LAYOUT
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
DELIVERY_DEFAULT = parse_delivery(
    {"delivery": {"platform": "organization", "organization": "o", "repository_prefix": "t-"}}
)


def result(score: float) -> ModuleResult:
    test = TestResult("tests/hidden/t.py::test_a", "01.1", score, 100.0, score == 100, "", True, 0)
    return ModuleResult("01_tensor", "Tensor", (test,), 100.0, 1.0, NOW)


def on_time(score: float, commit: str = "a" * 40) -> OfficialGrade:
    return OfficialGrade("on_time", commit, "2026-09-19T00:00:00Z", score, 100, 0.0, "", NOW)


def test_on_time_is_the_last_push_before_the_due_time_as_graded():
    grade = official_grade(
        "on_time", TENSOR, COURSE, "a" * 40, "2026-09-21T03:59:00Z", result(85), None, NOW
    )
    assert (grade.score, grade.late_penalty, grade.commit) == (85, 0.0, "a" * 40)


def test_nothing_pushed_before_the_due_time_scores_zero():
    grade = official_grade("on_time", TENSOR, COURSE, "", "", None, None, NOW)
    assert grade.score == 0 and "Nothing was pushed" in grade.note


@pytest.mark.parametrize(
    ("pushed_at", "raw", "expected", "penalty"),
    [
        ("2026-09-21T05:00:00Z", 100, 90, 0.1),  # 1 started day late: 10%
        ("2026-09-25T03:00:00Z", 100, 60, 0.4),  # 4 days late: 40%
        ("2026-09-25T03:00:00Z", 70, 50, 0.0),  # late work worth less than on time: kept
    ],
)
def test_final_is_the_better_of_on_time_and_late_with_its_penalty(
    pushed_at, raw, expected, penalty
):
    grade = official_grade(
        "final", TENSOR, COURSE, "b" * 40, pushed_at, result(raw), on_time(50), NOW
    )
    assert grade.score == pytest.approx(expected) and grade.late_penalty == pytest.approx(penalty)


def test_final_waits_for_the_on_time_grade():
    assert official_grade("final", TENSOR, COURSE, "b" * 40, NOW, result(100), None, NOW) is None


@pytest.fixture
def fake():
    server = FakeGitHub()
    yield server
    server.close()


def github(fake: FakeGitHub) -> GitHub:
    return GitHub(fake.token, api_url=fake.url, sleep=lambda s: None)


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_a_backdated_commit_pushed_seventy_days_late_is_not_what_the_deadline_grades(fake):
    name = "course/ml-tinytorch-erin"
    fake.add_repository(name)
    fake.record_push(name, "0" * 40, "1" * 40, "2026-09-10T12:00:00Z")  # the starter
    # Committed "2026-09-19" on the student's machine; GitHub recorded the push 70 days late.
    fake.record_push(name, "1" * 40, "2" * 40, "2026-11-29T12:00:00Z")
    plan = make_plan(
        github(fake), DELIVERY, COURSE, LAYOUT, GradingState(), at("2026-11-29T13:00:00Z")
    )
    jobs = {job.sha: job for batch in plan.batches for job in batch}
    assert ("01", "on_time") in jobs["1" * 40].official
    assert ("01", "final") in jobs["1" * 40].official  # the window closed before the push
    assert jobs["2" * 40].feedback and not any(k == "01" for k, _ in jobs["2" * 40].official)


def test_quiet_repositories_cost_no_history_request(fake):
    name = "course/ml-tinytorch-finn"
    fake.add_repository(name)
    fake.record_push(name, "0" * 40, "1" * 40, "2026-09-10T12:00:00Z")
    state = GradingState()
    remembered = state.repository(name, "finn")
    remembered.listed_push, remembered.head, remembered.published = (
        "2026-09-10T12:00:00Z",
        "1" * 40,
        "1" * 40,
    )
    plan = make_plan(github(fake), DELIVERY, COURSE, LAYOUT, state, at("2026-09-12T00:00:00Z"))
    assert plan.batches == () and fake.count("GET", "/activity") == 0


def feedback_results(names: list[str]) -> tuple[Plan, list[JobResult]]:
    jobs = [
        Job(n, n.rsplit("-", 1)[1], f"{i + 1:040x}", "2026-09-15T00:00:00Z", ("01",), True)
        for i, n in enumerate(names)
    ]
    plan = Plan(NOW, (tuple(jobs),), {}, ())
    return plan, [JobResult(job, (result(100),)) for job in jobs]


def publish_once(fake, plan, results, state, path):
    return publish(
        github=github(fake),
        delivery=DELIVERY,
        course=COURSE,
        plan=plan,
        results=results,
        state=state,
        state_path=path,
        now=at(NOW),
    )


def test_publishing_resumes_after_github_fails_for_one_repository(fake, tmp_path):
    names = ["course/ml-tinytorch-gina", "course/ml-tinytorch-hugo"]
    for name in names:
        fake.add_repository(name)
    fake.fail("POST", "hugo/issues$", 502, times=5)  # hugo's feedback issue cannot be opened
    plan, results = feedback_results(names)
    path = tmp_path / "state" / "grading.json"
    state = GradingState()
    report = publish_once(fake, plan, results, state, path)
    saved = load_state(path)
    assert saved.repositories[names[0]].published == "1".rjust(40, "0")
    assert saved.repositories[names[1]].published == ""  # graded again next run
    assert any("hugo" in p and "502" in p for p in report.problems)
    report = publish_once(fake, plan, results[1:], saved, path)
    assert load_state(path).repositories[names[1]].published == "2".rjust(40, "0")
    assert len(fake.repositories[names[0]].comments) == 1  # gina was not posted twice


def test_a_failing_commit_is_retried_then_reported_on_the_commit(fake, tmp_path):
    name = "course/ml-tinytorch-iris"
    fake.add_repository(name)
    plan, results = feedback_results([name])
    broken = [dataclasses.replace(results[0], results=(), error="git fetch failed")]
    state, path = GradingState(), tmp_path / "grading.json"
    for _ in range(3):
        publish_once(fake, plan, broken, state, path)
    statuses = fake.repositories[name].statuses
    assert [s["state"] for s in statuses] == ["error"]
    assert state.repositories[name].failures == {"1".rjust(40, "0"): 3}


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


def test_overrides_keep_collected_submissions_and_never_replace_a_teacher_override():
    manual = manual_record("kim")
    document = scores_document(
        [
            {"owner": "Jay", "submissions": [collected("jay")]},
            {"owner": "kim", "override": True, "submissions": [manual]},
        ]
    )
    update = merge_scores(
        document, "tinytorch", "ml", [official("jay", 93), official("kim", 10)], at(NOW)
    )
    assert update.written == ["jay"] and update.kept_manual == ["kim"]
    jay = document["assignments"]["tinytorch"]["entries"][0]
    assert jay["override"] is True and len(jay["submissions"]) == 2
    first = jay["submissions"][0]
    assert first["score"] == 93 and first["datetime"] > collected("jay")["datetime"]
    validate_record(first, "ml")
    assert document["assignments"]["tinytorch"]["entries"][1]["submissions"] == [manual]


SCORES_V1_RECORD = {  # scores-v1 `submissionRecord` (schemas/scores-v1.schema.json)
    "schema": str,
    "classroom": str,
    "assignment_type": str,
    "owner": str,
    "submission": str,
    "commit": str,
    "release": str,
    "review": str,
    "datetime": str,
    "score": int,
    "max-score": int,
    "tests": list,
}


def test_the_written_file_follows_the_scores_schema_and_survives_a_conflict(fake):
    fake.put_file(
        "ml/scores.json",
        json.dumps({"schema": "classroom50/scores/v1", "assignments": {}}).encode(),
    )
    fake.fail("PUT", "/contents/ml/scores.json", 409)  # collection wrote in between
    update = write_scores(
        github(fake), "course/classroom50", "ml", "tinytorch", [official("lou", 77)], at(NOW)
    )
    assert update.attempts == 2 and update.written == ["lou"]
    document = json.loads(fake.file("ml/scores.json"))
    assert set(document) == {"schema", "assignments"}
    bucket = document["assignments"]["tinytorch"]
    assert bucket["type"] in ("individual", "group") and set(bucket) <= {"type", "entries"}
    record = bucket["entries"][0]["submissions"][0]
    for key, kind in SCORES_V1_RECORD.items():
        assert type(record[key]) is kind, key
    assert "assignment" not in record and record["submission"].startswith("submit/")
    assert record["score"] <= record["max-score"]
    for test in record["tests"]:
        assert type(test["passed"]) is bool and 0 <= test["score"] <= test["max-score"]


def test_a_gradebook_that_is_not_scores_v1_is_left_alone(fake):
    fake.put_file("ml/scores.json", b'{"hand": "edited"}')
    with pytest.raises(GitHubError, match="not classroom50/scores/v1; left alone"):
        write_scores(
            github(fake), "course/classroom50", "ml", "tinytorch", [official("max", 1)], at(NOW)
        )
    assert fake.file("ml/scores.json") == b'{"hand": "edited"}'


def test_a_commit_that_keeps_failing_is_left_for_a_hand_regrade(fake):
    name = "course/ml-tinytorch-nora"
    fake.add_repository(name)
    fake.record_push(name, "0" * 40, "1" * 40, "2026-09-10T12:00:00Z")
    state = GradingState()
    state.repository(name, "nora").failures["1" * 40] = 3
    plan = make_plan(github(fake), DELIVERY, COURSE, LAYOUT, state, at("2026-09-22T00:00:00Z"))
    assert plan.batches == ()
    assert any("module 01 (on_time) waits: commit 1111111" in line for line in plan.report)


def test_a_damaged_state_file_stops_the_run_instead_of_starting_over(tmp_path):
    path = tmp_path / "grading.json"
    path.write_text('{"version": 1, "repositories": {"a/b": {"student": 3}}')
    with pytest.raises(StateError, match="the grading state is unreadable"):
        load_state(path)


@pytest.mark.parametrize(
    ("delivery", "message"),
    [
        ({"platform": "gitlab", "organization": "o"}, "delivery.platform: expected one of"),
        ({"platform": "organization", "organization": "o"}, "delivery.repository_prefix"),
        (
            {
                "platform": "classroom50",
                "organization": "o",
                "classroom": "ML 101",
                "assignment": "t",
            },
            "delivery.classroom: expected Classroom 50's short name",
        ),
        (
            {"platform": "organization", "organization": "-o", "repository_prefix": "t-"},
            "delivery.organization: expected a GitHub organization name",
        ),
        (
            {
                "platform": "organization",
                "organization": "o",
                "repository_prefix": "t-",
                "batch_size": 0,
            },
            "delivery.batch_size: expected an integer from 1 to 500",
        ),
    ],
)
def test_delivery_settings_are_checked_with_a_clear_message(delivery, message):
    with pytest.raises(CourseConfigError, match=message):
        parse_delivery({"delivery": delivery})


def test_a_plain_organization_names_repositories_by_prefix():
    delivery = parse_delivery(
        {
            "delivery": {
                "platform": "organization",
                "organization": "o",
                "repository_prefix": "tinytorch-",
            }
        }
    )
    assert delivery.student_of("tinytorch-Alice") == "Alice"
    assert delivery.student_of("tinytorch-") is None and delivery.student_of("other") is None
    assert delivery.scores_repository == ""


def test_a_commit_that_cannot_be_fetched_is_reported_and_the_batch_goes_on(tmp_path):
    jobs = tuple(
        Job(f"course/ml-tinytorch-{name}", name, "1" * 40, NOW, ("01",), True)
        for name in ("olga", "pete")
    )
    report = grade_batch(
        jobs=jobs,
        layout=LAYOUT,
        course=COURSE,
        token="s3cret-token",
        clone_url=f"file://{tmp_path}/{{repository}}.git",
        isolation=choose(False),
    )
    assert [r.job.student for r in report.results] == ["olga", "pete"]
    for item in report.results:
        assert item.error.startswith("RuntimeError: git fetch of 1111111 failed")
        assert "s3cret-token" not in item.error and item.results == ()


def test_feedback_groups_the_failures_a_stub_causes_and_names_each_test():
    stub = "NotImplementedError: Task 01.1: implement AddFn.forward."
    tests = (
        TestResult(
            "tests/visible/t.py::test_a", "01.1", 0, 1, False, "at line 3\n" + stub, False, 0
        ),
        TestResult("tests/hidden/t.py::test_b", "01.1", 0, 1, False, stub, True, 0),
        TestResult("tests/hidden/t.py::test_c", "01.2", 0, 1, False, "ValueError: shape", True, 0),
    )
    body = comment("a" * 40, NOW, [ModuleResult("01_tensor", "Tensor", tests, 100.0, 1.0, NOW)])
    assert "task 01.1**: `test_a` (visible), `test_b` (hidden)" in body
    assert body.count(stub) == 1 and "task 01.2**: `test_c` (hidden)" in body
    assert "| 01_tensor Tensor | 0/100 | 0/3 |" in body


def test_a_five_megabyte_scores_json_is_read_raw_and_keeps_every_collected_record(fake):
    """A term of collected pushes makes scores.json pass the 1 MB that the contents API's
    JSON media type returns; official grades must still reach it."""
    filler = "x" * 2000
    entries = [
        {
            "owner": f"s{n:03d}",
            "submissions": [
                {
                    **collected(f"s{n:03d}"),
                    "tests": [{"test-name": filler, "passed": False, "score": 0, "max-score": 1}]
                    * 10,
                }
                for _ in range(10)
            ],
        }
        for n in range(27)
    ]
    fake.put_file("ml/scores.json", json.dumps(scores_document(entries)).encode())
    assert len(fake.file("ml/scores.json")) > 5 * 2**20
    update = write_scores(
        github(fake), "course/classroom50", "ml", "tinytorch", [official("s007", 88)], at(NOW)
    )
    assert update.written == ["s007"]
    written = json.loads(fake.file("ml/scores.json"))["assignments"]["tinytorch"]["entries"]
    assert len(written) == 27 and sum(len(e["submissions"]) for e in written) == 271
    leader = next(e for e in written if e["owner"] == "s007")["submissions"][0]
    assert leader["score"] == 88 and leader["submission"].startswith("submit/official-")


def official_job(name: str, sha: str = "1" * 40) -> Job:
    return Job(
        name,
        name.rsplit("-", 1)[1],
        sha,
        "2026-09-20T00:00:00Z",
        ("01",),
        True,
        (("01", "on_time"),),
    )


def test_a_failed_comment_call_still_gets_the_official_grade_to_scores_json(fake, tmp_path):
    name = "course/ml-tinytorch-rosa"
    fake.add_repository(name)
    fake.fail("POST", "/issues/1/comments$", 403, times=10, message="secondary rate limit")
    job = official_job(name)
    plan, path = Plan(NOW, ((job,),), {}, ()), tmp_path / "grading.json"
    report = publish_once(fake, plan, [JobResult(job, (result(80),))], GradingState(), path)
    assert any("rosa" in p and "secondary rate limit" in p for p in report.problems)
    assert load_state(path).repositories[name].official["01"]["on_time"].score == 80
    entry = json.loads(fake.file("ml/scores.json"))["assignments"]["tinytorch"]["entries"][0]
    assert entry["owner"] == "rosa" and entry["submissions"][0]["score"] == 80
    assert not load_state(path).scores_pending


def test_a_module_not_graded_is_retried_never_an_official_zero(fake, tmp_path):
    name = "course/ml-tinytorch-sami"
    fake.add_repository(name)
    job = official_job(name)
    capped = dataclasses.replace(
        result(0), tests=(), notes=("Not graded: the run's time cap of 900 s was reached.",)
    )
    plan, path, state = Plan(NOW, ((job,),), {}, ()), tmp_path / "grading.json", GradingState()
    report = publish_once(fake, plan, [JobResult(job, (capped,))], state, path)
    assert "01" not in state.repositories[name].official and "ml/scores.json" not in fake.files
    assert state.repositories[name].failures == {"1" * 40: 1}
    assert any("time cap" in p for p in report.problems)
    publish_once(fake, plan, [JobResult(job, (result(70),))], state, path)  # the retry
    assert state.repositories[name].official["01"]["on_time"].score == 70


TENSOR_FILE = f"assignments/{TENSOR.dirname}/{TENSOR.filename}"
NEXT_FILE = f"assignments/{COURSE.module(2).dirname}/{COURSE.module(2).filename}"


def pushed_repository(fake, tmp_path, student: str, pushes: list[tuple[dict, str]]) -> list[str]:
    """A student repository on the fake whose pushes (files changed, push time) are real
    commits in a bare git repository; returns their SHAs."""
    name = f"course/ml-tinytorch-{student}"
    work, bare = tmp_path / student, tmp_path / f"{student}.git"
    subprocess.run(["git", "init", "--quiet", "--initial-branch=main", str(work)], check=True)
    shas = []
    for files, _ in pushes:
        for relative, text in files.items():
            (work / relative).parent.mkdir(parents=True, exist_ok=True)
            (work / relative).write_text(text)
        subprocess.run([*GIT, "add", "--all"], cwd=work, check=True)
        subprocess.run([*GIT, "commit", "--quiet", "-m", "work"], cwd=work, check=True)
        head = ["git", "rev-parse", "HEAD"]
        shas.append(subprocess.run(head, cwd=work, capture_output=True, text=True).stdout.strip())
    subprocess.run(["git", "clone", "--quiet", "--bare", str(work), str(bare)], check=True)
    fake.add_repository(name, git_dir=str(bare))
    for before, after, (_, when) in zip(["0" * 40, *shas], shas, pushes, strict=False):
        fake.record_push(name, before, after, when)
    return shas


def final_job(fake, state: GradingState) -> Job:
    plan = make_plan(github(fake), DELIVERY, COURSE, LAYOUT, state, at("2026-09-29T00:00:00Z"))
    return next(j for b in plan.batches for j in b if ("01", "final") in j.official)


def test_a_push_of_another_module_never_makes_a_finished_module_later(fake, tmp_path):
    """01 finished one day late (90 after 10%), then a push five days late that changed
    only module 02: 01's lateness is its own push's, not the last push's."""
    starter, _, next_module = pushed_repository(
        fake,
        tmp_path,
        "tess",
        [
            ({TENSOR_FILE: "stub\n", NEXT_FILE: "stub\n"}, "2026-09-10T12:00:00Z"),
            ({TENSOR_FILE: "solved\n"}, "2026-09-21T20:00:00Z"),  # 1 started day late
            ({NEXT_FILE: "solved\n"}, "2026-09-26T20:00:00Z"),  # 5 days late
        ],
    )
    state = GradingState()
    remembered = state.repository("course/ml-tinytorch-tess", "tess")
    remembered.official["01"] = {"on_time": on_time(0, starter)}
    final = final_job(fake, state)
    assert final.sha == next_module and final.judged_at("01") == "2026-09-21T20:00:00Z"
    publish_once(
        fake, Plan(NOW, ((final,),)), [JobResult(final, (result(100),))], state, tmp_path / "g.json"
    )
    grade = remembered.official["01"]["final"]
    assert grade.score == 90 and grade.late_penalty == pytest.approx(0.1)


def test_a_module_unchanged_since_before_its_due_time_is_on_time(fake, tmp_path):
    solved, _ = pushed_repository(
        fake,
        tmp_path,
        "uma",
        [
            ({TENSOR_FILE: "solved\n", NEXT_FILE: "stub\n"}, "2026-09-20T12:00:00Z"),
            ({NEXT_FILE: "solved\n"}, "2026-09-25T12:00:00Z"),
        ],
    )
    state = GradingState()
    state.repository("course/ml-tinytorch-uma", "uma").official["01"] = {
        "on_time": on_time(100, solved)
    }
    assert final_job(fake, state).judged_at("01") == "2026-09-20T12:00:00Z"


def collector_rebase(fake: FakeGitHub, owner: str):
    """Classroom 50's collection, overlapping our write: its rejected push rebased with
    `-X theirs` puts its visible-test record back in place of ours (override kept)."""

    def rebase(path: str) -> None:
        fake.after_put = None  # one collection
        document = json.loads(fake.file(path))
        for entry in document["assignments"]["tinytorch"]["entries"]:
            if entry["owner"] == owner:
                entry["submissions"][0] = collected(owner)
        fake.put_file(path, json.dumps(document).encode())

    return rebase


def test_a_collection_overlapping_our_write_is_caught_and_our_record_restored(fake):
    fake.put_file("ml/scores.json", json.dumps({"schema": "classroom50/scores/v1"}).encode())
    fake.collection_polls = 2  # a collection is running when we come to write
    fake.after_put = collector_rebase(fake, "vera")
    waits: list[float] = []
    update = write_scores(
        github(fake),
        "course/classroom50",
        "ml",
        "tinytorch",
        [official("vera", 91)],
        at(NOW),
        sleep=waits.append,
    )
    assert waits == [30.0, 30.0] and update.waited_for_collection == 60
    assert update.displaced == ["vera"] and update.attempts == 2
    entry = json.loads(fake.file("ml/scores.json"))["assignments"]["tinytorch"]["entries"][0]
    assert entry["override"] and entry["submissions"][0]["score"] == 91
    assert entry["submissions"][0]["submission"].startswith("submit/official-")


def test_every_run_reasserts_entries_another_writer_displaced_but_not_manual_ones(fake, tmp_path):
    names = ["course/ml-tinytorch-walt", "course/ml-tinytorch-xena", "course/ml-tinytorch-yann"]
    state = GradingState()
    for name in names:
        state.repository(name, name.rsplit("-", 1)[1]).official["01"] = {"on_time": on_time(64)}
    manual = manual_record("yann")
    document = scores_document(
        [  # walt: a collection won a race; xena: "Clear override"
            {"owner": "walt", "override": True, "submissions": [collected("walt")]},
            {"owner": "xena", "submissions": []},
            {"owner": "yann", "override": True, "submissions": [manual]},
        ]
    )
    fake.put_file("ml/scores.json", json.dumps(document).encode())
    plan, path = Plan(NOW, (), {}, ()), tmp_path / "grading.json"
    report = publish_once(fake, plan, [], state, path)  # nothing graded, nothing pending
    entries = json.loads(fake.file("ml/scores.json"))["assignments"]["tinytorch"]["entries"]
    walt, xena, yann = entries
    for entry in (walt, xena):
        assert entry["override"] and entry["submissions"][0]["score"] == 64
    assert walt["submissions"][1] == collected("walt")  # the collected record is kept
    assert yann["submissions"] == [manual]
    assert any("yann" in p and "manual override" in p for p in report.problems)
    before = fake.count("PUT", "/contents/ml/scores.json")
    publish_once(fake, plan, [], state, path)  # nothing displaced: nothing written
    assert fake.count("PUT", "/contents/ml/scores.json") == before


def batch_jobs(count: int) -> tuple[Job, ...]:
    names = [f"course/ml-tinytorch-z{n}" for n in range(count)]
    return tuple(
        Job(n, n.rsplit("-", 1)[1], f"{i + 1:040x}", NOW, ("01",), True)
        for i, n in enumerate(names)
    )


def grade_three(out, **options) -> batch.BatchReport:
    """A batch of three students, graded here (fetching and grading are stubbed)."""
    return batch.grade_batch(
        jobs=batch_jobs(3),
        layout=LAYOUT,
        course=COURSE,
        clone_url="x",
        token="",
        isolation=choose(False),
        out=out,
        **options,
    )


def test_a_batch_that_hits_its_time_limit_keeps_its_finished_results(tmp_path, monkeypatch):
    """Actions stops a job at its time limit in the middle of a commit: the commits graded
    before are in the results file, and publish reads them."""
    calls = []

    def graded_then_stopped(**_):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the runner stops the job here
        return types.SimpleNamespace(results=(result(100),))

    monkeypatch.setattr(batch, "fetch_commit", lambda *args, **kwargs: None)
    monkeypatch.setattr(batch, "grade", graded_then_stopped)
    out = tmp_path / "results" / "batch-0.json"
    with pytest.raises(KeyboardInterrupt):
        grade_three(out)
    kept = batch.read_batches([out])
    assert [r.job.student for r in kept] == ["z0"] and kept[0].results[0].score == 100


def test_a_batch_starts_no_commit_that_could_outlast_its_job(tmp_path, monkeypatch):
    monkeypatch.setattr(batch, "fetch_commit", lambda *args, **kwargs: None)
    monkeypatch.setattr(batch, "grade", lambda **_: types.SimpleNamespace(results=(result(50),)))
    moments = iter([0.0, 100.0, 100.0, 200.0, 200.0])
    report = grade_three(
        tmp_path / "b.json",
        deadline=100.0 + COMMIT_WORST_SECONDS + 50.0,
        clock=lambda: next(moments),
    )
    assert [r.job.student for r in report.results] == ["z0", "z1"]
    assert [j.student for j in report.left] == ["z2"]
    assert len(batch.read_batches([tmp_path / "b.json"])) == 2


def test_the_batch_size_follows_from_the_grade_jobs_time_limit():
    workflow = yaml.safe_load((LAYOUT.root / "grader/service/grade-students.yml").read_text())
    grade_job = workflow["jobs"]["grade"]
    assert grade_job["timeout-minutes"] == GRADE_JOB_MINUTES
    assert COMMIT_WORST_SECONDS >= RUN_CAP_SECONDS + 60
    size = DELIVERY_DEFAULT.batch_size
    assert size == derived_batch_size() >= 1
    assert size * COMMIT_WORST_SECONDS + JOB_SETUP_SECONDS <= GRADE_JOB_MINUTES * 60
    upload = next(s for s in grade_job["steps"] if "upload-artifact" in s.get("uses", ""))
    assert upload.get("if") == "always()"  # a batch stopped at its limit still hands over


def test_the_cost_estimate_follows_the_workflows_and_fits_sixty_students():
    usage = estimate(COURSE, 60, DEFAULT_PUSHES)
    assert usage.total <= INCLUDED_MINUTES  # the shipped defaults, 60 students
    assert usage.plan >= 24 * 30  # a plan job every hour, each at least a billed minute
    one = estimate(COURSE, 60, 0)
    assert one.push_grading == 0 and one.grading == 0
    assert estimate(COURSE, 60, 1).push_grading >= 60 * 3  # Classroom 50: three jobs a push
    sizes = [estimate(COURSE, n, DEFAULT_PUSHES).total for n in (30, 60, 200, 500)]
    assert sizes == sorted(sizes) and sizes[-1] > INCLUDED_MINUTES
    assert billed(1) == 1 and billed(61) == 2
