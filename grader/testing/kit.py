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

What a test may believe (the rule every test of every module follows):

Everything in the worker is the student's: their module, the staged prerequisites, the
aids, and `builtins`, `numpy.random` or any other library there (their module can patch
any of them). Evidence from the worker earns nothing by itself, so:

- Compare only with values recomputed here, on the trusted side, from data the test
  owns: inputs the test generated, references computed with NumPy in this process
  (grader/testing/reference.py, trainer.py, gradcheck.py). Never with another answer of
  the student's code (two student runs agreeing proves nothing: both can do nothing), a
  reference loop run in the worker, or a number the student's code reports about its
  own work (a loss, an accuracy, an epoch count) checked only against a constant or a
  threshold. (A scheduler's rate is its own answer, checked against the closed form;
  that a Trainer stepped with it shows only in the parameters.)
- Check counts before looping or zipping: a collection from the worker (`parameters()`,
  batches, epochs an aid returns) may be empty, and `zip(a, b, strict=True)` of two empty
  ones checks nothing. Use `checks.items(collection, count, what)` and
  `checks.pairs(first, second, count, what)` with a count the test knows.
- Build your own model and optimizer state: draw the weights here, put them into the
  student's layers, hand the optimizer the test's own list of parameters, and train the
  same model here (`trainer.student_classifier`, `trainer.train_epoch`); then compare the
  parameters and the reported statistics with the ones computed here.
- A value is evidence of itself only. A name, a shape or a flag such as `training` may be
  compared with what the test expects, but nothing stands in for the work it claims: a
  recorded graph (grader/testing/graph.py) for tensor operations, a reported loss for
  training, a returned epoch for a checkpoint, a raised error for an argument check.
  Such a check carries no points alone: the same test also checks a value it computed
  (the layer's output on weights the test set, a valid call's result beside the
  invalid one's error).
"""

from __future__ import annotations

import io
import math
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from numpy.lib import format as npy

from grader.grade.submission import UnsafeFileError, read_submission_file
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
        """A regular file the student's code wrote (never through a link, in any part of
        `name`). An .npz (zip) archive is checked before it is returned: what it holds,
        unpacked, fits in `limit`, and each array's header claims no more than its member
        holds, so loading it cannot cost more memory than the file is allowed to be."""
        try:
            data = read_submission_file(self.local, name, limit)
        except FileNotFoundError:
            raise AssertionError(f"{name} could not be read: there is no such file") from None
        except UnsafeFileError as error:
            raise AssertionError(f"{name} could not be read: {error}") from None
        if data.startswith(b"PK"):
            _check_archive(name, data, limit)
        return data


HEADER_READERS = {(1, 0): npy.read_array_header_1_0, (2, 0): npy.read_array_header_2_0}


def _check_archive(name: str, data: bytes, limit: int) -> None:
    """A zip archive that unpacks to at most `limit` bytes, its .npy headers honest."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        return  # not an archive after all: np.load says what it is not
    with archive:
        members = archive.infolist()
        if sum(member.file_size for member in members) > limit:
            raise AssertionError(f"{name} unpacks to more than {limit // 2**20} MB")
        for member in members:
            if not member.filename.endswith(".npy"):
                continue
            with archive.open(member) as stream:
                try:
                    version = npy.read_magic(stream)
                    header = HEADER_READERS.get(version)
                    if header is None:
                        raise ValueError(f"format version {version} is not supported")
                    shape, _, dtype = header(stream)
                except ValueError as error:
                    raise AssertionError(f"{name}: {member.filename} is broken ({error})") from None
            if dtype.hasobject or math.prod(shape) * dtype.itemsize > member.file_size:
                raise AssertionError(
                    f"{name}: {member.filename} claims an array larger than the data it holds"
                )


def scratch() -> Scratch:
    """A fresh, empty folder for this test, shared with the student's code."""
    return current().scratch()
