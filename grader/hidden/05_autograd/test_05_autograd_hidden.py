"""Hidden tests for module 05 (Autograd).

Every op's gradient is checked against central differences of a float64 NumPy
reference (never against student code), over hypothesis-drawn shapes; the engine is
checked with toy ops (grader/worker/aids/autograd.py), so a wrong rule elsewhere cannot
sink it.

PYTEST_DONT_REWRITE: failures show the helpers' messages, never this file's source.
"""

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from grader.testing import reference as ref
from grader.testing.checks import assert_array, assert_tensor
from grader.testing.gradcheck import grad_check
from grader.testing.kit import aids, student, worker_module
from grader.testing.strategies import (
    array_and_dim,
    arrays,
    broadcastable_pairs,
    matmul_pairs,
    shapes,
)

acts, losses = student.activations, student.losses
no_grad = student.autograd.no_grad
Tensor, cat, where = student.tensor.Tensor, student.tensor.cat, student.tensor.where
toys = aids.autograd
TripleFn, PlusFn, NoRuleFn = toys.TripleFn, toys.PlusFn, toys.NoRuleFn

F64 = np.float64


def _away_from(kinks, margin=0.05):
    """Map values that sit near a kink (where the derivative jumps) away from it."""

    def move(x):
        x = x.astype(F64)
        for kink in kinks:
            x = np.where(np.abs(x - kink) < margin, kink + 2 * margin, x)
        return x

    return move


def _distinct():
    """Arrays with all-distinct values (max has no ties, so its gradient is unique)."""
    return shapes(min_dims=1, max_dims=3).flatmap(
        lambda shape: st.permutations(range(int(np.prod(shape)))).map(
            lambda order: (np.array(order, dtype=F64).reshape(shape) - 3.0) / 2.0
        )
    )


BINARY = [
    ("add", lambda a, b: a + b, np.add, (-3, 3)),
    ("sub", lambda a, b: a - b, np.subtract, (-3, 3)),
    ("mul", lambda a, b: a * b, np.multiply, (-3, 3)),
    ("div", lambda a, b: a / b, np.divide, (0.5, 3)),
]


@pytest.mark.task("05.3")
@pytest.mark.points(4)
@pytest.mark.parametrize("name, fn, reference, domain", BINARY, ids=[b[0] for b in BINARY])
@given(data=st.data())
def test_binary_op_gradients_with_broadcasting(name, fn, reference, domain, data):
    a, b = data.draw(broadcastable_pairs(*domain))
    grad_check(fn, reference, a, b, what=f"{name} of shapes {a.shape} and {b.shape}")


UNARY = [
    ("neg", lambda x: -x, np.negative, (-3, 3), None),
    ("exp", lambda x: x.exp(), np.exp, (-3, 3), None),
    ("log", lambda x: x.log(), np.log, (0.5, 5), None),
    ("square", lambda x: x**2, np.square, (-3, 3), None),
    ("cube", lambda x: x**3, lambda x: x * x * x, (-3, 3), None),
    ("sqrt", lambda x: x.sqrt(), np.sqrt, (0.5, 5), None),
    ("pow_neg", lambda x: x**-1.5, lambda x: x**-1.5, (0.5, 5), None),
    ("number_minus_x", lambda x: 2.0 - x, lambda x: 2.0 - x, (-3, 3), None),
    ("number_over_x", lambda x: 2.0 / x, lambda x: 2.0 / x, (0.5, 3), None),
    (
        "clamp",
        lambda x: x.clamp(min=-1.0, max=1.0),
        lambda x: np.clip(x, -1, 1),
        (-3, 3),
        (-1.0, 1.0),
    ),
    ("mean", lambda x: x.mean(), np.mean, (-3, 3), None),
]


@pytest.mark.task("05.3")
@pytest.mark.points(3)
@pytest.mark.parametrize("name, fn, reference, domain, kinks", UNARY, ids=[u[0] for u in UNARY])
@given(data=st.data())
def test_elementwise_gradients(name, fn, reference, domain, kinks, data):
    x = data.draw(arrays(shapes(max_dims=3), *domain))
    if kinks:
        x = _away_from(kinks)(x)
    grad_check(fn, reference, x, what=f"{name} of shape {x.shape}")


@pytest.mark.task("05.3")
@pytest.mark.points(2)
@given(pair=broadcastable_pairs())
def test_where_sends_gradient_to_the_chosen_side(pair):
    a, b = pair
    condition = np.broadcast_to(a > 0, np.broadcast_shapes(a.shape, b.shape))
    grad_check(
        lambda x, y: where(condition, x, y),
        lambda x, y: np.where(condition, x, y),
        a,
        b,
        what="where(condition, a, b)",
    )


