"""The trusted side of the worker: the one process that runs the student's code.

A `Session` starts the worker (grader/worker/server.py, isolated as
grader/remote/isolation.py decides), sends it requests on behalf of the handles
(grader/remote/handles.py) and decodes its answers as untrusted data
(grader/worker/wire.py): an error becomes a `StudentError`, a malformed answer a
`WorkerProtocolError`.

Time: each test has a time limit. A request that runs past it kills the worker (a fresh
one starts for the next test) and fails the test. The module has one time budget
(classroom.yml's hang budget) on the total time the student's code runs in this process,
hung or not: once it is used up (or hangs alone have cost it), or the module could not be
imported at all, every remaining test fails at once with the same explanation. So code
that sleeps until just before each deadline costs one budget, not every test's limit; the
end-of-test reset gets what is left of the test's time, not time of its own.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.remote.errors import (
    MESSAGE_LIMIT,
    TYPE_NAME_LIMIT,
    Frame,
    ModuleBroken,
    StudentError,
    WorkerCrashed,
    WorkerProtocolError,
    WorkerStartError,
    WorkerTimeout,
    student_error,
)
from grader.remote.handles import Handle, Method, refuse_local
from grader.remote.isolation import (
    Isolation,
    WorkerPaths,
    prepare_for_worker,
    worker_command,
)
from grader.remote.quota import empty_folder, over_quota
from grader.remote.scratch import Scratch
from grader.remote.stall import WATCH_MARGIN, split_dump, where_stuck
from grader.worker import wire
from grader.worker.wire import Op

OUTPUT_LIMIT = 3000
DUMP_BYTES = 16_000
RESET_SECONDS = 5.0
SCRATCH_MB = 256
SCRATCH_ENTRIES = 10_000
SCRATCH_CHECK_SECONDS = 0.5
"""The worker's scratch folder (the one place on disk it may write) holds at most
SCRATCH_MB and SCRATCH_ENTRIES files and folders: checked at least this often while the
student's code runs; past it, the worker is stopped and the folder emptied."""
RESET_FLOOR_SECONDS = 0.25
"""The end-of-test reset gets what is left of the test's time (at least this, at most
RESET_SECONDS)."""
KILL_WAIT_SECONDS = 5.0


@dataclass(frozen=True)
class StudentFile:
    """A staged file whose traceback lines the student may see (their own code)."""

    display_path: str
    header_lines: int


@dataclass(frozen=True)
class WorkerConfig:
    """Everything needed to start workers for one module's tests."""

    paths: WorkerPaths
    modules: tuple[str, ...]
    """Modules the worker imports before it answers (in order)."""
    student_files: dict[str, StudentFile]
    """Keyed by the path relative to the stage (`tinytorch/core/tensor.py`)."""
    isolation: Isolation
    time_per_test: float
    memory_mb: int
    cpu_seconds: int
    hang_budget: float = 60.0
    """Once the student's code has run this many seconds in this process (hung tests
    count their full limit), every remaining test fails at once."""
    file_mb: int = 64


