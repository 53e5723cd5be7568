"""The instructors' gradebook from the grader repository's state/: roster-driven, official
and latest-push grades apart, a per-test table, Canvas and Moodle imports, and damaged
files named and skipped without losing anyone else's grades."""

from __future__ import annotations

import csv
import dataclasses
import io
import json

import pytest

from grader.instructor.classbook import read_class
from grader.instructor.gradebook import latest_csv, official_csv, per_test_csv
from grader.instructor.lms import canvas_csv, moodle_csv
from grader.instructor.main import main
from grader.instructor.roster import RosterError, read_roster
from grader.instructor.synthetic import write_class
from grader.service.batch import JobResult
from grader.service.exceptions import parse_exceptions
from grader.service.history import record_pushes
from grader.service.plan import Job
from grader.service.state import GradingState, save_state
from tests.conftest import COURSE, LAYOUT
from tests.service_helpers import NOW, at, on_time, result

ROSTER = """\
username,first_name,last_name,email,section,github_id,role
alice,Alice,Ang,alice@uni.edu,A,1,student
bob,Bob,Berg,bob@uni.edu,B,2,student
zoe,Zoe,Zhu,zoe@uni.edu,A,3,student
tina,Tina,Teach,tina@uni.edu,,4,teacher
"""
EXCUSED_BOB = "excused:\n  - student: bob\n    module: 1\n    reason: late enrolment\n"
LATE = "2026-09-21T05:00:00Z"


def rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def push(student: str, sha: str, score: float, when: str = "2026-09-25T00:00:00Z") -> JobResult:
    job = Job(f"course/ml-tinytorch-{student}", student, sha, at(when), ("01",), True)
    return JobResult(job, (result(score),), seconds=60.0)


@pytest.fixture(name="grader_repository")
def grader_repository_fixture(tmp_path):
    """alice: 01 official 50 on time, then a push scoring 100; bob: 01 graded 40, then
    excused; zoe: on the roster, never accepted; tina: a teacher."""
    state = GradingState()
    state.repository("course/ml-tinytorch-alice", "alice").official["01"] = {
        "on_time": on_time(50, "a" * 40)
    }
    state.repository("course/ml-tinytorch-bob", "bob").official["01"] = {"on_time": on_time(40)}
    folder = tmp_path / "state"
    save_state(state, folder / "grading.json")
    record_pushes(folder / "pushes", [push("alice", "c" * 40, 100)])
    record_pushes(folder / "pushes", [push("bob", "d" * 40, 40)])
    (tmp_path / "roster.csv").write_text(ROSTER)
    (tmp_path / "exceptions.yml").write_text(EXCUSED_BOB)
    return tmp_path


def book_of(place, now: str = NOW):
    people, problems = read_roster(place / "roster.csv")
    exceptions = parse_exceptions((place / "exceptions.yml").read_text(), COURSE)
    book = read_class(COURSE, place / "state", people, at(now), exceptions)
    return book, problems


def test_every_roster_student_has_a_row_and_who_never_accepted_has_zero(grader_repository):
    book, problems = book_of(grader_repository)
    official = {row["student"]: row for row in rows(official_csv(book))}
    assert list(official) == ["alice", "bob", "zoe"] and problems == []  # no teacher row
    assert official["zoe"]["repository"] == "(not accepted)"
    assert (official["zoe"]["02_activations"], official["zoe"]["03_layers"]) == ("0", "")
    assert official["zoe"]["total"] == "0" and official["zoe"]["out_of"] == "200"  # 01, 02 due
    assert official["alice"]["graded_commits"] == "01:aaaaaaa"


def test_official_and_latest_push_grades_are_kept_apart(grader_repository):
    book, _ = book_of(grader_repository)
    official = {row["student"]: row for row in rows(official_csv(book))}
    latest = {row["student"]: row for row in rows(latest_csv(book))}
    assert official["alice"]["01_tensor"] == "50" and latest["alice"]["01_tensor"] == "100"
    assert latest["alice"]["commit"] == "c" * 7 and latest["zoe"]["01_tensor"] == ""
    tests = rows(per_test_csv(book))
    assert [(t["student"], t["task"], t["passed"]) for t in tests] == [
        ("alice", "01.1", "True"),
        ("bob", "01.1", "False"),
    ]


