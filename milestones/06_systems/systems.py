"""2024: the systems competition: profile, quantize, prune and cache, every step measured.

MLPerf (from 2018) and MLPerf Tiny (2021) made machine learning systems compete under
rules: the same task, a quality floor, and the time measured by the judge. Here one
trained model at a time goes through the course's systems modules, and every version
is measured in this run: milestone 03's MLP is profiled (module 15), quantized to int8
(17), pruned and fine-tuned (18); a small GPT (13) generates with and without its KV
cache (14) and in int8. Module 19's harness times all versions of a model interleaved,
so the ratios hold on a busy machine. One table, one PNG.
"""

from __future__ import annotations

import argparse
import copy
import importlib
import sys
import time
from pathlib import Path

import numpy as np

from milestones.tradeoff import Step, table, write_tradeoff
from tinytorch.core.autograd import no_grad
from tinytorch.core.compression import (
    apply_mask,
    channel_prune,
    global_magnitude_prune,
    model_size,
    remove_pruning,
)
from tinytorch.core.layers import Linear, Module, ReLU, Sequential
from tinytorch.core.losses import cross_entropy
from tinytorch.core.optimizers import Adam
from tinytorch.core.quantization import model_size_bytes
from tinytorch.core.tensor import Tensor
from tinytorch.core.training import CosineWarmupLR, Trainer, batches

REQUIRES = (7, 14, 15, 17, 18, 19)
# Milestone 03's data, model and settings, and this milestone's GPT part (folder names
# are not identifiers, so they are imported by name).
MLP = importlib.import_module("milestones.03_mlp.mlp")
measure = importlib.import_module("milestones.06_systems.measure")
language = importlib.import_module("milestones.06_systems.language")
EVAL_BATCH = 1000
PRUNED_WEIGHTS, PRUNED_NEURONS = 0.9, 0.5
FINE_TUNE_LR_SHARE = 0.3  # fine-tuning runs at this share of the training rate


def logits(model: Module, x: np.ndarray) -> np.ndarray:
    """The model's outputs for every row of `x`, in batches, without a graph."""
    with no_grad():
        return np.concatenate(
            [model(Tensor(x[i : i + EVAL_BATCH])).data for i in range(0, len(x), EVAL_BATCH)]
        )


def predictions(model: Module, x: np.ndarray) -> np.ndarray:
    """The predicted class of every row of `x`."""
    return logits(model, x).argmax(axis=1)


def without_pruned_neurons(model: Sequential) -> Sequential:
    """The same function without the hidden neurons whose weights and bias are all zero
    (pruned ones): smaller dense layers. Such a neuron outputs ReLU(0) = 0, so its row and
    the next layer's column can go without changing any output.
    """
    layers = list(model)
    linears = [i for i, layer in enumerate(layers) if isinstance(layer, Linear)]
    kept_inputs = np.arange(layers[linears[0]].weight.shape[1])
    smaller = []
    for i, layer in enumerate(layers):
        if not isinstance(layer, Linear):
            smaller.append(ReLU())
            continue
        weight, bias = layer.weight.data[:, kept_inputs], layer.bias.data
        alive = weight.any(axis=1) | (bias != 0)
        kept = np.arange(len(weight)) if i == linears[-1] else np.flatnonzero(alive)
        twin = Linear(len(kept_inputs), len(kept))
        twin.weight.data, twin.bias.data = weight[kept].copy(), bias[kept].copy()
        smaller.append(twin)
        kept_inputs = kept
    return Sequential(*smaller)


