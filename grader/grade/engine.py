"""Grade one module of one submission: stage, run, score.

The stage is a fresh folder. Its `stage/` holds the `tinytorch` package that the worker
sees: the graded module's file from the submission and the earlier modules from where
classroom.yml says. A file from the submission is read as data first (a regular file,
never through a link, size-capped: grader/submission.py) into the grader's own
copy, which is all that is checked, parsed and staged. Its `tests/` holds the module's
visible tests (the template's protected copy) and hidden tests, which only the trusted
test process reads. Nothing else of the submission takes part: not its copy of the
tests, not its other files.
"""

from __future__ import annotations

import datetime as dt
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory

from grader.check.static import Problem, check_source
from grader.course import Course, ModuleSpec
from grader.grade.protocol import CollectedTest, SuiteConfig, TestOutcome
from grader.grade.sources import display_path, prerequisite_sources
from grader.grade.suite import run_suite
from grader.layout import Layout
from grader.package import HEADER_LINES, ModuleSource, build_package
from grader.remote.isolation import Isolation, WorkerPaths, prepare_for_worker
from grader.remote.session import StudentFile, WorkerConfig
from grader.report.live import LiveReport
from grader.report.results import ModuleResult, TestResult
from grader.report.shorten import OUTPUT_HEADING
from grader.submission import SubmissionCopies, UnsafeFileError

RUNTIME = Path(__file__).resolve().parent.parent / "worker"
CPU_SECONDS = 600


@dataclass(frozen=True)
class Staged:
    """The folders of one grading run."""

    worker: WorkerPaths
    tests: Path
    work: Path


