"""Module N's code and tests reach only modules up to N (and only its prerequisites), and
the trusted side of grading never imports the student's code."""

import ast

import pytest

from .conftest import BUILT, COURSE, LAYOUT

AIDS = LAYOUT.root / "grader" / "worker" / "aids"


def _tinytorch_imports(tree):
    """Names of `tinytorch.core.<name>` modules imported in `tree`, and whether any
    `tinytorch` import is there at all."""
    found, any_import = set(), False
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            any_import |= parts[0] == "tinytorch"
            if parts[:2] == ["tinytorch", "core"] and len(parts) > 2:
                found.add(parts[2])
    return found, any_import


def _kit_modules(tree):
    """Student modules a test reaches through the kit: `student.<slug>`, `aids.<slug>`."""
    return {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in ("student", "aids")
        and node.attr != "graph"
    }


def _tests(module):
    return [
        *(LAYOUT.solutions / module.dirname / "tests").glob("*.py"),
        *LAYOUT.hidden_tests_for(module).glob("*.py"),
    ]


@pytest.mark.parametrize("module", BUILT, ids=lambda m: m.dirname)
def test_module_files_and_tests_reach_only_earlier_prerequisites(module):
    allowed = {m.slug for m in COURSE.prerequisite_closure(module)} | {module.slug}
    module_file = LAYOUT.module_file(LAYOUT.solutions, module)
    aids = AIDS / module.filename
    for path in [module_file, *([aids] if aids.is_file() else [])]:
        extra = _tinytorch_imports(ast.parse(path.read_text()))[0] - allowed
        assert not extra, f"{path.relative_to(LAYOUT.root)} imports later modules: {extra}"
    for path in _tests(module):
        extra = _kit_modules(ast.parse(path.read_text())) - allowed
        assert not extra, f"{path.relative_to(LAYOUT.root)} reaches later modules: {extra}"


@pytest.mark.parametrize("module", BUILT, ids=lambda m: m.dirname)
def test_tests_never_import_the_students_code(module):
    trusted = [*_tests(module), *(LAYOUT.root / "grader" / "testing").glob("*.py")]
    for path in trusted:
        assert not _tinytorch_imports(ast.parse(path.read_text()))[1], (
            f"{path.relative_to(LAYOUT.root)} imports tinytorch: tests reach the student's "
            "code through grader.testing.kit, never by import"
        )


def test_the_checkers_see_imports_and_kit_names():
    tree = ast.parse(
        "from tinytorch.core.tensor import Tensor\nimport tinytorch.core.losses\n"
        "X = student.layers.Linear\nY = aids.autograd.TripleFn\n"
    )
    assert _tinytorch_imports(tree) == ({"tensor", "losses"}, True)
    assert _kit_modules(tree) == {"layers", "autograd"}
