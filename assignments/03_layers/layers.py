# %% [markdown]
# # Module 03: Layers
#
# A network is a tree of modules: a `Sequential` holds `Linear` layers and activations,
# and each `Linear` holds its `weight` and `bias`. Here you build `Module`, the base class
# that makes such a tree easy to handle, the way PyTorch does it: assign a `Parameter` or
# another `Module` to an attribute and it is registered. Then `parameters()` finds every
# weight however deep it sits, `train()`/`eval()` switch the mode of every layer, and
# `state_dict()` saves everything under dotted names such as `"0.weight"`.
#
# Layers are written with the tensor operations of modules 01 and 02 only, so module 05's
# autograd differentiates them without a line of extra code.
#
# Tasks: 03.1 registration and discovery, 03.2 train/eval and zero_grad, 03.3 state_dict,
# 03.4 Linear, 03.5 Dropout, 03.6 Sequential and the activation layers.


# %%
from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from tinytorch.core.activations import gelu, relu, sigmoid, softmax, tanh
from tinytorch.core.tensor import RemovableHandle, Tensor

__all__ = [
    "Parameter",
    "Module",
    "Linear",
    "Dropout",
    "Sequential",
    "ReLU",
    "Sigmoid",
    "Tanh",
    "GELU",
    "Softmax",
    "register_module_forward_pre_hook",
    "register_module_forward_hook",
]


# %% [markdown]
# ## Parameters (given)
#
# A `Parameter` is a `Tensor` with one extra meaning: "train me". It is always float32
# and has `requires_grad=True`. Being its own type is what lets `Module` tell a weight
# (`self.weight = Parameter(...)`) from any other tensor it happens to keep.


# %%
class Parameter(Tensor):
    """A Tensor that a `Module` registers as learnable: float32, `requires_grad=True`.

    Args:
        data: a number, nested list, ndarray or Tensor (stored as float32).
        requires_grad: whether gradients should be computed for it (True by default).

    Example:
        >>> Parameter([1.0, 2.0])
        Parameter containing:
        Tensor([1., 2.], requires_grad=True)
    """

    __slots__ = ()

    def __init__(self, data: Any, requires_grad: bool = True) -> None:
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


def _join(prefix: str, name: str) -> str:
    """A dotted name: ("fc", "weight") -> "fc.weight"; an empty prefix adds no dot."""
    return f"{prefix}.{name}" if prefix else name


# %% [markdown]
# ## Tasks 03.1 to 03.3: the `Module` base class
#
# Every module keeps three registries, plain dicts in assignment order: `_parameters`
# (name -> Parameter), `_modules` (name -> sub-Module) and `_buffers` (name -> Tensor
# that is saved but not trained, such as BatchNorm's running mean; `register_buffer` is
# given). Values also live as ordinary attributes, so `self.weight` just works.
#
# **Task 03.1: registration and discovery.** `__setattr__` runs on every
# `self.name = value`. Record Parameters and Modules in their registry, and forget the
# name when it is re-assigned to something else (`self.bias = None`). Then
# `named_modules` walks the tree depth first, naming each module by its path ("",
# "0", "0.fc", ...), and `named_parameters` lists every parameter under its dotted
# name. A Parameter shared by two layers is listed once, so an optimizer steps it once.
#
# **Task 03.2: modes and gradients.** `train(mode)` sets the `training` flag on the
# module and everything below it; `zero_grad` sets every parameter's `.grad` to None.
#
# **Task 03.3: saving and loading.** `state_dict` maps every dotted name (parameters and
# buffers) to a *copy* of its array, so later training cannot change the snapshot.
# `load_state_dict` checks everything first (missing keys, unexpected keys, shapes)
# and only then copies the values in, keeping each parameter object (an optimizer holds
# references to them) and its dtype.


