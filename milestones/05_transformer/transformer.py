"""2017: attention is all you need: a transformer reverses sequences, then writes like Austen.

Vaswani et al. replaced recurrence with attention: every position looks at every other
one directly. Part 1 proves it on a task that needs exactly that: reversing a sequence
(the first output must look at the last input, whatever the length). Part 2 trains a
small GPT, your own, character by character on three novels by Jane Austen (or any text
file) and compares it with the best counting model there is, interpolated Kneser-Ney
n-grams, on the same held-out text.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from milestones.curves import write_curve
from milestones.datasets.text import load_austen, load_text
from milestones.ngram import baselines
from milestones.progress import Progress
from tinytorch.core.autograd import no_grad
from tinytorch.core.kv_caching import KVCache, generate
from tinytorch.core.losses import cross_entropy
from tinytorch.core.optimizers import AdamW
from tinytorch.core.tensor import Tensor
from tinytorch.core.tokenization import CharTokenizer
from tinytorch.core.training import (
    CosineWarmupLR,
    clip_grad_norm_,
    load_checkpoint,
    save_checkpoint,
)
from tinytorch.core.transformers import GPT

REQUIRES = (7, 10, 14)


# Part 1: reversal --------------------------------------------------------------------


def reversal_batch(rng: np.random.Generator, batch: int, length: int, symbols: int) -> np.ndarray:
    """Rows `[x1..xn, SEP, xn..x1]` of random digits (SEP = `symbols`)."""
    digits = rng.integers(0, symbols, size=(batch, length))
    return np.concatenate([digits, np.full((batch, 1), symbols), digits[:, ::-1]], axis=1)


def train_reversal(args: argparse.Namespace) -> float:
    """Train a 2-layer GPT to reverse `length` digits; exact-match rate of greedy output."""
    rng = np.random.default_rng(args.seed)
    length, symbols = 8, 10
    model = GPT(symbols + 1, 2 * length + 1, 64, 4, 2, rng=rng)
    optimizer = AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
    steps = args.reverse_steps
    scheduler = CosineWarmupLR(optimizer, warmup_steps=steps // 10, total_steps=steps)
    started = time.perf_counter()
    for step in range(1, steps + 1):
        rows = reversal_batch(rng, 64, length, symbols)
        logits = model(Tensor(rows[:, :-1], dtype=np.int64))
        # position p predicts token p + 1: positions length.. predict the reversed half
        answer = logits[:, length:, :].reshape(-1, symbols + 1)
        loss = cross_entropy(answer, Tensor(rows[:, length + 1 :].reshape(-1), dtype=np.int64))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        if step % max(1, steps // 5) == 0:
            print(f"  step {step}/{steps}  loss {loss.item():.4f}", flush=True)
    test = reversal_batch(np.random.default_rng(args.seed + 1), 500, length, symbols)
    model.eval()
    with no_grad():
        out = model.generate(Tensor(test[:, : length + 1], dtype=np.int64), length, temperature=0.0)
    exact = float(np.mean((out.data[:, length + 1 :] == test[:, length + 1 :]).all(axis=1)))
    seconds = time.perf_counter() - started
    print(
        f"reversal of {length} digits: {100 * exact:.1f}% of 500 new sequences exactly right "
        f"after {steps} steps ({seconds:.0f} s)"
    )
    return exact


# Part 2: TinyGPT on text -------------------------------------------------------------


def split(text: str) -> tuple[str, str]:
    """The first 90% for training, the last 10% for validation."""
    cut = int(len(text) * 0.9)
    return text[:cut], text[cut:]


def windows(ids: np.ndarray, context: int, stride: int) -> np.ndarray:
    """Start of every evaluation window: `context + 1` tokens, `stride` apart."""
    return np.arange(0, len(ids) - context - 1, stride)


@no_grad()
def validation_nats(model: GPT, ids: np.ndarray, starts: np.ndarray, context: int) -> float:
    """Mean cross-entropy, in nats per character, of every position of the windows."""
    model.eval()
    total, count = 0.0, 0
    for first in range(0, len(starts), 64):
        rows = np.stack([ids[s : s + context + 1] for s in starts[first : first + 64]])
        logits = model(Tensor(rows[:, :-1], dtype=np.int64))
        loss = cross_entropy(logits.reshape(-1, logits.shape[-1]),
                             Tensor(rows[:, 1:].reshape(-1), dtype=np.int64))  # fmt: skip
        total += loss.item() * rows[:, 1:].size
        count += rows[:, 1:].size
    model.train()
    return total / count


def earlier_rows(table: Path, last_step: int) -> list[dict[str, float]]:
    """The curve's rows up to `last_step` from an earlier run (resuming), else none."""
    if last_step == 0 or not table.is_file():
        return []
    names, *lines = [line.split("\t") for line in table.read_text().splitlines()]
    rows = [{n: float(v) for n, v in zip(names, line, strict=True)} for line in lines]
    return [{**row, "step": int(row["step"])} for row in rows if row["step"] <= last_step]


