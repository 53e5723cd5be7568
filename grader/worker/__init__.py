"""The worker: the one process that runs a student's code, and nothing of the grader's.

Everything in this folder runs inside the worker (NumPy and the standard library only), and
the trusted side imports `wire` to speak the same format. The worker never holds a test, an
expected value or a verdict: the trusted grading process sends it requests (construct, call,
get an attribute, apply an operator) and receives plain data, arrays or handles back.
"""
