"""The class dashboard: one static page that opens in headless Chromium without a console
error, with charts drawn and tables that sort, what is at risk said from the data, and
never a line of a hidden test or a solution. The screenshot is kept as a CI artifact
(`$TINYTORCH_ARTIFACTS`, default .artifacts/, dashboard.png)."""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

import pytest

from grader.instructor import analysis
from grader.instructor.classbook import Student, read_class
from grader.instructor.dashboard import render, write_dashboard
from grader.instructor.gradebook import official_total, per_test_csv
from grader.instructor.roster import read_roster
from grader.instructor.secrets import WITHHELD, Secrets, secret_lines
from grader.instructor.synthetic import write_class
from tests.chromium import Browser
from tests.conftest import COURSE, LAYOUT
from tests.service_helpers import at

NOW = "2026-11-20T12:00:00Z"


@pytest.fixture(name="book", scope="module")
def book_fixture(tmp_path_factory):
    folder = tmp_path_factory.mktemp("class")
    write_class(COURSE, folder, 40, at(NOW), seed=7)
    people, _ = read_roster(folder / "roster.csv")
    return read_class(COURSE, folder / "state", people, at(NOW))


def artifact(name: str) -> Path:
    return Path(os.environ.get("TINYTORCH_ARTIFACTS", LAYOUT.root / ".artifacts")) / name


def open_page(path: Path, profile: Path) -> Browser:
    browser = Browser(profile)
    browser.open(path.as_uri())
    return browser


def test_the_dashboard_opens_in_chromium_without_errors_with_charts_drawn(book, tmp_path):
    page = write_dashboard(book, LAYOUT, tmp_path / "index.html")
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page.read_text())  # no asset
    browser = open_page(page, tmp_path / "profile")
    try:
        assert browser.errors() == []
        charts = browser.evaluate("""Array.from(document.querySelectorAll('figure svg')).map(
            (svg) => [svg.closest('figure').id, Math.round(svg.getBoundingClientRect().width),
                      svg.querySelectorAll('path').length])""")
        assert [chart[0] for chart in charts] == ["scores", "completion", "failures"]
        for name, width, paths in charts:
            assert width > 300 and paths > 10, name  # drawn, not an empty frame
        # The gradebook table sorts by total, highest first on a second click.
        column = len(COURSE.modules) + 1
        script = f"""(() => {{
            const table = document.querySelectorAll('table.sortable')[
                document.querySelectorAll('table.sortable').length - 1];
            const header = table.tHead.rows[0].cells[{column}];
            header.click(); header.click();
            return Array.from(table.tBodies[0].rows).map((r) => r.cells[{column}].textContent);
        }})()"""
        shown = [float(cell) for cell in browser.evaluate(script)]
        expected = sorted((official_total(book, s)[0] for s in book.students), reverse=True)
        assert shown == expected
        browser.screenshot(artifact("dashboard.png"))
        assert browser.errors() == []
    finally:
        browser.close()
    assert artifact("dashboard.png").stat().st_size > 10_000


def test_the_error_check_sees_a_broken_page(tmp_path):
    """The console check can fail: a page whose script throws is caught."""
    page = tmp_path / "broken.html"
    page.write_text("<!DOCTYPE html><html><body><script>undefinedCall();</script></body></html>")
    browser = open_page(page, tmp_path / "profile")
    try:
        assert any("undefinedCall" in error for error in browser.errors())
    finally:
        browser.close()


def test_no_line_of_a_hidden_test_or_a_solution_reaches_the_page(book):
    """An attack: the most common failing message echoes a hidden test's assertion and a
    solution's line (as an assertion rewrite or a traceback could); both are withheld."""
    secrets = secret_lines(LAYOUT)
    hidden = next(LAYOUT.hidden_tests.rglob("test_*.py")).read_text().splitlines()
    solution = LAYOUT.module_file(LAYOUT.reference, COURSE.module(1)).read_text().splitlines()
    leak_test = next(line.strip() for line in hidden if line.strip().startswith("assert ")
                     and len(line.strip()) > 20)  # fmt: skip
    leak_solution = next(line.strip() for line in solution if "return" in line
                         and len(line.strip()) > 20)  # fmt: skip
    student = next(s for s in book.students if s.latest)
    leaked = []
    for result in student.latest:
        tests = tuple(dataclasses.replace(t, passed=False, feedback=f"E   {leak_test}")
                      for t in result.tests)  # fmt: skip
        leaked.append(dataclasses.replace(result, tests=tests))
    leaked[0] = dataclasses.replace(leaked[0], tests=tuple(
        dataclasses.replace(t, feedback=leak_solution) for t in leaked[0].tests))  # fmt: skip
    attacked = dataclasses.replace(book, students=[
        dataclasses.replace(s, latest=tuple(leaked)) if s is student else s
        for s in book.students
    ])  # fmt: skip
    page = render(attacked, LAYOUT)
    assert leak_test in secrets and leak_solution in secrets
    assert leak_test not in page and leak_solution not in page and WITHHELD in page
    for line in secrets:
        assert line not in page or len(line) < 40, line
    table = per_test_csv(attacked, Secrets(secrets).shown)  # the gradebook's tests.csv too
    assert leak_test not in table and leak_solution not in table and WITHHELD in table


def test_students_at_risk_are_found_for_the_reasons_given(book):
    quiet = next(s for s in book.students if s.repository and len(s.pushes) >= 5)

    def variant(name: str, **changes) -> Student:
        person = dataclasses.replace(quiet.person, username=name)
        return dataclasses.replace(quiet, person=person, _reached={}, **changes)

    timed_out = [
        dataclasses.replace(p, modules={k: [*v[:4], 1, v[5]] for k, v in p.modules.items()})
        for p in quiet.pushes
    ]
    people = [
        variant("stalled", pushes=quiet.pushes[:1]),
        variant("hung", pushes=timed_out),
        variant("absent", repository="", pushes=[]),
    ]
    risky = dict(analysis.at_risk(dataclasses.replace(book, students=people)))
    assert f"no module newly passing in {analysis.RISK_DAYS} days" in risky["stalled"]
    assert "due modules not passing" in risky["stalled"]
    assert "time limits hit on 5 of the last 5 pushes" in risky["hung"]
    assert "time limits" not in risky.get("stalled", "")
    assert risky["absent"] == "never accepted the assignment"
