"""A moment as text, spelled in one place: ISO 8601 in UTC, whole seconds, with a `Z`.

GitHub writes its times this way and Classroom 50's `scores.json` requires it, so every
record the grader writes (Classroom 50's, the grading state, GitHub comments) uses these
two functions.
"""

from __future__ import annotations

import datetime as dt


def format_time(moment: dt.datetime) -> str:
    """A time as GitHub writes it: UTC, whole seconds (`2026-09-20T03:59:59Z`)."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> dt.datetime | None:
    """GitHub's ISO 8601 time (`2026-09-20T03:59:59Z`) as an aware datetime."""
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)
