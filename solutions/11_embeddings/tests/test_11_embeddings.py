"""Visible tests for module 11 (Embeddings). Run them with `make grade MODULE=11`.

Each test names its task; the hidden tests check the same tasks over many table and id
shapes, with gradients against central differences.
Your code runs in a separate process: `student.embeddings.Embedding` is your class there,
and `assert_tensor` fetches a returned Tensor's `.data` and compares it with an array.
"""

import numpy as np
import pytest

from grader.testing.checks import as_array, assert_tensor
from grader.testing.kit import student, worker_module

emb = student.embeddings
Embedding, embedding = emb.Embedding, emb.embedding
PositionalEmbedding, SinusoidalPositionalEncoding = (
    emb.PositionalEmbedding,
    emb.SinusoidalPositionalEncoding,
)
sinusoidal_positional_encoding = emb.sinusoidal_positional_encoding
Tensor = student.tensor.Tensor

TABLE = np.arange(12, dtype=np.float32).reshape(4, 3)  # row i holds 3i, 3i + 1, 3i + 2


def ids(values):
    return Tensor(np.array(values), dtype=np.int64)


def ref_table(max_len, d):
    """PE[pos, 2i] = sin(pos / 10000^(2i/d)), PE[pos, 2i + 1] = cos(the same), here d even."""
    angle = np.arange(max_len)[:, None] / 10000 ** (np.arange(0, d, 2) / d)
    return np.stack([np.sin(angle), np.cos(angle)], axis=2).reshape(max_len, d)


@pytest.mark.task("11.1")
@pytest.mark.points(3)
def test_embedding_picks_rows_by_id():
    out = embedding(ids([[3, 0], [1, 1]]), Tensor(TABLE))
    assert_tensor(out, TABLE[[[3, 0], [1, 1]]], "embedding(ids of shape (2, 2), table)")


@pytest.mark.task("11.1")
@pytest.mark.points(1)
def test_float_ids_are_refused():
    assert_tensor(embedding(ids([2]), Tensor(TABLE)), TABLE[[2]], "embedding(int64 id 2)")
    with pytest.raises(TypeError, match="int64"):
        embedding(Tensor([1.0, 2.0]), Tensor(TABLE))


@pytest.mark.task("11.2")
@pytest.mark.points(3)
def test_repeated_ids_add_their_gradients():
    weight = Tensor(TABLE, requires_grad=True)
    embedding(ids([2, 0, 2, 2]), weight).sum().backward()
    assert_tensor(weight.grad, [[1, 1, 1], [0, 0, 0], [3, 3, 3], [0, 0, 0]], "weight.grad")


@pytest.mark.task("11.2")
@pytest.mark.points(2)
def test_the_padding_row_gets_no_gradient():
    weight = Tensor(TABLE, requires_grad=True)
    embedding(ids([0, 1, 0]), weight, padding_idx=0).sum().backward()
    assert_tensor(weight.grad, [[0, 0, 0], [1, 1, 1], [0, 0, 0], [0, 0, 0]], "weight.grad")


@pytest.mark.task("11.3")
@pytest.mark.points(3)
def test_embedding_layer_follows_pytorch():
    layer = Embedding(50, 8, padding_idx=3, rng=worker_module("numpy.random").default_rng(0))
    weight = as_array(layer.weight, "Embedding(50, 8).weight")
    assert weight.shape == (50, 8) and weight.dtype == np.float32
    assert np.all(weight[3] == 0), "the padding row must start at zero"
    assert abs(weight.std() - 1) < 0.2, "the table is drawn from N(0, 1)"
    out = layer(ids([[3, 7, 7]]))
    assert_tensor(out, weight[[[3, 7, 7]]], "Embedding(50, 8)(ids of shape (1, 3))")


@pytest.mark.task("11.4")
@pytest.mark.points(3)
def test_sinusoidal_table_of_vaswani_et_al():
    table = sinusoidal_positional_encoding(3, 4)
    assert type(table) is np.ndarray, f"the table should be a NumPy array, got {table!r}"
    assert table.dtype == np.float32, f"the table should be float32, got {table.dtype}"
    np.testing.assert_allclose(table, ref_table(3, 4), atol=1e-6)


@pytest.mark.task("11.5")
@pytest.mark.points(2)
def test_learned_positions_are_added_from_start():
    layer = PositionalEmbedding(6, 2, rng=worker_module("numpy.random").default_rng(1))
    weight = as_array(layer.weight, "PositionalEmbedding(6, 2).weight")
    x = np.ones((2, 3, 2), dtype=np.float32)
    assert_tensor(layer(Tensor(x), start=2), x + weight[2:5], "positions 2, 3, 4 added")


@pytest.mark.task("11.5")
@pytest.mark.points(2)
def test_sinusoidal_layer_adds_the_table():
    layer = SinusoidalPositionalEncoding(4, max_len=8)
    x = np.zeros((1, 5, 4), dtype=np.float32)
    expected = ref_table(5, 4)[None]
    assert_tensor(layer(Tensor(x)), expected, "SinusoidalPositionalEncoding(4)(zeros)")
    with pytest.raises(ValueError, match="max_len"):
        layer(Tensor(np.zeros((1, 9, 4))))
