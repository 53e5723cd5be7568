"""Turn solutions into starters and notebooks, and seed the student's workspace."""
