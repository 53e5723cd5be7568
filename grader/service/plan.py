"""Which commits to grade in this run, split into batches for the Actions matrix.

Two reasons to grade a commit of a student repository:
- feedback: it is the newest commit on the default branch and its hidden-test results
  were not published yet;
- an official grade, for a module whose due time has passed: the `on_time` stage grades
  the last commit pushed before the due time; once the late window
  (`late_policy.max_late_days`) has closed, the `final` stage grades the last commit
  pushed before it closed, and judges its lateness by the module's own file: the first
  push from which the module file stayed as it is in that commit (a later push that
  changed only other modules never makes a module later). Push times are the ones GitHub
  recorded (repository activity), never commit dates.
A commit needed for several reasons is graded once. A repository's push history is read
only when it was pushed to since the last run or an official grade is due, so a quiet
class costs one listing per 100 repositories. A regrade (`Regrade`: a teacher's request,
for one student or everyone, one module or all) plans those modules' due stages again,
whatever was recorded or failed before, and nothing else; the plan carries who asked
and why (`Plan.request`), for the record publishing keeps. Per-student exceptions
(exceptions.yml) apply: an excused module has no official stage, an extended one is due
at the student's own time.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field

from grader.course import Course, ModuleSpec
from grader.github.client import GitHub, GitHubError
from grader.github.repos import (
    Push,
    folder_blobs,
    last_push_by,
    push_history,
    student_repositories,
)
from grader.layout import Layout
from grader.service.config import Delivery
from grader.service.exceptions import NO_EXCEPTIONS, Exceptions
from grader.service.state import MAX_ATTEMPTS, GradingState, RepositoryState, Stage
from grader.timestamps import format_time, parse_time


@dataclass(frozen=True)
class Job:
    """One commit of one student repository to grade."""

    repository: str
    student: str
    sha: str
    """"" for an official stage with nothing pushed before its time: scored 0, not graded."""
    pushed_at: dt.datetime | None
    """When GitHub recorded the push (None for an official stage with nothing pushed)."""
    modules: tuple[str, ...]
    """Module keys to grade ("01")."""
    feedback: bool = False
    official: tuple[tuple[str, Stage], ...] = ()
    """(module key, stage) pairs this commit is the official candidate for."""
    late_since: tuple[tuple[str, dt.datetime], ...] = ()
    """(module key, time) for a `final` stage: the first push from which the module's own
    files were as in this commit; its lateness counts, not this commit's push time."""

    def to_dict(self) -> dict:
        """As the plan file spells it: times in GitHub's format."""
        pushed = format_time(self.pushed_at) if self.pushed_at else ""
        late = [(key, format_time(at)) for key, at in self.late_since]
        return {**asdict(self), "pushed_at": pushed, "late_since": late}

    @classmethod
    def from_dict(cls, data: dict) -> Job:
        """Times parsed here, once (an unreadable one is a ValueError)."""
        official = tuple((str(key), Stage(stage)) for key, stage in data["official"])
        late = tuple((str(key), _time(at)) for key, at in data.get("late_since", ()))
        pushed = _time(data["pushed_at"]) if data["pushed_at"] else None
        return cls(**{**data, "pushed_at": pushed, "modules": tuple(data["modules"]),
                      "official": official, "late_since": late})  # fmt: skip

    def judged_at(self, module: str) -> dt.datetime | None:
        """The push time whose lateness counts for `module`."""
        return dict(self.late_since).get(module, self.pushed_at)


ALL_MODULES = "all"


@dataclass(frozen=True)
class Regrade:
    """A teacher's request: grade modules again at every stage now due."""

    student: str
    """A GitHub username, or "" for every student."""
    module: str
    """A module ("03") or ALL_MODULES."""
    requested_by: str
    reason: str

    def includes_module(self, module: ModuleSpec) -> bool:
        return self.module == ALL_MODULES or module.number == int(self.module)

    def includes_student(self, student: str) -> bool:
        return not self.student or student.lower() == self.student.lower()

    def describe(self) -> str:
        who = self.student or "every student"
        what = "every module" if self.module == ALL_MODULES else f"module {self.module}"
        return f"regrade of {what} for {who}, asked by {self.requested_by}: {self.reason}"


