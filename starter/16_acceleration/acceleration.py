# %% [markdown]
# # Module 16: Acceleration
#
# The same arithmetic can take a thousand times longer or shorter depending on how it
# is written. Four habits make NumPy code fast, and you will measure each one on your
# machine with your own `measure_latency` from module 15:
#
# - **vectorize**: a Python loop pays the interpreter for every number; one NumPy call
#   pays it once per array, and BLAS (`a @ b`) adds SIMD and cache blocking on top;
# - **fewer temporaries**: every `a * b` allocates a new array and walks memory once
#   more; `out=`, in-place operators and `x * x * x` instead of `x ** 3` avoid that;
# - **fuse**: softmax followed by cross-entropy shares one exponential, and its gradient
#   is simply `softmax - one_hot`;
# - **block for the cache**: work on tiles small enough to stay in the CPU's cache.
#
# Every fast version is checked against a plain reference before it is timed: a fast
# wrong answer is worth nothing. Run this file (`python acceleration.py`) to print your
# measurements; `report()` does it.
#
# Tasks: 16.1 loops, vectorized, BLAS; 16.2 fewer temporaries; 16.3 a fused
# softmax-cross-entropy; 16.4 a cache-blocked matmul; 16.5 im2col against direct
# convolution; 16.6 a checked race.


# %%
from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from tinytorch.core.profiling import LatencyStats, measure_latency
from tinytorch.core.spatial import _nchw, _nhwc, _output_size, _pad, _window, im2col

__all__ = [
    "matmul_loops",
    "matmul_vectorized",
    "gelu_tanh_naive",
    "gelu_tanh",
    "sgd_momentum_",
    "softmax_cross_entropy_unfused",
    "softmax_cross_entropy",
    "tile_matmul",
    "tile_broadcast",
    "blocked_matmul",
    "conv2d_direct",
    "conv2d_im2col",
    "Measured",
    "race",
    "report",
]

Kernel = Callable[[np.ndarray, np.ndarray, np.ndarray], None]


def _check_matmul(a: np.ndarray, b: np.ndarray, what: str) -> None:
    """A ValueError unless `a` and `b` are matrices whose inner sizes agree."""
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise ValueError(
            f"{what} needs matrices (M, K) and (K, N), got shapes {a.shape} and {b.shape}"
        )


# %% [markdown]
# ## Task 16.1: loops, vectorized NumPy, BLAS
#
# `matmul_loops` is the textbook triple loop in plain Python (on lists: indexing NumPy
# arrays element by element is slower still). `matmul_vectorized` has no Python loop:
# `a[:, :, None] * b[None, :, :]` broadcasts to an `(M, K, N)` array of products, and a
# sum over K finishes the job. It is fast for small inputs, but that temporary grows
# as M * K * N (Task 16.4 keeps it small with tiles). BLAS is simply `a @ b`.


# %%
def matmul_loops(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """`a @ b` with three Python loops (a baseline: slow on purpose).

    Shape:
        `(M, K) @ (K, N) -> (M, N)`
    """
    _check_matmul(a, b, "matmul_loops")
    # TODO (Task 16.1)
    raise NotImplementedError(
        'Task 16.1: implement matmul_loops. Hint: rows, columns = a.tolist(), b.T.tolist(); out = '
        'np.zeros((M, N), np.result_type(a, b)); for i, for j: add up rows[i][k] * columns[j][k] '
        'over k in a Python float, then store it in out[i, j].'
    )


def matmul_vectorized(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """`a @ b` by broadcasting and one sum, without a Python loop or BLAS.

    Shape:
        `(M, K) @ (K, N) -> (M, N)`
    """
    _check_matmul(a, b, "matmul_vectorized")
    # TODO (Task 16.1)
    raise NotImplementedError('Task 16.1: implement matmul_vectorized.')


# %% [markdown]
# ## Task 16.2: fewer temporaries
#
# GELU's tanh form is `0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))`. Written as
# one expression (`gelu_tanh_naive`, given) NumPy makes eight temporaries, and
# `x ** 3` on float32 goes through the general power function, far slower than two
# multiplications. `gelu_tanh` uses one scratch array for the whole inner expression,
# updated in place (`*=`, `+=`, `np.tanh(s, out=s)`), and writes the result into `out`
# (a new array when `out` is None). `out` may be `x` itself: the last step reads each
# `x` before it writes the same element.
#
# `sgd_momentum_` (the trailing underscore says "in place", as in PyTorch) updates a
# parameter and its velocity where they are: `v = momentum * v + grad`, then
# `param -= lr * v`.


# %%
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def gelu_tanh_naive(x: np.ndarray) -> np.ndarray:
    """GELU (tanh form) in one expression: the baseline of Task 16.2."""
    return 0.5 * x * (1.0 + np.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x**3)))


