"""GitHub's REST API, as the instructors' grader repository uses it."""
