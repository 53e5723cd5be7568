"""The official grade of a module from a graded commit, at each stage.

- `on_time`: the last commit pushed before the due time, as graded (no penalty: it was
  on time by construction). Nothing pushed before the due time scores 0.
- `final`, once the late window has closed: the last commit pushed before it closed,
  with the late penalty for the days after the due time that GitHub recorded the push
  from which the module's own file stayed as graded (`Job.judged_at`, from the plan),
  or the on-time grade if that is higher (a later push never lowers a grade, and a push
  that leaves a module unchanged costs nothing).
With a late-day bank (`late_policy.late_day_bank`), the late days of a `final` grade are
first paid from what is left of the student's bank, without penalty. `module` is the
module as it applies to the student (an extension moves its due time): each grade keeps
the due time it was taken against, and says when it was extended.
Commit dates are never read: a commit backdated on the student's machine but pushed late
is late. A module the grader did not finish ("Not graded": the run's time cap, a fault of
the grader) has no grade at all: the stage is decided again next run, never a 0.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import replace

from grader.course import Course, ModuleSpec, late_fraction
from grader.report.results import ModuleResult
from grader.service.state import OfficialGrade, Stage


def official_grade(
    stage: Stage,
    module: ModuleSpec,
    course: Course,
    sha: str,
    pushed_at: dt.datetime | None,
    result: ModuleResult | None,
    on_time: OfficialGrade | None,
    now: dt.datetime,
    late_days_left: int = 0,
) -> OfficialGrade | None:
    """The grade to record, or None when it cannot be decided yet (grade again later);
    `late_days_left`: what remains of the student's late-day bank."""
    if sha and (result is None or not_graded_reason([result])):
        return None
    if stage == Stage.FINAL and on_time is None:
        return None
    if not sha:
        note = "Nothing was pushed to the default branch before the due time."
        if stage == Stage.FINAL and on_time is not None:
            grade = OfficialGrade(Stage.FINAL, **_same(on_time), graded_at=now)
        else:
            grade = OfficialGrade(stage, "", None, 0.0, module.points, 0.0, note, now)
        return _for_student(grade, module, course)
    assert result is not None
    raw = min(result.raw_score, module.points)
    if stage == Stage.ON_TIME:
        grade = OfficialGrade(Stage.ON_TIME, sha, pushed_at, raw, module.points, 0.0, "", now)
        return _for_student(grade, module, course)
    assert on_time is not None
    assert pushed_at is not None, "a graded commit was pushed"
    grade = _final(module, course, sha, pushed_at, raw, on_time, now, late_days_left)
    return _for_student(grade, module, course)


def _final(
    module: ModuleSpec,
    course: Course,
    sha: str,
    pushed_at: dt.datetime,
    raw: float,
    on_time: OfficialGrade,
    now: dt.datetime,
    late_days_left: int,
) -> OfficialGrade:
    """The final grade: the late push with its penalty (banked days first), or the
    on-time grade when that is higher."""
    fraction, days = late_fraction(module, course.policies, pushed_at)
    banked = min(days, late_days_left) if days <= course.policies.max_late_days else 0
    if banked:
        fraction = min(1.0, (days - banked) * course.policies.late_penalty_per_day)
    late_score = round(raw * (1.0 - fraction), 2)
    if days == 0 or on_time.score >= late_score:
        grade = OfficialGrade(Stage.FINAL, **_same(on_time), graded_at=now)
        if days and sha != on_time.commit:
            note = (
                f"A later push ({sha[:7]}, {days} day(s) late) would score "
                f"{late_score:g} after its {fraction:.0%} penalty; the on-time grade counts."
            )
            return replace(grade, note=note)
        return grade
    note = f"Pushed {days} day(s) after the due time: {fraction:.0%} late penalty."
    if banked:
        note = f"Pushed {days} day(s) after the due time: {banked} late day(s) from your bank"
        note += f", {fraction:.0%} late penalty." if fraction else ", no penalty."
    points = module.points
    grade = OfficialGrade(Stage.FINAL, sha, pushed_at, late_score, points, fraction, note, now)
    return replace(grade, late_days_used=banked)


def _for_student(grade: OfficialGrade, module: ModuleSpec, course: Course) -> OfficialGrade:
    """The grade with the due time it was taken against, and a word when it was extended."""
    grade = replace(grade, due=module.due)
    if module.due != course.module(module.number).due:
        extended = f"Due time extended to {module.due.strftime('%Y-%m-%d %H:%M %Z')}."
        if extended not in grade.note:
            grade = replace(grade, note=f"{extended} {grade.note}".strip())
    return grade


def _same(grade: OfficialGrade) -> dict:
    return {
        "commit": grade.commit,
        "pushed_at": grade.pushed_at,
        "score": grade.score,
        "max_score": grade.max_score,
        "late_penalty": grade.late_penalty,
        "note": grade.note,
    }


def not_graded_reason(results: Sequence[ModuleResult]) -> str:
    """Why a module of these results was not graded (the grader's "Not graded" note), or ""."""
    for result in results:
        for note in result.notes:
            if note.startswith("Not graded"):
                return f"{result.module}: {note}"
    return ""
