"""The course's rules where students read them (issue 20, item 5): the student README
made by the release and `tito status` give each module's due time with its zone, the
late policy in numbers, what local points mean and where earlier modules come from;
`tito status` marks late and closed modules by the clock, and its next step follows the
deadlines.

Every number is checked against the grading code itself (`late_fraction`,
`hand_ins_close`), so the words cannot drift from what grading does.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import pytest

from grader.assign.rules import readme_section, with_rules
from grader.assign.status import current_module
from grader.assign.unlock import unlock_modules
from grader.course import hand_ins_close, late_fraction
from grader.layout import Layout
from grader.tito.cli import main as tito

from .classroom_helpers import released, student_repository  # noqa: F401 - a fixture
from .conftest import COURSE

TENSOR, ACTIVATIONS, LAYERS = (COURSE.module(n) for n in (1, 2, 3))
SECOND = dt.timedelta(seconds=1)


def test_the_student_readme_gives_due_times_late_policy_points_and_prerequisites(released):  # noqa: F811
    readme = (released.template / "README.md").read_text(encoding="utf-8")
    # Module 01: due at the end of 2026-09-20 in New York, hand-ins close 7 days later.
    assert (
        "| 01 Tensor | 100 | 2026-09-07 | 2026-09-20 23:59:59 EDT | 2026-09-27 23:59:59 EDT |"
        in (readme)
    )
    assert "America/New_York" in readme
    assert "loses 10% of its score for each started day" in readme
    assert "for up to 7 days (at most 70%); a push later than that earns nothing" in readme
    assert "Local scores are not your grade" in readme and "out of 100 points" in readme
    assert "from the course's reference solutions after that" in readme
    assert "the student\ntemplate's README has them here" not in readme  # the placeholder


def test_the_readme_numbers_are_the_ones_grading_applies():
    policies = COURSE.policies
    assert policies.late_penalty_per_day == 0.10 and policies.max_late_days == 7
    due, close = TENSOR.due, hand_ins_close(TENSOR, COURSE)
    assert due == dt.datetime(2026, 9, 20, 23, 59, 59, tzinfo=policies.timezone)
    assert late_fraction(TENSOR, policies, due) == (0.0, 0)
    assert late_fraction(TENSOR, policies, due + SECOND) == (0.10, 1)  # one second: one day
    assert late_fraction(TENSOR, policies, close) == pytest.approx((0.70, 7))
    assert late_fraction(TENSOR, policies, close + SECOND) == (1.0, 8)
    assert close == dt.datetime(2026, 9, 27, 23, 59, 59, tzinfo=policies.timezone)


def test_another_policy_is_written_in_its_own_numbers():
    policies = dataclasses.replace(
        COURSE.policies, late_penalty_per_day=0.25, max_late_days=2, prerequisites_from="submission"
    )
    course = dataclasses.replace(COURSE, policies=policies)
    section = readme_section(course)
    assert "loses 25% of its score" in section and "up to 2 days (at most 50%)" in section
    assert (
        "| 01 Tensor | 100 | 2026-09-07 | 2026-09-20 23:59:59 EDT | 2026-09-22 23:59:59 EDT |"
        in (section)
    )
    assert "always come from your own code" in section
    strict = dataclasses.replace(COURSE, policies=dataclasses.replace(policies, max_late_days=0))
    assert "No late work" in readme_section(strict)
    readme = "intro\n<!-- course-rules -->\nold\n<!-- /course-rules -->\nend\n"
    assert with_rules(readme, course) == (
        f"intro\n<!-- course-rules -->\n{section}<!-- /course-rules -->\nend\n"
    )


@pytest.fixture
def repo(released, tmp_path) -> Path:  # noqa: F811
    """A student repository with modules 01-03 (03 pulled after its release)."""
    repository = student_repository(released.template, tmp_path / "student")
    unlock_modules(Layout(repository), COURSE, LAYERS.release)
    return repository


def status(repo: Path, capsys, now: str) -> dict:
    assert tito(["--root", str(repo), "--now", now, "status", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def by_key(report: dict) -> dict[str, dict]:
    return {m["key"]: m for m in report["modules"]}


def passes(repo: Path, module) -> None:
    """The module at full visible marks here, as `make grade` records it."""
    target = repo / ".grades" / module.dirname / "results.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    extra = {"max_score": 17, "graded_at": "", "visible_only": True}
    target.write_text(json.dumps({"score": 17, "extra_data": extra}), encoding="utf-8")


def test_status_shows_due_times_with_their_zone_and_marks_late_and_closed(repo, capsys):
    on_time = by_key(status(repo, capsys, "2026-09-20T23:59:59"))
    assert on_time["01"]["due"] == "2026-09-20 23:59:59 EDT"
    assert on_time["01"]["window"] == "open"
    late = by_key(status(repo, capsys, "2026-09-21T00:00:00"))
    assert late["01"]["window"] == "late"
    assert late["01"]["hand_in"] == "late: a push now loses 10% (day 1 of 7)"
    assert late["02"]["window"] == "open"
    closed = by_key(status(repo, capsys, "2026-09-28T00:00:00"))
    assert closed["01"]["window"] == "closed"
    assert closed["01"]["hand_in"] == "closed: pushes no longer count"
    assert closed["02"]["hand_in"] == "late: a push now loses 10% (day 1 of 7)"


def test_status_prints_the_rules_and_the_window_column(repo, capsys):
    assert tito(["--root", str(repo), "--now", "2026-09-22T10:00", "status"]) == 0
    out = capsys.readouterr().out
    assert "Hand-in now" in out and "late: a push now loses 20% (day 2 of 7)" in out
    assert "Due: 23:59:59 on the due date, America/New_York time." in out
    assert "Late: -10% per started day after the due time, for up to 7 days" in out
    assert "Scores here count the visible tests only" in out
    assert "then the reference solutions" in out


def test_the_next_step_follows_the_deadlines(repo, capsys):
    # 01 late (day 2): it loses more each day, so it comes first, and 02's due time is named.
    step = status(repo, capsys, "2026-09-22T10:00")["next_step"]
    assert step.startswith("Work on module 01 (Tensor)") and "loses 20%" in step
    assert "module 02 is due 2026-09-27 23:59:59 EDT" in step
    # 01 closed, 02 late (04 pulled on its release day): 02, never 01 (worth 0 now).
    unlock_modules(Layout(repo), COURSE, COURSE.module(4).release)
    step = status(repo, capsys, "2026-09-28T10:00")["next_step"]
    assert step.startswith("Work on module 02 (Activations)") and "module 01" not in step
    # 01 closed, 02 passes here, 03 open: 03.
    passes(repo, ACTIVATIONS)
    step = status(repo, capsys, "2026-09-30T10:00")["next_step"]
    assert step.startswith("Work on module 03 (Layers), due 2026-10-04 23:59:59 EDT")
    moment = dt.datetime(2026, 9, 30, 10, tzinfo=COURSE.policies.timezone)
    chosen = current_module(Layout(repo), COURSE, moment.date(), moment)
    assert chosen == LAYERS  # `make grade` without a module grades the same one


def test_a_closed_module_is_suggested_only_when_nothing_earns_points(repo, capsys):
    losses = COURSE.module(4)
    unlock_modules(Layout(repo), COURSE, losses.release)
    for module in (ACTIVATIONS, LAYERS, losses):
        passes(repo, module)
    step = status(repo, capsys, "2026-09-28T10:00")["next_step"]
    assert step == (
        "All open modules pass here. Module(s) 01: hand-ins closed, pushes no longer count. "
        "Module 05 opens on 2026-10-05."
    )
    moment = dt.datetime(2026, 9, 28, 10, tzinfo=COURSE.policies.timezone)
    assert current_module(Layout(repo), COURSE, moment.date(), moment) == TENSOR
