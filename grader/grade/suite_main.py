"""The trusted test process: `python -I grader/grade/suite_main.py SUITE_JSON`.

Started by grader/grade/suite.py with `-I` (no current folder, no PYTHONPATH, no user
site-packages on `sys.path`); this engine's folder is appended after the standard library
and the installed packages, so nothing in it can shadow them. The student's repository
is never on the path: it is only data here.
"""

import sys
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[2]
sys.path.append(str(ENGINE))


MEMORY_MB = 3072
"""The test process's own address space (soft limit; the worker it starts sets its own):
what the student's answers make it hold is bounded by the wire's caps, and past this a
test fails with a MemoryError instead of the machine running out."""


def main() -> int:
    from grader.remote.isolation import limit_own_memory

    limit_own_memory("RLIMIT_AS", MEMORY_MB)
    import pytest

    from grader.grade.protocol import SuiteConfig

    config_path = Path(sys.argv[1])
    config = SuiteConfig.from_json(config_path.read_text(encoding="utf-8"))
    root = config.tests.parent
    arguments = [
        str(config.tests),
        "--rootdir", str(root),
        "-c", str(root / "pytest.ini"),
        "-p", "grader.grade.plugin",
        f"--grading-config={config_path}",
        "-p", "no:cacheprovider",
        "--noconftest",
        "--import-mode=importlib",
        "-q", "--tb=short", "--no-header", "-rN",
        "--continue-on-collection-errors",
    ]  # fmt: skip
    if len(sys.argv) > 2 and sys.argv[2] == "--collect-only":
        arguments.append("--collect-only")
    return int(pytest.main(arguments))


if __name__ == "__main__":
    sys.exit(main())
