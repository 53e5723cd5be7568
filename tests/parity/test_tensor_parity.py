"""Module 01 (Tensor) and module 05 (its gradients) against PyTorch: one table of ops,
random inputs with fixed seeds, forward values and gradients, and the edges (kinks,
zeros, empty tensors, extreme values, dtypes, errors)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.parity.compare import close, forward_and_backward, normal, pair, rng
from tinytorch.core import tensor as tt

F32 = np.float32


def positive(seed: int, *shape: int) -> np.ndarray:
    return rng(seed).uniform(0.5, 3.0, size=shape).astype(F32)


# (name, tinytorch, torch, inputs): every row is compared forward and backward.
BINARY_SHAPES = [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 4), (3, 1)), ((), (5,))]
ROWS = []
for left, right in BINARY_SHAPES:
    for op, fn in [
        ("add", lambda a, b: a + b),
        ("sub", lambda a, b: a - b),
        ("mul", lambda a, b: a * b),
        ("div", lambda a, b: a / b),
    ]:
        ROWS.append((f"{op}{left}{right}", fn, fn, (normal(1, *left), positive(2, *right))))
for exponent in (0, 1, 2, 3, -1, 0.5, 2.5, -1.5):
    ROWS.append(
        (
            f"pow{exponent}",
            lambda x, p=exponent: x**p,
            lambda x, p=exponent: x**p,
            (positive(3, 4, 5),),
        )
    )
for exponent in (0, 1, 2, 3):  # integer powers of negative numbers and of zero
    values = np.array([-2.0, -0.5, 0.0, 0.5, 2.0], dtype=F32)
    ROWS.append(
        (
            f"pow{exponent}_at_zero",
            lambda x, p=exponent: x**p,
            lambda x, p=exponent: x**p,
            (values,),
        )
    )
ROWS += [
    ("neg", lambda x: -x, lambda x: -x, (normal(4, 3, 4),)),
    ("exp", lambda x: x.exp(), torch.exp, (normal(5, 3, 4),)),
    ("log", lambda x: x.log(), torch.log, (positive(6, 3, 4),)),
    ("sqrt", lambda x: x.sqrt(), torch.sqrt, (positive(7, 3, 4),)),
    (
        "clamp",
        lambda x: x.clamp(min=-0.5, max=0.5),
        lambda x: x.clamp(min=-0.5, max=0.5),
        (normal(8, 4, 5),),
    ),
    (
        "clamp_at_bounds",
        lambda x: x.clamp(min=-0.5, max=0.5),
        lambda x: x.clamp(min=-0.5, max=0.5),
        (np.array([-0.5, 0.0, 0.5, 1.0], dtype=F32),),
    ),
    (
        "clamp_min_only",
        lambda x: x.clamp(min=0.0),
        lambda x: x.clamp(min=0.0),
        (np.array([-1.0, 0.0, 2.0], dtype=F32),),
    ),
    ("matmul_vv", lambda a, b: a @ b, lambda a, b: a @ b, (normal(9, 5), normal(10, 5))),
    ("matmul_mv", lambda a, b: a @ b, lambda a, b: a @ b, (normal(11, 3, 5), normal(12, 5))),
    ("matmul_vm", lambda a, b: a @ b, lambda a, b: a @ b, (normal(13, 5), normal(14, 5, 2))),
    ("matmul_mm", lambda a, b: a @ b, lambda a, b: a @ b, (normal(15, 3, 5), normal(16, 5, 2))),
    (
        "matmul_batch",
        lambda a, b: a @ b,
        lambda a, b: a @ b,
        (normal(17, 2, 3, 5), normal(18, 5, 4)),
    ),
    ("sum_all", lambda x: x.sum(), lambda x: x.sum(), (normal(19, 3, 4),)),
    ("sum_dim", lambda x: x.sum(dim=1), lambda x: x.sum(dim=1), (normal(20, 3, 4, 2),)),
    (
        "sum_dims_keepdim",
        lambda x: x.sum(dim=(0, 2), keepdim=True),
        lambda x: x.sum(dim=(0, 2), keepdim=True),
        (normal(21, 3, 4, 2),),
    ),
    ("sum_empty_dims", lambda x: x.sum(dim=()), lambda x: x.sum(dim=()), (normal(22, 3, 4),)),
    ("mean_dim", lambda x: x.mean(dim=-1), lambda x: x.mean(dim=-1), (normal(23, 3, 4),)),
    ("max_all", lambda x: x.max(), lambda x: x.max(), (normal(24, 3, 4),)),
    ("max_dim", lambda x: x.max(dim=1), lambda x: x.max(dim=1).values, (normal(25, 3, 4),)),
    (
        "min_dim_keepdim",
        lambda x: x.min(dim=0, keepdim=True),
        lambda x: x.min(dim=0, keepdim=True).values,
        (normal(26, 3, 4),),
    ),
    ("reshape", lambda x: x.reshape(4, -1), lambda x: x.reshape(4, -1), (normal(27, 2, 6),)),
    ("permute", lambda x: x.permute(2, 0, 1), lambda x: x.permute(2, 0, 1), (normal(28, 2, 3, 4),)),
    ("transpose", lambda x: x.transpose(0, 2), lambda x: x.transpose(0, 2), (normal(29, 2, 3, 4),)),
    ("T", lambda x: x.T, lambda x: x.T, (normal(30, 3, 4),)),
    ("flatten", lambda x: x.flatten(1), lambda x: x.flatten(1), (normal(31, 2, 3, 4),)),
    ("unsqueeze", lambda x: x.unsqueeze(-1), lambda x: x.unsqueeze(-1), (normal(32, 3, 4),)),
    ("squeeze", lambda x: x.squeeze(1), lambda x: x.squeeze(1), (normal(33, 3, 1, 4),)),
    ("squeeze_all", lambda x: x.squeeze(), lambda x: x.squeeze(), (normal(34, 1, 3, 1),)),
    ("getitem_int", lambda x: x[1], lambda x: x[1], (normal(35, 3, 4),)),
    ("getitem_slice", lambda x: x[:, 1:3], lambda x: x[:, 1:3], (normal(36, 3, 4),)),
    (
        "getitem_repeated_rows",
        lambda x: x[np.array([0, 2, 0])],
        lambda x: x[torch.tensor([0, 2, 0])],
        (normal(37, 3, 4),),
    ),
    ("getitem_mask", lambda x: x[x.data > 0], lambda x: x[x > 0], (normal(38, 3, 4),)),
    (
        "getitem_ellipsis_none",
        lambda x: x[..., None, 0],
        lambda x: x[..., None, 0],
        (normal(39, 2, 3),),
    ),
    (
        "cat",
        lambda a, b: tt.cat([a, b], dim=1),
        lambda a, b: torch.cat([a, b], dim=1),
        (normal(40, 2, 3), normal(41, 2, 2)),
    ),
    (
        "stack",
        lambda a, b: tt.stack([a, b], dim=-1),
        lambda a, b: torch.stack([a, b], dim=-1),
        (normal(42, 2, 3), normal(43, 2, 3)),
    ),
    (
        "where",
        lambda a, b: tt.where(a.data > 0, a, b),
        lambda a, b: torch.where(a > 0, a, b),
        (normal(44, 3, 4), normal(45, 3, 4)),
    ),
]


@pytest.mark.parametrize("name, ours, theirs, inputs", ROWS, ids=[row[0] for row in ROWS])
def test_ops_match_pytorch_forward_and_backward(name, ours, theirs, inputs):
    forward_and_backward(ours, theirs, inputs, name, rtol=1e-5, atol=1e-5)


def test_max_with_ties_splits_the_gradient_like_pytorch_amax():
    values = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]], dtype=F32)
    forward_and_backward(lambda x: x.max(dim=1), lambda x: x.amax(dim=1), [values], "max ties")
    forward_and_backward(lambda x: x.max(), lambda x: x.amax(), [values], "max() ties")


@pytest.mark.parametrize(
    "values",
    [np.array([1e30, -1e30, 0.0], dtype=F32), np.array([88.0, 89.0, -104.0], dtype=F32)],
    ids=["huge", "exp-overflow"],
)
def test_extreme_values_give_the_same_inf_and_nan(values):
    ours, theirs = pair(values, grad=False)
    with np.errstate(over="ignore"):  # the overflow to inf is what is compared
        close(ours.exp(), theirs.exp(), "exp of extremes")
        close(ours * ours, theirs * theirs, "square of extremes")
    close((ours.clamp(min=1e-45)).log(), theirs.clamp(min=1e-45).log(), "log near 0")


def test_empty_tensors():
    ours, theirs = pair(np.zeros((0, 3), dtype=F32), grad=False)
    close(ours.sum(), theirs.sum(), "sum of an empty tensor")
    close(ours.sum(dim=0), theirs.sum(dim=0), "sum over an empty dim")
    close(ours.reshape(3, 0), theirs.reshape(3, 0), "reshape of an empty tensor")
    close(tt.cat([ours, ours]), torch.cat([theirs, theirs]), "cat of empty tensors")


def test_dtypes_follow_pytorch_promotion():
    ints = np.array([1, 2, 3], dtype=np.int64)
    ours, theirs = tt.Tensor(ints, dtype=np.int64), torch.tensor(ints)
    for op in (
        lambda a: a + 2.5,
        lambda a: 2.5 * a,
        lambda a: a + 2,
        lambda a: a / 2,
        lambda a: a * tt.Tensor([0.5]) if isinstance(a, tt.Tensor) else a * torch.tensor([0.5]),
    ):
        close(op(ours), op(theirs), "integer tensor promotion")
    mask = np.array([True, False, True])
    close(tt.Tensor(mask), torch.tensor(mask), "a boolean tensor stays boolean")


# tinytorch follows Python's conventions where PyTorch raises its catch-all RuntimeError:
# a wrong shape or argument is a ValueError (listed in departures.py).
@pytest.mark.parametrize(
    "call, ours, theirs",
    [
        (lambda m, x: x.unsqueeze(3), IndexError, IndexError),
        (lambda m, x: x.squeeze(2), IndexError, IndexError),
        (lambda m, x: x.flatten(2), IndexError, IndexError),
        (lambda m, x: x.sum(dim=2), IndexError, IndexError),
        (
            lambda m, x: x[m.tensor([0.0]) if m is torch else m.Tensor([0.0])],
            IndexError,
            IndexError,
        ),
        (lambda m, x: x.sum(dim=(0, 0)), ValueError, RuntimeError),
        (lambda m, x: x.permute(0, 0), ValueError, RuntimeError),
        (lambda m, x: x.reshape(4, 4), ValueError, RuntimeError),
        (lambda m, x: x @ (m.ones(2) if m is torch else m.ones(2)), ValueError, RuntimeError),
    ],
    ids=[
        "unsqueeze",
        "squeeze",
        "flatten",
        "sum-dim",
        "float-index",
        "repeated-dim",
        "permute",
        "reshape",
        "matmul",
    ],
)
def test_the_same_mistakes_raise_errors(call, ours, theirs):
    values = np.ones((2, 3), dtype=F32)
    with pytest.raises(theirs):
        call(torch, torch.tensor(values))
    with pytest.raises(ours):
        call(tt, tt.Tensor(values))


def test_factories_match_pytorch():
    close(tt.zeros(2, 3), torch.zeros(2, 3), "zeros")
    close(tt.ones(4), torch.ones(4), "ones")
    close(tt.full((2, 2), 1.5), torch.full((2, 2), 1.5), "full")
    close(tt.arange(0.0, 2.0, 0.5), torch.arange(0.0, 2.0, 0.5), "arange with float steps")
    close(tt.arange(5), torch.arange(5).float(), "arange(5) (float32: a departure)")
    assert tt.zeros(2, requires_grad=True).requires_grad


def test_random_factories_have_pytorchs_distributions():
    generator = torch.Generator().manual_seed(0)
    ours = tt.randn(200_000, rng=rng(0)).data
    theirs = torch.randn(200_000, generator=generator).numpy()
    assert ours.dtype == theirs.dtype == np.float32
    assert abs(ours.mean() - theirs.mean()) < 0.02 and abs(ours.std() - theirs.std()) < 0.02
    ours, theirs = tt.rand(200_000, rng=rng(1)).data, torch.rand(200_000, generator=generator)
    assert 0.0 <= ours.min() and ours.max() < 1.0
    assert abs(ours.mean() - theirs.numpy().mean()) < 0.01


def test_no_grad_records_nothing_and_nests_like_pytorch():
    from tinytorch.core.autograd import is_grad_enabled, no_grad

    ours, theirs = pair(np.ones(3, dtype=F32))
    with no_grad(), torch.no_grad():
        assert is_grad_enabled() is torch.is_grad_enabled() is False
        with no_grad(), torch.no_grad():
            pass
        assert is_grad_enabled() is torch.is_grad_enabled() is False
        assert (ours * 2).requires_grad is (theirs * 2).requires_grad is False
    assert is_grad_enabled() is torch.is_grad_enabled() is True
    assert (ours * 2).requires_grad is (theirs * 2).requires_grad is True


COMPARISON_OPS = [
    ("eq", lambda a, b: a == b),
    ("ne", lambda a, b: a != b),
    ("lt", lambda a, b: a < b),
    ("le", lambda a, b: a <= b),
    ("gt", lambda a, b: a > b),
    ("ge", lambda a, b: a >= b),
]


@pytest.mark.parametrize("name, compare", COMPARISON_OPS, ids=[row[0] for row in COMPARISON_OPS])
@pytest.mark.parametrize("left, right", BINARY_SHAPES)
def test_comparisons_give_the_same_bool_tensors(name, compare, left, right):
    # Whole numbers in a small range, so that equal elements are common.
    a = np.round(normal(1, *left) * 2)
    b = np.round(normal(2, *right) * 2)
    (ours_a, ours_b), (theirs_a, theirs_b) = zip(pair(a), pair(b), strict=True)
    ours, theirs = compare(ours_a, ours_b), compare(theirs_a, theirs_b)
    close(ours, theirs, f"{name} of shapes {left} and {right}")
    assert ours.dtype == np.bool_ and theirs.dtype == torch.bool
    assert ours.requires_grad is theirs.requires_grad is False
    for number in (0, 1.5):
        close(compare(ours_a, number), compare(theirs_a, number), f"x {name} {number}")
        close(compare(number, ours_a), compare(number, theirs_a), f"{number} {name} x")
    labels = a.astype(np.int64)
    ours_labels, theirs_labels = tt.Tensor(labels, dtype=np.int64), torch.tensor(labels)
    close(compare(ours_labels, 0.5), compare(theirs_labels, 0.5), f"int tensor {name} 0.5")


def test_tensors_hash_by_identity_and_only_one_element_has_a_truth_value():
    ours, theirs = pair(np.array([1.0, 2.0], dtype=F32))
    ours_copy, theirs_copy = pair(np.array([1.0, 2.0], dtype=F32))
    assert len({ours, ours_copy, ours}) == len({theirs, theirs_copy, theirs}) == 2
    assert bool(ours[0:1] == 1) is bool(theirs[0:1] == 1) is True
    assert bool(ours[1] == 1) is bool(theirs[1] == 1) is False
    with pytest.raises(RuntimeError):
        bool(theirs == theirs_copy)
    with pytest.raises(ValueError, match="ambiguous"):
        bool(ours == ours_copy)
    # `in` compares with ==, so a list of several-element tensors only holds by identity.
    assert ours in [ours] and theirs in [theirs]
    with pytest.raises(RuntimeError):
        _ = theirs in [theirs_copy]
    with pytest.raises(ValueError):
        _ = ours in [ours_copy]
