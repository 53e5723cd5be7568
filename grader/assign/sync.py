"""Keep a module file and its notebook twin in step (`make sync MODULE=01`).

A small state file remembers the hashes of both at the last sync. Whichever side
changed since then is converted into the other; when both changed, nothing is
overwritten and the student is told how to choose.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from grader.assign.notebook import (
    canonical_py,
    notebook_to_py,
    py_to_notebook,
    read_notebook,
    write_notebook,
)

STATE_FILE = ".sync-state.json"


class SyncConflictError(RuntimeError):
    """Both the module file and the notebook changed since the last sync."""


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


def _same_code(py: Path, notebook: Path) -> bool:
    text = notebook_to_py(read_notebook(notebook.read_text(encoding="utf-8")))
    return text == canonical_py(py.read_text(encoding="utf-8"))


def _py_to_notebook(py: Path, notebook: Path) -> None:
    notebook.write_text(
        write_notebook(py_to_notebook(py.read_text(encoding="utf-8"))), encoding="utf-8"
    )


def _notebook_to_py(py: Path, notebook: Path) -> None:
    py.write_text(
        notebook_to_py(read_notebook(notebook.read_text(encoding="utf-8"))), encoding="utf-8"
    )


def sync_module(directory: Path, filename: str, prefer: str | None = None) -> SyncResult:
    """Sync `directory/filename` with its `.ipynb`; `prefer` ("py"/"notebook") forces a side."""
    py = directory / filename
    notebook = py.with_suffix(".ipynb")
    if not py.exists() and not notebook.exists():
        raise FileNotFoundError(f"neither {py} nor {notebook} exists")
    state = _load_state(directory)
    py_changed = _hash(py) != state.get("py")
    notebook_changed = _hash(notebook) != state.get("notebook")
    if prefer is None:
        if not notebook.exists():
            prefer = "py"
        elif not py.exists():
            prefer = "notebook"
        elif not (py_changed or notebook_changed) or _same_code(py, notebook):
            _save_state(directory, py, notebook)
            return SyncResult("none", f"{py.name} and {notebook.name} already hold the same code.")
        elif py_changed and notebook_changed:
            raise SyncConflictError(
                f"Both {py.name} and {notebook.name} changed since the last sync, so neither "
                f"overwrites the other. Keep one with `make sync MODULE=.. FROM=py` or "
                f"`FROM=notebook` (the other file is then replaced)."
            )
        else:
            prefer = "py" if py_changed else "notebook"
    if prefer == "py":
        _py_to_notebook(py, notebook)
        message = f"Updated {notebook.name} from {py.name} (notebook outputs were cleared)."
    else:
        _notebook_to_py(py, notebook)
        message = f"Updated {py.name} from {notebook.name}."
    _save_state(directory, py, notebook)
    return SyncResult(prefer, message)


def record_synced(directory: Path, filename: str) -> None:
    """Mark the pair as in step (used right after seeding from the starter)."""
    py = directory / filename
    _save_state(directory, py, py.with_suffix(".ipynb"))
