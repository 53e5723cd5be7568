"""Modules 08-09 against PyTorch: batching and transforms, and the convolution layers
(forward values, gradients, running statistics, initialisation), with fixed seeds."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F  # noqa: N812 (PyTorch's name)
from torch import nn
from torch.utils import data as tud

from tests.parity.compare import call, close, forward_and_backward, normal, pair, rng
from tinytorch.core import dataloader as dl
from tinytorch.core import spatial as sp
from tinytorch.core.tensor import Tensor

F32 = np.float32


# ---------------------------------------------------------------- 08 dataloader
# fmt: off
LOADER_ROWS = [(10, 4, False), (10, 4, True), (12, 4, False), (12, 4, True), (3, 5, False),
               (3, 5, True), (7, 1, False), (0, 2, False)]
# fmt: on


def compare_batches(got, want, what: str) -> None:
    assert len(got) == len(want), f"{what}: {len(got)} batches, PyTorch {len(want)}"
    for b, (batch, their_batch) in enumerate(zip(got, want, strict=True)):
        for field, (a, c) in enumerate(zip(batch, their_batch, strict=True)):
            close(a, c, f"{what}: batch {b} field {field}")


@pytest.mark.parametrize("n, batch_size, drop_last", LOADER_ROWS)
def test_dataloader_batches_without_shuffling(n, batch_size, drop_last):
    """TensorDataset and DataLoader: items, len, batch contents, order and dtypes."""
    x, y = normal(20, n, 3, 2), rng(21).integers(0, 5, size=n).astype(np.int64)
    ours = dl.TensorDataset(x, Tensor(y, dtype=np.int64))
    theirs = tud.TensorDataset(torch.tensor(x), torch.tensor(y))
    assert len(ours) == len(theirs) == n
    compare_batches([ours[i] for i in range(n)], [theirs[i] for i in range(n)], "items")
    loader = dl.DataLoader(ours, batch_size=batch_size, drop_last=drop_last)
    their_loader = tud.DataLoader(theirs, batch_size=batch_size, drop_last=drop_last)
    assert len(loader) == len(their_loader)
    compare_batches(list(loader), list(their_loader), "DataLoader")


class Squares(dl.Dataset):
    """A map-style dataset without get_batch: an image-like array and an int label."""

    def __len__(self):
        return 7

    def __getitem__(self, index):
        return np.full((2, 2), index * 0.5, dtype=F32), index * index


def test_dataloader_over_a_dataset_subclass_matches_default_collate():
    """Item-by-item fetching and stacking against torch's default_collate."""
    got, want = dl.DataLoader(Squares(), batch_size=3), tud.DataLoader(Squares(), batch_size=3)
    compare_batches(list(got), list(want), "Dataset subclass")


def test_transforms_against_torch_arithmetic():
    """Normalize, RandomHorizontalFlip with p=0 and p=1, RandomCrop where it is
    deterministic (the window fills the padded image), and Compose of them."""
    x = normal(22, 4, 3, 5, 6, scale=50.0)
    mean, std = [0.5, -1.0, 20.0], [0.25, 2.0, 40.0]
    m, s = torch.tensor(mean).view(1, -1, 1, 1), torch.tensor(std).view(1, -1, 1, 1)
    t, ours = torch.tensor(x), Tensor(x)
    close(dl.Normalize(mean, std)(ours), (t - m) / s, "Normalize", 1e-6, 1e-6)
    close(dl.RandomHorizontalFlip(p=0.0, generator=1)(ours), t, "flip p=0")
    close(dl.RandomHorizontalFlip(p=1.0, generator=1)(ours), t.flip(-1), "flip p=1")
    close(dl.RandomCrop((5, 6), generator=2)(ours), t, "crop of the whole image")
    close(dl.RandomCrop((9, 10), 2, generator=2)(ours), F.pad(t, (2, 2, 2, 2)), "pad only")
    steps = [dl.Normalize(mean, std), dl.RandomHorizontalFlip(p=1.0), dl.RandomCrop((7, 8), 1)]
    expected = F.pad(((t - m) / s).flip(-1), (1, 1, 1, 1))
    close(dl.Compose(steps)(ours), expected, "Compose", 1e-6, 1e-6)
    close(dl.Compose([])(ours), t, "empty Compose")


