# %% [markdown]
# # Module 05: Autograd
#
# Reverse-mode automatic differentiation over every op of modules 01-04. Each op
# already records nothing; here you build the engine that, once installed through
# module 01's documented extension point (`install_autograd`), records a graph node
# for every op whose inputs require gradients, and walks that graph backwards.
#
# You write three things:
# - the engine: `record` (build the graph) and `backward` (topological order, the
#   chain rule, gradients summed back to each input's shape, accumulation in `.grad`);
# - one backward rule per op, registered with `@backward_rule(OpFn)`: given the
#   op's `ctx` (its input arrays, parameters and output) and `grad_output`, return one
#   gradient per input (None for inputs that need none);
# - `no_grad`, which switches recording off.
#
# Composite ops (`mean`, `x.T`, `Linear`, `mse_loss` ...) need no rule of their own:
# they are built from the primitives below, so their gradients come for free. The
# engine's plumbing (the `Node` record, the topological sort, summing a gradient back to
# a broadcast input's shape) is given at the end of this file.
#
# Tasks: 05.1 recording, 05.2 backward, 05.3 elementwise rules, 05.4 matmul and
# reductions, 05.5 shape rules, 05.6 activation and loss rules, 05.7 no_grad.


# %%
from __future__ import annotations

import math
from collections.abc import Callable
from contextlib import ContextDecorator
from typing import Any

import numpy as np

from tinytorch.core.activations import GELUFn, ReLUFn, SigmoidFn, SoftmaxFn, TanhFn, _erf
from tinytorch.core.losses import BinaryCrossEntropyFn, CrossEntropyFn, LogSoftmaxFn
from tinytorch.core.tensor import (
    AddFn,
    CatFn,
    ClampFn,
    Context,
    DivFn,
    ExpFn,
    Function,
    GetItemFn,
    LogFn,
    MatMulFn,
    MaxFn,
    MulFn,
    NegFn,
    PermuteFn,
    PowFn,
    ReshapeFn,
    SubFn,
    SumFn,
    Tensor,
    WhereFn,
    _empty_like,
    install_autograd,
    op_hooks,
)

__all__ = ["backward_rule", "no_grad", "is_grad_enabled", "Node", "Engine"]

Gradients = tuple[np.ndarray | None, ...]
BackwardRule = Callable[[Context, np.ndarray], Gradients]
_RULES: dict[type[Function], BackwardRule] = {}
_grad_enabled = True


def backward_rule(fn: type[Function]) -> Callable[[BackwardRule], BackwardRule]:
    """Register the decorated function as the backward rule of op `fn`.

    Later modules (convolution in module 09, attention ...) use it for their own ops.
    The engine calls the rule through `_keep_contract` (given, at the end of this file),
    and tells module 01's op hooks (a profiler) when the rule starts and finishes.
    """

    def register(rule: BackwardRule) -> BackwardRule:
        def checked_rule(ctx: Context, grad_output: np.ndarray) -> Gradients:
            if not op_hooks:
                return _keep_contract(fn, rule, ctx, rule(ctx, grad_output))
            for hook in tuple(op_hooks):
                hook.op_started(fn, ctx, True)
            grads = _keep_contract(fn, rule, ctx, rule(ctx, grad_output))
            for hook in tuple(op_hooks):
                hook.op_finished(fn, ctx, True, (grad_output, *ctx.inputs), grads)
            return grads

        _RULES[fn] = checked_rule
        return rule

    return register


def is_grad_enabled() -> bool:
    """Whether ops are being recorded for backward()."""
    return _grad_enabled


# %% [markdown]
# ## Tasks 05.1 and 05.2: the engine
#
# `record` runs after every op. When recording is on and at least one input tensor
# has `requires_grad`, mark the output as requiring grad and attach a `Node`.
#
# `backward` seeds the root with `gradient` (ones for a one-element tensor), visits
# tensors in reverse topological order, calls each node's rule, sums each gradient back
# to its input's shape (`_unbroadcast`), and adds it to the input: leaves (no node)
# accumulate into `.grad` across calls, as in PyTorch; inner tensors pass it on.


