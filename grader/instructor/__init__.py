"""What instructors and teaching assistants read about a class: the gradebook (official
and latest-push grades, a per-test table, Canvas and Moodle imports) and a dashboard,
built from what the grader repository writes (`state/`) and the roster."""
