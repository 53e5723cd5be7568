"""Grade one batch of the plan: one job of the Actions matrix.

Each commit is fetched alone (`git fetch --depth 1 <sha>`) into a fresh bare repository,
and only its `assignments/NN_slug/<module>.py` files are read, as blobs (regular files of
limited size, never links; nothing is checked out): the engine, the tests, classroom.yml
and the reference solutions come from this grader repository (never the student's
copies). Grading is official: the student's code runs in the OS-isolated worker, with the
hidden tests, and a machine without isolation refuses. The token reaches git through the
environment of the fetch only; the worker's environment is cleared (grader/remote/isolation.py).
No late penalty is applied here: publishing applies it from the push times GitHub
recorded. One commit that cannot be fetched or graded is reported, and the batch goes on.
The results file is rewritten after every commit graded, so a job stopped at its time
limit keeps what it finished (the workflow uploads it whatever happened); a commit is
started only while the job's own deadline leaves room for its run cap, and the rest is
left for the next run.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from grader.course import Course
from grader.github.repos import git_environment
from grader.grade.session import grade
from grader.layout import Layout
from grader.remote.isolation import Isolation
from grader.report.results import ModuleResult, Totals, module_result_from_dict
from grader.service.config import COMMIT_WORST_SECONDS
from grader.service.plan import Job
from grader.submission import MODULE_FILE_LIMIT

FETCH_TIMEOUT_SECONDS = 300


@dataclass(frozen=True)
class JobResult:
    job: Job
    results: tuple[ModuleResult, ...] = ()
    error: str = ""
    """Why the commit could not be graded (it is retried in a later run)."""
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {
            "job": self.job.to_dict(),
            "results": [dataclasses.asdict(r) for r in self.results],
            "error": self.error,
            "seconds": round(self.seconds, 1),
        }

    @classmethod
    def from_dict(cls, data: dict) -> JobResult:
        job = Job.from_dict(data["job"])
        results = tuple(module_result_from_dict(r) for r in data["results"])
        return cls(job, results, str(data.get("error", "")), float(data.get("seconds", 0)))


@dataclass
class BatchReport:
    results: list[JobResult] = field(default_factory=list)
    left: list[Job] = field(default_factory=list)
    """Jobs not started because the job's deadline was near (graded next run)."""

    def to_json(self) -> str:
        return json.dumps([r.to_dict() for r in self.results], indent=1) + "\n"

    def save(self, path: Path) -> None:
        """Write atomically: a job stopped mid-write leaves the previous file whole."""
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.write_text(self.to_json(), encoding="utf-8")
        os.replace(partial, path)


def read_batches(paths: list[Path]) -> tuple[list[JobResult], list[str]]:
    """(every job result the batch files hold, problems): a file that is not a list of
    results, or one result in it that is damaged, is named and skipped; its jobs are
    graded again next run and every other result is published."""
    found, problems = [], []
    for path in paths:
        try:
            items = json.loads(path.read_text("utf-8"))
            if not isinstance(items, list):
                raise ValueError("not a list of job results")
        except (ValueError, OSError) as error:
            problems.append(f"{path.name}: unreadable, skipped ({error})")
            continue
        for index, item in enumerate(items):
            try:
                found.append(JobResult.from_dict(item))
            except (ValueError, KeyError, TypeError, AttributeError) as error:
                problems.append(f"{path.name}: result {index} damaged, skipped ({error!r})")
    return found, problems


REGULAR_FILE_MODES = ("100644", "100755")
LINK_MODE = "120000"
"""What `git ls-tree` shows for a file and for a link; a submodule (160000) is neither."""


def module_paths(course: Course, job: Job) -> list[str]:
    """The files of a commit that grading a job reads: its modules' files and those of
    their prerequisites (which may come from the student's own code)."""
    modules = [course.module(key) for key in job.modules]
    needed = {m for module in modules for m in [*course.prerequisite_closure(module), module]}
    return [f"assignments/{m.dirname}/{m.filename}" for m in course.modules if m in needed]


