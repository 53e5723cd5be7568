"""Classroom 50: the autograder bundle that grades the visible tests on each push."""
