"""Load and validate `classroom.yml`, the course manifest.

Every mistake stops with a `CourseConfigError` that names the key and says what was
expected, so an instructor can fix the file without reading this code.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

try:
    import yaml
except ModuleNotFoundError:  # the grader repository's `plan` runs on the bare runner
    yaml = None

SLUG_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
PREREQUISITE_SOURCES = ("reference", "submission")
UNLOCK_RULES = ("release_date",)


class CourseConfigError(ValueError):
    """classroom.yml is missing, unreadable or has a wrong value."""


@dataclass(frozen=True)
class ModuleSpec:
    """One assignment of the course."""

    number: int
    """1-99; also the two-digit prefix of the module's directory."""
    slug: str
    """Lower-case name: the module file is `<slug>.py`, the directory `NN_<slug>`."""
    title: str
    points: float
    """What the module is worth; test points are scaled to this total."""
    release: dt.date
    due: dt.datetime
    """Deadline (end of the due day in the course time zone)."""
    prerequisites: tuple[int, ...]

    @property
    def key(self) -> str:
        """The two-digit module number, as used on the command line (`01`)."""
        return f"{self.number:02d}"

    @property
    def dirname(self) -> str:
        """The module's directory name in solutions/, starter/ and assignments/."""
        return f"{self.number:02d}_{self.slug}"

    @property
    def filename(self) -> str:
        """The student's module file."""
        return f"{self.slug}.py"


def hand_ins_close(module: ModuleSpec, course: Course) -> dt.datetime:
    """When the last late hand-in of `module` is due (the end of its late window)."""
    return module.due + dt.timedelta(days=course.policies.max_late_days)


def late_fraction(module: ModuleSpec, policies: Policies, when: dt.datetime) -> tuple[float, int]:
    """(fraction of the score lost, started days late) for a hand-in at `when`."""
    if when <= module.due:
        return 0.0, 0
    days = math.ceil((when - module.due).total_seconds() / 86400)
    if days > policies.max_late_days:
        return 1.0, days
    return min(1.0, days * policies.late_penalty_per_day), days


def not_published(module: ModuleSpec) -> str:
    """What a student reads, wherever it is said, about a module the course has no tests
    for yet (listed in classroom.yml, but not published by the instructors)."""
    return (
        f"module {module.key} ({module.title}) is not published yet: your course has no "
        f"tests for it (release date {module.release}), so it cannot be unlocked or graded "
        "until your instructors publish it"
    )


@dataclass(frozen=True)
class Policies:
    """Course-wide rules from classroom.yml."""

    timezone: ZoneInfo
    unlock_rule: str
    require_prerequisites: bool
    prerequisite_min_score: float
    late_penalty_per_day: float
    max_late_days: int
    time_limit_seconds: float
    memory_limit_mb: int
    prerequisites_from: str
    hang_budget_seconds: float = 60.0
    """Once the student's code has run this long in a module's test process (hung tests
    count their full limit), the module's remaining tests fail at once."""
    late_day_bank: int = 0
    """Late days each student may spend across the course without penalty (0: none)."""


@dataclass(frozen=True)
class Course:
    """The whole manifest."""

    name: str
    grader_repository: str
    policies: Policies
    modules: tuple[ModuleSpec, ...]

    def module(self, key: str | int) -> ModuleSpec:
        """Find a module by number (`1`, `"05"`), directory name (`"01_tensor"`) or slug
        (`"tensor"`): students type whichever they see."""
        text = str(key).strip()
        number_text, _, slug = text.partition("_")
        if number_text.isdigit():
            for module in self.modules:
                if module.number == int(number_text) and slug in ("", module.slug):
                    return module
        for module in self.modules:
            if text.lower() == module.slug:
                return module
        known = ", ".join(m.key for m in self.modules)
        raise CourseConfigError(f"there is no module {text!r} in classroom.yml (known: {known})")

    def prerequisite_closure(self, module: ModuleSpec) -> list[ModuleSpec]:
        """Every module that `module` depends on, directly or not, in course order."""
        needed: set[int] = set()
        stack = list(module.prerequisites)
        while stack:
            number = stack.pop()
            if number not in needed:
                needed.add(number)
                stack.extend(self.module(number).prerequisites)
        return [m for m in self.modules if m.number in needed]

    def today(self, given: str | None = None) -> dt.date:
        """`given` (an ISO date, as `--today` pins it), or today in the course's time zone."""
        return (
            dt.date.fromisoformat(given)
            if given
            else dt.datetime.now(self.policies.timezone).date()
        )


