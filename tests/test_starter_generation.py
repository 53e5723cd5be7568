"""Starter generation: markers, stubs, sync with solutions, and no leaked solution line."""

import pytest

from grader.assign.notebook import canonical_py, notebook_to_py, read_notebook
from grader.assign.regions import RegionError, find_regions, make_starter_text, solution_only_lines
from grader.assign.starter import render_starter, starter_differences

from .conftest import BUILT

SOLUTION = """class Adder:
    def add(self, a, b):
        # BEGIN SOLUTION 01.2
        # HINT: use +.
        total = a + b
        return total
        # END SOLUTION


def helper():
    # BEGIN SOLUTION 01.3
    return 42
    # END SOLUTION
"""

STARTER = """class Adder:
    def add(self, a, b):
        # TODO (Task 01.2)
        raise NotImplementedError('Task 01.2: implement Adder.add. Hint: use +.')


def helper():
    # TODO (Task 01.3)
    raise NotImplementedError('Task 01.3: implement helper.')
"""


def test_a_long_hint_is_written_once_and_wrapped_inside_the_column_limit():
    hint = " ".join(f"word{i}" for i in range(60))
    solution = (
        f"def f():\n    # BEGIN SOLUTION 01.1\n    # HINT: {hint}\n    return 1\n"
        "    # END SOLUTION\n"
    )
    starter = make_starter_text(solution)
    assert max(len(line) for line in starter.splitlines()) <= 100
    assert starter.count("word59") == 1
    namespace: dict = {}
    exec(starter, namespace)
    with pytest.raises(NotImplementedError) as raised:
        namespace["f"]()
    assert str(raised.value) == f"Task 01.1: implement f. Hint: {hint}"


def test_no_starter_line_passes_the_column_limit(layout):
    for module in BUILT:
        text = layout.module_file(layout.starter, module).read_text()
        long = [n for n, line in enumerate(text.splitlines(), 1) if len(line) > 100]
        assert not long, f"{module.filename}: lines over 100 columns: {long[:10]}"


def test_regions_become_stubs_that_name_task_scope_and_hint():
    assert make_starter_text(SOLUTION) == STARTER
    assert [r.task for r in find_regions(SOLUTION)] == ["01.2", "01.3"]


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "# BEGIN SOLUTION 01.1\n# BEGIN SOLUTION 01.2\n# END SOLUTION\n",
            "inside the region opened at line 1",
        ),
        ("x = 1\n# BEGIN SOLUTION 01.1\nx = 2\n", "m.py:2: BEGIN SOLUTION is never closed"),
        ("# END SOLUTION\n", "m.py:1: END SOLUTION without a BEGIN"),
        ("# BEGIN SOLUTION\nx = 1\n# END SOLUTION\n", "needs a task id like 01.2"),
        ("# BEGIN SOLUTION task-one\n# END SOLUTION\n", "needs a task id like 01.2"),
    ],
)
def test_malformed_markers_are_errors_with_line_numbers(text, message):
    with pytest.raises(RegionError, match=message):
        make_starter_text(text, "m.py")


def test_every_built_module_has_solution_regions_and_tests(layout):
    assert BUILT, "no module is built: solutions/ is empty"
    for module in BUILT:
        source = layout.module_file(layout.solutions, module).read_text()
        assert find_regions(source), f"{module.dirname} has no solution region"
        visible = list((layout.solutions / module.dirname / "tests").glob("test_*.py"))
        hidden = list(layout.hidden_tests_for(module).glob("test_*.py"))
        assert visible, f"{module.dirname} has no visible tests"
        assert hidden, f"{module.dirname} has no hidden tests in grader/hidden/"
        assert (layout.solutions / module.dirname / "README.md").is_file(), (
            f"{module.dirname} has no README"
        )


@pytest.mark.parametrize("module", BUILT, ids=lambda m: m.dirname)
def test_starter_is_in_sync_with_solutions(layout, module):
    assert starter_differences(layout, module) == [], "run `make starter` and commit starter/"


@pytest.mark.parametrize("module", BUILT, ids=lambda m: m.dirname)
def test_no_solution_line_appears_in_the_starter(layout, module):
    solution = layout.module_file(layout.solutions, module).read_text()
    starter_lines = {
        line.strip() for line in layout.module_file(layout.starter, module).read_text().splitlines()
    }
    leaked = solution_only_lines(solution) & starter_lines
    assert not leaked, f"solution lines leaked into starter/{module.dirname}: {sorted(leaked)}"


@pytest.mark.parametrize("module", BUILT, ids=lambda m: m.dirname)
def test_starter_notebook_holds_exactly_the_starter_code(layout, module):
    files = render_starter(layout, module)
    text = files[module.filename].decode()
    notebook = read_notebook(files[module.filename.replace(".py", ".ipynb")].decode())
    assert notebook_to_py(notebook) == text == canonical_py(text)
    assert {cell.cell_type for cell in notebook.cells} == {"code", "markdown"}
