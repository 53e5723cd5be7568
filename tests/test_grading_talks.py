"""Grading talks while it runs: plain lines in a pipe as tests finish, a live display on a
terminal, and a test that runs long announced before it is stopped, not after. Every
line comes from the grader's side (the test process's record of what it runs, the
grader's clock), never from what the student's code prints."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import threading
import time

import pytest
import yaml
from rich.console import Console

from grader.grade.protocol import Kind, ResultsTail, read_records, record
from grader.report.live import PlainReport, RichReport, announce_after, live_report

from .conftest import LAYOUT

TIME_LIMIT = 3
LOOP = "        while True:\n            pass\n"
FORGED = "tests/visible/test_01_tensor.py::test_forged_by_the_student PASS"


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _root_with_time_limit(tmp_path, seconds: float):
    """A course root like this one whose tests each have `seconds` seconds."""
    root = tmp_path / "course"
    root.mkdir()
    manifest = yaml.safe_load(LAYOUT.manifest.read_text(encoding="utf-8"))
    manifest["grading"]["time_limit_seconds"] = seconds
    (root / "classroom.yml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    for name in ("starter", "solutions"):
        (root / name).symlink_to(LAYOUT.root / name)
    return root


def _submission_with_a_stuck_test(tmp_path):
    """Module 01's solution whose `exp` never returns, and prints what a grader would."""
    folder = tmp_path / "submission" / "01_tensor"
    shutil.copytree(LAYOUT.solutions / "01_tensor", folder)
    path = folder / "tensor.py"
    text = path.read_text(encoding="utf-8")
    assert "        return np.exp(a)\n" in text
    forged = f"        print({FORGED!r}, flush=True)\n"
    path.write_text(text.replace("        return np.exp(a)\n", forged + LOOP, 1))
    return folder.parent


@pytest.mark.slow
def test_in_a_pipe_tests_are_told_as_they_finish_and_a_stuck_one_before_it_is_stopped(
    tmp_path,
):
    root = _root_with_time_limit(tmp_path, TIME_LIMIT)
    submission = _submission_with_a_stuck_test(tmp_path)
    command = [sys.executable, "-I", "-m", "grader", "--root", str(root), "grade",
               "--module", "01", "--no-hidden", "--submission", str(submission)]  # fmt: skip
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    started = time.monotonic()
    child = subprocess.Popen(command, cwd=LAYOUT.root, stdout=subprocess.PIPE, text=True, env=env)
    heard: list[tuple[float, str]] = []
    assert child.stdout is not None
    for line in child.stdout:
        heard.append((time.monotonic() - started, line.rstrip("\n")))
    assert child.wait(timeout=120) == 0
    ended = time.monotonic() - started
    lines = [line for _, line in heard]
    at = {line: when for when, line in heard}

    finished = [line for line in lines if line.startswith("01_tensor [")]
    total = int(next(line for line in lines if line.startswith("01_tensor: running ")).split()[2])
    assert len(finished) == total > 5, lines
    stuck = next(line for line in finished if "FAIL test_exp_log_and_powers" in line)
    announced = [line for line in lines if "is still running after" in line]
    assert announced == [
        f"01_tensor: test_exp_log_and_powers is still running after "
        f"{announce_after(TIME_LIMIT):.0f} s; the grader stops it at the latest at "
        f"{TIME_LIMIT} s (its time limit)."
    ], lines
    assert at[announced[0]] < at[stuck] - 0.5, "announced while it runs, not after"
    assert at[finished[0]] < ended - 1.0, "the first test is told long before the end"
    assert lines.index(stuck) < lines.index(next(x for x in lines if x.startswith("Points")))
    assert FORGED not in lines  # the student's print is never a progress line


def test_the_results_tail_reads_only_whole_lines_and_read_records_skips_starts(tmp_path):
    path = tmp_path / "results.jsonl"
    tail = ResultsTail([path, tmp_path / "not-yet.jsonl"])
    assert tail.new_entries() == []
    started = record(Kind.STARTED, "tests/visible/t.py::test_a")
    path.write_text(started + started[:10])
    assert tail.new_entries() == [(Kind.STARTED, "tests/visible/t.py::test_a")]
    with open(path, "a") as stream:
        stream.write(started[10:])
    assert tail.new_entries() == [(Kind.STARTED, "tests/visible/t.py::test_a")]
    assert read_records([path]).outcomes == {}


def _drive(report, clock: FakeClock) -> None:
    """Two tests of a module with a 20 s limit: one passes, one runs long."""
    module = report.module("01_tensor", 20.0)
    module.collected(2)
    module.started("tests/visible/test_01.py::test_add")
    module.started("tests/hidden/test_01_hidden.py::test_exp")
    clock.now += 0.3
    module.finished("tests/visible/test_01.py::test_add", True, 0.3)
    clock.now += 4.0
    module.tick()  # 4.3 s: not yet
    clock.now += 1.0
    module.tick()  # 5.3 s: announced, once
    module.tick()


def test_plain_lines_say_each_finished_test_and_announce_a_long_one_once():
    clock, stream = FakeClock(), io.StringIO()
    _drive(PlainReport(stream, clock), clock)
    assert stream.getvalue().splitlines() == [
        "01_tensor: running 2 tests",
        "01_tensor [1/2] PASS test_add (0.3 s)",
        "01_tensor: test_exp (hidden) is still running after 5 s; the grader stops it at "
        "the latest at 20 s (its time limit).",
    ]


def test_on_a_terminal_a_live_line_shows_the_running_test_and_its_time():
    clock, screen = FakeClock(), io.StringIO()
    console = Console(file=screen, force_terminal=True, width=120, color_system=None)
    report = RichReport(console, clock)
    try:
        _drive(report, clock)
        clock.now += 2.0
        report.live.refresh()
        shown = screen.getvalue()
    finally:
        report.close()
    assert "test_exp (hidden)" in shown and "7.3 s" in shown, shown
    assert "1/2" in shown and "01_tensor" in shown
    assert "test_exp (hidden) is still running after 5 s" in shown
    assert "PASS test_add" not in shown  # finished tests leave the live display


def test_the_report_follows_the_stream(tmp_path):
    with live_report(io.StringIO()) as plain:
        assert isinstance(plain, PlainReport)
    with open(os.devnull, "w") as stream:  # not a terminal either
        with live_report(stream) as report:
            assert isinstance(report, PlainReport)


def test_modules_graded_side_by_side_report_from_their_threads():
    clock, stream = FakeClock(), io.StringIO()
    report = PlainReport(stream, clock)

    def grade(name: str) -> None:
        module = report.module(name, 20.0)
        module.collected(50)
        for i in range(50):
            module.started(f"t.py::test_{i}")
            module.finished(f"t.py::test_{i}", i % 2 == 0, 0.01)

    threads = [threading.Thread(target=grade, args=(f"0{n}_m",)) for n in range(1, 4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3 * 51 and all(line.count("\n") == 0 for line in lines)
    for n in range(1, 4):
        mine = [line for line in lines if line.startswith(f"0{n}_m [")]
        assert [line.split("]")[0] for line in mine] == [f"0{n}_m [{i}/50" for i in range(1, 51)]
