"""Evidence for an academic-integrity review, written to one folder:

- `files/NN_slug/<student>.py`: each student's module file exactly as their official
  grade graded it (read from the graded commit as a blob, never checked out:
  grader/service/batch.py `fetch_commit`), and `files/commits.csv` naming each commit;
- `similarity.csv`: pairs of students whose module files share code beyond the starter
  and the reference solution (grader/instructor/similarity.py);
- `suspicious.csv`: pushes worth a look, from the push history: a module taken from at
  most STUB_SHARE of its points to all of them in one push after STUB_DAYS days or more
  of pushes at most at that level, and a jump of at least JUMP_SHARE of a module's
  points in one push within JUMP_HOURS hours before the student's due time.
Nothing here is a verdict: each line says what was seen.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import tempfile
from pathlib import Path

from grader.instructor.classbook import ClassBook
from grader.instructor.similarity import similar_pairs
from grader.layout import Layout
from grader.service.batch import fetch_commit
from grader.service.history import MODULE_FIELDS

STUB_SHARE = 0.1
STUB_DAYS = 14
JUMP_SHARE = 0.75
JUMP_HOURS = 6
SIMILARITY_THRESHOLD = 0.5
SCORE, MAX = MODULE_FIELDS.index("score"), MODULE_FIELDS.index("max")


def _csv(rows: list[list]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def suspicious_pushes(book: ClassBook) -> list[list]:
    """[student, module, commit, pushed_at, share before, share after, what was seen]."""
    rows = []
    modules = {module.dirname: module for module in book.course.modules}
    for student in book.students:
        first_stub: dict[str, dt.datetime] = {}
        before: dict[str, float] = {}
        for push in student.pushes:
            for module, values in push.modules.items():
                if module not in modules:  # no longer in classroom.yml
                    continue
                share = values[SCORE] / values[MAX] if values[MAX] else 0.0
                previous = before.get(module)
                before[module] = share
                if previous is None or previous > STUB_SHARE:
                    if share <= STUB_SHARE:
                        first_stub.setdefault(module, push.pushed_at)
                    continue
                seen = []
                stubbed = push.pushed_at - first_stub.get(module, push.pushed_at)
                if share >= 1.0 and stubbed >= dt.timedelta(days=STUB_DAYS):
                    seen.append(f"finished in one push after {stubbed.days} days of stubs")
                due = book.due(student, modules[module])
                if share - previous >= JUMP_SHARE and dt.timedelta(0) <= due - push.pushed_at \
                        <= dt.timedelta(hours=JUMP_HOURS):  # fmt: skip
                    seen.append(f"{share - previous:.0%} of the points within "
                                f"{JUMP_HOURS} h of the due time")  # fmt: skip
                if seen:
                    rows.append([student.username, module, push.sha[:7],
                                 push.pushed_at.isoformat(), f"{previous:.0%}", f"{share:.0%}",
                                 "; ".join(seen)])  # fmt: skip
    return rows


def export_graded_files(
    book: ClassBook, clone_url: str, token: str, folder: Path
) -> tuple[list[list], list[str]]:
    """Fetch each official grade's module file; returns (commits rows, problems)."""
    rows, problems = [["student", "module", "commit", "stage"]], []
    for student in book.students:
        by_commit: dict[str, list[str]] = {}
        for key, grade in student.official.items():
            if grade.commit:
                by_commit.setdefault(grade.commit, []).append(key)
        for sha, keys in sorted(by_commit.items()):
            modules = [book.course.module(key) for key in keys]
            paths = [f"assignments/{m.dirname}/{m.filename}" for m in modules]
            url = clone_url.format(repository=student.repository)
            try:
                with tempfile.TemporaryDirectory(prefix="tinytorch-integrity-") as work:
                    checkout = Path(work) / "repository"
                    fetch_commit(url, sha, checkout, token, paths)
                    for module, path in zip(modules, paths, strict=True):
                        source = checkout / path
                        if source.is_symlink() or not source.is_file():
                            problems.append(f"{student.username} {module.key}: not a file")
                            continue
                        target = folder / module.dirname / f"{student.username}.py"
                        target.parent.mkdir(parents=True, exist_ok=True)
                        target.write_bytes(source.read_bytes())
                        stage = student.official[module.key].stage
                        rows.append([student.username, module.key, sha, stage])
            except (RuntimeError, OSError) as error:
                problems.append(f"{student.username} {sha[:7]}: not exported ({error})")
    return rows, problems


def similarity_rows(book: ClassBook, layout: Layout, folder: Path) -> list[list]:
    """Per module, the pairs of exported files sharing code beyond the course's base."""
    rows = [["module", "student", "other student", "similarity", "shared fingerprints"]]
    for module in book.course.modules:
        files = {path.stem: path.read_text("utf-8", "replace")
                 for path in sorted((folder / module.dirname).glob("*.py"))}  # fmt: skip
        base = [layout.module_file(tree, module) for tree in (layout.starter, layout.reference)]
        texts = [path.read_text("utf-8") for path in base if path.is_file()]
        for pair in similar_pairs(files, texts, SIMILARITY_THRESHOLD):
            rows.append([module.key, pair.first, pair.second, f"{pair.similarity:.2f}",
                         pair.shared])  # fmt: skip
    return rows


def write_review(
    book: ClassBook, layout: Layout, clone_url: str, token: str, out: Path
) -> list[str]:
    """Write the whole review to `out`; returns the problems met (files not exported)."""
    commits, problems = export_graded_files(book, clone_url, token, out / "files")
    (out / "files").mkdir(parents=True, exist_ok=True)
    (out / "files" / "commits.csv").write_text(_csv(commits), encoding="utf-8")
    (out / "similarity.csv").write_text(_csv(similarity_rows(book, layout, out / "files")),
                                        encoding="utf-8")  # fmt: skip
    header = ["student", "module", "commit", "pushed_at", "before", "after", "seen"]
    (out / "suspicious.csv").write_text(_csv([header, *suspicious_pushes(book)]), "utf-8")
    return problems
