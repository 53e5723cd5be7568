"""Messages that used to send students the wrong way (issue 20, item 6): each one now
names the real mistake and the right fix.

One planted submission of module 01, graded once with its hidden tests, carries the
mistakes students made: a `forward` returning a Tensor while Task 01.7 is still a stub,
a method returning a bare array, an error message the test's `pytest.raises(match=...)`
does not accept; it also leaves Task 01.7's error under many tests.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from grader import cli, grade_verb
from grader.assign.regions import find_regions, stub_lines
from grader.assign.unlock import unlock_modules
from grader.course import not_published
from grader.grade.engine import grade_module
from grader.grade.plugin import feedback
from grader.grade.session import GradeRun, RequestError, isolation_note, modules_to_grade
from grader.layout import Layout
from grader.remote.isolation import Isolation, Level
from grader.report.formats import console_table, markdown_summary
from grader.report.results import ModuleResult, TestResult
from grader.report.shorten import OUTPUT_HEADING
from grader.tito.cli import main as tito

from .classroom_helpers import released, student_repository  # noqa: F401 - a fixture
from .conftest import COURSE, LAYOUT, default_isolation

TENSOR = COURSE.module(1)
PLANTED = {
    # A forward that wraps its result itself (Function.apply does that).
    "        return a + b\n": "        return Tensor(a + b)\n",
    # A method that hands back the bare array instead of going through LogFn.
    "        return LogFn.apply(self)\n": "        return np.log(self.data)\n",
    # A shape check of the student's own, whose message names no shapes.
    "    def __matmul__(self, other: Any) -> Tensor:\n": (
        "    def __matmul__(self, other: Any) -> Tensor:\n"
        "        if isinstance(other, Tensor) and self.shape[-1] != other.shape[0]:\n"
        '            raise ValueError("inner dimensions differ")\n'
    ),
}


def planted_text() -> str:
    """The solution of module 01 with Task 01.7 left as its stub and PLANTED mistakes."""
    text = LAYOUT.module_file(LAYOUT.solutions, TENSOR).read_text(encoding="utf-8")
    lines, out, cursor = text.splitlines(), [], 0
    for region in find_regions(text):
        out += lines[cursor : region.begin]
        stubbed = region.task == "01.7"
        out += stub_lines(region) if stubbed else lines[region.begin + 1 : region.end]
        cursor = region.end + 1
    text = "\n".join(out + lines[cursor:]) + "\n"
    for before, after in PLANTED.items():
        assert text.count(before) == 1, before
        text = text.replace(before, after)
    return text


@pytest.fixture(scope="module")
def planted(tmp_path_factory) -> ModuleResult:
    root = tmp_path_factory.mktemp("planted")
    (root / TENSOR.dirname).mkdir()
    (root / TENSOR.dirname / TENSOR.filename).write_text(planted_text(), encoding="utf-8")
    return grade_module(LAYOUT, COURSE, TENSOR, root, True, default_isolation())


def flat(text: str) -> str:
    """The console text with its wrapping undone."""
    return " ".join(text.split())


def failure(result: ModuleResult, name: str) -> str:
    found = [t.feedback for t in result.tests if t.name == name and not t.passed]
    assert len(found) == 1, f"{name} should fail once"
    return found[0]


@pytest.mark.slow
def test_a_forward_returning_a_tensor_is_named_not_task_01_7(planted):
    message = failure(planted, "test_add_broadcasts_a_row_over_a_matrix")
    assert "AddFn.forward returned a Tensor" in message
    assert "not `Tensor(a + b)`" in message
    assert "Task 01.7" not in message  # where np.asarray(Tensor) used to end up


@pytest.mark.slow
def test_a_bare_array_is_told_to_return_through_the_ops_function(planted):
    message = failure(planted, "test_exp_log_and_powers")
    assert "returned a NumPy array" in message
    assert "SomeFn.apply(self, ...)" in message and "autograd" in message
    assert "return Tensor(result)" not in message


@pytest.mark.slow
def test_a_regex_mismatch_says_what_the_test_looks_for_and_what_the_code_said(planted):
    message = failure(planted, "test_matmul_shape_error_names_both_shapes")
    assert "Regex pattern did not match" not in message
    assert "The test looks for: \\(2, 3\\).*\\(2, 3\\)" in message  # not a repr's \\\\(
    assert "Your message:       inner dimensions differ" in message
    assert "regular expression" in message


@pytest.mark.slow
def test_an_error_under_many_tests_is_printed_in_full_once(planted):
    console = flat(console_table(planted))
    stub = "raise NotImplementedError('Task 01.7: implement GetItemFn.forward.')"
    failing = [t for t in planted.tests if "GetItemFn.forward" in t.feedback]
    assert len(failing) >= 3  # Task 01.7's stub sits under several tests
    assert console.count(stub) == 1
    again = "Task 01.7: implement GetItemFn.forward. (as above)"
    assert console.count(again) == len(failing) - 1


def _failed(name: str, text: str) -> TestResult:
    return TestResult(nodeid=name, task="01.1", score=0, max_score=1, passed=False,
                      feedback=text, hidden=False, duration=0.1)  # fmt: skip


def _module(*tests: TestResult) -> ModuleResult:
    return ModuleResult(module="01_tensor", title="Tensor", tests=tests, max_score=100,
                        execution_time=1.0, graded_at="", visible_only=True)  # fmt: skip


HINT = (
    "Traceback (your code):\n"
    '  File "assignments/01_tensor/tensor.py", line 155, in __init__\n'
    "    raise NotImplementedError(\n"
    "NotImplementedError: Task 01.1: implement Tensor.__init__. Hint: np.asarray(data)"
)
"""A stub's error as the worker reports it, under whichever test ran into it."""
LOCATED = '  File "assignments/01_tensor/tests/test_01_tensor.py", line 20, in t\n    t()\n'
"""The failing test's own place, before the error."""


