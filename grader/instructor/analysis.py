"""What the dashboard shows, computed from the class (no drawing here): scores per module,
completion against the schedule, what the class fails most, late work, students at
risk and the grader's own health.

Definitions (the dashboard states them too):
- a module is *complete* for a student from the first graded push with all its points,
  and *passing* from the first with at least `unlock.prerequisite_min_score` of them;
- *at risk*: never accepted; no module newly passing in RISK_DAYS days while some
  released module is not; fewer modules passing than are due; or tests stopped at their
  time limit on at least TIMEOUT_PUSHES of the last RECENT_PUSHES pushes.
"""

from __future__ import annotations

import bisect
import datetime as dt
import operator
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from grader.instructor.classbook import ClassBook
from grader.service.history import MODULE_FIELDS

RISK_DAYS = 7
RECENT_PUSHES = 5
TIMEOUT_PUSHES = 3
TIMEOUTS = operator.itemgetter(MODULE_FIELDS.index("timeouts"))
NOT_GRADED = operator.itemgetter(MODULE_FIELDS.index("not_graded"))


@dataclass
class Failure:
    """How often one test (or task) fails on the class's newest pushes."""

    module: str
    name: str
    attempts: int = 0
    failures: int = 0
    messages: Counter = field(default_factory=Counter)

    @property
    def rate(self) -> float:
        return self.failures / self.attempts if self.attempts else 0.0

    @property
    def common_message(self) -> str:
        return self.messages.most_common(1)[0][0] if self.messages else ""


def failure_rates(book: ClassBook) -> tuple[list[Failure], list[Failure]]:
    """(per test, per task), most failed first, over each student's newest push."""
    tests: dict[tuple[str, str], Failure] = {}
    tasks: dict[tuple[str, str], Failure] = {}
    for student in book.students:
        for result in student.latest:
            module = result.module
            for test in result.tests:
                name = test.nodeid.rpartition("::")[2]
                for table, key in ((tests, (module, name)), (tasks, (module, test.task))):
                    entry = table.get(key)
                    if entry is None:
                        entry = table[key] = Failure(module, key[1])
                    entry.attempts += 1
                    if not test.passed:
                        entry.failures += 1
                        entry.messages[test.feedback] += 1
    order = lambda entry: (-entry.rate, entry.module, entry.name)  # noqa: E731
    return sorted(tests.values(), key=order), sorted(tasks.values(), key=order)


def module_scores(book: ClassBook) -> dict[str, list[float]]:
    """Module folder -> each student's newest-push score, as a fraction of its points."""
    scores: dict[str, list[float]] = defaultdict(list)
    for student in book.students:
        for result in student.latest:
            if result.max_score:
                scores[result.module].append(result.score / result.max_score)
    return {m.dirname: scores.get(m.dirname, []) for m in book.course.modules}


@dataclass(frozen=True)
class Timeline:
    days: list[dt.date]
    due: list[int]
    """Modules due by the end of each day (the schedule)."""
    released: list[int]
    median: list[float]
    low: list[float]
    high: list[float]
    """The 25th and 75th percentiles of modules complete, over students who accepted."""


def timeline(book: ClassBook) -> Timeline:
    """Modules complete per student, day by day, against modules released and due."""
    modules = book.course.modules
    zone = book.course.policies.timezone
    start = min(m.release for m in modules)
    end = book.now.astimezone(zone).date()
    days = [start + dt.timedelta(days=n) for n in range(max(1, (end - start).days + 1))]
    accepted = [s for s in book.students if s.repository]
    done = [sorted(t.astimezone(zone).date() for t in s.reached().values()) for s in accepted]
    median, low, high = [], [], []
    for day in days:
        counts = sorted(bisect.bisect_right(dates, day) for dates in done) or [0]
        quartiles = statistics.quantiles(counts, n=4) if len(counts) > 1 else counts * 3
        median.append(statistics.median(counts))
        low.append(quartiles[0])
        high.append(quartiles[2])
    due = [sum(m.due.astimezone(zone).date() <= day for m in modules) for day in days]
    released = [sum(m.release <= day for m in modules) for day in days]
    return Timeline(days, due, released, median, low, high)


def late_work(book: ClassBook) -> list[tuple[str, str, float, int, str]]:
    """(student, module, penalty, banked days, note) for each official grade handed in late."""
    rows = []
    for student in book.students:
        for key, grade in sorted(student.official.items()):
            if grade.late_penalty or grade.late_days_used:
                rows.append((student.username, key, grade.late_penalty, grade.late_days_used,
                             grade.note))  # fmt: skip
    return rows


def at_risk(book: ClassBook) -> list[tuple[str, str]]:
    """(student, the reasons) for each student at risk now."""
    now, passing = book.now, book.course.policies.prerequisite_min_score
    released = [m for m in book.course.modules if m.release <= now.astimezone(m.due.tzinfo).date()]
    found = []
    for student in book.students:
        if not student.repository:
            found.append((student.username, "never accepted the assignment"))
            continue
        reasons = []
        done = student.reached(passing)
        open_modules = [
            m for m in released if m.dirname not in done and m.key not in student.excused
        ]
        newest = max(done.values(), default=None)
        if open_modules and (newest is None or now - newest > dt.timedelta(days=RISK_DAYS)):
            reasons.append(f"no module newly passing in {RISK_DAYS} days")
        due = [m for m in released if book.due(student, m) < now and m.key not in student.excused]
        missing = [m.key for m in due if m.dirname not in done]
        if missing:
            reasons.append(f"{len(missing)} of {len(due)} due modules not passing")
        recent = student.pushes[-RECENT_PUSHES:]
        timed_out = sum(any(map(TIMEOUTS, p.modules.values())) for p in recent)
        if timed_out >= TIMEOUT_PUSHES:
            reasons.append(f"time limits hit on {timed_out} of the last {len(recent)} pushes")
        if reasons:
            found.append((student.username, "; ".join(reasons)))
    return found


def health(book: ClassBook) -> list[tuple[str, str]]:
    """(measure, value) about the grader itself."""
    pushes = [push for student in book.students for push in student.pushes]
    isolation = Counter(push.isolation or "none" for push in pushes)
    timeouts = sum(any(map(TIMEOUTS, p.modules.values())) for p in pushes)
    not_graded = sum(any(map(NOT_GRADED, p.modules.values())) for p in pushes)
    failures = sum(student.failures for student in book.students)
    flagged = sum(
        any("protected files" in note for r in s.latest for note in r.notes) for s in book.students
    )
    minutes = sum(push.seconds for push in pushes) / 60
    share = lambda n: f"{n} ({n / len(pushes):.1%})" if pushes else "0"  # noqa: E731
    return [
        ("graded pushes", str(len(pushes))),
        ("isolation applied", ", ".join(f"{k}: {share(v)}" for k, v in isolation.most_common())),
        ("pushes with a test stopped at its time limit", share(timeouts)),
        ("pushes with a module not graded (grader fault or run cap)", share(not_graded)),
        ("commits that failed to grade (state/)", str(failures)),
        ("students whose newest push changed protected files", str(flagged)),
        ("grading minutes (Actions; job set-up not included)", f"{minutes:,.0f}"),
        ("damaged files skipped", str(len(book.problems))),
    ]
