"""`make release`: the student template and the private grader bundle, under dist/.

- `dist/student-template/`: what GitHub Classroom copies into every student repository:
  the grading engine without hidden tests, starter/, milestones/, the student workflows,
  the README without its instructor sections and with the course's dates and rules
  (grader/assign/rules.py), `assignments/` seeded with the modules
  released by the given day, `tinytorch/` built from them, and the integrity manifest.
  Never solutions/, grader/hidden/, the template's own tests or CI.
- `dist/classroom50/`: `autograder.py`, the Classroom 50 autograder (copy it to
  `<classroom>/autograders/<assignment>/`: visible tests only, no secret, no solution),
  and `runtime.json` for `gh teacher assignment add --runtime`.
- `dist/grader-bundle/`: the instructors' private grader repository: its workflow, the
  hidden tests, reference solutions, the integrity manifest and pristine copies of the
  protected files (the engine it grades with).

It packs what `assign/` (starters, notebooks, unlock) and `service/` (the grader
repository's workflows and schedule) make, so it sits above both.

The release refuses to finish if the template leaks a solution region, a line that
occurs only inside solution regions, or a hidden test's content (`find_leaks`).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from grader.assign.regions import BEGIN, solution_only_lines
from grader.assign.rules import with_rules
from grader.assign.starter import built_modules
from grader.assign.unlock import unlock_modules
from grader.assign.workspace import build_student_package
from grader.check.integrity import MANIFEST, build_manifest, protected_files
from grader.course import Course, write_manifest_json
from grader.layout import Layout
from grader.service.config import load_delivery
from grader.service.schedule import render_unlock_workflow, render_workflow

STUDENT_FILES = ("Makefile", "classroom.yml", "pyproject.toml", ".gitignore", "tito")
ROOT_CONFTEST = Path("grader", "tito", "root_conftest.py")
"""Shipped as the template's conftest.py: a bare `pytest` says to use `make grade`."""
STUDENT_FOLDERS = ("grader", "starter", "milestones")
STUDENT_WORKFLOWS = ("grade.yml", "unlock.yml")
GRADER_WORKFLOW = "grade-students.yml"
UNLOCK_WORKFLOW = "unlock.yml"
PUSH_GRADING_WORKFLOW = "grade.yml"
"""The template's push-time grading (visible tests); not on push under Classroom 50."""
CLASSROOM50_RUNTIME = {"runs-on": "ubuntu-24.04", "python": "3.11", "apt": ["bubblewrap"]}
"""`gh teacher assignment add --runtime`: the runner image, Python, and the sandbox."""
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", ".hypothesis")
INSTRUCTOR_SECTION = re.compile(
    r"<!-- instructor-only -->.*?<!-- /instructor-only -->\n?", flags=re.DOTALL
)

BUNDLE_README = """# {course} - grader repository (private)

Push this folder, as it is, to the private repository named in classroom.yml
(`course.grader_repository`: {repository}). It is the only place where the hidden tests
run, and its secrets exist only here: no workflow in a student repository can read them.

- `.github/workflows/grade-students.yml`: every hour, every 15 minutes around due times
  (and on demand: also a regrade of one student's module) grades new pushes of every
  student repository with the hidden tests, as a matrix of batches;
  posts a commit status and a feedback comment; takes each module's official grade at
  its due date; writes Classroom 50's scores.json; commits `state/`.
- `template/`: the course engine, visible tests and classroom.yml (pristine copies), and
  classroom.json (the same as JSON, for the hourly `plan` job that installs nothing);
- `hidden/NN_slug/`: the hidden tests; `solutions/NN_slug/`: reference solutions (used
  for prerequisite modules after their due date);
- `state/grading.json` (written by the workflow): what was graded, official grades and
  the commits they came from; `state/gradebook.csv`: one row per student.
- `state/pushes/<student>.json`: every graded push (the gradebook's latest-push side and
  the dashboard's source); `state/regrades.jsonl`: each regrade, who asked and why;
  `state/sync.json`: which repositories have the course's protected files (sync-files);
- `exceptions.yml` (yours to write, reviewed in a pull request): extensions, excused
  modules (see the course README, "Exceptions"); `roster.csv` (optional: Classroom 50's
  roster) makes the dashboard and gradebook list students who never accepted.

Each run's `dashboard` artifact holds the class dashboard and gradebook, for teaching
assistants with read access here (see the course README, "Gradebook and dashboard").

Secrets (Settings > Secrets and variables > Actions): `GRADER_TOKEN`, and on Classroom 50
`SCORES_TOKEN` (see the course README, "The grader repository").

Regenerate it with `make release` whenever a module, a test or classroom.yml changes.
"""


