"""The pytest plugin loaded into every grading run (`-p grader.grade.pytest_plugin`).

It makes grading deterministic (one fixed hypothesis profile), insists that every test
carries `points` and `task` markers, installs the sandbox (grader/grade/sandbox.py)
before any test file or student code is imported, sends the collected test list, each
test's start and each test's outcome to the parent over the signed channel
(grader/grade/channel.py), attaches points to pytest-json-report's records (which give
the feedback text only, never the score), and stops a test that runs past its time limit.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import numpy  # noqa: F401 - imported before the sandbox, as the parent process has it
import pytest
from hypothesis import HealthCheck, Phase, settings

from grader.grade import sandbox
from grader.grade.channel import ChildChannel

PROFILE = "grading"
settings.register_profile(
    PROFILE,
    max_examples=30,
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=False,
    report_multiple_bugs=False,
    phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.target),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


class GradingTimeout(BaseException):
    """Raised inside a test that ran past its time limit (BaseException: `except Exception` in
    student code cannot swallow it)."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("grader")
    group.addoption("--grader-channel", help="KEY_FD,OUT_FD: the signed channel to the grader")
    group.addoption("--grader-private", action="append", default=[], help="no reads or writes")
    group.addoption(
        "--grader-time-limit", type=float, default=0.0, help="seconds per test (0: none)"
    )


_CHANNEL: list[ChildChannel] = []
_FAILED: dict[str, bool] = {}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "points(n): points a graded test is worth")
    config.addinivalue_line("markers", "task(id): the task id (like '01.2') a graded test checks")
    settings.load_profile(PROFILE)
    channel = config.getoption("--grader-channel")
    if channel:
        key_fd, out_fd = (int(fd) for fd in channel.split(","))
        _CHANNEL[:] = [ChildChannel(key_fd, out_fd)]


def _send(kind: str, payload: object) -> None:
    if _CHANNEL:
        _CHANNEL[0].send(kind, payload)


@pytest.hookimpl(tryfirst=True)
def pytest_collection(session: pytest.Session) -> None:
    """Install the sandbox just before test files (and so student code) are imported."""
    root = Path(str(session.config.rootpath))
    private = [Path(p) for p in session.config.getoption("--grader-private")]
    hidden = root / "tests" / "hidden"
    sandbox.install(root / "tinytorch" / "core", [root.parent], [hidden, *private])


def _marker_arg(item: pytest.Item, name: str) -> object:
    marker = item.get_closest_marker(name)
    if marker is None or len(marker.args) != 1:
        raise pytest.UsageError(
            f"{item.nodeid}: a graded test needs @pytest.mark.{name}(...) with one argument"
        )
    return marker.args[0]


def graded_test_record(item: pytest.Item) -> dict[str, object]:
    """What the grader needs to know about one collected test."""
    points = _marker_arg(item, "points")
    if not isinstance(points, int | float) or points <= 0:
        raise pytest.UsageError(f"{item.nodeid}: points must be a positive number, got {points!r}")
    return {
        "nodeid": item.nodeid,
        "points": float(points),
        "task": str(_marker_arg(item, "task")),
        "hidden": "hidden" in Path(str(item.path)).parts,
    }


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    _send("manifest", [graded_test_record(item) for item in items])


@pytest.hookimpl(optionalhook=True)
def pytest_json_runtest_metadata(item: pytest.Item, call: pytest.CallInfo) -> dict[str, object]:
    """Attach points and task to each test in pytest-json-report's output."""
    if call.when != "call":
        return {}
    record = graded_test_record(item)
    return {"points": record["points"], "task": record["task"]}


def pytest_runtest_logstart(nodeid: str, location: tuple[str, int | None, str]) -> None:
    _FAILED[nodeid] = False
    _send("start", nodeid)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """A test passes only if its setup, call and teardown all pass."""
    if report.outcome != "passed":
        _FAILED[report.nodeid] = True


def pytest_runtest_logfinish(nodeid: str, location: tuple[str, int | None, str]) -> None:
    _send("end", {"nodeid": nodeid, "passed": not _FAILED.get(nodeid, True)})


_LIMIT: list[float] = []


def _on_alarm(signum: int, frame: object) -> None:
    limit = _LIMIT[0] if _LIMIT else 0
    raise GradingTimeout(
        f"this test ran longer than its {limit:g} s time limit; look for an endless loop "
        f"or for work repeated far more often than needed"
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    limit = item.config.getoption("--grader-time-limit")
    _LIMIT[:] = [limit]
    if limit:
        signal.signal(signal.SIGALRM, _on_alarm)
        signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        yield
    finally:
        if limit:
            signal.setitimer(signal.ITIMER_REAL, 0)
