"""Visible tests for module 15 (Profiling). Run them with `make grade MODULE=15`.

Each test names its task. Expected numbers are worked out here from the shapes (FLOPs
count 2 per multiply-add). Timings are never judged by the machine's clock: the tests
hand your code a scripted clock (`aids.profiling.ScriptedClock`, called to read the
time) whose every call of `clock.work` lasts exactly as long as the test says. Your code
runs in a separate process: `student.profiling` is your module there.
"""

import numpy as np
import pytest

from grader.testing.checks import items
from grader.testing.kit import aids, student, worker_rng

profiling = student.profiling
Linear, ReLU, Sequential = student.layers.Linear, student.layers.ReLU, student.layers.Sequential
Conv2d = student.spatial.Conv2d
Tensor = student.tensor.Tensor
ScriptedClock = aids.profiling.ScriptedClock


def _mlp():
    rng = worker_rng(0)
    return Sequential(Linear(4, 8, rng=rng), ReLU(), Linear(8, 2, rng=rng))


def _batch(*shape):
    return Tensor(np.ones(shape, dtype=np.float32))


@pytest.mark.task("15.1")
@pytest.mark.points(3)
def test_parameters_of_an_mlp():
    got = profiling.count_parameters(_mlp())
    assert got == 4 * 8 + 8 + 8 * 2 + 2, f"Linear(4, 8), ReLU, Linear(8, 2): {got} parameters"


@pytest.mark.task("15.2")
@pytest.mark.points(4)
def test_flops_count_two_per_multiply_add():
    assert profiling.matmul_flops((3, 5), (5, 7)) == 2 * 3 * 5 * 7
    assert profiling.linear_flops((10, 4), 8) == 2 * 10 * 4 * 8, "the bias counts 0"
    got = profiling.conv2d_flops((1, 3, 8, 8), (16, 3, 3, 3), stride=1, padding=1)
    assert got == 2 * (16 * 8 * 8) * (3 * 3 * 3), f"conv2d_flops: {got}"
    assert profiling.attention_flops((2, 6, 4), (2, 9, 4), (2, 9, 4)) == 2 * (2 * 2 * 6 * 9 * 4)
    got = profiling.count_flops(_mlp(), _batch(10, 4))
    assert got == 2 * 10 * (4 * 8 + 8 * 2), f"count_flops of the MLP on 10 rows: {got}"
    with pytest.raises(ValueError, match="inner"):
        profiling.matmul_flops((3, 5), (4, 7))
    with pytest.raises(ValueError, match="C_in"):
        profiling.conv2d_flops((1, 3, 8, 8), (16, 4, 3, 3))


@pytest.mark.task("15.3")
@pytest.mark.points(4)
def test_memory_of_an_mlp_with_adam():
    model = _mlp()
    adam = student.optimizers.Adam(list(model.parameters()), lr=1e-3)
    report = profiling.memory_footprint(model, _batch(10, 4), optimizer=adam)
    params = (4 * 8 + 8 + 8 * 2 + 2) * 4
    assert report.parameters == params, f"parameters: {report.parameters} bytes"
    assert report.gradients == params, f"gradients: {report.gradients} bytes"
    assert report.optimizer_state == 2 * params, f"Adam's state: {report.optimizer_state} bytes"
    # Each Linear: x @ W.T and + b make new (10, out) arrays; ReLU one more (10, 8).
    assert report.activations == (3 * 10 * 8 + 2 * 10 * 2) * 4, f"{report.activations} bytes"


@pytest.mark.task("15.4")
@pytest.mark.points(4)
def test_latency_skips_the_warmup_and_reports_median_and_quartiles():
    warm = [5.0, 5.0]  # slow first calls: they must not be timed
    timed = [0.25, 0.5, 0.125, 1.0, 0.375]
    clock = ScriptedClock(warm + timed)
    stats = profiling.measure_latency(clock.work, warmup=2, repeats=5, clock=clock)
    samples = tuple(stats.samples)
    assert samples == tuple(timed), f"samples {samples}, want the timed durations {timed}"
    q1, median, q3 = np.percentile(timed, [25, 50, 75])
    got = (stats.q1, stats.median, stats.q3)
    assert np.allclose(got, (q1, median, q3)), f"(q1, median, q3) = {got}"
    assert np.isclose(stats.iqr, q3 - q1), f"iqr {stats.iqr}, want {q3 - q1}"
    assert clock.calls == 7, f"2 warm-up and 5 timed calls, got {clock.calls} calls"


@pytest.mark.task("15.5")
@pytest.mark.points(5)
def test_profile_counts_layers_and_ops_and_removes_its_hooks():
    model = _mlp()
    prof = profiling.profile(model)
    aids.profiling.run_in(prof, model, [_batch(10, 4)], True)
    rows = {row.name: row for row in items(prof.key_averages(), 14, "rows of the profile")}
    for name, calls in (("Sequential", 1), ("0: Linear", 1), ("MatMulFn", 2), ("ReLUFn", 1)):
        assert name in rows, f"no row named {name!r}; rows: {sorted(rows)}"
        assert rows[name].calls == calls, f"{name}: {rows[name].calls} calls, want {calls}"
    assert rows["MatMulFn"].flops == 2 * 10 * (4 * 8 + 8 * 2), "MatMulFn's FLOPs"
    assert rows["1: ReLU"].bytes_allocated == 10 * 8 * 4, "ReLU makes one (10, 8) array"
    assert "MatMulFn.backward" in rows, "backward rules are profiled too"
    counts = aids.profiling.hook_counts()
    assert counts == [0, 0, 0], f"hooks still registered after profiling: {counts}"
    print(prof.table())
