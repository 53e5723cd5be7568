"""The attack battery, second pass: what a student can do with only their repository.

Each attack is graded as official grading is (OS isolation; the service's grade-batch
for the git cases) and scores what the honest stub scores (0 here), without crashing the
grader or losing the record. The defences: grader/grade/submission.py (files are data),
grader/grade/sources.py (the reference after the late window), grader/service/batch.py
(blobs, not a checkout), grader/worker/ and grader/testing/remote.py (bounded answers,
memory, processes and time), grader/report/ (records that nothing can stop).
"""

from __future__ import annotations

import dataclasses
import io
import json
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest

from grader.grade.engine import grade_module
from grader.grade.isolation import choose
from grader.report.formats import to_gradescope
from grader.service.batch import grade_batch
from grader.service.plan import Job

from .conftest import COURSE, LAYOUT

TENSOR, ACTIVATIONS = COURSE.module(1), COURSE.module(2)
REFERENCE_01 = LAYOUT.module_file(LAYOUT.solutions, TENSOR)
TIME_LIMIT, BUDGET = 2.5, 6.0
GIT = ["git", "-c", "user.name=Student", "-c", "user.email=student@example.com"]


@pytest.fixture(scope="module")
def isolation():
    """Official grading's isolation; these tests fail (with how to fix it) without it."""
    return choose(required=True)


@pytest.fixture(scope="module")
def own_prerequisites():
    """The course with module 01 due in the future: while its late window is open, module
    02 is graded with the student's own module 01."""
    later = TENSOR.due.replace(year=TENSOR.due.year + 50)
    modules = tuple(dataclasses.replace(m, due=later) if m == TENSOR else m for m in COURSE.modules)
    return dataclasses.replace(COURSE, modules=modules)


def _solution_only_lines() -> set[str]:
    """Lines of the reference module 01 that the starter does not have."""
    starter = set(LAYOUT.module_file(LAYOUT.starter, TENSOR).read_text().splitlines())
    return {
        line.strip()
        for line in REFERENCE_01.read_text().splitlines()
        if line not in starter and len(line.strip()) > 25 and "np." in line
    }


def _starter_file(root: Path, module) -> Path:
    path = root / module.dirname / module.filename
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(LAYOUT.module_file(LAYOUT.starter, module).read_text())
    return path


READS_ITS_PREREQUISITE = """
import os as _os
_text = open(_os.path.join(_os.path.dirname(__file__), "tensor.py")).read()
raise RuntimeError("\\n".join(l for l in _text.splitlines() if "np." in l)[-1900:])
"""
"""Module 02 that prints the staged module 01 into its feedback."""


def _assert_no_reference(report: str) -> None:
    leaked = [line for line in _solution_only_lines() if line in report]
    assert not leaked, f"the reference reached the report: {leaked[:3]}"


# 1. Links: a module file, a module folder, a prerequisite.


def test_a_module_file_linked_to_the_reference_scores_zero_in_official_grading(tmp_path):
    repo = tmp_path / "student-repo"
    link = repo / "assignments" / TENSOR.dirname / TENSOR.filename
    link.parent.mkdir(parents=True)
    link.symlink_to(REFERENCE_01)
    done, _ = _official_cli(tmp_path, repo)
    assert "symbolic link" in json.dumps(_assert_recorded_zero(tmp_path, done))


def test_a_module_folder_linked_to_the_reference_scores_zero(tmp_path, isolation):
    root = tmp_path / "submission"
    root.mkdir()
    (root / TENSOR.dirname).symlink_to(REFERENCE_01.parent, target_is_directory=True)
    result = grade_module(LAYOUT, COURSE, TENSOR, root, False, isolation)
    assert result.score == 0 and result.tests
    assert any("symbolic link" in note for note in result.notes), result.notes


def test_a_submission_root_that_is_a_link_is_refused(tmp_path, isolation):
    (tmp_path / "submission").symlink_to(LAYOUT.solutions, target_is_directory=True)
    result = grade_module(LAYOUT, COURSE, TENSOR, tmp_path / "submission", False, isolation)
    assert result.score == 0 and result.tests


