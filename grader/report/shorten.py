"""Shortening feedback without losing what went wrong.

A failure's feedback reads like a Python traceback: where it happened (indented `File ...`
lines, under a heading such as `Traceback (your code):`), then the error line (exception
type and message), then the message's further lines and any notes. A long one is cut in
the middle of the traceback and in the middle of the message, each time with a marker
that says how many lines were cut; the error line itself is always kept. The trusted test
process (grader/grade/plugin.py) cuts generously, the console (grader/report/formats.py)
more tightly.
"""

from __future__ import annotations

import re

from grader.remote.errors import TRACEBACK_HEADING

OUTPUT_HEADING = "What your code printed:"
OUTPUT_LINES = 20
OUTPUT_CHARS = 2000
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def cut_lines(lines: list[str], limit: int) -> list[str]:
    """At most `limit` lines (the marker counts): the first and the last ones kept, and a
    `... (N lines cut) ...` marker between them."""
    if len(lines) <= limit:
        return lines
    head = max(1, (limit - 1) // 2)
    tail = max(1, limit - 1 - head)
    cut = len(lines) - head - tail
    return [*lines[:head], f"... ({cut} lines cut) ...", *lines[len(lines) - tail :]]


def error_line_index(lines: list[str]) -> int:
    """Where the error starts: the first line that is not indented, not a traceback
    heading, and not the sentence just before one. `len(lines)` if there is none."""
    for index, line in enumerate(lines):
        if not line.strip() or line[0].isspace() or line == TRACEBACK_HEADING:
            continue
        if index + 1 < len(lines) and lines[index + 1] == TRACEBACK_HEADING:
            continue  # "Your module could not be imported ...:" introduces a traceback
        return index
    return len(lines)


def shorten_block(lines: list[str], traceback_lines: int, message_lines: int) -> list[str]:
    """One failure: the traceback cut to `traceback_lines`, the error line and what
    follows it cut to `message_lines`, the error line always first of those."""
    error = error_line_index(lines)
    return [
        *cut_lines(lines[:error], traceback_lines),
        *cut_lines(lines[error:], message_lines),
    ]


def shorten_feedback(text: str, traceback_lines: int, message_lines: int) -> str:
    """Every paragraph (failures are separated by a blank line) shortened on its own."""
    paragraphs = text.split("\n\n")
    return "\n\n".join(
        "\n".join(shorten_block(p.splitlines(), traceback_lines, message_lines)) for p in paragraphs
    )


def printable(text: str) -> str:
    """Text with control characters (terminal escapes, carriage returns) and lone
    surrogates (which no file or console can encode) made visible, so that printed output
    cannot redraw or hide the lines around it, nor stop the grade from being written."""
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


def cap_output(text: str, max_lines: int = OUTPUT_LINES, max_chars: int = OUTPUT_CHARS) -> str:
    """What the student's code printed: its first lines, at most `max_lines` lines and
    `max_chars` characters, with a marker saying what was cut."""
    text = printable(text.rstrip())
    lines = text.splitlines()
    kept = "\n".join(lines[:max_lines])
    if len(kept) > max_chars:
        return kept[:max_chars] + f"\n... (output cut after {max_chars} characters) ..."
    if len(lines) > max_lines:
        return kept + f"\n... (output cut after {max_lines} lines) ..."
    return kept
