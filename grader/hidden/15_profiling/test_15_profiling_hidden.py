"""Hidden tests for module 15 (Profiling).

Every expected number is computed here, on the trusted side, from shapes the test
chose: parameter counts and bytes from the layers' sizes, FLOPs from the convention (a
multiply-add is 2 FLOPs: twice the output elements times the inner size of every
product), activation bytes op by op from the output shapes. Latency statistics and the
profiler's self and total times are checked on a clock the test scripts
(aids.profiling.ScriptedClock): every piece of "work" lasts exactly the durations drawn
here, never the machine's. A profiler must leave the model as it found it: the tests
fingerprint every module, class and op class before, during and after profiling, and
count the registered hooks afterwards. Every call on the student's code runs in the
worker.

PYTEST_DONT_REWRITE: failures show the helpers' messages, never this file's source.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.testing.checks import items
from grader.testing.kit import aids, student, worker_rng

profiling = student.profiling
layers, spatial, optimizers = student.layers, student.spatial, student.optimizers
Linear, ReLU, Sequential = layers.Linear, layers.ReLU, layers.Sequential
Conv2d, MaxPool2d = spatial.Conv2d, spatial.MaxPool2d
MultiheadAttention = student.attention.MultiheadAttention
Tensor = student.tensor.Tensor
ScriptedClock, Timed, Probe = (
    aids.profiling.ScriptedClock,
    aids.profiling.Timed,
    aids.profiling.Probe,
)
FLOAT = 4  # bytes of a float32

sizes = st.integers(1, 6)


def _mlp(i, h, o, seed=0, bias=True):
    rng = worker_rng(seed)
    return Sequential(Linear(i, h, bias=bias, rng=rng), ReLU(), Linear(h, o, bias=bias, rng=rng))


def _input(*shape, seed=1):
    return Tensor(np.random.default_rng(seed).standard_normal(shape).astype(np.float32))


def _rows(prof, count):
    """The profile's rows as {name: (kind, calls, self, total, bytes, flops)}."""
    rows = items(prof.key_averages(), count, "key_averages() rows")
    table = {}
    for row in rows:
        values = (
            row.kind,
            row.calls,
            row.self_time,
            row.total_time,
            row.bytes_allocated,
            row.flops,
        )
        table[row.name] = values
    return table


# ---- 15.1 parameters ----
@pytest.mark.task("15.1")
@pytest.mark.points(6)
@settings(max_examples=8, deadline=None)
@given(i=sizes, h=sizes, o=sizes, bias=st.booleans())
def test_parameter_count_of_an_mlp(i, h, o, bias):
    model = _mlp(i, h, o, bias=bias)
    expected = i * h + h * o + ((h + o) if bias else 0)
    got = profiling.count_parameters(model)
    assert got == expected, f"Linear({i}, {h}), ReLU, Linear({h}, {o}), bias={bias}: {got}"


@pytest.mark.task("15.1")
@pytest.mark.points(5)
def test_parameter_count_of_conv_and_attention_shared_and_frozen():
    cnn = Sequential(Conv2d(3, 8, 5, rng=worker_rng(0)), ReLU(), Conv2d(8, 4, 3, bias=False))
    got = profiling.count_parameters(cnn)
    assert got == 8 * 3 * 25 + 8 + 4 * 8 * 9, f"Conv2d(3, 8, 5), Conv2d(8, 4, 3, bias=False): {got}"
    attention = MultiheadAttention(12, 3, batch_first=True, rng=worker_rng(1))
    got = profiling.count_parameters(attention)
    assert got == 3 * 12 * 12 + 3 * 12 + 12 * 12 + 12, f"MultiheadAttention(12, 3): {got}"
    shared = Linear(5, 5, rng=worker_rng(2))
    twice = Sequential(shared, ReLU(), shared)
    got = profiling.count_parameters(twice)
    assert got == 30, f"one Linear(5, 5) used twice counts once: {got}"
    model = _mlp(4, 6, 2)
    model[0].weight.requires_grad = False
    got = profiling.count_parameters(model, trainable_only=True)
    assert got == 6 + 6 * 2 + 2, f"trainable only, with the first weight frozen: {got}"
    assert profiling.count_parameters(model) == 4 * 6 + 6 + 6 * 2 + 2


