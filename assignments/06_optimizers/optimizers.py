# %% [markdown]
# # Module 06: Optimizers
#
# Autograd (module 05) tells every parameter which way is uphill: `param.grad`. An
# optimizer turns those gradients into steps. You write the three optimizers most deep
# learning runs on, with PyTorch's names, arguments and exact update rules, so a model
# trained here follows the same path as with `torch.optim`:
#
# - `SGD`, with momentum, dampening, Nesterov momentum and weight decay;
# - `Adam`, which scales each parameter's step by running averages of its gradient;
# - `AdamW`, Adam with *decoupled* weight decay (the default for transformers).
#
# Training for hours and resuming after a crash must give the same model as training in
# one go, so an optimizer can also save and restore all of its state as NumPy arrays.
#
# Tasks: 06.1 zero_grad, 06.2 state_dict and load_state_dict, 06.3 SGD, 06.4 Adam,
# 06.5 AdamW.


# %%
from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from tinytorch.core.autograd import no_grad
from tinytorch.core.tensor import Tensor

__all__ = ["Optimizer", "SGD", "Adam", "AdamW"]

ParamGroup = dict[str, Any]
State = dict[str, Any]


# %% [markdown]
# ## Tasks 06.1 and 06.2: the base class
#
# An optimizer keeps its parameters in *parameter groups*, as PyTorch does: a list of
# dicts, each holding `"params"` (a list of tensors) and the hyper-parameters for them
# (`"lr"`, `"momentum"`, ...). Most code passes a plain list of parameters, which becomes
# one group; a learning-rate scheduler (module 07) changes `group["lr"]`.
#
# `step()` walks every parameter that has a gradient and calls `_update` on its arrays.
# `self.state[param]` is a dict that belongs to that parameter (Adam keeps its running
# averages there); it starts empty.
#
# **Task 06.1.** `zero_grad()` sets every parameter's `.grad` to None, as PyTorch does by
# default. Call it before each backward pass: gradients *accumulate* in `.grad`.
#
# **Task 06.2.** `state_dict()` saves the hyper-parameters of every group and the state of
# every parameter as NumPy arrays under flat dotted keys, the way module 03's
# `Module.state_dict()` does, so a checkpoint (module 07) is one `np.savez` call.
# Parameters are numbered across the groups in order (0, 1, 2, ...): a fresh optimizer
# over a fresh copy of the model can then take the state over. `load_state_dict` checks
# first, then restores: afterwards the optimizer must step exactly as the saved one would.


