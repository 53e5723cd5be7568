"""Module 18 measured: what pruning, low rank and distillation cost in accuracy, and what
fine-tuning wins back, on real data.

    python benchmarks/compression_table.py [--dataset digits|fashion-mnist] [--submission DIR]

An MLP (digits: 64-256-128-10; Fashion-MNIST: 784-256-128-10) is trained with Adam, then
compressed with module 18 of `--submission` (the reference solutions by default): 90%
global magnitude pruning, half the hidden neurons pruned by channel norm, the first layer
at low rank, each measured on the test split without retraining and after one epoch of
fine-tuning (the masks hold through every Adam step); and a small student MLP trained
from the labels alone versus distilled from the dense teacher. The table gives exact
parameter counts, non-zeros, bytes and test accuracy. Data come from the course's loaders
(`milestones/datasets`): the bundled digits, or Fashion-MNIST from `$TINYTORCH_DATA`
or a download. BLAS runs single-threaded unless OPENBLAS_NUM_THREADS is set.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before NumPy loads OpenBLAS

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cnn_step import load_tinytorch  # noqa: E402

# dataset -> (hidden sizes, dense epochs, batch size, learning rate, student width)
SETTINGS = {
    "digits": ((256, 128), 30, 32, 2e-3, 16),
    "fashion-mnist": ((256, 128), 5, 64, 1e-3, 32),
}
FINE_TUNE_LR_SHARE = 0.3  # fine-tuning runs at this share of the training rate
DISTILL_TEMPERATURE, DISTILL_ALPHA = 4.0, 0.7


def load(dataset: str) -> tuple[np.ndarray, ...]:
    """Flattened float32 inputs standardised with the training set's statistics."""
    from milestones.datasets.digits import load_digits
    from milestones.datasets.mnist import load_fashion_mnist

    loader = load_digits if dataset == "digits" else load_fashion_mnist
    (x_train, y_train), (x_test, y_test) = loader("train"), loader("test")
    x_train = x_train.reshape(len(x_train), -1).astype(np.float32)
    x_test = x_test.reshape(len(x_test), -1).astype(np.float32)
    mean, std = x_train.mean(), x_train.std()
    return (x_train - mean) / std, y_train, (x_test - mean) / std, y_test


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=sorted(SETTINGS), default="digits")
    parser.add_argument("--submission", default="solutions", help="tree of NN_slug/ modules")
    parser.add_argument("--seed", type=int, default=18)
    args = parser.parse_args()
    load_tinytorch(args.submission, Path(tempfile.mkdtemp(prefix="tinytorch-18-")), (18,))
    from tinytorch.core import compression as cmp
    from tinytorch.core.autograd import no_grad
    from tinytorch.core.layers import Linear, ReLU, Sequential
    from tinytorch.core.losses import cross_entropy
    from tinytorch.core.optimizers import Adam
    from tinytorch.core.tensor import Tensor
    from tinytorch.core.training import Trainer, batches

    hidden, epochs, batch_size, lr, student_width = SETTINGS[args.dataset]
    started = time.perf_counter()
    x_train, y_train, x_test, y_test = load(args.dataset)
    rng = np.random.default_rng(args.seed)

    def mlp(sizes: list[int]) -> Sequential:
        layers: list = []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
            layers += [Linear(fan_in, fan_out, rng=rng), ReLU()]
        return Sequential(*layers[:-1])

    def train(model: Sequential, count: int, rate: float) -> None:
        trainer = Trainer(model, Adam(model.parameters(), lr=rate), cross_entropy, verbose=False)
        for _ in range(count):
            trainer.train_epoch(batches(x_train, y_train, batch_size, rng))

    def logits(model: Sequential, x: np.ndarray) -> np.ndarray:
        model.eval()
        with no_grad():
            out = np.concatenate(
                [model(Tensor(x[i : i + 1000])).data for i in range(0, len(x), 1000)]
            )
        model.train()
        return out

    def accuracy(model: Sequential) -> float:
        return float(np.mean(logits(model, x_test).argmax(axis=1) == y_test))

    rows: list[tuple[str, cmp.SizeReport, float]] = []

    def measure(name: str, model: Sequential) -> None:
        rows.append((name, cmp.model_size(model), accuracy(model)))

    def copy_of(model: Sequential) -> Sequential:
        twin = mlp([x_train.shape[1], *hidden, 10])
        twin.load_state_dict(model.state_dict())
        return twin

    def compress(name: str, dense: Sequential, change: Callable[[Sequential], Sequential]) -> None:
        model = change(copy_of(dense))
        measure(f"{name}, no retraining", model)
        train(model, 1, FINE_TUNE_LR_SHARE * lr)
        measure(f"{name}, 1 epoch fine-tuned", model)

    dense = mlp([x_train.shape[1], *hidden, 10])
    train(dense, epochs, lr)
    measure(f"dense, {epochs} epochs", dense)
    linears = [layer for layer in dense if isinstance(layer, Linear)]

    def pruned_globally(model: Sequential) -> Sequential:
        cmp.global_magnitude_prune([(m, "weight") for m in model if isinstance(m, Linear)], 0.9)
        return model

    def pruned_channels(model: Sequential) -> Sequential:
        for layer in [m for m in model if isinstance(m, Linear)][:-1]:
            cmp.channel_prune(layer, "weight", 0.5, n=2, dim=0)
        return model

    rank = cmp.rank_for_energy(linears[0].weight, 0.5)

    def low_rank(model: Sequential) -> Sequential:
        return Sequential(cmp.low_rank_linear(model[0], rank), *list(model)[1:])

    compress("90% global magnitude pruning", dense, pruned_globally)
    compress("50% hidden neurons (channel L2)", dense, pruned_channels)
    compress(f"first layer at rank {rank} (50% energy)", dense, low_rank)

    teacher_logits = logits(dense, x_train)
    for distilled in (False, True):
        student = mlp([x_train.shape[1], student_width, 10])
        optimizer = Adam(student.parameters(), lr=lr)
        for _ in range(epochs):
            for index in np.array_split(rng.permutation(len(x_train)), len(x_train) // batch_size):
                optimizer.zero_grad()
                out = student(Tensor(x_train[index]))
                if distilled:
                    loss = cmp.distillation_loss(
                        out,
                        teacher_logits[index],
                        y_train[index],
                        DISTILL_TEMPERATURE,
                        DISTILL_ALPHA,
                    )
                else:
                    loss = cross_entropy(out, y_train[index])
                loss.backward()
                optimizer.step()
        how = (
            f"distilled (T={DISTILL_TEMPERATURE:g}, alpha={DISTILL_ALPHA})"
            if distilled
            else "labels only"
        )
        measure(f"student {student_width} hidden, {how}", student)

    print(
        f"{args.dataset}: {len(x_train):,} training, {len(x_test):,} test images; seed {args.seed}"
    )
    print("| model | parameters | non-zero | dense bytes | sparse bytes | test accuracy |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, size, acc in rows:
        print(
            f"| {name} | {size.parameters:,} | {size.nonzero:,} | {size.dense_bytes:,} | "
            f"{size.sparse_bytes:,} | {100 * acc:.1f}% |"
        )
    print(f"({time.perf_counter() - started:.0f} s in all)")


if __name__ == "__main__":
    main()
