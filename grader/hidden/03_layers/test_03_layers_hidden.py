"""Hidden tests for module 03 (Layers): Module mechanics on random trees, Linear against a
float64 NumPy reference, Dropout statistics, Sequential and the activation layers.

Every call on the layers runs in the worker; so do the small models of
grader/worker/aids/layers.py. Expected values are computed here from the test's own inputs.
PYTEST_DONT_REWRITE: failures show the helpers' messages, never this file's source.
"""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from grader.testing import reference as refs
from grader.testing.checks import as_array, assert_array, assert_tensor, items, pairs
from grader.testing.graph import assert_built_from
from grader.testing.kit import aids, is_instance, student, worker_module
from grader.testing.strategies import arrays, shapes

layers = student.layers
Linear, Dropout, Sequential = layers.Linear, layers.Dropout, layers.Sequential
Parameter, ReLU, Sigmoid, Softmax = layers.Parameter, layers.ReLU, layers.Sigmoid, layers.Softmax
GELU, Tanh = layers.GELU, layers.Tanh
Tensor = student.tensor.Tensor
Affine, Node, WithBuffer = aids.layers.Affine, aids.layers.Node, aids.layers.WithBuffer
Kept, overwrite = aids.layers.Kept, aids.layers.overwrite
overwrite_parameters, gather = aids.layers.overwrite_parameters, aids.layers.gather
builtins = worker_module("builtins")
listed = builtins.list  # list(...) built beside the student's code: one round trip
numpy_random = worker_module("numpy.random")  # default_rng(seed) gives a Generator there

# A module tree as data: (number of own parameters, [child trees]).
TREES = st.recursive(
    st.tuples(st.integers(0, 2), st.just([])),
    lambda children: st.tuples(st.integers(0, 2), st.lists(children, max_size=3)),
    max_leaves=8,
)


def _parameter_values(spec, offset=0.0, prefix=""):
    """The parameters of `aids.layers.Node(spec, offset)`: dotted name -> values, in order."""
    count, children = spec
    values = {f"{prefix}p{i}": np.full((2, i + 1), offset + i) for i in range(count)}
    for index, child in enumerate(children):
        values.update(_parameter_values(child, offset + 10.0 * (index + 1), f"{prefix}c{index}."))
    return values


def _parameter_names(spec):
    return list(_parameter_values(spec))


def _module_names(spec, prefix=""):
    names = [prefix]
    for index, child in enumerate(spec[1]):
        names += _module_names(child, f"{prefix}.c{index}" if prefix else f"c{index}")
    return names


def _uniform(rng, in_features, shape):
    """Linear-like float32 values drawn here, to write into a layer's parameters."""
    bound = 1 / math.sqrt(in_features)
    return rng.uniform(-bound, bound, shape).astype(np.float32)


@pytest.fixture
def recorder():
    """The graph recorder of grader/testing/graph.py, reporting only Tensor inputs."""
    with aids.layers.recording() as engine:
        yield engine


# ---- Task 03.1: registration and discovery ----
@pytest.mark.task("03.1")
@pytest.mark.points(3)
@given(spec=TREES)
def test_named_parameters_and_modules_follow_any_tree(spec):
    model = Node(spec)
    names = [name for name, _ in listed(model.named_parameters())]
    assert names == _parameter_names(spec), f"named_parameters() gave {names}"
    modules = [name for name, _ in listed(model.named_modules())]
    assert modules == _module_names(spec), f"named_modules() gave {modules}"
    count = len(_parameter_names(spec))
    named = listed(model.named_parameters())
    parameters = listed(model.parameters())
    assert all(p is q for p, (_, q) in pairs(parameters, named, count, "parameters()")), (
        "parameters() should yield the Parameter objects of named_parameters(), in order"
    )
    items(listed(model.modules()), len(_module_names(spec)), "modules()")


@pytest.mark.task("03.1")
@pytest.mark.points(2)
def test_only_parameters_and_modules_are_registered():
    model = Affine(2)
    model.plain = Tensor([1.0])
    model.number = 3
    model.child = Affine(2)
    assert [name for name, _ in listed(model.named_parameters())] == [
        "scale",
        "shift",
        "child.scale",
        "child.shift",
    ]
    assert listed(model.children()) == [model.child] and model.number == 3
    assert is_instance(model.scale, Parameter) and model.scale.requires_grad
    assert model.scale.dtype == np.float32


