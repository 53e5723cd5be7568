"""The worker's main loop: import the student's modules, then answer requests.

Started by the trusted side (grader/remote/session.py) as
`python -I -S <runtime>/tinyworker/server.py CONFIG_JSON`, usually inside bubblewrap.
Until the student's modules are imported, this is the grader's code: it applies the
resource limits, gives up root, fixes `sys.path` and closes every file it does not
need. After that, anything here may have been changed by the student's code, so the
trusted side believes nothing it says: answers are data, checked on arrival.

Requests are the `wire.Op`s: `get` a name, `getattr`, `setattr`, `call`, `method`, `op`
(an `operator` function), `isinstance`, `iter`/`next`, and `reset` (drop every handle at
the end of a test). Answers: `{"id": n, "value": ...}` or `{"id": n, "error": {...}}`.
A request may carry `watch`: after that many seconds still running, the worker writes its
stack to the output file (the trusted side reads where the student's code was stuck).
"""

from __future__ import annotations

import faulthandler
import importlib
import json
import linecache
import operator
import os
import resource
import signal
import sys
import traceback
from typing import Any

OPERATORS = {
    name: getattr(operator, name)
    for name in (
        "add sub mul truediv floordiv mod pow matmul neg pos abs invert and_ or_ xor "
        "lt le eq ne ge gt getitem setitem delitem contains iadd isub imul itruediv imatmul"
    ).split()
} | {"len": len}
ACTIONS = {
    "get": lambda value: value,
    "setattr": setattr,
    "call": lambda function, args, kwargs: function(*args, **kwargs),
    "method": lambda owner, name, args, kwargs: getattr(owner, name)(*args, **kwargs),
    "isinstance": isinstance,
    "iter": iter,
    "next": next,
}
"""The requests that need nothing but their decoded arguments (by `wire.Op` value)."""
MESSAGE_LIMIT = 2000
FRAME_LIMIT = 12


def _apply_limits(limits: dict, drop_to_uid: int | None) -> None:
    """Resource limits, then (when started as root) a separate unprivileged user.
    RLIMIT_NPROC 0 means no new process or thread: the memory limit is the whole
    sandbox's, not one per fork (it binds every user but root)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a too-large file is an error, not death
    for name, value in limits.items():
        which = getattr(resource, name)
        resource.setrlimit(which, (value, value))
    if drop_to_uid is not None and os.getuid() == 0:
        os.setgroups([])
        os.setgid(drop_to_uid)
        os.setuid(drop_to_uid)
        if os.getuid() != drop_to_uid or os.geteuid() != drop_to_uid:
            raise SystemExit("could not drop to the unprivileged user")


class Table:
    """Objects the trusted side holds handles to; the same object keeps the same id."""

    def __init__(self) -> None:
        self.objects: dict[int, Any] = {}
        self.ids: dict[int, int] = {}
        self.next_id = 1

    def ref(self, value: Any) -> dict:
        key = id(value)
        handle = self.ids.get(key)
        if handle is None:
            handle, self.next_id = self.next_id, self.next_id + 1
            self.objects[handle] = value
            self.ids[key] = handle
        return {"$h": handle, "type": type(value).__name__}

    def lookup(self, tag: dict) -> Any:
        if "$n" in tag:
            module, path = tag["$n"]
            value: Any = importlib.import_module(module)
            for part in path.split("."):
                value = getattr(value, part)
            return value
        try:
            return self.objects[tag["$h"]]
        except KeyError:
            raise LookupError("this object is gone (it belonged to an earlier test)") from None

    def reset(self) -> None:
        self.objects.clear()
        self.ids.clear()


def _where(error: BaseException) -> list[tuple[Any, int]]:
    """The traceback's (frame, line) entries. An exception raised in place of another
    (`raise X(...) from error`, or `from None` as Function.apply does) happened where the
    other one did: its entries follow, so the student sees the line that failed first."""
    entries = list(traceback.walk_tb(error.__traceback__))
    origin = error.__cause__ or (error.__context__ if error.__suppress_context__ else None)
    if origin is not None:
        last = entries[-1][0] if entries else None
        inner = traceback.walk_tb(origin.__traceback__)
        entries += [entry for entry in inner if entry[0] is not last]
    return entries


def _error(error: BaseException, student_files: list[str]) -> dict:
    """An exception as data: type, message cut to a fixed length, and the student's frames."""
    frames = []
    for frame, line in _where(error):
        filename = frame.f_code.co_filename
        if filename in student_files:
            text = linecache.getline(filename, line).strip()
            frames.append([filename, line, frame.f_code.co_name, text[:200]])
    try:
        message = str(error)
    except Exception:  # a broken __str__ is the student's too
        message = "(the exception's message could not be shown)"
    return {
        "type": type(error).__name__[:80],
        "message": message[:MESSAGE_LIMIT],
        "frames": frames[-FRAME_LIMIT:],
    }