# ---- 15.2 FLOPs ----
@st.composite
def matmul_shapes(draw):
    m, k, n = draw(sizes), draw(sizes), draw(sizes)
    kind = draw(st.sampled_from(["mm", "mv", "vm", "vv", "batched", "broadcast"]))
    batch = tuple(draw(st.lists(st.integers(1, 3), min_size=1, max_size=2)))
    return {
        "mm": ((m, k), (k, n)),
        "mv": ((m, k), (k,)),
        "vm": ((k,), (k, n)),
        "vv": ((k,), (k,)),
        "batched": ((*batch, m, k), (*batch, k, n)),
        "broadcast": ((*batch, m, k), (k, n)),
    }[kind]


def _matmul_expected(a_shape, b_shape):
    """2 FLOPs per multiply-add: twice the output's elements times the inner size."""
    out = np.matmul(np.zeros(a_shape), np.zeros(b_shape))
    return 2 * int(np.size(out)) * a_shape[-1]


@pytest.mark.task("15.2")
@pytest.mark.points(6)
@settings(max_examples=25, deadline=None)
@given(shapes=matmul_shapes())
def test_matmul_flops_count_two_per_multiply_add(shapes):
    a_shape, b_shape = shapes
    got = profiling.matmul_flops(a_shape, b_shape)
    want = _matmul_expected(a_shape, b_shape)
    assert got == want, f"matmul_flops({a_shape}, {b_shape}) = {got}, want {want}"


@pytest.mark.task("15.2")
@pytest.mark.points(6)
@settings(max_examples=20, deadline=None)
@given(
    n=st.integers(1, 3),
    c_in=sizes,
    c_out=sizes,
    h=st.integers(3, 9),
    w=st.integers(3, 9),
    k=st.integers(1, 3),
    stride=st.integers(1, 3),
    padding=st.integers(0, 2),
    rows=sizes,
)
def test_linear_conv_and_attention_flops(n, c_in, c_out, h, w, k, stride, padding, rows):
    got = profiling.linear_flops((n, rows, c_in), c_out)
    assert got == 2 * n * rows * c_in * c_out, (
        f"linear_flops(({n}, {rows}, {c_in}), {c_out}) = {got}"
    )
    oh, ow = (h + 2 * padding - k) // stride + 1, (w + 2 * padding - k) // stride + 1
    want = 2 * (n * c_out * oh * ow) * (c_in * k * k)
    got = profiling.conv2d_flops((n, c_in, h, w), (c_out, c_in, k, k), stride, padding)
    assert got == want, f"conv2d_flops on ({n}, {c_in}, {h}, {w}), k={k}, s={stride}, p={padding}"
    got = profiling.conv2d_flops((n, c_in, h, w), (c_out, c_in, k, k), (stride, 1), (padding, 0))
    want = 2 * (n * c_out * oh * (w - k + 1)) * (c_in * k * k)
    assert got == want, f"conv2d_flops with stride ({stride}, 1) and padding ({padding}, 0): {got}"
    query, key, value = (n, c_out, h, c_in), (n, c_out, w, c_in), (n, c_out, w, rows)
    want = 2 * n * c_out * h * w * c_in + 2 * n * c_out * h * w * rows
    got = profiling.attention_flops(query, key, value)
    assert got == want, f"attention_flops({query}, {key}, {value}) = {got}, want {want}"


@pytest.mark.task("15.2")
@pytest.mark.points(6)
@settings(max_examples=6, deadline=None)
@given(i=sizes, h=sizes, o=sizes, batch=sizes, bias=st.booleans())
def test_count_flops_of_an_mlp_ignores_biases_and_activations(i, h, o, batch, bias):
    got = profiling.count_flops(_mlp(i, h, o, bias=bias), _input(batch, i))
    want = 2 * batch * (i * h + h * o)
    assert got == want, f"MLP {i}-{h}-{o} (bias={bias}) on a batch of {batch}: {got}, want {want}"


