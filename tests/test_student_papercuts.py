"""A student's papercuts, on a repository made by the release: a moved folder repairs its
environment, bare `pytest` points to `make grade`, `./tito` works without activating, and
modules are named the way students name them.

The course environment is copied from the one running these tests (hard links, so no
install): a copy made for another folder is exactly what a moved repository holds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from grader.tito.cli import main as tito
from grader.tito.relocate import relocate

from .classroom_helpers import commit_solution, released, student_repository  # noqa: F401
from .test_tito import TODAY

ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
RUNNING_VENV = Path(sys.prefix)


@pytest.fixture
def repo(released, tmp_path) -> Path:  # noqa: F811
    return student_repository(released.template, tmp_path / "student")


@pytest.fixture
def built(repo) -> Path:
    """The student repository with a course environment made for another folder."""
    if RUNNING_VENV.name != ".venv" or not (RUNNING_VENV / ".made-for").is_file():
        pytest.fail("run the tests with the course environment: make venv, then .venv/bin/python")
    venv = repo / ".venv"
    subprocess.run(["cp", "-al", str(RUNNING_VENV), str(venv)], check=True)
    for name in (".installed", ".made-for"):  # fresh files: never write through a hard link
        (venv / name).unlink()
    (venv / ".made-for").write_text(f"{RUNNING_VENV.parent}\n", encoding="utf-8")
    (venv / ".installed").touch()
    return repo


def make(repo: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "--no-print-directory", "-C", str(repo), *args],
        capture_output=True, text=True, env=ENV, cwd=cwd, check=False,
    )  # fmt: skip


def test_a_moved_folder_repairs_its_environment_with_one_line(built, tmp_path):
    first = make(built, "status")
    assert first.returncode == 0, first.stderr
    assert f"moved from {RUNNING_VENV.parent}" in first.stdout
    moved = tmp_path / "renamed folder"
    built.rename(moved)
    result = make(moved, "status")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == (f"This repository moved from {built}: pointed .venv/ at its new folder.")
    assert sum("moved from" in line for line in lines) == 1
    assert lines[-1].startswith("Next: ")
    where = subprocess.run(
        [str(moved / ".venv/bin/python"), "-I", "-c", "import grader; print(grader.__file__)"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert Path(where.stdout.strip()).resolve().is_relative_to(moved)
    assert (moved / ".venv/bin/tito").read_text().startswith(f"#!{moved}/.venv/bin/python")
    assert (moved / ".venv/.made-for").read_text().strip() == str(moved)
    again = make(moved, "status")
    assert again.returncode == 0 and "moved from" not in again.stdout


def test_the_launcher_runs_tito_without_activating_and_infers_the_module(built):
    launcher = built / "tito"
    assert os.access(launcher, os.X_OK)
    commit_solution(built, "01_tensor", "tensor.py")
    folder = built / "assignments" / "01_tensor"
    result = subprocess.run(
        ["../../tito", "--today", TODAY, "grade", "--json"],
        cwd=folder, capture_output=True, text=True, env=ENV, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    modules = json.loads(result.stdout)["modules"]
    assert [m["extra_data"]["module"] for m in modules] == ["01_tensor"]
    assert modules[0]["score"] == modules[0]["extra_data"]["max_score"] > 0


def test_bare_pytest_at_the_root_says_use_make_grade(repo):
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider"],
        cwd=repo, capture_output=True, text=True, env=ENV, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "make grade MODULE=NN" in result.stderr
    assert "import file mismatch" not in result.stdout + result.stderr


def test_grading_ignores_the_root_conftest(repo, capsys):
    (repo / "conftest.py").write_text(
        (repo / "conftest.py").read_text() + "\nraise SystemExit('conftest was read')\n"
    )
    code = tito(["--root", str(repo), "--today", TODAY, "grade", "01", "--json"])
    out, _ = capsys.readouterr()
    assert code == 0
    assert json.loads(out)["modules"][0]["score"] == 0  # the starter, graded as usual


@pytest.mark.parametrize("key", ["tensor", "1", "01_tensor"])
def test_modules_are_named_by_number_slug_or_folder(repo, capsys, key):
    code = tito(["--root", str(repo), "--today", TODAY, "grade", key, "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out)["modules"][0]["extra_data"]["module"] == "01_tensor"


def test_grade_without_a_module_grades_the_one_being_worked_on(repo):
    commit_solution(repo, "01_tensor", "tensor.py")
    layout_args = [sys.executable, "-I", "-m", "grader", "--root", str(repo)]
    first = subprocess.run(
        [*layout_args, "grade", "--module", "current", "--today", TODAY],
        capture_output=True, text=True, env=ENV, check=False,
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    assert "Grading module 01_tensor, the one you are working on" in first.stdout
    second = subprocess.run(
        [*layout_args, "grade", "--module", "current", "--today", TODAY],
        capture_output=True, text=True, env=ENV, check=False,
    )  # fmt: skip
    assert "Grading module 02_" in second.stdout  # 01 passes now: on to the next


def test_make_grade_without_module_grades_the_module_being_worked_on(built):
    result = make(built, "grade")
    assert result.returncode == 0, result.stderr
    assert "Grading module 01_tensor, the one you are working on" in result.stdout
    assert "01_tensor" in result.stdout.split("working on", 1)[1]


def test_a_shared_environment_is_never_repointed_from_another_checkout(tmp_path):
    """A .venv that is a link (tests share the project's; a user may share one) belongs to
    another folder: relocating from here would break it there."""
    owner = tmp_path / "owner"
    venv = owner / ".venv"
    (venv / "course-packages").mkdir(parents=True)
    (venv / ".made-for").write_text(f"{owner}\n")
    (venv / "bin").mkdir()
    (venv / "bin" / "tito").write_text(f"#!{venv}/bin/python\n")
    other = tmp_path / "other"
    other.mkdir()
    (other / ".venv").symlink_to(venv)
    assert relocate(other / ".venv", other) is None
    assert (venv / ".made-for").read_text() == f"{owner}\n"
    assert (venv / "bin" / "tito").read_text() == f"#!{venv}/bin/python\n"
    assert list((venv / "course-packages").iterdir()) == []


def test_make_works_in_a_module_folder(built):
    folder = built / "assignments" / "02_activations"
    assert (folder / "Makefile").is_file(), "the release seeds a Makefile in each module folder"
    run = lambda *args: subprocess.run(  # noqa: E731
        ["make", "--no-print-directory", *args],
        cwd=folder, capture_output=True, text=True, env=ENV, check=False,
    )  # fmt: skip
    graded = run("grade")
    assert graded.returncode == 0, graded.stdout + graded.stderr
    assert "Points " in graded.stdout
    results = json.loads((built / ".grades/02_activations/results.json").read_text())
    assert results["extra_data"]["module"] == "02_activations"
    assert not (built / ".grades/01_tensor").exists()
    synced = run("sync")
    assert synced.returncode == 0 and "already hold the same code" in synced.stdout
    listed = run()
    assert listed.returncode == 0 and "make grade MODULE=01" in listed.stdout


def test_make_update_in_a_module_folder_says_what_it_did(built):
    result = subprocess.run(
        ["make", "--no-print-directory", "update"],
        cwd=built / "assignments" / "01_tensor", capture_output=True, text=True, env=ENV,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "\nThis repository has no `origin` remote: nothing to fetch.\n" in result.stdout