@dataclass(frozen=True)
class Seen:
    """A repository's default branch as this run found it (saved once published)."""

    student: str
    listed_push: str
    head: str
    head_pushed_at: str


@dataclass(frozen=True)
class Plan:
    created_at: str
    batches: tuple[tuple[Job, ...], ...]
    seen: dict[str, Seen] = field(default_factory=dict)
    """Repositories whose push history this run read."""
    report: tuple[str, ...] = ()
    request: dict[str, str] = field(default_factory=dict)
    """A regrade's request (`Regrade` as a dict): who asked, why, for whom, which modules."""

    def to_json(self) -> str:
        data = asdict(self)
        data["batches"] = [[job.to_dict() for job in batch] for batch in self.batches]
        return json.dumps(data, indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Plan:
        data = json.loads(text)
        batches = tuple(tuple(Job.from_dict(job) for job in batch) for batch in data["batches"])
        seen = {name: Seen(**value) for name, value in data.get("seen", {}).items()}
        report, request = tuple(data.get("report", ())), dict(data.get("request", {}))
        return cls(data["created_at"], batches, seen, report, request)


def _time(text: str) -> dt.datetime:
    """A time of the plan file; an unreadable one is an error, never a guess."""
    moment = parse_time(text)
    if moment is None:
        raise ValueError(f"the plan holds an unreadable time: {text!r}")
    return moment


def late_window_end(module: ModuleSpec, course: Course) -> dt.datetime:
    return module.due + dt.timedelta(days=course.policies.max_late_days)


def graded_modules(course: Course, layout: Layout) -> list[ModuleSpec]:
    """Modules this course has tests for."""
    return [m for m in course.modules if layout.visible_tests(m).is_dir()]


def make_plan(
    github: GitHub,
    delivery: Delivery,
    course: Course,
    layout: Layout,
    state: GradingState,
    now: dt.datetime,
    regrade: Regrade | None = None,
    exceptions: Exceptions = NO_EXCEPTIONS,
) -> Plan:
    """List the course's repositories and decide what to grade (only `regrade`, if given)."""
    modules = graded_modules(course, layout)
    if regrade is not None:
        modules = [m for m in modules if regrade.includes_module(m)]
    jobs: list[Job] = []
    seen: dict[str, Seen] = {}
    report: list[str] = []
    silent: list[str] = []
    repositories = student_repositories(github, delivery.organization, delivery.student_of)
    for repository in repositories:
        if regrade is not None and not regrade.includes_student(repository.student):
            continue
        remembered = state.repository(repository.full_name, repository.student)
        if regrade is not None:  # the stages again, as if never taken nor failed
            remembered = RepositoryState(repository.student, head=remembered.head)
        if repository.archived and regrade is None:
            report.append(f"{repository.full_name}: archived, not graded")
            continue
        own = [
            exceptions.module_for(repository.student, m)
            for m in modules
            if not exceptions.excused(repository.student, m.key)
        ]
        due_stages = _pending_stages(remembered.official, own, course, now)
        changed = repository.pushed_at != remembered.listed_push
        if not (changed or due_stages):
            head, head_at = remembered.head, remembered.head_pushed_at
            pushes: list[Push] = []
        else:
            # Back to the due time: a final stage looks at the late pushes before it.
            oldest = min((module.due for module, _, _ in due_stages), default=now)
            try:
                pushes = push_history(github, repository, stop_before=oldest)
                pushes = [p for p in pushes if p.pushed_at <= now]  # `--now` in the past
            except GitHubError as error:
                report.append(f"{repository.full_name}: push history unreadable ({error})")
                continue
            head = pushes[0].sha if pushes else ""
            head_at = format_time(pushes[0].pushed_at) if pushes else ""
            seen[repository.full_name] = Seen(
                repository.student, repository.pushed_at, head, head_at
            )
        if not head:
            silent.append(repository.student)

        wanted: dict[str, dict] = {}
        feedback_due = head != remembered.published and regrade is None
        if head and feedback_due and not remembered.given_up(head):
            released = [m.key for m in modules if m.release <= _local_day(head_at, course)]
            pushed = parse_time(head_at)
            wanted[head] = {"pushed_at": pushed, "modules": set(released), "feedback": True}
        for module, stage, moment in due_stages:
            push = last_push_by(pushes, moment)
            sha, at = (push.sha, push.pushed_at) if push else ("", None)
            if sha and remembered.given_up(sha):
                report.append(
                    f"{repository.full_name}: module {module.key} ({stage}) waits: commit "
                    f"{sha[:7]} failed to grade {MAX_ATTEMPTS} times; regrade it (Run workflow "
                    f"with module {module.key}, student {repository.student} and a reason)"
                )
                continue
            entry = wanted.setdefault(sha, {"pushed_at": at, "modules": set(), "feedback": False})
            entry["modules"].add(module.key)
            entry.setdefault("official", []).append((module.key, stage))
            if stage == Stage.FINAL and push is not None and push.pushed_at > module.due:
                try:
                    since = _unchanged_since(github, repository.full_name, pushes, push, module)
                except GitHubError as error:
                    report.append(f"{repository.full_name}: module {module.key} waits ({error})")
                    del entry["official"][-1]
                    continue
                entry.setdefault("late_since", []).append((module.key, since))
        for sha, entry in wanted.items():
            jobs.append(
                Job(
                    repository=repository.full_name,
                    student=repository.student,
                    sha=sha,
                    pushed_at=entry["pushed_at"],
                    modules=tuple(sorted(entry["modules"])) if sha else (),
                    feedback=entry["feedback"],
                    official=tuple(sorted(entry.get("official", []))),
                    late_since=tuple(sorted(entry.get("late_since", []))),
                )
            )
    if silent:
        report.append(f"{len(silent)} without a push yet: " + ", ".join(silent))
    if regrade is not None:
        report.append(regrade.describe())
    if regrade is not None and not jobs:
        report.append(
            f"regrade: nothing to grade for {regrade.student or 'anyone'}, module(s) "
            f"{regrade.module} (no such student repository, or not due yet)"
        )
    report.append(
        f"{len(repositories)} student repositories, {len(jobs)} commit(s) to grade; "
        + github.stats.summary()
    )
    request = asdict(regrade) if regrade is not None else {}
    batches = _batches(jobs, delivery.batch_size)
    return Plan(format_time(now), batches, seen, tuple(report), request)


def _unchanged_since(
    github: GitHub, full_name: str, pushes: list[Push], final: Push, module: ModuleSpec
) -> dt.datetime:
    """When the module's graded file (`assignments/NN_slug/<module>.py`, all the grader
    reads of it) last became what it is in `final`: walking back through the pushes, the
    earliest one from which it stayed the same (at most the last push before the due
    time, which makes it on time)."""
    folder = f"assignments/{module.dirname}"

    def graded_file(sha: str) -> str | None:
        return folder_blobs(github, full_name, sha, folder).get(module.filename)

    wanted = graded_file(final.sha)
    since = final.pushed_at
    earlier = sorted((p for p in pushes if p.pushed_at < final.pushed_at), key=_newest_first)
    for push in earlier:
        if graded_file(push.sha) != wanted:
            break
        since = push.pushed_at
        if since <= module.due:  # unchanged since before the due time: on time
            break
    return since


def _newest_first(push: Push) -> float:
    return -push.pushed_at.timestamp()


def _pending_stages(
    official: dict, modules: list[ModuleSpec], course: Course, now: dt.datetime
) -> list[tuple[ModuleSpec, str, dt.datetime]]:
    """(module, stage, the moment whose last push it grades) for every stage now due."""
    pending = []
    for module in modules:
        taken = official.get(module.key, {})
        if module.due < now and Stage.ON_TIME not in taken:
            pending.append((module, Stage.ON_TIME, module.due))
        closes = late_window_end(module, course)
        if closes < now and Stage.FINAL not in taken:
            pending.append((module, Stage.FINAL, closes))
    return pending


def _batches(jobs: list[Job], size: int) -> tuple[tuple[Job, ...], ...]:
    """Jobs grouped by repository, `size` repositories per batch (one matrix job each)."""
    repositories = list(dict.fromkeys(job.repository for job in jobs))
    groups = [repositories[i : i + size] for i in range(0, len(repositories), size)]
    return tuple(tuple(job for job in jobs if job.repository in group) for group in groups)


def _local_day(text: str, course: Course) -> dt.date:
    return parse_time(text).astimezone(course.policies.timezone).date()
