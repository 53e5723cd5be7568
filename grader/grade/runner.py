"""Run a staged test suite in a sandboxed pytest subprocess and collect raw outcomes.

The child gets a memory limit (RLIMIT_AS), a clean environment without secrets, a
sandbox and a per-test alarm (both in the plugin). Everything the child says about
tests arrives over a signed channel (grader/grade/channel.py); pytest-json-report's
file only supplies feedback text, so rewriting it changes no score. The parent watches
the channel: a test that hangs where the alarm cannot reach it (inside native code) is
killed from outside, and the run restarts without it, so every other test still gets
its result.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from grader.grade.channel import ParentChannel, Received
from grader.layout import REPO_ROOT

KILL_GRACE_SECONDS = 5.0
POLL_SECONDS = 0.05


@dataclass(frozen=True)
class Limits:
    """Resource limits for student code."""

    time_per_test: float
    memory_mb: int


@dataclass(frozen=True)
class RawOutcome:
    """One test's result before scoring."""

    passed: bool
    message: str
    """Crash message (first line of the exception)."""
    traceback: str
    """pytest's short traceback."""
    duration: float


@dataclass
class RawRun:
    """Everything a run produced."""

    manifest: list[dict] | None = None
    """The collected tests with points and task, or None when collection failed."""
    outcomes: dict[str, RawOutcome] = field(default_factory=dict)
    collection_errors: list[str] = field(default_factory=list)
    """Tracebacks of test files that could not be imported."""
    forged: int = 0
    """Result lines on the channel that the grader did not sign."""


def _sandbox(memory_mb: int) -> None:
    """Runs in the child before exec: cap its address space and core dumps."""
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def child_environment(stage: Path) -> dict[str, str]:
    """A minimal environment: no tokens or secrets reach student code."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(stage),
        "LANG": "C.UTF-8",
        "PYTHONPATH": os.pathsep.join([str(stage), str(REPO_ROOT)]),
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }


def _pytest_command(
    stage: Path,
    work: Path,
    limits: Limits,
    deselect: list[str],
    collect_only: bool,
    channel: tuple[int, int],
    private: list[Path],
) -> list[str]:
    command = [
        sys.executable,
        "-m",
        "pytest",
        "tests",
        "-c",
        str(stage / "pytest.ini"),
        "--rootdir",
        str(stage),
        "-p",
        "grader.grade.pytest_plugin",
        "-p",
        "no:cacheprovider",
        "--import-mode=importlib",
        "-q",
        "--tb=short",
        "--no-header",
        "-rN",
        "--continue-on-collection-errors",
        f"--grader-channel={channel[0]},{channel[1]}",
        f"--grader-time-limit={limits.time_per_test:g}",
        *(f"--grader-private={path}" for path in [REPO_ROOT, *private]),
    ]
    if collect_only:
        return [*command, "--collect-only"]
    command += ["--json-report", f"--json-report-file={work / 'report.json'}"]
    for nodeid in deselect:
        command += ["--deselect", nodeid]
    return command


def _last_started(received: Received) -> tuple[str | None, int]:
    """The test that started and has not finished, and how many messages there are."""
    running = None
    for kind, payload in received.messages:
        running = payload if kind == "start" else None
    return (running if isinstance(running, str) else None), len(received.messages)


def _kill_group(child: subprocess.Popen) -> None:
    """Kill the child's whole process group, so nothing it left behind runs on."""
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    child.wait()


def _run_child(
    command: list[str], stage: Path, channel: ParentChannel, limits: Limits
) -> tuple[str | None, str]:
    """Run until the child exits; returns (killed test or "<collection>", reason) or (None, "")."""
    log = open(stage.parent / "child-output.txt", "w", encoding="utf-8")  # noqa: SIM115
    with log:
        child = subprocess.Popen(
            command,
            cwd=stage,
            env=child_environment(stage),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=lambda: _sandbox(limits.memory_mb),
            start_new_session=True,
            pass_fds=channel.child_fds,
        )
        channel.child_started()
        budget = limits.time_per_test + KILL_GRACE_SECONDS
        last_change, last_state = time.monotonic(), (None, 0)
        while child.poll() is None:
            time.sleep(POLL_SECONDS)
            state = _last_started(channel.snapshot())
            if state != last_state:
                last_change, last_state = time.monotonic(), state
            elif time.monotonic() - last_change > budget:
                _kill_group(child)
                running = state[0] or "<collection>"
                return running, f"stopped after {budget:g} s without finishing"
        _kill_group(child)
        if child.returncode < 0:
            running = _last_started(channel.finish())[0] or "<collection>"
            name = signal.Signals(-child.returncode).name
            return running, f"the test process crashed ({name}); this usually means memory ran out"
    return None, ""