def mlp_steps(args: argparse.Namespace) -> list[Step]:
    """Train milestone 03's MLP, then measure it, in int8, sparse, and with fewer neurons."""
    hidden, epochs, batch_size, lr = MLP.DEFAULTS[args.dataset]
    epochs = args.epochs or epochs
    rng = np.random.default_rng(args.seed)
    x_train, y_train, x_test, y_test = MLP.load(args.dataset)
    print(f"{args.dataset}: {len(x_train):,} training and {len(x_test):,} test images")

    def train(model: Module, count: int, rate: float) -> None:
        optimizer = Adam(model.parameters(), lr=rate)
        # a cosine schedule for training; fine-tuning (one epoch) at a constant rate
        scheduler = CosineWarmupLR(optimizer, 1, count) if count > 1 else None
        trainer = Trainer(model, optimizer, cross_entropy, scheduler, verbose=False)
        for _ in range(count):
            trainer.train_epoch(batches(x_train, y_train, batch_size, rng))

    dense = MLP.mlp([x_train.shape[1], *hidden, 10], rng)
    started = time.perf_counter()
    train(dense, epochs, lr)
    print(f"trained {dense} for {epochs} epochs in {time.perf_counter() - started:.1f} s")
    measure.report_profile("float32 MLP", dense, Tensor(x_test))

    calibration = [x_train[i : i + 250] for i in range(0, min(1000, len(x_train)), 250)]
    sparse = copy.deepcopy(dense)
    sparse_layers = [m for m in sparse if isinstance(m, Linear)]
    global_magnitude_prune([(m, "weight") for m in sparse_layers], PRUNED_WEIGHTS)
    train(sparse, 1, FINE_TUNE_LR_SHARE * lr)
    for layer in sparse_layers:
        remove_pruning(layer, "weight")
    narrow = copy.deepcopy(dense)
    hidden_layers = [m for m in narrow if isinstance(m, Linear)][:-1]
    for layer in hidden_layers:
        channel_prune(layer, "weight", PRUNED_NEURONS, n=2, dim=0)
        apply_mask(layer, "bias", layer.weight_mask.data.any(axis=1).astype(np.float32))
    train(narrow, 1, FINE_TUNE_LR_SHARE * lr)
    for layer in hidden_layers:
        remove_pruning(layer, "weight")
        remove_pruning(layer, "bias")
    smaller = without_pruned_neurons(narrow)
    if not np.allclose(logits(smaller, x_test), logits(narrow, x_test), rtol=1e-4, atol=1e-4):
        raise RuntimeError("removing the pruned neurons changed the model's outputs")
    versions = {"float32, trained": (dense, model_size_bytes(dense), "float32")}
    versions["int8, calibrated on 1,000 training images"] = measure.in_int8(dense, calibration)
    versions[f"{PRUNED_WEIGHTS:.0%} of weights pruned, 1 epoch fine-tuned"] = (
        sparse, model_size(sparse).sparse_bytes, "float32 values + bitmap")  # fmt: skip
    versions[f"{PRUNED_NEURONS:.0%} of hidden neurons pruned, fine-tuned, removed"] = (
        smaller, model_size_bytes(smaller), "float32")  # fmt: skip
    versions["that, in int8"] = measure.in_int8(smaller, calibration)
    report = measure.timed({n: (lambda net=net: predictions(net, x_test)) for n, (net, _, _) in
                    versions.items()}, args)  # fmt: skip
    return [
        measure.step(f"MLP {args.dataset}", report, name, net, size, stored_as,
                     f"{len(x_test):,} images", 1,
                     100 * float(np.mean(predictions(net, x_test) == y_test)), "accuracy")
        for name, (net, size, stored_as) in versions.items()
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=("digits", "fashion-mnist"), default="digits")
    parser.add_argument("--epochs", type=int, help="MLP training epochs")
    parser.add_argument("--part", choices=("mlp", "gpt", "both"), default="both")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--windows", type=int, default=10, help="timed windows per version")
    parser.add_argument(
        "--window-seconds",
        type=float,
        default=0.05,
        help="shortest timed window (module 19 calibrates calls to fill it)",
    )
    parser.add_argument("--out", type=Path, default=Path("runs"), help="where the table goes")
    language.add_arguments(parser)
    args = parser.parse_args()
    if args.epochs is not None and args.epochs < 1:
        parser.error(f"--epochs must be at least 1, got {args.epochs}")
    if args.windows < 5 or not args.window_seconds > 0:
        parser.error("the harness needs --windows of at least 5 and --window-seconds above 0")
    if args.part != "mlp" and (problem := language.argument_error(args)):
        parser.error(problem)
    try:
        text = language.load(args) if args.part != "mlp" else None  # data first: fail fast
    except ValueError as error:  # a text file or settings that cannot be used
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(1) from None
    steps = mlp_steps(args) if args.part != "gpt" else []
    if text is not None:
        steps += language.gpt_steps(args, text)
    print("\nEvery version measured in this run (latency: module 19's harness, interleaved):")
    print(table(steps))
    name = "systems-gpt" if args.part == "gpt" else f"systems-{args.dataset}"
    tsv, png = write_tradeoff(args.out / name, steps,
                              "Milestone 06: what each systems step costs and buys")  # fmt: skip
    print(f"table: {tsv}; trade-off plot: {png}")


if __name__ == "__main__":
    main()
