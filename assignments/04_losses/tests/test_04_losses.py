"""Visible tests for module 04 (Losses). Run them with `make grade MODULE=04`.

Each test names its task; the hidden tests check the same tasks on many more inputs.
Your code runs in a separate process: `student.losses.mse_loss` is your `mse_loss` there,
and `assert_tensor` fetches the result's `.data` and compares it with the expected array.
"""

import math

import numpy as np
import pytest

from grader.testing.checks import assert_tensor
from grader.testing.kit import student

Tensor = student.tensor.Tensor
losses = student.losses
MSELoss = losses.MSELoss
CrossEntropyLoss = losses.CrossEntropyLoss
BCEWithLogitsLoss = losses.BCEWithLogitsLoss
mse_loss = losses.mse_loss
log_softmax = losses.log_softmax
cross_entropy = losses.cross_entropy
binary_cross_entropy = losses.binary_cross_entropy
binary_cross_entropy_with_logits = losses.binary_cross_entropy_with_logits


@pytest.mark.task("04.1")
@pytest.mark.points(2)
def test_mse_loss_and_its_reductions():
    prediction, target = Tensor([1.0, 2.0, 3.0]), Tensor([1.0, 0.0, 5.0])
    assert_tensor(mse_loss(prediction, target), np.array(8 / 3), "mse_loss(mean)")
    assert_tensor(mse_loss(prediction, target, reduction="sum"), np.array(8.0), "mse_loss(sum)")
    assert_tensor(
        mse_loss(prediction, target, reduction="none"), np.array([0.0, 4.0, 4.0]), "mse_loss(none)"
    )


@pytest.mark.task("04.1")
@pytest.mark.points(1)
def test_mse_loss_layer_and_shape_check():
    assert_tensor(MSELoss()(Tensor([[2.0]]), np.array([[0.0]])), np.array(4.0), "MSELoss()")
    with pytest.raises(ValueError, match=r"\(3,\).*\(3, 1\)"):
        mse_loss(Tensor(np.zeros((3, 1))), np.zeros(3))


@pytest.mark.task("04.2")
@pytest.mark.points(2)
def test_log_softmax_of_rows():
    x = Tensor([[0.0, 0.0], [1.0, 3.0]])
    expected = np.log([[0.5, 0.5], [1 / (1 + math.e**2), 1 / (1 + math.e**-2)]])
    assert_tensor(log_softmax(x, dim=1), expected, "log_softmax(x, dim=1)")


@pytest.mark.task("04.2")
@pytest.mark.points(1)
def test_log_softmax_is_finite_for_huge_logits():
    result = log_softmax(Tensor([1000.0, 0.0, -1000.0]))
    assert_tensor(result, np.array([0.0, -1000.0, -2000.0]), "log_softmax([1000, 0, -1000])")


@pytest.mark.task("04.3")
@pytest.mark.points(2)
def test_cross_entropy_of_a_small_batch():
    logits = Tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    per_sample = np.array([-np.log(np.exp(2) / (np.exp(2) + 2)), np.log(3)])
    assert_tensor(cross_entropy(logits, [0, 2], reduction="none"), per_sample, "reduction='none'")
    assert_tensor(cross_entropy(logits, [0, 2]), np.array(per_sample.mean()), "reduction='mean'")
    labels = Tensor([0, 2], dtype=np.int64)
    assert_tensor(
        CrossEntropyLoss(reduction="sum")(logits, labels), np.array(per_sample.sum()), "sum"
    )


@pytest.mark.task("04.3")
@pytest.mark.points(1)
def test_cross_entropy_names_a_bad_label():
    logits = Tensor(np.zeros((2, 3)))
    with pytest.raises(IndexError, match="target 3"):
        cross_entropy(logits, [0, 3])
    assert_tensor(cross_entropy(logits, [0, 2]), np.array(np.log(3)), "cross_entropy of zeros")


@pytest.mark.task("04.4")
@pytest.mark.points(2)
def test_binary_cross_entropy_values_and_the_clamp():
    prediction = Tensor([0.5, 0.9, 0.0, 1.0])
    target = Tensor([1.0, 0.0, 1.0, 1.0])
    expected = np.array([np.log(2), -np.log(0.1), 100.0, 0.0])
    assert_tensor(
        binary_cross_entropy(prediction, target, reduction="none"),
        expected,
        "binary_cross_entropy (logs clamped at -100)",
    )


@pytest.mark.task("04.5")
@pytest.mark.points(2)
def test_binary_cross_entropy_with_logits_is_stable():
    logits = Tensor([0.0, 2.0, 1e4, -1e4])
    target = Tensor([1.0, 0.0, 0.0, 0.0])
    expected = np.array([np.log(2), 2 + np.log1p(np.exp(-2)), 1e4, 0.0])
    result = binary_cross_entropy_with_logits(logits, target, reduction="none")
    assert_tensor(result, expected, "binary_cross_entropy_with_logits")
    mean = BCEWithLogitsLoss()(logits, target)
    assert_tensor(mean, np.array(expected.mean()), "BCEWithLogitsLoss()", rtol=1e-5)
