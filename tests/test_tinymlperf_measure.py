"""TinyMLPerf's official measurement (grader/tinymlperf): the submission file is checked
against its schema with errors naming the field; the student's model runs in a grading
worker and the baseline in a clean one; the accuracy is computed here from the model's
logits; a model under the floor gets no rank; self-reported numbers never decide; a model
that answers worse while timed (at either batch size) is caught; timed inputs are never
repeated; the throughput at a large batch is measured the same way as the speed."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from grader.remote.isolation import choose, isolation_required
from grader.testing.capstone import factorized, mlp_logits
from grader.tinymlperf import tasks
from grader.tinymlperf.measure import FLIPS, THROUGHPUT_BATCH, Settings, _Batches, measure
from grader.tinymlperf.schema import SCHEMA_FILE, SubmissionError, parse_submission
from tests.conftest import COURSE, LAYOUT

REFERENCE = Path(__file__).with_name("tinymlperf") / "reference" / "20_capstone"
QUICK = Settings(warmup=1, windows=5, min_window_seconds=0.01)
GOOD = {"task": "digits", "track": "closed", "entry_point": "build"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"task": None}, "submission.json is missing the field 'task'"),
        ({"track": None}, "submission.json is missing the field 'track'"),
        ({"entry_point": None}, "missing the field 'entry_point'"),
        ({"task": 3}, "submission.json.task must be a string, got a number (3)"),
        ({"task": "cifar10"}, 'submission.json.task must be one of "digits", "fashion_mnist"'),
        ({"track": "fast"}, 'submission.json.track must be one of "closed", "open", got "fast"'),
        ({"entry_point": "os.system"}, "submission.json.entry_point must be a Python name"),
        ({"speed": 3}, "submission.json has an unknown field 'speed'"),
        ({"self_reported": {"accuracy": "high"}}, "self_reported.accuracy must be a number"),
        ({"self_reported": {"accuracy": True}}, "must be a number, got a boolean"),
        ({"self_reported": {"accuracy": 1.5}}, "self_reported.accuracy must lie in [0, 1]"),
        ({"self_reported": {"latency": 1}}, "self_reported has an unknown field 'latency'"),
    ],
)
def test_a_bad_submission_file_gets_an_error_naming_the_field(change, message):
    data = {**GOOD, **change}
    data = {key: value for key, value in data.items() if value is not None}
    with pytest.raises(SubmissionError) as error:
        parse_submission(json.dumps(data))
    assert message in str(error.value)


def test_a_good_submission_file_and_the_schema_name_the_tasks_the_grader_has():
    entry = parse_submission(json.dumps({**GOOD, "self_reported": {"accuracy": 0.9}}))
    assert (entry.task, entry.track, entry.self_reported) == ("digits", "closed", {"accuracy": 0.9})
    schema = json.loads(SCHEMA_FILE.read_text())
    assert schema["properties"]["task"]["enum"] == list(tasks.TASKS)
    for text in ("[1]", "{oops", ""):
        with pytest.raises(SubmissionError, match="submission.json"):
            parse_submission(text)


def test_timed_inputs_are_unique_and_a_few_pixels_per_image_away_from_the_held_out_set():
    held_out = tasks.task_data("digits").held_out
    sent = []

    class Recorder:
        def request(self, op, args):
            sent.append(args[1][1])
            return np.zeros((len(args[1][1]), tasks.CLASSES), dtype=np.float32)

    batches = _Batches(held_out, seed=3)
    for _ in range(50):
        batches.call(Recorder(), model=None)
    assert len(sent) == 50 and len({batch.tobytes() for batch in sent}) == 50
    for batch in sent:
        changed = np.count_nonzero(batch != held_out.pixels[: len(batch)], axis=1)
        assert changed.tolist() == [FLIPS] * len(batch)  # the whole (small) set


def test_a_throughput_batch_larger_than_the_set_draws_rows_a_few_pixels_away_and_judged():
    """Digits has 359 held-out images: a batch of 4,096 draws rows again. Every row sent is
    FLIPS pixels from a held-out image, and the answers are judged against that image's label
    (a model answering each row with the label of the image it came from scores 100%)."""
    held_out = tasks.task_data("digits").held_out
    images = held_out.pixels.astype(np.int16)

    class Oracle:
        def request(self, op, args):
            sent = args[1][1].astype(np.int16)
            distance = np.count_nonzero(sent[:, None, :] != images[None, :, :], axis=2)
            assert (distance.min(axis=1) == FLIPS).all()
            logits = np.zeros((len(sent), tasks.CLASSES), dtype=np.float32)
            nearest = held_out.labels[distance.argmin(axis=1)]
            logits[np.arange(len(sent)), nearest] = 1.0
            return logits

    batches = _Batches(held_out, seed=4, size=THROUGHPUT_BATCH)
    for _ in range(2):
        batches.call(Oracle(), model=None)
    assert batches.size == THROUGHPUT_BATCH == 4096 and batches.seen == 2 * 4096
    assert batches.accuracy > 0.99  # 1.0 but for held-out duplicates with other labels


@pytest.mark.parametrize("size", [None, THROUGHPUT_BATCH])
def test_a_table_of_rows_seen_before_would_answer_almost_no_timed_row(size):
    """An attack: a model that keeps every row it was sent and its answer, to look rows up
    instead of computing them. On the 359 digits, over 50 calls (a measurement makes
    hundreds), under 1% of the rows come again (one changed pixel a row: 31% and 89%)."""
    held_out, seen, repeats = tasks.task_data("digits").held_out, set(), []

    class Memo:
        def request(self, op, args):
            rows = [row.tobytes() for row in args[1][1]]
            repeats.append(sum(row in seen for row in rows))
            seen.update(rows)
            return np.zeros((len(rows), tasks.CLASSES), dtype=np.float32)

    batches = _Batches(held_out, seed=5, size=size)
    for _ in range(50):
        batches.call(Memo(), model=None)
    assert len(repeats) == 50 and sum(repeats) < 0.01 * batches.seen


def _tree(tmp_path: Path, submission: dict, source: str | None = None) -> Path:
    """A student's repository: the reference solutions of module 20's prerequisites and a
    20_capstone/ with the reference submission (or `source`) and `submission`."""
    tree = tmp_path / "student"
    module = COURSE.module(20)
    for earlier in COURSE.prerequisite_closure(module):
        shutil.copytree(LAYOUT.solutions / earlier.dirname, tree / earlier.dirname)
    shutil.copytree(REFERENCE, tree / module.dirname)
    if source is not None:
        (tree / module.dirname / "capstone.py").write_text(source)
    (tree / module.dirname / "submission.json").write_text(json.dumps(submission))
    return tree


def _low_rank_accuracy() -> float:
    """The reference submission's accuracy, recomputed here in NumPy."""
    params = factorized(tasks.baseline_weights("digits"), (48, 32))
    held_out = tasks.task_data("digits").held_out
    logits = mlp_logits(params, held_out.images.astype(np.float64))
    return tasks.accuracy(logits, held_out.labels)


