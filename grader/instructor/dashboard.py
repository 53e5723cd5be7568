"""The class dashboard: one static HTML page, no external asset (charts inline SVG, a few
lines of inline script to sort tables), readable by teaching assistants.

It shows test names, tasks and the first line of the messages students read; never a
hidden test's source or a solution: a message holding a line of either is withheld
(grader/instructor/secrets.py), so an echo of one cannot reach the page.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from pathlib import Path

from grader.instructor import analysis, charts
from grader.instructor.classbook import ClassBook
from grader.instructor.gradebook import official_cell, official_total
from grader.instructor.secrets import Secrets
from grader.layout import Layout

TABLE_ROWS = 200

SCRIPT = """
document.querySelectorAll("table.sortable th").forEach((header) => {
  header.addEventListener("click", () => {
    const table = header.closest("table"), body = table.tBodies[0], column = header.cellIndex;
    const ascending = header.dataset.order !== "asc";
    const value = (row) => {
      const text = row.cells[column].textContent.trim(), number = Number(text);
      return text !== "" && !Number.isNaN(number) ? number : text.toLowerCase();
    };
    const rows = Array.from(body.rows).sort((a, b) => {
      const x = value(a), y = value(b);
      const order = typeof x === typeof y ? (x > y) - (x < y) : typeof x === "number" ? -1 : 1;
      return ascending ? order : -order;
    });
    table.querySelectorAll("th").forEach((other) => delete other.dataset.order);
    header.dataset.order = ascending ? "asc" : "desc";
    body.append(...rows);
  });
});
"""
STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 1100px;
       padding: 0 1rem; color: #1d2330; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2.2rem; }
table { border-collapse: collapse; width: 100%; font-size: 12.5px; }
th, td { border-bottom: 1px solid #e3e6ea; padding: 3px 6px; text-align: left; }
th { cursor: pointer; background: #f4f6f9; position: sticky; top: 0; }
th[data-order=asc]::after { content: " \\25B2"; } th[data-order=desc]::after { content: " \\25BC"; }
.note { color: #5b6472; } .problems { color: #a33; } figure { margin: 0.5rem 0; }
.scroll { max-height: 32rem; overflow: auto; }
"""


def _table(headers: Sequence[str], rows: Iterable[Sequence[object]], limit: int = 0) -> str:
    body = []
    for index, row in enumerate(rows):
        if limit and index >= limit:
            body.append(f'<tr><td colspan="{len(headers)}" class="note">(first {limit} rows '
                        "shown; the gradebook CSV files have all)</td></tr>")  # fmt: skip
            break
        body.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>")
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    return (f'<div class="scroll"><table class="sortable"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table></div>")  # fmt: skip


def _percent(value: float) -> str:
    return f"{100 * value:.0f}%"


def render(book: ClassBook, layout: Layout) -> str:
    """The whole page."""
    secrets = Secrets.of(layout)
    tests, tasks = analysis.failure_rates(book)
    accepted = sum(1 for s in book.students if s.repository)
    sections = [
        f"<h1>{html.escape(book.course.name)}: the class at a glance</h1>",
        f'<p class="note">{len(book.students)} students ({accepted} accepted), '
        f"{len(book.course.modules)} modules; built {book.now:%Y-%m-%d %H:%M} UTC from the "
        "grader repository's state/. Click a column to sort.</p>",
    ]
    if book.problems:
        items = "".join(f"<li>{html.escape(p)}</li>" for p in book.problems)
        sections.append(f'<h2>Damaged files skipped</h2><ul class="problems">{items}</ul>')
    sections += [
        "<h2>Score distribution per module</h2>",
        '<p class="note">Each student\'s newest graded push (feedback, not the official '
        "grade); boxes span the middle half, the line is the median.</p>",
        f'<figure id="scores">{charts.score_distribution(analysis.module_scores(book))}</figure>',
        "<h2>Completion against the schedule</h2>",
        '<p class="note">A module is complete from the first push with all its points.</p>',
        f'<figure id="completion">{charts.completion(analysis.timeline(book))}</figure>',
        "<h2>What the class fails most</h2>",
        f'<figure id="failures">{charts.failure_bars(tasks)}</figure>',
        "<h3>Per task</h3>",
        _table(["module", "task", "failing", "of", "rate", "message most students see"],
               ((t.module, t.name, t.failures, t.attempts, _percent(t.rate),
                 secrets.shown(t.common_message)) for t in tasks), TABLE_ROWS),
        "<h3>Per test</h3>",
        _table(["module", "test", "failing", "of", "rate", "message most students see"],
               ((t.module, t.name, t.failures, t.attempts, _percent(t.rate),
                 secrets.shown(t.common_message)) for t in tests), TABLE_ROWS),
        "<h2>Students at risk</h2>",
        f'<p class="note">Never accepted; no module newly passing (at least '
        f"{book.course.policies.prerequisite_min_score:.0%} of its points) in "
        f"{analysis.RISK_DAYS} days; fewer modules passing than due; time limits on "
        f"{analysis.TIMEOUT_PUSHES} of the last {analysis.RECENT_PUSHES} pushes.</p>",
        _table(["student", "why"], analysis.at_risk(book)),
        "<h2>Late submissions</h2>",
        _table(["student", "module", "penalty", "bank days", "note"],
               ((s, m, _percent(p), d, n) for s, m, p, d, n in analysis.late_work(book))),
        "<h2>Grading health</h2>",
        _table(["measure", "value"], analysis.health(book)),
        "<h2>Official gradebook</h2>",
        _gradebook(book),
    ]  # fmt: skip
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(book.course.name)}: dashboard</title>"
        f"<style>{STYLE}</style></head><body>{''.join(sections)}"
        f"<script>{SCRIPT}</script></body></html>\n"
    )


def _gradebook(book: ClassBook) -> str:
    modules = book.course.modules
    rows = []
    for student in book.students:
        cells = [official_cell(book, student, m) for m in modules]
        score, total = official_total(book, student)
        cells = [f"{c:g}" if isinstance(c, float) else c for c in cells]
        rows.append([student.username, *cells, f"{score:g}", f"{total:g}"])
    return _table(["student", *[m.key for m in modules], "total", "of"], rows)


def write_dashboard(book: ClassBook, layout: Layout, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(book, layout), encoding="utf-8")
    return path
