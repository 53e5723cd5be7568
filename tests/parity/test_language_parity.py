"""Modules 11-12 against PyTorch: embeddings (lookup, scatter-add gradients, padding,
initialisation) and attention (scaled dot-product attention with every kind of mask,
MultiheadAttention's parameters, projections, masks and weights), with fixed seeds."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F  # noqa: N812 (PyTorch's name)

from tests.parity.compare import close, forward_and_backward, normal, pair, rng
from tinytorch.core import attention as attn
from tinytorch.core import embeddings as emb
from tinytorch.core.tensor import Tensor

F32 = np.float32


def token_ids(seed: int, rows: int, *shape: int) -> np.ndarray:
    return rng(seed).integers(0, rows, size=shape).astype(np.int64)


# ---------------------------------------------------------------- 11 embeddings
@pytest.mark.parametrize("padding_idx", [None, 0, 3, -1])
@pytest.mark.parametrize("shape", [(7,), (4, 9), (2, 3, 5), ()])
def test_embedding_lookup_and_scatter_add(shape, padding_idx):
    """F.embedding: the rows, and the table's gradient with repeated ids and padding."""
    ids = token_ids(1, 6, *shape)
    ids.reshape(-1)[:2] = 3  # a repeat, and the padding row 3 looked up when it is padding

    def ours(weight):
        return emb.embedding(Tensor(ids, dtype=np.int64), weight, padding_idx=padding_idx)

    def theirs(weight):
        return F.embedding(torch.tensor(ids), weight, padding_idx=padding_idx)

    forward_and_backward(ours, theirs, [normal(2, 6, 4)], f"embedding {shape} pad {padding_idx}")


def test_embedding_layer_matches_torch():
    """nn.Embedding with our table: names, forward, gradient, padding row zeroed at init."""
    ours = emb.Embedding(10, 5, padding_idx=2, rng=rng(3))
    theirs = torch.nn.Embedding(10, 5, padding_idx=2)
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert ours.weight.data.dtype == F32 and not ours.weight.data[2].any()
    ids = token_ids(4, 10, 3, 8)
    out_ours, out_theirs = ours(Tensor(ids, dtype=np.int64)), theirs(torch.tensor(ids))
    close(out_ours, out_theirs, "Embedding forward")
    w = normal(5, 3, 8, 5)
    (out_ours * Tensor(w)).sum().backward()
    (out_theirs * torch.tensor(w)).sum().backward()
    close(ours.weight.grad, theirs.weight.grad, "Embedding weight.grad", atol=1e-5)


def test_embedding_initialisation_statistics():
    """Both draw N(0, 1) (different numbers, same distribution) and zero the padding row."""
    ours = emb.Embedding(500, 64, padding_idx=-1, rng=rng(6)).weight.data
    theirs = torch.nn.Embedding(500, 64, padding_idx=-1).weight.detach().numpy()
    for table in (ours, theirs):
        assert abs(table.mean()) < 0.02 and abs(table.std() - 1) < 0.02
        assert not table[499].any()


def test_embedding_errors_where_torch_errors():
    """Float ids and ids outside the table fail in both (our error types are listed as a
    departure); negative padding_idx counts from the end in both."""
    table = normal(7, 4, 2)
    with pytest.raises(RuntimeError):
        F.embedding(torch.tensor([0.0, 1.0]), torch.tensor(table))
    with pytest.raises(TypeError):
        emb.embedding(Tensor([0.0, 1.0]), Tensor(table))
    with pytest.raises(IndexError):
        F.embedding(torch.tensor([4]), torch.tensor(table))
    with pytest.raises(IndexError):
        emb.embedding(Tensor([4], dtype=np.int64), Tensor(table))
    assert (
        emb.Embedding(4, 2, padding_idx=-1).padding_idx
        == torch.nn.Embedding(4, 2, padding_idx=-1).padding_idx
    )


def test_learned_positions_equal_an_embedding_of_positions():
    """PositionalEmbedding(x, start) is x + nn.Embedding(max_len, d)(arange(start, start+L))."""
    ours = emb.PositionalEmbedding(12, 6, rng=rng(8))
    theirs = torch.nn.Embedding(12, 6)
    theirs.load_state_dict({"weight": torch.tensor(ours.weight.data)})
    x_ours, x_theirs = pair(normal(9, 2, 5, 6))
    out_ours = ours(x_ours, start=4)
    out_theirs = x_theirs + theirs(torch.arange(4, 9))
    close(out_ours, out_theirs, "PositionalEmbedding forward")
    w = normal(10, 2, 5, 6)
    (out_ours * Tensor(w)).sum().backward()
    (out_theirs * torch.tensor(w)).sum().backward()
    close(ours.weight.grad, theirs.weight.grad, "PositionalEmbedding weight.grad", atol=1e-5)
    close(x_ours.grad, x_theirs.grad, "PositionalEmbedding input gradient")


