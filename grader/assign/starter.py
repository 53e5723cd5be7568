"""Generate `starter/NN_slug/` from `solutions/NN_slug/` (`make starter`).

The module file loses its solution regions (see `regions.py`) and gains a notebook
twin; every other file (README, visible tests, data) is copied as it is. Each module
folder also gets a small `Makefile` (`MODULE_MAKEFILE`), so that `make grade` works in
`assignments/NN_slug/` as it does at the root.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from grader.assign.notebook import py_to_notebook, write_notebook
from grader.assign.regions import make_starter_text
from grader.course import Course, ModuleSpec
from grader.layout import Layout

IGNORED = {"__pycache__", ".pytest_cache", ".hypothesis", ".ipynb_checkpoints"}
MODULE_MAKEFILE = """\
# This module's folder: `make grade` here grades this module, `make sync` and
# `make notebook` work on it, and every other target of the course's Makefile works too.
# Each runs in the repository's root folder, two folders up, for this module.
MODULE ?= $(notdir $(CURDIR))

help:
\t@$(MAKE) --no-print-directory -C ../.. help

Makefile: ;

%:
\t@$(MAKE) --no-print-directory -C ../.. $@ MODULE=$(MODULE)
"""
"""Written to every module folder; `make` there runs the root's target for the module."""


def render_starter(layout: Layout, module: ModuleSpec) -> dict[str, bytes]:
    """Every file of the module's starter, keyed by path relative to its directory."""
    source_dir = layout.solutions / module.dirname
    files: dict[str, bytes] = {}
    for path in sorted(source_dir.rglob("*")):
        relative = path.relative_to(source_dir)
        if path.is_dir() or IGNORED & set(relative.parts) or path.suffix == ".pyc":
            continue
        if relative.as_posix() == module.filename:
            text = make_starter_text(path.read_text(encoding="utf-8"), str(path))
            files[module.filename] = text.encode("utf-8")
            notebook_name = Path(module.filename).with_suffix(".ipynb").name
            files[notebook_name] = write_notebook(py_to_notebook(text)).encode("utf-8")
        else:
            files[relative.as_posix()] = path.read_bytes()
    files.setdefault("Makefile", MODULE_MAKEFILE.encode("utf-8"))
    if module.filename not in files:
        raise FileNotFoundError(
            f"{source_dir / module.filename}: the module's solution file is missing"
        )
    return files


def built_modules(layout: Layout, course: Course) -> list[ModuleSpec]:
    """Modules of the course that have a solution directory yet."""
    return [m for m in course.modules if (layout.solutions / m.dirname).is_dir()]


def write_starters(layout: Layout, course: Course) -> list[Path]:
    """Regenerate the starter of every built module; returns the directories written."""
    written = []
    for module in built_modules(layout, course):
        target = layout.starter / module.dirname
        files = render_starter(layout, module)
        if target.exists():
            shutil.rmtree(target)  # starter/ is generated only: nothing here is hand-written
        for relative, content in files.items():
            path = target / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        written.append(target)
    return written


def starter_differences(layout: Layout, module: ModuleSpec) -> list[str]:
    """Files of `starter/` that differ from what `make starter` would write."""
    expected = render_starter(layout, module)
    target = layout.starter / module.dirname
    actual = (
        {
            p.relative_to(target).as_posix(): p.read_bytes()
            for p in target.rglob("*")
            if p.is_file() and not IGNORED & set(p.relative_to(target).parts) and p.suffix != ".pyc"
        }
        if target.exists()
        else {}
    )
    names = sorted(set(expected) | set(actual))
    return [f"{module.dirname}/{n}" for n in names if expected.get(n) != actual.get(n)]
