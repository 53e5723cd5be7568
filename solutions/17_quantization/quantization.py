# %% [markdown]
# # Module 17: Quantization
#
# A trained network keeps every weight in a float32 of 4 bytes, yet it works just as
# well when each weight is rounded to one of 255 levels: one byte. That is int8
# quantization. A real value `x` is stored as an integer `q` with
# `x ≈ scale * (q - zero_point)`:
#
# - **weights**: symmetric and per output channel. Channel `o` gets its own
#   `scale[o] = max|W[o]| / 127`, the zero point is 0 and `q` lies in `[-127, 127]`.
# - **activations** (a layer's input): one scale and zero point per tensor, over the
#   full `[-128, 127]`. The input's range is unknown until data flows, so it is
#   *calibrated*: run a few real batches and record the range of each layer's input
#   (min-max), or its percentiles, which ignore the rare outliers that would stretch
#   the scale and waste levels.
#
# A quantized layer then computes `y = x W^T + b` with integers:
#
#     y[i, o] = s_x * s_w[o] * sum_k (qx[i, k] - z_x) * qw[o, k] + b[o]
#             = s_x * s_w[o] * (sum_k qx[i, k] qw[o, k] - z_x * sum_k qw[o, k]) + b[o]
#
# one integer matrix product accumulated in int32, one correction per output channel,
# one float multiply per output. The int32 sums must be exact, and you will prove it.
#
# What int8 buys here is **size**: about 4x fewer bytes for the model (computed exactly
# by `model_size_bytes`). Not speed: NumPy has no int8 matrix product, so our integer
# product runs on float32 BLAS (see Task 17.4) plus conversions, and a quantized layer
# is slower than its float layer. `quantize_model.py` next to this file trains a model
# on real data, quantizes it and prints size, accuracy and time, measured on your machine.
#
# Tasks: 17.1 per-channel weights, 17.2 per-tensor activations, 17.3 calibration,
# 17.4 the exact integer matmul, 17.5 QuantizedLinear, 17.6 QuantizedConv2d,
# 17.7 the whole model and its size.


# %%
from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

import numpy as np

from tinytorch.core.autograd import no_grad
from tinytorch.core.layers import Linear, Module
from tinytorch.core.spatial import Conv2d, im2col
from tinytorch.core.tensor import Tensor

__all__ = [
    "quantize_per_channel",
    "dequantize",
    "affine_qparams",
    "quantize_affine",
    "MinMaxObserver",
    "PercentileObserver",
    "int8_matmul",
    "QuantizedLinear",
    "QuantizedConv2d",
    "quantize_model",
    "model_size_bytes",
]

QMIN, QMAX = -128, 127  # the int8 range of activations
WEIGHT_QMAX = 127  # weights use [-127, 127]: symmetric, so -q is always representable
EPS = np.float32(np.finfo(np.float32).eps)  # the smallest scale (PyTorch's rule)
F32 = np.float32


def _array(x: Any) -> np.ndarray:
    """The float32 array inside a Tensor, or `x` as a float32 array."""
    return np.asarray(x.data if isinstance(x, Tensor) else x, dtype=F32)


def _channel_shape(ndim: int) -> tuple[int, ...]:
    """The shape that lines a per-channel vector up with axis 0 of an `ndim`-D array."""
    return (-1,) + (1,) * (ndim - 1)


# %% [markdown]
# ## Task 17.1: symmetric per-channel weights
#
# `quantize_per_channel(weight)` quantizes a Linear `(out, in)` or Conv2d
# `(out, in, kh, kw)` weight, one scale per output channel (axis 0):
# `scale[o] = max|weight[o]| / 127` in float32, at least `EPS` (an all-zero channel
# would otherwise divide by zero), and `q = clip(round(weight / scale), -127, 127)` as
# int8. Round half to even with `np.rint`, as PyTorch does. `dequantize(q, scale,
# zero_point)` maps back: `(q - zero_point) * scale`, with a per-channel `scale` along
# axis 0 when it is a vector.