# ---------------------------------------------------------------- 12 attention
ATTENTION_CASES = {
    "plain": {},
    "causal": {"is_causal": True},
    "scale": {"scale": 0.37},
    "bool mask": {"attn_mask": rng(20).random((5, 6)) > 0.3},
    "batched bool mask": {"attn_mask": rng(21).random((2, 3, 5, 6)) > 0.5},
    "float mask": {"attn_mask": normal(22, 5, 6)},
    "fully masked rows": {"attn_mask": np.arange(30).reshape(5, 6) % 5 > 1},
    "-inf rows": {"attn_mask": np.where(np.arange(5)[:, None] == 2, -np.inf, 0).astype(F32)},
}


@pytest.mark.parametrize("case", ATTENTION_CASES, ids=list(ATTENTION_CASES))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_scaled_dot_product_attention(case, dtype):
    """F.scaled_dot_product_attention: forward and the gradients of q, k and v, for each
    kind of mask (PyTorch 2.13 also gives fully masked rows zeros, as ours)."""
    options = ATTENTION_CASES[case]
    mask = options.get("attn_mask")
    if mask is not None and mask.dtype != bool:
        mask = mask.astype(dtype)
    ours_options = {**options, "attn_mask": mask}
    theirs_options = {**options, "attn_mask": None if mask is None else torch.tensor(mask)}
    inputs = [normal(23, 2, 3, 5, 4), normal(24, 2, 3, 6, 4), normal(25, 2, 3, 6, 7)]

    def ours(q, k, v):
        return attn.scaled_dot_product_attention(q, k, v, **ours_options)

    def theirs(q, k, v):
        return F.scaled_dot_product_attention(q, k, v, **theirs_options)

    tolerance = 1e-5 if dtype == np.float32 else 1e-10
    forward_and_backward(
        ours,
        theirs,
        [x.astype(dtype) for x in inputs],
        f"sdpa {case} {dtype.__name__}",
        rtol=tolerance,
        atol=tolerance,
    )


def test_attention_over_shared_keys_and_a_learned_float_mask():
    """Keys and values broadcast over the batch, and a float mask that requires grad."""
    inputs = [normal(26, 3, 4, 5), normal(27, 6, 5), normal(28, 6, 2), normal(29, 4, 6)]
    forward_and_backward(
        lambda q, k, v, m: attn.scaled_dot_product_attention(q, k, v, attn_mask=m),
        lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m),
        inputs,
        "sdpa with shared keys and a learned mask",
        atol=1e-5,
    )


def mha_pair(embed_dim, heads, batch_first, bias=True, seed=30):
    ours = attn.MultiheadAttention(
        embed_dim, heads, bias=bias, batch_first=batch_first, rng=rng(seed)
    )
    theirs = torch.nn.MultiheadAttention(embed_dim, heads, bias=bias, batch_first=batch_first)
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    return ours, theirs


MHA_CASES = {
    "self": {},
    "bool attn_mask": {"attn_mask": np.triu(np.ones((4, 4), dtype=bool), 1)},
    "key_padding_mask": {"key_padding_mask": np.array([[0, 0, 0, 1], [0, 1, 1, 1]], bool)},
    "float masks": {
        "attn_mask": normal(31, 2 * 2, 4, 4),
        "key_padding_mask": normal(32, 2, 4),
    },
    "per-head weights": {"average_attn_weights": False},
}


