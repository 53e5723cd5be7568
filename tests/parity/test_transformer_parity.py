"""Module 13 against PyTorch: layer_norm and LayerNorm (every option, float32 and float64,
the gradients of input, weight and bias), the MLP against a hand-composed PyTorch MLP and
the pre-norm TransformerBlock against nn.TransformerEncoderLayer(norm_first=True) with
the same weights (outputs and every gradient), with fixed seeds."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest
import torch
import torch.nn.functional as F  # noqa: N812 (PyTorch's name)

from tests.parity.compare import close, forward_and_backward, normal, pair
from tinytorch.core import transformers as tf
from tinytorch.core.tensor import Tensor

F32, F64 = np.float32, np.float64


# ---------------------------------------------------------------- layer_norm
def backward_and_compare(ours, theirs, inputs, outputs, what, names=lambda name: name, **tol):
    """Backpropagate the same random weights through both outputs; compare the input's
    gradient and every parameter's (PyTorch's under `names(ours_name)`)."""
    g = normal(12, *outputs[1].shape)
    (outputs[0] * Tensor(g)).sum().backward()
    (outputs[1] * torch.tensor(g)).sum().backward()
    close(inputs[0].grad, inputs[1].grad, f"{what}: input gradient", **tol)
    theirs_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        close(p.grad, theirs_params[names(name)].grad, f"{what}: {name}.grad", **tol)


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize(
    "shape,normalized", [((4, 6), (6,)), ((2, 3, 5), (5,)), ((2, 3, 4), (3, 4)), ((7,), (7,))]
)
@pytest.mark.parametrize("affine", ["weight and bias", "weight", "none"])
def test_layer_norm(shape, normalized, affine, dtype):
    """F.layer_norm: the forward and the gradients of the input, the weight and the bias."""
    x = (normal(1, *shape) * 3 + 2).astype(dtype)
    inputs = [x]
    if affine != "none":
        inputs.append((normal(2, *normalized) + 1).astype(dtype))
    if affine == "weight and bias":
        inputs.append(normal(3, *normalized).astype(dtype))

    def ours(*args):
        return tf.layer_norm(args[0], normalized, *args[1:], eps=1e-5)

    def theirs(*args):
        return F.layer_norm(args[0], normalized, *args[1:], eps=1e-5)

    tolerance = 1e-5 if dtype == F32 else 1e-10
    forward_and_backward(
        ours, theirs, inputs, f"layer_norm {shape} over {normalized}, {affine}, {dtype.__name__}",
        rtol=tolerance, atol=tolerance * 10,
    )  # fmt: skip


@pytest.mark.parametrize("options", [{}, {"bias": False}, {"elementwise_affine": False}])
def test_layer_norm_layer(options):
    """nn.LayerNorm: the same parameters (names, shapes, ones and zeros) and results."""
    ours = tf.LayerNorm((3, 4), eps=1e-3, **options)
    theirs = torch.nn.LayerNorm((3, 4), 1e-3, **options)
    ours_state, theirs_state = ours.state_dict(), theirs.state_dict()
    assert list(ours_state) == list(theirs_state), (list(ours_state), list(theirs_state))
    for name, value in theirs_state.items():
        close(ours_state[name], value, f"LayerNorm{options}: initial {name}")
    x = pair(normal(4, 2, 3, 4))
    out = ours(x[0]), theirs(x[1])
    close(*out, f"LayerNorm{options}: forward", atol=1e-5)
    backward_and_compare(ours, theirs, x, out, f"LayerNorm{options}", atol=1e-5)


def test_layer_norm_departure_holds():
    """A normalized_shape that is not the input's last dims: ValueError here, RuntimeError
    in PyTorch (departures.py)."""
    x = normal(6, 2, 3)
    with pytest.raises(RuntimeError):
        F.layer_norm(torch.tensor(x), (2,))
    with pytest.raises(ValueError, match="normalized_shape"):
        tf.layer_norm(Tensor(x), (2,))


# ---------------------------------------------------------------- the MLP and the block
def _copy_into(ours, theirs, names=lambda name: name) -> None:
    """Our parameters into PyTorch's module, under PyTorch's names."""
    state = {names(k): torch.tensor(v) for k, v in ours.state_dict().items()}
    theirs.load_state_dict(state)


def test_mlp_matches_a_composed_torch_mlp():
    """Linear, GELU (tanh), Linear: forward and every gradient."""
    ours = tf.MLP(6, hidden=10, rng=np.random.default_rng(7))
    theirs = torch.nn.Sequential()
    theirs.linear1 = torch.nn.Linear(6, 10)
    theirs.gelu = torch.nn.GELU(approximate="tanh")
    theirs.linear2 = torch.nn.Linear(10, 6)
    _copy_into(ours, theirs)
    x = pair(normal(8, 2, 5, 6))
    out = ours(x[0]), theirs(x[1])
    close(*out, "MLP forward", atol=1e-5)
    backward_and_compare(ours, theirs, x, out, "MLP", atol=1e-5)


def encoder_layer_pair(d_model: int, heads: int, seed: int):
    """Our block and nn.TransformerEncoderLayer(norm_first=True) with the same weights."""
    ours = tf.TransformerBlock(d_model, heads, rng=np.random.default_rng(seed))
    for index, (_, p) in enumerate(ours.named_parameters()):  # non-trivial norms and biases
        p.data = (p.data + normal(seed + index, *p.shape, scale=0.2)).astype(F32)
    theirs = torch.nn.TransformerEncoderLayer(
        d_model, heads, dim_feedforward=4 * d_model, dropout=0.0,
        activation=partial(F.gelu, approximate="tanh"), batch_first=True, norm_first=True,
    )  # fmt: skip
    _copy_into(ours, theirs, lambda name: name.removeprefix("mlp."))
    return ours, theirs


@pytest.mark.parametrize("d_model,heads,length", [(8, 2, 5), (12, 3, 7), (16, 4, 1)])
def test_block_matches_transformer_encoder_layer(d_model, heads, length):
    """Causal pre-norm block: the output and the gradients of the input and every weight."""
    ours, theirs = encoder_layer_pair(d_model, heads, seed=10 + d_model)
    x = pair(normal(11, 3, length, d_model))
    mask = torch.nn.Transformer.generate_square_subsequent_mask(length)
    out = ours(x[0]), theirs(x[1], src_mask=mask, is_causal=True)
    what = f"TransformerBlock({d_model}, {heads}), L={length}"
    close(*out, f"{what}: forward", rtol=1e-4, atol=1e-5)
    backward_and_compare(
        ours, theirs, x, out, what, lambda name: name.removeprefix("mlp."), rtol=1e-4, atol=1e-5
    )


def test_block_causality_in_both():
    """Changing the last positions changes the same outputs in both frameworks, and none
    of the earlier ones."""
    ours, theirs = encoder_layer_pair(8, 2, seed=30)
    x = normal(31, 2, 6, 8)
    mask = torch.nn.Transformer.generate_square_subsequent_mask(6)
    changed = x.copy()
    changed[:, 4:] += 1.0
    for inputs in (x, changed):
        out_ours = ours(Tensor(inputs))
        out_theirs = theirs(torch.tensor(inputs), src_mask=mask, is_causal=True)
        close(out_ours, out_theirs.detach(), "TransformerBlock on shifted inputs", atol=1e-5)
    first = ours(Tensor(x)).data[:, :4]
    np.testing.assert_allclose(ours(Tensor(changed)).data[:, :4], first, rtol=1e-6, atol=1e-6)