# %%
class Optimizer:
    """Base class of all optimizers (as `torch.optim.Optimizer`).

    Args:
        params: an iterable of tensors to optimize, or of dicts (parameter groups) with
            a "params" list and hyper-parameters that override the defaults.
        lr: learning rate.
        **defaults: the other hyper-parameters of the subclass.
    """

    def __init__(
        self, params: Iterable[Tensor] | Iterable[ParamGroup], lr: float, **defaults: Any
    ) -> None:
        if isinstance(params, Tensor):
            raise TypeError(
                "params must be an iterable of Tensors (such as model.parameters()), "
                "got a single Tensor; wrap it in a list"
            )
        self.defaults: dict[str, Any] = {"lr": lr, **defaults}
        self.param_groups: list[ParamGroup] = []
        self.state: dict[Tensor, State] = {}
        groups = list(params)
        if not groups:
            raise ValueError("the optimizer got an empty parameter list")
        if not isinstance(groups[0], Mapping):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, group: Mapping[str, Any]) -> None:
        """Add a group of parameters, filling in missing hyper-parameters from the defaults."""
        if not isinstance(group, Mapping) or "params" not in group:
            raise TypeError("a parameter group must be a dict with a 'params' entry")
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        unknown = set(group) - set(self.defaults) - {"params"}
        if unknown:
            raise ValueError(f"unknown hyper-parameter(s) in a parameter group: {sorted(unknown)}")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        for index, param in enumerate(params):
            if not isinstance(param, Tensor):
                raise TypeError(
                    f"an optimizer can only optimize Tensors, but parameter {index} is a "
                    f"{type(param).__name__}"
                )
            if id(param) in seen:
                raise ValueError("a parameter appears more than once in the optimizer's groups")
            seen.add(id(param))
        self.param_groups.append({**self.defaults, **group, "params": params})

    def zero_grad(self) -> None:
        """Set the gradient of every parameter to None."""
        # TODO (Task 06.1)
        raise NotImplementedError(
            'Task 06.1: implement Optimizer.zero_grad. Hint: loop over self.param_groups and each '
            'group\'s "params".'
        )

    @no_grad()
    def step(self) -> None:
        """Update every parameter that has a gradient, in place."""
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is not None:
                    state = self.state.setdefault(param, {})
                    self._update(param.data, param.grad.data, state, group)

    def _update(self, param: np.ndarray, grad: np.ndarray, state: State, group: ParamGroup) -> None:
        """Change `param` in place from `grad`, this parameter's `state` and its `group`."""
        raise NotImplementedError(f"{type(self).__name__} does not define _update()")

    def state_dict(self) -> dict[str, np.ndarray]:
        """Everything the optimizer knows, as flat NumPy arrays under dotted keys.

        Parameters are numbered in the order of the groups: `"param_groups.0.lr"`,
        `"param_groups.0.params"` (their numbers), `"state.3.exp_avg"`, `"state.3.step"`.
        Every array is a copy, so later steps do not change a saved snapshot.
        """
        # TODO (Task 06.2)
        raise NotImplementedError(
            'Task 06.2: implement Optimizer.state_dict. Hint: np.array(value) copies arrays and '
            'turns numbers and tuples into arrays.'
        )

    def load_state_dict(self, state_dict: Mapping[str, np.ndarray]) -> None:
        """Restore hyper-parameters and state saved by `state_dict()` (copies are taken).

        The optimizer must have as many groups, each with as many parameters of the same
        shapes, as the one that was saved; otherwise a ValueError says what differs and
        nothing changes.
        """
        # TODO (Task 06.2)
        raise NotImplementedError(
            'Task 06.2: implement Optimizer.load_state_dict. Hint: check everything first. Give '
            'each restored hyper-parameter the type it has now (_like, given), and rebuild '
            'self.state: 0-d integer arrays become ints.'
        )

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for g, group in enumerate(self.param_groups):
            settings = ", ".join(f"{k}={v}" for k, v in group.items() if k != "params")
            lines.append(f"  group {g}: {len(group['params'])} params, {settings}")
        return "\n".join([*lines, ")"])


def _like(current: Any, saved: np.ndarray) -> Any:
    """The saved value converted to the type of the current one (float, int, bool, tuple)."""
    if isinstance(current, tuple):
        return tuple(float(v) for v in np.asarray(saved).reshape(-1))
    if isinstance(current, bool):
        return bool(saved)
    if isinstance(current, int):
        return int(saved)
    return float(saved)


def _check(
    name: str, value: Any, low: float = 0.0, high: float = math.inf, include_high: bool = False
) -> None:
    """Raise a ValueError naming `name` unless `value` is a number from low up to high."""
    valid = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if valid:
        valid = low <= value and (value <= high if include_high else value < high)
    if not valid:
        upper = "]" if include_high else ")"
        bounds = f"in [{low:g}, {high:g}{upper}" if high != math.inf else f">= {low:g}"
        raise ValueError(f"invalid {name}: {value!r} (it must be a number {bounds})")


# %% [markdown]
# ## Task 06.3: SGD
#
# Stochastic gradient descent steps against the gradient: `p -= lr * g`. PyTorch's full
# rule, for gradient `g` of parameter `p` at step `t`:
#
# ```
# if weight_decay != 0:  g = g + weight_decay * p          # L2 penalty
# if momentum != 0:
#     b = g                                    if t == 1   # the first step
#     b = momentum * b + (1 - dampening) * g   otherwise
#     g = g + momentum * b   if nesterov  else  b
# p = p - lr * g
# ```
#
# Keep the momentum buffer `b` in `state["momentum_buffer"]`; it is absent at step 1.
# Change `param` *in place* (`param -= ...`): `param = param - ...` only rebinds a local
# name and the model never sees the change. `_check` (given) raises the errors for bad
# hyper-parameters; Nesterov momentum needs `momentum > 0` and `dampening == 0`.


