"""Helpers shared by visible and hidden tests: hypothesis strategies and assertions."""
