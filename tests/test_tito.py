"""`tito` on a student repository made by the release, as a student would run it.

Modules 01 and 02 are unlocked on the release day; 03 is locked until 2026-09-21.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from grader.tito.cli import main as tito

from .classroom_helpers import git, released, student_repository  # noqa: F401 - a fixture
from .conftest import LAYOUT

TODAY = "2026-09-15"


@pytest.fixture
def repo(released, tmp_path) -> Path:  # noqa: F811
    return student_repository(released.template, tmp_path / "student")


def run(repo: Path, capsys, *args: str) -> tuple[int, str, str]:
    code = tito(["--root", str(repo), "--today", TODAY, *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_status_lists_every_module_and_the_next_step(repo, capsys):
    code, out, _ = run(repo, capsys, "status", "--json")
    status = json.loads(out)
    states = {m["key"]: m["state"] for m in status["modules"]}
    assert code == 0
    assert states["01"] == states["02"] == "unlocked"
    assert states["03"] == "locked"
    assert all(m["last_score"] is None for m in status["modules"])
    assert not any(m["ready"] for m in status["milestones"])
    assert "module 01" in status["next_step"]


def test_status_prints_plain_tables_when_not_on_a_terminal(repo, capsys):
    code, out, _ = run(repo, capsys, "status")
    assert code == 0
    assert "Module  Title" in out and "Milestones" in out
    assert "\x1b[" not in out and "┃" not in out  # no colours or boxes in a pipe
    assert out.rstrip().splitlines()[-1].startswith("Next: ")


def test_grade_prints_json_and_status_shows_the_score(repo, capsys):
    code, out, err = run(repo, capsys, "grade", "01", "--json")
    results = json.loads(out)  # stdout holds the JSON only; the table went to stderr
    assert code == 0
    assert results["modules"][0]["score"] == 0
    assert "01_tensor" in err
    _, out, _ = run(repo, capsys, "status", "--json")
    first = json.loads(out)["modules"][0]
    assert first["last_score"]["score"] == 0 and first["last_score"]["visible_only"]


def test_grade_json_is_the_typed_outcome_the_grader_returned(repo, capsys, monkeypatch):
    """tito calls the grader's `main_grade` and prints the results object it returns."""
    from grader import grade_verb

    returned: list[grade_verb.GradeOutcome] = []

    def recorded(**arguments) -> grade_verb.GradeOutcome:
        returned.append(grade(**arguments))
        return returned[-1]

    grade = grade_verb.main_grade
    monkeypatch.setattr(grade_verb, "main_grade", recorded)
    code, out, _ = run(repo, capsys, "grade", "02", "--json")
    (outcome,) = returned
    assert outcome.run is not None and code == outcome.code == 0
    assert [r.module for r in outcome.run.results] == ["02_activations"]
    assert out == json.dumps(outcome.combined(), indent=2) + "\n"
    assert json.loads(out)["score"] == round(sum(r.score for r in outcome.run.results), 2)


@pytest.mark.parametrize(
    ("verb", "key", "message"),
    [
        ("grade", "42", "there is no module '42' in this course"),
        ("grade", "03", "locked until 2026-09-21"),
        ("sync", "03", "locked until 2026-09-21"),
        ("notebook", "03", "locked until 2026-09-21"),
        ("sync", "zz", "`tito status` lists them"),
    ],
)
def test_unknown_and_locked_modules_say_what_to_do(repo, capsys, verb, key, message):
    code, out, err = run(repo, capsys, verb, key)
    assert code == 2
    assert message in err
    assert "Traceback" not in err + out


def test_a_released_module_missing_from_the_repository_says_tito_update(repo, capsys):
    shutil.rmtree(repo / "assignments" / "02_activations")
    code, _, err = run(repo, capsys, "grade", "02")
    assert code == 2
    assert "not in your repository yet: run `tito update` (or `make update`) to bring" in err
    assert "git pull" not in err
    _, out, _ = run(repo, capsys, "status", "--json")
    assert json.loads(out)["modules"][1]["state"] == "released: run tito update"
    assert "Module 02 is released: run `tito update`" in json.loads(out)["next_step"]


@pytest.mark.parametrize("verb", ["grade", "sync", "notebook"])
def test_a_locked_module_says_tito_update_brings_it_on_its_day(repo, capsys, verb):
    code, _, err = run(repo, capsys, verb, "03")
    assert code == 2
    assert (
        "locked until 2026-09-21; on that day, `tito update` (or `make update`) brings it "
        "into your repository"
    ) in err
    assert "git pull" not in err


def test_sync_reports_a_module_in_step(repo, capsys):
    code, out, _ = run(repo, capsys, "sync", "01")
    assert code == 0
    assert "same code" in out


