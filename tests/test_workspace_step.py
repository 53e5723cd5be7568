"""The workspace step and the typed values between the steps of a local grade: the
notebook synced and `tinytorch/` rebuilt in one call, a saved results.json read back by
its one reader, a stub message spelled and parsed in one place."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

from hypothesis import given
from hypothesis import strategies as st

from grader.assign.notebook import read_notebook, write_notebook
from grader.assign.regions import open_tasks
from grader.assign.unlock import unlock_modules
from grader.assign.workspace import REBUILT, update_workspace
from grader.layout import Layout
from grader.report.formats import read_gradescope_score, to_gradescope
from grader.report.results import ModuleResult, TestResult
from grader.stub import STUB_MESSAGE, stub_message

from .conftest import copy_of_course

EDIT = "EDITED_IN_THE_NOTEBOOK = 1"


def _student_repository(tmp_path, course) -> Layout:
    student = copy_of_course(tmp_path / "repo", starter=True)
    unlock_modules(student, course, dt.date(2026, 9, 8))
    return student


def test_one_step_brings_the_notebook_edit_into_the_file_and_the_package(tmp_path, course):
    student = _student_repository(tmp_path, course)
    module = course.module(1)
    first = update_workspace(student, course, [module])
    assert first.lines == (REBUILT,)  # the package did not exist yet
    folder = student.assignments / module.dirname
    notebook = read_notebook((folder / "tensor.ipynb").read_text())
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    code[-1].source += f"\n{EDIT}"
    (folder / "tensor.ipynb").write_text(write_notebook(notebook))

    second = update_workspace(student, course, [module])
    assert len(second.lines) == 2 and second.lines[1] == REBUILT, second.lines
    assert "tensor.ipynb" in second.lines[0]
    assert EDIT in (folder / "tensor.py").read_text()
    assert EDIT in (student.package / "core" / "tensor.py").read_text()
    assert update_workspace(student, course, [module]).lines == ()  # nothing changed since


def test_without_the_package_the_step_only_syncs(tmp_path, course):
    student = _student_repository(tmp_path, course)
    update = update_workspace(student, course, [course.module(1)], rebuild_package=False)
    assert update.package is None and not student.package.exists()


def _result(scores: list[tuple[float, float]], visible_only: bool) -> ModuleResult:
    tests = tuple(
        TestResult(f"t.py::test_{i}", "01.1", score, top, score == top, "", False, 0.1)
        for i, (score, top) in enumerate(scores)
    )
    top = round(sum(t.max_score for t in tests), 2)
    return ModuleResult(
        "01_tensor",
        "Tensor",
        tests,
        top,
        1.0,
        "2026-09-08T10:00:00+00:00",
        visible_only=visible_only,
    )


@given(
    st.lists(st.sampled_from([(0.0, 2.5), (2.5, 2.5), (1.0, 1.0), (0.0, 4.0)]), max_size=6),
    st.booleans(),
    st.floats(0.0, 0.5),
)
def test_a_saved_result_reads_back_as_the_score_it_recorded(
    tmp_path_factory, scores, visible, penalty
):
    result = dataclasses.replace(_result(scores, visible), late_penalty=round(penalty, 2))
    path = tmp_path_factory.mktemp("grades") / "results.json"
    path.write_text(json.dumps(to_gradescope(result)))
    saved = read_gradescope_score(path)
    assert saved is not None
    assert (saved.score, saved.max_score) == (result.score, result.max_score)
    assert saved.visible_only == visible and saved.graded_at == result.graded_at
    expected = result.score / result.max_score if result.max_score else 0.0
    assert saved.fraction == expected


def test_an_unreadable_record_reads_as_none(tmp_path):
    (tmp_path / "results.json").write_text('{"score": 3}')
    assert read_gradescope_score(tmp_path / "results.json") is None
    assert read_gradescope_score(tmp_path / "missing.json") is None


TASKS = st.from_regex(r"\A\d{2}\.[1-9]\d?\Z")
SCOPES = st.from_regex(r"\A[A-Za-z_]\w{0,12}(\.[A-Za-z_]\w{0,12}){0,2}\Z")
HINTS = st.text(st.characters(codec="ascii", exclude_characters="\n\r"), max_size=40)


@given(TASKS, SCOPES, HINTS)
def test_a_stub_message_parses_back_to_its_task_and_scope(task, scope, hint):
    found = STUB_MESSAGE.match(stub_message(task, scope, hint.strip()))
    assert found is not None and (found["task"], found["scope"]) == (task, scope)


def test_the_generated_package_shortens_a_stub_as_the_grader_spells_it(tmp_path, course):
    """`tinytorch/__init__.py` cannot import the grader: it carries `STUB_MESSAGE` itself."""
    student = _student_repository(tmp_path, course)
    update_workspace(student, course, [])
    generated: dict = {"__name__": "tinytorch_copy"}
    exec((student.package / "__init__.py").read_text(), generated)  # modules: tensor only
    shorten = generated["_without_hint"]
    stub = NotImplementedError(stub_message("05.2", "Engine.record", "walk the graph."))
    assert shorten(stub) == "Task 05.2: implement Engine.record"
    assert shorten(ValueError("Hint: not a stub")) == "Hint: not a stub"
    todo = open_tasks(student.module_file(student.assignments, course.module(1)))
    assert todo and all(line.startswith("Task 01.") for line in todo)