# %%
class Module:
    """Base class of every layer and model (as `torch.nn.Module`).

    Subclasses call `super().__init__()` first, assign their parameters and sub-modules
    as attributes, and define `forward`; calling the module runs `forward`.

    Example:
        >>> class Scale(Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.factor = Parameter([2.0])
        ...     def forward(self, x):
        ...         return x * self.factor
        >>> [name for name, _ in Scale().named_parameters()]
        ['factor']
    """

    def __init__(self) -> None:
        # object.__setattr__ bypasses our __setattr__, which needs the registries to exist.
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "training", True)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The computation of the module; every subclass defines its own."""
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not (_forward_pre_hooks or _forward_hooks):
            return self.forward(*args, **kwargs)
        for pre_hook in tuple(_forward_pre_hooks):
            pre_hook(self, args)
        output = self.forward(*args, **kwargs)
        for hook in tuple(_forward_hooks):
            hook(self, args, output)
        return output

    # ---- Task 03.1: registration and discovery ----
    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"cannot assign {name!r} before Module.__init__() ran: call "
                f"super().__init__() first in {type(self).__name__}.__init__"
            )
        if name in self._buffers:
            self.register_buffer(name, value)
            return
        # TODO (Task 03.1)
        raise NotImplementedError(
            'Task 03.1: implement Module.__setattr__. Hint: drop `name` from self._parameters and '
            'self._modules (it may be re-assigned), record a Parameter or a Module in its '
            'registry, and store the attribute itself with object.__setattr__(self, name, value).'
        )

    def __delattr__(self, name: str) -> None:
        for registry in (self._parameters, self._modules, self._buffers):
            registry.pop(name, None)
        object.__delattr__(self, name)

    def register_buffer(self, name: str, tensor: Tensor) -> None:
        """Keep `tensor` as `self.<name>`: saved by `state_dict`, never trained.

        Assigning to the attribute later keeps it a buffer.
        """
        if not isinstance(tensor, Tensor) or isinstance(tensor, Parameter):
            raise TypeError(
                f"buffer {name!r} must be a Tensor (not a Parameter), got {type(tensor).__name__}"
            )
        self._buffers[name] = tensor
        object.__setattr__(self, name, tensor)

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """This module (named `prefix`) and every module below it, depth first.

        A module reachable along two paths is listed under each of them.
        """
        # TODO (Task 03.1)
        raise NotImplementedError(
            'Task 03.1: implement Module.named_modules. Hint: yield (prefix, self), then `yield '
            "from` each child's named_modules with the prefix _join(prefix, child_name)."
        )

    def named_parameters(self) -> Iterator[tuple[str, Parameter]]:
        """Every parameter with its dotted name, like "0.weight"; a shared one only once."""
        # TODO (Task 03.1)
        raise NotImplementedError(
            'Task 03.1: implement Module.named_parameters. Hint: walk self.named_modules(); '
            'remember id(parameter) in a set to skip repeats.'
        )

    def parameters(self) -> Iterator[Parameter]:
        """Every parameter, each once: what an optimizer trains."""
        for _, parameter in self.named_parameters():
            yield parameter

    def named_buffers(self) -> Iterator[tuple[str, Tensor]]:
        """Every buffer with its dotted name."""
        for prefix, module in self.named_modules():
            for name, buffer in module._buffers.items():
                yield _join(prefix, name), buffer

    def children(self) -> Iterator[Module]:
        """The direct sub-modules, in assignment order."""
        return iter(self._modules.values())

    def modules(self) -> Iterator[Module]:
        """This module and every module below it."""
        for _, module in self.named_modules():
            yield module

    # ---- Task 03.2: modes and gradients ----
    def train(self, mode: bool = True) -> Module:
        """Switch this module and all below it to training (or, with False, evaluation) mode."""
        if not isinstance(mode, bool):
            raise TypeError(f"train(mode) takes True or False, got {mode!r}")
        # TODO (Task 03.2)
        raise NotImplementedError(
            'Task 03.2: implement Module.train. Hint: set `training` on every module of '
            'self.modules(), then return self.'
        )

    def eval(self) -> Module:
        """Evaluation mode, `train(False)`: Dropout, for one, lets inputs through."""
        return self.train(False)

    def zero_grad(self) -> None:
        """Forget every parameter's gradient (`.grad = None`) before the next backward."""
        # TODO (Task 03.2)
        raise NotImplementedError('Task 03.2: implement Module.zero_grad.')

    # ---- Task 03.3: saving and loading ----
    def _state_tensors(self) -> dict[str, Tensor]:
        """Every parameter and buffer under its dotted name (a shared one under each name)."""
        # TODO (Task 03.3)
        raise NotImplementedError(
            'Task 03.3: implement Module._state_tensors. Hint: for each (prefix, module) of '
            'named_modules(), add the items of its _parameters and then its _buffers under '
            '_join(prefix, name).'
        )

    def state_dict(self) -> dict[str, np.ndarray]:
        """A snapshot: dotted name -> a copy of the array of each parameter and buffer.

        Example:
            >>> list(Linear(2, 3).state_dict())
            ['weight', 'bias']
        """
        # TODO (Task 03.3)
        raise NotImplementedError('Task 03.3: implement Module.state_dict.')

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Copy the arrays (or Tensors) of `state_dict` into this module's tensors.

        Keys must match `self.state_dict()` exactly and shapes must agree. Otherwise
        nothing changes and a RuntimeError names every missing key, every unexpected key
        and, for each shape mismatch, the key and both shapes. Each parameter keeps its
        identity and dtype.
        """
        # TODO (Task 03.3)
        raise NotImplementedError(
            'Task 03.3: implement Module.load_state_dict. Hint: collect all problems before '
            'raising; then assign tensor.data = np.array( value, dtype=tensor.dtype), a copy, so '
            "the module never shares the caller's array."
        )

    # ---- printing (given) ----
    def extra_repr(self) -> str:
        """The settings shown inside the module's repr, like "in_features=2"."""
        return ""

    def __repr__(self) -> str:
        lines = [
            f"({name}): {child!r}".replace("\n", "\n  ") for name, child in self._modules.items()
        ]
        if not lines:
            return f"{type(self).__name__}({self.extra_repr()})"
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"


