"""No graded code is lost between a module file and its notebook, on a repository made
by the release: a module cell pasted into a new cell is recognised by what it defines, a
sync never drops a class unasked, a stale JupyterLab tab never overwrites the module
file, backups are made only of content not kept yet, and `tito doctor` compares the
functions and classes of both sides."""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest

from grader.assign.notebook import notebook_to_py, read_notebook, write_notebook
from grader.assign.sync import backup
from grader.cli import main as grader
from grader.course import load_course
from grader.layout import Layout
from grader.tito.doctor import check_sync

from .classroom_helpers import released, student_repository  # noqa: F401 - a fixture

POWERS = {"ExpFn", "LogFn", "PowFn", "ClampFn"}
"""The classes of module 01's Task 01.3 cell."""


def defined_names(source: str) -> set[str]:
    """The classes and functions `source` defines (the test's own reading)."""
    kinds = (ast.ClassDef, ast.FunctionDef)
    return {node.name for node in ast.parse(source).body if isinstance(node, kinds)}


@pytest.fixture
def repo(released, tmp_path) -> Path:  # noqa: F811
    return student_repository(released.template, tmp_path / "student")


def _files(repo: Path) -> tuple[Path, Path]:
    folder = repo / "assignments" / "01_tensor"
    return folder / "tensor.py", folder / "tensor.ipynb"


def _sync(repo: Path, capsys, *extra: str) -> tuple[int, str]:
    code = grader(["--root", str(repo), "sync", "--module", "01", *extra])
    out, err = capsys.readouterr()
    return code, out + err


def _powers_cell(notebook: nbformat.NotebookNode) -> int:
    return next(
        i for i, cell in enumerate(notebook.cells)
        if cell.cell_type == "code" and POWERS <= defined_names(cell.source)
    )  # fmt: skip


def _without_powers_cell(notebook_path: Path) -> tuple[nbformat.NotebookNode, str]:
    notebook = read_notebook(notebook_path.read_text())
    source = notebook.cells.pop(_powers_cell(notebook)).source
    return notebook, source


def test_a_module_cell_pasted_into_a_new_cell_stays_graded(repo, capsys):
    py, ipynb = _files(repo)
    notebook, source = _without_powers_cell(ipynb)
    notebook.cells.append(nbformat.v4.new_code_cell(source))  # a new cell: no module tag
    ipynb.write_text(write_notebook(notebook))
    code, said = _sync(repo, capsys)
    assert code == 0, said
    assert POWERS <= defined_names(py.read_text())
    assert "The new cell starting `class ExpFn(Function):` defines ClampFn, ExpFn, LogFn, " in said
    assert "PowFn, like the module cell it replaces, so it is part of tensor.py" in said
    assert "already hold the same code" in _sync(repo, capsys)[1]


def test_a_sync_never_drops_a_class_unasked_and_says_which_when_asked(repo, capsys):
    py, ipynb = _files(repo)
    before = py.read_text()
    notebook, _ = _without_powers_cell(ipynb)  # deleted, and pasted nowhere
    ipynb.write_text(write_notebook(notebook))
    code, said = _sync(repo, capsys)
    assert code == 1 and py.read_text() == before
    assert "No module cell of tensor.ipynb defines ClampFn, ExpFn, LogFn, PowFn any more" in said
    assert "make sync MODULE=01 FROM=notebook" in said
    code, said = _sync(repo, capsys, "--from", "notebook")
    assert code == 0 and not POWERS & defined_names(py.read_text())
    assert "it no longer defines ClampFn, ExpFn, LogFn, PowFn" in said
    kept = list((py.parent / ".backups").glob("tensor.py.*"))
    assert [p.read_text() for p in kept] == [before] and kept[0].name in said


def _editor_edit(py: Path) -> str:
    """A helper added in an editor, inside the Task 01.3 cell."""
    helper = "def my_helper():\n    return 1\n\n\n"
    class_line = "class ExpFn(Function):"
    py.write_text(py.read_text().replace(class_line, helper + class_line))
    return "def my_helper"


def test_a_stale_tab_never_overwrites_the_module_file(repo, capsys):
    py, ipynb = _files(repo)
    tab = ipynb.read_text()  # JupyterLab has the notebook open
    edit = _editor_edit(py)
    code, said = _sync(repo, capsys)  # make grade syncs first: the notebook is rebuilt
    assert code == 0 and "Updated tensor.ipynb from tensor.py" in said
    ipynb.write_text(tab)  # the open tab saves its old content
    code, said = _sync(repo, capsys)
    assert code == 0, said
    assert edit in py.read_text()
    assert "tensor.ipynb was saved from a tab opened before tensor.py last changed" in said
    assert "so tensor.py was kept and tensor.ipynb rebuilt from it" in said
    assert "Reload Notebook from Disk" in said
    assert edit in notebook_to_py(read_notebook(ipynb.read_text()))


def test_a_stale_tab_with_new_edits_stops_and_keeps_both(repo, capsys):
    py, ipynb = _files(repo)
    tab = read_notebook(ipynb.read_text())
    edit = _editor_edit(py)
    assert _sync(repo, capsys)[0] == 0
    matmul = next(c for c in tab.cells if "class MatMulFn" in c.source)
    matmul.source += "\n\n\nNOTE_FROM_THE_TAB = 1"
    ipynb.write_text(write_notebook(tab))
    saved = ipynb.read_text()
    code, said = _sync(repo, capsys)
    assert code == 1
    assert "and new edits too, so tensor.py was left as it is" in said
    assert edit in py.read_text() and ipynb.read_text() == saved


def test_backups_are_made_only_of_content_not_kept_yet(repo, capsys):
    py, ipynb = _files(repo)
    _editor_edit(py)
    _sync(repo, capsys)  # the notebook is rebuilt: its old content is kept once
    folder = py.parent / ".backups"
    first = sorted(folder.iterdir())
    assert [p.name.startswith("tensor.ipynb.") for p in first] == [True]
    ipynb.write_text(first[0].read_text())  # the same old content comes back, twice
    for _ in range(2):
        _sync(repo, capsys, "--from", "py")
    assert sorted(folder.iterdir()) == first
    assert backup(py) == backup(py) and len(list(folder.glob("tensor.py.*"))) == 1


def test_doctor_names_classes_that_live_only_in_scratch_cells(repo, capsys):
    py, ipynb = _files(repo)
    notebook, source = _without_powers_cell(ipynb)
    py.write_text(notebook_to_py(notebook))  # what the old sync wrote: the classes gone
    notebook.cells.append(nbformat.v4.new_code_cell(source))
    ipynb.write_text(write_notebook(notebook))
    layout = Layout(repo)
    check = check_sync(layout, load_course(layout.manifest))
    assert check.outcome == "warn", check
    assert "01: ClampFn, ExpFn, LogFn, PowFn only in scratch cells of tensor.ipynb" in check.detail


def test_a_stale_tab_loses_to_a_module_file_edited_again(repo, capsys):
    py, ipynb = _files(repo)
    tab = ipynb.read_text()
    edit = _editor_edit(py)
    assert _sync(repo, capsys)[0] == 0
    py.write_text(py.read_text() + "\n\n# %%\nSECOND_EDIT = 2\n")  # edited again, not synced
    ipynb.write_text(tab)
    code, said = _sync(repo, capsys)
    assert code == 0 and "so tensor.py was kept and tensor.ipynb rebuilt from it" in said
    assert edit in py.read_text() and "SECOND_EDIT = 2" in py.read_text()
    assert "SECOND_EDIT = 2" in notebook_to_py(read_notebook(ipynb.read_text()))