class Server:
    """Answers requests on `in_fd`, writing to `out_fd`."""

    def __init__(
        self, in_fd: int, out_fd: int, student_files: list[str], dump_file: Any = None
    ) -> None:
        from tinyworker import wire

        self.wire = wire
        self.reader = wire.Reader(in_fd)
        self.out_fd = out_fd
        self.table = Table()
        self.student_files = student_files
        self.bound_method = False
        self.dump_file = dump_file

    def send(self, message: dict, value: Any = None, has_value: bool = False) -> None:
        encoder = self.wire.Encoder(self.table.ref)
        if has_value:
            message["value"] = encoder.encode(value)
        self.wire.write_all(self.out_fd, self.wire.pack(message, encoder.buffers))

    def decode(self, data: Any, buffers: list[bytes]) -> Any:
        return self.wire.Decoder(buffers, self.table.lookup, dtype_as_type=True).decode(data)

    def handle(self, request: dict, buffers: list[bytes]) -> Any:
        op = self.wire.Op(request["op"])
        args = self.decode(request.get("args", []), buffers)
        if op is self.wire.Op.RESET:
            self.table.reset()
            return None
        if op is self.wire.Op.GETATTR:
            value = getattr(args[0], args[1])
            self.bound_method = getattr(value, "__self__", None) is args[0]
            return value
        if op is self.wire.Op.OPERATOR:
            return OPERATORS[request["name"]](*args)
        return ACTIONS[op.value](*args)

    def watch(self, seconds: Any) -> None:
        """If the request is still running after `seconds` (just before the trusted side
        stops this process for running too long), write its stack to the output file, so
        the student learns where their code was stuck (grader/remote/stall.py). A timer
        signal, not faulthandler's watchdog thread: this process may start no thread."""
        if self.dump_file is not None and type(seconds) in (int, float) and seconds > 0:
            signal.setitimer(signal.ITIMER_REAL, seconds)

    def serve(self) -> None:
        while True:
            try:
                request, buffers = self.reader.read()
            except EOFError:
                return
            reply: dict = {"id": request.get("id")}
            self.bound_method = False
            self.watch(request.get("watch"))
            try:
                value = self.handle(request, buffers)
            except BaseException as error:  # everything the student's code raises is data
                reply["error"] = _error(error, self.student_files)
                _flush_output()
                self.send(reply)
                continue
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            _flush_output()
            if self.bound_method:
                reply["method"] = True
            try:
                self.send(reply, value, has_value=True)
            except Exception as error:  # the value could not be encoded: say so
                self.send({"id": request.get("id"), "error": _error(error, self.student_files)})


def _flush_output() -> None:
    """Push what the student's code printed to the output file before answering."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # the student's code replaced or closed it
            pass


def main() -> None:
    config = json.loads(sys.argv[1])
    _apply_limits(config["limits"], config.get("drop_to_uid"))
    sys.path[:0] = config["paths"]
    sys.stdout.reconfigure(line_buffering=True)
    sys.stderr.reconfigure(line_buffering=True)
    in_fd, out_fd = config["fds"]
    os.closerange(3, in_fd)
    os.closerange(max(in_fd, out_fd) + 1, 1 << 16)
    from tinyworker import wire

    dump_file = os.fdopen(os.dup(2), "w")  # stays valid whatever the student does to stderr
    faulthandler.register(signal.SIGALRM, file=dump_file, all_threads=False)
    ready: dict = {"id": 0}
    try:
        import numpy  # noqa: F401 - before the student's code, so its errors are theirs

        for name in config["modules"]:
            importlib.import_module(name)
    except BaseException as error:  # a broken module: every test will say why
        ready["error"] = _error(error, config["student_files"])
    wire.write_all(out_fd, wire.pack(ready, []))
    if "error" not in ready:
        Server(in_fd, out_fd, config["student_files"], dump_file).serve()


if __name__ == "__main__":
    main()
