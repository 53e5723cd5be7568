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

from typing import Any

from grader.remote.handles import Handle, Remote, RemoteName, current
from grader.remote.scratch import Scratch
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


def scratch() -> Scratch:
    """A fresh, empty folder for this test, shared with the student's code."""
    return current().scratch()
