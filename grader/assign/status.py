"""Where a student stands: every module's state, dates and last local score, and the
milestones their code can run.

Read from the student's own repository only (classroom.yml, assignments/, .grades/), so
`tito status` works offline and never needs the grader bundle. It lives with the other
workspace code (not in `tito/`) because `python -m grader grade` uses it too: without a
module it grades the one the student is working on (`current_module`).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass

from grader.assign.regions import open_tasks
from grader.course import Course, ModuleSpec
from grader.layout import Layout
from grader.milestone_index import discover, needed_modules
from grader.report.formats import read_gradescope_score
from grader.report.results import LocalScore

UNLOCKED = "unlocked"
LOCKED = "locked"
WAITING = "released: run git pull"
NOT_PUBLISHED = "not published yet"
CURRENT = "current"
"""The module key meaning "the module the student is working on" (`current_module`)."""


@dataclass(frozen=True)
class ModuleStatus:
    """One module as the student sees it."""

    key: str
    title: str
    state: str
    release: str
    due: str
    points: float
    last_score: LocalScore | None


@dataclass(frozen=True)
class MilestoneStatus:
    """Whether a milestone can run on the student's modules, and what it still needs."""

    key: str
    title: str
    modules: list[str]
    ready: bool
    missing: list[str]


@dataclass(frozen=True)
class CourseStatus:
    """Everything `tito status` shows; `to_json` is what `--json` prints."""

    course: str
    today: str
    modules: list[ModuleStatus]
    milestones: list[MilestoneStatus]
    next_step: str

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)


def module_state(layout: Layout, module: ModuleSpec, today: dt.date) -> str:
    """unlocked (in assignments/), locked (before its release date), released but not
    pulled yet, or released without material (the course has not published it)."""
    if (layout.assignments / module.dirname / module.filename).is_file():
        return UNLOCKED
    if module.release > today:
        return LOCKED
    return WAITING if layout.visible_tests(module).is_dir() else NOT_PUBLISHED


def last_score(layout: Layout, module: ModuleSpec) -> LocalScore | None:
    """The module's `.grades/NN_slug/results.json`, if it was graded here and is readable."""
    return read_gradescope_score(layout.local_results(module.dirname))


def _milestones(layout: Layout, course: Course) -> list[MilestoneStatus]:
    found = []
    done: dict[str, bool] = {}  # each module file is read once, whatever needs it
    for key, milestone in discover(layout.milestones).items():
        modules = needed_modules(course, milestone)
        for m in modules:
            if m.key not in done:
                done[m.key] = not open_tasks(layout.module_file(layout.assignments, m))
        missing = [m.key for m in modules if not done[m.key]]
        found.append(
            MilestoneStatus(key, milestone.title, [m.key for m in modules], not missing, missing)
        )
    return found


def _next_step(modules: list[ModuleStatus]) -> str:
    waiting = [m for m in modules if m.state == WAITING]
    if waiting:
        return f"Module {waiting[0].key} is released: run `tito update` to get it."
    for module in modules:
        if module.state != UNLOCKED:
            continue
        if module.last_score is None:
            return (
                f"Work on module {module.key} ({module.title}), then run "
                f"`tito grade {module.key}`."
            )
        if module.last_score.score < module.last_score.max_score:
            return (
                f"Module {module.key} ({module.title}) scores "
                f"{module.last_score.score:g}/{module.last_score.max_score:g} here: "
                f"keep going, then run `tito grade {module.key}`."
            )
    upcoming = [m for m in modules if m.state == LOCKED]
    if upcoming:
        first = upcoming[0]
        return f"All unlocked modules pass here. Module {first.key} opens on {first.release}."
    return "Every module passes its visible tests here. Push, and read your hidden-test feedback."


def current_module(layout: Layout, course: Course, today: dt.date) -> ModuleSpec | None:
    """The module the student is working on: the first unlocked one that does not yet pass
    all its visible tests here (never graded, or below full marks); None when all do."""
    for module in course.modules:
        if module_state(layout, module, today) != UNLOCKED:
            continue
        score = last_score(layout, module)
        if score is None or score.score < score.max_score:
            return module
    return None


def course_status(layout: Layout, course: Course, today: dt.date) -> CourseStatus:
    """The status of every module and milestone for the repository at `layout`."""
    modules = [
        ModuleStatus(
            key=m.key,
            title=m.title,
            state=module_state(layout, m, today),
            release=m.release.isoformat(),
            due=m.due.date().isoformat(),
            points=m.points,
            last_score=last_score(layout, m),
        )
        for m in course.modules
    ]
    return CourseStatus(
        course=course.name,
        today=today.isoformat(),
        modules=modules,
        milestones=_milestones(layout, course),
        next_step=_next_step(modules),
    )


def score_text(score: LocalScore | None) -> str:
    """`85/100`, with `(visible)` when only the visible tests counted; `-` if never graded."""
    if score is None:
        return "-"
    scope = " (visible)" if score.visible_only else ""
    return f"{score.score:g}/{score.max_score:g}{scope}"

