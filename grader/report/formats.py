"""One serializer per output format, all from `ModuleResult`.

- `to_gradescope`: Gradescope's `results.json` shape.
- `points_line` / `classroom_notices` / `classroom_result`: what GitHub Classroom reads
  (the `Points X/Y` text, the two notice annotations the current
  classroom-resources/autograding-grading-reporter emits, and its base64 runner result).
- `markdown_summary`: the Actions job summary.
- `console_table`: the per-test table printed by `make grade`.
"""

from __future__ import annotations

import base64
import json
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from grader.report.results import LocalScore, ModuleResult, TestResult, Totals
from grader.report.shorten import OUTPUT_HEADING, cap_output, shorten_feedback

HIDDEN_VISIBILITY = "after_due_date"
CONSOLE_TRACEBACK_LINES = 10
CONSOLE_MESSAGE_LINES = 12
"""In the terminal, a failure's traceback and its message are each cut to this many lines
(in the middle, with a marker); the error line is always shown."""
_MARKDOWN_SPECIAL = re.compile(
    r"([\\`*\[\]<>|~$@&{}])|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])|^([#+\-=>]|\d+[.)])"
)


def markdown_text(text: str) -> str:
    """`text` as Markdown shows it literally: every character that could open a code
    span, emphasis, a link, raw HTML, math or a mention escaped, as is what would make a
    line a heading, list or quote, and line breaks as `<br>`, so a note quoting the
    student (a syntax error's line) opens nothing of its own in a job summary or a
    comment. Paths and words (`01_tensor/tensor.py`) stay as they are."""
    return "<br>".join(_MARKDOWN_SPECIAL.sub(_escaped, line) for line in text.splitlines())


def _escaped(match: re.Match) -> str:
    found = match.group()
    if found[-1] in ".)" and found[:-1].isdigit():
        return found[:-1] + "\\" + found[-1]  # `1.` or `1)` would start a list
    return "\\" + found


def points_text(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _jsonpoints_text(value: float) -> float | int:
    """An integral total as an int (`85`, not `85.0`), as the Classroom reporter writes it."""
    rounded = round(value, 2)
    return int(rounded) if rounded == int(rounded) else rounded


def to_gradescope(result: ModuleResult) -> dict:
    """Gradescope's results.json for one module."""
    notes = "\n".join(result.notes)
    if result.late_penalty:
        notes += (
            f"\nLate penalty: -{result.late_penalty:.0%} of {points_text(result.raw_score)} points."
        )
    return {
        "score": result.score,
        "execution_time": round(result.execution_time, 3),
        "output": notes.strip(),
        "output_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "extra_data": {
            "module": result.module,
            "max_score": result.max_score,
            "raw_score": result.raw_score,
            "late_penalty": result.late_penalty,
            "graded_at": result.graded_at,
            "isolation": result.isolation,
            "visible_only": result.visible_only,
        },
        "tests": [
            {
                "name": test.name,
                "number": test.task,
                "score": test.score,
                "max_score": test.max_score,
                "status": "passed" if test.passed else "failed",
                "output": test.feedback,
                "tags": [f"task {test.task}", "hidden" if test.hidden else "visible"],
                "visibility": HIDDEN_VISIBILITY if test.hidden else "visible",
            }
            for test in result.tests
        ],
    }


