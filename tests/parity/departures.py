"""Where tinytorch departs from PyTorch on purpose, and what has no PyTorch twin.

Every public name of modules 01-09 (each solution's `__all__`) is compared with PyTorch in
a parity test file (`COVERED`), or has no PyTorch twin (`NOT_COMPARABLE`).
`test_coverage.py` fails on a name that is in neither, so a new function cannot escape
the suite. Each departure is repeated for students in its module's README ("Where
tinytorch differs from PyTorch"), and `test_coverage.py` checks that too.
"""

from __future__ import annotations

DEPARTURES: dict[str, list[str]] = {
    "01_tensor": [
        "`Tensor([1, 2])` is float32 (PyTorch: int64); pass `dtype=np.int64` for labels "
        "and index tensors.",
        "`max(dim)` and `min(dim)` return the values only (PyTorch: values and indices); "
        "use `argmax` for the indices. Ties share the gradient, as `torch.amax`.",
        "A wrong shape or argument raises `ValueError` (PyTorch: `RuntimeError`); a dim out "
        "of range raises `IndexError`, as in PyTorch.",
        "An exponent is a number: `x ** tensor` is not supported.",
        "`arange`, `full` and the other factories make float32 tensors (PyTorch: int64 for "
        "integer arguments); `zeros(2, 3)` takes the sizes as arguments, not a tuple.",
        "`randn` and `rand` take a NumPy `rng` (PyTorch: a `generator`); the distributions "
        "are the same, the numbers are not.",
        "CPU and NumPy dtypes only: no devices, no float16.",
    ],
}

NOT_COMPARABLE: dict[str, str] = {
    "Function": "tinytorch's base class for ops (PyTorch's autograd.Function differs by design)",
    "Context": "what an op saves for its backward rule; internal to Function",
    "AutogradEngine": "the protocol module 05 implements; no user-facing twin",
    "install_autograd": "the one extension point by which module 05 plugs into module 01",
    "backward_rule": "registers a backward rule for a Function (tinygrad-style table)",
    "Node": "the autograd graph's node type; internal",
    "Engine": "module 05's engine; compared through .backward() everywhere",
}

COVERED: dict[str, str] = {
    name: "test_tensor_parity.py"
    for name in (
        "Tensor",
        "zeros",
        "ones",
        "full",
        "arange",
        "randn",
        "rand",
        "cat",
        "stack",
        "where",
        "no_grad",
        "is_grad_enabled",
    )
}