def gelu_tanh(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """GELU (tanh form) with one temporary, written into `out` (which may be `x`).

    Shape:
        Input `(*)`, output `(*)`, the same shape and dtype.
    """
    if out is None:
        out = np.empty_like(x)
    elif out.shape != x.shape or out.dtype != x.dtype:
        raise ValueError(
            f"gelu_tanh: out must match x, got out {out.shape} {out.dtype} for x "
            f"{x.shape} {x.dtype}"
        )
    # TODO (Task 16.2)
    raise NotImplementedError(
        'Task 16.2: implement gelu_tanh. Hint: inner = np.multiply(x, x, out=np.empty_like(x)) '
        '(the one temporary, an array even for a 0-d x); inner *= x; inner *= 0.044715; inner += '
        'x; inner *= sqrt(2 / pi); np.tanh(inner, out=inner); inner += 1; np.multiply(inner, x, '
        'out=out); out *= 0.5; return out.'
    )


def sgd_momentum_(
    param: np.ndarray, grad: np.ndarray, velocity: np.ndarray, *, lr: float, momentum: float
) -> None:
    """One SGD step with momentum, in place: `v = momentum v + grad; param -= lr v`."""
    if not param.shape == grad.shape == velocity.shape:
        raise ValueError(
            f"sgd_momentum_: param, grad and velocity need one shape, got {param.shape}, "
            f"{grad.shape} and {velocity.shape}"
        )
    # TODO (Task 16.2)
    raise NotImplementedError(
        'Task 16.2: implement sgd_momentum_. Hint: velocity *= momentum; velocity += grad; param '
        '-= lr * velocity.'
    )


# %% [markdown]
# ## Task 16.3: a fused softmax-cross-entropy
#
# Unfused (`softmax_cross_entropy_unfused`, given), the loss takes the softmax, then
# its log, and the gradient goes back through both: `-1 / p` of the right class, then
# the softmax's Jacobian. That is several passes and several arrays, and `1 / p`
# overflows as soon as a probability underflows to 0 (try logits 0 and 200).
# Fused, one shifted exponential serves both: with `e = exp(x - max)` and `s` its row
# sums, the loss is `mean(log(s) - (x - max)[target])` and the gradient of the mean loss
# is `(e / s - one_hot) / N`, computed in the array that held `e`.


# %%
def _check_targets(logits: np.ndarray, targets: np.ndarray, what: str) -> np.ndarray:
    """Targets as int64 class indices for `(N, C)` logits, or a clear ValueError."""
    targets = np.asarray(targets)
    if logits.ndim != 2 or logits.shape[0] == 0:
        raise ValueError(f"{what} needs (N, C) logits with N >= 1, got {logits.shape}")
    if targets.shape != (logits.shape[0],) or targets.dtype.kind not in "iu":
        raise ValueError(
            f"{what} needs {logits.shape[0]} integer targets, got {targets.dtype} {targets.shape}"
        )
    if targets.min() < 0 or targets.max() >= logits.shape[1]:
        raise ValueError(f"{what}: targets must be classes 0 to {logits.shape[1] - 1}")
    return targets.astype(np.int64, copy=False)


def softmax_cross_entropy_unfused(
    logits: np.ndarray, targets: np.ndarray
) -> tuple[float, np.ndarray]:
    """Mean cross-entropy and its gradient through a separate softmax (the baseline)."""
    targets = _check_targets(logits, targets, "softmax_cross_entropy_unfused")
    rows = np.arange(len(targets))
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs = exp / exp.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        loss = float(-np.mean(np.log(probs[rows, targets])))
        grad_probs = np.zeros_like(probs)
        grad_probs[rows, targets] = -1.0 / (len(targets) * probs[rows, targets])
        grad = probs * (grad_probs - (grad_probs * probs).sum(axis=1, keepdims=True))
    return loss, grad


def softmax_cross_entropy(logits: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of `(N, C)` logits and its gradient, in one fused pass.

    Returns:
        `(loss, grad)`: the loss as a float, the gradient of shape `(N, C)` in the
        logits' dtype (a new array; `logits` is left as it was).
    """
    targets = _check_targets(logits, targets, "softmax_cross_entropy")
    # TODO (Task 16.3)
    raise NotImplementedError(
        'Task 16.3: implement softmax_cross_entropy. Hint: grad = logits - max (the one big '
        'array); picked = grad[rows, targets]; np.exp(grad, out=grad); sums = grad.sum(1); loss = '
        'mean(log(sums) - picked); grad /= sums[:, None]; grad[rows, targets] -= 1; grad /= N.'
    )


# %% [markdown]
# ## Task 16.4: a cache-blocked matmul
#
# `blocked_matmul` cuts `out = a @ b` into tiles: for each `(bm, bn)` tile of `out`,
# it walks K in steps of `bk` and lets `kernel(a_tile, b_tile, out_tile)` add
# `a_tile @ b_tile` into `out_tile` (a view of `out`, so the sum lands in place). The
# out tile stays in cache while K is summed into it. Block sizes need not divide the
# shapes: the last tiles are smaller. `block` is one size for all three or a tuple
# `(bm, bn, bk)`.
#
# Two kernels are given: `tile_matmul` (BLAS on one tile) and `tile_broadcast`
# (`matmul_vectorized`'s broadcast on one tile: its `(bm, bk, bn)` temporary can fit in
# the cache, where the whole `(M, K, N)` one never does). The block size is a trade:
# every kernel call costs Python's overhead, so tiny tiles lose; `report()` measures two
# sizes. BLAS itself blocks the same way, in C, around a hand-tuned inner kernel. Never
# multiply the whole operands inside: the hidden tests hand in a kernel that counts
# the tiles.


# %%
def tile_matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    """Kernel: `out += a @ b` for one tile, through BLAS."""
    out += a @ b


def tile_broadcast(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    """Kernel: `out += a @ b` for one tile, by broadcasting (no BLAS)."""
    out += (a[:, :, None] * b[None, :, :]).sum(axis=1)


def _block_sizes(block: int | tuple[int, int, int]) -> tuple[int, int, int]:
    """`(bm, bn, bk)` from one size or three, each a positive int."""
    sizes = tuple(block) if isinstance(block, tuple | list) else (block,) * 3
    if len(sizes) != 3 or not all(
        isinstance(s, int | np.integer) and not isinstance(s, bool) and s > 0 for s in sizes
    ):
        raise ValueError(f"block must be a positive int or three of them, got {block!r}")
    return int(sizes[0]), int(sizes[1]), int(sizes[2])


def blocked_matmul(
    a: np.ndarray,
    b: np.ndarray,
    block: int | tuple[int, int, int] = 64,
    kernel: Kernel | None = None,
) -> np.ndarray:
    """`a @ b` computed tile by tile; `kernel(a_tile, b_tile, out_tile)` adds each product.

    Shape:
        `(M, K) @ (K, N) -> (M, N)`
    """
    _check_matmul(a, b, "blocked_matmul")
    bm, bn, bk = _block_sizes(block)
    kernel = tile_matmul if kernel is None else kernel
    # TODO (Task 16.4)
    raise NotImplementedError(
        'Task 16.4: implement blocked_matmul. Hint: out = np.zeros((M, N), np.result_type(a, b)); '
        'three loops over range(0, M, bm), range(0, N, bn), then range(0, K, bk) innermost: '
        'kernel(a[i:i + bm, k:k + bk], b[k:k + bk, j:j + bn], out[i:i + bm, j:j + bn]).'
    )


# %% [markdown]
# ## Task 16.5: im2col against direct convolution
#
# Module 09 turned a convolution into ONE matrix product over the patch matrix
# (`im2col`). The direct way needs no patch matrix: for each kernel tap `(i, j)`, the
# strided window of the input that the tap sees, an `(N, OH, OW, C_in)` array, times
# `weight[:, :, i, j]` transposed, is added into the output (`np.tensordot` over the
# channels). That is kh * kw products, each with only C_in terms to sum: less memory,
# smaller and slower BLAS calls. Both work channels-last inside, with module 09's
# helpers (`_pad`, `_nhwc`, `_nchw`, `_window`, `_output_size`, `im2col`).


# %%
def _conv_geometry(
    x: np.ndarray, weight: np.ndarray, stride: int | tuple[int, int], padding: int | tuple[int, int]
) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    """`(stride, padding, (OH, OW))` of a convolution, or a ValueError saying what is wrong."""
    pairs = [(v, v) if isinstance(v, int) else tuple(v) for v in (stride, padding)]
    if min(pairs[0]) < 1 or min(pairs[1]) < 0:
        raise ValueError(f"stride must be >= 1 and padding >= 0, got {stride} and {padding}")
    if x.ndim != 4 or weight.ndim != 4 or x.shape[1] != weight.shape[1]:
        raise ValueError(
            f"convolution needs x (N, C, H, W) and weight (C_out, C, kh, kw), got {x.shape} "
            f"and {weight.shape}"
        )
    (sh, sw), (ph, pw) = pairs
    oh = _output_size(x.shape[2], weight.shape[2], sh, ph, "convolution height")
    ow = _output_size(x.shape[3], weight.shape[3], sw, pw, "convolution width")
    return (sh, sw), (ph, pw), (oh, ow)


def conv2d_direct(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
) -> np.ndarray:
    """Convolution (as `F.conv2d`) summed tap by tap, without a patch matrix.

    Shape:
        `(N, C_in, H, W) -> (N, C_out, (H + 2p - kh) // s + 1, (W + 2p - kw) // s + 1)`
    """
    stride, padding, (oh, ow) = _conv_geometry(x, weight, stride, padding)
    # TODO (Task 16.5)
    raise NotImplementedError(
        'Task 16.5: implement conv2d_direct. Hint: xp = _pad(_nhwc(x), padding); out = zeros (N, '
        'OH, OW, C_out); for each tap: out += np.tensordot(xp[:, _window(i, oh, stride[0]), '
        '_window(j, ow, stride[1]), :], weight[:, :, i, j], axes=([3], [1])); add bias; return '
        '_nchw(out).'
    )


def conv2d_im2col(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
) -> np.ndarray:
    """Convolution (as `F.conv2d`) as one matrix product over module 09's patch matrix.

    Shape:
        `(N, C_in, H, W) -> (N, C_out, (H + 2p - kh) // s + 1, (W + 2p - kw) // s + 1)`
    """
    stride, padding, (oh, ow) = _conv_geometry(x, weight, stride, padding)
    c_out, c_in, kh, kw = weight.shape
    # TODO (Task 16.5)
    raise NotImplementedError(
        'Task 16.5: implement conv2d_im2col. Hint: cols = im2col(_pad(_nhwc(x), padding), (kh, '
        'kw), stride, (oh, ow)) as an (N * OH * OW, kh * kw * C_in) matrix, times '
        'weight.transpose(2, 3, 1, 0) as a (kh * kw * C_in, C_out) one; + bias; back to (N, OH, '
        'OW, C_out), then _nchw.'
    )


# %% [markdown]
# ## Task 16.6: a checked race
#
# `race` runs each candidate once and compares its result with the reference
# (`np.allclose` with `rtol` and `atol`, the same shape too); a candidate that disagrees
# stops the race with a ValueError naming it and its largest error. Then it times every
# candidate with `measure_latency` and reports each one's speed-up over the FIRST
# candidate (the baseline): baseline median / its median.


# %%
@dataclass(frozen=True)
class Measured:
    """One candidate of a race.

    Attributes:
        name: the candidate's name.
        stats: its latency (module 15).
        speedup: the baseline's median divided by this candidate's (above 1: faster).
        max_error: its largest absolute difference from the reference.
    """

    name: str
    stats: LatencyStats
    speedup: float
    max_error: float


def race(
    candidates: dict[str, Callable[[], np.ndarray]],
    reference: np.ndarray,
    *,
    rtol: float = 1e-4,
    atol: float = 1e-5,
    warmup: int = 1,
    repeats: int = 5,
    clock: Callable[[], float] = time.perf_counter,
) -> list[Measured]:
    """Check every candidate against `reference`, then time each (the first is the baseline)."""
    if not candidates:
        raise ValueError("race needs at least one candidate")
    reference = np.asarray(reference)
    # TODO (Task 16.6)
    raise NotImplementedError(
        'Task 16.6: implement race. Hint: for each (name, fn): result = np.asarray(fn()); a '
        'ValueError naming `name` when its shape differs or not np.allclose(...); max_error = max '
        '|result - reference| (0.0 for an empty one); stats = measure_latency(fn, warmup=..., '
        'repeats=..., clock=clock). Speed-ups: first median / each median (inf for a median of 0).'
    )


# %% [markdown]
# ## Your measurements (given)
#
# `report()` races every task's versions on inputs big enough to show the effect and
# prints what your machine measured, then times one training step of module 09's CNN
# (the course's benchmark network: 64 CIFAR-sized images, two conv-ReLU-pool stages, a
# Linear and SGD with momentum) on your tinytorch. That step is where the same habits
# went into modules 01-09: channels-last convolutions, im2col and one BLAS product per
# layer (the bias included, as a column of ones), recycled buffers (`_empty`), in-place
# updates, and a weight gradient summed over cache-sized blocks of rows (`_gram`).
# Copy your numbers into the README's table.


# %%
def _print_race(title: str, rows: list[Measured]) -> None:
    print(f"\n{title}")
    for row in rows:
        print(f"  {row.name:<24} {row.stats}  speed-up {row.speedup:8.1f}x")


def _cnn_step_latency(repeats: int) -> LatencyStats:
    """Latency of one training step of the course's CIFAR-shaped CNN on your tinytorch."""
    from tinytorch.core.layers import Linear, ReLU, Sequential
    from tinytorch.core.losses import cross_entropy
    from tinytorch.core.optimizers import SGD
    from tinytorch.core.spatial import Conv2d, Flatten, MaxPool2d
    from tinytorch.core.tensor import Tensor

    rng = np.random.default_rng(0)
    model = Sequential(
        *(Conv2d(3, 32, 3, rng=rng), ReLU(), MaxPool2d(2)),
        *(Conv2d(32, 64, 3, rng=rng), ReLU(), MaxPool2d(2)),
        *(Flatten(), Linear(2304, 10, rng=rng)),
    )
    optimizer = SGD(model.parameters(), lr=0.01, momentum=0.9)
    images = Tensor(rng.standard_normal((64, 3, 32, 32), dtype=np.float32))
    labels = rng.integers(0, 10, 64)

    def step() -> None:
        optimizer.zero_grad()
        cross_entropy(model(images), labels).backward()
        optimizer.step()

    return measure_latency(step, warmup=2, repeats=repeats)


def report(repeats: int = 5) -> None:
    """Race every task's versions on this machine and print the measurements."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 96, 96), dtype=np.float32)
    versions = {
        "python loops": lambda: matmul_loops(a, b),
        "vectorized": lambda: matmul_vectorized(a, b),
        "BLAS a @ b": lambda: a @ b,
    }
    _print_race("16.1 matmul 96 x 96 x 96", race(versions, a @ b, repeats=repeats))

    x = rng.standard_normal(4_000_000, dtype=np.float32)
    out = np.empty_like(x)
    versions = {
        "one expression, x**3": lambda: gelu_tanh_naive(x),
        "in place, out=": lambda: gelu_tanh(x, out),
    }
    rows = race(versions, gelu_tanh_naive(x), repeats=repeats)
    _print_race("16.2 GELU (tanh) of 4 M floats", rows)

    logits = rng.standard_normal((4096, 1000), dtype=np.float32)
    targets = rng.integers(0, 1000, 4096)
    versions = {
        "unfused": lambda: softmax_cross_entropy_unfused(logits, targets)[1],
        "fused": lambda: softmax_cross_entropy(logits, targets)[1],
    }
    expected = softmax_cross_entropy(logits, targets)[1]
    rows = race(versions, expected, atol=1e-9, repeats=repeats)
    _print_race("16.3 cross-entropy gradient of 4096 x 1000 logits", rows)

    a, b = rng.standard_normal((2, 256, 256), dtype=np.float32)
    versions = {
        "broadcast, whole": lambda: matmul_vectorized(a, b),
        "broadcast, 32-blocks": lambda: blocked_matmul(a, b, 32, tile_broadcast),
        "broadcast, 128-blocks": lambda: blocked_matmul(a, b, 128, tile_broadcast),
        "BLAS, 64-blocks": lambda: blocked_matmul(a, b, 64),
        "BLAS a @ b": lambda: a @ b,
    }
    rows = race(versions, a @ b, rtol=1e-3, atol=1e-3, repeats=repeats)
    _print_race("16.4 matmul 256 x 256 x 256", rows)

    images = rng.standard_normal((64, 32, 15, 15), dtype=np.float32)
    weight = rng.standard_normal((64, 32, 3, 3), dtype=np.float32)
    versions = {
        "direct (9 taps)": lambda: conv2d_direct(images, weight),
        "im2col (1 product)": lambda: conv2d_im2col(images, weight),
    }
    rows = race(versions, conv2d_im2col(images, weight), rtol=1e-3, atol=1e-3, repeats=repeats)
    _print_race("16.5 conv of 64 x 32 x 15 x 15 images, 64 filters 3 x 3", rows)

    print(f"\nCNN training step (batch 64, 3 x 32 x 32): {_cnn_step_latency(repeats)}")


if __name__ == "__main__":
    report()
