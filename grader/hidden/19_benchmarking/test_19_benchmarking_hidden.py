"""Hidden tests for module 19 (Benchmarking).

PYTEST_DONT_REWRITE: failures show the helpers' messages, never this file's source.

Time is scripted: every call of the benchmarked work lasts a duration drawn here
(aids.profiling.ScriptedClock), so the trusted side knows what a correct harness must
report (grader/testing/benchmarks.py): the calls calibration picks, the interleaved
order, every window's seconds per call, the median, quartiles and the bootstrap interval
of the median recomputed here with the same seed. A warm-up call lasts 1000 s, so a
harness that times it is far off; a harness that runs the variants in another order reads
another variant's durations. Verdicts are checked on statistics the test chose, JSON
reports field by field against the values computed here, and documents written here
are read back. Every call on the student's code runs in the worker.
"""

import json
import os
import platform

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.testing.benchmarks import (
    expected_stats,
    interleaved_plan,
    median_interval,
    run_scripted,
)
from grader.testing.checks import items
from grader.testing.kit import aids, student

benchmarking = student.benchmarking
ScriptedClock = aids.profiling.ScriptedClock
EnvProbe = aids.benchmarking.EnvProbe
THREADS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
STAT_FIELDS = ("median", "q1", "q3", "iqr", "relative_iqr", "ci_low", "ci_high")

# Multiples of 1/64 s: every clock difference is exact in float64.
ticks = st.integers(1, 64).map(lambda k: k / 64)


def _close(got, want, what):
    assert np.allclose(got, want, rtol=1e-9, atol=0), f"{what}: {got}, want {want}"


def _check_stats(stats, name, plan, **bootstrap):
    """A variant's VariantStats against the plan's samples and the trusted statistics."""
    samples = list(items(stats.samples, len(plan.samples[name]), f"{name}'s samples"))
    assert samples == plan.samples[name], f"{name}'s samples {samples}, want {plan.samples[name]}"
    assert stats.calls_per_window == plan.numbers[name], (
        f"{name}: {stats.calls_per_window} calls per window, want {plan.numbers[name]}"
    )
    want = expected_stats(plan.samples[name], **bootstrap)
    got = {field: getattr(stats, field) for field in STAT_FIELDS}
    _close([got[f] for f in STAT_FIELDS], [want[f] for f in STAT_FIELDS], f"{name}'s {STAT_FIELDS}")


@st.composite
def runs(draw, names=("a", "b", "c")):
    """Variants with calibration durations and per-window durations, and a target."""
    count = draw(st.integers(2, len(names)))
    windows = draw(st.integers(5, 7))
    target = draw(st.integers(1, 96).map(lambda k: k / 64))
    variants = {}
    for name in names[:count]:
        calibration = draw(st.lists(ticks, min_size=1, max_size=8)) + [target] * 8
        variants[name] = (calibration, draw(st.lists(ticks, min_size=windows, max_size=windows)))
    return variants, draw(st.integers(0, 3)), target


# ---- 19.1 calibration ----
@pytest.mark.task("19.1")
@pytest.mark.points(8)
@settings(max_examples=15, deadline=None)
@given(durations=st.lists(ticks, min_size=1, max_size=40), target=st.integers(1, 200))
def test_calibration_doubles_until_a_window_is_long_enough(durations, target):
    target = target / 64
    script = durations + [target] * 64
    clock = ScriptedClock(script)
    got = benchmarking.calibrate(clock.work, min_window_seconds=target, clock=clock)
    number, used = 1, 0
    while sum(script[used : used + number]) < target:
        used, number = used + number, number * 2
    assert got == number, f"durations {durations}, target {target} s: {got} calls, want {number}"
    assert clock.calls == used + number, (
        f"calibration made {clock.calls} calls, want {used + number}"
    )


@pytest.mark.task("19.1")
@pytest.mark.points(3)
def test_calibration_gives_up_when_the_clock_stands_still():
    clock = ScriptedClock([0.0] * 15 + [1.0] * 16)
    got = benchmarking.calibrate(clock.work, min_window_seconds=0.5, clock=clock, max_calls=16)
    assert got == 16, f"the 16-call window lasts 16 s: {got}"
    clock = ScriptedClock([0.0] * 15 + [1.0])
    with pytest.raises(RuntimeError):
        benchmarking.calibrate(clock.work, min_window_seconds=0.5, clock=clock, max_calls=8)
    assert clock.calls == 15, f"1 + 2 + 4 + 8 calls, then stop: {clock.calls}"


