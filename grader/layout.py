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
    def package(self) -> Path:
        """The cumulative `tinytorch` package rebuilt from the assignments."""
        return self.root / "tinytorch"

    @property
    def hidden_tests(self) -> Path:
        """Instructor-only tests; absent from the student template."""
        return self.root / "grader" / "hidden"

    def module_file(self, tree: Path, module: ModuleSpec) -> Path:
        """The module's Python file inside `tree` (solutions, starter or a submission)."""
        return tree / module.dirname / module.filename

    def visible_tests(self, module: ModuleSpec) -> Path:
        """The protected copy of a module's visible tests (never the student's copy)."""
        return self.starter / module.dirname / "tests"

    def hidden_tests_for(self, module: ModuleSpec) -> Path:
        return self.hidden_tests / module.dirname