def read_gradescope_score(path: Path) -> LocalScore | None:
    """The score in a results.json that `to_gradescope` wrote, or None if there is none or
    it cannot be read (the one reader of that file, next to its writer)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        extra = data["extra_data"]
        return LocalScore(
            score=float(data["score"]),
            max_score=float(extra["max_score"]),
            graded_at=str(extra.get("graded_at", "")),
            visible_only=bool(extra.get("visible_only", True)),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def points_line(results: Sequence[ModuleResult]) -> str:
    """The `Points X/Y` line GitHub Classroom reads."""
    totals = Totals.of(results)
    return f"Points {points_text(totals.score)}/{points_text(totals.max_score)}"


def classroom_notices(results: Sequence[ModuleResult]) -> list[str]:
    """The two workflow commands by which GitHub Classroom records the total."""
    run = Totals.of(results)
    totals = {
        "totalPoints": _jsonpoints_text(run.score),
        "maxPoints": _jsonpoints_text(run.max_score),
    }
    report = json.dumps(totals, separators=(",", ":"))
    return [
        f"::notice title=Autograding complete::{points_line(results)}",
        f"::notice title=Autograding report::{report}",
    ]


def classroom_result(results: Sequence[ModuleResult]) -> str:
    """Base64 runner result in the format of classroom-resources/autograding-grading-reporter."""
    tests = [
        {
            "name": f"{r.module}: {t.name}",
            "status": "pass" if t.passed else "fail",
            "score": t.score,
            "message": t.feedback[:500],
            "line_no": 0,
            "duration": round(t.duration * 1000),
        }
        for r in results
        for t in r.tests
    ]
    totals = Totals.of(results)
    payload = {
        "version": 1,
        "status": "pass" if totals.all_passed else "fail",
        "max_score": totals.max_score,
        "tests": tests,
    }
    return base64.b64encode(json.dumps(payload).encode("utf-8")).decode("ascii")


def combined_results(
    results: Sequence[ModuleResult], preamble: Sequence[str], flagged: bool
) -> dict:
    """Every module's results plus the run's totals, in one JSON document."""
    totals = Totals.of(results)
    return {
        "score": round(totals.score, 2),
        "max_score": totals.max_score,
        "points": points_line(results),
        "notes": list(preamble),
        "flagged": flagged,
        "modules": [to_gradescope(r) for r in results],
        "classroom_result": classroom_result(results),
    }


def _status(test: TestResult) -> str:
    return "PASS" if test.passed else "FAIL"


@dataclass(frozen=True)
class _Failure:
    """A failing test's feedback in its parts, and whether its error was shown before."""

    report: str
    """The traceback and message."""
    printed: str | None
    """What the code printed; None when it printed nothing."""
    error: str
    """The report without the test's own location: the same whichever test ran into it."""
    again: bool
    """The same error was shown in full before: show its error line only."""

    @property
    def error_line(self) -> str:
        return _error_line(self.error)


def _failure(feedback: str, shown: set[str]) -> _Failure:
    """Split `feedback`; an error already in `shown` (the same traceback and message under
    another test, in this run) is to be shown as one line, any other is added to it."""
    report, heading, printed = feedback.partition(f"\n\n{OUTPUT_HEADING}\n")
    error = _error_part(report)
    again = error in shown
    shown.add(error)
    return _Failure(report, printed if heading else None, error, again)


def _console_feedback(feedback: str, shown: set[str]) -> list[str]:
    """A failure for the terminal: its traceback and message each cut in the middle (the
    error line always kept), then what the code printed, capped. An error already in
    `shown` (the same traceback and message under another test) gets one line."""
    failure = _failure(feedback, shown)
    if failure.again:
        lines = [f"{failure.error_line} (as above)"]
    else:
        lines = shorten_feedback(failure.report, CONSOLE_TRACEBACK_LINES, CONSOLE_MESSAGE_LINES)
        lines = lines.splitlines()
    if failure.printed is not None:
        lines += ["", OUTPUT_HEADING, *cap_output(failure.printed).splitlines()]
    return lines


def _error_part(report: str) -> str:
    """A failure without the test's own location (its indented first lines): what the
    student's code did, the same whichever test ran into it."""
    lines = report.splitlines()
    start = next((i for i, line in enumerate(lines) if line and not line[0].isspace()), 0)
    return "\n".join(lines[start:])


def _error_line(error: str) -> str:
    """The error's first line without its hint (`NotImplementedError: Task 01.1: ...`)."""
    lines = [line for line in error.splitlines() if line and not line[0].isspace()]
    first = next((line for line in lines if not line.startswith("Traceback")), error)
    return first.split(" Hint:")[0].strip()


