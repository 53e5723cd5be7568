"""The official TinyMLPerf measurement of one submission, on the grader's side.

Nothing the student's process reports is believed. The student's module 20 runs in a
grading worker, isolated exactly as in grading; the baseline model (the same MLP in the
course's reference tinytorch) runs in a second worker, isolated the same way, that holds
none of the student's code. This process:
1. reads and checks `20_capstone/submission.json` (schema.py),
2. trains the task's baseline here (tasks.py) and calls the student's entry point,
   `build(baseline, calibration_images, training_set)`, with the baseline in the student's
   own layers; the closed track gets `training_set=None` (no labels: no retraining),
3. computes the accuracy here, from the logits the finished model returns for the
   held-out images, against labels only this process holds,
4. times both models with module 19's harness (the reference solution, imported here),
   interleaved in one job on this process's clock: each timed call sends a batch of
   held-out images, each made unique (FLIPS pixels per image changed by one step) so no
   answer can be replayed from a cache, and
   the answers of the timed calls must stay as accurate (same code path for both),
5. times both again the same way at a large batch (THROUGHPUT_BATCH images a call) for
   the throughput, images per second, and
6. returns a record: the speedup `baseline median / submission median` with the interval
   from the two medians' bootstrap intervals, the throughput of both models and its
   ratio with its interval, and any self-reported number that disagrees.

A model's size is not measured: the student's process reports its own parameters and
bytes, and could hide weights anywhere (a global, a file, a closure), so no number the
grader could read from it would be trustworthy.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from grader.check.static import check_source
from grader.course import Course, load_course
from grader.grade.sources import prerequisite_sources
from grader.layout import Layout
from grader.package import ModuleSource, build_package
from grader.remote import handles
from grader.remote.errors import GradingStop, StudentError
from grader.remote.handles import RemoteName
from grader.remote.isolation import WorkerPaths, choose, isolation_required, prepare_for_worker
from grader.remote.session import Session, StudentFile, WorkerConfig
from grader.submission import SubmissionCopies, UnsafeFileError, read_submission_file
from grader.testing.capstone import mlp_in_worker
from grader.tinymlperf import tasks
from grader.tinymlperf import text as text_task
from grader.tinymlperf.measure_text import explained, run_text
from grader.tinymlperf.reference import in_turns, reference_modules
from grader.tinymlperf.schema import SUBMISSION_FILE, SubmissionError, parse_submission
from grader.worker.wire import Op

RUNTIME = Path(__file__).resolve().parent.parent / "worker"
MODULE = 20
BATCH = 1024
"""Images per timed call (or the whole held-out set when it is smaller): large enough that
a call's fixed cost (a round trip to a worker) is small beside the model's work."""
THROUGHPUT_BATCH = 4096
"""Images per timed call for the throughput: a batch where the per-call cost no longer
matters and a model's work per image decides (rows drawn again, each made unique, when
the held-out set is smaller)."""
FLIPS = 4
"""Pixels changed per timed image: with one, the 359 digits have only 22,976 variants and a
model could answer most rows of a long measurement from a table of rows it has seen; with
four there are about 10^8 and repeats are rare."""
TIMED_ACCURACY_SLACK = 0.02
"""How far the timed calls' accuracy may fall under the held-out pass's."""
AGREEMENT = {"accuracy": 0.005}
"""How far a self-reported accuracy may be from the measured one and still agree."""


@dataclass(frozen=True)
class Settings:
    warmup: int = 3
    windows: int = 20
    min_window_seconds: float = 0.1
    seed: int = 0
    time_limit_seconds: float = 600.0


def reference_harness(root: Path | None = None) -> ModuleType:
    """Module 19's reference `benchmarking`, imported here apart from any other tinytorch
    (reference.py): trusted code only."""
    return reference_modules(root, (19,))["benchmarking"]


def _record(student: str, status: str, message: str, **fields: Any) -> dict[str, Any]:
    return {
        "student": student,
        "status": status,
        "message": message,
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        **fields,
    }


def _worker_config(
    root: Path, sources: list[ModuleSource], copies: Path, course: Course, limit: float
) -> WorkerConfig:
    stage, scratch = root / "stage", root / "scratch"
    for folder in (stage, scratch):
        folder.mkdir(parents=True)
    build_package(stage, sources)
    prepare_for_worker(stage, writable=scratch)
    policies = course.policies
    return WorkerConfig(
        paths=WorkerPaths(stage=stage, runtime=RUNTIME, scratch=scratch),
        modules=tuple(f"tinytorch.core.{s.module.slug}" for s in sources),
        student_files={
            f"tinytorch/core/{s.module.filename}": StudentFile(s.shown, 1)
            for s in sources
            if s.path.is_relative_to(copies)
        },
        isolation=choose(isolation_required()),
        time_per_test=limit,
        memory_mb=policies.memory_limit_mb,
        cpu_seconds=int(limit),
        hang_budget=limit,
    )


def _checked_logits(answer: Any, rows: int) -> np.ndarray:
    if not isinstance(answer, np.ndarray) or answer.shape != (rows, tasks.CLASSES):
        got = getattr(answer, "shape", type(answer).__name__)
        raise ValueError(
            f"the model must return logits of shape ({rows}, {tasks.CLASSES}), got {got}"
        )
    if not np.all(np.isfinite(answer)):
        raise ValueError("the model returned logits that are not finite (NaN or inf)")
    return answer


LOGITS = RemoteName("tinyworker.aids.capstone", "logits")


class _Batches:
    """Held-out batches for timed calls, each image made unique by flipping the lowest bit
    of FLIPS distinct random pixels (no answer can be replayed from a cache, and a pixel
    changes by one step, 1/255 or 1/16, at most), with the answers judged here."""

    def __init__(self, held_out: tasks.Split, seed: int, size: int | None = None) -> None:
        """Batches of `size` images; None: BATCH, or the whole set when it is smaller."""
        self.held_out, self.rng = held_out, np.random.default_rng(seed)
        self.size = size or min(BATCH, len(held_out.labels))
        self.draw = self.size > len(held_out.labels)
        self.correct = self.seen = 0

    def call(self, session: Session, model: Any) -> None:
        size, count = self.size, len(self.held_out.labels)
        if self.draw:  # a batch larger than the set: rows drawn with replacement
            rows: Any = self.rng.integers(0, count, size)
        else:
            start = int(self.rng.integers(0, count - size + 1))
            rows = slice(start, start + size)
        pixels = self.held_out.pixels[rows].copy()
        features = pixels.shape[1]
        # distinct columns: a random start plus growing offsets that stay under `features`
        steps = self.rng.integers(1, features // FLIPS + 1, (size, FLIPS))
        steps[:, 0] = self.rng.integers(0, features, size)
        pixels[np.arange(size)[:, None], np.cumsum(steps, axis=1) % features] ^= 1
        answer = session.request(Op.CALL, [LOGITS, [model, pixels, self.held_out.scale], {}])
        logits = _checked_logits(answer, size)
        self.correct += int(np.sum(logits.argmax(axis=1) == self.held_out.labels[rows]))
        self.seen += size

    @property
    def accuracy(self) -> float:
        return self.correct / self.seen if self.seen else 0.0


def _held_out_accuracy(session: Session, model: Any, held_out: tasks.Split) -> float:
    """Accuracy of the model's logits for every held-out image, in batches."""
    correct = 0
    for start in range(0, len(held_out.labels), BATCH):
        pixels = held_out.pixels[start : start + BATCH]
        answer = session.request(Op.CALL, [LOGITS, [model, pixels, held_out.scale], {}])
        logits = _checked_logits(answer, len(pixels))
        correct += int(np.sum(logits.argmax(axis=1) == held_out.labels[start : start + BATCH]))
    return correct / len(held_out.labels)


