# %% [markdown]
# # Module 01: Tensor
#
# A `Tensor` wraps a NumPy array (float32 unless you ask otherwise) and gives it the
# operations a neural network needs: arithmetic with broadcasting, matrix products,
# reductions over `dim`, reshaping and indexing. Names and shapes follow PyTorch, so
# what you learn here transfers directly.
#
# Every operation is a small `Function` subclass with a `forward` that works on plain
# NumPy arrays. `Function.apply` (given) unwraps the inputs, calls your `forward` and
# wraps the result. In module 05 you will write the matching backward rules; the
# tensor methods here stay exactly as they are.
#
# Tasks: 01.1 constructor, 01.2 elementwise arithmetic, 01.3 exp/log/pow,
# 01.4 matmul, 01.5 reductions, 01.6 shape ops, 01.7 indexing, concatenation, where,
# 01.8 comparisons.


# %%
from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

__all__ = [
    "Tensor",
    "Function",
    "Context",
    "AutogradEngine",
    "install_autograd",
    "OpHook",
    "RemovableHandle",
    "register_op_hook",
    "zeros",
    "ones",
    "full",
    "arange",
    "randn",
    "rand",
    "cat",
    "stack",
    "where",
]

DEFAULT_DTYPE = np.float32
Dim = int | tuple[int, ...] | None


# %% [markdown]
# ## The op machinery (given)
#
# `Context` carries what a backward rule needs: the input arrays, the keyword
# parameters, the output, and anything the forward chose to keep. `install_autograd`
# is the one documented extension point module 05 uses to record the graph.
# `register_op_hook` lets a tool watch every op start and finish (module 15's profiler
# times and counts ops with it) without changing any op or any model.


# %%
class Context:
    """Per-call record of one op: inputs, parameters, output and saved extras.

    `needs_input_grad[i]` (set by autograd) says whether input i needs a gradient, so a
    backward rule can skip work nobody will use.
    """

    def __init__(self, inputs: tuple[np.ndarray, ...], params: dict[str, Any]) -> None:
        self.inputs = inputs
        self.params = params
        self.output: np.ndarray | None = None
        self.needs_input_grad: tuple[bool, ...] = ()


class AutogradEngine(Protocol):
    """What module 05 installs: it records ops and runs `Tensor.backward`."""

    def record(self, fn: type[Function], ctx: Context, inputs: tuple, output: Tensor) -> None:
        """Called after every op with the op, its context, raw inputs and result."""

    def backward(self, tensor: Tensor, gradient: np.ndarray | None) -> None:
        """Backpropagate from `tensor`, seeding it with `gradient`."""


_engine: AutogradEngine | None = None


def install_autograd(engine: AutogradEngine | None) -> None:
    """Install (or remove, with None) the autograd engine; module 05 calls this once."""
    global _engine
    _engine = engine


class RemovableHandle:
    """What registering a hook returns: `remove()` takes that hook out again.

    As `torch.utils.hooks.RemovableHandle`; it is also a context manager that removes
    the hook when the block ends.
    """

    def __init__(self, hooks: list, hook: Any) -> None:
        self._hooks, self._hook = hooks, hook

    def remove(self) -> None:
        """Unregister the hook (again is harmless)."""
        for index, registered in enumerate(self._hooks):
            if registered is self._hook:
                del self._hooks[index]
                return

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.remove()


class OpHook(Protocol):
    """What `register_op_hook` takes: told when each op starts and when it finishes.

    `backward` is False for `Function.apply` and True for a backward rule (module 05).
    `inputs` are the arrays the op was given (a rule: `grad_output`, then the op's
    inputs), `outputs` the arrays it returned (a rule: one gradient or None per input).
    """

    def op_started(self, fn: type[Function], ctx: Context, backward: bool) -> None:
        """Called right before the op computes."""

    def op_finished(
        self, fn: type[Function], ctx: Context, backward: bool, inputs: tuple, outputs: tuple
    ) -> None:
        """Called right after it (after autograd recorded it)."""


op_hooks: list[OpHook] = []
"""The registered op hooks, in order (module 05 tells them about backward rules too)."""