# %%
class Engine:
    """Records the graph and runs backward (installed into module 01 below)."""

    def record(self, fn: type[Function], ctx: Context, inputs: tuple, output: Tensor) -> None:
        """Attach a Node to `output` when an input requires grad and recording is on."""
        # BEGIN SOLUTION 05.1
        # HINT: parents hold the input tensors that require grad, None in every other slot;
        # HINT: also set ctx.needs_input_grad (one bool per input) for the rules.
        if not _grad_enabled:
            return
        parents = tuple([x if isinstance(x, Tensor) and x.requires_grad else None for x in inputs])
        needs = tuple([parent is not None for parent in parents])
        if any(needs):
            ctx.needs_input_grad = needs
            output.requires_grad = True
            output._node = Node(fn, ctx, parents)
        # END SOLUTION

    def backward(self, tensor: Tensor, gradient: np.ndarray | None) -> None:
        """Backpropagate from `tensor` into the `.grad` of every leaf that requires grad."""
        if not tensor.requires_grad:
            raise RuntimeError(
                "backward() was called on a tensor that does not require grad: none of the "
                "tensors it was computed from has requires_grad=True"
            )
        if gradient is None:
            if tensor.numel() != 1:
                raise RuntimeError(
                    f"backward() on a tensor of shape {tensor.shape} needs a gradient argument "
                    "of the same shape (or reduce it first, for example with .sum())"
                )
            gradient = np.ones(tensor.shape, dtype=tensor.dtype)
        elif gradient.shape != tensor.shape:
            raise ValueError(
                f"gradient has shape {gradient.shape}, but the tensor has shape {tensor.shape}"
            )
        # BEGIN SOLUTION 05.2
        # HINT: keep pending gradients in a dict keyed by id(tensor); visit the tensors in
        # HINT: reversed(_topological_order(tensor)); give leaves their gradient with
        # HINT: _accumulate(leaf, grad, stored), stored = {_owner(gradient)} made once.
        stored: set[int] = {_owner(gradient)}  # memory held elsewhere: copy before storing
        if tensor._node is None:
            _accumulate(tensor, gradient, stored)
            return
        pending: dict[int, np.ndarray] = {id(tensor): gradient}
        for current in reversed(_topological_order(tensor)):
            grad_output = pending.pop(id(current), None)
            if grad_output is None:
                continue
            node = current._node
            rule = _RULES.get(node.fn)
            if rule is None:
                raise RuntimeError(
                    f"{node.fn.__name__} has no backward rule: register one with "
                    f"@backward_rule({node.fn.__name__})"
                )
            for parent, grad in zip(node.parents, rule(node.ctx, grad_output), strict=True):
                if parent is None or grad is None:
                    continue
                grad = _unbroadcast(np.asarray(grad), parent.shape)
                if parent._node is None:
                    _accumulate(parent, grad, stored)
                elif id(parent) in pending:
                    pending[id(parent)] = pending[id(parent)] + grad
                else:
                    pending[id(parent)] = grad
        # END SOLUTION


# %% [markdown]
# ## Task 05.3: elementwise rules
#
# Return gradients with the broadcast shape; the engine sums them back to each
# input's shape. `ctx.inputs` holds the input arrays, `ctx.output` the result.


# %%
@backward_rule(AddFn)
def add_backward(ctx: Context, grad_output: np.ndarray) -> Gradients:
    # BEGIN SOLUTION 05.3
    return grad_output, grad_output
    # END SOLUTION


@backward_rule(SubFn)
def sub_backward(ctx: Context, grad_output: np.ndarray) -> Gradients:
    # BEGIN SOLUTION 05.3
    return grad_output, -grad_output
    # END SOLUTION


