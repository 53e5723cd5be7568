"""Hidden tests for module 16 (Acceleration).

Nothing is timed. Every function is compared with NumPy computed here (float64 where it
matters) on inputs hypothesis draws; what a function writes in place is read back from
arrays kept in the worker (aids.acceleration.KeptArrays); the blocked matmul gets a
kernel that records every tile and adds an offset per call (aids.acceleration.
TileRecorder), so the tests count the tiles, bound their shapes and see from the product
alone that every K tile reached every element; `race` runs on a clock whose durations
the test scripts (aids.acceleration.ScriptedRace). Every call on the student's code runs
in the worker.

PYTEST_DONT_REWRITE: failures show the helpers' messages, never this file's source.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.testing import reference
from grader.testing.checks import assert_array, items
from grader.testing.kit import aids, student
from grader.testing.strategies import arrays, conv_inputs

acceleration = student.acceleration
KeptArrays, ScriptedRace, TileRecorder = (
    aids.acceleration.KeptArrays,
    aids.acceleration.ScriptedRace,
    aids.acceleration.TileRecorder,
)
F64 = np.float64
SETTINGS = settings(max_examples=12, deadline=None)


@st.composite
def matmul_operands(draw, max_side=6, dtype=np.float32):
    """(a, b) of shapes (M, K) and (K, N), K possibly 0."""
    m, k, n = (
        draw(st.integers(1, max_side)),
        draw(st.integers(0, max_side)),
        draw(st.integers(1, max_side)),
    )
    a = draw(arrays((m, k), -3, 3)).astype(dtype)
    b = draw(arrays((k, n), -3, 3)).astype(dtype)
    return a, b


def ref_cross_entropy(logits, targets):
    """Mean cross-entropy and its gradient, float64."""
    log_probs = reference.log_softmax(logits, dim=1)
    rows = np.arange(len(targets))
    grad = np.exp(log_probs)
    grad[rows, targets] -= 1.0
    return -log_probs[rows, targets].mean(), grad / len(targets)


# ---- 16.1 loops, vectorized, BLAS ----
@pytest.mark.task("16.1")
@pytest.mark.points(4)
@SETTINGS
@given(operands=matmul_operands(), dtype=st.sampled_from([np.float32, np.float64]))
def test_loop_and_vectorized_products_over_drawn_shapes(operands, dtype):
    a, b = (x.astype(dtype) for x in operands)
    expected = a.astype(F64) @ b.astype(F64)
    for name in ("matmul_loops", "matmul_vectorized"):
        got = getattr(acceleration, name)(a, b)
        assert_array(got, expected, f"{name} of {a.shape} @ {b.shape}", 1e-5, 1e-5, dtype)


@pytest.mark.task("16.1")
@pytest.mark.points(1)
def test_products_of_matrices_that_do_not_chain_are_errors():
    a, b = np.ones((2, 3)), np.ones((3, 2))
    assert_array(acceleration.matmul_loops(a, b), np.full((2, 2), 3.0), "ones @ ones", dtype=F64)
    for name in ("matmul_loops", "matmul_vectorized"):
        for left, right in ((a, a), (np.ones(3), b), (a, np.ones((3, 2, 1)))):
            with pytest.raises(ValueError):
                getattr(acceleration, name)(left, right)


# ---- 16.2 fewer temporaries ----
@pytest.mark.task("16.2")
@pytest.mark.points(3)
@SETTINGS
@given(x=arrays(low=-8, high=8))
def test_gelu_tanh_matches_the_formula(x):
    got = acceleration.gelu_tanh(x)
    assert_array(got, reference.gelu_tanh(x), f"gelu_tanh of shape {x.shape}", 1e-5, 1e-6)


@pytest.mark.task("16.2")
@pytest.mark.points(3)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gelu_tanh_writes_into_out_and_into_x_itself(dtype):
    x = np.linspace(-6, 6, 25, dtype=dtype).reshape(5, 5)
    expected = reference.gelu_tanh(x)
    kept = KeptArrays(x, np.full_like(x, np.nan))
    kept.call(acceleration.gelu_tanh, ["@0"], {"out": "@1"})
    assert_array(kept.value(1), expected, "out after gelu_tanh(x, out=out)", 1e-5, 1e-6, dtype)
    assert_array(kept.value(0), x, "x after gelu_tanh(x, out=out): unchanged", 0, 0, dtype)
    returned_out = kept.returned(1)
    assert returned_out, "gelu_tanh(x, out=out) returns out itself"
    kept.call(acceleration.gelu_tanh, ["@0"], {"out": "@0"})
    assert_array(kept.value(0), expected, "x after gelu_tanh(x, out=x)", 1e-5, 1e-6, dtype)


@pytest.mark.task("16.2")
@pytest.mark.points(1)
def test_gelu_tanh_refuses_an_out_of_another_shape_or_dtype():
    x = np.zeros(4, dtype=np.float32)
    assert_array(acceleration.gelu_tanh(x, np.ones(4, np.float32)), x, "gelu_tanh(0, out=)")
    for out in (np.zeros(5, np.float32), np.zeros(4, np.float64)):
        with pytest.raises(ValueError, match="out"):
            acceleration.gelu_tanh(x, out)


@pytest.mark.task("16.2")
@pytest.mark.points(3)
def test_sgd_momentum_updates_param_and_velocity_in_place():
    rng = np.random.default_rng(3)
    param, velocity = rng.standard_normal((3, 4)), np.zeros((3, 4))
    grads = [rng.standard_normal((3, 4)) for _ in range(3)]
    kept = KeptArrays(param, velocity, *grads)
    lr, momentum = 0.1, 0.9
    for step in range(3):
        hyper = {"lr": lr, "momentum": momentum}
        returned = kept.call(acceleration.sgd_momentum_, ["@0", f"@{2 + step}", "@1"], hyper)
        assert returned is None, f"sgd_momentum_ updates in place and returns None: {returned!r}"
        velocity = momentum * velocity + grads[step]
        param = param - lr * velocity
        assert_array(kept.value(1), velocity, f"velocity after step {step + 1}", dtype=F64)
        assert_array(kept.value(0), param, f"param after step {step + 1}", dtype=F64)
    assert_array(kept.value(2), grads[0], "the gradient (never changed)", 0, 0, F64)


@pytest.mark.task("16.2")
@pytest.mark.points(1)
def test_sgd_momentum_refuses_mismatched_shapes():
    kept = KeptArrays(np.ones(3), np.ones(3), np.zeros(3))
    kept.call(acceleration.sgd_momentum_, ["@0", "@1", "@2"], {"lr": 0.5, "momentum": 0.0})
    assert_array(kept.value(0), np.full(3, 0.5), "param after one plain step", dtype=F64)
    with pytest.raises(ValueError, match="shape"):
        acceleration.sgd_momentum_(np.ones(3), np.ones(4), np.zeros(3), lr=0.1, momentum=0.9)


# ---- 16.3 fused softmax-cross-entropy ----
@st.composite
def classification(draw):
    n, c = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    logits = draw(arrays((n, c), -30, 30))
    targets = np.array(draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
    return logits, targets


@pytest.mark.task("16.3")
@pytest.mark.points(4)
@SETTINGS
@given(case=classification())
def test_fused_cross_entropy_loss_and_gradient(case):
    logits, targets = case
    loss_expected, grad_expected = ref_cross_entropy(logits, targets)
    kept = KeptArrays(logits, targets)
    loss, grad = kept.call(acceleration.softmax_cross_entropy, ["@0", "@1"])
    assert isinstance(loss, float), f"the loss is a float, got {type(loss).__name__}"
    assert math.isclose(loss, loss_expected, rel_tol=1e-5, abs_tol=1e-5), (loss, loss_expected)
    assert_array(grad, grad_expected, f"gradient for logits {logits.shape}", 1e-4, 1e-6)
    assert_array(kept.value(0), logits, "the logits after the call (unchanged)", 0, 0)


@pytest.mark.task("16.3")
@pytest.mark.points(2)
def test_fused_cross_entropy_is_exact_where_unfused_overflows():
    logits = np.array([[0.0, 200.0], [1e4, -1e4], [-1e4, 1e4], [3.0, 3.0]], dtype=np.float32)
    targets = np.array([0, 1, 0, 1])
    loss_expected, grad_expected = ref_cross_entropy(logits, targets)
    loss, grad = acceleration.softmax_cross_entropy(logits, targets)
    assert math.isclose(loss, loss_expected, rel_tol=1e-6), f"loss {loss}, want {loss_expected}"
    assert_array(grad, grad_expected, "gradient for huge logits", 1e-5, 1e-7)


@pytest.mark.task("16.3")
@pytest.mark.points(1)
def test_fused_cross_entropy_refuses_bad_targets():
    logits = np.zeros((2, 3), dtype=np.float32)
    loss, _ = acceleration.softmax_cross_entropy(logits, np.array([0, 2]))
    assert math.isclose(loss, math.log(3), rel_tol=1e-6), loss
    for targets in (np.array([0, 3]), np.array([-1, 0]), np.array([0]), np.array([0.0, 1.0])):
        with pytest.raises(ValueError):
            acceleration.softmax_cross_entropy(logits, targets)


# ---- 16.4 cache-blocked matmul ----
@pytest.mark.task("16.4")
@pytest.mark.points(6)
@SETTINGS
@given(
    operands=matmul_operands(max_side=9, dtype=np.float64),
    block=st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4)),
)
def test_blocked_matmul_hands_every_tile_to_the_kernel_once(operands, block):
    a, b = operands
    (m, k), n = a.shape, b.shape[1]
    bm, bn, bk = block
    recorder = TileRecorder(0.5)
    got = acceleration.blocked_matmul(a, b, block, recorder)
    steps = math.ceil(k / bk)
    # the recorder adds 0.5 per call into its out tile: every element gets one per K tile
    expected = a @ b + 0.5 * steps
    assert_array(got, expected, f"blocked_matmul {a.shape} @ {b.shape}, block {block}", dtype=F64)
    count = math.ceil(m / bm) * math.ceil(n / bn) * steps
    calls = items(recorder.calls, count, f"kernel calls for block {block}")
    work = 0
    for a_tile, b_tile, out_tile in calls:
        assert a_tile[0] <= bm and a_tile[1] <= bk and b_tile[1] <= bn, (a_tile, b_tile, block)
        assert a_tile[1] == b_tile[0] and out_tile == (a_tile[0], b_tile[1]), (
            f"tiles that do not chain: {a_tile}, {b_tile}, out {out_tile}"
        )
        work += a_tile[0] * a_tile[1] * b_tile[1]
    assert work == m * k * n, f"the tiles multiply {work} products, the matmul has {m * k * n}"


@pytest.mark.task("16.4")
@pytest.mark.points(2)
@pytest.mark.parametrize("block", [4, (3, 2, 4), 64])
def test_blocked_matmul_with_its_default_kernel(block):
    rng = np.random.default_rng(4)
    a = rng.standard_normal((7, 5)).astype(np.float32)
    b = rng.standard_normal((5, 9)).astype(np.float32)
    expected = a.astype(F64) @ b.astype(F64)
    got = acceleration.blocked_matmul(a, b, block)
    assert_array(got, expected, f"blocked_matmul(a, b, {block})", 1e-5, 1e-5)


@pytest.mark.task("16.4")
@pytest.mark.points(2)
def test_blocked_matmul_blocks_with_its_default_kernel_too():
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal((6, 5)), rng.standard_normal((5, 4))
    recorder = TileRecorder(0.25)  # stands in for tile_matmul while the call runs
    got = aids.acceleration.blocked_with_default_kernel(recorder, a, b, 3)
    # 2 x 2 tiles of out, 2 steps along K: each element gets 0.25 twice
    assert_array(got, a @ b + 0.5, "blocked_matmul(a, b, 3) through tile_matmul", dtype=F64)
    calls = items(recorder.calls, 2 * 2 * 2, "tile_matmul calls for 6 x 5 @ 5 x 4 in 3-blocks")
    assert all(max(shape) <= 3 for call in calls for shape in call), calls


@pytest.mark.task("16.4")
@pytest.mark.points(1)
def test_blocked_matmul_refuses_bad_blocks_and_shapes():
    a = np.eye(3)
    assert_array(acceleration.blocked_matmul(a, a, 2), a, "eye @ eye in 2-blocks", dtype=F64)
    for block in (0, -2, (2, 2), (2, 0, 2), 2.5, True):
        with pytest.raises(ValueError, match="block"):
            acceleration.blocked_matmul(a, a, block)
    with pytest.raises(ValueError):
        acceleration.blocked_matmul(a, np.ones((2, 3)), 2)


# ---- 16.5 im2col against direct convolution ----
@pytest.mark.task("16.5")
@pytest.mark.points(3)
@pytest.mark.parametrize("name", ["conv2d_direct", "conv2d_im2col"])
@SETTINGS
@given(case=conv_inputs(), with_bias=st.booleans())
def test_convolutions_over_drawn_shapes_strides_and_paddings(name, case, with_bias):
    x, weight, bias, stride, padding = case
    bias = bias if with_bias else None
    bias64 = None if bias is None else bias.astype(F64)
    expected = reference.conv2d(x.astype(F64), weight.astype(F64), bias64, stride, padding)
    got = getattr(acceleration, name)(x, weight, bias, stride, padding)
    what = f"{name} of {x.shape} with {weight.shape}, stride {stride}, padding {padding}"
    assert_array(got, expected, what, rtol=1e-4, atol=1e-4)


@pytest.mark.task("16.5")
@pytest.mark.points(1)
@pytest.mark.parametrize("name", ["conv2d_direct", "conv2d_im2col"])
def test_convolutions_refuse_what_does_not_fit(name):
    conv = getattr(acceleration, name)
    x, weight = np.ones((1, 2, 4, 4), np.float32), np.ones((3, 2, 2, 2), np.float32)
    assert_array(conv(x, weight, None, 2, 0), np.full((1, 3, 2, 2), 8.0), f"{name} of ones")
    for bad_x, bad_weight, padding in (
        (np.ones((1, 3, 4, 4), np.float32), weight, 0),  # 3 channels for 2-channel filters
        (np.ones((1, 2, 1, 1), np.float32), weight, 0),  # a 2 x 2 kernel on a 1 x 1 image
        (x, weight, -1),
    ):
        with pytest.raises(ValueError):
            conv(bad_x, bad_weight, None, 1, padding)


# ---- 16.6 a checked race ----
@st.composite
def scripted_races(draw):
    names = draw(st.lists(st.sampled_from("abcd"), min_size=1, max_size=3, unique=True))
    warmup, repeats = draw(st.integers(0, 2)), draw(st.integers(1, 5))
    seconds = st.integers(1, 256).map(lambda k: k / 64)  # exact in float64
    durations = {
        name: draw(st.lists(seconds, min_size=1 + warmup + repeats, max_size=1 + warmup + repeats))
        for name in names
    }
    errors = {name: draw(st.sampled_from([0.0, 2**-20, -(2**-18)])) for name in names}
    return durations, errors, warmup, repeats


@pytest.mark.task("16.6")
@pytest.mark.points(5)
@SETTINGS
@given(race=scripted_races())
def test_race_statistics_and_speedups_of_scripted_candidates(race):
    durations, errors, warmup, repeats = race
    target = np.linspace(-1, 1, 6).reshape(2, 3)
    results = {name: target + errors[name] for name in durations}
    scripted = ScriptedRace(durations, results)
    rows = acceleration.race(
        scripted.candidates(), target, warmup=warmup, repeats=repeats, clock=scripted
    )
    rows = items(rows, len(durations), "race rows")
    medians = [float(np.median(d[1 + warmup :])) for d in durations.values()]
    for row, (name, scripts), median in zip(rows, durations.items(), medians, strict=True):
        got_name, samples, got_median = row.name, tuple(row.stats.samples), row.stats.median
        speedup, max_error = row.speedup, row.max_error
        assert got_name == name, f"rows in the candidates' order: {got_name}, want {name}"
        assert samples == tuple(scripts[1 + warmup :]), f"{name}: samples {samples}"
        assert got_median == median, f"{name}: median {got_median}, want {median}"
        assert math.isclose(speedup, medians[0] / median), f"{name}: speed-up {speedup}"
        assert math.isclose(max_error, abs(errors[name]), abs_tol=1e-12), max_error


@pytest.mark.task("16.6")
@pytest.mark.points(2)
def test_race_stops_at_a_candidate_that_disagrees():
    target = np.arange(6.0).reshape(2, 3)
    durations = {"right": [1.0] * 3, "wrong": [1.0] * 3}
    scripted = ScriptedRace(durations, {"right": target, "wrong": target + 0.5})
    with pytest.raises(ValueError, match="wrong"):
        acceleration.race(scripted.candidates(), target, warmup=1, repeats=1, clock=scripted)
    scripted = ScriptedRace(durations, {"right": target, "wrong": target.T})
    with pytest.raises(ValueError, match="wrong"):
        acceleration.race(scripted.candidates(), target, warmup=1, repeats=1, clock=scripted)
    scripted = ScriptedRace({"right": [1.0, 1.0, 3.0]}, {"right": target})
    rows = acceleration.race(scripted.candidates(), target, warmup=1, repeats=1, clock=scripted)
    median = items(rows, 1, "race rows")[0].stats.median
    assert median == 3.0, f"one timed call of 3 s after the check and the warm-up: {median}"
    with pytest.raises(ValueError):
        acceleration.race({}, target)
