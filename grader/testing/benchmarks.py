"""Trusted references for benchmark harnesses (module 19, and module 20's grader tests).

A test scripts time: every call of the benchmarked "work" lasts a duration the test
chose (aids.profiling.ScriptedClock). From those durations this file works out, on the
trusted side, everything a correct harness must report: how many calls calibration
picks, the order in which the windows run, each window's seconds per call, the median,
quartiles and the seeded bootstrap interval of the median. Durations that are multiples
of 1/64 s keep every clock difference exact in float64.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from grader.testing.kit import aids

WARMUP_SECONDS = 1000.0
"""What a warm-up call lasts in a script: a harness that times it is far off."""


def doubling_calibration(durations: Sequence[float], target: float) -> tuple[int, int]:
    """(calls per window, calls used) of the rule 1, 2, 4, ...: the first window of
    `number` consecutive scripted calls lasting at least `target` seconds."""
    number, used = 1, 0
    while True:
        if used + number > len(durations):
            raise ValueError("the script ends before calibration does: add longer durations")
        elapsed = sum(durations[used : used + number])
        used += number
        if elapsed >= target:
            return number, used
        number *= 2


def median_interval(
    samples: Sequence[float], confidence: float, resamples: int, seed: int
) -> tuple[float, float]:
    """The bootstrap percentile interval of the median, by module 19's recipe."""
    values = np.asarray(samples, dtype=np.float64)
    picks = np.random.default_rng(seed).integers(0, values.size, size=(resamples, values.size))
    medians = np.median(values[picks], axis=1)
    low, high = np.percentile(medians, [50 * (1 - confidence), 50 * (1 + confidence)])
    return float(low), float(high)


def expected_stats(
    samples: Sequence[float], *, confidence: float = 0.95, resamples: int = 10_000, seed: int = 0
) -> dict[str, float]:
    """median, q1, q3, iqr, relative_iqr, ci_low and ci_high of per-call `samples`."""
    q1, median, q3 = (float(v) for v in np.percentile(samples, [25, 50, 75]))
    low, high = median_interval(samples, confidence, resamples, seed)
    return {
        "median": median,
        "q1": q1,
        "q3": q3,
        "iqr": q3 - q1,
        "relative_iqr": (q3 - q1) / median,
        "ci_low": low,
        "ci_high": high,
    }


@dataclass(frozen=True)
class Plan:
    """A scripted benchmark run, as a correct harness performs it."""

    script: list[float]
    """Every call's duration, in the order the calls must happen."""
    numbers: dict[str, int]
    """Calls per window of each variant."""
    samples: dict[str, list[float]]
    """Seconds per call of each variant's windows."""
    order: list[str]
    """The variants' names, window by window."""
    calls: dict[str, int]
    """How many times each variant is called in all."""


def interleaved_plan(
    variants: Mapping[str, tuple[Sequence[float], Sequence[float]]], warmup: int, target: float
) -> Plan:
    """The run of `benchmark(variants, warmup=warmup, min_window_seconds=target)` where
    variant `name` -> (its calibration calls' durations, its per-call duration in each
    window): warm-up and calibration variant by variant, then rounds of one window each."""
    script: list[float] = []
    numbers, calls = {}, {}
    for name, (calibration, _) in variants.items():
        number, used = doubling_calibration(calibration, target)
        script += [WARMUP_SECONDS] * warmup + list(calibration[:used])
        numbers[name], calls[name] = number, warmup + used
    rounds = {len(windows) for _, windows in variants.values()}
    if len(rounds) != 1:
        raise ValueError("every variant needs the same number of windows")
    samples: dict[str, list[float]] = {name: [] for name in variants}
    order = []
    for r in range(rounds.pop()):
        for name, (_, windows) in variants.items():
            script += [windows[r]] * numbers[name]
            samples[name].append(windows[r])  # exact: number * d seconds over number calls
            order.append(name)
            calls[name] += numbers[name]
    return Plan(script, numbers, samples, order, calls)


def run_scripted(
    harness: Any, variants: Mapping[str, tuple[Sequence[float], Sequence[float]]], **options: Any
) -> tuple[Any, Plan, Any]:
    """`harness.benchmark` (a module in the worker) of `variants` on a ScriptedClock that
    plays their `interleaved_plan`: (the report, the plan, the clock). `options` holds
    `warmup` and `min_window_seconds` (both needed here) and any other argument."""
    plan = interleaved_plan(variants, options["warmup"], options["min_window_seconds"])
    clock = aids.profiling.ScriptedClock(plan.script)
    report = harness.benchmark(
        {name: clock.work for name in variants},
        windows=len(plan.order) // len(variants),
        clock=clock,
        **options,
    )
    return report, plan, clock
