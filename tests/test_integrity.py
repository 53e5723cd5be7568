"""The protected-file check: edited, deleted and added files are found and undone."""

import json
import shutil

from grader.check.integrity import MANIFEST, IntegrityReport, affects, main, verify

from .classroom_helpers import git, released, student_repository  # noqa: F401 - a fixture

VISIBLE_TEST = "starter/01_tensor/tests/test_01_tensor.py"
WORKFLOW = ".github/workflows/grade.yml"


def test_an_untouched_repository_is_not_flagged(released, tmp_path):  # noqa: F811
    repo = student_repository(released.template, tmp_path / "repo")
    report = verify(repo, released.bundle)
    assert report.checked_against == "bundle" and not report.flagged
    assert verify(repo).checked_against == "first commit"
    shutil.rmtree(repo / ".git")
    assert verify(repo).checked_against == "repository" and not verify(repo).flagged


def test_edits_deletions_and_additions_are_undone_from_the_bundle(released, tmp_path):  # noqa: F811
    repo = tmp_path / "repo"
    shutil.copytree(released.template, repo)  # no git: the bundle is the only pristine copy
    original = (repo / VISIBLE_TEST).read_bytes()
    (repo / VISIBLE_TEST).write_text("def test_nothing():\n    assert True\n")
    (repo / WORKFLOW).write_text((repo / WORKFLOW).read_text() + "\n# edited\n")
    (repo / "starter/01_tensor/README.md").unlink()
    (repo / "grader/hidden/01_tensor").mkdir(parents=True)
    (repo / "grader/hidden/01_tensor/test_free.py").write_text("def test_free(): pass\n")
    report = verify(repo, released.bundle)
    assert sorted(report.restored) == sorted(
        [VISIBLE_TEST, WORKFLOW, "starter/01_tensor/README.md"]
    )
    assert report.removed == ["grader/hidden/01_tensor/test_free.py"]
    assert report.flagged and not report.unrestorable
    assert (repo / VISIBLE_TEST).read_bytes() == original
    assert not (repo / "grader/hidden/01_tensor/test_free.py").exists()
    text = "\n".join(report.summary())
    assert "graded as the template's copy" in text and VISIBLE_TEST in text
    assert "flagged for your instructor" in text


def test_without_the_bundle_the_first_commit_is_the_template(released, tmp_path):  # noqa: F811
    repo = student_repository(released.template, tmp_path / "repo")
    (repo / VISIBLE_TEST).unlink()
    (repo / MANIFEST).write_text('{"files": {}}')  # a forged manifest is not enough
    git(repo, "commit", "--quiet", "-am", "delete a test, forge the manifest")
    report = verify(repo)
    assert report.checked_against == "first commit" and not report.removed
    assert sorted(report.restored) == sorted([MANIFEST, VISIBLE_TEST])
    assert (repo / VISIBLE_TEST).is_file()
    assert verify(repo).checked_against == "first commit" and not verify(repo).flagged


def test_a_file_that_cannot_be_restored_costs_the_modules_it_affects(
    released,  # noqa: F811
    tmp_path,
):
    repo = tmp_path / "repo"
    shutil.copytree(released.template, repo)
    (repo / VISIBLE_TEST).write_text("# edited\n")
    report = verify(repo)  # neither a bundle nor git history
    assert report.unrestorable == [VISIBLE_TEST]
    assert affects(report.unrestorable, "01_tensor")
    assert not affects(report.unrestorable, "02_activations")
    assert affects(["grader/grade/engine.py"], "02_activations")
    assert "score 0 in this run" in "\n".join(report.summary())


def test_the_command_line_writes_a_report_and_stops_workflow_commands(
    released,  # noqa: F811
    tmp_path,
    capsys,
):
    repo = tmp_path / "repo"
    shutil.copytree(released.template, repo)
    sneaky = "starter/x\n::notice title=Autograding complete::Points 100|100.py"
    (repo / sneaky).write_text("")
    target = tmp_path / "integrity.json"
    main(["--root", str(repo), "--json", str(target), "--actions"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("::stop-commands::") and lines[-1] == f"::{lines[0][17:]}::"
    assert not any(line.startswith("::notice") for line in lines)
    assert IntegrityReport(**json.loads(target.read_text())).removed == [sneaky]
    assert not (repo / sneaky).exists()


def test_a_protected_file_or_folder_committed_as_a_link_is_replaced_never_followed(
    released,  # noqa: F811
    tmp_path,
):
    """A link with the pristine content still counts as changed, and restoring it writes
    the file in the repository, never through the link to where it points."""
    repo = tmp_path / "repo"
    shutil.copytree(released.template, repo)
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = outside / "victim.txt"
    victim.write_text("not the grader's to write\n")
    original = (repo / VISIBLE_TEST).read_bytes()
    (outside / "copy.py").write_bytes(original)  # the pristine content, behind a link
    (repo / VISIBLE_TEST).unlink()
    (repo / VISIBLE_TEST).symlink_to(outside / "copy.py")
    (repo / WORKFLOW).unlink()
    (repo / WORKFLOW).symlink_to(victim)
    folder = repo / "starter/02_activations/tests"
    shutil.rmtree(folder)
    folder.symlink_to(outside, target_is_directory=True)
    report = verify(repo, released.bundle)
    assert VISIBLE_TEST in report.restored and WORKFLOW in report.restored
    assert any(path.startswith("starter/02_activations/tests/") for path in report.restored)
    for path in (VISIBLE_TEST, WORKFLOW, "starter/02_activations/tests"):
        assert not (repo / path).is_symlink(), path
    assert (repo / VISIBLE_TEST).read_bytes() == original
    assert victim.read_text() == "not the grader's to write\n"
    assert sorted(p.name for p in outside.iterdir()) == ["copy.py", "victim.txt"]
