"""Checks on a submission that need no execution."""
