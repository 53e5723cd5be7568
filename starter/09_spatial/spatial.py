# %% [markdown]
# # Module 09: Spatial (convolutional networks)
#
# The layers that see images: `Conv2d`, `MaxPool2d`, `AvgPool2d`, `BatchNorm2d` and
# `Flatten`, with PyTorch's names, arguments and NCHW shapes. Each op is a `Function`
# whose backward rule sits right under it, registered with `@backward_rule` (module 05).
#
# Speed is the point of this module. A convolution written as loops over output pixels
# is easy and hopelessly slow in Python (run `time_conv.py` next to this file to measure
# it on your machine). Here a convolution becomes ONE matrix product: `im2col` copies
# every k x k patch of the input into a row of a matrix, and BLAS does the rest.
#
# NOTE: the interface is NCHW, as in PyTorch, but inside every op works channels-last
# (NHWC): `x.transpose(0, 2, 3, 1)` is a free view, a patch's channels are then
# contiguous, and the result `out.transpose(0, 3, 1, 2)` is again a free view. Tensors
# passed between these layers are NCHW-shaped views of NHWC memory, so no layer ever
# pays for a layout copy (PyTorch calls this `channels_last`).
#
# Big arrays come from `_empty` and `_zeros`, the small caching allocator given at the
# end of module 01 (`tensor.py`): use them where an op makes a large array, as the hints
# say.
#
# Tasks: 09.1 im2col and the convolution forward, 09.2 its backward, 09.3 max pooling,
# 09.4 average pooling, 09.5 batch normalization, 09.6 the layers.


# %%
from __future__ import annotations

import math

import numpy as np

from tinytorch.core.autograd import backward_rule
from tinytorch.core.layers import Module, Parameter
from tinytorch.core.tensor import _CACHE, Context, Function, Tensor, _empty, _zeros  # noqa: F401

__all__ = [
    "conv2d",
    "max_pool2d",
    "avg_pool2d",
    "batch_norm",
    "Conv2d",
    "MaxPool2d",
    "AvgPool2d",
    "BatchNorm2d",
    "Flatten",
]

Gradients = tuple[np.ndarray | None, ...]
Size2 = int | tuple[int, int]


# %% [markdown]
# ## Helpers (given)
#
# `_pair` turns `3` into `(3, 3)`; `_output_size` is the formula every conv and pool
# shares: `(size + 2 * padding - kernel) // stride + 1`; `_check_nchw` gives the error a
# student (or a user) needs when a tensor of the wrong shape arrives.


# %%
def _pair(value: Size2, name: str) -> tuple[int, int]:
    """`value` as a (height, width) pair of positive ints."""
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, int | np.integer) and v > 0 for v in pair):
        raise ValueError(f"{name} must be a positive int or a pair of them, got {value!r}")
    return int(pair[0]), int(pair[1])


def _output_size(size: int, kernel: int, stride: int, padding: int, what: str) -> int:
    """Output length along one axis; an error when the kernel does not fit."""
    if size + 2 * padding < kernel:
        raise ValueError(
            f"{what}: kernel size {kernel} is larger than the input size {size} "
            f"plus padding 2 * {padding}"
        )
    return (size + 2 * padding - kernel) // stride + 1


def _check_nchw(x: Tensor, what: str, channels: int | None = None) -> None:
    """Raise a ValueError naming the expected and actual shapes unless x is (N, C, H, W)."""
    expected = f"(N, {channels}, H, W)" if channels is not None else "(N, C, H, W)"
    if x.ndim != 4 or (channels is not None and x.shape[1] != channels):
        raise ValueError(f"{what} expected input of shape {expected}, got {tuple(x.shape)}")


def _nhwc(x: np.ndarray) -> np.ndarray:
    """The channels-last view of an NCHW array (no copy)."""
    return x.transpose(0, 2, 3, 1)


def _nchw(x: np.ndarray) -> np.ndarray:
    """The NCHW view of a channels-last array (no copy)."""
    return x.transpose(0, 3, 1, 2)


def _window(offset: int, count: int, stride: int) -> slice:
    """The input positions that kernel offset `offset` touches for `count` outputs."""
    return slice(offset, offset + stride * (count - 1) + 1, stride)


