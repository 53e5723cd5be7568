"""Hidden tests for module 01 (Tensor): properties against NumPy over many shapes.

Every call on `Tensor` runs in the worker; expected values are computed here with NumPy.
PYTEST_DONT_REWRITE: failures show the helpers' messages, never this file's source.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from grader.testing.checks import assert_tensor
from grader.testing.kit import student, worker_module
from grader.testing.strategies import (
    array_and_dim,
    arrays,
    broadcastable_pairs,
    matmul_pairs,
    permutations_of,
    shapes,
)

tensor = student.tensor
Tensor, cat, stack, where = tensor.Tensor, tensor.cat, tensor.stack, tensor.where

# One row per binary op: (name, tinytorch op on two operands, NumPy reference).
BINARY_OPS = [
    ("add", lambda a, b: a + b, np.add),
    ("sub", lambda a, b: a - b, np.subtract),
    ("mul", lambda a, b: a * b, np.multiply),
    ("div", lambda a, b: a / b, np.divide),
]


@pytest.mark.task("01.1")
@pytest.mark.points(2)
@given(arrays(low=-1e3, high=1e3).map(lambda a: a.astype(np.float64)))
def test_constructor_casts_float64_to_float32(values):
    assert_tensor(Tensor(values), values.astype(np.float32), "Tensor(float64 array)")


@pytest.mark.task("01.1")
@pytest.mark.points(1)
def test_constructor_handles_scalars_and_empty_data():
    assert_tensor(Tensor(3.5), np.array(3.5), "Tensor(3.5)")
    assert_tensor(Tensor([]), np.zeros((0,)), "Tensor([])")
    assert_tensor(Tensor(Tensor([1, 2])), np.array([1, 2]), "Tensor(Tensor([1, 2]))")


@pytest.mark.task("01.2")
@pytest.mark.points(3)
@pytest.mark.parametrize("name, op, reference", BINARY_OPS, ids=[row[0] for row in BINARY_OPS])
@given(pair=broadcastable_pairs(low=0.5, high=10.0))
def test_binary_ops_broadcast_like_numpy(name, op, reference, pair):
    a, b = pair
    assert_tensor(
        op(Tensor(a), Tensor(b)), reference(a, b), f"{name} of shapes {a.shape} and {b.shape}"
    )


@pytest.mark.task("01.2")
@pytest.mark.points(2)
@pytest.mark.parametrize("name, op, reference", BINARY_OPS, ids=[row[0] for row in BINARY_OPS])
@given(values=arrays(low=0.5, high=10.0), number=st.floats(0.5, 10.0))
def test_numbers_work_on_both_sides_and_keep_float32(name, op, reference, values, number):
    x = Tensor(values)
    assert_tensor(op(x, number), reference(values, np.float32(number)), f"x {name} number")
    assert_tensor(op(number, x), reference(np.float32(number), values), f"number {name} x")


@pytest.mark.task("01.2")
@pytest.mark.points(1)
@given(arrays())
def test_negation(values):
    assert_tensor(-Tensor(values), -values, "-x")


@pytest.mark.task("01.2")
@pytest.mark.points(2)
def test_mismatched_shapes_raise_a_clear_error():
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4,\)"):
        Tensor(np.ones((2, 3))) + Tensor(np.ones(4))
    with pytest.raises(ValueError, match=r"\(3,\).*\(2, 2\)"):
        Tensor(np.ones(3)) * Tensor(np.ones((2, 2)))
    # Shapes that do broadcast still work: (2, 3) + (3,).
    row = np.array([1.0, 2.0, 3.0])
    assert_tensor(Tensor(np.ones((2, 3))) + Tensor(row), np.ones((2, 3)) + row, "(2, 3) + (3,)")


@pytest.mark.task("01.2")
@pytest.mark.points(1)
def test_division_by_zero_gives_inf_like_pytorch():
    result = Tensor([1.0, -1.0, 0.0]) / Tensor([0.0, 0.0, 0.0])
    assert_tensor(result, np.array([np.inf, -np.inf, np.nan]), "[1, -1, 0] / 0")


@pytest.mark.task("01.3")
@pytest.mark.points(2)
@given(arrays(low=-20, high=20))
def test_exp_matches_numpy(values):
    assert_tensor(Tensor(values).exp(), np.exp(values), "exp(x)", rtol=1e-5)


@pytest.mark.task("01.3")
@pytest.mark.points(2)
@given(arrays(low=1e-3, high=1e3))
def test_log_matches_numpy(values):
    assert_tensor(Tensor(values).log(), np.log(values), "log(x)", rtol=1e-5)


@pytest.mark.task("01.3")
@pytest.mark.points(1)
def test_extreme_inputs_give_inf_not_errors():
    assert_tensor(Tensor([1000.0]).exp(), np.array([np.inf]), "exp(1000)")
    assert_tensor(Tensor([0.0]).log(), np.array([-np.inf]), "log(0)")


@pytest.mark.task("01.3")
@pytest.mark.points(3)
@pytest.mark.parametrize("exponent", [2, 3, 0.5, -1, 1.5])
@given(values=arrays(low=0.1, high=5.0))
def test_powers_match_numpy(exponent, values):
    expected = np.power(values.astype(np.float64), exponent)
    assert_tensor(Tensor(values) ** exponent, expected, f"x ** {exponent}", rtol=1e-5)


@pytest.mark.task("01.3")
@pytest.mark.points(1)
@given(values=arrays(low=-10, high=10), low=st.floats(-5, 0), high=st.floats(0, 5))
def test_clamp_matches_numpy(values, low, high):
    x = Tensor(values)
    assert_tensor(
        x.clamp(min=low, max=high),
        np.clip(values, np.float32(low), np.float32(high)),
        "clamp(min, max)",
    )
    assert_tensor(x.clamp(min=low), np.maximum(values, np.float32(low)), "clamp(min=...)")
    assert_tensor(x.clamp(max=high), np.minimum(values, np.float32(high)), "clamp(max=...)")


@pytest.mark.task("01.4")
@pytest.mark.points(3)
@given(matmul_pairs())
def test_matmul_matches_numpy_for_vectors_matrices_and_batches(pair):
    a, b = pair
    expected = np.matmul(a.astype(np.float64), b.astype(np.float64))
    assert_tensor(
        Tensor(a) @ Tensor(b), expected, f"matmul of {a.shape} and {b.shape}", rtol=1e-4, atol=1e-4
    )
    assert_tensor(Tensor(a).matmul(Tensor(b)), expected, "a.matmul(b)", rtol=1e-4, atol=1e-4)


@pytest.mark.task("01.4")
@pytest.mark.points(1)
def test_matmul_rejects_scalars_and_mismatched_inner_dims():
    with pytest.raises(ValueError, match=r"\(3, 4\).*\(5, 2\)"):
        Tensor(np.ones((3, 4))) @ Tensor(np.ones((5, 2)))
    with pytest.raises(ValueError):
        Tensor(2.0) @ Tensor(np.ones(3))
    a, b = np.arange(12.0).reshape(3, 4), np.arange(8.0).reshape(4, 2)
    assert_tensor(Tensor(a) @ Tensor(b), a @ b, "(3, 4) @ (4, 2)")


@pytest.mark.task("01.5")
@pytest.mark.points(3)
@pytest.mark.parametrize("keepdim", [False, True])
@given(case=array_and_dim())
def test_sum_and_mean_match_numpy(keepdim, case):
    values, dim = case
    axis = dim
    reference = values.astype(np.float64)
    assert_tensor(
        Tensor(values).sum(dim=dim, keepdim=keepdim),
        reference.sum(axis=axis, keepdims=keepdim),
        f"sum(dim={dim}, keepdim={keepdim})",
        rtol=1e-4,
        atol=1e-4,
    )
    assert_tensor(
        Tensor(values).mean(dim=dim, keepdim=keepdim),
        reference.mean(axis=axis, keepdims=keepdim),
        f"mean(dim={dim}, keepdim={keepdim})",
        rtol=1e-4,
        atol=1e-4,
    )


@pytest.mark.task("01.5")
@pytest.mark.points(2)
@pytest.mark.parametrize("keepdim", [False, True])
@given(case=array_and_dim())
def test_max_and_min_match_numpy(keepdim, case):
    values, dim = case
    assert_tensor(
        Tensor(values).max(dim=dim, keepdim=keepdim),
        values.max(axis=dim, keepdims=keepdim),
        f"max(dim={dim}, keepdim={keepdim})",
    )
    assert_tensor(
        Tensor(values).min(dim=dim, keepdim=keepdim),
        values.min(axis=dim, keepdims=keepdim),
        f"min(dim={dim}, keepdim={keepdim})",
    )


@pytest.mark.task("01.5")
@pytest.mark.points(1)
def test_reductions_of_scalars_and_bad_dims():
    assert_tensor(Tensor(4.0).sum(), np.array(4.0), "Tensor(4.0).sum()")
    assert_tensor(Tensor(np.zeros((0, 3))).sum(dim=0), np.zeros(3), "sum over an empty dim")
    with pytest.raises(IndexError):
        Tensor(np.ones((2, 3))).sum(dim=2)


@pytest.mark.task("01.5")
@pytest.mark.points(1)
def test_argmax_returns_integer_indices():
    x = Tensor([[1.0, 9.0, 3.0], [7.0, 2.0, 5.0]])
    assert_tensor(x.argmax(dim=1), np.array([1, 0]), "argmax(dim=1)", dtype=np.int64)
    assert_tensor(x.sum(dim=0), np.array([8, 11, 8]), "sum(dim=0)")


@pytest.mark.task("01.6")
@pytest.mark.points(2)
@given(case=permutations_of())
def test_permute_then_inverse_permute_round_trips(case):
    values, order = case
    inverse = tuple(np.argsort(order))
    permuted = Tensor(values).permute(*order)
    assert_tensor(permuted, np.transpose(values, order), f"permute{order}")
    assert_tensor(permuted.permute(*inverse), values, "permute back")


@pytest.mark.task("01.6")
@pytest.mark.points(2)
@given(values=arrays(shapes(min_dims=1)))
def test_reshape_round_trips_and_flatten(values):
    flat = Tensor(values).reshape(-1)
    assert_tensor(flat, values.reshape(-1), "reshape(-1)")
    assert_tensor(flat.reshape(values.shape), values, "reshape back")
    assert_tensor(Tensor(values).flatten(), values.reshape(-1), "flatten()")


@pytest.mark.task("01.6")
@pytest.mark.points(1)
@given(values=arrays(shapes(min_dims=2)))
def test_transpose_twice_is_identity(values):
    once = Tensor(values).transpose(0, -1)
    assert_tensor(once, np.swapaxes(values, 0, -1), "transpose(0, -1)")
    assert_tensor(once.transpose(0, -1), values, "transpose twice")


@pytest.mark.task("01.6")
@pytest.mark.points(1)
def test_reshape_to_a_wrong_size_names_the_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\)"):
        Tensor(np.ones((2, 3))).reshape(4, 2)
    values = np.arange(6.0).reshape(2, 3)
    assert_tensor(Tensor(values).reshape(3, 2), values.reshape(3, 2), "reshape(3, 2) of (2, 3)")


@pytest.mark.task("01.6")
@pytest.mark.points(1)
def test_unsqueeze_and_squeeze():
    x = Tensor(np.ones((3, 4)))
    assert x.unsqueeze(0).shape == (1, 3, 4)
    assert x.unsqueeze(-1).shape == (3, 4, 1)
    assert_tensor(x.unsqueeze(1).squeeze(1), np.ones((3, 4)), "unsqueeze(1).squeeze(1)")


@pytest.mark.task("01.7")
@pytest.mark.points(2)
@given(values=arrays(shapes(min_dims=2, min_side=2)), data=st.data())
def test_indexing_matches_numpy(values, data):
    row = data.draw(st.integers(-values.shape[0], values.shape[0] - 1))
    stop = data.draw(st.integers(1, values.shape[1]))
    picks = data.draw(st.lists(st.integers(0, values.shape[0] - 1), min_size=1, max_size=4))
    x = Tensor(values)
    assert_tensor(x[row], values[row], f"x[{row}]")
    assert_tensor(x[:, :stop], values[:, :stop], f"x[:, :{stop}]")
    assert_tensor(x[np.array(picks)], values[np.array(picks)], f"x[{picks}]")
    assert_tensor(x[Tensor(picks, dtype=np.int64)], values[np.array(picks)], "x[int64 Tensor]")
    assert_tensor(x[values > 0], values[values > 0], "x[boolean mask]")


@pytest.mark.task("01.7")
@pytest.mark.points(2)
@given(values=arrays(shapes(min_dims=1, max_dims=3)), data=st.data())
def test_cat_and_stack_match_numpy(values, data):
    dim = data.draw(st.integers(0, values.ndim - 1))
    other = values * 2
    assert_tensor(
        cat([Tensor(values), Tensor(other)], dim=dim),
        np.concatenate([values, other], axis=dim),
        f"cat(dim={dim})",
    )
    assert_tensor(
        stack([Tensor(values), Tensor(other)], dim=dim),
        np.stack([values, other], axis=dim),
        f"stack(dim={dim})",
    )


@pytest.mark.task("01.7")
@pytest.mark.points(1)
@given(pair=broadcastable_pairs())
def test_where_selects_elementwise(pair):
    a, b = pair
    condition = a > 0
    assert_tensor(
        where(condition, Tensor(a), Tensor(b)), np.where(condition, a, b), "where(a > 0, a, b)"
    )


# ---- agreement with PyTorch at the edges (issue: PyTorch parity) ----


@pytest.mark.task("01.1")
@pytest.mark.points(1)
@given(values=arrays(shapes(min_dims=1)))
def test_booleans_stay_boolean_and_mask_like_pytorch(values):
    mask = values > 0
    assert_tensor(Tensor(mask), mask, "Tensor(boolean array)", dtype=np.bool_)
    assert_tensor(Tensor(values)[Tensor(mask)], values[mask], "x[Tensor(mask)]")


@pytest.mark.task("01.3")
@pytest.mark.points(2)
@pytest.mark.parametrize("exponent", [0, 1, 2, 3, -2, 2.5])
def test_powers_at_the_fast_paths_and_their_neighbours(exponent):
    values = np.array([-2.0, -0.5, 0.0, 0.5, 3.0], dtype=np.float32)
    if exponent == 2.5:
        values = np.abs(values)
    with np.errstate(divide="ignore"):
        expected = np.power(values.astype(np.float64), exponent)
    assert_tensor(Tensor(values) ** exponent, expected, f"x ** {exponent}", rtol=1e-6)


@pytest.mark.task("01.2")
@pytest.mark.points(1)
def test_integer_tensors_promote_like_pytorch():
    ints = Tensor([1, 2, 3], dtype=np.int64)
    expected = np.array([3.5, 4.5, 5.5])
    assert_tensor(ints + 2.5, expected, "int64 tensor + 2.5 (float32, as PyTorch)")
    assert_tensor(2.5 + ints, expected, "2.5 + int64 tensor (float32, as PyTorch)")
    assert_tensor(ints + 2, np.array([3, 4, 5]), "int64 tensor + 2", dtype=np.int64)
    assert_tensor(ints / 2, np.array([0.5, 1.0, 1.5]), "int64 tensor / 2 (true division)")
    assert_tensor(ints * Tensor([0.5]), np.array([0.5, 1.0, 1.5]), "int64 * float32 tensor")


@pytest.mark.task("01.5")
@pytest.mark.points(1)
def test_reductions_over_an_empty_dim_list_and_repeated_dims():
    values = np.arange(6, dtype=np.float32).reshape(2, 3)
    assert_tensor(Tensor(values).sum(dim=()), np.array(15.0), "sum(dim=()) reduces everything")
    with pytest.raises(ValueError, match="appears multiple times"):
        Tensor(values).sum(dim=(0, 0))
    with pytest.raises(ValueError, match="appears multiple times"):
        Tensor(values).sum(dim=(1, -1))


# (name, a call at the edge of the valid dims with its shape, calls just past the edge),
# on a tensor of shape (2, 1, 3).
DIM_EDGES = [
    ("unsqueeze", lambda x: x.unsqueeze(3), (2, 1, 3, 1), [lambda x: x.unsqueeze(4)]),
    ("unsqueeze_negative", lambda x: x.unsqueeze(-4), (1, 2, 1, 3), [lambda x: x.unsqueeze(-5)]),
    ("squeeze", lambda x: x.squeeze(-2), (2, 3), [lambda x: x.squeeze(3), lambda x: x.squeeze(-4)]),
    (
        "flatten",
        lambda x: x.flatten(-2, -1),
        (2, 3),
        [lambda x: x.flatten(3), lambda x: x.flatten(0, -4)],
    ),
]


@pytest.mark.task("01.6")
@pytest.mark.points(1)
@pytest.mark.parametrize("name, edge, shape, beyond", DIM_EDGES, ids=[row[0] for row in DIM_EDGES])
def test_shape_dims_work_to_the_edge_of_their_range_and_raise_past_it(name, edge, shape, beyond):
    x = Tensor(np.arange(6, dtype=np.float32).reshape(2, 1, 3))
    assert_tensor(edge(x), np.arange(6).reshape(shape), f"{name} at the edge of its dims")
    for call in beyond:
        with pytest.raises(IndexError, match="out of range"):
            call(x)


@pytest.mark.task("01.7")
@pytest.mark.points(1)
def test_float_index_tensors_are_refused_like_pytorch():
    x = Tensor(np.arange(6, dtype=np.float32))
    with pytest.raises(IndexError, match="integer or boolean"):
        x[Tensor([0.0, 2.0])]
    assert_tensor(x[Tensor([0, 2], dtype=np.int64)], np.array([0.0, 2.0]), "x[int64 tensor]")


# ---- comparisons (Task 01.8): operators run in the worker via its `operator` module ----

# One row per comparison: (name, the `operator` function, NumPy reference).
COMPARISONS = [
    ("eq", "eq", np.equal),
    ("ne", "ne", np.not_equal),
    ("lt", "lt", np.less),
    ("le", "le", np.less_equal),
    ("gt", "gt", np.greater),
    ("ge", "ge", np.greater_equal),
]
COMPARISON_IDS = [row[0] for row in COMPARISONS]
# Small whole numbers, so that equal elements (where == and <= differ from <) are common.
whole_pairs = broadcastable_pairs(low=-3.0, high=3.0).map(lambda pair: tuple(map(np.round, pair)))


@pytest.mark.task("01.8")
@pytest.mark.points(1)
@pytest.mark.parametrize("name, op, reference", COMPARISONS, ids=COMPARISON_IDS)
@given(pair=whole_pairs, number=st.integers(-3, 3))
def test_comparisons_broadcast_and_take_numbers_and_arrays_on_either_side(
    name, op, reference, pair, number
):
    a, b = pair
    compare = getattr(worker_module("operator"), op)
    x = Tensor(a)
    got = compare(x, Tensor(b))
    assert_tensor(got, reference(a, b), f"{name} of shapes {a.shape} and {b.shape}", dtype=bool)
    assert_tensor(compare(x, number), reference(a, number), f"x {name} number", dtype=bool)
    assert_tensor(compare(number, x), reference(number, a), f"number {name} x", dtype=bool)
    assert_tensor(compare(b, x), reference(b, a), f"array {name} x", dtype=bool)
    labels = Tensor(a.astype(np.int64), dtype=np.int64)
    half = number + 0.5
    assert_tensor(
        compare(labels, half), reference(a, half), f"int tensor {name} {half}", dtype=bool
    )


@pytest.mark.task("01.8")
@pytest.mark.points(1)
def test_comparisons_have_no_gradient_and_tensors_stay_hashable():
    values = np.array([-1.0, 0.0, 2.0], dtype=np.float32)
    x = Tensor(values, requires_grad=True)
    positive = x > 0
    assert_tensor(positive, values > 0, "x > 0 with x.requires_grad", dtype=bool)
    if positive.requires_grad is not False or positive.grad is not None:
        raise AssertionError("x > 0 must not require grad: a comparison has no gradient")
    builtins = worker_module("builtins")
    y = Tensor(values)
    if builtins.len(builtins.set([x, y, x])) != 2:
        raise AssertionError(
            "set([x, y, x]) must hold 2 tensors: tensors hash by identity, as in PyTorch "
            "(defining __eq__ removes __hash__ unless you keep it)"
        )


@pytest.mark.task("01.8")
@pytest.mark.points(1)
def test_comparing_shapes_that_do_not_broadcast_names_them():
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(2,\)"):
        _ = Tensor(np.ones((2, 3))) > Tensor(np.ones(2))
    assert_tensor(
        Tensor(np.ones((2, 3))) > Tensor(np.zeros(3)), np.ones((2, 3), bool), "a > b", dtype=bool
    )
