"""int8 quantization recomputed here, on the trusted side, for module 17's tests.

The rules are the lesson's (PyTorch's `MinMaxObserver` for `qint8` activations, symmetric
per-channel weights in [-127, 127]), computed in float32 where the lesson says float32 so
that scales agree to the last bit. Integer sums are exact here (int64), and outputs are
scaled in float64. `assert_levels` and `assert_qparams` accept a one-level difference only
where the exact quotient sits within `TIE` of a rounding tie (x / scale = k + 0.5): there
float32 and float64 arithmetic may round either way, and both are correct.
"""

from __future__ import annotations

import hashlib
import io
import math
from functools import cache
from pathlib import Path

import numpy as np

F32, F64, I64 = np.float32, np.float64, np.int64
EPS = F32(np.finfo(F32).eps)
QMIN, QMAX, WEIGHT_QMAX = -128, 127, 127
TIE = 1e-3
DIGITS_SHA256 = "58847471d0f8df554b28ea961de1318e44130caa50529622458d1bdda9d75342"


def per_channel(weight: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Symmetric per-channel levels (int64), float32 scales, and the exact quotients."""
    w = np.asarray(weight, dtype=F32)
    max_abs = np.abs(w).reshape(len(w), -1).max(axis=1)
    scale = np.maximum(max_abs / F32(WEIGHT_QMAX), EPS).astype(F32)
    quotient = w.astype(F64) / scale.astype(F64).reshape((-1,) + (1,) * (w.ndim - 1))
    levels = np.clip(np.rint(quotient), -WEIGHT_QMAX, WEIGHT_QMAX).astype(I64)
    return levels, scale, quotient


def affine_qparams(low: float, high: float) -> tuple[np.float32, int, float]:
    """PyTorch's qint8 rule: the float32 scale, the zero point, and the quotient low/scale."""
    low, high = F32(min(low, 0.0)), F32(max(high, 0.0))
    scale = max(F32((high - low) / F32(QMAX - QMIN)), EPS)
    quotient = float(low) / float(scale)
    return scale, int(np.clip(QMIN - np.rint(quotient), QMIN, QMAX)), quotient


def levels(x: np.ndarray, scale: float, zero_point: int) -> tuple[np.ndarray, np.ndarray]:
    """Affine int8 levels of `x` (int64) and the exact quotients x / scale."""
    quotient = np.asarray(x, dtype=F32).astype(F64) / float(F32(scale))
    return np.clip(np.rint(quotient) + zero_point, QMIN, QMAX).astype(I64), quotient


def _near_tie(quotient: np.ndarray) -> np.ndarray:
    return np.abs(np.abs(quotient - np.floor(quotient)) - 0.5) < TIE


def assert_levels(got: object, expected: np.ndarray, quotient: np.ndarray, what: str) -> None:
    """`got` is an int8 array equal to `expected`, but for one level at rounding ties."""
    if type(got) is not np.ndarray:
        raise AssertionError(f"{what}: expected an int8 NumPy array, got {type(got).__name__}")
    if got.shape != expected.shape or got.dtype != np.int8:
        raise AssertionError(
            f"{what}: expected int8 of shape {expected.shape}, got {got.dtype} {got.shape}"
        )
    diff = got.astype(I64) - expected
    wrong = (np.abs(diff) > 1) | ((diff != 0) & ~_near_tie(quotient))
    if wrong.any():
        index = tuple(int(i) for i in np.argwhere(wrong)[0])
        raise AssertionError(
            f"{what}: {int(wrong.sum())} of {wrong.size} levels differ; at {index} got "
            f"{got[index]}, expected {expected[index]} (value / scale = {quotient[index]:.4f})"
        )


def assert_qparams(got: object, low: float, high: float, what: str) -> tuple[float, int]:
    """`got` is `(scale, zero_point)` of `affine_qparams(low, high)`: a float and an int."""
    if not isinstance(got, tuple | list) or len(got) != 2:
        raise AssertionError(f"{what}: expected a (scale, zero_point) pair, got {got!r}")
    scale, zero_point = got
    want_scale, want_zero, quotient = affine_qparams(low, high)
    if not isinstance(scale, float | np.floating) or not math.isclose(
        scale, want_scale, rel_tol=1e-6
    ):
        raise AssertionError(f"{what}: scale {scale!r}, expected {float(want_scale)!r}")
    near = bool(_near_tie(np.array(quotient)))
    if type(zero_point) is not int or abs(zero_point - want_zero) > (1 if near else 0):
        raise AssertionError(f"{what}: zero_point {zero_point!r}, expected {want_zero} (an int)")
    return float(want_scale), want_zero


def safe_inputs(
    rng: np.random.Generator, shape: tuple[int, ...], scale: float, zero_point: int
) -> np.ndarray:
    """float32 values whose quotients by `scale` stay 0.1 away from ties, a few of them
    past the int8 range (so clipping matters): results are then exact, whoever rounds."""
    offsets = rng.integers(QMIN - 20, QMAX + 21, shape) - zero_point
    x = (offsets + rng.uniform(-0.4, 0.4, shape)) * float(F32(scale))
    return x.astype(F32)


def linear(
    x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, scale: float, zero_point: int
) -> np.ndarray:
    """A QuantizedLinear's float64 output: exact integer sums, scaled here."""
    qw, w_scale, _ = per_channel(weight)
    qx, _ = levels(x, scale, zero_point)
    acc = (qx - zero_point) @ qw.T
    out = acc * (float(F32(scale)) * w_scale.astype(F64))
    return out if bias is None else out + bias


def conv(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None,
    scale: float,
    zero_point: int,
    stride: tuple[int, int] = (1, 1),
    padding: tuple[int, int] = (0, 0),
) -> np.ndarray:
    """A QuantizedConv2d's float64 output (NCHW): padded with the zero point, exact sums."""
    qw, w_scale, _ = per_channel(weight)
    qx, _ = levels(x, scale, zero_point)
    (ph, pw), (sh, sw) = padding, stride
    padded = np.pad(qx - zero_point, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, weight.shape[2:], axis=(2, 3))
    acc = np.einsum("nchwij,ocij->nohw", windows[:, :, ::sh, ::sw], qw)
    out = acc * (float(F32(scale)) * w_scale.astype(F64))[None, :, None, None]
    return out if bias is None else out + bias[None, :, None, None]


# ---- a model trained here on real data: the bundled 8x8 digits ----
@cache
def digits(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The course's UCI digits from `path` (module 17's hidden tests keep a copy beside
    them, checked here by its SHA-256): float32 train and test images `(N, 64)` scaled to
    [0, 1], and int64 labels."""
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != DIGITS_SHA256:
        raise AssertionError(f"{path} is not the course's digits file (SHA-256 differs)")
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        arrays = [
            archive[f"{split}_{part}"]
            for split in ("train", "test")
            for part in ("images", "labels")
        ]
    x_train, y_train, x_test, y_test = arrays
    return (
        (x_train.reshape(len(x_train), -1) / F32(16)).astype(F32),
        y_train.astype(I64),
        (x_test.reshape(len(x_test), -1) / F32(16)).astype(F32),
        y_test.astype(I64),
    )


@cache
def trained_digits_mlp(
    path: Path, hidden: int = 32, steps: int = 300, seed: int = 17
) -> tuple[np.ndarray, ...]:
    """w1, b1, w2, b2 (float32, PyTorch's layout) of Linear(64, hidden), ReLU, Linear(hidden,
    10), trained here by full-batch gradient descent with momentum on the digits."""
    x, y, _, _ = digits(path)
    rng = np.random.default_rng(seed)
    params = [
        rng.uniform(-1, 1, (hidden, 64)) / 8.0,
        np.zeros(hidden),
        rng.uniform(-1, 1, (10, hidden)) / math.sqrt(hidden),
        np.zeros(10),
    ]
    velocity = [np.zeros_like(p) for p in params]
    x64, rows = x.astype(F64), np.arange(len(y))
    for _ in range(steps):
        w1, b1, w2, b2 = params
        pre = x64 @ w1.T + b1
        hidden_out = np.maximum(pre, 0.0)
        logits = hidden_out @ w2.T + b2
        probs = np.exp(logits - logits.max(axis=1, keepdims=True))
        probs /= probs.sum(axis=1, keepdims=True)
        probs[rows, y] -= 1.0
        d_logits = probs / len(y)
        d_hidden = (d_logits @ w2) * (pre > 0)
        grads = [d_hidden.T @ x64, d_hidden.sum(0), d_logits.T @ hidden_out, d_logits.sum(0)]
        for param, grad, speed in zip(params, grads, velocity, strict=True):
            speed *= 0.9
            speed -= 0.5 * grad
            param += speed
    return tuple(p.astype(F32) for p in params)


def float_forward(layers: list[tuple], x: np.ndarray, seen: list | None = None) -> np.ndarray:
    """The float model in float64. `layers` are ("linear", w, b), ("conv", w, b, stride,
    padding), ("relu",), ("maxpool", k) and ("flatten",); with `seen`, the input of
    every linear and conv layer is appended to it (what an observer sees)."""
    out = np.asarray(x, dtype=F64)
    for layer in layers:
        kind = layer[0]
        if kind in ("linear", "conv") and seen is not None:
            seen.append(out.astype(F32))
        if kind == "linear":
            out = out @ layer[1].astype(F64).T + (0.0 if layer[2] is None else layer[2])
        elif kind == "conv":
            out = _float_conv(out, *layer[1:])
        elif kind == "relu":
            out = np.maximum(out, 0.0)
        elif kind == "maxpool":
            k = layer[1]
            view = np.lib.stride_tricks.sliding_window_view(out, (k, k), axis=(2, 3))
            out = view[:, :, ::k, ::k].max(axis=(4, 5))
        elif kind == "flatten":
            out = out.reshape(len(out), -1)
    return out


def _float_conv(x, weight, bias, stride, padding):
    (ph, pw), (sh, sw) = padding, stride
    padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, weight.shape[2:], axis=(2, 3))
    out = np.einsum("nchwij,ocij->nohw", windows[:, :, ::sh, ::sw], weight.astype(F64))
    return out if bias is None else out + bias[None, :, None, None]


def calibrated_qparams(
    layers: list[tuple], calibration: list[np.ndarray], percentile: float | None = None
) -> list[tuple[np.float32, int, float]]:
    """`affine_qparams` of every linear and conv layer's input over the calibration batches:
    min-max, or the `100 - percentile` and `percentile` percentiles."""
    seen_per_batch = []
    for batch in calibration:
        seen: list[np.ndarray] = []
        float_forward(layers, batch, seen)
        seen_per_batch.append(seen)
    params = []
    for index in range(len(seen_per_batch[0])):
        values = np.concatenate([seen[index].ravel() for seen in seen_per_batch])
        if percentile is None:
            low, high = float(values.min()), float(values.max())
        else:
            low, high = (float(v) for v in np.percentile(values, [100 - percentile, percentile]))
        params.append(affine_qparams(low, high))
    return params


def quantized_forward(
    layers: list[tuple],
    calibration: list[np.ndarray],
    x: np.ndarray,
    percentile: float | None = None,
) -> np.ndarray:
    """The int8 model's output: each linear and conv quantized with its calibrated input."""
    qparams = iter(calibrated_qparams(layers, calibration, percentile))
    out = np.asarray(x, dtype=F64)
    for layer in layers:
        if layer[0] == "linear":
            scale, zero_point, _ = next(qparams)
            out = linear(out.astype(F32), layer[1], layer[2], scale, zero_point)
        elif layer[0] == "conv":
            scale, zero_point, _ = next(qparams)
            out = conv(out.astype(F32), layer[1], layer[2], scale, zero_point, *layer[3:])
        else:
            out = float_forward([layer], out)
    return out


def mlp_layers(params: tuple[np.ndarray, ...]) -> list[tuple]:
    """Linear, ReLU, Linear with the given w1, b1, w2, b2."""
    w1, b1, w2, b2 = params
    return [("linear", w1, b1.astype(F64)), ("relu",), ("linear", w2, b2.astype(F64))]
