"""Modules 06-07 against PyTorch: optimizer trajectories and state over several steps,
gradient clipping and learning-rate schedules, with fixed seeds.

Not comparable (no PyTorch twin): Trainer, EpochStats, batches, save_checkpoint,
load_checkpoint (module 07)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn
from torch.optim import lr_scheduler as lrs

from tests.parity.compare import call, close, normal, pair
from tinytorch.core import optimizers as opt
from tinytorch.core import training as tr
from tinytorch.core.tensor import Tensor

F32 = np.float32


def feed(pairs, seed: int, scale: float = 1.0) -> None:
    """Set the same random `.grad` on each (tinytorch, torch) parameter pair."""
    for i, (ours, theirs) in enumerate(pairs):
        g = normal(1000 * seed + i, *ours.shape, scale=scale)
        ours.grad, theirs.grad = Tensor(g), torch.tensor(g)


def compare_params(pairs, what: str) -> None:
    for i, (p, t) in enumerate(pairs):
        close(p, t, f"{what}: param {i}", 1e-5, 1e-6)


def compare_state(ours, theirs, pairs, what: str) -> None:
    """The optimizers' per-parameter state (momentum buffers, averages, step counts)."""
    for i, (p, t) in enumerate(pairs):
        mine, yours = ours.state.get(p, {}), theirs.state.get(t, {})
        assert set(mine) == set(yours), f"{what}: state keys {set(mine)}, PyTorch {set(yours)}"
        for key, value in mine.items():
            if key == "step":
                assert value == int(yours[key]), f"{what}: step of param {i}"
            else:
                close(value, yours[key], f"{what}: {key} of param {i}", 1e-5, 1e-6)


# ---------------------------------------------------------------- 06 optimizers
SGD, ADAM = (opt.SGD, torch.optim.SGD), (opt.Adam, torch.optim.Adam)
ADAMW = (opt.AdamW, torch.optim.AdamW)
# fmt: off
OPT_ROWS = [  # classes, hyper-parameters, scale of the gradients
    (SGD, dict(lr=0.1), 1.0), (SGD, dict(lr=0.0, momentum=0.9), 1.0),
    (SGD, dict(lr=0.1, momentum=0.9), 1.0), (SGD, dict(lr=0.05, momentum=0.8, dampening=0.3), 1.0),
    (SGD, dict(lr=0.05, momentum=0.5, dampening=1.0), 1.0),
    (SGD, dict(lr=0.1, weight_decay=0.1), 1.0), (SGD, dict(lr=1e-4, momentum=0.9), 1000.0),
    (SGD, dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01), 1.0),
    (ADAM, dict(lr=0.01), 1.0), (ADAM, dict(lr=0.01), 0.0), (ADAM, dict(lr=0.01), 1000.0),
    (ADAM, dict(lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.05), 1.0),
    (ADAM, dict(lr=0.01, eps=1e-3), 1e-4), (ADAMW, dict(), 1.0),
    (ADAMW, dict(lr=0.01, betas=(0.85, 0.95), weight_decay=0.3), 1.0),
    (ADAMW, dict(lr=0.1, weight_decay=0.5), 0.0),
]
# fmt: on
OPT_IDS = [f"{c[0].__name__}{sorted(k.items())}x{g}" for c, k, g in OPT_ROWS]


@pytest.mark.parametrize("classes, kwargs, scale", OPT_ROWS, ids=OPT_IDS)
def test_optimizer_trajectory_and_state(classes, kwargs, scale):
    """Ten steps with the same hand-set gradients: parameters after each step, final state."""
    pairs = [pair(normal(1, 3, 4)), pair(normal(2, 5))]
    ours = classes[0]([p for p, _ in pairs], **kwargs)
    theirs = classes[1]([t for _, t in pairs], **kwargs)
    for step in range(10):
        feed(pairs, step, scale)
        call("step", ours, theirs)
        compare_params(pairs, f"after step {step + 1}")
    compare_state(ours, theirs, pairs, "after 10 steps")