class Session:
    """The worker for one module's tests, restarted after a crash or a hang."""

    def __init__(self, config: WorkerConfig, work: Path) -> None:
        self.config = config
        self.work = work
        self.epoch = 0
        self.deadline: float | None = None
        self.process: subprocess.Popen | None = None
        self.reader: wire.Reader | None = None
        self.request_fd = -1
        self.next_id = 1
        self.handles: dict[int, Handle] = {}
        self.broken: ModuleBroken | None = None
        self.hung: list[str] = []
        self.work_seconds = 0.0
        """How long requests have taken, in total (the module's time budget)."""
        self.scratch_checked = 0.0
        self.test = ""
        self.output_path = work / "worker-output.txt"
        self.output_path.write_bytes(b"")
        self.output_mark = 0
        self.scratch_count = 0
        self.ready = False
        self.launched_at = 0.0
        self.methods: set[tuple[str, str]] = set()
        self.stage_seen = self.scratch_seen = ""

    # -- tests -------------------------------------------------------------------------

    def begin_test(self, nodeid: str) -> None:
        self.test = nodeid
        self.deadline = time.monotonic() + self.config.time_per_test
        self.output_mark = self.output_path.stat().st_size

    def end_test(self) -> str:
        """Drop the test's handles and return what the student's code printed (capped)."""
        if self.process is not None and self.process.poll() is None:
            left = (self.deadline or 0.0) - time.monotonic()
            self.deadline = time.monotonic() + min(RESET_SECONDS, max(RESET_FLOOR_SECONDS, left))
            try:
                self.request(Op.RESET, [])
            except (StudentError, WorkerTimeout, WorkerCrashed, WorkerProtocolError, ModuleBroken):
                pass
        self.epoch += 1
        self.handles.clear()
        self.deadline = None
        return self._output_since(self.output_mark)

    def _output_since(self, mark: int) -> str:
        with open(self.output_path, "rb") as stream:
            stream.seek(mark)
            data = stream.read(OUTPUT_LIMIT + 1)
            rest = stream.seek(0, os.SEEK_END) - mark - len(data)
        text = split_dump(data[:OUTPUT_LIMIT].decode("utf-8", errors="replace"))[0]
        if len(data) > OUTPUT_LIMIT or rest > 0:
            text += f"\n... (output cut: {len(data) - OUTPUT_LIMIT + rest} more bytes)"
        return text

    def close(self) -> None:
        self._kill()

    def scratch(self) -> Scratch:
        """A fresh folder that the worker may write and this side may read."""
        if self.process is None:
            self._start()
        self.scratch_count += 1
        name = f"t{self.scratch_count}"
        local = self.config.paths.scratch / name
        local.mkdir()
        prepare_for_worker(writable=local)
        return Scratch(f"{self.scratch_seen}/{name}", local)

    # -- the worker --------------------------------------------------------------------

    def launch(self) -> None:
        """Start a worker now (its imports overlap with test collection); the first request
        waits until it is ready."""
        if self.process is None and self.broken is None:
            self._start()

    def _start(self) -> None:
        if self.broken is not None:
            raise ModuleBroken(str(self.broken))
        config = self.config
        command, seen = worker_command(config.isolation, config.paths)
        request_read, request_write = os.pipe()
        answer_read, answer_write = os.pipe()
        limits = {
            "RLIMIT_AS": config.memory_mb * 2**20,
            "RLIMIT_CPU": config.cpu_seconds,
            "RLIMIT_FSIZE": config.file_mb * 2**20,
            "RLIMIT_CORE": 0,
            "RLIMIT_NPROC": 0,  # no new process or thread: one memory budget for the sandbox
        }
        worker_config = {
            "paths": [seen["stage"], seen["runtime"], seen["site"]],
            "modules": list(config.modules),
            "student_files": [f"{seen['stage']}/{name}" for name in config.student_files],
            "limits": limits,
            "drop_to_uid": seen["drop_to_uid"],
            "fds": [request_read, answer_write],
        }
        self.stage_seen, self.scratch_seen = seen["stage"], seen["scratch"]
        with open(self.output_path, "ab") as output:
            try:
                self.process = subprocess.Popen(
                    [*command, json.dumps(worker_config)],
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=output,
                    pass_fds=(request_read, answer_write),
                    start_new_session=True,
                    env=_worker_environment(),
                    cwd=config.paths.scratch,
                )
            except OSError as error:
                raise WorkerStartError(f"the grader could not start the worker: {error}") from None
            finally:
                os.close(request_read)
                os.close(answer_write)
        self.request_fd = request_write
        self.reader = wire.Reader(answer_read)
        self.epoch += 1
        self.handles.clear()
        self.ready = False
        self.launched_at = time.monotonic()

    def _await_ready(self) -> None:
        assert self.reader is not None
        limit = self.config.time_per_test
        try:
            ready, _ = self.reader.read(self.launched_at + limit)
        except TimeoutError:
            self._kill()
            self.broken = ModuleBroken(
                f"Importing your module did not finish within {limit:g} s, so no test of "
                "this module could run. Look for an endless loop or long work at the top "
                "level of your file (outside any function)."
            )
            raise ModuleBroken(str(self.broken)) from None
        except (EOFError, wire.WireError):
            self._kill()
            raise WorkerStartError(
                "the worker stopped before it was ready: " + self._output_since(0)[-1500:].strip()
            ) from None
        if type(ready) is dict and "error" in ready:
            self._kill()
            error = self._student_error(ready["error"])
            self.broken = ModuleBroken(
                "Your module could not be imported, so none of its tests could run:\n"
                + error.explain()
            )
            raise ModuleBroken(str(self.broken))
        self.ready = True

    def _kill(self) -> None:
        if self.process is not None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                self.process.wait(KILL_WAIT_SECONDS)
            except subprocess.TimeoutExpired:
                pass
        if self.request_fd >= 0:
            os.close(self.request_fd)
        if self.reader is not None:
            os.close(self.reader.fd)
        self.process, self.reader, self.request_fd = None, None, -1

    def _exit_reason(self) -> str:
        code = self.process.poll() if self.process else None
        if code is None:
            return "it stopped answering"
        if code < 0:
            return f"it was killed by {signal.Signals(-code).name}"
        return f"it exited with status {code}"

    # -- requests ----------------------------------------------------------------------

    def request(self, op: Op, args: list, name: str | None = None) -> Any:
        """Send one request and return its decoded answer (raises StudentError etc.)."""
        self._check_budget()
        if self.process is None:
            self._start()
        if not self.ready:
            self._await_ready()
        assert self.reader is not None
        encoder = wire.Encoder(refuse_local)
        message = {"id": self.next_id, "op": op.value, "args": encoder.encode(args)}
        if name is not None:
            message["name"] = name
        if self.deadline is not None:  # the worker dumps its stack just before we stop it
            message["watch"] = round(max(0.1, self.deadline - time.monotonic() - WATCH_MARGIN), 3)
        self.next_id += 1
        sent = time.monotonic()
        try:
            wire.write_all(self.request_fd, wire.pack(message, encoder.buffers))
            answer, buffers = self._read_answer()
        except TimeoutError:
            raise self._timed_out() from None
        except (EOFError, BrokenPipeError):
            reason = self._exit_reason()
            self._kill()
            raise WorkerCrashed(
                f"Your code ended the process that runs it ({reason}). It may have crashed, "
                f"used more than the {self.config.memory_mb} MB of memory it may use, or "
                "called exit()."
            ) from None
        except wire.WireError as error:
            self._kill()
            raise WorkerProtocolError(
                f"The grader could not read your code's answer: {error}"
            ) from None
        finally:
            self.work_seconds += time.monotonic() - sent
        value = self._answer(message["id"], answer, buffers)
        if op is Op.GETATTR and answer.get("method") is True and isinstance(args[0], Handle):
            self.methods.add((args[0]._remote_type, args[1]))
            return Method(args[0], args[1])
        return value

    def _read_answer(self) -> tuple[dict, list[bytes]]:
        """The worker's answer by the test's deadline, watching its scratch folder."""
        assert self.reader is not None
        while True:
            step = time.monotonic() + SCRATCH_CHECK_SECONDS
            try:
                answer = self.reader.read(
                    step if self.deadline is None else min(self.deadline, step)
                )
            except TimeoutError:
                if self.deadline is not None and time.monotonic() >= self.deadline:
                    raise
                self._check_scratch()
                continue
            if time.monotonic() - self.scratch_checked > SCRATCH_CHECK_SECONDS:
                self._check_scratch()
            return answer

    def _check_scratch(self) -> None:
        """Stop the worker and empty its scratch folder once it holds too much."""
        self.scratch_checked = time.monotonic()
        folder = self.config.paths.scratch
        if not over_quota(folder, SCRATCH_MB * 2**20, SCRATCH_ENTRIES):
            return
        self._kill()
        empty_folder(folder)
        raise WorkerCrashed(
            f"Your code wrote more than {SCRATCH_MB} MB or {SCRATCH_ENTRIES} files and folders "
            "to disk, so it was stopped and its files were removed."
        )

    def _check_budget(self) -> None:
        """Once the student's code has used the module's time budget, nothing more runs."""
        budget = self.config.hang_budget
        if self.broken is None and self.work_seconds >= budget:
            self._kill()
            self.broken = ModuleBroken(
                f"Not run: your code has used this module's time budget ({budget:g} s in "
                f"total, first running out in {self.test.split('::')[-1]}), so the remaining "
                "tests were stopped. Look for slow loops in Python where NumPy could do the "
                "work, or for work repeated far more often than needed."
            )
        if self.broken is not None:
            raise ModuleBroken(str(self.broken))

    def _timed_out(self) -> WorkerTimeout:
        self._kill()
        stuck = where_stuck(self._output_tail(), self.stage_seen, self.config.student_files)
        limit = self.config.time_per_test
        self.hung.append(self.test)
        if len(self.hung) * limit >= self.config.hang_budget:
            self.broken = ModuleBroken(
                f"Not run: your code ran past its {limit:g} s time limit in {len(self.hung)} "
                f"tests of this module (first in {self.hung[0].split('::')[-1]}), so the "
                "remaining tests were stopped. Look for an endless loop or for work repeated "
                "far more often than needed."
            )
        return WorkerTimeout(
            f"Your code did not finish within this test's {limit:g} s time limit, so it was "
            "stopped. Look for an endless loop or for work repeated far more often than needed."
            + (f"\n{stuck}" if stuck else "")
        )

    def _output_tail(self) -> str:
        """The stack dump the worker wrote as this test ran out of time (or "")."""
        with open(self.output_path, "rb") as stream:
            end = stream.seek(0, os.SEEK_END)
            stream.seek(max(self.output_mark, end - DUMP_BYTES))
            return split_dump(stream.read().decode("utf-8", errors="replace"))[1]

    def _answer(self, request_id: int, answer: dict, buffers: list[bytes]) -> Any:
        if answer.get("id") != request_id:
            self._kill()
            raise WorkerProtocolError("Your code's process answered out of turn.")
        if "error" in answer:
            error = self._student_error(answer["error"])
            if error.type_name == "StopIteration" and not error.frames:
                raise StopIteration
            raise error
        if "value" not in answer:
            raise WorkerProtocolError("Your code's process sent an answer without a value.")
        try:
            value = wire.Decoder(buffers, self._handle).decode(answer["value"])
        except wire.WireError as error:
            self._kill()
            raise WorkerProtocolError(
                f"The grader could not read your code's answer: {error}"
            ) from None
        return value

    def _handle(self, tag: dict) -> Handle:
        handle_id, type_name = tag.get("$h"), tag.get("type", "object")
        if type(handle_id) is not int or type(type_name) is not str:
            raise wire.WireError("a handle is an integer id and a type name")
        handle = self.handles.get(handle_id)
        if handle is None:
            handle = Handle(self, self.epoch, handle_id, type_name[:TYPE_NAME_LIMIT])
            self.handles[handle_id] = handle
        return handle

    def _student_error(self, data: Any) -> StudentError:
        if type(data) is not dict:
            return student_error("Error", "(your code's error could not be read)", ())
        type_name = data.get("type") if type(data.get("type")) is str else "Error"
        type_name = "".join(c for c in type_name if c.isalnum() or c == "_")[:TYPE_NAME_LIMIT]
        message = data.get("message") if type(data.get("message")) is str else ""
        return student_error(type_name or "Error", message[:MESSAGE_LIMIT], self._frames(data))

    def _frames(self, data: dict) -> tuple[Frame, ...]:
        frames = []
        raw = data.get("frames")
        for entry in raw if type(raw) is list else []:
            if type(entry) is not list or len(entry) != 4:
                continue
            path, line, function, text = entry
            name = path[len(self.stage_seen) + 1 :] if type(path) is str else None
            known = self.config.student_files.get(name or "")
            if known is None or type(line) is not int or type(function) is not str:
                continue
            text = text[:200] if type(text) is str else ""
            frames.append(Frame(known.display_path, line - known.header_lines, function[:80], text))
        return tuple(frames)


def _worker_environment() -> dict[str, str]:
    """The environment of the launcher (bubblewrap clears it again for the worker)."""
    from grader.remote.isolation import WORKER_ENV

    return dict(WORKER_ENV, HOME="/tmp")
