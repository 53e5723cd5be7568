"""The attack battery: a determined student edits only their own module file.

Each attack is module 01's starter (the honest stub, which scores 0) with hostile code
added, graded with OS isolation as official grading is. For every attack: the score is
the honest stub's, the grader does not crash, and nothing private reaches the report
(hidden-test source, the grader's environment). Each class of attack the trusted-grading
issue measured has a case here; grader/remote/isolation.py and grader/remote/session.py
hold the defences.
"""

import json
import os
import socket
import threading

import pytest

from grader.grade.engine import grade_module
from grader.remote.isolation import choose
from grader.report.formats import to_gradescope

from .conftest import COURSE, LAYOUT

TENSOR = COURSE.module(1)
CANARY = "tinytorch-canary-6f1d2a"
HIDDEN_MARK = "PYTEST_DONT_REWRITE"
"""A line of every hidden test file: it must never reach feedback."""


@pytest.fixture(scope="module")
def isolation():
    """Official grading's isolation; these tests fail (with how to fix it) without it."""
    return choose(required=True)


def _starter_with(tmp_path, code: str):
    root = tmp_path / "submission"
    path = root / TENSOR.dirname / TENSOR.filename
    path.parent.mkdir(parents=True)
    text = LAYOUT.module_file(LAYOUT.starter, TENSOR).read_text()
    path.write_text(text + "\n\n# ---- the attack ----\n" + code)
    return root


def _grade(tmp_path, code, isolation, include_hidden=True):
    os.environ["TINYTORCH_GRADER_SECRET"] = CANARY
    try:
        result = grade_module(
            LAYOUT, COURSE, TENSOR, _starter_with(tmp_path, code), include_hidden, isolation
        )
    finally:
        del os.environ["TINYTORCH_GRADER_SECRET"]
    report = json.dumps(to_gradescope(result))
    assert len(result.tests) > (20 if include_hidden else 5), "every test must be reported"
    assert HIDDEN_MARK not in report, "hidden-test source reached the report"
    assert CANARY not in report, "the grader's environment reached the report"
    return result, report


def _assert_honest(result):
    passing = [t.name for t in result.tests if t.passed]
    assert result.score == 0 and not passing, passing


# 1. The grader's result hook, reached through sys.modules with built names.
SYS_MODULES = """
import sys as _sys
_modules = getattr(_sys, "mod" + "ules")
for _name, _module in list(_modules.items()):
    if _name.split(".")[0] in ("grader", "pytest", "_pytest", "hypothesis", "pluggy"):
        for _attribute in dir(_module):
            try:
                setattr(_module, _attribute, None)
            except Exception:
                pass
for _target in ("grader.grade.plugin", "grader.remote.session", "_pytest.runner"):
    try:
        __import__(_target)
        raise SystemExit(f"{_target} should not be importable in the worker")
    except ImportError:
        pass
"""

# 2. A signing key in a closure or in gc, and forged result lines on every descriptor.
KEY_THEFT = """
import gc as _gc, os as _os
_found = [o for o in _gc.get_objects() if isinstance(o, bytes) and len(o) == 32]
_forged = b'{"kind": "outcome", "payload": {"nodeid": "x", "passed": true}}\\n'
for _fd in range(3, 256):
    try:
        _os.write(_fd, b"deadbeef " + _forged)
    except OSError:
        pass
"""

# 3. pytest's runner and report classes, hypothesis's engine.
PATCH_PYTEST = """
try:
    import _pytest.runner, _pytest.reports, pytest
    _pytest.reports.TestReport.outcome = "passed"
    pytest.Function.runtest = lambda self: None
    raise SystemExit("pytest should not be importable in the worker")
except ImportError:
    pass
try:
    import hypothesis.core
    hypothesis.core.StateForActualGivenExecution.execute_once = lambda *a, **k: None
    raise SystemExit("hypothesis should not be importable in the worker")
except ImportError:
    pass
"""

