"""Module 17 against PyTorch's eager-mode quantization (torch.ao.quantization): observers'
scales and zero points, quantized levels, dequantized values, integer products, and the
quantized layers against PyTorch's fake-quantized float layers (what quantization-aware
training simulates: the same integers, computed in float)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F  # noqa: N812 (PyTorch's name)
from torch.ao.quantization import MinMaxObserver, PerChannelMinMaxObserver

from grader.testing.quant_reference import assert_levels
from tests.parity.compare import COMPARISONS, close, normal, rng
from tinytorch.core import quantization as qz
from tinytorch.core.tensor import Tensor

F32 = np.float32
# PyTorch 2.13 warns that its quantized tensor types will go; they are what we compare with.
pytestmark = pytest.mark.filterwarnings("ignore:torch.quantize_per_tensor:UserWarning")


def _weight_observer(weight: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """PyTorch's per-channel symmetric scales over [-127, 127] (the lesson's rule)."""
    observer = PerChannelMinMaxObserver(
        ch_axis=0,
        dtype=torch.qint8,
        qscheme=torch.per_channel_symmetric,
        quant_min=-127,
        quant_max=127,
    )
    observer(torch.tensor(weight))
    return observer.calculate_qparams()


def _levels(ours: np.ndarray, theirs: torch.Tensor, quotient: np.ndarray, what: str) -> None:
    """PyTorch multiplies by 1/scale where we divide: the two may differ by one at ties."""
    COMPARISONS[0] += 1
    assert_levels(ours, theirs.int_repr().numpy().astype(np.int64), quotient, what)


@pytest.mark.parametrize("shape", [(6, 5), (4, 3, 3, 3), (3, 1)])
def test_per_channel_weights(shape):
    weight = normal(1, *shape)
    weight[0] = 0.0  # an all-zero channel: both frameworks floor the scale at eps
    q, scale = qz.quantize_per_channel(weight)
    their_scale, their_zero = _weight_observer(weight)
    close(scale, their_scale.numpy().astype(F32), "per-channel scales", rtol=1e-6, atol=0)
    assert not their_zero.any()
    theirs = torch.quantize_per_channel(
        torch.tensor(weight), their_scale.double(), their_zero, 0, torch.qint8
    )
    quotient = weight / scale.reshape((-1,) + (1,) * (weight.ndim - 1))
    _levels(q, theirs, quotient, "per-channel levels")
    close(qz.dequantize(q, scale), theirs.dequantize().numpy(), "dequantize", rtol=1e-6)


@pytest.mark.parametrize("low, high", [(-1.0, 3.0), (0.5, 2.0), (-4.0, -1.0), (0.0, 0.0)])
def test_affine_qparams_and_levels(low, high):
    x = rng(2).uniform(low - 1, high + 1, size=500).astype(F32)
    x[:2] = low, high
    inside = x[(x >= low) & (x <= high)]  # what calibration saw; x also holds values past it
    ours = qz.MinMaxObserver()
    ours(Tensor(inside))
    theirs = MinMaxObserver(dtype=torch.qint8, qscheme=torch.per_tensor_affine)
    theirs(torch.tensor(inside))
    their_scale, their_zero = theirs.calculate_qparams()
    scale, zero_point = ours.calculate_qparams()
    assert (scale, zero_point) == qz.affine_qparams(low, high)
    close(np.float32(scale), their_scale.numpy()[0], f"scale of [{low}, {high}]", rtol=1e-6)
    assert zero_point == int(their_zero), f"zero point {zero_point}, PyTorch {int(their_zero)}"
    q = qz.quantize_affine(x, scale, zero_point)
    quantized = torch.quantize_per_tensor(torch.tensor(x), scale, zero_point, torch.qint8)
    _levels(q, quantized, x / np.float32(scale), f"levels of [{low - 1}, {high + 1}]")
    close(qz.dequantize(q, scale, zero_point), quantized.dequantize().numpy(), "dequantize")


def test_int8_matmul_against_an_integer_matmul():
    a = rng(3).integers(-128, 128, (7, 2100)).astype(np.int8)
    b = rng(4).integers(-128, 128, (2100, 5)).astype(np.int8)
    theirs = torch.mm(torch.tensor(a, dtype=torch.int64), torch.tensor(b, dtype=torch.int64))
    close(qz.int8_matmul(a, b), theirs.numpy().astype(np.int32), "int8 @ int8", rtol=0, atol=0)


def _fake(x: np.ndarray, scale: float, zero_point: int) -> torch.Tensor:
    return torch.fake_quantize_per_tensor_affine(torch.tensor(x), scale, zero_point, -128, 127)


def _fake_weight(weight: np.ndarray) -> torch.Tensor:
    scale, zero = _weight_observer(weight)
    return torch.fake_quantize_per_channel_affine(
        torch.tensor(weight), scale, zero.int(), 0, -127, 127
    )


def test_quantized_linear_is_the_fake_quantized_linear():
    weight, bias, x = normal(5, 6, 8), normal(6, 6), normal(7, 10, 8, scale=2.0)
    scale, zero_point = qz.affine_qparams(float(x.min()), float(x.max()))
    layer = qz.QuantizedLinear(weight, bias, scale, zero_point)
    theirs = F.linear(_fake(x, scale, zero_point), _fake_weight(weight), torch.tensor(bias))
    close(layer(Tensor(x)), theirs, "QuantizedLinear", rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("stride, padding", [((1, 1), (0, 0)), ((2, 1), (1, 2))])
def test_quantized_conv2d_is_the_fake_quantized_conv2d(stride, padding):
    weight, bias, x = normal(8, 4, 3, 3, 2), normal(9, 4), normal(10, 2, 3, 7, 6)
    x = np.maximum(x, 0.0)  # after a ReLU: the zero point is -128, padding matters
    scale, zero_point = qz.affine_qparams(0.0, float(x.max()))
    layer = qz.QuantizedConv2d(weight, bias, scale, zero_point, stride, padding)
    theirs = F.conv2d(
        _fake(x, scale, zero_point), _fake_weight(weight), torch.tensor(bias), stride, padding
    )
    close(layer(Tensor(x)), theirs, f"QuantizedConv2d stride {stride} padding {padding}",
          rtol=1e-4, atol=1e-4)  # fmt: skip
