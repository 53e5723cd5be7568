"""One TinyMLPerf measurement record: a line of `leaderboard/records.jsonl`, typed.

`measure` (measure.py) builds a record's fields; `Measurement.from_json` checks them
before a record is written and again when the file is read back, so the leaderboard only
ever sees records with every field it reads, of the right type. A record that is not
usable raises `RecordError` naming where it came from (file and line) and the field.
`to_json` writes the same JSON object the file has always held: fields the board does not
read (the machine, the verdicts, the self-reported numbers) are kept as they came.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.tinymlperf.tasks import TASKS

TRACKS = ("closed", "open")
METRICS = {"speedup": "speed per batch", "throughput_speedup": "throughput"}
"""What a table ranks by: the ratio to the baseline's median, with `<metric>_low/_high`."""
NEEDED = {"student": str, "status": str, "message": str, "measured_at": str}
RANKED_NEEDED = {
    "task": str, "track": str, "floor": float, "speedup": float,
    "speedup_low": float, "speedup_high": float, "latency_ms": float, "baseline_ms": float,
}  # fmt: skip
THROUGHPUT_NEEDED = {
    "throughput": float, "throughput_low": float, "throughput_high": float,
    "baseline_throughput": float, "throughput_speedup": float,
    "throughput_speedup_low": float, "throughput_speedup_high": float,
}  # fmt: skip
"""All or none of them: a ranked record with any throughput field must have every one."""
OPTIONAL = {
    "task": str, "track": str, "name": str, "accuracy": float, "nats": float,
    "floor": float, "submission": str, "remeasured": bool, "disagreements": list,
}  # fmt: skip
"""Fields the board reads when a record has them: checked whenever they are there."""


class RecordError(ValueError):
    """A measurement record the board cannot use; the message names the line and field."""


@dataclass(frozen=True)
class Measurement:
    """One official measurement of one student's submission."""

    student: str
    status: str
    """ranked, under_floor, invalid or failed."""
    message: str
    measured_at: str
    """ISO 8601, UTC: a student's newest record is the one on the board."""
    task: str | None = None
    track: str | None = None
    name: str | None = None
    floor: float | None = None
    accuracy: float | None = None
    """Image tasks; the text task has `nats` (per character) instead."""
    nats: float | None = None
    speedup: float | None = None
    speedup_low: float | None = None
    speedup_high: float | None = None
    latency_ms: float | None = None
    baseline_ms: float | None = None
    throughput: float | None = None
    throughput_low: float | None = None
    throughput_high: float | None = None
    baseline_throughput: float | None = None
    throughput_speedup: float | None = None
    throughput_speedup_low: float | None = None
    throughput_speedup_high: float | None = None
    disagreements: tuple[str, ...] | None = None
    """Self-reported numbers the measurement does not bear out."""
    submission: str | None = None
    """The measured tree, so that `finalize` can measure it again."""
    remeasured: bool = False
    details: Mapping[str, Any] = field(default_factory=dict)
    """Every other field of the record (machine, verdicts, self-reported...), as written."""

    def interval(self, metric: str) -> tuple[float, float, float] | None:
        """`metric` (a key of METRICS) with its interval's ends; None when not measured."""
        value, low, high = (getattr(self, metric + end) for end in ("", "_low", "_high"))
        return None if value is None else (value, low, high)

    def to_json(self) -> dict[str, Any]:
        """The JSON object of this record, as `from_json` reads it back."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["disagreements"] = None if self.disagreements is None else list(self.disagreements)
        data["remeasured"] = self.remeasured or None
        del data["details"]
        return {**self.details, **{k: v for k, v in data.items() if v is not None}}

    @classmethod
    def from_json(cls, data: Any, where: str) -> Measurement:
        """The record `data` holds; RecordError (naming `where`) if the board cannot use it."""
        if not isinstance(data, dict):
            raise RecordError(f"{where}: a record must be a JSON object")
        needed = dict(NEEDED)
        if data.get("status") == "ranked":
            needed.update(RANKED_NEEDED)
            task = TASKS.get(data.get("task"))  # type: ignore[arg-type]
            needed[task.quality if task else "accuracy"] = float  # nats for the text task
            if any(name in data for name in THROUGHPUT_NEEDED):
                needed.update(THROUGHPUT_NEEDED)
        present = {name: kind for name, kind in {**OPTIONAL, **THROUGHPUT_NEEDED}.items()
                   if name in data}  # fmt: skip
        for name, kind in {**present, **needed}.items():
            _check(where, name, data.get(name), kind)
        if data["status"] == "ranked" and (
            data["task"] not in TASKS or data["track"] not in TRACKS
        ):
            raise RecordError(f"{where}: unknown task or track {data['task']!r}/{data['track']!r}")
        known = {f.name for f in dataclasses.fields(cls)} - {"details"}
        typed = {name: value for name, value in data.items() if name in known}
        if "disagreements" in typed:
            typed["disagreements"] = tuple(typed["disagreements"])
        details = {name: value for name, value in data.items() if name not in known}
        return cls(**typed, details=details)


def _check(where: str, name: str, value: Any, kind: type) -> None:
    expected = {float: "float", list: "list of strings"}.get(kind, kind.__name__)
    if kind is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if ok and not math.isfinite(value):
            ok, expected = False, "finite float"
    elif kind is list:
        ok = isinstance(value, list) and all(isinstance(item, str) for item in value)
    else:
        ok = isinstance(value, kind)
    if not ok:
        raise RecordError(f"{where}: field {name!r} must be a {expected}, got {value!r}")


def read_records(path: Path) -> list[Measurement]:
    """Records from a JSON-lines file (one measurement a line; blank lines skipped)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as error:
        raise RecordError(f"{path}: not UTF-8 text ({error})") from None
    records = []
    for number, line in enumerate(lines, 1):
        if line.strip():
            try:
                data = json.loads(line)
            except json.JSONDecodeError as error:
                raise RecordError(f"{path}:{number}: not JSON ({error})") from None
            records.append(Measurement.from_json(data, f"{path}:{number}"))
    return records


def append_record(path: Path, record: Measurement) -> None:
    """Add one measurement to a records file (never rewrites what is there)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(record.to_json(), sort_keys=True) + "\n")