# ---- 19.2 statistics ----
@pytest.mark.task("19.2")
@pytest.mark.points(10)
@settings(max_examples=12, deadline=None)
@given(
    samples=st.lists(st.floats(1e-6, 1.0), min_size=1, max_size=15),
    confidence=st.sampled_from([0.5, 0.8, 0.9, 0.95, 0.99]),
    resamples=st.integers(1, 3000),
    seed=st.integers(0, 2**31),
)
def test_median_interval_is_the_seeded_bootstrap(samples, confidence, resamples, seed):
    got = benchmarking.median_interval(
        samples, confidence=confidence, resamples=resamples, seed=seed
    )
    want = median_interval(samples, confidence, resamples, seed)
    _close(list(got), list(want), f"median_interval(confidence={confidence}, seed={seed})")


@pytest.mark.task("19.2")
@pytest.mark.points(6)
@settings(max_examples=8, deadline=None)
@given(samples=st.lists(ticks, min_size=5, max_size=12), seed=st.integers(0, 99))
def test_summarize_gives_median_quartiles_and_interval(samples, seed):
    stats = benchmarking.summarize("v", 8, samples, confidence=0.9, resamples=500, seed=seed)
    assert stats.name == "v" and stats.calls_per_window == 8
    assert list(stats.samples) == samples, f"samples {stats.samples}, want {samples}"
    want = expected_stats(samples, confidence=0.9, resamples=500, seed=seed)
    got = [getattr(stats, field) for field in STAT_FIELDS]
    _close(got, [want[f] for f in STAT_FIELDS], f"{STAT_FIELDS} of {samples}")
    assert type(stats.median) is float and type(stats.ci_low) is float


# ---- 19.3 the interleaved benchmark ----
@pytest.mark.task("19.3")
@pytest.mark.points(16)
@settings(max_examples=10, deadline=None)
@given(run=runs(), seed=st.integers(0, 99))
def test_benchmark_warms_up_calibrates_and_interleaves(run, seed):
    variants, warmup, target = run
    report, plan, clock = run_scripted(
        benchmarking, variants, warmup=warmup, min_window_seconds=target, seed=seed, resamples=400
    )
    assert clock.calls == len(plan.script), f"{clock.calls} calls, want {len(plan.script)}"
    order = list(report.order)
    assert order == plan.order, f"windows timed in the order {order}, want {plan.order}"
    assert list(report.variants) == list(variants), "variants in the order given"
    for name in variants:
        _check_stats(report.variants[name], name, plan, resamples=400, seed=seed)


@pytest.mark.task("19.3")
@pytest.mark.points(6)
def test_benchmark_defaults_and_its_settings():
    variants = {"x": ([1 / 64] * 4 + [1.0], [0.25] * 10), "y": ([0.5], [0.5] * 10)}
    plan = interleaved_plan(variants, 3, 0.01)
    clock = ScriptedClock(plan.script)
    report = benchmarking.benchmark({"x": clock.work, "y": clock.work}, clock=clock)
    assert clock.calls == len(plan.script), f"{clock.calls} calls, want {len(plan.script)}"
    assert list(report.order) == plan.order, "warmup=3, windows=10, min_window_seconds=0.01"
    for name in variants:
        _check_stats(report.variants[name], name, plan)
    got = {key: report.settings[key] for key in ("warmup", "windows", "seed", "threads")}
    assert got == {"warmup": 3, "windows": 10, "seed": 0, "threads": None}, got
    bad_settings = (
        {"windows": 4},
        {"warmup": -1},
        {"min_window_seconds": 0},
        {"confidence": 1.0},
        {"resamples": 0},
    )
    for bad in bad_settings:
        with pytest.raises(ValueError):
            benchmarking.benchmark({"x": clock.work}, clock=clock, **bad)


# ---- 19.4 the verdict ----
def _stats(name, median, spread, low, high):
    half = spread * median / 2
    return benchmarking.VariantStats(
        name, 4, (median,), median, median - half, median + half, low, high
    )


@pytest.mark.task("19.4")
@pytest.mark.points(10)
@settings(max_examples=25, deadline=None)
@given(
    medians=st.tuples(ticks, ticks),
    spreads=st.tuples(st.integers(0, 16), st.integers(0, 16)).map(lambda s: (s[0] / 32, s[1] / 32)),
    widths=st.tuples(ticks, ticks),
    limit=st.sampled_from([0.125, 0.25, 0.5]),
)
def test_compare_ranks_only_apart_and_quiet_variants(medians, spreads, widths, limit):
    intervals = [(m - w / 4, m + w / 4) for m, w in zip(medians, widths, strict=True)]
    a = _stats("fast?", medians[0], spreads[0], *intervals[0])
    b = _stats("slow?", medians[1], spreads[1], *intervals[1])
    verdict = benchmarking.compare(a, b, max_relative_iqr=limit)
    noisy = max(spreads) > limit
    overlap = intervals[0][0] <= intervals[1][1] and intervals[1][0] <= intervals[0][1]
    rankable = not noisy and not overlap
    case = f"medians {medians}, relative IQRs {spreads} (limit {limit}), intervals {intervals}"
    assert verdict.rankable is rankable, f"{case}: rankable={verdict.rankable}, want {rankable}"
    faster = ("fast?" if intervals[0][1] < intervals[1][0] else "slow?") if rankable else None
    assert verdict.faster == faster, f"{case}: faster={verdict.faster!r}, want {faster!r}"
    _close(verdict.ratio, medians[1] / medians[0], f"{case}: ratio")
    assert (verdict.a, verdict.b) == ("fast?", "slow?")
    if noisy:
        noisiest = "fast?" if spreads[0] > limit else "slow?"
        assert noisiest in verdict.reason, f"{case}: the reason should name {noisiest}"


