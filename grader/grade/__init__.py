"""Run a module's tests against a submission in a sandboxed subprocess and score them."""