@pytest.mark.task("15.2")
@pytest.mark.points(6)
def test_count_flops_of_a_cnn_and_of_attention():
    rng = worker_rng(3)
    cnn = Sequential(
        Conv2d(3, 6, 3, padding=1, rng=rng),
        ReLU(),
        MaxPool2d(2),
        Conv2d(6, 4, 3, stride=2, rng=rng),
    )
    got = profiling.count_flops(cnn, _input(2, 3, 10, 10))
    first = 2 * (2 * 6 * 10 * 10) * (3 * 9)
    second = 2 * (2 * 4 * 2 * 2) * (6 * 9)  # 5x5 after pooling, stride 2: 2x2
    assert got == first + second, f"conv 3->6 (pad 1), pool, conv 6->4 (stride 2): {got}"
    attention = MultiheadAttention(8, 2, batch_first=True, rng=rng)
    x = _input(3, 5, 8)
    got = profiling.count_flops(attention, x, x, x, need_weights=False)
    n, length, e = 3, 5, 8
    projections = 2 * n * length * e * 3 * e + 2 * n * length * e * e
    scores_and_values = 2 * (2 * n * length * length * e)  # heads x head_dim = e
    want = projections + scores_and_values
    assert got == want, f"MultiheadAttention(8, 2) on (3, 5, 8): {got}, want {want}"
    memory = _input(3, 7, 8, seed=2)
    got = profiling.count_flops(attention, x, memory, memory, need_weights=False)
    want = 2 * n * e * e * (length + 7 + 7) + 2 * n * length * e * e + 4 * n * length * 7 * e
    assert got == want, f"cross-attention of 5 queries over 7 keys: {got}, want {want}"


# ---- 15.3 memory ----
@pytest.mark.task("15.3")
@pytest.mark.points(5)
def test_allocated_bytes_counts_new_memory_once_and_views_never():
    got = aids.profiling.allocated_cases(profiling.allocated_bytes, [3, 4])
    block = 3 * 4 * FLOAT
    want = {
        "the input itself": 0,
        "a transpose of the input": 0,
        "a slice of the input": 0,
        "a new array": block,
        "a new array and its transpose": block,
        "a slice of a new array": block,
        "two new arrays and a None": 2 * block,
        "a copy made by reshaping a transpose": block,
        "no outputs": 0,
    }
    assert isinstance(got, dict) and set(got) == set(want), f"cases: {got!r}"[:300]
    wrong = {case: got[case] for case in want if got[case] != want[case]}
    assert not wrong, "allocated_bytes: " + "; ".join(
        f"{case}: {got[case]}, want {want[case]}" for case in wrong
    )


@pytest.mark.task("15.3")
@pytest.mark.points(5)
def test_optimizer_state_bytes_per_optimizer():
    model = _mlp(5, 7, 3)
    params = list(model.parameters())
    count = 5 * 7 + 7 + 7 * 3 + 3
    cases = [
        ("SGD(lr=0.1)", optimizers.SGD(params, lr=0.1), 0),
        ("SGD(momentum=0.9)", optimizers.SGD(params, lr=0.1, momentum=0.9), count * FLOAT),
        ("Adam", optimizers.Adam(params, lr=1e-3), 2 * count * FLOAT),
        ("AdamW", optimizers.AdamW(params, lr=1e-3), 2 * count * FLOAT),
    ]
    first, rest = model[0].parameters(), model[2].parameters()
    groups = [{"params": list(first), "momentum": 0.9}, {"params": list(rest)}]
    cases.append(("SGD groups, momentum in the first", optimizers.SGD(groups, lr=0.1), 42 * FLOAT))
    for what, optimizer, want in cases:
        got = profiling.optimizer_state_bytes(optimizer)
        assert got == want, (
            f"optimizer_state_bytes({what}) on {count} parameters: {got}, want {want}"
        )
    with pytest.raises(TypeError, match="Optimizer"):
        profiling.optimizer_state_bytes(optimizers.Optimizer(params, lr=0.1))


