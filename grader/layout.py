"""Where things live in the course repository (one place, so no path is spelled twice)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from grader.course import ModuleSpec

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Layout:
    """The course repository's directories, rooted at `root`."""

    root: Path = REPO_ROOT
    bundle: Path | None = None
    """The private grader bundle (`make release` writes it to dist/grader-bundle/), when
    it is checked out beside a student repository: hidden tests and reference solutions."""

    @property
    def manifest(self) -> Path:
        return self.root / "classroom.yml"

    @property
    def solutions(self) -> Path:
        return self.root / "solutions"

    @property
    def starter(self) -> Path:
        return self.root / "starter"

    @property
    def assignments(self) -> Path:
        return self.root / "assignments"

    @property
    def milestones(self) -> Path:
        return self.root / "milestones"

    @property
    def package(self) -> Path:
        """The cumulative `tinytorch` package rebuilt from the assignments."""
        return self.root / "tinytorch"

    @property
    def reference(self) -> Path:
        """Reference solutions for prerequisites: the bundle's copy, else solutions/."""
        return self.bundle / "solutions" if self.bundle else self.solutions

    @property
    def hidden_tests(self) -> Path:
        """Instructor-only tests: the bundle's copy, else grader/hidden/ (absent from the
        student template)."""
        return self.bundle / "hidden" if self.bundle else self.root / "grader" / "hidden"

    def module_file(self, tree: Path, module: ModuleSpec) -> Path:
        """The module's Python file inside `tree` (solutions, starter or a submission)."""
        return tree / module.dirname / module.filename

    def visible_tests(self, module: ModuleSpec) -> Path:
        """The protected copy of a module's visible tests (never the student's copy)."""
        return self.starter / module.dirname / "tests"

    def local_results(self, dirname: str) -> Path:
        """A module's results.json from the last local grading (`make grade`, `tito grade`)."""
        return self.root / ".grades" / dirname / "results.json"

    def hidden_tests_for(self, module: ModuleSpec) -> Path:
        return self.hidden_tests / module.dirname