def register_op_hook(hook: OpHook) -> RemovableHandle:
    """Tell `hook` about every op from now on, until the returned handle is removed."""
    op_hooks.append(hook)
    return RemovableHandle(op_hooks, hook)


class Function:
    """Base of every op: subclasses define `forward(ctx, *arrays, **params) -> ndarray`.

    Call an op with `SomeFn.apply(*inputs, **params)`; inputs may be tensors or plain
    numbers and arrays. Shape errors name the op and the shapes that clashed.
    """

    @staticmethod
    def forward(ctx: Context, *arrays: np.ndarray, **params: Any) -> np.ndarray:
        """Compute the op on NumPy arrays (abstract: every subclass overrides it)."""
        raise NotImplementedError("every Function subclass defines its own forward")

    @classmethod
    def apply(cls, *inputs: Any, **params: Any) -> Tensor:
        """Run `forward` on the inputs' arrays and wrap the result in a Tensor."""
        arrays = tuple([x.data if isinstance(x, Tensor) else x for x in inputs])
        ctx = Context(arrays, params)
        if op_hooks:
            for hook in tuple(op_hooks):
                hook.op_started(cls, ctx, False)
        try:
            out = cls.forward(ctx, *arrays, **params)
        except ValueError as error:
            shapes = [np.shape(a) for a in arrays]
            listed = ", ".join(map(str, shapes))
            try:
                np.broadcast_shapes(*shapes)
            except ValueError:
                raise ValueError(f"{cls.__name__}: incompatible shapes {listed}: {error}") from None
            raise ValueError(f"{cls.__name__} on shapes {listed}: {error}") from None
        ctx.output = out
        result = Tensor._wrap(out)
        if _engine is not None:
            _engine.record(cls, ctx, inputs, result)
        if op_hooks:
            for hook in tuple(op_hooks):
                hook.op_finished(cls, ctx, False, arrays, (out,))
        return result


# %% [markdown]
# ## Task 01.1: the constructor
#
# Store the data as an ndarray of `dtype` (float32 when `dtype` is None). Copy only
# when you must: `np.asarray` already avoids a copy when the dtype matches.