def test_milestone_lists_without_a_number_and_refuses_unfinished_modules(repo, capfd):
    code, out, _ = run(repo, capfd, "milestone")
    assert code == 0
    assert "1957" in out and "tito milestone 01" in out
    code, _, err = run(repo, capfd, "milestone", "01")
    assert code == 2
    assert "Not done yet" in err and "01_tensor" in err


def test_doctor_finds_the_missing_remote_and_hides_a_token_in_it(repo, capsys):
    code, out, _ = run(repo, capsys, "doctor", "--json")
    checks = {c["name"]: c for c in json.loads(out)["checks"]}
    assert code == 1
    assert checks["Git remote"]["outcome"] == "fail"
    assert "git remote add origin" in checks["Git remote"]["fix"]
    git(repo, "remote", "add", "origin", "https://x-access-token:ghs_SECRET@github.com/o/r.git")
    code, out, _ = run(repo, capsys, "doctor", "--json")
    checks = {c["name"]: c for c in json.loads(out)["checks"]}
    assert checks["Git remote"]["outcome"] == "ok"
    assert "SECRET" not in out and "github.com/o/r.git" in out
    assert checks["Notebooks"]["outcome"] == "ok"


def test_doctor_sees_a_notebook_out_of_step(repo, capsys):
    module = repo / "assignments" / "01_tensor" / "tensor.py"
    module.write_text(module.read_text(encoding="utf-8") + "\n\nEXTRA = 1\n", encoding="utf-8")
    _, out, _ = run(repo, capsys, "doctor", "--json")
    checks = {c["name"]: c for c in json.loads(out)["checks"]}
    assert checks["Notebooks"]["outcome"] == "warn"
    assert "01: tensor.py and tensor.ipynb differ" in checks["Notebooks"]["detail"]


def test_doctor_restores_an_unreadable_pyproject_from_git(repo, capsys):
    (repo / "pyproject.toml").write_text("[project\n", encoding="utf-8")
    _, out, _ = run(repo, capsys, "doctor", "--json")
    packages = {c["name"]: c for c in json.loads(out)["checks"]}["Packages"]
    assert packages["outcome"] == "fail" and "cannot read pyproject.toml" in packages["detail"]
    assert packages["fix"] == "restore the course's copy: `git restore pyproject.toml`"


def test_without_the_course_environment_tito_says_make_venv(repo, tmp_path):
    bare = tmp_path / "bare-env"
    venv.create(bare, with_pip=False)
    program = (
        f"import sys, runpy; sys.path.insert(0, {str(repo)!r}); "
        f"sys.argv = ['tito', '--root', {str(repo)!r}, 'status']; "
        "runpy.run_module('grader.tito', run_name='__main__')"
    )
    result = subprocess.run(
        [str(bare / "bin" / "python"), "-I", "-c", program],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "the course environment is missing" in result.stderr
    assert "make venv" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_installed_script_runs_from_any_folder(tmp_path):
    from grader.tito.install import install

    script = install(tmp_path)
    result = subprocess.run(
        [str(script), "status", "--json"], capture_output=True, text=True, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["modules"][0]["key"] == "01"
    assert script.read_text(encoding="utf-8").startswith(f"#!{sys.executable} -I\n")


def test_a_corrupt_notebook_gets_one_line_and_a_way_back(repo, capsys):
    notebook = repo / "assignments" / "01_tensor" / "tensor.ipynb"
    notebook.write_text('{"cells": [', encoding="utf-8")
    code, out, err = run(repo, capsys, "sync", "01")
    assert code == 1
    assert "Traceback" not in out + err and "internal grader error" not in out + err
    assert "FROM=py" in err and len(err.strip().splitlines()) == 1
    _, out, _ = run(repo, capsys, "doctor", "--json")
    checks = {c["name"]: c for c in json.loads(out)["checks"]}
    assert "tensor.ipynb is broken (line 1" in checks["Notebooks"]["detail"]
    code, out, _ = run(repo, capsys, "sync", "01", "--from", "py")
    assert code == 0 and ".backups" in out
    assert run(repo, capsys, "sync", "01")[1].strip().endswith("hold the same code.")


def test_grading_refreshes_the_package_that_notebooks_import(repo, capsys):
    from grader.package import generated_body

    solution = (LAYOUT.solutions / "01_tensor" / "tensor.py").read_text(encoding="utf-8")
    (repo / "assignments" / "01_tensor" / "tensor.py").write_text(solution, encoding="utf-8")
    code, out, _ = run(repo, capsys, "grade", "01")
    full_marks = re.search(r"Points ([\d.]+)/\1\b", out)  # every visible point
    assert code == 0 and full_marks, out[-300:]
    assert "Rebuilt tinytorch/" in out
    built = (repo / "tinytorch" / "core" / "tensor.py").read_text(encoding="utf-8")
    assert generated_body(built) == solution
