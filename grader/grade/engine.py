"""Grade one module of one submission: stage, run, score, explain.

The stage is a fresh directory holding a `tinytorch` package (the graded module from
the submission, earlier modules from the source classroom.yml names) and the module's
visible and hidden tests. Nothing the student changed outside the module file (their
copy of the tests, the grader) takes part.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import tempfile
import time
from pathlib import Path

from grader.check.static import Problem, check_source
from grader.course import Course, ModuleSpec
from grader.grade.runner import Limits, RawOutcome, RawRun, run_suite
from grader.layout import Layout
from grader.package import HEADER_LINES, build_package
from grader.report.results import ModuleResult, TestResult

PYTEST_INI = "[pytest]\nconsole_output_style = classic\n"
TRACEBACK_LINES = 25


def _shown(path: Path, layout: Layout) -> str:
    """A path as the student knows it: relative to the repository when possible."""
    try:
        return path.resolve().relative_to(layout.root.resolve()).as_posix()
    except ValueError:
        return str(path)


def prerequisite_sources(
    layout: Layout, course: Course, module: ModuleSpec, submission: Path
) -> tuple[list[tuple[ModuleSpec, Path, str]], list[str]]:
    """Where each earlier module's code comes from, and notes saying so."""
    sources, notes = [], []
    policy = course.policies.prerequisites_from
    for earlier in course.prerequisite_closure(module):
        candidates = (
            [layout.reference, submission]
            if policy == "reference"
            else [submission, layout.reference]
        )
        candidates.append(layout.starter)
        for tree in candidates:
            path = layout.module_file(tree, earlier)
            if path.is_file():
                sources.append((earlier, path, _shown(path, layout)))
                if tree != candidates[0]:
                    notes.append(
                        f"Module {earlier.dirname} came from {_shown(tree, layout)}/ "
                        f"({policy} code is not available here)."
                    )
                break
        else:
            notes.append(
                f"Module {earlier.dirname} is missing everywhere; tests that need it fail."
            )
    return sources, notes


def _private(layout: Layout) -> list[Path]:
    """Directories the grading child may not write, nor student code read."""
    return [layout.root, *([layout.bundle] if layout.bundle else [])]


