"""TinyMLPerf's text task, `austen_gpt`: Jane Austen's novels and a small GPT (module 13).

- The text: Pride and Prejudice, Emma and Persuasion from the pinned `janeaustenr`
  release, found under `$TINYTORCH_DATA/austen/` or downloaded and checked against its
  SHA-256 (milestones/datasets/text.py); without it the task is not measured.
- The split, as in milestones 05 and 06: the first 90% trains, the last 10% is held out.
  Only this trusted process reads the held-out text; the student's model first meets it
  when it is measured, one window or one character at a time, and never the targets.
- Characters are ids in the sorted set of the text's characters (module 08's
  CharTokenizer does the same), so the baseline and every submission share one vocabulary.
- The baseline: module 13's reference GPT (2 layers, d_model 64, 4 heads, context 64),
  trained here with module 06's AdamW and a fixed seed, in a few seconds of one core.
- Quality is nats per character (mean cross-entropy of the next character), lower is
  better; the floor is a fixed ceiling a little above the baseline's.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from grader.tinymlperf.reference import reference_modules

CONTEXT, D_MODEL, HEADS, LAYERS = 64, 64, 4, 2
STEPS, BATCH, LR = 300, 16, 3e-3
CALIBRATION = 16
"""Training windows of CONTEXT characters the closed track's `build` gets (no targets
beyond them: calibration for quantization, not training)."""


class TextUnavailableError(RuntimeError):
    """Austen's novels are neither on this machine nor downloadable."""


@dataclass(frozen=True)
class TextData:
    vocabulary: str
    train: np.ndarray
    """int64 character ids of the first 90%."""
    held_out: np.ndarray
    """int64 character ids of the last 10%."""

    @property
    def calibration(self) -> np.ndarray:
        """`(CALIBRATION, CONTEXT)` windows of training ids, evenly spaced."""
        starts = np.linspace(0, len(self.train) - CONTEXT, CALIBRATION).astype(np.int64)
        return np.stack([self.train[s : s + CONTEXT] for s in starts])


@functools.cache
def austen() -> TextData:
    """The novels as ids, split (TextUnavailableError when they cannot be had)."""
    from milestones.datasets.fetch import DataUnavailableError
    from milestones.datasets.text import load_austen

    try:
        text = load_austen()
    except (OSError, ValueError, DataUnavailableError) as error:
        raise TextUnavailableError(
            f"Jane Austen's novels are not on this machine and could not be downloaded "
            f"(set TINYTORCH_DATA): {error}"
        ) from None
    vocabulary = "".join(sorted(set(text)))
    lookup = {c: i for i, c in enumerate(vocabulary)}
    ids = np.array([lookup[c] for c in text], dtype=np.int64)
    cut = int(len(ids) * 0.9)
    return TextData(vocabulary, ids[:cut], ids[cut:])


def held_out_windows(ids: np.ndarray, count: int, seed: int) -> np.ndarray:
    """`count` windows of CONTEXT + 1 held-out ids at random places (inputs and targets)."""
    starts = np.random.default_rng(seed).integers(0, len(ids) - CONTEXT - 1, count)
    return np.stack([ids[s : s + CONTEXT + 1] for s in starts])


def nats(logits: np.ndarray, targets: np.ndarray) -> float:
    """Mean cross-entropy in nats of `logits (..., vocab)` for `targets (...)`, in float64."""
    flat = np.asarray(logits, dtype=np.float64).reshape(-1, logits.shape[-1])
    shifted = flat - flat.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-np.mean(log_probs[np.arange(len(flat)), targets.reshape(-1)]))


@functools.cache
def baseline_state(root: Path | None = None, seed: int = 0) -> dict[str, np.ndarray]:
    """The baseline GPT's weights (`state_dict`), trained here in the reference tinytorch:
    AdamW (lr 3e-3, weight decay 0.1), STEPS steps on BATCH random training windows."""
    ref = reference_modules(root, (14, 20))
    tensor, losses = ref["tensor"], ref["losses"]
    data = austen()
    rng = np.random.default_rng(seed)
    model = ref["transformers"].GPT(len(data.vocabulary), CONTEXT, D_MODEL, HEADS, LAYERS, rng=rng)
    optimizer = ref["optimizers"].AdamW(
        model.parameters(), lr=LR, betas=(0.9, 0.99), weight_decay=0.1
    )
    for _ in range(STEPS):
        starts = rng.integers(0, len(data.train) - CONTEXT - 1, BATCH)
        batch = np.stack([data.train[s : s + CONTEXT + 1] for s in starts])
        logits = model(tensor.Tensor(batch[:, :-1], dtype=np.int64))
        loss = losses.cross_entropy(
            logits.reshape(-1, logits.shape[-1]),
            tensor.Tensor(batch[:, 1:].reshape(-1), dtype=np.int64),
        )
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return {name: np.array(value) for name, value in model.state_dict().items()}