@pytest.mark.task("15.3")
@pytest.mark.points(6)
@settings(max_examples=5, deadline=None)
@given(i=sizes, h=sizes, o=sizes, batch=sizes)
def test_memory_footprint_of_an_mlp(i, h, o, batch):
    model = _mlp(i, h, o)
    model[2].bias.requires_grad = False
    report = profiling.memory_footprint(model, _input(batch, i), optimizer=None)
    params = (i * h + h + h * o + o) * FLOAT
    # x @ W.T (a new array), + b (another), relu (another); W.T is a view: 0 bytes.
    activations = (3 * batch * h + 2 * batch * o) * FLOAT
    got = (report.parameters, report.gradients, report.optimizer_state, report.activations)
    want = (params, params - o * FLOAT, 0, activations)
    assert got == want, f"(parameters, gradients, optimizer state, activations) {got}, want {want}"
    assert report.total == sum(want), f"total {report.total}, want {sum(want)}"


@pytest.mark.task("15.3")
@pytest.mark.points(5)
def test_memory_footprint_of_a_cnn_with_adam():
    rng = worker_rng(4)
    model = Sequential(Conv2d(2, 5, 3, padding=1, rng=rng), ReLU(), MaxPool2d(2))
    adam = optimizers.Adam(list(model.parameters()), lr=1e-3)
    report = profiling.memory_footprint(model, _input(3, 2, 8, 8), optimizer=adam)
    params = (5 * 2 * 9 + 5) * FLOAT
    activations = (2 * 3 * 5 * 8 * 8 + 3 * 5 * 4 * 4) * FLOAT  # conv, relu, pooled
    got = (report.parameters, report.gradients, report.optimizer_state, report.activations)
    want = (params, params, 2 * params, activations)
    assert got == want, f"(parameters, gradients, optimizer state, activations) {got}, want {want}"


# ---- 15.4 latency ----
# Durations that are multiples of 1/64 s: clock differences are exact in float64.
durations = st.lists(st.integers(1, 640).map(lambda k: k / 64), min_size=1, max_size=12)


@pytest.mark.task("15.4")
@pytest.mark.points(6)
@settings(max_examples=15, deadline=None)
@given(timed=durations, warmup=st.integers(0, 4))
def test_latency_statistics_of_scripted_durations(timed, warmup):
    clock = ScriptedClock([1000.0] * warmup + timed)
    stats = profiling.measure_latency(clock.work, warmup=warmup, repeats=len(timed), clock=clock)
    samples = tuple(stats.samples)
    assert samples == tuple(timed), f"warmup={warmup}: samples {samples}, want {timed}"
    q1, median, q3 = np.percentile(timed, [25, 50, 75])
    got = (stats.median, stats.q1, stats.q3, stats.iqr)
    want = (median, q1, q3, q3 - q1)
    assert np.allclose(got, want, rtol=1e-12, atol=0), f"(median, q1, q3, iqr) {got}, want {want}"
    assert type(stats.median) is float, f"median should be a float, got {type(stats.median)}"


@pytest.mark.task("15.4")
@pytest.mark.points(2)
def test_latency_defaults_and_bad_arguments():
    clock = ScriptedClock([2.0] * 3 + [0.5] * 19 + [1.5])
    stats = profiling.measure_latency(clock.work, clock=clock)
    assert len(tuple(stats.samples)) == 20, "repeats defaults to 20"
    assert (stats.median, stats.q1, stats.q3) == (0.5, 0.5, 0.5), (stats.median, stats.q1)
    assert tuple(stats.samples)[-1] == 1.5, "the default warmup is 3 calls"
    for bad in ({"repeats": 0}, {"warmup": -1}, {"repeats": 2.5}):
        with pytest.raises(ValueError, match="repeats|warmup"):
            profiling.measure_latency(ScriptedClock([1.0] * 9).work, **bad)