@pytest.mark.task("03.1")
@pytest.mark.points(2)
def test_reassignment_and_deletion_update_the_registries():
    model = Affine(2)
    model.child = Affine(2)
    model.scale = None
    assert model.scale is None
    model.child = Parameter([5.0])
    assert [name for name, _ in listed(model.named_parameters())] == ["shift", "child"]
    assert listed(model.children()) == []
    builtins.delattr(model, "shift")  # `del model.shift`, run beside the student's code
    assert [name for name, _ in listed(model.named_parameters())] == ["child"]
    assert not builtins.hasattr(model, "shift")


@pytest.mark.task("03.1")
@pytest.mark.points(2)
def test_a_shared_parameter_is_listed_once():
    model = Affine(2)
    model.left, model.right = Affine(2), Affine(2)
    model.right.scale = model.left.scale
    names = [name for name, _ in listed(model.named_parameters())]
    assert names == ["scale", "shift", "left.scale", "left.shift", "right.shift"], (
        f"a Parameter used twice should be listed once, under its first name; got {names}"
    )


@pytest.mark.task("03.1")
@pytest.mark.points(1)
def test_assigning_before_super_init_is_a_clear_error():
    with pytest.raises(AttributeError, match=r"super\(\).__init__\(\)"):
        aids.layers.Forgetful()
    assert [name for name, _ in Affine(1).named_parameters()] == ["scale", "shift"]


# ---- Task 03.2: modes and gradients ----
@pytest.mark.task("03.2")
@pytest.mark.points(2)
@given(spec=TREES)
def test_train_and_eval_propagate_through_any_tree(spec):
    model = Node(spec)
    count = len(_module_names(spec))

    def modes(what):
        # gather(..., "training") is [m.training for m in model.modules()], in one request.
        return items(gather(model.modules(), "training"), count, f"the modules' modes {what}")

    assert model.eval() is model, "eval() should return the module itself"
    assert modes("after eval()") == [False] * count, "eval() must reach every sub-module"
    assert model.train() is model, "train() should return the module itself"
    assert modes("after train()") == [True] * count, "train() must reach every sub-module"
    model.train(False)
    assert modes("after train(False)") == [False] * count, "train(False) is eval()"


@pytest.mark.task("03.2")
@pytest.mark.points(1)
def test_train_on_a_submodule_changes_only_its_subtree():
    model = Affine(1)
    model.left, model.right = Affine(1), Affine(1)
    model.eval()
    model.left.train()
    assert (model.training, model.left.training, model.right.training) == (False, True, False)
    with pytest.raises(TypeError):
        model.train("no")


@pytest.mark.task("03.2")
@pytest.mark.points(2)
@given(spec=TREES)
def test_zero_grad_clears_every_gradient(spec):
    model = Node(spec)
    count = len(_parameter_names(spec))
    parameters = items(listed(model.parameters()), count, "parameters()")
    aids.layers.give_gradients(parameters)  # p.grad = Tensor(np.ones(p.shape)) for each
    given_grads = items(gather(parameters, "grad"), count, "the gradients given")
    assert all(g is not None for g in given_grads), "a gradient set on a parameter was lost"
    model.zero_grad()
    grads = items(gather(parameters, "grad"), count, "the gradients after zero_grad()")
    assert all(g is None for g in grads), "zero_grad() sets .grad = None"


# ---- Task 03.3: saving and loading ----
@pytest.mark.task("03.3")
@pytest.mark.points(3)
@given(spec=TREES)
def test_state_dict_round_trips_through_any_tree(spec):
    source, target = Node(spec, offset=1.0), Node(spec, offset=-50.0)
    expected = _parameter_values(spec, offset=1.0)
    state = source.state_dict()
    assert list(state) == list(expected), f"state_dict() keys: {list(state)}"
    before = listed(target.parameters())
    target.load_state_dict({k: v.astype(np.float64) for k, v in state.items()})
    after = listed(target.parameters())
    assert all(p is q for p, q in pairs(before, after, len(expected), "parameters()")), (
        "load_state_dict() should keep the Parameter objects (optimizers hold them)"
    )
    named = items(listed(target.named_parameters()), len(expected), "named_parameters()")
    for (name, values), (got, parameter) in zip(expected.items(), named, strict=True):
        assert got == name, f"named_parameters() lists {got} where {name} was expected"
        assert_tensor(parameter, values, f"{name} after load_state_dict")


