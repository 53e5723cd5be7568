"""Hidden tests for module 18 (compression).

Every expected value is recomputed here in float64 NumPy from data the test owns: masks
from weights whose magnitudes the test chose, the training of pruned layers step by step
(SGD with momentum and weight decay, Adam, the Trainer; optimizers built before the
pruning, so their momentum reaches the pruned entries), exact counts and bytes, the best
low-rank approximation from the test's own SVD, and the distillation loss with its
gradient. Accuracy is computed here from the logits of the student's model. Every call
on the student's code runs in the worker.

PYTEST_DONT_REWRITE: failures show the helpers' messages, never this file's source.
"""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from grader.testing import trainer as trusted
from grader.testing.checks import as_array, assert_array, assert_tensor, items
from grader.testing.data import blobs
from grader.testing.kit import student, worker_rng
from grader.testing.reference import log_softmax

compression = student.compression
layers = student.layers
Linear, ReLU, Sequential = layers.Linear, layers.ReLU, layers.Sequential
Tensor = student.tensor.Tensor
SGD, Adam = student.optimizers.SGD, student.optimizers.Adam
Trainer, batches = student.training.Trainer, student.training.batches
cross_entropy = student.losses.cross_entropy

F64 = np.float64


def _distinct(shape, seed, scale=1.0):
    """float32 values whose magnitudes all differ (no ties), random signs."""
    rng = np.random.default_rng(seed)
    size = math.prod(shape)
    magnitudes = (rng.permutation(size) + 1.0) / size + rng.uniform(0, 0.1 / size, size)
    return (scale * magnitudes * rng.choice([-1.0, 1.0], size)).reshape(shape).astype(np.float32)


def _smallest_mask(values, count):
    """1 everywhere but at the `count` entries of smallest magnitude (ties: flat order)."""
    flat = np.abs(np.asarray(values, F64)).ravel()
    keep = np.ones(flat.size)
    keep[sorted(range(flat.size), key=lambda i: (flat[i], i))[:count]] = 0
    return keep.reshape(np.shape(values))


def _channel_reference(values, count, n, dim):
    rows = np.moveaxis(np.asarray(values, F64), dim, 0)
    flat = rows.reshape(rows.shape[0], -1)
    norms = np.max(np.abs(flat), axis=1) if n == np.inf else np.sum(np.abs(flat) ** n, 1) ** (1 / n)
    keep = np.ones(rows.shape)
    for index in sorted(range(len(norms)), key=lambda i: (norms[i], i))[:count]:
        keep[index] = 0
    return np.moveaxis(keep, 0, dim)


def _drawn(shape, seed):
    """A generator, distinct weights, a bias, and the student's Linear holding them."""
    rng = np.random.default_rng(seed)
    weight, bias = _distinct(shape, seed), rng.standard_normal(shape[0]).astype(np.float32)
    return rng, weight, bias, _layer(weight, bias)


def _layer(weight, bias=None, seed=0):
    out_features, in_features = weight.shape
    layer = Linear(in_features, out_features, bias=bias is not None, rng=worker_rng(seed))
    layer.weight.data = weight.astype(np.float32)
    if bias is not None:
        layer.bias.data = bias.astype(np.float32)
    return layer


# ---- 18.1 masks ----
@pytest.mark.task("18.1")
@pytest.mark.points(1)
@pytest.mark.parametrize(
    "shape,amount,count",
    [((10,), 0.25, 2), ((10,), 0.35, 4), ((4, 6), 0.5, 12), ((3, 4, 5), 17, 17),
     ((7, 3), 20, 20), ((2, 3), 0.7, 4)],
)  # fmt: skip
def test_magnitude_mask_zeroes_the_smallest_entries(shape, amount, count):
    weight = _distinct(shape, seed=len(shape) * 10 + count)
    mask = compression.magnitude_mask(weight, amount)
    expected = _smallest_mask(weight, count)
    assert_array(mask, expected, f"magnitude_mask of a {shape} weight, amount={amount!r}", atol=0)
    tensor_mask = compression.magnitude_mask(Tensor(weight), amount)
    assert_array(tensor_mask, expected, "magnitude_mask of the same weight as a Tensor", atol=0)


