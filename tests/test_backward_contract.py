"""Module 05's engine keeps the op-to-rule contract, and every op has a rule.

A backward rule returns one gradient per input, each of a shape that sums back to its
input. A rule that breaks this (too few gradients, a wrong shape) must raise an error
that names the op and what the rule returned, never leave a `.grad` silently missing.
Runs on the reference solutions, built into a package as grading builds it.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from grader.course import load_course
from grader.layout import Layout
from grader.package import ModuleSource, build_package

LAYOUT = Layout()
COURSE = load_course(LAYOUT.manifest)
BUILT = [m for m in COURSE.modules if LAYOUT.module_file(LAYOUT.solutions, m).is_file()]

TOY_OP = """
import numpy as np
from tinytorch.core.autograd import backward_rule
from tinytorch.core.tensor import Function, Tensor

class ScaleFn(Function):
    @staticmethod
    def forward(ctx, a, b):
        return a * b

@backward_rule(ScaleFn)
def scale_backward(ctx, grad_output):
    {body}

a = Tensor(np.ones((2, 3)), requires_grad=True)
b = Tensor(np.ones((2, 3)), requires_grad=True)
try:
    ScaleFn.apply(a, b).sum().backward()
    print("no error", None if a.grad is None else a.grad.shape)
except RuntimeError as error:
    print("RuntimeError:", error)
"""


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("solutions-package")
    modules = [m for m in BUILT if m.number <= 5]
    sources = [ModuleSource.in_tree(m, LAYOUT.solutions, "") for m in modules]
    build_package(root, sources)
    return root


def _run_toy(root: Path, body: str) -> str:
    program = f"import sys; sys.path.insert(0, {str(root)!r})\n" + TOY_OP.format(body=body)
    result = subprocess.run(
        [sys.executable, "-I", "-c", program], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip()


def test_a_rule_returning_too_few_gradients_is_named(package):
    out = _run_toy(package, "return (grad_output,)")
    assert out.startswith("RuntimeError:"), out
    assert "ScaleFn (scale_backward) returned 1 gradient(s) for 2 input(s)" in out


def test_a_gradient_of_the_wrong_shape_is_named(package):
    out = _run_toy(package, "return grad_output, np.ones((3, 2))")
    assert out.startswith("RuntimeError:"), out
    assert "ScaleFn (scale_backward)" in out and "shape (3, 2) for input 1 of shape (2, 3)" in out


def test_a_broadcast_shaped_gradient_is_summed_back(package):
    out = _run_toy(package, "return np.ones((4, 2, 3)), None")
    assert out == "no error (2, 3)"


def test_a_bare_array_counts_as_one_gradient(package):
    assert "returned 1 gradient(s) for 2 input(s)" in _run_toy(package, "return grad_output")


def _functions_and_rules(source: str) -> tuple[set[str], set[str]]:
    """Names of `Function` subclasses defined in `source`, and of ops given a rule."""
    tree = ast.parse(source)
    functions = {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
        and any(isinstance(base, ast.Name) and base.id == "Function" for base in node.bases)
    }
    rules = {
        decorator.args[0].id
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef)
        for decorator in node.decorator_list
        if isinstance(decorator, ast.Call)
        and getattr(decorator.func, "id", None) == "backward_rule"
        and isinstance(decorator.args[0], ast.Name)
    }
    return functions, rules


def test_every_function_of_the_solutions_has_a_backward_rule():
    functions: set[str] = set()
    rules: set[str] = set()
    for module in BUILT:
        source = LAYOUT.module_file(LAYOUT.solutions, module).read_text()
        found, ruled = _functions_and_rules(source)
        functions |= found
        rules |= ruled
    assert functions, "no Function subclass found: the scan is broken"
    assert functions - rules == set(), f"ops without a backward rule: {sorted(functions - rules)}"
