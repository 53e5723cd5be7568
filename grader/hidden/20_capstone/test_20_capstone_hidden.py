"""Hidden tests for module 20 (capstone).

Every expected value is recomputed here in NumPy from weights and images the test owns
(grader/testing/capstone.py): predictions are argmaxes of float64 logits, agreement is
counted here, factorized models are compared with this process's own SVD, and the rank
`build` must choose is found here by the same rule. The real-data test trains the digits
baseline here (grader/tinymlperf/tasks.py), hands it to the student's `build` and
computes the accuracy from the returned model's logits on the held-out digits. The
submission file is read back with the grader's own checker. Every call on the student's
code runs in the worker.

PYTEST_DONT_REWRITE: failures show the helpers' messages, never this file's source.
"""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from grader.testing.capstone import draw_mlp, factorized, mlp_in_worker, mlp_logits
from grader.testing.checks import as_array, assert_array, items
from grader.testing.kit import aids, fetch, scratch, student
from grader.tinymlperf import tasks
from grader.tinymlperf.schema import SubmissionError, parse_submission

capstone = student.capstone
CLASSES = {"rtol": 0, "atol": 0, "dtype": np.int64}
"""How assert_array compares predicted classes: int64, exactly."""
Tensor, Sequential, ReLU = student.tensor.Tensor, student.layers.Sequential, student.layers.ReLU
F64 = np.float64
SIZES = (12, 20, 16, 5)


def _images(seed, rows, features=SIZES[0]):
    return np.random.default_rng(seed).standard_normal((rows, features)).astype(np.float32)


def _classes(params, images):
    return mlp_logits(params, images.astype(F64)).argmax(axis=1)


def _assert_model(model, params, images, what):
    """The model's logits on `images` equal the NumPy MLP `params` (float64) on them."""
    got = as_array(model(Tensor(images)), what)
    assert_array(got, mlp_logits(params, images.astype(F64)), what, rtol=1e-4, atol=1e-4)


# ---- 20.1 predict ----
@pytest.mark.task("20.1")
@pytest.mark.points(4)
@given(rows=st.integers(0, 25), batch=st.integers(1, 30), seed=st.integers(0, 2**16))
def test_predict_is_the_argmax_of_every_row_in_any_batching(rows, batch, seed):
    params, images = draw_mlp(seed, SIZES), _images(seed, rows)
    got = capstone.predict(mlp_in_worker(params), images, batch_size=batch)
    assert_array(
        got, _classes(params, images), f"predict({rows} rows, batch_size={batch})", **CLASSES
    )


@pytest.mark.task("20.1")
@pytest.mark.points(3)
def test_predict_runs_batch_by_batch_without_gradients():
    params, images = draw_mlp(5, SIZES), _images(5, 10)
    recorder = aids.training.Recorder(mlp_in_worker(params))
    got = capstone.predict(recorder, Tensor(images), batch_size=4)
    assert_array(got, _classes(params, images), "predict of a Tensor", **CLASSES)
    seen = items(fetch(recorder.seen), 3, "calls of the model (10 images, batches of 4)")
    assert [requires_grad for requires_grad, _ in seen] == [False] * 3, f"gradients on: {seen}"


@pytest.mark.task("20.1")
@pytest.mark.points(2)
@pytest.mark.parametrize("batch", [0, -1, 2.5, True])
def test_predict_refuses_a_batch_size_that_is_not_a_positive_int(batch):
    params = draw_mlp(6, SIZES)
    model = mlp_in_worker(params)
    got = capstone.predict(model, _images(6, 3))
    assert_array(got, _classes(params, _images(6, 3)), "predict(model, 3 images)", **CLASSES)
    with pytest.raises(ValueError):
        capstone.predict(model, _images(6, 3), batch_size=batch)
    with pytest.raises(ValueError):
        capstone.predict(model, _images(6, 3)[0])  # one image as 1-D


# ---- 20.2 agreement ----
@pytest.mark.task("20.2")
@pytest.mark.points(4)
@given(rows=st.integers(1, 40), seed=st.integers(0, 2**16), batch=st.integers(1, 50))
def test_agreement_is_the_share_of_equal_predictions(rows, seed, batch):
    first, second, images = draw_mlp(seed, SIZES), draw_mlp(seed + 1, SIZES), _images(seed, rows)
    want = float(np.mean(_classes(first, images) == _classes(second, images)))
    got = capstone.agreement(mlp_in_worker(first), mlp_in_worker(second), images, batch)
    assert type(got) is float and math.isclose(got, want), f"agreement {got!r}, expected {want}"


@pytest.mark.task("20.2")
@pytest.mark.points(1)
def test_agreement_of_no_images_is_an_error():
    params = draw_mlp(7, SIZES)
    same = capstone.agreement(mlp_in_worker(params), mlp_in_worker(params), _images(7, 5))
    assert same == 1.0, f"a model agrees with itself: {same}"
    with pytest.raises(ValueError):
        capstone.agreement(mlp_in_worker(params), mlp_in_worker(params), _images(7, 0))


# ---- 20.3 factorize ----
@pytest.mark.task("20.3")
@pytest.mark.points(4)
@pytest.mark.parametrize("ranks", [(4,), (4, 3), (30, 30), (1, 1, 1), ()])
def test_factorize_replaces_the_first_linears_by_their_best_low_rank_products(ranks):
    params, images = draw_mlp(8, SIZES), _images(8, 9)
    model = mlp_in_worker(params)
    small = capstone.factorize(model, ranks)
    _assert_model(small, factorized(params, ranks), images, f"factorize(model, {ranks})")
    _assert_model(model, params, images, "the model passed to factorize (left unchanged)")
    # each factorized Linear becomes two weights and a bias: three parameters, not two
    count = len(items(small.parameters(), 6 + len(ranks), f"parameters after {ranks}"))
    assert count == 6 + len(ranks)


