"""Helpers for the Classroom tests: a released template as a student repository."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path

import pytest

from grader.release import Release, release

from .conftest import COURSE, LAYOUT

RELEASE_DAY = dt.date(2026, 9, 15)
"""Modules 01 and 02 are released by then (see classroom.yml)."""
ON_TIME = "2026-09-18T12:00:00Z"
GIT = ["git", "-c", "user.name=Student", "-c", "user.email=student@example.com"]


@pytest.fixture(scope="session")
def released(tmp_path_factory: pytest.TempPathFactory) -> Release:
    """One release per test session (read-only: copy it before changing anything)."""
    return release(LAYOUT, COURSE, tmp_path_factory.mktemp("dist"), RELEASE_DAY)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        [*GIT, *args], cwd=repo, capture_output=True, text=True, check=True
    ).stdout


def student_repository(template: Path, target: Path) -> Path:
    """A git repository whose first commit is the student template, as Classroom makes."""
    shutil.copytree(template, target)
    return first_commit(target)


def first_commit(folder: Path) -> Path:
    """Make `folder` a git repository whose first commit holds all of it."""
    git(folder, "init", "--quiet", "--initial-branch=main")
    git(folder, "add", "--all")
    git(folder, "commit", "--quiet", "-m", "Initial commit")
    return folder


def commit_solution(repo: Path, dirname: str, filename: str) -> None:
    """The student's work: the reference solution of one module, committed."""
    shutil.copy(LAYOUT.solutions / dirname / filename, repo / "assignments" / dirname / filename)
    git(repo, "commit", "--quiet", "-am", f"Solve {dirname}")
