"""The attack battery, second pass: what a student can do with only their repository.

Each attack is graded as official grading is (OS isolation; the service's grade-batch
for the git cases) and scores what the honest stub scores (0 here), without crashing the
grader or losing the record. The defences: grader/grade/submission.py (files are data),
grader/grade/sources.py (the reference after the late window), grader/service/batch.py
(blobs, not a checkout), grader/worker/ and grader/testing/remote.py (bounded answers,
memory, processes and time), grader/report/ (records that nothing can stop).
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from grader.grade.engine import grade_module
from grader.grade.isolation import choose
from grader.report.formats import to_gradescope
from grader.service.batch import grade_batch
from grader.service.plan import Job

from .conftest import COURSE, LAYOUT

TENSOR, ACTIVATIONS = COURSE.module(1), COURSE.module(2)
REFERENCE_01 = LAYOUT.module_file(LAYOUT.solutions, TENSOR)
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


def _starter_file(root: Path, module) -> Path:
    path = root / module.dirname / module.filename
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(LAYOUT.module_file(LAYOUT.starter, module).read_text())
    return path


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
    command = [sys.executable, "-I", "-m", "grader", "--root", str(LAYOUT.root), "grade"]
    command += ["--module", "01", "--official", "--no-hidden"]
    command += ["--submission", str(repo / "assignments"), "--json", str(tmp_path / "r.json")]
    out = subprocess.run(command, cwd=repo, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads((tmp_path / "r.json").read_text())
    visible = result["extra_data"]["max_score"]
    assert out.stdout.strip().splitlines()[-1] == f"Points 0/{visible:g}"
    assert "symbolic link" in json.dumps(result)


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
    _starter_file(root, ACTIVATIONS).write_text(READS_ITS_PREREQUISITE)
    result = grade_module(LAYOUT, own_prerequisites, ACTIVATIONS, root, True, isolation)
    assert result.score == 0 and result.tests
    _assert_no_reference(json.dumps(to_gradescope(result)))
    assert any("symbolic link" in note for note in result.notes), result.notes


def _git_repository(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A student's bare repository with one commit per link attack."""
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
    _starter_file(work / "assignments", ACTIVATIONS).write_text(READS_ITS_PREREQUISITE)
    commit("prerequisite-link")
    return tmp_path / "git", commits


def test_links_in_a_commit_score_zero_through_grade_batch(tmp_path, isolation, own_prerequisites):
    git_root, commits = _git_repository(tmp_path)
    jobs = tuple(
        Job("course/student", "student", sha, "2026-09-12T09:00:00Z", modules)
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
    assert len(report.results) == 3
    for job_result in report.results:
        assert not job_result.error, job_result.error
        [result] = job_result.results
        assert result.score == 0 and result.tests, (job_result.job, result.score)
        _assert_no_reference(json.dumps(to_gradescope(result)))