@pytest.mark.task("18.1")
@pytest.mark.points(2)
@given(
    values=st.lists(st.floats(-4, 4, width=32), min_size=1, max_size=30),
    share=st.floats(0, 1),
)
def test_magnitude_mask_breaks_ties_in_flat_order(values, share):
    weight = np.round(np.array(values, dtype=np.float32), 0)  # rounding makes ties
    mask = compression.magnitude_mask(weight, share)
    expected = _smallest_mask(weight, round(share * weight.size))
    assert_array(mask, expected, f"magnitude_mask({weight.tolist()}, {share})", atol=0)


@pytest.mark.task("18.1")
@pytest.mark.points(1)
@pytest.mark.parametrize(
    "shape,amount,count,n,dim",
    [((4, 6), 0.5, 2, 2, 0), ((4, 6), 3, 3, 1, 1), ((6, 3, 2, 2), 0.5, 3, 2, 0),
     ((6, 3, 2, 2), 1, 1, np.inf, 1), ((5, 4, 3), 0.4, 1, 3, -1), ((3, 5), 1.0, 5, 2, -1)],
)  # fmt: skip
def test_channel_mask_zeroes_the_weakest_slices(shape, amount, count, n, dim):
    weight = _distinct(shape, seed=count + len(shape))
    mask = compression.channel_mask(weight, amount, n=n, dim=dim)
    expected = _channel_reference(weight, count, n, dim)
    assert_array(mask, expected, f"channel_mask({shape}, {amount}, n={n}, dim={dim})", atol=0)


@pytest.mark.task("18.1")
@pytest.mark.points(1)
def test_masks_take_edge_amounts_and_refuse_bad_ones():
    weight = _distinct((3, 4), seed=1)
    assert_array(compression.magnitude_mask(weight, 5), _smallest_mask(weight, 5), "5", atol=0)
    for amount, count in ((0.0, 0), (1.0, 12), (0, 0), (12, 12)):
        mask = compression.magnitude_mask(weight, amount)
        assert_array(mask, _smallest_mask(weight, count), f"amount={amount!r}", atol=0)
    one = compression.magnitude_mask(np.array([-2.0], dtype=np.float32), 1)
    assert_array(one, np.zeros(1), "a single weight pruned", atol=0)
    for amount in (1.5, -0.1, 13, -1):
        with pytest.raises(ValueError):
            compression.magnitude_mask(weight, amount)
    with pytest.raises(TypeError):
        compression.magnitude_mask(weight, "half")
    with pytest.raises(ValueError):
        compression.channel_mask(weight, 4 + 1)
    with pytest.raises(ValueError):
        compression.channel_mask(weight[0], 1)
    with pytest.raises(ValueError):
        compression.channel_mask(weight, 1, dim=2)


# ---- 18.2 pruning that survives training ----
@pytest.mark.task("18.2")
@pytest.mark.points(3)
def test_apply_mask_reparametrizes_the_weight():
    rng, weight, bias, layer = _drawn((4, 6), 3)
    mask = (rng.random((4, 6)) < 0.5).astype(np.float32)
    compression.apply_mask(layer, "weight", mask)
    state = layer.state_dict()
    assert sorted(state) == ["bias", "weight_mask", "weight_orig"], sorted(state)
    assert_array(state["weight_orig"], weight, "weight_orig keeps the trained values", atol=0)
    assert_array(state["weight_mask"], mask, "weight_mask", atol=0)
    names = sorted(name for name, _ in layer.named_parameters())
    assert names == ["bias", "weight_orig"], f"the parameters after pruning: {names}"
    assert_tensor(layer.weight, weight * mask, "weight = weight_orig * weight_mask", atol=0)
    x = rng.standard_normal((3, 6)).astype(np.float32)
    expected = x.astype(F64) @ (weight * mask).T.astype(F64) + bias
    assert_tensor(layer(Tensor(x)), expected, "the pruned layer's output", rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError):
        compression.apply_mask(layer, "weight", np.ones((6, 4)))
    with pytest.raises(ValueError):
        compression.apply_mask(layer, "scale", np.ones((4, 6)))
    with pytest.raises(ValueError, match="0"):
        compression.apply_mask(layer, "weight", np.full((4, 6), 0.5))