def fetch_commit(clone_url: str, sha: str, target: Path, token: str, paths: list[str]) -> None:
    """Write exactly the files `paths` of commit `sha` of the repository at `clone_url`
    under `target`, read as blobs from git, never checked out. What is not a regular file
    of at most the module file limit is not read: in its place goes a stand-in that
    grading refuses with the same reason as in the student's own checkout (a link that
    points nowhere for a link, mode 120000, be it the file or a folder on its way; a
    folder for a submodule; an empty sparse file of the blob's size for one too large).
    The commit's other files, however many its trees name, are never written."""
    env = git_environment(token)
    repository = target.parent / f"{target.name}.git"

    def git(step: str, *arguments: str) -> bytes:
        done = subprocess.run(
            ["git", *arguments], env=env, capture_output=True, timeout=FETCH_TIMEOUT_SECONDS
        )
        if done.returncode != 0:
            lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
            message = (lines or ["no message"])[-1]
            if token:
                message = message.replace(token, "***")
            raise RuntimeError(f"git {step} of {sha[:7]} failed: {message}")
        return done.stdout

    git("init", "init", "--quiet", "--bare", str(repository))
    on = ["--git-dir", str(repository)]
    git("fetch", *on, "fetch", "--quiet", "--depth", "1", clone_url, sha)
    folders = sorted({str(Path(p).parent) for p in paths} | {"assignments"})
    listing = git(
        "ls-tree", *on, "ls-tree", "-z", "--long", "--full-tree", "FETCH_HEAD", "--",
        *folders, *paths,
    )  # fmt: skip
    target.mkdir(parents=True, exist_ok=True)
    for entry in filter(None, listing.split(b"\0")):
        meta, _, name = entry.decode("utf-8", "replace").partition("\t")
        mode, kind, blob, size = meta.split()
        if name not in paths and not (name in folders and mode == LINK_MODE):
            continue
        place = target / name
        place.parent.mkdir(parents=True, exist_ok=True)
        if mode == LINK_MODE:
            place.symlink_to(os.devnull)  # refused as a link, never followed
        elif kind != "blob" or mode not in REGULAR_FILE_MODES:
            place.mkdir()  # refused: not a regular file
        elif not size.isdigit() or int(size) > MODULE_FILE_LIMIT:
            with open(place, "wb") as stand_in:  # refused for its size, before reading
                stand_in.truncate(int(size) if size.isdigit() else MODULE_FILE_LIMIT + 1)
        else:
            place.write_bytes(
                git("cat-file", *on, "cat-file", "blob", blob)[: MODULE_FILE_LIMIT + 1]
            )


def grade_batch(
    *,
    jobs: tuple[Job, ...],
    layout: Layout,
    course: Course,
    clone_url: str,
    token: str,
    isolation: Isolation,
    out: Path | None = None,
    deadline: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> BatchReport:
    """Grade every job of a batch; `clone_url` has `{repository}` for `org/name`. With
    `out`, results are saved after each job; with `deadline` (a `clock` time), a job is
    started only if its worst case (COMMIT_WORST_SECONDS) ends before it."""
    report = BatchReport()
    for index, job in enumerate(jobs):
        started = clock()
        if deadline is not None and job.sha and started + COMMIT_WORST_SECONDS > deadline:
            report.left = list(jobs[index:])
            print(f"time limit near: {len(report.left)} commit(s) left for the next run")
            break
        if not job.sha:
            report.results.append(JobResult(job))
            continue
        try:
            with tempfile.TemporaryDirectory(prefix="tinytorch-submission-") as folder:
                checkout = Path(folder) / "repository"
                url = clone_url.format(repository=job.repository)
                fetch_commit(url, job.sha, checkout, token, module_paths(course, job))
                run = grade(
                    layout=layout,
                    course=course,
                    modules=[course.module(key) for key in job.modules],
                    submission=checkout / "assignments",
                    include_hidden=True,
                    isolation=isolation,
                )
            result = JobResult(job, run.results, seconds=clock() - started)
        except Exception as error:  # one commit's failure is reported; the batch goes on
            message = f"{type(error).__name__}: {error}"
            result = JobResult(job, error=message, seconds=clock() - started)
        report.results.append(result)
        if out is not None:
            report.save(out)
        print(f"{job.repository} {job.sha[:7]}: " + (result.error or _points(result)), flush=True)
    if out is not None:
        report.save(out)
    return report


def _points(result: JobResult) -> str:
    totals = Totals.of(result.results)
    return f"{totals.score:g}/{totals.max_score:g} in {result.seconds:.0f} s"
