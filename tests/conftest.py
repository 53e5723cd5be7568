"""Shared fixtures for the template's own tests."""

from __future__ import annotations

import os
import shutil
from functools import cache
from pathlib import Path

import pytest

from grader.assign.starter import built_modules
from grader.course import Course, ModuleSpec, load_course
from grader.grade.engine import grade_module
from grader.layout import Layout
from grader.remote.isolation import Isolation, choose, isolation_required
from grader.report.results import ModuleResult

LAYOUT = Layout()
COURSE = load_course(LAYOUT.manifest)
BUILT = built_modules(LAYOUT, COURSE)


@pytest.fixture(scope="session")
def layout() -> Layout:
    return LAYOUT


@pytest.fixture(scope="session")
def course() -> Course:
    return COURSE


def copy_of_course(root: Path, *, starter: bool = False) -> Layout:
    """A course repository at `root` holding this course's classroom.yml and, with
    `starter`, a copy of its starter/ (the template's published modules and tests)."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(LAYOUT.manifest, root / "classroom.yml")
    if starter:
        shutil.copytree(LAYOUT.starter, root / "starter")
    return Layout(root)


@cache
def default_isolation() -> Isolation:
    """What `python -m grader grade` chooses here, chosen once for the test session."""
    return choose(isolation_required())


_GRADES: dict[tuple[str, str], ModuleResult] = {}


def graded(module: ModuleSpec, tree: str) -> ModuleResult:
    """Grade `module` in `solutions` or `starter` once per test session."""
    key = (module.dirname, tree)
    if key not in _GRADES:
        _GRADES[key] = grade_module(
            LAYOUT, COURSE, module, LAYOUT.root / tree, True, default_isolation()
        )
    return _GRADES[key]


# The parity suite needs PyTorch, which lives only in .venv/parity (`make parity`).
collect_ignore = [] if os.environ.get("TINYTORCH_PARITY") == "1" else ["parity"]
