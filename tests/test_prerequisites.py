"""Where earlier modules come from: the reference only after their due date (before it,
the reference would be readable by the student's code in the worker)."""

import datetime as dt
import shutil

from grader.grade.sources import prerequisite_sources

from .conftest import COURSE, LAYOUT

ACTIVATIONS, TENSOR = COURSE.module(2), COURSE.module(1)


def _submission(tmp_path, with_tensor=True):
    root = tmp_path / "submission"
    (root / ACTIVATIONS.dirname).mkdir(parents=True)
    if with_tensor:
        shutil.copytree(LAYOUT.starter / TENSOR.dirname, root / TENSOR.dirname)
    return root


def _source(tmp_path, now, with_tensor=True):
    sources, notes = prerequisite_sources(
        LAYOUT, COURSE, ACTIVATIONS, _submission(tmp_path, with_tensor), now
    )
    [(module, path, _)] = sources
    assert module == TENSOR
    return path, notes


def test_before_its_due_date_a_prerequisite_is_the_students_own(tmp_path):
    before = TENSOR.due - dt.timedelta(hours=1)
    path, notes = _source(tmp_path, before)
    assert path == tmp_path / "submission" / TENSOR.dirname / TENSOR.filename and not notes


def test_before_its_due_date_a_missing_prerequisite_is_the_starter_never_the_reference(
    tmp_path,
):
    before = TENSOR.due - dt.timedelta(hours=1)
    path, notes = _source(tmp_path, before, with_tensor=False)
    assert path == LAYOUT.module_file(LAYOUT.starter, TENSOR)
    assert "came from starter/" in notes[0]


def test_after_its_due_date_a_prerequisite_is_the_reference(tmp_path):
    after = TENSOR.due + dt.timedelta(hours=1)
    path, notes = _source(tmp_path, after)
    assert path == LAYOUT.module_file(LAYOUT.reference, TENSOR) and not notes