@pytest.mark.task("05.4")
@pytest.mark.points(4)
@given(pair=matmul_pairs())
# every kind at least once, with sizes above 1 (a size-1 axis hides a misplaced one)
@example(pair=(np.linspace(-1, 1, 6).reshape(3, 2), np.array([0.5, -2.0])))
@example(pair=(np.array([0.5, -2.0]), np.linspace(-1, 1, 6).reshape(2, 3)))
@example(pair=(np.linspace(-1, 1, 12).reshape(2, 3, 2), np.array([0.5, -2.0])))
def test_matmul_gradients_for_vectors_matrices_and_batches(pair):
    a, b = pair
    grad_check(lambda x, y: x @ y, np.matmul, a, b, what=f"matmul of {a.shape} and {b.shape}")


@pytest.mark.task("05.4")
@pytest.mark.points(3)
@pytest.mark.parametrize("keepdim", [False, True])
@given(case=array_and_dim())
def test_sum_and_mean_gradients(keepdim, case):
    x, dim = case
    grad_check(
        lambda t: t.sum(dim=dim, keepdim=keepdim),
        lambda a: a.sum(axis=dim, keepdims=keepdim),
        x,
        what=f"sum(dim={dim}, keepdim={keepdim})",
    )
    grad_check(
        lambda t: t.mean(dim=dim, keepdim=keepdim),
        lambda a: a.mean(axis=dim, keepdims=keepdim),
        x,
        what=f"mean(dim={dim}, keepdim={keepdim})",
    )


@pytest.mark.task("05.4")
@pytest.mark.points(3)
@pytest.mark.parametrize("keepdim", [False, True])
@given(x=_distinct(), data=st.data())
def test_max_gradient_goes_to_the_winner(keepdim, x, data):
    dim = data.draw(st.one_of(st.none(), st.integers(-x.ndim, x.ndim - 1)))
    grad_check(
        lambda t: t.max(dim=dim, keepdim=keepdim),
        lambda a: a.max(axis=dim, keepdims=keepdim),
        x,
        what=f"max(dim={dim}, keepdim={keepdim})",
    )


@pytest.mark.task("05.4")
@pytest.mark.points(1)
def test_max_splits_the_gradient_between_ties():
    x = Tensor([1.0, 3.0, 3.0], requires_grad=True)
    x.max().backward()
    assert_tensor(x.grad, np.array([0.0, 0.5, 0.5]), "gradient of max with a tie")


@pytest.mark.task("05.5")
@pytest.mark.points(3)
@given(x=arrays(shapes(min_dims=1)), data=st.data())
def test_shape_op_gradients(x, data):
    order = tuple(data.draw(st.permutations(range(x.ndim))))
    grad_check(
        lambda t: t.permute(*order), lambda a: np.transpose(a, order), x, what=f"permute{order}"
    )
    grad_check(lambda t: t.reshape(-1), lambda a: a.reshape(-1), x, what="reshape(-1)")
    grad_check(
        lambda t: t.transpose(0, -1), lambda a: np.swapaxes(a, 0, -1), x, what="transpose(0, -1)"
    )


@pytest.mark.task("05.5")
@pytest.mark.points(3)
@given(x=arrays(shapes(min_dims=2, min_side=2)), data=st.data())
def test_indexing_gradients_including_repeated_indices(x, data):
    picks = np.array(data.draw(st.lists(st.integers(0, x.shape[0] - 1), min_size=1, max_size=6)))
    grad_check(
        lambda t: t[picks], lambda a: a[picks], x, what=f"x[{picks.tolist()}] (repeats add up)"
    )
    grad_check(lambda t: t[1:, ::2], lambda a: a[1:, ::2], x, what="x[1:, ::2]")
    grad_check(lambda t: t[..., 0], lambda a: a[..., 0], x, what="x[..., 0]")
    rows = np.arange(x.shape[0])
    cols = np.zeros(x.shape[0], dtype=np.int64)
    grad_check(lambda t: t[rows, cols], lambda a: a[rows, cols], x, what="x[rows, cols]")


@pytest.mark.task("05.5")
@pytest.mark.points(2)
@given(x=arrays(shapes(min_dims=1, max_dims=3)), data=st.data())
def test_cat_gradients(x, data):
    dim = data.draw(st.integers(0, x.ndim - 1))
    y = x[..., ::-1].copy() * 2
    grad_check(
        lambda a, b: cat([a, b, a], dim=dim),
        lambda a, b: np.concatenate([a, b, a], axis=dim),
        x,
        y,
        what=f"cat([a, b, a], dim={dim})",
    )