def _pad(x: np.ndarray, padding: tuple[int, int]) -> np.ndarray:
    """NHWC `x` with zero rows and columns around H and W, C-contiguous."""
    ph, pw = padding
    if ph == 0 and pw == 0:
        return np.ascontiguousarray(x)
    n, h, w, c = x.shape
    padded = _zeros((n, h + 2 * ph, w + 2 * pw, c), x.dtype)
    padded[:, ph : ph + h, pw : pw + w, :] = x
    return padded


# %% [markdown]
# ## Task 09.1: im2col and the convolution forward
#
# For a padded NHWC input `xp` of shape `(N, Hp, Wp, C)`, `cols[n, oh, ow, i, j, c]` is
# the input value that kernel tap `(i, j)` of channel `c` sees for output pixel
# `(oh, ow)`: `xp[n, oh * stride + i, ow * stride + j, c]`. NumPy can *view* every
# window without copying (`sliding_window_view`); one copy of that view, in the order
# above, is the whole im2col. (k * k strided slice copies, one per tap, work too, at
# about a third of the speed for 3-channel images.) Reshaped to
# `(N * OH * OW, kh * kw * C)`, `cols` multiplies the weight reshaped to
# `(kh * kw * C, C_out)`: that single matmul is the whole convolution. The bias rides
# along: give the patch matrix one more column of ones and the weight matrix the bias as
# its last row, and the matmul adds it (no extra pass over the output). `im2col` can
# copy straight into the first `kh * kw * C` columns of that wider matrix (`out=`).