class _Adam:
    def __init__(self, lr, weight_decay=0.0, betas=(0.9, 0.999), eps=1e-8):
        self.lr, self.weight_decay, self.betas, self.eps, self.state = (
            lr,
            weight_decay,
            betas,
            eps,
            {},
        )

    def step(self, params, grads):
        beta1, beta2 = self.betas
        for index, (param, grad) in enumerate(zip(params, grads, strict=True)):
            grad = grad + self.weight_decay * param
            t, m, v = self.state.get(index, (0, np.zeros_like(param), np.zeros_like(param)))
            t, m, v = t + 1, beta1 * m + (1 - beta1) * grad, beta2 * v + (1 - beta2) * grad**2
            self.state[index] = (t, m, v)
            param -= self.lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + self.eps)


OPTIMIZERS = {
    "SGD with momentum and weight decay": (
        lambda params: SGD(params, lr=0.05, momentum=0.9, weight_decay=0.1),
        lambda: trusted.SGD(lr=0.05, momentum=0.9, weight_decay=0.1),
    ),
    "Adam with weight decay": (
        lambda params: Adam(params, lr=0.01, weight_decay=0.05),
        lambda: _Adam(lr=0.01, weight_decay=0.05),
    ),
}


@pytest.mark.task("18.2")
@pytest.mark.points(5)
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_pruned_weights_stay_zero_through_optimizer_steps(name):
    make_student, make_reference = OPTIMIZERS[name]
    rng, weight, bias, layer = _drawn((5, 7), 5)
    optimizer = make_student([layer.weight, layer.bias])  # built before pruning
    reference, params = make_reference(), [weight.astype(F64), bias.astype(F64)]
    mask = np.ones_like(params[0])
    for step in range(6):
        if step == 2:  # momentum and Adam's averages already hold every entry
            compression.magnitude_prune(layer, "weight", 0.6)
            mask = _smallest_mask(params[0], 21)
        x = rng.standard_normal((4, 7)).astype(np.float32)
        upstream = rng.standard_normal((4, 5)).astype(np.float32)
        out = layer(Tensor(x))
        expected = x @ (params[0] * mask).T + params[1]
        assert_tensor(out, expected, f"{name}: the output at step {step}", rtol=1e-4, atol=1e-5)
        if step > 2:
            effective = as_array(layer.weight, f"{name}: the weight at step {step}")
            zeros = effective[mask == 0]
            assert np.all(zeros == 0), f"{name}: pruned weights moved to {zeros[zeros != 0]}"
        (out * Tensor(upstream)).sum().backward()
        optimizer.step()
        optimizer.zero_grad()
        grads = [(upstream.T.astype(F64) @ x) * mask, upstream.sum(0).astype(F64)]
        reference.step(params, grads)
    kept = as_array(layer.weight_orig, f"{name}: weight_orig after the steps")
    assert_array(kept, params[0], f"{name}: weight_orig", rtol=1e-4, atol=1e-5)