@pytest.mark.parametrize("case", MHA_CASES, ids=list(MHA_CASES))
@pytest.mark.parametrize("batch_first", [False, True])
def test_multihead_attention(case, batch_first):
    """nn.MultiheadAttention with our parameters: output, weights, and the gradients of the
    input and of every parameter (same names, same order)."""
    ours, theirs = mha_pair(6, 2, batch_first)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    options = MHA_CASES[case]
    x = normal(33, 2, 4, 6) if batch_first else normal(33, 4, 2, 6)
    x_ours, x_theirs = pair(x)
    out_ours, w_ours = ours(x_ours, x_ours, x_ours, **options)
    torch_options = {
        k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in options.items()
    }
    out_theirs, w_theirs = theirs(x_theirs, x_theirs, x_theirs, **torch_options)
    close(out_ours, out_theirs, f"MHA {case}: output", atol=1e-5)
    close(w_ours, w_theirs, f"MHA {case}: weights", atol=1e-6)
    g = normal(34, *x.shape)
    (out_ours * Tensor(g)).sum().backward()
    (out_theirs * torch.tensor(g)).sum().backward()
    close(x_ours.grad, x_theirs.grad, f"MHA {case}: input gradient", atol=1e-5)
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters(), strict=True):
        close(p.grad, q.grad, f"MHA {case}: {name}.grad", atol=1e-5)


def test_multihead_cross_attention_unbatched_and_without_bias():
    """Cross-attention (L != S) on unbatched inputs, need_weights=False, bias=False; and the
    causal hint with its mask."""
    ours, theirs = mha_pair(8, 4, batch_first=False, bias=False, seed=35)
    q, kv = normal(36, 3, 8), normal(37, 5, 8)
    out_ours, none = ours(Tensor(q), Tensor(kv), Tensor(kv), need_weights=False)
    out_theirs, _ = theirs(torch.tensor(q), torch.tensor(kv), torch.tensor(kv), need_weights=False)
    assert none is None
    close(out_ours, out_theirs, "MHA unbatched cross-attention, bias=False", atol=1e-5)
    causal = np.triu(np.ones((3, 3), dtype=bool), 1)
    x = normal(38, 3, 2, 8)
    out_ours, w_ours = ours(Tensor(x), Tensor(x), Tensor(x), attn_mask=causal, is_causal=True)
    t = torch.tensor(x)
    out_theirs, w_theirs = theirs(t, t, t, attn_mask=torch.tensor(causal), is_causal=True)
    close(out_ours, out_theirs, "MHA with the causal hint", atol=1e-5)
    close(w_ours, w_theirs, "MHA with the causal hint: weights", atol=1e-6)


def test_multihead_initialisation_statistics():
    """Xavier-uniform in_proj_weight, zero biases, Linear's out_proj.weight: same bounds."""
    ours, _ = mha_pair(64, 4, batch_first=True)
    theirs = torch.nn.MultiheadAttention(64, 4)
    for model in (ours, theirs):
        state = {
            k: np.asarray(v.detach().numpy() if hasattr(v, "detach") else v)
            for k, v in model.state_dict().items()
        }
        bound = np.sqrt(6 / (64 + 192))
        assert bound * 0.97 < np.abs(state["in_proj_weight"]).max() <= bound
        assert not state["in_proj_bias"].any() and not state["out_proj.bias"].any()
        assert 0.9 / 8 < np.abs(state["out_proj.weight"]).max() <= 1 / 8


def test_the_listed_departures_hold():
    """Where we differ on purpose (departures.py): a fully masked query row of
    MultiheadAttention is NaN in PyTorch and zeros here; attn_mask with is_causal is an
    error for float64 in PyTorch and both masks here."""
    ours, theirs = mha_pair(4, 2, batch_first=True)
    x = normal(40, 1, 3, 4)
    ignore = np.zeros((3, 3), dtype=bool)
    ignore[1] = True
    t = torch.tensor(x)
    out_theirs, w_theirs = theirs(t, t, t, attn_mask=torch.tensor(ignore))
    assert torch.isnan(out_theirs[0, 1]).all() and torch.isnan(w_theirs[0, 1]).all()
    out_ours, w_ours = ours(Tensor(x), Tensor(x), Tensor(x), attn_mask=ignore)
    assert not np.isnan(out_ours.data).any() and not w_ours.data[0, 1].any()
    keep = ~ignore
    q = normal(41, 3, 4).astype(np.float64)
    with pytest.raises(RuntimeError):
        F.scaled_dot_product_attention(*[torch.tensor(q)] * 3, torch.tensor(keep), is_causal=True)
    both = attn.scaled_dot_product_attention(
        *[Tensor(q, dtype=np.float64)] * 3, keep, is_causal=True
    )
    mask = torch.tensor(keep & np.tril(np.ones((3, 3), dtype=bool)))
    close(both, F.scaled_dot_product_attention(*[torch.tensor(q)] * 3, mask), "both masks")
