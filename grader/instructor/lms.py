"""The official grades in the CSV shapes that Canvas and Moodle import.

Canvas (Grades > Import): the columns `Student`, `ID`, `SIS User ID`, `SIS Login ID`,
`Section` identify the student (Canvas matches on its ID or the SIS IDs, so give the
roster `canvas_id`, `sis_user_id` or `sis_login_id` columns), then one column per
assignment; the second row, `Points Possible`, gives each assignment's points; `EX`
marks an excused assignment. A module column Canvas does not know yet becomes a new
assignment on import.

Moodle (Grades > Import > CSV file): a header row, then one row per student; at import
you map a column to identify the user ("Email address" or "Username") and each module
column to a grade item. Moodle's CSV has no excused mark: an excused module's cell is
left empty (no grade written), to excuse it in Moodle itself.
"""

from __future__ import annotations

import csv
import io

from grader.instructor.classbook import ClassBook
from grader.instructor.gradebook import EXCUSED, official_cell

CANVAS_IDENTITY = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
MOODLE_IDENTITY = ["First name", "Last name", "Username", "Email address"]


def _assignment(book: ClassBook) -> list[str]:
    return [f"TinyTorch {m.dirname} {m.title}" for m in book.course.modules]


def _write(rows: list[list]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def canvas_csv(book: ClassBook) -> str:
    """Canvas' gradebook import: identity columns, `Points Possible`, `EX` for excused."""
    modules = book.course.modules
    rows = [[*CANVAS_IDENTITY, *_assignment(book)]]
    rows.append(["Points Possible", "", "", "", "", *[f"{m.points:g}" for m in modules]])
    for student in book.students:
        person = student.person
        cells = []
        for module in modules:
            cell = official_cell(book, student, module)
            cells.append("EX" if cell == EXCUSED else cell if cell == "" else f"{cell:g}")
        identity = [
            person.sortable_name,
            person.canvas_id,
            person.sis_user_id,
            person.sis_login_id or person.email,
            person.section,
        ]
        rows.append([*identity, *cells])
    return _write(rows)


def moodle_csv(book: ClassBook) -> str:
    """Moodle's grade import: names, username, email, one column per module."""
    rows = [[*MOODLE_IDENTITY, *_assignment(book)]]
    for student in book.students:
        person = student.person
        cells = []
        for module in book.course.modules:
            cell = official_cell(book, student, module)
            cells.append("" if cell in (EXCUSED, "") else f"{cell:g}")
        rows.append([person.first_name, person.last_name, person.username, person.email, *cells])
    return _write(rows)
