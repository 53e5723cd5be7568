"""Module N's code and tests import only modules up to N (and only its prerequisites)."""

import ast

import pytest

from .conftest import BUILT, COURSE, LAYOUT


def _tinytorch_imports(path):
    """Names of `tinytorch.core.<name>` modules imported by the file at `path`."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[:2] == ["tinytorch", "core"] and len(parts) > 2:
                found.add(parts[2])
    return found


@pytest.mark.parametrize("module", BUILT, ids=lambda m: m.dirname)
def test_module_files_and_tests_import_only_earlier_prerequisites(module):
    allowed = {m.slug for m in COURSE.prerequisite_closure(module)} | {module.slug}
    files = [
        LAYOUT.module_file(LAYOUT.solutions, module),
        *(LAYOUT.solutions / module.dirname / "tests").glob("*.py"),
        *LAYOUT.hidden_tests_for(module).glob("*.py"),
    ]
    for path in files:
        extra = _tinytorch_imports(path) - allowed
        assert not extra, (
            f"{path.relative_to(LAYOUT.root)} imports later or unrelated modules: {extra}"
        )


def test_the_checker_sees_imports(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("from tinytorch.core.tensor import Tensor\nimport tinytorch.core.losses\n")
    assert _tinytorch_imports(probe) == {"tensor", "losses"}
