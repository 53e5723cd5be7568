"""Shared pieces of the attack tests: a student's module 01 made from the starter, a
solution with an attack appended and its grade, and official grading through the command
line with its peak memory measured."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from grader.grade.engine import grade_module
from grader.report.results import ModuleResult

from .conftest import COURSE, LAYOUT

TENSOR, ACTIVATIONS = COURSE.module(1), COURSE.module(2)
REFERENCE_01 = LAYOUT.module_file(LAYOUT.solutions, TENSOR)


def starter_file(root: Path, module) -> Path:
    """The starter's file of `module` in the submission tree `root` (the honest stub)."""
    path = root / module.dirname / module.filename
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(LAYOUT.module_file(LAYOUT.starter, module).read_text())
    return path


PEAK_MB = 300
"""The grader's processes stay under this whatever the attack (the worker's own memory
limit is the course's; these attacks need little of it)."""


def starter_with(tmp_path: Path, code: str) -> Path:
    """A student repository whose module 01 is the starter with `code` added."""
    repo = tmp_path / "student-repo"
    path = starter_file(repo / "assignments", TENSOR)
    path.write_text(path.read_text() + "\n\n# ---- the attack ----\n" + code)
    return repo


def grade_with(
    tmp_path: Path, number: int, code: str, isolation: Any, tree: Path = LAYOUT.solutions
) -> ModuleResult:
    """The grade of module `number` of `tree` (the solutions by default) with `code`
    appended (it may redefine any name of the module), every test run, under `isolation`."""
    module = COURSE.module(number)
    path = tmp_path / tree.name / module.dirname / module.filename
    path.parent.mkdir(parents=True)
    text = LAYOUT.module_file(tree, module).read_text()
    path.write_text(text + "\n\n# ---- the attack ----\n" + code)
    return grade_module(LAYOUT, COURSE, module, path.parent.parent, True, isolation)


def official_cli(
    tmp_path: Path, repo: Path, *extra: str
) -> tuple[subprocess.CompletedProcess, int]:
    """Grade module 01 of `repo` officially (visible tests); returns the run and the peak
    resident memory, in MB, of every process it started."""
    command = [sys.executable, "-I", "-m", "grader", "--root", str(LAYOUT.root), "grade"]
    command += ["--module", "01", "--official", "--no-hidden", *extra]
    command += ["--submission", str(repo / "assignments"), "--json", str(tmp_path / "r.json")]
    measure = (
        "import resource, subprocess, sys\n"
        "done = subprocess.run(sys.argv[1:], capture_output=True, text=True, timeout=600)\n"
        "sys.stderr.write(done.stderr)\n"
        "print(done.stdout)\n"
        "print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", measure, *command], capture_output=True, text=True, timeout=700
    )
    *printed, last = out.stdout.rstrip().splitlines()
    code, peak_kb = map(int, last.split())
    done = subprocess.CompletedProcess(command, code, "\n".join(printed), out.stderr)
    return done, peak_kb // 1024


def assert_recorded_zero(tmp_path: Path, done: subprocess.CompletedProcess) -> dict:
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads((tmp_path / "r.json").read_text())
    visible = result["extra_data"]["max_score"]
    assert done.stdout.strip().splitlines()[-1] == f"Points 0/{visible:g}"
    return result