def test_a_prerequisite_linked_to_the_reference_is_not_staged(
    tmp_path, isolation, own_prerequisites
):
    root = tmp_path / "submission"
    (root / TENSOR.dirname).mkdir(parents=True)
    (root / TENSOR.dirname / TENSOR.filename).symlink_to(REFERENCE_01)
    _starter_file(root, ACTIVATIONS).write_text(READS_ITS_PREREQUISITE)
    result = grade_module(LAYOUT, own_prerequisites, ACTIVATIONS, root, True, isolation)
    assert result.score == 0 and result.tests
    _assert_no_reference(json.dumps(to_gradescope(result)))
    assert any("symbolic link" in note for note in result.notes), result.notes


def _git_repository(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A student's bare repository with one commit per link attack."""
    work, bare = tmp_path / "work", tmp_path / "git" / "course" / "student.git"
    (work / "assignments").mkdir(parents=True)
    subprocess.run(["git", "init", "--quiet", str(work)], check=True)
    subprocess.run(["git", "init", "--quiet", "--bare", str(bare)], check=True)
    commits = {}

    def commit(name: str) -> None:
        subprocess.run([*GIT, "add", "--all"], cwd=work, check=True)
        subprocess.run([*GIT, "commit", "--quiet", "-m", name], cwd=work, check=True)
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=work, capture_output=True, text=True, check=True
        ).stdout.strip()
        subprocess.run(["git", "push", "--quiet", str(bare), f"{sha}:refs/heads/{name}"], cwd=work)
        commits[name] = sha

    folder = work / "assignments" / TENSOR.dirname
    folder.mkdir()
    (folder / TENSOR.filename).symlink_to(REFERENCE_01)
    commit("file-link")
    (folder / TENSOR.filename).unlink()
    folder.rmdir()
    folder.symlink_to(REFERENCE_01.parent, target_is_directory=True)
    commit("folder-link")
    folder.unlink()
    folder.mkdir()
    (folder / TENSOR.filename).symlink_to(REFERENCE_01)
    _starter_file(work / "assignments", ACTIVATIONS).write_text(READS_ITS_PREREQUISITE)
    commit("prerequisite-link")
    return tmp_path / "git", commits


def test_links_in_a_commit_score_zero_through_grade_batch(tmp_path, isolation, own_prerequisites):
    git_root, commits = _git_repository(tmp_path)
    jobs = tuple(
        Job("course/student", "student", sha, "2026-09-12T09:00:00Z", modules)
        for name, sha in commits.items()
        for modules in [("02",) if name == "prerequisite-link" else ("01",)]
    )
    report = grade_batch(
        jobs=jobs,
        layout=LAYOUT,
        course=own_prerequisites,
        clone_url=f"file://{git_root}/{{repository}}.git",
        token="",
        isolation=isolation,
    )
    assert len(report.results) == 3
    for job_result in report.results:
        assert not job_result.error, job_result.error
        [result] = job_result.results
        assert result.score == 0 and result.tests, (job_result.job, result.score)
        _assert_no_reference(json.dumps(to_gradescope(result)))


# 4-6. Resource bombs, the drip, the surrogate: graded through the command line, in a
# process whose children's peak memory (the grader, its test processes and the worker)
# the kernel reports.

PEAK_MB = 300
"""The grader's processes stay under this whatever the attack (the worker's own memory
limit is the course's; these attacks need little of it)."""


def _starter_with(tmp_path: Path, code: str) -> Path:
    repo = tmp_path / "student-repo"
    path = _starter_file(repo / "assignments", TENSOR)
    path.write_text(path.read_text() + "\n\n# ---- the attack ----\n" + code)
    return repo


