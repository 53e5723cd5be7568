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
from grader.assign.rules import Window, moment, summary, time_text, window, window_text
from grader.course import Course, ModuleSpec
from grader.layout import Layout
from grader.milestone_index import discover, needed_modules
from grader.report.formats import read_gradescope_score
from grader.report.results import LocalScore

UNLOCKED = "unlocked"
LOCKED = "locked"
WAITING = "released: run tito update"
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
    """The due time with its zone (`2026-09-20 23:59:59 EDT`)."""
    window: str
    """open, late or closed at the status's moment (grader/assign/rules.py)."""
    hand_in: str
    """What a push of this module is worth now, in words."""
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
    now: str
    """The moment the windows were judged at, with the course's zone."""
    modules: list[ModuleStatus]
    milestones: list[MilestoneStatus]
    next_step: str
    rules: list[str]
    """The due time, late policy, local points and earlier modules, from classroom.yml
    (the student README has them at length)."""

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


def _unfinished(module: ModuleStatus) -> bool:
    score = module.last_score
    return module.state == UNLOCKED and (score is None or score.score < score.max_score)


def _work_order(modules: list[ModuleStatus], specs: dict[str, ModuleSpec]) -> list[ModuleStatus]:
    """The unfinished unlocked modules, by due time, those whose hand-ins closed last."""
    unfinished = [m for m in modules if _unfinished(m)]
    return sorted(unfinished, key=lambda m: (m.window == Window.CLOSED, specs[m.key].due))


def _next_step(modules: list[ModuleStatus], specs: dict[str, ModuleSpec]) -> str:
    """What to do next, by the deadlines: a module released but not pulled, then the
    unfinished module due first that still earns points (a late one before an open one:
    it loses more each day); a closed module, worth nothing now, only when none is left."""
    waiting = [m for m in modules if m.state == WAITING]
    if waiting:
        return f"Module {waiting[0].key} is released: run `tito update` to get it."
    order = _work_order(modules, specs)
    earning = [m for m in order if m.window != Window.CLOSED]
    if earning:
        first = earning[0]
        then = f"then run `tito grade {first.key}`"
        score = first.last_score
        doing = (
            f"Work on module {first.key} ({first.title})"
            if score is None
            else f"Module {first.key} ({first.title}) scores "
            f"{score.score:g}/{score.max_score:g} here: keep going"
        )
        if first.window == Window.LATE:
            after = [m for m in earning[1:] if m.window == Window.OPEN]
            also = f"; module {after[0].key} is due {after[0].due}" if after else ""
            return f"{doing}, {then}. It is {first.hand_in}{also}."
        return f"{doing}, due {first.due}; {then}."
    closed = [m.key for m in order]
    past = (
        f" Module(s) {', '.join(closed)}: hand-ins closed, pushes no longer count."
        if closed
        else ""
    )
    upcoming = [m for m in modules if m.state == LOCKED]
    if upcoming:
        first = upcoming[0]
        return f"All open modules pass here.{past} Module {first.key} opens on {first.release}."
    return (
        f"Every open module passes its visible tests here.{past} Push, and read your "
        "hidden-test feedback."
    )


def current_module(
    layout: Layout, course: Course, today: dt.date, now: dt.datetime | None = None
) -> ModuleSpec | None:
    """The module the student is working on: of the unlocked modules not yet at full
    visible marks here, the one due first that still earns points (the order of `tito
    status`'s next step); None when all pass."""
    status = course_status(layout, course, today, now, with_milestones=False)
    order = _work_order(status.modules, {m.key: m for m in course.modules})
    return course.module(order[0].key) if order else None


def course_status(
    layout: Layout,
    course: Course,
    today: dt.date,
    now: dt.datetime | None = None,
    *,
    with_milestones: bool = True,
) -> CourseStatus:
    """The status of every module and milestone for the repository at `layout`, with each
    module's window judged at `now` (default: now, or noon of `today` if it is another
    day)."""
    now = now or moment(course, today)
    modules = [
        ModuleStatus(
            key=m.key,
            title=m.title,
            state=module_state(layout, m, today),
            release=m.release.isoformat(),
            due=time_text(m.due, course),
            window=window(m, course, now).value,
            hand_in=window_text(m, course, now),
            points=m.points,
            last_score=last_score(layout, m),
        )
        for m in course.modules
    ]
    return CourseStatus(
        course=course.name,
        today=today.isoformat(),
        now=now.astimezone(course.policies.timezone).isoformat(timespec="seconds"),
        modules=modules,
        milestones=_milestones(layout, course) if with_milestones else [],
        next_step=_next_step(modules, {m.key: m for m in course.modules}),
        rules=summary(course),
    )


def score_text(score: LocalScore | None) -> str:
    """`85/100`, with `(visible)` when only the visible tests counted; `-` if never graded."""
    if score is None:
        return "-"
    scope = " (visible)" if score.visible_only else ""
    return f"{score.score:g}/{score.max_score:g}{scope}"
