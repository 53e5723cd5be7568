"""Hidden tests for module 02 (Activations): values against float64 NumPy references,
float32 preservation and stability at extreme inputs.

Every call on the activations runs in the worker; expected values are computed here from
the test's own inputs with the float64 references of grader/testing/reference.py.
PYTEST_DONT_REWRITE: failures show the helpers' messages, never this file's source.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from grader.testing import reference as refs
from grader.testing.checks import as_array, assert_array, assert_tensor
from grader.testing.kit import aids, student
from grader.testing.strategies import arrays, shapes

activations = student.activations
gelu, relu, sigmoid = activations.gelu, activations.relu, activations.sigmoid
softmax, tanh = activations.softmax, activations.tanh
Tensor = student.tensor.Tensor

# One row per activation: name -> (task, name of the tinytorch function, its keyword
# arguments, float64 NumPy reference). Tests are parametrized by the name only and look
# the rest up, so a falsifying example never prints a reference or a handle.
ACTIVATIONS = {
    "relu": ("02.1", "relu", {}, lambda x: np.maximum(x, 0)),
    "sigmoid": ("02.2", "sigmoid", {}, refs.sigmoid),
    "tanh": ("02.3", "tanh", {}, np.tanh),
    "gelu": ("02.4", "gelu", {}, refs.gelu),
    "gelu_tanh": ("02.4", "gelu", {"approximate": "tanh"}, refs.gelu_tanh),
    "softmax": ("02.5", "softmax", {"dim": -1}, lambda x: refs.softmax(x, -1)),
}


def _params(points):
    return [
        pytest.param(name, id=name, marks=[pytest.mark.task(task), pytest.mark.points(points)])
        for name, (task, *_) in ACTIVATIONS.items()
    ]


def _apply(name, values, call=None):
    """(the activation `name` of Tensor(values), its float64 reference value)."""
    _, function, kwargs, reference = ACTIVATIONS[name]
    fn = getattr(activations, function)
    result = fn(Tensor(values), **kwargs) if call is None else call(fn, Tensor(values), **kwargs)
    return result, reference(values.astype(np.float64))


@pytest.mark.parametrize("name", _params(3))
@given(values=arrays(shapes(min_dims=1), low=-30, high=30))
def test_matches_float64_reference(name, values):
    result, expected = _apply(name, values)
    assert_tensor(result, expected, f"{name}(x) for shape {values.shape}", rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", _params(2))
def test_extreme_inputs_stay_finite(name):
    values = np.array([-1e4, -100.0, -88.7, 0.0, 88.7, 100.0, 1e4], dtype=np.float32)
    # Overflow, division by zero and invalid operations raise inside the student's call.
    result, expected = _apply(name, values, aids.activations.call_raising_float_errors)
    data = as_array(result, f"{name} of extreme inputs")
    assert np.all(np.isfinite(data)), f"{name} of extreme inputs produced {data}"
    assert_array(data, expected, f"{name} of extreme inputs", rtol=1e-5, atol=1e-6)


@pytest.mark.task("02.2")
@pytest.mark.points(2)
@given(values=arrays(low=-50, high=50))
def test_sigmoid_is_symmetric_and_bounded(values):
    s = as_array(sigmoid(Tensor(values)), "sigmoid(x)")
    s_neg = as_array(sigmoid(Tensor(-values)), "sigmoid(-x)")
    # Each answer against the reference first: two answers agreeing prove nothing alone.
    assert_array(s, refs.sigmoid(values), "sigmoid(x)", rtol=1e-5, atol=1e-6)
    assert_array(
        s_neg, refs.sigmoid(-values.astype(np.float64)), "sigmoid(-x)", rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(
        s + s_neg, 1.0, atol=1e-6, err_msg="sigmoid(x) + sigmoid(-x) should be 1"
    )
    assert np.all((s >= 0) & (s <= 1)), "sigmoid must stay within [0, 1]"


@pytest.mark.task("02.5")
@pytest.mark.points(3)
@given(values=arrays(shapes(min_dims=1, max_dims=3), low=-1e4, high=1e4), data=st.data())
def test_softmax_along_any_dim_sums_to_one(values, data):
    dim = data.draw(st.integers(-values.ndim, values.ndim - 1))
    result = as_array(softmax(Tensor(values), dim=dim), f"softmax(dim={dim})")
    assert_array(
        result,
        refs.softmax(values, dim),
        f"softmax(dim={dim})",
        rtol=1e-5,
        atol=1e-6,
    )
    np.testing.assert_allclose(
        result.sum(axis=dim),
        1.0,
        atol=1e-5,
        err_msg=f"softmax(dim={dim}) slices should sum to 1",
    )


@pytest.mark.task("02.5")
@pytest.mark.points(1)
@given(values=arrays(shapes(min_dims=1, max_dims=2), low=-5, high=5), shift=st.floats(-500, 500))
def test_softmax_ignores_a_constant_shift(values, shift):
    shifted = (values.astype(np.float64) + shift).astype(np.float32)
    expected = refs.softmax(values)  # softmax(x), computed here: the shifted one must match it
    assert_array(as_array(softmax(Tensor(values)), "softmax(x)"), expected, "softmax(x)", atol=1e-5)
    assert_array(
        as_array(softmax(Tensor(shifted)), "softmax(x + c)"),
        expected,
        "softmax(x + c) should equal softmax(x)",
        rtol=0,
        atol=2e-4,
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
