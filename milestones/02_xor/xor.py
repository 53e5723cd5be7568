"""1969: a single layer cannot learn XOR; one hidden layer can.

Minsky and Papert's "Perceptrons" proved that a single-layer network draws one straight
line, and no line separates XOR's classes: (0, 0) and (1, 1) on one side, (0, 1) and
(1, 0) on the other. The best a line can do is 3 of the 4 corners. A hidden layer bends
the boundary: the same training loop then solves the problem.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from milestones.curves import write_curve
from tinytorch.core.layers import Linear, Module, Sequential, Tanh
from tinytorch.core.losses import cross_entropy
from tinytorch.core.optimizers import SGD
from tinytorch.core.tensor import Tensor
from tinytorch.core.training import EpochStats, Trainer, batches

REQUIRES = (7,)
CORNERS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)


def xor_data(per_corner: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Noisy copies of the four corners, centred on 0; label = x1 XOR x2."""
    corner = np.repeat(np.arange(4), per_corner)
    points = CORNERS[corner] + rng.normal(0.0, 0.15, size=(len(corner), 2))
    labels = CORNERS[corner, 0].astype(np.int64) ^ CORNERS[corner, 1].astype(np.int64)
    return (2 * points - 1).astype(np.float32), labels


def fit(
    name: str, model: Module, args: argparse.Namespace, rng: np.random.Generator, curve: list
) -> EpochStats:
    """Train `model` on fresh XOR data; print progress, the corners, and test accuracy.

    Each epoch's training accuracy goes into `curve[epoch - 1][name]`."""
    print(f"\n== {name} ==\n{model}")
    x, y = xor_data(100, rng)
    x_test, y_test = xor_data(50, rng)
    optimizer = SGD(model.parameters(), lr=args.lr, momentum=0.9)
    trainer = Trainer(model, optimizer, cross_entropy, verbose=False)
    for epoch in range(1, args.epochs + 1):
        stats = trainer.train_epoch(batches(x, y, 16, rng))
        if len(curve) < epoch:
            curve.append({"epoch": epoch})
        curve[epoch - 1][f"{name} accuracy"] = 100 * stats.accuracy
        if epoch % max(1, args.epochs // 5) == 0 or epoch == 1:
            print(f"epoch {epoch:3d}  train {stats}")
    test = trainer.evaluate(batches(x_test, y_test, 100))
    predicted = model(Tensor(2 * CORNERS - 1)).argmax(dim=1).data
    for (a, b), guess in zip(CORNERS.astype(int), predicted, strict=True):
        print(
            f"  {a} XOR {b} = {a ^ b}   predicted {guess}   {'ok' if guess == a ^ b else 'WRONG'}"
        )
    print(f"test accuracy {100 * test.accuracy:.1f}%")
    return test


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--hidden", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1969)
    parser.add_argument("--out", type=Path, default=Path("runs"), help="where the curve goes")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    curve: list[dict] = []
    single = fit("one layer", Linear(2, 2, rng=rng), args, rng, curve)
    hidden = Sequential(Linear(2, args.hidden, rng=rng), Tanh(), Linear(args.hidden, 2, rng=rng))
    deep = fit(f"hidden layer of {args.hidden}", hidden, args, rng, curve)
    print(
        f"\nSingle layer: {100 * single.accuracy:.1f}% (a line gets at most 3 of 4 corners). "
        f"With a hidden layer: {100 * deep.accuracy:.1f}%."
    )
    table, picture = write_curve(args.out / "xor-curve", curve, "XOR: training accuracy")
    print(f"curve: {table} and {picture}")


if __name__ == "__main__":
    main()
