"""Do the tests catch small mistakes? Seeded single-point mutants of each solution region,
graded by this tree's tests and, for comparison, by another tree's (an older commit).

Run: `.venv/bin/python benchmarks/mutation_parity.py [--old-tree PATH] [--per-module N]`.
Mutants come from benchmarks/mutants.py; one is caught when it scores below full marks. With
`--old-tree` (for example `git worktree add /tmp/old <commit>`), every mutant that this
tree's tests let through is also graded there: a mutant the old tests catch and these do
not is a regression in the tests, and the script exits 1.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

from mutants import Mutant, mutants, write_mutant

from grader.assign.starter import built_modules
from grader.course import load_course
from grader.layout import Layout


def score(engine: Path, mutant: Mutant, python: str) -> float:
    """The mutant's score under the grader and tests of `engine`."""
    with tempfile.TemporaryDirectory(prefix="mutant-") as tmp:
        write_mutant(mutant, Path(tmp))
        out = Path(tmp) / "result.json"
        command = [python, "-m", "grader", "grade", "--module", mutant.module.key]
        command += ["--submission", tmp, "--json", str(out)]
        subprocess.run(command, cwd=engine, capture_output=True, text=True, timeout=900)
        return json.loads(out.read_text())["score"] if out.is_file() else -1.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--old-tree", type=Path, help="an older checkout to compare with")
    parser.add_argument("--per-module", type=int, default=20)
    parser.add_argument("--module", nargs="*", help="module numbers (default: all built)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    layout = Layout()
    course = load_course(layout.manifest)
    chosen = built_modules(layout, course)
    if args.module:
        chosen = [course.module(key) for key in args.module]
    regressions, caught, total = [], 0, 0
    for module in chosen:
        pool = mutants(layout, module)
        sample = random.Random(args.seed).sample(pool, min(args.per_module, len(pool)))
        for mutant in sample:
            new = score(layout.root, mutant, sys.executable)
            total += 1
            if new < module.points:
                caught += 1
                print(f"caught   {new:6.2f}  {mutant.describe()}", flush=True)
                continue
            old = score(args.old_tree, mutant, sys.executable) if args.old_tree else None
            verdict = "REGRESSION" if old is not None and old < module.points else "survived"
            if verdict == "REGRESSION":
                regressions.append(mutant)
            print(f"{verdict:<8} {new:6.2f}  old={old}  {mutant.describe()}", flush=True)
    print(f"\n{caught}/{total} mutants caught; {len(regressions)} caught only by the old tests")
    return 1 if regressions else 0


if __name__ == "__main__":
    sys.exit(main())
