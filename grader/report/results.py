"""Grading results as small dataclasses; every output format is built from these."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class TestResult:
    """The outcome of one graded test."""

    __test__ = False  # not a pytest test class

    nodeid: str
    """pytest's id, relative to the grading stage (`tests/visible/test_x.py::test_y`)."""
    task: str
    """Task id such as "01.2", shared by the stub, the marker and this report."""
    score: float
    """Points earned, already scaled to the module's points in classroom.yml."""
    max_score: float
    passed: bool
    feedback: str
    """What went wrong, for the student; empty when the test passed."""
    hidden: bool
    duration: float

    @property
    def name(self) -> str:
        """A short readable name: `test_y[param]`."""
        return self.nodeid.split("::", 1)[-1]


@dataclass(frozen=True)
class ModuleResult:
    """The grade of one module for one submission (immutable: the late policy and the
    integrity verdict make new results with `dataclasses.replace`)."""

    module: str
    """Directory name, such as `01_tensor`."""
    title: str
    tests: tuple[TestResult, ...]
    max_score: float
    execution_time: float
    graded_at: str
    """ISO 8601 time the grading finished (the one field that differs between runs)."""
    notes: tuple[str, ...] = ()
    """Module-level messages: syntax errors, forbidden imports, where prerequisites came from."""
    late_penalty: float = 0.0
    """Fraction of the score removed for lateness (0 when on time)."""
    isolation: str = ""
    """How the worker that ran the student's code was isolated (said in every report)."""
    visible_only: bool = False
    """Only the visible tests were graded: the score is out of their own points, and it is
    not the module's grade (which needs the hidden tests)."""

    @property
    def raw_score(self) -> float:
        return round(sum(t.score for t in self.tests), 2)

    @property
    def score(self) -> float:
        """The score after any late penalty, rounded to hundredths."""
        return round(self.raw_score * (1.0 - self.late_penalty), 2)

    @property
    def passed_count(self) -> int:
        return sum(t.passed for t in self.tests)


@dataclass(frozen=True)
class Totals:
    """A run's totals over its modules, summed in one place for every format."""

    score: float
    """After late penalties."""
    max_score: float
    all_passed: bool

    @classmethod
    def of(cls, results: Sequence[ModuleResult]) -> Totals:
        return cls(
            sum(r.score for r in results),
            sum(r.max_score for r in results),
            all(t.passed for r in results for t in r.tests),
        )


@dataclass(frozen=True)
class LocalScore:
    """A module's score as its saved results.json says (`.grades/NN_slug/`, written by
    `make grade` / `tito grade`)."""

    score: float
    max_score: float
    graded_at: str
    visible_only: bool

    @property
    def fraction(self) -> float:
        """The share of the points earned (0 when there were no points to earn)."""
        return self.score / self.max_score if self.max_score else 0.0


def module_result_from_dict(data: dict) -> ModuleResult:
    """Rebuild a `ModuleResult` from `dataclasses.asdict` output (a file between jobs)."""
    tests = tuple(TestResult(**test) for test in data["tests"])
    return ModuleResult(**{**data, "tests": tests, "notes": tuple(data.get("notes", ()))})
