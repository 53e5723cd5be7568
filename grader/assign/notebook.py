"""Convert a module file (percent-format cells) to a Jupyter notebook and back.

Cells start at lines `# %%` (code) and `# %% [markdown]` (markdown, each line
commented). The conversion is exact for files in canonical form: cells separated by
two blank lines, which is what `notebook_to_py` writes.

Cells made from the module file are tagged (`metadata["tinytorch"]["module_cell"]`) and
only they go back into the module file. Cells the student adds, or marks as scratch
(tag `scratch`, or a first line `# scratch`), stay in the notebook only and are never
graded; `with_scratch_cells` carries them over when the notebook is rebuilt. Notebooks
made before tagging existed (no `metadata["tinytorch"]`) export every cell but scratch.

A module cell deleted and pasted into a new cell loses its tag; `adopt_recreated_cells`
recognises it by what it defines (a class or function of the module file that no module
cell defines any more) and counts it as a module cell again.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass

import nbformat

CODE_MARK = "# %%"
MARKDOWN_MARK = "# %% [markdown]"
CELL_SEPARATOR = "\n\n\n"
META_KEY = "tinytorch"
SCRATCH_TAG = "scratch"
SCRATCH_FIRST_LINE = re.compile(r"#\s*scratch\b", re.IGNORECASE)
DEFINITION = re.compile(r"^(?:async\s+)?(?:def|class)\s+(\w+)", re.MULTILINE)
"""A top-level def or class, for code that does not parse (a half-finished edit)."""
NOTE_END = "<!-- tinytorch: the note above is not part of the module file -->"
NOTE = f"""> **How this notebook is graded.** `make grade` grades the `.py` file beside this
> notebook, and `make sync` (which `make grade` runs first) copies the module's cells
> between the two: save here (Ctrl+S) before you grade. Cells you add are scratch space:
> they stay in this notebook only, survive syncs and are never graded, and so does any
> cell whose first line is `# scratch`. To change your module, edit its existing cells
> (or the `.py` file).

{NOTE_END}"""


class NotebookFormatError(ValueError):
    """Notebook text that cannot be read: not JSON, not a notebook, or invalid nbformat."""


def _split_cells(text: str) -> list[tuple[str, str]]:
    """(cell_type, source) pairs; text before the first marker is a code cell."""
    cells: list[tuple[str, list[str]]] = [("code", [])]
    for line in text.splitlines():
        if line.rstrip() == MARKDOWN_MARK:
            cells.append(("markdown", []))
        elif line.rstrip() == CODE_MARK:
            cells.append(("code", []))
        else:
            cells[-1][1].append(line)
    result = []
    for kind, lines in cells:
        body = "\n".join(lines).strip("\n")
        if kind == "markdown":
            body = "\n".join(_uncomment(line) for line in body.splitlines())
        if body or kind == "markdown":
            result.append((kind, body))
    return result


def _uncomment(line: str) -> str:
    if line.startswith("# "):
        return line[2:]
    return line[1:] if line.startswith("#") else line


def _without_note(source: str) -> str:
    """A cell's source without the generated note (kept only in the notebook)."""
    _, found, rest = source.partition(NOTE_END)
    return rest.lstrip("\n") if found else source


def _new_notebook() -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    notebook.metadata["language_info"] = {"name": "python"}
    notebook.metadata[META_KEY] = {"module_cells": "tagged"}
    return notebook


def py_to_notebook(text: str) -> nbformat.NotebookNode:
    """A notebook with one tagged cell per percent-format cell of `text`, under the note."""
    notebook = _new_notebook()
    for index, (kind, body) in enumerate(_split_cells(text)):
        if index == 0 and kind == "markdown":
            body = f"{NOTE}\n\n{body}".rstrip("\n")
        cell = (
            nbformat.v4.new_markdown_cell(body)
            if kind == "markdown"
            else nbformat.v4.new_code_cell(body)
        )
        cell.id = f"cell-{index:03d}"  # deterministic ids keep generated notebooks diff-free
        cell.metadata[META_KEY] = {"module_cell": True}
        notebook.cells.append(cell)
    if not notebook.cells or notebook.cells[0].cell_type != "markdown":
        note = nbformat.v4.new_markdown_cell(NOTE)
        note.id = "sync-note"
        notebook.cells.insert(0, note)
    return notebook


def is_scratch(cell: nbformat.NotebookNode) -> bool:
    """Whether the student marked `cell` as scratch (tag or first line `# scratch`)."""
    if SCRATCH_TAG in cell.get("metadata", {}).get("tags", []):
        return True
    first_line = cell.get("source", "").lstrip("\n").split("\n", 1)[0]
    return bool(SCRATCH_FIRST_LINE.match(first_line.strip()))


def is_module_cell(notebook: nbformat.NotebookNode, cell: nbformat.NotebookNode) -> bool:
    """Whether `cell` belongs to the module file (and so is exported and graded)."""
    if cell.cell_type not in ("code", "markdown") or is_scratch(cell):
        return False
    if META_KEY not in notebook.metadata:  # made before tagging: every cell is the module's
        return True
    return bool(cell.get("metadata", {}).get(META_KEY, {}).get("module_cell"))


def notebook_to_py(notebook: nbformat.NotebookNode) -> str:
    """The module file for `notebook`'s module cells, in canonical form (no outputs)."""
    chunks = []
    for cell in notebook.cells:
        if not is_module_cell(notebook, cell):
            continue
        source = _without_note(cell.source).strip("\n")
        if cell.cell_type == "markdown":
            commented = "\n".join(f"# {line}".rstrip() for line in source.splitlines())
            chunks.append(f"{MARKDOWN_MARK}\n{commented}")
        else:
            chunks.append(f"{CODE_MARK}\n{source}")
    return CELL_SEPARATOR.join(chunks) + "\n"


