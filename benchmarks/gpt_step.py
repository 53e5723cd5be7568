"""A GPT training step, tinytorch (the reference solutions) against PyTorch on the CPU,
and generation with and without module 14's KV cache.

    make bench-gpt                       (sets up .venv/bench with torch, then runs this)
    .venv/bench/bin/python benchmarks/gpt_step.py [--steps 10] [--tree solutions]

The model is issue 24's: a character vocabulary of 80, context 64, width 128, 4 heads,
2 pre-norm blocks (module 13's GPT: learned positions, GELU in the tanh form, a final
LayerNorm, an untied head), dropout 0. One step is the forward pass over a batch of 32
windows of 64 characters, cross-entropy, the backward pass and an AdamW update (lr 3e-4,
weight decay 0.1). PyTorch runs the same network (the same weights, copied) in the same
process, with as many threads as NumPy's BLAS (OPENBLAS_NUM_THREADS, else 2, the cores
here); the two alternate in blocks as in `cnn_step.py`, and the figures are medians.
Each step is timed twice: wall time, and the process's CPU time. On a shared machine the
wall time also measures the neighbours; the CPU time of the step (all its threads) is the
work it did, and the target is judged on it.

Generation: 256 new tokens at batch 1 after a 64-token prompt, greedy, with the same
model but a context of 320 (so the whole run fits the cache), first uncached (`generate(
..., use_cache=False)`: the model reads every token again at each step), then cached.
Both must give the same tokens; the rates and their ratio are printed.

Both frameworks allocate many short-lived arrays of a few MB. glibc serves each one with
a fresh mmap by default, and the page faults of touching it cost more than the arithmetic
(measured: a third of tinytorch's step). Unless `--malloc default` is given, the process
first raises glibc's mmap threshold (mallopt, as MALLOC_MMAP_THRESHOLD_ would), so freed
memory is reused, for both frameworks alike.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from cnn_step import load_tinytorch

VOCAB, CONTEXT, WIDTH, HEADS, LAYERS, BATCH = 80, 64, 128, 4, 2, 32
LR, WEIGHT_DECAY = 3e-4, 0.1
NEW_TOKENS, PROMPT, GENERATION_CONTEXT = 256, 64, 320
TARGET_RATIO, TARGET_SPEEDUP = 1.5, 5.0


def tinytorch_model(context: int) -> object:
    from tinytorch.core.transformers import GPT

    return GPT(VOCAB, context, WIDTH, HEADS, LAYERS, rng=np.random.default_rng(0))


def tinytorch_step(model, ids: np.ndarray, targets: np.ndarray) -> Callable[[], float]:
    """One training step of module 13's GPT, with module 06's AdamW."""
    from tinytorch.core.losses import cross_entropy
    from tinytorch.core.optimizers import AdamW
    from tinytorch.core.tensor import Tensor

    optimizer = AdamW(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    inputs, labels = Tensor(ids, dtype=np.int64), Tensor(targets.reshape(-1), dtype=np.int64)

    def step() -> float:
        optimizer.zero_grad()
        loss = cross_entropy(model(inputs).reshape(-1, VOCAB), labels)
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def torch_step(state: dict[str, np.ndarray], ids: np.ndarray, targets: np.ndarray):
    """The same GPT and step in PyTorch (float32, BLAS's threads) with tinytorch's weights."""
    import torch

    torch.set_num_threads(int(os.environ.get("OPENBLAS_NUM_THREADS", "2")))
    nn, F = torch.nn, torch.nn.functional  # noqa: N806 (PyTorch's names)

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.norm1 = nn.LayerNorm(WIDTH)
            self.self_attn = nn.MultiheadAttention(WIDTH, HEADS, batch_first=True)
            self.norm2 = nn.LayerNorm(WIDTH)
            self.mlp = nn.Sequential()
            self.mlp.linear1 = nn.Linear(WIDTH, 4 * WIDTH)
            self.mlp.gelu = nn.GELU(approximate="tanh")
            self.mlp.linear2 = nn.Linear(4 * WIDTH, WIDTH)

        def forward(self, x, mask):
            h = self.norm1(x)
            x = x + self.self_attn(h, h, h, attn_mask=mask, need_weights=False, is_causal=True)[0]
            return x + self.mlp(self.norm2(x))

    class Model(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.token_embedding = nn.Embedding(VOCAB, WIDTH)
            self.position_embedding = nn.Embedding(CONTEXT, WIDTH)
            self.blocks = nn.ModuleList([Block() for _ in range(LAYERS)])
            self.norm = nn.LayerNorm(WIDTH)
            self.head = nn.Linear(WIDTH, VOCAB, bias=False)
            causal = nn.Transformer.generate_square_subsequent_mask(CONTEXT)
            self.register_buffer("mask", causal, persistent=False)

        def forward(self, ids):
            x = self.token_embedding(ids) + self.position_embedding.weight[: ids.shape[1]]
            for block in self.blocks:
                x = block(x, self.mask)
            return self.head(self.norm(x))

    model = Model()
    model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in state.items()})
    optimizer = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    inputs, labels = torch.from_numpy(ids), torch.from_numpy(targets.reshape(-1))

    def step() -> float:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(inputs).reshape(-1, VOCAB), labels)
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def generation_rates() -> tuple[float, float]:
    """Tokens per CPU second of 256 greedy tokens at batch 1, uncached then cached."""
    from tinytorch.core.kv_caching import generate

    model = tinytorch_model(GENERATION_CONTEXT)
    prompt = np.random.default_rng(1).integers(0, VOCAB, (1, PROMPT))
    rates, outputs = [], []
    for use_cache in (False, True):
        start = time.process_time()
        outputs.append(generate(model, prompt, NEW_TOKENS, temperature=0.0, use_cache=use_cache))
        rates.append(NEW_TOKENS / (time.process_time() - start))
    if not np.array_equal(outputs[0].numpy(), outputs[1].numpy()):
        raise SystemExit("cached and uncached generation gave different tokens")
    return rates[0], rates[1]


def timed(step: Callable[[], float], warmup: int, steps: int) -> list[tuple[float, float]]:
    """(wall seconds, CPU seconds) of each of `steps` calls of `step`, after `warmup`."""
    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        wall, cpu = time.perf_counter(), time.process_time()
        step()
        times.append((time.perf_counter() - wall, time.process_time() - cpu))
    return times


def reuse_freed_memory() -> None:
    """Serve large arrays from the heap, not fresh mmaps (glibc only; elsewhere a no-op)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    libc.mallopt(m_mmap_threshold, 256 * 2**20)
    libc.mallopt(m_trim_threshold, 512 * 2**20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=10, help="timed steps per framework and round")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps before each block")
    parser.add_argument("--rounds", type=int, default=3, help="blocks per framework, alternated")
    parser.add_argument("--tree", default="solutions", help="where modules 01-14 come from")
    parser.add_argument(
        "--malloc", choices=["reuse", "default"], default="reuse", help="glibc's mmap threshold"
    )
    args = parser.parse_args()
    if args.malloc == "reuse":
        reuse_freed_memory()

    rng = np.random.default_rng(0)
    text = rng.integers(0, VOCAB, (BATCH, CONTEXT + 1))
    ids, targets = text[:, :-1], text[:, 1:]
    with tempfile.TemporaryDirectory(prefix="tinytorch-bench-") as build:
        load_tinytorch(args.tree, Path(build), needs=(6, 14), skip=(10,))
        model = tinytorch_model(CONTEXT)
        steps = {
            "tinytorch": tinytorch_step(model, ids, targets),
            "pytorch": torch_step(model.state_dict(), ids, targets),
        }
        first = {name: step() for name, step in steps.items()}
        if abs(first["tinytorch"] - first["pytorch"]) > 1e-4:
            raise SystemExit(f"the two models disagree on the first loss: {first}")
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in steps}
        for _ in range(args.rounds):
            for name, step in steps.items():
                times[name] += timed(step, args.warmup, args.steps)
        uncached, cached = generation_rates()

    import torch

    print(
        f"GPT training step: batch {BATCH} x {CONTEXT} characters (vocab {VOCAB}), width "
        f"{WIDTH}, {HEADS} heads, {LAYERS} layers, AdamW"
    )
    blas = os.environ.get("OPENBLAS_NUM_THREADS", "default")
    print(f"python {platform.python_version()}, numpy {np.__version__}, torch {torch.__version__}")
    print(
        f"threads: torch {torch.get_num_threads()}, numpy BLAS {blas}; {args.rounds} rounds; "
        f"malloc: {args.malloc}"
    )
    print(f"first loss: tinytorch {first['tinytorch']:.6f}, pytorch {first['pytorch']:.6f}")
    print(f"{'framework':10} {'wall ms':>8} {'CPU ms':>8} {'min CPU ms':>11}")
    medians = {}
    for name, samples in times.items():
        wall, cpu = (statistics.median(column) for column in zip(*samples, strict=True))
        medians[name] = cpu
        fastest = min(c for _, c in samples)
        print(f"{name:10} {wall * 1e3:8.1f} {cpu * 1e3:8.1f} {fastest * 1e3:11.1f}")
    ratio = medians["tinytorch"] / medians["pytorch"]
    verdict = "within" if ratio <= TARGET_RATIO else "OVER"
    print(
        f"ratio tinytorch / pytorch (CPU time) = {ratio:.2f}x "
        f"({verdict} the {TARGET_RATIO}x target)"
    )
    speedup = cached / uncached
    verdict = "meets" if speedup >= TARGET_SPEEDUP else "BELOW"
    print(
        f"generation of {NEW_TOKENS} tokens at batch 1 after {PROMPT} (context "
        f"{GENERATION_CONTEXT}): "
        f"uncached {uncached:.1f} tokens per CPU second, cached {cached:.1f}, "
        f"speed-up {speedup:.1f}x ({verdict} the {TARGET_SPEEDUP}x target)"
    )


if __name__ == "__main__":
    main()
