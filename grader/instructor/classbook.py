"""The class as one value: every student of the roster (or of `state/`), their official
grades, exceptions and graded pushes, read from the grader repository's `state/`.

Reading never stops at a damaged file: a repository entry of `grading.json` that does
not parse, or a push history (`pushes/<student>.json`) that is corrupt or cut short, is
reported by name in `problems` and skipped; every other student's grades stay.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

from grader.course import Course, ModuleSpec
from grader.instructor.roster import Person
from grader.report.results import ModuleResult
from grader.service.exceptions import NO_EXCEPTIONS, Exceptions
from grader.service.history import MODULE_FIELDS, TEST_FIELDS, results_from_entry
from grader.service.history import VERSION as HISTORY_VERSION
from grader.service.state import GradingState, OfficialGrade, RepositoryState, StateError
from grader.timestamps import parse_time

SCORE, MAX = MODULE_FIELDS.index("score"), MODULE_FIELDS.index("max")


@dataclass(frozen=True)
class Push:
    """One graded push, in a few numbers per module (`history.module_line`)."""

    sha: str
    pushed_at: dt.datetime
    seconds: float
    isolation: str
    modules: dict[str, list]
    """Module folder (`01_tensor`) -> the values of MODULE_FIELDS (score, max, passed,
    tests, timeouts, not_graded)."""


@dataclass
class Student:
    person: Person
    repository: str = ""
    """"" when the student never accepted the assignment."""
    official: dict[str, OfficialGrade] = field(default_factory=dict)
    """Module key -> the official grade that counts now (final, else on time)."""
    excused: set[str] = field(default_factory=set)
    pushes: list[Push] = field(default_factory=list)
    """Oldest first."""
    latest: tuple[ModuleResult, ...] = ()
    """The newest graded push's full results."""
    latest_sha: str = ""
    failures: int = 0
    """Commits that failed to grade (the grader's side, not the student's)."""
    _reached: dict[float, dict[str, dt.datetime]] = field(default_factory=dict, repr=False)

    @property
    def username(self) -> str:
        return self.person.username

    def reached(self, share: float = 1.0) -> dict[str, dt.datetime]:
        """Module folder -> when a push of this student first scored at least `share` of
        its points (1.0: complete)."""
        if share not in self._reached:
            found: dict[str, dt.datetime] = {}
            for push in self.pushes:
                for module, values in push.modules.items():
                    if module not in found and values[MAX] and values[SCORE] >= share * values[MAX]:
                        found[module] = push.pushed_at
            self._reached[share] = found
        return self._reached[share]


@dataclass
class ClassBook:
    course: Course
    students: list[Student]
    now: dt.datetime
    exceptions: Exceptions = NO_EXCEPTIONS
    problems: list[str] = field(default_factory=list)

    def due(self, student: Student, module: ModuleSpec) -> dt.datetime:
        """The module's due time for this student (an extension moves it)."""
        return self.exceptions.module_for(student.username, module).due


def read_state(path: Path) -> tuple[dict[str, RepositoryState], list[str]]:
    """Every repository entry of `grading.json` that parses; the others are named."""
    if not path.exists():
        return {}, [f"{path.name}: not found (no official grade yet)"]
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        entries = dict(data["repositories"])
    except (ValueError, KeyError, TypeError, OSError) as error:
        return {}, [f"{path.name}: unreadable, no official grade read ({error})"]
    found, problems = {}, []
    for name, entry in entries.items():
        one = json.dumps({"version": data.get("version"), "repositories": {name: entry}})
        try:
            found[name] = GradingState.from_json(one).repositories[name]
        except StateError as error:
            problems.append(f"{path.name}: repositories[{name!r}] skipped: {error}")
    return found, problems


def read_history(path: Path) -> tuple[list[Push], tuple[ModuleResult, ...], str]:
    """A student's graded pushes and newest results; raises ValueError when damaged."""
    try:
        data = json.loads(path.read_bytes())
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(str(error)) from None
    if not isinstance(data, dict) or data.get("version") != HISTORY_VERSION:
        raise ValueError(f"not a push history of version {HISTORY_VERSION}")
    if tuple(data.get("fields", ())) != MODULE_FIELDS:
        raise ValueError(f"its fields are not {', '.join(MODULE_FIELDS)}")
    if tuple(data.get("test_fields", ())) != TEST_FIELDS:
        raise ValueError(f"its test fields are not {', '.join(TEST_FIELDS)}")
    pushes = []
    try:
        for line in data["pushes"]:
            moment = parse_time(line["pushed_at"])
            if moment is None:
                raise ValueError(f"unreadable push time {line['pushed_at']!r}")
            modules = dict(line["modules"])
            if set(map(len, modules.values())) - {len(MODULE_FIELDS)}:
                raise ValueError("a module line of the wrong length")
            seconds = float(line["seconds"])
            pushes.append(Push(line["sha"], moment, seconds, line["isolation"], modules))
        latest = data.get("latest") or {}
        results = results_from_entry(latest.get("results", ()))
    except (KeyError, TypeError, AttributeError, ValueError) as error:
        raise ValueError(f"incomplete ({type(error).__name__}: {error})") from None
    return sorted(pushes, key=lambda push: push.pushed_at), results, str(latest.get("sha", ""))


def read_class(
    course: Course,
    state_folder: Path,
    roster: list[Person] | None,
    now: dt.datetime,
    exceptions: Exceptions = NO_EXCEPTIONS,
) -> ClassBook:
    """The class from `state_folder` (grading.json, pushes/); `roster` None: the students
    `state/` knows."""
    repositories, problems = read_state(state_folder / "grading.json")
    by_name = {
        remembered.student.lower(): (name, remembered) for name, remembered in repositories.items()
    }
    histories = {path.stem.lower(): path for path in (state_folder / "pushes").glob("*.json")}
    people = (
        roster
        if roster is not None
        else [Person(remembered.student) for _, remembered in sorted(by_name.values())]
    )
    if roster is not None:
        listed = {person.username.lower() for person in roster}
        strays = sorted(set(by_name) - listed)
        if strays:
            problems.append("not on the roster (left out): " + ", ".join(strays))
    students = []
    for person in people:
        student = Student(person)
        key = person.username.lower()
        student.excused = {
            m.key for m in course.modules if exceptions.excused(person.username, m.key)
        }
        if key in by_name:
            student.repository, remembered = by_name[key]
            student.failures = len(remembered.failures)
            for module in course.modules:
                grade = remembered.best(module.key)
                if grade is not None:
                    student.official[module.key] = grade
        if key in histories:
            try:
                student.pushes, student.latest, student.latest_sha = read_history(histories[key])
            except ValueError as error:
                problems.append(f"pushes/{histories[key].name}: skipped ({error})")
        students.append(student)
    return ClassBook(course, students, now, exceptions, problems)
