"""`make notebook`: JupyterLab pinned and installed into the course venv on first use,
started in assignments/ after a sync, with a kernel that imports the student's tinytorch."""

import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from grader.assign import jupyter
from grader.assign.jupyter import (
    JupyterSetupError,
    ensure_jupyter,
    launch,
    launch_command,
    pinned_requirements,
)
from grader.assign.sync import sync_module
from grader.layout import Layout

PIP_ERROR = "ERROR: Could not find a version that satisfies the requirement jupyterlab==4.6.6"


def _fake_python(tmp_path: Path, probe_status: int, pip_status: int) -> Path:
    """A venv whose `python` logs its arguments; the version probe and pip exit as told."""
    (tmp_path / "venv" / "bin").mkdir(parents=True)
    (tmp_path / "venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    python = tmp_path / "venv" / "bin" / "python"
    python.write_text(
        textwrap.dedent(f"""\
            #!/bin/sh
            if [ "$1" = -c ]; then
                shift 2
                echo "probe $*" >> "{tmp_path}/calls.log"
                exit {probe_status}
            fi
            echo "$*" >> "{tmp_path}/calls.log"
            echo "WARNING: some noise" >&2
            if [ {pip_status} != 0 ]; then echo "{PIP_ERROR}" >&2; fi
            exit {pip_status}
            """)
    )
    python.chmod(0o755)
    return python


def _calls(tmp_path: Path) -> list[str]:
    return (tmp_path / "calls.log").read_text().splitlines()


def test_the_notebook_extra_pins_jupyterlab_and_ipykernel_exactly(layout):
    pins = pinned_requirements(layout.root / "pyproject.toml")
    assert sorted(pin.split("==")[0] for pin in pins) == ["ipykernel", "jupyterlab"]
    assert all(re.fullmatch(r"[a-z]+==\d+\.\d+\.\d+", pin) for pin in pins), pins


def test_nothing_is_installed_when_the_pinned_versions_are_there(tmp_path, capsys):
    python = _fake_python(tmp_path, probe_status=0, pip_status=1)
    ensure_jupyter(python, ["jupyterlab==4.6.6"])
    assert capsys.readouterr().out == ""
    assert _calls(tmp_path) == ["probe jupyterlab==4.6.6"]


def test_first_use_installs_the_pins_quietly_with_one_line(tmp_path, capsys):
    python = _fake_python(tmp_path, probe_status=1, pip_status=0)
    ensure_jupyter(python, ["jupyterlab==4.6.6", "ipykernel==7.4.0"])
    assert capsys.readouterr().out == "Installing JupyterLab (first use only) ...\n"
    pip = _calls(tmp_path)[1]
    assert pip.startswith("-m pip install --quiet") and pip.endswith(
        "jupyterlab==4.6.6 ipykernel==7.4.0"
    )


def test_a_failed_install_says_why_and_what_to_do(tmp_path):
    python = _fake_python(tmp_path, probe_status=1, pip_status=1)
    with pytest.raises(JupyterSetupError) as failure:
        ensure_jupyter(python, ["jupyterlab==4.6.6"])
    message = str(failure.value)
    assert PIP_ERROR.removeprefix("ERROR: ") in message and "WARNING" not in message
    assert "internet connection" in message and "make notebook" in message
    assert "make grade" in message and "\n" not in message


def test_only_a_virtual_environment_gets_jupyterlab(tmp_path):
    python = _fake_python(tmp_path, probe_status=1, pip_status=0)
    (tmp_path / "venv" / "pyvenv.cfg").unlink()
    with pytest.raises(JupyterSetupError, match="not the course's virtual environment"):
        ensure_jupyter(python, ["jupyterlab==4.6.6"])
    assert not (tmp_path / "calls.log").exists()


def test_the_command_runs_the_venv_python_in_assignments(layout, course):
    command = launch_command(layout, course.module(1), open_browser=False)
    assert command[:3] == [sys.executable, "-m", "jupyterlab"]
    assert f"--ServerApp.root_dir={layout.assignments}" in command
    assert "--no-browser" in command and command[-1] == "01_tensor/tensor.ipynb"
    plain = launch_command(layout)
    assert "--no-browser" not in plain and not plain[-1].endswith(".ipynb")


@pytest.fixture
def workspace(tmp_path, layout, course):
    """A course folder with module 01's starter file, its notebook not made yet."""
    workspace = Layout(tmp_path)
    module = course.module(1)
    directory = workspace.assignments / module.dirname
    directory.mkdir(parents=True)
    source = layout.module_file(layout.starter, module)
    (directory / module.filename).write_text(source.read_text())
    return workspace, module


def test_launch_syncs_the_module_then_starts_jupyterlab_there(workspace, monkeypatch):
    layout, module = workspace
    seen = {}

    class FakeProcess:
        def __init__(self, command, cwd, env):
            seen.update(command=command, cwd=cwd, env=env)

        def wait(self):
            return 0

    monkeypatch.setattr(jupyter.subprocess, "Popen", FakeProcess)
    assert launch(layout, module, open_browser=False) == 0
    assert layout.module_file(layout.assignments, module).with_suffix(".ipynb").is_file()
    assert seen["cwd"] == layout.assignments
    assert seen["env"]["JUPYTER_PREFER_ENV_PATH"] == "1"
    assert seen["command"] == launch_command(layout, module, open_browser=False)


def test_launch_stops_before_jupyterlab_on_a_broken_notebook(workspace, monkeypatch, capsys):
    layout, module = workspace
    directory = layout.assignments / module.dirname
    sync_module(directory, module.filename)
    (directory / module.filename).with_suffix(".ipynb").write_text("{")
    monkeypatch.setattr(jupyter.subprocess, "Popen", _refuse_to_start)
    assert launch(layout, module) == 1
    err = capsys.readouterr().err
    assert "is not a valid notebook" in err and "FROM=py" in err
    assert "run `make notebook MODULE=01` again" in err and err.count("\n") == 1


def test_launch_says_when_the_module_is_not_unlocked(workspace, monkeypatch, capsys, course):
    layout, _ = workspace
    monkeypatch.setattr(jupyter.subprocess, "Popen", _refuse_to_start)
    assert launch(layout, course.module(2)) == 1
    err = capsys.readouterr().err
    assert "is not in your repository yet. Once it is released (`make status` shows" in err
    assert "`make update` brings it in." in err and "git pull" not in err


def _refuse_to_start(*args, **kwargs):
    raise AssertionError("JupyterLab must not start")


@pytest.fixture(scope="module")
def venv_python(layout) -> Path:
    """The course venv's Python (running these tests), with the pinned JupyterLab
    (installed the first time)."""
    python = Path(sys.executable)
    ensure_jupyter(python, pinned_requirements(layout.root / "pyproject.toml"))
    return python


KERNEL_PROBE = """
import sys
from jupyter_client.manager import start_new_kernel

manager, client = start_new_kernel(kernel_name="python3")
printed = []
try:
    client.execute_interactive(
        "import sys, tinytorch; print(sys.executable); print(tinytorch.__file__)",
        timeout=120,
        output_hook=lambda m: printed.append(m["content"].get("text", "")),
    )
finally:
    client.stop_channels()
    manager.shutdown_kernel(now=True)
print("".join(printed), end="")
"""


@pytest.mark.slow
def test_the_python3_kernel_imports_the_course_tinytorch(venv_python, layout, tmp_path):
    done = subprocess.run(
        [str(venv_python), "-c", KERNEL_PROBE],
        cwd=tmp_path,  # not the repository: the import must come from the venv's .pth
        env=jupyter.jupyter_environment(),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    executable, module_file = done.stdout.split()
    assert Path(executable).parent.parent.resolve() == venv_python.parent.parent.resolve()
    assert Path(module_file).resolve() == (layout.package / "__init__.py").resolve()


@pytest.mark.slow
def test_jupyterlab_starts_with_the_launch_command(venv_python, layout, course, tmp_path):
    command = launch_command(layout, course.module(1), open_browser=False, python=venv_python)
    command += ["--ServerApp.port=0", f"--ServerApp.runtime_dir={tmp_path}"]
    server = subprocess.Popen(
        command,
        cwd=layout.assignments,
        env={**jupyter.jupyter_environment(), "JUPYTER_CONFIG_DIR": str(tmp_path)},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline, log = time.monotonic() + 120, []
        while time.monotonic() < deadline and server.poll() is None:
            log.append(server.stderr.readline())
            if "is running at" in log[-1]:
                break
        assert "is running at" in log[-1], "".join(log)
        assert any(f"local directory: {layout.assignments}" in line for line in log)
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_launch_without_a_module_syncs_every_module_folder(workspace, monkeypatch, capsys):
    layout, module = workspace
    monkeypatch.setattr(jupyter.subprocess, "Popen", _FinishedProcess)
    assert launch(layout) == 0
    assert layout.module_file(layout.assignments, module).with_suffix(".ipynb").is_file()
    assert f"Updated {module.filename.replace('.py', '.ipynb')}" in capsys.readouterr().out


class _FinishedProcess:
    def __init__(self, *args, **kwargs):
        pass

    def wait(self) -> int:
        return 0
