"""The attack battery, second pass: what a student can do with only their repository.

Each attack is graded as official grading is (OS isolation; the service's grade-batch
for the git cases) and scores what the honest stub scores (0 here), without crashing the
grader or leaking what it must not. Here: links to the reference (grader/submission.py,
grader/service/batch.py), notes that quote the student (grader/report/formats.py),
notebooks of any shape, and hidden-test feedback without the oracle
(grader/grade/plugin.py). Resources, time and the record: test_attacks_resources.py.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
from pathlib import Path

import pytest

from grader.grade.engine import grade_module
from grader.remote.isolation import choose
from grader.report.formats import to_gradescope
from grader.service.batch import grade_batch
from grader.service.plan import Job
from grader.timestamps import parse_time

from .attack_helpers import (
    ACTIVATIONS,
    REFERENCE_01,
    TENSOR,
    assert_recorded_zero,
    official_cli,
    starter_file,
)
from .conftest import COURSE, LAYOUT

GIT = ["git", "-c", "user.name=Student", "-c", "user.email=student@example.com"]


@pytest.fixture(scope="module")
def isolation():
    """Official grading's isolation; these tests fail (with how to fix it) without it."""
    return choose(required=True)


@pytest.fixture(scope="module")
def own_prerequisites():
    """The course with module 01 due in the future: while its late window is open, module
    02 is graded with the student's own module 01."""
    later = TENSOR.due.replace(year=TENSOR.due.year + 50)
    modules = tuple(dataclasses.replace(m, due=later) if m == TENSOR else m for m in COURSE.modules)
    return dataclasses.replace(COURSE, modules=modules)


def _solution_only_lines() -> set[str]:
    """Lines of the reference module 01 that the starter does not have."""
    starter = set(LAYOUT.module_file(LAYOUT.starter, TENSOR).read_text().splitlines())
    return {
        line.strip()
        for line in REFERENCE_01.read_text().splitlines()
        if line not in starter and len(line.strip()) > 25 and "np." in line
    }


READS_ITS_PREREQUISITE = """
import os as _os
_text = open(_os.path.join(_os.path.dirname(__file__), "tensor.py")).read()
raise RuntimeError("\\n".join(l for l in _text.splitlines() if "np." in l)[-1900:])
"""
"""Module 02 that prints the staged module 01 into its feedback."""


def _assert_no_reference(report: str) -> None:
    leaked = [line for line in _solution_only_lines() if line in report]
    assert not leaked, f"the reference reached the report: {leaked[:3]}"


# 1. Links: a module file, a module folder, a prerequisite.


def test_a_module_file_linked_to_the_reference_scores_zero_in_official_grading(tmp_path):
    repo = tmp_path / "student-repo"
    link = repo / "assignments" / TENSOR.dirname / TENSOR.filename
    link.parent.mkdir(parents=True)
    link.symlink_to(REFERENCE_01)
    done, _ = official_cli(tmp_path, repo)
    assert "symbolic link" in json.dumps(assert_recorded_zero(tmp_path, done))


def test_a_module_folder_linked_to_the_reference_scores_zero(tmp_path, isolation):
    root = tmp_path / "submission"
    root.mkdir()
    (root / TENSOR.dirname).symlink_to(REFERENCE_01.parent, target_is_directory=True)
    result = grade_module(LAYOUT, COURSE, TENSOR, root, False, isolation)
    assert result.score == 0 and result.tests
    assert any("symbolic link" in note for note in result.notes), result.notes


def test_a_submission_root_that_is_a_link_is_refused(tmp_path, isolation):
    (tmp_path / "submission").symlink_to(LAYOUT.solutions, target_is_directory=True)
    result = grade_module(LAYOUT, COURSE, TENSOR, tmp_path / "submission", False, isolation)
    assert result.score == 0 and result.tests


def test_a_prerequisite_linked_to_the_reference_is_not_staged(
    tmp_path, isolation, own_prerequisites
):
    root = tmp_path / "submission"
    (root / TENSOR.dirname).mkdir(parents=True)
    (root / TENSOR.dirname / TENSOR.filename).symlink_to(REFERENCE_01)
    starter_file(root, ACTIVATIONS).write_text(READS_ITS_PREREQUISITE)
    result = grade_module(LAYOUT, own_prerequisites, ACTIVATIONS, root, True, isolation)
    assert result.score == 0 and result.tests
    _assert_no_reference(json.dumps(to_gradescope(result)))
    assert any("symbolic link" in note for note in result.notes), result.notes