@pytest.mark.task("19.4")
@pytest.mark.points(4)
def test_compare_at_the_edges():
    low = _stats("low", 1.0, 0.25, 0.75, 1.25)  # relative IQR exactly at the limit
    high = _stats("high", 2.0, 0.125, 1.25, 2.5)  # its interval touches low's
    for a, b in ((low, high), (high, low)):
        verdict = benchmarking.compare(a, b, max_relative_iqr=0.25)
        assert verdict.rankable is False, "touching intervals [0.75, 1.25], [1.25, 2.5] overlap"
    apart = _stats("apart", 2.0, 0.125, 1.5, 2.5)
    verdict = benchmarking.compare(apart, low, max_relative_iqr=0.25)
    assert verdict.rankable is True and verdict.faster == "low", "an IQR of 25% is at the limit"
    verdict = benchmarking.compare(apart, low, max_relative_iqr=0.2)
    assert verdict.rankable is False and "low" in verdict.reason, "over a 20% limit: noisy"


@pytest.mark.task("19.4")
@pytest.mark.points(8)
def test_a_noisy_pair_from_a_benchmark_cannot_be_ranked():
    noisy = [0.25, 1.0, 0.25, 1.0, 0.25, 1.0, 0.25, 1.0]
    variants = {"steady": ([0.5], [0.5] * 8), "noisy": ([0.5], noisy)}
    report, _, _ = run_scripted(
        benchmarking, variants, warmup=0, min_window_seconds=0.25, resamples=300
    )
    verdict = report.compare("steady", "noisy")
    assert verdict.rankable is False and verdict.faster is None, "noisy's IQR is 75% of its median"
    assert "noisy" in verdict.reason, f"the reason should name the noisy variant: {verdict.reason}"
    apart = {"quick": ([0.5], [0.25, 0.25, 0.25, 0.5, 0.25]), "slow": ([0.5], [1.0] * 5)}
    report, _, _ = run_scripted(
        benchmarking, apart, warmup=1, min_window_seconds=0.25, resamples=300
    )
    verdict = report.compare("slow", "quick")
    assert verdict.rankable is True and verdict.faster == "quick", str(verdict)
    _close(verdict.ratio, 0.25, "ratio = quick's median / slow's median")


# ---- 19.5 thread pinning ----
@pytest.mark.task("19.5")
@pytest.mark.points(8)
def test_pinned_threads_hold_during_the_run_and_are_restored():
    for threads in (1, 3):
        _pinned_run(threads)


def _pinned_run(threads):
    before = {"OMP_NUM_THREADS": "7", "OPENBLAS_NUM_THREADS": None, "MKL_NUM_THREADS": "2"}
    aids.benchmarking.set_env(before)
    blas_before = benchmarking.thread_settings()["blas_threads"]
    variants = {"p": ([0.5], [0.5] * 5)}
    plan = interleaved_plan(variants, 2, 0.5)
    clock = ScriptedClock(plan.script)
    probe = EnvProbe(clock.work, list(THREADS))
    report = benchmarking.benchmark(
        {"p": probe}, warmup=2, windows=5, min_window_seconds=0.5, clock=clock, threads=threads
    )
    pinned = {name: str(threads) for name in THREADS}
    seen = items(probe.seen, plan.calls["p"], "calls of the variant")
    assert all(env == pinned for env in seen), f"threads={threads}: during the run {seen[0]}"
    assert report.threads["variables"] == pinned, f"reported {report.threads['variables']}"
    assert report.settings["threads"] == threads
    if blas_before is not None:
        assert report.threads["blas_threads"] == threads, "OpenBLAS's pool was not resized"
        assert benchmarking.thread_settings()["blas_threads"] == blas_before, "not restored"
    after = aids.benchmarking.get_env(list(THREADS))
    assert after == before, f"after the run the variables are {after}, want {before}"
    _check_stats(report.variants["p"], "p", plan, resamples=10_000, seed=0)


