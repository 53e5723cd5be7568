# %% [markdown]
# # Module 15: Profiling
#
# Before you make a model faster or smaller, measure it. Four numbers describe what a
# model costs, and each one here is either counted exactly or measured, never guessed:
#
# - **parameters**: how many numbers the model learns;
# - **FLOPs**: the arithmetic of one forward pass, counted from the shapes of the
#   matrix products, convolutions and attentions it runs;
# - **bytes**: the memory of the parameters, their gradients, the optimizer's state and
#   the activations of one batch;
# - **latency**: how long one call takes, timed after a warm-up, summarised by the
#   median and the interquartile range (a noisy machine moves the mean, not the median).
#
# Then a profiler tells you *where* the time goes, layer by layer and op by op, like
# `torch.profiler`'s `key_averages().table()`. It watches through hooks (module 01's
# `register_op_hook`, module 03's global module hooks): the model is never edited.
#
# Tasks: 15.1 parameters, 15.2 FLOPs, 15.3 memory, 15.4 latency, 15.5 the profiler.


# %%
from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from tinytorch.core.attention import AttentionFn
from tinytorch.core.autograd import no_grad
from tinytorch.core.layers import (
    Module,
    register_module_forward_hook,
    register_module_forward_pre_hook,
)
from tinytorch.core.optimizers import SGD, Adam, Optimizer
from tinytorch.core.spatial import Conv2dFn
from tinytorch.core.tensor import Context, Function, MatMulFn, register_op_hook

__all__ = [
    "count_parameters",
    "matmul_flops",
    "linear_flops",
    "conv2d_flops",
    "attention_flops",
    "op_flops",
    "count_flops",
    "memory_block",
    "allocated_bytes",
    "optimizer_state_bytes",
    "MemoryReport",
    "memory_footprint",
    "LatencyStats",
    "measure_latency",
    "ProfileRow",
    "profile",
]


# %% [markdown]
# ## Task 15.1: parameters
#
# `count_parameters(model)` is the number of values in all of the model's parameters,
# each parameter once even when two layers share it (`model.parameters()` already lists
# a shared one once). With `trainable_only=True`, count only those with
# `requires_grad`: a frozen layer costs memory but no gradient.


# %%
def _check_model(model: Any, what: str) -> None:
    """A clear error for a model that is not a Module (a function, a Tensor ...)."""
    if not isinstance(model, Module):
        raise TypeError(f"{what} takes a Module (a layer or a model), got {type(model).__name__}")


def count_parameters(model: Module, trainable_only: bool = False) -> int:
    """How many numbers `model` learns: `sum(p.numel() for p in model.parameters())`."""
    _check_model(model, "count_parameters")
    # BEGIN SOLUTION 15.1
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
    # END SOLUTION


# %% [markdown]
# ## Task 15.2: FLOPs
#
# **The convention.** A multiply-add is 2 FLOPs (floating-point operations), and only
# the products count: matrix products, convolutions and attention, which are nearly all
# the arithmetic of a network. Bias additions, activations, norms and softmax count 0.
# This is what PyTorch's `torch.utils.flop_counter.FlopCounterMode` counts. Tools that
# count MACs (multiply-accumulates: fvcore, thop, ptflops) report half these numbers:
# always say which one you quote.
#
# - `matmul_flops(a_shape, b_shape)`: `a @ b` with `a` `(..., m, k)` and `b` `(..., k, n)`
#   makes `m * n` outputs of `k` multiply-adds each, for every matrix of the broadcast
#   batch: `2 * batch * m * k * n`. A 1-D `a` is one row (`m = 1`), a 1-D `b` one column.
# - `linear_flops(input_shape, out_features)`: `Linear` on an input `(*, in_features)`
#   is a matmul: `2 * rows * in_features * out_features` (the bias counts 0).
# - `conv2d_flops(input_shape, weight_shape, stride, padding)`: each of the
#   `N * C_out * OH * OW` outputs is a dot product of `C_in * kh * kw` terms.
# - `attention_flops(query_shape, key_shape, value_shape)`: the scores `q k^T` are a
#   matmul `(..., L, E) @ (..., E, S)`, the output `weights @ v` one of
#   `(..., L, S) @ (..., S, Ev)`. A causal mask does not change the count (PyTorch's
#   counter counts the full product too: the masked scores are computed anyway).
# - `op_flops(fn, ctx)`: the FLOPs of one op that ran, from its op class and the arrays
#   in its context: `MatMulFn`, `Conv2dFn` (`ctx.params` holds `stride` and `padding`)
#   and `AttentionFn` (query, key and value are its first three inputs); 0 for any
#   other op.
# - `count_flops(model, *inputs)`: run `model(*inputs)` under `no_grad` and add up
#   `op_flops` of every op it runs. `watch_ops` (given, below) tells you about each op.


