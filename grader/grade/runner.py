"""Run a staged test suite in a sandboxed pytest subprocess and collect raw outcomes.

The child gets a memory limit (RLIMIT_AS), a clean environment without secrets, and a
per-test alarm (in the plugin). The parent watches the child's progress log: a test that
hangs where the alarm cannot reach it (inside native code) is killed from outside, and
the run restarts without it, so every other test still gets its result.
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
    stage: Path, work: Path, limits: Limits, deselect: list[str], collect_only: bool
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
        f"--grader-manifest={work / 'manifest.json'}",
        f"--grader-progress={work / 'progress.log'}",
        f"--grader-time-limit={limits.time_per_test:g}",
    ]
    if collect_only:
        return [*command, "--collect-only"]
    command += ["--json-report", f"--json-report-file={work / 'report.json'}"]
    for nodeid in deselect:
        command += ["--deselect", nodeid]
    return command


def _last_started(progress: Path) -> tuple[str | None, int]:
    """The test that started and has not finished, and how many log lines there are."""
    if not progress.exists():
        return None, 0
    lines = progress.read_text(encoding="utf-8", errors="replace").splitlines()
    running = None
    for line in lines:
        event, _, nodeid = line.partition("\t")
        running = nodeid if event == "start" else None
    return running, len(lines)


def _run_child(
    command: list[str], stage: Path, progress: Path, limits: Limits
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
        )
        budget = limits.time_per_test + KILL_GRACE_SECONDS
        last_change, last_state = time.monotonic(), (None, 0)
        while child.poll() is None:
            time.sleep(POLL_SECONDS)
            state = _last_started(progress)
            if state != last_state:
                last_change, last_state = time.monotonic(), state
            elif time.monotonic() - last_change > budget:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()
                running = state[0] or "<collection>"
                return running, f"stopped after {budget:g} s without finishing"
        if child.returncode < 0:
            running = _last_started(progress)[0] or "<collection>"
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


def run_suite(stage: Path, limits: Limits, collect_only: bool = False) -> RawRun:
    """Run (or only collect) the tests staged under `stage/tests`."""
    work = stage.parent / "work"
    work.mkdir(exist_ok=True)
    run = RawRun()
    killed: dict[str, str] = {}
    while True:
        for name in ("manifest.json", "progress.log", "report.json"):
            (work / name).unlink(missing_ok=True)
        command = _pytest_command(stage, work, limits, sorted(killed), collect_only)
        culprit, reason = _run_child(command, stage, work / "progress.log", limits)
        if (work / "manifest.json").exists():
            run.manifest = json.loads((work / "manifest.json").read_text(encoding="utf-8"))
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
    if not collect_only and (work / "report.json").exists():
        report = json.loads((work / "report.json").read_text(encoding="utf-8"))
        for test in report.get("tests", []):
            run.outcomes.setdefault(test["nodeid"], _outcome(test))
        for collector in report.get("collectors", []):
            if collector.get("outcome") == "failed":
                run.collection_errors.append(collector.get("longrepr", ""))
    if run.manifest is None and not run.collection_errors:
        output = (stage.parent / "child-output.txt").read_text(encoding="utf-8", errors="replace")
        run.collection_errors.append(output[-3000:] or "pytest stopped before collecting any test")
    return run