# ---- 15.5 the profiler ----
@pytest.mark.task("15.5")
@pytest.mark.points(8)
@settings(max_examples=8, deadline=None)
@given(own=st.lists(st.integers(1, 64).map(lambda k: k / 16), min_size=4, max_size=4))
def test_self_and_total_times_of_nested_modules(own):
    """Timed(root: a, Timed(b), Timed(c, Timed(d))), run twice on a scripted clock."""
    a, b, c, d = own
    clock = ScriptedClock(own * 2)
    model = Timed(clock, Timed(clock), Timed(clock, Timed(clock)))
    prof = profiling.profile(model, clock=clock)
    for _ in range(2):
        aids.profiling.run_in(prof, model, [_input(2, 3)])
    rows = _rows(prof, 5)  # four modules and the AddFn op
    want = {
        "Timed": ("module", 2, 2 * a, 2 * (a + b + c + d)),
        "0: Timed": ("module", 2, 2 * b, 2 * b),
        "1: Timed": ("module", 2, 2 * c, 2 * (c + d)),
        "1.0: Timed": ("module", 2, 2 * d, 2 * d),
        "AddFn": ("op", 8, 0.0, 0.0),
    }
    assert set(rows) == set(want), f"row names {sorted(rows)}, want {sorted(want)}"
    for name, (kind, calls, self_time, total_time) in want.items():
        got = rows[name][:4]
        assert got[:2] == (kind, calls), f"{name}: kind and calls {got[:2]}, want {(kind, calls)}"
        assert np.allclose(got[2:], (self_time, total_time), rtol=1e-9, atol=1e-12), (
            f"{name}: (self, total) time {got[2:]}, want {(self_time, total_time)}"
        )
    add_bytes = 2 * 3 * FLOAT
    assert rows["AddFn"][4] == 8 * add_bytes, f"AddFn bytes {rows['AddFn'][4]}"
    assert rows["Timed"][4] == 8 * add_bytes, f"the model's bytes hold its ops': {rows['Timed'][4]}"
    assert rows["1: Timed"][4] == 4 * add_bytes, f"'1: Timed' bytes {rows['1: Timed'][4]}"


@pytest.mark.task("15.5")
@pytest.mark.points(8)
def test_profile_of_an_mlp_forward_and_backward():
    n, i, h, o = 5, 4, 8, 3
    model = _mlp(i, h, o)
    prof = profiling.profile(model)
    aids.profiling.run_in(prof, model, [_input(n, i)], True)
    # 4 modules, 5 forward ops (with the loss's SumFn) and their 5 backward rules
    table = _rows(prof, 14)
    want = {  # name: (kind, calls, bytes, flops)
        "Sequential": ("module", 1, (3 * n * h + 2 * n * o) * FLOAT, 2 * n * (i * h + h * o)),
        "0: Linear": ("module", 1, 2 * n * h * FLOAT, 2 * n * i * h),
        "1: ReLU": ("module", 1, n * h * FLOAT, 0),
        "2: Linear": ("module", 1, 2 * n * o * FLOAT, 2 * n * h * o),
        "MatMulFn": ("op", 2, (n * h + n * o) * FLOAT, 2 * n * (i * h + h * o)),
        "AddFn": ("op", 2, (n * h + n * o) * FLOAT, 0),
        "ReLUFn": ("op", 1, n * h * FLOAT, 0),
        "PermuteFn": ("op", 2, 0, 0),
        # x needs no gradient: the first product's rule makes W.T's only; the second's
        # makes the hidden layer's (n, h) and W.T's (h, o).
        "MatMulFn.backward": ("backward", 2, (i * h + n * h + h * o) * FLOAT, 0),
        "ReLUFn.backward": ("backward", 1, n * h * FLOAT, 0),
    }
    missing = sorted(set(want) - set(table))
    assert not missing, f"rows missing from the profile: {missing} (have {sorted(table)})"
    for name, (kind, calls, nbytes, flops) in want.items():
        got_kind, got_calls, self_time, total_time, got_bytes, got_flops = table[name]
        got = (got_kind, got_calls, got_bytes, got_flops)
        assert got == (kind, calls, nbytes, flops), (
            f"{name}: (kind, calls, bytes, FLOPs) {got}, want {(kind, calls, nbytes, flops)}"
        )
        assert 0 <= self_time <= total_time, f"{name}: self {self_time} > total {total_time}"
    linears = table["0: Linear"][3] + table["1: ReLU"][3] + table["2: Linear"][3]
    assert table["Sequential"][3] >= linears, "the model's total time holds its layers'"