def test_random_crop_windows_are_windows_of_torch_padding():
    """Each randomly cropped image equals one window of F.pad's padded image."""
    x = normal(23, 6, 2, 5, 5)
    out = dl.RandomCrop(4, padding=1, generator=3)(Tensor(x)).data
    windows = F.pad(torch.tensor(x), (1, 1, 1, 1)).unfold(2, 4, 1).unfold(3, 4, 1)  # N C i j h w
    for n in range(len(x)):
        found = (windows[n] == torch.tensor(out[n])[:, None, None]).all(-1).all(-1).all(0)
        assert found.any(), f"crop {n} is no window of the padded image"


# ---------------------------------------------------------------- 09 spatial
# fmt: off
CONV_ROWS = [  # x shape, weight shape, bias, stride, padding
    ((2, 3, 7, 7), (4, 3, 3, 3), True, 1, 0), ((2, 3, 8, 8), (5, 3, 3, 3), True, 2, 1),
    ((1, 2, 7, 9), (3, 2, 3, 2), True, (2, 1), (1, 2)), ((2, 4, 5, 5), (6, 4, 1, 1), False, 1, 0),
    ((3, 2, 4, 4), (2, 2, 4, 4), True, 1, 0), ((2, 2, 8, 8), (3, 2, 3, 3), True, 3, 0),
    ((1, 1, 5, 5), (1, 1, 3, 3), False, 1, 2),
]
POOL_ROWS = [((2, 3, 6, 6), 2, None), ((2, 2, 7, 7), 2, None), ((1, 2, 7, 7), 3, 2),
             ((2, 1, 6, 8), (2, 3), (1, 2)), ((1, 2, 5, 5), 3, 1), ((1, 1, 4, 4), 4, None),
             ((0, 2, 4, 4), 2, None)]
# fmt: on


@pytest.mark.parametrize("xs, ws, bias, stride, padding", CONV_ROWS)
@pytest.mark.parametrize("dtype", [F32, np.float64])
def test_conv2d(dtype, xs, ws, bias, stride, padding):
    """conv2d forward and gradients (input, weight, bias) against F.conv2d, float32 and
    float64 (which stays float64)."""
    inputs = [normal(30, *xs), normal(31, *ws)] + ([normal(32, ws[0])] if bias else [])
    inputs = [x.astype(dtype) for x in inputs]
    ours = lambda x, w, b=None: sp.conv2d(x, w, b, stride, padding)  # noqa: E731
    theirs = lambda x, w, b=None: F.conv2d(x, w, b, stride, padding)  # noqa: E731
    tolerance = (1e-4, 1e-5) if dtype == F32 else (1e-10, 1e-12)
    forward_and_backward(ours, theirs, inputs, f"conv2d {xs} {ws}", *tolerance)


def test_conv2d_empty_batch_and_input_without_gradient():
    """An empty batch (forward); an input that needs no gradient still gives weight
    gradients."""
    empty = [np.zeros((0, 3, 5, 5), F32), normal(37, 4, 3, 3, 3), normal(38, 4)]
    ours = lambda x, w, b: sp.conv2d(x, w, b, padding=1)  # noqa: E731
    theirs = lambda x, w, b: F.conv2d(x, w, b, padding=1)  # noqa: E731
    forward_and_backward(ours, theirs, empty, "conv2d of an empty batch")
    (x, tx), (w, tw) = pair(normal(35, 2, 3, 6, 6), grad=False), pair(normal(36, 4, 3, 3, 3))
    sp.conv2d(x, w, padding=1).sum().backward()
    F.conv2d(tx, tw, padding=1).sum().backward()
    close(w.grad, tw.grad, "weight gradient", 1e-4, 1e-5)
    assert x.grad is None and tx.grad is None


