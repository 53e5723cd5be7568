"""Notebook sync: only module cells reach the module file, scratch cells stay in the
notebook, a broken notebook is one sentence (never a traceback), and every overwrite
leaves a backup."""

import json
import shutil

import nbformat
import pytest

from grader.assign.notebook import (
    NOTE,
    NOTE_END,
    notebook_to_py,
    py_to_notebook,
    read_notebook,
    write_notebook,
)
from grader.assign.sync import BACKUPS_KEPT, BrokenNotebookError, SyncConflictError, sync_module
from grader.assign.workspace import sync_notebook
from grader.cli import main

from .conftest import copy_of_course

PY = (
    "# %% [markdown]\n# # Title\n\n\n"
    "# %%\ndef f():\n    return 1\n\n\n"
    "# %% [markdown]\n# ## Part two\n\n\n"
    "# %%\ny = 2\n"
)
BROKEN = {
    "not JSON": ('{\n  "cells": [\n    {"a": 1}\n    {"b": 2}\n', "line 4: Expecting ','"),
    "not a notebook": ("[1, 2, 3]\n", "not a notebook"),
    "invalid nbformat": (
        json.dumps({"cells": [{"cell_type": "code", "source": "x"}], "nbformat": 4}),
        "invalid nbformat",
    ),
}


@pytest.fixture
def module_dir(tmp_path):
    directory = tmp_path / "01_m"
    directory.mkdir()
    (directory / "m.py").write_text(PY)
    sync_module(directory, "m.py")
    return directory


def _notebook(directory):
    return read_notebook((directory / "m.ipynb").read_text())


def _save(directory, notebook):
    (directory / "m.ipynb").write_text(write_notebook(notebook))


def _scratch(source, **metadata):
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata.update(metadata)
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="seen\n")]
    return cell


def test_generated_notebook_tags_module_cells_and_starts_with_the_note():
    notebook = py_to_notebook(PY)
    assert all(cell.metadata["tinytorch"] == {"module_cell": True} for cell in notebook.cells)
    assert notebook.cells[0].source.startswith(NOTE)
    assert [cell.id for cell in notebook.cells] == [f"cell-{i:03d}" for i in range(4)]
    assert write_notebook(py_to_notebook(PY)) == write_notebook(notebook), "not deterministic"
    assert notebook_to_py(read_notebook(write_notebook(notebook))) == PY
    assert NOTE_END not in notebook_to_py(notebook)


def test_a_module_that_starts_with_code_gets_the_note_as_its_own_cell():
    text = "# %%\nx = 1\n"
    notebook = py_to_notebook(text)
    assert notebook.cells[0].source == NOTE and "tinytorch" not in notebook.cells[0].metadata
    assert notebook_to_py(read_notebook(write_notebook(notebook))) == text


def test_added_and_marked_scratch_cells_never_reach_the_module_file(module_dir):
    notebook = _notebook(module_dir)
    notebook.cells.insert(2, _scratch("print(f())"))  # added in Jupyter: untagged
    notebook.cells.append(_scratch("z = 0", tags=["scratch"]))
    notebook.cells[1].source = "# scratch\n" + notebook.cells[1].source  # module cell opted out
    notebook.cells[-2].source = "y = 3"
    _save(module_dir, notebook)
    result = sync_module(module_dir, "m.py")
    text = (module_dir / "m.py").read_text()
    assert result.action == "notebook" and "3 scratch cells stay" in result.message
    assert "y = 3" in text
    assert "print(f())" not in text and "z = 0" not in text and "def f" not in text


def test_a_scratch_cell_alone_changes_nothing_in_the_module_file(module_dir):
    notebook = _notebook(module_dir)
    notebook.cells.append(_scratch("print('try')"))
    _save(module_dir, notebook)
    result = sync_module(module_dir, "m.py")
    assert result.action == "none" and "1 scratch cell stays" in result.message
    assert (module_dir / "m.py").read_text() == PY


def test_rebuilding_from_the_file_keeps_scratch_cells_after_their_module_cell(module_dir):
    notebook = _notebook(module_dir)
    notebook.cells.insert(2, _scratch("print(f())"))  # after `def f`
    notebook.cells.insert(0, _scratch("import this"))  # at the very top
    _save(module_dir, notebook)
    sync_module(module_dir, "m.py")
    edited = PY.replace("# %%\ny = 2", "# %%\nnew = 0\n\n\n# %%\ny = 5")
    edited = edited.replace("# # Title", "# # Title\n\n\n# %%\nimport math")
    (module_dir / "m.py").write_text(edited)
    result = sync_module(module_dir, "m.py")
    cells = _notebook(module_dir).cells
    sources = [cell.source for cell in cells]
    assert result.action == "py" and "2 scratch cells stay" in result.message
    assert sources[0] == "import this"
    assert sources[sources.index("print(f())") - 1].startswith("def f")
    assert cells[sources.index("print(f())")].outputs[0].text == "seen\n"
    assert notebook_to_py(read_notebook((module_dir / "m.ipynb").read_text())) == edited
    assert len({cell.id for cell in cells}) == len(cells)


