"""Check that the modules a milestone needs are complete, and run it.

What a milestone is, and which modules it needs, is read by `grader/milestone_index.py`.

Before a run, every module needed is checked in the submission tree (`assignments/` by
default): its file must exist and must not raise a task's `NotImplementedError` stub
(found by reading the code, not by running it). The script then runs against a `tinytorch`
package built from that tree into a temporary folder, so it always uses the code as it is
now, and the repository's `tinytorch/` is left alone.

`python -m milestones` runs BLAS single-threaded unless `OPENBLAS_NUM_THREADS` (or
`OMP_NUM_THREADS`) says otherwise: on a busy 2-core machine two BLAS threads made the
MLP's matrix products 8 to 50 times slower (measured). On a quiet machine the CNNs of
milestone 04 gain from two threads (see its README): set OPENBLAS_NUM_THREADS=2.
"""

from __future__ import annotations

import runpy
import sys
import tempfile
from pathlib import Path

from grader.assign.regions import open_tasks
from grader.course import Course
from grader.layout import Layout
from grader.milestone_index import Milestone, MilestoneError, needed_modules
from grader.package import ModuleSource, build_package
from milestones.datasets.fetch import DataUnavailableError
from milestones.datasets.idx import IdxFormatError


def check_ready(course: Course, milestone: Milestone, tree: Path, shown: str) -> None:
    """Raise MilestoneError listing every needed module that is missing or unfinished."""
    lines = []
    for module in needed_modules(course, milestone):
        todo = open_tasks(tree / module.dirname / module.filename)
        if todo:
            lines.append(f"  {module.dirname}: " + "; ".join(todo))
    if lines:
        modules = ", ".join(m.key for m in needed_modules(course, milestone))
        raise MilestoneError(
            f"Milestone {milestone.key} ({milestone.title}) needs modules {modules}, "
            f"complete, in {shown}/. Not done yet:\n"
            + "\n".join(lines)
            + "\nFinish them (check each with `make grade MODULE=NN`; a missing module "
            "arrives with `make unlock` once it is released), then run the milestone again."
        )


def run(layout: Layout, course: Course, milestone: Milestone, tree: Path, args: list[str]) -> int:
    """Check, build a temporary package from `tree`, and run the milestone's script."""
    shown = _shown(tree, layout)
    check_ready(course, milestone, tree, shown)
    modules = needed_modules(course, milestone)
    with tempfile.TemporaryDirectory(prefix="tinytorch-milestone-") as stage:
        build_package(Path(stage), [ModuleSource.in_tree(m, tree, shown) for m in modules])
        print(f"Milestone {milestone.key}: {milestone.title} (tinytorch from {shown}/)", flush=True)
        saved_path, saved_argv = list(sys.path), list(sys.argv)
        sys.path[:0] = [stage, str(layout.root)]
        sys.argv = [str(milestone.script), *args]
        try:
            runpy.run_path(str(milestone.script), run_name="__main__")
        except SystemExit as done:
            return done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
        except (DataUnavailableError, IdxFormatError) as error:  # data, not code: no traceback
            print(f"error: {error}", file=sys.stderr)
            return 1
        finally:
            sys.path[:], sys.argv = saved_path, saved_argv
            for name in [n for n in sys.modules if n == "tinytorch" or n.startswith("tinytorch.")]:
                del sys.modules[name]
    return 0


def _shown(tree: Path, layout: Layout) -> str:
    try:
        return tree.resolve().relative_to(layout.root.resolve()).as_posix()
    except ValueError:
        return str(tree)
