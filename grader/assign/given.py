"""The course's new given code in the student's module files, their work kept.

Maintainers sometimes change the given code of modules students already have (module 15
added profiler hooks to modules 01, 03 and 05). Unlocking only ever adds files, so
`assignments/NN_slug/slug.py` keeps the given code it was unlocked with. After
`tito update` merged what came in (the course's `starter/` with it), `refresh_given_code`
merges three versions of each module file, the way git merges branches:

- the student's file: their code where the starter had `# TODO (Task NN.k)` stubs, and
  any other edit (it keeps no region markers, so nothing is matched by task name);
- the starter it was unlocked from: of the versions of `starter/NN_slug/slug.py` in the
  repository's history, the one whose lines differ least from the student's file;
- the starter as it is now.

Given code the student did not touch takes the new version and every line the student
wrote stays; where the student wrote a task's code and the course only changed that
task's stub (its hint), the student's code stays. When a place that both changed cannot
be merged, or the merge would not parse, the file is left alone, the merge with those
places marked is written beside it (`slug.py.updated`), and the student is told what to
do. Once the student's file has the given code a `slug.py.updated` brought (they moved
it over, resolved the places by hand, or a later merge went through), that leftover is
moved into `.backups/`, with a line saying where. The old file is kept in `.backups/`,
and the notebook follows through the sync (`sync.py`): notebook edits are brought into
the file first, then the notebook is rebuilt from the merged file. Other files of the
module folder (README, visible tests) take the new version only when the student's copy
is exactly an earlier version.
"""

from __future__ import annotations

import ast
import difflib
import re
import subprocess
import tempfile
import textwrap
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from grader.assign.regions import SCOPE, enclosing_scope, stub_tasks
from grader.assign.starter import IGNORED
from grader.assign.sync import STATE_FILE, SyncConflictError, backup, sync_module
from grader.course import Course, ModuleSpec
from grader.layout import Layout

History = Callable[[str], list[bytes]]
"""The versions of a repository file (a path relative to the root), newest first."""
MERGE_TIMEOUT = 60
"""Seconds for one `git merge-file`."""
MARKER_SIZE = 13
"""Longer conflict markers than git's 7, so that no line of a student's file is one."""
TODO = re.compile(r"^\s*# TODO \(Task (?P<task>\d{2}\.\d+)\)\s*$", flags=re.MULTILINE)
YOURS = "<<<<<<< your {name}\n"
MIDDLE = "=======\n"
THEIRS = ">>>>>>> the course's new given code\n"


@dataclass(frozen=True)
class Merge:
    """A three-way merge of a module file."""

    text: str
    """The merged file; each place that could not be merged is marked as git marks it."""
    conflicts: tuple[str, ...]
    """Where the marked places are: `line 170, in Function.apply`."""


def three_way(student: str, old: str, new: str, name: str) -> Merge:
    """Merge the change from `old` to `new` into `student` (`git merge-file`); a place
    where the student's code replaced a stub whose hint alone changed keeps their code."""
    with tempfile.TemporaryDirectory(prefix="tito-given-") as scratch:
        paths = [Path(scratch, side) for side in ("yours", "old", "new")]
        for path, text in zip(paths, (student, old, new), strict=True):
            path.write_bytes(text.encode("utf-8"))
        result = subprocess.run(
            ["git", "merge-file", "-p", "--diff3", f"--marker-size={MARKER_SIZE}",
             *(str(p) for p in paths)],
            capture_output=True, timeout=MERGE_TIMEOUT, check=False,
        )  # fmt: skip
    if result.returncode > 127:  # git's errors; 0-127 counts the conflicts
        raise OSError(result.stderr.decode("utf-8", "replace").strip() or "git merge-file failed")
    return _resolve(result.stdout.decode("utf-8"), name)


