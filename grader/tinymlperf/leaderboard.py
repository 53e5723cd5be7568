"""The TinyMLPerf leaderboard, built only from the grader's measurement records
(measure.py): a static HTML page (no script, no external asset) and a CSV.

- Two tables per task and track: one ranked by the measured speedup over the baseline
  (time per batch of 1,024 images), one by the throughput ratio (images per second at a
  large batch), both measured by the grader; a self-reported number never enters.
  A record without a throughput (measured before it was) appears in the first only.
- Each entry shows its interval; an entry whose interval overlaps the interval of the
  entry ranked just above it shares that entry's rank (a tie, marked "="): the
  measurement cannot tell them apart.
- Entries under the floor, broken or unmeasured are listed apart, without a rank.
- The board is provisional until the top entries of every table have been measured a
  second time (`finalize`): then the second measurement stands and the board says final.

A model's size is not on the board: it could only come from the student's process,
which can keep weights out of sight (a global, a file, a closure), so no size the grader
reads from it can be trusted; speed and throughput are timed from outside.
"""

from __future__ import annotations

import csv
import html
import io
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.tinymlperf.tasks import TASKS

TRACKS = ("closed", "open")
METRICS = {"speedup": "speed per batch", "throughput_speedup": "throughput"}
"""What a table ranks by: the ratio to the baseline's median, with `<metric>_low/_high`."""
CSV_COLUMNS = (
    "task", "track", "rank", "tie", "student", "name", "speedup", "speedup_low",
    "speedup_high", "accuracy", "floor", "latency_ms", "baseline_ms", "measured_at",
    "remeasured", "throughput_rank", "throughput_tie", "throughput_speedup",
    "throughput_speedup_low", "throughput_speedup_high", "throughput", "baseline_throughput",
    "nats",
)  # fmt: skip
NEEDED = {
    "student": str, "status": str, "message": str, "measured_at": str,
}  # fmt: skip
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


class RecordError(ValueError):
    """A measurement record the board cannot use; the message names the line and field."""


def check_record(record: Any, where: str) -> dict[str, Any]:
    """`record` if it has every field the board reads, with the right types."""
    if not isinstance(record, dict):
        raise RecordError(f"{where}: a record must be a JSON object")
    needed = dict(NEEDED)
    if record.get("status") == "ranked":
        needed.update(RANKED_NEEDED)
        task = TASKS.get(record.get("task"))  # type: ignore[arg-type]
        needed[task.quality if task else "accuracy"] = float  # nats for the text task
        if any(name in record for name in THROUGHPUT_NEEDED):
            needed.update(THROUGHPUT_NEEDED)
    for name, kind in needed.items():
        value = record.get(name)
        ok = (
            isinstance(value, int | float) and not isinstance(value, bool)
            if kind is float
            else isinstance(value, kind)
        )
        if not ok:
            raise RecordError(f"{where}: field {name!r} must be a {kind.__name__}, got {value!r}")
    if record["status"] == "ranked" and (
        record["task"] not in TASKS or record["track"] not in TRACKS
    ):
        raise RecordError(f"{where}: unknown task or track {record['task']!r}/{record['track']!r}")
    return record


def read_records(path: Path) -> list[dict[str, Any]]:
    """Records from a JSON-lines file (one measurement a line; blank lines skipped)."""
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise RecordError(f"{path}:{number}: not JSON ({error})") from None
            records.append(check_record(record, f"{path}:{number}"))
    return records


def append_record(path: Path, record: dict[str, Any]) -> None:
    """Add one measurement to a records file (never rewrites what is there)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(check_record(record, "new record"), sort_keys=True) + "\n")


@dataclass(frozen=True)
class Entry:
    rank: int
    tie: bool
    """True when the measurement cannot separate this entry from the one above."""
    record: dict[str, Any]


def latest(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each student's newest record (a re-measurement replaces the first measurement)."""
    newest: dict[str, dict[str, Any]] = {}
    for record in records:
        seen = newest.get(record["student"])
        if seen is None or (record["measured_at"], record.get("remeasured", False)) >= (
            seen["measured_at"],
            seen.get("remeasured", False),
        ):
            newest[record["student"]] = record
    return list(newest.values())


def rank(
    records: Iterable[dict[str, Any]], metric: str = "speedup"
) -> dict[tuple[str, str], list[Entry]]:
    """The ranked entries of each (task, track) by `metric` (a key of METRICS), best first,
    ties declared; records without the metric are left out."""
    tables: dict[tuple[str, str], list[Entry]] = {(t, k): [] for t in TASKS for k in TRACKS}
    ranked = [r for r in latest(records) if r["status"] == "ranked" and metric in r]
    ranked.sort(key=lambda r: (-r[metric], -r[f"{metric}_low"], r["student"]))
    for record in ranked:
        table = tables[(record["task"], record["track"])]
        above = table[-1] if table else None
        tie = above is not None and overlap(record, above.record, metric)
        table.append(Entry(above.rank if tie and above else len(table) + 1, tie, record))
    return tables


