"""Pushing the course's protected files to every student repository: one commit each,
the student's own work untouched, idempotent, resumable, and a link planted in a
protected folder never followed out of the checkout (real git repositories, file://)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from grader.check.integrity import MANIFEST
from grader.github.repos import StudentRepository
from grader.layout import Layout
from grader.service.main import main
from grader.service.sync import course_files, sync_all
from tests.classroom_helpers import GIT
from tests.conftest import LAYOUT
from tests.service_helpers import fake_github, github  # noqa: F401 (the `fake` fixture)

OLD = {
    "Makefile": "all:\n",
    "grader/engine.py": "OLD = 1\n",
    "starter/01_tensor/tests/test_tensor.py": "def test_old(): pass\n",
    MANIFEST: "{}\n",
    "assignments/01_tensor/tensor.py": "# the student's work\n",
}
NEW = {
    "Makefile": "all:\n\ttrue\n",
    "grader/engine.py": "NEW = 2\n",
    "starter/01_tensor/tests/test_tensor.py": "def test_new(): pass\n",
    ".github/workflows/grade.yml": "name: grade\n",
}


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def course(tmp_path: Path) -> Layout:
    """A grader repository: template/ with the protected files, integrity.json."""
    write(tmp_path / "grader-repo" / "template", NEW)
    (tmp_path / "grader-repo" / "integrity.json").write_text('{"new": true}\n')
    return Layout(tmp_path / "grader-repo" / "template", tmp_path / "grader-repo")


def student(tmp_path: Path, name: str, extra: dict[str, str] | None = None) -> StudentRepository:
    work, bare = tmp_path / name, tmp_path / "remote" / f"course/ml-tinytorch-{name}.git"
    subprocess.run(["git", "init", "--quiet", "--initial-branch=main", str(work)], check=True)
    write(work, {**OLD, **(extra or {})})
    subprocess.run([*GIT, "add", "--all"], cwd=work, check=True)
    subprocess.run([*GIT, "commit", "--quiet", "-m", "template"], cwd=work, check=True)
    bare.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "clone", "--quiet", "--bare", str(work), str(bare)], check=True)
    return StudentRepository(f"course/ml-tinytorch-{name}", name, "main", "")


def tree(tmp_path: Path, repository: StudentRepository) -> dict[str, str]:
    bare = tmp_path / "remote" / f"{repository.full_name}.git"
    names = subprocess.run(["git", "--git-dir", str(bare), "ls-tree", "-r", "--name-only", "main"],
                           capture_output=True, text=True, check=True).stdout.split()  # fmt: skip
    show = ["git", "--git-dir", str(bare), "show"]
    return {n: subprocess.run([*show, f"main:{n}"], capture_output=True, text=True).stdout
            for n in names}  # fmt: skip


def commits(tmp_path: Path, repository: StudentRepository) -> int:
    bare = tmp_path / "remote" / f"{repository.full_name}.git"
    count = ["git", "--git-dir", str(bare), "rev-list", "--count", "main"]
    return int(subprocess.run(count, capture_output=True, text=True, check=True).stdout)


def test_every_repository_gets_the_files_once_and_keeps_its_work(tmp_path):
    layout = course(tmp_path)
    ann = student(tmp_path, "ann", {"grader/added_by_student.py": "x = 1\n"})
    bob = student(tmp_path, "bob")
    url = f"file://{tmp_path}/remote/{{repository}}.git"
    log = tmp_path / "grader-repo" / "state" / "sync.json"
    files = course_files(layout)
    report = sync_all([ann, bob], url, "", files, "Course update: test 01.2 fixed", log)
    assert report.updated == [ann.full_name, bob.full_name] and report.problems == []
    for repository in (ann, bob):
        expected = {**NEW, MANIFEST: '{"new": true}\n',
                    "assignments/01_tensor/tensor.py": "# the student's work\n"}  # fmt: skip
        assert tree(tmp_path, repository) == expected  # the student's extra engine file: gone
        assert commits(tmp_path, repository) == 2
    again = sync_all([ann, bob], url, "", files, "again", log)
    assert again.skipped == [ann.full_name, bob.full_name] and commits(tmp_path, ann) == 2
    log.unlink()  # without the log: checked again, nothing to commit
    third = sync_all([ann, bob], url, "", files, "again", log)
    assert third.unchanged == [ann.full_name, bob.full_name] and commits(tmp_path, ann) == 2


def test_a_failed_repository_is_retried_and_the_done_ones_are_not(tmp_path):
    layout = course(tmp_path)
    ann, bob = student(tmp_path, "ann"), student(tmp_path, "bob")
    bare = tmp_path / "remote" / f"{bob.full_name}.git"
    hidden = bare.with_name("away.git")
    bare.rename(hidden)  # bob's repository cannot be reached this time
    url, log = f"file://{tmp_path}/remote/{{repository}}.git", tmp_path / "sync.json"
    files = course_files(layout)
    first = sync_all([ann, bob], url, "", files, "update", log)
    assert first.updated == [ann.full_name] and first.problems[0].startswith(bob.full_name)
    assert json.loads(log.read_text())["done"] == [ann.full_name]
    hidden.rename(bare)
    second = sync_all([ann, bob], url, "", files, "update", log)
    assert (second.skipped, second.updated) == ([ann.full_name], [bob.full_name])
    files["grader/engine.py"] = b"NEWER = 3\n"  # another change: every repository again
    third = sync_all([ann, bob], url, "", files, "update", log)
    assert third.updated == [ann.full_name, bob.full_name]


def test_a_link_planted_in_a_protected_folder_is_never_followed_out(tmp_path):
    """An attack: `starter` made a link to a folder outside the checkout; the sync must
    write nothing there and leave a real folder in the repository."""
    layout = course(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    eve = student(tmp_path, "eve")
    work = tmp_path / "eve"
    subprocess.run(["git", "rm", "-r", "--quiet", "starter"], cwd=work, check=True)
    (work / "starter").symlink_to(outside, target_is_directory=True)
    subprocess.run([*GIT, "add", "--all"], cwd=work, check=True)
    subprocess.run([*GIT, "commit", "--quiet", "-m", "link"], cwd=work, check=True)
    bare = tmp_path / "remote" / f"{eve.full_name}.git"
    subprocess.run(["git", "push", "--quiet", str(bare), "main"], cwd=work, check=True)
    url = f"file://{tmp_path}/remote/{{repository}}.git"
    report = sync_all([eve], url, "", course_files(layout), "update", tmp_path / "s.json")
    assert report.updated == [eve.full_name]
    assert list(outside.iterdir()) == []
    files = tree(tmp_path, eve)
    assert (
        files["starter/01_tensor/tests/test_tensor.py"]
        == NEW["starter/01_tensor/tests/test_tensor.py"]
    )
    assert "starter" not in files  # no longer a link


def test_the_command_lists_the_students_and_syncs_them(tmp_path, fake, monkeypatch, capsys):
    layout = course(tmp_path)
    manifest = LAYOUT.manifest.read_text().replace("organization: your-org", "organization: course")
    manifest = manifest.replace("classroom: ml-systems", "classroom: ml")
    (layout.root / "classroom.yml").write_text(manifest)
    ann = student(tmp_path, "ann")
    fake.add_repository(ann.full_name)
    monkeypatch.setenv("GRADER_TOKEN", fake.token)
    state = tmp_path / "grader-repo" / "state" / "grading.json"
    common = ["--root", str(layout.root), "--bundle", str(layout.bundle), "--api-url", fake.url]
    url = f"file://{tmp_path}/remote/{{repository}}.git"
    arguments = ["sync-files", "--message", "Course update", "--clone-url", url]
    assert main([*common, "--state", str(state), *arguments]) == 0
    assert "1 repositories updated" in capsys.readouterr().out
    assert tree(tmp_path, ann)["classroom.yml"] == manifest
    assert json.loads((state.parent / "sync.json").read_text())["done"] == [ann.full_name]


def test_as_pull_requests_each_repository_gets_one_branch_and_one_pull_request(tmp_path, fake):
    layout = course(tmp_path)
    ann = student(tmp_path, "ann")
    fake.add_repository(ann.full_name)
    url, log = f"file://{tmp_path}/remote/{{repository}}.git", tmp_path / "sync.json"
    files = course_files(layout)
    first = sync_all([ann], url, "", files, "Course update", log, github(fake))
    assert first.updated == [f"{ann.full_name} (pull request #1)"]
    assert commits(tmp_path, ann) == 1  # the default branch is the student's to merge into
    pulls = fake.repositories[ann.full_name].pulls
    assert [(p["title"], p["base"]["ref"]) for p in pulls] == [("Course update", "main")]
    bare = tmp_path / "remote" / f"{ann.full_name}.git"
    branch = pulls[0]["head"]["ref"]
    show = ["git", "--git-dir", str(bare), "show", f"{branch}:grader/engine.py"]
    assert subprocess.run(show, capture_output=True, text=True).stdout == NEW["grader/engine.py"]
    log.unlink()  # checked again: the same branch and pull request, nothing new
    again = sync_all([ann], url, "", files, "Course update", log, github(fake))
    assert again.updated == [f"{ann.full_name} (pull request #1)"] and len(pulls) == 1
    count = ["git", "--git-dir", str(bare), "rev-list", "--count", branch]
    assert subprocess.run(count, capture_output=True, text=True).stdout.strip() == "2"
