# %% [markdown]
# # Module 19: Benchmarking
#
# "B is 1.3x faster than A" is a claim about two noisy measurements. This module builds
# the harness that makes such a claim honestly, or refuses to make it:
#
# - **warm-up**: the first calls pay for cold caches and lazy set-up, so they are not timed;
# - **calibrated windows**: a fast call is shorter than the clock can resolve, so calls are
#   timed in windows of `number` calls, `number` chosen so a window lasts long enough;
# - **median, IQR and a confidence interval**: timings are skewed by the slow outliers a
#   busy machine makes, so we report the median, its spread, and a bootstrap interval for
#   the median that is right for the few windows we have (not `1.96 * sd / sqrt(n)`);
# - **interleaving**: variants are timed in turns (A B A B ...) in one process, so a
#   machine that slows down half-way slows every variant alike;
# - **"cannot rank"**: when the runs are too noisy or the intervals overlap, the harness
#   says so instead of naming a winner;
# - **a JSON report** with the machine, the NumPy and BLAS build and the thread settings,
#   so a number can be read, compared and re-checked later.
#
# Tasks: 19.1 calibration, 19.2 statistics, 19.3 the interleaved benchmark, 19.4 the
# verdict, 19.5 thread pinning, 19.6 the JSON report.


# %%
from __future__ import annotations

import ctypes
import json
import math
import os
import platform
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from tinytorch.core.profiling import measure_latency

__all__ = [
    "time_window",
    "calibrate",
    "median_interval",
    "VariantStats",
    "summarize",
    "BenchmarkReport",
    "benchmark",
    "Comparison",
    "compare",
    "THREAD_VARIABLES",
    "pin_threads",
    "thread_settings",
    "machine_info",
]


