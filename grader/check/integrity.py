"""Protected files: the manifest written at release, and the check run on every push.

`make release` hashes every protected file of the student template (the grading
engine, the visible tests under starter/, the workflows, Makefile, classroom.yml,
pyproject.toml) into `.github/integrity.json`, and puts the same manifest plus pristine
copies of those files into the private grader bundle.

On push, `verify` compares the repository with the manifest (the bundle's copy when the
bundle is checked out, else the repository's own) and makes the protected files equal
to the template again: a changed or deleted file is restored from the bundle's copy (or
from the repository's first commit, which is the template), and a file added under a
protected folder is removed. So grading always uses the template's files; what was
changed is listed in the job summary and the results. A file that cannot be restored
costs the modules it affects (all of them, for the engine) their points in that run.

Standard library only: it runs before the grader's dependencies are installed.
Run: `python -P -m grader.check.integrity [--root DIR] [--bundle DIR] [--json FILE]`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from grader.report.workflow import commands_stopped
from grader.submission import UnsafeFileError, read_submission_file

PROTECTED_FILE_LIMIT = 4 * 2**20
"""Bytes: the largest protected file read back (the largest, a notebook, is under 100 KB)."""

MANIFEST = ".github/integrity.json"
PROTECTED_FOLDERS = ("grader/", "starter/", ".github/workflows/")
PROTECTED_FILES = ("Makefile", "classroom.yml", "pyproject.toml")
SKIPPED_PARTS = {"__pycache__", ".pytest_cache", ".hypothesis"}


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def protected_files(root: Path) -> list[str]:
    """Every protected file under `root`, as sorted relative POSIX paths."""
    found = [root / name for name in PROTECTED_FILES if (root / name).is_file()]
    for folder in PROTECTED_FOLDERS:
        found += [p for p in (root / folder).rglob("*") if p.is_file()]
    return sorted(
        p.relative_to(root).as_posix()
        for p in found
        if not SKIPPED_PARTS & set(p.parts) and p.suffix != ".pyc"
    )


def build_manifest(root: Path) -> dict[str, object]:
    """The manifest of `root`'s protected files: {"version": 1, "files": {path: sha256}}."""
    files = {path: _digest((root / path).read_bytes()) for path in protected_files(root)}
    return {"version": 1, "files": files}


@dataclass
class IntegrityReport:
    """What the check found and did."""

    checked_against: str
    """"bundle", "repository", "first commit" or "" (not checked)."""
    restored: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unrestorable: list[str] = field(default_factory=list)
    note: str = ""

    @property
    def flagged(self) -> bool:
        return bool(self.restored or self.removed or self.unrestorable)

    def summary(self) -> list[str]:
        """Sentences for the student and the instructor."""
        lines = [self.note] if self.note else []
        if self.restored:
            lines.append(
                "Protected files differ from the template and were graded as the template's "
                "copy: " + _names(self.restored)
            )
        if self.removed:
            lines.append("Files added to protected folders were ignored: " + _names(self.removed))
        if self.unrestorable:
            lines.append(
                "Protected files differ from the template and could not be restored, so the "
                "modules they affect score 0 in this run: " + _names(self.unrestorable)
            )
        if self.flagged:
            lines.append(
                "This submission is flagged for your instructor. To clear the flag, restore "
                "the template's files: git checkout $(git rev-list --max-parents=0 HEAD) "
                "-- <file> (and git rm files you added there)."
            )
        return lines


def affects(unrestorable: list[str], module_dirname: str) -> bool:
    """Whether files that could not be restored make `module_dirname`'s grade unreliable:
    its own starter files, or anything outside starter/ (the engine, the manifest)."""
    own = f"starter/{module_dirname}/"
    return any(path.startswith(own) or not path.startswith("starter/") for path in unrestorable)


def _names(paths: list[str]) -> str:
    """Paths for a message, with control characters escaped (a file name can hold a
    newline followed by a workflow command)."""
    return ", ".join(p.encode("unicode_escape").decode("ascii") for p in paths)


