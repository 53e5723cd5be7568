"""Given-code updates reach students (`tito update`), their work kept.

The story is module 15's: it added profiler hooks to module 01's given code, and a
student who already had module 01 kept the old given code. Here the student's repository
starts with module 01 as it was before the hooks (the hooks cut out of today's starter and
solution), the student solves it, the course then publishes today's starter, and
`tito update` brings the hooks in: the student's file becomes exactly today's solution.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from grader.assign.given import starter_it_came_from, three_way, what_changed
from grader.assign.notebook import is_module_cell, py_to_notebook, read_notebook, write_notebook
from grader.assign.regions import make_starter_text
from grader.assign.sync import (
    BACKUP_DIR,
    BACKUPS_KEPT,
    backup,
    record_synced,
    same_code,
    sync_module,
)
from grader.tito.cli import main as tito

from .classroom_helpers import first_commit, git, released  # noqa: F401 - a fixture
from .conftest import LAYOUT
from .test_update import bare_clone, changes, clone, update

TODAY = "2026-09-16"
"""Modules 01 and 02 are released, and nothing new unlocks."""
TENSOR = Path("01_tensor", "tensor.py")
NOTEBOOK = TENSOR.with_suffix(".ipynb")
HOOKS_ADDED = (
    "Updated the given code of assignments/01_tensor/tensor.py (new: RemovableHandle, "
    "OpHook, register_op_hook; changed: lines at module level, Function.apply); your code "
    "for tasks 01.1-01.8 is kept."
)


def without_hooks(text: str) -> str:
    """Module 01 as it was before module 15: no op hooks in its given code."""
    pieces = [
        '    "OpHook",\n    "RemovableHandle",\n    "register_op_hook",\n',
        "# `register_op_hook` lets a tool watch every op start and finish (module 15's "
        "profiler\n# times and counts ops with it) without changing any op or any model.\n",
        "        if op_hooks:\n            for hook in tuple(op_hooks):\n"
        "                hook.op_started(cls, ctx, False)\n",
        "        if op_hooks:\n            for hook in tuple(op_hooks):\n"
        "                hook.op_finished(cls, ctx, False, arrays, (out,))\n",
    ]
    for piece in pieces:
        assert piece in text, f"module 01's given code changed: update this test ({piece!r})"
        text = text.replace(piece, "")
    start, end = text.index("class RemovableHandle:"), text.index("class Function:")
    return text[:start] + text[end:]


SOLUTION = (LAYOUT.solutions / TENSOR).read_text(encoding="utf-8")
OLD_SOLUTION = without_hooks(SOLUTION)


def write_module(folder: Path, text: str) -> None:
    (folder / TENSOR).write_text(text, encoding="utf-8")
    (folder / NOTEBOOK).write_text(write_notebook(py_to_notebook(text)), encoding="utf-8")


@pytest.fixture
def github(released, tmp_path, monkeypatch) -> Path:  # noqa: F811
    """The student's repository on GitHub, made when module 01 had no op hooks."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "no-global-gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    seed = tmp_path / "seed"
    subprocess.run(["cp", "-r", str(released.template), str(seed)], check=True)
    old_starter = make_starter_text(OLD_SOLUTION)
    write_module(seed / "starter", old_starter)
    write_module(seed / "assignments", old_starter)
    record_synced(seed / "assignments/01_tensor", TENSOR.name)
    return bare_clone(first_commit(seed))


def publish(github: Path, workspace: Path, files: dict[str, bytes], message: str) -> None:
    """The maintainers change the course's files (starter/ ...) in the student's repository."""
    maintainers = clone(github, workspace)
    for relative, content in files.items():
        (maintainers / relative).write_bytes(content)
    git(maintainers, "commit", "--quiet", "-am", message)
    git(maintainers, "push", "--quiet", "origin", "HEAD:main")


def publish_the_hooks(github: Path, workspace: Path) -> None:
    """Today's module 01 starter, hooks included, as module 15 published it."""
    starter = LAYOUT.starter / "01_tensor"
    files = {f"starter/{p}": (starter / p.name).read_bytes() for p in (TENSOR, NOTEBOOK)}
    publish(github, workspace, files, "Module 15: profiler hooks in module 01")


def solve(student: Path, text: str) -> Path:
    path = student / "assignments" / TENSOR
    path.write_text(text, encoding="utf-8")
    git(student, "commit", "--quiet", "-am", "Solve 01_tensor")
    return path


