"""Visible tests for module 20 (capstone). Run them with `make grade MODULE=20`.

Each test names its task. The hidden tests build MLPs from weights they draw, put them
into your layers, and recompute predictions, agreement, low-rank factors and the ranks
`build` must choose in NumPy; the submission file is read back with the grader's own
checker. Your code runs in a separate process: `student.capstone` is your module there.
"""

import json

import numpy as np
import pytest

from grader.testing.capstone import draw_mlp, mlp_in_worker, mlp_logits
from grader.testing.checks import assert_array
from grader.testing.kit import scratch, student
from grader.tinymlperf.schema import parse_submission

capstone = student.capstone
CLASSES = {"rtol": 0, "atol": 0, "dtype": np.int64}
"""How assert_array compares predicted classes: int64, exactly."""
PARAMS = draw_mlp(1, (6, 8, 5, 3))
IMAGES = np.random.default_rng(2).standard_normal((10, 6)).astype(np.float32)


@pytest.mark.task("20.1")
@pytest.mark.points(4)
def test_predict_gives_each_rows_class_batch_by_batch():
    want = mlp_logits(PARAMS, IMAGES.astype(np.float64)).argmax(axis=1)
    got = capstone.predict(mlp_in_worker(PARAMS), IMAGES, batch_size=4)
    assert_array(got, want, "predict(model, 10 images, batch_size=4)", **CLASSES)
    with pytest.raises(ValueError):
        capstone.predict(mlp_in_worker(PARAMS), IMAGES, batch_size=0)


@pytest.mark.task("20.2")
@pytest.mark.points(3)
def test_agreement_of_a_model_with_itself_and_with_another():
    other = draw_mlp(3, (6, 8, 5, 3))
    x = IMAGES.astype(np.float64)
    want = np.mean(mlp_logits(PARAMS, x).argmax(1) == mlp_logits(other, x).argmax(1))
    got = capstone.agreement(mlp_in_worker(PARAMS), mlp_in_worker(other), IMAGES)
    assert isinstance(got, float) and abs(got - want) < 1e-12, f"agreement {got}, expected {want}"


@pytest.mark.task("20.5")
@pytest.mark.points(3)
def test_write_submission_writes_a_file_the_grader_accepts():
    folder = scratch()
    capstone.write_submission(folder.remote, "digits", "closed", "build", "mine")
    entry = parse_submission(folder.read_bytes("submission.json"))
    assert (entry.task, entry.track, entry.entry_point, entry.name) == (
        "digits", "closed", "build", "mine",
    )  # fmt: skip
    assert json.loads(folder.read_bytes("submission.json")).get("self_reported") is None
    with pytest.raises(ValueError):
        capstone.write_submission(folder.remote, "cifar10")