@pytest.mark.task("18.2")
@pytest.mark.points(6)
def test_fine_tuning_a_pruned_classifier_with_the_trainer():
    drawn = trusted.Classifier.draw(11)
    model, params = trusted.student_classifier(drawn)
    first, second = model[0], model[2]
    compression.magnitude_prune(first, "weight", 0.5)
    compression.channel_prune(second, "weight", 1, n=1, dim=1)
    masks = [_smallest_mask(drawn.params[0], 16), None, None, None]
    masks[2] = _channel_reference(drawn.params[2], 1, 1, 1)
    params = [first.weight_orig, first.bias, second.weight_orig, second.bias]
    x, y = trusted.shuffled_blobs(30, seed=11)
    trainer = Trainer(model, SGD(params, lr=0.2, momentum=0.9), cross_entropy, verbose=False)
    reference, optimizer = (
        trusted.Classifier([p.copy() for p in drawn.params]),
        trusted.SGD(0.2, 0.9),
    )
    for _ in range(2):
        trainer.train_epoch(batches(x, y, 16))
        for xb, yb in trusted.in_order(x, y, 16):
            effective = trusted.Classifier(
                [p if m is None else p * m for p, m in zip(reference.params, masks, strict=True)]
            )
            _, _, grads = effective.loss_and_grads(xb, yb)
            grads = [g if m is None else g * m for g, m in zip(grads, masks, strict=True)]
            optimizer.step(reference.params, grads)
    for index, param in enumerate(items(params, 4, "the pruned classifier's parameters")):
        assert_tensor(param, reference.params[index], f"parameter {index}", rtol=1e-4, atol=1e-5)
    test_x, test_y = blobs(20, seed=12)
    logits = as_array(model(Tensor(test_x)), "the fine-tuned model's logits")
    final = trusted.Classifier(
        [p if m is None else p * m for p, m in zip(reference.params, masks, strict=True)]
    )
    assert_array(logits, final.logits(test_x.astype(F64)), "logits", rtol=1e-4, atol=1e-4)
    accuracy = float(np.mean(logits.argmax(axis=1) == test_y))
    expected = float(np.mean(final.logits(test_x.astype(F64)).argmax(axis=1) == test_y))
    assert accuracy == expected, f"accuracy from the logits {accuracy}, expected {expected}"
    for layer, mask in ((first, masks[0]), (second, masks[2])):
        values = as_array(layer.weight, "a pruned weight after fine-tuning")
        assert np.all(values[mask == 0] == 0), "pruned weights moved during fine-tuning"


@pytest.mark.task("18.2")
@pytest.mark.points(3)
def test_pruning_again_combines_the_masks():
    weight = _distinct((6, 5), 7)
    layer = _layer(weight)
    compression.magnitude_prune(layer, "weight", 0.3)
    compression.magnitude_prune(layer, "weight", 0.6)
    expected = _smallest_mask(weight, 18)
    assert_tensor(layer.weight_mask, expected, "the mask after pruning 30% then 60%", atol=0)
    compression.channel_prune(layer, "weight", 2, n=2, dim=0)
    expected = expected * _channel_reference(weight * expected, 2, 2, 0)
    assert_tensor(layer.weight_mask, expected, "then two rows by L2 norm", atol=0)
    assert_tensor(layer.weight_orig, weight, "weight_orig is never changed by pruning", atol=0)
    assert_tensor(layer.weight, weight * expected, "the pruned weight", atol=0)


@pytest.mark.task("18.2")
@pytest.mark.points(3)
def test_global_magnitude_prune_ranks_all_tensors_together():
    big, small = _distinct((6, 4), 8, scale=3.0), _distinct((3, 6), 9, scale=0.5)
    first, second = _layer(big, np.zeros(6)), _layer(small, np.zeros(3))
    model = Sequential(first, ReLU(), second)
    compression.global_magnitude_prune([(first, "weight"), (second, "weight")], 0.7)
    everything = np.concatenate([big.ravel(), small.ravel()])
    flat = _smallest_mask(everything, round(0.7 * everything.size))
    masks = [flat[:24].reshape(6, 4), flat[24:].reshape(3, 6)]
    assert_tensor(first.weight_mask, masks[0], "the first layer's mask", atol=0)
    assert_tensor(second.weight_mask, masks[1], "the second layer's mask", atol=0)
    x = np.random.default_rng(9).standard_normal((5, 4)).astype(np.float32)
    expected = np.maximum(x @ (big * masks[0]).T, 0) @ (small * masks[1]).T
    assert_tensor(model(Tensor(x)), expected, "the pruned model's output", rtol=1e-5, atol=1e-5)
    assert compression.is_pruned(model) is True, "is_pruned of a model with pruned layers"
    with pytest.raises(ValueError):
        compression.global_magnitude_prune([], 0.5)


