"""Attacks on module 15's rule that a profiler watches and never edits: profilers that
time layers by wrapping the model's methods (on the instances or on the classes), by
patching `Function.apply`, or that leave their hooks registered. Each is module 15's
solution with its `profile.__enter__` and `__exit__` replaced; every one still records
correct rows (the honest hooks run too), so only the tests of the rule can catch it.
Each must lose the points of those tests."""

import pytest

from grader.remote.isolation import choose

from .attack_helpers import grade_with

_HONEST = """
_honest_enter, _honest_exit = profile.__enter__, profile.__exit__
"""
# Times each layer with a wrapper stored on the instance, removed on exit.
WRAPS_INSTANCES = (
    _HONEST
    + """
def _enter(self):
    _honest_enter(self)
    for module in self.model.modules():
        object.__setattr__(module, "forward", module.forward)  # a bound method, on the instance
    return self
def _exit(self, *exc_info):
    for module in self.model.modules():
        module.__dict__.pop("forward", None)
    _honest_exit(self, *exc_info)
profile.__enter__, profile.__exit__ = _enter, _exit
"""
)
# Replaces Module.__call__ with a timing wrapper while profiling, restored on exit.
PATCHES_MODULE_CALL = (
    _HONEST
    + """
_real_call = Module.__call__
def _timed_call(self, *args, **kwargs):
    return _real_call(self, *args, **kwargs)
def _enter(self):
    _honest_enter(self)
    Module.__call__ = _timed_call
    return self
def _exit(self, *exc_info):
    Module.__call__ = _real_call
    _honest_exit(self, *exc_info)
profile.__enter__, profile.__exit__ = _enter, _exit
"""
)
# Replaces Function.apply while profiling, restored on exit.
PATCHES_FUNCTION_APPLY = (
    _HONEST
    + """
_real_apply = Function.__dict__["apply"]
def _enter(self):
    _honest_enter(self)
    Function.apply = classmethod(lambda cls, *a, **k: _real_apply.__func__(cls, *a, **k))
    return self
def _exit(self, *exc_info):
    Function.apply = _real_apply
    _honest_exit(self, *exc_info)
profile.__enter__, profile.__exit__ = _enter, _exit
"""
)
# Never removes its hooks.
LEAVES_HOOKS = """
def _exit(self, *exc_info):
    self._stack.clear()
profile.__exit__ = _exit
"""
RULE_TESTS = {
    "test_profiling_leaves_the_model_and_the_framework_as_they_were",
    "test_an_error_inside_the_block_removes_the_hooks_and_the_table_reads_well",
    "test_profile_counts_layers_and_ops_and_removes_its_hooks",
}


@pytest.fixture(scope="module")
def isolation():
    return choose(required=True)


@pytest.mark.slow
@pytest.mark.parametrize(
    "code,caught",
    [
        (WRAPS_INSTANCES, {"test_profiling_leaves_the_model_and_the_framework_as_they_were"}),
        (PATCHES_MODULE_CALL, {"test_profiling_leaves_the_model_and_the_framework_as_they_were"}),
        (
            PATCHES_FUNCTION_APPLY,
            {"test_profiling_leaves_the_model_and_the_framework_as_they_were"},
        ),
        (LEAVES_HOOKS, RULE_TESTS),
    ],
    ids=["wraps-instances", "patches-module-call", "patches-function-apply", "leaves-hooks"],
)
def test_a_profiler_that_edits_loses_the_points_of_the_rule(tmp_path, isolation, code, caught):
    result = grade_with(tmp_path, 15, code, isolation)
    failed = {t.name for t in result.tests if not t.passed}
    assert caught <= failed, f"not caught by {sorted(caught - failed)}; failed: {sorted(failed)}"
    assert result.score < 100