def train_step(
    model: GPT,
    optimizer: AdamW,
    scheduler: CosineWarmupLR,
    ids: np.ndarray,
    batch_size: int,
    rng: np.random.Generator,
) -> float:
    """One step on `batch_size` random windows of `ids` (gradients clipped to norm 1);
    its loss in nats per character."""  # fmt: skip
    context = model.context_length
    starts = rng.integers(0, len(ids) - context - 1, batch_size)
    batch = np.stack([ids[s : s + context + 1] for s in starts])
    logits = model(Tensor(batch[:, :-1], dtype=np.int64))
    loss = cross_entropy(logits.reshape(-1, logits.shape[-1]),
                         Tensor(batch[:, 1:].reshape(-1), dtype=np.int64))  # fmt: skip
    optimizer.zero_grad()
    loss.backward()
    clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    scheduler.step()
    return loss.item()


def generation_speed(model: GPT, prompt: np.ndarray, tokens: int) -> dict[str, float]:
    """Tokens per second generating `tokens` at batch 1, with and without the KV cache,
    and the cache's size; both runs must give the same tokens (same seed)."""
    ids = Tensor(prompt[None, -(model.context_length - tokens) :], dtype=np.int64)
    outputs, rates = {}, {}
    for use_cache in (False, True):
        started = time.perf_counter()
        outputs[use_cache] = generate(model, ids, tokens, temperature=1.0, seed=0,
                                      use_cache=use_cache).data  # fmt: skip
        rates["cached" if use_cache else "uncached"] = tokens / (time.perf_counter() - started)
    if not np.array_equal(outputs[False], outputs[True]):
        raise RuntimeError("cached and uncached generation gave different tokens")
    rates["cache_bytes"] = KVCache.for_model(model, 1).nbytes
    return rates


