"""A push, played locally: the released template as a student repository, a solved
module committed, and the make target the grade workflow runs."""

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

from .classroom_helpers import (  # noqa: F401 - `released` is a fixture
    ON_TIME,
    commit_solution,
    git,
    released,
    student_repository,
)
from .conftest import LAYOUT

VISIBLE_TEST = "starter/01_tensor/tests/test_01_tensor.py"


def _make_classroom_grade(repo: Path, bundle: Path | None, tmp_path: Path) -> list[str]:
    """`make classroom-grade` as grade.yml runs it, on this project's venv."""
    stamp = tmp_path / "venv-ready"
    stamp.touch()
    os.utime(stamp, (4102444800, 4102444800))  # newer than pyproject.toml: no reinstall
    command = [
        "make",
        "--no-print-directory",
        "classroom-grade",
        f"PYTHON={sys.executable}",
        f"PY={sys.executable}",
        f"STAMP={stamp}",
        f"PUSHED_AT={ON_TIME}",
        f"BUNDLE={bundle or tmp_path / 'no-bundle'}",
    ]
    out = subprocess.run(command, cwd=repo, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out.stdout.splitlines()


def _live_commands(lines: list[str]) -> list[str]:
    """Workflow commands GitHub would act on (outside ::stop-commands:: regions)."""
    live, token = [], None
    for line in lines:
        text = line.lstrip()
        if token is None and text.startswith("::stop-commands::"):
            token = text[len("::stop-commands::") :]
        elif token is not None and text == f"::{token}::":
            token = None
        elif token is None and text.startswith("::"):
            live.append(text)
    return live


def test_a_push_with_the_grader_bundle(released, tmp_path):  # noqa: F811
    repo = student_repository(released.template, tmp_path / "repo")
    commit_solution(repo, "01_tensor", "tensor.py")
    lines = _make_classroom_grade(repo, released.bundle, tmp_path)
    assert _live_commands(lines) == [
        "::notice title=Autograding complete::Points 100/200",
        '::notice title=Autograding report::{"totalPoints":100,"maxPoints":200}',
    ]
    results = json.loads((repo / ".grades" / "results.json").read_text())
    assert (results["score"], results["max_score"], results["flagged"]) == (100, 200, False)
    assert [m["extra_data"]["module"] for m in results["modules"]] == [
        "01_tensor",
        "02_activations",
    ]
    assert any("hidden" in t["tags"] for t in results["modules"][0]["tests"])
    runner = json.loads(base64.b64decode(results["classroom_result"]))
    assert runner["max_score"] == 200 and round(sum(t["score"] for t in runner["tests"])) == 100
    summary = (repo / ".grades" / "summary.md").read_text()
    assert "**Points 100/200**" in summary
    assert "| 01_tensor Tensor | 100/100 | " in summary
    assert "| 02_activations Activations | 0/100 | " in summary
    assert "Task 02.1" in summary and "(hidden test)" in summary
    assert "Hidden tests were not available" not in summary
    hidden_source = (LAYOUT.hidden_tests / "02_activations").glob("test_*.py")
    for path in hidden_source:
        for line in path.read_text().splitlines():
            if line.strip().startswith(("def test_", "assert ")):
                assert line.strip() not in summary, line
    package = repo / "tinytorch" / "core" / "tensor.py"
    assert "return a + b" in package.read_text(), "tinytorch/ was not rebuilt"


def test_a_push_without_the_bundle_grades_visible_tests_and_says_so(
    released,  # noqa: F811
    tmp_path,
):
    repo = student_repository(released.template, tmp_path / "repo")
    commit_solution(repo, "01_tensor", "tensor.py")
    lines = _make_classroom_grade(repo, None, tmp_path)
    results = json.loads((repo / ".grades" / "results.json").read_text())
    assert not any("hidden" in t["tags"] for m in results["modules"] for t in m["tests"])
    assert all(m["extra_data"]["visible_only"] for m in results["modules"])
    visible = results["max_score"]
    assert 0 < visible < 200, "visible tests alone must not be scaled up to the full points"
    [tensor, activations] = results["modules"]
    assert tensor["score"] == tensor["extra_data"]["max_score"] and activations["score"] == 0
    complete = f"::notice title=Autograding complete::Points {tensor['score']:g}/{visible:g}"
    assert complete in _live_commands(lines)
    summary = (repo / ".grades" / "summary.md").read_text()
    assert "(visible tests only)" in summary
    assert "Only the visible tests were graded here, out of their own points" in summary
    assert "GRADER_TOKEN" not in summary


def test_a_push_with_edited_tests_and_workflow_is_graded_with_the_template_copy(
    released,  # noqa: F811
    tmp_path,
):
    repo = student_repository(released.template, tmp_path / "repo")
    commit_solution(repo, "01_tensor", "tensor.py")
    (repo / "starter/02_activations/tests/test_02_activations.py").write_text(
        "import pytest\n\n\n@pytest.mark.task('02.1')\n@pytest.mark.points(1)\n"
        "def test_free():\n    assert True\n"
    )
    (repo / VISIBLE_TEST).unlink()
    workflow = repo / ".github/workflows/grade.yml"
    workflow.write_text(workflow.read_text().replace("make classroom-grade", "echo skipped"))
    git(repo, "commit", "--quiet", "-am", "make grading easier")
    lines = _make_classroom_grade(repo, released.bundle, tmp_path)
    assert "::notice title=Autograding complete::Points 100/200" in _live_commands(lines)
    results = json.loads((repo / ".grades" / "results.json").read_text())
    assert results["flagged"] is True
    summary = (repo / ".grades" / "summary.md").read_text()
    assert "graded as the template's copy" in summary
    for path in (VISIBLE_TEST, ".github/workflows/grade.yml", "test_02_activations.py"):
        assert path in summary
    assert "flagged for your instructor" in summary