@pytest.mark.task("03.3")
@pytest.mark.points(2)
def test_state_dict_holds_copies_and_loading_copies_too():
    model = Affine(3)
    state = Kept.result_of(model, "state_dict")  # the very dict, kept beside the student's code
    assert all(isinstance(v, np.ndarray) for v in state.value.values())
    overwrite(model.scale, 7.0)
    np.testing.assert_array_equal(
        state.value["scale"], 1.0, err_msg="state_dict() must copy arrays"
    )
    source = Kept({"scale": np.full(3, 2.0, dtype=np.float32), "shift": Tensor([1.0, 2.0, 3.0])})
    source.pass_to(model, "load_state_dict")
    source.overwrite_item("scale", -1.0)
    assert_tensor(model.scale, np.full(3, 2.0), "scale after the source array changed")
    assert_tensor(model.shift, np.array([1.0, 2.0, 3.0]), "shift loaded from a Tensor")


@pytest.mark.task("03.3")
@pytest.mark.points(3)
def test_load_state_dict_errors_name_every_problem_and_change_nothing():
    model = Affine(3)
    model.child = Affine(2)
    bad = model.state_dict()
    bad["scale"] = np.zeros(3) + 5.0
    bad["child.shift"] = np.zeros((2, 2))
    bad["extra.weight"] = np.zeros(1)
    del bad["child.scale"]
    with pytest.raises(RuntimeError) as error:
        model.load_state_dict(bad)
    message = str(error.value)
    for part in ["child.scale", "extra.weight", "child.shift", "(2, 2)", "(2,)"]:
        assert part in message, f"the load_state_dict error should mention {part}: {message}"
    assert_tensor(model.scale, np.ones(3), "scale after a failed load (nothing may change)")


@pytest.mark.task("03.3")
@pytest.mark.points(2)
def test_buffers_are_saved_and_loaded_but_not_trained():
    model = WithBuffer()
    model.running_mean = Tensor([4.0, 5.0])
    assert [name for name, _ in listed(model.named_parameters())] == ["inner.scale", "inner.shift"]
    assert [name for name, _ in listed(model.named_buffers())] == ["running_mean"]
    state = model.state_dict()
    assert list(state) == ["running_mean", "inner.scale", "inner.shift"], list(state)
    np.testing.assert_array_equal(state["running_mean"], [4.0, 5.0])
    fresh = WithBuffer()
    fresh.load_state_dict(state)
    assert_tensor(fresh.running_mean, np.array([4.0, 5.0]), "buffer after load_state_dict")
    with pytest.raises(TypeError, match="running_mean"):
        fresh.running_mean = 3.0


