"""A student's files are data: read only as regular files beneath the submission's root.

A module file or folder committed as a symbolic link (git keeps the link itself) would
make the grader, with its own permissions and working folder, read whatever the link
names: the reference solutions, a hidden test, another student's grade. So every file
taken from a submission is opened one path component at a time, each with `O_NOFOLLOW`
(a link anywhere below the root is refused, not followed), must be a regular file, and
must be at most `MODULE_FILE_LIMIT` bytes, checked before a byte of it is read. The
grader then works on its own copy (`SubmissionCopies`), never on the student's path.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path, PurePosixPath

from grader.course import ModuleSpec

MODULE_FILE_LIMIT = 256 * 1024
"""Bytes: a module file over this is refused before it is read or parsed (the largest
reference module is under 30 KB; parsing a hostile file costs hundreds of times its size)."""


class UnsafeFileError(ValueError):
    """A submission's file that the grader will not read, and why ("it is ...")."""


def read_submission_file(root: Path, relative: str, limit: int = MODULE_FILE_LIMIT) -> bytes:
    """The bytes of the regular file `relative` beneath `root`, never through a link.

    FileNotFoundError if it is missing; UnsafeFileError if it (or a folder on its way, or the
    root itself) is a link, is not a regular file, or is larger than `limit` bytes.
    """
    parts = PurePosixPath(relative).parts
    if not parts or any(part in ("", ".", "..") or "/" in part for part in parts):
        raise UnsafeFileError(f"{relative} is not a plain path inside the submission")
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
    opened: list[int] = []
    try:
        opened.append(_open(str(root), flags | os.O_DIRECTORY, None, relative))
        for part in parts[:-1]:
            opened.append(_open(part, flags | os.O_DIRECTORY, opened[-1], relative))
        fd = _open(parts[-1], flags | os.O_NONBLOCK, opened[-1], relative)
        opened.append(fd)
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnsafeFileError("it is not a regular file")
        if info.st_size > limit:
            raise UnsafeFileError(_too_large(info.st_size, limit))
        data = os.read(fd, limit + 1)
        if len(data) > limit:
            raise UnsafeFileError(_too_large(len(data), limit))
        return data
    finally:
        for fd in opened:
            os.close(fd)


def _open(name: str, flags: int, folder: int | None, relative: str) -> int:
    try:
        return os.open(name, flags, dir_fd=folder)
    except OSError as error:
        if error.errno == errno.ENOENT:
            raise FileNotFoundError(errno.ENOENT, "missing", relative) from None
        try:
            link = stat.S_ISLNK(os.stat(name, dir_fd=folder, follow_symlinks=False).st_mode)
        except OSError:
            link = False
        if link or error.errno == errno.ELOOP:
            raise UnsafeFileError(
                "it is (or a folder on its way is) a symbolic link; the grader reads only "
                "regular files and folders committed in your repository"
            ) from None
        if error.errno == errno.ENOTDIR:
            raise UnsafeFileError("a folder on its way is not a folder") from None
        raise UnsafeFileError(f"it could not be read ({error.strerror})") from None


def _too_large(size: int, limit: int) -> str:
    return (
        f"it is {size // 1024} KB, over the grader's limit of {limit // 1024} KB for a module file"
    )


class SubmissionCopies:
    """The grader's own copies of a submission's module files, under `folder`."""

    def __init__(self, submission: Path, folder: Path) -> None:
        self.submission = submission
        self.folder = folder

    def copy(self, module: ModuleSpec) -> Path:
        """A private copy of the module's file (FileNotFoundError, UnsafeFileError as above)."""
        relative = f"{module.dirname}/{module.filename}"
        data = read_submission_file(self.submission, relative)
        target = self.folder / module.dirname / module.filename
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        return target
