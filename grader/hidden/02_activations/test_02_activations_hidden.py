"""Hidden tests for module 02 (Activations): values against float64 NumPy references,
float32 preservation and stability at extreme inputs.

PYTEST_DONT_REWRITE: failures show the helpers' messages, never this file's source.
"""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from grader.testing.checks import assert_tensor
from grader.testing.strategies import arrays, shapes
from tinytorch.core.activations import gelu, relu, sigmoid, softmax, tanh
from tinytorch.core.tensor import Tensor

_erf = np.vectorize(math.erf)


def _softmax(x, dim):
    shifted = x - x.max(axis=dim, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=dim, keepdims=True)


# One row per activation: (name, task, tinytorch function, float64 NumPy reference).
ACTIVATIONS = [
    ("relu", "02.1", relu, lambda x: np.maximum(x, 0)),
    ("sigmoid", "02.2", sigmoid, lambda x: 0.5 * (1 + np.tanh(x / 2))),
    ("tanh", "02.3", tanh, np.tanh),
    ("gelu", "02.4", gelu, lambda x: x * 0.5 * (1 + _erf(x / math.sqrt(2)))),
    (
        "gelu_tanh",
        "02.4",
        lambda t: gelu(t, approximate="tanh"),
        lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3))),
    ),
    ("softmax", "02.5", lambda t: softmax(t, dim=-1), lambda x: _softmax(x, -1)),
]


def _params(points):
    rows = []
    for name, task, fn, ref in ACTIVATIONS:
        rows.append(
            pytest.param(
                name, fn, ref, id=name, marks=[pytest.mark.task(task), pytest.mark.points(points)]
            )
        )
    return rows


@pytest.mark.parametrize("name, fn, reference", _params(3))
@given(values=arrays(shapes(min_dims=1), low=-30, high=30))
def test_matches_float64_reference(name, fn, reference, values):
    expected = reference(values.astype(np.float64))
    assert_tensor(
        fn(Tensor(values)), expected, f"{name}(x) for shape {values.shape}", rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize("name, fn, reference", _params(2))
def test_extreme_inputs_stay_finite(name, fn, reference):
    values = np.array([-1e4, -100.0, -88.7, 0.0, 88.7, 100.0, 1e4], dtype=np.float32)
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        result = fn(Tensor(values))
    data = np.asarray(result.data)
    assert np.all(np.isfinite(data)), f"{name} of extreme inputs produced {data}"
    assert_tensor(
        result,
        reference(values.astype(np.float64)),
        f"{name} of extreme inputs",
        rtol=1e-5,
        atol=1e-6,
    )


@pytest.mark.task("02.2")
@pytest.mark.points(2)
@given(values=arrays(low=-50, high=50))
def test_sigmoid_is_symmetric_and_bounded(values):
    s = sigmoid(Tensor(values)).data
    s_neg = sigmoid(Tensor(-values)).data
    np.testing.assert_allclose(
        s + s_neg, 1.0, atol=1e-6, err_msg="sigmoid(x) + sigmoid(-x) should be 1"
    )
    assert np.all((s >= 0) & (s <= 1)), "sigmoid must stay within [0, 1]"


@pytest.mark.task("02.5")
@pytest.mark.points(3)
@given(values=arrays(shapes(min_dims=1, max_dims=3), low=-1e4, high=1e4), data=st.data())
def test_softmax_along_any_dim_sums_to_one(values, data):
    dim = data.draw(st.integers(-values.ndim, values.ndim - 1))
    result = softmax(Tensor(values), dim=dim)
    assert_tensor(
        result,
        _softmax(values.astype(np.float64), dim),
        f"softmax(dim={dim})",
        rtol=1e-5,
        atol=1e-6,
    )
    np.testing.assert_allclose(
        result.data.sum(axis=dim),
        1.0,
        atol=1e-5,
        err_msg=f"softmax(dim={dim}) slices should sum to 1",
    )


@pytest.mark.task("02.5")
@pytest.mark.points(1)
@given(values=arrays(shapes(min_dims=1, max_dims=2), low=-5, high=5), shift=st.floats(-500, 500))
def test_softmax_ignores_a_constant_shift(values, shift):
    shifted = (values.astype(np.float64) + shift).astype(np.float32)
    np.testing.assert_allclose(
        softmax(Tensor(shifted)).data,
        softmax(Tensor(values)).data,
        atol=2e-4,
        err_msg="softmax(x + c) should equal softmax(x)",
    )


@pytest.mark.task("02.1")
@pytest.mark.points(1)
def test_relu_at_zero_and_infinity():
    assert_tensor(
        relu(Tensor([0.0, -np.inf, np.inf])), np.array([0.0, 0.0, np.inf]), "relu([0, -inf, inf])"
    )


@pytest.mark.task("02.4")
@pytest.mark.points(1)
def test_gelu_rejects_unknown_approximation():
    with pytest.raises(ValueError, match="approximate"):
        gelu(Tensor([1.0]), approximate="fast")
    assert_tensor(gelu(Tensor([0.0])), np.array([0.0]), "gelu(0)")
