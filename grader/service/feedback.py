"""What a student reads about a graded commit: a commit status and a comment.

The comment lists each module's score and, for every failing test, its task, its name and
the grader's message: a hidden test's message never holds its source (the trusted test
process writes it so, grader/grade/plugin.py), and a hidden test's file and line are never
shown. GitHub keeps at most 65,536 characters in a comment; longer feedback is cut per
test, and the comment says so.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from grader.report.formats import markdown_text, points_text
from grader.report.results import ModuleResult, TestResult
from grader.report.shorten import shorten_feedback
from grader.service.state import OfficialGrade

COMMENT_LIMIT = 60_000
MESSAGE_TRACEBACK_LINES = 12  # per failing task in the comment; the error line always shows
MESSAGE_LINES = 16
ERROR_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b.*")
"""The line that names the exception (`NotImplementedError: Task 01.2 ...`)."""
STAGE_NAMES = {"on_time": "on time", "final": "final, after the late window"}


def status_line(results: Sequence[ModuleResult]) -> tuple[str, str]:
    """(commit status state, description) for a graded commit."""
    score = sum(r.score for r in results)
    top = sum(r.max_score for r in results)
    passed = all(t.passed for r in results for t in r.tests)
    state = "success" if passed and results else "failure"
    total = f"{points_text(score)}/{points_text(top)}"
    return state, f"Hidden + visible tests: {total} (feedback; official: due dates)"


def comment(
    sha: str,
    pushed_at: str,
    results: Sequence[ModuleResult],
    official: Sequence[tuple[str, OfficialGrade]] = (),
) -> str:
    """The Markdown comment for one graded commit."""
    lines = [
        f"### TinyTorch grader: commit `{sha[:7]}` (pushed {pushed_at.replace('T', ' ')})",
        "",
        "Your modules were graded with the visible **and the hidden tests**. This is feedback "
        "on this push; each module's official grade is taken from the last commit you pushed "
        "before its due time.",
        "",
        *results_markdown(results),
    ]
    if official:
        lines += ["", "**Official grades recorded in this run**", ""]
        lines += [official_line(module, grade) for module, grade in official]
    text = "\n".join(lines) + "\n"
    if len(text) > COMMENT_LIMIT:
        text = text[:COMMENT_LIMIT] + "\n\n(Feedback cut: it was longer than GitHub allows.)\n"
    return text


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


def official_line(module: str, grade: OfficialGrade) -> str:
    """One line about an official grade, for a comment or the run's summary."""
    commit = (
        f"commit `{grade.commit[:7]}` pushed {grade.pushed_at}"
        if grade.commit
        else ("no commit pushed before the due time")
    )
    text = (
        f"- Module {module} ({STAGE_NAMES.get(grade.stage, grade.stage)}): "
        f"{points_text(grade.score)}/{points_text(grade.max_score)}, {commit}"
    )
    return text + (f". {grade.note}" if grade.note else "")
