# %% [markdown]
# # Module 20: Capstone, TinyMLPerf
#
# Make a trained model faster without letting it get worse than a floor, and let someone
# else measure it. In TinyMLPerf the grader hands your entry point a trained baseline MLP
# and some images; what you return is measured by the grader, not by you: its accuracy on
# a held-out set your code never sees, and its time per batch against the baseline's,
# timed in turns in one job with module 19's harness. The score is that ratio.
#
# On the closed track the model is fixed and the data has no labels: you may transform
# the baseline (quantize it, prune it, factorize it), but not retrain it. Without labels,
# how do you know a smaller model is still good? Ask the baseline: the share of
# calibration images on which the smaller model predicts what the baseline predicts (their
# *agreement*) is a label-free stand-in for accuracy. This module builds a closed-track
# submission that way: the smallest low-rank factorization (module 18) whose agreement
# with the baseline stays above a threshold. A Linear(784, 256) costs 784 * 256
# multiply-adds per image; as Linear(784, 48) then Linear(48, 256) it costs 48 * (784 +
# 256), a quarter.
#
# Tasks: 20.1 predictions in batches, 20.2 agreement, 20.3 factorizing a model's Linear
# layers, 20.4 the entry point `build`, 20.5 the submission file.


# %%
from __future__ import annotations

import copy
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tinytorch.core.autograd import no_grad
from tinytorch.core.compression import low_rank_linear
from tinytorch.core.layers import Linear, Module, Sequential
from tinytorch.core.tensor import Tensor

__all__ = [
    "TASKS",
    "TRACKS",
    "CANDIDATE_RANKS",
    "predict",
    "agreement",
    "factorize",
    "build",
    "write_submission",
]

TASKS = ("digits", "fashion_mnist", "austen_gpt")
TRACKS = ("closed", "open")
CANDIDATE_RANKS = (8, 16, 24, 32, 48, 64, 96, 128)
"""The ranks `build` tries, smallest first."""
MIN_AGREEMENT = 0.95


def _images(images: Any) -> np.ndarray:
    values = np.asarray(images.data if isinstance(images, Tensor) else images, dtype=np.float32)
    if values.ndim != 2:
        raise ValueError(f"images must be a 2-D array (images, features), got shape {values.shape}")
    return values


# %% [markdown]
# ## 20.1 Predictions in batches
#
# `predict(model, images, batch_size=256)` runs the model on `batch_size` rows at a time
# with gradients off (inference needs no graph), and returns each image's class: the
# index of its largest logit, as an int64 array. Batching keeps memory flat for any
# number of images; the last batch may be smaller. A `batch_size` below 1 is a
# `ValueError`.


# %%
def predict(model: Module, images: Any, batch_size: int = 256) -> np.ndarray:
    """The class (argmax of the logits) of every row of `images`, `batch_size` at a time."""
    values = _images(images)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    # TODO (Task 20.1)
    raise NotImplementedError(
        'Task 20.1: implement predict. Hint: with no_grad(): for start in range(0, len(values), '
        'batch_size): run the model on Tensor(values[start:start + batch_size]) and keep '
        'logits.data.argmax(axis=1); np.concatenate the pieces (np.zeros(0, np.int64) when there '
        'are no images).'
    )


# %% [markdown]
# ## 20.2 Agreement
#
# `agreement(model, reference, images, batch_size=256)` is the share of images on which
# the two models predict the same class, a number in [0, 1]. No labels are needed: on the
# closed track it tells you how much of the baseline's behaviour a transformed model
# keeps. An empty set of images has no agreement to measure: `ValueError`.


# %%
def agreement(model: Module, reference: Module, images: Any, batch_size: int = 256) -> float:
    """The fraction of `images` on which `model` and `reference` predict the same class."""
    values = _images(images)
    if len(values) == 0:
        raise ValueError("agreement needs at least one image")
    # TODO (Task 20.2)
    raise NotImplementedError(
        'Task 20.2: implement agreement. Hint: compare predict(model, ...) with predict(reference, '
        '...); the mean of the equal entries, as a Python float.'
    )