def test_self_reported_numbers_that_disagree_are_listed_and_the_measurement_ranks(tmp_path):
    claims = {"accuracy": 0.999, "speedup": 50.0}
    record = measure(_tree(tmp_path, {**GOOD, "self_reported": claims}), "ada", settings=QUICK)
    assert record["status"] == "ranked", record["message"]
    assert record["isolation"] == choose(isolation_required()).description  # as in grading
    held_out = tasks.task_data("digits").held_out
    assert abs(record["accuracy"] - _low_rank_accuracy()) <= 1 / len(held_out.labels)
    assert record["floor"] == tasks.TASKS["digits"].floor <= record["accuracy"]
    assert 0 < record["speedup_low"] <= record["speedup"] <= record["speedup_high"] < 50
    assert record["speedup"] == pytest.approx(
        record["baseline_ms"] / record["latency_ms"], rel=1e-3
    )
    assert record["throughput_batch"] == THROUGHPUT_BATCH
    assert 0 < record["throughput_low"] <= record["throughput"] <= record["throughput_high"]
    assert record["throughput_speedup"] == pytest.approx(
        record["throughput"] / record["baseline_throughput"], rel=1e-3
    )
    low, high = record["throughput_speedup_low"], record["throughput_speedup_high"]
    assert 0 < low <= record["throughput_speedup"] <= high
    assert abs(record["throughput_timed_accuracy"] - record["accuracy"]) <= 0.02
    assert [line.split(",")[0] for line in record["disagreements"]] == [
        "self-reported accuracy 0.9990",
        "self-reported speedup 50.00x",
    ]


BROKEN_FIRST_LAYER = """
import numpy as np
from tinytorch.core.layers import Sequential


def build(baseline, calibration, training=None):
    layers = list(baseline)
    layers[0].weight.data = np.zeros_like(layers[0].weight.data)
    return Sequential(*layers)
"""

HONEST_ONCE = '''
import numpy as np
from tinytorch.core.layers import Module
from tinytorch.core.tensor import Tensor


class FirstCallOnly(Module):
    """Right on the first call (the held-out pass of 359 digits), zeros afterwards."""

    def __init__(self, model):
        super().__init__()
        self.model, self.calls = model, 0

    def forward(self, x):
        self.calls += 1
        if self.calls == 1:
            return self.model(x)
        return Tensor(np.zeros((x.shape[0], 10), dtype=np.float32))


def build(baseline, calibration, training=None):
    return FirstCallOnly(baseline)
'''


