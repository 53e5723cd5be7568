"""Hidden tests for module 09 (Spatial).

Forward results are compared with plain NumPy references written here (float64, no
student code); gradients with central differences of those references, over
hypothesis-drawn shapes, kernels, strides and paddings.

PYTEST_DONT_REWRITE: failures show the helpers' messages, never this file's source.
"""

import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.testing.checks import assert_tensor
from grader.testing.gradcheck import grad_check
from grader.testing.strategies import arrays, conv_inputs, pool_inputs
from tinytorch.core.autograd import no_grad
from tinytorch.core.layers import Linear, ReLU, Sequential
from tinytorch.core.losses import cross_entropy
from tinytorch.core.spatial import (
    BatchNorm2d,
    Conv2d,
    Flatten,
    MaxPool2d,
    avg_pool2d,
    batch_norm,
    conv2d,
    max_pool2d,
)
from tinytorch.core.tensor import Tensor

F64 = np.float64


# ---- references (NumPy only) ----
def _windows(x, kernel, stride):
    """(N, C, OH, OW, kh, kw) view of every window of an NCHW array."""
    view = np.lib.stride_tricks.sliding_window_view(x, kernel, axis=(2, 3))
    return view[:, :, :: stride[0], :: stride[1]]


def ref_conv(x, weight, bias, stride, padding):
    (ph, pw) = padding
    padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    patches = _windows(padded, weight.shape[2:], stride)
    out = np.einsum("nchwij,ocij->nohw", patches, weight)
    return out if bias is None else out + bias[None, :, None, None]


def ref_max_pool(x, kernel, stride):
    return _windows(x, kernel, stride).max(axis=(4, 5))


def ref_avg_pool(x, kernel, stride):
    return _windows(x, kernel, stride).mean(axis=(4, 5))


def ref_batch_norm(x, weight, bias, eps=1e-5):
    mean = x.mean(axis=(0, 2, 3), keepdims=True)
    var = x.var(axis=(0, 2, 3), keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight[None, :, None, None] + bias[None, :, None, None]


# ---- 09.1 convolution forward ----
@pytest.mark.task("09.1")
@pytest.mark.points(4)
@given(case=conv_inputs())
def test_conv2d_forward_matches_reference(case):
    x, weight, bias, stride, padding = case
    out = conv2d(Tensor(x), Tensor(weight), Tensor(bias), stride=stride, padding=padding)
    what = f"conv2d of {x.shape} with weight {weight.shape}, stride {stride}, padding {padding}"
    expected = ref_conv(x.astype(F64), weight.astype(F64), bias.astype(F64), stride, padding)
    assert_tensor(out, expected, what, rtol=1e-4, atol=1e-4)


@pytest.mark.task("09.1")
@pytest.mark.points(2)
def test_conv2d_without_bias_and_with_a_1x1_kernel():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 4, 3, 5)).astype(np.float32)
    weight = rng.standard_normal((3, 4, 1, 1)).astype(np.float32)
    expected = np.einsum("nchw,oc->nohw", x.astype(F64), weight[:, :, 0, 0].astype(F64))
    assert_tensor(conv2d(Tensor(x), Tensor(weight)), expected, "1x1 conv2d", atol=1e-5)


@pytest.mark.task("09.1")
@pytest.mark.points(2)
def test_conv2d_is_vectorised():
    # A conv written as Python loops over pixels is hundreds of times slower than
    # im2col; this allows 25x the time of a reference im2col on the same input.
    rng = np.random.default_rng(2)
    x = rng.standard_normal((8, 8, 16, 16)).astype(np.float32)
    weight = rng.standard_normal((8, 8, 3, 3)).astype(np.float32)

    def best_of(function, repeats=5):
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            function()
            times.append(time.perf_counter() - start)
        return min(times)

    reference = best_of(lambda: ref_conv(x, weight, None, (1, 1), (1, 1)))
    student = best_of(lambda: conv2d(Tensor(x), Tensor(weight), padding=1), repeats=2)
    assert student <= 25 * reference + 0.01, (
        f"conv2d took {student * 1e3:.1f} ms where im2col takes {reference * 1e3:.2f} ms: "
        "build the patches with k*k slice copies, never loops over output pixels"
    )


@pytest.mark.task("09.1")
@pytest.mark.points(1)
def test_conv2d_keeps_float32_and_rejects_a_kernel_larger_than_the_input():
    out = conv2d(Tensor(np.ones((1, 2, 4, 4))), Tensor(np.ones((1, 2, 3, 3))))
    assert out.dtype == np.float32, f"conv2d of float32 gave {out.dtype}"
    with pytest.raises(ValueError, match="kernel size 5"):
        conv2d(Tensor(np.ones((1, 1, 4, 4))), Tensor(np.ones((1, 1, 5, 5))))


