# %% [markdown]
# # Module 15: Profiling
#
# Before you make a model faster or smaller, measure it. Four numbers describe what a
# model costs, and each one here is either counted exactly or measured, never guessed:
#
# - **parameters**: how many numbers the model learns;
# - **FLOPs**: the arithmetic of one forward pass, counted from the shapes;
# - **bytes**: the memory of the parameters, their gradients, the optimizer's state and
#   the activations of one batch;
# - **latency**: how long one call takes, timed after a warm-up, summarised by the
#   median and the interquartile range (a noisy machine moves the mean, not the median).
#
# Task: 15.4 latency.


# %%
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["LatencyStats", "measure_latency"]


# %% [markdown]
# ## Task 15.4: latency
#
# A single timing says little: the first calls pay for cold caches and lazy set-up, and
# any later call can be slowed by another program. So run `fn` `warmup` times without
# timing it, then `repeats` times, each timed alone with `clock` (seconds, by default
# `time.perf_counter`). Read the clock right before and right after each call, and
# nothing else between: every sample is one call's duration.
#
# Summarise the samples by their median and quartiles, the 25th and 75th percentiles
# with linear interpolation (`np.percentile`'s default, as `torch.quantile`). Half the
# runs took between `q1` and `q3`; their difference, the interquartile range, says how
# much to trust the median. `clock` is a parameter so that a test can hand in a clock
# it controls; your own measurements keep the default.


# %%
@dataclass(frozen=True)
class LatencyStats:
    """Timings of repeated calls, in seconds.

    Attributes:
        median: the middle duration (the number to report).
        q1, q3: the 25th and 75th percentiles (linear interpolation).
        samples: every timed duration, in the order measured.
    """

    median: float
    q1: float
    q3: float
    samples: tuple[float, ...]

    @property
    def iqr(self) -> float:
        """The interquartile range `q3 - q1`: how spread the middle half of the runs is."""
        return self.q3 - self.q1

    def __str__(self) -> str:
        return (
            f"median {self.median * 1e3:.3f} ms (IQR {self.iqr * 1e3:.3f} ms, "
            f"{len(self.samples)} runs)"
        )


def measure_latency(
    fn: Callable[[], object],
    *,
    warmup: int = 3,
    repeats: int = 20,
    clock: Callable[[], float] = time.perf_counter,
) -> LatencyStats:
    """Time `fn()`: `warmup` untimed calls, then `repeats` calls each timed by `clock`.

    Example:
        >>> stats = measure_latency(lambda: sum(range(1000)), repeats=5)
        >>> len(stats.samples), stats.q1 <= stats.median <= stats.q3
        (5, True)
    """
    if not callable(fn) or not callable(clock):
        raise TypeError("measure_latency(fn, clock=...) needs callables for fn and clock")
    for name, value, least in (("warmup", warmup, 0), ("repeats", repeats, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ValueError(f"measure_latency: {name} must be an int >= {least}, got {value!r}")
    # BEGIN SOLUTION 15.4
    # HINT: call fn() warmup times; then for each repeat: start = clock(); fn();
    # HINT: durations.append(clock() - start). np.percentile(durations, [25, 50, 75]).
    for _ in range(warmup):
        fn()
    durations = []
    for _ in range(repeats):
        start = clock()
        fn()
        durations.append(float(clock() - start))
    q1, median, q3 = np.percentile(durations, [25, 50, 75])
    return LatencyStats(float(median), float(q1), float(q3), tuple(durations))
    # END SOLUTION
