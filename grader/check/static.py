"""Checks on a submission's source that need no execution: syntax and imports.

Code inside `tinytorch/` may import only NumPy, the standard library and tinytorch
itself, and none of the standard-library modules that start processes, open network
connections or reach into the grader (`gc`, `inspect`, `sys.modules`, frames,
`__globals__`). A violation means the module's tests are not run at all; the same
rules are enforced at run time by `grader/grade/sandbox.py`.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

ALLOWED_THIRD_PARTY = {"numpy", "tinytorch"}
FORBIDDEN_STDLIB = {
    "subprocess": "it starts other programs",
    "multiprocessing": "it starts other processes",
    "concurrent": "it starts other processes",
    "socket": "it opens network connections",
    "ssl": "it opens network connections",
    "http": "it opens network connections",
    "urllib": "it opens network connections",
    "ftplib": "it opens network connections",
    "smtplib": "it opens network connections",
    "asyncio": "it can start processes and open connections",
    "ctypes": "it runs native code outside NumPy",
    "pty": "it starts other programs",
    "posix": "it starts other programs",
    "_posixsubprocess": "it starts other programs",
    "socketserver": "it opens network connections",
    "xmlrpc": "it opens network connections",
    "webbrowser": "it starts other programs",
    "gc": "it reaches into the grader's memory",
    "inspect": "it reaches into the grader's memory",
    "builtins": "it changes Python itself for the grader too",
    "importlib": "it hides what the code imports",
    "atexit": "it runs code after grading has finished",
}
FORBIDDEN_ATTRIBUTES = {
    "modules": "sys",
    "_getframe": "sys",
    "settrace": "sys",
    "setprofile": "sys",
    "addaudithook": "sys",
}
"""Attributes of `sys` that reach into the grader (looked up as `sys.<name>`)."""
INTERNAL_ATTRIBUTES = {
    "__globals__",
    "__closure__",
    "__code__",
    "__subclasses__",
    "__builtins__",
    "f_back",
    "f_globals",
    "f_locals",
    "gi_frame",
    "tb_frame",
}
FORBIDDEN_CALLS = {
    ("os", "system"),
    ("os", "popen"),
    ("os", "fork"),
    ("os", "execv"),
    ("os", "execvp"),
    ("os", "execl"),
    ("os", "execlp"),
    ("os", "spawnv"),
    ("os", "spawnl"),
    ("os", "kill"),
}


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
    try:
        source = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return [Problem(shown_name, 0, "the file is not UTF-8 text")]
    try:
        tree = ast.parse(source, filename=shown_name)
    except SyntaxError as error:
        detail = (error.text or "").strip()
        where = f" near `{detail}`" if detail else ""
        return [Problem(shown_name, error.lineno or 0, f"SyntaxError: {error.msg}{where}")]
    return [*_import_problems(tree, shown_name), *_call_problems(tree, shown_name)]


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
    if root in FORBIDDEN_STDLIB:
        return FORBIDDEN_STDLIB[root]
    if root in ALLOWED_THIRD_PARTY or root in sys.stdlib_module_names or root == "__future__":
        return None
    return "tinytorch may use only NumPy and the Python standard library"


def _call_problems(tree: ast.AST, shown_name: str) -> list[Problem]:
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if (node.value.id, node.attr) in FORBIDDEN_CALLS:
                problems.append(
                    Problem(
                        shown_name,
                        node.lineno,
                        f"`{node.value.id}.{node.attr}` is not allowed: "
                        "it starts or stops other programs",
                    )
                )
        if isinstance(node, ast.Attribute) and _reaches_internals(node):
            problems.append(
                Problem(
                    shown_name,
                    node.lineno,
                    f"`.{node.attr}` is not allowed: it reaches into the grader's internals",
                )
            )
        if isinstance(node, ast.Name) and node.id in INTERNAL_ATTRIBUTES:
            problems.append(
                Problem(
                    shown_name,
                    node.lineno,
                    f"`{node.id}` is not allowed: it reaches into the grader's internals",
                )
            )
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id == "__import__" or node.func.id in {"eval", "exec"}:
                problems.append(
                    Problem(
                        shown_name,
                        node.lineno,
                        f"`{node.func.id}(...)` is not allowed: "
                        "it hides what the code imports or runs",
                    )
                )
    return problems


def _reaches_internals(node: ast.Attribute) -> bool:
    if node.attr in INTERNAL_ATTRIBUTES:
        return True
    owner = FORBIDDEN_ATTRIBUTES.get(node.attr)
    return owner is not None and isinstance(node.value, ast.Name) and node.value.id == owner
