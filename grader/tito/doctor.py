"""`tito doctor`: is this machine ready for the course, and what to do next.

Each check is small and says, when it fails, the one thing to do about it. Nothing here
changes the repository.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import re
import subprocess
import sys
import tomllib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from grader.assign.notebook import (
    NotebookFormatError,
    adopt_recreated_cells,
    defined_names,
    is_module_cell,
    module_names,
    read_notebook,
)
from grader.assign.status import UNLOCKED, course_status
from grader.assign.sync import same_code
from grader.course import Course
from grader.layout import Layout
from grader.remote.isolation import Level, choose

OK, WARN, FAIL = "ok", "warn", "fail"


@dataclass(frozen=True)
class Check:
    """One line of the doctor's report; `fix` says what to do when it is not ok."""

    name: str
    outcome: str
    detail: str
    fix: str = ""


def check_python() -> Check:
    """Which interpreter runs the course (tito itself needs 3.11 or newer to start)."""
    version = ".".join(map(str, sys.version_info[:3]))
    return Check("Python", OK, f"Python {version} ({sys.executable})")


def check_environment(layout: Layout) -> Check:
    venv = (layout.root / ".venv").resolve()
    here = Path(sys.prefix).resolve()
    if here == venv:
        return Check("Environment", OK, f"the course environment ({venv})")
    return Check(
        "Environment",
        WARN,
        f"running from {here}, not the course's .venv",
        "run `make venv`, then `.venv/bin/tito` (or `source .venv/bin/activate`)",
    )


def check_packages(layout: Layout) -> Check:
    """Every pinned dependency of pyproject.toml installed at its pinned version."""
    try:
        project = tomllib.loads((layout.root / "pyproject.toml").read_text(encoding="utf-8"))
        pins = project["project"]["dependencies"]
    except (OSError, ValueError, KeyError) as error:
        return Check(
            "Packages",
            FAIL,
            f"cannot read pyproject.toml ({error})",
            "restore the course's copy: `git restore pyproject.toml`",
        )
    wrong = []
    for pin in pins:
        name, _, wanted = pin.partition("==")
        try:
            found = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found = "missing"
        if wanted and found != wanted:
            wrong.append(f"{name} {found} (wanted {wanted})")
    if wrong:
        return Check("Packages", FAIL, "; ".join(wrong), "run `make venv` (it installs the pins)")
    return Check("Packages", OK, f"{len(pins)} pinned packages installed")


def check_git_remote(layout: Layout) -> Check:
    try:
        result = subprocess.run(
            ["git", "-C", str(layout.root), "remote", "get-url", "origin"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError) as error:
        return Check("Git remote", FAIL, f"git did not run ({error})", "install git")
    if result.returncode != 0:
        return Check(
            "Git remote",
            FAIL,
            "no `origin` remote: your pushes cannot reach your course repository",
            "clone your repository from GitHub (`gh repo clone <org>/<repo>`), or add it "
            "with `git remote add origin <url>`",
        )
    url = re.sub(r"//[^@/]+@", "//", result.stdout.strip())  # never print a token in a URL
    return Check("Git remote", OK, url)


def _notebook_differs(py: Path) -> str | None:
    """Why the notebook twin of `py` does not hold its code, or None if it does. The
    functions and classes each side defines are compared, not only the text: code that
    lives only in scratch cells is never graded."""
    notebook = py.with_suffix(".ipynb")
    if not notebook.is_file():
        return None  # the next sync writes it
    try:
        parsed = read_notebook(notebook.read_text(encoding="utf-8"))
    except NotebookFormatError as error:
        return f"{notebook.name} is broken ({error}); `tito sync NN --from py` rebuilds it"
    graded = defined_names(py.read_text(encoding="utf-8"))
    adopted = adopt_recreated_cells(parsed, graded)
    in_cells = module_names(parsed)
    scratch = [
        cell.source
        for cell in parsed.cells
        if cell.cell_type == "code" and not is_module_cell(parsed, cell)
    ]
    only_scratch = defined_names("\n\n".join(scratch)) - graded - in_cells if scratch else set()
    problems = [
        f"{py.name} defines {_listed(graded - in_cells)} but no module cell of the notebook does"
        if graded - in_cells
        else "",
        f"the notebook's module cells define {_listed(in_cells - graded)} but {py.name} does not"
        if in_cells - graded
        else "",
        f"{_listed(only_scratch)} only in scratch cells of {notebook.name} (never graded: move "
        "the code into a module cell or into the .py)"
        if only_scratch
        else "",
        *(
            f"the new cell starting `{cell.first_line}` replaces a deleted module cell "
            f"({_listed(set(cell.names))})"
            for cell in adopted
        ),
    ]
    if any(problems):
        return "; ".join(problem for problem in problems if problem)
    if not same_code(py, parsed):
        return f"{py.name} and {notebook.name} differ (the same functions and classes)"
    return None


def _listed(names: set[str]) -> str:
    return ", ".join(sorted(names))


def check_sync(layout: Layout, course: Course) -> Check:
    """Each unlocked module's .py and .ipynb hold the same code."""
    problems = []
    for module in course.modules:
        py = layout.module_file(layout.assignments, module)
        problem = _notebook_differs(py) if py.is_file() else None
        if problem:
            problems.append(f"{module.key}: {problem}")
    if problems:
        return Check(
            "Notebooks",
            WARN,
            "; ".join(problems),
            "run `tito sync NN` for each module listed (code in scratch cells is graded only "
            "once it is in a module cell)",
        )
    return Check("Notebooks", OK, "every module file and notebook hold the same code")


def check_isolation() -> Check:
    isolation = choose(required=False)
    if isolation.level is Level.NAMESPACES:
        return Check("Isolation", OK, "bubblewrap isolates your code while grading")
    return Check(
        "Isolation",
        WARN,
        f"local grading runs with {isolation.description.split(':')[0]}",
        "optional: `sudo apt-get install bubblewrap` (official grading always isolates)",
    )


@dataclass(frozen=True)
class Diagnosis:
    """All checks and the next step; `to_json` is what `--json` prints."""

    checks: list[Check]
    next_step: str

    @property
    def healthy(self) -> bool:
        return all(check.outcome != FAIL for check in self.checks)

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "healthy": self.healthy}, indent=2)


def diagnose(layout: Layout, course: Course, today: dt.date) -> Diagnosis:
    """Run every check; a check that crashes is reported, never raised."""
    checks: list[Callable[[], Check]] = [
        check_python,
        lambda: check_environment(layout),
        lambda: check_packages(layout),
        lambda: check_git_remote(layout),
        lambda: check_sync(layout, course),
        check_isolation,
    ]
    results = []
    for check in checks:
        try:
            results.append(check())
        except Exception as error:  # a doctor that crashes helps nobody
            results.append(Check("Check", FAIL, f"could not run: {error!r}", "tell your TA"))
    status = course_status(layout, course, today)
    if not any(m.state == UNLOCKED for m in status.modules):
        next_step = "No module is unlocked yet: run `make update` after the first release date."
    else:
        next_step = status.next_step
    failing = [check for check in results if check.outcome == FAIL]
    if failing:
        next_step = f"First fix {failing[0].name}: {failing[0].fix}."
    return Diagnosis(results, next_step)
