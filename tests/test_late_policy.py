"""The late policy: by the push time GitHub recorded, never by commit dates."""

import datetime as dt
import os
import subprocess

from grader.grade.adjust import apply_late_policy, late_fraction
from grader.report.formats import to_gradescope
from grader.report.results import ModuleResult, TestResult

from .classroom_helpers import GIT

UTC = dt.UTC


def test_the_penalty_counts_started_days_after_the_due_time(course):
    activations = course.module(2)  # due 2026-09-27 23:59:59 New York (03:59:59 UTC)
    on_time = dt.datetime(2026, 9, 28, 3, 59, tzinfo=UTC)
    assert late_fraction(activations, course.policies, on_time) == (0, 0)
    two_days = dt.datetime(2026, 9, 29, 12, tzinfo=UTC)
    assert late_fraction(activations, course.policies, two_days) == (0.2, 2)
    late = dt.datetime(2026, 10, 20, tzinfo=UTC)
    assert late_fraction(activations, course.policies, late) == (1.0, 22)


def test_a_backdated_commit_pushed_late_is_late(tmp_path, course):
    """Only the push time counts: the commit's own date (2026-09-19) is never read."""
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "--quiet", str(repo)], check=True)
    (repo / "tensor.py").write_text("x = 1\n")
    env = {
        **os.environ,
        "GIT_COMMITTER_DATE": "2026-09-19T12:00:00Z",
        "GIT_AUTHOR_DATE": "2026-09-19T12:00:00Z",
    }
    for args in (["add", "tensor.py"], ["commit", "--quiet", "-m", "backdated"]):
        subprocess.run([*GIT, *args], cwd=repo, env=env, check=True)
    test = TestResult("tests/visible/t.py::test_a", "01.1", 100.0, 100.0, True, "", False, 0.1)
    graded = ModuleResult("01_tensor", "Tensor", (test,), 100.0, 1.0, "now")
    pushed = dt.datetime(2026, 11, 29, 12, tzinfo=UTC)  # 70 days after the due time
    result = apply_late_policy(graded, course.module(1), course.policies, pushed)
    assert result.score == 0 and "more than the 7 late days" in result.notes[0]


def test_the_penalty_reaches_the_score_and_every_format(course):
    test = TestResult("tests/visible/t.py::test_a", "02.1", 100.0, 100.0, True, "", False, 0.1)
    on_time = ModuleResult("02_activations", "Activations", (test,), 100.0, 1.0, "now")
    when = dt.datetime(2026, 9, 29, 12, tzinfo=UTC)
    result = apply_late_policy(on_time, course.module(2), course.policies, when)
    assert on_time.late_penalty == 0 and on_time.notes == ()
    assert result.late_penalty == 0.2 and result.score == 80
    assert "2 day(s) after the due time" in result.notes[0]
    assert to_gradescope(result)["score"] == 80
