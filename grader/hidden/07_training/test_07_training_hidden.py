"""Hidden tests for module 07 (Training).

Clipping and schedules are checked against float64 NumPy formulas over hypothesis-drawn
inputs; the Trainer against a training loop written out here; checkpoints by resuming
training and comparing every parameter bit for bit. Every call runs in the worker (with the
generators handed to it, made there by `default_rng`); checkpoint files are read back here
from the scratch folder, and every comparison runs here.

PYTEST_DONT_REWRITE: failures show the helpers' messages, never this file's source.
"""

import io
import math
import zipfile

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from grader.testing.checks import assert_tensor
from grader.testing.data import blobs as _blobs
from grader.testing.kit import aids, scratch, student, worker_module
from grader.testing.reference import log_softmax
from grader.testing.strategies import arrays, shapes

no_grad = student.autograd.no_grad
Linear = student.layers.Linear
cross_entropy, mse_loss = student.losses.cross_entropy, student.losses.mse_loss
SGD, Adam = student.optimizers.SGD, student.optimizers.Adam
Tensor = student.tensor.Tensor
training = student.training
CosineWarmupLR, StepLR, Trainer = training.CosineWarmupLR, training.StepLR, training.Trainer
batches, clip_grad_norm_ = training.batches, training.clip_grad_norm_
load_checkpoint, save_checkpoint = training.load_checkpoint, training.save_checkpoint
Kept = aids.layers.Kept
default_rng = worker_module("numpy.random").default_rng
StringIO = worker_module("io").StringIO
numpy_there = worker_module("numpy")
length = worker_module("builtins").len  # len() there (a batch of targets)
_model = aids.training.blob_classifier  # (dropout=0.0, seed=0): Linear, ReLU, Dropout, Linear

F64 = np.float64


# ---- 07.1 clip_grad_norm_ ----
@st.composite
def gradient_sets(draw):
    return [draw(arrays(shapes(max_dims=3), -5, 5)) for _ in range(draw(st.integers(1, 4)))]


@pytest.mark.task("07.1")
@pytest.mark.points(5)
@given(
    grads=gradient_sets(),
    max_norm=st.sampled_from([0.01, 0.5, 1.0, 10.0, 1e3]),
    norm_type=st.sampled_from([1.0, 2.0, 3.0, math.inf]),
)
def test_clip_grad_norm_matches_the_formula(grads, max_norm, norm_type):
    params = []
    for g in grads:
        param = Tensor(np.zeros_like(g), requires_grad=True)
        param.grad = Tensor(g.copy())
        params.append(param)
    idle = Tensor([1.0], requires_grad=True)
    flat = np.concatenate([g.astype(F64).reshape(-1) for g in grads])
    expected_total = (
        np.max(np.abs(flat), initial=0.0)
        if norm_type == math.inf
        else np.sum(np.abs(flat) ** norm_type) ** (1 / norm_type)
    )
    total = clip_grad_norm_([*params, idle], max_norm=max_norm, norm_type=norm_type)
    what = f"clip_grad_norm_(max_norm={max_norm}, norm_type={norm_type})"
    assert_tensor(total, np.array(expected_total), f"{what}: the total norm", rtol=1e-5, atol=1e-6)
    scale = min(1.0, max_norm / (expected_total + 1e-6))
    for index, (param, g) in enumerate(zip(params, grads, strict=True)):
        assert_tensor(
            param.grad, g.astype(F64) * scale, f"{what}: gradient {index}", rtol=1e-5, atol=1e-6
        )
    assert idle.grad is None, "a parameter without gradient got one"


@pytest.mark.task("07.1")
@pytest.mark.points(1)
def test_clip_grad_norm_accepts_a_single_tensor_and_keeps_the_grad_object():
    w = Tensor([0.0, 0.0, 0.0], requires_grad=True)
    w.grad = Tensor([2.0, -2.0, 1.0])
    grad = w.grad
    total = clip_grad_norm_(w, max_norm=1.5)
    assert_tensor(total, np.array(3.0), "the total norm of [2, -2, 1]")
    assert w.grad is grad, "clip_grad_norm_ should scale .grad in place, not replace it"
    assert_tensor(w.grad, np.array([1.0, -1.0, 0.5]), "the clipped gradient", rtol=1e-5)