# %% [markdown]
# ## 20.3 Factorizing a model's Linear layers
#
# `factorize(model, ranks)` takes a `Sequential` and returns a new one in which the first
# `len(ranks)` Linear layers, in order, are replaced by `low_rank_linear(layer, rank)`
# (module 18) with `rank` capped at `min(in_features, out_features)`. Every other layer
# is kept in its place; the model passed in is left as it was (work on a
# `copy.deepcopy`). More ranks than Linear layers is a `ValueError`.


# %%
def factorize(model: Sequential, ranks: Sequence[int]) -> Sequential:
    """A copy of `model` whose first `len(ranks)` Linear layers are low-rank products."""
    if not isinstance(model, Sequential):
        raise TypeError(f"factorize takes a Sequential, got {type(model).__name__}")
    layers = list(copy.deepcopy(model))
    linears = [i for i, layer in enumerate(layers) if isinstance(layer, Linear)]
    if len(ranks) > len(linears):
        raise ValueError(f"{len(ranks)} ranks for a model with {len(linears)} Linear layers")
    # TODO (Task 20.3)
    raise NotImplementedError(
        'Task 20.3: implement factorize. Hint: for index, rank in zip(linears, ranks): layer = '
        'layers[index]; cap the rank at min(layer.in_features, layer.out_features); layers[index] '
        '= low_rank_linear(...). Return Sequential(*layers).'
    )


# %% [markdown]
# ## 20.4 The entry point
#
# The grader calls `build(baseline, calibration, training)`: `baseline` is the trained
# MLP in your own layers (`Sequential` of Linear, ReLU, Linear, ReLU, Linear),
# `calibration` a float32 array of training images without labels, and `training` the
# labelled training set `(images, labels)` on the open track, None on the closed one.
#
# Our closed-track `build` tries each rank `r` of `candidates`, smallest first, factorizes
# the first two Linear layers with ranks `(r, r)`, and returns the first model whose
# agreement with the baseline on the calibration images is at least `min_agreement`.
# When none is, the baseline itself is returned (a copy): never worse than the floor's
# starting point.


# %%
def build(
    baseline: Sequential,
    calibration: Any,
    training: tuple[np.ndarray, np.ndarray] | None = None,
    *,
    candidates: Sequence[int] = CANDIDATE_RANKS,
    min_agreement: float = MIN_AGREEMENT,
) -> Sequential:
    """The smallest factorized baseline that agrees with it on `calibration`."""
    if not 0.0 <= min_agreement <= 1.0:
        raise ValueError(f"min_agreement must be in [0, 1], got {min_agreement!r}")
    # TODO (Task 20.4)
    raise NotImplementedError(
        'Task 20.4: implement build. Hint: for rank in sorted(candidates): model = '
        'factorize(baseline, (rank, rank)); if agreement(model, baseline, calibration) >= '
        'min_agreement: return model. After the loop: return copy.deepcopy(baseline).'
    )


# %% [markdown]
# ## 20.5 The submission file
#
# `write_submission(folder, task, track="closed", entry_point="build", name="",
# self_reported=None)` writes `folder/submission.json` and returns its path. It checks
# what the grader will check, so a mistake shows here with the field's name: `task` one
# of TASKS, `track` one of TRACKS, `entry_point` a Python name, `self_reported` (optional)
# with only `accuracy` (in [0, 1]), `nats` and `speedup` (at least 0) as numbers. Fields left
# empty are not written. The grader measures everything itself: self-reported numbers
# are shown beside the measurement when they disagree, never used.


# %%
def write_submission(
    folder: str | Path,
    task: str,
    track: str = "closed",
    entry_point: str = "build",
    name: str = "",
    self_reported: dict[str, float] | None = None,
) -> Path:
    """Check the fields and write `folder/submission.json`; its path."""
    # TODO (Task 20.5)
    raise NotImplementedError(
        'Task 20.5: implement write_submission. Hint: raise ValueError naming the field ("task", '
        '"track", "entry_point", "self_reported.<key>") for a bad value; build the dict, dropping '
        'name and self_reported when empty; json.dumps(..., indent=2) into folder / '
        '"submission.json".'
    )
