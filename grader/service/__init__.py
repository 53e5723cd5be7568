"""The instructors' grader repository: grading with hidden tests on a schedule, feedback on
students' commits, and the official grade at each due date."""