# ---- Task 03.4: Linear ----
@pytest.mark.task("03.4")
@pytest.mark.points(4)
@given(
    data=st.data(),
    in_features=st.integers(1, 6),
    out_features=st.integers(1, 6),
    bias=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_linear_matches_float64_reference(data, in_features, out_features, bias, seed):
    leading = data.draw(shapes(min_dims=0, max_dims=2, max_side=4))
    x = data.draw(arrays((*leading, in_features), -5, 5))
    layer = Linear(in_features, out_features, bias=bias, rng=numpy_random.default_rng(seed))
    # The test's own weights, written into the layer: the expected values use only them.
    rng = np.random.default_rng(seed)
    weight = _uniform(rng, in_features, (out_features, in_features))
    expected = x.astype(np.float64) @ weight.astype(np.float64).T
    if bias:
        bias_values = _uniform(rng, in_features, out_features)
        overwrite_parameters(layer, weight=weight, bias=bias_values)
        expected = expected + bias_values.astype(np.float64)
    else:
        overwrite_parameters(layer, weight=weight)
    assert_tensor(
        layer(Tensor(x)),
        expected,
        f"Linear({in_features}, {out_features}, bias={bias}) of shape {x.shape}",
        rtol=1e-5,
        atol=1e-5,
    )


@pytest.mark.task("03.4")
@pytest.mark.points(2)
def test_linear_parameters_layout_and_names():
    layer = Linear(5, 3)
    assert [(n, p.shape) for n, p in listed(layer.named_parameters())] == [
        ("weight", (3, 5)),
        ("bias", (3,)),
    ]
    parameters = items(listed(layer.parameters()), 2, "Linear(5, 3).parameters()")
    assert all(p.dtype == np.float32 and p.requires_grad for p in parameters)
    no_bias = Linear(5, 3, bias=False)
    assert no_bias.bias is None
    assert [n for n, _ in listed(no_bias.named_parameters())] == ["weight"]
    assert builtins.repr(no_bias) == "Linear(in_features=5, out_features=3, bias=False)"


@pytest.mark.task("03.4")
@pytest.mark.points(3)
def test_linear_init_is_pytorch_uniform():
    layer = Linear(9, 3000, rng=numpy_random.default_rng(1))
    bound = 1 / 3
    for name, values in [("weight", layer.weight.data), ("bias", layer.bias.data)]:
        assert np.all(np.abs(values) <= bound + 1e-7), f"{name} leaves [-1/sqrt(9), 1/sqrt(9)]"
        assert values.min() < -0.97 * bound and values.max() > 0.97 * bound, (
            f"{name} should fill the whole interval [-1/sqrt(in_features), 1/sqrt(in_features)]"
        )
        assert abs(values.mean()) < 0.02, f"{name} should be centred on 0"
        assert abs(values.std() - bound / math.sqrt(3)) < 0.01, (
            f"{name} should be uniform (std = bound / sqrt(3)), got std {values.std():.4f}"
        )


@pytest.mark.task("03.4")
@pytest.mark.points(2)
def test_linear_init_uses_the_given_generator():
    first = Linear(4, 6, rng=numpy_random.default_rng(11))
    second = Linear(4, 6, rng=numpy_random.default_rng(11))
    other = Linear(4, 6, rng=numpy_random.default_rng(12))
    for name in ("weight", "bias"):
        values = as_array(getattr(first, name), f"Linear(4, 6).{name}")
        assert np.all(np.abs(values) <= 0.5 + 1e-7), f"{name} leaves [-1/sqrt(4), 1/sqrt(4)]"
        assert np.unique(values).size == values.size, f"{name} should hold distinct random values"
    np.testing.assert_array_equal(first.weight.data, second.weight.data)
    np.testing.assert_array_equal(first.bias.data, second.bias.data)
    assert not np.array_equal(first.weight.data, other.weight.data), "seeds should matter"
    assert not np.array_equal(Linear(4, 6).weight.data, Linear(4, 6).weight.data)


@pytest.mark.task("03.4")
@pytest.mark.points(2)
def test_linear_is_built_from_tensor_operations(recorder):
    # The graph is the worker's report: it counts only beside the values computed here.
    layer = Linear(3, 2)
    weight, bias = np.array([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]]), np.array([0.25, -4.0])
    overwrite_parameters(layer, weight=weight, bias=bias)
    x = np.arange(12.0).reshape(4, 3)
    out = layer(Tensor(x))
    assert_tensor(out, x @ weight.T + bias, "Linear(3, 2) with the test's weights")
    assert_built_from(recorder, out, layer.weight, layer.bias, what="Linear.forward")


@pytest.mark.task("03.4")
@pytest.mark.points(1)
def test_linear_rejects_inputs_of_the_wrong_width():
    layer = Linear(3, 2)
    with pytest.raises(ValueError, match=r"in_features=3.*\(4, 5\)"):
        layer(Tensor(np.ones((4, 5))))
    weight, bias = np.array([[1.0, 2.0, 3.0], [-1.0, 0.0, 1.0]]), np.array([0.5, -0.5])
    overwrite_parameters(layer, weight=weight, bias=bias)
    assert_tensor(layer(Tensor([1.0, 1.0, 2.0])), np.array([9.5, 0.5]), "Linear(3, 2) of a vector")