REGRESSION_ROWS = [(SGD, dict(momentum=0.9, nesterov=True)), (ADAM, {}), (ADAMW, {})]


@pytest.mark.parametrize("classes, kwargs", REGRESSION_ROWS)
def test_optimizer_on_a_small_regression_with_zero_grad(classes, kwargs):
    """Gradients from the same loss through each autograd; zero_grad sets .grad to None."""
    x, y = normal(3, 8, 3), normal(4, 8, 1)
    pairs = [pair(normal(5, 3, 1)), pair(normal(6, 1))]
    (w, tw), (b, tb) = pairs
    ours = classes[0]([w, b], lr=0.05, **kwargs)
    theirs = classes[1]([tw, tb], lr=0.05, **kwargs)
    for step in range(10):
        call("zero_grad", ours, theirs)
        assert all(p.grad is None and t.grad is None for p, t in pairs)
        loss = ((Tensor(x) @ w + b - Tensor(y)) ** 2).mean()
        their_loss = ((torch.tensor(x) @ tw + tb - torch.tensor(y)) ** 2).mean()
        close(loss, their_loss, f"loss at step {step}", 1e-5, 1e-6)
        call("backward", loss, their_loss)
        call("step", ours, theirs)
        compare_params(pairs, f"after step {step + 1}")


GROUP_ROWS = [
    (SGD, dict(lr=0.1, momentum=0.9, weight_decay=0.01), [dict(lr=0.05), dict(momentum=0.5)]),
    (ADAM, dict(lr=0.01), [dict(betas=(0.5, 0.9)), dict(lr=0.03, weight_decay=0.1)]),
    (ADAMW, dict(lr=0.01), [dict(weight_decay=0.0), dict(eps=1e-4)]),
]


@pytest.mark.parametrize("classes, defaults, overrides", GROUP_ROWS, ids=["sgd", "adam", "adamw"])
def test_param_groups_add_param_group_and_state_dict(classes, defaults, overrides):
    """Per-group hyper-parameters (one group added later), a parameter without a gradient,
    the saved state under the same numbers as PyTorch's, and resuming from it."""
    pairs = [pair(normal(7, 4, 2)), pair(normal(8, 3)), pair(normal(9, 2))]
    ours = classes[0]([{"params": [pairs[0][0]], **overrides[0]}], **defaults)
    theirs = classes[1]([{"params": [pairs[0][1]], **overrides[0]}], **defaults)
    ours.add_param_group({"params": [pairs[1][0], pairs[2][0]], **overrides[1]})
    theirs.add_param_group({"params": [pairs[1][1], pairs[2][1]], **overrides[1]})
    for group, their_group in zip(ours.param_groups, theirs.param_groups, strict=True):
        for key, value in group.items():
            assert key == "params" or value == their_group[key], f"group {key}: {value}"
    for step in range(5):
        feed(pairs[:2], step)  # the third parameter never gets a gradient
        call("step", ours, theirs)
    saved, their_saved = ours.state_dict(), theirs.state_dict()
    for key, value in saved.items():
        kind, index, field = key.split(".", 2)
        expected = np.asarray(their_saved[kind][int(index)][field])
        if value.dtype.kind == "f":
            close(value, expected.astype(value.dtype), f"state_dict {key}")
        else:
            assert value.tolist() == expected.tolist(), f"state_dict {key}"
    numbers = {int(k.split(".")[1]) for k in saved if k.startswith("state.")}
    assert numbers == set(their_saved["state"]) == {0, 1}
    copies = [Tensor(p.data.copy(), requires_grad=True) for p, _ in pairs]
    resumed = classes[0]([{"params": [copies[0]]}, {"params": copies[1:]}], **defaults)
    resumed.load_state_dict(saved)
    pairs = [(c, t) for c, (_, t) in zip(copies, pairs, strict=True)]
    for step in range(5, 10):
        feed(pairs, step)
        call("step", resumed, theirs)
    compare_params(pairs, "after resuming")
    compare_state(resumed, theirs, pairs, "resumed")


