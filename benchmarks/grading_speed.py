"""How long grading one module takes, per built module (solution and starter).

Run: `.venv/bin/python benchmarks/grading_speed.py` (or `make bench-grading`). Times are
wall-clock seconds on this machine; the course target is under 10 s per module.
"""

from __future__ import annotations

import statistics
import sys
import time

from grader.assign.starter import built_modules
from grader.course import load_course
from grader.grade.engine import grade_module
from grader.layout import Layout

REPEATS = 3


def main() -> int:
    layout = Layout()
    course = load_course(layout.manifest)
    print(f"{'module':<18} {'tree':<10} {'median s':>9} {'max s':>7}  score")
    for module in built_modules(layout, course):
        for tree in ("solutions", "starter"):
            times, score = [], 0.0
            for _ in range(REPEATS):
                started = time.perf_counter()
                score = grade_module(layout, course, module, layout.root / tree).score
                times.append(time.perf_counter() - started)
            print(
                f"{module.dirname:<18} {tree:<10} {statistics.median(times):>9.2f} "
                f"{max(times):>7.2f}  {score:g}/{module.points:g}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
