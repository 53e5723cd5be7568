"""Where earlier modules come from: the reference only after their late window has closed
(before it, the reference would be readable by the student's code in the worker, and the
student could still hand the module in late)."""

import datetime as dt
import shutil

from grader.grade.sources import hand_ins_close, prerequisite_sources
from grader.submission import SubmissionCopies

from .conftest import COURSE, LAYOUT

ACTIVATIONS, TENSOR = COURSE.module(2), COURSE.module(1)


def _submission(tmp_path, with_tensor=True):
    root = tmp_path / "submission"
    (root / ACTIVATIONS.dirname).mkdir(parents=True)
    if with_tensor:
        shutil.copytree(LAYOUT.starter / TENSOR.dirname, root / TENSOR.dirname)
    return root


def _source(tmp_path, now, with_tensor=True):
    copies = SubmissionCopies(_submission(tmp_path, with_tensor), tmp_path / "copies")
    sources, notes = prerequisite_sources(LAYOUT, COURSE, ACTIVATIONS, copies, now)
    [source] = sources
    module, path = source.module, source.path
    assert module == TENSOR
    return path, notes


def test_before_its_due_date_a_prerequisite_is_the_students_own(tmp_path):
    before = TENSOR.due - dt.timedelta(hours=1)
    path, notes = _source(tmp_path, before)
    assert path == tmp_path / "copies" / TENSOR.dirname / TENSOR.filename and not notes
    assert path.read_bytes() == LAYOUT.module_file(LAYOUT.starter, TENSOR).read_bytes()


def test_before_its_due_date_a_missing_prerequisite_is_the_starter_never_the_reference(
    tmp_path,
):
    before = TENSOR.due - dt.timedelta(hours=1)
    path, notes = _source(tmp_path, before, with_tensor=False)
    assert path == LAYOUT.module_file(LAYOUT.starter, TENSOR)
    assert "came from starter/" in notes[0]


def test_in_its_late_window_a_prerequisite_is_still_the_students_own(tmp_path):
    assert COURSE.policies.max_late_days > 0
    late = hand_ins_close(TENSOR, COURSE) - dt.timedelta(hours=1)
    assert late > TENSOR.due
    path, notes = _source(tmp_path, late)
    assert path == tmp_path / "copies" / TENSOR.dirname / TENSOR.filename and not notes


def test_after_its_late_window_a_prerequisite_is_the_reference(tmp_path):
    after = hand_ins_close(TENSOR, COURSE) + dt.timedelta(hours=1)
    path, notes = _source(tmp_path, after)
    assert path == LAYOUT.module_file(LAYOUT.reference, TENSOR) and not notes