# Argument checks shared by the tasks (given).
def _check_count(value: Any, name: str, least: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ValueError(f"{name} must be an int >= {least}, got {value!r}")


def _check_positive(value: Any, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValueError(f"{name} must be a number > 0, got {value!r}")


# %% [markdown]
# ## Task 19.1: calibration
#
# `time_window(fn, number, clock)` (given) times one window: `number` calls of `fn` in a
# row, read by module 15's `measure_latency` as a single timed call. It returns the
# seconds the whole window took.
#
# `calibrate(fn, *, min_window_seconds, clock)` chooses `number`: try 1 call, then 2, 4,
# 8, ... (doubling each time), timing one window of each size, and return the first
# `number` whose window lasted at least `min_window_seconds`. Give up with a
# `RuntimeError` once `max_calls` calls still were too short (a clock that never moves
# would otherwise loop for ever).


# %%
def time_window(fn: Callable[[], object], number: int, clock: Callable[[], float]) -> float:
    """Seconds taken by `number` calls of `fn` in a row, read on `clock`."""

    def window() -> None:
        for _ in range(number):
            fn()

    return measure_latency(window, warmup=0, repeats=1, clock=clock).median


def calibrate(
    fn: Callable[[], object],
    *,
    min_window_seconds: float,
    clock: Callable[[], float] = time.perf_counter,
    max_calls: int = 2**24,
) -> int:
    """The calls per window (1, 2, 4, ...) that first make a window last `min_window_seconds`."""
    _check_positive(min_window_seconds, "min_window_seconds")
    # BEGIN SOLUTION 19.1
    # HINT: number = 1; loop: elapsed = time_window(fn, number, clock); return number if
    # HINT: elapsed >= min_window_seconds; raise once number >= max_calls; number *= 2.
    number = 1
    while True:
        elapsed = time_window(fn, number, clock)
        if elapsed >= min_window_seconds:
            return number
        if number >= max_calls:
            raise RuntimeError(
                f"calibrate: {number} calls took {elapsed} s, still under "
                f"min_window_seconds={min_window_seconds}: is the clock moving?"
            )
        number *= 2
    # END SOLUTION


# %% [markdown]
# ## Task 19.2: statistics for few samples
#
# A benchmark gives one sample per window: seconds per call. There are few (10 windows is
# usual), and their distribution is skewed: a machine can make a call slower, never
# faster. So we summarise by the **median** and the quartiles `q1`, `q3` (`np.percentile`,
# linear interpolation, as module 15), and the interval for the median comes from the
# **bootstrap**: resample the windows with replacement many times, take the median of
# each resample, and keep the middle `confidence` of those medians.
#
# Why not `mean +- 1.96 * sd / sqrt(n)`? 1.96 is the normal distribution's quantile, right
# only for many samples: at n = 10 Student's t gives 2.262, so that interval is 13% too
# narrow, and it is an interval for the *mean* of normal data, which timings are not.
# The bootstrap needs neither assumption; with a seeded generator it is reproducible.
#
# `median_interval(samples, *, confidence, resamples, seed)` does exactly this (a test
# redoes it with the same seed, so follow the recipe):
#
#     rng = np.random.default_rng(seed)
#     picks = rng.integers(0, n, size=(resamples, n))   # n = len(samples)
#     medians = np.median(samples[picks], axis=1)        # samples as a float64 array
#     low, high = np.percentile(medians, [50 * (1 - confidence), 50 * (1 + confidence)])
#
# `summarize(name, calls_per_window, samples, ...)` puts it all in a `VariantStats`.


# %%
def median_interval(
    samples: Any, *, confidence: float = 0.95, resamples: int = 10_000, seed: int = 0
) -> tuple[float, float]:
    """A bootstrap percentile interval for the median of `samples` (seeded, reproducible)."""
    samples = np.asarray(samples, dtype=np.float64)
    if samples.ndim != 1 or samples.size == 0:
        raise ValueError(f"median_interval: expected a 1-D list of samples, got {samples.shape}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"median_interval: confidence must be in (0, 1), got {confidence!r}")
    _check_count(resamples, "resamples", 1)
    # BEGIN SOLUTION 19.2
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, samples.size, size=(resamples, samples.size))
    medians = np.median(samples[picks], axis=1)
    low, high = np.percentile(medians, [50 * (1 - confidence), 50 * (1 + confidence)])
    return float(low), float(high)
    # END SOLUTION


@dataclass(frozen=True)
class VariantStats:
    """One variant's timings, in seconds per call.

    Attributes:
        name: the variant's name.
        calls_per_window: the calls timed together in each window (from calibration).
        samples: seconds per call of each window, in the order measured.
        median, q1, q3: the median and quartiles of `samples`.
        ci_low, ci_high: the bootstrap interval for the median.
    """

    name: str
    calls_per_window: int
    samples: tuple[float, ...]
    median: float
    q1: float
    q3: float
    ci_low: float
    ci_high: float

    @property
    def iqr(self) -> float:
        """`q3 - q1`: the spread of the middle half of the windows."""
        return self.q3 - self.q1

    @property
    def relative_iqr(self) -> float:
        """The IQR as a fraction of the median (0.05: the middle half within 5%)."""
        return self.iqr / self.median if self.median > 0 else math.inf

    def __str__(self) -> str:
        return (
            f"{self.name}: median {self.median * 1e3:.4f} ms [{self.ci_low * 1e3:.4f}, "
            f"{self.ci_high * 1e3:.4f}], IQR {self.relative_iqr:.1%}, "
            f"{len(self.samples)} windows x {self.calls_per_window} calls"
        )


def summarize(
    name: str,
    calls_per_window: int,
    samples: Any,
    *,
    confidence: float = 0.95,
    resamples: int = 10_000,
    seed: int = 0,
) -> VariantStats:
    """`VariantStats` of per-call `samples`: median, quartiles and the median's interval."""
    # BEGIN SOLUTION 19.2
    samples = tuple(float(s) for s in samples)
    q1, median, q3 = np.percentile(samples, [25, 50, 75])
    low, high = median_interval(samples, confidence=confidence, resamples=resamples, seed=seed)
    return VariantStats(
        name, calls_per_window, samples, float(median), float(q1), float(q3), low, high
    )
    # END SOLUTION


# %% [markdown]
# ## Given: the machine and its threads
#
# A timing means little without the machine it came from. `machine_info()` reads the
# CPU model, the cores this process may use, Python, NumPy and the BLAS NumPy was built
# with (`np.show_config(mode="dicts")`). `thread_settings()` reports the thread variables
# and, when NumPy's OpenBLAS can be found in this process, its live thread count.
#
# **What can change after NumPy has loaded.** OpenBLAS, OpenMP and MKL read
# `OPENBLAS_NUM_THREADS`, `OMP_NUM_THREADS` and `MKL_NUM_THREADS` once, when the library
# loads, which is when NumPy is imported. Setting them later changes nothing in this
# process; it only reaches child processes started afterwards. OpenBLAS's running pool
# can still be resized through its own `openblas_set_num_threads` (reached here with
# `ctypes`, as threadpoolctl does); an MKL or OpenMP pool already running cannot be
# resized with the standard library and NumPy alone.


# %%
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
THREADS_NOTE = (
    "thread variables are read when a library loads: set here after NumPy loaded, they "
    "reach child processes only; OpenBLAS's own pool is resized through "
    "openblas_set_num_threads when found (blas_threads); MKL and OpenMP pools are not"
)


def _openblas() -> tuple[Callable[[], int], Callable[[int], None]] | None:
    """OpenBLAS's get and set thread-count functions, if this process has loaded it."""
    try:
        with open("/proc/self/maps", encoding="utf-8") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line.lower()}
    except OSError:
        return None
    for path in sorted(paths):
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix, suffix in (("scipy_openblas", "64_"), ("scipy_openblas", ""), ("openblas", "")):
            getter = getattr(library, f"{prefix}_get_num_threads{suffix}", None)
            setter = getattr(library, f"{prefix}_set_num_threads{suffix}", None)
            if getter is not None and setter is not None:
                getter.restype, setter.argtypes = ctypes.c_int, [ctypes.c_int]
                return getter, setter
    return None


def thread_settings() -> dict[str, Any]:
    """The thread variables now, and OpenBLAS's live thread count (None if not found)."""
    blas = _openblas()
    return {
        "variables": {name: os.environ.get(name) for name in THREAD_VARIABLES},
        "blas_threads": int(blas[0]()) if blas else None,
        "note": THREADS_NOTE,
    }


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict[str, Any]:
    """CPU, cores, Python, NumPy and the BLAS NumPy was built with: plain JSON data."""
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    except (KeyError, TypeError, ValueError):
        blas = {}
    affinity = getattr(os, "sched_getaffinity", None)
    return {
        "cpu": _cpu_model(),
        "logical_cores": os.cpu_count(),
        "usable_cores": len(affinity(0)) if affinity else os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas": {key: blas.get(key) for key in ("name", "version", "openblas configuration")},
    }


# %% [markdown]
# ## Task 19.3: the interleaved benchmark
#
# `benchmark(variants, *, warmup, windows, min_window_seconds, clock, seed, ...)` times
# every variant (a name -> a function of no arguments) in one process:
#
# 1. for each variant in the mapping's order: `warmup` untimed calls, then `calibrate`;
# 2. `windows` rounds; in each round, one window of every variant in the mapping's order
#    (A B A B ...), each window `time_window(fn, number, clock)`; a sample is the window's
#    seconds divided by its `number`; `order` lists the variants' names as timed;
# 3. `summarize` each variant (same `confidence`, `resamples` and `seed` for each), and
#    return a `BenchmarkReport` with `machine_info()` and `thread_settings()` taken
#    during the run.
#
# With `threads=n`, everything runs inside `pin_threads(n)` (Task 19.5).


# %%
@dataclass(frozen=True)
class BenchmarkReport:
    """What `benchmark` measured, and where.

    Attributes:
        variants: the `VariantStats` of each variant, by name, in the order given.
        order: the variants' names in the order their windows were timed.
        settings: warmup, windows, min_window_seconds, seed, confidence, resamples, threads.
        machine: `machine_info()` of the machine that ran it.
        threads: `thread_settings()` during the run.
    """

    variants: dict[str, VariantStats]
    order: tuple[str, ...]
    settings: dict[str, Any]
    machine: dict[str, Any]
    threads: dict[str, Any]

    def compare(self, a: str, b: str, *, max_relative_iqr: float = 0.25) -> Comparison:
        """`compare` of the variants named `a` and `b`."""
        for name in (a, b):
            if name not in self.variants:
                raise KeyError(f"no variant {name!r} in this report: {sorted(self.variants)}")
        return compare(self.variants[a], self.variants[b], max_relative_iqr=max_relative_iqr)

    def to_json(self) -> str:
        """The report as JSON text (Task 19.6)."""
        return json.dumps(_report_to_dict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> BenchmarkReport:
        """A report back from `to_json`'s text; a `ValueError` names a missing or bad field."""
        return _report_from_dict(json.loads(text))


def benchmark(
    variants: Mapping[str, Callable[[], object]],
    *,
    warmup: int = 3,
    windows: int = 10,
    min_window_seconds: float = 0.01,
    clock: Callable[[], float] = time.perf_counter,
    seed: int = 0,
    confidence: float = 0.95,
    resamples: int = 10_000,
    threads: int | None = None,
) -> BenchmarkReport:
    """Time each variant in interleaved windows; see the task above for the steps."""
    if not isinstance(variants, Mapping) or not variants:
        raise ValueError("benchmark: variants must be a non-empty mapping of name -> function")
    for name, fn in variants.items():
        if not isinstance(name, str) or not callable(fn):
            raise TypeError(f"benchmark: variant {name!r} must be a str name with a callable")
    _check_count(warmup, "warmup", 0)
    _check_count(windows, "windows", 5)
    _check_positive(min_window_seconds, "min_window_seconds")
    _check_count(resamples, "resamples", 1)
    _check_count(seed, "seed", 0)
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"benchmark: confidence must be in (0, 1), got {confidence!r}")
    settings = {
        "warmup": warmup,
        "windows": windows,
        "min_window_seconds": float(min_window_seconds),
        "seed": seed,
        "confidence": confidence,
        "resamples": resamples,
        "threads": threads,
        "interval": "bootstrap percentile interval of the median",
    }
    with pin_threads(threads) if threads is not None else _unchanged() as pinned:
        # BEGIN SOLUTION 19.3
        # HINT: numbers[name] = calibrate(...) after the warm-up; then for each round, for
        # HINT: name, fn in variants.items(): time_window(fn, numbers[name], clock) / numbers[name].
        numbers = {}
        for name, fn in variants.items():
            for _ in range(warmup):
                fn()
            numbers[name] = calibrate(fn, min_window_seconds=min_window_seconds, clock=clock)
        samples: dict[str, list[float]] = {name: [] for name in variants}
        order = []
        for _ in range(windows):
            for name, fn in variants.items():
                samples[name].append(time_window(fn, numbers[name], clock) / numbers[name])
                order.append(name)
        stats = {
            name: summarize(
                name,
                numbers[name],
                samples[name],
                confidence=confidence,
                resamples=resamples,
                seed=seed,
            )
            for name in variants
        }
        return BenchmarkReport(stats, tuple(order), settings, machine_info(), pinned)
        # END SOLUTION


@contextmanager
def _unchanged() -> Iterator[dict[str, Any]]:
    yield thread_settings()


# %% [markdown]
# ## Task 19.4: a verdict, or "cannot rank"
#
# `compare(a, b, *, max_relative_iqr)` decides which of two variants is faster, only when
# the data can say so:
#
# - if either variant's `relative_iqr` is above `max_relative_iqr`, the runs are too
#   noisy: `rankable=False`, and `reason` names the noisy variant;
# - else if one interval `[ci_low, ci_high]` lies entirely below the other (touching
#   does not count), `rankable=True` and `faster` is the name of the lower one;
# - else the intervals overlap and the difference may be noise: `rankable=False`, and
#   `reason` says the intervals overlap.
#
# `ratio` is always `b.median / a.median` (above 1: `a` is faster), for the record.


# %%
@dataclass(frozen=True)
class Comparison:
    """The verdict on two variants: `faster` is a name, or None when they cannot be ranked."""

    a: str
    b: str
    rankable: bool
    faster: str | None
    ratio: float
    reason: str

    def __str__(self) -> str:
        if not self.rankable:
            return f"cannot rank {self.a} and {self.b}: {self.reason}"
        slower = self.b if self.faster == self.a else self.a
        speedup = self.ratio if self.faster == self.a else 1 / self.ratio
        return f"{self.faster} is {speedup:.2f}x faster than {slower} ({self.reason})"


def compare(a: VariantStats, b: VariantStats, *, max_relative_iqr: float = 0.25) -> Comparison:
    """Which of `a` and `b` is faster, or not rankable when noise could explain the gap."""
    _check_positive(max_relative_iqr, "max_relative_iqr")
    # BEGIN SOLUTION 19.4
    # HINT: check both relative IQRs first; then a.ci_high < b.ci_low means a is faster,
    # HINT: b.ci_high < a.ci_low means b is; anything else overlaps.
    ratio = b.median / a.median
    for stats in (a, b):
        if stats.relative_iqr > max_relative_iqr:
            reason = (
                f"{stats.name} is too noisy (IQR {stats.relative_iqr:.1%} of its median, "
                f"limit {max_relative_iqr:.1%})"
            )
            return Comparison(a.name, b.name, False, None, ratio, reason)
    if a.ci_high < b.ci_low:
        faster = a.name
    elif b.ci_high < a.ci_low:
        faster = b.name
    else:
        return Comparison(a.name, b.name, False, None, ratio, "the intervals overlap")
    return Comparison(a.name, b.name, True, faster, ratio, "the intervals are apart")
    # END SOLUTION


# %% [markdown]
# ## Task 19.5: thread pinning
#
# A benchmark's numbers depend on how many threads BLAS uses, so pin them for a run and
# report them. `pin_threads(threads)` is a context manager: on entry it sets each of
# `THREAD_VARIABLES` to `str(threads)` and, when OpenBLAS is found (`_openblas()`), sets
# its live thread count too; it yields `thread_settings()` as they are inside. On exit,
# even after an error, it puts everything back: a variable that was not set before is
# removed again, and OpenBLAS gets its previous count.


# %%
@contextmanager
def pin_threads(threads: int) -> Iterator[dict[str, Any]]:
    """Set the thread variables (and OpenBLAS's pool) to `threads` inside the block."""
    _check_count(threads, "threads", 1)
    # BEGIN SOLUTION 19.5
    # HINT: before = {name: os.environ.get(name) ...}; blas = _openblas() (get, set or None);
    # HINT: try: set them, yield thread_settings(); finally: put every one back.
    before = {name: os.environ.get(name) for name in THREAD_VARIABLES}
    blas = _openblas()
    blas_before = blas[0]() if blas else None
    try:
        for name in THREAD_VARIABLES:
            os.environ[name] = str(threads)
        if blas:
            blas[1](threads)
        yield thread_settings()
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        if blas:
            blas[1](blas_before)
    # END SOLUTION


# %% [markdown]
# ## Task 19.6: the JSON report
#
# `report.to_json()` writes `{"format": "tinytorch-benchmark/1", "settings", "machine",
# "threads", "order", "variants"}`, where `variants` maps each name to its `VariantStats`
# fields (`dataclasses.asdict`, samples as a list) plus `iqr` and `relative_iqr`.
# `BenchmarkReport.from_json(text)` reads it back into an equal report, and refuses a
# document that is not one with a `ValueError` naming the field (`variants.a.median`).


# %%
FORMAT = "tinytorch-benchmark/1"
_STATS_FIELDS = {
    "name": str,
    "calls_per_window": int,
    "samples": list,
    "median": float,
    "q1": float,
    "q3": float,
    "ci_low": float,
    "ci_high": float,
}


def _field(data: Any, key: str, kind: type, where: str) -> Any:
    """`data[key]`, checked to be a `kind` (an int is a float too; a bool is neither)."""
    if not isinstance(data, dict) or key not in data:
        raise ValueError(f"benchmark report: missing field {where}{key}")
    value = data[key]
    kinds = (int, float) if kind is float else kind
    if isinstance(value, bool) or not isinstance(value, kinds):
        raise ValueError(f"benchmark report: {where}{key} must be a {kind.__name__}")
    return value


def _report_to_dict(report: BenchmarkReport) -> dict[str, Any]:
    # BEGIN SOLUTION 19.6
    # HINT: {**asdict(stats), "samples": list(stats.samples), "iqr": ..., "relative_iqr": ...}
    variants = {}
    for name, stats in report.variants.items():
        fields = asdict(stats)
        fields["samples"] = list(stats.samples)
        variants[name] = {**fields, "iqr": stats.iqr, "relative_iqr": stats.relative_iqr}
    return {
        "format": FORMAT,
        "settings": report.settings,
        "machine": report.machine,
        "threads": report.threads,
        "order": list(report.order),
        "variants": variants,
    }
    # END SOLUTION


def _report_from_dict(data: Any) -> BenchmarkReport:
    if _field(data, "format", str, "") != FORMAT:
        raise ValueError(f"benchmark report: format must be {FORMAT!r}")
    # BEGIN SOLUTION 19.6
    # HINT: _field(fields, key, kind, f"variants.{name}.") for each of _STATS_FIELDS; samples
    # HINT: must all be numbers; every name in order must be a variant.
    variants = {}
    for name, fields in _field(data, "variants", dict, "").items():
        where = f"variants.{name}."
        values = {key: _field(fields, key, kind, where) for key, kind in _STATS_FIELDS.items()}
        if not all(
            isinstance(s, int | float) and not isinstance(s, bool) for s in values["samples"]
        ):
            raise ValueError(f"benchmark report: {where}samples must be a list of numbers")
        values["samples"] = tuple(float(s) for s in values["samples"])
        for key in ("median", "q1", "q3", "ci_low", "ci_high"):
            values[key] = float(values[key])
        variants[name] = VariantStats(**values)
    order = _field(data, "order", list, "")
    if any(name not in variants for name in order):
        raise ValueError("benchmark report: order names a variant that is not in variants")
    return BenchmarkReport(
        variants,
        tuple(order),
        _field(data, "settings", dict, ""),
        _field(data, "machine", dict, ""),
        _field(data, "threads", dict, ""),
    )
    # END SOLUTION
