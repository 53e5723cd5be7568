"""Milestone 05 (Transformer) on the solutions: the reversal proof, and the text run's
plumbing (baselines, checkpoint and resume, curve, sample, cached generation) on a
small text with a tiny model, so it runs in seconds."""

import os
import random
import re
import subprocess
import sys

from .conftest import LAYOUT


def _transformer(*args):
    return subprocess.run(
        [sys.executable, "-m", "milestones", "05", "--submission", "solutions", "--", *args],
        cwd=LAYOUT.root,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "OPENBLAS_NUM_THREADS": "1"},
    )


def test_attention_learns_to_reverse_sequences():
    result = _transformer("--part", "reverse")
    assert result.returncode == 0, result.stderr[-2000:]
    exact = float(re.search(r"([\d.]+)% of 500 new sequences exactly right", result.stdout)[1])
    assert exact >= 95.0, result.stdout[-600:]


def test_the_text_run_writes_baselines_curve_checkpoint_and_resumes(tmp_path):
    words = "the cat sat on a mat and then it ran to the hat of the man who had a plan".split()
    rng = random.Random(0)
    text = tmp_path / "tiny.txt"
    text.write_text(" ".join(rng.choice(words) for _ in range(800)), encoding="utf-8")
    tiny = ["--part", "text", "--text", str(text), "--context", "16", "--d-model", "16",
            "--heads", "2", "--layers", "1", "--out", str(tmp_path / "run")]  # fmt: skip
    first = _transformer(*tiny, "--steps", "4")
    assert first.returncode == 0, first.stderr[-2000:]
    baselines = (tmp_path / "run" / "gpt-baselines.tsv").read_text().splitlines()
    assert baselines[0] == "model\tval_nats_per_char" and len(baselines) == 8
    assert "(same tokens both ways)" in first.stdout and "the cache holds" in first.stdout
    assert re.search(r"TinyGPT: [\d.]+ nats/char on all held-out text", first.stdout)
    resumed = _transformer(*tiny, "--steps", "6", "--resume")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    curve = (tmp_path / "run" / "gpt-curve.tsv").read_text().splitlines()
    assert curve[0] == "step\ttrain_loss\tval_nats"
    assert [row.split("\t")[0] for row in curve[1:]] == ["1", "2", "3", "4", "5", "6"]
    assert (tmp_path / "run" / "gpt-curve.png").read_bytes()[:4] == b"\x89PNG"


def test_a_text_file_too_short_is_a_message(tmp_path):
    short = tmp_path / "short.txt"
    short.write_text("too short", encoding="utf-8")
    result = _transformer("--part", "text", "--text", str(short))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "a language model needs more" in result.stderr
