"""Unlock mornings, with real git: the student's clone of a repository made by the
release (a local bare repository is GitHub), the Unlock modules workflow's commit pushed
from another clone, and `tito update` bringing the new modules in whatever the student
did: local commits, a local `make unlock` (even with the unlocked file edited), and
uncommitted work. Nothing is lost, and every step is said."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from grader.tito.cli import main as tito

from .classroom_helpers import first_commit, git, released  # noqa: F401 - a fixture

MORNING_1 = "2026-09-22"
"""Module 03 (layers) was released on 2026-09-21: the workflow runs a day late."""
MORNING_2 = "2026-09-28"
"""Module 04 (losses) is released that day."""


@pytest.fixture
def github(released, tmp_path, monkeypatch) -> Path:  # noqa: F811
    """The student's repository on GitHub: a bare repository made from the template."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "no-global-gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")  # no identity: tito update must cope
    seed = tmp_path / "seed"
    subprocess.run(["cp", "-r", str(released.template), str(seed)], check=True)
    return bare_clone(first_commit(seed))


def bare_clone(repo: Path) -> Path:
    """A bare clone beside `repo`: its repository on GitHub."""
    bare = repo.parent / "github.git"
    git(repo.parent, "clone", "--quiet", "--bare", str(repo), str(bare))
    return bare


def clone(github: Path, target: Path) -> Path:
    git(github.parent, "clone", "--quiet", str(github), str(target))
    return target


