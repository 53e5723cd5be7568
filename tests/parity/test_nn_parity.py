"""Modules 02 (activations), 03 (layers) and 04 (losses) against PyTorch: forward values
and gradients on random inputs with fixed seeds, the edges (kinks, +-1000, empty inputs,
0-d tensors), module state (registration, modes, gradients, state_dict) and the default
initialisation and dropout statistics."""

from __future__ import annotations

from functools import partial
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F  # noqa: N812 (PyTorch's usual name)

from tests.parity.compare import close, forward_and_backward, normal, pair, rng
from tinytorch.core import activations as act
from tinytorch.core import layers as nn
from tinytorch.core import losses as ls
from tinytorch.core.tensor import Tensor

F32 = np.float32
REDUCTIONS = ("mean", "sum", "none")
EXTREMES = np.array([-1000, -100, -20, -1e-3, 0, 1e-3, 20, 100, 1000], dtype=F32)


def uniform(seed: int, low: float, high: float, *shape: int) -> np.ndarray:
    return rng(seed).uniform(low, high, size=shape).astype(F32)


def labels(seed: int, n: int, classes: int) -> np.ndarray:
    return rng(seed).integers(0, classes, size=n).astype(np.int64)


def to_torch(ours: nn.Module, theirs: torch.nn.Module) -> torch.nn.Module:
    """Copy our parameters into `theirs` by name (Linear: both (out, in), no transpose)."""
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    return theirs


def twin(module: nn.Module) -> torch.nn.Module:
    """The torch.nn module of the same kind and settings, with our parameter values."""
    if isinstance(module, nn.Sequential):
        return torch.nn.Sequential(*map(twin, module))
    if isinstance(module, nn.Linear):
        bias = module.bias is not None
        return to_torch(module, torch.nn.Linear(module.in_features, module.out_features, bias))
    settings = {k: getattr(module, k) for k in ("p", "approximate", "dim") if hasattr(module, k)}
    return getattr(torch.nn, type(module).__name__)(**settings)


def compare_module(ours, theirs, x: np.ndarray, what: str, seed=0, run=None, atol=1e-6):
    """Forward (`run(module, x)`, or a call), then the gradients of the input and of every
    parameter (same names, same order)."""
    run = run or (lambda module, inputs: module(inputs))
    x_ours, x_theirs = pair(x)
    out_ours, out_theirs = run(ours, x_ours), run(theirs, x_theirs)
    close(out_ours, out_theirs, f"{what}: forward", atol=atol)
    w = normal(99 + seed, *out_theirs.shape)
    (out_ours * Tensor(w)).sum().backward()
    (out_theirs * torch.tensor(w)).sum().backward()
    close(x_ours.grad, x_theirs.grad, f"{what}: input gradient", atol=atol)
    named = zip(ours.named_parameters(), theirs.named_parameters(), strict=True)
    for (name, p), (torch_name, q) in named:
        assert name == torch_name
        close(p.grad, q.grad, f"{what}: {name}.grad", atol=atol)


# ---------------------------------------------------------------- 02 activations
ACTIVATIONS = [
    ("relu", act.relu, torch.relu),
    ("sigmoid", act.sigmoid, torch.sigmoid),
    ("tanh", act.tanh, torch.tanh),
    ("gelu", act.gelu, F.gelu),
    ("gelu_tanh", partial(act.gelu, approximate="tanh"), partial(F.gelu, approximate="tanh")),
    ("softmax", act.softmax, partial(torch.softmax, dim=-1)),
]
ACTIVATION_IDS = [a[0] for a in ACTIVATIONS]


@pytest.mark.parametrize("name, ours, theirs", ACTIVATIONS, ids=ACTIVATION_IDS)
@pytest.mark.parametrize("shape", [(7,), (3, 4), (2, 3, 4)])
def test_activations_on_random_inputs(name, ours, theirs, shape):
    """Forward and gradient of every activation on N(0, 3^2) inputs."""
    forward_and_backward(ours, theirs, [normal(1, *shape, scale=3.0)], name)


SOFTMAX_EXTREMES = np.array([[1000, -1000, 0], [1000, 1000, -1000], [-1000, -1000, -1000]], F32)


