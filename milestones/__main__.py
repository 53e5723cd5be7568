"""`python -m milestones NN [--submission DIR] [-- script arguments]`: run a milestone.

Arguments after `--` go to the milestone's script (`-- --help` lists them).

python -m milestones --list
python -m milestones 01                          # on your code in assignments/
python -m milestones 03 -- --dataset fashion-mnist
python -m milestones 03 --submission solutions   # instructors: the reference code
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

if "OMP_NUM_THREADS" not in os.environ:  # before anything loads NumPy (see runner.py)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from grader.course import load_course  # noqa: E402
from grader.layout import Layout  # noqa: E402
from grader.milestone_index import MilestoneError, discover, needed_modules  # noqa: E402
from milestones.runner import run  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m milestones",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("milestone", nargs="?", help="its number, like 01")
    parser.add_argument("--submission", help="folder of NN_slug/ modules (default: assignments)")
    parser.add_argument("--list", action="store_true", help="list the milestones")
    argv = sys.argv[1:] if argv is None else argv
    split = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:split])
    script_args = argv[split + 1 :]
    layout = Layout()
    course = load_course(layout.manifest)
    milestones = discover(layout.milestones)
    if args.list or args.milestone is None:
        for key, milestone in milestones.items():
            modules = ", ".join(m.key for m in needed_modules(course, milestone))
            print(f"{key}  {milestone.title}  (modules {modules})")
        return 0
    key = args.milestone.zfill(2)[:2]
    if key not in milestones:
        print(
            f"error: no milestone {args.milestone!r}; there are {', '.join(milestones)}",
            file=sys.stderr,
        )
        return 2
    tree = Path(args.submission).resolve() if args.submission else layout.assignments
    try:
        return run(layout, course, milestones[key], tree, script_args)
    except MilestoneError as error:
        print(error, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
