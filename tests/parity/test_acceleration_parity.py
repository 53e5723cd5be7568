"""Module 16 against PyTorch: the fast and the baseline versions of each kernel (matrix
products, GELU, SGD with momentum, softmax-cross-entropy and its gradient, both
convolutions) give PyTorch's values on the same inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F  # noqa: N812 (PyTorch's name)

from tests.parity.compare import close, normal, rng
from tinytorch.core import acceleration as acc

F32 = np.float32


@pytest.mark.parametrize("m, k, n", [(1, 1, 1), (5, 7, 3), (8, 8, 8), (3, 0, 2)])
def test_matrix_products(m, k, n):
    a, b = normal(30, m, k), normal(31, k, n)
    theirs = torch.matmul(torch.tensor(a), torch.tensor(b))
    close(acc.matmul_loops(a, b), theirs, "matmul_loops", rtol=1e-5, atol=1e-5)
    close(acc.matmul_vectorized(a, b), theirs, "matmul_vectorized", rtol=1e-5, atol=1e-5)
    for block in (1, 3, (2, 5, 4)):
        close(acc.blocked_matmul(a, b, block), theirs, f"blocked_matmul {block}", 1e-5, 1e-5)
        got = acc.blocked_matmul(a, b, block, acc.tile_broadcast)
        close(got, theirs, f"blocked_matmul {block}, tile_broadcast", 1e-5, 1e-5)


def test_gelu_tanh_both_ways():
    x = np.linspace(-8, 8, 101, dtype=F32)
    theirs = F.gelu(torch.tensor(x), approximate="tanh")
    close(acc.gelu_tanh_naive(x), theirs, "gelu_tanh_naive")
    close(acc.gelu_tanh(x), theirs, "gelu_tanh")
    out = np.empty_like(x)
    assert acc.gelu_tanh(x, out) is out
    close(out, theirs, "gelu_tanh(x, out)")


def test_sgd_momentum_steps():
    param, grads = normal(32, 4, 3), [normal(33 + i, 4, 3) for i in range(3)]
    theirs = torch.tensor(param.copy(), requires_grad=True)
    optimizer = torch.optim.SGD([theirs], lr=0.05, momentum=0.9)
    velocity = np.zeros_like(param)
    for grad in grads:
        acc.sgd_momentum_(param, grad, velocity, lr=0.05, momentum=0.9)
        theirs.grad = torch.tensor(grad)
        optimizer.step()
        close(param, theirs, "sgd_momentum_ against torch.optim.SGD(momentum=0.9)")


@pytest.mark.parametrize("scale", [1.0, 50.0])
def test_softmax_cross_entropy_and_its_gradient(scale):
    logits = normal(40, 6, 5) * F32(scale)
    targets = rng(41).integers(0, 5, 6)
    theirs = torch.tensor(logits, requires_grad=True)
    loss = F.cross_entropy(theirs, torch.tensor(targets))
    loss.backward()
    ours_loss, ours_grad = acc.softmax_cross_entropy(logits, targets)
    close(np.float32(ours_loss), loss, "softmax_cross_entropy loss")
    close(ours_grad, theirs.grad, "softmax_cross_entropy gradient")
    if scale == 1.0:  # the unfused chain rule only holds where no probability underflows
        base_loss, base_grad = acc.softmax_cross_entropy_unfused(logits, targets)
        close(np.float32(base_loss), loss, "softmax_cross_entropy_unfused loss")
        close(base_grad, theirs.grad, "softmax_cross_entropy_unfused gradient")


@pytest.mark.parametrize("stride, padding", [(1, 0), (2, 1), ((1, 2), (0, 1))])
def test_convolutions(stride, padding):
    x, weight, bias = normal(50, 2, 3, 7, 6), normal(51, 4, 3, 3, 2), normal(52, 4)
    theirs = F.conv2d(torch.tensor(x), torch.tensor(weight), torch.tensor(bias), stride, padding)
    for conv in (acc.conv2d_direct, acc.conv2d_im2col):
        got = conv(x, weight, bias, stride, padding)
        close(got, theirs, f"{conv.__name__} stride {stride} padding {padding}", 1e-4, 1e-5)