def defined_names(source: str) -> set[str]:
    """The functions and classes `source` defines at its top level."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set(DEFINITION.findall(source))
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return {node.name for node in tree.body if isinstance(node, kinds)}


def module_sources(notebook: nbformat.NotebookNode) -> list[str]:
    """The sources of `notebook`'s module cells, as they go into the module file."""
    return [
        _without_note(cell.source).strip("\n")
        for cell in notebook.cells
        if is_module_cell(notebook, cell)
    ]


def module_names(notebook: nbformat.NotebookNode) -> set[str]:
    """The functions and classes `notebook`'s module cells define."""
    return defined_names(notebook_to_py(notebook))


@dataclass(frozen=True)
class Adopted:
    """A new cell counted as a module cell: it defines what a deleted module cell did."""

    first_line: str
    names: tuple[str, ...]


def adopt_recreated_cells(notebook: nbformat.NotebookNode, expected: set[str]) -> list[Adopted]:
    """Tag (in memory) each new code cell that defines names of `expected` (the module
    file's) which no module cell defines any more; cells marked scratch stay scratch."""
    if META_KEY not in notebook.metadata:
        return []  # made before tagging: every cell already counts
    missing = expected - module_names(notebook)
    adopted = []
    for cell in notebook.cells:
        if cell.cell_type != "code" or is_module_cell(notebook, cell) or is_scratch(cell):
            continue
        names = defined_names(cell.source) & missing
        if names:
            cell.metadata[META_KEY] = {"module_cell": True}
            missing -= names
            first_line = cell.source.strip().split("\n", 1)[0]
            adopted.append(Adopted(first_line, tuple(sorted(names))))
    return adopted


def scratch_count(notebook: nbformat.NotebookNode) -> int:
    """How many cells of `notebook` stay out of the module file (the note aside)."""
    return sum(
        1
        for cell in notebook.cells
        if not is_module_cell(notebook, cell) and cell.get("id") != "sync-note"
    )


def with_scratch_cells(
    new: nbformat.NotebookNode, old: nbformat.NotebookNode
) -> nbformat.NotebookNode:
    """`new` with `old`'s scratch cells put back after the module cell each followed.

    A scratch cell follows the same module cell when its source is still there (the
    occurrence nearest its old position), else the module cell at its old position.
    """
    anchored: list[tuple[int, str | None, nbformat.NotebookNode]] = []
    position, previous = -1, None
    for cell in old.cells:
        if is_module_cell(old, cell):
            position, previous = position + 1, _without_note(cell.source)
        elif cell.get("id") != "sync-note":
            anchored.append((position, previous, cell))
    modules = [i for i, cell in enumerate(new.cells) if is_module_cell(new, cell)]
    sources = [_without_note(new.cells[i].source) for i in modules]
    after: dict[int, list[nbformat.NotebookNode]] = {}
    for position, previous, cell in anchored:
        slot = _slot(position, previous, sources)
        after.setdefault(modules[slot] if slot >= 0 else -1, []).append(cell)
    merged = nbformat.from_dict(new)
    merged.cells = list(after.get(-1, []))
    for index, cell in enumerate(new.cells):
        merged.cells.append(cell)
        merged.cells.extend(after.get(index, []))
    _unique_ids(merged)
    return merged


def _slot(position: int, previous: str | None, sources: list[str]) -> int:
    """Index into `sources` of the module cell a scratch cell goes after (-1: the top)."""
    if position < 0 or not sources:
        return -1
    matches = [i for i, source in enumerate(sources) if source == previous]
    if matches:
        return min(matches, key=lambda i: abs(i - position))
    return min(position, len(sources) - 1)


def _unique_ids(notebook: nbformat.NotebookNode) -> None:
    """Give scratch cells that lack an id, or share one, a fresh `scratch-NNN` id."""
    taken = {cell.id for cell in notebook.cells if is_module_cell(notebook, cell)}
    for number, cell in enumerate(notebook.cells):
        if is_module_cell(notebook, cell):
            continue
        if not cell.get("id") or cell.id in taken:
            cell.id = f"scratch-{number:03d}"
        taken.add(cell.id)


def canonical_py(text: str) -> str:
    """`text` as `notebook_to_py` would write it."""
    return notebook_to_py(py_to_notebook(text))


def write_notebook(notebook: nbformat.NotebookNode) -> str:
    """Serialized notebook text (validated by nbformat)."""
    nbformat.validate(notebook)
    return nbformat.writes(notebook) + "\n"


def read_notebook(text: str) -> nbformat.NotebookNode:
    """Parse and validate notebook text; raises `NotebookFormatError` saying what is wrong."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise NotebookFormatError(f"line {error.lineno}: {error.msg}") from None
    except RecursionError:  # a notebook of any shape is a warning, never a crash
        raise NotebookFormatError("its JSON is nested too deeply to read") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise NotebookFormatError("it is JSON but not a notebook: it has no list of cells")
    try:
        notebook = nbformat.reads(text, as_version=4)
        nbformat.validate(notebook)
    except (
        ValueError,
        TypeError,
        KeyError,
        AttributeError,
        RecursionError,
        nbformat.ValidationError,
    ) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise NotebookFormatError(f"invalid nbformat: {reason}") from None
    return notebook