# %% [markdown]
# ## Watching every module (given)
#
# Calling a module runs `forward` through `Module.__call__`, so a tool can watch every
# call of every module without touching any of them: `register_module_forward_pre_hook`
# and `register_module_forward_hook` (PyTorch's global hooks) are called before and after
# each forward. Module 15's profiler times layers this way.


# %%
_forward_pre_hooks: list[Callable[[Module, tuple], object]] = []
_forward_hooks: list[Callable[[Module, tuple, Any], object]] = []


def register_module_forward_pre_hook(hook: Callable[[Module, tuple], object]) -> RemovableHandle:
    """Call `hook(module, args)` before the forward of every module, until removed.

    Hooks watch: what they return is ignored (PyTorch's may replace the input).
    """
    _forward_pre_hooks.append(hook)
    return RemovableHandle(_forward_pre_hooks, hook)


def register_module_forward_hook(hook: Callable[[Module, tuple, Any], object]) -> RemovableHandle:
    """Call `hook(module, args, output)` after the forward of every module, until removed.

    Hooks watch: what they return is ignored (PyTorch's may replace the output).
    """
    _forward_hooks.append(hook)
    return RemovableHandle(_forward_hooks, hook)


# %% [markdown]
# ## Task 03.4: Linear
#
# `Linear` computes `y = x @ W.T + b` with `W` of shape `(out_features, in_features)`:
# PyTorch's layout, in which row `i` of the weight holds the input weights of output `i`.
# PyTorch initialises both `W` and `b` uniformly in `[-k, k]` with `k = 1/sqrt(in_features)`,
# which keeps the output variance about the same as the input's, however wide the layer.
# Draw the values from the `generator` you are given, so a seeded `rng` gives the same
# layer every time.


