"""Solution regions: find them in a solution file and replace them by stubs.

A region looks like this (the HINT lines are optional)::

    # BEGIN SOLUTION 01.2
    # HINT: NumPy's + already broadcasts.
    return a + b
    # END SOLUTION

and becomes, in the starter, a `# TODO (Task 01.2)` marker and a `NotImplementedError`
naming the task, the function and the hint: the hint is written once, in the message the
student also sees in feedback, wrapped so that no line passes `MAX_COLUMNS`. Nested,
unclosed or stray markers are errors.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

from grader.stub import STUB_MESSAGE, stub_message

BEGIN = re.compile(r"^(?P<indent>\s*)# BEGIN SOLUTION(?:\s+(?P<task>\S+))?\s*$")
END = re.compile(r"^\s*# END SOLUTION\s*$")
HINT = re.compile(r"^\s*# HINT:\s?(?P<text>.*)$")
TASK_ID = re.compile(r"^\d{2}\.\d+$")
SCOPE = re.compile(r"^(?P<indent>\s*)(?:async\s+)?(?:def|class)\s+(?P<name>\w+)")
MAX_COLUMNS = 100


class RegionError(ValueError):
    """A solution file's markers are malformed."""


@dataclass(frozen=True)
class Region:
    """One solution region: its task, where it is, and its hint."""

    task: str
    begin: int
    """0-based line index of the BEGIN marker."""
    end: int
    """0-based line index of the END marker."""
    indent: str
    hint: str
    scope: str
    """Qualified name of the enclosing function or class, for the stub's message."""


def find_regions(text: str, filename: str = "<solution>") -> list[Region]:
    """Parse every region in `text`; raise `RegionError` naming the line on any mistake."""
    lines = text.splitlines()
    regions: list[Region] = []
    open_at: int | None = None
    match = None
    for index, line in enumerate(lines):
        begin, end = BEGIN.match(line), END.match(line)
        where = f"{filename}:{index + 1}"
        if begin:
            if open_at is not None:
                raise RegionError(
                    f"{where}: BEGIN SOLUTION inside the region opened at line {open_at + 1}"
                )
            task = begin.group("task")
            if task is None or not TASK_ID.match(task):
                raise RegionError(
                    f"{where}: BEGIN SOLUTION needs a task id like 01.2, got {task!r}"
                )
            open_at, match = index, begin
        elif end:
            if open_at is None or match is None:
                raise RegionError(f"{where}: END SOLUTION without a BEGIN SOLUTION")
            hints = [HINT.match(h) for h in lines[open_at + 1 : index]]
            hint = " ".join(h.group("text").strip() for h in hints if h)
            regions.append(
                Region(
                    match.group("task"),
                    open_at,
                    index,
                    match.group("indent"),
                    hint,
                    enclosing_scope(lines, open_at),
                )
            )
            open_at = None
    if open_at is not None:
        raise RegionError(f"{filename}:{open_at + 1}: BEGIN SOLUTION is never closed")
    return regions


def enclosing_scope(lines: list[str], index: int) -> str:
    """Qualified name of the def/class chain that encloses line `index`."""
    names: list[str] = []
    width = len(lines[index]) - len(lines[index].lstrip())
    for line in reversed(lines[:index]):
        found = SCOPE.match(line)
        if found and len(found.group("indent")) < width:
            names.append(found.group("name"))
            width = len(found.group("indent"))
    return ".".join(reversed(names)) or "module level"


def stub_lines(region: Region) -> list[str]:
    """The starter's replacement for one region: a TODO marker and the task's raise."""
    message = stub_message(region.task, region.scope, region.hint)
    marker = f"{region.indent}# TODO (Task {region.task})"
    one_line = f"{region.indent}raise NotImplementedError({message!r})"
    if len(one_line) <= MAX_COLUMNS:
        return [marker, one_line]
    inner = region.indent + "    "
    pieces = _split_words(message, MAX_COLUMNS - len(inner) - 2)
    return [
        marker,
        f"{region.indent}raise NotImplementedError(",
        *(f"{inner}{piece!r}" for piece in pieces),
        f"{region.indent})",
    ]


def _split_words(text: str, width: int) -> list[str]:
    """`text` cut at spaces into pieces of at most `width` characters (a longer word stays
    whole); the pieces concatenate back to exactly `text`."""
    pieces: list[str] = []
    current = ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if current and len(candidate) + 1 > width:
            pieces.append(current + " ")
            current = word
        else:
            current = candidate
    return [*pieces, current]


def make_starter_text(text: str, filename: str = "<solution>") -> str:
    """`text` with every solution region replaced by its stub."""
    lines = text.splitlines()
    out: list[str] = []
    cursor = 0
    for region in find_regions(text, filename):
        out.extend(lines[cursor : region.begin])
        out.extend(stub_lines(region))
        cursor = region.end + 1
    out.extend(lines[cursor:])
    return "\n".join(out) + ("\n" if text.endswith("\n") else "")


def solution_only_lines(text: str) -> set[str]:
    """Stripped code lines that occur inside regions and nowhere outside them.

    These are the lines whose presence in a starter would leak a solution. A line of
    brackets and punctuation alone (`)`, `],`) reveals nothing and is left out: the
    starter's own wrapped stubs close with one.
    """
    lines = text.splitlines()
    inside: set[int] = set()
    for region in find_regions(text):
        inside.update(range(region.begin + 1, region.end))
    outside = {lines[i].strip() for i in range(len(lines)) if i not in inside}
    candidates = {lines[i].strip() for i in inside}
    return {
        line
        for line in candidates - outside
        if any(c.isalnum() for c in line) and not line.startswith("#")
    }


def open_tasks(path: Path) -> list[str]:
    """What is still to do in a module file: '<file> is missing', or its open tasks.

    Found by reading the code for the stubs `stub_lines` writes, never by running it.
    """
    if not path.is_file():
        return [f"{path.name} is missing"]
    try:
        tasks = stub_tasks(path.read_text(encoding="utf-8"), str(path))
    except SyntaxError as error:
        return [f"{path.name} has a syntax error on line {error.lineno}"]
    return [f"Task {task} ({_few(scopes)})" for task, scopes in sorted(tasks.items())]


def stub_tasks(source: str, filename: str = "<module>") -> dict[str, list[str]]:
    """The tasks whose stubs (`stub_lines`) are still in `source`, each with the scopes
    they sit in; SyntaxError when `source` does not parse."""
    tasks: dict[str, list[str]] = {}
    for node in ast.walk(ast.parse(source, filename=filename)):
        if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
            continue
        call = node.exc
        if isinstance(call.func, ast.Name) and call.func.id == "NotImplementedError" and call.args:
            message = call.args[0]
            if isinstance(message, ast.Constant) and isinstance(message.value, str):
                match = STUB_MESSAGE.match(message.value)
                if match:
                    tasks.setdefault(match["task"], []).append(match["scope"])
    return tasks


def _few(names: list[str], shown: int = 3) -> str:
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more