@pytest.mark.parametrize("dim", [0, 1, 2, -1, -2])
def test_softmax_over_every_dim(dim):
    """softmax along each dim (negative ones too) of a 3-d input, then of rows mixing +-1000
    (one-hot and uniform results, no nan): forward and gradient."""
    ours, theirs = partial(act.softmax, dim=dim), partial(torch.softmax, dim=dim)
    forward_and_backward(ours, theirs, [normal(2, 2, 3, 4, scale=2.0)], f"softmax dim {dim}")
    if dim < 2:
        forward_and_backward(ours, theirs, [SOFTMAX_EXTREMES], f"softmax extremes dim {dim}")


@pytest.mark.parametrize("name, ours, theirs", ACTIVATIONS, ids=ACTIVATION_IDS)
def test_activations_at_kinks_and_extremes(name, ours, theirs):
    """+-1000, +-100, +-20, +-1e-3 and exactly 0: the same values and gradients, no nan."""
    forward_and_backward(ours, theirs, [EXTREMES], f"{name} at extremes")
    x, _ = pair(EXTREMES)
    out = ours(x)
    out.sum().backward()
    assert not np.isnan(out.data).any() and not np.isnan(x.grad.data).any()
    if name == "relu":  # PyTorch's relu'(0) is 0
        assert x.grad.data[EXTREMES == 0] == 0


def test_activation_edges_empty_and_zero_dim():
    """0-d inputs (softmax of a scalar is 1 with gradient 0) and empty (0, 3) inputs,
    also normalised along the empty dim."""
    softmax0 = ("softmax0", partial(act.softmax, dim=0), partial(torch.softmax, dim=0))
    log_softmax0 = (
        "log_softmax0",
        partial(ls.log_softmax, dim=0),
        partial(torch.log_softmax, dim=0),
    )
    for name, ours, theirs in [*ACTIVATIONS, softmax0]:
        forward_and_backward(ours, theirs, [np.array(3.0, dtype=F32)], f"{name} of 0-d")
    for name, ours, theirs in [*ACTIVATIONS, softmax0, log_softmax0]:
        forward_and_backward(ours, theirs, [np.zeros((0, 3), F32)], f"{name} of (0, 3)")


def test_activations_keep_float64():
    """A float64 input stays float64, with the values of PyTorch's float64 ops (to 1e-6:
    gelu's erf is accurate to float32 precision only, as documented in `_erf`)."""
    values = normal(3, 4, 5, scale=3.0).astype(np.float64)
    for name, ours, theirs in ACTIVATIONS:
        forward_and_backward(ours, theirs, [values], f"{name} float64", rtol=1e-6, atol=1e-6)


# ---------------------------------------------------------------- 03 layers
def test_parameter_is_a_trainable_tensor():
    """Parameter: a Tensor with requires_grad=True (or False when asked), same values."""
    values = normal(4, 2, 3)
    ours, theirs = nn.Parameter(values), torch.nn.Parameter(torch.tensor(values))
    assert isinstance(ours, Tensor) and ours.requires_grad == theirs.requires_grad is True
    close(ours, theirs, "Parameter values")
    frozen = nn.Parameter(values, requires_grad=False)
    assert frozen.requires_grad == torch.nn.Parameter(theirs, requires_grad=False).requires_grad
    (ours * ours).sum().backward()
    (theirs * theirs).sum().backward()
    close(ours.grad, theirs.grad, "Parameter gradient")
    assert nn.Parameter(values.astype(np.float64)).dtype == F32  # departure: always float32


@pytest.mark.parametrize("shape", [(5, 4), (4,), (2, 3, 4)], ids=["batch", "1-d", "3-d"])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_forward_backward_and_accumulation(shape, bias):
    """Linear with the same (out, in) weight as torch.nn.Linear: output, input/weight/bias
    gradients, accumulated over two backward passes, then zero_grad; bias=False: no bias."""
    ours = nn.Linear(4, 3, bias=bias, rng=rng(5))
    assert ours.weight.shape == (3, 4)  # PyTorch's layout: copied without a transpose
    theirs = to_torch(ours, torch.nn.Linear(4, 3, bias=bias))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert (ours.bias is None) == (theirs.bias is None) == (not bias)
    for step in range(2):
        compare_module(ours, theirs, normal(6 + step, *shape), f"Linear step {step}", step)
    ours.zero_grad()
    theirs.zero_grad()
    assert [p.grad for p in ours.parameters()] == [p.grad for p in theirs.parameters()]