# 4. A conftest.py written beside the tests during collection.
CONFTEST = """
import os as _os
_hook = "import pytest\\n@pytest.hookimpl(hookwrapper=True)\\ndef pytest_runtest_makereport():\\n"
_hook += "    outcome = yield\\n    outcome.get_result().outcome = 'passed'\\n"
_here = _os.path.dirname(_os.path.abspath(__file__))
for _folder in [_here, _os.getcwd(), "/tmp", "/scratch", "/stage", "/", *[
        _os.path.join(_here, *[".."] * _up, _sub)
        for _up in range(1, 5) for _sub in ("", "tests", "tests/visible", "tests/hidden")]]:
    try:
        with open(_os.path.join(_folder, "conftest.py"), "w") as _file:
            _file.write(_hook)
    except OSError:
        pass
"""

# 5. An ndarray subclass that agrees with anything (no patching of the grader at all).
LYING_ARRAY = """
class _Liar(np.ndarray):
    shape = property(lambda self: _Anything())
    dtype = property(lambda self: np.dtype(np.float32))
    def __eq__(self, other): return True
    def __array_ufunc__(self, *args, **kwargs): return _Liar((0,))

class _Anything:
    def __eq__(self, other): return True
    def __len__(self): return 0

def _liar_init(self, data, dtype=None, requires_grad=False):
    self.data = _Liar((1,))
    self.requires_grad = requires_grad
    self.grad = None
    self._node = None

Tensor.__init__ = _liar_init
Tensor._wrap = staticmethod(lambda array: Tensor(array))
Function.apply = classmethod(lambda cls, *inputs, **params: Tensor(None))
Tensor.shape = property(lambda self: _Anything())
"""

# 6. The expected value read from the caller's frame, or a tracer rewriting locals.
FRAMES = """
import sys as _sys

def _tracer(frame, event, arg):
    for _name in list(frame.f_locals):
        if _name in ("expected", "passed", "result"):
            frame.f_locals[_name] = None
    return _tracer

_sys.settrace(_tracer)

def _from_frames(self, data, dtype=None, requires_grad=False):
    frame = _sys._getframe(1)
    found = None
    while frame is not None:
        for _value in frame.f_locals.values():
            if isinstance(_value, np.ndarray) and _value is not data:
                found = _value
        frame = frame.f_back
    if found is None:
        raise NotImplementedError("Task 01.1: no expected value to steal")
    self.data = found

Tensor.__init__ = _from_frames
"""

# 8 and 9. Escape the sandbox: processes, files in the repository, hidden tests, the
# grader's environment, native code; report what was found through exception messages.
ESCAPE = f"""
import os as _os, subprocess as _subprocess, socket as _socket, threading as _threading
_REPO = {str(LAYOUT.root)!r}
_HIDDEN = {str(LAYOUT.hidden_tests_for(TENSOR) / "test_01_tensor_hidden.py")!r}
_loot = []

def _grab(path):
    try:
        with open(path, "rb") as _file:
            _loot.append(_file.read(20000).decode("latin-1"))
    except OSError as error:
        _loot.append(str(error))

_grab(_HIDDEN)
try:
    _thread = _threading.Thread(target=_grab, args=(_HIDDEN,))
    _thread.start(); _thread.join()
except RuntimeError as error:  # the worker may start no thread
    _loot.append(repr(error))
for _pid in _os.listdir("/proc"):
    if _pid.isdigit():
        _grab(f"/proc/{{_pid}}/environ")
for _pid in (_os.getppid(), 1, 2):
    _grab(f"/proc/{{_pid}}/environ")
for _command in ([f"touch {{_REPO}}/escaped-by-process"], ["cat " + _HIDDEN]):
    try:
        _loot.append(_subprocess.run(["/bin/sh", "-c", *_command], capture_output=True,
                                     text=True, timeout=5).stdout)
    except Exception as error:
        _loot.append(repr(error))
for _target in (f"{{_REPO}}/escaped-by-write", "/work/escaped-by-write"):
    try:
        with open(_target, "w") as _file:
            _file.write("escaped")
        _os.replace(_target, f"{{_REPO}}/Makefile")
    except OSError as error:
        _loot.append(str(error))
try:
    import ctypes as _ctypes
    _libc = _ctypes.CDLL(None)
    _libc.kill(_os.getppid(), 19)
except Exception as error:
    _loot.append(repr(error))

def _leak(self, data, dtype=None, requires_grad=False):
    raise ValueError("\\n".join(_loot))

Tensor.__init__ = _leak
"""


