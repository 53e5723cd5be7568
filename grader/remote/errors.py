"""What can go wrong in the student's code, as the trusted side sees it.

`StudentError` is an exception the student's code raised, carried back as data: its type
name, its message (cut to a fixed length) and the traceback lines in the student's own
files. For the builtin exception types it is also an instance of that type, so
`pytest.raises(ValueError, match=...)` works as it would on a local call.

`GradingStop` (a BaseException, so `pytest.raises(Exception)` cannot swallow it) ends a
test for a reason outside the student's answers: a time limit, a crash, a module that
cannot be imported, or a worker that sent something unreadable.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass

import numpy as np

TYPE_NAME_LIMIT = 80
MESSAGE_LIMIT = 2000
TRACEBACK_HEADING = "Traceback (your code):"
UNREADABLE = "WireError"
"""The type the worker reports when a value its code returned cannot be sent back."""


@dataclass(frozen=True)
class Frame:
    """One traceback line in the student's own file."""

    path: str
    line: int
    function: str
    text: str

    def __str__(self) -> str:
        where = f'  File "{self.path}", line {self.line}, in {self.function}'
        return f"{where}\n    {self.text}" if self.text else where


class StudentError(Exception):
    """An exception raised by the student's code (base of every mapped type)."""

    def __init__(self, type_name: str, message: str, frames: tuple[Frame, ...]) -> None:
        super().__init__(message)
        self.type_name = type_name
        self.message = message
        self.frames = frames

    def __str__(self) -> str:
        return self.message

    def explain(self) -> str:
        """The error as the student should read it: their lines, then type and message."""
        lines = [TRACEBACK_HEADING, *map(str, self.frames)] if self.frames else []
        if self.type_name == UNREADABLE:
            head = f"Your code returned a value the grader cannot read back: {self.message}"
        else:
            head = f"{self.type_name}: {self.message}" if self.message else self.type_name
        return "\n".join([*lines, head])


def _builtin_exception_types() -> dict[str, type[BaseException]]:
    found = {
        name: value
        for name, value in vars(builtins).items()
        if isinstance(value, type)
        and issubclass(value, Exception)
        and not issubclass(value, (StopIteration, StopAsyncIteration, Warning))
    }
    found["AxisError"] = np.exceptions.AxisError
    found["LinAlgError"] = np.linalg.LinAlgError
    return found


_BUILTINS = _builtin_exception_types()
_CLASSES: dict[str, type[StudentError]] = {}


def student_error(type_name: str, message: str, frames: tuple[Frame, ...]) -> StudentError:
    """A `StudentError` that is also an instance of the builtin type of that name, if any."""
    cls = _CLASSES.get(type_name)
    if cls is None:
        base = _BUILTINS.get(type_name)
        if base is None:
            cls = StudentError
        else:
            cls = type(
                f"Student{type_name}", (StudentError, base), {"__str__": StudentError.__str__}
            )
            _CLASSES[type_name] = cls
    try:
        error = cls.__new__(cls)
        StudentError.__init__(error, type_name, message, frames)
    except TypeError:  # a builtin type with a stricter constructor (UnicodeDecodeError)
        _CLASSES[type_name] = StudentError
        error = StudentError(type_name, message, frames)
    return error


class GradingStop(BaseException):
    """A test ended for a reason that is not an answer: its message says why."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else type(self).__name__


class WorkerTimeout(GradingStop):
    """The student's code ran past the test's time limit; the worker was stopped."""


class WorkerCrashed(GradingStop):
    """The worker process ended in the middle of a request."""


class ModuleBroken(GradingStop):
    """The student's module cannot be imported, or its code hung too often: every
    remaining test of the module fails at once with this message."""


class WorkerProtocolError(GradingStop):
    """The worker sent something that is not a well-formed answer."""


class WorkerStartError(GradingStop):
    """The worker could not be started at all (a problem of the grading machine)."""
