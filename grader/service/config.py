"""The `delivery` section of classroom.yml: where the students' repositories are.

Two ways to run the course, both read by the instructors' grader repository:

- Classroom 50: `gh student accept` names each repository
  `<classroom>-<assignment>-<username>` (lower case), and the official grade goes into
  `<org>/classroom50`'s `<classroom>/scores.json` as a teacher override;
- a plain GitHub organization: student repositories are named `<prefix><username>`,
  and the gradebook is the grader repository's own `state/` (no scores.json).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.course import ConfigReader, read_manifest

PLATFORMS = ("classroom50", "organization")
GRADE_JOB_MINUTES = 120
"""`timeout-minutes` of the grader workflow's grade job (grade-students.yml)."""
JOB_SETUP_SECONDS = 600.0
"""What a grade job spends before and after grading: runner, checkout, environment,
bubblewrap, the plan and results artifacts (measured 1-2 minutes; kept generous)."""
COMMIT_WORST_SECONDS = 960.0
"""The longest one commit can take: the grading run's cap (grader/grade/session.py,
900 s) plus its fetch."""


def derived_batch_size() -> int:
    """Students per grade job such that even every student's worst case fits the job."""
    return max(1, int((GRADE_JOB_MINUTES * 60 - JOB_SETUP_SECONDS) // COMMIT_WORST_SECONDS))


PLACEHOLDER_ORGANIZATION = "your-org"
SHORT_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{1,99}$")
GITHUB_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}$")


@dataclass(frozen=True)
class Delivery:
    """Where the course's student repositories live and where official grades go."""

    platform: str
    organization: str
    repository_prefix: str
    """Student repositories are `<prefix><username>` (lower case for Classroom 50)."""
    classroom: str = ""
    assignment: str = ""
    batch_size: int = 0
    """Students per grading job of the matrix (one runner each); 0: derived_batch_size()."""

    @property
    def scores_repository(self) -> str:
        """The Classroom 50 config repository that holds scores.json, or ""."""
        return f"{self.organization}/classroom50" if self.platform == "classroom50" else ""

    def student_of(self, repository_name: str) -> str | None:
        """The student a repository belongs to, or None if it is not a student repository."""
        name = repository_name.lower() if self.platform == "classroom50" else repository_name
        prefix = self.repository_prefix
        if not name.startswith(prefix) or len(name) == len(prefix):
            return None
        student = repository_name[len(prefix) :]
        return student if GITHUB_NAME.match(student) else None


def load_delivery(path: Path) -> Delivery:
    """The `delivery` section of the classroom.yml at `path`."""
    return parse_delivery(read_manifest(path), source=path.name)


def parse_delivery(raw: Any, source: str = "classroom.yml") -> Delivery:
    reader = ConfigReader(source)
    top = reader.mapping(raw, "")
    section = reader.mapping(top.get("delivery"), "delivery")
    platform = reader.choice(section.get("platform"), "delivery.platform", PLATFORMS)
    organization = reader.text(section.get("organization"), "delivery.organization")
    if not GITHUB_NAME.match(organization):
        raise reader.error("delivery.organization", "a GitHub organization name", organization)
    batch_size = int(
        reader.number(
            section.get("batch_size", derived_batch_size()),
            "delivery.batch_size",
            1,
            500,
            integer=True,
        )
    )
    if platform == "organization":
        prefix = reader.text(section.get("repository_prefix"), "delivery.repository_prefix")
        return Delivery(platform, organization, prefix, batch_size=batch_size)
    names = {}
    for key in ("classroom", "assignment"):
        value = reader.text(section.get(key), f"delivery.{key}")
        if not SHORT_NAME.match(value):
            raise reader.error(
                f"delivery.{key}", "Classroom 50's short name (a-z, 0-9 and -)", value
            )
        names[key] = value
    prefix = f"{names['classroom']}-{names['assignment']}-"
    return Delivery(platform, organization, prefix, batch_size=batch_size, **names)


def placeholder_problem(grader_repository: str, delivery: Delivery | None) -> str | None:
    """Why a release cannot go out yet (the template's placeholder names), or None."""
    owners = {grader_repository.split("/", 1)[0]}
    if delivery is not None:
        owners.add(delivery.organization)
    if PLACEHOLDER_ORGANIZATION in owners or not grader_repository.count("/") == 1:
        return (
            "classroom.yml still names the placeholder organization 'your-org': set "
            "course.grader_repository (like my-course/tinytorch-grader) and "
            "delivery.organization to your own GitHub organization, then run make release."
        )
    return None
