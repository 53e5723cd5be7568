"""Regrades on the record: one student or everyone, one module or all, always with who
asked and why (the plan carries them to publishing, which logs them and tells the
students regraded). tests/test_grader_repository.py regrades end to end."""

from __future__ import annotations

import pytest

from grader.service.main import main
from grader.service.plan import Plan, Regrade, make_plan
from grader.service.state import GradingState
from tests.conftest import COURSE, LAYOUT
from tests.service_helpers import DELIVERY, at, fake_github, github, on_time  # noqa: F401

NOW = "2026-10-06T12:00:00Z"  # modules 01-03 due, 01's late window closed


def a_class(fake) -> GradingState:
    """Two students with modules 01-03 graded on time, and 01 and 02 final (closed)."""
    state = GradingState()
    for student in ("amy", "ben"):
        name = f"course/ml-tinytorch-{student}"
        fake.add_repository(name)
        fake.record_push(name, "0" * 40, f"{student[0]}" * 40, "2026-09-15T12:00:00Z")
        remembered = state.repository(name, student)
        for key in ("01", "02", "03"):
            remembered.official[key] = {"on_time": on_time(70, f"{student[0]}" * 40)}
        for key in ("01", "02"):
            remembered.official[key]["final"] = on_time(70, f"{student[0]}" * 40)
        remembered.listed_push = fake.repositories[name].pushed_at or ""
        remembered.head = remembered.published = f"{student[0]}" * 40
    return state


def planned(plan: Plan) -> set[tuple[str, str, str]]:
    return {
        (job.student, key, stage) for b in plan.batches for job in b for key, stage in job.official
    }


def test_a_module_is_regraded_for_everyone_with_who_asked_and_why(fake):
    request = Regrade("", "01", "prof-kim", "hidden test 01.3 fixed")
    plan = make_plan(github(fake), DELIVERY, COURSE, LAYOUT, a_class(fake), at(NOW), request)
    assert planned(plan) == {
        (s, "01", stage) for s in ("amy", "ben") for stage in ("on_time", "final")
    }
    again = Plan.from_json(plan.to_json())
    assert again.request == {"student": "", "module": "01", "requested_by": "prof-kim",
                             "reason": "hidden test 01.3 fixed"}  # fmt: skip
    assert "regrade of module 01 for every student, asked by prof-kim" in " ".join(plan.report)


def test_every_module_of_one_student_is_regraded_and_no_one_else(fake):
    request = Regrade("Ben", "all", "prof-kim", "accommodation")
    plan = make_plan(github(fake), DELIVERY, COURSE, LAYOUT, a_class(fake), at(NOW), request)
    assert {student for student, _, _ in planned(plan)} == {"ben"}
    assert {key for _, key, _ in planned(plan)} == {"01", "02", "03"}


def test_a_plain_run_regrades_nothing(fake):
    plan = make_plan(github(fake), DELIVERY, COURSE, LAYOUT, a_class(fake), at(NOW))
    assert planned(plan) == set() and plan.request == {}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--module", "01"], "needs --by (who asked) and --why"),
        (["--module", "01", "--by", "kim", "--why", " "], "needs --by (who asked) and --why"),
        (["--student", "amy"], "needs --module"),
        (["--module", "42", "--by", "kim", "--why", "x"], "no module '42'"),
    ],
)
def test_a_regrade_off_the_record_is_refused(arguments, message, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GRADER_TOKEN", "t")
    state = str(tmp_path / "state" / "grading.json")
    status = main(["--root", str(LAYOUT.root), "--state", state, "plan", "--out", "p", *arguments])
    assert status == 2 and message in capsys.readouterr().err
