"""Released as `conftest.py` at the root of the student repository: a bare `pytest` there
stops with the command that grades. Grading never reads it: the grader runs the tests
from its own staged copy with `--noconftest` (grader/grade/suite_main.py)."""

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """Stop before collecting: plain pytest here lacks the grader's set-up."""
    raise pytest.UsageError(
        "run the tests through the grader: `make grade MODULE=NN` (for example "
        "`make grade MODULE=01`), or `./tito grade` in a module's folder"
    )
