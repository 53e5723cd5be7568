"""Per-student exceptions (the grader repository's exceptions.yml): extensions, excused
modules and the late-day bank, through the plan, the official grades, state/,
scores.json, the gradebook and the student's feedback, on the loopback GitHub."""

from __future__ import annotations

import dataclasses
import json

import pytest

from grader.course import CourseConfigError
from grader.service.batch import JobResult
from grader.service.exceptions import drop_stale_stages, parse_exceptions
from grader.service.gradebook import gradebook_csv, official_score
from grader.service.main import main
from grader.service.official import official_grade
from grader.service.plan import Plan, make_plan
from grader.service.state import GradingState, load_state
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

EXTENSION = """\
extensions:
  - student: Alice
    module: 1
    due: 2026-09-27
    reason: "medical note (dean's office, 2026-09-18)"
"""
EXCUSED = """\
excused:
  - student: bob
    module: 1
    reason: "joined after module 01 was due"
"""
NEW_DUE = "2026-09-28T03:59:59Z"  # the end of 2026-09-27 in New York


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("extension:\n  - student: a\n", r"line 1: extension: expected a section"),
        ("extensions:\n  student: a\n", r"line 2: extensions: expected a list"),
        (
            "extensions:\n  - student: alice\n    module: 1\n    reason: x\n",
            r"line 2: extensions\[0\]\.due: expected a value \(required:",
        ),
        (EXTENSION.replace("2026-09-27", "2026-09-10"), r"line 4: extensions\[0\]\.due: .*after"),
        (EXTENSION.replace("2026-09-27", "next week"), r"line 4: .*due: expected a day like"),
        (EXTENSION.replace("module: 1", "module: 42"), r"line 3: .*module: expected a module"),
        (EXTENSION.replace("Alice", "not a user!"), r"line 2: .*student: expected a GitHub"),
        (EXTENSION.replace("reason: ", "reason: ''#"), r"line 5: .*reason: expected who asked"),
        (EXTENSION.replace("due:", "until:"), r"line 4: extensions\[0\]\.until: expected one of"),
        (
            EXTENSION + EXCUSED.replace("bob", "alice"),
            r"line 7: excused\[0\]: .*already in extensions at line 2",
        ),  # fmt: skip
        ("extensions: [\n", r", line 2: not valid YAML: expected the node content"),
    ],
)
def test_a_mistake_names_the_file_the_line_and_the_field(text, message):
    with pytest.raises(CourseConfigError, match=r"exceptions\.yml.*" + message):
        parse_exceptions(text, COURSE)


def test_the_command_refuses_a_broken_file_before_grading(tmp_path, monkeypatch, capsys):
    (tmp_path / "exceptions.yml").write_text(EXTENSION.replace("module: 1", "module: x"))
    monkeypatch.setenv("GRADER_TOKEN", "t")
    state = tmp_path / "state" / "grading.json"
    status = main(["--root", str(LAYOUT.root), "--state", str(state), "plan", "--out", "p"])
    assert status == 2
    assert "exceptions.yml, line 3: extensions[0].module" in capsys.readouterr().err


