"""Module 18 against PyTorch: `torch.nn.utils.prune` (masks, the `weight_orig` and
`weight_mask` re-parametrization, training through it, `remove`) and the distillation
loss written with `F.kl_div` and `F.cross_entropy`.

Compared through `weight_mask`: magnitude_mask, channel_mask. Not comparable (no PyTorch
twin): SizeReport, model_size, low_rank_linear, rank_for_energy (the hidden tests check
them against exact counts and their own SVD).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn
from torch.nn.utils import prune

from tests.parity.compare import close, pair, rng
from tinytorch.core import compression as cmp
from tinytorch.core.layers import Linear
from tinytorch.core.optimizers import SGD
from tinytorch.core.tensor import Tensor


def twins(
    out_features: int, in_features: int, seed: int, scale: float = 1.0
) -> tuple[Linear, nn.Linear]:
    """A tinytorch and a torch Linear with the same weights, magnitudes all distinct."""
    generator = rng(seed)
    size = out_features * in_features
    magnitudes = scale * (generator.permutation(size) + 1.0) / size
    weight = (magnitudes * generator.choice([-1.0, 1.0], size)).reshape(out_features, -1)
    bias = generator.normal(size=out_features)
    ours, theirs = Linear(in_features, out_features), nn.Linear(in_features, out_features)
    ours.weight.data, ours.bias.data = weight.astype(np.float32), bias.astype(np.float32)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(weight)), theirs.bias.copy_(torch.tensor(bias))
    return ours, theirs


def same_pruning(ours: Linear, theirs: nn.Linear, what: str, rtol: float = 0.0) -> None:
    """The same names and mask; the same values (exactly, unless after training)."""
    assert sorted(ours.state_dict()) == sorted(theirs.state_dict()), what
    close(ours.weight_mask, theirs.weight_mask, f"{what}: weight_mask", 0, 0)
    for name in ("weight_orig", "bias"):
        close(getattr(ours, name), getattr(theirs, name), f"{what}: {name}", rtol, rtol / 10)
    x = rng(5).normal(size=(3, ours.in_features)).astype(np.float32)
    close(ours(Tensor(x)), theirs(torch.tensor(x)), f"{what}: forward", 1e-5, 1e-6)
    close(ours.weight, theirs.weight, f"{what}: weight", rtol, rtol / 10)
    pruned = ours.weight_mask.data == 0
    assert np.all(ours.weight.data[pruned] == 0), f"{what}: a pruned weight is not zero"


@pytest.mark.parametrize("amount", [0.3, 0.5, 7, 0.0, 1.0])
def test_magnitude_prune_is_l1_unstructured(amount):
    ours, theirs = twins(4, 6, 1)
    cmp.magnitude_prune(ours, "weight", amount)
    prune.l1_unstructured(theirs, "weight", amount)
    same_pruning(ours, theirs, f"magnitude_prune({amount})")
    assert cmp.is_pruned(ours) and prune.is_pruned(theirs)


@pytest.mark.parametrize("amount,n,dim", [(0.5, 2, 0), (2, 1, 1), (0.34, float("inf"), 0)])
def test_channel_prune_is_ln_structured(amount, n, dim):
    ours, theirs = twins(5, 6, 2)
    cmp.channel_prune(ours, "weight", amount, n=n, dim=dim)
    prune.ln_structured(theirs, "weight", amount, n=n, dim=dim)
    same_pruning(ours, theirs, f"channel_prune({amount}, n={n}, dim={dim})")


def test_global_magnitude_prune_is_global_unstructured():
    (a, ta), (b, tb) = twins(4, 5, 3), twins(3, 4, 4, scale=3.1)  # no tie across layers
    cmp.global_magnitude_prune([(a, "weight"), (b, "weight")], 0.6)
    prune.global_unstructured(
        [(ta, "weight"), (tb, "weight")], pruning_method=prune.L1Unstructured, amount=0.6
    )
    same_pruning(a, ta, "global: first layer")
    same_pruning(b, tb, "global: second layer")


def test_a_mask_holds_through_sgd_with_momentum_and_remove_keeps_it():
    ours, theirs = twins(4, 5, 6)
    mask = (rng(6).random((4, 5)) < 0.5).astype(np.float32)
    cmp.apply_mask(ours, "weight", mask)
    prune.custom_from_mask(theirs, "weight", torch.tensor(mask))
    ours_opt = SGD([ours.weight_orig, ours.bias], lr=0.1, momentum=0.9, weight_decay=0.05)
    theirs_opt = torch.optim.SGD(theirs.parameters(), lr=0.1, momentum=0.9, weight_decay=0.05)
    for step in range(4):
        x = rng(10 + step).normal(size=(3, 5)).astype(np.float32)
        (ours(Tensor(x)) ** 2).sum().backward()
        (theirs(torch.tensor(x)) ** 2).sum().backward()
        close(ours.weight_orig.grad, theirs.weight_orig.grad, f"step {step}: grad", 1e-5, 1e-6)
        for optimizer in (ours_opt, theirs_opt):
            optimizer.step()
            optimizer.zero_grad()
        same_pruning(ours, theirs, f"after step {step}", rtol=1e-5)
    cmp.remove_pruning(ours, "weight")
    prune.remove(theirs, "weight")
    assert sorted(ours.state_dict()) == sorted(theirs.state_dict())
    close(ours.weight, theirs.weight, "the weight made permanent", 1e-5, 1e-6)


@pytest.mark.parametrize("temperature,alpha", [(4.0, 0.5), (1.0, 0.9), (2.0, 1.0), (8.0, 0.0)])
def test_distillation_loss_is_kl_div_times_t_squared_plus_cross_entropy(temperature, alpha):
    generator = rng(int(temperature * 10))
    logits = (3 * generator.normal(size=(5, 4))).astype(np.float32)
    teacher = (3 * generator.normal(size=(5, 4))).astype(np.float32)
    targets = generator.integers(0, 4, 5)
    ours, theirs = pair(logits)
    loss = cmp.distillation_loss(ours, teacher, targets, temperature, alpha)
    soft = F.kl_div(
        F.log_softmax(theirs / temperature, dim=1),
        F.softmax(torch.tensor(teacher) / temperature, dim=1),
        reduction="batchmean",
    )
    expected = alpha * soft * temperature**2 + (1 - alpha) * F.cross_entropy(
        theirs, torch.tensor(targets)
    )
    close(loss, expected, f"distillation_loss(T={temperature}, alpha={alpha})", 1e-5, 1e-6)
    loss.backward()
    expected.backward()
    close(ours.grad, theirs.grad, "its gradient", 1e-4, 1e-6)