def test_solved_tasks_are_kept_and_the_new_given_code_comes_in(github, tmp_path, capsys):
    student = clone(github, tmp_path / "student")
    tensor = solve(student, OLD_SOLUTION)
    publish_the_hooks(github, tmp_path / "maintainers")

    code, out, err = update(student, TODAY, capsys)
    assert code == 0, err
    assert HOOKS_ADDED in out
    assert "Updated tensor.ipynb from tensor.py" in out
    assert tensor.read_text(encoding="utf-8") == SOLUTION  # every answer, and the hooks
    notebook = read_notebook((student / "assignments" / NOTEBOOK).read_text(encoding="utf-8"))
    assert same_code(tensor, notebook)
    backups = list((tensor.parent / BACKUP_DIR).glob("tensor.py.*"))
    assert [b.read_text(encoding="utf-8") for b in backups] == [OLD_SOLUTION]
    assert changes(student) == []  # committed
    assert "brought in by tito update" in git(student, "log", "-1", "--format=%s")

    graded = tito(["--root", str(student), "--today", TODAY, "grade", "01", "--json"])
    result = json.loads(capsys.readouterr().out)["modules"][0]
    assert graded == 0 and len(result["tests"]) >= 10
    assert [t["name"] for t in result["tests"] if t["status"] != "passed"] == []
    assert result["score"] == result["extra_data"]["max_score"] > 0
    profiler = subprocess.run(
        ["python", "-c", "from tinytorch.core.tensor import register_op_hook"],
        cwd=student, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert profiler.returncode == 0, profiler.stderr


def test_a_starter_pulled_earlier_still_brings_its_given_code(github, tmp_path, capsys):
    """The student pulled the new starter by hand (a merge commit), before this feature
    existed: nothing new comes in, and the given code is brought in all the same."""
    student = clone(github, tmp_path / "student")
    tensor = solve(student, OLD_SOLUTION)
    publish_the_hooks(github, tmp_path / "maintainers")
    git(student, "pull", "--quiet", "--no-rebase", "--no-edit")
    tensor.write_text(OLD_SOLUTION + "\nWORK_IN_PROGRESS = 1\n", encoding="utf-8")

    code, out, err = update(student, TODAY, capsys)
    assert code == 0, err
    assert "Nothing new on origin/main." in out and HOOKS_ADDED in out
    assert tensor.read_text(encoding="utf-8") == SOLUTION + "\nWORK_IN_PROGRESS = 1\n"
    assert (
        "with the changes you had not committed in assignments/01_tensor/tensor.py (`git show"
    ) in out
    assert changes(student) == []


def test_notebook_edits_are_brought_in_before_the_merge(github, tmp_path, capsys):
    student = clone(github, tmp_path / "student")
    tensor = solve(student, OLD_SOLUTION)
    sync_module(tensor.parent, tensor.name)  # as `make grade` does
    notebook_path = student / "assignments" / NOTEBOOK
    notebook = read_notebook(notebook_path.read_text(encoding="utf-8"))
    last = [cell for cell in notebook.cells if is_module_cell(notebook, cell)][-1]
    last.source += "\n\nMY_NOTEBOOK_WORK = 1"
    notebook_path.write_text(write_notebook(notebook), encoding="utf-8")  # not synced yet
    publish_the_hooks(github, tmp_path / "maintainers")

    code, out, err = update(student, TODAY, capsys)
    assert code == 0, err
    assert HOOKS_ADDED in out
    text = tensor.read_text(encoding="utf-8")
    assert "MY_NOTEBOOK_WORK = 1" in text and "def register_op_hook(" in text
    assert text.replace("\n\nMY_NOTEBOOK_WORK = 1", "") == SOLUTION
    assert same_code(tensor, read_notebook(notebook_path.read_text(encoding="utf-8")))
    assert changes(student) == []


CONTEXT = "        ctx = Context(arrays, params)\n"
TRACING = "        print('my own tracing')\n"
"""The student's own line in given code, just where module 15's hooks came in."""


def traced(text: str) -> str:
    assert text.count(CONTEXT) == 1
    return text.replace(CONTEXT, CONTEXT + TRACING)


def test_given_code_the_student_changed_too_leaves_the_file_alone(github, tmp_path, capsys):
    student = clone(github, tmp_path / "student")
    mine = traced(OLD_SOLUTION)
    tensor = solve(student, mine)
    publish_the_hooks(github, tmp_path / "maintainers")

    code, out, err = update(student, TODAY, capsys)
    assert code == 0, err
    assert tensor.read_text(encoding="utf-8") == mine
    assert "Updated the given code" not in out
    assert (
        "Not updated: the course changed the given code of assignments/01_tensor/tensor.py "
        "(new: RemovableHandle, OpHook, register_op_hook; changed: lines at module level, "
        "Function.apply), but you changed given code where it did: line "
    ) in out
    assert ", in Function.apply. Your file is untouched." in out
    updated = tensor.with_name("tensor.py.updated")
    assert (
        "that place marked between `<<<<<<< your tensor.py` and `>>>>>>> the course's new "
        "given code`: keep what you need from both sides and delete the marker lines"
    ) in out
    assert "`mv assignments/01_tensor/tensor.py.updated assignments/01_tensor/tensor.py`" in out
    merged = updated.read_text(encoding="utf-8")
    assert merged.count("<<<<<<< your tensor.py\n") == 1
    assert "print('my own tracing')" in merged and "def register_op_hook(" in merged

    updated.write_text(merged.replace("print('my own tracing')", "pass  # resolving"))
    code, out, _ = update(student, TODAY, capsys)  # half-way through: never overwritten
    assert code == 0 and "tensor.py.updated from an earlier update is still there" in out
    assert "pass  # resolving" in updated.read_text(encoding="utf-8")
    assert tensor.read_text(encoding="utf-8") == mine


def leave_a_merge_beside(github: Path, tmp_path: Path, capsys) -> tuple[Path, Path]:
    """A student whose traced module 01 met the hooks: their file and its `.updated`."""
    student = clone(github, tmp_path / "student")
    tensor = solve(student, traced(OLD_SOLUTION))
    publish_the_hooks(github, tmp_path / "maintainers")
    code, out, err = update(student, TODAY, capsys)
    updated = tensor.with_name("tensor.py.updated")
    assert code == 0 and updated.is_file() and "Your file is untouched." in out, err
    return student, tensor


def set_aside(tensor: Path, out: str) -> Path:
    """The one `.backups/` copy of `tensor.py.updated`, checked against the line saying so."""
    copies = list((tensor.parent / BACKUP_DIR).glob("tensor.py.updated.*"))
    assert len(copies) == 1
    assert (
        "assignments/01_tensor/tensor.py.updated from an earlier update is no longer needed "
        "(tensor.py has the given code it brought): moved it to assignments/01_tensor/"
        f".backups/{copies[0].name}, should you still want anything from it."
    ) in out
    return copies[0]


def test_a_merge_finished_by_hand_sets_its_updated_file_aside(github, tmp_path, capsys):
    student, tensor = leave_a_merge_beside(github, tmp_path, capsys)
    updated = tensor.with_name("tensor.py.updated")
    merged = updated.read_text(encoding="utf-8")
    tensor.write_text(traced(SOLUTION), encoding="utf-8")  # resolved in tensor.py, no `mv`

    code, out, err = update(student, TODAY, capsys)
    assert code == 0, err
    assert set_aside(tensor, out).read_text(encoding="utf-8") == merged  # nothing lost
    assert not updated.exists()
    assert tensor.read_text(encoding="utf-8") == traced(SOLUTION)
    assert "still there" not in out and "Not updated" not in out

    code, out, err = update(student, TODAY, capsys)  # said once: nothing is left to say
    assert code == 0 and "tensor.py.updated" not in out, err


def test_a_later_clean_merge_sets_the_updated_file_aside_and_commits_that(github, tmp_path, capsys):
    """The student gave up their tracing line and had committed the `.updated` file."""
    student, tensor = leave_a_merge_beside(github, tmp_path, capsys)
    updated = tensor.with_name("tensor.py.updated")
    half_done = updated.read_text(encoding="utf-8").replace(TRACING, "        pass  # later\n")
    updated.write_text(half_done, encoding="utf-8")
    tensor.write_text(OLD_SOLUTION, encoding="utf-8")
    git(student, "add", "-A", "assignments")
    git(student, "commit", "--quiet", "-m", "Undo my tracing; a merge half done")

    code, out, err = update(student, TODAY, capsys)
    assert code == 0, err
    assert HOOKS_ADDED in out and tensor.read_text(encoding="utf-8") == SOLUTION
    assert set_aside(tensor, out).read_text(encoding="utf-8") == half_done
    assert not updated.exists()
    assert changes(student) == []  # the removal is committed with the new given code
    shown = git(student, "show", "--name-status", "--format=", "HEAD")
    assert "D\tassignments/01_tensor/tensor.py.updated" in shown.splitlines()


def test_a_new_conflict_replaces_an_updated_file_the_student_no_longer_needs(
    github, tmp_path, capsys
):
    """Resolved by hand, then the course changes the same place again: the new merge is
    written, and the old one is not named as work still to finish."""
    student, tensor = leave_a_merge_beside(github, tmp_path, capsys)
    first = tensor.with_name("tensor.py.updated").read_text(encoding="utf-8")
    tensor.write_text(traced(SOLUTION), encoding="utf-8")
    git(student, "commit", "--quiet", "-am", "Keep my tracing with the hooks")
    commented = CONTEXT.replace("\n", "  # what backward needs\n")
    starter = (LAYOUT.starter / TENSOR).read_text(encoding="utf-8").replace(CONTEXT, commented)
    publish(
        github,
        tmp_path / "maintainers-again",
        {f"starter/{TENSOR.as_posix()}": starter.encode(),
         f"starter/{NOTEBOOK.as_posix()}": write_notebook(py_to_notebook(starter)).encode()},
        "Module 01: a comment on the context",
    )  # fmt: skip

    code, out, err = update(student, TODAY, capsys)
    assert code == 0, err
    assert set_aside(tensor, out).read_text(encoding="utf-8") == first
    assert "still there" not in out and "Your file is untouched." in out
    second = tensor.with_name("tensor.py.updated").read_text(encoding="utf-8")
    assert "# what backward needs" in second and second.count("<<<<<<< your tensor.py\n") == 1
    assert tensor.read_text(encoding="utf-8") == traced(SOLUTION)


def test_backups_of_an_updated_file_are_no_backups_of_the_module_file(tmp_path):
    """`tensor.py.updated.<time>` neither stands for nor pushes out a copy of tensor.py."""
    tensor = tmp_path / "tensor.py"
    tensor.write_text("x = 1\n", encoding="utf-8")
    folder = tmp_path / BACKUP_DIR
    folder.mkdir()
    for second in range(BACKUPS_KEPT):
        (folder / f"tensor.py.updated.2026-01-01T00-00-{second:02d}").write_text("x = 1\n")
    kept = backup(tensor)
    assert kept.name.startswith("tensor.py.2") and kept.read_text() == "x = 1\n"
    assert len(list(folder.glob("tensor.py.updated.*"))) == BACKUPS_KEPT


def test_nothing_happens_when_the_given_code_did_not_change(github, tmp_path, capsys):
    student = clone(github, tmp_path / "student")
    tensor = solve(student, OLD_SOLUTION)
    readme = student / "assignments/02_activations/README.md"
    publish(
        github,
        tmp_path / "maintainers",
        {"starter/02_activations/README.md": readme.read_bytes() + b"\nA new remark.\n"},
        "Module 02: a remark in the README",
    )
    code, out, err = update(student, TODAY, capsys)
    assert code == 0, err
    assert "given code" not in out
    assert tensor.read_text(encoding="utf-8") == OLD_SOLUTION
    assert not (tensor.parent / BACKUP_DIR).exists()
    assert not tensor.with_name("tensor.py.updated").exists()
    assert readme.read_text().endswith("A new remark.\n")  # unchanged by the student: updated
    assert "Updated assignments/02_activations/README.md to the course's new version" in out
    assert changes(student) == []


STUB_OLD = """def f(x):
    # TODO (Task 01.1)
    raise NotImplementedError('Task 01.1: implement f. Hint: add.')


def g(x):
    # TODO (Task 01.2)
    raise NotImplementedError('Task 01.2: implement g. Hint: old.')
"""


def test_a_changed_hint_keeps_the_students_code_and_reaches_open_tasks():
    new = STUB_OLD.replace("Hint: add.", "Hint: use +.").replace("Hint: old.", "Hint: new.")
    student = STUB_OLD.replace(
        "    # TODO (Task 01.1)\n    raise NotImplementedError('Task 01.1: implement f. "
        "Hint: add.')\n",
        "    return x + 1\n",
    )
    merge = three_way(student, STUB_OLD, new, "m.py")
    assert merge.conflicts == ()
    assert "return x + 1" in merge.text and "Hint: use +." not in merge.text
    assert "Hint: new." in merge.text and "Hint: old." not in merge.text


OLD_GIVEN = """import numpy as np


def outer(x):
    def inner(y):
        return y + 1

    return inner(x)


def helper():
    return 1
"""


def test_what_changed_names_new_changed_and_removed_definitions():
    new = OLD_GIVEN.replace("y + 1", "y + 2").replace(
        "def helper():\n    return 1\n", "class Hooks:\n    def add(self):\n        pass\n"
    )
    assert what_changed(OLD_GIVEN, new) == "new: Hooks; changed: outer.inner; removed: helper"


def test_the_starter_a_file_came_from_is_found_also_when_given_code_was_removed():
    newer = OLD_GIVEN.replace("def helper():\n    return 1\n", "")
    student = OLD_GIVEN.replace("import numpy as np\n", "import numpy as np\n\nMY_WORK = 1\n")
    assert starter_it_came_from(student, [newer, OLD_GIVEN]) == OLD_GIVEN
    assert starter_it_came_from(newer + "\nMY_WORK = 1\n", [newer, OLD_GIVEN]) == newer
    assert starter_it_came_from(OLD_GIVEN, [OLD_GIVEN, OLD_GIVEN + "\n"]) == OLD_GIVEN
    merge = three_way(student, OLD_GIVEN, newer, "m.py")
    assert merge.conflicts == () and "def helper" not in merge.text and "MY_WORK" in merge.text