def train_text(args: argparse.Namespace) -> None:
    text = load_text(args.text) if args.text else load_austen()
    train, validation = split(text)
    source = args.text or "Jane Austen: Pride and Prejudice, Emma, Persuasion"
    print(f"{source}: {len(train):,} characters for training, {len(validation):,} held out")
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    counted = baselines(train, validation)
    (out / "gpt-baselines.tsv").write_text(
        "model\tval_nats_per_char\n" + "".join(f"{k}\t{v:.4f}\n" for k, v in counted.items())
    )
    seconds = time.perf_counter() - started
    print(f"count-based baselines (interpolated Kneser-Ney, counted in {seconds:.0f} s):")
    for name, nats in counted.items():
        print(f"  {name:7s} {nats:.4f} nats/char")

    tokenizer = CharTokenizer.from_text(text)
    train_ids = np.array(tokenizer.encode(train), dtype=np.int64)
    val_ids = np.array(tokenizer.encode(validation), dtype=np.int64)
    rng = np.random.default_rng(args.seed)
    model = GPT(tokenizer.vocab_size, args.context, args.d_model, args.heads, args.layers,
                dropout=args.dropout, rng=rng)  # fmt: skip
    print(model)
    optimizer = AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.99), weight_decay=0.1)
    warmup = min(100, args.steps // 10)
    scheduler = CosineWarmupLR(optimizer, warmup, args.steps, eta_min=args.lr / 10)
    checkpoint = out / "gpt.npz"
    first = load_checkpoint(checkpoint, model, optimizer, scheduler, rng) if args.resume else 0
    every = max(1, args.steps // 20)
    quick = windows(val_ids, args.context, args.context * 8)
    rows, progress = (
        earlier_rows(out / "gpt-curve.tsv", first),
        Progress(args.steps, first, "tokens"),
    )
    loss_sum, loss_steps = 0.0, 0
    for step in range(first + 1, args.steps + 1):
        loss = train_step(model, optimizer, scheduler, train_ids, args.batch_size, rng)
        loss_sum, loss_steps = loss_sum + loss, loss_steps + 1
        progress.update(step, f"loss {loss:.3f}", args.batch_size * args.context)
        if step % every == 0 or step == args.steps:
            val = validation_nats(model, val_ids, quick, args.context)
            rows.append({"step": step, "train_loss": loss_sum / loss_steps, "val_nats": val})
            progress.note(f"step {step}: train loss {loss_sum / loss_steps:.4f}  "
                          f"validation {val:.4f} nats/char")  # fmt: skip
            loss_sum, loss_steps = 0.0, 0
            save_checkpoint(checkpoint, model, optimizer, scheduler, step, rng)
    if rows:
        shown = {k: counted[k] for k in ("3-gram", "5-gram", "7-gram")}
        table, picture = write_curve(out / "gpt-curve", rows, "TinyGPT", baselines=shown)
        print(f"curve: {table} and {picture}")
    final = validation_nats(model, val_ids, windows(val_ids, args.context, args.context),
                            args.context)  # fmt: skip
    best = min(counted, key=counted.get)
    verdict = "below" if final < counted[best] else "above"
    print(f"TinyGPT: {final:.4f} nats/char on all held-out text, {verdict} the best n-gram "
          f"({best}, {counted[best]:.4f})")  # fmt: skip
    prompt = np.array(tokenizer.encode(validation[: args.context]), dtype=np.int64)
    sample = model.generate(Tensor(prompt[None], dtype=np.int64), 300, temperature=0.8,
                            top_k=20, seed=args.seed)  # fmt: skip
    print("sample (temperature 0.8, top-k 20), after a held-out prompt:\n"
          + tokenizer.decode(sample.data[0, len(prompt) :].tolist()))  # fmt: skip
    tokens = min(256, args.context - 1)
    rates = generation_speed(model, prompt, tokens)
    print(f"generation of {tokens} tokens at batch 1 (same tokens both ways): "
          f"{rates['uncached']:.0f} tokens/s without the KV cache, {rates['cached']:.0f} "
          f"tokens/s with it ({rates['cached'] / rates['uncached']:.1f}x); the cache holds "
          f"{rates['cache_bytes']:,} bytes")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["reverse", "text", "both"], default="both")
    parser.add_argument("--text", type=Path, help="a UTF-8 text file instead of Austen")
    parser.add_argument("--steps", type=int, default=2300, help="training steps on the text")
    parser.add_argument("--reverse-steps", type=int, default=200)
    parser.add_argument("--context", type=int, default=128)
    parser.add_argument("--d-model", type=int, default=192)
    parser.add_argument("--heads", type=int, default=6)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--dropout", type=float, default=0.0)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=2017)
    parser.add_argument("--out", type=Path, default=Path("runs"), help="checkpoints and curves")
    parser.add_argument("--resume", action="store_true", help="continue from the checkpoint")
    args = parser.parse_args()
    if args.part in ("reverse", "both"):
        print("Part 1: reversal, a task only attention solves")
        train_reversal(args)
    if args.part in ("text", "both"):
        print("\nPart 2: TinyGPT on real text")
        try:
            train_text(args)
        except ValueError as error:  # a text file that cannot be used
            print(f"error: {error}", file=sys.stderr)
            raise SystemExit(1) from None


if __name__ == "__main__":
    main()