@pytest.mark.parametrize("fan_in, fan_out", [(3, 50_000), (256, 512), (1000, 200)])
def test_linear_default_init_matches_kaiming_uniform(fan_in, fan_out):
    """Weights and biases in U(-k, k), k = 1/sqrt(in_features), as torch.nn.Linear's
    kaiming_uniform_(a=sqrt(5)): bounds, extremes near +-k, mean 0 and std k/sqrt(3); with
    bias=False the same weights and no bias."""
    k = 1 / np.sqrt(fan_in)
    torch.manual_seed(0)
    ours, theirs = nn.Linear(fan_in, fan_out, rng=rng(7)), torch.nn.Linear(fan_in, fan_out)
    for name in ("weight", "bias"):
        a, b = getattr(ours, name).data, getattr(theirs, name).detach().numpy()
        assert a.dtype == b.dtype == F32 and a.shape == b.shape
        n = a.size
        for values, who in ((a, "ours"), (b, "PyTorch")):
            slack = 20 / n  # the extreme sample lies within 2k/n of +-k on average
            assert -k <= values.min() < -k * (1 - slack), f"{who} {name} min"
            assert k * (1 - slack) < values.max() <= k, f"{who} {name} max"
            assert abs(values.mean()) < 5 * k / np.sqrt(3 * n), f"{who} {name} mean"
            # the sample std of U(-k, k) has a relative standard error of 0.45/sqrt(n)
            np.testing.assert_allclose(values.std(), k / np.sqrt(3), rtol=2.25 / np.sqrt(n))
        np.testing.assert_allclose(a.std(), b.std(), rtol=3.2 / np.sqrt(n))
    unseeded = nn.Linear(fan_in, 3)  # rng=None: a fresh generator, the same bounds
    assert all(np.abs(p.data).max() <= k for p in unseeded.parameters())
    torch.manual_seed(0)  # bias=False: the same weight draws (same seeds) in both, no bias
    ours_nb = nn.Linear(fan_in, fan_out, bias=False, rng=rng(7))
    theirs_nb = torch.nn.Linear(fan_in, fan_out, bias=False)
    assert ours_nb.bias is None and theirs_nb.bias is None
    np.testing.assert_array_equal(ours_nb.weight.data, ours.weight.data)
    np.testing.assert_array_equal(theirs_nb.weight.detach().numpy(), theirs.weight.detach().numpy())


def build_block(lib, ours: bool):
    """The same nested model in both frameworks: a parameter, a buffer, a Sequential, and
    one Linear registered twice (`tied`)."""
    block = lib.Module()
    fc = lib.Linear(3, 4, rng=rng(9)) if ours else lib.Linear(3, 4)
    block.fc = fc
    block.scale = lib.Parameter(np.ones(4, F32) if ours else torch.ones(4))
    block.register_buffer("count", Tensor(np.zeros(1, F32)) if ours else torch.zeros(1))
    head = lib.Linear(4, 2, rng=rng(10)) if ours else lib.Linear(4, 2)
    block.head = lib.Sequential(lib.ReLU(), head, lib.Dropout(0.5))
    block.tied = fc
    return block


def run_block(block, x):
    return block.head(block.tied(block.fc(x)[..., :3]) * block.scale)


