"""JupyterLab in the course's virtual environment (`make notebook [MODULE=01]`).

JupyterLab and ipykernel are pinned in pyproject.toml's `notebook` extra and installed
into the course venv on first use only. The server runs with the venv's Python, whose
`python3` kernel runs that same Python: the venv's `.pth` file makes `import tinytorch`
work in every notebook, wherever it lives.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path

from grader.assign.sync import SyncConflictError, shown, sync_module
from grader.course import ModuleSpec
from grader.layout import REPO_ROOT, Layout

EXTRA = "notebook"
PIP_TIMEOUT_SECONDS = 900
# Exit status 1 when a pinned distribution is missing or at another version.
VERSIONS_PROBE = """
import importlib.metadata as metadata, sys
for pin in sys.argv[1:]:
    name, _, wanted = pin.partition("==")
    try:
        found = metadata.version(name)
    except metadata.PackageNotFoundError:
        sys.exit(1)
    if found != wanted:
        sys.exit(1)
"""


class JupyterSetupError(RuntimeError):
    """JupyterLab could not be installed or started; the message says what to do."""


def pinned_requirements(pyproject: Path = REPO_ROOT / "pyproject.toml") -> list[str]:
    """The `notebook` extra of pyproject.toml (exact `name==version` pins)."""
    with pyproject.open("rb") as handle:
        return list(tomllib.load(handle)["project"]["optional-dependencies"][EXTRA])


def _in_virtual_environment(python: Path) -> bool:
    return (python.parent.parent / "pyvenv.cfg").is_file()


def ensure_jupyter(python: Path, requirements: Sequence[str] | None = None) -> None:
    """Install the pinned JupyterLab and ipykernel into `python`'s venv unless present."""
    pins = list(requirements) if requirements is not None else pinned_requirements()
    if not _in_virtual_environment(python):
        raise JupyterSetupError(
            f"{python} is not the course's virtual environment, and JupyterLab is installed "
            f"only there. Run `make notebook` from the course folder."
        )
    probe = subprocess.run([str(python), "-c", VERSIONS_PROBE, *pins], capture_output=True)
    if probe.returncode == 0:
        return
    print("Installing JupyterLab (first use only) ...", flush=True)
    command = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    try:
        install = subprocess.run(
            [*command, *pins], capture_output=True, text=True, timeout=PIP_TIMEOUT_SECONDS
        )
    except subprocess.TimeoutExpired:
        raise JupyterSetupError(_pip_failed(pins, "it took too long")) from None
    if install.returncode != 0:
        raise JupyterSetupError(_pip_failed(pins, _last_error(install.stderr)))


def _last_error(stderr: str) -> str:
    """pip's last `ERROR:` line (its own explanation), else its last line of output."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR:")]
    return (errors or lines or ["no message"])[-1].removeprefix("ERROR: ")


def _pip_failed(pins: Sequence[str], reason: str) -> str:
    return (
        f"Could not install {' '.join(pins)} with pip ({reason}). Check your internet "
        f"connection (pip downloads them once) and run `make notebook` again. Meanwhile you "
        f"can edit your module's .py file in any editor and check it with `make grade`."
    )


def jupyter_environment() -> dict[str, str]:
    """The server's environment: kernels of the venv first, even if the student installed
    another `python3` kernel in their home folder."""
    return {**os.environ, "JUPYTER_PREFER_ENV_PATH": "1"}


def notebook_path(layout: Layout, module: ModuleSpec) -> Path:
    """The notebook twin of a module's file in assignments/."""
    return layout.module_file(layout.assignments, module).with_suffix(".ipynb")


def launch_command(
    layout: Layout,
    module: ModuleSpec | None = None,
    *,
    open_browser: bool = True,
    python: Path | None = None,
) -> list[str]:
    """The command that starts JupyterLab in assignments/ (on a module's notebook if given)."""
    command = [
        str(python or Path(sys.executable)),
        "-m",
        "jupyterlab",
        f"--ServerApp.root_dir={layout.assignments}",
    ]
    if not open_browser:
        command.append("--no-browser")
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # containers often run as root
        command.append("--allow-root")
    if module is not None:
        command.append(notebook_path(layout, module).relative_to(layout.assignments).as_posix())
    return command


def _sync_before_opening(layout: Layout, module: ModuleSpec | None) -> bool:
    """Sync the module (or every module folder); False when the student must act first."""
    if module is not None:
        directory = layout.assignments / module.dirname
        if not layout.module_file(layout.assignments, module).is_file():
            print(
                f"{shown(directory)}/{module.filename} does not exist yet: module {module.key} "
                f"is not in your repository yet. Once it is released (`make status` shows the "
                "date), `make update` brings it in.",
                file=sys.stderr,
            )
            return False
        try:
            print(sync_module(directory, module.filename).message)
        except SyncConflictError as stop:
            print(f"{stop} Then run `make notebook MODULE={module.key}` again.", file=sys.stderr)
            return False
        return True
    for directory in sorted(layout.assignments.glob("[0-9][0-9]_*")):
        filename = f"{directory.name.split('_', 1)[1]}.py"  # NN_<slug>/<slug>.py
        if not (directory / filename).is_file():
            continue
        try:
            result = sync_module(directory, filename)
        except SyncConflictError as stop:
            print(f"warning: {stop}")
            continue
        if result.action != "none":
            print(result.message)
    return True


def launch(
    layout: Layout,
    module: ModuleSpec | None = None,
    *,
    open_browser: bool = True,
    before_start: Callable[[], None] | None = None,
) -> int:
    """Sync, run `before_start` (the CLI rebuilds tinytorch/ there), then run JupyterLab
    until it stops; returns its exit status.

    Ctrl+C goes to JupyterLab, which asks whether to stop; this process waits for it.
    """
    if not _sync_before_opening(layout, module):
        return 1
    if before_start is not None:
        before_start()
    command = launch_command(layout, module, open_browser=open_browser)
    print(
        f"Starting JupyterLab in {shown(layout.assignments)}/ (stop it with Ctrl+C) ...",
        flush=True,
    )
    process = subprocess.Popen(command, cwd=layout.assignments, env=jupyter_environment())
    while True:
        try:
            return process.wait()
        except KeyboardInterrupt:
            continue
