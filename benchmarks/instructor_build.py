"""The instructors' gradebook and dashboard for a large synthetic class, timed.

    make bench-instructor
    .venv/bin/python benchmarks/instructor_build.py [--students 500] [--rounds 3]

A synthetic class (grader/instructor/synthetic.py: 500 students, the course's 20
modules, every module released and due, about 40 graded pushes each) is written to a
temporary folder with the grader repository's own writers; then, in rounds, the same
process reads it and writes the five gradebook files and the dashboard (what
`make dashboard` does) and, as the baseline of the same round, only parses every file of
`state/` as JSON. Wall and CPU seconds are medians over the rounds; the ratio to the
baseline says how much of the time is the build's own, whatever the machine's load
(issue 23's target: under 5 s for 500 students x 20 modules).

Measured on this machine (2 cores shared with several other sessions, Dec 2026): 2.7 s
CPU per build (median of 3; state/ 24 MB); wall 3.6-3.8 s at a load average of 7.7 (the
command from the shell, interpreter start included), 7.5 s at 8.8, and up to 14 s at
10-11, when the CPU time is what moves least. The build is 6.2x parsing state/ alone.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.course import load_course  # noqa: E402
from grader.instructor.main import main as instructor  # noqa: E402
from grader.instructor.synthetic import write_class  # noqa: E402
from grader.layout import Layout  # noqa: E402

NOW = "2027-02-10T12:00:00Z"  # after the last due date: every module counts


def timed(action) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    action()
    return time.perf_counter() - wall, time.process_time() - cpu


def read_everything(state: Path) -> None:
    for path in state.rglob("*.json"):
        json.loads(path.read_bytes())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    course = load_course(Layout(ROOT).manifest)
    with tempfile.TemporaryDirectory(prefix="tinytorch-bench-") as folder:
        place = Path(folder)
        now = dt.datetime.fromisoformat(NOW.replace("Z", "+00:00"))
        write_class(course, place, args.students, now)
        size = sum(p.stat().st_size for p in (place / "state").rglob("*.json"))
        command = ["--root", str(ROOT), "--state", str(place / "state"), "--roster",
                   str(place / "roster.csv"), "--now", NOW, "dashboard", "--out",
                   str(place / "dashboard" / "index.html"), "--gradebook",
                   str(place / "gradebook")]  # fmt: skip
        builds, reads = [], []
        for _ in range(args.rounds):
            builds.append(timed(lambda: instructor(command)))
            reads.append(timed(lambda: read_everything(place / "state")))
    wall = statistics.median(b[0] for b in builds)
    cpu = statistics.median(b[1] for b in builds)
    base = statistics.median(r[0] for r in reads)
    print(f"{args.students} students x {len(course.modules)} modules, state/ {size / 2**20:.0f} MB")
    print(f"gradebook + dashboard: {wall:.2f} s wall, {cpu:.2f} s CPU (median of {args.rounds})")
    print(f"parsing state/ alone: {base:.2f} s wall; the build takes {wall / base:.1f}x that")
    return 0


if __name__ == "__main__":
    sys.exit(main())
