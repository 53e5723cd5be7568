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
import dataclasses
import html
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from grader.tinymlperf.record import METRICS, TRACKS, Measurement
from grader.tinymlperf.tasks import TASKS

CSV_COLUMNS = (
    "task", "track", "rank", "tie", "student", "name", "speedup", "speedup_low",
    "speedup_high", "accuracy", "floor", "latency_ms", "baseline_ms", "measured_at",
    "remeasured", "throughput_rank", "throughput_tie", "throughput_speedup",
    "throughput_speedup_low", "throughput_speedup_high", "throughput", "baseline_throughput",
    "nats",
)  # fmt: skip


@dataclass(frozen=True)
class Entry:
    rank: int
    tie: bool
    """True when the measurement cannot separate this entry from the one above."""
    record: Measurement


def latest(records: Iterable[Measurement]) -> list[Measurement]:
    """Each student's newest record (a re-measurement replaces the first measurement)."""
    newest: dict[str, Measurement] = {}
    for record in records:
        seen = newest.get(record.student)
        if seen is None or (record.measured_at, record.remeasured) >= (
            seen.measured_at,
            seen.remeasured,
        ):
            newest[record.student] = record
    return list(newest.values())


def rank(
    records: Iterable[Measurement], metric: str = "speedup"
) -> dict[tuple[str, str], list[Entry]]:
    """The ranked entries of each (task, track) by `metric` (a key of METRICS), best first,
    ties declared; records without the metric are left out."""
    tables: dict[tuple[str, str], list[Entry]] = {(t, k): [] for t in TASKS for k in TRACKS}
    ranked = [r for r in latest(records) if r.status == "ranked" and r.interval(metric)]
    ranked.sort(key=lambda r: (-getattr(r, metric), -getattr(r, f"{metric}_low"), r.student))
    for record in ranked:
        table = tables[(record.task, record.track)]
        above = table[-1] if table else None
        tie = above is not None and overlap(record, above.record, metric)
        table.append(Entry(above.rank if tie and above else len(table) + 1, tie, record))
    return tables


def overlap(a: Measurement, b: Measurement, metric: str = "speedup") -> bool:
    """The two intervals of `metric` share a point (touching counts, as in module 19)."""
    (_, a_low, a_high), (_, b_low, b_high) = a.interval(metric), b.interval(metric)  # type: ignore[misc]
    return a_low <= b_high and b_low <= a_high


def every_table(records: Sequence[Measurement]) -> dict[str, dict[tuple[str, str], list[Entry]]]:
    """The tables of every metric."""
    return {metric: rank(records, metric) for metric in METRICS}


def is_final(tables: dict[tuple[str, str], list[Entry]], top: int) -> bool:
    """Every entry ranked `top` or better has been measured a second time."""
    return all(e.record.remeasured for e in _top(tables, top))


def all_final(records: Sequence[Measurement], top: int) -> bool:
    """The board is final: every metric's tables are."""
    return all(is_final(tables, top) for tables in every_table(records).values())


def _top(tables: dict[tuple[str, str], list[Entry]], top: int) -> list[Entry]:
    """Entries ranked `top` or better in any table (an entry tied into the top counts)."""
    return [e for entries in tables.values() for e in entries if e.rank <= top]


def finalize(
    records: Sequence[Measurement],
    top: int,
    remeasure: Callable[[Measurement], Measurement],
) -> list[Measurement]:
    """Re-measure the entries ranked `top` or better in every table (`remeasure` takes a
    record and returns a new measurement) until the board is final: an entry that a
    re-measurement lifts into the top is re-measured too. Each submission is re-measured
    once; returns the new records, marked `remeasured`."""
    fresh: list[Measurement] = []
    while not all_final(both := [*records, *fresh], top):
        waiting = {
            e.record.student: e
            for tables in every_table(both).values()
            for e in _top(tables, top)
            if not e.record.remeasured
        }
        for entry in waiting.values():
            fresh.append(dataclasses.replace(remeasure(entry.record), remeasured=True))
    return fresh


