"""Repair a course environment (.venv) after the repository folder was moved or renamed.

A venv holds absolute paths: the `.pth` file naming `.venv/course-packages`, the links in
that folder, and the scripts' `#!` lines. `make` runs this before any target when
`.venv/.made-for` names another folder; it rewrites those paths, so no reinstall is
needed. Standard library only: the course packages cannot be imported until it has run.

    python -I grader/tito/relocate.py --venv .venv --root /new/repository
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

MADE_FOR = ".made-for"
PACKAGES = ("tinytorch", "grader", "milestones")


def _replace(path: Path, text: str) -> None:
    """Write `text` as a new file in place of `path` (same mode): a file shared by a hard
    link elsewhere is never changed."""
    fresh = path.with_name(path.name + ".relocating")
    fresh.write_text(text, encoding="utf-8")
    fresh.chmod(path.stat().st_mode & 0o7777)
    fresh.replace(path)


def relocate(venv: Path, root: Path) -> str | None:
    """Point `venv` at `root`; return the one line saying so, or None if nothing moved."""
    if venv.is_symlink() or venv.resolve().parent != root.resolve():
        return None  # an environment shared with another checkout: never repointed from here
    marker = venv / MADE_FOR
    old_root = marker.read_text(encoding="utf-8").strip() if marker.is_file() else ""
    if not old_root or old_root == str(root):
        return None
    links = venv / "course-packages"
    links.mkdir(exist_ok=True)
    for name in PACKAGES:
        link = links / name
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(root / name)
    for pth in venv.glob("lib/python3*/site-packages/tinytorch-classroom.pth"):
        _replace(pth, f"{links.resolve()}\n")
    old_venv, new_venv = f"{old_root}/{venv.name}", str(root / venv.name)
    for script in (venv / "bin").iterdir():
        if script.is_symlink() or not script.is_file():
            continue
        try:
            text = script.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        if old_venv in text:
            _replace(script, text.replace(old_venv, new_venv))
    _replace(marker, f"{root}\n")
    return f"This repository moved from {old_root}: pointed {venv.name}/ at its new folder."


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venv", required=True, type=Path)
    parser.add_argument("--root", required=True, type=Path)
    args = parser.parse_args()
    line = relocate(args.venv.absolute(), args.root.absolute())
    if line:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
