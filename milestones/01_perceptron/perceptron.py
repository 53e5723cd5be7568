"""1957: Rosenblatt's perceptron learns a line that separates two classes.

The perceptron computes `sign(w . x + b)` and learns by a rule, not by gradients: after
each mistake on a sample x of class y (+1 or -1), `w += lr * y * x` and `b += lr * y`.
Rosenblatt's convergence theorem says that on linearly separable data the rule stops
making mistakes after finitely many updates; this run shows it happen.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from milestones.curves import write_curve
from tinytorch.core.activations import relu
from tinytorch.core.layers import Linear
from tinytorch.core.tensor import Tensor

REQUIRES = (3,)


def separable_data(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """`n` points in [-1, 1]^2 on either side of a fixed line, with a margin of 0.02."""
    points = []
    while len(points) < n:
        x = rng.uniform(-1.0, 1.0, size=2)
        distance = (x[0] - 0.6 * x[1] - 0.2) / np.hypot(1.0, 0.6)
        if abs(distance) > 0.02:
            points.append((x, 1.0 if distance > 0 else -1.0))
    inputs = np.array([p for p, _ in points], dtype=np.float32)
    return inputs, np.array([label for _, label in points], dtype=np.float32)


def evaluate(layer: Linear, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Perceptron criterion, mean of max(0, -y * score), and accuracy."""
    scores = layer(Tensor(x)).reshape(-1)
    margins = Tensor(y) * scores
    loss = relu(-margins).mean().item()
    return loss, float(np.mean(margins.data > 0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=1957)
    parser.add_argument("--out", type=Path, default=Path("runs"), help="where the curve goes")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    x_train, y_train = separable_data(1000, rng)
    x_test, y_test = separable_data(500, rng)
    layer = Linear(2, 1, rng=rng)
    print(f"{len(x_train)} training points, {len(x_test)} test points, linearly separable")
    loss, accuracy = evaluate(layer, x_train, y_train)
    print(f"untrained  loss {loss:.4f}  accuracy {100 * accuracy:6.2f}%")
    rows = [{"epoch": 0, "mistakes": 0, "train_loss": loss, "train_accuracy": 100 * accuracy}]
    for epoch in range(1, args.epochs + 1):
        started, mistakes = time.perf_counter(), 0
        for i in rng.permutation(len(x_train)):
            sample = Tensor(x_train[i : i + 1])
            if y_train[i] * layer(sample).item() <= 0:  # a mistake: apply the rule
                mistakes += 1
                step = args.lr * float(y_train[i])
                layer.weight.data = (layer.weight + sample * step).data
                layer.bias.data = (layer.bias + step).data
        speed = len(x_train) / (time.perf_counter() - started)
        loss, accuracy = evaluate(layer, x_train, y_train)
        rows.append({"epoch": epoch, "mistakes": mistakes, "train_loss": loss,
                     "train_accuracy": 100 * accuracy})  # fmt: skip
        print(
            f"epoch {epoch:3d}  mistakes {mistakes:3d}  loss {loss:.4f}  "
            f"accuracy {100 * accuracy:6.2f}%  {speed:,.0f} samples/s"
        )
        if mistakes == 0:
            print(f"Converged: a whole epoch without a mistake (epoch {epoch}).")
            break
    (w1, w2), b = layer.weight.data[0], layer.bias.data[0]
    _, test_accuracy = evaluate(layer, x_test, y_test)
    print(f"learned boundary: {w1:.3f} * x1 + {w2:.3f} * x2 + {b:.3f} = 0")
    print(f"test accuracy {100 * test_accuracy:.2f}%")
    table, picture = write_curve(args.out / "perceptron-curve", rows, "Perceptron (1957)")
    print(f"curve: {table} and {picture}")


if __name__ == "__main__":
    main()
