"""Visible tests for module 03 (Layers). Run them with `make grade MODULE=03`.

Each test names its task; the hidden tests check the same tasks on many more inputs.
"""

import numpy as np
import pytest

from grader.testing.checks import assert_tensor
from tinytorch.core.layers import (
    Dropout,
    Linear,
    Module,
    Parameter,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
)
from tinytorch.core.tensor import Tensor


class Affine(Module):
    """x * scale + shift, elementwise: a module with two parameters."""

    def __init__(self, size):
        super().__init__()
        self.scale = Parameter(np.ones(size))
        self.shift = Parameter(np.zeros(size))

    def forward(self, x):
        return x * self.scale + self.shift


class TwoAffines(Module):
    """A module with sub-modules and a parameter of its own."""

    def __init__(self):
        super().__init__()
        self.first = Affine(3)
        self.second = Affine(3)
        self.temperature = Parameter(1.0)

    def forward(self, x):
        return self.second(self.first(x)) / self.temperature


@pytest.mark.task("03.1")
@pytest.mark.points(2)
def test_parameters_are_found_under_dotted_names():
    model = TwoAffines()
    names = [name for name, _ in model.named_parameters()]
    assert names == [
        "temperature",
        "first.scale",
        "first.shift",
        "second.scale",
        "second.shift",
    ], f"named_parameters() gave {names}"
    parameters = list(model.parameters())
    assert len(parameters) == 5 and parameters[0] is model.temperature
    assert all(isinstance(p, Parameter) for p in parameters)


@pytest.mark.task("03.1")
@pytest.mark.points(1)
def test_reassigning_an_attribute_unregisters_it():
    model = TwoAffines()
    model.temperature = None
    model.second = None
    names = [name for name, _ in model.named_parameters()]
    assert names == ["first.scale", "first.shift"], f"named_parameters() gave {names}"


@pytest.mark.task("03.2")
@pytest.mark.points(2)
def test_train_and_eval_reach_every_submodule():
    model = TwoAffines()
    assert model.eval() is model, "eval() should return the module itself"
    assert [m.training for m in model.modules()] == [False, False, False]
    model.train()
    assert [m.training for m in model.modules()] == [True, True, True]


@pytest.mark.task("03.2")
@pytest.mark.points(1)
def test_zero_grad_clears_every_gradient():
    model = TwoAffines()
    for parameter in model.parameters():
        parameter.grad = Tensor(np.ones(parameter.shape))
    model.zero_grad()
    assert [p.grad for p in model.parameters()] == [None] * 5


@pytest.mark.task("03.3")
@pytest.mark.points(2)
def test_state_dict_round_trip():
    source, target = TwoAffines(), TwoAffines()
    source.first.scale.data[:] = [1.0, 2.0, 3.0]
    state = source.state_dict()
    assert list(state) == [name for name, _ in source.named_parameters()]
    target.load_state_dict(state)
    assert_tensor(target.first.scale, np.array([1.0, 2.0, 3.0]), "first.scale after loading")
    source.first.scale.data[:] = 0.0
    np.testing.assert_array_equal(
        state["first.scale"], [1.0, 2.0, 3.0], err_msg="state_dict() should hold copies"
    )


@pytest.mark.task("03.3")
@pytest.mark.points(1)
def test_load_state_dict_names_missing_and_unexpected_keys():
    model = TwoAffines()
    state = model.state_dict()
    state["third.scale"] = state.pop("second.scale")
    with pytest.raises(RuntimeError, match="second.scale") as error:
        model.load_state_dict(state)
    assert "third.scale" in str(error.value)


@pytest.mark.task("03.4")
@pytest.mark.points(2)
def test_linear_has_pytorch_layout_and_computes_x_wt_plus_b():
    layer = Linear(3, 2)
    assert layer.weight.shape == (2, 3) and layer.bias.shape == (2,)
    layer.weight.data[:] = [[1.0, 0.0, -1.0], [0.5, 0.5, 0.5]]
    layer.bias.data[:] = [10.0, 20.0]
    x = Tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    assert_tensor(layer(x), np.array([[8.0, 23.0], [10.0, 20.0]]), "Linear(3, 2)(x)")


@pytest.mark.task("03.4")
@pytest.mark.points(1)
def test_linear_init_is_uniform_within_one_over_sqrt_in_features():
    layer = Linear(16, 50, rng=np.random.default_rng(0))
    bound = 1 / np.sqrt(16)
    assert np.all(np.abs(layer.weight.data) <= bound) and np.all(np.abs(layer.bias.data) <= bound)
    assert layer.weight.data.std() > 0.1, "the weights should spread over [-1/4, 1/4]"


@pytest.mark.task("03.5")
@pytest.mark.points(2)
def test_dropout_scales_kept_elements_and_is_identity_in_eval():
    dropout = Dropout(p=0.5, rng=np.random.default_rng(0))
    x = Tensor(np.ones(1000))
    out = dropout(x).data
    assert set(np.unique(out)) <= {0.0, 2.0}, "kept elements should be scaled by 1 / (1 - p)"
    assert 400 < np.count_nonzero(out) < 600, "about half of the elements should be kept"
    assert_tensor(dropout.eval()(x), np.ones(1000), "Dropout in eval mode")


@pytest.mark.task("03.6")
@pytest.mark.points(2)
def test_sequential_applies_modules_in_order():
    first = Linear(2, 2)
    first.weight.data[:] = [[1.0, 0.0], [0.0, -1.0]]
    first.bias.data[:] = 0.0
    model = Sequential(first, ReLU())
    assert_tensor(model(Tensor([[3.0, 4.0]])), np.array([[3.0, 0.0]]), "Sequential(...)(x)")
    assert len(model) == 2 and model[0] is first and isinstance(model[-1], ReLU)
    assert [name for name, _ in model.named_parameters()] == ["0.weight", "0.bias"]


@pytest.mark.task("03.6")
@pytest.mark.points(1)
def test_activation_layers():
    x = Tensor([[0.0, 1.0], [-1.0, 1.0]])
    assert_tensor(Sigmoid()(x), 1 / (1 + np.exp(-x.data.astype(np.float64))), "Sigmoid()(x)")
    assert_tensor(Softmax(dim=0)(x), np.array([[0.731059, 0.5], [0.268941, 0.5]]), "Softmax(0)")
