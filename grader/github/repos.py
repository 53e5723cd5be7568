"""What the grader repository reads from and writes to students' repositories on GitHub.

- `student_repositories`: the course's repositories in the organization, by name;
- `push_history`: pushes to the default branch with the time GitHub recorded them (the
  repository activity API), never a commit date, which the student's clock sets;
- `folder_blobs`: which file contents a folder held at a commit (git blob names), to tell
  whether a push changed a module;
- `post_status`: the score as a commit status on the graded commit;
- `feedback_thread` / `post_comment`: per-test feedback on Classroom 50's Feedback pull
  request, or, without one, on an issue the grader opens once.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
from collections.abc import Callable
from dataclasses import dataclass

from grader.github.client import GitHub, NotFoundError
from grader.timestamps import parse_time

STATUS_CONTEXT = "tinytorch/hidden-tests"
FEEDBACK_ISSUE_TITLE = "TinyTorch grading feedback"
PUSH_ACTIVITIES = ("push", "force_push", "branch_creation", "pr_merge", "merge_queue_merge")
"""Activities after which the branch points at a new commit (`after`)."""
STATUS_STATES = ("success", "failure", "error", "pending")


@dataclass(frozen=True)
class StudentRepository:
    full_name: str
    """`org/name`."""
    student: str
    default_branch: str
    pushed_at: str
    """The repository's last push (any branch) as GitHub lists it; "" if none."""
    archived: bool = False


@dataclass(frozen=True)
class Push:
    """One update of the default branch, as GitHub recorded it."""

    sha: str
    pushed_at: dt.datetime
    actor: str
    kind: str


def student_repositories(
    github: GitHub, organization: str, student_of: Callable[[str], str | None]
) -> list[StudentRepository]:
    """The organization's repositories that belong to a student, sorted by name."""
    found = []
    for repository in github.pages(f"/orgs/{organization}/repos", {"type": "all"}):
        student = student_of(str(repository.get("name", "")))
        if student is None or repository.get("is_template"):
            continue
        found.append(
            StudentRepository(
                full_name=repository["full_name"],
                student=student,
                default_branch=repository.get("default_branch") or "main",
                pushed_at=repository.get("pushed_at") or "",
                archived=bool(repository.get("archived")),
            )
        )
    return sorted(found, key=lambda r: r.full_name.lower())


def push_history(
    github: GitHub, repository: StudentRepository, stop_before: dt.datetime | None = None
) -> list[Push]:
    """Updates of the default branch, newest first (pages stop once older than
    `stop_before`, when given, so a long term costs few requests)."""
    pushes = []
    ref = f"refs/heads/{repository.default_branch}"
    path = f"/repos/{repository.full_name}/activity"
    for activity in github.pages(path, {"ref": ref, "direction": "desc"}):
        when = parse_time(activity.get("timestamp", ""))
        if when is None:
            continue
        if activity.get("activity_type") in PUSH_ACTIVITIES and activity.get("after"):
            actor = (activity.get("actor") or {}).get("login", "")
            pushes.append(Push(activity["after"], when, actor, activity["activity_type"]))
        if stop_before is not None and when < stop_before:
            break
    return sorted(pushes, key=lambda p: p.pushed_at, reverse=True)


def last_push_by(pushes: list[Push], moment: dt.datetime) -> Push | None:
    """The last push at or before `moment` (what the branch held at that moment)."""
    earlier = [p for p in pushes if p.pushed_at <= moment]
    return max(earlier, key=lambda p: p.pushed_at) if earlier else None


def folder_blobs(github: GitHub, full_name: str, sha: str, folder: str) -> dict[str, str]:
    """File name -> git blob name of the files directly in `folder` at commit `sha`
    (empty when the folder did not exist)."""
    try:
        listing = github.get(f"/repos/{full_name}/contents/{folder}", {"ref": sha})
    except NotFoundError:
        return {}
    if not isinstance(listing, list):
        return {}
    return {str(e["name"]): str(e["sha"]) for e in listing if e.get("type") == "file"}


def post_status(
    github: GitHub, full_name: str, sha: str, state: str, description: str, target_url: str = ""
) -> None:
    """Set the grader's commit status on `sha` (GitHub keeps 140 characters)."""
    if state not in STATUS_STATES:
        raise ValueError(f"a commit status is one of {STATUS_STATES}, not {state!r}")
    body = {"state": state, "context": STATUS_CONTEXT, "description": description[:140]}
    if target_url:
        body["target_url"] = target_url
    github.post(f"/repos/{full_name}/statuses/{sha}", body)


def feedback_thread(github: GitHub, full_name: str) -> int:
    """The number of the pull request or issue that carries grading feedback.

    Classroom 50's Feedback pull request (base branch `feedback`) when there is one; else
    the issue this grader opened earlier, found by its title; else a new issue.
    """
    pulls = github.get(f"/repos/{full_name}/pulls", {"state": "all", "base": "feedback"})
    if pulls:
        return int(min(pulls, key=lambda p: p["number"])["number"])
    for issue in github.pages(f"/repos/{full_name}/issues", {"state": "all"}):
        if issue.get("title") == FEEDBACK_ISSUE_TITLE and "pull_request" not in issue:
            return int(issue["number"])
    body = (
        "Your instructors' grader posts the results of the hidden tests here after each "
        "push it grades: your score, and for every failing test its task and message."
    )
    issue = github.post(f"/repos/{full_name}/issues", {"title": FEEDBACK_ISSUE_TITLE, "body": body})
    return int(issue["number"])


def post_comment(github: GitHub, full_name: str, number: int, body: str) -> str:
    """Comment on pull request or issue `number`; returns the comment's web address."""
    comment = github.post(f"/repos/{full_name}/issues/{number}/comments", {"body": body})
    return str(comment.get("html_url", ""))


def git_environment(token: str) -> dict[str, str]:
    """An environment for `git` that reaches GitHub with `token` through a header (never
    in a URL or a config file), ignores the caller's GIT_ settings and never prompts."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}
    env |= {"GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1"}
    if token:
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        env |= {
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": "http.extraHeader",
            "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
        }
    return env