# %%
class Linear(Module):
    r"""Affine map :math:`y = x W^T + b` (as `torch.nn.Linear`).

    Args:
        in_features: size of each input sample.
        out_features: size of each output sample.
        bias: whether to learn an additive bias (`self.bias` is None otherwise).
        rng: NumPy generator for the initial values; pass one for reproducible weights.

    Shape:
        Input `(*, in_features)`, output `(*, out_features)`, where `*` is any number of
        leading dimensions, none included.

    Attributes:
        weight: Parameter of shape `(out_features, in_features)`, drawn from U(-k, k)
            with k = 1/sqrt(in_features).
        bias: Parameter of shape `(out_features,)` drawn from U(-k, k), or None.

    Example:
        >>> layer = Linear(3, 2, rng=np.random.default_rng(0))
        >>> layer(Tensor(np.ones((4, 3)))).shape
        (4, 2)
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        rng: np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        if in_features < 1 or out_features < 1:
            raise ValueError(
                f"Linear needs in_features >= 1 and out_features >= 1, "
                f"got in_features={in_features}, out_features={out_features}"
            )
        self.in_features = in_features
        self.out_features = out_features
        generator = rng if rng is not None else np.random.default_rng()
        # TODO (Task 03.4)
        raise NotImplementedError(
            'Task 03.4: implement Linear.__init__. Hint: k = 1 / math.sqrt(in_features); '
            'generator.uniform(-k, k, size=shape) gives the values: wrap them in Parameter. With '
            'bias=False, set self.bias = None.'
        )

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"Linear(in_features={self.in_features}) expects inputs of shape "
                f"(*, {self.in_features}), got shape {x.shape}"
            )
        # TODO (Task 03.4)
        raise NotImplementedError(
            'Task 03.4: implement Linear.forward. Hint: x @ self.weight.T, plus self.bias when '
            'there is one: tensor operations only, so that module 05 can differentiate the layer.'
        )

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


# %% [markdown]
# ## Task 03.5: Dropout
#
# While training, dropout zeroes each element with probability `p`, so that no unit can
# rely on any single other one. *Inverted* dropout also scales the kept elements by
# `1 / (1 - p)`: the expected value of every element stays the same, and in evaluation
# mode the layer can simply return its input.


# %%
class Dropout(Module):
    r"""Zero each element with probability `p` while training; scale the rest by 1/(1-p).

    Args:
        p: probability of zeroing an element, in [0, 1].
        rng: NumPy generator for the masks; pass one for reproducible results.

    Shape:
        Input `(*)`, output `(*)`, the same shape.

    Example:
        >>> Dropout(0.5).eval()(Tensor([1.0, 2.0]))
        Tensor([1., 2.])
    """

    def __init__(self, p: float = 0.5, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability p must be between 0 and 1, got {p}")
        self.p = p
        self.rng = rng if rng is not None else np.random.default_rng()

    def forward(self, x: Tensor) -> Tensor:
        # TODO (Task 03.5)
        raise NotImplementedError(
            'Task 03.5: implement Dropout.forward. Hint: return x itself in eval mode or when p == '
            '0. Otherwise keep elements where self.rng.random(x.shape) >= self.p and multiply x by '
            'keep / (1 - p) (by zeros when p == 1).'
        )

    def extra_repr(self) -> str:
        return f"p={self.p}"


# %% [markdown]
# ## Task 03.6: Sequential and the activation layers
#
# `Sequential(a, b, c)(x)` is `c(b(a(x)))`. Registering each module under its position
# ("0", "1", ...) names its parameters "0.weight", "2.bias" and so on, as in PyTorch.
# The activation layers wrap module 02's functions so that they can sit in a
# `Sequential`.


# %%
class Sequential(Module):
    """Modules applied one after another: `Sequential(a, b)(x)` is `b(a(x))`.

    Indexing gives a module (`seq[0]`, `seq[-1]`) or, with a slice, a Sequential of the
    same module objects; `len` and iteration work as for a list.

    Example:
        >>> model = Sequential(Linear(4, 8), ReLU(), Linear(8, 2))
        >>> [name for name, _ in model.named_parameters()]
        ['0.weight', '0.bias', '2.weight', '2.bias']
    """

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        for index, module in enumerate(modules):
            if not isinstance(module, Module):
                raise TypeError(
                    f"Sequential takes modules, but argument {index} is a {type(module).__name__}"
                )
        # TODO (Task 03.6)
        raise NotImplementedError(
            'Task 03.6: implement Sequential.__init__. Hint: setattr(self, str(index), module) '
            'registers each module under its position.'
        )

    def forward(self, x: Any) -> Any:
        # TODO (Task 03.6)
        raise NotImplementedError('Task 03.6: implement Sequential.forward.')

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return self.children()

    def __getitem__(self, index: int | slice) -> Module:
        modules = list(self.children())
        if isinstance(index, slice):
            return Sequential(*modules[index])
        if not -len(modules) <= index < len(modules):
            raise IndexError(
                f"index {index} is out of range for a Sequential of {len(modules)} modules"
            )
        return modules[index]


class ReLU(Module):
    """`relu` as a layer. Shape: input `(*)`, output `(*)`, the same shape."""

    def forward(self, x: Tensor) -> Tensor:
        # TODO (Task 03.6)
        raise NotImplementedError('Task 03.6: implement ReLU.forward.')


class Sigmoid(Module):
    """`sigmoid` as a layer. Shape: input `(*)`, output `(*)`, the same shape."""

    def forward(self, x: Tensor) -> Tensor:
        # TODO (Task 03.6)
        raise NotImplementedError('Task 03.6: implement Sigmoid.forward.')


class Tanh(Module):
    """`tanh` as a layer. Shape: input `(*)`, output `(*)`, the same shape."""

    def forward(self, x: Tensor) -> Tensor:
        # TODO (Task 03.6)
        raise NotImplementedError('Task 03.6: implement Tanh.forward.')


class GELU(Module):
    """`gelu` as a layer; `approximate` is "none" (exact) or "tanh".

    Shape:
        Input `(*)`, output `(*)`, the same shape.
    """

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = approximate

    def forward(self, x: Tensor) -> Tensor:
        # TODO (Task 03.6)
        raise NotImplementedError('Task 03.6: implement GELU.forward.')

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softmax(Module):
    """`softmax` along `dim` as a layer; each slice along `dim` sums to 1.

    Shape:
        Input `(*)`, output `(*)`, the same shape.
    """

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: Tensor) -> Tensor:
        # TODO (Task 03.6)
        raise NotImplementedError('Task 03.6: implement Softmax.forward.')

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
