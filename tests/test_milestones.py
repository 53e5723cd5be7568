"""The milestone runner: discovery, the completeness check, and runs on the solutions."""

import os
import re
import shutil
import subprocess
import sys

import pytest

from grader.assign.regions import open_tasks
from grader.milestone_index import MilestoneError, discover, needed_modules
from milestones.runner import check_ready

from .conftest import COURSE, LAYOUT

MILESTONES = discover(LAYOUT.milestones)


def _run(*args, timeout=120):
    return subprocess.run(
        [sys.executable, "-m", "milestones", *args],
        cwd=LAYOUT.root,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _tree(tmp_path, starter_for=()):
    """A submission tree: the solutions of modules 01-07, the starter for `starter_for`."""
    root = tmp_path / "submission"
    for module in COURSE.modules[:7]:
        source = LAYOUT.starter if module.number in starter_for else LAYOUT.solutions
        (root / module.dirname).mkdir(parents=True)
        shutil.copy(LAYOUT.module_file(source, module), root / module.dirname / module.filename)
    return root


def test_milestones_are_discovered_with_title_and_modules():
    assert {"01", "02", "03"} <= set(MILESTONES)
    assert MILESTONES["01"].title.startswith("1957")
    assert [m.number for m in needed_modules(COURSE, MILESTONES["01"])] == [1, 2, 3]
    assert [m.number for m in needed_modules(COURSE, MILESTONES["03"])] == list(range(1, 8))
    for milestone in MILESTONES.values():
        assert (milestone.folder / "README.md").is_file(), f"{milestone.folder} has no README"


def test_unfinished_lists_the_open_tasks_of_a_starter_and_nothing_for_a_solution(tmp_path):
    module = COURSE.module(6)
    todo = open_tasks(LAYOUT.module_file(LAYOUT.starter, module))
    assert [t.split(" (")[0] for t in todo] == [f"Task 06.{k}" for k in range(1, 6)]
    assert "SGD.__init__" in todo[2] and "SGD._update" in todo[2]
    assert open_tasks(LAYOUT.module_file(LAYOUT.solutions, module)) == []
    assert open_tasks(tmp_path / "optimizers.py") == ["optimizers.py is missing"]
    broken = tmp_path / "broken.py"
    broken.write_text("def f(:\n")
    assert open_tasks(broken) == ["broken.py has a syntax error on line 1"]


def test_check_ready_names_every_unfinished_module_and_task(tmp_path):
    root = _tree(tmp_path, starter_for=(6,))
    (root / "07_training" / "training.py").unlink()
    with pytest.raises(MilestoneError) as error:
        check_ready(COURSE, MILESTONES["03"], root, "submission")
    message = str(error.value)
    assert "06_optimizers: Task 06.1" in message and "Task 06.5" in message
    assert "07_training: training.py is missing" in message
    assert "01_tensor" not in message.split("Not done yet")[1], "a finished module was listed"
    check_ready(COURSE, MILESTONES["01"], root, "submission")  # needs only 01-03: ready


def test_the_command_refuses_an_unfinished_tree_with_a_clear_message(tmp_path):
    root = _tree(tmp_path, starter_for=(5,))
    result = _run("02", "--submission", str(root))
    assert result.returncode == 2
    assert "05_autograd: Task 05.1" in result.stderr and "Traceback" not in result.stderr
    assert _run("99").returncode == 2


def _curve_rows(path) -> list[list[str]]:
    """The TSV table of a curve, and a check that its PNG beside it is a picture."""
    assert path.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return [line.split("\t") for line in path.read_text().splitlines()]


def test_perceptron_and_xor_run_on_the_solutions(tmp_path):
    out = ["--", "--out", str(tmp_path)]
    perceptron = _run("01", "--submission", "solutions", *out)
    assert perceptron.returncode == 0, perceptron.stderr
    assert "Converged" in perceptron.stdout and "samples/s" in perceptron.stdout
    rows = _curve_rows(tmp_path / "perceptron-curve.tsv")
    assert rows[0] == ["epoch", "mistakes", "train_loss", "train_accuracy"]
    assert rows[-1][1] == "0", "the last epoch of a converged run makes no mistake"
    xor = _run("02", "--submission", "solutions", *out)
    assert xor.returncode == 0, xor.stderr
    single, hidden = re.search(
        r"Single layer: ([\d.]+)%.*hidden layer: ([\d.]+)%", xor.stdout
    ).groups()
    assert float(single) <= 80.0 and float(hidden) >= 95.0, xor.stdout[-400:]
    rows = _curve_rows(tmp_path / "xor-curve.tsv")
    assert rows[0] == ["epoch", "one layer accuracy", "hidden layer of 8 accuracy"]
    assert len(rows) == 41


def test_the_digits_mlp_reaches_95_percent_on_the_solutions(tmp_path):
    result = _run("03", "--submission", "solutions", "--", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    accuracy = float(re.search(r"test accuracy ([\d.]+)%", result.stdout).group(1))
    assert accuracy >= 95.0, result.stdout[-600:]
    assert "epoch 30 train" in result.stdout and "samples/s" in result.stdout
    rows = _curve_rows(tmp_path / "mlp-digits-curve.tsv")
    assert len(rows) == 31 and float(rows[-1][-1]) == pytest.approx(accuracy, abs=0.01)


def test_the_int8_digits_mlp_is_smaller_and_as_accurate_on_the_solutions():
    result = _run("06", "--submission", "solutions", "--", "--repeats", "1")
    assert result.returncode == 0, result.stderr
    pattern = r"(float32|int8) +([\d,]+) bytes +test accuracy +([\d.]+)%"
    rows = {name: (int(size.replace(",", "")), float(accuracy))
            for name, size, accuracy in re.findall(pattern, result.stdout)}  # fmt: skip
    assert set(rows) == {"float32", "int8"}, result.stdout[-800:]
    # 64-128-10: float32 weights and biases; int8 weights, per-channel float32 scales and
    # biases, and a float32 scale and an int32 zero point per layer
    assert rows["float32"][0] == 4 * (64 * 128 + 128 + 128 * 10 + 10)
    assert rows["int8"][0] == 64 * 128 + 128 * 10 + 8 * (128 + 10) + 2 * 8
    assert rows["float32"][1] >= 95.0 and rows["int8"][1] >= rows["float32"][1] - 1.0
    assert "3.63x smaller" in result.stdout


def test_missing_data_is_a_message_not_a_traceback(tmp_path):
    env = {**os.environ, "TINYTORCH_DATA": str(tmp_path), "TINYTORCH_OFFLINE": "1"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "milestones",
            "03",
            "--submission",
            "solutions",
            "--",
            "--dataset",
            "fashion-mnist",
        ],
        cwd=LAYOUT.root,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "train-images-idx3-ubyte.gz" in result.stderr and str(tmp_path) in result.stderr
