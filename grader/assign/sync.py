"""Keep a module file and its notebook twin in step (`make sync MODULE=01`).

A small state file remembers the hashes of both at the last sync. Whichever side
changed since then is converted into the other; when both changed, nothing is
overwritten and the student is told how to choose. Only the notebook's module cells
go into the module file; scratch cells stay in the notebook (see `notebook.py`).

Whatever a sync replaces is first copied to `.backups/<name>.<time>` beside it, and a
notebook that cannot be read stops the sync with one sentence saying how to recover.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from grader.assign.notebook import (
    NotebookFormatError,
    canonical_py,
    notebook_to_py,
    py_to_notebook,
    read_notebook,
    scratch_count,
    with_scratch_cells,
    write_notebook,
)

STATE_FILE = ".sync-state.json"
BACKUP_DIR = ".backups"
BACKUPS_KEPT = 20
"""Backups kept per file; older ones are deleted, so that syncing before every grade
never fills the folder."""
COPY_NUMBER = re.compile(r"(?:-(\d+))?")  # after the time: the 2nd, 3rd... copy that second


class SyncConflictError(RuntimeError):
    """The sync stopped and overwrote nothing: the student must choose what to keep."""


class BrokenNotebookError(SyncConflictError):
    """The notebook cannot be read (not JSON, not a notebook, invalid nbformat)."""


@dataclass(frozen=True)
class SyncResult:
    """What a sync did, in one sentence for the student."""

    action: str
    message: str


def _hash(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def _save_state(directory: Path, py: Path, notebook: Path) -> None:
    state = {"py": _hash(py), "notebook": _hash(notebook)}
    (directory / STATE_FILE).write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")


def _load_state(directory: Path) -> dict[str, str | None]:
    try:
        return json.loads((directory / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def shown(path: Path) -> str:
    """`path` as the student would type it: relative to the current folder when inside."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


def _module_key(directory: Path) -> str:
    """The MODULE= value for a module folder such as `01_tensor` ("01")."""
    key = directory.name.split("_", 1)[0]
    return key if key.isdigit() else directory.name


def backup(path: Path) -> Path:
    """Copy `path` to `.backups/<name>.<local time>` beside it; keep the newest copies."""
    folder = path.parent / BACKUP_DIR
    folder.mkdir(exist_ok=True)
    base = f"{path.name}.{dt.datetime.now().strftime('%Y-%m-%dT%H-%M-%S')}"
    tails = [COPY_NUMBER.fullmatch(p.name.removeprefix(base)) for p in folder.glob(f"{base}*")]
    numbers = [int(tail[1] or 1) for tail in tails if tail]
    target = folder / (f"{base}-{max(numbers) + 1:03d}" if numbers else base)
    target.write_bytes(path.read_bytes())
    for stale in sorted(folder.glob(f"{path.name}.*"))[:-BACKUPS_KEPT]:  # names sort by time
        stale.unlink()
    return target


def _replace(path: Path, text: str) -> Path | None:
    """Write `text` to `path` atomically; back up a different old content first."""
    backed_up = None
    if path.exists():
        if path.read_bytes() == text.encode("utf-8"):
            return None
        backed_up = backup(path)
    temporary = path.with_name(f".{path.name}.writing")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
    return backed_up


def _kept(backed_up: Path | None, name: str) -> str:
    return f"; the old {name} is kept as {shown(backed_up)}" if backed_up else ""


def _load(py: Path, notebook: Path) -> nbformat.NotebookNode:
    """The notebook, or `BrokenNotebookError` saying what is wrong and how to recover."""
    try:
        return read_notebook(notebook.read_text(encoding="utf-8"))
    except (NotebookFormatError, UnicodeDecodeError) as error:
        reason = "not UTF-8 text" if isinstance(error, UnicodeDecodeError) else str(error)
    key = _module_key(py.parent)
    if not py.exists():
        raise BrokenNotebookError(
            f"{shown(notebook)} is not a valid notebook ({reason}) and {py.name} is missing. "
            f"Restore {py.name} with `git restore {shown(py)}` (or from {BACKUP_DIR}/), then "
            f"run `make sync MODULE={key} FROM=py` to rebuild the notebook."
        )
    raise BrokenNotebookError(
        f"{shown(notebook)} is not a valid notebook ({reason}); your {py.name} is untouched. "
        f"Recover with `make sync MODULE={key} FROM=py` (it rebuilds the notebook from "
        f"{py.name} and keeps the broken file in {shown(py.parent / BACKUP_DIR)}/)."
    )