def _resolve(merged: str, name: str) -> Merge:
    """Keep the student's side of stub-only conflicts; mark the rest for the student."""
    begin, base, middle, end = (c * MARKER_SIZE for c in "<|=>")
    out: list[str] = []
    conflicts: list[str] = []
    sides: dict[str, list[str]] | None = None
    side = ""
    for line in merged.splitlines(keepends=True):
        marker = line.rstrip("\r\n").split(" ", 1)[0]
        if sides is None:
            if marker == begin:
                sides, side = {"yours": [], "old": [], "new": []}, "yours"
            else:
                out.append(line)
        elif marker in (base, middle):
            side = "old" if marker == base else "new"
        elif marker == end:
            if _is_stub(sides["old"]) and _is_stub(sides["new"]):
                out += sides["yours"]
            else:
                first = next((s for s in sides["yours"] + sides["new"] if s.strip()), "")
                where = enclosing_scope([*(s.rstrip("\n") for s in out), first], len(out))
                inside = "at module level" if where == "module level" else f"in {where}"
                conflicts.append(f"line {len(out) + 1}, {inside}")
                out += [YOURS.format(name=name), *sides["yours"], MIDDLE]
                out += [*sides["new"], THEIRS]
            sides = None
        else:
            sides[side].append(line)
    if sides is not None:
        raise OSError("git merge-file left a conflict unclosed")
    return Merge("".join(out), tuple(conflicts))


def _is_stub(lines: list[str]) -> bool:
    """The lines are a task's stub only: its TODO marker and its raise."""
    source = textwrap.dedent("".join(lines))
    try:
        statements = ast.parse(source).body
        tasks = stub_tasks(source)
    except SyntaxError:
        return False
    return bool(statements) and len(statements) == sum(len(s) for s in tasks.values())


def _distance(first: str, second: str) -> int:
    """How many lines (blank ones aside) one text has that the other has not."""
    a, b = (Counter(s.rstrip() for s in text.splitlines() if s.strip()) for text in (first, second))
    return sum(((a - b) + (b - a)).values())


def starter_it_came_from(student: str, versions: list[str]) -> str:
    """The version (newest first) closest to the student's file; the newest on a tie."""
    return min(versions, key=lambda version: _distance(student, version))


def _definitions(lines: list[str]) -> list[str]:
    """The qualified name of each line's innermost def or class, the line's own included."""
    names = []
    for index, line in enumerate(lines):
        own = SCOPE.match(line)
        outer = enclosing_scope(lines, index)
        if own:
            outer = own["name"] if outer == "module level" else f"{outer}.{own['name']}"
        names.append(outer)
    return names


def _outermost(names: list[str], others: list[str]) -> list[str]:
    """The names of `names` missing from `others`, without those inside another of them."""
    missing = [n for n in dict.fromkeys(names) if n not in others]
    return [n for n in missing if not any(n.startswith(f"{m}.") for m in missing)]


def what_changed(old: str, new: str) -> str:
    """`new: A, B; changed: C.d, lines at module level; removed: E` from `old` to `new`."""
    before, after = old.splitlines(), new.splitlines()
    names_before, names_after = _definitions(before), _definitions(after)
    added, removed = _outermost(names_after, names_before), _outermost(names_before, names_after)
    changed: dict[str, None] = {}
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        touched = [(after, names_after, j) for j in range(j1, j2)]
        touched += [(before, names_before, i) for i in range(i1, i2)]
        for lines, names, index in touched:
            name = names[index]
            if lines[index].strip() and not any(
                name == n or name.startswith(f"{n}.") for n in added + removed
            ):
                changed[name] = None
    outer = _outermost(list(changed), [])
    shown = [n if n != "module level" else "lines at module level" for n in outer]
    parts = {"new": added, "changed": shown, "removed": removed}
    return "; ".join(f"{label}: {', '.join(names)}" for label, names in parts.items() if names)


def _task_span(tasks: list[str]) -> str:
    """`tasks 01.1-01.4, 01.6`: consecutive task numbers as ranges."""
    runs: list[list[str]] = []
    for task in sorted(tasks, key=lambda t: (t.split(".")[0], int(t.split(".")[1]))):
        last = runs[-1][-1] if runs else ""
        following = last and last.split(".")[0] == task.split(".")[0]
        if following and int(last.split(".")[1]) + 1 == int(task.split(".")[1]):
            runs[-1].append(task)
        else:
            runs.append([task])
    spans = [run[0] if len(run) == 1 else f"{run[0]}-{run[-1]}" for run in runs]
    return ("task " if len(tasks) == 1 else "tasks ") + ", ".join(spans)