def overlap(a: dict[str, Any], b: dict[str, Any], metric: str = "speedup") -> bool:
    """The two intervals of `metric` share a point (touching counts, as in module 19)."""
    low, high = f"{metric}_low", f"{metric}_high"
    return a[low] <= b[high] and b[low] <= a[high]


def every_table(records: Sequence[dict[str, Any]]) -> dict[str, dict[tuple[str, str], list[Entry]]]:
    """The tables of every metric."""
    return {metric: rank(records, metric) for metric in METRICS}


def is_final(tables: dict[tuple[str, str], list[Entry]], top: int) -> bool:
    """Every entry ranked `top` or better has been measured a second time."""
    return all(e.record.get("remeasured") for e in _top(tables, top))


def all_final(records: Sequence[dict[str, Any]], top: int) -> bool:
    """The board is final: every metric's tables are."""
    return all(is_final(tables, top) for tables in every_table(records).values())


def _top(tables: dict[tuple[str, str], list[Entry]], top: int) -> list[Entry]:
    """Entries ranked `top` or better in any table (an entry tied into the top counts)."""
    return [e for entries in tables.values() for e in entries if e.rank <= top]


def finalize(
    records: Sequence[dict[str, Any]],
    top: int,
    remeasure: Callable[[dict[str, Any]], dict[str, Any]],
) -> list[dict[str, Any]]:
    """Re-measure the entries ranked `top` or better in every table (`remeasure` takes a
    record and returns a new measurement) until the board is final: an entry that a
    re-measurement lifts into the top is re-measured too. Each submission is re-measured
    once; returns the new records, marked `remeasured`."""
    fresh: list[dict[str, Any]] = []
    while not all_final(both := [*records, *fresh], top):
        waiting = {
            e.record["student"]: e
            for tables in every_table(both).values()
            for e in _top(tables, top)
            if not e.record.get("remeasured")
        }
        for entry in waiting.values():
            again = dict(remeasure(entry.record), remeasured=True)
            fresh.append(check_record(again, f"re-measurement of {entry.record['student']}"))
    return fresh


