"""The grader's rooms import each other one way only: downward, never in a loop.

Each package of `grader/` (and each of its top-level modules) is a room on a floor; an
import may only go to a lower floor. `milestones` sits above the grader (it builds
packages with it); nothing in `grader/` imports `milestones`. Every import counts,
including those inside functions. Hidden tests are lessons' tests, not grader code.
"""

from __future__ import annotations

import ast
from collections import defaultdict

from .conftest import LAYOUT

FLOORS: list[set[str]] = [
    {"milestones"},
    {"grader.__main__", "grader.tito"},
    {"grader.cli"},
    {"grader.grade_verb"},
    {"grader.release"},
    {"grader.instructor", "grader.tinymlperf"},
    {"grader.service"},
    {"grader.grade", "grader.assign", "grader.github"},
    {"grader.check", "grader.classroom50"},
    {"grader.report"},
    {"grader.testing"},
    {"grader.remote"},
    {"grader.worker"},
    {"grader.package", "grader.milestone_index", "grader.submission"},
    {"grader.stub"},
    {"grader.layout"},
    {"grader.course", "grader.timestamps"},
    {"milestones.datasets"},
]
"""Top to bottom. The test kit (`testing`) is what lessons' tests import; the worker's
trusted side (`remote`) is below it and above the sandboxed `worker`. The dataset loaders
(`milestones/datasets/`) import nothing of ours: the milestones and TinyMLPerf's
measurement (`grader.tinymlperf`) both read data through them."""
FLOOR = {room: level for level, rooms in enumerate(FLOORS) for room in rooms}


def room_of(module: str) -> str | None:
    """The room a dotted module name belongs to (None outside grader/ and milestones/)."""
    parts = module.split(".")
    if parts[0] == "milestones":
        return "milestones.datasets" if parts[1:2] == ["datasets"] else "milestones"
    if parts[0] != "grader" or len(parts) == 1:
        return None
    return f"grader.{parts[1]}"


def imports() -> dict[str, set[str]]:
    """Room -> the rooms its files import."""
    edges: dict[str, set[str]] = defaultdict(set)
    files = [*(LAYOUT.root / "grader").rglob("*.py"), *(LAYOUT.root / "milestones").rglob("*.py")]
    for path in files:
        relative = path.relative_to(LAYOUT.root)
        if "hidden" in relative.parts:
            continue
        source = room_of(".".join(relative.with_suffix("").parts))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            else:
                continue
            for name in names:
                target = room_of(name)
                if target and target != source and (target in FLOOR or name.count(".") < 2):
                    edges[source].add(target)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one room (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        found.append(sorted(group))
    return found


def test_every_room_is_on_a_floor():
    rooms = set(imports()) | {target for targets in imports().values() for target in targets}
    assert rooms - set(FLOOR) == set(), "add the new room to FLOORS"


def test_no_import_cycle_between_rooms():
    assert cycles(imports()) == []


def test_every_import_goes_down_a_floor():
    upward = sorted(
        f"{source} -> {target}"
        for source, targets in imports().items()
        for target in targets
        if FLOOR[target] <= FLOOR[source] and source != target
    )
    assert upward == []


def test_the_checker_sees_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