# %%
class SGD(Optimizer):
    r"""Stochastic gradient descent, optionally with momentum (as `torch.optim.SGD`).

    Args:
        params: tensors or parameter groups to optimize.
        lr: learning rate (> 0 to make progress; 0 is allowed).
        momentum: momentum factor in [0, 1).
        dampening: dampening for momentum, in [0, 1].
        weight_decay: L2 penalty, added to the gradient as `weight_decay * p`.
        nesterov: use Nesterov momentum.

    Example:
        >>> w = Tensor([1.0], requires_grad=True)
        >>> w.grad = Tensor([0.5])
        >>> SGD([w], lr=0.1).step()
        >>> w
        Tensor([0.95], requires_grad=True)
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[ParamGroup],
        lr: float,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        # TODO (Task 06.3)
        raise NotImplementedError(
            'Task 06.3: implement SGD.__init__. Hint: _check("learning rate", lr), '
            '_check("momentum", momentum, 0.0, 1.0), ...'
        )
        super().__init__(
            params,
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
        )

    def _update(self, param: np.ndarray, grad: np.ndarray, state: State, group: ParamGroup) -> None:
        # TODO (Task 06.3)
        raise NotImplementedError(
            'Task 06.3: implement SGD._update. Hint: follow the rule above line by line; '
            'state.get("momentum_buffer") is None at t = 1.'
        )


# %% [markdown]
# ## Task 06.4: Adam
#
# Adam (Kingma and Ba, 2015) keeps two running averages per parameter: `m` of the
# gradient and `v` of its square. Dividing by `sqrt(v)` gives every parameter a step of
# about `lr`, whatever the scale of its gradient. PyTorch's rule, at step `t`:
#
# ```
# if weight_decay != 0:  g = g + weight_decay * p          # L2, as torch.optim.Adam
# m = beta1 * m + (1 - beta1) * g                          # m, v start at zeros
# v = beta2 * v + (1 - beta2) * g * g
# m_hat = m / (1 - beta1 ** t)                             # bias corrections
# v_hat = v / (1 - beta2 ** t)
# p = p - lr * m_hat / (sqrt(v_hat) + eps)
# ```
#
# Keep `t` in `state["step"]` (an int) and the averages in `state["exp_avg"]` and
# `state["exp_avg_sq"]` (PyTorch's names). `eps` is added *after* the square root.


# %%
class Adam(Optimizer):
    r"""Adam (as `torch.optim.Adam`, without amsgrad).

    Args:
        params: tensors or parameter groups to optimize.
        lr: learning rate.
        betas: decay rates of the running averages of the gradient and its square, each
            in [0, 1).
        eps: added to the denominator for numerical stability.
        weight_decay: L2 penalty, added to the gradient as `weight_decay * p`.
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[ParamGroup],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        # TODO (Task 06.4)
        raise NotImplementedError(
            'Task 06.4: implement Adam.__init__. Hint: check lr, eps, weight_decay and each beta '
            'with _check; betas is a pair.'
        )
        super().__init__(params, lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay)

    def _update(self, param: np.ndarray, grad: np.ndarray, state: State, group: ParamGroup) -> None:
        # TODO (Task 06.4)
        raise NotImplementedError(
            'Task 06.4: implement Adam._update. Hint: np.zeros_like(param) starts each average; '
            'update them in place (*=, +=).'
        )


# %% [markdown]
# ## Task 06.5: AdamW
#
# With Adam, an L2 penalty added to the gradient gets divided by `sqrt(v)` like the rest,
# so weights with large gradients are barely decayed. Loshchilov and Hutter (2019)
# *decouple* the decay: shrink the weights directly, then take a plain Adam step.
#
# ```
# p = p * (1 - lr * weight_decay)
# ... then Adam's rule above with no L2 term
# ```


# %%
class AdamW(Adam):
    r"""Adam with decoupled weight decay (as `torch.optim.AdamW`).

    Args:
        params: tensors or parameter groups to optimize.
        lr: learning rate.
        betas: decay rates of the running averages, each in [0, 1).
        eps: added to the denominator for numerical stability.
        weight_decay: the fraction `lr * weight_decay` of each weight removed per step.
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[ParamGroup],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
    ) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)

    def _update(self, param: np.ndarray, grad: np.ndarray, state: State, group: ParamGroup) -> None:
        # TODO (Task 06.5)
        raise NotImplementedError(
            'Task 06.5: implement AdamW._update. Hint: decay param in place, then call '
            'super()._update with a copy of the group whose weight_decay is 0: {**group, '
            '"weight_decay": 0.0}.'
        )
