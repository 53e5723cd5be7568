"""`tito update` (`make update`): bring released modules in, whatever the local state.

On a release day the `Unlock modules` workflow commits the new module folders to the
student's repository on GitHub. A plain `git pull` then fails in the usual states of a
student's clone: a local commit ("divergent branches"), or a `make unlock` done before
the workflow ran (its new files are untracked here and come in again: "untracked working
tree files would be overwritten"). `update` always gets through, and loses nothing:

1. it stops, changing nothing, in the middle of a merge or rebase, or off any branch;
2. it fetches the branch's upstream (`origin/<branch>`);
3. if commits came in, it first saves uncommitted work (changes and new files) in a
   commit of its own, then merges. A file that both sides added or changed is kept as
   the student has it when what came in is only what unlocking writes (the module's
   starter file, a `.sync-state.json`, or a generated `tinytorch/` file); any other
   conflict stops the merge (`git merge --abort`) and names the files, the work safe in
   its commit;
4. it brings the course's new given code into the module files the student has, their
   code kept (`given.py`: module 15 added profiler hooks to modules 01, 03 and 05), and
   commits what it changed;
5. it unlocks here, adding files only, the modules released by today that the workflow
   has not committed yet (the workflow's commit of the same files merges cleanly later).

Each step is said in a line as it is done (`say`), so a stop still shows what came before.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from grader.assign.given import History, refresh_given_code
from grader.assign.status import last_score
from grader.assign.sync import STATE_FILE
from grader.assign.unlock import unlock_modules
from grader.course import Course, ModuleSpec
from grader.layout import Layout

GIT_TIMEOUT = 300
"""Seconds: a fetch over a slow network, or a merge of a large repository."""
HISTORY_KEPT = 50
"""Versions of a starter file searched for the one a student's file was unlocked from."""
FALLBACK_IDENTITY = ("-c", "user.name=tito update", "-c", "user.email=tito-update@localhost")
"""Commits need a name; used only when git has none configured."""


class UpdateError(RuntimeError):
    """The update stopped; the message says what state the repository is in and what to do."""


@dataclass(frozen=True)
class Git:
    """git in one repository; every call is captured and time-limited."""

    root: Path

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        try:
            result = subprocess.run(
                ["git", "-C", str(self.root), *args], capture_output=True, text=True,
                errors="replace", timeout=GIT_TIMEOUT, check=False,
            )  # fmt: skip
        except (OSError, subprocess.TimeoutExpired) as error:
            raise UpdateError(f"`git {' '.join(args)}` did not finish ({error})") from None
        if check and result.returncode != 0:
            raise UpdateError(f"`git {' '.join(args)}` failed: {_first_line(result)}")
        return result

    def out(self, *args: str) -> str:
        return self.run(*args).stdout.strip()

    def blob(self, name: str) -> bytes | None:
        """The bytes of a blob (`:3:path`: the incoming side of a conflict), or None."""
        try:
            result = subprocess.run(
                ["git", "-C", str(self.root), "cat-file", "blob", name],
                capture_output=True, timeout=GIT_TIMEOUT, check=False,
            )  # fmt: skip
        except (OSError, subprocess.TimeoutExpired):
            return None
        return result.stdout if result.returncode == 0 else None

    def ok(self, *args: str) -> bool:
        return self.run(*args, check=False).returncode == 0

    def identity(self) -> tuple[str, ...]:
        """`-c` options naming a committer when git has none configured."""
        return () if self.ok("config", "user.email") else FALLBACK_IDENTITY


def _first_line(result: subprocess.CompletedProcess[str]) -> str:
    text = (result.stderr or result.stdout).strip()
    return text.splitlines()[0] if text else f"exit status {result.returncode}"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _check_state(git: Git) -> str:
    """The current branch; UpdateError when a merge or rebase is under way or off a branch."""
    found = git.run("rev-parse", "--absolute-git-dir", check=False)
    if found.returncode != 0:
        raise UpdateError(
            f"{git.root} is not a git repository ({_first_line(found)}): clone your course "
            "repository with `gh repo clone <org>/<repo>` and work in that folder"
        )
    git_dir = Path(found.stdout.strip())
    if (git_dir / "MERGE_HEAD").exists() or git.out("diff", "--name-only", "--diff-filter=U"):
        raise UpdateError(
            "a merge is under way here: finish it (fix the files `git status` lists, `git add` "
            "them, `git commit`) or cancel it with `git merge --abort`, then run this again"
        )
    if any((git_dir / name).exists() for name in ("rebase-merge", "rebase-apply")):
        raise UpdateError(
            "a rebase is under way here: finish it with `git rebase --continue` or cancel it "
            "with `git rebase --abort`, then run this again"
        )
    branch = git.run("symbolic-ref", "--short", "-q", "HEAD", check=False).stdout.strip()
    if not branch:
        raise UpdateError("you are not on a branch (detached HEAD): run `git switch main` first")
    return branch