@pytest.mark.task("20.3")
@pytest.mark.points(1)
def test_factorize_refuses_more_ranks_than_linears_and_a_non_sequential():
    params, images = draw_mlp(9, SIZES), _images(9, 4)
    model = mlp_in_worker(params)
    _assert_model(capstone.factorize(model, (2, 2, 2)), factorized(params, (2, 2, 2)), images, "3")
    with pytest.raises(ValueError):
        capstone.factorize(model, (2, 2, 2, 2))
    with pytest.raises(TypeError):
        capstone.factorize(ReLU(), (2,))


# ---- 20.4 build ----
def _expected_rank(params, images, candidates, threshold):
    """The smallest candidate whose (r, r) factorization agrees enough, here in NumPy."""
    baseline = _classes(params, images)
    for rank in sorted(candidates):
        share = np.mean(_classes(factorized(params, (rank, rank)), images) == baseline)
        assert abs(share - threshold) > 1e-9, "pick a threshold off the grid of shares"
        if share >= threshold:
            return rank
    return None


@pytest.mark.task("20.4")
@pytest.mark.points(5)
@pytest.mark.parametrize(
    ("seed", "candidates", "threshold"),
    [
        (10, (1, 2, 4, 8, 12), 0.9025),
        (10, (1, 2, 4, 8, 12), 0.6525),
        (11, (12, 1, 8, 2), 0.8025),
        (12, (2, 4), 0.9975),
    ],
)
def test_build_returns_the_smallest_factorization_that_agrees_enough(seed, candidates, threshold):
    params, calibration = draw_mlp(seed, SIZES), _images(seed, 200)
    baseline = mlp_in_worker(params)
    model = capstone.build(
        baseline, calibration, None, candidates=candidates, min_agreement=threshold
    )
    rank = _expected_rank(params, calibration, candidates, threshold)
    want = params if rank is None else factorized(params, (rank, rank))
    _assert_model(model, want, _images(seed + 100, 16), f"build(..., candidates={candidates})")
    if rank is None:
        assert model is not baseline, "build returns a copy of the baseline, not the baseline"
    _assert_model(baseline, params, _images(seed, 8), "the baseline passed to build (unchanged)")


@pytest.mark.task("20.4")
@pytest.mark.points(1)
def test_build_refuses_an_agreement_outside_zero_to_one():
    params = draw_mlp(13, SIZES)
    model = capstone.build(mlp_in_worker(params), _images(13, 50), None, min_agreement=0.0)
    _assert_model(model, factorized(params, (8, 8)), _images(13, 6), "min_agreement=0: rank 8")
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError):
            capstone.build(mlp_in_worker(params), _images(13, 50), None, min_agreement=bad)


@pytest.mark.task("20.4")
@pytest.mark.points(6)
def test_build_on_the_real_digits_stays_above_the_floor():
    data, params = tasks.task_data("digits"), tasks.baseline_weights("digits")
    model = capstone.build(mlp_in_worker(params), data.calibration, None)
    rank = _expected_rank(params, data.calibration, (8, 16, 24, 32, 48, 64, 96, 128), 0.95)
    held_out = data.held_out
    logits = as_array(model(Tensor(held_out.images)), "logits on the held-out digits")
    assert_array(logits, mlp_logits(factorized(params, (rank, rank)), held_out.images.astype(F64)),
                 f"the digits model (ranks {rank}, {rank})", rtol=1e-4, atol=1e-4)  # fmt: skip
    accuracy = tasks.accuracy(logits, held_out.labels)
    assert accuracy >= tasks.TASKS["digits"].floor, f"accuracy {accuracy:.2%} under the floor"


# ---- 20.5 write_submission ----
@pytest.mark.task("20.5")
@pytest.mark.points(3)
@pytest.mark.parametrize(
    ("task", "claims"),
    [("fashion_mnist", {"accuracy": 0.91, "speedup": 2.5}), ("austen_gpt", {"nats": 2.4})],
)
def test_write_submission_round_trips_through_the_graders_checker(task, claims):
    folder = scratch()
    capstone.write_submission(folder.remote, task, "open", "fast_model", "", claims)
    entry = parse_submission(folder.read_bytes("submission.json"))
    assert (entry.task, entry.track, entry.entry_point) == (task, "open", "fast_model")
    assert entry.self_reported == claims and entry.name == "", entry


@pytest.mark.task("20.5")
@pytest.mark.points(3)
@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("mnist",), "task"),
        (("digits", "fast"), "track"),
        (("digits", "closed", "os.system"), "entry_point"),
        (("digits", "closed", "build", "", {"latency": 1.0}), "self_reported.latency"),
        (("digits", "closed", "build", "", {"accuracy": True}), "self_reported.accuracy"),
        (("digits", "closed", "build", "", {"accuracy": 1.2}), "self_reported.accuracy"),
        (("digits", "closed", "build", "", {"speedup": -1.0}), "self_reported.speedup"),
    ],
)
def test_write_submission_names_the_bad_field(args, field):
    folder = scratch()
    with pytest.raises(ValueError) as error:
        capstone.write_submission(folder.remote, *args)
    assert field in str(error.value), f"the error should name {field!r}: {error.value}"
    assert "submission.json" not in folder.names(), "nothing is written for a bad field"
    capstone.write_submission(folder.remote, "digits")
    assert parse_submission(folder.read_bytes("submission.json")).track == "closed"
    with pytest.raises(SubmissionError):
        parse_submission(b'{"task": "digits"}')