# %%
class Tensor:
    """An n-dimensional array that can take part in automatic differentiation.

    Args:
        data: a number, nested list, ndarray or Tensor.
        dtype: NumPy dtype of the storage; when None, float32, or bool for booleans
            (pass `np.int64` for class labels, token ids and index tensors).
        requires_grad: whether backward() should compute a gradient for this tensor.

    Example:
        >>> Tensor([[1, 2], [3, 4]]).sum(dim=0)
        Tensor([4., 6.])
    """

    __slots__ = ("data", "requires_grad", "grad", "_node", "__weakref__")
    __array_priority__ = 1000  # so ndarray + Tensor calls Tensor.__radd__

    def __init__(self, data: Any, dtype: Any = None, requires_grad: bool = False) -> None:
        if isinstance(data, Tensor):
            data = data.data
        # BEGIN SOLUTION 01.1
        # HINT: np.asarray(data, dtype=...); when dtype is None use DEFAULT_DTYPE, except
        # HINT: for booleans, which stay bool (masks, as in PyTorch).
        array = np.asarray(data)
        if dtype is None:
            dtype = bool if array.dtype == bool else DEFAULT_DTYPE
        self.data = np.asarray(array, dtype=dtype)
        # END SOLUTION
        self.requires_grad = requires_grad
        self.grad: Tensor | None = None
        self._node: Any = None

    @staticmethod
    def _wrap(array: np.ndarray) -> Tensor:
        """Wrap an op's result without copying or casting it."""
        tensor = Tensor.__new__(Tensor)
        tensor.data = np.asarray(array)
        tensor.requires_grad = False
        tensor.grad = None
        tensor._node = None
        return tensor

    # ---- properties and conversions (given) ----
    @property
    def shape(self) -> tuple[int, ...]:
        """The size of each dimension."""
        return self.data.shape

    @property
    def ndim(self) -> int:
        """The number of dimensions."""
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        """The NumPy dtype of the storage."""
        return self.data.dtype

    def size(self, dim: int | None = None) -> tuple[int, ...] | int:
        """The shape, or the size of one dimension (as `torch.Tensor.size`)."""
        return self.data.shape if dim is None else self.data.shape[dim]

    def numel(self) -> int:
        """The number of elements."""
        return self.data.size

    def numpy(self) -> np.ndarray:
        """The underlying array (shared, not copied)."""
        return self.data

    def item(self) -> float | int:
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return self.data.item()

    def detach(self) -> Tensor:
        """The same data, cut off from the graph."""
        return Tensor._wrap(self.data)

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __bool__(self) -> bool:
        # As in PyTorch, only a one-element tensor has a truth value: `if x == y:` or
        # `x in tensors` on bigger tensors would otherwise be silently true.
        if self.data.size != 1:
            raise ValueError(
                f"the truth value of a tensor of shape {self.shape} is ambiguous: only a "
                "one-element tensor is true or false (use .numpy().any() or .numpy().all())"
            )
        return bool(self.data.item())

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="Tensor(")
        suffix = ", requires_grad=True" if self.requires_grad else ""
        if self.dtype != DEFAULT_DTYPE:
            suffix = f", dtype={self.dtype}" + suffix
        return f"Tensor({body}{suffix})"

    def backward(self, gradient: Tensor | np.ndarray | None = None) -> None:
        """Compute gradients of this tensor with respect to the graph's leaves."""
        if _engine is None:
            raise RuntimeError(
                "backward() needs automatic differentiation, which you build in module 05; "
                "it switches on when module 05 is imported and its Engine.record works"
            )
        _engine.backward(self, None if gradient is None else np.asarray(_data(gradient)))

    # ---- arithmetic (Task 01.2): one-line calls into the Functions below ----
    def __add__(self, other: Any) -> Tensor:
        return AddFn.apply(*_promote(self, other))

    def __radd__(self, other: Any) -> Tensor:
        return AddFn.apply(*reversed(_promote(self, other)))

    def __sub__(self, other: Any) -> Tensor:
        return SubFn.apply(*_promote(self, other))

    def __rsub__(self, other: Any) -> Tensor:
        return SubFn.apply(*reversed(_promote(self, other)))

    def __mul__(self, other: Any) -> Tensor:
        return MulFn.apply(*_promote(self, other))

    def __rmul__(self, other: Any) -> Tensor:
        return MulFn.apply(*reversed(_promote(self, other)))

    def __truediv__(self, other: Any) -> Tensor:
        return DivFn.apply(*_promote(self, other, true_division=True))

    def __rtruediv__(self, other: Any) -> Tensor:
        return DivFn.apply(*reversed(_promote(self, other, true_division=True)))

    def __neg__(self) -> Tensor:
        return NegFn.apply(self)

    def __pow__(self, exponent: float) -> Tensor:
        if isinstance(exponent, Tensor):
            raise TypeError("only a number can be an exponent; use exp/log for tensors")
        return PowFn.apply(self, exponent=float(exponent))

    def __matmul__(self, other: Any) -> Tensor:
        return MatMulFn.apply(*_promote(self, other))

    def __rmatmul__(self, other: Any) -> Tensor:
        return MatMulFn.apply(*reversed(_promote(self, other)))

    def matmul(self, other: Any) -> Tensor:
        """Matrix product with NumPy's batching rules (as `torch.matmul`)."""
        return self @ other

    def exp(self) -> Tensor:
        """Elementwise e**x."""
        return ExpFn.apply(self)

    def log(self) -> Tensor:
        """Elementwise natural logarithm."""
        return LogFn.apply(self)

    def sqrt(self) -> Tensor:
        """Elementwise square root."""
        return self**0.5

    def clamp(self, min: float | None = None, max: float | None = None) -> Tensor:  # noqa: A002
        """Limit values to [min, max] (either bound may be None), as `torch.clamp`."""
        if min is None and max is None:
            raise ValueError("clamp() needs at least one of min and max")
        return ClampFn.apply(self, low=min, high=max)

    # ---- reductions (Task 01.5) ----
    def sum(self, dim: Dim = None, keepdim: bool = False) -> Tensor:
        """Sum over `dim` (all dimensions when None)."""
        return SumFn.apply(self, dim=_normalize_dim(dim, self.ndim), keepdim=keepdim)

    def mean(self, dim: Dim = None, keepdim: bool = False) -> Tensor:
        """Mean over `dim` (all dimensions when None)."""
        dims = _normalize_dim(dim, self.ndim)
        count = int(np.prod([self.shape[d] for d in dims]))
        return self.sum(dim=dims, keepdim=keepdim) / count

    def max(self, dim: Dim = None, keepdim: bool = False) -> Tensor:
        """Largest value over `dim`.

        NOTE: with a `dim`, PyTorch's `max` also returns indices; here it returns only
        values (like `torch.amax`). Use `argmax` for the indices.
        """
        if self.numel() == 0:
            raise ValueError(f"max() of an empty tensor of shape {self.shape} is undefined")
        return MaxFn.apply(self, dim=_normalize_dim(dim, self.ndim), keepdim=keepdim)

    def min(self, dim: Dim = None, keepdim: bool = False) -> Tensor:
        """Smallest value over `dim`, as -max(-x)."""
        return -(-self).max(dim=dim, keepdim=keepdim)

    def argmax(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        """Index of the largest value (flattened when `dim` is None); not differentiable."""
        indices = np.argmax(self.data, axis=dim, keepdims=keepdim)
        return Tensor(indices, dtype=np.int64)

    # ---- shape operations (Task 01.6) ----
    def reshape(self, *shape: int | Sequence[int]) -> Tensor:
        """The same elements in a new shape; one dimension may be -1."""
        if len(shape) == 1 and isinstance(shape[0], Sequence):
            shape = tuple(shape[0])
        return ReshapeFn.apply(self, shape=tuple(int(s) for s in shape))

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        """Merge dimensions `start_dim..end_dim` into one."""
        start, end = _dim_index(start_dim, self.ndim), _dim_index(end_dim, self.ndim)
        if self.ndim == 0:
            return self.reshape(1)
        if start > end:
            raise ValueError("flatten() has invalid args: start_dim cannot come after end_dim")
        return self.reshape(*self.shape[:start], -1, *self.shape[end + 1 :])

    def unsqueeze(self, dim: int) -> Tensor:
        """Insert a dimension of size 1 at `dim`."""
        position = _dim_index(dim, self.ndim + 1)
        return self.reshape(*self.shape[:position], 1, *self.shape[position:])

    def squeeze(self, dim: int | None = None) -> Tensor:
        """Drop dimensions of size 1 (only `dim` when given)."""
        if dim is None:
            return self.reshape(*[s for s in self.shape if s != 1])
        position = _dim_index(dim, self.ndim)
        if self.ndim == 0 or self.shape[position] != 1:
            return self
        return self.reshape(*self.shape[:position], *self.shape[position + 1 :])

    def permute(self, *dims: int | Sequence[int]) -> Tensor:
        """Reorder the dimensions: output dim i is input dim `dims[i]`."""
        if len(dims) == 1 and isinstance(dims[0], Sequence):
            dims = tuple(dims[0])
        if sorted(d % max(self.ndim, 1) for d in dims) != list(range(self.ndim)):
            raise ValueError(f"permute{tuple(dims)} is not a permutation of {self.ndim} dims")
        return PermuteFn.apply(self, dims=tuple(d % self.ndim for d in dims))

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        """Swap two dimensions."""
        order = list(range(self.ndim))
        order[dim0], order[dim1] = order[dim1], order[dim0]
        return self.permute(order)

    @property
    def T(self) -> Tensor:  # noqa: N802 (PyTorch's name)
        """All dimensions reversed (the usual transpose for a matrix)."""
        return PermuteFn.apply(self, dims=tuple(range(self.ndim - 1, -1, -1)))

    # ---- indexing (Task 01.7) ----
    def __getitem__(self, key: Any) -> Tensor:
        return GetItemFn.apply(self, key=_index_key(key))

    # ---- comparisons (Task 01.8): bool tensors, never differentiated ----
    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return _compare(self, other, np.equal)

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return _compare(self, other, np.not_equal)

    def __lt__(self, other: Any) -> Tensor:
        return _compare(self, other, np.less)

    def __le__(self, other: Any) -> Tensor:
        return _compare(self, other, np.less_equal)

    def __gt__(self, other: Any) -> Tensor:
        return _compare(self, other, np.greater)

    def __ge__(self, other: Any) -> Tensor:
        return _compare(self, other, np.greater_equal)

    # Defining __eq__ would drop the default hash: keep hashing by identity, as PyTorch
    # does, so tensors still work as dict keys and set members.
    __hash__ = object.__hash__


# %% [markdown]
# ## Helpers (given)


# %%
def _data(value: Any) -> Any:
    """The array behind a tensor, or the value itself."""
    return value.data if isinstance(value, Tensor) else value


def _is_float(dtype: np.dtype) -> bool:
    # dtype.kind is "f" for every float dtype; np.issubdtype says the same 10x slower.
    return dtype.kind == "f"


def _promote(a: Tensor, other: Any, true_division: bool = False) -> tuple[Any, Any]:
    """`a` and `other` with the dtypes PyTorch gives `a op other`, where NumPy differs.

    A number or array beside a tensor follows the tensor's kind: a float tensor keeps its
    dtype; an integer tensor stays integer with an int, and becomes float32 with a float
    (NumPy would give float64). An integer tensor beside a float tensor takes its dtype.
    `/` of two integer operands is float32. Only integer and boolean operands are cast:
    they are never differentiable, so no gradient is lost.
    """
    b = other.data if isinstance(other, Tensor) else np.asarray(other)
    if not isinstance(other, Tensor):
        if _is_float(a.dtype):
            return a, np.asarray(b, dtype=a.dtype)
        if _is_float(b.dtype) or true_division:
            return _cast(a, DEFAULT_DTYPE), np.asarray(b, dtype=DEFAULT_DTYPE)
        return a, np.asarray(b, dtype=np.int64 if a.dtype == bool else a.dtype)
    if _is_float(a.dtype) != _is_float(b.dtype):
        dtype = a.dtype if _is_float(a.dtype) else b.dtype
        return _cast(a, dtype), _cast(other, dtype)
    if true_division and not _is_float(a.dtype):
        return _cast(a, DEFAULT_DTYPE), _cast(other, DEFAULT_DTYPE)
    return a, other


def _cast(tensor: Tensor, dtype: Any) -> Tensor:
    """A non-differentiable (integer or boolean) tensor in another dtype."""
    return tensor if tensor.dtype == dtype else Tensor._wrap(tensor.data.astype(dtype))


def _dim_index(dim: int, ndim: int) -> int:
    """`dim` as a non-negative axis of `ndim` axes (a 0-d tensor accepts 0 and -1)."""
    size = max(ndim, 1)
    if not -size <= dim < size:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-size}, {size - 1}], "
            f"but got {dim})"
        )
    return dim % size


