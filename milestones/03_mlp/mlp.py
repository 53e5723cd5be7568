"""1986: backpropagation trains a multi-layer perceptron to read handwriting.

Rumelhart, Hinton and Williams showed that the chain rule, run backwards through a
network, trains hidden layers that find their own features. Here the same algorithm,
your autograd, trains an MLP on the bundled 8x8 digits (UCI), on MNIST or on
Fashion-MNIST.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from milestones.curves import write_curve
from milestones.datasets.digits import load_digits
from milestones.datasets.mnist import load_fashion_mnist, load_mnist
from tinytorch.core.layers import Linear, ReLU, Sequential
from tinytorch.core.losses import cross_entropy
from tinytorch.core.optimizers import Adam
from tinytorch.core.training import CosineWarmupLR, Trainer, batches

REQUIRES = (7,)
LOADERS = {"digits": load_digits, "mnist": load_mnist, "fashion-mnist": load_fashion_mnist}
# dataset -> (hidden sizes, epochs, batch size, learning rate)
DEFAULTS = {
    "digits": ((128,), 30, 32, 3e-3),
    "mnist": ((256, 128), 10, 64, 1e-3),
    "fashion-mnist": ((256, 128), 10, 64, 1e-3),
}


def load(dataset: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Flattened float32 inputs standardised with the training set's statistics."""
    x_train, y_train = LOADERS[dataset]("train")
    x_test, y_test = LOADERS[dataset]("test")
    x_train = x_train.reshape(len(x_train), -1).astype(np.float32)
    x_test = x_test.reshape(len(x_test), -1).astype(np.float32)
    mean, std = x_train.mean(), x_train.std()
    return (x_train - mean) / std, y_train, (x_test - mean) / std, y_test


def mlp(sizes: list[int], rng: np.random.Generator) -> Sequential:
    """Linear layers of the given sizes with ReLU between them."""
    layers = []
    for index, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(Linear(fan_in, fan_out, rng=rng))
        if index < len(sizes) - 2:
            layers.append(ReLU())
    return Sequential(*layers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=sorted(LOADERS), default="digits")
    parser.add_argument("--hidden", type=int, nargs="+", help="hidden layer sizes")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--lr", type=float)
    parser.add_argument("--seed", type=int, default=1986)
    parser.add_argument("--out", type=Path, default=Path("runs"), help="where the curve goes")
    args = parser.parse_args()
    hidden, epochs, batch_size, lr = DEFAULTS[args.dataset]
    hidden = args.hidden or hidden
    epochs, batch_size, lr = args.epochs or epochs, args.batch_size or batch_size, args.lr or lr
    rng = np.random.default_rng(args.seed)
    x_train, y_train, x_test, y_test = load(args.dataset)
    model = mlp([x_train.shape[1], *hidden, 10], rng)
    print(f"{args.dataset}: {len(x_train):,} training and {len(x_test):,} test images")
    print(model)
    optimizer = Adam(model.parameters(), lr=lr)
    scheduler = CosineWarmupLR(optimizer, warmup_steps=1, total_steps=epochs)
    trainer = Trainer(model, optimizer, cross_entropy, scheduler)
    started, rows = time.perf_counter(), []
    for epoch in range(1, epochs + 1):
        train = trainer.train_epoch(batches(x_train, y_train, batch_size, rng))
        test = trainer.evaluate(batches(x_test, y_test, 1000))
        rows.append({"epoch": epoch, "train_loss": train.loss, "test_loss": test.loss,
                     "train_accuracy": 100 * train.accuracy,
                     "test_accuracy": 100 * test.accuracy})  # fmt: skip
    minutes, seconds = divmod(time.perf_counter() - started, 60)
    print(
        f"test accuracy {100 * test.accuracy:.2f}% after {epochs} epochs "
        f"({int(minutes)} min {seconds:.1f} s of training and evaluation)"
    )
    table, picture = write_curve(
        args.out / f"mlp-{args.dataset}-curve", rows, f"MLP on {args.dataset}"
    )
    print(f"curve: {table} and {picture}")


if __name__ == "__main__":
    main()
