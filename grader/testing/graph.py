"""Checks that a result was computed with tensor operations (modules 03-04).

The recorder runs in the worker (grader/worker/aids/graph.py) and reports the graph's
edges; whether the output reaches a source is decided here. The worker can report a
false graph: this check catches honest mistakes only, so it never carries points alone
(the same test checks the result's values, computed here; kit.py, "What a test may
believe").
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from grader.remote.handles import Handle
from grader.testing.kit import aids


@contextmanager
def recording() -> Iterator[Any]:
    """Record the graph of every op inside the block (a handle to the recorder)."""
    with aids.graph.recording() as engine:
        yield engine


def reaches(engine: Any, output: Any, source: Any) -> bool:
    """Whether `source` is an input of `output` through the recorded ops."""
    edges = engine.edges()
    if type(edges) is not list:
        return False
    parents: dict[Handle, list[Handle]] = {}
    for edge in edges:
        if type(edge) is list and len(edge) == 2 and isinstance(edge[0], Handle):
            inputs = edge[1] if type(edge[1]) is list else []
            parents.setdefault(edge[0], []).extend(x for x in inputs if isinstance(x, Handle))
    stack, seen = [output], set()
    while stack:
        tensor = stack.pop()
        if tensor is source:
            return True
        if isinstance(tensor, Handle) and tensor not in seen:
            seen.add(tensor)
            stack.extend(parents.get(tensor, ()))
    return False


def assert_built_from(engine: Any, output: Any, *sources: Any, what: str) -> None:
    """`output` was computed from every one of `sources` with tensor operations."""
    for source in sources:
        assert reaches(engine, output, source), (
            f"{what} should compute its result from its inputs and parameters with tensor "
            "operations (module 05 differentiates those), not from .data arrays"
        )