# Lambdas, not the names themselves: hypothesis prints a failing example's parameters, and
# a name in the student's code cannot be printed without running their code.
ACTIVATIONS = [
    ("relu", lambda t: acts.relu(t), lambda x: np.maximum(x, 0), (0.0,)),
    ("sigmoid", lambda t: acts.sigmoid(t), ref.sigmoid, ()),
    ("tanh", lambda t: acts.tanh(t), np.tanh, ()),
    ("gelu", lambda t: acts.gelu(t), ref.gelu, ()),
    ("gelu_tanh", lambda t: acts.gelu(t, approximate="tanh"), ref.gelu_tanh, ()),
    ("softmax", lambda t: acts.softmax(t, dim=-1), ref.softmax, ()),
    ("log_softmax", lambda t: losses.log_softmax(t, dim=-1), ref.log_softmax, ()),
]


@pytest.mark.task("05.6")
@pytest.mark.points(3)
@pytest.mark.parametrize("name, fn, reference, kinks", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
@given(x=arrays(shapes(min_dims=1, max_dims=3), -4, 4))
def test_activation_gradients(name, fn, reference, kinks, x):
    grad_check(fn, reference, _away_from(kinks)(x), what=f"{name} of shape {x.shape}")


@pytest.mark.task("05.6")
@pytest.mark.points(1)
def test_relu_gradient_at_exactly_zero_is_zero_like_pytorch():
    x = Tensor(np.array([-1.0, 0.0, 2.0]), requires_grad=True)
    acts.relu(x).sum().backward()
    assert_tensor(x.grad, np.array([0.0, 0.0, 1.0]), "gradient of relu at -1, 0 and 2")


@pytest.mark.task("05.6")
@pytest.mark.points(4)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@given(data=st.data())
def test_cross_entropy_gradient(reduction, data):
    n, c = data.draw(st.integers(1, 6)), data.draw(st.integers(2, 5))
    logits = data.draw(hnp.arrays(F64, (n, c), elements=st.floats(-5, 5)))
    targets = np.array(data.draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))

    def reference(z):
        per_sample = -ref.log_softmax(z, 1)[np.arange(n), targets]
        return {"mean": per_sample.mean(), "sum": per_sample.sum(), "none": per_sample}[reduction]

    grad_check(
        lambda z: losses.cross_entropy(z, targets, reduction=reduction),
        reference,
        logits,
        what=f"cross_entropy(reduction={reduction!r})",
    )


@pytest.mark.task("05.6")
@pytest.mark.points(3)
@given(data=st.data())
def test_composite_loss_gradients(data):
    shape = data.draw(shapes(min_dims=1, max_dims=2))
    prediction = data.draw(arrays(shape, 0.05, 0.95))
    target = data.draw(arrays(shape, 0.0, 1.0))
    logits = data.draw(arrays(shape, -6, 6))
    grad_check(
        lambda p: losses.mse_loss(p, Tensor(target, dtype=F64)),
        lambda p: np.mean((p - target) ** 2),
        prediction,
        what="mse_loss",
    )
    grad_check(
        lambda z: losses.binary_cross_entropy_with_logits(z, Tensor(target, dtype=F64)),
        lambda z: np.mean(np.maximum(z, 0) - z * target + np.log1p(np.exp(-np.abs(z)))),
        _away_from((0.0,))(logits),
        what="binary_cross_entropy_with_logits",
    )


@pytest.mark.task("05.6")
@pytest.mark.points(2)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@given(data=st.data())
def test_binary_cross_entropy_gradient_of_probabilities_and_targets(reduction, data):
    shape = data.draw(shapes(min_dims=1, max_dims=2))
    prediction = data.draw(arrays(shape, 0.05, 0.95))
    target = data.draw(arrays(shape, 0.0, 1.0))

    def reference(p, y):
        per_element = -(y * np.log(p) + (1 - y) * np.log(1 - p))
        return {"mean": per_element.mean(), "sum": per_element.sum(), "none": per_element}[
            reduction
        ]

    grad_check(
        lambda p, y: losses.binary_cross_entropy(p, y, reduction=reduction),
        reference,
        prediction,
        target,
        what=f"binary_cross_entropy(reduction={reduction!r})",
    )


