"""Modules 11-12 against PyTorch: embeddings (lookup, scatter-add gradients, padding,
initialisation) and attention (scaled dot-product attention with every kind of mask,
MultiheadAttention's parameters, projections, masks and weights), with fixed seeds."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F  # noqa: N812 (PyTorch's name)

from tests.parity.compare import close, forward_and_backward, normal, pair, rng
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
    assert emb.Embedding(4, 2, padding_idx=-1).padding_idx == torch.nn.Embedding(
        4, 2, padding_idx=-1
    ).padding_idx


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