def test_optimizer_base_class_and_argument_errors():
    """The base class has no update rule; bad hyper-parameters and params raise alike."""
    p, t = pair(normal(10, 3))
    p.grad, t.grad = Tensor(np.ones(3, F32)), torch.ones(3)
    with pytest.raises(NotImplementedError):
        torch.optim.Optimizer([t], {"lr": 0.1}).step()
    with pytest.raises(NotImplementedError):
        opt.Optimizer([p], lr=0.1).step()
    # fmt: off
    cases = [(SGD, dict(lr=-1.0)), (SGD, dict(lr=0.1, momentum=-0.5)),
             (SGD, dict(lr=0.1, weight_decay=-1.0)), (SGD, dict(lr=0.1, nesterov=True)),
             (SGD, dict(lr=0.1, momentum=0.9, dampening=0.5, nesterov=True)),
             (ADAM, dict(lr=-1.0)), (ADAM, dict(betas=(1.0, 0.9))), (ADAM, dict(eps=-1.0)),
             (ADAM, dict(betas=(0.9, -0.1))), (ADAM, dict(weight_decay=-1.0)),
             (ADAMW, dict(betas=(0.9, 1.0)))]
    # fmt: on
    for classes, kwargs in cases:
        for cls, param in zip(classes, (p, t), strict=True):
            with pytest.raises(ValueError):
                cls([param], **kwargs)
    for cls, param in zip(SGD, (p, t), strict=True):  # no list, a tensor, twice the same
        wrong = ([], ValueError), (param, TypeError), ([{"params": [param]}] * 2, ValueError)
        for params, error in wrong:
            with pytest.raises(error):
                cls(params, lr=0.1)


# ---------------------------------------------------------------- 07 training
# fmt: off
CLIP_ROWS = [  # name, max_norm (None: exactly the total norm), norm_type, gradient scale
    ("l2_above", 1.0, 2.0, 1.0), ("l2_below", 100.0, 2.0, 1.0), ("l1", 2.0, 1.0, 1.0),
    ("l3", 1.0, 3.0, 1.0), ("inf", 0.5, math.inf, 1.0), ("max_norm_0", 0.0, 2.0, 1.0),
    ("extreme", 10.0, 2.0, 1000.0), ("inf_extreme", 10.0, math.inf, 1000.0),
    ("at_limit", None, 2.0, 1.0), ("zero_grads", 1.0, 2.0, 0.0),
]
# fmt: on


CLIP_IDS = [row[0] for row in CLIP_ROWS]


@pytest.mark.parametrize("name, max_norm, norm_type, scale", CLIP_ROWS, ids=CLIP_IDS)
def test_clip_grad_norm(name, max_norm, norm_type, scale):
    """The returned total norm and the gradients after clipping; a gradient-less parameter."""
    pairs = [pair(np.zeros(s, F32)) for s in [(3, 4), (5,), (2, 2, 2), (3,)]]
    feed(pairs[:3], 11, scale)
    if max_norm is None:
        max_norm = float(torch.cat([t.grad.flatten() for _, t in pairs[:3]]).norm())
    total = tr.clip_grad_norm_([p for p, _ in pairs], max_norm, norm_type)
    their_total = nn.utils.clip_grad_norm_([t for _, t in pairs], max_norm, norm_type)
    close(total, their_total, f"{name}: total norm", 1e-5, 1e-6)
    for i, (p, t) in enumerate(pairs[:3]):
        close(p.grad, t.grad, f"{name}: gradient {i}", 1e-5, 1e-6)
    assert pairs[3][0].grad is None and pairs[3][1].grad is None


