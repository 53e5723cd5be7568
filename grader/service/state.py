"""What the grader repository remembers between runs (`state/grading.json`, committed).

Per student repository: the newest commit seen on its default branch and when GitHub
recorded its push, the commit whose feedback was last published, failed attempts, the
feedback thread, and every official grade taken at a due date (with the commit graded).
It is saved after each repository is published, atomically (a new file renamed over the
old), so a run cut off half-way resumes where it stopped: nothing graded is lost, and a
repository whose publishing did not finish is graded again.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path

from grader.timestamps import format_time, parse_time

VERSION = 1
MAX_ATTEMPTS = 3
"""A commit that failed to grade this often is reported and no longer retried."""


class Stage(StrEnum):
    """When an official grade is taken (its value is how `state/` spells it)."""

    ON_TIME = "on_time"
    """At the due time: the last push before it, no penalty."""
    FINAL = "final"
    """After the late window: the better of on time and late (with its penalty)."""


class StateError(ValueError):
    """The state file is unreadable; it is never silently replaced."""


@dataclass(frozen=True)
class OfficialGrade:
    """One module's official grade at one stage: `on_time` (the last push before the due
    time) or `final` (after the late window, the better of on time and late)."""

    stage: Stage
    commit: str
    """The graded commit, or "" when nothing was pushed before the due time."""
    pushed_at: dt.datetime | None
    """When GitHub recorded the push of that commit (None: nothing was pushed)."""
    score: float
    """After the late penalty."""
    max_score: float
    late_penalty: float
    note: str
    graded_at: dt.datetime
    due: dt.datetime | None = None
    """The due time this stage was taken against (None: the course's, as before
    extensions existed); a stage whose student's due time moved is taken again."""
    late_days_used: int = 0
    """Days of the course's late-day bank this grade spent (no penalty for them)."""

    def to_dict(self) -> dict:
        """As `state/grading.json` spells it: times in GitHub's format."""
        pushed = format_time(self.pushed_at) if self.pushed_at else ""
        due = format_time(self.due) if self.due else ""
        times = {"pushed_at": pushed, "graded_at": format_time(self.graded_at), "due": due}
        return {**asdict(self), **times}

    @classmethod
    def from_dict(cls, data: dict) -> OfficialGrade:
        """Times parsed here, once; a time that does not parse is an error, never a guess."""
        pushed = parse_time(data["pushed_at"]) if data["pushed_at"] else None
        graded = parse_time(data["graded_at"])
        due = parse_time(data["due"]) if data.get("due") else None
        unreadable = graded is None or (data["pushed_at"] and pushed is None)
        if unreadable or (data.get("due") and due is None):
            raise ValueError(f"an official grade has an unreadable time: {data!r}")
        return cls(**{**data, "stage": Stage(data["stage"]), "pushed_at": pushed,
                      "graded_at": graded, "due": due})  # fmt: skip


@dataclass
class RepositoryState:
    student: str
    listed_push: str = ""
    """The repository's `pushed_at` when its history was last read."""
    head: str = ""
    head_pushed_at: str = ""
    published: str = ""
    """The commit whose hidden-test feedback was last posted."""
    thread: int = 0
    """The Feedback pull request or issue that carries comments (0: not known yet)."""
    failures: dict[str, int] = field(default_factory=dict)
    official: dict[str, dict[str, OfficialGrade]] = field(default_factory=dict)
    """Module key ("01") -> stage -> grade."""
    announced: list[str] = field(default_factory=list)
    """The exceptions (exceptions.yml) the student was told about, as `announcement` keys."""

    def given_up(self, sha: str) -> bool:
        """Whether `sha` failed to grade too often to be tried again by itself."""
        return self.failures.get(sha, 0) >= MAX_ATTEMPTS

    def late_days_used(self, besides: str = "") -> int:
        """Late-bank days the final grades of modules other than `besides` spent."""
        finals = [
            stages[Stage.FINAL]
            for key, stages in self.official.items()
            if key != besides and Stage.FINAL in stages
        ]
        return sum(grade.late_days_used for grade in finals)

    def best(self, module: str) -> OfficialGrade | None:
        """The module's final grade if the late window closed, else its on-time grade."""
        stages = self.official.get(module, {})
        return stages.get(Stage.FINAL) or stages.get(Stage.ON_TIME)


@dataclass
class GradingState:
    repositories: dict[str, RepositoryState] = field(default_factory=dict)
    scores_pending: list[str] = field(default_factory=list)
    """Repositories whose official grade is not yet in Classroom 50's scores.json."""

    def repository(self, full_name: str, student: str) -> RepositoryState:
        return self.repositories.setdefault(full_name, RepositoryState(student))

    def to_json(self) -> str:
        data = {"version": VERSION, **asdict(self)}
        for name, remembered in self.repositories.items():
            data["repositories"][name]["official"] = {
                module: {stage: grade.to_dict() for stage, grade in stages.items()}
                for module, stages in remembered.official.items()
            }
        return json.dumps(data, indent=1, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> GradingState:
        try:
            data = json.loads(text)
            if data.get("version") != VERSION:
                raise ValueError(f"version {data.get('version')!r}, expected {VERSION}")
            repositories = {}
            for name, entry in data["repositories"].items():
                official = {
                    module: {
                        Stage(stage): OfficialGrade.from_dict(grade)
                        for stage, grade in stages.items()
                    }
                    for module, stages in entry.pop("official").items()
                }
                repositories[name] = RepositoryState(**entry, official=official)
            return cls(repositories, list(data.get("scores_pending", [])))
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise StateError(f"the grading state is unreadable: {error}") from None


def load_state(path: Path) -> GradingState:
    """The saved state, or an empty one on the first run."""
    if not path.exists():
        return GradingState()
    return GradingState.from_json(path.read_text(encoding="utf-8"))


def save_state(state: GradingState, path: Path) -> None:
    """Write atomically: a reader sees the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(state.to_json(), encoding="utf-8")
    os.replace(partial, path)
