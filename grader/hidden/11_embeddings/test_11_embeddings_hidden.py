"""Hidden tests for module 11 (Embeddings).

Forward results are compared with plain NumPy references written here (fancy indexing,
np.add.at, the sine/cosine formula, no student code); the table's gradient with central
differences of those references, over hypothesis-drawn tables and id shapes, repeated
ids and padding rows. Every call on the student's functions and layers runs in the worker.

PYTEST_DONT_REWRITE: failures show the helpers' messages, never this file's source.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from grader.testing.checks import as_array, assert_array, assert_tensor
from grader.testing.gradcheck import grad_check
from grader.testing.kit import student, worker_module, worker_rng
from grader.testing.strategies import arrays

emb = student.embeddings
Embedding, embedding = emb.Embedding, emb.embedding
PositionalEmbedding, SinusoidalPositionalEncoding = (
    emb.PositionalEmbedding,
    emb.SinusoidalPositionalEncoding,
)
sinusoidal_positional_encoding = emb.sinusoidal_positional_encoding
Tensor = student.tensor.Tensor
listed = worker_module("builtins").list  # list(...) built beside the student's code

F64 = np.float64


def int_ids(values, dtype=np.int64):
    return Tensor(np.asarray(values), dtype=dtype)


# ---- references (NumPy only) ----
def ref_scatter(ids, grad, rows, padding_idx=None):
    """Gradient of the table: every occurrence of an id adds its output gradient."""
    out = np.zeros((rows, grad.shape[-1]), dtype=F64)
    np.add.at(out, np.asarray(ids).reshape(-1), grad.reshape(-1, grad.shape[-1]))
    if padding_idx is not None:
        out[padding_idx] = 0
    return out


def ref_table(max_len, d):
    """Vaswani et al.: column 2i is sin(pos * w_i), column 2i + 1 is cos(pos * w_i)."""
    table = np.zeros((max_len, d), dtype=F64)
    for pos in range(max_len):
        for column in range(d):
            angle = pos / 10000 ** ((column - column % 2) / d)
            table[pos, column] = np.sin(angle) if column % 2 == 0 else np.cos(angle)
    return table


@st.composite
def tables_and_ids(draw, max_rows=6):
    """A float32 table (rows, d) and an int array of ids (0-3 dims) with repeats likely."""
    rows, d = draw(st.integers(1, max_rows)), draw(st.integers(1, 4))
    table = draw(arrays((rows, d), -3, 3))
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4))
    ids = draw(hnp.arrays(np.int64, shape, elements=st.integers(0, rows - 1)))
    return table, ids


# ---- 11.1 the lookup ----
@pytest.mark.task("11.1")
@pytest.mark.points(5)
@given(case=tables_and_ids())
def test_embedding_equals_fancy_indexing(case):
    table, ids = case
    out = embedding(int_ids(ids), Tensor(table))
    assert_tensor(out, table[ids], f"embedding of ids {ids.shape} in a table {table.shape}", 0, 0)


@pytest.mark.task("11.1")
@pytest.mark.points(2)
def test_embedding_takes_int32_ids_and_arrays_and_keeps_float64():
    table = np.arange(10, dtype=F64).reshape(5, 2)
    out = embedding(int_ids([[4, 0, 4]], np.int32), Tensor(table, dtype=F64))
    assert_tensor(out, table[[[4, 0, 4]]], "embedding with int32 ids, float64 table", dtype=F64)
    out = embedding(np.array([1, 3]), Tensor(table.astype(np.float32)))
    assert_tensor(out, table[[1, 3]], "embedding with an integer NumPy array of ids")


@pytest.mark.task("11.1")
@pytest.mark.points(2)
def test_bad_ids_get_clear_errors():
    table = Tensor(np.arange(8.0).reshape(4, 2))
    assert_tensor(embedding(int_ids([3, 0]), table), [[6, 7], [0, 1]], "the ids 3 and 0")
    with pytest.raises(TypeError, match="int64"):
        embedding(Tensor([0.0, 2.7]), table)
    with pytest.raises(TypeError, match="integer"):
        embedding(Tensor([True, False]), table)
    with pytest.raises(IndexError, match="4"):
        embedding(int_ids([0, 4]), table)
    with pytest.raises(IndexError, match="-1"):
        embedding(int_ids([-1, 2]), table)
    with pytest.raises(ValueError, match="embedding_dim"):
        embedding(int_ids([0]), Tensor(np.zeros(4)))


# ---- 11.2 the backward ----
@pytest.mark.task("11.2")
@pytest.mark.points(6)
@settings(max_examples=20)
@given(case=tables_and_ids(), padding=st.one_of(st.none(), st.integers(-6, 5)))
def test_embedding_gradient_matches_central_differences(case, padding):
    table, ids = case
    rows = table.shape[0]
    padding = None if padding is None or not -rows <= padding < rows else padding

    def reference(weight):
        return weight[ids]

    what = f"embedding of ids {ids.tolist()} in a table {table.shape}, padding_idx={padding}"
    if padding is None:
        grad_check(lambda w: embedding(int_ids(ids), w), reference, table, what=what)
        return
    # the padding row gets no gradient: compare with the scatter-add, that row zeroed
    weight = Tensor(table.astype(F64), dtype=F64, requires_grad=True)
    out = embedding(int_ids(ids), weight, padding_idx=padding)
    assert_tensor(out, table.astype(F64)[ids], f"{what}: forward", dtype=F64)
    grad = np.linspace(0.5, 1.5, out.numel()).reshape(tuple(out.shape))
    out.backward(grad)
    expected = ref_scatter(ids, grad.reshape(*ids.shape, table.shape[1]), rows, padding % rows)
    assert_tensor(weight.grad, expected, f"{what}: weight gradient", dtype=F64)


@pytest.mark.task("11.2")
@pytest.mark.points(3)
def test_every_occurrence_of_a_repeated_id_adds_up():
    rng = np.random.default_rng(1)
    ids = rng.integers(0, 7, size=(16, 9))
    ids[:, 0] = 5  # one id many times
    weight = Tensor(rng.standard_normal((7, 3)).astype(np.float32), requires_grad=True)
    grad = rng.standard_normal((16, 9, 3)).astype(np.float32)
    embedding(int_ids(ids), weight).backward(grad)
    expected = ref_scatter(ids, grad.astype(F64), 7)
    assert_tensor(weight.grad, expected, "weight.grad with repeated ids", atol=1e-5)


@pytest.mark.task("11.2")
@pytest.mark.points(3)
def test_padding_row_gets_no_gradient_and_ids_none():
    rng = np.random.default_rng(2)
    ids = np.array([[0, 3, 3], [3, 1, 0]])
    values = rng.standard_normal((4, 2)).astype(np.float32)
    weight = Tensor(values, requires_grad=True)
    id_tensor = int_ids(ids)
    out = embedding(id_tensor, weight, padding_idx=-1)  # row 3
    assert_tensor(out, values[ids], "embedding with padding_idx=-1 keeps the row's values")
    grad = rng.standard_normal((2, 3, 2)).astype(np.float32)
    out.backward(grad)
    assert_tensor(weight.grad, ref_scatter(ids, grad, 4, 3), "weight.grad, padding_idx=-1")
    assert id_tensor.grad is None, "the ids must get no gradient"
    embedding(id_tensor, weight, padding_idx=0).backward(grad)
    twice = ref_scatter(ids, grad, 4, 3) + ref_scatter(ids, grad, 4, 0)
    assert_tensor(weight.grad, twice, "weight.grad accumulated over two backward calls")


@pytest.mark.task("11.2")
@pytest.mark.points(1)
def test_empty_ids_give_an_empty_output_and_zero_gradient():
    weight = Tensor(np.ones((3, 2)), requires_grad=True)
    out = embedding(int_ids(np.zeros((2, 0), dtype=np.int64)), weight)
    assert_tensor(out, np.zeros((2, 0, 2)), "embedding of ids of shape (2, 0)")
    out.sum().backward()
    assert_tensor(weight.grad, np.zeros((3, 2)), "weight.grad when no id was looked up")


# ---- 11.3 the layer ----
@pytest.mark.task("11.3")
@pytest.mark.points(3)
def test_embedding_layer_initialization_follows_pytorch():
    layer = Embedding(400, 50, rng=worker_rng(3))
    weight = as_array(layer.weight, "Embedding(400, 50).weight")
    assert weight.shape == (400, 50) and weight.dtype == np.float32, (weight.shape, weight.dtype)
    assert abs(weight.mean()) < 0.02 and abs(weight.std() - 1) < 0.02, "N(0, 1) values"
    assert np.abs(weight).max() > 3.5, "a normal distribution, not a uniform one"
    assert [name for name, _ in listed(layer.named_parameters())] == ["weight"]
    assert layer.num_embeddings == 400 and layer.embedding_dim == 50
    assert layer.padding_idx is None
    again = as_array(Embedding(400, 50, rng=worker_rng(3)).weight, "Embedding(400, 50).weight")
    assert np.array_equal(weight, again), "the same rng seed must give the same table"


@pytest.mark.task("11.3")
@pytest.mark.points(2)
def test_padding_row_starts_at_zero_and_stays_there():
    layer = Embedding(6, 4, padding_idx=-2, rng=worker_rng(4))
    assert layer.padding_idx == 4, f"padding_idx=-2 of 6 rows is row 4, got {layer.padding_idx}"
    weight = as_array(layer.weight, "Embedding(6, 4, padding_idx=-2).weight")
    assert np.all(weight[4] == 0) and np.all(weight[[0, 1, 2, 3, 5]] != 0)
    ids = np.array([[4, 1, 4, 2]])
    out = layer(int_ids(ids))
    assert_tensor(out, weight[ids], "Embedding(6, 4)(ids)")
    out.sum().backward()
    expected = ref_scatter(ids, np.ones((1, 4, 4)), 6, 4)
    assert_tensor(layer.weight.grad, expected, "weight.grad of the layer, padding row zero")


@pytest.mark.task("11.3")
@pytest.mark.points(1)
def test_layer_arguments_are_checked():
    with pytest.raises(ValueError, match="padding_idx"):
        Embedding(5, 2, padding_idx=5)
    with pytest.raises(ValueError, match="embedding_dim"):
        Embedding(5, 0)
    with pytest.raises(IndexError, match="5"):
        Embedding(5, 2)(int_ids([5]))


# ---- 11.4 the sinusoidal table ----
@pytest.mark.task("11.4")
@pytest.mark.points(5)
@given(max_len=st.integers(0, 12), d=st.integers(1, 9))
def test_sinusoidal_table_matches_the_formula(max_len, d):
    table = sinusoidal_positional_encoding(max_len, d)
    what = f"sinusoidal_positional_encoding({max_len}, {d})"
    assert_array(table, ref_table(max_len, d), what, rtol=1e-5, atol=1e-6)


@pytest.mark.task("11.4")
@pytest.mark.points(2)
def test_sinusoidal_table_of_a_long_context():
    table = sinusoidal_positional_encoding(2048, 64)
    positions = np.arange(2048, dtype=F64)[:, None]
    rates = 1 / 10000 ** (np.arange(0, 64, 2) / 64)
    assert_array(table[:, 0::2], np.sin(positions * rates), "the sine columns", atol=2e-4)
    assert_array(table[:, 1::2], np.cos(positions * rates), "the cosine columns", atol=2e-4)


# ---- 11.5 the positional layers ----
@pytest.mark.task("11.5")
@pytest.mark.points(4)
@settings(max_examples=15)
@given(data=st.data())
def test_learned_positions_forward_and_gradients(data):
    max_len, d = data.draw(st.integers(1, 6)), data.draw(st.integers(1, 3))
    length = data.draw(st.integers(1, max_len))
    start = data.draw(st.integers(0, max_len - length))
    batch = data.draw(hnp.array_shapes(min_dims=0, max_dims=2, max_side=3))
    x = data.draw(arrays((*batch, length, d), -3, 3))
    layer = PositionalEmbedding(max_len, d, rng=worker_rng(5))
    table = as_array(layer.weight, f"PositionalEmbedding({max_len}, {d}).weight").astype(F64)
    what = f"PositionalEmbedding({max_len}, {d}) of {x.shape}, start={start}"
    inputs = Tensor(x, requires_grad=True)
    out = layer(inputs, start=start)
    expected = x.astype(F64) + table[start : start + length]
    assert_tensor(out, expected, f"{what}: forward", atol=1e-5)
    grad = np.linspace(-1, 1, expected.size).reshape(expected.shape).astype(np.float32)
    out.backward(grad)
    assert_tensor(inputs.grad, grad, f"{what}: gradient of x")
    expected_table = np.zeros((max_len, d))
    expected_table[start : start + length] = grad.reshape(-1, length, d).sum(axis=0)
    assert_tensor(layer.weight.grad, expected_table, f"{what}: gradient of weight", atol=1e-5)


@pytest.mark.task("11.5")
@pytest.mark.points(3)
def test_sinusoidal_layer_is_fixed_and_passes_gradients():
    layer = SinusoidalPositionalEncoding(6, max_len=20)
    assert listed(layer.parameters()) == [], "the sinusoidal encoding has no parameters"
    assert set(layer.state_dict()) == {"pe"}, "the table is a buffer named pe"
    x = np.random.default_rng(6).standard_normal((2, 3, 7, 6)).astype(np.float32)
    inputs = Tensor(x, requires_grad=True)
    out = layer(inputs, start=13)
    assert_tensor(out, x + ref_table(20, 6)[13:20], "x + PE[13:20]", atol=1e-5)
    out.sum().backward()
    assert_tensor(inputs.grad, np.ones_like(x), "the gradient of x passes through")
    wide = layer(Tensor(x.astype(F64), dtype=F64))
    assert_tensor(wide, x + ref_table(20, 6)[:7], "float64 input", atol=1e-5, dtype=F64)


@pytest.mark.task("11.5")
@pytest.mark.points(1)
def test_positions_past_max_len_are_refused():
    for layer in (PositionalEmbedding(4, 2), SinusoidalPositionalEncoding(2, max_len=4)):
        layer(Tensor(np.zeros((1, 4, 2))))
        with pytest.raises(ValueError, match="max_len"):
            layer(Tensor(np.zeros((1, 5, 2))))
        with pytest.raises(ValueError, match="max_len"):
            layer(Tensor(np.zeros((1, 2, 2))), start=3)
        with pytest.raises(ValueError, match=r"\(\*, L, 2\)"):
            layer(Tensor(np.zeros((1, 2, 3))))
