"""The pytest plugin of the trusted test process (`-p grader.grade.plugin`).

This process runs the tests and never imports the student's code: the tests reach it
through the worker session (grader/remote/session.py) that this plugin starts. The plugin
makes grading deterministic (one fixed hypothesis profile), insists that every test carries
`points` and `task` markers, gives each test its time limit and captured output, and
writes what happened to the results file (grader/grade/protocol.py): feedback already safe
to show, with no hidden-test source.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, settings

from grader.grade.protocol import CollectedTest, Kind, SuiteConfig, TestOutcome, record
from grader.grade.pytest_words import plain_words
from grader.remote import handles, session
from grader.remote.errors import GradingStop, StudentError
from grader.remote.isolation import make_undumpable
from grader.report.shorten import cap_output, printable, shorten_feedback

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
TRACEBACK_LINES = 24
MESSAGE_LINES = 30
"""A failure's traceback and its message are each cut (in the middle) to this many lines."""
NOTE_LIMIT = 1500


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("grader").addoption("--grading-config", help="the SuiteConfig JSON file")


class GradingPlugin:
    """One grading run: the worker session, and the results file."""

    def __init__(self, config: SuiteConfig, launch: bool) -> None:
        self.config = config
        self.results = open(config.results, "a", encoding="utf-8")  # noqa: SIM115
        work = config.results.parent
        self.session = session.Session(config.worker, work)
        handles.activate(self.session)
        if launch:  # the worker's start overlaps with collecting the tests
            self.session.launch()
        self.failures: dict[str, list[str]] = {}
        self.write(Kind.ISOLATION, config.worker.isolation)

    def write(self, kind: Kind, payload: object) -> None:
        self.results.write(record(kind, payload))
        self.results.flush()

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            error = self.shown(report.longreprtext[-3000:])
            self.write(Kind.COLLECTION_ERROR, f"{report.nodeid}: {error}")

    def shown(self, text: str) -> str:
        """Text as the student may read it: paths inside the stage and the worker named
        as the student knows them, control characters made visible."""
        worker = self.config.worker
        text = student_paths(text, self.session.stage_seen, worker.student_files)
        return printable(text.replace(f"{self.config.tests.parent}/", ""))

    def pytest_collection_modifyitems(
        self, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        """Record every collected test, then keep this shard's share of them."""
        self.write(Kind.COLLECTED, [collected_test(item) for item in items])
        shard, shards = self.config.shard, self.config.shards
        mine = items[shard::shards]
        if len(mine) < len(items):
            config.hook.pytest_deselected(items=[i for i in items if i not in mine])
            items[:] = mine

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Iterator[None]:
        self.failures[item.nodeid] = []
        self.write(Kind.STARTED, item.nodeid)  # the grader's own word for what runs now
        started = time.monotonic()
        self.session.begin_test(item.nodeid)
        yield
        output = self.session.end_test()
        failures = self.failures.pop(item.nodeid)
        self.write(
            Kind.OUTCOME,
            TestOutcome(
                nodeid=item.nodeid,
                passed=not failures,
                feedback=self.shown("\n\n".join(failures)),
                output=cap_output(self.shown(output)) if failures else "",
                duration=round(time.monotonic() - started, 3),
            ),
        )

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo) -> Iterator:
        outcome = yield
        report: pytest.TestReport = outcome.get_result()
        if report.outcome == "passed" or item.nodeid not in self.failures:
            return
        if report.outcome == "skipped":
            reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else ""
            self.failures[item.nodeid].append(f"A graded test may not be skipped: {reason}")
            return
        self.failures[item.nodeid].append(feedback(item, call, report))

    def pytest_unconfigure(self) -> None:
        self.session.close()
        handles.activate(None)
        self.results.close()


def collected_test(item: pytest.Item) -> CollectedTest:
    """A test's record; a test without proper markers is a maintainer's error."""
    points, task = _marker_arg(item, "points"), _marker_arg(item, "task")
    if not isinstance(points, int | float) or points <= 0:
        raise pytest.UsageError(f"{item.nodeid}: points must be a positive number, got {points!r}")
    hidden = "hidden" in Path(str(item.path)).parts
    return CollectedTest(item.nodeid, str(task), float(points), hidden)


def _marker_arg(item: pytest.Item, name: str) -> object:
    marker = item.get_closest_marker(name)
    if marker is None or len(marker.args) != 1:
        raise pytest.UsageError(
            f"{item.nodeid}: a graded test needs @pytest.mark.{name}(...) with one argument"
        )
    return marker.args[0]


