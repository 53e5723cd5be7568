"""Visible tests for module 07 (Training). Run them with `make grade MODULE=07`.

Each test names its task; the hidden tests check the same tasks on many more inputs.
Your code runs in a separate process: `student.training.Trainer` is your `Trainer` there,
the random generators handed to it live there too (`default_rng` below), and the model is
built there by `blob_classifier` (grader/worker/aids/training.py).
"""

import math

import numpy as np
import pytest

from grader.testing.checks import assert_tensor
from grader.testing.data import blobs
from grader.testing.kit import aids, scratch, student, worker_module

cross_entropy = student.losses.cross_entropy
SGD, Adam = student.optimizers.SGD, student.optimizers.Adam
Tensor = student.tensor.Tensor
training = student.training
CosineWarmupLR, StepLR, Trainer = training.CosineWarmupLR, training.StepLR, training.Trainer
batches, clip_grad_norm_ = training.batches, training.clip_grad_norm_
default_rng = worker_module("numpy.random").default_rng
_model = aids.training.blob_classifier  # Linear(2, 16), ReLU, Dropout, Linear(16, 3)


@pytest.mark.task("07.1")
@pytest.mark.points(2)
def test_clip_grad_norm_scales_down_and_returns_the_norm():
    w = Tensor([0.0, 0.0], requires_grad=True)
    w.grad = Tensor([3.0, 4.0])
    total = clip_grad_norm_([w], max_norm=1.0)
    assert math.isclose(float(total.item()), 5.0, rel_tol=1e-6), "the total norm of [3, 4] is 5"
    assert_tensor(w.grad, np.array([0.6, 0.8]), "the gradient clipped to norm 1", rtol=1e-5)


@pytest.mark.task("07.2")
@pytest.mark.points(2)
def test_step_lr_divides_by_ten_every_two_steps():
    optimizer = SGD([Tensor([1.0], requires_grad=True)], lr=1.0)
    scheduler = StepLR(optimizer, step_size=2, gamma=0.1)
    seen = []
    for _ in range(5):
        seen.append(optimizer.param_groups[0]["lr"])
        scheduler.step()
    np.testing.assert_allclose(seen, [1.0, 1.0, 0.1, 0.1, 0.01], err_msg="StepLR learning rates")


@pytest.mark.task("07.2")
@pytest.mark.points(2)
def test_cosine_warmup_rises_then_falls_to_eta_min():
    optimizer = SGD([Tensor([1.0], requires_grad=True)], lr=1.0)
    scheduler = CosineWarmupLR(optimizer, warmup_steps=2, total_steps=6, eta_min=0.0)
    seen = []
    for _ in range(7):
        seen.append(optimizer.param_groups[0]["lr"])
        scheduler.step()
    expected = [0.5, 1.0, 1.0, 0.5 * (1 + math.cos(math.pi / 4)), 0.5, 0.5 * (1 - 0.5**0.5), 0.0]
    np.testing.assert_allclose(seen, expected, atol=1e-12, err_msg="CosineWarmupLR rates")


@pytest.mark.task("07.3")
@pytest.mark.points(3)
def test_train_epoch_learns_and_reports_loss_accuracy_and_speed():
    x, y = blobs()
    model = _model()
    trainer = Trainer(model, SGD(model.parameters(), lr=0.1, momentum=0.9), cross_entropy)
    first = trainer.train_epoch(batches(x, y, 16, default_rng(0)))
    for _ in range(3):
        last = trainer.train_epoch(batches(x, y, 16, default_rng(1)))
    assert first.samples == 120 and trainer.epoch == 4, "wrong sample or epoch count"
    first_loss, last_loss = first.loss, last.loss
    assert last_loss < first_loss and last_loss < 0.2, f"the loss went {first_loss} -> {last_loss}"
    assert last.accuracy > 0.9 and last.samples_per_second > 0


@pytest.mark.task("07.4")
@pytest.mark.points(2)
def test_evaluate_changes_nothing_and_restores_training_mode():
    x, y = blobs()
    model = _model(dropout=0.5)
    before = [p.data for p in model.parameters()]
    trainer = Trainer(model, SGD(model.parameters(), lr=0.1), cross_entropy, verbose=False)
    first = trainer.evaluate(batches(x, y, 50))
    second = trainer.evaluate(batches(x, y, 50))
    assert first.loss == second.loss, "evaluation is not deterministic: is Dropout still on?"
    assert model.training, "evaluate() should put the model back in training mode"
    assert all(np.array_equal(b, p.data) for b, p in zip(before, model.parameters(), strict=True))
    assert all(p.grad is None for p in model.parameters()), "evaluate() computed gradients"


@pytest.mark.task("07.5")
@pytest.mark.points(4)
def test_checkpoint_resume_is_bit_for_bit():
    x, y = blobs()
    folder = scratch()  # a folder your code may write

    def make():
        model = _model(dropout=0.2)
        optimizer = Adam(model.parameters(), lr=0.02)
        return Trainer(model, optimizer, cross_entropy, CosineWarmupLR(optimizer, 1, 4))

    straight, rng = make(), default_rng(11)
    for _ in range(4):
        straight.train_epoch(batches(x, y, 16, rng))
    resumed, rng = make(), default_rng(11)
    for _ in range(2):
        resumed.train_epoch(batches(x, y, 16, rng))
    resumed.save_checkpoint(folder.path("run.npz"), rng=rng)
    resumed, rng = make(), default_rng(0)
    assert resumed.load_checkpoint(folder.path("run.npz"), rng=rng) == 2
    for _ in range(2):
        resumed.train_epoch(batches(x, y, 16, rng))
    for a, b in zip(straight.model.parameters(), resumed.model.parameters(), strict=True):
        assert np.array_equal(a.data, b.data), "2 epochs + checkpoint + 2 epochs != 4 epochs"
