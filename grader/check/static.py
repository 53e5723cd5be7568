"""Checks on a submission's source that need no execution: syntax and the course's rule
on libraries.

Code inside `tinytorch/` may import only NumPy, the standard library and tinytorch itself
(the course is about building these pieces, not importing them). A violation means the
module's tests are not run, with a message naming the line. This check is for honest
mistakes only: it is not a security boundary. What the student's code can reach at run
time is decided by the worker's isolation (grader/remote/isolation.py), whatever the code
imports and however it spells the import.
"""

from __future__ import annotations

import ast
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from grader.submission import MODULE_FILE_LIMIT

ALLOWED_THIRD_PARTY = {"numpy", "tinytorch"}
PARSING = threading.Lock()
"""Modules are graded side by side in threads, and CPython 3.11's AST validation keeps its
recursion depth in shared state: concurrent `ast.parse` calls can fail with
"SystemError: AST constructor recursion depth mismatch". One parse at a time."""


@dataclass(frozen=True)
class Problem:
    """One reason the submission cannot be run, worded for the student."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}, line {self.line}: {self.message}"


def check_source(path: Path, shown_name: str) -> list[Problem]:
    """Every problem found in the module file at `path` (named `shown_name` in messages)."""
    if not path.is_file():
        return [
            Problem(shown_name, 0, "the file is missing; run `make unlock` to restore the starter")
        ]
    if path.stat().st_size > MODULE_FILE_LIMIT:  # parsing costs hundreds of times the size
        return [Problem(shown_name, 0, f"the file is over {MODULE_FILE_LIMIT // 1024} KB")]
    try:
        source = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return [Problem(shown_name, 0, "the file is not UTF-8 text")]
    try:
        with PARSING:
            tree = ast.parse(source, filename=shown_name)
    except SyntaxError as error:
        detail = (error.text or "").strip()
        where = f" near `{detail}`" if detail else ""
        return [Problem(shown_name, error.lineno or 0, f"SyntaxError: {error.msg}{where}")]
    except (ValueError, RecursionError, MemoryError) as error:  # null bytes, deep nesting
        return [Problem(shown_name, 0, f"Python cannot read this file: {error}")]
    return _import_problems(tree, shown_name)


def _import_problems(tree: ast.AST, shown_name: str) -> list[Problem]:
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            reason = forbidden_reason(name.split(".")[0])
            if reason:
                problems.append(
                    Problem(shown_name, node.lineno, f"`import {name}` is not allowed: {reason}")
                )
    return problems


def forbidden_reason(root: str) -> str | None:
    """Why tinytorch may not import the top-level module `root`, or None if it may."""
    if root in ALLOWED_THIRD_PARTY or root in sys.stdlib_module_names or root == "__future__":
        return None
    return "tinytorch may use only NumPy and the Python standard library"