@pytest.mark.parametrize("xs, kernel, stride", POOL_ROWS)
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pooling(kind, xs, kernel, stride):
    """max_pool2d and avg_pool2d, functions and modules, forward and gradient."""
    fn, their_fn, layer, their_layer = {
        "max": (sp.max_pool2d, F.max_pool2d, sp.MaxPool2d, nn.MaxPool2d),
        "avg": (sp.avg_pool2d, F.avg_pool2d, sp.AvgPool2d, nn.AvgPool2d),
    }[kind]
    inputs, what = [normal(40, *xs, scale=1000.0)], f"{kind}_pool2d {xs} {kernel} {stride}"
    ours, theirs = (lambda x: fn(x, kernel, stride)), (lambda x: their_fn(x, kernel, stride))
    forward_and_backward(ours, theirs, inputs, what, 1e-5, 1e-3)
    ours, theirs = layer(kernel, stride), their_layer(kernel, stride)
    forward_and_backward(ours, theirs, inputs, f"{what} module", 1e-5, 1e-3)


@pytest.mark.parametrize("kernel, stride", [(2, None), (3, 1), (3, 2), ((2, 3), (2, 1))])
def test_max_pool2d_ties_go_to_the_first_in_row_major_order(kernel, stride):
    """With many equal values (and -inf), the gradient goes where PyTorch sends it."""
    values = rng(41).integers(0, 2, size=(2, 2, 7, 7)).astype(F32)
    values[0, 0, :2, :2] = -np.inf
    ours = lambda x: sp.max_pool2d(x, kernel, stride)  # noqa: E731
    forward_and_backward(ours, lambda x: F.max_pool2d(x, kernel, stride), [values], "ties")


@pytest.mark.parametrize("momentum, eps", [(0.1, 1e-5), (0.5, 1e-3), (1.0, 1e-5), (0.0, 0.1)])
def test_batch_norm_training_running_statistics_and_evaluation(momentum, eps):
    """Three training batches (outputs, gradients, running statistics), then evaluation."""
    rm, rv = normal(50, 3), np.abs(normal(51, 3)) + 0.5
    trm, trv = torch.tensor(rm), torch.tensor(rv)
    w, b = normal(52, 3), normal(53, 3)
    ours = lambda x, w, b: sp.batch_norm(x, rm, rv, w, b, training, momentum, eps)  # noqa: E731
    theirs = lambda x, w, b: F.batch_norm(x, trm, trv, w, b, training, momentum, eps)  # noqa: E731
    training = True
    for step in range(3):
        x = normal(54 + step, 4, 3, 5, 5, scale=3.0) + step
        forward_and_backward(ours, theirs, [x, w, b], f"training step {step}", 1e-4, 1e-4)
        close(rm, trm, f"running_mean after step {step}", 1e-5, 1e-6)
        close(rv, trv, f"running_var after step {step}", 1e-5, 1e-6)
    training = False
    forward_and_backward(ours, theirs, [normal(57, 2, 3, 4, 4), w, b], "evaluation", 1e-5, 1e-5)
    training = True
    for fn, tensor in ((ours, Tensor), (theirs, torch.tensor)):
        with pytest.raises(ValueError):  # one value per channel
            fn(tensor(np.zeros((1, 3, 1, 1), F32)), tensor(w), tensor(b))


def test_batch_norm_2d_module():
    """BatchNorm2d: initial parameters and buffers, two training steps, evaluation."""
    ours, theirs = sp.BatchNorm2d(4, momentum=0.2), nn.BatchNorm2d(4, momentum=0.2)
    for name in ("weight", "bias", "running_mean", "running_var"):
        close(getattr(ours, name), getattr(theirs, name), f"initial {name}")
    for step in range(2):
        x = normal(60 + step, 3, 4, 3, 3, scale=2.0)
        forward_and_backward(ours, theirs, [x], f"BatchNorm2d step {step}", 1e-4, 1e-4)
    for name in ("running_mean", "running_var", "weight", "bias"):
        close(getattr(ours, name), getattr(theirs, name), f"{name} after training", 1e-5, 1e-6)
    close(ours.weight.grad, theirs.weight.grad, "weight gradient", 1e-4, 1e-4)
    close(ours.bias.grad, theirs.bias.grad, "bias gradient", 1e-4, 1e-4)
    call("eval", ours, theirs)
    forward_and_backward(ours, theirs, [normal(62, 1, 4, 2, 2)], "BatchNorm2d eval", 1e-5, 1e-5)


