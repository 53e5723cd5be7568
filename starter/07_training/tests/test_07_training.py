"""Visible tests for module 07 (Training). Run them with `make grade MODULE=07`.

Each test names its task; the hidden tests check the same tasks on many more inputs.
Your code runs in a separate process: `student.training.Trainer` is your `Trainer` there.
The tests build a small classifier there from your layers with weights they drew
(`student_classifier`), train the same classifier here in NumPy (grader/testing/trainer.py),
and compare your parameters and your reported loss and accuracy with the ones computed here.
"""

import math

import numpy as np
import pytest

from grader.testing import trainer as trusted
from grader.testing.checks import assert_tensor
from grader.testing.kit import scratch, student

cross_entropy = student.losses.cross_entropy
SGD = student.optimizers.SGD
Tensor = student.tensor.Tensor
training = student.training
CosineWarmupLR, StepLR, Trainer = training.CosineWarmupLR, training.StepLR, training.Trainer
batches, clip_grad_norm_ = training.batches, training.clip_grad_norm_


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
    x, y = trusted.shuffled_blobs()
    expected = trusted.Classifier.draw(seed=0)  # Linear(2, 16), ReLU, Linear(16, 3)
    model, params = trusted.student_classifier(expected)
    trainer = Trainer(model, SGD(params, lr=0.1, momentum=0.9), cross_entropy, verbose=False)
    optimizer = trusted.SGD(lr=0.1, momentum=0.9)
    for epoch in range(1, 5):
        stats = trainer.train_epoch(batches(x, y, 16))
        loss, accuracy, samples = trusted.train_epoch(
            expected, optimizer, trusted.in_order(x, y, 16)
        )
        trusted.assert_stats(stats, loss, accuracy, samples, f"epoch {epoch}")
    trusted.assert_parameters(params, expected, "after 4 epochs of SGD")
    assert trainer.epoch == 4, f"trainer.epoch is {trainer.epoch} after 4 epochs"
    assert stats.samples_per_second > 0


@pytest.mark.task("07.4")
@pytest.mark.points(2)
def test_evaluate_changes_nothing_and_restores_training_mode():
    x, y = trusted.shuffled_blobs()
    expected = trusted.Classifier.draw(seed=1)
    model, params = trusted.student_classifier(expected, dropout=0.5)
    trainer = Trainer(model, SGD(params, lr=0.1), cross_entropy, verbose=False)
    loss, right, _ = expected.loss_and_grads(x, y)  # Dropout lets everything through in eval
    for call in ("first", "second"):
        stats = trainer.evaluate(batches(x, y, 50))
        trusted.assert_stats(stats, loss, right / len(y), len(y), f"the {call} evaluate()")
    trusted.assert_parameters(params, expected, "after evaluate()")
    assert model.training, "evaluate() should put the model back in training mode"
    assert all(p.grad is None for p in params), "evaluate() computed gradients"


@pytest.mark.task("07.5")
@pytest.mark.points(4)
def test_checkpoint_resume_continues_the_run():
    x, y = trusted.shuffled_blobs()
    data = trusted.in_order(x, y, 16)
    folder = scratch()  # a folder your code may write

    def make(seed):
        model, params = trusted.student_classifier(trusted.Classifier.draw(seed))
        optimizer = SGD(params, lr=0.1, momentum=0.9)
        return Trainer(model, optimizer, cross_entropy, CosineWarmupLR(optimizer, 1, 4)), params

    first, _ = make(seed=2)
    for _ in range(2):
        first.train_epoch(batches(x, y, 16))
    first.save_checkpoint(folder.path("run.npz"))
    resumed, params = make(seed=3)  # other weights: the checkpoint must replace them
    assert resumed.load_checkpoint(folder.path("run.npz")) == 2
    for _ in range(2):
        resumed.train_epoch(batches(x, y, 16))
    # The same 4 epochs straight through, here: weights, momentum and schedule continue.
    expected, optimizer = trusted.Classifier.draw(seed=2), trusted.SGD(lr=0.1, momentum=0.9)
    for epoch in range(4):
        optimizer.lr = trusted.cosine_warmup(0.1, epoch, warmup=1, total=4)
        trusted.train_epoch(expected, optimizer, data)
    trusted.assert_parameters(params, expected, "2 epochs + checkpoint + 2 epochs")
