"""Feedback that explains (issue 12): the error line of every failure is shown, long
tracebacks are cut in the middle with a marker, what a failing test printed is shown
(capped), paths are the student's own, the local run says plainly where hidden tests are
graded, and the hints say what actually went wrong."""

import dataclasses
import importlib.util
import re
import shutil

import numpy as np
import pytest

from grader import grade_verb
from grader.grade import plugin
from grader.grade.engine import grade_module
from grader.layout import Layout
from grader.remote.errors import student_error
from grader.remote.session import StudentFile
from grader.report import shorten
from grader.report.formats import console_table
from grader.report.results import ModuleResult, TestResult
from grader.report.shorten import OUTPUT_HEADING
from grader.testing.checks import as_array, assert_array
from grader.worker import server, wire

from .conftest import default_isolation


def _result(feedback: str) -> ModuleResult:
    test = TestResult("tests/visible/t.py::test_x", "01.2", 0.0, 1.0, False, feedback, False, 0.1)
    return ModuleResult("01_tensor", "Tensor", (test,), 1.0, 0.1, "")


def _flat(text: str) -> str:
    """Text with its line wrapping undone (the console wraps long lines)."""
    return " ".join(text.split())


def _long_failure(frames: int = 30, printed: int = 40) -> str:
    location = (
        '  File "assignments/01_tensor/tests/test_01_tensor.py", line 37, in test_x\n    a + b'
    )
    trace = [
        f'  File "assignments/01_tensor/tensor.py", line {n}, in f{n}\n    g{n}()'
        for n in range(frames)
    ]
    output = "\n".join(f"step {n}" for n in range(printed))
    return (
        "\n".join(
            [
                location,
                "Traceback (your code):",
                *trace,
                "NameError: name 'helper_typo' is not defined",
            ]
        )
        + f"\n\n{OUTPUT_HEADING}\n{output}"
    )


# -- 1. the error line is always shown; long tracebacks are cut in the middle ------------


def test_the_console_shows_the_error_line_of_a_long_traceback_and_cuts_its_middle():
    console = console_table(_result(_long_failure()))
    assert "NameError: name 'helper_typo' is not defined" in console
    assert "in test_x" in console, "the traceback's start (the test line) is kept"
    assert "line 29, in f29" in console, "the traceback's end (the failing line) is kept"
    assert "line 10, in f10" not in console
    marker = re.search(r"\.\.\. \((\d+) lines cut\) \.\.\.", console)
    assert marker, console
    shown = [
        line for line in console.splitlines() if re.search(r"line \d+, in f\d+|g\d+\(\)", line)
    ]
    assert len(shown) + int(marker.group(1)) == 60, "the marker counts exactly the lines cut"


def test_a_timeout_with_much_output_still_says_what_went_wrong():
    feedback = (
        '  File "assignments/01_tensor/tests/test_01_tensor.py", line 54, in test_exp\n'
        "    x.exp()\nYour code did not finish within this test's 2 s time limit, so it was "
        "stopped.\n\n" + f"{OUTPUT_HEADING}\n" + "\n".join("waiting" for _ in range(50))
    )
    console = _flat(console_table(_result(feedback)))
    assert "did not finish within this test's 2 s time limit" in console


def test_an_import_failure_keeps_its_introduction_and_its_error():
    lines = [
        "Your module could not be imported:",
        "Traceback (your code):",
        '  File "x.py"',
        "E: m",
    ]
    assert shorten.error_line_index(lines) == 3
    assert shorten.cut_lines([str(n) for n in range(10)], 5) == [
        "0",
        "1",
        "... (6 lines cut) ...",
        "8",
        "9",
    ]


# -- 2. what a failing test printed, capped --------------------------------------------


def test_printed_output_is_capped_with_a_marker():
    assert shorten.cap_output("\n".join(f"line {n}" for n in range(40))).splitlines()[-1] == (
        "... (output cut after 20 lines) ..."
    )
    assert len(
        shorten.cap_output("x" * 5000)
    ) < 2100 and "after 2000 characters" in shorten.cap_output("x" * 5000)
    assert shorten.cap_output("a\x1b[2Jb\rc") == "a\\x1b[2Jb\\x0dc", (
        "terminal escapes are made visible"
    )
    console = console_table(_result(_long_failure()))
    assert "step 19" in console and "step 20" not in console
    assert "(output cut after 20 lines)" in console


# -- 3. the student's own paths ------------------------------------------------------------


