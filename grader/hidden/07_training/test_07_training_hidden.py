"""Hidden tests for module 07 (Training).

Clipping and schedules are checked against float64 NumPy formulas over hypothesis-drawn
inputs; the Trainer against the same classifier trained here in NumPy from weights the test
drew (grader/testing/trainer.py): parameters and reported statistics; checkpoints by
resuming training and comparing with that reference, and bit for bit with a straight run.
Every call runs in the worker; checkpoint files are read back here from the scratch
folder, and every comparison runs here. Nothing the worker reports is believed by itself:
not a model's `parameters()`, not an epoch's statistics.

PYTEST_DONT_REWRITE: failures show the helpers' messages, never this file's source.
"""

import io
import math
import zipfile

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from grader.testing import trainer as trusted
from grader.testing.checks import assert_tensor, pairs
from grader.testing.kit import aids, scratch, student, worker_module
from grader.testing.strategies import arrays, shapes

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
            [trusted.cosine_warmup(b, t, warmup, total, eta_min) for b in (0.1, 0.5)]
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
    expected = [trusted.cosine_warmup(base, 5, 2, 10) for base in (1.0, 0.5)]
    for what, got in (("resumed", resumed.get_last_lr()), ("original", scheduler.get_last_lr())):
        np.testing.assert_allclose(got, expected, rtol=1e-9, err_msg=f"the {what} schedule")
    rates = [group["lr"] for group in other.param_groups]
    np.testing.assert_allclose(rates, expected, rtol=1e-9, err_msg="the restored optimizer's rates")


# ---- 07.3 train_epoch ----
# Every Trainer test builds its classifier in the worker from weights drawn here
# (`trusted.student_classifier`), hands the optimizer its own list of the four parameters,
# and trains the same classifier here: the student's parameters and statistics must match.
def _trained_here(seed, epochs, data, lr=0.1, momentum=0.9, max_grad_norm=None, rates=None):
    """The reference classifier after `epochs` epochs, and each epoch's statistics."""
    model, optimizer = trusted.Classifier.draw(seed), trusted.SGD(lr=lr, momentum=momentum)
    stats = []
    for epoch in range(epochs):
        optimizer.lr = lr if rates is None else rates[epoch]
        stats.append(trusted.train_epoch(model, optimizer, data, max_grad_norm))
    return model, stats


@pytest.mark.task("07.3")
@pytest.mark.points(4)
@pytest.mark.parametrize("max_grad_norm", [None, 0.5], ids=["no-clip", "clip"])
def test_train_epoch_does_exactly_what_the_textbook_loop_does(max_grad_norm):
    x, y = trusted.shuffled_blobs(seed=3)
    expected, epochs = _trained_here(4, 2, trusted.in_order(x, y, 50), max_grad_norm=max_grad_norm)
    model, params = trusted.student_classifier(trusted.Classifier.draw(4))
    optimizer = SGD(params, lr=0.1, momentum=0.9)
    trainer = Trainer(model, optimizer, cross_entropy, max_grad_norm=max_grad_norm, verbose=False)
    for epoch, (loss, accuracy, samples) in enumerate(epochs, start=1):
        stats = trainer.train_epoch(batches(x, y, 50))  # batches of 50, 50 and 20
        trusted.assert_stats(stats, loss, accuracy, samples, f"epoch {epoch}")
    trusted.assert_parameters(params, expected, "after two epochs")


@pytest.mark.task("07.3")
@pytest.mark.points(1)
def test_train_epoch_puts_the_model_in_training_mode():
    # Dropout(1.0) drops every hidden unit while training: only the last bias can learn.
    x, y = trusted.shuffled_blobs(seed=4)
    drawn = trusted.Classifier.draw(5)
    model, params = trusted.student_classifier(drawn, dropout=1.0)
    model.eval()
    trainer = Trainer(model, SGD(params, lr=0.5), cross_entropy, verbose=False)
    stats = trainer.train_epoch(batches(x, y, 40))
    dropped = trusted.Classifier([0 * drawn.params[0], 0 * drawn.params[1], *drawn.params[2:]])
    loss, accuracy, samples = trusted.train_epoch(
        dropped, trusted.SGD(lr=0.5), trusted.in_order(x, y, 40)
    )
    trusted.assert_stats(stats, loss, accuracy, samples, "an epoch started in eval mode")
    expected = trusted.Classifier([*drawn.params[:2], *dropped.params[2:]])
    trusted.assert_parameters(params, expected, "an epoch with Dropout(1.0) while training")


