"""Visible tests for module 09 (Spatial). Run them with `make grade MODULE=09`.

Each test names its task; the hidden tests check the same tasks over many shapes,
strides and paddings, with gradients against central differences.
Your code runs in a separate process: `student.spatial.conv2d` is your function there,
and `assert_tensor` fetches a returned Tensor's `.data` and compares it with an array.
"""

import numpy as np
import pytest

from grader.testing.checks import as_array, assert_tensor
from grader.testing.kit import aids, student, worker_module

spatial = student.spatial
Conv2d, MaxPool2d, AvgPool2d = spatial.Conv2d, spatial.MaxPool2d, spatial.AvgPool2d
BatchNorm2d, Flatten, im2col = spatial.BatchNorm2d, spatial.Flatten, spatial.im2col
conv2d, max_pool2d, avg_pool2d = spatial.conv2d, spatial.max_pool2d, spatial.avg_pool2d
Tensor = student.tensor.Tensor

GRID = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)


@pytest.mark.task("09.1")
@pytest.mark.points(2)
def test_im2col_copies_each_patch_into_a_row():
    xp = np.arange(9, dtype=np.float32).reshape(1, 3, 3, 1)  # NHWC, one channel
    cols = im2col(xp, (2, 2), (1, 1), (2, 2))
    assert type(cols) is np.ndarray, f"im2col should return a NumPy array, got {cols!r}"
    assert cols.shape == (1, 2, 2, 2, 2, 1), f"im2col shape: got {cols.shape}"
    np.testing.assert_array_equal(cols[0, 1, 0, :, :, 0], [[3, 4], [6, 7]])


@pytest.mark.task("09.1")
@pytest.mark.points(3)
def test_conv2d_sums_windows_with_stride_and_padding():
    ones = Tensor(np.ones((1, 1, 2, 2)))
    assert_tensor(
        conv2d(Tensor(GRID), ones), [[[[10, 14, 18], [26, 30, 34], [42, 46, 50]]]], "2x2 sums"
    )
    out = conv2d(Tensor(GRID), ones, Tensor([1.0]), stride=2, padding=1)
    assert_tensor(out, [[[[1, 4, 4], [13, 31, 19], [13, 28, 16]]]], "stride 2, padding 1, bias 1")


@pytest.mark.task("09.2")
@pytest.mark.points(3)
def test_conv2d_gradients_of_a_sum():
    x = Tensor(GRID, requires_grad=True)
    weight = Tensor(np.ones((2, 1, 2, 2)), requires_grad=True)
    bias = Tensor(np.zeros(2), requires_grad=True)
    conv2d(x, weight, bias).sum().backward()
    # every input pixel is counted once per window that covers it, for both filters
    covers = np.array([[1, 2, 2, 1], [2, 4, 4, 2], [2, 4, 4, 2], [1, 2, 2, 1]])
    assert_tensor(x.grad, 2 * covers[None, None], "x.grad")
    assert_tensor(weight.grad, np.full((2, 1, 2, 2), [[45, 54], [81, 90]]), "weight.grad")
    assert_tensor(bias.grad, [9, 9], "bias.grad")


@pytest.mark.task("09.3")
@pytest.mark.points(3)
def test_max_pool_picks_the_largest_and_routes_its_gradient():
    x = Tensor(GRID, requires_grad=True)
    out = max_pool2d(x, 2)
    assert_tensor(out, [[[[5, 7], [13, 15]]]], "max_pool2d(x, 2)")
    out.sum().backward()
    expected = np.zeros((4, 4))
    expected[1::2, 1::2] = 1
    assert_tensor(x.grad, expected[None, None], "x.grad of max_pool2d")


@pytest.mark.task("09.3")
@pytest.mark.points(1)
def test_max_pool_gives_a_tie_to_the_first_maximum():
    x = Tensor(np.ones((1, 1, 2, 2)), requires_grad=True)
    max_pool2d(x, 2).sum().backward()
    assert_tensor(x.grad, [[[[1, 0], [0, 0]]]], "x.grad when all four inputs tie")


