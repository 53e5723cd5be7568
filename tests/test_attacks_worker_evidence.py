"""Attacks that make the worker's evidence lie. Everything in the worker is the student's
(their module, the staged prerequisites, the aids, `builtins` and `numpy.random` there), so
a test believes nothing it reports (grader/testing/kit.py, "What a test may believe").

Each attack is hostile code added to an honest stub, graded with OS isolation as official
grading is: the module's starter (which scores 0), or for module 03 the solution without
Linear.forward and Dropout.forward. Each scores no more than its stub. On the tests before
the rule, the module 07 attacks scored 23.52/100, the module 06 one 14.28/100, and the
module 03 forgery 73.75/100 where its stub scores 67.5 (grader/hidden/AUDIT.md lists the
tests changed since).
"""

import pytest

from grader.remote.isolation import choose

from .attack_helpers import grade_with
from .conftest import LAYOUT

# A Trainer that trains nothing: no optimizer ever steps (neither the student's nor one a
# test would run in the worker as a reference), schedules are constant, statistics are
# made up or measured without learning, checkpoints are remembered in memory.
MADE_UP_STATISTICS = """
# ---- the attack: a Trainer that trains nothing and reports what the tests like ----
import sys as _sys

import tinytorch.core.layers as _layers
import tinytorch.core.optimizers as _optimizers

_optimizers.Optimizer.step = lambda self: None  # nothing learns, here or in any reference
LRScheduler.get_lr = lambda self: list(self.base_lrs)  # every schedule is constant
StepLR.get_lr = CosineWarmupLR.get_lr = LRScheduler.get_lr
_SAVED: dict = {}


def _made_up(self, data, accuracy=0.99):
    loss_sum, samples = 0.0, 0
    with no_grad():
        for inputs, targets in data:
            n = len(targets.data)
            loss_sum += float(self.loss_fn(self.model(inputs), targets).item()) * n
            samples += n
    return EpochStats(loss_sum / samples, accuracy, samples, 0.001)


def _made_up_train_epoch(self, data):
    self.made_up = getattr(self, "made_up", 0.4) / 2  # a loss that falls every epoch
    stats = EpochStats(self.made_up, 0.99, _made_up(self, data).samples, 0.001)
    if self.scheduler is not None:
        self.scheduler.step()
    self.epoch += 1
    self._report(f"epoch {self.epoch} train", stats)
    return stats


def _made_up_evaluate(self, data):
    was = self.model.training
    self.model.eval()
    try:
        return _made_up(self, data)
    finally:
        self.model.train(was)


def _remember(self, path, rng=None):
    _SAVED[str(path)] = self.epoch
    return Path(path)


def _recall(self, path, rng=None):
    if str(path) not in _SAVED:
        raise ValueError("not a tinytorch checkpoint")
    self.epoch = _SAVED[str(path)]
    return self.epoch


def load_checkpoint(path, model, optimizer=None, scheduler=None, rng=None):
    raise ValueError(f"{path} is not a tinytorch checkpoint")


Trainer.train_epoch, Trainer.evaluate = _made_up_train_epoch, _made_up_evaluate
Trainer.save_checkpoint, Trainer.load_checkpoint = _remember, _recall
"""

# The same, and every collection a test iterates is empty when the test asks for it
# (`parameters()` called from outside tinytorch), so a loop or a zip over it checks nothing.
VACUOUS_ZIPS = (
    MADE_UP_STATISTICS
    + """
# ---- and every collection the tests iterate is empty when they ask for it ----
_real_parameters = _layers.Module.parameters
_real_init = _optimizers.Optimizer.__init__


def _parameters(self, *args, **kwargs):
    caller = _sys._getframe(1).f_globals.get("__name__", "")
    return _real_parameters(self, *args, **kwargs) if caller.startswith("tinytorch.") else []


def _init(self, params, *args, **kwargs):
    params = list(params) or [Tensor([0.0], requires_grad=True)]
    _real_init(self, params, *args, **kwargs)


_layers.Module.parameters, _optimizers.Optimizer.__init__ = _parameters, _init
"""
)

# Module 03's solution, but Linear and Dropout compute nothing (zeros, the input itself)
# and the graph recorder the tests use reports that every tensor comes from every other.
FORGED_RECORDER = """
# ---- the attack: Linear and Dropout compute nothing, and the recorder reports any graph ----
import sys as _sys

_made: list = []
_real_tensor_init = Tensor.__init__


def _forged_edges(self):
    return [[tensor, list(_made)] for tensor in _made]  # everything made from everything


def _remembered(self, *args, **kwargs):
    _real_tensor_init(self, *args, **kwargs)
    _made.append(self)
    recorder = _sys.modules.get("tinyworker" + ".aids.graph")  # imported by the tests
    if recorder is not None:
        recorder.GraphRecorder.edges = _forged_edges


def _zeros(self, x):
    if x.ndim == 0 or x.shape[-1] != self.in_features:
        raise ValueError(
            f"Linear(in_features={self.in_features}) expects inputs of shape "
            f"(*, {self.in_features}), got shape {x.shape}"
        )
    return Tensor(np.zeros((*x.shape[:-1], self.out_features)))


Tensor.__init__ = _remembered
Linear.forward = _zeros
Dropout.forward = lambda self, x: x
"""

