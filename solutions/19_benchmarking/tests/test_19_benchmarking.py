"""Visible tests for module 19 (Benchmarking). Run them with `make grade MODULE=19`.

Each test names its task. Timings are never judged by the machine's clock: the tests
hand your code a scripted clock (`aids.profiling.ScriptedClock`, called to read the
time) whose every call of `clock.work` lasts exactly as long as the test says, and work
out what a correct harness reports from those durations (grader/testing/benchmarks.py,
which also redoes the bootstrap with the same seed). Your code runs in a separate
process: `student.benchmarking` is your module there.
"""

import json

import numpy as np
import pytest

from grader.testing.benchmarks import expected_stats, median_interval, run_scripted
from grader.testing.kit import aids, student

benchmarking = student.benchmarking
ScriptedClock = aids.profiling.ScriptedClock


@pytest.mark.task("19.1")
@pytest.mark.points(4)
def test_calibration_doubles_the_calls_per_window():
    # windows of 1, 2 and 4 calls last 0.25, 0.5 and 1.0 s: 4 calls reach 0.75 s
    clock = ScriptedClock([0.25] * 7)
    got = benchmarking.calibrate(clock.work, min_window_seconds=0.75, clock=clock)
    assert got == 4, f"calibrate picked {got} calls per window, want 4"
    assert clock.calls == 7, f"1 + 2 + 4 calls to calibrate, your code made {clock.calls}"


@pytest.mark.task("19.2")
@pytest.mark.points(4)
def test_median_interval_follows_the_recipe():
    samples = [1.0, 1.25, 0.75, 3.0, 1.0, 1.5, 1.0, 0.5, 1.25, 1.0]
    got = benchmarking.median_interval(samples, confidence=0.9, resamples=2000, seed=7)
    want = median_interval(samples, 0.9, 2000, 7)
    assert np.allclose(got, want, rtol=1e-9, atol=0), f"interval {got}, want {want}"
    stats = benchmarking.summarize("v", 1, samples, confidence=0.9, resamples=2000, seed=7)
    assert (stats.median, stats.q1, stats.q3) == (1.0, 1.0, 1.25), "np.percentile 50, 25, 75"


@pytest.mark.task("19.3")
@pytest.mark.points(4)
def test_benchmark_interleaves_the_variants():
    # a: every call lasts 1/4 s (2 calls per 0.5 s window); b: 1/2 s (1 call per window)
    variants = {"a": ([0.25] * 3, [0.25] * 5), "b": ([0.5], [0.5, 0.75, 0.5, 0.5, 0.5])}
    report, plan, _ = run_scripted(
        benchmarking, variants, warmup=1, min_window_seconds=0.5, resamples=500
    )
    assert list(report.order) == ["a", "b"] * 5, f"order {report.order}: A B A B ..., please"
    assert report.variants["a"].calls_per_window == 2
    assert list(report.variants["b"].samples) == [0.5, 0.75, 0.5, 0.5, 0.5]
    want = expected_stats(plan.samples["b"], resamples=500)
    assert np.isclose(report.variants["b"].ci_high, want["ci_high"], rtol=1e-9, atol=0)


@pytest.mark.task("19.4")
@pytest.mark.points(4)
def test_compare_names_a_winner_only_when_the_intervals_are_apart():
    stats = benchmarking.VariantStats
    quick = stats("quick", 8, (1.0,), 1.0, 0.95, 1.05, 0.97, 1.03)
    slow = stats("slow", 4, (2.0,), 2.0, 1.9, 2.1, 1.95, 2.05)
    verdict = benchmarking.compare(slow, quick)
    assert verdict.rankable is True and verdict.faster == "quick", str(verdict)
    assert verdict.ratio == 0.5, f"ratio = quick's median / slow's median, got {verdict.ratio}"
    close = stats("close", 8, (1.02,), 1.02, 1.0, 1.04, 1.0, 1.05)
    verdict = benchmarking.compare(quick, close)
    assert verdict.rankable is False and verdict.faster is None, "the intervals overlap"
    noisy = stats("noisy", 8, (3.0,), 3.0, 2.0, 4.0, 2.9, 3.1)
    verdict = benchmarking.compare(quick, noisy)
    assert verdict.rankable is False and "noisy" in verdict.reason, str(verdict)


@pytest.mark.task("19.6")
@pytest.mark.points(4)
def test_the_report_goes_to_json_and_back():
    variants = {"base": ([0.5], [0.5] * 5), "fast": ([0.25] * 3, [0.25] * 5)}
    report, _, _ = run_scripted(
        benchmarking, variants, warmup=0, min_window_seconds=0.5, resamples=100
    )
    data = json.loads(report.to_json())
    assert data["format"] == "tinytorch-benchmark/1"
    assert data["variants"]["fast"]["samples"] == [0.25] * 5
    assert data["variants"]["fast"]["calls_per_window"] == 2
    assert {"cpu", "logical_cores", "python", "numpy", "blas"} <= set(data["machine"])
    data["variants"]["fast"]["median"] = 0.125
    back = benchmarking.BenchmarkReport.from_json(json.dumps(data))
    assert back.variants["fast"].median == 0.125, "from_json reads the document's values"
    del data["variants"]["base"]["ci_low"]
    with pytest.raises(ValueError, match="variants.base.ci_low"):
        benchmarking.BenchmarkReport.from_json(json.dumps(data))


@pytest.mark.task("19.5")
@pytest.mark.points(4)
def test_threads_are_pinned_for_the_run_and_put_back():
    names = ["OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"]
    aids.benchmarking.set_env({"OMP_NUM_THREADS": "4", "OPENBLAS_NUM_THREADS": None})
    clock = ScriptedClock([0.5] * 8)  # warm-up 1 call, calibration 1 call, 5 windows of 1
    probe = aids.benchmarking.EnvProbe(clock.work, names)
    report = benchmarking.benchmark(
        {"p": probe}, warmup=1, windows=5, min_window_seconds=0.5, clock=clock, threads=2
    )
    pinned = {name: "2" for name in names}
    assert list(probe.seen) == [pinned] * 7, f"during the run: {probe.seen[0]}"
    assert report.threads["variables"] == pinned, "the report says what the run used"
    after = aids.benchmarking.get_env(names[:2])
    want = {"OMP_NUM_THREADS": "4", "OPENBLAS_NUM_THREADS": None}
    assert after == want, f"after the run: {after}, want {want} (as before it)"
