"""The class list: Classroom 50's `roster.csv` or any CSV with a `username` column.

Classroom 50's header is `username,first_name,last_name,email,section,github_id,role`;
other columns are kept when present (`sis_user_id`, `sis_login_id`, `canvas_id` feed the
Canvas export). A row whose role is not a student's (teacher, TA) is left out. The
roster is what makes a student who never accepted the assignment appear, with 0.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from grader.course import CourseConfigError

STUDENT_ROLES = ("", "student")


class RosterError(CourseConfigError):
    """The roster cannot be read at all (a bad row is only reported)."""


@dataclass(frozen=True)
class Person:
    """One student as the roster names them."""

    username: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    section: str = ""
    sis_user_id: str = ""
    sis_login_id: str = ""
    canvas_id: str = ""

    @property
    def sortable_name(self) -> str:
        """`Last, First` as Canvas lists students (the username when no name is known)."""
        if self.last_name or self.first_name:
            return ", ".join(part for part in (self.last_name, self.first_name) if part)
        return self.username


def read_roster(path: Path) -> tuple[list[Person], list[str]]:
    """(the students, problems with single rows). A file without a `username` column, or
    that cannot be read, is a RosterError."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise RosterError(f"{path}: cannot read the roster ({error})") from None
    rows = csv.DictReader(text.splitlines())
    header = [name.strip().lower() for name in rows.fieldnames or []]
    if "username" not in header:
        raise RosterError(
            f"{path.name}: line 1: the roster needs a 'username' column (GitHub usernames), "
            f"found {', '.join(header) or 'no header'}"
        )
    rows.fieldnames = header
    people: dict[str, Person] = {}
    problems = []
    for line, row in enumerate(rows, start=2):
        values = {key: (value or "").strip() for key, value in row.items() if key}
        if values.get("role", "").lower() not in STUDENT_ROLES:
            continue
        username = values.get("username", "")
        if not username:
            problems.append(f"{path.name}: line {line}: no username; row left out")
            continue
        if username.lower() in people:
            problems.append(f"{path.name}: line {line}: {username} is listed twice; first kept")
            continue
        fields = {key: values.get(key, "") for key in Person.__dataclass_fields__}
        people[username.lower()] = Person(**fields)
    return list(people.values()), problems
