"""The grade verb: one entry function that owns the walk over a submission's modules.

`grade(...)` takes the isolation its caller chose (once per run: the command line, the
grader repository's batch), grades each module (grader/grade/engine.py),
applies the late policy and the integrity verdict (new, immutable results), and returns a
`GradeRun`. Several modules are graded side by side (one test process each, as many as
`shard_count()`); one module alone is split over that many processes. Which modules
count and how many points they are worth come from the trusted classroom.yml
(`modules_to_grade`): a module that is missing from the submission scores 0 of its
points; deleting it never shrinks the total. The CLI only parses and prints.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from grader.check.integrity import IntegrityReport
from grader.course import Course, ModuleSpec, not_published
from grader.grade.adjust import apply_integrity, apply_late_policy
from grader.grade.engine import grade_module
from grader.grade.suite import shard_count
from grader.layout import Layout
from grader.remote.isolation import Isolation, limit_own_memory, make_undumpable
from grader.report.live import LiveReport
from grader.report.results import ModuleResult

GRADER_MEMORY_MB = 4096
"""The grading process's own data limit (soft; its test processes and workers inherit it
and set tighter ones): what it reads from a submission is capped, and past this a grader
fault costs one module (a MemoryError), not the batch to the kernel's OOM killer."""
RUN_CAP_SECONDS = 900.0
"""After this long, modules not yet graded are reported as not graded (a CI job's budget)."""


class RequestError(ValueError):
    """The command asks for something this repository cannot do (said in one sentence)."""


@dataclass(frozen=True)
class GradeRun:
    """Everything one grading run produced."""

    results: tuple[ModuleResult, ...]
    preamble: tuple[str, ...]
    """Run-wide messages (hidden tests missing, integrity, modules not counted)."""
    flagged: bool
    """The integrity check found protected files changed."""
    isolation: Isolation


def modules_to_grade(
    course: Course, layout: Layout, keys: list[str], today: dt.date
) -> tuple[list[ModuleSpec], list[str]]:
    """The modules a run grades, and notes on released modules that cannot be graded.

    `all` means every module released by `today` in the trusted classroom.yml whose tests
    this course has: never "whatever folders the submission holds".
    """
    if keys != ["all"]:
        modules = [course.module(key) for key in keys]
        for module in modules:
            if not layout.visible_tests(module).is_dir():
                raise RequestError(f"{not_published(module)}. `tito status` shows what is open")
        return modules, []
    released = [m for m in course.modules if m.release <= today]
    ready = [m for m in released if layout.visible_tests(m).is_dir()]
    notes = [f"{not_published(m)}." for m in released if m not in ready]
    return ready, notes


def grade(
    *,
    layout: Layout,
    course: Course,
    modules: list[ModuleSpec],
    submission: Path,
    isolation: Isolation,
    include_hidden: bool = True,
    pushed_at: dt.datetime | None = None,
    integrity: IntegrityReport | None = None,
    notes: tuple[str, ...] = (),
    on_result: Callable[[ModuleResult], None] | None = None,
    progress: LiveReport | None = None,
) -> GradeRun:
    """Grade `modules` of the submission tree `submission` (it holds `NN_slug/` folders);
    `on_result` hears each module's result, `progress` each test as it runs."""
    make_undumpable()
    limit_own_memory("RLIMIT_DATA", max(GRADER_MEMORY_MB, course.policies.memory_limit_mb))
    started = time.monotonic()

    def one(module: ModuleSpec) -> ModuleResult:
        if time.monotonic() - started > RUN_CAP_SECONDS:
            return _not_graded(module, f"the run's time cap of {RUN_CAP_SECONDS:g} s was reached")
        shards = 1 if len(modules) > 1 else None
        try:
            result = grade_module(
                layout, course, module, submission, include_hidden, isolation, shards, progress
            )
        except Exception as error:  # a grader fault costs this module's run, not the others'
            return _not_graded(module, f"the grader failed ({type(error).__name__}: {error})")
        if pushed_at is not None:
            result = apply_late_policy(result, module, course.policies, pushed_at)
        if integrity is not None:
            result = apply_integrity(result, integrity.unrestorable)
        return result

    results = []
    with ThreadPoolExecutor(max_workers=shard_count()) as pool:
        for result in pool.map(one, modules):
            results.append(result)
            if on_result is not None:
                on_result(result)
    preamble = [*notes, isolation_note(isolation)]
    preamble += integrity.summary() if integrity else []
    return GradeRun(
        results=tuple(results),
        preamble=tuple(preamble),
        flagged=bool(integrity and integrity.flagged),
        isolation=isolation,
    )


def isolation_note(isolation: Isolation) -> str:
    """The run's note on how the student's code was walled in."""
    return f"Your code ran in a worker with {isolation.description}."


def _not_graded(module: ModuleSpec, reason: str) -> ModuleResult:
    return ModuleResult(
        module=module.dirname,
        title=module.title,
        tests=(),
        max_score=module.points,
        execution_time=0.0,
        graded_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        notes=(f"Not graded: {reason}. It scores 0 in this run; ask for a regrade.",),
    )
