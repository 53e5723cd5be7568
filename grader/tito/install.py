"""Install the `tito` console script into the running environment (`make venv` calls this).

The course environment installs pinned dependencies, not this repository as a package, so
the script is written the way pip writes console scripts: a launcher that runs
`grader.tito` with this environment's Python, isolated (-I) so that files in the current
folder are never imported in place of the course's.
"""

from __future__ import annotations

import sys
from pathlib import Path

LAUNCHER = 'import runpy\nrunpy.run_module("grader.tito", run_name="__main__", alter_sys=True)\n'


def install(bin_dir: Path | None = None) -> Path:
    """Write `<env>/bin/tito` and return its path."""
    target = (bin_dir or Path(sys.prefix) / "bin") / "tito"
    target.write_text(f"#!{sys.executable} -I\n{LAUNCHER}", encoding="utf-8")
    target.chmod(0o755)
    return target


if __name__ == "__main__":
    print(f"installed {install()}")