def test_identical_hints_are_printed_once_per_run_across_modules():
    shown: set[str] = set()
    first = flat(
        console_table(_module(_failed("a", LOCATED + HINT), _failed("b", HINT)), shown=shown)
    )
    second = flat(console_table(_module(_failed("c", HINT)), shown=shown))
    assert (first + second).count("Hint: np.asarray(data)") == 1
    same = "NotImplementedError: Task 01.1: implement Tensor.__init__. (as above)"
    assert first.count(same) == 1 and second.count(same) == 1
    different = HINT.replace("line 155", "line 156")
    assert "Hint:" in console_table(_module(_failed("d", different)), shown=shown)


def test_the_job_summary_shows_an_error_under_many_tests_in_full_once():
    printed = f"\n\n{OUTPUT_HEADING}\nmy debug print"
    other = HINT.replace("line 155", "line 156")
    first = _module(_failed("a", LOCATED + HINT), _failed("b", HINT), _failed("c", HINT + printed))
    later = _module(_failed("d", HINT), _failed("e", other))
    summary = markdown_summary([first, later])
    assert summary.count("<details>") == 5 and summary.count("</details>") == 5
    assert summary.count("Hint: np.asarray(data)") == 2  # tests a and e: two errors
    assert summary.count(LOCATED.strip().splitlines()[0]) == 1
    same = (
        "NotImplementedError: Task 01.1: implement Tensor.__init__. "
        "(as above: in full under 01.1 a)"
    )
    assert summary.count(same) == 3  # tests b, c and, in the next module, d
    assert f"{same}\n\n{OUTPUT_HEADING}\nmy debug print\n```" in summary  # c's own output
    assert "line 156" in summary.split("<summary>01.1 e</summary>")[1]


def test_pytest_advice_for_its_command_line_is_left_out():
    text = (
        "assert ['a.w', 'a.b'... 'c.b', 'd.x'] == ['a.w', 'a.b'... 'c.b', 'd.y']\n"
        "  \n  At index 4 diff: 'd.x' != 'd.y'\n  Use -v to get more diff"
    )
    item = SimpleNamespace(path=Path("grader/hidden/03_layers/test_03_layers_hidden.py"))
    call = SimpleNamespace(excinfo=SimpleNamespace(value=AssertionError(text)))
    shown = feedback(item, call, SimpleNamespace(longreprtext=""))
    assert "At index 4 diff: 'd.x' != 'd.y'" in shown
    assert "-v" not in shown
    dict_text = "assert {'x': 1} == {'x': 2}\n  \n  Omitting 1 identical items, use -vv to show"
    call = SimpleNamespace(excinfo=SimpleNamespace(value=AssertionError(dict_text)))
    shown = feedback(item, call, SimpleNamespace(longreprtext=""))
    assert "Omitting 1 identical items" in shown and "-vv" not in shown


def _run(description: str, level: Level = Level.NAMESPACES) -> GradeRun:
    isolation = Isolation(level, description)
    return GradeRun(results=(), preamble=("a note", isolation_note(isolation)), flagged=False,
                    isolation=isolation)  # fmt: skip


