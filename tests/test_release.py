"""`make release`: the student template holds nothing instructor-only; the bundle does."""

import json
import re
import shutil
import subprocess
import sys

from grader.check.integrity import MANIFEST, build_manifest
from grader.release import find_leaks, student_readme

from .classroom_helpers import released  # noqa: F401 - a fixture
from .conftest import BUILT, LAYOUT

SECRET = re.compile(r"\$\{\{[^}]*\bsecrets\b|\bsecrets\.[A-Z]")
"""A GitHub expression naming a secret, or a secret by its (upper-case) name."""


def test_the_template_has_no_instructor_folders_and_a_student_readme(released):  # noqa: F811
    template = released.template
    for path in ("solutions", "grader/hidden", "tests", ".ci", ".github/workflows/ci.yml"):
        assert not (template / path).exists(), path
    assert sorted(p.name for p in (template / ".github" / "workflows").iterdir()) == [
        "grade.yml",
        "unlock.yml",
    ]
    readme = (template / "README.md").read_text()
    assert "make grade MODULE=01" in readme
    assert "instructor-only" not in readme and "GRADER_TOKEN" not in readme
    assert sorted(p.name for p in (template / "assignments").iterdir()) == [
        "01_tensor",
        "02_activations",
    ]
    assert (template / "tinytorch" / "core" / "tensor.py").is_file()
    # the course's .gitattributes marks assignments/ as generated: not so in a student's
    assert not (template / ".gitattributes").exists()


def test_generated_copies_are_marked_generated_for_reviews():
    for folder, generated in (
        ("starter", True),
        ("assignments", True),
        ("tinytorch", True),
        ("solutions", False),
        ("grader", False),
    ):
        marked = subprocess.run(
            ["git", "check-attr", "linguist-generated", f"{folder}/x.py"],
            capture_output=True,
            text=True,
            cwd=LAYOUT.root,
            check=True,
        ).stdout
        assert marked.strip().endswith("true") is generated, marked


def test_the_student_readme_promises_only_what_the_template_has(released):  # noqa: F811
    template = released.template
    readme = (template / "README.md").read_text()
    makefile = (template / "Makefile").read_text()
    for absent in ("make test", "make release", "solutions/", "grader/hidden", "`tests/`"):
        assert absent not in readme, absent
    for target in set(re.findall(r"make ([a-z][a-z-]*)", readme)):
        assert re.search(rf"^{target}:", makefile, re.MULTILINE), f"make {target}"
    for section in ("### Where things are", "Edit only `assignments/`", "### Every day"):
        assert section in readme
    folders = set(re.findall(r"^\| `([a-z./]+)/` \|", readme, re.MULTILINE))
    assert folders - {".grades"}  # made by the first `make grade`
    for path in folders - {".grades"}:
        assert (template / path).is_dir(), path


def test_make_help_in_the_template_lists_the_students_targets(released):  # noqa: F811
    shown = subprocess.run(
        ["make", "--no-print-directory", "help"],
        cwd=released.template,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for target in ("grade", "status", "sync", "notebook", "milestone", "doctor", "package"):
        assert f"make {target}" in shown, target
    assert "make test" not in shown and "make release" not in shown


def test_the_template_leaks_no_solution_or_hidden_test(released, layout, course):  # noqa: F811
    assert find_leaks(released.template, layout, course) == []


def test_the_leak_scan_finds_planted_solution_and_hidden_lines(
    released,  # noqa: F811
    layout,
    course,
    tmp_path,
):
    template = tmp_path / "template"
    shutil.copytree(released.template, template)
    module = course.module(1)
    solution = layout.module_file(layout.solutions, module).read_text()
    hidden = next(layout.hidden_tests_for(module).glob("test_*.py")).read_text()
    (template / "milestones" / "solved.py").write_text(solution)
    (template / "assignments" / "01_tensor" / "tests" / "extra.py").write_text(hidden)
    leaks = "\n".join(find_leaks(template, layout, course))
    assert "milestones/solved.py" in leaks and "BEGIN SOLUTION" in leaks
    assert "milestones/solved.py: " in leaks and "solutions/01_tensor/tensor.py" in leaks
    assert "extra.py" in leaks and "grader/hidden/01_tensor" in leaks


def test_the_bundle_holds_hidden_tests_solutions_and_the_manifest(released, course):  # noqa: F811
    bundle, template = released.bundle, released.template
    for module in BUILT:
        assert (bundle / "solutions" / module.dirname / module.filename).is_file()
        assert list((bundle / "hidden" / module.dirname).glob("test_*.py"))
    manifest = json.loads((bundle / "integrity.json").read_text())
    assert manifest == json.loads((template / MANIFEST).read_text()) == build_manifest(template)
    files = manifest["files"]
    assert {"Makefile", "classroom.yml", ".github/workflows/grade.yml"} <= set(files)
    assert "starter/01_tensor/tests/test_01_tensor.py" in files
    assert "grader/grade/engine.py" in files
    assert not any(path.startswith(("assignments/", "tinytorch/")) for path in files)
    for path in files:
        assert (bundle / "template" / path).read_bytes() == (template / path).read_bytes()
    assert course.grader_repository in (bundle / "README.md").read_text()


def test_instructor_sections_are_cut_from_the_readme():
    text = "a\n<!-- instructor-only -->\nsecret\n<!-- /instructor-only -->\nb\n"
    assert student_readme(text) == "a\nb\n"


def test_no_student_workflow_references_a_secret(released):  # noqa: F811
    workflows = sorted((released.template / ".github" / "workflows").glob("*.yml"))
    assert workflows
    for workflow in workflows:
        text = workflow.read_text()
        assert "secrets." not in text, f"{workflow.name} references a secret"
        assert "grader-bundle" not in text and "grader_repository" not in text, workflow.name


def test_nothing_students_can_run_or_fetch_names_a_secret_or_holds_instructor_lines(
    released,  # noqa: F811
    layout,
    course,
):
    """The student template (with its workflows) and the Classroom 50 bundle, which
    Classroom 50 publishes on the organization's public Pages site."""
    classroom50 = released.template.parent / "classroom50"
    assert (classroom50 / "autograder.py").is_file()
    runtime = json.loads((classroom50 / "runtime.json").read_text())
    assert runtime["apt"] == ["bubblewrap"] and runtime["python"] >= "3.11"
    for tree in (released.template, classroom50):
        assert find_leaks(tree, layout, course) == []
        for path in (p for p in tree.rglob("*") if p.is_file()):
            text = path.read_bytes().decode("utf-8", "replace")
            assert not SECRET.search(text), f"{path.relative_to(tree)} names a secret"
    assert not list(released.template.rglob("grade-students.yml"))
    size = sum(p.stat().st_size for p in classroom50.rglob("*") if p.is_file())
    assert size < 10 * 1024 * 1024  # Classroom 50 fetches at most 10 MB


def test_the_grader_repository_carries_its_workflow(released):  # noqa: F811
    workflow = released.bundle / ".github" / "workflows" / "grade-students.yml"
    text = workflow.read_text()
    assert "secrets.GRADER_TOKEN" in text and "cron:" in text
    assert (released.bundle / "template" / "grader" / "service" / "main.py").is_file()


def test_a_release_for_the_placeholder_organization_is_refused(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-I",
            "-m",
            "grader",
            "--root",
            str(LAYOUT.root),
            "release",
            "--dist",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert "placeholder organization 'your-org'" in done.stderr
    assert not list(tmp_path.iterdir())