@backward_rule(MulFn)
def mul_backward(ctx: Context, grad_output: np.ndarray) -> Gradients:
    # BEGIN SOLUTION 05.3
    # HINT: skip the inputs whose ctx.needs_input_grad is False.
    a, b = ctx.inputs
    need_a, need_b = ctx.needs_input_grad
    return (grad_output * b if need_a else None), (grad_output * a if need_b else None)
    # END SOLUTION


@backward_rule(DivFn)
def div_backward(ctx: Context, grad_output: np.ndarray) -> Gradients:
    # BEGIN SOLUTION 05.3
    # HINT: d(a/b)/db = -a / b**2.
    a, b = ctx.inputs
    need_a, need_b = ctx.needs_input_grad
    return (grad_output / b if need_a else None), (-grad_output * a / (b * b) if need_b else None)
    # END SOLUTION


@backward_rule(NegFn)
def neg_backward(ctx: Context, grad_output: np.ndarray) -> Gradients:
    # BEGIN SOLUTION 05.3
    return (-grad_output,)
    # END SOLUTION


@backward_rule(ExpFn)
def exp_backward(ctx: Context, grad_output: np.ndarray) -> Gradients:
    # BEGIN SOLUTION 05.3
    # HINT: the derivative of exp is exp itself, already in ctx.output.
    return (grad_output * ctx.output,)
    # END SOLUTION


@backward_rule(LogFn)
def log_backward(ctx: Context, grad_output: np.ndarray) -> Gradients:
    # BEGIN SOLUTION 05.3
    return (grad_output / ctx.inputs[0],)
    # END SOLUTION


@backward_rule(PowFn)
def pow_backward(ctx: Context, grad_output: np.ndarray) -> Gradients:
    # BEGIN SOLUTION 05.3
    # HINT: p * a**(p - 1); use a itself for p == 2 (x ** 1 is slow in NumPy). For p == 0
    # HINT: the gradient is 0 everywhere, also at a == 0 (0 * 0**-1 would be nan).
    a, p = ctx.inputs[0], ctx.params["exponent"]
    if p == 0.0:
        return (np.zeros_like(grad_output * a),)
    if p == 2.0:
        return (grad_output * 2.0 * a,)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (grad_output * p * np.power(a, np.asarray(p - 1.0, dtype=a.dtype)),)
    # END SOLUTION


@backward_rule(ClampFn)
def clamp_backward(ctx: Context, grad_output: np.ndarray) -> Gradients:
    # BEGIN SOLUTION 05.3
    # HINT: the gradient passes where low <= a <= high (bounds included, as in PyTorch).
    a, low, high = ctx.inputs[0], ctx.params["low"], ctx.params["high"]
    inside = np.ones(a.shape, dtype=bool)
    if low is not None:
        inside &= a >= low
    if high is not None:
        inside &= a <= high
    return (grad_output * inside,)
    # END SOLUTION


@backward_rule(WhereFn)
def where_backward(ctx: Context, grad_output: np.ndarray) -> Gradients:
    # BEGIN SOLUTION 05.3
    condition = ctx.inputs[0]
    zero = np.zeros((), dtype=grad_output.dtype)
    return None, np.where(condition, grad_output, zero), np.where(condition, zero, grad_output)
    # END SOLUTION


# %% [markdown]
# ## Task 05.4: matrix product and reductions
#
# For `a @ b`: grad_a = grad_output @ b^T and grad_b = a^T @ grad_output, on the last two
# axes. A 1-D operand behaves as a matrix with a size-1 axis that matmul then drops: put
# that axis back into `grad_output` first.


