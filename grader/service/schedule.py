"""When the grader repository's workflow runs: hourly, and every 15 minutes around due times.

Each scheduled run costs at least one billed Actions minute (its `plan` job), so the
schedule is hourly (720 runs a month) at minute 17: GitHub delays and drops scheduled
runs most at the top of the hour. Around each due time, from `DENSE_HOURS_BEFORE` hours
before to `DENSE_HOURS_AFTER` after, when students push most and official grades are
taken, `make release` adds runs at minutes 2, 32 and 47 (every 15 minutes with the
hourly one). Cron has no year: a due date comes back each year until the next release.
"""

from __future__ import annotations

import datetime as dt
from itertools import groupby

from grader.course import Course

HOURLY_MINUTE = 17
DENSE_MINUTES = (2, 32, 47)
DENSE_HOURS_BEFORE = 3
DENSE_HOURS_AFTER = 1
MARKER = "    # around-due-times"
"""The line of grade-students.yml that `make release` replaces with `due_time_crons`."""


def due_hours(course: Course) -> list[dt.datetime]:
    """Every UTC hour that gets 15-minute runs (sorted, each once)."""
    hours = set()
    for module in course.modules:
        due = module.due.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
        for offset in range(-DENSE_HOURS_BEFORE, DENSE_HOURS_AFTER + 1):
            hours.add(due + dt.timedelta(hours=offset))
    return sorted(hours)


def due_time_crons(course: Course) -> list[str]:
    """Cron lines (`2,32,47 H1-H2 D M *`) for the hours of `due_hours`, a line per day."""
    minutes = ",".join(str(minute) for minute in DENSE_MINUTES)
    lines = []
    for (month, day), hours in groupby(due_hours(course), key=lambda h: (h.month, h.day)):
        numbers = [hour.hour for hour in hours]
        for first, last in _runs(numbers):
            span = f"{first}" if first == last else f"{first}-{last}"
            lines.append(f"{minutes} {span} {day} {month} *")
    return lines


def render_workflow(text: str, course: Course) -> str:
    """grade-students.yml with the 15-minute runs around this course's due times."""
    if MARKER not in text:
        raise ValueError(f"grade-students.yml has lost its line {MARKER.strip()!r}")
    entries = "\n".join(f'    - cron: "{line}"' for line in due_time_crons(course))
    return text.replace(MARKER, entries or MARKER, 1)


def dense_runs_per_month(course: Course, days_per_month: float = 30.4) -> float:
    """Extra scheduled runs a month from the due-time windows, averaged over the term."""
    hours = due_hours(course)
    if not hours:
        return 0.0
    term_days = max(1.0, (hours[-1] - hours[0]).total_seconds() / 86400)
    return len(hours) * len(DENSE_MINUTES) * min(1.0, days_per_month / term_days)


def _runs(numbers: list[int]) -> list[tuple[int, int]]:
    """Consecutive runs in sorted integers: [1, 2, 3, 7] -> [(1, 3), (7, 7)]."""
    runs: list[tuple[int, int]] = []
    for number in numbers:
        if runs and number == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], number)
        else:
            runs.append((number, number))
    return runs


UNLOCK_DAILY = '    - cron: "17 5 * * *"'
"""unlock.yml's daily run, which `make release` narrows to the release days when it can."""


def unlock_crons(course: Course) -> list[str]:
    """When students' `Unlock modules` must run: 01:17 on each release day in the course's
    time zone (a dropped run is made up with Actions > Unlock modules > Run workflow).
    Empty when unlocking depends on scores, which can change any day."""
    if course.policies.require_prerequisites or course.policies.unlock_rule != "release_date":
        return []
    moments = set()
    for module in course.modules:
        start = dt.datetime.combine(module.release, dt.time(1, 17), course.policies.timezone)
        moments.add(start.astimezone(dt.UTC))
    return [f"{m.minute} {m.hour} {m.day} {m.month} *" for m in sorted(moments)]


def render_unlock_workflow(text: str, course: Course) -> str:
    """unlock.yml running on the release days only (when `unlock_crons` allows)."""
    crons = unlock_crons(course)
    if not crons:
        return text
    if UNLOCK_DAILY not in text:
        raise ValueError(f"unlock.yml has lost its line {UNLOCK_DAILY.strip()!r}")
    entries = "\n".join(f'    - cron: "{line}"' for line in crons)
    return text.replace(UNLOCK_DAILY, entries, 1)
