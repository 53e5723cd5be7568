"""Module 15 and its hook points against PyTorch: FLOPs against
`torch.utils.flop_counter.FlopCounterMode` (2 per multiply-add, products only), parameter
counts, the optimizer state PyTorch's SGD and Adam really hold after a step (the step
counters aside), and the order in which the global module hooks are called."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F  # noqa: N812 (PyTorch's name)
from torch.utils.flop_counter import FlopCounterMode

from tests.parity.compare import COMPARISONS, rng
from tinytorch.core import attention as attn
from tinytorch.core import layers, optimizers, profiling, spatial
from tinytorch.core.tensor import Tensor


def torch_flops(fn) -> int:
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def same(ours: int, theirs: int, what: str) -> None:
    COMPARISONS[0] += 1
    assert ours == theirs, f"{what}: {ours}, PyTorch {theirs}"


def twins(seed: int = 0):
    """The same MLP and CNN in both frameworks (weights do not matter for counts)."""
    r = rng(seed)
    ours = [
        layers.Sequential(layers.Linear(6, 9, rng=r), layers.ReLU(), layers.Linear(9, 4, rng=r)),
        layers.Sequential(
            spatial.Conv2d(3, 6, 3, padding=1, rng=r),
            layers.ReLU(),
            spatial.MaxPool2d(2),
            spatial.Conv2d(6, 4, 3, stride=2, bias=False, rng=r),
        ),
    ]
    theirs = [
        torch.nn.Sequential(torch.nn.Linear(6, 9), torch.nn.ReLU(), torch.nn.Linear(9, 4)),
        torch.nn.Sequential(
            torch.nn.Conv2d(3, 6, 3, padding=1),
            torch.nn.ReLU(),
            torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(6, 4, 3, stride=2, bias=False),
        ),
    ]
    inputs = [(5, 6), (2, 3, 12, 12)]
    return zip(ours, theirs, inputs, strict=True)


def test_model_flops_and_parameters_match_flop_counter_mode():
    for ours, theirs, shape in twins():
        x = rng(1).standard_normal(shape).astype(np.float32)
        same(
            profiling.count_flops(ours, Tensor(x)),
            torch_flops(lambda m=theirs, x=x: m(torch.tensor(x))),
            f"count_flops {shape}",
        )
        same(
            profiling.count_parameters(ours),
            sum(p.numel() for p in theirs.parameters()),
            f"count_parameters {shape}",
        )


@pytest.mark.parametrize(
    "a,b", [((3, 5), (5, 7)), ((2, 3, 5), (2, 5, 4)), ((4, 2, 3, 5), (5, 6)), ((1, 8), (8, 1))]
)
def test_matmul_and_linear_flops(a, b):
    x, y = torch.zeros(a), torch.zeros(b)
    same(profiling.matmul_flops(a, b), torch_flops(lambda: torch.matmul(x, y)), f"{a} @ {b}")
    layer = torch.nn.Linear(a[-1], 7)
    same(profiling.linear_flops(a, 7), torch_flops(lambda: layer(x)), f"Linear on {a}")


@pytest.mark.parametrize("stride,padding", [(1, 0), (2, 1), ((2, 1), (0, 2))])
def test_conv2d_flops(stride, padding):
    conv = torch.nn.Conv2d(3, 5, (3, 2), stride=stride, padding=padding)
    x = torch.zeros(2, 3, 9, 8)
    theirs = torch_flops(lambda: conv(x))
    same(profiling.conv2d_flops((2, 3, 9, 8), (5, 3, 3, 2), stride, padding), theirs, "conv2d")


@pytest.mark.parametrize("causal", [False, True])
def test_attention_flops(causal):
    q, k, v = (
        rng(i).standard_normal(s).astype(np.float32)
        for i, s in enumerate([(2, 3, 5, 4), (2, 3, 7, 4), (2, 3, 7, 6)])
    )
    if causal:
        k, v = k[:, :, :5], v[:, :, :5]
    theirs = torch_flops(
        lambda: F.scaled_dot_product_attention(
            torch.tensor(q), torch.tensor(k), torch.tensor(v), is_causal=causal
        )
    )
    same(profiling.attention_flops(q.shape, k.shape, v.shape), theirs, "attention_flops")
    ours = attn.scaled_dot_product_attention
    with profiling.profile() as prof:
        ours(Tensor(q), Tensor(k), Tensor(v), is_causal=causal)
    flops = sum(row.flops for row in prof.key_averages())
    same(flops, theirs, "the profile's FLOPs of scaled_dot_product_attention")


@pytest.mark.parametrize("kind", ["sgd", "momentum", "adam", "adamw"])
def test_optimizer_state_bytes_match_the_state_pytorch_holds(kind):
    for ours, theirs, _ in twins(2):
        make = {
            "sgd": (optimizers.SGD, torch.optim.SGD, {"lr": 0.1}),
            "momentum": (optimizers.SGD, torch.optim.SGD, {"lr": 0.1, "momentum": 0.9}),
            "adam": (optimizers.Adam, torch.optim.Adam, {"lr": 1e-3}),
            "adamw": (optimizers.AdamW, torch.optim.AdamW, {"lr": 1e-3}),
        }[kind]
        opt_theirs = make[1](theirs.parameters(), **make[2])
        for p in theirs.parameters():
            p.grad = torch.ones_like(p)
        opt_theirs.step()
        held = sum(
            value.nbytes
            for state in opt_theirs.state.values()
            for key, value in state.items()
            if key != "step" and isinstance(value, torch.Tensor)
        )
        predicted = profiling.optimizer_state_bytes(make[0](ours.parameters(), **make[2]))
        same(predicted, held, f"{kind}: state bytes")


def test_global_module_hooks_are_called_in_pytorchs_order():
    def record(calls):
        def before(module, args):
            calls.append(("pre", type(module).__name__, len(args)))

        def after(module, args, output):
            calls.append(("post", type(module).__name__, tuple(output.shape)))

        return before, after

    ours_calls, theirs_calls = [], []
    ours, theirs, _ = next(iter(twins()))
    before, after = record(ours_calls)
    handles = [
        layers.register_module_forward_pre_hook(before),
        layers.register_module_forward_hook(after),
    ]
    ours(Tensor(np.zeros((2, 6), dtype=np.float32)))
    for handle in handles:
        handle.remove()
    ours(Tensor(np.zeros((2, 6), dtype=np.float32)))  # removed: nothing more is recorded
    before, after = record(theirs_calls)
    module = torch.nn.modules.module
    handles = [
        module.register_module_forward_pre_hook(before),
        module.register_module_forward_hook(after),
    ]
    theirs(torch.zeros(2, 6))
    for handle in handles:
        handle.remove()
    COMPARISONS[0] += 1
    assert ours_calls == theirs_calls, f"{ours_calls}\nPyTorch {theirs_calls}"
    assert len(ours_calls) == 8
