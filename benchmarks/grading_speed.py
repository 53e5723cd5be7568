"""How long grading takes: each built module (solution and starter), then one whole run.

Run: `.venv/bin/python benchmarks/grading_speed.py [--repeats N]`. Times are wall-clock
seconds on this machine, with the isolation official grading uses (bubblewrap where it
is available). The course's budget: one module in at most 5 s, modules 01-09 in one run
in at most 30 s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from grader.assign.starter import built_modules
from grader.course import load_course
from grader.grade.engine import grade_module
from grader.grade.session import grade
from grader.layout import Layout
from grader.remote.isolation import choose
from grader.report.results import Totals


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    layout = Layout()
    course = load_course(layout.manifest)
    isolation = choose(required=False)
    modules = built_modules(layout, course)
    print(f"isolation: {isolation.description}")
    print(f"{'module':<18} {'tree':<10} {'median s':>9} {'max s':>7}  score")
    for module in modules:
        for tree in ("solutions", "starter"):
            times, score = [], 0.0
            for _ in range(args.repeats):
                started = time.perf_counter()
                result = grade_module(layout, course, module, layout.root / tree, True, isolation)
                times.append(time.perf_counter() - started)
                score = result.score
            print(
                f"{module.dirname:<18} {tree:<10} {statistics.median(times):>9.2f} "
                f"{max(times):>7.2f}  {score:g}/{module.points:g}"
            )
    started = time.perf_counter()
    run = grade(
        layout=layout,
        course=course,
        modules=modules,
        submission=layout.solutions,
        isolation=isolation,
    )
    seconds, totals = time.perf_counter() - started, Totals.of(run.results)
    print(
        f"whole run, {len(modules)} modules (solutions): {seconds:.1f} s, "
        f"{totals.score:g}/{totals.max_score:g}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
