"""Milestone 06's language model: a small GPT trained here, then measured generating
without and with the KV cache (module 14), and in int8 (module 17) with the cache.

The text is split as in milestone 05 (the last 10% held out); quality is the mean
cross-entropy in nats per character on held-out windows, latency the time per token
of generating at batch 1, and bytes are the model's plus the cache's.
"""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path

import numpy as np

from milestones.datasets.text import load_austen, load_text
from milestones.tradeoff import Step
from tinytorch.core.kv_caching import KVCache, generate
from tinytorch.core.optimizers import AdamW
from tinytorch.core.quantization import model_size_bytes
from tinytorch.core.tensor import Tensor
from tinytorch.core.tokenization import CharTokenizer
from tinytorch.core.training import CosineWarmupLR
from tinytorch.core.transformers import GPT

TRANSFORMER = importlib.import_module("milestones.05_transformer.transformer")
measure = importlib.import_module("milestones.06_systems.measure")
BATCH, LR = 16, 3e-3


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The GPT's options."""
    group = parser.add_argument_group("the GPT")
    group.add_argument("--text", type=Path, help="a UTF-8 text file instead of Jane Austen")
    group.add_argument("--gpt-steps", type=int, default=300, help="training steps")
    group.add_argument("--context", type=int, default=64)
    group.add_argument("--d-model", type=int, default=64)
    group.add_argument("--heads", type=int, default=4)
    group.add_argument("--layers", type=int, default=2)
    group.add_argument("--new-tokens", type=int, default=48, help="tokens per timed generation")
    group.add_argument("--eval-windows", type=int, default=64, help="held-out windows scored")


def argument_error(args: argparse.Namespace) -> str | None:
    """What is wrong with the GPT's options, or None."""
    for name in ("gpt_steps", "context", "d_model", "heads", "layers", "eval_windows"):
        if getattr(args, name) < 1:
            return f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}"
    if args.d_model % args.heads:
        return f"--d-model ({args.d_model}) must be a multiple of --heads ({args.heads})"
    if not 0 < args.new_tokens < args.context:
        return f"--new-tokens must be between 1 and --context - 1 ({args.context - 1})"
    return None


def load(args: argparse.Namespace) -> str:
    """The text: `--text`, else Austen's novels (downloaded once, see milestone 05)."""
    text = load_text(args.text) if args.text else load_austen()
    held_out = len(TRANSFORMER.split(text)[1])
    if held_out < args.context + 1:
        raise ValueError(
            f"the held-out tenth of the text has {held_out} characters, fewer than "
            f"--context + 1 ({args.context + 1}): use a longer text or a shorter context"
        )
    return text


def train(model: GPT, ids: np.ndarray, steps: int, rng: np.random.Generator) -> float:
    """AdamW with warm-up and cosine decay on random windows; the last step's loss."""
    optimizer = AdamW(model.parameters(), lr=LR, betas=(0.9, 0.99), weight_decay=0.1)
    scheduler = CosineWarmupLR(optimizer, max(1, min(100, steps // 10)), steps, eta_min=LR / 10)
    loss = float("nan")
    for _ in range(steps):
        loss = TRANSFORMER.train_step(model, optimizer, scheduler, ids, BATCH, rng)
    return loss


def gpt_steps(args: argparse.Namespace, text: str) -> list[Step]:
    """Train the GPT, then measure it uncached, cached, and in int8 with the cache."""
    train_text, held_out = TRANSFORMER.split(text)
    tokenizer = CharTokenizer.from_text(text)
    train_ids = np.array(tokenizer.encode(train_text), dtype=np.int64)
    val_ids = np.array(tokenizer.encode(held_out), dtype=np.int64)
    rng = np.random.default_rng(args.seed)
    context = args.context
    model = GPT(tokenizer.vocab_size, context, args.d_model, args.heads, args.layers, rng=rng)
    source = args.text or "Jane Austen's novels"
    print(f"\n{source}: {len(train_text):,} characters for training, {len(held_out):,} held out")
    loss = train(model, train_ids, args.gpt_steps, rng)
    model.eval()
    print(f"trained a GPT of {model.num_layers} layers, d_model {model.d_model}, for "
          f"{args.gpt_steps} steps (last batch: {loss:.3f} nats/char)")  # fmt: skip
    measure.report_profile("float32 GPT", model, Tensor(val_ids[None, :context], dtype=np.int64))

    starts = TRANSFORMER.windows(val_ids, context, context)[: args.eval_windows]

    def nats(net: GPT) -> float:
        value = TRANSFORMER.validation_nats(net, val_ids, starts, context)
        net.eval()  # validation_nats leaves the model in training mode
        return value

    picks = rng.integers(0, len(train_ids) - context, (4, BATCH))
    calibration = [Tensor(np.stack([train_ids[s : s + context] for s in row]), dtype=np.int64)
                   for row in picks]  # fmt: skip
    quantized, quantized_bytes, _ = measure.in_int8(model, calibration)
    prompt = Tensor(val_ids[None, : context - args.new_tokens], dtype=np.int64)

    def generation(net: GPT, use_cache: bool) -> np.ndarray:
        return generate(net, prompt, args.new_tokens, temperature=1.0, seed=args.seed,
                        use_cache=use_cache).data  # fmt: skip

    if not np.array_equal(generation(model, False), generation(model, True)):
        raise RuntimeError("cached and uncached generation gave different tokens")
    cache = KVCache.for_model(model, 1).nbytes
    float_bytes, float_nats = model_size_bytes(model), nats(model)
    versions = {
        "float32, generating without a cache": (model, False, float_bytes, "float32", float_nats),
        "float32 with the KV cache": (model, True, float_bytes + cache,
                                      f"float32 + {cache:,}-byte cache", float_nats),
        "int8 Linear layers, with the KV cache": (
            quantized, True, quantized_bytes + cache,
            f"int8 Linear, float32 rest + {cache:,}-byte cache", nats(quantized)),
    }  # fmt: skip
    report = measure.timed(
        {name: (lambda net=net, cached=cached: generation(net, cached))
         for name, (net, cached, *_) in versions.items()}, args)  # fmt: skip
    model_name = f"GPT {args.text.name if args.text else 'Austen'}"
    return [
        measure.step(model_name, report, name, net, size, stored_as, "token", args.new_tokens,
                     quality, "nats/char")
        for name, (net, _, size, stored_as, quality) in versions.items()
    ]  # fmt: skip
