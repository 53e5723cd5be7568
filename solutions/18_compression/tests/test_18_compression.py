"""Visible tests for module 18 (compression). Run them with `make grade MODULE=18`.

Each test names its task; the hidden tests recompute masks, training steps of pruned
layers, sizes, low-rank factors and the distillation loss in float64 NumPy from values
they choose. Your code runs in a separate process: `student.compression` is your module
there, and `assert_tensor` fetches a returned Tensor's `.data` and compares it.
"""

import numpy as np
import pytest

from grader.testing.checks import as_array, assert_array, assert_tensor
from grader.testing.kit import student, worker_rng

compression = student.compression
Linear, ReLU, Sequential = student.layers.Linear, student.layers.ReLU, student.layers.Sequential
SGD = student.optimizers.SGD
Tensor = student.tensor.Tensor


def _layer(weight, bias):
    layer = Linear(weight.shape[1], weight.shape[0], rng=worker_rng(0))
    layer.weight.data = np.asarray(weight, dtype=np.float32)
    layer.bias.data = np.asarray(bias, dtype=np.float32)
    return layer


WEIGHT = np.array([[0.5, -0.1, 2.0], [-3.0, 0.2, -0.05]], dtype=np.float32)


@pytest.mark.task("18.1")
@pytest.mark.points(3)
def test_masks_from_magnitudes_and_channel_norms():
    mask = compression.magnitude_mask(WEIGHT, 0.5)  # round(0.5 * 6) = 3 smallest |w|
    assert_array(mask, [[1, 0, 1], [1, 0, 0]], "magnitude_mask(WEIGHT, 0.5)", atol=0)
    mask = compression.magnitude_mask(WEIGHT, 1)  # an int is a count
    assert_array(mask, [[1, 1, 1], [1, 1, 0]], "magnitude_mask(WEIGHT, 1)", atol=0)
    # column L2 norms: 3.04, 0.22, 2.0006: the middle column goes
    mask = compression.channel_mask(WEIGHT, 1, n=2, dim=1)
    assert_array(mask, [[1, 0, 1], [1, 0, 1]], "channel_mask(WEIGHT, 1, dim=1)", atol=0)
    # row L1 norms: 2.6 and 3.25: the first row goes
    mask = compression.channel_mask(WEIGHT, 0.5, n=1, dim=0)
    assert_array(mask, [[0, 0, 0], [1, 1, 1]], "channel_mask(WEIGHT, 0.5, n=1)", atol=0)
    with pytest.raises(ValueError):
        compression.magnitude_mask(WEIGHT, 1.5)


@pytest.mark.task("18.2")
@pytest.mark.points(4)
def test_a_pruned_weight_stays_zero_through_sgd_with_momentum():
    layer = _layer(WEIGHT, [0.0, 0.0])
    optimizer = SGD([layer.weight, layer.bias], lr=0.1, momentum=0.9, weight_decay=0.01)
    compression.magnitude_prune(layer, "weight", 0.5)
    state = layer.state_dict()
    assert sorted(state) == ["bias", "weight_mask", "weight_orig"], sorted(state)
    assert_array(state["weight_orig"], WEIGHT, "weight_orig keeps the trained values", atol=0)
    x = np.ones((1, 3), dtype=np.float32)
    for _ in range(3):
        layer(Tensor(x)).sum().backward()
        optimizer.step()
        optimizer.zero_grad()
    out = layer(Tensor(x))  # the forward refreshes weight = weight_orig * weight_mask
    weight = as_array(layer.weight, "the pruned weight after three steps")
    zeros = weight[[0, 1, 1], [1, 1, 2]]
    assert np.all(zeros == 0), f"pruned entries moved: {zeros}"
    assert_tensor(out, x @ weight.T + as_array(layer.bias, "bias"), "output of the pruned layer")


@pytest.mark.task("18.3")
@pytest.mark.points(2)
def test_model_size_counts_exactly():
    layer = _layer(WEIGHT, [1.0, 0.0])
    compression.magnitude_prune(layer, "weight", 4)  # 2 of 6 weights left
    size = compression.model_size(Sequential(layer, ReLU()))
    # sparse: the weight's 2 values * 4 bytes + a 1-byte bitmap, the bias's 1 value + 1 byte
    got = (size.parameters, size.nonzero, size.dense_bytes, size.sparse_bytes)
    assert got == (8, 3, 32, 9 + 5), f"(parameters, nonzero, dense, sparse bytes) = {got}"
    assert abs(size.sparsity - 5 / 8) < 1e-12, size.sparsity


@pytest.mark.task("18.4")
@pytest.mark.points(2)
def test_low_rank_linear_of_a_rank_one_weight_is_exact():
    weight = np.outer([1.0, -2.0, 0.5], [2.0, 1.0]).astype(np.float32)  # rank 1
    pair = compression.low_rank_linear(_layer(weight, [0.5, 0.0, -1.0]), 1)
    x = np.array([[1.0, 2.0], [-1.0, 0.5]], dtype=np.float32)
    assert_tensor(pair(Tensor(x)), x @ weight.T + [0.5, 0.0, -1.0], "the rank-1 pair", atol=1e-5)
    assert compression.model_size(pair).parameters == 2 + 3 + 3, "1 * (2 + 3) weights + 3 biases"


@pytest.mark.task("18.5")
@pytest.mark.points(3)
def test_distillation_loss_with_equal_logits_is_the_cross_entropy_share():
    logits = np.array([[2.0, 0.0, -1.0], [0.5, 0.5, 0.0]], dtype=np.float32)
    student_logits = Tensor(logits, requires_grad=True)
    targets = np.array([0, 2])
    loss = compression.distillation_loss(student_logits, logits, targets, 3.0, 0.75)
    log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    cross_entropy = -(log_probs[0, 0] + log_probs[1, 2]) / 2
    # the teacher agrees with the student, so KL = 0 and only 0.25 of the cross-entropy is left
    assert_tensor(loss, np.array(0.25 * cross_entropy), "distillation_loss", atol=1e-6)
    loss.backward()
    probs = np.exp(log_probs)
    onehot = np.eye(3)[targets]
    assert_tensor(student_logits.grad, 0.25 * (probs - onehot) / 2, "the gradient", atol=1e-6)
