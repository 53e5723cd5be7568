"""Feedback on graded modules in Markdown: the score table, what failed, the notes.

One builder for every place a student reads it: the feedback comment of the grader
repository (grader/service/feedback.py) and the Release text Classroom 50 shows
(grader/classroom50/result.py). Failures of one task that end in the same error are
grouped, so a stub that fails ten tests is one entry; notes are Markdown-escaped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from grader.report.formats import markdown_text, points_text
from grader.report.results import ModuleResult, TestResult
from grader.report.shorten import shorten_feedback

MESSAGE_TRACEBACK_LINES = 12  # per failing task in the comment; the error line always shows
MESSAGE_LINES = 16
ERROR_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b.*")
"""The line that names the exception (`NotImplementedError: Task 01.2 ...`)."""


def results_markdown(results: Sequence[ModuleResult]) -> list[str]:
    """Markdown lines: a table of each module's score, what failed, the modules' notes."""
    lines = ["| Module | Score | Tests passed |", "|---|---:|---:|"]
    for result in results:
        lines.append(
            f"| {result.module} {result.title} | {points_text(result.score)}/"
            f"{points_text(result.max_score)} | {result.passed_count}/{len(result.tests)} |"
        )
    lines += failure_details(results)
    notes = [note for result in results for note in result.notes]
    return lines + (["", *[f"- {markdown_text(note)}" for note in notes]] if notes else [])


def failure_details(results: Sequence[ModuleResult]) -> list[str]:
    """Markdown lines: every failing task with its tests and the first one's message
    (none when everything passed)."""
    failures = [(r, t) for r in results for t in r.tests if not t.passed]
    if not failures:
        return []
    lines = ["", f"<details><summary>What failed ({len(failures)})</summary>", ""]
    for (module, task, _), tests in _grouped(failures).items():
        names = ", ".join(f"`{t.name}` ({'hidden' if t.hidden else 'visible'})" for t in tests)
        message = tests[0].feedback.strip() or "failed"
        message = shorten_feedback(message, MESSAGE_TRACEBACK_LINES, MESSAGE_LINES)
        lines += [
            f"**{module}, task {task}**: {names}",
            "```text",
            message.replace("```", "'''"),
            "```",
        ]
    return [*lines, "</details>"]


def _grouped(
    failures: list[tuple[ModuleResult, TestResult]],
) -> dict[tuple[str, str, str], list[TestResult]]:
    """Failures of one task that end in the same error, together (a stub fails them all
    alike); the first one's full message stands for the group."""
    groups: dict[tuple[str, str, str], list[TestResult]] = {}
    for result, test in failures:
        lines = test.feedback.strip().splitlines() or [""]
        errors = [line for line in lines if ERROR_LINE.match(line)]
        key = (result.module, test.task, (errors or lines)[-1])
        groups.setdefault(key, []).append(test)
    return groups
