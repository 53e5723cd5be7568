"""Grading results and their output formats."""