def test_a_module_cell_marked_scratch_keeps_a_unique_id_when_the_notebook_is_rebuilt(module_dir):
    notebook = _notebook(module_dir)
    notebook.cells[3].source = "# scratch\n" + notebook.cells[3].source  # id cell-003
    _save(module_dir, notebook)
    sync_module(module_dir, "m.py")  # the module file loses `y = 2`: one cell fewer
    (module_dir / "m.py").write_text((module_dir / "m.py").read_text() + "\n\n# %%\nw = 1\n")
    sync_module(module_dir, "m.py")
    ids = [cell.id for cell in _notebook(module_dir).cells]
    assert len(ids) == len(set(ids)) == 5 and "cell-003" in ids


def test_notebooks_made_before_tagging_export_every_cell_but_scratch(tmp_path):
    legacy = py_to_notebook(PY)
    del legacy.metadata["tinytorch"]
    for cell in legacy.cells:
        cell.metadata = {}
    legacy.cells[0].source = "# Title"
    legacy.cells.append(_scratch("# scratch\nprint(1)"))
    assert notebook_to_py(legacy) == PY


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_a_broken_notebook_is_one_sentence_and_from_py_recovers_it(module_dir, kind):
    text, reason = BROKEN[kind]
    (module_dir / "m.ipynb").write_text(text)
    with pytest.raises(BrokenNotebookError) as stop:
        sync_module(module_dir, "m.py")
    message = str(stop.value)
    assert "\n" not in message and reason in message
    assert "is not a valid notebook" in message and "your m.py is untouched" in message
    assert "make sync MODULE=01 FROM=py" in message
    assert (module_dir / "m.py").read_text() == PY
    with pytest.raises(BrokenNotebookError):
        sync_module(module_dir, "m.py", prefer="notebook")
    result = sync_module(module_dir, "m.py", prefer="py")
    kept = list((module_dir / ".backups").glob("m.ipynb.*"))
    assert len(kept) == 1 and kept[0].read_text() == text
    assert kept[0].name in result.message
    assert notebook_to_py(_notebook(module_dir)) == PY


def test_a_notebook_without_module_cells_never_empties_the_module_file(module_dir):
    (module_dir / "m.ipynb").write_text('{"cells": []}\n')
    with pytest.raises(BrokenNotebookError, match="holds none of the module's cells"):
        sync_module(module_dir, "m.py", prefer="notebook")
    assert (module_dir / "m.py").read_text() == PY


def test_forced_syncs_back_up_what_they_replace_and_say_where(module_dir):
    (module_dir / "m.py").write_text(PY.replace("y = 2", "y = 'mine'"))
    result = sync_module(module_dir, "m.py", prefer="notebook")
    backups = sorted((module_dir / ".backups").iterdir())
    assert [p.name.startswith("m.py.") for p in backups] == [True]
    assert "y = 'mine'" in backups[0].read_text()
    assert f"01_m/.backups/{backups[0].name}" in result.message
    assert sync_module(module_dir, "m.py", prefer="notebook").message.endswith("m.ipynb.")
    assert len(list((module_dir / ".backups").iterdir())) == 1, "same content: no new backup"


def test_backups_of_one_file_are_capped(module_dir):
    for number in range(BACKUPS_KEPT + 3):
        (module_dir / "m.py").write_text(PY.replace("y = 2", f"y = {number}"))
        sync_module(module_dir, "m.py", prefer="notebook")
    kept = list((module_dir / ".backups").glob("m.py.*"))
    assert len(kept) == BACKUPS_KEPT
    assert any(f"y = {BACKUPS_KEPT + 2}" in p.read_text() for p in kept)
    assert not any("y = 0\n" in p.read_text() for p in kept)


def test_forcing_a_missing_side_is_a_sentence_not_a_crash(module_dir):
    (module_dir / "m.ipynb").unlink()
    with pytest.raises(SyncConflictError, match="FROM=py` to rebuild it"):
        sync_module(module_dir, "m.py", prefer="notebook")


def test_grading_warns_in_one_line_about_a_broken_notebook(module_dir, capsys, course):
    (module_dir / "m.ipynb").write_text("{oops")
    module = course.module(1)
    shutil.move(module_dir / "m.py", module_dir / module.filename)
    shutil.move(module_dir / "m.ipynb", module_dir / module.filename.replace(".py", ".ipynb"))
    out = sync_notebook(module_dir, module)
    assert "\n" not in out and out.startswith("warning: ")
    assert "is not a valid notebook (line 1:" in out and f"Grading {module.filename}" in out


def test_sync_command_prints_one_line_for_a_broken_notebook(tmp_path, capsys, monkeypatch):
    copy_of_course(tmp_path)
    directory = tmp_path / "assignments" / "01_tensor"
    directory.mkdir(parents=True)
    (directory / "tensor.py").write_text(PY)
    (directory / "tensor.ipynb").write_text("not json at all")
    monkeypatch.chdir(tmp_path)
    assert main(["--root", str(tmp_path), "sync", "--module", "01"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1, err
    assert err.startswith("assignments/01_tensor/tensor.ipynb is not a valid notebook (line 1:")
    assert "make sync MODULE=01 FROM=py" in err
    assert main(["--root", str(tmp_path), "sync", "--module", "01", "--from", "py"]) == 0
    assert "assignments/01_tensor/.backups/tensor.ipynb." in capsys.readouterr().out
    assert notebook_to_py(read_notebook((directory / "tensor.ipynb").read_text())) == PY