def test_an_extension_moves_the_due_time_and_the_stage_is_taken_again(fake):
    """Alice's module 01 was taken on time at the course's due time (0: a stub); her
    extension moves it a week: the old stage is forgotten, nothing is due until her new
    due time, and then the push she made before it is the official candidate."""
    exceptions = parse_exceptions(EXTENSION, COURSE)
    name = "course/ml-tinytorch-alice"
    fake.add_repository(name)
    fake.record_push(name, "0" * 40, "1" * 40, "2026-09-10T12:00:00Z")  # the stub
    fake.record_push(name, "1" * 40, "2" * 40, "2026-09-25T12:00:00Z")  # after the old due
    state = GradingState()
    state.repository(name, "alice").official["01"] = {"on_time": on_time(0, "1" * 40)}
    dropped = drop_stale_stages(state, COURSE, exceptions)
    assert dropped == [f"{name}: module 01 is taken again at its due time 2026-09-27 23:59 EDT"]
    assert state.repositories[name].official["01"] == {}

    def officials(now: str) -> dict:
        plan = make_plan(github(fake), DELIVERY, COURSE, LAYOUT, state, at(now), None, exceptions)
        jobs = [job for batch in plan.batches for job in batch]
        return {job.sha: stage for job in jobs for key, stage in job.official if key == "01"}

    assert officials("2026-09-26T00:00:00Z") == {}
    assert officials("2026-09-29T00:00:00Z") == {"2" * 40: "on_time"}
    grade = official_grade(
        "on_time",
        exceptions.module_for("alice", TENSOR),
        COURSE,
        "2" * 40,
        at("2026-09-25T12:00:00Z"),
        result(100),
        None,
        at(NOW),
    )
    assert grade.due == at(NEW_DUE) and grade.note.startswith("Due time extended to 2026-09-27")
    state.repositories[name].official["01"] = {"on_time": grade}
    assert drop_stale_stages(state, COURSE, exceptions) == []  # taken at her due time: kept
    assert drop_stale_stages(state, COURSE, parse_exceptions("", COURSE)) != []  # withdrawn


def test_a_late_penalty_counts_from_the_extended_due_time():
    module = parse_exceptions(EXTENSION, COURSE).module_for("alice", TENSOR)
    pushed = at("2026-09-29T12:00:00Z")  # 2 started days after her due time
    grade = official_grade(
        "final", module, COURSE, "b" * 40, pushed, result(100), on_time(0), at(NOW)
    )
    assert grade.score == pytest.approx(80) and grade.late_penalty == pytest.approx(0.2)


def test_an_excused_module_is_out_of_the_total_everywhere(fake, tmp_path):
    exceptions = parse_exceptions(EXCUSED, COURSE)
    names = ["course/ml-tinytorch-bob", "course/ml-tinytorch-cleo"]
    for name in names:
        fake.add_repository(name)
        fake.record_push(name, "0" * 40, "1" * 40, "2026-09-10T12:00:00Z")
    plan = make_plan(
        github(fake), DELIVERY, COURSE, LAYOUT, GradingState(), at(NOW), None, exceptions
    )
    jobs = [job for batch in plan.batches for job in batch]
    planned = {(job.student, stage) for job in jobs for key, stage in job.official if key == "01"}
    assert planned == {("cleo", "on_time"), ("cleo", "final")}

    jobs = [official_job(name) for name in names]  # a stale plan still names bob's stage
    state, path = GradingState(), tmp_path / "state" / "grading.json"
    results = [JobResult(job, (result(60),)) for job in jobs]
    publish_once(fake, Plan(NOW, (tuple(jobs),)), results, state, path, exceptions=exceptions)
    assert "01" not in state.repositories[names[0]].official
    assert state.repositories[names[1]].official["01"]["on_time"].score == 60
    entries = json.loads(fake.file("ml/scores.json"))["assignments"]["tinytorch"]["entries"]
    totals = {e["submissions"][0]["owner"]: e["submissions"][0]["max-score"] for e in entries}
    assert totals == {"cleo": 100}  # bob has nothing official: no record, not a zero
    rows = (tmp_path / "state" / "gradebook.csv").read_text().splitlines()
    assert rows[1].split(",")[2] == "excused" and rows[2].split(",")[2] == "60"
    # A module graded before it was excused leaves the total, in scores.json too.
    state.repositories[names[0]].official["01"] = {"on_time": on_time(40)}
    row = gradebook_csv(COURSE, state, exceptions).splitlines()[1].split(",")
    assert row[2] == "excused" and row[-1] == "0"
    bob = official_score(COURSE, names[0], state.repositories[names[0]], "https://x", exceptions)
    assert (bob.tests, bob.max_score) == ((), 0)