def _official_cli(
    tmp_path: Path, repo: Path, *extra: str
) -> tuple[subprocess.CompletedProcess, int]:
    """Grade module 01 of `repo` officially (visible tests); returns the run and the peak
    resident memory, in MB, of every process it started."""
    command = [sys.executable, "-I", "-m", "grader", "--root", str(LAYOUT.root), "grade"]
    command += ["--module", "01", "--official", "--no-hidden", *extra]
    command += ["--submission", str(repo / "assignments"), "--json", str(tmp_path / "r.json")]
    measure = (
        "import resource, subprocess, sys\n"
        "done = subprocess.run(sys.argv[1:], capture_output=True, text=True, timeout=600)\n"
        "sys.stderr.write(done.stderr)\n"
        "print(done.stdout)\n"
        "print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", measure, *command], capture_output=True, text=True, timeout=700
    )
    *printed, last = out.stdout.rstrip().splitlines()
    code, peak_kb = map(int, last.split())
    done = subprocess.CompletedProcess(command, code, "\n".join(printed), out.stderr)
    return done, peak_kb // 1024


def _assert_recorded_zero(tmp_path: Path, done: subprocess.CompletedProcess) -> dict:
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads((tmp_path / "r.json").read_text())
    visible = result["extra_data"]["max_score"]
    assert done.stdout.strip().splitlines()[-1] == f"Points 0/{visible:g}"
    return result


NESTED_ANSWERS = """
import sys as _sys
_sys.modules["tinyworker.wire"].MAX_JSON_BYTES = 2**40  # the worker's own checks are its
_BOMB = [[]] * 2_600_000  # 7.8 MB of JSON, 20 MB here, hundreds of MB decoded
Tensor.__init__ = lambda self, *args, **kwargs: None
Tensor.shape = property(lambda self: _BOMB)
Tensor.data = property(lambda self: _BOMB)
"""


def test_an_answer_of_nested_lists_costs_the_grader_little_memory(tmp_path):
    done, peak = _official_cli(tmp_path, _starter_with(tmp_path, NESTED_ANSWERS))
    assert peak < PEAK_MB, f"peak memory {peak} MB"
    result = _assert_recorded_zero(tmp_path, done)
    assert "lists and objects" in json.dumps(result)
    print(f"nested-lists answer: peak {peak} MB")


FORKS = """
import os as _os, threading as _threading
_forks = _threads = 0
for _ in range(5):
    try:
        if _os.fork() == 0:
            _os._exit(0)
        _os.wait()
        _forks += 1
    except OSError:
        pass
    try:
        _thread = _threading.Thread(target=lambda: None)
        _thread.start(); _thread.join()
        _threads += 1
    except RuntimeError:
        pass

def _report(self, *args, **kwargs):
    raise ValueError(f"forks={_forks} threads={_threads}")

Tensor.__init__ = _report
"""


def test_the_worker_can_start_no_process_or_thread(tmp_path):
    done, peak = _official_cli(tmp_path, _starter_with(tmp_path, FORKS))
    result = _assert_recorded_zero(tmp_path, done)
    assert "forks=0 threads=0" in json.dumps(result)
    assert peak < PEAK_MB, f"peak memory {peak} MB"


SURROGATE = """
def _surrogate(self, *args, **kwargs):
    raise ValueError("lone surrogate \\ud800 in a message")

Tensor.__init__ = _surrogate
"""


def test_a_lone_surrogate_in_a_message_cannot_stop_the_record(tmp_path):
    summary = tmp_path / "summary.md"
    done, _ = _official_cli(
        tmp_path, _starter_with(tmp_path, SURROGATE), "--markdown", str(summary)
    )
    result = _assert_recorded_zero(tmp_path, done)
    assert "lone surrogate \\\\ud800" in json.dumps(result)
    assert "lone surrogate \\ud800" in summary.read_text(encoding="utf-8")


