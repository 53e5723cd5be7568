"""Find milestones, check that the modules they need are complete, and run them.

A milestone is a folder `milestones/NN_slug/` with a `README.md` and a script `slug.py`.
The script's docstring starts with its title, and a top-level `REQUIRES = (7,)` names the
modules it imports directly (their prerequisites in classroom.yml are added).

Before a run, every module needed is checked in the submission tree (`assignments/` by
default): its file must exist and must not raise a task's `NotImplementedError` stub
(found by reading the code, not by running it). The script then runs against a `tinytorch`
package built from that tree into a temporary folder, so it always uses the code as it is
now, and the repository's `tinytorch/` is left alone.

`python -m milestones` runs BLAS single-threaded unless `OPENBLAS_NUM_THREADS` (or
`OMP_NUM_THREADS`) says otherwise: on a busy 2-core machine two BLAS threads made the
MLP's matrix products 8 to 50 times slower (measured). On a quiet machine the CNNs of
milestone 04 gain from two threads (see its README): set OPENBLAS_NUM_THREADS=2.
"""

from __future__ import annotations

import ast
import re
import runpy
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from grader.course import Course, ModuleSpec
from grader.layout import Layout
from grader.package import build_package
from milestones.datasets.fetch import DataUnavailableError
from milestones.datasets.idx import IdxFormatError

MILESTONES_DIR = Path(__file__).resolve().parent
STUB_MESSAGE = re.compile(r"^Task (?P<task>\d{2}\.\d+): implement (?P<scope>.+?)\.(?: Hint: |$)")


@dataclass(frozen=True)
class Milestone:
    """One historical demo."""

    key: str
    """Two digits, as in `make milestone M=01`."""
    folder: Path
    script: Path
    title: str
    requires: tuple[int, ...]
    """Module numbers the script imports directly."""


class MilestoneError(Exception):
    """A milestone cannot run; the message says why and what to do."""


def discover(root: Path = MILESTONES_DIR) -> dict[str, Milestone]:
    """Every milestone folder under `root`, by key."""
    found = {}
    for folder in sorted(root.glob("[0-9][0-9]_*")):
        script = folder / f"{folder.name[3:]}.py"
        if folder.is_dir() and script.is_file():
            tree = ast.parse(script.read_text(encoding="utf-8"), filename=str(script))
            title = (ast.get_docstring(tree) or folder.name).splitlines()[0].rstrip(".")
            found[folder.name[:2]] = Milestone(
                folder.name[:2], folder, script, title, _requires(tree, script)
            )
    return found


def _requires(tree: ast.Module, script: Path) -> tuple[int, ...]:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "REQUIRES" for t in node.targets
        ):
            value = ast.literal_eval(node.value)
            if isinstance(value, tuple) and all(isinstance(n, int) for n in value):
                return value
    raise MilestoneError(f"{script}: needs a top-level REQUIRES = (module numbers, ...)")


def needed_modules(course: Course, milestone: Milestone) -> list[ModuleSpec]:
    """The modules a milestone needs, prerequisites included, in course order."""
    numbers = set(milestone.requires)
    for number in milestone.requires:
        numbers |= {m.number for m in course.prerequisite_closure(course.module(number))}
    return [m for m in course.modules if m.number in numbers]


def unfinished(path: Path) -> list[str]:
    """What is still to do in a module file: '<file> is missing', or its open tasks."""
    if not path.is_file():
        return [f"{path.name} is missing"]
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except SyntaxError as error:
        return [f"{path.name} has a syntax error on line {error.lineno}"]
    tasks: dict[str, list[str]] = {}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
            continue
        call = node.exc
        if isinstance(call.func, ast.Name) and call.func.id == "NotImplementedError" and call.args:
            message = call.args[0]
            if isinstance(message, ast.Constant) and isinstance(message.value, str):
                match = STUB_MESSAGE.match(message.value)
                if match:
                    tasks.setdefault(match["task"], []).append(match["scope"])
    return [f"Task {task} ({_few(scopes)})" for task, scopes in sorted(tasks.items())]


def _few(names: list[str], shown: int = 3) -> str:
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def check_ready(course: Course, milestone: Milestone, tree: Path, shown: str) -> None:
    """Raise MilestoneError listing every needed module that is missing or unfinished."""
    lines = []
    for module in needed_modules(course, milestone):
        todo = unfinished(tree / module.dirname / module.filename)
        if todo:
            lines.append(f"  {module.dirname}: " + "; ".join(todo))
    if lines:
        modules = ", ".join(m.key for m in needed_modules(course, milestone))
        raise MilestoneError(
            f"Milestone {milestone.key} ({milestone.title}) needs modules {modules}, "
            f"complete, in {shown}/. Not done yet:\n"
            + "\n".join(lines)
            + "\nFinish them (check each with `make grade MODULE=NN`; a missing module "
            "arrives with `make unlock` once it is released), then run the milestone again."
        )


def run(layout: Layout, course: Course, milestone: Milestone, tree: Path, args: list[str]) -> int:
    """Check, build a temporary package from `tree`, and run the milestone's script."""
    shown = _shown(tree, layout)
    check_ready(course, milestone, tree, shown)
    modules = needed_modules(course, milestone)
    with tempfile.TemporaryDirectory(prefix="tinytorch-milestone-") as stage:
        build_package(
            Path(stage),
            [
                (m, tree / m.dirname / m.filename, f"{shown}/{m.dirname}/{m.filename}")
                for m in modules
            ],
        )
        print(f"Milestone {milestone.key}: {milestone.title} (tinytorch from {shown}/)", flush=True)
        saved_path, saved_argv = list(sys.path), list(sys.argv)
        sys.path[:0] = [stage, str(layout.root)]
        sys.argv = [str(milestone.script), *args]
        try:
            runpy.run_path(str(milestone.script), run_name="__main__")
        except SystemExit as done:
            return done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
        except (DataUnavailableError, IdxFormatError) as error:  # data, not code: no traceback
            print(f"error: {error}", file=sys.stderr)
            return 1
        finally:
            sys.path[:], sys.argv = saved_path, saved_argv
            for name in [n for n in sys.modules if n == "tinytorch" or n.startswith("tinytorch.")]:
                del sys.modules[name]
    return 0


def _shown(tree: Path, layout: Layout) -> str:
    try:
        return tree.resolve().relative_to(layout.root.resolve()).as_posix()
    except ValueError:
        return str(tree)
