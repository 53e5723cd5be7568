"""One CNN training step, tinytorch (the reference solutions) against PyTorch on the CPU.

    make bench-cnn                       (sets up .venv/bench with torch, then runs this)
    .venv/bench/bin/python benchmarks/cnn_step.py [--threads 1/1 2/2 1/2] [--steps 10]

The network is the CIFAR-shaped CNN of the course's performance notes: a batch of 64
images 3x32x32, conv 3->32 3x3, ReLU, max-pool 2, conv 32->64 3x3, ReLU, max-pool 2,
flatten, linear 2304->10, cross-entropy, SGD (lr 0.01, momentum 0.9). One step is the
forward pass, the backward pass and the update.

Each thread budget `B/T` runs in its own process: NumPy's BLAS gets B threads
(OPENBLAS_NUM_THREADS, read once when NumPy loads), PyTorch T (`torch.set_num_threads`).
Inside it the two frameworks alternate in blocks (warm-up steps, then timed steps; three
rounds), so both see the same machine load while neither one's idle threads disturb the
other's steps; the figures are medians of the timed steps. Between blocks tinytorch's
buffer cache (`_empty`, given in module 01) is emptied, so that PyTorch runs on the heap
it would have alone; tinytorch refills it during its warm-up steps. tinytorch is built
from `--tree` (default `solutions/`) into a temporary folder, so the benchmark never
depends on the state of `tinytorch/` or `assignments/`.

Issue 21 set the target "at most 1.5x PyTorch" while the benchmark gave PyTorch two
threads and tinytorch's BLAS one (budget 1/2, where it measured 1.82x). That compares one
core with two: PyTorch itself takes 33-38 ms per step on one thread and 17-20 ms on two.
The budgets 1/1 and 2/2 compare the frameworks on the same machine; the verdict is
printed for every budget, 1/2 included. Measured on this machine while it was quiet (Dec
2026, ten runs of `make bench-cnn`, 3 or 5 rounds): 1/1 tinytorch 31-38 ms against
PyTorch 33-38 ms, 0.90-1.03x; 2/2 1.12-1.48x; 1/2 tinytorch 31-34 ms against PyTorch
18-24 ms, 1.36-1.68x (1.73-1.81x before issue 21's last round). One BLAS thread is a
core's worth of matrix products: the step's five products take 17 ms at about
80 GFLOP/s, this core's peak (measured with NumPy alone), so a step on one core cannot
come within 1.5x of PyTorch's 18 ms on two. PyTorch's threads slow down more than
tenfold whenever another process is busy, so a ratio from a busy run says
nothing about either framework: run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before NumPy loads OpenBLAS (see Budget)

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BATCH, CLASSES, LR, MOMENTUM = 64, 10, 0.01, 0.9
TARGET_RATIO = 1.5  # issue 21: the solution's step at most 1.5x PyTorch's


def load_tinytorch(
    tree: str, target: Path, needs: tuple[int, ...] = (9,), skip: tuple[int, ...] = ()
) -> None:
    """Build `tinytorch` from the modules `needs` and their prerequisites (but those in
    `skip`, which the benchmark never imports) in `tree` into `target`; put it on sys.path."""
    sys.path.insert(0, str(ROOT))
    from grader.course import load_course
    from grader.layout import Layout
    from grader.package import ModuleSource, build_package

    layout = Layout(ROOT)
    course = load_course(layout.manifest)
    needed = {m.number: m for n in needs for m in course.prerequisite_closure(course.module(n))}
    needed.update({n: course.module(n) for n in needs})
    sources = []
    for module in sorted(needed.values(), key=lambda m: m.number):
        if module.number in skip:
            continue
        path = layout.module_file(ROOT / tree, module)
        if not path.is_file():
            raise SystemExit(f"{path} is missing: the benchmark needs it in {tree}/")
        sources.append(ModuleSource(module, path, str(path)))
    build_package(target, sources)
    sys.path.insert(0, str(target))
    importlib.import_module("tinytorch")


def tinytorch_step(images: np.ndarray, labels: np.ndarray) -> Callable[[], float]:
    """A closure that runs one training step of the tinytorch CNN and returns its loss."""
    from tinytorch.core.layers import Linear, ReLU, Sequential
    from tinytorch.core.losses import cross_entropy
    from tinytorch.core.optimizers import SGD
    from tinytorch.core.spatial import Conv2d, Flatten, MaxPool2d
    from tinytorch.core.tensor import Tensor

    rng = np.random.default_rng(0)
    model = Sequential(
        Conv2d(3, 32, 3, rng=rng),
        ReLU(),
        MaxPool2d(2),
        Conv2d(32, 64, 3, rng=rng),
        ReLU(),
        MaxPool2d(2),
        Flatten(),
        Linear(2304, CLASSES, rng=rng),
    )
    optimizer = SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    x = Tensor(images)

    def step() -> float:
        optimizer.zero_grad()
        loss = cross_entropy(model(x), labels)
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def torch_step(images: np.ndarray, labels: np.ndarray, threads: int) -> Callable[[], float]:
    """The same network and step in PyTorch (NCHW, float32, `threads` threads)."""
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    nn = torch.nn
    model = nn.Sequential(
        nn.Conv2d(3, 32, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(2304, CLASSES),
    )
    optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    x, y = torch.from_numpy(images), torch.from_numpy(labels)

    def step() -> float:
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def timed(step: Callable[[], float], warmup: int, steps: int) -> list[float]:
    """Seconds of each of `steps` calls of `step`, after `warmup` untimed calls."""
    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return times


@dataclass(frozen=True)
class Budget:
    """Threads for NumPy's BLAS (tinytorch's matrix products) and for PyTorch."""

    blas: int
    torch: int

    @classmethod
    def parse(cls, text: str) -> Budget:
        """`"2/2"` as Budget(2, 2); an argparse-friendly error for anything else."""
        try:
            blas, torch = (int(part) for part in text.split("/"))
        except ValueError:
            message = f"a budget is BLAS/TORCH threads, like 2/2: {text!r}"
            raise argparse.ArgumentTypeError(message) from None
        if blas < 1 or torch < 1:
            raise argparse.ArgumentTypeError(f"thread counts start at 1: {text!r}")
        return cls(blas, torch)

    def __str__(self) -> str:
        return f"{self.blas}/{self.torch}"


@dataclass(frozen=True)
class Measurement:
    """What one budget's process reports to the parent (one JSON line on stdout)."""

    budget: str
    tinytorch_ms: float
    pytorch_ms: float
    tinytorch_min_ms: float
    pytorch_min_ms: float

    @property
    def ratio(self) -> float:
        return self.tinytorch_ms / self.pytorch_ms


