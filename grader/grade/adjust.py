"""Adjustments after grading: the late policy and the integrity check's verdict.

Late policy (classroom.yml `late_policy`): a module handed in after its due time loses
`penalty_per_day` of its score per started day, and everything after `max_late_days`.
The hand-in time is a push time that GitHub recorded, never a commit date (the student's
clock sets those: a commit backdated before the due time but pushed late is late). The
instructors' grader repository takes each module's official grade at its due date from
the last commit pushed before it (grader/service/official.py).
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from grader.check.integrity import affects
from grader.course import ModuleSpec, Policies, late_fraction
from grader.report.results import ModuleResult


def apply_late_policy(
    result: ModuleResult, module: ModuleSpec, policies: Policies, when: dt.datetime
) -> ModuleResult:
    """The result with the late penalty for a hand-in at `when`, explained in the notes."""
    fraction, days = late_fraction(module, policies, when)
    if not days:
        return result
    due = module.due.strftime("%Y-%m-%d %H:%M %Z")
    if days > policies.max_late_days:
        why = f"more than the {policies.max_late_days} late days allowed, so it scores 0"
    else:
        why = f"late penalty {fraction:.0%}"
    note = f"Handed in {days} day(s) after the due time ({due}): {why}."
    return dataclasses.replace(result, late_penalty=fraction, notes=(*result.notes, note))


def apply_integrity(result: ModuleResult, unrestorable: list[str]) -> ModuleResult:
    """The result scored 0 if protected files this module depends on were not restored."""
    if not affects(unrestorable, result.module):
        return result
    message = (
        "Not counted: protected files this module's grading depends on differ from the "
        "template and could not be restored (" + ", ".join(unrestorable) + ")."
    )
    tests = tuple(
        dataclasses.replace(t, score=0.0, passed=False, feedback=message) for t in result.tests
    )
    return dataclasses.replace(result, tests=tests, notes=(*result.notes, message))