def test_an_excused_module_is_out_of_the_total_in_every_export(grader_repository):
    book, _ = book_of(grader_repository)
    bob = next(row for row in rows(official_csv(book)) if row["student"] == "bob")
    assert (bob["01_tensor"], bob["total"], bob["out_of"], bob["excused"]) == (
        "excused", "0", "0", "01",
    )  # fmt: skip
    canvas = list(csv.reader(io.StringIO(canvas_csv(book))))
    assert canvas[0][:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    assert canvas[1][0] == "Points Possible" and canvas[1][5] == "100"
    assert len(canvas[0]) == 5 + len(COURSE.modules) and len(canvas) == 2 + 3
    by_login = {line[3]: line for line in canvas[2:]}
    assert by_login["bob@uni.edu"][5] == "EX" and by_login["alice@uni.edu"][5] == "50"
    assert by_login["zoe@uni.edu"][0] == "Zhu, Zoe" and by_login["zoe@uni.edu"][5] == "0"
    moodle = {row["Username"]: row for row in rows(moodle_csv(book))}
    assert moodle["bob"]["TinyTorch 01_tensor Tensor"] == ""  # no grade written
    assert moodle["alice"]["Email address"] == "alice@uni.edu"


def test_late_grades_are_flagged(grader_repository):
    state_file = grader_repository / "state" / "grading.json"
    data = json.loads(state_file.read_text())
    grade = data["repositories"]["course/ml-tinytorch-alice"]["official"]["01"]["on_time"]
    data["repositories"]["course/ml-tinytorch-alice"]["official"]["01"]["final"] = {
        **grade, "stage": "final", "score": 90, "late_penalty": 0.1, "pushed_at": LATE,
    }  # fmt: skip
    state_file.write_text(json.dumps(data))
    alice = rows(official_csv(book_of(grader_repository)[0]))[0]
    assert (alice["01_tensor"], alice["late"]) == ("90", "01")


def test_damaged_files_are_named_and_skipped_and_no_one_else_loses_a_grade(tmp_path, capsys):
    now = "2026-11-20T12:00:00Z"
    write_class(COURSE, tmp_path, 12, at(now), seed=3)
    arguments = ["--root", str(LAYOUT.root), "--state", str(tmp_path / "state"), "--roster",
                 str(tmp_path / "roster.csv"), "--now", now, "gradebook"]  # fmt: skip
    assert main([*arguments, "--out", str(tmp_path / "before")]) == 0
    before = {r["student"]: r for r in rows((tmp_path / "before" / "official.csv").read_text())}
    latest_before = rows((tmp_path / "before" / "latest.csv").read_text())
    pushes = tmp_path / "state" / "pushes"
    damaged = sorted(pushes.glob("*.json"))[:3]
    damaged[0].write_text(damaged[0].read_text()[:500])  # cut short mid-write
    history = json.loads(damaged[1].read_text())
    history["pushes"][0]["modules"]["01_tensor"] = [1, 2]  # a partial line
    damaged[1].write_text(json.dumps(history))
    damaged[2].write_bytes(b"\xff\xfe not text")
    state_file = tmp_path / "state" / "grading.json"
    state = json.loads(state_file.read_text())
    broken = sorted(state["repositories"])[5]
    state["repositories"][broken]["official"]["01"]["on_time"]["graded_at"] = "yesterday"
    state_file.write_text(json.dumps(state))

    assert main([*arguments, "--out", str(tmp_path / "after")]) == 0
    err = capsys.readouterr().err
    for path in damaged:
        assert f"skipped: pushes/{path.name}" in err
    assert f"skipped: grading.json: repositories['{broken}']" in err
    after = {r["student"]: r for r in rows((tmp_path / "after" / "official.csv").read_text())}
    assert set(after) == set(before)
    hurt = broken.rsplit("-", 1)[1]
    assert {name: row for name, row in after.items() if name != hurt} == {
        name: row for name, row in before.items() if name != hurt
    }
    assert any(float(row["total"]) > 0 for row in before.values())  # there was something
    kept = {r["student"]: r for r in rows((tmp_path / "after" / "latest.csv").read_text())}
    lost = {path.stem for path in damaged}
    for row in latest_before:
        if row["student"] not in lost:
            assert kept[row["student"]] == row


def test_a_roster_needs_usernames_and_bad_rows_are_named(tmp_path):
    (tmp_path / "r.csv").write_text("email,name\nx@y,X\n")
    with pytest.raises(RosterError, match=r"r\.csv: line 1: the roster needs a 'username'"):
        read_roster(tmp_path / "r.csv")
    (tmp_path / "r.csv").write_text("Username,Email\nann,a@x\n,b@x\nANN,c@x\n")
    people, problems = read_roster(tmp_path / "r.csv")
    assert [p.username for p in people] == ["ann"]
    assert problems == ["r.csv: line 3: no username; row left out",
                        "r.csv: line 4: ANN is listed twice; first kept"]  # fmt: skip


def test_a_damaged_push_history_is_set_aside_never_overwritten(tmp_path):
    folder = tmp_path / "pushes"
    folder.mkdir()
    (folder / "alice.json").write_text('{"version": 1, "pushes": [')
    problems = record_pushes(folder, [push("alice", "c" * 40, 100)])
    assert problems and problems[0].startswith("alice.json: unreadable")
    assert (folder / "alice.unreadable").read_text() == '{"version": 1, "pushes": ['
    again = dataclasses.replace(push("alice", "c" * 40, 100))
    assert record_pushes(folder, [again]) == []
    data = json.loads((folder / "alice.json").read_text())
    assert [line["sha"] for line in data["pushes"]] == ["c" * 40]  # recorded once