def to_csv(records: Sequence[dict[str, Any]]) -> str:
    """One row per ranked entry, in the order of the speed tables, with its throughput rank
    (empty for a record measured without a throughput)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    by_throughput = {
        e.record["student"]: e for entries in rank(records, "throughput_speedup").values()
        for e in entries
    }  # fmt: skip
    for (task, track), entries in rank(records).items():
        for entry in entries:
            r, wide = entry.record, by_throughput.get(entry.record["student"])
            writer.writerow(
                [task, track, entry.rank, "=" if entry.tie else "", r["student"], r.get("name", "")]
                + [r.get(c, "") for c in CSV_COLUMNS[6:14]]
                + [bool(r.get("remeasured"))]
                + ([wide.rank, "=" if wide.tie else ""] if wide else ["", ""])
                + [r.get(c, "") for c in CSV_COLUMNS[17:]]
            )
    return out.getvalue()


STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 70em; color: #222; }
h1 { margin-bottom: 0.2em; } h2 { margin-top: 1.6em; }
.status { display: inline-block; padding: 0.2em 0.6em; border-radius: 4px; font-weight: 600; }
.final { background: #d8f0dc; } .provisional { background: #fbecc8; }
table { border-collapse: collapse; width: 100%; margin: 0.5em 0; }
th, td { border-bottom: 1px solid #ddd; padding: 0.3em 0.6em; text-align: left; }
.bar { position: relative; height: 0.8em; background: #eef; min-width: 12em; }
.bar span { position: absolute; top: 0; bottom: 0; background: #557; }
.bar i { position: absolute; top: -0.2em; bottom: -0.2em; width: 2px; background: #c33; }
.note { color: #555; }
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _interval_bar(record: dict[str, Any], scale: float, metric: str) -> str:
    """The interval as a bar on a common scale, the median as a mark."""
    low, high = record[f"{metric}_low"], record[f"{metric}_high"]
    left, right, mark = low / scale * 100, high / scale * 100, record[metric] / scale * 100
    return (
        f'<div class="bar" title="{low:.2f}x to {high:.2f}x">'
        f'<span style="left:{left:.1f}%;width:{max(right - left, 0.5):.1f}%"></span>'
        f'<i style="left:{mark:.1f}%"></i></div>'
    )


def _cells(entry: Entry, metric: str, scale: float) -> list[str]:
    r = entry.record
    remeasured = "yes" if r.get("remeasured") else "no"
    if metric == "speedup":
        own = [f"{r['latency_ms']:.3f} / {r['baseline_ms']:.3f}", remeasured,
               _e("; ".join(r.get("disagreements", [])))]  # fmt: skip
    else:
        own = [f"{r['throughput']:,.0f} / {r['baseline_throughput']:,.0f}", remeasured]
    return [
        f"{entry.rank}{' =' if entry.tie else ''}",
        _e(r.get("name") or r["student"]),
        _e(r["student"]),
        f"{r[metric]:.2f}x",
        f"{r[metric + '_low']:.2f}-{r[metric + '_high']:.2f}x",
        _interval_bar(r, scale, metric),
        f"{r['nats']:.3f} nats/char" if "nats" in r else f"{r['accuracy']:.2%}",
        *own,
    ]


HEADERS = {
    "speedup": ("Rank", "Submission", "Student", "Speedup", "95% interval", "", "Quality",
                "ms per batch of images or per character (yours / baseline)", "Re-measured",
                "Self-reported numbers the measurement does not bear out"),
    "throughput_speedup": ("Rank", "Submission", "Student", "Throughput ratio", "95% interval",
                           "", "Quality", "images per second (yours / baseline)",
                           "Re-measured"),
}  # fmt: skip


def _table(task: str, track: str, metric: str, entries: list[Entry]) -> str:
    head = f'<h3 id="{task}-{track}-{metric}">Ranked by {METRICS[metric]}</h3>'
    if metric == "speedup":
        head = (
            f'<h2 id="{task}-{track}">{_e(TASKS[task].title)}, {track} track</h2>'
            f'<p class="note">Floor: {_e(TASKS[task].floor_text())}.</p>' + head
        )
    if not entries:
        return head + '<p class="note">No ranked submission yet.</p>'
    scale = max(e.record[f"{metric}_high"] for e in entries) * 1.05
    rows = [
        "<tr>" + "".join(f"<td>{cell}</td>" for cell in _cells(entry, metric, scale)) + "</tr>"
        for entry in entries
    ]
    return (
        head
        + "<table><thead><tr>"
        + "".join(f"<th>{h}</th>" for h in HEADERS[metric])
        + "</tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


def _unranked(records: list[dict[str, Any]]) -> str:
    rows = [
        f"<tr><td>{_e(r['student'])}</td><td>{_e(r.get('task', ''))}</td>"
        f"<td>{_e(r.get('track', ''))}</td><td>{_e(r['status'])}</td>"
        f"<td>{_e(r['message'].splitlines()[0] if r['message'] else '')}</td></tr>"
        for r in sorted(records, key=lambda r: r["student"])
    ]
    if not rows:
        return ""
    return (
        '<h2 id="unranked">Not ranked</h2><table><thead><tr><th>Student</th><th>Task</th>'
        "<th>Track</th><th>Status</th><th>Why</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


def render(records: Sequence[dict[str, Any]], top: int) -> str:
    """The whole page."""
    tables = every_table(records)
    state = (
        '<span class="status final">Final</span> the top entries were measured twice.'
        if all_final(records, top)
        else f'<span class="status provisional">Provisional</span> the top {top} of each '
        "table are re-measured before the board is final."
    )
    unranked = [r for r in latest(records) if r["status"] != "ranked"]
    body = "".join(
        _table(task, track, metric, tables[metric][(task, track)])
        for task in TASKS
        for track in TRACKS
        for metric in METRICS
        if metric == "speedup" or TASKS[task].quality == "accuracy"  # throughput: images only
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        "<title>TinyMLPerf leaderboard</title><style>" + STYLE + "</style></head><body>"
        "<h1>TinyMLPerf leaderboard</h1>"
        f'<p>{state}</p><p class="note">Speedup: the baseline\'s median time per batch over '
        "yours; throughput ratio: your images per second over the baseline's at a large "
        "batch; both measured by the grader in one job, interleaved. Entries whose intervals "
        "overlap the entry above share its rank (=): the measurement cannot tell them apart. "
        "Numbers a submission reports about itself are not used. Size is not ranked: only "
        "the submission's own process could report it.</p>"
        + body
        + _unranked(unranked)
        + "</body></html>"
    )


def write_board(records: Sequence[dict[str, Any]], folder: Path, top: int) -> tuple[Path, Path]:
    """`folder/index.html` and `folder/leaderboard.csv`."""
    folder.mkdir(parents=True, exist_ok=True)
    page, table = folder / "index.html", folder / "leaderboard.csv"
    page.write_text(render(records, top), encoding="utf-8")
    table.write_text(to_csv(records), encoding="utf-8")
    return page, table
