"""The integrity review: similarity beyond the course's base code (renamed variables do not
hide a copy; the starter everyone shares is not a match), suspicious pushes from the push
history, and each graded file exported from its graded commit."""

from __future__ import annotations

import csv
import datetime as dt
import io

from grader.instructor.classbook import ClassBook, Push, Student
from grader.instructor.integrity import suspicious_pushes, write_review
from grader.instructor.roster import Person
from grader.instructor.similarity import similar_pairs
from grader.service.state import Stage
from tests.conftest import COURSE, LAYOUT
from tests.service_helpers import at, fake_github, on_time  # noqa: F401
from tests.test_official_grades import TENSOR_FILE, pushed_repository

STARTER = '''
class Tensor:
    """A tensor."""

    def __init__(self, data):
        self.data = data
        self.shape = len(data)
        self.grad = None
        self.requires_grad = False
'''
ORIGINAL = (
    STARTER
    + """
    def matmul(self, other):
        rows = []
        for i in range(len(self.data)):
            row = []
            for j in range(len(other.data[0])):
                total = 0
                for k in range(len(other.data)):
                    total += self.data[i][k] * other.data[k][j]
                row.append(total)
            rows.append(row)
        return Tensor(rows)

    def transpose(self):
        return Tensor([list(column) for column in zip(*self.data)])
"""
)
RENAMED = (
    STARTER
    + """
    # my own work, honestly
    def matmul(self, b):
        out = []
        for r in range(len(self.data)):
            line = []
            for c in range(len(b.data[0])):
                acc = 0
                for x in range(len(b.data)):
                    acc += self.data[r][x] * b.data[x][c]
                line.append(acc)
            out.append(line)
        return Tensor(out)

    def transpose(self):
        return Tensor([list(col) for col in zip(*self.data)])
"""
)
INDEPENDENT = (
    STARTER
    + """
    def matmul(self, other):
        width = len(other.data[0])
        return Tensor([[sum(a * other.data[n][m] for n, a in enumerate(left))
                        for m in range(width)] for left in self.data])

    def transpose(self):
        height, width = len(self.data), len(self.data[0])
        return Tensor([[self.data[r][c] for r in range(height)] for c in range(width)])
"""
)


def test_a_copy_with_renamed_variables_is_found_and_shared_starter_code_is_not():
    files = {"ann": ORIGINAL, "bob": RENAMED, "cat": INDEPENDENT, "dan": STARTER}
    pairs = similar_pairs(files, [STARTER], threshold=0.5)
    assert [(p.first, p.second) for p in pairs] == [("ann", "bob")]
    assert pairs[0].similarity > 0.9
    # Without the starter as the base, a student who kept it looks like a copy.
    two = {"cat": INDEPENDENT, "dan": STARTER}
    assert [(p.first, p.second) for p in similar_pairs(two, [], 0.5)] == [("cat", "dan")]
    assert similar_pairs(two, [STARTER], 0.5) == []


def pushes(*points: tuple[str, float]) -> list[Push]:
    return [Push(f"{i:040x}", at(when), 60.0, "bubblewrap", {"01_tensor": [score, 100, 0, 8, 0,
            False]}) for i, (when, score) in enumerate(points)]  # fmt: skip


def test_a_module_finished_in_one_push_after_weeks_of_stubs_and_a_late_jump_are_listed():
    due = COURSE.module(1).due  # 2026-09-21T03:59:59Z
    just_before = (due - dt.timedelta(hours=2)).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    students = [
        Student(Person("sly"), "r/sly", pushes=pushes(
            ("2026-09-01T10:00:00Z", 0), ("2026-09-10T10:00:00Z", 0),
            ("2026-09-16T10:00:00Z", 100))),
        Student(Person("rush"), "r/rush", pushes=pushes(
            ("2026-09-15T10:00:00Z", 0), (just_before, 87.5))),
        Student(Person("steady"), "r/steady", pushes=pushes(
            ("2026-09-01T10:00:00Z", 0), ("2026-09-08T10:00:00Z", 50),
            ("2026-09-15T10:00:00Z", 100))),
    ]  # fmt: skip
    book = ClassBook(COURSE, students, at("2026-10-01T00:00:00Z"))
    rows = {row[0]: row for row in suspicious_pushes(book)}
    assert set(rows) == {"sly", "rush"}
    assert rows["sly"][6] == "finished in one push after 15 days of stubs"
    assert rows["rush"][4:] == ["0%", "88%", "88% of the points within 6 h of the due time"]


def test_each_graded_file_is_exported_from_its_graded_commit(fake, tmp_path):
    solved, later = pushed_repository(
        fake,
        tmp_path,
        "vic",
        [
            ({TENSOR_FILE: ORIGINAL}, "2026-09-20T12:00:00Z"),
            ({TENSOR_FILE: "# rewritten after the due time\n"}, "2026-09-25T12:00:00Z"),
        ],
    )
    student = Student(Person("vic"), "course/ml-tinytorch-vic")
    student.official["01"] = on_time(100, solved)
    book = ClassBook(COURSE, [student], at("2026-10-01T00:00:00Z"))
    out = tmp_path / "review"
    problems = write_review(book, LAYOUT, f"file://{tmp_path}/vic.git", "", out)
    assert problems == []
    assert (out / "files" / "01_tensor" / "vic.py").read_text() == ORIGINAL  # not `later`
    commits = list(csv.reader(io.StringIO((out / "files" / "commits.csv").read_text())))
    assert commits[1] == ["vic", "01", solved, Stage.ON_TIME]
    assert later != solved and (out / "similarity.csv").exists()
