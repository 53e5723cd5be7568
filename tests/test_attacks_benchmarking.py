"""Attacks on module 19's harness: harnesses that look right from outside (they return
reports of the right shape, in the right order) but measure dishonestly. Each is module
19's solution with one function replaced: all of A's windows before B's with the order
reported as interleaved, the warm-up skipped, the machine's clock instead of the given
one, a z interval (1.96) instead of the bootstrap, a verdict from the medians alone, and
thread variables never put back. Each must lose the points of the tests named."""

import pytest

from grader.remote.isolation import choose

from .attack_helpers import grade_with

# Times every window of one variant before the next, and reports the interleaved order.
SEQUENTIAL = """
def _sequential(variants, *, warmup=3, windows=10, min_window_seconds=0.01,
                clock=time.perf_counter, seed=0, confidence=0.95, resamples=10_000, threads=None):
    stats = {}
    with pin_threads(threads) if threads is not None else _unchanged() as pinned:
        for name, fn in variants.items():
            for _ in range(warmup):
                fn()
            number = calibrate(fn, min_window_seconds=min_window_seconds, clock=clock)
            samples = [time_window(fn, number, clock) / number for _ in range(windows)]
            stats[name] = summarize(name, number, samples, confidence=confidence,
                                    resamples=resamples, seed=seed)
        settings = {"warmup": warmup, "windows": windows, "seed": seed, "threads": threads,
                    "min_window_seconds": float(min_window_seconds)}
        order = tuple(name for _ in range(windows) for name in variants)
        return BenchmarkReport(stats, order, settings, machine_info(), pinned)
benchmark = _sequential
"""
# Skips the warm-up: the cold first calls are timed in calibration and in the windows.
SKIPS_WARMUP = """
_honest_benchmark = benchmark
def benchmark(variants, *, warmup=3, **options):
    return _honest_benchmark(variants, warmup=0, **options)
"""
# Reads the machine's clock, whatever clock it is given.
OWN_CLOCK = """
_honest_time_window = time_window
def time_window(fn, number, clock):
    return _honest_time_window(fn, number, time.perf_counter)
"""
# The textbook interval of the TinyTorch project: mean +- 1.96 sd / sqrt(n).
Z_INTERVAL = """
def median_interval(samples, *, confidence=0.95, resamples=10_000, seed=0):
    samples = np.asarray(samples, dtype=np.float64)
    half = 1.96 * samples.std() / np.sqrt(samples.size)
    return float(samples.mean() - half), float(samples.mean() + half)
"""
# Names the variant with the lower median as faster, whatever the noise.
MEDIANS_ONLY = """
def compare(a, b, *, max_relative_iqr=0.25):
    faster = a.name if a.median < b.median else b.name
    return Comparison(a.name, b.name, True, faster, b.median / a.median, "medians")
"""
# Sets the thread variables and OpenBLAS's pool, and leaves them so.
NEVER_RESTORES = """
@contextmanager
def pin_threads(threads):
    for name in THREAD_VARIABLES:
        os.environ[name] = str(threads)
    blas = _openblas()
    if blas:
        blas[1](threads)
    yield thread_settings()
"""


@pytest.fixture(scope="module")
def isolation():
    return choose(required=True)


@pytest.mark.slow
@pytest.mark.parametrize(
    "code,caught",
    [
        (SEQUENTIAL, {"test_benchmark_warms_up_calibrates_and_interleaves"}),
        (SKIPS_WARMUP, {"test_benchmark_warms_up_calibrates_and_interleaves"}),
        (OWN_CLOCK, {"test_calibration_doubles_until_a_window_is_long_enough"}),
        (Z_INTERVAL, {"test_median_interval_is_the_seeded_bootstrap"}),
        (
            MEDIANS_ONLY,
            {
                "test_a_noisy_pair_from_a_benchmark_cannot_be_ranked",
                "test_compare_ranks_only_apart_and_quiet_variants",
            },
        ),
        (
            NEVER_RESTORES,
            {
                "test_pinned_threads_hold_during_the_run_and_are_restored",
                "test_pin_threads_restores_after_an_error",
            },
        ),
    ],
    ids=["sequential", "skips-warmup", "own-clock", "z-interval", "medians-only", "no-restore"],
)
def test_a_dishonest_harness_loses_the_points_of_its_tests(tmp_path, isolation, code, caught):
    result = grade_with(tmp_path, 19, code, isolation)
    failed = {t.name for t in result.tests if not t.passed}
    assert caught <= failed, f"not caught by {sorted(caught - failed)}; failed: {sorted(failed)}"
    assert result.score < 100