def test_module_registration_state_dict_and_gradients():
    """Names of parameters, buffers and state_dict entries (in order; a shared layer once
    among the parameters, under each name in the state_dict), load_state_dict, re-assignment,
    and the gradient of every parameter through the nested model in eval mode."""
    ours, theirs = build_block(nn, True), build_block(torch.nn, False)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [p.shape for p in ours.parameters()] == [tuple(p.shape) for p in theirs.parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    # a shared module is a child under each name here, once in PyTorch (departure)
    kinds = [type(m).__name__ for m in {id(m): m for m in ours.children()}.values()]
    assert kinds == [type(m).__name__ for m in theirs.children()] == ["Linear", "Sequential"]
    to_torch(ours, theirs)
    ours.eval()
    theirs.eval()
    compare_module(ours, theirs, normal(11, 5, 3), "nested module", run=run_block)
    state = {k: v.detach().numpy() * 2 for k, v in theirs.state_dict().items()}
    theirs.load_state_dict({k: torch.tensor(v) for k, v in state.items()})
    weight = ours.fc.weight
    ours.load_state_dict(state)
    assert ours.fc.weight is weight  # loading keeps the parameter objects
    x_ours, x_theirs = pair(normal(12, 5, 3))
    close(run_block(ours, x_ours), run_block(theirs, x_theirs), "after load_state_dict")
    for model in (ours, theirs):
        with pytest.raises(RuntimeError):
            model.load_state_dict({k: v for k, v in state.items() if k != "fc.bias"})
    ours.scale, theirs.scale = None, None  # re-assigning forgets the parameter
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]


def test_train_eval_modes_and_zero_grad():
    """train()/eval()/train(False) reach every sub-module and return the module itself;
    zero_grad() leaves every .grad None (PyTorch's set_to_none=True default)."""
    ours, theirs = build_block(nn, True), build_block(torch.nn, False)
    for method, args in [("eval", ()), ("train", ()), ("train", (False,)), ("train", (True,))]:
        for model in (ours, theirs):
            assert getattr(model, method)(*args) is model
        ours_modules = {id(m): m for m in ours.modules()}.values()  # each once, as PyTorch
        assert [m.training for m in ours_modules] == [m.training for m in theirs.modules()]
    # named_modules lists the shared `tied` under its own name too; PyTorch once (departure)
    assert [n for n, _ in ours.named_modules()] == [*(n for n, _ in theirs.named_modules()), "tied"]
    x_ours, x_theirs = pair(normal(13, 2, 3))
    run_block(ours, x_ours).sum().backward()
    run_block(theirs, x_theirs).sum().backward()
    assert all(p.grad is not None for p in ours.parameters())
    ours.zero_grad()
    theirs.zero_grad()
    assert [p.grad for p in ours.parameters()] == [p.grad for p in theirs.parameters()]


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_dropout_training_statistics_and_gradient(p):
    """Train mode: a share p of zeros (within 5 standard errors), survivors scaled by
    1/(1-p), gradient = mask / (1-p), and a fresh mask at every call, in both frameworks."""
    torch.manual_seed(1)
    n, masks = 200_000, []
    for module, leaf in [
        (nn.Dropout(p, rng=rng(14)), lambda: nn.Parameter(np.ones(n, F32))),
        (torch.nn.Dropout(p), lambda: torch.ones(n, requires_grad=True)),
    ]:
        for _ in range(2):
            x = leaf()
            out = module(x)
            out.sum().backward()
            data, grad = np.asarray(out.detach().numpy()), np.asarray(x.grad.numpy())
            assert abs((data == 0).mean() - p) < 5 * np.sqrt(p * (1 - p) / n)
            np.testing.assert_allclose(data[data != 0], F32(1 / (1 - p)), rtol=1e-6)
            np.testing.assert_array_equal(grad, data)  # d out / d x = mask / (1 - p)
            masks.append(data != 0)
    assert (masks[0] != masks[1]).any() and (masks[2] != masks[3]).any()


def test_dropout_eval_and_edges():
    """eval(): identity (gradient 1); p=0 in training: identity; p=1: all zeros, gradient
    zero; p outside [0, 1]: ValueError in both."""
    for p, train in [(0.5, False), (0.0, True), (1.0, True), (1.0, False)]:
        ours, theirs = nn.Dropout(p, rng=rng(16)), torch.nn.Dropout(p)
        ours.train(train)
        theirs.train(train)
        forward_and_backward(ours, theirs, [normal(15, 4, 5)], f"Dropout p={p} train={train}")
    for p in (-0.1, 1.5):
        with pytest.raises(ValueError):
            torch.nn.Dropout(p)
        with pytest.raises(ValueError):
            nn.Dropout(p)