def _disagreements(
    claimed: dict[str, float], accuracy: float, low: float, high: float
) -> list[str]:
    """Self-reported numbers that the measurement does not bear out (they change nothing)."""
    found = []
    if "accuracy" in claimed and abs(claimed["accuracy"] - accuracy) > AGREEMENT["accuracy"]:
        found.append(f"self-reported accuracy {claimed['accuracy']:.4f}, measured {accuracy:.4f}")
    if "speedup" in claimed and not low <= claimed["speedup"] <= high:
        found.append(
            f"self-reported speedup {claimed['speedup']:.2f}x, measured [{low:.2f}, {high:.2f}]x"
        )
    return found


def _stage(
    layout: Layout, course: Course, submission: Path, root: Path, limit: float, text: bool
) -> tuple[WorkerConfig | None, WorkerConfig | None, str]:
    """Worker configurations: the student's module 20 with its prerequisites (and, for the
    text task, module 14's: the GPT and its KV cache), and the reference solutions of
    those prerequisites for the baseline; a problem that stops the student's code from
    running, or ""."""
    module = course.module(MODULE)
    if text:
        module = dataclasses.replace(module, prerequisites=(*module.prerequisites, 14))
    copies = SubmissionCopies(submission, root / "copies")
    shown = f"{module.dirname}/{module.filename}"
    try:
        path = copies.copy(module)
        problems = [str(p) for p in check_source(path, shown)]
    except FileNotFoundError:
        return None, None, f"{shown} is missing"
    except UnsafeFileError as error:
        return None, None, f"{shown}: {error}"
    prerequisites, _ = prerequisite_sources(layout, course, module, copies)
    sources = [*prerequisites, ModuleSource(module, path, shown)]
    student = _worker_config(root / "s", sources, copies.folder, course, limit)
    trusted = [
        ModuleSource(m, layout.module_file(layout.reference, m), m.dirname)
        for m in course.prerequisite_closure(module)
    ]
    reference = _worker_config(root / "r", trusted, copies.folder, course, limit)
    return student, reference, "; ".join(problems)


