"""The gradebook as CSV files, official and latest-push grades kept apart.

- `official.csv`: one row per roster student, one column per module (the official grade
  that counts now; `excused`; 0 when the module is due and the student never accepted;
  empty while it is not decided yet), the total and what it is out of (excused modules
  left out), the modules handed in late, the excused ones and each graded commit.
- `latest.csv`: the same rows with each module's score on the newest graded push:
  feedback, not a grade.
- `tests.csv`: one row per student and test of that newest push: task, points, passed
  and the first line of the message the student read (what the push history keeps).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable

from grader.course import ModuleSpec
from grader.instructor.classbook import ClassBook, Student

EXCUSED = "excused"


def _csv(rows: Iterable[list]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def _points(value: float) -> str:
    return f"{value:g}"


def official_cell(book: ClassBook, student: Student, module: ModuleSpec) -> str | float:
    """A module's official grade for the gradebook: a number, `excused` or "" (not yet)."""
    if module.key in student.excused:
        return EXCUSED
    grade = student.official.get(module.key)
    if grade is not None:
        return grade.score
    if not student.repository and book.due(student, module) < book.now:
        return 0.0  # never accepted: nothing can come any more
    return ""


def official_total(book: ClassBook, student: Student) -> tuple[float, float]:
    """(points, out of): every module due so far or graded, excused ones left out."""
    score = total = 0.0
    for module in book.course.modules:
        cell = official_cell(book, student, module)
        if isinstance(cell, float):
            score += cell
            total += module.points
    return score, total


def late_modules(student: Student) -> list[str]:
    return [
        key
        for key, grade in sorted(student.official.items())
        if grade.late_penalty or grade.late_days_used
    ]


def official_csv(book: ClassBook) -> str:
    modules = book.course.modules
    header = ["student", "name", "section", "repository", *[m.dirname for m in modules]]
    rows = [[*header, "total", "out_of", "late", "excused", "graded_commits"]]
    for student in book.students:
        cells = [official_cell(book, student, m) for m in modules]
        score, total = official_total(book, student)
        commits = [
            f"{key}:{g.commit[:7]}" for key, g in sorted(student.official.items()) if g.commit
        ]
        rows.append(
            [
                student.username,
                student.person.sortable_name,
                student.person.section,
                student.repository or "(not accepted)",
                *[_points(c) if isinstance(c, float) else c for c in cells],
                _points(score),
                _points(total),
                " ".join(late_modules(student)),
                " ".join(sorted(student.excused)),
                " ".join(commits),
            ]
        )
    return _csv(rows)


def latest_csv(book: ClassBook) -> str:
    modules = book.course.modules
    rows = [["student", *[m.dirname for m in modules], "total", "commit", "pushed_at"]]
    for student in book.students:
        scores = {result.module: result.score for result in student.latest}
        pushed = student.pushes[-1].pushed_at.isoformat() if student.pushes else ""
        cells = [_points(scores[m.dirname]) if m.dirname in scores else "" for m in modules]
        rows.append(
            [
                student.username,
                *cells,
                _points(sum(scores.values())),
                student.latest_sha[:7],
                pushed,
            ]
        )
    return _csv(rows)


def per_test_csv(book: ClassBook, shown: Callable[[str], str] = str) -> str:
    """`shown` hides what must not be read (grader/instructor/secrets.py)."""
    header = [
        "student",
        "module",
        "task",
        "test",
        "hidden",
        "passed",
        "score",
        "max_score",
        "message",
    ]
    rows = [header]
    for student in book.students:
        for result in student.latest:
            for test in result.tests:
                rows.append(
                    [
                        student.username,
                        result.module,
                        test.task,
                        test.nodeid.rpartition("::")[2],
                        test.hidden,
                        test.passed,
                        f"{test.score:g}",
                        f"{test.max_score:g}",
                        shown(test.feedback),
                    ]
                )
    return _csv(rows)
