"""Visible tests for module 15 (Profiling). Run them with `make grade MODULE=15`.

Each test names its task. Timings are never judged by the machine's clock: the latency
tests hand `measure_latency` a scripted clock (`aids.profiling.ScriptedClock`, called to
read the time) whose every call of `clock.work` lasts exactly as long as the test says,
and check the statistics of those durations. Your code runs in a separate process:
`student.profiling` is your module there.
"""

import numpy as np
import pytest

from grader.testing.kit import aids, student

profiling = student.profiling
ScriptedClock = aids.profiling.ScriptedClock


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