def _stage(
    root: Path,
    layout: Layout,
    module: ModuleSpec,
    module_file: Path,
    shown: str,
    prerequisites: list[tuple[ModuleSpec, Path, str]],
    include_hidden: bool,
) -> Path:
    """Write the package and tests for one run under `root/stage`."""
    stage = root / "stage"
    build_package(stage, [*prerequisites, (module, module_file, shown)])
    shutil.copytree(
        layout.visible_tests(module),
        stage / "tests" / "visible",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    hidden = layout.hidden_tests_for(module)
    if include_hidden and hidden.is_dir():
        shutil.copytree(
            hidden, stage / "tests" / "hidden", ignore=shutil.ignore_patterns("__pycache__")
        )
    (stage / "pytest.ini").write_text(PYTEST_INI, encoding="utf-8")
    return stage


def _student_paths(text: str, stage: Path, names: dict[str, str]) -> str:
    """Rewrite staged paths and line numbers to the files the student edits."""
    text = text.replace(f"{stage}/", "").replace(str(stage), "")

    def replace(match: re.Match) -> str:
        shown = names.get(match.group(1), f"tinytorch/core/{match.group(1)}.py")
        return f"{shown}{match.group(2)}{int(match.group(3)) - HEADER_LINES}"

    return re.sub(r"tinytorch/core/(\w+)\.py(\", line |:)(\d+)", replace, text)


def _feedback(
    outcome: RawOutcome, hidden: bool, stage: Path, names: dict[str, str], memory_mb: int
) -> str:
    if outcome.passed:
        return ""
    text = _student_paths(outcome.message, stage, names)
    if not hidden and outcome.traceback:
        lines = _student_paths(outcome.traceback, stage, names).splitlines()
        text = "\n".join(lines[-TRACEBACK_LINES:])
    if "MemoryError" in outcome.message:
        text += (
            f"\nEach grading process may use {memory_mb} MB: look for an array far larger "
            f"than the data (mixed-up shapes, or a copy made inside a loop)."
        )
    return text


def grade_module(
    layout: Layout,
    course: Course,
    module: ModuleSpec,
    submission: Path,
    include_hidden: bool = True,
) -> ModuleResult:
    """Grade `module` in the submission tree `submission` (which holds `NN_slug/` folders)."""
    started = time.monotonic()
    module_file = layout.module_file(submission, module)
    shown = _shown(module_file, layout)
    problems = check_source(module_file, shown)
    prerequisites, notes = prerequisite_sources(layout, course, module, submission)
    names = {m.slug: s for m, _, s in prerequisites} | {module.slug: shown}
    limits = Limits(course.policies.time_limit_seconds, course.policies.memory_limit_mb)
    if include_hidden and not layout.hidden_tests_for(module).is_dir():
        notes.append(
            "Hidden tests are not available here, so only the visible tests were graded; "
            "your recorded grade also includes the hidden tests."
        )
    with tempfile.TemporaryDirectory(prefix="tinytorch-grade-") as tmp:
        if problems:
            notes += [str(p) for p in problems]
            run = RawRun()
        else:
            stage = _stage(
                Path(tmp) / "run", layout, module, module_file, shown, prerequisites, include_hidden
            )
            run = run_suite(stage, limits, private=_private(layout))
        manifest = run.manifest or []
        if problems or run.collection_errors:
            manifest = _reference_manifest(
                Path(tmp) / "reference", layout, module, prerequisites, limits, include_hidden
            )
        stage_dir = Path(tmp) / "run" / "stage"
        tests = _score(module, manifest, run, problems, stage_dir, names, limits.memory_mb)
    if run.forged:
        notes.append(
            f"The grader ignored {run.forged} result line(s) it did not write: something in "
            "the submission wrote to the grader's result channel."
        )
    if run.collection_errors and not problems:
        notes.append(
            "Some tests could not even start: "
            + _student_paths(run.collection_errors[0], stage_dir, names)[-1500:]
        )
    return ModuleResult(
        module=module.dirname,
        title=module.title,
        tests=tests,
        max_score=module.points,
        execution_time=time.monotonic() - started,
        graded_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        notes=notes,
    )


def _reference_manifest(
    root: Path,
    layout: Layout,
    module: ModuleSpec,
    prerequisites: list[tuple[ModuleSpec, Path, str]],
    limits: Limits,
    include_hidden: bool,
) -> list[dict]:
    """The full list of tests, collected against the starter (which always imports)."""
    starter_file = layout.module_file(layout.starter, module)
    stage = _stage(root, layout, module, starter_file, "starter", prerequisites, include_hidden)
    collected = run_suite(stage, limits, collect_only=True, private=_private(layout))
    if collected.manifest is None:
        raise RuntimeError(
            f"the tests of {module.dirname} do not collect against the starter:\n"
            + "\n".join(collected.collection_errors)
        )
    return collected.manifest


def _score(
    module: ModuleSpec,
    manifest: list[dict],
    run: RawRun,
    problems: list[Problem],
    stage: Path,
    names: dict[str, str],
    memory_mb: int,
) -> list[TestResult]:
    """Scale marker points to the module's points and attach feedback."""
    shares = _shares(module.points, [t["points"] for t in manifest])
    not_run = RawOutcome(False, "Not run: " + "; ".join(str(p) for p in problems), "", 0.0)
    could_not_start = RawOutcome(
        False,
        "This test could not start because its test file failed to import; "
        "see the note at the top.",
        "",
        0.0,
    )
    tests = []
    for entry, max_score in zip(manifest, shares, strict=True):
        outcome = run.outcomes.get(entry["nodeid"]) or (not_run if problems else could_not_start)
        tests.append(
            TestResult(
                nodeid=entry["nodeid"],
                task=entry["task"],
                score=max_score if outcome.passed else 0.0,
                max_score=max_score,
                passed=outcome.passed,
                feedback=_feedback(outcome, entry["hidden"], stage, names, memory_mb),
                hidden=entry["hidden"],
                duration=outcome.duration,
            )
        )
    return sorted(tests, key=lambda t: (t.task, t.hidden, t.nodeid))


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
