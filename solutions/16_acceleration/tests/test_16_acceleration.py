"""Visible tests for module 16 (Acceleration). Run them with `make grade MODULE=16`.

Each test names its task. Nothing here is timed: every fast version is checked against
NumPy computed in this test, and the race against a clock the test scripts
(`aids.acceleration.ScriptedRace`, called to read the time). Your code runs in a separate process:
`student.acceleration` is your module there; arrays come back as copies, so what a
function writes in place is read through `aids.acceleration.KeptArrays`.
"""

import numpy as np
import pytest

from grader.testing import reference
from grader.testing.checks import assert_array, items
from grader.testing.kit import aids, student

acceleration = student.acceleration
KeptArrays, TileRecorder = aids.acceleration.KeptArrays, aids.acceleration.TileRecorder


@pytest.mark.task("16.1")
@pytest.mark.points(3)
def test_loops_and_vectorized_matmul_give_the_product():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    expected = a @ b
    assert_array(acceleration.matmul_loops(a, b), expected, "matmul_loops", dtype=np.float64)
    got = acceleration.matmul_vectorized(a, b)
    assert_array(got, expected, "matmul_vectorized", dtype=np.float64)
    with pytest.raises(ValueError, match="matmul_loops"):
        acceleration.matmul_loops(a, a)


@pytest.mark.task("16.2")
@pytest.mark.points(3)
def test_gelu_writes_into_out():
    x = np.linspace(-4, 4, 9, dtype=np.float32)
    expected = reference.gelu_tanh(x)
    kept = KeptArrays(x, np.full_like(x, np.nan))
    kept.call(acceleration.gelu_tanh, ["@0"], {"out": "@1"})
    assert_array(kept.value(1), expected, "out after gelu_tanh(x, out=out)", atol=1e-6)
    assert_array(kept.value(0), x, "x after gelu_tanh(x, out=out) (unchanged)")


@pytest.mark.task("16.3")
@pytest.mark.points(3)
def test_fused_cross_entropy_gives_loss_and_gradient():
    logits = np.array([[2.0, 0.0, -1.0], [0.0, 0.0, 0.0]], dtype=np.float32)
    targets = np.array([0, 2])
    shifted = logits - logits.max(axis=1, keepdims=True)
    probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    loss, grad = acceleration.softmax_cross_entropy(logits, targets)
    assert np.isclose(loss, -np.mean(np.log(probs[[0, 1], targets])), rtol=1e-5), loss
    probs[[0, 1], targets] -= 1
    assert_array(grad, probs / 2, "gradient of the mean loss", atol=1e-6)


@pytest.mark.task("16.4")
@pytest.mark.points(4)
def test_blocked_matmul_hands_every_tile_to_the_kernel():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((5, 7)), rng.standard_normal((7, 3))
    kernel = TileRecorder()
    got = acceleration.blocked_matmul(a, b, 2, kernel)
    assert_array(got, a @ b, "blocked_matmul(a, b, 2)", dtype=np.float64)
    # ceil(5 / 2) row tiles x ceil(3 / 2) column tiles x ceil(7 / 2) steps along K
    calls = items(kernel.calls, 3 * 2 * 4, "kernel calls")
    assert all(max(shape) <= 2 for call in calls for shape in call), "tiles of at most 2 x 2"


@pytest.mark.task("16.5")
@pytest.mark.points(4)
def test_direct_and_im2col_convolutions_agree_with_numpy():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 5, 5)).astype(np.float32)
    weight = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    bias = rng.standard_normal(4).astype(np.float32)
    expected = reference.conv2d(x, weight, bias, stride=(1, 1), padding=(0, 0))
    for name in ("conv2d_direct", "conv2d_im2col"):
        got = getattr(acceleration, name)(x, weight, bias)
        assert_array(got, expected, f"{name}(x, weight, bias)", rtol=1e-4, atol=1e-4)


@pytest.mark.task("16.6")
@pytest.mark.points(3)
def test_race_checks_then_times_against_the_first_candidate():
    target = np.arange(4.0)
    # one checking call and one warm-up call each, then three timed calls
    durations = {"slow": [9.0, 9.0, 4.0, 4.0, 4.0], "fast": [9.0, 9.0, 1.0, 1.0, 2.0]}
    scripted = aids.acceleration.ScriptedRace(durations, dict.fromkeys(durations, target))
    rows = acceleration.race(
        scripted.candidates(), target, warmup=1, repeats=3, clock=scripted
    )
    rows = items(rows, 2, "race rows")
    names = [row.name for row in rows]
    medians = [row.stats.median for row in rows]
    speedups = [row.speedup for row in rows]
    assert names == ["slow", "fast"], f"rows in the candidates' order: {names}"
    assert medians == [4.0, 1.0], f"medians of the timed calls: {medians}"
    assert speedups == [1.0, 4.0], f"baseline median / each median: {speedups}"
