"""Keep a module file and its notebook twin in step (`make sync MODULE=01`).

A small state file remembers the hashes of both at the last sync. Whichever side
changed since then is converted into the other; when both changed, nothing is
overwritten and the student is told how to choose. Only the notebook's module cells
go into the module file; scratch cells stay in the notebook (see `notebook.py`).

No graded code is lost on the way:
- a new cell that defines what a deleted module cell defined counts as a module cell
  (`adopt_recreated_cells`), and the student is told which one;
- an automatic sync never removes a function or class from the module file: it stops
  and names them (`make sync ... FROM=notebook` removes them, and says so);
- a notebook saved by a tab older than the module file (a JupyterLab tab left open
  while `make grade` rebuilt the notebook from an edited `.py`) brings back module cells
  that a rebuild replaced; the state file remembers those (`replaced`), so that notebook
  never overwrites the module file: it is rebuilt from it, or the sync stops and asks;
- whatever a sync replaces is first copied to `.backups/<name>.<time>` beside it (only
  when its content is new there; the newest `BACKUPS_KEPT` per file are kept).
A notebook that cannot be read stops the sync with one sentence saying how to recover.

Why not jupytext (which the TinyTorch project uses to pair its notebooks)? Its pairing
lives in Jupyter's contents manager: on open, the inputs come from the more recent file
of the pair; on save, every cell of the open tab is written to both files. So a stale
tab overwrites the `.py` on its next save, which is the very loss to prevent; every
cell reaches the `.py` (a cell made active in the notebook only is still written there,
commented out), so there are no scratch cells; and nothing keeps the pair in step when
the `.py` is edited outside Jupyter and graded by `make grade`. The percent format
(`# %%`) is jupytext's own, so a student can still open the `.py` with jupytext; a
pinned jupytext here would add a dependency and give none of the guarantees above.
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
    Adopted,
    NotebookFormatError,
    adopt_recreated_cells,
    canonical_py,
    defined_names,
    is_scratch,
    module_names,
    module_sources,
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
REPLACED_KEPT = 500
"""Hashes of replaced module cells remembered to recognise a stale notebook."""
COPY_NUMBER = re.compile(r"(?:-(\d+))?")  # after the time: the 2nd, 3rd... copy that second
BACKUP_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}(?:-\d+)?")
"""The tail of a backup's name after `<name>.`, so that `m.py.updated.<time>` is no backup of
`m.py`."""


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


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _save_state(directory: Path, py: Path, notebook: Path, replaced: list[str]) -> None:
    state = {"py": _hash(py), "notebook": _hash(notebook), "replaced": replaced[-REPLACED_KEPT:]}
    (directory / STATE_FILE).write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")


def _load_state(directory: Path) -> dict:
    try:
        state = json.loads((directory / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def _replaced(state: dict) -> list[str]:
    """The hashes of module cells that rebuilds of the notebook replaced."""
    found = state.get("replaced")
    return [h for h in found if isinstance(h, str)] if isinstance(found, list) else []


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
    earlier = sorted(_backups_of(folder, path.name))  # names sort by time
    if earlier and earlier[-1].read_bytes() == path.read_bytes():
        return earlier[-1]  # that content is kept already
    base = f"{path.name}.{dt.datetime.now().strftime('%Y-%m-%dT%H-%M-%S')}"
    tails = [COPY_NUMBER.fullmatch(p.name.removeprefix(base)) for p in folder.glob(f"{base}*")]
    numbers = [int(tail[1] or 1) for tail in tails if tail]
    target = folder / (f"{base}-{max(numbers) + 1:03d}" if numbers else base)
    target.write_bytes(path.read_bytes())
    for stale in sorted(_backups_of(folder, path.name))[:-BACKUPS_KEPT]:  # names sort by time
        stale.unlink()
    return target


def _backups_of(folder: Path, name: str) -> list[Path]:
    """The backups of the file `name` in `folder` (not those of `name.updated`)."""
    prefix = f"{name}."
    return [p for p in folder.glob(f"{prefix}*") if BACKUP_TIME.fullmatch(p.name[len(prefix) :])]


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


def _names(names: set[str] | tuple[str, ...]) -> str:
    return ", ".join(sorted(names))


def _adopted_note(adopted: list[Adopted], py: Path) -> str:
    """One sentence per new cell counted as a module cell, or nothing."""
    return "".join(
        f" The new cell starting `{cell.first_line}` defines {_names(cell.names)}, like the "
        f"module cell it replaces, so it is part of {py.name} (start it with `# scratch` to "
        "keep it out)."
        for cell in adopted
    )


def _rebuild_notebook(
    py: Path, notebook: Path, replaced: list[str]
) -> tuple[Path | None, nbformat.NotebookNode | None]:
    """Rebuild the notebook from the module file, keeping the notebook's scratch cells;
    remember the module cells it replaced. Returns the backup and the old notebook."""
    text = py.read_text(encoding="utf-8")
    rebuilt = py_to_notebook(text)
    old = None
    if notebook.exists():
        try:
            old = read_notebook(notebook.read_text(encoding="utf-8"))
        except (NotebookFormatError, UnicodeDecodeError):
            old = None  # replaced, and kept in .backups/ by `_replace`
    if old is not None:
        adopt_recreated_cells(old, defined_names(text))
        rebuilt = with_scratch_cells(rebuilt, old)
        kept = set(module_sources(rebuilt))
        replaced = replaced + [_digest(s) for s in module_sources(old) if s not in kept]
    backed_up = _replace(notebook, write_notebook(rebuilt))
    _save_state(py.parent, py, notebook, replaced)
    return backed_up, old


def _py_to_notebook(py: Path, notebook: Path, replaced: list[str]) -> SyncResult:
    backed_up, old = _rebuild_notebook(py, notebook, replaced)
    return SyncResult(
        "py",
        f"Updated {notebook.name} from {py.name}"
        f"{_aside('outputs of the module cells were cleared', _scratch_note(old))}"
        f"{_kept(backed_up, notebook.name)}.",
    )


def _stale_cells(py: Path, parsed: nbformat.NotebookNode, replaced: list[str]) -> list[str]:
    """Module cells of the notebook that bring back code a rebuild replaced: the notebook
    was saved by a tab opened before the module file last changed."""
    current = set(module_sources(py_to_notebook(py.read_text(encoding="utf-8"))))
    known = set(replaced)
    return [s for s in module_sources(parsed) if s not in current and _digest(s) in known]


def _keep_py_over_stale_notebook(
    py: Path, notebook: Path, parsed: nbformat.NotebookNode, stale: list[str], replaced: list[str]
) -> SyncResult:
    """Rebuild a notebook that holds only older code from the module file; stop (and
    overwrite nothing) when it also holds new edits."""
    first = stale[0].split("\n", 1)[0]
    older = (
        f"{notebook.name} was saved from a tab opened before {py.name} last changed: it "
        f"brings back code {py.name} has replaced (the cell starting `{first}`)"
    )
    current = set(module_sources(py_to_notebook(py.read_text(encoding="utf-8"))))
    if any(s not in current and s not in stale for s in module_sources(parsed)):
        key = _module_key(py.parent)
        raise SyncConflictError(
            f"{older}, and new edits too, so {py.name} was left as it is. Keep {py.name} "
            f"with `make sync MODULE={key} FROM=py` (the notebook is then kept in "
            f"{BACKUP_DIR}/: copy your new edits from it), or the notebook with "
            f"`make sync MODULE={key} FROM=notebook`."
        )
    backed_up, _ = _rebuild_notebook(py, notebook, replaced)
    return SyncResult(
        "py",
        f"{older}, so {py.name} was kept and {notebook.name} rebuilt from it"
        f"{_kept(backed_up, notebook.name)}. Reload the notebook in JupyterLab (File > "
        "Reload Notebook from Disk) before you edit it again.",
    )


def _notebook_to_py(
    py: Path,
    notebook: Path,
    parsed: nbformat.NotebookNode,
    adopted: list[Adopted],
    replaced: list[str],
) -> SyncResult:
    """Write the notebook's module cells to the module file; say which definitions left."""
    text = notebook_to_py(parsed)
    if not text.strip():
        raise BrokenNotebookError(
            f"{shown(notebook)} holds none of the module's cells, so {py.name} was left as it "
            f"is. Rebuild the notebook with `make sync MODULE={_module_key(py.parent)} FROM=py`."
        )
    before = defined_names(py.read_text(encoding="utf-8")) if py.exists() else set()
    removed = before - defined_names(text)
    backed_up = _replace(py, text)
    _save_state(py.parent, py, notebook, replaced)
    gone = f"; it no longer defines {_names(removed)}" if removed else ""
    return SyncResult(
        "notebook",
        f"Updated {py.name} from {notebook.name}{_aside(_scratch_note(parsed))}{gone}"
        f"{_kept(backed_up, py.name)}.{_adopted_note(adopted, py)}",
    )