@pytest.mark.task("07.3")
@pytest.mark.points(2)
def test_train_epoch_steps_the_scheduler_counts_epochs_and_reports():
    x, y = trusted.shuffled_blobs(seed=5)
    expected, epochs = _trained_here(
        6, 2, trusted.in_order(x, y, 40), momentum=0.0, rates=[0.1, 0.05]
    )
    model, params = trusted.student_classifier(trusted.Classifier.draw(6))
    optimizer = SGD(params, lr=0.1)
    out = StringIO()  # in the worker, where the Trainer writes to it
    trainer = Trainer(model, optimizer, cross_entropy, StepLR(optimizer, 1, 0.5), out=out)
    for _ in range(2):
        trainer.train_epoch(batches(x, y, 40))
    trusted.assert_parameters(params, expected, "two epochs at rates 0.1 then 0.05")
    assert trainer.epoch == 2, f"epoch: expected 2 after two train_epoch calls, got {trainer.epoch}"
    assert optimizer.param_groups[0]["lr"] == 0.025, "the scheduler was not stepped once per epoch"
    text = out.getvalue()
    assert type(text) is str, "the Trainer's output should be text"
    loss = f"loss {epochs[1][0]:.4f}"
    assert "epoch 2" in text and loss in text and "samples/s" in text, (
        f"the second epoch's line should read 'epoch 2 ... {loss} ... samples/s'; "
        f"got {text[:300]!r}"
    )


@pytest.mark.task("07.3")
@pytest.mark.points(3)
def test_training_reaches_high_accuracy_on_blobs():
    x, y = trusted.shuffled_blobs(n_per_class=60, seed=1)
    drawn = trusted.Classifier.draw(7)
    model, params = trusted.student_classifier(drawn)
    optimizer = Adam(params, lr=0.02)
    trainer = Trainer(
        model, optimizer, cross_entropy, CosineWarmupLR(optimizer, 1, 8), verbose=False
    )
    rng = default_rng(0)
    for _ in range(8):
        trainer.train_epoch(batches(x, y, 20, rng))
    trained = trusted.fetched(params, "the trained parameters")  # judged here, not reported
    loss, right, _ = trained.loss_and_grads(x, y)
    accuracy = right / len(y)
    assert accuracy >= 0.95 and loss < 0.2, f"after 8 epochs: loss {loss:.4f}, accuracy {accuracy}"


# ---- 07.4 evaluate ----
# Recorder (aids.training.Recorder) wraps a model; its `seen` records, for every call,
# whether the output required grad and the mode the inner model ran in (what it says is
# checked only beside the values computed here).
@pytest.mark.task("07.4")
@pytest.mark.points(4)
@pytest.mark.parametrize("start_in_train_mode", [True, False], ids=["from-train", "from-eval"])
def test_evaluate_averages_over_samples_without_a_graph(start_in_train_mode):
    x, y = trusted.shuffled_blobs(seed=6)
    drawn = trusted.Classifier.draw(8)
    inner, params = trusted.student_classifier(drawn, dropout=0.5)
    model = aids.training.Recorder(inner)
    model.train(start_in_train_mode)
    trainer = Trainer(model, SGD(params, lr=0.1), cross_entropy, verbose=False)
    stats = trainer.evaluate(batches(x, y, 50))  # uneven batches: 50, 50, 20
    loss, right, _ = drawn.loss_and_grads(x, y)  # Dropout lets everything through in eval
    trusted.assert_stats(stats, loss, right / len(y), len(y), "evaluate()")
    trusted.assert_parameters(params, drawn, "after evaluate()")
    seen = model.seen
    assert all(not grad for grad, _ in seen), "evaluate() built a graph (use no_grad)"
    assert all(not mode for _, mode in seen), "evaluate() ran the model in training mode"
    assert model.training == start_in_train_mode, "evaluate() did not restore the mode"
    assert all(p.grad is None for p in params), "evaluate() computed gradients"


@pytest.mark.task("07.4")
@pytest.mark.points(2)
def test_evaluate_restores_the_mode_when_the_loss_fails():
    x, y = trusted.shuffled_blobs(seed=7)
    drawn = trusted.Classifier.draw(9)
    model, params = trusted.student_classifier(drawn)
    trainer = Trainer(model, SGD(params, lr=0.1), cross_entropy, verbose=False)
    loss, right, _ = drawn.loss_and_grads(x, y)
    trusted.assert_stats(
        trainer.evaluate(batches(x, y, 50)), loss, right / len(y), len(y), "evaluate()"
    )
    trainer.loss_fn = aids.training.broken_loss  # raises RuntimeError("broken loss")
    with pytest.raises(RuntimeError, match="broken loss"):
        trainer.evaluate(batches(x, y, 50))
    assert model.training, "evaluate() left the model in eval mode after an error"


