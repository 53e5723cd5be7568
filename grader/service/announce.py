"""Telling each student, once, about an exception their instructors granted them.

The comment goes to the student's feedback thread (the Feedback pull request or the
grader's issue) and names the module and the new due time or that it is excused; the
reason stays with the instructors. What was announced is remembered in `state/`, so a
changed extension is announced again and a failed call is retried next run.
"""

from __future__ import annotations

from pathlib import Path

from grader.course import Course
from grader.github.client import GitHub, GitHubError
from grader.github.repos import feedback_thread, post_comment
from grader.service.exceptions import Entry, Exceptions
from grader.service.state import GradingState, save_state
from grader.timestamps import format_time

HEADING = "### TinyTorch grader: a change your instructors made for you"


def announcement(entry: Entry, course: Course) -> tuple[str, str]:
    """(the key remembered once announced, the comment's line) for one exception."""
    module = course.module(entry.module)
    name = f"Module {module.key} ({module.title})"
    if entry.due is None:
        return f"excused {module.key}", f"- {name} is excused: it is not part of your total."
    local = entry.due.strftime("%Y-%m-%d %H:%M %Z")
    line = f"- {name} is now due {local}; its official grade is taken then."
    return f"extension {module.key} {format_time(entry.due)}", line


def announce_exceptions(
    github: GitHub, course: Course, exceptions: Exceptions, state: GradingState, path: Path
) -> list[str]:
    """Post each student's exceptions not announced yet; returns the problems met."""
    problems = []
    for name, remembered in state.repositories.items():
        lines = [announcement(entry, course) for entry in exceptions.of(remembered.student)]
        lines = [(key, line) for key, line in lines if key not in remembered.announced]
        if not lines:
            continue
        try:
            if not remembered.thread:
                remembered.thread = feedback_thread(github, name)
            body = "\n".join([HEADING, "", *(line for _, line in lines)]) + "\n"
            post_comment(github, name, remembered.thread, body)
        except GitHubError as error:
            problems.append(f"{name}: exceptions not announced yet, retried next run ({error})")
            continue
        remembered.announced += [key for key, _ in lines]
        save_state(state, path)
    return problems