def _lost_definitions(py: Path, notebook: Path, parsed: nbformat.NotebookNode) -> None:
    """Stop when the notebook's module cells no longer define a function or class of the
    module file: a sync never removes one unasked (a cell marked scratch is asking)."""
    marked = [cell.source for cell in parsed.cells if cell.cell_type == "code" and is_scratch(cell)]
    asked = defined_names("\n\n".join(marked)) if marked else set()
    lost = defined_names(py.read_text(encoding="utf-8")) - module_names(parsed) - asked
    if lost:
        key = _module_key(py.parent)
        raise SyncConflictError(
            f"No module cell of {notebook.name} defines {_names(lost)} any more, so "
            f"{py.name}, which does, was left as it is. To put the cells back into the "
            f"notebook, run `make sync MODULE={key} FROM=py` (the notebook as it is now is "
            f"kept in {BACKUP_DIR}/); to remove them from {py.name}, run "
            f"`make sync MODULE={key} FROM=notebook`."
        )


def sync_module(directory: Path, filename: str, prefer: str | None = None) -> SyncResult:
    """Sync `directory/filename` with its `.ipynb`; `prefer` ("py"/"notebook") forces a side.

    Raises `SyncConflictError` when both sides changed, when the notebook would remove
    a definition or is older than the module file, and its subclass
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
    state = _load_state(directory)
    replaced = _replaced(state)
    if prefer == "py" or (prefer is None and not notebook.exists()):
        return _py_to_notebook(py, notebook, replaced)
    py_changed = _hash(py) != state.get("py")
    notebook_changed = _hash(notebook) != state.get("notebook")
    if prefer is None and py.exists() and not (py_changed or notebook_changed):
        return SyncResult("none", f"{py.name} and {notebook.name} already hold the same code.")
    parsed = _load(py, notebook)
    adopted = (
        adopt_recreated_cells(parsed, defined_names(py.read_text(encoding="utf-8")))
        if py.exists()
        else []
    )
    if prefer is None and py.exists():
        if same_code(py, parsed):
            _save_state(directory, py, notebook, replaced)
            return SyncResult(
                "none",
                f"{py.name} and {notebook.name} already hold the same code"
                f"{_aside(_scratch_note(parsed))}.",
            )
        stale = _stale_cells(py, parsed, replaced) if notebook_changed else []
        if stale:
            return _keep_py_over_stale_notebook(py, notebook, parsed, stale, replaced)
        if py_changed and notebook_changed:
            raise SyncConflictError(
                f"Both {py.name} and {notebook.name} changed since the last sync, so neither "
                f"overwrites the other. Keep one with `make sync MODULE={_module_key(directory)} "
                f"FROM=py` or `FROM=notebook` (the other file is then replaced, and kept in "
                f"{BACKUP_DIR}/)."
            )
        if py_changed:
            return _py_to_notebook(py, notebook, replaced)
        _lost_definitions(py, notebook, parsed)
    return _notebook_to_py(py, notebook, parsed, adopted, replaced)


def record_synced(directory: Path, filename: str) -> None:
    """Mark the pair as in step (used right after seeding from the starter)."""
    py = directory / filename
    _save_state(directory, py, py.with_suffix(".ipynb"), [])