def _kept_work(old: str, student: str) -> str:
    """What of the student's work the update kept, as the end of a sentence."""
    try:
        still_stubs = set(stub_tasks(student))
    except SyntaxError:
        return "every line you wrote is kept"
    done = [task for task in dict.fromkeys(TODO.findall(old)) if task not in still_stubs]
    return f"your code for {_task_span(done)} is kept" if done else "every line you wrote is kept"


@dataclass
class Refresh:
    """What refreshing the given code did: lines to say, files to commit."""

    lines: list[str]
    changed: list[Path]
    removed: list[Path] = field(default_factory=list)
    """Files moved into `.backups/` (their removal is committed if git tracks them)."""


def _versions(history: History, relative: str, current: bytes) -> list[bytes]:
    return list(dict.fromkeys([current, *history(relative)]))


def refresh_module_file(
    layout: Layout, module: ModuleSpec, history: History, refresh: Refresh
) -> None:
    """Merge the new given code into the student's module file (see the module docstring)."""
    directory = layout.assignments / module.dirname
    py, starter = directory / module.filename, layout.starter / module.dirname / module.filename
    rel = py.relative_to(layout.root).as_posix()
    try:
        new = starter.read_text(encoding="utf-8")
        raw = _versions(history, starter.relative_to(layout.root).as_posix(), new.encode())
        versions = [version.decode("utf-8") for version in raw]
        old = starter_it_came_from(py.read_text(encoding="utf-8"), versions)
    except UnicodeDecodeError:
        refresh.lines.append(f"Not updated: {rel} is not UTF-8 text, so it cannot be merged.")
        return
    if old == new:
        _set_aside_updated(layout, py, versions, 0, refresh)
        return
    try:
        sync_module(directory, module.filename)  # the notebook's edits into the file first
    except SyncConflictError as stop:
        refresh.lines.append(
            f"Not updated: the course changed the given code of {rel}, but first: {stop} Then "
            "run `tito update` again."
        )
        return
    student = py.read_text(encoding="utf-8")
    change = what_changed(old, new)
    try:
        merge = three_way(student, old, new, module.filename)
    except (OSError, subprocess.TimeoutExpired, UnicodeDecodeError) as error:
        refresh.lines.append(f"Not updated: {rel} could not be merged ({error}).")
        return
    if merge.text == student:  # the student's file has the new given code already
        _set_aside_updated(layout, py, versions, 0, refresh)
        return
    broken = "" if merge.conflicts else _breaks(student, merge.text)
    if merge.conflicts or broken:
        _set_aside_updated(layout, py, versions, versions.index(old), refresh)
        refresh.lines.append(_leave_alone(layout, module, py, merge, change, broken))
        return
    kept = backup(py)
    py.write_text(merge.text, encoding="utf-8")
    synced = sync_module(directory, module.filename)
    refresh.lines.append(
        f"Updated the given code of {rel} ({change}); {_kept_work(old, student)}. Your "
        f"previous file is kept as {kept.relative_to(layout.root).as_posix()}. {synced.message}"
    )
    _set_aside_updated(layout, py, versions, 0, refresh)
    notebook = py.with_suffix(".ipynb")
    refresh.changed += [p for p in (py, notebook, directory / STATE_FILE) if p.exists()]


def _course_side(text: str) -> str:
    """A `.updated` file with each marked place taken from the course's side: the given
    code that file brings, however far the student got in resolving it."""
    kept: list[str] = []
    theirs = True
    for line in text.splitlines(keepends=True):
        if line.startswith(YOURS.split("{")[0]):
            theirs = False
        elif line == MIDDLE and not theirs:
            theirs = True
        elif theirs and line != THEIRS:
            kept.append(line)
    return "".join(kept)