@pytest.mark.task("07.4")
@pytest.mark.points(1)
def test_evaluate_regression_has_no_accuracy():
    x = np.linspace(-1, 1, 30, dtype=np.float32).reshape(-1, 1)
    weight, bias = np.array([[0.75]], dtype=np.float32), np.array([-0.25], dtype=np.float32)
    model = Linear(1, 1)
    model.weight.data, model.bias.data = weight, bias
    trainer = Trainer(model, SGD([model.weight, model.bias], lr=0.1), mse_loss, verbose=False)
    stats = trainer.evaluate(batches(x, 2 * x, 8))
    expected = np.mean((x.astype(F64) @ weight.T + bias - 2 * x) ** 2)
    trusted.assert_stats(stats, expected, None, 30, "evaluate() of a regression")


# ---- 07.5 checkpoints ----
def _sgd_trainer(seed, dropout=None, max_grad_norm=None):
    """A Trainer of a classifier drawn from `seed`: SGD with momentum and weight decay,
    StepLR(2, 0.5), clipping; and the test's own list of its parameters."""
    model, params = trusted.student_classifier(trusted.Classifier.draw(seed), dropout)
    optimizer = SGD(params, lr=0.1, momentum=0.9, weight_decay=1e-3)
    scheduler = StepLR(optimizer, 2, 0.5)
    trainer = Trainer(model, optimizer, cross_entropy, scheduler, max_grad_norm, verbose=False)
    return trainer, params


