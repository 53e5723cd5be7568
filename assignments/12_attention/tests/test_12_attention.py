"""Visible tests for module 12 (Attention). Run them with `make grade MODULE=12`.

Each test names its task; the hidden tests check the same tasks over many shapes and
masks, with gradients against central differences.
Your code runs in a separate process: `student.attention.MultiheadAttention` is your class
there, and `assert_tensor` fetches a returned Tensor's `.data` and compares it with an array.
"""

import numpy as np
import pytest

from grader.testing.checks import as_array, assert_tensor
from grader.testing.kit import student, worker_module

attention = student.attention
MultiheadAttention = attention.MultiheadAttention
scaled_dot_product_attention = attention.scaled_dot_product_attention
Tensor = student.tensor.Tensor

Q = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype=np.float32)  # L = 3, E = 2
K = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)  # S = 2
V = np.array([[10.0, 0.0], [0.0, 10.0]], dtype=np.float32)


def softmax_rows(scores):
    e = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@pytest.mark.task("12.1")
@pytest.mark.points(3)
def test_attention_averages_values_by_softmax_of_scaled_scores():
    out = scaled_dot_product_attention(Tensor(Q), Tensor(K), Tensor(V))
    weights = softmax_rows(Q @ K.T / np.sqrt(2))
    assert_tensor(out, weights @ V, "attention of 3 queries over 2 keys")


@pytest.mark.task("12.1")
@pytest.mark.points(2)
def test_boolean_mask_and_causal_flag():
    allowed = np.array([[True, False], [True, True], [False, True]])
    out = scaled_dot_product_attention(Tensor(Q), Tensor(K), Tensor(V), attn_mask=allowed)
    scores = np.where(allowed, Q @ K.T / np.sqrt(2), -np.inf)
    assert_tensor(out, softmax_rows(scores) @ V, "attention with a boolean mask")
    x = Tensor(Q)
    out = scaled_dot_product_attention(x, x, x, is_causal=True)
    assert_tensor(out[0], Q[0], "the first query may look only at itself")


@pytest.mark.task("12.1")
@pytest.mark.points(2)
def test_a_query_with_no_key_gets_zeros_not_nan():
    nothing = np.array([[True, True], [False, False], [True, False]])
    out = scaled_dot_product_attention(Tensor(Q), Tensor(K), Tensor(V), attn_mask=nothing)
    data = as_array(out, "attention with a fully masked row")
    assert not np.isnan(data).any(), "a fully masked row must not give NaN"
    np.testing.assert_allclose(data[1], [0.0, 0.0])


@pytest.mark.task("12.2")
@pytest.mark.points(3)
def test_attention_gradients_of_a_sum():
    q = Tensor(Q, requires_grad=True)
    k = Tensor(K, requires_grad=True)
    v = Tensor(V, requires_grad=True)
    scaled_dot_product_attention(q, k, v).sum().backward()
    weights = softmax_rows(Q @ K.T / np.sqrt(2))
    # d sum(P V) / dV is the column sum of P, the same for every value column
    assert_tensor(v.grad, np.repeat(weights.sum(axis=0)[:, None], 2, axis=1), "v.grad")
    d_weights = np.ones((3, 2)) @ V.T
    d_scores = weights * (d_weights - (d_weights * weights).sum(axis=1, keepdims=True))
    assert_tensor(q.grad, d_scores @ K / np.sqrt(2), "q.grad", atol=1e-5)
    assert_tensor(k.grad, d_scores.T @ Q / np.sqrt(2), "k.grad", atol=1e-5)


@pytest.mark.task("12.3")
@pytest.mark.points(2)
def test_multihead_attention_has_pytorch_parameters():
    layer = MultiheadAttention(8, 2, rng=worker_module("numpy.random").default_rng(0))
    listed = worker_module("builtins").list  # list(...) built beside your code
    shapes = {name: tuple(p.shape) for name, p in listed(layer.named_parameters())}
    assert shapes == {
        "in_proj_weight": (24, 8),
        "in_proj_bias": (24,),
        "out_proj.weight": (8, 8),
        "out_proj.bias": (8,),
    }, shapes
    assert not as_array(layer.in_proj_bias, "in_proj_bias").any(), "in_proj_bias starts at 0"


@pytest.mark.task("12.4")
@pytest.mark.points(3)
def test_multihead_attention_shapes_and_weights():
    layer = MultiheadAttention(8, 2, batch_first=True)
    x = Tensor(np.random.default_rng(1).standard_normal((4, 5, 8)))
    out, weights = layer(x, x, x)
    assert out.shape == (4, 5, 8), f"output shape: got {out.shape}"
    data = as_array(weights, "the attention weights")
    assert data.shape == (4, 5, 5), f"weights averaged over heads: got {data.shape}"
    np.testing.assert_allclose(data.sum(axis=-1), np.ones((4, 5)), rtol=1e-5)
    out, weights = layer(x, x, x, need_weights=False)
    assert weights is None, "need_weights=False returns (output, None)"
    with pytest.raises(ValueError, match="embed_dim"):
        MultiheadAttention(8, 3)