def test_each_student_is_told_once_without_the_reason(fake, tmp_path):
    exceptions = parse_exceptions(EXTENSION + EXCUSED, COURSE)
    names = ["course/ml-tinytorch-alice", "course/ml-tinytorch-bob"]
    for name in names:
        fake.add_repository(name)
    state, path = GradingState(), tmp_path / "state" / "grading.json"
    for name in names:
        state.repository(name, name.rsplit("-", 1)[1])
    fake.fail("POST", "bob/issues$", 502, times=5)  # bob's thread cannot be opened yet
    report = publish_once(fake, Plan(NOW, ()), [], state, path, exceptions=exceptions)
    assert any("bob: exceptions not announced yet" in p for p in report.problems)
    alice = fake.repositories[names[0]].comments
    assert (
        len(alice) == 1 and "Module 01 (Tensor) is now due 2026-09-27 23:59 EDT" in alice[0]["body"]
    )
    assert "medical" not in alice[0]["body"]
    publish_once(fake, Plan(NOW, ()), [], load_state(path), path, exceptions=exceptions)
    assert len(fake.repositories[names[0]].comments) == 1  # once
    bob = fake.repositories[names[1]].comments
    assert len(bob) == 1 and "Module 01 (Tensor) is excused" in bob[0]["body"]


def test_the_late_day_bank_pays_late_days_before_the_penalty():
    course = dataclasses.replace(
        COURSE, policies=dataclasses.replace(COURSE.policies, late_day_bank=2)
    )
    pushed = at("2026-09-24T03:00:00Z")  # 3 started days late: 1 day of penalty
    grade = official_grade(
        "final", TENSOR, course, "b" * 40, pushed, result(100), on_time(0), at(NOW), 2
    )
    assert (grade.score, grade.late_days_used) == (pytest.approx(90), 2)
    assert "2 late day(s) from your bank" in grade.note
    spent = official_grade(
        "final", TENSOR, course, "b" * 40, pushed, result(100), on_time(0), at(NOW), 0
    )
    assert (spent.score, spent.late_days_used) == (pytest.approx(70), 0)


def test_the_bank_is_shared_by_the_modules_of_a_student(fake, tmp_path):
    """Module 02 already spent both banked days: module 01's three late days all cost."""
    course = dataclasses.replace(
        COURSE, policies=dataclasses.replace(COURSE.policies, late_day_bank=2)
    )
    name = "course/ml-tinytorch-dana"
    fake.add_repository(name)
    state, path = GradingState(), tmp_path / "state" / "grading.json"
    remembered = state.repository(name, "dana")
    remembered.official["01"] = {"on_time": on_time(0)}
    remembered.official["02"] = {"final": dataclasses.replace(on_time(90), late_days_used=2)}
    job = dataclasses.replace(
        official_job(name, "b" * 40), pushed_at=at("2026-09-24T03:00:00Z"),
        official=(("01", "final"),),
    )  # fmt: skip
    publish_once(fake, Plan(NOW, ((job,),)), [JobResult(job, (result(100),))], state, path,
                 course=course)  # fmt: skip
    assert remembered.official["01"]["final"].score == pytest.approx(70)
    del remembered.official["02"]  # had it not been spent: one penalised day
    remembered.official["01"].pop("final")
    publish_once(fake, Plan(NOW, ((job,),)), [JobResult(job, (result(100),))], state, path,
                 course=course)  # fmt: skip
    assert remembered.official["01"]["final"].score == pytest.approx(90)
    assert load_state(path).repositories[name].official["01"]["final"].late_days_used == 2


def test_a_grade_of_a_module_no_longer_in_the_course_is_left_alone():
    state = GradingState()
    state.repository("course/ml-tinytorch-alice", "alice").official["99"] = {"on_time": on_time(5)}
    assert drop_stale_stages(state, COURSE, parse_exceptions(EXTENSION, COURSE)) == []
    assert "99" in state.repositories["course/ml-tinytorch-alice"].official