def test_clip_grad_norm_single_tensor_no_gradients_and_inf():
    """A tensor instead of a list, parameters without gradients, an infinite gradient."""
    p, t = pair(np.zeros(4, F32))
    close(tr.clip_grad_norm_([p], 1.0), nn.utils.clip_grad_norm_([t], 1.0), "no gradients")
    feed([(p, t)], 12)
    close(tr.clip_grad_norm_(p, 0.5), nn.utils.clip_grad_norm_(t, 0.5), "one tensor: total")
    close(p.grad, t.grad, "one tensor: gradient")
    g = np.array([1.0, np.inf, -2.0, 0.0], F32)
    p.grad, t.grad = Tensor(g), torch.tensor(g)
    with np.errstate(invalid="ignore"):  # inf * 0 is nan, in PyTorch too
        close(tr.clip_grad_norm_(p, 1.0), nn.utils.clip_grad_norm_(t, 1.0), "inf: total")
    close(p.grad, t.grad, "inf: gradient")


def schedulers(make_ours, make_theirs, rates=(0.1, 0.03)):
    """Two schedulers over SGD optimizers with one parameter group per rate."""
    params = [(lr, *pair(np.zeros(2, F32))) for lr in rates]
    ours = opt.SGD([{"params": [p], "lr": lr} for lr, p, _ in params], lr=1.0)
    theirs = torch.optim.SGD([{"params": [t], "lr": lr} for lr, _, t in params], lr=1.0)
    return make_ours(ours), make_theirs(theirs)


def compare_schedules(ours, theirs, steps: int, what: str) -> None:
    """The learning rate of each group at every step, and the base rates."""
    got, want = [], []
    for _ in range(steps):
        assert ours.last_epoch == theirs.last_epoch
        got.append(ours.get_last_lr() + [g["lr"] for g in ours.optimizer.param_groups])
        want.append(theirs.get_last_lr() + [g["lr"] for g in theirs.optimizer.param_groups])
        call("step", ours.optimizer, theirs.optimizer, ours, theirs)
    close(np.array(got), np.array(want), what, rtol=1e-9, atol=1e-12)
    base = getattr(theirs, "base_lrs", [g["initial_lr"] for g in theirs.optimizer.param_groups])
    close(np.array(ours.base_lrs), np.array(base), f"{what}: base_lrs")


def cosine_warmup(t: int, base: float, warmup: int, total: int, eta_min: float) -> float:
    """The formula of CosineWarmupLR's docstring, written out for LambdaLR."""
    if t < warmup:
        return base * (t + 1) / warmup
    if t >= total:
        return eta_min
    cosine = (1 + math.cos(math.pi * (t - warmup) / (total - warmup))) / 2
    return eta_min + (base - eta_min) * cosine


def lambda_lr(o, warmup: int, total: int, eta_min: float):
    bases = [g["lr"] for g in o.param_groups]
    factors = [lambda t, b=b: cosine_warmup(t, b, warmup, total, eta_min) / b for b in bases]
    return lrs.LambdaLR(o, factors)


def warmup_then_annealing(o, warmup: int, total: int, eta_min: float):
    linear = lrs.LinearLR(o, start_factor=1 / warmup, end_factor=1.0, total_iters=warmup - 1)
    cosine = lrs.CosineAnnealingLR(o, T_max=total - warmup, eta_min=eta_min)
    return lrs.SequentialLR(o, [linear, cosine], milestones=[warmup])


def halving(base: type) -> type:
    """The same LRScheduler subclass on both sides: get_lr from base_lrs and last_epoch."""
    return type("Halving", (base,), {"get_lr": lambda s: [b / 2**s.last_epoch for b in s.base_lrs]})


