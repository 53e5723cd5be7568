"""The late policy: by push time, per module, from the module file's last change."""

import datetime as dt
import os
import subprocess

from grader.grade.adjust import apply_late_policy, handed_in, late_fraction
from grader.report.formats import to_gradescope
from grader.report.results import ModuleResult, TestResult

from .classroom_helpers import GIT

UTC = dt.UTC


def _commit(repo, path, when):
    (repo / path).parent.mkdir(parents=True, exist_ok=True)
    (repo / path).write_text(f"# {when}\n")
    env = {**os.environ, "GIT_COMMITTER_DATE": when, "GIT_AUTHOR_DATE": when}
    for args in (["add", path], ["commit", "--quiet", "-m", path]):
        subprocess.run([*GIT, *args], cwd=repo, env=env, check=True)


def test_only_a_module_changed_after_its_due_time_is_late(tmp_path, course):
    tensor, activations = course.module(1), course.module(2)
    subprocess.run(["git", "init", "--quiet", str(tmp_path)], check=True)
    _commit(tmp_path, "assignments/01_tensor/tensor.py", "2026-09-19T12:00:00Z")
    _commit(tmp_path, "assignments/02_activations/activations.py", "2026-09-29T12:00:00Z")
    pushed = dt.datetime(2026, 9, 29, 13, tzinfo=UTC)
    assert handed_in(tmp_path, tensor, pushed) == dt.datetime(2026, 9, 19, 12, tzinfo=UTC)
    assert late_fraction(tensor, course.policies, handed_in(tmp_path, tensor, pushed)) == (0, 0)
    when = handed_in(tmp_path, activations, pushed)
    assert late_fraction(activations, course.policies, when) == (0.2, 2)
    late = dt.datetime(2026, 10, 20, tzinfo=UTC)
    assert late_fraction(activations, course.policies, late) == (1.0, 22)


def test_the_penalty_reaches_the_score_and_every_format(course):
    test = TestResult("tests/visible/t.py::test_a", "02.1", 100.0, 100.0, True, "", False, 0.1)
    on_time = ModuleResult("02_activations", "Activations", (test,), 100.0, 1.0, "now")
    when = dt.datetime(2026, 9, 29, 12, tzinfo=UTC)
    result = apply_late_policy(on_time, course.module(2), course.policies, when)
    assert on_time.late_penalty == 0 and on_time.notes == ()
    assert result.late_penalty == 0.2 and result.score == 80
    assert "2 day(s) after the due time" in result.notes[0]
    assert to_gradescope(result)["score"] == 80
