"""The test kit: how tests reach the student's code (kit.py, over the worker's trusted side
in grader/remote/), the checks that decide (checks.py, gradcheck.py, graph.py), and shared
references, data, timing and hypothesis strategies. Everything here runs on the trusted
side; the student's code runs only in the worker (grader/worker/)."""