# %%
def im2col(
    xp: np.ndarray,
    kernel: tuple[int, int],
    stride: tuple[int, int],
    out_size: tuple[int, int],
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Patches of a padded NHWC array, copied into one array (`out` when given).

    Shape:
        `(N, Hp, Wp, C) -> (N, OH, OW, kh, kw, C)`
    """
    # TODO (Task 09.1)
    raise NotImplementedError(
        'Task 09.1: implement im2col. Hint: np.lib.stride_tricks.sliding_window_view(xp, kernel, '
        'axis=(1, 2)) has shape (N, Hp - kh + 1, Wp - kw + 1, C, kh, kw): keep every stride-th '
        'window along axes 1 and 2, move C last with transpose, and copy it with np.copyto into '
        '`out`, or into _empty(shape, dtype) when out is None; return what you filled.'
    )


class Conv2dFn(Function):
    """2-D cross-correlation of an NCHW input with a `(C_out, C_in, kh, kw)` weight."""

    @staticmethod
    def forward(
        ctx: Context,
        x: np.ndarray,
        weight: np.ndarray,
        bias: np.ndarray | None,
        stride: tuple[int, int],
        padding: tuple[int, int],
        input_grad: bool,
    ) -> np.ndarray:
        n, _, h, w = x.shape
        c_out, c_in, kh, kw = weight.shape
        oh = _output_size(h, kh, stride[0], padding[0], "conv2d height")
        ow = _output_size(w, kw, stride[1], padding[1], "conv2d width")
        # TODO (Task 09.1)
        raise NotImplementedError(
            'Task 09.1: implement Conv2dFn.forward. Hint: cols = _empty((n * oh * ow, k + 1), '
            'x.dtype) with k = kh * kw * c_in (k columns without a bias); im2col(_pad(_nhwc(x), '
            'padding), ..., out=the first k columns as (n, oh, ow, kh, kw, c_in)); then the ones. '
            'Stash cols as ctx.cols. The weight matrix: weight.transpose(2, 3, 1, 0).reshape(k, '
            'c_out), then the bias row; out = np.matmul(cols, that, out=_empty(...)), back to NCHW '
            'with _nchw.'
        )


# %% [markdown]
# ## Task 09.2: the convolution backward
#
# With `G` the output gradient as an `(N * OH * OW, C_out)` matrix and `cols` the
# patch matrix from the forward:
# - `grad_weight = cols^T @ G`, reshaped back to `(C_out, C_in, kh, kw)` (`_gram`, given
#   below, computes it in blocks of rows that stay in the CPU's cache);
# - `grad_bias = G.sum(0)`, which is the last row of that same product: the column of
#   ones in `cols` sums G for free;
# - the input gradient is the adjoint of im2col, `col2im`: every patch position sends
#   its gradient back to the pixels it was copied from. Tap `(i, j)` of every patch
#   receives `G @ W[:, :, i, j]` (an `(N * OH * OW, C_in)` matrix); add it into the
#   strided window that im2col read for that tap (overlapping patches add up), then
#   drop the padding. One product per tap never builds the `(N * OH * OW, kh * kw * C)`
#   matrix of patch gradients, which saves memory and time.


# %%
def col2im(
    grad: np.ndarray,
    weight: np.ndarray,
    padded_shape: tuple[int, ...],
    stride: tuple[int, int],
    out_size: tuple[int, int],
) -> np.ndarray:
    """Gradient of the padded NHWC input of a convolution, from its output gradient.

    Shape:
        grad `(N * OH * OW, C_out)`, weight `(C_out, C_in, kh, kw)` -> `padded_shape`,
        which is `(N, Hp, Wp, C_in)`
    """
    n, c_in = padded_shape[0], padded_shape[3]
    (oh, ow), (sh, sw) = out_size, stride
    # TODO (Task 09.2)
    raise NotImplementedError(
        'Task 09.2: implement col2im. Hint: start from zeros; for each tap (i, j): padded[:, '
        '_window(i, oh, sh), _window(j, ow, sw), :] += (grad @ weight[:, :, i, j]).reshape(n, oh, '
        'ow, c_in); np.matmul(..., out=tap) into one _empty buffer spares an array per tap.'
    )


def _gram(a: np.ndarray, b: np.ndarray, rows: int = 1024) -> np.ndarray:
    """`a.T @ b` for two tall matrices with the same rows, summed over blocks of `rows` rows.

    NOTE: this is cache blocking (module 16): a long sum (57,600 rows for the first
    layer of a CIFAR batch) runs faster as blocks whose rows stay in the CPU's cache,
    added up: measured, 1.0 ms against 1.9 ms for one call. BLAS is also faster when the
    narrower matrix gives the result its rows: for the second layer's `(289, 64)`
    result, computing `(b.T @ a).T` took 5.1 ms against 6.0 ms.
    """
    if a.shape[1] > b.shape[1]:
        return _gram(b, a, rows).T
    total = np.zeros((a.shape[1], b.shape[1]), dtype=np.result_type(a, b))
    part = np.empty_like(total)
    for start in range(0, a.shape[0], rows):
        np.matmul(a[start : start + rows].T, b[start : start + rows], out=part)
        total += part
    return total


@backward_rule(Conv2dFn)
def conv2d_backward(ctx: Context, grad_output: np.ndarray) -> Gradients:
    x, weight, bias = ctx.inputs
    stride, (ph, pw) = ctx.params["stride"], ctx.params["padding"]
    n, c_in, h, w = x.shape
    c_out, _, kh, kw = weight.shape
    cols = ctx.cols
    # TODO (Task 09.2)
    raise NotImplementedError(
        'Task 09.2: implement conv2d_backward. Hint: G = _nhwc(grad_output).reshape(-1, c_out); '
        "both = _gram(cols, G): its first kh * kw * c_in rows are the weight's gradient, its last "
        "row (with a bias) the bias's; skip the input gradient (None) when "
        'ctx.params["input_grad"] is False.'
    )


def conv2d(
    x: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Size2 = 1, padding: Size2 = 0
) -> Tensor:
    """2-D convolution (cross-correlation, as in every DL framework), like `F.conv2d`.

    Args:
        weight: filters of shape `(C_out, C_in, kh, kw)`.
        bias: `(C_out,)` or None.
        stride, padding: an int or an (h, w) pair; padding adds zeros on both sides.

    Shape:
        `(N, C_in, H, W) -> (N, C_out, (H + 2p - kh) // s + 1, (W + 2p - kw) // s + 1)`
    """
    _check_nchw(x, "conv2d", weight.shape[1])
    padding = (padding, padding) if isinstance(padding, int) else tuple(padding)
    if min(padding) < 0:
        raise ValueError(f"padding must not be negative, got {padding}")
    # NOTE: `input_grad` tells the backward whether x needs a gradient at all: the first
    # layer's input (the images) never does, and skipping its col2im saves a lot of time.
    return Conv2dFn.apply(
        x,
        weight,
        bias,
        stride=_pair(stride, "stride"),
        padding=padding,
        input_grad=x.requires_grad,
    )


# %% [markdown]
# ## Task 09.3: max pooling
#
# `out = max over the k * k taps` of strided slices, combined with `np.maximum`; never
# `max(axis=...)` over a 6-D strided view (ten times slower). The gradient goes to the
# input that won. When two inputs tie, PyTorch gives all of it to the first one in
# row-major window order: keep a `taken` mask while you walk the taps in that order.


# %%
class MaxPool2dFn(Function):
    """Maximum over each `kernel` window, windows `stride` apart."""

    @staticmethod
    def forward(
        ctx: Context, x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int]
    ) -> np.ndarray:
        oh = _output_size(x.shape[2], kernel[0], stride[0], 0, "max_pool2d height")
        ow = _output_size(x.shape[3], kernel[1], stride[1], 0, "max_pool2d width")
        # TODO (Task 09.3)
        raise NotImplementedError(
            'Task 09.3: implement MaxPool2dFn.forward. Hint: the taps are strided slices xh[:, '
            '_window(i, oh, sh), _window(j, ow, sw), :]; out = np.maximum(first, second, '
            'out=_empty(...)), then np.maximum(out, tap, out=out) for the others (a 1 x 1 window: '
            'a copy of its one tap).'
        )


@backward_rule(MaxPool2dFn)
def max_pool2d_backward(ctx: Context, grad_output: np.ndarray) -> Gradients:
    (kh, kw), (sh, sw) = ctx.params["kernel"], ctx.params["stride"]
    xh, out, grad = _nhwc(ctx.inputs[0]), _nhwc(ctx.output), _nhwc(grad_output)
    oh, ow = out.shape[1:3]
    # TODO (Task 09.3)
    raise NotImplementedError(
        'Task 09.3: implement max_pool2d_backward. Hint: winner = (tap == out) & free; free ^= '
        "winner; grad_x[tap's slice] += grad * winner; in-place ops (np.equal(..., out=winner), "
        'winner &= free) avoid temporaries; the last tap needs no test (the windows still free are '
        'its), and when the windows tile the input exactly, grad_x needs no zeros (_empty). a NaN '
        'in a window is its maximum, and NaN == NaN is False: match it with isnan.'
    )


def max_pool2d(x: Tensor, kernel_size: Size2, stride: Size2 | None = None) -> Tensor:
    """Max pooling, like `F.max_pool2d` (stride defaults to the kernel size).

    Shape:
        `(N, C, H, W) -> (N, C, (H - kh) // s + 1, (W - kw) // s + 1)`
    """
    _check_nchw(x, "max_pool2d")
    kernel = _pair(kernel_size, "kernel_size")
    steps = kernel if stride is None else _pair(stride, "stride")
    return MaxPool2dFn.apply(x, kernel=kernel, stride=steps)


# %% [markdown]
# ## Task 09.4: average pooling
#
# The forward adds the k * k taps and divides by k * k; the backward hands every tap
# `grad / (k * k)` (overlapping windows add up, so use `+=`).


# %%
class AvgPool2dFn(Function):
    """Mean over each `kernel` window, windows `stride` apart."""

    @staticmethod
    def forward(
        ctx: Context, x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int]
    ) -> np.ndarray:
        oh = _output_size(x.shape[2], kernel[0], stride[0], 0, "avg_pool2d height")
        ow = _output_size(x.shape[3], kernel[1], stride[1], 0, "avg_pool2d width")
        # TODO (Task 09.4)
        raise NotImplementedError('Task 09.4: implement AvgPool2dFn.forward.')


@backward_rule(AvgPool2dFn)
def avg_pool2d_backward(ctx: Context, grad_output: np.ndarray) -> Gradients:
    (kh, kw), (sh, sw) = ctx.params["kernel"], ctx.params["stride"]
    x, grad = ctx.inputs[0], _nhwc(grad_output)
    oh, ow = grad.shape[1:3]
    # TODO (Task 09.4)
    raise NotImplementedError('Task 09.4: implement avg_pool2d_backward.')


def avg_pool2d(x: Tensor, kernel_size: Size2, stride: Size2 | None = None) -> Tensor:
    """Average pooling, like `F.avg_pool2d` (stride defaults to the kernel size).

    Shape:
        `(N, C, H, W) -> (N, C, (H - kh) // s + 1, (W - kw) // s + 1)`
    """
    _check_nchw(x, "avg_pool2d")
    kernel = _pair(kernel_size, "kernel_size")
    steps = kernel if stride is None else _pair(stride, "stride")
    return AvgPool2dFn.apply(x, kernel=kernel, stride=steps)


# %% [markdown]
# ## Task 09.5: batch normalization
#
# In training, each channel is normalized with the mean and the (biased) variance of
# its values over the batch and both spatial axes, then scaled by `weight` and shifted
# by `bias`. The running statistics move towards the batch's by `momentum`, using the
# unbiased variance (`var * M / (M - 1)` with `M = N * H * W` values per channel), as in
# PyTorch. In evaluation the running statistics are used instead, so the output no
# longer depends on the rest of the batch.
#
# With `xhat` the normalized input and `M` values per channel, the backward is
# `grad_x = weight / (M * std) * (M * g - sum(g) - xhat * sum(g * xhat))`.


# %%
class BatchNorm2dFn(Function):
    """Training-mode batch norm; updates the running statistics arrays in place."""

    @staticmethod
    def forward(
        ctx: Context,
        x: np.ndarray,
        weight: np.ndarray,
        bias: np.ndarray,
        running_mean: np.ndarray | None,
        running_var: np.ndarray | None,
        momentum: float,
        eps: float,
    ) -> np.ndarray:
        xh = _nhwc(x)
        count = xh.shape[0] * xh.shape[1] * xh.shape[2]
        # TODO (Task 09.5)
        raise NotImplementedError(
            'Task 09.5: implement BatchNorm2dFn.forward. Hint: a ValueError when count < 2 '
            '(PyTorch: "more than 1 value per channel"); reduce the NHWC view over axes (0, 1, 2); '
            'keep xhat and 1/std in ctx.'
        )


@backward_rule(BatchNorm2dFn)
def batch_norm_backward(ctx: Context, grad_output: np.ndarray) -> Gradients:
    weight = ctx.inputs[1]
    grad, xhat = _nhwc(grad_output), ctx.xhat
    count = xhat.shape[0] * xhat.shape[1] * xhat.shape[2]
    # TODO (Task 09.5)
    raise NotImplementedError(
        'Task 09.5: implement batch_norm_backward. Hint: one gradient per input of BatchNorm2dFn: '
        'x, weight, bias, then None twice (the running statistics need none).'
    )


def batch_norm(
    x: Tensor,
    running_mean: np.ndarray | None,
    running_var: np.ndarray | None,
    weight: Tensor,
    bias: Tensor,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Batch normalization over (N, H, W) per channel, like `F.batch_norm`.

    In training the batch statistics are used and `running_mean`/`running_var` (float
    arrays of shape `(C,)`, or None) are updated in place; otherwise they are used.

    Shape:
        `(N, C, H, W) -> (N, C, H, W)`
    """
    _check_nchw(x, "batch_norm", weight.shape[0])
    if training:
        return BatchNorm2dFn.apply(
            x, weight, bias, running_mean, running_var, momentum=momentum, eps=eps
        )
    if running_mean is None or running_var is None:
        raise ValueError("batch_norm in evaluation mode needs running_mean and running_var")
    # TODO (Task 09.5)
    raise NotImplementedError(
        'Task 09.5: implement batch_norm. Hint: composite ops (autograd for free): (x - mean) * '
        '(weight / std) + bias, each per-channel value reshaped to (1, C, 1, 1).'
    )


# %% [markdown]
# ## Task 09.6: the layers
#
# Modules with PyTorch's constructor arguments, parameter names and initialization:
# `Conv2d.weight` is `(out_channels, in_channels, kh, kw)`, and weight and bias are
# both drawn from U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with `fan_in = in_channels * kh * kw`
# (what PyTorch's default `kaiming_uniform_(a=sqrt(5))` works out to).


# %%
class Conv2d(Module):
    """2-D convolution layer, as `torch.nn.Conv2d` (no dilation or groups).

    Args:
        in_channels, out_channels: channels of the input and the output.
        kernel_size, stride, padding: an int or an (h, w) pair.
        bias: whether to add a learned per-channel bias.
        rng: NumPy generator for the initialization (reproducible runs).

    Shape:
        `(N, C_in, H, W) -> (N, C_out, (H + 2p - kh) // s + 1, (W + 2p - kw) // s + 1)`
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Size2,
        stride: Size2 = 1,
        padding: Size2 = 0,
        bias: bool = True,
        rng: np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.stride = _pair(stride, "stride")
        self.padding = (padding, padding) if isinstance(padding, int) else tuple(padding)
        generator = rng if rng is not None else np.random.default_rng()
        # TODO (Task 09.6)
        raise NotImplementedError(
            'Task 09.6: implement Conv2d.__init__. Hint: bound = 1 / sqrt(in_channels * kh * kw); '
            'generator.uniform(-bound, bound, shape) as float32; self.bias = None when bias is '
            'False.'
        )

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}, bias={self.bias is not None}"
        )

    def forward(self, x: Tensor) -> Tensor:
        _check_nchw(x, "Conv2d", self.in_channels)
        return conv2d(x, self.weight, self.bias, self.stride, self.padding)


class MaxPool2d(Module):
    """Max pooling layer, as `torch.nn.MaxPool2d` (stride defaults to kernel_size).

    Shape:
        `(N, C, H, W) -> (N, C, (H - kh) // s + 1, (W - kw) // s + 1)`
    """

    def __init__(self, kernel_size: Size2, stride: Size2 | None = None) -> None:
        super().__init__()
        self.kernel_size, self.stride = kernel_size, stride

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride or self.kernel_size}"

    def forward(self, x: Tensor) -> Tensor:
        return max_pool2d(x, self.kernel_size, self.stride)


class AvgPool2d(Module):
    """Average pooling layer, as `torch.nn.AvgPool2d` (stride defaults to kernel_size).

    Shape:
        `(N, C, H, W) -> (N, C, (H - kh) // s + 1, (W - kw) // s + 1)`
    """

    def __init__(self, kernel_size: Size2, stride: Size2 | None = None) -> None:
        super().__init__()
        self.kernel_size, self.stride = kernel_size, stride

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride or self.kernel_size}"

    def forward(self, x: Tensor) -> Tensor:
        return avg_pool2d(x, self.kernel_size, self.stride)


class BatchNorm2d(Module):
    """Batch normalization layer, as `torch.nn.BatchNorm2d`.

    `weight` starts at ones and `bias` at zeros; the buffers `running_mean` (zeros) and
    `running_var` (ones) follow the batch statistics while training and replace them
    in evaluation (`model.eval()`).

    Shape:
        `(N, C, H, W) -> (N, C, H, W)`
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1) -> None:
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.weight = Parameter(np.ones(num_features, dtype=np.float32))
        self.bias = Parameter(np.zeros(num_features, dtype=np.float32))
        self.register_buffer("running_mean", Tensor(np.zeros(num_features, dtype=np.float32)))
        self.register_buffer("running_var", Tensor(np.ones(num_features, dtype=np.float32)))

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"

    def forward(self, x: Tensor) -> Tensor:
        _check_nchw(x, "BatchNorm2d", self.num_features)
        return batch_norm(
            x,
            self.running_mean.data,
            self.running_var.data,
            self.weight,
            self.bias,
            training=self.training,
            momentum=self.momentum,
            eps=self.eps,
        )


class Flatten(Module):
    """Flatten dimensions `start_dim..end_dim` into one, as `torch.nn.Flatten`.

    Shape:
        `(N, C, H, W) -> (N, C * H * W)` with the defaults.
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"

    def forward(self, x: Tensor) -> Tensor:
        # TODO (Task 09.6)
        raise NotImplementedError('Task 09.6: implement Flatten.forward.')