def student_paths(text: str, stage: str, files: dict[str, session.StudentFile]) -> str:
    """Paths inside the worker's stage (a warning's `/stage/tinytorch/core/tensor.py:472`)
    as the student knows them, with their own file's line numbers (the staged copy starts
    with a header); other staged files by their package path."""
    if not stage:
        return text

    def local(match: re.Match) -> str:
        name, line = match.group("name"), match.group("line")
        known = files.get(name)
        if known is None:
            return match.group()[len(stage) + 1 :]
        if line is None:
            return known.display_path
        return f"{known.display_path}{match.group('sep')}{max(1, int(line) - known.header_lines)}"

    pattern = re.escape(stage) + r'/(?P<name>[\w./-]+?\.py)(?:(?P<sep>:|", line )(?P<line>\d+))?'
    return re.sub(pattern, local, text)


def feedback(item: pytest.Item, call: pytest.CallInfo, report: pytest.TestReport) -> str:
    """What the student reads about a failure: never a hidden test's source."""
    error = call.excinfo.value if call.excinfo else None
    hidden = "hidden" in Path(str(item.path)).parts
    if isinstance(error, StudentError):
        message = error.explain()
    elif isinstance(error, GradingStop):
        message = str(error)
    elif isinstance(error, AssertionError) and hidden:
        # pytest explains a failed assert with lines that quote the test's expressions
        # (`+  where 3 = secret_call(2)`): from a hidden test, only the values are shown.
        text = str(error).lstrip("\n")
        kept = [line for line in text.splitlines() if not QUOTES_SOURCE.match(line)]
        message = "\n".join(["AssertionError: " + kept[0], *kept[1:]]) if kept else "AssertionError"
    elif error is not None:
        text = str(error).lstrip("\n")  # NumPy's messages start on a new line
        message = f"{type(error).__name__}: {text}" if text else type(error).__name__
    else:
        message = report.longreprtext
    message = plain_words(message)
    notes = "\n".join(getattr(error, "__notes__", []) or [])[:NOTE_LIMIT]
    notes = ADDRESS.sub("", notes)  # `<function f at 0x7f...>` differs from run to run
    if hidden:  # where and how much, never the expected values or the generated inputs
        message, notes = without_oracle(message), ""
    location = "" if hidden or call.excinfo is None else _test_line(item, call.excinfo)
    text = "\n".join(filter(None, [location, message, notes]))
    return shorten_feedback(text, TRACEBACK_LINES, MESSAGE_LINES)


def without_oracle(message: str) -> str:
    """A hidden test's message without what would tabulate it over many pushes: NumPy's
    ACTUAL/DESIRED arrays go, and each listed mismatch keeps its index and its size only.
    (Hypothesis's falsifying example is a note, and a hidden test's notes are dropped.)"""
    kept, in_array = [], False
    for line in message.splitlines():
        if ORACLE_ARRAY.match(line):
            in_array = True
            continue
        if in_array and line.startswith(" ") and not line.lstrip().startswith("["):
            continue  # the rest of a multi-line ACTUAL/DESIRED array
        in_array = False
        mismatch = MISMATCH.match(line)
        if mismatch:
            line = f" {mismatch['index']}: {_difference(mismatch['actual'], mismatch['desired'])}"
        kept.append(line)
    return "\n".join(kept)


def _difference(actual: str, desired: str) -> str:
    try:
        return f"off by about {abs(float(actual) - float(desired)):.2g}"
    except ValueError:  # nan, inf, or a value that is not a number
        return "a different value"


ORACLE_ARRAY = re.compile(r"^\s*(ACTUAL|DESIRED):\s")
MISMATCH = re.compile(
    r"^\s*(?P<index>\[[^\]]*\]): (?P<actual>\S+) \(ACTUAL\), (?P<desired>\S+) \(DESIRED\)"
)
ADDRESS = re.compile(r" at 0x[0-9a-f]+")
QUOTES_SOURCE = re.compile(r"\s*(\+\s*where\b|\+\s*and\b|where\b)")


def _test_line(item: pytest.Item, excinfo: pytest.ExceptionInfo) -> str:
    """Where in a visible test file the failure happened (the student can read that file)."""
    entries = [e for e in excinfo.traceback if Path(str(e.path)) == Path(str(item.path))]
    if not entries:
        return ""
    entry = entries[-1]
    relative = Path(str(item.path)).relative_to(Path(str(item.config.rootpath))).as_posix()
    statement = str(entry.statement).strip().splitlines()
    first = statement[0] if statement else ""
    return f'  File "{relative}", line {entry.lineno + 1}, in {entry.name}\n    {first}'


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "points(n): points a graded test is worth")
    config.addinivalue_line("markers", "task(id): the task id (like '01.2') a graded test checks")
    settings.load_profile(PROFILE)
    path = config.getoption("--grading-config")
    if path:
        make_undumpable()
        suite = SuiteConfig.from_json(Path(path).read_text(encoding="utf-8"))
        plugin = GradingPlugin(suite, launch=not config.option.collectonly)
        config.pluginmanager.register(plugin, "grading")
