"""The course's reference tinytorch, imported into the grader's own process: the trusted
code the measurement uses (module 19's harness, module 13's GPT for training the text
task's baseline)."""

from __future__ import annotations

import functools
import importlib
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from grader.course import load_course
from grader.layout import Layout
from grader.package import ModuleSource, build_package


@functools.cache
def reference_modules(root: Path | None, numbers: tuple[int, ...]) -> dict[str, ModuleType]:
    """The reference solutions of modules `numbers` and everything they import, built into
    a folder of this process's own, by slug (`"benchmarking"`, `"transformers"`, ...). They
    are imported with that folder first on the path and any `tinytorch` already loaded
    here set aside, then put back, so the two never mix."""
    layout = Layout(root) if root else Layout()
    course = load_course(layout.manifest)
    wanted = {}
    for number in numbers:
        module = course.module(number)
        for m in [*course.prerequisite_closure(module), module]:
            wanted[m.slug] = m
    folder = Path(tempfile.mkdtemp(prefix="tinymlperf-reference-"))
    build_package(
        folder,
        [
            ModuleSource(m, layout.module_file(layout.reference, m), m.dirname)
            for m in wanted.values()
        ],
    )
    loaded = {n: sys.modules.pop(n) for n in list(sys.modules) if n.split(".")[0] == "tinytorch"}
    sys.path.insert(0, str(folder))
    try:
        return {slug: importlib.import_module(f"tinytorch.core.{slug}") for slug in wanted}
    finally:
        sys.path.remove(str(folder))
        for name in [n for n in sys.modules if n.split(".")[0] == "tinytorch"]:
            del sys.modules[name]
        sys.modules.update(loaded)


def in_turns(harness: ModuleType, settings: Any, calls: dict[str, Any], objects: dict) -> Any:
    """Module 19's report of `calls[name].call(*objects[name])` for the baseline and the
    submission, interleaved (A B A B) on this process's clock with `settings`' windows."""
    return harness.benchmark(
        {name: (lambda name=name: calls[name].call(*objects[name])) for name in calls},
        warmup=settings.warmup,
        windows=settings.windows,
        min_window_seconds=settings.min_window_seconds,
        clock=time.perf_counter,
        seed=settings.seed,
    )