def test_staged_paths_become_the_students_own_with_their_line_numbers():
    files = {"tinytorch/core/tensor.py": StudentFile("assignments/01_tensor/tensor.py", 1)}
    text = (
        "/stage/tinytorch/core/tensor.py:472: UserWarning: careful\n"
        '  File "/stage/tinytorch/core/tensor.py", line 10, in f\n'
        "/stage/tinytorch/core/activations.py:3: RuntimeWarning"
    )
    assert plugin.student_paths(text, "/stage", files).splitlines() == [
        "assignments/01_tensor/tensor.py:471: UserWarning: careful",
        '  File "assignments/01_tensor/tensor.py", line 9, in f',
        "tinytorch/core/activations.py:3: RuntimeWarning",
    ]


# -- 4. a local run says plainly where hidden tests are graded --------------------------


def test_a_local_run_says_hidden_tests_are_graded_on_push_without_any_warning(tmp_path):
    layout = Layout(tmp_path)  # a student template: no hidden tests
    local = grade_verb._hidden_note(grade_verb.GradeRequest(modules=["01"]), layout)
    assert local == (grade_verb.HIDDEN_ON_PUSH,) and "push" in grade_verb.HIDDEN_ON_PUSH
    ci = grade_verb._hidden_note(grade_verb.GradeRequest(modules=["01"], actions=True), layout)
    assert ci == (grade_verb.NO_HIDDEN_TESTS,)
    for note in (grade_verb.HIDDEN_ON_PUSH, grade_verb.NO_HIDDEN_TESTS):
        assert not re.search(r"secret|token|bundle|warning", note, re.IGNORECASE)


# -- 5. hints that say what went wrong ----------------------------------------------------


def test_a_bare_array_or_number_is_told_to_return_through_the_ops_function():
    for value, kind in [(np.ones(2), "a NumPy array"), (np.float32(3.0), "a plain number")]:
        with pytest.raises(AssertionError) as caught:
            as_array(value, "x.sum()")
        message = str(caught.value)
        assert f"returned {kind}" in message
        assert "SomeFn.apply(self, ...)" in message and "autograd" in message
        assert "return Tensor(result)" not in message  # it would bypass autograd


def test_differing_values_and_dtypes_say_so_on_the_first_line():
    with pytest.raises(AssertionError) as caught:
        assert_array(np.array([1.0, 2.0], dtype=np.float32), np.array([1.0, 3.0]), "a + b")
    assert str(caught.value).splitlines()[0] == "a + b: values differ from the expected result"
    with pytest.raises(AssertionError) as caught:
        assert_array(np.array([1, 2]), np.array([1, 2]), "x * 3")
    assert "got int64" in str(caught.value) and "constant" not in str(caught.value)


def test_forward_returning_a_tensor_is_named_as_the_cause():
    class Tensor:
        pass

    holder = np.empty((), dtype=object)
    holder[()] = Tensor()
    with pytest.raises(wire.WireError, match="forward returned a Tensor") as caught:
        wire.Encoder(lambda value: {}).encode(holder)
    shown = student_error("WireError", str(caught.value), ()).explain()
    assert shown.startswith("Your code returned a value the grader cannot read back")
    assert "must return an ndarray" in shown
    with pytest.raises(wire.WireError, match="dtype object"):
        wire.Encoder(lambda value: {}).encode(np.array([[1], [1, 2]], dtype=object))


