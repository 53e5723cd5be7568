"""Visible tests for module 05 (Autograd). Run them with `make grade MODULE=05`.

Your code runs in a separate process: `student.tensor.Tensor` is your `Tensor` class there,
and `assert_tensor` fetches a result's `.data` (here mostly a `.grad`) and compares it with
the expected array.
"""

import numpy as np
import pytest

from grader.testing.checks import assert_tensor
from grader.testing.kit import student

Tensor = student.tensor.Tensor
relu = student.activations.relu
no_grad = student.autograd.no_grad


@pytest.mark.task("05.1")
@pytest.mark.points(2)
def test_results_of_ops_on_grad_tensors_require_grad():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = Tensor([3.0, 4.0])
    assert (x * y).requires_grad
    assert not (y * y).requires_grad
    (x * y).sum().backward()  # the recorded op carries the gradient back to x
    assert_tensor(x.grad, np.array([3.0, 4.0]), "x.grad of sum(x * y)")


@pytest.mark.task("05.2")
@pytest.mark.points(2)
def test_backward_of_a_sum_of_products():
    x_values, w_values = [1.0, 2.0, 3.0], [4.0, 5.0, 6.0]
    x = Tensor(x_values, requires_grad=True)
    w = Tensor(w_values, requires_grad=True)
    (x * w).sum().backward()
    assert_tensor(x.grad, np.array(w_values), "x.grad of sum(x * w)")
    assert_tensor(w.grad, np.array(x_values), "w.grad of sum(x * w)")


@pytest.mark.task("05.2")
@pytest.mark.points(2)
def test_gradients_accumulate_over_two_backward_calls():
    x = Tensor([1.0, -2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    assert_tensor(x.grad, np.array([6.0, 6.0]), "x.grad after two backward() calls")


@pytest.mark.task("05.3")
@pytest.mark.points(2)
def test_broadcast_gradient_is_summed_back_to_the_bias_shape():
    x = Tensor(np.ones((4, 3)), requires_grad=True)
    b = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    ((x + b) * 2).sum().backward()
    assert_tensor(b.grad, np.array([8.0, 8.0, 8.0]), "b.grad (b was broadcast over 4 rows)")


@pytest.mark.task("05.4")
@pytest.mark.points(2)
def test_matmul_gradients():
    a = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    b = Tensor([[1.0], [1.0]], requires_grad=True)
    (a @ b).sum().backward()
    assert_tensor(a.grad, np.ones((2, 2)), "a.grad of sum(a @ b)")
    assert_tensor(b.grad, np.array([[4.0], [6.0]]), "b.grad of sum(a @ b)")


@pytest.mark.task("05.5")
@pytest.mark.points(2)
def test_reshape_and_indexing_route_gradients_back():
    x = Tensor(np.arange(6.0), requires_grad=True)
    x.reshape(2, 3)[1].sum().backward()
    assert_tensor(x.grad, np.array([0, 0, 0, 1, 1, 1]), "x.grad of x.reshape(2, 3)[1].sum()")


@pytest.mark.task("05.6")
@pytest.mark.points(2)
def test_relu_gradient_is_a_step():
    x = Tensor([-1.0, 2.0, -3.0, 4.0], requires_grad=True)
    relu(x).sum().backward()
    assert_tensor(x.grad, np.array([0, 1, 0, 1]), "x.grad of relu(x).sum()")


@pytest.mark.task("05.7")
@pytest.mark.points(2)
def test_no_grad_records_nothing():
    x = Tensor([1.0], requires_grad=True)
    with no_grad():
        y = x * 2
    assert not y.requires_grad
    assert_tensor(y, np.array([2.0]), "x * 2 computed under no_grad()")
    assert (x * 2).requires_grad
    (x * 2).sum().backward()  # recording is back after the block
    assert_tensor(x.grad, np.array([2.0]), "x.grad of sum(x * 2) after the no_grad block")


@pytest.mark.task("05.2")
@pytest.mark.points(1)
def test_backward_on_a_vector_without_gradient_is_a_clear_error():
    x = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"shape \(2,\)"):
        (x * 2).backward()
    (x * 2).backward(Tensor([1.0, 0.5]))  # with a gradient of its shape it works
    assert_tensor(x.grad, np.array([2.0, 1.0]), "x.grad of (x * 2).backward([1, 0.5])")