def measure(budget: Budget, tree: str, steps: int, warmup: int, rounds: int) -> Measurement:
    """Median step times of both frameworks in this process (BLAS threads already set)."""
    rng = np.random.default_rng(0)
    images = rng.standard_normal((BATCH, 3, 32, 32)).astype(np.float32)
    labels = rng.integers(0, CLASSES, BATCH)
    with tempfile.TemporaryDirectory(prefix="tinytorch-bench-") as build:
        load_tinytorch(tree, Path(build))
        steps_of = {
            "tinytorch": tinytorch_step(images, labels),
            "pytorch": torch_step(images, labels, budget.torch),
        }
        times: dict[str, list[float]] = {name: [] for name in steps_of}
        from tinytorch.core import spatial

        for _ in range(rounds):
            for name, step in steps_of.items():
                times[name] += timed(step, warmup, steps)
                # tinytorch's cached buffers would sit on top of the heap during PyTorch's
                # block and make its fresh allocations fault: hand them back in between.
                spatial._CACHE.clear()
    return Measurement(
        str(budget),
        statistics.median(times["tinytorch"]) * 1e3,
        statistics.median(times["pytorch"]) * 1e3,
        min(times["tinytorch"]) * 1e3,
        min(times["pytorch"]) * 1e3,
    )


def run_budget(budget: Budget, args: argparse.Namespace) -> Measurement:
    """Measure `budget` in a child process: OpenBLAS reads its thread count only at load."""
    command = [sys.executable, __file__, "--child", str(budget), "--tree", args.tree]
    command += ["--steps", str(args.steps), "--warmup", str(args.warmup)]
    command += ["--rounds", str(args.rounds)]
    env = {**os.environ, "OPENBLAS_NUM_THREADS": str(budget.blas)}
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"budget {budget} failed:\n{done.stdout}{done.stderr}")
    return Measurement(**json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--threads",
        nargs="+",
        type=Budget.parse,
        default=[Budget(1, 1), Budget(2, 2), Budget(1, 2)],
        help="budgets BLAS/TORCH to measure, each in its own process (default: 1/1 2/2 1/2)",
    )
    parser.add_argument("--steps", type=int, default=10, help="timed steps per framework and round")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps before each block")
    parser.add_argument("--rounds", type=int, default=3, help="blocks per framework, alternated")
    parser.add_argument("--tree", default="solutions", help="where modules 01-09 come from")
    parser.add_argument("--child", type=Budget.parse, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        found = measure(args.child, args.tree, args.steps, args.warmup, args.rounds)
        print(json.dumps(asdict(found)))
        return

    import torch

    print(f"CNN training step, batch {BATCH} x 3x32x32 (conv32-pool-conv64-pool-linear, SGD)")
    print(f"python {platform.python_version()}, numpy {np.__version__}, torch {torch.__version__}")
    print(f"medians of {args.rounds} alternated blocks of {args.steps} steps per framework")
    print(f"{'threads BLAS/torch':19} {'tinytorch ms':>12} {'pytorch ms':>10} {'ratio':>7}")
    for budget in args.threads:
        found = run_budget(budget, args)
        verdict = "within" if found.ratio <= TARGET_RATIO else "OVER"
        print(
            f"{str(budget):19} {found.tinytorch_ms:12.1f} {found.pytorch_ms:10.1f} "
            f"{found.ratio:6.2f}x  ({verdict} the {TARGET_RATIO}x target)"
        )


if __name__ == "__main__":
    main()