def _normalize_dim(dim: Dim, ndim: int) -> tuple[int, ...]:
    """Turn `dim` (None, an int, or a tuple) into sorted non-negative axes.

    None and the empty tuple mean every dimension (as in PyTorch); a dim listed twice is
    an error, not silently merged.
    """
    if dim is None or (not isinstance(dim, int) and len(tuple(dim)) == 0):
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    axes = [_dim_index(d, ndim) for d in dims]
    for axis in axes:
        if axes.count(axis) > 1:
            raise ValueError(f"dim {axis} appears multiple times in the list of dims")
    return tuple(sorted(axes)) if ndim else ()


def _index_key(key: Any) -> Any:
    """Replace tensors inside an index by their arrays (integer or boolean only)."""
    if isinstance(key, tuple):
        return tuple(_index_key(k) for k in key)
    if isinstance(key, Tensor):
        if key.dtype != bool and not np.issubdtype(key.dtype, np.integer):
            raise IndexError(
                f"tensors used as indices must be integer or boolean tensors, not {key.dtype} "
                "(make index tensors with dtype=np.int64)"
            )
        return key.data
    return key


# %% [markdown]
# ## Task 01.2: elementwise arithmetic
#
# NumPy broadcasts for you. Keep float32: a Python number already combines with a
# float32 array to give float32, but an `np.float64` scalar would not.


