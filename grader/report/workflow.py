"""GitHub Actions workflow commands around grading.

While student code runs and its feedback is printed, workflow commands are switched off
with `::stop-commands::<token>`, the token a fresh random value that only this process
knows; so nothing a submission prints or raises (`::notice ...`, `Points 100/100`) can
become an annotation. Commands are switched back on only to print the grader's own lines.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def commands_stopped(enabled: bool) -> Iterator[None]:
    """Stop workflow commands for the duration (no-op when `enabled` is false)."""
    if not enabled:
        yield
        return
    token = secrets.token_hex(16)
    print(f"::stop-commands::{token}", flush=True)
    try:
        yield
    finally:
        print(f"::{token}::", flush=True)