def test_a_module_file_over_the_size_cap_is_refused_before_parsing(tmp_path):
    repo = tmp_path / "student-repo"
    path = _starter_file(repo / "assignments", TENSOR)
    path.write_text("x = [" + "0," * 600_000 + "]\n")  # 1.2 MB: hundreds of MB once parsed
    done, peak = _official_cli(tmp_path, repo)
    assert peak < PEAK_MB, f"peak memory {peak} MB"
    result = _assert_recorded_zero(tmp_path, done)
    assert "over the grader's limit of 256 KB" in json.dumps(result)
    print(f"1.2 MB module file: peak {peak} MB")


def _deflate_bomb(unpacked: int) -> bytes:
    """An .npz whose one array of zeros is `unpacked` bytes, in about 1/1000 of that."""
    header = io.BytesIO()
    shape = (unpacked // 4,)
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f4", "fortran_order": False, "shape": shape}
    )
    chunk, compressor = bytes(2**22), zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    head = compressor.compress(header.getvalue()) + compressor.flush(zlib.Z_FULL_FLUSH)
    data = head + block * (unpacked // len(chunk)) + compressor.flush()
    crc = zlib.crc32(header.getvalue())
    for _ in range(unpacked // len(chunk)):
        crc = zlib.crc32(chunk, crc)
    size = len(header.getvalue()) + unpacked
    name = b"w.npy"
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 33, crc, len(data), size, 5, 0)
    central = struct.pack(
        "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 33, crc, len(data), size, 5, 0, 0, 0,
        0, 0, 0,
    )  # fmt: skip
    offset = len(local) + len(name) + len(data)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central) + len(name), offset, 0)
    return local + name + data + central + name + end


LOAD_LIKE_A_TEST = """
import io, resource, sys
import numpy as np
from pathlib import Path
from grader.testing.kit import Scratch
try:
    data = Scratch("/scratch/t1", Path(sys.argv[1])).read_bytes("c.npz")
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        print("loaded", archive["w"].nbytes)
except AssertionError as error:
    print("refused:", error)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


def test_a_checkpoint_that_inflates_is_refused_before_it_is_loaded(tmp_path):
    (tmp_path / "c.npz").write_bytes(_deflate_bomb(2**30))
    assert (tmp_path / "c.npz").stat().st_size < 2 * 2**20
    out = subprocess.run(
        [sys.executable, "-c", LOAD_LIKE_A_TEST, str(tmp_path)],
        capture_output=True, text=True, timeout=120, cwd=LAYOUT.root,
    )  # fmt: skip
    said, peak = out.stdout.strip().splitlines()
    assert said.startswith("refused: c.npz unpacks to more than 64 MB"), f"{said}, peak {peak} MB"
    assert int(peak) < PEAK_MB, f"peak memory {peak} MB"
    print(f"1 GB checkpoint bomb: peak {peak} MB")


DRIP = f"""
import time as _time

def _drip(self, *args, **kwargs):
    _time.sleep({TIME_LIMIT} - 0.7)  # just inside the time limit, every test
    self.data = np.zeros(1, dtype=np.float32)

def _slow_reset(self):
    _time.sleep(4.5)  # the end-of-test reset drops every handle: this runs then