def test_an_error_raised_in_place_of_another_shows_the_line_that_failed_first(tmp_path):
    path = tmp_path / "student.py"
    path.write_text(
        "def forward(a):\n    return a.reshape(3)\n\n\n"
        "def apply(a):\n    try:\n        return forward(a)\n    except ValueError as error:\n"
        "        raise ValueError(f'incompatible shapes: {error}') from None\n"
    )
    spec = importlib.util.spec_from_file_location("student_forward", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with pytest.raises(ValueError) as caught:
        module.apply(np.ones(4))
    frames = server._error(caught.value, [str(path)])["frames"]
    assert [f[2] for f in frames] == ["apply", "forward"]
    assert frames[-1][3] == "return a.reshape(3)"


# -- the whole path: a module graded, then shown in the console -------------------------

FAULTS = {
    "        return a + b\n": (
        "        for step in range(30):\n            print('step', step)\n"
        "        return helper_typo(a) + b\n"
    ),
    "        return a * b\n": "        return Tensor(a * b)\n",
    "        return np.exp(a)\n": (
        "        import time\n        while True:\n            print('waiting')\n"
        "            time.sleep(0.2)\n"
    ),
    "        return np.matmul(a, b)\n": (
        "        import warnings\n        warnings.warn('careful')\n"
        "        return np.matmul(a, b) + 1\n"
    ),
}


def _faulty_text(layout) -> str:
    """Module 01's solution with the FAULTS put in."""
    text = (layout.solutions / "01_tensor" / "tensor.py").read_text()
    for old, new in FAULTS.items():
        assert old in text
        text = text.replace(old, new, 1)
    return text


@pytest.fixture(scope="module")
def faulty(tmp_path_factory, layout, course):
    """Module 01's solution with one fault per op, graded on its visible tests."""
    root = tmp_path_factory.mktemp("student") / "assignments"
    shutil.copytree(layout.solutions / "01_tensor", root / "01_tensor")
    (root / "01_tensor" / "tensor.py").write_text(_faulty_text(layout))
    policies = dataclasses.replace(
        course.policies, time_limit_seconds=2.0, hang_budget_seconds=20.0
    )
    strict = dataclasses.replace(course, policies=policies)
    result = grade_module(layout, strict, course.module(1), root, False, default_isolation())
    return {t.name: t.feedback for t in result.tests if not t.passed}, console_table(result)


@pytest.mark.slow
def test_a_graded_module_shows_every_error_its_output_and_the_students_paths(faulty, layout):
    failed, console = faulty
    assert set(failed) >= {
        "test_add_broadcasts_a_row_over_a_matrix",
        "test_arithmetic_with_numbers_on_either_side",
        "test_exp_log_and_powers",
        "test_matmul_of_two_matrices",
    }
    flat = _flat(console)
    for feedback in failed.values():
        report = feedback.partition(f"\n\n{OUTPUT_HEADING}")[0].splitlines()
        assert _flat(report[shorten.error_line_index(report)]) in flat, "every error line is shown"
        assert "/stage" not in feedback and "tests/visible" not in feedback, feedback
        assert "tinytorch-grade-" not in feedback
    add = failed["test_add_broadcasts_a_row_over_a_matrix"]
    assert "NameError: name 'helper_typo' is not defined" in add
    assert 'File "assignments/01_tensor/tensor.py"' in add and "step 19" in add
    assert "step 20" not in add and "(output cut after 20 lines)" in add
    assert "forward returned a Tensor" in failed["test_arithmetic_with_numbers_on_either_side"]
    timeout = failed["test_exp_log_and_powers"]
    assert "time limit" in timeout and f"{OUTPUT_HEADING}\nwaiting" in timeout
    stuck = re.search(
        r"your code was running.*\n  assignments/01_tensor/tensor\.py, line (\d+), "
        r"in forward",
        timeout,
    )
    assert stuck, timeout  # where the endless loop was, from the worker's stack dump
    loop = _faulty_text(layout).splitlines()[int(stuck.group(1)) - 1]
    assert loop.strip() in ("print('waiting')", "time.sleep(0.2)", "while True:")
    assert "most recent call first" not in timeout and "Timeout (" not in timeout
    matmul = failed["test_matmul_of_two_matrices"]
    assert "a @ b: values differ from the expected result" in matmul
    assert re.search(r"assignments/01_tensor/tensor\.py:\d+: UserWarning: careful", matmul)


@pytest.mark.slow
def test_hidden_feedback_with_printed_output_never_shows_hidden_source(tmp_path, layout, course):
    root = tmp_path / "assignments"
    shutil.copytree(layout.solutions / "01_tensor", root / "01_tensor")
    path = root / "01_tensor" / "tensor.py"
    old = "        return a + b\n"
    path.write_text(path.read_text().replace(old, FAULTS[old], 1))
    result = grade_module(layout, course, course.module(1), root, True, default_isolation())
    hidden = [t for t in result.tests if t.hidden and not t.passed]
    assert hidden and all("helper_typo" in t.feedback and "step 0" in t.feedback for t in hidden)
    source = (layout.hidden_tests_for(course.module(1)) / "test_01_tensor_hidden.py").read_text()
    lines = {line.strip() for line in source.splitlines() if len(line.strip()) > 25}
    for test in hidden:
        assert not [line for line in lines if line in test.feedback], test.feedback
        assert "tests/hidden" not in test.feedback


def test_a_stack_dump_names_only_the_students_own_lines():
    from grader.remote.stall import split_dump, where_stuck

    files = {"tinytorch/core/tensor.py": StudentFile("assignments/01_tensor/tensor.py", 1)}
    output = (
        "working\nStack (most recent call first):\n"
        '  File "/stage/tinytorch/core/tensor.py", line 42 in forward\n'
        '  File "/stage/tinytorch/core/autograd.py", line 7 in record\n'
        '  File "/grader/hidden/test_01_tensor_hidden.py", line 3 in test_secret\n'
        '  File "/stage/tinytorch/core/tensor.py", line 10 in apply\n'
    )
    printed, dump = split_dump(output)
    assert printed == "working"
    stuck = where_stuck(dump, "/stage", files)
    assert stuck.splitlines()[1:] == [
        "  assignments/01_tensor/tensor.py, line 41, in forward",
        "  assignments/01_tensor/tensor.py, line 9, in apply",
    ]
    assert "hidden" not in stuck and "autograd" not in stuck
    assert where_stuck("no dump at all", "/stage", files) == ""
