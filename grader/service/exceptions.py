"""Per-student exceptions: the grader repository's `exceptions.yml`, reviewed like code.

    extensions:
      - student: alice
        module: 3
        due: 2026-10-09      # the new due day: its end, in the course's time zone
        reason: "medical note, approved by the instructor"
    excused:
      - student: bob
        module: 5
        reason: "joined the course after module 05 was due"

An extension moves one student's due time for one module, and the late window with it;
an official stage already taken at the old due time is taken again at the new one
(`stale_stages`). An excused module is out of the student's total: never graded
officially, never a zero. The reason is for the instructors (kept out of what students
read). Every mistake stops the run with an error naming the file, the line and the
field: grading with half of a reviewed file would be worse than not grading this hour.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.course import Course, CourseConfigError, ModuleSpec
from grader.service.config import GITHUB_NAME
from grader.service.state import GradingState

try:
    import yaml
except ImportError:  # `plan` runs on the runner's own python3 (python3-yaml: see workflow)
    yaml = None  # type: ignore[assignment]

SECTIONS = ("extensions", "excused")
FIELDS = {
    "extensions": ("student", "module", "due", "reason"),
    "excused": ("student", "module", "reason"),
}


class ExceptionsError(CourseConfigError):
    """exceptions.yml does not validate; the message names file, line and field."""


@dataclass(frozen=True)
class Entry:
    """One entry: an extension (with `due`) or an excused module (`due` None)."""

    student: str
    module: str
    """The module key ("03")."""
    reason: str
    due: dt.datetime | None = None
    line: int = 0


@dataclass(frozen=True)
class Exceptions:
    """Every exception of the course, by (student in lower case, module key)."""

    extensions: dict[tuple[str, str], Entry] = field(default_factory=dict)
    excused_modules: dict[tuple[str, str], Entry] = field(default_factory=dict)

    def excused(self, student: str, key: str) -> bool:
        return (student.lower(), key) in self.excused_modules

    def module_for(self, student: str, module: ModuleSpec) -> ModuleSpec:
        """The module as it applies to `student`: with their extended due time, if any."""
        extension = self.extensions.get((student.lower(), module.key))
        return dataclasses.replace(module, due=extension.due) if extension else module

    def of(self, student: str) -> list[Entry]:
        """This student's exceptions, extensions first."""
        name = student.lower()
        found = [e for (who, _), e in self.extensions.items() if who == name]
        return found + [e for (who, _), e in self.excused_modules.items() if who == name]


NO_EXCEPTIONS = Exceptions()


def load_exceptions(path: Path, course: Course) -> Exceptions:
    """The exceptions in `path`; none when the file does not exist."""
    if not path.is_file():
        return NO_EXCEPTIONS
    if yaml is None:
        raise ExceptionsError(f"{path.name}: reading it needs PyYAML (python3-yaml)")
    return parse_exceptions(path.read_text(encoding="utf-8"), course, path.name)


