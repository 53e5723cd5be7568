"""The unlock workflow's early exit: anything released and not yet in assignments/?"""

import datetime as dt
import subprocess
import sys

from grader.assign.pending import pending

from .conftest import LAYOUT, copy_of_course


def _course(tmp_path, *folders):
    copy_of_course(tmp_path)
    for folder in folders:
        (tmp_path / "assignments" / folder).mkdir(parents=True)
    return tmp_path


def test_a_released_module_without_its_folder_is_pending(tmp_path):
    root = _course(tmp_path, "01_tensor")
    assert pending(root, dt.date(2026, 9, 14))  # 02 released that day
    assert not pending(root, dt.date(2026, 9, 13))
    (root / "assignments" / "02_activations").mkdir()
    assert not pending(root, dt.date(2026, 9, 20))


def test_an_unreadable_manifest_counts_as_pending(tmp_path):
    (tmp_path / "classroom.yml").write_text("modules:\n  - number: one\n    slug: x\n")
    assert pending(tmp_path, dt.date(2026, 9, 14))
    assert pending(tmp_path / "missing", dt.date(2026, 9, 14))


def test_the_command_prints_the_output_line_with_the_standard_library_only(tmp_path):
    root = _course(tmp_path, "01_tensor")
    out = subprocess.run(
        [sys.executable, "-P", "-S", "-m", "grader.assign.pending", "--root", str(root)]
        + ["--today", "2026-09-08"],
        env={"PYTHONPATH": str(LAYOUT.root)},
        capture_output=True,
        text=True,
    )
    assert out.stdout.strip() == "pending=false", out.stderr