class LeakError(RuntimeError):
    """The student template contains instructor-only content."""


@dataclass(frozen=True)
class Release:
    """Where a release was written."""

    template: Path
    bundle: Path


def student_readme(text: str) -> str:
    """The README without its `<!-- instructor-only -->` sections."""
    return INSTRUCTOR_SECTION.sub("", text)


def _copy_tree(source: Path, target: Path, exclude: tuple[Path, ...] = ()) -> None:
    def ignore(directory: str, names: list[str]) -> set[str]:
        skipped = set(IGNORED(directory, names))
        skipped |= {path.name for path in exclude if Path(directory) == path.parent}
        return skipped

    shutil.copytree(source, target, ignore=ignore)


def build_template(layout: Layout, course: Course, target: Path, today: dt.date) -> None:
    """Write the student template to `target` (which must not exist)."""
    target.mkdir(parents=True)
    # The hidden tests, and the grader repository's workflow (it names its secrets).
    instructor_only = (layout.hidden_tests, layout.root / "grader" / "service" / GRADER_WORKFLOW)
    for name in STUDENT_FILES:
        shutil.copy2(layout.root / name, target / name)
    shutil.copy2(layout.root / ROOT_CONFTEST, target / "conftest.py")
    for name in STUDENT_FOLDERS:
        if (layout.root / name).is_dir():
            _copy_tree(layout.root / name, target / name, exclude=instructor_only)
    workflows = target / ".github" / "workflows"
    workflows.mkdir(parents=True)
    on_classroom50 = load_delivery(layout.manifest).platform == "classroom50"
    for name in STUDENT_WORKFLOWS:
        text = (layout.root / ".github" / "workflows" / name).read_text(encoding="utf-8")
        if name == PUSH_GRADING_WORKFLOW and on_classroom50:
            text = without_push_trigger(text)
        if name == UNLOCK_WORKFLOW:
            text = render_unlock_workflow(text, course)  # release days, not every day
        (workflows / name).write_text(text, encoding="utf-8")
    readme = (layout.root / "README.md").read_text(encoding="utf-8")
    readme = with_rules(student_readme(readme), course)  # dates and rules from classroom.yml
    (target / "README.md").write_text(readme, encoding="utf-8")
    student = Layout(target)
    unlock_modules(student, course, today)
    build_student_package(student, course)
    manifest = json.dumps(build_manifest(target), indent=2) + "\n"
    (target / MANIFEST).write_text(manifest, encoding="utf-8")


def without_push_trigger(workflow: str) -> str:
    """The push-time grading workflow without its `push:` trigger. On Classroom 50 its own
    autograder already grades the visible tests of every push; a second run would only
    double the Actions minutes. It still runs by hand (Actions > Grade > Run workflow)."""
    if "\non:\n  push:\n" not in workflow:
        raise ValueError(f"{PUSH_GRADING_WORKFLOW} no longer starts its triggers with push:")
    return workflow.replace("\non:\n  push:\n", "\non:\n", 1)


def build_bundle(layout: Layout, course: Course, template: Path, target: Path) -> None:
    """Write the grader bundle for `template` to `target` (which must not exist)."""
    target.mkdir(parents=True)
    for module in built_modules(layout, course):
        _copy_tree(layout.solutions / module.dirname, target / "solutions" / module.dirname)
        hidden = layout.hidden_tests_for(module)
        if hidden.is_dir():
            _copy_tree(hidden, target / "hidden" / module.dirname)
    for relative in protected_files(template):
        destination = target / "template" / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(template / relative, destination)
    shutil.copy2(template / MANIFEST, target / "integrity.json")
    write_manifest_json(target / "template" / "classroom.yml")  # for `plan`, without PyYAML
    workflows = target / ".github" / "workflows"
    workflows.mkdir(parents=True)
    workflow = (layout.root / "grader" / "service" / GRADER_WORKFLOW).read_text(encoding="utf-8")
    (workflows / GRADER_WORKFLOW).write_text(render_workflow(workflow, course), encoding="utf-8")
    readme = BUNDLE_README.format(course=course.name, repository=course.grader_repository)
    (target / "README.md").write_text(readme, encoding="utf-8")


