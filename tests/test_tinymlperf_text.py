"""TinyMLPerf's text task (`austen_gpt`): the baseline GPT trained by the grader, the
quality in nats per character computed here from the logits the student's model returns
on held-out windows, a ceiling that a worse model cannot pass, the time per generated
character measured interleaved with the baseline's, self-reported numbers ignored, a
model that answers worse while timed not ranked, and "not measured" without the text.

The text is a corpus this test writes (words drawn with a fixed seed) in the place
Austen's novels are read from, so the test needs no download and knows its data."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from grader.tinymlperf import text
from grader.tinymlperf.measure import Settings, measure
from grader.tinymlperf.reference import reference_modules
from milestones.datasets.text import AUSTEN_NOVELS
from tests.conftest import COURSE, LAYOUT
from tests.test_tinymlperf_measure import _tree as _image_tree

QUICK = Settings(warmup=1, windows=5, min_window_seconds=0.01)
GOOD = {"task": "austen_gpt", "track": "closed", "entry_point": "build_gpt"}
WORDS = "the a of and to her she was it not be that in had you mr miss elizabeth".split()


@pytest.fixture(scope="module", autouse=True)
def corpus(tmp_path_factory):
    """Three 'novels' of words drawn at random, where the loader reads Austen from."""
    root = tmp_path_factory.mktemp("data")
    (root / "austen").mkdir()
    rng = np.random.default_rng(7)
    for novel in AUSTEN_NOVELS:
        words = rng.choice(WORDS, 12_000)
        (root / "austen" / f"{novel}.txt").write_text(" ".join(words) + ".\n")
    patch = pytest.MonkeyPatch()
    patch.setenv("TINYTORCH_DATA", str(root))
    patch.setenv("TINYTORCH_OFFLINE", "1")
    text.austen.cache_clear(), text.baseline_state.cache_clear()
    yield root
    patch.undo()
    text.austen.cache_clear(), text.baseline_state.cache_clear()


def _tree(tmp_path, submission, source=None):
    """A student's repository as in the image tests, with modules 08 to 14 solved too
    (the GPT and its KV cache)."""
    tree = _image_tree(tmp_path, submission, source)
    module = COURSE.module(14)
    for earlier in [*COURSE.prerequisite_closure(module), module]:
        if not (tree / earlier.dirname).exists():
            shutil.copytree(LAYOUT.solutions / earlier.dirname, tree / earlier.dirname)
    return tree


def _baseline_nats() -> float:
    """The baseline's nats on the scored windows, recomputed here in the reference GPT."""
    ref = reference_modules(LAYOUT.root, (14, 20))
    data = text.austen()
    model = ref["transformers"].GPT(len(data.vocabulary), text.CONTEXT, text.D_MODEL,
                                    text.HEADS, text.LAYERS)  # fmt: skip
    model.load_state_dict(text.baseline_state(LAYOUT.root))
    model.eval()
    windows = text.held_out_windows(data.held_out, 128, QUICK.seed)
    logits = model(ref["tensor"].Tensor(windows[:, :-1], dtype=np.int64)).data
    return text.nats(logits, windows[:, 1:])


def test_the_reference_gpt_is_measured_per_character_and_claims_change_nothing(tmp_path):
    claims = {"nats": 0.5, "speedup": 50.0}
    record = measure(_tree(tmp_path, {**GOOD, "self_reported": claims}), "ada", settings=QUICK)
    assert record["status"] == "ranked", record["message"]
    assert record["nats"] == pytest.approx(_baseline_nats(), abs=1e-3)
    assert record["nats"] <= record["floor"] == text_floor()
    assert abs(record["timed_nats"] - record["nats"]) < 0.1
    assert 0 < record["speedup_low"] <= record["speedup"] <= record["speedup_high"] < 50
    assert record["speedup"] == pytest.approx(record["baseline_ms"] / record["latency_ms"], 1e-3)
    assert [line.split(",")[0] for line in record["disagreements"]] == [
        "self-reported nats 0.5000",
        "self-reported speedup 50.00x",
    ]
    assert "throughput" not in record  # a per-character time only


