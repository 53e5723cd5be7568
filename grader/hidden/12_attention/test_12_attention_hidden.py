"""Hidden tests for module 12 (Attention).

Attention is compared with a plain NumPy reference written here (float64, no student
code) over hypothesis-drawn batch dims, lengths, widths, masks and scales; gradients with
central differences of that reference, dropout included (the kept weights are read off
the output with an identity value matrix). MultiheadAttention gets parameters of the
test's own choosing through `load_state_dict` and is compared with a NumPy multi-head
reference. Every call on the student's functions and layers runs in the worker.

PYTEST_DONT_REWRITE: failures show the helpers' messages, never this file's source.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from grader.testing.checks import as_array, assert_array, assert_tensor, central_difference
from grader.testing.gradcheck import grad_check
from grader.testing.kit import student, worker_module, worker_rng
from grader.testing.strategies import arrays

attention = student.attention
MultiheadAttention = attention.MultiheadAttention
sdpa = attention.scaled_dot_product_attention
Tensor = student.tensor.Tensor
listed = worker_module("builtins").list  # list(...) built beside the student's code

F64 = np.float64


# ---- references (NumPy only) ----
def ref_softmax(scores):
    """Row softmax where a row of only -inf gives zeros."""
    finite = ~np.isneginf(scores)
    peak = np.where(finite, scores, -np.inf).max(axis=-1, keepdims=True, initial=-np.inf)
    peak = np.where(np.isneginf(peak), 0.0, peak)
    e = np.where(finite, np.exp(np.where(finite, scores, 0.0) - peak), 0.0)
    total = e.sum(axis=-1, keepdims=True)
    return e / np.where(total > 0, total, 1.0)


def ref_attention(q, k, v, mask=None, causal=False, scale=None, keep=None, p=0.0):
    """(output, weights) of softmax(q k^T * scale + mask) v in float64."""
    scale = 1 / np.sqrt(q.shape[-1]) if scale is None else scale
    scores = q @ np.swapaxes(k, -1, -2) * scale
    length, source = scores.shape[-2:]
    if causal:
        scores = np.where(np.tril(np.ones((length, source), dtype=bool)), scores, -np.inf)
    if mask is not None and mask.dtype == bool:
        scores = np.where(mask, scores, -np.inf)
    elif mask is not None:
        scores = scores + mask
    weights = ref_softmax(scores)
    dropped = weights if keep is None else weights * keep / (1 - p)
    return dropped @ v, weights


def ref_mha(state, query, key, value, heads, mask=None, causal=False):
    """(output, per-head weights) of multi-head attention, batch-first float64 inputs."""
    w, b = state["in_proj_weight"], state.get("in_proj_bias")
    e = w.shape[1]
    parts = []
    for i, x in enumerate((query, key, value)):
        y = x @ w[i * e : (i + 1) * e].T + (0 if b is None else b[i * e : (i + 1) * e])
        parts.append(y.reshape(y.shape[0], y.shape[1], heads, e // heads).transpose(0, 2, 1, 3))
    out, weights = ref_attention(*parts, mask=mask, causal=causal)
    merged = out.transpose(0, 2, 1, 3).reshape(query.shape[0], query.shape[1], e)
    result = merged @ state["out_proj.weight"].T
    return (result if b is None else result + state["out_proj.bias"]), weights


@st.composite
def attention_inputs(draw, max_side=4):
    """q (..., L, E), k (..., S, E), v (..., S, Ev) (k and v sometimes shared over the
    batch), a mask (None, boolean, float or causal) and a scale (None or a number)."""
    batch = draw(hnp.array_shapes(min_dims=0, max_dims=2, max_side=3))
    length, source = draw(st.integers(1, max_side)), draw(st.integers(1, max_side))
    e, ev = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    shared = draw(st.booleans())
    kv_batch = () if shared else batch
    q = draw(arrays((*batch, length, e), -2, 2))
    k = draw(arrays((*kv_batch, source, e), -2, 2))
    v = draw(arrays((*kv_batch, source, ev), -2, 2))
    kind = draw(st.sampled_from(["none", "bool", "batched bool", "float", "causal"]))
    mask = None
    if kind == "bool":
        mask = draw(hnp.arrays(bool, (length, source)))
    elif kind == "batched bool":
        mask = draw(hnp.arrays(bool, (*batch, length, source)))
    elif kind == "float":
        mask = draw(arrays((length, source), -3, 3))
    scale = draw(st.one_of(st.none(), st.floats(0.1, 2.0)))
    return q, k, v, mask, kind == "causal", scale


def _describe(q, k, v, mask, causal, scale):
    kind = "no mask" if mask is None else f"{mask.dtype} mask {mask.shape}"
    return (
        f"attention of q {q.shape}, k {k.shape}, v {v.shape}, {kind}, is_causal={causal}, "
        f"scale={scale}"
    )


# ---- 12.1 the forward ----
@pytest.mark.task("12.1")
@pytest.mark.points(6)
@given(case=attention_inputs())
def test_attention_matches_reference(case):
    q, k, v, mask, causal, scale = case
    out = sdpa(Tensor(q), Tensor(k), Tensor(v), attn_mask=mask, is_causal=causal, scale=scale)
    expected, _ = ref_attention(q.astype(F64), k.astype(F64), v.astype(F64), mask, causal, scale)
    assert_tensor(out, expected, _describe(q, k, v, mask, causal, scale), rtol=1e-4, atol=1e-5)


@pytest.mark.task("12.1")
@pytest.mark.points(2)
def test_causal_mask_is_aligned_top_left_and_combines_with_a_mask():
    rng = np.random.default_rng(1)
    q, k, v = (
        rng.standard_normal((2, 5, 3)),
        rng.standard_normal((2, 7, 3)),
        rng.standard_normal((2, 7, 2)),
    )
    out = sdpa(Tensor(q), Tensor(k), Tensor(v), is_causal=True)
    assert_tensor(out, ref_attention(q, k, v, causal=True)[0], "causal, L=5 < S=7", atol=1e-5)
    out = sdpa(Tensor(k), Tensor(q), Tensor(q), is_causal=True)
    assert_tensor(out, ref_attention(k, q, q, causal=True)[0], "causal, L=7 > S=5", atol=1e-5)
    allowed = rng.random((5, 7)) > 0.4
    out = sdpa(Tensor(q), Tensor(k), Tensor(v), attn_mask=allowed, is_causal=True)
    expected = ref_attention(q, k, v, mask=allowed, causal=True)[0]
    assert_tensor(out, expected, "a boolean mask and is_causal together", atol=1e-5)


@pytest.mark.task("12.1")
@pytest.mark.points(3)
def test_rows_with_no_key_give_zeros_and_large_scores_no_overflow():
    rng = np.random.default_rng(2)
    q, k, v = rng.standard_normal((4, 3)), rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    allowed = np.ones((4, 5), dtype=bool)
    allowed[[0, 2]] = False
    out = sdpa(Tensor(q), Tensor(k), Tensor(v), attn_mask=allowed)
    assert_tensor(
        out, ref_attention(q, k, v, mask=allowed)[0], "rows 0 and 2 fully masked", atol=1e-5
    )
    additive = np.zeros((4, 5), dtype=np.float32)
    additive[1] = -np.inf
    additive[3, :2] = -np.inf
    out = sdpa(Tensor(q), Tensor(k), Tensor(v), attn_mask=additive)
    assert_tensor(out, ref_attention(q, k, v, mask=additive)[0], "a float mask of -inf", atol=1e-5)
    causal_and_empty = np.zeros((4, 5), dtype=bool)
    out = sdpa(Tensor(q), Tensor(k), Tensor(v), attn_mask=causal_and_empty, is_causal=True)
    assert_tensor(out, np.zeros((4, 2)), "is_causal with a mask that allows nothing")
    big = q * 1000
    out = sdpa(Tensor(big), Tensor(k), Tensor(v))
    assert_tensor(out, ref_attention(big, k, v)[0], "scores near +-1000", atol=1e-4)
    none = sdpa(Tensor(q), Tensor(np.zeros((0, 3))), Tensor(np.zeros((0, 2))))
    assert_tensor(none, np.zeros((4, 2)), "attention over zero keys")


@pytest.mark.task("12.1")
@pytest.mark.points(3)
def test_dropout_zeroes_weights_and_rescales_the_rest():
    rng = np.random.default_rng(3)
    q, k = rng.standard_normal((100, 8, 4)), rng.standard_normal((100, 8, 4))
    identity = np.eye(8)  # the output is then the dropped weights themselves
    _, weights = ref_attention(q, k, identity)
    for p in (0.25, 0.5):
        out = sdpa(Tensor(q), Tensor(k), Tensor(identity), dropout_p=p, rng=worker_rng(4))
        dropped = as_array(out, f"attention with dropout_p={p}").astype(F64)
        kept = dropped != 0
        zeros = 1 - kept.mean()
        assert abs(zeros - p) < 0.03, f"dropout_p={p} zeroed {zeros:.3f} of the weights"
        np.testing.assert_allclose(dropped[kept], weights[kept] / (1 - p), rtol=1e-4, atol=1e-6)
    out = sdpa(Tensor(q), Tensor(k), Tensor(identity), dropout_p=1.0, rng=worker_rng(5))
    assert_tensor(out, np.zeros((100, 8, 8)), "dropout_p=1 drops every weight")
    out = sdpa(Tensor(q), Tensor(k), Tensor(identity), dropout_p=0.0)
    assert_tensor(out, weights, "dropout_p=0 changes nothing", atol=1e-5)


@pytest.mark.task("12.1")
@pytest.mark.points(1)
def test_bad_shapes_and_arguments_are_refused():
    x = Tensor(np.ones((2, 3)))
    assert_tensor(sdpa(x, x, x), np.ones((2, 3)), "attention of equal rows")
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(2, 4\)"):
        sdpa(x, Tensor(np.ones((2, 4))), x)
    with pytest.raises(ValueError, match="dropout_p"):
        sdpa(x, x, x, dropout_p=1.5)
    with pytest.raises(TypeError, match="attn_mask"):
        sdpa(x, x, x, attn_mask=np.ones((2, 2), dtype=np.int64))


# ---- 12.2 the fused backward ----
@pytest.mark.task("12.2")
@pytest.mark.points(8)
@settings(max_examples=25)
@given(case=attention_inputs(max_side=3))
def test_attention_gradients_match_central_differences(case):
    q, k, v, mask, causal, scale = case
    what = _describe(q, k, v, mask, causal, scale)
    if mask is not None and mask.dtype != bool:  # a float mask gets a gradient too
        grad_check(
            lambda a, b, c, m: sdpa(a, b, c, attn_mask=m, scale=scale),
            lambda a, b, c, m: ref_attention(a, b, c, mask=m, scale=scale)[0],
            q,
            k,
            v,
            mask,
            what=what,
        )
        return
    grad_check(
        lambda a, b, c: sdpa(a, b, c, attn_mask=mask, is_causal=causal, scale=scale),
        lambda a, b, c: ref_attention(a, b, c, mask=mask, causal=causal, scale=scale)[0],
        q,
        k,
        v,
        what=what,
    )


@pytest.mark.task("12.2")
@pytest.mark.points(3)
def test_dropout_gradients_use_the_same_mask():
    rng = np.random.default_rng(6)
    q, k = rng.standard_normal((2, 4, 3)), rng.standard_normal((2, 5, 3))
    identity = np.eye(5)
    seen = {}

    def attend(a, b, c):
        out = sdpa(a, b, c, dropout_p=0.4, rng=worker_rng(7))
        seen["kept"] = as_array(out, "attention with dropout") != 0  # v = I: out = weights
        return out

    def reference(a, b, c):
        return ref_attention(a, b, c, keep=seen["kept"], p=0.4)[0]

    grad_check(attend, reference, q, k, identity, what="attention with dropout_p=0.4")
    assert 0 < seen["kept"].mean() < 1, "dropout_p=0.4 should drop some weights, not all"


@pytest.mark.task("12.2")
@pytest.mark.points(2)
def test_fully_masked_rows_and_inputs_without_grad():
    rng = np.random.default_rng(8)
    q = Tensor(rng.standard_normal((3, 2)), requires_grad=True)
    k = Tensor(rng.standard_normal((4, 2)))
    v = Tensor(rng.standard_normal((4, 2)), requires_grad=True)
    allowed = np.ones((3, 4), dtype=bool)
    allowed[1] = False
    out = sdpa(q, k, v, attn_mask=allowed)
    out.sum().backward()
    q_grad = as_array(q.grad, "q.grad")
    assert not np.isnan(q_grad).any(), "a fully masked row must give no NaN gradient"
    np.testing.assert_array_equal(q_grad[1], [0.0, 0.0])
    assert k.grad is None, "a key without requires_grad must get no gradient"
    _, weights = ref_attention(
        as_array(q, "q").astype(F64), as_array(k, "k").astype(F64), np.eye(4), mask=allowed
    )
    assert_tensor(v.grad, np.repeat(weights.sum(axis=0)[:, None], 2, axis=1), "v.grad")


# ---- 12.3 MultiheadAttention's parameters ----
@pytest.mark.task("12.3")
@pytest.mark.points(3)
def test_multihead_parameters_follow_pytorch():
    layer = MultiheadAttention(64, 4, rng=worker_rng(9))
    names = [name for name, _ in listed(layer.named_parameters())]
    assert names == ["in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"], names
    weight = as_array(layer.in_proj_weight, "in_proj_weight")
    bound = np.sqrt(6 / (64 + 192))
    assert weight.shape == (192, 64) and weight.dtype == np.float32, (weight.shape, weight.dtype)
    assert bound * 0.97 < np.abs(weight).max() <= bound, (
        "Xavier uniform: U(-b, b), b = sqrt(6 / 4E)"
    )
    assert abs(weight.std() - bound / np.sqrt(3)) < 0.05 * bound
    out_weight = as_array(layer.out_proj.weight, "out_proj.weight")
    assert out_weight.shape == (64, 64) and np.abs(out_weight).max() <= 1 / 8
    assert np.abs(out_weight).max() > 0.9 / 8, "out_proj keeps Linear's U(-1/sqrt(E), 1/sqrt(E))"
    state = layer.state_dict()
    for name, size in (("in_proj_bias", 192), ("out_proj.bias", 64)):
        assert_array(state[name], np.zeros(size), f"{name} (it starts at zeros)", atol=0)
    again = as_array(MultiheadAttention(64, 4, rng=worker_rng(9)).in_proj_weight, "in_proj_weight")
    assert np.array_equal(weight, again), "the same rng seed must give the same weights"


@pytest.mark.task("12.3")
@pytest.mark.points(1)
def test_no_bias_and_bad_sizes():
    layer = MultiheadAttention(6, 3, bias=False)
    assert layer.in_proj_bias is None and layer.out_proj.bias is None
    assert [name for name, _ in listed(layer.named_parameters())] == [
        "in_proj_weight",
        "out_proj.weight",
    ]
    for embed_dim, heads in ((6, 4), (0, 1), (4, 0)):
        with pytest.raises(ValueError, match="divisible"):
            MultiheadAttention(embed_dim, heads)


# ---- 12.4 MultiheadAttention's forward ----
def _state(embed_dim, seed, bias=True):
    """Parameters chosen here (so the reference owns them), biases non-zero."""
    rng = np.random.default_rng(seed)
    state = {
        "in_proj_weight": rng.standard_normal((3 * embed_dim, embed_dim)) * 0.4,
        "out_proj.weight": rng.standard_normal((embed_dim, embed_dim)) * 0.4,
    }
    if bias:
        state["in_proj_bias"] = rng.standard_normal(3 * embed_dim) * 0.4
        state["out_proj.bias"] = rng.standard_normal(embed_dim) * 0.4
    return {name: value.astype(np.float32) for name, value in state.items()}


def _layer(embed_dim, heads, seed, bias=True, **options):
    layer = MultiheadAttention(embed_dim, heads, bias=bias, **options)
    state = _state(embed_dim, seed, bias)
    layer.load_state_dict(state)
    return layer, {name: value.astype(F64) for name, value in state.items()}


def _additive(mask):
    return np.where(mask, -np.inf, 0.0) if mask.dtype == bool else mask.astype(F64)


@pytest.mark.task("12.4")
@pytest.mark.points(4)
@pytest.mark.parametrize("batch_first", [False, True])
def test_self_attention_matches_reference(batch_first):
    layer, state = _layer(8, 2, seed=10, batch_first=batch_first)
    x = np.random.default_rng(11).standard_normal((3, 4, 8)).astype(np.float32)  # (N, L, E)
    given = x if batch_first else x.transpose(1, 0, 2)
    inputs = Tensor(given)
    out, weights = layer(inputs, inputs, inputs)
    expected, heads = ref_mha(state, x.astype(F64), x.astype(F64), x.astype(F64), 2)
    expected = expected if batch_first else expected.transpose(1, 0, 2)
    what = f"self-attention, batch_first={batch_first}"
    assert_tensor(out, expected, what, rtol=1e-4, atol=1e-5)
    assert_tensor(weights, heads.mean(axis=1), f"{what}: weights averaged over heads", atol=1e-5)


@pytest.mark.task("12.4")
@pytest.mark.points(4)
def test_cross_attention_with_masks_and_per_head_weights():
    rng = np.random.default_rng(12)
    layer, state = _layer(6, 3, seed=13, batch_first=True)
    q, kv = rng.standard_normal((2, 4, 6)), rng.standard_normal((2, 5, 6))
    ignore = rng.random((4, 5)) < 0.3  # True = ignore, as nn.MultiheadAttention
    padding = np.array([[False] * 5, [False, False, False, True, True]])
    out, weights = layer(
        Tensor(q),
        Tensor(kv),
        Tensor(kv),
        key_padding_mask=padding,
        attn_mask=ignore,
        average_attn_weights=False,
    )
    mask = _additive(ignore) + _additive(padding)[:, None, None, :]
    expected, heads = ref_mha(state, q, kv, kv, 3, mask=mask)
    what = "cross-attention (L=4, S=5) with a boolean attn_mask and key_padding_mask"
    assert_tensor(out, expected, what, rtol=1e-4, atol=1e-5)
    assert_tensor(weights, heads, f"{what}: per-head weights", atol=1e-5)
    per_head = rng.standard_normal((2 * 3, 4, 5)).astype(np.float32)
    soft_padding = np.where(padding, -1e9, 0.0).astype(np.float32)
    out, _ = layer(
        Tensor(q), Tensor(kv), Tensor(kv), key_padding_mask=soft_padding, attn_mask=per_head
    )
    mask = per_head.reshape(2, 3, 4, 5) + soft_padding[:, None, None, :]
    expected, _ = ref_mha(state, q, kv, kv, 3, mask=mask.astype(F64))
    assert_tensor(
        out, expected, "float masks, attn_mask of shape (N * H, L, S)", rtol=1e-4, atol=1e-5
    )


@pytest.mark.task("12.4")
@pytest.mark.points(3)
def test_causal_unbatched_and_without_bias():
    rng = np.random.default_rng(14)
    layer, state = _layer(4, 2, seed=15)
    x = rng.standard_normal((5, 1, 4)).astype(np.float32)  # (L, N, E)
    inputs = Tensor(x)
    out, weights = layer(inputs, inputs, inputs, is_causal=True, need_weights=False)
    assert weights is None, "need_weights=False gives (output, None)"
    xb = x.transpose(1, 0, 2).astype(F64)
    expected, _ = ref_mha(state, xb, xb, xb, 2, causal=True)
    assert_tensor(out, expected.transpose(1, 0, 2), "is_causal=True without a mask", atol=1e-5)
    hint = np.triu(np.ones((5, 5), dtype=bool), 1)
    out, _ = layer(inputs, inputs, inputs, attn_mask=hint, is_causal=True)
    assert_tensor(
        out, expected.transpose(1, 0, 2), "is_causal with the causal attn_mask", atol=1e-5
    )
    out, weights = layer(
        Tensor(x[:, 0]), Tensor(x[:, 0]), Tensor(x[:, 0]), average_attn_weights=False
    )
    expected, heads = ref_mha(state, xb, xb, xb, 2)
    assert_tensor(out, expected[0], "unbatched input (L, E)", atol=1e-5)
    assert_tensor(weights, heads[0], "unbatched per-head weights (H, L, S)", atol=1e-5)
    plain, state = _layer(4, 4, seed=16, bias=False, batch_first=True)
    out, _ = plain(Tensor(xb), Tensor(xb), Tensor(xb))
    assert_tensor(
        out, ref_mha(state, xb, xb, xb, 4)[0], "bias=False, 4 heads of width 1", atol=1e-5
    )


@pytest.mark.task("12.4")
@pytest.mark.points(4)
@pytest.mark.parametrize("same", [True, False])
def test_multihead_gradients_match_central_differences(same):
    rng = np.random.default_rng(17)
    layer, state = _layer(4, 2, seed=18, batch_first=True)
    q = rng.standard_normal((2, 3, 4)).astype(np.float32)
    kv = q if same else rng.standard_normal((2, 2, 4)).astype(np.float32)
    ignore = np.zeros((3, kv.shape[1]), dtype=bool)
    ignore[0, -1] = True
    query = Tensor(q, requires_grad=True)
    key_value = query if same else Tensor(kv, requires_grad=True)
    out, _ = layer(query, key_value, key_value, attn_mask=ignore)
    grad = np.linspace(-1, 1, out.numel()).reshape(2, 3, 4)
    out.backward(grad)
    mask = _additive(ignore)

    def loss(name, value):
        values = dict(state, **{name: value}) if name in state else state
        x = value if name == "query" else q.astype(F64)
        y = value if name == "kv" else (x if same else kv.astype(F64))
        return float((ref_mha(values, x, y, y, 2, mask=mask)[0] * grad).sum())

    tensors = {
        "query": query,
        "in_proj_weight": layer.in_proj_weight,
        "in_proj_bias": layer.in_proj_bias,
        "out_proj.weight": layer.out_proj.weight,
        "out_proj.bias": layer.out_proj.bias,
    }
    points = {"query": q.astype(F64), **state}
    if not same:
        tensors["kv"], points["kv"] = key_value, kv.astype(F64)
    for name, tensor in tensors.items():
        expected = central_difference(lambda value, name=name: loss(name, value), points[name])
        what = f"MultiheadAttention ({'self' if same else 'cross'}-attention): gradient of {name}"
        assert_tensor(tensor.grad, expected, what, rtol=1e-3, atol=1e-4)


@pytest.mark.task("12.4")
@pytest.mark.points(2)
def test_dropout_only_while_training():
    layer, state = _layer(4, 2, seed=19, dropout=1.0, batch_first=True, rng=worker_rng(20))
    x = np.random.default_rng(21).standard_normal((2, 3, 4))
    inputs = Tensor(x)
    out, _ = layer(inputs, inputs, inputs)
    expected = np.broadcast_to(state["out_proj.bias"], (2, 3, 4))
    assert_tensor(
        out, expected, "training with dropout=1: every attention weight dropped", atol=1e-6
    )
    layer.eval()
    out, _ = layer(inputs, inputs, inputs)
    assert_tensor(out, ref_mha(state, x, x, x, 2)[0], "the same layer in eval mode", atol=1e-5)


@pytest.mark.task("12.4")
@pytest.mark.points(1)
def test_wrong_shapes_get_clear_errors():
    layer = MultiheadAttention(8, 2)
    x = Tensor(np.zeros((3, 2, 8)))
    out, _ = layer(x, x, x)
    assert out.shape == (3, 2, 8), f"(L, N, E) in, (L, N, E) out: got {out.shape}"
    with pytest.raises(ValueError, match=r"embed_dim=8.*\(3, 2, 6\)"):
        layer(Tensor(np.zeros((3, 2, 6))), x, x)
    with pytest.raises(ValueError, match="same shape"):
        layer(x, x, Tensor(np.zeros((4, 2, 8))))
    with pytest.raises(ValueError, match="batch"):
        layer(x, Tensor(np.zeros((3, 5, 8))), Tensor(np.zeros((3, 5, 8))))
    with pytest.raises(ValueError, match="attn_mask"):
        layer(x, x, x, attn_mask=np.zeros((2, 3), dtype=bool))
