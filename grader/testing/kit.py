"""The test kit: how a test reaches the student's code (the contract for every module).

    from grader.testing.kit import student

    Tensor = student.tensor.Tensor          # tinytorch.core.tensor.Tensor, in the worker

    def test_add():
        a = Tensor([1.0, 2.0])              # a handle to the student's Tensor
        assert_tensor(a + 1, np.array([2.0, 3.0]), "a + 1")

`student.<slug>` is the student's module `tinytorch.core.<slug>`; a name in it is looked
up in the worker whenever the test uses it. Calls, attributes and operators on what comes
back run in the worker: plain data (numbers, strings, None, tuples, lists and dicts of
them) and NumPy arrays come back as values, anything else stays there as a handle. Only
the values are evidence; check them with grader/testing/checks.py.

`aids.<name>` are the public helpers in grader/worker/aids/ that must run beside the
student's code (subclasses of their classes, a graph recorder). They are shipped to
students: they hold no expected value.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.testing.handles import Handle, Remote, RemoteName, current
from grader.worker.wire import Op


class _Package:
    """Attribute access gives the modules of one package in the worker."""

    def __init__(self, package: str) -> None:
        self._package = package

    def __getattr__(self, name: str) -> RemoteName:
        if name.startswith("_"):
            raise AttributeError(name)
        return RemoteName(f"{self._package}.{name}")


student = _Package("tinytorch.core")
aids = _Package("tinyworker.aids")


def worker_module(name: str) -> RemoteName:
    """A library module in the worker, for objects the student's API takes: for example
    `worker_module("numpy.random").default_rng(0)` is a NumPy Generator living there."""
    return RemoteName(name)


def worker_rng(seed: int) -> Remote:
    """`np.random.default_rng(seed)`, made in the worker: a layer given it as `rng=` draws
    its initial values there, reproducibly."""
    return worker_module("numpy.random").default_rng(seed)


def fetch(name: Remote) -> Any:
    """The value of a name in the student's module (`fetch(student.tensor.DEFAULT_DTYPE)`)."""
    return current().request(Op.GET, [name])


def is_instance(value: Any, cls: Remote) -> bool:
    """`isinstance(value, cls)` as the student's code answers it (their classes live there)."""
    if not isinstance(value, Remote):
        return False
    answer = current().request(Op.ISINSTANCE, [value, cls])
    if type(answer) is not bool:
        raise TypeError(f"isinstance() answered {type(answer).__name__}")
    return answer


def type_name(value: Any) -> str:
    """The name of a value's type: `Tensor` for a handle to a Tensor, `ndarray` for an array."""
    if isinstance(value, Handle):
        return object.__getattribute__(value, "_remote_type")
    return type(value).__name__


@dataclass(frozen=True)
class Scratch:
    """A folder the student's code may write and the test may read."""

    remote: str
    """The folder's path as the student's code sees it (pass this to their functions)."""
    local: Path
    """The same folder here; read files with `read_bytes`, which refuses links."""

    def path(self, name: str) -> str:
        return f"{self.remote}/{name}"

    def names(self) -> list[str]:
        return sorted(p.name for p in self.local.iterdir())

    def read_bytes(self, name: str, limit: int = 64 * 2**20) -> bytes:
        """A regular file the student's code wrote (never a link out of the folder)."""
        try:
            fd = os.open(self.local / name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError as error:
            raise AssertionError(f"{name} could not be read: {error.strerror}") from None
        with os.fdopen(fd, "rb") as stream:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise AssertionError(f"{name} is not a regular file")
            data = stream.read(limit + 1)
        if len(data) > limit:
            raise AssertionError(f"{name} is larger than {limit // 2**20} MB")
        return data


def scratch() -> Scratch:
    """A fresh, empty folder for this test, shared with the student's code."""
    return current().scratch()
