"""The pytest plugin loaded into every grading run (`-p grader.grade.pytest_plugin`).

It makes grading deterministic (one fixed hypothesis profile), insists that every test
carries `points` and `task` markers, writes the collected test list and a progress log
the parent process watches, attaches points to pytest-json-report's records, and stops
a test that runs past its time limit.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, settings

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
    group.addoption(
        "--grader-manifest", help="write the collected tests (points, task) as JSON here"
    )
    group.addoption("--grader-progress", help="append 'start'/'end' lines per test here")
    group.addoption(
        "--grader-time-limit", type=float, default=0.0, help="seconds per test (0: none)"
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "points(n): points a graded test is worth")
    config.addinivalue_line("markers", "task(id): the task id (like '01.2') a graded test checks")
    settings.load_profile(PROFILE)


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
    records = [graded_test_record(item) for item in items]
    target = config.getoption("--grader-manifest")
    if target:
        Path(target).write_text(json.dumps(records), encoding="utf-8")


@pytest.hookimpl(optionalhook=True)
def pytest_json_runtest_metadata(item: pytest.Item, call: pytest.CallInfo) -> dict[str, object]:
    """Attach points and task to each test in pytest-json-report's output."""
    if call.when != "call":
        return {}
    record = graded_test_record(item)
    return {"points": record["points"], "task": record["task"]}


def _log_progress(config: pytest.Config, event: str, nodeid: str) -> None:
    target = config.getoption("--grader-progress")
    if target:
        with open(target, "a", encoding="utf-8") as log:
            log.write(f"{event}\t{nodeid}\n")


def pytest_runtest_logstart(nodeid: str, location: tuple[str, int | None, str]) -> None:
    _log_progress(_CONFIG[0], "start", nodeid)


def pytest_runtest_logfinish(nodeid: str, location: tuple[str, int | None, str]) -> None:
    _log_progress(_CONFIG[0], "end", nodeid)


_CONFIG: list[pytest.Config] = []


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    _CONFIG[:] = [session.config]


def _on_alarm(signum: int, frame: object) -> None:
    limit = _CONFIG[0].getoption("--grader-time-limit") if _CONFIG else 0
    raise GradingTimeout(
        f"this test ran longer than its {limit:g} s time limit; look for an endless loop "
        f"or for work repeated far more often than needed"
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    limit = item.config.getoption("--grader-time-limit")
    if limit:
        signal.signal(signal.SIGALRM, _on_alarm)
        signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        yield
    finally:
        if limit:
            signal.setitimer(signal.ITIMER_REAL, 0)