def _from_first_commit(root: Path, relative: str) -> bytes | None:
    """The file as in the repository's first commit (the template), if git has it."""
    try:
        first = subprocess.run(
            ["git", "rev-list", "--max-parents=0", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        if len(first) != 1:
            return None
        return subprocess.run(
            ["git", "show", f"{first[0]}:{relative}"], cwd=root, capture_output=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None


def _pristine(root: Path, bundle: Path | None, relative: str, digest: str) -> bytes | None:
    """A copy of `relative` whose hash matches the manifest, from the bundle or git."""
    candidates = []
    if bundle is not None and (bundle / "template" / relative).is_file():
        candidates.append((bundle / "template" / relative).read_bytes())
    candidates.append(_from_first_commit(root, relative))
    return next((c for c in candidates if c is not None and _digest(c) == digest), None)


def _load_manifest(root: Path, bundle: Path | None) -> tuple[dict[str, str] | None, str, bytes]:
    """(files, where they came from, the manifest's bytes): the bundle's copy, else the
    first commit's (the template's), else the repository's own copy."""
    sources: list[tuple[str, bytes | None]] = []
    if bundle is not None and (bundle / "integrity.json").is_file():
        sources.append(("bundle", (bundle / "integrity.json").read_bytes()))
    sources.append(("first commit", _from_first_commit(root, MANIFEST)))
    local = root / MANIFEST
    sources.append(("repository", local.read_bytes() if local.is_file() else None))
    for name, data in sources:
        try:
            files = json.loads(data)["files"] if data else None
        except (ValueError, KeyError, TypeError):
            files = None
        if isinstance(files, dict) and data is not None:
            return files, name, data
    return None, "", b""


def _digest_of_regular_file(root: Path, relative: str) -> str | None:
    """The file's digest when it is a regular file beneath `root` (no link on its way)."""
    try:
        return _digest(read_submission_file(root, relative, PROTECTED_FILE_LIMIT))
    except (OSError, UnsafeFileError):
        return None


def _restore(root: Path, relative: str, data: bytes) -> None:
    """Write `data` to `relative` as a regular file, replacing (never following) any link
    or non-folder on its way: a protected file committed as a link to somewhere else is
    replaced by the file, and nothing outside `root` is written."""
    path = root
    for part in Path(relative).parts[:-1]:
        path = path / part
        if path.is_symlink() or (path.exists() and not path.is_dir()):
            path.unlink()
        path.mkdir(exist_ok=True)
    target = path / Path(relative).name
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        target.unlink()
    elif target.is_dir():
        shutil.rmtree(target)
    target.write_bytes(data)


def verify(root: Path, bundle: Path | None = None) -> IntegrityReport:
    """Make `root`'s protected files equal to the manifest's; report what that took."""
    manifest, source, data = _load_manifest(root, bundle)
    if manifest is None:
        if (root / "solutions").is_dir() and bundle is None:
            return IntegrityReport("", note="The course source repository: nothing to verify.")
        return IntegrityReport(
            "", unrestorable=[MANIFEST], note=f"The integrity manifest {MANIFEST} is missing."
        )
    report = IntegrityReport(source)
    if _digest_of_regular_file(root, MANIFEST) != _digest(data):
        _restore(root, MANIFEST, data)
        report.restored.append(MANIFEST)
    for relative, digest in sorted(manifest.items()):
        if _digest_of_regular_file(root, relative) == digest:
            continue
        pristine = _pristine(root, bundle, relative, digest)
        if pristine is None:
            report.unrestorable.append(relative)
            continue
        _restore(root, relative, pristine)
        report.restored.append(relative)
    for relative in protected_files(root):
        if relative not in manifest:
            (root / relative).unlink()
            report.removed.append(relative)
    if source != "bundle":
        report.note = (
            f"Checked against the template's hashes from the {source} "
            "(the grader bundle was not available)."
        )
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -P -m grader.check.integrity")
    parser.add_argument("--root", default=".", help="the student repository")
    parser.add_argument("--bundle", default=None, help="the checked-out grader bundle, if any")
    parser.add_argument("--json", default=None, help="write the report here")
    parser.add_argument("--actions", action="store_true", help="stop workflow commands")
    args = parser.parse_args(argv)
    bundle = Path(args.bundle) if args.bundle and Path(args.bundle).is_dir() else None
    report = verify(Path(args.root), bundle)
    with commands_stopped(args.actions):
        for line in report.summary() or ["Protected files match the template."]:
            print(line)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(asdict(report), indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