Tensor.__init__ = _drip
Tensor.__del__ = _slow_reset
"""


def test_code_that_sleeps_until_each_deadline_costs_one_time_budget(tmp_path, isolation):
    policies = dataclasses.replace(
        COURSE.policies, time_limit_seconds=TIME_LIMIT, hang_budget_seconds=BUDGET
    )
    course = dataclasses.replace(COURSE, policies=policies)
    root = _starter_with(tmp_path, DRIP) / "assignments"
    started = time.monotonic()
    result = grade_module(LAYOUT, course, TENSOR, root, False, isolation, shards=1)
    seconds = time.monotonic() - started
    assert result.score == 0 and len(result.tests) >= 8
    stopped = [t for t in result.tests if "remaining tests were stopped" in t.feedback]
    assert len(stopped) >= len(result.tests) // 2, [t.feedback for t in result.tests]
    assert seconds < BUDGET + 2 * TIME_LIMIT + 15, seconds


# 7. Notebooks of any shape, notes that quote the student.


def test_a_deeply_nested_notebook_is_a_warning_not_a_crash(tmp_path, capsys):
    from grader.cli import _sync_quietly

    folder = tmp_path / TENSOR.dirname
    _starter_file(tmp_path, TENSOR)
    (folder / "tensor.ipynb").write_text('{"cells": ' + "[" * 200_000 + "]" * 200_000 + "}")
    _sync_quietly(folder, TENSOR)
    said = capsys.readouterr().out
    assert "is not a valid notebook" in said and "nested too deeply" in said, said


FORGED = "x = ` **Official grades recorded in this run** Module 01 (final): 100/100 [x](y) y = `"


def _html(markdown: str) -> str:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").enable("table").render(markdown)


def _rendered_strong(markdown: str) -> list[str]:
    return [part.split("</strong>")[0] for part in _html(markdown).split("<strong>")[1:]]


def test_a_note_quoting_the_student_cannot_escape_into_markdown(tmp_path, isolation):
    from grader.report.formats import markdown_summary
    from grader.service.feedback import comment

    root = tmp_path / "submission"
    _starter_file(root, TENSOR).write_text(FORGED + "\n")
    result = grade_module(LAYOUT, COURSE, TENSOR, root, False, isolation)
    assert result.score == 0 and any("Official grades" in note for note in result.notes)
    summary = markdown_summary([result])
    posted = comment("0" * 40, "2026-09-12T09:00:00Z", [result])
    assert "Official grades" not in " ".join(_rendered_strong(summary))
    assert "Official grades" not in " ".join(_rendered_strong(posted))
    assert '<a href="y">' not in _html(summary) + _html(posted)
    assert "Module 01 (final): 100/100" in _html(summary).replace("\\", "")


# 8. Hidden-test feedback: where and how much, not the oracle.


def test_hidden_feedback_shows_where_and_how_much_never_the_expected_values(tmp_path, isolation):
    root = tmp_path / "submission"
    path = _starter_file(root, TENSOR)
    solution = REFERENCE_01.read_text()
    assert solution.count("        return np.exp(a)\n") == 1
    path.write_text(
        solution.replace("return np.exp(a)\n", "return np.exp(a) * np.float32(1.001)\n")
    )
    result = grade_module(LAYOUT, COURSE, TENSOR, root, True, isolation)
    hidden = [t.feedback for t in result.tests if t.hidden and not t.passed]
    visible = [t.feedback for t in result.tests if not t.hidden and not t.passed]
    assert hidden and visible and 0 < result.score < 100
    assert any("DESIRED" in feedback for feedback in visible)  # the student has those tests
    for feedback in hidden:
        assert "values differ" in feedback and "Max absolute difference" in feedback, feedback
        for oracle in ("ACTUAL", "DESIRED", "Falsifying example", "array("):
            assert oracle not in feedback, feedback


# 4. The disk: the scratch folder has one quota.

SCRATCH_BOMB = """
import os as _os

def _fill(self, *args, **kwargs):
    _os.makedirs("/scratch/bomb", exist_ok=True)
    for big in range(6):  # 360 MB of disk, allocated without writing it
        with open(f"/scratch/bomb/big{big}", "wb") as out:
            _os.posix_fallocate(out.fileno(), 0, 60 * 2**20)
    for small in range(30_000):
        open(f"/scratch/bomb/{small}", "wb").close()
    raise ValueError("wrote 30000 files and 360 MB")

Tensor.__init__ = _fill
"""


def test_the_scratch_folder_has_a_quota(tmp_path, isolation):
    root = _starter_with(tmp_path, SCRATCH_BOMB) / "assignments"
    result = grade_module(LAYOUT, COURSE, TENSOR, root, False, isolation, shards=1)
    report = json.dumps(to_gradescope(result))
    assert result.score == 0 and "wrote 30000 files and 360 MB" not in report
    assert "to disk, so it was stopped and its files were removed" in report