# %%
class AddFn(Function):
    """a + b, broadcast."""

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        # BEGIN SOLUTION 01.2
        # HINT: NumPy's + already broadcasts.
        return a + b
        # END SOLUTION


class SubFn(Function):
    """a - b, broadcast."""

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        # BEGIN SOLUTION 01.2
        return a - b
        # END SOLUTION


class MulFn(Function):
    """a * b, broadcast."""

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        # BEGIN SOLUTION 01.2
        return a * b
        # END SOLUTION


class DivFn(Function):
    """a / b, broadcast."""

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        # BEGIN SOLUTION 01.2
        # HINT: dividing by zero gives inf or nan, as in PyTorch; silence NumPy's warning.
        with np.errstate(divide="ignore", invalid="ignore"):
            return a / b
        # END SOLUTION


class NegFn(Function):
    """-a."""

    @staticmethod
    def forward(ctx: Context, a: np.ndarray) -> np.ndarray:
        # BEGIN SOLUTION 01.2
        return -a
        # END SOLUTION


# %% [markdown]
# ## Task 01.3: exp, log and powers
#
# NOTE: `x ** 3` on float32 is hundreds of times slower in NumPy than `x * x * x`;
# special-case the small integer exponents 2 and 3.


# %%
class ExpFn(Function):
    """e ** a, elementwise."""

    @staticmethod
    def forward(ctx: Context, a: np.ndarray) -> np.ndarray:
        # BEGIN SOLUTION 01.3
        return np.exp(a)
        # END SOLUTION


