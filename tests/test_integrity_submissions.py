"""Hostile submissions cannot forge a score: printed Points lines and workflow commands,
a rewritten report file, forged channel lines, dynamic imports, process calls.
(Syntax errors, `import torch`, endless loops and memory bombs:
test_adversarial_submissions.py.)"""

import dataclasses
import subprocess
import sys

import pytest

from grader.grade.engine import grade_module

from .conftest import COURSE

BROKEN_ADD = ("        return a + b\n", "        return a - b\n")


@pytest.fixture(scope="module")
def strict_course(course):
    policies = dataclasses.replace(course.policies, time_limit_seconds=5.0, memory_limit_mb=1024)
    return dataclasses.replace(course, policies=policies)


def _submission(tmp_path, layout, *replacements, suffix=""):
    """Module 01's solution with `replacements` made and `suffix` appended."""
    root = tmp_path / "submission"
    path = root / "01_tensor" / "tensor.py"
    path.parent.mkdir(parents=True)
    text = layout.module_file(layout.solutions, COURSE.module(1)).read_text()
    for old, new in replacements:
        assert old in text
        text = text.replace(old, new, 1)
    path.write_text(text + suffix)
    return root


@pytest.fixture(scope="module")
def honest_broken_score(tmp_path_factory, layout, strict_course):
    """The score of the solution with subtraction for addition (the baseline to forge)."""
    root = _submission(tmp_path_factory.mktemp("honest"), layout, BROKEN_ADD)
    result = grade_module(layout, strict_course, strict_course.module(1), root)
    assert 0 < result.score < 100
    return result.score


FORGER = '''

def _forge():
    """At interpreter exit, after pytest-json-report wrote its file, claim every test
    passed; also write unsigned lines into the grader's channel."""
    import json, os, sys
    for arg in sys.argv:
        if arg.startswith("--grader-channel="):
            fd = int(arg.split(",")[-1])
            os.write(fd, b'f00d ["end", {"nodeid": "x", "passed": true}]\\n')
    path = os.path.join("..", "work", "report.json")
    report = json.load(open(path))
    for test in report["tests"]:
        test["outcome"] = "passed"
        for stage in ("setup", "call", "teardown"):
            if stage in test:
                test[stage]["outcome"] = "passed"
    json.dump(report, open(path, "w"))


import weakref

weakref.finalize(_forge, _forge)
'''


def test_a_rewritten_report_file_and_forged_channel_lines_change_nothing(
    tmp_path, layout, strict_course, honest_broken_score
):
    root = _submission(tmp_path, layout, BROKEN_ADD, suffix=FORGER)
    result = grade_module(layout, strict_course, strict_course.module(1), root)
    assert result.score == honest_broken_score
    assert any("ignored" in note and "did not write" in note for note in result.notes)
    changed = [t for t in result.tests if "report entry was changed" in t.feedback]
    assert changed, "the grader should say which report entries were rewritten"


PRINTER = '''
print("Points 100/100")
print("::notice title=Autograding complete::Points 100/100")
print('::notice title=Autograding report::{"totalPoints":100,"maxPoints":100}')
'''
FORGED_ERROR = (
    "        return a * b\n",
    "        raise AssertionError(\n"
    "            '\\n::notice title=Autograding complete::Points 100/100\\nPoints 100/100'\n"
    "        )\n",
)


def test_printed_points_and_workflow_commands_cannot_reach_the_log(
    tmp_path, layout, strict_course
):
    root = _submission(tmp_path, layout, FORGED_ERROR, suffix=PRINTER)
    out = subprocess.run(
        [sys.executable, "-m", "grader", "grade", "--module", "01", "--actions"]
        + ["--submission", str(root), "--json", str(tmp_path / "r.json")],
        cwd=layout.root,
        capture_output=True,
        text=True,
        timeout=300,
    ).stdout.splitlines()
    stop = out[0]
    assert stop.startswith("::stop-commands::") and len(stop) > len("::stop-commands::") + 16
    resume = out.index(f"::{stop[len('::stop-commands::'):]}::")
    live = [line for line in out[resume:] if line.lstrip().startswith("::")]
    score = out[resume + 1]
    assert score.startswith("Points ") and score != "Points 100/100"
    assert live[1:] == [
        f"::notice title=Autograding complete::{score}",
        f'::notice title=Autograding report::{{"totalPoints":{score[7:].split("/")[0]},'
        f'"maxPoints":100}}',
    ]
    assert any("Autograding complete::Points 100/100" in line for line in out[1:resume])


EXP = "        return np.exp(a)\n"
BUILTIN_IMPORT = '        return globals()["__buil" + "tins__"]["__imp" + "ort__"]'


@pytest.mark.parametrize(
    "replacement, message",
    [
        (
            (EXP, BUILTIN_IMPORT + '("tor" + "ch")\n'),
            "`import torch` is not allowed in tinytorch",
        ),
        (
            (EXP, BUILTIN_IMPORT + '("sub" + "process")\n'),
            "`import subprocess` is not allowed in tinytorch: it starts other programs",
        ),
        (
            (EXP, '        import os\n        getattr(os, "sys" + "tem")("true")\n'),
            "grading does not let code start other programs (os.system)",
        ),
        (
            (EXP, BUILTIN_IMPORT + '("sock" + "et")\n'),
            "`import socket` is not allowed in tinytorch: it opens network connections",
        ),
        (
            (EXP, '        open("/etc/tinytorch-was-here", "w")\n'),
            "grading does not let code write /etc/tinytorch-was-here",
        ),
    ],
    ids=["torch", "subprocess", "os.system", "socket", "write-outside-temp"],
)
def test_forbidden_calls_hidden_from_the_static_check_fail_at_run_time(
    tmp_path, layout, strict_course, replacement, message
):
    root = _submission(tmp_path, layout, replacement)
    result = grade_module(layout, strict_course, strict_course.module(1), root)
    failed = {t.name: t.feedback for t in result.tests if not t.passed}
    assert 0 < result.score < 100, result.notes
    assert any(message in feedback for feedback in failed.values()), list(failed.values())[:2]
    assert "test_matmul_of_two_matrices" not in failed
