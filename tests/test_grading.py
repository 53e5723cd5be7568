"""The grading engine on the real modules: full marks, zero, determinism, the CLI."""

import base64
import json
import subprocess
import sys

import pytest

from grader.assign.regions import find_regions, stub_lines
from grader.grade.engine import grade_module
from grader.report.formats import classroom_result, markdown_summary, points_line, to_gradescope

from .conftest import BUILT, default_isolation, graded


@pytest.mark.parametrize("module", BUILT, ids=lambda m: m.dirname)
def test_every_solution_scores_full_marks(module):
    result = graded(module, "solutions")
    failing = [(t.name, t.feedback) for t in result.tests if not t.passed]
    assert not failing, f"{module.dirname} solution fails: {failing[:3]}"
    assert result.score == result.max_score == module.points
    assert (
        result.tests
        and any(t.hidden for t in result.tests)
        and any(not t.hidden for t in result.tests)
    )


@pytest.mark.parametrize("module", BUILT, ids=lambda m: m.dirname)
def test_every_starter_scores_zero_with_the_task_in_each_message(module):
    result = graded(module, "starter")
    passing = [t.name for t in result.tests if t.passed]
    assert not passing, f"{module.dirname} starter passes tests it should fail: {passing}"
    assert result.score == 0
    for test in result.tests:
        assert f"Task {test.task}" in test.feedback or "Task " in test.feedback, (
            test.name,
            test.feedback,
        )


def _partial_submission(tmp_path, layout, module, stubbed_tasks):
    """The solution with the regions of `stubbed_tasks` replaced by their stubs."""
    text = layout.module_file(layout.solutions, module).read_text()
    lines = text.splitlines()
    out, cursor = [], 0
    for region in find_regions(text):
        out += lines[cursor : region.begin]
        out += (
            stub_lines(region)
            if region.task in stubbed_tasks
            else lines[region.begin + 1 : region.end]
        )
        cursor = region.end + 1
    target = tmp_path / "partial" / module.dirname / module.filename
    target.parent.mkdir(parents=True)
    target.write_text("\n".join(out + lines[cursor:]) + "\n")
    return tmp_path / "partial"


def _comparable(result):
    data = to_gradescope(result)
    data["execution_time"] = 0
    data["extra_data"]["graded_at"] = ""
    return data


def test_two_gradings_of_the_same_code_are_identical(tmp_path, layout, course):
    module = course.module(1)
    first = _comparable(graded(module, "starter"))
    isolation = default_isolation()
    second = _comparable(grade_module(layout, course, module, layout.starter, True, isolation))
    assert first == second
    partial = _partial_submission(tmp_path, layout, module, stubbed_tasks={"01.3", "01.7"})
    third = _comparable(grade_module(layout, course, module, partial, True, isolation))
    fourth = _comparable(grade_module(layout, course, module, partial, True, isolation))
    assert third == fourth
    assert 0 < third["score"] < module.points, "the partial fixture should earn some points"


def test_hidden_test_feedback_shows_no_test_source(course):
    result = graded(course.module(1), "starter")
    hidden = [t for t in result.tests if t.hidden]
    assert hidden
    for test in hidden:
        assert "assert_tensor(" not in test.feedback and "def test_" not in test.feedback


def test_output_formats(course):
    results = [graded(course.module(1), "solutions"), graded(course.module(1), "starter")]
    assert points_line(results) == "Points 100/200"
    payload = json.loads(base64.b64decode(classroom_result(results)))
    assert payload["version"] == 1 and payload["max_score"] == 200 and payload["status"] == "fail"
    assert round(sum(t["score"] for t in payload["tests"]), 6) == 100
    gradescope = to_gradescope(results[1])
    assert set(gradescope) >= {"score", "execution_time", "output", "tests", "visibility"}
    assert {t["status"] for t in gradescope["tests"]} == {"failed"}
    assert {t["visibility"] for t in gradescope["tests"]} == {"visible", "after_due_date"}
    summary = markdown_summary(results)
    assert "| 01_tensor Tensor | 0/100 |" in summary and "<details>" in summary


def test_cli_grades_prints_points_and_writes_json(tmp_path, layout):
    target = tmp_path / "results.json"
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader",
            "grade",
            "--module",
            "02",
            "--submission",
            str(layout.solutions),
            "--json",
            str(target),
        ],
        cwd=layout.root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "Points 100/100"
    assert "PASS" in out.stdout and "task" in out.stdout
    assert json.loads(target.read_text())["score"] == 100