class LogFn(Function):
    """Natural log of a, elementwise (-inf at 0, nan below)."""

    @staticmethod
    def forward(ctx: Context, a: np.ndarray) -> np.ndarray:
        # BEGIN SOLUTION 01.3
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(a)
        # END SOLUTION


class PowFn(Function):
    """a ** exponent for a number `exponent`."""

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, exponent: float) -> np.ndarray:
        # BEGIN SOLUTION 01.3
        # HINT: return a * a for exponent 2 and a * a * a for 3; np.power otherwise.
        if exponent == 2.0:
            return a * a
        if exponent == 3.0:
            return a * a * a
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.power(a, np.asarray(exponent, dtype=a.dtype))
        # END SOLUTION


class ClampFn(Function):
    """a limited to [low, high]; a None bound is not applied."""

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, low: float | None, high: float | None) -> np.ndarray:
        # BEGIN SOLUTION 01.3
        # HINT: np.clip accepts None for a missing bound.
        return np.clip(a, low, high)
        # END SOLUTION


# %% [markdown]
# ## Task 01.4: matrix product
#
# `np.matmul` handles vectors, matrices and batches of matrices. The message for
# mismatched inner dimensions comes from `Function.apply`.


# %%
class MatMulFn(Function):
    """a @ b with NumPy's (and PyTorch's) batching rules."""

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        # BEGIN SOLUTION 01.4
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError("both operands of matmul need at least one dimension")
        return np.matmul(a, b)
        # END SOLUTION


# %% [markdown]
# ## Task 01.5: reductions
#
# `dim` arrives as a tuple of non-negative axes (empty for a 0-d tensor).


# %%
class SumFn(Function):
    """Sum over `dim`, keeping reduced dimensions as size 1 when `keepdim`."""

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, dim: tuple[int, ...], keepdim: bool) -> np.ndarray:
        # BEGIN SOLUTION 01.5
        return np.sum(a, axis=dim, keepdims=keepdim)
        # END SOLUTION


class MaxFn(Function):
    """Maximum over `dim`, keeping reduced dimensions as size 1 when `keepdim`."""

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, dim: tuple[int, ...], keepdim: bool) -> np.ndarray:
        # BEGIN SOLUTION 01.5
        return np.max(a, axis=dim, keepdims=keepdim)
        # END SOLUTION


# %% [markdown]
# ## Task 01.6: shape operations


# %%
class ReshapeFn(Function):
    """The same elements in a new shape."""

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        # BEGIN SOLUTION 01.6
        return np.reshape(a, shape)
        # END SOLUTION