# %%
def quantize_per_channel(weight: Any) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 weights, one float32 scale per output channel (axis 0).

    Shape:
        `(C_out, *) -> (C_out, *)` int8 and `(C_out,)` float32.
    """
    w = _array(weight)
    if w.ndim < 2 or w.size == 0:
        raise ValueError(f"quantize_per_channel expects a weight of 2 or more dims, got {w.shape}")
    if not np.isfinite(w).all():
        raise ValueError("quantize_per_channel: the weight holds inf or NaN")
    # BEGIN SOLUTION 17.1
    # HINT: np.abs(w).reshape(len(w), -1).max(axis=1) / F32(WEIGHT_QMAX), at least EPS;
    # HINT: divide w by scale.reshape(_channel_shape(w.ndim)), np.rint, np.clip, int8.
    max_abs = np.abs(w).reshape(len(w), -1).max(axis=1)
    scale = np.maximum(max_abs / F32(WEIGHT_QMAX), EPS).astype(F32)
    q = np.rint(w / scale.reshape(_channel_shape(w.ndim)))
    return np.clip(q, -WEIGHT_QMAX, WEIGHT_QMAX).astype(np.int8), scale
    # END SOLUTION


def dequantize(q: np.ndarray, scale: Any, zero_point: int = 0) -> np.ndarray:
    """`(q - zero_point) * scale` in float32; a vector `scale` applies per channel (axis 0)."""
    q = np.asarray(q)
    scale = np.asarray(scale, dtype=F32)
    # BEGIN SOLUTION 17.1
    if scale.ndim == 1:
        scale = scale.reshape(_channel_shape(q.ndim))
    return ((q.astype(F32) - F32(zero_point)) * scale).astype(F32)
    # END SOLUTION


# %% [markdown]
# ## Task 17.2: per-tensor affine activations
#
# A layer's input may be all positive (after a ReLU) or lopsided, so activations get a
# zero point: the range `[low, high]` maps onto all 256 levels `[-128, 127]`.
# `affine_qparams(low, high)` follows PyTorch's `MinMaxObserver` for `qint8`:
# 1. stretch the range to hold 0 (`low = min(low, 0)`, `high = max(high, 0)`), so that
#    a zero (a ReLU's output, a padded pixel) is exactly representable;
# 2. `scale = (high - low) / 255` in float32, at least `EPS`;
# 3. `zero_point = clip(-128 - round(low / scale), -128, 127)`, a Python int.
#
# It returns `(scale, zero_point)` as a Python float (a float32 value) and int.
# `quantize_affine(x, scale, zero_point)` is `clip(round(x / scale) + zero_point,
# -128, 127)` as int8 (float32 arithmetic, `np.rint`).


# %%
def affine_qparams(low: float, high: float) -> tuple[float, int]:
    """The scale and zero point that map `[low, high]` (stretched to hold 0) onto int8."""
    low, high = F32(min(low, 0.0)), F32(max(high, 0.0))
    if not (np.isfinite(low) and np.isfinite(high)):
        raise ValueError(f"affine_qparams needs a finite range, got [{low}, {high}]")
    # BEGIN SOLUTION 17.2
    # HINT: keep float32: (high - low) / F32(QMAX - QMIN); np.rint(low / scale).
    scale = max(F32((high - low) / F32(QMAX - QMIN)), EPS)
    zero_point = int(np.clip(QMIN - np.rint(low / scale), QMIN, QMAX))
    return float(scale), zero_point
    # END SOLUTION


def quantize_affine(x: Any, scale: float, zero_point: int) -> np.ndarray:
    """int8 levels of `x`: `clip(round(x / scale) + zero_point, -128, 127)`."""
    if not scale > 0 or not QMIN <= zero_point <= QMAX:
        raise ValueError(
            f"quantize_affine needs scale > 0 and -128 <= zero_point <= 127, "
            f"got scale={scale}, zero_point={zero_point}"
        )
    # BEGIN SOLUTION 17.2
    q = np.rint(_array(x) / F32(scale)) + F32(zero_point)
    return np.clip(q, QMIN, QMAX).astype(np.int8)
    # END SOLUTION


# %% [markdown]
# ## Task 17.3: calibration
#
# Observers watch a layer's input during calibration: calling one records the tensor
# and passes it on unchanged (as PyTorch's observers do); `calculate_qparams()` then
# gives `affine_qparams` of what it saw.
# - `MinMaxObserver`: the running minimum and maximum over every batch (`min_val`,
#   `max_val`, Python floats; `None` before the first batch).
# - `PercentileObserver(percentile=99.99)`: keeps every value it sees (in `values`, a
#   list of flat float32 arrays) and uses `np.percentile` of all of them at
#   `100 - percentile` and `percentile` (NumPy's default linear interpolation). One
#   outlier among ten thousand values no longer decides the scale.
#
# Calculating before any batch was seen is a `ValueError` that says so.


# %%
class MinMaxObserver(Module):
    """Records the range of every tensor it sees; `calculate_qparams` maps it onto int8."""

    def __init__(self) -> None:
        super().__init__()
        self.min_val: float | None = None
        self.max_val: float | None = None

    def forward(self, x: Tensor) -> Tensor:
        values = _array(x)
        if values.size:
            # BEGIN SOLUTION 17.3
            low, high = float(values.min()), float(values.max())
            self.min_val = low if self.min_val is None else min(self.min_val, low)
            self.max_val = high if self.max_val is None else max(self.max_val, high)
            # END SOLUTION
        return x

    def calculate_qparams(self) -> tuple[float, int]:
        """`affine_qparams` of the range seen so far."""
        if self.min_val is None or self.max_val is None:
            raise ValueError("MinMaxObserver has seen no values yet: calibrate it first")
        # BEGIN SOLUTION 17.3
        return affine_qparams(self.min_val, self.max_val)
        # END SOLUTION


class PercentileObserver(Module):
    """Keeps what it sees; `calculate_qparams` maps its central `percentile` onto int8."""

    def __init__(self, percentile: float = 99.99) -> None:
        super().__init__()
        if not 50.0 < percentile <= 100.0:
            raise ValueError(f"percentile must be in (50, 100], got {percentile}")
        self.percentile = percentile
        self.values: list[np.ndarray] = []

    def forward(self, x: Tensor) -> Tensor:
        # BEGIN SOLUTION 17.3
        self.values.append(_array(x).ravel().copy())
        # END SOLUTION
        return x

    def calculate_qparams(self) -> tuple[float, int]:
        """`affine_qparams` of the `100 - percentile` and `percentile` percentiles seen."""
        if not any(v.size for v in self.values):
            raise ValueError("PercentileObserver has seen no values yet: calibrate it first")
        # BEGIN SOLUTION 17.3
        # HINT: np.concatenate(self.values); np.percentile(all, [100 - p, p]).
        low, high = np.percentile(
            np.concatenate(self.values), [100 - self.percentile, self.percentile]
        )
        return affine_qparams(float(low), float(high))
        # END SOLUTION


# %% [markdown]
# ## Task 17.4: an exact integer matmul
#
# `int8_matmul(a, b)` multiplies int8 matrices `(M, K) @ (K, N)` into int32, exactly.
# `a.astype(np.int32) @ b.astype(np.int32)` is exact, but NumPy runs integer matrix
# products in a plain loop without BLAS: many times slower than float32. Float32 BLAS
# is exact too, as long as every number it meets is an integer float32 can hold:
#
# - every product `a[i, k] * b[k, j]` is at most `128 * 128 = 2**14` in size;
# - float32 holds every integer up to `2**24` exactly (24 bits of mantissa);
# - so a sum of at most `2**24 / 2**14 = 1024` products has every partial sum (in
#   whatever order BLAS adds them, fused multiply-adds included) an integer of size at
#   most `2**24`: each addition is exact.
#
# So cut `K` into chunks of `EXACT_DEPTH = 1024`, multiply each chunk in float32 (exact),
# convert it to int32 and add the chunks up in int32. int32 itself overflows past
# `2**31`: a depth over `MAX_DEPTH` is refused with a `ValueError`.


# %%
EXACT_DEPTH = 2**24 // 2**14  # products per float32 sum that stay exact: 1024
MAX_DEPTH = (2**31 - 1) // 2**14  # the deepest int8 product whose sums fit in int32


def int8_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """`a @ b` of int8 matrices, accumulated exactly in int32.

    Shape:
        `(M, K) @ (K, N) -> (M, N)` int32.
    """
    if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
        raise TypeError("int8_matmul takes NumPy arrays")
    if a.dtype != np.int8 or b.dtype != np.int8:
        raise TypeError(f"int8_matmul takes int8 arrays, got {a.dtype} and {b.dtype}")
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise ValueError(f"int8_matmul needs (M, K) @ (K, N), got {a.shape} @ {b.shape}")
    depth = a.shape[1]
    if depth > MAX_DEPTH:
        raise ValueError(f"int8_matmul: K = {depth} could overflow int32 (at most {MAX_DEPTH})")
    # BEGIN SOLUTION 17.4
    # HINT: out = np.zeros((M, N), np.int32); for each chunk of EXACT_DEPTH columns of a
    # HINT: (rows of b): out += (a_chunk.astype(F32) @ b_chunk.astype(F32)).astype(np.int32).
    out = np.zeros((a.shape[0], b.shape[1]), dtype=np.int32)
    for start in range(0, depth, EXACT_DEPTH):
        chunk = slice(start, start + EXACT_DEPTH)
        out += (a[:, chunk].astype(F32) @ b[chunk].astype(F32)).astype(np.int32)
    return out
    # END SOLUTION


# %% [markdown]
# ## Task 17.5: QuantizedLinear
#
# `QuantizedLinear.from_float(linear, input_scale, input_zero_point)` quantizes a
# trained `Linear` (module 03) per channel. It keeps its arrays as buffers, so that
# `state_dict` and `model_size_bytes` see exactly what the layer stores:
# `weight` int8 `(out, in)`, `weight_scale` float32 `(out,)`, `bias` float32 `(out,)` (or
# None), `input_scale` float32 `()` and `input_zero_point` int32 `()`.
#
# `forward(x)` takes a float Tensor `(*, in)` and returns a float32 Tensor `(*, out)`:
# quantize `x` with the input's parameters, `int8_matmul` with `weight.T`, subtract
# `z_x * weight.sum(axis=1)` (in int32), then multiply by `input_scale * weight_scale`
# and add the bias (float32). Quantized layers run inference only: no gradients.


# %%
def _buffers(layer: Module, weight: Any, bias: Any, input_scale: float, zero_point: int) -> None:
    """Quantize `weight` per channel and keep every array the layer needs as a buffer."""
    if not input_scale > 0 or not QMIN <= int(zero_point) <= QMAX:
        raise ValueError(
            f"input_scale must be > 0 and input_zero_point in [-128, 127], "
            f"got {input_scale} and {zero_point}"
        )
    q, scale = quantize_per_channel(weight)
    depth = q[0].size  # products per output: each |(q_x - z_x) * q_w| <= 255 * 127
    if depth * 255 * WEIGHT_QMAX > 2**31 - 1:
        raise ValueError(f"{depth} inputs per output could overflow the int32 sums")
    layer.register_buffer("weight", Tensor(q, dtype=np.int8))
    layer.register_buffer("weight_scale", Tensor(scale))
    if bias is None:
        layer.bias = None
    else:
        layer.register_buffer("bias", Tensor(_array(bias).copy()))
    layer.register_buffer("input_scale", Tensor(F32(input_scale)))
    layer.register_buffer("input_zero_point", Tensor(int(zero_point), dtype=np.int32))


def _dequantized(layer: Module, acc: np.ndarray) -> np.ndarray:
    """float32 outputs from the int32 sums of `(q_x - z_x) . q_w` (channels last)."""
    scale = layer.input_scale.data * layer.weight_scale.data
    out = acc.astype(F32) * scale
    return out if layer.bias is None else out + layer.bias.data


class QuantizedLinear(Module):
    """`Linear` with int8 per-channel weights and int8 inputs (inference only).

    Shape:
        Input `(*, in_features)` float, output `(*, out_features)` float32.
    """

    def __init__(self, weight: Any, bias: Any, input_scale: float, input_zero_point: int) -> None:
        super().__init__()
        self.out_features, self.in_features = _array(weight).shape
        _buffers(self, weight, bias, input_scale, input_zero_point)

    @classmethod
    def from_float(
        cls, linear: Linear, input_scale: float, input_zero_point: int
    ) -> QuantizedLinear:
        """The quantized twin of a trained `Linear`, for inputs with these parameters."""
        return cls(linear.weight, linear.bias, input_scale, input_zero_point)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"input_scale={float(self.input_scale.data):.4g}, "
            f"input_zero_point={int(self.input_zero_point.data)}"
        )

    def forward(self, x: Tensor) -> Tensor:
        values = _array(x)
        if values.ndim == 0 or values.shape[-1] != self.in_features:
            raise ValueError(
                f"QuantizedLinear(in_features={self.in_features}) expects inputs of shape "
                f"(*, {self.in_features}), got shape {values.shape}"
            )
        rows = values.reshape(-1, self.in_features)
        # BEGIN SOLUTION 17.5
        # HINT: qx = quantize_affine(rows, scale, zero_point); w = self.weight.data;
        # HINT: int8_matmul(qx, w.T) - zero_point * w.sum(axis=1, dtype=np.int32);
        # HINT: then _dequantized(self, acc), reshaped to (*, out_features).
        zero_point = int(self.input_zero_point.data)
        qx = quantize_affine(rows, float(self.input_scale.data), zero_point)
        w = self.weight.data
        acc = int8_matmul(qx, w.T) - np.int32(zero_point) * w.sum(axis=1, dtype=np.int32)
        out = _dequantized(self, acc)
        # END SOLUTION
        return Tensor(out.reshape(*values.shape[:-1], self.out_features))


# %% [markdown]
# ## Task 17.6: QuantizedConv2d
#
# The same for a trained `Conv2d` (module 09), with its `stride` and `padding`:
# `weight` int8 `(C_out, C_in, kh, kw)`, one scale per output channel. In `forward`:
# 1. quantize the NCHW input, move it channels-last and pad it with the **zero
#    point**: in the quantized world the real 0 of a padded pixel is `z_x`;
# 2. `im2col` from module 09 (it copies int8 as int8), reshaped to rows of
#    `kh * kw * C_in`;
# 3. the weight as a `(kh * kw * C_in, C_out)` int8 matrix (as in module 09),
#    `int8_matmul`, minus `z_x` times the matrix's column sums;
# 4. scale, add the bias, and back to NCHW `(N, C_out, OH, OW)` as float32.


# %%
class QuantizedConv2d(Module):
    """`Conv2d` with int8 per-channel weights and int8 inputs (inference only).

    Shape:
        `(N, C_in, H, W) -> (N, C_out, (H + 2p - kh) // s + 1, (W + 2p - kw) // s + 1)`
    """

    def __init__(
        self,
        weight: Any,
        bias: Any,
        input_scale: float,
        input_zero_point: int,
        stride: tuple[int, int] = (1, 1),
        padding: tuple[int, int] = (0, 0),
    ) -> None:
        super().__init__()
        shape = _array(weight).shape
        if len(shape) != 4:
            raise ValueError(f"QuantizedConv2d needs a (C_out, C_in, kh, kw) weight, got {shape}")
        self.out_channels, self.in_channels = shape[:2]
        self.kernel_size, self.stride, self.padding = shape[2:], tuple(stride), tuple(padding)
        _buffers(self, weight, bias, input_scale, input_zero_point)

    @classmethod
    def from_float(cls, conv: Conv2d, input_scale: float, input_zero_point: int) -> QuantizedConv2d:
        """The quantized twin of a trained `Conv2d`, for inputs with these parameters."""
        return cls(conv.weight, conv.bias, input_scale, input_zero_point, conv.stride, conv.padding)

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}, "
            f"input_scale={float(self.input_scale.data):.4g}, "
            f"input_zero_point={int(self.input_zero_point.data)}"
        )

    def forward(self, x: Tensor) -> Tensor:
        values = _array(x)
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        if values.ndim != 4 or values.shape[1] != self.in_channels:
            raise ValueError(
                f"QuantizedConv2d expected input of shape (N, {self.in_channels}, H, W), "
                f"got {values.shape}"
            )
        n, _, h, w = values.shape
        oh, ow = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
        if oh < 1 or ow < 1:
            raise ValueError(f"QuantizedConv2d: input {values.shape} is smaller than the kernel")
        zero_point = int(self.input_zero_point.data)
        # BEGIN SOLUTION 17.6
        # HINT: np.pad(qx.transpose(0, 2, 3, 1), ((0, 0), (ph, ph), (pw, pw), (0, 0)),
        # HINT: constant_values=zero_point); im2col(padded, (kh, kw), self.stride, (oh, ow)).
        qx = quantize_affine(values, float(self.input_scale.data), zero_point)
        padded = np.pad(
            qx.transpose(0, 2, 3, 1),
            ((0, 0), (ph, ph), (pw, pw), (0, 0)),
            constant_values=zero_point,
        )
        cols = im2col(padded, (kh, kw), self.stride, (oh, ow)).reshape(n * oh * ow, -1)
        w = self.weight.data.transpose(2, 3, 1, 0).reshape(-1, self.out_channels)
        acc = int8_matmul(cols, w) - np.int32(zero_point) * w.sum(axis=0, dtype=np.int32)
        out = _dequantized(self, acc)
        # END SOLUTION
        return Tensor(out.reshape(n, oh, ow, self.out_channels).transpose(0, 3, 1, 2))


# %% [markdown]
# ## Task 17.7: the whole model, and its size
#
# `quantize_model(model, calibration, method="minmax", percentile=99.99)` is
# post-training quantization in three steps, on a copy (`copy.deepcopy`; the float
# model stays as it was):
# 1. put an observer (`MinMaxObserver`, or `PercentileObserver(percentile)` for
#    `method="percentile"`) in front of every `Linear` and `Conv2d`: `_Calibrating`
#    below runs the observer, then the float layer;
# 2. in evaluation mode and under `no_grad`, run the model on every calibration batch
#    (Tensors or arrays): each observer sees its layer's real inputs;
# 3. swap each layer for `QuantizedLinear.from_float` or `QuantizedConv2d.from_float`
#    with its observer's `calculate_qparams()`.
#
# `_replace(parent, name, child)` swaps a child in place (a plain `setattr` on a
# `Sequential` would move the child to the end of its registry, and so of the model).
#
# `model_size_bytes(model)` is what the model stores: the `nbytes` of every parameter
# and buffer, each counted once. A float32 `Linear(784, 128)` holds
# `(784 * 128 + 128) * 4 = 401,920` bytes; its `QuantizedLinear` `784 * 128` int8
# weights, 128 float32 scales, 128 float32 biases, one float32 scale and one int32
# zero point: `100,352 + 512 + 512 + 4 + 4 = 101,384` bytes, 3.96x smaller.


# %%
class _Calibrating(Module):
    """A float layer whose inputs an observer records on the way in."""

    def __init__(self, observer: Module, layer: Module) -> None:
        super().__init__()
        self.observer, self.layer = observer, layer

    def forward(self, x: Tensor) -> Tensor:
        return self.layer(self.observer(x))


def _replace(parent: Module, name: str, child: Module) -> None:
    """Put `child` where `parent`'s sub-module `name` was, keeping its place."""
    parent._modules[name] = child
    object.__setattr__(parent, name, child)


