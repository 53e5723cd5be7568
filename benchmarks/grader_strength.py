"""How strong are the graders? Every single-point mutant of each module's solution regions
(benchmarks/mutants.py), graded with the visible and hidden tests: the share that loses
points, per module, and the survivors.

Run: `make grader-strength [ARGS="--module 01 02 --per-module 40 --jobs 2"]` (long: a few
seconds per mutant; not part of CI). A survivor listed in `equivalent_mutants.txt` (one
`NN_slug:line: 'before' -> 'after'  # why` per line; matched without the line number, which
edits elsewhere in the file move) behaves exactly like the solution, so
it is reported with its reason and left out of the share. Exits 1 when a module's share
is below `--target` (95%).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from mutants import Mutant, mutants, write_mutant

from grader.assign.starter import built_modules
from grader.course import Course, ModuleSpec, load_course
from grader.grade.engine import grade_module
from grader.layout import Layout
from grader.remote.isolation import choose

EQUIVALENT = Path(__file__).with_name("equivalent_mutants.txt")


def _without_line(described: str) -> str:
    """`NN_slug:123: 'a' -> 'b'` as `NN_slug: 'a' -> 'b'`: an edit elsewhere in the file
    moves the line, never the mutation, so the list is matched without line numbers."""
    module, _, rest = described.partition(":")
    return f"{module}:{rest.partition(':')[2]}"


def equivalent_mutants() -> dict[str, str]:
    """`describe()` of each known equivalent mutant, without its line -> why it cannot lose
    points."""
    known = {}
    for line in EQUIVALENT.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            mutant, _, why = line.rpartition("  # ")  # the code itself may hold "  # "
            known[_without_line(mutant.strip())] = why.strip()
    return known


def grade_mutant(layout: Layout, course: Course, mutant: Mutant) -> float:
    """The mutant's score with every test of its module (isolated where possible)."""
    with tempfile.TemporaryDirectory(prefix="mutant-") as folder:
        write_mutant(mutant, Path(folder))
        result = grade_module(
            layout, course, mutant.module, Path(folder), True, choose(False), shards=1
        )
    return result.score


def strength(
    layout: Layout, course: Course, module: ModuleSpec, sample: int | None, jobs: int
) -> dict:
    pool = mutants(layout, module)
    if sample is not None and sample < len(pool):
        pool = random.Random(0).sample(pool, sample)
    with ThreadPoolExecutor(max_workers=jobs) as workers:
        scores = list(workers.map(lambda m: grade_mutant(layout, course, m), pool))
    known = equivalent_mutants()
    survivors = [m for m, s in zip(pool, scores, strict=True) if s >= module.points]
    equivalent = {
        m.describe(): known[_without_line(m.describe())]
        for m in survivors
        if _without_line(m.describe()) in known
    }
    counted = len(pool) - len(equivalent)
    caught = counted - (len(survivors) - len(equivalent))
    return {
        "module": module.dirname,
        "mutants": len(pool),
        "caught": caught,
        "share": caught / counted if counted else 1.0,
        "survivors": [m.describe() for m in survivors if m.describe() not in equivalent],
        "equivalent": equivalent,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--module", nargs="*", help="module numbers (default: all built)")
    parser.add_argument("--per-module", type=int, help="a seeded sample of this many mutants")
    parser.add_argument("--jobs", type=int, default=2, help="mutants graded side by side")
    parser.add_argument("--target", type=float, default=0.95)
    parser.add_argument("--json", type=Path, help="also write the report here")
    args = parser.parse_args()
    layout = Layout()
    course = load_course(layout.manifest)
    chosen = [course.module(k) for k in args.module] if args.module else None
    reports = []
    for module in chosen or built_modules(layout, course):
        report = strength(layout, course, module, args.per_module, args.jobs)
        reports.append(report)
        verdict = "ok" if report["share"] >= args.target else "BELOW TARGET"
        counted = report["mutants"] - len(report["equivalent"])
        share = f"{report['caught']:>4}/{counted} mutants lose points ({report['share']:.1%})"
        print(f"{module.dirname:<16} {share}  {verdict}", flush=True)
        for survivor in report["survivors"]:
            print(f"    survived: {survivor}")
        for mutant, why in report["equivalent"].items():
            print(f"    equivalent: {mutant}  ({why})")
    if args.json:
        args.json.write_text(json.dumps(reports, indent=1) + "\n", encoding="utf-8")
    return 0 if all(r["share"] >= args.target for r in reports) else 1


if __name__ == "__main__":
    sys.exit(main())
