"""Hidden tests for module 09 (Spatial).

Forward results are compared with plain NumPy references written here (float64, no
student code); gradients with central differences of those references, over
hypothesis-drawn shapes, kernels, strides and paddings. Every call on the student's
functions and layers runs in the worker.

PYTEST_DONT_REWRITE: failures show the helpers' messages, never this file's source.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.testing.checks import as_array, assert_tensor, items
from grader.testing.gradcheck import grad_check
from grader.testing.kit import aids, student, worker_module, worker_rng
from grader.testing.reference import conv2d as ref_conv
from grader.testing.reference import windows as _windows
from grader.testing.strategies import arrays, conv_inputs, pool_inputs
from grader.testing.timing import best_time

spatial = student.spatial
BatchNorm2d, Conv2d, Flatten, MaxPool2d = (
    spatial.BatchNorm2d,
    spatial.Conv2d,
    spatial.Flatten,
    spatial.MaxPool2d,
)
avg_pool2d, batch_norm, conv2d, max_pool2d = (
    spatial.avg_pool2d,
    spatial.batch_norm,
    spatial.conv2d,
    spatial.max_pool2d,
)
Linear, ReLU, Sequential = student.layers.Linear, student.layers.ReLU, student.layers.Sequential
cross_entropy, no_grad = student.losses.cross_entropy, student.autograd.no_grad
Tensor = student.tensor.Tensor
listed = worker_module("builtins").list  # list(...) built beside the student's code
fill = aids.spatial.fill  # tensor.data[:] = values, in the worker

F64 = np.float64


# ---- references (NumPy only) ----
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
    # im2col; this allows 25x the time of a reference im2col on the same input, plus
    # 10 ms for the request's round trip. The input tensors exist before the clock
    # starts, so each timed run is one request: the conv2d call alone.
    rng = np.random.default_rng(2)
    x = rng.standard_normal((8, 8, 16, 16)).astype(np.float32)
    weight = rng.standard_normal((8, 8, 3, 3)).astype(np.float32)
    x_tensor, weight_tensor = Tensor(x), Tensor(weight)

    expected = ref_conv(x.astype(F64), weight.astype(F64), None, (1, 1), (1, 1))
    out = conv2d(x_tensor, weight_tensor, padding=1)  # a fast answer must be right too
    assert_tensor(out, expected, "conv2d of (8, 8, 16, 16), padding 1", rtol=1e-4, atol=1e-4)
    reference = best_time(lambda: ref_conv(x, weight, None, (1, 1), (1, 1)))
    student = best_time(lambda: conv2d(x_tensor, weight_tensor, padding=1), repeats=2)
    assert student <= 25 * reference + 0.01, (
        f"conv2d took {student * 1e3:.1f} ms where im2col takes {reference * 1e3:.2f} ms: "
        "build the patches with k*k slice copies, never loops over output pixels"
    )


@pytest.mark.task("09.1")
@pytest.mark.points(1)
def test_conv2d_keeps_float32_and_rejects_a_kernel_larger_than_the_input():
    out = conv2d(Tensor(np.ones((1, 2, 4, 4))), Tensor(np.ones((1, 2, 3, 3))))
    assert_tensor(out, np.full((1, 1, 2, 2), 18.0), "conv2d of ones (float32)")
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
    values = rng.standard_normal((2, 2, 5, 5))
    images = Tensor(values)
    weight = Tensor(rng.standard_normal((3, 2, 3, 3)), requires_grad=True)
    conv2d(images, weight, stride=2, padding=1).sum().backward()
    assert images.grad is None, "an input that does not require grad must get no .grad"
    padded = np.pad(values.astype(np.float32), ((0, 0), (0, 0), (1, 1), (1, 1)))
    patches = _windows(padded, (3, 3), (2, 2))
    expected = np.broadcast_to(patches.sum(axis=(0, 2, 3)), (3, 2, 3, 3))
    assert_tensor(weight.grad, expected, "weight.grad without bias", rtol=1e-4, atol=1e-4)


@pytest.mark.task("09.2")
@pytest.mark.points(1)
def test_conv2d_gradients_of_an_empty_batch_are_zeros_like_pytorch():
    rng = np.random.default_rng(4)
    images = Tensor(np.zeros((0, 3, 5, 5)), requires_grad=True)
    weight = Tensor(rng.standard_normal((4, 3, 3, 3)), requires_grad=True)
    bias = Tensor(rng.standard_normal(4), requires_grad=True)
    out = conv2d(images, weight, bias, padding=1)
    assert_tensor(out, np.zeros((0, 4, 5, 5)), "conv2d of an empty batch")
    out.sum().backward()
    assert_tensor(images.grad, np.zeros((0, 3, 5, 5)), "input gradient of an empty batch")
    assert_tensor(weight.grad, np.zeros((4, 3, 3, 3)), "weight gradient of an empty batch")
    assert_tensor(bias.grad, np.zeros(4), "bias gradient of an empty batch")


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


@pytest.mark.task("09.3")
@pytest.mark.points(1)
def test_max_pool_gives_a_nan_maximum_its_gradient_like_pytorch():
    x = Tensor(np.array([[[[1.0, np.nan], [3.0, 2.0]]]]), requires_grad=True)
    out = max_pool2d(x, 2)
    assert_tensor(out, np.array([[[[np.nan]]]]), "max_pool2d of a window holding NaN")
    out.sum().backward()
    expected = np.array([[[[0.0, 1.0], [0.0, 0.0]]]])
    assert_tensor(x.grad, expected, "x.grad when the window's maximum is NaN")


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
    state = set(layer.state_dict())
    assert {"weight", "bias", "running_mean", "running_var"} <= state, sorted(state)


@pytest.mark.task("09.5")
@pytest.mark.points(3)
def test_batch_norm_eval_mode_and_its_gradients():
    rng = np.random.default_rng(5)
    layer = BatchNorm2d(2)
    fill(layer.running_mean, [1.0, -1.0])
    fill(layer.running_var, [4.0, 0.25])
    fill(layer.weight, [2.0, 3.0])
    fill(layer.bias, [0.5, -1.5])
    layer.eval()
    values = rng.standard_normal((3, 2, 2, 2)).astype(np.float32)
    x = Tensor(values, requires_grad=True)
    out = layer(x)
    scale = np.array([2.0 / np.sqrt(4 + 1e-5), 3.0 / np.sqrt(0.25 + 1e-5)])[None, :, None, None]
    bias = np.array([0.5, -1.5])[None, :, None, None]
    expected = (values - np.array([1.0, -1.0])[None, :, None, None]) * scale + bias
    assert_tensor(out, expected, "BatchNorm2d in eval mode", atol=1e-5)
    out.sum().backward()
    assert_tensor(x.grad, np.broadcast_to(scale, values.shape), "x.grad in eval mode", atol=1e-5)
    std = np.sqrt(np.array([4.0, 0.25]) + 1e-5)[None, :, None, None]
    normalized = (values - np.array([1.0, -1.0])[None, :, None, None]) / std
    assert_tensor(layer.weight.grad, normalized.sum(axis=(0, 2, 3)), "weight.grad", atol=1e-5)
    assert_tensor(layer.bias.grad, np.full(2, 12.0), "bias.grad in eval mode", atol=1e-5)
    assert_tensor(layer.running_var, [4.0, 0.25], "running_var must not move in eval mode")


@pytest.mark.task("09.5")
@pytest.mark.points(1)
def test_batch_norm_needs_two_values_per_channel_in_training():
    with pytest.raises(ValueError, match="more than 1 value"):
        BatchNorm2d(2)(Tensor(np.ones((1, 2, 1, 1))))
    values = np.array([1.0, 3.0, -2.0, 2.0], dtype=np.float32).reshape(2, 2, 1, 1)
    expected = ref_batch_norm(values.astype(F64), np.ones(2), np.zeros(2))  # two values: fine
    assert_tensor(BatchNorm2d(2)(Tensor(values)), expected, "BatchNorm2d of 2 x 2 values")


# ---- 09.6 layers ----
@pytest.mark.task("09.6")
@pytest.mark.points(2)
def test_conv2d_layer_init_follows_pytorch():
    conv = Conv2d(4, 16, (3, 5), rng=worker_rng(6))
    bound = 1 / np.sqrt(4 * 3 * 5)
    weight = as_array(conv.weight, "Conv2d(4, 16, (3, 5)).weight")
    assert weight.shape == (16, 4, 3, 5) and weight.dtype == np.float32
    assert np.abs(weight).max() <= bound and np.abs(weight).max() > 0.9 * bound
    assert abs(weight.std() - bound / np.sqrt(3)) < 0.1 * bound, "weights must be U(-b, b)"
    assert np.abs(as_array(conv.bias, "Conv2d(4, 16, (3, 5)).bias")).max() <= bound
    assert [name for name, _ in listed(conv.named_parameters())] == ["weight", "bias"]
    assert Conv2d(2, 3, 1, bias=False).bias is None
    same = as_array(Conv2d(4, 16, 3, rng=worker_rng(7)).weight, "Conv2d(4, 16, 3).weight")
    again = as_array(Conv2d(4, 16, 3, rng=worker_rng(7)).weight, "Conv2d(4, 16, 3).weight")
    assert np.array_equal(same, again)


@pytest.mark.task("09.6")
@pytest.mark.points(1)
def test_flatten_start_and_end_dims():
    values = np.arange(120.0).reshape(2, 3, 4, 5)
    x = Tensor(values)
    assert_tensor(Flatten()(x), values.reshape(2, 60), "Flatten()")
    assert_tensor(Flatten(0)(x), values.reshape(120), "Flatten(0)")
    assert_tensor(Flatten(1, 2)(x), values.reshape(2, 12, 5), "Flatten(1, 2)")


@pytest.mark.task("09.6")
@pytest.mark.points(3)
def test_a_small_cnn_learns():
    rng = np.random.default_rng(8)
    images = rng.standard_normal((32, 1, 6, 6)).astype(np.float32) * 0.1
    labels = rng.integers(0, 2, 32)
    images[labels == 1, 0, :, 2:4] += 1.0  # class 1 has a vertical bar
    # the layers draw their weights from the same stream, continued in the worker
    rng = worker_rng(8)
    rng.standard_normal((32, 1, 6, 6))
    rng.integers(0, 2, 32)
    model = Sequential(
        Conv2d(1, 4, 3, padding=1, rng=rng),
        BatchNorm2d(4),
        ReLU(),
        MaxPool2d(2),
        Flatten(),
        Linear(36, 2, rng=rng),
    )
    params = items(listed(model.parameters()), 6, "the CNN's parameters()")
    for _ in range(30):
        aids.spatial.clear_grads(params)  # p.grad = None for each p, in the worker
        cross_entropy(model(Tensor(images)), labels).backward()
        with no_grad():
            aids.spatial.descend(params, 0.2)  # p.data -= 0.2 * p.grad.data, in place
    model.eval()
    logits = as_array(model(Tensor(images)), "the trained model")
    accuracy = (logits.argmax(axis=1) == labels).mean()
    assert accuracy >= 0.95, f"a conv net should learn a vertical bar, got accuracy {accuracy}"