# %%
Shape = tuple[int, ...]


def _shape(shape: Any, what: str, ndim: int | None = None, least: int = 1) -> Shape:
    """`shape` as a tuple of sizes, checked: `ndim` dimensions (or at least `least`)."""
    shape = tuple(shape)
    if not all(isinstance(size, int | np.integer) and size >= 0 for size in shape):
        raise ValueError(f"{what}: a shape is a tuple of sizes >= 0, got {shape}")
    if (ndim is not None and len(shape) != ndim) or len(shape) < least:
        want = f"{ndim} dimensions" if ndim is not None else f"at least {least}"
        raise ValueError(f"{what}: expected a shape with {want}, got {shape}")
    return tuple(int(size) for size in shape)


def matmul_flops(a_shape: Shape, b_shape: Shape) -> int:
    """FLOPs of `a @ b` (2 per multiply-add), batch dimensions broadcast as in matmul."""
    a_shape, b_shape = _shape(a_shape, "matmul_flops"), _shape(b_shape, "matmul_flops")
    if a_shape[-1] != b_shape[-2 if len(b_shape) > 1 else 0]:
        raise ValueError(f"matmul_flops: the inner sizes of {a_shape} @ {b_shape} differ")
    # BEGIN SOLUTION 15.2
    # HINT: m, k = a_shape[-2:] (or 1, a_shape[0] when 1-D); k, n = b_shape[-2:] (or
    # HINT: b_shape[0], 1); batch = math.prod(np.broadcast_shapes(a_shape[:-2], b_shape[:-2])).
    m, k = a_shape[-2:] if len(a_shape) > 1 else (1, a_shape[0])
    n = b_shape[-1] if len(b_shape) > 1 else 1
    batch = math.prod(np.broadcast_shapes(a_shape[:-2], b_shape[:-2]))
    return 2 * batch * m * k * n
    # END SOLUTION


def linear_flops(input_shape: Shape, out_features: int) -> int:
    """FLOPs of `Linear(in_features, out_features)` on an input `(*, in_features)`."""
    input_shape = _shape(input_shape, "linear_flops")
    # BEGIN SOLUTION 15.2
    *rows, in_features = input_shape
    return 2 * math.prod(rows) * in_features * out_features
    # END SOLUTION


def conv2d_flops(
    input_shape: Shape,
    weight_shape: Shape,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
) -> int:
    """FLOPs of a 2-D convolution: input `(N, C_in, H, W)`, weight `(C_out, C_in, kh, kw)`."""
    input_shape = _shape(input_shape, "conv2d_flops input", ndim=4)
    weight_shape = _shape(weight_shape, "conv2d_flops weight", ndim=4)
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    if input_shape[1] != weight_shape[1] or min(sh, sw) < 1 or min(ph, pw) < 0:
        raise ValueError(
            f"conv2d_flops: input {input_shape} and weight {weight_shape} need the same C_in, "
            f"stride >= 1 and padding >= 0 (got stride {stride}, padding {padding})"
        )
    if input_shape[2] + 2 * ph < weight_shape[2] or input_shape[3] + 2 * pw < weight_shape[3]:
        raise ValueError(
            f"conv2d_flops: kernel {weight_shape[2:]} is larger than the padded input "
            f"{input_shape[2:]} with padding {padding}"
        )
    # BEGIN SOLUTION 15.2
    # HINT: OH = (H + 2 * ph - kh) // sh + 1 (OW alike); 2 * N * C_out * OH * OW * C_in * kh * kw.
    n, c_in, h, w = input_shape
    c_out, _, kh, kw = weight_shape
    oh, ow = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    return 2 * n * c_out * oh * ow * c_in * kh * kw
    # END SOLUTION