def _observer(method: str, percentile: float) -> Module:
    if method == "minmax":
        return MinMaxObserver()
    if method == "percentile":
        return PercentileObserver(percentile)
    raise ValueError(f"method must be 'minmax' or 'percentile', got {method!r}")


def quantize_model(
    model: Module, calibration: Iterable[Any], method: str = "minmax", percentile: float = 99.99
) -> Module:
    """A copy of `model` whose Linear and Conv2d layers are int8, calibrated on `calibration`."""
    _observer(method, percentile)  # a bad method fails before any work
    quantized = copy.deepcopy(model)
    holder = _Calibrating(MinMaxObserver(), quantized)  # so that the model itself may be a layer
    targets = [
        (parent, name, child)
        for _, parent in holder.named_modules()
        for name, child in list(parent._modules.items())
        if isinstance(child, Linear | Conv2d)
    ]
    if not targets:
        raise ValueError("quantize_model: the model has no Linear or Conv2d layer to quantize")
    # BEGIN SOLUTION 17.7
    # HINT: _replace(parent, name, _Calibrating(_observer(...), child)) for each target;
    # HINT: holder.layer.eval(); with no_grad(): run holder.layer on each batch; count them;
    # HINT: then _replace each with QuantizedLinear/QuantizedConv2d.from_float(child, *qparams).
    observers = []
    for parent, name, child in targets:
        observer = _observer(method, percentile)
        observers.append(observer)
        _replace(parent, name, _Calibrating(observer, child))
    holder.layer.eval()
    batches = 0
    with no_grad():
        for batch in calibration:
            holder.layer(batch if isinstance(batch, Tensor) else Tensor(batch))
            batches += 1
    if batches == 0:
        raise ValueError("quantize_model: calibration gave no batches")
    for (parent, name, child), observer in zip(targets, observers, strict=True):
        kind = QuantizedLinear if isinstance(child, Linear) else QuantizedConv2d
        _replace(parent, name, kind.from_float(child, *observer.calculate_qparams()))
    return holder.layer
    # END SOLUTION


def model_size_bytes(model: Module) -> int:
    """The bytes of every parameter and buffer of `model`, each counted once."""
    # BEGIN SOLUTION 17.7
    # HINT: collect tensors from model.named_parameters() and model.named_buffers() in a
    # HINT: dict keyed by id(tensor), then sum their .data.nbytes.
    tensors = {id(t): t for _, t in [*model.named_parameters(), *model.named_buffers()]}
    return int(sum(t.data.nbytes for t in tensors.values()))
    # END SOLUTION
