"""The attack battery, second pass: resources, time and the record.

Each attack is module 01's starter with hostile code added, graded officially through
the command line in a process whose children's peak memory (the grader, its test
processes and the worker) the kernel reports. Each scores what the honest stub scores
(0), the grade is recorded, and the grader's processes stay small: bounded answers
(grader/worker/wire.py), no process or thread in the worker, checked archives
(grader/testing/kit.py), a disk quota (grader/remote/quota.py), one time budget per
module (grader/remote/session.py), text that cannot stop the record (grader/grade_verb.py).
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

import numpy as np
import pytest

from grader.grade.engine import grade_module
from grader.remote.isolation import choose
from grader.report.formats import to_gradescope

from .attack_helpers import (
    PEAK_MB,
    TENSOR,
    assert_recorded_zero,
    official_cli,
    starter_file,
    starter_with,
)
from .conftest import COURSE, LAYOUT

TIME_LIMIT, BUDGET = 2.5, 6.0


@pytest.fixture(scope="module")
def isolation():
    """Official grading's isolation; these tests fail (with how to fix it) without it."""
    return choose(required=True)


NESTED_ANSWERS = """
import sys as _sys
_sys.modules["tinyworker.wire"].MAX_JSON_BYTES = 2**40  # the worker's own checks are its
_BOMB = [[]] * 2_600_000  # 7.8 MB of JSON, 20 MB here, hundreds of MB decoded
Tensor.__init__ = lambda self, *args, **kwargs: None
Tensor.shape = property(lambda self: _BOMB)
Tensor.data = property(lambda self: _BOMB)
"""


def test_an_answer_of_nested_lists_costs_the_grader_little_memory(tmp_path):
    done, peak = official_cli(tmp_path, starter_with(tmp_path, NESTED_ANSWERS))
    assert peak < PEAK_MB, f"peak memory {peak} MB"
    result = assert_recorded_zero(tmp_path, done)
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
    done, peak = official_cli(tmp_path, starter_with(tmp_path, FORKS))
    result = assert_recorded_zero(tmp_path, done)
    assert "forks=0 threads=0" in json.dumps(result)
    assert peak < PEAK_MB, f"peak memory {peak} MB"


SURROGATE = """
def _surrogate(self, *args, **kwargs):
    raise ValueError("lone surrogate \\ud800 in a message")

Tensor.__init__ = _surrogate
"""


def test_a_lone_surrogate_in_a_message_cannot_stop_the_record(tmp_path):
    summary = tmp_path / "summary.md"
    done, _ = official_cli(tmp_path, starter_with(tmp_path, SURROGATE), "--markdown", str(summary))
    result = assert_recorded_zero(tmp_path, done)
    assert "lone surrogate \\\\ud800" in json.dumps(result)
    assert "lone surrogate \\ud800" in summary.read_text(encoding="utf-8")


def test_a_module_file_over_the_size_cap_is_refused_before_parsing(tmp_path):
    repo = tmp_path / "student-repo"
    path = starter_file(repo / "assignments", TENSOR)
    path.write_text("x = [" + "0," * 600_000 + "]\n")  # 1.2 MB: hundreds of MB once parsed
    done, peak = official_cli(tmp_path, repo)
    assert peak < PEAK_MB, f"peak memory {peak} MB"
    result = assert_recorded_zero(tmp_path, done)
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
    root = starter_with(tmp_path, DRIP) / "assignments"
    started = time.monotonic()
    result = grade_module(LAYOUT, course, TENSOR, root, False, isolation, shards=1)
    seconds = time.monotonic() - started
    assert result.score == 0 and len(result.tests) >= 8
    stopped = [t for t in result.tests if "remaining tests were stopped" in t.feedback]
    assert len(stopped) >= len(result.tests) // 2, [t.feedback for t in result.tests]
    assert seconds < BUDGET + 2 * TIME_LIMIT + 15, seconds


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
    root = starter_with(tmp_path, SCRATCH_BOMB) / "assignments"
    result = grade_module(LAYOUT, COURSE, TENSOR, root, False, isolation, shards=1)
    report = json.dumps(to_gradescope(result))
    assert result.score == 0 and "wrote 30000 files and 360 MB" not in report
    assert "to disk, so it was stopped and its files were removed" in report