def test_sequential_matches_pytorch():
    """A Sequential of every layer type: forward, gradients of input and of every parameter
    (same names), len, indexing and slicing."""
    fc = [nn.Linear(i, o, rng=rng(s)) for i, o, s in [(4, 8, 17), (8, 8, 18), (8, 5, 19)]]
    layers = [fc[0], nn.Tanh(), fc[1], nn.GELU("tanh"), nn.Dropout(0.3), fc[2], nn.Sigmoid()]
    ours = nn.Sequential(*layers, nn.Linear(5, 3, rng=rng(20)), nn.Softmax(dim=-1))
    theirs = twin(ours)
    ours.eval()
    theirs.eval()
    compare_module(ours, theirs, normal(21, 6, 4), "Sequential")
    assert len(ours) == len(theirs) == 9
    assert [type(m).__name__ for m in ours] == [type(m).__name__ for m in theirs]
    assert type(ours[-1]).__name__ == type(theirs[-1]).__name__ == "Softmax"
    assert ours[0] is fc[0] and isinstance(ours[1:3], nn.Sequential)
    assert [type(m).__name__ for m in ours[1:4]] == [type(m).__name__ for m in theirs[1:4]]
    x_ours, x_theirs = pair(normal(22, 2, 4))
    close(nn.Sequential()(x_ours), torch.nn.Sequential()(x_theirs), "empty Sequential")


MODULES = [
    ("ReLU", nn.ReLU(), torch.nn.ReLU()),
    ("Sigmoid", nn.Sigmoid(), torch.nn.Sigmoid()),
    ("Tanh", nn.Tanh(), torch.nn.Tanh()),
    ("GELU", nn.GELU(), torch.nn.GELU()),
    ("GELU_tanh", nn.GELU(approximate="tanh"), torch.nn.GELU(approximate="tanh")),
    ("Softmax0", nn.Softmax(dim=0), torch.nn.Softmax(dim=0)),
    ("Softmax", nn.Softmax(), torch.nn.Softmax(dim=-1)),  # our default dim is -1
]


@pytest.mark.parametrize("name, ours, theirs", MODULES, ids=[m[0] for m in MODULES])
def test_activation_layers(name, ours, theirs):
    """The activation layers: no parameters, forward and gradient on random and extreme rows."""
    assert list(ours.parameters()) == [] == list(theirs.parameters())
    forward_and_backward(ours, theirs, [normal(23, 3, 5, scale=3.0)], name)
    forward_and_backward(ours, theirs, [np.stack([EXTREMES, -EXTREMES])], f"{name} extremes")


# ---------------------------------------------------------------- 04 losses
@pytest.mark.parametrize("shape, dim", [((6,), 0), ((3, 5), 1), ((3, 5), 0), ((2, 3, 4), -2)])
def test_log_softmax(shape, dim):
    """log_softmax along each dim: random inputs, then rows of +-1000 (finite, no nan)."""
    ours, theirs = partial(ls.log_softmax, dim=dim), partial(F.log_softmax, dim=dim)
    forward_and_backward(ours, theirs, [normal(24, *shape, scale=3.0)], f"log_softmax {dim}")
    extremes = np.resize(EXTREMES, shape).astype(F32)
    forward_and_backward(ours, theirs, [extremes], f"log_softmax {dim} extremes", atol=1e-4)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy(reduction):
    """cross_entropy and CrossEntropyLoss with class indices (Tensor int64, ndarray, list):
    forward and logits gradient; logits of +-1000; a single sample."""
    targets = labels(25, 6, 4)
    extremes = np.array([[1000, -1000, 0], [-1000, 1000, 0], [0, 0, 0]], F32)
    forms = (Tensor(targets, dtype=np.int64), targets, targets.tolist())
    cases = [(normal(26, 6, 4, scale=3.0), form, targets) for form in forms]
    cases += [(extremes, [1, 1, 2], [1, 1, 2]), (normal(27, 1, 5), [3], [3])]
    for logits, ours_target, target in cases:
        ours = partial(ls.cross_entropy, targets=ours_target, reduction=reduction)
        theirs = partial(F.cross_entropy, target=torch.tensor(target), reduction=reduction)
        forward_and_backward(ours, theirs, [logits], f"cross_entropy {type(ours_target)}")
    ours, theirs = ls.CrossEntropyLoss(reduction), torch.nn.CrossEntropyLoss(reduction=reduction)
    assert ours.reduction == theirs.reduction
    module_fns = partial(ours, targets=targets), partial(theirs, target=torch.tensor(targets))
    forward_and_backward(*module_fns, [normal(41, 6, 4, scale=3.0)], "CrossEntropyLoss")
    assert ls.CrossEntropyLoss().reduction == torch.nn.CrossEntropyLoss().reduction == "mean"