@pytest.mark.task("18.2")
@pytest.mark.points(3)
def test_remove_pruning_keeps_the_parameter_and_its_zeros():
    rng, weight, bias, layer = _drawn((3, 4), 4)
    optimizer = SGD([layer.weight, layer.bias], lr=0.1)
    assert compression.is_pruned(layer) is False, "is_pruned of a fresh layer"
    compression.channel_prune(layer, "weight", 1, n=2, dim=0)
    mask = _channel_reference(weight, 1, 2, 0)
    compression.remove_pruning(layer, "weight")
    state = layer.state_dict()
    assert sorted(state) == ["bias", "weight"], f"state_dict keys after removing: {sorted(state)}"
    assert_array(state["weight"], weight * mask, "the weight made permanent", atol=0)
    assert compression.is_pruned(layer) is False, "is_pruned after remove_pruning"
    x, upstream = rng.standard_normal((2, 4)), rng.standard_normal((2, 3))
    (layer(Tensor(x)) * Tensor(upstream)).sum().backward()
    optimizer.step()  # the optimizer still holds the same Parameter: now a dense one
    expected = weight * mask - 0.1 * (upstream.T @ x)
    assert_tensor(layer.weight, expected, "the weight after a step, unmasked", rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError):
        compression.remove_pruning(layer, "weight")


@pytest.mark.task("18.2")
@pytest.mark.points(2)
def test_channel_pruned_outputs_give_only_their_bias():
    rng, weight, bias, layer = _drawn((5, 3), 6)
    compression.channel_prune(layer, "weight", 0.4, n=np.inf, dim=0)
    mask = _channel_reference(weight, 2, np.inf, 0)
    x = rng.standard_normal((4, 3)).astype(np.float32)
    out = as_array(layer(Tensor(x)), "the channel-pruned layer's output")
    assert_array(out, x @ (weight * mask).T + bias, "the output", rtol=1e-5, atol=1e-5)
    gone = np.flatnonzero(mask[:, 0] == 0)
    assert len(gone) == 2 and np.all(out[:, gone] == bias[gone]), "pruned outputs = bias"