def _upstream(git: Git, branch: str) -> str | None:
    """The branch's upstream (`origin/main`), or origin's branch of the same name."""
    found = git.run("rev-parse", "--abbrev-ref", f"{branch}@{{upstream}}", check=False)
    if found.returncode == 0:
        return found.stdout.strip()
    return f"origin/{branch}" if git.ok("remote", "get-url", "origin") else None


def _save_work(git: Git, incoming: int, upstream: str) -> str | None:
    """Commit uncommitted changes and new files (not ignored ones); the line saying so."""
    if not git.out("status", "--porcelain"):
        return None
    git.run("add", "--all")
    message = (
        f"Work saved by tito update before merging {_plural(incoming, 'commit')} of {upstream}"
    )
    git.run(*git.identity(), "commit", "--quiet", "--no-verify", "-m", message)
    files = git.out("diff-tree", "--no-commit-id", "--name-only", "-r", "HEAD").splitlines()
    commit = git.out("rev-parse", "--short", "HEAD")
    return (
        f'Saved your uncommitted work in commit {commit} "{message}": {_listing(files)} '
        f"(`git show --stat {commit}` lists them)."
    )


def _listing(files: list[str], shown: int = 3) -> str:
    """`a, b, c and 4 more files`: the student's files first, generated ones last."""
    ordered = sorted(files, key=lambda path: (_generated(path), path))
    rest = len(ordered) - shown
    more = f" and {_plural(rest, 'more file')}" if rest > 0 else ""
    return ", ".join(ordered[:shown]) + more


def _folders(files: list[str]) -> str:
    """`assignments/03_layers/ (5 files)`: files grouped by module folder."""
    counts: dict[str, int] = {}
    for path in files:
        parts = Path(path).parts
        group = "/".join(parts[:2]) + "/" if parts[0] == "assignments" and len(parts) > 2 else path
        counts[group] = counts.get(group, 0) + 1
    return ", ".join(
        group if not group.endswith("/") else f"{group} ({_plural(count, 'file')})"
        for group, count in counts.items()
    )


def _generated(path: str) -> bool:
    """Files the course's commands rewrite: the package and the sync state."""
    parts = Path(path).parts
    return parts[0] == "tinytorch" or parts[-1] == STATE_FILE


def _written_by_unlock(git: Git, path: str) -> bool:
    """Whether the incoming side of conflicted `path` holds only what unlocking writes."""
    parts = Path(path).parts
    if _generated(path):
        return True  # rebuilt here after the update
    if len(parts) < 3 or parts[0] != "assignments":
        return False
    starter = git.root / "starter" / Path(*parts[1:])
    return starter.is_file() and git.blob(f":3:{path}") == starter.read_bytes()


def _merge(git: Git, upstream: str) -> list[str]:
    """Merge `upstream`; the files kept as the student has them. UpdateError (the merge
    aborted) when a conflict is more than unlocking adding a file the student changed."""
    merged = git.run(*git.identity(), "merge", "--no-edit", "--no-verify", upstream, check=False)
    if merged.returncode == 0:
        return []
    conflicted = git.out("diff", "--name-only", "--diff-filter=U").splitlines()
    others = [path for path in conflicted if not _written_by_unlock(git, path)]
    if others or not conflicted:
        git.run("merge", "--abort", check=False)
        reason = (
            "these files changed both here and on GitHub: " + ", ".join(others)
            if others
            else f"git could not merge ({_first_line(merged)})"
        )
        raise UpdateError(
            f"the merge of {upstream} stopped, and nothing of it was merged: {reason}. Your "
            f"work is safe in your commits. Merge by hand: `git merge {upstream}`, edit the "
            "marked lines, `git add` the files and `git commit`."
        )
    for path in conflicted:
        if git.ok("cat-file", "-e", f":2:{path}"):
            git.run("checkout", "--ours", "--", path)
            git.run("add", "--", path)
        else:  # deleted here: stays deleted
            git.run("rm", "--quiet", "--cached", "--", path)
            (git.root / path).unlink(missing_ok=True)
    git.run(*git.identity(), "commit", "--quiet", "--no-edit", "--no-verify")
    return conflicted