class PermuteFn(Function):
    """Dimensions reordered: output dim i is input dim `dims[i]`."""

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, dims: tuple[int, ...]) -> np.ndarray:
        # BEGIN SOLUTION 01.6
        return np.transpose(a, dims)
        # END SOLUTION


# %% [markdown]
# ## Task 01.7: indexing, concatenation and selection


# %%
class GetItemFn(Function):
    """a[key] for ints, slices, None, Ellipsis, integer and boolean arrays."""

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, key: Any) -> np.ndarray:
        # BEGIN SOLUTION 01.7
        return np.asarray(a[key])
        # END SOLUTION


class CatFn(Function):
    """Concatenation of the inputs along `dim`."""

    @staticmethod
    def forward(ctx: Context, *arrays: np.ndarray, dim: int) -> np.ndarray:
        # BEGIN SOLUTION 01.7
        return np.concatenate(arrays, axis=dim)
        # END SOLUTION


class WhereFn(Function):
    """Elementwise `a` where `condition` holds, else `b` (all broadcast)."""

    @staticmethod
    def forward(ctx: Context, condition: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        # BEGIN SOLUTION 01.7
        return np.where(condition, a, b)
        # END SOLUTION


# %% [markdown]
# ## Task 01.8: comparisons
#
# `x > 0`, `x == y` and friends give a bool tensor, elementwise with broadcasting,
# like PyTorch. They are not `Function`s: a comparison has no gradient (its output is
# flat almost everywhere), so nothing is recorded for autograd and the result never
# requires grad. Anything that is not numbers (None, a string) is not comparable:
# return `NotImplemented` and Python falls back (`x == None` is False, `x < "a"` a
# TypeError).


# %%
def _compare(a: Tensor, other: Any, ufunc: np.ufunc) -> Tensor:
    """`ufunc(a, other)` elementwise (a NumPy comparison such as `np.greater`), as bool."""
    if isinstance(other, (str, bytes)) or other is None:
        return NotImplemented
    a, b = _promote(a, other)
    if b.dtype.kind not in "biuf":  # b is a Tensor or an array here, both have a dtype
        return NotImplemented
    try:
        np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(
            f"{ufunc.__name__}: incompatible shapes {a.shape}, {b.shape} (they do not broadcast)"
        ) from None
    # BEGIN SOLUTION 01.8
    # HINT: call `ufunc` on the two arrays (`_data` gives a tensor's array) and wrap the
    # HINT: result with Tensor._wrap: no Function, so autograd records nothing.
    return Tensor._wrap(ufunc(_data(a), _data(b)))
    # END SOLUTION


# %% [markdown]
# ## Creation and combination functions (given)


# %%
def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Concatenate tensors along an existing dimension `dim`."""
    if not tensors:
        raise ValueError("cat() needs at least one tensor")
    return CatFn.apply(*tensors, dim=dim)


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Stack same-shaped tensors along a new dimension `dim`."""
    if not tensors:
        raise ValueError("stack() needs at least one tensor")
    return cat([t.unsqueeze(dim) for t in tensors], dim=dim)


def where(condition: Any, a: Any, b: Any) -> Tensor:
    """`a` where `condition` is true, else `b`; condition is not differentiated."""
    mask = np.asarray(_data(condition), dtype=bool)
    like = a if isinstance(a, Tensor) else b if isinstance(b, Tensor) else Tensor(0.0)
    return WhereFn.apply(mask, _promote(like, a)[1], _promote(like, b)[1])


def zeros(*shape: int, requires_grad: bool = False) -> Tensor:
    """A float32 tensor of zeros."""
    return Tensor(np.zeros(shape, dtype=DEFAULT_DTYPE), requires_grad=requires_grad)


def ones(*shape: int, requires_grad: bool = False) -> Tensor:
    """A float32 tensor of ones."""
    return Tensor(np.ones(shape, dtype=DEFAULT_DTYPE), requires_grad=requires_grad)


def full(shape: Sequence[int], fill_value: float, requires_grad: bool = False) -> Tensor:
    """A float32 tensor filled with `fill_value`."""
    values = np.full(tuple(shape), fill_value, dtype=DEFAULT_DTYPE)
    return Tensor(values, requires_grad=requires_grad)


def arange(start: float, end: float | None = None, step: float = 1) -> Tensor:
    """Evenly spaced values in [start, end), as `torch.arange` (float32)."""
    values = np.arange(start, end, step) if end is not None else np.arange(start)
    return Tensor(values)


def randn(
    *shape: int, rng: np.random.Generator | None = None, requires_grad: bool = False
) -> Tensor:
    """Standard normal samples; pass `rng` for reproducible results."""
    generator = rng if rng is not None else np.random.default_rng()
    values = generator.standard_normal(shape, dtype=DEFAULT_DTYPE)
    return Tensor(values, requires_grad=requires_grad)


def rand(
    *shape: int, rng: np.random.Generator | None = None, requires_grad: bool = False
) -> Tensor:
    """Uniform samples in [0, 1); pass `rng` for reproducible results."""
    generator = rng if rng is not None else np.random.default_rng()
    return Tensor(generator.random(shape, dtype=DEFAULT_DTYPE), requires_grad=requires_grad)


# %% [markdown]
# ## Memory (given): a tiny caching allocator
#
# NOTE: a CNN training step (module 09) creates tens of megabytes of big arrays (patches,
# activations, gradients) and frees them again. The C library hands freed memory back to
# the operating system, so the next step's arrays start as fresh pages, and the first
# touch of every page costs a page fault: measured, a quarter of a training step of the
# CIFAR-shaped CNN in `benchmarks/cnn_step.py`. `_empty` recycles instead, like PyTorch's caching
# allocator: it keeps each big array it made and hands it out again once nothing refers
# to it any more (no tensor, view or saved context: CPython's reference count says so).
# Later modules use `_empty`, `_zeros` and `_empty_like` for the large arrays an op
# creates (ReLU in module 02, convolution and pooling in module 09); results stay
# ordinary NumPy arrays.


# %%
_CACHE: list[np.ndarray] = []
_CACHE_MIN_BYTES = 1 << 20  # smaller arrays come from NumPy's own allocator
_CACHE_MAX_BYTES = 1 << 30  # past this, free arrays make room, or new ones are not kept


def _empty(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """An uninitialised array, recycled from the cache when a free one of its size exists."""
    dtype = np.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes < _CACHE_MIN_BYTES:
        return np.empty(shape, dtype)
    for buffer in _CACHE:
        # 3 references: the cache list, the loop variable and getrefcount's argument.
        if buffer.nbytes == nbytes and buffer.dtype == dtype and sys.getrefcount(buffer) == 3:
            return buffer.reshape(shape)  # a view: it keeps `buffer` busy while it lives
    buffer = np.empty(shape, dtype)
    cached, index = sum(b.nbytes for b in _CACHE), 0
    while cached + nbytes > _CACHE_MAX_BYTES and index < len(_CACHE):
        if sys.getrefcount(_CACHE[index]) == 2:  # free (the list, the argument): make room
            cached -= _CACHE.pop(index).nbytes
        else:
            index += 1
    if cached + nbytes <= _CACHE_MAX_BYTES:
        _CACHE.append(buffer)
    return buffer.reshape(shape)


def _zeros(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """`_empty`, filled with zeros."""
    array = _empty(shape, dtype)
    array.fill(0)
    return array


def _empty_like(array: np.ndarray) -> np.ndarray:
    """`_empty` of `array`'s shape and dtype, its axes laid out in memory as in `array`.

    A channels-last image batch seen as NCHW (module 09) gets a channels-last result, so
    an elementwise op writes it in the order it reads its input.
    """
    if array.nbytes < _CACHE_MIN_BYTES:
        return np.empty_like(array)  # small: NumPy's own allocator keeps the order too
    if array.flags.c_contiguous:
        return _empty(array.shape, array.dtype)
    order = sorted(range(array.ndim), key=lambda axis: -abs(array.strides[axis]))
    buffer = _empty(tuple(array.shape[axis] for axis in order), array.dtype)
    return buffer.transpose(sorted(range(array.ndim), key=order.__getitem__))