def attention_flops(query_shape: Shape, key_shape: Shape, value_shape: Shape) -> int:
    """FLOPs of `softmax(q k^T) v`: query `(..., L, E)`, key `(..., S, E)`, value `(..., S, Ev)`."""
    query_shape = _shape(query_shape, "attention_flops query", least=2)
    key_shape = _shape(key_shape, "attention_flops key", least=2)
    value_shape = _shape(value_shape, "attention_flops value", least=2)
    if query_shape[-1] != key_shape[-1] or key_shape[-2] != value_shape[-2]:
        raise ValueError(
            "attention_flops expects query (..., L, E), key (..., S, E) and value (..., S, Ev), "
            f"got {query_shape}, {key_shape} and {value_shape}"
        )
    # BEGIN SOLUTION 15.2
    # HINT: two matmul_flops: q @ k^T (swap the key's last two sizes), then (..., L, S) @ v.
    key_t = (*key_shape[:-2], key_shape[-1], key_shape[-2])
    scores = (
        *np.broadcast_shapes(query_shape[:-2], key_shape[:-2]),
        query_shape[-2],
        key_shape[-2],
    )
    return matmul_flops(query_shape, key_t) + matmul_flops(scores, value_shape)
    # END SOLUTION


def op_flops(fn: type[Function], ctx: Context) -> int:
    """FLOPs of one op that ran (its class and context), by the convention above."""
    # BEGIN SOLUTION 15.2
    # HINT: issubclass(fn, MatMulFn) etc.; the shapes are np.shape(ctx.inputs[i]).
    shapes = [np.shape(array) for array in ctx.inputs]
    if issubclass(fn, MatMulFn):
        return matmul_flops(shapes[0], shapes[1])
    if issubclass(fn, Conv2dFn):
        return conv2d_flops(shapes[0], shapes[1], ctx.params["stride"], ctx.params["padding"])
    if issubclass(fn, AttentionFn):
        return attention_flops(shapes[0], shapes[1], shapes[2])
    return 0
    # END SOLUTION


OpCallback = Callable[[type[Function], Context, tuple, tuple], None]


@contextmanager
def watch_ops(callback: OpCallback) -> Iterator[None]:
    """Call `callback(fn, ctx, inputs, outputs)` after every forward op inside the block."""

    class Watcher:
        def op_started(self, fn: type[Function], ctx: Context, backward: bool) -> None:
            pass

        def op_finished(
            self, fn: type[Function], ctx: Context, backward: bool, inputs: tuple, outputs: tuple
        ) -> None:
            if not backward:
                callback(fn, ctx, inputs, outputs)

    with register_op_hook(Watcher()):
        yield


def count_flops(model: Module, *inputs: Any, **kwargs: Any) -> int:
    """FLOPs of one forward pass `model(*inputs, **kwargs)`, counted op by op."""
    _check_model(model, "count_flops")
    # BEGIN SOLUTION 15.2
    # HINT: total = [0]; a callback adding op_flops(fn, ctx); with no_grad(), watch_ops(...).
    total = [0]

    def add(fn: type[Function], ctx: Context, given: tuple, outputs: tuple) -> None:
        total[0] += op_flops(fn, ctx)

    with no_grad(), watch_ops(add):
        model(*inputs, **kwargs)
    return total[0]
    # END SOLUTION