def _set_aside_updated(
    layout: Layout, py: Path, versions: list[str], holds: int, refresh: Refresh
) -> None:
    """Move `slug.py.updated` into `.backups/` when `py` has the given code it brought:
    `holds` is the index in `versions` (newest first) of the given code `py` has."""
    updated = py.with_name(f"{py.name}.updated")
    if not updated.is_file():
        return
    brought = _course_side(updated.read_text(encoding="utf-8", errors="replace"))
    if versions.index(starter_it_came_from(brought, versions)) < holds:
        return  # newer given code than the student's file has: they may be finishing it
    kept = backup(updated)
    updated.unlink()
    refresh.removed.append(updated)
    rel = py.relative_to(layout.root).as_posix()
    refresh.lines.append(
        f"{rel}.updated from an earlier update is no longer needed ({py.name} has the given "
        f"code it brought): moved it to {kept.relative_to(layout.root).as_posix()}, should "
        "you still want anything from it."
    )


def _breaks(student: str, merged: str) -> str:
    """Where the merge would not parse, when the student's file did; else ""."""
    try:
        ast.parse(student)
    except SyntaxError:
        return ""
    try:
        ast.parse(merged)
    except SyntaxError as error:
        return f"it would not run (a syntax error on line {error.lineno})"
    return ""


def _leave_alone(
    layout: Layout, module: ModuleSpec, py: Path, merge: Merge, change: str, broken: str
) -> str:
    """Write the merge beside the untouched file (never over an earlier one the student may
    be editing); the sentence saying what to do."""
    rel = py.relative_to(layout.root).as_posix()
    updated = py.with_name(f"{py.name}.updated")
    changed = f"Not updated: the course changed the given code of {rel} ({change})"
    if updated.exists() and updated.read_text(encoding="utf-8", errors="replace") != merge.text:
        return (
            f"{changed}, and {rel}.updated from an earlier update is still there. Finish it "
            f"and move it over {py.name} (`mv {rel}.updated {rel}`), or delete it and run "
            "`tito update` again."
        )
    updated.write_text(merge.text, encoding="utf-8")
    count = len(merge.conflicts)
    if count:
        places = "that place" if count == 1 else f"those {count} places"
        why = f"you changed given code where it did: {'; '.join(merge.conflicts)}"
        todo = (
            f"{places} marked between `{YOURS.format(name=py.name).strip()}` and "
            f"`{THEIRS.strip()}`: keep what you need from both sides and delete the marker lines"
        )
    else:
        why, todo = f"merged with yours, {broken}", "fix that line"
    return (
        f"{changed}, but {why}. Your file is untouched. {rel}.updated holds your code with "
        f"the new given code, {todo}. Then run `mv {rel}.updated {rel}` and "
        f"`make grade MODULE={module.key}` (it updates the notebook too)."
    )


def refresh_other_files(
    layout: Layout, module: ModuleSpec, history: History, refresh: Refresh
) -> None:
    """Replace each file of the module folder that is exactly an earlier version of its
    starter file by the new version (the module file and its notebook aside)."""
    starter = layout.starter / module.dirname
    skipped = {module.filename, Path(module.filename).with_suffix(".ipynb").name, STATE_FILE}
    for source in sorted(starter.rglob("*")):
        relative = source.relative_to(starter)
        if source.is_dir() or IGNORED & set(relative.parts) or relative.as_posix() in skipped:
            continue
        target = layout.assignments / module.dirname / relative
        new = source.read_bytes()
        if not target.is_file() or target.read_bytes() == new:
            continue
        versions = _versions(history, source.relative_to(layout.root).as_posix(), new)
        if target.read_bytes() in versions[1:]:
            target.write_bytes(new)
            refresh.changed.append(target)
            refresh.lines.append(
                f"Updated {target.relative_to(layout.root).as_posix()} to the course's new "
                "version (you had not changed it)."
            )


def refresh_given_code(layout: Layout, course: Course, history: History) -> Refresh:
    """Bring changed given code into every module the student has; see the docstring."""
    refresh = Refresh([], [])
    for module in course.modules:
        starter = layout.starter / module.dirname
        if (layout.assignments / module.dirname / module.filename).is_file() and (
            starter / module.filename
        ).is_file():
            refresh_module_file(layout, module, history, refresh)
            refresh_other_files(layout, module, history, refresh)
    return refresh