def _bring_in(git: Git, say: Callable[[str], None]) -> str | None:
    """Steps 1-3: fetch and merge the upstream, saving local work first; the upstream
    merged (None when there was none to fetch)."""
    branch = _check_state(git)
    upstream = _upstream(git, branch)
    if upstream is None:
        say("This repository has no `origin` remote: nothing to fetch.")
        return None
    remote = upstream.split("/", 1)[0]
    fetched = git.run("fetch", "--quiet", remote, check=False)
    if fetched.returncode != 0:
        say(
            f"Could not fetch from {remote} ({_first_line(fetched)}): checking for modules "
            "released by today here only."
        )
        return None
    if not git.ok("rev-parse", "--verify", "--quiet", upstream):
        say(f"{upstream} does not exist yet: nothing to merge.")
        return None
    subjects = git.out("log", "--format=%s", f"HEAD..{upstream}").splitlines()
    if not subjects:
        say(f"Nothing new on {upstream}.")
    else:
        brought = git.out("diff", "--name-only", f"HEAD...{upstream}").splitlines()
        saved = _save_work(git, len(subjects), upstream)
        if saved:
            say(saved)
        kept = _merge(git, upstream)
        titles = "; ".join(dict.fromkeys(subjects))
        merged = _plural(len(subjects), "commit")
        say(f"Merged {merged} of {upstream} ({titles}): {_folders(brought)}.")
        for path in kept:
            say(f"Kept your version of {path} (what came in is what unlocking writes).")
    return upstream


def _history(git: Git) -> History:
    """The committed versions of a file, newest first (none before the first commit)."""

    def versions(path: str) -> list[bytes]:
        found = git.run("rev-list", f"--max-count={HISTORY_KEPT}", "HEAD", "--", path, check=False)
        blobs = (git.blob(f"{commit}:{path}") for commit in found.stdout.split())
        return [blob for blob in blobs if blob is not None]

    return versions


def _refresh_given(git: Git, layout: Layout, course: Course, say: Callable[[str], None]) -> None:
    """Step 4: the new given code into the student's module files, in a commit of its own."""
    status = git.run("status", "--porcelain", "--untracked-files=all", "--", "assignments")
    uncommitted = {line[3:] for line in status.stdout.splitlines()}  # "XY path"
    refresh = refresh_given_code(layout, course, _history(git))
    for line in refresh.lines:
        say(line)
    removed = [path.relative_to(layout.root).as_posix() for path in refresh.removed]
    tracked = git.out("ls-files", "--", *removed).splitlines() if removed else []
    if not refresh.changed and not tracked:
        return
    paths = [path.relative_to(layout.root).as_posix() for path in refresh.changed] + tracked
    git.run("add", "--", *paths)
    message = f"The course's new given code, brought in by tito update: {_listing(paths)}"
    git.run(*git.identity(), "commit", "--quiet", "--no-verify", "-m", message, "--", *paths)
    commit = git.out("rev-parse", "--short", "HEAD")
    mixed = [path for path in paths if path in uncommitted]
    also = f", with the changes you had not committed in {', '.join(mixed)}" if mixed else ""
    say(f"Committed these updates as {commit}{also} (`git show {commit}` shows every change).")


def _local_scores(layout: Layout) -> Callable[[ModuleSpec], float]:
    """A module's last local score as a fraction (0 when never graded here)."""

    def score(module: ModuleSpec) -> float:
        found = last_score(layout, module)
        return found.score / found.max_score if found and found.max_score else 0.0

    return score


def update(layout: Layout, course: Course, today: dt.date, say: Callable[[str], None]) -> list[str]:
    """Bring in what GitHub has, then unlock what is released by today (see the module's
    docstring); each step is `say`-ed. Returns the modules unlocked here."""
    git = Git(layout.root)
    upstream = _bring_in(git, say)
    _refresh_given(git, layout, course, say)
    ahead = int(git.out("rev-list", "--count", f"{upstream}..HEAD")) if upstream else 0
    if ahead:
        say(
            f"Your branch is {_plural(ahead, 'commit')} ahead of {upstream}: `git push` sends "
            "your work to be graded."
        )
    unlocked = unlock_modules(layout, course, today, _local_scores(layout))
    modules = {m.dirname: m for m in course.modules}
    for name in unlocked.unlocked:
        say(
            f"Unlocked {name} here (released {modules[name].release}); the Unlock modules "
            "workflow commits the same files, and the next update merges them."
        )
    released = {m.dirname for m in course.modules if m.release <= today}
    for line in unlocked.waiting:
        if line.split(":")[0] in released:
            say(f"Not unlocked: {line}.")
    upcoming = [m for m in course.modules if m.release > today]
    if upcoming:
        say(f"Next release: module {upcoming[0].key} on {upcoming[0].release}.")
    return unlocked.unlocked
