"""Hidden tests for module 15 (Profiling).

Latency statistics are checked on a clock the test scripts (aids.profiling.ScriptedClock):
every call lasts exactly the durations drawn here, so the expected samples, median and
quartiles are computed here with NumPy, never read off the machine's clock. Every call
on the student's code runs in the worker.

PYTEST_DONT_REWRITE: failures show the helpers' messages, never this file's source.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.testing.kit import aids, student

profiling = student.profiling
ScriptedClock = aids.profiling.ScriptedClock

# Durations that are multiples of 1/64 s: clock differences are exact in float64.
durations = st.lists(st.integers(1, 640).map(lambda k: k / 64), min_size=1, max_size=12)


# ---- 15.4 latency ----
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