# ---- 09.2 convolution backward ----
@pytest.mark.task("09.2")
@pytest.mark.points(6)
@settings(max_examples=20)
@given(case=conv_inputs(max_side=5))
def test_conv2d_gradients(case):
    x, weight, bias, stride, padding = case
    grad_check(
        lambda a, w, b: conv2d(a, w, b, stride=stride, padding=padding),
        lambda a, w, b: ref_conv(a, w, b, stride, padding),
        x,
        weight,
        bias,
        what=f"conv2d of {x.shape} with weight {weight.shape}, stride {stride}, padding {padding}",
    )


@pytest.mark.task("09.2")
@pytest.mark.points(2)
def test_conv2d_gradients_without_bias_and_for_constant_images():
    rng = np.random.default_rng(3)
    images = Tensor(rng.standard_normal((2, 2, 5, 5)))
    weight = Tensor(rng.standard_normal((3, 2, 3, 3)), requires_grad=True)
    conv2d(images, weight, stride=2, padding=1).sum().backward()
    assert images.grad is None, "an input that does not require grad must get no .grad"
    patches = _windows(np.pad(images.data, ((0, 0), (0, 0), (1, 1), (1, 1))), (3, 3), (2, 2))
    expected = np.broadcast_to(patches.sum(axis=(0, 2, 3)), (3, 2, 3, 3))
    assert_tensor(weight.grad, expected, "weight.grad without bias", rtol=1e-4, atol=1e-4)


# ---- 09.3 max pooling ----
@pytest.mark.task("09.3")
@pytest.mark.points(5)
@given(case=pool_inputs())
def test_max_pool_forward_and_gradient(case):
    x, kernel, stride = case
    grad_check(
        lambda a: max_pool2d(a, kernel, stride),
        lambda a: ref_max_pool(a, kernel, stride),
        x,
        what=f"max_pool2d of {x.shape}, kernel {kernel}, stride {stride}",
    )


@pytest.mark.task("09.3")
@pytest.mark.points(2)
def test_max_pool_ties_and_overlapping_windows():
    x = Tensor(np.zeros((1, 1, 3, 3)), requires_grad=True)
    max_pool2d(x, 2, stride=1).sum().backward()
    # all inputs tie: each window gives its gradient to its top-left input (PyTorch)
    expected = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    assert_tensor(x.grad, expected[None, None], "x.grad of max_pool2d(zeros, 2, stride=1)")


# ---- 09.4 average pooling ----
@pytest.mark.task("09.4")
@pytest.mark.points(5)
@given(case=pool_inputs())
def test_avg_pool_forward_and_gradient(case):
    x, kernel, stride = case
    grad_check(
        lambda a: avg_pool2d(a, kernel, stride),
        lambda a: ref_avg_pool(a, kernel, stride),
        x,
        what=f"avg_pool2d of {x.shape}, kernel {kernel}, stride {stride}",
    )


@pytest.mark.task("09.4")
@pytest.mark.points(1)
def test_avg_pool_keeps_float32():
    out = avg_pool2d(Tensor(np.ones((1, 2, 6, 6))), 3)
    assert_tensor(out, np.ones((1, 2, 2, 2)), "avg_pool2d(ones, 3)")


# ---- 09.5 batch normalization ----
@pytest.mark.task("09.5")
@pytest.mark.points(5)
@settings(max_examples=20)
@given(data=st.data())
def test_batch_norm_training_forward_and_gradients(data):
    n, c = data.draw(st.integers(2, 3)), data.draw(st.integers(1, 3))
    h, w = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
    x = data.draw(arrays((n, c, h, w), -3, 3))
    x = x + np.linspace(0, 1, x.size, dtype=np.float32).reshape(x.shape)  # never constant
    weight, bias = data.draw(arrays((c,), -2, 2)), data.draw(arrays((c,), -2, 2))
    grad_check(
        lambda a, g, b: batch_norm(a, None, None, g, b, training=True),
        ref_batch_norm,
        x,
        weight,
        bias,
        what=f"batch_norm (training) of {x.shape}",
        rtol=1e-4,
        atol=1e-5,
    )


@pytest.mark.task("09.5")
@pytest.mark.points(3)
def test_batch_norm_running_statistics_follow_pytorch():
    rng = np.random.default_rng(4)
    layer = BatchNorm2d(3, momentum=0.2)
    mean, var = np.zeros(3), np.ones(3)
    for _ in range(3):
        x = (rng.standard_normal((4, 3, 2, 5)) * [[[[2.0]], [[0.5]], [[1.0]]]] + 1).astype(
            np.float32
        )
        layer(Tensor(x))
        mean = 0.8 * mean + 0.2 * x.mean(axis=(0, 2, 3))
        var = 0.8 * var + 0.2 * x.var(axis=(0, 2, 3), ddof=1)
    assert_tensor(layer.running_mean, mean, "running_mean after 3 batches", atol=1e-5)
    assert_tensor(layer.running_var, var, "running_var (unbiased) after 3 batches", atol=1e-5)
    state = layer.state_dict()
    assert {"weight", "bias", "running_mean", "running_var"} <= set(state), sorted(state)