def measure(
    submission: Path,
    student: str,
    *,
    layout: Layout | None = None,
    settings: Settings = Settings(),
) -> dict[str, Any]:
    """The measurement record of the submission tree `submission` (holding `20_capstone/`).
    Never raises for the student's mistakes: they become the record's status and message."""
    layout = layout or Layout()
    course = load_course(layout.manifest)
    try:
        text = read_submission_file(
            submission, f"{course.module(MODULE).dirname}/{SUBMISSION_FILE}"
        )
        entry = parse_submission(text)
    except FileNotFoundError:
        return _record(student, "invalid", f"{SUBMISSION_FILE} is missing from 20_capstone/")
    except (SubmissionError, UnsafeFileError) as error:
        return _record(student, "invalid", str(error))
    task = tasks.TASKS[entry.task]
    fields: dict[str, Any] = {
        "name": entry.name or student,
        "task": entry.task,
        "track": entry.track,
        "floor": task.floor,
        "self_reported": entry.self_reported,
    }
    is_text = task.quality == "nats"
    try:
        if is_text:
            text_task.austen(), text_task.baseline_state(layout.root)  # trained once
        else:
            data, params = tasks.task_data(entry.task), tasks.baseline_weights(entry.task)
    except (tasks.DataUnavailableError, text_task.TextUnavailableError) as error:
        return _record(student, "failed", f"not measured: {error}", **fields)
    harness = reference_harness(layout.root)
    with tempfile.TemporaryDirectory(prefix="tinymlperf-") as tmp:
        student_config, reference_config, problem = _stage(
            layout, course, submission, Path(tmp), settings.time_limit_seconds, is_text
        )
        if problem or student_config is None or reference_config is None:
            return _record(student, "invalid", f"your module cannot run: {problem}", **fields)
        mine, theirs = (
            Session(student_config, Path(tmp) / "s"),
            Session(reference_config, Path(tmp) / "r"),
        )
        try:
            if is_text:
                for session in (mine, theirs):
                    session.begin_test(f"tinymlperf {entry.task} {entry.track}")
                return run_text(entry, harness, settings, mine, theirs, student, fields,
                                _record, layout.root)  # fmt: skip
            return _run(entry, params, data, harness, settings, mine, theirs, student, fields)
        finally:
            handles.activate(None)
            mine.close()
            theirs.close()


