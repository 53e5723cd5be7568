"""One epoch of a 784-128-10 MLP: tinytorch autograd against the same network in NumPy.

    python benchmarks/mlp_epoch.py [--repeats 3] [--submission solutions]

Both train the same network (Linear 784->128, ReLU, Linear 128->10, cross-entropy, SGD
lr 0.1, batch 64) from the same initial weights on the same 60,000 synthetic examples,
in the same process, alternating runs; the medians and their ratio are printed. The
tinytorch package is built from `--submission` (the reference solutions by default)
into a temporary folder. Target (issue 21): tinytorch at most 1.3x the NumPy time.

Each epoch is timed twice: by the wall clock and by the thread's CPU time. Both sides
run on this one thread (BLAS is single-threaded, below), so its CPU time is their whole
work, and other processes on a shared machine stretch the wall clock but not the CPU
time. Measured on this machine (Dec 2026, thirteen runs of 3 epochs): 1.29-1.44x, median
1.32x, by either clock (at its fastest, tinytorch 0.49 s, NumPy 0.38 s per epoch); before
the speed-ups of issue 21, 1.60-1.65x. The two clocks agree within a percent, so the spread
is the machine's own speed changing (other virtual machines share its cores), not other
processes. The rest is the price of recording a graph: a fused Linear op (one op instead
of matmul, transpose and add, as PyTorch's `addmm`) measured 1.20x against 1.28-1.30x in
alternated runs, but
it would change what modules 03, 05 and 15 teach (module 15's profile tables show a
Linear's three ops), so tinytorch keeps Linear made of tensor operations.

BLAS runs single-threaded unless OPENBLAS_NUM_THREADS is set: on this shared 2-core
machine two BLAS threads made both sides 10x slower and erratic whenever another process
was busy.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before NumPy loads OpenBLAS

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.course import load_course  # noqa: E402
from grader.layout import Layout  # noqa: E402
from grader.package import ModuleSource, build_package  # noqa: E402

N, D, H, C, BATCH, LR = 60_000, 784, 128, 10, 64, 0.1
TARGET_RATIO = 1.3


def initial_weights(seed: int = 0) -> list[np.ndarray]:
    """PyTorch's Linear initialisation, U(-1/sqrt(fan_in), 1/sqrt(fan_in)), float32."""
    rng = np.random.default_rng(seed)
    shapes = [((H, D), D), ((H,), D), ((C, H), H), ((C,), H)]
    return [rng.uniform(-(f**-0.5), f**-0.5, s).astype(np.float32) for s, f in shapes]


def numpy_epoch(x: np.ndarray, y: np.ndarray, weights: list[np.ndarray]) -> float:
    """Train one epoch in plain NumPy (hand-written backward); returns the last loss."""
    w1, b1, w2, b2 = weights
    loss = 0.0
    for start in range(0, len(x), BATCH):
        xb, yb = x[start : start + BATCH], y[start : start + BATCH]
        n = len(xb)
        pre = xb @ w1.T + b1
        hidden = np.maximum(pre, 0)
        logits = hidden @ w2.T + b2
        shifted = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        total = exp.sum(axis=1, keepdims=True)
        loss = float(np.mean(np.log(total[:, 0]) - shifted[np.arange(n), yb]))
        grad_logits = exp / total
        grad_logits[np.arange(n), yb] -= 1.0
        grad_logits /= n
        grad_w2 = grad_logits.T @ hidden
        grad_b2 = grad_logits.sum(axis=0)
        grad_hidden = grad_logits @ w2
        grad_hidden *= pre > 0
        grad_w1 = grad_hidden.T @ xb
        grad_b1 = grad_hidden.sum(axis=0)
        for param, grad in ((w1, grad_w1), (b1, grad_b1), (w2, grad_w2), (b2, grad_b2)):
            param -= LR * grad
    return loss


def tinytorch_epoch(x: np.ndarray, y: np.ndarray, weights: list[np.ndarray]) -> float:
    """Train one epoch with tinytorch: Sequential MLP, cross_entropy, backward, SGD."""
    from tinytorch.core.layers import Linear, ReLU, Sequential
    from tinytorch.core.losses import cross_entropy
    from tinytorch.core.optimizers import SGD
    from tinytorch.core.tensor import Tensor

    model = Sequential(Linear(D, H), ReLU(), Linear(H, C))
    for param, value in zip(model.parameters(), weights, strict=True):
        param.data = value
    optimizer = SGD(model.parameters(), lr=LR)
    loss = None
    for start in range(0, len(x), BATCH):
        inputs = Tensor(x[start : start + BATCH])
        targets = Tensor(y[start : start + BATCH], dtype=np.int64)
        optimizer.zero_grad()
        loss = cross_entropy(model(inputs), targets)
        loss.backward()
        optimizer.step()
    return float(loss.item())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--submission", default="solutions", help="tree of NN_slug/ modules")
    args = parser.parse_args()
    layout = Layout()
    course = load_course(layout.manifest)
    tree = (layout.root / args.submission).resolve()
    modules = [m for m in course.modules if m.number <= 6]
    stage = tempfile.mkdtemp(prefix="tinytorch-bench-")
    build_package(Path(stage), [ModuleSource.in_tree(m, tree, "") for m in modules])
    sys.path.insert(0, stage)
    import tinytorch  # noqa: F401  (switches autograd on)

    rng = np.random.default_rng(1)
    x = rng.standard_normal((N, D), dtype=np.float32)
    y = rng.integers(0, C, N)
    clocks = {"wall": time.perf_counter, "cpu": time.thread_time}
    times = {(clock, name): [] for clock in clocks for name in ("numpy", "tinytorch")}
    final = {}
    for _ in range(args.repeats):
        for name, epoch in (("numpy", numpy_epoch), ("tinytorch", tinytorch_epoch)):
            weights = [w.copy() for w in initial_weights()]
            started = {clock: read() for clock, read in clocks.items()}
            final[name] = epoch(x, y, weights)
            for clock, read in clocks.items():
                times[clock, name].append(read() - started[clock])
    print(f"MLP {D}-{H}-{C}, batch {BATCH}, {N:,} examples, median of {args.repeats} epochs")
    for clock in clocks:
        numpy_s, tinytorch_s = (statistics.median(times[clock, k]) for k in ("numpy", "tinytorch"))
        for name, median in (("numpy", numpy_s), ("tinytorch", tinytorch_s)):
            runs = ", ".join(f"{t:.3f}" for t in times[clock, name])
            print(f"  {clock:<4} {name:<10} {median:6.3f} s/epoch  (runs: {runs})")
        ratio = tinytorch_s / numpy_s
        verdict = "within" if ratio <= TARGET_RATIO else "OVER"
        print(f"  {clock:<4} ratio      {ratio:6.2f}x  ({verdict} the {TARGET_RATIO}x target)")
    print(f"  last-batch loss: numpy {final['numpy']:.6f}, tinytorch {final['tinytorch']:.6f}")


if __name__ == "__main__":
    main()
