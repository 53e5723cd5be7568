"""1998: LeNet, convolutional networks learn to see.

LeCun, Bottou, Bengio and Haffner trained a convolutional network end to end with
backpropagation to read handwritten digits on cheques. Convolutions share one small
filter across the whole image, so the network learns local features (edges, strokes)
wherever they appear, with far fewer weights than an MLP. Here your Conv2d, pooling,
BatchNorm and DataLoader train CNNs on the bundled 8x8 digits, on Fashion-MNIST and
(where it can be downloaded) on CIFAR-10.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from milestones.curves import write_curve
from milestones.datasets.cifar10 import CorruptDataError, load_cifar10
from milestones.datasets.digits import load_digits
from milestones.datasets.fetch import DATA_ENV
from milestones.datasets.idx import read_idx
from milestones.datasets.mnist import load_fashion_mnist
from tinytorch.core.autograd import no_grad
from tinytorch.core.dataloader import (
    Compose,
    DataLoader,
    Normalize,
    RandomCrop,
    RandomHorizontalFlip,
    TensorDataset,
)
from tinytorch.core.layers import Linear, Module, ReLU, Sequential
from tinytorch.core.losses import cross_entropy
from tinytorch.core.optimizers import SGD
from tinytorch.core.spatial import BatchNorm2d, Conv2d, Flatten, MaxPool2d
from tinytorch.core.tensor import Tensor
from tinytorch.core.training import CosineWarmupLR, load_checkpoint, save_checkpoint

REQUIRES = (9,)
# Debian's `apt-get install dataset-fashion-mnist` puts the four IDX files here.
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")


@dataclass(frozen=True)
class Recipe:
    """How one dataset is trained: the network, the schedule and the augmentation."""

    build: Callable[[np.random.Generator], Module]
    epochs: int
    batch_size: int
    lr: float
    augment: bool
    """Random crops (and flips for photos) of each training batch."""


def _conv_block(c_in: int, c_out: int, rng: np.random.Generator) -> list[Module]:
    """3x3 convolution (same size out), batch norm, ReLU."""
    return [Conv2d(c_in, c_out, 3, padding=1, bias=False, rng=rng), BatchNorm2d(c_out), ReLU()]


def lenet_digits(rng: np.random.Generator) -> Module:
    """LeNet-style CNN for 8x8 digits: two conv-pool stages, two linear layers."""
    return Sequential(
        Conv2d(1, 16, 3, padding=1, rng=rng), ReLU(), MaxPool2d(2),   # 16 x 4 x 4
        Conv2d(16, 32, 3, padding=1, rng=rng), ReLU(), MaxPool2d(2),  # 32 x 2 x 2
        Flatten(), Linear(128, 64, rng=rng), ReLU(), Linear(64, 10, rng=rng),
    )  # fmt: skip


def lenet_fashion(rng: np.random.Generator) -> Module:
    """LeNet with batch norm for 28x28 images: 28 -> 14 -> 7, then two linear layers."""
    return Sequential(
        *_conv_block(1, 32, rng), MaxPool2d(2),   # 32 x 14 x 14
        *_conv_block(32, 64, rng), MaxPool2d(2),  # 64 x 7 x 7
        Flatten(), Linear(64 * 7 * 7, 128, rng=rng), ReLU(), Linear(128, 10, rng=rng),
    )  # fmt: skip


def cnn_cifar(rng: np.random.Generator) -> Module:
    """A wider CNN for 32x32 colour photos: 32-32 | 64-64 | 128 channels, then linear."""
    return Sequential(
        *_conv_block(3, 32, rng), *_conv_block(32, 32, rng), MaxPool2d(2),   # 32 x 16 x 16
        *_conv_block(32, 64, rng), *_conv_block(64, 64, rng), MaxPool2d(2),  # 64 x 8 x 8
        *_conv_block(64, 128, rng), MaxPool2d(2),                            # 128 x 4 x 4
        Flatten(), Linear(128 * 4 * 4, 10, rng=rng),
    )  # fmt: skip


RECIPES = {
    "digits": Recipe(lenet_digits, epochs=30, batch_size=32, lr=0.05, augment=True),
    "fashion-mnist": Recipe(lenet_fashion, epochs=6, batch_size=64, lr=0.05, augment=False),
    "cifar10": Recipe(cnn_cifar, epochs=15, batch_size=64, lr=0.05, augment=True),
}


def _fashion_mnist(split: str) -> tuple[np.ndarray, np.ndarray]:
    """Fashion-MNIST from the data root, or from Debian's package when only that is there."""
    names = {"train": "train", "test": "t10k"}[split]
    debian = [DEBIAN_FASHION_MNIST / f"{names}-{kind}-idx{d}-ubyte.gz" for kind, d in
              (("images", 3), ("labels", 1))]  # fmt: skip
    if DATA_ENV not in os.environ and all(path.is_file() for path in debian):
        images, labels = read_idx(debian[0], ndim=3), read_idx(debian[1], ndim=1)
        return images, labels.astype(np.int64)
    return load_fashion_mnist(split)


