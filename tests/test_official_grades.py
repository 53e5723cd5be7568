"""Official grades from GitHub's push times, the plan's choice of commits, publishing that
resumes after an interruption, lateness judged by a module's own files, and "not
graded" retried. (No grading here: results are made by hand; tests/test_grader_repository.py
grades.)"""

from __future__ import annotations

import dataclasses
import subprocess

import pytest

from grader.course import CourseConfigError
from grader.report.results import ModuleResult, TestResult
from grader.service.batch import JobResult
from grader.service.config import (
    parse_delivery,
)
from grader.service.feedback import comment
from grader.service.official import official_grade
from grader.service.plan import Job, Plan, make_plan
from grader.service.state import GradingState, StateError, load_state
from tests.classroom_helpers import GIT
from tests.conftest import COURSE, LAYOUT
from tests.service_helpers import (
    DELIVERY,
    NOW,
    TENSOR,
    at,
    fake_github,  # noqa: F401 (the `fake` fixture)
    github,
    official_job,
    on_time,
    publish_once,
    result,
)


def test_on_time_is_the_last_push_before_the_due_time_as_graded():
    grade = official_grade(
        "on_time", TENSOR, COURSE, "a" * 40, at("2026-09-21T03:59:00Z"), result(85), None, at(NOW)
    )
    assert (grade.score, grade.late_penalty, grade.commit) == (85, 0.0, "a" * 40)


def test_nothing_pushed_before_the_due_time_scores_zero():
    grade = official_grade("on_time", TENSOR, COURSE, "", None, None, None, at(NOW))
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
        "final", TENSOR, COURSE, "b" * 40, at(pushed_at), result(raw), on_time(50), at(NOW)
    )
    assert grade.score == pytest.approx(expected) and grade.late_penalty == pytest.approx(penalty)


def test_final_waits_for_the_on_time_grade():
    final = official_grade("final", TENSOR, COURSE, "b" * 40, at(NOW), result(100), None, at(NOW))
    assert final is None


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
        Job(n, n.rsplit("-", 1)[1], f"{i + 1:040x}", at("2026-09-15T00:00:00Z"), ("01",), True)
        for i, n in enumerate(names)
    ]
    plan = Plan(NOW, (tuple(jobs),), {}, ())
    return plan, [JobResult(job, (result(100),)) for job in jobs]


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


def test_times_are_parsed_once_where_state_and_plans_are_read(tmp_path):
    state = GradingState()
    state.repository("a/b", "b").official["01"] = {"on_time": on_time(80)}
    again = GradingState.from_json(state.to_json())
    grade = again.repositories["a/b"].official["01"]["on_time"]
    assert grade == on_time(80) and grade.pushed_at == at("2026-09-19T00:00:00Z")
    assert '"pushed_at": "2026-09-19T00:00:00Z"' in state.to_json()
    path = tmp_path / "grading.json"
    path.write_text(state.to_json().replace("2026-09-19T00:00:00Z", "yesterday"))
    with pytest.raises(StateError, match="unreadable time"):
        load_state(path)
    job = official_job("course/ml-tinytorch-ann")
    assert Job.from_dict(job.to_dict()) == job
    with pytest.raises(ValueError, match="unreadable time"):
        Job.from_dict({**job.to_dict(), "pushed_at": "soon"})


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


def test_feedback_groups_the_failures_a_stub_causes_and_names_each_test():
    stub = "NotImplementedError: Task 01.1: implement AddFn.forward."
    tests = (
        TestResult(
            "tests/visible/t.py::test_a", "01.1", 0, 1, False, "at line 3\n" + stub, False, 0
        ),
        TestResult("tests/hidden/t.py::test_b", "01.1", 0, 1, False, stub, True, 0),
        TestResult("tests/hidden/t.py::test_c", "01.2", 0, 1, False, "ValueError: shape", True, 0),
    )
    body = comment("a" * 40, at(NOW), [ModuleResult("01_tensor", "Tensor", tests, 100.0, 1.0, NOW)])
    assert "task 01.1**: `test_a` (visible), `test_b` (hidden)" in body
    assert body.count(stub) == 1 and "task 01.2**: `test_c` (hidden)" in body
    assert "| 01_tensor Tensor | 0/100 | 0/3 |" in body


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


TENSOR_NOTES = f"assignments/{TENSOR.dirname}/notes.ipynb"  # not graded: changes nothing
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
    module 02 (and a file of 01's folder the grader never reads): 01's lateness is its own
    push's, not the last push's."""
    starter, _, next_module = pushed_repository(
        fake,
        tmp_path,
        "tess",
        [
            ({TENSOR_FILE: "stub\n", NEXT_FILE: "stub\n"}, "2026-09-10T12:00:00Z"),
            ({TENSOR_FILE: "solved\n"}, "2026-09-21T20:00:00Z"),  # 1 started day late
            ({NEXT_FILE: "solved\n", TENSOR_NOTES: "{}"}, "2026-09-26T20:00:00Z"),  # 5 late
        ],
    )
    state = GradingState()
    remembered = state.repository("course/ml-tinytorch-tess", "tess")
    remembered.official["01"] = {"on_time": on_time(0, starter)}
    final = final_job(fake, state)
    assert final.sha == next_module and final.judged_at("01") == at("2026-09-21T20:00:00Z")
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
    assert final_job(fake, state).judged_at("01") == at("2026-09-20T12:00:00Z")