BCE_WITH_LOGITS = (ls.binary_cross_entropy_with_logits, F.binary_cross_entropy_with_logits)
PAIRED = {  # the same (input, target, reduction) signature in both frameworks
    "mse_loss": (ls.mse_loss, F.mse_loss, ls.MSELoss, torch.nn.MSELoss),
    "bce": (ls.binary_cross_entropy, F.binary_cross_entropy, ls.BCELoss, torch.nn.BCELoss),
    "bce_logits": (*BCE_WITH_LOGITS, ls.BCEWithLogitsLoss, torch.nn.BCEWithLogitsLoss),
}
BCE_LOGITS = np.array([1000, 1000, -1000, -1000, 0, 0, 0, 0], F32)
PROBABILITIES = np.concatenate([uniform(30, 0.01, 0.99, 8), [1e-6, 1 - 1e-6, 0.5]]).astype(F32)
LOSS_ROWS = [  # (loss, case, [input, target]): gradients of both are compared
    ("mse_loss", "1-d", [normal(28, 7), normal(29, 7)]),
    ("mse_loss", "3-d", [normal(30, 2, 3, 4), normal(31, 2, 3, 4)]),
    ("bce", "random", [PROBABILITIES, uniform(32, 0, 1, 11)]),
    ("bce_logits", "random", [normal(33, 3, 4, scale=3.0), uniform(34, 0, 1, 3, 4)]),
    ("bce_logits", "extremes", [BCE_LOGITS, np.array([0, 1, 0, 1, 0, 1, 0.5, 0.25], F32)]),
]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("loss, case, inputs", LOSS_ROWS, ids=[f"{r[0]}-{r[1]}" for r in LOSS_ROWS])
def test_losses_and_loss_modules(loss, case, inputs, reduction):
    """mse_loss, binary_cross_entropy (probabilities up to 1e-6 from 0 and 1) and
    binary_cross_entropy_with_logits (+-1000 and 0), functions and modules: forward and the
    gradients of input and target."""
    ours_fn, theirs_fn, ours_cls, theirs_cls = PAIRED[loss]
    ours, theirs = partial(ours_fn, reduction=reduction), partial(theirs_fn, reduction=reduction)
    forward_and_backward(ours, theirs, inputs, f"{loss} {case} {reduction}", rtol=1e-4)
    ours, theirs = ours_cls(reduction=reduction), theirs_cls(reduction=reduction)
    assert ours.reduction == theirs.reduction == reduction
    assert ours_cls().reduction == theirs_cls().reduction == "mean"
    assert list(ours.parameters()) == [] == list(theirs.parameters())
    forward_and_backward(ours, theirs, inputs, f"{ours_cls.__name__} {case}", rtol=1e-4)


def test_binary_cross_entropy_clamps_logs_at_minus_100():
    """Probabilities 0, 1 and below e^-100: each log clamped at -100, so losses of 100."""
    p = np.array([0, 0, 1, 1, 1e-20, 1e-40, 1e-45, 0.5], F32)
    y = np.array([1, 0, 1, 0, 1, 1, 1, 0.25], F32)
    for r in REDUCTIONS:
        ours = ls.binary_cross_entropy(Tensor(p), Tensor(y), reduction=r)
        close(ours, F.binary_cross_entropy(*map(torch.tensor, (p, y)), reduction=r), f"bce {r}")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_gradient_at_0_and_1(reduction, dtype):
    """At probabilities 0, 1 and 1e-13 the slope is PyTorch's (p - y) / max(p (1 - p), 1e-12):
    0 where right, +-1e12 where wrong, not 1/p; the target's slope log(1 - p) - log(p) is
    +-inf at 0 and 1 in both."""
    p = np.array([0, 0, 1, 1, 1e-13, 1e-13, 1 - 1e-7, 0.5], dtype)
    y = np.array([1, 0, 1, 0, 1, 0, 0, 0.25], dtype)
    ours = partial(ls.binary_cross_entropy, reduction=reduction)
    theirs = partial(F.binary_cross_entropy, reduction=reduction)
    forward_and_backward(ours, theirs, [p, y], f"bce at 0 and 1 {reduction} {dtype.__name__}")
    slope, _ = pair(p)
    ls.binary_cross_entropy(slope, Tensor(y, dtype=dtype), reduction="sum").backward()
    wide, target = p.astype(np.float64), y.astype(np.float64)
    expected = (wide - target) / np.maximum(wide * (1 - wide), 1e-12)
    close(slope.grad, expected.astype(dtype), "bce slope (p - y) / max(p (1 - p), 1e-12)")