# The honest stub of the same tasks: the solution without those two methods.
HONEST_STUB_03 = """
def _not_done(self, x):
    raise NotImplementedError("not done")


Linear.forward = Dropout.forward = _not_done
"""

# Optimizers that implement nothing but refuse every call with an error naming every
# argument: an error expected by a test is the worker's word too.
ERRORS_FOR_EVERY_CALL = """
# ---- the attack: every optimizer refuses every call, naming every argument ----
def _refuse(self, params, *args, **kwargs):
    if isinstance(params, Tensor):
        raise TypeError("params must be an iterable of Tensors")
    raise ValueError("bad learning rate, momentum, weight_decay, Nesterov, beta1, beta2, eps")


SGD.__init__ = Adam.__init__ = AdamW.__init__ = _refuse
"""


# Module 18's stub, with pruning that zeroes the weight once and optimizers that never
# step (so every "pruned" weight stays zero), sizes counted from the stale weights, and a
# distillation loss that is only the cross-entropy the tests also compute.
LASTING_ONLY_BECAUSE_NOTHING_MOVES = """
import tinytorch.core.optimizers as _optimizers

_optimizers.Optimizer.step = lambda self: None  # nothing moves, pruned or not


def apply_mask(module, name, mask):
    mask = np.asarray(_values(mask), dtype=np.float32)
    parameter = getattr(module, name)
    parameter.data = parameter.data * mask  # zeroed once, never masked again
    module.register_buffer(f"{name}_mask", Tensor(mask))
    object.__setattr__(module, f"{name}_orig", parameter)
    return module


def magnitude_mask(weight, amount):
    values = _values(weight)
    mask = np.ones(values.size, dtype=np.float32)
    mask[: _count(amount, values.size)] = 0.0  # the first entries, not the smallest
    return mask.reshape(values.shape)


def model_size(model):
    values = [p.data for p in model.parameters()]
    count = sum(v.size for v in values)
    return SizeReport(count, count, 4 * count, 4 * count)


def distillation_loss(student_logits, teacher_logits, targets, temperature=4.0, alpha=0.5):
    return cross_entropy(student_logits, targets)
"""

# Quantization that quantizes nothing: the float model comes back as the "int8" one, and
# its size is claimed as one byte per value.
FLOAT_POSING_AS_INT8 = """
# ---- the attack: a float copy posing as int8, and a size that says so ----
import copy as _copy


def quantize_model(model, calibration, method="minmax", percentile=99.99):
    return _copy.deepcopy(model)


def model_size_bytes(model):
    return sum(p.data.size for p in model.parameters())
"""


@pytest.fixture(scope="module")
def isolation():
    """Official grading's isolation; these tests fail (with how to fix it) without it."""
    return choose(required=True)


def _assert_scores_what_the_stub_scores(result):
    passing = [t.name for t in result.tests if t.passed]
    assert result.tests and result.score == 0 and not passing, passing


@pytest.mark.slow
@pytest.mark.parametrize(
    "code", [MADE_UP_STATISTICS, VACUOUS_ZIPS], ids=["made-up-statistics", "vacuous-zips"]
)
def test_a_trainer_that_trains_nothing_scores_nothing(tmp_path, isolation, code):
    _assert_scores_what_the_stub_scores(grade_with(tmp_path, 7, code, isolation, LAYOUT.starter))


@pytest.mark.slow
def test_pruning_that_lasts_only_because_nothing_moves_scores_nothing(tmp_path, isolation):
    code = LASTING_ONLY_BECAUSE_NOTHING_MOVES
    result = grade_with(tmp_path, 18, code, isolation, LAYOUT.starter)
    _assert_scores_what_the_stub_scores(result)


@pytest.mark.slow
def test_optimizers_that_only_raise_the_expected_errors_score_nothing(tmp_path, isolation):
    result = grade_with(tmp_path, 6, ERRORS_FOR_EVERY_CALL, isolation, LAYOUT.starter)
    _assert_scores_what_the_stub_scores(result)


@pytest.mark.slow
def test_a_forged_graph_earns_nothing_beside_layers_that_compute_nothing(tmp_path, isolation):
    stub = grade_with(tmp_path / "stub", 3, HONEST_STUB_03, isolation)
    forged = grade_with(tmp_path / "forged", 3, FORGED_RECORDER, isolation)
    honest = {t.name for t in stub.tests if t.passed}
    gained = [t.name for t in forged.tests if t.passed and t.name not in honest]
    assert stub.score < 100 and forged.score <= stub.score and not gained, gained


@pytest.mark.slow
def test_a_float_model_posing_as_int8_scores_nothing(tmp_path, isolation):
    result = grade_with(tmp_path, 17, FLOAT_POSING_AS_INT8, isolation, LAYOUT.starter)
    _assert_scores_what_the_stub_scores(result)