def to_csv(records: Sequence[Measurement]) -> str:
    """One row per ranked entry, in the order of the speed tables, with its throughput rank
    (empty for a record measured without a throughput)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    by_throughput = {
        e.record.student: e for entries in rank(records, "throughput_speedup").values()
        for e in entries
    }  # fmt: skip
    for (task, track), entries in rank(records).items():
        for entry in entries:
            r, wide = entry.record, by_throughput.get(entry.record.student)
            writer.writerow(
                [task, track, entry.rank, "=" if entry.tie else "", r.student, r.name or ""]
                + [_blank(getattr(r, c)) for c in CSV_COLUMNS[6:14]]
                + [r.remeasured]
                + ([wide.rank, "=" if wide.tie else ""] if wide else ["", ""])
                + [_blank(getattr(r, c)) for c in CSV_COLUMNS[17:]]
            )
    return out.getvalue()


def _blank(value: object) -> object:
    return "" if value is None else value


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


def _interval_bar(value: float, low: float, high: float, scale: float) -> str:
    """The interval as a bar on a common scale, the median as a mark."""
    left, right, mark = low / scale * 100, high / scale * 100, value / scale * 100
    return (
        f'<div class="bar" title="{low:.2f}x to {high:.2f}x">'
        f'<span style="left:{left:.1f}%;width:{max(right - left, 0.5):.1f}%"></span>'
        f'<i style="left:{mark:.1f}%"></i></div>'
    )


def _cells(entry: Entry, metric: str, scale: float) -> list[str]:
    r = entry.record
    remeasured = "yes" if r.remeasured else "no"
    if metric == "speedup":
        own = [f"{r.latency_ms:.3f} / {r.baseline_ms:.3f}", remeasured,
               _e("; ".join(r.disagreements or ()))]  # fmt: skip
    else:
        own = [f"{r.throughput:,.0f} / {r.baseline_throughput:,.0f}", remeasured]
    value, low, high = r.interval(metric)  # type: ignore[misc]
    return [
        f"{entry.rank}{' =' if entry.tie else ''}",
        _e(r.name or r.student),
        _e(r.student),
        f"{value:.2f}x",
        f"{low:.2f}-{high:.2f}x",
        _interval_bar(value, low, high, scale),
        f"{r.nats:.3f} nats/char" if r.nats is not None else f"{r.accuracy:.2%}",
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
    scale = max(e.record.interval(metric)[2] for e in entries) * 1.05  # type: ignore[index]
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


def _unranked(records: list[Measurement]) -> str:
    rows = [
        f"<tr><td>{_e(r.student)}</td><td>{_e(r.task or '')}</td>"
        f"<td>{_e(r.track or '')}</td><td>{_e(r.status)}</td>"
        f"<td>{_e(r.message.splitlines()[0] if r.message else '')}</td></tr>"
        for r in sorted(records, key=lambda r: r.student)
    ]
    if not rows:
        return ""
    return (
        '<h2 id="unranked">Not ranked</h2><table><thead><tr><th>Student</th><th>Task</th>'
        "<th>Track</th><th>Status</th><th>Why</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


def render(records: Sequence[Measurement], top: int) -> str:
    """The whole page."""
    tables = every_table(records)
    state = (
        '<span class="status final">Final</span> the top entries were measured twice.'
        if all_final(records, top)
        else f'<span class="status provisional">Provisional</span> the top {top} of each '
        "table are re-measured before the board is final."
    )
    unranked = [r for r in latest(records) if r.status != "ranked"]
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


def write_board(records: Sequence[Measurement], folder: Path, top: int) -> tuple[Path, Path]:
    """`folder/index.html` and `folder/leaderboard.csv`."""
    folder.mkdir(parents=True, exist_ok=True)
    page, table = folder / "index.html", folder / "leaderboard.csv"
    page.write_text(render(records, top), encoding="utf-8")
    table.write_text(to_csv(records), encoding="utf-8")
    return page, table
