"""How the worker is walled off from everything but the student's code.

With bubblewrap (`bwrap`, installed by the project's set-up on Linux) the worker gets new
network, PID, IPC, UTS and mount namespaces, a private `/tmp`, and a view of only: the
staging folder (the student's module and the prerequisite modules), the worker runtime
(grader/worker), the Python installation, NumPy, and the system libraries. No repository,
no bundle, no hidden tests, no grader source. Started by root, the worker gives up root
for a separate user (65534) before it imports the student's code; started by anyone
else, bubblewrap maps the user into a new user namespace. Either way the worker applies
limits on memory, CPU time and file size, and allows itself no new process or thread
(`RLIMIT_NPROC` 0: one memory budget for the whole sandbox), before the student's code
runs.

Where bubblewrap is missing or cannot make namespaces (a laptop, macOS), local grading
still runs, with the resource limits only, and every report says so. Official grading
(CI, `make classroom-grade`, the deadline regrade) refuses to run unprotected instead.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

NOBODY = 65534
WORKER_TMP_MB = 64
SANDBOX_STAGE = "/stage"
SANDBOX_RUNTIME = "/runtime"
SANDBOX_SITE = "/opt/site"
SANDBOX_SCRATCH = "/scratch"
SYSTEM_DIRS = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin")
WORKER_ENV = {
    "PATH": "/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "PYTHONHASHSEED": "0",
    "PYTHONDONTWRITEBYTECODE": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


class IsolationError(RuntimeError):
    """Grading must be isolated here, and the operating system offers no isolation."""


class Level(Enum):
    """What walls the worker in."""

    NAMESPACES = "namespaces"
    PROCESS = "process"


@dataclass(frozen=True)
class Isolation:
    """The isolation a grading run used, as the report states it."""

    level: Level
    description: str


@dataclass(frozen=True)
class WorkerPaths:
    """Where the worker's files are on this machine."""

    stage: Path
    """Holds the `tinytorch` package: prerequisites and the student's module."""
    runtime: Path
    """grader/worker, importable as `tinyworker` in the worker."""
    scratch: Path
    """A folder the worker may write and the tests may read (checkpoints, say)."""


@functools.cache
def _bwrap_works() -> str | None:
    """None if bubblewrap can make the namespaces here, else why not."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return "bubblewrap (bwrap) is not installed"
    probe = [bwrap, *_namespace_flags(), *_system_binds(), "--proc", "/proc", "true"]
    try:
        result = subprocess.run(probe, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as error:
        return f"bubblewrap could not start ({error})"
    if result.returncode != 0:
        return f"bubblewrap cannot make namespaces here ({result.stderr.strip()[:200]})"
    return None


def _namespace_flags() -> list[str]:
    flags = ["--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts"]
    flags += ["--unshare-cgroup-try", "--die-with-parent", "--new-session"]
    if os.geteuid() != 0:
        flags += ["--unshare-user", "--uid", str(NOBODY), "--gid", str(NOBODY)]
    return flags


def _system_binds() -> list[str]:
    binds: list[str] = []
    for directory in SYSTEM_DIRS:
        path = Path(directory)
        if path.is_symlink():
            binds += ["--symlink", os.readlink(path), directory]
        elif path.is_dir():
            binds += ["--ro-bind", directory, directory]
    return binds


def choose(required: bool) -> Isolation:
    """The best isolation this machine offers; IsolationError if `required` and none."""
    problem = _bwrap_works() if sys.platform.startswith("linux") else "not Linux"
    if problem is None:
        user = "a separate user (65534)" if os.geteuid() == 0 else "a new user namespace"
        return Isolation(
            Level.NAMESPACES,
            "bubblewrap: no network, own PID and mount namespaces, private /tmp, only the "
            f"staged modules visible, {user}, limits on memory, CPU time, file size and "
            "processes",
        )
    if required:
        raise IsolationError(
            f"official grading needs the worker to be isolated, but {problem}. On Debian or "
            "Ubuntu run `sudo apt-get install bubblewrap`; where user namespaces are "
            "restricted (Ubuntu 24.04), run the grader as root or allow them with "
            "`sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`."
        )
    return Isolation(
        Level.PROCESS,
        f"process limits only ({problem}): your code ran with your own permissions, so this "
        "local grade is a preview; the official grade runs isolated",
    )


def isolation_required() -> bool:
    """Official grading and CI never grade unprotected (TINYTORCH_ISOLATION=required|auto)."""
    setting = os.environ.get("TINYTORCH_ISOLATION", "auto")
    return setting == "required" or (setting == "auto" and os.environ.get("CI") == "true")


def _readable_parents(*paths: str) -> list[str]:
    """Make the folders above each mount point readable by the worker's user."""
    parents: list[str] = []
    for path in paths:
        parts = Path(path).parts[1:-1]
        for depth in range(1, len(parts) + 1):
            folder = "/" + "/".join(parts[:depth])
            if folder not in parents and folder not in SYSTEM_DIRS:
                parents.append(folder)
    return [arg for folder in parents for arg in ("--perms", "0755", "--dir", folder)]