def _text_files(root: Path) -> dict[str, str]:
    texts = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            try:
                texts[path.relative_to(root).as_posix()] = path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue
    return texts


def _lines(texts: dict[str, str]) -> set[str]:
    return {line.strip() for text in texts.values() for line in text.splitlines()}


def _public_lines(layout: Layout, course: Course) -> tuple[set[str], dict[str, set[str]]]:
    """Lines of what the template may hold: shared files, and each module's starter."""
    shared = {name: (layout.root / name).read_text(encoding="utf-8") for name in STUDENT_FILES}
    shared["README.md"] = (layout.root / "README.md").read_text(encoding="utf-8")
    for folder in ("grader", "milestones", ".github/workflows"):
        texts = _text_files(layout.root / folder) if (layout.root / folder).is_dir() else {}
        hidden = layout.hidden_tests.relative_to(layout.root / "grader").as_posix() + "/"
        shared |= {
            f"{folder}/{name}": text
            for name, text in texts.items()
            if not (folder == "grader" and name.startswith(hidden))
        }
    starters = {
        m.dirname: _lines(_text_files(layout.starter / m.dirname))
        for m in built_modules(layout, course)
        if (layout.starter / m.dirname).is_dir()
    }
    return _lines(shared), starters


def instructor_lines(layout: Layout, course: Course) -> dict[str, set[str]]:
    """Per instructor file, the stripped lines that no public file holds (a leak if found).

    A module's solution-only lines may also appear in shared files or in another
    module's starter (`else:`); only its own starter must never hold them.
    """
    shared, starters = _public_lines(layout, course)
    everything = shared.union(*starters.values())
    secret: dict[str, set[str]] = {}
    for module in built_modules(layout, course):
        others = shared.union(*(v for k, v in starters.items() if k != module.dirname))
        solution = layout.module_file(layout.solutions, module).read_text(encoding="utf-8")
        name = f"solutions/{module.dirname}/{module.filename}"
        secret[name] = solution_only_lines(solution) - others
        for path in sorted(layout.hidden_tests_for(module).rglob("*.py")):
            lines = _lines({"": path.read_text(encoding="utf-8")}) - everything
            secret[path.relative_to(layout.root).as_posix()] = {line for line in lines if line}
    return secret


def find_markers(text: str) -> list[int]:
    """1-based numbers of lines that open a solution region."""
    return [n for n, line in enumerate(text.splitlines(), 1) if BEGIN.match(line)]


def find_leaks(template: Path, layout: Layout, course: Course) -> list[str]:
    """Every instructor-only line found in the student template, as readable messages."""
    secret = instructor_lines(layout, course)
    leaks = []
    for relative, text in _text_files(template).items():
        # The engine's own source documents the markers; everywhere else one is a leak.
        markers = [] if relative.startswith("grader/") else find_markers(text)
        if markers:
            leaks.append(f"{relative}:{markers[0]}: contains a `# BEGIN SOLUTION` marker")
        lines = {line.strip() for line in text.splitlines()}
        for source, forbidden in secret.items():
            found = sorted(lines & forbidden)
            if found:
                leaks.append(f"{relative}: {len(found)} line(s) of {source}, e.g. {found[0]!r}")
    return leaks


def release(layout: Layout, course: Course, dist: Path, today: dt.date) -> Release:
    """Build both trees under `dist` (replacing earlier ones); raise `LeakError` on a leak."""
    result = Release(dist / "student-template", dist / "grader-bundle")
    for path in (result.template, result.bundle, dist / "classroom50"):
        if path.exists():
            shutil.rmtree(path)
    build_template(layout, course, result.template, today)
    leaks = find_leaks(result.template, layout, course)
    if leaks:
        raise LeakError("the student template leaks instructor content:\n  " + "\n  ".join(leaks))
    build_bundle(layout, course, result.template, result.bundle)
    classroom50 = dist / "classroom50"
    classroom50.mkdir()
    shutil.copy2(layout.root / "grader" / "classroom50" / "autograder.py", classroom50)
    runtime = json.dumps(CLASSROOM50_RUNTIME, indent=2) + "\n"
    (classroom50 / "runtime.json").write_text(runtime, encoding="utf-8")
    return result
