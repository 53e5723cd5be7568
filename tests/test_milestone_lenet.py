"""Milestone 04 (LeNet) on the solutions: the digits CNN, checkpoints and resuming, the
training curve files, the CIFAR-10 recipe's network, and missing data."""

import os
import re
import subprocess
import sys

import numpy as np
from matplotlib.colors import to_rgb
from matplotlib.image import imread

from milestones.curves import write_curve

from .conftest import LAYOUT


def _lenet(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "milestones", "04", "--submission", "solutions", "--", *args],
        cwd=LAYOUT.root,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def _png_pixels(path):
    """The RGB pixels of a PNG file, decoded by matplotlib (through Pillow)."""
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG signature"
    return np.round(imread(path)[..., :3] * 255).astype(np.uint8)


def _drawn(pixels, colour) -> int:
    """How many pixels have exactly this matplotlib colour."""
    rgb = np.round(np.array(to_rgb(colour)) * 255).astype(np.uint8)
    return int((pixels == rgb).all(axis=2).sum())


def test_curve_files_hold_the_table_and_a_valid_png(tmp_path):
    rows = [{"epoch": e, "train_loss": 1.0 / e, "test_accuracy": 50.0 + 10 * e} for e in (1, 2, 3)]
    table, picture = write_curve(tmp_path / "run" / "curve", rows)
    lines = table.read_text().splitlines()
    assert lines[0] == "epoch\ttrain_loss\ttest_accuracy" and lines[3] == "3\t0.3333\t80.0000"
    pixels = _png_pixels(picture)
    assert pixels.shape == (400, 640, 3)
    assert _drawn(pixels, "tab:blue") > 100, "the accuracy curve is not drawn"
    assert _drawn(pixels, "tab:red") > 100, "the loss curve is not drawn"
    again = write_curve(tmp_path / "again" / "curve", rows)[1]
    assert again.read_bytes() == picture.read_bytes(), "the same rows must give the same PNG"


def test_baselines_are_drawn_as_lines_on_the_loss_scale(tmp_path):
    rows = [{"step": s, "val_loss": 2.0 / s} for s in (1, 2, 4)]
    plain = _png_pixels(write_curve(tmp_path / "plain", rows)[1])
    with_baseline = _png_pixels(write_curve(tmp_path / "base", rows, baselines={"7-gram": 1.0})[1])
    assert _drawn(with_baseline, "tab:green") > _drawn(plain, "tab:green") + 100


def test_digits_cnn_reaches_97_percent_and_saves_checkpoint_and_curve(tmp_path):
    result = _lenet("--dataset", "digits", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    accuracy = float(re.search(r"test accuracy ([\d.]+)% after 30 epochs", result.stdout)[1])
    assert accuracy >= 97.0, result.stdout[-800:]
    assert re.search(r"epoch 30/30 +batch 45/45 .*images/s +ETA 0:00", result.stdout)
    assert (tmp_path / "lenet-digits.npz").is_file()
    assert len((tmp_path / "lenet-digits-curve.tsv").read_text().splitlines()) == 31
    assert _png_pixels(tmp_path / "lenet-digits-curve.png").shape == (400, 640, 3)


def test_training_resumes_from_the_checkpoint(tmp_path):
    first = _lenet("--dataset", "digits", "--epochs", "2", "--out", str(tmp_path))
    assert first.returncode == 0, first.stderr[-2000:]
    resumed = _lenet("--dataset", "digits", "--epochs", "3", "--resume", "--out", str(tmp_path))
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "epoch 3:" in resumed.stdout and "epoch 2:" not in resumed.stdout


def test_cifar10_recipe_network_trains_on_cifar_shaped_batches():
    result = _lenet("--dataset", "cifar10", "--time-steps", "2")
    assert result.returncode == 0, result.stderr[-2000:]
    assert re.search(r"ms per step of 64 images .* one epoch of 50,000 images", result.stdout)


def test_missing_cifar10_is_a_message_naming_the_files(tmp_path):
    env = {**os.environ, "TINYTORCH_DATA": str(tmp_path), "TINYTORCH_OFFLINE": "1"}
    result = _lenet("--dataset", "cifar10", env=env)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "cifar-10-binary.tar.gz" in result.stderr and "data_batch_1.bin" in result.stderr