MANIFEST_JSON = "classroom.json"
"""classroom.yml as JSON, for the grader repository's jobs that run without PyYAML."""


def read_manifest(path: Path) -> Any:
    """The parsed YAML of the manifest at `path` (not validated yet); without PyYAML, the
    JSON copy `make release` writes beside it in the grader bundle (refused if
    classroom.yml changed since)."""
    if not path.is_file():
        raise CourseConfigError(f"{path}: file not found (the course manifest is classroom.yml)")
    if yaml is None:
        return _read_manifest_json(path)
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise CourseConfigError(f"{path}: not valid YAML: {error}") from None


def write_manifest_json(path: Path) -> None:
    """Write MANIFEST_JSON beside the manifest at `path`, with the hash of its text."""
    copy = {"source_sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    copy["manifest"] = read_manifest(path)
    text = json.dumps(copy, indent=1, default=str) + "\n"
    path.with_name(MANIFEST_JSON).write_text(text, encoding="utf-8")


def _read_manifest_json(path: Path) -> Any:
    twin = path.with_name(MANIFEST_JSON)
    if not twin.is_file():
        raise CourseConfigError(
            f"{path}: reading it needs PyYAML (make venv), or the {MANIFEST_JSON} that "
            "make release writes beside it in the grader bundle"
        )
    copy = json.loads(twin.read_text(encoding="utf-8"))
    if copy.get("source_sha256") != hashlib.sha256(path.read_bytes()).hexdigest():
        raise CourseConfigError(
            f"{path} changed after {MANIFEST_JSON} was written: run make release again "
            "(it writes both)"
        )
    return copy["manifest"]


def load_course(path: Path) -> Course:
    """Read and validate the manifest at `path`."""
    return parse_course(read_manifest(path), source=path.name)


def parse_course(raw: Any, source: str = "classroom.yml") -> Course:
    """Validate the parsed YAML document and build a `Course`."""
    reader = ConfigReader(source)
    top = reader.mapping(raw, "")
    course = reader.mapping(top.get("course"), "course")
    name = reader.text(course.get("name"), "course.name")
    grader_repository = reader.text(
        course.get("grader_repository", ""), "course.grader_repository", allow_empty=True
    )
    zone_name = reader.text(course.get("timezone", "UTC"), "course.timezone")
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise reader.error(
            "course.timezone", "an IANA time zone such as 'Europe/Berlin'", zone_name
        ) from None
    unlock = reader.mapping(top.get("unlock", {}), "unlock")
    late = reader.mapping(top.get("late_policy", {}), "late_policy")
    grading = reader.mapping(top.get("grading", {}), "grading")
    policies = Policies(
        timezone=zone,
        unlock_rule=reader.choice(unlock.get("rule", "release_date"), "unlock.rule", UNLOCK_RULES),
        require_prerequisites=reader.boolean(
            unlock.get("require_prerequisites", False), "unlock.require_prerequisites"
        ),
        prerequisite_min_score=reader.number(
            unlock.get("prerequisite_min_score", 0.6), "unlock.prerequisite_min_score", 0, 1
        ),
        late_penalty_per_day=reader.number(
            late.get("penalty_per_day", 0.0), "late_policy.penalty_per_day", 0, 1
        ),
        max_late_days=int(
            reader.number(
                late.get("max_late_days", 0), "late_policy.max_late_days", 0, 365, integer=True
            )
        ),
        late_day_bank=int(
            reader.number(
                late.get("late_day_bank", 0), "late_policy.late_day_bank", 0, 365, integer=True
            )
        ),
        time_limit_seconds=reader.number(
            grading.get("time_limit_seconds", 20), "grading.time_limit_seconds", 1, 3600
        ),
        memory_limit_mb=int(
            reader.number(
                grading.get("memory_limit_mb", 2048),
                "grading.memory_limit_mb",
                256,
                65536,
                integer=True,
            )
        ),
        prerequisites_from=reader.choice(
            grading.get("prerequisites_from", "reference"),
            "grading.prerequisites_from",
            PREREQUISITE_SOURCES,
        ),
        hang_budget_seconds=reader.number(
            grading.get("hang_budget_seconds", 60), "grading.hang_budget_seconds", 1, 3600
        ),
    )
    entries = top.get("modules")
    if not isinstance(entries, list) or not entries:
        raise reader.error("modules", "a non-empty list of modules", entries)
    modules = tuple(reader.module(entry, f"modules[{i}]", zone) for i, entry in enumerate(entries))
    _check_modules(reader, modules)
    return Course(name, grader_repository, policies, modules)


def _check_modules(reader: ConfigReader, modules: tuple[ModuleSpec, ...]) -> None:
    """Numbers and slugs are unique, prerequisites exist and come earlier."""
    seen: dict[int, int] = {}
    slugs: set[str] = set()
    for index, module in enumerate(modules):
        where = f"modules[{index}]"
        if module.number in seen:
            raise reader.error(
                f"{where}.number",
                "a number used by no other module",
                f"{module.number} (also modules[{seen[module.number]}])",
            )
        if module.slug in slugs:
            raise reader.error(f"{where}.slug", "a slug used by no other module", module.slug)
        seen[module.number] = index
        slugs.add(module.slug)
        for prerequisite in module.prerequisites:
            if prerequisite not in seen:
                raise reader.error(
                    f"{where}.prerequisites",
                    "numbers of modules listed earlier in the file",
                    prerequisite,
                )
        if module.due.date() < module.release:
            raise reader.error(
                f"{where}.due",
                f"a date on or after the release {module.release}",
                module.due.date(),
            )


class ConfigReader:
    """Typed accessors that raise `CourseConfigError` naming the key."""

    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, key: str, expected: str, got: Any) -> CourseConfigError:
        where = key or "the top level"
        return CourseConfigError(f"{self.source}: {where}: expected {expected}, got {got!r}")

    def mapping(self, value: Any, key: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.error(key, "a mapping of keys to values", value)
        return value

    def text(self, value: Any, key: str, allow_empty: bool = False) -> str:
        if not isinstance(value, str) or (not allow_empty and not value.strip()):
            raise self.error(key, "a non-empty string", value)
        return value

    def boolean(self, value: Any, key: str) -> bool:
        if not isinstance(value, bool):
            raise self.error(key, "true or false", value)
        return value

    def choice(self, value: Any, key: str, options: tuple[str, ...]) -> str:
        if value not in options:
            raise self.error(key, "one of " + ", ".join(options), value)
        return value

    def number(self, value: Any, key: str, low: float, high: float, integer: bool = False) -> float:
        kind = "an integer" if integer else "a number"
        valid = isinstance(value, int | float) and not isinstance(value, bool)
        if not valid or (integer and value != int(value)) or not low <= value <= high:
            raise self.error(key, f"{kind} from {low} to {high}", value)
        return float(value)

    def date(self, value: Any, key: str) -> dt.date:
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
        raise self.error(key, "a date like 2026-09-14", value)

    def module(self, value: Any, key: str, zone: ZoneInfo) -> ModuleSpec:
        entry = self.mapping(value, key)
        required = ("number", "slug", "title", "points", "release", "due")
        for name in required:
            if name not in entry:
                raise self.error(
                    f"{key}.{name}", "a value (required: " + ", ".join(required) + ")", None
                )
        unknown = set(entry) - set(required) - {"prerequisites"}
        if unknown:
            raise self.error(
                f"{key}.{sorted(unknown)[0]}",
                "only the keys " + ", ".join((*required, "prerequisites")),
                sorted(unknown)[0],
            )
        slug = entry["slug"]
        if not isinstance(slug, str) or not SLUG_PATTERN.match(slug):
            raise self.error(
                f"{key}.slug", "lower-case letters, digits and _ (like 'tensor')", slug
            )
        prerequisites = entry.get("prerequisites", [])
        if not isinstance(prerequisites, list) or not all(
            isinstance(p, int) and not isinstance(p, bool) for p in prerequisites
        ):
            raise self.error(
                f"{key}.prerequisites", "a list of module numbers like [1, 2]", prerequisites
            )
        due_day = self.date(entry["due"], f"{key}.due")
        return ModuleSpec(
            number=int(self.number(entry["number"], f"{key}.number", 1, 99, integer=True)),
            slug=slug,
            title=self.text(entry["title"], f"{key}.title"),
            points=self.number(entry["points"], f"{key}.points", 0.5, 10000),
            release=self.date(entry["release"], f"{key}.release"),
            due=dt.datetime.combine(due_day, dt.time(23, 59, 59), tzinfo=zone),
            prerequisites=tuple(prerequisites),
        )