def test_binary_cross_entropy_with_logits_gradient_at_zero():
    """At a logit of exactly 0 the gradient is sigmoid(0) - y = 0.5 - y (per element)."""
    y = np.array([0.0, 0.25, 0.5, 1.0], F32)
    ours, theirs = pair(np.zeros(4, F32))
    ls.binary_cross_entropy_with_logits(ours, Tensor(y), reduction="sum").backward()
    F.binary_cross_entropy_with_logits(theirs, torch.tensor(y), reduction="sum").backward()
    close(ours.grad, theirs.grad, "bce logits gradient at 0")
    close(ours.grad, 0.5 - y, "bce logits gradient at 0 = 0.5 - y")


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy's "mean of empty slice"
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_losses_of_empty_batches(reduction):
    """No samples: the mean is nan, the sum 0, "none" empty, as in PyTorch."""
    ours, theirs = pair(np.zeros((0, 3), F32), grad=False)
    empty_mse = ls.mse_loss(ours, ours, reduction=reduction)
    close(empty_mse, F.mse_loss(theirs, theirs, reduction=reduction), "empty mse_loss")
    empty_ce = ls.cross_entropy(ours, np.zeros(0, np.int64), reduction=reduction)
    no_labels = torch.zeros(0, dtype=torch.long)
    close(empty_ce, F.cross_entropy(theirs, no_labels, reduction=reduction), "empty cross_entropy")


def test_losses_keep_float64():
    """float64 inputs give float64 losses and gradients with PyTorch's float64 values."""
    x, y = normal(42, 4, 3).astype(np.float64), uniform(43, 0, 1, 4, 3).astype(np.float64)
    target = labels(44, 4, 3)
    target_t = torch.tensor(target)
    rows = [(ours, theirs, [y if k == "bce" else x, y]) for k, (ours, theirs, *_) in PAIRED.items()]
    ce = partial(ls.cross_entropy, targets=target), partial(F.cross_entropy, target=target_t)
    rows += [(*ce, [x]), (ls.log_softmax, partial(F.log_softmax, dim=-1), [x])]
    for ours, theirs, inputs in rows:
        forward_and_backward(ours, theirs, inputs, "float64", rtol=1e-6, atol=1e-9)


def test_the_same_mistakes_raise_errors():
    """A bad dim, reduction or class index fails alike; a bad `approximate` or a probability
    outside [0, 1] is a ValueError here, a RuntimeError in PyTorch (listed departure)."""
    functional = SimpleNamespace(**{n: getattr(m, n) for m in (act, ls) for n in m.__all__})
    x, t = pair(np.zeros((2, 3), F32), grad=False)
    for call, ours_error, theirs_error in [
        (lambda m, a, c: m.softmax(a, dim=2), IndexError, IndexError),
        (lambda m, a, c: m.gelu(a, approximate="fast"), ValueError, RuntimeError),
        (lambda m, a, c: m.mse_loss(a, a, reduction="avg"), ValueError, ValueError),
        (lambda m, a, c: m.cross_entropy(a, c([0, 3])), IndexError, IndexError),
        (lambda m, a, c: m.cross_entropy(a, c([0, -1])), IndexError, IndexError),
        (lambda m, a, c: m.binary_cross_entropy(a + 1.5, a), ValueError, RuntimeError),
    ]:
        with pytest.raises(theirs_error):
            call(F, t, torch.tensor)
        with pytest.raises(ours_error):
            call(functional, x, np.array)
