"""2018: integer-only inference: the same network in int8, four times smaller.

Jacob et al. (Google, 2018) ran whole networks on integers: int8 weights and inputs, an
int32 accumulator, one float scale per output. Here milestone 03's MLP is trained on
your framework, quantized with your module 17 (calibrated on training images only) and
both models are measured on the held-out test set in the same run: bytes, accuracy,
and time.
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import time
from collections.abc import Callable

import numpy as np

from tinytorch.core.autograd import no_grad
from tinytorch.core.layers import Module
from tinytorch.core.losses import cross_entropy
from tinytorch.core.optimizers import Adam
from tinytorch.core.quantization import model_size_bytes, quantize_model
from tinytorch.core.tensor import Tensor
from tinytorch.core.training import CosineWarmupLR, Trainer, batches

REQUIRES = (7, 17)
# Milestone 03's data loading, model and training settings (its folder name is not an
# identifier, so it is imported by name).
MLP = importlib.import_module("milestones.03_mlp.mlp")
EVAL_BATCH = 1000


def predictions(model: Module, x: np.ndarray) -> np.ndarray:
    """The predicted class of every row of `x`, in batches, without a graph."""
    with no_grad():
        return np.concatenate(
            [
                model(Tensor(x[i : i + EVAL_BATCH])).data.argmax(axis=1)
                for i in range(0, len(x), EVAL_BATCH)
            ]
        )


def median_seconds(run: Callable[[], object], repeats: int) -> float:
    """The median time of `repeats` runs after one warm-up run."""
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=sorted(MLP.LOADERS), default="digits")
    parser.add_argument("--hidden", type=int, nargs="+", help="hidden layer sizes")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--seed", type=int, default=2018)
    parser.add_argument("--method", choices=("minmax", "percentile"), default="minmax")
    parser.add_argument("--percentile", type=float, default=99.99)
    parser.add_argument("--calibration", type=int, default=1000, help="training images")
    parser.add_argument("--repeats", type=int, default=5, help="timed passes per model")
    args = parser.parse_args()
    hidden, epochs, batch_size, lr = MLP.DEFAULTS[args.dataset]
    hidden, epochs = args.hidden or hidden, args.epochs or epochs
    rng = np.random.default_rng(args.seed)
    x_train, y_train, x_test, y_test = MLP.load(args.dataset)
    model = MLP.mlp([x_train.shape[1], *hidden, 10], rng)
    print(f"{args.dataset}: {len(x_train):,} training and {len(x_test):,} test images")
    optimizer = Adam(model.parameters(), lr=lr)
    scheduler = CosineWarmupLR(optimizer, warmup_steps=1, total_steps=epochs)
    trainer = Trainer(model, optimizer, cross_entropy, scheduler)
    started = time.perf_counter()
    for _ in range(epochs):
        trainer.train_epoch(batches(x_train, y_train, batch_size, rng))
    print(f"trained {epochs} epochs in {time.perf_counter() - started:.1f} s")

    calibration = [x_train[i : i + 250] for i in range(0, min(args.calibration, len(x_train)), 250)]
    quantized = quantize_model(model, calibration, args.method, args.percentile)
    print(quantized)
    rows = []
    for name, net in (("float32", model), ("int8", quantized)):
        accuracy = 100 * float(np.mean(predictions(net, x_test) == y_test))
        seconds = median_seconds(lambda net=net: predictions(net, x_test), args.repeats)
        rows.append((name, model_size_bytes(net), accuracy, seconds))
        print(
            f"{name:8} {rows[-1][1]:>12,} bytes   test accuracy {accuracy:6.2f}%   "
            f"{seconds * 1e3:8.1f} ms for {len(x_test):,} images (median of {args.repeats})"
        )
    (_, float_bytes, float_accuracy, float_time), (_, int8_bytes, int8_accuracy, int8_time) = rows
    print(
        f"int8 ({args.method} calibration on {sum(len(c) for c in calibration):,} training "
        f"images): {float_bytes / int8_bytes:.2f}x smaller, "
        f"{float_accuracy - int8_accuracy:+.2f} points of accuracy lost, "
        f"{int8_time / float_time:.2f}x the float model's time"
    )


if __name__ == "__main__":
    main()
