"""What crosses between the grader and its trusted test process, typed.

The grader writes a `SuiteConfig` (JSON) for the test process; the test process writes
one JSON line per event to the results file: the `CollectedTest`s once collection is
done, the `Isolation` the worker got, the nodeid of each test as it starts, and a
`TestOutcome` as it finishes. The grader reads the file while the tests run (`ResultsTail`)
to say how grading goes, and once more at the end (`read_records`). Both
processes are the grader's own (neither runs student code), so these records are plain
data with no signature; a run cut short still leaves every outcome written so far.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path

from grader.remote.isolation import Isolation, Level, WorkerPaths
from grader.remote.session import StudentFile, WorkerConfig


class Kind(Enum):
    """The kinds of line in the results file."""

    COLLECTED = "collected"
    COLLECTION_ERROR = "collection_error"
    ISOLATION = "isolation"
    STARTED = "started"
    OUTCOME = "outcome"


@dataclass(frozen=True)
class CollectedTest:
    """A graded test, as collected: its points and task come from its markers."""

    nodeid: str
    task: str
    points: float
    hidden: bool


@dataclass(frozen=True)
class TestOutcome:
    """How one test ended."""

    __test__ = False  # not a pytest test class

    nodeid: str
    passed: bool
    feedback: str
    """What went wrong, already safe to show the student (no hidden-test source)."""
    output: str
    """What the student's code printed during the test (capped)."""
    duration: float


@dataclass(frozen=True)
class SuiteConfig:
    """Everything the trusted test process needs."""

    tests: Path
    results: Path
    worker: WorkerConfig
    shard: int = 0
    shards: int = 1
    """This process runs every `shards`-th test, starting at `shard`."""

    def to_json(self) -> str:
        worker = self.worker
        data = {
            "tests": str(self.tests),
            "results": str(self.results),
            "shard": [self.shard, self.shards],
            "worker": {
                "paths": {k: str(v) for k, v in asdict(worker.paths).items()},
                "modules": list(worker.modules),
                "student_files": {k: asdict(v) for k, v in worker.student_files.items()},
                "isolation": [worker.isolation.level.value, worker.isolation.description],
                "time_per_test": worker.time_per_test,
                "memory_mb": worker.memory_mb,
                "cpu_seconds": worker.cpu_seconds,
                "hang_budget": worker.hang_budget,
            },
        }
        return json.dumps(data, indent=1)

    @classmethod
    def from_json(cls, text: str) -> SuiteConfig:
        data = json.loads(text)
        worker = data["worker"]
        level, description = worker["isolation"]
        return cls(
            tests=Path(data["tests"]),
            results=Path(data["results"]),
            shard=data["shard"][0],
            shards=data["shard"][1],
            worker=WorkerConfig(
                paths=WorkerPaths(**{k: Path(v) for k, v in worker["paths"].items()}),
                modules=tuple(worker["modules"]),
                student_files={k: StudentFile(**v) for k, v in worker["student_files"].items()},
                isolation=Isolation(Level(level), description),
                time_per_test=worker["time_per_test"],
                memory_mb=worker["memory_mb"],
                cpu_seconds=worker["cpu_seconds"],
                hang_budget=worker["hang_budget"],
            ),
        )


def record(kind: Kind, payload: object) -> str:
    """One line of the results file."""
    if isinstance(payload, str):
        body: object = payload
    elif isinstance(payload, list):
        body = [asdict(p) for p in payload]
    else:
        body = asdict(payload)
    if isinstance(payload, Isolation):
        body = {"level": payload.level.value, "description": payload.description}
    return json.dumps({"kind": kind.value, "payload": body}) + "\n"


@dataclass
class SuiteRecords:
    """What the test processes of one module wrote."""

    collected: list[CollectedTest] | None = None
    isolation: Isolation | None = None
    outcomes: dict[str, TestOutcome] = field(default_factory=dict)
    collection_errors: list[str] = field(default_factory=list)


def read_records(paths: list[Path]) -> SuiteRecords:
    """Parse the results files (one per shard); a missing file or a cut last line loses
    nothing written before it."""
    records = SuiteRecords()
    lines = []
    for path in paths:
        try:
            lines += path.read_text(encoding="utf-8").splitlines()
        except OSError:
            continue
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # the last line of a process that was killed mid-write
        kind, payload = Kind(entry["kind"]), entry["payload"]
        if kind is Kind.STARTED:
            continue
        if kind is Kind.COLLECTED:
            records.collected = [CollectedTest(**p) for p in payload]
        elif kind is Kind.COLLECTION_ERROR:
            records.collection_errors.append(str(payload))
        elif kind is Kind.ISOLATION:
            records.isolation = Isolation(Level(payload["level"]), payload["description"])
        else:
            outcome = TestOutcome(**payload)
            records.outcomes[outcome.nodeid] = outcome
    return records


class ResultsTail:
    """The lines the test processes have written since the last look, as they run: for
    saying which test runs now and which have finished (a line cut mid-write waits for
    its end)."""

    def __init__(self, paths: list[Path]) -> None:
        self.paths = paths
        self.offsets = [0] * len(paths)
        self.partial = [b""] * len(paths)

    def new_entries(self) -> list[tuple[Kind, object]]:
        entries: list[tuple[Kind, object]] = []
        for index, path in enumerate(self.paths):
            try:
                with open(path, "rb") as stream:
                    stream.seek(self.offsets[index])
                    data = stream.read()
            except OSError:
                continue  # not written yet
            self.offsets[index] += len(data)
            *lines, self.partial[index] = (self.partial[index] + data).split(b"\n")
            for line in lines:
                try:
                    entry = json.loads(line)
                    entries.append((Kind(entry["kind"]), entry["payload"]))
                except (ValueError, KeyError, TypeError):
                    continue
        return entries
