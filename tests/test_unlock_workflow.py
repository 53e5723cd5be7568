"""The unlock workflow's command: only new files, never the student's; prerequisites."""

import json
import subprocess
import sys

import yaml

from grader.package import generated_body

from .classroom_helpers import git, released, student_repository  # noqa: F401 - a fixture

STUDENT_FILES = {
    "assignments/01_tensor/tensor.py": "# my tensor\n",
    "assignments/01_tensor/tensor.ipynb": '{"cells": []}\n',
    "assignments/01_tensor/tests/test_01_tensor.py": "# my own tests\n",
    "tinytorch/core/tensor.py": "# I edited the package by hand\n",
}


def _unlock(repo, today, *extra):
    out = subprocess.run(
        [sys.executable, "-m", "grader", "unlock", "--today", today, *extra],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    package = subprocess.run(
        [sys.executable, "-m", "grader", "package"], cwd=repo, capture_output=True, text=True
    )
    assert package.returncode == 0, package.stderr
    return out.stdout


def test_unlocking_twice_after_edits_changes_nothing_the_student_wrote(
    released,  # noqa: F811
    tmp_path,
):
    repo = student_repository(released.template, tmp_path / "repo")
    (repo / "assignments/02_activations/README.md").unlink()
    for name, text in STUDENT_FILES.items():
        (repo / name).write_text(text)
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "-m", "student work")
    message = tmp_path / "message.txt"
    first = _unlock(repo, "2026-10-01", "--message", str(message))
    assert "unlocked 03_layers" in first and "unlocked 02_activations" in first
    assert message.read_text().startswith("Unlock 02_activations, 03_layers")
    assert "- 02_activations: release date 2026-09-14 reached" in message.read_text()
    second = _unlock(repo, "2026-10-01")
    assert "unlocked" not in second.replace("already unlocked", "")
    for name, text in STUDENT_FILES.items():
        assert (repo / name).read_text() == text, f"unlock changed {name}"
    changes = git(repo, "status", "--porcelain").splitlines()
    modified = [line[3:] for line in changes if not line.startswith("??")]
    assert modified == ["tinytorch/__init__.py"], changes  # generated and unedited
    assert generated_body((repo / "tinytorch/__init__.py").read_text()) is not None
    assert "?? assignments/02_activations/README.md" in changes


def test_prerequisites_gate_unlocking_when_classroom_yml_asks(
    released,  # noqa: F811
    tmp_path,
):
    repo = student_repository(released.template, tmp_path / "repo")
    config = yaml.safe_load((repo / "classroom.yml").read_text())
    config["unlock"]["require_prerequisites"] = True
    (repo / "classroom.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    waiting = _unlock(repo, "2026-09-22", "--verbose")
    assert "locked 03_layers: needs 60% on 01_tensor, 02_activations" in waiting
    assert not (repo / "assignments/03_layers").exists()
    graded = json.loads((repo / ".grades/01_tensor/results.json").read_text())
    assert graded["score"] == 0, "the starter of 01 was graded for the prerequisite check"
    for dirname in ("01_tensor", "02_activations"):
        results = repo / ".grades" / dirname / "results.json"
        results.write_text(json.dumps({"score": 80, "extra_data": {"max_score": 100}}))
    assert "unlocked 03_layers" in _unlock(repo, "2026-09-22")