def parse_exceptions(text: str, course: Course, source: str = "exceptions.yml") -> Exceptions:
    """Validate the YAML `text`, every field against the course."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{source}, line {mark.line + 1}" if mark else source
        problem = getattr(error, "problem", None) or error
        raise ExceptionsError(f"{where}: not valid YAML: {problem}") from None
    if root is None:
        return NO_EXCEPTIONS
    reader = _Reader(source)
    found: dict[str, dict[tuple[str, str], Entry]] = {name: {} for name in SECTIONS}
    for key_node, section in reader.pairs(root, "the top level"):
        name = key_node.value
        if name not in SECTIONS:
            raise reader.fail(key_node, name, "a section: " + " or ".join(SECTIONS))
        if not isinstance(section, yaml.SequenceNode):
            raise reader.fail(section, name, "a list of entries (each starting with '- ')")
        for index, node in enumerate(section.value):
            entry = _entry(reader, node, name, f"{name}[{index}]", course)
            where = (entry.student.lower(), entry.module)
            for other in SECTIONS:
                if where in found[other]:
                    twice = found[other][where]
                    raise reader.fail(
                        node,
                        f"{name}[{index}]",
                        f"one entry per student and module ({entry.student}, module "
                        f"{entry.module} is already in {other} at line {twice.line})",
                    )
            found[name][where] = entry
    return Exceptions(found["extensions"], found["excused"])


def _entry(reader: _Reader, node: Any, section: str, where: str, course: Course) -> Entry:
    allowed = FIELDS[section]
    values = {}
    for key_node, value_node in reader.pairs(node, where):
        if key_node.value not in allowed:
            raise reader.fail(key_node, f"{where}.{key_node.value}", "one of " + ", ".join(allowed))
        values[key_node.value] = (value_node, reader.value(value_node))
    for name in allowed:
        if name not in values:
            required = "a value (required: " + ", ".join(allowed) + ")"
            raise reader.fail(node, f"{where}.{name}", required)
    student_node, student = values["student"]
    if not isinstance(student, str) or not GITHUB_NAME.match(student):
        raise reader.fail(student_node, f"{where}.student", "a GitHub username", student)
    module_node, number = values["module"]
    numbers = [m.number for m in course.modules]
    if not isinstance(number, int) or isinstance(number, bool) or number not in numbers:
        expected = "a module number of classroom.yml"
        raise reader.fail(module_node, f"{where}.module", expected, number)
    module = course.module(number)
    reason_node, reason = values["reason"]
    if not isinstance(reason, str) or not reason.strip():
        raise reader.fail(reason_node, f"{where}.reason", "who asked and why, as text", reason)
    due = None
    if section == "extensions":
        due_node, day = values["due"]
        if isinstance(day, dt.datetime) or not isinstance(day, dt.date):
            raise reader.fail(due_node, f"{where}.due", "a day like 2026-10-09", day)
        due = dt.datetime.combine(day, module.due.time(), tzinfo=module.due.tzinfo)
        if due <= module.due:
            raise reader.fail(
                due_node, f"{where}.due", f"a day after module {module.key}'s due day "
                f"{module.due.date().isoformat()} (an extension moves it later)", day
            )  # fmt: skip
    line = node.start_mark.line + 1
    return Entry(student, module.key, reason.strip(), due, line)


class _Reader:
    """Reads composed YAML nodes; every error names the file, the line and the field."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.constructor = yaml.SafeLoader("")

    def fail(self, node: Any, key: str, expected: str, *got: Any) -> ExceptionsError:
        text = f"{self.source}, line {node.start_mark.line + 1}: {key}: expected {expected}"
        return ExceptionsError(text + (f", got {got[0]!r}" if got else ""))

    def pairs(self, node: Any, key: str) -> list[tuple[Any, Any]]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, key, "a mapping of keys to values")
        return list(node.value)

    def value(self, node: Any) -> Any:
        try:
            return self.constructor.construct_object(node, deep=True)
        except yaml.YAMLError as error:
            where = f"{self.source}, line {node.start_mark.line + 1}"
            raise ExceptionsError(f"{where}: {error}") from None


def drop_stale_stages(state: GradingState, course: Course, exceptions: Exceptions) -> list[str]:
    """Forget each official stage taken against a due time that is no longer the
    student's (an extension granted, changed or withdrawn since): the plan takes it again
    at the student's due time. A final stage goes with its on-time stage. Returns what was
    dropped, one line each, for the run's summary."""
    dropped = []
    modules = {module.key: module for module in course.modules}
    for name, remembered in state.repositories.items():
        for key, stages in remembered.official.items():
            if key not in modules:  # a module classroom.yml no longer has: left as it was
                continue
            due = exceptions.module_for(remembered.student, modules[key]).due
            taken = [grade.due or modules[key].due for grade in stages.values()]
            if all(moment == due for moment in taken):
                continue
            stages.clear()
            local = due.strftime("%Y-%m-%d %H:%M %Z")
            dropped.append(f"{name}: module {key} is taken again at its due time {local}")
    return dropped
