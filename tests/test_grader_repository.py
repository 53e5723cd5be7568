"""The whole loop of the instructors' grader repository, end to end: students push to
(temporary) git repositories, a GitHub stand-in on loopback records the push times,
scheduled runs plan, grade with the hidden tests (isolated) and publish commit statuses,
feedback comments, official grades at the due dates and Classroom 50's scores.json.

Course: modules 01 (due 2026-09-20, New York) and 02 (due 2026-09-27), 10% per late day,
7 late days. alice solves 01 on time; bob pushes his 01 four days late in a commit
backdated to before the due time; carol's module tries to read the grader's token.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from grader.course import write_manifest_json
from grader.service.main import main
from grader.service.state import GradingState, OfficialGrade, load_state, save_state
from grader.timestamps import parse_time
from tests.classroom_helpers import GIT, released  # noqa: F401
from tests.conftest import COURSE, LAYOUT
from tests.fake_github import FakeGitHub

ORG, PREFIX = "course", "ml-tinytorch-"
TOKEN = "ghp_grader-secret-0123456789"


def commit(work: Path, message: str, date: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
    subprocess.run([*GIT, "add", "--all"], cwd=work, check=True)
    subprocess.run([*GIT, "commit", "--quiet", "-m", message], cwd=work, env=env, check=True)
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=work, capture_output=True, text=True, check=True
    ).stdout.strip()


class Classroom:
    """Student repositories (a working copy pushed to a bare repository each) on the fake."""

    def __init__(self, fake: FakeGitHub, template: Path, root: Path) -> None:
        self.fake, self.template, self.root = fake, template, root
        self.heads: dict[str, str] = {}

    def accept(self, student: str, when: str) -> Path:
        name = f"{ORG}/{PREFIX}{student}"
        work = self.root / "work" / student
        shutil.copytree(self.template, work)
        subprocess.run(["git", "init", "--quiet", "--initial-branch=main"], cwd=work, check=True)
        subprocess.run(["git", "init", "--quiet", "--bare", str(self.bare(name))], check=True)
        self.fake.add_repository(name, git_dir=str(self.bare(name)))
        self.heads[name] = "0" * 40
        self.push(student, commit(work, "Initial commit", when), when)
        return work

    def bare(self, name: str) -> Path:
        return self.root / "git" / f"{name}.git"

    def push(self, student: str, sha: str, pushed_at: str) -> None:
        """Push `sha`; GitHub records the push at `pushed_at` (not the commit's date)."""
        name = f"{ORG}/{PREFIX}{student}"
        work = self.root / "work" / student
        subprocess.run(
            ["git", "push", "--quiet", str(self.bare(name)), f"{sha}:refs/heads/main"],
            cwd=work,
            check=True,
        )
        self.fake.record_push(name, self.heads[name], sha, pushed_at)
        self.heads[name] = sha


@pytest.fixture
def setting(released, tmp_path):  # noqa: F811
    root = tmp_path / "grader-repository"
    shutil.copytree(released.bundle, root)
    manifest = root / "template" / "classroom.yml"
    config = yaml.safe_load(manifest.read_text())
    config["modules"] = config["modules"][:2]
    config["delivery"] = {
        "platform": "classroom50",
        "organization": ORG,
        "classroom": "ml",
        "assignment": "tinytorch",
        "batch_size": 2,
    }
    manifest.write_text(yaml.safe_dump(config, sort_keys=False))
    write_manifest_json(manifest)
    fake = FakeGitHub(TOKEN)
    yield root, fake, Classroom(fake, released.template, tmp_path)
    fake.close()


def run(root: Path, fake: FakeGitHub, now: str, capsys) -> str:
    """One scheduled run of the grader repository's workflow, verb by verb."""
    common = [
        "--root",
        str(root / "template"),
        "--bundle",
        str(root),
        "--api-url",
        fake.url,
        "--state",
        str(root / "state" / "grading.json"),
        "--now",
        now,
    ]
    plan = root / "plan.json"
    assert main([*common, "plan", "--out", str(plan), "--github-output", ""]) == 0
    batches = json.loads(plan.read_text())["batches"]
    clone = f"file://{fake_git_root(root)}/{{repository}}.git"
    for index in range(len(batches)):
        out = root / "results" / f"batch-{index}.json"
        assert (
            main(
                [
                    *common,
                    "grade-batch",
                    "--plan",
                    str(plan),
                    "--batch",
                    str(index),
                    "--out",
                    str(out),
                    "--clone-url",
                    clone,
                ]
            )
            == 0
        )
    assert (
        main(
            [
                *common,
                "publish",
                "--plan",
                str(plan),
                "--results",
                str(root / "results"),
                "--summary",
                "",
            ]
        )
        == 0
    )
    shutil.rmtree(root / "results", ignore_errors=True)
    return capsys.readouterr().out


def both_stages(state: GradingState, student: str, key: str, out: str) -> dict:
    """A module's official grades, on time and final; when one is missing, the failure
    shows the run's report, whose problems say why the grader left it for the next run."""
    grades = state.repositories[f"{ORG}/{PREFIX}{student}"].official.get(key, {})
    assert {"on_time", "final"} <= set(grades), f"{student} {key}: {sorted(grades)}\n{out}"
    return grades


def fake_git_root(root: Path) -> Path:
    return root.parent / "git"


def hidden_lines() -> set[str]:
    """Distinctive lines of the hidden tests (a comment holding one leaks its source)."""
    lines = set()
    for path in LAYOUT.hidden_tests.rglob("test_*.py"):
        lines |= {line.strip() for line in path.read_text().splitlines() if len(line.strip()) > 30}
    return lines


def scores(fake: FakeGitHub) -> dict:
    return json.loads(fake.file("ml/scores.json"))


def test_the_grader_repository_loop(setting, capsys, monkeypatch):
    root, fake, classroom = setting
    monkeypatch.setenv("GRADER_TOKEN", TOKEN)
    monkeypatch.delenv("SCORES_TOKEN", raising=False)
    solution = (LAYOUT.solutions / "01_tensor" / "tensor.py").read_text()

    alice = classroom.accept("alice", "2026-09-10T14:00:00Z")
    (alice / "assignments/01_tensor/tensor.py").write_text(solution)
    classroom.push(
        "alice", commit(alice, "Solve 01", "2026-09-14T10:00:00Z"), "2026-09-14T10:05:00Z"
    )
    bob = classroom.accept("bob", "2026-09-10T15:00:00Z")
    carol = classroom.accept("carol", "2026-09-11T09:00:00Z")
    (carol / "assignments/01_tensor/tensor.py").write_text(
        "import os\nraise RuntimeError('token=' + os.environ.get('GRADER_TOKEN', 'none'))\n"
    )
    classroom.push("carol", commit(carol, "Try", "2026-09-12T09:00:00Z"), "2026-09-12T09:01:00Z")

    # Run 1, before any due date: every new push gets hidden-test feedback.
    out = run(root, fake, "2026-09-15T12:00:00Z", capsys)
    assert "3 student repositories, 3 commit(s) to grade" in out
    repos = fake.repositories
    alice_repo = repos[f"{ORG}/{PREFIX}alice"]
    status = alice_repo.statuses[-1]
    assert status["sha"] == classroom.heads[f"{ORG}/{PREFIX}alice"]
    assert status["context"] == "tinytorch/hidden-tests" and status["state"] == "failure"
    assert status["description"].startswith("Hidden + visible tests: 100/200")
    assert alice_repo.issues[0]["title"] == "TinyTorch grading feedback"
    feedback = alice_repo.comments[-1]["body"]
    assert "| 01_tensor Tensor | 100/100 |" in feedback and "(hidden)" in feedback
    carol_comment = repos[f"{ORG}/{PREFIX}carol"].comments[-1]["body"]
    assert "token=none" in carol_comment
    every_comment = [c["body"] for r in repos.values() for c in r.comments]
    assert not any(TOKEN in body for body in every_comment)
    secret = hidden_lines()
    assert not [line for body in every_comment for line in secret if line in body]

    # Run 2 at once: nothing new to grade, nothing posted again.
    posted = sum(len(r.comments) for r in repos.values())
    out = run(root, fake, "2026-09-15T12:15:00Z", capsys)
    assert "0 commit(s) to grade" in out
    assert sum(len(r.comments) for r in repos.values()) == posted

    # bob's 01, committed "2026-09-19" on his machine, pushed 4 days after the due time.
    (bob / "assignments/01_tensor/tensor.py").write_text(solution)
    classroom.push("bob", commit(bob, "Solve 01", "2026-09-19T12:00:00Z"), "2026-09-24T18:00:00Z")
    # carol's 01, committed "2026-09-18", pushed 8 days late: after the late window.
    (carol / "assignments/01_tensor/tensor.py").write_text(solution)
    classroom.push("carol", commit(carol, "Solve", "2026-09-18T12:00:00Z"), "2026-09-29T06:00:00Z")

    # Run 3, after module 01's late window and module 02's due time.
    out = run(root, fake, "2026-09-29T12:00:00Z", capsys)
    state = load_state(root / "state" / "grading.json")
    alice_01 = both_stages(state, "alice", "01", out)
    assert alice_01["on_time"].score == 100 and alice_01["final"].score == 100
    bob_01 = both_stages(state, "bob", "01", out)
    assert bob_01["on_time"].score == 0
    assert bob_01["final"].score == 60 and bob_01["final"].late_penalty == pytest.approx(0.4)
    assert bob_01["final"].commit == classroom.heads[f"{ORG}/{PREFIX}bob"]
    assert "Pushed 4 day(s) after the due time" in bob_01["final"].note
    carol = state.repositories[f"{ORG}/{PREFIX}carol"]
    carol_01 = both_stages(state, "carol", "01", out)
    assert carol_01["final"].score == 0  # her late push is not even considered
    assert carol_01["final"].commit != classroom.heads[f"{ORG}/{PREFIX}carol"]
    assert carol.published == classroom.heads[f"{ORG}/{PREFIX}carol"]  # feedback, though
    last_comment = repos[f"{ORG}/{PREFIX}carol"].comments[-1]["body"]
    assert "| 01_tensor Tensor | 100/100 |" in last_comment, last_comment

    gradebook = scores(fake)["assignments"]["tinytorch"]["entries"]
    by_owner = {entry["owner"]: entry for entry in gradebook}
    assert set(by_owner) == {"alice", "bob", "carol"} and all(e["override"] for e in gradebook)
    record = by_owner["bob"]["submissions"][0]
    assert record["submission"].startswith("submit/official-")
    assert record["commit"].endswith(classroom.heads[f"{ORG}/{PREFIX}bob"])
    assert [t["score"] for t in record["tests"]] == [60, 0]  # 01 final; 02 on time: starter
    assert record["score"] == 60 and record["max-score"] == 200
    bob_comments = repos[f"{ORG}/{PREFIX}bob"].comments
    assert "Module 01 (final, after the late window): 60/100" in bob_comments[-1]["body"]
    assert (root / "state" / "gradebook.csv").read_text().splitlines()[2].startswith("bob,")


def test_the_scores_token_writes_the_gradebook_when_given(setting, capsys, monkeypatch):
    root, fake, classroom = setting
    monkeypatch.setenv("GRADER_TOKEN", TOKEN)
    monkeypatch.setenv("SCORES_TOKEN", "wrong-token")
    classroom.accept("dave", "2026-09-10T14:00:00Z")
    run(root, fake, "2026-09-21T12:00:00Z", capsys)  # module 01 due: an official grade
    assert "ml/scores.json" not in fake.files  # the scores token was refused ...
    state = load_state(root / "state" / "grading.json")
    assert state.scores_pending == [f"{ORG}/{PREFIX}dave"]  # ... so it stays pending
    monkeypatch.setenv("SCORES_TOKEN", TOKEN)
    run(root, fake, "2026-09-21T12:15:00Z", capsys)
    entry = scores(fake)["assignments"]["tinytorch"]["entries"][0]
    assert entry["owner"] == "dave" and entry["submissions"][0]["score"] == 0
    assert not load_state(root / "state" / "grading.json").scores_pending


def test_a_teacher_regrades_one_students_module_with_one_command(setting, capsys, monkeypatch):
    root, fake, classroom = setting
    monkeypatch.setenv("GRADER_TOKEN", TOKEN)
    monkeypatch.delenv("SCORES_TOKEN", raising=False)
    erin = classroom.accept("erin", "2026-09-10T14:00:00Z")
    solution = (LAYOUT.solutions / "01_tensor" / "tensor.py").read_text()
    (erin / "assignments/01_tensor/tensor.py").write_text(solution)
    classroom.push("erin", commit(erin, "Solve 01", "2026-09-14T10:00:00Z"), "2026-09-14T10:05:00Z")
    run(root, fake, "2026-09-21T12:00:00Z", capsys)  # module 01 due: on time, 100
    path = root / "state" / "grading.json"
    # A grade recorded wrongly (a grader fault, tests changed since): the teacher regrades.
    text = path.read_text().replace('"score": 100.0', '"score": 12.0')
    path.write_text(text)
    comments = len(fake.repositories[f"{ORG}/{PREFIX}erin"].comments)
    common = ["--root", str(root / "template"), "--bundle", str(root), "--api-url", fake.url]
    common += ["--state", str(path), "--now", "2026-09-22T09:00:00Z"]
    clone = f"file://{fake_git_root(root)}/{{repository}}.git"
    arguments = ["regrade", "--student", "erin", "--module", "01", "--clone-url", clone]
    arguments += ["--by", "prof-kim", "--why", "a grader fault on 09-21"]
    assert main([*common, *arguments, "--work", str(root / "regrade"), "--summary", ""]) == 0
    grade = load_state(path).repositories[f"{ORG}/{PREFIX}erin"].official["01"]["on_time"]
    assert grade.score == 100 and grade.commit == classroom.heads[f"{ORG}/{PREFIX}erin"]
    assert grade.note.startswith("Regraded: a grader fault on 09-21.")
    log = [
        json.loads(line) for line in (root / "state" / "regrades.jsonl").read_text().splitlines()
    ]
    assert [(e["requested_by"], e["reason"], e["student"], e["module"]) for e in log] == [
        ("prof-kim", "a grader fault on 09-21", "erin", "01")
    ]
    assert log[0]["recorded"] == [f"{ORG}/{PREFIX}erin 01 on_time: 100"]
    record = scores(fake)["assignments"]["tinytorch"]["entries"][0]["submissions"][0]
    assert record["tests"][0]["score"] == 100
    posted = fake.repositories[f"{ORG}/{PREFIX}erin"].comments[comments:]
    assert len(posted) == 1 and "Module 01 (on time): 100/100" in posted[0]["body"]


def test_plan_runs_on_the_standard_library_alone(setting, monkeypatch):
    """The hourly `plan` job installs nothing: no PyYAML, no NumPy (python -S)."""
    root, fake, classroom = setting
    classroom.accept("fay", "2026-09-10T14:00:00Z")
    env = {"PATH": os.environ["PATH"], "GRADER_TOKEN": TOKEN, "HOME": str(root)}
    command = [sys.executable, "-S", "-s", "-m", "grader.service", "--root", "."]
    command += ["--bundle", "..", "--api-url", fake.url, "--state", "../state/grading.json"]
    command += ["--now", "2026-09-15T12:00:00Z", "plan", "--out", "../plan.json"]
    done = subprocess.run(command, cwd=root / "template", env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "1 student repositories, 1 commit(s) to grade" in done.stdout
    probe = [sys.executable, "-S", "-c", "import yaml"]
    assert subprocess.run(probe, capture_output=True).returncode != 0  # really without
    manifest = root / "template" / "classroom.yml"
    manifest.write_text(manifest.read_text().replace("late_policy", "late_policy", 1) + "\n")
    done = subprocess.run(command, cwd=root / "template", env=env, capture_output=True, text=True)
    assert done.returncode == 2 and "run make release again" in done.stderr


def test_the_released_schedule_is_hourly_and_dense_only_around_due_times(released):  # noqa: F811
    workflow = released.bundle / ".github" / "workflows" / "grade-students.yml"
    crons = [entry["cron"] for entry in yaml.safe_load(workflow.read_text())[True]["schedule"]]
    assert crons[0] == "17 * * * *"  # hourly, off the top of the hour
    dense = crons[1:]
    assert dense and all(line.startswith("2,32,47 ") for line in dense)
    first = COURSE.modules[0].due.astimezone(dt.UTC)  # 2026-09-21T03:59:59Z
    assert f"2,32,47 0-4 {first.day} {first.month} *" in dense
    hours = sum(
        (int(b) - int(a) + 1) if "-" in span else 1
        for span in (line.split()[1] for line in dense)
        for a, _, b in [span.partition("-")]
    )
    assert hours <= 5 * len(COURSE.modules)  # 5 hours per due time at most


def test_on_classroom50_a_push_is_graded_on_visible_tests_once(released):  # noqa: F811
    """Classroom 50's autograder grades every push; the template's own Grade workflow
    then runs only by hand (two push-time gradings would double the minutes)."""
    template = yaml.safe_load((released.template / ".github/workflows/grade.yml").read_text())
    assert "push" not in template[True] and "workflow_dispatch" in template[True]
    source = yaml.safe_load((LAYOUT.root / ".github/workflows/grade.yml").read_text())
    assert "push" in source[True]  # a plain organization keeps grading on push


def test_an_hour_with_nothing_to_grade_still_restores_a_displaced_official_grade(
    setting, capsys, monkeypatch
):
    root, fake, classroom = setting
    monkeypatch.setenv("GRADER_TOKEN", TOKEN)
    monkeypatch.delenv("SCORES_TOKEN", raising=False)
    classroom.accept("gus", "2026-09-10T14:00:00Z")
    name = f"{ORG}/{PREFIX}gus"
    state = GradingState()
    remembered = state.repository(name, "gus")
    remembered.listed_push = fake.repositories[name].pushed_at
    remembered.head = remembered.published = classroom.heads[name]
    grade = OfficialGrade(
        "on_time",
        classroom.heads[name],
        parse_time("2026-09-10T14:00:00Z"),
        77.0,
        100.0,
        0.0,
        "",
        parse_time("2026-09-21T05:00:00Z"),
    )
    remembered.official["01"] = {"on_time": grade}
    save_state(state, root / "state" / "grading.json")
    collected = {"owner": "gus", "override": True, "submissions": [{"submission": "submit/x"}]}
    document = {
        "schema": "classroom50/scores/v1",
        "assignments": {"tinytorch": {"type": "individual", "entries": [collected]}},
    }
    fake.put_file("ml/scores.json", json.dumps(document).encode())
    common = ["--root", str(root / "template"), "--bundle", str(root), "--api-url", fake.url]
    common += ["--state", str(root / "state" / "grading.json"), "--now", "2026-09-22T10:17:00Z"]
    assert main([*common, "plan", "--out", str(root / "plan.json"), "--github-output", ""]) == 0
    assert json.loads((root / "plan.json").read_text())["batches"] == []
    entry = scores(fake)["assignments"]["tinytorch"]["entries"][0]
    assert entry["submissions"][0]["score"] == 77 and entry["submissions"][1] == {
        "submission": "submit/x"
    }
    assert "scores.json: 1 official grade(s) written" in capsys.readouterr().out
