"""Push the course's protected files (tests, the engine, workflows, classroom.yml, the
integrity manifest) to every student repository, as one commit each, or as one pull
request each (on a branch `course-update-<digest>`) for the students to merge.

The files come from the grader repository: `template/` (pristine copies of every
protected file) and `integrity.json` (the manifest students' repositories keep as
`.github/integrity.json`). For each student repository: a shallow clone of its default
branch; each protected file made equal to the course's, a protected file the course no
longer has removed; nothing else touched (never `assignments/`). Nothing to change: no
commit. So a run is idempotent, and resumable: `state/sync.json` remembers which
repositories have this exact set of files (by digest), and a run skips them; a push
that fails (the student pushed meanwhile, twice) is reported and tried on the next run.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from grader.check.integrity import MANIFEST, PROTECTED_FILES, PROTECTED_FOLDERS, protected_files
from grader.course import CourseConfigError
from grader.github.client import GitHub, GitHubError
from grader.github.repos import StudentRepository, git_environment
from grader.layout import Layout

GIT_TIMEOUT_SECONDS = 300
BRANCH_PREFIX = "course-update-"
AUTHOR = ("-c", "user.name=tinytorch-grader", "-c",
          "user.email=tinytorch-grader@users.noreply.github.com")  # fmt: skip


def course_files(layout: Layout) -> dict[str, bytes]:
    """Every protected file a student repository should hold, with its bytes."""
    files = {name: (layout.root / name).read_bytes() for name in protected_files(layout.root)}
    manifest = layout.bundle / "integrity.json" if layout.bundle else layout.root / MANIFEST
    if not manifest.is_file():
        raise CourseConfigError(f"{manifest}: the integrity manifest is missing (make release)")
    files[MANIFEST] = manifest.read_bytes()
    return files


def digest(files: dict[str, bytes]) -> str:
    """One name for this exact set of files (the sync log's key)."""
    total = hashlib.sha256()
    for name in sorted(files):
        total.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return total.hexdigest()


@dataclass
class SyncReport:
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """Already synced with these files by an earlier run."""
    problems: list[str] = field(default_factory=list)


def _git(env: dict[str, str], *arguments: str, cwd: Path | None = None) -> str:
    done = subprocess.run(["git", *arguments], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=GIT_TIMEOUT_SECONDS)  # fmt: skip
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or ["no message"]
        raise RuntimeError(f"git {arguments[0]} failed: {lines[-1]}")
    return done.stdout


def _clear(path: Path) -> None:
    """Remove a link, a file or a folder (a link is removed, never followed)."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


def _place(checkout: Path, name: str) -> Path:
    """The path to write `name` at, every folder on the way a real folder inside the
    checkout: a link a student put in its place (to reach outside) is removed first."""
    place = checkout
    for part in Path(name).parts[:-1]:
        place = place / part
        if place.is_symlink() or (place.exists() and not place.is_dir()):
            _clear(place)
        place.mkdir(exist_ok=True)
    target = place / Path(name).name
    if target.is_symlink() or target.is_dir():
        _clear(target)
    return target


def _apply(files: dict[str, bytes], checkout: Path) -> None:
    """Make the checkout's protected files the course's, and only those."""
    for name in files:  # links on the way go first: nothing below is followed out
        _place(checkout, name)
    present = [checkout / name for name in PROTECTED_FILES]
    for folder in PROTECTED_FOLDERS:
        if (checkout / folder).is_dir() and not (checkout / folder).is_symlink():
            present += list((checkout / folder).rglob("*"))
    for path in present:
        relative = path.relative_to(checkout).as_posix()
        if relative not in files and (path.is_symlink() or path.is_file()):
            path.unlink()
    for name, data in files.items():
        target = _place(checkout, name)
        if not target.exists() or target.read_bytes() != data:
            target.write_bytes(data)


def sync_repository(
    repository: StudentRepository,
    url: str,
    token: str,
    files: dict[str, bytes],
    message: str,
    github: GitHub | None = None,
) -> str:
    """Bring one repository the course's files: "" when it had them; else "committed",
    or, with `github`, "pull request #N" (on a branch named after the files' digest, so
    a run again finds the same branch and pull request instead of opening another)."""
    env = git_environment(token)
    branch = repository.default_branch
    with tempfile.TemporaryDirectory(prefix="tinytorch-sync-") as folder:
        checkout = Path(folder) / "repository"
        _git(env, "clone", "--quiet", "--depth", "1", "--branch", branch, url, str(checkout))
        _apply(files, checkout)
        _git(env, "add", "--all", cwd=checkout)  # a fresh clone: only protected paths changed
        if not _git(env, "status", "--porcelain", cwd=checkout).strip():
            return ""
        if github is not None:
            return _pull_request(github, repository, env, checkout, files, message)
        _git(env, *AUTHOR, "commit", "--quiet", "-m", message, cwd=checkout)
        try:
            _git(env, "push", "--quiet", "origin", f"HEAD:{branch}", cwd=checkout)
        except RuntimeError:  # the student pushed meanwhile: once more on top of it
            _git(env, "fetch", "--quiet", "--depth", "1", "origin", branch, cwd=checkout)
            _git(env, *AUTHOR, "rebase", "--quiet", f"origin/{branch}", cwd=checkout)
            _git(env, "push", "--quiet", "origin", f"HEAD:{branch}", cwd=checkout)
    return "committed"


def _pull_request(
    github: GitHub,
    repository: StudentRepository,
    env: dict[str, str],
    checkout: Path,
    files: dict[str, bytes],
    message: str,
) -> str:
    """Push the change to its own branch (once) and open its pull request (once)."""
    head = f"{BRANCH_PREFIX}{digest(files)[:12]}"
    if not _git(env, "ls-remote", "--heads", "origin", head, cwd=checkout).strip():
        _git(env, *AUTHOR, "commit", "--quiet", "-m", message, cwd=checkout)
        _git(env, "push", "--quiet", "origin", f"HEAD:refs/heads/{head}", cwd=checkout)
    owner = repository.full_name.split("/")[0]
    path = f"/repos/{repository.full_name}/pulls"
    found = github.get(path, {"head": f"{owner}:{head}", "state": "open"})
    if found:
        return f"pull request #{found[0]['number']}"
    body = "The course's protected files (tests, grading engine, workflows) changed; merge " \
        "this to keep your push runs unflagged. Your own work is not touched."  # fmt: skip
    pull = github.post(path, {"title": message, "head": head, "base": repository.default_branch,
                              "body": body})  # fmt: skip
    return f"pull request #{pull['number']}"


def sync_all(
    repositories: list[StudentRepository],
    clone_url: str,
    token: str,
    files: dict[str, bytes],
    message: str,
    log_path: Path,
    github: GitHub | None = None,
) -> SyncReport:
    """Sync every repository not yet synced with exactly `files` (see the module doc);
    with `github`, as pull requests."""
    key = digest(files)
    report = SyncReport()
    try:
        log = json.loads(log_path.read_text("utf-8")) if log_path.exists() else {}
        done = set(log["done"]) if log.get("files") == key else set()
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        report.problems.append(f"{log_path.name}: unreadable, every repository checked ({error})")
        done = set()
    for repository in repositories:
        name = repository.full_name
        if name in done:
            report.skipped.append(name)
            continue
        if repository.archived:
            report.problems.append(f"{name}: archived, left as it is")
            continue
        try:
            url = clone_url.format(repository=name)
            how = sync_repository(repository, url, token, files, message, github)
        except (RuntimeError, OSError, subprocess.TimeoutExpired, GitHubError) as error:
            report.problems.append(f"{name}: not synced, tried again next run ({error})")
            continue
        if how:
            report.updated.append(f"{name} ({how})" if github is not None else name)
        else:
            report.unchanged.append(name)
        done.add(name)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        partial = log_path.with_suffix(".partial")
        partial.write_text(json.dumps({"files": key, "done": sorted(done)}, indent=1) + "\n")
        os.replace(partial, log_path)
    return report
