"""What a student reads about a graded commit: a commit status and a comment.

The comment lists each module's score and, for every failing test, its task, its name and
the grader's message: a hidden test's message never holds its source (the trusted test
process writes it so, grader/grade/plugin.py), and a hidden test's file and line are never
shown. GitHub keeps at most 65,536 characters in a comment; longer feedback is cut per
test, and the comment says so.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from grader.report.feedback import results_markdown
from grader.report.formats import points_text
from grader.report.results import ModuleResult, Totals
from grader.service.state import OfficialGrade, Stage
from grader.timestamps import format_time

COMMENT_LIMIT = 60_000
STAGE_NAMES = {Stage.ON_TIME: "on time", Stage.FINAL: "final, after the late window"}


def status_line(results: Sequence[ModuleResult]) -> tuple[str, str]:
    """(commit status state, description) for a graded commit."""
    totals = Totals.of(results)
    state = "success" if totals.all_passed and results else "failure"
    total = f"{points_text(totals.score)}/{points_text(totals.max_score)}"
    return state, f"Hidden + visible tests: {total} (feedback; official: due dates)"


def comment(
    sha: str,
    pushed_at: dt.datetime | None,
    results: Sequence[ModuleResult],
    official: Sequence[tuple[str, OfficialGrade]] = (),
) -> str:
    """The Markdown comment for one graded commit."""
    lines = [
        f"### TinyTorch grader: commit `{sha[:7]}` (pushed {_when(pushed_at)})",
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


def official_line(module: str, grade: OfficialGrade) -> str:
    """One line about an official grade, for a comment or the run's summary."""
    commit = (
        f"commit `{grade.commit[:7]}` pushed {_when(grade.pushed_at)}"
        if grade.commit
        else ("no commit pushed before the due time")
    )
    text = (
        f"- Module {module} ({STAGE_NAMES.get(grade.stage, grade.stage)}): "
        f"{points_text(grade.score)}/{points_text(grade.max_score)}, {commit}"
    )
    return text + (f". {grade.note}" if grade.note else "")


def _when(moment: dt.datetime | None) -> str:
    """A push time as students read it: `2026-09-20 03:59:59Z` (UTC)."""
    return format_time(moment).replace("T", " ") if moment else "at an unknown time"
