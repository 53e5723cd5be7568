"""Run-time rules for the grading child, installed by the pytest plugin before collection.

- An import guard: a student module (staged as `tinytorch/core/*.py`) may import only what the
  static check allows (NumPy, the standard library minus process, network and
  introspection modules, tinytorch), however the import is spelled.
- An audit hook (which Python code cannot remove): nothing in the child may start a
  process, open a socket or load native code through ctypes, nor write a file outside
  the grading directory and the system temp directory (never into the repository);
  and student code may not read the grader's private files (hidden tests, the grader
  bundle, the repository) except the Python installation itself.
"""

from __future__ import annotations

import builtins
import importlib
import os
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from grader.check.static import forbidden_reason

DENIED_EVENTS = {
    "subprocess.Popen": "start other programs",
    "os.system": "start other programs",
    "os.exec": "start other programs",
    "os.posix_spawn": "start other programs",
    "os.spawn": "start other programs",
    "os.fork": "start other processes",
    "os.forkpty": "start other processes",
    "os.kill": "signal other processes",
    "os.killpg": "signal other processes",
    "socket.": "open network connections",
    "ctypes.": "run native code outside NumPy",
}
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC


class SandboxError(PermissionError):
    """Student code tried something the grading sandbox forbids."""


def _inside(path: str, roots: Iterable[str]) -> bool:
    return any(path == root or path.startswith(root + os.sep) for root in roots)


class Sandbox:
    """The rules for one grading child."""

    def __init__(self, package: Path, writable: list[Path], private: list[Path]) -> None:
        self.package = str(package.resolve())
        self.writable = [os.path.realpath(p) for p in [*writable, tempfile.gettempdir()]]
        self.private = [os.path.realpath(p) for p in private]
        prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix}
        self.installation = [os.path.realpath(p) for p in prefixes] + [self.package]

    def is_student_file(self, filename: object) -> bool:
        return isinstance(filename, str) and _inside(filename, [self.package])

    def student_in_stack(self) -> bool:
        frame = sys._getframe(2)
        while frame is not None:
            if self.is_student_file(frame.f_code.co_filename):
                return True
            frame = frame.f_back
        return False

    def check_import(self, name: str, importer: object) -> None:
        """Refuse a forbidden top-level module imported from the staged package."""
        if not name or not self.is_student_file(importer):
            return
        reason = forbidden_reason(name.split(".")[0])
        if reason:
            raise ImportError(f"`import {name}` is not allowed in tinytorch: {reason}")

    def audit(self, event: str, args: tuple[Any, ...]) -> None:
        """The audit hook: deny process, network and ctypes events and guarded files."""
        for prefix, what in DENIED_EVENTS.items():
            if event == prefix or (prefix.endswith(".") and event.startswith(prefix)):
                raise SandboxError(f"grading does not let code {what} ({event})")
        if event == "open" and isinstance(args[0], str | bytes):
            self._check_open(os.fsdecode(args[0]), args[1], args[2])

    def _check_open(self, path: str, mode: object, flags: object) -> None:
        real = os.path.realpath(path)
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            mode is None and isinstance(flags, int) and flags & WRITE_FLAGS
        )
        if writing and (not _inside(real, self.writable) or _inside(real, self.private)):
            raise SandboxError(
                f"grading does not let code write {path}: only files in the system temp "
                f"directory ({tempfile.gettempdir()}) may be written"
            )
        if (
            not writing
            and _inside(real, self.private)
            and not _inside(real, self.installation)
            and self.student_in_stack()
        ):
            raise SandboxError(f"tinytorch may not read the grader's files ({path})")


def _guard_imports(sandbox: Sandbox) -> None:
    original_import = builtins.__import__
    original_import_module = importlib.import_module

    def guarded_import(
        name: str,
        globals: dict[str, Any] | None = None,  # noqa: A002 - the signature of __import__
        locals: dict[str, Any] | None = None,  # noqa: A002
        fromlist: tuple[str, ...] = (),
        level: int = 0,
    ) -> Any:
        if level == 0:
            # A direct `__import__("x")` call passes no globals: the caller is the importer.
            importer = globals.get("__file__") if globals else sys._getframe(1).f_code.co_filename
            sandbox.check_import(name, importer)
        return original_import(name, globals, locals, fromlist, level)

    def guarded_import_module(name: str, package: str | None = None) -> Any:
        if not name.startswith("."):
            sandbox.check_import(name, sys._getframe(1).f_code.co_filename)
        return original_import_module(name, package)

    builtins.__import__ = guarded_import
    importlib.import_module = guarded_import_module


def install(package: Path, writable: list[Path], private: list[Path]) -> None:
    """Install the import guard and the audit hook for the rest of this process.

    `writable`: where files may be written besides the temp directory; `private`: where
    nothing may be written and student code may read nothing (hidden tests, repository).
    """
    sandbox = Sandbox(package, writable, private)
    _guard_imports(sandbox)
    sys.addaudithook(sandbox.audit)
