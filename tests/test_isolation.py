"""The worker's isolation, observed from inside it, and what happens where there is none."""

import ast
import dataclasses
import subprocess
import sys

import pytest

from grader.cli import main
from grader.grade.engine import grade_module
from grader.remote import isolation as isolation_module
from grader.remote.isolation import IsolationError, Level, choose

from .conftest import COURSE, LAYOUT

TENSOR = COURSE.module(1)
PROBE = """
import os as _os, resource as _resource, socket as _socket

def _probe(self, data, dtype=None, requires_grad=False):
    facts = {
        "uid": _os.getuid(),
        "interfaces": sorted(name for _, name in _socket.if_nameindex()),
        "root": sorted(_os.listdir("/")),
        "tmp": _os.listdir("/tmp"),
        "pids": sorted(int(p) for p in _os.listdir("/proc") if p.isdigit()),
        "memory": _resource.getrlimit(_resource.RLIMIT_AS)[0],
        "files": _resource.getrlimit(_resource.RLIMIT_FSIZE)[0],
        "processes": _resource.getrlimit(_resource.RLIMIT_NPROC)[0],
        "cpu": _resource.getrlimit(_resource.RLIMIT_CPU)[0],
    }
    raise ValueError(f"FACTS {facts!r}")

Tensor.__init__ = _probe
"""


def _facts(tmp_path, isolation):
    root = tmp_path / "submission"
    path = root / TENSOR.dirname / TENSOR.filename
    path.parent.mkdir(parents=True)
    path.write_text(LAYOUT.module_file(LAYOUT.starter, TENSOR).read_text() + PROBE)
    result = grade_module(LAYOUT, COURSE, TENSOR, root, False, isolation)
    feedback = next(t.feedback for t in result.tests if "FACTS" in t.feedback)
    return result, ast.literal_eval(feedback.split("ValueError: FACTS ", 1)[1].splitlines()[0])


@pytest.mark.slow
def test_the_worker_sees_only_its_own_world(tmp_path):
    result, facts = _facts(tmp_path, choose(required=True))
    assert "bubblewrap" in result.isolation
    assert facts["interfaces"] == ["lo"], "the worker must have no network but loopback"
    assert set(facts["root"]) <= {
        "usr",
        "lib",
        "lib64",
        "lib32",
        "bin",
        "sbin",
        "proc",
        "dev",
        "tmp",
        "stage",
        "runtime",
        "scratch",
        "opt",
        "root",
    }, facts
    assert facts["tmp"] == [], "the worker's /tmp is private"
    assert max(facts["pids"]) < 10, "the worker sees only its own processes"
    assert facts["memory"] == COURSE.policies.memory_limit_mb * 2**20
    assert 0 < facts["files"] < 2**40 and 0 < facts["cpu"] < 2**40
    assert facts["processes"] == 0, "the worker may start no process or thread"
    if subprocess.run(["id", "-u"], capture_output=True, text=True).stdout.strip() == "0":
        assert facts["uid"] == 65534, "graded as root, the worker runs as a separate user"


def test_official_grading_refuses_without_isolation(monkeypatch, capsys):
    monkeypatch.setattr(isolation_module, "_bwrap_works", lambda: "bwrap is not installed")
    with pytest.raises(IsolationError, match="official grading needs the worker to be isolated"):
        choose(required=True)
    assert main(["grade", "--module", "01", "--official"]) == 2
    error = capsys.readouterr().err
    assert "apt-get install bubblewrap" in error and "Traceback" not in error


def test_local_grading_without_isolation_runs_and_says_so(monkeypatch, tmp_path):
    monkeypatch.setattr(isolation_module, "_bwrap_works", lambda: "bwrap is not installed")
    local = choose(required=False)
    assert local.level is Level.PROCESS
    result = grade_module(LAYOUT, COURSE, TENSOR, LAYOUT.solutions, False, local)
    assert result.score == result.max_score > 0 and result.visible_only
    assert "process limits only (bwrap is not installed)" in result.isolation
    assert "preview" in result.isolation


def test_the_grading_process_is_not_dumpable():
    code = (
        "import ctypes; from grader.remote.isolation import make_undumpable; make_undumpable(); "
        "print(ctypes.CDLL(None).prctl(3, 0, 0, 0, 0))"  # PR_GET_DUMPABLE
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "0", out.stderr


def test_ci_requires_isolation(monkeypatch):
    monkeypatch.setenv("CI", "true")
    monkeypatch.delenv("TINYTORCH_ISOLATION", raising=False)
    assert isolation_module.isolation_required()
    monkeypatch.setenv("CI", "false")
    assert not isolation_module.isolation_required()
    assert dataclasses.is_dataclass(choose(required=False))