def test_the_isolation_note_is_printed_when_it_is_news(tmp_path):
    layout = Layout(tmp_path)
    bubblewrap = _run("bubblewrap: no network")
    assert grade_verb._console_notes(bubblewrap, layout, always=False) == list(bubblewrap.preamble)
    assert grade_verb._console_notes(bubblewrap, layout, always=False) == ["a note"]
    assert grade_verb._console_notes(bubblewrap, layout, always=True) == list(bubblewrap.preamble)
    weaker = _run("resource limits only", Level.PROCESS)  # a preview: said every time
    for _ in range(2):
        assert grade_verb._console_notes(weaker, layout, always=False) == list(weaker.preamble)
    changed = _run("bubblewrap: no network, a separate user")
    assert grade_verb._console_notes(changed, layout, always=False) == list(changed.preamble)


@pytest.fixture
def repo(released, tmp_path) -> Path:  # noqa: F811
    return student_repository(released.template, tmp_path / "student")


def _import_tensor_after(repo: Path, change) -> tuple[int, str]:
    """Change one line of the student's module 01, rebuild tinytorch as `make package`
    does, and import Tensor as a notebook would: (the changed line's number, the error)."""
    module_file = repo / "assignments" / TENSOR.dirname / TENSOR.filename
    lines = module_file.read_text(encoding="utf-8").splitlines()
    index = change(lines)
    module_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert cli.main(["--root", str(repo), "package"]) == 0
    code = "import sys; sys.path.insert(0, '.'); from tinytorch import Tensor"
    loaded = subprocess.run(
        [sys.executable, "-I", "-c", code], cwd=repo, capture_output=True, text=True, check=False
    )
    return index + 1, loaded.stderr.strip().splitlines()[-1]


def _forget_a_colon(lines: list[str]) -> int:
    index = next(i for i, line in enumerate(lines) if line.startswith("def zeros("))
    assert lines[index].endswith(":")
    lines[index] = lines[index][:-1]
    return index


def _misspell_a_dtype(lines: list[str]) -> int:
    index = lines.index("DEFAULT_DTYPE = np.float32")
    lines[index] = "DEFAULT_DTYPE = np.float23"
    return index


def _misname_numpy(lines: list[str]) -> int:
    index = lines.index("DEFAULT_DTYPE = np.float32")
    lines[index] = "DEFAULT_DTYPE = numpy.float32"
    return index


@pytest.mark.parametrize(
    ("change", "kind"), [(_forget_a_colon, "SyntaxError"), (_misspell_a_dtype, "AttributeError")]
)
def test_a_module_01_that_does_not_load_names_the_students_file_and_line(repo, change, kind):
    line, error = _import_tensor_after(repo, change)
    assert error.startswith("ImportError: cannot import 'Tensor' from tinytorch")
    assert f"assignments/01_tensor/tensor.py fails at line {line} ({kind}" in error
    assert "make package" in error
    assert "course-packages" not in error and "__init__.py" not in error


def test_other_errors_keep_their_kind_and_gain_the_students_file_and_line(repo):
    line, last = _import_tensor_after(repo, _misname_numpy)
    assert last == (
        f"In your code: assignments/01_tensor/tensor.py fails at line {line} (NameError: name "
        "'numpy' is not defined). Fix it there, then run `make package` (make grade and make "
        "sync also rebuild tinytorch) and restart the kernel."
    )


def test_a_module_not_published_yet_gets_one_wording_everywhere(repo, capsys):
    last = COURSE.modules[-1]
    after_release = last.release + dt.timedelta(days=1)
    sentence = not_published(last)
    student = Layout(repo)
    shutil.rmtree(student.starter / last.dirname, ignore_errors=True)  # no tests published
    heard = []
    with pytest.raises(RequestError) as refused:
        modules_to_grade(COURSE, student, [last.key], after_release)
    heard.append(str(refused.value))
    notes = modules_to_grade(COURSE, student, ["all"], after_release)[1]
    heard += [n for n in notes if f"module {last.key} " in n]
    waiting = unlock_modules(student, COURSE, after_release).waiting
    heard += [w for w in waiting if last.dirname in w]
    code = tito(["--root", str(repo), "--today", after_release.isoformat(), "grade", last.key])
    heard.append(capsys.readouterr().err)
    assert code == 2
    assert len(heard) == 4
    for message in heard:
        assert sentence in message, message