def same_code(py: Path, parsed: nbformat.NotebookNode) -> bool:
    """The notebook's module cells hold exactly the code of `py` (scratch cells aside)."""
    return notebook_to_py(parsed) == canonical_py(py.read_text(encoding="utf-8"))


def _aside(*notes: str) -> str:
    """The non-empty notes as one parenthesis, or nothing."""
    kept = "; ".join(note for note in notes if note)
    return f" ({kept})" if kept else ""


def _scratch_note(parsed: nbformat.NotebookNode | None) -> str:
    count = scratch_count(parsed) if parsed is not None else 0
    if not count:
        return ""
    cells = "cell stays" if count == 1 else "cells stay"
    return f"{count} scratch {cells} in the notebook only, not graded"


def _py_to_notebook(py: Path, notebook: Path) -> SyncResult:
    """Rebuild the notebook from the module file, keeping the notebook's scratch cells."""
    rebuilt = py_to_notebook(py.read_text(encoding="utf-8"))
    old = None
    if notebook.exists():
        try:
            old = read_notebook(notebook.read_text(encoding="utf-8"))
        except (NotebookFormatError, UnicodeDecodeError):
            old = None  # replaced, and kept in .backups/ by `_replace`
    if old is not None:
        rebuilt = with_scratch_cells(rebuilt, old)
    backed_up = _replace(notebook, write_notebook(rebuilt))
    return SyncResult(
        "py",
        f"Updated {notebook.name} from {py.name}"
        f"{_aside('outputs of the module cells were cleared', _scratch_note(old))}"
        f"{_kept(backed_up, notebook.name)}.",
    )


def _notebook_to_py(py: Path, notebook: Path, parsed: nbformat.NotebookNode) -> SyncResult:
    """Write the notebook's module cells to the module file."""
    text = notebook_to_py(parsed)
    if not text.strip():
        raise BrokenNotebookError(
            f"{shown(notebook)} holds none of the module's cells, so {py.name} was left as it "
            f"is. Rebuild the notebook with `make sync MODULE={_module_key(py.parent)} FROM=py`."
        )
    backed_up = _replace(py, text)
    return SyncResult(
        "notebook",
        f"Updated {py.name} from {notebook.name}{_aside(_scratch_note(parsed))}"
        f"{_kept(backed_up, py.name)}.",
    )


def sync_module(directory: Path, filename: str, prefer: str | None = None) -> SyncResult:
    """Sync `directory/filename` with its `.ipynb`; `prefer` ("py"/"notebook") forces a side.

    Raises `SyncConflictError` when both sides changed, and its subclass
    `BrokenNotebookError` when the notebook must be read but cannot be.
    """
    py = directory / filename
    notebook = py.with_suffix(".ipynb")
    if not py.exists() and not notebook.exists():
        raise FileNotFoundError(f"neither {py} nor {notebook} exists")
    for side, path, other in (("py", py, "notebook"), ("notebook", notebook, "py")):
        if prefer == side and not path.exists():
            raise SyncConflictError(
                f"{shown(path)} does not exist, so it cannot replace the other file. Run "
                f"`make sync MODULE={_module_key(directory)} FROM={other}` to rebuild it."
            )
    if prefer == "py" or (prefer is None and not notebook.exists()):
        result = _py_to_notebook(py, notebook)
        _save_state(directory, py, notebook)
        return result
    state = _load_state(directory)
    py_changed = _hash(py) != state.get("py")
    notebook_changed = _hash(notebook) != state.get("notebook")
    if prefer is None and py.exists() and not (py_changed or notebook_changed):
        return SyncResult("none", f"{py.name} and {notebook.name} already hold the same code.")
    parsed = _load(py, notebook)
    if prefer is None and py.exists():
        if same_code(py, parsed):
            _save_state(directory, py, notebook)
            return SyncResult(
                "none",
                f"{py.name} and {notebook.name} already hold the same code"
                f"{_aside(_scratch_note(parsed))}.",
            )
        if py_changed and notebook_changed:
            raise SyncConflictError(
                f"Both {py.name} and {notebook.name} changed since the last sync, so neither "
                f"overwrites the other. Keep one with `make sync MODULE={_module_key(directory)} "
                f"FROM=py` or `FROM=notebook` (the other file is then replaced, and kept in "
                f"{BACKUP_DIR}/)."
            )
        if py_changed:
            result = _py_to_notebook(py, notebook)
            _save_state(directory, py, notebook)
            return result
    result = _notebook_to_py(py, notebook, parsed)
    _save_state(directory, py, notebook)
    return result


def record_synced(directory: Path, filename: str) -> None:
    """Mark the pair as in step (used right after seeding from the starter)."""
    py = directory / filename
    _save_state(directory, py, py.with_suffix(".ipynb"))