@pytest.mark.task("07.1")
@pytest.mark.points(1)
def test_clip_grad_norm_with_a_nan_gradient_makes_every_gradient_nan_like_pytorch():
    w = Tensor([0.0, 0.0, 0.0], requires_grad=True)
    w.grad = Tensor([1.0, np.nan, 2.0])
    v = Tensor([0.0], requires_grad=True)
    v.grad = Tensor([3.0])
    total = clip_grad_norm_([w, v], max_norm=1.0)
    assert_tensor(total, np.array(np.nan), "the total norm with a NaN gradient")
    assert_tensor(w.grad, np.full(3, np.nan), "a gradient clipped by a NaN norm")
    assert_tensor(v.grad, np.array([np.nan]), "another gradient clipped by a NaN norm")


@pytest.mark.task("07.1")
@pytest.mark.points(1)
def test_clip_grad_norm_of_tiny_gradients_adds_its_epsilon():
    # PyTorch divides by (total + 1e-6): with a total of 2e-6 the scale is 1/3, not 1/2.
    w = Tensor([0.0, 0.0], requires_grad=True)
    w.grad = Tensor(np.array([2e-6, 0.0]))
    total = clip_grad_norm_(w, max_norm=1e-6)
    assert_tensor(total, np.array(2e-6), "the total norm of [2e-6, 0]", rtol=1e-5, atol=0)
    expected = np.array([2e-6 * 1e-6 / 3e-6, 0.0])
    assert_tensor(w.grad, expected, "gradient clipped to 1e-6", rtol=1e-4, atol=0)


# ---- 07.2 schedules ----
def _rates(scheduler, optimizer, steps):
    seen = []
    for _ in range(steps):
        seen.append([group["lr"] for group in optimizer.param_groups])
        scheduler.step()
    return np.array(seen)


def _two_group_sgd(lr_a, lr_b):
    a, b = Tensor([1.0], requires_grad=True), Tensor([2.0], requires_grad=True)
    return SGD([{"params": [a]}, {"params": [b], "lr": lr_b}], lr=lr_a)