# %%
@backward_rule(MatMulFn)
def matmul_backward(ctx: Context, grad_output: np.ndarray) -> Gradients:
    # BEGIN SOLUTION 05.4
    # HINT: promote 1-D operands (a -> a[None, :], b -> b[:, None]), then squeeze the results;
    # HINT: compute only the gradients ctx.needs_input_grad asks for. For matrices, grad_b as
    # HINT: (g.T @ a).T (the same values as a.T @ g) comes out in the memory order of W in
    # HINT: `x @ W.T`, which makes the optimizer's update of W faster.
    a, b = ctx.inputs
    if a.ndim == 1 and b.ndim == 1:
        return grad_output * b, grad_output * a
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    g = grad_output
    if a.ndim == 1:
        g = np.expand_dims(g, -2)
    if b.ndim == 1:
        g = np.expand_dims(g, -1)
    need_a, need_b = ctx.needs_input_grad
    grad_a = grad_b = None
    if need_a:
        grad_a = g @ np.swapaxes(b2, -1, -2)
        grad_a = grad_a[..., 0, :] if a.ndim == 1 else grad_a
    if need_b:
        # NOTE: for matrices, (g^T a)^T is a^T g laid out as a transposed C-ordered array.
        # In PyTorch's `x @ W.T` (Linear), W's gradient then comes out C-ordered like W,
        # and the optimizer's `W -= lr * grad` runs over both in order: 4x faster, measured.
        grad_b = (g.T @ a2).T if g.ndim == 2 else np.swapaxes(a2, -1, -2) @ g
        grad_b = grad_b[..., 0] if b.ndim == 1 else grad_b
    return grad_a, grad_b
    # END SOLUTION


@backward_rule(SumFn)
def sum_backward(ctx: Context, grad_output: np.ndarray) -> Gradients:
    # BEGIN SOLUTION 05.4
    # HINT: put the reduced axes back (np.expand_dims) unless keepdim, then broadcast.
    a, dim = ctx.inputs[0], ctx.params["dim"]
    if not ctx.params["keepdim"]:
        grad_output = np.expand_dims(grad_output, dim)
    return (np.broadcast_to(grad_output, a.shape),)
    # END SOLUTION


@backward_rule(MaxFn)
def max_backward(ctx: Context, grad_output: np.ndarray) -> Gradients:
    # BEGIN SOLUTION 05.4
    # HINT: share the gradient equally between tied maxima, as PyTorch's amax does.
    a, dim = ctx.inputs[0], ctx.params["dim"]
    out = ctx.output
    if not ctx.params["keepdim"]:
        out = np.expand_dims(out, dim)
        grad_output = np.expand_dims(grad_output, dim)
    winners = a == out
    counts = winners.sum(axis=dim, keepdims=True)
    return (winners * (grad_output / counts),)
    # END SOLUTION


# %% [markdown]
# ## Task 05.5: shape rules


# %%
@backward_rule(ReshapeFn)
def reshape_backward(ctx: Context, grad_output: np.ndarray) -> Gradients:
    # BEGIN SOLUTION 05.5
    return (grad_output.reshape(ctx.inputs[0].shape),)
    # END SOLUTION


@backward_rule(PermuteFn)
def permute_backward(ctx: Context, grad_output: np.ndarray) -> Gradients:
    # BEGIN SOLUTION 05.5
    # HINT: the inverse permutation is np.argsort(dims) (or, without NumPy's overhead for a
    # HINT: short tuple, sorted(range(len(dims)), key=dims.__getitem__)).
    dims = ctx.params["dims"]
    return (grad_output.transpose(sorted(range(len(dims)), key=dims.__getitem__)),)
    # END SOLUTION


def _is_basic_index(key: Any) -> bool:
    """Ints, slices, None and Ellipsis only: no element can be picked twice."""
    parts = key if isinstance(key, tuple) else (key,)
    return all(isinstance(k, int | slice) or k is None or k is Ellipsis for k in parts)


@backward_rule(GetItemFn)
def getitem_backward(ctx: Context, grad_output: np.ndarray) -> Gradients:
    # BEGIN SOLUTION 05.5
    # HINT: integer arrays may pick an element twice: np.add.at adds both contributions.
    a, key = ctx.inputs[0], ctx.params["key"]
    grad = np.zeros(a.shape, dtype=grad_output.dtype)
    if _is_basic_index(key):
        grad[key] = grad_output
    else:
        np.add.at(grad, key, grad_output)
    return (grad,)
    # END SOLUTION