def _git_repository(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A student's bare repository with one commit per attack (its branch's name)."""
    work, bare = tmp_path / "work", tmp_path / "git" / "course" / "student.git"
    (work / "assignments").mkdir(parents=True)
    subprocess.run(["git", "init", "--quiet", str(work)], check=True)
    subprocess.run(["git", "init", "--quiet", "--bare", str(bare)], check=True)
    commits = {}

    def commit(name: str) -> None:
        subprocess.run([*GIT, "add", "--all"], cwd=work, check=True)
        subprocess.run([*GIT, "commit", "--quiet", "-m", name], cwd=work, check=True)
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=work, capture_output=True, text=True, check=True
        ).stdout.strip()
        subprocess.run(["git", "push", "--quiet", str(bare), f"{sha}:refs/heads/{name}"], cwd=work)
        commits[name] = sha

    folder = work / "assignments" / TENSOR.dirname
    folder.mkdir()
    (folder / TENSOR.filename).symlink_to(REFERENCE_01)
    commit("file-link")
    (folder / TENSOR.filename).unlink()
    folder.rmdir()
    folder.symlink_to(REFERENCE_01.parent, target_is_directory=True)
    commit("folder-link")
    folder.unlink()
    folder.mkdir()
    (folder / TENSOR.filename).symlink_to(REFERENCE_01)
    starter_file(work / "assignments", ACTIVATIONS).write_text(READS_ITS_PREREQUISITE)
    commit("prerequisite-link")
    (folder / TENSOR.filename).unlink()
    (folder / TENSOR.filename).write_text("x = 0\n" * 50_000)  # 300 KB
    commit("too-large")
    return tmp_path / "git", commits


REFUSED_BECAUSE = {
    "file-link": "symbolic link",
    "folder-link": "symbolic link",
    "prerequisite-link": "symbolic link",
    "too-large": "it is 292 KB, over the grader's limit of 256 KB",
}


def test_links_and_large_files_in_a_commit_score_zero_through_grade_batch(
    tmp_path, isolation, own_prerequisites
):
    git_root, commits = _git_repository(tmp_path)
    jobs = tuple(
        Job("course/student", "student", sha, parse_time("2026-09-12T09:00:00Z"), modules)
        for name, sha in commits.items()
        for modules in [("02",) if name == "prerequisite-link" else ("01",)]
    )
    report = grade_batch(
        jobs=jobs,
        layout=LAYOUT,
        course=own_prerequisites,
        clone_url=f"file://{git_root}/{{repository}}.git",
        token="",
        isolation=isolation,
    )
    assert len(report.results) == len(REFUSED_BECAUSE)
    for name, job_result in zip(commits, report.results, strict=True):
        assert not job_result.error, job_result.error
        [result] = job_result.results
        assert result.score == 0 and result.tests, (job_result.job, result.score)
        _assert_no_reference(json.dumps(to_gradescope(result)))
        assert any(REFUSED_BECAUSE[name] in note for note in result.notes), result.notes


# 7. Notebooks of any shape, notes that quote the student.


def test_a_deeply_nested_notebook_is_a_warning_not_a_crash(tmp_path):
    from grader.assign.workspace import sync_notebook

    folder = tmp_path / TENSOR.dirname
    starter_file(tmp_path, TENSOR)
    (folder / "tensor.ipynb").write_text('{"cells": ' + "[" * 200_000 + "]" * 200_000 + "}")
    said = sync_notebook(folder, TENSOR)
    assert "is not a valid notebook" in said and "nested too deeply" in said, said


FORGED = "x = ` **Official grades recorded in this run** Module 01 (final): 100/100 [x](y) y = `"


def _html(markdown: str) -> str:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").enable("table").render(markdown)


def _rendered_strong(markdown: str) -> list[str]:
    return [part.split("</strong>")[0] for part in _html(markdown).split("<strong>")[1:]]


def test_a_note_quoting_the_student_cannot_escape_into_markdown(tmp_path, isolation):
    from grader.report.formats import markdown_summary
    from grader.service.feedback import comment

    root = tmp_path / "submission"
    starter_file(root, TENSOR).write_text(FORGED + "\n")
    result = grade_module(LAYOUT, COURSE, TENSOR, root, False, isolation)
    assert result.score == 0 and any("Official grades" in note for note in result.notes)
    summary = markdown_summary([result])
    posted = comment("0" * 40, parse_time("2026-09-12T09:00:00Z"), [result])
    assert "Official grades" not in " ".join(_rendered_strong(summary))
    assert "Official grades" not in " ".join(_rendered_strong(posted))
    assert '<a href="y">' not in _html(summary) + _html(posted)
    assert "Module 01 (final): 100/100" in _html(summary).replace("\\", "")


# 8. Hidden-test feedback: where and how much, not the oracle.


def test_hidden_feedback_shows_where_and_how_much_never_the_expected_values(tmp_path, isolation):
    root = tmp_path / "submission"
    path = starter_file(root, TENSOR)
    solution = REFERENCE_01.read_text()
    assert solution.count("        return np.exp(a)\n") == 1
    path.write_text(
        solution.replace("return np.exp(a)\n", "return np.exp(a) * np.float32(1.001)\n")
    )
    result = grade_module(LAYOUT, COURSE, TENSOR, root, True, isolation)
    hidden = [t.feedback for t in result.tests if t.hidden and not t.passed]
    visible = [t.feedback for t in result.tests if not t.hidden and not t.passed]
    assert hidden and visible and 0 < result.score < 100
    assert any("DESIRED" in feedback for feedback in visible)  # the student has those tests
    for feedback in hidden:
        assert "values differ" in feedback and "Max absolute difference" in feedback, feedback
        for oracle in ("ACTUAL", "DESIRED", "Falsifying example", "array("):
            assert oracle not in feedback, feedback