def _timed(harness, settings, size, held_out, theirs, reference, mine, model):  # noqa: ANN001
    """Both models timed interleaved with module 19's harness on batches of `size` unique
    held-out images (None: BATCH or the whole set); the report and the submission's
    batches (their answers judged)."""
    batches = {
        "baseline": _Batches(held_out, settings.seed + 1, size),
        "submission": _Batches(held_out, settings.seed + 2, size),
    }
    objects = {"baseline": (theirs, reference), "submission": (mine, model)}
    report = in_turns(harness, settings, batches, objects)
    return report, batches["submission"]


def _run(entry, params, data, harness, settings, mine, theirs, student, fields) -> dict[str, Any]:  # noqa: ANN001
    """Steps 2 to 5 of the module docstring, with both workers running."""
    for session in (mine, theirs):
        session.begin_test(f"tinymlperf {fields['task']} {fields['track']}")
    try:
        handles.activate(theirs)
        reference = mlp_in_worker(params)
        handles.activate(mine)
        build = RemoteName("tinytorch.core.capstone", entry.entry_point)
        training = (data.train.images, data.train.labels) if entry.track == "open" else None
        model = build(mlp_in_worker(params), data.calibration, training)
        accuracy = _held_out_accuracy(mine, model, data.held_out)
    except (StudentError, GradingStop, ValueError) as error:
        return _record(
            student,
            "invalid",
            f"your entry point {entry.entry_point} failed: {explained(error)}",
            **fields,
        )
    fields["accuracy"] = round(accuracy, 4)
    if accuracy < fields["floor"]:
        message = (
            f"accuracy {accuracy:.2%} on the held-out set is under the floor of "
            f"{fields['floor']:.0%} for {tasks.TASKS[fields['task']].title}: not ranked "
            "(the floor comes first: make the model more accurate, then faster)"
        )
        return _record(student, "under_floor", message, **fields)
    timings = {}
    for metric, size in (("latency", None), ("throughput", THROUGHPUT_BATCH)):
        try:
            timings[metric] = _timed(harness, settings, size, data.held_out, theirs, reference,
                                     mine, model)  # fmt: skip
        except (StudentError, GradingStop, ValueError) as error:
            return _record(
                student,
                "invalid",
                f"your model failed while it was timed: {explained(error)}",
                **fields,
            )
        timed = timings[metric][1].accuracy
        fields[f"{metric}_timed_accuracy"] = round(timed, 4)
        if timed < accuracy - TIMED_ACCURACY_SLACK:
            message = (
                f"the model answered worse while timed ({timed:.2%}) than on the held-out set "
                f"({accuracy:.2%}): not ranked (timed calls must run the same model)"
            )
            return _record(student, "invalid", message, **fields)
    (report, batches), (wide, wide_batches) = timings["latency"], timings["throughput"]
    base, mine_stats = report.variants["baseline"], report.variants["submission"]
    low, high = base.ci_low / mine_stats.ci_high, base.ci_high / mine_stats.ci_low
    wide_base, wide_mine = wide.variants["baseline"], wide.variants["submission"]
    size = wide_batches.size
    fields.update(
        speedup=round(base.median / mine_stats.median, 4),
        speedup_low=round(low, 4),
        speedup_high=round(high, 4),
        latency_ms=round(mine_stats.median * 1e3, 4),
        baseline_ms=round(base.median * 1e3, 4),
        batch=batches.size,
        verdict=str(report.compare("baseline", "submission")),
        throughput=round(size / wide_mine.median, 1),
        throughput_low=round(size / wide_mine.ci_high, 1),
        throughput_high=round(size / wide_mine.ci_low, 1),
        baseline_throughput=round(size / wide_base.median, 1),
        throughput_speedup=round(wide_base.median / wide_mine.median, 4),
        throughput_speedup_low=round(wide_base.ci_low / wide_mine.ci_high, 4),
        throughput_speedup_high=round(wide_base.ci_high / wide_mine.ci_low, 4),
        throughput_batch=size,
        throughput_verdict=str(wide.compare("baseline", "submission")),
        disagreements=_disagreements(fields["self_reported"], accuracy, low, high),
        machine=report.machine,
        isolation=mine.config.isolation.description,
    )
    message = (
        f"{fields['speedup']:.2f}x the baseline's speed and {fields['throughput_speedup']:.2f}x "
        f"its throughput at {accuracy:.2%} accuracy"
    )
    return _record(student, "ranked", message, **fields)
