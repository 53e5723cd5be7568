"""pytest's own words, said again for students who grade with `make grade`.

Students never run pytest themselves, so its command-line advice ("Use -v to get more
diff") names a flag they cannot pass, and a failed `pytest.raises(..., match=...)` quotes
a regular expression as a Python string literal. `plain_words` rewrites both in a
failure's message; everything else passes through unchanged.
"""

from __future__ import annotations

import ast
import re

REGEX_MISMATCH = re.compile(
    r"Regex pattern did not match\.\n\s*Expected regex: (?P<regex>.*)\n"
    r"\s*Actual message: (?P<message>.*)"
)
MORE_DIFF = re.compile(r"^\s*Use -v to get more diff\s*$\n?", flags=re.MULTILINE)
VERBOSE_ADVICE = re.compile(r",? use '?-vv?'? to (?:show|see)(?: the full diff)?", re.IGNORECASE)


def plain_words(message: str) -> str:
    """`message` without pytest's command-line advice, and with a regex mismatch told as
    what the test looked for and what the student's error said."""
    message = REGEX_MISMATCH.sub(_regex_mismatch, message)
    message = MORE_DIFF.sub("", message)
    return VERBOSE_ADVICE.sub("", message).rstrip()


def _regex_mismatch(match: re.Match) -> str:
    return (
        "your code raised the right kind of error, but its message is not the one the test "
        "looks for.\n"
        f"  The test looks for: {_literal(match['regex'])}\n"
        f"  Your message:       {_literal(match['message'])}\n"
        "  (The test's text is a regular expression: `.*` stands for any text, and a "
        "backslash makes the next character plain, so `\\(` is `(`.)"
    )


def _literal(text: str) -> str:
    """The string a repr spells (`'\\\\(2, 3\\\\)'` is `\\(2, 3\\)`); the text itself if
    it is not one."""
    try:
        value = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return text.strip()
    return value if isinstance(value, str) else text.strip()
