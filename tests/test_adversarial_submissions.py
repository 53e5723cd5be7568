"""Broken and hostile submissions get a score and a clear message, never a grader crash:
syntax errors, other libraries, endless loops, memory bombs, crashes, missing modules.
(Attacks on the verdict itself: test_attacks.py.)"""

import dataclasses
import datetime as dt
import shutil
import time

import pytest

from grader.grade.engine import grade_module
from grader.grade.session import grade, modules_to_grade
from grader.grade.suite import shard_count

from .conftest import default_isolation

TIME_LIMIT = 2.0
HANG_BUDGET = 6.0


@pytest.fixture(scope="module")
def strict_course(course):
    policies = dataclasses.replace(
        course.policies,
        time_limit_seconds=TIME_LIMIT,
        memory_limit_mb=1024,
        hang_budget_seconds=HANG_BUDGET,
    )
    return dataclasses.replace(course, policies=policies)


def _submission(tmp_path, layout, replace_from, replace_to, prefix=""):
    root = tmp_path / "submission"
    shutil.copytree(layout.solutions / "01_tensor", root / "01_tensor")
    path = root / "01_tensor" / "tensor.py"
    text = path.read_text()
    assert replace_from in text
    path.write_text(prefix + text.replace(replace_from, replace_to, 1))
    return root


def _grade(layout, course, root, include_hidden=True):
    started = time.monotonic()
    isolation = default_isolation()
    result = grade_module(layout, course, course.module(1), root, include_hidden, isolation)
    return result, time.monotonic() - started


def test_syntax_error_scores_zero_and_names_the_line(tmp_path, layout, strict_course):
    root = _submission(tmp_path, layout, "        return a + b\n", "        return a + (b\n")
    result, _ = _grade(layout, strict_course, root)
    assert result.score == 0 and result.tests
    assert any("SyntaxError" in note and "tensor.py, line" in note for note in result.notes), (
        result.notes
    )
    assert all("Not run" in t.feedback for t in result.tests)


def test_import_torch_is_refused_before_running(tmp_path, layout, strict_course):
    root = _submission(
        tmp_path, layout, "import numpy as np\n", "import numpy as np\nimport torch\n"
    )
    result, _ = _grade(layout, strict_course, root)
    assert result.score == 0
    assert any("import torch" in note and "only NumPy" in note for note in result.notes), (
        result.notes
    )


def test_an_endless_loop_in_one_op_costs_only_its_tests(tmp_path, layout, strict_course):
    endless = "        while True:\n            pass\n"
    root = _submission(tmp_path, layout, "        return np.exp(a)\n", endless)
    result, seconds = _grade(layout, strict_course, root, include_hidden=False)
    failed = {t.name: t.feedback for t in result.tests if not t.passed}
    assert list(failed) == ["test_exp_log_and_powers"], failed
    assert "time limit" in failed["test_exp_log_and_powers"]
    assert 0 < result.score < 100 and seconds < 30


def test_a_module_that_hangs_everywhere_costs_at_most_its_hang_budget(
    tmp_path, layout, strict_course
):
    endless = "        while True:\n            pass\n"
    marker = "        if isinstance(data, Tensor):\n"
    root = _submission(tmp_path, layout, marker, endless + marker)
    result, seconds = _grade(layout, strict_course, root)
    assert result.score == 0
    feedback = [t.feedback for t in result.tests]
    hangs_per_shard = HANG_BUDGET / TIME_LIMIT  # each shard's worker has its own budget
    assert sum("did not finish within" in f for f in feedback) == hangs_per_shard * shard_count()
    assert all("did not finish" in f or "remaining tests were stopped" in f for f in feedback)
    assert seconds < HANG_BUDGET + 30


def test_an_endless_loop_at_import_costs_one_time_limit(tmp_path, layout, strict_course):
    root = _submission(tmp_path, layout, "import numpy as np\n", "import numpy as np\n", "")
    path = root / "01_tensor" / "tensor.py"
    path.write_text(path.read_text() + "\nwhile True:\n    pass\n")
    result, seconds = _grade(layout, strict_course, root)
    assert result.score == 0
    assert all("Importing your module did not finish" in t.feedback for t in result.tests)
    assert seconds < TIME_LIMIT + 30


def test_a_10_gb_allocation_fails_its_tests_with_a_memory_message(tmp_path, layout, strict_course):
    bomb = "        np.ones(10 * 1024**3, dtype=np.uint8)\n        return a * b\n"
    root = _submission(tmp_path, layout, "        return a * b\n", bomb)
    result, seconds = _grade(layout, strict_course, root, include_hidden=False)
    failed = [t for t in result.tests if not t.passed]
    assert failed and 0 < result.score < 100
    assert all("may use 1024 MB" in t.feedback for t in failed), [t.feedback for t in failed][:2]
    assert seconds < 60