def _python_binds() -> tuple[list[str], str, str]:
    """Bind the Python installation and NumPy; returns (flags, python, site directory)."""
    import numpy

    python = os.path.realpath(sys.executable)
    prefix = os.path.realpath(sys.base_prefix)
    flags: list[str] = _readable_parents(f"{SANDBOX_SITE}/numpy", f"{SANDBOX_RUNTIME}/tinyworker")
    if not any(prefix == d or prefix.startswith(d + "/") for d in SYSTEM_DIRS):
        flags += [*_readable_parents(prefix), "--ro-bind", prefix, prefix]
    numpy_dir = Path(numpy.__file__).resolve().parent
    for name in ("numpy", "numpy.libs"):
        source = numpy_dir.parent / name
        if source.is_dir():
            flags += ["--ro-bind", str(source), f"{SANDBOX_SITE}/{name}"]
    return flags, python, SANDBOX_SITE


def worker_command(isolation: Isolation, paths: WorkerPaths) -> tuple[list[str], dict]:
    """The command that starts the worker, and the paths it sees (for its config)."""
    if isolation.level is Level.PROCESS:
        import numpy

        site = str(Path(numpy.__file__).resolve().parent.parent)
        runtime_parent = paths.stage.parent / "runtime-link"
        runtime_parent.mkdir(exist_ok=True)  # shared by the shards of one module
        link = runtime_parent / "tinyworker"
        try:
            link.symlink_to(paths.runtime.resolve(), target_is_directory=True)
        except FileExistsError:  # another shard made it first
            pass
        seen = {
            "stage": str(paths.stage),
            "runtime": str(runtime_parent),
            "site": site,
            "scratch": str(paths.scratch),
            "drop_to_uid": None,
        }
        command = [sys.executable, "-I", "-S", str(link / "server.py")]
        return command, seen
    python_flags, python, site = _python_binds()
    command = [
        shutil.which("bwrap") or "bwrap",
        *_namespace_flags(),
        "--clearenv",
        *[arg for key, value in WORKER_ENV.items() for arg in ("--setenv", key, value)],
        "--setenv", "HOME", "/tmp",
        *_system_binds(),
        *python_flags,
        "--ro-bind", str(paths.stage), SANDBOX_STAGE,
        "--ro-bind", str(paths.runtime), f"{SANDBOX_RUNTIME}/tinyworker",
        "--bind", str(paths.scratch), SANDBOX_SCRATCH,
        "--proc", "/proc",
        "--dev", "/dev",
        "--size", str(WORKER_TMP_MB * 1024 * 1024), "--tmpfs", "/tmp",
        "--chdir", "/tmp",
        python, "-I", "-S", f"{SANDBOX_RUNTIME}/tinyworker/server.py",
    ]  # fmt: skip
    seen = {
        "stage": SANDBOX_STAGE,
        "runtime": SANDBOX_RUNTIME,
        "site": site,
        "scratch": SANDBOX_SCRATCH,
        "drop_to_uid": NOBODY if os.geteuid() == 0 else None,
    }
    return command, seen


def prepare_for_worker(*directories: Path, writable: Path | None = None) -> None:
    """Let the worker's user read the staged files (and write the scratch folder)."""
    for directory in directories:
        for root, _dirs, files in os.walk(directory):
            os.chmod(root, 0o755)
            for name in files:
                os.chmod(os.path.join(root, name), 0o644)
    if writable is not None:
        os.chmod(writable, 0o700)
        if os.geteuid() == 0:
            os.chown(writable, NOBODY, NOBODY)


def limit_own_memory(which: str, megabytes: int) -> None:
    """Lower this process's soft `resource.<which>` limit to `megabytes` (never raise it,
    never touch the hard limit, so the worker started below can still set its own)."""
    import resource

    kind = getattr(resource, which)
    soft, hard = resource.getrlimit(kind)
    wanted = megabytes * 2**20
    if hard != resource.RLIM_INFINITY:
        wanted = min(wanted, hard)
    if soft == resource.RLIM_INFINITY or wanted < soft:
        resource.setrlimit(kind, (wanted, hard))


def make_undumpable() -> None:
    """Make this process's memory and /proc entries unreadable to other processes."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_dumpable = 4
    libc.prctl(pr_set_dumpable, 0, 0, 0, 0)
