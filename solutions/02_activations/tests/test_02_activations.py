"""Visible tests for module 02 (Activations). Run them with `make grade MODULE=02`.

Your code runs in a separate process: `student.activations.relu` is your `relu` there,
and `assert_tensor` fetches the result's `.data` and compares it with the expected array.
"""

import numpy as np
import pytest

from grader.testing.checks import assert_tensor
from grader.testing.kit import student

activations = student.activations
gelu, relu, sigmoid = activations.gelu, activations.relu, activations.sigmoid
softmax, tanh = activations.softmax, activations.tanh
Tensor = student.tensor.Tensor

X = np.array([-2.0, -0.5, 0.0, 0.5, 2.0], dtype=np.float32)


@pytest.mark.task("02.1")
@pytest.mark.points(2)
def test_relu_zeroes_negatives():
    assert_tensor(relu(Tensor(X)), np.array([0, 0, 0, 0.5, 2]), "relu(x)")


@pytest.mark.task("02.2")
@pytest.mark.points(2)
def test_sigmoid_values_and_symmetry():
    expected = 1 / (1 + np.exp(-X.astype(np.float64)))
    assert_tensor(sigmoid(Tensor(X)), expected, "sigmoid(x)")


@pytest.mark.task("02.3")
@pytest.mark.points(2)
def test_tanh_values():
    assert_tensor(tanh(Tensor(X)), np.tanh(X), "tanh(x)")


@pytest.mark.task("02.4")
@pytest.mark.points(2)
def test_gelu_exact_at_known_points():
    # GELU(x) = x * Phi(x); Phi(0) = 0.5, Phi(2) = 0.97725, Phi(-2) = 0.02275
    expected = np.array([-2 * 0.0227501, -0.5 * 0.3085375, 0.0, 0.5 * 0.6914625, 2 * 0.9772499])
    assert_tensor(gelu(Tensor(X)), expected, "gelu(x)", rtol=1e-5, atol=1e-6)


@pytest.mark.task("02.5")
@pytest.mark.points(2)
def test_softmax_rows_sum_to_one():
    logits = Tensor([[1.0, 2.0, 3.0], [1.0, 1.0, 1.0]])
    e = np.exp([1.0, 2.0, 3.0])
    expected = np.array([e / e.sum(), [1 / 3, 1 / 3, 1 / 3]])
    assert_tensor(softmax(logits, dim=1), expected, "softmax(logits, dim=1)")


@pytest.mark.task("02.5")
@pytest.mark.points(1)
def test_softmax_does_not_overflow():
    assert_tensor(softmax(Tensor([1000.0, 1000.0])), np.array([0.5, 0.5]), "softmax([1000, 1000])")