@backward_rule(CatFn)
def cat_backward(ctx: Context, grad_output: np.ndarray) -> Gradients:
    # BEGIN SOLUTION 05.5
    dim = ctx.params["dim"]
    sizes = [x.shape[dim] for x in ctx.inputs]
    return tuple(np.split(grad_output, np.cumsum(sizes)[:-1], axis=dim))
    # END SOLUTION


# %% [markdown]
# ## Task 05.6: activations and losses
#
# Prefer formulas in terms of the saved output: sigmoid' = s (1 - s), tanh' = 1 - t^2.
# For cross-entropy, the gradient of the mean loss with respect to the logits is
# (softmax(logits) - one_hot(targets)) / N. For binary cross-entropy, follow PyTorch:
# the slope in `p`, `(p - y) / (p (1 - p))`, has its denominator floored at 1e-12, so a
# probability of exactly 0 or 1 gets a huge but finite slope (+-1e12), never nan; the
# slope in the target `y`, `log(1 - p) - log(p)`, is not clamped.


# %%
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


@backward_rule(ReLUFn)
def relu_backward(ctx: Context, grad_output: np.ndarray) -> Gradients:
    # BEGIN SOLUTION 05.6
    # HINT: the mask x > 0 written as floats (np.greater(x, 0, out=_empty_like(grad_output)))
    # HINT: then multiplied in place: twice as fast as multiplying by a bool array, and
    # HINT: _empty_like recycles the memory of big batches.
    mask = np.greater(ctx.inputs[0], 0, out=_empty_like(grad_output))
    return (np.multiply(grad_output, mask, out=mask),)
    # END SOLUTION


@backward_rule(SigmoidFn)
def sigmoid_backward(ctx: Context, grad_output: np.ndarray) -> Gradients:
    # BEGIN SOLUTION 05.6
    s = ctx.output
    return (grad_output * s * (1.0 - s),)
    # END SOLUTION


@backward_rule(TanhFn)
def tanh_backward(ctx: Context, grad_output: np.ndarray) -> Gradients:
    # BEGIN SOLUTION 05.6
    t = ctx.output
    return (grad_output * (1.0 - t * t),)
    # END SOLUTION


@backward_rule(GELUFn)
def gelu_backward(ctx: Context, grad_output: np.ndarray) -> Gradients:
    # BEGIN SOLUTION 05.6
    # HINT: exact: Phi(x) + x * phi(x), with phi(x) = exp(-x**2 / 2) / sqrt(2 pi).
    x = ctx.inputs[0]
    if ctx.params["approximate"] == "tanh":
        inner = _SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)
        t = np.tanh(inner)
        d_inner = _SQRT_2_OVER_PI * (1.0 + 3 * 0.044715 * x * x)
        return (grad_output * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * d_inner),)
    cdf = 0.5 * (1.0 + _erf(x / math.sqrt(2.0)))
    pdf = _INV_SQRT_2PI * np.exp(-0.5 * x * x)
    return (grad_output * (cdf + x * pdf),)
    # END SOLUTION


@backward_rule(SoftmaxFn)
def softmax_backward(ctx: Context, grad_output: np.ndarray) -> Gradients:
    # BEGIN SOLUTION 05.6
    # HINT: s * (g - sum(g * s)) along dim.
    s, dim = ctx.output, ctx.params["dim"]
    if s.ndim == 0:
        return (np.zeros_like(grad_output),)
    return (s * (grad_output - np.sum(grad_output * s, axis=dim, keepdims=True)),)
    # END SOLUTION


@backward_rule(LogSoftmaxFn)
def log_softmax_backward(ctx: Context, grad_output: np.ndarray) -> Gradients:
    # BEGIN SOLUTION 05.6
    # HINT: g - softmax * sum(g) along dim, and softmax = exp(output).
    dim = ctx.params["dim"]
    return (grad_output - np.exp(ctx.output) * np.sum(grad_output, axis=dim, keepdims=True),)
    # END SOLUTION