@pytest.mark.task("19.5")
@pytest.mark.points(5)
def test_pin_threads_restores_after_an_error():
    before = {"OMP_NUM_THREADS": None, "OPENBLAS_NUM_THREADS": "5", "MKL_NUM_THREADS": None}
    aids.benchmarking.set_env(before)
    raised = aids.benchmarking.raise_inside(benchmarking.pin_threads(2))
    assert raised == "_RaisedError", f"the error inside the block should come out, got {raised!r}"
    after = aids.benchmarking.get_env(list(THREADS))
    assert after == before, f"after an error the variables are {after}, want {before}"
    with pytest.raises(ValueError):
        benchmarking.pin_threads(0).__enter__()


# ---- 19.6 the JSON report ----
def _scripted_report(seed=3):
    variants = {"base": ([0.5], [0.5, 0.75, 0.5, 0.5, 1.0]), "fast": ([0.25], [0.25] * 5)}
    options = {"warmup": 1, "min_window_seconds": 0.25, "seed": seed, "resamples": 200}
    report, plan, _ = run_scripted(benchmarking, variants, **options)
    return report, plan


def _trusted_machine():
    with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        models = [
            line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")
        ]
    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    return models[:1], blas


@pytest.mark.task("19.6")
@pytest.mark.points(10)
def test_json_report_holds_every_field():
    report, plan = _scripted_report()
    data = json.loads(report.to_json())
    keys = {"format", "settings", "machine", "threads", "order", "variants"}
    assert set(data) == keys, f"top-level fields {sorted(data)}, want {sorted(keys)}"
    assert data["format"] == "tinytorch-benchmark/1"
    assert data["order"] == plan.order, f"order {data['order']}"
    assert sorted(data["variants"]) == ["base", "fast"]
    for name, fields in data["variants"].items():
        assert fields["samples"] == plan.samples[name], f"variants.{name}.samples"
        assert fields["calls_per_window"] == plan.numbers[name], f"variants.{name}.calls_per_window"
        assert fields["name"] == name
        want = expected_stats(plan.samples[name], resamples=200, seed=3)
        for field in STAT_FIELDS:
            _close(fields[field], want[field], f"variants.{name}.{field}")
    settings_want = {"warmup": 1, "windows": 5, "min_window_seconds": 0.25, "seed": 3}
    assert {k: data["settings"][k] for k in settings_want} == settings_want, data["settings"]
    machine = data["machine"]
    assert machine["numpy"] == np.__version__ and machine["python"] == platform.python_version()
    assert machine["logical_cores"] == os.cpu_count(), machine
    cpu, blas = _trusted_machine()
    if cpu:
        assert machine["cpu"] == cpu[0], f"machine.cpu {machine['cpu']!r}, want {cpu[0]!r}"
    assert machine["blas"]["name"] == blas["name"] and machine["blas"]["version"] == blas["version"]
    assert set(data["threads"]["variables"]) == set(THREADS), data["threads"]


def _document(samples, name="fast"):
    stats = expected_stats(samples, resamples=100, seed=1)
    fields = {k: stats[k] for k in ("median", "q1", "q3", "ci_low", "ci_high")}
    variant = {"name": name, "calls_per_window": 32, "samples": samples, **fields}
    return {
        "format": "tinytorch-benchmark/1",
        "settings": {"warmup": 2, "windows": len(samples), "seed": 1},
        "machine": {"cpu": "test"},
        "threads": {"variables": {}, "blas_threads": None},
        "order": [name] * len(samples),
        "variants": {name: variant},
    }


@pytest.mark.task("19.6")
@pytest.mark.points(10)
@settings(max_examples=5, deadline=None)
@given(samples=st.lists(ticks, min_size=5, max_size=9))
def test_a_report_is_read_back_and_bad_documents_are_named(samples):
    document = _document(samples)
    report = benchmarking.BenchmarkReport.from_json(json.dumps(document))
    stats = report.variants["fast"]
    want = document["variants"]["fast"]
    assert list(stats.samples) == samples and stats.calls_per_window == 32
    got = [stats.median, stats.q1, stats.q3, stats.ci_low, stats.ci_high]
    assert got == [want[k] for k in ("median", "q1", "q3", "ci_low", "ci_high")], got
    assert list(report.order) == document["order"] and report.settings == document["settings"]
    assert report.machine == document["machine"] and report.threads == document["threads"]
    broken = [
        ("median", lambda d: d["variants"]["fast"].pop("median")),
        ("calls_per_window", lambda d: d["variants"]["fast"].update(calls_per_window="32")),
        ("samples", lambda d: d["variants"]["fast"].update(samples=[0.5, "slow"])),
        ("q3", lambda d: d["variants"]["fast"].update(q3=True)),
        ("order", lambda d: d.update(order=["fast", "ghost"])),
        ("machine", lambda d: d.pop("machine")),
    ]
    for field, damage in broken:
        bad = json.loads(json.dumps(document))
        damage(bad)
        with pytest.raises(ValueError, match=field):
            benchmarking.BenchmarkReport.from_json(json.dumps(bad))