def _network_attack(port: int) -> str:
    return f"""
import socket as _socket
try:
    _client = _socket.create_connection(("127.0.0.1", {port}), timeout=2)
    _client.sendall(b"escaped")
except OSError:
    pass
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    "code",
    [SYS_MODULES, KEY_THEFT, PATCH_PYTEST, CONFTEST, LYING_ARRAY, FRAMES],
    ids=["sys-modules", "key-theft", "patch-pytest", "conftest", "lying-array", "frames"],
)
def test_an_attack_inside_the_worker_scores_what_the_stub_scores(tmp_path, isolation, code):
    result, _ = _grade(tmp_path, code, isolation, include_hidden=code in (LYING_ARRAY, FRAMES))
    _assert_honest(result)


@pytest.mark.slow
def test_nothing_outside_the_worker_is_reached(tmp_path, isolation):
    before = sorted(p.name for p in LAYOUT.root.iterdir())
    makefile = (LAYOUT.root / "Makefile").read_bytes()
    result, report = _grade(tmp_path, ESCAPE, isolation)
    _assert_honest(result)
    assert sorted(p.name for p in LAYOUT.root.iterdir()) == before
    assert (LAYOUT.root / "Makefile").read_bytes() == makefile
    assert "No such file or directory" in report, "the attack should have reported its loot"


@pytest.mark.slow
def test_the_network_is_unreachable(tmp_path, isolation):
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    received = []

    def accept():
        for _ in range(100):
            try:
                received.append(listener.accept())
            except TimeoutError:
                continue
            except OSError:  # closed: the grading is over
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    port = listener.getsockname()[1]
    result, _ = _grade(tmp_path, _network_attack(port), isolation, include_hidden=False)
    listener.close()
    _assert_honest(result)
    assert not received, "the worker reached a server on the grading machine"


# 7. Files at the repository's root and a changed Makefile, graded officially.
ROOT_FILES = {
    "sitecustomize.py": "import pathlib\npathlib.Path({marker!r}).write_text('sitecustomize')\n",
    "pytest.py": "import pathlib\npathlib.Path({marker!r}).write_text('pytest')\n",
    "hmac.py": "import pathlib\npathlib.Path({marker!r}).write_text('hmac')\n",
    "numpy.py": "import pathlib\npathlib.Path({marker!r}).write_text('numpy')\n",
    "evil.pth": "import pathlib; pathlib.Path({marker!r}).write_text('pth')\n",
    "grader/__init__.py": "import pathlib\npathlib.Path({marker!r}).write_text('grader')\n",
    "grader/__main__.py": "print('Points 100/100')\n",
    ".venv/bin/python": "#!/bin/sh\necho 'Points 100/100'\n",
    "Makefile": "classroom-grade:\n\t@echo 'Points 100/100'\n",
}


@pytest.mark.slow
@pytest.mark.parametrize("tree", ["starter", "solutions"])
def test_files_at_the_repository_root_do_not_run_in_official_grading(tmp_path, isolation, tree):
    import subprocess
    import sys

    repo, marker = tmp_path / "student-repo", tmp_path / "marker"
    for relative, text in ROOT_FILES.items():
        target = repo / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text.format(marker=str(marker)))
    module_file = repo / "assignments" / TENSOR.dirname / TENSOR.filename
    module_file.parent.mkdir(parents=True)
    module_file.write_text(LAYOUT.module_file(getattr(LAYOUT, tree), TENSOR).read_text())
    command = [sys.executable, "-I", "-m", "grader", "--root", str(LAYOUT.root), "grade"]
    command += ["--module", "01", "--official", "--no-hidden"]
    command += ["--submission", str(repo / "assignments"), "--json", str(tmp_path / "r.json")]
    out = subprocess.run(command, cwd=repo, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads((tmp_path / "r.json").read_text())
    visible = result["extra_data"]["max_score"]
    expected = {"starter": 0, "solutions": visible}[tree]
    assert out.stdout.strip().splitlines()[-1] == f"Points {expected:g}/{visible:g}"
    assert not marker.exists(), f"{marker.read_text()} ran inside the grader"
