"""Hidden tests for module 13 (Transformers).

LayerNorm is compared with a float64 NumPy reference over hypothesis-drawn shapes, and
its gradients with central differences of that reference. The block and the GPT get
parameters of the test's own choosing through `load_state_dict` and are compared with
the NumPy GPT of grader/testing/gpt_reference.py; generated tokens are recomputed there
from the same seed with the sampling rule the module fixes. Every call on the student's
code runs in the worker.

PYTEST_DONT_REWRITE: failures show the helpers' messages, never this file's source.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.testing import gpt_reference as ref
from grader.testing.checks import as_array, assert_array, assert_tensor, central_difference
from grader.testing.gradcheck import grad_check
from grader.testing.kit import student, worker_module, worker_rng
from grader.testing.strategies import arrays

transformers = student.transformers
layer_norm = transformers.layer_norm
LayerNorm = transformers.LayerNorm
GPT = transformers.GPT
Tensor = student.tensor.Tensor
listed = worker_module("builtins").list  # list(...) built beside the student's code

F64 = np.float64


@st.composite
def norm_inputs(draw):
    """x of shape (*batch, *normalized), weight and bias of shape normalized, and eps."""
    batch = draw(st.lists(st.integers(1, 3), max_size=2))
    normalized = draw(st.lists(st.integers(2, 5), min_size=1, max_size=2))
    shape = (*batch, *normalized)
    x = draw(arrays(shape, -3, 3))
    weight = draw(arrays(tuple(normalized), -2, 2))
    bias = draw(arrays(tuple(normalized), -2, 2))
    eps = draw(st.sampled_from([1e-5, 1e-3, 0.5]))
    return x, tuple(normalized), weight, bias, eps


# ---- 13.1 the forward ----
@pytest.mark.task("13.1")
@pytest.mark.points(5)
@given(case=norm_inputs(), affine=st.booleans())
def test_layer_norm_matches_reference(case, affine):
    x, shape, weight, bias, eps = case
    what = f"layer_norm of {x.shape} over {shape}, eps={eps}, weight and bias={affine}"
    if affine:
        out = layer_norm(Tensor(x), shape, Tensor(weight), Tensor(bias), eps=eps)
        expected = ref.layer_norm(x, weight.astype(F64), bias.astype(F64), len(shape), eps)
    else:
        out = layer_norm(Tensor(x), shape, eps=eps)
        expected = ref.layer_norm(x, axes=len(shape), eps=eps)
    assert_tensor(out, expected, what, rtol=1e-4, atol=2e-5)


@pytest.mark.task("13.1")
@pytest.mark.points(2)
def test_layer_norm_large_offsets_constant_rows_and_bad_shapes():
    rng = np.random.default_rng(1)
    x = (1000.0 + rng.standard_normal((3, 8))).astype(np.float32)
    assert_tensor(layer_norm(Tensor(x), 8), ref.layer_norm(x), "rows near 1000", atol=2e-3)
    constant = np.full((2, 4), 7.0, dtype=np.float32)
    assert_tensor(layer_norm(Tensor(constant), 4), np.zeros((2, 4)), "constant rows give zeros")
    wide = rng.standard_normal((2, 3, 4))
    out = layer_norm(Tensor(wide, dtype=F64), [3, 4])
    assert_tensor(out, ref.layer_norm(wide, axes=2), "float64 over two axes", dtype=F64)
    with pytest.raises(ValueError, match="normalized_shape"):
        layer_norm(Tensor(wide), 3)
    with pytest.raises(ValueError, match="weight"):
        layer_norm(Tensor(wide), 4, Tensor(np.ones(3)))


# ---- 13.2 the fused backward ----
@pytest.mark.task("13.2")
@pytest.mark.points(6)
@settings(max_examples=20)
@given(case=norm_inputs())
def test_layer_norm_gradients_match_central_differences(case):
    x, shape, weight, bias, eps = case
    axes = len(shape)
    grad_check(
        lambda a, w, b: layer_norm(a, shape, w, b, eps=eps),
        lambda a, w, b: ref.layer_norm(a, w, b, axes, eps),
        x,
        weight,
        bias,
        what=f"layer_norm of {x.shape} over {shape}, eps={eps}",
        rtol=1e-4,
        atol=1e-5,
    )


@pytest.mark.task("13.2")
@pytest.mark.points(2)
def test_gradients_without_affine_and_only_where_asked():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 5))
    grad_check(
        lambda a: layer_norm(a, 5), lambda a: ref.layer_norm(a), x, what="layer_norm, no affine"
    )
    inputs = Tensor(x, dtype=F64)
    weight = Tensor(rng.standard_normal(5), dtype=F64, requires_grad=True)
    layer_norm(inputs, 5, weight).backward(np.ones((3, 5)))
    assert inputs.grad is None, "an input without requires_grad gets no gradient"
    assert_tensor(weight.grad, ref.layer_norm(x).sum(axis=0), "weight.grad", dtype=F64)


# ---- 13.3 the layer ----
@pytest.mark.task("13.3")
@pytest.mark.points(3)
def test_layer_norm_layer_parameters_and_options():
    layer = LayerNorm((2, 3), eps=0.5)
    names = {name: tuple(p.shape) for name, p in listed(layer.named_parameters())}
    assert names == {"weight": (2, 3), "bias": (2, 3)}, names
    assert_tensor(layer.bias, np.zeros((2, 3)), "bias starts at zeros")
    x = np.random.default_rng(3).standard_normal((4, 2, 3)).astype(np.float32)
    assert_tensor(layer(Tensor(x)), ref.layer_norm(x, axes=2, eps=0.5), "eps=0.5", atol=1e-5)
    only_weight = LayerNorm(3, bias=False)
    names = [n for n, _ in listed(only_weight.named_parameters())]
    assert names == ["weight"], names
    assert only_weight.bias is None
    plain = LayerNorm(3, elementwise_affine=False)
    names = [n for n, _ in listed(plain.named_parameters())]
    assert names == [], names
    assert_tensor(plain(Tensor(x)), ref.layer_norm(x), "no affine", atol=1e-5)
    with pytest.raises(ValueError, match="normalized_shape"):
        LayerNorm(0)


# ---- 13.4 the MLP and the block ----
def _load(module, state):
    module.load_state_dict(state)
    return {name: value.astype(F64) for name, value in state.items()}


def _block_state(d_model, seed):
    full = ref.gpt_state(5, 4, d_model, 1, seed)
    return {k[len("blocks.0.") :]: v for k, v in full.items() if k.startswith("blocks.0.")}


@pytest.mark.task("13.4")
@pytest.mark.points(3)
def test_mlp_matches_reference_and_drops_while_training():
    mlp = transformers.MLP(6, dropout=1.0, rng=worker_rng(4))
    state = {k[4:]: v for k, v in _block_state(6, 5).items() if k.startswith("mlp.")}
    names = [n for n, _ in listed(mlp.named_parameters())]
    assert names == ["linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias"], names
    state64 = _load(mlp, state)
    x = np.random.default_rng(6).standard_normal((2, 3, 6)).astype(np.float32)
    out = mlp(Tensor(x))
    assert_tensor(out, np.zeros((2, 3, 6)), "MLP(dropout=1.0) while training")
    mlp.eval()
    expected = ref.mlp(state64, "", x.astype(F64))
    assert_tensor(mlp(Tensor(x)), expected, "MLP in eval mode", rtol=1e-4, atol=1e-5)
    shape = tuple(transformers.MLP(4, hidden=7).linear1.weight.shape)
    assert shape == (7, 4), f"MLP(4, hidden=7).linear1.weight: {shape}"


@pytest.mark.task("13.4")
@pytest.mark.points(5)
def test_block_matches_reference():
    block = transformers.TransformerBlock(8, 2)
    state = _load(block, _block_state(8, 7))
    x = np.random.default_rng(8).standard_normal((3, 5, 8)).astype(np.float32)
    expected = ref.block(state, "", x.astype(F64), heads=2)
    assert_tensor(block(Tensor(x)), expected, "TransformerBlock(8, 2)", rtol=1e-4, atol=1e-4)
    four = transformers.TransformerBlock(8, 4)
    state = _load(four, _block_state(8, 9))
    expected = ref.block(state, "", x.astype(F64), heads=4)
    assert_tensor(four(Tensor(x)), expected, "TransformerBlock(8, 4)", rtol=1e-4, atol=1e-4)


@pytest.mark.task("13.4")
@pytest.mark.points(4)
def test_block_gradients_match_central_differences():
    block = transformers.TransformerBlock(4, 2)
    state = _load(block, _block_state(4, 10))
    x = np.random.default_rng(11).standard_normal((2, 3, 4))
    inputs = Tensor(x.astype(np.float32), requires_grad=True)
    out = block(inputs)
    weights = np.linspace(-1, 1, 24).reshape(2, 3, 4)
    out.backward(weights)

    def loss(name, value):
        values = dict(state, **{name: value}) if name != "x" else state
        return float((ref.block(values, "", value if name == "x" else x, 2) * weights).sum())

    parameters = dict(listed(block.named_parameters()))
    checks = {"x": (inputs, x)}
    for name in ("norm1.weight", "self_attn.in_proj_weight", "norm2.bias", "mlp.linear1.weight"):
        checks[name] = (parameters[name], state[name])
    for name, (tensor, point) in checks.items():
        expected = central_difference(lambda value, name=name: loss(name, value), point)
        what = f"TransformerBlock: gradient of {name}"
        assert_tensor(tensor.grad, expected, what, rtol=1e-3, atol=1e-4)


# ---- 13.5 sampling ----
@pytest.mark.task("13.5")
@pytest.mark.points(4)
@pytest.mark.parametrize("temperature,top_k", [(1.0, None), (0.5, None), (2.0, 3), (1.0, 1)])
def test_sampling_follows_the_fixed_rule(temperature, top_k):
    logits = np.random.default_rng(12).standard_normal((400, 6)) * 2
    chosen = transformers.sample_next_token(logits, temperature, top_k, worker_rng(13))
    expected = ref.sample_next_token(logits, temperature, top_k, np.random.default_rng(13))
    what = f"sample_next_token(temperature={temperature}, top_k={top_k}) with seed 13"
    assert_array(chosen, expected, what, dtype=np.int64, atol=0)


@pytest.mark.task("13.5")
@pytest.mark.points(2)
def test_sampling_frequencies_greedy_and_errors():
    logits = np.tile(np.log([0.1, 0.2, 0.3, 0.4]), (20000, 1))
    chosen = transformers.sample_next_token(logits, 1.0, None, worker_rng(14))
    counts = np.bincount(np.asarray(chosen), minlength=4) / 20000
    assert np.abs(counts - [0.1, 0.2, 0.3, 0.4]).max() < 0.015, f"frequencies {counts}"
    top2 = np.bincount(transformers.sample_next_token(logits, 1.0, 2, worker_rng(15)), minlength=4)
    assert top2[:2].sum() == 0 and abs(top2[3] / 20000 - 4 / 7) < 0.015, f"top_k=2: {top2}"
    greedy = transformers.sample_next_token(np.array([[1.0, 5.0, 5.0, 0.0]]), 0.0, None, None)
    assert_array(greedy, np.array([1]), "temperature 0 takes the first argmax", dtype=np.int64)
    with pytest.raises(ValueError, match="temperature"):
        transformers.sample_next_token(logits[:2], -1.0, None, worker_rng(0))
    with pytest.raises(ValueError, match="top_k"):
        transformers.sample_next_token(logits[:2], 1.0, 0, worker_rng(0))


# ---- 13.6 the GPT and generation ----
def _gpt(seed, vocab=7, context=6, d_model=8, heads=2, layers=2, tie=False):
    model = GPT(vocab, context, d_model, heads, layers, tie_weights=tie, rng=worker_rng(seed))
    state = ref.gpt_state(vocab, context, d_model, layers, seed)
    if tie:
        state["head.weight"] = state["token_embedding.weight"]
    return model, _load(model, state)


@pytest.mark.task("13.6")
@pytest.mark.points(3)
def test_gpt_names_and_initial_values():
    model = GPT(50, 16, 32, 4, 3, rng=worker_rng(16))
    names = [n for n, _ in listed(model.named_parameters())]
    assert names[:2] == ["token_embedding.weight", "position_embedding.weight"], names[:2]
    assert names[-3:] == ["norm.weight", "norm.bias", "head.weight"], names[-3:]
    assert len(names) == 2 + 12 * 3 + 3, f"{len(names)} parameters"
    assert "blocks.2.self_attn.out_proj.weight" in names and "blocks.1.mlp.linear2.bias" in names
    state = model.state_dict()
    embedding = state["token_embedding.weight"]
    assert abs(embedding.std() - 0.02) < 0.002, f"GPT-2 init: N(0, 0.02), got {embedding.std()}"
    residual = state["blocks.0.mlp.linear2.weight"]
    assert abs(residual.std() - 0.02 / np.sqrt(6)) < 0.001, "residual projections / sqrt(2L)"
    assert not state["blocks.1.self_attn.in_proj_bias"].any(), "biases start at zero"
    assert np.array_equal(state["norm.weight"], np.ones(32)), "LayerNorm weights start at one"
    tied = GPT(50, 16, 32, 4, 1, tie_weights=True)
    count = len([p for p in listed(tied.parameters())])
    assert count == 2 + 12 + 2, f"a tied weight is listed once: {count} parameters"


@pytest.mark.task("13.6")
@pytest.mark.points(5)
@pytest.mark.parametrize("tie", [False, True])
def test_gpt_logits_match_reference(tie):
    model, state = _gpt(17, tie=tie)
    ids = np.random.default_rng(18).integers(0, 7, (3, 6))
    logits = model(Tensor(ids, dtype=np.int64))
    expected = ref.gpt_logits(state, ids, heads=2)
    assert_tensor(logits, expected, f"GPT logits (tie_weights={tie})", rtol=1e-4, atol=1e-4)
    shorter = model(Tensor(ids[:1, :2], dtype=np.int64))
    assert_tensor(shorter, expected[:1, :2], "the first 2 positions alone", rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="context_length"):
        model(Tensor(np.zeros((1, 7)), dtype=np.int64))


@pytest.mark.task("13.6")
@pytest.mark.points(4)
def test_tied_weight_gradients_add_up():
    model, state = _gpt(19, vocab=5, context=3, d_model=4, layers=1, tie=True)
    ids = np.array([[1, 3, 1]])
    weights = np.linspace(-1, 1, 15).reshape(1, 3, 5)
    model(Tensor(ids, dtype=np.int64)).backward(weights)

    def loss(value):
        values = dict(state, **{"token_embedding.weight": value, "head.weight": value})
        return float((ref.gpt_logits(values, ids, 2) * weights).sum())

    expected = central_difference(loss, state["token_embedding.weight"])
    assert_tensor(
        model.head.weight.grad, expected, "the tied weight's gradient", rtol=1e-3, atol=1e-4
    )


@pytest.mark.task("13.6")
@pytest.mark.points(5)
@pytest.mark.parametrize("temperature,top_k", [(0.0, None), (1.0, None), (0.8, 3)])
def test_generate_matches_reference_tokens(temperature, top_k):
    model, state = _gpt(20)
    prompt = np.array([[1, 2], [3, 0]])
    out = model.generate(prompt, 9, temperature=temperature, top_k=top_k, seed=21)
    expected, _ = ref.generate(state, prompt, 2, 6, 9, temperature, top_k, seed=21)
    what = f"generate 9 tokens past the context of 6 (temperature={temperature}, top_k={top_k})"
    assert_tensor(out, expected, what, dtype=np.int64, atol=0)


@pytest.mark.task("13.6")
@pytest.mark.points(2)
def test_generate_runs_in_eval_mode_without_a_graph_and_checks_its_input():
    model = GPT(7, 6, 8, 2, 1, dropout=0.5, rng=worker_rng(22))
    state = _load(model, ref.gpt_state(7, 6, 8, 1, 22))
    out = model.generate(np.array([[4]]), 5, temperature=0.0)
    expected, _ = ref.generate(state, np.array([[4]]), 2, 6, 5, temperature=0.0)
    assert_tensor(out, expected, "greedy generation with dropout=0.5 (eval mode)", dtype=np.int64)
    assert model.training, "generate must restore training mode afterwards"
    grads = [p.grad for p in listed(model.parameters())]
    assert all(grad is None for grad in grads), "generate must not record gradients"
    zero = as_array(model.generate(np.array([[4, 5]]), 0), "generate(ids, 0)")
    assert zero.tolist() == [[4, 5]], zero
    with pytest.raises(ValueError, match="ids"):
        model.generate(np.array([1, 2]), 3)
    with pytest.raises(ValueError, match="ids"):
        model.generate(np.array([[1.0, 2.0]]), 3)
