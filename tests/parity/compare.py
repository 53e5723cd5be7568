"""Helpers shared by the parity tests: the same values into both frameworks, and
comparisons that name what differed."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from tinytorch.core.tensor import Tensor

COMPARISONS = [0]
"""How many value comparisons the suite made (reported by `make parity`)."""


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def pair(values: np.ndarray, grad: bool = True) -> tuple[Tensor, torch.Tensor]:
    """The same float array as a tinytorch and a torch leaf tensor."""
    values = np.asarray(values)
    ours = Tensor(values.copy(), dtype=values.dtype, requires_grad=grad)
    theirs = torch.tensor(values.copy(), requires_grad=grad)
    return ours, theirs


def array(value) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().numpy()
    if isinstance(value, Tensor):
        return value.data
    return np.asarray(value)


def close(ours, theirs, what: str, rtol: float = 1e-5, atol: float = 1e-6) -> None:
    """Same shape, same dtype kind, close values (nan and inf where PyTorch has them)."""
    a, b = array(ours), array(theirs)
    COMPARISONS[0] += 1
    assert a.shape == b.shape, f"{what}: shape {a.shape}, PyTorch {b.shape}"
    assert a.dtype == b.dtype, f"{what}: dtype {a.dtype}, PyTorch {b.dtype}"
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, equal_nan=True, err_msg=what)


def forward_and_backward(
    ours_fn: Callable[..., Tensor],
    theirs_fn: Callable[..., torch.Tensor],
    inputs: Sequence[np.ndarray],
    what: str,
    rtol: float = 1e-5,
    atol: float = 1e-6,
    grad_rtol: float | None = None,
) -> None:
    """The forward value, then the gradient of `sum(output * weights)` for every input."""
    pairs = [pair(x) for x in inputs]
    out_ours = ours_fn(*(p[0] for p in pairs))
    out_theirs = theirs_fn(*(p[1] for p in pairs))
    close(out_ours, out_theirs, f"{what}: forward", rtol, atol)
    weights = rng(99).normal(size=array(out_theirs).shape).astype(array(out_theirs).dtype)
    (out_ours * Tensor(weights, dtype=weights.dtype)).sum().backward()
    (out_theirs * torch.tensor(weights)).sum().backward()
    for index, (ours, theirs) in enumerate(pairs):
        expected = theirs.grad if theirs.grad is not None else torch.zeros_like(theirs)
        got = ours.grad if ours.grad is not None else np.zeros_like(ours.data)
        close(got, expected, f"{what}: gradient of input {index}", grad_rtol or rtol, atol)


def normal(seed: int, *shape: int, scale: float = 1.0) -> np.ndarray:
    """Seeded float32 normal samples."""
    return (rng(seed).normal(size=shape) * scale).astype(np.float32)


def call(method: str, *objects) -> None:
    """The same method of the tinytorch and the PyTorch object, one after the other."""
    for obj in objects:
        getattr(obj, method)()