def _sgd_reference(seed, epochs, data, max_grad_norm=None):
    model = trusted.Classifier.draw(seed)
    optimizer = trusted.SGD(lr=0.1, momentum=0.9, weight_decay=1e-3)
    for epoch in range(epochs):
        optimizer.lr = 0.1 * 0.5 ** (epoch // 2)
        trusted.train_epoch(model, optimizer, data, max_grad_norm)
    return model


def _make_trainer(seed=0):
    model, params = trusted.student_classifier(trusted.Classifier.draw(seed), dropout=0.25)
    optimizer = Adam(params, lr=0.03, weight_decay=1e-3)
    trainer = Trainer(
        model,
        optimizer,
        cross_entropy,
        CosineWarmupLR(optimizer, 1, 5),
        max_grad_norm=2.0,
        verbose=False,
    )
    return trainer, params


@pytest.mark.task("07.5")
@pytest.mark.points(5)
def test_resume_from_a_checkpoint_is_bit_for_bit():
    x, y = trusted.shuffled_blobs(seed=8)
    folder = scratch()
    # Weights, momentum, schedule and clipping continue: checked against training here.
    first, _ = _sgd_trainer(10, max_grad_norm=1.0)
    for _ in range(3):
        first.train_epoch(batches(x, y, 24))
    first.save_checkpoint(folder.path("sgd.npz"))
    resumed, params = _sgd_trainer(11, max_grad_norm=1.0)
    assert resumed.load_checkpoint(folder.path("sgd.npz")) == 3, "load_checkpoint's epoch"
    for _ in range(2):
        resumed.train_epoch(batches(x, y, 24))
    expected = _sgd_reference(10, 5, trusted.in_order(x, y, 24), max_grad_norm=1.0)
    trusted.assert_parameters(params, expected, "3 epochs + checkpoint + 2 epochs")
    # The generators too (Dropout's, the shuffle's): bit for bit with a straight run.
    straight, straight_params = _make_trainer()
    rng = default_rng(21)
    for _ in range(4):
        straight.train_epoch(batches(x, y, 12, rng))
    half, _ = _make_trainer()
    rng = default_rng(21)
    for _ in range(2):
        half.train_epoch(batches(x, y, 12, rng))
    path = half.save_checkpoint(folder.path("ckpt.npz"), rng=rng)
    resumed, resumed_params = _make_trainer(seed=3)
    rng = default_rng(999)
    epoch = resumed.load_checkpoint(path, rng=rng)
    assert epoch == 2 and resumed.epoch == 2, f"load_checkpoint returned epoch {epoch}, not 2"
    for _ in range(2):
        resumed.train_epoch(batches(x, y, 12, rng))
    names = ["first weight", "first bias", "second weight", "second bias"]
    for name, (a, b) in zip(
        names, pairs(straight_params, resumed_params, 4, "parameters"), strict=True
    ):
        assert np.array_equal(a.data, b.data), (
            f"the {name} differs after resuming from the checkpoint"
        )
    assert resumed.optimizer.param_groups[0]["lr"] == trusted.cosine_warmup(0.03, 4, 1, 5)


def _archive(folder, name):
    """The checkpoint the student's code wrote, opened here (no pickles)."""
    written = folder.read_bytes(name)
    assert zipfile.is_zipfile(io.BytesIO(written)), "a checkpoint should be an .npz (zip) file"
    archive = np.load(io.BytesIO(written), allow_pickle=False)
    return {key: archive[key] for key in archive.files}


@pytest.mark.task("07.5")
@pytest.mark.points(3)
def test_checkpoint_is_a_plain_npz_written_atomically():
    folder = scratch()
    x, y = trusted.shuffled_blobs(seed=9)
    trainer, _ = _sgd_trainer(12)
    trainer.train_epoch(batches(x, y, 30))
    path = save_checkpoint(
        folder.path("c.npz"), trainer.model, trainer.optimizer, trainer.scheduler, 1
    )
    assert folder.names() == ["c.npz"], "temporary files were left"
    try:
        entries = _archive(folder, "c.npz")
    except ValueError:
        raise AssertionError("a checkpoint must not hold object (pickled) arrays") from None
    expected = _sgd_reference(12, 1, trusted.in_order(x, y, 30))
    names = ["model.0.weight", "model.0.bias", "model.2.weight", "model.2.bias", "epoch"]
    missing = [name for name in names if name not in entries]
    assert not missing, f"missing keys {missing}; the file holds {sorted(entries)}"
    for name, values in zip(names, expected.params, strict=False):
        np.testing.assert_allclose(entries[name], values, rtol=1e-4, atol=1e-5, err_msg=name)
    assert entries["epoch"].shape == () and int(entries["epoch"]) == 1, "the saved epoch"
    model, params = trusted.student_classifier(trusted.Classifier.draw(13))
    assert load_checkpoint(path, model) == 1
    trusted.assert_parameters(params, expected, "a model restored by load_checkpoint")


def _saved(folder, name, seed=14, epoch=3):
    """A checkpoint of a classifier drawn from `seed` (model and epoch only)."""
    trainer, _ = _sgd_trainer(seed)
    return save_checkpoint(folder.path(name), trainer.model, epoch=epoch)


def _loads_back(path, seed=14, epoch=3):
    """load_checkpoint restores the saved classifier into another one, and its epoch."""
    model, params = trusted.student_classifier(trusted.Classifier.draw(seed + 1))
    assert load_checkpoint(path, model) == epoch, "load_checkpoint's epoch"
    trusted.assert_parameters(params, trusted.Classifier.draw(seed), "a restored model")


@pytest.mark.task("07.5")
@pytest.mark.points(1)
def test_a_checkpoint_holding_a_pickled_array_is_refused():
    # Unpickling a file runs whatever code it names: a checkpoint must never need it.
    folder = scratch()
    path = _saved(folder, "c.npz")
    _loads_back(path)
    aids.training.with_pickled_entry(path, "epoch")
    with pytest.raises(ValueError):
        load_checkpoint(path, trusted.student_classifier(trusted.Classifier.draw(0))[0])


@pytest.mark.task("07.5")
@pytest.mark.points(1)
def test_save_checkpoint_makes_missing_folders():
    folder = scratch()
    path = _saved(folder, "runs/today/c.npz", epoch=2)
    entries = _archive(folder, "runs/today/c.npz")
    assert int(entries.get("epoch", -1)) == 2, "the checkpoint's epoch"
    _loads_back(path, epoch=2)


@pytest.mark.task("07.5")
@pytest.mark.points(2)
def test_loading_something_else_is_a_clear_error():
    folder = scratch()
    path = _saved(folder, "c.npz")
    _loads_back(path)
    numpy_there.savez(folder.path("other.npz"), weights=np.zeros(3))  # not a checkpoint
    with pytest.raises(ValueError, match="checkpoint"):
        load_checkpoint(folder.path("other.npz"), _model_for_errors())
    with pytest.raises((ValueError, RuntimeError)):
        load_checkpoint(path, Linear(3, 3))
    trainer, _ = _sgd_trainer(15)
    with pytest.raises(ValueError):
        load_checkpoint(path, _model_for_errors(), optimizer=trainer.optimizer)
    with pytest.raises(ValueError, match="generator"):  # saved without one: nothing to restore
        load_checkpoint(path, _model_for_errors(), rng=default_rng(0))


def _model_for_errors():
    return trusted.student_classifier(trusted.Classifier.draw(0))[0]
