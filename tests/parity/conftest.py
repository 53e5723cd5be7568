"""PyTorch parity: the reference solutions against PyTorch 2.13 (CPU) on the same inputs.

These tests run in their own environment, `.venv/parity` (`make parity`, called by
`make test`): PyTorch is never installed beside the course's own packages, and never
imported by tinytorch or the grader. `tinytorch` is built here from `solutions/`, so the
suite checks the reference a student's work is graded against.
"""

from __future__ import annotations

import importlib
import sys
import tempfile
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]


def _build_reference() -> None:
    """Build `tinytorch` from solutions/ into a temporary folder first on sys.path."""
    sys.path.insert(0, str(ROOT))
    from grader.assign.starter import built_modules
    from grader.course import load_course
    from grader.layout import Layout
    from grader.package import ModuleSource, build_package

    layout = Layout(ROOT)
    course = load_course(layout.manifest)
    sources = [
        ModuleSource.in_tree(module, layout.solutions, "solutions")
        for module in built_modules(layout, course)
    ]
    target = Path(tempfile.mkdtemp(prefix="tinytorch-parity-"))
    build_package(target, sources)
    sys.path.insert(0, str(target))
    for name in [n for n in sys.modules if n == "tinytorch" or n.startswith("tinytorch.")]:
        del sys.modules[name]
    importlib.import_module("tinytorch")


_build_reference()
torch.set_default_dtype(torch.float32)
torch.use_deterministic_algorithms(True)


def pytest_terminal_summary(terminalreporter) -> None:
    """How many values the suite compared with PyTorch (for the record)."""
    from tests.parity.compare import COMPARISONS

    terminalreporter.write_line(f"parity: {COMPARISONS[0]} comparisons with PyTorch")