@pytest.mark.task("05.6")
@pytest.mark.points(1)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_cross_entropy_gradient_at_probabilities_0_and_1_is_pytorchs(reduction):
    # PyTorch's slope (p - y) / max(p (1 - p), 1e-12): 0 where p = y, +-1e12 where a
    # probability of exactly 0 or 1 (or below 1e-12) is wrong; never nan, and not 1/p.
    p = np.array([0.0, 0.0, 1.0, 1.0, 1e-13, 1e-13, 1 - 1e-13, 0.5])
    y = np.array([1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.25])
    prediction = Tensor(p, dtype=F64, requires_grad=True)
    loss = losses.binary_cross_entropy(prediction, Tensor(y, dtype=F64), reduction=reduction)
    weights = np.linspace(0.5, 1.5, p.size) if reduction == "none" else np.array(1.0)
    loss.backward(weights)
    expected = weights * (p - y) / np.maximum(p * (1 - p), 1e-12)
    if reduction == "mean":
        expected = expected / p.size
    assert_tensor(
        prediction.grad,
        expected,
        f"gradient of binary_cross_entropy(reduction={reduction!r}) at p = 0, 1 and 1e-13 "
        "(PyTorch: (p - y) / max(p (1 - p), 1e-12), so +-1e12 where p is 0 or 1 and wrong)",
        rtol=1e-6,
        dtype=F64,
    )


@pytest.mark.task("05.6")
@pytest.mark.points(2)
def test_cross_entropy_gradient_is_finite_for_huge_logits():
    logits = Tensor([[1000.0, -1000.0, 0.0], [-500.0, 500.0, 0.0]], requires_grad=True)
    losses.cross_entropy(logits, np.array([1, 1])).backward()
    expected = np.array([[0.5, -0.5, 0.0], [0.0, 0.0, 0.0]])
    assert_tensor(
        logits.grad, expected, "gradient of cross_entropy for logits of +-1000", atol=1e-6
    )


@pytest.mark.task("05.3")
@pytest.mark.points(2)
@pytest.mark.parametrize(
    "exponent, slope",
    [
        (0, lambda x: np.zeros_like(x)),
        (1, lambda x: np.ones_like(x)),
        (2, lambda x: 2 * x),
        (3, lambda x: 3 * x * x),
    ],
    ids=["x**0", "x**1", "x**2", "x**3"],
)
def test_power_gradients_at_zero_and_the_fast_paths(exponent, slope):
    values = np.array([-1.5, 0.0, 0.5, 2.0])
    x = Tensor(values, requires_grad=True)
    (x**exponent).sum().backward()
    assert_tensor(
        x.grad, slope(values), f"gradient of x ** {exponent} (PyTorch: 0 at x = 0 for x**0)"
    )


@pytest.mark.task("05.3")
@pytest.mark.points(1)
def test_clamp_passes_the_gradient_at_its_bounds_like_pytorch():
    x = Tensor(np.array([-2.0, -1.0, 0.0, 1.0, 2.0]), requires_grad=True)
    x.clamp(min=-1.0, max=1.0).sum().backward()
    expected = np.array([0.0, 1.0, 1.0, 1.0, 0.0])
    assert_tensor(x.grad, expected, "gradient of clamp(-1, 1) at and beyond its bounds")


@pytest.mark.task("05.6")
@pytest.mark.points(2)
def test_bce_with_logits_gradient_at_a_logit_of_exactly_zero():
    # A zero-initialised logistic regression starts here: the slope is sigmoid(0) - y.
    target = np.array([1.0, 0.0, 0.25, 1.0])
    logits = Tensor(np.zeros(4), dtype=F64, requires_grad=True)
    losses.binary_cross_entropy_with_logits(logits, Tensor(target, dtype=F64)).backward()
    expected = (0.5 - target) / 4
    assert_tensor(logits.grad, expected, "gradient of bce_with_logits at logits 0", dtype=F64)


# ---- the engine, checked with the toy ops of grader/worker/aids/autograd.py ----
# TripleFn (3 * a, rule: 3 * grad), PlusFn (a + b, rule: grad, grad), NoRuleFn (no rule).


@pytest.mark.task("05.1")
@pytest.mark.points(2)
def test_only_ops_on_grad_inputs_are_recorded():
    x = Tensor([1.0], requires_grad=True)
    c = Tensor([2.0])
    assert TripleFn.apply(x).requires_grad and TripleFn.apply(x)._node is not None
    assert not TripleFn.apply(c).requires_grad and TripleFn.apply(c)._node is None
    assert PlusFn.apply(c, x).requires_grad
    PlusFn.apply(c, x).backward(np.ones(1))  # what was recorded carries the gradient
    assert_tensor(x.grad, np.array([1.0]), "x.grad of c + x")


@pytest.mark.task("05.2")
@pytest.mark.points(3)
def test_a_tensor_used_twice_gets_both_contributions():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = TripleFn.apply(x)
    PlusFn.apply(y, TripleFn.apply(y)).backward(np.ones(2))
    assert_tensor(x.grad, np.array([12.0, 12.0]), "x.grad of 3x + 9x")


