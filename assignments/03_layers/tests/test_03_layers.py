"""Visible tests for module 03 (Layers). Run them with `make grade MODULE=03`.

Each test names its task; the hidden tests check the same tasks on many more inputs.
Your code runs in a separate process: `student.layers.Linear` is your `Linear` class there.
The small models the tests build (`aids.layers.Affine`, `aids.layers.TwoAffines`) are
defined in grader/worker/aids/layers.py and run there too, beside your code. Arrays that
reach the test are copies, so a test writes into a parameter with `aids.layers.overwrite`
and keeps a returned `state_dict()` there with `aids.layers.Kept`.
"""

import numpy as np
import pytest

from grader.testing.checks import assert_tensor
from grader.testing.kit import aids, is_instance, student, worker_module

layers = student.layers
Linear, Dropout, Sequential = layers.Linear, layers.Dropout, layers.Sequential
Parameter, ReLU, Sigmoid, Softmax = layers.Parameter, layers.ReLU, layers.Sigmoid, layers.Softmax
Tensor = student.tensor.Tensor
TwoAffines, Kept, overwrite = aids.layers.TwoAffines, aids.layers.Kept, aids.layers.overwrite
builtins = worker_module("builtins")
listed = builtins.list  # list(...) built beside your code: one round trip
numpy_random = worker_module("numpy.random")  # default_rng(seed) gives a Generator there


@pytest.mark.task("03.1")
@pytest.mark.points(2)
def test_parameters_are_found_under_dotted_names():
    model = TwoAffines()
    names = [name for name, _ in listed(model.named_parameters())]
    assert names == [
        "temperature",
        "first.scale",
        "first.shift",
        "second.scale",
        "second.shift",
    ], f"named_parameters() gave {names}"
    parameters = listed(model.parameters())
    assert len(parameters) == 5 and parameters[0] is model.temperature
    assert all(is_instance(p, Parameter) for p in parameters)


@pytest.mark.task("03.1")
@pytest.mark.points(1)
def test_reassigning_an_attribute_unregisters_it():
    model = TwoAffines()
    model.temperature = None
    model.second = None
    names = [name for name, _ in listed(model.named_parameters())]
    assert names == ["first.scale", "first.shift"], f"named_parameters() gave {names}"


@pytest.mark.task("03.2")
@pytest.mark.points(2)
def test_train_and_eval_reach_every_submodule():
    model = TwoAffines()
    assert model.eval() is model, "eval() should return the module itself"
    assert [m.training for m in listed(model.modules())] == [False, False, False]
    model.train()
    assert [m.training for m in listed(model.modules())] == [True, True, True]


@pytest.mark.task("03.2")
@pytest.mark.points(1)
def test_zero_grad_clears_every_gradient():
    model = TwoAffines()
    for parameter in listed(model.parameters()):
        parameter.grad = Tensor(np.ones(parameter.shape))
    model.zero_grad()
    assert [p.grad for p in listed(model.parameters())] == [None] * 5


@pytest.mark.task("03.3")
@pytest.mark.points(2)
def test_state_dict_round_trip():
    source, target = TwoAffines(), TwoAffines()
    overwrite(source.first.scale, [1.0, 2.0, 3.0])
    state = Kept.result_of(source, "state_dict")  # the dict stays beside your code
    assert list(state.value) == [name for name, _ in listed(source.named_parameters())]
    state.pass_to(target, "load_state_dict")
    assert_tensor(target.first.scale, np.array([1.0, 2.0, 3.0]), "first.scale after loading")
    overwrite(source.first.scale, 0.0)
    np.testing.assert_array_equal(
        state.value["first.scale"], [1.0, 2.0, 3.0], err_msg="state_dict() should hold copies"
    )


@pytest.mark.task("03.3")
@pytest.mark.points(1)
def test_load_state_dict_names_missing_and_unexpected_keys():
    model = TwoAffines()
    state = model.state_dict()
    state["first.shift"] = np.array([4.0, 5.0, 6.0])
    model.load_state_dict(state)  # a complete state loads (checked by value)
    assert_tensor(model.first.shift, np.array([4.0, 5.0, 6.0]), "first.shift after loading")
    state["third.scale"] = state.pop("second.scale")
    with pytest.raises(RuntimeError, match="second.scale") as error:
        model.load_state_dict(state)
    assert "third.scale" in str(error.value)


@pytest.mark.task("03.4")
@pytest.mark.points(2)
def test_linear_has_pytorch_layout_and_computes_x_wt_plus_b():
    layer = Linear(3, 2)
    assert layer.weight.shape == (2, 3) and layer.bias.shape == (2,)
    overwrite(layer.weight, [[1.0, 0.0, -1.0], [0.5, 0.5, 0.5]])
    overwrite(layer.bias, [10.0, 20.0])
    x = Tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    assert_tensor(layer(x), np.array([[8.0, 23.0], [10.0, 20.0]]), "Linear(3, 2)(x)")


@pytest.mark.task("03.4")
@pytest.mark.points(1)
def test_linear_init_is_uniform_within_one_over_sqrt_in_features():
    layer = Linear(16, 50, rng=numpy_random.default_rng(0))
    bound = 1 / np.sqrt(16)
    assert np.all(np.abs(layer.weight.data) <= bound) and np.all(np.abs(layer.bias.data) <= bound)
    assert layer.weight.data.std() > 0.1, "the weights should spread over [-1/4, 1/4]"


@pytest.mark.task("03.5")
@pytest.mark.points(2)
def test_dropout_scales_kept_elements_and_is_identity_in_eval():
    dropout = Dropout(p=0.5, rng=numpy_random.default_rng(0))
    x = Tensor(np.ones(1000))
    out = dropout(x).data
    assert set(np.unique(out)) <= {0.0, 2.0}, "kept elements should be scaled by 1 / (1 - p)"
    assert 400 < np.count_nonzero(out) < 600, "about half of the elements should be kept"
    assert_tensor(dropout.eval()(x), np.ones(1000), "Dropout in eval mode")


@pytest.mark.task("03.6")
@pytest.mark.points(2)
def test_sequential_applies_modules_in_order():
    first = Linear(2, 2)
    overwrite(first.weight, [[1.0, 0.0], [0.0, -1.0]])
    overwrite(first.bias, 0.0)
    model = Sequential(first, ReLU())
    assert_tensor(model(Tensor([[3.0, 4.0]])), np.array([[3.0, 0.0]]), "Sequential(...)(x)")
    assert builtins.len(model) == 2 and model[0] is first and is_instance(model[-1], ReLU)
    assert [name for name, _ in listed(model.named_parameters())] == ["0.weight", "0.bias"]


@pytest.mark.task("03.6")
@pytest.mark.points(1)
def test_activation_layers():
    values = np.array([[0.0, 1.0], [-1.0, 1.0]], dtype=np.float32)
    x = Tensor(values)
    assert_tensor(Sigmoid()(x), 1 / (1 + np.exp(-values.astype(np.float64))), "Sigmoid()(x)")
    assert_tensor(Softmax(dim=0)(x), np.array([[0.731059, 0.5], [0.268941, 0.5]]), "Softmax(0)")