@pytest.mark.task("09.4")
@pytest.mark.points(3)
def test_avg_pool_averages_and_shares_the_gradient():
    x = Tensor(GRID, requires_grad=True)
    out = avg_pool2d(x, 2)
    assert_tensor(out, [[[[2.5, 4.5], [10.5, 12.5]]]], "avg_pool2d(x, 2)")
    out.sum().backward()
    assert_tensor(x.grad, np.full((1, 1, 4, 4), 0.25), "x.grad of avg_pool2d")


@pytest.mark.task("09.5")
@pytest.mark.points(3)
def test_batch_norm_training_normalizes_and_tracks_running_statistics():
    layer = BatchNorm2d(2)
    x = np.stack([np.arange(4.0).reshape(2, 2), 10 * np.ones((2, 2))])[None]  # (1, 2, 2, 2)
    out = layer(Tensor(x))
    z = (np.arange(4.0) - 1.5) / np.sqrt(1.25 + 1e-5)
    assert_tensor(out, np.stack([z.reshape(2, 2), np.zeros((2, 2))])[None], "BatchNorm2d(x)")
    # running = 0.9 * running + 0.1 * batch statistic (the unbiased variance: 5/3)
    assert_tensor(layer.running_mean, [0.15, 1.0], "running_mean")
    assert_tensor(layer.running_var, [0.9 + 0.1 * 5 / 3, 0.9], "running_var")


@pytest.mark.task("09.5")
@pytest.mark.points(2)
def test_batch_norm_eval_uses_the_running_statistics():
    layer = BatchNorm2d(1)
    aids.spatial.fill(layer.running_mean, 2.0)  # layer.running_mean.data[:] = 2.0
    aids.spatial.fill(layer.running_var, 4.0)
    layer.eval()
    out = layer(Tensor(np.full((3, 1, 1, 1), 6.0)))
    assert_tensor(out, np.full((3, 1, 1, 1), 4 / np.sqrt(4 + 1e-5)), "BatchNorm2d in eval mode")


@pytest.mark.task("09.6")
@pytest.mark.points(2)
def test_layers_have_pytorch_shapes():
    conv = Conv2d(3, 8, 3, padding=1, rng=worker_module("numpy.random").default_rng(0))
    assert conv.weight.shape == (8, 3, 3, 3) and conv.bias.shape == (8,)
    bound = 1 / np.sqrt(3 * 3 * 3)
    weight = as_array(conv.weight, "Conv2d(3, 8, 3).weight")
    assert np.abs(weight).max() <= bound, "weights must lie in +-1/sqrt(fan_in)"
    # On zero images each output channel holds its bias: the values are known here.
    aids.spatial.fill(conv.bias, np.arange(8.0))
    x = Tensor(np.zeros((2, 3, 8, 8)))
    channels = np.arange(8.0)[None, :, None, None]
    hidden = MaxPool2d(2)(conv(x))
    assert_tensor(hidden, np.broadcast_to(channels, (2, 8, 4, 4)), "MaxPool2d(2)(conv(x))")
    pooled = AvgPool2d(2, stride=1)(hidden)
    assert_tensor(pooled, np.broadcast_to(channels, (2, 8, 3, 3)), "AvgPool2d(2, stride=1)")
    flat = np.repeat(np.arange(8.0), 16)[None].repeat(2, axis=0)
    assert_tensor(Flatten()(hidden), flat, "Flatten() keeps the batch dimension")


@pytest.mark.task("09.6")
@pytest.mark.points(1)
def test_wrong_input_shape_names_expected_and_actual():
    conv = Conv2d(3, 4, 3)
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\).*\(2, 8, 8, 3\)"):
        conv(Tensor(np.zeros((2, 8, 8, 3))))
    aids.spatial.fill(conv.bias, [1.0, 2.0, 3.0, 4.0])  # the right layout still works
    expected = np.broadcast_to(np.arange(1.0, 5.0)[None, :, None, None], (2, 4, 6, 6))
    assert_tensor(conv(Tensor(np.zeros((2, 3, 8, 8)))), expected, "Conv2d(3, 4, 3) of zeros")