@pytest.mark.task("09.5")
@pytest.mark.points(3)
def test_batch_norm_eval_mode_and_its_gradients():
    rng = np.random.default_rng(5)
    layer = BatchNorm2d(2)
    layer.running_mean.data[:] = [1.0, -1.0]
    layer.running_var.data[:] = [4.0, 0.25]
    layer.weight.data[:] = [2.0, 3.0]
    layer.eval()
    x = Tensor(rng.standard_normal((3, 2, 2, 2)).astype(np.float32), requires_grad=True)
    out = layer(x)
    scale = np.array([2.0 / np.sqrt(4 + 1e-5), 3.0 / np.sqrt(0.25 + 1e-5)])[None, :, None, None]
    expected = (x.data - np.array([1.0, -1.0])[None, :, None, None]) * scale
    assert_tensor(out, expected, "BatchNorm2d in eval mode", atol=1e-5)
    out.sum().backward()
    assert_tensor(x.grad, np.broadcast_to(scale, x.shape), "x.grad in eval mode", atol=1e-5)
    std = np.sqrt(np.array([4.0, 0.25]) + 1e-5)[None, :, None, None]
    normalized = (x.data - np.array([1.0, -1.0])[None, :, None, None]) / std
    assert_tensor(layer.weight.grad, normalized.sum(axis=(0, 2, 3)), "weight.grad", atol=1e-5)
    assert_tensor(layer.running_var, [4.0, 0.25], "running_var must not move in eval mode")


@pytest.mark.task("09.5")
@pytest.mark.points(1)
def test_batch_norm_needs_two_values_per_channel_in_training():
    with pytest.raises(ValueError, match="more than 1 value"):
        BatchNorm2d(2)(Tensor(np.ones((1, 2, 1, 1))))


# ---- 09.6 layers ----
@pytest.mark.task("09.6")
@pytest.mark.points(2)
def test_conv2d_layer_init_follows_pytorch():
    conv = Conv2d(4, 16, (3, 5), rng=np.random.default_rng(6))
    bound = 1 / np.sqrt(4 * 3 * 5)
    weight = conv.weight.data
    assert weight.shape == (16, 4, 3, 5) and weight.dtype == np.float32
    assert np.abs(weight).max() <= bound and np.abs(weight).max() > 0.9 * bound
    assert abs(weight.std() - bound / np.sqrt(3)) < 0.1 * bound, "weights must be U(-b, b)"
    assert np.abs(conv.bias.data).max() <= bound
    assert [name for name, _ in conv.named_parameters()] == ["weight", "bias"]
    assert Conv2d(2, 3, 1, bias=False).bias is None
    same = Conv2d(4, 16, 3, rng=np.random.default_rng(7)).weight.data
    assert np.array_equal(same, Conv2d(4, 16, 3, rng=np.random.default_rng(7)).weight.data)


@pytest.mark.task("09.6")
@pytest.mark.points(1)
def test_flatten_start_and_end_dims():
    x = Tensor(np.zeros((2, 3, 4, 5)))
    assert Flatten()(x).shape == (2, 60)
    assert Flatten(0)(x).shape == (120,)
    assert Flatten(1, 2)(x).shape == (2, 12, 5)


@pytest.mark.task("09.6")
@pytest.mark.points(3)
def test_a_small_cnn_learns():
    rng = np.random.default_rng(8)
    images = rng.standard_normal((32, 1, 6, 6)).astype(np.float32) * 0.1
    labels = rng.integers(0, 2, 32)
    images[labels == 1, 0, :, 2:4] += 1.0  # class 1 has a vertical bar
    model = Sequential(
        Conv2d(1, 4, 3, padding=1, rng=rng),
        BatchNorm2d(4),
        ReLU(),
        MaxPool2d(2),
        Flatten(),
        Linear(36, 2, rng=rng),
    )
    params = list(model.parameters())
    for _ in range(30):
        for p in params:
            p.grad = None
        cross_entropy(model(Tensor(images)), labels).backward()
        with no_grad():
            for p in params:
                p.data -= 0.2 * p.grad.data
    model.eval()
    accuracy = (model(Tensor(images)).data.argmax(axis=1) == labels).mean()
    assert accuracy >= 0.95, f"a conv net should learn a vertical bar, got accuracy {accuracy}"