@pytest.mark.task("05.2")
@pytest.mark.points(2)
def test_a_chain_of_5000_ops_needs_no_recursion():
    x = Tensor([1.0], requires_grad=True)
    y = toys.plus_chain(x, 5000)  # y = PlusFn.apply(y, Tensor([0.0])), 5000 times from y = x
    y.backward(np.ones(1))
    assert_tensor(x.grad, np.array([1.0]), "x.grad through 5000 additions")


@pytest.mark.task("05.2")
@pytest.mark.points(2)
def test_broadcast_inputs_get_gradients_of_their_own_shape():
    b = Tensor(np.ones((1, 3)), requires_grad=True)
    s = Tensor(2.0, requires_grad=True)
    PlusFn.apply(PlusFn.apply(Tensor(np.zeros((4, 3))), b), s).backward(np.ones((4, 3)))
    assert_tensor(b.grad, np.full((1, 3), 4.0), "gradient of a (1, 3) input broadcast to (4, 3)")
    assert_tensor(s.grad, np.array(12.0), "gradient of a scalar broadcast to (4, 3)")


@pytest.mark.task("05.2")
@pytest.mark.points(2)
def test_clear_errors():
    x = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"shape \(2,\)"):
        TripleFn.apply(x).backward()
    with pytest.raises(RuntimeError, match="does not require grad"):
        TripleFn.apply(Tensor([1.0])).sum().backward()
    with pytest.raises(RuntimeError, match="NoRuleFn"):
        NoRuleFn.apply(x).sum().backward()
    fresh = Tensor([1.0, 2.0], requires_grad=True)
    TripleFn.apply(fresh).backward(np.array([1.0, -1.0]))  # a gradient of its shape works
    assert_tensor(fresh.grad, np.array([3.0, -3.0]), "x.grad of 3x with gradient [1, -1]")


@pytest.mark.task("05.2")
@pytest.mark.points(1)
def test_leaf_backward_and_untouched_leaves():
    x = Tensor(3.0, requires_grad=True)
    unused = Tensor(1.0, requires_grad=True)
    TripleFn.apply(x).backward()
    assert_tensor(x.grad, np.array(3.0), "x.grad of 3x")
    assert unused.grad is None, "a tensor outside the graph must keep grad None"


@pytest.mark.task("05.7")
@pytest.mark.points(2)
def test_no_grad_nests_restores_and_decorates():
    x = Tensor([1.0], requires_grad=True)
    with no_grad():
        with no_grad():
            pass
        assert not TripleFn.apply(x).requires_grad
    assert TripleFn.apply(x).requires_grad
    with pytest.raises(ZeroDivisionError):  # raised inside `with no_grad():`, in your process
        toys.run_inside(no_grad(), worker_module("operator").truediv, 1, 0)
    assert TripleFn.apply(x).requires_grad, "no_grad must restore recording after an exception"

    evaluate = no_grad()(toys.triple)  # @no_grad() def evaluate(t): return TripleFn.apply(t)

    assert not evaluate(x).requires_grad
    assert_tensor(evaluate(x), np.array([3.0]), "a @no_grad() function's result")
    assert TripleFn.apply(x).requires_grad
    TripleFn.apply(x).backward(np.ones(1))  # recording works again after all of it
    assert_tensor(x.grad, np.array([3.0]), "x.grad of 3x after the no_grad blocks")


@pytest.mark.task("05.2")
@pytest.mark.points(1)
def test_grads_never_share_memory_with_each_other_or_the_seed():
    a = Tensor([1.0, 2.0], requires_grad=True)
    b = Tensor([3.0, 4.0], requires_grad=True)
    seed = toys.KeptArray(np.ones(2))  # an array in your process, watched by the test
    toys.backward_with(PlusFn.apply(a, b), seed)  # PlusFn.apply(a, b).backward(seed)
    toys.fill_grad(a, 7.0)  # a.grad.data[...] = 7.0
    assert_tensor(b.grad, np.ones(2), "b.grad after editing a.grad in place")
    assert_array(seed.values(), np.ones(2), "the gradient passed to backward()", dtype=np.float64)
    leaf = Tensor([5.0], requires_grad=True)
    toys.backward_with(leaf, seed, slice(None, 1))  # leaf.backward(seed[:1])
    toys.fill_grad(leaf, 0.0)  # leaf.grad.data[...] = 0.0
    assert seed.values()[0] == 1.0, "backward() on a leaf must copy the gradient it was given"
