"""Run one module's tests in the trusted test process and read what it wrote.

The test process (grader/grade/suite_main.py) is the grader's own code; it starts the
worker that runs the student's code. Here we only start it with `python -I` and a clean
environment (one per shard of the tests, in parallel), stop them if the whole module runs
past `MODULE_CAP_SECONDS`, and read their results files, which keep every outcome written
before a stop. While they run, their results files are read as they grow, to say which
test runs and which finished (grader/report/live.py), on the grader's own clock.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from grader.grade.protocol import (
    Kind,
    ResultsTail,
    SuiteConfig,
    SuiteRecords,
    TestOutcome,
    read_records,
)
from grader.remote.isolation import WORKER_ENV, prepare_for_worker
from grader.report.live import ModuleProgress

SUITE_MAIN = Path(__file__).resolve().parent / "suite_main.py"
MODULE_CAP_SECONDS = 300.0
POLL_SECONDS = 0.2
"""How often the results files are read while the tests run."""
PYTEST_INI = "[pytest]\nconsole_output_style = classic\n"


@dataclass(frozen=True)
class SuiteRun:
    """The records, and what the test process said if it went wrong."""

    records: SuiteRecords
    problem: str
    """Empty if the test process ran to its end."""


def _environment(work: Path) -> dict[str, str]:
    """No token or secret of the grader's environment reaches the test process."""
    return dict(WORKER_ENV, HOME=str(work))


def shard_count() -> int:
    """How many test processes share one module's tests: one per core, at most two (each
    has a worker beside it, and the trusted side does most of the work)."""
    return max(1, min(2, os.cpu_count() or 1))


def run_suite(
    config: SuiteConfig,
    collect_only: bool = False,
    shards: int | None = None,
    progress: ModuleProgress | None = None,
) -> SuiteRun:
    """Run (or only collect) the tests under `config.tests`, split over parallel shards,
    each a trusted test process with its own worker and scratch folder; tell `progress`
    what starts and finishes."""
    work = config.results.parent
    (config.tests.parent / "pytest.ini").write_text(PYTEST_INI, encoding="utf-8")
    shards = 1 if collect_only else (shards or shard_count())
    children, logs, results = [], [], []
    for shard in range(shards):
        folder = work / f"shard-{shard}"
        scratch = config.worker.paths.scratch / f"shard-{shard}"
        folder.mkdir()
        scratch.mkdir()
        prepare_for_worker(writable=scratch)
        paths = dataclasses.replace(config.worker.paths, scratch=scratch)
        mine = dataclasses.replace(
            config,
            results=folder / "results.jsonl",
            worker=dataclasses.replace(config.worker, paths=paths),
            shard=shard,
            shards=shards,
        )
        config_path = folder / "suite.json"
        config_path.write_text(mine.to_json(), encoding="utf-8")
        command = [sys.executable, "-I", str(SUITE_MAIN), str(config_path)]
        log = open(folder / "output.txt", "w", encoding="utf-8")  # noqa: SIM115
        children.append(
            subprocess.Popen(
                [*command, *(["--collect-only"] if collect_only else [])],
                cwd=folder,
                env=_environment(folder),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
        logs.append(log)
        results.append(mine.results)
    problem = _wait(children, ResultsTail(results), progress)
    for log in logs:
        log.close()
    records = read_records(results)
    if records.collected is None and not problem:
        output = "".join(Path(log.name).read_text(errors="replace") for log in logs)
        problem = "the tests could not be collected:\n" + output[-3000:]
    return SuiteRun(records, problem)


def _wait(
    children: list[subprocess.Popen], tail: ResultsTail, progress: ModuleProgress | None
) -> str:
    """Wait for every shard, telling `progress` what happened meanwhile; past
    `MODULE_CAP_SECONDS`, stop them all and say so."""
    deadline = time.monotonic() + MODULE_CAP_SECONDS
    problem = ""
    running = list(children)
    while running:
        try:  # returns as soon as this shard ends
            running[0].wait(max(0.0, min(POLL_SECONDS, deadline - time.monotonic())))
        except subprocess.TimeoutExpired:
            pass
        running = [child for child in running if child.poll() is None]
        if progress is not None:
            _tell(progress, tail)
        if running and time.monotonic() >= deadline:
            for child in running:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.pid, signal.SIGKILL)
                child.wait()
            running = []
            problem = (
                f"grading this module took longer than {MODULE_CAP_SECONDS:g} s and was stopped"
            )
    return problem


def _tell(progress: ModuleProgress, tail: ResultsTail) -> None:
    """What the test processes wrote since the last look, then the long-test check."""
    for kind, payload in tail.new_entries():
        if kind is Kind.COLLECTED and isinstance(payload, list):
            progress.collected(len(payload))
        elif kind is Kind.STARTED and isinstance(payload, str):
            progress.started(payload)
        elif kind is Kind.OUTCOME and isinstance(payload, dict):
            outcome = TestOutcome(**payload)
            progress.finished(outcome.nodeid, outcome.passed, outcome.duration)
    progress.tick()