# ---- 18.3 size ----
@pytest.mark.task("18.3")
@pytest.mark.points(4)
def test_model_size_counts_values_and_bytes_exactly():
    rng = np.random.default_rng(8)
    w1 = rng.standard_normal((4, 5)).astype(np.float32)
    w1[rng.random((4, 5)) < 0.5] = 0.0
    b1 = np.array([0.0, 1.0, 0.0, 2.0], dtype=np.float32)
    w2, w3 = (rng.standard_normal((3, side)).astype(np.float32) for side in (4, 3))
    shared = _layer(w3)  # used twice, counted once
    model = Sequential(_layer(w1, b1), ReLU(), _layer(w2), shared, ReLU(), shared)
    tensors = [w1, b1, w2, w3]
    nonzero = [int(np.count_nonzero(t)) for t in tensors]
    sizes = [t.size for t in tensors]
    sparse = sum(min(4 * n, 4 * k + -(-n // 8)) for n, k in zip(sizes, nonzero, strict=True))
    want = (sum(sizes), sum(nonzero), 4 * sum(sizes), sparse)
    size = compression.model_size(model)
    got = (size.parameters, size.nonzero, size.dense_bytes, size.sparse_bytes)
    assert got == want, f"(parameters, nonzero, dense_bytes, sparse_bytes) = {got}, want {want}"
    assert math.isclose(size.sparsity, 1 - want[1] / want[0]), f"sparsity {size.sparsity}"


@pytest.mark.task("18.3")
@pytest.mark.points(2)
@pytest.mark.parametrize("amount", [0.9, 0.5, 3])
def test_model_size_of_a_pruned_model_counts_the_masked_weight(amount):
    weight = _distinct((20, 16), 10)
    layer = _layer(weight, np.ones(20))
    compression.magnitude_prune(layer, "weight", amount)
    pruned = amount if isinstance(amount, int) else round(amount * 320)
    size = compression.model_size(Sequential(layer, ReLU()))
    nonzero = 320 - pruned + 20
    sparse = min(1280, 4 * (320 - pruned) + 40) + min(80, 80 + 3)
    got = (size.parameters, size.nonzero, size.dense_bytes, size.sparse_bytes)
    assert got == (340, nonzero, 1360, sparse), (
        f"{amount}: {got}, want {(340, nonzero, 1360, sparse)}"
    )
    assert math.isclose(size.sparsity, pruned / 340), f"sparsity {size.sparsity}"


# ---- 18.4 low rank ----
def _svd(weight):
    u, s, vt = np.linalg.svd(weight.astype(F64), full_matrices=False)
    return u, s, vt


@pytest.mark.task("18.4")
@pytest.mark.points(2)
@pytest.mark.parametrize(
    "shape,rank,bias", [((5, 7), 2, True), ((8, 4), 3, False), ((4, 6), 4, True)]
)
def test_low_rank_linear_is_the_best_approximation(shape, rank, bias):
    rng = np.random.default_rng(rank)
    weight = rng.standard_normal(shape).astype(np.float32)
    b = rng.standard_normal(shape[0]).astype(np.float32) if bias else None
    pair = compression.low_rank_linear(_layer(weight, b), rank)
    first, second = items(pair, 2, "low_rank_linear's Sequential")
    u, s, vt = _svd(weight)
    best = (u[:, :rank] * s[:rank]) @ vt[:rank]
    v1 = as_array(first.weight, "first.weight").astype(F64)
    v2 = as_array(second.weight, "second.weight").astype(F64)
    assert v1.shape == (rank, shape[1]) and v2.shape == (shape[0], rank), (v1.shape, v2.shape)
    assert_array(v2 @ v1, best, "second.weight @ first.weight", rtol=1e-4, atol=1e-5, dtype=None)
    assert_array(v1 @ v1.T, np.diag(s[:rank]), "first.weight @ first.weight.T (sqrt(S) split)",
                 rtol=1e-4, atol=1e-5, dtype=None)  # fmt: skip
    assert_array(v2.T @ v2, np.diag(s[:rank]), "second.weight.T @ second.weight", rtol=1e-4,
                 atol=1e-5, dtype=None)  # fmt: skip
    assert first.bias is None, "the first factor has no bias"
    x = rng.standard_normal((3, shape[1])).astype(np.float32)
    expected = x @ best.T + (0 if b is None else b)
    assert_tensor(pair(Tensor(x)), expected, "the factorized layer's output", rtol=1e-4, atol=1e-5)
    size = compression.model_size(pair)
    want = rank * (shape[0] + shape[1]) + (shape[0] if bias else 0)
    assert size.parameters == want, f"parameters of the rank-{rank} pair: {size.parameters}"


@pytest.mark.task("18.4")
@pytest.mark.points(2)
def test_low_rank_of_a_pruned_layer_and_bad_ranks():
    weight = _distinct((6, 5), 12)
    layer = _layer(weight, np.zeros(6))
    compression.magnitude_prune(layer, "weight", 0.5)
    masked = weight * _smallest_mask(weight, 15)
    pair = compression.low_rank_linear(layer, 5)
    x = np.random.default_rng(12).standard_normal((2, 5)).astype(np.float32)
    assert_tensor(
        pair(Tensor(x)), x @ masked.T, "full rank of the pruned weight", rtol=1e-4, atol=1e-5
    )
    for rank in (0, 6, 2.0):
        with pytest.raises(ValueError):
            compression.low_rank_linear(layer, rank)


@pytest.mark.task("18.4")
@pytest.mark.points(1)
@pytest.mark.parametrize(
    "energy,rank",
    [(0.5, 1), (0.5001, 2), (0.625, 2), (0.7, 3), (0.75, 3), (0.875, 4), (0.9, 5), (1.0, 5)],
)
def test_rank_for_energy_keeps_the_share_of_the_norm(energy, rank):
    weight = np.zeros((6, 5))
    weight[range(5), [2, 0, 4, 1, 3]] = [2.0, 4.0, -2.0, 2.0, 2.0]  # squares 16, 4, 4, 4, 4
    singular = np.linalg.svd(weight, compute_uv=False)
    assert np.array_equal(singular, [4, 2, 2, 2, 2]), singular  # exact: shares 1/2, 5/8, ...
    got = compression.rank_for_energy(weight, energy)
    assert got == rank, f"rank_for_energy(singular values 4, 2, 2, 2, 2; {energy}) = {got}"
    random = np.random.default_rng(13).standard_normal((7, 9))
    squares = np.linalg.svd(random, compute_uv=False) ** 2
    want = 1 + int(np.sum(np.cumsum(squares) / squares.sum() < 0.6))
    got = compression.rank_for_energy(random, 0.6)
    assert got == want, f"rank_for_energy(a 7x9 random matrix, 0.6) = {got}, want {want}"
    for bad in (0.0, 1.5):
        with pytest.raises(ValueError):
            compression.rank_for_energy(weight, bad)


# ---- 18.5 distillation ----
def _distillation(student_logits, teacher_logits, targets, temperature, alpha):
    """The loss and its gradient with respect to the student's logits, float64."""
    s, t = student_logits.astype(F64), teacher_logits.astype(F64)
    n = len(s)
    log_p, log_q = log_softmax(t / temperature, dim=1), log_softmax(s / temperature, dim=1)
    p, q = np.exp(log_p), np.exp(log_q)
    soft = temperature**2 * np.sum(p * (log_p - log_q)) / n
    log_r = log_softmax(s, dim=1)
    hard = -np.mean(log_r[np.arange(n), targets])
    onehot = np.eye(s.shape[1])[targets]
    grad = alpha * temperature * (q - p) / n + (1 - alpha) * (np.exp(log_r) - onehot) / n
    return alpha * soft + (1 - alpha) * hard, grad


@pytest.mark.task("18.5")
@pytest.mark.points(2)
@pytest.mark.parametrize(
    "temperature,alpha,scale", [(4.0, 0.7, 3.0), (1.0, 0.5, 1.0), (2.5, 1.0, 2.0), (3.0, 0.1, 2.0),
                                (1.0, 0.9, 900.0), (10.0, 0.25, 5.0)],
)  # fmt: skip
def test_distillation_loss_and_gradient(temperature, alpha, scale):
    rng = np.random.default_rng(int(temperature * 10 + alpha * 100))
    s = (scale * rng.standard_normal((6, 5))).astype(np.float32)
    t = (scale * rng.standard_normal((6, 5))).astype(np.float32)
    targets = rng.integers(0, 5, 6)
    loss_value, grad = _distillation(s, t, targets, temperature, alpha)
    logits = Tensor(s, requires_grad=True)
    teacher = Tensor(t, requires_grad=True)
    loss = compression.distillation_loss(logits, teacher, Tensor(targets, dtype=np.int64),
                                         temperature=temperature, alpha=alpha)  # fmt: skip
    what = f"distillation_loss(T={temperature}, alpha={alpha})"
    assert_tensor(loss, np.array(loss_value), what, rtol=1e-4, atol=1e-5)
    loss.backward()
    assert_tensor(logits.grad, grad, f"{what}: the gradient of the student's logits", rtol=1e-3,
                  atol=1e-6)  # fmt: skip
    assert teacher.grad is None, "the teacher is a constant: no gradient reaches it"


@pytest.mark.task("18.5")
@pytest.mark.points(3)
def test_distillation_loss_takes_arrays_and_refuses_bad_arguments():
    rng = np.random.default_rng(21)
    s, t = rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal((3, 4))
    targets = np.array([0, 3, 1])
    loss = compression.distillation_loss(Tensor(s), t, targets)
    expected, _ = _distillation(s, t, targets, 4.0, 0.5)
    assert_tensor(loss, np.array(expected), "the defaults T=4, alpha=0.5", rtol=1e-4, atol=1e-5)
    for kwargs in ({"temperature": 0.0}, {"temperature": -1.0}, {"alpha": 1.5}, {"alpha": -0.1}):
        with pytest.raises(ValueError):
            compression.distillation_loss(Tensor(s), t, targets, **kwargs)
    with pytest.raises(ValueError):
        compression.distillation_loss(Tensor(s), t[:, :3], targets)