def _outcome(test: dict) -> RawOutcome:
    """Turn one pytest-json-report test record into a `RawOutcome`."""
    duration = sum(
        test.get(stage, {}).get("duration", 0.0) for stage in ("setup", "call", "teardown")
    )
    if test.get("outcome") == "passed":
        return RawOutcome(True, "", "", duration)
    for stage in ("setup", "call", "teardown"):
        record = test.get(stage, {})
        if record.get("outcome") not in (None, "passed"):
            crash = record.get("crash") or {}
            return RawOutcome(
                False, crash.get("message", "failed"), record.get("longrepr", ""), duration
            )
    return RawOutcome(False, f"test outcome: {test.get('outcome')}", "", duration)


def _read_report(path: Path) -> dict:
    """pytest-json-report's file (feedback text only); {} if missing or unreadable."""
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return report if isinstance(report, dict) else {}


def _confirmed(outcome: RawOutcome | None, passed: bool) -> RawOutcome:
    """The report's outcome, with pass/fail taken from the signed channel."""
    if outcome is None:
        return RawOutcome(passed, "" if passed else "failed (no details were recorded)", "", 0.0)
    if outcome.passed and not passed:
        return RawOutcome(
            False,
            "the grader did not see this test pass (its report entry was changed afterwards)",
            "",
            outcome.duration,
        )
    return RawOutcome(passed, outcome.message, outcome.traceback, outcome.duration)


def run_suite(
    stage: Path, limits: Limits, collect_only: bool = False, private: list[Path] | None = None
) -> RawRun:
    """Run (or only collect) the tests staged under `stage/tests`.

    `private`: more directories the child may neither write nor (from student code) read.
    """
    work = stage.parent / "work"
    work.mkdir(exist_ok=True)
    run = RawRun()
    killed: dict[str, str] = {}
    verdicts: dict[str, bool] = {}
    while True:
        (work / "report.json").unlink(missing_ok=True)
        channel = ParentChannel()
        command = _pytest_command(
            stage, work, limits, sorted(killed), collect_only, channel.child_fds, private or []
        )
        culprit, reason = _run_child(command, stage, channel, limits)
        received = channel.finish()
        run.forged += received.forged
        for kind, payload in received.messages:
            if kind == "manifest":
                run.manifest = payload
            elif kind == "end":
                verdicts.setdefault(payload["nodeid"], bool(payload["passed"]))
        if culprit == "<collection>":
            run.collection_errors.append(f"Importing the tests and your code {reason}.")
            break
        if culprit is None:
            break
        killed[culprit] = reason
    for nodeid, reason in killed.items():
        run.outcomes[nodeid] = RawOutcome(
            False, f"This test was {reason}.", "", limits.time_per_test
        )
    if not collect_only:
        report = _read_report(work / "report.json")
        described = {
            t["nodeid"]: _outcome(t) for t in report.get("tests", []) if isinstance(t, dict)
        }
        for nodeid, passed in verdicts.items():
            run.outcomes.setdefault(nodeid, _confirmed(described.get(nodeid), passed))
        for collector in report.get("collectors", []):
            if collector.get("outcome") == "failed":
                run.collection_errors.append(collector.get("longrepr", ""))
    if run.manifest is None and not run.collection_errors:
        output = (stage.parent / "child-output.txt").read_text(encoding="utf-8", errors="replace")
        run.collection_errors.append(output[-3000:] or "pytest stopped before collecting any test")
    return run
