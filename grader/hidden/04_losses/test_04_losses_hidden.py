"""Hidden tests for module 04 (Losses): values against float64 NumPy references for every
reduction, stability at extreme logits and probabilities, the Function contract module 05
relies on, clear errors, and float32 preservation.

PYTEST_DONT_REWRITE: failures show the helpers' messages, never this file's source.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from grader.testing import reference
from grader.testing.checks import as_array, assert_tensor
from grader.testing.graph import assert_built_from, recording
from grader.testing.kit import Handle, is_instance, student, worker_module
from grader.testing.strategies import arrays, shapes

Tensor = student.tensor.Tensor
Module = student.layers.Module
losses = student.losses
BCELoss = losses.BCELoss
BCEWithLogitsLoss = losses.BCEWithLogitsLoss
CrossEntropyFn = losses.CrossEntropyFn
CrossEntropyLoss = losses.CrossEntropyLoss
LogSoftmaxFn = losses.LogSoftmaxFn
MSELoss = losses.MSELoss
binary_cross_entropy = losses.binary_cross_entropy
binary_cross_entropy_with_logits = losses.binary_cross_entropy_with_logits
cross_entropy = losses.cross_entropy
log_softmax = losses.log_softmax
mse_loss = losses.mse_loss

REDUCTIONS = ["mean", "sum", "none"]
EXTREME = {"over": "raise", "divide": "raise", "invalid": "raise"}


def extreme():
    """NumPy in the worker raises on overflow, division by zero and nan inside the block."""
    return worker_module("numpy").errstate(**EXTREME)


def _reduce(losses, reduction):
    return {"mean": losses.mean(), "sum": losses.sum(), "none": losses}[reduction]


def _cross_entropy(logits, labels, reduction):
    losses = -reference.log_softmax(logits, 1)[np.arange(len(labels)), labels]
    return _reduce(losses, reduction)


def _bce(p, t, reduction):
    p, t = p.astype(np.float64), t.astype(np.float64)
    with np.errstate(divide="ignore"):
        log_p, log_q = np.maximum(np.log(p), -100), np.maximum(np.log(1 - p), -100)
    return _reduce(-(t * log_p + (1 - t) * log_q), reduction)


def _bce_with_logits(x, t, reduction):
    x, t = x.astype(np.float64), t.astype(np.float64)
    return _reduce(np.logaddexp(0, x) - x * t, reduction)


@st.composite
def classification_batches(draw, low=-50.0, high=50.0):
    """(N, C) float32 logits and N int64 labels in [0, C)."""
    n, classes = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    logits = draw(arrays((n, classes), low, high))
    labels = draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, classes - 1)))
    return logits, labels


@st.composite
def same_shape_pairs(draw, low, high, target_low=0.0, target_high=1.0):
    shape = draw(shapes())
    return draw(arrays(shape, low, high)), draw(arrays(shape, target_low, target_high))


@pytest.fixture
def recorder():
    with recording() as engine:
        yield engine


class _TensorGraph:
    """The recorded ops with only the tensors among their inputs: `reaches` looks inputs up
    in a dict, and a NumPy mask given to an op (`where(mask, x, 1.0)`) cannot be a key."""

    def __init__(self, edges):
        self.recorded = [[out, [x for x in xs if isinstance(x, Handle)]] for out, xs in edges]

    def edges(self):
        return self.recorded


def _check_graph(engine, output, *sources, what):
    """`output` was recorded from every one of `sources`, through finite values only."""
    edges = engine.edges()
    assert_built_from(_TensorGraph(edges), output, *sources, what=what)
    for recorded, _ in edges:
        data = as_array(recorded, f"an op inside {what}")
        assert np.all(np.isfinite(data)), (
            f"{what} computed an infinite or nan intermediate value {data}; in module "
            "05 its gradient would be nan, so keep every step finite"
        )


# ---- Task 04.1: mean squared error ----
@pytest.mark.task("04.1")
@pytest.mark.points(3)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(pair=same_shape_pairs(-100, 100, -100, 100))
def test_mse_loss_matches_float64_reference(reduction, pair):
    prediction, target = pair
    expected = _reduce((prediction.astype(np.float64) - target) ** 2, reduction)
    for given_target in (Tensor(target), target):
        assert_tensor(
            mse_loss(Tensor(prediction), given_target, reduction=reduction),
            expected,
            f"mse_loss(reduction={reduction!r}) of shape {prediction.shape}",
            rtol=1e-5,
            atol=1e-4,
        )


@pytest.mark.task("04.1")
@pytest.mark.points(2)
def test_mse_loss_layer_graph_and_errors(recorder):
    prediction = Tensor([[1.0, 2.0], [3.0, 4.0]])
    loss = MSELoss(reduction="sum")(prediction, Tensor(np.zeros((2, 2))))
    assert_tensor(loss, np.array(30.0), "MSELoss(reduction='sum')")
    _check_graph(recorder, loss, prediction, what="mse_loss")
    assert is_instance(MSELoss(), Module)
    with pytest.raises(ValueError, match=r"\(2,\).*\(2, 2\)"):
        mse_loss(prediction, Tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match="reduction"):
        MSELoss(reduction="average")


# ---- Task 04.2: log-softmax ----
@pytest.mark.task("04.2")
@pytest.mark.points(3)
@given(values=arrays(shapes(min_dims=1, max_dims=3), low=-1e4, high=1e4), data=st.data())
def test_log_softmax_matches_float64_reference_along_any_dim(values, data):
    dim = data.draw(st.integers(-values.ndim, values.ndim - 1))
    with extreme():
        result = log_softmax(Tensor(values), dim=dim)
    expected = reference.log_softmax(values, dim)
    assert_tensor(result, expected, f"log_softmax(dim={dim})", rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(
        np.exp(as_array(result, "log_softmax").astype(np.float64)).sum(axis=dim),
        1.0,
        rtol=1e-5,
        err_msg="exp(log_softmax) should sum to 1 along dim",
    )


@pytest.mark.task("04.2")
@pytest.mark.points(2)
@given(values=arrays(shapes(min_dims=2, max_dims=2), -5, 5))
def test_log_softmax_function_contract(values):
    # Module 05's backward rule reads ctx.output and ctx.params["dim"] of this op.
    expected = reference.log_softmax(values, 0)
    assert_tensor(LogSoftmaxFn.apply(Tensor(values), dim=0), expected, "LogSoftmaxFn.apply(dim=0)")


@pytest.mark.task("04.2")
@pytest.mark.points(1)
def test_log_softmax_rejects_scalars_and_bad_dims():
    with pytest.raises(ValueError, match="dimension"):
        log_softmax(Tensor(1.0))
    with pytest.raises(IndexError, match="dim 2"):
        log_softmax(Tensor(np.zeros((2, 2))), dim=2)
    assert_tensor(log_softmax(Tensor([5.0])), np.array([0.0]), "log_softmax of one logit")


# ---- Task 04.3: cross-entropy ----
@pytest.mark.task("04.3")
@pytest.mark.points(4)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(batch=classification_batches())
def test_cross_entropy_matches_float64_reference(reduction, batch):
    logits, labels = batch
    expected = _cross_entropy(logits, labels, reduction)
    what = f"cross_entropy(reduction={reduction!r}) of logits {logits.shape}"
    for targets in (labels.tolist(), labels.astype(np.int32), Tensor(labels, dtype=np.int64)):
        result = cross_entropy(Tensor(logits), targets, reduction=reduction)
        assert_tensor(result, expected, what, rtol=1e-5, atol=1e-5)


@pytest.mark.task("04.3")
@pytest.mark.points(2)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(batch=classification_batches(-5, 5))
def test_cross_entropy_function_contract(reduction, batch):
    # Module 05 calls this op with (N, C) logits, (N,) int64 labels and `reduction`.
    logits, labels = batch
    result = CrossEntropyFn.apply(Tensor(logits), labels, reduction=reduction)
    expected = _cross_entropy(logits, labels, reduction)
    assert_tensor(result, expected, f"CrossEntropyFn.apply(reduction={reduction!r})", atol=1e-5)


@pytest.mark.task("04.3")
@pytest.mark.points(3)
def test_cross_entropy_is_exact_for_extreme_logits():
    values = [[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [3e4, 3e4, -3e4]]
    logits = Tensor(values)
    with extreme():
        result = cross_entropy(logits, [1, 2, 0], reduction="none")
    assert_tensor(result, np.array([2e4, np.log(3), np.log(2)]), "cross_entropy of +-1e4 logits")
    assert_tensor(
        cross_entropy(Tensor(np.array(values, dtype=np.float32), dtype=np.float64), [0, 0, 0]),
        np.array([0.0, np.log(3), np.log(2)]).mean(),
        "float64 logits stay float64",
        dtype=np.float64,
    )


@pytest.mark.task("04.3")
@pytest.mark.points(3)
def test_cross_entropy_errors_are_clear():
    logits = Tensor(np.zeros((3, 4)))
    with pytest.raises(IndexError, match="target -1"):
        cross_entropy(logits, [0, -1, 2])
    with pytest.raises(IndexError, match="target 4"):
        cross_entropy(logits, np.array([4, 0, 0]))
    with pytest.raises(TypeError, match="int64"):
        cross_entropy(logits, Tensor([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match=r"\(3,\).*\(3, 4\).*\(2,\)"):
        cross_entropy(logits, [0, 1])
    with pytest.raises(ValueError, match=r"\(N, C\).*\(4,\)"):
        cross_entropy(Tensor(np.zeros(4)), [0])
    with pytest.raises(ValueError, match="reduction"):
        cross_entropy(logits, [0, 1, 2], reduction="avg")
    assert_tensor(cross_entropy(logits, [3, 1, 2]), np.array(np.log(4)), "cross_entropy of zeros")


@pytest.mark.task("04.3")
@pytest.mark.points(1)
def test_cross_entropy_loss_layer():
    criterion = CrossEntropyLoss(reduction="none")
    assert is_instance(criterion, Module) and criterion.reduction == "none"
    result = criterion(Tensor([[0.0, np.log(3.0)]]), Tensor([1], dtype=np.int64))
    assert_tensor(result, np.array([np.log(4 / 3)]), "CrossEntropyLoss(reduction='none')")


# ---- Task 04.4: binary cross-entropy ----
@pytest.mark.task("04.4")
@pytest.mark.points(4)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(pair=same_shape_pairs(0.0, 1.0))
def test_binary_cross_entropy_matches_float64_reference(reduction, pair):
    prediction, target = pair
    assert_tensor(
        binary_cross_entropy(Tensor(prediction), target, reduction=reduction),
        _bce(prediction, target, reduction),
        f"binary_cross_entropy(reduction={reduction!r}) of shape {prediction.shape}",
        rtol=1e-5,
        atol=1e-5,
    )


@pytest.mark.task("04.4")
@pytest.mark.points(3)
def test_binary_cross_entropy_clamps_and_keeps_every_intermediate_finite(recorder):
    prediction = Tensor([0.0, 1.0, 0.0, 1.0, 1e-45, 1e-30])
    target = Tensor([1.0, 0.0, 0.0, 1.0, 1.0, 1.0])
    with extreme():
        loss = binary_cross_entropy(prediction, target, reduction="none")
    assert_tensor(loss, np.array([100.0, 100.0, 0.0, 0.0, 100.0, 69.07755]), "BCE at 0 and 1")
    # One BinaryCrossEntropyFn op, recorded from both inputs: module 05 differentiates both.
    _check_graph(recorder, loss, prediction, target, what="binary_cross_entropy")


@pytest.mark.task("04.4")
@pytest.mark.points(2)
def test_binary_cross_entropy_layer_and_errors():
    criterion = BCELoss(reduction="sum")
    assert is_instance(criterion, Module)
    result = criterion(Tensor([0.5, 0.5]), np.array([0.0, 1.0]))
    assert_tensor(result, np.array(2 * np.log(2)), "BCELoss(reduction='sum')")
    for bad in ([1.5, 0.5], [-0.1, 0.5], [np.nan, 0.5]):
        with pytest.raises(ValueError, match=r"\[0, 1\]"):
            binary_cross_entropy(Tensor(bad), Tensor([1.0, 0.0]))
    with pytest.raises(ValueError, match=r"\(1,\).*\(2,\)"):
        binary_cross_entropy(Tensor([0.5, 0.5]), Tensor([1.0]))


# ---- Task 04.5: binary cross-entropy with logits ----
@pytest.mark.task("04.5")
@pytest.mark.points(4)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(pair=same_shape_pairs(-50.0, 50.0))
def test_bce_with_logits_matches_float64_reference(reduction, pair):
    logits, target = pair
    assert_tensor(
        binary_cross_entropy_with_logits(Tensor(logits), Tensor(target), reduction=reduction),
        _bce_with_logits(logits, target, reduction),
        f"binary_cross_entropy_with_logits(reduction={reduction!r}) of shape {logits.shape}",
        rtol=1e-5,
        atol=1e-5,
    )


@pytest.mark.task("04.5")
@pytest.mark.points(3)
def test_bce_with_logits_is_stable_for_extreme_logits(recorder):
    logits = Tensor([1e4, -1e4, 1e4, -1e4, 3e38, -3e38])
    target = Tensor([0.0, 0.0, 1.0, 1.0, 1.0, 0.0])
    with extreme():
        loss = binary_cross_entropy_with_logits(logits, target, reduction="none")
    assert_tensor(loss, np.array([1e4, 0.0, 0.0, 1e4, 0.0, 0.0]), "BCE with logits of +-1e4")
    _check_graph(recorder, loss, logits, what="binary_cross_entropy_with_logits")


@pytest.mark.task("04.5")
@pytest.mark.points(1)
def test_bce_with_logits_layer_and_shape_check():
    criterion = BCEWithLogitsLoss()
    assert is_instance(criterion, Module) and criterion.reduction == "mean"
    assert_tensor(criterion(Tensor([0.0, 0.0]), [1.0, 0.0]), np.array(np.log(2)), "mean of two")
    with pytest.raises(ValueError, match=r"\(2, 1\).*\(2,\)"):
        binary_cross_entropy_with_logits(Tensor([0.0, 0.0]), Tensor([[1.0], [0.0]]))