def console_table(result: ModuleResult, width: int = 100, shown: set[str] | None = None) -> str:
    """The per-test table with feedback under each failing test. An error that several
    tests run into (a task not written yet) is printed in full once, under the first of
    them; pass one `shown` set to every table of a run to keep that across modules."""
    shown = set() if shown is None else shown
    scope = ", visible tests only: not the module's grade" if result.visible_only else ""
    lines = [f"Module {result.module} ({result.title}){scope}", ""]
    lines += [f"  note: {note}" for note in result.notes]
    if result.notes:
        lines.append("")
    header = f"  {'task':<6} {'result':<6} {'points':>13}  test"
    lines += [header, "  " + "-" * (len(header) + 20)]
    for test in result.tests:
        where = " (hidden)" if test.hidden else ""
        score = f"{points_text(test.score)}/{points_text(test.max_score)}"
        lines.append(f"  {test.task:<6} {_status(test):<6} {score:>13}  {test.name}{where}")
        if test.feedback and not test.passed:
            for paragraph in _console_feedback(test.feedback, shown):
                lines += textwrap.wrap(
                    paragraph, width - 10, initial_indent=" " * 10, subsequent_indent=" " * 12
                ) or [""]
    lines.append("")
    lines.append(
        f"  {result.passed_count}/{len(result.tests)} tests passed in {result.execution_time:.1f} s"
    )
    if result.late_penalty:
        raw = points_text(result.raw_score)
        lines.append(f"  late penalty: -{result.late_penalty:.0%} of {raw}")
    return "\n".join(lines)


def markdown_summary(results: Sequence[ModuleResult], preamble: Sequence[str] = ()) -> str:
    """A Markdown report: a table per module and the feedback of failing tests. As in the
    terminal, an error that several tests run into is shown in full once in the run, then
    as its error line naming the test where it is in full.

    `preamble`: run-wide messages (hidden tests missing, integrity) shown above the table.
    """
    lines = ["# TinyTorch grade", "", f"**{points_line(results)}**", ""]
    if preamble:
        lines += [f"> {markdown_text(line)}\n>" for line in preamble] + [""]
    lines += [
        "| module | score | tests passed |",
        "|---|---:|---:|",
    ]
    for r in results:
        late = f" (late: -{r.late_penalty:.0%})" if r.late_penalty else ""
        late += " (visible tests only)" if r.visible_only else ""
        lines.append(
            f"| {r.module} {r.title} | {points_text(r.score)}/{points_text(r.max_score)}{late} | "
            f"{r.passed_count}/{len(r.tests)} |"
        )
    shown: set[str] = set()
    first_under: dict[str, str] = {}
    for r in results:
        failing = [t for t in r.tests if not t.passed]
        if not failing and not r.notes:
            continue
        lines += ["", f"## {r.module} {r.title}", ""]
        lines += [f"> {markdown_text(note)}" for note in r.notes]
        for test in failing:
            where = " (hidden test)" if test.hidden else ""
            label = f"{test.task} {test.name}{where}"
            lines += ["", f"<details><summary>{label}</summary>", ""]
            lines += _markdown_feedback(test.feedback, shown, first_under, label)
    return "\n".join(lines) + "\n"


def _markdown_feedback(
    feedback: str, shown: set[str], first_under: dict[str, str], label: str
) -> list[str]:
    """A failure in a job summary: in full, or one line naming the test whose failure
    shows the same error in full (with what this test printed, if anything)."""
    failure = _failure(feedback, shown)
    first = first_under.setdefault(failure.error, label)
    if failure.again:
        text = f"{failure.error_line} (as above: in full under {first})"
        if failure.printed is not None:
            text += f"\n\n{OUTPUT_HEADING}\n{failure.printed}"
    else:
        text = feedback
    return ["```text", text.replace("```", "'''"), "```", "</details>"]
