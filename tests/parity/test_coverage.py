"""Every public name of every module is compared with PyTorch or said to have no twin,
and every departure from PyTorch is written down where students read it."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.parity.departures import COVERED, DEPARTURES, NOT_COMPARABLE

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
MODULES = sorted(p for p in (ROOT / "solutions").iterdir() if p.is_dir())


def public_names(module_file: Path) -> list[str]:
    tree = ast.parse(module_file.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "__all__":
            return list(ast.literal_eval(node.value))
    raise AssertionError(f"{module_file} has no __all__")


def test_every_public_name_is_compared_or_has_no_pytorch_twin():
    missing = []
    for folder in MODULES:
        slug = folder.name.split("_", 1)[1]
        for name in public_names(folder / f"{slug}.py"):
            if name not in COVERED and name not in NOT_COMPARABLE:
                missing.append(f"{folder.name}: {name}")
    assert not missing, "not compared with PyTorch and not listed in departures.py: " + ", ".join(
        missing
    )


def test_every_covered_name_is_used_by_its_test_file():
    for name, file in COVERED.items():
        text = (HERE / file).read_text(encoding="utf-8")
        assert name in text, f"{file} is said to compare {name} but never names it"


def test_every_departure_is_in_its_module_readme():
    for module, lines in DEPARTURES.items():
        readme = (ROOT / "solutions" / module / "README.md").read_text(encoding="utf-8")
        assert "## Where tinytorch differs from PyTorch" in readme, module
        for line in lines:
            assert line in readme, f"{module}/README.md does not say: {line}"