def test_a_crash_costs_only_the_tests_that_crash(tmp_path, layout, strict_course):
    crash = "        import os\n        os._exit(3)\n"
    root = _submission(tmp_path, layout, "        return np.matmul(a, b)\n", crash)
    result, _ = _grade(layout, strict_course, root, include_hidden=False)
    failed = {t.name: t.feedback for t in result.tests if not t.passed}
    assert set(failed) == {
        "test_matmul_of_two_matrices",
        "test_matmul_shape_error_names_both_shapes",
    }
    assert all("ended the process that runs it" in f for f in failed.values()), failed


def test_printed_output_is_shown_under_a_failing_test(tmp_path, layout, strict_course):
    noisy = '        print("adding", a.shape, b.shape)\n        return a - b\n'
    root = _submission(tmp_path, layout, "        return a + b\n", noisy)
    result, _ = _grade(layout, strict_course, root, include_hidden=False)
    failed = {t.name: t.feedback for t in result.tests if not t.passed}
    assert (
        "What your code printed:\nadding (2, 2) (2,)"
        in failed["test_add_broadcasts_a_row_over_a_matrix"]
    )


def test_a_missing_module_file_is_reported(tmp_path, layout, strict_course):
    (tmp_path / "empty").mkdir()
    result, _ = _grade(layout, strict_course, tmp_path / "empty")
    assert result.score == 0 and any("missing" in note for note in result.notes)


def test_deleting_a_module_folder_keeps_its_points_in_the_total(tmp_path, layout, course):
    root = tmp_path / "submission"
    shutil.copytree(layout.solutions / "01_tensor", root / "01_tensor")
    modules, _ = modules_to_grade(course, layout, ["all"], dt.date(2026, 9, 15))
    assert [m.dirname for m in modules] == ["01_tensor", "02_activations"]
    isolation = default_isolation()
    run = grade(layout=layout, course=course, modules=modules, submission=root, isolation=isolation)
    scores = {r.module: (r.score, r.max_score) for r in run.results}
    assert scores == {"01_tensor": (100, 100), "02_activations": (0, 100)}


def test_a_hidden_test_file_that_does_not_load_is_named_never_shown(tmp_path, layout, course):
    from grader.layout import Layout
    from grader.report.formats import to_gradescope

    bundle = tmp_path / "bundle"
    (bundle / "hidden" / "01_tensor").mkdir(parents=True)
    (bundle / "hidden" / "01_tensor" / "test_broken.py").write_text(
        "import a_module_that_does_not_exist  # SECRET-HIDDEN-LINE\n"
    )
    broken = Layout(layout.root, bundle)
    isolation = default_isolation()
    result = grade_module(broken, course, course.module(1), layout.solutions, True, isolation)
    report = str(to_gradescope(result))
    assert result.score == 0 and result.max_score == 100
    assert any("tests/hidden/test_broken.py did not load" in note for note in result.notes)
    assert "SECRET-HIDDEN-LINE" not in report and "a_module_that_does_not_exist" not in report


def test_a_failing_hidden_assert_shows_its_values_never_its_expression(tmp_path, layout, course):
    from grader.layout import Layout

    bundle = tmp_path / "bundle"
    (bundle / "hidden" / "01_tensor").mkdir(parents=True)
    (bundle / "hidden" / "01_tensor" / "test_secret.py").write_text(
        "import pytest\n\n\ndef secret_expected_rows(n):\n    return n + 1\n\n\n"
        "@pytest.mark.points(1)\n@pytest.mark.task('01.1')\n"
        "def test_rows():\n    assert secret_expected_rows(2) == 2\n"
    )
    result = grade_module(
        Layout(layout.root, bundle),
        course,
        course.module(1),
        layout.solutions,
        True,
        default_isolation(),
    )
    (failed,) = [t for t in result.tests if t.hidden and not t.passed]
    assert failed.feedback == "AssertionError: assert 3 == 2"
    assert "secret_expected_rows" not in str(result)


def test_a_file_python_cannot_read_is_named_not_a_crash(tmp_path, course):
    from grader.check.static import check_source

    module = tmp_path / "tensor.py"
    module.write_bytes(b"x = 1\n\x00\n")
    (problem,) = check_source(module, "assignments/01_tensor/tensor.py")
    assert problem.path == "assignments/01_tensor/tensor.py"
    module.write_text(
        "x = " + "(" * 150 + "1" + ")" * 150 + "\n" + "y = -" * 1 + "+" * 200000 + "1\n"
    )
    assert check_source(module, "tensor.py")  # nesting too deep: a problem, not an exception