@pytest.mark.task("15.5")
@pytest.mark.points(6)
def test_profiling_leaves_the_model_and_the_framework_as_they_were():
    probe = Probe()
    model = Sequential(Linear(3, 4, rng=worker_rng(5)), probe, ReLU(), Linear(4, 2))
    probe.watch(model)
    x = _input(2, 3)
    before = aids.profiling.fingerprint(model)
    counts = aids.profiling.hook_counts()
    assert counts == [0, 0, 0], f"hooks registered before profiling: {counts}"
    prof = profiling.profile(model)
    aids.profiling.run_in(prof, model, [x], True)
    during = items(probe.seen, 1, "fingerprints taken while the model ran")[0]
    after = aids.profiling.fingerprint(model)
    assert during == before, (
        "while profiling, the model, its classes or the ops were changed: a profiler watches "
        "through register_module_forward_pre_hook, register_module_forward_hook and "
        "register_op_hook only, and never replaces a method or sets an attribute"
    )
    assert after == before, "after profiling, the model, its classes or the ops are changed"
    counts = aids.profiling.hook_counts()
    assert counts == [0, 0, 0], f"hooks still registered after profiling (op, pre, post): {counts}"
    rows = _rows(prof, 15)  # 5 modules, 5 forward ops and their 5 backward rules
    assert rows["1: Probe"][:2] == ("module", 1), f"the probe's row: {rows.get('1: Probe')}"
    assert rows["MatMulFn"][5] == 2 * 2 * (3 * 4 + 4 * 2), f"MatMulFn FLOPs {rows['MatMulFn']}"


@pytest.mark.task("15.5")
@pytest.mark.points(4)
def test_an_error_inside_the_block_removes_the_hooks_and_the_table_reads_well():
    model = _mlp(3, 4, 2)
    prof = profiling.profile(model)
    with pytest.raises(ValueError, match="in_features"):
        aids.profiling.run_in(prof, model, [_input(2, 5)])  # wrong width: Linear refuses
    counts = aids.profiling.hook_counts()
    assert counts == [0, 0, 0], f"hooks left registered after an error: {counts}"
    prof = profiling.profile(model)
    aids.profiling.run_in(prof, model, [_input(2, 3)])
    rows = _rows(prof, 8)  # Sequential, 3 layers, MatMulFn, PermuteFn, AddFn, ReLUFn
    assert rows["MatMulFn"][1] == 2, f"MatMulFn calls after a clean run: {rows['MatMulFn']}"
    text = prof.table(sort_by="flops", row_limit=3)
    assert isinstance(text, str), f"table() returns a str, got {type(text).__name__}"
    lines = text.splitlines()
    body = [line for line in lines if line.startswith(("MatMulFn", "Sequential", "0: Linear"))]
    assert len(body) == 3, f"row_limit=3, sorted by FLOPs: the top three rows, got:\n{text}"
    assert math.isclose(rows["MatMulFn"][5], 2 * 2 * (3 * 4 + 4 * 2)), rows["MatMulFn"]
    with pytest.raises(ValueError, match="sort_by"):
        prof.table(sort_by="speed")
