"""Convert a module file (percent-format cells) to a Jupyter notebook and back.

Cells start at lines `# %%` (code) and `# %% [markdown]` (markdown, each line
commented). The conversion is exact for files in canonical form: cells separated by
two blank lines, which is what `notebook_to_py` writes.
"""

from __future__ import annotations

import nbformat

CODE_MARK = "# %%"
MARKDOWN_MARK = "# %% [markdown]"
CELL_SEPARATOR = "\n\n\n"


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


def py_to_notebook(text: str) -> nbformat.NotebookNode:
    """A notebook with one cell per percent-format cell of `text`."""
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    notebook.metadata["language_info"] = {"name": "python"}
    for index, (kind, body) in enumerate(_split_cells(text)):
        cell = (
            nbformat.v4.new_markdown_cell(body)
            if kind == "markdown"
            else nbformat.v4.new_code_cell(body)
        )
        cell.id = f"cell-{index:03d}"  # deterministic ids keep generated notebooks diff-free
        notebook.cells.append(cell)
    return notebook


def notebook_to_py(notebook: nbformat.NotebookNode) -> str:
    """The module file for `notebook`, in canonical form (outputs are dropped)."""
    chunks = []
    for cell in notebook.cells:
        source = cell.source.strip("\n")
        if cell.cell_type == "markdown":
            commented = "\n".join(f"# {line}".rstrip() for line in source.splitlines())
            chunks.append(f"{MARKDOWN_MARK}\n{commented}")
        elif cell.cell_type == "code":
            chunks.append(f"{CODE_MARK}\n{source}")
    return CELL_SEPARATOR.join(chunks) + "\n"


def canonical_py(text: str) -> str:
    """`text` as `notebook_to_py` would write it."""
    return notebook_to_py(py_to_notebook(text))


def write_notebook(notebook: nbformat.NotebookNode) -> str:
    """Serialized notebook text (validated by nbformat)."""
    nbformat.validate(notebook)
    return nbformat.writes(notebook) + "\n"


def read_notebook(text: str) -> nbformat.NotebookNode:
    """Parse notebook text; raises `nbformat.reader.NotJSONError` on garbage."""
    return nbformat.reads(text, as_version=4)