def load(dataset: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Train and test images as float32 NCHW in [0, 1], labels int64."""
    loader = {"digits": load_digits, "fashion-mnist": _fashion_mnist, "cifar10": load_cifar10}
    scale = 16.0 if dataset == "digits" else 255.0
    arrays = []
    for split in ("train", "test"):
        images, labels = loader[dataset](split)
        images = images.astype(np.float32) / scale
        arrays += [images[:, None] if images.ndim == 3 else images, labels]
    return tuple(arrays)


def augmentation(dataset: str, x: np.ndarray, seed: int) -> Callable[[Tensor], Tensor]:
    """Per-channel standardisation, after random crops (and flips) when the recipe asks."""
    normalize = Normalize(x.mean(axis=(0, 2, 3)), x.std(axis=(0, 2, 3)))
    if not RECIPES[dataset].augment:
        return normalize
    padding = 1 if dataset == "digits" else 4
    steps = [RandomCrop(x.shape[2], padding=padding, generator=seed)]
    if dataset == "cifar10":
        steps.append(RandomHorizontalFlip(generator=seed + 1))
    return Compose([*steps, normalize])


class Progress:
    """One status line per update: epoch, batch, loss, accuracy, images/s and ETA."""

    def __init__(self, epochs: int, batches: int, first_epoch: int) -> None:
        self.epochs, self.batches = epochs, batches
        self.done, self.images, self.started = 0, 0, time.perf_counter()
        self.first_epoch = first_epoch
        self.tty = sys.stdout.isatty()

    def update(self, epoch: int, batch: int, loss: float, accuracy: float, images: int) -> None:
        self.done += 1
        self.images += images
        every = 20 if self.tty else max(1, self.batches // 4)
        if batch % every and batch != self.batches:
            return
        elapsed = time.perf_counter() - self.started
        total = (self.epochs - self.first_epoch) * self.batches
        eta = elapsed / self.done * (total - self.done)
        line = (
            f"epoch {epoch}/{self.epochs}  batch {batch}/{self.batches}  loss {loss:.4f}  "
            f"accuracy {100 * accuracy:5.2f}%  {self.images / elapsed:6.0f} images/s  "
            f"ETA {int(eta // 60)}:{int(eta % 60):02d}"
        )
        print(f"\r{line}" if self.tty else line, end="" if self.tty else "\n", flush=True)


def evaluate(model: Module, x: np.ndarray, y: np.ndarray, prepare) -> tuple[float, float]:
    """Mean loss and accuracy on (x, y), in evaluation mode and without a graph."""
    model.eval()
    loss_sum, correct = 0.0, 0
    with no_grad():
        for images, labels in DataLoader(TensorDataset(x, y), batch_size=500):
            logits = model(prepare(images))
            loss_sum += cross_entropy(logits, labels).item() * len(labels)
            correct += int((logits.data.argmax(axis=1) == labels.data).sum())
    model.train()
    return loss_sum / len(y), correct / len(y)


def time_steps(model: Module, recipe: Recipe, shape: tuple[int, ...], steps: int) -> None:
    """Time `steps` training steps on random data of the dataset's shape; extrapolate."""
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((recipe.batch_size, *shape[1:])).astype(np.float32))
    y = rng.integers(0, 10, recipe.batch_size)
    optimizer = SGD(model.parameters(), lr=recipe.lr, momentum=0.9)
    times = []
    for _ in range(steps + 2):
        started = time.perf_counter()
        optimizer.zero_grad()
        cross_entropy(model(x), y).backward()
        optimizer.step()
        times.append(time.perf_counter() - started)
    per_step = float(np.median(times[2:]))
    per_epoch = per_step * -(-shape[0] // recipe.batch_size)
    print(
        f"{per_step * 1e3:.1f} ms per step of {recipe.batch_size} images (median of {steps}), "
        f"{recipe.batch_size / per_step:.0f} images/s: one epoch of {shape[0]:,} images "
        f"would take {per_epoch / 60:.1f} min, {recipe.epochs} epochs "
        f"{recipe.epochs * per_epoch / 60:.0f} min"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=sorted(RECIPES), default="digits")
    parser.add_argument("--epochs", type=int, help="default: the dataset's recipe")
    parser.add_argument("--lr", type=float, help="peak learning rate (SGD, momentum 0.9)")
    parser.add_argument("--seed", type=int, default=1998)
    parser.add_argument("--out", type=Path, default=Path("runs"), help="checkpoints and curves")
    parser.add_argument("--resume", action="store_true", help="continue from the checkpoint")
    parser.add_argument(
        "--time-steps", type=int, metavar="N",
        help="only time N training steps on random data of the dataset's shape",
    )  # fmt: skip
    args = parser.parse_args()
    recipe = RECIPES[args.dataset]
    epochs, lr = args.epochs or recipe.epochs, args.lr or recipe.lr
    rng = np.random.default_rng(args.seed)
    model = recipe.build(rng)
    if args.time_steps:
        shape = {"digits": (1437, 1, 8, 8), "fashion-mnist": (60000, 1, 28, 28),
                 "cifar10": (50000, 3, 32, 32)}[args.dataset]  # fmt: skip
        time_steps(model, recipe, shape, args.time_steps)
        return
    try:
        x_train, y_train, x_test, y_test = load(args.dataset)
    except CorruptDataError as error:  # a damaged file: say which, without a traceback
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(1) from None
    print(f"{args.dataset}: {len(x_train):,} training and {len(x_test):,} test images")
    print(model)
    prepare = augmentation(args.dataset, x_train, args.seed)
    normalize = prepare.transforms[-1] if isinstance(prepare, Compose) else prepare
    loader = DataLoader(TensorDataset(x_train, y_train), recipe.batch_size, shuffle=True,
                        generator=rng)  # fmt: skip
    optimizer = SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=5e-4)
    scheduler = CosineWarmupLR(optimizer, warmup_steps=min(1, epochs - 1), total_steps=epochs)
    checkpoint = args.out / f"lenet-{args.dataset}.npz"
    first = load_checkpoint(checkpoint, model, optimizer, scheduler, rng) if args.resume else 0
    progress, rows = Progress(epochs, len(loader), first), []
    for epoch in range(first + 1, epochs + 1):
        started, seen, loss_sum, correct = time.perf_counter(), 0, 0.0, 0
        for batch, (images, labels) in enumerate(loader, start=1):
            optimizer.zero_grad()
            logits = model(prepare(images))
            loss = cross_entropy(logits, labels)
            loss.backward()
            optimizer.step()
            seen += len(labels)
            loss_sum += loss.item() * len(labels)
            correct += int((logits.data.argmax(axis=1) == labels.data).sum())
            progress.update(epoch, batch, loss_sum / seen, correct / seen, len(labels))
        scheduler.step()
        test_loss, test_accuracy = evaluate(model, x_test, y_test, normalize)
        seconds = time.perf_counter() - started
        rows.append({"epoch": epoch, "train_loss": loss_sum / seen, "test_loss": test_loss,
                     "train_accuracy": 100 * correct / seen,
                     "test_accuracy": 100 * test_accuracy, "seconds": seconds})  # fmt: skip
        print(f"{chr(10) if progress.tty else ''}epoch {epoch}: test loss {test_loss:.4f}  "
              f"test accuracy {100 * test_accuracy:.2f}%  ({seconds:.0f} s)")  # fmt: skip
        save_checkpoint(checkpoint, model, optimizer, scheduler, epoch, rng)
    if rows:
        stem, title = args.out / f"lenet-{args.dataset}-curve", f"LeNet on {args.dataset}"
        table, picture = write_curve(stem, rows, title)
        print(f"checkpoint {checkpoint}; curve {table} and {picture} (accuracy on the "
              "left scale, losses on the right)")  # fmt: skip
        total = sum(row["seconds"] for row in rows)
        print(f"test accuracy {rows[-1]['test_accuracy']:.2f}% after {epochs} epochs "
              f"({int(total // 60)} min {total % 60:.0f} s)")  # fmt: skip


if __name__ == "__main__":
    main()
