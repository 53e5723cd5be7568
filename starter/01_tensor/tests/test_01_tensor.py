"""Visible tests for module 01 (Tensor). Run them with `make grade MODULE=01`.

Each test names its task; the hidden tests check the same tasks on many more inputs.
Your code runs in a separate process: `student.tensor.Tensor` is your `Tensor` class there,
and `assert_tensor` fetches the result's `.data` and compares it with the expected array.
"""

import numpy as np
import pytest

from grader.testing.checks import assert_tensor
from grader.testing.kit import student, worker_module

Tensor, cat, where = student.tensor.Tensor, student.tensor.cat, student.tensor.where


@pytest.mark.task("01.1")
@pytest.mark.points(2)
def test_constructor_stores_float32_by_default():
    t = Tensor([[1, 2, 3], [4, 5, 6]])
    assert_tensor(t, np.array([[1, 2, 3], [4, 5, 6]]), "Tensor([[1, 2, 3], [4, 5, 6]])")
    assert t.shape == (2, 3)


@pytest.mark.task("01.1")
@pytest.mark.points(1)
def test_constructor_keeps_an_explicit_dtype():
    labels = Tensor([0, 2, 1], dtype=np.int64)
    assert_tensor(labels, np.array([0, 2, 1]), "Tensor([0, 2, 1], dtype=np.int64)", dtype=np.int64)


@pytest.mark.task("01.2")
@pytest.mark.points(2)
def test_add_broadcasts_a_row_over_a_matrix():
    a = Tensor([[1.0, 2.0], [3.0, 4.0]])
    b = Tensor([10.0, 20.0])
    assert_tensor(a + b, np.array([[11, 22], [13, 24]]), "a + b")


@pytest.mark.task("01.2")
@pytest.mark.points(2)
def test_arithmetic_with_numbers_on_either_side():
    x = Tensor([1.0, 2.0, 4.0])
    assert_tensor(2 - x, np.array([1, 0, -2]), "2 - x")
    assert_tensor(x * 3, np.array([3, 6, 12]), "x * 3")
    assert_tensor(1 / x, np.array([1, 0.5, 0.25]), "1 / x")
    assert_tensor(-x, np.array([-1, -2, -4]), "-x")


@pytest.mark.task("01.3")
@pytest.mark.points(2)
def test_exp_log_and_powers():
    values = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    x = Tensor(values)
    assert_tensor(x.exp().log(), values, "x.exp().log()")
    assert_tensor(x**2, np.array([1, 4, 9]), "x ** 2")
    assert_tensor(x**0.5, np.sqrt([1, 2, 3]), "x ** 0.5")


@pytest.mark.task("01.4")
@pytest.mark.points(2)
def test_matmul_of_two_matrices():
    a = Tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    b = Tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    assert_tensor(a @ b, np.array([[4, 5], [10, 11]]), "a @ b")


@pytest.mark.task("01.4")
@pytest.mark.points(1)
def test_matmul_shape_error_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(2, 3\)"):
        Tensor(np.ones((2, 3))) @ Tensor(np.ones((2, 3)))
    # The same matrices, the second transposed, do multiply.
    assert_tensor(
        Tensor(np.ones((2, 3))) @ Tensor(np.ones((3, 2))), np.full((2, 2), 3.0), "a @ b.T"
    )


@pytest.mark.task("01.5")
@pytest.mark.points(2)
def test_sum_mean_max_over_a_dim():
    x = Tensor([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]])
    assert_tensor(x.sum(), np.array(21.0), "x.sum()")
    assert_tensor(x.sum(dim=0), np.array([5, 7, 9]), "x.sum(dim=0)")
    assert_tensor(x.mean(dim=1, keepdim=True), np.array([[3], [4]]), "x.mean(dim=1, keepdim=True)")
    assert_tensor(x.max(dim=-1), np.array([5, 6]), "x.max(dim=-1)")


@pytest.mark.task("01.6")
@pytest.mark.points(2)
def test_reshape_and_transpose():
    x = Tensor(np.arange(6))
    assert_tensor(x.reshape(2, -1), np.arange(6).reshape(2, 3), "x.reshape(2, -1)")
    assert_tensor(x.reshape(2, 3).transpose(0, 1), np.arange(6).reshape(2, 3).T, "transpose(0, 1)")
    y = Tensor(np.zeros((2, 3, 4)))
    assert y.permute(2, 0, 1).shape == (4, 2, 3)


@pytest.mark.task("01.7")
@pytest.mark.points(2)
def test_indexing_cat_and_where():
    values = np.arange(12).reshape(3, 4)
    x = Tensor(values)
    assert_tensor(x[1], values[1], "x[1]")
    assert_tensor(x[:, 1:3], values[:, 1:3], "x[:, 1:3]")
    assert_tensor(cat([x, x], dim=0), np.concatenate([values, values]), "cat([x, x], dim=0)")
    assert_tensor(where(values > 5, x, 0.0), np.where(values > 5, values, 0), "where(x > 5, x, 0)")


@pytest.mark.task("01.8")
@pytest.mark.points(2)
def test_comparisons_give_bool_tensors_that_broadcast():
    values = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=np.float32)
    x = Tensor(values)
    assert_tensor(x > 2, values > 2, "x > 2", dtype=bool)
    assert_tensor(3 >= x, values <= 3, "3 >= x", dtype=bool)
    row = np.array([1.0, 5.0, 3.0], dtype=np.float32)
    assert_tensor(x < Tensor(row), values < row, "x < Tensor(row)", dtype=bool)
    # `x == y` in a test compares the handles, so ask the worker to run `==` on your Tensor.
    equal = worker_module("operator").eq(x, Tensor(row))
    assert_tensor(equal, values == row, "x == Tensor(row)", dtype=bool)
