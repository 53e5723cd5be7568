"""Helpers that tests need to run beside the student's code, in the worker.

Put here what cannot be a plain call from the trusted side: subclasses of the student's
classes (a custom `Function`, a `Module`, a `Dataset`), engines plugged into their
extension points, callables handed to their code. Tests reach them as `aids.<file>.<name>`
(grader/testing/kit.py). They are public (students get them too), so they hold no
expected value and decide nothing: every check stays in the test, on the trusted side.
A file named after a module (`aids/autograd.py` for 05_autograd) may import that
module and its prerequisites at the top: it is only used while they are staged.
"""
