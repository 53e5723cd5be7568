"""The disk quota of the worker's scratch folder, the one place on disk it may write.

No file system quota is at hand for an unprivileged grader, so the trusted side measures:
grader/remote/session.py looks at the folder at least every half second while the
student's code runs, and stops the worker once it holds too much.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def over_quota(folder: Path, max_bytes: int, max_entries: int) -> bool:
    """Whether `folder` uses more than `max_bytes` of disk or holds more than
    `max_entries` files and folders (links are counted, never followed)."""
    size, entries = 0, 0
    for root, folders, files in os.walk(folder):
        for name in folders + files:
            entries += 1
            try:
                size += os.lstat(os.path.join(root, name)).st_blocks * 512
            except OSError:  # removed meanwhile
                continue
        if size > max_bytes or entries > max_entries:
            return True
    return False


def empty_folder(folder: Path) -> None:
    """Remove everything inside `folder` (never following a link out of it)."""
    for child in folder.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)
