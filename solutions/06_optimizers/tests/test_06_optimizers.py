"""Visible tests for module 06 (Optimizers). Run them with `make grade MODULE=06`.

Each test names its task; the hidden tests check the same tasks on many more inputs,
step by step against PyTorch's update rules written in NumPy (float64).
Your code runs in a separate process: `student.optimizers.SGD` is your `SGD` class there.
The base-class tests use `Accumulate`, a toy optimizer in grader/worker/aids/optimizers.py.
"""

import numpy as np
import pytest

from grader.testing.checks import as_array, assert_tensor
from grader.testing.kit import aids, student

Linear = student.layers.Linear
mse_loss = student.losses.mse_loss
SGD, Adam, AdamW = student.optimizers.SGD, student.optimizers.Adam, student.optimizers.AdamW
Tensor = student.tensor.Tensor
Accumulate, Kept = aids.optimizers.Accumulate, aids.layers.Kept


def _param(values, grad):
    """A trainable tensor whose gradient is already set."""
    param = Tensor(values, requires_grad=True)
    param.grad = Tensor(grad)
    return param


@pytest.mark.task("06.1")
@pytest.mark.points(2)
def test_zero_grad_sets_every_gradient_to_none():
    params = [_param([1.0, 2.0], [0.5, 0.5]), _param(3.0, 1.0)]
    Accumulate(params).zero_grad()
    assert all(p.grad is None for p in params), "zero_grad() left a gradient behind"


@pytest.mark.task("06.2")
@pytest.mark.points(3)
def test_state_dict_lets_a_fresh_optimizer_continue_identically():
    first = _param([1.0, -1.0], [0.5, 0.25])
    optimizer = Accumulate([first], lr=0.1)
    optimizer.step()
    saved = Kept.result_of(optimizer, "state_dict")  # the very dict, kept beside your code
    assert all(isinstance(v, np.ndarray) for v in saved.value.values()), (
        "state_dict holds non-arrays"
    )
    # Accumulate subtracts lr * (sum of the gradients so far): after one step p = [0.95,
    # -1.025]; a second step (sum [1.0, 0.5]) takes it to [0.85, -1.075].
    second = _param([0.95, -1.025], [0.5, 0.25])
    resumed = Accumulate([second], lr=0.5)
    saved.pass_to(resumed, "load_state_dict")
    optimizer.step()
    resumed.step()
    assert_tensor(second, np.array([0.85, -1.075]), "parameter after load_state_dict() and a step")
    assert_tensor(first, np.array([0.85, -1.075]), "the saved optimizer's parameter, 2 steps")
    assert resumed.param_groups[0]["lr"] == 0.1, "load_state_dict() did not restore lr"


@pytest.mark.task("06.3")
@pytest.mark.points(2)
def test_sgd_steps_against_the_gradient():
    param = _param([1.0, 2.0], [0.5, -1.0])
    SGD([param], lr=0.1).step()
    assert_tensor(param, np.array([0.95, 2.1]), "p after one SGD step (lr=0.1)")


@pytest.mark.task("06.3")
@pytest.mark.points(2)
def test_sgd_momentum_over_two_steps():
    param = _param([1.0], [1.0])
    optimizer = SGD([param], lr=0.1, momentum=0.9)
    optimizer.step()
    optimizer.step()
    # step 1: b = 1, p = 0.9; step 2: b = 0.9 * 1 + 1 = 1.9, p = 0.9 - 0.19 = 0.71
    assert_tensor(param, np.array([0.71]), "p after two SGD steps with momentum 0.9")


@pytest.mark.task("06.3")
@pytest.mark.points(1)
def test_sgd_rejects_a_negative_learning_rate():
    with pytest.raises(ValueError, match="learning rate"):
        SGD([_param([1.0], [1.0])], lr=-0.1)
    param = _param([1.0], [1.0])
    SGD([param], lr=0.1).step()  # a valid learning rate still works
    assert_tensor(param, np.array([0.9]), "p after one SGD step (lr=0.1)")


@pytest.mark.task("06.4")
@pytest.mark.points(2)
def test_adam_first_step_moves_each_weight_by_about_lr():
    param = _param([1.0, 1.0, 1.0], [1e-3, -5.0, 100.0])
    Adam([param], lr=0.01).step()
    # m_hat = g and v_hat = g * g at step 1, so the step is lr * g / |g| = lr * sign(g).
    assert_tensor(param, np.array([0.99, 1.01, 0.99]), "p after one Adam step", rtol=1e-4)


@pytest.mark.task("06.5")
@pytest.mark.points(2)
def test_adamw_decays_weights_even_without_gradient():
    param = _param([2.0, -4.0], [0.0, 0.0])
    AdamW([param], lr=0.1, weight_decay=0.5).step()
    assert_tensor(param, np.array([1.9, -3.8]), "p after one AdamW step with a zero gradient")


@pytest.mark.task("06.4")
@pytest.mark.points(2)
def test_adam_trains_a_linear_regression():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 3)).astype(np.float32)
    y = x @ np.array([[1.0], [-2.0], [0.5]], dtype=np.float32) + 0.3
    model = Linear(3, 1)
    model.weight.data = np.array([[0.1, 0.2, -0.3]], dtype=np.float32)  # the test's weights
    model.bias.data = np.array([0.0], dtype=np.float32)
    optimizer = Adam([model.weight, model.bias], lr=0.1)
    inputs, targets = Tensor(x), Tensor(y)
    for _ in range(150):
        optimizer.zero_grad()
        loss = mse_loss(model(inputs), targets)
        loss.backward()
        optimizer.step()
    # Judged here, from the trained weights (the loss your code reports is not believed).
    weight, bias = as_array(model.weight, "weight"), as_array(model.bias, "bias")
    loss = np.mean((x @ weight.T.astype(np.float64) + bias - y) ** 2)
    assert loss < 1e-3, f"the loss is still {loss:.4f} after 150 Adam steps"
