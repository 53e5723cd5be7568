"""Within the platform's limits: batches that keep finished results at their time limit,
the batch size from the job limit, and the billed minutes a month."""

from __future__ import annotations

import json
import types

import pytest
import yaml

from grader.grade.session import RUN_CAP_SECONDS
from grader.remote.isolation import choose
from grader.service import batch
from grader.service.batch import grade_batch
from grader.service.config import (
    COMMIT_WORST_SECONDS,
    GRADE_JOB_MINUTES,
    JOB_SETUP_SECONDS,
    derived_batch_size,
    parse_delivery,
)
from grader.service.cost import DEFAULT_PUSHES, INCLUDED_MINUTES, billed, estimate
from grader.service.plan import Job
from tests.conftest import COURSE, LAYOUT
from tests.service_helpers import NOW, at, result

DELIVERY_DEFAULT = parse_delivery(
    {"delivery": {"platform": "organization", "organization": "o", "repository_prefix": "t-"}}
)


def test_a_commit_that_cannot_be_fetched_is_reported_and_the_batch_goes_on(tmp_path):
    jobs = tuple(
        Job(f"course/ml-tinytorch-{name}", name, "1" * 40, at(NOW), ("01",), True)
        for name in ("olga", "pete")
    )
    report = grade_batch(
        jobs=jobs,
        layout=LAYOUT,
        course=COURSE,
        token="s3cret-token",
        clone_url=f"file://{tmp_path}/{{repository}}.git",
        isolation=choose(False),
    )
    assert [r.job.student for r in report.results] == ["olga", "pete"]
    for item in report.results:
        assert item.error.startswith("RuntimeError: git fetch of 1111111 failed")
        assert "s3cret-token" not in item.error and item.results == ()


def batch_jobs(count: int) -> tuple[Job, ...]:
    names = [f"course/ml-tinytorch-z{n}" for n in range(count)]
    return tuple(
        Job(n, n.rsplit("-", 1)[1], f"{i + 1:040x}", at(NOW), ("01",), True)
        for i, n in enumerate(names)
    )


def grade_three(out, **options) -> batch.BatchReport:
    """A batch of three students, graded here (fetching and grading are stubbed)."""
    return batch.grade_batch(
        jobs=batch_jobs(3),
        layout=LAYOUT,
        course=COURSE,
        clone_url="x",
        token="",
        isolation=choose(False),
        out=out,
        **options,
    )


def test_a_batch_that_hits_its_time_limit_keeps_its_finished_results(tmp_path, monkeypatch):
    """Actions stops a job at its time limit in the middle of a commit: the commits graded
    before are in the results file, and publish reads them."""
    calls = []

    def graded_then_stopped(**_):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the runner stops the job here
        return types.SimpleNamespace(results=(result(100),))

    monkeypatch.setattr(batch, "fetch_commit", lambda *args, **kwargs: None)
    monkeypatch.setattr(batch, "grade", graded_then_stopped)
    out = tmp_path / "results" / "batch-0.json"
    with pytest.raises(KeyboardInterrupt):
        grade_three(out)
    kept, problems = batch.read_batches([out])
    assert [r.job.student for r in kept] == ["z0"] and kept[0].results[0].score == 100
    assert problems == []


def test_a_batch_starts_no_commit_that_could_outlast_its_job(tmp_path, monkeypatch):
    monkeypatch.setattr(batch, "fetch_commit", lambda *args, **kwargs: None)
    monkeypatch.setattr(batch, "grade", lambda **_: types.SimpleNamespace(results=(result(50),)))
    moments = iter([0.0, 100.0, 100.0, 200.0, 200.0])
    report = grade_three(
        tmp_path / "b.json",
        deadline=100.0 + COMMIT_WORST_SECONDS + 50.0,
        clock=lambda: next(moments),
    )
    assert [r.job.student for r in report.results] == ["z0", "z1"]
    assert [j.student for j in report.left] == ["z2"]
    assert len(batch.read_batches([tmp_path / "b.json"])[0]) == 2


