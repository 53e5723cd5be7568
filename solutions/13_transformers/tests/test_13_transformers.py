"""Visible tests for module 13 (Transformers). Run them with `make grade MODULE=13`.

Each test names its task; the hidden tests check the same tasks over more shapes, with
gradients against central differences and a whole GPT against a NumPy reference.
Your code runs in a separate process: `student.transformers.GPT` is your class there, and
`assert_tensor` fetches a returned Tensor's `.data` and compares it with an array.
"""

import numpy as np
import pytest

from grader.testing.checks import as_array, assert_array, assert_tensor
from grader.testing.kit import student, worker_module

transformers = student.transformers
LayerNorm = transformers.LayerNorm
GPT = transformers.GPT
Tensor = student.tensor.Tensor
listed = worker_module("builtins").list  # list(...) built beside your code

X = np.array([[1.0, 2.0, 3.0, 4.0], [2.0, 2.0, 2.0, 6.0]], dtype=np.float32)


def normalized(x, eps=1e-5):
    mean = x.mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(x.var(axis=-1, keepdims=True) + eps)


@pytest.mark.task("13.1")
@pytest.mark.points(3)
def test_layer_norm_gives_mean_zero_variance_one():
    out = transformers.layer_norm(Tensor(X), 4)
    assert_tensor(out, normalized(X), "layer_norm of two rows", atol=1e-5)
    weight, bias = np.array([1.0, 2.0, 3.0, 4.0]), np.array([0.5, 0.0, -0.5, 1.0])
    out = transformers.layer_norm(Tensor(X), (4,), Tensor(weight), Tensor(bias))
    assert_tensor(out, normalized(X) * weight + bias, "with weight and bias", atol=1e-5)


@pytest.mark.task("13.2")
@pytest.mark.points(3)
def test_layer_norm_gradients_of_a_weighted_sum():
    x = Tensor(X, requires_grad=True)
    weight = Tensor(np.array([1.0, 2.0, 3.0, 4.0]), requires_grad=True)
    bias = Tensor(np.zeros(4), requires_grad=True)
    grad = np.array([[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]], dtype=np.float32)
    transformers.layer_norm(x, 4, weight, bias).backward(grad)
    xhat = normalized(X)
    assert_tensor(bias.grad, grad.sum(axis=0), "bias.grad")
    assert_tensor(weight.grad, (grad * xhat).sum(axis=0), "weight.grad", atol=1e-5)
    g = grad * np.array([1.0, 2.0, 3.0, 4.0])
    rstd = 1 / np.sqrt(X.var(axis=-1, keepdims=True) + 1e-5)
    expected = rstd * (g - g.mean(-1, keepdims=True) - xhat * (g * xhat).mean(-1, keepdims=True))
    assert_tensor(x.grad, expected, "x.grad", atol=1e-4)


@pytest.mark.task("13.3")
@pytest.mark.points(2)
def test_layer_norm_layer_has_pytorch_parameters():
    layer = LayerNorm(4)
    shapes = {name: tuple(p.shape) for name, p in listed(layer.named_parameters())}
    assert shapes == {"weight": (4,), "bias": (4,)}, shapes
    assert_tensor(layer.weight, np.ones(4), "weight starts at ones")
    assert_tensor(layer(Tensor(X)), normalized(X), "a fresh LayerNorm only normalizes", atol=1e-5)
    plain = [p for p in listed(LayerNorm(4, elementwise_affine=False).parameters())]
    assert plain == [], "elementwise_affine=False: no parameters"


@pytest.mark.task("13.4")
@pytest.mark.points(3)
def test_block_keeps_the_shape_and_is_causal():
    rng = worker_module("numpy.random").default_rng(0)
    block = transformers.TransformerBlock(8, 2, rng=rng)
    x = np.random.default_rng(1).standard_normal((2, 5, 8)).astype(np.float32)
    out = as_array(block(Tensor(x)), "the block's output")
    assert out.shape == (2, 5, 8), f"(N, L, d_model) in and out: got {out.shape}"
    changed = x.copy()
    changed[:, 3:] += 1.0  # positions 3 and 4 change
    again = as_array(block(Tensor(changed)), "the block on changed later positions")
    np.testing.assert_allclose(again[:, :3], out[:, :3], rtol=1e-5, atol=1e-6)
    assert not np.allclose(again[:, 3:], out[:, 3:]), "later positions must see the change"


@pytest.mark.task("13.5")
@pytest.mark.points(2)
def test_greedy_and_top_1_take_the_argmax():
    logits = np.array([[0.0, 3.0, 1.0], [2.0, 0.0, 5.0]])
    rng = worker_module("numpy.random").default_rng(0)
    chosen = transformers.sample_next_token(logits, 0.0, None, rng)
    assert_array(chosen, np.array([1, 2]), "temperature 0", dtype=np.int64)
    chosen = transformers.sample_next_token(logits, 1.0, 1, rng)
    assert_array(chosen, np.array([1, 2]), "top_k=1", dtype=np.int64)


@pytest.mark.task("13.6")
@pytest.mark.points(2)
def test_gpt_gives_logits_for_every_position():
    model = GPT(11, 8, 8, 2, 2, rng=worker_module("numpy.random").default_rng(2))
    ids = Tensor(np.array([[1, 2, 3], [4, 5, 6]]), dtype=np.int64)
    logits = model(ids)
    assert logits.shape == (2, 3, 11), f"(N, L, vocab_size): got {logits.shape}"
    tied = GPT(11, 8, 8, 2, 2, tie_weights=True)
    assert tied.head.weight is tied.token_embedding.weight, "tie_weights shares the Parameter"


@pytest.mark.task("13.6")
@pytest.mark.points(2)
def test_generate_appends_tokens_and_a_seed_repeats_them():
    model = GPT(11, 8, 8, 2, 1, rng=worker_module("numpy.random").default_rng(3))
    prompt = np.array([[1, 2]])
    first = as_array(model.generate(prompt, 10, seed=4), "generate(prompt, 10, seed=4)")
    assert first.shape == (1, 12), f"prompt and 10 new tokens: got {first.shape}"
    assert first[0, :2].tolist() == [1, 2], "the prompt comes first"
    again = as_array(model.generate(prompt, 10, seed=4), "the same call again")
    assert np.array_equal(first, again), "the same seed must give the same tokens"