def grader(repo: Path, *args: str) -> str:
    """`python -m grader` of the repository itself, in it (what make runs)."""
    result = subprocess.run(
        [sys.executable, "-m", "grader", *args], cwd=repo, capture_output=True, text=True,
        timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def unlock_workflow(github: Path, workspace: Path, today: str) -> str:
    """What .github/workflows/unlock.yml does on `today`: unlock, commit, push."""
    runner = clone(github, workspace) if not workspace.exists() else workspace
    git(runner, "pull", "--quiet", "--ff-only")
    message = runner.parent / f"message-{today}.txt"
    grader(runner, "unlock", "--today", today, "--message", str(message))
    git(runner, "add", "--", "assignments")
    git(runner, "commit", "--quiet", "-F", str(message))
    git(runner, "push", "--quiet", "origin", "HEAD:main")
    return message.read_text()


def update(repo: Path, today: str, capsys) -> tuple[int, str, str]:
    code = tito(["--root", str(repo), "--today", today, "update"])
    out, err = capsys.readouterr()
    return code, out, err


def edit(path: Path, line: str) -> str:
    path.write_text(path.read_text() + f"\n{line}\n")
    return line


def changes(repo: Path) -> list[str]:
    """`git status` entries outside tinytorch/ (which updates rebuild)."""
    lines = git(repo, "status", "--porcelain").splitlines()
    return [line for line in lines if not line[3:].startswith("tinytorch/")]


def test_two_unlock_mornings_with_local_commits_a_local_unlock_and_uncommitted_work(
    github, tmp_path, capsys
):
    student = clone(github, tmp_path / "student")
    work = student / "assignments"
    committed = edit(work / "01_tensor/tensor.py", "MY_COMMITTED_WORK = 1")
    git(student, "commit", "--quiet", "-am", "My tensor")
    # Morning 1: `make unlock` before the workflow ran, then work in the new module.
    assert "unlocked 03_layers" in grader(student, "unlock", "--today", MORNING_1)
    in_unlocked = edit(work / "03_layers/layers.py", "MY_LAYERS_WORK = 1")
    uncommitted = edit(work / "02_activations/activations.py", "MY_UNCOMMITTED_WORK = 1")
    message = unlock_workflow(github, tmp_path / "actions", MORNING_1)
    assert "- 03_layers: release date 2026-09-21 reached" in message
    pull = subprocess.run(["git", "pull"], cwd=student, capture_output=True, text=True)
    assert pull.returncode != 0  # why `tito update` exists

    code, out, err = update(student, MORNING_1, capsys)
    assert code == 0, err
    assert "Saved your uncommitted work in commit " in out
    assert "assignments/02_activations/activations.py, assignments/03_layers/" in out
    merged = "Merged 1 commit of origin/main (Unlock 03_layers): assignments/03_layers/ (6 files)"
    assert merged in out
    assert "Kept your version of assignments/03_layers/layers.py" in out
    assert "Your branch is 3 commits ahead of origin/main: `git push`" in out
    for path, line in [
        ("01_tensor/tensor.py", committed),
        ("03_layers/layers.py", in_unlocked),
        ("02_activations/activations.py", uncommitted),
    ]:
        assert line in (work / path).read_text(), path
        assert line in git(student, "show", f"HEAD:assignments/{path}"), path
    assert git(student, "merge-base", "--is-ancestor", "origin/main", "HEAD") == ""
    assert changes(student) == []
    git(student, "push", "--quiet", "origin", "HEAD:main")

    # Morning 2: a local commit, then `tito update` before the workflow ran.
    later = edit(work / "03_layers/layers.py", "MORE_LAYERS_WORK = 2")
    git(student, "commit", "--quiet", "-am", "More layers")
    code, out, err = update(student, MORNING_2, capsys)
    assert code == 0, err
    assert "Nothing new on origin/main." in out
    assert "Unlocked 04_losses here (released 2026-09-28)" in out
    assert "Next release: module 05 on 2026-10-05." in out
    assert (work / "04_losses/losses.py").is_file()
    wip = edit(work / "01_tensor/tensor.py", "WORK_IN_PROGRESS = 3")
    unlock_workflow(github, tmp_path / "actions", MORNING_2)  # the same files, committed

    code, out, err = update(student, MORNING_2, capsys)
    assert code == 0, err
    assert "Merged 1 commit of origin/main (Unlock 04_losses)" in out
    assert "Unlocked" not in out  # already here, and now committed
    for path, line in [("03_layers/layers.py", later), ("01_tensor/tensor.py", wip)]:
        assert line in git(student, "show", f"HEAD:assignments/{path}"), path
    assert changes(student) == []
    assert git(student, "merge-base", "--is-ancestor", "origin/main", "HEAD") == ""


def test_a_real_conflict_stops_the_merge_and_loses_nothing(github, tmp_path, capsys):
    student = clone(github, tmp_path / "student")
    laptop = clone(github, tmp_path / "laptop")  # the student's other computer
    theirs = edit(laptop / "assignments/01_tensor/tensor.py", "FROM_THE_LAPTOP = 1")
    git(laptop, "commit", "--quiet", "-am", "Tensor on the laptop")
    git(laptop, "push", "--quiet", "origin", "HEAD:main")
    ours = edit(student / "assignments/01_tensor/tensor.py", "FROM_THE_DESKTOP = 1")
    code, out, err = update(student, MORNING_1, capsys)
    assert code == 1
    assert "Saved your uncommitted work in commit" in out
    assert "these files changed both here and on GitHub: assignments/01_tensor/tensor.py" in err
    assert "nothing of it was merged" in err
    assert "`git merge origin/main`" in err
    assert ours in git(student, "show", "HEAD:assignments/01_tensor/tensor.py")
    assert theirs not in (student / "assignments/01_tensor/tensor.py").read_text()
    assert not (student / ".git/MERGE_HEAD").exists() and changes(student) == []
    code, _, err = update(student, MORNING_1, capsys)  # and again: the same stop, no harm
    assert code == 1 and "changed both here and on GitHub" in err


def test_an_update_in_the_middle_of_a_merge_changes_nothing(github, tmp_path, capsys):
    student = clone(github, tmp_path / "student")
    (student / ".git/MERGE_HEAD").write_text(git(student, "rev-parse", "HEAD"))
    code, _, err = update(student, MORNING_1, capsys)
    assert code == 1 and "a merge is under way here" in err and "git merge --abort" in err


def test_an_update_outside_a_git_repository_says_how_to_get_one(released, tmp_path, capsys):  # noqa: F811
    folder = tmp_path / "downloaded"
    subprocess.run(["cp", "-r", str(released.template), str(folder)], check=True)
    code, _, err = update(folder, MORNING_1, capsys)
    assert code == 1 and "is not a git repository" in err and "gh repo clone" in err
