"""The official measurement of the text task (`austen_gpt`), steps 2 to 6 of measure.py
for a GPT: the student's model in the grading worker, the baseline GPT in the worker of
reference code, both built from the weights text.py trains here.

The entry point contract: `build(baseline, calibration, training)` gets the baseline GPT
in the student's own module 13 layers, `calibration` (int64 ids `(16, 64)` of training
text) and, on the open track only, `training` (int64 ids of the whole training text); it
returns a model that
- called on ids `(windows, 64)` returns logits `(windows, 64, vocab)` (scored here:
  nats per character on held-out windows, against targets only this process holds), and
- has `next_logits(ids)`: for the ids so far `(1, length)`, the logits `(1, vocab)` of
  the next character. The grader calls it once per character, each time with one more
  character of held-out text, starting a new sequence with a shorter `ids`: a KV cache
  (module 14) may keep what it has seen. That step is what is timed.
The answers of the timed steps are scored too and must be as good as the windows'.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from grader.remote import handles
from grader.remote.errors import GradingStop, StudentError
from grader.remote.handles import RemoteName
from grader.remote.session import Session
from grader.tinymlperf import text
from grader.tinymlperf.reference import in_turns
from grader.worker.wire import Op

AIDS = "tinyworker.aids.capstone_text"
GPT, CACHED = RemoteName(AIDS, "gpt"), RemoteName(AIDS, "CachedGPT")
SEQUENCE, STEP = RemoteName(AIDS, "sequence_logits"), RemoteName(AIDS, "next_logits")
WINDOWS = 128
"""Held-out windows scored (8,192 characters)."""
PROMPT, TOKENS = 16, 32
"""Each timed call: a new sequence of PROMPT held-out characters, then TOKENS steps."""
TIMED_NATS_SLACK = 0.1
"""How far the timed steps' nats may rise over the windows' (they see shorter contexts)."""
AGREEMENT_NATS = 0.01


def checked(answer: Any, shape: tuple[int, ...]) -> np.ndarray:
    """`answer` if it is a finite array of `shape`; else a ValueError saying what it was."""
    if not isinstance(answer, np.ndarray) or answer.shape != shape:
        got = getattr(answer, "shape", type(answer).__name__)
        raise ValueError(f"the model must return logits of shape {shape}, got {got}")
    if not np.all(np.isfinite(answer)):
        raise ValueError("the model returned logits that are not finite (NaN or inf)")
    return answer


def explained(error: Exception) -> str:
    """The student's error with their traceback lines; the grader's own as it is."""
    return error.explain() if isinstance(error, StudentError) else str(error)


class Generations:
    """Timed calls: a sequence from a random place of the held-out text, fed one character
    a step, each step's logits scored here against the character that follows."""

    def __init__(self, held_out: np.ndarray, vocab: int, seed: int) -> None:
        self.held_out, self.vocab = held_out, vocab
        self.rng = np.random.default_rng(seed)
        self.total, self.count = 0.0, 0

    def call(self, session: Session, model: Any) -> None:
        start = int(self.rng.integers(0, len(self.held_out) - PROMPT - TOKENS - 1))
        for step in range(TOKENS):
            end = start + PROMPT + step
            ids = self.held_out[None, start:end]
            logits = checked(session.request(Op.CALL, [STEP, [model, ids], {}]), (1, self.vocab))
            self.total += text.nats(logits, self.held_out[end : end + 1])
            self.count += 1

    @property
    def nats(self) -> float:
        return self.total / self.count if self.count else float("inf")


def run_text(entry, harness, settings, mine, theirs, student, fields, record, root):  # noqa: ANN001, ANN201, PLR0913
    """Build, score against the floor, time per character interleaved with the baseline."""
    data, state = text.austen(), text.baseline_state(root)
    vocab = len(data.vocabulary)
    sizes = (vocab, text.CONTEXT, text.D_MODEL, text.HEADS, text.LAYERS)
    windows = text.held_out_windows(data.held_out, WINDOWS, settings.seed)
    handles.activate(theirs)
    reference = CACHED(GPT(state, *sizes))
    try:
        handles.activate(mine)
        baseline = GPT(state, *sizes)
    except (StudentError, GradingStop) as error:
        return record(student, "invalid", "the baseline GPT cannot be built in your layers "
                      f"(modules 08 to 14 must be complete): {explained(error)}",
                      **fields)  # fmt: skip
    try:
        build = RemoteName("tinytorch.core.capstone", entry.entry_point)
        model = build(baseline, data.calibration, data.train if entry.track == "open" else None)
        logits = mine.request(Op.CALL, [SEQUENCE, [model, windows[:, :-1]], {}])
        quality = text.nats(checked(logits, (WINDOWS, text.CONTEXT, vocab)), windows[:, 1:])
    except (StudentError, GradingStop, ValueError) as error:
        return record(student, "invalid",
                      f"your entry point {entry.entry_point} failed: {explained(error)}",
                      **fields)  # fmt: skip
    fields["nats"] = round(quality, 4)
    if quality > fields["floor"]:
        message = (
            f"{quality:.3f} nats/char on held-out text is over the floor of "
            f"{fields['floor']:.2f} nats/char for Jane Austen's novels: not ranked "
            "(the floor comes first: make the model better, then faster)"
        )
        return record(student, "under_floor", message, **fields)
    steps = {
        "baseline": Generations(data.held_out, vocab, settings.seed + 1),
        "submission": Generations(data.held_out, vocab, settings.seed + 2),
    }
    try:
        objects = {"baseline": (theirs, reference), "submission": (mine, model)}
        report = in_turns(harness, settings, steps, objects)
    except (StudentError, GradingStop, ValueError) as error:
        return record(student, "invalid",
                      f"your model failed while it was timed: {explained(error)}",
                      **fields)  # fmt: skip
    timed = steps["submission"].nats
    fields["timed_nats"] = round(timed, 4)
    if timed > quality + TIMED_NATS_SLACK:
        message = (
            f"the model answered worse while timed ({timed:.3f} nats/char) than on the "
            f"held-out windows ({quality:.3f}): not ranked (timed calls must run the same model)"
        )
        return record(student, "invalid", message, **fields)
    base, own = report.variants["baseline"], report.variants["submission"]
    low, high = base.ci_low / own.ci_high, base.ci_high / own.ci_low
    claimed, found = fields["self_reported"], []
    if "nats" in claimed and abs(claimed["nats"] - quality) > AGREEMENT_NATS:
        found.append(f"self-reported nats {claimed['nats']:.4f}, measured {quality:.4f}")
    if "speedup" in claimed and not low <= claimed["speedup"] <= high:
        found.append(
            f"self-reported speedup {claimed['speedup']:.2f}x, measured [{low:.2f}, {high:.2f}]x"
        )
    fields.update(
        speedup=round(base.median / own.median, 4),
        speedup_low=round(low, 4),
        speedup_high=round(high, 4),
        latency_ms=round(own.median / TOKENS * 1e3, 4),
        baseline_ms=round(base.median / TOKENS * 1e3, 4),
        tokens=TOKENS,
        verdict=str(report.compare("baseline", "submission")),
        disagreements=found,
        machine=report.machine,
        isolation=mine.config.isolation.description,
    )
    message = f"{fields['speedup']:.2f}x the baseline's speed per character at {quality:.3f} nats"
    return record(student, "ranked", message, **fields)