def test_a_damaged_results_file_or_result_is_named_and_the_rest_published(tmp_path):
    """A truncated artifact, a file of the wrong shape and one damaged result among good
    ones: each is named; every good result is still read."""
    monkey_results = [
        batch.JobResult(Job(f"org/r{i}", f"s{i}", f"{i:040x}", None, ("01",)), (result(80),))
        for i in range(3)
    ]
    good, mixed = tmp_path / "batch-0.json", tmp_path / "batch-1.json"
    good.write_text(batch.BatchReport(monkey_results[:2]).to_json())
    items = json.loads(batch.BatchReport(monkey_results[2:]).to_json())
    mixed.write_text(json.dumps([*items, {"job": {"repository": "org/x"}}]))
    cut = tmp_path / "batch-2.json"
    cut.write_text(good.read_text()[:200])
    shaped = tmp_path / "batch-3.json"
    shaped.write_text('{"not": "a list"}')
    found, problems = batch.read_batches([good, mixed, cut, shaped])
    assert [r.job.student for r in found] == ["s0", "s1", "s2"]
    assert [p.split(":")[0] for p in problems] == ["batch-1.json", "batch-2.json", "batch-3.json"]
    assert "result 1 damaged" in problems[0]


def test_the_batch_size_follows_from_the_grade_jobs_time_limit():
    workflow = yaml.safe_load((LAYOUT.root / "grader/service/grade-students.yml").read_text())
    grade_job = workflow["jobs"]["grade"]
    assert grade_job["timeout-minutes"] == GRADE_JOB_MINUTES
    assert COMMIT_WORST_SECONDS >= RUN_CAP_SECONDS + 60
    size = DELIVERY_DEFAULT.batch_size
    assert size == derived_batch_size() >= 1
    assert size * COMMIT_WORST_SECONDS + JOB_SETUP_SECONDS <= GRADE_JOB_MINUTES * 60
    upload = next(s for s in grade_job["steps"] if "upload-artifact" in s.get("uses", ""))
    assert upload.get("if") == "always()"  # a batch stopped at its limit still hands over


def test_the_cost_estimate_follows_the_workflows_and_fits_sixty_students():
    usage = estimate(COURSE, 60, DEFAULT_PUSHES)
    assert usage.total <= INCLUDED_MINUTES  # the shipped defaults, 60 students
    assert usage.plan >= 24 * 30  # a plan job every hour, each at least a billed minute
    one = estimate(COURSE, 60, 0)
    assert one.push_grading == 0 and one.grading == 0
    assert estimate(COURSE, 60, 1).push_grading >= 60 * 3  # Classroom 50: three jobs a push
    sizes = [estimate(COURSE, n, DEFAULT_PUSHES).total for n in (30, 60, 200, 500)]
    assert sizes == sorted(sizes) and sizes[-1] > INCLUDED_MINUTES
    assert billed(1) == 1 and billed(61) == 2


def test_the_hourly_plan_job_installs_nothing_and_caches_serve_the_others():
    """Each scheduled run bills its plan job: it must stay a checkout and python3."""
    jobs = yaml.safe_load((LAYOUT.root / "grader/service/grade-students.yml").read_text())["jobs"]
    plan_steps = jobs["plan"]["steps"]
    assert not any("setup-python" in s.get("uses", "") for s in plan_steps)
    assert not any("make" in s.get("run", "") or "pip" in s.get("run", "") for s in plan_steps)
    assert any("python3 -s -m grader.service" in s.get("run", "") for s in plan_steps)
    for name in ("grade", "publish"):
        uses = [s.get("uses", "") for s in jobs[name]["steps"]]
        assert any(u.startswith("actions/cache@") for u in uses), name  # the environment
        python = next(s for s in jobs[name]["steps"] if "setup-python" in s.get("uses", ""))
        assert python["with"]["cache"] == "pip"
    grade_runs = " ".join(s.get("run", "") for s in jobs["grade"]["steps"])
    assert "apt-packages" in grade_runs  # bubblewrap's package, kept between runs
