"""Broken and hostile submissions get a score and a clear message, never a grader crash."""

import dataclasses
import shutil
import time

import pytest

from grader.grade.engine import grade_module

TIME_LIMIT = 2.0


@pytest.fixture(scope="module")
def strict_course(course):
    policies = dataclasses.replace(
        course.policies, time_limit_seconds=TIME_LIMIT, memory_limit_mb=1024
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


def _grade(layout, course, root):
    started = time.monotonic()
    result = grade_module(layout, course, course.module(1), root)
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


@pytest.mark.parametrize(
    "snippet, why",
    [
        ("import subprocess\n", "starts other programs"),
        ("import socket\n", "network"),
    ],
)
def test_process_and_network_modules_are_refused(tmp_path, layout, strict_course, snippet, why):
    root = _submission(tmp_path, layout, "import numpy as np\n", "import numpy as np\n" + snippet)
    result, _ = _grade(layout, strict_course, root)
    assert result.score == 0 and any(why in note for note in result.notes), result.notes


def test_endless_loops_cost_only_their_tests_within_the_time_limit(tmp_path, layout, strict_course):
    endless = "        while True:\n            pass\n"
    blocked = (
        "        import signal\n"
        "        signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGALRM])\n" + endless
    )
    root = _submission(tmp_path, layout, "        return np.exp(a)\n", endless)
    path = root / "01_tensor" / "tensor.py"
    text = path.read_text()
    marker = (
        '        with np.errstate(divide="ignore", invalid="ignore"):\n'
        "            return np.log(a)\n"
    )
    assert marker in text
    path.write_text(text.replace(marker, blocked, 1))
    result, seconds = _grade(layout, strict_course, root)
    failed = {t.name: t.feedback for t in result.tests if not t.passed}
    assert 0 < result.score < 100
    assert any("time limit" in f for f in failed.values()), failed
    assert any("stopped after" in f for f in failed.values()), failed
    assert "test_matmul_of_two_matrices" not in failed
    assert seconds < 60


def test_a_10_gb_allocation_fails_its_tests_with_a_memory_message(tmp_path, layout, strict_course):
    bomb = "        np.ones(10 * 1024**3, dtype=np.uint8)\n        return a * b\n"
    root = _submission(tmp_path, layout, "        return a * b\n", bomb)
    result, seconds = _grade(layout, strict_course, root)
    failed = [t for t in result.tests if not t.passed]
    assert failed and 0 < result.score < 100
    assert all("may use 1024 MB" in t.feedback for t in failed), [t.feedback for t in failed][:2]
    assert seconds < 30


def test_a_missing_module_file_is_reported(tmp_path, layout, strict_course):
    (tmp_path / "empty").mkdir()
    result, _ = _grade(layout, strict_course, tmp_path / "empty")
    assert result.score == 0 and any("missing" in note for note in result.notes)