# %% [markdown]
# ## Task 15.3: memory
#
# Training holds four kinds of memory, each computed exactly here:
# - **parameters**: the bytes of every parameter's array (each shared one once);
# - **gradients**: one array of the parameter's shape and dtype for each parameter that
#   requires a gradient;
# - **optimizer state**: `optimizer_state_bytes(optimizer)`, what the optimizer holds
#   once every parameter has stepped: SGD with momentum one buffer per parameter (none
#   without momentum), Adam and AdamW two (`exp_avg` and `exp_avg_sq`). The step
#   counters are Python ints, not arrays: count arrays only. Another optimizer class is
#   a `TypeError` that names it.
# - **activations**: what the forward pass allocates. `allocated_bytes(inputs, outputs)`
#   is the bytes of the memory behind an op's outputs that the op made itself: a view of
#   an input (a reshape, a transpose, a slice) costs nothing, and several outputs that
#   share one block count it once. `memory_block(array)` (given) is the array that owns
#   the block an array lives in. The activations of a batch are the `allocated_bytes` of
#   every op that `model(*inputs)` runs, under `no_grad` (recording the graph allocates
#   nothing more; it keeps these arrays alive until backward).
#
# `memory_footprint(model, *inputs, optimizer=None)` puts the four in a `MemoryReport`.


# %%
def memory_block(array: np.ndarray) -> np.ndarray:
    """The array that owns the memory `array` lives in (a view's base, followed to the end)."""
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


def allocated_bytes(inputs: tuple, outputs: tuple) -> int:
    """Bytes of the memory behind `outputs` that is not the memory of any of `inputs`."""
    # BEGIN SOLUTION 15.3
    # HINT: skip what is not an ndarray; the ids of the inputs' memory_block are taken;
    # HINT: collect {id(block): block.nbytes} for the outputs' other blocks and add them up.
    taken = {id(memory_block(a)) for a in inputs if isinstance(a, np.ndarray)}
    blocks: dict[int, int] = {}
    for array in outputs:
        if isinstance(array, np.ndarray):
            block = memory_block(array)
            if id(block) not in taken:
                blocks[id(block)] = block.nbytes
    return sum(blocks.values())
    # END SOLUTION


def optimizer_state_bytes(optimizer: Optimizer) -> int:
    """Bytes of the state `optimizer` holds once every one of its parameters has stepped."""
    # BEGIN SOLUTION 15.3
    # HINT: per group: buffers = 2 for Adam (AdamW is one), 1 for SGD with a momentum, else
    # HINT: 0; add buffers * p.data.nbytes for each of the group's "params".
    total = 0
    for group in optimizer.param_groups:
        if isinstance(optimizer, Adam):
            buffers = 2
        elif isinstance(optimizer, SGD):
            buffers = 1 if group["momentum"] != 0 else 0
        else:
            name = type(optimizer).__name__
            raise TypeError(f"optimizer_state_bytes knows SGD, Adam and AdamW, not {name}")
        total += buffers * sum(p.data.nbytes for p in group["params"])
    return total
    # END SOLUTION


@dataclass(frozen=True)
class MemoryReport:
    """Bytes of what training a model on one batch holds (`memory_footprint`)."""

    parameters: int
    gradients: int
    optimizer_state: int
    activations: int

    @property
    def total(self) -> int:
        """All four together."""
        return self.parameters + self.gradients + self.optimizer_state + self.activations

    def __str__(self) -> str:
        parts = ", ".join(f"{name} {value:,}" for name, value in vars(self).items())
        return f"{parts}; total {self.total:,} bytes"