# ---- Task 03.5: Dropout ----
@pytest.mark.task("03.5")
@pytest.mark.points(3)
@given(values=arrays(shapes(min_dims=1)), p=st.floats(0.05, 0.95), seed=st.integers(0, 2**16))
def test_dropout_zeroes_or_scales_each_element(values, p, seed):
    what = f"Dropout({p:.3f}): each element is 0 or x / (1 - p)"
    out = as_array(Dropout(p, rng=numpy_random.default_rng(seed))(Tensor(values)), what)
    # The mask is random: where the output is 0 the element was dropped, elsewhere it
    # must be the test's own value scaled by 1 / (1 - p).
    expected = np.where(out == 0, 0.0, values.astype(np.float64) / (1 - p))
    assert_array(out, expected, what)
    # Where the output is 0 decides nothing by itself: the kept share of 4000 ones must be
    # 1 - p (within 5 standard deviations), so an all-zero output fails.
    ones = as_array(Dropout(p, rng=numpy_random.default_rng(seed))(Tensor(np.ones(4000))), what)
    kept = np.count_nonzero(ones) / ones.size
    assert abs(kept - (1 - p)) < 5 * math.sqrt(p * (1 - p) / ones.size), (
        f"Dropout({p:.3f}) kept {kept:.3f} of 4000 elements, expected about {1 - p:.3f}"
    )
    assert_array(ones, np.where(ones == 0, 0.0, 1 / (1 - p)), f"{what} (of ones)")


@pytest.mark.task("03.5")
@pytest.mark.points(1)
def test_dropout_without_arguments_drops_half_like_pytorch():
    out = as_array(Dropout(rng=numpy_random.default_rng(5))(Tensor(np.ones(20000))), "Dropout()")
    assert abs(np.count_nonzero(out) / out.size - 0.5) < 0.02, "Dropout() uses p = 0.5"
    assert set(np.unique(out)) <= {0.0, 2.0}, "Dropout() scales the kept elements by 2"


@pytest.mark.task("03.5")
@pytest.mark.points(2)
def test_dropout_keeps_the_right_fraction_and_the_mean():
    dropout = Dropout(0.3, rng=numpy_random.default_rng(0))
    out = as_array(dropout(Tensor(np.ones(20000))), "Dropout(0.3)")
    assert abs(np.count_nonzero(out) / out.size - 0.7) < 0.02, "keep each element with 1 - p"
    assert abs(out.mean() - 1.0) < 0.03, "inverted dropout keeps the mean"
    again = as_array(dropout(Tensor(np.ones(20000))), "Dropout(0.3), called again")
    assert not np.array_equal(out, again), "every call should draw a new mask"


@pytest.mark.task("03.5")
@pytest.mark.points(2)
def test_dropout_is_identity_in_eval_mode_and_for_p_zero():
    values = np.arange(6.0).reshape(2, 3)
    x = Tensor(values)
    model = Affine(3)
    model.drop = Dropout(0.9)
    model.eval()
    assert_tensor(model.drop(x), values, "Dropout(0.9) inside a model in eval mode")
    assert_tensor(Dropout(0.0)(x), values, "Dropout(0.0) while training")
    zeros = Dropout(1.0)(x)
    assert_tensor(zeros, np.zeros((2, 3)), "Dropout(1.0) while training")


@pytest.mark.task("03.5")
@pytest.mark.points(2)
def test_dropout_is_reproducible_and_validates_p(recorder):
    x = Tensor(np.ones((50, 4)))
    first = Dropout(0.5, rng=numpy_random.default_rng(3))(x)
    second = Dropout(0.5, rng=numpy_random.default_rng(3))(x)
    values = as_array(first, "Dropout(0.5)")
    # Values checked here first: two equal answers (or a reported graph) prove nothing alone.
    assert_array(values, np.where(values == 0, 0.0, 2.0), "Dropout(0.5) of ones: 0 or 2")
    assert 60 <= np.count_nonzero(values) <= 140, "Dropout(0.5) should keep about half of 200"
    np.testing.assert_array_equal(
        as_array(second, "Dropout(0.5)"), values, err_msg="same seed, same mask"
    )
    assert_built_from(recorder, first, x, what="Dropout.forward")
    for p in (-0.1, 1.5):
        with pytest.raises(ValueError, match="p"):
            Dropout(p)


# ---- Task 03.6: Sequential and the activation layers ----
# name -> (the layer, made in the test; float64 NumPy reference). Tests are parametrized
# by the name only, so a falsifying example never prints a reference.
ACTIVATION_LAYERS = {
    "ReLU": (lambda: ReLU(), lambda x: np.maximum(x, 0)),
    "Sigmoid": (lambda: Sigmoid(), refs.sigmoid),
    "Tanh": (lambda: Tanh(), np.tanh),
    "GELU": (lambda: GELU(), refs.gelu),
    "GELU_tanh": (lambda: GELU(approximate="tanh"), refs.gelu_tanh),
    "Softmax_dim0": (lambda: Softmax(dim=0), lambda x: refs.softmax(x, 0)),
}