@pytest.mark.task("07.2")
@pytest.mark.points(3)
@given(step_size=st.integers(1, 5), gamma=st.sampled_from([0.1, 0.5, 0.9, 2.0]))
def test_step_lr_matches_the_closed_form_for_every_group(step_size, gamma):
    optimizer = _two_group_sgd(0.3, 0.05)
    seen = _rates(StepLR(optimizer, step_size, gamma), optimizer, 12)
    expected = np.array([[lr * gamma ** (t // step_size) for lr in (0.3, 0.05)] for t in range(12)])
    np.testing.assert_allclose(
        seen, expected, rtol=1e-12, err_msg=f"StepLR(step_size={step_size}, gamma={gamma})"
    )


def _cosine_warmup(base, t, warmup, total, eta_min):
    if t < warmup:
        return base * (t + 1) / warmup
    if t >= total:
        return eta_min
    return (
        eta_min + (base - eta_min) * (1 + math.cos(math.pi * (t - warmup) / (total - warmup))) / 2
    )


@pytest.mark.task("07.2")
@pytest.mark.points(4)
@given(
    warmup=st.integers(0, 5),
    extra=st.integers(1, 10),
    eta_min=st.sampled_from([0.0, 1e-4, 0.01]),
)
def test_cosine_warmup_matches_the_closed_form(warmup, extra, eta_min):
    total = warmup + extra
    optimizer = _two_group_sgd(0.1, 0.5)
    seen = _rates(CosineWarmupLR(optimizer, warmup, total, eta_min), optimizer, total + 3)
    expected = np.array(
        [
            [_cosine_warmup(b, t, warmup, total, eta_min) for b in (0.1, 0.5)]
            for t in range(total + 3)
        ]
    )
    np.testing.assert_allclose(
        seen,
        expected,
        rtol=1e-9,
        atol=1e-12,
        err_msg=f"CosineWarmupLR(warmup_steps={warmup}, total_steps={total}, eta_min={eta_min})",
    )


@pytest.mark.task("07.2")
@pytest.mark.points(2)
def test_scheduler_state_round_trip_continues_the_schedule():
    optimizer = _two_group_sgd(1.0, 0.5)
    scheduler = CosineWarmupLR(optimizer, 2, 10)
    for _ in range(4):
        scheduler.step()
    saved_optimizer = Kept.result_of(optimizer, "state_dict")  # the very dicts, kept there
    saved = Kept.result_of(scheduler, "state_dict")
    other = _two_group_sgd(1.0, 0.5)
    resumed = CosineWarmupLR(other, 2, 10)
    saved_optimizer.pass_to(other, "load_state_dict")
    saved.pass_to(resumed, "load_state_dict")
    scheduler.step()
    resumed.step()
    assert resumed.get_last_lr() == scheduler.get_last_lr(), "the schedule did not resume"


# ---- 07.3 train_epoch ----
def _manual_epoch(model, optimizer, data, max_grad_norm=None):
    """The training loop written out, the reference for Trainer.train_epoch.

    Returns the epoch's mean loss per sample and its accuracy.
    """
    model.train()
    loss_sum, correct, count = 0.0, 0, 0
    for inputs, targets in data:
        optimizer.zero_grad()
        outputs = model(inputs)
        loss = cross_entropy(outputs, targets)
        loss.backward()
        if max_grad_norm is not None:
            grads = [p.grad for p in model.parameters()]
            arrays = [g.data for g in grads]
            total = math.sqrt(sum(float(np.sum(a.astype(F64) ** 2)) for a in arrays))
            if total > max_grad_norm:
                for grad, array in zip(grads, arrays, strict=True):
                    array *= max_grad_norm / (total + 1e-6)
                    grad.data = array
        optimizer.step()
        loss_sum += loss.item() * length(targets)
        correct += int(np.sum(outputs.data.argmax(axis=1) == targets.data))
        count += length(targets)
    return loss_sum / count, correct / count


@pytest.mark.task("07.3")
@pytest.mark.points(4)
@pytest.mark.parametrize("max_grad_norm", [None, 0.5], ids=["no-clip", "clip"])
def test_train_epoch_does_exactly_what_the_textbook_loop_does(max_grad_norm):
    x, y = _blobs()
    mine, reference = _model(dropout=0.3), _model(dropout=0.3)
    opt_mine = SGD(mine.parameters(), lr=0.1, momentum=0.9)
    opt_ref = SGD(reference.parameters(), lr=0.1, momentum=0.9)
    mine.eval()
    trainer = Trainer(mine, opt_mine, cross_entropy, max_grad_norm=max_grad_norm, verbose=False)
    for seed in range(2):
        stats = trainer.train_epoch(batches(x, y, 50, default_rng(seed)))
        data = batches(x, y, 50, default_rng(seed))  # batches of 50, 50 and 20
        loss, accuracy = _manual_epoch(reference, opt_ref, data, max_grad_norm)
        what = f"epoch {seed + 1}"
        assert math.isclose(stats.loss, loss, rel_tol=1e-5), (
            f"{what}: mean loss {stats.loss}, expected {loss}"
        )
        assert math.isclose(stats.accuracy, accuracy), (
            f"{what}: accuracy {stats.accuracy}, expected {accuracy}"
        )
        assert stats.samples == 120, f"{what}: {stats.samples} samples counted, expected 120"
    for index, (a, b) in enumerate(zip(mine.parameters(), reference.parameters(), strict=True)):
        assert_tensor(a, b.data, f"parameter {index} after two epochs", rtol=1e-5, atol=1e-6)


@pytest.mark.task("07.3")
@pytest.mark.points(2)
def test_train_epoch_steps_the_scheduler_counts_epochs_and_reports():
    x, y = _blobs()
    model = _model()
    optimizer = SGD(model.parameters(), lr=0.1)
    out = StringIO()  # in the worker, where the Trainer writes to it
    trainer = Trainer(model, optimizer, cross_entropy, StepLR(optimizer, 1, 0.5), out=out)
    for _ in range(2):
        trainer.train_epoch(batches(x, y, 40))
    assert trainer.epoch == 2, f"epoch: expected 2 after two train_epoch calls, got {trainer.epoch}"
    assert optimizer.param_groups[0]["lr"] == 0.025, "the scheduler was not stepped once per epoch"
    text = out.getvalue()
    assert "epoch 2" in text and "samples/s" in text and "accuracy" in text, text


@pytest.mark.task("07.3")
@pytest.mark.points(3)
def test_training_reaches_high_accuracy_on_blobs():
    x, y = _blobs(n_per_class=60, seed=1)
    model = _model()
    optimizer = Adam(model.parameters(), lr=0.02)
    trainer = Trainer(
        model, optimizer, cross_entropy, CosineWarmupLR(optimizer, 1, 8), verbose=False
    )
    rng = default_rng(0)
    for _ in range(8):
        stats = trainer.train_epoch(batches(x, y, 20, rng))
    accuracy, loss = stats.accuracy, stats.loss
    assert accuracy >= 0.95 and loss < 0.2, f"after 8 epochs: loss {loss}, accuracy {accuracy}"


# ---- 07.4 evaluate ----
# Recorder (aids.training.Recorder) wraps a model; its `seen` records, for every call,
# whether the output required grad and the mode the inner model ran in.
def _reference_eval(model, x, y):
    """Mean cross-entropy and accuracy of `model` on all of x, computed in float64."""
    with no_grad():
        model.eval()
        logits = model(Tensor(x)).data.astype(F64)
        model.train()
    log_probs = log_softmax(logits, dim=1)
    return -log_probs[np.arange(len(y)), y].mean(), float(np.mean(logits.argmax(axis=1) == y))


@pytest.mark.task("07.4")
@pytest.mark.points(4)
@pytest.mark.parametrize("start_in_train_mode", [True, False], ids=["from-train", "from-eval"])
def test_evaluate_averages_over_samples_without_a_graph(start_in_train_mode):
    x, y = _blobs()
    model = aids.training.Recorder(_model(dropout=0.5))
    model.train(start_in_train_mode)
    trainer = Trainer(model, SGD(model.parameters(), lr=0.1), cross_entropy, verbose=False)
    stats = trainer.evaluate(batches(x, y, 50))  # uneven batches: 50, 50, 20
    seen = model.seen
    loss, accuracy = _reference_eval(model.inner, x, y)
    got_loss, got_accuracy = stats.loss, stats.accuracy
    assert math.isclose(got_loss, loss, rel_tol=1e-5), f"mean loss {got_loss}, expected {loss}"
    assert math.isclose(got_accuracy, accuracy), f"accuracy {got_accuracy}, expected {accuracy}"
    assert stats.samples == 120
    assert all(not grad for grad, _ in seen), "evaluate() built a graph (use no_grad)"
    assert all(not mode for _, mode in seen), "evaluate() ran the model in training mode"
    assert model.training == start_in_train_mode, "evaluate() did not restore the mode"
    assert all(p.grad is None for p in model.parameters())


@pytest.mark.task("07.4")
@pytest.mark.points(2)
def test_evaluate_restores_the_mode_when_the_loss_fails():
    x, y = _blobs()
    model = _model()
    broken_loss = aids.training.broken_loss  # raises RuntimeError("broken loss")
    trainer = Trainer(model, SGD(model.parameters(), lr=0.1), broken_loss, verbose=False)
    with pytest.raises(RuntimeError, match="broken loss"):
        trainer.evaluate(batches(x, y, 50))
    assert model.training, "evaluate() left the model in eval mode after an error"


@pytest.mark.task("07.4")
@pytest.mark.points(1)
def test_evaluate_regression_has_no_accuracy():
    x = np.linspace(-1, 1, 30, dtype=np.float32).reshape(-1, 1)
    model = Linear(1, 1, rng=default_rng(0))
    trainer = Trainer(model, SGD(model.parameters(), lr=0.1), mse_loss, verbose=False)
    stats = trainer.evaluate(batches(x, 2 * x, 8))
    expected = np.mean((x @ model.weight.data.T + model.bias.data - 2 * x).astype(F64) ** 2)
    assert stats.accuracy is None and math.isclose(stats.loss, expected, rel_tol=1e-5)


# ---- 07.5 checkpoints ----
def _make_trainer(seed=0):
    model = _model(dropout=0.25, seed=seed)
    optimizer = Adam(model.parameters(), lr=0.03, weight_decay=1e-3)
    return Trainer(
        model,
        optimizer,
        cross_entropy,
        CosineWarmupLR(optimizer, 1, 5),
        max_grad_norm=2.0,
        verbose=False,
    )


@pytest.mark.task("07.5")
@pytest.mark.points(5)
def test_resume_from_a_checkpoint_is_bit_for_bit():
    x, y = _blobs()
    folder = scratch()
    straight, rng = _make_trainer(), default_rng(21)
    for _ in range(4):
        straight.train_epoch(batches(x, y, 12, rng))
    first, rng = _make_trainer(), default_rng(21)
    for _ in range(2):
        first.train_epoch(batches(x, y, 12, rng))
    path = first.save_checkpoint(folder.path("ckpt.npz"), rng=rng)
    resumed, rng = _make_trainer(seed=3), default_rng(999)
    epoch = resumed.load_checkpoint(path, rng=rng)
    assert epoch == 2 and resumed.epoch == 2, f"load_checkpoint returned epoch {epoch}, not 2"
    for _ in range(2):
        resumed.train_epoch(batches(x, y, 12, rng))
    names = [n for n, _ in straight.model.named_parameters()]
    for name, a, b in zip(
        names, straight.model.parameters(), resumed.model.parameters(), strict=True
    ):
        assert np.array_equal(a.data, b.data), f"{name} differs after resuming from the checkpoint"
    assert resumed.optimizer.param_groups[0]["lr"] == straight.optimizer.param_groups[0]["lr"]


@pytest.mark.task("07.5")
@pytest.mark.points(3)
def test_checkpoint_is_a_plain_npz_written_atomically():
    folder = scratch()
    trainer = _make_trainer()
    x, y = _blobs()
    trainer.train_epoch(batches(x, y, 30, default_rng(0)))
    path = save_checkpoint(
        folder.path("c.npz"), trainer.model, trainer.optimizer, trainer.scheduler, 1
    )
    assert folder.names() == ["c.npz"], "temporary files were left"
    written = folder.read_bytes("c.npz")
    assert zipfile.is_zipfile(io.BytesIO(written)), "a checkpoint should be an .npz (zip) file"
    with np.load(io.BytesIO(written), allow_pickle=False) as archive:
        kinds = {archive[k].dtype.kind for k in archive.files}
        keys = set(archive.files)
    assert "O" not in kinds, "a checkpoint must not hold object (pickled) arrays"
    assert {"model.0.weight", "epoch"} <= keys, f"missing keys; the file holds {sorted(keys)}"
    model = _model(seed=9)
    assert load_checkpoint(path, model) == 1
    for a, b in zip(trainer.model.parameters(), model.parameters(), strict=True):
        assert np.array_equal(a.data, b.data), "load_checkpoint did not restore the model"


@pytest.mark.task("07.5")
@pytest.mark.points(1)
def test_a_checkpoint_holding_a_pickled_array_is_refused():
    # Unpickling a file runs whatever code it names: a checkpoint must never need it.
    folder = scratch()
    trainer = _make_trainer()
    path = save_checkpoint(folder.path("c.npz"), trainer.model, epoch=3)
    aids.training.with_pickled_entry(path, "epoch")
    with pytest.raises(ValueError):
        load_checkpoint(path, _model())


@pytest.mark.task("07.5")
@pytest.mark.points(1)
def test_save_checkpoint_makes_missing_folders():
    folder = scratch()
    trainer = _make_trainer()
    path = save_checkpoint(folder.path("runs/today/c.npz"), trainer.model, epoch=2)
    assert load_checkpoint(path, _model()) == 2


@pytest.mark.task("07.5")
@pytest.mark.points(2)
def test_loading_something_else_is_a_clear_error():
    folder = scratch()
    numpy_there.savez(folder.path("other.npz"), weights=np.zeros(3))  # not a checkpoint
    with pytest.raises(ValueError, match="checkpoint"):
        load_checkpoint(folder.path("other.npz"), _model())
    trainer = _make_trainer()
    path = save_checkpoint(folder.path("c.npz"), trainer.model)
    with pytest.raises((ValueError, RuntimeError)):
        load_checkpoint(path, Linear(3, 3))
    with pytest.raises(ValueError):
        load_checkpoint(path, _model(), optimizer=trainer.optimizer)