CONV_MODULE_ROWS = [(True, 1, 0), (True, 2, 1), (False, (1, 2), (2, 0))]


@pytest.mark.parametrize("bias, stride, padding", CONV_MODULE_ROWS)
def test_conv2d_module(bias, stride, padding):
    """Conv2d with the same weights as nn.Conv2d: output and every gradient."""
    ours = sp.Conv2d(3, 5, (3, 2), stride=stride, padding=padding, bias=bias, rng=rng(70))
    theirs = nn.Conv2d(3, 5, (3, 2), stride=stride, padding=padding, bias=bias)
    assert theirs.weight.shape == ours.weight.shape and (theirs.bias is None) == (ours.bias is None)
    names = ["weight", "bias"] if bias else ["weight"]
    with torch.no_grad():
        for name in names:
            getattr(theirs, name).copy_(torch.tensor(getattr(ours, name).data))
    forward_and_backward(ours, theirs, [normal(71, 2, 3, 6, 7)], "Conv2d", 1e-4, 1e-5)
    for name in names:
        close(getattr(ours, name).grad, getattr(theirs, name).grad, f"{name} gradient", 1e-4, 1e-5)


@pytest.mark.parametrize("c_in, c_out, kernel", [(16, 64, 3), (4, 4096, 2), (1, 1024, (1, 5))])
def test_conv2d_default_initialisation_statistics(c_in, c_out, kernel):
    """U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias, as nn.Conv2d draws them."""
    torch.manual_seed(0)
    ours, theirs = sp.Conv2d(c_in, c_out, kernel, rng=rng(72)), nn.Conv2d(c_in, c_out, kernel)
    bound = 1 / math.sqrt(ours.weight.data[0].size)
    for name in ("weight", "bias"):
        mine, yours = getattr(ours, name).data, getattr(theirs, name).detach().numpy()
        assert mine.dtype == yours.dtype == F32
        n = mine.size  # tolerances: a few standard errors of the mean and of the std
        for values in (mine, yours):
            assert bound * (1 - 6 / n) < np.abs(values).max() <= bound * (1 + 1e-6), name
            assert abs(values.mean()) < 4 * bound / math.sqrt(3 * n), f"{name} mean"
            std = np.float32(bound / math.sqrt(3))
            close(np.float32(values.std()), std, f"{name} std", rtol=4 * math.sqrt(0.2 / n))
        close(mine.std(), yours.std(), f"{name} std against PyTorch", rtol=6 * math.sqrt(0.2 / n))


@pytest.mark.parametrize("start_dim, end_dim", [(1, -1), (0, 2), (2, 3), (0, -1)])
def test_flatten(start_dim, end_dim):
    """Flatten against nn.Flatten, forward and gradient."""
    ours, theirs = sp.Flatten(start_dim, end_dim), nn.Flatten(start_dim, end_dim)
    forward_and_backward(ours, theirs, [normal(80, 2, 3, 4, 5)], f"Flatten({start_dim}, {end_dim})")


def test_a_nan_is_its_windows_maximum_and_gets_the_gradient_like_pytorch():
    values = np.array([[[[1.0, np.nan], [3.0, 2.0]]]], dtype=F32)
    ours, theirs = (lambda x: sp.max_pool2d(x, 2)), (lambda x: F.max_pool2d(x, 2))
    forward_and_backward(ours, theirs, [values], "max_pool2d with a NaN")
