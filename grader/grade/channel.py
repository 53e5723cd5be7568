"""An authenticated result channel from the grading child to the grader.

The parent makes two pipes: one carries a fresh random key to the child, which the
pytest plugin reads (and closes) before any student code is imported; the other carries
the plugin's messages back, each signed with that key. The parent scores only from
signed messages, so a submission that prints result lines, writes to the pipe, or
rewrites pytest-json-report's file after the fact cannot change a score: it never
learns the key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

KEY_BYTES = 32


def _sign(key: bytes, body: bytes) -> bytes:
    return hmac.new(key, body, hashlib.sha256).hexdigest().encode("ascii")


class ChildChannel:
    """The child's end: reads the key once, then sends signed messages."""

    def __init__(self, key_fd: int, out_fd: int) -> None:
        key = b""
        while len(key) < KEY_BYTES:
            chunk = os.read(key_fd, KEY_BYTES - len(key))
            if not chunk:
                raise RuntimeError("the grader's key pipe closed early")
            key += chunk
        os.close(key_fd)
        self._send = self._sender(key, out_fd)

    @staticmethod
    def _sender(key: bytes, out_fd: int) -> Callable[[str, object], None]:
        """A closure, so the key is no attribute of any object."""

        def send(kind: str, payload: object) -> None:
            body = json.dumps([kind, payload]).encode("utf-8")
            data = _sign(key, body) + b" " + body + b"\n"
            while data:
                data = data[os.write(out_fd, data) :]

        return send

    def send(self, kind: str, payload: object) -> None:
        """Send one message (`kind`, JSON-serialisable `payload`)."""
        self._send(kind, payload)


@dataclass
class Received:
    """What the parent has read so far: verified messages and a count of forged lines."""

    messages: list[tuple[str, object]] = field(default_factory=list)
    forged: int = 0


class ParentChannel:
    """The parent's end: makes the pipes, hands out the child's fds, reads in a thread."""

    def __init__(self) -> None:
        self._key = secrets.token_bytes(KEY_BYTES)
        self.key_read, key_write = os.pipe()
        os.write(key_write, self._key)
        os.close(key_write)
        self._out_read, self.out_write = os.pipe()
        self.received = Received()
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @property
    def child_fds(self) -> tuple[int, int]:
        """The fds the child inherits: (key to read, messages to write)."""
        return self.key_read, self.out_write

    def child_started(self) -> None:
        """Close the parent's copies of the child's ends (so EOF means the child is gone)."""
        os.close(self.key_read)
        os.close(self.out_write)

    def _read(self) -> None:
        with os.fdopen(self._out_read, "rb") as stream:
            for line in stream:
                self._accept(line.rstrip(b"\n"))

    def _accept(self, line: bytes) -> None:
        mac, _, body = line.partition(b" ")
        with self._lock:
            if not hmac.compare_digest(mac, _sign(self._key, body)):
                self.received.forged += 1
                return
            kind, payload = json.loads(body)
            self.received.messages.append((kind, payload))

    def finish(self, timeout: float = 2.0) -> Received:
        """Wait briefly for the last messages after the child exited; return all."""
        self._reader.join(timeout)
        return self.snapshot()

    def snapshot(self) -> Received:
        """A copy of what has arrived so far (safe to call while the child runs)."""
        with self._lock:
            return Received(list(self.received.messages), self.received.forged)