def text_floor() -> float:
    from grader.tinymlperf.tasks import TASKS

    return TASKS["austen_gpt"].floor


ZEROED_HEAD = """
import numpy as np


def build_gpt(baseline, calibration, training=None):
    baseline.head.weight.data = np.zeros_like(baseline.head.weight.data)
    return baseline
"""

TIMED_ZEROS = """
import numpy as np


class HonestWindowsOnly:
    def __init__(self, model):
        self.model = model

    def __call__(self, ids):
        return self.model(ids)

    def next_logits(self, ids):
        return np.zeros((1, self.model.vocab_size), dtype=np.float32)


def build_gpt(baseline, calibration, training=None):
    return HonestWindowsOnly(baseline)
"""

SLOW_STEPS = """
import time


class Slow:
    def __init__(self, model):
        self.model = model

    def __call__(self, ids):
        return self.model(ids)

    def next_logits(self, ids):
        time.sleep(0.005)
        return self.model(ids).data[:, -1]


def build_gpt(baseline, calibration, training=None):
    return Slow(baseline)
"""


@pytest.mark.parametrize(
    ("source", "status", "message"),
    [
        (ZEROED_HEAD, "under_floor", "nats/char on held-out text is over the floor of 2.50"),
        # zeros: every character equally likely, ln 21 nats for the corpus's 21 characters
        (TIMED_ZEROS, "invalid", "the model answered worse while timed (3.045 nats/char)"),
    ],
)
def test_a_model_over_the_ceiling_or_worse_when_timed_is_not_ranked(tmp_path, source, status,
                                                                     message):  # fmt: skip
    record = measure(_tree(tmp_path, GOOD, source), "bob", settings=QUICK)
    assert record["status"] == status and message in record["message"], record["message"]
    assert "speedup" not in record


def test_the_time_per_character_is_the_students_against_a_baseline_timed_in_turns(tmp_path):
    """A model sleeping 5 ms a step (the baseline takes about 1 ms) is measured slower:
    the baseline runs in its own worker, in the same job."""
    record = measure(_tree(tmp_path, GOOD, SLOW_STEPS), "eve", settings=QUICK)
    assert record["status"] == "ranked", record["message"]
    assert record["speedup_high"] < 0.8 and record["latency_ms"] >= 5.0, record


OPEN_CHECK = """
def build_gpt(baseline, calibration, training=None):
    assert calibration.shape == (16, 64) and str(calibration.dtype) == "int64"
    if training is not None:
        raise RuntimeError(f"open track: {training.shape[0]} training ids")
    raise RuntimeError("closed track: no training text")
"""


@pytest.mark.parametrize("track", ["closed", "open"])
def test_only_the_open_track_gets_the_training_text(tmp_path, track):
    record = measure(_tree(tmp_path, {**GOOD, "track": track}, OPEN_CHECK), "fay")
    assert record["status"] == "invalid"
    expected = f"{len(text.austen().train)} training ids" if track == "open" else "no training"
    assert expected in record["message"], record["message"]


def test_without_the_text_the_record_says_not_measured(tmp_path, monkeypatch):
    def absent():
        raise text.TextUnavailableError("Jane Austen's novels are not on this machine")

    monkeypatch.setattr(text, "austen", absent)
    record = measure(_tree(tmp_path, GOOD), "gus")
    assert record["status"] == "failed"
    assert record["message"].startswith("not measured: Jane Austen's novels are not on")
    assert json.dumps(record)  # a record, not a crash


def test_without_modules_13_and_14_done_the_message_says_the_baseline_cannot_be_built(tmp_path):
    record = measure(_image_tree(tmp_path, GOOD), "hal", settings=QUICK)  # 08-14: starters
    assert record["status"] == "invalid"
    assert record["message"].startswith("the baseline GPT cannot be built in your layers")
    assert "NotImplementedError" in record["message"], record["message"]