SMALL_BATCHES_ONLY = '''
import numpy as np
from tinytorch.core.layers import Module
from tinytorch.core.tensor import Tensor


class SmallBatchesOnly(Module):
    """Right on batches of up to 1,024 images (the held-out pass and the speed), zeros on
    the large batches of the throughput."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        if x.shape[0] <= 1024:
            return self.model(x)
        return Tensor(np.zeros((x.shape[0], 10), dtype=np.float32))


def build(baseline, calibration, training=None):
    return SmallBatchesOnly(baseline)
'''


@pytest.mark.parametrize(
    ("source", "status", "message"),
    [
        (BROKEN_FIRST_LAYER, "under_floor", "is under the floor of 95% for 8x8 digits: not ranked"),
        (HONEST_ONCE, "invalid", "the model answered worse while timed"),
        (
            "def build(baseline, calibration, training=None):\n    raise RuntimeError('oops')\n",
            "invalid",
            "20_capstone/capstone.py\", line 2, in build\n    raise RuntimeError('oops')\n"
            "RuntimeError: oops",
        ),
        ("x = 1\n", "invalid", "your entry point build failed"),
    ],
)
def test_models_that_cannot_be_ranked_get_a_specific_message_and_no_speed(
    tmp_path, source, status, message
):
    record = measure(_tree(tmp_path, GOOD, source), "bob", settings=QUICK)
    assert record["status"] == status and message in record["message"], record["message"]
    assert "speedup" not in record


def test_a_model_right_only_on_small_batches_is_caught_by_the_throughput_timing(tmp_path):
    record = measure(_tree(tmp_path, GOOD, SMALL_BATCHES_ONLY), "ivy", settings=QUICK)
    assert record["status"] == "invalid", record["message"]
    assert "the model answered worse while timed" in record["message"]
    assert record["latency_timed_accuracy"] >= record["accuracy"] - 0.02  # fine at 359 a call
    assert record["throughput_timed_accuracy"] < 0.2 and "throughput" not in record


def test_a_missing_or_bad_submission_file_is_a_record_not_a_crash(tmp_path):
    tree = _tree(tmp_path, GOOD)
    (tree / "20_capstone" / "submission.json").write_text('{"task": "digits"}')
    assert measure(tree, "cy")["message"] == "submission.json is missing the field 'track'"
    (tree / "20_capstone" / "submission.json").unlink()
    assert measure(tree, "cy")["status"] == "invalid"


def test_the_harness_is_the_reference_solution_and_leaves_this_process_tinytorch_alone():
    import tinytorch
    from grader.tinymlperf.reference import reference_modules

    before = {name for name in sys.modules if name.startswith("tinytorch")}
    fresh = reference_modules.__wrapped__(LAYOUT.root, (19,))  # a fresh build, not the cached
    harness = fresh["benchmarking"]
    assert sys.modules["tinytorch"] is tinytorch
    assert {name for name in sys.modules if name.startswith("tinytorch")} == before
    assert harness.__name__ == "tinytorch.core.benchmarking" and harness is not sys.modules.get(
        "tinytorch.core.benchmarking"
    )
    source = Path(harness.__file__).read_text()
    assert (LAYOUT.solutions / "19_benchmarking" / "benchmarking.py").read_text() in source


SLOWED_LAYERS = """
import time

from tinytorch.core import layers

_forward = layers.Linear.forward


def _slow_forward(self, x):
    time.sleep(0.005)
    return _forward(self, x)


layers.Linear.forward = _slow_forward  # every Linear in this process, the baseline's too


def build(baseline, calibration, training=None):
    return baseline
"""


def test_the_baseline_runs_apart_from_the_students_code_so_slowing_layers_only_slows_theirs(
    tmp_path,
):
    """An attack: a module that slows every Linear in its process hoping to slow the
    baseline. The baseline runs in a worker of reference code: only the student's own
    model (the unchanged baseline, 3 Linears, 15 ms of sleep a call) gets slower."""
    record = measure(_tree(tmp_path, GOOD, SLOWED_LAYERS), "eve", settings=QUICK)
    assert record["status"] == "ranked", record["message"]
    assert record["speedup_high"] < 0.5, record  # digits: about 1 ms of work per call


TRACK_CHECK = """
def build(baseline, calibration, training=None):
    assert calibration.shape == (256, 64) and str(calibration.dtype) == "float32"
    assert 0.0 <= calibration.min() and calibration.max() <= 1.0
    if training is not None:
        images, labels = training
        assert images.shape == (1438, 64) and labels.shape == (1438,)
        assert (images[:256] == calibration).all() and set(labels.tolist()) == set(range(10))
        raise RuntimeError("open track: got the labelled training set")
    raise RuntimeError("closed track: no training set")
"""


@pytest.mark.parametrize("track", ["closed", "open"])
def test_only_the_open_track_gets_the_labelled_training_set(tmp_path, track):
    record = measure(_tree(tmp_path, {**GOOD, "track": track}, TRACK_CHECK), "fay")
    assert record["status"] == "invalid" and record["track"] == track
    assert f"RuntimeError: {track} track: " in record["message"], record["message"]