def memory_footprint(
    model: Module, *inputs: Any, optimizer: Optimizer | None = None, **kwargs: Any
) -> MemoryReport:
    """Exact bytes of parameters, gradients, optimizer state and the batch's activations."""
    _check_model(model, "memory_footprint")
    # BEGIN SOLUTION 15.3
    # HINT: activations: with no_grad(), watch_ops(a callback adding allocated_bytes(...)).
    params = list(model.parameters())
    activations = [0]

    def add(fn: type[Function], ctx: Context, given: tuple, outputs: tuple) -> None:
        activations[0] += allocated_bytes(given, outputs)

    with no_grad(), watch_ops(add):
        model(*inputs, **kwargs)
    return MemoryReport(
        parameters=sum(p.data.nbytes for p in params),
        gradients=sum(p.data.nbytes for p in params if p.requires_grad),
        optimizer_state=0 if optimizer is None else optimizer_state_bytes(optimizer),
        activations=activations[0],
    )
    # END SOLUTION


# %% [markdown]
# ## Task 15.4: latency
#
# A single timing says little: the first calls pay for cold caches and lazy set-up, and
# any later call can be slowed by another program. So run `fn` `warmup` times without
# timing it, then `repeats` times, each timed alone with `clock` (seconds, by default
# `time.perf_counter`). Read the clock right before and right after each call, and
# nothing else between: every sample is one call's duration.
#
# Summarise the samples by their median and quartiles, the 25th and 75th percentiles
# with linear interpolation (`np.percentile`'s default, as `torch.quantile`). Half the
# runs took between `q1` and `q3`; their difference, the interquartile range, says how
# much to trust the median. `clock` is a parameter so that a test can hand in a clock
# it controls; your own measurements keep the default.


# %%
@dataclass(frozen=True)
class LatencyStats:
    """Timings of repeated calls, in seconds.

    Attributes:
        median: the middle duration (the number to report).
        q1, q3: the 25th and 75th percentiles (linear interpolation).
        samples: every timed duration, in the order measured.
    """

    median: float
    q1: float
    q3: float
    samples: tuple[float, ...]

    @property
    def iqr(self) -> float:
        """The interquartile range `q3 - q1`: how spread the middle half of the runs is."""
        return self.q3 - self.q1

    def __str__(self) -> str:
        return (
            f"median {self.median * 1e3:.3f} ms (IQR {self.iqr * 1e3:.3f} ms, "
            f"{len(self.samples)} runs)"
        )


