"""Module 19 against `torch.utils.benchmark.Measurement`: the same window times (seconds
for `number` calls each) give the same per-call times, median and IQR, from `summarize`
and from a whole `benchmark` run on a scripted clock. (PyTorch has no interval or
verdict to compare: departures.py says so.)"""

from __future__ import annotations

import numpy as np
import pytest
from torch.utils.benchmark.utils.common import Measurement, TaskSpec

from tests.parity.compare import COMPARISONS, rng
from tinytorch.core import benchmarking


def measurement(number: int, window_seconds: list[float]) -> Measurement:
    return Measurement(number, window_seconds, TaskSpec("pass", "pass"))


def same(ours: float, theirs: float, what: str) -> None:
    COMPARISONS[0] += 1
    assert np.isclose(ours, theirs, rtol=1e-12, atol=0), f"{what}: {ours}, PyTorch {theirs}"


@pytest.mark.parametrize("seed", range(6))
def test_summarize_matches_measurement(seed):
    r = rng(seed)
    number = int(r.integers(1, 64))
    windows = list(r.lognormal(-5, 0.5, size=int(r.integers(5, 30))))
    theirs = measurement(number, windows)
    ours = benchmarking.summarize("v", number, [w / number for w in windows], resamples=200)
    assert np.allclose(ours.samples, theirs.times, rtol=1e-12, atol=0)
    same(ours.median, theirs.median, "median")
    same(ours.iqr, theirs.iqr, "iqr")


class _Clock:
    """Time passes only when `work` runs: each call lasts the next scripted duration."""

    def __init__(self, durations: list[float]) -> None:
        self.durations, self.now = iter(durations), 0.0

    def __call__(self) -> float:
        return self.now

    def work(self) -> None:
        self.now += next(self.durations)


def test_a_benchmark_run_matches_measurement_of_its_windows():
    per_call = [0.25, 0.5, 0.25, 0.75, 0.25, 1.0, 0.5]
    # warm-up 1 call (1000 s), calibration 1 + 2 calls of 0.25 s (2 calls reach 0.5 s)
    clock = _Clock([1000.0] + [0.25] * 3 + [d for d in per_call for _ in range(2)])
    report = benchmarking.benchmark(
        {"v": clock.work}, warmup=1, windows=7, min_window_seconds=0.5, clock=clock
    )
    theirs = measurement(2, [2 * d for d in per_call])
    stats = report.variants["v"]
    assert stats.calls_per_window == 2 and list(stats.samples) == theirs.times
    same(stats.median, theirs.median, "median of a benchmark run")
    same(stats.iqr, theirs.iqr, "iqr of a benchmark run")