@backward_rule(CrossEntropyFn)
def cross_entropy_backward(ctx: Context, grad_output: np.ndarray) -> Gradients:
    # BEGIN SOLUTION 05.6
    logits, targets = ctx.inputs[0], np.asarray(ctx.inputs[1], dtype=np.int64)
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    probs[np.arange(len(targets)), targets] -= 1.0
    reduction = ctx.params["reduction"]
    if reduction == "mean":
        probs *= grad_output / len(targets)  # in place: probs is a fresh array of our own
    else:
        probs *= grad_output if reduction == "sum" else grad_output[:, None]
    return probs, None
    # END SOLUTION


@backward_rule(BinaryCrossEntropyFn)
def binary_cross_entropy_backward(ctx: Context, grad_output: np.ndarray) -> Gradients:
    # BEGIN SOLUTION 05.6
    # HINT: for p, grad_output * (p - y) / np.maximum((1 - p) * p, 1e-12); for y (only when
    # HINT: ctx.needs_input_grad[1], else None), grad_output * -np.log(p / (1 - p)) inside
    # HINT: np.errstate(divide="ignore") (+-inf at p = 0 and 1, as in PyTorch). Divide both
    # HINT: by p.size for "mean".
    p, target = ctx.inputs[0], ctx.inputs[1]
    count = p.size if ctx.params["reduction"] == "mean" else 1
    grad_p = grad_output * (p - target) / np.maximum((1 - p) * p, 1e-12) / count
    if not ctx.needs_input_grad[1]:
        return grad_p, None
    with np.errstate(divide="ignore"):
        logit = np.log(p / (1 - p))
    return grad_p, grad_output * -logit / count
    # END SOLUTION


# %% [markdown]
# ## Task 05.7: no_grad
#
# Inside `with no_grad():` (or a function decorated with `@no_grad()`) nothing is
# recorded: evaluation and optimizer updates build no graph and keep no memory.


# %%
class no_grad(ContextDecorator):  # noqa: N801 (PyTorch's name)
    """Switch graph recording off inside a `with` block or a decorated function."""

    def __enter__(self) -> no_grad:
        global _grad_enabled
        # BEGIN SOLUTION 05.7
        # HINT: remember the previous state so nested blocks restore it correctly.
        self._previous = _grad_enabled
        _grad_enabled = False
        # END SOLUTION
        return self

    def __exit__(self, *exc_info: object) -> None:
        global _grad_enabled
        # BEGIN SOLUTION 05.7
        _grad_enabled = self._previous
        # END SOLUTION


# %% [markdown]
# ## The engine's helpers (given)
#
# - `Node`: what `record` attaches to an op's output.
# - `_unbroadcast(grad, shape)`: sums a gradient back to an input's shape.
# - `_topological_order(root)`: every tensor of the graph after its inputs, found with an
#   explicit stack (a recursive walk would stop at Python's recursion limit).
# - `_accumulate(leaf, grad, stored)`: adds to `.grad`, copying where two `.grad`s would
#   otherwise share memory; `stored` remembers the memory already handed out.
# - `_keep_contract`: checks what each rule returns (one gradient per input, of a shape
#   that sums back), so a mistake in a rule names the rule instead of leaving a `.grad`
#   silently missing.


# %%
class Node:
    """One recorded op: which op, its context, and the input tensors needing gradients."""

    __slots__ = ("fn", "ctx", "parents")

    def __init__(
        self, fn: type[Function], ctx: Context, parents: tuple[Tensor | None, ...]
    ) -> None:
        self.fn = fn
        self.ctx = ctx
        self.parents = parents


def _unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum `grad` over the dimensions broadcasting added or stretched, back to `shape`."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, size in enumerate(shape) if size == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad.reshape(shape)


