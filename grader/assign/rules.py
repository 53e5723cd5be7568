"""The course's rules in the words students read, computed from classroom.yml.

The times come from the grader's own code, so what students read is what grading does:
a module is due at the end of its due day in the course's time zone, each started day
after that costs `late_policy.penalty_per_day` of the score and more than `max_late_days`
costs all of it (`course.py:late_fraction`, which grading applies), and the reference
code of an earlier module is staged only once its hand-ins close (`course.py:
hand_ins_close`, which `grade/sources.py` applies).
`make release` writes these rules into the student README; `tito status` shows them
with each module's window on the clock.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from grader.course import Course, ModuleSpec, hand_ins_close, late_fraction

RULES_BEGIN = "<!-- course-rules -->"
RULES_END = "<!-- /course-rules -->"
"""The student README's generated section lies between these two lines."""


class Window(StrEnum):
    """Where a module's hand-in stands at a moment."""

    OPEN = "open"
    LATE = "late"
    CLOSED = "closed"


def moment(course: Course, today: dt.date) -> dt.datetime:
    """Now, in the course's zone; noon of `today` when that is another day (a calendar
    pinned by `--today`)."""
    now = dt.datetime.now(course.policies.timezone)
    if now.date() == today:
        return now
    return dt.datetime.combine(today, dt.time(12), tzinfo=course.policies.timezone)


def window(module: ModuleSpec, course: Course, now: dt.datetime) -> Window:
    """OPEN until the due time, LATE while a push still earns points, CLOSED after."""
    if now <= module.due:
        return Window.OPEN
    return Window.LATE if now <= hand_ins_close(module, course) else Window.CLOSED


def time_text(when: dt.datetime, course: Course) -> str:
    """`2026-09-20 23:59:59 EDT` in the course's time zone."""
    return when.astimezone(course.policies.timezone).strftime("%Y-%m-%d %H:%M:%S %Z")


def zone_text(course: Course) -> str:
    """The zone's IANA name (`America/New_York`); times carry their abbreviation (EDT)."""
    return str(course.policies.timezone)


def window_text(module: ModuleSpec, course: Course, now: dt.datetime) -> str:
    """What pushing this module now is worth, for the status table."""
    state = window(module, course, now)
    if state == Window.OPEN:
        return "open"
    if state == Window.CLOSED:
        return "closed: pushes no longer count"
    fraction, days = late_fraction(module, course.policies, now)
    return f"late: a push now loses {fraction:.0%} (day {days} of {course.policies.max_late_days})"


def late_policy_text(course: Course) -> str:
    """The late policy in numbers, as one paragraph."""
    policies = course.policies
    if policies.max_late_days == 0:
        return (
            "No late work: a push after a module's due time earns nothing; the grade comes "
            "from the last push before the due time."
        )
    penalty, days = policies.late_penalty_per_day, policies.max_late_days
    worst = min(1.0, penalty * days)
    loss = (
        f"loses {penalty:.0%} of its score for each started day after the due time (one "
        "second late is one day)"
        if penalty
        else "loses nothing"
    )
    return (
        f"Late work: a module pushed after its due time {loss}, for up to {days} days "
        f"(at most {worst:.0%}); a push later than that earns nothing. Lateness is "
        "counted from the push that last changed the module's own file, as GitHub recorded "
        "it (commit dates are never read), and a late push never lowers a grade: the better "
        "of the on-time grade and the late one after its penalty counts."
    )


def local_points_text(course: Course) -> str:
    """What a local score means against the module's points."""
    points = sorted({f"{m.points:g}" for m in course.modules})
    worth = f"{points[0]} points" if len(points) == 1 else "the points listed for it"
    return (
        "Local scores are not your grade: `make grade` runs the visible tests only and "
        "scores them out of their own points (`12/17 (visible)`). A module's grade is out "
        f"of {worth}, from the visible and the hidden tests together, weighted by their "
        "points; the hidden tests run on the course's grader after you push."
    )


def prerequisites_text(course: Course) -> str:
    """Where the earlier modules a graded module builds on come from."""
    days = course.policies.max_late_days
    close = f"hand-ins close ({days} days after its due time)" if days else "due time"
    if course.policies.prerequisites_from == "reference":
        return (
            "Earlier modules: when a module is graded, the earlier modules it builds on come "
            f"from your own code until each earlier module's {close}, and from the course's "
            "reference solutions "
            "after that, so an unfinished module 01 does not cost you module 02 for long. "
            "`make grade` on your machine always uses your own code (the starter where a "
            "module file is missing)."
        )
    return (
        "Earlier modules: when a module is graded, the earlier modules it builds on always "
        "come from your own code (the starter where a module file is missing), so finish "
        "them too."
    )


def rules(course: Course) -> list[str]:
    """Every rule, one paragraph each: the due time, the late policy, local points and
    earlier modules."""
    return [
        f"Due times: a module is due at 23:59:59 on its due date, {zone_text(course)} time; "
        "its grade comes from the last push GitHub recorded before then.",
        late_policy_text(course),
        local_points_text(course),
        prerequisites_text(course),
    ]


def summary(course: Course) -> list[str]:
    """The rules in four short lines, under the `tito status` table."""
    policies = course.policies
    points = sorted({f"{m.points:g}" for m in course.modules})
    worth = points[0] if len(points) == 1 else "its points"
    if policies.max_late_days:
        late = (
            f"Late: -{policies.late_penalty_per_day:.0%} per started day after the due time, "
            f"for up to {policies.max_late_days} days; after that a push earns nothing."
        )
    else:
        late = "Late: no late work; a push after the due time earns nothing."
    source = (
        "your own code until their hand-ins close, then the reference solutions"
        if policies.prerequisites_from == "reference"
        else "always your own code"
    )
    return [
        f"Due: 23:59:59 on the due date, {zone_text(course)} time.",
        late,
        f"Scores here count the visible tests only; a module's grade is out of {worth} with "
        "the hidden tests, graded after you push.",
        f"Earlier modules a graded module builds on: {source}.",
    ]


def readme_section(course: Course) -> str:
    """The student README's "Dates and rules" section (between RULES_BEGIN and RULES_END)."""
    lines = [
        "### Dates and rules",
        f"From the course's `classroom.yml`. Times are {zone_text(course)} time.",
        "",
        "| module | points | opens | due | late hand-ins close |",
        "|---|---:|---|---|---|",
    ]
    for module in course.modules:
        close = hand_ins_close(module, course)
        lines.append(
            f"| {module.key} {module.title} | {module.points:g} | {module.release} | "
            f"{time_text(module.due, course)} | {time_text(close, course)} |"
        )
    lines.append("")
    lines += [f"- {paragraph}" for paragraph in rules(course)]
    return "\n".join(lines) + "\n"


def with_rules(readme: str, course: Course) -> str:
    """`readme` with its generated section written from `course` (the markers stay, so a
    later release writes it again); unchanged if it has no such section."""
    head, begin, rest = readme.partition(RULES_BEGIN + "\n")
    _, end, tail = rest.partition(RULES_END)
    if not (begin and end):
        return readme
    return f"{head}{begin}{readme_section(course)}{end}{tail}"
