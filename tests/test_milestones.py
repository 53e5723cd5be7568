"""The milestone runner: discovery, the completeness check, and runs on the solutions."""

import os
import random
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


def _tiny_text(tmp_path):
    """A 3,000-character text of 17 distinct characters (16 letters and the space)."""
    words = "the cat sat on a mat and then it ran to the hat of the man who had a plan".split()
    rng = random.Random(0)
    path = tmp_path / "tiny.txt"
    path.write_text(" ".join(rng.choice(words) for _ in range(800)), encoding="utf-8")
    return path


def _gpt_bytes(vocab: int, d: int) -> tuple[int, int]:
    """float32 and int8 bytes of a one-layer GPT of width d, context 16: module 17
    quantizes its Linear layers (the attention's output projection, the MLP's two
    layers, the head without bias) into int8 weights, a float32 scale and bias per
    output and an 8-byte input scale and zero point; the rest stays float32."""
    float_rest = vocab * d + 16 * d + 3 * 2 * d + (3 * d * d + 3 * d)  # embeddings, norms, QKV
    linears = [(d, d, True), (d, 4 * d, True), (4 * d, d, True), (d, vocab, False)]
    float_linears = sum(i * o + (o if bias else 0) for i, o, bias in linears)
    int8_linears = sum(i * o + 4 * o + (4 * o if bias else 0) + 8 for i, o, bias in linears)
    return 4 * (float_rest + float_linears), 4 * float_rest + int8_linears


def test_the_systems_milestone_measures_every_step_on_the_solutions(tmp_path):
    text = _tiny_text(tmp_path)
    gpt = ["--text", str(text), "--gpt-steps", "20", "--context", "16", "--d-model", "16",
           "--heads", "2", "--layers", "1", "--new-tokens", "8"]  # fmt: skip
    result = _run("06", "--submission", "solutions", "--", *gpt, "--windows", "5",
                  "--window-seconds", "0.005", "--out", str(tmp_path), timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Profile of the float32 MLP" in result.stdout and "MatMulFn" in result.stdout
    assert "Profile of the float32 GPT" in result.stdout and "AttentionFn" in result.stdout
    rows = [line.split(" | ") for line in result.stdout.splitlines()
            if line.startswith(("| MLP digits |", "| GPT tiny.txt |"))]  # fmt: skip
    assert [row[1] for row in rows] == [
        "float32, trained",
        "int8, calibrated on 1,000 training images",
        "90% of weights pruned, 1 epoch fine-tuned",
        "50% of hidden neurons pruned, fine-tuned, removed",
        "that, in int8",
        "float32, generating without a cache",
        "float32 with the KV cache",
        "int8 Linear layers, with the KV cache",
    ], result.stdout[-3000:]
    counts = [tuple(int(cell.replace(",", "")) for cell in row[2:5]) for row in rows]
    int8_values = 64 * 128 + 128 + 128 * 10 + 10
    # 64-128-10 in float32; in int8 (weights, per-channel scales and biases, and an input
    # scale and zero point per layer); 90% of the 9,472 weights pruned (947 left with the
    # 138 biases) stored as float32 values plus a one-bit map per weight (the biases,
    # all non-zero, stay dense: smaller); 64 hidden neurons left, in float32 and in int8
    assert counts[0] == (9_610, 9_610, 4 * 9_610)
    assert counts[1][0::2] == (int8_values, 64 * 128 + 128 * 10 + 8 * (128 + 10) + 2 * 8)
    assert counts[2] == (9_610, 947 + 138, 4 * (947 + 138) + (64 * 128 + 128 * 10) // 8)
    assert counts[3] == (4_810, 4_810, 4 * (64 * 64 + 64 + 64 * 10 + 10))
    assert counts[4][0::2] == (4_810, 64 * 64 + 64 * 10 + 8 * (64 + 10) + 2 * 8)
    float_bytes, int8_bytes = _gpt_bytes(len(set(text.read_text())), 16)
    cache = 2 * 1 * 16 * 16 * 4  # keys and values of one layer: context 16, width 16
    assert [c[2] for c in counts[5:]] == [float_bytes, float_bytes + cache, int8_bytes + cache]
    assert counts[5][0] == float_bytes // 4 and counts[7][0] == counts[5][0]

    quality = [float(re.match(r"([\d.]+)", row[-1].strip()).group(1)) for row in rows]
    assert quality[0] >= 95.0 and quality[1] >= quality[0] - 1.0, result.stdout[-3000:]
    assert quality[2] >= 80.0 and quality[3] >= 93.0 and quality[4] >= quality[3] - 1.0
    assert quality[5] == quality[6] and abs(quality[7] - quality[5]) < 0.05
    assert all(row[-1].strip().endswith("nats/char |") for row in rows[5:])
    verdict = re.compile(
        r"\d+\.\d\dx \((the reference|faster|slower|cannot rank: (overlap|too noisy))\)"
    )
    assert all(verdict.fullmatch(row[7]) for row in rows), [row[7] for row in rows]
    assert all(re.fullmatch(r"[\d.]+ ms \[[\d.]+, [\d.]+\] per (359 images|token)", row[6])
               for row in rows), [row[6] for row in rows]  # fmt: skip

    table = (tmp_path / "systems-digits.tsv").read_text().splitlines()
    assert table[0].split("\t")[:5] == ["model", "step", "parameters", "nonzero", "bytes"]
    assert [line.split("\t")[4] for line in table[1:]] == [str(c[2]) for c in counts]
    assert (tmp_path / "systems-digits.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_systems_milestone_refuses_bad_settings_with_a_message(tmp_path):
    text = _tiny_text(tmp_path)
    result = _run("06", "--submission", "solutions", "--", "--text", str(text),
                  "--context", "400")  # fmt: skip
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "fewer than --context + 1 (401)" in result.stderr
    for bad, message in (
        (["--d-model", "30", "--heads", "4"], "--d-model (30) must be a multiple of --heads (4)"),
        (["--new-tokens", "64"], "--new-tokens must be between 1 and --context - 1 (63)"),
        (["--windows", "4"], "--windows of at least 5"),
    ):
        result = _run("06", "--submission", "solutions", "--", "--text", str(text), *bad)
        assert result.returncode == 2 and message in result.stderr, result.stderr[-600:]
        assert "Traceback" not in result.stderr


def test_the_systems_milestone_lists_the_open_tasks_of_its_modules(tmp_path):
    milestone = MILESTONES["06"]
    needed = needed_modules(COURSE, milestone)
    assert [m.number for m in needed] == [*range(1, 16), 17, 18, 19]
    root = tmp_path / "submission"
    for module in needed:
        source = LAYOUT.starter if module.number == 18 else LAYOUT.solutions
        (root / module.dirname).mkdir(parents=True)
        shutil.copy(LAYOUT.module_file(source, module), root / module.dirname / module.filename)
    with pytest.raises(MilestoneError) as error:
        check_ready(COURSE, milestone, root, "submission")
    done = str(error.value).split("Not done yet")[1]
    assert "18_compression: Task 18.1" in done and "17_quantization" not in done


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