@pytest.mark.task("03.6")
@pytest.mark.points(1)
@pytest.mark.parametrize("name", list(ACTIVATION_LAYERS), ids=list(ACTIVATION_LAYERS))
@given(values=arrays(shapes(min_dims=1, max_dims=3), low=-20, high=20))
def test_activation_layers_match_float64_reference(name, values):
    factory, reference = ACTIVATION_LAYERS[name]
    expected = reference(values.astype(np.float64))
    assert_tensor(factory()(Tensor(values)), expected, f"{name}()(x)", rtol=1e-5, atol=1e-6)


@pytest.mark.task("03.6")
@pytest.mark.points(3)
@given(
    data=st.data(),
    sizes=st.lists(st.integers(1, 5), min_size=3, max_size=3),
    seed=st.integers(0, 2**16),
)
def test_mlp_matches_float64_reference(data, sizes, seed):
    n_in, hidden, n_out = sizes
    rng = numpy_random.default_rng(seed)
    model = Sequential(
        Linear(n_in, hidden, rng=rng), ReLU(), Linear(hidden, n_out, rng=rng), Tanh()
    )
    x = data.draw(arrays((data.draw(st.integers(1, 4)), n_in), -3, 3))
    local = np.random.default_rng(seed)
    (w1, b1), (w2, b2) = [
        (_uniform(local, fan_in, (fan_out, fan_in)), _uniform(local, fan_in, fan_out))
        for fan_in, fan_out in ((n_in, hidden), (hidden, n_out))
    ]
    # The test's own weights, written into the layers that model[0] and model[2] give.
    overwrite_parameters(model[0], weight=w1, bias=b1)
    overwrite_parameters(model[2], weight=w2, bias=b2)
    w1, b1, w2, b2 = (a.astype(np.float64) for a in (w1, b1, w2, b2))
    expected = np.tanh(np.maximum(x.astype(np.float64) @ w1.T + b1, 0) @ w2.T + b2)
    assert_tensor(model(Tensor(x)), expected, f"MLP {sizes} of shape {x.shape}", atol=1e-5)


@pytest.mark.task("03.6")
@pytest.mark.points(2)
def test_sequential_indexing_length_and_iteration():
    modules = [Linear(2, 3), ReLU(), Linear(3, 1)]
    model = Sequential(*modules)
    assert builtins.len(model) == 3 and listed(model) == modules
    assert model[0] is modules[0] and model[-1] is modules[2]
    head = model[:2]
    assert is_instance(head, Sequential) and listed(head) == modules[:2]
    with pytest.raises(IndexError):
        model[3]
    names = [name for name, _ in listed(model.named_parameters())]
    assert names == ["0.weight", "0.bias", "2.weight", "2.bias"], names
    assert list(model.state_dict()) == names


@pytest.mark.task("03.6")
@pytest.mark.points(2)
def test_sequential_order_matters_and_empty_is_identity():
    values = np.array([[-1.0, 2.0]], dtype=np.float32)
    x = Tensor(values)
    shift = Affine(2)
    overwrite(shift.shift, [3.0, -3.0])
    assert_tensor(Sequential(shift, ReLU())(x), np.array([[2.0, 0.0]]), "shift then ReLU")
    assert_tensor(Sequential(ReLU(), shift)(x), np.array([[3.0, -1.0]]), "ReLU then shift")
    assert_tensor(Sequential()(x), values, "an empty Sequential")
    with pytest.raises(TypeError, match="argument 1"):
        Sequential(ReLU(), aids.layers.identity)  # a plain function, not a Module


@pytest.mark.task("03.6")
@pytest.mark.points(1)
def test_nested_repr_reads_like_pytorch():
    model = Sequential(Linear(4, 8), GELU(), Sequential(Dropout(0.1), Linear(8, 2)), Softmax(1))
    text = builtins.repr(model)
    assert text == (
        "Sequential(\n"
        "  (0): Linear(in_features=4, out_features=8, bias=True)\n"
        "  (1): GELU(approximate='none')\n"
        "  (2): Sequential(\n"
        "    (0): Dropout(p=0.1)\n"
        "    (1): Linear(in_features=8, out_features=2, bias=True)\n"
        "  )\n"
        "  (3): Softmax(dim=1)\n"
        ")"
    ), text
