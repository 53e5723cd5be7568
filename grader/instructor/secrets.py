"""What no instructors' page or table may show: a line of a hidden test or of a reference
solution. A test's message is written by the trusted grader and holds no test source,
but a message that still echoes one (an assertion rewrite, a traceback) is withheld
rather than shown to teaching assistants."""

from __future__ import annotations

from grader.layout import Layout

SECRET_LINE_MIN = 16
"""Shorter lines (`return x`, `assert ok`) are too common to mean anything."""
WITHHELD = "(message withheld: it repeats a line of a hidden test or a solution)"


def secret_lines(layout: Layout) -> set[str]:
    """Every long enough line of the hidden tests and the reference solutions."""
    lines: set[str] = set()
    for folder in (layout.hidden_tests, layout.reference):
        for path in sorted(folder.rglob("*.py")) if folder.is_dir() else ():
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                if len(line.strip()) >= SECRET_LINE_MIN:
                    lines.add(line.strip())
    return lines


class Secrets:
    """Finds a secret line anywhere inside a message (after a prefix such as pytest's
    `E   `, or cut short at the message's end), by each line's first SECRET_LINE_MIN
    characters: one dictionary look-up per character of the message."""

    @classmethod
    def of(cls, layout: Layout) -> Secrets:
        return cls(secret_lines(layout))

    def __init__(self, lines: set[str]) -> None:
        self.decided: dict[str, str] = {}
        """Message -> what is shown (a class sees the same few messages many times)."""
        self.by_start: dict[str, list[str]] = {}
        for line in lines:
            self.by_start.setdefault(line[:SECRET_LINE_MIN], []).append(line)

    def found_in(self, message: str) -> bool:
        for start in range(len(message) - SECRET_LINE_MIN + 1):
            for line in self.by_start.get(message[start : start + SECRET_LINE_MIN], ()):
                rest = message[start:]
                if rest.startswith(line) or line.startswith(rest):
                    return True
        return False

    def shown(self, message: str) -> str:
        """The message, or WITHHELD when it holds a secret line (or the start of one)."""
        if message not in self.decided:
            self.decided[message] = WITHHELD if self.found_in(message) else message
        return self.decided[message]
