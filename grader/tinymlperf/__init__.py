"""TinyMLPerf, the capstone's competition (module 20): a student's submission is checked
against its schema (schema.py), measured by the grader in the same isolation as grading,
interleaved with the reference baseline (measure.py, measure_text.py), and ranked from
those measurements only (leaderboard.py). Nothing the student's process reports is used."""