def _stage(
    root: Path,
    layout: Layout,
    module: ModuleSpec,
    sources: list[ModuleSource],
    include_hidden: bool,
) -> Staged:
    """Write the worker's package, the tests and the work folders under `root`."""
    stage, tests, work, scratch = (root / name for name in ("stage", "tests", "work", "scratch"))
    for folder in (stage, tests, work, scratch):
        folder.mkdir()
    build_package(stage, sources)
    shutil.copytree(
        layout.visible_tests(module),
        tests / "visible",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    hidden = layout.hidden_tests_for(module)
    if include_hidden and hidden.is_dir():
        shutil.copytree(hidden, tests / "hidden", ignore=shutil.ignore_patterns("__pycache__"))
    prepare_for_worker(stage, writable=scratch)
    return Staged(WorkerPaths(stage=stage, runtime=RUNTIME, scratch=scratch), tests, work)


def _graded_file(
    layout: Layout, module: ModuleSpec, copies: SubmissionCopies
) -> tuple[Path, str, list[Problem]]:
    """The grader's copy of the graded module's file, its name as the student knows it,
    and why it cannot run (a link, not a regular file, too large, or a static problem)."""
    shown = display_path(layout.module_file(copies.submission, module), layout, copies.submission)
    path = copies.folder / module.dirname / module.filename
    try:
        path = copies.copy(module)
    except FileNotFoundError:
        pass  # check_source says it is missing
    except UnsafeFileError as error:
        return path, shown, [Problem(shown, 0, str(error))]
    return path, shown, check_source(path, shown)


def grade_module(
    layout: Layout,
    course: Course,
    module: ModuleSpec,
    submission: Path,
    include_hidden: bool,
    isolation: Isolation,
    shards: int | None = None,
    progress: LiveReport | None = None,
) -> ModuleResult:
    """Grade `module` in the submission tree `submission` (which holds `NN_slug/` folders).

    `isolation`: what the caller chose for the whole run (this never chooses again).
    `shards`: how many test processes share the tests (default: one per core, at most 2).
    `progress` hears what runs.
    """
    started = time.monotonic()
    policies = course.policies
    with TemporaryDirectory(prefix="tinytorch-grade-") as tmp:
        copies = SubmissionCopies(submission, Path(tmp) / "submission")
        module_file, shown, problems = _graded_file(layout, module, copies)
        prerequisites, notes = prerequisite_sources(layout, course, module, copies)
        sources = [*prerequisites, ModuleSource(module, module_file, shown)]
        staged = _stage(Path(tmp), layout, module, sources if not problems else [], include_hidden)
        student_files = {
            f"tinytorch/core/{s.module.filename}": StudentFile(s.shown, HEADER_LINES)
            for s in sources
            if s.path.is_relative_to(copies.folder)
        }
        config = SuiteConfig(
            tests=staged.tests,
            results=staged.work / "results.jsonl",
            worker=WorkerConfig(
                paths=staged.worker,
                modules=tuple(f"tinytorch.core.{s.module.slug}" for s in sources),
                student_files=student_files,
                isolation=isolation,
                time_per_test=policies.time_limit_seconds,
                memory_mb=policies.memory_limit_mb,
                cpu_seconds=CPU_SECONDS,
                hang_budget=policies.hang_budget_seconds,
            ),
        )
        watch = progress.module(module.dirname, policies.time_limit_seconds) if progress else None
        run = run_suite(config, collect_only=bool(problems), shards=shards, progress=watch)
    notes += [str(p) for p in problems]
    if run.records.collection_errors or run.records.collected is None:
        errors = [_collection_error(text, module) for text in run.records.collection_errors]
        problem = "\n".join(errors) or run.problem
        return _not_graded(module, run.records.collected or [], notes, problem, started)
    if problems:
        stop = "Not run: " + "; ".join(str(p) for p in problems)
    else:
        stop = f"Not run: {run.problem or 'the grader stopped before this test'}."
    tests = _score(
        module, run.records.collected, run.records.outcomes, stop, policies.memory_limit_mb
    )
    visible_only = not any(t.hidden for t in tests)
    return ModuleResult(
        module=module.dirname,
        title=module.title,
        tests=tests,
        max_score=round(sum(t.max_score for t in tests), 2) if visible_only else module.points,
        visible_only=visible_only,
        execution_time=time.monotonic() - started,
        graded_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        notes=tuple(notes),
        isolation=(run.records.isolation or isolation).description,
    )


def _collection_error(text: str, module: ModuleSpec) -> str:
    """A test file that did not load: a visible one's error in full (students have that
    file), a hidden one's name only (its error would show its source)."""
    nodeid = text.split(":", 1)[0]
    if nodeid.startswith("tests/visible/"):
        return text.replace("tests/visible/", f"assignments/{module.dirname}/tests/")
    return (
        f"{nodeid} did not load, so its tests did not run. This is a problem of the course's "
        "hidden tests, not of your code; its error is not shown because it would quote them."
    )


def _not_graded(
    module: ModuleSpec,
    collected: list[CollectedTest],
    notes: list[str],
    problem: str,
    started: float,
) -> ModuleResult:
    """The grader's own tests did not load: nothing is scored, and the note says so."""
    message = (
        "Not graded: the grader could not load this module's tests, which is a problem of "
        "the course, not of your code. Please tell your instructor."
    )
    return ModuleResult(
        module=module.dirname,
        title=module.title,
        tests=tuple(
            TestResult(t.nodeid, t.task, 0.0, 0.0, False, message, t.hidden, 0.0) for t in collected
        ),
        max_score=module.points,
        execution_time=time.monotonic() - started,
        graded_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        notes=(*notes, message, *([problem] if problem else [])),
    )


def _feedback(module: ModuleSpec, outcome: TestOutcome, memory_mb: int) -> str:
    if outcome.passed:
        return ""
    text = outcome.feedback.replace("tests/visible/", f"assignments/{module.dirname}/tests/")
    if "MemoryError" in text:
        text += (
            f"\nEach grading process may use {memory_mb} MB: look for an array far larger "
            f"than the data (mixed-up shapes, or a copy made inside a loop)."
        )
    if outcome.output.strip():
        text += f"\n\n{OUTPUT_HEADING}\n{outcome.output.rstrip()}"
    return text


def _score(
    module: ModuleSpec,
    manifest: list[CollectedTest],
    outcomes: dict[str, TestOutcome],
    stop: str,
    memory_mb: int,
) -> tuple[TestResult, ...]:
    """Scale marker points to the module's points and attach feedback. Visible tests graded
    alone keep their marker points: scaled up, they would look like the module's grade."""
    weights = [t.points for t in manifest]
    visible_only = not any(t.hidden for t in manifest)
    shares = weights if visible_only else _shares(module.points, weights)
    tests = []
    for entry, max_score in zip(manifest, shares, strict=True):
        outcome = outcomes.get(entry.nodeid) or TestOutcome(entry.nodeid, False, stop, "", 0.0)
        tests.append(
            TestResult(
                nodeid=entry.nodeid,
                task=entry.task,
                score=max_score if outcome.passed else 0.0,
                max_score=max_score,
                passed=outcome.passed,
                feedback=_feedback(module, outcome, memory_mb),
                hidden=entry.hidden,
                duration=outcome.duration,
            )
        )
    return tuple(sorted(tests, key=lambda t: (t.task, t.hidden, t.nodeid)))


def _shares(total: float, weights: list[float]) -> list[float]:
    """Split `total` in proportion to `weights`, in hundredths that add up exactly."""
    cents = round(total * 100)
    weight_sum = sum(weights) or 1.0
    exact = [cents * w / weight_sum for w in weights]
    floors = [int(x) for x in exact]
    order = sorted(range(len(exact)), key=lambda i: floors[i] - exact[i])
    for i in order[: cents - sum(floors)]:
        floors[i] += 1
    return [f / 100 for f in floors]