def measure_latency(
    fn: Callable[[], object],
    *,
    warmup: int = 3,
    repeats: int = 20,
    clock: Callable[[], float] = time.perf_counter,
) -> LatencyStats:
    """Time `fn()`: `warmup` untimed calls, then `repeats` calls each timed by `clock`.

    Example:
        >>> stats = measure_latency(lambda: sum(range(1000)), repeats=5)
        >>> len(stats.samples), stats.q1 <= stats.median <= stats.q3
        (5, True)
    """
    if not callable(fn) or not callable(clock):
        raise TypeError("measure_latency(fn, clock=...) needs callables for fn and clock")
    for name, value, least in (("warmup", warmup, 0), ("repeats", repeats, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ValueError(f"measure_latency: {name} must be an int >= {least}, got {value!r}")
    # BEGIN SOLUTION 15.4
    # HINT: call fn() warmup times; then for each repeat: start = clock(); fn();
    # HINT: durations.append(clock() - start). np.percentile(durations, [25, 50, 75]).
    for _ in range(warmup):
        fn()
    durations = []
    for _ in range(repeats):
        start = clock()
        fn()
        durations.append(float(clock() - start))
    q1, median, q3 = np.percentile(durations, [25, 50, 75])
    return LatencyStats(float(median), float(q1), float(q3), tuple(durations))
    # END SOLUTION


# %% [markdown]
# ## Task 15.5: the profiler
#
# `with profile(model) as prof:` records every module call and every op, forward and
# backward, that runs inside the block; `prof.key_averages()` sums them into one
# `ProfileRow` per name and `prof.table()` prints the rows, as `torch.profiler` does.
#
# It watches through hooks and nothing else: `__enter__` registers module 03's global
# forward pre-hook and forward hook and module 01's op hook (the profile itself is the
# op hook: it has `op_started` and `op_finished`); `__exit__` removes every one of them,
# also when the block raised. The model is never edited: no method replaced, no
# attribute set, nothing left behind.
#
# Events nest: a module's forward runs sub-modules, and they run ops. Keep a stack of
# the open events. When one ends, its *total* time is its end minus its start on
# `clock`; its *self* time is the total minus the totals of the events directly inside
# it; its total is added to its parent's children time, and its bytes and FLOPs to its
# parent's. So a module's bytes and FLOPs are those of every op it ran (inclusive, like
# its total time), and an op's are its own: `allocated_bytes(inputs, outputs)` and, for
# a forward op, `op_flops` (a backward rule counts 0 FLOPs here).
#
# Names: an op by its class (`"MatMulFn"`), a backward rule by its op's class and
# `".backward"` (`"MatMulFn.backward"`), a module by its dotted path in the model and its
# class (`"0: Linear"`); the model itself, and a module that is not in the model, by the
# class alone. A module reachable along two paths keeps the first. If an event ends
# while events opened after it are still open (an error escaped them), drop those.


# %%
@dataclass(frozen=True)
class ProfileRow:
    """One row of a profile: every event of one name, added up (times in seconds)."""

    name: str
    kind: str  # "module", "op" or "backward"
    calls: int
    self_time: float
    total_time: float
    bytes_allocated: int
    flops: int


SORT_KEYS = ("self_time", "total_time", "calls", "bytes_allocated", "flops")


class _Event:
    """An open event on the profiler's stack."""

    __slots__ = ("token", "name", "kind", "start", "children_time", "bytes_allocated", "flops")

    def __init__(self, token: object, name: str, kind: str, start: float) -> None:
        self.token, self.name, self.kind, self.start = token, name, kind, start
        self.children_time, self.bytes_allocated, self.flops = 0.0, 0, 0


class profile:  # noqa: N801 (PyTorch's name)
    """Record the modules and ops that run inside a `with` block (as `torch.profiler`).

    Args:
        model: names the modules by their path in it (optional).
        clock: the time in seconds (`time.perf_counter`; tests hand in their own).

    Example:
        >>> with profile(model) as prof:
        ...     model(x).sum().backward()
        >>> print(prof.table(sort_by="self_time", row_limit=10))
    """

    def __init__(
        self, model: Module | None = None, clock: Callable[[], float] = time.perf_counter
    ) -> None:
        if model is not None:
            _check_model(model, "profile")
        if not callable(clock):
            raise TypeError(f"profile: clock must be a callable giving seconds, got {clock!r}")
        self.model, self.clock = model, clock
        self._names: dict[int, str] = {}
        if model is not None:
            for path, module in model.named_modules():
                name = f"{path}: {type(module).__name__}" if path else type(module).__name__
                self._names.setdefault(id(module), name)
        self._rows: dict[str, list] = {}
        self._stack: list[_Event] = []
        self._handles: list[Any] = []

    def __enter__(self) -> profile:
        # BEGIN SOLUTION 15.5
        # HINT: keep the three handles that registering returns, to remove them on exit.
        self._handles = [
            register_module_forward_pre_hook(self._module_started),
            register_module_forward_hook(self._module_finished),
            register_op_hook(self),
        ]
        # END SOLUTION
        return self

    def __exit__(self, *exc_info: object) -> None:
        # BEGIN SOLUTION 15.5
        for handle in self._handles:
            handle.remove()
        self._handles = []
        self._stack.clear()
        # END SOLUTION

    # ---- what the hooks call ----
    def _module_started(self, module: Module, args: tuple) -> None:
        name = self._names.get(id(module), type(module).__name__)
        self._start(module, name, "module")

    def _module_finished(self, module: Module, args: tuple, output: Any) -> None:
        self._finish(module, 0, 0)

    def op_started(self, fn: type[Function], ctx: Context, backward: bool) -> None:
        """Module 01's op hook: an op (or, with `backward`, its rule) starts."""
        self._start(
            ctx,
            f"{fn.__name__}.backward" if backward else fn.__name__,
            "backward" if backward else "op",
        )

    def op_finished(
        self, fn: type[Function], ctx: Context, backward: bool, inputs: tuple, outputs: tuple
    ) -> None:
        """Module 01's op hook: the op finished with `outputs`."""
        flops = 0 if backward else op_flops(fn, ctx)
        self._finish(ctx, allocated_bytes(inputs, outputs), flops)

    # ---- the stack ----
    def _start(self, token: object, name: str, kind: str) -> None:
        # BEGIN SOLUTION 15.5
        self._stack.append(_Event(token, name, kind, self.clock()))
        # END SOLUTION

    def _finish(self, token: object, bytes_allocated: int, flops: int) -> None:
        """Close the open event of `token`: its times, bytes and FLOPs into its row."""
        end = self.clock()
        # BEGIN SOLUTION 15.5
        # HINT: find the event whose token `is` this one from the top of the stack (none:
        # HINT: return); pop it and everything above it; row = [kind, calls, self, total,
        # HINT: bytes, flops] in self._rows[name]; then update the parent (the new top).
        depth = next(
            (i for i in range(len(self._stack) - 1, -1, -1) if self._stack[i].token is token),
            None,
        )
        if depth is None:
            return
        event = self._stack[depth]
        del self._stack[depth:]
        total = end - event.start
        event.bytes_allocated += bytes_allocated
        event.flops += flops
        row = self._rows.setdefault(event.name, [event.kind, 0, 0.0, 0.0, 0, 0])
        row[1] += 1
        row[2] += total - event.children_time
        row[3] += total
        row[4] += event.bytes_allocated
        row[5] += event.flops
        if self._stack:
            parent = self._stack[-1]
            parent.children_time += total
            parent.bytes_allocated += event.bytes_allocated
            parent.flops += event.flops
        # END SOLUTION

    # ---- results ----
    def key_averages(self) -> list[ProfileRow]:
        """One row per name, in the order the names first finished."""
        return [ProfileRow(name, *values) for name, values in self._rows.items()]

    def table(self, sort_by: str = "self_time", row_limit: int | None = None) -> str:
        """The rows as a text table, largest `sort_by` first (as `key_averages().table()`)."""
        if sort_by not in SORT_KEYS:
            raise ValueError(f"sort_by must be one of {', '.join(SORT_KEYS)}; got {sort_by!r}")
        rows = sorted(self.key_averages(), key=lambda row: getattr(row, sort_by), reverse=True)
        all_self = sum(row.self_time for row in rows) or 1.0
        header = ("Name", "Kind", "Self time", "Self %", "Total time", "Calls", "Bytes", "FLOPs")
        lines = [
            (
                row.name,
                row.kind,
                _seconds(row.self_time),
                f"{100 * row.self_time / all_self:.1f}%",
                _seconds(row.total_time),
                str(row.calls),
                f"{row.bytes_allocated:,}",
                f"{row.flops:,}",
            )
            for row in rows[:row_limit]
        ]
        widths = [max(len(cells[i]) for cells in [header, *lines]) for i in range(len(header))]
        rule = "  ".join("-" * width for width in widths)
        text = [rule, _line(header, widths), rule, *(_line(cells, widths) for cells in lines), rule]
        text.append(f"Self time total: {_seconds(sum(row.self_time for row in rows))}")
        return "\n".join(text)


def _seconds(value: float) -> str:
    """A duration with a readable unit: 1.234 s, 12.345 ms, 67.890 us."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3)):
        if abs(value) >= scale:
            return f"{value / scale:.3f} {unit}"
    return f"{value / 1e-6:.3f} us"


def _line(cells: tuple[str, ...], widths: list[int]) -> str:
    """One table line: the name left-aligned, the numbers right-aligned."""
    first = cells[0].ljust(widths[0])
    rest = (cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True))
    return "  ".join([first, *rest])
