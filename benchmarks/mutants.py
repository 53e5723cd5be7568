"""Single-point mutants of the solution regions: the seeded mistakes that the grader
strength report (`grader_strength.py`) and the test-regression check
(`mutation_parity.py`) grade.

A mutant changes one operator, comparison, boolean or small integer on one line inside a
`# BEGIN SOLUTION` region, and still compiles.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from grader.assign.regions import find_regions
from grader.course import ModuleSpec
from grader.layout import Layout

SWAPS = [
    (" + ", " - "),
    (" - ", " + "),
    (" * ", " / "),
    (" / ", " * "),
    (" < ", " <= "),
    (" > ", " >= "),
    (" <= ", " < "),
    (" >= ", " > "),
    (" == ", " != "),
    ("True", "False"),
    ("False", "True"),
    ("(0)", "(1)"),
    (" 1)", " 2)"),
    ("[1:]", "[2:]"),
    ("-1", "-2"),
    (" 2", " 3"),
]


@dataclass(frozen=True)
class Mutant:
    module: ModuleSpec
    line: int
    before: str
    after: str

    def describe(self) -> str:
        change = f"{self.before.strip()!r} -> {self.after.strip()!r}"
        return f"{self.module.dirname}:{self.line}: {change}"


def mutants(layout: Layout, module: ModuleSpec) -> list[Mutant]:
    """Every single-point mutant of the module's solution regions that still compiles."""
    text = layout.module_file(layout.solutions, module).read_text(encoding="utf-8")
    lines = text.splitlines()
    found = []
    for region in find_regions(text):
        for number in range(region.begin + 1, region.end):
            line = lines[number]
            if line.lstrip().startswith("#"):
                continue
            for old, new in SWAPS:
                for match in re.finditer(re.escape(old), line):
                    changed = line[: match.start()] + new + line[match.end() :]
                    candidate = "\n".join([*lines[:number], changed, *lines[number + 1 :]])
                    try:
                        compile(candidate, module.filename, "exec")
                    except SyntaxError:
                        continue
                    found.append(Mutant(module, number + 1, line, changed))
    return found


def write_mutant(mutant: Mutant, folder: Path) -> Path:
    """Write the mutated module file as `folder/NN_slug/slug.py` (a submission tree)."""
    target = folder / mutant.module.dirname / mutant.module.filename
    target.parent.mkdir(parents=True, exist_ok=True)
    source = (Layout().solutions / mutant.module.dirname / mutant.module.filename).read_text()
    lines = source.splitlines()
    lines[mutant.line - 1] = mutant.after
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target