# fmt: off
SCHEDULE_ROWS = (  # the PyTorch schedule, arguments (warmup_steps, total_steps, eta_min)
    [("StepLR", a) for a in [(1, 0.5), (3, 0.1), (7, 0.9), (4, 2.0)]]
    + [("LambdaLR", a)
       for a in [(0, 10, 0.0), (3, 12, 0.0), (5, 20, 1e-3), (1, 4, 0.01), (9, 10, 0.0)]]
    + [("CosineAnnealingLR", (0, 15, 0.0)), ("CosineAnnealingLR", (0, 15, 5e-3)),
       ("SequentialLR", (4, 20, 0.0)), ("SequentialLR", (4, 20, 5e-3)), ("subclass", ())]
)
THEIRS = {"StepLR": lrs.StepLR, "LambdaLR": lambda_lr, "SequentialLR": warmup_then_annealing,
          "CosineAnnealingLR": lambda o, _, t, e: lrs.CosineAnnealingLR(o, T_max=t, eta_min=e),
          "subclass": halving(lrs.LRScheduler)}
# fmt: on


@pytest.mark.parametrize("kind, args", SCHEDULE_ROWS, ids=[f"{k}{a}" for k, a in SCHEDULE_ROWS])
def test_lr_schedules(kind, args):
    """StepLR; CosineWarmupLR against LambdaLR with the docstring's formula (past
    total_steps), CosineAnnealingLR and SequentialLR(LinearLR, CosineAnnealingLR) (up to
    total_steps); a subclass of LRScheduler defining get_lr."""
    ours = {"StepLR": tr.StepLR, "subclass": halving(tr.LRScheduler)}.get(kind, tr.CosineWarmupLR)
    steps = {"StepLR": 25, "subclass": 12}.get(kind) or args[1] + (6 if kind == "LambdaLR" else 1)
    made = schedulers(lambda o: ours(o, *args), lambda o: THEIRS[kind](o, *args))
    compare_schedules(*made, steps, f"{kind}{args}")


def test_lr_scheduler_state_dict_resume_and_errors():
    """The saved step count and base rates; resuming StepLR with the optimizer's state
    continues as PyTorch does; the base class has no get_lr; a non-optimizer is refused."""
    ours, theirs = schedulers(lambda o: tr.StepLR(o, 3, 0.5), lambda o: lrs.StepLR(o, 3, 0.5))
    compare_schedules(ours, theirs, 7, "before resuming")
    saved, their_saved = ours.state_dict(), theirs.state_dict()
    assert int(saved["last_epoch"]) == their_saved["last_epoch"]
    close(saved["base_lrs"], np.array(their_saved["base_lrs"]), "saved base_lrs")
    fresh_opt = opt.SGD([{"params": g["params"]} for g in ours.optimizer.param_groups], lr=1.0)
    fresh_opt.load_state_dict(ours.optimizer.state_dict())
    fresh = tr.StepLR(fresh_opt, 3, 0.5)
    fresh.load_state_dict(saved)
    call("step", fresh, theirs)  # compare_schedules records first, then steps
    compare_schedules(fresh, theirs, 10, "after resuming")
    for cls, optimizer in ((tr.LRScheduler, ours.optimizer), (lrs.LRScheduler, theirs.optimizer)):
        with pytest.raises(NotImplementedError):
            cls(optimizer)
    for cls in (tr.StepLR, lrs.StepLR):
        with pytest.raises(TypeError):
            cls(object(), 3)


def test_a_nan_gradient_clips_every_gradient_to_nan_like_pytorch():
    """A NaN total norm makes every gradient NaN (PyTorch multiplies by the NaN scale)."""
    (w, tw) = pair(np.zeros(3, F32))
    w.grad, tw.grad = Tensor(np.array([1.0, np.nan, 2.0], F32)), torch.tensor([1.0, np.nan, 2.0])
    close(tr.clip_grad_norm_([w], 1.0), torch.nn.utils.clip_grad_norm_([tw], 1.0), "NaN norm")
    close(w.grad, tw.grad, "gradients clipped by a NaN norm")