def _topological_order(root: Tensor) -> list[Tensor]:
    """Tensors of the graph below `root`, each after all of its inputs (iterative DFS)."""
    order: list[Tensor] = []
    visited: set[int] = set()
    stack: list[tuple[Tensor, bool]] = [(root, False)]
    while stack:
        tensor, inputs_done = stack.pop()
        if inputs_done:
            order.append(tensor)
            continue
        if id(tensor) in visited:
            continue
        visited.add(id(tensor))
        stack.append((tensor, True))
        for parent in tensor._node.parents:
            if parent is not None and parent._node is not None and id(parent) not in visited:
                stack.append((parent, False))
    return order


def _owner(array: np.ndarray) -> int:
    """Identity of the memory behind `array` (views share their base's)."""
    while isinstance(array.base, np.ndarray):
        array = array.base
    return id(array)


def _accumulate(leaf: Tensor, grad: np.ndarray, stored: set[int]) -> None:
    """Add `grad` to `leaf.grad`, never letting two `.grad`s (or the caller) share memory.

    A rule may hand one array to two inputs (add) or return a read-only view (sum);
    those are copied, so an in-place edit of one `.grad` stays local. Fresh arrays and
    views of them are stored as they are: copying every gradient would cost a lot.
    """
    grad = np.asarray(grad, dtype=leaf.dtype)
    if leaf.grad is not None:
        leaf.grad = Tensor._wrap(leaf.grad.data + grad)
        return
    owner = _owner(grad)
    if owner in stored or not grad.flags.writeable:
        grad = grad.copy()
        owner = id(grad)
    stored.add(owner)
    leaf.grad = Tensor._wrap(grad)


def _keep_contract(
    fn: type[Function], rule: BackwardRule, ctx: Context, grads: Any
) -> Gradients:
    """`grads` as a tuple with one gradient per input of `fn`, each of a usable shape.

    A rule that returns too few gradients, or one of a shape that cannot be summed back
    to its input's shape, raises an error naming the op and what the rule returned,
    instead of leaving a `.grad` silently missing or wrong. A bare array is accepted for
    a one-input op, as PyTorch's `Function.backward` accepts it.
    """
    if not isinstance(grads, tuple | list):
        grads = (grads,)
    if len(grads) != len(ctx.inputs):
        raise RuntimeError(
            f"the backward rule of {fn.__name__} ({rule.__name__}) returned {len(grads)} "
            f"gradient(s) for {len(ctx.inputs)} input(s): return one per input, None for an "
            "input that needs none"
        )
    # NOTE: this runs for every op of every backward pass, so it stays cheap: the common
    # case, a gradient of exactly its input's shape, costs one comparison.
    for position, (grad, given) in enumerate(zip(grads, ctx.inputs, strict=True)):
        if grad is None:
            continue
        grad_shape, shape = _shape(grad), _shape(given)
        if grad_shape != shape and not _sums_back(grad_shape, shape):
            raise RuntimeError(
                f"the backward rule of {fn.__name__} ({rule.__name__}) returned a gradient "
                f"of shape {grad_shape} for input {position} of shape {shape}: "
                "a gradient has the input's shape, or the broadcast shape of the op"
            )
    return tuple(grads)


def _shape(value: Any) -> tuple[int, ...]:
    """The shape of an array (read directly: np.shape is a slower, general function)."""
    return value.shape if isinstance(value, np.ndarray) else np.shape(value)


def _sums_back(grad_shape: tuple[int, ...], shape: tuple[int, ...]) -> bool:
    """Whether a gradient of `grad_shape` sums back to `shape` (see `_unbroadcast`)."""
    if len(grad_shape) < len(shape):
        return False
    trailing = grad_shape[len(grad_shape) - len(shape) :]
    return all(size == 1 or size == g for g, size in zip(trailing, shape, strict=True))


# %% [markdown]
# ## Installing the engine (given)
#
# Importing this module installs the engine into module 01 through its one documented
# extension point; nothing in the earlier modules is patched.


# %%
install_autograd(Engine())
